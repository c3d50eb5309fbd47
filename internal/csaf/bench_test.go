package csaf

import (
	"os"
	"testing"
)

// BenchmarkParse measures one trimmed CISA advisory (with a relationship)
// end to end: strict pass, decoding and flattening.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/va-24-201-01.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("va-24-201-01.json", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStrictPass measures the token walk alone, to show its share.
func BenchmarkStrictPass(b *testing.B) {
	data, err := os.ReadFile("testdata/va-24-201-01.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := checkStrict("x", data, DefaultMaxDepth); err != nil {
			b.Fatal(err)
		}
	}
}
