package oscal

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"bulwark"
)

// AssessmentResults is what WriteAssessmentResults exports: assessments
// and the catalogs they were assessed against (a catalog supplies the
// titles of findings; an assessment whose catalog is missing is still
// exported, with control IDs as titles).
type AssessmentResults struct {
	// Title of the document; "Bulwark assessment results" when empty.
	Title string
	// Version of the document; "1" when empty.
	Version string
	// LastModified of the document; the newest UpdatedAt of the
	// assessments when zero, so that the same input gives the same bytes.
	LastModified time.Time
	Assessments  []*bulwark.Assessment
	Catalogs     []*bulwark.Catalog
}

// ImportAPHref is the import-ap reference of every exported document.
// OSCAL requires assessment results to import an assessment plan; Bulwark
// keeps none, so the reference is a fragment naming that absence rather
// than a URL that would not resolve to a plan. The import-ap remarks say
// so too.
const ImportAPHref = "#bulwark-assessment-plan"

// uuidSpace is the UUIDv5 namespace of every UUID Bulwark writes into
// OSCAL: the same assessment and control always get the same UUIDs, so
// that two exports of unchanged results are identical and a consumer sees
// one subject across revisions, as OSCAL asks.
var uuidSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte(Namespace))

func stableUUID(parts ...string) string {
	return uuid.NewSHA1(uuidSpace, []byte(strings.Join(parts, "\x00"))).String()
}

// The OSCAL assessment-results model, as far as Bulwark writes it.
type arDoc struct {
	AR *assessmentResults `json:"assessment-results"`
}

type assessmentResults struct {
	UUID     string     `json:"uuid"`
	Metadata arMetadata `json:"metadata"`
	ImportAP importAP   `json:"import-ap"`
	Results  []arResult `json:"results"`
}

type arMetadata struct {
	Title        string `json:"title"`
	LastModified string `json:"last-modified"`
	Version      string `json:"version"`
	OSCALVersion string `json:"oscal-version"`
	Props        []prop `json:"props,omitempty"`
}

type importAP struct {
	Href    string `json:"href"`
	Remarks string `json:"remarks,omitempty"`
}

type arResult struct {
	UUID             string           `json:"uuid"`
	Title            string           `json:"title"`
	Description      string           `json:"description"`
	Start            string           `json:"start"`
	End              string           `json:"end,omitempty"`
	Props            []prop           `json:"props,omitempty"`
	ReviewedControls reviewedControls `json:"reviewed-controls"`
	Observations     []observation    `json:"observations,omitempty"`
	Findings         []finding        `json:"findings,omitempty"`
}

type reviewedControls struct {
	ControlSelections []controlSelection `json:"control-selections"`
}

type controlSelection struct {
	Description     string      `json:"description,omitempty"`
	IncludeAll      *struct{}   `json:"include-all,omitempty"`
	IncludeControls []controlID `json:"include-controls,omitempty"`
}

type controlID struct {
	ControlID string `json:"control-id"`
}

type observation struct {
	UUID             string             `json:"uuid"`
	Title            string             `json:"title,omitempty"`
	Description      string             `json:"description"`
	Props            []prop             `json:"props,omitempty"`
	Methods          []string           `json:"methods"`
	RelevantEvidence []relevantEvidence `json:"relevant-evidence,omitempty"`
	Collected        string             `json:"collected"`
}

type relevantEvidence struct {
	Href        string `json:"href,omitempty"`
	Description string `json:"description"`
	Props       []prop `json:"props,omitempty"`
}

type finding struct {
	UUID                string               `json:"uuid"`
	Title               string               `json:"title"`
	Description         string               `json:"description"`
	Props               []prop               `json:"props,omitempty"`
	Target              findingTarget        `json:"target"`
	RelatedObservations []relatedObservation `json:"related-observations,omitempty"`
	Remarks             string               `json:"remarks,omitempty"`
}

type findingTarget struct {
	Type     string       `json:"type"`
	TargetID string       `json:"target-id"`
	Status   targetStatus `json:"status"`
}

type targetStatus struct {
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"`
	Remarks string `json:"remarks,omitempty"`
}

type relatedObservation struct {
	ObservationUUID string `json:"observation-uuid"`
}

