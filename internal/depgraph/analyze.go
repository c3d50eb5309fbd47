package depgraph

import (
	"math/bits"
	"slices"

	"bulwark"
)

// plainBit flags an entry of a kill set that is reached from its owner by
// a path of ungrouped hard edges only; entries without it kill the owner
// only through redundancy-group counting (a common-mode failure).
const plainBit = 1 << 31

// Analysis is the result of Analyze: per-node high-water categories and
// single-failure criticality, per-service kill sets, and cycles. It is
// immutable and safe for concurrent use.
type Analysis struct {
	g *Graph

	cat     []bulwark.Category // high-water mark flowing down from services
	popLost []int64            // people served by the services node x's failure fails
	nLost   []int32            // services node x's failure fails
	nDeg    []int32            // services node x's failure degrades (without failing)

	services []int32 // service node ids, in ID order
	svcIdx   []int32 // node -> index in services, or -1
	// kill[i] is K(services[i]): the nodes whose single failure fails the
	// service, sorted by node id, each with plainBit when it is reached by
	// ungrouped hard edges. degr[i] is the set of nodes whose failure
	// degrades the service without failing it, sorted.
	kill [][]uint32
	degr [][]int32

	cycles [][]int32 // SCCs of size > 1 and self-loops, members sorted
}

// Analyze runs every analysis on g: the FIPS 199 high-water mark of each
// node, the exact single-failure kill set of each service (honouring k-of-n
// groups and common-mode failures, see docs/graph-analysis.md), per-node
// services and population lost and services degraded, and cycles. It runs
// in time linear in the graph plus the total size of the kill sets, which is
// what the answer itself contains.
func Analyze(g *Graph) *Analysis {
	n := g.Len()
	a := &Analysis{
		g:       g,
		popLost: make([]int64, n),
		nLost:   make([]int32, n),
		nDeg:    make([]int32, n),
		svcIdx:  make([]int32, n),
	}
	for x := range n {
		a.svcIdx[x] = -1
		if g.kinds[x] == bulwark.KindService {
			a.svcIdx[x] = int32(len(a.services))
			a.services = append(a.services, int32(x))
		}
	}
	sccNodes, sccOff, comp := g.scc()
	a.cat = g.highWater(sccNodes, sccOff, comp)
	a.cycles = g.cycles(sccNodes, sccOff)

	s := newSolver(g, a.services)
	s.run(sccNodes, sccOff, comp)

	a.kill = make([][]uint32, len(a.services))
	a.degr = make([][]int32, len(a.services))
	sorter := newSetSorter(n)
	for i, x := range a.services {
		k := s.kset[x]
		if k == nil {
			k = []uint32{uint32(x) | plainBit}
		}
		a.kill[i] = sorter.sortK(k)
		a.degr[i] = sorter.sortD(s.dset[x])
		pop := g.pop[x]
		for _, v := range a.kill[i] {
			v &^= plainBit
			a.popLost[v] += pop
			a.nLost[v]++
		}
		for _, v := range a.degr[i] {
			a.nDeg[v]++
		}
	}
	return a
}

// scc finds the strongly connected components of g with an iterative
// version of Tarjan's algorithm (no recursion, so a million-node chain is
// fine). Components are emitted in reverse topological order of the
// condensation: every component comes after all components it depends on.
// sccNodes lists the members of component c at sccOff[c]..sccOff[c+1], the
// most recently discovered (deepest) first; comp maps node to component.
func (g *Graph) scc() (sccNodes, sccOff, comp []int32) {
	return g.tarjan(nil, nil)
}

// tarjan is Tarjan's algorithm from the given roots (nil: every node),
// following only the edges e of x for which follow(x, e) holds (nil: all).
func (g *Graph) tarjan(roots []int32, follow func(x, e int32) bool) (sccNodes, sccOff, comp []int32) {
	n := g.Len()
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	comp = make([]int32, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int32
	type frame struct{ v, e int32 }
	var frames []frame
	var counter int32
	if roots == nil {
		roots = make([]int32, n)
		for i := range roots {
			roots[i] = int32(i)
		}
	}
	sccNodes = make([]int32, 0, len(roots))
	sccOff = append(make([]int32, 0, 64), 0)
	for _, r := range roots {
		if index[r] >= 0 {
			continue
		}
		index[r], low[r] = counter, counter
		counter++
		stack = append(stack, r)
		onStack[r] = true
		frames = append(frames, frame{r, g.off[r]})
		for len(frames) > 0 {
			f := &frames[len(frames)-1]
			v := f.v
			if f.e < g.off[v+1] {
				w := g.to[f.e]
				f.e++
				if follow != nil && !follow(v, f.e-1) {
					continue
				}
				if index[w] < 0 {
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					frames = append(frames, frame{w, g.off[w]})
				} else if onStack[w] {
					low[v] = min(low[v], index[w])
				}
				continue
			}
			frames = frames[:len(frames)-1]
			if low[v] == index[v] {
				c := int32(len(sccOff) - 1)
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = c
					sccNodes = append(sccNodes, w)
					if w == v {
						break
					}
				}
				sccOff = append(sccOff, int32(len(sccNodes)))
			}
			if len(frames) > 0 {
				p := frames[len(frames)-1].v
				low[p] = min(low[p], low[v])
			}
		}
	}
	return sccNodes, sccOff, comp
}

