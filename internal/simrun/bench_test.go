package simrun

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/generate"
	"bulwark/internal/sim"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

// benchScenario is ransomware across the generated city's IT zone and its
// switches exploited: hundreds of nodes fail in a trial.
const benchScenario = `name: bench
horizon: 7d
goal: 90% of critical services within 24h
events:
  - name: it-ransomware
    select: {zone: it}
    probability: 0.1
    start: {kind: triangular, min: 0h, mode: 4h, max: 1d}
    no_backups: true
  - name: switches
    select: {kind: switch}
    probability: 0.05
    start: {kind: uniform, min: 0h, max: 12h}
`

// BenchmarkJobPath compares a Monte Carlo run as a job makes it (rounds
// small enough to report progress) with the direct run (one round), on
// the generated 10,000-asset city: the progress rounds' cost.
func BenchmarkJobPath(b *testing.B) {
	ctx := sysCtx()
	st, err := sqlstore.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tx, err := st.BeginImport(ctx)
	if err != nil {
		b.Fatal(err)
	}
	err = generate.Generate(generate.Options{Assets: 10_000, Seed: generate.DemoSeed}, func(c *bulwark.City) error {
		for _, put := range []func() error{
			func() error { return tx.PutOrganizations(ctx, c.Organizations) }, func() error { return tx.PutServices(ctx, c.Services) },
			func() error { return tx.PutSystems(ctx, c.Systems) }, func() error { return tx.PutAssets(ctx, c.Assets) },
		} {
			if err := put(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	m, err := LoadModel(ctx, st, 2)
	if err != nil {
		b.Fatal(err)
	}
	s, err := sim.ParseScenario(strings.NewReader(benchScenario), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if err := Resolve(ctx, st, m.Graph, s, nil); err != nil {
		b.Fatal(err)
	}
	const trials = 5000
	for _, tc := range []struct {
		name string
		opt  sim.Options
	}{
		{"direct", sim.Options{Trials: trials, Seed: 1, Top: TopContributors}},
		{"job", func() sim.Options { o := SimOptions(trials, 1); o.Progress = func(int, int) {}; return o }()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cpu := testenv.CPUTime()
			for b.Loop() {
				if _, err := sim.Run(context.Background(), m.Sim, s, tc.opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((testenv.CPUTime()-cpu).Microseconds())/float64(b.N*trials), "cpu-µs/trial")
		})
	}
}
