package version

import (
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"bulwark"
)

// maxRangeLen caps the text ParseRange reads. CISA's longest
// product_version_range is about 120 bytes; vers ranges listing many
// versions are longer, but not by two orders of magnitude.
const maxRangeLen = 8192

// op is a comparator of a range constraint.
type op uint8

const (
	opNone op = iota
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opInterval // a ready interval (a "from X to Y" phrase, a wildcard)
	opAll
)

func (o op) lower() bool { return o == opGt || o == opGe }
func (o op) upper() bool { return o == opLt || o == opLe }

// constraint is one comparator and version, or a ready interval.
type constraint struct {
	op op
	v  Version
	iv interval
}

// ParseRange reads a version range in any of the forms sources use:
//
//   - a PURL vers range, vers:<scheme>/<constraints> (exact when it follows
//     the grammar; CISA's irregular uses such as vers:all/>=V7.80<V9.40
//     are read like free text);
//   - comparators and versions, alternatives separated by "|":
//     "<= 3.5 (12)", ">=5.3|<=6.4", ">= 1.0 <= 2.3", "< March 13, 2019 | < 4.003";
//   - free text: "All versions", "all versions prior to 4.2",
//     "versions 3.0 and prior", "before 8.4", "2.x", "V5.0.0 to V5.3.2",
//     "1.0 - 2.0", "All versions >= V6.5 and < V7.1";
//   - a bare version, meaning that version only.
//
// Comparators pair up in order, as in vers: a lower bound followed by an
// upper bound is one interval; an unpaired upper bound is open below, an
// unpaired lower bound open above. Text after a condition word ("only",
// "if", "with", "on", ...) is ignored. The error says why when no range
// can be read.
func ParseRange(s string) (Range, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "empty version range")
	}
	if len(t) > maxRangeLen {
		return Range{}, bulwark.Errorf(bulwark.ETOOLARGE, "version range of %d bytes is longer than the limit of %d", len(t), maxRangeLen)
	}
	if !utf8.ValidString(t) {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "version range %q is not valid UTF-8", clip(t))
	}
	if len(t) >= 5 && strings.EqualFold(t[:5], "vers:") {
		return parseVers(t)
	}
	return parseFree(t)
}

// parseVers reads vers:<scheme>/<constraints> as the VERSION-RANGE-SPEC
// defines it; when the constraints break the grammar it reads them like
// free text and marks the range inexact.
func parseVers(s string) (Range, error) {
	rest := s[len("vers:"):]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "vers range %q has no '/' after the scheme", clip(s))
	}
	scheme := strings.TrimSpace(rest[:slash])
	if scheme == "" {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "vers range %q has an empty scheme", clip(s))
	}
	body := strings.TrimSpace(rest[slash+1:])
	if body == "" {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "vers range %q has no constraints", clip(s))
	}
	if body == "*" {
		return Range{ivs: []interval{{}}, exact: true}, nil
	}
	r, strictErr := parseVersConstraints(body)
	if strictErr == nil {
		return r, nil
	}
	r, err := parseFree(body)
	if err != nil {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "vers range %q: %s", clip(s), bulwark.ErrorMessage(strictErr))
	}
	r.exact = false
	return r, nil
}

// parseVersConstraints reads "|"-separated constraints strictly: each is
// an optional comparator and one percent-encoded version; whitespace is
// not significant.
func parseVersConstraints(body string) (Range, error) {
	parts := strings.Split(body, "|")
	cs := make([]constraint, 0, len(parts))
	for _, p := range parts {
		p = strings.Join(strings.Fields(p), "")
		if p == "" {
			return Range{}, bulwark.Errorf(bulwark.EINVALID, "empty constraint")
		}
		o, n := readOp(p)
		if o == opNone {
			o = opEq
		}
		text := p[n:]
		if strings.ContainsRune(text, '%') {
			if u, err := url.PathUnescape(text); err == nil {
				text = u
			}
		}
		v, ok := Parse(text)
		if !ok {
			return Range{}, bulwark.Errorf(bulwark.EINVALID, "constraint %q: %q is not a comparable version", clip(p), clip(text))
		}
		cs = append(cs, constraint{op: o, v: v})
	}
	ivs, strict := build(cs)
	if err := checkIntervals(ivs); err != nil {
		return Range{}, err
	}
	if !strict {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "constraints %q are not in ascending order of alternating lower and upper bounds", clip(body))
	}
	return Range{ivs: ivs, exact: true}, nil
}

