package match

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"bulwark"
	"bulwark/internal/cpe"
	"bulwark/internal/testenv"
	"bulwark/internal/version"
)

// The tests read NVD 1.1 feeds with a plain decoder of their own, so that
// the matcher's tests do not depend on the feed reader's.
type nvd11Feed struct {
	Items []struct {
		CVE struct {
			Meta struct {
				ID string `json:"ID"`
			} `json:"CVE_data_meta"`
		} `json:"cve"`
		Configurations struct {
			Nodes []nvd11Node `json:"nodes"`
		} `json:"configurations"`
	} `json:"CVE_Items"`
}

type nvd11Node struct {
	Operator string      `json:"operator"`
	Negate   bool        `json:"negate"`
	Children []nvd11Node `json:"children"`
	CPEMatch []struct {
		Vulnerable            bool   `json:"vulnerable"`
		CPE23URI              string `json:"cpe23Uri"`
		VersionStartIncluding string `json:"versionStartIncluding"`
		VersionStartExcluding string `json:"versionStartExcluding"`
		VersionEndIncluding   string `json:"versionEndIncluding"`
		VersionEndExcluding   string `json:"versionEndExcluding"`
	} `json:"cpe_match"`
}

func (n *nvd11Node) node() bulwark.Node {
	out := bulwark.Node{Operator: bulwark.Operator(n.Operator), Negate: n.Negate}
	for _, m := range n.CPEMatch {
		out.Matches = append(out.Matches, bulwark.CPEMatch{
			Vulnerable: m.Vulnerable, Criteria: m.CPE23URI,
			VersionStartIncluding: m.VersionStartIncluding, VersionStartExcluding: m.VersionStartExcluding,
			VersionEndIncluding: m.VersionEndIncluding, VersionEndExcluding: m.VersionEndExcluding,
		})
	}
	for i := range n.Children {
		out.Children = append(out.Children, n.Children[i].node())
	}
	return out
}

// loadNVD11 reads gzip-compressed NVD 1.1 feeds, keeping the first record
// of each ID and only records with configurations.
func loadNVD11(tb testing.TB, paths ...string) []bulwark.Vulnerability {
	tb.Helper()
	seen := map[string]bool{}
	var out []bulwark.Vulnerability
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		var feed nvd11Feed
		if err := json.NewDecoder(zr).Decode(&feed); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		f.Close()
		for _, it := range feed.Items {
			id := it.CVE.Meta.ID
			if seen[id] || len(it.Configurations.Nodes) == 0 {
				continue
			}
			seen[id] = true
			v := bulwark.Vulnerability{ID: id}
			for i := range it.Configurations.Nodes {
				v.Configurations = append(v.Configurations, it.Configurations.Nodes[i].node())
			}
			out = append(out, v)
		}
	}
	return out
}

// forEachNVD runs test once over the trimmed real records in testdata
// (always) and once over real NVD feeds of the shared data set (skipped
// when it is absent): two years and the modified feed.
func forEachNVD(t *testing.T, test func(t *testing.T, vulns []bulwark.Vulnerability)) {
	t.Run("fixture", func(t *testing.T) {
		test(t, loadNVD11(t, filepath.Join("testdata", "nvd-sample.json.gz")))
	})
	t.Run("shared", func(t *testing.T) {
		if testing.Short() {
			t.Skip("short: skipping the shared NVD feeds")
		}
		test(t, sharedNVD(t))
	})
}

var shared struct {
	sync.Mutex
	vulns []bulwark.Vulnerability
}

// sharedNVD returns the records of three real NVD feeds (2017, 2018,
// modified), read once for all tests; callers must not modify them.
func sharedNVD(t *testing.T) []bulwark.Vulnerability {
	dir := filepath.Join(testenv.SharedData(t), "nvd", "json-1.1")
	shared.Lock()
	defer shared.Unlock()
	if shared.vulns == nil {
		shared.vulns = loadNVD11(t, sharedFeeds(dir)...)
	}
	return shared.vulns
}

func sharedFeeds(dir string) []string {
	return []string{filepath.Join(dir, "nvdcve-1.1-2017.json.gz"), filepath.Join(dir, "nvdcve-1.1-2018.json.gz"), filepath.Join(dir, "nvdcve-1.1-modified.json.gz")}
}

