package incident_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/sqlstore"
)

// recorder is a Notifier that keeps what it gets.
type recorder struct {
	mu     sync.Mutex
	events []bulwark.NotificationEvent
}

func (r *recorder) Notify(ctx context.Context, e bulwark.NotificationEvent) error {
	if p, ok := bulwark.PrincipalFrom(ctx); !ok || !p.System {
		panic("events are reported as the server")
	}
	if err := e.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) kinds() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, e := range r.events {
		s = append(s, string(e.Kind))
	}
	return strings.Join(s, ",")
}

func (r *recorder) last() bulwark.NotificationEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[len(r.events)-1]
}

// countingStore counts whole-graph loads.
type countingStore struct {
	bulwark.Store
	mu    sync.Mutex
	loads int
}

// CityVersion passes the store's version through, so that the baselines
// service can cache by it.
func (c *countingStore) CityVersion(ctx context.Context) (int64, error) {
	return c.Store.(interface {
		CityVersion(context.Context) (int64, error)
	}).CityVersion(ctx)
}

func (c *countingStore) LoadGraph(ctx context.Context) (*bulwark.GraphData, error) {
	c.mu.Lock()
	c.loads++
	c.mu.Unlock()
	return c.Store.LoadGraph(ctx)
}

type world struct {
	st    *sqlstore.DB
	cs    *countingStore
	bs    *baseline.Service
	svc   *incident.Service
	rec   *recorder
	clock *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func dur(d time.Duration) time.Duration { return d }

// testCity: the city's water depends on its SCADA (which needs one of two
// PLCs and the power company's feeder); the private hospital's care
// depends on water (soft) and its EHR (hard), which the feeder only
// degrades; the private port runs its terminal system.
func testCity() *bulwark.City {
	high := bulwark.Category{Confidentiality: bulwark.LevelLow, Integrity: bulwark.LevelHigh, Availability: bulwark.LevelHigh}
	return &bulwark.City{
		Organizations: []bulwark.Organization{
			{ID: "city-ciso", Name: "CISO", Purview: bulwark.PurviewCity, SharesWith: []string{"state-em"}},
			{ID: "city-water", Name: "Water", Purview: bulwark.PurviewCity, SharesWith: []string{"city-ciso"}},
			{ID: "power", Name: "Power", Purview: bulwark.PurviewPrivate, SharesWith: []string{"city-ciso", "city-water"}},
			{ID: "hospital", Name: "Hospital", Purview: bulwark.PurviewPrivate},
			{ID: "port", Name: "Port", Purview: bulwark.PurviewPrivate},
			{ID: "state-em", Name: "State EM", Purview: bulwark.PurviewState},
			{ID: "cisa", Name: "CISA", Purview: bulwark.PurviewFederal},
		},
		Services: []bulwark.Service{
			{ID: "water-supply", Name: "Drinking water", Owner: "city-water", Sector: bulwark.SectorWater, Population: 420_000, Category: high,
				Targets: bulwark.Targets{RTO: 12 * time.Hour, MaxTolerableDowntime: 24 * time.Hour}, DependsOn: []bulwark.Dependency{{On: "scada", Kind: bulwark.Hard}}},
			{ID: "hospital-care", Name: "Hospital care", Owner: "hospital", Sector: bulwark.SectorHealthcare, Population: 50_000, Category: high,
				Targets:   bulwark.Targets{RTO: 4 * time.Hour, MaxTolerableDowntime: 8 * time.Hour},
				DependsOn: []bulwark.Dependency{{On: "water-supply", Kind: bulwark.Soft}, {On: "ehr", Kind: bulwark.Hard}}},
			{ID: "port-ops", Name: "Port operations", Owner: "port", Sector: bulwark.SectorTransportation, Population: 20_000,
				Category: bulwark.Category{Confidentiality: bulwark.LevelModerate, Integrity: bulwark.LevelModerate, Availability: bulwark.LevelModerate},
				Targets:  bulwark.Targets{RTO: 24 * time.Hour}, DependsOn: []bulwark.Dependency{{On: "tos", Kind: bulwark.Hard}}},
		},
		Systems: []bulwark.System{
			{ID: "scada", Name: "Water SCADA", Owner: "city-water", Zone: "ot", Groups: []bulwark.Group{{ID: "plcs", Need: 1}},
				DependsOn: []bulwark.Dependency{{On: "feeder", Kind: bulwark.Hard}}},
			{ID: "ehr", Name: "EHR", Owner: "hospital", Zone: "it", DependsOn: []bulwark.Dependency{{On: "feeder", Kind: bulwark.Soft}}},
			{ID: "tos", Name: "Terminal operating system", Owner: "port", Zone: "it"},
		},
		Assets: []bulwark.Asset{
			{ID: "plc-1", Name: "PLC 1", Owner: "city-water", Kind: "plc", Count: 1, System: "scada", SystemDependency: bulwark.Hard, SystemGroup: "plcs"},
			{ID: "plc-2", Name: "PLC 2", Owner: "city-water", Kind: "plc", Count: 1, System: "scada", SystemDependency: bulwark.Hard, SystemGroup: "plcs"},
			{ID: "feeder", Name: "Feeder 7", Owner: "power", Kind: "feeder", Count: 1},
			{ID: "tos-srv", Name: "TOS server", Owner: "port", Kind: "server", Count: 1, System: "tos", SystemDependency: bulwark.Hard},
		},
	}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	st, err := sqlstore.Open(sys, filepath.Join(t.TempDir(), "b.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tx, err := st.BeginImport(sys)
	if err != nil {
		t.Fatal(err)
	}
	c := testCity()
	for _, err := range []error{tx.PutOrganizations(sys, c.Organizations), tx.PutServices(sys, c.Services), tx.PutSystems(sys, c.Systems), tx.PutAssets(sys, c.Assets)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(sys); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	bs := baseline.New(cs, nil)
	w := &world{st: st, cs: cs, bs: bs, svc: incident.New(cs, bs, nil), rec: &recorder{}, clock: &fakeClock{t: time.Now().UTC().Truncate(time.Minute)}}
	w.svc.SetNotifier(w.rec)
	w.svc.SetClock(w.clock.now)
	return w
}

func user(org string, role bulwark.Role) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 7, Org: org, Role: role, Name: string(role) + "@" + org})
}

func affected(inc *bulwark.Incident) string {
	var s []string
	for _, a := range inc.Affected {
		s = append(s, a.ID+"="+string(a.Effect))
	}
	return strings.Join(s, " ")
}

func parties(inc *bulwark.Incident) string {
	var s []string
	for _, p := range inc.Parties {
		s = append(s, p.Org+":"+string(p.Role))
	}
	return strings.Join(s, " ")
}

func TestCreateDerivesAndRoutes(t *testing.T) {
	w := newWorld(t)
	water := user("city-water", bulwark.RoleAnalyst)
	inc, err := w.svc.Create(water, &bulwark.Incident{Title: "Ransomware on the water SCADA", Threat: "ransomware", Description: "note on the HMI",
		Affected: []bulwark.Affected{{ID: "scada", Effect: bulwark.EffectDown}}})
	if err != nil {
		t.Fatal(err)
	}
	// The reporter sees what its city-model scope allows: the hospital
	// does not share with water, so its degraded care is only counted.
	if got := affected(inc); got != "scada=down water-supply=down" || inc.HiddenAffected != 1 {
		t.Errorf("affected %s (+%d hidden)", got, inc.HiddenAffected)
	}
	// Water for 420,000 down: severe, which routes to the CISO (water
	// shares with it), the state agency (the CISO shares with it) and
	// every federal body.
	if inc.Severity.Level != bulwark.SeveritySevere || inc.Activity != bulwark.ActivityEffect || inc.Playbook != "ransomware" || inc.PlaybookVersion != 1 {
		t.Errorf("severity %s, activity %s, playbook %s v%d", inc.Severity.Level, inc.Activity, inc.Playbook, inc.PlaybookVersion)
	}
	if got := parties(inc); got != "city-water:reporter hospital:affected city-ciso:coordinator cisa:authority state-em:authority" {
		t.Errorf("parties %s", got)
	}
	im := inc.Impact
	if im.ServicesDown != 1 || im.ServicesDegraded != 1 || im.PopulationDown != 420_000 || im.PopulationDegraded != 50_000 || im.CriticalDown != 1 ||
		im.FIPS199 != "low/high/high" || !slices.Equal(im.Zones, []string{"ot"}) || len(im.Sectors) != 2 {
		t.Errorf("impact %+v", im)
	}
	// Tasks: 4 for the reporter, 10 for each affected organization (water
	// and the hospital), 1 for the coordinator.
	byOrg := map[string]int{}
	for _, tk := range inc.Tasks {
		byOrg[tk.Org]++
	}
	if byOrg["city-water"] != 4+10 || byOrg["hospital"] != 10 || byOrg["city-ciso"] != 1 {
		t.Errorf("tasks by organization %v", byOrg)
	}
	if w.rec.kinds() != "incident_created" {
		t.Fatalf("events %s", w.rec.kinds())
	}
	ev := w.rec.last()
	if ev.IncidentID != inc.ID || ev.Severity != 4 || ev.OrgID != "city-water" || ev.Purview != bulwark.PurviewCity || !slices.Equal(ev.Services, []string{"hospital-care", "water-supply"}) || ev.Key == "" {
		t.Errorf("event %+v", ev)
	}
	tl, err := w.svc.Timeline(water, inc.ID)
	if err != nil || len(tl) != 4 || tl[0].Kind != "reported" || !strings.Contains(tl[1].Text, "Severity computed: 4 severe (red)") {
		t.Errorf("timeline %+v (%v)", tl, err)
	}

	// The hospital sees its own part only: its service, its tasks, the
	// reporter and itself; the rest is counted.
	h, err := w.svc.Find(user("hospital", bulwark.RoleViewer), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if affected(h) != "hospital-care=degraded" || h.HiddenAffected != 2 || parties(h) != "city-water:reporter hospital:affected" {
		t.Errorf("hospital sees %s (+%d), parties %s", affected(h), h.HiddenAffected, parties(h))
	}
	for _, tk := range h.Tasks {
		if tk.Org != "hospital" {
			t.Errorf("hospital sees a task of %s", tk.Org)
		}
	}
	for _, e := range must(w.svc.Timeline(user("hospital", bulwark.RoleViewer), inc.ID))(t) {
		if e.Kind == "routed" || strings.Contains(e.Text, "cisa") {
			t.Errorf("hospital reads the routing: %s", e.Text)
		}
	}
	// The port takes no part: nothing.
	if _, err := w.svc.Find(user("port", bulwark.RoleAdmin), inc.ID); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("port: %v", err)
	}

	// A second incident reuses the cached analysis: the graph was loaded
	// once for both.
	if _, err := w.svc.Create(water, &bulwark.Incident{Title: "PLC tampering", Threat: "ot-ics-intrusion", Affected: []bulwark.Affected{{ID: "plc-1", Effect: bulwark.EffectCompromised}}}); err != nil {
		t.Fatal(err)
	}
	if w.cs.loads != 1 {
		t.Errorf("the graph was loaded %d times for two incidents, want 1 (the cached analysis)", w.cs.loads)
	}
}

func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestPrivateOperatorsIsolated: a private operator's incident is invisible
// to another operator, which cannot even learn that it exists.
func TestPrivateOperatorsIsolated(t *testing.T) {
	w := newWorld(t)
	port := user("port", bulwark.RoleAnalyst)
	inc, err := w.svc.Create(port, &bulwark.Incident{Title: "TOS encrypted", Threat: "ransomware", Description: "secret detail",
		Affected: []bulwark.Affected{{ID: "tos-srv", Effect: bulwark.EffectDown}}})
	if err != nil {
		t.Fatal(err)
	}
	// The port shares with nobody: it is alone (high: 20,000 people).
	if got := parties(inc); got != "port:reporter" {
		t.Errorf("parties %s", got)
	}
	for _, org := range []string{"hospital", "power", "city-ciso", "city-water", "state-em"} {
		for _, role := range []bulwark.Role{bulwark.RoleViewer, bulwark.RoleAdmin} {
			ctx := user(org, role)
			_, err := w.svc.Find(ctx, inc.ID)
			_, missing := w.svc.Find(ctx, "inc-0000000000000000")
			if bulwark.ErrorCode(err) != bulwark.ENOTFOUND || strings.ReplaceAll(bulwark.ErrorMessage(err), inc.ID, "X") != strings.ReplaceAll(bulwark.ErrorMessage(missing), "inc-0000000000000000", "X") {
				t.Errorf("%s/%s: %v vs %v", org, role, err, missing)
			}
			if list := must(w.svc.List(ctx, bulwark.IncidentFilter{}))(t); len(list) != 0 {
				t.Errorf("%s lists %d incidents", org, len(list))
			}
			if _, err := w.svc.Clock(ctx, inc.ID); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
				t.Errorf("%s clock: %v", org, err)
			}
			if _, err := w.svc.UpdateTask(ctx, inc.ID, "t1", incident.TaskChange{Status: bulwark.TaskDone}); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
				t.Errorf("%s task: %v", org, err)
			}
		}
	}
	// Entering another operator's asset one cannot see is refused.
	_, err = w.svc.Create(user("hospital", bulwark.RoleAnalyst), &bulwark.Incident{Title: "x", Affected: []bulwark.Affected{{ID: "tos-srv", Effect: bulwark.EffectDown}}})
	if d := bulwark.ErrorDetails(err); bulwark.ErrorCode(err) != bulwark.EINVALID || len(d) != 1 || d[0].Field != "affected[0].id" || !strings.Contains(d[0].Message, "that you can see") {
		t.Errorf("foreign entry: %v %+v", err, d)
	}
	if _, err := w.svc.Create(user("hospital", bulwark.RoleViewer), &bulwark.Incident{Title: "x"}); bulwark.ErrorCode(err) != bulwark.EFORBIDDEN {
		t.Errorf("viewer reports: %v", err)
	}
}

