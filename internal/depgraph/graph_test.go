package depgraph

import (
	"slices"
	"strings"
	"testing"

	"bulwark"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

func TestCompileRejects(t *testing.T) {
	base := func() *bulwark.GraphData {
		return &bulwark.GraphData{
			Nodes: []bulwark.GraphNode{
				{Ref: 1, ID: "svc", Kind: bulwark.KindService},
				{Ref: 2, ID: "sys", Kind: bulwark.KindSystem},
				{Ref: 3, ID: "a", Kind: bulwark.KindAsset},
			},
			Edges:  []bulwark.GraphEdge{{From: 1, To: 2, Kind: bulwark.Hard}, {From: 2, To: 3, Kind: bulwark.Soft, Group: "g"}},
			Groups: []bulwark.GraphGroup{{Owner: 2, ID: "g", Need: 1}},
		}
	}
	tests := []struct {
		name   string
		mutate func(d *bulwark.GraphData)
		want   string // substring of one problem
	}{
		{"dangling edge target", func(d *bulwark.GraphData) { d.Edges[0].To = 99 }, "unknown node ref 99"},
		{"dangling edge source", func(d *bulwark.GraphData) { d.Edges[0].From = 42 }, "edge from unknown node ref 42"},
		{"negative ref", func(d *bulwark.GraphData) { d.Nodes[2].Ref = -3 }, "is not positive"},
		{"zero ref", func(d *bulwark.GraphData) { d.Nodes[2].Ref = 0 }, "is not positive"},
		{"duplicate ref", func(d *bulwark.GraphData) { d.Nodes[2].Ref = 2 }, "duplicate ref 2"},
		{"duplicate ID", func(d *bulwark.GraphData) { d.Nodes[2].ID = "sys" }, `duplicate ID "sys"`},
		{"invalid ID", func(d *bulwark.GraphData) { d.Nodes[2].ID = "bad id/../x" }, "invalid ID"},
		{"empty ID", func(d *bulwark.GraphData) { d.Nodes[2].ID = "" }, "invalid ID"},
		{"unknown kind", func(d *bulwark.GraphData) { d.Nodes[2].Kind = 9 }, "unknown kind 9"},
		{"negative population", func(d *bulwark.GraphData) { d.Nodes[0].Population = -1 }, "negative population"},
		{"negative count", func(d *bulwark.GraphData) { d.Nodes[2].Count = -5 }, "negative count"},
		{"bad level", func(d *bulwark.GraphData) { d.Nodes[0].Category.Integrity = 7 }, "invalid impact level"},
		{"duplicate edge", func(d *bulwark.GraphData) {
			d.Edges = append(d.Edges, bulwark.GraphEdge{From: 1, To: 2, Kind: bulwark.Soft})
		}, `duplicate dependency of "svc" on "sys"`},
		{"duplicate edge across groups", func(d *bulwark.GraphData) {
			d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: 2, ID: "h", Need: 1})
			d.Edges = append(d.Edges, bulwark.GraphEdge{From: 2, To: 3, Kind: bulwark.Hard, Group: "h"})
		}, `duplicate dependency of "sys" on "a"`},
		{"unknown edge kind", func(d *bulwark.GraphData) { d.Edges[0].Kind = "sometimes" }, `unknown kind "sometimes"`},
		{"undeclared group", func(d *bulwark.GraphData) { d.Edges[0].Group = "nope" }, `names group "nope"`},
		{"need above members", func(d *bulwark.GraphData) { d.Groups[0].Need = 2 }, "needs 2 of its 1 members"},
		{"need zero", func(d *bulwark.GraphData) { d.Groups[0].Need = 0 }, "needs 0 of its 1 members"},
		{"need negative", func(d *bulwark.GraphData) { d.Groups[0].Need = -4 }, "needs -4 of its 1 members"},
		{"empty group", func(d *bulwark.GraphData) {
			d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: 1, ID: "empty", Need: 1})
		}, "needs 1 of its 0 members"},
		{"group of unknown owner", func(d *bulwark.GraphData) { d.Groups[0].Owner = 77 }, "unknown node ref 77"},
		{"duplicate group", func(d *bulwark.GraphData) { d.Groups = append(d.Groups, d.Groups[0]) }, `duplicate group "g"`},
		{"empty group ID", func(d *bulwark.GraphData) { d.Groups[0].ID = "" }, "empty ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			if _, err := Compile(d); err != nil {
				t.Fatalf("base graph: %v", err)
			}
			tc.mutate(d)
			_, err := Compile(d)
			if code := bulwark.ErrorCode(err); code != bulwark.EINVALID {
				t.Fatalf("Compile error code = %q (%v), want %q", code, err, bulwark.EINVALID)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile error = %v\nwant a problem containing %q", err, tc.want)
			}
		})
	}
	if _, err := Compile(nil); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("Compile(nil) = %v, want EINVALID", err)
	}
}

