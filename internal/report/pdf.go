package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/col"
	"github.com/johnfercher/maroto/v2/pkg/components/image"
	"github.com/johnfercher/maroto/v2/pkg/components/line"
	"github.com/johnfercher/maroto/v2/pkg/components/page"
	"github.com/johnfercher/maroto/v2/pkg/components/row"
	"github.com/johnfercher/maroto/v2/pkg/components/text"
	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/border"
	"github.com/johnfercher/maroto/v2/pkg/consts/extension"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/consts/pagesize"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/johnfercher/maroto/v2/pkg/props"
	"gonum.org/v1/plot/vg"

	"bulwark"
)

// Page geometry in millimetres (A4 portrait).
const (
	pdfMarginLR     = 14.0
	pdfMarginTop    = 12.0
	pdfMarginBottom = 14.0
	pdfContentW     = 210 - 2*pdfMarginLR
	pdfGrid         = 24 // columns of the layout grid

	pdfBodySize  = 8.5  // table text, points
	pdfSubSize   = 7.5  // secondary line in a cell
	pdfCellPad   = 1.5  // mm around cell text
	pdfLeading   = 1.2  // line height as a multiple of the font size
	pdfFooterH   = 4.0  // room kept above the page number, mm
	pdfChartH    = 68.0 // trend chart, mm
	pdfCoverageH = 60.0 // coverage chart, mm
	pdfMinAfterH = 25.0 // room a heading needs below it, mm
)

var (
	pdfInk     = &props.Color{Red: 0x1d, Green: 0x24, Blue: 0x30}
	pdfMuted   = &props.Color{Red: 0x6b, Green: 0x72, Blue: 0x80}
	pdfGrey    = &props.Color{Red: 0x9a, Green: 0xa3, Blue: 0xad}
	pdfUp      = &props.Color{Red: 0x1a, Green: 0x7f, Blue: 0x37}
	pdfDown    = &props.Color{Red: 0xb4, Green: 0x23, Blue: 0x18}
	pdfRule    = &props.Color{Red: 0xd9, Green: 0xde, Blue: 0xe5}
	pdfHeadBg  = &props.Color{Red: 0xf3, Green: 0xf5, Blue: 0xf8}
	pdfRowLine = &props.Cell{BorderType: border.Bottom, BorderColor: pdfRule, BorderThickness: 0.2}
)

// WritePDF writes r as an A4 PDF with the same content as WriteHTML: a
// running header with title, city and date, page numbers in the footer,
// charts drawn as PNG, and tables that continue on the next page with
// their header repeated.
func WritePDF(w io.Writer, r *Report) error {
	if r == nil {
		return bulwark.Errorf(bulwark.EINVALID, "report: no report to render")
	}
	pdf, _, err := buildPDF(r)
	if err != nil {
		return err
	}
	if _, err := w.Write(pdf); err != nil {
		return fmt.Errorf("report: write PDF: %w", err)
	}
	return nil
}

// buildPDF renders r and also returns the layout state, for tests.
func buildPDF(r *Report) (pdf []byte, d *pdfDoc, err error) {
	if err := loadPDFFont(); err != nil {
		return nil, nil, err
	}
	// The PDF library panics on some internal errors instead of returning
	// them; one bad report must not take the server down.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("report: render PDF: %v", p)
		}
	}()

	d = &pdfDoc{v: buildView(r), met: &metrics{}, pages: 1}
	cfg := config.NewBuilder().
		WithPageSize(pagesize.A4).
		WithLeftMargin(pdfMarginLR).
		WithRightMargin(pdfMarginLR).
		WithTopMargin(pdfMarginTop).
		WithBottomMargin(pdfMarginBottom).
		WithMaxGridSize(pdfGrid).
		// Each document gets its own copy of the font: the PDF writer pads
		// font tables by appending in place to slices of the bytes it is
		// given, which would write into the shared font data (a data race
		// between concurrent renders, and the same bytes gonum/plot reads).
		WithCustomFonts([]*entity.CustomFont{
			{Family: pdfFamily, Style: fontstyle.Normal, Bytes: bytes.Clone(liberationsansregular.TTF)},
			{Family: pdfFamily, Style: fontstyle.Bold, Bytes: bytes.Clone(liberationsansbold.TTF)},
		}).
		WithDefaultFont(&props.Font{Family: pdfFamily, Size: pdfBodySize, Color: pdfInk}).
		WithPageNumber(props.PageNumber{Pattern: "Page {current} of {total}", Place: props.RightBottom, Family: pdfFamily, Size: 7.5, Color: pdfMuted}).
		WithTitle(d.text(d.v.Title), true).
		WithCreator("Bulwark", false).
		WithCreationDate(r.Generated).
		WithCompression(true).
		Build()
	d.m = maroto.New(cfg)

	if err := d.build(); err != nil {
		return nil, nil, err
	}
	doc, err := d.m.Generate()
	if err != nil {
		return nil, nil, fmt.Errorf("report: render PDF: %w", err)
	}
	return doc.GetBytes(), d, nil
}

