// Package sim is Bulwark's cascade and recovery simulation: a
// discrete-event engine that fails nodes of a compiled dependency graph
// (depgraph.Graph) under a Scenario of initial events, spreads failure
// along hard dependencies honouring k-of-n redundancy groups exactly as
// depgraph's static analysis does, restores hit nodes with limited crews
// in priority order, and measures service downtime against targets. Run
// repeats trials (Monte Carlo) with draws that depend only on (seed,
// trial), so results are bit-identical whatever the worker count; Compare
// ranks investment options on common random numbers. See
// docs/simulation.md.
package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"bulwark"
	"bulwark/internal/depgraph"
)

// Recovery says how a directly hit node is restored: a restore-time
// distribution with and without usable backups, and the crew skill it
// needs (crews belong to the node's owner).
type Recovery struct {
	Restore          Dist   `json:"restore" yaml:"restore"`
	RestoreNoBackups Dist   `json:"restore_no_backups" yaml:"restore_no_backups"`
	Backups          bool   `json:"backups" yaml:"backups"`
	Skill            string `json:"skill,omitempty" yaml:"skill,omitempty"`
}

// time returns the distribution that applies; lost says the event also
// destroyed backups.
func (r *Recovery) time(lost bool) Dist {
	if r.Backups && !lost {
		return r.Restore
	}
	return r.RestoreNoBackups
}

// RecoveryFrom turns a system's declared recovery into a Recovery:
// triangular(½·t, t, 2·t) around each declared restore time (restores run
// late more often than early), backups assumed present when a restore time
// with backups is declared. A missing time falls back to the other; both
// missing gives def's times.
func RecoveryFrom(r bulwark.Recovery, def Recovery) Recovery {
	tri := func(d time.Duration) Dist { h := d.Hours(); return Triangular(h/2, h, 2*h) }
	out := def
	if r.CrewSkill != "" {
		out.Skill = r.CrewSkill
	}
	with, without := r.RestoreTime, r.RestoreTimeNoBackups
	if with == 0 && without == 0 {
		return out
	}
	if without == 0 {
		without = with
	}
	out.RestoreNoBackups = tri(without)
	out.Backups = with > 0
	if with > 0 {
		out.Restore = tri(with)
	}
	return out
}

// Targets are a service's resilience targets, in hours (0: none).
type Targets struct {
	RTO float64 `json:"rto_h,omitempty" yaml:"rto_h,omitempty"`
	MTD float64 `json:"mtd_h,omitempty" yaml:"mtd_h,omitempty"`
}

// Crew sets the number of crews of one skill that one owner has.
type Crew struct {
	Owner string `json:"owner" yaml:"owner"`
	Skill string `json:"skill" yaml:"skill"`
	Count int    `json:"count" yaml:"count"`
}

// Config is everything besides the graph that the engine needs. Per-node
// recovery is given compactly: Profiles, a NodeProfile index per node (nil:
// every node uses profile 0), and NodeRecovery overriding single nodes by
// ID (investment options write there).
type Config struct {
	Profiles     []Recovery          // at least one; profile 0 is the default
	NodeProfile  []uint16            // per dense node id, or nil
	NodeRecovery map[string]Recovery // overrides by node ID
	Targets      map[string]Targets  // by service ID
	Crews        []Crew              // crews per (owner, skill); others have DefaultCrews
	DefaultCrews int                 // 0 means 1
	// SoftEdges lists dependencies (from ID → to ID) to treat as soft:
	// a redundant path added by an investment.
	SoftEdges [][2]string
	// Analysis, when set, gives restoration priorities: a node whose single
	// failure fails more services (then more people) is restored first.
	// Without it every node has the same priority and IDs decide.
	Analysis *depgraph.Analysis
	// Priority, when set (one per dense node id), gives the restoration
	// priorities directly, higher first; it takes precedence over Analysis.
	// Neutral graph files carry them so.
	Priority []uint64
}

