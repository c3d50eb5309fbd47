package simrun

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sim"
)

// TestHostileRequests: malformed, oversized, truncated and hostile
// submissions are refused before anything is stored, each with a message
// saying what, where and why.
func TestHostileRequests(t *testing.T) {
	sc := readFile(t, "scenario.yaml")
	opts := readFile(t, "options.yaml")
	manyOptions := "options:\n"
	for i := range MaxOptions + 1 {
		manyOptions += fmt.Sprintf("  - {name: o%d, cost: 1, protect: [feeder-7]}\n", i)
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	for _, tc := range []struct {
		name string
		req  Request
		code string
		want string // in the message
	}{
		{"empty scenario", Request{Scenario: "  \n"}, bulwark.EINVALID, "scenario"},
		{"oversized scenario", Request{Scenario: sc + "# " + strings.Repeat("x", bulwark.MaxSimInput)}, bulwark.ETOOLARGE, "at most"},
		{"oversized options", Request{Kind: bulwark.SimInvest, Scenario: sc, Options: strings.Repeat("#", bulwark.MaxSimInput+1)}, bulwark.ETOOLARGE, "options"},
		{"not UTF-8", Request{Scenario: "name: \xff\xfe\n"}, bulwark.EINVALID, "UTF-8"},
		{"truncated", Request{Scenario: sc[:len(sc)/2]}, bulwark.EINVALID, "scenario.yaml"},
		{"not a mapping", Request{Scenario: "- a\n- b\n"}, bulwark.EINVALID, "scenario.yaml"},
		{"alias bomb", Request{Scenario: bomb}, bulwark.EINVALID, "scenario.yaml"},
		{"deep nesting", Request{Scenario: strings.Repeat("[", 100_000)}, bulwark.EINVALID, "scenario.yaml"},
		{"unknown field", Request{Scenario: "events: [{name: e, nodes: [x], probability: 1}]\nevil: 1\n"}, bulwark.EINVALID, "evil"},
		{"probability 2", Request{Scenario: "events: [{name: e, nodes: [x], probability: 2}]\n"}, bulwark.EINVALID, "line 1"},
		{"no events", Request{Scenario: "name: x\n"}, bulwark.EINVALID, "no events"},
		{"negative trials", Request{Scenario: sc, Trials: -1}, bulwark.EINVALID, "trials"},
		{"too many trials", Request{Scenario: sc, Trials: MaxTrials + 1}, bulwark.EINVALID, "trials"},
		{"seed beyond 2^53", Request{Scenario: sc, Seed: MaxSeed + 1}, bulwark.EINVALID, "seed"},
		{"crews", Request{Scenario: sc, Crews: MaxCrews + 1}, bulwark.EINVALID, "crews"},
		{"negative crews", Request{Scenario: sc, Crews: -3}, bulwark.EINVALID, "crews"},
		{"kind", Request{Kind: "<script>", Scenario: sc}, bulwark.EINVALID, "kind"},
		{"invest without options", Request{Kind: bulwark.SimInvest, Scenario: sc}, bulwark.EINVALID, "options"},
		{"simulate with options", Request{Kind: bulwark.SimSimulate, Scenario: sc, Options: opts}, bulwark.EINVALID, "options"},
		{"malformed options", Request{Kind: bulwark.SimInvest, Scenario: sc, Options: "options: [{name: x}]"}, bulwark.EINVALID, "options.yaml"},
		{"too many options", Request{Kind: bulwark.SimInvest, Scenario: sc, Options: manyOptions}, bulwark.EINVALID, "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := check(&tc.req)
			if bulwark.ErrorCode(err) != tc.code || !strings.Contains(bulwark.ErrorMessage(err), tc.want) {
				t.Errorf("error %q (%s), want %s mentioning %q", bulwark.ErrorMessage(err), bulwark.ErrorCode(err), tc.code, tc.want)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
	// Defaults fill what is left out.
	r := Request{Scenario: sc, Options: opts}
	if _, err := check(&r); err != nil || r.Kind != bulwark.SimInvest || r.Trials != DefaultTrials || r.Crews != 1 {
		t.Errorf("defaults: %v %+v", err, r)
	}

	// Nothing was stored by refused submissions.
	dsn := filepath.Join(t.TempDir(), "b.db")
	st := openStore(t, dsn)
	s := openService(t, st, fast(dsn))
	water := userCtx("water", bulwark.RoleAnalyst)
	for _, req := range []Request{{Scenario: ""}, {Scenario: sc, Trials: -5}, {Scenario: bomb}} {
		if _, err := s.Submit(water, req); err == nil {
			t.Errorf("accepted %+v", req)
		}
	}
	if l, _ := s.List(sysCtx(), bulwark.SimRunFilter{}); len(l) != 0 {
		t.Errorf("refused submissions stored %d runs", len(l))
	}
}

// TestRunFailsWithReason: a scenario that parses but does not fit the city
// fails its run (no retry), saying which event and node.
func TestRunFailsWithReason(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "b.db")
	st := openStore(t, dsn)
	s := openService(t, st, fast(dsn))
	water := userCtx("water", bulwark.RoleAnalyst)
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{Scenario: "events:\n  - {name: typo, nodes: [feeder-77], probability: 1}\n"}, `event 1 ("typo"): unknown node "feeder-77"`},
		{Request{Scenario: "events:\n  - {name: none, select: {kind: toaster}, probability: 1}\n"}, "picks no node"},
		{Request{Kind: bulwark.SimInvest, Scenario: readFile(t, "scenario.yaml"), Options: "options:\n  - {name: x, cost: 1, patch: [{event: other, nodes: [feeder-7]}]}\n"}, `no scenario event named "other"`},
	} {
		run, err := s.Submit(water, tc.req)
		if err != nil {
			t.Fatal(err)
		}
		r := wait(t, s, water, run.ID, bulwark.SimDone, bulwark.SimFailed)
		if r.Status != bulwark.SimFailed || !strings.Contains(r.Error, tc.want) || r.Attempts != 1 {
			t.Errorf("run %s (%d attempts): %q, want failed with %q", r.Status, r.Attempts, r.Error, tc.want)
		}
	}
}

// FuzzCheck: whatever the files say, checking a submission never panics
// and refuses only with the error vocabulary.
func FuzzCheck(f *testing.F) {
	sc := readFile(f, "scenario.yaml")
	opts := readFile(f, "options.yaml")
	f.Add(sc, "", 100, uint64(1))
	f.Add(sc, opts, 10, uint64(2))
	f.Add("events: [{name: e, nodes: [a], probability: 0.5, start: 3h}]", "", 0, uint64(0))
	f.Add("horizon: 1d\ngoal: 50% of critical services within 2h\nevents: [{nodes: [a], probability: epss, select: {cve: CVE-2024-1}}]", "options: []", -1, uint64(1)<<60)
	f.Fuzz(func(t *testing.T, scenario, options string, trials int, seed uint64) {
		req := Request{Scenario: scenario, Options: options, Trials: trials, Seed: seed}
		p, err := check(&req)
		if err != nil {
			switch bulwark.ErrorCode(err) {
			case bulwark.EINVALID, bulwark.ETOOLARGE:
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if p.scenario == nil || len(p.scenario.Events) == 0 || (req.Kind == bulwark.SimInvest) != (p.options != nil) && len(p.options) > 0 {
			t.Fatalf("accepted %+v as %+v", req, p)
		}
		if req.Trials < 1 || req.Trials > MaxTrials || req.Seed > MaxSeed {
			t.Fatalf("accepted trials %d, seed %d", req.Trials, req.Seed)
		}
	})
}

// TestTrace: the trace of a trial is sim.TraceTrial's on the same draws,
// limited to what it touches; it notices a changed city.
func TestTrace(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "b.db")
	st := openStore(t, dsn)
	s := openService(t, st, fast(dsn))
	water := userCtx("water", bulwark.RoleAnalyst)
	sc := readFile(t, "scenario.yaml")
	run, err := s.Submit(water, Request{Scenario: sc, Trials: 200, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, s, water, run.ID, bulwark.SimDone)

	m, err := LoadModel(sysCtx(), st, 1)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := sim.ParseScenario(strings.NewReader(sc), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := Resolve(sysCtx(), st, m.Graph, parsed, nil); err != nil {
		t.Fatal(err)
	}
	busy := 0
	for trial := range 40 {
		v, err := s.Trace(water, run.ID, trial)
		if err != nil {
			t.Fatal(err)
		}
		want, out, err := sim.TraceTrial(m.Sim, parsed, 11, trial)
		if err != nil {
			t.Fatal(err)
		}
		if jsonOf(t, want.Events) != jsonOf(t, v.Events) || jsonOf(t, out) != jsonOf(t, v.Outcome) || v.Truncated || v.CityChanged {
			t.Fatalf("trial %d: trace differs from sim.TraceTrial", trial)
		}
		if len(v.EventNames) != 3 || v.EventNames[1] != "it-ransomware" || v.Horizon != 168 {
			t.Errorf("event names %v, horizon %g", v.EventNames, v.Horizon)
		}
		nodes := map[string]bool{}
		for _, n := range v.Nodes {
			nodes[n.ID] = true
		}
		for _, e := range v.Events {
			if e.Node != "" && !nodes[e.Node] {
				t.Errorf("trial %d: step on %s, which is not among the nodes", trial, e.Node)
			}
		}
		for _, e := range v.Edges {
			if !nodes[e.From] || !nodes[e.To] {
				t.Errorf("edge %v leaves the view", e)
			}
		}
		if len(v.Events) > 10 && len(v.Edges) > 0 {
			busy++
		}
	}
	if busy == 0 {
		t.Error("no trial of 40 hit anything connected")
	}
	for _, tc := range []struct {
		trial int
		code  string
	}{{-1, bulwark.EINVALID}, {200, bulwark.EINVALID}, {1 << 40, bulwark.EINVALID}} {
		if _, err := s.Trace(water, run.ID, tc.trial); bulwark.ErrorCode(err) != tc.code {
			t.Errorf("trial %d: %v", tc.trial, err)
		}
	}
	if _, err := s.Trace(water, "sim-nonexistent", 0); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("missing run: %v", err)
	}
	// A queued run has nothing to trace yet.
	blockUntilCanceled(t)
	queued, err := s.Submit(water, Request{Scenario: sc, Trials: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Trace(water, queued.ID, 0); bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Errorf("tracing an unfinished run: %v", err)
	}
	s.Cancel(water, queued.ID)
	// The city changes: the trace says so.
	tx, err := st.BeginImport(sysCtx())
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PutAssets(sysCtx(), []bulwark.Asset{{ID: "late-camera", Name: "Late camera", Owner: "city", Kind: "camera"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(sysCtx()); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Trace(water, run.ID, 1); err != nil || !v.CityChanged {
		t.Errorf("after a change of the city: %v, changed %t", err, v != nil && v.CityChanged)
	}
}

// TestViewTruncates: a trial touching more nodes than a page can draw
// keeps the services and hit nodes first and says it left some out.
func TestViewTruncates(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "b.db"))
	m, err := LoadModel(sysCtx(), st, 1)
	if err != nil {
		t.Fatal(err)
	}
	var events []sim.TraceEvent
	for i := range MaxTraceEvents + 10 {
		node := []string{"plc-1", "water-scada", "water-supply", "dc-1", "cad", "dispatch-911"}[i%6]
		kind := []string{"hit", "down", "down", "hit", "down", "down"}[i%6]
		events = append(events, sim.TraceEvent{T: float64(i), Kind: kind, Node: node, Event: -1})
	}
	events = append(events, sim.TraceEvent{T: 1, Kind: "down", Node: "no-such-node", Cause: "plc-1"})
	v := &TraceView{}
	view(v, m.Graph, events)
	if !v.Truncated || len(v.Events) != MaxTraceEvents {
		t.Errorf("%d steps kept, truncated %t", len(v.Events), v.Truncated)
	}
	if len(v.Nodes) != 6 || v.Nodes[0].Kind != "service" || v.Nodes[1].Kind != "service" || v.Nodes[2].ID != "plc-1" {
		t.Errorf("nodes %+v", v.Nodes)
	}
}
