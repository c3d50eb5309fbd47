package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/training"
)

// demoTrainingOrgs are the organizations of the demo city that run
// training, with their staff in scope.
var demoTrainingOrgs = []struct {
	org   string
	staff int
}{
	{"city-ciso", 24}, {"city-water", 140}, {"city-police", 120}, {"electric-utility", 160}, {"port-terminal", 90}, {"city-transport", 70},
}

// SeedTraining gives the demo city a year of awareness work: every
// training organization runs a quarterly security course (the last one
// still open) and a phishing simulation every other month, their people's
// completions and clicks improving over the year; the CISO's office runs
// a citizen awareness campaign with its reach. Records go through the
// same CSV import an organization would use (an LMS export, a phishing
// platform's results), so people are pseudonymized like real ones. The
// people and numbers are invented; the rates over them are computed as
// for real data. Organizations the city does not have are skipped.
func SeedTraining(ctx context.Context, st bulwark.Store, ts *training.Service, now time.Time) error {
	now = now.UTC().Truncate(24 * time.Hour)
	for _, o := range demoTrainingOrgs {
		if _, err := st.FindOrganization(ctx, o.org); err != nil {
			if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
				continue
			}
			return err
		}
		h := fnv.New64a()
		h.Write([]byte(o.org))
		rng := rand.New(rand.NewPCG(h.Sum64(), 7))
		if err := seedCourses(ctx, st, ts, rng, o.org, o.staff, now); err != nil {
			return fmt.Errorf("demo training of %s: %w", o.org, err)
		}
		if err := seedPhishing(ctx, st, ts, rng, o.org, o.staff, now); err != nil {
			return fmt.Errorf("demo phishing of %s: %w", o.org, err)
		}
	}
	if _, err := st.FindOrganization(ctx, "city-ciso"); err == nil {
		c := &bulwark.Campaign{ID: "demo-citizen-scam-week", Org: "city-ciso", Kind: bulwark.CampaignCitizen, Title: "Scam Awareness Week",
			Audience: "residents, with a focus on older residents", Start: now.AddDate(0, -2, 0), Due: now.AddDate(0, -2, 14)}
		if err := createOnce(ctx, st, ts, c); err != nil {
			return err
		}
		reach, err := st.ListCitizenReach(ctx, c.ID)
		if err != nil {
			return err
		}
		if len(reach) == 0 {
			if err := ts.AddReach(ctx, c.ID, []bulwark.CitizenReach{
				{Channel: "local radio spots", People: 42_000, From: c.Start, To: c.Due},
				{Channel: "posters at bus stops", People: 15_500, From: c.Start, To: c.Due},
				{Channel: "library workshops", People: 380, From: c.Start.AddDate(0, 0, 3), To: c.Due},
				{Channel: "utility bill insert", People: 61_000, From: c.Start, To: c.Start},
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// createOnce creates a campaign unless one of its ID exists (seeding
// twice changes nothing).
func createOnce(ctx context.Context, st bulwark.Store, ts *training.Service, c *bulwark.Campaign) error {
	if _, err := st.FindCampaign(ctx, c.ID); err == nil {
		return nil
	} else if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		return err
	}
	return ts.CreateCampaign(ctx, c)
}

func demoPerson(org string, i int) string { return fmt.Sprintf("staff%03d@%s.example", i, org) }

// seedCourses: a course each quarter, due a month after it starts; the
// share completing on time grows from about 60 % to about 85 %.
func seedCourses(ctx context.Context, st bulwark.Store, ts *training.Service, rng *rand.Rand, org string, staff int, now time.Time) error {
	courses := []string{"Security basics: passwords and MFA", "Recognizing phishing", "Handling sensitive data", "Reporting incidents", "OT remote access rules"}
	for q := range 5 {
		start := now.AddDate(0, -12+3*q, 0)
		due := start.AddDate(0, 1, 0)
		c := &bulwark.Campaign{ID: fmt.Sprintf("demo-%s-course-%d", org, q+1), Org: org, Kind: bulwark.CampaignWorkforce,
			Title: courses[q], Course: fmt.Sprintf("SEC-%d0%d", 1+q/2, q+1), Audience: "all staff", AudienceSize: int64(staff), Start: start, Due: due}
		if err := createOnce(ctx, st, ts, c); err != nil {
			return err
		}
		pOnTime := 0.58 + 0.06*float64(q) + 0.1*rng.Float64()
		var b strings.Builder
		b.WriteString("Employee ID,Email Address,Department,Course,Completion Status,Completion Date,Score\n")
		for i := range staff {
			status, at, score := "Not Started", "", ""
			switch x := rng.Float64(); {
			case x < pOnTime:
				t := start.Add(time.Duration(rng.Int64N(int64(due.Sub(start)))))
				if t.After(now) {
					status = "In Progress"
					break
				}
				status, at, score = "Completed", t.Format("2006-01-02 15:04:05"), fmt.Sprint(60+rng.IntN(41))
			case x < pOnTime+0.1:
				t := due.Add(24*time.Hour + time.Duration(rng.Int64N(int64(20*24*time.Hour))))
				if t.After(now) {
					status = "In Progress"
					break
				}
				status, at, score = "Completed", t.Format("2006-01-02 15:04:05"), fmt.Sprint(55+rng.IntN(46))
			case x < pOnTime+0.2:
				status = "In Progress"
			}
			fmt.Fprintf(&b, "E%05d,%s,Operations,%s,%s,%s,%s\n", i, demoPerson(org, i), c.Course, status, at, score)
		}
		if _, err := ts.Import(ctx, c.ID, training.Completions, "lms-export.csv", strings.NewReader(b.String()), training.ReadOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// seedPhishing: a simulation every other month; the click rate falls from
// about 25 % to about 8 % and the report rate climbs.
func seedPhishing(ctx context.Context, st bulwark.Store, ts *training.Service, rng *rand.Rand, org string, staff int, now time.Time) error {
	lures := []string{"Invoice overdue", "Parcel could not be delivered", "Password expires today", "Shared document from HR", "Payroll correction", "Vendor portal login"}
	for k := range 6 {
		start := now.AddDate(0, -11+2*k, 0)
		c := &bulwark.Campaign{ID: fmt.Sprintf("demo-%s-phish-%d", org, k+1), Org: org, Kind: bulwark.CampaignPhishing,
			Title: lures[k], Audience: "all staff", AudienceSize: int64(staff), Start: start}
		if err := createOnce(ctx, st, ts, c); err != nil {
			return err
		}
		pClick := 0.25 - 0.034*float64(k) + 0.04*(rng.Float64()-0.5)
		pReport := 0.08 + 0.07*float64(k) + 0.04*rng.Float64()
		var b strings.Builder
		b.WriteString("Email,Delivered At,Opened At,Clicked At,Data Entered At,Reported At\n")
		sent := start.Add(9 * time.Hour)
		for i := range staff {
			cells := [5]string{sent.Format(time.RFC3339)}
			at := sent
			step := func() string {
				at = at.Add(time.Duration(1+rng.IntN(90)) * time.Minute)
				return at.Format(time.RFC3339)
			}
			opened := rng.Float64() < 0.55+0.3*pClick/0.25
			clicked := opened && rng.Float64() < pClick/0.6
			if opened {
				cells[1] = step()
			}
			if clicked {
				cells[2] = step()
				if rng.Float64() < 0.35 {
					cells[3] = step()
				}
			}
			if rng.Float64() < pReport {
				cells[4] = step()
			}
			fmt.Fprintf(&b, "%s,%s\n", demoPerson(org, i), strings.Join(cells[:], ","))
		}
		if _, err := ts.Import(ctx, c.ID, training.Phishing, "phishing-results.csv", strings.NewReader(b.String()), training.ReadOptions{}); err != nil {
			return err
		}
	}
	return nil
}
