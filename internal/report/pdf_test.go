package report

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var dumpPDF = flag.String("pdf", "", "also write the sample PDF to this file, to look at it")

func renderPDF(t testing.TB, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WritePDF(&b, r); err != nil {
		t.Fatalf("WritePDF: %v", err)
	}
	return b.Bytes()
}

var pageObject = regexp.MustCompile(`/Type\s*/Page\b[^s]`)

// checkPDF checks the file is a complete PDF and returns its page count,
// counted from the page objects (not compressed by the writer).
func checkPDF(t *testing.T, pdf []byte) int {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("PDF starts with %q, want %%PDF-", pdf[:min(len(pdf), 8)])
	}
	if !bytes.HasSuffix(bytes.TrimRight(pdf, "\r\n"), []byte("%%EOF")) {
		t.Fatalf("PDF does not end with %%%%EOF: %q", pdf[max(0, len(pdf)-16):])
	}
	if !bytes.Contains(pdf, []byte("startxref")) {
		t.Fatal("PDF has no startxref")
	}
	return len(pageObject.FindAll(pdf, -1))
}

// assertPDFText checks each of want appears in the text of pdf: always in
// the text the package's own extractor finds, and also in pdftotext's
// output when pdftotext is installed.
func assertPDFText(t *testing.T, pdf []byte, want ...string) {
	t.Helper()
	texts := map[string]string{"shown text": textShown(pdf)}
	if bin, err := exec.LookPath("pdftotext"); err != nil {
		t.Log("pdftotext not on PATH: skipping the pdftotext checks (the built-in extractor still runs)")
	} else {
		in := filepath.Join(t.TempDir(), "report.pdf")
		if err := os.WriteFile(in, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-enc", "UTF-8", in, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		texts["pdftotext"] = string(out)
	}
	for name, txt := range texts {
		for _, w := range want {
			if !strings.Contains(txt, w) {
				t.Errorf("PDF %s lacks %q", name, w)
			}
		}
	}
}

func TestPDFSample(t *testing.T) {
	pdf := renderPDF(t, sampleReport())
	if *dumpPDF != "" {
		if err := os.WriteFile(*dumpPDF, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pages := checkPDF(t, pdf)
	if pages < 2 || pages > 6 {
		t.Errorf("sample PDF has %d pages, want 2 to 6", pages)
	}
	if len(pdf) > 400<<10 {
		t.Errorf("sample PDF is %d bytes: is the whole font embedded?", len(pdf))
	}
	assertPDFText(t, pdf, "63", "/ 100", "▲ +2.5 points", "Zürich", "Łódź Water", "≥ 90 days", "—",
		"not measured", "No inventory received", "PR.AA-03", "1,250,000", "CVE-2024-3400", "2026-10-11",
		"Page 1 of", "Page 2 of", "5 of 12 organizations (42%)", "GV Govern", "62%", "not assessed")
}

func TestPDFEdgeCases(t *testing.T) {
	tests := []struct {
		name             string
		report           func() *Report
		minPages, maxPgs int
		want             []string
	}{
		{"empty report", func() *Report { return &Report{} }, 1, 2, []string{"Not measured", "No gaps"}},
		{"one snapshot", func() *Report { r := sampleReport(); r.Trend = r.Trend[:1]; return r }, 1, 6, []string{"Not enough history"}},
		{"not measured", func() *Report { r := sampleReport(); r.Measured = false; return r }, 1, 6, []string{"Not measured"}},
		{"1000 gaps", func() *Report { return bigReport(1000) }, 4, 14, []string{"and 975 more", "Organization 25 of"}},
		{"long names and non-Latin text", func() *Report {
			r := sampleReport()
			long := strings.Repeat("Municipal Water and Wastewater Authority of Łódź — ", 30)
			r.Title = long
			r.City = "Łódź ≥ 中文 🚰"
			r.TopGaps[0].Org = long
			r.TopGaps[0].Why = long
			r.TopGaps[0].Control = strings.Repeat("X", 200)
			r.Indicators[0].Formula = strings.Repeat("a+", 300)
			r.Overdue[0].Asset = strings.Repeat("host.example.internal.", 20)
			r.Exposure[0].Name = long
			r.Notes = append(r.Notes, long+long)
			return r
		}, 2, 8, []string{"Municipal Water", "…"}},
		{"hostile strings", hostileReport, 2, 8, []string{`<script>alert("x")</script>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := renderPDF(t, tt.report())
			if n := checkPDF(t, pdf); n < tt.minPages || n > tt.maxPgs {
				t.Errorf("%d pages, want %d to %d", n, tt.minPages, tt.maxPgs)
			}
			assertPDFText(t, pdf, tt.want...)
		})
	}
}

func TestPDFText(t *testing.T) {
	if err := loadPDFFont(); err != nil {
		t.Fatal(err)
	}
	m := &metrics{}
	tests := []struct{ in, want string }{
		{"Zürich", "Zürich"},
		{"Łódź — ≥ 90 “days” …", "Łódź — ≥ 90 “days” …"},
		{"Water 中文", "Water ??"},
		{"a\x00b\nc\u202Ed", "a b cd"},
		{"\xff\xfeok", "?ok"}, // one U+FFFD for the invalid run, which the font lacks
	}
	for _, tt := range tests {
		if got := m.pdfText(tt.in); got != tt.want {
			t.Errorf("pdfText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFitAndWrap(t *testing.T) {
	if err := loadPDFFont(); err != nil {
		t.Fatal(err)
	}
	m := &metrics{}
	// Widths are monotonic and plausible: "M" at 10 pt is about 2.9 mm.
	if w := m.width("M", 10, false); w < 2.5 || w > 3.3 {
		t.Errorf("width(M, 10pt) = %.2f mm", w)
	}
	if m.width("Wide", 10, true) <= m.width("Wide", 10, false) {
		t.Error("bold is not wider than regular")
	}
	long := strings.Repeat("Łódź water authority ", 20)
	for _, w := range []float64{1, 10, 40, 100} {
		got := m.fit(long, 9, w, false)
		if !strings.HasSuffix(got, "…") {
			t.Errorf("fit(%v mm) = %q, want an ellipsis", w, got)
		}
		if w >= 10 && m.width(got, 9, false) > w {
			t.Errorf("fit(%v mm) = %q is %.1f mm wide", w, got, m.width(got, 9, false))
		}
	}
	if got := m.fit("short", 9, 100, false); got != "short" {
		t.Errorf("fit(short) = %q", got)
	}
	lines := m.wrap(long, 9, 50, false, 3)
	if len(lines) != 3 || !strings.HasSuffix(lines[2], "…") {
		t.Fatalf("wrap = %q, want 3 lines ending with …", lines)
	}
	for _, l := range lines {
		if m.width(l, 9, false) > 50 {
			t.Errorf("line %q is wider than 50 mm", l)
		}
	}
	if got := m.wrap("two words", 9, 100, false, 2); len(got) != 1 || got[0] != "two words" {
		t.Errorf("wrap(two words) = %q", got)
	}
	// A word longer than a line is cut, not looped on.
	if got := m.wrap(strings.Repeat("x", 500), 9, 20, false, 2); len(got) != 2 {
		t.Errorf("wrap(long word) = %d lines, want 2", len(got))
	}
}

func TestWritePDFNil(t *testing.T) {
	if err := WritePDF(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("WritePDF(nil) succeeded")
	}
	if err := WritePDF(failWriter{}, sampleReport()); err == nil {
		t.Fatal("WritePDF to a failing writer succeeded")
	}
}

// TestPDFLayout checks, from the text actually placed on the pages, that
// nothing runs off the printable area and no two strings overlap: the
// tables' truncation and row heights hold for long and hostile input.
func TestPDFLayout(t *testing.T) {
	if err := loadPDFFont(); err != nil {
		t.Fatal(err)
	}
	m := &metrics{}
	const ptToMM = 25.4 / 72
	long := func() *Report {
		r := bigReport(60)
		name := strings.Repeat("Municipal Water and Wastewater Authority of Łódź — ", 10)
		r.Title, r.City = name, name
		for i := range r.TopGaps {
			r.TopGaps[i].Org, r.TopGaps[i].Why, r.TopGaps[i].Title = name, name, name
			r.TopGaps[i].Control, r.TopGaps[i].Status = strings.Repeat("W", 80), strings.Repeat("status ", 20)
		}
		for i := range r.Exposure {
			r.Exposure[i].Name, r.Exposure[i].Population = name, 1<<62
		}
		for i := range r.Overdue {
			r.Overdue[i].Owner, r.Overdue[i].Asset, r.Overdue[i].Vuln = name, strings.Repeat("x", 300), name
		}
		r.Drivers[0].Why = name + name
		r.Indicators[0].Formula = name
		return r
	}
	for name, r := range map[string]*Report{"sample": sampleReport(), "big": bigReport(1000), "long": long(), "hostile": hostileReport()} {
		t.Run(name, func(t *testing.T) {
			pdf, d, err := buildPDF(r)
			if err != nil {
				t.Fatal(err)
			}
			// Maroto breaks pages on its own when a row does not fit; the
			// package must have foreseen every break, or a continued
			// table would lose its header row.
			if n := checkPDF(t, pdf); n != d.pages {
				t.Errorf("PDF has %d pages, the layout counted %d", n, d.pages)
			}
			runs := textRuns(pdf)
			if len(runs) < 50 {
				t.Fatalf("only %d text runs found: is the extractor broken?", len(runs))
			}
			type box struct{ l, r, top, bot float64 }
			boxes := map[int][]box{}
			for _, run := range runs {
				x := run.X * ptToMM
				base := 297 - run.Y*ptToMM
				w := m.width(run.Text, run.Size, run.Bold)
				if x < pdfMarginLR-0.3 || x+w > 210-pdfMarginLR+0.3 {
					t.Errorf("page %d: %q spans %.1f–%.1f mm, outside the margins", run.Page, run.Text, x, x+w)
				}
				limit := 297 - pdfMarginBottom + 0.5
				if strings.HasPrefix(run.Text, "Page ") {
					limit = 297 - 3 // page numbers sit in the bottom margin
				}
				if base < pdfMarginTop || base > limit {
					t.Errorf("page %d: %q has its baseline at %.1f mm", run.Page, run.Text, base)
				}
				sz := run.Size * ptToMM
				b := box{x, x + w, base - 0.72*sz, base + 0.2*sz}
				for _, o := range boxes[run.Page] {
					if b.l < o.r-0.05 && o.l < b.r-0.05 && b.top < o.bot-0.05 && o.top < b.bot-0.05 {
						t.Errorf("page %d: %q overlaps other text", run.Page, run.Text)
						break
					}
				}
				boxes[run.Page] = append(boxes[run.Page], b)
			}
		})
	}
}

// TestRenderConcurrently renders from several goroutines, as a server
// would; run with -race.
func TestRenderConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := sampleReport()
			r.City = strings.Repeat("Łódź ", i+1)
			var b bytes.Buffer
			if err := WritePDF(&b, r); err != nil {
				errs <- err
			}
			if err := WriteHTML(&b, r); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
