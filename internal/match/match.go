// Package match finds which assets a vulnerability applies to.
//
// It evaluates NVD applicability statements (configurations: an OR over root
// nodes, each node an AND or OR over CPE match criteria and child nodes,
// possibly negated) against the whole set of CPE names an asset carries, and
// the product statements of CVE 5 records and CSAF advisories (named by PURL,
// CPE, or vendor, product, model numbers and a version range) against the
// asset's identifiers.
//
// Vulnerabilities are compiled once into an Index (criteria deduplicated and
// indexed by part:vendor:product, version ranges parsed once), which can be
// written to and read from a compact binary snapshot. Assets are compiled into
// an Inventory, in which assets with identical identifiers share one profile
// and a reverse index maps product keys to profiles, so that a handful of
// changed vulnerabilities or assets can be re-evaluated without a full match.
//
// Explain evaluates one asset against one vulnerability along a separate,
// unindexed path and records every node and criterion with its result; the
// tests check that it agrees with the indexed path.
package match

import (
	"slices"
	"strings"

	"bulwark"
	"bulwark/internal/cpe"
	"bulwark/internal/version"
)

// Match is one asset exposed to one vulnerability.
type Match struct {
	Asset      int32 // index of the asset in the inventory
	AssetID    string
	VulnID     string
	Confidence bulwark.Confidence
	// Evidence names the criterion or product statement that matched and
	// the asset identifier it matched.
	Evidence string
}

// tri is a three-valued truth: a criterion whose version cannot be compared
// is neither true nor false, and Kleene's logic carries that through the
// configuration tree (false AND unknown is false, true OR unknown is true).
type tri uint8

const (
	triFalse tri = iota
	triUnknown
	triTrue
)

func (t tri) String() string {
	switch t {
	case triTrue:
		return "true"
	case triUnknown:
		return "unknown"
	}
	return "false"
}

func triNot(t tri) tri { return triTrue - t }

// criterion is one deduplicated CPE match criterion.
type criterion struct {
	name int32 // index into Index.names
	rng  int32 // index into Index.ranges, -1 when no range field is set
}

// rangeEntry is one set of NVD range fields with its parsed form. A range
// that does not parse (a version NVD wrote that no scheme orders) is kept
// with ok false: every asset version is then "not comparable".
type rangeEntry struct {
	fields [4]string // start incl, start excl, end incl, end excl
	r      version.Range
	ok     bool
	// suffix renders the fields as NVD's pages do (" versionEndExcluding
	// 4.5"), text the parsed range ("<4.5"): computed once, since every
	// piece of evidence quotes them.
	suffix, text string
}

// finish parses the fields and renders suffix and text.
func (re *rangeEntry) finish() error {
	f := re.fields
	var sb strings.Builder
	for i, label := range [4]string{"versionStartIncluding", "versionStartExcluding", "versionEndIncluding", "versionEndExcluding"} {
		if f[i] != "" {
			sb.WriteString(" ")
			sb.WriteString(label)
			sb.WriteString(" ")
			sb.WriteString(f[i])
		}
	}
	re.suffix = sb.String()
	r, err := version.Bounds(f[0], f[1], f[2], f[3])
	if err != nil {
		return err
	}
	re.r, re.ok, re.text = r, true, r.String()
	return nil
}

// node is one configuration node, flattened: its criteria are
// crits[critStart:critEnd] and its children nodes[childStart:childEnd].
type node struct {
	and, negate          bool
	critStart, critEnd   int32
	childStart, childEnd int32
}

// critRef is a criterion as one node uses it.
type critRef struct {
	crit       int32
	vulnerable bool
}

// vuln is one compiled vulnerability: its root nodes are
// nodes[rootStart:rootEnd], its product statements
// products[prodStart:prodEnd].
type vuln struct {
	id                 string
	rootStart, rootEnd int32
	prodStart, prodEnd int32
}

// Index holds compiled vulnerabilities. It is safe for concurrent use once
// built.
type Index struct {
	vulns    []vuln
	byID     map[string]int32
	names    []cpe.Name
	nameText []string // the criterion's CPE as the source wrote it
	ranges   []rangeEntry
	crits    []criterion
	nodes    []node
	refs     []critRef
	products []product

	// byKey maps part:vendor:product to the criteria with that key; wild
	// holds criteria whose part, vendor or product is a wildcard, which
	// every asset CPE must be checked against.
	byKey map[string]*keyEntry
	wild  []int32
	// users lists, per criterion, the vulnerabilities that use it as a
	// vulnerable criterion: a configuration is only reported through one.
	// users lists, per criterion c, in usersList[usersStart[c]:usersStart[c+1]]
	// (one array rather than a slice per criterion: fewer allocations).
	usersStart []int32
	usersList  []int32

	// Product statements by PURL key, normalised vendor and CPE key.
	prodByPURL   map[string][]int32
	prodByVendor map[string][]int32
	prodByCPE    map[string][]int32
}

// Len returns the number of vulnerabilities in the index.
func (ix *Index) Len() int { return len(ix.vulns) }