// predecessor returns a version just below v: the last non-zero number
// decremented and every later number raised to 9999 ("4.5" → "4.4.9999",
// "4.0" → "3.9999"), or false when v has no number to decrement.
func predecessor(v string) (string, bool) {
	parts := strings.Split(v, ".")
	for i := len(parts) - 1; i >= 0; i-- {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return "", false
		}
		if n == 0 {
			continue
		}
		out := slices.Clone(parts[:i])
		out = append(out, strconv.Itoa(n-1))
		for range len(parts) - i - 1 {
			out = append(out, "9999")
		}
		if i == len(parts)-1 {
			out = append(out, "9999")
		}
		return strings.Join(out, "."), true
	}
	return "", false
}

// successor returns a version just above v.
func successor(v string) string { return v + ".1" }

// orPath reports, for every criterion of a configuration, whether it
// is reachable from the root through OR nodes only, without negation:
// such a criterion alone makes the vulnerability apply.
func orCriteria(n *bulwark.Node, fn func(m bulwark.CPEMatch)) {
	if n.Operator != bulwark.OR || n.Negate {
		return
	}
	for _, m := range n.Matches {
		fn(m)
	}
	for i := range n.Children {
		orCriteria(&n.Children[i], fn)
	}
}

// oracleCrit is a criterion parsed for oracleApplies.
type oracleCrit struct {
	name cpe.Name
	r    version.Range
	err  error
}

// oracleCriteria parses the OR-reachable vulnerable criteria of v.
func oracleCriteria(v *bulwark.Vulnerability) []oracleCrit {
	var out []oracleCrit
	for i := range v.Configurations {
		orCriteria(&v.Configurations[i], func(m bulwark.CPEMatch) {
			c, err := cpe.Parse(m.Criteria)
			if err != nil || !m.Vulnerable {
				return
			}
			r, err := version.Bounds(m.VersionStartIncluding, m.VersionStartExcluding, m.VersionEndIncluding, m.VersionEndExcluding)
			out = append(out, oracleCrit{c, r, err})
		})
	}
	return out
}

// oracleApplies says whether version ver of the product name falls in any
// of the criteria, checking each directly with the version package: used
// to skip boundary assertions where another criterion of the same CVE
// covers the version.
func oracleApplies(crits []oracleCrit, name cpe.Name, ver string) bool {
	pv, ok := version.Parse(ver)
	for _, c := range crits {
		if !cpe.MatchesExcept(c.name, name, cpe.Version) {
			continue
		}
		if c.name[cpe.Version] != "*" {
			if c.name[cpe.Version] == ver {
				return true
			}
			continue
		}
		if c.err != nil || !ok {
			return true // cannot tell: do not assert
		}
		if in, cmp := c.r.Contains(pv); !cmp || in {
			return true
		}
	}
	return false
}

func withVersion(n cpe.Name, v string) string {
	// NVD's range fields sometimes quote colons already (12.1x46\:d72).
	n[cpe.Version] = strings.ReplaceAll(strings.ReplaceAll(v, `\:`, ":"), ":", `\:`)
	return n.String()
}

// TestNVDBoundaries checks every bound of every OR-reachable ranged
// criterion of real NVD records: a version just inside must match and one
// just outside must not (unless another criterion of the same CVE covers
// it).
func TestNVDBoundaries(t *testing.T) { forEachNVD(t, testNVDBoundaries) }

