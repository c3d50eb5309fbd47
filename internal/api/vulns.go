package api

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"bulwark"
	"bulwark/internal/feed"
	"bulwark/internal/vulns"
)

// MaxFeedBytes caps one feed document sent to POST /api/v1/feeds (after
// any gzip compression on the wire; the feed reader caps each record).
const MaxFeedBytes = 256 << 20

type vulnSummaryDTO struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	CVSS        float64   `json:"cvss"`
	KEV         bool      `json:"kev"`
	KEVDue      time.Time `json:"kev_due,omitzero"`
	EPSS        float64   `json:"epss"`
	Modified    time.Time `json:"modified,omitzero"`
	Sources     []string  `json:"sources"`
}

func toVulnSummary(s *bulwark.VulnSummary) vulnSummaryDTO { return vulnSummaryDTO(*s) }

type vulnerabilityDTO struct {
	ID             string                    `json:"id"`
	Aliases        []string                  `json:"aliases,omitempty"`
	Published      time.Time                 `json:"published,omitzero"`
	Modified       time.Time                 `json:"modified,omitzero"`
	Description    string                    `json:"description"`
	CWEs           []string                  `json:"cwes,omitempty"`
	CVSS           []bulwark.CVSS            `json:"cvss,omitempty"`
	References     []bulwark.Reference       `json:"references,omitempty"`
	Configurations []bulwark.Node            `json:"configurations,omitempty"`
	Affected       []bulwark.AffectedProduct `json:"affected,omitempty"`
	KEV            *bulwark.KEVEntry         `json:"kev,omitempty"`
	EPSS           *bulwark.EPSSScore        `json:"epss,omitempty"`
	ADP            *bulwark.SSVCPoints       `json:"cisa_adp_ssvc,omitempty"`
	Remediations   []bulwark.Remediation     `json:"remediations,omitempty"`
	Sources        []bulwark.Provenance      `json:"sources"`
}

func toVulnerability(v *bulwark.Vulnerability) vulnerabilityDTO {
	return vulnerabilityDTO{ID: v.ID, Aliases: v.Aliases, Published: v.Published, Modified: v.Modified, Description: v.Description,
		CWEs: v.CWEs, CVSS: v.CVSS, References: v.References, Configurations: v.Configurations, Affected: v.Affected,
		KEV: v.KEV, EPSS: v.EPSS, ADP: v.ADP, Remediations: v.Remediations, Sources: v.Sources}
}

type findingDTO struct {
	AssetID        string             `json:"asset_id"`
	VulnID         string             `json:"vuln_id"`
	Owner          string             `json:"owner"`
	Status         string             `json:"status"`
	Confidence     string             `json:"confidence"`
	Evidence       string             `json:"evidence"`
	Decision       string             `json:"decision"`
	SSVC           bulwark.SSVCInputs `json:"ssvc"`
	Due            time.Time          `json:"due,omitzero"`
	KEV            bool               `json:"kev"`
	FirstSeen      time.Time          `json:"first_seen,omitzero"`
	UpdatedAt      time.Time          `json:"updated_at,omitzero"`
	AcceptedBy     string             `json:"accepted_by,omitempty"`
	AcceptedReason string             `json:"accepted_reason,omitempty"`
	AcceptedUntil  time.Time          `json:"accepted_until,omitzero"`
}

func toFinding(f *bulwark.Finding) findingDTO {
	return findingDTO{AssetID: f.AssetID, VulnID: f.VulnID, Owner: f.Owner, Status: string(f.Status), Confidence: string(f.Confidence),
		Evidence: f.Evidence, Decision: string(f.Decision), SSVC: f.Inputs, Due: f.Due, KEV: f.KEV, FirstSeen: f.FirstSeen, UpdatedAt: f.UpdatedAt,
		AcceptedBy: f.AcceptedBy, AcceptedReason: f.AcceptedReason, AcceptedUntil: f.AcceptedUntil}
}

// findingChangeDTO is the body of PATCH /api/v1/findings/{asset}/{vuln}.
type findingChangeDTO struct {
	Status     string `json:"status"`
	Note       string `json:"note"`
	AcceptedBy string `json:"accepted_by"`
	Until      string `json:"until"` // YYYY-MM-DD
}

func boolParam(q map[string][]string, name string) (bool, error) {
	vs := q[name]
	if len(vs) == 0 {
		return false, nil
	}
	b, err := strconv.ParseBool(vs[0])
	if err != nil {
		return false, bulwark.Errorf(bulwark.EINVALID, "%s must be true or false", name)
	}
	return b, nil
}

func limitParam(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > bulwark.MaxPageSize {
		return 0, bulwark.Errorf(bulwark.EINVALID, "limit must be an integer from 1 to %d", bulwark.MaxPageSize)
	}
	return n, nil
}

