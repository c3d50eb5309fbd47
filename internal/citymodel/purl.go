package citymodel

import (
	"fmt"
	"strings"
)

// checkPURL reports why s is not a syntactically valid Package URL
// (pkg:type/namespace/name@version?qualifiers#subpath, per the purl
// specification), or "" if it is. Type-specific rules are not checked.
func checkPURL(s string) string {
	if len(s) > 2048 {
		return "package URL is longer than 2048 characters"
	}
	rest, ok := strings.CutPrefix(s, "pkg:")
	if !ok {
		return "package URL must start with pkg:"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 {
			return fmt.Sprintf("package URL contains %q, which must be percent-encoded", c)
		}
	}
	var subpath, qualifiers, version string
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest, subpath = rest[:i], rest[i+1:]
		for _, seg := range strings.Split(strings.Trim(subpath, "/"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "package URL subpath has an empty, . or .. segment"
			}
			if why := checkPercent(seg); why != "" {
				return "package URL subpath " + why
			}
		}
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, qualifiers = rest[:i], rest[i+1:]
		if why := checkQualifiers(qualifiers); why != "" {
			return why
		}
	}
	typ, path, ok := strings.Cut(rest, "/")
	if !ok || typ == "" {
		return "package URL must have a type: pkg:type/name"
	}
	if !isAlpha(typ[0]) && typ[0] != '.' && typ[0] != '+' && typ[0] != '-' {
		return fmt.Sprintf("package URL type %q must start with a letter", typ)
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; !isAlpha(c) && !isDigit(c) && c != '.' && c != '+' && c != '-' {
			return fmt.Sprintf("package URL type %q may hold only letters, digits, '.', '+' and '-'", typ)
		}
	}
	if i := strings.LastIndexByte(path, '@'); i >= 0 {
		path, version = path[:i], path[i+1:]
		if version == "" {
			return "package URL has an empty version after @"
		}
		if why := checkPercent(version); why != "" {
			return "package URL version " + why
		}
	}
	segs := strings.Split(path, "/")
	if segs[len(segs)-1] == "" {
		return "package URL has no name"
	}
	for _, seg := range segs {
		if seg == "" {
			return "package URL namespace has an empty segment"
		}
		if why := checkPercent(seg); why != "" {
			return "package URL name or namespace " + why
		}
	}
	return ""
}

func checkQualifiers(q string) string {
	if q == "" {
		return "package URL has an empty qualifier list after ?"
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(q, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return fmt.Sprintf("package URL qualifier %q must be key=value", kv)
		}
		if !isAlpha(k[0]) {
			return fmt.Sprintf("package URL qualifier key %q must start with a letter", k)
		}
		for i := 0; i < len(k); i++ {
			if c := k[i]; !isAlpha(c) && !isDigit(c) && c != '.' && c != '-' && c != '_' {
				return fmt.Sprintf("package URL qualifier key %q may hold only letters, digits, '.', '-' and '_'", k)
			}
		}
		lk := strings.ToLower(k)
		if seen[lk] {
			return fmt.Sprintf("package URL qualifier %q is repeated", k)
		}
		seen[lk] = true
		if why := checkPercent(v); why != "" {
			return "package URL qualifier value " + why
		}
	}
	return ""
}

// checkPercent checks the percent-encoding of one component.
func checkPercent(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "has a % not followed by two hex digits"
			}
			i += 2
		}
	}
	return ""
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
