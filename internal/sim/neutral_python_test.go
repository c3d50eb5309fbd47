package sim

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/depgraph"
)

// simcheck is the independent Python model (scripts/simcheck).
var simcheck = filepath.Join("..", "..", "scripts", "simcheck", "simcheck.py")

// needPython returns the python3 to run simcheck with, or skips: the
// comparison needs python3 with NetworkX, which nothing else requires.
func needPython(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the comparison with the independent model (scripts/simcheck) is skipped")
	}
	if out, err := exec.Command(py, "-c", "import networkx").CombinedOutput(); err != nil {
		t.Skipf("python3 has no NetworkX (%s): the comparison with the independent model (scripts/simcheck) is skipped; "+
			"install it (Debian: python3-networkx) to run it", bytes.TrimSpace(out))
	}
	return py
}

// checkIndependent writes m's graph and the draws and outcomes of trials
// of s, runs the Python model on the same graph and draws, and requires
// the same outcome in every trial.
func checkIndependent(t *testing.T, py string, m *Model, s *Scenario, opt Options) {
	t.Helper()
	dir := t.TempDir()
	gpath, dpath := filepath.Join(dir, "graph.tsv"), filepath.Join(dir, "draws.tsv")
	opath, ppath := filepath.Join(dir, "bulwark.tsv"), filepath.Join(dir, "python.tsv")
	res, draws, outcomes := record(t, m, s, opt)
	for p, b := range map[string][]byte{gpath: writeGraph(t, m), dpath: draws, opath: outcomes} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(py, simcheck, gpath, dpath, "-o", ppath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("simcheck: %v\n%s", err, out)
	}
	a, err := NewOutcomesReader(bytes.NewReader(outcomes), "bulwark.tsv")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := os.ReadFile(ppath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewOutcomesReader(bytes.NewReader(pb), "python.tsv")
	if err != nil {
		t.Fatal(err)
	}
	n, err := CompareOutcomes(a, b, 1e-9)
	if err != nil {
		t.Fatalf("Bulwark and the independent model disagree: %v", err)
	}
	if n != opt.Trials {
		t.Fatalf("%d trials compared, want %d", n, opt.Trials)
	}
	t.Logf("%d trials agree (%.1f node failures per trial, %.4g person-hours lost on average)", n, res.MeanFailed, res.Loss.Estimate)
}

// TestIndependentModel compares Bulwark trial by trial with the Python
// model on small and medium generated cities: outcomes must agree exactly
// (hours to 1e-9 relative: sums may be added in another order).
func TestIndependentModel(t *testing.T) {
	py := needPython(t)
	t.Run("golden", func(t *testing.T) {
		m, s := goldenModel(t)
		checkIndependent(t, py, m, s, Options{Trials: 500, Seed: 5})
	})
	t.Run("many small random cities", func(t *testing.T) {
		m, s := randomCities(t, 60, 9)
		checkIndependent(t, py, m, s, Options{Trials: 300, Seed: 6})
	})
	for _, n := range []int{2_000, 20_000} {
		t.Run("synthetic "+strconv.Itoa(n), func(t *testing.T) {
			if testing.Short() && n > 2_000 {
				t.Skip("short")
			}
			c := synthCity(n)
			g, err := depgraph.Compile(c.data)
			if err != nil {
				t.Fatal(err)
			}
			cfg := benchCfg(g.Len())
			cfg.DefaultCrews = 2 // scarce: queues and priorities matter
			cfg.Analysis = depgraph.Analyze(g)
			m := mustModel(t, g, cfg)
			s := heavyScenario(c, 0.1)
			s.Events = append(s.Events,
				Event{Name: "grid", Nodes: c.services[:2], Probability: 0.5, Joint: true, Start: Triangular(0, 5, 20), Duration: &Dist{Kind: "uniform", Min: 2, Max: 30}},
				Event{Name: "uncertain", Nodes: c.switches[:40], Probability: 0.1, ProbabilityMax: 0.6, Start: Fixed(2)})
			checkIndependent(t, py, m, s, Options{Trials: 40, Seed: 7})
		})
	}
}

// randomCities is k disjoint random small cities in one graph: 1-3
// services and 2-9 other nodes each, random hard and soft dependencies,
// cycles and self-loops, k-of-n groups with soft members, two owners; and
// a scenario whose events hit random nodes of them (crew events at fixed
// and random times, self-restoring events, joint and uncertain ones), with
// one crew per owner so that restorations queue.
func randomCities(t *testing.T, k int, seed uint64) (*Model, *Scenario) {
	r := rand.New(rand.NewPCG(seed, 1))
	d := &bulwark.GraphData{}
	var others []string
	for c := range k {
		ns, no := 1+r.IntN(3), 2+r.IntN(8)
		base := len(d.Nodes)
		for i := range ns + no {
			n := bulwark.GraphNode{Ref: int64(base + i + 1), Kind: bulwark.KindAsset, Owner: fmt.Sprintf("o%d", r.IntN(2))}
			if i < ns {
				n.ID, n.Kind, n.Population = fmt.Sprintf("c%02d-s%d", c, i), bulwark.KindService, int64(1+r.IntN(1000))
				if r.IntN(2) == 0 {
					n.Category.Availability = bulwark.LevelHigh
				}
			} else {
				n.ID = fmt.Sprintf("c%02d-n%d", c, i)
				others = append(others, n.ID)
			}
			d.Nodes = append(d.Nodes, n)
		}
		for i := range ns + no {
			members := 0
			seen := map[int]bool{}
			for range r.IntN(4) {
				j := r.IntN(ns + no)
				if seen[j] || j == i && r.IntN(3) > 0 {
					continue
				}
				seen[j] = true
				e := bulwark.GraphEdge{From: int64(base + i + 1), To: int64(base + j + 1), Kind: bulwark.Hard}
				if r.IntN(4) == 0 {
					e.Kind = bulwark.Soft
				}
				if r.IntN(2) == 0 {
					e.Group = "g"
					members++
				}
				d.Edges = append(d.Edges, e)
			}
			if members > 0 {
				d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: int64(base + i + 1), ID: "g", Need: 1 + r.IntN(members)})
			}
		}
	}
	g, err := depgraph.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Profiles: []Recovery{
			{Restore: Triangular(1, 4, 10), RestoreNoBackups: Triangular(5, 10, 20), Backups: true, Skill: "it"},
			{Restore: Dist{Kind: "lognormal", Mode: 3, Sigma: 0.6, Max: 30}, RestoreNoBackups: Fixed(12), Skill: "ot"},
		},
		NodeProfile: make([]uint16, g.Len()),
		Targets:     map[string]Targets{},
	}
	for x := range cfg.NodeProfile {
		cfg.NodeProfile[x] = uint16(r.IntN(2))
	}
	cfg.Analysis = depgraph.Analyze(g)
	m := mustModel(t, g, cfg)
	s := &Scenario{Name: "random", Horizon: 72, Goal: Goal{Share: 0.7, Within: 12}}
	pick := func(p int) []string {
		var ids []string
		for _, id := range others {
			if r.IntN(p) == 0 {
				ids = append(ids, id)
			}
		}
		return ids
	}
	starts := []Dist{Fixed(0), Fixed(3), Triangular(0, 2, 8), {Kind: "uniform", Min: 1, Max: 30}}
	for i := range 12 {
		ev := Event{Name: "e" + strconv.Itoa(i), Nodes: pick(6), Probability: []float64{0.2, 0.5, 1}[r.IntN(3)], Start: starts[r.IntN(len(starts))]}
		switch i % 4 {
		case 1:
			ev.Duration = &Dist{Kind: "triangular", Min: 1, Mode: 5, Max: 20}
		case 2:
			ev.Joint = true
		case 3:
			ev.ProbabilityMax = min(1, ev.Probability+0.4)
			ev.NoBackups = true
		}
		s.Events = append(s.Events, ev)
	}
	return m, s
}

