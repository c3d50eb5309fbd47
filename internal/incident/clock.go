package incident

import (
	"slices"
	"time"

	"bulwark"
)

// Stage is how far a service down in an incident is from its targets.
type Stage string

// Stages, in order. A service without targets has no stage beyond ok.
const (
	StageOK          Stage = "ok"
	StageRTOWarning  Stage = "rto-at-risk"  // WarnAt of the RTO elapsed
	StageRTOMissed   Stage = "rto-missed"   // the RTO elapsed
	StageMTDWarning  Stage = "mtd-at-risk"  // WarnAt of the maximum tolerable downtime elapsed
	StageMTDExceeded Stage = "mtd-exceeded" // the maximum tolerable downtime elapsed
)

var stageOrder = []Stage{StageOK, StageRTOWarning, StageRTOMissed, StageMTDWarning, StageMTDExceeded}

// Rank orders stages.
func (s Stage) Rank() int { return slices.Index(stageOrder, s) }

// AtRisk reports whether the stage calls for escalation.
func (s Stage) AtRisk() bool { return s.Rank() >= StageRTOWarning.Rank() }

// ServiceClock is the clock of one service down in an incident.
type ServiceClock struct {
	Service    string           `json:"service"`
	Name       string           `json:"name,omitempty"`
	Owner      string           `json:"owner"`
	Population int64            `json:"population,omitempty"`
	Since      time.Time        `json:"since"`
	Elapsed    bulwark.Duration `json:"elapsed"`
	RTO        bulwark.Duration `json:"rto,omitempty"`
	MTD        bulwark.Duration `json:"mtd,omitempty"`
	RTODue     time.Time        `json:"rto_due,omitzero"`
	MTDDue     time.Time        `json:"mtd_due,omitzero"`
	Stage      Stage            `json:"stage"`
	// Reached lists every stage passed, in order (ok excluded); the
	// escalator records each once.
	Reached []Stage `json:"reached,omitempty"`
	// Next is the next stage and when it comes, if the clock runs.
	Next    Stage     `json:"next,omitempty"`
	NextAt  time.Time `json:"next_at,omitzero"`
	Running bool      `json:"running"`
}

// Clocks computes the clock of every service down in inc (as visible in
// inc.Affected) at now. The clock of a service runs from its Since (the
// incident's start, else its detection) until the incident leaves
// recovery (RecoveredAt) or, if it never recovered, until it closed.
func Clocks(inc *bulwark.Incident, now time.Time, warnAt float64) []ServiceClock {
	stop := now
	running := true
	switch {
	case !inc.RecoveredAt.IsZero():
		stop, running = inc.RecoveredAt, false
	case !inc.ClosedAt.IsZero():
		stop, running = inc.ClosedAt, false
	case !inc.Phase.Active():
		running = false
	}
	var out []ServiceClock
	for _, a := range inc.Affected {
		if a.Kind != "service" || a.Effect != bulwark.EffectDown {
			continue
		}
		since := a.Since
		if since.IsZero() {
			since = inc.DetectedAt
		}
		elapsed := max(stop.Sub(since), 0).Truncate(time.Second)
		c := ServiceClock{Service: a.ID, Name: a.Name, Owner: a.Owner, Population: a.Population, Since: since,
			Elapsed: bulwark.Duration(elapsed), RTO: a.RTO, MTD: a.MTD, Stage: StageOK, Running: running}
		type mark struct {
			stage Stage
			at    time.Duration
		}
		var marks []mark
		if a.RTO > 0 {
			c.RTODue = since.Add(time.Duration(a.RTO))
			marks = append(marks, mark{StageRTOWarning, time.Duration(float64(a.RTO) * warnAt)}, mark{StageRTOMissed, time.Duration(a.RTO)})
		}
		if a.MTD > 0 {
			c.MTDDue = since.Add(time.Duration(a.MTD))
			marks = append(marks, mark{StageMTDWarning, time.Duration(float64(a.MTD) * warnAt)}, mark{StageMTDExceeded, time.Duration(a.MTD)})
		}
		// Keep the stages in their order even if a city sets an MTD below
		// its RTO (a modelling error, but the clock must not go back).
		slices.SortStableFunc(marks, func(x, y mark) int { return x.stage.Rank() - y.stage.Rank() })
		for _, m := range marks {
			if elapsed >= m.at {
				c.Stage = m.stage
				c.Reached = append(c.Reached, m.stage)
			} else if c.Next == "" && running {
				c.Next, c.NextAt = m.stage, since.Add(m.at)
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y ServiceClock) int {
		if x.Stage.Rank() != y.Stage.Rank() {
			return y.Stage.Rank() - x.Stage.Rank()
		}
		return x.NextAt.Compare(y.NextAt)
	})
	return out
}
