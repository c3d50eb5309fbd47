package sim

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/depgraph"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCity has a bit of everything the format carries: two owners, a
// 2-of-3 group with a soft member, an all-soft group, a cycle, a
// self-loop, services with targets, an edge softened by an investment and
// a node recovery override.
const goldenCity = `
service power 50000
service water 120000 high
system pumps
system scada city-it
asset feeder
asset plc%1 city-it
asset pump-a
asset pump-b
asset pump-c
asset ups
group pumps pool 2
group water either 1
group scada power 1
water -> scada
water -> pumps either
water -> feeder either
power -> feeder
pumps -> pump-a pool
pumps -> pump-b pool
pumps -> pump-c soft pool
pump-a -> feeder
scada -> plc%1
scada -> ups soft power
scada -> feeder soft power
plc%1 -> scada
ups -> ups
`

func goldenModel(tb testing.TB) (*Model, *Scenario) {
	tb.Helper()
	g := spec(tb, strings.ReplaceAll(goldenCity, "%", "_"))
	cfg := Config{
		Profiles: []Recovery{
			{Restore: Triangular(2, 4, 8), RestoreNoBackups: Triangular(12, 24, 72), Backups: true, Skill: "it sysadmin"},
			{Restore: Dist{Kind: "uniform", Min: 1, Max: 3}, RestoreNoBackups: Dist{Kind: "lognormal", Mode: 10, Sigma: 0.5, Max: 40}, Skill: "ot\tfield"},
		},
		NodeProfile:  make([]uint16, g.Len()),
		NodeRecovery: map[string]Recovery{"feeder": {Restore: Fixed(6), RestoreNoBackups: Fixed(6), Backups: true, Skill: "grid"}},
		Targets:      map[string]Targets{"water": {RTO: 12, MTD: 24}, "power": {MTD: 6.5}},
		Crews:        []Crew{{Owner: "org", Skill: "ot\tfield", Count: 2}},
		SoftEdges:    [][2]string{{"pump-a", "feeder"}},
	}
	for _, id := range []string{"pump-a", "pump-b", "pump-c", "pumps"} {
		x, _ := g.Lookup(id)
		cfg.NodeProfile[x] = 1
	}
	cfg.Analysis = depgraph.Analyze(g)
	m := mustModel(tb, g, cfg)
	s := &Scenario{Name: "golden week", Horizon: 96, Goal: Goal{Share: 0.5, Within: 24}, Events: []Event{
		{Name: "50% flood", Nodes: []string{"pump-a", "pump-b", "pump-c"}, Probability: 0.5, ProbabilityMax: 0.9, Start: Triangular(0, 2, 10)},
		{Name: "grid", Nodes: []string{"feeder"}, Probability: 0.4, Joint: true, Start: Dist{Kind: "uniform", Min: 0, Max: 12},
			Duration: &Dist{Kind: "lognormal", Mode: 5, Sigma: 0.7}},
		{Name: "ransomware", Nodes: []string{"plc_1", "scada", "ups"}, Probability: 0.7, NoBackups: true, Start: Fixed(3)},
		{Name: "never", Nodes: []string{"ups"}, Probability: 1, Start: Fixed(200)},
	}}
	return m, s
}

// golden compares got with testdata/neutral/name, or rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "neutral", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended):\n%s", name, got)
	}
}

// record runs s on m and returns the result and its draws and outcomes files.
func record(tb testing.TB, m *Model, s *Scenario, opt Options) (*Result, []byte, []byte) {
	tb.Helper()
	var draws, outcomes bytes.Buffer
	opt.Draws = NewDrawsWriter(&draws, m, s, opt.Seed, opt.Trials)
	opt.Outcomes = NewOutcomeWriter(&outcomes, m)
	r, err := Run(context.Background(), m, s, opt)
	if err != nil {
		tb.Fatal(err)
	}
	if err := opt.Draws.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := opt.Outcomes.Close(); err != nil {
		tb.Fatal(err)
	}
	return r, draws.Bytes(), outcomes.Bytes()
}

