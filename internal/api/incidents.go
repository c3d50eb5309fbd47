package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"bulwark"
	"bulwark/internal/incident"
)

// The incident routes (docs/incidents.md). Every read and write goes
// through the incident service with the caller's principal; the store
// answers an incident the caller takes no part in exactly like a missing
// one.
func (a *API) incidentRoutes() []route {
	return []route{
		{"GET /api/v1/incidents", reader, a.listIncidents},
		{"POST /api/v1/incidents", writer, a.createIncident},
		{"GET /api/v1/incidents/{id}", reader, a.getIncident},
		{"PATCH /api/v1/incidents/{id}", writer, a.updateIncident},
		{"POST /api/v1/incidents/{id}/phase", writer, a.incidentPhase},
		{"POST /api/v1/incidents/{id}/severity", writer, a.incidentSeverity},
		{"PATCH /api/v1/incidents/{id}/tasks/{task}", writer, a.incidentTask},
		{"GET /api/v1/incidents/{id}/timeline", reader, a.incidentTimeline},
		{"POST /api/v1/incidents/{id}/timeline", writer, a.incidentNote},
		{"GET /api/v1/incidents/{id}/clock", reader, a.incidentClock},
		{"GET /api/v1/incidents/{id}/graph", reader, a.incidentGraph},
		{"GET /api/v1/incidents/{id}/review", reader, a.getReview},
		{"PUT /api/v1/incidents/{id}/review", writer, a.putReview},
		{"GET /api/v1/playbooks", reader, a.listPlaybooks},
		{"POST /api/v1/playbooks/validate", writer, a.validatePlaybook},
		{"GET /api/v1/playbooks/{id}", reader, a.getPlaybook},
		{"PUT /api/v1/playbooks/{id}", admin, a.putPlaybook},
		{"GET /api/v1/services/{id}/raci", reader, a.serviceRACI},
		{"GET /api/v1/directory/{id}", reader, a.getDirectory},
		{"PUT /api/v1/directory/{id}", writer, a.putDirectory},
	}
}

// entryDTO is one entered entity of a new incident.
type entryDTO struct {
	ID     string `json:"id"`
	Effect string `json:"effect"`
	Since  string `json:"since"`
}

// incidentDTO is the body of POST /api/v1/incidents. Times are RFC 3339.
type incidentDTO struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// PublicAction says in plain language what citizens must do.
	PublicAction string     `json:"public_action"`
	Threat       string     `json:"threat"`
	Playbook     string     `json:"playbook"`
	Activity     string     `json:"activity"`
	DetectedAt   string     `json:"detected_at"`
	StartedAt    string     `json:"started_at"`
	Affected     []entryDTO `json:"affected"`
}

// parseTime reads an optional RFC 3339 instant of field.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Year() < 1900 {
		return time.Time{}, bulwark.Errorf(bulwark.EINVALID, "/%s: %q is not a time; use RFC 3339, e.g. 2026-11-23T08:00:00Z", field, bulwark.Abbrev(s, 40))
	}
	return t, nil
}

func (d *incidentDTO) toIncident() (*bulwark.Incident, error) {
	det, err := parseTime("detected_at", d.DetectedAt)
	if err != nil {
		return nil, err
	}
	st, err := parseTime("started_at", d.StartedAt)
	if err != nil {
		return nil, err
	}
	inc := &bulwark.Incident{ID: d.ID, Title: d.Title, Description: d.Description, PublicAction: d.PublicAction, Threat: d.Threat, Playbook: d.Playbook,
		Activity: bulwark.Activity(d.Activity), DetectedAt: det, StartedAt: st}
	if len(d.Affected) > bulwark.MaxIncidentEntries {
		return nil, bulwark.Errorf(bulwark.EINVALID, "/affected: at most %d entries", bulwark.MaxIncidentEntries)
	}
	for i, e := range d.Affected {
		since, err := parseTime("affected/"+strconv.Itoa(i)+"/since", e.Since)
		if err != nil {
			return nil, err
		}
		inc.Affected = append(inc.Affected, bulwark.Affected{ID: e.ID, Effect: bulwark.Effect(e.Effect), Since: since})
	}
	return inc, nil
}

