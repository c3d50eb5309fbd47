package sharing

import (
	"encoding/hex"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"bulwark"
)

// The index keeps, for every collection, the metadata of every stored
// version in memory — in Seq order, which is also date_added order — so
// that a TAXII page is found without touching the database; only the
// bodies of the page are read from it. It holds no bodies and no marking
// decisions: each entry points to its object (stream) and the stream to an
// interned scope, which queries pass through CanSee.
//
// Memory per version: one entry (32 bytes) plus, per object, a stream
// (36 bytes) and a map slot (about 40 bytes).
//
// Provenance (IntelObject.Source: "taxii", "import:<name>", "feed:<name>",
// "publish") is interned: a stream holds the source of its first version in
// what was padding, and only a version whose source differs from its
// stream's (rare: an object re-posted through another channel) takes a
// slot in colIndex.srcX.

const (
	flagRevoked = 1 << iota
	flagDeleted
)

type entry struct {
	seq     int64
	added   int64 // date_added, Unix microseconds
	version int64 // Unix microseconds
	stream  int32
	typ     uint16
	spec    uint8
	flags   uint8
}

// idKey is a STIX id in compact form: its type (index into index.types) and
// the 16 bytes of its UUID.
type idKey struct {
	t uint16
	u [16]byte
}

// stream is one object: the versions of one STIX id published by one
// organization in one collection. All its versions share one scope.
type stream struct {
	key   idKey
	src   uint16 // source of its versions (index.sources); srcWide: see colIndex.srcX
	odd   int32  // >= 0: the id is not in canonical form; colIndex.oddIDs[odd] holds it
	scope int32
	next  int32 // next stream with the same STIX id (another publisher), or -1
	v0    int32 // the entry of its only version; -1 when multi holds its versions
}

type colIndex struct {
	entries []entry
	streams []stream
	byID    map[idKey]int32  // first stream of a canonical id
	byOdd   map[string]int32 // first stream of a non-canonical id
	oddIDs  []string
	multi   map[int32][]int32 // versions of streams with more than one, sorted by (version, seq)
	srcX    map[int32]uint32  // source of an entry whose source is not its stream's src
	live    int
}

// srcWide in stream.src means the stream's source index does not fit in 16
// bits: each of its entries has its source in srcX.
const srcWide = 0xFFFF

type index struct {
	cols      map[string]*colIndex
	scopes    []bulwark.IntelScope
	scopeKey  map[string]int32
	lastScope int32 // the scope of the row added last (rows come in runs), or -1
	types     []string
	typeIdx   map[string]uint16
	specs     []string
	specIdx   map[string]uint8
	sources   []string
	sourceIdx map[string]uint32
	lastSeq   int64
}

func newIndex() *index {
	return &index{cols: map[string]*colIndex{}, scopeKey: map[string]int32{}, typeIdx: map[string]uint16{}, specIdx: map[string]uint8{},
		sourceIdx: map[string]uint32{}, lastScope: -1}
}

func (x *index) col(id string) *colIndex {
	c := x.cols[id]
	if c == nil {
		c = &colIndex{byID: map[idKey]int32{}, byOdd: map[string]int32{}, multi: map[int32][]int32{}, srcX: map[int32]uint32{}}
		x.cols[id] = c
	}
	return c
}

func (x *index) internScope(s bulwark.IntelScope) int32 {
	if x.lastScope >= 0 && x.scopes[x.lastScope].Equal(s) {
		return x.lastScope
	}
	i := x.internScopeKey(s)
	x.lastScope = i
	return i
}

func (x *index) internScopeKey(s bulwark.IntelScope) int32 {
	var b strings.Builder
	b.WriteString(string(s.Marking))
	b.WriteByte(0)
	b.WriteString(s.PublisherOrg)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(s.PublisherUser, 10))
	for _, o := range s.Orgs {
		b.WriteByte(1)
		b.WriteString(o)
	}
	for _, u := range s.Users {
		b.WriteByte(2)
		b.WriteString(strconv.FormatInt(u, 10))
	}
	k := b.String()
	if i, ok := x.scopeKey[k]; ok {
		return i
	}
	i := int32(len(x.scopes))
	x.scopes = append(x.scopes, s)
	x.scopeKey[k] = i
	return i
}

func (x *index) internType(t string) uint16 {
	if i, ok := x.typeIdx[t]; ok {
		return i
	}
	if len(x.types) >= 65535 {
		return 65535 // beyond any real number of STIX types; shares the last slot's name
	}
	i := uint16(len(x.types))
	x.types = append(x.types, t)
	x.typeIdx[t] = i
	return i
}

