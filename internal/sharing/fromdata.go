package sharing

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/stix"
)

// FromData publishes, deliberately and in bulk, what Bulwark itself knows:
// the caller organization's advisories and its incidents. Every object
// goes through Service.Publish, so markings, audiences and TLP rules are
// enforced there. Objects carry what a recipient needs to act (CVE, what to
// do, by when; an incident's title, phase, severity and affected service
// names) and never asset ids, host names or internal notes (docs/stix.md).
//
// Its sources are given as interfaces (the vulns and incident services
// satisfy them through small adapters) so that this package does not
// depend on them.
type FromData struct {
	Sharing *Service
	// Vulnerabilities gives the vulnerability records (the store).
	Vulnerabilities interface {
		FindVulnerability(ctx context.Context, id string) (*bulwark.Vulnerability, error)
	}
	// Advisories returns the current advisories of an owner organization
	// that the caller sees (vulns.Service.Advisories).
	Advisories func(ctx context.Context, owner string) ([]Advisory, error)
	// Incidents finds an incident the caller may see (incident.Service).
	Incidents interface {
		Find(ctx context.Context, id string) (*bulwark.Incident, error)
	}
	// Findings returns the open findings (open or in remediation) of an
	// owner organization that the caller sees (the store's ListFindings
	// with Open).
	Findings func(ctx context.Context, owner string) ([]bulwark.Finding, error)
	// Scope names the deployment in the publisher's identity id
	// (stix.OrganizationID); DefaultScope when empty.
	Scope string
	// Now is the clock (time.Now when nil): it names a findings summary's
	// period and dates new versions.
	Now func() time.Time
}

// Advisory is what is published of an advisory (vulns.Advisory): what to
// do about a vulnerability and by when, never which assets are exposed.
type Advisory struct {
	VulnID     string
	Title      string
	Decision   bulwark.SSVCDecision
	Due        time.Time
	KEV        bool
	Ransomware bool
	Actions    []string
}

// DefaultScope is the identity scope used when FromData.Scope is empty.
const DefaultScope = "bulwark"

// BulkResult counts what a bulk publication did.
type BulkResult struct {
	Published int       `json:"published"` // new versions added
	Unchanged int       `json:"unchanged"` // objects already published as they are
	Objects   []string  `json:"objects"`   // ids of every published or unchanged object, in order
	Refused   []Refusal `json:"refused"`   // objects the sharing rules refused
}

// Refusal is an object of a bulk publication that the sharing rules
// refused (a lowered marking, a wider audience, another publisher's id).
type Refusal struct {
	Object string `json:"object"`
	Reason string `json:"reason"`
}

func (r *BulkResult) add(id string, published bool) {
	r.Objects = append(r.Objects, id)
	if published {
		r.Published++
	} else {
		r.Unchanged++
	}
}

// err is the error of a finished bulk publication: ECONFLICT naming the
// first refusal when the rules refused any object, nil otherwise.
func (r *BulkResult) err() error {
	if len(r.Refused) == 0 {
		return nil
	}
	return bulwark.Errorf(bulwark.ECONFLICT, "%d of %d objects refused (%d published, %d unchanged): %s",
		len(r.Refused), len(r.Refused)+len(r.Objects), r.Published, r.Unchanged, r.Refused[0].Reason)
}

func (d *FromData) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC().Truncate(time.Millisecond)
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

// bulkMarking checks a bulk publication's marking: it is required (no
// default: publishing the city's data in bulk is a deliberate choice).
func bulkMarking(m bulwark.TLP) (stix.Marking, error) {
	if m == "" {
		return 0, bulwark.Errorf(bulwark.EINVALID, "marking required: clear, green, amber, amber+strict or red")
	}
	if !m.Valid() {
		return 0, bulwark.Errorf(bulwark.EINVALID, "marking %q: use clear, green, amber, amber+strict or red", bulwark.Truncate(string(m), 40))
	}
	sm, ok := stix.ParseMarking(string(m))
	if !ok {
		return 0, bulwark.Errorf(bulwark.EINVALID, "marking %q has no TLP 2.0 definition", m)
	}
	return sm, nil
}

