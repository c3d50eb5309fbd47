package sim

import (
	"reflect"
	"strings"
	"testing"

	"bulwark"
)

const goodScenario = `name: bad week
horizon: 7d
goal: 90% of critical services within 24h
events:
  - name: grid
    nodes: [sub-1, sub-2]
    joint: true
    probability: 0.5
    start: {kind: uniform, min: 0h, max: 1d}
    duration: {kind: triangular, min: 6h, mode: 12h, max: 2d}
  - name: ransomware
    select: {zone: it, owner: city}
    probability: 0.05
    probability_max: 0.2
    start: 4h
    no_backups: true
  - name: kev
    select: {cve: CVE-2024-0001}
    probability: epss
    start: {kind: lognormal, median: 6h, sigma: 0.8, max: 3d}
`

func TestParseScenario(t *testing.T) {
	s, err := ParseScenario(strings.NewReader(goodScenario), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{Name: "bad week", Horizon: 168, Goal: Goal{Share: 0.9, Within: 24}, Events: []Event{
		{Name: "grid", Nodes: []string{"sub-1", "sub-2"}, Joint: true, Probability: 0.5,
			Start: Dist{Kind: "uniform", Max: 24}, Duration: &Dist{Kind: "triangular", Min: 6, Mode: 12, Max: 48}},
		{Name: "ransomware", Select: &Selector{Zone: "it", Owner: "city"}, Probability: 0.05, ProbabilityMax: 0.2,
			Start: Fixed(4), NoBackups: true},
		{Name: "kev", Select: &Selector{CVE: "CVE-2024-0001", EPSS: true},
			Start: Dist{Kind: "lognormal", Mode: 6, Sigma: 0.8, Max: 72}},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got  %+v\nwant %+v", s, want)
	}
	// Without a horizon, the default.
	s, err = ParseScenario(strings.NewReader("events: [{nodes: [a], probability: 1}]\n"), "s.yaml")
	if err != nil || s.Horizon != DefaultHorizon || s.Goal != (Goal{}) {
		t.Fatalf("defaults: %+v %v", s, err)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	ev := func(body string) string { return "events:\n  - " + strings.ReplaceAll(body, "\n", "\n    ") + "\n" }
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty file"},
		{"comment only", "# nothing\n", "empty file"},
		{"not a mapping", "- a\n- b\n", "line 1: a scenario is a mapping"},
		{"scalar", "hello\n", "a scenario is a mapping"},
		{"unknown field", "horizon: 1d\nbogus: 1\nevents: []\n", "line 2: field bogus not found"},
		{"unknown event field", ev("nodes: [a]\nprobability: 1\nstrat: 1h"), "line 4: field strat not found"},
		{"unknown selector field", ev("select: {zone: it, colour: red}\nprobability: 1"), "field colour not found"},
		{"truncated", "events:\n  - nodes: [a, b\n", "line"},
		{"bad indentation", "events:\n - nodes: [a]\n  probability: 1\n", "line"},
		{"tab", "events:\n\t- nodes: [a]\n", "line"},
		{"two documents", ev("nodes: [a]\nprobability: 1") + "---\nevents: []\n", "second document"},
		{"no events", "horizon: 1d\n", "no events"},
		{"empty events", "events: []\n", "no events"},
		{"horizon words", "horizon: two weeks\n" + ev("nodes: [a]\nprobability: 1"), `line 1: horizon: duration "two weeks"`},
		{"horizon zero", "horizon: 0\n" + ev("nodes: [a]\nprobability: 1"), "line 1: horizon must be positive"},
		{"horizon huge", "horizon: 5000d\n" + ev("nodes: [a]\nprobability: 1"), "at most"},
		{"horizon list", "horizon: [1d]\n" + ev("nodes: [a]\nprobability: 1"), "line 1: horizon: a duration"},
		{"goal sentence", "goal: most things fine\n" + ev("nodes: [a]\nprobability: 1"), `line 1: goal: goal "most things fine"`},
		{"goal share", "goal: 190% of critical services within 1d\n" + ev("nodes: [a]\nprobability: 1"), "0..100%"},
		{"goal beyond horizon", "horizon: 1d\ngoal: 90% of critical services within 3d\n" + ev("nodes: [a]\nprobability: 1"), "line 2: goal: within 3d is beyond the horizon 1d"},
		{"no nodes", ev("probability: 1"), "line 2: event 1: give nodes"},
		{"bad node id", ev("nodes: ['a b']\nprobability: 1"), `node "a b" is not a valid identifier`},
		{"empty selector", ev("select: {}\nprobability: 1"), "a selector needs"},
		{"bad selector cve", ev("select: {cve: 'x y'}\nprobability: 1"), "cve"},
		{"no probability", ev("nodes: [a]"), "probability is required"},
		{"probability above 1", ev("nodes: [a]\nprobability: 1.5"), "line 3: event 1: probability: a probability within 0..1"},
		{"probability negative", ev("nodes: [a]\nprobability: -0.1"), "within 0..1"},
		{"probability nan", ev("nodes: [a]\nprobability: .nan"), "probability"},
		{"probability string", ev("nodes: [a]\nprobability: likely"), "probability"},
		{"probability quoted", ev("nodes: [a]\nprobability: '0.5'"), "probability"},
		{"epss without cve", ev("select: {zone: it}\nprobability: epss"), "epss needs a cve selector"},
		{"epss with nodes", ev("nodes: [a]\nprobability: epss"), "epss needs a cve selector"},
		{"epss with max", ev("select: {cve: CVE-1}\nprobability: epss\nprobability_max: 0.5"), "not epss"},
		{"max below", ev("nodes: [a]\nprobability: 0.5\nprobability_max: 0.2"), "line 4: event 1: probability_max 0.2 is below"},
		{"start words", ev("nodes: [a]\nprobability: 1\nstart: soon"), `line 4: event 1: start: duration "soon"`},
		{"start negative", ev("nodes: [a]\nprobability: 1\nstart: -1h"), "negative"},
		{"start number", ev("nodes: [a]\nprobability: 1\nstart: 12"), "start"},
		{"dist kind", ev("nodes: [a]\nprobability: 1\nstart: {kind: gamma, min: 1h}"), "kind must be fixed, uniform"},
		{"dist missing kind", ev("nodes: [a]\nprobability: 1\nstart: {min: 1h, max: 2h}"), "kind must be"},
		{"dist missing field", ev("nodes: [a]\nprobability: 1\nstart: {kind: triangular, min: 1h, max: 2h}"), "needs min, mode, max"},
		{"dist extra field", ev("nodes: [a]\nprobability: 1\nstart: {kind: uniform, min: 1h, max: 2h, mode: 1h}"), `no field "mode"`},
		{"dist order", ev("nodes: [a]\nprobability: 1\nduration: {kind: triangular, min: 5h, mode: 1h, max: 2h}"), "min ≤ mode ≤ max"},
		{"dist uniform order", ev("nodes: [a]\nprobability: 1\nduration: {kind: uniform, min: 5h, max: 2h}"), "above max"},
		{"lognormal zero", ev("nodes: [a]\nprobability: 1\nduration: {kind: lognormal, median: 0, sigma: 1}"), "positive median"},
		{"lognormal sigma", ev("nodes: [a]\nprobability: 1\nduration: {kind: lognormal, median: 1h, sigma: 1h}"), "sigma"},
		{"lognormal sigma big", ev("nodes: [a]\nprobability: 1\nduration: {kind: lognormal, median: 1h, sigma: 1e9}"), "sigma must be a number within"},
		{"dist list", ev("nodes: [a]\nprobability: 1\nduration: [1h, 2h]"), "a duration (12h) or a distribution"},
		{"dist field twice", ev("nodes: [a]\nprobability: 1\nduration: {kind: fixed, value: 1h, value: 2h}"), "line 4"},
		{"duplicate names", "events:\n  - {name: x, nodes: [a], probability: 1}\n  - {name: x, nodes: [b], probability: 1}\n", "line 3: event 2: event name \"x\" is used twice (first at line 2)"},
		{"name multiline", ev("name: \"a\\nb\"\nnodes: [a]\nprobability: 1"), "one line"},
		{"events mapping", "events: {a: 1}\n", "line 1"},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n", ""},
		{"deep nesting", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), ""},
		{"binary", "\x00\x01\x02\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseScenario(strings.NewReader(tt.in), "s.yaml")
			if err == nil {
				t.Fatalf("no error; got %+v", s)
			}
			if !strings.HasPrefix(err.Error(), "s.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID {
				t.Errorf("code %s, want %s", c, bulwark.EINVALID)
			}
		})
	}
}

