package citymodel

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"

	"bulwark"
	"bulwark/internal/generate"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

// generated returns a generated city of n assets as multi-document YAML
// written by the Encoder (one document per generator chunk of 1000 assets).
func generated(b *testing.B, n int) ([]byte, int64) {
	b.Helper()
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	var assets int64
	err := generate.Generate(generate.Options{Assets: n, Seed: 7}, func(c *bulwark.City) error {
		assets += int64(len(c.Assets))
		return enc.Encode(c)
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes(), assets
}

func benchValidate(b *testing.B, fast bool) {
	data, assets := generated(b, 100000)
	defer func(old bool) { fastParse = old }(fastParse)
	fastParse = fast
	s := Source{Name: "city.yaml", Open: func() (io.ReadCloser, error) { return nopCloser{bytes.NewReader(data)}, nil }}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var peak uint64
	cpu0 := testenv.CPUTime()
	for b.Loop() {
		res, err := Validate(context.Background(), nil, []Source{s}, ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Assets != assets {
			b.Fatalf("validated %d assets, want %d", res.Assets, assets)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	cpu := (testenv.CPUTime() - cpu0).Seconds()
	b.ReportMetric(float64(assets)*float64(b.N)/b.Elapsed().Seconds(), "assets/s")
	if cpu > 0 {
		b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(len(data))*float64(b.N)/cpu/1e6, "MB/cpu-s")
		b.ReportMetric(float64(assets)*float64(b.N)/cpu, "assets/cpu-s")
	}
	b.ReportMetric(float64(len(data))/(1<<20), "MiB/file")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap")
}

// BenchmarkParseValidate measures pass 1 (parse and validate everything,
// no store) on a generated 100k-asset multi-document YAML file.
func BenchmarkParseValidate(b *testing.B) { benchValidate(b, true) }

// BenchmarkParseValidateSequential decodes one document at a time.
func BenchmarkParseValidateSequential(b *testing.B) {
	defer func(old int) { maxWorkers = old }(maxWorkers)
	maxWorkers = 1
	benchValidate(b, true)
}

// BenchmarkParseValidateYAMLv3 is the same with yaml.v3 only.
func BenchmarkParseValidateYAMLv3(b *testing.B) { benchValidate(b, false) }

// BenchmarkEncode measures the Encoder on the same city.
func BenchmarkEncode(b *testing.B) {
	var chunks []*bulwark.City
	var assets int64
	generate.Generate(generate.Options{Assets: 100000, Seed: 7}, func(c *bulwark.City) error {
		chunks = append(chunks, c)
		assets += int64(len(c.Assets))
		return nil
	})
	var size int64
	for b.Loop() {
		cw := &countWriter{}
		enc := NewEncoder(cw)
		for _, c := range chunks {
			if err := enc.Encode(c); err != nil {
				b.Fatal(err)
			}
		}
		enc.Close()
		size = cw.n
	}
	b.SetBytes(size)
	b.ReportMetric(float64(assets)*float64(b.N)/b.Elapsed().Seconds(), "assets/s")
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkImportSQLite measures a whole import (both passes and the
// store transaction) of the 100k-asset city into a fresh SQLite file, and
// a re-import of the same file (everything unchanged).
func BenchmarkImportSQLite(b *testing.B) {
	data, assets := generated(b, 100000)
	s := Source{Name: "city.yaml", Open: func() (io.ReadCloser, error) { return nopCloser{bytes.NewReader(data)}, nil }}
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	cpu0 := testenv.CPUTime()
	for b.Loop() {
		b.StopTimer()
		db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "b.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Import(ctx, db, []Source{s}, ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Assets != assets {
			b.Fatalf("imported %d", res.Assets)
		}
		res, err = Import(ctx, db, []Source{s}, ImportOptions{})
		if err != nil || res.Stats.Created+res.Stats.Updated != 0 {
			b.Fatalf("re-import: %+v %v", res, err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(2*assets)*float64(b.N)/b.Elapsed().Seconds(), "assets/s")
	if cpu := (testenv.CPUTime() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(2*assets)*float64(b.N)/cpu, "assets/cpu-s")
	}
}
