package depgraph

import (
	"fmt"
	"testing"
	"time"

	"bulwark"

	"github.com/google/go-cmp/cmp"
)

// outcome is a compact view of an Analysis for table tests: only nodes
// with a non-empty entry appear; a SPOF is written "ID*" when common-mode.
type outcome struct {
	Lost     map[string][]string
	Pop      map[string]int64
	Degraded map[string][]string
	SPOFs    map[string][]string
	Cycles   [][]string
}

func outcomeOf(a *Analysis) outcome {
	r := a.Report(0)
	o := outcome{Lost: map[string][]string{}, Pop: map[string]int64{}, Degraded: map[string][]string{}, SPOFs: map[string][]string{}}
	for _, n := range r.Nodes {
		if len(n.ServicesLost) > 0 {
			o.Lost[n.ID] = n.ServicesLost
		}
		if n.PopulationLost > 0 {
			o.Pop[n.ID] = n.PopulationLost
		}
		if len(n.ServicesDegraded) > 0 {
			o.Degraded[n.ID] = n.ServicesDegraded
		}
	}
	for _, s := range r.Services {
		for _, p := range s.SPOFs {
			id := p.ID
			if p.CommonMode {
				id += "*"
			}
			o.SPOFs[s.ID] = append(o.SPOFs[s.ID], id)
		}
	}
	o.Cycles = r.Cycles
	return o
}