// TestClockAndEscalation drives the target clock with a controllable
// clock: each stage escalates once, with a timeline entry for the
// service's owner and the coordinators and a target-at-risk event.
func TestClockAndEscalation(t *testing.T) {
	w := newWorld(t)
	water := user("city-water", bulwark.RoleAnalyst)
	t0 := w.clock.now()
	inc, err := w.svc.Create(water, &bulwark.Incident{Title: "Feeder down", DetectedAt: t0, Activity: bulwark.ActivityEffect,
		Affected: []bulwark.Affected{{ID: "plc-1", Effect: bulwark.EffectDown}, {ID: "plc-2", Effect: bulwark.EffectDown}}})
	if err != nil {
		t.Fatal(err)
	}
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	escalations := func() []string {
		var out []string
		for _, e := range must(w.svc.Timeline(sys, inc.ID))(t) {
			if e.Kind == "escalation" {
				out = append(out, e.Text)
			}
		}
		return out
	}
	for _, step := range []struct {
		after time.Duration
		n     int
		stage string
	}{
		{dur(8 * time.Hour), 0, "ok"},
		{dur(9 * time.Hour), 1, "rto-at-risk"}, // 75 % of the 12 h RTO
		{dur(10 * time.Hour), 0, "rto-at-risk"},
		{dur(12 * time.Hour), 1, "rto-missed"},
		{dur(30 * time.Hour), 2, "mtd-exceeded"}, // 18 h and 24 h of the MTD passed at once
		{dur(31 * time.Hour), 0, "mtd-exceeded"},
	} {
		w.clock.t = t0.Add(step.after)
		n, err := w.svc.Escalate(context.Background())
		if err != nil || n != step.n {
			t.Fatalf("after %v: %d escalations (%v), want %d", step.after, n, err, step.n)
		}
		cs := must(w.svc.Clock(water, inc.ID))(t)
		if len(cs) != 1 || cs[0].Service != "water-supply" || string(cs[0].Stage) != step.stage {
			t.Errorf("after %v: clock %+v", step.after, cs)
		}
	}
	got := escalations()
	if len(got) != 4 || !strings.Contains(got[0], "recovery time objective 12h at risk") || !strings.Contains(got[3], "maximum tolerable downtime 1d exceeded") {
		t.Errorf("escalations:\n%s", strings.Join(got, "\n"))
	}
	if k := w.rec.kinds(); k != "incident_created,target_at_risk,target_at_risk,target_at_risk,target_at_risk" {
		t.Errorf("events %s", k)
	}
	if ev := w.rec.last(); !slices.Equal(ev.Services, []string{"water-supply"}) || !strings.Contains(ev.Target, "maximum tolerable downtime") {
		t.Errorf("last event %+v", ev)
	}
	// The hospital (its care only degraded) reads no escalation of water.
	for _, e := range must(w.svc.Timeline(user("hospital", bulwark.RoleViewer), inc.ID))(t) {
		if e.Kind == "escalation" {
			t.Errorf("hospital reads %s", e.Text)
		}
	}
	// A second server instance escalates nothing more.
	other := incident.New(w.cs, w.bs, nil)
	other.SetClock(w.clock.now)
	if n, err := other.Escalate(context.Background()); err != nil || n != 0 {
		t.Errorf("second instance: %d (%v)", n, err)
	}
	// Once recovered, the clock stops.
	for _, ph := range []bulwark.Phase{bulwark.PhaseContainment, bulwark.PhaseRecovery, bulwark.PhasePostIncident} {
		if _, err := w.svc.SetPhase(water, inc.ID, ph, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.advance(100 * time.Hour)
	cs := must(w.svc.Clock(water, inc.ID))(t)
	if cs[0].Running || time.Duration(cs[0].Elapsed) != 31*time.Hour {
		t.Errorf("stopped clock %+v", cs[0])
	}
}

func TestLifecycleReviewAndFollowUps(t *testing.T) {
	w := newWorld(t)
	water := user("city-water", bulwark.RoleAnalyst)
	inc, err := w.svc.Create(water, &bulwark.Incident{Title: "Phishing", Threat: "data-breach", Activity: bulwark.ActivityEngage})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Severity.Level != bulwark.SeverityLow || parties(inc) != "city-water:reporter city-ciso:coordinator" {
		t.Fatalf("severity %s parties %s", inc.Severity.Level, parties(inc))
	}
	if _, err := w.svc.SetPhase(water, inc.ID, bulwark.PhaseClosed, ""); bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Errorf("closing without a review: %v", err)
	}
	if _, err := w.svc.SetPhase(water, inc.ID, bulwark.PhaseDetection, ""); bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Errorf("same phase: %v", err)
	}
	if _, err := w.svc.SetPhase(water, inc.ID, "triage", ""); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("bad phase: %v", err)
	}
	w.clock.advance(3 * time.Hour)
	got, err := w.svc.SetPhase(water, inc.ID, bulwark.PhaseEradication, "skipped containment: nothing to contain")
	if err != nil || got.ContainedAt.IsZero() || !got.RecoveredAt.IsZero() {
		t.Fatalf("eradication: %+v %v", got, err)
	}
	w.clock.advance(5 * time.Hour)
	got = must(w.svc.SetPhase(water, inc.ID, bulwark.PhasePostIncident, ""))(t)
	if got.RecoveredAt.Sub(got.DetectedAt) != 8*time.Hour {
		t.Errorf("recovered after %v", got.RecoveredAt.Sub(got.DetectedAt))
	}
	if k := w.rec.kinds(); k != "incident_created,phase_changed,phase_changed" {
		t.Errorf("events %s", k)
	}

	// The review: follow-ups become a task, a risk and an assessment change.
	a := &bulwark.Assessment{Catalog: "csf-2.0", ScopeKind: bulwark.ScopeOrganization, Scope: "city-water", Title: "Water CSF"}
	if err := w.bs.CreateAssessment(water, a); err != nil {
		t.Fatal(err)
	}
	rv := &bulwark.IncidentReview{Summary: "Caught early", WhatWorked: []string{"reporting button"}, WhatDidNot: []string{"MFA gaps"},
		Decisions: []bulwark.ReviewDecision{{Decision: "Reset all passwords", By: "CISO"}},
		FollowUps: []bulwark.FollowUp{
			{Kind: bulwark.FollowUpTask, Title: "Phishing drill", Org: "city-ciso"},
			{Kind: bulwark.FollowUpRisk, Title: "Credential theft stops billing", Likelihood: 3, Impact: 3, Services: []string{"water-supply"}},
			{Kind: bulwark.FollowUpAssessment, Title: "MFA is partial", Assessment: a.ID, Control: "PR.AA-03", Status: bulwark.StatusPartial},
		}}
	if _, err := w.svc.PutReview(user("city-water", bulwark.RoleViewer), inc.ID, rv); bulwark.ErrorCode(err) != bulwark.EFORBIDDEN {
		t.Errorf("viewer writes the review: %v", err)
	}
	bad := *rv
	bad.FollowUps = []bulwark.FollowUp{{Kind: bulwark.FollowUpAssessment, Title: "x", Assessment: a.ID, Control: "XX-99", Status: bulwark.StatusPartial}}
	if _, err := w.svc.PutReview(water, inc.ID, &bad); bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), "follow_ups[0]") {
		t.Errorf("unknown control: %v", err)
	}
	out, err := w.svc.PutReview(water, inc.ID, rv)
	if err != nil {
		t.Fatal(err)
	}
	if out.Rev != 1 || !strings.HasPrefix(out.FollowUps[0].Ref, "task:t") || !strings.HasPrefix(out.FollowUps[1].Ref, "risk:risk-") || !strings.HasPrefix(out.FollowUps[2].Ref, "assessment:"+a.ID+"/PR.AA-03@1") {
		t.Fatalf("refs %+v", out.FollowUps)
	}
	risk, err := w.st.FindRisk(water, strings.TrimPrefix(out.FollowUps[1].Ref, "risk:"))
	if err != nil || risk.Owner != "city-water" || !strings.Contains(risk.Scenario, inc.ID) {
		t.Errorf("risk %+v (%v)", risk, err)
	}
	asm := must(w.st.FindAssessment(water, a.ID))(t)
	if len(asm.Results) != 1 || asm.Results[0].Status != bulwark.StatusPartial || !strings.Contains(asm.Results[0].Notes, inc.ID) {
		t.Errorf("assessment results %+v", asm.Results)
	}
	ciso := must(w.svc.Find(user("city-ciso", bulwark.RoleViewer), inc.ID))(t)
	var drill *bulwark.IncidentTask
	for i := range ciso.Tasks {
		if ciso.Tasks[i].Source == "follow-up" {
			drill = &ciso.Tasks[i]
		}
	}
	if drill == nil || drill.Org != "city-ciso" || drill.Title != "Phishing drill" {
		t.Errorf("follow-up task %+v", drill)
	}
	// Saving again does not repeat carried-out follow-ups.
	out.Summary = "Caught early; revised"
	if _, err := w.svc.PutReview(water, inc.ID, out); err != nil {
		t.Fatal(err)
	}
	if n := len(must(w.st.ListRisks(water, bulwark.RiskFilter{}))(t)); n != 1 {
		t.Errorf("%d risks after a second save", n)
	}
	closed := must(w.svc.SetPhase(water, inc.ID, bulwark.PhaseClosed, "lessons recorded"))(t)
	if closed.ClosedAt.IsZero() || closed.Phase != bulwark.PhaseClosed {
		t.Errorf("closed %+v", closed)
	}
	// The indicator now measures it (recovered 8 h after detection, no
	// service down, contained within 24 h).
	city, _, err := w.bs.Readiness(user("city-water", bulwark.RoleViewer))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range city.Indicators {
		if v.ID == "incident-response" && (!v.Measured || v.Score != 1 || !strings.Contains(v.Detail, "1 of 1")) {
			t.Errorf("indicator %+v", v)
		}
	}
}

