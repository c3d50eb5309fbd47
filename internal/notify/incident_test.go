package notify_test

import (
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/notify"
)

// TestIncidentServiceReportsThroughHook wires the incident service to the
// notification service as internal/app does, reports an incident and
// finds its event and the notifications the matrix asks for.
func TestIncidentServiceReportsThroughHook(t *testing.T) {
	st := openStore(t, false)
	is := incident.New(st, baseline.New(st, nil), nil)
	ns := notify.New(st, nil, notify.Config{}, nil)
	is.SetNotifier(notify.Hook{S: ns})
	inc, err := is.Create(as("water", bulwark.RoleAnalyst), &bulwark.Incident{Owner: "water", Title: "Chlorination PLC unreachable",
		Description: "internal detail", Affected: []bulwark.Affected{{ID: "water-supply", Effect: bulwark.EffectDown}}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.FindNotificationEvent(sys(), inc.ID+"/incident_created")
	if err != nil {
		t.Fatalf("the incident's event was not recorded: %v", err)
	}
	if ev.OrgID != "water" || ev.Title != inc.Title || ev.Severity != int(inc.Severity.Level) {
		t.Errorf("event %+v", ev)
	}
	got := listAll(t, ns, as("water", bulwark.RoleViewer))
	rules := map[string]bool{}
	for _, n := range got {
		rules[n.Rule] = true
		if r := ns.Matrix().Rule(n.Rule); r == nil || !r.Matches(ev) {
			t.Errorf("notification from rule %s, which does not match the event", n.Rule)
		}
	}
	// The bundled matrix tells the incident's own organization from low
	// severity up (water-supply is water's own: no partner is told).
	if ev.Severity >= 1 && !rules["own-organization"] || rules["partners"] {
		t.Errorf("severity %d: notifications from rules %v", ev.Severity, rules)
	}
	t.Logf("incident severity %d: %d notifications", ev.Severity, len(got))
}

// TestIncidentPublicActionReachesThePublicDesk: an incident reported
// without an action for citizens sends no public notice; once its
// reporter says what citizens must do, the bundled matrix's public rule
// sends the city's alert desk a notice with that action (and without the
// internal summary), once.
func TestIncidentPublicActionReachesThePublicDesk(t *testing.T) {
	st := openStore(t, false)
	is := incident.New(st, baseline.New(st, nil), nil)
	ns := notify.New(st, nil, notify.Config{}, nil)
	is.SetNotifier(notify.Hook{S: ns})
	water := as("water", bulwark.RoleAnalyst)
	inc, err := is.Create(water, &bulwark.Incident{Owner: "water", Title: "Chlorination PLC unreachable", Activity: bulwark.ActivityEffect,
		Description: "CANARY-SUMMARY internal detail", Affected: []bulwark.Affected{{ID: "water-supply", Effect: bulwark.EffectDown}}})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Severity.Level < bulwark.SeverityLow {
		t.Fatalf("severity %s: the public rule starts at low", inc.Severity.Level)
	}
	public := func() []bulwark.Notification {
		var out []bulwark.Notification
		for _, n := range listAll(t, ns, sys()) {
			if n.Rule == "public-notice" {
				out = append(out, n)
			}
		}
		return out
	}
	if got := public(); len(got) != 0 {
		t.Fatalf("public notices without an action for citizens: %d", len(got))
	}
	const action = "Boil tap water for one minute before drinking."
	if _, err := is.SetPublicAction(water, inc.ID, action); err != nil {
		t.Fatal(err)
	}
	got := public()
	if len(got) != 1 {
		t.Fatalf("%d public notices after the action was set, want 1", len(got))
	}
	if n := got[0]; n.Address != "alerts@city.example" || !strings.Contains(n.Body, action) || strings.Contains(n.Body, "CANARY") || strings.Contains(n.Body, inc.ID) {
		t.Errorf("public notice to %s: %s", n.Address, n.Body)
	}
}
