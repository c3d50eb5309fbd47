package generate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"bulwark"
	"bulwark/internal/citymodel"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// encode writes a generated city as city-model YAML.
func encode(t testing.TB, gen func(func(*bulwark.City) error) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := citymodel.NewEncoder(&buf)
	if err := gen(enc.Encode); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func withOptions(opt Options) func(func(*bulwark.City) error) error {
	return func(emit func(*bulwark.City) error) error { return Generate(opt, emit) }
}

// TestEncodedDeterministic: the same seed gives byte-identical YAML, a
// different seed different YAML.
func TestEncodedDeterministic(t *testing.T) {
	a := encode(t, Demo)
	b := encode(t, Demo)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of Demo encode differently")
	}
	c := encode(t, withOptions(Options{Assets: DemoAssets, Seed: DemoSeed + 1, Name: DefaultName}))
	if bytes.Equal(a, c) {
		t.Fatal("a different seed encodes the same city")
	}
	if n := bytes.Count(a, []byte("\n---\n")) + 1; n != 1+DemoAssets/ChunkSize {
		t.Errorf("demo YAML has %d documents, want %d", n, 1+DemoAssets/ChunkSize)
	}
}

// TestGolden pins a small generated city, so that any change to the
// generator's output is seen in review. Run with -update after an intended
// change.
func TestGolden(t *testing.T) {
	got := encode(t, withOptions(Options{Assets: 120, Seed: 1}))
	path := filepath.Join("testdata", "small-city.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("generated city differs from %s; run go test -update and review the diff", path)
	}
}

// BenchmarkGenerateEncode1M measures what `bulwark generate` costs: a
// million-asset city generated and written as city-model YAML.
func BenchmarkGenerateEncode1M(b *testing.B) {
	b.ReportAllocs()
	var n countingWriter
	for b.Loop() {
		enc := citymodel.NewEncoder(&n)
		if err := Generate(Options{Assets: 1_000_000, Seed: 1}, enc.Encode); err != nil {
			b.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/float64(b.N)/(1<<20), "MiB-yaml")
}

type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}