func TestParseOversized(t *testing.T) {
	big := "events:\n" + strings.Repeat("  - {nodes: [a], probability: 1}\n", MaxFileBytes/30)
	if _, err := ParseScenario(strings.NewReader(big), "s.yaml"); bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("oversized scenario: %v", err)
	}
	if _, err := ParseOptions(strings.NewReader(big), "o.yaml"); bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("oversized options: %v", err)
	}
	many := "events:\n" + strings.Repeat("  - {nodes: [a], probability: 1}\n", maxFileItems+1)
	if _, err := ParseScenario(strings.NewReader(many), "s.yaml"); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("too many events: %v", err)
	}
}

const goodOptions = `options:
  - name: patch
    cost: 1_000
    patch:
      - {event: kev, select: {cve: CVE-2024-0001}}
      - {event: grid, nodes: [sub-1]}
  - name: crew
    cost: 50000
    add_crews: [{owner: city, skill: it-sysadmin, count: 2}]
  - name: mixed
    cost: 0
    backups: [ad]
    faster: [{node: ad, factor: 0.5}]
    soft_edges: [{from: svc, to: sub-1}]
    protect: [sub-2]
`

func TestParseOptions(t *testing.T) {
	got, err := ParseOptions(strings.NewReader(goodOptions), "o.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Option{
		{Name: "patch", Cost: 1000, Patch: []Patch{{Event: "kev", Select: &Selector{CVE: "CVE-2024-0001"}}, {Event: "grid", Nodes: []string{"sub-1"}}}},
		{Name: "crew", Cost: 50000, AddCrews: []Crew{{Owner: "city", Skill: "it-sysadmin", Count: 2}}},
		{Name: "mixed", Cost: 0, Backups: []string{"ad"}, Faster: []Faster{{Node: "ad", Factor: 0.5}},
			SoftEdges: [][2]string{{"svc", "sub-1"}}, Protect: []string{"sub-2"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseOptionsErrors(t *testing.T) {
	op := func(body string) string { return "options:\n  - " + strings.ReplaceAll(body, "\n", "\n    ") + "\n" }
	tests := []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"list", "- name: x\n", "a options file is a mapping"},
		{"no options", "options: []\n", "no options"},
		{"unknown", "options: []\nextra: 1\n", "line 2: field extra not found"},
		{"unknown in option", op("name: x\ncost: 1\nprotect: [a]\nrefund: 3"), "line 5: field refund not found"},
		{"no name", op("cost: 1\nprotect: [a]"), "line 2: option 1: a name"},
		{"no cost", op("name: x\nprotect: [a]"), "cost is required"},
		{"negative cost", op("name: x\ncost: -5\nprotect: [a]"), "line 3: option 1: cost must be"},
		{"cost words", op("name: x\ncost: cheap\nprotect: [a]"), "cost must be"},
		{"cost inf", op("name: x\ncost: .inf\nprotect: [a]"), "cost must be"},
		{"nothing", op("name: x\ncost: 1"), "changes nothing"},
		{"duplicate", "options:\n  - {name: x, cost: 1, protect: [a]}\n  - {name: x, cost: 1, protect: [b]}\n", "line 3: option 2: name \"x\" is used twice"},
		{"crew count", op("name: x\ncost: 1\nadd_crews: [{owner: city, skill: s, count: 0}]"), "count within"},
		{"crew owner", op("name: x\ncost: 1\nadd_crews: [{skill: s, count: 1}]"), "owner"},
		{"factor zero", op("name: x\ncost: 1\nfaster: [{node: a, factor: 0}]"), "factor 0 must be"},
		{"factor huge", op("name: x\ncost: 1\nfaster: [{node: a, factor: 1e9}]"), "factor"},
		{"soft edge", op("name: x\ncost: 1\nsoft_edges: [{from: a}]"), "soft_edges 1"},
		{"soft edge pair", op("name: x\ncost: 1\nsoft_edges: [[a, b]]"), "line"},
		{"patch no event", op("name: x\ncost: 1\npatch: [{nodes: [a]}]"), "event"},
		{"patch nothing", op("name: x\ncost: 1\npatch: [{event: e}]"), "give nodes or select"},
		{"patch selector", op("name: x\ncost: 1\npatch: [{event: e, select: {owner: city}}]"), "a selector needs"},
		{"bad id", op("name: x\ncost: 1\nprotect: ['../etc']"), "not a valid identifier"},
		{"truncated", "options:\n  - {name: x, cost: 1, protect: [a\n", "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOptions(strings.NewReader(tt.in), "o.yaml")
			if err == nil || !strings.HasPrefix(err.Error(), "o.yaml") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming o.yaml with %q", err, tt.want)
			}
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Errorf("code %s", bulwark.ErrorCode(err))
			}
		})
	}
}

