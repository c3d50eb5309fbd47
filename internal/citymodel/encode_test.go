package citymodel

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"bulwark"
)

// fataler is what both *testing.T and *rapid.T offer.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func exportString(t fataler, st bulwark.CityStore) string {
	t.Helper()
	var b bytes.Buffer
	if err := Export(context.Background(), st, &b); err != nil {
		t.Fatalf("export: %v", err)
	}
	return b.String()
}

func importString(t fataler, st bulwark.CityStore, name, content string) *ImportResult {
	t.Helper()
	res, err := Import(context.Background(), st, []Source{src(name, content)}, ImportOptions{})
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return res
}

func TestExportGolden(t *testing.T) {
	st := newMemStore()
	if _, err := Import(context.Background(), st, []Source{FileSource("testdata/city.yaml")}, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	out := exportString(t, st)
	golden(t, "city.golden", []byte(out))
	if again := exportString(t, st); again != out {
		t.Error("export is not byte-stable across runs")
	}
	// import(export(x)) == x
	st2 := newMemStore()
	res := importString(t, st2, "export.yaml", out)
	if res.Stats.Created != 16 {
		t.Errorf("re-import created %d", res.Stats.Created)
	}
	if diff := cmp.Diff(st.snapshot(), st2.snapshot()); diff != "" {
		t.Errorf("state after re-import differs (-want +got):\n%s", diff)
	}
	if exportString(t, st2) != out {
		t.Error("export of the re-imported state differs")
	}
}

func TestExportEmpty(t *testing.T) {
	out := exportString(t, newMemStore())
	if out != "---\nversion: 1\n" {
		t.Errorf("empty export %q", out)
	}
	importString(t, newMemStore(), "empty.yaml", out)
}

// TestExportChunks checks that assets are written 1000 to a document and
// that a system's edges to its own assets are written once, on the asset,
// even when the store lists them among the system's dependencies.
func TestExportChunks(t *testing.T) {
	st := newMemStore()
	st.orgs["o"] = bulwark.Organization{ID: "o", Name: "O", Purview: bulwark.PurviewCity}
	sys := bulwark.System{ID: "sys", Name: "S", Owner: "o"}
	for i := range 2500 {
		id := fmt.Sprintf("a%05d", i)
		a := bulwark.Asset{ID: id, Name: "A", Owner: "o", Count: 1}
		if i < 3 {
			a.System, a.SystemDependency = "sys", bulwark.Hard
			sys.DependsOn = append(sys.DependsOn, bulwark.Dependency{On: id, Kind: bulwark.Hard})
		}
		st.assets[id] = a
	}
	sys.DependsOn = append(sys.DependsOn, bulwark.Dependency{On: "a02000", Kind: bulwark.Soft})
	st.systems["sys"] = sys
	out := exportString(t, st)
	if n := strings.Count(out, "---\n"); n != 4 {
		t.Errorf("%d documents, want 4 (model, then 1000+1000+500 assets)", n)
	}
	if !strings.Contains(out, "  - id: sys\n    name: S\n    owner: o\n    depends_on:\n      - {on: a02000, kind: soft}\n---\n") {
		t.Errorf("system written as:\n%s", out[:min(len(out), 400)])
	}
	st2 := newMemStore()
	importString(t, st2, "x.yaml", out)
	if exportString(t, st2) != out {
		t.Error("round trip differs")
	}
}

func TestQuote(t *testing.T) {
	plain := []string{"water-scada", "Pump station 1 PLC", "cpe:2.3:h:siemens:s7:-:*:*:*:*:*:*:*", "pkg:npm/%40a/b@1.0", "12abc", "a:b", "Müller", "/usr/bin"}
	quoted := []string{"4.5", "2026-05-01", "1e5", "0x1F", "true", "No", "null", "~", "-dash", "a: b", "a #b", "trail ", " lead", "a,b", "[x]", "{x}", "x\ny", "\"q\"", "#c", "*alias", "&anchor", "!tag", "%d", "@x", "`x`", "|", ">", "12:30", "1_000", "0o17", "a\u2028b", "\ufeffbom", "tab\there"}
	for _, s := range plain {
		if q := quote(s); q != s {
			t.Errorf("quote(%q) = %s, want plain", s, q)
		}
	}
	for _, s := range quoted {
		if q := quote(s); !strings.HasPrefix(q, `"`) {
			t.Errorf("quote(%q) = %s, want double-quoted", s, q)
		}
	}
}

// snapshot is the store content in a comparable form.
func (s *memStore) snapshot() bulwark.City {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c bulwark.City
	for _, id := range slices.Sorted(mapKeys(s.orgs)) {
		c.Organizations = append(c.Organizations, s.orgs[id])
	}
	for _, id := range slices.Sorted(mapKeys(s.services)) {
		c.Services = append(c.Services, s.services[id])
	}
	for _, id := range slices.Sorted(mapKeys(s.systems)) {
		c.Systems = append(c.Systems, s.systems[id])
	}
	for _, id := range slices.Sorted(mapKeys(s.assets)) {
		c.Assets = append(c.Assets, s.assets[id])
	}
	return normalize(c)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// normalize sorts what the format does not order (groups, dependencies,
// shares_with) so that cities can be compared.
func normalize(c bulwark.City) bulwark.City {
	sortDeps := func(d []bulwark.Dependency) []bulwark.Dependency {
		d = slices.Clone(d)
		slices.SortFunc(d, func(a, b bulwark.Dependency) int { return strings.Compare(a.Group+"\x00"+a.On, b.Group+"\x00"+b.On) })
		return d
	}
	sortGroups := func(g []bulwark.Group) []bulwark.Group {
		g = slices.Clone(g)
		slices.SortFunc(g, func(a, b bulwark.Group) int { return strings.Compare(a.ID, b.ID) })
		return g
	}
	for i := range c.Organizations {
		c.Organizations[i].SharesWith = slices.Sorted(slices.Values(c.Organizations[i].SharesWith))
	}
	for i := range c.Services {
		c.Services[i].DependsOn = sortDeps(c.Services[i].DependsOn)
		c.Services[i].Groups = sortGroups(c.Services[i].Groups)
	}
	for i := range c.Systems {
		c.Systems[i].DependsOn = sortDeps(c.Systems[i].DependsOn)
		c.Systems[i].Groups = sortGroups(c.Systems[i].Groups)
	}
	for i := range c.Assets {
		c.Assets[i].DependsOn = sortDeps(c.Assets[i].DependsOn)
	}
	return c
}

// genText draws strings that stress quoting: YAML indicators, numbers,
// booleans, quotes, unicode, but no control characters (invalid input).
func genText(t *rapid.T, label string, min int) string {
	return rapid.OneOf(
		rapid.SampledFrom([]string{"4.5", "true", "null", "~", "- x", "a: b", "#x", "'q'", "\"dq\"", "1e3", "2026-05-01", "Zürich", "日本", "x,y", "[a]", "{b}", "*s", "&a", "!t", "%p", "@x", "back\\slash", "trail ", " lead"}),
		rapid.StringMatching(`[A-Za-z0-9 :#'"\-.,\[\]{}*&!|>%@\\]{`+fmt.Sprint(min)+`,20}`),
	).Filter(func(s string) bool { return len(s) >= min }).Draw(t, label)
}

func genCity(t *rapid.T) bulwark.City {
	var c bulwark.City
	norgs := rapid.IntRange(1, 3).Draw(t, "orgs")
	for i := range norgs {
		o := bulwark.Organization{ID: fmt.Sprintf("org-%d", i), Name: genText(t, "orgname", 1),
			Purview: rapid.SampledFrom(bulwark.Purviews).Draw(t, "purview")}
		for j := range rapid.IntRange(0, 2).Draw(t, "contacts") {
			o.Contacts = append(o.Contacts, bulwark.Contact{Name: fmt.Sprintf("c%d %s", j, genText(t, "cn", 0)), Role: genText(t, "role", 0), Email: genText(t, "email", 0)})
		}
		for j := range norgs {
			if j != i && rapid.Bool().Draw(t, "share") {
				o.SharesWith = append(o.SharesWith, fmt.Sprintf("org-%d", j))
			}
		}
		c.Organizations = append(c.Organizations, o)
	}
	owner := func() string { return fmt.Sprintf("org-%d", rapid.IntRange(0, norgs-1).Draw(t, "owner")) }
	dur := func() time.Duration {
		return time.Duration(rapid.Int64Range(0, 400*24*3600).Draw(t, "secs"))*time.Second + time.Duration(rapid.SampledFrom([]int64{0, 0, 1, 1500000}).Draw(t, "ns"))
	}
	level := func() bulwark.Level { return bulwark.Level(rapid.IntRange(0, 3).Draw(t, "level")) }
	nsvc, nsys, nast := rapid.IntRange(0, 3).Draw(t, "services"), rapid.IntRange(0, 3).Draw(t, "systems"), rapid.IntRange(0, 6).Draw(t, "assets")
	sysID := func(i int) string { return fmt.Sprintf("sys.%d", i) }
	astID := func(i int) string { return fmt.Sprintf("a:%d", i) }
	// Dependencies with groups; need is between 1 and the members.
	deps := func(self string, targets []string) ([]bulwark.Dependency, []bulwark.Group) {
		var ds []bulwark.Dependency
		var gs []bulwark.Group
		members := map[string]int{}
		for _, tg := range targets {
			if tg == self || !rapid.Bool().Draw(t, "dep") {
				continue
			}
			d := bulwark.Dependency{On: tg, Kind: rapid.SampledFrom([]bulwark.DepKind{bulwark.Hard, bulwark.Soft}).Draw(t, "kind")}
			if rapid.Bool().Draw(t, "grouped") {
				d.Group = rapid.SampledFrom([]string{"g1", "g2"}).Draw(t, "group")
				members[d.Group]++
			}
			ds = append(ds, d)
		}
		for _, g := range []string{"g1", "g2"} {
			if members[g] > 0 {
				gs = append(gs, bulwark.Group{ID: g, Need: rapid.IntRange(1, members[g]).Draw(t, "need")})
			}
		}
		return ds, gs
	}
	var all []string
	for i := range nsvc {
		all = append(all, fmt.Sprintf("svc-%d", i))
	}
	for i := range nsys {
		all = append(all, sysID(i))
	}
	for i := range nast {
		all = append(all, astID(i))
	}
	// Asset membership of systems decides which system edges are written
	// on the asset; systems must not list their own assets again.
	assetSys := make([]int, nast)
	for i := range nast {
		assetSys[i] = rapid.IntRange(-1, nsys-1).Draw(t, "assetsys")
	}
	for i := range nsvc {
		s := bulwark.Service{ID: fmt.Sprintf("svc-%d", i), Name: genText(t, "name", 1), Description: genText(t, "desc", 0) + rapid.SampledFrom([]string{"", "\nline two\twith tab"}).Draw(t, "ml"),
			Owner: owner(), Sector: rapid.SampledFrom(append([]bulwark.Sector{""}, bulwark.Sectors...)).Draw(t, "sector"),
			Population: rapid.Int64Range(0, 1e7).Draw(t, "pop"), Category: bulwark.Category{Confidentiality: level(), Integrity: level(), Availability: level()},
			Targets: bulwark.Targets{MaxTolerableDowntime: dur(), RTO: dur(), RPO: dur()}}
		s.DependsOn, s.Groups = deps(s.ID, all)
		c.Services = append(c.Services, s)
	}
	for i := range nsys {
		s := bulwark.System{ID: sysID(i), Name: genText(t, "name", 1), Owner: owner(), Zone: genText(t, "zone", 0), InternetExposed: rapid.Bool().Draw(t, "exposed"),
			Recovery: bulwark.Recovery{RestoreTime: dur(), RestoreTimeNoBackups: dur(), CrewSkill: genText(t, "crew", 0), Tested: rapid.Bool().Draw(t, "tested"),
				LastTested: rapid.SampledFrom([]string{"", "2026-05-01", "1999-12-31"}).Draw(t, "date")}}
		var targets []string
		for _, id := range all {
			own := false
			for j := range nast {
				own = own || (astID(j) == id && assetSys[j] == i)
			}
			if !own {
				targets = append(targets, id)
			}
		}
		s.DependsOn, s.Groups = deps(s.ID, targets)
		// Assets may join a system group only if it exists.
		c.Systems = append(c.Systems, s)
	}
	var nonServices []string
	for _, id := range all {
		if !strings.HasPrefix(id, "svc-") {
			nonServices = append(nonServices, id)
		}
	}
	for i := range nast {
		a := bulwark.Asset{ID: astID(i), Name: genText(t, "name", 1), Owner: owner(), Kind: genText(t, "akind", 0), Vendor: genText(t, "vendor", 0),
			Product: genText(t, "product", 0), Version: genText(t, "version", 0), Count: rapid.Int64Range(1, 100000).Draw(t, "count"),
			CPEs:     rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"cpe:2.3:h:siemens:s7:-:*:*:*:*:*:*:*", `cpe:2.3:a:foo\\bar:big\$money:*:*:*:*:*:*:*:*`, "cpe:2.3:o:x:y:1.0:*:*:en-us:*:*:*:*"}), 0, 3, rapid.ID[string]).Draw(t, "cpe"),
			PURLs:    rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"pkg:npm/%40a/b@1.0", "pkg:deb/debian/curl@7.50.3-1?arch=i386"}), 0, 2, rapid.ID[string]).Draw(t, "purl"),
			Location: bulwark.Location{Site: genText(t, "site", 0)}}
		if rapid.Bool().Draw(t, "located") {
			a.Location.Lat = rapid.Float64Range(-90, 90).Draw(t, "lat")
			a.Location.Lon = rapid.Float64Range(-180, 180).Draw(t, "lon")
		}
		if j := assetSys[i]; j >= 0 {
			a.System = sysID(j)
			a.SystemDependency = rapid.SampledFrom([]bulwark.DepKind{bulwark.Hard, bulwark.Soft}).Draw(t, "sysdep")
		}
		a.DependsOn, _ = deps(a.ID, nonServices)
		for k := range a.DependsOn {
			a.DependsOn[k].Group = "" // assets have no groups
		}
		c.Assets = append(c.Assets, a)
	}
	return c
}