func (a *API) listIncidents(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "active", "phase", "owner", "min_level")
	if err != nil {
		return err
	}
	var f bulwark.IncidentFilter
	switch q.Get("active") {
	case "", "false":
	case "true":
		f.Active = true
	default:
		return bulwark.Errorf(bulwark.EINVALID, "active must be true or false")
	}
	if p := q.Get("phase"); p != "" {
		if !bulwark.Phase(p).Valid() {
			return bulwark.Errorf(bulwark.EINVALID, "phase %q: use detection, containment, eradication, recovery, post-incident or closed", bulwark.Abbrev(p, 40))
		}
		f.Phase = bulwark.Phase(p)
	}
	if o := q.Get("owner"); o != "" {
		if !bulwark.ValidID(o) {
			return bulwark.Errorf(bulwark.EINVALID, "owner %q is not a valid ID", bulwark.Abbrev(o, 64))
		}
		f.Owner = o
	}
	if s := q.Get("min_level"); s != "" {
		l, ok := bulwark.ParseSeverity(s)
		if !ok {
			return bulwark.Errorf(bulwark.EINVALID, "min_level: use 0-5 or baseline, low, medium, high, severe, emergency")
		}
		f.MinLevel = l
	}
	list, err := a.is.List(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []bulwark.Incident{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

// incidentView is an incident with its clock.
type incidentView struct {
	*bulwark.Incident
	Clock []incident.ServiceClock `json:"clock"`
}

func (a *API) view(inc *bulwark.Incident) incidentView {
	c := a.is.ClockOf(inc)
	if c == nil {
		c = []incident.ServiceClock{}
	}
	return incidentView{Incident: inc, Clock: c}
}

func (a *API) createIncident(w http.ResponseWriter, r *http.Request) error {
	var body incidentDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	in, err := body.toIncident()
	if err != nil {
		return err
	}
	inc, err := a.is.Create(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+inc.ID)
	writeJSON(w, http.StatusCreated, a.view(inc))
	return nil
}

func (a *API) getIncident(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	inc, err := a.is.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.view(inc))
	return nil
}

// incidentUpdateDTO is the body of PATCH /api/v1/incidents/{id}: the
// fields a coordinating party changes directly ("" withdraws the public
// action).
type incidentUpdateDTO struct {
	PublicAction *string `json:"public_action"`
}

func (a *API) updateIncident(w http.ResponseWriter, r *http.Request) error {
	var body incidentUpdateDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.PublicAction == nil {
		return bulwark.Errorf(bulwark.EINVALID, "/public_action: give what citizens must do (\"\" withdraws it)")
	}
	inc, err := a.is.SetPublicAction(r.Context(), r.PathValue("id"), *body.PublicAction)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.view(inc))
	return nil
}

type phaseDTO struct {
	Phase string `json:"phase"`
	Note  string `json:"note"`
}

func (a *API) incidentPhase(w http.ResponseWriter, r *http.Request) error {
	var body phaseDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	inc, err := a.is.SetPhase(r.Context(), r.PathValue("id"), bulwark.Phase(body.Phase), body.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.view(inc))
	return nil
}

// severityDTO is the body of POST /api/v1/incidents/{id}/severity: an
// override (level with reason), clear, or a new observed activity.
type severityDTO struct {
	Level    *int   `json:"level"`
	Reason   string `json:"reason"`
	Clear    bool   `json:"clear"`
	Activity string `json:"activity"`
}

