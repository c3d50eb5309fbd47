package sim

import (
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"bulwark/internal/depgraph"
)

// Hand-computed trials: every restore time is fixed, so each outcome is
// exact.
func TestHandComputed(t *testing.T) {
	const city = `
service s1 100 high
service s2 50
system x
system y
system z
asset a owner-a
asset b owner-b
asset c owner-c
asset p
group s1 g 2
s1 -> a g
s1 -> b g
s1 -> c g
s2 -> x
s2 -> p soft
x -> y
y -> x
y -> z
`
	g := spec(t, city)
	tests := []struct {
		name     string
		cfg      Config
		scenario *Scenario
		down     map[string]float64 // services with downtime, hours
		loss     float64
	}{
		{"one of three down: 2-of-3 holds", fixedCfg(5), hits(48, "a"), map[string]float64{}, 0},
		{"two of three down: 2-of-3 breaks until the first is back", fixedCfg(5),
			&Scenario{Horizon: 48, Events: []Event{
				{Nodes: []string{"a"}, Probability: 1},
				{Nodes: []string{"b"}, Probability: 1, Start: Fixed(2)},
			}},
			// a down 0-5, b down 2-7: two members down 2-5.
			map[string]float64{"s1": 3}, 300},
		{"soft dependency only degrades", fixedCfg(5), hits(48, "p"), map[string]float64{}, 0},
		{"cycle comes back when its hit is restored", fixedCfg(3), hits(48, "x"), map[string]float64{"s2": 3}, 150},
		{"cycle below the hit comes back", fixedCfg(3), hits(48, "z"), map[string]float64{"s2": 3}, 150},
		{"cycle with two hits on one crew waits for both", fixedCfg(3), hits(48, "x", "y"),
			// one crew (owner org, skill it): x 0-3, then y 3-6.
			map[string]float64{"s2": 6}, 300},
		{"horizon cuts the outage", fixedCfg(100), hits(24, "z"), map[string]float64{"s2": 24}, 24 * 50},
		{"no backups after ransomware", fixedCfg(2),
			&Scenario{Horizon: 48, Events: []Event{{Nodes: []string{"z"}, Probability: 1, NoBackups: true}}},
			map[string]float64{"s2": 8}, 400},
		{"outside outage needs no crew", func() Config { c := fixedCfg(5); c.DefaultCrews = 0; c.Crews = []Crew{{"org", "it", 0}}; return c }(),
			&Scenario{Horizon: 48, Events: []Event{{Nodes: []string{"z"}, Probability: 1, Joint: true, Duration: &Dist{Mode: 7}}}},
			map[string]float64{"s2": 7}, 350},
		{"zero crews never restore", func() Config { c := fixedCfg(5); c.Crews = []Crew{{"org", "it", 0}}; return c }(),
			hits(10, "z"), map[string]float64{"s2": 10}, 500},
		{"never hit at probability 0", fixedCfg(5),
			&Scenario{Horizon: 48, Events: []Event{{Nodes: []string{"z", "x"}, Probability: 0}}}, map[string]float64{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustModel(t, g, tt.cfg)
			o, tr := once(t, m, tt.scenario)
			if !maps.Equal(o.Down, tt.down) {
				t.Errorf("down = %v, want %v\ntrace: %+v", o.Down, tt.down, tr.Events)
			}
			if o.Loss != tt.loss {
				t.Errorf("loss = %v, want %v", o.Loss, tt.loss)
			}
		})
	}
}

// Two hits need the one crew: the second waits. Priority decides who goes
// first: by ID without an analysis, by services and people lost with one.
func TestCrewContention(t *testing.T) {
	g := spec(t, `
service s1 10
service s2 1000
service s3 1000
asset a
asset b
s1 -> a
s2 -> b
s3 -> b
`)
	restore := map[string]Recovery{
		"a": {Restore: Fixed(4), Backups: true, Skill: "it"},
		"b": {Restore: Fixed(6), Backups: true, Skill: "it"},
	}
	tests := []struct {
		name  string
		prio  bool
		crews int
		down  map[string]float64
	}{
		// a (ID first) 0-4, then b 4-10.
		{"by ID", false, 1, map[string]float64{"s1": 4, "s2": 10, "s3": 10}},
		// b kills two services: b 0-6, then a 6-10.
		{"by criticality", true, 1, map[string]float64{"s1": 10, "s2": 6, "s3": 6}},
		{"two crews", true, 2, map[string]float64{"s1": 4, "s2": 6, "s3": 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fixedCfg(1)
			cfg.NodeRecovery = restore
			cfg.DefaultCrews = tt.crews
			if tt.prio {
				cfg.Analysis = depgraph.Analyze(g)
			}
			m := mustModel(t, g, cfg)
			o, tr := once(t, m, hits(48, "a", "b"))
			if !maps.Equal(o.Down, tt.down) {
				t.Errorf("down = %v, want %v\ntrace: %+v", o.Down, tt.down, tr.Events)
			}
		})
	}
}