// readOp reads a comparator at the start of s and returns its length.
// "=>" and "=<" are read as ">=" and "<=": advisories write them.
func readOp(s string) (op, int) {
	for _, c := range [...]struct {
		text string
		op   op
	}{
		{"<=", opLe}, {">=", opGe}, {"=<", opLe}, {"=>", opGe}, {"!=", opNe}, {"<>", opNe},
		{"==", opEq}, {"<", opLt}, {">", opGt}, {"=", opEq}, {"≤", opLe}, {"≥", opGe},
	} {
		if strings.HasPrefix(s, c.text) {
			return c.op, len(c.text)
		}
	}
	return opNone, 0
}

// build turns constraints into intervals. Comparisons pair up in order: a
// lower bound followed by an upper bound is one interval, an unpaired
// upper bound is open below, an unpaired lower bound open above. "=" adds
// a version; "!=" removes one (from everything when nothing else bounds
// the range). strict is false when the comparisons are not what the vers
// grammar allows: alternating, ascending, an upper bound only first.
func build(cs []constraint) (ivs []interval, strict bool) {
	strict = true
	var eq []interval
	var ne []Version
	var comps []constraint
	for _, c := range cs {
		switch c.op {
		case opEq:
			eq = append(eq, point(c.v))
		case opNe:
			ne = append(ne, c.v)
		case opAll:
			ivs = append(ivs, interval{})
		case opInterval:
			ivs = append(ivs, c.iv)
		default:
			comps = append(comps, c)
		}
	}
	for i := 1; i < len(comps); i++ {
		a, b := comps[i-1].v, comps[i].v
		if Comparable(a, b) && Compare(a, b) > 0 {
			strict = false
		}
	}
	for i := 0; i < len(comps); i++ {
		c := comps[i]
		if c.op.upper() {
			if i != 0 {
				strict = false
			}
			ivs = append(ivs, interval{hi: bound{v: c.v, incl: c.op == opLe, set: true}})
			continue
		}
		iv := interval{lo: bound{v: c.v, incl: c.op == opGe, set: true}}
		if i+1 < len(comps) {
			if n := comps[i+1]; n.op.upper() {
				iv.hi = bound{v: n.v, incl: n.op == opLe, set: true}
				i++
			} else {
				strict = false
			}
		}
		ivs = append(ivs, iv)
	}
	if len(ne) > 0 {
		if len(ivs) == 0 && len(eq) == 0 {
			ivs = []interval{{}}
		}
		ivs = without(ivs, ne)
	}
	return append(ivs, eq...), strict
}

func checkIntervals(ivs []interval) error {
	for _, iv := range ivs {
		if err := checkOrder(iv); err != nil {
			return err
		}
	}
	return nil
}

// without removes the versions xs from the intervals that hold them.
// The points are sorted first so that each interval is cut in one pass:
// a vers range listing thousands of "!=" stays linear.
func without(ivs []interval, xs []Version) []interval {
	sort.SliceStable(xs, func(i, j int) bool { return Compare(xs[i], xs[j]) < 0 })
	out := make([]interval, 0, len(ivs)+len(xs))
	for _, iv := range ivs {
		cur, cut := iv, false
		for _, x := range xs {
			if in, ok := cur.contains(x); !ok || !in {
				continue
			}
			if !cur.lo.set || Compare(cur.lo.v, x) < 0 {
				out = append(out, interval{lo: cur.lo, hi: bound{v: x, set: true}})
			}
			cur, cut = interval{lo: bound{v: x, set: true}, hi: cur.hi}, true
		}
		if !cut || !cur.hi.set || Compare(cur.lo.v, cur.hi.v) < 0 {
			out = append(out, cur)
		}
	}
	return out
}

// itemKind classifies the words of a free-text range.
type itemKind uint8

const (
	itWord    itemKind = iota
	itOp               // a comparator
	itAlt              // "|": the next alternative
	itAnd              // "and", ",": the next constraint
	itTo               // "to", "through", "-": between two versions
	itBetween          // "between", "from"
	itPostLe           // "and prior", "or earlier": the version before is an upper bound
	itPostGe           // "and later", "or newer": the version before is a lower bound
	itIncl             // "(including)"
	itExcl             // "(excluding)"
	itStop             // a condition ("only", "if", "with"...): ignore the rest
	itNote             // a parenthesized remark, dropped
)

type item struct {
	kind itemKind
	op   op
	text string
}

var (
	earlierWords = set("prior", "earlier", "older", "lower", "below", "before", "previous")
	laterWords   = set("later", "newer", "higher", "above", "after", "greater")
	stopWords    = set("only", "if", "when", "with", "on", "in", "for", "running", "using", "except", "where", "installed", "without", "affected", "see", "via", "under")
	toWords      = set("to", "through", "thru", "-", "–", "—", "~")
)