// highWater computes each node's FIPS 199 high-water mark: per objective,
// the maximum declared category of every service that depends on it,
// directly or transitively, through hard or soft edges (a service counts
// itself). Components are visited dependents-first; the members of a cycle
// share one mark.
func (g *Graph) highWater(sccNodes, sccOff, comp []int32) []bulwark.Category {
	eff := make([]bulwark.Category, g.Len())
	for x, k := range g.kinds {
		if k == bulwark.KindService {
			eff[x] = g.cat[x]
		}
	}
	for c := len(sccOff) - 2; c >= 0; c-- {
		members := sccNodes[sccOff[c]:sccOff[c+1]]
		m := eff[members[0]]
		for _, x := range members[1:] {
			m = m.Max(eff[x])
		}
		for _, x := range members {
			eff[x] = m
			for e := g.off[x]; e < g.off[x+1]; e++ {
				if y := g.to[e]; comp[y] != int32(c) {
					eff[y] = eff[y].Max(m)
				}
			}
		}
	}
	return eff
}

// cycles lists the components that are cycles: more than one member, or
// one member that depends on itself. Members and cycles are sorted by ID.
func (g *Graph) cycles(sccNodes, sccOff []int32) [][]int32 {
	var out [][]int32
	for c := 0; c+1 < len(sccOff); c++ {
		members := sccNodes[sccOff[c]:sccOff[c+1]]
		if len(members) == 1 && !g.selfLoop(members[0]) {
			continue
		}
		cy := slices.Clone(members)
		slices.Sort(cy)
		out = append(out, cy)
	}
	slices.SortFunc(out, func(a, b []int32) int { return int(a[0]) - int(b[0]) })
	return out
}

func (g *Graph) selfLoop(x int32) bool {
	for e := g.off[x]; e < g.off[x+1]; e++ {
		if g.to[e] == x {
			return true
		}
	}
	return false
}

// solver computes kill sets K(x) (the nodes whose single failure fails x)
// and degrade sets D(x) (the nodes whose single failure degrades x without
// failing it) for every node some service depends on, children before
// parents, freeing a child's sets once all its parents are done.
type solver struct {
	g        *Graph
	services []int32
	relevant []bool  // some service depends on the node (or it is one)
	pending  []int32 // parents in other components not yet computed
	kset     [][]uint32
	dset     [][]int32
	done     []bool
	comp     []int32 // strongly connected component of each node
	unit     []int32 // hard component, for nodes in cyclic components

	mark    []uint32 // mark[v] == epoch: v is in the set being built
	pos     []int32  // position of v in kbuf (K entries only)
	epoch   uint32
	cnt     []int32 // group counting scratch, zero between uses
	touched []int32
	kbuf    []uint32
	dbuf    []int32
}

func newSolver(g *Graph, services []int32) *solver {
	n := g.Len()
	return &solver{
		g: g, services: services,
		relevant: make([]bool, n), pending: make([]int32, n),
		kset: make([][]uint32, n), dset: make([][]int32, n), done: make([]bool, n),
		mark: make([]uint32, n), pos: make([]int32, n), cnt: make([]int32, n),
	}
}

