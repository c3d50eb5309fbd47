package depgraph

import (
	"fmt"
	"slices"
	"testing"

	"bulwark"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// oracle computes, by brute force straight from GraphData, what Analyze
// must report: for each node v it simulates v's single failure by fixpoint
// propagation (the definition in docs/graph-analysis.md) and records which
// services fail and which degrade.
type oracle struct {
	lost, degraded map[string][]string // node -> services, sorted
	pop            map[string]int64
	spofs          map[string][]SPOF // service -> SPOFs, by kind then ID
	cat            map[string]bulwark.Category
}

func runOracle(d *bulwark.GraphData) oracle {
	n := len(d.Nodes)
	idx := map[int64]int{}
	for i, nd := range d.Nodes {
		idx[nd.Ref] = i
	}
	type gk struct {
		owner int
		id    string
	}
	need := map[gk]int{}
	for _, gr := range d.Groups {
		need[gk{idx[gr.Owner], gr.ID}] = gr.Need
	}
	type edge struct {
		to    int
		soft  bool
		group string
	}
	out := make([][]edge, n)
	for _, e := range d.Edges {
		out[idx[e.From]] = append(out[idx[e.From]], edge{idx[e.To], e.Kind == bulwark.Soft, e.Group})
	}
	groupHard := map[gk]bool{}
	size := map[gk]int{}
	for x := range n {
		for _, e := range out[x] {
			if e.group != "" {
				k := gk{x, e.group}
				size[k]++
				groupHard[k] = groupHard[k] || !e.soft
			}
		}
	}
	// groupLost reports whether some group of x with the given hardness has
	// more than n-k members in set.
	groupLost := func(x int, hard bool, set []bool) bool {
		failed := map[string]int{}
		for _, e := range out[x] {
			if e.group != "" && set[e.to] {
				failed[e.group]++
			}
		}
		for gid, f := range failed {
			k := gk{x, gid}
			if groupHard[k] == hard && f > size[k]-need[k] {
				return true
			}
		}
		return false
	}
	simulate := func(v int) (fail, deg []bool) {
		fail = make([]bool, n)
		fail[v] = true
		for changed := true; changed; {
			changed = false
			for x := range n {
				if fail[x] {
					continue
				}
				f := groupLost(x, true, fail)
				for _, e := range out[x] {
					f = f || (e.group == "" && !e.soft && fail[e.to])
				}
				if f {
					fail[x], changed = true, true
				}
			}
		}
		deg = make([]bool, n)
		for changed := true; changed; {
			changed = false
			for x := range n {
				if fail[x] || deg[x] {
					continue
				}
				dg := groupLost(x, false, fail)
				for _, e := range out[x] {
					dg = dg || (e.group == "" && (deg[e.to] || (e.soft && fail[e.to])))
				}
				if dg {
					deg[x], changed = true, true
				}
			}
		}
		return fail, deg
	}
	// plain[s][v]: v reachable from s by ungrouped hard edges.
	reach := func(s int, ok func(edge) bool) []bool {
		r := make([]bool, n)
		r[s] = true
		stack := []int{s}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, e := range out[x] {
				if ok(e) && !r[e.to] {
					r[e.to] = true
					stack = append(stack, e.to)
				}
			}
		}
		return r
	}

	o := oracle{lost: map[string][]string{}, degraded: map[string][]string{}, pop: map[string]int64{},
		spofs: map[string][]SPOF{}, cat: map[string]bulwark.Category{}}
	var services []int
	for i, nd := range d.Nodes {
		o.lost[nd.ID] = []string{}
		o.degraded[nd.ID] = []string{}
		o.cat[nd.ID] = bulwark.Category{}
		if nd.Kind == bulwark.KindService {
			services = append(services, i)
			o.spofs[nd.ID] = []SPOF{}
		}
	}
	plain := map[int][]bool{}
	for _, s := range services {
		plain[s] = reach(s, func(e edge) bool { return e.group == "" && !e.soft })
		all := reach(s, func(edge) bool { return true })
		for x := range n {
			if all[x] {
				id := d.Nodes[x].ID
				o.cat[id] = o.cat[id].Max(d.Nodes[s].Category)
			}
		}
	}
	for v := range n {
		fail, deg := simulate(v)
		vid := d.Nodes[v].ID
		for _, s := range services {
			sid := d.Nodes[s].ID
			switch {
			case fail[s]:
				o.lost[vid] = append(o.lost[vid], sid)
				if p := d.Nodes[s].Population; p != 0 {
					o.pop[vid] += p
				}
				if v != s {
					o.spofs[sid] = append(o.spofs[sid], SPOF{ID: vid, Name: d.Nodes[v].Name,
						Kind: d.Nodes[v].Kind.String(), CommonMode: !plain[s][v]})
				}
			case deg[s]:
				o.degraded[vid] = append(o.degraded[vid], sid)
			}
		}
	}
	for _, l := range o.lost {
		slices.Sort(l)
	}
	for _, l := range o.degraded {
		slices.Sort(l)
	}
	for _, l := range o.spofs {
		slices.SortFunc(l, func(a, b SPOF) int {
			ka, _ := bulwark.ParseNodeKind(a.Kind)
			kb, _ := bulwark.ParseNodeKind(b.Kind)
			if ka != kb {
				return int(ka) - int(kb)
			}
			return cmpString(a.ID, b.ID)
		})
	}
	return o
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fromAnalysis extracts the same views from Analyze's report.
func fromAnalysis(a *Analysis) oracle {
	r := a.Report(0)
	o := oracle{lost: map[string][]string{}, degraded: map[string][]string{}, pop: map[string]int64{},
		spofs: map[string][]SPOF{}, cat: map[string]bulwark.Category{}}
	for _, row := range r.Nodes {
		o.lost[row.ID] = row.ServicesLost
		o.degraded[row.ID] = row.ServicesDegraded
		if row.PopulationLost != 0 {
			o.pop[row.ID] = row.PopulationLost
		}
		x, _ := a.g.Lookup(row.ID)
		o.cat[row.ID] = a.Category(x)
	}
	for _, s := range r.Services {
		o.spofs[s.ID] = s.SPOFs
	}
	return o
}

// genGraph draws a random small graph with groups, soft edges, cycles and
// self-loops that Compile accepts.
func genGraph(t *rapid.T) *bulwark.GraphData {
	n := rapid.IntRange(1, 9).Draw(t, "nodes")
	d := &bulwark.GraphData{}
	lv := rapid.SampledFrom([]bulwark.Level{bulwark.LevelNone, bulwark.LevelLow, bulwark.LevelModerate, bulwark.LevelHigh})
	for i := range n {
		kind := rapid.SampledFrom([]bulwark.NodeKind{bulwark.KindService, bulwark.KindSystem, bulwark.KindAsset}).Draw(t, "kind")
		nd := bulwark.GraphNode{Ref: int64(1000 - 7*i), ID: fmt.Sprintf("n%d", n-i), Kind: kind, Name: fmt.Sprintf("N%d", i)}
		if kind == bulwark.KindService {
			nd.Population = int64(rapid.IntRange(0, 1000).Draw(t, "pop"))
			nd.Category = bulwark.Category{Confidentiality: lv.Draw(t, "c"), Integrity: lv.Draw(t, "i"), Availability: lv.Draw(t, "a")}
		}
		d.Nodes = append(d.Nodes, nd)
	}
	ngroups := make([]int, n)
	for i := range n {
		ngroups[i] = rapid.IntRange(0, 2).Draw(t, "groups")
	}
	members := map[[2]int]int{}
	density := rapid.Float64Range(0.05, 0.6).Draw(t, "density")
	for i := range n {
		for j := range n {
			if rapid.Float64Range(0, 1).Draw(t, "p") >= density {
				continue
			}
			e := bulwark.GraphEdge{From: d.Nodes[i].Ref, To: d.Nodes[j].Ref, Kind: bulwark.Hard}
			if rapid.IntRange(0, 3).Draw(t, "soft") == 0 {
				e.Kind = bulwark.Soft
			}
			if gi := rapid.IntRange(-1, ngroups[i]-1).Draw(t, "group"); gi >= 0 {
				e.Group = fmt.Sprintf("g%d", gi)
				members[[2]int{i, gi}]++
			}
			d.Edges = append(d.Edges, e)
		}
	}
	for i := range n {
		for gi := range ngroups[i] {
			if m := members[[2]int{i, gi}]; m > 0 {
				d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: d.Nodes[i].Ref, ID: fmt.Sprintf("g%d", gi), Need: rapid.IntRange(1, m).Draw(t, "need")})
			}
		}
	}
	return d
}

