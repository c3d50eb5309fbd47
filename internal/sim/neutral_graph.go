package sim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"bulwark"
	"bulwark/internal/depgraph"
)

// WriteGraph writes m as a neutral graph file (docs/neutral-format.md):
// recovery profiles, crews, nodes with their kind, owner, recovery,
// restoration priority and service figures, redundancy groups, and edges
// with their effective kind (investments' soft edges applied). It streams:
// nothing but the output buffer is allocated per node.
func WriteGraph(w io.Writer, m *Model) error {
	g := m.g
	t := newTSVWriter(w)
	t.rec(graphMagic, neutralV)
	t.rec("# " + strconv.Itoa(g.Len()) + " nodes, " + strconv.Itoa(g.NumEdges()) + " edges, " + strconv.Itoa(g.NumGroups()) + " groups")
	for i, r := range m.recs {
		t.rec("recovery", strconv.Itoa(i), escapeField(r.Skill), fmtFlag(r.Backups), fmtDist(r.Restore), fmtDist(r.RestoreNoBackups))
	}
	for _, p := range m.pools {
		t.rec("crews", escapeField(p.Owner), escapeField(p.Skill), strconv.Itoa(p.Count))
	}
	for x := range int32(g.Len()) {
		pop, crit, rto, mtd := "0", "0", "0", "0"
		if s := m.svcIdx[x]; s >= 0 {
			pop = strconv.FormatInt(g.Population(x), 10)
			crit = fmtFlag(m.critical[s])
			rto, mtd = fmtFloat(m.svcRTO[s]), fmtFloat(m.svcMTD[s])
		}
		t.rec("node", g.ID(x), g.Kind(x).String(), escapeField(g.Owner(x)), strconv.Itoa(int(m.rec[x])),
			strconv.FormatUint(m.prio[x], 10), pop, crit, rto, mtd)
	}
	for gi := range int32(g.NumGroups()) {
		t.rec("group", g.ID(g.GroupOwner(gi)), escapeField(g.GroupID(gi)), strconv.Itoa(int(g.GroupNeed(gi))))
	}
	softened := map[int32]bool{}
	for _, p := range m.config.SoftEdges {
		if e, ok := findEdge(g, p[0], p[1]); ok {
			softened[e] = true
		}
	}
	for x := range int32(g.Len()) {
		lo, hi := g.EdgeRange(x)
		for e := lo; e < hi; e++ {
			kind := "hard"
			if g.EdgeSoft(e) || softened[e] {
				kind = "soft"
			}
			grp := ""
			if gi := g.EdgeGroup(e); gi >= 0 {
				grp = escapeField(g.GroupID(gi))
			}
			t.rec("edge", g.ID(x), g.ID(g.EdgeTarget(e)), kind, grp)
		}
	}
	t.rec("end")
	return t.flush()
}

