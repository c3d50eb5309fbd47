package version

import (
	"strconv"
	"strings"

	"bulwark"
)

// bound is one end of an interval; set false means unbounded.
type bound struct {
	v    Version
	incl bool
	set  bool
}

// interval is the versions between lo and hi.
type interval struct {
	lo, hi bound
}

// Range is a union of intervals over versions. The zero Range contains
// nothing.
type Range struct {
	ivs   []interval
	exact bool
}

// Exact reports whether the range was read from a strict grammar (vers:,
// NVD bounds, CVE 5 fields, clean operators) rather than with heuristics
// (free text such as "all versions prior to 4.2").
func (r Range) Exact() bool { return r.exact }

// All reports whether the range holds every version.
func (r Range) All() bool {
	for _, iv := range r.ivs {
		if !iv.lo.set && !iv.hi.set {
			return true
		}
	}
	return false
}

// Contains reports whether v lies in the range. ok is false when v is not
// valid, or when no interval holds v and some interval has a bound that v
// cannot be compared with (a date, a text label): the range cannot tell.
func (r Range) Contains(v Version) (in bool, ok bool) {
	if !v.Valid() {
		return false, false
	}
	unknown := false
	for i := range r.ivs {
		in, ok := r.ivs[i].contains(v)
		if !ok {
			unknown = true
			continue
		}
		if in {
			return true, true
		}
	}
	return false, !unknown
}

func (iv *interval) contains(v Version) (in, ok bool) {
	loOK, hiOK := true, true
	if iv.lo.set {
		if Comparable(iv.lo.v, v) {
			c := Compare(v, iv.lo.v)
			if c < 0 || c == 0 && !iv.lo.incl {
				return false, true
			}
		} else {
			loOK = false
		}
	}
	if iv.hi.set {
		if Comparable(iv.hi.v, v) {
			c := Compare(v, iv.hi.v)
			if c > 0 || c == 0 && !iv.hi.incl {
				return false, true
			}
		} else {
			hiOK = false
		}
	}
	if !loOK || !hiOK {
		return false, false
	}
	return true, true
}

// String renders the range in the operator syntax ParseRange reads back:
// "*" for all versions, "=1.0" for one version, ">=1.0 <2.0" for an
// interval, alternatives joined by " | ", "none" for the empty range.
func (r Range) String() string {
	if len(r.ivs) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, iv := range r.ivs {
		if i > 0 {
			b.WriteString(" | ")
		}
		switch {
		case !iv.lo.set && !iv.hi.set:
			b.WriteString("*")
			continue
		case iv.lo.set && iv.hi.set && iv.lo.incl && iv.hi.incl && iv.lo.v.s == iv.hi.v.s:
			b.WriteString("=" + strings.TrimSpace(iv.lo.v.s))
			continue
		}
		if iv.lo.set {
			b.WriteString(">")
			if iv.lo.incl {
				b.WriteString("=")
			}
			b.WriteString(strings.TrimSpace(iv.lo.v.s))
		}
		if iv.hi.set {
			if iv.lo.set {
				b.WriteString(" ")
			}
			b.WriteString("<")
			if iv.hi.incl {
				b.WriteString("=")
			}
			b.WriteString(strings.TrimSpace(iv.hi.v.s))
		}
	}
	return b.String()
}

func parseBound(field, s string) (Version, error) {
	v, ok := Parse(s)
	if !ok {
		return Version{}, bulwark.Errorf(bulwark.EINVALID, "%s %q is not a comparable version", field, clip(s))
	}
	return v, nil
}

// Bounds builds the range of an NVD cpeMatch from its four fields; "" is
// unbounded. Setting both starts or both ends, an unparsable bound, or a
// start above the end is an error.
func Bounds(startIncl, startExcl, endIncl, endExcl string) (Range, error) {
	if startIncl != "" && startExcl != "" {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "versionStartIncluding %q and versionStartExcluding %q are both set", clip(startIncl), clip(startExcl))
	}
	if endIncl != "" && endExcl != "" {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "versionEndIncluding %q and versionEndExcluding %q are both set", clip(endIncl), clip(endExcl))
	}
	var iv interval
	var err error
	switch {
	case startIncl != "":
		iv.lo = bound{incl: true, set: true}
		iv.lo.v, err = parseBound("versionStartIncluding", startIncl)
	case startExcl != "":
		iv.lo = bound{set: true}
		iv.lo.v, err = parseBound("versionStartExcluding", startExcl)
	}
	if err != nil {
		return Range{}, err
	}
	switch {
	case endIncl != "":
		iv.hi = bound{incl: true, set: true}
		iv.hi.v, err = parseBound("versionEndIncluding", endIncl)
	case endExcl != "":
		iv.hi = bound{set: true}
		iv.hi.v, err = parseBound("versionEndExcluding", endExcl)
	}
	if err != nil {
		return Range{}, err
	}
	if err := checkOrder(iv); err != nil {
		return Range{}, err
	}
	return Range{ivs: []interval{iv}, exact: true}, nil
}

// checkOrder rejects an interval whose start lies above its end (no
// source means the empty range) or whose ends cannot be compared (a date
// and a number).
func checkOrder(iv interval) error {
	if !iv.lo.set || !iv.hi.set {
		return nil
	}
	if !Comparable(iv.lo.v, iv.hi.v) {
		return bulwark.Errorf(bulwark.EINVALID, "range bounds %q and %q cannot be compared", clip(iv.lo.v.s), clip(iv.hi.v.s))
	}
	c := Compare(iv.lo.v, iv.hi.v)
	if c > 0 || c == 0 && !(iv.lo.incl && iv.hi.incl) {
		return bulwark.Errorf(bulwark.EINVALID, "empty range: start %q is not below end %q", clip(iv.lo.v.s), clip(iv.hi.v.s))
	}
	return nil
}

