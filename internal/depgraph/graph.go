// Package depgraph holds the city's dependency graph in a compact in-memory
// form and the algorithms that run on it: FIPS 199 high-water marks flowing
// down from services, single-failure criticality flowing up (services and
// people lost, services degraded, single points of failure honouring k-of-n
// redundancy and common-mode failures), and cycle detection.
//
// A graph is compiled once from bulwark.GraphData (what stores return) into
// dense int32 node ids, assigned in ID order, with CSR adjacency arrays for
// forward ("depends on") and reverse edges. Every algorithm is iterative, so
// a graph of millions of nodes never exhausts the goroutine stack. See
// docs/graph-analysis.md for the algorithms and a worked example.
package depgraph

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"bulwark"
)

// noGroup marks an edge that belongs to no redundancy group.
const noGroup = -1

// maxProblems caps the problems listed in one Compile error; a hostile or
// broken input can have millions of them.
const maxProblems = 100

// Graph is a compiled dependency graph. Node ids are dense (0..Len()-1) and
// follow the lexical order of the entity IDs, so iterating ids is iterating
// IDs in order and every result is deterministic. A Graph is immutable and
// safe for concurrent use.
type Graph struct {
	ids    []string
	names  []string
	owners []string
	kinds  []bulwark.NodeKind
	pop    []int64
	cat    []bulwark.Category
	count  []int64

	// Forward edges of node x are off[x]..off[x+1]: x depends on to[e].
	// Within a node, ungrouped edges come first, then each group's members
	// contiguously (sorted by group index, then target).
	off   []int32
	to    []int32
	soft  []bool  // edge kind: soft (degrades) rather than hard (fails)
	group []int32 // group index of the edge, or noGroup

	// Reverse edges of node y are roff[y]..roff[y+1]: redge[i] is the index
	// of a forward edge ending at y.
	roff  []int32
	redge []int32

	// Redundancy groups: groupOwner[g] needs groupNeed[g] of groupSize[g]
	// member edges. A group whose members are all soft only degrades.
	groupOwner []int32
	groupID    []string
	groupNeed  []int32
	groupSize  []int32
	groupHard  []bool
}

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.ids) }

// Lookup returns the dense id of the node with the given entity ID. Ids
// follow ID order, so this is a binary search rather than a map that would
// cost a million string hashes to build.
func (g *Graph) Lookup(id string) (int32, bool) {
	x, ok := slices.BinarySearch(g.ids, id)
	return int32(x), ok
}

// ID returns the entity ID of node x.
func (g *Graph) ID(x int32) string { return g.ids[x] }

// Kind returns the kind of node x.
func (g *Graph) Kind(x int32) bulwark.NodeKind { return g.kinds[x] }

// NumEdges is the number of dependency edges.
func (g *Graph) NumEdges() int { return len(g.to) }

// problems collects located validation problems up to maxProblems.
type problems struct {
	list  []bulwark.Problem
	extra int
}

func (p *problems) add(field, format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.extra++
		return
	}
	p.list = append(p.list, bulwark.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	if p.extra > 0 {
		p.list = append(p.list, bulwark.Problem{Message: fmt.Sprintf("and %d more problems", p.extra)})
	}
	return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid dependency graph", Details: p.list}
}

