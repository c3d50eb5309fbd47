package report

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The PDF embeds Liberation Sans, a TrueType font under the SIL Open Font
// License shipped as a Go module that gonum.org/v1/plot already depends on
// for its own charts, so no font file is read at run time and the charts
// and the text match.
//
// Maroto's default font is a core PDF font (Arial/Helvetica): those only
// cover Windows-1252 through a translator, so "Łódź" or "≥" would print as
// garbage. Liberation Sans covers Latin (including Latin Extended-A:
// Polish, Czech, Turkish, Romanian...), Greek, Cyrillic and the usual
// punctuation and symbols (— … “ ” € ≤ ≥ ▲ ▼). Maroto embeds it as a
// subset, so a report grows by tens of kilobytes, not by the whole font.
// A character the font lacks (Chinese, emoji) is printed as "?" rather
// than as an empty box; the HTML report shows it as is.
const pdfFamily = "liberationsans"

var pdfFont struct {
	once    sync.Once
	regular *sfnt.Font
	bold    *sfnt.Font
	err     error
}

func loadPDFFont() error {
	pdfFont.once.Do(func() {
		pdfFont.regular, pdfFont.err = sfnt.Parse(liberationsansregular.TTF)
		if pdfFont.err != nil {
			pdfFont.err = fmt.Errorf("report: parse the PDF font: %w", pdfFont.err)
			return
		}
		pdfFont.bold, pdfFont.err = sfnt.Parse(liberationsansbold.TTF)
		if pdfFont.err != nil {
			pdfFont.err = fmt.Errorf("report: parse the PDF bold font: %w", pdfFont.err)
		}
	})
	return pdfFont.err
}

// metrics measures text set in the PDF font. It holds an sfnt.Buffer, so
// each rendering uses its own.
type metrics struct {
	buf sfnt.Buffer
}

// pdfText returns s cleaned and with every character the font lacks
// replaced by "?".
func (m *metrics) pdfText(s string) string {
	s = clean(s)
	ok := true
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			continue
		}
		if g, err := pdfFont.regular.GlyphIndex(&m.buf, r); err != nil || g == 0 {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if g, err := pdfFont.regular.GlyphIndex(&m.buf, r); err != nil || g == 0 {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// width is the width of s in millimetres at size points.
func (m *metrics) width(s string, size float64, bold bool) float64 {
	f := pdfFont.regular
	if bold {
		f = pdfFont.bold
	}
	upem := fixed.Int26_6(f.UnitsPerEm())
	var units fixed.Int26_6
	for _, r := range s {
		g, err := f.GlyphIndex(&m.buf, r)
		if err != nil {
			continue
		}
		// At ppem = units per em the advance comes back in font units.
		a, err := f.GlyphAdvance(&m.buf, g, upem<<6, 0)
		if err != nil {
			continue
		}
		units += a
	}
	em := float64(units) / 64 / float64(upem)
	return em * size * 25.4 / 72
}

// fit shortens s with an ellipsis until it fits in w millimetres.
func (m *metrics) fit(s string, size, w float64, bold bool) string {
	if m.width(s, size, bold) <= w {
		return s
	}
	ell := m.width("…", size, bold)
	rs := []rune(s)
	// Binary search on the number of runes kept.
	lo, hi := 0, len(rs)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if m.width(string(rs[:mid]), size, bold)+ell <= w {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return strings.TrimRight(string(rs[:lo]), " ") + "…"
}

// wrap breaks s into at most maxLines lines of width w millimetres,
// breaking at spaces (or inside a word longer than a line) and ending the
// last line with an ellipsis when text is left over.
func (m *metrics) wrap(s string, size, w float64, bold bool, maxLines int) []string {
	if s == "" || maxLines <= 0 {
		return nil
	}
	var lines []string
	rest := s
	for rest != "" && len(lines) < maxLines {
		if len(lines) == maxLines-1 || m.width(rest, size, bold) <= w {
			lines = append(lines, m.fit(rest, size, w, bold))
			break
		}
		// The longest prefix that fits, cut at the last space if any.
		line := m.fit(rest, size, w, bold)
		line = strings.TrimSuffix(line, "…")
		cut := len(line)
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			cut = i
		}
		if cut == 0 {
			// Not even one character fits; keep one so we progress.
			_, n := utf8.DecodeRuneInString(rest)
			cut = n
		}
		lines = append(lines, strings.TrimRight(rest[:cut], " "))
		rest = strings.TrimLeft(rest[cut:], " ")
	}
	return lines
}
