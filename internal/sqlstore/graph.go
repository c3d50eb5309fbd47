package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"slices"
	"sync"
	"unsafe"

	"bulwark"
)

// interner returns one shared string per distinct byte value, so that the
// few owners, kinds and group names of a million nodes cost no allocation.
type interner map[string]string

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// arena copies many small strings into a few large blocks. A million-node
// graph then holds a few hundred heap objects instead of two million
// strings, which the garbage collector would otherwise trace on every
// cycle for as long as the graph is cached.
type arena struct{ block []byte }

const arenaBlock = 1 << 20

func (a *arena) str(v driver.Value) string {
	var b []byte
	switch x := v.(type) {
	case string:
		b = unsafeBytes(x)
	case []byte:
		b = x
	}
	if len(b) == 0 {
		return ""
	}
	if len(a.block)+len(b) > cap(a.block) {
		a.block = make([]byte, 0, max(arenaBlock, len(b)))
	}
	start := len(a.block)
	a.block = append(a.block, b...) // never reallocates: capacity checked above
	return unsafe.String(&a.block[start], len(b))
}

// bitset marks refs.
type bitset []uint64

func (b *bitset) set(i int64) {
	w := int(i >> 6)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w-len(*b)+1+len(*b)/4)...)
	}
	(*b)[w] |= 1 << (uint(i) & 63)
}

func (b bitset) has(i int64) bool {
	w := int(i >> 6)
	return i >= 0 && w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// bumpCityVersion records, inside tx, that the city model changed.
func bumpCityVersion(ctx context.Context, db *DB, tx querier) error {
	_, err := tx.ExecContext(ctx, "UPDATE city_version SET version = version + 1 WHERE id = 1")
	return db.d.mapErr("record change", err)
}

// CityVersion returns a number that changes whenever the city model
// (organizations, sharing, services, systems, assets, dependencies)
// changes, in this process or another: a cache of anything derived from the
// model is current while the number is the same. It is not scoped.
func (db *DB) CityVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.reader().QueryRowContext(ctx, "SELECT version FROM city_version WHERE id = 1").Scan(&v)
	return v, db.d.mapErr("read city version", err)
}

// graphCache holds the whole graph as of one city version. Every caller's
// graph is a filtered copy of it, so repeated loads of an unchanged city
// cost a copy instead of a scan.
type graphCache struct {
	mu      sync.Mutex
	version int64
	g       *bulwark.GraphData

	// load lets one full scan run at a time. A scan holds a read
	// connection while it waits for its second worker to take another;
	// concurrent scans each holding one of the pool's connections would
	// otherwise wait for each other forever. The callers queued behind a
	// scan then find its result in the cache. A channel rather than a
	// mutex, so that a waiting caller can give up when its context ends.
	load chan struct{}
}

// LoadGraph returns the visible dependency graph: nodes (in ref order),
// the edges whose ends are both visible, and the groups of visible nodes.
//
// It is the one read that touches every row, so it is built for speed. The
// whole graph is cached as of a city version; a load reads the caller's
// scope and the version in one transaction and, when the cache is current,
// only filters and copies it. Otherwise loadGraphParts scans the database.
func (db *DB) LoadGraph(ctx context.Context) (*bulwark.GraphData, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	for range 5 {
		var s scope
		var v int64
		err := db.inRead(ctx, func(tx querier) error {
			var err error
			if s, err = db.scopeOf(ctx, tx); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, "SELECT version FROM city_version WHERE id = 1").Scan(&v)
		})
		if err != nil {
			return nil, db.d.mapErr("load graph", err)
		}
		full := db.cachedGraph(v)
		if full == nil {
			g, fv, err := db.loadCachedGraph(ctx, v)
			if err != nil {
				return nil, db.d.mapErr("load graph", err)
			}
			if fv != v {
				continue // changed meanwhile: read the scope again
			}
			full = g
		}
		return filterGraph(full, s), nil
	}
	return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "load graph: the city model is changing too fast, try again")
}

