package demo

import (
	"context"
	"fmt"
	"time"

	"bulwark"
	"bulwark/internal/incident"
)

// demoIncident is one incident of the demo city, reported through the
// incident service, and how far its response has come.
type demoIncident struct {
	inc bulwark.Incident
	// detected and started are that many hours before now.
	detected, started int
	// phases are the phases it moves through after detection, in order.
	phases []bulwark.Phase
	// done marks the first tasks of the playbook done.
	done   int
	review *bulwark.IncidentReview
}

// demoIncidents are three Port Halden incidents at different points of
// their response, each on the bundled playbook of its threat class. The
// events are invented.
var demoIncidents = []demoIncident{
	{inc: bulwark.Incident{ID: "demo-inc-water-ransomware", Owner: "city-water", Title: "Ransomware on the water SCADA servers",
		Description: "Two SCADA servers at the water treatment plant show a ransom note and encrypted project files. The plant runs on local HMI control; the remote access path from the city network is cut.",
		Threat:      "ransomware", Activity: bulwark.ActivityEffect,
		Affected: []bulwark.Affected{{ID: "water-scada", Effect: bulwark.EffectDown}}},
		detected: 20, started: 30, phases: []bulwark.Phase{bulwark.PhaseContainment}, done: 2},
	{inc: bulwark.Incident{ID: "demo-inc-311-ddos", Owner: "city-it", Title: "DDoS against the city website and 311",
		Description: "A volumetric attack claimed by a hacktivist group took the city website and 311 portal offline for three hours; the upstream provider's scrubbing restored service.",
		Threat:      "ddos", Activity: bulwark.ActivityEffect,
		Affected: []bulwark.Affected{{ID: "city-website-311", Effect: bulwark.EffectDown}}},
		detected: 24 * 12, started: 24*12 + 1,
		phases: []bulwark.Phase{bulwark.PhaseContainment, bulwark.PhaseEradication, bulwark.PhaseRecovery, bulwark.PhasePostIncident, bulwark.PhaseClosed}, done: 4,
		review: &bulwark.IncidentReview{Summary: "The website and 311 were down for three hours. Upstream scrubbing worked once requested, but requesting it took 90 minutes because the contract contact was out of date.",
			WhatWorked: []string{"The 311 contact center switched to the phone tree within 15 minutes", "Status updates went out on social media"},
			WhatDidNot: []string{"The provider's emergency contact in the runbook was out of date", "No one was on call for the web hosting contract"},
			Decisions:  []bulwark.ReviewDecision{{At: "hour 1", Decision: "Publish service status on social media", By: "City IT duty manager", Rationale: "The website itself was unreachable"}},
			Shared:     true}},
	{inc: bulwark.Incident{ID: "demo-inc-traffic-camera-botnet", Owner: "city-transport", Title: "Traffic cameras enrolled in a botnet",
		Description: "The ISAC reports traffic cameras of the city's model beaconing to a known botnet controller; the traffic management center sees unusual outbound traffic from the camera network.",
		Threat:      "iot-compromise", Activity: bulwark.ActivityPresence,
		Affected: []bulwark.Affected{{ID: "traffic-cameras", Effect: bulwark.EffectCompromised}}},
		detected: 2, started: 72},
}

// SeedIncidents reports the demo city's incidents through the incident
// service: ransomware on the water SCADA in containment, a DDoS on the
// city website resolved and closed after its after-action review, and an
// IoT camera fleet compromise just detected. Incidents already present are
// left alone, so seeding twice is harmless. ctx must carry the System
// principal (it names each incident's owner).
func SeedIncidents(ctx context.Context, st bulwark.Store, svc *incident.Service, now time.Time) error {
	now = now.UTC()
	for _, d := range demoIncidents {
		if _, err := st.FindIncident(ctx, d.inc.ID); err == nil {
			continue
		} else if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			return fmt.Errorf("demo incident %s: %w", d.inc.ID, err)
		}
		in := d.inc
		in.Affected = append([]bulwark.Affected(nil), d.inc.Affected...)
		in.DetectedAt = now.Add(-time.Duration(d.detected) * time.Hour)
		in.StartedAt = now.Add(-time.Duration(d.started) * time.Hour)
		inc, err := svc.Create(ctx, &in)
		if err != nil {
			return fmt.Errorf("demo incident %s: %w", in.ID, err)
		}
		for i := 0; i < d.done && i < len(inc.Tasks); i++ {
			if _, err := svc.UpdateTask(ctx, inc.ID, inc.Tasks[i].ID, incident.TaskChange{Status: bulwark.TaskDone}); err != nil {
				return fmt.Errorf("demo incident %s task %s: %w", inc.ID, inc.Tasks[i].ID, err)
			}
		}
		for _, ph := range d.phases {
			if ph == bulwark.PhaseClosed && d.review != nil {
				r := *d.review
				if _, err := svc.PutReview(ctx, inc.ID, &r); err != nil {
					return fmt.Errorf("demo incident %s review: %w", inc.ID, err)
				}
			}
			if _, err := svc.SetPhase(ctx, inc.ID, ph, ""); err != nil {
				return fmt.Errorf("demo incident %s: %w", inc.ID, err)
			}
		}
	}
	return nil
}