func TestCompileCapsProblems(t *testing.T) {
	d := &bulwark.GraphData{Nodes: []bulwark.GraphNode{{Ref: 1, ID: "x", Kind: bulwark.KindAsset}}}
	for range 10 * maxProblems {
		d.Edges = append(d.Edges, bulwark.GraphEdge{From: 1, To: 2})
	}
	_, err := Compile(d)
	if got := len(bulwark.ErrorDetails(err)); got != maxProblems+1 {
		t.Fatalf("problems = %d, want %d (capped plus a summary)", got, maxProblems+1)
	}
}

func TestCompileOrdersByID(t *testing.T) {
	g, err := Compile(spec(t, `
		service zeta
		system alpha
		asset mid
		zeta -> alpha
		alpha -> mid soft`))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for x := range int32(g.Len()) {
		ids = append(ids, g.ID(x))
	}
	if diff := cmp.Diff([]string{"alpha", "mid", "zeta"}, ids); diff != "" {
		t.Errorf("node order (-want +got):\n%s", diff)
	}
	z, _ := g.Lookup("zeta")
	if g.Kind(z) != bulwark.KindService || g.NumEdges() != 2 {
		t.Errorf("zeta kind %v, edges %d", g.Kind(z), g.NumEdges())
	}
	if _, ok := g.Lookup("nope"); ok {
		t.Error("Lookup of an unknown ID succeeded")
	}
}

func TestFromCity(t *testing.T) {
	c := &bulwark.City{
		Services: []bulwark.Service{{ID: "water", Name: "Water", Owner: "o", Population: 1000,
			Category:  bulwark.Category{Availability: bulwark.LevelHigh},
			Groups:    []bulwark.Group{{ID: "sites", Need: 1}},
			DependsOn: []bulwark.Dependency{{On: "scada"}, {On: "site-a", Group: "sites"}, {On: "site-b", Kind: bulwark.Hard, Group: "sites"}}}},
		Systems: []bulwark.System{{ID: "scada", Name: "SCADA", Owner: "o", Groups: []bulwark.Group{{ID: "plcs", Need: 1}}},
			{ID: "site-a", Owner: "o"}, {ID: "site-b", Owner: "o"}},
		Assets: []bulwark.Asset{
			{ID: "plc-1", Owner: "o", System: "scada", SystemGroup: "plcs"},
			{ID: "plc-2", Owner: "o", System: "scada", SystemGroup: "plcs", Count: 3},
			{ID: "meter", Owner: "o", System: "scada", SystemDependency: bulwark.Soft, DependsOn: []bulwark.Dependency{{On: "feeder"}}},
		},
	}
	d := FromCity(c)
	if _, err := Compile(d); err == nil || !strings.Contains(err.Error(), "unknown node ref 0") {
		t.Fatalf("dangling dependency: Compile error = %v, want unknown node ref 0", err)
	}
	c.Assets = append(c.Assets, bulwark.Asset{ID: "feeder", Owner: "o"})
	g, err := Compile(FromCity(c))
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(g).Report(0)
	var water ServiceReport
	for _, s := range r.Services {
		if s.ID == "water" {
			water = s
		}
	}
	want := []SPOF{{ID: "scada", Name: "SCADA", Kind: "system"}}
	if diff := cmp.Diff(want, water.SPOFs); diff != "" {
		t.Errorf("water SPOFs (-want +got):\n%s", diff)
	}
	if g.NumEdges() != 7 {
		t.Errorf("edges = %d, want 7", g.NumEdges())
	}
	if d := FromCity(nil); len(d.Nodes) != 0 {
		t.Errorf("FromCity(nil) has %d nodes", len(d.Nodes))
	}
}

