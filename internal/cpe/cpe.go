// Package cpe parses, normalizes and matches CPE 2.3 names: the naming
// specification (NISTIR 7695: formatted-string and URI bindings) and the
// name matching specification (NISTIR 7696), with NVD's way of applying a
// match criterion to a platform name.
//
// Bulwark has its own implementation rather than using a CPE library
// (nvdtools' wfn is the reference it is tested against) because the
// vulnerability matcher needs what wfn does not give: canonical names,
// so that equal names are equal strings, can be map keys and indexed by
// Key (wfn keeps case and its own quoting); parsing without allocation
// (a canonical FS name is returned as substrings of the input, where
// wfn.Parse allocates ten times and is about four times slower);
// matching without allocation, at wfn.Match's speed; and a maintained,
// precise parser whose errors say which attribute is wrong and why
// (wfn is dormant, and misreads a value that starts with a quoted
// colon). The numbers are in docs/performance.md.
//
// A Name holds each attribute in the canonical formatted-string (FS)
// form: "*" is ANY, "-" is NA, letters are lowercase, "." "-" and "_"
// are unquoted and every other punctuation character is quoted with a
// backslash. The URI binding is converted to the same form, so a name
// parsed from either binding compares equal.
package cpe

import (
	"errors"
	"fmt"
	"strings"

	"bulwark"
)

// Attr is the index of an attribute in a Name.
type Attr int

// Attributes in the order of the formatted-string binding.
const (
	Part Attr = iota
	Vendor
	Product
	Version
	Update
	Edition
	Language
	SWEdition
	TargetSW
	TargetHW
	Other
)

var attrNames = [...]string{"part", "vendor", "product", "version", "update", "edition", "language", "sw_edition", "target_sw", "target_hw", "other"}

// String returns the attribute's name as NISTIR 7695 spells it.
func (a Attr) String() string {
	if a < 0 || int(a) >= len(attrNames) {
		return fmt.Sprintf("Attr(%d)", int(a))
	}
	return attrNames[a]
}

// Logical values in the canonical form.
const (
	Any = "*"
	NA  = "-"
)

// MaxLen bounds the length of a name Parse and Validate accept. Real
// names are well under 200 bytes; the bound keeps hostile input cheap.
const MaxLen = 1024

// Name is a CPE 2.3 name: the canonical formatted-string value of each
// attribute (see the package comment). The zero Name is not valid; use
// Parse.
type Name [11]string

const (
	fsPrefix  = "cpe:2.3:"
	uriPrefix = "cpe:/"
)

// Parse parses a CPE name in the formatted-string binding
// (cpe:2.3:part:vendor:...) or the URI binding (cpe:/part:vendor:...)
// and returns it in canonical form. An FS name that is already canonical
// is returned without allocation: the attributes are substrings of s.
//
// Parse is more lenient than Validate in two places, both as NISTIR 7695
// allows: part may be a logical value (ANY or NA) as well as a, o or h,
// and language may be any value (Validate wants a language tag), so that
// every NVD criterion parses. The prefix is matched without regard to
// case. Errors name the attribute, its position and the reason; errors
// about one attribute wrap an *AttrError.
func Parse(s string) (Name, error) {
	if len(s) > MaxLen {
		return Name{}, fmt.Errorf("cpe: name is %d bytes long, more than %d", len(s), MaxLen)
	}
	switch {
	case hasPrefixFold(s, fsPrefix):
		return parseFS(s)
	case hasPrefixFold(s, uriPrefix):
		return parseURI(s)
	}
	return Name{}, fmt.Errorf("cpe: %q is not a CPE name: it must start with cpe:2.3: (formatted string) or cpe:/ (URI)", bulwark.Abbrev(s, 120))
}

// MustParse is Parse for names known to be valid (tests, tables); it
// panics on error.
func MustParse(s string) Name {
	n, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

func parseFS(s string) (Name, error) {
	var n Name
	rest := s[len(fsPrefix):]
	i := 0
	for {
		end := colon(rest)
		if i == len(n) {
			return Name{}, fmt.Errorf("cpe: %q has more than 11 components after cpe:2.3:", bulwark.Abbrev(s, 120))
		}
		v, err := canonFS(Attr(i), rest[:end])
		if err != nil {
			return Name{}, fmt.Errorf("cpe: %q: %w", bulwark.Abbrev(s, 120), err)
		}
		n[i] = v
		i++
		if end == len(rest) {
			break
		}
		rest = rest[end+1:]
	}
	if i != len(n) {
		return Name{}, fmt.Errorf("cpe: %q has %d components after cpe:2.3:, want 11 (part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other; use * for any)", bulwark.Abbrev(s, 120), i)
	}
	return n, nil
}

// colon returns the index of the first colon of s not quoted by a
// backslash, or len(s).
func colon(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ':':
			return i
		}
	}
	return len(s)
}