func (x *index) internSpec(s string) uint8 {
	if i, ok := x.specIdx[s]; ok {
		return i
	}
	if len(x.specs) >= 255 {
		return 255
	}
	i := uint8(len(x.specs))
	x.specs = append(x.specs, s)
	x.specIdx[s] = i
	return i
}

func (x *index) internSource(s string) uint32 {
	if i, ok := x.sourceIdx[s]; ok {
		return i
	}
	i := uint32(len(x.sources))
	x.sources = append(x.sources, s)
	x.sourceIdx[s] = i
	return i
}

// sourceOf returns the provenance of entry ei.
func (x *index) sourceOf(c *colIndex, ei int32) string {
	return x.sources[x.sourceIndex(c, ei)]
}

// sourceIndex returns the interned source of entry ei.
func (x *index) sourceIndex(c *colIndex, ei int32) uint32 {
	if i, ok := c.srcX[ei]; ok {
		return i
	}
	// A wide stream's entries are all in srcX: src is a real index here.
	return uint32(c.streams[c.entries[ei].stream].src)
}

// noteSource records the source of entry ei of stream si: in the stream
// when it is the stream's first entry and its index fits, else in srcX
// when it differs from the stream's.
func (c *colIndex) noteSource(si, ei int32, src uint32, first bool) {
	st := &c.streams[si]
	switch {
	case first && src < srcWide:
		st.src = uint16(src)
	case first:
		st.src = srcWide
		c.srcX[ei] = src
	case st.src == srcWide || uint32(st.src) != src:
		c.srcX[ei] = src
	}
}

// parseKey splits a STIX id whose UUID is in canonical lower-case form.
func parseKey(id string) (typ string, u [16]byte, ok bool) {
	i := strings.Index(id, "--")
	if i <= 0 || len(id)-i-2 != 36 {
		return "", u, false
	}
	typ, s := id[:i], id[i+2:]
	if !bulwark.ValidUUID(s) {
		return "", u, false
	}
	hex.Decode(u[0:4], []byte(s[0:8]))
	hex.Decode(u[4:6], []byte(s[9:13]))
	hex.Decode(u[6:8], []byte(s[14:18]))
	hex.Decode(u[8:10], []byte(s[19:23]))
	hex.Decode(u[10:16], []byte(s[24:36]))
	return typ, u, true
}

// stixID returns the STIX id of stream si.
func (x *index) stixID(c *colIndex, si int32) string {
	s := &c.streams[si]
	if s.odd >= 0 {
		return c.oddIDs[s.odd]
	}
	var buf [36]byte
	hex.Encode(buf[0:8], s.key.u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], s.key.u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], s.key.u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], s.key.u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], s.key.u[10:16])
	return x.types[s.key.t] + "--" + string(buf[:])
}

// firstStream returns the first stream of a STIX id, or -1.
func (x *index) firstStream(c *colIndex, id string) int32 {
	if typ, u, ok := parseKey(id); ok {
		t, known := x.typeIdx[typ]
		if !known {
			return -1
		}
		if si, ok := c.byID[idKey{t, u}]; ok {
			return si
		}
		return -1
	}
	if si, ok := c.byOdd[id]; ok {
		return si
	}
	return -1
}

// add appends one stored version (rows arrive in Seq order).
func (x *index) add(o *bulwark.IntelObject) {
	if o.Seq <= x.lastSeq {
		return
	}
	x.lastSeq = o.Seq
	c := x.col(o.Collection)
	scope := x.internScope(o.IntelScope)
	// Find the stream: same id, same publisher.
	typ, u, canon := parseKey(o.STIXID)
	var first int32 = -1
	var key idKey
	if canon {
		key = idKey{x.internType(typ), u}
		if si, ok := c.byID[key]; ok {
			first = si
		}
	} else if si, ok := c.byOdd[o.STIXID]; ok {
		first = si
	}
	si := int32(-1)
	last := int32(-1)
	for s := first; s >= 0; s = c.streams[s].next {
		if x.scopes[c.streams[s].scope].PublisherOrg == o.PublisherOrg {
			si = s
			break
		}
		last = s
	}
	ei := int32(len(c.entries))
	src := x.internSource(o.Source)
	e := entry{seq: o.Seq, added: o.DateAdded.UnixMicro(), version: o.Version.UnixMicro(), typ: x.internType(o.Type), spec: x.internSpec(o.SpecVersion)}
	if o.Revoked {
		e.flags |= flagRevoked
	}
	if si < 0 {
		si = int32(len(c.streams))
		st := stream{key: key, odd: -1, scope: scope, next: -1, v0: ei}
		if !canon {
			st.odd = int32(len(c.oddIDs))
			c.oddIDs = append(c.oddIDs, o.STIXID)
		}
		c.streams = append(c.streams, st)
		switch {
		case last >= 0:
			c.streams[last].next = si
		case canon:
			c.byID[key] = si
		default:
			c.byOdd[o.STIXID] = si
		}
	} else {
		// The newest row carries the stream's current scope (a stricter
		// marking re-scopes earlier versions with it).
		st := &c.streams[si]
		st.scope = scope
		vs := x.versionsOf(c, si)
		vs = append(slices.Clone(vs), ei)
		e.stream = si
		c.entries = append(c.entries, e)
		sort.SliceStable(vs, func(i, j int) bool {
			a, b := &c.entries[vs[i]], &c.entries[vs[j]]
			return a.version < b.version || (a.version == b.version && a.seq < b.seq)
		})
		st.v0 = -1
		c.multi[si] = vs
		c.noteSource(si, ei, src, false)
		c.live++
		return
	}
	e.stream = si
	c.entries = append(c.entries, e)
	c.noteSource(si, ei, src, true)
	c.live++
}

