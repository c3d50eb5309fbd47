// Package incident is the incident engine: the impact an incident's
// entries have on the city (derived from the dependency graph), its
// severity on CISA's NCISS levels, which organizations it is routed to,
// the clock against the affected services' resilience targets, the
// playbooks (versioned YAML, six bundled) and their RACI matrices, and the
// contact directory with on-call shifts. The pure functions take values
// and a clock; service.go wires them to the store.
package incident

import (
	"slices"
	"sort"

	"bulwark"
	"bulwark/internal/depgraph"
)

// Entry is one entity the reporter entered, as a node of the graph.
type Entry struct {
	Node   int32
	Effect bulwark.Effect
}

// Derived is what a set of entries does to the city: every node that
// fails (the entries that are down and what depends on them beyond
// redundancy), every node degraded without failing, and every service
// that would fail if the compromised entries were taken down as well
// (at risk). Each list is sorted by node id.
type Derived struct {
	Down     []int32
	Degraded []int32
	AtRisk   []int32 // services only
}

// bitset marks node ids.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(x int32)      { b[x>>6] |= 1 << (uint32(x) & 63) }
func (b bitset) has(x int32) bool { return b[x>>6]&(1<<(uint32(x)&63)) != 0 }

// Walker derives impacts on one compiled graph. It keeps the dependent of
// every edge (the graph's reverse lists give edges, not their owners), so
// that a walk up from the entries costs what it visits. Build one per
// graph and share it: it is immutable and safe for concurrent use.
type Walker struct {
	g    *depgraph.Graph
	from []int32 // from[e] is the node that edge e starts at
}

// NewWalker indexes g: O(edges) once.
func NewWalker(g *depgraph.Graph) *Walker {
	w := &Walker{g: g, from: make([]int32, g.NumEdges())}
	for x := int32(0); int(x) < g.Len(); x++ {
		lo, hi := g.EdgeRange(x)
		for e := lo; e < hi; e++ {
			w.from[e] = x
		}
	}
	return w
}

// Graph is the graph the walker indexes.
func (w *Walker) Graph() *depgraph.Graph { return w.g }

// dependent returns the node that forward edge e starts at.
func dependent(g *depgraph.Graph, e int32) int32 {
	if gi := g.EdgeGroup(e); gi >= 0 {
		return g.GroupOwner(gi)
	}
	n := g.Len()
	return int32(sort.Search(n, func(x int) bool { _, hi := g.EdgeRange(int32(x)); return hi > e }))
}

// fail computes the least set of failed nodes when the seeds fail, with
// the semantics of docs/graph-analysis.md extended to several initial
// failures: x fails when an ungrouped hard dependency fails or a hard
// group of x loses its quorum. It returns the set, the failed nodes in
// discovery order and the failed-member count of each group touched.
func (w *Walker) fail(seeds []int32) (bitset, []int32, map[int32]int32) {
	g := w.g
	down := newBitset(g.Len())
	var order []int32
	lost := map[int32]int32{}
	push := func(x int32) {
		if !down.has(x) {
			down.set(x)
			order = append(order, x)
		}
	}
	for _, x := range seeds {
		push(x)
	}
	for i := 0; i < len(order); i++ {
		y := order[i]
		for _, e := range g.Dependents(y) {
			x := w.from[e]
			if down.has(x) {
				continue
			}
			gi := g.EdgeGroup(e)
			if gi < 0 {
				if !g.EdgeSoft(e) {
					push(x)
				}
				continue
			}
			lost[gi]++
			if g.GroupHard(gi) && lost[gi] > g.GroupSize(gi)-g.GroupNeed(gi) {
				push(x)
			}
		}
	}
	return down, order, lost
}

// Derive computes what entries do to the graph. Degradation follows the
// analysis' definition: x (not failed) is degraded by an ungrouped soft
// edge to a failed or degraded node, an ungrouped hard edge to a degraded
// node, or an all-soft group that lost its quorum; losses a group absorbs
// degrade nothing. The cost is proportional to the part of the graph above
// the entries, not to the city.
func Derive(g *depgraph.Graph, entries []Entry) Derived { return NewWalker(g).Derive(entries) }

// Derive is Derive on the walker's graph.
func (w *Walker) Derive(entries []Entry) Derived {
	g := w.g
	var seeds, degr, comp []int32
	for _, en := range entries {
		switch en.Effect {
		case bulwark.EffectDown:
			seeds = append(seeds, en.Node)
		case bulwark.EffectDegraded:
			degr = append(degr, en.Node)
		case bulwark.EffectCompromised:
			comp = append(comp, en.Node)
		}
	}
	down, order, lost := w.fail(seeds)

	deg := newBitset(g.Len())
	var dorder []int32
	mark := func(x int32) {
		if !down.has(x) && !deg.has(x) {
			deg.set(x)
			dorder = append(dorder, x)
		}
	}
	for _, x := range degr {
		mark(x)
	}
	for _, y := range order {
		for _, e := range g.Dependents(y) {
			if g.EdgeGroup(e) < 0 && g.EdgeSoft(e) {
				mark(w.from[e])
			}
		}
	}
	for gi, n := range lost {
		if !g.GroupHard(gi) && n > g.GroupSize(gi)-g.GroupNeed(gi) {
			mark(g.GroupOwner(gi))
		}
	}
	for i := 0; i < len(dorder); i++ {
		for _, e := range g.Dependents(dorder[i]) {
			if g.EdgeGroup(e) < 0 {
				mark(w.from[e])
			}
		}
	}

	var d Derived
	d.Down = sorted(order)
	d.Degraded = sorted(dorder)
	if len(comp) > 0 {
		_, worst, _ := w.fail(append(slices.Clone(seeds), comp...))
		for _, x := range worst {
			if !down.has(x) && g.Kind(x) == bulwark.KindService {
				d.AtRisk = append(d.AtRisk, x)
			}
		}
		slices.Sort(d.AtRisk)
	}
	return d
}

func sorted(xs []int32) []int32 {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// Services returns the services among nodes, in order.
func Services(g *depgraph.Graph, nodes []int32) []int32 {
	var out []int32
	for _, x := range nodes {
		if g.Kind(x) == bulwark.KindService {
			out = append(out, x)
		}
	}
	return out
}
