package report

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Caps on what one report shows. A council reads the top of each list; the
// rest is summarised as "and N more" so a city with thousands of findings
// still gets a report of a few pages, in both formats alike.
const (
	MaxDrivers     = 5
	MaxIndicators  = 40
	MaxFunctions   = 12
	MaxProfiles    = 20
	MaxGaps        = 25
	MaxServices    = 40
	MaxOverdue     = 25
	MaxNotes       = 20
	MaxTrendPoints = 120 // the most recent snapshots drawn in the trend chart
)

// notMeasured is what a missing figure reads as; never a zero.
const notMeasured = "not measured"

// headline is the top of the report, computed once for both formats.
type headline struct {
	Measured bool
	Index    string // "72" or "not measured"
	Score    float64
	// HasChange is false when there is no previous snapshot to compare to.
	HasChange bool
	Change    string // "+3.5", "−2.0", "0.0"
	Direction string // "up", "down", "flat"
	Arrow     string // ▲ ▼ ▶
	Since     string // date of the previous snapshot
}

func makeHeadline(r *Report) headline {
	h := headline{Index: notMeasured, Direction: "flat", Arrow: "▶"}
	if r.Measured && finite(r.Index) {
		h.Measured = true
		h.Score = clamp(r.Index, 0, 100)
		h.Index = strconv.FormatFloat(math.Round(r.Index), 'f', 0, 64)
	}
	// Trend's last point is the current snapshot; the one before it is
	// the previous snapshot.
	if h.Measured && len(r.Trend) >= 2 {
		prev := r.Trend[len(r.Trend)-2]
		if finite(prev.Value) {
			d := r.Index - prev.Value
			h.HasChange = true
			h.Change = signed(d, 1)
			h.Since = formatDate(prev.At)
			switch {
			case d >= 0.05:
				h.Direction, h.Arrow = "up", "▲"
			case d <= -0.05:
				h.Direction, h.Arrow = "down", "▼"
			}
		}
	}
	return h
}

// more returns how many items a cap leaves out.
func more(n, limit int) int {
	if n > limit {
		return n - limit
	}
	return 0
}

func capped[T any](s []T, limit int) []T {
	if len(s) > limit {
		return s[:limit]
	}
	return s
}

// functionOrder is the CSF 2.0 order of functions; others follow, sorted.
var functionOrder = map[string]int{"GV": 0, "ID": 1, "PR": 2, "DE": 3, "RS": 4, "RC": 5}

func sortedFunctions(fs []FunctionCoverage) []FunctionCoverage {
	out := append([]FunctionCoverage(nil), fs...)
	sort.SliceStable(out, func(i, j int) bool {
		oi, iok := functionOrder[strings.ToUpper(out[i].Function)]
		oj, jok := functionOrder[strings.ToUpper(out[j].Function)]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return out[i].Function < out[j].Function
	})
	return capped(out, MaxFunctions)
}

// coverage is FunctionCoverage.Coverage as a share in [0, 1]; ok is false
// when nothing was assessed or the figure is not a number.
func coverage(f FunctionCoverage) (share float64, ok bool) {
	if f.Assessed <= 0 || !finite(f.Coverage) {
		return 0, false
	}
	return clamp(f.Coverage, 0, 1), true
}

func share(n, total int) (float64, bool) {
	if total <= 0 || n < 0 {
		return 0, false
	}
	return clamp(float64(n)/float64(total), 0, 1), true
}

func percent(s float64) string {
	return strconv.FormatFloat(math.Round(s*100), 'f', 0, 64) + "%"
}

// trendPoints returns the finite points of the trend to draw, capped to the
// most recent MaxTrendPoints.
func trendPoints(t []Point) []Point {
	var out []Point
	for _, p := range t {
		if finite(p.Value) {
			out = append(out, p)
		}
	}
	if len(out) > MaxTrendPoints {
		out = out[len(out)-MaxTrendPoints:]
	}
	return out
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func clamp(f, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, f))
}

// signed formats d with an explicit sign; the minus is a true minus sign,
// which both formats can show.
func signed(d float64, prec int) string {
	if !finite(d) {
		return "?"
	}
	s := strconv.FormatFloat(math.Abs(d), 'f', prec, 64)
	if math.Abs(d) < 0.5*math.Pow10(-prec) {
		return strconv.FormatFloat(0, 'f', prec, 64)
	}
	if d < 0 {
		return "−" + s
	}
	return "+" + s
}

// number formats f with at most two decimals and no trailing zeros.
func number(f float64) string {
	if !finite(f) {
		return "?"
	}
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// thousands formats n with comma separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2 January 2006")
}

func shortDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02")
}

// clean makes user text safe to lay out: valid UTF-8, no control
// characters (a newline or NUL inside an organization name must not break
// a table row), runs of spaces collapsed. Escaping is the renderer's job.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		// Bidirectional overrides could make a name read as something
		// else; drop them.
		if (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') {
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

// orDash shows an empty field as a dash so an empty cell is not mistaken
// for a rendering fault.
func orDash(s string) string {
	s = clean(s)
	if s == "" {
		return "—"
	}
	return s
}

func title(r *Report) string {
	if t := clean(r.Title); t != "" {
		return t
	}
	return "Cyber-readiness report"
}

// subject is the city, and the organization when the report is for one.
func subject(r *Report) string {
	city, org := clean(r.City), clean(r.Org)
	switch {
	case city != "" && org != "":
		return org + " — " + city
	case org != "":
		return org
	}
	return city
}

// truncRunes shortens s to at most n characters, the last being "…".
func truncRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return strings.TrimRight(string(rs[:n-1]), " ") + "…"
}
