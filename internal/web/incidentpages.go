package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/httperr"
	"bulwark/internal/incident"
)

// The incident pages: the board (/incidents), one incident with its
// severity inputs, clock, affected graph, tasks and timeline
// (/incidents/{id}), its after-action review (/incidents/{id}/review),
// the playbooks with validation (/playbooks, /playbooks/{id}) and the
// RACI matrix of a service (/raci). Every read goes through the incident
// service with the user's principal: an incident the user's organization
// takes no part in is "not found".

// maxIncidentForm caps the incident forms (a description, a review).
const maxIncidentForm = 256 << 10

// incidentRoutes registers the incident pages.
func (h *Handler) incidentRoutes() {
	h.mux.Handle("GET /incidents", h.user(h.incidentBoard))
	h.mux.Handle("POST /incidents", h.user(h.createIncident))
	h.mux.Handle("GET /incidents/{id}", h.user(h.incidentPage))
	h.mux.Handle("POST /incidents/{id}", h.user(h.changeIncident))
	h.mux.Handle("GET /incidents/{id}/graph.json", h.userJSON(h.incidentGraph))
	h.mux.Handle("GET /incidents/{id}/review", h.user(h.reviewPage))
	h.mux.Handle("POST /incidents/{id}/review", h.user(h.saveReview))
	h.mux.Handle("GET /playbooks", h.user(h.playbooks))
	h.mux.Handle("POST /playbooks", h.user(h.postPlaybook))
	h.mux.Handle("GET /playbooks/{id}", h.user(h.playbookPage))
	h.mux.Handle("GET /raci", h.user(h.raciPage))
}

func incidentHref(id string) string { return "/incidents/" + url.PathEscape(id) }

func levelOptions(selected string, blank string) []Option {
	var out []Option
	if blank != "" {
		out = append(out, Option{Value: "", Label: blank, Selected: selected == ""})
	}
	for l := bulwark.SeverityBaseline; l <= bulwark.SeverityEmergency; l++ {
		v := strconv.Itoa(int(l))
		out = append(out, Option{Value: v, Label: fmt.Sprintf("%d %s (%s)", l, l, l.Color()), Selected: v == selected})
	}
	return out
}

func activityOptions(selected string, blank string) []Option {
	var out []Option
	if blank != "" {
		out = append(out, Option{Value: "", Label: blank, Selected: selected == ""})
	}
	for _, a := range bulwark.Activities {
		out = append(out, Option{Value: string(a), Label: string(a), Selected: string(a) == selected})
	}
	return out
}

// --- the board -------------------------------------------------------------

func (h *Handler) incidentBoard(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showBoard(w, r, p, http.StatusOK, nil, "")
}