// ReadGraph reads a neutral graph file and returns the compiled graph and
// the Config that freezes it into the model that was written (sim.New).
// It streams line by line; memory is the graph's. Every mistake is an
// EINVALID error naming the file and line.
func ReadGraph(r io.Reader, name string) (*depgraph.Graph, Config, error) {
	l := newLineReader(r, name)
	if err := l.header(graphMagic); err != nil {
		return nil, Config{}, err
	}
	d := &bulwark.GraphData{}
	cfg := Config{DefaultCrews: 1, Targets: map[string]Targets{}}
	type pk struct{ owner, skill string }
	crews := map[pk]bool{}
	var (
		ids      []string // node IDs in order (strictly increasing)
		nodeLine []int    // file line of each node, for errors found later
		skillOf  []uint16
		groups   = map[pk]int{} // (owner ID, group ID) → index in d.Groups
		gLine    []int
		gSize    []int
		seen     []int32 // seen[y] == x+1: x already has an edge to y
		lastFrom = int32(-1)
	)
	lookup := func(id, what string) (int32, error) {
		i, ok := slices.BinarySearch(ids, id)
		if !ok {
			return 0, l.errf("%s %q is not a node of the file (nodes come before groups and edges)", what, bulwark.Abbrev(id, 64))
		}
		return int32(i), nil
	}
	// Records come in this order; section is the index of the last seen.
	order := map[string]int{"recovery": 0, "crews": 1, "node": 2, "group": 3, "edge": 4, "end": 5}
	section := 0
	for {
		f, err := l.next()
		if errors.Is(err, io.EOF) {
			return nil, Config{}, l.truncated("its end line")
		}
		if err != nil {
			return nil, Config{}, err
		}
		sec, ok := order[f[0]]
		if !ok {
			return nil, Config{}, l.errf("unknown record %q (want recovery, crews, node, group, edge or end)", bulwark.Abbrev(f[0], 64))
		}
		if sec < section {
			return nil, Config{}, l.errf("%s record after the %s records: the order is recovery, crews, node, group, edge, end", f[0], sectionName(section))
		}
		section = sec
		switch f[0] {
		case "recovery":
			if err := l.want(f, 6, "recovery INDEX SKILL BACKUPS RESTORE RESTORE_NO_BACKUPS"); err != nil {
				return nil, Config{}, err
			}
			if len(cfg.Profiles) >= math.MaxUint16 {
				return nil, Config{}, l.errf("more than %d recovery profiles", math.MaxUint16)
			}
			if f[1] != strconv.Itoa(len(cfg.Profiles)) {
				return nil, Config{}, l.errf("recovery index %q: profiles are numbered 0, 1, 2... in order; expected %d", bulwark.Abbrev(f[1], 64), len(cfg.Profiles))
			}
			rec := Recovery{Skill: f[2]}
			if rec.Backups, err = l.flag(f[3], "backups"); err != nil {
				return nil, Config{}, err
			}
			if rec.Restore, err = l.dist(f[4], "restore"); err != nil {
				return nil, Config{}, err
			}
			if rec.RestoreNoBackups, err = l.dist(f[5], "restore_no_backups"); err != nil {
				return nil, Config{}, err
			}
			cfg.Profiles = append(cfg.Profiles, rec)
		case "crews":
			if err := l.want(f, 4, "crews OWNER SKILL COUNT"); err != nil {
				return nil, Config{}, err
			}
			n, err := l.integer(f[3], "crew count", 0, math.MaxInt32)
			if err != nil {
				return nil, Config{}, err
			}
			k := pk{f[1], f[2]}
			if crews[k] {
				return nil, Config{}, l.errf("second crews record for owner %q and skill %q", bulwark.Abbrev(f[1], 64), bulwark.Abbrev(f[2], 64))
			}
			crews[k] = true
			cfg.Crews = append(cfg.Crews, Crew{Owner: f[1], Skill: f[2], Count: int(n)})
		case "node":
			if err := l.want(f, 10, "node ID KIND OWNER RECOVERY PRIORITY POPULATION CRITICAL RTO MTD"); err != nil {
				return nil, Config{}, err
			}
			if len(ids) >= math.MaxInt32-1 {
				return nil, Config{}, l.errf("more than %d nodes", math.MaxInt32-1)
			}
			id := f[1]
			if !bulwark.ValidID(id) {
				return nil, Config{}, l.errf("invalid node ID %q", bulwark.Abbrev(id, 64))
			}
			if len(ids) > 0 && id <= ids[len(ids)-1] {
				return nil, Config{}, l.errf("node %q after %q: nodes must be in strictly increasing ID order (byte order), each once", id, ids[len(ids)-1])
			}
			kind, ok := bulwark.ParseNodeKind(f[2])
			if !ok {
				return nil, Config{}, l.errf("node %q: unknown kind %q (want service, system or asset)", id, bulwark.Abbrev(f[2], 64))
			}
			if len(cfg.Profiles) == 0 {
				return nil, Config{}, l.errf("node record before any recovery record: at least one recovery profile is needed")
			}
			rec, err := l.integer(f[4], "recovery index", 0, int64(len(cfg.Profiles)-1))
			if err != nil {
				return nil, Config{}, err
			}
			prio, err := strconv.ParseUint(f[5], 10, 64)
			if err != nil {
				return nil, Config{}, l.errf("node %q: priority %q is not an integer within 0..%d", id, bulwark.Abbrev(f[5], 64), uint64(math.MaxUint64))
			}
			pop, err := l.integer(f[6], "population", 0, math.MaxInt64)
			if err != nil {
				return nil, Config{}, err
			}
			crit, err := l.flag(f[7], "critical")
			if err != nil {
				return nil, Config{}, err
			}
			var t Targets
			if t.RTO, err = l.float(f[8], "rto"); err != nil {
				return nil, Config{}, err
			}
			if t.MTD, err = l.float(f[9], "mtd"); err != nil {
				return nil, Config{}, err
			}
			if kind != bulwark.KindService && (pop != 0 || crit || t != (Targets{})) {
				return nil, Config{}, l.errf("node %q is a %s: population, critical, rto and mtd are for services and must be 0", id, kind)
			}
			n := bulwark.GraphNode{Ref: int64(len(ids) + 1), ID: id, Kind: kind, Owner: f[3], Population: pop}
			if crit {
				n.Category.Availability = bulwark.LevelHigh
			}
			if t != (Targets{}) {
				cfg.Targets[id] = t
			}
			d.Nodes = append(d.Nodes, n)
			ids = append(ids, id)
			nodeLine = append(nodeLine, l.line)
			skillOf = append(skillOf, uint16(rec))
			cfg.Priority = append(cfg.Priority, prio)
		case "group":
			if err := l.want(f, 4, "group OWNER ID NEED"); err != nil {
				return nil, Config{}, err
			}
			o, err := lookup(f[1], "group owner")
			if err != nil {
				return nil, Config{}, err
			}
			if f[2] == "" {
				return nil, Config{}, l.errf("group of %q has an empty ID", f[1])
			}
			need, err := l.integer(f[3], "need", 1, math.MaxInt32)
			if err != nil {
				return nil, Config{}, err
			}
			k := pk{f[1], f[2]}
			if _, dup := groups[k]; dup {
				return nil, Config{}, l.errf("second group %q of %q", bulwark.Abbrev(f[2], 64), f[1])
			}
			groups[k] = len(d.Groups)
			d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: int64(o) + 1, ID: f[2], Need: int(need)})
			gLine = append(gLine, l.line)
			gSize = append(gSize, 0)
		case "edge":
			if err := l.want(f, 5, "edge FROM TO hard|soft GROUP"); err != nil {
				return nil, Config{}, err
			}
			from, err := lookup(f[1], "edge from")
			if err != nil {
				return nil, Config{}, err
			}
			to, err := lookup(f[2], "edge to")
			if err != nil {
				return nil, Config{}, err
			}
			if from < lastFrom {
				return nil, Config{}, l.errf("edge from %q after edges from %q: edges are grouped by their from node, in node order", f[1], ids[lastFrom])
			}
			lastFrom = from
			if seen == nil {
				seen = make([]int32, len(ids))
			}
			if seen[to] == from+1 {
				return nil, Config{}, l.errf("second edge from %q to %q", f[1], f[2])
			}
			seen[to] = from + 1
			e := bulwark.GraphEdge{From: int64(from) + 1, To: int64(to) + 1, Group: f[4]}
			switch f[3] {
			case "hard":
				e.Kind = bulwark.Hard
			case "soft":
				e.Kind = bulwark.Soft
			default:
				return nil, Config{}, l.errf("edge kind %q: want hard or soft", bulwark.Abbrev(f[3], 64))
			}
			if e.Group != "" {
				gi, ok := groups[pk{f[1], e.Group}]
				if !ok {
					return nil, Config{}, l.errf("edge from %q names group %q, which no group record of %q declares", f[1], bulwark.Abbrev(e.Group, 64), f[1])
				}
				gSize[gi]++
			}
			if len(d.Edges) >= math.MaxInt32-1 {
				return nil, Config{}, l.errf("more than %d edges", math.MaxInt32-1)
			}
			d.Edges = append(d.Edges, e)
		case "end":
			if err := l.want(f, 1, "end"); err != nil {
				return nil, Config{}, err
			}
			if err := l.end(); err != nil {
				return nil, Config{}, err
			}
			if len(cfg.Profiles) == 0 {
				return nil, Config{}, l.errf("no recovery record: at least one recovery profile is needed")
			}
			for gi, gr := range d.Groups {
				if gr.Need > gSize[gi] {
					l.line = gLine[gi]
					return nil, Config{}, l.errf("group %q of %q needs %d of its %d members", gr.ID, ids[gr.Owner-1], gr.Need, gSize[gi])
				}
			}
			for x, p := range skillOf {
				if k := (pk{d.Nodes[x].Owner, cfg.Profiles[p].Skill}); !crews[k] {
					l.line = nodeLine[x]
					return nil, Config{}, l.errf("node %q: no crews record for owner %q and skill %q", ids[x], k.owner, k.skill)
				}
			}
			g, err := depgraph.Compile(d)
			if err != nil {
				return nil, Config{}, fmt.Errorf("%s: %w", name, err)
			}
			cfg.NodeProfile = skillOf
			return g, cfg, nil
		}
	}
}

func sectionName(i int) string {
	return [...]string{"recovery", "crews", "node", "group", "edge", "end"}[i]
}

// ReadModel reads a neutral graph file and freezes it (ReadGraph, New).
func ReadModel(r io.Reader, name string) (*Model, error) {
	g, cfg, err := ReadGraph(r, name)
	if err != nil {
		return nil, err
	}
	m, err := New(g, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}