// Compile validates d and builds the compact graph. Every problem found is
// reported in one *bulwark.Error (EINVALID): bad or duplicate refs and IDs,
// unknown kinds or levels, edges to unknown nodes, duplicate edges, edges
// naming undeclared groups, groups whose need is not within 1..members.
// Self-loops are accepted: Analyze reports them as cycles.
func Compile(d *bulwark.GraphData) (*Graph, error) {
	if d == nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "invalid dependency graph: no data")
	}
	if len(d.Nodes) > math.MaxInt32-1 || len(d.Edges) > math.MaxInt32-1 || len(d.Groups) > math.MaxInt32-1 {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "dependency graph too large: %d nodes, %d edges, %d groups (limit %d each)",
			len(d.Nodes), len(d.Edges), len(d.Groups), math.MaxInt32-1)
	}
	var p problems

	// Dense ids follow ID order; stores usually return nodes sorted, or as
	// a few sorted runs. inv[i] is the dense id of input node i (nil: the
	// input is sorted and ids are input positions).
	n := len(d.Nodes)
	var inv, order []int32
	dupSuspect := false
	if !slices.IsSortedFunc(d.Nodes, func(a, b bulwark.GraphNode) int { return strings.Compare(a.ID, b.ID) }) {
		order, dupSuspect = sortByID(d.Nodes)
		inv = make([]int32, n)
		for x, i := range order {
			inv[i] = int32(x)
		}
	}
	g := &Graph{
		ids:    make([]string, n),
		names:  make([]string, n),
		owners: make([]string, n),
		kinds:  make([]bulwark.NodeKind, n),
		pop:    make([]int64, n),
		cat:    make([]bulwark.Category, n),
		count:  make([]int64, n),
	}
	refs := newRefIndex(d.Nodes)
	// Validate in input order (sequential memory, problems in input order)
	// and scatter each node to its dense id.
	for i := range d.Nodes {
		nd := &d.Nodes[i]
		x := int32(i)
		if inv != nil {
			x = inv[i]
		}
		if !bulwark.ValidID(nd.ID) {
			p.add(at("nodes", i, "id"), "invalid ID %s", quote(nd.ID))
		} else if inv == nil && i > 0 && d.Nodes[i-1].ID == nd.ID {
			p.add(at("nodes", i, "id"), "duplicate ID %q", nd.ID)
		}
		if nd.Ref < 1 {
			p.add(at("nodes", i, "ref"), "ref %d of %s is not positive", nd.Ref, quote(nd.ID))
		} else if !refs.set(nd.Ref, x) {
			p.add(at("nodes", i, "ref"), "duplicate ref %d (%s)", nd.Ref, quote(nd.ID))
		}
		if nd.Kind < bulwark.KindService || nd.Kind > bulwark.KindAsset {
			p.add(at("nodes", i, "kind"), "node %s has unknown kind %d", quote(nd.ID), nd.Kind)
		}
		if nd.Population < 0 {
			p.add(at("nodes", i, "population"), "node %s has negative population %d", quote(nd.ID), nd.Population)
		}
		if nd.Count < 0 {
			p.add(at("nodes", i, "count"), "node %s has negative count %d", quote(nd.ID), nd.Count)
		}
		c := nd.Category
		if c.Confidentiality > bulwark.LevelHigh || c.Integrity > bulwark.LevelHigh || c.Availability > bulwark.LevelHigh {
			p.add(at("nodes", i, "category"), "node %s has an invalid impact level", quote(nd.ID))
		}
		g.ids[x], g.names[x], g.owners[x], g.kinds[x] = nd.ID, nd.Name, nd.Owner, nd.Kind
		g.pop[x], g.cat[x], g.count[x] = nd.Population, nd.Category, nd.Count
	}
	if dupSuspect { // the sort saw equal IDs: name them
		for x := 1; x < n; x++ {
			if g.ids[x] == g.ids[x-1] && bulwark.ValidID(g.ids[x]) {
				p.add(at("nodes", int(order[x]), "id"), "duplicate ID %q", g.ids[x])
			}
		}
	}

	// Groups, keyed by owner and group ID.
	type gkey struct {
		owner int32
		id    string
	}
	groups := make(map[gkey]int32, len(d.Groups))
	for i, gr := range d.Groups {
		owner, ok := refs.get(gr.Owner)
		if !ok {
			p.add(at("groups", i, "owner"), "group %s belongs to unknown node ref %d", quote(gr.ID), gr.Owner)
			continue
		}
		if gr.ID == "" {
			p.add(at("groups", i, "id"), "group of %q has an empty ID", g.ids[owner])
			continue
		}
		k := gkey{owner, gr.ID}
		if _, dup := groups[k]; dup {
			p.add(at("groups", i, "id"), "duplicate group %q of %q", gr.ID, g.ids[owner])
			continue
		}
		groups[k] = int32(len(g.groupOwner))
		g.groupOwner = append(g.groupOwner, owner)
		g.groupID = append(g.groupID, gr.ID)
		g.groupNeed = append(g.groupNeed, int32(min(max(gr.Need, math.MinInt32), math.MaxInt32)))
	}
	ng := len(g.groupOwner)
	g.groupSize = make([]int32, ng)
	g.groupHard = make([]bool, ng)

	// Edges: resolve, then bucket by source (counting sort into CSR).
	type edge struct {
		from, to, group int32
		soft            bool
	}
	edges := make([]edge, 0, len(d.Edges))
	for i, e := range d.Edges {
		from, okf := refs.get(e.From)
		to, okt := refs.get(e.To)
		if !okf {
			p.add(at("edges", i, "from"), "edge from unknown node ref %d", e.From)
		}
		if !okt {
			if okf {
				p.add(at("edges", i, "to"), "dependency of %q on unknown node ref %d", g.ids[from], e.To)
			} else {
				p.add(at("edges", i, "to"), "edge to unknown node ref %d", e.To)
			}
		}
		soft := false
		switch e.Kind {
		case bulwark.Hard, "":
		case bulwark.Soft:
			soft = true
		default:
			p.add(at("edges", i, "kind"), "edge has unknown kind %s", quote(string(e.Kind)))
		}
		if !okf || !okt {
			continue
		}
		grp := int32(noGroup)
		if e.Group != "" {
			gi, ok := groups[gkey{from, e.Group}]
			if !ok {
				p.add(at("edges", i, "group"), "dependency of %q on %q names group %s, which %q does not declare",
					g.ids[from], g.ids[to], quote(e.Group), g.ids[from])
				continue
			}
			grp = gi
			g.groupSize[gi]++
			if !soft {
				g.groupHard[gi] = true
			}
		}
		edges = append(edges, edge{from, to, grp, soft})
	}
	for gi := range ng {
		if need, size := g.groupNeed[gi], g.groupSize[gi]; need < 1 || need > size {
			p.add("groups", "group %q of %q needs %d of its %d members; need must be between 1 and the number of members",
				g.groupID[gi], g.ids[g.groupOwner[gi]], need, size)
		}
	}

	g.off = make([]int32, n+1)
	for _, e := range edges {
		g.off[e.from+1]++
	}
	for x := range n {
		g.off[x+1] += g.off[x]
	}
	m := len(edges)
	g.to = make([]int32, m)
	g.soft = make([]bool, m)
	g.group = make([]int32, m)
	next := slices.Clone(g.off[:n])
	for _, e := range edges {
		i := next[e.from]
		next[e.from]++
		g.to[i], g.soft[i], g.group[i] = e.to, e.soft, e.group
	}
	// Sort each node's edges (ungrouped first, then by group and target)
	// and reject duplicates: the same dependent naming a target twice.
	seen := make([]int32, n) // seen[y] == x+1: x already has an edge to y
	type span struct {
		to, group int32
		soft      bool
	}
	var buf []span
	for x := range n {
		lo, hi := g.off[x], g.off[x+1]
		for i := lo; i < hi; i++ {
			y := g.to[i]
			if seen[y] == int32(x)+1 {
				p.add("edges", "duplicate dependency of %q on %q", g.ids[x], g.ids[y])
			}
			seen[y] = int32(x) + 1
		}
		if hi-lo < 2 {
			continue
		}
		buf = buf[:0]
		for i := lo; i < hi; i++ {
			buf = append(buf, span{g.to[i], g.group[i], g.soft[i]})
		}
		slices.SortFunc(buf, func(a, b span) int {
			return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.to, b.to))
		})
		for j, s := range buf {
			i := lo + int32(j)
			g.to[i], g.group[i], g.soft[i] = s.to, s.group, s.soft
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}

	// Reverse CSR.
	g.roff = make([]int32, n+1)
	for _, y := range g.to {
		g.roff[y+1]++
	}
	for y := range n {
		g.roff[y+1] += g.roff[y]
	}
	g.redge = make([]int32, m)
	copy(next, g.roff[:n])
	for e, y := range g.to {
		g.redge[next[y]] = int32(e)
		next[y]++
	}
	return g, nil
}