func set(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// keyword is w lower-cased without surrounding punctuation, for matching
// phrases: "(only" is "only", "prior," is "prior".
func keyword(w string) string {
	return strings.ToLower(strings.Trim(w, "()[],.:;\"'"))
}

// lexFree splits free text into words and comparators: whitespace and '_'
// separate words (CISA writes "<V3.0_SP3"), a run of < > = ! is a
// comparator.
func lexFree(s string) ([]item, error) {
	var raw []item
	word := -1
	flush := func(i int) {
		if word < 0 {
			return
		}
		w := s[word:i]
		word = -1
		if len(w) > 1 && w[len(w)-1] == ',' {
			// "V15, V15.1 and V16": a comma ending a word separates
			// versions (step keeps it inside a date, "March 13, 2019").
			raw = append(raw, item{kind: itWord, text: w[:len(w)-1]}, item{kind: itWord, text: ","})
			return
		}
		raw = append(raw, item{kind: itWord, text: w})
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '|':
			flush(i)
			raw = append(raw, item{kind: itAlt})
		case isOpRune(r):
			flush(i)
			j := i
			for j < len(s) {
				r, n := utf8.DecodeRuneInString(s[j:])
				if !isOpRune(r) {
					break
				}
				j += n
			}
			o, n := readOp(s[i:j])
			if n != j-i {
				return nil, bulwark.Errorf(bulwark.EINVALID, "unknown comparator %q", clip(s[i:j]))
			}
			raw = append(raw, item{kind: itOp, op: o, text: s[i:j]})
			size = j - i
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '_' || r == '\u00a0':
			flush(i)
		default:
			if word < 0 {
				word = i
			}
		}
		i += size
	}
	flush(len(s))
	return classifyWords(raw), nil
}

// classifyWords turns phrase words into items.
func classifyWords(raw []item) []item {
	out := make([]item, 0, len(raw))
	kw := func(i int) string {
		if i < len(raw) && raw[i].kind == itWord {
			return keyword(raw[i].text)
		}
		return ""
	}
	for i := 0; i < len(raw); i++ {
		it := raw[i]
		if it.kind != itWord {
			out = append(out, it)
			continue
		}
		if strings.HasPrefix(it.text, "(") {
			if end, ok := remark(raw, i); ok {
				out = append(out, item{kind: itNote})
				i = end
				continue
			}
		}
		w := keyword(it.text)
		switch {
		case w == "prior" && kw(i+1) == "to",
			(w == "earlier" || w == "older" || w == "lower" || w == "less") && kw(i+1) == "than":
			out = append(out, item{kind: itOp, op: opLt, text: w})
			i++
		case w == "before" || w == "below" || w == "until":
			out = append(out, item{kind: itOp, op: opLt, text: w})
		case w == "up" && kw(i+1) == "to":
			out = append(out, item{kind: itOp, op: opLe, text: w})
			i++
			if kw(i+1) == "and" && kw(i+2) == "including" {
				i += 2
			}
		case (w == "and" || w == "or" || w == "&") && earlierWords[kw(i+1)]:
			out = append(out, item{kind: itPostLe, text: w})
			i++
			if strings.HasPrefix(kw(i+1), "version") || strings.HasPrefix(kw(i+1), "release") {
				i++
			}
		case (w == "and" || w == "or" || w == "&") && laterWords[kw(i+1)]:
			out = append(out, item{kind: itPostGe, text: w})
			i++
			if strings.HasPrefix(kw(i+1), "version") || strings.HasPrefix(kw(i+1), "release") {
				i++
			}
		case w == "and" || w == "&" || it.text == ",":
			out = append(out, item{kind: itAnd, text: it.text})
		case toWords[w] && it.text == strings.Trim(it.text, "()"):
			out = append(out, item{kind: itTo, text: w})
		case w == "between" || w == "from":
			out = append(out, item{kind: itBetween, text: w})
		case w == "including" || w == "inclusive" || w == "incl":
			out = append(out, item{kind: itIncl, text: w})
		case w == "excluding" || w == "exclusive" || w == "excl":
			out = append(out, item{kind: itExcl, text: w})
		case stopWords[w]:
			out = append(out, item{kind: itStop, text: w})
		default:
			out = append(out, it)
		}
	}
	return out
}