func (h *Handler) showBoard(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, posted *IncidentForm, msg string) {
	q := r.URL.Query()
	page := &IncidentsPage{Base: h.base(r, p, "incidents", "Incidents"), MinLevel: q.Get("min_level"), ShowAll: q.Get("closed") == "1", Error: msg}
	f := bulwark.IncidentFilter{}
	if page.MinLevel != "" {
		l, ok := bulwark.ParseSeverity(page.MinLevel)
		if !ok {
			h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "Unknown severity %q: use 0 to 5.", bulwark.Abbrev(page.MinLevel, 20)))
			return
		}
		f.MinLevel = l
	}
	page.Levels = levelOptions(page.MinLevel, "any")
	list, err := h.incidents.List(r.Context(), f)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	cols := map[bulwark.Phase]*BoardColumn{}
	for _, ph := range bulwark.Phases {
		if ph == bulwark.PhaseClosed && !page.ShowAll {
			continue
		}
		page.Columns = append(page.Columns, BoardColumn{Phase: string(ph), Title: ph.Title()})
	}
	for i := range page.Columns {
		cols[bulwark.Phase(page.Columns[i].Phase)] = &page.Columns[i]
	}
	for _, inc := range list {
		page.Total++
		c := cols[inc.Phase]
		if c == nil {
			page.Closed++
			continue
		}
		l := inc.Severity.Level
		c.Cards = append(c.Cards, IncidentCard{ID: inc.ID, Href: incidentHref(inc.ID), Title: inc.Title, Owner: inc.Owner, Level: int(l),
			LevelName: l.String(), Color: l.Color(), Detected: formatTime(inc.DetectedAt), ServicesDown: inc.Impact.ServicesDown,
			Degraded: inc.Impact.ServicesDegraded, People: inc.Impact.PopulationDown, Role: string(inc.Role), Overridden: inc.Severity.Override != nil})
	}
	if p.Role.CanWrite() {
		form := &IncidentForm{}
		if posted != nil {
			*form = *posted
		}
		form.CSRF = page.CSRF
		pbs, err := h.incidents.Playbooks(r.Context())
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		form.Threats = []Option{{Value: "", Label: "unclassified (no playbook)", Selected: form.Threat == ""}}
		for _, pb := range pbs {
			form.Threats = append(form.Threats, Option{Value: pb.Threat, Label: pb.Title + " (" + pb.Threat + ")", Selected: pb.Threat == form.Threat})
		}
		form.Activities = activityOptions(form.Activity, "as the entries show")
		page.Form = form
	}
	h.render(w, r, status, "incidents", page)
}

// parseAffected reads the entries of the report form: one per line (or
// comma), ID[:effect].
func parseAffected(s string) []bulwark.Affected {
	var out []bulwark.Affected
	for _, part := range strings.FieldsFunc(s, func(c rune) bool { return c == '\n' || c == '\r' || c == ',' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, eff := part, bulwark.EffectDown
		if i := strings.LastIndexByte(part, ':'); i > 0 {
			if e := bulwark.Effect(strings.TrimSpace(part[i+1:])); bulwark.ValidEntryEffect(e) {
				id, eff = strings.TrimSpace(part[:i]), e
			}
		}
		out = append(out, bulwark.Affected{ID: id, Effect: eff})
	}
	return out
}

func (h *Handler) createIncident(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxIncidentForm) {
		return
	}
	posted := &IncidentForm{Title: strings.TrimSpace(r.PostFormValue("title")), Description: strings.TrimSpace(r.PostFormValue("description")),
		PublicAction: strings.TrimSpace(r.PostFormValue("public_action")), Threat: r.PostFormValue("threat"), Activity: r.PostFormValue("activity"), Detected: strings.TrimSpace(r.PostFormValue("detected")),
		Affected: r.PostFormValue("affected")}
	in := &bulwark.Incident{Title: posted.Title, Description: posted.Description, PublicAction: posted.PublicAction, Threat: posted.Threat, Activity: bulwark.Activity(posted.Activity),
		Affected: parseAffected(posted.Affected)}
	var err error
	if posted.Detected != "" {
		in.DetectedAt, err = time.Parse("2006-01-02T15:04", posted.Detected)
		if err != nil {
			err = bulwark.Errorf(bulwark.EINVALID, "detected: %q is not a date and time (YYYY-MM-DDTHH:MM, UTC)", bulwark.Abbrev(posted.Detected, 40))
		}
	}
	if err == nil {
		var inc *bulwark.Incident
		if inc, err = h.incidents.Create(r.Context(), in); err == nil {
			http.Redirect(w, r, incidentHref(inc.ID)+"?saved=reported", http.StatusSeeOther)
			return
		}
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
		h.showBoard(w, r, p, httperr.StatusOf(err), posted, problemText(err))
	default:
		h.fail(w, r, p, err)
	}
}

// --- one incident ----------------------------------------------------------

// loadIncident reads {id}; a malformed ID is a missing incident.
func (h *Handler) loadIncident(r *http.Request) (*bulwark.Incident, error) {
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such incident.")
	}
	return h.incidents.Find(r.Context(), id)
}