// sortByID returns the node indexes in ID order. Stores typically return
// nodes as a few sorted runs (services, systems, assets, each by ID), so
// runs are found and merged pairwise: O(n log runs) string comparisons. With
// too many runs it falls back to a comparison sort.
func sortByID(nodes []bulwark.GraphNode) (order []int32, dup bool) {
	pairs := make([]pair, len(nodes))
	runs := []int{0}
	for i := range nodes {
		pairs[i] = pair{nodes[i].ID, int32(i)}
		if i > 0 {
			if c := strings.Compare(nodes[i].ID, nodes[i-1].ID); c < 0 {
				runs = append(runs, i)
			} else if c == 0 {
				dup = true
			}
		}
	}
	runs = append(runs, len(nodes))
	if len(runs) > 65 {
		multikeySort(pairs, 0, &dup)
	} else {
		buf := make([]pair, len(pairs))
		for len(runs) > 2 {
			merged := []int{0}
			for r := 0; r+1 < len(runs); r += 2 {
				lo, mid := runs[r], runs[r+1]
				hi := mid
				if r+2 < len(runs) {
					hi = runs[r+2]
				}
				i, j, k := lo, mid, lo
				for i < mid && j < hi {
					if c := strings.Compare(pairs[j].id, pairs[i].id); c < 0 {
						buf[k] = pairs[j]
						j++
					} else {
						dup = dup || c == 0
						buf[k] = pairs[i]
						i++
					}
					k++
				}
				k += copy(buf[k:], pairs[i:mid])
				copy(buf[k:], pairs[j:hi])
				merged = append(merged, hi)
			}
			pairs, buf = buf, pairs
			runs = merged
		}
	}
	order = make([]int32, len(pairs))
	for x, p := range pairs {
		order[x] = p.i
	}
	return order, dup
}