// replay runs a draws file on m and returns the result and outcomes file.
func replay(tb testing.TB, m *Model, draws []byte, opt Options) (*Result, []byte) {
	tb.Helper()
	d, err := NewDrawsReader(bytes.NewReader(draws), "draws.tsv", m)
	if err != nil {
		tb.Fatal(err)
	}
	var outcomes bytes.Buffer
	opt.Outcomes = NewOutcomeWriter(&outcomes, m)
	r, err := RunDraws(context.Background(), m, d, opt)
	if err != nil {
		tb.Fatal(err)
	}
	if err := opt.Outcomes.Close(); err != nil {
		tb.Fatal(err)
	}
	return r, outcomes.Bytes()
}

func writeGraph(tb testing.TB, m *Model) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := WriteGraph(&b, m); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// The three files of the golden model are pinned, and they read back: the
// graph into a model that writes the same file and runs the same trials,
// the draws into the same outcomes.
func TestNeutralGolden(t *testing.T) {
	m, s := goldenModel(t)
	gfile := writeGraph(t, m)
	golden(t, "graph.tsv", gfile)
	res, draws, outcomes := record(t, m, s, Options{Trials: 12, Seed: 3, Workers: 2})
	golden(t, "draws.tsv", draws)
	golden(t, "outcomes.tsv", outcomes)

	m2, err := ReadModel(bytes.NewReader(gfile), "graph.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if again := writeGraph(t, m2); !bytes.Equal(again, gfile) {
		t.Fatalf("graph file does not round-trip:\n%s\nwant\n%s", again, gfile)
	}
	// The model read back has the softened edge and override built in.
	res2, draws2, outcomes2 := record(t, m2, s, Options{Trials: 12, Seed: 3, Workers: 1})
	if !reflect.DeepEqual(res, res2) || !bytes.Equal(draws, draws2) || !bytes.Equal(outcomes, outcomes2) {
		t.Fatalf("the model read back runs differently:\n%+v\n%+v", res, res2)
	}
	res3, outcomes3 := replay(t, m2, draws, Options{Workers: 3})
	if !reflect.DeepEqual(res, res3) || !bytes.Equal(outcomes, outcomes3) {
		t.Fatalf("replayed draws differ:\n%s\nwant\n%s", outcomes3, outcomes)
	}
	for _, want := range []string{"event\t0\t50%25 flood\tcrew", "event\t1\tgrid\tself", "node\tplc_1\tasset\tcity-it\t", "edge\tpump-a\tfeeder\tsoft\t"} {
		if !bytes.Contains(append(gfile, draws...), []byte(want)) {
			t.Errorf("files lack %q", want)
		}
	}
}

// Replaying recorded draws reproduces a run bit for bit on a city-sized
// graph, with any number of workers and rounds, and so does a trace.
func TestDrawsReplay(t *testing.T) {
	c := synthCity(5000)
	g, err := depgraph.Compile(c.data)
	if err != nil {
		t.Fatal(err)
	}
	cfg := benchCfg(g.Len())
	cfg.DefaultCrews = 2 // scarce: priorities and queues matter
	cfg.Analysis = depgraph.Analyze(g)
	m := mustModel(t, g, cfg)
	s := heavyScenario(c, 0.1)
	s.Events = append(s.Events,
		Event{Name: "grid", Nodes: c.services[:2], Probability: 0.5, Joint: true, Start: Triangular(0, 5, 20), Duration: &Dist{Kind: "uniform", Min: 2, Max: 30}},
		Event{Name: "uncertain", Nodes: c.switches[:40], Probability: 0.1, ProbabilityMax: 0.6, Start: Fixed(2)})
	res, draws, outcomes := record(t, m, s, Options{Trials: 300, Seed: 11, Workers: 2, Round: 100})
	if res.MeanFailed == 0 {
		t.Fatal("scenario did nothing")
	}
	for _, workers := range []int{1, 3} {
		got, out := replay(t, m, draws, Options{Workers: workers, Round: 77})
		if !reflect.DeepEqual(got, res) || !bytes.Equal(out, outcomes) {
			t.Fatalf("%d workers: replay differs from the run", workers)
		}
	}
	// A prefix of the trials.
	got, _ := replay(t, m, draws, Options{Trials: 50})
	want := mustRun(t, m, s, Options{Trials: 50, Seed: 11})
	if !reflect.DeepEqual(got, want) {
		t.Fatal("50 replayed trials differ from 50 run")
	}
	// Trial 123 traced from the draws is trial 123 traced from the seed.
	d, err := NewDrawsReader(bytes.NewReader(draws), "draws.tsv", m)
	if err != nil {
		t.Fatal(err)
	}
	tr1, o1, err := TraceDraws(m, d, 123)
	if err != nil {
		t.Fatal(err)
	}
	tr2, o2, err := TraceTrial(m, s, 11, 123)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr1, tr2) || !reflect.DeepEqual(o1, o2) {
		t.Fatal("trace from draws differs")
	}
	if _, _, err := TraceDraws(m, d, 5); err == nil {
		t.Error("trace of a trial already read accepted")
	}
}

