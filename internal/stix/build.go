package stix

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

// Times are the created and modified times of an object being built. Created
// is when the record was first published and must stay the same in every
// later version; Modified is this version's time (zero means Created). Both
// are truncated to the millisecond.
type Times struct {
	Created  time.Time
	Modified time.Time
}

// Publisher builds the objects one organization publishes from Bulwark's
// records. Every object gets created_by_ref IdentityID, the publisher's
// markings, and a deterministic id (DeterministicID with IdentityID first),
// so that publishing the same record again gives a new version of the same
// object, never a duplicate.
type Publisher struct {
	// IdentityID is the publishing organization's identity
	// (OrganizationID(scope, org.ID)).
	IdentityID string
	// TLP is the TLP 2.0 marking of everything built; Unmarked applies none.
	TLP Marking
	// Markings are further marking-definition ids applied to everything
	// built (statement markings such as terms of use).
	Markings []string
}

// OrganizationID is the identity id of an organization. scope names the
// Bulwark deployment (the city's domain name, say), so that organizations
// with the same id in two deployments get different identities.
func OrganizationID(scope, orgID string) string {
	return DeterministicID("identity", scope, "organization", orgID)
}

func invalidf(format string, args ...any) error {
	return bulwark.Errorf(bulwark.EINVALID, "stix: "+format, args...)
}

// core fills the common properties of an object built by p.
func (p Publisher) core(c *Core, typ string, t Times, key ...string) error {
	if t, _, ok := ParseID(p.IdentityID); !ok || t != "identity" {
		return invalidf("publisher identity %q is not an identity id", p.IdentityID)
	}
	if t.Created.IsZero() {
		return invalidf("%s: no created time", typ)
	}
	if t.Modified.IsZero() {
		t.Modified = t.Created
	}
	created, modified := At(t.Created), At(t.Modified)
	if modified.Before(created.Time) {
		return invalidf("%s: modified %s is before created %s", typ, FormatTimestamp(modified.Time), FormatTimestamp(created.Time))
	}
	if !p.TLP.Valid() {
		return invalidf("invalid TLP marking %d", p.TLP)
	}
	refs := slices.Clone(c.ObjectMarkingRefs)
	if id := p.TLP.ID(); id != "" {
		refs = append(refs, id)
	}
	refs = append(refs, p.Markings...)
	slices.Sort(refs)
	refs = slices.Compact(refs)
	c.Type, c.SpecVersion = typ, "2.1"
	c.ID = DeterministicID(typ, append([]string{p.IdentityID}, key...)...)
	c.CreatedByRef = p.IdentityID
	c.Created, c.Modified = created, modified
	c.ObjectMarkingRefs = refs
	if len(refs) == 0 {
		c.ObjectMarkingRefs = nil
	}
	return nil
}

// custom sets a custom property on c.
func custom(c *Core, name string, v any) error {
	data, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return fmt.Errorf("stix: %s: %w", name, err)
	}
	if c.Custom == nil {
		c.Custom = map[string]jsontext.Value{}
	}
	c.Custom[name] = data
	return nil
}

var cweRE = regexp.MustCompile(`^CWE-[1-9][0-9]*$`)

// webRef returns an external reference for an http(s) URL, named after its
// host, or false when the URL is not absolute http(s).
func webRef(raw string) (ExternalReference, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ExternalReference{}, false
	}
	return ExternalReference{SourceName: u.Hostname(), URL: u.String()}, true
}

// maxReferences caps the web references copied onto one vulnerability.
const maxReferences = 100

