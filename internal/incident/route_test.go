package incident

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"bulwark"
)

// routeOrgs mirrors the demo city's shape: agencies and private operators
// share with the CISO, who shares with the state emergency agency; the
// port operator also shares with the ISAC and the Coast Guard.
func routeOrgs() map[string]Org {
	list := []Org{
		{ID: "city-ciso", Purview: bulwark.PurviewCity, SharesWith: []string{"state-emergency"}},
		{ID: "city-water", Purview: bulwark.PurviewCity, SharesWith: []string{"city-ciso"}},
		{ID: "power", Purview: bulwark.PurviewPrivate, SharesWith: []string{"city-ciso", "city-water"}},
		{ID: "hospital", Purview: bulwark.PurviewPrivate},
		{ID: "port", Purview: bulwark.PurviewPrivate, SharesWith: []string{"city-ciso", "coastal-isac", "coast-guard", "university"}},
		{ID: "state-emergency", Purview: bulwark.PurviewState},
		{ID: "coast-guard", Purview: bulwark.PurviewFederal},
		{ID: "cisa", Purview: bulwark.PurviewFederal},
		{ID: "coastal-isac", Purview: bulwark.PurviewISAC},
		{ID: "university", Purview: bulwark.PurviewAcademic},
	}
	m := map[string]Org{}
	for _, o := range list {
		m[o.ID] = o
	}
	return m
}

func partyString(ps []bulwark.IncidentParty) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Org+":"+string(p.Role))
	}
	return strings.Join(s, " ")
}

func TestRoute(t *testing.T) {
	orgs := routeOrgs()
	pol := DefaultPolicy()
	for _, tc := range []struct {
		name     string
		reporter string
		affected map[string]int
		level    bulwark.SeverityLevel
		want     string
	}{
		{"baseline stays with the reporter and owners", "hospital", map[string]int{"hospital": 1}, bulwark.SeverityBaseline,
			"hospital:reporter"},
		{"low: the city coordinator of an agency", "city-water", map[string]int{"city-water": 2}, bulwark.SeverityLow,
			"city-water:reporter city-ciso:coordinator"},
		{"a private operator that shares with nobody is alone", "hospital", map[string]int{"hospital": 3}, bulwark.SeveritySevere,
			"hospital:reporter cisa:authority coast-guard:authority"},
		{"power outage hits water: both owners, the CISO coordinates", "power", map[string]int{"power": 1, "city-water": 2}, bulwark.SeverityMedium,
			"power:reporter city-water:affected city-ciso:coordinator"},
		{"high: the state agency via the CISO", "power", map[string]int{"power": 1, "city-water": 2}, bulwark.SeverityHigh,
			"power:reporter city-water:affected city-ciso:coordinator state-emergency:authority"},
		{"port at medium: CISO and ISAC, not yet the Coast Guard, never the university", "port", map[string]int{"port": 1}, bulwark.SeverityMedium,
			"port:reporter city-ciso:coordinator coastal-isac:coordinator"},
		{"port at high: the Coast Guard it shares with, the state via the CISO", "port", map[string]int{"port": 1}, bulwark.SeverityHigh,
			"port:reporter city-ciso:coordinator coastal-isac:coordinator coast-guard:authority state-emergency:authority"},
		{"severe: every federal body", "city-water", map[string]int{"city-water": 1}, bulwark.SeveritySevere,
			"city-water:reporter city-ciso:coordinator cisa:authority coast-guard:authority state-emergency:authority"},
		{"the reporter also affected is listed once, as reporter", "city-ciso", map[string]int{"city-ciso": 1, "hospital": 1}, bulwark.SeverityLow,
			"city-ciso:reporter hospital:affected"},
		{"unknown owners are ignored", "hospital", map[string]int{"ghost": 1}, bulwark.SeverityLow, "hospital:reporter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Route(RouteInput{Reporter: tc.reporter, Affected: tc.affected, Level: tc.level}, orgs, pol)
			if s := partyString(got); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
			for _, p := range got {
				if p.Reason == "" {
					t.Errorf("%s without a reason", p.Org)
				}
			}
		})
	}
}

// TestRouteMonotone: raising the severity never drops a party.
func TestRouteMonotone(t *testing.T) {
	orgs := routeOrgs()
	for _, rep := range []string{"city-water", "power", "port", "hospital"} {
		var prev []string
		for l := bulwark.SeverityBaseline; l <= bulwark.SeverityEmergency; l++ {
			var cur []string
			for _, p := range Route(RouteInput{Reporter: rep, Affected: map[string]int{rep: 1}, Level: l}, orgs, DefaultPolicy()) {
				cur = append(cur, p.Org)
			}
			for _, o := range prev {
				if !slices.Contains(cur, o) {
					t.Errorf("%s at %s drops %s", rep, l, o)
				}
			}
			prev = cur
		}
	}
}