// The draws say what the engine drew: changing a restore time in the file
// changes the outcome, as replaying it by hand predicts.
func TestDrawsDriveTheEngine(t *testing.T) {
	g := spec(t, "service s 10\nsystem x\nasset a\ns -> x\nx -> a")
	m := mustModel(t, g, fixedCfg(2))
	draws := `bulwark-sim-draws	1
name	by hand
nodes	3
horizon	48
goal	0	0
seed	0
trials	2
event	0	e1	crew
event	1	e2	self
trial	0
start	0	1
hit	a	7.5
trial	1
start	0	0
hit	a	1
hit	x	2
start	1	0.5	3
hit	s
end
`
	d, err := NewDrawsReader(strings.NewReader(draws), "hand.tsv", m)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ow := NewOutcomeWriter(&out, m)
	r, err := RunDraws(context.Background(), m, d, Options{Outcomes: ow})
	if err != nil {
		t.Fatal(err)
	}
	if err := ow.Close(); err != nil {
		t.Fatal(err)
	}
	// Trial 0: a down 1-8.5, s with it: 7.5 h. Trial 1: one crew restores
	// x first (higher id? no priorities: lower id first: a, then x): a
	// 0-1, x 1-3; s also hit 0.5-3.5 by itself: s down 0-3.5.
	want := "bulwark-sim-outcomes\t1\ntrial\t0\t75\t1\t3\ndown\ts\t7.5\t7.5\ntrial\t1\t35\t1\t3\ndown\ts\t3.5\t3.5\nend\n"
	if out.String() != want {
		t.Errorf("outcomes:\n%s\nwant\n%s", out.String(), want)
	}
	if r.Trials != 2 || r.Loss.Estimate != 55 {
		t.Errorf("result %+v", r)
	}
}

