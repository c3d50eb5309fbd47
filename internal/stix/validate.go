package stix

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/jsonptr"
)

// Kind classifies a STIX type.
type Kind uint8

// Kinds of STIX objects.
const (
	KindCustom Kind = iota // a type the specification does not define (x-mitre-tactic)
	KindSDO                // STIX domain object
	KindSRO                // relationship or sighting
	KindSCO                // cyber-observable
	KindMeta               // marking-definition, language-content, extension-definition
)

// sdoRequired lists the STIX 2.1 domain object types with the properties
// each requires beyond the common ones.
var sdoRequired = map[string][]string{
	"attack-pattern": {"name"}, "campaign": {"name"}, "course-of-action": {"name"},
	"grouping": {"context", "object_refs"}, "identity": {"name"}, "incident": {"name"},
	"indicator": {"pattern", "pattern_type", "valid_from"}, "infrastructure": {"name"},
	"intrusion-set": {"name"}, "location": nil, "malware": {"is_family"},
	"malware-analysis": {"product"}, "note": {"content", "object_refs"},
	"observed-data": {"first_observed", "last_observed", "number_observed"},
	"opinion":       {"opinion", "object_refs"}, "report": {"name", "published", "object_refs"},
	"threat-actor": {"name"}, "tool": {"name"}, "vulnerability": {"name"},
}

var sroRequired = map[string][]string{
	"relationship": {"relationship_type", "source_ref", "target_ref"},
	"sighting":     {"sighting_of_ref"},
}

var scoTypes = map[string]bool{
	"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true, "email-addr": true,
	"email-message": true, "file": true, "ipv4-addr": true, "ipv6-addr": true, "mac-addr": true, "mutex": true,
	"network-traffic": true, "process": true, "software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true,
}

var metaRequired = map[string][]string{
	"marking-definition":   nil,
	"language-content":     {"object_ref", "contents"},
	"extension-definition": {"created_by_ref", "name", "schema", "version", "extension_types"},
}

// KindOf classifies a type name.
func KindOf(typ string) Kind {
	switch {
	case sdoRequired[typ] != nil || typ == "location":
		return KindSDO
	case sroRequired[typ] != nil:
		return KindSRO
	case scoTypes[typ]:
		return KindSCO
	}
	if _, ok := metaRequired[typ]; ok {
		return KindMeta
	}
	return KindCustom
}

// versioned reports whether objects of o's kind carry created and modified:
// domain and relationship objects, language-content and
// extension-definitions, and custom objects that have a created (custom
// objects shaped as observables have neither).
func versioned(o *Object) bool {
	switch KindOf(o.c.Type) {
	case KindSDO, KindSRO:
		return true
	case KindMeta:
		return o.c.Type != "marking-definition"
	case KindCustom:
		return o.c.Created != ""
	}
	return false
}

var (
	relationshipTypeRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	cveRE              = regexp.MustCompile(`^CVE-\d{4}-(0\d{3}|[1-9]\d{3,})$`)
	selectorRE         = regexp.MustCompile(`^([a-z0-9_-]{3,249}(\.(\[\d+\]|[a-z0-9_-]{1,250}))*|id)$`)
	extensionKeyRE     = regexp.MustCompile(`^([a-z][a-z0-9]*)+(-[a-z0-9]+)*-ext$`)
)

// problems collects located problems of one object.
type problems struct {
	base string
	list []bulwark.Problem
}

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, bulwark.Problem{Field: shortPointer(p.base + field), Message: fmt.Sprintf(format, args...)})
}

// wire is what one decode of an object's canonical JSON yields: the common
// properties and, raw, the type-specific ones validateType reads.
type wire struct {
	common
	typeProps
}

