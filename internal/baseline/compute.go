// Package baseline turns assessments against NIST CSF 2.0, CISA's CPGs or
// any imported catalog into what a city manages by: gaps ranked by risk,
// compliance with the city's minimum profiles, indicators computed from
// real data, and a readiness index with its history and the drivers of
// each change.
//
// The computations are pure functions of a Data value (compute.go,
// gaps.go, compliance.go), so every figure can be checked by hand in
// tests; service.go gathers Data from the store and the city graph.
package baseline

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"bulwark"
	"bulwark/internal/ssvc"
)

// Data is everything indicators, gaps and compliance are computed from.
type Data struct {
	Now  time.Time
	Orgs []Org
	// Catalogs by ID; the CSF 2.0 catalog is CSFCatalog.
	Catalogs    map[string]*bulwark.Catalog
	Assessments []*bulwark.Assessment
	Profiles    []bulwark.Profile
	// FeedsLoaded says vulnerability feeds have been imported, so that
	// zero findings means none rather than not looked for.
	FeedsLoaded bool
	// Findings are tallies of open findings (see bulwark.FindingTally).
	Findings     []bulwark.FindingTally
	Remediations []bulwark.RemediationTime
	// Risks are the register's risks (open or not) the caller sees.
	Risks []bulwark.Risk
	// Incidents are those the caller takes part in, detected within
	// IncidentWindow plus 90 days, with the affected entities it sees.
	Incidents []bulwark.Incident
	// Training are the tallies of the training campaigns the caller sees
	// (see trainingCompletion).
	Training []bulwark.CampaignTally
	// Critical are the services of FIPS 199 high category.
	Critical []CriticalService
	Policy   ssvc.Policy
}

// Org is an organization and its place in the city graph.
type Org struct {
	ID   string
	Name string
	// Category is the highest FIPS 199 category of the services the
	// organization owns or supports (the high-water mark of its nodes).
	Category bulwark.Level
	// WorstPeople and WorstServices describe the worst single failure of
	// any of its nodes: the services it would stop and the people they
	// serve.
	WorstPeople   int64
	WorstServices int
	WorstNode     string
}

// CriticalService is a high-category service and whether the recovery of
// every system it depends on has been tested within RecoveryTestAge.
type CriticalService struct {
	ID, Name, Owner string
	Systems         int      // systems it depends on, directly or not
	Untested        []string // of those, the ones without a recent test
}

// RecoveryTestAge is how recent a recovery test must be to count.
const RecoveryTestAge = 365 * 24 * time.Hour

// CSFCatalog is the ID of the bundled NIST CSF 2.0 catalog.
const CSFCatalog = "csf-2.0"

// Functions are the CSF 2.0 functions in their published order.
var Functions = []struct{ ID, Name string }{
	{"GV", "Govern"}, {"ID", "Identify"}, {"PR", "Protect"}, {"DE", "Detect"}, {"RS", "Respond"}, {"RC", "Recover"},
}

// Indicator describes one indicator: what it measures and how.
type Indicator struct {
	ID      string
	Name    string
	Formula string
	Weight  float64
}

// Indicators are the indicators of the readiness index, with their
// weights. An indicator without data is "not measured": it is shown as
// such and the index is the weighted mean of the measured ones only.
var Indicators = []Indicator{
	{"csf-coverage", "CSF 2.0 baseline coverage",
		"mean over assessed organizations of Σ credit / applicable subcategories, credit 1 implemented, ½ partial, 0 otherwise; not applicable left out", 25},
	{"assessed-orgs", "Organizations with a current CSF assessment",
		"organizations whose CSF 2.0 assessment changed within 365 days / all organizations", 10},
	{"profile-compliance", "Organizations meeting the minimum baseline",
		"(organization, profile) pairs meeting every requirement / pairs the profiles apply to", 20},
	{"kev-on-time", "KEV findings within their due date",
		"open findings of KEV-listed vulnerabilities not past due / open KEV findings (score 1 when there are none)", 20},
	{"remediation-on-time", "Findings fixed within the SSVC deadline",
		"findings fixed in the last 365 days within their decision's deadline (Act 7 d, Attend 30 d, Track* 90 d, Track 180 d) / findings fixed; the median days per decision are shown", 10},
	{"recovery-tested", "Critical services with tested recovery",
		"FIPS 199 high services whose every system had a recovery test within 365 days / FIPS 199 high services", 15},
	{"incident-response", "Incident time to detect and respond",
		"incidents recovered in the last 365 days whose services down were back within their RTO (with no service down: contained within 24 h) / incidents recovered; the median times to detect (from the start of the activity, when known), contain and recover are shown", 10},
	{"training", "Security training completion",
		"people who completed their course by its due day / people in the audience, over workforce campaigns whose due day ended in the last 365 days (audience: the declared size, or the people with a record when more); phishing click and report rates are shown", 5},
}

