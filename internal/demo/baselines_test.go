package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/citymodel"
	"bulwark/internal/sqlstore"
)

// TestSeedBaselines: the demo's year of assessments leaves a monthly
// history whose last month is below the index now (maturity grows), a
// published profile, and revisions dated across the year.
func TestSeedBaselines(t *testing.T) {
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := citymodel.Import(ctx, db, []citymodel.Source{CitySource()}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	bs := baseline.New(db, nil)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	start := time.Now()
	orgs, err := db.ListOrganizations(ctx, bulwark.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := SeedBaselines(ctx, db, bs, orgs.Items[0].ID, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded in %v", time.Since(start))
	hist, err := bs.History(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 12 || !hist[0].At.Equal(now.AddDate(0, -12, 0)) {
		t.Fatalf("history: %d snapshots, first at %v", len(hist), hist[0].At)
	}
	city, orgSnaps, err := bs.Readiness(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !(hist[0].Index < hist[11].Index && hist[11].Index <= city.Index) {
		t.Errorf("index does not grow over the year: first %.1f, last recorded %.1f, now %.1f", hist[0].Index, hist[11].Index, city.Index)
	}
	if len(orgSnaps) != 24 {
		t.Errorf("%d organization snapshots", len(orgSnaps))
	}
	res, err := bs.Compliance(ctx, DemoProfile)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) == 0 || res.Meeting() == len(res.Rows) {
		t.Errorf("profile applies to %d organizations, %d meet it: want some but not all", len(res.Rows), res.Meeting())
	}
	list, err := db.ListAssessments(ctx, bulwark.AssessmentFilter{Catalog: baseline.CSFCatalog})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 22 {
		t.Errorf("%d assessments, want 22 (two organizations have none)", len(list))
	}
	h, err := db.ResultHistory(ctx, list[0].ID, "GV.OC-01")
	if err != nil || len(h) == 0 || h[0].At.After(now.AddDate(0, -10, 0)) {
		t.Errorf("history of GV.OC-01: %v %+v", err, h)
	}
}
