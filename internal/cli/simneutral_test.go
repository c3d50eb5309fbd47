package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const neutralScenario = `name: neutral
horizon: 3d
goal: 50% of critical services within 12h
events:
  - name: pumps
    select: {kind: pump}
    probability: 0.4
    start: {kind: uniform, min: 0h, max: 12h}
  - name: grid
    nodes: [grid-scada]
    joint: true
    probability: 0.3
    duration: {kind: lognormal, median: 6h, sigma: 0.7, max: 2d}
`

// The neutral files a run writes replay to the same output without the
// database, and the draws' outcomes are the run's.
func TestSimulateNeutralFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	sc := writeFile(t, dir, "s.yaml", neutralScenario)
	g, d, o := filepath.Join(dir, "g.tsv"), filepath.Join(dir, "d.tsv"), filepath.Join(dir, "o.tsv")
	plain := mustRun(t, "--db", db, "-q", "simulate", sc, "--trials", "200", "--seed", "4")
	written := mustRun(t, "--db", db, "-q", "simulate", sc, "--trials", "200", "--seed", "4",
		"--write-graph", g, "--write-draws", d, "--write-outcomes", o)
	if written != plain {
		t.Fatalf("writing the files changed the output:\n%s\n%s", written, plain)
	}
	for _, p := range []string{g, d, o} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(b), "\nend\n") || !strings.HasPrefix(string(b), "bulwark-sim-") {
			t.Errorf("%s is not a complete neutral file:\n%.300s", p, b)
		}
	}
	// No database: the graph file and the draws.
	if got := mustRun(t, "-q", "simulate", "--graph", g, "--draws", d); got != plain {
		t.Errorf("replay from the files differs:\n%s\nwant\n%s", got, plain)
	}
	// The graph file with the scenario's seed gives the same; a scenario
	// given with the draws must be theirs.
	if got := mustRun(t, "--db", db, "-q", "simulate", sc, "--draws", d); got != plain {
		t.Errorf("replay from the store's city differs:\n%s", got)
	}
	o2 := filepath.Join(dir, "o2.tsv")
	mustRun(t, "-q", "simulate", "--graph", g, "--draws", d, "--write-outcomes", o2)
	b1, _ := os.ReadFile(o)
	b2, _ := os.ReadFile(o2)
	if string(b1) != string(b2) {
		t.Error("outcomes of the replay differ from the run's")
	}
	// A trace from the draws is the trace from the seed.
	if a, b := mustRun(t, "--db", db, "simulate", sc, "--seed", "4", "--trace", "17"),
		mustRun(t, "simulate", "--graph", g, "--draws", d, "--trace", "17"); a != b {
		t.Errorf("traces differ:\n%s\n%s", a, b)
	}
	// Node IDs (not selectors) run on the graph file without a database.
	ids := writeFile(t, dir, "ids.yaml", "horizon: 1d\nevents:\n  - name: grid\n    nodes: [grid-scada]\n    probability: 1\n    joint: true\n    duration: 10h\n")
	if out := mustRun(t, "-q", "simulate", "--graph", g, ids, "--trials", "20"); !strings.Contains(out, "20 trials, seed 1") {
		t.Errorf("graph file run:\n%s", out)
	}
}

func TestSimulateNeutralErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	sc := writeFile(t, dir, "s.yaml", neutralScenario)
	g, d := filepath.Join(dir, "g.tsv"), filepath.Join(dir, "d.tsv")
	mustRun(t, "--db", db, "-q", "simulate", sc, "--trials", "5", "--write-graph", g, "--write-draws", d)
	gb, _ := os.ReadFile(g)
	broken := writeFile(t, dir, "broken.tsv", strings.Replace(string(gb), "\tasset\t", "\tassets\t", 1))
	lines := strings.Split(string(gb), "\n")
	truncated := writeFile(t, dir, "cut.tsv", strings.Join(lines[:len(lines)/2], "\n")+"\n")
	other := writeFile(t, dir, "other.yaml", strings.Replace(neutralScenario, "name: grid", "name: power", 1))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"crews with graph", []string{"simulate", "--graph", g, sc, "--crews", "3"}, 2, "--crews: with --graph the crews come from the graph file"},
		{"record a replay", []string{"simulate", "--graph", g, "--draws", d, "--write-draws", filepath.Join(dir, "x.tsv")}, 2, "--write-draws cannot be used with it"},
		{"seed of a replay", []string{"simulate", "--graph", g, "--draws", d, "--seed", "9"}, 2, "a replay uses the draws file's seed"},
		{"no scenario", []string{"simulate", "--graph", g}, 2, "simulate takes one scenario file (optional with --draws), got 0 arguments"},
		{"selectors without a store", []string{"simulate", "--graph", g, sc}, 2, "selectors read the city's store; with --graph, list node IDs"},
		{"bad graph file", []string{"simulate", "--graph", broken, "--draws", d}, 2, "broken.tsv:"},
		{"truncated graph file", []string{"simulate", "--graph", truncated, "--draws", d}, 2, "the file ends before its end line (truncated?)"},
		{"draws of another scenario", []string{"--db", db, "simulate", other, "--draws", d}, 2, `not the scenario of the draws: event 1 is "power"`},
		{"trace with outcomes", []string{"simulate", "--graph", g, "--draws", d, "--trace", "1", "--write-outcomes", filepath.Join(dir, "x.tsv")}, 2, "--trace prints one trial"},
		{"missing file", []string{"simulate", "--graph", filepath.Join(dir, "none.tsv"), "--draws", d}, 1, "none.tsv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q (stdout %q); want exit %d and %q", code, errOut, out, tt.code, tt.want)
			}
		})
	}
}