// Vulnerability builds the vulnerability object of v: named by its id, with
// a "cve" external reference (and one per CVE alias; other aliases, such as
// ICS advisory ids, as "advisory" references), CWE references, the KEV
// catalog entry when v is known exploited, and v's web references (at most
// 100). created is v's publication date, modified the latest of its
// modification and KEV dates. CVSS scores and the KEV entry travel as custom
// properties x_bulwark_cvss and x_bulwark_kev; EPSS, which changes daily
// without a new modified, is left out.
func (p Publisher) Vulnerability(v *bulwark.Vulnerability) (*Object, error) {
	if v == nil || strings.TrimSpace(v.ID) == "" {
		return nil, invalidf("vulnerability without id")
	}
	created := v.Published
	if created.IsZero() {
		created = v.Modified
	}
	modified := v.Modified
	if v.KEV != nil && v.KEV.DateAdded.After(modified) {
		modified = v.KEV.DateAdded
	}
	if modified.Before(created) {
		modified = created
	}
	out := Vulnerability{Name: v.ID, Description: strings.TrimSpace(v.Description)}
	if err := p.core(&out.Core, "vulnerability", Times{created, modified}, "vulnerability", v.ID); err != nil {
		return nil, fmt.Errorf("%s: %w", v.ID, err)
	}
	var refs []ExternalReference
	seen := map[string]bool{}
	addCVE := func(id string) {
		if cveRE.MatchString(id) && !seen[id] {
			seen[id] = true
			refs = append(refs, ExternalReference{SourceName: "cve", ExternalID: id, URL: "https://www.cve.org/CVERecord?id=" + id})
		}
	}
	addCVE(v.ID)
	if !cveRE.MatchString(v.ID) {
		refs = append(refs, ExternalReference{SourceName: "advisory", ExternalID: v.ID})
	}
	for _, a := range v.Aliases {
		switch {
		case cveRE.MatchString(a):
			addCVE(a)
		case a != v.ID && !seen[a] && strings.TrimSpace(a) != "":
			seen[a] = true
			refs = append(refs, ExternalReference{SourceName: "advisory", ExternalID: a})
		}
	}
	for _, cwe := range v.CWEs {
		if cweRE.MatchString(cwe) && !seen[cwe] {
			seen[cwe] = true
			refs = append(refs, ExternalReference{SourceName: "cwe", ExternalID: cwe,
				URL: "https://cwe.mitre.org/data/definitions/" + strings.TrimPrefix(cwe, "CWE-") + ".html"})
		}
	}
	if v.KEV != nil {
		// No external_id: the OASIS schema reserves CVE-shaped ids for
		// source "cve".
		refs = append(refs, ExternalReference{SourceName: "cisa-kev", Description: "In CISA's Known Exploited Vulnerabilities catalog",
			URL: "https://www.cisa.gov/known-exploited-vulnerabilities-catalog"})
		kev := map[string]any{
			"date_added":       v.KEV.DateAdded.UTC().Format(time.DateOnly),
			"known_ransomware": v.KEV.KnownRansomware,
		}
		if !v.KEV.DueDate.IsZero() {
			kev["due_date"] = v.KEV.DueDate.UTC().Format(time.DateOnly)
		}
		if s := strings.TrimSpace(v.KEV.RequiredAction); s != "" {
			kev["required_action"] = s
		}
		if err := custom(&out.Core, "x_bulwark_kev", kev); err != nil {
			return nil, err
		}
	}
	n := 0
	for _, r := range v.References {
		if n == maxReferences {
			break
		}
		if ref, ok := webRef(r.URL); ok && !seen[ref.URL] {
			seen[ref.URL] = true
			refs = append(refs, ref)
			n++
		}
	}
	out.ExternalReferences = refs
	if len(v.CVSS) > 0 {
		type cvss struct {
			Version   string  `json:"version"`
			Vector    string  `json:"vector"`
			BaseScore float64 `json:"base_score"`
			Source    string  `json:"source,omitzero"`
		}
		var scores []cvss
		for _, c := range v.CVSS {
			scores = append(scores, cvss{c.Version, c.Vector, c.BaseScore, c.Source})
		}
		if err := custom(&out.Core, "x_bulwark_cvss", scores); err != nil {
			return nil, err
		}
	}
	return New(&out)
}

var remediationNames = map[string]string{
	"vendor_fix": "Vendor fix", "mitigation": "Mitigation", "workaround": "Workaround",
	"none_available": "No fix available", "no_fix_planned": "No fix planned", "required_action": "Required action",
}

