package incident

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"bulwark"
	"bulwark/internal/depgraph"
)

func svc(id string, pop int64, avail bulwark.Level, sector bulwark.Sector, deps ...bulwark.Dependency) bulwark.Service {
	return bulwark.Service{ID: id, Name: id, Owner: "o-" + id, Population: pop, Sector: sector,
		Category: bulwark.Category{Confidentiality: bulwark.LevelLow, Integrity: bulwark.LevelModerate, Availability: avail}, DependsOn: deps}
}

func withGroup(s bulwark.Service, id string, need int) bulwark.Service {
	s.Groups = append(s.Groups, bulwark.Group{ID: id, Need: need})
	return s
}

func hard(on string) bulwark.Dependency { return bulwark.Dependency{On: on, Kind: bulwark.Hard} }
func soft(on string) bulwark.Dependency { return bulwark.Dependency{On: on, Kind: bulwark.Soft} }
func member(on string, kind bulwark.DepKind, group string) bulwark.Dependency {
	return bulwark.Dependency{On: on, Kind: kind, Group: group}
}

// testCity is a small hand-built city:
//
//	water (420,000, A high)   -> scada (hard), pumps 2 of {pump-a hard, pump-b hard, pump-c soft}
//	scada (system, zone ot)   -> power-feed (hard), plcs 1 of {plc-1, plc-2}
//	hospital (50,000, A high) -> water (soft), ehr (hard)
//	ehr (system, zone it)     -> power-feed (soft), dc (hard)
//	portal (200,000, A mod.)  -> web (hard);  web (system, dmz) -> dc (hard)
//	parking (5,000, A low)    -> meters (hard)
//	loop-svc                  -> loop-a (hard); loop-a <-> loop-b (hard cycle)
func testCity() *bulwark.City {
	c := &bulwark.City{
		Organizations: []bulwark.Organization{{ID: "water-org", Purview: bulwark.PurviewCity}},
		Services: []bulwark.Service{
			withGroup(svc("water", 420_000, bulwark.LevelHigh, bulwark.SectorWater, hard("scada"), member("pump-a", bulwark.Hard, "pumps"),
				member("pump-b", bulwark.Hard, "pumps"), member("pump-c", bulwark.Soft, "pumps")), "pumps", 2),
			svc("hospital", 50_000, bulwark.LevelHigh, bulwark.SectorHealthcare, soft("water"), hard("ehr")),
			svc("portal", 200_000, bulwark.LevelModerate, bulwark.SectorGovernment, hard("web")),
			svc("parking", 5_000, bulwark.LevelLow, bulwark.SectorTransportation, hard("meters")),
			svc("loop-svc", 10, bulwark.LevelLow, bulwark.SectorIT, hard("loop-a")),
		},
		Systems: []bulwark.System{
			{ID: "scada", Owner: "water-org", Zone: "ot", Groups: []bulwark.Group{{ID: "plcs", Need: 1}}, DependsOn: []bulwark.Dependency{hard("power-feed")}},
			{ID: "ehr", Owner: "o-hospital", Zone: "it", DependsOn: []bulwark.Dependency{soft("power-feed"), hard("dc")}},
			{ID: "web", Owner: "o-portal", Zone: "dmz", DependsOn: []bulwark.Dependency{hard("dc")}},
			{ID: "loop-a", Owner: "o-loop", DependsOn: []bulwark.Dependency{hard("loop-b")}},
			{ID: "loop-b", Owner: "o-loop", DependsOn: []bulwark.Dependency{hard("loop-a")}},
		},
		Assets: []bulwark.Asset{
			{ID: "plc-1", Owner: "water-org", Kind: "plc", System: "scada", SystemDependency: bulwark.Hard, SystemGroup: "plcs"},
			{ID: "plc-2", Owner: "water-org", Kind: "plc", System: "scada", SystemDependency: bulwark.Hard, SystemGroup: "plcs"},
			{ID: "pump-a", Owner: "water-org", Kind: "pump"}, {ID: "pump-b", Owner: "water-org", Kind: "pump"}, {ID: "pump-c", Owner: "water-org", Kind: "pump"},
			{ID: "power-feed", Owner: "power", Kind: "feeder"},
			{ID: "dc", Owner: "city-it", Kind: "datacenter"},
			{ID: "meters", Owner: "o-parking", Kind: "parking-meter", Count: 900},
		},
	}
	return c
}

