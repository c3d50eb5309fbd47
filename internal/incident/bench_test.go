package incident_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/generate"
	"bulwark/internal/incident"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

// BenchmarkCreateIncident1M reports an incident on a generated city of
// BULWARK_BENCH_ASSETS assets (default 20,000; the target is measured at
// 1,000,000) and derives its impact: what fails, degrades and is at risk,
// the severity, the routing, the playbook's tasks, all stored in one
// transaction and read back as the reporter sees it. The city's analysis
// is cached by city version (baseline.Service), as in a running server:
// the first incident after a change of the city pays for it, and is not
// timed here.
//
//	BULWARK_BENCH_ASSETS=1000000 go test ./internal/incident -run '^$' -bench CreateIncident1M -benchtime 20x
func BenchmarkCreateIncident1M(b *testing.B) {
	n := testenv.BenchAssets(b)
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	db, err := sqlstore.Open(sys, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	start := time.Now()
	tx, err := db.BeginImport(sys)
	if err != nil {
		b.Fatal(err)
	}
	err = generate.Generate(generate.Options{Assets: n, Seed: 1}, func(c *bulwark.City) error {
		for _, put := range []func() error{
			func() error { return tx.PutOrganizations(sys, c.Organizations) },
			func() error { return tx.PutServices(sys, c.Services) },
			func() error { return tx.PutSystems(sys, c.Systems) },
			func() error { return tx.PutAssets(sys, c.Assets) },
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
	if _, err := tx.Commit(sys); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d assets in %v", n, time.Since(start))
	bs := baseline.New(db, nil)
	start = time.Now()
	an, err := bs.CityAnalysis(sys)
	if err != nil {
		b.Fatal(err)
	}
	g := an.Graph()
	b.Logf("city graph: %d nodes, %d edges, analysed in %v (cached from then on)", g.Len(), g.NumEdges(), time.Since(start))

	// The system whose failure costs the most people, and the assets of
	// its owner it runs on.
	var worst int32 = -1
	var worstPop int64
	for x := int32(0); int(x) < g.Len(); x++ {
		if g.Kind(x) != bulwark.KindSystem {
			continue
		}
		if _, pop, _ := an.Impact(x); pop > worstPop {
			worst, worstPop = x, pop
		}
	}
	if worst < 0 {
		b.Fatal("no system")
	}
	owner := g.Owner(worst)
	var assets []string
	for _, y := range g.DependsOn(worst) {
		if g.Kind(y) == bulwark.KindAsset && g.Owner(y) == owner && len(assets) < 3 {
			assets = append(assets, g.ID(y))
		}
	}
	reporter := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 1, Org: owner, Role: bulwark.RoleAnalyst, Name: "bench@" + owner})
	s := incident.New(db, bs, nil)

	for _, sc := range []struct {
		name    string
		entries []bulwark.Affected
	}{
		{"system-down", []bulwark.Affected{{ID: g.ID(worst), Effect: bulwark.EffectDown}}},
		{"assets-compromised", func() []bulwark.Affected {
			var out []bulwark.Affected
			for _, a := range assets {
				out = append(out, bulwark.Affected{ID: a, Effect: bulwark.EffectCompromised})
			}
			return out
		}()},
	} {
		b.Run(sc.name, func(b *testing.B) {
			if len(sc.entries) == 0 {
				b.Skip("no entries")
			}
			var last *bulwark.Incident
			b.ResetTimer()
			for range b.N {
				inc, err := s.Create(reporter, &bulwark.Incident{Title: "Bench incident", Threat: "ransomware", Affected: sc.entries})
				if err != nil {
					b.Fatal(err)
				}
				last = inc
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/incident")
			b.Logf("%s on %s (%s): severity %s, %d down (%d people), %d degraded, %d at risk, %d parties, %d tasks, %d affected stored",
				sc.name, g.ID(worst), owner, last.Severity.Level, last.Impact.ServicesDown, last.Impact.PopulationDown, last.Impact.ServicesDegraded,
				last.Impact.ServicesAtRisk, len(last.Parties), len(last.Tasks), len(last.Affected)+last.HiddenAffected)
		})
	}

	// Deriving alone, without the store.
	b.Run("derive-only", func(b *testing.B) {
		w := incident.NewWalker(g)
		b.ResetTimer()
		for range b.N {
			w.Derive([]incident.Entry{{Node: worst, Effect: bulwark.EffectDown}})
		}
	})
}