// Remediation builds the course-of-action for one remediation of a
// vulnerability ("Vendor fix for CVE-…", its details as description, its
// URL as an external reference, category and products as x_bulwark_category
// and x_bulwark_products). Its id depends on the vulnerability, source,
// category, URL and products, not on the wording of the details, so that a
// reworded remediation is a new version. Link it to the vulnerability with
// Relationship("mitigates", coa, vulnerability).
func (p Publisher) Remediation(vulnID string, r bulwark.Remediation, t Times) (*Object, error) {
	if strings.TrimSpace(vulnID) == "" || strings.TrimSpace(r.Category) == "" {
		return nil, invalidf("remediation needs a vulnerability id and a category")
	}
	label := remediationNames[r.Category]
	if label == "" {
		label = strings.ReplaceAll(r.Category, "_", " ")
	}
	products := slices.Clone(r.Products)
	slices.Sort(products)
	out := CourseOfAction{Name: label + " for " + vulnID, Description: strings.TrimSpace(r.Details)}
	if err := p.core(&out.Core, "course-of-action", t, "remediation", vulnID, r.Source, r.Category, r.URL, strings.Join(products, "\x1f")); err != nil {
		return nil, err
	}
	if ref, ok := webRef(r.URL); ok {
		if r.Source != "" {
			ref.SourceName = r.Source
		}
		out.ExternalReferences = []ExternalReference{ref}
	}
	if err := custom(&out.Core, "x_bulwark_category", r.Category); err != nil {
		return nil, err
	}
	if len(products) > 0 {
		if err := custom(&out.Core, "x_bulwark_products", products); err != nil {
			return nil, err
		}
	}
	return New(&out)
}

// CourseOfAction builds a course-of-action (an advisory's recommended
// action) from c's name, description and other content; key is the record's
// stable natural key (an advisory id, say).
func (p Publisher) CourseOfAction(key string, c CourseOfAction, t Times) (*Object, error) {
	if key == "" || strings.TrimSpace(c.Name) == "" {
		return nil, invalidf("course-of-action needs a key and a name")
	}
	if err := p.core(&c.Core, "course-of-action", t, key); err != nil {
		return nil, err
	}
	return New(&c)
}

// purviewSectors maps an organization's purview to STIX industry sectors
// (industry-sector-ov).
var purviewSectors = map[bulwark.Purview][]string{
	bulwark.PurviewCity:     {"government-local"},
	bulwark.PurviewState:    {"government-regional"},
	bulwark.PurviewFederal:  {"government-national"},
	bulwark.PurviewAcademic: {"education"},
}

// Organization builds the identity of org (identity_class "organization",
// id OrganizationID(scope, org.ID), sectors from its purview, the purview as
// x_bulwark_purview). Contacts are personal data and are not published.
// Every object the organization publishes names this identity, so build it
// with the TLP of the widest audience those objects reach (usually Clear):
// a recipient who cannot see it sees a dangling created_by_ref.
func (p Publisher) Organization(scope string, org bulwark.Organization, t Times) (*Object, error) {
	if org.ID == "" || strings.TrimSpace(org.Name) == "" {
		return nil, invalidf("organization needs an id and a name")
	}
	out := Identity{Name: org.Name, IdentityClass: "organization", Sectors: purviewSectors[org.Purview]}
	if err := p.core(&out.Core, "identity", t); err != nil {
		return nil, err
	}
	out.ID = OrganizationID(scope, org.ID)
	if org.Purview != "" {
		if err := custom(&out.Core, "x_bulwark_purview", string(org.Purview)); err != nil {
			return nil, err
		}
	}
	return New(&out)
}

// Service builds the infrastructure object of a city service (its sector,
// population served and owner as x_bulwark_kind "service",
// x_bulwark_sector, x_bulwark_population).
func (p Publisher) Service(s bulwark.Service, t Times) (*Object, error) {
	if s.ID == "" || strings.TrimSpace(s.Name) == "" {
		return nil, invalidf("service needs an id and a name")
	}
	out := Infrastructure{Name: s.Name, Description: strings.TrimSpace(s.Description)}
	if err := p.core(&out.Core, "infrastructure", t, "service", s.ID); err != nil {
		return nil, err
	}
	props := map[string]any{"x_bulwark_kind": "service"}
	if s.Sector != "" {
		props["x_bulwark_sector"] = string(s.Sector)
	}
	if s.Population > 0 {
		props["x_bulwark_population"] = s.Population
	}
	for k, v := range props {
		if err := custom(&out.Core, k, v); err != nil {
			return nil, err
		}
	}
	return New(&out)
}

