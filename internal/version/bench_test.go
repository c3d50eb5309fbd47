package version

import (
	"testing"
	"time"

	"bulwark/internal/testenv"
)

// reportCPU adds the CPU time per operation: the reference machine is
// shared, and wall time per op swings with the load of other work.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(testenv.CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// benchVersions are the shapes the matcher meets most: plain dotted
// numbers, labels, qualifiers.
var benchVersions = []string{
	"1.2.3", "V4.3.8", "2.0b4", "V3.1 SP2", "1.0.0-rc1", "10.0.17763.1", "4.2(1)M3", "8.3.2_p5",
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	defer reportCPU(b, testenv.CPUTime())
	for i := 0; b.Loop(); i++ {
		if _, ok := Parse(benchVersions[i%len(benchVersions)]); !ok {
			b.Fatal("parse failed")
		}
	}
}

func parsed(b *testing.B, ss ...string) []Version {
	b.Helper()
	vs := make([]Version, len(ss))
	for i, s := range ss {
		v, ok := Parse(s)
		if !ok {
			b.Fatalf("Parse(%q) failed", s)
		}
		vs[i] = v
	}
	return vs
}

// BenchmarkCompare compares neighbours that share a prefix, the common
// case when a version is checked against the bounds of its own product.
func BenchmarkCompare(b *testing.B) {
	vs := parsed(b, "1.2.3", "1.2.4", "V4.3.8", "V4.3.10", "10.0.17763.1", "10.0.17763.1000", "V3.1 SP2", "V3.1 SP1")
	b.ReportAllocs()
	defer reportCPU(b, testenv.CPUTime())
	sum := 0
	for i := 0; b.Loop(); i++ {
		j := i % len(vs)
		sum += Compare(vs[j], vs[j^1])
	}
	if sum == 42 {
		b.Log(sum) // keep the result alive
	}
}

func BenchmarkCompareStrings(b *testing.B) {
	b.ReportAllocs()
	defer reportCPU(b, testenv.CPUTime())
	for b.Loop() {
		if _, ok := CompareStrings("V4.3.8", "4.3.10"); !ok {
			b.Fatal("not comparable")
		}
	}
}

func BenchmarkContains(b *testing.B) {
	r, err := ParseRange(">= 1.0 < 4.3.8 | >= 5.0 <= 5.2.6 | = 7.1")
	if err != nil {
		b.Fatal(err)
	}
	vs := parsed(b, "4.3.7", "5.3", "7.1", "0.9")
	b.ReportAllocs()
	defer reportCPU(b, testenv.CPUTime())
	for i := 0; b.Loop(); i++ {
		r.Contains(vs[i%len(vs)])
	}
}

func BenchmarkParseRange(b *testing.B) {
	texts := []string{"vers:all/<V4.3.8", "< V4.1.3", ">=1.220|<=1.281", "All versions < V5.6", "versions 3.0 and prior"}
	b.ReportAllocs()
	defer reportCPU(b, testenv.CPUTime())
	for i := 0; b.Loop(); i++ {
		if _, err := ParseRange(texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
}