// Stats describes the size of an index.
type Stats struct {
	Vulns, Criteria, Names, Ranges, Nodes, Products int
}

// Stats returns the index's sizes after deduplication.
func (ix *Index) Stats() Stats {
	return Stats{len(ix.vulns), len(ix.crits), len(ix.names), len(ix.ranges), len(ix.nodes), len(ix.products)}
}

// Builder compiles vulnerabilities into an Index. It keeps only what
// matching needs, so callers may stream vulnerabilities through it.
type Builder struct {
	ix       *Index
	nameIdx  map[string]int32
	rangeIdx map[[4]string]int32
	critIdx  map[criterion]int32
	intern   map[string]string
	problems []bulwark.Problem
	cur      string // ID of the vulnerability being added, for problems
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{
		ix: &Index{
			byID:         map[string]int32{},
			prodByPURL:   map[string][]int32{},
			prodByVendor: map[string][]int32{},
			prodByCPE:    map[string][]int32{},
		},
		nameIdx:  map[string]int32{},
		rangeIdx: map[[4]string]int32{},
		critIdx:  map[criterion]int32{},
		intern:   map[string]string{},
	}
}

// Problems returns what the builder could not compile: criteria that are not
// CPE names and ranges that do not parse (such criteria never match, and
// unparsable ranges give "version could not be compared").
func (b *Builder) Problems() []bulwark.Problem { return b.problems }

func (b *Builder) problem(id, field, format string, args ...any) {
	if len(b.problems) < 1000 { // enough to diagnose, bounded for hostile feeds
		b.problems = append(b.problems, bulwark.Problem{Field: id + " " + field, Message: sprintf(format, args...)})
	}
}

func (b *Builder) str(s string) string {
	if t, ok := b.intern[s]; ok {
		return t
	}
	b.intern[s] = s
	return s
}

// Add compiles one vulnerability. IDs are unique: callers merge what each
// source says of a vulnerability first, and a second vulnerability with an
// ID already added is left out and reported as a problem.
func (b *Builder) Add(v *bulwark.Vulnerability) {
	ix := b.ix
	if _, dup := ix.byID[v.ID]; dup {
		b.problem(v.ID, "id", "added twice; the second is left out")
		return
	}
	vi := int32(len(ix.vulns))
	b.cur = v.ID
	e := vuln{id: v.ID}
	e.rootStart = int32(len(ix.nodes))
	ix.nodes = append(ix.nodes, make([]node, len(v.Configurations))...)
	e.rootEnd = int32(len(ix.nodes))
	for i := range v.Configurations {
		b.compileNode(vi, e.rootStart+int32(i), &v.Configurations[i], 0)
	}
	e.prodStart = int32(len(ix.products))
	for i := range v.Affected {
		b.addProduct(vi, v.ID, &v.Affected[i])
	}
	e.prodEnd = int32(len(ix.products))
	ix.byID[v.ID] = vi
	ix.vulns = append(ix.vulns, e)
}

// maxDepth bounds configuration nesting: NVD nests at most two levels, and a
// hostile record must not exhaust the stack.
const maxDepth = 32

func (b *Builder) compileNode(vi, at int32, n *bulwark.Node, depth int) {
	ix := b.ix
	if depth >= maxDepth {
		// Too deep to be real: compile as an OR node with nothing in it,
		// which never holds.
		b.problem(b.cur, "configurations", "nodes nested deeper than %d", maxDepth)
		ix.nodes[at] = node{}
		return
	}
	nd := node{and: n.Operator == bulwark.AND, negate: n.Negate}
	nd.critStart = int32(len(ix.refs))
	for i := range n.Matches {
		m := &n.Matches[i]
		c, ok := b.criterion(vi, m)
		if !ok {
			continue
		}
		ix.refs = append(ix.refs, critRef{crit: c, vulnerable: m.Vulnerable})
	}
	nd.critEnd = int32(len(ix.refs))
	nd.childStart = int32(len(ix.nodes))
	ix.nodes = append(ix.nodes, make([]node, len(n.Children))...)
	nd.childEnd = int32(len(ix.nodes))
	ix.nodes[at] = nd
	for i := range n.Children {
		b.compileNode(vi, nd.childStart+int32(i), &n.Children[i], depth+1)
	}
}

// criterion returns the index of the deduplicated criterion for m.
func (b *Builder) criterion(vi int32, m *bulwark.CPEMatch) (int32, bool) {
	ix := b.ix
	ni, ok := b.nameIdx[m.Criteria]
	if !ok {
		n, err := cpe.Parse(m.Criteria)
		if err != nil {
			b.problem(b.cur, "criteria", "%q is not a CPE name: %v", m.Criteria, err)
			return 0, false
		}
		for i := range n {
			n[i] = b.str(n[i])
		}
		ni = int32(len(ix.names))
		ix.names = append(ix.names, n)
		ix.nameText = append(ix.nameText, b.str(m.Criteria))
		b.nameIdx[ix.nameText[ni]] = ni
	}
	ri := int32(-1)
	f := [4]string{m.VersionStartIncluding, m.VersionStartExcluding, m.VersionEndIncluding, m.VersionEndExcluding}
	if f != ([4]string{}) {
		var ok bool
		ri, ok = b.rangeIdx[f]
		if !ok {
			for i := range f {
				f[i] = b.str(f[i])
			}
			re := rangeEntry{fields: f}
			if err := re.finish(); err != nil {
				b.problem(b.cur, "criteria", "range of %s: %v", m.Criteria, err)
			}
			ri = int32(len(ix.ranges))
			ix.ranges = append(ix.ranges, re)
			b.rangeIdx[f] = ri
		}
	}
	c := criterion{name: ni, rng: ri}
	if ci, ok := b.critIdx[c]; ok {
		return ci, true
	}
	ci := int32(len(ix.crits))
	ix.crits = append(ix.crits, c)
	b.critIdx[c] = ci
	return ci, true
}

