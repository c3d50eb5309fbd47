package citymodel

import (
	"fmt"
	"strings"

	"bulwark/internal/cpe"
)

// checkCPE reports why s is not a well-formed CPE 2.3 formatted string
// naming a concrete product, or "" if it is.
//
// This is a strict syntax check of the formatted-string binding of NISTIR
// 7695 (section 6.2), written here rather than taken from a CPE library
// because the import only needs to reject malformed names early, with a
// precise message, and must never accept what the matcher later cannot
// parse. Matching (NISTIR 7696) belongs to the vulnerability matcher.
//
// The grammar checked, per component after "cpe:2.3:":
//
//	part      = "a" / "o" / "h"                       (a name, not a pattern)
//	language  = "*" / "-" / 2*3ALPHA ["-" (2ALPHA / 3DIGIT)]
//	others    = "*" / "-" / avstring
//	avstring  = [spec] 1*(unreserved / quoted) [spec]
//	spec      = 1*"?" / "*"
//	unreserved= ALPHA / DIGIT / "_" / "-" / "."
//	quoted    = "\" ("\" / "*" / "?" / punctuation)
//
// with exactly 11 components separated by unquoted colons.
func checkCPE(s string) string {
	const prefix = "cpe:2.3:"
	if len(s) > 1024 {
		return "CPE name is longer than 1024 characters"
	}
	if !strings.HasPrefix(s, prefix) {
		if strings.HasPrefix(strings.ToLower(s), "cpe:/") {
			return "CPE 2.2 URI binding is not accepted; write the CPE 2.3 formatted string (cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other)"
		}
		return "not a CPE 2.3 formatted string: it must start with cpe:2.3:"
	}
	comps := cpe.Split(s[len(prefix):])
	if len(comps) != 11 {
		return fmt.Sprintf("CPE 2.3 name has %d components after cpe:2.3:, want 11 (part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other; use * for any)", len(comps))
	}
	if p := comps[0]; p != "a" && p != "o" && p != "h" {
		return fmt.Sprintf("CPE part is %q, want a (application), o (operating system/firmware) or h (hardware)", p)
	}
	names := [...]string{"part", "vendor", "product", "version", "update", "edition", "language", "sw_edition", "target_sw", "target_hw", "other"}
	for i := 1; i < 11; i++ {
		c := comps[i]
		var why string
		if i == 6 {
			why = checkCPELanguage(c)
		} else {
			why = checkAVString(c)
		}
		if why != "" {
			return fmt.Sprintf("CPE %s %q: %s", names[i], c, why)
		}
	}
	return ""
}

func checkCPELanguage(c string) string {
	if c == "*" || c == "-" {
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

const cpePunct = "!\"#$%&'()+,-./:;<=>@[]^`{|}~"

func checkAVString(c string) string {
	switch c {
	case "":
		return "empty component (use * for any or - for not applicable)"
	case "*", "-":
		return ""
	}
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
		case isAlpha(ch) || isDigit(ch) || ch == '_' || ch == '-' || ch == '.':
			body++
			i++
		case ch == '\\':
			if i+1 >= len(c) {
				return "ends with an unfinished \\ escape"
			}
			n := c[i+1]
			if n != '\\' && n != '*' && n != '?' && !strings.ContainsRune(cpePunct, rune(n)) {
				return fmt.Sprintf("\\%c is not a valid escape (only punctuation is escaped)", n)
			}
			body++
			i += 2
		case ch == '*' || ch == '?':
			// Trailing special characters end the value.
			rest := c[i:]
			if rest != "*" && strings.Trim(rest, "?") != "" {
				return "* and ? are wildcards allowed only at the start or end; escape them as \\* and \\?"
			}
			i = len(c)
		default:
			if ch < 0x20 || ch >= 0x7f {
				return "contains a character outside printable ASCII"
			}
			return fmt.Sprintf("character %q must be escaped as \\%c", ch, ch)
		}
	}
	if body == 0 {
		return "wildcards need at least one other character"
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
