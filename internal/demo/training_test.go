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
	"bulwark/internal/training"
)

// TestSeedTraining: the demo city gets campaigns of every kind in several
// organizations, completion improving and clicks falling over the year;
// the readiness index measures training from them; seeding twice changes
// nothing.
func TestSeedTraining(t *testing.T) {
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := citymodel.Import(ctx, db, []citymodel.Source{CitySource()}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	ts := training.New(db, nil)
	now := time.Now().UTC()
	if err := SeedTraining(ctx, db, ts, now); err != nil {
		t.Fatal(err)
	}
	vs, err := ts.List(ctx, bulwark.CampaignFilter{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[bulwark.CampaignKind]int{}
	orgs := map[string]bool{}
	for _, v := range vs {
		kinds[v.Campaign.Kind]++
		orgs[v.Campaign.Org] = true
	}
	if kinds[bulwark.CampaignWorkforce] < 20 || kinds[bulwark.CampaignPhishing] < 20 || kinds[bulwark.CampaignCitizen] != 1 || len(orgs) < 5 {
		t.Fatalf("campaigns %v in %d organizations", kinds, len(orgs))
	}
	d, err := ts.Rates(ctx, bulwark.CampaignFilter{}, 12)
	if err != nil {
		t.Fatal(err)
	}
	c, k, r := d.Total.Completion.Value, d.Total.Click.Value, d.Total.Report.Value
	if c < 0.5 || c > 0.95 || k < 0.05 || k > 0.3 || r < 0.05 || r > 0.6 || d.Total.Reach != 118_880 {
		t.Errorf("city rates: completion %.2f, click %.2f, report %.2f, reach %d", c, k, r, d.Total.Reach)
	}
	// The trend: the first due course does worse than the last due one;
	// the first phishing simulation draws more clicks than the last.
	first, last := map[string]float64{}, map[string]float64{}
	for _, v := range vs {
		id := v.Campaign.ID
		switch {
		case v.Campaign.Kind == bulwark.CampaignWorkforce && len(id) > 2 && id[len(id)-2:] == "-1":
			first["course"] += v.Completion.Value
		case v.Campaign.Kind == bulwark.CampaignWorkforce && id[len(id)-2:] == "-4":
			last["course"] += v.Completion.Value
		case v.Campaign.Kind == bulwark.CampaignPhishing && id[len(id)-2:] == "-1":
			first["click"] += v.Click.Value
		case v.Campaign.Kind == bulwark.CampaignPhishing && id[len(id)-2:] == "-6":
			last["click"] += v.Click.Value
		}
	}
	if first["course"] >= last["course"] || first["click"] <= last["click"] {
		t.Errorf("no improvement over the year: first %v, last %v", first, last)
	}
	// The readiness index measures training now.
	city, _, err := baseline.New(db, nil).Readiness(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range city.Indicators {
		if v.ID == "training" && (!v.Measured || v.Score < 0.5) {
			t.Errorf("training indicator %+v", v)
		}
	}
	// Seeding again changes nothing.
	before, _ := ts.List(ctx, bulwark.CampaignFilter{})
	if err := SeedTraining(ctx, db, ts, now); err != nil {
		t.Fatal(err)
	}
	after, _ := ts.List(ctx, bulwark.CampaignFilter{})
	if len(before) != len(after) {
		t.Fatalf("%d campaigns, then %d", len(before), len(after))
	}
	for i := range before {
		if before[i].CampaignTally != after[i].CampaignTally {
			t.Errorf("%s changed: %+v → %+v", before[i].Campaign.ID, before[i].CampaignTally, after[i].CampaignTally)
		}
	}
}