func TestCriticality(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want outcome
	}{
		{
			name: "chain",
			spec: `
				service s 100
				system sys
				asset a
				s -> sys
				sys -> a`,
			want: outcome{
				Lost:  map[string][]string{"s": {"s"}, "sys": {"s"}, "a": {"s"}},
				Pop:   map[string]int64{"s": 100, "sys": 100, "a": 100},
				SPOFs: map[string][]string{"s": {"sys", "a"}},
			},
		},
		{
			name: "diamond",
			spec: `
				service s 10
				system left
				system right
				asset base
				s -> left
				s -> right
				left -> base
				right -> base`,
			want: outcome{
				Lost:  map[string][]string{"s": {"s"}, "left": {"s"}, "right": {"s"}, "base": {"s"}},
				Pop:   map[string]int64{"s": 10, "left": 10, "right": 10, "base": 10},
				SPOFs: map[string][]string{"s": {"left", "right", "base"}},
			},
		},
		{
			name: "k of n with k == n: every member is a SPOF",
			spec: `
				service s 5
				system sys
				asset p1
				asset p2
				group sys pumps 2
				s -> sys
				sys -> p1 pumps
				sys -> p2 pumps`,
			want: outcome{
				Lost:  map[string][]string{"s": {"s"}, "sys": {"s"}, "p1": {"s"}, "p2": {"s"}},
				Pop:   map[string]int64{"s": 5, "sys": 5, "p1": 5, "p2": 5},
				SPOFs: map[string][]string{"s": {"sys", "p1*", "p2*"}},
			},
		},
		{
			name: "k of n with k < n: no member alone fails it",
			spec: `
				service s 5
				system sys
				asset p1
				asset p2
				asset p3
				group sys pumps 2
				s -> sys
				sys -> p1 pumps
				sys -> p2 pumps
				sys -> p3 pumps`,
			want: outcome{
				Lost:  map[string][]string{"s": {"s"}, "sys": {"s"}},
				Pop:   map[string]int64{"s": 5, "sys": 5},
				SPOFs: map[string][]string{"s": {"sys"}},
			},
		},
		{
			name: "common-mode feeder behind a 1-of-2 group",
			spec: `
				service water 1000
				system pumping
				asset pump-a
				asset pump-b
				asset feeder
				group pumping pumps 1
				water -> pumping
				pumping -> pump-a pumps
				pumping -> pump-b pumps
				pump-a -> feeder
				pump-b -> feeder`,
			want: outcome{
				Lost:  map[string][]string{"water": {"water"}, "pumping": {"water"}, "feeder": {"water"}},
				Pop:   map[string]int64{"water": 1000, "pumping": 1000, "feeder": 1000},
				SPOFs: map[string][]string{"water": {"pumping", "feeder*"}},
			},
		},
		{
			name: "feeder on a plain hard path too is not common-mode",
			spec: `
				service water 1000
				system pumping
				asset pump-a
				asset pump-b
				asset feeder
				group pumping pumps 1
				water -> pumping
				pumping -> pump-a pumps
				pumping -> pump-b pumps
				pump-a -> feeder
				pump-b -> feeder
				pumping -> feeder`,
			want: outcome{
				Lost:  map[string][]string{"water": {"water"}, "pumping": {"water"}, "feeder": {"water"}},
				Pop:   map[string]int64{"water": 1000, "pumping": 1000, "feeder": 1000},
				SPOFs: map[string][]string{"water": {"pumping", "feeder"}},
			},
		},
		{
			name: "nested groups: 1 of 2 sites, each needing 2 of 2 feeds; a shared feed kills both",
			spec: `
				service s 7
				system site-a
				system site-b
				asset feed-1
				asset feed-2
				asset feed-3
				group s sites 1
				group site-a feeds 2
				group site-b feeds 2
				s -> site-a sites
				s -> site-b sites
				site-a -> feed-1 feeds
				site-a -> feed-2 feeds
				site-b -> feed-2 feeds
				site-b -> feed-3 feeds`,
			want: outcome{
				Lost: map[string][]string{"s": {"s"}, "feed-2": {"s"}},
				Pop:  map[string]int64{"s": 7, "feed-2": 7},
				// feed-1 fails site-a only; feed-2 fails both sites.
				SPOFs: map[string][]string{"s": {"feed-2*"}},
			},
		},
		{
			name: "service depending on a service",
			spec: `
				service hospital 300
				service power 5000
				system grid
				hospital -> power
				power -> grid`,
			want: outcome{
				Lost:  map[string][]string{"hospital": {"hospital"}, "power": {"hospital", "power"}, "grid": {"hospital", "power"}},
				Pop:   map[string]int64{"hospital": 300, "power": 5300, "grid": 5300},
				SPOFs: map[string][]string{"hospital": {"power", "grid"}, "power": {"grid"}},
			},
		},
		{
			name: "soft edges degrade, through hard dependents too",
			spec: `
				service s 50
				system core
				system reporting
				asset meter
				asset server
				s -> core
				core -> reporting soft
				reporting -> server
				s -> meter soft`,
			want: outcome{
				Lost:     map[string][]string{"s": {"s"}, "core": {"s"}},
				Pop:      map[string]int64{"s": 50, "core": 50},
				Degraded: map[string][]string{"reporting": {"s"}, "server": {"s"}, "meter": {"s"}},
				SPOFs:    map[string][]string{"s": {"core"}},
			},
		},
		{
			name: "a degraded hard dependency degrades; a lost group member does not",
			spec: `
				service s 1
				system a
				system b
				system c
				asset x
				group s g 1
				s -> a
				a -> x soft
				s -> b g
				s -> c g`,
			want: outcome{
				Lost:     map[string][]string{"s": {"s"}, "a": {"s"}},
				Pop:      map[string]int64{"s": 1, "a": 1},
				Degraded: map[string][]string{"x": {"s"}},
				SPOFs:    map[string][]string{"s": {"a"}},
			},
		},
		{
			name: "all-soft group degrades when quorum is lost",
			spec: `
				service s 1
				asset cam-1
				asset cam-2
				asset pole
				group s cams 2
				s -> cam-1 soft cams
				s -> cam-2 soft cams
				cam-1 -> pole
				cam-2 -> pole`,
			want: outcome{
				Lost:     map[string][]string{"s": {"s"}},
				Pop:      map[string]int64{"s": 1},
				Degraded: map[string][]string{"cam-1": {"s"}, "cam-2": {"s"}, "pole": {"s"}},
			},
		},
		{
			name: "cycle members fail together along hard edges",
			spec: `
				service s 9
				system x
				system y
				asset z
				s -> x
				x -> y
				y -> x
				y -> z`,
			want: outcome{
				Lost:   map[string][]string{"s": {"s"}, "x": {"s"}, "y": {"s"}, "z": {"s"}},
				Pop:    map[string]int64{"s": 9, "x": 9, "y": 9, "z": 9},
				SPOFs:  map[string][]string{"s": {"x", "y", "z"}},
				Cycles: [][]string{{"x", "y"}},
			},
		},
		{
			name: "soft cycle and self-loop",
			spec: `
				service s 3
				system x
				system y
				x -> x
				s -> x
				x -> y soft
				y -> x`,
			want: outcome{
				Lost:     map[string][]string{"s": {"s"}, "x": {"s"}},
				Pop:      map[string]int64{"s": 3, "x": 3},
				Degraded: map[string][]string{"y": {"s"}},
				SPOFs:    map[string][]string{"s": {"x"}},
				Cycles:   [][]string{{"x", "y"}},
			},
		},
		{
			name: "self-loop alone",
			spec: `
				service s 3
				system x
				s -> x
				x -> x`,
			want: outcome{
				Lost:   map[string][]string{"s": {"s"}, "x": {"s"}},
				Pop:    map[string]int64{"s": 3, "x": 3},
				SPOFs:  map[string][]string{"s": {"x"}},
				Cycles: [][]string{{"x"}},
			},
		},
		{
			name: "disconnected nodes cost nothing",
			spec: `
				service s 3
				system island
				asset rock
				island -> rock`,
			want: outcome{
				Lost: map[string][]string{"s": {"s"}},
				Pop:  map[string]int64{"s": 3},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := outcomeOf(mustAnalyze(t, tc.spec))
			if tc.want.Degraded == nil {
				tc.want.Degraded = map[string][]string{}
			}
			if tc.want.SPOFs == nil {
				tc.want.SPOFs = map[string][]string{}
			}
			if tc.want.Cycles == nil {
				tc.want.Cycles = [][]string{}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("analysis (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportRanking(t *testing.T) {
	a := mustAnalyze(t, `
		service big 1000
		service small 10
		service empty 0
		system shared
		system b-only
		system a-only
		asset idle
		big -> shared
		small -> shared
		big -> b-only
		small -> a-only
		empty -> a-only`)
	r := a.Report(0)
	var got []string
	for i, n := range r.Nodes {
		if n.Rank != i+1 {
			t.Errorf("row %d has rank %d", i, n.Rank)
		}
		got = append(got, n.ID)
	}
	// shared: 1010 people; big and b-only: 1000 (big first by ID); a-only: 10
	// with 2 services, before small (10, 1 service); then empty (0 people,
	// 1 service); then nodes without impact in ID order.
	want := []string{"shared", "b-only", "big", "a-only", "small", "empty", "idle"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ranking (-want +got):\n%s", diff)
	}
	top := a.Report(2)
	if len(top.Nodes) != 2 || top.Nodes[1].ID != "b-only" || len(top.Services) != 3 {
		t.Errorf("Report(2) = %d rows %v, %d services", len(top.Nodes), top.Nodes, len(top.Services))
	}
	if diff := cmp.Diff([]string{"big", "small"}, top.Nodes[0].ServicesLost); diff != "" {
		t.Errorf("shared services lost (-want +got):\n%s", diff)
	}
	lost, pop, deg := a.Impact(mustLookup(t, a, "shared"))
	if lost != 2 || pop != 1010 || deg != 0 {
		t.Errorf("Impact(shared) = %d, %d, %d", lost, pop, deg)
	}
}

func mustLookup(t *testing.T, a *Analysis, id string) int32 {
	t.Helper()
	x, ok := a.Graph().Lookup(id)
	if !ok {
		t.Fatalf("no node %q", id)
	}
	return x
}

// TestDocsExample is the worked example of docs/graph-analysis.md.
func TestDocsExample(t *testing.T) {
	a := mustAnalyze(t, `
		service water 420000 l/h/h
		service hospital 30000 m/h/h
		system pumping
		system scada
		asset pump-a
		asset pump-b
		asset feeder
		asset plc
		asset meters
		group pumping pumps 1
		hospital -> water
		water -> pumping
		water -> scada
		pumping -> pump-a pumps
		pumping -> pump-b pumps
		pump-a -> feeder
		pump-b -> feeder
		scada -> plc
		scada -> meters soft`)
	want := outcome{
		Lost: map[string][]string{
			"hospital": {"hospital"}, "water": {"hospital", "water"}, "pumping": {"hospital", "water"},
			"feeder": {"hospital", "water"}, "scada": {"hospital", "water"}, "plc": {"hospital", "water"},
		},
		Pop:      map[string]int64{"hospital": 30000, "water": 450000, "pumping": 450000, "feeder": 450000, "scada": 450000, "plc": 450000},
		Degraded: map[string][]string{"meters": {"hospital", "water"}},
		SPOFs: map[string][]string{
			"hospital": {"water", "pumping", "scada", "feeder*", "plc"},
			"water":    {"pumping", "scada", "feeder*", "plc"},
		},
		Cycles: [][]string{},
	}
	if diff := cmp.Diff(want, outcomeOf(a)); diff != "" {
		t.Errorf("analysis (-want +got):\n%s", diff)
	}
	for id, c := range map[string]string{"hospital": "m/h/h", "water": "m/h/h", "feeder": "m/h/h", "meters": "m/h/h"} {
		if got := catString(a.Category(mustLookup(t, a, id))); got != c {
			t.Errorf("category of %s = %s, want %s", id, got, c)
		}
	}
	r := a.Report(3)
	for _, n := range r.Nodes {
		t.Log(n)
	}
}

// TestHugeHardCycle: the members of a hard cycle share one kill set, so a
// cycle of 200,000 nodes (whose answer is "any of them fails all") is
// linear, not quadratic.
func TestHugeHardCycle(t *testing.T) {
	const n = 200000
	d := &bulwark.GraphData{Nodes: []bulwark.GraphNode{{Ref: 1, ID: "svc", Kind: bulwark.KindService, Population: 7}}}
	for i := range n {
		d.Nodes = append(d.Nodes, bulwark.GraphNode{Ref: int64(i + 2), ID: fmt.Sprintf("sys-%06d", i), Kind: bulwark.KindSystem})
		d.Edges = append(d.Edges, bulwark.GraphEdge{From: int64(i + 2), To: int64((i+1)%n + 2), Kind: bulwark.Hard})
	}
	d.Edges = append(d.Edges, bulwark.GraphEdge{From: 1, To: 2, Kind: bulwark.Hard})
	g, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a := Analyze(g)
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("Analyze took %v", el)
	}
	for _, id := range []string{"sys-000000", "sys-123456", "sys-199999"} {
		if lost, pop, _ := a.Impact(mustLookup(t, a, id)); lost != 1 || pop != 7 {
			t.Errorf("Impact(%s) = %d services, %d people; want 1, 7", id, lost, pop)
		}
	}
	r := a.Report(1)
	if len(r.Services[0].SPOFs) != n || len(r.Cycles) != 1 || len(r.Cycles[0]) != n {
		t.Errorf("SPOFs = %d, cycles = %d", len(r.Services[0].SPOFs), len(r.Cycles))
	}
}