// IndicatorByID returns an indicator's description.
func IndicatorByID(id string) (Indicator, bool) {
	for _, in := range Indicators {
		if in.ID == id {
			return in, true
		}
	}
	return Indicator{}, false
}

// Compute returns the city-wide snapshot and one per organization.
func Compute(d *Data) (city bulwark.IndexSnapshot, orgs []bulwark.IndexSnapshot) {
	comp := Compliance(d, nil)
	city = snapshot(d, "", comp)
	for _, o := range d.Orgs {
		orgs = append(orgs, snapshot(d, o.ID, comp))
	}
	return city, orgs
}

// snapshot computes every indicator for org ("" = the city) and the index.
func snapshot(d *Data, org string, comp []ProfileResult) bulwark.IndexSnapshot {
	in := func(owner string) bool { return org == "" || owner == org }
	var vals []bulwark.IndicatorValue
	for _, ind := range Indicators {
		v := bulwark.IndicatorValue{ID: ind.ID, Weight: ind.Weight}
		switch ind.ID {
		case "csf-coverage":
			v = coverage(d, in, v)
		case "assessed-orgs":
			v = assessedOrgs(d, in, v)
		case "profile-compliance":
			v = profileShare(comp, in, v)
		case "kev-on-time":
			v = kevOnTime(d, in, v)
		case "remediation-on-time":
			v = remediationOnTime(d, in, v)
		case "recovery-tested":
			v = recoveryTested(d, in, v)
		case "incident-response":
			v = incidentResponse(d, in, v)
		case "training":
			v = trainingCompletion(d, in, v)
		default:
			v.Detail = "not measured: " + ind.Formula
		}
		vals = append(vals, v)
	}
	return bulwark.IndexSnapshot{Org: org, At: d.Now, Index: Index(vals), Indicators: vals}
}

