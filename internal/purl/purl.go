// Package purl parses Package URLs (the package-url specification,
// ECMA-427) into a canonical form the vulnerability matcher can index.
//
// Parsing and encoding are packageurl-go's; this package adds the
// type-specific normalizations of the spec's type definitions that the
// library leaves out (npm and hex names are case-insensitive), a bound on
// the input size, errors that name the input, and Key, the
// version-less identity of a package.
package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"

	"bulwark"
)

// MaxLen bounds the length of a purl Parse accepts. Real purls, even
// with download URLs and checksums in their qualifiers, are well under
// it.
const MaxLen = 8 << 10

// PURL is a parsed, normalized Package URL. Namespace, Name, Version,
// qualifier values and Subpath are percent-decoded. Qualifiers is nil
// when there are none; keys are lowercase.
type PURL struct {
	Type, Namespace, Name, Version string
	Qualifiers                     map[string]string
	Subpath                        string
}

// Parse parses and normalizes a purl: the type, and for the types whose
// definition says so the namespace and name, are lowercased; pypi names
// have "_" replaced by "-"; qualifiers with empty values are dropped and
// keys lowercased; leading and trailing slashes of the namespace and
// subpath are removed.
func Parse(s string) (PURL, error) {
	if len(s) > MaxLen {
		return PURL{}, fmt.Errorf("purl: %d bytes long, more than %d", len(s), MaxLen)
	}
	if !strings.HasPrefix(strings.ToLower(s[:min(len(s), 4)]), "pkg:") {
		return PURL{}, fmt.Errorf("purl: %q must start with pkg:", bulwark.Abbrev(s, 120))
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		return PURL{}, fmt.Errorf("purl: %q: %w", bulwark.Abbrev(s, 120), err)
	}
	out := PURL{
		Type:      p.Type,
		Namespace: cleanNamespace(p.Namespace),
		Name:      p.Name,
		Version:   p.Version,
		Subpath:   p.Subpath,
	}
	switch p.Type {
	case packageurl.TypeNPM:
		// npm forbids uppercase in new package names; the type
		// definition lowercases them so old and new spellings agree.
		out.Namespace = strings.ToLower(out.Namespace)
		out.Name = strings.ToLower(out.Name)
	case packageurl.TypeHex:
		// hex.pm names and organizations are case-insensitive.
		out.Namespace = strings.ToLower(out.Namespace)
		out.Name = strings.ToLower(out.Name)
	}
	if len(p.Qualifiers) > 0 {
		out.Qualifiers = p.Qualifiers.Map()
	}
	return out, nil
}

// cleanNamespace drops empty segments of a decoded namespace, as the
// specification's parsing rules discard them: "a%2F/b" decodes to "a//b",
// which the canonical form writes as "a/b", so Parse must say "a/b" too
// for a purl and its canonical form to be the same (found by fuzzing).
func cleanNamespace(ns string) string {
	if !strings.Contains(ns, "//") && !strings.HasPrefix(ns, "/") && !strings.HasSuffix(ns, "/") {
		return ns
	}
	var keep []string
	for _, seg := range strings.Split(ns, "/") {
		if seg != "" {
			keep = append(keep, seg)
		}
	}
	return strings.Join(keep, "/")
}

// String returns the canonical purl: qualifiers sorted by key, each
// component percent-encoded as the specification says.
func (p PURL) String() string {
	var q packageurl.Qualifiers
	if len(p.Qualifiers) > 0 {
		q = packageurl.QualifiersFromMap(p.Qualifiers)
	}
	return packageurl.NewPackageURL(p.Type, p.Namespace, p.Name, p.Version, q, p.Subpath).ToString()
}

// Key returns "type/namespace/name" (or "type/name" without a
// namespace), percent-encoded like the purl itself so that it is
// unambiguous: the identity of a package regardless of version,
// qualifiers and subpath, which the matcher indexes advisories by.
func (p PURL) Key() string {
	u := packageurl.NewPackageURL(p.Type, p.Namespace, p.Name, "", nil, "")
	return strings.TrimPrefix(u.ToString(), "pkg:")
}
