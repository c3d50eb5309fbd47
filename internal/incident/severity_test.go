package incident

import (
	"strings"
	"testing"
	"time"

	"bulwark"
)

func TestComputeSeverity(t *testing.T) {
	high := bulwark.Category{Confidentiality: bulwark.LevelLow, Integrity: bulwark.LevelHigh, Availability: bulwark.LevelHigh}
	low := bulwark.Category{Confidentiality: bulwark.LevelLow, Integrity: bulwark.LevelLow, Availability: bulwark.LevelLow}
	for _, tc := range []struct {
		name string
		f    Facts
		want bulwark.SeverityLevel
		// by is the input that decides (the highest, or the cap).
		by string
	}{
		{"nothing seen", Facts{Activity: bulwark.ActivityPrepare}, bulwark.SeverityBaseline, ""},
		{"phishing attempts, nothing touched", Facts{Activity: bulwark.ActivityEngage}, bulwark.SeverityLow, ""},
		{"presence on a low business laptop", Facts{Activity: bulwark.ActivityPresence, Category: low,
			Impact: bulwark.ImpactSummary{Entered: 1, Zones: []string{"it"}}}, bulwark.SeverityLow, "fips199"},
		{"presence on an OT system", Facts{Activity: bulwark.ActivityPresence, Category: low,
			Impact: bulwark.ImpactSummary{Entered: 1, Zones: []string{"ot"}}}, bulwark.SeverityHigh, "location"},
		{"presence in a safety system", Facts{Activity: bulwark.ActivityPresence,
			Impact: bulwark.ImpactSummary{Entered: 1, Zones: []string{"safety"}}}, bulwark.SeveritySevere, "location"},
		{"integrity-high system compromised", Facts{Activity: bulwark.ActivityPresence, Category: high,
			Impact: bulwark.ImpactSummary{Entered: 1}}, bulwark.SeverityHigh, "fips199"},
		{"a parking service degraded", Facts{Activity: bulwark.ActivityEffect, Category: low,
			Impact: bulwark.ImpactSummary{ServicesDegraded: 1, PopulationDegraded: 5_000, Sectors: []bulwark.Sector{"transportation"}}}, bulwark.SeverityLow, "functional_impact"},
		{"a small non-critical service down", Facts{Activity: bulwark.ActivityEffect, Category: low,
			Impact: bulwark.ImpactSummary{ServicesDown: 1, PopulationDown: 5_000, Sectors: []bulwark.Sector{"transportation"}}}, bulwark.SeverityMedium, "population"},
		{"a critical service for 50,000 down", Facts{Activity: bulwark.ActivityEffect,
			Impact: bulwark.ImpactSummary{ServicesDown: 1, CriticalDown: 1, PopulationDown: 50_000, Sectors: []bulwark.Sector{"healthcare-public-health"}}}, bulwark.SeverityHigh, "functional_impact"},
		{"water for 420,000 down", Facts{Activity: bulwark.ActivityEffect,
			Impact: bulwark.ImpactSummary{ServicesDown: 1, CriticalDown: 1, PopulationDown: 420_000, Sectors: []bulwark.Sector{"water-wastewater"}}}, bulwark.SeveritySevere, "population"},
		{"a million people without power", Facts{Activity: bulwark.ActivityEffect,
			Impact: bulwark.ImpactSummary{ServicesDown: 1, CriticalDown: 1, PopulationDown: 1_200_000, Sectors: []bulwark.Sector{"energy"}}}, bulwark.SeverityEmergency, "population"},
		{"two sectors, few people", Facts{Activity: bulwark.ActivityEffect,
			Impact: bulwark.ImpactSummary{ServicesDown: 2, PopulationDown: 2_000, Sectors: []bulwark.Sector{"energy", "water-wastewater"}}}, bulwark.SeverityHigh, "sectors"},
		{"four sectors", Facts{Activity: bulwark.ActivityEffect,
			Impact: bulwark.ImpactSummary{ServicesDegraded: 4, PopulationDegraded: 100, Sectors: []bulwark.Sector{"a", "b", "c", "d"}}}, bulwark.SeveritySevere, "sectors"},
		{"water at risk from a compromised SCADA", Facts{Activity: bulwark.ActivityPresence, AtRiskCritical: 1,
			Impact: bulwark.ImpactSummary{ServicesAtRisk: 1, PopulationAtRisk: 420_000}}, bulwark.SeverityHigh, "potential_impact"},
		{"a million at risk", Facts{Activity: bulwark.ActivityPresence,
			Impact: bulwark.ImpactSummary{ServicesAtRisk: 1, PopulationAtRisk: 1_500_000}}, bulwark.SeveritySevere, "potential_impact"},
		{"presence caps below emergency", Facts{Activity: bulwark.ActivityPresence,
			Impact: bulwark.ImpactSummary{ServicesDown: 1, CriticalDown: 1, PopulationDown: 2_000_000}}, bulwark.SeveritySevere, "observed_activity"},
		{"engage caps at medium", Facts{Activity: bulwark.ActivityEngage, Category: high,
			Impact: bulwark.ImpactSummary{Entered: 1, Zones: []string{"ot"}}}, bulwark.SeverityMedium, "observed_activity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ComputeSeverity(tc.f)
			if s.Computed != tc.want || s.Level != tc.want {
				t.Fatalf("level %d (%s), want %d (%s); inputs:\n%s", s.Computed, s.Computed, tc.want, tc.want, dumpInputs(s))
			}
			if len(s.Inputs) != 7 {
				t.Errorf("%d inputs, want 7", len(s.Inputs))
			}
			if tc.by == "" {
				return
			}
			for _, in := range s.Inputs {
				if in.ID == tc.by {
					if in.Level != tc.want {
						t.Errorf("deciding input %s proposes %s, want %s", in.ID, in.Level, tc.want)
					}
					if in.Value == "" || in.Why == "" {
						t.Errorf("input %s without value or reason: %+v", in.ID, in)
					}
					return
				}
			}
			t.Errorf("no input %s", tc.by)
		})
	}
}