func (h *Handler) incidentPage(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showIncident(w, r, p, http.StatusOK, "")
}

var stageClass = map[incident.Stage]string{
	incident.StageOK: "stage-ok", incident.StageRTOWarning: "stage-warn", incident.StageRTOMissed: "stage-missed",
	incident.StageMTDWarning: "stage-missed", incident.StageMTDExceeded: "stage-exceeded",
}

func durText(d bulwark.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

func (h *Handler) showIncident(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, msg string) {
	inc, err := h.loadIncident(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	ctx := r.Context()
	tl, err := h.incidents.Timeline(ctx, inc.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	sv := inc.Severity
	page := &IncidentPage{Base: h.base(r, p, "incidents", inc.Title), ID: inc.ID, Title: inc.Title, Description: inc.Description, Owner: inc.Owner,
		PublicAction: inc.PublicAction, Phase: string(inc.Phase), PhaseTitle: inc.Phase.Title(), Role: string(inc.Role), Level: int(sv.Level), Computed: int(sv.Computed),
		LevelName: sv.Level.String(), Color: sv.Level.Color(), ComputedName: sv.Computed.String(), Activity: string(inc.Activity),
		Hidden: inc.HiddenAffected, Detected: formatTime(inc.DetectedAt), Started: formatTime(inc.StartedAt), Contained: formatTime(inc.ContainedAt),
		Recovered: formatTime(inc.RecoveredAt), Closed: formatTime(inc.ClosedAt), Rev: inc.Rev, GraphURL: incidentHref(inc.ID) + "/graph.json",
		ReviewHref: incidentHref(inc.ID) + "/review", Action: incidentHref(inc.ID), Error: msg, Saved: r.URL.Query().Get("saved")}
	page.Charts = true
	if msg != "" {
		page.Saved = ""
	}
	if o := sv.Override; o != nil {
		page.Override = &OverrideView{LevelName: fmt.Sprintf("%d %s", o.Level, o.Level), Reason: o.Reason, By: o.By, At: formatTime(o.At)}
	}
	for _, in := range sv.Inputs {
		page.Inputs = append(page.Inputs, InputRow{Name: in.Name, Value: in.Value, Why: in.Why, Level: int(in.Level), LevelName: in.Level.String(),
			Color: in.Level.Color(), Cap: in.Cap, Deciding: !in.Cap && in.Level == sv.Computed && in.Level > 0})
	}
	im := inc.Impact
	var sectors []string
	for _, s := range im.Sectors {
		sectors = append(sectors, string(s))
	}
	page.Impact = ImpactView{Entered: im.Entered, Down: im.ServicesDown, Degraded: im.ServicesDegraded, AtRisk: im.ServicesAtRisk, CriticalDown: im.CriticalDown,
		PeopleDown: im.PopulationDown, PeopleDegraded: im.PopulationDegraded, PeopleAtRisk: im.PopulationAtRisk,
		Sectors: strings.Join(sectors, ", "), FIPS199: im.FIPS199, Zones: strings.Join(im.Zones, ", ")}
	if inc.Playbook != "" {
		page.Playbook = &Link{ID: inc.Playbook, Name: fmt.Sprintf("%s v%d", inc.Playbook, inc.PlaybookVersion),
			Href: "/playbooks/" + url.PathEscape(inc.Playbook) + "?version=" + strconv.Itoa(inc.PlaybookVersion)}
	}
	for _, pa := range inc.Parties {
		row := PartyRow{Org: pa.Org, Role: string(pa.Role), Reason: pa.Reason}
		if d, err := h.incidents.Directory(ctx, pa.Org); err == nil {
			for _, c := range incident.OnCall(d, "", time.Now()) {
				who := c.Name
				if c.Phone != "" {
					who += " " + c.Phone
				}
				if c.Email != "" {
					who += " " + c.Email
				}
				row.OnCall = append(row.OnCall, who)
			}
		}
		page.Parties = append(page.Parties, row)
	}
	for _, a := range inc.Affected {
		page.Affected = append(page.Affected, AffectedRow{Entity: Link{ID: a.ID, Name: a.Name, Href: entityHref(a.Kind, a.ID)}, Kind: a.Kind,
			Effect: string(a.Effect), Owner: a.Owner, Entered: a.Entered, Population: a.Population, FIPS199: a.FIPS199, RTO: durText(a.RTO), MTD: durText(a.MTD)})
	}
	for _, c := range h.incidents.ClockOf(inc) {
		row := ClockRow{Service: Link{ID: c.Service, Name: c.Name, Href: entityHref("service", c.Service)}, Owner: c.Owner, Since: formatTime(c.Since),
			Elapsed: c.Elapsed.String(), RTO: durText(c.RTO), MTD: durText(c.MTD), RTODue: formatTime(c.RTODue), MTDDue: formatTime(c.MTDDue),
			Stage: string(c.Stage), StageClass: stageClass[c.Stage], Next: string(c.Next), NextAt: formatTime(c.NextAt), Running: c.Running, AtRisk: c.Stage.AtRisk()}
		page.Clocks = append(page.Clocks, row)
	}
	page.CanWrite = p.Role.CanWrite()
	page.CanCoordinate = page.CanWrite && (p.System || inc.Role.Coordinates())
	groups := map[bulwark.Phase]int{}
	now := time.Now()
	for _, t := range inc.Tasks {
		gi, ok := groups[t.Phase]
		if !ok {
			gi = len(page.TaskGroups)
			groups[t.Phase] = gi
			page.TaskGroups = append(page.TaskGroups, TaskGroup{Phase: string(t.Phase), Title: t.Phase.Title()})
		}
		row := TaskRow{ID: t.ID, Title: t.Title, Detail: t.Detail, Org: t.Org, Responsible: t.Responsible, Accountable: t.Accountable,
			Consulted: strings.Join(t.Consulted, ", "), Informed: strings.Join(t.Informed, ", "), Status: string(t.Status), Due: formatTime(t.Due),
			Note: t.Note, Source: t.Source, Chosen: t.Chosen, Rev: t.Rev,
			Overdue: !t.Due.IsZero() && t.Due.Before(now) && (t.Status == bulwark.TaskOpen || t.Status == bulwark.TaskInProgress)}
		row.CanEdit = page.CanWrite && (page.CanCoordinate || t.Org == p.Org)
		if t.Decision != nil {
			row.Question = t.Decision.Question
			for _, o := range t.Decision.Options {
				label := o.Text
				if o.Then != "" {
					label += " → " + o.Then
				}
				row.Options = append(row.Options, Option{Value: o.ID, Label: label, Selected: o.ID == t.Chosen})
			}
		}
		row.Statuses = options([]bulwark.TaskStatus{bulwark.TaskOpen, bulwark.TaskInProgress, bulwark.TaskDone, bulwark.TaskSkipped}, string(t.Status), "")
		page.TaskGroups[gi].Tasks = append(page.TaskGroups[gi].Tasks, row)
	}
	slices.SortStableFunc(page.TaskGroups, func(a, b TaskGroup) int { return bulwark.Phase(a.Phase).Index() - bulwark.Phase(b.Phase).Index() })
	for i := len(tl) - 1; i >= 0; i-- { // newest first
		e := tl[i]
		page.Timeline = append(page.Timeline, TimelineRow{At: formatTime(e.At), Actor: e.Actor, Org: e.Org, Kind: e.Kind, Text: e.Text, Restricted: len(e.Audience) > 0})
	}
	if page.CanCoordinate {
		for _, ph := range bulwark.Phases {
			page.Phases = append(page.Phases, Option{Value: string(ph), Label: ph.Title(), Selected: ph == inc.Phase})
		}
		page.Levels = levelOptions(strconv.Itoa(int(sv.Level)), "")
		page.Activities = activityOptions(string(inc.Activity), "")
	}
	h.render(w, r, status, "incident", page)
}

// changeIncident applies one form of the incident page: action=phase,
// severity, task, note or public_action.
func (h *Handler) changeIncident(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxIncidentForm) {
		return
	}
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such incident."))
		return
	}
	ctx := r.Context()
	var err error
	saved := ""
	switch r.PostFormValue("action") {
	case "phase":
		_, err = h.incidents.SetPhase(ctx, id, bulwark.Phase(r.PostFormValue("phase")), strings.TrimSpace(r.PostFormValue("note")))
		saved = "phase"
	case "severity":
		ch := incident.SeverityChange{Reason: strings.TrimSpace(r.PostFormValue("reason"))}
		switch r.PostFormValue("mode") {
		case "override":
			l, ok := bulwark.ParseSeverity(r.PostFormValue("level"))
			if !ok {
				err = bulwark.Errorf(bulwark.EINVALID, "level: choose 0 to 5")
				break
			}
			ch.Override = &l
		case "clear":
			ch.Clear = true
		case "activity":
			ch.Activity = bulwark.Activity(r.PostFormValue("activity"))
		default:
			err = bulwark.Errorf(bulwark.EINVALID, "mode: override, clear or activity")
		}
		if err == nil {
			_, err = h.incidents.ChangeSeverity(ctx, id, ch)
		}
		saved = "severity"
	case "task":
		_, err = h.incidents.UpdateTask(ctx, id, r.PostFormValue("task"), incident.TaskChange{Status: bulwark.TaskStatus(r.PostFormValue("status")),
			Note: strings.TrimSpace(r.PostFormValue("note")), Chosen: r.PostFormValue("choose")})
		saved = "task"
	case "note":
		err = h.incidents.AddNote(ctx, id, r.PostFormValue("text"), r.PostFormValue("internal") == "1")
		saved = "note"
	case "public_action":
		_, err = h.incidents.SetPublicAction(ctx, id, r.PostFormValue("public_action"))
		saved = "public action"
	default:
		err = bulwark.Errorf(bulwark.EINVALID, "unknown action: use phase, severity, task, note or public_action")
	}
	if err == nil {
		http.Redirect(w, r, incidentHref(id)+"?saved="+saved, http.StatusSeeOther)
		return
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
		h.showIncident(w, r, p, httperr.StatusOf(err), problemText(err))
	default:
		h.fail(w, r, p, err)
	}
}

// incidentGraph serves the affected part of the graph that the user sees.
func (h *Handler) incidentGraph(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "incident not found"})
		return
	}
	g, err := h.incidents.Graph(r.Context(), id)
	if err != nil {
		status := httperr.StatusOf(err)
		if status >= 500 {
			h.log.Error("web: incident graph", "incident", id, "err", err)
			writeJSON(w, status, map[string]string{"error": "internal error"})
			return
		}
		writeJSON(w, status, map[string]string{"error": bulwark.ErrorMessage(err)})
		return
	}
	out := GraphIncidentJSON{Incident: g.Incident, Truncated: g.Truncated, Hidden: g.Hidden, Nodes: make([]IncidentGraphNode, 0, len(g.Nodes)), Edges: make([]GraphEdge, 0, len(g.Edges))}
	for _, n := range g.Nodes {
		out.Nodes = append(out.Nodes, IncidentGraphNode{ID: n.ID, Name: n.Name, Kind: n.Kind, Owner: n.Owner, Category: n.Category, State: string(n.State),
			Entered: n.Entered, Href: entityHref(n.Kind, n.ID)})
	}
	for _, e := range g.Edges {
		out.Edges = append(out.Edges, GraphEdge{From: e.From, To: e.To, Kind: e.Kind, Group: e.Group})
	}
	writeJSON(w, http.StatusOK, out)
}