// AttrError says why one attribute of a name is malformed.
type AttrError struct {
	Attr  Attr
	Value string // as written
	Why   string
}

func (e *AttrError) Error() string {
	return fmt.Sprintf("%s %q (component %d): %s", e.Attr, bulwark.Abbrev(e.Value, 120), int(e.Attr)+1, e.Why)
}

// canonFS checks one FS component and returns its canonical form. It
// allocates only when the component is not canonical already.
func canonFS(a Attr, c string) (string, error) {
	if c == Any || c == NA {
		return c, nil
	}
	canonical, why := scanAV(c)
	if why != "" {
		return "", &AttrError{a, c, why}
	}
	if !canonical {
		c = canonicalize(c)
	}
	if a == Part && c != "a" && c != "o" && c != "h" {
		return "", &AttrError{a, c, "want a (application), o (operating system/firmware), h (hardware) or *"}
	}
	return c, nil
}

// cpePunct is the punctuation that may be quoted in an FS value.
const cpePunct = "!\"#$%&'()+,-./:;<=>@[]^`{|}~"

// scanAV checks that c is an FS avstring (NISTIR 7695 §6.2.2):
//
//	avstring  = [spec] 1*(unreserved / quoted) [spec]
//	spec      = 1*"?" / "*"
//	unreserved= ALPHA / DIGIT / "_" / "-" / "."
//	quoted    = "\" ("\" / "*" / "?" / punctuation)
//
// It returns why not, or whether c is already canonical (no uppercase
// letter and no needless quoting of "." or "-").
func scanAV(c string) (canonical bool, why string) {
	if c == "" {
		return false, "empty component (use * for any or - for not applicable)"
	}
	canonical = true
	i := 0
	// Leading special characters: one * or any number of ?.
	if c[0] == '*' {
		i = 1
	} else {
		for i < len(c) && c[i] == '?' {
			i++
		}
	}
	body := 0
	for i < len(c) {
		ch := c[i]
		switch {
		case ch >= 'a' && ch <= 'z' || isDigit(ch) || ch == '_' || ch == '-' || ch == '.':
			body++
			i++
		case ch >= 'A' && ch <= 'Z':
			canonical = false
			body++
			i++
		case ch == '\\':
			if i+1 >= len(c) {
				return false, "ends with an unfinished \\ escape"
			}
			n := c[i+1]
			if n != '\\' && n != '*' && n != '?' && strings.IndexByte(cpePunct, n) < 0 {
				return false, fmt.Sprintf("\\%c is not a valid escape (only punctuation is escaped)", n)
			}
			if (n == '.' || n == '-') && c != `\-` {
				canonical = false
			}
			body++
			i += 2
		case ch == '*' || ch == '?':
			// Trailing special characters end the value.
			rest := c[i:]
			if rest != "*" && strings.Trim(rest, "?") != "" {
				return false, "* and ? are wildcards allowed only at the start or end; escape them as \\* and \\?"
			}
			i = len(c)
		default:
			if ch < 0x20 || ch >= 0x7f {
				return false, "contains a character outside printable ASCII"
			}
			return false, fmt.Sprintf("character %q must be escaped as \\%c", ch, ch)
		}
	}
	if body == 0 {
		return false, "wildcards need at least one other character"
	}
	return canonical, ""
}

// canonicalize lowercases a valid avstring and unquotes "." and "-",
// which the FS binding writes unquoted. A value that is a lone quoted
// hyphen keeps its quote: unquoted it would read as NA.
func canonicalize(c string) string {
	if c == `\-` {
		return c
	}
	b := make([]byte, 0, len(c))
	for i := 0; i < len(c); i++ {
		ch := c[i]
		switch {
		case ch >= 'A' && ch <= 'Z':
			b = append(b, ch+'a'-'A')
		case ch == '\\':
			i++
			if n := c[i]; n != '.' && n != '-' {
				b = append(b, '\\')
			}
			b = append(b, c[i])
		default:
			b = append(b, ch)
		}
	}
	return string(b)
}