func testNVDBoundaries(t *testing.T, vulns []bulwark.Vulnerability) {
	b := NewBuilder()
	for i := range vulns {
		b.Add(&vulns[i])
	}
	ix := b.Build()

	type probe struct {
		vuln  int
		asset string
		want  bool
		why   string
	}
	var probes []probe
	for vi := range vulns {
		v := &vulns[vi]
		var oracle []oracleCrit
		for i := range v.Configurations {
			orCriteria(&v.Configurations[i], func(m bulwark.CPEMatch) {
				if !m.Vulnerable {
					return
				}
				name, err := cpe.Parse(m.Criteria)
				if err != nil || name[cpe.Version] != "*" {
					return
				}
				add := func(ver string, inside bool, why string) {
					if _, ok := version.Parse(ver); !ok {
						return
					}
					if oracle == nil {
						oracle = oracleCriteria(v)
					}
					if !inside && oracleApplies(oracle, name, ver) {
						return
					}
					// The other bound must hold for an inside probe.
					if inside {
						if r, err := version.Bounds(m.VersionStartIncluding, m.VersionStartExcluding, m.VersionEndIncluding, m.VersionEndExcluding); err != nil {
							return
						} else if pv, _ := version.Parse(ver); !must(r.Contains(pv)) {
							return
						}
					}
					probes = append(probes, probe{vi, withVersion(name, ver), inside, why})
				}
				if x := m.VersionEndExcluding; x != "" {
					add(x, false, "end-excluding "+x+" itself")
					if p, ok := predecessor(x); ok {
						add(p, true, "just below end-excluding "+x)
					}
				}
				if x := m.VersionEndIncluding; x != "" {
					add(x, true, "end-including "+x+" itself")
					add(successor(x), false, "just above end-including "+x)
				}
				if x := m.VersionStartIncluding; x != "" {
					add(x, true, "start-including "+x+" itself")
					if p, ok := predecessor(x); ok {
						add(p, false, "just below start-including "+x)
					}
				}
				if x := m.VersionStartExcluding; x != "" {
					add(x, false, "start-excluding "+x+" itself")
					add(successor(x), true, "just above start-excluding "+x)
				}
			})
		}
	}
	if len(probes) < 20 {
		t.Fatalf("only %d boundary probes", len(probes))
	}
	assets := make([]bulwark.Asset, len(probes))
	for i, p := range probes {
		assets[i] = bulwark.Asset{ID: strconv.Itoa(i), CPEs: []string{p.asset}}
	}
	inv, problems := NewInventory(assets)
	if len(problems) > 0 {
		t.Fatalf("inventory problems: %v", problems[:min(5, len(problems))])
	}
	got := make([]bool, len(probes))
	ix.MatchAll(inv, func(m Match) {
		if m.VulnID == vulns[probes[m.Asset].vuln].ID && m.Confidence == bulwark.ConfidenceExact {
			got[m.Asset] = true
		}
	})
	bad := 0
	for i, p := range probes {
		if got[i] != p.want {
			bad++
			if bad <= 10 {
				t.Errorf("%s × %s (%s): matched %v, want %v\n%s", vulns[p.vuln].ID, p.asset, p.why, got[i], p.want, ix.Explain(assets[i], vulns[p.vuln].ID))
			}
		}
	}
	t.Logf("%d CVEs, %d boundary probes, %d wrong", len(vulns), len(probes), bad)
}

func must(in, ok bool) bool { return in && ok }

// TestNVDAndConfigurations checks real "firmware running on hardware"
// configurations: the firmware with its hardware matches, the firmware
// alone does not.
func TestNVDAndConfigurations(t *testing.T) { forEachNVD(t, testNVDAndConfigurations) }

func testNVDAndConfigurations(t *testing.T, vulns []bulwark.Vulnerability) {
	b := NewBuilder()
	for i := range vulns {
		b.Add(&vulns[i])
	}
	ix := b.Build()
	type probe struct {
		vuln  int
		cpes  []string
		want  bool
		label string
	}
	var probes []probe
	for vi := range vulns {
		v := &vulns[vi]
		if len(v.Configurations) != 1 {
			continue // the firmware alone could satisfy another root
		}
		root := &v.Configurations[0]
		if root.Operator != bulwark.AND || root.Negate || len(root.Children) != 2 || len(root.Matches) > 0 {
			continue
		}
		fwNode, hwNode := &root.Children[0], &root.Children[1]
		if len(fwNode.Matches) == 0 || len(hwNode.Matches) == 0 || fwNode.Negate || hwNode.Negate {
			continue
		}
		fw, hw := fwNode.Matches[0], hwNode.Matches[0]
		if !fw.Vulnerable || hw.Vulnerable {
			continue
		}
		fwName, err1 := cpe.Parse(fw.Criteria)
		hwName, err2 := cpe.Parse(hw.Criteria)
		if err1 != nil || err2 != nil || isWild(hwName[cpe.Vendor]) {
			continue
		}
		fwCPE := fw.Criteria
		if fwName[cpe.Version] == "*" {
			// A version inside the range: the end-including bound, or just
			// below end-excluding, or the start.
			var ver string
			switch {
			case fw.VersionEndIncluding != "":
				ver = fw.VersionEndIncluding
			case fw.VersionEndExcluding != "":
				p, ok := predecessor(fw.VersionEndExcluding)
				if !ok {
					continue
				}
				ver = p
			case fw.VersionStartIncluding != "":
				ver = fw.VersionStartIncluding
			default:
				ver = "1.0"
			}
			if r, err := version.Bounds(fw.VersionStartIncluding, fw.VersionStartExcluding, fw.VersionEndIncluding, fw.VersionEndExcluding); err != nil {
				continue
			} else if pv, _ := version.Parse(ver); !must(r.Contains(pv)) {
				continue
			}
			fwCPE = withVersion(fwName, ver)
		}
		hwCPE := hw.Criteria
		probes = append(probes,
			probe{vi, []string{fwCPE, hwCPE}, true, "firmware on its hardware"},
			probe{vi, []string{fwCPE}, false, "firmware alone"},
			probe{vi, []string{hwCPE}, false, "hardware alone"})
	}
	if len(probes) < 9 {
		t.Fatalf("only %d AND probes", len(probes))
	}
	assets := make([]bulwark.Asset, len(probes))
	for i, p := range probes {
		assets[i] = bulwark.Asset{ID: strconv.Itoa(i), CPEs: p.cpes}
	}
	inv, _ := NewInventory(assets)
	got := make([]bool, len(probes))
	ix.MatchAll(inv, func(m Match) {
		if m.VulnID == vulns[probes[m.Asset].vuln].ID {
			got[m.Asset] = true
		}
	})
	bad := 0
	for i, p := range probes {
		if got[i] != p.want {
			bad++
			if bad <= 10 {
				t.Errorf("%s, %s %q: matched %v, want %v\n%s", vulns[p.vuln].ID, p.label, p.cpes, got[i], p.want, ix.Explain(assets[i], vulns[p.vuln].ID))
			}
		}
	}
	t.Logf("%d AND configurations probed (%d probes), %d wrong", len(probes)/3, len(probes), bad)
}