// loadCachedGraph scans the whole graph, one scan at a time, and caches it;
// a caller that waited for another's scan of version v takes its result.
func (db *DB) loadCachedGraph(ctx context.Context, v int64) (*bulwark.GraphData, int64, error) {
	select {
	case db.graph.load <- struct{}{}:
		defer func() { <-db.graph.load }()
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	if g := db.cachedGraph(v); g != nil {
		return g, v, nil
	}
	g, fv, err := db.loadFullGraph(ctx)
	if err != nil {
		return nil, 0, err
	}
	db.graph.mu.Lock()
	if db.graph.g == nil || fv >= db.graph.version {
		db.graph.g, db.graph.version = g, fv
	}
	db.graph.mu.Unlock()
	return g, fv, nil
}

// cachedGraph returns the cached whole graph if it is as of version v.
// The caller must not modify it.
func (db *DB) cachedGraph(v int64) *bulwark.GraphData {
	db.graph.mu.Lock()
	defer db.graph.mu.Unlock()
	if db.graph.g == nil || db.graph.version != v {
		return nil
	}
	return db.graph.g
}

// countGraph adds to c the entities and dependencies of g that s sees.
func countGraph(g *bulwark.GraphData, s scope, c *bulwark.Counts) {
	var visible bitset
	for _, nd := range g.Nodes {
		if !s.sees(nd.Owner) {
			continue
		}
		visible.set(nd.Ref)
		switch nd.Kind {
		case bulwark.KindService:
			c.Services++
		case bulwark.KindSystem:
			c.Systems++
		case bulwark.KindAsset:
			c.Assets++
			c.AssetUnits += nd.Count
		}
	}
	for _, e := range g.Edges {
		if visible.has(e.From) && visible.has(e.To) {
			c.Dependencies++
		}
	}
}

// filterGraph returns the part of g that s sees, in new slices (the cached
// graph itself is never handed out).
func filterGraph(g *bulwark.GraphData, s scope) *bulwark.GraphData {
	if s.all {
		return &bulwark.GraphData{Nodes: slices.Clone(g.Nodes), Edges: slices.Clone(g.Edges), Groups: slices.Clone(g.Groups)}
	}
	out := &bulwark.GraphData{}
	var visible bitset
	for _, nd := range g.Nodes {
		if s.sees(nd.Owner) {
			out.Nodes = append(out.Nodes, nd)
			visible.set(nd.Ref)
		}
	}
	for _, e := range g.Edges {
		if visible.has(e.From) && visible.has(e.To) {
			out.Edges = append(out.Edges, e)
		}
	}
	for _, gr := range g.Groups {
		if visible.has(gr.Owner) {
			out.Groups = append(out.Groups, gr)
		}
	}
	return out
}

// loadFullGraph scans the whole graph and returns it with the city version
// it reflects. It talks to the driver directly (sql.Conn.Raw), since
// database/sql's per-column conversions cost more than the database does,
// and scans the two halves of the ref range on two connections at once.
// The two read transactions must see the same snapshot: each first reads
// the city version, and if they differ the scan is retried.
func (db *DB) loadFullGraph(ctx context.Context) (*bulwark.GraphData, int64, error) {
	workers := 2
	if db.r == db.w { // one connection (SQLite :memory:)
		workers = 1
	}
	for attempt := 0; ; attempt++ {
		if attempt == 3 {
			workers = 1 // a busy writer: give up on parallelism
		}
		g, v, consistent, err := db.loadGraphParts(ctx, bulwark.SystemPrincipal(), workers)
		if err != nil || consistent {
			return g, v, err
		}
	}
}

// graphPart is what one worker read.
type graphPart struct {
	nodes  []bulwark.GraphNode
	links  []bulwark.GraphEdge // asset-to-system edges
	edges  []bulwark.GraphEdge // dependencies (worker 0 only)
	groups []bulwark.GraphGroup
	scope  scope
	head   int64
}

func (db *DB) loadGraphParts(ctx context.Context, p bulwark.Principal, workers int) (*bulwark.GraphData, int64, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make([]graphPart, workers)
	errs := make([]error, workers)
	heads := make(chan int64, workers)
	proceed := make([]chan bool, workers)
	var wg sync.WaitGroup
	for i := range workers {
		proceed[i] = make(chan bool, 1)
		wg.Go(func() {
			errs[i] = db.loadGraphPart(ctx, p, i, workers, &parts[i], heads, proceed[i])
			if errs[i] != nil {
				cancel()
			}
		})
	}
	var first int64 = -1
	consistent := true
	for range workers {
		select {
		case h := <-heads:
			if first >= 0 && h != first {
				consistent = false
			}
			first = h
		case <-ctx.Done():
			consistent = false
		}
	}
	for i := range workers {
		proceed[i] <- consistent
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, 0, false, err
		}
	}
	if !consistent {
		return nil, 0, false, nil
	}

	g := &bulwark.GraphData{}
	var n, nl int
	for i := range parts {
		n += len(parts[i].nodes)
		nl += len(parts[i].links)
	}
	g.Nodes = make([]bulwark.GraphNode, 0, n)
	for i := range parts {
		g.Nodes = append(g.Nodes, parts[i].nodes...)
		parts[i].nodes = nil
	}
	s := parts[0].scope
	var visible bitset
	if !s.all {
		for _, nd := range g.Nodes {
			visible.set(nd.Ref)
		}
	}
	seen := func(ref int64) bool { return s.all || visible.has(ref) }
	g.Edges = make([]bulwark.GraphEdge, 0, nl+len(parts[0].edges))
	for i := range parts {
		for _, e := range parts[i].links {
			if seen(e.From) {
				g.Edges = append(g.Edges, e)
			}
		}
	}
	for _, e := range parts[0].edges {
		if seen(e.From) && seen(e.To) {
			g.Edges = append(g.Edges, e)
		}
	}
	for _, gr := range parts[0].groups {
		if seen(gr.Owner) {
			g.Groups = append(g.Groups, gr)
		}
	}
	return g, parts[0].head, true, nil
}