// oscalState maps a Bulwark status to the finding-target state OSCAL
// knows ("satisfied" or "not-satisfied") and a reason (OSCAL's "pass",
// "fail" or "other"). OSCAL has no partial or not-applicable state:
// partial is not satisfied for "other" reasons, not applicable is
// satisfied for "other" reasons, and the exact Bulwark status travels in
// the finding's "status" property in Bulwark's namespace.
func oscalState(s bulwark.ImplStatus) (state, reason string) {
	switch s {
	case bulwark.StatusImplemented:
		return "satisfied", "pass"
	case bulwark.StatusNotApplicable:
		return "satisfied", "other"
	case bulwark.StatusPartial:
		return "not-satisfied", "other"
	}
	return "not-satisfied", "fail"
}

// tokenFor turns a Bulwark control ID into an OSCAL token (a letter or
// '_' first, then letters, digits, '.', '-' or '_'). CSF and OSCAL IDs
// already are tokens; CPG goal IDs ("1.A") start with a digit and get a
// leading '_', which no Bulwark ID has, so fromToken can undo it.
func tokenFor(id string) (string, bool) {
	if validToken(id) {
		return id, true
	}
	if validToken("_" + id) {
		return "_" + id, true
	}
	return "", false
}

func fromToken(tok string) string { return strings.TrimPrefix(tok, "_") }

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// timestamp formats t as OSCAL's date-time-with-timezone. OSCAL's pattern
// only admits years 1900-2999.
func timestamp(t time.Time) (string, bool) {
	t = t.UTC()
	if t.Year() < 1900 || t.Year() > 2999 {
		return "", false
	}
	return t.Format(time.RFC3339Nano), true
}

// displayTitle is how a control is named to a reader: its title, or,
// when the title only repeats the ID (as CSF subcategories' do), the
// first line of its statement.
func displayTitle(c *bulwark.Control) string {
	if c == nil {
		return ""
	}
	if c.Title != "" && c.Title != c.ID {
		return oneLine(c.Title)
	}
	first, _, _ := strings.Cut(c.Statement, "\n")
	return oneLine(first)
}

func bprop(name, value string) prop {
	return prop{Name: name, NS: Namespace, Value: value}
}

// appendProp adds a Bulwark property unless value is empty after trimming:
// OSCAL property values must be non-empty with no leading or trailing
// white space.
func appendProp(ps []prop, name, value string) []prop {
	value = strings.TrimSpace(value)
	if value == "" {
		return ps
	}
	return append(ps, bprop(name, value))
}

// nonEmpty returns s trimmed, or def when that is empty.
func nonEmpty(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

func scopeKindName(k string) string {
	if k == "" {
		return bulwark.ScopeOrganization
	}
	return k
}

// WriteAssessmentResults writes ar as one OSCAL 1.1 assessment-results
// document: one result per assessment (in the order given), one finding
// per assessed control (status not empty), and one observation per piece
// of evidence. Bulwark's own fields travel as properties in Namespace:
// on a result assessment-id, owner, scope-kind, scope, catalog; on a
// finding control-id, status, current-tier, target-tier, assessor,
// assessed-at, rev; on relevant evidence kind, sha256, size. Notes are
// the finding's remarks. The output validates against NIST's OSCAL 1.1
// assessment-results JSON schema.
func WriteAssessmentResults(w io.Writer, ar AssessmentResults) error {
	doc, err := buildResults(ar)
	if err != nil {
		return err
	}
	enc := jsontext.NewEncoder(w, jsontext.WithIndent("  "), jsontext.EscapeForHTML(false))
	if err := json.MarshalEncode(enc, &arDoc{AR: doc}); err != nil {
		return fmt.Errorf("oscal: writing assessment results: %w", err)
	}
	return nil
}

func buildResults(ar AssessmentResults) (*assessmentResults, error) {
	if len(ar.Assessments) == 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "OSCAL assessment results need at least one assessment")
	}
	catalogs := map[string]*bulwark.Catalog{}
	for _, c := range ar.Catalogs {
		if c != nil {
			catalogs[c.ID] = c
		}
	}
	last := ar.LastModified
	ids := make([]string, 0, len(ar.Assessments))
	seen := map[string]bool{}
	for i, a := range ar.Assessments {
		if a == nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "assessment %d is nil", i)
		}
		if seen[a.ID] {
			return nil, bulwark.Errorf(bulwark.EINVALID, "assessment %q listed twice", a.ID)
		}
		seen[a.ID] = true
		ids = append(ids, a.ID)
		if ar.LastModified.IsZero() && a.UpdatedAt.After(last) {
			last = a.UpdatedAt
		}
	}
	lastS, ok := timestamp(last)
	if !ok {
		return nil, bulwark.Errorf(bulwark.EINVALID, "no usable last-modified time: set AssessmentResults.LastModified or the assessments' UpdatedAt")
	}
	doc := &assessmentResults{
		UUID: stableUUID(append([]string{"assessment-results"}, ids...)...),
		Metadata: arMetadata{
			Title:        nonEmpty(oneLine(ar.Title), "Bulwark assessment results"),
			LastModified: lastS,
			Version:      nonEmpty(ar.Version, "1"),
			OSCALVersion: OSCALVersion,
		},
		ImportAP: importAP{
			Href:    ImportAPHref,
			Remarks: "Bulwark keeps no OSCAL assessment plan: the results record control statuses set by assessors in Bulwark, and this reference is a placeholder.",
		},
	}
	for _, a := range ar.Assessments {
		r, err := buildResult(a, catalogs[a.Catalog])
		if err != nil {
			return nil, err
		}
		doc.Results = append(doc.Results, r)
	}
	return doc, nil
}

