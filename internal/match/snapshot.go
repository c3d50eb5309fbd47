package match

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"bulwark"
	"bulwark/internal/cpe"
)

// The snapshot format, version 1. Everything after the magic is unsigned
// varints; strings are written once in a table and referred to by number.
//
//	magic "BULWARK-MATCH\x001"
//	strings:  n, then n × (length, bytes)
//	names:    n, then n × (11 attribute strings, text string)
//	ranges:   n, then n × 4 field strings
//	criteria: n, then n × (name, range+1)
//	nodes:    n, then n × (flags and|negate<<1, critStart, critEnd, childStart, childEnd)
//	refs:     n, then n × (crit<<1 | vulnerable)
//	vulns:    n, then n × (id, rootStart, rootEnd, prodStart, prodEnd)
//	products: n, then n × (vuln, status, kind, key, 11 name strings,
//	          product, models n + strings, rawVersion, rawRange, text)
//
// Derived data (indexes by key, parsed ranges, criterion users) is rebuilt
// on load: it is cheaper to rebuild than to read, and cannot disagree with
// what it is derived from.
const snapshotMagic = "BULWARK-MATCH\x001"

// WriteSnapshot writes the index in the compact binary snapshot format
// ReadSnapshot reads.
func (ix *Index) WriteSnapshot(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	strs := map[string]uint64{}
	var table []string
	sid := func(s string) uint64 {
		if i, ok := strs[s]; ok {
			return i
		}
		i := uint64(len(table))
		strs[s] = i
		table = append(table, s)
		return i
	}
	// Collect the strings first, in the order the sections refer to them.
	var body []uint64
	put := func(vs ...uint64) { body = append(body, vs...) }
	put(uint64(len(ix.names)))
	for i := range ix.names {
		for _, a := range ix.names[i] {
			put(sid(a))
		}
		put(sid(ix.nameText[i]))
	}
	put(uint64(len(ix.ranges)))
	for i := range ix.ranges {
		for _, f := range ix.ranges[i].fields {
			put(sid(f))
		}
	}
	put(uint64(len(ix.crits)))
	for _, c := range ix.crits {
		put(uint64(c.name), uint64(c.rng+1))
	}
	put(uint64(len(ix.nodes)))
	for _, n := range ix.nodes {
		var flags uint64
		if n.and {
			flags |= 1
		}
		if n.negate {
			flags |= 2
		}
		put(flags, uint64(n.critStart), uint64(n.critEnd), uint64(n.childStart), uint64(n.childEnd))
	}
	put(uint64(len(ix.refs)))
	for _, r := range ix.refs {
		v := uint64(r.crit) << 1
		if r.vulnerable {
			v |= 1
		}
		put(v)
	}
	put(uint64(len(ix.vulns)))
	for _, v := range ix.vulns {
		put(sid(v.id), uint64(v.rootStart), uint64(v.rootEnd), uint64(v.prodStart), uint64(v.prodEnd))
	}
	put(uint64(len(ix.products)))
	for i := range ix.products {
		p := &ix.products[i]
		put(uint64(p.vuln), sid(string(p.status)), uint64(p.kind), sid(p.key))
		for _, a := range p.name {
			put(sid(a))
		}
		put(sid(p.product), uint64(len(p.models)))
		for _, m := range p.models {
			put(sid(m))
		}
		put(sid(p.rawVersion), sid(p.rawRange), sid(p.text))
	}

	var buf [binary.MaxVarintLen64]byte
	uv := func(v uint64) { bw.Write(buf[:binary.PutUvarint(buf[:], v)]) }
	bw.WriteString(snapshotMagic)
	uv(uint64(len(table)))
	for _, s := range table {
		uv(uint64(len(s)))
		bw.WriteString(s)
	}
	for _, v := range body {
		uv(v)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("match: writing snapshot: %w", err)
	}
	return nil
}

// snapReader decodes a snapshot held in memory, remembering the first
// error: every read after it returns zero.
type snapReader struct {
	data []byte
	off  int
	err  error
	strs []string
}

func (r *snapReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("match: snapshot corrupt at byte %d: %s", r.off, fmt.Sprintf(format, args...))
	}
}

func (r *snapReader) uv() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.off:])
	if n <= 0 {
		r.fail("truncated or overlong number")
		return 0
	}
	r.off += n
	return v
}

// idx reads an index that must be below limit (as an int32).
func (r *snapReader) idx(limit int) int32 {
	v := r.uv()
	if v >= uint64(limit) {
		r.fail("index %d out of range [0,%d)", v, limit)
		return 0
	}
	return int32(v)
}

// count reads a section length; each element takes at least min bytes, so
// a count larger than what is left is corruption, caught before any
// allocation.
func (r *snapReader) count(min int) int {
	v := r.uv()
	if v > uint64(len(r.data)-r.off)/uint64(min) {
		r.fail("count %d larger than the rest of the snapshot", v)
		return 0
	}
	return int(v)
}

func (r *snapReader) str() string {
	i := r.idx(len(r.strs))
	if r.err != nil {
		return ""
	}
	return r.strs[i]
}

