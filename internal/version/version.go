// Package version parses and orders the version strings found in
// vulnerability data and asset inventories (NVD CPE ranges, CVE 5
// "affected" entries, CSAF product_version_range branches, PURL vers
// ranges), and the version ranges those sources state.
//
// Firmware versions follow no single scheme: 1.2.3, 2.0b4, V3.1 SP2,
// 1.0.0-rc1, 4.2(1)M3, 8.3.2_p5, FW14, 3.5 (12). One ordering covers them
// all; its rules and examples are in docs/matching.md ("Version
// ordering"), whose example table is a test of this package.
//
// Parse splits a version once into tokens (numbers and classified words)
// so that Compare is a loop over small fixed-size values that never
// allocates: the matcher compares versions millions of times per run.
// When two versions cannot be ordered meaningfully (a date against a
// firmware number, a text-only label against a number) the API says so
// with ok=false instead of guessing.
package version

import (
	"strings"
)

// kind orders the tokens that can stand at one position of two versions.
// The values are the order: a pre-release sorts before the end of the
// version (1.0-rc1 < 1.0), a plain letter suffix after it (1.0 < 1.0a),
// a post-release qualifier after that, and a further number last
// (1.0a < 1.0 SP1 < 1.0.1). Letters sort before qualifiers because
// trailing letters are often a train or edition name: Juniper's 22.4-EVO
// comes before 22.4R3-EVO.
type kind uint8

const (
	kindPre  kind = iota + 1 // dev, alpha, beta, pre, rc; val is the rank
	kindEnd                  // never stored: what a shorter version has at a position
	kindWord                 // any other letters; val packs the first 8, lower-cased
	kindPost                 // build, rev, patch, hotfix, update, sp, post; val is the rank
	kindNum                  // digits; val is the number, saturated
)

type token struct {
	val  uint64
	kind kind
}

// class says which versions can be compared with which: a number-bearing
// version with another, a date with a date, a text-only label (no digit
// at all, like "FB") with another label.
type class uint8

const (
	classNone class = iota
	classNumeric
	classText
	classDate
)

// Limits that keep Parse bounded on hostile input. Real versions are far
// shorter (the longest in CISA's CSAF advisories is under 100 bytes).
const (
	maxVersionLen = 256
	maxTokens     = 32
)

// Version is a parsed, pre-tokenized version: comparing two is cheap and
// allocation-free. The zero Version is not comparable with anything.
type Version struct {
	s     string
	toks  []token
	class class
}

// String returns the text the version was parsed from.
func (v Version) String() string { return v.s }

// Valid reports whether v was parsed successfully.
func (v Version) Valid() bool { return v.class != classNone }

// IsDate reports whether v was read as a calendar date ("March 13, 2019").
func (v Version) IsDate() bool { return v.class == classDate }

// Comparable reports whether a and b are both valid and of the same class:
// both carry digits, both are dates, or both are digit-free labels.
func Comparable(a, b Version) bool {
	return a.class != classNone && a.class == b.class
}

