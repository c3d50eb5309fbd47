package report

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Charts are drawn at 150 dpi: sharp on paper, a few tens of kilobytes.
const chartDPI = 150

var (
	chartFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	chartBlue = color.RGBA{R: 0x2f, G: 0x6d, B: 0xb5, A: 0xff}
	chartGrid = color.RGBA{R: 0xd9, G: 0xde, B: 0xe5, A: 0xff}
	chartInk  = color.RGBA{R: 0x1d, G: 0x24, B: 0x30, A: 0xff}
)

// trendPNG draws the index history; ps has at least two points.
func trendPNG(ps []Point, w, h vg.Length) ([]byte, error) {
	p := plot.New()
	styleAxes(p)
	p.Y.Min, p.Y.Max = 0, 100
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}})
	p.Add(&plotter.Grid{Horizontal: draw.LineStyle{Color: chartGrid, Width: vg.Points(0.5)}})

	xys := make(plotter.XYs, len(ps))
	first, last := trendRange(ps)
	byDate := last.After(first)
	for i, pt := range ps {
		xys[i].X = float64(i)
		if byDate {
			xys[i].X = float64(pt.At.Unix())
		}
		xys[i].Y = clamp(pt.Value, 0, 100)
	}
	if byDate {
		p.X.Tick.Marker = plot.TimeTicks{Format: "2006-01-02"}
	} else {
		p.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "first"}, {Value: float64(len(ps) - 1), Label: "latest"}})
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return nil, fmt.Errorf("report: trend chart: %w", err)
	}
	line.Color = chartBlue
	line.Width = vg.Points(2)
	p.Add(line)
	if len(ps) <= 30 {
		dots, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("report: trend chart: %w", err)
		}
		dots.GlyphStyle = draw.GlyphStyle{Color: chartBlue, Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
		p.Add(dots)
	}
	return drawPNG(p, w, h)
}

// coveragePNG draws one bar per CSF function; a function with nothing
// assessed gets no bar and "n/a" in its label rather than a zero bar.
func coveragePNG(fs []functionView, m *metrics, w, h vg.Length) ([]byte, error) {
	p := plot.New()
	styleAxes(p)
	p.Y.Min, p.Y.Max = 0, 100
	p.Y.Label.Text = "% implemented"
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}})
	p.Add(&plotter.Grid{Horizontal: draw.LineStyle{Color: chartGrid, Width: vg.Points(0.5)}})

	vals := make(plotter.Values, len(fs))
	names := make([]string, len(fs))
	for i, f := range fs {
		code := m.fit(m.pdfText(f.Code), 8, 25, false)
		if f.Assessed {
			vals[i] = f.Share * 100
			names[i] = code + "\n" + f.Label
		} else {
			names[i] = code + "\nn/a"
		}
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(26))
	if err != nil {
		return nil, fmt.Errorf("report: coverage chart: %w", err)
	}
	bars.Color = chartBlue
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(names...)
	// Half a slot of room either side so the end bars are not cut.
	p.X.Min, p.X.Max = -0.6, float64(len(fs))-0.4
	p.X.Tick.Length = 0
	return drawPNG(p, w, h)
}

func styleAxes(p *plot.Plot) {
	p.BackgroundColor = color.White
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Color = chartGrid
		a.Tick.Color = chartGrid
		// Sans, like the text of the PDF, and set per chart: changing
		// plot.DefaultFont would race with other users of the package.
		a.Tick.Label.Font = font.From(chartFont, vg.Points(8))
		a.Tick.Label.Color = chartInk
		a.Label.TextStyle.Font = font.From(chartFont, vg.Points(8))
		a.Label.TextStyle.Color = chartInk
	}
}

func drawPNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(chartDPI))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: encode chart: %w", err)
	}
	return b.Bytes(), nil
}
