package stix

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

// Object is one STIX object, kept losslessly: its canonical JSON (every
// property, custom x_ properties and extensions included, exactly as
// received apart from member order and whitespace) and the common properties
// parsed from it. An Object is immutable once made; its accessors return
// copies, and JSON returns bytes the caller must not modify. Make one with
// DecodeObject, DecodeBundle, ParseObject or New.
type Object struct {
	raw      []byte // canonical JSON (see Canonical)
	c        common
	created  time.Time
	modified time.Time
	refs     []Ref
	// upgradedFrom is "2.0" when the object was read as STIX 2.0 and upgraded.
	upgradedFrom string
}

// common holds the properties every STIX object may carry (section 3.2 of
// STIX 2.1), as they appear in the JSON.
type common struct {
	Type               string                    `json:"type"`
	ID                 string                    `json:"id"`
	SpecVersion        string                    `json:"spec_version"`
	Created            string                    `json:"created"`
	Modified           string                    `json:"modified"`
	Revoked            bool                      `json:"revoked"`
	CreatedByRef       string                    `json:"created_by_ref"`
	ObjectMarkingRefs  []string                  `json:"object_marking_refs"`
	GranularMarkings   []GranularMarking         `json:"granular_markings"`
	ExternalReferences []ExternalReference       `json:"external_references"`
	Labels             []string                  `json:"labels"`
	Confidence         *int64                    `json:"confidence"`
	Lang               string                    `json:"lang"`
	Extensions         map[string]jsontext.Value `json:"extensions"`
}

// GranularMarking applies a marking (or a language) to the parts of an
// object its selectors name.
type GranularMarking struct {
	Lang       string   `json:"lang,omitzero"`
	MarkingRef string   `json:"marking_ref,omitzero"`
	Selectors  []string `json:"selectors"`
}

// ExternalReference points to non-STIX information: a CVE record, an
// advisory, a web page.
type ExternalReference struct {
	SourceName  string            `json:"source_name"`
	Description string            `json:"description,omitzero"`
	URL         string            `json:"url,omitzero"`
	Hashes      map[string]string `json:"hashes,omitzero"`
	ExternalID  string            `json:"external_id,omitzero"`
}

// Ref is one identifier reference held by an object: a value of a property
// whose name ends in _ref or _refs, anywhere in the object, with the JSON
// pointer where it sits.
type Ref struct {
	Pointer string `json:"pointer"`
	ID      string `json:"id"`
}

// Type is the object's type ("indicator", "x-mitre-tactic").
func (o *Object) Type() string { return o.c.Type }

// ID is the object's identifier ("indicator--<UUID>").
func (o *Object) ID() string { return o.c.ID }

// SpecVersion is the object's spec_version: "2.1", or "" for a cyber-observable
// that omits it (which means 2.1). Objects read as STIX 2.0 are upgraded and
// say "2.1" (see UpgradedFrom).
func (o *Object) SpecVersion() string { return o.c.SpecVersion }

// UpgradedFrom is "2.0" when the object was read as STIX 2.0 and upgraded to
// 2.1 on import, and "" otherwise.
func (o *Object) UpgradedFrom() string { return o.upgradedFrom }

// Created is the object's created time (zero when absent, as on
// cyber-observables).
func (o *Object) Created() time.Time { return o.created }

// Modified is the object's modified time, which with the id identifies one
// version of an object (zero when absent: marking-definitions and
// cyber-observables have none).
func (o *Object) Modified() time.Time { return o.modified }

// Version is the text that tells this version of the object from others with
// the same id: the modified timestamp as written, or the created one for
// objects without modified, or "" for objects with neither (cyber-observables,
// which are not versioned).
func (o *Object) Version() string {
	if o.c.Modified != "" {
		return o.c.Modified
	}
	return o.c.Created
}

// VersionTime is Version as a time.
func (o *Object) VersionTime() time.Time {
	if !o.modified.IsZero() {
		return o.modified
	}
	return o.created
}

// Revoked reports whether the creator revoked the object: it is no longer
// considered valid and no further versions may follow.
func (o *Object) Revoked() bool { return o.c.Revoked }

// CreatedByRef is the identity that created the object, or "".
func (o *Object) CreatedByRef() string { return o.c.CreatedByRef }

// ObjectMarkingRefs lists the marking-definitions applying to the whole object.
func (o *Object) ObjectMarkingRefs() []string { return slices.Clone(o.c.ObjectMarkingRefs) }