// loadGraphPart reads part w of workers: it opens a read transaction,
// reports the city version it sees, and continues only if told to.
func (db *DB) loadGraphPart(ctx context.Context, p bulwark.Principal, w, workers int, out *graphPart,
	heads chan<- int64, proceed <-chan bool) error {
	conn, err := db.r.Conn(ctx)
	if err != nil {
		heads <- -1 - int64(w) // never equal: forces a retry or the error
		<-proceed
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		rc, ok := dc.(rawConn)
		if !ok {
			heads <- -1 - int64(w)
			<-proceed
			return fmt.Errorf("driver %T lacks context queries", dc)
		}
		if _, err := rc.ExecContext(ctx, db.d.beginRead, nil); err != nil {
			heads <- -1 - int64(w)
			<-proceed
			return err
		}
		defer rc.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
		var lo, hi int64
		err := rawQuery(ctx, rc, "SELECT (SELECT version FROM city_version WHERE id = 1), COALESCE(MIN(ref), 0), COALESCE(MAX(ref), 0) FROM entities", nil,
			func(v []driver.Value) error {
				out.head, lo, hi = vInt(v[0]), vInt(v[1]), vInt(v[2])
				return nil
			})
		if err != nil {
			heads <- -1 - int64(w)
			<-proceed
			return err
		}
		heads <- out.head
		if !<-proceed {
			return nil
		}
		return db.scanGraphPart(ctx, rc, p, w, workers, lo, hi, out)
	})
}

