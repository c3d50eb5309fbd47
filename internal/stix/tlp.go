package stix

import (
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Marking is a Traffic Light Protocol 2.0 level. The zero value, Unmarked,
// means the object carries no TLP marking at all: what an unmarked object may
// reach is a policy decision outside this package. The other values are
// ordered from least to most restrictive, so max() gives the most restrictive
// of several markings.
type Marking uint8

// TLP 2.0 levels in increasing strictness.
const (
	Unmarked    Marking = iota // no TLP marking
	Clear                      // TLP:CLEAR (TLP 1.0 WHITE)
	Green                      // TLP:GREEN
	Amber                      // TLP:AMBER (TLP 1.0 AMBER)
	AmberStrict                // TLP:AMBER+STRICT
	Red                        // TLP:RED
)

// Markings lists the five TLP 2.0 levels from least to most restrictive.
var Markings = []Marking{Clear, Green, Amber, AmberStrict, Red}

var markingNames = [...]string{"", "TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"}

// String returns the TLP label ("TLP:AMBER+STRICT"), or "" for Unmarked.
func (m Marking) String() string {
	if int(m) < len(markingNames) {
		return markingNames[m]
	}
	return "invalid"
}

// Valid reports whether m is Unmarked or one of the five levels.
func (m Marking) Valid() bool { return m <= Red }

// StricterThan reports whether m restricts sharing more than o. Any TLP level
// is stricter than Unmarked.
func (m Marking) StricterThan(o Marking) bool { return m > o }

// ParseMarking reads a TLP label: "TLP:CLEAR", "clear", "TLP:AMBER+STRICT",
// "amber+strict"; case-insensitive, with or without the "TLP:" prefix. TLP 1.0's
// "WHITE" is read as Clear. It returns false for anything else.
func ParseMarking(s string) (Marking, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "TLP:")
	switch s {
	case "CLEAR", "WHITE":
		return Clear, true
	case "GREEN":
		return Green, true
	case "AMBER":
		return Amber, true
	case "AMBER+STRICT":
		return AmberStrict, true
	case "RED":
		return Red, true
	}
	return Unmarked, false
}

// TLP 2.0 marking-definition identifiers, as published by the OASIS CTI TC
// with the TLP 2.0 property extension (cti-stix-common-objects,
// extension-definition-specifications/tlp-2.0). They are fixed: consumers
// recognise TLP by these identifiers, never by a marking's name.
const (
	TLPClearID       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	TLPGreenID       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	TLPAmberID       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	TLPAmberStrictID = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	TLPRedID         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

	// TLP2ExtensionID is the extension-definition every TLP 2.0 marking
	// declares itself through (property "tlp_2_0").
	TLP2ExtensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
	// tlp2Created is the created timestamp of the published TLP 2.0 objects.
	tlp2Created = "2022-10-01T00:00:00.000Z"
)

// TLP 1.0 marking-definition identifiers, predefined by STIX 2.1 (section
// 7.2.1.4). Bulwark reads them and maps them to their TLP 2.0 equivalent
// (WHITE→CLEAR, GREEN→GREEN, AMBER→AMBER, RED→RED); it never produces them.
const (
	TLP1WhiteID = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	TLP1GreenID = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	TLP1AmberID = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	TLP1RedID   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
	tlp1Created = "2017-01-20T00:00:00.000Z"
)

var tlp2IDs = [...]string{"", TLPClearID, TLPGreenID, TLPAmberID, TLPAmberStrictID, TLPRedID}

// canonicalTLP maps every canonical TLP marking-definition id (1.0 and 2.0)
// to its TLP 2.0 level.
var canonicalTLP = map[string]Marking{
	TLPClearID: Clear, TLPGreenID: Green, TLPAmberID: Amber, TLPAmberStrictID: AmberStrict, TLPRedID: Red,
	TLP1WhiteID: Clear, TLP1GreenID: Green, TLP1AmberID: Amber, TLP1RedID: Red,
}

// tlp1Name is the TLP 1.0 definition value ("white") of each TLP 1.0 id.
var tlp1Name = map[string]string{TLP1WhiteID: "white", TLP1GreenID: "green", TLP1AmberID: "amber", TLP1RedID: "red"}

// ID returns the canonical TLP 2.0 marking-definition id of m, or "" for
// Unmarked.
func (m Marking) ID() string {
	if m == Unmarked || !m.Valid() {
		return ""
	}
	return tlp2IDs[m]
}

// MarkingByID returns the TLP level of a canonical TLP 1.0 or 2.0
// marking-definition id, and false for any other id.
func MarkingByID(id string) (Marking, bool) {
	m, ok := canonicalTLP[id]
	return m, ok
}

// IsTLPID reports whether id is one of the nine canonical TLP
// marking-definition ids (five TLP 2.0, four TLP 1.0).
func IsTLPID(id string) bool { _, ok := canonicalTLP[id]; return ok }

