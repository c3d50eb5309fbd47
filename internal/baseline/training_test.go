package baseline

import (
	"strings"
	"testing"
	"time"

	"bulwark"
)

// TestTrainingIndicator checks the training indicator on campaigns worked
// out by hand, for the city and each organization.
func TestTrainingIndicator(t *testing.T) {
	now := time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)
	day := func(days int) time.Time { return now.Truncate(24*time.Hour).AddDate(0, 0, days) }
	wf := func(org string, due time.Time, size, assigned, onTime int64) bulwark.CampaignTally {
		return bulwark.CampaignTally{Campaign: bulwark.Campaign{Org: org, Kind: bulwark.CampaignWorkforce, Start: due.AddDate(0, -1, 0), Due: due, AudienceSize: size},
			Assigned: assigned, Completed: onTime, OnTime: onTime}
	}
	d := &Data{Now: now, Orgs: []Org{{ID: "water"}, {ID: "port"}, {ID: "city"}}, Training: []bulwark.CampaignTally{
		wf("water", day(-30), 40, 38, 30), // 30 of 40 (declared audience)
		wf("water", day(-200), 0, 10, 9),  // 9 of 10 (the records)
		wf("water", day(10), 50, 50, 0),   // not yet due: left out
		wf("water", day(-400), 10, 10, 0), // due more than a year ago: left out
		wf("port", day(-1), 20, 20, 11),   // 11 of 20
		{Campaign: bulwark.Campaign{Org: "port", Kind: bulwark.CampaignPhishing, Start: day(-60)}, Sent: 200, Clicked: 30, Reported: 50},
	}}
	city, orgs := Compute(d)
	v := indicator(t, city, "training")
	// (30 + 9 + 11) / (40 + 10 + 20) = 50 / 70.
	if !v.Measured || !near(v.Score, 50.0/70) || !near(v.Value, 50.0/70) {
		t.Errorf("city: %+v, want 50 of 70", v)
	}
	for _, want := range []string{"50 of 70 people", "15.0% clicked, 25.0% reported (200 e-mails)"} {
		if !strings.Contains(v.Detail, want) {
			t.Errorf("city detail %q lacks %q", v.Detail, want)
		}
	}
	byOrg := map[string]bulwark.IndicatorValue{}
	for _, o := range orgs {
		byOrg[o.Org] = indicator(t, o, "training")
	}
	if w := byOrg["water"]; !near(w.Score, 39.0/50) || strings.Contains(w.Detail, "phishing") {
		t.Errorf("water: %+v, want 39 of 50 and no phishing", w)
	}
	if p := byOrg["port"]; !near(p.Score, 11.0/20) {
		t.Errorf("port: %+v, want 11 of 20", p)
	}
	// An organization without a due campaign is not measured, never zero,
	// and its index leaves the indicator out.
	if c := byOrg["city"]; c.Measured || !strings.HasPrefix(c.Detail, "not measured: no workforce training campaign") {
		t.Errorf("city org: %+v", c)
	}
}

// TestTrainingIndicatorScope: an organization's training counts reach the
// indicators of whoever sees that organization (as its recorded history
// does), never those of anyone else; no campaign or person is shown.
func TestTrainingIndicatorScope(t *testing.T) {
	s, db := openHarbor(t)
	s.SetClock(time.Now)
	water := userCtx("city-water", bulwark.RoleAnalyst)
	day := time.Now().UTC().Truncate(24 * time.Hour)
	c := &bulwark.Campaign{Kind: bulwark.CampaignWorkforce, Title: "Secret course title", Start: day.AddDate(0, -1, 0), Due: day.AddDate(0, 0, -3), AudienceSize: 4}
	if err := db.CreateCampaign(water, c); err != nil {
		t.Fatal(err)
	}
	var recs []bulwark.CompletionRecord
	for i := range 3 {
		recs = append(recs, bulwark.CompletionRecord{Person: bulwark.PersonRef(strings.Repeat("0", 31) + string(rune('1'+i))), CompletedAt: day.AddDate(0, 0, -5)})
	}
	if _, err := db.PutTrainingRecords(water, c.ID, bulwark.TrainingBatch{Completions: recs}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who      string
		org      string // whose snapshot
		measured bool
	}{
		{"city-water", "city-water", true},
		{"city-ciso", "city-water", true}, // water shares its model with the CISO's office
		{"city-ciso", "", true},           // the CISO's "city": the organizations it sees
		{"harbor-power", "", false},       // power sees only itself
	} {
		city, orgs, err := s.Readiness(userCtx(tc.who, bulwark.RoleViewer))
		if err != nil {
			t.Fatal(err)
		}
		snap := city
		for _, o := range orgs {
			if o.Org == tc.org {
				snap = o
			}
		}
		if tc.org != "" && snap.Org != tc.org {
			t.Fatalf("%s sees no snapshot of %s", tc.who, tc.org)
		}
		v := indicator(t, snap, "training")
		if v.Measured != tc.measured || (tc.measured && !near(v.Score, 0.75)) {
			t.Errorf("%s, snapshot %q: %+v", tc.who, tc.org, v)
		}
		if strings.Contains(v.Detail, "Secret") {
			t.Errorf("the indicator names a campaign: %q", v.Detail)
		}
	}
}