// versionsOf returns the entries of stream si (deleted ones included),
// sorted by version.
func (x *index) versionsOf(c *colIndex, si int32) []int32 {
	if v0 := c.streams[si].v0; v0 >= 0 {
		return []int32{v0}
	}
	return c.multi[si]
}

// remove marks the entries with the given seqs deleted.
func (x *index) remove(col string, seqs []int64) {
	c := x.cols[col]
	if c == nil {
		return
	}
	for _, s := range seqs {
		i := c.findSeq(s)
		if i < len(c.entries) && c.entries[i].seq == s && c.entries[i].flags&flagDeleted == 0 {
			c.entries[i].flags |= flagDeleted
			c.live--
		}
	}
}

// findSeq returns the position of the first entry with seq >= s.
func (c *colIndex) findSeq(s int64) int {
	return sort.Search(len(c.entries), func(i int) bool { return c.entries[i].seq >= s })
}

// findAdded returns the position of the first entry added after t.
func (c *colIndex) findAdded(t int64) int {
	return sort.Search(len(c.entries), func(i int) bool { return c.entries[i].added > t })
}

// VersionFilter is TAXII's match[version]: any of the keywords and exact
// versions (a union). The zero value means "last".
type VersionFilter struct {
	All, First, Last bool
	At               []time.Time
}

func (f VersionFilter) isZero() bool { return !f.All && !f.First && !f.Last && len(f.At) == 0 }

// Query selects versions of a collection's objects, as TAXII's filters do.
type Query struct {
	IDs          []string      // match[id]
	Types        []string      // match[type]
	SpecVersions []string      // match[spec_version]; none: each object's latest spec version
	Versions     VersionFilter // match[version]; zero: the latest version
	AddedAfter   time.Time     // added_after; zero: from the oldest
	// Sources and Publishers keep the versions of any of these
	// provenances (IntelObject.Source) and publishing organizations; like
	// every filter they apply to what the caller may see, so they reveal
	// nothing about the rest.
	Sources    []string
	Publishers []string
	Limit      int   // page size; 0 means no limit (counts)
	After      int64 // cursor: only entries with a greater Seq

	anySpec bool         // every spec version (internal: existence checks, deletes)
	visit   func(h *hit) // when set, receives every match instead of the hits (summaries)
}

// hit is one matching version.
type hit struct {
	seq, added, version int64
	entry               int32
	stream              int32
	scope               int32
	typ                 uint16
	spec                uint8
}