// tlp2JSON is the published JSON of each TLP 2.0 marking-definition.
func tlp2JSON(m Marking) string {
	return `{"type":"marking-definition","spec_version":"2.1","id":"` + m.ID() + `","created":"` + tlp2Created +
		`","name":"` + m.String() + `","extensions":{"` + TLP2ExtensionID +
		`":{"extension_type":"property-extension","tlp_2_0":"` + strings.ToLower(strings.TrimPrefix(m.String(), "TLP:")) + `"}}}`
}

// tlp1JSON is the JSON of a TLP 1.0 marking-definition as STIX 2.1 predefines it.
func tlp1JSON(id string) string {
	n := tlp1Name[id]
	return `{"type":"marking-definition","spec_version":"2.1","id":"` + id + `","created":"` + tlp1Created +
		`","definition_type":"tlp","name":"TLP:` + strings.ToUpper(n) + `","definition":{"tlp":"` + n + `"}}`
}

var tlpObjects = func() map[string]*Object {
	m := make(map[string]*Object, len(canonicalTLP))
	for _, lvl := range Markings {
		m[lvl.ID()] = mustParse(tlp2JSON(lvl))
	}
	for id := range tlp1Name {
		m[id] = mustParse(tlp1JSON(id))
	}
	return m
}()

// MarkingDefinition returns the canonical TLP 2.0 marking-definition object
// of m (nil for Unmarked). Bundles Bulwark publishes carry the definitions of
// the markings they use.
func (m Marking) MarkingDefinition() *Object {
	if m == Unmarked || !m.Valid() {
		return nil
	}
	return tlpObjects[m.ID()]
}

// CanonicalMarkingDefinition returns the canonical object of any of the nine
// TLP ids (TLP 1.0 ones included), or nil.
func CanonicalMarkingDefinition(id string) *Object { return tlpObjects[id] }

// Definitions knows which marking-definitions are not TLP, so that they do not
// count against an object's TLP. Build it from the marking-definition objects
// a bundle or store holds with NewDefinitions. The zero value and nil know
// none: then every non-TLP marking reference is treated as Red.
type Definitions struct {
	neutral map[string]bool
}

// NewDefinitions records which of defs are neutral: statement markings
// (definition_type "statement", such as copyright or terms of use, with no
// extension), which say nothing about who may see an object. Any other
// marking-definition that is not a canonical TLP one — a marking with an
// unknown definition type or extension, or one that claims a TLP level under
// an id other than the canonical one — stays unknown and counts as Red.
func NewDefinitions(defs ...*Object) *Definitions {
	d := &Definitions{neutral: map[string]bool{}}
	for _, o := range defs {
		if o == nil || o.Type() != "marking-definition" || IsTLPID(o.ID()) {
			continue
		}
		if isStatementMarking(o) {
			d.neutral[o.ID()] = true
		}
	}
	return d
}

// Neutral reports whether id was recorded as a non-TLP statement marking.
func (d *Definitions) Neutral(id string) bool { return d != nil && d.neutral[id] }

// isStatementMarking reports whether a marking-definition is a plain
// statement marking that claims no TLP level.
func isStatementMarking(o *Object) bool {
	if len(o.Extensions()) > 0 || claimsTLP(o) != "" {
		return false
	}
	var def struct {
		DefinitionType string `json:"definition_type"`
		Definition     struct {
			Statement *string `json:"statement"`
		} `json:"definition"`
	}
	if err := o.Decode(&def); err != nil {
		return false
	}
	return def.DefinitionType == "statement" && def.Definition.Statement != nil
}

// claimsTLP returns the first TLP label a marking-definition states about
// itself (through a TLP 1.0 definition, the TLP 2.0 extension or its name),
// or "".
func claimsTLP(o *Object) string {
	var props map[string]jsontext.Value
	if unmarshal(o.raw, &props) != nil {
		return ""
	}
	if c := tlpClaims(props); len(c) > 0 {
		return c[0].label
	}
	return ""
}

// MarkingOf returns the effective TLP of o: the most restrictive level among
// the marking-definitions its object_marking_refs and granular_markings
// reference. Granular markings count because Bulwark does not redact single
// properties: an object with a RED description is RED as a whole. TLP 1.0 ids
// count as their TLP 2.0 equivalent. A reference to any other
// marking-definition is unknown and counts as Red (fail closed); use
// Definitions.MarkingOf to let statement markings (copyright, terms of use)
// through. An object without markings is Unmarked.
func MarkingOf(o *Object) Marking { return (*Definitions)(nil).MarkingOf(o) }

// MarkingOf is MarkingOf with d's neutral statement markings ignored.
func (d *Definitions) MarkingOf(o *Object) Marking {
	if o == nil {
		return Red
	}
	m := Unmarked
	for _, ref := range o.ObjectMarkingRefs() {
		m = max(m, d.level(ref))
	}
	for _, g := range o.GranularMarkings() {
		if g.MarkingRef != "" {
			m = max(m, d.level(g.MarkingRef))
		}
	}
	return m
}

func (d *Definitions) level(ref string) Marking {
	if lvl, ok := canonicalTLP[ref]; ok {
		return lvl
	}
	if d.Neutral(ref) {
		return Unmarked
	}
	return Red
}