// remark reports whether the parenthesized group opening at raw[start]
// is a remark ("(integrated into GE MobileLink)", "(Windows 7, 10)")
// rather than part of a version ("3.5 (12)", "1.02.20 (build 286)"): it
// holds a word of four letters or more that versions are not made of.
// end is the index of the group's last word.
func remark(raw []item, start int) (end int, ok bool) {
	depth := 0
	prose := false
	for i := start; i < len(raw) && raw[i].kind == itWord; i++ {
		w := raw[i].text
		depth += strings.Count(w, "(") - strings.Count(w, ")")
		var buf [maxTokens]lexeme
		lx, _ := lexemes(w, buf[:])
		for _, l := range lx {
			if !l.digits && len(l.text) >= 4 && !knownWord(strings.ToLower(l.text)) {
				prose = true
			}
		}
		if depth <= 0 {
			return i, prose
		}
	}
	return 0, false
}

// freeState reads one alternative of a free-text range.
type freeState struct {
	cs      []constraint
	exact   bool
	op      op       // pending comparator
	words   []string // the version being read
	lo      *bound   // the start of "X to Y"
	loIncl  bool
	hiIncl  bool
	between bool
	started bool // a comparator or version was seen: no more labels
	sawAll  bool // a label said "all"
	stopped bool
}

func parseFree(s string) (Range, error) {
	items, err := lexFree(s)
	if err != nil {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "version range %q: %s", clip(s), bulwark.ErrorMessage(err))
	}
	exact := true
	var cs []constraint
	start := 0
	for i := 0; i <= len(items); i++ {
		if i < len(items) && items[i].kind != itAlt {
			continue
		}
		alt, err := parseAlternative(items[start:i])
		if err != nil {
			return Range{}, bulwark.Errorf(bulwark.EINVALID, "version range %q: %s", clip(s), bulwark.ErrorMessage(err))
		}
		exact = exact && alt.exact
		cs = append(cs, alt.cs...)
		start = i + 1
	}
	ivs, strict := build(cs)
	if err := checkIntervals(ivs); err != nil {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "version range %q: %s", clip(s), bulwark.ErrorMessage(err))
	}
	return Range{ivs: ivs, exact: exact && strict}, nil
}

func parseAlternative(items []item) (*freeState, error) {
	st := &freeState{exact: true, loIncl: true, hiIncl: true}
	for _, it := range items {
		if st.stopped {
			break
		}
		if err := st.step(it); err != nil {
			return nil, err
		}
	}
	if !st.stopped {
		if err := st.flush(); err != nil {
			return nil, err
		}
	}
	if len(st.cs) == 0 {
		if st.sawAll {
			st.cs = append(st.cs, constraint{op: opAll})
			return st, nil
		}
		return nil, bulwark.Errorf(bulwark.EINVALID, "no version found")
	}
	return st, nil
}

func (st *freeState) step(it item) error {
	switch it.kind {
	case itWord:
		if !st.started && st.op == opNone && len(st.words) == 0 && !hasDigit(it.text) {
			// A label before the range: "All versions", "Version", "All BIOS versions".
			st.exact = false
			if w := keyword(it.text); w == "all" || w == "any" || w == "*" {
				st.sawAll = true
			}
			return nil
		}
		if st.started && st.op == opNone && len(st.words) == 0 && st.lo == nil && !hasDigit(it.text) {
			// Words after a finished constraint ("and Function State (FS) <= 8")
			// qualify the range; they are not part of it.
			st.exact = false
			st.stopped = true
			return nil
		}
		st.started = true
		st.words = append(st.words, it.text)
	case itOp:
		if err := st.flush(); err != nil {
			return err
		}
		if st.lo != nil {
			return bulwark.Errorf(bulwark.EINVALID, "comparator %q inside a \"from ... to\" range", clip(it.text))
		}
		st.started = true
		st.op = it.op
		if r, _ := utf8.DecodeRuneInString(it.text); !isOpRune(r) {
			st.exact = false // a phrase such as "prior to"
		}
	case itPostLe, itPostGe:
		st.exact = false
		if len(st.words) == 0 {
			return bulwark.Errorf(bulwark.EINVALID, "%q follows no version", clip(it.text))
		}
		if st.op == opNone {
			st.op = opLe
			if it.kind == itPostGe {
				st.op = opGe
			}
		}
		return st.flush()
	case itTo:
		st.exact = false
		if len(st.words) == 0 || st.op != opNone || st.lo != nil {
			return st.flush()
		}
		return st.startInterval()
	case itAnd:
		if it.text == "," && len(st.words) == 2 && hasMonth(st.words) {
			return nil // the comma of "March 13, 2019"
		}
		st.exact = false
		if st.between && st.lo == nil && len(st.words) > 0 && st.op == opNone {
			return st.startInterval()
		}
		return st.flush()
	case itBetween:
		st.exact = false
		st.between = true
	case itIncl, itExcl:
		st.exact = false
		incl := it.kind == itIncl
		switch {
		case st.lo == nil:
			st.loIncl = incl
		case len(st.words) > 0:
			st.hiIncl = incl
		default:
			st.lo.incl = incl
		}
	case itNote:
		st.exact = false
	case itStop:
		st.exact = false
		if err := st.flush(); err != nil {
			return err
		}
		st.stopped = true
	}
	return nil
}

