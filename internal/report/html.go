package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"bulwark"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is parsed once; html/template escapes every value by context,
// including text inside the inline SVG charts.
var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// WriteHTML writes r as one self-contained HTML document: inline CSS, charts
// as inline SVG, no script and no external resource, so it can be emailed,
// archived and printed as it is.
func WriteHTML(w io.Writer, r *Report) error {
	if r == nil {
		return bulwark.Errorf(bulwark.EINVALID, "report: no report to render")
	}
	page := htmlPage{view: buildView(r)}
	page.TrendChart = trendSVG(page.Trend)
	page.FunctionChart = functionSVG(page.Functions)

	bw := bufio.NewWriter(w)
	if err := htmlTemplate.Execute(bw, page); err != nil {
		return fmt.Errorf("report: render HTML: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: write HTML: %w", err)
	}
	return nil
}

type htmlPage struct {
	*view
	TrendChart    *lineChart
	FunctionChart *barChart
}

// Chart geometry in SVG user units; the SVG scales to the page width.
const (
	trendW, trendH                     = 640, 240
	trendLeft, trendRight              = 44, 16
	trendTop, trendBottom              = 14, 30
	barRowH, barLabelW, barW, barRight = 30, 150, 340, 150
)

type lineChart struct {
	W, H      int
	Points    string // polyline points
	Dots      []xy
	Last      xy
	LastLabel string
	YTicks    []tick
	XTicks    []tick
	Left      int
	Right     int
	Top       int
	Bottom    int
}

type xy struct{ X, Y string }

type tick struct {
	Pos    string
	Label  string
	Anchor string
}

// trendSVG lays out the index trend; nil when there are fewer than two
// snapshots, since one point is not a trend.
func trendSVG(ps []Point) *lineChart {
	if len(ps) < 2 {
		return nil
	}
	c := &lineChart{W: trendW, H: trendH, Left: trendLeft, Right: trendW - trendRight, Top: trendTop, Bottom: trendH - trendBottom}
	plotW := float64(c.Right - c.Left)
	plotH := float64(c.Bottom - c.Top)
	first, last := trendRange(ps)
	span := last.Sub(first).Seconds()
	xOf := func(i int) float64 {
		// Spread by date when dates are usable, else evenly.
		if span > 0 {
			return float64(c.Left) + plotW*clamp(ps[i].At.Sub(first).Seconds()/span, 0, 1)
		}
		return float64(c.Left) + plotW*float64(i)/float64(len(ps)-1)
	}
	yOf := func(v float64) float64 {
		return float64(c.Top) + plotH*(1-clamp(v, 0, 100)/100)
	}
	var pts strings.Builder
	for i, p := range ps {
		if i > 0 {
			pts.WriteByte(' ')
		}
		pt := xy{coord(xOf(i)), coord(yOf(p.Value))}
		pts.WriteString(pt.X + "," + pt.Y)
		if len(ps) <= 30 {
			c.Dots = append(c.Dots, pt)
		}
		c.Last = pt
	}
	c.Points = pts.String()
	c.LastLabel = strconv.FormatFloat(ps[len(ps)-1].Value, 'f', 0, 64)
	for v := 0; v <= 100; v += 25 {
		c.YTicks = append(c.YTicks, tick{coord(yOf(float64(v))), strconv.Itoa(v), "end"})
	}
	// Three date labels: first, middle, last.
	anchors := []string{"start", "middle", "end"}
	seen := map[int]bool{}
	for k, i := range []int{0, (len(ps) - 1) / 2, len(ps) - 1} {
		if !seen[i] {
			seen[i] = true
			c.XTicks = append(c.XTicks, tick{coord(xOf(i)), shortDate(ps[i].At), anchors[k]})
		}
	}
	return c
}

type barChart struct {
	W, H int
	Bars []bar
}

type bar struct {
	Y, TextY     string
	LabelX, BarX string
	Width        string
	Full         string
	ValueX       string
	Code, Name   string
	Label        string
	Detail       string
	Assessed     bool
}

func functionSVG(fs []functionView) *barChart {
	if len(fs) == 0 {
		return nil
	}
	c := &barChart{W: barLabelW + barW + barRight, H: barRowH*len(fs) + 8}
	for i, f := range fs {
		y := float64(4 + i*barRowH)
		c.Bars = append(c.Bars, bar{
			Y:      coord(y + 4),
			TextY:  coord(y + barRowH/2 + 5),
			LabelX: "0",
			BarX:   strconv.Itoa(barLabelW),
			Width:  coord(barW * f.Share),
			Full:   strconv.Itoa(barW),
			ValueX: strconv.Itoa(barLabelW + barW + 8),
			// SVG text does not wrap: keep labels inside their column.
			Code:     truncRunes(f.Code, 6),
			Name:     truncRunes(f.Name, 16),
			Label:    f.Label,
			Detail:   f.Detail,
			Assessed: f.Assessed,
		})
	}
	return c
}

// coord formats an SVG coordinate with one decimal, enough on screen and
// stable for golden files.
func coord(f float64) string {
	return strconv.FormatFloat(f, 'f', 1, 64)
}
