package sim

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"bulwark/internal/depgraph"
	"bulwark/internal/testenv"
)

// benchCfg: restores of 2-8 h (triangular, backups present) by one of three
// skills, 20 crews per owner and skill.
func benchCfg(n int) Config {
	cfg := Config{
		Profiles: []Recovery{
			{Restore: Triangular(2, 4, 8), RestoreNoBackups: Triangular(24, 48, 96), Backups: true, Skill: "it"},
			{Restore: Triangular(4, 8, 16), RestoreNoBackups: Triangular(24, 72, 120), Backups: true, Skill: "ot"},
			{Restore: Triangular(1, 2, 4), RestoreNoBackups: Triangular(12, 24, 48), Backups: true, Skill: "net"},
		},
		NodeProfile:  make([]uint16, n),
		DefaultCrews: 20,
	}
	for x := range cfg.NodeProfile {
		cfg.NodeProfile[x] = uint16(x % 3)
	}
	return cfg
}

// heavyScenario: a switch exploit (every switch hit with probability p),
// plus ransomware across 2% of the systems' assets and a power feed loss.
func heavyScenario(c *synth, p float64) *Scenario {
	var zone []string
	for s := 0; s < len(c.assets); s += 50 {
		zone = append(zone, c.assets[s]...)
	}
	return &Scenario{
		Horizon: 168,
		Goal:    Goal{Share: 0.9, Within: 24},
		Events: []Event{
			{Name: "switch CVE", Nodes: c.switches, Probability: p, Start: Triangular(0, 1, 6)},
			{Name: "ransomware", Nodes: zone, Probability: 0.3, Start: Fixed(2), NoBackups: true},
		},
	}
}

type benchCity struct {
	c *synth
	g *depgraph.Graph
	m *Model
}

var (
	benchMu     sync.Mutex
	benchCities = map[int]*benchCity{}
)

func loadBench(b *testing.B, n int) *benchCity {
	benchMu.Lock()
	defer benchMu.Unlock()
	if bc := benchCities[n]; bc != nil {
		return bc
	}
	c := synthCity(n)
	g, err := depgraph.Compile(c.data)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(g, benchCfg(g.Len()))
	if err != nil {
		b.Fatal(err)
	}
	bc := &benchCity{c, g, m}
	benchCities[n] = bc
	return bc
}

// BenchmarkFreeze compiles the graph and freezes the model
// (BULWARK_BENCH_ASSETS nodes; the goal is 1 M nodes in ≤ 2 s, ≤ 500 MB).
func BenchmarkFreeze(b *testing.B) {
	n := testenv.BenchAssets(b)
	c := synthCity(n)
	b.ReportAllocs()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	for b.Loop() {
		g, err := depgraph.Compile(c.data)
		if err != nil {
			b.Fatal(err)
		}
		m, err := New(g, benchCfg(g.Len()))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		runtime.KeepAlive(m)
	}
	b.ReportMetric(float64(len(c.data.Nodes)), "nodes")
	b.ReportMetric(float64(len(c.data.Edges)), "edges")
	// Heap held by the compiled graph and the model (the input excluded).
	b.ReportMetric(float64(ms.HeapAlloc-before)/1e6, "heldMB")
}

// BenchmarkHeavyTrial runs heavy trials of BULWARK_BENCH_ASSETS nodes with
// GOMAXPROCS workers (goal at 1 M nodes: 10,000 trials in ≤ 60 s, about
// 6 ms per trial wall on 2 cores). It reports nodes failed per trial.
func BenchmarkHeavyTrial(b *testing.B) {
	n := testenv.BenchAssets(b)
	bc := loadBench(b, n)
	s := heavyScenario(bc.c, heavyP)
	benchRun(b, bc, s)
}

// BenchmarkTrials100k: the 100,000-node city (goal: 100,000 trials in
// ≤ 30 s, 0.3 ms per trial).
func BenchmarkTrials100k(b *testing.B) {
	bc := loadBench(b, 100_000)
	s := heavyScenario(bc.c, heavyP)
	benchRun(b, bc, s)
}

func benchRun(b *testing.B, bc *benchCity, s *Scenario) {
	// Warm-up run to size worker state and measure the trial's size.
	res, err := Run(context.Background(), bc.m, s, Options{Trials: 8, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := testenv.CPUTime()
	if _, err := Run(context.Background(), bc.m, s, Options{Trials: b.N, Seed: 2}); err != nil {
		b.Fatal(err)
	}
	// CPU time per trial: wall time on a shared machine overstates it.
	b.ReportMetric(float64(testenv.CPUTime()-cpu)/1e6/float64(b.N), "cpu-ms/trial")
	b.ReportMetric(res.MeanFailed, "failed/trial")
	b.ReportMetric(float64(bc.g.Len()), "nodes")
}

// heavyP makes a heavy trial at 1 M nodes fail about 134,000 nodes.
const heavyP = 0.12

// BenchmarkFreezeWithPriorities adds depgraph.Analyze, which restoration
// priorities come from, to the freeze.
func BenchmarkFreezeWithPriorities(b *testing.B) {
	n := testenv.BenchAssets(b)
	c := synthCity(n)
	g, err := depgraph.Compile(c.data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cfg := benchCfg(g.Len())
		cfg.Analysis = depgraph.Analyze(g)
		if _, err := New(g, cfg); err != nil {
			b.Fatal(err)
		}
	}
}
