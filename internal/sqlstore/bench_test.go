package sqlstore

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/generate"
	"bulwark/internal/testenv"
)

// benchAssets is the city size for the import and graph benchmarks.
func benchAssets(b *testing.B) int { return testenv.BenchAssets(b) }

// importGenerated streams a generated city of n assets (each with CPEs and
// a system link, plus the generator's services and systems) into st in
// one import transaction.
func importGenerated(tb testing.TB, st bulwark.Store, n int) bulwark.ImportStats {
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	tx, err := st.BeginImport(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	err = generate.Generate(generate.Options{Assets: n, Seed: 1}, func(c *bulwark.City) error {
		if err := tx.PutOrganizations(ctx, c.Organizations); err != nil {
			return err
		}
		if err := tx.PutServices(ctx, c.Services); err != nil {
			return err
		}
		if err := tx.PutSystems(ctx, c.Systems); err != nil {
			return err
		}
		return tx.PutAssets(ctx, c.Assets)
	})
	if err != nil {
		tb.Fatal(err)
	}
	stats, err := tx.Commit(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return stats
}

// memPeak samples the Go heap in use while it runs.
type memPeak struct {
	stop chan struct{}
	done sync.WaitGroup
	peak atomic.Uint64
}

func startMemPeak() *memPeak {
	m := &memPeak{stop: make(chan struct{})}
	m.done.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > m.peak.Load() {
				m.peak.Store(ms.HeapInuse)
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	})
	return m
}

func (m *memPeak) Stop() uint64 {
	close(m.stop)
	m.done.Wait()
	return m.peak.Load()
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes, or 0.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func benchImport(b *testing.B, open func(b *testing.B) *DB) {
	n := benchAssets(b)
	for b.Loop() {
		b.StopTimer()
		st := open(b)
		runtime.GC()
		m := startMemPeak()
		b.StartTimer()
		start, cpu0 := time.Now(), testenv.CPUTime()
		stats := importGenerated(b, st, n)
		el, cpu := time.Since(start), testenv.CPUTime()-cpu0
		b.StopTimer()
		peak := m.Stop()
		if stats.Created < int64(n) {
			b.Fatalf("created %d entities, want at least %d", stats.Created, n)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "assets/s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
		st.Close()
		b.StartTimer()
	}
}

func benchReimport(b *testing.B, open func(b *testing.B) *DB) {
	n := benchAssets(b)
	st := open(b)
	importGenerated(b, st, n)
	var cpu time.Duration
	defer func() { b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op") }()
	for b.Loop() {
		cpu0 := testenv.CPUTime()
		stats := importGenerated(b, st, n)
		cpu += testenv.CPUTime() - cpu0
		if stats.Created != 0 || stats.Updated != 0 {
			b.Fatalf("re-import changed something: %+v", stats)
		}
	}
}

// benchLoadGraph measures LoadGraph of a city of benchAssets assets, cold
// (the graph cache emptied before each load, so the database is scanned)
// or warm (the city unchanged since the last load).
func benchLoadGraph(b *testing.B, open func(b *testing.B) *DB, cold bool) {
	n := benchAssets(b)
	st := open(b)
	importGenerated(b, st, n)
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	if !cold {
		if _, err := st.LoadGraph(ctx); err != nil { // fill the cache
			b.Fatal(err)
		}
	}
	runtime.GC()
	var g *bulwark.GraphData
	var cpu time.Duration
	for b.Loop() {
		var err error
		if cold {
			b.StopTimer()
			st.graph.mu.Lock()
			st.graph.g = nil
			st.graph.mu.Unlock()
			runtime.GC()
			b.StartTimer()
		}
		cpu0 := testenv.CPUTime()
		if g, err = st.LoadGraph(ctx); err != nil {
			b.Fatal(err)
		}
		cpu += testenv.CPUTime() - cpu0
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	if len(g.Nodes) < n {
		b.Fatalf("graph has %d nodes, want at least %d", len(g.Nodes), n)
	}
	b.ReportMetric(float64(len(g.Nodes)), "nodes")
	b.ReportMetric(float64(len(g.Edges)), "edges")
}

func openBenchSQLite(b *testing.B) *DB {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func openBenchPostgres(b *testing.B) *DB { return openPostgres(b) }

func BenchmarkImportSQLite(b *testing.B)          { benchImport(b, openBenchSQLite) }
func BenchmarkImportPostgres(b *testing.B)        { benchImport(b, openBenchPostgres) }
func BenchmarkReimportSQLite(b *testing.B)        { benchReimport(b, openBenchSQLite) }
func BenchmarkReimportPostgres(b *testing.B)      { benchReimport(b, openBenchPostgres) }
func BenchmarkLoadGraphSQLite(b *testing.B)       { benchLoadGraph(b, openBenchSQLite, true) }
func BenchmarkLoadGraphPostgres(b *testing.B)     { benchLoadGraph(b, openBenchPostgres, true) }
func BenchmarkLoadGraphWarmSQLite(b *testing.B)   { benchLoadGraph(b, openBenchSQLite, false) }
func BenchmarkLoadGraphWarmPostgres(b *testing.B) { benchLoadGraph(b, openBenchPostgres, false) }