func buildResult(a *bulwark.Assessment, cat *bulwark.Catalog) (arResult, error) {
	start, ok := timestamp(a.CreatedAt)
	if !ok {
		return arResult{}, bulwark.Errorf(bulwark.EINVALID, "assessment %q: creation time %v cannot be written as an OSCAL date-time", a.ID, a.CreatedAt)
	}
	controls := map[string]*bulwark.Control{}
	catTitle := a.Catalog
	if cat != nil {
		catTitle = fmt.Sprintf("%s (%s)", cat.Title, cat.ID)
		for i := range cat.Controls {
			controls[cat.Controls[i].ID] = &cat.Controls[i]
		}
	}
	r := arResult{
		UUID:  stableUUID("result", a.ID),
		Title: nonEmpty(oneLine(a.Title), "Assessment "+a.ID),
		Description: fmt.Sprintf("Assessment %s of the %s %q, owned by %q, against %s.",
			a.ID, scopeKindName(a.ScopeKind), nonEmpty(a.Scope, a.Owner), a.Owner, catTitle),
		Start: start,
	}
	if end, ok := timestamp(a.UpdatedAt); ok && a.UpdatedAt.After(a.CreatedAt) {
		r.End = end
	}
	r.Props = appendProp(r.Props, "assessment-id", a.ID)
	r.Props = appendProp(r.Props, "owner", a.Owner)
	r.Props = appendProp(r.Props, "scope-kind", scopeKindName(a.ScopeKind))
	r.Props = appendProp(r.Props, "scope", a.Scope)
	r.Props = appendProp(r.Props, "catalog", a.Catalog)

	var include []controlID
	done := map[string]bool{}
	for _, res := range a.Results {
		if res.Status == bulwark.StatusNotAssessed {
			continue
		}
		if done[res.Control] {
			// Its finding and observations would share UUIDs.
			return arResult{}, bulwark.Errorf(bulwark.EINVALID, "assessment %q: control %q has two results", a.ID, res.Control)
		}
		done[res.Control] = true
		if !res.Status.Valid() {
			return arResult{}, bulwark.Errorf(bulwark.EINVALID, "assessment %q, control %q: unknown status %q", a.ID, res.Control, res.Status)
		}
		tok, ok := tokenFor(res.Control)
		if !ok {
			return arResult{}, bulwark.Errorf(bulwark.EINVALID, "assessment %q: control ID %q cannot be written as an OSCAL token", a.ID, res.Control)
		}
		include = append(include, controlID{ControlID: tok})
		f, obs := buildFinding(a, res, tok, controls[res.Control])
		r.Findings = append(r.Findings, f)
		r.Observations = append(r.Observations, obs...)
	}
	sel := controlSelection{IncludeControls: include}
	if len(include) == 0 {
		// OSCAL needs at least one selection; an assessment with no result
		// yet reviewed nothing, which an empty-handed description says.
		sel = controlSelection{Description: "No control has been assessed yet."}
	}
	r.ReviewedControls.ControlSelections = []controlSelection{sel}
	return r, nil
}

