package baseline

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/catalog"
	"bulwark/internal/generate"
	"bulwark/internal/report"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

// The scale: 200 organizations, 1,000,000 assets and 100,000
// findings. BULWARK_BENCH_ASSETS sets the assets (default 20,000 so that a
// plain -bench run stays quick); findings are a tenth of the assets.
const benchOrgs = 200

func benchAssets(b *testing.B) int { return testenv.BenchAssets(b) }

// benchCity builds the benchmark city in a fresh SQLite store: a
// generated city whose assets are spread over 200 organizations, one CSF
// assessment per organization with seeded results, a CPG profile, 100k
// findings (5 % KEV, due dates around now) and a year of fixes.
func benchCity(b *testing.B) (*Service, *sqlstore.DB, time.Time) {
	b.Helper()
	n := benchAssets(b)
	ctx := sysCtx()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	start := time.Now()
	tx, err := db.BeginImport(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var orgs []string
	var assetIDs []string
	err = generate.Generate(generate.Options{Assets: n, Seed: 1}, func(c *bulwark.City) error {
		if len(c.Organizations) > 0 {
			for _, o := range c.Organizations {
				orgs = append(orgs, o.ID)
			}
			for i := len(orgs); i < benchOrgs; i++ {
				id := fmt.Sprintf("partner-%03d", i)
				c.Organizations = append(c.Organizations, bulwark.Organization{ID: id, Name: "Partner " + id, Purview: bulwark.PurviewPrivate})
				orgs = append(orgs, id)
			}
			if err := tx.PutOrganizations(ctx, c.Organizations); err != nil {
				return err
			}
			if err := tx.PutServices(ctx, c.Services); err != nil {
				return err
			}
			if err := tx.PutSystems(ctx, c.Systems); err != nil {
				return err
			}
		}
		// Every 8th asset belongs to one of the partner organizations, so
		// that all 200 own a share of the city.
		for i := range c.Assets {
			a := &c.Assets[i]
			if len(assetIDs)%8 == 0 {
				a.Owner = orgs[24+len(assetIDs)/8%(benchOrgs-24)]
			}
			assetIDs = append(assetIDs, a.ID)
		}
		return tx.PutAssets(ctx, c.Assets)
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d assets of %d organizations in %v", len(assetIDs), len(orgs), time.Since(start))

	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := New(db, nil)
	s.SetClock(func() time.Time { return now })
	rng := rand.New(rand.NewPCG(4, 2))

	// One feed record, so that findings count as looked for.
	ftx, err := db.BeginFeed(ctx)
	if err != nil {
		b.Fatal(err)
	}
	v := bulwark.Vulnerability{ID: "CVE-2026-0001", Modified: now, Sources: []bulwark.Provenance{{Source: "nvd", Document: "bench", FetchedAt: now, Modified: now, Hash: "h"}}}
	if err := ftx.PutRecords(ctx, []bulwark.VulnRecord{{Key: "nvd", Vuln: v}}); err != nil {
		b.Fatal(err)
	}
	if _, err := ftx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	nf := max(n/10, 100)
	decisions := []bulwark.SSVCDecision{bulwark.SSVCTrack, bulwark.SSVCTrack, bulwark.SSVCTrackStar, bulwark.SSVCAttend, bulwark.SSVCAct}
	var fs []bulwark.Finding
	for i := range nf {
		f := bulwark.Finding{AssetID: assetIDs[rng.IntN(len(assetIDs))], VulnID: fmt.Sprintf("CVE-2026-%05d", i%5000), Confidence: bulwark.ConfidenceExact,
			Evidence: "bench", Decision: decisions[rng.IntN(len(decisions))], Due: now.AddDate(0, 0, rng.IntN(120)-60), KEV: rng.IntN(20) == 0}
		fs = append(fs, f)
	}
	start = time.Now()
	if _, err := db.SyncFindings(ctx, bulwark.FindingSync{Full: true, At: now.AddDate(0, 0, -30), Matches: fs}); err != nil {
		b.Fatal(err)
	}
	b.Logf("synced %d findings in %v", len(fs), time.Since(start))
	for i := 0; i < nf/100; i++ {
		f := fs[i*97%len(fs)]
		if _, err := db.UpdateFinding(ctx, f.AssetID, f.VulnID, bulwark.FindingChange{Status: bulwark.FindingFixed}); err != nil && bulwark.ErrorCode(err) != bulwark.ECONFLICT {
			b.Fatal(err)
		}
	}

	csf, _ := catalog.BuiltinByID(CSFCatalog)
	statuses := []bulwark.ImplStatus{bulwark.StatusNotImplemented, bulwark.StatusPartial, bulwark.StatusImplemented, bulwark.StatusImplemented, ""}
	start = time.Now()
	for _, org := range orgs {
		a := &bulwark.Assessment{Catalog: CSFCatalog, ScopeKind: bulwark.ScopeOrganization, Scope: org}
		if err := s.CreateAssessment(ctx, a); err != nil {
			b.Fatal(err)
		}
		for _, c := range csf.Controls {
			st := statuses[rng.IntN(len(statuses))]
			if !c.Assessable || st == "" {
				continue
			}
			if _, err := db.SetResult(ctx, a.ID, bulwark.ResultChange{Control: c.ID, Status: st, CurrentTier: 1 + rng.IntN(3), TargetTier: 3}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("assessed %d organizations in %v", len(orgs), time.Since(start))
	p := &bulwark.Profile{ID: "city-min", Owner: orgs[0], Name: "City minimum", Catalog: CSFCatalog, AppliesTo: "moderate"}
	for _, c := range []string{"GV.OC-01", "ID.AM-01", "ID.RA-01", "PR.AA-01", "PR.DS-11", "DE.CM-01", "RS.MA-01", "RC.RP-01"} {
		p.Requirements = append(p.Requirements, bulwark.ProfileRequirement{Control: c, MinStatus: bulwark.StatusPartial})
	}
	if err := s.PutProfile(ctx, p); err != nil {
		b.Fatal(err)
	}
	// A history to chart.
	for m := 12; m > 0; m-- {
		snap := bulwark.IndexSnapshot{At: now.AddDate(0, -m, 0), Index: 30 + float64(12-m)}
		if err := db.AppendIndexSnapshots(ctx, []bulwark.IndexSnapshot{snap}); err != nil {
			b.Fatal(err)
		}
	}
	return s, db, now
}

// BenchmarkReadiness recomputes every indicator and the index of the city
// and of each of the 200 organizations from the store (the graph analysis
// cached, as in a running server; the first, cold call is logged).
func BenchmarkReadiness(b *testing.B) {
	s, _, _ := benchCity(b)
	ctx := sysCtx()
	start, cpu0 := time.Now(), testenv.CPUTime()
	city, orgs, err := s.Readiness(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("cold (graph loaded and analysed): %v wall, %v CPU; index %.1f, %d organizations", time.Since(start), testenv.CPUTime()-cpu0, city.Index, len(orgs))
	if len(orgs) != benchOrgs {
		b.Fatalf("%d organizations", len(orgs))
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Readiness(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport builds the council report and renders it as HTML and
// PDF.
func BenchmarkReport(b *testing.B) {
	s, _, _ := benchCity(b)
	ctx := sysCtx()
	if _, _, err := s.Readiness(ctx); err != nil { // the graph, as a running server has it
		b.Fatal(err)
	}
	var html, pdf int
	for b.Loop() {
		r, err := s.Report(ctx, ReportOptions{City: "Bench City"})
		if err != nil {
			b.Fatal(err)
		}
		var hb, pb bytes.Buffer
		if err := report.WriteHTML(&hb, r); err != nil {
			b.Fatal(err)
		}
		if err := report.WritePDF(&pb, r); err != nil {
			b.Fatal(err)
		}
		html, pdf = hb.Len(), pb.Len()
	}
	b.ReportMetric(float64(html), "html-bytes")
	b.ReportMetric(float64(pdf), "pdf-bytes")
}
