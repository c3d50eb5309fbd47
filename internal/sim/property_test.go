package sim

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"bulwark"
	"bulwark/internal/depgraph"
)

// randCity draws a small graph: 1-3 services and 2-9 other nodes with
// random hard and soft dependencies (cycles and self-loops included) and
// k-of-n groups.
type randCity struct {
	d   *bulwark.GraphData
	ids []string
}

func drawCity(t *rapid.T) *randCity {
	ns := rapid.IntRange(1, 3).Draw(t, "services")
	no := rapid.IntRange(2, 9).Draw(t, "others")
	c := &randCity{d: &bulwark.GraphData{}}
	for i := range ns + no {
		n := bulwark.GraphNode{Ref: int64(i + 1), Kind: bulwark.KindAsset, Owner: fmt.Sprintf("o%d", i%2)}
		if i < ns {
			n.ID, n.Kind, n.Population = fmt.Sprintf("s%d", i), bulwark.KindService, int64(1+i*10)
			n.Category.Availability = bulwark.LevelHigh
		} else {
			n.ID = fmt.Sprintf("n%d", i)
		}
		c.ids = append(c.ids, n.ID)
		c.d.Nodes = append(c.d.Nodes, n)
	}
	for i := range ns + no {
		deps := rapid.IntRange(0, 3).Draw(t, "deps")
		members := 0
		seen := map[int]bool{}
		for range deps {
			j := rapid.IntRange(0, ns+no-1).Draw(t, "to")
			if seen[j] || j == i && !rapid.Bool().Draw(t, "self") {
				continue
			}
			seen[j] = true
			e := bulwark.GraphEdge{From: int64(i + 1), To: int64(j + 1), Kind: bulwark.Hard}
			if rapid.IntRange(0, 3).Draw(t, "soft") == 0 {
				e.Kind = bulwark.Soft
			}
			if rapid.Bool().Draw(t, "grouped") {
				e.Group = "g"
				members++
			}
			c.d.Edges = append(c.d.Edges, e)
		}
		if members > 0 {
			c.d.Groups = append(c.d.Groups, bulwark.GraphGroup{Owner: int64(i + 1), ID: "g", Need: rapid.IntRange(1, members).Draw(t, "need")})
		}
	}
	return c
}

func (c *randCity) compile(t *rapid.T) *depgraph.Graph {
	g, err := depgraph.Compile(c.d)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// drawScenario hits random non-service nodes, each event with a random
// probability and start.
func drawScenario(t *rapid.T, c *randCity) *Scenario {
	s := &Scenario{Horizon: 48, Goal: Goal{Share: 0.5, Within: 12}}
	for i := range rapid.IntRange(1, 4).Draw(t, "events") {
		var nodes []string
		for _, id := range c.ids {
			if id[0] == 'n' && rapid.IntRange(0, 2).Draw(t, "in") == 0 {
				nodes = append(nodes, id)
			}
		}
		s.Events = append(s.Events, Event{
			Name: fmt.Sprintf("e%d", i), Nodes: nodes,
			Probability: rapid.SampledFrom([]float64{0.3, 0.7, 1}).Draw(t, "p"),
			Start:       Triangular(0, 2, 8),
		})
	}
	return s
}

func propCfg(crews int) Config {
	return Config{
		Profiles:     []Recovery{{Restore: Triangular(1, 4, 10), RestoreNoBackups: Triangular(5, 10, 20), Backups: true, Skill: "it"}},
		DefaultCrews: crews,
		Targets:      map[string]Targets{"s0": {RTO: 6, MTD: 12}},
	}
}

const propTrials = 40

func runBoth(t *rapid.T, g1 *depgraph.Graph, c1 Config, s1 *Scenario, g2 *depgraph.Graph, c2 Config, s2 *Scenario) (*Result, *Result) {
	m1, err := New(g1, c1)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := New(g2, c2)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Trials: propTrials, Seed: rapid.Uint64().Draw(t, "seed")}
	r1, err := Run(context.Background(), m1, s1, opt)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Run(context.Background(), m2, s2, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r1, r2
}

// noWorse checks that b is never worse than a, trial by trial in loss and
// per service in downtime and target attainment.
func noWorse(t *rapid.T, a, b *Result) {
	for i := range a.losses {
		if b.losses[i] > a.losses[i]+1e-9 {
			t.Fatalf("trial %d: loss %v > %v", i, b.losses[i], a.losses[i])
		}
	}
	for i := range a.Services {
		sa, sb := a.Services[i], b.Services[i]
		if sb.MeanDown > sa.MeanDown+1e-9 {
			t.Fatalf("%s: mean downtime %v > %v", sa.ID, sb.MeanDown, sa.MeanDown)
		}
		if sa.RTOHeld != nil && sb.RTOHeld.Estimate < sa.RTOHeld.Estimate {
			t.Fatalf("%s: RTO attainment %v < %v", sa.ID, sb.RTOHeld.Estimate, sa.RTOHeld.Estimate)
		}
	}
	if b.Goal.Estimate < a.Goal.Estimate {
		t.Fatalf("goal attainment %v < %v", b.Goal.Estimate, a.Goal.Estimate)
	}
}

// Adding a redundant member to a group (a node never hit) never lowers
// attainment nor raises loss. Priorities are by ID here: with criticality
// priorities, the added member changes the analysis and so the order of
// restoration, which may help one service at another's expense.
func TestPropRedundantMember(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawCity(t)
		if len(c.d.Groups) == 0 {
			t.Skip("no group")
		}
		s := drawScenario(t, c)
		g1 := c.compile(t)
		gr := rapid.SampledFrom(c.d.Groups).Draw(t, "group")
		ref := int64(len(c.d.Nodes) + 1)
		c.d.Nodes = append(c.d.Nodes, bulwark.GraphNode{Ref: ref, ID: "zz-spare", Kind: bulwark.KindAsset, Owner: "o9"})
		// The spare has the group's kind: a hard member would turn an
		// all-soft group (which only degrades) into a hard one.
		kind := bulwark.Soft
		for _, e := range c.d.Edges {
			if e.From == gr.Owner && e.Group == gr.ID && e.Kind == bulwark.Hard {
				kind = bulwark.Hard
			}
		}
		c.d.Edges = append(c.d.Edges, bulwark.GraphEdge{From: gr.Owner, To: ref, Kind: kind, Group: gr.ID})
		g2 := c.compile(t)
		a, b := runBoth(t, g1, propCfg(1), s, g2, propCfg(1), s)
		noWorse(t, a, b)
	})
}

