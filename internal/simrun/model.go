package simrun

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"bulwark"
	"bulwark/internal/depgraph"
	"bulwark/internal/sim"
)

// DefaultRecovery is the recovery of nodes whose system declares none, as
// bulwark simulate uses it: a restore of 2-8 h from backups, 12-72 h
// without, by IT administrators.
var DefaultRecovery = sim.Recovery{
	Restore: sim.Triangular(2, 4, 8), RestoreNoBackups: sim.Triangular(12, 24, 72),
	Backups: true, Skill: "it-sysadmin",
}

// TopContributors is how many contributing nodes a run reports.
const TopContributors = 20

// Model is the city ready for simulation, as of a city version.
type Model struct {
	Graph   *depgraph.Graph
	Config  sim.Config
	Sim     *sim.Model
	Version int64 // the city version it was loaded at; -1 when unknown
}

// versioned is implemented by stores that count changes to the city.
type versioned interface {
	CityVersion(ctx context.Context) (int64, error)
}

// cityVersion returns the store's city version, or -1.
func cityVersion(ctx context.Context, st bulwark.Store) int64 {
	if v, ok := st.(versioned); ok {
		if n, err := v.CityVersion(ctx); err == nil {
			return n
		}
	}
	return -1
}

// LoadModel builds the simulation model of the whole city, as bulwark
// simulate does: the dependency graph, the systems' declared recovery
// (DefaultRecovery otherwise), the services' targets, crews per owner and
// skill, and restoration priorities from the criticality analysis. ctx
// must carry the principal whose view is simulated (the System principal
// for runs).
func LoadModel(ctx context.Context, st bulwark.Store, crews int) (*Model, error) {
	version := cityVersion(ctx, st)
	data, err := st.LoadGraph(ctx)
	if err != nil {
		return nil, err
	}
	g, err := depgraph.Compile(data)
	if err != nil {
		return nil, err
	}
	city, err := sim.LoadCity(ctx, st)
	if err != nil {
		return nil, err
	}
	cfg := sim.ConfigFromCity(city, g, DefaultRecovery)
	cfg.DefaultCrews = crews
	cfg.Analysis = depgraph.Analyze(g)
	m, err := sim.New(g, cfg)
	if err != nil {
		return nil, err
	}
	return &Model{Graph: g, Config: cfg, Sim: m, Version: version}, nil
}

// Resolve checks that every node the scenario names exists and expands its
// selectors (and the options' selectors) in the city, naming the file and
// the event of any problem.
func Resolve(ctx context.Context, st bulwark.Store, g *depgraph.Graph, s *sim.Scenario, opts []sim.Option) error {
	for i, ev := range s.Events {
		for _, id := range ev.Nodes {
			if _, ok := g.Lookup(id); !ok {
				return bulwark.Errorf(bulwark.EINVALID, "scenario.yaml: event %d (%q): unknown node %q: no service, system or asset of the city has this ID",
					i+1, bulwark.Truncate(ev.Name, 200), bulwark.Truncate(id, 200))
			}
		}
	}
	if err := sim.ResolveScenario(ctx, st, s); err != nil {
		return fmt.Errorf("scenario.yaml: %w", err)
	}
	if err := sim.ResolveOptions(ctx, st, opts); err != nil {
		return fmt.Errorf("options.yaml: %w", err)
	}
	return nil
}

// SimOptions are the Monte Carlo settings of a run. Progress is reported
// every round; results do not depend on the round (no early stop), so the
// job's result equals a direct sim.Run with the same trials and seed.
func SimOptions(trials int, seed uint64) sim.Options {
	return sim.Options{Trials: trials, Seed: seed, Top: TopContributors, Round: min(1000, max(50, trials/100))}
}

