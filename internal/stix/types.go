package stix

import (
	"fmt"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

// Timestamp is a STIX timestamp. It is written in UTC with millisecond
// precision (more digits only when the time has sub-millisecond parts) and
// read with ParseTimestamp's rules.
type Timestamp struct{ time.Time }

// At returns t as a Timestamp, truncated to the millisecond (the precision
// STIX asks for on created and modified, and that TAXII servers keep).
func At(t time.Time) Timestamp { return Timestamp{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON writes the timestamp as a JSON string.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + FormatTimestamp(t.Time) + `"`), nil
}

// UnmarshalJSON reads a STIX timestamp string.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := unmarshal(b, &s); err != nil {
		return err
	}
	v, _, ok := ParseTimestamp(s)
	if !ok {
		return fmt.Errorf("%q is not a STIX timestamp", s)
	}
	t.Time = v
	return nil
}

// Core holds the properties common to the domain and relationship objects of
// this package's typed views. Custom collects every property the view does
// not name (x_ properties, properties of later spec versions), so that
// decoding into a view and encoding it again keeps them.
type Core struct {
	Type               string                    `json:"type"`
	SpecVersion        string                    `json:"spec_version"`
	ID                 string                    `json:"id"`
	CreatedByRef       string                    `json:"created_by_ref,omitzero"`
	Created            Timestamp                 `json:"created"`
	Modified           Timestamp                 `json:"modified"`
	Revoked            bool                      `json:"revoked,omitzero"`
	Labels             []string                  `json:"labels,omitzero"`
	Confidence         *int                      `json:"confidence,omitzero"`
	Lang               string                    `json:"lang,omitzero"`
	ExternalReferences []ExternalReference       `json:"external_references,omitzero"`
	ObjectMarkingRefs  []string                  `json:"object_marking_refs,omitzero"`
	GranularMarkings   []GranularMarking         `json:"granular_markings,omitzero"`
	Extensions         map[string]jsontext.Value `json:"extensions,omitzero"`
	Custom             map[string]jsontext.Value `json:",unknown"`
}

// KillChainPhase names a phase of a kill chain.
type KillChainPhase struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

// Vulnerability is a STIX vulnerability: a flaw in software, named (for CVEs)
// by its CVE id with a "cve" external reference.
type Vulnerability struct {
	Core
	Name        string `json:"name"`
	Description string `json:"description,omitzero"`
}

// Identity is a STIX identity: here, an organization.
type Identity struct {
	Core
	Name               string   `json:"name"`
	Description        string   `json:"description,omitzero"`
	Roles              []string `json:"roles,omitzero"`
	IdentityClass      string   `json:"identity_class,omitzero"`
	Sectors            []string `json:"sectors,omitzero"`
	ContactInformation string   `json:"contact_information,omitzero"`
}

// CourseOfAction is a STIX course-of-action: an action to take against a
// vulnerability or threat (a vendor fix, a mitigation, a workaround).
type CourseOfAction struct {
	Core
	Name        string `json:"name"`
	Description string `json:"description,omitzero"`
}

// Infrastructure is a STIX infrastructure: here, a city service or system.
type Infrastructure struct {
	Core
	Name                string           `json:"name"`
	Description         string           `json:"description,omitzero"`
	InfrastructureTypes []string         `json:"infrastructure_types,omitzero"`
	Aliases             []string         `json:"aliases,omitzero"`
	KillChainPhases     []KillChainPhase `json:"kill_chain_phases,omitzero"`
	FirstSeen           Timestamp        `json:"first_seen,omitzero"`
	LastSeen            Timestamp        `json:"last_seen,omitzero"`
}

// Indicator is a STIX indicator: a pattern that detects something.
type Indicator struct {
	Core
	Name            string           `json:"name,omitzero"`
	Description     string           `json:"description,omitzero"`
	IndicatorTypes  []string         `json:"indicator_types,omitzero"`
	Pattern         string           `json:"pattern"`
	PatternType     string           `json:"pattern_type"`
	PatternVersion  string           `json:"pattern_version,omitzero"`
	ValidFrom       Timestamp        `json:"valid_from"`
	ValidUntil      Timestamp        `json:"valid_until,omitzero"`
	KillChainPhases []KillChainPhase `json:"kill_chain_phases,omitzero"`
}

// Relationship is a STIX relationship between two objects.
type Relationship struct {
	Core
	RelationshipType string    `json:"relationship_type"`
	Description      string    `json:"description,omitzero"`
	SourceRef        string    `json:"source_ref"`
	TargetRef        string    `json:"target_ref"`
	StartTime        Timestamp `json:"start_time,omitzero"`
	StopTime         Timestamp `json:"stop_time,omitzero"`
}