// publisher checks the caller, the marking, the scope and the collection
// — before anything is built, so that a publication with nothing to
// publish still fails when it could not have published — and returns the
// caller and the STIX publisher.
func (d *FromData) publisher(ctx context.Context, col string, m bulwark.TLP) (bulwark.Principal, stix.Publisher, error) {
	p, err := principal(ctx)
	if err != nil {
		return p, stix.Publisher{}, err
	}
	if p.Org == "" {
		return p, stix.Publisher{}, bulwark.Errorf(bulwark.EINVALID, "publishing needs a publishing organization (act as a user)")
	}
	sm, err := bulkMarking(m)
	if err != nil {
		return p, stix.Publisher{}, err
	}
	scope := d.Scope
	if scope == "" {
		scope = DefaultScope
	}
	if err := checkScope(scope); err != nil {
		return p, stix.Publisher{}, err
	}
	c, err := d.Sharing.FindCollection(ctx, col)
	if err != nil {
		return p, stix.Publisher{}, err
	}
	if !c.CanWrite {
		return p, stix.Publisher{}, bulwark.Errorf(bulwark.EFORBIDDEN, "your organization may not add objects to collection %s", c.ID)
	}
	return p, stix.Publisher{IdentityID: stix.OrganizationID(scope, p.Org), TLP: sm}, nil
}

// MaxScopeLen caps an identity scope (a domain name's length).
const MaxScopeLen = 253

// checkScope refuses an identity scope that cannot name a deployment: too
// long, or with spaces or control characters.
func checkScope(s string) error {
	if len(s) > MaxScopeLen {
		return bulwark.Errorf(bulwark.EINVALID, "scope %q: longer than %d bytes", bulwark.Truncate(s, 40), MaxScopeLen)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == utf8.RuneError {
			return bulwark.Errorf(bulwark.EINVALID, "scope %q: use a name such as the city's domain, without spaces or control characters", bulwark.Truncate(s, 40))
		}
	}
	return nil
}

// publishOne publishes o; the same version already in the collection
// counts as unchanged. An object the sharing rules refuse (ECONFLICT: a
// lowered marking, a wider audience, another publisher's object) is
// recorded in res and the publication goes on; other errors stop it.
func (d *FromData) publishOne(ctx context.Context, col string, m bulwark.TLP, orgs []string, o *stix.Object, res *BulkResult) error {
	out, err := d.Sharing.Publish(ctx, PublishRequest{Collection: col, Object: o.JSON(), Marking: m, Orgs: orgs})
	switch {
	case err == nil:
		res.add(o.ID(), true)
	case out != nil && bulwark.ErrorCode(err) == bulwark.ECONFLICT:
		// Publish returns the object with ECONFLICT only when this very
		// version is already there.
		res.add(o.ID(), false)
	case bulwark.ErrorCode(err) == bulwark.ECONFLICT:
		res.Refused = append(res.Refused, Refusal{Object: o.ID(), Reason: bulwark.ErrorMessage(err)})
	default:
		return fmt.Errorf("publish %s: %w", o.ID(), err)
	}
	return nil
}

// previous returns the created and modified times of the latest version of
// id the caller sees in col, and its body; ok false when there is none.
func (d *FromData) previous(ctx context.Context, col, id string) (created, modified time.Time, body []byte, ok bool, err error) {
	page, err := d.Sharing.Object(ctx, col, id, Query{}, "")
	if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
		return time.Time{}, time.Time{}, nil, false, nil
	}
	if err != nil {
		return time.Time{}, time.Time{}, nil, false, err
	}
	if len(page.Items) == 0 {
		return time.Time{}, time.Time{}, nil, false, nil
	}
	it := page.Items[len(page.Items)-1]
	o, err := stix.ParseObject(it.Body, stix.Limits{MaxBytes: 1 << 20})
	if err != nil {
		return time.Time{}, time.Time{}, nil, false, fmt.Errorf("previous version of %s: %w", id, err)
	}
	return o.Created(), o.Modified(), o.JSON(), true, nil
}

// versioned builds an object whose source has no modification time of its
// own: when the latest published version has the same content, it is
// rebuilt with that version's times (and so is a duplicate); otherwise it
// keeps the first version's created and is modified now.
func (d *FromData) versioned(ctx context.Context, col string, build func(stix.Times) (*stix.Object, error)) (*stix.Object, error) {
	now := d.now()
	o, err := build(stix.Times{Created: now})
	if err != nil {
		return nil, err
	}
	created, modified, body, ok, err := d.previous(ctx, col, o.ID())
	if err != nil || !ok {
		return o, err
	}
	same, err := build(stix.Times{Created: created, Modified: modified})
	if err != nil {
		return nil, err
	}
	a, errA := stix.Canonical(same.JSON())
	b, errB := stix.Canonical(body)
	if errA == nil && errB == nil && bytes.Equal(a, b) {
		return same, nil
	}
	if !now.After(modified) {
		now = modified.Add(time.Millisecond)
	}
	return build(stix.Times{Created: created, Modified: now})
}

