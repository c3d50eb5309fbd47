package cli

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/demo"
	"bulwark/internal/feed"
	"bulwark/internal/generate"
	"bulwark/internal/sqlstore"
	"bulwark/internal/vulns"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The feeder that both pumps need is out for exactly 10 hours at the start
// of every trial (an outside outage, no crew): water-supply (120,000
// people) is down 10 h in every trial, electricity never. Everything below
// follows by hand.
const feederScenario = `name: feeder outage
horizon: 2d
goal: 100% of critical services within 6h
events:
  - name: feeder
    nodes: [feeder-7]
    joint: true
    probability: 1
    duration: 10h
`

func TestSimulateByHand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	sc := writeFile(t, dir, "feeder.yaml", feederScenario)

	var out struct {
		Result struct {
			Trials   int
			Services []struct {
				ID       string
				Critical bool
				MeanDown float64                     `json:"mean_down_h"`
				P50      float64                     `json:"p50_h"`
				P99      float64                     `json:"p99_h"`
				PDown    float64                     `json:"p_down"`
				RTOHeld  *struct{ Estimate float64 } `json:"rto_held"`
				MTDHeld  *struct{ Estimate float64 } `json:"mtd_held"`
			}
			Goal *struct{ Estimate, Low, High float64 }
			Loss struct{ Estimate, Low, High float64 } `json:"loss_person_h"`
			Top  []struct {
				ID    string
				Share float64
			}
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "simulate", sc, "--trials", "50", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	r := out.Result
	if r.Trials != 50 || len(r.Services) != 2 {
		t.Fatalf("result: %+v", r)
	}
	for _, s := range r.Services {
		if !s.Critical {
			t.Errorf("%s is FIPS 199 high: critical", s.ID)
		}
		switch s.ID {
		case "water-supply":
			if s.PDown != 1 || s.MeanDown != 10 || s.P50 != 10 || s.P99 != 10 {
				t.Errorf("water-supply: %+v, want down 10 h in every trial", s)
			}
			// RTO 12h and MTD 1d both hold in every trial.
			if s.RTOHeld == nil || s.RTOHeld.Estimate != 1 || s.MTDHeld == nil || s.MTDHeld.Estimate != 1 {
				t.Errorf("water-supply targets: %+v %+v", s.RTOHeld, s.MTDHeld)
			}
		case "electricity":
			if s.PDown != 0 || s.MeanDown != 0 || s.RTOHeld != nil {
				t.Errorf("electricity: %+v (feeder-7 is a soft member of grid-scada: it never fails)", s)
			}
		}
	}
	// At 6 h one of the two critical services is down: the goal never holds.
	if r.Goal == nil || r.Goal.Estimate != 0 || r.Goal.High <= 0 {
		t.Errorf("goal: %+v, want 0 with a Wilson interval above 0", r.Goal)
	}
	if r.Loss.Estimate != 1_200_000 || r.Loss.Low != r.Loss.High {
		t.Errorf("loss: %+v, want exactly 120,000 × 10 person-hours", r.Loss)
	}
	if len(r.Top) != 1 || r.Top[0].ID != "feeder-7" || r.Top[0].Share != 1 {
		t.Errorf("top: %+v", r.Top)
	}

	// The table says the same; --goal replaces the file's goal.
	text := mustRun(t, "--db", db, "-q", "simulate", sc, "--trials", "50", "--goal", "50% of critical services within 6h")
	for _, want := range []string{
		"feeder outage: 50 trials, seed 1, horizon 48h",
		"water-supply  yes       1.000    10",
		"Goal (50% of critical services up at 6h): holds with probability 1.000 [0.929, 1.000]",
		"Expected lost service: 1200000 person-hours per trial [1200000, 1200000]",
		"feeder-7  1200000             100.0%",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}

	// The trace of one trial.
	tr := mustRun(t, "--db", db, "simulate", sc, "--trace", "3")
	var steps []string
	for _, l := range strings.Split(tr, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && isNumber(f[0]) && (f[1] == "hit" || f[1] == "up" || f[1] == "down") {
			steps = append(steps, strings.Join(f, " "))
		}
	}
	wantSteps := []string{"0.00 hit feeder-7 event feeder", "0.00 down feeder-7 -", "0.00 down pump-a feeder-7", "0.00 down pump-b feeder-7",
		"0.00 down water-supply feeder-7", "10.00 up feeder-7 -", "10.00 up pump-b feeder-7", "10.00 up water-supply feeder-7", "10.00 up pump-a feeder-7"}
	if strings.Join(steps, "\n") != strings.Join(wantSteps, "\n") || !strings.HasPrefix(tr, "trial 3:") ||
		!strings.Contains(tr, "water-supply down 10h (longest outage 10h)") {
		t.Errorf("trace:\n%s", tr)
	}
}

// A random scenario gives the same output for a seed whatever the workers,
// and another output for another seed.
func TestSimulateDeterministic(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	sc := writeFile(t, dir, "s.yaml", `horizon: 3d
goal: 50% of critical services within 12h
events:
  - name: pumps
    select: {kind: pump}
    probability: 0.4
    probability_max: 0.8
    start: {kind: uniform, min: 0h, max: 12h}
  - name: scada
    select: {zone: ot, owner: water}
    probability: 0.3
    start: {kind: triangular, min: 0h, mode: 2h, max: 1d}
    no_backups: true
  - name: grid
    nodes: [grid-scada]
    joint: true
    probability: 0.2
    duration: {kind: lognormal, median: 6h, sigma: 0.7, max: 2d}
`)
	one := mustRun(t, "--db", db, "simulate", sc, "--trials", "300", "--seed", "7", "--workers", "1")
	two := mustRun(t, "--db", db, "simulate", sc, "--trials", "300", "--seed", "7", "--workers", "3")
	if one != two {
		t.Errorf("workers change the result:\n%s\n%s", one, two)
	}
	if other := mustRun(t, "--db", db, "simulate", sc, "--trials", "300", "--seed", "8"); other == one {
		t.Error("seeds 7 and 8 give the same result")
	}
	// The output for the seed is pinned: a change in the engine's draws or
	// the table shows here (go test -run Deterministic -update).
	golden := filepath.Join("testdata", "simulate.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(one), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if one != string(want) {
		t.Errorf("output differs from %s:\n%s", golden, one)
	}
}

func TestSimulateErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	tests := []struct {
		name, file string
		args       []string
		want       string
	}{
		{"syntax", "events:\n  - {nodes: [a\n", nil, "bad.yaml: line 1: did not find expected"},
		{"unknown field", "events:\n  - nodes: [feeder-7]\n    probability: 1\n    colour: red\n", nil, "bad.yaml: line 4: field colour not found"},
		{"probability", "events:\n  - nodes: [feeder-7]\n    probability: 2\n", nil, "bad.yaml: line 3: event 1: probability"},
		{"unknown node", "events:\n  - name: x\n    nodes: [feeder-7, nope]\n    probability: 1\n", nil,
			`bad.yaml: event 1 ("x"): unknown node "nope"`},
		{"empty selector result", "events:\n  - name: pumps\n    select: {kind: turbine}\n    probability: 1\n", nil,
			`bad.yaml: event 1 ("pumps"): the selector {kind: turbine} picks no node`},
		{"bad goal flag", feederScenario, []string{"--goal", "mostly fine"}, "--goal"},
		{"bad trials", feederScenario, []string{"--trials", "0"}, "--trials 0"},
		{"negative trace", feederScenario, []string{"--trace", "-5"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "bad.yaml", tt.file)
			args := append([]string{"--db", db, "simulate", p}, tt.args...)
			code, _, errOut := run(t, "", args...)
			if tt.want == "" { // --trace -5 is "no trace": a normal run
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				return
			}
			if code != exitInvalid || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 with %q", code, errOut, tt.want)
			}
		})
	}
	if code, _, errOut := run(t, "", "--db", db, "simulate", filepath.Join(dir, "missing.yaml")); code != exitError || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("missing file: exit %d %s", code, errOut)
	}
}