func compile(t testing.TB, c *bulwark.City) *depgraph.Analysis {
	t.Helper()
	g, err := depgraph.Compile(depgraph.FromCity(c))
	if err != nil {
		t.Fatal(err)
	}
	return depgraph.Analyze(g)
}

func ids(g *depgraph.Graph, xs []int32) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, g.ID(x))
	}
	return out
}

func entries(t testing.TB, g *depgraph.Graph, spec map[string]bulwark.Effect) []Entry {
	var out []Entry
	for id, e := range spec {
		x, ok := g.Lookup(id)
		if !ok {
			t.Fatalf("no node %s", id)
		}
		out = append(out, Entry{Node: x, Effect: e})
	}
	return out
}

func TestDerive(t *testing.T) {
	an := compile(t, testCity())
	g := an.Graph()
	down, degr, comp := bulwark.EffectDown, bulwark.EffectDegraded, bulwark.EffectCompromised
	for _, tc := range []struct {
		name                   string
		in                     map[string]bulwark.Effect
		down, degraded, atRisk []string
	}{
		{"one of two PLCs: the group absorbs it", map[string]bulwark.Effect{"plc-1": down}, []string{"plc-1"}, []string{}, []string{}},
		{"both PLCs: SCADA, water fail; hospital degrades (soft)", map[string]bulwark.Effect{"plc-1": down, "plc-2": down},
			[]string{"plc-1", "plc-2", "scada", "water"}, []string{"hospital"}, []string{}},
		{"power feed: SCADA and water fail, EHR degrades, so does the hospital (hard edge to a degraded node)", map[string]bulwark.Effect{"power-feed": down},
			[]string{"power-feed", "scada", "water"}, []string{"ehr", "hospital"}, []string{}},
		{"data centre: two systems and two services fail", map[string]bulwark.Effect{"dc": down},
			[]string{"dc", "ehr", "hospital", "portal", "web"}, []string{}, []string{}},
		{"one hard pump of 2-of-3: absorbed", map[string]bulwark.Effect{"pump-a": down}, []string{"pump-a"}, []string{}, []string{}},
		{"two pumps: the hard group loses quorum", map[string]bulwark.Effect{"pump-a": down, "pump-c": down},
			[]string{"pump-a", "pump-c", "water"}, []string{"hospital"}, []string{}},
		{"degraded SCADA degrades water and the hospital", map[string]bulwark.Effect{"scada": degr}, []string{}, []string{"hospital", "scada", "water"}, []string{}},
		{"degraded pump: groups absorb degradation", map[string]bulwark.Effect{"pump-a": degr}, []string{}, []string{"pump-a"}, []string{}},
		{"compromised SCADA puts water at risk, not the hospital (soft)", map[string]bulwark.Effect{"scada": comp}, []string{}, []string{}, []string{"water"}},
		{"compromised PLC alone: redundancy, nothing at risk", map[string]bulwark.Effect{"plc-1": comp}, []string{}, []string{}, []string{}},
		{"compromised PLC with the other down: water at risk", map[string]bulwark.Effect{"plc-1": comp, "plc-2": down}, []string{"plc-2"}, []string{}, []string{"water"}},
		{"a cycle fails only when entered", map[string]bulwark.Effect{"loop-b": down}, []string{"loop-a", "loop-b", "loop-svc"}, []string{}, []string{}},
		{"a down node entered as degraded too stays down", map[string]bulwark.Effect{"dc": down, "web": degr}, []string{"dc", "ehr", "hospital", "portal", "web"}, []string{}, []string{}},
		{"nothing", map[string]bulwark.Effect{}, []string{}, []string{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Derive(g, entries(t, g, tc.in))
			got := [][]string{ids(g, d.Down), ids(g, d.Degraded), ids(g, d.AtRisk)}
			want := [][]string{tc.down, tc.degraded, tc.atRisk}
			for i, what := range []string{"down", "degraded", "at risk"} {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("%s = %v, want %v", what, got[i], want[i])
				}
			}
		})
	}
}