func (a *API) listVulnerabilities(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "limit", "after", "q", "kev")
	if err != nil {
		return err
	}
	var f bulwark.VulnFilter
	if f.Limit, err = limitParam(q.Get("limit")); err != nil {
		return err
	}
	if f.KEV, err = boolParam(q, "kev"); err != nil {
		return err
	}
	f.After, f.Query = q.Get("after"), q.Get("q")
	if len(f.After) > maxQueryLen || len(f.Query) > maxQueryLen {
		return bulwark.Errorf(bulwark.EINVALID, "after and q are limited to %d bytes", maxQueryLen)
	}
	page, err := a.st.ListVulnerabilities(r.Context(), f)
	if err != nil {
		return err
	}
	out := pageDTO[vulnSummaryDTO]{Items: make([]vulnSummaryDTO, 0, len(page.Items)), Next: page.Next}
	for i := range page.Items {
		out.Items = append(out.Items, toVulnSummary(&page.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getVulnerability(w http.ResponseWriter, r *http.Request) error {
	return get(r, w, "vulnerability", a.st.FindVulnerability, toVulnerability)
}

func (a *API) listFindings(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "limit", "after", "owner", "asset", "vuln", "status", "decision", "kev", "open", "sort")
	if err != nil {
		return err
	}
	var f bulwark.FindingFilter
	if f.Limit, err = limitParam(q.Get("limit")); err != nil {
		return err
	}
	if f.KEV, err = boolParam(q, "kev"); err != nil {
		return err
	}
	if f.Open, err = boolParam(q, "open"); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"owner", &f.Owner}, {"asset", &f.Asset}, {"vuln", &f.Vuln}} {
		if s := q.Get(p.name); s != "" {
			if !bulwark.ValidID(s) {
				return bulwark.Errorf(bulwark.EINVALID, "%s must be an identifier", p.name)
			}
			*p.dst = s
		}
	}
	switch st := bulwark.FindingStatus(q.Get("status")); st {
	case "", bulwark.FindingOpen, bulwark.FindingInRemediation, bulwark.FindingFixed, bulwark.FindingVerified, bulwark.FindingAccepted:
		f.Status = st
	default:
		return bulwark.Errorf(bulwark.EINVALID, "status must be open, in_remediation, fixed, verified or accepted")
	}
	switch d := bulwark.SSVCDecision(q.Get("decision")); d {
	case "", bulwark.SSVCTrack, bulwark.SSVCTrackStar, bulwark.SSVCAttend, bulwark.SSVCAct:
		f.Decision = d
	default:
		return bulwark.Errorf(bulwark.EINVALID, "decision must be Track, Track*, Attend or Act")
	}
	switch s := q.Get("sort"); s {
	case "", "id":
	case "priority":
		f.Sort = s
	default:
		return bulwark.Errorf(bulwark.EINVALID, "sort must be id or priority")
	}
	f.After = q.Get("after")
	if len(f.After) > 2*bulwark.MaxIDLen+1 {
		return bulwark.Errorf(bulwark.EINVALID, "after is not a cursor this API gave")
	}
	page, err := a.st.ListFindings(r.Context(), f)
	if err != nil {
		return err
	}
	out := pageDTO[findingDTO]{Items: make([]findingDTO, 0, len(page.Items)), Next: page.Next}
	for i := range page.Items {
		out.Items = append(out.Items, toFinding(&page.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// findingKey reads {asset} and {vuln}; a malformed one is answered like a
// missing finding.
func findingKey(r *http.Request) (string, string, error) {
	asset, vuln := r.PathValue("asset"), r.PathValue("vuln")
	if len(r.URL.RawQuery) > 0 {
		return "", "", bulwark.Errorf(bulwark.EINVALID, "this route takes no query parameters")
	}
	if !bulwark.ValidID(asset) || !bulwark.ValidID(vuln) {
		return "", "", bulwark.Errorf(bulwark.ENOTFOUND, "finding not found")
	}
	return asset, vuln, nil
}

func (a *API) getFinding(w http.ResponseWriter, r *http.Request) error {
	asset, vuln, err := findingKey(r)
	if err != nil {
		return err
	}
	f, err := a.vs.Finding(r.Context(), asset, vuln)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFinding(f))
	return nil
}

func (a *API) updateFinding(w http.ResponseWriter, r *http.Request) error {
	asset, vuln, err := findingKey(r)
	if err != nil {
		return err
	}
	var body findingChangeDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	c := bulwark.FindingChange{Status: bulwark.FindingStatus(body.Status), Note: body.Note, AcceptedBy: body.AcceptedBy}
	if body.Until != "" {
		t, err := time.Parse(time.DateOnly, body.Until)
		if err != nil {
			return bulwark.Errorf(bulwark.EINVALID, "until must be a date YYYY-MM-DD")
		}
		c.Until = t
	}
	f, err := a.st.UpdateFinding(r.Context(), asset, vuln, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFinding(f))
	return nil
}

func (a *API) findingHistory(w http.ResponseWriter, r *http.Request) error {
	asset, vuln, err := findingKey(r)
	if err != nil {
		return err
	}
	h, err := a.st.FindingHistory(r.Context(), asset, vuln)
	if err != nil {
		return err
	}
	if h == nil {
		h = []bulwark.FindingEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h})
	return nil
}

func (a *API) explain(w http.ResponseWriter, r *http.Request) error {
	asset, vuln, err := findingKey(r)
	if err != nil {
		return err
	}
	x, err := a.vs.Explain(r.Context(), asset, vuln)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

func (a *API) advisories(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "owner", "vuln")
	if err != nil {
		return err
	}
	f := vulns.AdvisoryFilter{Owner: q.Get("owner"), Vuln: q.Get("vuln")}
	if (f.Owner != "" && !bulwark.ValidID(f.Owner)) || (f.Vuln != "" && !bulwark.ValidID(f.Vuln)) {
		return bulwark.Errorf(bulwark.EINVALID, "owner and vuln must be identifiers")
	}
	advs, err := a.vs.Advisories(r.Context(), f)
	if err != nil {
		return err
	}
	if advs == nil {
		advs = []vulns.Advisory{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": advs})
	return nil
}

func (a *API) feedStatus(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	srcs, err := a.st.FeedSources(r.Context())
	if err != nil {
		return err
	}
	v, err := a.st.FeedVersion(r.Context())
	if err != nil {
		return err
	}
	if srcs == nil {
		srcs = []bulwark.FeedSource{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"feed_version": v, "sources": srcs})
	return nil
}

// importFeed takes one feed document as the body; ?name= names it in
// messages and provenance. Its format is detected (or given by ?format=).
// The changed vulnerabilities are re-matched before answering.
func (a *API) importFeed(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "name", "format")
	if err != nil {
		return err
	}
	name := q.Get("name")
	if name == "" {
		name = "request.json"
	}
	if len(name) > 200 {
		return bulwark.Errorf(bulwark.EINVALID, "name is limited to 200 bytes")
	}
	var opts feed.Options
	if s := q.Get("format"); s != "" {
		f, ok := feed.ParseFormat(s)
		if !ok || f == feed.FormatUnknown {
			return bulwark.Errorf(bulwark.EINVALID, "unknown format %q", bulwark.Abbrev(s, 40))
		}
		opts.Format = f
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "malformed Content-Type")
		}
		switch mt {
		case "application/json", "application/gzip", "application/octet-stream", "text/csv", "application/x-ndjson", "application/csaf+json":
		default:
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "Content-Type %s is not supported: send application/json, application/gzip or text/csv", mt)
		}
	}
	if r.ContentLength > MaxFeedBytes {
		return bulwark.Errorf(bulwark.ETOOLARGE, "feed document is larger than %d bytes; import large feeds with the bulwark feeds import command", MaxFeedBytes)
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	body := http.MaxBytesReader(w, r.Body, MaxFeedBytes)
	res, err := a.vs.ImportReader(r.Context(), name, body, opts)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bulwark.Errorf(bulwark.ETOOLARGE, "feed document is larger than %d bytes", MaxFeedBytes)
		}
		return err
	}
	out := map[string]any{"document": res}
	if len(res.Changed) > 0 {
		m, err := a.vs.Match(r.Context(), vulns.MatchOptions{Vulns: res.Changed})
		if err != nil {
			return err
		}
		out["match"] = m
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) runMatch(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	m, err := a.vs.Match(r.Context(), vulns.MatchOptions{})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// MaxSBOMBytes caps an uploaded SBOM.
const MaxSBOMBytes = 32 << 20

func (a *API) putSBOM(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "asset")
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "malformed Content-Type")
		}
		switch mt {
		case "application/json", "application/vnd.cyclonedx+json", "application/xml", "application/vnd.cyclonedx+xml", "text/xml":
		default:
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "Content-Type %s is not supported: send a CycloneDX document as JSON or XML", mt)
		}
	}
	if r.ContentLength > MaxSBOMBytes {
		return bulwark.Errorf(bulwark.ETOOLARGE, "SBOM is larger than %d bytes", MaxSBOMBytes)
	}
	s, notes, err := a.vs.AttachSBOM(r.Context(), id, "sbom.json", http.MaxBytesReader(w, r.Body, MaxSBOMBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bulwark.Errorf(bulwark.ETOOLARGE, "SBOM is larger than %d bytes", MaxSBOMBytes)
		}
		return err
	}
	if notes == nil {
		notes = []bulwark.Problem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sbom": s, "notes": notes})
	return nil
}

func (a *API) getSBOM(w http.ResponseWriter, r *http.Request) error {
	return get(r, w, "asset", a.st.FindSBOM, func(s *bulwark.SBOM) *bulwark.SBOM { return s })
}

func (a *API) exposure(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	ex, err := a.vs.Exposure(r.Context())
	if err != nil {
		return err
	}
	if ex == nil {
		ex = []vulns.ServiceExposure{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ex})
	return nil
}