// Exactly returns the range holding the single version v.
func Exactly(v string) (Range, error) {
	pv, err := parseBound("version", v)
	if err != nil {
		return Range{}, err
	}
	return Range{ivs: []interval{point(pv)}, exact: true}, nil
}

func point(v Version) interval {
	return interval{lo: bound{v: v, incl: true, set: true}, hi: bound{v: v, incl: true, set: true}}
}

// CVE5 builds the range of one CVE 5 "versions" entry: version alone is
// one version (or, when it is a range expression such as "All versions <
// V4.1.4", that range, inexact); with lessThan or lessThanOrEqual it is
// the start, where "0", "*", "unspecified" or "" mean from the beginning.
// A bound of "*", "unspecified", "publication" or "latest" means no end;
// one ending in ".*"
// (lessThan "2.0.*" or lessThanOrEqual "6.6.*" next to version "6.6.33")
// means up to the next release of that prefix (< 2.1, < 6.7).
func CVE5(version, lessThan, lessThanOrEqual string) (Range, error) {
	version = strings.TrimSpace(version)
	lessThan = strings.TrimSpace(lessThan)
	lessThanOrEqual = strings.TrimSpace(lessThanOrEqual)
	if lessThan != "" && lessThanOrEqual != "" {
		return Range{}, bulwark.Errorf(bulwark.EINVALID, "lessThan %q and lessThanOrEqual %q are both set", clip(lessThan), clip(lessThanOrEqual))
	}
	if lessThan == "" && lessThanOrEqual == "" {
		if version == "*" {
			return Range{ivs: []interval{{}}, exact: true}, nil
		}
		r, err := Exactly(version)
		if err == nil {
			return r, nil
		}
		// Some CNAs write the whole range in version ("All versions < V4.1.4").
		r, rerr := ParseRange(version)
		if rerr != nil {
			return Range{}, err
		}
		r.exact = false
		return r, nil
	}
	var iv interval
	exact := true
	switch strings.ToLower(version) {
	case "", "0", "*", "unspecified", "unknown", "n/a":
	case strings.ToLower(lessThan):
		// Chrome's CNA writes version X, lessThan X for "before X"; read
		// literally it is empty.
		exact = false
	default:
		if isPrefixWildcard(version) {
			// "5.1.x" with lessThan "5.1.6": from the start of the branch.
			lo, _, err := prefixBounds(version)
			if err != nil {
				return Range{}, err
			}
			iv.lo = bound{v: lo, incl: true, set: true}
			exact = false
			break
		}
		v, err := parseBound("version", version)
		if err != nil {
			return Range{}, err
		}
		iv.lo = bound{v: v, incl: true, set: true}
	}
	var err error
	switch {
	case isPrefixWildcard(lessThanOrEqual):
		// The Linux kernel CNA writes version 6.6.33, lessThanOrEqual 6.6.*
		// for the rest of a stable branch: < 6.7.
		var next Version
		_, next, err = prefixBounds(lessThanOrEqual)
		iv.hi = bound{v: next, set: true}
	case lessThanOrEqual != "":
		if !unbounded(lessThanOrEqual) {
			iv.hi = bound{incl: true, set: true}
			iv.hi.v, err = parseBound("lessThanOrEqual", lessThanOrEqual)
		}
	case unbounded(lessThan):
	case isPrefixWildcard(lessThan):
		var next Version
		_, next, err = prefixBounds(lessThan)
		iv.hi = bound{v: next, set: true}
	default:
		iv.hi = bound{set: true}
		iv.hi.v, err = parseBound("lessThan", lessThan)
	}
	if err != nil {
		return Range{}, err
	}
	if err := checkOrder(iv); err != nil {
		return Range{}, err
	}
	return Range{ivs: []interval{iv}, exact: exact}, nil
}

// unbounded reports whether a CVE 5 upper bound means "no end known":
// "*", "unspecified", and "publication" or "latest" (the CNA did not
// know a fixed version when it published).
func unbounded(s string) bool {
	switch strings.ToLower(s) {
	case "*", "unspecified", "unknown", "n/a", "publication", "latest":
		return true
	}
	return false
}

// prefixBounds reads a wildcard version such as "2.x", "2.0.*" or "V3.X"
// as the half-open interval [2, 3), [2.0, 2.1), [V3, V4): the prefix, and
// the prefix with its last number incremented.
func prefixBounds(s string) (lo, next Version, err error) {
	t := strings.TrimSpace(s)
	cut := strings.LastIndexByte(t, '.')
	if cut <= 0 || !isWildcard(t[cut+1:]) {
		return Version{}, Version{}, bulwark.Errorf(bulwark.EINVALID, "%q is not a wildcard version like 2.x", clip(s))
	}
	prefix := t[:cut]
	end := len(prefix)
	for end > 0 && !isDigit(prefix[end-1]) {
		end--
	}
	start := end
	for start > 0 && isDigit(prefix[start-1]) {
		start--
	}
	if start == end || end-start > 18 {
		return Version{}, Version{}, bulwark.Errorf(bulwark.EINVALID, "wildcard version %q has no number before the wildcard", clip(s))
	}
	n, _ := strconv.ParseUint(prefix[start:end], 10, 64)
	upper := prefix[:start] + strconv.FormatUint(n+1, 10) + prefix[end:]
	lo, ok1 := Parse(prefix)
	next, ok2 := Parse(upper)
	if !ok1 || !ok2 {
		return Version{}, Version{}, bulwark.Errorf(bulwark.EINVALID, "wildcard version %q has no comparable prefix", clip(s))
	}
	return lo, next, nil
}

func isWildcard(s string) bool { return s == "*" || s == "x" || s == "X" }
