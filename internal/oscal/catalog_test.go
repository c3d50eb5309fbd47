package oscal

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/testenv"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadCatalogFixture(t *testing.T) {
	cat, err := ReadCatalog(bytes.NewReader(readFixture(t, "mini-catalog.json")), "testdata/Mini Catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	if cat.ID != "mini-catalog" || cat.Kind != "oscal" || cat.Title != "Mini Catalog for tests" || cat.Version != "1.0" {
		t.Errorf("catalog header = %q %q %q %q", cat.ID, cat.Kind, cat.Title, cat.Version)
	}
	if want := time.Date(2024, 2, 13, 15, 0, 0, 0, time.UTC); !cat.Published.Equal(want) {
		t.Errorf("published = %v, want %v", cat.Published, want)
	}
	if !strings.Contains(cat.Source, "4b1c6a2e-1a6f-4c0b-9a84-5a1d6e1f0c11") {
		t.Errorf("source %q does not name the catalog's uuid", cat.Source)
	}
	type row struct {
		id, parent, class string
		assessable        bool
	}
	want := []row{
		{"ac", "", "group", false},
		{"ac-1", "ac", "control", true},
		{"ac-1.1", "ac-1", "control", true},
		{"ac-1.2", "ac-1", "control", false}, // withdrawn
		{"au", "", "group", false},
		{"au-sub", "au", "group", false},
		{"au-2", "au-sub", "control", true},
		{"top-1", "", "control", true},
	}
	if len(cat.Controls) != len(want) {
		t.Fatalf("got %d controls, want %d: %+v", len(cat.Controls), len(want), cat.Controls)
	}
	for i, w := range want {
		c := cat.Controls[i]
		if (row{c.ID, c.Parent, c.Class, c.Assessable}) != w {
			t.Errorf("control %d = %+v, want %+v", i, row{c.ID, c.Parent, c.Class, c.Assessable}, w)
		}
	}
	wantStmt := "a. Develop and disseminate to organization-defined personnel or roles:\n" +
		"1. [Selection (one or more): organization-level; system-level] policy, reviewed catalog-wide frequency;\n" +
		"b. Designate [ac-1_prm_3] and [nowhere] {{other}}."
	if got := cat.Controls[1].Statement; got != wantStmt {
		t.Errorf("ac-1 statement =\n%s\nwant\n%s", got, wantStmt)
	}
	if got := cat.Controls[2].Statement; got != "Do more." {
		t.Errorf("ac-1.1 statement = %q", got)
	}
	checkOrder(t, cat)
}