// parseURI parses the CPE 2.2-style URI binding (NISTIR 7695 §6.1):
// up to seven colon-separated components, percent-encoded, with the five
// extended attributes packed into the edition as ~ed~swed~tsw~thw~other.
// Each value is converted to FS form and checked as an FS value, so the
// two bindings accept the same values.
func parseURI(s string) (Name, error) {
	rest := s[len(uriPrefix):]
	comps := strings.Split(rest, ":")
	if len(comps) > 7 {
		return Name{}, fmt.Errorf("cpe: %q has %d components after cpe:/, want at most 7 (part:vendor:product:version:update:edition:language)", bulwark.Abbrev(s, 120), len(comps))
	}
	var raw [11]string
	var set [11]bool
	for i, c := range comps {
		if i == int(Edition) && strings.HasPrefix(c, "~") {
			packed := strings.Split(c, "~")
			if len(packed) != 6 {
				return Name{}, fmt.Errorf("cpe: %q: packed edition %q has %d fields, want 5 (~edition~sw_edition~target_sw~target_hw~other)", bulwark.Abbrev(s, 120), bulwark.Abbrev(c, 120), len(packed)-1)
			}
			for j, a := range [...]Attr{Edition, SWEdition, TargetSW, TargetHW, Other} {
				raw[a], set[a] = packed[j+1], true
			}
			continue
		}
		a := Attr(i)
		if i == 6 {
			a = Language
		}
		raw[a], set[a] = c, true
	}
	var n Name
	for a := range n {
		if !set[a] || raw[a] == "" {
			n[a] = Any
			continue
		}
		v, err := decodeURI(Attr(a), raw[a])
		if err != nil {
			return Name{}, fmt.Errorf("cpe: %q: %w", bulwark.Abbrev(s, 120), err)
		}
		n[a] = v
	}
	return n, nil
}

// decodeURI turns one URI component into a canonical FS value.
func decodeURI(a Attr, c string) (string, error) {
	if c == NA {
		return NA, nil
	}
	b := make([]byte, 0, len(c)+4)
	for i := 0; i < len(c); i++ {
		ch := c[i]
		switch {
		case ch >= 'A' && ch <= 'Z':
			b = append(b, ch+'a'-'A')
		case ch >= 'a' && ch <= 'z' || isDigit(ch) || ch == '.' || ch == '-' || ch == '_':
			b = append(b, ch)
		case ch == '%':
			if i+2 >= len(c) || unhex(c[i+1]) < 0 || unhex(c[i+2]) < 0 {
				return "", &AttrError{a, c, fmt.Sprintf("%% at byte %d is not followed by two hex digits", i)}
			}
			d := byte(unhex(c[i+1])<<4 | unhex(c[i+2]))
			i += 2
			switch {
			case d == 0x01:
				b = append(b, '?') // wildcards: %01 is ?, %02 is *
			case d == 0x02:
				b = append(b, '*')
			case d == '.' || d == '-' || d == '_':
				b = append(b, d)
			case d == '\\' || d == '*' || d == '?' || strings.IndexByte(cpePunct, d) >= 0:
				b = append(b, '\\', d)
			case d >= 'A' && d <= 'Z':
				b = append(b, d+'a'-'A')
			case d >= 'a' && d <= 'z' || isDigit(d):
				b = append(b, d)
			default:
				return "", &AttrError{a, c, fmt.Sprintf("%%%02x decodes to a character not allowed in a CPE name", d)}
			}
		case ch == '~' && a != Edition:
			// NISTIR 7695 leaves ~ unencoded outside the edition.
			b = append(b, '\\', ch)
		default:
			if ch < 0x20 || ch >= 0x7f {
				return "", &AttrError{a, c, "contains a character outside printable ASCII"}
			}
			return "", &AttrError{a, c, fmt.Sprintf("character %q must be percent-encoded in the URI binding", ch)}
		}
	}
	v := string(b)
	if v == NA {
		v = `\-` // an encoded hyphen is a literal value, not NA
	}
	if _, why := scanAV(v); why != "" {
		return "", &AttrError{a, c, why}
	}
	if a == Part && v != "a" && v != "o" && v != "h" {
		return "", &AttrError{a, c, "want a (application), o (operating system/firmware), h (hardware) or empty"}
	}
	return v, nil
}