// Compare returns -1, 0 or +1 as a sorts before, equal to or after b. It is
// a total preorder on all valid versions (different texts may compare
// equal: "1.0" and "V1.0.0"), but only meaningful when Comparable(a, b).
func Compare(a, b Version) int {
	at, bt := a.toks, b.toks
	n := min(len(at), len(bt))
	for i := 0; i < n; i++ {
		x, y := at[i], bt[i]
		if x.kind != y.kind {
			if x.kind < y.kind {
				return -1
			}
			return 1
		}
		if x.val != y.val {
			if x.val < y.val {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(at) > n:
		return vsEnd(at[n].kind)
	case len(bt) > n:
		return -vsEnd(bt[n].kind)
	}
	return 0
}

// vsEnd compares a token of kind k with the end of the other version.
func vsEnd(k kind) int {
	if k < kindEnd {
		return -1
	}
	return 1
}

// CompareStrings parses both strings and compares them; ok is false when
// either does not parse or the two are not Comparable.
func CompareStrings(a, b string) (int, bool) {
	va, ok := Parse(a)
	if !ok {
		return 0, false
	}
	vb, ok := Parse(b)
	if !ok || !Comparable(va, vb) {
		return 0, false
	}
	return Compare(va, vb), true
}

// placeholders are texts sources write where they have no version.
var placeholders = map[string]bool{
	"*": true, "-": true, "?": true, "x": true, "n/a": true, "na": true,
	"none": true, "null": true, "nil": true, "unknown": true,
	"unspecified": true, "all": true, "any": true, "latest": true, "tbd": true,
}

// Parse reads s as one version. ok is false for empty text, placeholders
// ("*", "-", "n/a", "unknown", ...), wildcards ("2.x", "1.*"), text holding
// range operators (< > = ! |), text without any letter or digit, and text
// longer than 256 bytes or with more than 32 tokens.
func Parse(s string) (Version, bool) {
	t := strings.TrimSpace(s)
	if t == "" || len(t) > maxVersionLen || isPlaceholder(t) {
		return Version{}, false
	}
	if strings.ContainsAny(t, "<>=!|*") {
		return Version{}, false
	}
	var buf [maxTokens]lexeme
	lx, ok := lexemes(t, buf[:])
	if !ok || len(lx) == 0 {
		return Version{}, false
	}
	if toks, ok := parseDate(lx); ok {
		return Version{s: s, toks: toks, class: classDate}, true
	}
	toks, digits, ok := tokenize(lx)
	if !ok {
		return Version{}, false
	}
	c := classText
	if digits {
		c = classNumeric
	} else if len(toks) == 0 {
		return Version{}, false // only words meaning "the release": "final", "GA"
	}
	return Version{s: s, toks: toks, class: c}, true
}

// lexeme is a maximal run of digits or of ASCII letters.
type lexeme struct {
	text      string
	digits    bool
	afterDot  bool // the byte before it is '.'
	nextDigit bool // the byte after it is a digit
	last      bool // it ends the text, or a '.' follows
}

// lexemes splits t into digit and letter runs; every other byte
// (punctuation, space, non-ASCII) only separates. It returns false when
// there are more than maxTokens runs.
func lexemes(t string, buf []lexeme) ([]lexeme, bool) {
	out := buf[:0]
	for i := 0; i < len(t); {
		c := t[i]
		isD, isL := isDigit(c), isLetter(c)
		if !isD && !isL {
			i++
			continue
		}
		j := i + 1
		for j < len(t) && (isD && isDigit(t[j]) || isL && isLetter(t[j])) {
			j++
		}
		if len(out) == maxTokens {
			return nil, false
		}
		out = append(out, lexeme{
			text:      t[i:j],
			digits:    isD,
			afterDot:  i > 0 && t[i-1] == '.',
			nextDigit: j < len(t) && isDigit(t[j]),
			last:      j == len(t) || t[j] == '.',
		})
		i = j
	}
	return out, true
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// tokenize turns t into tokens. Words before the first number are a label
// ("V", "FW", "R", "Version", "rev.") and are dropped when a number
// follows; trailing zeros of each run of numbers are dropped so that 1.0,
// 1 and 1.0.0 are equal and 1.0-rc1 equals 1-rc1.
func tokenize(lx []lexeme) (toks []token, digits, ok bool) {
	first := -1
	for i, l := range lx {
		if l.digits {
			first = i
			break
		}
	}
	if first > 0 {
		lx = lx[first:]
	}
	toks = make([]token, 0, len(lx))
	for _, l := range lx {
		if l.digits {
			toks = append(toks, token{kind: kindNum, val: atoi(l.text)})
			continue
		}
		var lb [16]byte
		lower := lowerInto(lb[:], l.text)
		if len(lower) == 1 && lower[0] == 'x' && l.afterDot && l.last {
			// A wildcard component (2.x, 3.X.17): a range, not a version.
			// Drupal's 6.x-1.0 names a module release and stays a version.
			return nil, false, false
		}
		k, val, keep := classify(lower, l.nextDigit)
		if keep {
			toks = append(toks, token{kind: k, val: val})
		}
	}
	return stripZeros(toks), first >= 0, true
}

// stripZeros removes the zeros that end each run of consecutive numbers.
func stripZeros(toks []token) []token {
	out := toks[:0]
	run := 0 // zeros pending in the current run of numbers
	for _, tk := range toks {
		if tk.kind == kindNum {
			if tk.val == 0 {
				run++
				continue
			}
			for ; run > 0; run-- {
				out = append(out, token{kind: kindNum})
			}
			out = append(out, tk)
			continue
		}
		run = 0
		out = append(out, tk)
	}
	return out
}

// atoi reads a run of digits, saturating at the largest uint64: numbers
// that long are hashes or serials, whose order does not matter.
func atoi(s string) uint64 {
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if n > (^uint64(0)-d)/10 {
			return ^uint64(0)
		}
		n = n*10 + d
	}
	return n
}

// Pre-release ranks.
const (
	preDev = iota
	preAlpha
	preBeta
	prePre
	preRC
)

// Post-release ranks. An update without a service pack sorts before any
// service pack (V14 Update 3 < V14 SP1), a hotfix before an update.
const (
	postBuild = iota
	postRev
	postPatch
	postHotfix
	postUpdate
	postSP
	postPost
)

var words = map[string]struct {
	k kind
	v uint64
}{
	"dev": {kindPre, preDev}, "snapshot": {kindPre, preDev}, "nightly": {kindPre, preDev},
	"alpha": {kindPre, preAlpha},
	"beta":  {kindPre, preBeta},
	"pre":   {kindPre, prePre}, "preview": {kindPre, prePre},
	"rc": {kindPre, preRC}, "cr": {kindPre, preRC},
	"build": {kindPost, postBuild}, "bld": {kindPost, postBuild},
	"rev": {kindPost, postRev}, "revision": {kindPost, postRev},
	"patch": {kindPost, postPatch}, "pl": {kindPost, postPatch},
	"hf": {kindPost, postHotfix}, "hotfix": {kindPost, postHotfix}, "fix": {kindPost, postHotfix},
	"update": {kindPost, postUpdate}, "upd": {kindPost, postUpdate},
	"sp": {kindPost, postSP}, "servicepack": {kindPost, postSP},
	"post": {kindPost, postPost},
}

// letterQualifiers are single letters that are qualifiers only when a
// number follows at once (2.0b4 is beta 4, 8.3.2_p5 patch 5); alone they
// are a revision letter (1.0b comes after 1.0a, after 1.0).
var letterQualifiers = map[string]struct {
	k kind
	v uint64
}{
	"a": {kindPre, preAlpha},
	"b": {kindPre, preBeta},
	"p": {kindPost, postPatch},
	"r": {kindPost, postRev},
	"u": {kindPost, postUpdate},
}

// lowerInto lower-cases the ASCII letters of w into buf, or into a new
// slice when w is longer than buf (only the first 8 letters of an unknown
// word matter, but known words must match whole).
func lowerInto(buf []byte, w string) []byte {
	if len(w) > len(buf) {
		buf = make([]byte, len(w))
	}
	buf = buf[:len(w)]
	for i := 0; i < len(w); i++ {
		buf[i] = w[i] | 0x20 // w holds only ASCII letters
	}
	return buf
}

// classify returns the token for a lower-cased word; keep is false for
// words that mean "the release itself" (final, ga, release, stable).
func classify(w []byte, nextDigit bool) (k kind, val uint64, keep bool) {
	switch string(w) {
	case "final", "ga", "release", "stable":
		return 0, 0, false
	}
	if q, ok := words[string(w)]; ok {
		return q.k, q.v, true
	}
	if nextDigit && len(w) == 1 {
		if q, ok := letterQualifiers[string(w)]; ok {
			return q.k, q.v, true
		}
	}
	return kindWord, pack(w), true
}

// isPlaceholder reports whether t is a text sources write for "no version".
func isPlaceholder(t string) bool {
	if len(t) > len("unspecified") {
		return false
	}
	var buf [16]byte
	b := buf[:len(t)]
	for i := 0; i < len(t); i++ {
		c := t[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return placeholders[string(b)]
}

// pack puts the first 8 bytes of w in a uint64 so that comparing the
// numbers compares the words (a shorter word sorts first, as "a" < "ab").
// Words that agree on 8 letters compare equal.
func pack(w []byte) uint64 {
	var v uint64
	for i := 0; i < 8; i++ {
		v <<= 8
		if i < len(w) {
			v |= uint64(w[i])
		}
	}
	return v
}

var months = map[string]uint64{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
	"apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
	"aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
	"oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

// parseDate reads dates written with a month name ("March 13, 2019",
// "May/5/2023", "13 Mar 2019") as year, month, day. Numeric dates such as
// 2021-8-13 stay ordinary versions: read left to right they already order
// like dates when written year first.
func parseDate(lx []lexeme) ([]token, bool) {
	if len(lx) != 3 {
		return nil, false
	}
	var month, day, year uint64
	for _, l := range lx {
		if !l.digits {
			var lb [16]byte
			m, ok := months[string(lowerInto(lb[:], l.text))]
			if !ok || month != 0 {
				return nil, false
			}
			month = m
			continue
		}
		n := atoi(l.text)
		switch {
		case len(l.text) == 4 && year == 0:
			year = n
		case len(l.text) <= 2 && n >= 1 && n <= 31 && day == 0:
			day = n
		default:
			return nil, false
		}
	}
	if month == 0 || day == 0 || year == 0 {
		return nil, false
	}
	return []token{{kind: kindNum, val: year}, {kind: kindNum, val: month}, {kind: kindNum, val: day}}, true
}