func (s *solver) run(sccNodes, sccOff, comp []int32) {
	g := s.g
	s.comp = comp
	// Only nodes some service depends on matter.
	queue := slices.Clone(s.services)
	for _, x := range queue {
		s.relevant[x] = true
	}
	for len(queue) > 0 {
		x := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for e := g.off[x]; e < g.off[x+1]; e++ {
			y := g.to[e]
			if comp[y] != comp[x] {
				s.pending[y]++
			}
			if !s.relevant[y] {
				s.relevant[y] = true
				queue = append(queue, y)
			}
		}
	}

	// Inside cyclic components, the nodes that reach each other through
	// ungrouped hard edges have one and the same kill set (each is a plain
	// dependency of the others): solve each such hard component as a unit,
	// so that even a huge hard cycle costs linear time.
	var cyclic []int32
	for c := 0; c+1 < len(sccOff); c++ {
		members := sccNodes[sccOff[c]:sccOff[c+1]]
		if s.relevant[members[0]] && (len(members) > 1 || g.selfLoop(members[0])) {
			cyclic = append(cyclic, members...)
		}
	}
	units := map[int32][][]int32{}
	if len(cyclic) > 0 {
		var hn, hoff []int32
		hn, hoff, s.unit = g.tarjan(cyclic, func(x, e int32) bool {
			return !g.soft[e] && g.group[e] == noGroup && comp[g.to[e]] == comp[x]
		})
		for u := 0; u+1 < len(hoff); u++ {
			m := hn[hoff[u]:hoff[u+1]]
			units[comp[m[0]]] = append(units[comp[m[0]]], m)
		}
	}

	for c := 0; c+1 < len(sccOff); c++ {
		members := sccNodes[sccOff[c]:sccOff[c+1]]
		if !s.relevant[members[0]] {
			continue
		}
		if us, ok := units[int32(c)]; !ok {
			s.compute(members)
		} else {
			// Kleene iteration from K(x) = {x}, D(x) = {}: the sets only
			// grow, so this reaches the least fixpoint (see the docs).
			for changed := true; changed; {
				changed = false
				for _, u := range us {
					x := u[0]
					k0, p0, d0 := len(s.kOf(x)), plainCount(s.kOf(x)), len(s.dset[x])
					s.compute(u)
					if len(s.kOf(x)) != k0 || plainCount(s.kOf(x)) != p0 || len(s.dset[x]) != d0 {
						changed = true
					}
				}
			}
		}
		for _, x := range members {
			s.done[x] = true
		}
		// Release children (and members) no longer needed by anyone.
		for _, x := range members {
			for e := g.off[x]; e < g.off[x+1]; e++ {
				if y := g.to[e]; comp[y] != int32(c) {
					s.pending[y]--
					s.release(y)
				}
			}
		}
		for _, x := range members {
			s.release(x)
		}
	}
}

func (s *solver) release(y int32) {
	if s.pending[y] == 0 && s.done[y] && s.g.kinds[y] != bulwark.KindService {
		s.kset[y], s.dset[y] = nil, nil
	}
}

// kOf returns K(x); nil in kset means the trivial set {x}.
func (s *solver) kOf(x int32) []uint32 {
	if k := s.kset[x]; k != nil {
		return k
	}
	return []uint32{uint32(x) | plainBit}
}

func plainCount(k []uint32) int {
	c := 0
	for _, v := range k {
		if v&plainBit != 0 {
			c++
		}
	}
	return c
}

func (s *solver) addK(v uint32) {
	id := v &^ plainBit
	if s.mark[id] == s.epoch {
		if v&plainBit != 0 {
			s.kbuf[s.pos[id]] |= plainBit
		}
		return
	}
	s.mark[id] = s.epoch
	s.pos[id] = int32(len(s.kbuf))
	s.kbuf = append(s.kbuf, v)
}

func (s *solver) addD(id int32) {
	if s.mark[id] == s.epoch {
		return
	}
	s.mark[id] = s.epoch
	s.dbuf = append(s.dbuf, id)
}

// count adds one to the counter of every node of K(y).
func (s *solver) count(y int32) {
	if k := s.kset[y]; k != nil {
		for _, v := range k {
			s.bump(int32(v &^ plainBit))
		}
		return
	}
	s.bump(y)
}

func (s *solver) bump(v int32) {
	if s.cnt[v] == 0 {
		s.touched = append(s.touched, v)
	}
	s.cnt[v]++
}

