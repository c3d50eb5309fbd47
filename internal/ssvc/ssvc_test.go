package ssvc

import (
	"strings"
	"testing"
	"time"

	"bulwark"
)

// cisaTable is CISA's coordinator decision table 2.0.3 as published (one row
// per line: exploitation, automatable, technical impact, mission &
// well-being, decision), written independently of tree's index arithmetic.
const cisaTable = `none,no,partial,low,track
none,no,partial,medium,track
none,no,partial,high,track
none,no,total,low,track
none,no,total,medium,track
none,no,total,high,track*
none,yes,partial,low,track
none,yes,partial,medium,track
none,yes,partial,high,attend
none,yes,total,low,track
none,yes,total,medium,track
none,yes,total,high,attend
public poc,no,partial,low,track
public poc,no,partial,medium,track
public poc,no,partial,high,track*
public poc,no,total,low,track
public poc,no,total,medium,track*
public poc,no,total,high,attend
public poc,yes,partial,low,track
public poc,yes,partial,medium,track
public poc,yes,partial,high,attend
public poc,yes,total,low,track
public poc,yes,total,medium,track*
public poc,yes,total,high,attend
active,no,partial,low,track
active,no,partial,medium,track
active,no,partial,high,attend
active,no,total,low,track
active,no,total,medium,attend
active,no,total,high,act
active,yes,partial,low,attend
active,yes,partial,medium,attend
active,yes,partial,high,act
active,yes,total,low,attend
active,yes,total,medium,act
active,yes,total,high,act`

func TestDecideMatchesCISATable(t *testing.T) {
	rows := strings.Split(cisaTable, "\n")
	if len(rows) != 36 {
		t.Fatalf("table has %d rows", len(rows))
	}
	for _, row := range rows {
		f := strings.Split(row, ",")
		e := f[0]
		if e == "public poc" {
			e = ExploitPoC
		}
		got, err := Decide(bulwark.SSVCInputs{Exploitation: e, Automatable: f[1], TechnicalImpact: f[2], MissionWellbeing: f[3]})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(string(got), f[4]) {
			t.Errorf("%s: got %s", row, got)
		}
	}
}

// TestDecideMonotone: raising any decision point never lowers the decision.
func TestDecideMonotone(t *testing.T) {
	es := []string{ExploitNone, ExploitPoC, ExploitActive}
	as := []string{No, Yes}
	ts := []string{Partial, Total}
	ms := []string{Low, Medium, High}
	rank := func(e, a, ti, m int) int {
		d, err := Decide(bulwark.SSVCInputs{Exploitation: es[e], Automatable: as[a], TechnicalImpact: ts[ti], MissionWellbeing: ms[m]})
		if err != nil {
			t.Fatal(err)
		}
		return Rank(d)
	}
	for e := range es {
		for a := range as {
			for ti := range ts {
				for m := range ms {
					r := rank(e, a, ti, m)
					if e+1 < len(es) && rank(e+1, a, ti, m) < r ||
						a+1 < len(as) && rank(e, a+1, ti, m) < r ||
						ti+1 < len(ts) && rank(e, a, ti+1, m) < r ||
						m+1 < len(ms) && rank(e, a, ti, m+1) < r {
						t.Errorf("not monotone at %s/%s/%s/%s", es[e], as[a], ts[ti], ms[m])
					}
				}
			}
		}
	}
}

func TestDecideRejectsUnknownValues(t *testing.T) {
	for _, in := range []bulwark.SSVCInputs{
		{},
		{Exploitation: "maybe", Automatable: No, TechnicalImpact: Partial, MissionWellbeing: Low},
		{Exploitation: ExploitNone, Automatable: "YES", TechnicalImpact: Partial, MissionWellbeing: Low},
		{Exploitation: ExploitNone, Automatable: No, TechnicalImpact: Partial, MissionWellbeing: "critical"},
	} {
		if _, err := Decide(in); bulwark.ErrorCode(err) != bulwark.EINVALID {
			t.Errorf("Decide(%+v) = %v, want invalid", in, err)
		}
	}
}