type pdfDoc struct {
	m   core.Maroto
	v   *view
	met *metrics
	// used is the height taken on the current page, header included,
	// and headerH that of the running header. The package tracks them
	// itself because maroto's FitlnCurrentPage counts the header twice.
	// Every row added has a fixed height, so the sums match maroto's.
	used, headerH float64
	pages         int // pages started so far, as the package counts them
}

// pdfPageH is the height rows can use on a page.
const pdfPageH = 297 - pdfMarginTop - pdfMarginBottom

// fits reports whether h more millimetres fit on the current page; a
// margin of error makes it break a little before maroto would, never after.
func (d *pdfDoc) fits(h float64) bool {
	return d.used+h+pdfFooterH <= pdfPageH-1e-6
}

func (d *pdfDoc) newPage() {
	if d.used != d.headerH {
		d.m.AddPages(page.New())
		d.used = d.headerH
		d.pages++
	}
}

// add adds rows, each of fixed height, starting a new page as maroto does
// when one does not fit.
func (d *pdfDoc) add(rows ...core.Row) {
	for _, r := range rows {
		h := r.GetHeight(nil, nil)
		if !d.fits(h) {
			d.newPage()
		}
		d.m.AddRows(r)
		d.used += h
	}
}

func (d *pdfDoc) text(s string) string { return d.met.pdfText(s) }