// Index is the weighted mean of the measured indicators' scores, 0–100,
// rounded to one decimal; -1 when nothing is measured.
func Index(vals []bulwark.IndicatorValue) float64 {
	var sum, w float64
	for _, v := range vals {
		if v.Measured {
			sum += v.Weight * v.Score
			w += v.Weight
		}
	}
	if w == 0 {
		return -1
	}
	return round1(100 * sum / w)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// share fills v as the share part/whole, value and score alike, or as not
// measured for the reason given when whole is zero.
func share(v bulwark.IndicatorValue, part, whole int, notMeasured, detail string) bulwark.IndicatorValue {
	if whole == 0 {
		v.Detail = "not measured: " + notMeasured
		return v
	}
	v.Measured, v.Value = true, float64(part)/float64(whole)
	v.Score, v.Detail = v.Value, detail
	return v
}

// latestCSF returns, per organization, its most recently changed
// organization-scope assessment against CSF 2.0.
func latestCSF(d *Data) map[string]*bulwark.Assessment {
	out := map[string]*bulwark.Assessment{}
	for _, a := range d.Assessments {
		if a.Catalog != CSFCatalog || a.ScopeKind != bulwark.ScopeOrganization {
			continue
		}
		if cur := out[a.Owner]; cur == nil || a.UpdatedAt.After(cur.UpdatedAt) {
			out[a.Owner] = a
		}
	}
	return out
}

// FunctionCoverage is the coverage of one CSF function by one assessment:
// credit over applicable subcategories (unassessed count as applicable and
// not implemented).
type FunctionCoverage struct {
	Function   string
	Credit     float64
	Applicable int
	Assessed   int
	Total      int
}

// Share is Credit/Applicable, 0 when nothing is applicable.
func (f FunctionCoverage) Share() float64 {
	if f.Applicable == 0 {
		return 0
	}
	return f.Credit / float64(f.Applicable)
}

// Coverage computes per-function coverage of one CSF assessment.
func Coverage(cat *bulwark.Catalog, a *bulwark.Assessment) []FunctionCoverage {
	res := map[string]bulwark.ImplStatus{}
	if a != nil {
		for _, r := range a.Results {
			res[r.Control] = r.Status
		}
	}
	out := make([]FunctionCoverage, len(Functions))
	idx := map[string]int{}
	for i, f := range Functions {
		out[i].Function = f.ID
		idx[f.ID] = i
	}
	for _, c := range cat.Controls {
		i, ok := idx[c.Function]
		if !c.Assessable || !ok {
			continue
		}
		out[i].Total++
		s := res[c.ID]
		if s != bulwark.StatusNotAssessed {
			out[i].Assessed++
		}
		if s == bulwark.StatusNotApplicable {
			continue
		}
		out[i].Applicable++
		out[i].Credit += s.Credit()
	}
	return out
}

func coverage(d *Data, in func(string) bool, v bulwark.IndicatorValue) bulwark.IndicatorValue {
	cat := d.Catalogs[CSFCatalog]
	if cat == nil {
		v.Detail = "not measured: the CSF 2.0 catalog is not loaded"
		return v
	}
	var sum float64
	n := 0
	for owner, a := range latestCSF(d) {
		if !in(owner) {
			continue
		}
		var credit float64
		applicable := 0
		for _, f := range Coverage(cat, a) {
			credit += f.Credit
			applicable += f.Applicable
		}
		if applicable > 0 {
			sum += credit / float64(applicable)
			n++
		}
	}
	if n == 0 {
		v.Detail = "not measured: no organization has a CSF 2.0 assessment"
		return v
	}
	v.Measured, v.Value, v.Score = true, sum/float64(n), sum/float64(n)
	v.Detail = fmt.Sprintf("mean coverage %.1f%% over %d assessed organization(s)", 100*v.Value, n)
	return v
}

func assessedOrgs(d *Data, in func(string) bool, v bulwark.IndicatorValue) bulwark.IndicatorValue {
	latest := latestCSF(d)
	total, current := 0, 0
	for _, o := range d.Orgs {
		if !in(o.ID) {
			continue
		}
		total++
		if a := latest[o.ID]; a != nil && d.Now.Sub(a.UpdatedAt) <= 365*24*time.Hour {
			current++
		}
	}
	return share(v, current, total, "no organizations", fmt.Sprintf("%d of %d organization(s) assessed within 365 days", current, total))
}

func profileShare(comp []ProfileResult, in func(string) bool, v bulwark.IndicatorValue) bulwark.IndicatorValue {
	pairs, meeting := 0, 0
	for _, p := range comp {
		for _, row := range p.Rows {
			if !in(row.Org) {
				continue
			}
			pairs++
			if row.Meets {
				meeting++
			}
		}
	}
	return share(v, meeting, pairs, "no profile applies", fmt.Sprintf("%d of %d (organization, profile) pair(s) meet every requirement", meeting, pairs))
}

func kevOnTime(d *Data, in func(string) bool, v bulwark.IndicatorValue) bulwark.IndicatorValue {
	if !d.FeedsLoaded {
		v.Detail = "not measured: no vulnerability feeds imported"
		return v
	}
	var kev, overdue int64
	for _, t := range d.Findings {
		if !t.KEV || !in(t.Owner) {
			continue
		}
		kev += t.Count
		if t.Overdue {
			overdue += t.Count
		}
	}
	v.Measured, v.Value = true, float64(overdue)
	v.Score = 1
	if kev > 0 {
		v.Score = float64(kev-overdue) / float64(kev)
	}
	v.Detail = fmt.Sprintf("%d of %d open KEV finding(s) past due", overdue, kev)
	return v
}

// decisionDeadline is the policy's deadline for a decision.
func decisionDeadline(p ssvc.Policy, dec bulwark.SSVCDecision) time.Duration {
	switch dec {
	case bulwark.SSVCAct:
		return p.Act
	case bulwark.SSVCAttend:
		return p.Attend
	case bulwark.SSVCTrackStar:
		return p.TrackStar
	}
	return p.Track
}

// MedianDays returns the median remediation time in days per decision.
func MedianDays(rs []bulwark.RemediationTime, in func(string) bool) map[bulwark.SSVCDecision]float64 {
	by := map[bulwark.SSVCDecision][]time.Duration{}
	for _, r := range rs {
		if in(r.Owner) {
			by[r.Decision] = append(by[r.Decision], r.Took)
		}
	}
	out := map[bulwark.SSVCDecision]float64{}
	for dec, ds := range by {
		slices.Sort(ds)
		m := ds[len(ds)/2]
		if len(ds)%2 == 0 {
			m = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
		}
		out[dec] = math.Round(m.Hours()/24*10) / 10
	}
	return out
}

func remediationOnTime(d *Data, in func(string) bool, v bulwark.IndicatorValue) bulwark.IndicatorValue {
	total, onTime := 0, 0
	for _, r := range d.Remediations {
		if !in(r.Owner) {
			continue
		}
		total++
		if r.Took <= decisionDeadline(d.Policy, r.Decision) {
			onTime++
		}
	}
	detail := fmt.Sprintf("%d of %d fixed within the deadline; median days", onTime, total)
	med := MedianDays(d.Remediations, in)
	for _, dec := range []bulwark.SSVCDecision{bulwark.SSVCAct, bulwark.SSVCAttend, bulwark.SSVCTrackStar, bulwark.SSVCTrack} {
		if m, ok := med[dec]; ok {
			detail += fmt.Sprintf(" %s %.1f", dec, m)
		}
	}
	return share(v, onTime, total, "no finding fixed in the last 365 days", detail)
}

func recoveryTested(d *Data, in func(string) bool, v bulwark.IndicatorValue) bulwark.IndicatorValue {
	total, tested := 0, 0
	for _, s := range d.Critical {
		if !in(s.Owner) {
			continue
		}
		total++
		if len(s.Untested) == 0 {
			tested++
		}
	}
	return share(v, tested, total, "no FIPS 199 high service", fmt.Sprintf("%d of %d critical service(s) with every system's recovery tested", tested, total))
}

// IncidentWindow is how far back incident response is measured.
const IncidentWindow = 365 * 24 * time.Hour

// ContainWithin is the target of an incident with no service down.
const ContainWithin = 24 * time.Hour

// IncidentOnTime reports whether a recovered incident met its targets:
// every service down back within its RTO (from when it went down), or,
// with no service down that has an RTO, containment within ContainWithin.
func IncidentOnTime(inc *bulwark.Incident) bool {
	judged := false
	for _, a := range inc.Affected {
		if a.Kind != "service" || a.Effect != bulwark.EffectDown || a.RTO <= 0 {
			continue
		}
		judged = true
		since := a.Since
		if since.IsZero() {
			since = inc.DetectedAt
		}
		if inc.RecoveredAt.Sub(since) > time.Duration(a.RTO) {
			return false
		}
	}
	if judged {
		return true
	}
	return !inc.ContainedAt.IsZero() && inc.ContainedAt.Sub(inc.DetectedAt) <= ContainWithin
}

func incidentResponse(d *Data, in func(string) bool, v bulwark.IndicatorValue) bulwark.IndicatorValue {
	var detect, contain, recovery []float64
	total, onTime := 0, 0
	for i := range d.Incidents {
		inc := &d.Incidents[i]
		if !in(inc.Owner) || inc.RecoveredAt.IsZero() || d.Now.Sub(inc.RecoveredAt) > IncidentWindow {
			continue
		}
		total++
		if IncidentOnTime(inc) {
			onTime++
		}
		if !inc.StartedAt.IsZero() {
			detect = append(detect, inc.DetectedAt.Sub(inc.StartedAt).Hours())
		}
		if !inc.ContainedAt.IsZero() {
			contain = append(contain, inc.ContainedAt.Sub(inc.DetectedAt).Hours())
		}
		recovery = append(recovery, inc.RecoveredAt.Sub(inc.DetectedAt).Hours())
	}
	med := func(xs []float64) string {
		if len(xs) == 0 {
			return "–"
		}
		sort.Float64s(xs)
		m := xs[len(xs)/2]
		if len(xs)%2 == 0 {
			m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		}
		return fmt.Sprintf("%.1f h", m)
	}
	detail := fmt.Sprintf("%d of %d incident(s) recovered within target; median time to detect %s (%d known), contain %s, recover %s",
		onTime, total, med(detect), len(detect), med(contain), med(recovery))
	return share(v, onTime, total, "no incident recovered in the last 365 days", detail)
}

// Driver is one indicator's share of the change between two snapshots.
type Driver struct {
	Indicator string
	Delta     float64 // index points
	Why       string
}

// Drivers explains the change of the index from prev to cur: each
// indicator's contribution (weight × score over the measured weight, in
// index points) before and after, largest change first. An indicator that
// became measured or stopped being so is named as such.
func Drivers(prev, cur bulwark.IndexSnapshot) []Driver {
	contrib := func(s bulwark.IndexSnapshot) map[string]float64 {
		var w float64
		for _, v := range s.Indicators {
			if v.Measured {
				w += v.Weight
			}
		}
		out := map[string]float64{}
		for _, v := range s.Indicators {
			if v.Measured && w > 0 {
				out[v.ID] = 100 * v.Weight * v.Score / w
			}
		}
		return out
	}
	before, after := contrib(prev), contrib(cur)
	prevVal := map[string]bulwark.IndicatorValue{}
	for _, v := range prev.Indicators {
		prevVal[v.ID] = v
	}
	var out []Driver
	for _, v := range cur.Indicators {
		b, hadB := before[v.ID]
		a, hasA := after[v.ID]
		delta := round1(a - b)
		var why string
		switch {
		case hasA && !hadB:
			why = "now measured: " + v.Detail
		case hadB && !hasA:
			why = "no longer measured"
		case delta != 0:
			why = fmt.Sprintf("score %.0f%% → %.0f%%: %s", 100*prevVal[v.ID].Score, 100*v.Score, v.Detail)
		default:
			continue
		}
		out = append(out, Driver{Indicator: v.ID, Delta: delta, Why: why})
	}
	sort.SliceStable(out, func(i, j int) bool { return math.Abs(out[i].Delta) > math.Abs(out[j].Delta) })
	return out
}