// A hard group with a soft member counts the soft member's failure too
// (as depgraph does); a group of soft members only degrades.
func TestGroupKinds(t *testing.T) {
	g := spec(t, `
service s1 1
service s2 1
asset a
asset b
group s1 g 2
group s2 h 1
s1 -> a g
s1 -> b soft g
s2 -> a soft h
s2 -> b soft h
`)
	cfg := fixedCfg(5)
	cfg.DefaultCrews = 2
	m := mustModel(t, g, cfg)
	o, _ := once(t, m, hits(48, "b"))
	if want := map[string]float64{"s1": 5}; !maps.Equal(o.Down, want) {
		t.Errorf("hit b: down = %v, want %v", o.Down, want)
	}
	o, _ = once(t, m, hits(48, "a", "b"))
	if want := map[string]float64{"s1": 5}; !maps.Equal(o.Down, want) {
		t.Errorf("hit a and b: down = %v, want %v (s2's group is all soft)", o.Down, want)
	}
}

// Cycles of several shapes all come back once their hits are restored.
func TestCycles(t *testing.T) {
	tests := []struct {
		name, city string
		hit        []string
		want       float64
	}{
		{"self loop", "service s 1\nsystem x\ns -> x\nx -> x", []string{"x"}, 3},
		{"two cycles stacked", `
service s 1
system a
system b
system c
system d
system e
s -> a
a -> b
b -> a
b -> c
c -> d
d -> c
d -> e`, []string{"e"}, 3},
		{"cycle through a group", `
service s 1
system a
system b
asset m1
asset m2
group b g 2
s -> a
a -> b
b -> a g
b -> m1 g
a -> m2
`, []string{"m2"}, 3},
		// n4 needs 1 of {s, zz}, n1 needs 2 of {s, n4}, s needs n1: when
		// n4 is restored, n1's group is still short of s, which waits for
		// n1: the cycle s-n1 holds itself down unless re-evaluated.
		{"cycle held through a group member outside it", `
service s 1
asset n1
asset n4
asset zz
group s g 1
group n1 g 2
group n4 g 1
s -> n1 g
n1 -> s g
n1 -> n4 g
n4 -> s g
n4 -> zz g
`, []string{"n4"}, 3},
		// Hit a at 0 (3 h) and m2 at 1 (3 h, waits for the crew: 3-6).
		{"cycle held by a later hit", `
service s 1
system a
system b
asset m2
s -> a
a -> b
b -> a
b -> m2
`, []string{"a", "m2"}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := spec(t, tt.city)
			m := mustModel(t, g, fixedCfg(3))
			o, tr := once(t, m, hits(48, tt.hit...))
			if o.Down["s"] != tt.want {
				t.Errorf("s down %v h, want %v\ntrace: %+v", o.Down["s"], tt.want, tr.Events)
			}
		})
	}
}

// The queues pop in (time, sequence) and (priority desc, node) order.
func TestHeaps(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := &worker{}
		var q []job
		times := rapid.SliceOf(rapid.IntRange(0, 5)).Draw(t, "times")
		for i, tm := range times {
			w.push(qitem{t: float64(tm), x: int32(i)})
			q = pushJob(q, job{prio: uint64(tm), x: int32(i)})
		}
		var prev qitem
		var pj job
		for i := range times {
			it := w.pop()
			var j job
			j, q = popJob(q)
			if i > 0 && (qless(&it, &prev) || jless(&j, &pj)) {
				t.Fatalf("out of order: %+v after %+v, %+v after %+v", it, prev, j, pj)
			}
			if times[it.x] != int(it.t) {
				t.Fatalf("item %+v", it)
			}
			prev, pj = it, j
		}
		if len(w.heap) != 0 || len(q) != 0 {
			t.Fatal("not empty")
		}
	})
}

func TestTrace(t *testing.T) {
	g := spec(t, "service s 10\nsystem x\nasset a\nasset b\ns -> x\nx -> a\nx -> b")
	m := mustModel(t, g, fixedCfg(2))
	s := &Scenario{Horizon: 48, Events: []Event{
		{Name: "first", Nodes: []string{"a"}, Probability: 1},
		{Name: "second", Nodes: []string{"b"}, Probability: 1, Start: Fixed(1)},
	}}
	tr, o, err := TraceTrial(m, s, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []TraceEvent{
		{T: 0, Kind: "event", Event: 0},
		{T: 0, Kind: "hit", Node: "a", Event: 0},
		{T: 0, Kind: "down", Node: "a", Event: -1},
		{T: 0, Kind: "down", Node: "x", Cause: "a", Event: -1},
		{T: 0, Kind: "down", Node: "s", Cause: "a", Event: -1},
		{T: 0, Kind: "restore-start", Node: "a", Event: -1},
		{T: 1, Kind: "event", Event: 1},
		{T: 1, Kind: "hit", Node: "b", Event: 1},
		{T: 1, Kind: "down", Node: "b", Event: -1},
		{T: 2, Kind: "restored", Node: "a", Event: -1},
		{T: 2, Kind: "up", Node: "a", Event: -1},
		{T: 2, Kind: "restore-start", Node: "b", Event: -1},
		{T: 4, Kind: "restored", Node: "b", Event: -1},
		{T: 4, Kind: "up", Node: "b", Event: -1},
		{T: 4, Kind: "up", Node: "x", Cause: "b", Event: -1},
		{T: 4, Kind: "up", Node: "s", Cause: "b", Event: -1},
	}
	if !slices.Equal(tr.Events, want) {
		t.Errorf("trace:\n%+v\nwant\n%+v", tr.Events, want)
	}
	if tr.Trial != 3 || o.Down["s"] != 4 || o.MaxOutage["s"] != 4 || o.Loss != 40 {
		t.Errorf("trial %d, outcome %+v", tr.Trial, o)
	}
	if _, _, err := TraceTrial(m, s, 5, -1); err == nil {
		t.Error("negative trial accepted")
	}
}
