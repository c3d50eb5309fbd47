package baseline

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"bulwark"
	"bulwark/internal/report"
)

// ReportOptions select a report.
type ReportOptions struct {
	Org  string // "" for the city-wide report
	City string // the city's name for the title page
}

// Report caps: a council reads the top of each list.
const (
	reportGaps    = 25
	reportOverdue = 25
	reportTrend   = 60
)

// Report builds the council report over what the caller sees: the index
// now (computed, not only recorded) with its recorded trend and the
// drivers of the change since the last recorded snapshot, every
// indicator with its formula, coverage per CSF function, profile
// compliance, the top gaps, the exposure of critical services and the
// overdue actions.
func (s *Service) Report(ctx context.Context, opt ReportOptions) (*report.Report, error) {
	d, scopes, err := s.Gather(ctx)
	if err != nil {
		return nil, err
	}
	if opt.Org != "" && !containsOrg(d.Orgs, opt.Org) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "organization %q not found", bulwark.Truncate(opt.Org, 128))
	}
	snap, hist, err := s.Current(ctx, opt.Org, reportTrend)
	if err != nil {
		return nil, err
	}
	r := &report.Report{Title: "Cyber readiness report", City: opt.City, Generated: d.Now, Org: opt.Org,
		Index: snap.Index, Measured: snap.Index >= 0}
	if r.City == "" {
		r.City = "the city"
	}
	if opt.Org == "" && !seesAll(ctx) {
		r.Notes = append(r.Notes, "The index, its trend and the indicators cover the whole city; coverage, compliance, gaps, exposure and overdue actions cover the organizations you can see.")
	}
	for _, h := range hist {
		if h.Index >= 0 {
			r.Trend = append(r.Trend, report.Point{At: h.At, Value: h.Index})
		}
	}
	if r.Measured {
		r.Trend = append(r.Trend, report.Point{At: d.Now, Value: snap.Index})
	}
	if len(hist) > 0 {
		for _, dr := range Drivers(hist[len(hist)-1], snap) {
			r.Drivers = append(r.Drivers, report.Driver{Indicator: indicatorName(dr.Indicator), Delta: dr.Delta, Why: dr.Why})
		}
	}

	for _, v := range snap.Indicators {
		in, _ := IndicatorByID(v.ID)
		ri := report.Indicator{ID: v.ID, Name: in.Name, Formula: in.Formula, Score: v.Score, Weight: v.Weight, Measured: v.Measured}
		ri.Value = FormatIndicator(v)
		if !v.Measured {
			ri.Reason = strings.TrimPrefix(v.Detail, "not measured: ")
		}
		r.Indicators = append(r.Indicators, ri)
	}

	r.Functions = functionCoverage(d, opt.Org)
	for _, p := range Compliance(d, nil) {
		pc := report.ProfileCompliance{Profile: p.Profile.ID, Name: p.Profile.Name}
		for _, row := range p.Rows {
			if opt.Org == "" || row.Org == opt.Org {
				pc.Total++
				if row.Meets {
					pc.Meeting++
				}
			}
		}
		r.Profiles = append(r.Profiles, pc)
	}
	for _, g := range Gaps(d, scopes, GapFilter{Org: opt.Org, Limit: reportGaps}) {
		title := g.Title
		if c := d.Catalogs[g.Catalog]; c != nil {
			title = controlText(c, g.Control, g.Title)
		}
		r.TopGaps = append(r.TopGaps, report.Gap{Org: g.Org, Scope: g.ScopeKind + " " + g.Scope, Control: g.Control, Title: title,
			Status: describeGap(bulwark.ControlResult{Status: g.Status, CurrentTier: g.CurrentTier, TargetTier: g.TargetTier}),
			Score:  g.Score, Why: g.Why})
	}
	if r.Exposure, err = s.exposure(ctx, d, opt.Org); err != nil {
		return nil, err
	}
	if r.Overdue, err = s.overdue(ctx, d, opt.Org); err != nil {
		return nil, err
	}
	return r, nil
}

// seesAll reports whether the caller of ctx is the System principal (who
// sees every organization).
func seesAll(ctx context.Context) bool {
	p, ok := bulwark.PrincipalFrom(ctx)
	return ok && p.System
}

func containsOrg(orgs []Org, id string) bool {
	for _, o := range orgs {
		if o.ID == id {
			return true
		}
	}
	return false
}

func indicatorName(id string) string {
	if in, ok := IndicatorByID(id); ok {
		return in.Name
	}
	return id
}