func (d *pdfDoc) build() error {
	v := d.v
	if err := d.header(); err != nil {
		return err
	}
	if err := d.m.RegisterFooter(row.New(pdfFooterH)); err != nil {
		return fmt.Errorf("report: PDF footer: %w", err)
	}

	d.heading("Readiness index", pdfMinAfterH)
	d.headline()
	if len(v.Drivers) > 0 {
		d.subheading("What changed the index")
		rows := make([][]pdfCell, 0, len(v.Drivers))
		for _, dr := range v.Drivers {
			c := pdfUp
			switch dr.Direction {
			case "down":
				c = pdfDown
			case "flat":
				c = pdfMuted
			}
			rows = append(rows, []pdfCell{{Text: dr.Indicator}, {Text: dr.Delta, Color: c}, {Text: dr.Why}})
		}
		d.table([]pdfCol{{"Indicator", 6, align.Left, 2}, {"Change", 3, align.Right, 1}, {"Why", 15, align.Left, 3}}, rows, v.DriversMore)
	}

	d.heading("Trend", pdfChartH)
	if len(v.Trend) >= 2 {
		png, err := trendPNG(v.Trend, vg.Length(pdfContentW)*vg.Millimeter, pdfChartH*vg.Millimeter)
		if err != nil {
			return err
		}
		d.add(image.NewFromBytesRow(pdfChartH, png, extension.Png, props.Rect{Center: true, Percent: 100}))
	} else {
		d.para("Not enough history for a trend yet: the chart appears after two snapshots.", pdfMuted)
	}

	d.heading("Indicators", pdfMinAfterH)
	d.para("The index is the weighted average of the measured indicators. Indicators not measured are left out, never counted as zero.", pdfMuted)
	if len(v.Indicators) > 0 {
		rows := make([][]pdfCell, 0, len(v.Indicators))
		for _, in := range v.Indicators {
			if in.Measured {
				rows = append(rows, []pdfCell{{Text: in.Name}, {Text: in.Value}, {Text: in.Formula}, {Text: in.Weight}})
				continue
			}
			rows = append(rows, []pdfCell{{Text: in.Name, Sub: in.Reason, Color: pdfGrey}, {Text: in.Value, Color: pdfGrey}, {Text: in.Formula, Color: pdfGrey}, {Text: in.Weight, Color: pdfGrey}})
		}
		d.table([]pdfCol{{"Indicator", 8, align.Left, 2}, {"Value", 4, align.Right, 1}, {"Formula", 9, align.Left, 2}, {"Weight", 3, align.Right, 1}}, rows, v.IndicatorsMore)
	} else {
		d.para("No indicators defined.", pdfMuted)
	}

	d.heading("Coverage by CSF function", 8+pdfCoverageH)
	if len(v.Functions) > 0 {
		d.para("Share of NIST CSF 2.0 subcategories implemented, per function.", pdfMuted)
		const h = pdfCoverageH
		png, err := coveragePNG(v.Functions, d.met, vg.Length(pdfContentW)*vg.Millimeter, h*vg.Millimeter)
		if err != nil {
			return err
		}
		d.ensure(h)
		d.add(image.NewFromBytesRow(h, png, extension.Png, props.Rect{Center: true, Percent: 100}))
		rows := make([][]pdfCell, 0, len(v.Functions))
		for _, f := range v.Functions {
			c := pdfCell{Text: f.Label}
			if !f.Assessed {
				c.Color = pdfGrey
			}
			rows = append(rows, []pdfCell{{Text: f.Code + " " + f.Name}, c, {Text: f.Detail}})
		}
		d.table([]pdfCol{{"Function", 10, align.Left, 1}, {"Coverage", 5, align.Right, 1}, {"Subcategories", 9, align.Left, 1}}, rows, 0)
	} else {
		d.para("No function coverage computed yet.", pdfMuted)
	}

	d.heading("Baseline profile compliance", pdfMinAfterH)
	if len(v.Profiles) > 0 {
		rows := make([][]pdfCell, 0, len(v.Profiles))
		for _, p := range v.Profiles {
			rows = append(rows, []pdfCell{{Text: p.Name}, {Text: p.Label}})
		}
		d.table([]pdfCol{{"Profile", 12, align.Left, 2}, {"Organizations meeting it", 12, align.Left, 1}}, rows, v.ProfilesMore)
	} else {
		d.para("No baseline profiles assessed yet.", pdfMuted)
	}

	d.heading("Top gaps", pdfMinAfterH)
	if len(v.Gaps) > 0 {
		d.para("Controls short of their target, highest risk first.", pdfMuted)
		rows := make([][]pdfCell, 0, len(v.Gaps))
		for _, g := range v.Gaps {
			rows = append(rows, []pdfCell{{Text: strconv.Itoa(g.Rank)}, {Text: g.Org, Sub: g.Scope}, {Text: g.Control}, {Text: g.Title, Sub: g.Why}, {Text: g.Status}, {Text: g.Score}})
		}
		d.table([]pdfCol{{"#", 1, align.Right, 1}, {"Organization", 5, align.Left, 2}, {"Control", 3, align.Left, 1}, {"Gap and why it matters", 10, align.Left, 2}, {"Status", 3, align.Left, 2}, {"Risk", 2, align.Right, 1}}, rows, v.GapsMore)
	} else {
		d.para("No gaps: every assessed control meets its target.", pdfMuted)
	}

	d.heading("Exposure of critical services", pdfMinAfterH)
	if len(v.Services) > 0 {
		d.para("Open findings on what each critical service depends on. “Act” and “Attend” are the urgency decisions; KEV counts vulnerabilities known to be exploited.", pdfMuted)
		rows := make([][]pdfCell, 0, len(v.Services))
		for _, s := range v.Services {
			rows = append(rows, []pdfCell{{Text: s.Name, Sub: s.Category}, {Text: s.Population}, {Text: s.Act}, {Text: s.Attend}, {Text: s.KEV}, {Text: s.Overdue}})
		}
		d.table([]pdfCol{{"Service", 9, align.Left, 1}, {"Population", 4, align.Right, 1}, {"Act", 2, align.Right, 1}, {"Attend", 3, align.Right, 1}, {"KEV", 3, align.Right, 1}, {"Overdue", 3, align.Right, 1}}, rows, v.ServicesMore)
	} else {
		d.para("No critical services recorded.", pdfMuted)
	}

	d.heading("Overdue actions", pdfMinAfterH)
	if len(v.Overdue) > 0 {
		rows := make([][]pdfCell, 0, len(v.Overdue))
		for _, o := range v.Overdue {
			rows = append(rows, []pdfCell{{Text: o.Owner}, {Text: o.Asset}, {Text: o.Vuln}, {Text: o.Decision}, {Text: o.Due}, {Text: o.DaysOver}})
		}
		d.table([]pdfCol{{"Owner", 6, align.Left, 1}, {"Asset", 4, align.Left, 1}, {"Vulnerability", 4, align.Left, 1}, {"Decision", 3, align.Left, 1}, {"Due", 4, align.Left, 1}, {"Days over", 3, align.Right, 1}}, rows, v.OverdueMore)
	} else {
		d.para("No overdue actions.", pdfMuted)
	}

	d.heading("Notes", pdfMinAfterH)
	if len(v.Notes) > 0 {
		for _, n := range v.Notes {
			d.para("• "+n, pdfInk)
		}
		if v.NotesMore > 0 {
			d.para("and "+strconv.Itoa(v.NotesMore)+" more", pdfMuted)
		}
	} else {
		d.para("No caveats.", pdfMuted)
	}
	return nil
}

