package risk

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/attack"
)

// Service is the risk register over a store.
type Service struct {
	st  bulwark.Store
	log *slog.Logger
	now func() time.Time
}

// New returns a Service over st.
func New(st bulwark.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log, now: time.Now}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Level names a 5×5 score: critical ≥ 20, high ≥ 12, medium ≥ 6, low
// below.
func Level(score int) string {
	switch {
	case score >= 20:
		return "critical"
	case score >= 12:
		return "high"
	case score >= 6:
		return "medium"
	}
	return "low"
}

// View is a risk as listings show it: with its score, level and whether it
// needs attention now (an expired acceptance counts as open again).
type View struct {
	bulwark.Risk
	Score     int    `json:"score"`
	Level     string `json:"level"`
	Open      bool   `json:"open"`
	Expired   bool   `json:"acceptance_expired,omitempty"`
	Reference []Ref  `json:"techniques_named,omitempty"`
}

// Ref is an ATT&CK technique a risk names, with its name.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

func (s *Service) view(r bulwark.Risk) View {
	now := s.now()
	v := View{Risk: r, Score: r.Score(), Level: Level(r.Score()), Open: r.Open(now)}
	v.Expired = r.Status == bulwark.RiskAccepted && v.Open
	for _, id := range r.Techniques {
		ref := Ref{ID: id}
		if t, ok := attack.Find(id); ok {
			ref.Name, ref.URL = t.Name, t.URL
		}
		v.Reference = append(v.Reference, ref)
	}
	return v
}

// check verifies what the store cannot: that ICS technique IDs exist in
// ATT&CK for ICS and that linked findings and assessment gaps exist and
// are visible to the caller.
func (s *Service) check(ctx context.Context, r *bulwark.Risk) error {
	var probs []bulwark.Problem
	for i, id := range r.Techniques {
		if strings.HasPrefix(id, "T0") {
			if _, ok := attack.Find(id); !ok {
				probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("techniques[%d]", i), Message: fmt.Sprintf("%s is not an ATT&CK for ICS technique", id)})
			}
		}
	}
	for i, f := range r.Findings {
		asset, vuln, _ := strings.Cut(f, "/")
		if _, err := s.st.FindFinding(ctx, asset, vuln); err != nil {
			if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
				return err
			}
			probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("findings[%d]", i), Message: fmt.Sprintf("no finding %s that you can see", bulwark.Abbrev(f, 200))})
		}
	}
	for i, g := range r.Gaps {
		id, control, _ := strings.Cut(g, "/")
		a, err := s.st.FindAssessment(ctx, id)
		if err != nil && bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			return err
		}
		if err != nil {
			probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("gaps[%d]", i), Message: fmt.Sprintf("no assessment %s that you can see", bulwark.Abbrev(id, 128))})
			continue
		}
		c, err := s.st.FindCatalog(ctx, a.Catalog)
		if err != nil {
			return err
		}
		found := false
		for _, x := range c.Controls {
			found = found || (x.ID == control && x.Assessable)
		}
		if !found {
			probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("gaps[%d]", i), Message: fmt.Sprintf("%s is not a control of %s", bulwark.Abbrev(control, 128), c.ID)})
		}
	}
	if len(probs) > 0 {
		e := bulwark.Errorf(bulwark.EINVALID, "risk: %d problem(s), first: %s", len(probs), probs[0])
		e.Details = probs
		return e
	}
	return nil
}

// Create adds a risk of the caller's organization.
func (s *Service) Create(ctx context.Context, r *bulwark.Risk) (View, error) {
	if r.Status == "" {
		r.Status = bulwark.RiskIdentified
	}
	if err := r.Validate(); err != nil {
		return View{}, err
	}
	if err := s.check(ctx, r); err != nil {
		return View{}, err
	}
	if err := s.st.CreateRisk(ctx, r); err != nil {
		return View{}, err
	}
	return s.view(*r), nil
}

// Update stores a new revision of a risk (see bulwark.RiskStore).
func (s *Service) Update(ctx context.Context, r *bulwark.Risk, note string) (View, error) {
	if err := r.Validate(); err != nil {
		return View{}, err
	}
	if err := s.check(ctx, r); err != nil {
		return View{}, err
	}
	if err := s.st.UpdateRisk(ctx, r, note); err != nil {
		return View{}, err
	}
	return s.view(*r), nil
}

// Find returns one risk.
func (s *Service) Find(ctx context.Context, id string) (View, error) {
	r, err := s.st.FindRisk(ctx, id)
	if err != nil {
		return View{}, err
	}
	return s.view(*r), nil
}

// List lists risks, highest score first.
func (s *Service) List(ctx context.Context, f bulwark.RiskFilter) ([]View, error) {
	rs, err := s.st.ListRisks(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(rs))
	for _, r := range rs {
		out = append(out, s.view(r))
	}
	return out, nil
}

// HeatMap counts the open risks f selects in each cell of the 5×5 grid:
// Cells[likelihood-1][impact-1].
type HeatMap struct {
	Cells [5][5]int `json:"cells"`
	Open  int       `json:"open"`
}

// Heat builds the heat map of the open risks f selects.
func (s *Service) Heat(ctx context.Context, f bulwark.RiskFilter) (HeatMap, error) {
	vs, err := s.List(ctx, f)
	if err != nil {
		return HeatMap{}, err
	}
	var h HeatMap
	for _, v := range vs {
		if v.Open {
			h.Cells[v.Likelihood-1][v.Impact-1]++
			h.Open++
		}
	}
	return h, nil
}

// Analyze runs the quantitative analysis over the open risks f selects.
func (s *Service) Analyze(ctx context.Context, f bulwark.RiskFilter, trials int, seed uint64) (*Analysis, error) {
	vs, err := s.List(ctx, f)
	if err != nil {
		return nil, err
	}
	var rs []bulwark.Risk
	for _, v := range vs {
		if v.Open {
			rs = append(rs, v.Risk)
		}
	}
	return Analyze(rs, trials, seed)
}

// ReopenExpired records, as the System principal, a revision re-opening
// every accepted risk whose acceptance has expired, and returns how many.
func (s *Service) ReopenExpired(ctx context.Context) (int, error) {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	rs, err := s.st.ListRisks(sys, bulwark.RiskFilter{Status: bulwark.RiskAccepted})
	if err != nil {
		return 0, err
	}
	now, n := s.now(), 0
	for _, r := range rs {
		if !r.Open(now) {
			continue
		}
		until := r.AcceptedUntil
		r.Status, r.AcceptedBy, r.AcceptedUntil = bulwark.RiskIdentified, "", time.Time{}
		err := s.st.UpdateRisk(sys, &r, "acceptance expired on "+until.Format(time.DateOnly)+"; re-opened")
		if bulwark.ErrorCode(err) == bulwark.ECONFLICT {
			continue // changed meanwhile; the next run sees it
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// RunReopener re-opens expired acceptances at start and then every
// interval until ctx ends; failures are logged and retried next time.
func (s *Service) RunReopener(ctx context.Context, every time.Duration) {
	for {
		if n, err := s.ReopenExpired(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("re-open expired risk acceptances", "error", err)
		} else if n > 0 {
			s.log.Info("re-opened risks whose acceptance expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
