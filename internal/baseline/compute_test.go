package baseline

import (
	"math"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/ssvc"
)

var now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// miniCSF is a CSF-shaped catalog small enough to compute by hand.
func miniCSF() *bulwark.Catalog {
	return &bulwark.Catalog{ID: CSFCatalog, Kind: "csf", Controls: []bulwark.Control{
		{ID: "GV", Class: "function"},
		{ID: "GV.OC", Parent: "GV", Class: "category"},
		{ID: "GV.OC-01", Parent: "GV.OC", Class: "subcategory", Assessable: true, Function: "GV", Title: "Mission understood"},
		{ID: "GV.OC-02", Parent: "GV.OC", Class: "subcategory", Assessable: true, Function: "GV", Title: "Stakeholders understood"},
		{ID: "ID", Class: "function"},
		{ID: "ID.RA", Parent: "ID", Class: "category"},
		{ID: "ID.RA-01", Parent: "ID.RA", Class: "subcategory", Assessable: true, Function: "ID", Title: "Vulnerabilities identified"},
		{ID: "PR", Class: "function"},
		{ID: "PR.AA", Parent: "PR", Class: "category"},
		{ID: "PR.AA-01", Parent: "PR.AA", Class: "subcategory", Assessable: true, Function: "PR", Title: "Identities managed"},
	}}
}

func miniCPG() *bulwark.Catalog {
	return &bulwark.Catalog{ID: "cpg-2.0", Kind: "cpg", Controls: []bulwark.Control{
		{ID: "1.A", Class: "goal", Assessable: true, Title: "Asset inventory", MapsTo: []string{"GV.OC-01", "GV.OC-02"}, Impact: "High"},
		{ID: "1.E", Class: "goal", Assessable: true, Title: "Known vulnerabilities", MapsTo: []string{"ID.RA-01"}, Impact: "Medium"},
	}}
}

func result(control string, s bulwark.ImplStatus, cur, target int) bulwark.ControlResult {
	return bulwark.ControlResult{Control: control, Status: s, CurrentTier: cur, TargetTier: target, Rev: 1}
}

func csfAssessment(owner string, updated time.Time, rs ...bulwark.ControlResult) *bulwark.Assessment {
	return &bulwark.Assessment{ID: "asm-" + owner, Owner: owner, Catalog: CSFCatalog, ScopeKind: bulwark.ScopeOrganization,
		Scope: owner, UpdatedAt: updated, Results: rs}
}

func testData() *Data {
	return &Data{
		Now: now,
		Orgs: []Org{
			{ID: "water", Name: "City Water", Category: bulwark.LevelHigh, WorstPeople: 999_999, WorstServices: 2},
			{ID: "parks", Name: "Parks", Category: bulwark.LevelLow},
			{ID: "power", Name: "Power Co", Category: bulwark.LevelModerate},
		},
		Catalogs: map[string]*bulwark.Catalog{CSFCatalog: miniCSF(), "cpg-2.0": miniCPG()},
		Assessments: []*bulwark.Assessment{
			csfAssessment("water", now.Add(-10*day),
				result("GV.OC-01", bulwark.StatusImplemented, 3, 3),
				result("GV.OC-02", bulwark.StatusPartial, 2, 3),
				result("ID.RA-01", bulwark.StatusNotImplemented, 1, 3),
				result("PR.AA-01", bulwark.StatusNotApplicable, 0, 0)),
			// parks' assessment is more than a year old.
			csfAssessment("parks", now.Add(-400*day),
				result("GV.OC-01", bulwark.StatusImplemented, 2, 2),
				result("GV.OC-02", bulwark.StatusImplemented, 2, 2),
				result("ID.RA-01", bulwark.StatusImplemented, 2, 2),
				result("PR.AA-01", bulwark.StatusImplemented, 2, 2)),
		},
		Profiles: []bulwark.Profile{{ID: "min", Catalog: "cpg-2.0", AppliesTo: "moderate", Requirements: []bulwark.ProfileRequirement{
			{Control: "1.A", MinStatus: bulwark.StatusPartial},
			{Control: "1.E", MinStatus: bulwark.StatusImplemented},
		}}},
		FeedsLoaded: true,
		Findings: []bulwark.FindingTally{
			{AssetID: "plc-1", Owner: "water", Decision: bulwark.SSVCAct, KEV: true, Overdue: true, Count: 1},
			{AssetID: "plc-2", Owner: "water", Decision: bulwark.SSVCAct, KEV: true, Count: 3},
			{AssetID: "plc-2", Owner: "water", Decision: bulwark.SSVCAct, Count: 5},
			{AssetID: "rtu", Owner: "power", Decision: bulwark.SSVCTrack, Count: 7},
		},
		Remediations: []bulwark.RemediationTime{
			{Owner: "water", Decision: bulwark.SSVCAct, Took: 5 * day},
			{Owner: "water", Decision: bulwark.SSVCAct, Took: 10 * day},
			{Owner: "power", Decision: bulwark.SSVCAttend, Took: 20 * day},
		},
		Critical: []CriticalService{
			{ID: "water-supply", Owner: "water", Systems: 2},
			{ID: "grid", Owner: "power", Systems: 1, Untested: []string{"ems"}},
		},
		Policy: ssvc.DefaultPolicy(),
	}
}