// System builds the infrastructure object of an IT or OT system:
// infrastructure_types "control-system" for the ot and field zones, its zone
// and internet exposure as x_bulwark_zone and x_bulwark_internet_exposed.
func (p Publisher) System(s bulwark.System, t Times) (*Object, error) {
	if s.ID == "" || strings.TrimSpace(s.Name) == "" {
		return nil, invalidf("system needs an id and a name")
	}
	out := Infrastructure{Name: s.Name, Description: strings.TrimSpace(s.Description)}
	switch strings.ToLower(s.Zone) {
	case "ot", "field":
		out.InfrastructureTypes = []string{"control-system"}
	}
	if err := p.core(&out.Core, "infrastructure", t, "system", s.ID); err != nil {
		return nil, err
	}
	if err := custom(&out.Core, "x_bulwark_kind", "system"); err != nil {
		return nil, err
	}
	if s.Zone != "" {
		if err := custom(&out.Core, "x_bulwark_zone", s.Zone); err != nil {
			return nil, err
		}
	}
	if s.InternetExposed {
		if err := custom(&out.Core, "x_bulwark_internet_exposed", true); err != nil {
			return nil, err
		}
	}
	return New(&out)
}

// Indicator builds an indicator from in's content (pattern, pattern type
// — "stix" when empty —, valid_from — created when zero —, name...); key
// is its stable natural key. The pattern is not parsed here.
func (p Publisher) Indicator(key string, in Indicator, t Times) (*Object, error) {
	if key == "" || strings.TrimSpace(in.Pattern) == "" {
		return nil, invalidf("indicator needs a key and a pattern")
	}
	if in.PatternType == "" {
		in.PatternType = "stix"
	}
	if err := p.core(&in.Core, "indicator", t, key); err != nil {
		return nil, err
	}
	if in.ValidFrom.IsZero() {
		in.ValidFrom = in.Created
	} else {
		in.ValidFrom = At(in.ValidFrom.Time)
	}
	if !in.ValidUntil.IsZero() {
		in.ValidUntil = At(in.ValidUntil.Time)
	}
	return New(&in)
}

// Finding builds the sighting of a finding: the vulnerability vulnRef was
// seen in the estate of whereRef (the owning organization's identity; "" to
// leave it out), from the finding's first to last sighting. Its id depends on
// the asset and vulnerability ids; the asset is not named in the content
// (which assets are vulnerable is the attack-planning material Bulwark keeps
// close), but asset ids are guessable, so treat the id as no secret. The
// status, match confidence, SSVC decision and KEV flag travel as
// x_bulwark_status, x_bulwark_match_confidence, x_bulwark_decision and
// x_bulwark_kev. Zero Times take the finding's first and last sighting.
func (p Publisher) Finding(f bulwark.Finding, vulnRef, whereRef string, t Times) (*Object, error) {
	if f.AssetID == "" || f.VulnID == "" {
		return nil, invalidf("finding needs an asset and a vulnerability")
	}
	if typ, _, ok := ParseID(vulnRef); !ok || typ != "vulnerability" {
		return nil, invalidf("finding: %q is not a vulnerability id", vulnRef)
	}
	if t.Created.IsZero() {
		t.Created = f.FirstSeen
	}
	if t.Modified.IsZero() {
		t.Modified = f.LastSeen
	}
	one := 1
	out := Sighting{SightingOfRef: vulnRef, Count: &one}
	if whereRef != "" {
		out.WhereSightedRefs = []string{whereRef}
	}
	if !f.FirstSeen.IsZero() {
		out.FirstSeen = At(f.FirstSeen)
	}
	if !f.LastSeen.IsZero() && !f.LastSeen.Before(f.FirstSeen) {
		out.LastSeen = At(f.LastSeen)
	}
	if err := p.core(&out.Core, "sighting", t, "finding", f.AssetID, f.VulnID); err != nil {
		return nil, err
	}
	props := map[string]any{"x_bulwark_status": string(f.Status), "x_bulwark_kev": f.KEV}
	if f.Confidence != "" {
		props["x_bulwark_match_confidence"] = string(f.Confidence)
	}
	if f.Decision != "" {
		props["x_bulwark_decision"] = string(f.Decision)
	}
	for k, v := range props {
		if err := custom(&out.Core, k, v); err != nil {
			return nil, err
		}
	}
	return New(&out)
}

