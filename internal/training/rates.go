// Package training is awareness, education and workforce training: the
// service over bulwark.TrainingStore (campaigns, imports of completion
// records and phishing-simulation results from CSV exports, citizen
// reach) and the rates a city manages by — completion by the due date,
// click and report rates — per organization and over time.
//
// The rates are pure functions of campaign tallies (rates.go), so every
// figure can be checked by hand in tests; the readiness index's training
// indicator uses the same functions.
package training

import (
	"slices"
	"sort"
	"time"

	"bulwark"
)

// Rate is a share Num / Den. It is not measured when Den is zero: no
// campaign was due, or no phishing e-mail was sent. Never count that as 0.
type Rate struct {
	Num      int64   `json:"num"`
	Den      int64   `json:"den"`
	Value    float64 `json:"value"` // 0–1; 0 when not measured
	Measured bool    `json:"measured"`
}

func rate(num, den int64) Rate {
	if den <= 0 {
		return Rate{}
	}
	return Rate{Num: num, Den: den, Value: float64(num) / float64(den), Measured: true}
}

// Add returns the pooled rate of r and o (Σ num / Σ den).
func (r Rate) Add(o Rate) Rate { return rate(r.Num+o.Num, r.Den+o.Den) }

// Audience is the number of people a workforce campaign counts: its
// declared audience size, or the people with a record when more (or when
// no size is declared).
func Audience(t bulwark.CampaignTally) int64 { return max(t.Campaign.AudienceSize, t.Assigned) }

// Due reports whether a workforce campaign's due day has ended at now:
// only then does its completion rate count.
func Due(c *bulwark.Campaign, now time.Time) bool {
	return c.Kind == bulwark.CampaignWorkforce && !c.Due.IsZero() && !now.Before(c.DueBy())
}

// CompletionRate is the share of a workforce campaign's audience that
// completed the course by the end of the due day.
func CompletionRate(t bulwark.CampaignTally) Rate {
	if t.Campaign.Kind != bulwark.CampaignWorkforce {
		return Rate{}
	}
	return rate(t.OnTime, Audience(t))
}

// ClickRate is the share of the people a phishing simulation was sent to
// who clicked its link.
func ClickRate(t bulwark.CampaignTally) Rate {
	if t.Campaign.Kind != bulwark.CampaignPhishing {
		return Rate{}
	}
	return rate(t.Clicked, t.Sent)
}

// ReportRate is the share of the people a phishing simulation was sent to
// who reported it.
func ReportRate(t bulwark.CampaignTally) Rate {
	if t.Campaign.Kind != bulwark.CampaignPhishing {
		return Rate{}
	}
	return rate(t.Reported, t.Sent)
}

// SubmitRate is the share of the people a phishing simulation was sent to
// who entered credentials or data.
func SubmitRate(t bulwark.CampaignTally) Rate {
	if t.Campaign.Kind != bulwark.CampaignPhishing {
		return Rate{}
	}
	return rate(t.Submitted, t.Sent)
}

// Totals pools the rates of a set of campaigns.
type Totals struct {
	Completion Rate  `json:"completion"`
	Click      Rate  `json:"click"`
	Report     Rate  `json:"report"`
	Submit     Rate  `json:"submit"`
	Campaigns  int   `json:"campaigns"` // campaigns counted
	Reach      int64 `json:"reach"`     // people reached by citizen campaigns
}

// Window is how far back the rates of the dashboard and of the readiness
// indicator look.
const Window = 365 * 24 * time.Hour

// Counts reports whether a campaign counts in the rates at now over a
// window ending at now: a workforce campaign whose due day ended within
// the window; a phishing or citizen campaign that started within it.
func Counts(c *bulwark.Campaign, now time.Time, window time.Duration) bool {
	from := now.Add(-window)
	switch c.Kind {
	case bulwark.CampaignWorkforce:
		return Due(c, now) && c.DueBy().After(from)
	case bulwark.CampaignPhishing, bulwark.CampaignCitizen:
		return !c.Start.After(now) && !c.Start.Before(from.UTC().Truncate(24*time.Hour))
	}
	return false
}

