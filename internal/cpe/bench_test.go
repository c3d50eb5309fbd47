package cpe

import (
	"testing"

	"github.com/facebookincubator/nvdtools/wfn"
)

var (
	benchCriterion = "cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*"
	benchPlatform  = `cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5.2:*:*:*:*:*:*:*`
	benchEscaped   = `cpe:2.3:a:advantech:webaccess\/scada:8.3.2:*:*:*:*:*:*:*`
	benchURI       = "cpe:/o:siemens:simatic_s7-1200_firmware:4.5.2"
)

func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct{ name, s string }{{"fs", benchPlatform}, {"fs-quoted", benchEscaped}, {"uri", benchURI}} {
		s := tc.s
		b.Run("bulwark/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("wfn/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wfn.Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMatches(b *testing.B) {
	c, p := MustParse(benchCriterion), MustParse(benchPlatform)
	wc, _ := wfn.Parse(benchCriterion)
	wp, _ := wfn.Parse(benchPlatform)
	b.Run("bulwark", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !Matches(c, p) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("wfn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !wfn.Match(wc, wp) {
				b.Fatal("no match")
			}
		}
	})
	pc := MustParse("cpe:2.3:o:siemens:simatic_s7-12*:*:*:*:*:*:*:*:*")
	wpc, _ := wfn.Parse("cpe:2.3:o:siemens:simatic_s7-12*:*:*:*:*:*:*:*:*")
	b.Run("bulwark/pattern", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !Matches(pc, p) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("wfn/pattern", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !wfn.Match(wpc, wp) {
				b.Fatal("no match")
			}
		}
	})
}