// TestDeriveMatchesAnalysis checks, on random graphs with groups, soft
// edges and cycles, that deriving the failure of one node gives exactly
// what the analysis computes for it: the services failed, their people
// and the services degraded.
func TestDeriveMatchesAnalysis(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := randomCity(rt)
		g, err := depgraph.Compile(depgraph.FromCity(c))
		if err != nil {
			rt.Skip(err)
		}
		an := depgraph.Analyze(g)
		for x := int32(0); int(x) < g.Len(); x++ {
			d := Derive(g, []Entry{{Node: x, Effect: bulwark.EffectDown}})
			var pop int64
			lost := Services(g, d.Down)
			for _, s := range lost {
				pop += g.Population(s)
			}
			wantLost, wantPop, wantDeg := an.Impact(x)
			if len(lost) != wantLost || pop != wantPop || len(Services(g, d.Degraded)) != wantDeg {
				rt.Fatalf("node %s: derived %d lost (%d people), %d degraded; analysis %d (%d), %d",
					g.ID(x), len(lost), pop, len(Services(g, d.Degraded)), wantLost, wantPop, wantDeg)
			}
		}
	})
}

// randomCity draws a city of up to 9 nodes with hard and soft edges,
// redundancy groups, cycles and self-loops.
func randomCity(rt *rapid.T) *bulwark.City {
	n := rapid.IntRange(1, 9).Draw(rt, "n")
	c := &bulwark.City{Organizations: []bulwark.Organization{{ID: "o", Purview: bulwark.PurviewCity}}}
	type node struct {
		id     string
		kind   int
		deps   []bulwark.Dependency
		groups []bulwark.Group
	}
	nodes := make([]node, n)
	for i := range nodes {
		nodes[i] = node{id: fmt.Sprintf("n%d", i), kind: rapid.IntRange(0, 2).Draw(rt, "kind")}
	}
	for i := range nodes {
		if nodes[i].kind == 2 {
			continue // assets depend on nothing here
		}
		ng := rapid.IntRange(0, 2).Draw(rt, "groups")
		counts := make([]int, ng)
		for j := range nodes {
			if !rapid.Bool().Draw(rt, "edge") {
				continue
			}
			kind := bulwark.Hard
			if rapid.IntRange(0, 3).Draw(rt, "soft") == 0 {
				kind = bulwark.Soft
			}
			dep := bulwark.Dependency{On: nodes[j].id, Kind: kind}
			if ng > 0 {
				if gi := rapid.IntRange(-1, ng-1).Draw(rt, "group"); gi >= 0 {
					dep.Group = fmt.Sprintf("g%d", gi)
					counts[gi]++
				}
			}
			nodes[i].deps = append(nodes[i].deps, dep)
		}
		for gi, m := range counts {
			if m > 0 {
				nodes[i].groups = append(nodes[i].groups, bulwark.Group{ID: fmt.Sprintf("g%d", gi), Need: rapid.IntRange(1, m).Draw(rt, "need")})
			}
		}
	}
	for _, nd := range nodes {
		switch nd.kind {
		case 0:
			c.Services = append(c.Services, bulwark.Service{ID: nd.id, Owner: "o", Population: int64(rapid.IntRange(0, 1000).Draw(rt, "pop")), DependsOn: nd.deps, Groups: nd.groups})
		case 1:
			c.Systems = append(c.Systems, bulwark.System{ID: nd.id, Owner: "o", DependsOn: nd.deps, Groups: nd.groups})
		default:
			c.Assets = append(c.Assets, bulwark.Asset{ID: nd.id, Owner: "o", Kind: "x"})
		}
	}
	return c
}