// Sighting builds a sighting from s's content (sighting_of_ref and the rest);
// key is its stable natural key.
func (p Publisher) Sighting(key string, s Sighting, t Times) (*Object, error) {
	if key == "" || s.SightingOfRef == "" {
		return nil, invalidf("sighting needs a key and sighting_of_ref")
	}
	if err := p.core(&s.Core, "sighting", t, key); err != nil {
		return nil, err
	}
	return New(&s)
}

// Relationship builds "source relType target" (relType from the
// specification's vocabulary where one fits: mitigates, indicates, targets,
// related-to, consists-of, derived-from...). Its id depends on the three, so
// the same link published twice is one object.
func (p Publisher) Relationship(relType, source, target string, t Times) (*Object, error) {
	out := Relationship{RelationshipType: relType, SourceRef: source, TargetRef: target}
	if err := p.core(&out.Core, "relationship", t, relType, source, target); err != nil {
		return nil, err
	}
	return New(&out)
}

// Report builds a report from r's content (name, object_refs, published —
// Modified when zero —, report types); key is its stable natural key.
func (p Publisher) Report(key string, r Report, t Times) (*Object, error) {
	if key == "" || strings.TrimSpace(r.Name) == "" {
		return nil, invalidf("report needs a key and a name")
	}
	if err := p.core(&r.Core, "report", t, key); err != nil {
		return nil, err
	}
	if r.Published.IsZero() {
		r.Published = r.Modified
	} else {
		r.Published = At(r.Published.Time)
	}
	return New(&r)
}

// Grouping builds a grouping from g's content (context, object_refs...); key
// is its stable natural key.
func (p Publisher) Grouping(key string, g Grouping, t Times) (*Object, error) {
	if key == "" || strings.TrimSpace(g.Context) == "" {
		return nil, invalidf("grouping needs a key and a context")
	}
	if err := p.core(&g.Core, "grouping", t, key); err != nil {
		return nil, err
	}
	return New(&g)
}

// Note builds a note from n's content (content, object_refs...); key is its
// stable natural key.
func (p Publisher) Note(key string, n Note, t Times) (*Object, error) {
	if key == "" || strings.TrimSpace(n.Content) == "" {
		return nil, invalidf("note needs a key and content")
	}
	if err := p.core(&n.Core, "note", t, key); err != nil {
		return nil, err
	}
	return New(&n)
}

// Incident builds an incident, a stub in STIX 2.1 (name, description; details
// in extensions or custom properties of in); key is its stable natural key.
func (p Publisher) Incident(key string, in Incident, t Times) (*Object, error) {
	if key == "" || strings.TrimSpace(in.Name) == "" {
		return nil, invalidf("incident needs a key and a name")
	}
	if err := p.core(&in.Core, "incident", t, key); err != nil {
		return nil, err
	}
	return New(&in)
}

// Revoke returns a new version of o with revoked true and modified at, which
// must be later than o's modified. Only o's creator may revoke it.
func Revoke(o *Object, at time.Time) (*Object, error) {
	if o.Modified().IsZero() {
		return nil, invalidf("%s is not versioned and cannot be revoked", o.ID())
	}
	mod := At(at)
	if !mod.After(o.Modified()) {
		return nil, invalidf("revoke %s: %s is not after modified %s", o.ID(), FormatTimestamp(mod.Time), o.Version())
	}
	var m map[string]jsontext.Value
	if err := unmarshal(o.raw, &m); err != nil {
		return nil, err
	}
	m["revoked"] = jsontext.Value("true")
	m["modified"] = jsontext.Value(`"` + FormatTimestamp(mod.Time) + `"`)
	data, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		return nil, err
	}
	return ParseObject(data, Limits{})
}
