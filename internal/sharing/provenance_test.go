package sharing_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
)

// Provenance is kept per version, filtered on and summarized only over
// what the caller may see (CanSee): "what came from whom" never names the
// source or publisher of a hidden object.
func TestProvenance(t *testing.T) {
	f := newFixture(t)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	// water: one published GREEN object; two GREEN from a feed, one of
	// which gets a second version through TAXII.
	pub := newID()
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(pub, t0, ""), Marking: bulwark.TLPGreen})
	fed, fed2 := newID(), newID()
	var objs []*stix.Object
	for _, id := range []string{fed, fed2} {
		o, _ := stix.ParseObject(indicator(id, t0, stix.TLPGreenID), stix.Limits{})
		objs = append(objs, o)
	}
	add := func(u *sharingtest.User, objs []*stix.Object, source string) {
		t.Helper()
		st, err := f.w.Svc.AddObjects(u.Ctx(), f.col, objs, sharing.AddOptions{Source: source})
		if err != nil || len(st.Failures) > 0 {
			t.Fatalf("add from %s: %v %+v", source, err, st)
		}
	}
	add(f.water, objs, "feed:partner")
	v2, _ := stix.ParseObject(indicator(fed, t0.Add(time.Minute), stix.TLPGreenID), stix.Limits{})
	add(f.water, []*stix.Object{v2}, "")
	// power: one AMBER+STRICT object from a secret feed, visible to power
	// alone, and one GREEN import.
	secret := newID()
	s, _ := stix.ParseObject(indicator(secret, t0, stix.TLPAmberStrictID), stix.Limits{})
	add(f.power, []*stix.Object{s}, "feed:secret-partner")
	imp, _ := stix.ParseObject(indicator(newID(), t0, stix.TLPGreenID), stix.Limits{})
	add(f.power, []*stix.Object{imp}, "import:ics-advisories")

	// Each version carries its own source.
	vs, err := f.w.Svc.Versions(f.port.Ctx(), f.col, fed, sharing.Query{}, "")
	if err != nil || len(vs.Items) != 2 || vs.Items[0].Source != "feed:partner" || vs.Items[1].Source != "taxii" {
		t.Fatalf("versions of the fed object: %v %+v", err, vs)
	}
	page, err := f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range page.Items {
		got[it.STIXID] = it.Publisher + " " + it.Source
	}
	if got[pub] != "water publish" || got[fed] != "water taxii" || got[fed2] != "water feed:partner" || got[secret] != "" || len(got) != 4 {
		t.Errorf("port's objects by provenance: %v", got)
	}

	summary := func(u *sharingtest.User) string {
		t.Helper()
		ps, err := f.w.Svc.Provenance(u.Ctx(), f.col)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, p := range ps {
			parts = append(parts, p.Publisher+"/"+p.Source+"="+strconv.Itoa(p.Objects))
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct {
		who  *sharingtest.User
		want string
	}{
		// Latest versions (fed is counted under taxii, where its latest came
		// from), largest first, then by source.
		{f.port, "water/feed:partner=1 power/import:ics-advisories=1 water/publish=1 water/taxii=1"},
		{f.power, "water/feed:partner=1 power/feed:secret-partner=1 power/import:ics-advisories=1 water/publish=1 water/taxii=1"},
	} {
		if got := summary(tc.who); got != tc.want {
			t.Errorf("%s's summary:\n got %s\nwant %s", tc.who.Email, got, tc.want)
		}
	}
	_, err = f.w.Svc.Provenance(f.hospital.Ctx(), f.col)
	wantCode(t, "non-member's summary", err, bulwark.ENOTFOUND)

	ids := func(u *sharingtest.User, q sharing.Query) []string {
		t.Helper()
		page, err := f.w.Svc.Objects(u.Ctx(), f.col, q, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range page.Items {
			out = append(out, it.STIXID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, tc := range []struct {
		name string
		who  *sharingtest.User
		q    sharing.Query
		want []string
	}{
		{"by source", f.port, sharing.Query{Sources: []string{"feed:partner"}}, sorted(fed2)},
		{"every version by source", f.port, sharing.Query{Sources: []string{"feed:partner"}, Versions: sharing.VersionFilter{All: true}}, sorted(fed, fed2)},
		{"two sources", f.port, sharing.Query{Sources: []string{"publish", "taxii"}}, sorted(pub, fed)},
		{"by publisher", f.port, sharing.Query{Publishers: []string{"power"}}, sorted(imp.ID())},
		{"both", f.port, sharing.Query{Publishers: []string{"water"}, Sources: []string{"import:ics-advisories"}}, nil},
		// A hidden object's source answers like an unknown one.
		{"hidden source", f.port, sharing.Query{Sources: []string{"feed:secret-partner"}}, nil},
		{"unknown source", f.port, sharing.Query{Sources: []string{"feed:nobody"}}, nil},
		{"hidden source, entitled reader", f.power, sharing.Query{Sources: []string{"feed:secret-partner"}}, sorted(secret)},
	} {
		if got := ids(tc.who, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if n, err := f.w.Svc.Count(f.port.Ctx(), f.col, sharing.Query{Sources: []string{"feed:secret-partner"}}); err != nil || n != 0 {
		t.Errorf("port counts the hidden source: %d %v", n, err)
	}

	// Paging with a provenance filter: the cursor is bound to it.
	p1, err := f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Publishers: []string{"water"}, Limit: 1}, "")
	if err != nil || !p1.More || len(p1.Items) != 1 {
		t.Fatalf("first page: %v %+v", err, p1)
	}
	n := 1
	for next := p1.Next; next != ""; {
		p, err := f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Publishers: []string{"water"}, Limit: 1}, next)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Items)
		next = p.Next
	}
	if n != 3 {
		t.Errorf("paged through %d of water's 3 objects", n)
	}
	_, err = f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Publishers: []string{"power"}, Limit: 1}, p1.Next)
	wantCode(t, "cursor under another publisher filter", err, bulwark.EINVALID)
	_, err = f.w.Svc.Objects(f.port.Ctx(), f.col, sharing.Query{Limit: 1}, p1.Next)
	wantCode(t, "cursor without its filter", err, bulwark.EINVALID)
}