func TestSeverityOverrideReroutes(t *testing.T) {
	w := newWorld(t)
	water := user("city-water", bulwark.RoleAnalyst)
	inc := must(w.svc.Create(water, &bulwark.Incident{Title: "Suspicious logins", Threat: "ransomware", Activity: bulwark.ActivityEngage}))(t)
	if inc.Severity.Level != bulwark.SeverityLow {
		t.Fatalf("level %s", inc.Severity.Level)
	}
	lvl := bulwark.SeverityHigh
	if _, err := w.svc.ChangeSeverity(water, inc.ID, incident.SeverityChange{Override: &lvl}); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("override without reason: %v", err)
	}
	if _, err := w.svc.ChangeSeverity(user("hospital", bulwark.RoleAdmin), inc.ID, incident.SeverityChange{Override: &lvl, Reason: "x"}); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("stranger overrides: %v", err)
	}
	got, err := w.svc.ChangeSeverity(water, inc.ID, incident.SeverityChange{Override: &lvl, Reason: "the actor is known for destructive follow-ups"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Severity.Level != bulwark.SeverityHigh || got.Severity.Computed != bulwark.SeverityLow || got.Severity.Override == nil || got.Severity.Override.By != "analyst@city-water" {
		t.Errorf("severity %+v", got.Severity)
	}
	// High routes to the state agency through the CISO.
	if p := parties(got); p != "city-water:reporter city-ciso:coordinator state-em:authority" {
		t.Errorf("parties %s", p)
	}
	ev := w.rec.last()
	if ev.Kind != bulwark.NotifySeverityChanged || ev.Severity != 3 || ev.PreviousSeverity != 1 {
		t.Errorf("event %+v", ev)
	}
	// A new observed activity recomputes but keeps the override in force.
	got = must(w.svc.ChangeSeverity(water, inc.ID, incident.SeverityChange{Activity: bulwark.ActivityPresence}))(t)
	if got.Severity.Level != bulwark.SeverityHigh || got.Activity != bulwark.ActivityPresence {
		t.Errorf("after reassessment %+v", got.Severity)
	}
	got = must(w.svc.ChangeSeverity(water, inc.ID, incident.SeverityChange{Clear: true, Reason: "actor not confirmed"}))(t)
	if got.Severity.Level != bulwark.SeverityLow || got.Severity.Override != nil || !strings.Contains(parties(got), "state-em") {
		t.Errorf("cleared: %+v, parties %s (nobody is removed)", got.Severity, parties(got))
	}
	if k := w.rec.kinds(); k != "incident_created,severity_changed,severity_changed" {
		t.Errorf("events %s", k)
	}
}

func TestTasksAndDecisions(t *testing.T) {
	w := newWorld(t)
	water := user("city-water", bulwark.RoleAnalyst)
	inc := must(w.svc.Create(water, &bulwark.Incident{Title: "Encrypted file server", Threat: "ransomware", Affected: []bulwark.Affected{{ID: "plc-1", Effect: bulwark.EffectDegraded}}}))(t)
	var decision, other bulwark.IncidentTask
	for _, tk := range inc.Tasks {
		if tk.Decision != nil {
			decision = tk
		} else if other.ID == "" {
			other = tk
		}
	}
	if decision.ID == "" {
		t.Fatal("no decision task")
	}
	if _, err := w.svc.UpdateTask(water, inc.ID, decision.ID, incident.TaskChange{Chosen: "pay"}); bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), "refuse, counsel") {
		t.Errorf("unknown option: %v", err)
	}
	if _, err := w.svc.UpdateTask(water, inc.ID, other.ID, incident.TaskChange{Chosen: "refuse"}); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("choice on a plain task: %v", err)
	}
	tk, err := w.svc.UpdateTask(water, inc.ID, decision.ID, incident.TaskChange{Chosen: "refuse", Note: "backups verified"})
	if err != nil || tk.Status != bulwark.TaskDone || tk.Chosen != "refuse" || tk.Rev != 2 {
		t.Fatalf("decision %+v %v", tk, err)
	}
	var texts []string
	for _, e := range must(w.svc.Timeline(water, inc.ID))(t) {
		if e.Kind == "decision" {
			texts = append(texts, e.Text)
		}
	}
	if len(texts) != 1 || !strings.Contains(texts[0], "Do not pay; restore from backups") {
		t.Errorf("decision in the timeline: %v", texts)
	}
	if err := w.svc.AddNote(water, inc.ID, "internal: insurer called", true); err != nil {
		t.Fatal(err)
	}
	for _, e := range must(w.svc.Timeline(user("city-ciso", bulwark.RoleViewer), inc.ID))(t) {
		if strings.Contains(e.Text, "insurer") {
			t.Error("the coordinator reads an internal note")
		}
	}
}