// Sighting is a STIX sighting: something (an indicator, a vulnerability) was
// seen, by whom, when, how often.
type Sighting struct {
	Core
	Description      string    `json:"description,omitzero"`
	FirstSeen        Timestamp `json:"first_seen,omitzero"`
	LastSeen         Timestamp `json:"last_seen,omitzero"`
	Count            *int      `json:"count,omitzero"`
	SightingOfRef    string    `json:"sighting_of_ref"`
	ObservedDataRefs []string  `json:"observed_data_refs,omitzero"`
	WhereSightedRefs []string  `json:"where_sighted_refs,omitzero"`
	Summary          bool      `json:"summary,omitzero"`
}

// Report is a STIX report: a published collection of objects.
type Report struct {
	Core
	Name        string    `json:"name"`
	Description string    `json:"description,omitzero"`
	ReportTypes []string  `json:"report_types,omitzero"`
	Published   Timestamp `json:"published"`
	ObjectRefs  []string  `json:"object_refs"`
}

// Grouping is a STIX grouping: objects shared with a common context, not (yet)
// a finished report.
type Grouping struct {
	Core
	Name        string   `json:"name,omitzero"`
	Description string   `json:"description,omitzero"`
	Context     string   `json:"context"`
	ObjectRefs  []string `json:"object_refs"`
}

// Note is a STIX note: analyst text about other objects.
type Note struct {
	Core
	Abstract   string   `json:"abstract,omitzero"`
	Content    string   `json:"content"`
	Authors    []string `json:"authors,omitzero"`
	ObjectRefs []string `json:"object_refs"`
}

// Incident is a STIX incident. STIX 2.1 defines it as a stub (name and
// description); details travel in extensions.
type Incident struct {
	Core
	Name        string `json:"name"`
	Description string `json:"description,omitzero"`
}

// MarkingDefinitionView is the typed view of a marking-definition.
type MarkingDefinitionView struct {
	Type              string                    `json:"type"`
	SpecVersion       string                    `json:"spec_version"`
	ID                string                    `json:"id"`
	Created           Timestamp                 `json:"created"`
	CreatedByRef      string                    `json:"created_by_ref,omitzero"`
	Name              string                    `json:"name,omitzero"`
	DefinitionType    string                    `json:"definition_type,omitzero"`
	Definition        map[string]jsontext.Value `json:"definition,omitzero"`
	ObjectMarkingRefs []string                  `json:"object_marking_refs,omitzero"`
	Extensions        map[string]jsontext.Value `json:"extensions,omitzero"`
	Custom            map[string]jsontext.Value `json:",unknown"`
}

func decodeAs[T any](o *Object, typ string) (*T, error) {
	if o.Type() != typ {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s is a %s, not a %s", o.ID(), o.Type(), typ)
	}
	v := new(T)
	if err := o.Decode(v); err != nil {
		return nil, &bulwark.Error{Code: bulwark.EINVALID, Message: err.Error()}
	}
	return v, nil
}

// AsVulnerability returns the typed view of a vulnerability.
func (o *Object) AsVulnerability() (*Vulnerability, error) {
	return decodeAs[Vulnerability](o, "vulnerability")
}

// AsIdentity returns the typed view of an identity.
func (o *Object) AsIdentity() (*Identity, error) { return decodeAs[Identity](o, "identity") }

// AsCourseOfAction returns the typed view of a course-of-action.
func (o *Object) AsCourseOfAction() (*CourseOfAction, error) {
	return decodeAs[CourseOfAction](o, "course-of-action")
}

// AsInfrastructure returns the typed view of an infrastructure.
func (o *Object) AsInfrastructure() (*Infrastructure, error) {
	return decodeAs[Infrastructure](o, "infrastructure")
}

// AsIndicator returns the typed view of an indicator.
func (o *Object) AsIndicator() (*Indicator, error) { return decodeAs[Indicator](o, "indicator") }

// AsRelationship returns the typed view of a relationship.
func (o *Object) AsRelationship() (*Relationship, error) {
	return decodeAs[Relationship](o, "relationship")
}

// AsSighting returns the typed view of a sighting.
func (o *Object) AsSighting() (*Sighting, error) { return decodeAs[Sighting](o, "sighting") }

// AsReport returns the typed view of a report.
func (o *Object) AsReport() (*Report, error) { return decodeAs[Report](o, "report") }

// AsGrouping returns the typed view of a grouping.
func (o *Object) AsGrouping() (*Grouping, error) { return decodeAs[Grouping](o, "grouping") }

// AsNote returns the typed view of a note.
func (o *Object) AsNote() (*Note, error) { return decodeAs[Note](o, "note") }

// AsIncident returns the typed view of an incident.
func (o *Object) AsIncident() (*Incident, error) { return decodeAs[Incident](o, "incident") }

// AsMarkingDefinition returns the typed view of a marking-definition.
func (o *Object) AsMarkingDefinition() (*MarkingDefinitionView, error) {
	return decodeAs[MarkingDefinitionView](o, "marking-definition")
}