func TestReadGraphErrors(t *testing.T) {
	m, _ := goldenModel(t)
	good := string(writeGraph(t, m))
	lines := strings.SplitAfter(good, "\n")
	// lineOf is the 1-based line of the first line starting with prefix.
	lineOf := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line %q", prefix)
		return 0
	}
	replace := func(prefix, with string) string {
		i := lineOf(prefix) - 1
		out := slices.Clone(lines)
		out[i] = with
		return strings.Join(out, "")
	}
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "g.tsv: empty file"},
		{"other file", "bulwark-sim-draws\t1\n", `g.tsv:1: expected the header "bulwark-sim-graph"`},
		{"version", "bulwark-sim-graph\t2\n", `g.tsv:1: unsupported bulwark-sim-graph version "2"`},
		{"truncated line", good[:len(good)-10], "the file ends in the middle of a line (truncated?)"},
		{"no end", strings.TrimSuffix(good, "end\n"), "the file ends before its end line (truncated?)"},
		{"after end", good + "node\tzz\n", `unexpected "node" record after the end line`},
		{"long line", "bulwark-sim-graph\t1\n# " + strings.Repeat("x", maxLine) + "\n", "g.tsv:2: line longer than 65536 bytes"},
		{"unknown record", replace("crews", "crew\tx\n"), `unknown record "crew"`},
		{"order", good[:len(good)-4] + "recovery\t9\tit\t1\tfixed:1\tfixed:1\nend\n", "recovery record after the edge records"},
		{"field count", replace("node\tfeeder", "node\tfeeder\tasset\n"), "node record needs 10 fields"},
		{"bad escape", replace("crews", "crews\t50%\tit\t1\n"), `has a % not followed by 25, 09, 0A or 0D`},
		{"recovery index", replace("recovery\t1", "recovery\t7\tx\t1\tfixed:1\tfixed:1\n"), "expected 1"},
		{"bad dist", replace("recovery\t1", "recovery\t1\tx\t1\ttriangular:3:2:1\tfixed:1\n"), "needs min ≤ mode ≤ max"},
		{"dist syntax", replace("recovery\t1", "recovery\t1\tx\t1\tgamma:1\tfixed:1\n"), `restore "gamma:1" is not fixed:H`},
		{"nan", replace("recovery\t1", "recovery\t1\tx\t1\tfixed:NaN\tfixed:1\n"), `restore parameter "NaN" is not a finite number`},
		{"unsorted nodes", replace("node\tfeeder", "node\tzz\tasset\torg\t0\t0\t0\t0\t0\t0\n"), `nodes must be in strictly increasing ID order`},
		{"bad id", replace("node\tfeeder", "node\t-x\tasset\torg\t0\t0\t0\t0\t0\t0\n"), `invalid node ID "-x"`},
		{"kind", replace("node\tfeeder", "node\tfeeder\tpump\torg\t0\t0\t0\t0\t0\t0\n"), `unknown kind "pump"`},
		{"asset population", replace("node\tfeeder", "node\tfeeder\tasset\torg\t0\t0\t10\t0\t0\t0\n"), `population, critical, rto and mtd are for services`},
		{"negative rto", replace("node\tpower", "node\tpower\tservice\torg\t0\t0\t10\t0\t-1\t0\n"), `rto "-1" is not a finite number ≥ 0`},
		{"profile out of range", replace("node\tfeeder", "node\tfeeder\tasset\torg\t9\t0\t0\t0\t0\t0\n"), `recovery index "9" is not an integer within 0..2`},
		{"priority", replace("node\tfeeder", "node\tfeeder\tasset\torg\t0\t-3\t0\t0\t0\t0\n"), `priority "-3"`},
		{"no crews", replace("crews\torg\tgrid", "# gone\n"), `node "feeder": no crews record for owner "org" and skill "grid"`},
		{"duplicate crews", replace("crews\torg\tgrid", "crews\torg\tit sysadmin\t1\n"), `second crews record`},
		{"unknown group owner", replace("group\tpumps", "group\tpumpz\tpool\t2\n"), `group owner "pumpz" is not a node`},
		{"group need", replace("group\tpumps", "group\tpumps\tpool\t4\n"), `group "pool" of "pumps" needs 4 of its 3 members`},
		{"group need zero", replace("group\tpumps", "group\tpumps\tpool\t0\n"), `need "0" is not an integer within 1..`},
		{"undeclared group", replace("edge\tpumps\tpump-a", "edge\tpumps\tpump-a\thard\tpond\n"), `names group "pond", which no group record of "pumps" declares`},
		{"edge kind", replace("edge\tpumps\tpump-a", "edge\tpumps\tpump-a\tfirm\tpool\n"), `edge kind "firm"`},
		{"edge to unknown", replace("edge\tpumps\tpump-a", "edge\tpumps\tpump-z\thard\tpool\n"), `edge to "pump-z" is not a node`},
		{"duplicate edge", replace("edge\tpumps\tpump-b", "edge\tpumps\tpump-a\thard\tpool\n"), `second edge from "pumps" to "pump-a"`},
		{"edge order", replace("edge\twater\tscada", "edge\tfeeder\tups\thard\t\n"), `edges are grouped by their from node`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadGraph(strings.NewReader(tt.text), "g.tsv")
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.text)
			}
			if bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q (%s), want %q", err, bulwark.ErrorCode(err), tt.want)
			}
			if !strings.HasPrefix(bulwark.ErrorMessage(err), "g.tsv") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	// Errors are located: the bad line's number is in the message.
	_, _, err := ReadGraph(strings.NewReader(replace("node\tfeeder", "node\tfeeder\n")), "g.tsv")
	if want := "g.tsv:" + strconv.Itoa(lineOf("node\tfeeder")) + ":"; err == nil || !strings.HasPrefix(bulwark.ErrorMessage(err), want) {
		t.Errorf("error %v, want it at %s", err, want)
	}
}