type typeProps struct {
	RelationshipType jsontext.Value `json:"relationship_type"`
	SourceRef        jsontext.Value `json:"source_ref"`
	TargetRef        jsontext.Value `json:"target_ref"`
	StartTime        jsontext.Value `json:"start_time"`
	StopTime         jsontext.Value `json:"stop_time"`
	SightingOfRef    jsontext.Value `json:"sighting_of_ref"`
	ObservedDataRefs jsontext.Value `json:"observed_data_refs"`
	WhereSightedRefs jsontext.Value `json:"where_sighted_refs"`
	Count            jsontext.Value `json:"count"`
	FirstSeen        jsontext.Value `json:"first_seen"`
	LastSeen         jsontext.Value `json:"last_seen"`
	ValidFrom        jsontext.Value `json:"valid_from"`
	ValidUntil       jsontext.Value `json:"valid_until"`
	Published        jsontext.Value `json:"published"`
	ObjectRefs       jsontext.Value `json:"object_refs"`
	FirstObserved    jsontext.Value `json:"first_observed"`
	LastObserved     jsontext.Value `json:"last_observed"`
	NumberObserved   jsontext.Value `json:"number_observed"`
	DefinitionType   jsontext.Value `json:"definition_type"`
	Definition       jsontext.Value `json:"definition"`
	Name             jsontext.Value `json:"name"`
}

// props returns the object's top-level property names (present, nil
// value) with the raw values of the type-specific ones.
func (w *wire) props(names []string) map[string]jsontext.Value {
	m := make(map[string]jsontext.Value, len(names))
	for _, n := range names {
		m[n] = nil
	}
	t := &w.typeProps
	for _, kv := range [...]struct {
		name string
		v    jsontext.Value
	}{
		{"relationship_type", t.RelationshipType}, {"source_ref", t.SourceRef}, {"target_ref", t.TargetRef},
		{"start_time", t.StartTime}, {"stop_time", t.StopTime}, {"sighting_of_ref", t.SightingOfRef},
		{"observed_data_refs", t.ObservedDataRefs}, {"where_sighted_refs", t.WhereSightedRefs}, {"count", t.Count},
		{"first_seen", t.FirstSeen}, {"last_seen", t.LastSeen}, {"valid_from", t.ValidFrom}, {"valid_until", t.ValidUntil},
		{"published", t.Published}, {"object_refs", t.ObjectRefs}, {"first_observed", t.FirstObserved},
		{"last_observed", t.LastObserved}, {"number_observed", t.NumberObserved}, {"definition_type", t.DefinitionType},
		{"definition", t.Definition}, {"name", t.Name},
	} {
		if kv.v != nil {
			m[kv.name] = kv.v
		}
	}
	if w.Extensions != nil && w.Type == "marking-definition" {
		if data, err := json.Marshal(w.Extensions, json.Deterministic(true)); err == nil {
			m["extensions"] = data
		}
	}
	return m
}