// TestNeutralBenchFiles writes the benchmark city (BULWARK_BENCH_ASSETS
// nodes, the heavy scenario of bench_test.go) as neutral files into
// $BULWARK_NEUTRAL_DIR, with BULWARK_NEUTRAL_TRIALS trials of draws and
// outcomes (default 20), for measuring the independent model on the same
// input (docs/performance.md). Skipped unless the directory is given.
func TestNeutralBenchFiles(t *testing.T) {
	dir := os.Getenv("BULWARK_NEUTRAL_DIR")
	if dir == "" {
		t.Skip("set BULWARK_NEUTRAL_DIR (and BULWARK_BENCH_ASSETS, BULWARK_NEUTRAL_TRIALS) to write the benchmark city's neutral files")
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("BULWARK_BENCH_ASSETS")); err == nil && v > 0 {
		n = v
	}
	trials := 20
	if v, err := strconv.Atoi(os.Getenv("BULWARK_NEUTRAL_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	c := synthCity(n)
	g, err := depgraph.Compile(c.data)
	if err != nil {
		t.Fatal(err)
	}
	m := mustModel(t, g, benchCfg(g.Len()))
	s := heavyScenario(c, heavyP)
	name := func(kind string) string { return filepath.Join(dir, fmt.Sprintf("%s-%d.tsv", kind, n)) }
	files := map[string]*os.File{}
	for _, k := range []string{"graph", "draws", "outcomes"} {
		f, err := os.Create(name(k))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[k] = f
	}
	if err := WriteGraph(files["graph"], m); err != nil {
		t.Fatal(err)
	}
	opt := Options{Trials: trials, Seed: 2, Draws: NewDrawsWriter(files["draws"], m, s, 2, trials), Outcomes: NewOutcomeWriter(files["outcomes"], m)}
	r, err := Run(context.Background(), m, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Draws.Close(); err != nil {
		t.Fatal(err)
	}
	if err := opt.Outcomes.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes, %d edges, %d trials: %.0f node failures per trial; files %s", g.Len(), g.NumEdges(), trials, r.MeanFailed, name("*"))
	// The scenario as a file for bulwark simulate --graph, when its node
	// lists fit a scenario file (the same names and nodes: the same draws).
	if len(s.Events[0].Nodes) > maxFileItems || len(s.Events[1].Nodes) > maxFileItems {
		t.Logf("the scenario's node lists exceed %d IDs: no scenario file", maxFileItems)
		return
	}
	var y strings.Builder
	fmt.Fprintf(&y, "name: heavy\nhorizon: 7d\ngoal: 90%% of critical services within 24h\nevents:\n")
	fmt.Fprintf(&y, "  - name: %s\n    probability: %g\n    start: {kind: triangular, min: 0h, mode: 1h, max: 6h}\n    nodes: [%s]\n",
		s.Events[0].Name, s.Events[0].Probability, strings.Join(s.Events[0].Nodes, ", "))
	fmt.Fprintf(&y, "  - name: %s\n    probability: %g\n    start: 2h\n    no_backups: true\n    nodes: [%s]\n",
		s.Events[1].Name, s.Events[1].Probability, strings.Join(s.Events[1].Nodes, ", "))
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("scenario-%d.yaml", n)), []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// It parses to the scenario the benchmark runs.
	parsed, err := ParseScenario(strings.NewReader(y.String()), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r2 := mustRun(t, m, parsed, Options{Trials: trials, Seed: 2})
	if r2.Loss != r.Loss {
		t.Fatalf("the scenario file runs differently: %+v, %+v", r2.Loss, r.Loss)
	}
}