// ReadSnapshot reads an index WriteSnapshot wrote. A snapshot that is not
// one, or is truncated or corrupt, gives an error saying where.
func ReadSnapshot(rd io.Reader) (*Index, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("match: reading snapshot: %w", err)
	}
	if len(data) < len(snapshotMagic) || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return nil, errors.New("match: not a matching-index snapshot (bad magic); rebuild it from the feeds")
	}
	r := &snapReader{data: data, off: len(snapshotMagic)}
	// One string holds every string's bytes: one allocation, substrings
	// after.
	n := r.count(1)
	type span struct{ off, n int }
	spans := make([]span, n)
	start := r.off
	for i := range spans {
		l := r.uv()
		if l > uint64(len(data)-r.off) {
			r.fail("string %d of %d bytes runs past the end", i, l)
			break
		}
		spans[i] = span{r.off - start, int(l)}
		r.off += int(l)
	}
	if r.err != nil {
		return nil, r.err
	}
	all := string(data[start:r.off])
	r.strs = make([]string, n)
	for i, s := range spans {
		r.strs[i] = all[s.off : s.off+s.n]
	}

	ix := &Index{byID: map[string]int32{}, prodByPURL: map[string][]int32{}, prodByVendor: map[string][]int32{}, prodByCPE: map[string][]int32{}}
	ix.names = make([]cpe.Name, r.count(12))
	ix.nameText = make([]string, len(ix.names))
	for i := range ix.names {
		for a := range ix.names[i] {
			ix.names[i][a] = r.str()
		}
		ix.nameText[i] = r.str()
	}
	ix.ranges = make([]rangeEntry, r.count(4))
	for i := range ix.ranges {
		for f := range ix.ranges[i].fields {
			ix.ranges[i].fields[f] = r.str()
		}
	}
	ix.crits = make([]criterion, r.count(2))
	for i := range ix.crits {
		ix.crits[i] = criterion{name: r.idx(len(ix.names)), rng: r.idx(len(ix.ranges)+1) - 1}
	}
	ix.nodes = make([]node, r.count(5))
	for i := range ix.nodes {
		flags := r.uv()
		nd := node{and: flags&1 != 0, negate: flags&2 != 0}
		nd.critStart, nd.critEnd = r.idx(1<<31-1), r.idx(1<<31-1)
		nd.childStart, nd.childEnd = r.idx(len(ix.nodes)+1), r.idx(len(ix.nodes)+1)
		// Children come after their parent, which also rules out cycles.
		if nd.childStart > nd.childEnd || (nd.childStart < nd.childEnd && nd.childStart <= int32(i)) {
			r.fail("node %d has children [%d,%d)", i, nd.childStart, nd.childEnd)
		}
		ix.nodes[i] = nd
	}
	ix.refs = make([]critRef, r.count(1))
	for i := range ix.refs {
		v := r.uv()
		if v>>1 >= uint64(len(ix.crits)) {
			r.fail("criterion %d out of range", v>>1)
		}
		ix.refs[i] = critRef{crit: int32(v >> 1), vulnerable: v&1 != 0}
	}
	for i, nd := range ix.nodes {
		if nd.critStart > nd.critEnd || int(nd.critEnd) > len(ix.refs) {
			r.fail("node %d has criteria [%d,%d) of %d", i, nd.critStart, nd.critEnd, len(ix.refs))
		}
	}
	ix.vulns = make([]vuln, r.count(5))
	ix.byID = make(map[string]int32, len(ix.vulns))
	for i := range ix.vulns {
		v := vuln{id: r.str()}
		v.rootStart, v.rootEnd = r.idx(len(ix.nodes)+1), r.idx(len(ix.nodes)+1)
		v.prodStart, v.prodEnd = r.idx(1<<31-1), r.idx(1<<31-1)
		if v.rootStart > v.rootEnd || v.prodStart > v.prodEnd {
			r.fail("vulnerability %d has bad spans", i)
		}
		ix.vulns[i] = v
		ix.byID[v.id] = int32(i)
	}
	ix.products = make([]product, r.count(20))
	for i := range ix.products {
		p := &ix.products[i]
		p.vuln = r.idx(len(ix.vulns))
		p.status = bulwark.ProductStatus(r.str())
		p.kind = prodKind(r.uv())
		if p.kind < byPURL || p.kind > byName {
			r.fail("product %d has kind %d", i, p.kind)
		}
		p.key = r.str()
		for a := range p.name {
			p.name[a] = r.str()
		}
		p.product = r.str()
		if m := r.count(1); m > 0 {
			p.models = make([]string, m)
			for j := range p.models {
				p.models[j] = r.str()
			}
		}
		p.rawVersion, p.rawRange, p.text = r.str(), r.str(), r.str()
		p.rng, p.all, p.rangeErr = statementRange(p.rawVersion, p.rawRange)
	}
	for i, v := range ix.vulns {
		if int(v.prodEnd) > len(ix.products) {
			r.fail("vulnerability %d has products up to %d of %d", i, v.prodEnd, len(ix.products))
		}
	}
	// Bound nesting as the builder does, so that evaluation's recursion
	// stays shallow whatever the snapshot says.
	if r.err == nil {
		depth := make([]uint8, len(ix.nodes))
		for i, nd := range ix.nodes {
			for ch := nd.childStart; ch < nd.childEnd; ch++ {
				if depth[i]+1 > maxDepth {
					r.fail("node %d nested deeper than %d", ch, maxDepth)
					break
				}
				depth[ch] = max(depth[ch], depth[i]+1)
			}
		}
	}
	if r.err == nil && r.off != len(data) {
		r.fail("%d bytes after the end", len(data)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	ix.rebuild()
	return ix, nil
}

// rebuild derives the lookup structures from the compiled arrays: parsed
// ranges, the key index and criterion users.
func (ix *Index) rebuild() {
	parallel(len(ix.ranges), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ix.ranges[i].finish() // an error leaves ok false, as in the builder
		}
	})
	ix.indexCriteria()
	ix.indexUsers()
	for pi := range ix.products {
		p := &ix.products[pi]
		switch p.kind {
		case byPURL:
			ix.prodByPURL[p.key] = append(ix.prodByPURL[p.key], int32(pi))
		case byCPE:
			ix.prodByCPE[p.key] = append(ix.prodByCPE[p.key], int32(pi))
		default:
			ix.prodByVendor[p.key] = append(ix.prodByVendor[p.key], int32(pi))
		}
	}
}