func buildFinding(a *bulwark.Assessment, res bulwark.ControlResult, tok string, c *bulwark.Control) (finding, []observation) {
	state, reason := oscalState(res.Status)
	title := res.Control
	if t := displayTitle(c); t != "" {
		title = res.Control + " " + t
	}
	f := finding{
		UUID:        stableUUID("finding", a.ID, res.Control),
		Title:       title,
		Description: fmt.Sprintf("Control %s assessed as %s.", res.Control, strings.ReplaceAll(string(res.Status), "_", " ")),
		Target: findingTarget{
			Type:     "objective-id",
			TargetID: tok,
			Status:   targetStatus{State: state, Reason: reason},
		},
		Remarks: res.Notes,
	}
	if c != nil && c.Statement != "" {
		f.Description += "\n\n" + c.Statement
	}
	f.Props = appendProp(f.Props, "control-id", res.Control)
	f.Props = appendProp(f.Props, "status", string(res.Status))
	if res.CurrentTier != 0 {
		f.Props = appendProp(f.Props, "current-tier", strconv.Itoa(res.CurrentTier))
	}
	if res.TargetTier != 0 {
		f.Props = appendProp(f.Props, "target-tier", strconv.Itoa(res.TargetTier))
	}
	f.Props = appendProp(f.Props, "assessor", res.Assessor)
	at, atOK := timestamp(res.At)
	if atOK {
		f.Props = appendProp(f.Props, "assessed-at", at)
	} else {
		// Observations need a collection time: fall back to the
		// assessment's last change.
		at, _ = timestamp(a.UpdatedAt)
		if at == "" {
			at, _ = timestamp(a.CreatedAt)
		}
	}
	f.Props = appendProp(f.Props, "rev", strconv.Itoa(res.Rev))

	var obs []observation
	for i, ev := range res.Evidence {
		o := observation{
			UUID:        stableUUID("observation", a.ID, res.Control, strconv.Itoa(i)),
			Title:       oneLine(ev.Title),
			Description: nonEmpty(oneLine(ev.Title), "Evidence for "+res.Control),
			Methods:     []string{"EXAMINE"},
			Collected:   at,
		}
		re := relevantEvidence{Href: ev.URL, Description: nonEmpty(oneLine(ev.Title), ev.Kind+" evidence")}
		re.Props = appendProp(re.Props, "kind", ev.Kind)
		re.Props = appendProp(re.Props, "sha256", ev.SHA256)
		if ev.Size != 0 {
			re.Props = appendProp(re.Props, "size", strconv.FormatInt(ev.Size, 10))
		}
		o.RelevantEvidence = []relevantEvidence{re}
		obs = append(obs, o)
		f.RelatedObservations = append(f.RelatedObservations, relatedObservation{ObservationUUID: o.UUID})
	}
	return f, obs
}

// ReadAssessmentResults reads an OSCAL assessment-results document written
// by WriteAssessmentResults back into assessments: IDs, owners, scopes,
// catalogs, times, and for each finding the control's status, tiers,
// notes, evidence, assessor, time and revision. Catalogs are not
// reconstructed. Findings without Bulwark's properties (from another
// tool) are read from their target: control from target-id, status
// implemented when satisfied and not_implemented otherwise.
func ReadAssessmentResults(r io.Reader) (*AssessmentResults, error) {
	const name = "assessment-results"
	data, err := readAll(r, name)
	if err != nil {
		return nil, err
	}
	if err := checkJSON(name, data, "assessment-results"); err != nil {
		return nil, err
	}
	var doc arDoc
	if err := decode(name, data, &doc); err != nil {
		return nil, err
	}
	if doc.AR == nil {
		return nil, invalid(name, "/assessment-results", "assessment-results is null")
	}
	out := &AssessmentResults{
		Title:   doc.AR.Metadata.Title,
		Version: doc.AR.Metadata.Version,
	}
	if s := doc.AR.Metadata.LastModified; s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, invalid(name, "/assessment-results/metadata/last-modified", "bad date-time %q", s)
		}
		out.LastModified = t.UTC()
	}
	if len(doc.AR.Results) == 0 {
		return nil, invalid(name, "/assessment-results/results", "no results")
	}
	for i, res := range doc.AR.Results {
		a, err := readResult(name, fmt.Sprintf("/assessment-results/results/%d", i), &res)
		if err != nil {
			return nil, err
		}
		out.Assessments = append(out.Assessments, a)
	}
	return out, nil
}

