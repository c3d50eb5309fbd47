package sim

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"bulwark"
	"bulwark/internal/depgraph"
)

// Option is an investment: changes to the model or to the scenario's hit
// sets, with a cost (any currency, the same for every option compared).
type Option struct {
	Name string  `json:"name" yaml:"name"`
	Cost float64 `json:"cost" yaml:"cost"`
	// AddCrews adds Count crews to (Owner, Skill).
	AddCrews []Crew `json:"add_crews,omitempty" yaml:"add_crews,omitempty"`
	// Backups gives the listed nodes working backups.
	Backups []string `json:"backups,omitempty" yaml:"backups,omitempty"`
	// Faster multiplies the restore times of nodes by Factor (< 1: faster).
	Faster []Faster `json:"faster,omitempty" yaml:"faster,omitempty"`
	// SoftEdges turns hard dependencies soft (a redundant path).
	SoftEdges [][2]string `json:"soft_edges,omitempty" yaml:"soft_edges,omitempty"`
	// Protect removes nodes from every event's hit set (hardening,
	// segmentation, a redundant site); Patch removes them from the named
	// events only (patching the CVE those events exploit).
	Protect []string `json:"protect,omitempty" yaml:"protect,omitempty"`
	Patch   []Patch  `json:"patch,omitempty" yaml:"patch,omitempty"`
}

// Faster shortens the restoration of a node.
type Faster struct {
	Node   string  `json:"node" yaml:"node"`
	Factor float64 `json:"factor" yaml:"factor"`
}

// Patch removes Nodes from the hit set of the scenario events named Event.
type Patch struct {
	Event string   `json:"event" yaml:"event"`
	Nodes []string `json:"nodes" yaml:"nodes"`
	// Select, when set, adds the nodes a selector picks (ResolveOptions
	// turns it into Nodes).
	Select *Selector `json:"select,omitempty" yaml:"select,omitempty"`
}

// Ranked is one option's paired comparison with the baseline.
type Ranked struct {
	Name string  `json:"name"`
	Cost float64 `json:"cost"`
	// Avoided is the expected person-hours of loss avoided per trial:
	// baseline minus option, paired trial by trial.
	Avoided Interval `json:"avoided_person_h"`
	// PerCost is Avoided divided by Cost (+Inf for a free option that
	// avoids loss).
	PerCost Interval `json:"avoided_per_cost"`
	Result  *Result  `json:"result"`
}

// Comparison ranks options by loss avoided per unit of cost, best first.
type Comparison struct {
	Baseline *Result  `json:"baseline"`
	Options  []Ranked `json:"options"`
}

// Compare runs the baseline and every option on the same trial seeds
// (common random numbers: a node's draws are the same in every model), and
// ranks the options by expected loss avoided per unit of cost, with the 95%
// interval of the paired difference. Early stopping is not used.
func Compare(ctx context.Context, g *depgraph.Graph, cfg Config, s *Scenario, opts []Option, o Options) (*Comparison, error) {
	o.Epsilon = 0
	base, err := New(g, cfg)
	if err != nil {
		return nil, err
	}
	br, err := Run(ctx, base, s, o)
	if err != nil {
		return nil, err
	}
	cmpn := &Comparison{Baseline: br}
	for i, op := range opts {
		if !(op.Cost >= 0) || math.IsInf(op.Cost, 0) {
			return nil, bulwark.Errorf(bulwark.EINVALID, "option %d (%q): cost %g must be finite and non-negative", i, op.Name, op.Cost)
		}
		m, c, err := op.apply(g, cfg, base, s)
		if err != nil {
			return nil, fmt.Errorf("option %d (%q): %w", i, op.Name, err)
		}
		r, err := m.run(ctx, c, o)
		if err != nil {
			return nil, err
		}
		var sum, sq float64
		for t, l := range r.losses {
			d := br.losses[t] - l
			sum += d
			sq += d * d
		}
		av := MeanCI(sum, sq, len(r.losses))
		per := Interval{Estimate: math.Inf(1), Low: math.Inf(1), High: math.Inf(1)}
		switch {
		case op.Cost > 0:
			per = Interval{Estimate: av.Estimate / op.Cost, Low: av.Low / op.Cost, High: av.High / op.Cost}
		case av.Estimate <= 0:
			per = Interval{}
		}
		cmpn.Options = append(cmpn.Options, Ranked{Name: op.Name, Cost: op.Cost, Avoided: av, PerCost: per, Result: r})
	}
	slices.SortStableFunc(cmpn.Options, func(a, b Ranked) int { return cmp.Compare(b.PerCost.Estimate, a.PerCost.Estimate) })
	return cmpn, nil
}