func TestReadDrawsErrors(t *testing.T) {
	m, s := goldenModel(t)
	_, drawsB, _ := record(t, m, s, Options{Trials: 4, Seed: 3})
	good := string(drawsB)
	sub := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("no %q in\n%s", old, good)
		}
		return strings.Replace(good, old, new, 1)
	}
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "d.tsv: empty file"},
		{"graph file", string(writeGraph(t, m)), `d.tsv:1: expected the header "bulwark-sim-draws"`},
		{"truncated", good[:len(good)-6], "truncated"},
		{"no end", strings.TrimSuffix(good, "end\n"), "the file ends before its end line"},
		{"header order", sub("horizon\t96\n", ""), "expected the horizon line"},
		{"other graph", sub("nodes\t10", "nodes\t11"), "the draws are for a graph of 11 nodes; this one has 10"},
		{"horizon", sub("horizon\t96", "horizon\t0"), "horizon 0 h must be positive"},
		{"goal", sub("goal\t0.5\t24", "goal\t1.5\t24"), "goal share must be within 0..1"},
		{"seed", sub("seed\t3", "seed\t-3"), `seed "-3" is not an unsigned`},
		{"event kind", sub("grid\tself", "grid\tsometimes"), `must be crew (restored by crews) or self`},
		{"event index", sub("event\t1\t", "event\t2\t"), "expected 1"},
		{"too many trials", sub("trials\t4", "trials\t3"), "more trials than the 3 the header announces"},
		{"too few trials", sub("trials\t4", "trials\t5"), "the file has 4 trials; its header says 5"},
		{"trial order", sub("trial\t1\n", "trial\t2\n"), "expected 1"},
		{"unknown record", sub("trial\t1\n", "trial\t1\nboom\n"), `unknown record "boom" in a trial`},
	}
	// Hand-made trials for the per-trial rules.
	head := good[:strings.Index(good, "trial\t0\n")]
	trial := func(body string) string { return head + "trial\t0\n" + body + "trial\t1\ntrial\t2\ntrial\t3\nend\n" }
	tests = append(tests, []struct{ name, text, want string }{
		{"valid by hand", trial("start\t0\t1\nhit\tpump-a\t2\nhit\tpump-b\t3\nstart\t1\t2\t5\nhit\tfeeder\n"), ""},
		{"hit before start", trial("hit\tpump-a\t2\n"), "hit record before the trial's first start record"},
		{"event order", trial("start\t1\t2\t5\nstart\t0\t1\n"), "event 0 after event 1"},
		{"event twice", trial("start\t0\t1\nstart\t0\t1\n"), "event 0 after event 0"},
		{"event range", trial("start\t4\t1\n"), `event index "4" is not an integer within 0..3`},
		{"past horizon", trial("start\t0\t97\n"), "start 97 h is past the horizon"},
		{"crew event duration", trial("start\t0\t1\t5\n"), "start record needs 3 fields"},
		{"self event no duration", trial("start\t1\t1\n"), "start record needs 4 fields"},
		{"unknown node", trial("start\t0\t1\nhit\tpump-q\t2\n"), `hit of unknown node "pump-q"`},
		{"hit order", trial("start\t0\t1\nhit\tpump-b\t2\nhit\tpump-a\t2\n"), `hit of "pump-a" after "pump-b"`},
		{"hit twice", trial("start\t0\t1\nhit\tpump-b\t2\nhit\tpump-b\t2\n"), `hit of "pump-b" after "pump-b"`},
		{"restore missing", trial("start\t0\t1\nhit\tpump-b\n"), "hit record needs 3 fields"},
		{"restore on self event", trial("start\t1\t1\t3\nhit\tfeeder\t2\n"), "hit record needs 2 fields"},
		{"negative restore", trial("start\t0\t1\nhit\tpump-b\t-2\n"), `restore time "-2" is not a finite number ≥ 0`},
		{"infinite restore", trial("start\t0\t1\nhit\tpump-b\t+Inf\n"), `restore time "+Inf" is not a finite number`},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readAllDraws(m, tt.text)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.text)
			}
			if bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(bulwark.ErrorMessage(err), "d.tsv") {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
		})
	}
	// Located: the line of the bad hit.
	text := trial("start\t0\t1\nhit\tpump-q\t2\n")
	want := "d.tsv:" + strconv.Itoa(strings.Count(text[:strings.Index(text, "pump-q")], "\n")+1) + ":"
	if err := readAllDraws(m, text); err == nil || !strings.HasPrefix(bulwark.ErrorMessage(err), want) {
		t.Errorf("error %v, want it at %s", err, want)
	}
}

