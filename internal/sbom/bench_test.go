package sbom

import (
	"os"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"vex-bom-1.3.json", "cisa-case8-vex.json", "meter-1.5.xml"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(name, data, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