// --- the review --------------------------------------------------------------

// reviewYAML is the review as the edit form shows it (the file format of
// incident.ParseReview).
type reviewYAML struct {
	Rev        int            `yaml:"rev"`
	Summary    string         `yaml:"summary"`
	WhatWorked []string       `yaml:"what_worked"`
	WhatDidNot []string       `yaml:"what_did_not"`
	Decisions  []decisionYAML `yaml:"decisions"`
	FollowUps  []followUpYAML `yaml:"follow_ups"`
	Shared     bool           `yaml:"shared"`
}

type decisionYAML struct {
	At        string `yaml:"at,omitempty"`
	Decision  string `yaml:"decision"`
	By        string `yaml:"by,omitempty"`
	Rationale string `yaml:"rationale,omitempty"`
}

type followUpYAML struct {
	Kind       string   `yaml:"kind"`
	Title      string   `yaml:"title"`
	Org        string   `yaml:"org,omitempty"`
	Due        string   `yaml:"due,omitempty"`
	Likelihood int      `yaml:"likelihood,omitempty"`
	Impact     int      `yaml:"impact,omitempty"`
	Services   []string `yaml:"services,omitempty"`
	Assessment string   `yaml:"assessment,omitempty"`
	Control    string   `yaml:"control,omitempty"`
	Status     string   `yaml:"status,omitempty"`
	Ref        string   `yaml:"ref,omitempty"`
}