// Pool pools the campaigns of ts that count at now over window and that
// keep selects (nil: all).
func Pool(ts []bulwark.CampaignTally, now time.Time, window time.Duration, keep func(org string) bool) Totals {
	var out Totals
	for _, t := range ts {
		if (keep != nil && !keep(t.Campaign.Org)) || !Counts(&t.Campaign, now, window) {
			continue
		}
		out.Campaigns++
		out.Completion = out.Completion.Add(CompletionRate(t))
		out.Click = out.Click.Add(ClickRate(t))
		out.Report = out.Report.Add(ReportRate(t))
		out.Submit = out.Submit.Add(SubmitRate(t))
		if t.Campaign.Kind == bulwark.CampaignCitizen {
			out.Reach += t.Reach
		}
	}
	return out
}

// OrgTotals is one organization's pooled rates.
type OrgTotals struct {
	Org string `json:"org"`
	Totals
}

// ByOrg pools the counting campaigns of each organization, by ID.
func ByOrg(ts []bulwark.CampaignTally, now time.Time, window time.Duration) []OrgTotals {
	var orgs []string
	for _, t := range ts {
		if !slices.Contains(orgs, t.Campaign.Org) {
			orgs = append(orgs, t.Campaign.Org)
		}
	}
	sort.Strings(orgs)
	out := make([]OrgTotals, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, OrgTotals{Org: o, Totals: Pool(ts, now, window, func(org string) bool { return org == o })})
	}
	return out
}

// Point is one month of an organization's rates: workforce campaigns
// by the month of their due day, phishing campaigns by the month they
// started.
type Point struct {
	Month      string `json:"month"` // YYYY-MM
	Completion Rate   `json:"completion"`
	Click      Rate   `json:"click"`
	Report     Rate   `json:"report"`
}

// Series is an organization's rates month by month.
type Series struct {
	Org    string  `json:"org"`
	Points []Point `json:"points"`
}

// Months returns the labels of the last n months up to now's, oldest
// first.
func Months(now time.Time, n int) []string {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, n)
	for i := range n {
		out[n-1-i] = first.AddDate(0, -i, 0).Format("2006-01")
	}
	return out
}

// OverTime gives each organization's rates in each of the last n months
// (n from 1 to 120). A workforce campaign counts in the month of its due
// day once that day has ended; a phishing campaign in the month it
// started. Months without a campaign are not measured.
func OverTime(ts []bulwark.CampaignTally, now time.Time, n int) []Series {
	n = min(max(n, 1), 120)
	labels := Months(now, n)
	pos := map[string]int{}
	for i, l := range labels {
		pos[l] = i
	}
	byOrg := map[string]*Series{}
	var orgs []string
	for _, t := range ts {
		var month string
		switch {
		case Due(&t.Campaign, now):
			month = t.Campaign.Due.UTC().Format("2006-01")
		case t.Campaign.Kind == bulwark.CampaignPhishing && !t.Campaign.Start.After(now):
			month = t.Campaign.Start.UTC().Format("2006-01")
		default:
			continue
		}
		i, ok := pos[month]
		if !ok {
			continue
		}
		s := byOrg[t.Campaign.Org]
		if s == nil {
			s = &Series{Org: t.Campaign.Org, Points: make([]Point, n)}
			for j := range s.Points {
				s.Points[j].Month = labels[j]
			}
			byOrg[t.Campaign.Org] = s
			orgs = append(orgs, t.Campaign.Org)
		}
		p := &s.Points[i]
		p.Completion = p.Completion.Add(CompletionRate(t))
		p.Click = p.Click.Add(ClickRate(t))
		p.Report = p.Report.Add(ReportRate(t))
	}
	sort.Strings(orgs)
	out := make([]Series, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, *byOrg[o])
	}
	return out
}
