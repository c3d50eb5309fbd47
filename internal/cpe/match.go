package cpe

import "fmt"

// Relation is the set relation between two attribute values or two
// names (NISTIR 7696 §6.2).
type Relation int

// Set relations. NISTIR 7696's "undefined" (a wildcard in the target) is
// reported as Disjoint: a pattern is never a platform.
const (
	Disjoint Relation = iota
	Subset
	Superset
	Equal
)

func (r Relation) String() string {
	switch r {
	case Disjoint:
		return "DISJOINT"
	case Subset:
		return "SUBSET"
	case Superset:
		return "SUPERSET"
	case Equal:
		return "EQUAL"
	}
	return fmt.Sprintf("Relation(%d)", int(r))
}

// CompareAttr returns the relation of a source attribute value to a
// target one, both canonical (as in a Name), after NISTIR 7696 Table
// 6-2:
//
//	source \ target   ANY       NA        i         m+w
//	ANY               EQUAL     SUPERSET  SUPERSET  SUPERSET (1)
//	NA                SUBSET    EQUAL     DISJOINT  DISJOINT (2)
//	i                 SUBSET    DISJOINT  EQUAL/DISJOINT  DISJOINT (2)
//	m+w               SUBSET    DISJOINT  SUPERSET/DISJOINT DISJOINT (2)
//
// (1) The table says undefined; ANY stands for every value, so it
// contains whatever set a pattern denotes, and an all-ANY criterion
// applies to every name. (2) Undefined in the table: a target with
// wildcards is a pattern, not a platform. Identical values are EQUAL in
// every case, patterns included.
//
// In a pattern m+w, a leading or trailing "*" matches any number of
// characters and each leading or trailing "?" at most one, as NISTIR
// 7696's compare_strings does; quoted characters (\!) count as one.
func CompareAttr(source, target string) Relation {
	switch {
	case source == target:
		return Equal
	case source == Any:
		return Superset
	case target == Any:
		return Subset
	case source == NA || target == NA || hasWildcard(target) || !hasWildcard(source):
		return Disjoint
	}
	if matchPattern(source, target) {
		return Superset
	}
	return Disjoint
}

// Matches reports whether the source name (a criterion) names a superset
// of, or the same set as, the target (a platform) on every attribute:
// NISTIR 7696's CPE_SUPERSET or EQUAL, which is how NVD applies a
// criterion to a platform name. It does not allocate.
func Matches(source, target Name) bool {
	for i := range source {
		if !attrMatches(source[i], target[i]) {
			return false
		}
	}
	return true
}

// MatchesExcept is Matches ignoring one attribute: the matcher compares
// versions itself, against the criterion's version range.
func MatchesExcept(source, target Name, skip Attr) bool {
	for i := range source {
		if Attr(i) != skip && !attrMatches(source[i], target[i]) {
			return false
		}
	}
	return true
}

// attrMatches is CompareAttr(s, t) is SUPERSET or EQUAL, with the common
// cases first: most criterion attributes are ANY.
func attrMatches(s, t string) bool {
	if len(s) == 1 && s[0] == '*' || s == t {
		return true
	}
	return CompareAttr(s, t) == Superset
}

// Compare returns the relation of source to target over all attributes:
// DISJOINT if any attribute is, EQUAL if all are, SUPERSET (SUBSET) if
// all are SUPERSET (SUBSET) or EQUAL, and DISJOINT for a mix.
func Compare(source, target Name) Relation {
	sup, sub := true, true
	for i := range source {
		switch CompareAttr(source[i], target[i]) {
		case Disjoint:
			return Disjoint
		case Superset:
			sub = false
		case Subset:
			sup = false
		}
	}
	switch {
	case sup && sub:
		return Equal
	case sup:
		return Superset
	case sub:
		return Subset
	}
	return Disjoint
}

// hasWildcard reports whether a canonical value holds an unquoted * or
// ?. Such wildcards can only stand at either end of a valid value.
func hasWildcard(v string) bool {
	if v == "" || v == Any {
		return false
	}
	if v[0] == '*' || v[0] == '?' {
		return true
	}
	last := len(v) - 1
	return (v[last] == '*' || v[last] == '?') && !quoted(v, last)
}

// quoted reports whether v[i] is quoted: preceded by an odd run of
// backslashes.
func quoted(v string, i int) bool {
	n := 0
	for i--; i >= 0 && v[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// matchPattern matches a pattern value (with wildcards) against a
// wildcard-free value, both canonical, so that literal characters have
// one spelling and a substring match at a character boundary is a
// character match.
func matchPattern(p, t string) bool {
	start, end := 0, len(p)
	begins, ends := 0, 0 // number of ?; -1 for *
	if p[0] == '*' {
		start, begins = 1, -1
	} else {
		for start < end && p[start] == '?' {
			start++
			begins++
		}
	}
	if end > start && p[end-1] == '*' && !quoted(p, end-1) {
		end, ends = end-1, -1
	} else {
		for end > start && p[end-1] == '?' && !quoted(p, end-1) {
			end--
			ends++
		}
	}
	body := p[start:end]
	chars := 0 // characters of t before i
	for i := 0; i <= len(t); i++ {
		if begins >= 0 && chars > begins {
			return false
		}
		if len(t)-i >= len(body) && t[i:i+len(body)] == body {
			if ends < 0 || countChars(t[i+len(body):]) <= ends {
				return true
			}
		}
		if i < len(t) && t[i] == '\\' {
			i++
		}
		chars++
	}
	return false
}

// countChars counts the characters of a canonical value, a quoted pair
// being one.
func countChars(v string) int {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			i++
		}
		n++
	}
	return n
}