func TestPlaybookAdaptation(t *testing.T) {
	w := newWorld(t)
	pbs := must(w.svc.Playbooks(user("port", bulwark.RoleViewer)))(t)
	if len(pbs) != 6 || !pbs[0].Builtin {
		t.Fatalf("%d playbooks", len(pbs))
	}
	src := []byte(strings.Replace(pbs[len(pbs)-1].Source, "version: 1", "version: 1", 1))
	if _, err := w.svc.PutPlaybook(user("city-water", bulwark.RoleAdmin), src, "vendor.yaml"); bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Errorf("same version as the bundled one: %v", err)
	}
	v2 := []byte(strings.Replace(string(src), "version: 1", "version: 2", 1))
	v2 = []byte(strings.Replace(string(v2), "title: Third-party or vendor compromise", "title: Vendor compromise (city)", 1))
	if _, err := w.svc.PutPlaybook(user("port", bulwark.RoleAdmin), v2, "vendor.yaml"); bulwark.ErrorCode(err) != bulwark.EFORBIDDEN {
		t.Errorf("private administrator: %v", err)
	}
	if _, err := w.svc.PutPlaybook(user("city-water", bulwark.RoleAdmin), []byte("id: x\n"), "bad.yaml"); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("malformed: %v", err)
	}
	p, err := w.svc.PutPlaybook(user("city-water", bulwark.RoleAdmin), v2, "vendor.yaml")
	if err != nil || p.Version != 2 {
		t.Fatalf("%+v %v", p, err)
	}
	inc := must(w.svc.Create(user("port", bulwark.RoleAnalyst), &bulwark.Incident{Title: "Vendor VPN abused", Threat: "vendor-compromise"}))(t)
	if inc.Playbook != "vendor-compromise" || inc.PlaybookVersion != 2 {
		t.Errorf("incident uses %s v%d", inc.Playbook, inc.PlaybookVersion)
	}
	old := must(w.svc.Playbook(user("port", bulwark.RoleViewer), "vendor-compromise", 1))(t)
	if !old.Builtin || old.Title != "Third-party or vendor compromise" {
		t.Errorf("version 1 %+v", old.Title)
	}
	if _, err := w.svc.Create(user("port", bulwark.RoleAnalyst), &bulwark.Incident{Title: "x", Playbook: "nope"}); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("unknown playbook: %v", err)
	}
}