func indicator(t *testing.T, s bulwark.IndexSnapshot, id string) bulwark.IndicatorValue {
	t.Helper()
	for _, v := range s.Indicators {
		if v.ID == id {
			return v
		}
	}
	t.Fatalf("snapshot of %q has no indicator %s", s.Org, id)
	return bulwark.IndicatorValue{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestIndicatorsByHand checks every indicator and the index of the city
// and of one organization against figures worked out by hand.
func TestIndicatorsByHand(t *testing.T) {
	city, orgs := Compute(testData())
	// CSF coverage: water credits 1 + ½ + 0 over 3 applicable (PR.AA-01 is
	// not applicable) = 0.5; parks 4/4 = 1. Mean 0.75.
	// Assessed within a year: water only, of 3 organizations: 1/3.
	// Profile "min" applies to water (high) and power (moderate), not
	// parks (low). Water: 1.A derived from GV.OC-01 implemented and
	// GV.OC-02 partial = partial ≥ partial, met; 1.E from ID.RA-01 not
	// implemented, not met. Power: nothing assessed. 0 of 2 pairs.
	// KEV: 4 open KEV findings, 1 overdue: score 3/4, value 1.
	// Remediation: Act 5 d (≤ 7 d) and 10 d (late), Attend 20 d (≤ 30 d):
	// 2/3.
	// Recovery: water-supply tested, grid not: 1/2.
	want := map[string]struct {
		measured bool
		score    float64
	}{
		"csf-coverage":        {true, 0.75},
		"assessed-orgs":       {true, 1.0 / 3},
		"profile-compliance":  {true, 0},
		"kev-on-time":         {true, 0.75},
		"remediation-on-time": {true, 2.0 / 3},
		"recovery-tested":     {true, 0.5},
		"incident-response":   {false, 0},
		"training":            {false, 0},
	}
	for id, w := range want {
		v := indicator(t, city, id)
		if v.Measured != w.measured || !near(v.Score, w.score) {
			t.Errorf("city %s = measured %v score %v (%s), want %v %v", id, v.Measured, v.Score, v.Detail, w.measured, w.score)
		}
	}
	if v := indicator(t, city, "kev-on-time"); v.Value != 1 {
		t.Errorf("KEV overdue value %v, want 1", v.Value)
	}
	if v := indicator(t, city, "remediation-on-time"); !strings.Contains(v.Detail, "Act 7.5") || !strings.Contains(v.Detail, "Attend 20.0") {
		t.Errorf("remediation detail %q lacks the medians (Act 7.5 d, Attend 20 d)", v.Detail)
	}
	// Index: Σ w·s / Σ w over the measured ones:
	// (25·0.75 + 10/3 + 20·0 + 20·0.75 + 10·2/3 + 15·0.5) / 100 = 51.25,
	// shown to one decimal.
	if math.Abs(city.Index-51.25) > 0.05 {
		t.Errorf("city index %v, want 51.25 to one decimal", city.Index)
	}

	// Water alone: coverage 0.5; assessed 1/1; profile 0/1; KEV 3/4;
	// remediation 1/2; recovery 1/1.
	var water bulwark.IndexSnapshot
	for _, o := range orgs {
		if o.Org == "water" {
			water = o
		}
	}
	wantWater := round1(100 * (25*0.5 + 10*1 + 20*0 + 20*0.75 + 10*0.5 + 15*1) / 100)
	if water.Index != wantWater {
		t.Errorf("water index %v, want %v: %+v", water.Index, wantWater, water.Indicators)
	}
	// Parks: coverage 1, assessed 0/1 (too old), no profile applies, no
	// KEV findings (score 1), no remediation, no critical service.
	for _, o := range orgs {
		if o.Org != "parks" {
			continue
		}
		if v := indicator(t, o, "profile-compliance"); v.Measured {
			t.Errorf("parks: a profile that does not apply is measured: %+v", v)
		}
		if want := round1(100 * (25*1.0 + 10*0 + 20*1) / 55); o.Index != want || want != 81.8 {
			t.Errorf("parks index %v, want %v", o.Index, want)
		}
	}
}

func TestNotMeasuredIsNotZero(t *testing.T) {
	d := &Data{Now: now, Catalogs: map[string]*bulwark.Catalog{}}
	city, _ := Compute(d)
	for _, v := range city.Indicators {
		if v.Measured {
			t.Errorf("%s measured without data: %+v", v.ID, v)
		}
		if !strings.HasPrefix(v.Detail, "not measured") {
			t.Errorf("%s detail %q does not say why it is not measured", v.ID, v.Detail)
		}
	}
	if city.Index != -1 {
		t.Errorf("index of nothing = %v, want -1 (not measured)", city.Index)
	}
	// Feeds loaded but no KEV finding: measured, and perfect.
	d.FeedsLoaded = true
	city, _ = Compute(d)
	if v := indicator(t, city, "kev-on-time"); !v.Measured || v.Score != 1 || city.Index != 100 {
		t.Errorf("no KEV findings with feeds loaded: %+v, index %v", v, city.Index)
	}
}

func TestComplianceMatrix(t *testing.T) {
	d := testData()
	res := Compliance(d, nil)
	if len(res) != 1 || len(res[0].Rows) != 2 {
		t.Fatalf("matrix: %+v", res)
	}
	water := res[0].Rows[0]
	if water.Org != "water" || water.Met != 1 || water.Meets {
		t.Errorf("water row: %+v", water)
	}
	c := water.Cells[0]
	if !c.Derived || c.Status != bulwark.StatusPartial || c.Tier != 2 || !c.Met || !strings.Contains(c.Why, "GV.OC-02 partial") {
		t.Errorf("1.A derived from CSF: %+v", c)
	}
	if c := water.Cells[1]; c.Met || c.Status != bulwark.StatusNotImplemented || !strings.Contains(c.Why, "needs implemented") {
		t.Errorf("1.E: %+v", c)
	}
	// A direct CPG result takes precedence over the derivation, and a
	// minimum tier is checked.
	d.Assessments = append(d.Assessments, &bulwark.Assessment{ID: "asm-w-cpg", Owner: "water", Catalog: "cpg-2.0", ScopeKind: bulwark.ScopeOrganization,
		Scope: "water", UpdatedAt: now, Results: []bulwark.ControlResult{result("1.E", bulwark.StatusImplemented, 1, 0)}})
	d.Profiles[0].Requirements[1].MinTier = 2
	row := Compliance(d, nil)[0].Rows[0]
	if c := row.Cells[1]; c.Derived || c.Met || !strings.Contains(c.Why, "tier 1, needs 2") {
		t.Errorf("direct result below the tier: %+v", c)
	}
	d.Profiles[0].Requirements[1].MinTier = 1
	if row := Compliance(d, nil)[0].Rows[0]; !row.Meets {
		t.Errorf("water should now meet the profile: %+v", row)
	}
	for _, tc := range []struct {
		applies string
		org     Org
		want    bool
	}{
		{"all", Org{}, true}, {"high", Org{Category: bulwark.LevelModerate}, false},
		{"moderate", Org{Category: bulwark.LevelHigh}, true}, {"low", Org{}, false}, {"bogus", Org{Category: bulwark.LevelHigh}, false},
	} {
		if got := Applies(tc.applies, tc.org); got != tc.want {
			t.Errorf("Applies(%q, %v) = %v", tc.applies, tc.org.Category, got)
		}
	}
}

// TestGapScoresByHand: score = size × impact × reach × weight × findings.
func TestGapScoresByHand(t *testing.T) {
	d := testData()
	gaps := Gaps(d, nil, GapFilter{Org: "water"})
	byControl := map[string]Gap{}
	for _, g := range gaps {
		byControl[g.Control] = g
	}
	// Water supports a high service (×3); its worst failure stops services
	// for 999,999 people: reach 1 + log10(1,000,000)/6 = 2.
	// ID.RA-01 not implemented (1), vulnerability related with 9 open Act
	// and 4 KEV findings: findings 1 + log10(14) = 2.15. 1×3×2×1×2.15.
	// GV.OC-02 partial (½; tier 2 of 3 is ⅓, smaller): ½×3×2 = 3.
	// GV.OC-01 implemented and PR.AA-01 not applicable: no gap.
	want := map[string]float64{"ID.RA-01": round2(1 * 3 * 2 * 1 * round2(1+math.Log10(14))), "GV.OC-02": 3}
	if len(gaps) != len(want) {
		t.Fatalf("gaps: %+v", gaps)
	}
	for c, score := range want {
		if g := byControl[c]; g.Score != score {
			t.Errorf("%s score %v, want %v (%s)", c, g.Score, score, g.Why)
		}
	}
	if gaps[0].Control != "ID.RA-01" || !strings.Contains(gaps[0].Why, "9 open Act and 4 KEV") || !strings.Contains(gaps[0].Why, "FIPS 199 high") {
		t.Errorf("first gap %+v", gaps[0])
	}
	// Open risks naming a gap weigh it: 1 + Σ score / 25; a closed risk
	// does not.
	d.Risks = []bulwark.Risk{
		{ID: "r1", Likelihood: 3, Impact: 5, Status: bulwark.RiskTreating, Gaps: []string{"asm-water/GV.OC-02"}},
		{ID: "r2", Likelihood: 2, Impact: 5, Status: bulwark.RiskIdentified, Gaps: []string{"asm-water/GV.OC-02"}},
		{ID: "r3", Likelihood: 5, Impact: 5, Status: bulwark.RiskClosed, Gaps: []string{"asm-water/GV.OC-02"}},
	}
	for _, g := range Gaps(d, nil, GapFilter{Org: "water"}) {
		if g.Control == "GV.OC-02" && (g.Risks != 2 || g.Score != 6 || !strings.Contains(g.Why, "named by 2 open risk(s) scored 15, 10")) {
			t.Errorf("GV.OC-02 with two open risks (15 + 10): risks ×%v, score %v (%s), want ×2 and 6", g.Risks, g.Score, g.Why)
		}
	}
	d.Risks = nil

	// An unassessed control counts ¾; a CPG goal's published impact
	// weighs in; a low-category scope weighs less.
	d.Assessments = []*bulwark.Assessment{{ID: "asm-p", Owner: "parks", Catalog: "cpg-2.0", ScopeKind: bulwark.ScopeOrganization, Scope: "parks"}}
	gaps = Gaps(d, nil, GapFilter{})
	if len(gaps) != 2 || gaps[0].Control != "1.A" || gaps[0].Score != round2(0.75*1*1*1.5) || gaps[1].Score != round2(0.75*1*1*1.25) {
		t.Errorf("parks CPG gaps: %+v", gaps)
	}
	// Tier gaps larger than the status gap count.
	if s := gapSize(result("X", bulwark.StatusImplemented, 1, 4)); s != 1 {
		t.Errorf("implemented at tier 1 of 4: size %v, want 1", s)
	}
	if got := Gaps(testData(), nil, GapFilter{Limit: 1}); len(got) != 1 {
		t.Errorf("limit 1 gave %d", len(got))
	}
}

func TestDrivers(t *testing.T) {
	prev := bulwark.IndexSnapshot{Indicators: []bulwark.IndicatorValue{
		{ID: "a", Measured: true, Weight: 1, Score: 0.5},
		{ID: "b", Measured: true, Weight: 1, Score: 0.5},
		{ID: "c", Weight: 2},
	}}
	cur := bulwark.IndexSnapshot{Indicators: []bulwark.IndicatorValue{
		{ID: "a", Measured: true, Weight: 1, Score: 1, Detail: "all done"},
		{ID: "b", Measured: true, Weight: 1, Score: 0.5},
		{ID: "c", Weight: 2},
	}}
	ds := Drivers(prev, cur)
	// a: 100·1·0.5/2 = 25 → 100·1·1/2 = 50: +25. b unchanged.
	if len(ds) != 1 || ds[0].Indicator != "a" || ds[0].Delta != 25 || !strings.Contains(ds[0].Why, "50% → 100%") {
		t.Errorf("drivers %+v", ds)
	}
	cur.Indicators[2] = bulwark.IndicatorValue{ID: "c", Measured: true, Weight: 2, Score: 0, Detail: "zero"}
	ds = Drivers(prev, cur)
	// Now c weighs half the index at 0: a 25→25, b 25→12.5, c +0.
	found := false
	for _, d := range ds {
		if d.Indicator == "c" && strings.HasPrefix(d.Why, "now measured") {
			found = true
		}
	}
	if !found {
		t.Errorf("c became measured but is not named: %+v", ds)
	}
}