// TestAnalyzeMatchesOracle is the proof that the kill-set algorithm is exact:
// on random graphs with k-of-n groups, soft edges and cycles it reports
// exactly what simulating every single failure reports.
func TestAnalyzeMatchesOracle(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := genGraph(t)
		g, err := Compile(d)
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		got := fromAnalysis(Analyze(g))
		want := runOracle(d)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(oracle{})); diff != "" {
			t.Fatalf("Analyze disagrees with the brute-force oracle (-oracle +analyze):\n%s", diff)
		}
	})
}

// TestHighWaterMonotone: raising a service's declared category never
// lowers any node's high-water mark, and every node's mark is at least that
// of every service that depends on it.
func TestHighWaterMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := genGraph(t)
		g, err := Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		before := Analyze(g)
		var svc []int
		for i, nd := range d.Nodes {
			if nd.Kind == bulwark.KindService {
				svc = append(svc, i)
			}
		}
		if len(svc) == 0 {
			return
		}
		i := rapid.SampledFrom(svc).Draw(t, "raise")
		d.Nodes[i].Category = d.Nodes[i].Category.Max(bulwark.Category{Availability: bulwark.LevelHigh})
		g2, err := Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		after := Analyze(g2)
		for x := range int32(g.Len()) {
			b, a := before.Category(x), after.Category(x)
			if a.Max(b) != a {
				t.Fatalf("%s: category fell from %v to %v", g.ID(x), b, a)
			}
			// Every edge: the dependency's mark covers the dependent's.
			for e := g2.off[x]; e < g2.off[x+1]; e++ {
				y := g2.to[e]
				if after.Category(y).Max(after.Category(x)) != after.Category(y) {
					t.Fatalf("%s depends on %s but its mark %v exceeds %v", g2.ID(x), g2.ID(y), after.Category(x), after.Category(y))
				}
			}
		}
	})
}