// Outcome is a finished run's result, as stored.
type Outcome struct {
	// CityVersion is the version of the city the run simulated (-1 when
	// the store does not count versions); a trace on a changed city may
	// differ from the run's trials.
	CityVersion int64 `json:"city_version"`
	Nodes       int   `json:"nodes"`
	// Services describes the services of the result (name, population,
	// targets), by ID.
	Services map[string]ServiceInfo `json:"services"`
	// Events are the scenario's events with the number of nodes each can
	// hit once selectors are resolved.
	Events  []EventInfo `json:"events"`
	Horizon float64     `json:"horizon_h"`
	Goal    *sim.Goal   `json:"goal,omitempty"`
	// Result is the Monte Carlo of a simulate run, Comparison the ranking
	// of an invest run (its baseline is the scenario on the city as is).
	Result     *sim.Result `json:"result,omitempty"`
	Comparison *Comparison `json:"comparison,omitempty"`
	Seconds    float64     `json:"seconds"`
}

// ServiceInfo describes a service of the result.
type ServiceInfo struct {
	Name       string  `json:"name"`
	Population int64   `json:"population"`
	RTO        float64 `json:"rto_h,omitempty"`
	MTD        float64 `json:"mtd_h,omitempty"`
}

// EventInfo is a scenario event as resolved.
type EventInfo struct {
	Name  string `json:"name"`
	Nodes int    `json:"nodes"`
}

// Comparison ranks investment options, best first (sim.Compare); a free
// option that avoids loss has no per-cost interval and Free set.
type Comparison struct {
	Baseline *sim.Result `json:"baseline"`
	Options  []Ranked    `json:"options"`
}

// Ranked is one option of a comparison.
type Ranked struct {
	Name    string        `json:"name"`
	Cost    float64       `json:"cost"`
	Avoided sim.Interval  `json:"avoided_person_h"`
	PerCost *sim.Interval `json:"avoided_per_cost,omitempty"`
	Free    bool          `json:"free,omitempty"`
	Result  *sim.Result   `json:"result"`
}

func comparison(c *sim.Comparison) *Comparison {
	out := &Comparison{Baseline: c.Baseline, Options: make([]Ranked, 0, len(c.Options))}
	for _, r := range c.Options {
		x := Ranked{Name: r.Name, Cost: r.Cost, Avoided: r.Avoided, Result: r.Result}
		if r.Cost > 0 {
			pc := r.PerCost
			x.PerCost = &pc
		} else {
			x.Free = r.Avoided.Estimate > 0
		}
		out.Options = append(out.Options, x)
	}
	return out
}

// DecodeOutcome reads a stored result.
func DecodeOutcome(b []byte) (*Outcome, error) {
	var o Outcome
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	return &o, nil
}

// execute runs a stored run on the city now: parse, load, resolve,
// simulate (or compare), reporting trials done through progress.
func (s *Service) execute(ctx context.Context, run *bulwark.SimRun, progress func(done int64)) (*Outcome, error) {
	start := time.Now()
	req := Request{Kind: run.Kind, Scenario: run.Scenario, Options: run.Options, Trials: run.Trials, Seed: run.Seed, Crews: run.Crews}
	p, err := check(&req)
	if err != nil {
		return nil, err
	}
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	m, err := LoadModel(sys, s.st, run.Crews)
	if err != nil {
		return nil, err
	}
	if err := Resolve(sys, s.st, m.Graph, p.scenario, p.options); err != nil {
		return nil, err
	}
	out := &Outcome{CityVersion: m.Version, Nodes: m.Graph.Len(), Services: map[string]ServiceInfo{}, Horizon: p.scenario.Horizon}
	if p.scenario.Goal != (sim.Goal{}) {
		g := p.scenario.Goal
		out.Goal = &g
	}
	for i, ev := range p.scenario.Events {
		name := ev.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		out.Events = append(out.Events, EventInfo{Name: name, Nodes: len(ev.Nodes)})
	}
	opt := SimOptions(run.Trials, run.Seed)
	var base, last int64
	opt.Progress = func(done, _ int) {
		// Compare reports each of its runs from 0: count those before.
		if int64(done) < last {
			base += int64(run.Trials)
		}
		last = int64(done)
		progress(base + last)
	}
	var services []sim.ServiceResult
	if run.Kind == bulwark.SimInvest {
		c, err := sim.Compare(ctx, m.Graph, m.Config, p.scenario, p.options, opt)
		if err != nil {
			return nil, fmt.Errorf("options.yaml: %w", err)
		}
		out.Comparison = comparison(c)
		services = c.Baseline.Services
	} else {
		r, err := sim.Run(ctx, m.Sim, p.scenario, opt)
		if err != nil {
			return nil, err
		}
		out.Result = r
		services = r.Services
	}
	for _, sr := range services {
		x, ok := m.Graph.Lookup(sr.ID)
		if !ok {
			continue
		}
		t := m.Config.Targets[sr.ID]
		out.Services[sr.ID] = ServiceInfo{Name: m.Graph.Name(x), Population: m.Graph.Population(x), RTO: t.RTO, MTD: t.MTD}
	}
	out.Seconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	return out, nil
}