// validateImport checks the rules of STIX 2.1 that the OASIS JSON schemas do
// not (identifier format and type, timestamps, modified not before created,
// reference targets, TLP ids) plus the schemas' requirements Bulwark relies
// on (required properties, non-empty lists, marking shapes). It fills
// o.created and o.modified.
func validateImport(o *Object, props map[string]jsontext.Value, base string) []bulwark.Problem {
	p := &problems{base: base}
	c := &o.c

	switch {
	case c.Type == "":
		p.add("/type", "missing: every STIX object has a type")
	case !validTypeName(c.Type):
		p.add("/type", "invalid type %q: 3-250 characters of a-z, 0-9 and hyphen, starting with a letter", c.Type)
	}
	switch t, _, ok := ParseID(c.ID); {
	case c.ID == "":
		p.add("/id", "missing: every STIX object has an id")
	case !ok:
		p.add("/id", "invalid identifier %q: want <type>--<RFC 4122 UUID>", c.ID)
	case c.Type != "" && t != c.Type:
		p.add("/id", "identifier %q does not start with the object's type %q", c.ID, c.Type)
	}
	switch c.SpecVersion {
	case "", "2.0", "2.1":
	default:
		p.add("/spec_version", "unsupported STIX version %q (2.0 and 2.1 are read)", c.SpecVersion)
	}

	o.created = timestampProp(p, "/created", c.Created)
	o.modified = timestampProp(p, "/modified", c.Modified)
	if !o.created.IsZero() && !o.modified.IsZero() && o.modified.Before(o.created) {
		p.add("/modified", "modified %s is before created %s", c.Modified, c.Created)
	}

	kind := KindOf(c.Type)
	if versioned(o) {
		if _, ok := props["created"]; !ok {
			p.add("/created", "missing: required on type %s", c.Type)
		}
		if _, ok := props["modified"]; !ok {
			p.add("/modified", "missing: required on type %s", c.Type)
		}
	}
	if c.Type == "marking-definition" {
		if _, ok := props["created"]; !ok {
			p.add("/created", "missing: required on a marking-definition")
		}
		if _, ok := props["modified"]; ok {
			p.add("/modified", "marking-definitions are not versioned: no modified")
		}
	}
	var required []string
	switch kind {
	case KindSDO:
		required = sdoRequired[c.Type]
	case KindSRO:
		required = sroRequired[c.Type]
	case KindMeta:
		required = metaRequired[c.Type]
	}
	legacy := needsUpgrade(o)
	for _, name := range required {
		if legacy && (name == "pattern_type" || name == "is_family") {
			continue // new in 2.1: upgrade adds the one or rejects for the other
		}
		if _, ok := props[name]; !ok {
			p.add("/"+name, "missing: required on type %s", c.Type)
		}
	}

	if c.CreatedByRef != "" {
		checkRef(p, "/created_by_ref", c.CreatedByRef, "identity")
	}
	if c.ObjectMarkingRefs != nil && len(c.ObjectMarkingRefs) == 0 {
		p.add("/object_marking_refs", "empty list: omit the property instead")
	}
	for i, ref := range c.ObjectMarkingRefs {
		checkRef(p, fmt.Sprintf("/object_marking_refs/%d", i), ref, "marking-definition")
	}
	if c.GranularMarkings != nil && len(c.GranularMarkings) == 0 {
		p.add("/granular_markings", "empty list: omit the property instead")
	}
	for i, g := range c.GranularMarkings {
		f := fmt.Sprintf("/granular_markings/%d", i)
		switch {
		case g.MarkingRef == "" && g.Lang == "":
			p.add(f, "a granular marking needs marking_ref or lang")
		case g.MarkingRef != "" && g.Lang != "":
			p.add(f, "a granular marking has marking_ref or lang, not both")
		case g.MarkingRef != "":
			checkRef(p, f+"/marking_ref", g.MarkingRef, "marking-definition")
		}
		if len(g.Selectors) == 0 {
			p.add(f+"/selectors", "missing or empty: a granular marking selects at least one property")
		}
		for j, s := range g.Selectors {
			if !selectorRE.MatchString(s) {
				p.add(fmt.Sprintf("%s/selectors/%d", f, j), "invalid selector %q", s)
			}
		}
	}
	if c.ExternalReferences != nil && len(c.ExternalReferences) == 0 {
		p.add("/external_references", "empty list: omit the property instead")
	}
	for i, r := range c.ExternalReferences {
		f := fmt.Sprintf("/external_references/%d", i)
		if r.SourceName == "" {
			p.add(f+"/source_name", "missing: every external reference names its source")
		}
		if r.SourceName == "cve" && r.ExternalID != "" && !cveRE.MatchString(r.ExternalID) {
			p.add(f+"/external_id", "%q is not a CVE identifier", r.ExternalID)
		}
	}
	if c.Labels != nil && len(c.Labels) == 0 {
		p.add("/labels", "empty list: omit the property instead")
	}
	if c.Confidence != nil && (*c.Confidence < 0 || *c.Confidence > 100) {
		p.add("/confidence", "confidence %d outside 0-100", *c.Confidence)
	}
	if c.Extensions != nil && len(c.Extensions) == 0 {
		p.add("/extensions", "empty dictionary: omit the property instead")
	}
	for key, ext := range c.Extensions {
		f := "/extensions/" + jsonptr.Escape(key)
		t, _, ok := ParseID(key)
		if !(ok && t == "extension-definition") && !extensionKeyRE.MatchString(key) {
			p.add(f, "invalid extension key %q: an extension-definition id or a predefined *-ext name", key)
		}
		if ext.Kind() != '{' {
			p.add(f, "an extension is a JSON object, found %s", jsonptr.KindName(ext.Kind()))
		}
	}

	validateType(p, o, props)
	return p.list
}