// Removing an initial event never raises loss, with enough crews that
// restorations never wait. (With scarce crews it can: see
// TestSchedulingAnomaly.)
func TestPropRemoveEvent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawCity(t)
		s := drawScenario(t, c)
		g := c.compile(t)
		i := rapid.IntRange(0, len(s.Events)-1).Draw(t, "removed")
		s2 := *s
		s2.Events = slices.Delete(slices.Clone(s.Events), i, i+1)
		a, b := runBoth(t, g, propCfg(50), s, g, propCfg(50), &s2)
		noWorse(t, a, b)
	})
}

// Adding a crew never raises expected downtime.
func TestPropAddCrew(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawCity(t)
		s := drawScenario(t, c)
		g := c.compile(t)
		n := rapid.IntRange(1, 3).Draw(t, "crews")
		a, b := runBoth(t, g, propCfg(n), s, g, propCfg(n+1), s)
		for i := range a.Services {
			if b.Services[i].MeanDown > a.Services[i].MeanDown+1e-9 {
				t.Fatalf("%s: mean downtime %v with %d crews > %v with %d", a.Services[i].ID, b.Services[i].MeanDown, n+1, a.Services[i].MeanDown, n)
			}
		}
	})
}

// The engine fails exactly what depgraph's static analysis says a single
// failure kills: hit each node alone, never restored, and count the
// services down.
func TestPropMatchesAnalysis(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawCity(t)
		g := c.compile(t)
		a := depgraph.Analyze(g)
		cfg := propCfg(1)
		cfg.Crews = []Crew{{"o0", "it", 0}, {"o1", "it", 0}}
		m, err := New(g, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for x := range int32(g.Len()) {
			_, o, err := TraceTrial(m, hits(10, g.ID(x)), 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			lost, pop, _ := a.Impact(x)
			var gotPop int64
			for id, d := range o.Down {
				if d != 10 {
					t.Fatalf("hit %s: %s down %v h of 10", g.ID(x), id, d)
				}
				y, _ := g.Lookup(id)
				gotPop += g.Population(y)
			}
			if len(o.Down) != lost || gotPop != pop {
				t.Fatalf("hit %s: %d services (%d people) down, analysis says %d (%d)", g.ID(x), len(o.Down), gotPop, lost, pop)
			}
		}
	})
}