// cachedModel is the model traces use, kept while the city does not change.
type cachedModel struct {
	model *Model
	crews int
}

// Trace bounds: a trial of a big city touches too many nodes to draw.
const (
	MaxTraceNodes  = 500
	MaxTraceEvents = 20_000
)

// TraceView is one trial of a run, step by step, with the part of the
// dependency graph it touches: what the timeline animation plays.
type TraceView struct {
	Run   string `json:"run"`
	Trial int    `json:"trial"`
	Seed  uint64 `json:"seed"`
	// CityChanged says the city changed since the run: the trial is
	// replayed on the city as it is now.
	CityChanged bool              `json:"city_changed"`
	Horizon     float64           `json:"horizon_h"`
	EventNames  []string          `json:"event_names"`
	Events      []sim.TraceEvent  `json:"events"`
	Outcome     *sim.TrialOutcome `json:"outcome"`
	Nodes       []TraceNode       `json:"nodes"`
	Edges       []TraceEdge       `json:"edges"`
	// Truncated says nodes (and their steps) were left out beyond
	// MaxTraceNodes, or steps beyond MaxTraceEvents.
	Truncated bool `json:"truncated"`
}

// TraceNode is a node the trial touches.
type TraceNode struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Owner      string `json:"owner"`
	Population int64  `json:"population,omitempty"`
}

// TraceEdge is a dependency between two nodes of the view: From depends on
// To.
type TraceEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Soft bool   `json:"soft,omitempty"`
}