// validateType checks the rules of the types Bulwark reads closely.
func validateType(p *problems, o *Object, props map[string]jsontext.Value) {
	str := func(name string) string {
		var s string
		if v, ok := props[name]; ok {
			if err := json.Unmarshal(v, &s); err != nil {
				p.add("/"+name, "expected a string, found %s", jsonptr.KindName(v.Kind()))
			}
		}
		return s
	}
	refs := func(name string, nonEmpty bool, types ...string) {
		v, ok := props[name]
		if !ok {
			return
		}
		var ids []string
		if err := json.Unmarshal(v, &ids); err != nil {
			p.add("/"+name, "expected a list of identifiers, found %s", jsonptr.KindName(v.Kind()))
			return
		}
		if len(ids) == 0 && nonEmpty {
			p.add("/"+name, "empty list")
		}
		for i, id := range ids {
			checkRef(p, fmt.Sprintf("/%s/%d", name, i), id, types...)
		}
	}
	ts := func(name string) time.Time { return timestampProp(p, "/"+name, str(name)) }
	order := func(first, last string, strict bool) {
		a, b := ts(first), ts(last)
		if a.IsZero() || b.IsZero() {
			return
		}
		if b.Before(a) || strict && b.Equal(a) {
			rel := "before"
			if strict {
				rel = "not after"
			}
			p.add("/"+last, "%s is %s %s", last, rel, first)
		}
	}
	intRange := func(name string, lo, hi int64) {
		v, ok := props[name]
		if !ok {
			return
		}
		var n int64
		if err := json.Unmarshal(v, &n); err != nil || n < lo || n > hi {
			p.add("/"+name, "expected an integer in %d-%d, found %s", lo, hi, v)
		}
	}

	switch o.c.Type {
	case "relationship":
		if rt := str("relationship_type"); rt != "" && !relationshipTypeRE.MatchString(rt) {
			p.add("/relationship_type", "invalid relationship type %q: a-z, 0-9 and hyphen", rt)
		}
		for _, name := range []string{"source_ref", "target_ref"} {
			if id := str(name); id != "" {
				checkRefNot(p, "/"+name, id, "a relationship links domain or observable objects")
			}
		}
		order("start_time", "stop_time", true)
	case "sighting":
		if id := str("sighting_of_ref"); id != "" {
			if checkRefNot(p, "/sighting_of_ref", id, "a sighting is of a domain object") && KindOf(IDType(id)) == KindSCO {
				p.add("/sighting_of_ref", "a sighting is of a domain object, not the observable %s", id)
			}
		}
		refs("observed_data_refs", true, "observed-data")
		refs("where_sighted_refs", true, "identity", "location")
		intRange("count", 0, 999_999_999)
		order("first_seen", "last_seen", false)
	case "indicator":
		order("valid_from", "valid_until", true)
	case "report":
		ts("published")
		refs("object_refs", true)
	case "grouping", "note", "opinion":
		refs("object_refs", true)
	case "observed-data":
		order("first_observed", "last_observed", false)
		intRange("number_observed", 1, 999_999_999)
		if _, ok := props["object_refs"]; ok {
			refs("object_refs", true)
		} else if _, ok := props["objects"]; !ok {
			p.add("/object_refs", "missing: observed-data lists what was observed")
		}
	case "marking-definition":
		if lvl, ok := canonicalTLP[o.c.ID]; ok {
			claims := tlpClaims(props)
			if len(claims) == 0 {
				p.add("/id", "the canonical %s id is used by a marking-definition that does not define %s", lvl, lvl)
			}
			for _, cl := range claims {
				if m, ok := ParseMarking(cl.label); !ok || m != lvl {
					p.add(cl.field, "the canonical %s id is used by a marking-definition that says %s", lvl, cl.label)
				}
			}
		}
	}
}

