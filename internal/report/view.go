package report

import (
	"strconv"
	"time"
)

// view is the report as the strings both formats print, so HTML and PDF
// cannot disagree on a figure. Text is cleaned but not escaped.
type view struct {
	Title     string
	Subject   string
	Generated string
	Head      headline

	Drivers     []driverView
	DriversMore int

	Trend []Point // finite points to chart, oldest first

	Indicators     []indicatorView
	IndicatorsMore int

	Functions []functionView

	Profiles     []profileView
	ProfilesMore int

	Gaps     []gapView
	GapsMore int

	Services     []serviceView
	ServicesMore int

	Overdue     []overdueView
	OverdueMore int

	Notes     []string
	NotesMore int
}

type driverView struct {
	Indicator string
	Delta     string
	Direction string // "up", "down", "flat"
	Why       string
}

type indicatorView struct {
	Name     string
	Value    string
	Formula  string
	Weight   string
	Measured bool
	Reason   string
}

type functionView struct {
	Code     string
	Name     string
	Share    float64 // 0–1, meaningful when Assessed
	Label    string  // "62%" or "not assessed"
	Detail   string  // "40 of 52 assessed"
	Assessed bool
}

type profileView struct {
	Profile string
	Name    string
	Label   string // "12 of 40 organizations (30%)"
	Share   float64
	Width   string // Share as a CSS percentage, "30.0"
	Known   bool
}

type gapView struct {
	Rank    int
	Org     string
	Scope   string
	Control string
	Title   string
	Status  string
	Score   string
	Why     string
}

type serviceView struct {
	Service    string
	Name       string
	Category   string
	Population string
	Act        string
	Attend     string
	KEV        string
	Overdue    string
}

type overdueView struct {
	Owner    string
	Asset    string
	Vuln     string
	Decision string
	Due      string
	DaysOver string
}

func buildView(r *Report) *view {
	v := &view{
		Title:     title(r),
		Subject:   subject(r),
		Generated: formatDate(r.Generated),
		Head:      makeHeadline(r),
		Trend:     trendPoints(r.Trend),
	}
	if !r.Generated.IsZero() {
		v.Generated = r.Generated.UTC().Format("2 January 2006, 15:04 UTC")
	}

	for _, d := range capped(r.Drivers, MaxDrivers) {
		dv := driverView{Indicator: orDash(d.Indicator), Delta: signed(d.Delta, 1), Direction: "flat", Why: clean(d.Why)}
		switch {
		case d.Delta >= 0.05:
			dv.Direction = "up"
		case d.Delta <= -0.05:
			dv.Direction = "down"
		}
		v.Drivers = append(v.Drivers, dv)
	}
	v.DriversMore = more(len(r.Drivers), MaxDrivers)

	for _, in := range capped(r.Indicators, MaxIndicators) {
		iv := indicatorView{
			Name:     orDash(in.Name),
			Value:    clean(in.Value),
			Formula:  orDash(in.Formula),
			Weight:   number(in.Weight),
			Measured: in.Measured,
			Reason:   clean(in.Reason),
		}
		if in.Name == "" && in.ID != "" {
			iv.Name = clean(in.ID)
		}
		if !iv.Measured || iv.Value == "" {
			// A missing value is never shown as a number, whatever the
			// caller left in Value.
			iv.Measured = false
			iv.Value = notMeasured
			if iv.Reason == "" {
				iv.Reason = "no data yet"
			}
		}
		v.Indicators = append(v.Indicators, iv)
	}
	v.IndicatorsMore = more(len(r.Indicators), MaxIndicators)

	for _, f := range sortedFunctions(r.Functions) {
		fv := functionView{Code: orDash(f.Function), Name: clean(f.Name), Label: "not assessed"}
		if s, ok := coverage(f); ok {
			fv.Share, fv.Assessed, fv.Label = s, true, percent(s)
		}
		fv.Detail = strconv.Itoa(max(f.Assessed, 0)) + " of " + strconv.Itoa(max(f.Total, 0)) + " assessed"
		v.Functions = append(v.Functions, fv)
	}

	for _, p := range capped(r.Profiles, MaxProfiles) {
		pv := profileView{Profile: clean(p.Profile), Name: orDash(p.Name)}
		if p.Name == "" && p.Profile != "" {
			pv.Name = clean(p.Profile)
		}
		pv.Label = strconv.Itoa(p.Meeting) + " of " + strconv.Itoa(p.Total) + " organizations"
		if s, ok := share(p.Meeting, p.Total); ok {
			pv.Share, pv.Known = s, true
			pv.Width = strconv.FormatFloat(s*100, 'f', 1, 64)
			pv.Label += " (" + percent(s) + ")"
		}
		v.Profiles = append(v.Profiles, pv)
	}
	v.ProfilesMore = more(len(r.Profiles), MaxProfiles)

	for i, g := range capped(r.TopGaps, MaxGaps) {
		v.Gaps = append(v.Gaps, gapView{
			Rank:    i + 1,
			Org:     orDash(g.Org),
			Scope:   clean(g.Scope),
			Control: orDash(g.Control),
			Title:   clean(g.Title),
			Status:  orDash(g.Status),
			Score:   strconv.FormatFloat(g.Score, 'f', 1, 64),
			Why:     clean(g.Why),
		})
	}
	v.GapsMore = more(len(r.TopGaps), MaxGaps)

	for _, s := range capped(r.Exposure, MaxServices) {
		sv := serviceView{
			Service:    clean(s.Service),
			Name:       orDash(s.Name),
			Category:   clean(s.Category),
			Population: thousands(s.Population),
			Act:        thousands(s.Act),
			Attend:     thousands(s.Attend),
			KEV:        thousands(s.KEV),
			Overdue:    thousands(s.Overdue),
		}
		if s.Name == "" && s.Service != "" {
			sv.Name = clean(s.Service)
		}
		if s.Population <= 0 {
			sv.Population = "—"
		}
		v.Services = append(v.Services, sv)
	}
	v.ServicesMore = more(len(r.Exposure), MaxServices)

	for _, o := range capped(r.Overdue, MaxOverdue) {
		v.Overdue = append(v.Overdue, overdueView{
			Owner:    orDash(o.Owner),
			Asset:    orDash(o.Asset),
			Vuln:     orDash(o.Vuln),
			Decision: orDash(o.Decision),
			Due:      shortDate(o.Due),
			DaysOver: strconv.Itoa(o.DaysOver),
		})
	}
	v.OverdueMore = more(len(r.Overdue), MaxOverdue)

	for _, n := range capped(r.Notes, MaxNotes) {
		if n = clean(n); n != "" {
			v.Notes = append(v.Notes, n)
		}
	}
	v.NotesMore = more(len(r.Notes), MaxNotes)
	return v
}

// trendRange is the first and last date of the charted trend.
func trendRange(ps []Point) (first, last time.Time) {
	if len(ps) == 0 {
		return
	}
	return ps[0].At, ps[len(ps)-1].At
}