// Trace replays trial of a finished run of the caller's organization: the
// same draws as in the run (of its baseline, for an invest run).
func (s *Service) Trace(ctx context.Context, id string, trial int) (*TraceView, error) {
	run, out, err := s.Outcome(ctx, id)
	if err != nil {
		return nil, err
	}
	if run.Status != bulwark.SimDone {
		return nil, bulwark.Errorf(bulwark.ECONFLICT, "simulation %s is %s: trials can be traced once it is done", id, run.Status)
	}
	if trial < 0 || trial >= run.Trials {
		return nil, bulwark.Errorf(bulwark.EINVALID, "trial %d: the run has trials 0 to %d", trial, run.Trials-1)
	}
	p, _ := bulwark.PrincipalFrom(ctx)
	// Tracing reads the whole city as the run did: the organization must
	// still be one that may run simulations.
	if !p.System {
		if o, err := s.st.FindOrganization(ctx, p.Org); err != nil || o.Purview != bulwark.PurviewCity {
			return nil, bulwark.Errorf(bulwark.EFORBIDDEN, "only city organizations may trace simulations")
		}
	}
	req := Request{Kind: run.Kind, Scenario: run.Scenario, Options: run.Options, Trials: run.Trials, Seed: run.Seed, Crews: run.Crews}
	parsed, cerr := check(&req)
	if cerr != nil {
		return nil, cerr
	}
	select {
	case s.traceSlots <- struct{}{}:
		defer func() { <-s.traceSlots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	m, merr := s.tracedModel(sys, run.Crews)
	if merr != nil {
		return nil, merr
	}
	if err := Resolve(sys, s.st, m.Graph, parsed.scenario, nil); err != nil {
		return nil, err
	}
	tr, res, terr := sim.TraceTrial(m.Sim, parsed.scenario, run.Seed, trial)
	if terr != nil {
		return nil, terr
	}
	v := &TraceView{Run: run.ID, Trial: trial, Seed: run.Seed, Horizon: parsed.scenario.Horizon, Outcome: res,
		CityChanged: out != nil && (m.Version < 0 || m.Version != out.CityVersion)}
	for i, ev := range parsed.scenario.Events {
		name := ev.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		v.EventNames = append(v.EventNames, name)
	}
	view(v, m.Graph, tr.Events)
	return v, nil
}

// tracedModel returns the model of the city now, reusing the last one
// while the city version and crews are the same.
func (s *Service) tracedModel(ctx context.Context, crews int) (*Model, error) {
	s.modelMu.Lock()
	defer s.modelMu.Unlock()
	if c := s.model; c != nil && c.crews == crews && c.model.Version >= 0 && c.model.Version == cityVersion(ctx, s.st) {
		return c.model, nil
	}
	m, err := LoadModel(ctx, s.st, crews)
	if err != nil {
		return nil, err
	}
	s.model = &cachedModel{model: m, crews: crews}
	return m, nil
}

// view picks the nodes a trial touches (services first, then hit nodes,
// then the rest in order of appearance, up to MaxTraceNodes), their steps
// (up to MaxTraceEvents) and the dependencies among them.
func view(v *TraceView, g *depgraph.Graph, events []sim.TraceEvent) {
	seen := map[string]bool{}
	var services, hits, others []string
	note := func(id string, hit bool) {
		if id == "" || seen[id] {
			return
		}
		x, ok := g.Lookup(id)
		if !ok {
			return
		}
		seen[id] = true
		switch {
		case g.Kind(x) == bulwark.KindService:
			services = append(services, id)
		case hit:
			hits = append(hits, id)
		default:
			others = append(others, id)
		}
	}
	for _, e := range events {
		note(e.Node, e.Kind == "hit")
		note(e.Cause, false)
	}
	ids := slices.Concat(services, hits, others)
	if len(ids) > MaxTraceNodes {
		ids, v.Truncated = ids[:MaxTraceNodes], true
	}
	in := make(map[string]int32, len(ids))
	for _, id := range ids {
		x, _ := g.Lookup(id)
		in[id] = x
		v.Nodes = append(v.Nodes, TraceNode{ID: id, Name: g.Name(x), Kind: g.Kind(x).String(), Owner: g.Owner(x), Population: g.Population(x)})
	}
	for _, e := range events {
		if e.Node != "" {
			if _, ok := in[e.Node]; !ok {
				continue
			}
		}
		if len(v.Events) == MaxTraceEvents {
			v.Truncated = true
			break
		}
		if e.Cause != "" {
			if _, ok := in[e.Cause]; !ok {
				e.Cause = ""
			}
		}
		v.Events = append(v.Events, e)
	}
	for _, id := range ids {
		x := in[id]
		lo, hi := g.EdgeRange(x)
		for e := lo; e < hi; e++ {
			to := g.ID(g.EdgeTarget(e))
			if _, ok := in[to]; ok && to != id {
				v.Edges = append(v.Edges, TraceEdge{From: id, To: to, Soft: g.EdgeSoft(e)})
			}
		}
	}
	if v.Events == nil {
		v.Events = []sim.TraceEvent{}
	}
	if v.Nodes == nil {
		v.Nodes = []TraceNode{}
	}
	if v.Edges == nil {
		v.Edges = []TraceEdge{}
	}
}

// progressText says how far a run is, for messages.
func progressText(done, total int64) string {
	if total <= 0 {
		return "0%"
	}
	return fmt.Sprintf("%d%%", done*100/total)
}

// marshalOutcome encodes a result for the store.
func marshalOutcome(o *Outcome) ([]byte, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, bulwark.Errorf(bulwark.EINTERNAL, "the simulation's result could not be encoded: %v", err)
	}
	if len(b) > bulwark.MaxSimResult {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "the simulation's result is %d bytes; at most %d are kept: compare fewer options", len(b), bulwark.MaxSimResult)
	}
	return b, nil
}
