package storetest

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
)

// RunIncidents runs the conformance suite of bulwark.IncidentStore
// (incidents, timelines, reviews, escalations, playbooks, directories)
// against stores made by open.
func RunIncidents(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st bulwark.Store)
	}{
		{"AC01_IncidentTenancy", testIncidentTenancy},
		{"AC06_IncidentWrites", testIncidentWrites},
		{"IncidentListFilters", testIncidentFilters},
		{"IncidentPublicAction", testIncidentPublicAction},
		{"IncidentReview", testIncidentReview},
		{"IncidentEscalationOnce", testIncidentEscalation},
		{"CC02_ConcurrentTaskEdits", testConcurrentTaskEdits},
		{"Playbooks", testPlaybooks},
		{"Directories", testDirectories},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func incAs(org string, role bulwark.Role) context.Context { return userCtx(org, role) }

// incidentFixture is the fixture city plus a private port operator that
// shares with nobody. The incident: water's SCADA is down, the water
// service with it, and power's grid is degraded. water reports it; power
// is affected; ciso coordinates.
func incidentFixture(t *testing.T, st bulwark.Store) *bulwark.Incident {
	t.Helper()
	c := fixture()
	c.Organizations = append(c.Organizations, bulwark.Organization{ID: "port", Name: "Port Co", Purview: bulwark.PurviewPrivate})
	mustImport(t, st, c)
	now := time.Now().UTC().Truncate(time.Second)
	inc := &bulwark.Incident{
		Title: "SCADA outage", Description: "Ransom note on the HMI", Threat: "ransomware", Playbook: "ransomware", PlaybookVersion: 1,
		Phase: bulwark.PhaseDetection, Activity: bulwark.ActivityEffect, DetectedAt: now.Add(-time.Hour),
		Severity: bulwark.Severity{Level: bulwark.SeverityHigh, Computed: bulwark.SeverityHigh,
			Inputs: []bulwark.SeverityInput{{ID: "population", Name: "Population", Value: "420,000", Level: bulwark.SeveritySevere, Why: "bands"}}},
		Impact: bulwark.ImpactSummary{Entered: 1, ServicesDown: 1, ServicesDegraded: 1, PopulationDown: 420000},
		Parties: []bulwark.IncidentParty{
			{Org: "power", Role: bulwark.PartyAffected, Reason: "owns 1 entity"},
			{Org: "ciso", Role: bulwark.PartyCoordinator, Reason: "water shares with it"},
		},
		Affected: []bulwark.Affected{
			{ID: "water-scada", Kind: "system", Owner: "water", Entered: true, Effect: bulwark.EffectDown, Zone: "ot"},
			{ID: "water-supply", Kind: "service", Owner: "water", Effect: bulwark.EffectDown, Population: 420000,
				RTO: bulwark.Duration(12 * time.Hour), MTD: bulwark.Duration(24 * time.Hour)},
			{ID: "grid", Kind: "service", Owner: "power", Effect: bulwark.EffectDegraded, Population: 900000},
		},
		Tasks: []bulwark.IncidentTask{
			{Ref: "detection/declare", Phase: bulwark.PhaseDetection, Title: "Declare", Org: "water", Source: "playbook"},
			{Ref: "containment/isolate", Phase: bulwark.PhaseContainment, Title: "Isolate the feeder", Org: "power", Source: "playbook"},
			{Ref: "containment/notify-public", Phase: bulwark.PhaseContainment, Title: "Tell residents", Org: "ciso", Source: "playbook"},
		},
	}
	entries := []bulwark.TimelineEntry{
		{Kind: "reported", Text: "Incident reported"},
		{Kind: "routed", Text: "Routed to power and ciso", Audience: []string{bulwark.TimelineCoordinators}},
	}
	if err := st.CreateIncident(incAs("water", bulwark.RoleAnalyst), inc, entries); err != nil {
		t.Fatal(err)
	}
	return inc
}

func affectedIDs(inc *bulwark.Incident) string {
	var s []string
	for _, a := range inc.Affected {
		s = append(s, a.ID)
	}
	return strings.Join(s, ",")
}

func partyOrgs(inc *bulwark.Incident) string {
	var s []string
	for _, p := range inc.Parties {
		s = append(s, p.Org+":"+string(p.Role))
	}
	return strings.Join(s, ",")
}

func taskOrgs(inc *bulwark.Incident) string {
	var s []string
	for _, t := range inc.Tasks {
		s = append(s, t.ID+"@"+t.Org)
	}
	return strings.Join(s, ",")
}

func testIncidentTenancy(t *testing.T, st bulwark.Store) {
	inc := incidentFixture(t, st)
	if !strings.HasPrefix(inc.ID, "inc-") || inc.Owner != "water" || inc.Rev != 1 || inc.CreatedBy == "" {
		t.Fatalf("created %+v", inc)
	}
	for _, tc := range []struct {
		org                      string
		parties, affected, tasks string
		hidden                   int
		role                     bulwark.PartyRole
		timeline                 int
	}{
		// The reporter sees every party and task, and every affected
		// entity it sees in the city model (power shares with water).
		{"water", "water:reporter,power:affected,ciso:coordinator", "grid,water-scada,water-supply", "t1@water,t2@power,t3@ciso", 0, bulwark.PartyReporter, 2},
		// The affected operator sees the reporter and itself, its own
		// entity and task, and counts the rest.
		{"power", "water:reporter,power:affected", "grid", "t2@power", 2, bulwark.PartyAffected, 1},
		// The coordinator sees every party and task; power does not share
		// with ciso, so the grid is hidden from it.
		{"ciso", "water:reporter,power:affected,ciso:coordinator", "water-scada,water-supply", "t1@water,t2@power,t3@ciso", 1, bulwark.PartyCoordinator, 2},
	} {
		for _, role := range []bulwark.Role{bulwark.RoleViewer, bulwark.RoleAdmin} {
			got, err := st.FindIncident(incAs(tc.org, role), inc.ID)
			if err != nil {
				t.Fatalf("%s: %v", tc.org, err)
			}
			if partyOrgs(got) != tc.parties || affectedIDs(got) != tc.affected || taskOrgs(got) != tc.tasks || got.HiddenAffected != tc.hidden || got.Role != tc.role {
				t.Errorf("%s/%s sees parties %s, affected %s (+%d hidden), tasks %s, role %s", tc.org, role, partyOrgs(got), affectedIDs(got), got.HiddenAffected, taskOrgs(got), got.Role)
			}
			if got.Title != "SCADA outage" || got.Severity.Level != bulwark.SeverityHigh || len(got.Severity.Inputs) != 1 || got.Impact.PopulationDown != 420000 {
				t.Errorf("%s: header %+v", tc.org, got)
			}
			tl, err := st.Timeline(incAs(tc.org, role), inc.ID)
			if err != nil || len(tl) != tc.timeline {
				t.Errorf("%s: timeline %d entries (%v), want %d", tc.org, len(tl), err, tc.timeline)
			}
			list, err := st.ListIncidents(incAs(tc.org, role), bulwark.IncidentFilter{WithAffected: true})
			if err != nil || len(list) != 1 || list[0].ID != inc.ID || affectedIDs(&list[0]) != tc.affected || list[0].Role != tc.role {
				t.Errorf("%s: list %+v (%v)", tc.org, list, err)
			}
		}
	}
	// Someone who is not a party: nothing, exactly like a missing incident.
	port := incAs("port", bulwark.RoleAdmin)
	for _, id := range []string{inc.ID, "inc-missing"} {
		_, err := st.FindIncident(port, id)
		wantCode(t, "find as port", err, bulwark.ENOTFOUND)
		if want := `incident "` + id + `" not found`; bulwark.ErrorMessage(err) != want {
			t.Errorf("port finding %s: %q, want %q", id, bulwark.ErrorMessage(err), want)
		}
		_, err = st.Timeline(port, id)
		wantCode(t, "timeline as port", err, bulwark.ENOTFOUND)
		_, err = st.FindReview(port, id)
		wantCode(t, "review as port", err, bulwark.ENOTFOUND)
		wantCode(t, "note as port", st.AppendTimeline(port, id, bulwark.TimelineEntry{Kind: "note", Text: "hello"}), bulwark.ENOTFOUND)
		wantCode(t, "task as port", st.UpdateTask(port, id, "t1", func(*bulwark.IncidentTask) ([]bulwark.TimelineEntry, error) { return nil, nil }), bulwark.ENOTFOUND)
		wantCode(t, "update as port", st.UpdateIncident(port, id, func(*bulwark.Incident) ([]bulwark.TimelineEntry, error) { return nil, nil }), bulwark.ENOTFOUND)
		wantCode(t, "tasks as port", st.AddTasks(port, id, []bulwark.IncidentTask{{Title: "x", Org: "port"}}), bulwark.ENOTFOUND)
		wantCode(t, "review put as port", st.PutReview(port, id, &bulwark.IncidentReview{Summary: "x"}), bulwark.ENOTFOUND)
	}
	if list, err := st.ListIncidents(port, bulwark.IncidentFilter{}); err != nil || len(list) != 0 {
		t.Errorf("port lists %d incidents (%v)", len(list), err)
	}
	// The System principal sees everything.
	all, err := st.FindIncident(sysCtx(), inc.ID)
	if err != nil || all.HiddenAffected != 0 || len(all.Affected) != 3 || len(all.Tasks) != 3 || all.Role != "" {
		t.Errorf("system view %+v (%v)", all, err)
	}
	// Without a principal, nothing.
	_, err = st.FindIncident(context.Background(), inc.ID)
	wantCode(t, "no principal", err, bulwark.EUNAUTHORIZED)
	_, err = st.ListIncidents(context.Background(), bulwark.IncidentFilter{})
	wantCode(t, "no principal list", err, bulwark.EUNAUTHORIZED)
}

func testIncidentWrites(t *testing.T, st bulwark.Store) {
	inc := incidentFixture(t, st)
	noop := func(*bulwark.Incident) ([]bulwark.TimelineEntry, error) { return nil, nil }
	wantCode(t, "viewer reports", st.CreateIncident(incAs("water", bulwark.RoleViewer), &bulwark.Incident{Title: "x", Phase: bulwark.PhaseDetection}, nil), bulwark.EFORBIDDEN)
	wantCode(t, "affected party changes the phase", st.UpdateIncident(incAs("power", bulwark.RoleAdmin), inc.ID, noop), bulwark.EFORBIDDEN)
	wantCode(t, "reporter's viewer changes the phase", st.UpdateIncident(incAs("water", bulwark.RoleViewer), inc.ID, noop), bulwark.EFORBIDDEN)
	wantCode(t, "task for a stranger", st.UpdateIncident(incAs("water", bulwark.RoleAnalyst), inc.ID, func(x *bulwark.Incident) ([]bulwark.TimelineEntry, error) {
		x.Tasks = append(x.Tasks, bulwark.IncidentTask{Title: "x", Org: "port"})
		return nil, nil
	}), bulwark.EINVALID)
	wantCode(t, "bad timeline entry", st.UpdateIncident(incAs("water", bulwark.RoleAnalyst), inc.ID, func(*bulwark.Incident) ([]bulwark.TimelineEntry, error) {
		return []bulwark.TimelineEntry{{Kind: "note", Text: ""}}, nil
	}), bulwark.EINVALID)

	// The coordinator moves it on and routes it to the port; what fn may
	// not change stays.
	err := st.UpdateIncident(incAs("ciso", bulwark.RoleAnalyst), inc.ID, func(x *bulwark.Incident) ([]bulwark.TimelineEntry, error) {
		if len(x.Affected) != 3 || len(x.Tasks) != 3 {
			t.Errorf("fn sees a partial incident: %d affected, %d tasks", len(x.Affected), len(x.Tasks))
		}
		x.Phase, x.Owner, x.Severity.Level = bulwark.PhaseContainment, "ciso", bulwark.SeveritySevere
		x.Parties = append(x.Parties, bulwark.IncidentParty{Org: "port", Role: bulwark.PartyAuthority, Reason: "test"})
		x.Tasks = append(x.Tasks, bulwark.IncidentTask{Title: "Harbour check", Org: "port", Phase: bulwark.PhaseContainment, Source: "playbook"})
		return []bulwark.TimelineEntry{{Kind: "phase", Text: "Containment"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := must(st.FindIncident(incAs("port", bulwark.RoleViewer), inc.ID))(t)
	if got.Owner != "water" || got.Phase != bulwark.PhaseContainment || got.Severity.Level != bulwark.SeveritySevere || got.Rev != 2 || got.Role != bulwark.PartyAuthority ||
		taskOrgs(got) != "t4@port" || affectedIDs(got) != "" || got.HiddenAffected != 3 || partyOrgs(got) != "water:reporter,port:authority" {
		t.Errorf("after the change the port sees %+v", got)
	}

	// Tasks: each organization its own; coordinators any; others' are
	// not found.
	done := func(t2 *bulwark.IncidentTask) ([]bulwark.TimelineEntry, error) {
		t2.Status, t2.Note, t2.Org, t2.Title = bulwark.TaskDone, "done", "port", "renamed"
		return []bulwark.TimelineEntry{{Kind: "task", Text: "Task done", Audience: []string{"power", "water"}}}, nil
	}
	if err := st.UpdateTask(incAs("power", bulwark.RoleAnalyst), inc.ID, "t2", done); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "power changes water's task", st.UpdateTask(incAs("power", bulwark.RoleAnalyst), inc.ID, "t1", done), bulwark.ENOTFOUND)
	wantCode(t, "power's viewer", st.UpdateTask(incAs("power", bulwark.RoleViewer), inc.ID, "t2", done), bulwark.EFORBIDDEN)
	wantCode(t, "missing task", st.UpdateTask(incAs("water", bulwark.RoleAnalyst), inc.ID, "t99", done), bulwark.ENOTFOUND)
	wantCode(t, "bad status", st.UpdateTask(incAs("water", bulwark.RoleAnalyst), inc.ID, "t1", func(t2 *bulwark.IncidentTask) ([]bulwark.TimelineEntry, error) {
		t2.Status = "finished"
		return nil, nil
	}), bulwark.EINVALID)
	if err := st.UpdateTask(incAs("ciso", bulwark.RoleAnalyst), inc.ID, "t1", done); err != nil {
		t.Errorf("coordinator changes a task: %v", err)
	}
	p := must(st.FindIncident(incAs("power", bulwark.RoleViewer), inc.ID))(t)
	if len(p.Tasks) != 1 || p.Tasks[0].Status != bulwark.TaskDone || p.Tasks[0].Rev != 2 || p.Tasks[0].Org != "power" || p.Tasks[0].Title != "Isolate the feeder" || p.Tasks[0].UpdatedBy == "" {
		t.Errorf("power's task after the change: %+v", p.Tasks)
	}

	// Follow-ups go to parties only.
	wantCode(t, "task for a stranger", st.AddTasks(incAs("water", bulwark.RoleAnalyst), inc.ID, []bulwark.IncidentTask{{Title: "x", Org: "nobody"}}), bulwark.EINVALID)
	wantCode(t, "affected adds tasks", st.AddTasks(incAs("power", bulwark.RoleAnalyst), inc.ID, []bulwark.IncidentTask{{Title: "x", Org: "power"}}), bulwark.EFORBIDDEN)
	if err := st.AddTasks(incAs("water", bulwark.RoleAnalyst), inc.ID, []bulwark.IncidentTask{{Title: "Segment the feeder", Org: "power", Phase: bulwark.PhasePostIncident, Source: "follow-up"}}); err != nil {
		t.Fatal(err)
	}
	p = must(st.FindIncident(incAs("power", bulwark.RoleViewer), inc.ID))(t)
	if taskOrgs(p) != "t2@power,t5@power" || p.Tasks[1].Status != bulwark.TaskOpen {
		t.Errorf("power's tasks %s", taskOrgs(p))
	}

	// Notes: any party's writer; the timeline shows each party what is
	// addressed to it.
	if err := st.AppendTimeline(incAs("power", bulwark.RoleAnalyst), inc.ID, bulwark.TimelineEntry{Kind: "note", Text: "Feeder isolated", Audience: []string{"power"}}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "viewer note", st.AppendTimeline(incAs("power", bulwark.RoleViewer), inc.ID, bulwark.TimelineEntry{Kind: "note", Text: "x"}), bulwark.EFORBIDDEN)
	wantCode(t, "oversized note", st.AppendTimeline(incAs("power", bulwark.RoleAnalyst), inc.ID, bulwark.TimelineEntry{Kind: "note", Text: strings.Repeat("x", bulwark.MaxTimelineText+1)}), bulwark.EINVALID)
	kinds := func(org string) string {
		tl := must(st.Timeline(incAs(org, bulwark.RoleViewer), inc.ID))(t)
		var s []string
		for i, e := range tl {
			if i > 0 && e.Seq <= tl[i-1].Seq {
				t.Errorf("timeline out of order: %+v", tl)
			}
			s = append(s, e.Kind)
		}
		return strings.Join(s, ",")
	}
	if got := kinds("power"); got != "reported,phase,task,task,task,note" {
		t.Errorf("power's timeline %s", got)
	}
	if got := kinds("ciso"); got != "reported,routed,phase,task" {
		t.Errorf("ciso's timeline %s", got)
	}
	if got := kinds("water"); got != "reported,routed,phase,task,task,task" {
		t.Errorf("water's timeline %s", got)
	}

	// Every change is audited.
	entries := must(st.ListAudit(sysCtx(), 0, 1000))(t)
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
	}
	for _, a := range []string{"incident.create", "incident.update", "incident.task", "incident.tasks", "incident.note"} {
		if !seen[a] {
			t.Errorf("no audit entry %s", a)
		}
	}
}

func testIncidentFilters(t *testing.T, st bulwark.Store) {
	inc := incidentFixture(t, st)
	water := incAs("water", bulwark.RoleAnalyst)
	second := &bulwark.Incident{Title: "Phishing wave", Phase: bulwark.PhaseRecovery, Activity: bulwark.ActivityEngage,
		DetectedAt: time.Now().Add(-30 * 24 * time.Hour), Severity: bulwark.Severity{Level: bulwark.SeverityLow, Computed: bulwark.SeverityLow}}
	if err := st.CreateIncident(water, second, nil); err != nil {
		t.Fatal(err)
	}
	closed := &bulwark.Incident{Title: "Old", Phase: bulwark.PhaseClosed, DetectedAt: time.Now().Add(-400 * 24 * time.Hour),
		Severity: bulwark.Severity{Level: bulwark.SeverityMedium, Computed: bulwark.SeverityMedium}}
	if err := st.CreateIncident(water, closed, nil); err != nil {
		t.Fatal(err)
	}
	ids := func(f bulwark.IncidentFilter) string {
		list := must(st.ListIncidents(water, f))(t)
		var s []string
		for _, x := range list {
			s = append(s, x.Title)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		f    bulwark.IncidentFilter
		want string
	}{
		{bulwark.IncidentFilter{}, "SCADA outage,Old,Phishing wave"},
		{bulwark.IncidentFilter{Active: true}, "SCADA outage,Phishing wave"},
		{bulwark.IncidentFilter{Phase: bulwark.PhaseClosed}, "Old"},
		{bulwark.IncidentFilter{MinLevel: bulwark.SeverityMedium}, "SCADA outage,Old"},
		{bulwark.IncidentFilter{Since: time.Now().Add(-365 * 24 * time.Hour)}, "SCADA outage,Phishing wave"},
		{bulwark.IncidentFilter{Owner: "power"}, ""},
	} {
		if got := ids(tc.f); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.f, got, tc.want)
		}
	}
	// Power is a party of the first only.
	if list := must(st.ListIncidents(incAs("power", bulwark.RoleViewer), bulwark.IncidentFilter{}))(t); len(list) != 1 || list[0].ID != inc.ID {
		t.Errorf("power lists %d", len(list))
	}
}

func testIncidentReview(t *testing.T, st bulwark.Store) {
	inc := incidentFixture(t, st)
	r := &bulwark.IncidentReview{Summary: "Restored in 20 h", WhatWorked: []string{"manual operation"}, WhatDidNot: []string{"offline backups were stale"},
		Decisions: []bulwark.ReviewDecision{{Decision: "Do not pay", By: "city manager", Rationale: "backups"}},
		FollowUps: []bulwark.FollowUp{{Kind: bulwark.FollowUpTask, Title: "Test restores quarterly", Org: "water"}}}
	wantCode(t, "affected writes the review", st.PutReview(incAs("power", bulwark.RoleAdmin), inc.ID, r), bulwark.EFORBIDDEN)
	wantCode(t, "invalid review", st.PutReview(incAs("water", bulwark.RoleAnalyst), inc.ID, &bulwark.IncidentReview{FollowUps: []bulwark.FollowUp{{Kind: "wish", Title: "x"}}}), bulwark.EINVALID)
	_, err := st.FindReview(incAs("water", bulwark.RoleViewer), inc.ID)
	wantCode(t, "no review yet", err, bulwark.ENOTFOUND)
	if err := st.PutReview(incAs("water", bulwark.RoleAnalyst), inc.ID, r); err != nil {
		t.Fatal(err)
	}
	if r.Rev != 1 || r.UpdatedBy == "" {
		t.Errorf("review %+v", r)
	}
	stale := *r
	stale.Rev = 0
	wantCode(t, "stale review", st.PutReview(incAs("ciso", bulwark.RoleAnalyst), inc.ID, &stale), bulwark.ECONFLICT)
	_, err = st.FindReview(incAs("power", bulwark.RoleViewer), inc.ID)
	wantCode(t, "unshared review for the affected", err, bulwark.ENOTFOUND)
	if got := must(st.FindReview(incAs("ciso", bulwark.RoleViewer), inc.ID))(t); got.Summary != r.Summary || len(got.FollowUps) != 1 {
		t.Errorf("coordinator reads %+v", got)
	}
	r.Shared = true
	if err := st.PutReview(incAs("ciso", bulwark.RoleAnalyst), inc.ID, r); err != nil {
		t.Fatal(err)
	}
	if got := must(st.FindReview(incAs("power", bulwark.RoleViewer), inc.ID))(t); got.Rev != 2 || !got.Shared {
		t.Errorf("shared review %+v", got)
	}
	tl := must(st.Timeline(incAs("power", bulwark.RoleViewer), inc.ID))(t)
	var reviews []int64
	for _, e := range tl {
		if e.Kind == "review" {
			reviews = append(reviews, e.Seq)
		}
	}
	if len(reviews) != 1 {
		t.Errorf("power sees %d review entries, want 1 (the shared revision)", len(reviews))
	}
}

func testIncidentEscalation(t *testing.T, st bulwark.Store) {
	inc := incidentFixture(t, st)
	_, err := st.RecordEscalation(incAs("water", bulwark.RoleAdmin), inc.ID, "water-supply", "rto-at-risk", time.Now())
	wantCode(t, "user records an escalation", err, bulwark.EFORBIDDEN)
	_, err = st.RecordEscalation(sysCtx(), "inc-missing", "water-supply", "rto-at-risk", time.Now())
	wantCode(t, "missing incident", err, bulwark.ENOTFOUND)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := st.RecordEscalation(sysCtx(), inc.ID, "water-supply", "rto-at-risk", time.Now())
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of 8 concurrent escalations recorded, want exactly 1", wins)
	}
	if ok := must(st.RecordEscalation(sysCtx(), inc.ID, "water-supply", "rto-missed", time.Now()))(t); !ok {
		t.Error("the next stage was not recorded")
	}
}

func testConcurrentTaskEdits(t *testing.T, st bulwark.Store) {
	inc := incidentFixture(t, st)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- st.UpdateTask(incAs("water", bulwark.RoleAnalyst), inc.ID, "t1", func(t2 *bulwark.IncidentTask) ([]bulwark.TimelineEntry, error) {
				t2.Note = strings.Repeat("n", i+1)
				return []bulwark.TimelineEntry{{Kind: "task", Text: "edit"}}, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch bulwark.ErrorCode(err) {
		case "":
			ok++
		case bulwark.ECONFLICT, bulwark.EUNAVAILABLE:
		default:
			t.Errorf("concurrent edit: %v", err)
		}
	}
	got := must(st.FindIncident(incAs("water", bulwark.RoleViewer), inc.ID))(t)
	if got.Tasks[0].Rev != ok+1 {
		t.Errorf("task at rev %d after %d successful edits", got.Tasks[0].Rev, ok)
	}
	n := 0
	for _, e := range must(st.Timeline(incAs("water", bulwark.RoleViewer), inc.ID))(t) {
		if e.Text == "edit" {
			n++
		}
	}
	if n != ok {
		t.Errorf("%d timeline entries for %d edits", n, ok)
	}
}

func testPlaybooks(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	pb := &bulwark.Playbook{ID: "ransomware", Version: 2, Title: "Ransomware (city)", Threat: "ransomware", Source: "id: ransomware\n",
		Roles:  []bulwark.PlaybookRole{{ID: "lead", Name: "Lead"}},
		Phases: []bulwark.PlaybookPhase{{Phase: bulwark.PhaseDetection, Tasks: []bulwark.PlaybookTask{{ID: "t", Title: "T", Responsible: "lead", Party: bulwark.PartyReporter}}}}}
	wantCode(t, "private admin", st.PutPlaybook(incAs("power", bulwark.RoleAdmin), pb), bulwark.EFORBIDDEN)
	wantCode(t, "city analyst", st.PutPlaybook(incAs("water", bulwark.RoleAnalyst), pb), bulwark.EFORBIDDEN)
	if err := st.PutPlaybook(incAs("water", bulwark.RoleAdmin), pb); err != nil {
		t.Fatal(err)
	}
	again := *pb
	wantCode(t, "same version", st.PutPlaybook(incAs("ciso", bulwark.RoleAdmin), &again), bulwark.ECONFLICT)
	v3 := *pb
	v3.Version, v3.Title = 3, "Ransomware v3"
	if err := st.PutPlaybook(sysCtx(), &v3); err != nil {
		t.Fatal(err)
	}
	if p := must(st.FindPlaybook(incAs("power", bulwark.RoleViewer), "ransomware", 0))(t); p.Version != 3 || p.Title != "Ransomware v3" || p.Source != pb.Source || p.UpdatedBy == "" || len(p.Phases) != 1 {
		t.Errorf("latest %+v", p)
	}
	if p := must(st.FindPlaybook(incAs("power", bulwark.RoleViewer), "ransomware", 2))(t); p.Version != 2 {
		t.Errorf("version 2: %+v", p)
	}
	_, err := st.FindPlaybook(incAs("power", bulwark.RoleViewer), "ransomware", 9)
	wantCode(t, "missing version", err, bulwark.ENOTFOUND)
	_, err = st.FindPlaybook(context.Background(), "ransomware", 0)
	wantCode(t, "no principal", err, bulwark.EUNAUTHORIZED)
	other := *pb
	other.ID, other.Version = "ddos", 1
	if err := st.PutPlaybook(sysCtx(), &other); err != nil {
		t.Fatal(err)
	}
	list := must(st.ListPlaybooks(incAs("power", bulwark.RoleViewer)))(t)
	var got []string
	for _, p := range list {
		got = append(got, p.ID+"@"+strconv.Itoa(p.Version))
	}
	if !slices.Equal(got, []string{"ddos@1", "ransomware@3"}) {
		t.Errorf("list %v", got)
	}
}

func testDirectories(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	d := &bulwark.Directory{Org: "water", Contacts: []bulwark.OnCallContact{{Name: "Ana", Email: "ana@example.org", Roles: []string{"incident-commander"},
		OnCall: []bulwark.Shift{{Days: "mon-fri", From: "08:00", To: "18:00"}}}}}
	wantCode(t, "viewer", st.PutDirectory(incAs("water", bulwark.RoleViewer), d), bulwark.EFORBIDDEN)
	wantCode(t, "someone else's", st.PutDirectory(incAs("power", bulwark.RoleAdmin), d), bulwark.EFORBIDDEN)
	if err := st.PutDirectory(incAs("water", bulwark.RoleAnalyst), d); err != nil {
		t.Fatal(err)
	}
	if d.Rev != 1 {
		t.Errorf("rev %d", d.Rev)
	}
	stale := *d
	stale.Rev = 0
	wantCode(t, "stale", st.PutDirectory(incAs("water", bulwark.RoleAnalyst), &stale), bulwark.ECONFLICT)
	d.Contacts = append(d.Contacts, bulwark.OnCallContact{Name: "Ben", Phone: "+1 555 0100"})
	if err := st.PutDirectory(incAs("water", bulwark.RoleAnalyst), d); err != nil {
		t.Fatal(err)
	}
	// ciso sees water (water shares with it); power does not.
	if got := must(st.FindDirectory(incAs("ciso", bulwark.RoleViewer), "water"))(t); got.Rev != 2 || len(got.Contacts) != 2 || got.Contacts[0].OnCall[0].Days != "mon-fri" {
		t.Errorf("ciso reads %+v", got)
	}
	_, err := st.FindDirectory(incAs("power", bulwark.RoleAdmin), "water")
	wantCode(t, "power reads water's", err, bulwark.ENOTFOUND)
	_, err = st.FindDirectory(incAs("water", bulwark.RoleAdmin), "power")
	wantCode(t, "none stored", err, bulwark.ENOTFOUND)
	wantCode(t, "unknown org", st.PutDirectory(sysCtx(), &bulwark.Directory{Org: "nobody"}), bulwark.EINVALID)
}

// testIncidentPublicAction: what citizens must do survives the store on
// every read path (find and list, for the reporter and an affected party),
// multi-byte text included, and withdrawing it clears it.
func testIncidentPublicAction(t *testing.T, st bulwark.Store) {
	inc := incidentFixture(t, st)
	find := func(org string) string {
		return must(st.FindIncident(incAs(org, bulwark.RoleViewer), inc.ID))(t).PublicAction
	}
	list := func(org string) string {
		l := must(st.ListIncidents(incAs(org, bulwark.RoleViewer), bulwark.IncidentFilter{}))(t)
		for _, x := range l {
			if x.ID == inc.ID {
				return x.PublicAction
			}
		}
		t.Fatalf("%s does not list incident %s", org, inc.ID)
		return ""
	}
	if got := find("water"); got != "" {
		t.Fatalf("new incident without an action reads back %q", got)
	}
	for _, action := range []string{"Boil tap water for one minute before drinking — Wasser abkochen ✓", strings.Repeat("é", bulwark.MaxPublicAction/2), ""} {
		err := st.UpdateIncident(incAs("ciso", bulwark.RoleAnalyst), inc.ID, func(x *bulwark.Incident) ([]bulwark.TimelineEntry, error) {
			x.PublicAction = action
			return []bulwark.TimelineEntry{{Kind: "public_action", Text: "changed"}}, nil
		})
		if err != nil {
			t.Fatalf("set %q: %v", bulwark.Abbrev(action, 20), err)
		}
		for _, org := range []string{"water", "power"} {
			if got := find(org); got != action {
				t.Errorf("%s finds public action %q, want %q", org, bulwark.Abbrev(got, 30), bulwark.Abbrev(action, 30))
			}
			if got := list(org); got != action {
				t.Errorf("%s lists public action %q, want %q", org, bulwark.Abbrev(got, 30), bulwark.Abbrev(action, 30))
			}
		}
	}
}