// controlText is what a reader needs to know a control by: its title, or
// for CSF subcategories (whose title is their identifier) their statement.
func controlText(c *bulwark.Catalog, id, title string) string {
	for _, x := range c.Controls {
		if x.ID == id {
			if (x.Title == "" || x.Title == x.ID) && x.Statement != "" {
				return x.Statement
			}
			return x.Title
		}
	}
	return title
}

// FormatIndicator renders an indicator's value in its unit.
func FormatIndicator(v bulwark.IndicatorValue) string {
	if !v.Measured {
		return "not measured"
	}
	switch v.ID {
	case "kev-on-time":
		return fmt.Sprintf("%.0f past due (%.0f%% on time)", v.Value, 100*v.Score)
	}
	return fmt.Sprintf("%.1f%%", 100*v.Value)
}

// functionCoverage averages each CSF function's coverage over the latest
// CSF assessments of the organizations in scope.
func functionCoverage(d *Data, org string) []report.FunctionCoverage {
	cat := d.Catalogs[CSFCatalog]
	out := make([]report.FunctionCoverage, len(Functions))
	for i, f := range Functions {
		out[i] = report.FunctionCoverage{Function: f.ID, Name: f.Name}
	}
	if cat == nil {
		return out
	}
	n := 0
	for owner, a := range latestCSF(d) {
		if org != "" && owner != org {
			continue
		}
		n++
		for i, fc := range Coverage(cat, a) {
			out[i].Coverage += fc.Share()
			out[i].Assessed += fc.Assessed
			out[i].Total += fc.Total
		}
	}
	if n > 0 {
		for i := range out {
			out[i].Coverage /= float64(n)
		}
	}
	return out
}

// exposure counts the open findings on what each visible critical service
// depends on.
func (s *Service) exposure(ctx context.Context, d *Data, org string) ([]report.ServiceExposure, error) {
	an, err := s.cityGraph(ctx)
	if err != nil {
		return nil, err
	}
	g := an.Graph()
	type counts struct{ act, attend, kev, overdue int64 }
	byAsset := map[string]*counts{}
	for _, t := range d.Findings {
		c := byAsset[t.AssetID]
		if c == nil {
			c = &counts{}
			byAsset[t.AssetID] = c
		}
		switch t.Decision {
		case bulwark.SSVCAct:
			c.act += t.Count
		case bulwark.SSVCAttend:
			c.attend += t.Count
		}
		if t.KEV {
			c.kev += t.Count
		}
		if t.Overdue {
			c.overdue += t.Count
		}
	}
	var out []report.ServiceExposure
	for _, cs := range d.Critical {
		if org != "" && cs.Owner != org {
			continue
		}
		x, ok := g.Lookup(cs.ID)
		if !ok {
			continue
		}
		e := report.ServiceExposure{Service: cs.ID, Name: cs.Name, Category: an.Category(x).Overall().String(), Population: g.Population(x)}
		seen := map[int32]bool{x: true}
		stack := []int32{x}
		for len(stack) > 0 {
			y := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if c := byAsset[g.ID(y)]; c != nil {
				e.Act += c.act
				e.Attend += c.attend
				e.KEV += c.kev
				e.Overdue += c.overdue
			}
			for _, z := range g.DependsOn(y) {
				if !seen[z] {
					seen[z] = true
					stack = append(stack, z)
				}
			}
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.KEV+a.Act != b.KEV+b.Act {
			return a.KEV+a.Act > b.KEV+b.Act
		}
		return a.Population > b.Population
	})
	return out, nil
}

// overdue lists open findings past their due date, most urgent first, from
// the first thousand open findings in priority order.
func (s *Service) overdue(ctx context.Context, d *Data, org string) ([]report.OverdueAction, error) {
	p, err := s.st.ListFindings(ctx, bulwark.FindingFilter{Open: true, Sort: "priority", Owner: org, Limit: bulwark.MaxPageSize})
	if err != nil {
		return nil, err
	}
	var out []report.OverdueAction
	for _, f := range p.Items {
		if f.Due.IsZero() || !f.Due.Before(d.Now) {
			continue
		}
		out = append(out, report.OverdueAction{Owner: f.Owner, Asset: f.AssetID, Vuln: f.VulnID,
			Decision: strings.TrimSpace(string(f.Decision) + kevMark(f.KEV)), Due: f.Due, DaysOver: int(d.Now.Sub(f.Due).Hours() / 24)})
		if len(out) == reportOverdue {
			break
		}
	}
	return out, nil
}

func kevMark(kev bool) string {
	if kev {
		return " (KEV)"
	}
	return ""
}