func TestInvestCompare(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	sc := writeFile(t, dir, "feeder.yaml", feederScenario)
	// Protecting the feeder avoids the whole loss (1,200,000 person-hours
	// per trial, exactly: common random numbers); a crew for a pool nobody
	// waits on avoids nothing; a redundant path around the feeder for
	// pump-a keeps one pump, so water-supply stays up.
	opts := writeFile(t, dir, "options.yaml", `options:
  - name: idle crew
    cost: 10
    add_crews: [{owner: city, skill: it-sysadmin, count: 1}]
  - name: protect the feeder
    cost: 400000
    protect: [feeder-7]
  - name: pump-a on a second feeder
    cost: 100000
    soft_edges: [{from: pump-a, to: feeder-7}]
`)
	var c struct {
		Options []struct {
			Name    string
			Avoided struct{ Estimate, Low, High float64 } `json:"avoided_person_h"`
			PerCost struct{ Estimate float64 }            `json:"avoided_per_cost"`
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "invest", "compare", sc, opts, "--trials", "40", "--json")), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Options) != 3 {
		t.Fatalf("options: %+v", c.Options)
	}
	want := []struct {
		name    string
		avoided float64
	}{{"pump-a on a second feeder", 1_200_000}, {"protect the feeder", 1_200_000}, {"idle crew", 0}}
	for i, w := range want {
		o := c.Options[i]
		if o.Name != w.name || o.Avoided.Estimate != w.avoided || o.Avoided.Low != o.Avoided.High {
			t.Errorf("rank %d: %+v, want %s avoiding exactly %g", i+1, o, w.name, w.avoided)
		}
	}
	if math.Abs(c.Options[0].PerCost.Estimate-12) > 1e-9 {
		t.Errorf("per cost: %g, want 1,200,000 / 100,000", c.Options[0].PerCost.Estimate)
	}
	text := mustRun(t, "--db", db, "invest", "compare", sc, opts, "--trials", "40")
	for _, want := range []string{"Baseline: 1200000 person-hours lost per trial", "1     pump-a on a second feeder", "12 [12, 12]"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}

	bad := []struct{ file, want string }{
		{"options: []\n", "bad.yaml: line 1: no options"},
		{"options:\n  - {name: x, cost: -1, protect: [feeder-7]}\n", "bad.yaml: line 2: option 1: cost"},
		{"options:\n  - {name: x, cost: 1, protect: [nope]}\n", `unknown node "nope"`},
		{"options:\n  - {name: x, cost: 1, patch: [{event: other, nodes: [feeder-7]}]}\n", `no scenario event named "other"`},
	}
	for _, b := range bad {
		p := writeFile(t, dir, "bad.yaml", b.file)
		code, _, errOut := run(t, "", "--db", db, "invest", "compare", sc, p, "--trials", "5")
		if code != exitInvalid || !strings.Contains(errOut, b.want) {
			t.Errorf("%q: exit %d %q, want exit 2 with %q", b.file, code, errOut, b.want)
		}
	}
}

