package sim

import (
	"context"
	"math"
	"testing"
)

func TestCompare(t *testing.T) {
	g := spec(t, `
service water 1000 high
service parks 10
system scada
system web
asset plc
asset srv
water -> scada
parks -> web
scada -> plc
web -> srv
web -> scada soft
`)
	cfg := Config{
		Profiles:     []Recovery{{Restore: Triangular(2, 4, 8), RestoreNoBackups: Triangular(20, 40, 80), Skill: "it"}},
		DefaultCrews: 1,
	}
	s := &Scenario{Horizon: 200, Events: []Event{
		{Name: "plc-cve", Nodes: []string{"plc"}, Probability: 0.4},
		{Name: "ransom", Nodes: []string{"scada", "srv"}, Probability: 0.3},
	}}
	opts := []Option{
		{Name: "nothing", Cost: 10},
		{Name: "patch plc", Cost: 100, Patch: []Patch{{Event: "plc-cve", Nodes: []string{"plc"}}}},
		{Name: "backups scada", Cost: 50, Backups: []string{"scada"}},
		{Name: "protect srv", Cost: 1, Protect: []string{"srv"}},
		{Name: "crew", Cost: 1000, AddCrews: []Crew{{Owner: "org", Skill: "it", Count: 1}}},
		{Name: "faster plc", Cost: 20, Faster: []Faster{{Node: "plc", Factor: 0.5}}},
		{Name: "soft water", Cost: 500, SoftEdges: [][2]string{{"water", "scada"}}},
	}
	c, err := Compare(context.Background(), g, cfg, s, opts, Options{Trials: 4000, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Ranked{}
	for i, r := range c.Options {
		byName[r.Name] = r
		if i > 0 && r.PerCost.Estimate > c.Options[i-1].PerCost.Estimate {
			t.Errorf("not ranked: %s after %s", r.Name, c.Options[i-1].Name)
		}
	}
	// Common random numbers: an option that changes nothing differs in no
	// trial.
	if n := byName["nothing"]; n.Avoided != (Interval{}) {
		t.Errorf("nothing avoided %+v", n.Avoided)
	}
	// Turning water's dependency soft removes all of water's loss, exactly
	// (paired): water's share of the baseline.
	water := c.Baseline.Services[len(c.Baseline.Services)-1]
	if water.ID != "water" {
		t.Fatalf("last service %s", water.ID)
	}
	if a := byName["soft water"].Avoided.Estimate; math.Abs(a-1000*water.MeanDown) > 1e-6*a {
		t.Errorf("soft water avoided %v, water lost %v", a, 1000*water.MeanDown)
	}
	for _, name := range []string{"patch plc", "backups scada", "crew", "faster plc", "soft water"} {
		r := byName[name]
		if !(r.Avoided.Low > 0) {
			t.Errorf("%s: avoided %+v, want a positive interval", name, r.Avoided)
		}
		if math.Abs(r.PerCost.Estimate*r.Cost-r.Avoided.Estimate) > 1e-9*r.Avoided.Estimate {
			t.Errorf("%s: per cost %v", name, r.PerCost)
		}
	}
	if p := byName["protect srv"]; !(p.Avoided.Estimate > 0) || p.Avoided.Estimate > byName["backups scada"].Avoided.Estimate {
		t.Errorf("protect srv (parks, 10 people) avoided %v", p.Avoided)
	}
	if last := c.Options[len(c.Options)-1]; last.Name != "nothing" {
		t.Errorf("last is %s, want nothing", last.Name)
	}

	bad := []Option{
		{Name: "neg", Cost: -1},
		{Name: "nan", Cost: math.NaN()},
		{Name: "node", Backups: []string{"nope"}},
		{Name: "factor", Faster: []Faster{{Node: "plc", Factor: 0}}},
		{Name: "event", Patch: []Patch{{Event: "nope"}}},
		{Name: "patch node", Patch: []Patch{{Event: "ransom", Nodes: []string{"nope"}}}},
		{Name: "protect", Protect: []string{"nope"}},
		{Name: "edge", SoftEdges: [][2]string{{"plc", "water"}}},
	}
	for _, o := range bad {
		if _, err := Compare(context.Background(), g, cfg, s, []Option{o}, Options{Trials: 10}); err == nil {
			t.Errorf("option %s accepted", o.Name)
		}
	}
}
