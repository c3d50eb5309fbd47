package purl

import (
	"strings"
	"testing"

	"bulwark"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"pkg:npm/%40angular/animation@12.3.1", "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie",
		"pkg:golang/google.golang.org/genproto#googleapis/api/annotations", "pkg:pypi/Django_Allauth@0.52.0",
		"pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?packaging=sources", "pkg:maven/@1.3.4",
		"pkg:generic/a%2Fb@1%402?x=%26&y=#/a/b/", "pkg://npm//x", "pkg:npm/@", "pkg:hex/A/B",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "purl: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if p.Type == "" || p.Name == "" {
			t.Fatalf("Parse(%q) = %+v without type or name", s, p)
		}
		// The canonical form parses to the same PURL and is a fixed point.
		c := p.String()
		if len(c) > MaxLen {
			return // percent-encoding can triple the length past the input bound
		}
		q, err := Parse(c)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", bulwark.Abbrev(s, 120), bulwark.Abbrev(c, 120), err)
		}
		if !equal(p, q) {
			t.Fatalf("round trip of %q: %+v, then %q gives %+v", s, p, c, q)
		}
		if q.String() != c {
			t.Fatalf("String not stable: %q then %q", c, q.String())
		}
		if p.Key() != q.Key() || !strings.HasPrefix(p.Key(), p.Type+"/") {
			t.Fatalf("Key of %q = %q, of its canonical form %q", s, p.Key(), q.Key())
		}
	})
}