// apply returns the model and compiled scenario with the option in place.
func (op *Option) apply(g *depgraph.Graph, cfg Config, base *Model, s *Scenario) (*Model, *compiled, error) {
	cfg.NodeRecovery = cloneMap(cfg.NodeRecovery)
	eff := func(id string) (Recovery, error) {
		if r, ok := cfg.NodeRecovery[id]; ok {
			return r, nil
		}
		x, ok := g.Lookup(id)
		if !ok {
			return Recovery{}, bulwark.Errorf(bulwark.EINVALID, "unknown node %q", bulwark.Abbrev(id, 64))
		}
		return base.recs[base.rec[x]], nil
	}
	for _, id := range op.Backups {
		r, err := eff(id)
		if err != nil {
			return nil, nil, err
		}
		r.Backups = true
		if r.Restore == (Dist{}) {
			r.Restore = r.RestoreNoBackups
		}
		cfg.NodeRecovery[id] = r
	}
	for _, f := range op.Faster {
		if !(f.Factor > 0) || math.IsInf(f.Factor, 0) {
			return nil, nil, bulwark.Errorf(bulwark.EINVALID, "faster restoration of %q: factor %g must be positive", bulwark.Abbrev(f.Node, 64), f.Factor)
		}
		r, err := eff(f.Node)
		if err != nil {
			return nil, nil, err
		}
		r.Restore, r.RestoreNoBackups = r.Restore.Scale(f.Factor), r.RestoreNoBackups.Scale(f.Factor)
		cfg.NodeRecovery[f.Node] = r
	}
	if len(op.AddCrews) > 0 {
		counts := map[[2]string]int{}
		for _, p := range base.pools {
			counts[[2]string{p.Owner, p.Skill}] = p.Count
		}
		def := max(cfg.DefaultCrews, 1)
		for _, c := range op.AddCrews {
			k := [2]string{c.Owner, c.Skill}
			if _, ok := counts[k]; !ok {
				counts[k] = def
			}
			counts[k] += c.Count
		}
		cfg.Crews = nil
		for _, k := range sortedPairs(counts) {
			cfg.Crews = append(cfg.Crews, Crew{Owner: k[0], Skill: k[1], Count: counts[k]})
		}
	}
	cfg.SoftEdges = append(slices.Clone(cfg.SoftEdges), op.SoftEdges...)
	m := base
	if len(op.AddCrews)+len(op.Backups)+len(op.Faster)+len(op.SoftEdges) > 0 {
		var err error
		if m, err = New(g, cfg); err != nil {
			return nil, nil, err
		}
	}
	never := map[int32]bool{}
	for _, id := range op.Protect {
		x, ok := g.Lookup(id)
		if !ok {
			return nil, nil, bulwark.Errorf(bulwark.EINVALID, "protect: unknown node %q", bulwark.Abbrev(id, 64))
		}
		never[x] = true
	}
	drop := map[int]map[int32]bool{}
	for _, p := range op.Patch {
		if p.Select != nil {
			return nil, nil, bulwark.Errorf(bulwark.EINVALID, "patch of %q: selector not resolved against the city (see ResolveOptions)", bulwark.Abbrev(p.Event, 64))
		}
		found := false
		for i, ev := range s.Events {
			if ev.Name != p.Event {
				continue
			}
			found = true
			if drop[i] == nil {
				drop[i] = map[int32]bool{}
			}
			for _, id := range p.Nodes {
				x, ok := g.Lookup(id)
				if !ok {
					return nil, nil, bulwark.Errorf(bulwark.EINVALID, "patch: unknown node %q", bulwark.Abbrev(id, 64))
				}
				drop[i][x] = true
			}
		}
		if !found {
			return nil, nil, bulwark.Errorf(bulwark.EINVALID, "patch: no scenario event named %q", bulwark.Abbrev(p.Event, 64))
		}
	}
	c, err := m.compile(s, drop, never)
	return m, c, err
}

func cloneMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedPairs(m map[[2]string]int) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	return keys
}
