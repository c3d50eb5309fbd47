package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/httperr"
	"bulwark/internal/oscal"
	"bulwark/internal/report"
)

// Pages of the baselines: the readiness dashboard with the council
// report, assessments and their editor, profiles with their compliance
// matrix, and the ranked gaps. Every handler works with the caller's
// principal; the baseline service and the store decide what it sees and
// may change.

const (
	// trendShown is how many recorded snapshots the trend chart shows.
	trendShown = 120
	// gapsShown caps the gaps table.
	gapsShown = 100
	// maxResultForm caps the form of one control's result: notes of up to
	// 10,000 bytes and up to 50 pieces of evidence of 2,000-byte fields.
	maxResultForm = 512 << 10
)

// statusOptions are the implementation statuses in the order of the
// select, not assessed first.
var statusOptions = []StatusOption{
	{"", "not assessed"},
	{string(bulwark.StatusNotImplemented), "not implemented"},
	{string(bulwark.StatusPartial), "partial"},
	{string(bulwark.StatusImplemented), "implemented"},
	{string(bulwark.StatusNotApplicable), "not applicable"},
}

func statusLabel(s bulwark.ImplStatus) string {
	for _, o := range statusOptions {
		if o.Value == string(s) {
			return o.Label
		}
	}
	return string(s)
}

func assessmentHref(id string) string { return "/assessments/" + url.PathEscape(id) }

func resultHref(id, control string) string {
	return assessmentHref(id) + "/results/" + url.PathEscape(control)
}

// controlText is what a reader knows a control by: its title, or for CSF
// subcategories (whose title is their identifier) their statement.
func controlText(c bulwark.Control) string {
	if (c.Title == "" || c.Title == c.ID) && c.Statement != "" {
		return c.Statement
	}
	return c.Title
}

