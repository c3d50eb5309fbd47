package sim

import (
	"testing"

	"bulwark"
	"bulwark/internal/depgraph"
)

// Degenerate models run: no nodes, no services, nothing hit.
func TestDegenerate(t *testing.T) {
	empty, err := depgraph.Compile(&bulwark.GraphData{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*depgraph.Graph{empty, spec(t, "asset a\nasset b\na -> b")} {
		m := mustModel(t, g, fixedCfg(1))
		s := &Scenario{Horizon: 5, Goal: Goal{Share: 1, Within: 1}}
		if g.Len() > 0 {
			s.Events = []Event{{Nodes: []string{"b"}, Probability: 1}}
		}
		r := mustRun(t, m, s, Options{Trials: 10, Seed: 1})
		if len(r.Services) != 0 || r.Loss.Estimate != 0 || r.Goal.Estimate != 1 {
			t.Errorf("%d nodes: %+v", g.Len(), r)
		}
	}
}
