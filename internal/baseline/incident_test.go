package baseline

import (
	"strings"
	"testing"
	"time"

	"bulwark"
)

// TestIncidentResponseIndicator checks the incident indicator on
// incidents worked out by hand.
func TestIncidentResponseIndicator(t *testing.T) {
	now := time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)
	h := time.Hour
	svc := func(rto time.Duration, since time.Time) bulwark.Affected {
		return bulwark.Affected{ID: "s", Kind: "service", Owner: "water", Effect: bulwark.EffectDown, RTO: bulwark.Duration(rto), Since: since}
	}
	det := now.Add(-100 * 24 * h)
	d := &Data{Now: now, Orgs: []Org{{ID: "water"}, {ID: "port"}}, Incidents: []bulwark.Incident{
		// Water back after 10 h against a 12 h RTO: on time. Detected
		// 2 h after it started.
		{Owner: "water", StartedAt: det.Add(-2 * h), DetectedAt: det, ContainedAt: det.Add(4 * h), RecoveredAt: det.Add(10 * h),
			Affected: []bulwark.Affected{svc(12*h, time.Time{}), {ID: "sys", Kind: "system", Owner: "water", Effect: bulwark.EffectDown}}},
		// Down since 3 h before detection; back 10 h after detection:
		// 13 h against 12 h. Late.
		{Owner: "water", DetectedAt: det, ContainedAt: det.Add(2 * h), RecoveredAt: det.Add(10 * h), Affected: []bulwark.Affected{svc(12*h, det.Add(-3*h))}},
		// No service down: contained within 24 h. On time.
		{Owner: "port", DetectedAt: det, ContainedAt: det.Add(20 * h), RecoveredAt: det.Add(30 * h)},
		// No service down, contained after 30 h: late.
		{Owner: "port", DetectedAt: det, ContainedAt: det.Add(30 * h), RecoveredAt: det.Add(40 * h)},
		// Not recovered yet, and one recovered more than a year ago: not counted.
		{Owner: "water", DetectedAt: now.Add(-h)},
		{Owner: "water", DetectedAt: now.Add(-400 * 24 * h), RecoveredAt: now.Add(-399 * 24 * h)},
	}}
	city, orgs := Compute(d)
	v := indicator(t, city, "incident-response")
	if !v.Measured || !near(v.Score, 0.5) || !near(v.Value, 0.5) {
		t.Errorf("city: %+v, want 2 of 4", v)
	}
	for _, want := range []string{"2 of 4 incident(s)", "detect 2.0 h (1 known)", "contain 12.0 h", "recover 20.0 h"} {
		if !strings.Contains(v.Detail, want) {
			t.Errorf("detail %q lacks %q", v.Detail, want)
		}
	}
	byOrg := map[string]bulwark.IndicatorValue{}
	for _, o := range orgs {
		byOrg[o.Org] = indicator(t, o, "incident-response")
	}
	if w := byOrg["water"]; !w.Measured || !near(w.Score, 0.5) {
		t.Errorf("water: %+v", w)
	}
	if p := byOrg["port"]; !p.Measured || !near(p.Score, 0.5) {
		t.Errorf("port: %+v", p)
	}
	// Without recovered incidents it is not measured, never zero.
	d.Incidents = d.Incidents[4:]
	city, _ = Compute(d)
	if v := indicator(t, city, "incident-response"); v.Measured || !strings.HasPrefix(v.Detail, "not measured") {
		t.Errorf("no recovered incident: %+v", v)
	}
}
