package demo

import (
	"context"
	"path/filepath"
	"testing"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/risk"
	"bulwark/internal/sqlstore"
)

// TestSeedRisks: the demo register names only the demo city's real
// services, systems and ICS techniques (the service checks them), has
// revisions, one accepted and one closed risk, quantified risks for the
// analysis, and seeding twice changes nothing.
func TestSeedRisks(t *testing.T) {
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := citymodel.Import(ctx, db, []citymodel.Source{CitySource()}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := risk.New(db, nil)
	if err := SeedRisks(ctx, db, rs); err != nil {
		t.Fatal(err)
	}
	vs, err := rs.List(ctx, bulwark.RiskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(demoRisks) || len(vs) < 8 {
		t.Fatalf("%d risks, want %d", len(vs), len(demoRisks))
	}
	status := map[bulwark.RiskStatus]int{}
	owners := map[string]bool{}
	for _, v := range vs {
		status[v.Status]++
		owners[v.Owner] = true
		for _, ref := range v.Reference {
			if ref.Name == "" {
				t.Errorf("%s names %s, not an ICS technique", v.ID, ref.ID)
			}
		}
	}
	if status[bulwark.RiskAccepted] != 1 || status[bulwark.RiskClosed] != 1 || status[bulwark.RiskTreating] < 2 || len(owners) < 5 {
		t.Errorf("statuses %v, owners %v", status, owners)
	}
	h, err := rs.Heat(ctx, bulwark.RiskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Open != len(vs)-2 {
		t.Errorf("heat map counts %d open, want %d", h.Open, len(vs)-2)
	}
	hist, err := db.RiskHistory(ctx, "risk-water-scada-ransomware")
	if err != nil || len(hist) != 2 || hist[1].Risk.Status != bulwark.RiskTreating {
		t.Errorf("history %+v %v", hist, err)
	}
	a, err := rs.Analyze(ctx, bulwark.RiskFilter{}, 2000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Risks) < 6 || a.City.Mean <= 0 || len(a.Skipped) != 1 {
		t.Errorf("analysis over %d risks, mean %g, skipped %v", len(a.Risks), a.City.Mean, a.Skipped)
	}
	if err := SeedRisks(ctx, db, rs); err != nil {
		t.Fatalf("seeding twice: %v", err)
	}
	if again, _ := rs.List(ctx, bulwark.RiskFilter{}); len(again) != len(vs) {
		t.Errorf("seeding twice: %d risks", len(again))
	}
}