func unhex(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// String returns the canonical formatted-string binding.
func (n Name) String() string {
	size := len(fsPrefix) + 10
	for _, v := range n {
		size += len(v)
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(fsPrefix)
	for i, v := range n {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(v)
	}
	return b.String()
}

// URI returns the URI binding of n (NISTIR 7695 §6.1.2), packing the
// extended attributes into the edition when any is not ANY.
func (n Name) URI() string {
	var b strings.Builder
	b.WriteString(uriPrefix)
	comps := [7]string{}
	for i := Part; i <= Edition; i++ {
		comps[i] = encodeURI(n[i])
	}
	comps[6] = encodeURI(n[Language])
	if n[SWEdition] != Any || n[TargetSW] != Any || n[TargetHW] != Any || n[Other] != Any {
		comps[Edition] = "~" + comps[Edition] + "~" + encodeURI(n[SWEdition]) + "~" + encodeURI(n[TargetSW]) +
			"~" + encodeURI(n[TargetHW]) + "~" + encodeURI(n[Other])
	}
	last := 6
	for last > 0 && comps[last] == "" {
		last--
	}
	b.WriteString(strings.Join(comps[:last+1], ":"))
	return b.String()
}

func encodeURI(v string) string {
	switch v {
	case Any:
		return ""
	case NA:
		return NA
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch ch {
		case '\\':
			i++
			fmt.Fprintf(&b, "%%%02x", v[i])
		case '?':
			b.WriteString("%01")
		case '*':
			b.WriteString("%02")
		default:
			b.WriteByte(ch)
		}
	}
	if s := b.String(); s != NA {
		return s
	}
	return "%2d"
}

// Key returns "part:vendor:product", the part of a name the matcher
// indexes criteria by.
func (n Name) Key() string {
	return n[Part] + ":" + n[Vendor] + ":" + n[Product]
}

// Validate reports whether s is a well-formed CPE 2.3 formatted string
// naming a concrete product class, the check the city model applies to
// asset CPEs (and its JSON schema's pattern mirrors):
//
//	part      = "a" / "o" / "h"                       (a name, not a pattern)
//	language  = "*" / "-" / 2*3ALPHA ["-" (2ALPHA / 3DIGIT)]
//	others    = "*" / "-" / avstring                  (see scanAV)
//
// with exactly 11 components after "cpe:2.3:". Every name Validate
// accepts, Parse accepts too. The error message is meant for people
// editing a city model and carries no "cpe:" prefix.
func Validate(s string) error {
	if len(s) > MaxLen {
		return errors.New("CPE name is longer than 1024 characters")
	}
	if !strings.HasPrefix(s, fsPrefix) {
		if hasPrefixFold(s, uriPrefix) {
			return errors.New("CPE 2.2 URI binding is not accepted; write the CPE 2.3 formatted string (cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other)")
		}
		return errors.New("not a CPE 2.3 formatted string: it must start with cpe:2.3:")
	}
	comps := Split(s[len(fsPrefix):])
	if len(comps) != 11 {
		return fmt.Errorf("CPE 2.3 name has %d components after cpe:2.3:, want 11 (part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other; use * for any)", len(comps))
	}
	if p := comps[0]; p != "a" && p != "o" && p != "h" {
		return fmt.Errorf("CPE part is %q, want a (application), o (operating system/firmware) or h (hardware)", p)
	}
	for i := 1; i < 11; i++ {
		c := comps[i]
		var why string
		if Attr(i) == Language {
			why = checkLanguage(c)
		} else if c != Any && c != NA {
			_, why = scanAV(c)
		}
		if why != "" {
			return fmt.Errorf("CPE %s %q: %s", Attr(i), c, why)
		}
	}
	return nil
}

func checkLanguage(c string) string {
	if c == Any || c == NA {
		return ""
	}
	tag, region, hasRegion := strings.Cut(c, "-")
	if len(tag) < 2 || len(tag) > 3 || !allOf(tag, isAlpha) {
		return "language must be *, - or a language tag like en or en-us"
	}
	if hasRegion && !((len(region) == 2 && allOf(region, isAlpha)) || (len(region) == 3 && allOf(region, isDigit))) {
		return "language region must be two letters or three digits"
	}
	return ""
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allOf(s string, f func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !f(s[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Split splits a CPE 2.3 formatted string at its colons that are not
// quoted by a backslash: `cpe:2.3:a:x:web\:admin:1` has 6 parts.
func Split(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the quoted character
		case ':':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
