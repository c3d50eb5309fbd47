package sim

import (
	"context"
	"math"
	"reflect"
	"slices"
	"testing"

	"bulwark/internal/depgraph"
)

// Same seed, 1 and 4 workers, several rounds: identical results.
func TestDeterministic(t *testing.T) {
	c := synthCity(20_000)
	g, err := depgraph.Compile(c.data)
	if err != nil {
		t.Fatal(err)
	}
	cfg := benchCfg(g.Len())
	cfg.Analysis = depgraph.Analyze(g)
	m := mustModel(t, g, cfg)
	s := heavyScenario(c, 0.1)
	var results []*Result
	for _, workers := range []int{1, 4} {
		r := mustRun(t, m, s, Options{Trials: 300, Seed: 42, Workers: workers, Round: 64})
		results = append(results, r)
	}
	if !reflect.DeepEqual(results[0], results[1]) {
		t.Fatalf("results differ between 1 and 4 workers:\n%+v\n%+v", results[0].Loss, results[1].Loss)
	}
	if results[0].MeanFailed == 0 || results[0].Loss.Estimate == 0 {
		t.Fatalf("scenario did nothing: %+v", results[0])
	}
	other := mustRun(t, m, s, Options{Trials: 300, Seed: 43, Workers: 2})
	if reflect.DeepEqual(other.Loss, results[0].Loss) {
		t.Fatal("another seed gave the same loss")
	}
}

// within reports whether est is within 4 standard errors of want.
func within(est, want, sd float64, n int) bool {
	return math.Abs(est-want) <= 4*sd/math.Sqrt(float64(n))
}

// Estimates converge to values known exactly.
func TestConvergence(t *testing.T) {
	g := spec(t, `
service s 100 high
service u 10
asset a
asset b
s -> a
u -> b
`)
	const n = 20_000
	tests := []struct {
		name  string
		event Event
		p     float64 // exact P(s down)
		mean  float64 // exact E[downtime of s]
	}{
		// Restore triangular(2, 4, 12): mean 6 h; RTO 5 h.
		{"bernoulli", Event{Nodes: []string{"a"}, Probability: 0.3}, 0.3, 0.3 * 6},
		{"uncertain probability", Event{Nodes: []string{"a"}, Probability: 0.1, ProbabilityMax: 0.5}, 0.3, 0.3 * 6},
		{"joint", Event{Nodes: []string{"a", "b"}, Probability: 0.2, Joint: true}, 0.2, 0.2 * 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{
				Profiles: []Recovery{{Restore: Triangular(2, 4, 12), Backups: true, Skill: "it"}},
				Targets:  map[string]Targets{"s": {RTO: 5, MTD: 100}},
			}
			m := mustModel(t, g, cfg)
			s := &Scenario{Horizon: 200, Events: []Event{tt.event}, Goal: Goal{Share: 1, Within: 5}}
			r := mustRun(t, m, s, Options{Trials: n, Seed: 7})
			sr := r.Services[0]
			if sr.ID != "s" {
				t.Fatalf("first service %q", sr.ID)
			}
			if !within(sr.PDown, tt.p, math.Sqrt(tt.p*(1-tt.p)), n) {
				t.Errorf("P(down) = %v, want %v", sr.PDown, tt.p)
			}
			// Triangular(2, 4, 12): P(T > 5) = (12-5)²/((12-2)(12-4)) = 49/80.
			held := 1 - tt.p*49.0/80
			if sr.RTOHeld == nil || !within(sr.RTOHeld.Estimate, held, math.Sqrt(held*(1-held)), n) {
				t.Errorf("P(RTO held) = %+v, want %v", sr.RTOHeld, held)
			}
			if sr.RTOHeld.Low > held || sr.RTOHeld.High < held {
				t.Logf("note: exact %v outside this seed's 95%% interval %+v", held, sr.RTOHeld)
			}
			if sr.MTDHeld == nil || sr.MTDHeld.Estimate != 1 {
				t.Errorf("P(MTD held) = %+v, want 1", sr.MTDHeld)
			}
			if r.Goal == nil || !within(r.Goal.Estimate, held, math.Sqrt(held*(1-held)), n) {
				t.Errorf("P(goal) = %+v, want %v (s is the only critical service)", r.Goal, held)
			}
			// Var of the downtime: E[T²]p - (pE[T])², E[T²] of triangular.
			et2 := (4 + 16 + 144 + 2*4 + 2*12 + 4*12) / 6.0
			sd := math.Sqrt(tt.p*et2 - tt.mean*tt.mean)
			if !within(sr.MeanDown, tt.mean, sd*1.5, n) {
				t.Errorf("mean downtime %v, want %v", sr.MeanDown, tt.mean)
			}
			// Person-hours: s (100 people) down T_a; in the joint event u
			// (10 people) also waits for b, restored after a by the one
			// crew: down T_a + T_b.
			wantLoss := 100 * tt.mean
			if tt.event.Joint {
				wantLoss += 10 * tt.p * 12
			}
			if !within(r.Loss.Estimate, wantLoss, 150*sd, n) {
				t.Errorf("loss %v", r.Loss)
			}
			if !(r.Loss.Low <= r.Loss.Estimate && r.Loss.Estimate <= r.Loss.High) {
				t.Errorf("loss interval %+v", r.Loss)
			}
		})
	}
}

