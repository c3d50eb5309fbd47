package vulns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/depgraph"
	"bulwark/internal/ssvc"
)

// ServiceExposure is how exposed one service is through the open findings
// on the assets it depends on (directly or through systems and other
// services).
type ServiceExposure struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Owner      string               `json:"owner"`
	Population int64                `json:"population"`
	Category   string               `json:"category"`
	Worst      bulwark.SSVCDecision `json:"worst_decision"`
	Findings   int                  `json:"open_findings"`
	Act        int                  `json:"act"`
	Attend     int                  `json:"attend"`
	KEV        int                  `json:"kev"`
	Overdue    int                  `json:"overdue"`
	Assets     int                  `json:"exposed_assets"`
	// Top are the most urgent findings behind the exposure.
	Top []ExposureFinding `json:"top"`
}

// ExposureFinding is one finding behind a service's exposure.
type ExposureFinding struct {
	AssetID  string               `json:"asset_id"`
	VulnID   string               `json:"vuln_id"`
	Owner    string               `json:"owner"`
	Decision bulwark.SSVCDecision `json:"decision"`
	KEV      bool                 `json:"kev"`
	Due      time.Time            `json:"due"`
}

// maxTopFindings is how many findings each service lists.
const maxTopFindings = 5

// Exposure ranks the services the caller sees by the urgency of the open
// findings beneath them: the services a "fix first" list protects. Only
// findings the caller may see count.
func (s *Service) Exposure(ctx context.Context) ([]ServiceExposure, error) {
	gd, err := s.st.LoadGraph(ctx)
	if err != nil {
		return nil, err
	}
	g, err := depgraph.Compile(gd)
	if err != nil {
		return nil, fmt.Errorf("compile graph: %w", err)
	}
	an := depgraph.Analyze(g)
	now := s.now()
	bySvc := map[int32]*ServiceExposure{}
	assets := map[int32]map[string]bool{}
	opt := bulwark.FindingFilter{Open: true, Limit: bulwark.MaxPageSize}
	above := map[string][]int32{}
	for {
		p, err := s.st.ListFindings(ctx, opt)
		if err != nil {
			return nil, err
		}
		for _, f := range p.Items {
			svcs, ok := above[f.AssetID]
			if !ok {
				if x, found := g.Lookup(f.AssetID); found {
					svcs = an.ServicesAbove(x)
				}
				above[f.AssetID] = svcs
			}
			for _, sv := range svcs {
				e := bySvc[sv]
				if e == nil {
					e = &ServiceExposure{ID: g.ID(sv), Name: g.Name(sv), Owner: g.Owner(sv), Population: g.Population(sv),
						Category: an.Category(sv).Overall().String()}
					bySvc[sv] = e
					assets[sv] = map[string]bool{}
				}
				e.Findings++
				switch f.Decision {
				case bulwark.SSVCAct:
					e.Act++
				case bulwark.SSVCAttend:
					e.Attend++
				}
				if f.KEV {
					e.KEV++
				}
				if !f.Due.IsZero() && f.Due.Before(now) {
					e.Overdue++
				}
				if ssvc.Rank(f.Decision) > ssvc.Rank(e.Worst) {
					e.Worst = f.Decision
				}
				assets[sv][f.AssetID] = true
				e.Top = append(e.Top, ExposureFinding{AssetID: f.AssetID, VulnID: f.VulnID, Owner: f.Owner, Decision: f.Decision, KEV: f.KEV, Due: f.Due})
				if len(e.Top) > 4*maxTopFindings {
					e.Top = topFindings(e.Top)
				}
			}
		}
		if p.Next == "" {
			break
		}
		opt.After = p.Next
	}
	out := make([]ServiceExposure, 0, len(bySvc))
	for sv, e := range bySvc {
		e.Assets = len(assets[sv])
		e.Top = topFindings(e.Top)
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b ServiceExposure) int {
		for _, d := range []int{
			ssvc.Rank(b.Worst) - ssvc.Rank(a.Worst),
			b.KEV - a.KEV,
			b.Act - a.Act,
			b.Attend - a.Attend,
		} {
			if d != 0 {
				return d
			}
		}
		if a.Population != b.Population {
			if a.Population > b.Population {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// topFindings keeps the most urgent few: KEV, then decision, then due.
func topFindings(fs []ExposureFinding) []ExposureFinding {
	slices.SortFunc(fs, func(a, b ExposureFinding) int {
		if c := moreUrgent(a.KEV, a.Decision, a.Due, b.KEV, b.Decision, b.Due); c != 0 {
			return c
		}
		return strings.Compare(a.AssetID+a.VulnID, b.AssetID+b.VulnID)
	})
	return fs[:min(len(fs), maxTopFindings)]
}