func (db *DB) scanGraphPart(ctx context.Context, rc rawConn, p bulwark.Principal, w, workers int, lo, hi int64, out *graphPart) error {
	s := scope{p: p, all: p.System, set: map[string]struct{}{}}
	if !s.all {
		s.orgs = []string{p.Org}
		err := rawQuery(ctx, rc, "SELECT grantor FROM shares WHERE grantee = $1", []any{p.Org}, func(v []driver.Value) error {
			s.orgs = append(s.orgs, vStr(v[0]))
			return nil
		})
		if err != nil {
			return err
		}
		for _, o := range s.orgs {
			s.set[o] = struct{}{}
		}
	}
	out.scope = s
	// This worker's share of the ref range.
	span := (hi - lo + int64(workers)) / int64(workers)
	from, to := lo+int64(w)*span, lo+int64(w+1)*span-1
	if w == workers-1 {
		to = hi
	}
	// Refs are dense unless many entities were deleted: the range is a
	// good estimate of the row count.
	n := min(max(to-from+1, 0), 1<<24)
	out.nodes = make([]bulwark.GraphNode, 0, n)
	out.links = make([]bulwark.GraphEdge, 0, n)

	a := db.d.newArgs()
	q := "SELECT ref, id, kind, owner, name, population, conf, integ, avail, count, sys_ref, sys_kind, sys_group FROM entities WHERE ref >= " +
		a.add(from) + " AND ref <= " + a.add(to)
	if f := s.filter(&a, "owner"); f != "" {
		q += " AND " + f
	}
	in := interner{}
	var ar arena
	err := rawQuery(ctx, rc, q+" ORDER BY ref", a.v, func(v []driver.Value) error {
		nd := bulwark.GraphNode{Ref: vInt(v[0]), ID: ar.str(v[1]), Kind: bulwark.NodeKind(vInt(v[2])), Owner: in.val(v[3]),
			Name: ar.str(v[4]), Population: vInt(v[5]), Count: vInt(v[9])}
		if nd.Kind == bulwark.KindService {
			nd.Category = bulwark.Category{Confidentiality: level(vInt(v[6])), Integrity: level(vInt(v[7])), Availability: level(vInt(v[8]))}
		}
		out.nodes = append(out.nodes, nd)
		if sys := vInt(v[10]); sys != 0 {
			out.links = append(out.links, bulwark.GraphEdge{From: sys, To: nd.Ref, Kind: bulwark.DepKind(in.val(v[11])), Group: in.val(v[12])})
		}
		return nil
	})
	if err != nil || w != 0 {
		return err
	}
	err = rawQuery(ctx, rc, "SELECT src, dst, kind, grp FROM dependencies", nil, func(v []driver.Value) error {
		out.edges = append(out.edges, bulwark.GraphEdge{From: vInt(v[0]), To: vInt(v[1]), Kind: bulwark.DepKind(in.val(v[2])), Group: in.val(v[3])})
		return nil
	})
	if err != nil {
		return err
	}
	return rawQuery(ctx, rc, "SELECT owner, id, need FROM entity_groups ORDER BY owner, id", nil, func(v []driver.Value) error {
		out.groups = append(out.groups, bulwark.GraphGroup{Owner: vInt(v[0]), ID: vStr(v[1]), Need: int(vInt(v[2]))})
		return nil
	})
}

// rawConn is what LoadGraph needs of a driver connection.
type rawConn interface {
	driver.QueryerContext
	driver.ExecerContext
}

// rawQuery runs q and calls row for each row, with values as the driver
// returns them (int64, string, []byte, float64, bool, time.Time or nil).
func rawQuery(ctx context.Context, rc rawConn, q string, args []any, row func(v []driver.Value) error) error {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := rc.QueryContext(ctx, q, named)
	if err != nil {
		return err
	}
	defer rows.Close()
	v := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(v); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := row(v); err != nil {
			return err
		}
	}
}

// Conversions of driver values; a NULL or unexpected type reads as zero.
func vInt(v driver.Value) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

func vBytes(v driver.Value) []byte {
	if b, ok := v.([]byte); ok {
		return b
	}
	return nil
}

func vStr(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func (in interner) val(v driver.Value) string {
	if s, ok := v.(string); ok {
		return in.get(unsafeBytes(s))
	}
	return in.get(vBytes(v))
}

func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
