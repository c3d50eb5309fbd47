package citymodel

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/cpe"
)

// seedFiles adds the files matching pattern to the corpus.
func seedFiles(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// fuzzImport validates data; when valid it imports it, exports the result
// and checks that the export re-imports to the same state (round trip on
// arbitrary accepted input).
func fuzzImport(t *testing.T, name string, data []byte) {
	st := newMemStore()
	s := src(name, string(data))
	if _, err := Import(context.Background(), st, []Source{s}, ImportOptions{MaxBytes: 1 << 20}); err != nil {
		if strings.Contains(err.Error(), "internal error") {
			t.Fatalf("internal error: %v", err)
		}
		return
	}
	out := exportString(t, st)
	st2 := newMemStore()
	if _, err := Import(context.Background(), st2, []Source{src("export.yaml", out)}, ImportOptions{}); err != nil {
		t.Fatalf("export of accepted input does not re-import: %v\ninput:\n%q\nexport:\n%s", err, data, out)
	}
	if diff := cmp.Diff(st.snapshot(), st2.snapshot(), cmpEmpty); diff != "" {
		t.Fatalf("round trip changed the model (-first +second):\n%s\ninput:\n%q", diff, data)
	}
}

func FuzzParseDocument(f *testing.F) {
	seedFiles(f, "testdata/*.yaml", "testdata/*.golden")
	for _, s := range []string{svcHead, "---\n---\n...\n", "a: &x [1]\nb: *x\n", "version: 1\nassets: [{id: a, name: A, owner: o}]\norganizations: [{id: o, name: O, purview: city}]\n",
		"services:\n\t- id: x\n", "\x00\x01", "[1, 2]", "--- |\n  ---\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzImport(t, "f.yaml", data)
	})
}

func FuzzCSV(f *testing.F) {
	seedFiles(f, "testdata/*.csv")
	f.Add([]byte("id,name,owner\na,A,o\n"))
	f.Add([]byte("id,name,owner,cpe\n\"a\",\"x\"\"y\",o,cpe:2.3:h:a:b:-:*:*:*:*:*:*:*|cpe:2.3:o:a:b:1:*:*:*:*:*:*:*\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Give the rows an owner to refer to.
		st := newMemStore()
		st.orgs["o"] = bulwark.Organization{ID: "o", Name: "O", Purview: bulwark.PurviewCity}
		s := src("f.csv", string(data))
		if _, err := Import(context.Background(), st, []Source{s}, ImportOptions{MaxBytes: 1 << 20}); err != nil {
			return
		}
		// Accepted rows export to YAML that imports to the same state.
		out := exportString(t, st)
		st2 := newMemStore()
		if _, err := Import(context.Background(), st2, []Source{src("export.yaml", out)}, ImportOptions{}); err != nil {
			t.Fatalf("export of accepted CSV does not re-import: %v\ninput:\n%q\nexport:\n%s", err, data, out)
		}
		if diff := cmp.Diff(st.snapshot(), st2.snapshot(), cmpEmpty); diff != "" {
			t.Fatalf("round trip changed the model (-csv +yaml):\n%s", diff)
		}
	})
}

// cpeSchemaRE is the CPE pattern of the JSON Schema, checked against
// checkCPE so the editor and the importer agree.
func cpeSchemaRE(tb testing.TB) *regexp.Regexp {
	b, err := os.ReadFile(schemaPath)
	if err != nil {
		tb.Fatal(err)
	}
	var s struct {
		Defs struct {
			Asset struct {
				Properties struct {
					CPE struct {
						Items struct {
							Pattern string `json:"pattern"`
						} `json:"items"`
					} `json:"cpe"`
				} `json:"properties"`
			} `json:"asset"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		tb.Fatal(err)
	}
	return regexp.MustCompile(s.Defs.Asset.Properties.CPE.Items.Pattern)
}

func FuzzCPE(f *testing.F) {
	for _, s := range []string{"cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*", `cpe:2.3:a:foo\\bar:big\$money_2010:*:*:*:*:special:ipod_touch:80gb:*`,
		"cpe:2.3:a:v:p:??1*:*:*:en-us:*:*:*:*", "cpe:/a:v:p", "cpe:2.3:h:a\\", "cpe:2.3:o:a:b:1.0:*:*:e-1:*:*:*:*"} {
		f.Add(s)
	}
	re := cpeSchemaRE(f)
	f.Fuzz(func(t *testing.T, s string) {
		why := checkCPE(s)
		if (why == "") != (re.MatchString(s) && len(s) <= 1024) {
			t.Fatalf("checkCPE(%q) = %q but the schema pattern says %v", s, why, re.MatchString(s))
		}
		if why == "" {
			if n := len(cpe.Split(s[len("cpe:2.3:"):])); n != 11 {
				t.Fatalf("accepted %q with %d components", s, n)
			}
			// Accepted names survive the encoder's quoting.
			if back := unquoteForTest(t, quote(s)); back != s {
				t.Fatalf("quote round trip %q -> %q", s, back)
			}
		}
	})
}

func FuzzPURL(f *testing.F) {
	for _, s := range []string{"pkg:generic/siemens/simatic-s7-1200@4.5", "pkg:npm/%40angular/animation@12.3.1", "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie",
		"pkg:golang/google.golang.org/genproto#googleapis/api/annotations", "pkg:a/b@", "pkg:a/b?x=1&x=2", "pkg:a/b#/../"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkPURL(s) != "" {
			return
		}
		if !strings.HasPrefix(s, "pkg:") || !strings.Contains(s, "/") {
			t.Fatalf("accepted %q", s)
		}
		if len(s) > maxText {
			return // the round trip below goes through a name, capped at maxText
		}
		if back := unquoteForTest(t, quote(s)); back != s {
			t.Fatalf("quote round trip %q -> %q", s, back)
		}
	})
}

// unquoteForTest reads a scalar written by quote back with the YAML reader.
func unquoteForTest(t *testing.T, scalar string) string {
	r := newRun(ImportOptions{}, nil)
	var out = strings.Builder{}
	doc := document{Line: 1, Data: []byte("organizations:\n  - {id: o, name: " + scalar + ", purview: city}\n")}
	c := &bulwark.City{}
	decodeDocument(r.p, 0, doc, nil, c)
	if r.p.total > 0 || len(c.Organizations) != 1 {
		t.Fatalf("scalar %s does not read back: %v", scalar, r.p.err())
	}
	out.WriteString(c.Organizations[0].Name)
	return out.String()
}

func TestFuzzSeedsQuick(t *testing.T) {
	// The seed corpus runs as part of go test; this checks the helpers on
	// inputs with quoting hazards.
	for _, s := range []string{`a\"b`, "x: y", "4.5", "Zürich #1"} {
		if got := unquoteForTest(t, quote(s)); got != s {
			t.Errorf("%q -> %q", s, got)
		}
	}
	if !bytes.Contains([]byte(quote("a\nb")), []byte(`\n`)) {
		t.Error("newline not escaped")
	}
}
