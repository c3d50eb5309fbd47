package sim

import (
	"context"
	"testing"

	"bulwark"
	"bulwark/internal/depgraph"
	"bulwark/internal/generate"
)

// The demo city runs end to end: derived recovery and targets, a
// ransomware event across its systems, a goal.
func TestDemoCity(t *testing.T) {
	c := &bulwark.City{}
	err := generate.Demo(func(ch *bulwark.City) error {
		c.Organizations = append(c.Organizations, ch.Organizations...)
		c.Services = append(c.Services, ch.Services...)
		c.Systems = append(c.Systems, ch.Systems...)
		c.Assets = append(c.Assets, ch.Assets...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := depgraph.Compile(depgraph.FromCity(c))
	if err != nil {
		t.Fatal(err)
	}
	def := Recovery{Restore: Triangular(2, 4, 8), RestoreNoBackups: Triangular(12, 24, 72), Backups: true, Skill: "it-sysadmin"}
	cfg := ConfigFromCity(c, g, def)
	cfg.Analysis = depgraph.Analyze(g)
	if len(cfg.Profiles) < 2 || len(cfg.Targets) == 0 {
		t.Fatalf("%d profiles, %d targets", len(cfg.Profiles), len(cfg.Targets))
	}
	m := mustModel(t, g, cfg)
	var ids []string
	for _, s := range c.Systems {
		ids = append(ids, s.ID)
	}
	s := &Scenario{Horizon: 24 * 14, Goal: Goal{Share: 0.9, Within: 24}, Events: []Event{
		{Name: "ransomware", Nodes: ids, Probability: 0.1, Start: Triangular(0, 4, 24), NoBackups: true},
	}}
	r, err := Run(context.Background(), m, s, Options{Trials: 500, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	withRTO := 0
	for _, sr := range r.Services {
		if sr.RTOHeld != nil {
			withRTO++
			if sr.RTOHeld.Low > sr.RTOHeld.Estimate || sr.RTOHeld.Estimate > sr.RTOHeld.High {
				t.Errorf("%s: interval %+v", sr.ID, sr.RTOHeld)
			}
		}
	}
	if withRTO == 0 || r.Loss.Estimate <= 0 || r.Goal == nil || len(r.Top) == 0 {
		t.Errorf("result: %d services with an RTO, loss %+v, goal %v, top %v", withRTO, r.Loss, r.Goal, r.Top)
	}
}