// tlpClaim is one statement a marking-definition makes about its TLP level.
type tlpClaim struct{ field, label string }

// tlpClaims lists what a marking-definition says about its TLP level:
// through a TLP 1.0 definition, the TLP 2.0 extension, or a name "TLP:…".
func tlpClaims(props map[string]jsontext.Value) []tlpClaim {
	var out []tlpClaim
	var dt string
	_ = json.Unmarshal(props["definition_type"], &dt)
	var def struct {
		TLP string `json:"tlp"`
	}
	_ = json.Unmarshal(props["definition"], &def)
	if strings.EqualFold(dt, "tlp") || def.TLP != "" {
		out = append(out, tlpClaim{"/definition/tlp", "TLP:" + strings.ToUpper(def.TLP)})
	}
	var exts map[string]struct {
		Level string `json:"tlp_2_0"`
	}
	_ = json.Unmarshal(props["extensions"], &exts)
	if e, ok := exts[TLP2ExtensionID]; ok {
		out = append(out, tlpClaim{"/extensions/" + TLP2ExtensionID + "/tlp_2_0", "TLP:" + strings.ToUpper(e.Level)})
	}
	var name string
	_ = json.Unmarshal(props["name"], &name)
	if n := strings.ToUpper(strings.TrimSpace(name)); strings.HasPrefix(n, "TLP:") {
		out = append(out, tlpClaim{"/name", n})
	}
	return out
}

// checkRef checks that id is a STIX identifier of one of types (any type
// when none is given).
func checkRef(p *problems, field, id string, types ...string) bool {
	t, _, ok := ParseID(id)
	if !ok {
		p.add(field, "invalid identifier %q: want <type>--<RFC 4122 UUID>", id)
		return false
	}
	if len(types) == 0 {
		return true
	}
	for _, want := range types {
		if t == want {
			return true
		}
	}
	p.add(field, "%s: must reference an object of type %s", id, strings.Join(types, " or "))
	return false
}

// checkRefNot checks that id is an identifier of a domain, observable or
// custom object, not a relationship, sighting or meta object.
func checkRefNot(p *problems, field, id, why string) bool {
	if !checkRef(p, field, id) {
		return false
	}
	t := IDType(id)
	if k := KindOf(t); k == KindSRO || k == KindMeta || t == "bundle" {
		p.add(field, "%s: %s cannot be referenced here", why, id)
		return false
	}
	return true
}

// timestampProp parses a timestamp property, reporting a malformed one.
func timestampProp(p *problems, field, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _, ok := ParseTimestamp(s)
	if !ok {
		p.add(field, "%q is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)", s)
	}
	return t
}

// ParseTimestamp reads a STIX timestamp: RFC 3339 in UTC with the "Z"
// suffix, "YYYY-MM-DDTHH:MM:SS[.fraction]Z", as the OASIS schema's pattern
// says, and a real date (no February 30). A leap second (:60) is read as the
// last instant of the minute before. digits is the number of fractional
// digits written (STIX 2.1 asks for at least 3 on created and modified).
func ParseTimestamp(s string) (t time.Time, digits int, ok bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, 0, false
	}
	for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, 0, false
		}
	}
	frac := s[19 : len(s)-1]
	if frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, 0, false
		}
		for i := 1; i < len(frac); i++ {
			if frac[i] < '0' || frac[i] > '9' {
				return time.Time{}, 0, false
			}
		}
		digits = len(frac) - 1
	}
	leap := s[17:19] == "60"
	in := s
	if leap {
		in = s[:17] + "59" + s[19:]
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999999Z", in)
	if err != nil {
		return time.Time{}, 0, false
	}
	if leap {
		t = t.Truncate(time.Second).Add(time.Second - time.Nanosecond)
	}
	return t.UTC(), digits, true
}