func (a *API) incidentSeverity(w http.ResponseWriter, r *http.Request) error {
	var body severityDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	ch := incident.SeverityChange{Activity: bulwark.Activity(body.Activity), Clear: body.Clear, Reason: body.Reason}
	if body.Level != nil {
		l := bulwark.SeverityLevel(*body.Level)
		ch.Override = &l
	}
	inc, err := a.is.ChangeSeverity(r.Context(), r.PathValue("id"), ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.view(inc))
	return nil
}

type taskDTO struct {
	Status string `json:"status"`
	Note   string `json:"note"`
	Choose string `json:"choose"`
}

func (a *API) incidentTask(w http.ResponseWriter, r *http.Request) error {
	var body taskDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	t, err := a.is.UpdateTask(r.Context(), r.PathValue("id"), r.PathValue("task"), incident.TaskChange{Status: bulwark.TaskStatus(body.Status), Note: body.Note, Chosen: body.Choose})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) incidentTimeline(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	tl, err := a.is.Timeline(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if tl == nil {
		tl = []bulwark.TimelineEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": tl})
	return nil
}

type noteDTO struct {
	Text     string `json:"text"`
	Internal bool   `json:"internal"`
}

func (a *API) incidentNote(w http.ResponseWriter, r *http.Request) error {
	var body noteDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	if err := a.is.AddNote(r.Context(), r.PathValue("id"), body.Text, body.Internal); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"status": "added"})
	return nil
}

func (a *API) incidentClock(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	c, err := a.is.Clock(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if c == nil {
		c = []incident.ServiceClock{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": c})
	return nil
}

func (a *API) incidentGraph(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	g, err := a.is.Graph(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

// reviewDTO is the body of PUT /api/v1/incidents/{id}/review; due dates
// of follow-ups are YYYY-MM-DD.
type reviewDTO struct {
	Rev        int                      `json:"rev"`
	Summary    string                   `json:"summary"`
	WhatWorked []string                 `json:"what_worked"`
	WhatDidNot []string                 `json:"what_did_not"`
	Decisions  []bulwark.ReviewDecision `json:"decisions"`
	FollowUps  []followUpDTO            `json:"follow_ups"`
	Shared     bool                     `json:"shared"`
}

type followUpDTO struct {
	Kind       string   `json:"kind"`
	Title      string   `json:"title"`
	Org        string   `json:"org"`
	Due        string   `json:"due"`
	Likelihood int      `json:"likelihood"`
	Impact     int      `json:"impact"`
	Services   []string `json:"services"`
	Assessment string   `json:"assessment"`
	Control    string   `json:"control"`
	Status     string   `json:"status"`
	Ref        string   `json:"ref"`
}

func (d *reviewDTO) toReview() (*bulwark.IncidentReview, error) {
	rv := &bulwark.IncidentReview{Rev: d.Rev, Summary: d.Summary, WhatWorked: d.WhatWorked, WhatDidNot: d.WhatDidNot, Decisions: d.Decisions, Shared: d.Shared}
	if len(d.FollowUps) > 200 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "/follow_ups: at most 200 entries")
	}
	for i, f := range d.FollowUps {
		due, err := parseDay("follow_ups/"+strconv.Itoa(i)+"/due", f.Due)
		if err != nil {
			return nil, err
		}
		rv.FollowUps = append(rv.FollowUps, bulwark.FollowUp{Kind: bulwark.FollowUpKind(f.Kind), Title: f.Title, Org: f.Org, Due: due, Likelihood: f.Likelihood,
			Impact: f.Impact, Services: f.Services, Assessment: f.Assessment, Control: f.Control, Status: bulwark.ImplStatus(f.Status), Ref: f.Ref})
	}
	return rv, nil
}

func (a *API) getReview(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	rv, err := a.is.Review(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rv)
	return nil
}

func (a *API) putReview(w http.ResponseWriter, r *http.Request) error {
	var body reviewDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	rv, err := body.toReview()
	if err != nil {
		return err
	}
	out, err := a.is.PutReview(r.Context(), r.PathValue("id"), rv)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// playbookSummary is one line of the playbook listing.
type playbookSummary struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Title   string `json:"title"`
	Threat  string `json:"threat"`
	Builtin bool   `json:"builtin"`
	Phases  int    `json:"phases"`
	Tasks   int    `json:"tasks"`
}

func summarize(p *bulwark.Playbook) playbookSummary {
	s := playbookSummary{ID: p.ID, Version: p.Version, Title: p.Title, Threat: p.Threat, Builtin: p.Builtin, Phases: len(p.Phases)}
	for _, ph := range p.Phases {
		s.Tasks += len(ph.Tasks)
	}
	return s
}

func (a *API) listPlaybooks(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	list, err := a.is.Playbooks(r.Context())
	if err != nil {
		return err
	}
	items := make([]playbookSummary, 0, len(list))
	for i := range list {
		items = append(items, summarize(&list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (a *API) getPlaybook(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "version")
	if err != nil {
		return err
	}
	version := 0
	if s := q.Get("version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return bulwark.Errorf(bulwark.EINVALID, "version must be a whole number from 1")
		}
		version = n
	}
	p, m, err := a.is.PlaybookRACI(r.Context(), r.PathValue("id"), version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"playbook": p, "source": p.Source, "raci": m})
	return nil
}

// yamlBody reads a YAML (or JSON) request body of at most limit bytes.
func yamlBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return nil, bulwark.Errorf(bulwark.EUNSUPPORTED, "unreadable Content-Type; send application/yaml")
		case mt == "application/yaml", mt == "application/x-yaml", mt == "text/yaml", mt == "application/json", mt == "text/plain":
		default:
			return nil, bulwark.Errorf(bulwark.EUNSUPPORTED, "send the file as application/yaml (or application/json)")
		}
	}
	if r.ContentLength > limit {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "request body is larger than %d bytes", limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, bulwark.Errorf(bulwark.ETOOLARGE, "request body is larger than %d bytes", limit)
		}
		return nil, err
	}
	return b, nil
}