// Model is a frozen, immutable simulation model: compact arrays derived
// from a graph and a Config. It is safe for concurrent use.
type Model struct {
	g *depgraph.Graph
	n int

	// Units are the n nodes followed by one pseudo-node per redundancy
	// group (unit n+gi): a group is "down" (broken) when size-need+1 of its
	// members are, and its only dependent is its owner. So failure spreads
	// through groups exactly as through nodes, one counter per unit.
	//
	// Reverse dependencies that can fail a unit: for unit y, entries
	// adj[adj[y]:adj[y+1]]: the nodes with an ungrouped hard edge on y,
	// then the hard groups y is a member of (n+gi); a group's single entry
	// is its owner. Offsets and entries share one slice: the engine's
	// loops then hold fewer values, and the compiler keeps them in
	// registers.
	adj []uint32
	nu  int // units

	gOwner  []int32 // owner of each group
	gThresh []int32 // members down at which a hard group breaks (size-need+1)

	// Cycles: cyc[x] is the index of x's cyclic component (more than one
	// member or a self-loop), or -1; a group's is its owner's. Members are
	// cycNodes[cycOff[c]:cycOff[c+1]]: the nodes, then the hard groups of
	// their owners.
	cyc      []int32
	cycOff   []int32
	cycNodes []int32
	cycBit   []uint64 // bitset of the nodes on a cycle (cyc >= 0)

	// Recovery: rec indexes recs (distinct effective recoveries); pool is
	// the (owner, skill) crew pool of each node; prio orders waiting work.
	rec    []uint16
	recs   []Recovery
	pool   []int32
	crews  []int32 // crews per pool
	pools  []Crew  // owner and skill of each pool (Count = crews)
	prio   []uint64
	config Config
	// key is a hash of each node's ID: draws are keyed by it rather than by
	// the dense id, so that adding or removing nodes (an investment) does
	// not change the draws of the others.
	key []uint64

	// Services, in ID order.
	svc      []int32
	svcIdx   []int32  // node -> service index or -1
	svcBit   []uint64 // bitset of service nodes: small enough to stay in cache
	notify   []uint64 // bitset of the units a worker reports: services and groups
	svcPop   []float64
	svcRTO   []float64
	svcMTD   []float64
	critical []bool // FIPS 199 high in any objective
	nCrit    int
}

// units is the number of nodes and groups (see Model.adj).
func (m *Model) units() int { return m.nu }

// deps returns the reverse dependencies of unit y (see Model.adj).
func (m *Model) deps(y int32) []uint32 { return m.adj[m.adj[y]:m.adj[y+1]] }

// Graph returns the graph the model was built from.
func (m *Model) Graph() *depgraph.Graph { return m.g }

// Services returns the number of services.
func (m *Model) Services() int { return len(m.svc) }

// Service returns the node id of the i-th service (services in ID order).
func (m *Model) Service(i int) int32 { return m.svc[i] }