func reviewSource(rv *bulwark.IncidentReview) string {
	y := reviewYAML{Rev: rv.Rev, Summary: rv.Summary, WhatWorked: rv.WhatWorked, WhatDidNot: rv.WhatDidNot, Shared: rv.Shared}
	for _, d := range rv.Decisions {
		y.Decisions = append(y.Decisions, decisionYAML(d))
	}
	for _, f := range rv.FollowUps {
		y.FollowUps = append(y.FollowUps, followUpYAML{Kind: string(f.Kind), Title: f.Title, Org: f.Org, Due: formatDate(f.Due), Likelihood: f.Likelihood,
			Impact: f.Impact, Services: f.Services, Assessment: f.Assessment, Control: f.Control, Status: string(f.Status), Ref: f.Ref})
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&y); err != nil {
		return ""
	}
	return b.String()
}

const reviewTemplate = `rev: 0
summary: ""
what_worked: []
what_did_not: []
decisions: []
# follow-ups become tasks, risks in your register, or assessment changes:
#   - {kind: task, title: Test restores every quarter, org: city-water, due: 2027-03-31}
#   - {kind: risk, title: Ransomware stops billing, likelihood: 3, impact: 4, services: [water-billing]}
#   - {kind: assessment, title: Backups untested, assessment: asm-1, control: PR.DS-11, status: partial}
follow_ups: []
shared: false
`