// FormatTimestamp writes t as a STIX timestamp in UTC with millisecond
// precision, or more digits when t has sub-millisecond parts.
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	s := t.Format("2006-01-02T15:04:05.000000000")
	s = strings.TrimRight(s, "0")
	return s + "Z"
}

// Validate reports the rules Bulwark holds its own output to beyond what
// every imported object already satisfies (an *Object exists only after the
// import checks passed): spec_version "2.1" on every object that has one,
// identifiers with a UUIDv4 or v5 (the specification's SHOULD), created and
// modified with at least millisecond precision (the OASIS schema's
// pattern), and TLP markings only under canonical TLP 2.0 ids.
func Validate(o *Object) []bulwark.Problem {
	p := &problems{}
	if KindOf(o.c.Type) != KindSCO && o.c.SpecVersion != "2.1" {
		p.add("/spec_version", "want \"2.1\", found %q", o.c.SpecVersion)
	}
	if _, v, _ := ParseID(o.c.ID); v != 4 && v != 5 {
		p.add("/id", "identifier %s uses a UUIDv%d; Bulwark produces v4 or v5", o.c.ID, v)
	}
	for _, f := range []struct{ name, s string }{{"created", o.c.Created}, {"modified", o.c.Modified}} {
		if f.s == "" {
			continue
		}
		if _, digits, _ := ParseTimestamp(f.s); digits < 3 {
			p.add("/"+f.name, "%s %q has less than millisecond precision", f.name, f.s)
		}
	}
	check := func(field, ref string) {
		switch ref {
		case TLP1WhiteID, TLP1GreenID, TLP1AmberID, TLP1RedID:
			p.add(field, "TLP 1.0 marking %s: Bulwark marks with TLP 2.0", ref)
		}
	}
	for i, ref := range o.c.ObjectMarkingRefs {
		check(fmt.Sprintf("/object_marking_refs/%d", i), ref)
	}
	for i, g := range o.c.GranularMarkings {
		check(fmt.Sprintf("/granular_markings/%d/marking_ref", i), g.MarkingRef)
	}
	return p.list
}

// needsUpgrade reports whether o was written as STIX 2.0: spec_version
// "2.0", or none on an object that STIX 2.1 requires to have one.
func needsUpgrade(o *Object) bool {
	switch o.c.SpecVersion {
	case "2.0":
		return true
	case "":
		return KindOf(o.c.Type) != KindSCO && (o.c.Type == "marking-definition" || versioned(o))
	}
	return false
}

// upgrade turns a STIX 2.0 object into 2.1 where that is trivial: it sets
// spec_version "2.1" and, on indicators, pattern_type "stix" (the only
// pattern language of 2.0). A 2.0 malware cannot be upgraded: STIX 2.1
// requires is_family, which 2.0 did not record.
func upgrade(o *Object, v []byte, base string) ([]byte, []bulwark.Problem) {
	var m map[string]jsontext.Value
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, []bulwark.Problem{{Field: base, Message: err.Error()}}
	}
	if _, ok := m["is_family"]; o.c.Type == "malware" && !ok {
		return nil, []bulwark.Problem{{Field: base + "/is_family", Message: "STIX 2.0 malware cannot be upgraded to 2.1 trivially: 2.1 requires is_family, which 2.0 does not say"}}
	}
	if _, ok := m["pattern_type"]; o.c.Type == "indicator" && !ok {
		m["pattern_type"] = jsontext.Value(`"stix"`)
	}
	m["spec_version"] = jsontext.Value(`"2.1"`)
	out, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		return nil, []bulwark.Problem{{Field: base, Message: err.Error()}}
	}
	o.c.SpecVersion = "2.1"
	o.upgradedFrom = "2.0"
	return out, nil
}