func TestQuantilesAndTop(t *testing.T) {
	g := spec(t, `
service s 10
asset a
asset b
s -> a
s -> b
`)
	cfg := Config{
		Profiles:     []Recovery{{Restore: Fixed(1), Backups: true, Skill: "it"}},
		NodeRecovery: map[string]Recovery{"b": {Restore: Fixed(3), Backups: true, Skill: "x"}},
	}
	m := mustModel(t, g, cfg)
	// a always hit (1 h); b hit with probability 0.5 (3 h, its own crew).
	s := &Scenario{Horizon: 10, Events: []Event{
		{Nodes: []string{"a"}, Probability: 1},
		{Nodes: []string{"b"}, Probability: 0.5},
	}}
	r := mustRun(t, m, s, Options{Trials: 1000, Seed: 3})
	sr := r.Services[0]
	if sr.P50 != 1 && sr.P50 != 3 || sr.P90 != 3 || sr.P99 != 3 {
		t.Errorf("quantiles %v %v %v", sr.P50, sr.P90, sr.P99)
	}
	if len(r.Top) != 2 || r.Top[0].ID != "b" || r.Top[1].ID != "a" {
		t.Fatalf("top = %+v, want b then a", r.Top)
	}
	// b ends the outage (30 person-hours) when hit, a (10) otherwise.
	pb := r.Top[0].Loss / 30
	if math.Abs(r.Top[0].Share+r.Top[1].Share-1) > 1e-9 || math.Abs(pb-0.5) > 0.06 {
		t.Errorf("top = %+v", r.Top)
	}
}

func TestEarlyStop(t *testing.T) {
	g := spec(t, "service s 10 high\nasset a\ns -> a")
	cfg := fixedCfg(5)
	cfg.Targets = map[string]Targets{"s": {RTO: 4}}
	m := mustModel(t, g, cfg)
	s := &Scenario{Horizon: 48, Events: []Event{{Nodes: []string{"a"}, Probability: 0.5}}}
	opt := Options{Trials: 1_000_000, Seed: 1, Epsilon: 0.01, Round: 500}
	r := mustRun(t, m, s, opt)
	if !r.Stopped || r.Trials >= opt.Trials || r.Trials%500 != 0 {
		t.Fatalf("stopped=%v after %d trials", r.Stopped, r.Trials)
	}
	if hw := r.Services[0].RTOHeld.HalfWidth(); hw > 0.01 {
		t.Errorf("half-width %v > epsilon", hw)
	}
	// The probability (Bernoulli 0.5) needs (1.96/0.01)²/4 ≈ 9,600 trials;
	// the loss (5 h × 10 people with probability 0.5), whose half-width
	// must be within 1% of its mean, needs (1.96/0.01)² ≈ 38,400.
	if r.Trials < 38_500 || r.Trials > 40_000 {
		t.Errorf("stopped after %d trials", r.Trials)
	}
	opt.Workers = 1
	if r2 := mustRun(t, m, s, opt); !reflect.DeepEqual(r, r2) {
		t.Error("early stop depends on the workers")
	}
}

func TestWilson(t *testing.T) {
	tests := []struct {
		k, n      int
		low, high float64
	}{
		// Reference values of the Wilson score interval (z = 1.96).
		{0, 10, 0, 0.2775},
		{5, 10, 0.2366, 0.7634},
		{10, 10, 0.7225, 1},
		{81, 263, 0.2553, 0.3662},
	}
	for _, tt := range tests {
		w := Wilson(tt.k, tt.n)
		if math.Abs(w.Low-tt.low) > 5e-4 || math.Abs(w.High-tt.high) > 5e-4 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", tt.k, tt.n, w.Low, w.High, tt.low, tt.high)
		}
	}
	m := MeanCI(10, 30, 5) // samples with mean 2, variance (30-20)/4
	if m.Estimate != 2 || math.Abs(m.HalfWidth()-1.959963984540054*math.Sqrt(2.5/5)) > 1e-12 {
		t.Errorf("MeanCI = %+v", m)
	}
}

