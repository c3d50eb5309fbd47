package cpe

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*",
		`cpe:2.3:a:foo\\bar:big\$money_2010:*:*:*:*:special:ipod_touch:80gb:*`,
		`cpe:2.3:a:x:y:\-:*:*:*:*:*:*:*`, `cpe:2.3:a:X:Y\.Z:1.*:*:*:*:*:*:*:*`, "cpe:2.3:*:v:p:??1*:*:*:en-us:*:*:*:*",
		"cpe:/a:hp:insight_diagnostics:7.4.0.1570::~~online~win2003~x64~", "cpe:/a:foo%5cbar:big%24money", "cpe:/a:x:y:%01%01.1%02",
		"cpe:/", "cpe:2.3:", "cpe:2.3:a\\", "cpe:/a:x:y:1::~", "cpe:/a:x:y:%2d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if verr := Validate(s); verr == nil && err != nil {
			t.Fatalf("Validate accepts %q, Parse says %v", s, err)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		fs := n.String()
		back, err := Parse(fs)
		if err != nil || back != n {
			t.Fatalf("Parse(%q).String() = %s reparses as %s, %v", s, fs, back, err)
		}
		if back.String() != fs {
			t.Fatalf("String not stable: %s then %s", fs, back.String())
		}
		uri := n.URI()
		fromURI, err := Parse(uri)
		if err != nil || fromURI != n {
			t.Fatalf("URI binding of %s is %s, which parses as %s, %v", fs, uri, fromURI, err)
		}
		for i, v := range n {
			if v != strings.ToLower(v) {
				t.Fatalf("%s: attribute %v = %q is not lowercase", fs, Attr(i), v)
			}
		}
	})
}

func FuzzMatches(f *testing.F) {
	f.Add("cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*", "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*")
	f.Add("cpe:2.3:a:x:y:1.*:*:*:*:*:*:*:*", "cpe:2.3:a:x:y:1.0:*:*:*:*:*:*:*")
	f.Add(`cpe:2.3:a:x:??y\!*:*:*:*:*:*:*:*:*`, `cpe:2.3:a:x:y\!z:1:*:*:*:*:*:*:*`)
	f.Add("cpe:/a:x:y:%01%01", "cpe:/a:x:y:12")
	all := MustParse("cpe:2.3:*:*:*:*:*:*:*:*:*:*:*")
	f.Fuzz(func(t *testing.T, a, b string) {
		src, err1 := Parse(a)
		tgt, err2 := Parse(b)
		if err1 != nil || err2 != nil {
			return
		}
		if !Matches(src, src) || !Matches(tgt, tgt) {
			t.Fatalf("a name does not match itself: %s or %s", src, tgt)
		}
		if !Matches(all, tgt) {
			t.Fatalf("the all-ANY name does not match %s", tgt)
		}
		m := Matches(src, tgt)
		if m && !MatchesExcept(src, tgt, Version) {
			t.Fatalf("Matches(%s, %s) but not MatchesExcept(Version)", src, tgt)
		}
		if r := Compare(src, tgt); m != (r == Superset || r == Equal) {
			t.Fatalf("Matches(%s, %s) = %v but Compare = %v", src, tgt, m, r)
		}
		// Relations are converse: source ⊇ target iff target ⊆ source,
		// as long as neither value is a pattern the other cannot judge.
		for i := range src {
			r, back := CompareAttr(src[i], tgt[i]), CompareAttr(tgt[i], src[i])
			if !hasWildcard(src[i]) && !hasWildcard(tgt[i]) && converse(r) != back {
				t.Fatalf("CompareAttr(%q, %q) = %v but reversed %v", src[i], tgt[i], r, back)
			}
		}
	})
}

func converse(r Relation) Relation {
	switch r {
	case Subset:
		return Superset
	case Superset:
		return Subset
	}
	return r
}