func TestClocks(t *testing.T) {
	t0 := time.Date(2030, 3, 1, 8, 0, 0, 0, time.UTC) // a fixed instant; only differences matter
	inc := &bulwark.Incident{Phase: bulwark.PhaseContainment, DetectedAt: t0, Affected: []bulwark.Affected{
		{ID: "water", Kind: "service", Owner: "w", Effect: bulwark.EffectDown, RTO: bulwark.Duration(12 * time.Hour), MTD: bulwark.Duration(24 * time.Hour)},
		{ID: "parking", Kind: "service", Owner: "p", Effect: bulwark.EffectDown},
		{ID: "portal", Kind: "service", Owner: "p", Effect: bulwark.EffectDegraded, RTO: bulwark.Duration(time.Hour)},
		{ID: "scada", Kind: "system", Owner: "w", Effect: bulwark.EffectDown},
	}}
	for _, tc := range []struct {
		after   time.Duration
		stage   Stage
		reached string
		next    Stage
	}{
		{0, StageOK, "", StageRTOWarning},
		{8*time.Hour + 59*time.Minute, StageOK, "", StageRTOWarning},
		{9 * time.Hour, StageRTOWarning, "rto-at-risk", StageRTOMissed},
		{12 * time.Hour, StageRTOMissed, "rto-at-risk rto-missed", StageMTDWarning},
		{18 * time.Hour, StageMTDWarning, "rto-at-risk rto-missed mtd-at-risk", StageMTDExceeded},
		{30 * time.Hour, StageMTDExceeded, "rto-at-risk rto-missed mtd-at-risk mtd-exceeded", ""},
	} {
		cs := Clocks(inc, t0.Add(tc.after), 0.75)
		if len(cs) != 2 {
			t.Fatalf("%d clocks, want the two services down", len(cs))
		}
		c := cs[0]
		if tc.stage == StageOK {
			// Both are ok: order by next deadline puts water first only
			// because parking has none.
			for _, x := range cs {
				if x.Service == "water" {
					c = x
				}
			}
		}
		var reached []string
		for _, s := range c.Reached {
			reached = append(reached, string(s))
		}
		if c.Service != "water" || c.Stage != tc.stage || strings.Join(reached, " ") != tc.reached || c.Next != tc.next || time.Duration(c.Elapsed) != tc.after {
			t.Errorf("after %v: %+v", tc.after, c)
		}
		if tc.stage.AtRisk() != (tc.after >= 9*time.Hour) {
			t.Errorf("after %v: AtRisk = %v", tc.after, tc.stage.AtRisk())
		}
	}
	// The clock stops when the incident leaves recovery.
	inc.Phase, inc.RecoveredAt = bulwark.PhasePostIncident, t0.Add(10*time.Hour)
	cs := Clocks(inc, t0.Add(100*time.Hour), 0.75)
	for _, c := range cs {
		if c.Service == "water" && (c.Running || time.Duration(c.Elapsed) != 10*time.Hour || c.Stage != StageRTOWarning || c.Next != "") {
			t.Errorf("stopped clock: %+v", c)
		}
	}
	// Since on the entry wins over detection.
	inc = &bulwark.Incident{Phase: bulwark.PhaseDetection, DetectedAt: t0, Affected: []bulwark.Affected{
		{ID: "x", Kind: "service", Effect: bulwark.EffectDown, Since: t0.Add(-2 * time.Hour), RTO: bulwark.Duration(4 * time.Hour)}}}
	if c := Clocks(inc, t0.Add(time.Hour), 0.75)[0]; c.Stage != StageRTOWarning || !c.RTODue.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("since: %+v", c)
	}
}