func TestInvalid(t *testing.T) {
	g := spec(t, "service s 10\nservice t 1\nasset a\ns -> a")
	m := mustModel(t, g, fixedCfg(1))
	ctx := context.Background()
	scenarios := []*Scenario{
		nil,
		{Horizon: 0},
		{Horizon: math.NaN()},
		{Horizon: 1e9},
		{Horizon: 10, Events: []Event{{Nodes: []string{"nope"}, Probability: 1}}},
		{Horizon: 10, Events: []Event{{Nodes: []string{"a"}, Probability: 1.5}}},
		{Horizon: 10, Events: []Event{{Nodes: []string{"a"}, Probability: math.NaN()}}},
		{Horizon: 10, Events: []Event{{Nodes: []string{"a"}, Probability: 0.5, ProbabilityMax: 0.2}}},
		{Horizon: 10, Events: []Event{{Nodes: []string{"a"}, Probability: 1, Start: Dist{Kind: "weird"}}}},
		{Horizon: 10, Events: []Event{{Nodes: []string{"a"}, Probability: 1, Start: Triangular(3, 1, 2)}}},
		{Horizon: 10, Events: []Event{{Nodes: []string{"a"}, Probability: 1, Duration: &Dist{Kind: "lognormal"}}}},
		{Horizon: 10, Events: []Event{{Nodes: []string{"a"}, Probability: 1, Start: Dist{Mode: math.Inf(1)}}}},
		{Horizon: 10, Goal: Goal{Share: 2, Within: 1}},
		{Horizon: 10, Goal: Goal{Share: 0.5, Within: 11}},
	}
	for i, s := range scenarios {
		if _, err := Run(ctx, m, s, Options{Trials: 1}); err == nil {
			t.Errorf("scenario %d accepted", i)
		}
	}
	ok := hits(10, "a")
	for _, o := range []Options{{Trials: 0}, {Trials: -1}, {Trials: maxTrials + 1}, {Trials: maxSamples/2 + 1}, {Trials: 1, Epsilon: -1}} {
		if _, err := Run(ctx, m, ok, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	configs := []Config{
		{},
		{Profiles: []Recovery{{Restore: Dist{Kind: "uniform", Min: 2, Max: 1}}}},
		{Profiles: []Recovery{{}}, NodeProfile: []uint16{0}},
		{Profiles: []Recovery{{}}, NodeProfile: []uint16{0, 3}},
		{Profiles: []Recovery{{}}, NodeRecovery: map[string]Recovery{"zz": {}}},
		{Profiles: []Recovery{{}}, Targets: map[string]Targets{"a": {RTO: 1}}},
		{Profiles: []Recovery{{}}, Targets: map[string]Targets{"s": {RTO: -1}}},
		{Profiles: []Recovery{{}}, SoftEdges: [][2]string{{"a", "s"}}},
		{Profiles: []Recovery{{}}, Crews: []Crew{{"org", "it", -1}}},
		{Profiles: []Recovery{{}}, DefaultCrews: -2},
		{Profiles: []Recovery{{}}, Analysis: depgraph.Analyze(spec(t, "service s 1"))},
	}
	for i, cfg := range configs {
		if _, err := New(g, cfg); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	if _, err := New(nil, fixedCfg(1)); err == nil {
		t.Error("nil graph accepted")
	}
}

func TestCancel(t *testing.T) {
	g := spec(t, "service s 10\nasset a\ns -> a")
	m := mustModel(t, g, fixedCfg(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, m, hits(10, "a"), Options{Trials: 100}); err == nil {
		t.Error("cancelled run returned no error")
	}
}

func TestProgress(t *testing.T) {
	g := spec(t, "service s 10\nasset a\ns -> a")
	m := mustModel(t, g, fixedCfg(1))
	var seen []int
	r := mustRun(t, m, hits(10, "a"), Options{Trials: 2500, Seed: 1, Round: 1000, Progress: func(done, total int) {
		if total != 2500 {
			t.Errorf("total %d", total)
		}
		seen = append(seen, done)
	}})
	if want := []int{1000, 2000, 2500}; !slices.Equal(seen, want) || r.Trials != 2500 {
		t.Errorf("progress %v, trials %d; want %v", seen, r.Trials, want)
	}
}
