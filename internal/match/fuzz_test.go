package match

import (
	"testing"

	"bulwark"
)

// byteSource turns fuzz input into small choices.
type byteSource struct {
	data []byte
	i    int
}

func (s *byteSource) next(n int) int {
	if s.i >= len(s.data) {
		return 0
	}
	b := s.data[s.i]
	s.i++
	return int(b) % n
}

var (
	fuzzProducts = []string{"o:acme:fw", "h:acme:box", "a:acme:web", "a:other:lib"}
	fuzzVersions = []string{"*", "-", "1.0", "1.2", "1.10", "2.0", "2.0.1", "3", "beta", "1.0rc1"}
	fuzzBounds   = []string{"", "", "1.0", "1.2", "2.0", "3"}
)

func (s *byteSource) cpe() string {
	return "cpe:2.3:" + fuzzProducts[s.next(len(fuzzProducts))] + ":" + fuzzVersions[s.next(len(fuzzVersions))] + ":*:*:*:*:*:*:*"
}

func (s *byteSource) node(depth int) bulwark.Node {
	n := bulwark.Node{Operator: bulwark.OR, Negate: s.next(5) == 0}
	if s.next(2) == 0 {
		n.Operator = bulwark.AND
	}
	for range s.next(3) + 1 {
		m := bulwark.CPEMatch{Vulnerable: s.next(3) != 0, Criteria: s.cpe()}
		if s.next(2) == 0 {
			m.VersionStartIncluding = fuzzBounds[s.next(len(fuzzBounds))]
			m.VersionEndExcluding = fuzzBounds[s.next(len(fuzzBounds))]
		}
		n.Matches = append(n.Matches, m)
	}
	if depth < 2 {
		for range s.next(3) {
			n.Children = append(n.Children, s.node(depth+1))
		}
	}
	return n
}

// FuzzMatch builds small random configurations, product statements and
// assets and checks that the indexed path (MatchAll, MatchVulns,
// MatchAssets, and after a snapshot round trip) agrees with Explain's
// direct evaluation on every pair.
func FuzzMatch(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 1, 3, 1, 0, 2, 1, 1, 2, 4, 0, 3, 1, 1, 0})
	f.Add([]byte("firmware on hardware, negated, ranged"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &byteSource{data: data}
		var vulns []bulwark.Vulnerability
		for i := range s.next(4) + 1 {
			v := bulwark.Vulnerability{ID: "CVE-" + string(rune('A'+i))}
			for range s.next(3) {
				v.Configurations = append(v.Configurations, s.node(0))
			}
			statuses := []bulwark.ProductStatus{bulwark.StatusAffected, bulwark.StatusAffected, bulwark.StatusFixed, bulwark.StatusNotAffected}
			for range s.next(3) {
				v.Affected = append(v.Affected, bulwark.AffectedProduct{
					Status:  statuses[s.next(len(statuses))],
					Vendor:  []string{"ACME Inc.", "Other"}[s.next(2)],
					Product: []string{"FW", "Web", "Box 3000"}[s.next(3)],
					Range:   []string{"", "< 2.0", "<= 1.2", "vers:generic/>=1.0|<3", "all versions"}[s.next(5)],
				})
			}
			vulns = append(vulns, v)
		}
		var assets []bulwark.Asset
		for i := range s.next(4) + 1 {
			a := bulwark.Asset{ID: "asset-" + string(rune('a'+i))}
			for range s.next(4) {
				a.CPEs = append(a.CPEs, s.cpe())
			}
			if s.next(2) == 0 {
				a.Vendor, a.Product, a.Version = "acme", []string{"fw", "web", "box 3000"}[s.next(3)], fuzzVersions[s.next(len(fuzzVersions))]
			}
			assets = append(assets, a)
		}

		b := NewBuilder()
		for i := range vulns {
			b.Add(&vulns[i])
		}
		ix := b.Build()
		inv, _ := NewInventory(assets)
		type pair struct{ asset, vuln string }
		all := map[pair]Match{}
		ix.MatchAll(inv, func(m Match) {
			p := pair{m.AssetID, m.VulnID}
			if _, dup := all[p]; dup {
				t.Fatalf("%v reported twice", p)
			}
			if assets[m.Asset].ID != m.AssetID {
				t.Fatalf("Asset %d is %s, not %s", m.Asset, assets[m.Asset].ID, m.AssetID)
			}
			all[p] = m
		})
		for _, a := range assets {
			for _, v := range vulns {
				x := ix.Explain(a, v.ID)
				m, ok := all[pair{a.ID, v.ID}]
				if x.Matched != ok || x.Confidence != m.Confidence || x.Evidence != m.Evidence {
					t.Fatalf("%s × %s: MatchAll %v %s %q; Explain:\n%s", a.ID, v.ID, ok, m.Confidence, m.Evidence, x)
				}
				_ = x.String()
			}
		}
		same := func(what string, run func(fn func(Match)), filter func(pair) bool) {
			got := map[pair]Match{}
			run(func(m Match) { got[pair{m.AssetID, m.VulnID}] = m })
			for p, m := range all {
				if filter(p) && got[p] != m {
					t.Fatalf("%s: %v is %+v, MatchAll %+v", what, p, got[p], m)
				}
			}
			for p := range got {
				if _, ok := all[p]; !ok || !filter(p) {
					t.Fatalf("%s: %v not from MatchAll", what, p)
				}
			}
		}
		same("MatchVulns", func(fn func(Match)) { ix.MatchVulns(inv, []string{"CVE-A", "CVE-C"}, fn) },
			func(p pair) bool { return p.vuln == "CVE-A" || p.vuln == "CVE-C" })
		same("MatchAssets", func(fn func(Match)) { ix.MatchAssets(inv, []int32{0, 2}, fn) },
			func(p pair) bool { return p.asset == "asset-a" || p.asset == "asset-c" })
	})
}