// isWild reports whether an attribute value can match more than itself: ANY,
// or a value with an unquoted * or ? wildcard.
func isWild(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		}
	}
	return false
}

// Build returns the compiled index. The builder must not be used afterwards.
func (b *Builder) Build() *Index {
	ix := b.ix
	ix.indexCriteria()
	ix.indexUsers()
	b.ix = nil
	return ix
}

// keyEntry holds the criteria of one part:vendor:product. Criteria naming
// one plain version (no wildcard, not ANY, no range) are kept apart,
// sorted by version, since only an asset with that very version (or
// version ANY) can match them: popular products have thousands of them,
// and an asset CPE is compared with its own version's only.
type keyEntry struct {
	all    []int32
	ranged []int32 // version ANY or a pattern, with or without range fields
	single []int32 // sorted by version
}

// singles returns the single-version criteria for version v.
func (ix *Index) singles(k *keyEntry, v string) []int32 {
	ver := func(c int32) string { return ix.names[ix.crits[c].name][cpe.Version] }
	lo, hi := 0, len(k.single)
	for lo < hi { // first with version >= v
		m := int(uint(lo+hi) >> 1)
		if ver(k.single[m]) < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	end := lo
	for end < len(k.single) && ver(k.single[end]) == v {
		end++
	}
	return k.single[lo:end]
}

// users returns the vulnerabilities using criterion c as vulnerable.
func (ix *Index) users(c int32) []int32 {
	return ix.usersList[ix.usersStart[c]:ix.usersStart[c+1]]
}

// indexUsers fills usersStart and usersList: a counting pass, then a
// filling pass.
func (ix *Index) indexUsers() {
	count := make([]int32, len(ix.crits)+1)
	last := make([]int32, len(ix.crits))
	for i := range last {
		last[i] = -1
	}
	for vi := range ix.vulns {
		ix.walkCrits(&ix.vulns[vi], func(c int32) {
			if last[c] != int32(vi) {
				last[c] = int32(vi)
				count[c+1]++
			}
		})
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	ix.usersStart = count
	ix.usersList = make([]int32, count[len(count)-1])
	next := slices.Clone(count[:len(ix.crits)])
	for i := range last {
		last[i] = -1
	}
	for vi := range ix.vulns {
		ix.walkCrits(&ix.vulns[vi], func(c int32) {
			if last[c] != int32(vi) {
				last[c] = int32(vi)
				ix.usersList[next[c]] = int32(vi)
				next[c]++
			}
		})
	}
}

// indexCriteria fills byKey and wild.
func (ix *Index) indexCriteria() {
	ix.byKey = make(map[string]*keyEntry, len(ix.names)/4)
	ix.wild = nil
	keys := make([]*keyEntry, len(ix.names)) // per name, to look each up once
	for c := range ix.crits {
		cr := ix.crits[c]
		n := &ix.names[cr.name]
		if isWild(n[cpe.Part]) || isWild(n[cpe.Vendor]) || isWild(n[cpe.Product]) {
			ix.wild = append(ix.wild, int32(c))
			continue
		}
		e := keys[cr.name]
		if e == nil {
			k := n.Key()
			if e = ix.byKey[k]; e == nil {
				e = &keyEntry{}
				ix.byKey[k] = e
			}
			keys[cr.name] = e
		}
		e.all = append(e.all, int32(c))
		if cr.rng < 0 && !isWild(n[cpe.Version]) {
			e.single = append(e.single, int32(c))
		} else {
			e.ranged = append(e.ranged, int32(c))
		}
	}
	for _, e := range ix.byKey {
		if len(e.single) > 1 {
			slices.SortFunc(e.single, func(a, b int32) int {
				return strings.Compare(ix.names[ix.crits[a].name][cpe.Version], ix.names[ix.crits[b].name][cpe.Version])
			})
		}
	}
}

// critText renders a criterion with its range, as NVD's own pages do:
// "cpe:2.3:o:x:y:*:*:*:*:*:*:*:* versionEndExcluding 4.5".
func (ix *Index) critText(c int32) string {
	cr := ix.crits[c]
	if cr.rng < 0 {
		return ix.nameText[cr.name]
	}
	return ix.nameText[cr.name] + ix.ranges[cr.rng].suffix
}