func (a *API) validatePlaybook(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	b, err := yamlBody(w, r, incident.MaxFileBytes)
	if err != nil {
		return err
	}
	p, err := a.is.ValidatePlaybook(b, "request.yaml")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": true, "playbook": summarize(p)})
	return nil
}

func (a *API) putPlaybook(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	b, err := yamlBody(w, r, incident.MaxFileBytes)
	if err != nil {
		return err
	}
	p, err := a.is.ValidatePlaybook(b, "request.yaml")
	if err != nil {
		return err
	}
	if p.ID != r.PathValue("id") {
		return bulwark.Errorf(bulwark.EINVALID, "the playbook's id %q differs from the one in the path", bulwark.Abbrev(p.ID, 128))
	}
	if p, err = a.is.PutPlaybook(r.Context(), b, "request.yaml"); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, summarize(p))
	return nil
}

func (a *API) serviceRACI(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	m, hidden, err := a.is.ServiceRACI(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"raci": m, "hidden_organizations": hidden})
	return nil
}

func (a *API) getDirectory(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	d, err := a.is.Directory(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) putDirectory(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "rev")
	if err != nil {
		return err
	}
	rev := -1
	if s := q.Get("rev"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1_000_000_000 {
			return bulwark.Errorf(bulwark.EINVALID, "rev must be a whole number from 0")
		}
		rev = n
	}
	b, err := yamlBody(w, r, incident.MaxFileBytes)
	if err != nil {
		return err
	}
	d, err := incident.ParseDirectory(bytes.NewReader(b), "request.yaml")
	if err != nil {
		return err
	}
	if d.Org != r.PathValue("id") {
		return bulwark.Errorf(bulwark.EINVALID, "the directory's organization %q differs from the one in the path", bulwark.Abbrev(d.Org, 128))
	}
	if err := a.is.PutDirectory(r.Context(), d, rev); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}
