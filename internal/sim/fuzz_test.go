package sim

import (
	"context"
	"encoding/json"
	"math"
	"testing"
)

// FuzzScenario decodes hostile scenario JSON and runs it: a scenario is
// accepted or refused with an error, never a panic, and what runs gives
// finite, consistent results.
func FuzzScenario(f *testing.F) {
	f.Add([]byte(`{"horizon_h":48,"events":[{"nodes":["a","b"],"probability":0.5}]}`))
	f.Add([]byte(`{"horizon_h":10,"goal":{"share":0.5,"within_h":5},"events":[{"name":"x","nodes":["c"],"probability":1,"joint":true,"duration":{"kind":"lognormal","mode":3,"sigma":2}}]}`))
	f.Add([]byte(`{"horizon_h":1e300,"events":[]}`))
	f.Add([]byte(`{"horizon_h":5,"events":[{"nodes":["a","a","a"],"probability":0.1,"probability_max":0.9,"start":{"kind":"triangular","min":0,"mode":1,"max":2}}]}`))
	g := spec(f, `
service s 10 high
system c
asset a
asset b
group c g 1
s -> c
c -> a g
c -> b g
a -> c soft
`)
	m := mustModel(f, g, fixedCfg(2))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		var s Scenario
		if json.Unmarshal(data, &s) != nil {
			return
		}
		r, err := Run(context.Background(), m, &s, Options{Trials: 3, Seed: 1})
		if err != nil {
			return
		}
		for _, sr := range r.Services {
			if math.IsNaN(sr.MeanDown) || sr.MeanDown < 0 || sr.MeanDown > s.Horizon+1e-9 {
				t.Fatalf("%s: mean downtime %v with horizon %v", sr.ID, sr.MeanDown, s.Horizon)
			}
		}
		if math.IsNaN(r.Loss.Estimate) || r.Loss.Estimate < 0 {
			t.Fatalf("loss %+v", r.Loss)
		}
	})
}
