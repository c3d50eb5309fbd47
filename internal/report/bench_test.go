package report

import (
	"bytes"
	"testing"
)

// BenchmarkRender renders the council report of a large city (20
// indicators, a 60-point trend, 25 gaps, 25 overdue actions, 36 services)
// in both formats; the target is well under 5 s for the pair.
func BenchmarkRender(b *testing.B) {
	r := bigReport(25)
	var buf bytes.Buffer
	render := func(b *testing.B, html, pdf bool) {
		for b.Loop() {
			buf.Reset()
			if html {
				if err := WriteHTML(&buf, r); err != nil {
					b.Fatal(err)
				}
			}
			if pdf {
				if err := WritePDF(&buf, r); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(buf.Len()), "out-bytes")
	}
	b.Run("both", func(b *testing.B) { render(b, true, true) })
	b.Run("html", func(b *testing.B) { render(b, true, false) })
	b.Run("pdf", func(b *testing.B) { render(b, false, true) })
}