// pair is a node's ID and its index in the input.
type pair struct {
	id string
	i  int32
}

// multikeySort sorts pairs by id, all of which share their first d bytes,
// with Bentley and Sedgewick's multikey quicksort: it partitions on one
// byte at a time, so the long prefixes IDs share ("asset-000…") are
// compared once, not in every comparison. It sets *dup if two IDs are equal.
func multikeySort(a []pair, d int, dup *bool) {
	for len(a) > 1 {
		if len(a) < 12 {
			for i := 1; i < len(a); i++ {
				for j := i; j > 0 && a[j].id[d:] < a[j-1].id[d:]; j-- {
					a[j], a[j-1] = a[j-1], a[j]
				}
			}
			for i := 1; i < len(a); i++ {
				if a[i].id == a[i-1].id {
					*dup = true
				}
			}
			return
		}
		p := median3(byteAt(a[0].id, d), byteAt(a[len(a)/2].id, d), byteAt(a[len(a)-1].id, d))
		lt, i, gt := 0, 0, len(a)
		for i < gt {
			switch c := byteAt(a[i].id, d); {
			case c < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case c > p:
				gt--
				a[gt], a[i] = a[i], a[gt]
			default:
				i++
			}
		}
		// Recurse into the smaller outer part, loop on the rest.
		multikeySort(a[:lt], d, dup)
		multikeySort(a[gt:], d, dup)
		if p < 0 {
			// The middle part are equal strings that ended at d.
			*dup = *dup || gt-lt > 1
			return
		}
		a, d = a[lt:gt], d+1
	}
}

// byteAt is s[d], or -1 past the end of s.
func byteAt(s string, d int) int {
	if d < len(s) {
		return int(s[d])
	}
	return -1
}

func median3(a, b, c int) int {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}