func TestServiceRACIAndDirectory(t *testing.T) {
	w := newWorld(t)
	m, hidden, err := w.svc.ServiceRACI(user("hospital", bulwark.RoleViewer), "hospital-care")
	if err != nil {
		t.Fatal(err)
	}
	// The hospital sees only itself: the owners of water, the SCADA and
	// the feeder are counted, not named.
	if strings.Join(m.Columns, ",") != "hospital" || hidden == 0 {
		t.Errorf("hospital's view: %v, %d hidden", m.Columns, hidden)
	}
	m, hidden, err = w.svc.ServiceRACI(user("city-water", bulwark.RoleViewer), "water-supply")
	// Water names what it sees and whom it shares with; the state agency
	// and the federal body are counted.
	if err != nil || strings.Join(m.Columns, ",") != "city-water,power,city-ciso" || hidden != 2 {
		t.Errorf("water's view: %v, %d hidden (%v)", m.Columns, hidden, err)
	}
	if _, _, err := w.svc.ServiceRACI(user("hospital", bulwark.RoleViewer), "port-ops"); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("foreign service: %v", err)
	}
	d := &bulwark.Directory{Org: "city-water", Contacts: []bulwark.OnCallContact{{Name: "Ana", Email: "ana@example.org", Roles: []string{"ot-engineering"},
		OnCall: []bulwark.Shift{{Days: "daily", From: "00:00", To: "24:00"}}}}}
	if err := w.svc.PutDirectory(user("city-water", bulwark.RoleAnalyst), d, -1); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.PutDirectory(user("city-water", bulwark.RoleAnalyst), d, -1); err != nil || d.Rev != 2 {
		t.Errorf("overwrite: %v rev %d", err, d.Rev)
	}
	on := must(w.svc.OnCallNow(context.Background(), "city-water", "ot-engineering"))(t)
	if len(on) != 1 || on[0].Name != "Ana" {
		t.Errorf("on call %+v", on)
	}
	bad := &bulwark.Directory{Org: "city-water", Contacts: []bulwark.OnCallContact{{Name: "B", Phone: "1", OnCall: []bulwark.Shift{{Days: "someday", From: "00:00", To: "01:00"}}}}}
	if err := w.svc.PutDirectory(user("city-water", bulwark.RoleAnalyst), bad, -1); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("bad shift: %v", err)
	}
}