// TestRoundTrip: for random valid cities x, import(encode(x)) == x, and
// export is byte-identical across runs and after re-import.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := genCity(t)
		var b bytes.Buffer
		enc := NewEncoder(&b)
		// Two documents, to exercise the stream.
		if err := enc.Encode(&bulwark.City{Organizations: x.Organizations, Services: x.Services, Systems: x.Systems}); err != nil {
			t.Fatal(err)
		}
		if err := enc.Encode(&bulwark.City{Assets: x.Assets}); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		st := newMemStore()
		if _, err := Import(context.Background(), st, []Source{src("x.yaml", b.String())}, ImportOptions{}); err != nil {
			t.Fatalf("import of encoded city: %v\n%s", err, b.String())
		}
		if diff := cmp.Diff(normalize(x), st.snapshot(), cmpEmpty); diff != "" {
			t.Fatalf("import(encode(x)) != x (-want +got):\n%s\n%s", diff, b.String())
		}
		e1 := exportString(t, st)
		if e2 := exportString(t, st); e1 != e2 {
			t.Fatal("export not byte-stable")
		}
		st2 := newMemStore()
		importString(t, st2, "e.yaml", e1)
		if e3 := exportString(t, st2); e3 != e1 {
			t.Fatalf("export after re-import differs:\n%s\n---- vs ----\n%s", e1, e3)
		}
	})
}

// cmpEmpty treats nil and empty slices alike.
var cmpEmpty = cmp.FilterValues(func(a, b any) bool { return isEmptySlice(a) && isEmptySlice(b) }, cmp.Comparer(func(a, b any) bool { return true }))

func isEmptySlice(v any) bool {
	switch s := v.(type) {
	case []bulwark.Dependency:
		return len(s) == 0
	case []bulwark.Group:
		return len(s) == 0
	case []string:
		return len(s) == 0
	case []bulwark.Contact:
		return len(s) == 0
	}
	return false
}