// evalQuery finds up to q.Limit matching, visible versions of c, in Seq
// order, and reports whether more match. visible decides per scope.
func (x *index) evalQuery(c *colIndex, q *Query, visible func(int32) bool) (hits []hit, more bool, total int) {
	var types map[uint16]bool
	if len(q.Types) > 0 {
		types = map[uint16]bool{}
		for _, t := range q.Types {
			if i, ok := x.typeIdx[t]; ok {
				types[i] = true
			}
		}
		if len(types) == 0 {
			return nil, false, 0
		}
	}
	var specs map[uint8]bool
	if len(q.SpecVersions) > 0 {
		specs = map[uint8]bool{}
		for _, s := range q.SpecVersions {
			if i, ok := x.specIdx[s]; ok {
				specs[i] = true
			}
		}
		if len(specs) == 0 {
			return nil, false, 0
		}
	}
	var sources map[uint32]bool
	if len(q.Sources) > 0 {
		sources = map[uint32]bool{}
		for _, s := range q.Sources {
			if i, ok := x.sourceIdx[s]; ok {
				sources[i] = true
			}
		}
		if len(sources) == 0 {
			return nil, false, 0
		}
	}
	var publishers map[string]bool
	if len(q.Publishers) > 0 {
		publishers = map[string]bool{}
		for _, p := range q.Publishers {
			publishers[p] = true
		}
	}
	at := make([]int64, len(q.Versions.At))
	for i, t := range q.Versions.At {
		at[i] = t.UnixMicro()
	}
	vf := q.Versions
	if vf.isZero() {
		vf.Last = true
	}
	added := int64(-1 << 63)
	if !q.AddedAfter.IsZero() {
		added = q.AddedAfter.UnixMicro()
	}
	match := func(ei int32) bool {
		e := &c.entries[ei]
		if e.flags&flagDeleted != 0 || e.seq <= q.After || e.added <= added {
			return false
		}
		if types != nil && !types[e.typ] {
			return false
		}
		st := &c.streams[e.stream]
		if !visible(st.scope) {
			return false
		}
		if publishers != nil && !publishers[x.scopes[st.scope].PublisherOrg] {
			return false
		}
		if sources != nil && !sources[x.sourceIndex(c, ei)] {
			return false
		}
		if st.v0 == ei {
			// The only version: it is first and last; the spec filter and
			// exact versions still apply.
			if specs != nil && !specs[e.spec] {
				return false
			}
			return vf.All || vf.First || vf.Last || slices.Contains(at, e.version)
		}
		return x.versionMatch(c, e.stream, ei, specs, q.anySpec, vf, at)
	}
	emit := func(ei int32) bool {
		e := &c.entries[ei]
		total++
		h := hit{seq: e.seq, added: e.added, version: e.version, entry: ei, stream: e.stream, typ: e.typ, spec: e.spec, scope: c.streams[e.stream].scope}
		if q.visit != nil {
			q.visit(&h)
			return true
		}
		if q.Limit > 0 && len(hits) >= q.Limit {
			more = true
			return false
		}
		hits = append(hits, h)
		return true
	}
	if len(q.IDs) > 0 {
		var eis []int32
		for _, id := range q.IDs {
			for si := x.firstStream(c, id); si >= 0; si = c.streams[si].next {
				eis = append(eis, x.versionsOf(c, si)...)
			}
		}
		slices.Sort(eis) // entry positions are in Seq order
		eis = slices.Compact(eis)
		for _, ei := range eis {
			if match(ei) && !emit(ei) {
				break
			}
		}
		return hits, more, total
	}
	start := c.findSeq(q.After + 1)
	if added > -1<<63 {
		start = max(start, c.findAdded(added))
	}
	for i := start; i < len(c.entries); i++ {
		if match(int32(i)) && !emit(int32(i)) {
			break
		}
	}
	return hits, more, total
}

// versionMatch decides the version filters for entry ei of a stream with
// several versions: the candidates are its live versions of the requested
// spec versions (by default those of its latest spec version).
func (x *index) versionMatch(c *colIndex, si, ei int32, specs map[uint8]bool, anySpec bool, vf VersionFilter, at []int64) bool {
	vs := c.multi[si]
	e := &c.entries[ei]
	switch {
	case anySpec:
	case specs == nil:
		// Default: only the latest spec version the object has.
		best := ""
		for _, v := range vs {
			if c.entries[v].flags&flagDeleted == 0 && specLess(best, x.specs[c.entries[v].spec]) {
				best = x.specs[c.entries[v].spec]
			}
		}
		if x.specs[e.spec] != best {
			return false
		}
	case !specs[e.spec]:
		return false
	}
	if vf.All || slices.Contains(at, e.version) {
		return true
	}
	first, last := int32(-1), int32(-1)
	for _, v := range vs {
		ve := &c.entries[v]
		if ve.flags&flagDeleted != 0 {
			continue
		}
		switch {
		case anySpec:
		case specs != nil && !specs[ve.spec], specs == nil && ve.spec != e.spec:
			continue
		}
		if first < 0 {
			first = v
		}
		last = v
	}
	return vf.First && first == ei || vf.Last && last == ei
}

// specLess orders spec versions ("2.0" < "2.1" < "2.10").
func specLess(a, b string) bool {
	if a == "" {
		return b != ""
	}
	amaj, amin, _ := strings.Cut(a, ".")
	bmaj, bmin, _ := strings.Cut(b, ".")
	ai, _ := strconv.Atoi(amaj)
	bi, _ := strconv.Atoi(bmaj)
	if ai != bi {
		return ai < bi
	}
	ai, _ = strconv.Atoi(amin)
	bi, _ = strconv.Atoi(bmin)
	if ai != bi {
		return ai < bi
	}
	return a < b
}
