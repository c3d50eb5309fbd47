package purl

import (
	"maps"
	"strings"
	"testing"

	"bulwark"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in                 string
		want               PURL
		canonical, wantKey string
	}{
		// From the CycloneDX example SBOMs.
		{"pkg:composer/dragonmantank/cron-expression@v2.3.1",
			PURL{Type: "composer", Namespace: "dragonmantank", Name: "cron-expression", Version: "v2.3.1"},
			"pkg:composer/dragonmantank/cron-expression@v2.3.1", "composer/dragonmantank/cron-expression"},
		{"pkg:golang/github.com/kataras/iris/v12@v12.1.8",
			PURL{Type: "golang", Namespace: "github.com/kataras/iris", Name: "v12", Version: "v12.1.8"},
			"pkg:golang/github.com/kataras/iris/v12@v12.1.8", "golang/github.com/kataras/iris/v12"},
		// golang namespaces and names are lowercased by the type definition.
		{"pkg:golang/github.com/ProtonMail/go-imap-id@v0.0.0-20190926060100-f94a56b9ecde",
			PURL{Type: "golang", Namespace: "github.com/protonmail", Name: "go-imap-id", Version: "v0.0.0-20190926060100-f94a56b9ecde"},
			"pkg:golang/github.com/protonmail/go-imap-id@v0.0.0-20190926060100-f94a56b9ecde", "golang/github.com/protonmail/go-imap-id"},
		{"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar",
			PURL{Type: "maven", Namespace: "com.fasterxml.jackson.core", Name: "jackson-databind", Version: "2.10.0", Qualifiers: map[string]string{"type": "jar"}},
			"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar", "maven/com.fasterxml.jackson.core/jackson-databind"},
		{"pkg:npm/brace-expansion@1.1.11",
			PURL{Type: "npm", Name: "brace-expansion", Version: "1.1.11"},
			"pkg:npm/brace-expansion@1.1.11", "npm/brace-expansion"},
		// From the purl specification's examples and type definitions.
		{"pkg:npm/%40Angular/Animation@12.3.1",
			PURL{Type: "npm", Namespace: "@angular", Name: "animation", Version: "12.3.1"},
			"pkg:npm/%40angular/animation@12.3.1", "npm/%40angular/animation"},
		{"pkg:PyPI/Django_Allauth@0.52.0",
			PURL{Type: "pypi", Name: "django-allauth", Version: "0.52.0"},
			"pkg:pypi/django-allauth@0.52.0", "pypi/django-allauth"},
		{"pkg:github/Package-URL/purl-spec@244fd47e07d1004#everybody/loves/dogs",
			PURL{Type: "github", Namespace: "package-url", Name: "purl-spec", Version: "244fd47e07d1004", Subpath: "everybody/loves/dogs"},
			"pkg:github/package-url/purl-spec@244fd47e07d1004#everybody/loves/dogs", "github/package-url/purl-spec"},
		{"pkg:deb/debian/curl@7.50.3-1?distro=jessie&ARCH=i386",
			PURL{Type: "deb", Namespace: "debian", Name: "curl", Version: "7.50.3-1", Qualifiers: map[string]string{"arch": "i386", "distro": "jessie"}},
			"pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie", "deb/debian/curl"},
		{"pkg:docker/customer/dockerimage@sha256%3A244fd47e07d10?repository_url=gcr.io",
			PURL{Type: "docker", Namespace: "customer", Name: "dockerimage", Version: "sha256:244fd47e07d10", Qualifiers: map[string]string{"repository_url": "gcr.io"}},
			"pkg:docker/customer/dockerimage@sha256:244fd47e07d10?repository_url=gcr.io", "docker/customer/dockerimage"},
		{"pkg:hex/Phoenix@1.7.0",
			PURL{Type: "hex", Name: "phoenix", Version: "1.7.0"},
			"pkg:hex/phoenix@1.7.0", "hex/phoenix"},
		{"pkg:generic/siemens/simatic-s7-1200@4.5?empty=",
			PURL{Type: "generic", Namespace: "siemens", Name: "simatic-s7-1200", Version: "4.5"},
			"pkg:generic/siemens/simatic-s7-1200@4.5", "generic/siemens/simatic-s7-1200"},
		{"pkg:generic/a%2Fb",
			PURL{Type: "generic", Name: "a/b"},
			"pkg:generic/a%2Fb", "generic/a%2Fb"},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !equal(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if s := got.String(); s != tc.canonical {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, s, tc.canonical)
		}
		if k := got.Key(); k != tc.wantKey {
			t.Errorf("Parse(%q).Key() = %q, want %q", tc.in, k, tc.wantKey)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"pkg:maven/@1.3.4", "missing name"}, // a CSAF conformance test document
		{"npm/left-pad", "must start with pkg:"},
		{"", "must start with pkg:"},
		{"pkg:npm", "missing type or name"},
		{"pkg:npm/", "missing name"},
		{"pkg:1npm/left-pad", "invalid type"},
		{"pkg:npm/left%2", "unescaping"},
		{"pkg:npm/left-pad?a=1&A=2", "duplicate qualifier"},
		{"pkg:npm/left-pad?1a=1", "invalid qualifier key"},
		{"pkg:npm/left-pad#a/../x", "subpath"},
		{"pkg:julia/Example", "uuid"},
		{"pkg:npm/" + strings.Repeat("a", MaxLen), "more than"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.why) || !strings.HasPrefix(err.Error(), "purl: ") {
			t.Errorf("Parse(%q) error = %v, want one saying %q", bulwark.Abbrev(tc.in, 120), err, tc.why)
		}
	}
}

func TestKeyIgnoresVersion(t *testing.T) {
	a, b := mustParse(t, "pkg:pypi/Django@1.11.1"), mustParse(t, "pkg:pypi/django@4.2?extension=tar.gz#x")
	if a.Key() != b.Key() {
		t.Errorf("keys differ: %q, %q", a.Key(), b.Key())
	}
	// A namespace is not confused with part of the name.
	c, d := mustParse(t, "pkg:generic/a/b"), mustParse(t, "pkg:generic/a%2Fb")
	if c.Key() == d.Key() {
		t.Errorf("%v and %v share key %q", c, d, c.Key())
	}
}

func mustParse(t *testing.T, s string) PURL {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func equal(a, b PURL) bool {
	return a.Type == b.Type && a.Namespace == b.Namespace && a.Name == b.Name && a.Version == b.Version &&
		a.Subpath == b.Subpath && maps.Equal(a.Qualifiers, b.Qualifiers)
}