// header is repeated on every page: title left, city and date right.
func (d *pdfDoc) header() error {
	titleW := pdfContentW*14/pdfGrid - 2
	subW := pdfContentW*10/pdfGrid - 2
	sub := d.v.Generated
	if d.v.Subject != "" {
		sub = d.v.Subject + " · " + sub
	}
	d.headerH = 7 + 3
	d.used = d.headerH
	err := d.m.RegisterHeader(
		row.New(7).Add(
			text.NewCol(14, d.met.fit(d.text(d.v.Title), 11, titleW, true), props.Text{Family: pdfFamily, Style: fontstyle.Bold, Size: 11, Color: pdfInk}),
			text.NewCol(10, d.met.fit(d.text(sub), 7.5, subW, false), props.Text{Family: pdfFamily, Size: 7.5, Color: pdfMuted, Align: align.Right, Top: 1.5}),
		),
		line.NewRow(3, props.Line{Color: pdfInk, Thickness: 0.5, SizePercent: 100}),
	)
	if err != nil {
		return fmt.Errorf("report: PDF header: %w", err)
	}
	return nil
}

// ensure starts a new page unless h millimetres fit on the current one.
func (d *pdfDoc) ensure(h float64) {
	if !d.fits(h) {
		d.newPage()
	}
}

// heading starts a section, on a new page unless the heading and the
// first need millimetres of what follows fit, so no heading is left alone
// at the foot of a page.
func (d *pdfDoc) heading(s string, need float64) {
	d.ensure(14 + need)
	d.add(
		row.New(4),
		text.NewRow(7, s, props.Text{Family: pdfFamily, Style: fontstyle.Bold, Size: 13, Color: pdfInk}),
		line.NewRow(3, props.Line{Color: pdfRule, Thickness: 0.3, SizePercent: 100}),
	)
}

func (d *pdfDoc) subheading(s string) {
	d.ensure(8 + 15)
	d.add(
		row.New(2),
		text.NewRow(6, s, props.Text{Family: pdfFamily, Style: fontstyle.Bold, Size: 10, Color: pdfInk}),
	)
}

// para adds a paragraph one row per line, so a long paragraph can break
// across pages.
func (d *pdfDoc) para(s string, c *props.Color) {
	const size = 9.0
	lh := lineHeight(size)
	for _, l := range d.met.wrap(d.text(s), size, pdfContentW-1, false, 12) {
		d.ensure(lh)
		d.add(text.NewRow(lh, l, props.Text{Family: pdfFamily, Size: size, Color: c}))
	}
	d.add(row.New(1.5))
}

func (d *pdfDoc) headline() {
	h := d.v.Head
	if !h.Measured {
		d.add(text.NewRow(14, "Not measured", props.Text{Family: pdfFamily, Style: fontstyle.Bold, Size: 22, Color: pdfGrey, Top: 2}))
		d.para("No indicator could be computed yet; see the indicators and notes below.", pdfMuted)
		return
	}
	c := pdfMuted
	switch h.Direction {
	case "up":
		c = pdfUp
	case "down":
		c = pdfDown
	}
	right := col.New(18)
	if h.HasChange {
		right.Add(
			text.New(h.Arrow+" "+h.Change+" points", props.Text{Family: pdfFamily, Style: fontstyle.Bold, Size: 14, Color: c, Top: 4}),
			text.New("since the previous snapshot ("+h.Since+")", props.Text{Family: pdfFamily, Size: 9, Color: pdfMuted, Top: 11}),
		)
	} else {
		right.Add(text.New("No previous snapshot to compare with yet.", props.Text{Family: pdfFamily, Size: 9, Color: pdfMuted, Top: 7}))
	}
	d.add(row.New(20).Add(
		col.New(6).Add(
			text.New(h.Index, props.Text{Family: pdfFamily, Style: fontstyle.Bold, Size: 40, Color: pdfInk}),
			text.New("/ 100", props.Text{Family: pdfFamily, Size: 10, Color: pdfMuted, Top: 10, Left: d.met.width(h.Index, 40, true) + 1.5}),
		),
		right,
	))
}

