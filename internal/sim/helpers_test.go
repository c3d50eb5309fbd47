package sim

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/depgraph"
)

// spec builds a graph from a compact text, one statement per line:
//
//	service ID POP [high]
//	system ID [OWNER]
//	asset ID [OWNER]
//	group OWNER GROUP NEED
//	ID -> ID [soft] [GROUP]
func spec(tb testing.TB, text string) *depgraph.Graph {
	tb.Helper()
	d := &bulwark.GraphData{}
	refs := map[string]int64{}
	ref := func(id string) int64 {
		r, ok := refs[id]
		if !ok {
			tb.Fatalf("spec: unknown node %q", id)
		}
		return r
	}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		add := func(n bulwark.GraphNode) {
			n.Ref = int64(len(d.Nodes) + 1)
			if n.Owner == "" {
				n.Owner = "org"
			}
			refs[n.ID] = n.Ref
			d.Nodes = append(d.Nodes, n)
		}
		switch {
		case f[0] == "service":
			n := bulwark.GraphNode{ID: f[1], Kind: bulwark.KindService, Population: int64(atoi(tb, f[2]))}
			if len(f) > 3 && f[3] == "high" {
				n.Category.Availability = bulwark.LevelHigh
			}
			add(n)
		case f[0] == "system" || f[0] == "asset":
			k := bulwark.KindSystem
			if f[0] == "asset" {
				k = bulwark.KindAsset
			}
			n := bulwark.GraphNode{ID: f[1], Kind: k}
			if len(f) > 2 {
				n.Owner = f[2]
			}
			add(n)
		case f[0] == "group":
			d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: ref(f[1]), ID: f[2], Need: atoi(tb, f[3])})
		case len(f) >= 3 && f[1] == "->":
			e := bulwark.GraphEdge{From: ref(f[0]), To: ref(f[2]), Kind: bulwark.Hard}
			for _, x := range f[3:] {
				if x == "soft" {
					e.Kind = bulwark.Soft
				} else {
					e.Group = x
				}
			}
			d.Edges = append(d.Edges, e)
		default:
			tb.Fatalf("spec: bad line %q", line)
		}
	}
	g, err := depgraph.Compile(d)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// fixedCfg restores every node in h hours (backups present), one crew per
// owner and skill.
func fixedCfg(h float64) Config {
	return Config{Profiles: []Recovery{{Restore: Fixed(h), RestoreNoBackups: Fixed(h * 4), Backups: true, Skill: "it"}}}
}

func mustModel(tb testing.TB, g *depgraph.Graph, cfg Config) *Model {
	tb.Helper()
	m, err := New(g, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// hits is a scenario hitting each node at time 0 for sure.
func hits(horizon float64, ids ...string) *Scenario {
	s := &Scenario{Horizon: horizon}
	for _, id := range ids {
		s.Events = append(s.Events, Event{Name: "hit " + id, Nodes: []string{id}, Probability: 1})
	}
	return s
}

// once runs trial 0 and returns its outcome.
func once(tb testing.TB, m *Model, s *Scenario) (*TrialOutcome, *Trace) {
	tb.Helper()
	tr, o, err := TraceTrial(m, s, 1, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return o, tr
}

func mustRun(tb testing.TB, m *Model, s *Scenario, opt Options) *Result {
	tb.Helper()
	r, err := Run(context.Background(), m, s, opt)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}