// compute sets K(x) and D(x) for the nodes x of unit, which all share one
// kill set (a single node, or nodes that reach each other through
// ungrouped hard edges), from the current sets of their dependencies:
//
//	K(x) = {x} ∪ ⋃ K(y) over ungrouped hard edges x→y
//	       ∪ {v : v ∈ K(m) for more than n-k members m of a hard group}
//	D(x) = (⋃ K(y) ∪ D(y) over ungrouped edges x→y of either kind
//	       ∪ {v : quorum lost in an all-soft group}) \ K(x)
func (s *solver) compute(unit []int32) {
	g := s.g
	s.epoch++
	if s.epoch == 0 { // wrapped: clear stale marks
		clear(s.mark)
		s.epoch = 1
	}
	s.kbuf = s.kbuf[:0]
	s.dbuf = s.dbuf[:0]
	for _, x := range unit {
		s.addK(uint32(x) | plainBit)
	}
	// An ungrouped edge inside the unit adds nothing (the target's sets are
	// the unit's own) and would cost the whole set: skip it.
	cyclic := len(unit) > 1 || s.unit != nil && g.selfLoop(unit[0])
	inside := func(y int32) bool {
		return cyclic && s.comp[y] == s.comp[unit[0]] && s.unit[y] == s.unit[unit[0]]
	}
	for _, x := range unit {
		lo, hi := g.off[x], g.off[x+1]
		ug := lo // end of the ungrouped edges
		for ug < hi && g.group[ug] == noGroup {
			if !g.soft[ug] && !inside(g.to[ug]) {
				y := g.to[ug]
				if k := s.kset[y]; k != nil {
					for _, v := range k {
						s.addK(v)
					}
				} else {
					s.addK(uint32(y) | plainBit)
				}
			}
			ug++
		}
		s.groups(ug, hi, true)
	}
	// Degradation, after K is complete so that D excludes it.
	for _, x := range unit {
		lo, hi := g.off[x], g.off[x+1]
		ug := lo
		for ; ug < hi && g.group[ug] == noGroup; ug++ {
			y := g.to[ug]
			if inside(y) {
				continue
			}
			if g.soft[ug] {
				if k := s.kset[y]; k != nil {
					for _, v := range k {
						s.addD(int32(v &^ plainBit))
					}
				} else {
					s.addD(y)
				}
			}
			for _, v := range s.dset[y] {
				s.addD(v)
			}
		}
		s.groups(ug, hi, false)
	}

	var k []uint32
	var d []int32
	if len(s.kbuf) > 1 {
		k = slices.Clone(s.kbuf)
	}
	if len(s.dbuf) > 0 {
		d = slices.Clone(s.dbuf)
	}
	for _, x := range unit {
		s.kset[x], s.dset[x] = k, d
	}
}

// groups handles the redundancy groups among edges lo..hi (grouped edges,
// contiguous per group): a node v whose failure fails more than n-k members
// breaks the group. Hard groups feed K, all-soft groups feed D.
func (s *solver) groups(lo, hi int32, hard bool) {
	g := s.g
	for e := lo; e < hi; {
		gi := g.group[e]
		end := e
		for end < hi && g.group[end] == gi {
			end++
		}
		if g.groupHard[gi] == hard {
			for i := e; i < end; i++ {
				s.count(g.to[i])
			}
			threshold := g.groupSize[gi] - g.groupNeed[gi] + 1
			for _, v := range s.touched {
				if s.cnt[v] >= threshold {
					if hard {
						s.addK(uint32(v))
					} else {
						s.addD(v)
					}
				}
				s.cnt[v] = 0
			}
			s.touched = s.touched[:0]
		}
		e = end
	}
}

// setSorter sorts node sets by node id, by a bitmap scan when the set is a
// large share of the graph and by comparison otherwise.
type setSorter struct {
	bits, plain []uint64
}

func newSetSorter(n int) *setSorter {
	w := (n + 63) / 64
	return &setSorter{bits: make([]uint64, w), plain: make([]uint64, w)}
}

func (t *setSorter) sortK(k []uint32) []uint32 {
	if len(k)*64 < len(t.bits) {
		out := slices.Clone(k)
		slices.SortFunc(out, func(a, b uint32) int { return int(a&^plainBit) - int(b&^plainBit) })
		return out
	}
	for _, v := range k {
		id := v &^ plainBit
		t.bits[id/64] |= 1 << (id % 64)
		if v&plainBit != 0 {
			t.plain[id/64] |= 1 << (id % 64)
		}
	}
	out := make([]uint32, 0, len(k))
	for w, word := range t.bits {
		if word == 0 {
			continue
		}
		p := t.plain[w]
		for word != 0 {
			b := bits.TrailingZeros64(word)
			v := uint32(w*64 + b)
			if p&(1<<b) != 0 {
				v |= plainBit
			}
			out = append(out, v)
			word &= word - 1
		}
		t.bits[w], t.plain[w] = 0, 0
	}
	return out
}

func (t *setSorter) sortD(d []int32) []int32 {
	if len(d)*64 < len(t.bits) {
		out := slices.Clone(d)
		slices.Sort(out)
		return out
	}
	for _, v := range d {
		t.bits[v/64] |= 1 << (v % 64)
	}
	out := make([]int32, 0, len(d))
	for w, word := range t.bits {
		for word != 0 {
			out = append(out, int32(w*64+bits.TrailingZeros64(word)))
			word &= word - 1
		}
		t.bits[w] = 0
	}
	return out
}