// The example files parse, and run on the demo city with its feed
// snapshot's findings (the KEV fleet is picked by CVE).
func TestExamplesOnDemoCity(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo city")
	}
	start := time.Now()
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, db, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := citymodel.Import(ctx, st, []citymodel.Source{demo.CitySource()}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	vs := vulns.New(st, log)
	if _, err := vs.ImportFS(ctx, generate.DemoFeeds(), feed.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := vs.Match(ctx, vulns.MatchOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	t.Logf("demo city and findings loaded in %s", time.Since(start))

	scenarios, _ := filepath.Glob("../../examples/simulation/scenario-*.yaml")
	options, _ := filepath.Glob("../../examples/simulation/options-*.yaml")
	if len(scenarios) == 0 || len(options) == 0 {
		t.Fatal("no example scenario or options file")
	}
	for _, sc := range scenarios {
		out := mustRun(t, "--db", db, "simulate", sc, "--trials", "100", "--seed", "1")
		if !strings.Contains(out, "Expected lost service") || !strings.Contains(out, "Goal (") {
			t.Errorf("%s:\n%s", sc, out)
		}
	}
	// Each options file goes with the scenario of the same suffix.
	for _, op := range options {
		sc := strings.Replace(op, "options-", "scenario-", 1)
		out := mustRun(t, "--db", db, "invest", "compare", sc, op, "--trials", "100", "--seed", "1")
		if strings.Count(out, "\n") < 4 || !strings.Contains(out, "RANK") {
			t.Errorf("%s:\n%s", op, out)
		}
	}
	t.Logf("total %s", time.Since(start))
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