// With one crew, removing a hit can delay another restoration:
// non-preemptive priority scheduling is not monotone. Here z (highest
// priority) and x are hit at 0 and y at 1: with z, the crew does z (0-2),
// then y (2-3, y outranks x), then x; without z it starts x at once
// (0-10) and y waits until 10.
func TestSchedulingAnomaly(t *testing.T) {
	g := spec(t, `
service sx 1
service sy 100
service sz 1000
asset x
asset y
asset z
sx -> x
sy -> y
sz -> z
`)
	cfg := fixedCfg(1)
	cfg.Analysis = depgraph.Analyze(g)
	cfg.NodeRecovery = map[string]Recovery{
		"x": {Restore: Fixed(10), Backups: true, Skill: "it"},
		"z": {Restore: Fixed(2), Backups: true, Skill: "it"},
	}
	m := mustModel(t, g, cfg)
	with := &Scenario{Horizon: 48, Events: []Event{
		{Name: "x", Nodes: []string{"x"}, Probability: 1},
		{Name: "y", Nodes: []string{"y"}, Probability: 1, Start: Fixed(1)},
		{Name: "z", Nodes: []string{"z"}, Probability: 1},
	}}
	without := &Scenario{Horizon: 48, Events: with.Events[:2]}
	a, _ := once(t, m, with)
	b, _ := once(t, m, without)
	if a.Down["sy"] != 2 || b.Down["sy"] != 10 {
		t.Fatalf("sy down %v h with z hit, %v without; want 2 and 10", a.Down["sy"], b.Down["sy"])
	}
}

// At every instant of a trial, the nodes the engine has down are exactly
// the least fixpoint of the failure rules from the hits not yet restored,
// computed here by brute force from the trace; and with crews enough and a
// long horizon, everything comes back.
func TestPropFixpoint(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawCity(t)
		g := c.compile(t)
		s := drawScenario(t, c)
		s.Horizon = 1000
		m, err := New(g, propCfg(rapid.IntRange(1, 3).Draw(t, "crews")))
		if err != nil {
			t.Fatal(err)
		}
		tr, _, err := TraceTrial(m, s, rapid.Uint64().Draw(t, "seed"), 0)
		if err != nil {
			t.Fatal(err)
		}
		hits := map[string]int{}
		down := map[string]bool{}
		check := func(at float64) {
			want := fixpoint(c.d, hits)
			for _, id := range c.ids {
				if want[id] != down[id] {
					t.Fatalf("t=%v: %s down=%v, rules say %v (hits %v)", at, id, down[id], want[id], hits)
				}
			}
		}
		for i, e := range tr.Events {
			switch e.Kind {
			case "hit":
				hits[e.Node]++
			case "restored":
				hits[e.Node]--
			case "down":
				down[e.Node] = true
			case "up":
				down[e.Node] = false
			}
			if i+1 == len(tr.Events) || tr.Events[i+1].T != e.T {
				check(e.T)
			}
		}
		for id, d := range down {
			if d {
				t.Fatalf("%s still down at the end", id)
			}
		}
	})
}

// fixpoint computes the failed set from the active hits by iterating the
// rules from nothing failed (the least fixpoint).
func fixpoint(d *bulwark.GraphData, hits map[string]int) map[string]bool {
	id := map[int64]string{}
	for _, n := range d.Nodes {
		id[n.Ref] = n.ID
	}
	type gk struct {
		owner int64
		g     string
	}
	need := map[gk]int{}
	hard := map[gk]bool{}
	size := map[gk]int{}
	for _, g := range d.Groups {
		need[gk{g.Owner, g.ID}] = g.Need
	}
	for _, e := range d.Edges {
		if e.Group != "" {
			k := gk{e.From, e.Group}
			size[k]++
			hard[k] = hard[k] || e.Kind == bulwark.Hard
		}
	}
	failed := map[string]bool{}
	for changed := true; changed; {
		changed = false
		downIn := map[gk]int{}
		bad := map[int64]bool{}
		for _, e := range d.Edges {
			if !failed[id[e.To]] {
				continue
			}
			if e.Group != "" {
				downIn[gk{e.From, e.Group}]++
			} else if e.Kind == bulwark.Hard {
				bad[e.From] = true
			}
		}
		for k, n := range downIn {
			if hard[k] && n > size[k]-need[k] {
				bad[k.owner] = true
			}
		}
		for _, n := range d.Nodes {
			if !failed[n.ID] && (hits[n.ID] > 0 || bad[n.Ref]) {
				failed[n.ID] = true
				changed = true
			}
		}
	}
	return failed
}