// rebased is versioned for an object whose source dates it (a
// vulnerability's modified, a relationship's created): when the collection
// already holds that version, or a later one, with other content — another
// marking, above all — o would clash with it or be taken for it, so o's
// content becomes a new version modified now. o's content at the latest
// version's time, when identical, is that version (unchanged).
func (d *FromData) rebased(ctx context.Context, col string, o *stix.Object) (*stix.Object, error) {
	_, modified, body, ok, err := d.previous(ctx, col, o.ID())
	if err != nil || !ok || modified.Before(o.Modified()) {
		return o, err
	}
	same, err := withModified(o, modified)
	if err != nil {
		return nil, err
	}
	a, errA := stix.Canonical(same.JSON())
	b, errB := stix.Canonical(body)
	if errA == nil && errB == nil && bytes.Equal(a, b) {
		return same, nil
	}
	now := d.now()
	if !now.After(modified) {
		now = modified.Add(time.Millisecond)
	}
	return withModified(o, now)
}

// withModified returns o with modified set to at.
func withModified(o *stix.Object, at time.Time) (*stix.Object, error) {
	if o.Modified().Equal(at) {
		return o, nil
	}
	var props map[string]jsontext.Value
	if err := json.Unmarshal(o.JSON(), &props); err != nil {
		return nil, fmt.Errorf("new version of %s: %w", o.ID(), err)
	}
	props["modified"] = jsontext.Value(`"` + stix.FormatTimestamp(at) + `"`)
	data, err := json.Marshal(props, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("new version of %s: %w", o.ID(), err)
	}
	return stix.ParseObject(data, stix.Limits{MaxBytes: 1 << 20})
}

// PublishAdvisories publishes the caller organization's current advisories
// (what "bulwark advisories" lists for it) to col: one vulnerability per
// CVE, one course-of-action per advisory (what to do, by when) and a
// "mitigates" relationship between them. Exposed assets and services are
// not published. Publishing again without changes adds nothing.
func (d *FromData) PublishAdvisories(ctx context.Context, col string, m bulwark.TLP, orgs ...string) (*BulkResult, error) {
	p, pub, err := d.publisher(ctx, col, m)
	if err != nil {
		return nil, err
	}
	if d.Advisories == nil || d.Vulnerabilities == nil {
		return nil, fmt.Errorf("publish advisories: no advisory source")
	}
	advs, err := d.Advisories(ctx, p.Org)
	if err != nil {
		return nil, fmt.Errorf("advisories: %w", err)
	}
	res := &BulkResult{}
	for _, a := range advs {
		v, err := d.Vulnerabilities.FindVulnerability(ctx, a.VulnID)
		if err != nil {
			return res, fmt.Errorf("advisory %s: %w", a.VulnID, err)
		}
		vo, err := pub.Vulnerability(v)
		if err == nil {
			vo, err = d.rebased(ctx, col, vo)
		}
		if err != nil {
			return res, fmt.Errorf("advisory %s: %w", a.VulnID, err)
		}
		if err := d.publishOne(ctx, col, m, orgs, vo, res); err != nil {
			return res, err
		}
		coa := advisoryAction(a)
		key := "advisory\x1f" + a.VulnID
		co, err := d.versioned(ctx, col, func(t stix.Times) (*stix.Object, error) { return pub.CourseOfAction(key, coa, t) })
		if err != nil {
			return res, fmt.Errorf("advisory %s: %w", a.VulnID, err)
		}
		if err := d.publishOne(ctx, col, m, orgs, co, res); err != nil {
			return res, err
		}
		rel, err := pub.Relationship("mitigates", co.ID(), vo.ID(), stix.Times{Created: co.Created()})
		if err == nil {
			rel, err = d.rebased(ctx, col, rel)
		}
		if err != nil {
			return res, fmt.Errorf("advisory %s: %w", a.VulnID, err)
		}
		if err := d.publishOne(ctx, col, m, orgs, rel, res); err != nil {
			return res, err
		}
	}
	return res, res.err()
}