// refIndex maps store refs to dense ids: a slice when the refs are
// reasonably dense (store keys and FromCity's 1..n are), a map otherwise.
type refIndex struct {
	dense []int32 // dense[ref] = id+1, 0 = absent
	m     map[int64]int32
}

func newRefIndex(nodes []bulwark.GraphNode) *refIndex {
	var hi int64
	for _, n := range nodes {
		hi = max(hi, n.Ref)
	}
	if hi <= 4*int64(len(nodes))+1024 {
		return &refIndex{dense: make([]int32, hi+1)}
	}
	return &refIndex{m: make(map[int64]int32, len(nodes))}
}

// set records ref -> x; it reports false if ref is already taken.
func (r *refIndex) set(ref int64, x int32) bool {
	if r.m != nil {
		if _, dup := r.m[ref]; dup {
			return false
		}
		r.m[ref] = x
		return true
	}
	if r.dense[ref] != 0 {
		return false
	}
	r.dense[ref] = x + 1
	return true
}

func (r *refIndex) get(ref int64) (int32, bool) {
	if r.m != nil {
		x, ok := r.m[ref]
		return x, ok
	}
	if ref < 0 || ref >= int64(len(r.dense)) || r.dense[ref] == 0 {
		return 0, false
	}
	return r.dense[ref] - 1, true
}

// at names a field of the i-th element of a GraphData list, for problems.
func at[I int | int32](list string, i I, field string) string {
	return fmt.Sprintf("%s[%d].%s", list, i, field)
}

// quote renders a possibly hostile string for an error message, shortened.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// FromCity converts an in-memory city model into GraphData with Refs 1..n
// (services, then systems, then assets, each in input order). A dependency
// on an ID absent from c gets To = 0, which Compile rejects: FromCity does
// not validate, Compile does.
func FromCity(c *bulwark.City) *bulwark.GraphData {
	d := &bulwark.GraphData{}
	if c == nil {
		return d
	}
	refs := make(map[string]int64, len(c.Services)+len(c.Systems)+len(c.Assets))
	node := func(n bulwark.GraphNode) {
		n.Ref = int64(len(d.Nodes) + 1)
		if _, dup := refs[n.ID]; !dup {
			refs[n.ID] = n.Ref
		}
		d.Nodes = append(d.Nodes, n)
	}
	for _, s := range c.Services {
		node(bulwark.GraphNode{ID: s.ID, Kind: bulwark.KindService, Owner: s.Owner, Name: s.Name, Population: s.Population, Category: s.Category})
	}
	for _, s := range c.Systems {
		node(bulwark.GraphNode{ID: s.ID, Kind: bulwark.KindSystem, Owner: s.Owner, Name: s.Name})
	}
	for _, a := range c.Assets {
		cnt := a.Count
		if cnt == 0 {
			cnt = 1
		}
		node(bulwark.GraphNode{ID: a.ID, Kind: bulwark.KindAsset, Owner: a.Owner, Name: a.Name, Count: cnt})
	}
	deps := func(from string, list []bulwark.Dependency, groups []bulwark.Group) {
		f := refs[from]
		for _, gr := range groups {
			d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: f, ID: gr.ID, Need: gr.Need})
		}
		for _, dep := range list {
			d.Edges = append(d.Edges, bulwark.GraphEdge{From: f, To: refs[dep.On], Kind: kindOrHard(dep.Kind), Group: dep.Group})
		}
	}
	for _, s := range c.Services {
		deps(s.ID, s.DependsOn, s.Groups)
	}
	for _, s := range c.Systems {
		deps(s.ID, s.DependsOn, s.Groups)
	}
	for _, a := range c.Assets {
		deps(a.ID, a.DependsOn, nil)
		if a.System != "" {
			d.Edges = append(d.Edges, bulwark.GraphEdge{From: refs[a.System], To: refs[a.ID], Kind: kindOrHard(a.SystemDependency), Group: a.SystemGroup})
		}
	}
	return d
}

func kindOrHard(k bulwark.DepKind) bulwark.DepKind {
	if k == "" {
		return bulwark.Hard
	}
	return k
}