func refHref(ref string) string {
	kind, rest, _ := strings.Cut(ref, ":")
	switch kind {
	case "risk":
		return riskHref(rest)
	case "assessment":
		id, _, _ := strings.Cut(rest, "/")
		return assessmentHref(id)
	}
	return ""
}

func (h *Handler) reviewPage(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showReview(w, r, p, http.StatusOK, "", "")
}

func (h *Handler) showReview(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, source, msg string) {
	inc, err := h.loadIncident(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &ReviewPage{Base: h.base(r, p, "incidents", "Review: "+inc.Title), ID: inc.ID, Title: inc.Title, Href: incidentHref(inc.ID),
		CanEdit: p.Role.CanWrite() && (p.System || inc.Role.Coordinates()), Error: msg, Saved: r.URL.Query().Get("saved") != "" && msg == ""}
	rv, err := h.incidents.Review(r.Context(), inc.ID)
	switch {
	case err == nil:
		page.Exists, page.Rev, page.UpdatedBy, page.UpdatedAt = true, rv.Rev, rv.UpdatedBy, formatTime(rv.UpdatedAt)
		page.Summary, page.WhatWorked, page.WhatDidNot, page.Shared = rv.Summary, rv.WhatWorked, rv.WhatDidNot, rv.Shared
		for _, d := range rv.Decisions {
			page.Decisions = append(page.Decisions, ReviewDecisionRow(d))
		}
		for _, f := range rv.FollowUps {
			page.FollowUps = append(page.FollowUps, FollowUpRow{Kind: string(f.Kind), Title: f.Title, Org: f.Org, Due: formatDate(f.Due), Ref: f.Ref, RefHref: refHref(f.Ref)})
		}
		page.Source = reviewSource(rv)
	case bulwark.ErrorCode(err) == bulwark.ENOTFOUND:
		page.Source = reviewTemplate
	default:
		h.fail(w, r, p, err)
		return
	}
	if source != "" {
		page.Source = source
	}
	h.render(w, r, status, "review", page)
}

func (h *Handler) saveReview(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxIncidentForm) {
		return
	}
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such incident."))
		return
	}
	src := r.PostFormValue("review")
	rv, err := incident.ParseReview(strings.NewReader(src), "review")
	if err == nil {
		_, err = h.incidents.PutReview(r.Context(), id, rv)
	}
	if err == nil {
		http.Redirect(w, r, incidentHref(id)+"/review?saved=1", http.StatusSeeOther)
		return
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
		h.showReview(w, r, p, httperr.StatusOf(err), src, locatedText(err))
	default:
		h.fail(w, r, p, err)
	}
}

