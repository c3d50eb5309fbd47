package vulns

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/demo"
	"bulwark/internal/feed"
	"bulwark/internal/generate"
	"bulwark/internal/sqlstore"
	"bulwark/internal/ssvc"
)

var ssvcRank = ssvc.Rank

// openDemo returns a store holding the demo city.
func openDemo(t testing.TB) (*sqlstore.DB, context.Context) {
	t.Helper()
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src := demo.CitySource()
	if _, err := citymodel.Import(ctx, db, []citymodel.Source{src}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return db, ctx
}

// TestDemoCityHasRealFindings: the bundled snapshot produces findings on
// the demo city, with KEV findings among them, and a second run changes
// nothing.
func TestDemoCityHasRealFindings(t *testing.T) {
	db, ctx := openDemo(t)
	svc := New(db, nil)
	start := time.Now()
	docs, err := svc.ImportFS(ctx, generate.DemoFeeds(), feed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for _, d := range docs {
		if d.Error != "" {
			t.Fatalf("%s rejected: %s %v", d.Name, d.Error, d.Details)
		}
		records += d.Records
	}
	t.Logf("imported %d records from %d documents in %v", records, len(docs), time.Since(start))
	start = time.Now()
	m, err := svc.Match(ctx, MatchOptions{Progress: func(p string) { t.Logf("%v %s", time.Since(start), p) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("match: %+v", m)
	if m.Sync.New == 0 || m.Matches == 0 {
		t.Fatalf("no findings on the demo city: %+v", m)
	}
	kev, err := db.ListFindings(ctx, bulwark.FindingFilter{KEV: true, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(kev.Items) == 0 {
		t.Errorf("no KEV findings on the demo city")
	}
	ex, err := svc.Exposure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) == 0 || ex[0].Findings == 0 || len(ex[0].Top) == 0 {
		t.Fatalf("no exposed services in the demo city: %+v", ex)
	}
	for i := 1; i < len(ex); i++ {
		if ssvcRank(ex[i].Worst) > ssvcRank(ex[i-1].Worst) {
			t.Errorf("exposure not ranked by worst decision: %s (%s) after %s (%s)", ex[i].ID, ex[i].Worst, ex[i-1].ID, ex[i-1].Worst)
		}
	}
	t.Logf("most exposed service: %s (%s, %d KEV, %d findings); fix first %s on %s", ex[0].ID, ex[0].Worst, ex[0].KEV, ex[0].Findings, ex[0].Top[0].VulnID, ex[0].Top[0].AssetID)
	again, err := svc.Match(ctx, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Sync.New+again.Sync.Updated+again.Sync.Closed != 0 {
		t.Errorf("second run changed findings: %+v", again.Sync)
	}
}