// checkOrder asserts the invariants every catalog Bulwark holds must meet.
func checkOrder(t *testing.T, cat *bulwark.Catalog) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cat.Controls {
		if seen[c.ID] {
			t.Errorf("duplicate control %q", c.ID)
		}
		if c.Parent != "" && !seen[c.Parent] {
			t.Errorf("control %q comes before its parent %q", c.ID, c.Parent)
		}
		if c.Title == "" {
			t.Errorf("control %q has no title", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestReadCatalogErrors(t *testing.T) {
	valid := string(readFixture(t, "mini-catalog.json"))
	tests := []struct {
		name, doc string
		field     string // JSON pointer the error must name
		msg       string // part of the message
	}{
		{"empty", ``, "", "empty document"},
		{"array", `[]`, "", "not an object"},
		{"profile", `{"profile":{}}`, "/profile", "unexpected top-level member"},
		{"extra top member", `{"catalog":{},"x":1}`, "/x", "unexpected top-level member"},
		{"no catalog", `{"$schema":"x"}`, "", `no "catalog" member`},
		{"null catalog", `{"catalog":null}`, "/catalog", "null"},
		{"no metadata", `{"catalog":{"uuid":"u"}}`, "/catalog/metadata", "metadata missing"},
		{"no title", `{"catalog":{"metadata":{"title":" "}}}`, "/catalog/metadata/title", "title missing"},
		{"bad published", `{"catalog":{"metadata":{"title":"t","published":"yesterday"}}}`, "/catalog/metadata/published", "bad date-time"},
		{"no controls", `{"catalog":{"metadata":{"title":"t"}}}`, "/catalog", "no controls"},
		{"wrong type", `{"catalog":{"metadata":{"title":"t"},"groups":{}}}`, "/catalog/groups", "unexpected JSON object"},
		{"title number", `{"catalog":{"metadata":{"title":1}}}`, "/catalog/metadata/title", "unexpected JSON number"},
		{"missing control id", `{"catalog":{"metadata":{"title":"t"},"groups":[{"id":"g","title":"G","controls":[{"id":"a","title":"A"},{"title":"B"}]}]}}`,
			"/catalog/groups/0/controls/1/id", "id missing"},
		{"missing group id", `{"catalog":{"metadata":{"title":"t"},"groups":[{"title":"G"}]}}`, "/catalog/groups/0/id", "id missing"},
		{"missing title", `{"catalog":{"metadata":{"title":"t"},"controls":[{"id":"a"}]}}`, "/catalog/controls/0/title", "title missing"},
		{"bad id", `{"catalog":{"metadata":{"title":"t"},"controls":[{"id":"a b","title":"A"}]}}`, "/catalog/controls/0/id", "not a valid identifier"},
		{"duplicate id", `{"catalog":{"metadata":{"title":"t"},"groups":[{"id":"g","title":"G","controls":[{"id":"a","title":"A","controls":[{"id":"g","title":"again"}]}]}]}}`,
			"/catalog/groups/0/controls/0/controls/0/id", `duplicate id "g" (first used at /catalog/groups/0/id)`},
		{"duplicate member", `{"catalog":{"metadata":{"title":"t","title":"u"}}}`, "/catalog/metadata/title", "duplicate"},
		{"truncated", valid[:len(valid)/2], "", "unexpected end of input"},
		{"trailing data", `{"catalog":{"metadata":{"title":"t"},"controls":[{"id":"a","title":"A"}]}} {}`, "", "after top-level value"},
		{"trailing scalar", `{"catalog":{"metadata":{"title":"t"},"controls":[{"id":"a","title":"A"}]}} 1`, "", "after top-level value"},
		{"invalid utf8", "{\"catalog\":{\"metadata\":{\"title\":\"\xff\"}}}", "/catalog/metadata/title", "UTF-8"},
		{"too deep", `{"catalog":{"metadata":{"title":"t"},"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`, "", "nesting deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCatalog(strings.NewReader(tt.doc), "c.json")
			if err == nil {
				t.Fatal("no error")
			}
			if code := bulwark.ErrorCode(err); code != bulwark.EINVALID {
				t.Errorf("code %q, want invalid: %v", code, err)
			}
			d := bulwark.ErrorDetails(err)
			if len(d) != 1 {
				t.Fatalf("details %+v", d)
			}
			if tt.field != "" && !strings.HasPrefix(d[0].Field, tt.field) {
				t.Errorf("field %q, want %q (%v)", d[0].Field, tt.field, err)
			}
			if d[0].File != "c.json" {
				t.Errorf("file %q", d[0].File)
			}
			if !strings.Contains(d[0].Message, tt.msg) {
				t.Errorf("message %q does not contain %q", d[0].Message, tt.msg)
			}
		})
	}
}

func TestReadCatalogSizeCap(t *testing.T) {
	saved := MaxBytes
	t.Cleanup(func() { MaxBytes = saved })
	doc := readFixture(t, "mini-catalog.json")
	MaxBytes = int64(len(doc))
	if _, err := ReadCatalog(bytes.NewReader(doc), "c.json"); err != nil {
		t.Fatalf("document of exactly the cap refused: %v", err)
	}
	MaxBytes = int64(len(doc)) - 1
	_, err := ReadCatalog(bytes.NewReader(doc), "c.json")
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Fatalf("oversized document: %v", err)
	}
}

func TestReadCatalogDepthCap(t *testing.T) {
	saved := MaxDepth
	t.Cleanup(func() { MaxDepth = saved })
	doc := readFixture(t, "mini-catalog.json")
	MaxDepth = 14 // the fixture's deepest object: catalog/groups/0/controls/0/parts/0/parts/0/parts/0/props/0
	if _, err := ReadCatalog(bytes.NewReader(doc), "c.json"); err != nil {
		t.Fatalf("fixture refused at depth 14: %v", err)
	}
	MaxDepth = 13
	_, err := ReadCatalog(bytes.NewReader(doc), "c.json")
	if err == nil || !strings.Contains(err.Error(), "nesting deeper than 13") {
		t.Fatalf("deep fixture: %v", err)
	}
}

func TestCatalogID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json", "nist_sp-800-53_rev5_high-baseline-resolved-profile_catalog-min"},
		{"/a/b/My Catalog.json.gz", "my-catalog"},
		{"_x.json", "oscal-catalog"},
		{".json", "oscal-catalog"},
		{strings.Repeat("a", 200) + ".json", strings.Repeat("a", bulwark.MaxIDLen)},
	}
	for _, tt := range tests {
		got := catalogID(tt.in)
		if got != tt.want {
			t.Errorf("catalogID(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !bulwark.ValidID(got) {
			t.Errorf("catalogID(%q) = %q is not a valid ID", tt.in, got)
		}
	}
}

func sp80053(tb testing.TB) []byte {
	tb.Helper()
	path := filepath.Join(testenv.SharedData(tb), "frameworks", "nist-sp800-53r5", "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json")
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestReadCatalogSP80053 reads NIST's SP 800-53 rev5 HIGH baseline
// (resolved profile catalog); the shared data's README states 370
// controls and enhancements in 18 families.
func TestReadCatalogSP80053(t *testing.T) {
	cat, err := ReadCatalog(bytes.NewReader(sp80053(t)), "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	assessable := 0
	for _, c := range cat.Controls {
		counts[c.Class]++
		if c.Assessable {
			assessable++
		}
	}
	if counts["control"] != 370 || counts["group"] != 18 || assessable != 370 {
		t.Errorf("classes %v, assessable %d; want 370 controls (all assessable) in 18 groups", counts, assessable)
	}
	if !strings.HasPrefix(cat.Title, "NIST Special Publication 800-53 Revision 5.1.1") || cat.Version != "5.1.1+u4" {
		t.Errorf("title %q version %q", cat.Title, cat.Version)
	}
	checkOrder(t, cat)
	var ac2 *bulwark.Control
	for i := range cat.Controls {
		if cat.Controls[i].ID == "ac-2" {
			ac2 = &cat.Controls[i]
		}
		if s := cat.Controls[i].Statement; strings.Contains(s, "{{") {
			t.Errorf("%s statement keeps an insertion: %q", cat.Controls[i].ID, s)
		}
	}
	if ac2 == nil || ac2.Parent != "ac" || !strings.HasPrefix(ac2.Statement, "a. Define and document the types of accounts allowed") {
		t.Errorf("ac-2 = %+v", ac2)
	}
}

func BenchmarkReadCatalogSP80053(b *testing.B) {
	data := sp80053(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadCatalog(bytes.NewReader(data), "sp800-53.json"); err != nil {
			b.Fatal(err)
		}
	}
}
