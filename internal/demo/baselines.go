package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/catalog"
	"bulwark/internal/sqlstore"
)

// DemoProfile is the minimum baseline the demo city publishes.
const DemoProfile = "city-minimum"

// demoProfileControls are the CSF 2.0 subcategories of the demo city's
// minimum baseline: governance basics, inventories, vulnerability
// handling, access, backups, monitoring, response and recovery plans.
var demoProfileControls = []string{
	"ID.AM-01", "GV.RR-01", "ID.AM-02", "ID.RA-01", "PR.AA-01",
	"PR.DS-11", "PR.PS-02", "RS.MA-01",
}

// SeedBaselines replays a year of synthetic self-assessments for the demo
// city so that its pages and reports have something to show: every
// organization assesses itself against CSF 2.0 a month at a time, each at
// its own (seeded) maturity and pace, the city publishes a minimum
// baseline for organizations supporting FIPS 199 high services, and the
// readiness index is recorded after each month. The store's and the
// service's clocks are set to each month in turn and restored to now.
// The results are invented; the computation over them is the real one.
func SeedBaselines(ctx context.Context, db *sqlstore.DB, bs *baseline.Service, cityOrg string, now time.Time) error {
	defer db.SetClock(time.Now)
	defer bs.SetClock(time.Now)
	csf, ok := catalog.BuiltinByID(baseline.CSFCatalog)
	if !ok {
		return fmt.Errorf("demo: the CSF 2.0 catalog is not bundled")
	}
	var orgs []bulwark.Organization
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := db.ListOrganizations(ctx, opt)
		if err != nil {
			return err
		}
		orgs = append(orgs, p.Items...)
		if p.Next == "" {
			break
		}
		opt.After = p.Next
	}
	const months = 12
	start := now.AddDate(0, -months, 0)
	at := func(m int) time.Time { return start.AddDate(0, m, 0) }
	db.SetClock(func() time.Time { return at(0) })
	bs.SetClock(func() time.Time { return at(0) })

	type plan struct {
		a          *bulwark.Assessment
		rng        *rand.Rand
		from, gain float64 // maturity at the start and its growth over the year
		draw       map[string]float64
		cur        map[string]bulwark.ResultChange
	}
	var plans []*plan
	for i, o := range orgs {
		// Two organizations have not assessed themselves at all.
		if i%11 == 10 {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(o.ID))
		rng := rand.New(rand.NewPCG(h.Sum64(), 7))
		a := &bulwark.Assessment{Catalog: baseline.CSFCatalog, ScopeKind: bulwark.ScopeOrganization, Scope: o.ID, Title: "Annual self-assessment"}
		if err := bs.CreateAssessment(ctx, a); err != nil {
			return fmt.Errorf("demo: assess %s: %w", o.ID, err)
		}
		p := &plan{a: a, rng: rng, from: 0.15 + 0.35*rng.Float64(), gain: 0.05 + 0.3*rng.Float64(),
			draw: map[string]float64{}, cur: map[string]bulwark.ResultChange{}}
		for _, c := range csf.Controls {
			if c.Assessable {
				p.draw[c.ID] = rng.Float64()
			}
		}
		plans = append(plans, p)
	}
	for m := 0; m <= months; m++ {
		t := at(m)
		db.SetClock(func() time.Time { return t })
		bs.SetClock(func() time.Time { return t })
		for _, p := range plans {
			maturity := p.from + p.gain*float64(m)/months
			for _, c := range csf.Controls {
				if !c.Assessable {
					continue
				}
				u := p.draw[c.ID]
				var st bulwark.ImplStatus
				switch {
				case m == 0 && u > 0.9:
					continue // not assessed yet; assessed from the second month
				case u < maturity*0.7:
					st = bulwark.StatusImplemented
				case u < maturity*1.3:
					st = bulwark.StatusPartial
				case u > 0.985:
					st = bulwark.StatusNotApplicable
				default:
					st = bulwark.StatusNotImplemented
				}
				tier := 1 + min(int(maturity*4), 3)
				prev, seen := p.cur[c.ID]
				if seen && prev.Status == st && prev.CurrentTier == tier {
					continue
				}
				ch := bulwark.ResultChange{Control: c.ID, Status: st, CurrentTier: tier, TargetTier: 3}
				if seen {
					ch.BaseRev = prev.BaseRev + 1
				}
				if st == bulwark.StatusImplemented && u < 0.2 {
					ch.Evidence = []bulwark.Evidence{{Kind: "note", Title: "Verified in the " + t.Format("January 2006") + " review"}}
				}
				if _, err := bs.SetResult(ctx, p.a.ID, ch); err != nil {
					return fmt.Errorf("demo: %s %s: %w", p.a.Scope, c.ID, err)
				}
				p.cur[c.ID] = ch
			}
		}
		if m == 0 {
			prof := &bulwark.Profile{ID: DemoProfile, Owner: cityOrg, Name: "City minimum baseline",
				Description: "Every organization supporting a FIPS 199 high service must meet these CSF 2.0 outcomes.",
				Catalog:     baseline.CSFCatalog, AppliesTo: "high"}
			for i, c := range demoProfileControls {
				min := bulwark.StatusPartial
				if i < 1 {
					min = bulwark.StatusImplemented
				}
				prof.Requirements = append(prof.Requirements, bulwark.ProfileRequirement{Control: c, MinStatus: min})
			}
			if err := bs.PutProfile(ctx, prof); err != nil {
				return fmt.Errorf("demo: profile: %w", err)
			}
		}
		if m < months {
			if _, err := bs.Record(ctx); err != nil {
				return fmt.Errorf("demo: record month %d: %w", m, err)
			}
		}
	}
	return nil
}