// TestNVDExplainAgrees checks Explain against MatchAll on real records.
func TestNVDExplainAgrees(t *testing.T) { forEachNVD(t, testNVDExplainAgrees) }

func testNVDExplainAgrees(t *testing.T, vulns []bulwark.Vulnerability) {
	b := NewBuilder()
	for i := range vulns {
		b.Add(&vulns[i])
	}
	ix := b.Build()
	// Assets: the first vulnerable criterion of every 50th CVE, with a
	// concrete version from its range, plus its platform if any.
	var assets []bulwark.Asset
	var ids []string
	for vi := 0; vi < len(vulns); vi += max(1, len(vulns)/300) {
		v := &vulns[vi]
		var cpes []string
		var walk func(n *bulwark.Node)
		walk = func(n *bulwark.Node) {
			for _, m := range n.Matches {
				name, err := cpe.Parse(m.Criteria)
				if err != nil || len(cpes) >= 3 {
					continue
				}
				ver := name[cpe.Version]
				if ver == "*" {
					ver = m.VersionEndIncluding + m.VersionStartIncluding
					if ver == "" {
						ver, _ = predecessor(m.VersionEndExcluding)
					}
				}
				cpes = append(cpes, withVersion(name, ver))
			}
			for i := range n.Children {
				walk(&n.Children[i])
			}
		}
		for i := range v.Configurations {
			walk(&v.Configurations[i])
		}
		assets = append(assets, bulwark.Asset{ID: v.ID, CPEs: cpes})
		ids = append(ids, v.ID)
	}
	inv, _ := NewInventory(assets)
	got := map[[2]string]Match{}
	ix.MatchAll(inv, func(m Match) { got[[2]string{m.AssetID, m.VulnID}] = m })
	matched := 0
	for i, a := range assets {
		x := ix.Explain(a, ids[i])
		m, ok := got[[2]string{a.ID, ids[i]}]
		if x.Matched != ok || x.Confidence != m.Confidence || x.Evidence != m.Evidence {
			t.Errorf("%s: MatchAll %v %s %q, Explain:\n%s", ids[i], ok, m.Confidence, m.Evidence, x)
		}
		if ok {
			matched++
		}
	}
	if matched < len(assets)/2 {
		t.Errorf("only %d of %d assets built from their own CVE matched it", matched, len(assets))
	}
	t.Logf("%d assets, %d matched their CVE, %d matches in all", len(assets), matched, len(got))
}

func ExampleIndex_Explain() {
	v := bulwark.Vulnerability{ID: "CVE-2099-0001", Configurations: []bulwark.Node{{
		Operator: bulwark.AND,
		Children: []bulwark.Node{
			{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{{Vulnerable: true, Criteria: "cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*", VersionEndExcluding: "4.5"}}},
			{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{{Criteria: "cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*"}}},
		},
	}}}
	b := NewBuilder()
	b.Add(&v)
	ix := b.Build()
	fmt.Print(ix.Explain(bulwark.Asset{ID: "plc-1", CPEs: []string{
		"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*",
		"cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*",
	}}, "CVE-2099-0001"))
	// Output:
	// plc-1 × CVE-2099-0001: MATCH (exact)
	//   evidence: cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:* versionEndExcluding 4.5 matched cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*: asset version 4.2.1 in <4.5
	//   configuration 1:
	//     AND node → true
	//       OR node → true
	//         cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:* versionEndExcluding 4.5 [vulnerable]: cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*: asset version 4.2.1 in <4.5 → true
	//       OR node → true
	//         cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:* [platform]: cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*: version - fits - → true
}