// advisoryAction is the course-of-action of an advisory: its actions, the
// SSVC decision and the deadline — nothing about which assets are exposed.
func advisoryAction(a Advisory) stix.CourseOfAction {
	var b strings.Builder
	fmt.Fprintf(&b, "Decision: %s.", a.Decision)
	if !a.Due.IsZero() {
		fmt.Fprintf(&b, " Act by %s.", a.Due.UTC().Format(time.DateOnly))
	}
	if a.KEV {
		b.WriteString(" Known exploited (CISA KEV).")
	}
	if a.Ransomware {
		b.WriteString(" Known ransomware use.")
	}
	for _, act := range a.Actions {
		b.WriteString("\n- " + strings.TrimSpace(act))
	}
	return stix.CourseOfAction{Name: "Advisory: " + a.Title, Description: b.String()}
}

// PublishIncident publishes an incident the caller sees to col: a STIX
// incident (its title) and a report referencing it with the title, phase,
// severity level and the names of the affected services — no systems,
// assets, parties or notes.
func (d *FromData) PublishIncident(ctx context.Context, id, col string, m bulwark.TLP, orgs ...string) (*BulkResult, error) {
	_, pub, err := d.publisher(ctx, col, m)
	if err != nil {
		return nil, err
	}
	if d.Incidents == nil {
		return nil, fmt.Errorf("publish incident: no incident source")
	}
	inc, err := d.Incidents.Find(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("incident %s: %w", bulwark.Truncate(id, 64), err)
	}
	var services []string
	for _, a := range inc.Affected {
		if a.Kind == "service" && strings.TrimSpace(a.Name) != "" {
			services = append(services, a.Name)
		}
	}
	slices.Sort(services)
	services = slices.Compact(services)
	key := "incident\x1f" + inc.ID
	res := &BulkResult{}
	io, err := d.versioned(ctx, col, func(t stix.Times) (*stix.Object, error) {
		return pub.Incident(key, stix.Incident{Name: inc.Title}, t)
	})
	if err != nil {
		return nil, fmt.Errorf("incident %s: %w", inc.ID, err)
	}
	if err := d.publishOne(ctx, col, m, orgs, io, res); err != nil {
		return res, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Phase: %s. Severity: %s.", inc.Phase.Title(), inc.Severity.Level)
	if len(services) > 0 {
		b.WriteString(" Affected services: " + strings.Join(services, ", ") + ".")
	}
	ro, err := d.versioned(ctx, col, func(t stix.Times) (*stix.Object, error) {
		return pub.Report(key, stix.Report{Name: "Incident: " + inc.Title, Description: b.String(),
			ReportTypes: []string{"threat-report"}, ObjectRefs: []string{io.ID()}}, t)
	})
	if err != nil {
		return res, fmt.Errorf("incident %s report: %w", inc.ID, err)
	}
	if err := d.publishOne(ctx, col, m, orgs, ro, res); err != nil {
		return res, err
	}
	return res, res.err()
}

// FindingsSummary is what a findings summary tells: counts of the open
// findings of one organization, never which assets, hosts or services
// they concern.
type FindingsSummary struct {
	Period          string         `json:"period"` // calendar month, UTC: "2026-11"
	Open            int            `json:"open"`   // open or in remediation
	Vulnerabilities int            `json:"vulnerabilities"`
	KEV             int            `json:"kev"` // of Open, known exploited
	ByDecision      map[string]int `json:"by_decision"`
	BySeverity      map[string]int `json:"by_severity"` // CVSS rating of the highest base score; "unknown" without one
}

// severityOrder and decisionOrder are the orders summaries list counts in,
// most urgent first.
var (
	severityOrder = []string{"critical", "high", "medium", "low", "none", "unknown"}
	decisionOrder = []bulwark.SSVCDecision{bulwark.SSVCAct, bulwark.SSVCAttend, bulwark.SSVCTrackStar, bulwark.SSVCTrack}
)

// cvssRating is the CVSS v3/v4 qualitative rating of v's highest base
// score, "unknown" when no score is known.
func cvssRating(v *bulwark.Vulnerability) string {
	best := -1.0
	for _, c := range v.CVSS {
		best = max(best, c.BaseScore)
	}
	switch {
	case best < 0:
		return "unknown"
	case best >= 9:
		return "critical"
	case best >= 7:
		return "high"
	case best >= 4:
		return "medium"
	case best > 0:
		return "low"
	}
	return "none"
}

// SummarizeFindings counts findings by SSVC decision, CVSS severity and KEV
// status; vuln finds a finding's vulnerability (nil: severity unknown).
func SummarizeFindings(period string, fs []bulwark.Finding, vuln func(id string) *bulwark.Vulnerability) FindingsSummary {
	s := FindingsSummary{Period: period, ByDecision: map[string]int{}, BySeverity: map[string]int{}}
	rating := map[string]string{}
	for _, f := range fs {
		s.Open++
		if f.KEV {
			s.KEV++
		}
		dec := string(f.Decision)
		if dec == "" {
			dec = "undecided"
		}
		s.ByDecision[dec]++
		r, ok := rating[f.VulnID]
		if !ok {
			r = "unknown"
			if v := vuln(f.VulnID); v != nil {
				r = cvssRating(v)
			}
			rating[f.VulnID] = r
		}
		s.BySeverity[r]++
	}
	s.Vulnerabilities = len(rating)
	return s
}

// text is the summary as a report's description.
func (s FindingsSummary) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Open vulnerability findings in %s: %d, of %d vulnerabilities; %d known exploited (CISA KEV).", s.Period, s.Open, s.Vulnerabilities, s.KEV)
	var parts []string
	for _, d := range decisionOrder {
		if n := s.ByDecision[string(d)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", d, n))
		}
	}
	if n := s.ByDecision["undecided"]; n > 0 {
		parts = append(parts, fmt.Sprintf("undecided %d", n))
	}
	if len(parts) > 0 {
		b.WriteString(" By SSVC decision: " + strings.Join(parts, ", ") + ".")
	}
	parts = parts[:0]
	for _, r := range severityOrder {
		if n := s.BySeverity[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r, n))
		}
	}
	if len(parts) > 0 {
		b.WriteString(" By CVSS severity: " + strings.Join(parts, ", ") + ".")
	}
	return b.String()
}

