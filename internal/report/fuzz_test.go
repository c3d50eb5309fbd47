package report

import (
	"bytes"
	"strings"
	"testing"
)

// withText puts s in every text field a user can influence.
func withText(s string) *Report {
	r := sampleReport()
	r.Title, r.City, r.Org = s, s, s
	r.Drivers[0].Indicator, r.Drivers[0].Why = s, s
	r.Indicators[0].Name, r.Indicators[0].Formula, r.Indicators[0].Value = s, s, s
	r.Indicators[3].Reason = s
	r.Functions[0].Function, r.Functions[0].Name = s, s
	r.Profiles[0].Name = s
	r.TopGaps[0].Org, r.TopGaps[0].Scope, r.TopGaps[0].Control, r.TopGaps[0].Title, r.TopGaps[0].Status, r.TopGaps[0].Why = s, s, s, s, s, s
	r.Exposure[0].Name, r.Exposure[0].Category = s, s
	r.Overdue[0].Owner, r.Overdue[0].Asset, r.Overdue[0].Vuln, r.Overdue[0].Decision = s, s, s, s
	r.Notes = []string{s}
	return r
}

var fuzzSeeds = []string{"Zürich", hostileScript, hostileAttr, hostileSVG, hostileCSS, "", " ", "\x00", "\xff", "中文 🚰", "a\u202Eb", strings.Repeat("Ł", 500), "]]><!--", "{{.Title}}"}

// FuzzWriteHTML checks that no text can change the structure of the HTML:
// it has exactly as many tags as with a harmless text.
func FuzzWriteHTML(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		var got, want bytes.Buffer
		if err := WriteHTML(&got, withText(s)); err != nil {
			t.Fatal(err)
		}
		harmless := "x"
		if clean(s) == "" {
			harmless = ""
		}
		if err := WriteHTML(&want, withText(harmless)); err != nil {
			t.Fatal(err)
		}
		if g, w := bytes.Count(got.Bytes(), []byte("<")), bytes.Count(want.Bytes(), []byte("<")); g != w {
			t.Fatalf("text %q changed the HTML structure: %d tags, want %d", s, g, w)
		}
	})
}

// FuzzWritePDF checks that any text gives a PDF whose text stays inside
// the page. Each run renders a whole PDF, so it explores slowly.
func FuzzWritePDF(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		var pdf bytes.Buffer
		if err := WritePDF(&pdf, withText(s)); err != nil {
			t.Fatalf("WritePDF with text %q: %v", s, err)
		}
		if !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
			t.Fatal("not a PDF")
		}
	})
}