// bulwarkProps returns the values of the Bulwark-namespace properties.
func bulwarkProps(ps []prop) map[string]string {
	m := map[string]string{}
	for _, p := range ps {
		if p.NS == Namespace {
			m[p.Name] = p.Value
		}
	}
	return m
}

func readResult(name, ptr string, res *arResult) (*bulwark.Assessment, error) {
	props := bulwarkProps(res.Props)
	a := &bulwark.Assessment{
		ID:      props["assessment-id"],
		Owner:   props["owner"],
		Scope:   props["scope"],
		Catalog: props["catalog"],
		Title:   res.Title,
	}
	if a.ID == "" {
		a.ID = res.UUID
	}
	a.ScopeKind = props["scope-kind"]
	var err error
	if a.CreatedAt, err = parseTime(name, ptr+"/start", res.Start); err != nil {
		return nil, err
	}
	a.UpdatedAt = a.CreatedAt
	if res.End != "" {
		if a.UpdatedAt, err = parseTime(name, ptr+"/end", res.End); err != nil {
			return nil, err
		}
	}
	obsByUUID := map[string]*observation{}
	for i := range res.Observations {
		obsByUUID[res.Observations[i].UUID] = &res.Observations[i]
	}
	for i, f := range res.Findings {
		fptr := fmt.Sprintf("%s/findings/%d", ptr, i)
		cr, err := readFinding(name, fptr, &f, obsByUUID)
		if err != nil {
			return nil, err
		}
		a.Results = append(a.Results, cr)
	}
	return a, nil
}

func readFinding(name, ptr string, f *finding, obs map[string]*observation) (bulwark.ControlResult, error) {
	props := bulwarkProps(f.Props)
	cr := bulwark.ControlResult{
		Control:  props["control-id"],
		Status:   bulwark.ImplStatus(props["status"]),
		Notes:    f.Remarks,
		Assessor: props["assessor"],
	}
	if cr.Control == "" {
		cr.Control = fromToken(f.Target.TargetID)
	}
	if cr.Control == "" {
		return cr, invalid(name, ptr+"/target/target-id", "finding names no control")
	}
	if _, ok := props["status"]; !ok {
		if f.Target.Status.State == "satisfied" {
			cr.Status = bulwark.StatusImplemented
		} else {
			cr.Status = bulwark.StatusNotImplemented
		}
	}
	if !cr.Status.Valid() || cr.Status == bulwark.StatusNotAssessed {
		return cr, invalid(name, ptr+"/props", "unknown status %q", cr.Status)
	}
	for _, t := range []struct {
		name string
		dst  *int
		max  int
	}{{"current-tier", &cr.CurrentTier, bulwark.MaxTier}, {"target-tier", &cr.TargetTier, bulwark.MaxTier}, {"rev", &cr.Rev, 1 << 30}} {
		s, ok := props[t.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > t.max {
			return cr, invalid(name, ptr+"/props", "%s %q is not a number from 0 to %d", t.name, s, t.max)
		}
		*t.dst = n
	}
	if s, ok := props["assessed-at"]; ok {
		t, err := parseTime(name, ptr+"/props", s)
		if err != nil {
			return cr, err
		}
		cr.At = t
	}
	for j, ro := range f.RelatedObservations {
		o, ok := obs[ro.ObservationUUID]
		if !ok {
			return cr, invalid(name, fmt.Sprintf("%s/related-observations/%d/observation-uuid", ptr, j), "no observation %s in this result", ro.ObservationUUID)
		}
		for _, re := range o.RelevantEvidence {
			ep := bulwarkProps(re.Props)
			ev := bulwark.Evidence{Kind: ep["kind"], Title: o.Title, URL: re.Href, SHA256: ep["sha256"]}
			if ev.Title == "" {
				ev.Title = re.Description
			}
			if ev.Kind == "" {
				ev.Kind = "link"
				if ev.URL == "" {
					ev.Kind = "note"
				}
			}
			if s, ok := ep["size"]; ok {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil || n < 0 {
					return cr, invalid(name, ptr, "evidence size %q is not a byte count", s)
				}
				ev.Size = n
			}
			cr.Evidence = append(cr.Evidence, ev)
		}
	}
	return cr, nil
}

func parseTime(name, ptr, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid(name, ptr, "bad date-time %q: want RFC 3339 with a time zone", s)
	}
	return t.UTC(), nil
}