// PublishFindingsSummary publishes to col a report summarizing the caller
// organization's open findings this month (UTC): how many, by SSVC
// decision, CVSS severity and KEV status — never assets, host names,
// services or CVE ids, which would tell a reader where the organization is
// exposed. The report's id depends on the organization and the month, so
// publishing again in the same month adds a new version of the same report
// (or nothing, when the counts are the same); the counts travel also as
// the custom property x_bulwark_findings_summary.
func (d *FromData) PublishFindingsSummary(ctx context.Context, col string, m bulwark.TLP, orgs ...string) (*BulkResult, error) {
	p, pub, err := d.publisher(ctx, col, m)
	if err != nil {
		return nil, err
	}
	if d.Findings == nil || d.Vulnerabilities == nil {
		return nil, fmt.Errorf("publish findings summary: no findings source")
	}
	fs, err := d.Findings(ctx, p.Org)
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	period := d.now().Format("2006-01")
	var lookupErr error
	sum := SummarizeFindings(period, fs, func(id string) *bulwark.Vulnerability {
		v, err := d.Vulnerabilities.FindVulnerability(ctx, id)
		if err != nil && bulwark.ErrorCode(err) != bulwark.ENOTFOUND && lookupErr == nil {
			lookupErr = err
		}
		return v
	})
	if lookupErr != nil {
		return nil, fmt.Errorf("findings summary: %w", lookupErr)
	}
	custom, err := json.Marshal(sum, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("findings summary: %w", err)
	}
	key := "findings-summary\x1f" + period
	res := &BulkResult{}
	ro, err := d.versioned(ctx, col, func(t stix.Times) (*stix.Object, error) {
		r := stix.Report{Name: "Open vulnerability findings, " + period, Description: sum.text(),
			ReportTypes: []string{"vulnerability"}, ObjectRefs: []string{pub.IdentityID}}
		r.Custom = map[string]jsontext.Value{"x_bulwark_findings_summary": custom}
		return pub.Report(key, r, t)
	})
	if err != nil {
		return nil, fmt.Errorf("findings summary: %w", err)
	}
	if err := d.publishOne(ctx, col, m, orgs, ro, res); err != nil {
		return res, err
	}
	return res, res.err()
}
