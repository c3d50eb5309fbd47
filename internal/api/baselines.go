package api

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/oscal"
	"bulwark/internal/report"
)

type createAssessmentDTO struct {
	Catalog   string `json:"catalog"`
	ScopeKind string `json:"scope_kind"`
	Scope     string `json:"scope"`
	Title     string `json:"title"`
}

type evidenceDTO struct {
	Kind   string `json:"kind"`
	Title  string `json:"title"`
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// resultChangeDTO is the body of PUT
// /api/v1/assessments/{id}/results/{control}.
type resultChangeDTO struct {
	BaseRev     int           `json:"base_rev"`
	Status      string        `json:"status"`
	CurrentTier int           `json:"current_tier"`
	TargetTier  int           `json:"target_tier"`
	Notes       string        `json:"notes"`
	Evidence    []evidenceDTO `json:"evidence"`
}

type requirementDTO struct {
	Control   string `json:"control"`
	MinStatus string `json:"min_status"`
	MinTier   int    `json:"min_tier"`
}

// profileDTO is the body of PUT /api/v1/profiles/{id}.
type profileDTO struct {
	Name         string           `json:"name"`
	Description  string           `json:"description"`
	Catalog      string           `json:"catalog"`
	AppliesTo    string           `json:"applies_to"`
	Requirements []requirementDTO `json:"requirements"`
}

type complianceDTO struct {
	Profile bulwark.Profile    `json:"profile"`
	Meeting int                `json:"meeting"`
	Rows    []complianceRowDTO `json:"rows"`
}

type complianceRowDTO struct {
	Org     string    `json:"org"`
	OrgName string    `json:"org_name"`
	Meets   bool      `json:"meets"`
	Met     int       `json:"met"`
	Cells   []cellDTO `json:"cells"`
}

type cellDTO struct {
	Control string `json:"control"`
	Status  string `json:"status"`
	Tier    int    `json:"tier,omitempty"`
	Met     bool   `json:"met"`
	Derived bool   `json:"derived,omitempty"`
	Why     string `json:"why,omitempty"`
}

func toCompliance(p *baseline.ProfileResult) complianceDTO {
	out := complianceDTO{Profile: p.Profile, Meeting: p.Meeting(), Rows: []complianceRowDTO{}}
	for _, r := range p.Rows {
		row := complianceRowDTO{Org: r.Org, OrgName: r.OrgName, Meets: r.Meets, Met: r.Met}
		for _, c := range r.Cells {
			row.Cells = append(row.Cells, cellDTO{Control: c.Control, Status: string(c.Status), Tier: c.Tier, Met: c.Met, Derived: c.Derived, Why: c.Why})
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

type indicatorDTO struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Formula  string  `json:"formula"`
	Weight   float64 `json:"weight"`
	Measured bool    `json:"measured"`
	Value    float64 `json:"value"`
	Score    float64 `json:"score"`
	Detail   string  `json:"detail"`
}

type snapshotDTO struct {
	Org        string         `json:"org"`
	At         string         `json:"at"`
	Index      *float64       `json:"index"` // null when nothing is measured
	Indicators []indicatorDTO `json:"indicators"`
}

func toSnapshot(s bulwark.IndexSnapshot) snapshotDTO {
	out := snapshotDTO{Org: s.Org, At: s.At.Format("2006-01-02T15:04:05Z07:00"), Indicators: []indicatorDTO{}}
	if s.Index >= 0 {
		v := s.Index
		out.Index = &v
	}
	for _, v := range s.Indicators {
		in, _ := baseline.IndicatorByID(v.ID)
		out.Indicators = append(out.Indicators, indicatorDTO{ID: v.ID, Name: in.Name, Formula: in.Formula, Weight: v.Weight,
			Measured: v.Measured, Value: v.Value, Score: v.Score, Detail: v.Detail})
	}
	return out
}

func (a *API) listCatalogs(w http.ResponseWriter, r *http.Request) error {
	list, err := a.bs.Catalogs(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []bulwark.CatalogSummary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

func (a *API) getCatalog(w http.ResponseWriter, r *http.Request) error {
	c, err := a.bs.Catalog(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) listAssessments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	list, err := a.st.ListAssessments(r.Context(), bulwark.AssessmentFilter{Owner: q.Get("owner"), Catalog: q.Get("catalog"), Scope: q.Get("scope")})
	if err != nil {
		return err
	}
	if list == nil {
		list = []bulwark.AssessmentSummary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

func (a *API) createAssessment(w http.ResponseWriter, r *http.Request) error {
	var body createAssessmentDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	as := &bulwark.Assessment{Catalog: body.Catalog, ScopeKind: body.ScopeKind, Scope: body.Scope, Title: body.Title}
	if err := a.bs.CreateAssessment(r.Context(), as); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/assessments/"+as.ID)
	writeJSON(w, http.StatusCreated, as)
	return nil
}

func (a *API) getAssessment(w http.ResponseWriter, r *http.Request) error {
	as, err := a.st.FindAssessment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if as.Results == nil {
		as.Results = []bulwark.ControlResult{}
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

func (a *API) setResult(w http.ResponseWriter, r *http.Request) error {
	var body resultChangeDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	c := bulwark.ResultChange{Control: r.PathValue("control"), BaseRev: body.BaseRev, Status: bulwark.ImplStatus(body.Status),
		CurrentTier: body.CurrentTier, TargetTier: body.TargetTier, Notes: body.Notes}
	for _, e := range body.Evidence {
		c.Evidence = append(c.Evidence, bulwark.Evidence(e))
	}
	res, err := a.bs.SetResult(r.Context(), r.PathValue("id"), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) resultHistory(w http.ResponseWriter, r *http.Request) error {
	h, err := a.st.ResultHistory(r.Context(), r.PathValue("id"), r.PathValue("control"))
	if err != nil {
		return err
	}
	if h == nil {
		h = []bulwark.ControlResult{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h})
	return nil
}

func (a *API) listProfiles(w http.ResponseWriter, r *http.Request) error {
	list, err := a.st.ListProfiles(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []bulwark.Profile{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

func (a *API) getProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := a.st.FindProfile(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) putProfile(w http.ResponseWriter, r *http.Request) error {
	var body profileDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	p := &bulwark.Profile{ID: r.PathValue("id"), Name: body.Name, Description: body.Description, Catalog: body.Catalog, AppliesTo: body.AppliesTo}
	for _, q := range body.Requirements {
		p.Requirements = append(p.Requirements, bulwark.ProfileRequirement{Control: q.Control, MinStatus: bulwark.ImplStatus(q.MinStatus), MinTier: q.MinTier})
	}
	if err := a.bs.PutProfile(r.Context(), p); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) deleteProfile(w http.ResponseWriter, r *http.Request) error {
	if err := a.bs.DeleteProfile(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) profileCompliance(w http.ResponseWriter, r *http.Request) error {
	res, err := a.bs.Compliance(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toCompliance(res))
	return nil
}

func (a *API) listGaps(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := limitParam(q.Get("limit"))
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = bulwark.DefaultPageSize
	}
	gaps, err := a.bs.Gaps(r.Context(), baseline.GapFilter{Org: q.Get("org"), Assessment: q.Get("assessment"), Limit: limit})
	if err != nil {
		return err
	}
	if gaps == nil {
		gaps = []baseline.Gap{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": gaps})
	return nil
}

func (a *API) readiness(w http.ResponseWriter, r *http.Request) error {
	city, orgs, err := a.bs.Readiness(r.Context())
	if err != nil {
		return err
	}
	out := map[string]any{"city": toSnapshot(city), "organizations": []snapshotDTO{}}
	var list []snapshotDTO
	for _, o := range orgs {
		list = append(list, toSnapshot(o))
	}
	if list != nil {
		out["organizations"] = list
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) readinessHistory(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10_000 {
			return bulwark.Errorf(bulwark.EINVALID, "limit must be an integer from 1 to 10000")
		}
		limit = n
	}
	h, err := a.bs.History(r.Context(), q.Get("org"), limit)
	if err != nil {
		return err
	}
	out := []snapshotDTO{}
	for _, s := range h {
		out = append(out, toSnapshot(s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (a *API) recordReadiness(w http.ResponseWriter, r *http.Request) error {
	city, err := a.bs.Record(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSnapshot(city))
	return nil
}

// importCatalog stores an OSCAL JSON catalog sent as the body (at most
// oscal.MaxBytes); ?id= names it (default: from ?name=, else "catalog").
func (a *API) importCatalog(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "id", "name")
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/oscal+json") {
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "send the catalog as application/json (OSCAL JSON)")
		}
	}
	if r.ContentLength > oscal.MaxBytes {
		return bulwark.Errorf(bulwark.ETOOLARGE, "catalog is larger than %d bytes", oscal.MaxBytes)
	}
	name := q.Get("name")
	if name == "" {
		name = "catalog.json"
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	c, err := oscal.ReadCatalog(http.MaxBytesReader(w, r.Body, oscal.MaxBytes), bulwark.Abbrev(name, 200))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bulwark.Errorf(bulwark.ETOOLARGE, "catalog is larger than %d bytes", oscal.MaxBytes)
		}
		return err
	}
	if id := q.Get("id"); id != "" {
		c.ID = id
	}
	if err := a.bs.ImportCatalog(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, bulwark.CatalogSummary{ID: c.ID, Title: c.Title, Version: c.Version, Kind: c.Kind, Assessable: assessable(c)})
	return nil
}

func assessable(c *bulwark.Catalog) int {
	n := 0
	for _, x := range c.Controls {
		if x.Assessable {
			n++
		}
	}
	return n
}

// exportAssessment answers the assessment as OSCAL assessment results
// (?format=oscal, the default) or CSV.
func (a *API) exportAssessment(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "format")
	if err != nil {
		return err
	}
	format := q.Get("format")
	if format == "" {
		format = "oscal"
	}
	if format != "oscal" && format != "csv" {
		return bulwark.Errorf(bulwark.EINVALID, "format %q: use oscal or csv", bulwark.Abbrev(format, 40))
	}
	as, err := a.st.FindAssessment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := a.bs.Catalog(r.Context(), as.Catalog)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format == "csv" {
		err = oscal.WriteResultsCSV(&buf, []*bulwark.Assessment{as}, []*bulwark.Catalog{c})
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		err = oscal.WriteAssessmentResults(&buf, oscal.AssessmentResults{Assessments: []*bulwark.Assessment{as}, Catalogs: []*bulwark.Catalog{c}})
		w.Header().Set("Content-Type", "application/json")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", as.ID+map[string]string{"oscal": ".oscal.json", "csv": ".csv"}[format]))
	w.Write(buf.Bytes())
	return nil
}

// councilReport answers the council report (?format=html, the default, or
// pdf) over what the caller sees; ?org= narrows it to one organization.
func (a *API) councilReport(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "format", "org", "city")
	if err != nil {
		return err
	}
	format := q.Get("format")
	if format == "" {
		format = "html"
	}
	if format != "html" && format != "pdf" {
		return bulwark.Errorf(bulwark.EINVALID, "format %q: use html or pdf", bulwark.Abbrev(format, 40))
	}
	if len(q.Get("city")) > 200 {
		return bulwark.Errorf(bulwark.EINVALID, "city is limited to 200 bytes")
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	rep, err := a.bs.Report(r.Context(), baseline.ReportOptions{Org: q.Get("org"), City: q.Get("city")})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format == "pdf" {
		err = report.WritePDF(&buf, rep)
		w.Header().Set("Content-Type", "application/pdf")
	} else {
		err = report.WriteHTML(&buf, rep)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The report is a document to save, not a page of this site.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", "attachment; filename=\"readiness-report."+format+"\"")
	w.Write(buf.Bytes())
	return nil
}