func dumpInputs(s bulwark.Severity) string {
	var b strings.Builder
	for _, in := range s.Inputs {
		b.WriteString("  " + in.ID + " = " + in.Level.String() + ": " + in.Value + "\n")
	}
	return b.String()
}

func TestSeverityInputsNameNoEntity(t *testing.T) {
	s := ComputeSeverity(Facts{Activity: bulwark.ActivityEffect, Impact: bulwark.ImpactSummary{ServicesDown: 3, CriticalDown: 2, PopulationDown: 12345,
		Sectors: []bulwark.Sector{"energy"}, Zones: []string{"ot"}}})
	for _, in := range s.Inputs {
		for _, secret := range []string{"water-supply", "scada"} {
			if strings.Contains(in.Value+in.Why, secret) {
				t.Errorf("input %s names %q: %s / %s", in.ID, secret, in.Value, in.Why)
			}
		}
	}
	if got := s.Inputs[1].Value; got != "12,345 without service, 0 degraded" {
		t.Errorf("population value %q", got)
	}
}

func TestOverrideApplies(t *testing.T) {
	s := ComputeSeverity(Facts{Activity: bulwark.ActivityEngage})
	s.Override = &bulwark.SeverityOverride{Level: bulwark.SeverityHigh, Reason: "threat intel: known actor", By: "ana", At: time.Now()}
	Apply(&s)
	if s.Level != bulwark.SeverityHigh || s.Computed != bulwark.SeverityLow {
		t.Fatalf("level %s computed %s", s.Level, s.Computed)
	}
	s.Override = nil
	Apply(&s)
	if s.Level != bulwark.SeverityLow {
		t.Fatalf("cleared override: level %s", s.Level)
	}
}

func TestEffectiveActivity(t *testing.T) {
	for _, tc := range []struct {
		given      bulwark.Activity
		down, comp bool
		im         bulwark.ImpactSummary
		want       bulwark.Activity
	}{
		{bulwark.ActivityPrepare, false, false, bulwark.ImpactSummary{}, bulwark.ActivityPrepare},
		{bulwark.ActivityPrepare, false, true, bulwark.ImpactSummary{}, bulwark.ActivityPresence},
		{bulwark.ActivityEngage, true, false, bulwark.ImpactSummary{}, bulwark.ActivityEffect},
		{bulwark.ActivityPresence, false, false, bulwark.ImpactSummary{ServicesDegraded: 1}, bulwark.ActivityEffect},
		{bulwark.ActivityEffect, false, false, bulwark.ImpactSummary{}, bulwark.ActivityEffect},
	} {
		if got := EffectiveActivity(tc.given, tc.im, tc.down, tc.comp); got != tc.want {
			t.Errorf("EffectiveActivity(%s, down=%v, compromised=%v) = %s, want %s", tc.given, tc.down, tc.comp, got, tc.want)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for s, want := range map[string]bulwark.SeverityLevel{"0": 0, "5": 5, "high": 3, "Emergency": 5, " severe ": 4} {
		if got, ok := bulwark.ParseSeverity(s); !ok || got != want {
			t.Errorf("ParseSeverity(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"6", "-1", "critical", "", "3.0"} {
		if _, ok := bulwark.ParseSeverity(s); ok {
			t.Errorf("ParseSeverity(%q) accepted", s)
		}
	}
	if bulwark.SeverityEmergency.Color() != "black" || bulwark.SeverityBaseline.Color() != "white" || bulwark.SeverityHigh.Color() != "orange" {
		t.Error("NCISS colours")
	}
}