// GranularMarkings lists the markings applying to parts of the object.
func (o *Object) GranularMarkings() []GranularMarking {
	out := slices.Clone(o.c.GranularMarkings)
	for i := range out {
		out[i].Selectors = slices.Clone(out[i].Selectors)
	}
	return out
}

// ExternalReferences lists the object's external references.
func (o *Object) ExternalReferences() []ExternalReference {
	out := slices.Clone(o.c.ExternalReferences)
	for i := range out {
		out[i].Hashes = maps.Clone(out[i].Hashes)
	}
	return out
}

// Labels lists the object's labels.
func (o *Object) Labels() []string { return slices.Clone(o.c.Labels) }

// Confidence is the creator's confidence (0-100) and whether it is set.
func (o *Object) Confidence() (int, bool) {
	if o.c.Confidence == nil {
		return 0, false
	}
	return int(*o.c.Confidence), true
}

// Lang is the language of the object's text, or "".
func (o *Object) Lang() string { return o.c.Lang }

// Extensions maps each extension's key (an extension-definition id, or a
// predefined "*-ext" name) to its raw JSON. The values must not be modified.
func (o *Object) Extensions() map[string]jsontext.Value { return maps.Clone(o.c.Extensions) }

// Refs lists every identifier reference the object holds (properties named
// *_ref and *_refs at any depth whose values are STIX identifiers), with
// JSON pointers relative to the object, in the order they were read.
func (o *Object) Refs() []Ref { return slices.Clone(o.refs) }

// JSON returns the object's canonical JSON. The caller must not modify it.
func (o *Object) JSON() []byte { return o.raw }

// MarshalJSON returns the canonical JSON.
func (o *Object) MarshalJSON() ([]byte, error) { return o.raw, nil }

// UnmarshalJSON reads one object strictly, as ParseObject does with
// DefaultLimits, so that an Object can sit inside other JSON documents (a
// TAXII envelope, a store record).
func (o *Object) UnmarshalJSON(data []byte) error {
	p, err := ParseObject(data, Limits{})
	if err != nil {
		return err
	}
	*o = *p
	return nil
}

// Decode unmarshals the object's JSON into v (a struct of this package such
// as *Vulnerability, or the caller's own), matching member names exactly.
func (o *Object) Decode(v any) error {
	if err := unmarshal(o.raw, v); err != nil {
		return fmt.Errorf("stix: decode %s: %w", o.c.ID, err)
	}
	return nil
}

// Property returns the raw JSON of the top-level property name.
func (o *Object) Property(name string) (jsontext.Value, bool) {
	var m map[string]jsontext.Value
	if err := unmarshal(o.raw, &m); err != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// Equal reports whether a and b are the same JSON (canonical forms equal).
func (o *Object) Equal(b *Object) bool { return bytes.Equal(o.raw, b.raw) }

// unmarshal is json.Unmarshal with the options every read of this package
// uses: exact (case-sensitive) names, no duplicates, unknown members ignored.
func unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v)
}

// Canonical returns the canonical form of a JSON value: RFC 8785 (JCS) —
// members sorted by name, no insignificant whitespace, minimal string
// escapes, floating-point numbers in their shortest IEEE 754 double form —
// except that integers are kept digit for digit (JCS would round integers
// beyond ±2^53 to a double; STIX integers such as byte counts may exceed
// that, and a lossless store must not change them).
func Canonical(data []byte) ([]byte, error) {
	v := jsontext.Value(bytes.Clone(data))
	if err := v.Canonicalize(jsontext.CanonicalizeRawInts(false)); err != nil {
		return nil, fmt.Errorf("stix: canonical JSON: %w", err)
	}
	return v, nil
}

// mustParse parses a constant object of this package.
func mustParse(s string) *Object {
	o, err := ParseObject([]byte(s), Limits{})
	if err != nil {
		panic("stix: built-in object: " + err.Error())
	}
	return o
}

// New makes an Object from a value this package or the caller built (a
// *Vulnerability, *Relationship...): it marshals v, then checks the result
// with the same rules as imports plus those Bulwark holds its own output to
// (see Validate). Builders in this package call it.
func New(v any) (*Object, error) {
	data, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("stix: marshal: %w", err)
	}
	o, err := ParseObject(data, Limits{})
	if err != nil {
		return nil, err
	}
	if probs := Validate(o); len(probs) > 0 {
		return nil, &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid STIX object " + o.ID(), Details: probs}
	}
	return o, nil
}