// locatedText is an error with every located problem, one per line.
func locatedText(err error) string {
	d := bulwark.ErrorDetails(err)
	if len(d) == 0 {
		return bulwark.ErrorMessage(err)
	}
	var lines []string
	for _, pr := range d {
		lines = append(lines, pr.String())
	}
	return strings.Join(lines, "\n")
}

// --- playbooks and RACI ------------------------------------------------------

func (h *Handler) playbooks(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showPlaybooks(w, r, p, http.StatusOK, "", nil, "")
}

func (h *Handler) showPlaybooks(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, input string, res *ValidationResult, msg string) {
	list, err := h.incidents.Playbooks(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &PlaybooksPage{Base: h.base(r, p, "incidents", "Playbooks"), Input: input, Result: res, Error: msg, Saved: r.URL.Query().Get("saved")}
	page.CanPut = p.Role == bulwark.RoleAdmin
	for _, pb := range list {
		n := 0
		for _, ph := range pb.Phases {
			n += len(ph.Tasks)
		}
		src := "city"
		if pb.Builtin {
			src = "bundled"
		}
		page.Rows = append(page.Rows, PlaybookRow{ID: pb.ID, Href: "/playbooks/" + url.PathEscape(pb.ID), Title: pb.Title, Threat: pb.Threat, Source: src, Version: pb.Version, Tasks: n})
	}
	h.render(w, r, status, "playbooks", page)
}

// postPlaybook validates (action=validate) or publishes (action=put) the
// posted YAML.
func (h *Handler) postPlaybook(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, incident.MaxFileBytes+64<<10) {
		return
	}
	src := r.PostFormValue("source")
	pb, err := h.incidents.ValidatePlaybook([]byte(src), "playbook.yaml")
	res := &ValidationResult{OK: err == nil}
	if err != nil {
		for _, pr := range bulwark.ErrorDetails(err) {
			res.Problems = append(res.Problems, pr.String())
		}
		if len(res.Problems) == 0 {
			res.Problems = []string{bulwark.ErrorMessage(err)}
		}
		h.showPlaybooks(w, r, p, httperr.StatusOf(err), src, res, "")
		return
	}
	n := 0
	for _, ph := range pb.Phases {
		n += len(ph.Tasks)
	}
	res.Summary = fmt.Sprintf("%s version %d: %d phases, %d tasks, %d roles", pb.ID, pb.Version, len(pb.Phases), n, len(pb.Roles))
	if r.PostFormValue("action") != "put" {
		h.showPlaybooks(w, r, p, http.StatusOK, src, res, "")
		return
	}
	if _, err := h.incidents.PutPlaybook(r.Context(), []byte(src), "playbook.yaml"); err != nil {
		switch bulwark.ErrorCode(err) {
		case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
			h.showPlaybooks(w, r, p, httperr.StatusOf(err), src, res, bulwark.ErrorMessage(err))
		default:
			h.fail(w, r, p, err)
		}
		return
	}
	http.Redirect(w, r, "/playbooks/"+url.PathEscape(pb.ID)+"?saved=1", http.StatusSeeOther)
}