func TestParseGoal(t *testing.T) {
	for in, want := range map[string]Goal{
		"90% of critical services within 24h":               {0.9, 24},
		"100 % of the critical services restored within 3d": {1, 72},
		"0% of critical services up within 0":               {0, 0},
		"75.5% of critical services within 1d12h":           {0.755, 36},
	} {
		g, err := ParseGoal(in)
		if err != nil || g != want {
			t.Errorf("%q: %+v %v, want %+v", in, g, err, want)
		}
	}
	for _, in := range []string{"", "90%", "90% within 1d", "-5% of critical services within 1d", "90% of critical services within forever", "1e2% of critical services within 1d"} {
		if _, err := ParseGoal(in); bulwark.ErrorCode(err) != bulwark.EINVALID {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// FuzzParseScenario: any input gives a scenario that validates (every
// number in range, every distribution well formed) or an EINVALID /
// ETOOLARGE error naming the file; never a panic.
func FuzzParseScenario(f *testing.F) {
	f.Add(goodScenario)
	f.Add("events: [{nodes: [a], probability: 1, start: {kind: uniform, min: 1h, max: 2h}}]")
	f.Add("horizon: 1d\ngoal: 50% of critical services within 12h\nevents: [{select: {kev: true}, probability: 0.5}]")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseScenario(strings.NewReader(in), "f.yaml")
		if err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("code %s: %v", c, err)
			}
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if !(s.Horizon > 0 && s.Horizon <= maxHorizon) || s.Goal.Within > s.Horizon || s.Goal.Share > 1 || len(s.Events) == 0 {
			t.Fatalf("accepted bad scenario: %+v", s)
		}
		for i, ev := range s.Events {
			if !(ev.Probability >= 0 && ev.Probability <= 1) || (ev.ProbabilityMax != 0 && ev.ProbabilityMax < ev.Probability) || ev.ProbabilityMax > 1 {
				t.Fatalf("event %d: bad probability %+v", i, ev)
			}
			if err := ev.Start.Validate("start"); err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			if ev.Duration != nil {
				if err := ev.Duration.Validate("duration"); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
			}
			if len(ev.Nodes) == 0 && ev.Select == nil {
				t.Fatalf("event %d selects nothing", i)
			}
		}
	})
}

// FuzzParseOptions: the same for options files.
func FuzzParseOptions(f *testing.F) {
	f.Add(goodOptions)
	f.Add("options: [{name: a, cost: 0, protect: [x]}]")
	f.Fuzz(func(t *testing.T, in string) {
		opts, err := ParseOptions(strings.NewReader(in), "f.yaml")
		if err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("code %s: %v", c, err)
			}
			return
		}
		for _, o := range opts {
			if o.Name == "" || !(o.Cost >= 0) {
				t.Fatalf("accepted bad option %+v", o)
			}
			for _, fa := range o.Faster {
				if !(fa.Factor > 0) {
					t.Fatalf("accepted factor %g", fa.Factor)
				}
			}
			for _, c := range o.AddCrews {
				if c.Count < 1 {
					t.Fatalf("accepted crew count %d", c.Count)
				}
			}
		}
	})
}
