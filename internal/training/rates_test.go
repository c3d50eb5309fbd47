package training

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bulwark"
)

// A fixed "now" is fine here: these are pure functions of their inputs and
// no store or clock is involved.
var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func wf(id, org string, due time.Time, size, assigned, onTime int64) bulwark.CampaignTally {
	return bulwark.CampaignTally{Campaign: bulwark.Campaign{ID: id, Org: org, Kind: bulwark.CampaignWorkforce, Start: due.AddDate(0, -1, 0), Due: due, AudienceSize: size},
		Assigned: assigned, Completed: onTime, OnTime: onTime}
}

func ph(id, org string, start time.Time, sent, clicked, reported int64) bulwark.CampaignTally {
	return bulwark.CampaignTally{Campaign: bulwark.Campaign{ID: id, Org: org, Kind: bulwark.CampaignPhishing, Start: start},
		Sent: sent, Clicked: clicked, Reported: reported, Opened: clicked}
}

func TestCampaignRates(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		t                     bulwark.CampaignTally
		completion, click, rp Rate
	}{
		// Declared audience larger than the records: 30 of 40.
		{"declared audience", wf("a", "w", day(2026, 5, 31), 40, 35, 30), rate(30, 40), Rate{}, Rate{}},
		// More records than declared: the records count (45 of 50 ≤ 100%).
		{"records exceed declared", wf("b", "w", day(2026, 5, 31), 40, 50, 45), rate(45, 50), Rate{}, Rate{}},
		// No declared size: the records.
		{"no declared size", wf("c", "w", day(2026, 5, 31), 0, 8, 2), rate(2, 8), Rate{}, Rate{}},
		// Nobody assigned and no size: not measured, never 0.
		{"empty", wf("d", "w", day(2026, 5, 31), 0, 0, 0), Rate{}, Rate{}, Rate{}},
		// Phishing: 7 of 20 clicked, 5 of 20 reported.
		{"phishing", ph("e", "w", day(2026, 5, 1), 20, 7, 5), Rate{}, rate(7, 20), rate(5, 20)},
		// Nothing sent: not measured.
		{"phishing unsent", ph("f", "w", day(2026, 5, 1), 0, 0, 0), Rate{}, Rate{}, Rate{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := []Rate{CompletionRate(tc.t), ClickRate(tc.t), ReportRate(tc.t)}
			want := []Rate{tc.completion, tc.click, tc.rp}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
	if r := rate(30, 40); r.Value != 0.75 || !r.Measured {
		t.Errorf("rate(30, 40) = %+v", r)
	}
}

func TestDueBoundary(t *testing.T) {
	c := &bulwark.Campaign{Kind: bulwark.CampaignWorkforce, Due: day(2026, 6, 15)}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{day(2026, 6, 15).Add(12 * time.Hour), false},             // during the due day
		{day(2026, 6, 16).Add(-time.Nanosecond), false},           // its last instant
		{day(2026, 6, 16), true},                                  // the day after
		{day(2026, 7, 1), true},                                   // later
		{day(2026, 6, 14), false},                                 // before
		{day(2026, 6, 16).Add(time.Hour), true},                   // the next morning
		{day(2026, 6, 16).In(time.FixedZone("x", -5*3600)), true}, // zones do not matter
	} {
		if got := Due(c, tc.at); got != tc.want {
			t.Errorf("Due at %v = %v, want %v", tc.at, got, tc.want)
		}
	}
	if Due(&bulwark.Campaign{Kind: bulwark.CampaignPhishing, Due: day(2026, 1, 1)}, now) {
		t.Error("a phishing campaign is never due")
	}
}

// TestPoolAndByOrg pools campaigns worked out by hand: only workforce
// campaigns whose due day ended within the last 365 days count, and
// phishing campaigns started within them.
func TestPoolAndByOrg(t *testing.T) {
	ts := []bulwark.CampaignTally{
		wf("w1", "water", day(2026, 5, 31), 40, 40, 30),  // counts: 30/40
		wf("w2", "water", day(2026, 1, 10), 10, 10, 10),  // counts: 10/10
		wf("w3", "water", day(2026, 6, 30), 100, 100, 1), // not yet due: left out
		wf("w4", "water", day(2025, 6, 1), 50, 50, 0),    // due day ended more than a year ago: left out
		wf("p1", "port", day(2026, 3, 1), 0, 20, 5),      // 5/20
		ph("f1", "water", day(2026, 4, 1), 100, 12, 30),  // 12/100, 30/100
		ph("f2", "port", day(2026, 2, 1), 50, 10, 5),     // 10/50, 5/50
		ph("f3", "port", day(2025, 1, 1), 50, 50, 0),     // too old
		ph("f4", "port", day(2026, 7, 1), 50, 50, 0),     // starts in the future
		{Campaign: bulwark.Campaign{ID: "c1", Org: "water", Kind: bulwark.CampaignCitizen, Start: day(2026, 3, 1)}, Reach: 1200},
	}
	total := Pool(ts, now, Window, nil)
	want := Totals{Completion: rate(45, 70), Click: rate(22, 150), Report: rate(35, 150), Submit: rate(0, 150), Campaigns: 6, Reach: 1200}
	if d := cmp.Diff(want, total); d != "" {
		t.Errorf("city (-want +got)\n%s", d)
	}
	// 45/70 = 64.3 %.
	if v := total.Completion.Value; v < 0.6428 || v > 0.6429 {
		t.Errorf("completion %v", v)
	}
	got := ByOrg(ts, now, Window)
	wantOrgs := []OrgTotals{
		{Org: "port", Totals: Totals{Completion: rate(5, 20), Click: rate(10, 50), Report: rate(5, 50), Submit: rate(0, 50), Campaigns: 2}},
		{Org: "water", Totals: Totals{Completion: rate(40, 50), Click: rate(12, 100), Report: rate(30, 100), Submit: rate(0, 100), Campaigns: 4, Reach: 1200}},
	}
	if d := cmp.Diff(wantOrgs, got); d != "" {
		t.Errorf("by org (-want +got)\n%s", d)
	}
	if p := Pool(nil, now, Window, nil); p.Completion.Measured || p.Click.Measured || p.Campaigns != 0 {
		t.Errorf("nothing pooled: %+v", p)
	}
}

func TestMonthsAndOverTime(t *testing.T) {
	if got, want := Months(now, 4), []string{"2026-03", "2026-04", "2026-05", "2026-06"}; !cmp.Equal(got, want) {
		t.Errorf("Months = %v, want %v", got, want)
	}
	// Across a year boundary, and from the 31st (no AddDate overflow).
	if got, want := Months(day(2026, 3, 31), 4), []string{"2025-12", "2026-01", "2026-02", "2026-03"}; !cmp.Equal(got, want) {
		t.Errorf("Months from March 31 = %v, want %v", got, want)
	}
	ts := []bulwark.CampaignTally{
		wf("w1", "water", day(2026, 5, 31), 40, 40, 30),  // May: 30/40
		wf("w2", "water", day(2026, 5, 2), 10, 10, 10),   // May: +10/10 → 40/50
		wf("w3", "water", day(2026, 6, 30), 100, 100, 1), // not yet due
		ph("f1", "water", day(2026, 4, 3), 100, 12, 30),  // April
		ph("f2", "port", day(2026, 6, 1), 50, 10, 5),     // June
		ph("f3", "port", day(2025, 1, 1), 50, 50, 0),     // outside the months
	}
	got := OverTime(ts, now, 3) // April, May, June
	want := []Series{
		{Org: "port", Points: []Point{{Month: "2026-04"}, {Month: "2026-05"}, {Month: "2026-06", Click: rate(10, 50), Report: rate(5, 50)}}},
		{Org: "water", Points: []Point{
			{Month: "2026-04", Click: rate(12, 100), Report: rate(30, 100)},
			{Month: "2026-05", Completion: rate(40, 50)},
			{Month: "2026-06"},
		}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if n := len(OverTime(ts, now, 1000)[0].Points); n != 120 {
		t.Errorf("months capped at %d, want 120", n)
	}
}