func TestInstantiate(t *testing.T) {
	pbs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var pb *bulwark.Playbook
	for _, p := range pbs {
		if p.ID == "ransomware" {
			pb = p
		}
	}
	t0 := time.Now()
	parties := []bulwark.IncidentParty{{Org: "rep", Role: bulwark.PartyReporter}, {Org: "a1", Role: bulwark.PartyAffected}, {Org: "a2", Role: bulwark.PartyAffected}, {Org: "c1", Role: bulwark.PartyCoordinator}}
	tasks := Instantiate(pb, parties, false, t0)
	count := map[string]int{}
	for _, tk := range tasks {
		count[tk.Org]++
		if tk.Status != bulwark.TaskOpen || tk.Source != "playbook" || tk.Ref == "" || tk.Responsible == "" {
			t.Errorf("task %+v", tk)
		}
		if tk.Ref == "detection/declare" && !tk.Due.Equal(t0.Add(30*time.Minute)) {
			t.Errorf("declare due %v", tk.Due)
		}
		if tk.Ref == "containment/ransom-decision" && (tk.Decision == nil || len(tk.Decision.Options) != 2 || tk.Org != "rep") {
			t.Errorf("decision task %+v", tk)
		}
	}
	// 15 tasks: 4 to the reporter, 10 to each affected organization, 1 to
	// each coordinator.
	if count["rep"] != 4 || count["a1"] != 10 || count["a2"] != 10 || count["c1"] != 1 || len(tasks) != 25 {
		t.Errorf("tasks per organization %v (total %d)", count, len(tasks))
	}
	// Alone, the reporter takes every task.
	if n := len(Instantiate(pb, parties[:1], false, t0)); n != 15 {
		t.Errorf("reporter alone: %d tasks, want 15", n)
	}
	// A reporter that owns affected entities takes the affected tasks too.
	count = map[string]int{}
	for _, tk := range Instantiate(pb, parties, true, t0) {
		count[tk.Org]++
	}
	if count["rep"] != 14 || count["a1"] != 10 {
		t.Errorf("reporter affected: %v", count)
	}
	if n := len(ForNewParties(pb, []bulwark.IncidentParty{{Org: "c2", Role: bulwark.PartyCoordinator}, {Org: "x", Role: bulwark.PartyAuthority}}, t0)); n != 1 {
		t.Errorf("new coordinator: %d tasks, want 1", n)
	}
}

func TestPlaybookRACI(t *testing.T) {
	pbs, _ := Builtin()
	for _, pb := range pbs {
		m := PlaybookRACI(pb)
		tasks := 0
		for _, ph := range pb.Phases {
			tasks += len(ph.Tasks)
		}
		if len(m.Rows) != tasks || len(m.Columns) != len(pb.Roles) {
			t.Fatalf("%s: %d rows %d columns", pb.ID, len(m.Rows), len(m.Columns))
		}
		for _, r := range m.Rows {
			nR, nA := 0, 0
			for _, c := range r.Cells {
				nR += strings.Count(c, "R")
				nA += strings.Count(c, "A")
			}
			if nR != 1 || nA > 1 {
				t.Errorf("%s %q: %d R, %d A (%v)", pb.ID, r.Activity, nR, nA, r.Cells)
			}
		}
	}
	// A hand-checked row: the ransom decision.
	var pb *bulwark.Playbook
	for _, p := range pbs {
		if p.ID == "ransomware" {
			pb = p
		}
	}
	m := PlaybookRACI(pb)
	for _, r := range m.Rows {
		if r.Activity == "Decide on the ransom demand" {
			got := fmt.Sprint(r.Cells)
			// roles: incident-commander ciso it-operations ot-engineering legal communications executive
			if want := "[ C   C I R/A]"; got != want {
				t.Errorf("ransom decision row %s, want %s", got, want)
			}
		}
	}
}

func TestServiceRACI(t *testing.T) {
	an := compile(t, testCity())
	g := an.Graph()
	orgs := map[string]Org{
		"o-hospital": {ID: "o-hospital", Purview: bulwark.PurviewPrivate, SharesWith: []string{"ciso"}},
		"water-org":  {ID: "water-org", Purview: bulwark.PurviewCity},
		"power":      {ID: "power", Purview: bulwark.PurviewPrivate},
		"city-it":    {ID: "city-it", Purview: bulwark.PurviewCity},
		"ciso":       {ID: "ciso", Purview: bulwark.PurviewCity},
	}
	x, _ := g.Lookup("hospital")
	m, hidden := ServiceRACI(g, x, orgs, DefaultPolicy(), func(string) bool { return true })
	if got := strings.Join(m.Columns, " "); got != "o-hospital city-it power water-org ciso" || hidden != 0 {
		t.Fatalf("columns %q hidden %d", got, hidden)
	}
	if m.Rows[0].Activity != "Declare and coordinate an incident" || fmt.Sprint(m.Rows[0].Cells) != "[A/R I I I C]" {
		t.Errorf("first row %+v", m.Rows[0])
	}
	m, hidden = ServiceRACI(g, x, orgs, DefaultPolicy(), func(o string) bool { return o != "power" })
	if slices.Contains(m.Columns, "power") || hidden != 1 || len(m.Rows[0].Cells) != 4 {
		t.Errorf("hiding power: columns %v hidden %d", m.Columns, hidden)
	}
}