// startInterval ends the first version of "X to Y".
func (st *freeState) startInterval() error {
	v, err := versionText(st.words)
	if err != nil {
		return err
	}
	st.lo = &bound{v: v, incl: st.loIncl, set: true}
	st.words = nil
	return nil
}

// flush ends the version being read and records its constraint.
func (st *freeState) flush() error {
	o := st.op
	words := st.words
	st.op, st.words = opNone, nil
	if len(words) == 0 {
		if st.lo != nil {
			return bulwark.Errorf(bulwark.EINVALID, "range from %q has no end", clip(st.lo.v.s))
		}
		if o != opNone {
			return bulwark.Errorf(bulwark.EINVALID, "comparator without a version")
		}
		return nil
	}
	if st.lo != nil {
		hi, err := versionText(words)
		if err != nil {
			return err
		}
		iv := interval{lo: *st.lo, hi: bound{v: hi, incl: st.hiIncl, set: true}}
		st.lo = nil
		st.cs = append(st.cs, constraint{op: opInterval, iv: iv})
		return nil
	}
	text := strings.Join(words, " ")
	if isPrefixWildcard(text) {
		st.exact = false
		lo, next, err := prefixBounds(text)
		if err != nil {
			return err
		}
		switch o {
		case opLt:
			st.cs = append(st.cs, constraint{op: opLt, v: lo})
		case opLe:
			st.cs = append(st.cs, constraint{op: opLt, v: next})
		case opGt:
			st.cs = append(st.cs, constraint{op: opGe, v: next})
		case opGe:
			st.cs = append(st.cs, constraint{op: opGe, v: lo})
		case opNe:
			return bulwark.Errorf(bulwark.EINVALID, "\"!=\" with wildcard version %q", clip(text))
		default:
			iv := interval{lo: bound{v: lo, incl: true, set: true}, hi: bound{v: next, set: true}}
			st.cs = append(st.cs, constraint{op: opInterval, iv: iv})
		}
		return nil
	}
	v, err := versionText(words)
	if err != nil {
		return err
	}
	if o == opNone {
		o = opEq
	}
	st.cs = append(st.cs, constraint{op: o, v: v})
	return nil
}

// isPrefixWildcard reports whether text ends in ".x" or ".*".
func isPrefixWildcard(text string) bool {
	n := len(text)
	return n >= 3 && text[n-2] == '.' && isWildcard(text[n-1:])
}

// versionText parses the words of one version, refusing prose: three or
// more unknown words of three letters or more ("the first 5 digits of
// serial number 22081") are a sentence, not a version.
func versionText(words []string) (Version, error) {
	text := strings.Join(words, " ")
	var buf [maxTokens]lexeme
	lx, ok := lexemes(text, buf[:])
	if !ok {
		return Version{}, bulwark.Errorf(bulwark.EINVALID, "%q has too many parts for a version", clip(text))
	}
	prose := 0
	for _, l := range lx {
		if l.digits || len(l.text) < 3 {
			continue
		}
		w := strings.ToLower(l.text)
		if !knownWord(w) {
			prose++
		}
	}
	if prose >= 3 {
		return Version{}, bulwark.Errorf(bulwark.EINVALID, "%q reads as prose, not a version", clip(text))
	}
	v, ok := Parse(text)
	if !ok {
		return Version{}, bulwark.Errorf(bulwark.EINVALID, "%q is not a comparable version", clip(text))
	}
	return v, nil
}

// knownWord reports whether w is a word versions are made of.
func knownWord(w string) bool {
	if _, ok := words[w]; ok {
		return true
	}
	if _, ok := months[w]; ok {
		return true
	}
	switch w {
	case "version", "versions", "firmware", "final", "release", "stable",
		"including", "excluding", "inclusive", "exclusive":
		return true
	}
	return false
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

func isOpRune(r rune) bool {
	return r == '<' || r == '>' || r == '=' || r == '!' || r == '≤' || r == '≥'
}

// clip shortens s for an error message: the message must say what was
// wrong without echoing kilobytes of hostile input.
func clip(s string) string { return bulwark.Abbrev(s, 80) }

func hasMonth(words []string) bool {
	for _, w := range words {
		if _, ok := months[keyword(w)]; ok {
			return true
		}
	}
	return false
}
