package report

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return b.String()
}

func TestHTMLGolden(t *testing.T) {
	got := renderHTML(t, sampleReport())
	golden := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("HTML differs from %s at line %d:\n got: %s\nwant: %s\n(run go test -update if the change is intended)", golden, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("HTML differs from %s in length: %d lines, want %d", golden, len(gl), len(wl))
	}
}

// TestHTMLContent checks the figures a reader needs, independently of the
// golden file.
func TestHTMLContent(t *testing.T) {
	got := renderHTML(t, sampleReport())
	for _, want := range []string{
		`<div class="index">63<small> / 100</small></div>`,
		`▲</span> &#43;2.5 points`, // 63.4 − 60.9 (html/template writes + as &#43;)
		`since the previous snapshot (20 October 2026)`,
		`Patch latency`, `−0.6`, // drivers, with a true minus
		`<polyline`, // the trend chart
		`<tr class="unmeasured"><td>Asset inventory completeness<span class="why">No inventory received from 4 of 12 organizations</span></td><td class="num value">not measured</td>`,
		`Zürich`, `Łódź Water`, `≥ 90 days`, // UTF-8 kept as is
		`5 of 12 organizations (42%)`,
		`PR.AA-03`, `Remote access to pump controllers`,
		`1,250,000`,
		`CVE-2024-3400`, `2026-10-11`,
		`it is not counted as zero`,
		`@page { size: A4;`, `break-before: page`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// Functions in CSF order whatever the input order; Respond, with
	// nothing assessed, is "not assessed", not 0%.
	order := regexp.MustCompile(`<tspan font-weight="700">(GV|ID|PR|DE|RS|RC)</tspan>`).FindAllStringSubmatch(got, -1)
	var codes []string
	for _, m := range order {
		codes = append(codes, m[1])
	}
	if strings.Join(codes, " ") != "GV ID PR DE RS RC" {
		t.Errorf("function order = %v, want GV ID PR DE RS RC", codes)
	}
	if !strings.Contains(got, `<text class="lbl" x="498" y="`) || !regexp.MustCompile(`>not assessed</text>`).MatchString(got) {
		t.Errorf("Respond is not shown as not assessed")
	}
	assertSelfContained(t, got)
}

// assertSelfContained fails if the page would run code or fetch anything.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import", "http://", "https://", "javascript:"} {
		if strings.Contains(lower, bad) {
			t.Errorf("HTML is not self-contained: contains %q", bad)
		}
	}
}

const (
	hostileScript = `<script>alert("x")</script>`
	hostileAttr   = `"><img src=x onerror=alert(1)>`
	hostileSVG    = `</text></svg><svg onload=alert(2)>`
	hostileCSS    = `red;}</style><style>body{display:none}`
)

func hostileReport() *Report {
	r := sampleReport()
	r.Title = hostileScript
	r.City = hostileAttr
	r.Org = hostileCSS
	r.Drivers[0].Indicator = hostileAttr
	r.Drivers[0].Why = hostileScript
	r.Indicators[0].Name = hostileScript
	r.Indicators[0].Formula = hostileAttr
	r.Indicators[0].Value = hostileSVG
	r.Indicators[3].Reason = hostileScript
	r.Functions[0].Name = hostileSVG
	r.Functions[1].Function = hostileAttr
	r.Profiles[0].Name = hostileSVG
	r.TopGaps[0].Org = hostileScript
	r.TopGaps[0].Why = hostileAttr
	r.TopGaps[1].Title = hostileCSS
	r.TopGaps[2].Scope = "line one\nline two\x00\u202Egnp.exe"
	r.Exposure[0].Name = hostileSVG
	r.Exposure[0].Category = hostileScript
	r.Overdue[0].Owner = hostileAttr
	r.Overdue[0].Vuln = "\xff\xfe invalid UTF-8"
	r.Notes = append(r.Notes, hostileScript, hostileAttr)
	return r
}

func TestHTMLHostile(t *testing.T) {
	got := renderHTML(t, hostileReport())
	for _, raw := range []string{hostileScript, hostileAttr, hostileSVG, hostileCSS, "<script", "<img", "<svg onload", "</style><style>", "\u202E", "\x00", "\xff"} {
		if strings.Contains(got, raw) {
			t.Errorf("HTML contains unescaped %q", raw)
		}
	}
	for _, escaped := range []string{
		`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`,
		`&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`,
		`&lt;/text&gt;&lt;/svg&gt;&lt;svg onload=alert(2)&gt;`,
		`line one line two`,
	} {
		if !strings.Contains(got, escaped) {
			t.Errorf("HTML lacks the escaped form %q", escaped)
		}
	}
	// Exactly the two SVG charts, whatever the data says.
	if n := strings.Count(got, "<svg"); n != 2 {
		t.Errorf("%d <svg elements, want 2", n)
	}
	if n := strings.Count(got, "<style>"); n != 1 {
		t.Errorf("%d <style> elements, want 1", n)
	}
}

func TestHTMLEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Report)
		want    []string
		notWant []string
	}{
		{
			name: "empty report",
			edit: func(r *Report) { *r = Report{} },
			want: []string{"Cyber-readiness report", "Not measured", "Not enough history", "No indicators defined",
				"No function coverage", "No baseline profiles", "No gaps", "No critical services", "No overdue actions", "No caveats"},
			notWant: []string{"<svg", "<polyline", "and 0 more"},
		},
		{
			name:    "one snapshot",
			edit:    func(r *Report) { r.Trend = r.Trend[len(r.Trend)-1:] },
			want:    []string{"Not enough history", "No previous snapshot to compare with yet", `<div class="index">63`},
			notWant: []string{"<polyline", "since the previous snapshot"},
		},
		{
			name:    "index not measured",
			edit:    func(r *Report) { r.Measured = false; r.Index = 0 },
			want:    []string{`<div class="index none">Not measured</div>`, "No indicator could be computed yet"},
			notWant: []string{`<div class="index">0`, "since the previous snapshot"},
		},
		{
			name:    "index NaN",
			edit:    func(r *Report) { r.Index = nan() },
			want:    []string{"Not measured"},
			notWant: []string{"NaN"},
		},
		{
			name:    "falling index",
			edit:    func(r *Report) { r.Index = 50; r.Trend[len(r.Trend)-1].Value = 50 },
			want:    []string{`<div class="change down">`, `▼</span> −10.9 points`},
			notWant: []string{`class="change up"`},
		},
		{
			name:    "zero gaps",
			edit:    func(r *Report) { r.TopGaps = nil },
			want:    []string{"No gaps: every assessed control meets its target."},
			notWant: []string{"PR.AA-03"},
		},
		{
			name: "unmeasured indicator with a stale zero value",
			edit: func(r *Report) {
				r.Indicators = []Indicator{{Name: "Phishing", Value: "0%", Measured: false}}
			},
			want:    []string{`<tr class="unmeasured"><td>Phishing<span class="why">no data yet</span></td><td class="num value">not measured</td>`},
			notWant: []string{">0%<"},
		},
		{
			name:    "1000 gaps and overdue actions",
			edit:    func(r *Report) { *r = *bigReport(1000) },
			want:    []string{`<p class="more">and 975 more</p>`, "Organization 25 of Łódź"},
			notWant: []string{"Organization 26 of Łódź", "host-025"},
		},
		{
			name: "very long names",
			edit: func(r *Report) {
				r.TopGaps[0].Org = strings.Repeat("Sehr lange Organisationsbezeichnung ", 40)
			},
			want: []string{"Sehr lange Organisationsbezeichnung Sehr"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleReport()
			tt.edit(r)
			got := renderHTML(t, r)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("HTML lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("HTML contains %q", w)
				}
			}
			assertSelfContained(t, got)
		})
	}
}

func TestHTMLCapsCount(t *testing.T) {
	got := renderHTML(t, bigReport(1000))
	// Rows are counted inside each section.
	count := func(section string) int {
		start := strings.Index(got, `<section id="`+section+`">`)
		end := strings.Index(got[start:], "</section>")
		return strings.Count(got[start:start+end], "<tr>") - 1 // minus the header row
	}
	if n := count("gaps"); n != MaxGaps {
		t.Errorf("%d gap rows, want %d", n, MaxGaps)
	}
	if n := count("overdue"); n != MaxOverdue {
		t.Errorf("%d overdue rows, want %d", n, MaxOverdue)
	}
	if n := count("exposure"); n != 36 {
		t.Errorf("%d service rows, want 36", n)
	}
}

func TestWriteHTMLNil(t *testing.T) {
	if err := WriteHTML(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("WriteHTML(nil) succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteHTMLWriteError(t *testing.T) {
	if err := WriteHTML(failWriter{}, sampleReport()); err == nil {
		t.Fatal("WriteHTML to a failing writer succeeded")
	}
}

func nan() float64 { return math.NaN() }

func TestTruncRunes(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"Govern", 16, "Govern"},
		{"Łódź Water Authority", 6, "Łódź…"},
		{"abcdefgh", 8, "abcdefgh"},
		{"abcdefghi", 8, "abcdefg…"},
	}
	for _, tt := range tests {
		if got := truncRunes(tt.in, tt.n); got != tt.want {
			t.Errorf("truncRunes(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