func TestAffectedGraph(t *testing.T) {
	w := newWorld(t)
	water := user("city-water", bulwark.RoleAnalyst)
	inc := must(w.svc.Create(water, &bulwark.Incident{Title: "Feeder", Affected: []bulwark.Affected{{ID: "plc-1", Effect: bulwark.EffectDown}, {ID: "plc-2", Effect: bulwark.EffectDown}}}))(t)
	g := must(w.svc.Graph(water, inc.ID))(t)
	var nodes, edges []string
	for _, n := range g.Nodes {
		nodes = append(nodes, n.ID+"="+string(n.State))
	}
	for _, e := range g.Edges {
		edges = append(edges, e.From+">"+e.To+":"+e.Kind+"/"+e.Group)
	}
	if strings.Join(nodes, " ") != "plc-1=down plc-2=down water-supply=down scada=down" || g.Hidden != 1 {
		t.Errorf("nodes %v hidden %d", nodes, g.Hidden)
	}
	if strings.Join(edges, " ") != "scada>plc-1:hard/plcs scada>plc-2:hard/plcs water-supply>scada:hard/" {
		t.Errorf("edges %v", edges)
	}
	h := must(w.svc.Graph(user("hospital", bulwark.RoleViewer), inc.ID))(t)
	if len(h.Nodes) != 1 || h.Nodes[0].ID != "hospital-care" || len(h.Edges) != 0 || h.Hidden != 4 {
		t.Errorf("hospital's graph %+v", h)
	}
}
