package e2e

import (
	"context"
	"testing"

	"bulwark"
	"bulwark/internal/depgraph"
	"bulwark/internal/generate"
)

// demo streams the bundled demo city for the screenshot, and otherwise the
// same city with fewer assets: its services, systems and failure points are
// the demo's, and it imports in a fraction of the time.
func demo(emit func(*bulwark.City) error) error {
	if *screenshot {
		return generate.Demo(emit)
	}
	return generate.Generate(generate.Options{Assets: 1500, Seed: generate.DemoSeed, Name: generate.DefaultName}, emit)
}

// demoService picks the service whose graph tells the story best: the
// drinking-water service, or else one with a common-mode point of failure
// and the most single points of failure among those that fit one screen.
func demoService(t *testing.T, inst *instance) string {
	t.Helper()
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	gd, err := inst.St.LoadGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := depgraph.Compile(gd)
	if err != nil {
		t.Fatal(err)
	}
	an := depgraph.Analyze(g)
	best, bestScore := "", -1
	for _, s := range an.Report(1).Services {
		if s.ID == "drinking-water" { // the demo's story: one feeder powers both redundant pumps
			return s.ID
		}
		v, ok := an.ServiceView(s.ID)
		if !ok || len(v.Nodes) > 250 {
			continue
		}
		score := len(s.SPOFs)
		for _, sp := range s.SPOFs {
			if sp.CommonMode {
				score += 100
				break
			}
		}
		if score > bestScore {
			best, bestScore = s.ID, score
		}
	}
	if best == "" {
		t.Fatal("the demo city has no service with a drawable graph")
	}
	t.Logf("demo service: %s (score %d)", best, bestScore)
	return best
}