type pdfCol struct {
	Title string
	Size  int        // grid columns
	Align align.Type // of the cell text
	Lines int        // lines of main text before it is cut with "…"
}

type pdfCell struct {
	Text  string
	Sub   string // a smaller grey line under the text ("why", a scope)
	Color *props.Color
}

// table lays out rows with their height computed from the wrapped text, so
// every row has a fixed height maroto can paginate on; the header row is
// repeated at the top of each page the table continues on.
func (d *pdfDoc) table(cols []pdfCol, rows [][]pdfCell, hidden int) {
	head := row.New(lineHeight(pdfBodySize) + 2*pdfCellPad).WithStyle(&props.Cell{BackgroundColor: pdfHeadBg})
	for _, c := range cols {
		head.Add(text.NewCol(c.Size, d.met.fit(c.Title, pdfBodySize, d.colWidth(c), true),
			props.Text{Family: pdfFamily, Style: fontstyle.Bold, Size: pdfBodySize, Color: pdfInk, Align: c.Align, Top: pdfCellPad, Left: pdfCellPad, Right: pdfCellPad}))
	}
	built := make([]core.Row, len(rows))
	for i, cells := range rows {
		built[i] = d.tableRow(cols, cells)
	}
	headH := head.GetHeight(nil, nil)
	for i, r := range built {
		h := r.GetHeight(nil, nil)
		if i == 0 {
			d.ensure(headH + h)
			d.add(head)
			d.add(r)
			continue
		}
		if !d.fits(h) {
			d.newPage()
			d.add(head)
		}
		d.add(r)
	}
	if hidden > 0 {
		d.add(text.NewRow(6, "and "+strconv.Itoa(hidden)+" more", props.Text{Family: pdfFamily, Size: pdfBodySize, Color: pdfMuted, Top: 1.5}))
	}
	d.add(row.New(2))
}

func (d *pdfDoc) colWidth(c pdfCol) float64 {
	return pdfContentW*float64(c.Size)/pdfGrid - 2*pdfCellPad - 0.5
}

func (d *pdfDoc) tableRow(cols []pdfCol, cells []pdfCell) core.Row {
	lh, slh := lineHeight(pdfBodySize), lineHeight(pdfSubSize)
	var height float64
	built := make([]core.Col, len(cols))
	for i, c := range cols {
		var cell pdfCell
		if i < len(cells) {
			cell = cells[i]
		}
		w := d.colWidth(c)
		main := d.met.wrap(d.text(cell.Text), pdfBodySize, w, false, c.Lines)
		sub := d.met.wrap(d.text(cell.Sub), pdfSubSize, w, false, 2)
		color := cell.Color
		if color == nil {
			color = pdfInk
		}
		cl := col.New(c.Size)
		y := pdfCellPad
		for _, l := range main {
			cl.Add(text.New(l, props.Text{Family: pdfFamily, Size: pdfBodySize, Color: color, Align: c.Align, Top: y, Left: pdfCellPad, Right: pdfCellPad}))
			y += lh
		}
		for _, l := range sub {
			cl.Add(text.New(l, props.Text{Family: pdfFamily, Size: pdfSubSize, Color: pdfMuted, Align: c.Align, Top: y, Left: pdfCellPad, Right: pdfCellPad}))
			y += slh
		}
		height = max(height, y+pdfCellPad)
		built[i] = cl
	}
	return row.New(height).Add(built...).WithStyle(pdfRowLine)
}

// lineHeight is the height of one line of text at size points, in mm.
func lineHeight(size float64) float64 {
	return size * 25.4 / 72 * pdfLeading
}
