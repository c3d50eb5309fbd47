package stix

import (
	"strings"
	"testing"
)

func TestCanonicalTLP(t *testing.T) {
	want := map[Marking]struct{ id, name, level string }{
		Clear:       {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR", "clear"},
		Green:       {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN", "green"},
		Amber:       {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER", "amber"},
		AmberStrict: {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT", "amber+strict"},
		Red:         {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED", "red"},
	}
	for _, m := range Markings {
		w := want[m]
		if m.ID() != w.id || m.String() != w.name {
			t.Errorf("%d: id %s name %s, want %s %s", m, m.ID(), m.String(), w.id, w.name)
		}
		o := m.MarkingDefinition()
		if o == nil || o.ID() != w.id || o.Created().Format("2006-01-02") != "2022-10-01" {
			t.Fatalf("%s: definition %v", m, o)
		}
		var md struct {
			Name string `json:"name"`
			Ext  map[string]struct {
				Type  string `json:"extension_type"`
				Level string `json:"tlp_2_0"`
			} `json:"extensions"`
		}
		if err := o.Decode(&md); err != nil {
			t.Fatal(err)
		}
		e := md.Ext[TLP2ExtensionID]
		if md.Name != w.name || e.Type != "property-extension" || e.Level != w.level {
			t.Errorf("%s: definition %s", m, o.JSON())
		}
		if p := Validate(o); len(p) > 0 {
			t.Errorf("%s: %v", m, p)
		}
		if got, ok := MarkingByID(w.id); !ok || got != m {
			t.Errorf("MarkingByID(%s) = %v %v", w.id, got, ok)
		}
	}
	if Unmarked.ID() != "" || Unmarked.MarkingDefinition() != nil {
		t.Error("Unmarked has an id")
	}
	for id, m := range map[string]Marking{TLP1WhiteID: Clear, TLP1GreenID: Green, TLP1AmberID: Amber, TLP1RedID: Red} {
		if got, ok := MarkingByID(id); !ok || got != m {
			t.Errorf("TLP 1.0 %s = %v, want %v", id, got, m)
		}
		if o := CanonicalMarkingDefinition(id); o == nil || !strings.Contains(string(o.JSON()), `"definition_type":"tlp"`) {
			t.Errorf("TLP 1.0 %s definition %v", id, o)
		}
	}
	// Strictness order.
	for i := 1; i < len(Markings); i++ {
		if !Markings[i].StricterThan(Markings[i-1]) || Markings[i-1].StricterThan(Markings[i]) {
			t.Errorf("%s not stricter than %s", Markings[i], Markings[i-1])
		}
	}
	if !Clear.StricterThan(Unmarked) {
		t.Error("Clear not stricter than Unmarked")
	}
}

func TestParseMarking(t *testing.T) {
	for in, want := range map[string]Marking{
		"TLP:CLEAR": Clear, "clear": Clear, "TLP:WHITE": Clear, "white": Clear, " tlp:green ": Green,
		"TLP:AMBER": Amber, "amber+strict": AmberStrict, "TLP:AMBER+STRICT": AmberStrict, "RED": Red,
	} {
		if got, ok := ParseMarking(in); !ok || got != want {
			t.Errorf("ParseMarking(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "TLP:", "amber strict", "TLP:PINK", "TLP:AMBER+"} {
		if got, ok := ParseMarking(in); ok {
			t.Errorf("ParseMarking(%q) = %v, want failure", in, got)
		}
	}
}

// TestMarkingOf_AC03 maps every TLP id, unknown and wrong ids, mixed TLP
// 1.0 and 2.0 and several markings on one object: the result is the most
// restrictive, and anything unknown is RED (fail closed).
func TestMarkingOf_AC03(t *testing.T) {
	const (
		stmtID   = "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"
		fakeTLP  = "marking-definition--0b9a4f7c-5c34-4b2c-9a34-4d3f0c1a2b3c"
		wrongRed = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec" // one digit off TLP 1.0 RED
		pap      = "marking-definition--c43594d1-4b11-4c59-93ab-1c9b14d53ce9"
	)
	stmt := mustParse(`{"type":"marking-definition","spec_version":"2.1","id":"` + stmtID + `","created":"2017-06-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2015-2025, The MITRE Corporation."}}`)
	fake := mustParse(`{"type":"marking-definition","spec_version":"2.1","id":"` + fakeTLP + `","created":"2022-10-01T00:00:00.000Z","name":"TLP:CLEAR","extensions":{"` + TLP2ExtensionID + `":{"extension_type":"property-extension","tlp_2_0":"clear"}}}`)
	papDef := mustParse(`{"type":"marking-definition","spec_version":"2.1","id":"` + pap + `","created":"2022-10-01T00:00:00.000Z","name":"PAP:GREEN","extensions":{"extension-definition--f8d78575-edfd-406e-8e84-6162a8450f5b":{"extension_type":"property-extension","pap":"green"}}}`)
	defs := NewDefinitions(stmt, fake, papDef, Red.MarkingDefinition())

	tests := []struct {
		name     string
		refs     []string
		granular string
		defs     *Definitions
		want     Marking
	}{
		{name: "none", want: Unmarked},
		{name: "clear", refs: []string{TLPClearID}, want: Clear},
		{name: "green", refs: []string{TLPGreenID}, want: Green},
		{name: "amber", refs: []string{TLPAmberID}, want: Amber},
		{name: "amber+strict", refs: []string{TLPAmberStrictID}, want: AmberStrict},
		{name: "red", refs: []string{TLPRedID}, want: Red},
		{name: "1.0 white", refs: []string{TLP1WhiteID}, want: Clear},
		{name: "1.0 green", refs: []string{TLP1GreenID}, want: Green},
		{name: "1.0 amber", refs: []string{TLP1AmberID}, want: Amber},
		{name: "1.0 red", refs: []string{TLP1RedID}, want: Red},
		{name: "mixed 1.0 white and 2.0 amber+strict", refs: []string{TLP1WhiteID, TLPAmberStrictID}, want: AmberStrict},
		{name: "mixed 2.0 red and 1.0 green", refs: []string{TLPRedID, TLP1GreenID}, want: Red},
		{name: "several", refs: []string{TLPGreenID, TLPClearID, TLPAmberID}, want: Amber},
		{name: "unknown", refs: []string{"marking-definition--3c2c3c2c-1111-4222-8333-444455556666"}, want: Red},
		{name: "unknown beside clear", refs: []string{TLPClearID, "marking-definition--3c2c3c2c-1111-4222-8333-444455556666"}, want: Red},
		{name: "wrong id seen in public code", refs: []string{wrongRed}, want: Red},
		{name: "statement without definitions", refs: []string{stmtID}, want: Red},
		{name: "statement with definitions", refs: []string{stmtID}, defs: defs, want: Unmarked},
		{name: "statement and green", refs: []string{stmtID, TLPGreenID}, defs: defs, want: Green},
		{name: "non-canonical id claiming clear", refs: []string{fakeTLP}, defs: defs, want: Red},
		{name: "PAP marking", refs: []string{pap}, defs: defs, want: Red},
		{name: "granular red over object clear", refs: []string{TLPClearID}, granular: `{"selectors":["description"],"marking_ref":"` + TLPRedID + `"}`, want: Red},
		{name: "granular language only", refs: []string{TLPGreenID}, granular: `{"selectors":["description"],"lang":"de"}`, want: Green},
		{name: "granular unknown", granular: `{"selectors":["description"],"marking_ref":"` + wrongRed + `"}`, defs: defs, want: Red},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			extra := `,"description":"d"`
			if len(tc.refs) > 0 {
				extra += `,"object_marking_refs":["` + strings.Join(tc.refs, `","`) + `"]`
			}
			if tc.granular != "" {
				extra += `,"granular_markings":[` + tc.granular + `]`
			}
			o := mustParse(campaign(extra))
			got := tc.defs.MarkingOf(o)
			if tc.defs == nil {
				if g2 := MarkingOf(o); g2 != got {
					t.Errorf("MarkingOf %v != nil Definitions %v", g2, got)
				}
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if MarkingOf(nil) != Red {
		t.Error("MarkingOf(nil) is not Red")
	}
}
