package sim

import (
	"fmt"
	"slices"

	"bulwark"
)

// Scenario is a set of initial events over a time horizon, and the
// city-wide goal to measure. Times are hours from the start of a trial.
// Fields carry json and yaml tags so that scenario files can decode into
// it directly.
type Scenario struct {
	Name    string  `json:"name,omitempty" yaml:"name,omitempty"`
	Horizon float64 `json:"horizon_h" yaml:"horizon_h"` // hours simulated
	Events  []Event `json:"events" yaml:"events"`
	Goal    Goal    `json:"goal,omitzero" yaml:"goal,omitempty"`
}

// Goal is "at least Share of the critical (FIPS 199 high) services are up
// at hour Within". A zero Goal is not measured.
type Goal struct {
	Share  float64 `json:"share" yaml:"share"`       // 0..1
	Within float64 `json:"within_h" yaml:"within_h"` // hours
}

// Event hits nodes. Each listed node is hit independently with
// Probability (a CVE exploited with its EPSS-derived probability,
// ransomware spreading through a zone, a district flood), or, with Joint,
// all of them together with that probability (the loss of an upstream
// service, an explicit compromise). When ProbabilityMax is set the
// probability is itself uncertain: each trial draws it uniformly between
// Probability and ProbabilityMax, shared by the event's nodes.
//
// A hit node is down from Start until it is restored: by a crew of its
// owner (its Recovery; with NoBackups the event also destroyed backups),
// or, when Duration is set, by itself after a drawn Duration (an outside
// outage such as the power grid; no crew needed).
type Event struct {
	Name           string   `json:"name,omitempty" yaml:"name,omitempty"`
	Nodes          []string `json:"nodes" yaml:"nodes"`
	Probability    float64  `json:"probability" yaml:"probability"`
	ProbabilityMax float64  `json:"probability_max,omitempty" yaml:"probability_max,omitempty"`
	Joint          bool     `json:"joint,omitempty" yaml:"joint,omitempty"`
	Start          Dist     `json:"start,omitzero" yaml:"start,omitempty"`
	Duration       *Dist    `json:"duration,omitempty" yaml:"duration,omitempty"`
	NoBackups      bool     `json:"no_backups,omitempty" yaml:"no_backups,omitempty"`
	// Select, when set, adds the nodes a selector picks in the city
	// (ResolveScenario turns it into Nodes; a model cannot run it before).
	Select *Selector `json:"select,omitempty" yaml:"select,omitempty"`
}

// compiled is a scenario resolved against a model.
type compiled struct {
	horizon float64
	goal    Goal
	events  []cevent
}

type cevent struct {
	nodes     []int32
	hkeys     []uint64 // per node: the key of its hit and restore draws
	pLo, pHi  float64
	joint     bool
	start     Dist
	duration  Dist
	external  bool
	noBackups bool
	key       uint64 // draws of the event are keyed by its name, or position
	idx       int32  // position in the scenario
}

// maxHorizon bounds the simulated time (ten years): beyond it hours lose
// the precision the statistics need.
const maxHorizon = 24 * 365 * 10

// compile validates s against m and resolves node IDs. Unknown IDs and bad
// numbers are reported with the JSON pointer of the field.
func (m *Model) compile(s *Scenario, drop map[int]map[int32]bool, never map[int32]bool) (*compiled, error) {
	if s == nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "scenario: none given")
	}
	bad := func(at, format string, args ...any) error {
		return bulwark.Errorf(bulwark.EINVALID, "scenario %s: %s", at, fmt.Sprintf(format, args...))
	}
	if !(s.Horizon > 0 && s.Horizon <= maxHorizon) {
		return nil, bad("/horizon_h", "horizon %g h must be positive and at most %d h", s.Horizon, maxHorizon)
	}
	if s.Goal != (Goal{}) && !(s.Goal.Share >= 0 && s.Goal.Share <= 1 && s.Goal.Within >= 0 && s.Goal.Within <= s.Horizon) {
		return nil, bad("/goal", "share must be within 0..1 and within_h within the horizon")
	}
	c := &compiled{horizon: s.Horizon, goal: s.Goal}
	names := map[string]bool{}
	for i, ev := range s.Events {
		at := fmt.Sprintf("/events/%d", i)
		if ev.Name != "" {
			if names[ev.Name] {
				return nil, bad(at+"/name", "duplicate event name %q", bulwark.Abbrev(ev.Name, 64))
			}
			names[ev.Name] = true
		}
		if !(ev.Probability >= 0 && ev.Probability <= 1) {
			return nil, bad(at+"/probability", "probability %g is not within 0..1", ev.Probability)
		}
		if ev.ProbabilityMax != 0 && !(ev.ProbabilityMax >= ev.Probability && ev.ProbabilityMax <= 1) {
			return nil, bad(at+"/probability_max", "probability_max %g is not within probability..1", ev.ProbabilityMax)
		}
		if err := ev.Start.Validate("scenario " + at + "/start"); err != nil {
			return nil, err
		}
		if ev.Select != nil {
			return nil, bad(at+"/select", "selector not resolved against the city (see ResolveScenario)")
		}
		ce := cevent{pLo: ev.Probability, pHi: max(ev.ProbabilityMax, ev.Probability), joint: ev.Joint, start: ev.Start, noBackups: ev.NoBackups, key: uint64(i), idx: int32(i)}
		if ev.Name != "" {
			ce.key = hashString(ev.Name) | 1<<63
		}
		if ev.Duration != nil {
			if err := ev.Duration.Validate("scenario " + at + "/duration"); err != nil {
				return nil, err
			}
			ce.duration, ce.external = *ev.Duration, true
		}
		ce.nodes = make([]int32, 0, len(ev.Nodes))
		for j, id := range ev.Nodes {
			x, ok := m.g.Lookup(id)
			if !ok {
				return nil, bad(fmt.Sprintf("%s/nodes/%d", at, j), "unknown node %q", bulwark.Abbrev(id, 64))
			}
			if never[x] || drop[i][x] {
				continue
			}
			ce.nodes = append(ce.nodes, x)
		}
		slices.Sort(ce.nodes)
		ce.nodes = slices.Compact(ce.nodes)
		ce.hkeys = make([]uint64, len(ce.nodes))
		for j, x := range ce.nodes {
			ce.hkeys[j] = ce.key*0x9e3779b97f4a7c15 ^ m.key[x]
		}
		c.events = append(c.events, ce)
	}
	return c, nil
}

// prob returns the event's probability in a trial.
func (e *cevent) prob(base uint64) float64 {
	if e.pHi == e.pLo {
		return e.pLo
	}
	return e.pLo + draw(base, streamProb, e.key)*(e.pHi-e.pLo)
}