func TestHighWater(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want map[string]string
	}{
		{
			name: "flows down hard and soft edges",
			spec: `
				service s1 0 l/h/m
				service s2 0 m/l/l
				system sys
				asset a
				asset b
				asset lonely
				s1 -> sys
				s2 -> sys soft
				sys -> a
				s2 -> b soft`,
			want: map[string]string{"s1": "l/h/m", "s2": "m/l/l", "sys": "m/h/m", "a": "m/h/m", "b": "m/l/l", "lonely": "-/-/-"},
		},
		{
			name: "service keeps its own and takes its dependents'",
			spec: `
				service top 0 h/l/l
				service mid 0 l/m/l
				service leaf 0 l/l/h
				top -> mid
				mid -> leaf`,
			want: map[string]string{"top": "h/l/l", "mid": "h/m/l", "leaf": "h/m/h"},
		},
		{
			name: "cycle members share the mark",
			spec: `
				service s 0 l/l/h
				service t 0 m/l/l
				system x
				system y
				s -> x
				x -> y
				y -> x
				t -> y soft`,
			want: map[string]string{"s": "l/l/h", "t": "m/l/l", "x": "m/l/h", "y": "m/l/h"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustAnalyze(t, tc.spec)
			got := map[string]string{}
			for x := range int32(a.g.Len()) {
				got[a.g.ID(x)] = catString(a.Category(x))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("categories (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCompileSparseRefs covers refs far apart (a map instead of a slice).
func TestCompileSparseRefs(t *testing.T) {
	for _, scale := range []int64{1, 1 << 40} {
		d := spec(t, `
			service s 1
			system x
			asset y
			s -> x
			x -> y`)
		for i := range d.Nodes {
			d.Nodes[i].Ref *= scale
		}
		for i := range d.Edges {
			d.Edges[i].From *= scale
			d.Edges[i].To *= scale
		}
		g, err := Compile(d)
		if err != nil {
			t.Fatalf("scale %d: %v", scale, err)
		}
		if got := outcomeOf(Analyze(g)).SPOFs["s"]; !cmp.Equal(got, []string{"x", "y"}) {
			t.Errorf("scale %d: SPOFs = %v", scale, got)
		}
		d.Edges[1].To = 3*scale + 1
		if _, err := Compile(d); err == nil {
			t.Errorf("scale %d: dangling ref accepted", scale)
		}
	}
}

func TestSortByID(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.StringMatching(`[a-c][0-9]{0,3}`)
		var ids []string
		if rapid.Bool().Draw(t, "long") { // many runs: the multikey sort
			ids = rapid.SliceOfN(gen, 100, 300).Draw(t, "ids")
		} else {
			ids = rapid.SliceOf(gen).Draw(t, "ids")
		}
		nodes := make([]bulwark.GraphNode, len(ids))
		for i, id := range ids {
			nodes[i].ID = id
		}
		order, dup := sortByID(nodes)
		var got []string
		for _, i := range order {
			got = append(got, nodes[i].ID)
		}
		want := slices.Clone(ids)
		slices.Sort(want)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("sortByID (-want +got):\n%s", diff)
		}
		if wantDup := len(slices.Compact(want)) != len(want); dup != wantDup {
			t.Fatalf("dup = %v, want %v", dup, wantDup)
		}
	})
}

func TestCompileDuplicateIDsUnsorted(t *testing.T) {
	d := &bulwark.GraphData{}
	for i, id := range []string{"zz", "b", "a", "b", "c"} {
		d.Nodes = append(d.Nodes, bulwark.GraphNode{Ref: int64(i + 1), ID: id, Kind: bulwark.KindAsset})
	}
	_, err := Compile(d)
	if err == nil || !strings.Contains(err.Error(), `nodes[3].id: duplicate ID "b"`) && !strings.Contains(err.Error(), `nodes[1].id: duplicate ID "b"`) {
		t.Fatalf("Compile = %v, want a duplicate ID problem", err)
	}
}