func findControl(cat *bulwark.Catalog, id string) (bulwark.Control, bool) {
	i := slices.IndexFunc(cat.Controls, func(c bulwark.Control) bool { return c.ID == id })
	if i < 0 {
		return bulwark.Control{}, false
	}
	return cat.Controls[i], true
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func percent(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

// evidenceViews formats evidence; only http(s) URLs become links.
func evidenceViews(ev []bulwark.Evidence) []EvidenceView {
	out := make([]EvidenceView, 0, len(ev))
	for i, e := range ev {
		v := EvidenceView{Kind: e.Kind, Title: e.Title, URL: e.URL, SHA256: e.SHA256, Size: e.Size, Index: i}
		if u, err := url.Parse(e.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			v.Href = e.URL
		}
		if v.Title == "" {
			v.Title = e.URL
		}
		out = append(out, v)
	}
	return out
}

// --- readiness ---------------------------------------------------------

func (h *Handler) readiness(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showReadiness(w, r, p, http.StatusOK, "")
}

// showReadiness renders the dashboard for the caller's scope (the city
// for city organizations, else the caller's organization): the index now
// and its recorded trend, computed on the same footing (see
// baseline.Service.Current), and the drivers of the change since the last
// recorded snapshot. Coverage per function is over what the caller sees.
func (h *Handler) showReadiness(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, msg string) {
	ctx := r.Context()
	d, _, err := h.baselines.Gather(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	scope := ""
	if !p.System {
		if o, err := h.st.FindOrganization(ctx, p.Org); err == nil && o.Purview != bulwark.PurviewCity {
			scope = p.Org
		}
	}
	snap, hist, err := h.baselines.Current(ctx, scope, trendShown)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &ReadinessPage{Base: h.base(r, p, "readiness", "Readiness"), Measured: snap.Index >= 0, Error: msg,
		Recorded: r.URL.Query().Get("recorded") == "1", CityWide: scope == ""}
	page.Charts = true
	if page.Measured {
		page.Index = strconv.FormatFloat(snap.Index, 'f', 1, 64)
	}
	for _, v := range snap.Indicators {
		in, _ := baseline.IndicatorByID(v.ID)
		row := IndicatorRow{ID: v.ID, Name: in.Name, Formula: in.Formula, Measured: v.Measured, Value: baseline.FormatIndicator(v),
			Weight: strconv.FormatFloat(v.Weight, 'f', -1, 64), Detail: v.Detail}
		if v.Measured {
			row.Score = percent(v.Score)
		}
		page.Indicators = append(page.Indicators, row)
	}

	trend := struct {
		Labels []string  `json:"labels"`
		Values []float64 `json:"values"`
	}{Labels: []string{}, Values: []float64{}}
	for _, s := range hist {
		if s.Index >= 0 {
			trend.Labels = append(trend.Labels, s.At.UTC().Format("2006-01-02 15:04"))
			trend.Values = append(trend.Values, s.Index)
			page.TrendSize++
		}
	}
	b, _ := json.Marshal(trend)
	page.Trend = string(b)
	if len(hist) > 0 {
		last := hist[len(hist)-1]
		page.Since = formatTime(last.At)
		for _, dr := range baseline.Drivers(last, snap) {
			in, _ := baseline.IndicatorByID(dr.Indicator)
			page.Drivers = append(page.Drivers, DriverRow{Indicator: in.Name, Delta: strconv.FormatFloat(dr.Delta, 'f', 1, 64),
				Up: dr.Delta > 0, Why: dr.Why})
		}
	}

	page.Functions = functionRows(d, scope)
	cov := struct {
		Labels []string  `json:"labels"`
		Values []float64 `json:"values"`
	}{Labels: []string{}, Values: []float64{}}
	for _, f := range page.Functions {
		cov.Labels = append(cov.Labels, f.Name)
		cov.Values = append(cov.Values, f.Pct)
	}
	b, _ = json.Marshal(cov)
	page.Coverage = string(b)
	page.CanRecord = bulwark.AuthorizeCityAdmin(ctx, h.st, "record the readiness index") == nil
	h.render(w, r, status, "readiness", page)
}

// functionRows averages each CSF function's coverage over the latest
// organization-scope CSF assessment of each organization in scope ("" for
// every visible one).
func functionRows(d *baseline.Data, org string) []FunctionRow {
	latest := map[string]*bulwark.Assessment{}
	for _, a := range d.Assessments {
		if a.Catalog != baseline.CSFCatalog || a.ScopeKind != bulwark.ScopeOrganization || (org != "" && a.Owner != org) {
			continue
		}
		if cur := latest[a.Owner]; cur == nil || a.UpdatedAt.After(cur.UpdatedAt) {
			latest[a.Owner] = a
		}
	}
	rows := make([]FunctionRow, len(baseline.Functions))
	share := make([]float64, len(baseline.Functions))
	cat := d.Catalogs[baseline.CSFCatalog]
	for i, f := range baseline.Functions {
		rows[i] = FunctionRow{ID: f.ID, Name: f.Name, AssessedOrgs: len(latest)}
	}
	if cat != nil {
		for _, a := range latest {
			for i, fc := range baseline.Coverage(cat, a) {
				share[i] += fc.Share()
				rows[i].Assessed += fc.Assessed
				rows[i].Total += fc.Total
			}
		}
	}
	for i := range rows {
		if n := len(latest); n > 0 {
			share[i] /= float64(n)
		}
		rows[i].Coverage, rows[i].Pct = percent(share[i]), round1(100*share[i])
		rows[i].HasAssessedControl = rows[i].Assessed > 0
	}
	return rows
}

// checkPost applies what every form post of these pages needs: a
// same-origin request, a bounded body and the session's CSRF token. It
// writes the refusal (as JSON to the editor's script) and returns false
// when one fails.
func (h *Handler) checkPost(w http.ResponseWriter, r *http.Request, limit int64) bool {
	refuse := func(status int, msg string) {
		if wantsJSON(r) {
			writeJSON(w, status, map[string]any{"error": msg, "conflict": false})
			return
		}
		http.Error(w, msg, status)
	}
	if err := crossOrigin.Check(r); err != nil {
		refuse(http.StatusForbidden, "cross-origin request rejected")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		refuse(http.StatusBadRequest, "the form is malformed or too large")
		return false
	}
	if h.auth == nil || !h.auth.CheckCSRF(r) {
		refuse(http.StatusForbidden, "invalid or missing form token; reload the page")
		return false
	}
	return true
}

// recordReadiness records a snapshot of the index (city administrators;
// the service checks).
func (h *Handler) recordReadiness(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxFormBytes) {
		return
	}
	if _, err := h.baselines.Record(r.Context()); err != nil {
		if code := bulwark.ErrorCode(err); code == bulwark.EFORBIDDEN || code == bulwark.EINVALID {
			h.showReadiness(w, r, p, httperr.StatusOf(err), bulwark.ErrorMessage(err))
			return
		}
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/readiness?recorded=1", http.StatusSeeOther)
}

// readinessReport downloads the council report as HTML or PDF.
func (h *Handler) readinessReport(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	rep, err := h.baselines.Report(r.Context(), baseline.ReportOptions{})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	var buf bytes.Buffer
	ext, ctype := "html", "text/html; charset=utf-8"
	if strings.HasSuffix(r.URL.Path, ".pdf") {
		ext, ctype = "pdf", "application/pdf"
		err = report.WritePDF(&buf, rep)
	} else {
		err = report.WriteHTML(&buf, rep)
	}
	if err != nil {
		h.fail(w, r, p, fmt.Errorf("render report: %w", err))
		return
	}
	download(w, ctype, "readiness-report-"+rep.Generated.UTC().Format(time.DateOnly)+"."+ext, buf.Bytes())
}

// download sends b as an attachment named name.
func download(w http.ResponseWriter, ctype, name string, b []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	hdr.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// --- assessments -------------------------------------------------------

func (h *Handler) assessments(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showAssessments(w, r, p, http.StatusOK, nil, "")
}

func (h *Handler) showAssessments(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, posted *NewAssessmentForm, msg string) {
	ctx := r.Context()
	cats, err := h.baselines.Catalogs(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	list, err := h.st.ListAssessments(ctx, bulwark.AssessmentFilter{})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &AssessmentsPage{Base: h.base(r, p, "baselines", "Assessments"), Error: msg}
	total := map[string]int{}
	for _, c := range cats {
		total[c.ID] = c.Assessable
		page.Catalogs = append(page.Catalogs, CatalogOption{ID: c.ID, Title: c.Title, Controls: c.Assessable})
	}
	for _, a := range list {
		page.Rows = append(page.Rows, AssessmentRow{Href: assessmentHref(a.ID), Title: a.Title, Owner: a.Owner, ScopeKind: a.ScopeKind,
			Scope: a.Scope, Catalog: a.Catalog, Assessed: a.Assessed, Total: total[a.Catalog], Updated: formatTime(a.UpdatedAt)})
	}
	if p.Role.CanWrite() {
		form := &NewAssessmentForm{CSRF: page.CSRF, Catalog: baseline.CSFCatalog, ScopeKind: bulwark.ScopeOrganization, Org: p.Org}
		if posted != nil {
			form.Catalog, form.ScopeKind, form.Scope, form.Title = posted.Catalog, posted.ScopeKind, posted.Scope, posted.Title
		}
		page.Form = form
	}
	h.render(w, r, status, "assessments", page)
}

// createAssessment starts an assessment and opens its editor.
func (h *Handler) createAssessment(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxFormBytes) {
		return
	}
	posted := &NewAssessmentForm{
		Catalog:   strings.TrimSpace(r.PostFormValue("catalog")),
		ScopeKind: strings.TrimSpace(r.PostFormValue("scope_kind")),
		Scope:     strings.TrimSpace(r.PostFormValue("scope")),
		Title:     strings.TrimSpace(r.PostFormValue("title")),
	}
	a := &bulwark.Assessment{Catalog: posted.Catalog, ScopeKind: posted.ScopeKind, Scope: posted.Scope, Title: posted.Title}
	if a.ScopeKind == bulwark.ScopeOrganization && a.Scope == "" {
		a.Scope = p.Org // the form's default: one's own organization
	}
	if err := h.baselines.CreateAssessment(r.Context(), a); err != nil {
		switch bulwark.ErrorCode(err) {
		case bulwark.EINVALID, bulwark.ENOTFOUND, bulwark.EFORBIDDEN, bulwark.ETOOLARGE:
			h.showAssessments(w, r, p, httperr.StatusOf(err), posted, bulwark.ErrorMessage(err))
		default:
			h.fail(w, r, p, err)
		}
		return
	}
	http.Redirect(w, r, assessmentHref(a.ID), http.StatusSeeOther)
}

// loadAssessment reads {id} and its catalog; a malformed ID is a missing
// assessment.
func (h *Handler) loadAssessment(r *http.Request) (*bulwark.Assessment, *bulwark.Catalog, error) {
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		return nil, nil, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such assessment.")
	}
	a, err := h.st.FindAssessment(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	cat, err := h.baselines.Catalog(r.Context(), a.Catalog)
	if err != nil {
		return nil, nil, err
	}
	return a, cat, nil
}

func (h *Handler) assessment(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showAssessment(w, r, p, http.StatusOK, nil, "")
}

// showAssessment renders the editor; after a refused change (without
// script), posted is the change and msg why it was refused.
func (h *Handler) showAssessment(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, posted *bulwark.ResultChange, msg string) {
	a, cat, err := h.loadAssessment(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	title := a.Title
	if title == "" {
		title = cat.Title + ": " + a.ScopeKind + " " + a.Scope
	}
	page := &AssessmentPage{Base: h.base(r, p, "baselines", title), ID: a.ID, Title: title, Owner: a.Owner, ScopeKind: a.ScopeKind,
		Scope: a.Scope, Catalog: cat.ID, CatalogTitle: cat.Title, CSF: cat.Kind == "csf",
		Editable: p.Role.CanWrite() && (p.System || p.Org == a.Owner),
		Action:   assessmentHref(a.ID), Statuses: statusOptions, Tiers: []int{0, 1, 2, 3, 4}, Updated: formatTime(a.UpdatedAt), Error: msg}
	if s := r.URL.Query().Get("saved"); s != "" && bulwark.ValidID(s) {
		page.Saved = s
	}
	if page.CSF {
		for i, fc := range baseline.Coverage(cat, a) {
			page.Coverage = append(page.Coverage, FunctionRow{ID: fc.Function, Name: baseline.Functions[i].Name, Coverage: percent(fc.Share()), Pct: round1(100 * fc.Share()),
				Assessed: fc.Assessed, Total: fc.Total, HasAssessedControl: fc.Assessed > 0})
		}
	}
	results := make(map[string]bulwark.ControlResult, len(a.Results))
	for _, res := range a.Results {
		results[res.Control] = res
	}
	var cur *ControlGroup
	for _, c := range cat.Controls {
		if !c.Assessable {
			level := 2
			if c.Parent != "" {
				level = 3
			}
			page.Groups = append(page.Groups, ControlGroup{ID: c.ID, Title: controlText(c), Level: level})
			cur = &page.Groups[len(page.Groups)-1]
			continue
		}
		if cur == nil {
			page.Groups = append(page.Groups, ControlGroup{Level: 2})
			cur = &page.Groups[len(page.Groups)-1]
		}
		res := results[c.ID]
		row := ControlRow{ID: c.ID, Anchor: "c-" + c.ID, Text: c.Statement, Action: resultHref(a.ID, c.ID), HistoryHref: resultHref(a.ID, c.ID),
			Status: string(res.Status), StatusLabel: statusLabel(res.Status), CurrentTier: res.CurrentTier, TargetTier: res.TargetTier,
			Notes: res.Notes, Evidence: evidenceViews(res.Evidence), Rev: res.Rev, Assessor: res.Assessor, At: formatTime(res.At)}
		if c.Title != c.ID {
			row.Title = c.Title
		}
		if posted != nil && posted.Control == c.ID {
			row.Error = msg
			if status != http.StatusConflict {
				// Refill what was posted so that nothing typed is lost;
				// after a conflict the stored values are what matters.
				row.Status, row.CurrentTier, row.TargetTier, row.Notes = string(posted.Status), posted.CurrentTier, posted.TargetTier, posted.Notes
			}
		}
		page.Total++
		if res.Status != bulwark.StatusNotAssessed {
			page.Assessed++
		}
		cur.Rows = append(cur.Rows, row)
	}
	h.render(w, r, status, "assessment", page)
}

// resultForm reads one control's change from a posted form: base_rev,
// status, current_tier, target_tier, notes, the kept evidence (ev_kind,
// ev_title, ev_url, ev_sha256, ev_size, in step, less the indexes in
// ev_remove) and one new piece (new_title, new_url: a link when there is
// a URL, else a note).
func resultForm(r *http.Request, control string) (bulwark.ResultChange, error) {
	f := r.PostForm
	c := bulwark.ResultChange{Control: control, Status: bulwark.ImplStatus(strings.TrimSpace(f.Get("status"))), Notes: strings.TrimSpace(f.Get("notes"))}
	for _, v := range []struct {
		name string
		dst  *int
		max  int
	}{{"base_rev", &c.BaseRev, 1 << 30}, {"current_tier", &c.CurrentTier, bulwark.MaxTier}, {"target_tier", &c.TargetTier, bulwark.MaxTier}} {
		s := strings.TrimSpace(f.Get(v.name))
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > v.max {
			return c, bulwark.Errorf(bulwark.EINVALID, "%s %q: use a whole number from 0 to %d", v.name, bulwark.Abbrev(s, 20), v.max)
		}
		*v.dst = n
	}
	if !c.Status.Valid() {
		return c, bulwark.Errorf(bulwark.EINVALID, "status %q is not a status: use not_implemented, partial, implemented, not_applicable or leave it empty (not assessed)",
			bulwark.Abbrev(string(c.Status), 40))
	}
	kinds, titles, urls, hashes, sizes := f["ev_kind"], f["ev_title"], f["ev_url"], f["ev_sha256"], f["ev_size"]
	if len(titles) != len(kinds) || len(urls) != len(kinds) || len(hashes) != len(kinds) || len(sizes) != len(kinds) {
		return c, bulwark.Errorf(bulwark.EINVALID, "the evidence fields do not line up; reload the page")
	}
	remove := map[string]bool{}
	for _, s := range f["ev_remove"] {
		remove[s] = true
	}
	for i := range kinds {
		if remove[strconv.Itoa(i)] {
			continue
		}
		e := bulwark.Evidence{Kind: kinds[i], Title: titles[i], URL: urls[i], SHA256: hashes[i]}
		if sizes[i] != "" {
			n, err := strconv.ParseInt(sizes[i], 10, 64)
			if err != nil || n < 0 {
				return c, bulwark.Errorf(bulwark.EINVALID, "evidence %d: size %q is not a byte count", i+1, bulwark.Abbrev(sizes[i], 20))
			}
			e.Size = n
		}
		c.Evidence = append(c.Evidence, e)
	}
	title, link := strings.TrimSpace(f.Get("new_title")), strings.TrimSpace(f.Get("new_url"))
	switch {
	case link != "":
		if title == "" {
			title = link
		}
		c.Evidence = append(c.Evidence, bulwark.Evidence{Kind: "link", Title: title, URL: link})
	case title != "":
		c.Evidence = append(c.Evidence, bulwark.Evidence{Kind: "note", Title: title})
	}
	return c, nil
}

// wantsJSON reports whether the editor's script sent the request (it asks
// for JSON); a plain form post gets pages and redirects.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// resultJSON is the editor script's answer to a saved change.
type resultJSON struct {
	Control     string         `json:"control"`
	Rev         int            `json:"rev"`
	Status      string         `json:"status"`
	CurrentTier int            `json:"current_tier"`
	TargetTier  int            `json:"target_tier"`
	Assessor    string         `json:"assessor"`
	At          string         `json:"at"`
	Evidence    []evidenceJSON `json:"evidence"`
}

type evidenceJSON struct {
	Kind   string `json:"kind"`
	Title  string `json:"title"`
	URL    string `json:"url"`
	Href   string `json:"href"` // "" unless an http(s) link
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// setResult saves one control: from the editor's script (JSON answer,
// 409 on a stale base_rev) or from the row's plain form (redirect back,
// or the editor with the refusal).
func (h *Handler) setResult(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	asJSON := wantsJSON(r)
	refuse := func(err error) {
		status := httperr.StatusOf(err)
		msg := bulwark.ErrorMessage(err)
		if status >= 500 {
			h.log.Error("web: save result", "path", r.URL.Path, "err", err)
			msg = "The change could not be saved. Please try again later."
		}
		if status == http.StatusForbidden && bulwark.ErrorCode(err) == bulwark.EFORBIDDEN {
			msg = "You may not change this assessment (only analysts and administrators of its organization may): " + msg
		}
		writeJSON(w, status, map[string]any{"error": msg, "conflict": status == http.StatusConflict})
	}
	if !h.checkPost(w, r, maxResultForm) {
		return
	}
	id, control := r.PathValue("id"), r.PathValue("control")
	if !bulwark.ValidID(id) || !bulwark.ValidID(control) {
		err := bulwark.Errorf(bulwark.ENOTFOUND, "There is no such assessment or control.")
		if asJSON {
			refuse(err)
		} else {
			h.fail(w, r, p, err)
		}
		return
	}
	c, err := resultForm(r, control)
	if err == nil {
		var res *bulwark.ControlResult
		res, err = h.baselines.SetResult(r.Context(), id, c)
		if err == nil {
			if asJSON {
				out := resultJSON{Control: res.Control, Rev: res.Rev, Status: string(res.Status), CurrentTier: res.CurrentTier,
					TargetTier: res.TargetTier, Assessor: res.Assessor, At: formatTime(res.At), Evidence: []evidenceJSON{}}
				for _, e := range evidenceViews(res.Evidence) {
					out.Evidence = append(out.Evidence, evidenceJSON{Kind: e.Kind, Title: e.Title, URL: e.URL, Href: e.Href, SHA256: e.SHA256, Size: e.Size})
				}
				writeJSON(w, http.StatusOK, out)
				return
			}
			http.Redirect(w, r, assessmentHref(id)+"?saved="+url.QueryEscape(control)+"#c-"+url.PathEscape(control), http.StatusSeeOther)
			return
		}
	}
	if asJSON {
		refuse(err)
		return
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
		h.showAssessment(w, r, p, httperr.StatusOf(err), &c, bulwark.ErrorMessage(err))
	default:
		h.fail(w, r, p, err)
	}
}

// resultHistory lists every revision of one control.
func (h *Handler) resultHistory(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	a, cat, err := h.loadAssessment(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	control := r.PathValue("control")
	ctl, ok := findControl(cat, control)
	if !ok || !ctl.Assessable {
		h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "%s has no assessable control %q.", cat.ID, bulwark.Abbrev(control, 128)))
		return
	}
	hist, err := h.st.ResultHistory(r.Context(), a.ID, control)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	title := a.Title
	if title == "" {
		title = a.ID
	}
	page := &ResultHistoryPage{Base: h.base(r, p, "baselines", control+" history"), Assessment: Link{ID: a.ID, Name: title, Href: assessmentHref(a.ID)},
		Control: control, Text: controlText(ctl), CSF: cat.Kind == "csf"}
	for _, res := range slices.Backward(hist) {
		page.Rows = append(page.Rows, ResultRevRow{Rev: res.Rev, Status: statusLabel(res.Status), CurrentTier: res.CurrentTier, TargetTier: res.TargetTier,
			Notes: res.Notes, Evidence: evidenceViews(res.Evidence), Assessor: res.Assessor, At: formatTime(res.At)})
	}
	h.render(w, r, http.StatusOK, "result", page)
}

// exportAssessment downloads one assessment as OSCAL assessment results
// (JSON) or CSV.
func (h *Handler) exportAssessment(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	a, cat, err := h.loadAssessment(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	var buf bytes.Buffer
	as, cats := []*bulwark.Assessment{a}, []*bulwark.Catalog{cat}
	if strings.HasSuffix(r.URL.Path, ".csv") {
		if err := oscal.WriteResultsCSV(&buf, as, cats); err != nil {
			h.fail(w, r, p, fmt.Errorf("export %s as CSV: %w", a.ID, err))
			return
		}
		download(w, "text/csv; charset=utf-8", a.ID+".csv", buf.Bytes())
		return
	}
	if err := oscal.WriteAssessmentResults(&buf, oscal.AssessmentResults{Assessments: as, Catalogs: cats}); err != nil {
		h.fail(w, r, p, fmt.Errorf("export %s as OSCAL: %w", a.ID, err))
		return
	}
	download(w, "application/json", a.ID+".oscal.json", buf.Bytes())
}

// --- profiles and gaps -------------------------------------------------

func (h *Handler) profiles(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	list, err := h.st.ListProfiles(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &ProfilesPage{Base: h.base(r, p, "baselines", "Profiles")}
	for _, pr := range list {
		page.Rows = append(page.Rows, ProfileRow{Href: "/profiles/" + url.PathEscape(pr.ID), ID: pr.ID, Name: pr.Name, Owner: pr.Owner, Catalog: pr.Catalog,
			AppliesTo: pr.AppliesTo, Description: pr.Description, Requirements: len(pr.Requirements), Updated: formatTime(pr.UpdatedAt)})
	}
	h.render(w, r, http.StatusOK, "profiles", page)
}

// profile is a profile's compliance matrix over the organizations the
// caller sees.
func (h *Handler) profile(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such profile."))
		return
	}
	res, err := h.baselines.Compliance(ctx, id)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	pr := res.Profile
	cat, err := h.baselines.Catalog(ctx, pr.Catalog)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &ProfilePage{Base: h.base(r, p, "baselines", pr.Name), ID: pr.ID, Name: pr.Name, Owner: pr.Owner, Catalog: pr.Catalog,
		AppliesTo: pr.AppliesTo, Description: pr.Description, Meeting: res.Meeting()}
	for _, q := range pr.Requirements {
		col := MatrixColumn{Control: q.Control, Minimum: "at least " + statusLabel(q.MinStatus)}
		if q.MinTier > 0 {
			col.Minimum += fmt.Sprintf(", tier %d", q.MinTier)
		}
		if c, ok := findControl(cat, q.Control); ok {
			col.Text = controlText(c)
		}
		page.Columns = append(page.Columns, col)
	}
	for _, row := range res.Rows {
		mr := MatrixRow{Org: row.Org, OrgName: row.OrgName, Met: row.Met, Total: len(row.Cells), Meets: row.Meets}
		for i, c := range row.Cells {
			cell := MatrixCell{Why: c.Why}
			switch {
			case c.Derived && c.Met:
				cell.State, cell.Label = "derived-met", "met (derived)"
			case c.Derived:
				cell.State, cell.Label = "derived-not-met", "not met (derived)"
			case c.Met:
				cell.State, cell.Label = "met", "met"
			case c.Status == bulwark.StatusNotAssessed:
				cell.State, cell.Label = "not-assessed", "not assessed"
			default:
				cell.State, cell.Label = "not-met", "not met"
			}
			if cell.Why == "" {
				cell.Why = statusLabel(c.Status)
			}
			if c.Met && i < len(page.Columns) {
				page.Columns[i].Met++
			}
			mr.Cells = append(mr.Cells, cell)
		}
		page.Rows = append(page.Rows, mr)
	}
	h.render(w, r, http.StatusOK, "profile", page)
}

// gaps is the ranked gaps table.
func (h *Handler) gaps(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	list, err := h.baselines.Gaps(ctx, baseline.GapFilter{Limit: gapsShown})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &GapsPage{Base: h.base(r, p, "baselines", "Gaps"), Limit: gapsShown}
	cats := map[string]*bulwark.Catalog{}
	f2 := func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
	for i, g := range list {
		text := g.Title
		cat, ok := cats[g.Catalog]
		if !ok {
			cat, _ = h.baselines.Catalog(ctx, g.Catalog)
			cats[g.Catalog] = cat
		}
		if cat != nil {
			if c, ok := findControl(cat, g.Control); ok {
				text = controlText(c)
			}
		}
		page.Rows = append(page.Rows, GapRow{Rank: i + 1, Assessment: Link{ID: g.Assessment, Name: g.Assessment, Href: assessmentHref(g.Assessment) + "#c-" + url.PathEscape(g.Control)},
			Org: g.Org, Scope: g.ScopeKind + " " + g.Scope, Control: g.Control, Text: text, Status: statusLabel(g.Status),
			Size: f2(g.Size), Impact: f2(g.Impact), Reach: f2(g.Reach), Weight: f2(g.Weight), Findings: f2(g.Findings), Score: f2(g.Score), Why: g.Why})
	}
	h.render(w, r, http.StatusOK, "gaps", page)
}