// New freezes g and cfg into a Model.
func New(g *depgraph.Graph, cfg Config) (*Model, error) {
	if g == nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: no graph")
	}
	n := g.Len()
	if len(cfg.Profiles) == 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: no recovery profile (profile 0 is the default)")
	}
	if len(cfg.Profiles) > math.MaxUint16 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: %d recovery profiles (limit %d)", len(cfg.Profiles), math.MaxUint16)
	}
	if cfg.NodeProfile != nil && len(cfg.NodeProfile) != n {
		return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: %d node profiles for %d nodes", len(cfg.NodeProfile), n)
	}
	for i := range cfg.Profiles {
		if err := validRecovery(&cfg.Profiles[i], fmt.Sprintf("profiles[%d]", i)); err != nil {
			return nil, err
		}
	}
	if cfg.DefaultCrews < 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: negative default crews %d", cfg.DefaultCrews)
	}
	m := &Model{g: g, n: n, config: cfg}

	// Soft overrides, as edge indexes.
	softened := map[int32]bool{}
	for i, p := range cfg.SoftEdges {
		e, ok := findEdge(g, p[0], p[1])
		if !ok {
			return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: soft_edges[%d]: no dependency of %q on %q", i, p[0], p[1])
		}
		softened[e] = true
	}
	soft := func(e int32) bool { return g.EdgeSoft(e) || softened[e] }

	// Groups: hard unless every member is soft (after overrides).
	ng := g.NumGroups()
	m.gOwner = make([]int32, ng)
	m.gThresh = make([]int32, ng)
	hard := make([]bool, ng)
	for gi := range int32(ng) {
		m.gOwner[gi] = g.GroupOwner(gi)
		m.gThresh[gi] = g.GroupSize(gi) - g.GroupNeed(gi) + 1
	}
	for x := range int32(n) {
		lo, hi := g.EdgeRange(x)
		for e := lo; e < hi; e++ {
			if gi := g.EdgeGroup(e); gi >= 0 && !soft(e) {
				hard[gi] = true
			}
		}
	}

	// Reverse failure edges: counting sort by target over the forward CSR.
	units := n + ng
	if units > 1<<30 {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "simulation model: %d nodes and %d groups (limit %d in all)", n, ng, 1<<30)
	}
	roff := make([]int32, units+1)
	counts := func(e int32) bool {
		if gi := g.EdgeGroup(e); gi >= 0 {
			return hard[gi]
		}
		return !soft(e)
	}
	for x := range int32(n) {
		lo, hi := g.EdgeRange(x)
		for e := lo; e < hi; e++ {
			if counts(e) {
				roff[g.EdgeTarget(e)+1]++
			}
		}
	}
	for gi := range ng {
		roff[n+gi+1]++ // a group's owner
	}
	for y := range units {
		roff[y+1] += roff[y]
	}
	rdep := make([]int32, roff[units])
	// Two passes: each node's dependents first, then its groups, so that
	// the engine's loops branch predictably.
	next := slices.Clone(roff[:units])
	for pass := range 2 {
		for x := range int32(n) {
			lo, hi := g.EdgeRange(x)
			for e := lo; e < hi; e++ {
				gi := g.EdgeGroup(e)
				if !counts(e) || (gi >= 0) != (pass == 1) {
					continue
				}
				y := g.EdgeTarget(e)
				v := x
				if gi >= 0 {
					v = int32(n) + gi
				}
				rdep[next[y]] = v
				next[y]++
			}
		}
	}
	for gi, o := range m.gOwner {
		rdep[next[n+gi]] = o
	}
	next = nil
	if units+1+len(rdep) > math.MaxInt32 {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "simulation model: %d units and %d reverse dependencies (limit %d in all)", units, len(rdep), math.MaxInt32)
	}
	m.nu = units
	m.adj = make([]uint32, units+1+len(rdep))
	for y := range units + 1 {
		m.adj[y] = uint32(roff[y]) + uint32(units+1)
	}
	for i, v := range rdep {
		m.adj[units+1+i] = uint32(v)
	}
	roff, rdep = nil, nil

	// Cyclic components; a group belongs to its owner's.
	nodes, off, comp := g.Components()
	m.cyc = slices.Grow(comp, ng)[:units]
	comp = m.cyc[:n]
	m.cycOff = []int32{0}
	m.cycBit = make([]uint64, (units+63)/64)
	for c := 0; c+1 < len(off); c++ {
		mem := nodes[off[c]:off[c+1]]
		if len(mem) > 1 || g.SelfLoop(mem[0]) {
			ci := int32(len(m.cycOff) - 1)
			for _, x := range mem {
				comp[x] = ci
			}
			m.cycNodes = append(m.cycNodes, mem...)
			m.cycOff = append(m.cycOff, int32(len(m.cycNodes)))
		} else {
			comp[mem[0]] = -1
		}
	}
	if len(m.cycOff) > 1 {
		// Each component's members: its nodes, then its owners' hard groups.
		byComp := make([][]int32, len(m.cycOff)-1)
		for gi, o := range m.gOwner {
			if c := m.cyc[o]; c >= 0 && hard[gi] {
				byComp[c] = append(byComp[c], int32(n+gi))
			}
		}
		var list []int32
		offs := []int32{0}
		for c := range byComp {
			list = append(list, m.cycNodes[m.cycOff[c]:m.cycOff[c+1]]...)
			list = append(list, byComp[c]...)
			offs = append(offs, int32(len(list)))
		}
		m.cycNodes, m.cycOff = list, offs
	}
	for gi, o := range m.gOwner {
		m.cyc[n+gi] = m.cyc[o]
	}
	for y, c := range m.cyc {
		if c >= 0 {
			m.cycBit[y/64] |= 1 << (y % 64)
		}
	}

	// Recovery and crew pools.
	m.recs = slices.Clone(cfg.Profiles)
	m.rec = make([]uint16, n)
	if cfg.NodeProfile != nil {
		for x, p := range cfg.NodeProfile {
			if int(p) >= len(cfg.Profiles) {
				return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: node %q has profile %d of %d", g.ID(int32(x)), p, len(cfg.Profiles))
			}
		}
		copy(m.rec, cfg.NodeProfile)
	}
	for _, id := range sortedKeys(cfg.NodeRecovery) {
		x, ok := g.Lookup(id)
		if !ok {
			return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: recovery for unknown node %q", id)
		}
		r := cfg.NodeRecovery[id]
		if err := validRecovery(&r, "recovery of "+id); err != nil {
			return nil, err
		}
		if len(m.recs) >= math.MaxUint16 {
			return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: too many distinct recoveries")
		}
		m.rec[x] = uint16(len(m.recs))
		m.recs = append(m.recs, r)
	}
	def := int32(max(cfg.DefaultCrews, 1))
	if cfg.DefaultCrews == 0 {
		def = 1
	}
	type pk struct{ owner, skill string }
	poolOf := map[pk]int32{}
	m.pool = make([]int32, n)
	lastOwner, lastRec, lastPool := "\x00", uint16(0), int32(-1)
	for x := range int32(n) {
		o, r := g.Owner(x), m.rec[x]
		if o == lastOwner && r == lastRec && lastPool >= 0 {
			m.pool[x] = lastPool
			continue
		}
		k := pk{o, m.recs[r].Skill}
		p, ok := poolOf[k]
		if !ok {
			p = int32(len(m.pools))
			poolOf[k] = p
			m.pools = append(m.pools, Crew{Owner: k.owner, Skill: k.skill, Count: int(def)})
		}
		m.pool[x], lastOwner, lastRec, lastPool = p, o, r, p
	}
	for i, c := range cfg.Crews {
		if c.Count < 0 {
			return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: crews[%d]: negative count %d", i, c.Count)
		}
		if p, ok := poolOf[pk{c.Owner, c.Skill}]; ok {
			m.pools[p].Count = c.Count
		}
	}
	m.crews = make([]int32, len(m.pools))
	for p, c := range m.pools {
		m.crews[p] = int32(c.Count)
	}
	m.prio = make([]uint64, n)
	if cfg.Priority != nil {
		if len(cfg.Priority) != n {
			return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: %d priorities for %d nodes", len(cfg.Priority), n)
		}
		copy(m.prio, cfg.Priority)
	} else if a := cfg.Analysis; a != nil {
		if a.Graph() != g {
			return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: analysis of another graph")
		}
		for x := range int32(n) {
			lost, pop, _ := a.Impact(x)
			m.prio[x] = uint64(min(lost, 1<<23-1))<<40 | uint64(min(pop, 1<<40-1))
		}
	}

	m.key = make([]uint64, n)
	for x := range int32(n) {
		m.key[x] = hashString(g.ID(x))
	}

	// Services.
	m.svcIdx = make([]int32, n)
	m.svcBit = make([]uint64, (n+63)/64)
	for x := range int32(n) {
		m.svcIdx[x] = -1
		if g.Kind(x) != bulwark.KindService {
			continue
		}
		m.svcIdx[x] = int32(len(m.svc))
		m.svcBit[x/64] |= 1 << (x % 64)
		m.svc = append(m.svc, x)
		m.svcPop = append(m.svcPop, float64(g.Population(x)))
		t := cfg.Targets[g.ID(x)]
		m.svcRTO = append(m.svcRTO, t.RTO)
		m.svcMTD = append(m.svcMTD, t.MTD)
		c := g.DeclaredCategory(x)
		crit := c.Confidentiality == bulwark.LevelHigh || c.Integrity == bulwark.LevelHigh || c.Availability == bulwark.LevelHigh
		m.critical = append(m.critical, crit)
		if crit {
			m.nCrit++
		}
	}
	m.notify = make([]uint64, len(m.cycBit))
	copy(m.notify, m.svcBit)
	for u := n; u < m.units(); u++ {
		m.notify[u/64] |= 1 << (u % 64)
	}
	for id, t := range cfg.Targets {
		x, ok := g.Lookup(id)
		if !ok || g.Kind(x) != bulwark.KindService {
			return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: targets for %q, which is not a service", id)
		}
		if !(t.RTO >= 0 && t.MTD >= 0) || math.IsInf(t.RTO, 0) || math.IsInf(t.MTD, 0) {
			return nil, bulwark.Errorf(bulwark.EINVALID, "simulation model: targets of %q must be finite and non-negative", id)
		}
	}
	return m, nil
}

func validRecovery(r *Recovery, where string) error {
	if err := r.Restore.Validate(where + ".restore"); err != nil {
		return err
	}
	return r.RestoreNoBackups.Validate(where + ".restore_no_backups")
}

func findEdge(g *depgraph.Graph, from, to string) (int32, bool) {
	x, ok1 := g.Lookup(from)
	y, ok2 := g.Lookup(to)
	if !ok1 || !ok2 {
		return 0, false
	}
	lo, hi := g.EdgeRange(x)
	for e := lo; e < hi; e++ {
		if g.EdgeTarget(e) == y {
			return e, true
		}
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	return keys
}

// hashString is 64-bit FNV-1a.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