func raciView(m bulwark.RACI) RACIView {
	v := RACIView{Title: m.Title, Columns: m.Columns}
	for _, row := range m.Rows {
		v.Rows = append(v.Rows, RACIRowView{Activity: row.Activity, Phase: row.Phase.Title(), Cells: row.Cells})
	}
	return v
}

func (h *Handler) playbookPage(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	version := 0
	if s := r.URL.Query().Get("version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "version must be a whole number from 1."))
			return
		}
		version = n
	}
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such playbook."))
		return
	}
	pb, m, err := h.incidents.PlaybookRACI(r.Context(), id, version)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &PlaybookPage{Base: h.base(r, p, "incidents", pb.Title), ID: pb.ID, Title: pb.Title, Threat: pb.Threat, Description: pb.Description,
		Version: pb.Version, Builtin: pb.Builtin, UpdatedBy: pb.UpdatedBy, RACI: raciView(m), Source: pb.Source}
	names := map[string]string{}
	for _, ro := range pb.Roles {
		names[ro.ID] = ro.Name
	}
	name := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	names2 := func(ids []string) string {
		var out []string
		for _, id := range ids {
			out = append(out, name(id))
		}
		return strings.Join(out, ", ")
	}
	for _, ph := range pb.Phases {
		pv := PlaybookPhaseView{Title: ph.Phase.Title()}
		for _, t := range ph.Tasks {
			tv := PlaybookTaskView{ID: t.ID, Title: t.Title, Detail: t.Detail, Party: string(t.Party), Responsible: name(t.Responsible),
				Accountable: name(t.Accountable), Consulted: names2(t.Consulted), Informed: names2(t.Informed), Due: durText(t.Due)}
			if t.Decision != nil {
				tv.Question = t.Decision.Question
				for _, o := range t.Decision.Options {
					s := o.Text
					if o.Then != "" {
						s += " → " + o.Then
					}
					tv.Options = append(tv.Options, s)
				}
			}
			pv.Tasks = append(pv.Tasks, tv)
		}
		page.Phases = append(page.Phases, pv)
	}
	h.render(w, r, http.StatusOK, "playbook", page)
}

func (h *Handler) raciPage(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	page := &RACIPage{Base: h.base(r, p, "incidents", "Responsibilities (RACI)"), Service: r.URL.Query().Get("service")}
	svcs, err := h.st.ListServices(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page.Services = append(page.Services, Option{Value: "", Label: "choose a service", Selected: page.Service == ""})
	for _, s := range svcs.Items {
		page.Services = append(page.Services, Option{Value: s.ID, Label: s.Name + " (" + s.ID + ")", Selected: s.ID == page.Service})
	}
	if page.Service != "" {
		if !bulwark.ValidID(page.Service) {
			h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such service."))
			return
		}
		m, hidden, err := h.incidents.ServiceRACI(ctx, page.Service)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		v := raciView(m)
		page.RACI, page.Hidden = &v, hidden
	}
	pbs, err := h.incidents.Playbooks(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	for _, pb := range pbs {
		page.Playbooks = append(page.Playbooks, Link{ID: pb.ID, Name: pb.Title, Href: "/playbooks/" + url.PathEscape(pb.ID) + "#raci"})
	}
	h.render(w, r, http.StatusOK, "raci", page)
}