func TestInputs(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	netTotal := bulwark.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", BaseScore: 9.8, Primary: true}
	localPartial := bulwark.CVSS{Version: "3.1", Vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N", BaseScore: 4.2}
	v4 := bulwark.CVSS{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", BaseScore: 9.3}
	essentialHigh := Mission{Category: bulwark.Category{Availability: bulwark.LevelHigh}, ServicesLost: 2, PopulationLost: 50000}
	supportOnly := Mission{Category: bulwark.Category{Availability: bulwark.LevelLow}}
	for _, tc := range []struct {
		name string
		v    bulwark.Vulnerability
		m    Mission
		want bulwark.SSVCInputs
		dec  bulwark.SSVCDecision
	}{
		{"kev network total on an essential asset",
			bulwark.Vulnerability{KEV: &bulwark.KEVEntry{DateAdded: day("2024-01-02")}, CVSS: []bulwark.CVSS{localPartial, netTotal}}, essentialHigh,
			bulwark.SSVCInputs{Exploitation: ExploitActive, Automatable: Yes, TechnicalImpact: Total, MissionWellbeing: High}, bulwark.SSVCAct},
		{"nothing known on an unused asset",
			bulwark.Vulnerability{}, Mission{},
			bulwark.SSVCInputs{Exploitation: ExploitNone, Automatable: No, TechnicalImpact: Partial, MissionWellbeing: Low}, bulwark.SSVCTrack},
		{"ADP wins over CVSS",
			bulwark.Vulnerability{ADP: &bulwark.SSVCPoints{Exploitation: "poc", Automatable: "no", TechnicalImpact: "partial"}, CVSS: []bulwark.CVSS{netTotal}}, supportOnly,
			bulwark.SSVCInputs{Exploitation: ExploitPoC, Automatable: No, TechnicalImpact: Partial, MissionWellbeing: Medium}, bulwark.SSVCTrack},
		{"exploit reference and CVSS 4",
			bulwark.Vulnerability{References: []bulwark.Reference{{URL: "https://example.org/x", Tags: []string{"Exploit", "Third Party Advisory"}}}, CVSS: []bulwark.CVSS{netTotal, v4}}, essentialHigh,
			bulwark.SSVCInputs{Exploitation: ExploitPoC, Automatable: Yes, TechnicalImpact: Total, MissionWellbeing: High}, bulwark.SSVCAttend},
		{"EPSS above threshold",
			bulwark.Vulnerability{EPSS: &bulwark.EPSSScore{Score: 0.42}, CVSS: []bulwark.CVSS{localPartial}}, supportOnly,
			bulwark.SSVCInputs{Exploitation: ExploitPoC, Automatable: No, TechnicalImpact: Partial, MissionWellbeing: Medium}, bulwark.SSVCTrack},
		{"EPSS below threshold",
			bulwark.Vulnerability{EPSS: &bulwark.EPSSScore{Score: 0.02}}, supportOnly,
			bulwark.SSVCInputs{Exploitation: ExploitNone, Automatable: No, TechnicalImpact: Partial, MissionWellbeing: Medium}, bulwark.SSVCTrack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Inputs(&tc.v, tc.m, DefaultPolicy())
			if got.Exploitation != tc.want.Exploitation || got.Automatable != tc.want.Automatable ||
				got.TechnicalImpact != tc.want.TechnicalImpact || got.MissionWellbeing != tc.want.MissionWellbeing {
				t.Fatalf("Inputs = %+v, want %+v", got, tc.want)
			}
			if len(got.Why) != 4 {
				t.Errorf("want one reason per decision point, got %q", got.Why)
			}
			d, err := Decide(got)
			if err != nil || d != tc.dec {
				t.Errorf("Decide = %v, %v; want %v", d, err, tc.dec)
			}
		})
	}
}

func TestDue(t *testing.T) {
	seen := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
	p := DefaultPolicy()
	v := &bulwark.Vulnerability{}
	if got, want := Due(v, bulwark.SSVCAct, seen, p), time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Act due %v, want %v", got, want)
	}
	if got := Due(v, bulwark.SSVCTrack, seen, p); !got.After(Due(v, bulwark.SSVCAttend, seen, p)) {
		t.Errorf("Track due %v not after Attend", got)
	}
	kev := &bulwark.Vulnerability{KEV: &bulwark.KEVEntry{DueDate: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)}}
	if got := Due(kev, bulwark.SSVCAct, seen, p); !got.Equal(kev.KEV.DueDate) {
		t.Errorf("KEV due date should win when earlier: %v", got)
	}
	// A KEV deadline already passed when the finding is first seen does
	// not make it overdue at once: the decision's deadline applies.
	old := &bulwark.Vulnerability{KEV: &bulwark.KEVEntry{DueDate: time.Date(2022, 5, 1, 0, 0, 0, 0, time.UTC)}}
	if got, want := Due(old, bulwark.SSVCAct, seen, p), time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("KEV due date before first seen: due %v, want the Act deadline %v", got, want)
	}
	sameDay := &bulwark.Vulnerability{KEV: &bulwark.KEVEntry{DueDate: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}}
	if got := Due(sameDay, bulwark.SSVCAct, seen, p); !got.Equal(sameDay.KEV.DueDate) {
		t.Errorf("KEV due the day first seen should still count: %v", got)
	}
	late := &bulwark.Vulnerability{KEV: &bulwark.KEVEntry{DueDate: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if got := Due(late, bulwark.SSVCAct, seen, p); !got.Before(late.KEV.DueDate) {
		t.Errorf("policy deadline should win when earlier than KEV's: %v", got)
	}
}