// readAllDraws reads a draws file to its end.
func readAllDraws(m *Model, text string) error {
	d, err := NewDrawsReader(strings.NewReader(text), "d.tsv", m)
	if err != nil {
		return err
	}
	var td TrialDraws
	for {
		if err := d.Next(&td); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func TestReadOutcomesErrors(t *testing.T) {
	head := "bulwark-sim-outcomes\t1\n"
	tests := []struct{ name, text, want string }{
		{"valid", head + "trial\t0\t5\t1\t2\ndown\ta\t1\t0.5\ndown\tb\t2\t2\ntrial\t1\t0\t0\t0\nend\n", ""},
		{"no end", head + "trial\t0\t5\t1\t2\n", "the file ends before its end line"},
		{"trial order", head + "trial\t1\t5\t1\t2\nend\n", "expected 0"},
		{"service order", head + "trial\t0\t5\t1\t2\ndown\tb\t1\t1\ndown\ta\t1\t1\nend\n", `service "a" after "b"`},
		{"longest above sum", head + "trial\t0\t5\t1\t2\ndown\ta\t1\t2\nend\n", "the longest no more than the sum"},
		{"zero down", head + "trial\t0\t5\t1\t2\ndown\ta\t0\t0\nend\n", "must be positive"},
		{"goal", head + "trial\t0\t5\tyes\t2\nend\n", `goal "yes" must be 0 or 1`},
		{"failed", head + "trial\t0\t5\t1\t-2\nend\n", `failed "-2" is not an integer`},
		{"fields", head + "trial\t0\t5\t1\nend\n", "trial record needs 5 fields"},
		{"record", head + "trial\t0\t5\t1\t2\nup\ta\t1\t1\nend\n", `expected a trial or the end line, got "up"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := NewOutcomesReader(strings.NewReader(tt.text), "o.tsv")
			if err == nil {
				var rec OutcomeRecord
				for err = o.Next(&rec); err == nil; err = o.Next(&rec) {
				}
				if errors.Is(err, io.EOF) {
					err = nil
				}
			}
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(bulwark.ErrorMessage(err), "o.tsv:") {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCompareOutcomes(t *testing.T) {
	head := "bulwark-sim-outcomes\t1\n"
	base := head + "trial\t0\t100\t1\t3\ndown\ta\t1\t0.5\ndown\tb\t2\t2\ntrial\t1\t0\t0\t0\nend\n"
	tests := []struct{ name, other, want string }{
		{"same", base, ""},
		{"within tolerance", strings.Replace(base, "\t100\t", "\t100.0000000001\t", 1), ""},
		{"loss", strings.Replace(base, "\t100\t", "\t101\t", 1), "trial 0: failures 3, goal true, loss 100 (a.tsv:2) against 3, true, 101 (b.tsv:2)"},
		{"failures", strings.Replace(base, "\t1\t3\n", "\t1\t4\n", 1), "failures 3"},
		{"goal", strings.Replace(base, "trial\t1\t0\t0", "trial\t1\t0\t1", 1), "trial 1: failures 0, goal false"},
		{"service set", strings.Replace(base, "down\tb\t2\t2\n", "", 1), "trial 0: services down [a b] (a.tsv:2) against [a] (b.tsv:2)"},
		{"hours", strings.Replace(base, "down\tb\t2\t2", "down\tb\t2.5\t2", 1), "trial 0: b down 2 h, longest 2 h (a.tsv:4) against 2.5 h, 2 h (b.tsv:4)"},
		{"fewer trials", head + "trial\t0\t100\t1\t3\ndown\ta\t1\t0.5\ndown\tb\t2\t2\nend\n", "b.tsv has 1 trials, a.tsv more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewOutcomesReader(strings.NewReader(base), "a.tsv")
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewOutcomesReader(strings.NewReader(tt.other), "b.tsv")
			if err != nil {
				t.Fatal(err)
			}
			n, err := CompareOutcomes(a, b, 1e-9)
			if tt.want == "" {
				if err != nil || n != 2 {
					t.Fatalf("%d trials, %v", n, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// A scenario file's events must match the draws' header to be run with them.
func TestCheckScenario(t *testing.T) {
	m, s := goldenModel(t)
	_, drawsB, _ := record(t, m, s, Options{Trials: 2, Seed: 1})
	d, err := NewDrawsReader(bytes.NewReader(drawsB), "d.tsv", m)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CheckScenario(s); err != nil {
		t.Fatal(err)
	}
	if got := d.Scenario(); got.Name != s.Name || got.Horizon != s.Horizon || got.Goal != s.Goal || len(got.Events) != len(s.Events) || got.Events[1].Duration == nil {
		t.Errorf("scenario from the header: %+v", got)
	}
	other := *s
	other.Events = slices.Clone(s.Events)
	other.Events[2].Name = "wiper"
	if err := d.CheckScenario(&other); err == nil || !strings.Contains(err.Error(), `event 2 is "wiper"`) {
		t.Errorf("renamed event: %v", err)
	}
	other.Events = s.Events[:3]
	if err := d.CheckScenario(&other); err == nil || !strings.Contains(err.Error(), "3 events, the draws' 4") {
		t.Errorf("fewer events: %v", err)
	}
	// Draws for another model are refused.
	m2, _ := goldenModel(t)
	if _, err := RunDraws(context.Background(), m2, d, Options{}); err == nil {
		t.Error("draws of another model accepted")
	}
	if _, err := RunDraws(context.Background(), m, d, Options{Trials: 3}); err == nil || !strings.Contains(err.Error(), "3 trials asked, the file has 2") {
		t.Errorf("too many trials: %v", err)
	}
}

// Recording refuses early stopping (the header announces the trials).
func TestRecordRefusesEarlyStop(t *testing.T) {
	m, s := goldenModel(t)
	var b bytes.Buffer
	_, err := Run(context.Background(), m, s, Options{Trials: 10, Epsilon: 0.1, Draws: NewDrawsWriter(&b, m, s, 1, 10)})
	if err == nil || !strings.Contains(err.Error(), "early stopping") {
		t.Fatalf("error %v", err)
	}
}

func TestEscapeField(t *testing.T) {
	for _, s := range []string{"", "plain", "50%", "a\tb", "line\nbreak\r", "%25", "%%\t\t"} {
		got, ok := unescapeField([]byte(escapeField(s)))
		if !ok || got != s {
			t.Errorf("%q: escaped %q, back %q %v", s, escapeField(s), got, ok)
		}
		if strings.ContainsAny(escapeField(s), "\t\n\r") {
			t.Errorf("%q escaped to %q", s, escapeField(s))
		}
	}
	for _, bad := range []string{"%", "%2", "%41", "a%zz"} {
		if _, ok := unescapeField([]byte(bad)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
