package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/attack"
	"bulwark/internal/httperr"
	"bulwark/internal/risk"
)

// The risk register's pages: the register with its heat map (/risks), one
// risk with its history and forms (/risks/{id}) and the quantitative
// analysis (/risks/analysis).

// maxRiskForm caps a posted risk form: the scenario and plan may be long.
const maxRiskForm = 64 << 10

// Bounds of the analysis page's ?trials= (as the API's).
const (
	defaultAnalysisTrials = 10_000
	maxAnalysisTrials     = 100_000
)

// analysisSlots bounds concurrent simulations: each is CPU-bound.
var analysisSlots = make(chan struct{}, 2)

var riskStatuses = []bulwark.RiskStatus{bulwark.RiskIdentified, bulwark.RiskTreating, bulwark.RiskAccepted, bulwark.RiskTransferred, bulwark.RiskClosed}

var treatments = []bulwark.Treatment{bulwark.TreatMitigate, bulwark.TreatAccept, bulwark.TreatTransfer, bulwark.TreatAvoid}

var likelihoodLabels = [6]string{"", "1 rare", "2 unlikely", "3 possible", "4 likely", "5 almost certain"}

func riskHref(id string) string { return "/risks/" + url.PathEscape(id) }

// money writes an amount rounded to a unit with thousands separators.
func money(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return formatNumber(int64(math.Round(x)))
}

// rangeText writes a three-point estimate, "" when unset.
func rangeText(r bulwark.Range, format func(float64) string) string {
	if r.IsZero() {
		return ""
	}
	return format(r.Min) + " / " + format(r.MostLikely) + " / " + format(r.Max)
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func rangeFields(r bulwark.Range) (string, string, string) {
	if r.IsZero() {
		return "", "", ""
	}
	return fmtFloat(r.Min), fmtFloat(r.MostLikely), fmtFloat(r.Max)
}

// splitIDs reads a list of IDs separated by commas, spaces or newlines.
func splitIDs(s string) []string {
	return strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' })
}

// formRange reads the three fields of a range; all empty is no range.
func formRange(r *http.Request, name, label string) (bulwark.Range, error) {
	var v [3]float64
	empty := 0
	for i, part := range []string{"min", "ml", "max"} {
		s := strings.TrimSpace(r.PostFormValue(name + "_" + part))
		if s == "" {
			empty++
			continue
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return bulwark.Range{}, bulwark.Errorf(bulwark.EINVALID, "%s: %q is not a number", label, bulwark.Abbrev(s, 40))
		}
		v[i] = x
	}
	switch empty {
	case 3:
		return bulwark.Range{}, nil
	case 0:
		return bulwark.Range{Min: v[0], MostLikely: v[1], Max: v[2]}, nil
	}
	return bulwark.Range{}, bulwark.Errorf(bulwark.EINVALID, "%s: give the minimum, most likely and maximum, or none of them", label)
}

// formScale reads a 1–5 value.
func formScale(r *http.Request, name string) (int, error) {
	s := strings.TrimSpace(r.PostFormValue(name))
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return 0, bulwark.Errorf(bulwark.EINVALID, "%s: choose 1 to 5", name)
	}
	return n, nil
}

// formDate reads an optional YYYY-MM-DD date.
func formDate(r *http.Request, name, label string) (time.Time, error) {
	s := strings.TrimSpace(r.PostFormValue(name))
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, bulwark.Errorf(bulwark.EINVALID, "%s: %q is not a date (YYYY-MM-DD)", label, bulwark.Abbrev(s, 40))
	}
	if t.Year() < 1900 {
		return time.Time{}, bulwark.Errorf(bulwark.EINVALID, "%s: %s is before 1900", label, s)
	}
	return t, nil
}

func options[T ~string](values []T, selected string, blank string) []Option {
	var out []Option
	if blank != "" {
		out = append(out, Option{Value: "", Label: blank, Selected: selected == ""})
	}
	for _, v := range values {
		out = append(out, Option{Value: string(v), Label: string(v), Selected: string(v) == selected})
	}
	return out
}

// --- the register --------------------------------------------------------

func (h *Handler) riskRegister(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showRisks(w, r, p, http.StatusOK, nil, "")
}

func (h *Handler) showRisks(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, posted *RiskForm, msg string) {
	q := r.URL.Query()
	page := &RisksPage{Base: h.base(r, p, "risks", "Risk register"), Status: q.Get("status"), Error: msg}
	switch page.Status {
	case "", "open":
	default:
		if !validRiskStatus(bulwark.RiskStatus(page.Status)) {
			h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "Unknown status %q: use open, identified, treating, accepted, transferred or closed.", bulwark.Abbrev(page.Status, 40)))
			return
		}
	}
	for _, name := range []string{"likelihood", "impact"} {
		s := q.Get(name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 5 {
			h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "%s must be 1 to 5.", name))
			return
		}
		if name == "likelihood" {
			page.Likelihood = n
		} else {
			page.Impact = n
		}
	}
	page.Filtered = page.Status != "" || page.Likelihood != 0 || page.Impact != 0
	page.Statuses = append([]Option{{Value: "", Label: "all", Selected: page.Status == ""}, {Value: "open", Label: "open", Selected: page.Status == "open"}},
		options(riskStatuses, page.Status, "")...)

	vs, err := h.risks.List(r.Context(), bulwark.RiskFilter{})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	now := time.Now()
	var cells [5][5]int
	for _, v := range vs {
		if v.Open {
			cells[v.Likelihood-1][v.Impact-1]++
			page.Open++
		}
		switch {
		case page.Status == "open" && !v.Open,
			page.Status != "" && page.Status != "open" && string(v.Status) != page.Status,
			page.Likelihood != 0 && v.Likelihood != page.Likelihood,
			page.Impact != 0 && v.Impact != page.Impact:
			continue
		}
		page.Rows = append(page.Rows, RiskRow{ID: v.ID, Href: riskHref(v.ID), Title: v.Title, Score: v.Score, Level: v.Level,
			Status: string(v.Status), Treatment: string(v.Treatment), Due: formatDate(v.Due), Owner: v.Owner,
			Overdue: v.Open && overdue(v.Due, now), Open: v.Open, AcceptanceExpired: v.Expired})
	}
	for l := 5; l >= 1; l-- {
		row := HeatRow{Likelihood: l, Label: likelihoodLabels[l]}
		for i := 1; i <= 5; i++ {
			row.Cells = append(row.Cells, HeatCell{Likelihood: l, Impact: i, Count: cells[l-1][i-1], Score: l * i, Level: risk.Level(l * i),
				Href: fmt.Sprintf("/risks?status=open&likelihood=%d&impact=%d", l, i)})
		}
		page.Heat = append(page.Heat, row)
	}
	if p.Role.CanWrite() {
		form := &RiskForm{CSRF: page.CSRF, Org: p.Org, Likelihood: 3, Impact: 3}
		if posted != nil {
			*form = *posted
			form.CSRF, form.Org = page.CSRF, p.Org
		}
		chosen := map[string]bool{}
		for _, t := range form.Techniques {
			chosen[t] = true
		}
		for _, t := range attack.ICS() {
			form.TechniqueOptions = append(form.TechniqueOptions, Option{Value: t.ID, Label: t.ID + " " + t.Name, Selected: chosen[t.ID]})
		}
		form.Treatments = options(treatments, form.Treatment, "not decided")
		page.Form = form
	}
	h.render(w, r, status, "risks", page)
}

func validRiskStatus(s bulwark.RiskStatus) bool {
	for _, x := range riskStatuses {
		if x == s {
			return true
		}
	}
	return false
}

// createRisk adds a risk from the register's form and opens its page.
func (h *Handler) createRisk(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxRiskForm) {
		return
	}
	posted := &RiskForm{
		Title:          strings.TrimSpace(r.PostFormValue("title")),
		Scenario:       strings.TrimSpace(r.PostFormValue("scenario")),
		Techniques:     r.PostForm["techniques"],
		Services:       r.PostFormValue("services"),
		Systems:        r.PostFormValue("systems"),
		Findings:       r.PostFormValue("findings"),
		Gaps:           r.PostFormValue("gaps"),
		FreqMin:        r.PostFormValue("freq_min"),
		FreqML:         r.PostFormValue("freq_ml"),
		FreqMax:        r.PostFormValue("freq_max"),
		LossMin:        r.PostFormValue("loss_min"),
		LossML:         r.PostFormValue("loss_ml"),
		LossMax:        r.PostFormValue("loss_max"),
		Treatment:      r.PostFormValue("treatment"),
		TreatmentOwner: strings.TrimSpace(r.PostFormValue("treatment_owner")),
		TreatmentPlan:  strings.TrimSpace(r.PostFormValue("treatment_plan")),
		Due:            strings.TrimSpace(r.PostFormValue("due")),
	}
	posted.Likelihood, _ = strconv.Atoi(r.PostFormValue("likelihood"))
	posted.Impact, _ = strconv.Atoi(r.PostFormValue("impact"))
	rk, err := riskFromForm(r, posted)
	if err == nil {
		var v risk.View
		v, err = h.risks.Create(r.Context(), rk)
		if err == nil {
			http.Redirect(w, r, riskHref(v.ID)+"?saved=1", http.StatusSeeOther)
			return
		}
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
		h.showRisks(w, r, p, httperr.StatusOf(err), posted, problemText(err))
	default:
		h.fail(w, r, p, err)
	}
}

// problemText is an error's message and, for validation errors, every
// problem found.
func problemText(err error) string {
	msg := bulwark.ErrorMessage(err)
	if d := bulwark.ErrorDetails(err); len(d) > 1 {
		var parts []string
		for _, p := range d {
			parts = append(parts, p.Field+": "+p.Message)
		}
		msg += " (all: " + strings.Join(parts, "; ") + ")"
	}
	return msg
}

func riskFromForm(r *http.Request, f *RiskForm) (*bulwark.Risk, error) {
	l, err := formScale(r, "likelihood")
	if err != nil {
		return nil, err
	}
	i, err := formScale(r, "impact")
	if err != nil {
		return nil, err
	}
	freq, err := formRange(r, "freq", "events a year")
	if err != nil {
		return nil, err
	}
	loss, err := formRange(r, "loss", "loss per event")
	if err != nil {
		return nil, err
	}
	due, err := formDate(r, "due", "due")
	if err != nil {
		return nil, err
	}
	return &bulwark.Risk{Title: f.Title, Scenario: f.Scenario, Techniques: f.Techniques,
		Services: splitIDs(f.Services), Systems: splitIDs(f.Systems), Findings: splitIDs(f.Findings), Gaps: splitIDs(f.Gaps),
		Likelihood: l, Impact: i, Frequency: freq, Loss: loss, Treatment: bulwark.Treatment(f.Treatment),
		TreatmentOwner: f.TreatmentOwner, TreatmentPlan: f.TreatmentPlan, Due: due}, nil
}

// --- one risk ----------------------------------------------------------------

func (h *Handler) riskPage(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showRisk(w, r, p, http.StatusOK, nil, nil, "")
}

// loadRisk reads {id}; a malformed ID is a missing risk.
func (h *Handler) loadRisk(r *http.Request) (risk.View, error) {
	id := r.PathValue("id")
	if !bulwark.ValidID(id) {
		return risk.View{}, bulwark.Errorf(bulwark.ENOTFOUND, "There is no such risk.")
	}
	return h.risks.Find(r.Context(), id)
}

// showRisk renders a risk; edit and accept, when given, are the posted
// forms to show again (with msg saying why they were refused).
func (h *Handler) showRisk(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, edit *RiskEditForm, accept *RiskAcceptForm, msg string) {
	v, err := h.loadRisk(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	hist, err := h.st.RiskHistory(r.Context(), v.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	now := time.Now()
	page := &RiskPage{Base: h.base(r, p, "risks", v.Title), ID: v.ID, Title: v.Title, Scenario: v.Scenario, Owner: v.Owner,
		Score: v.Score, Level: v.Level, Likelihood: v.Likelihood, Impact: v.Impact, Status: string(v.Status), Open: v.Open, Expired: v.Expired,
		Treatment: string(v.Treatment), TreatmentOwner: v.TreatmentOwner, TreatmentPlan: v.TreatmentPlan,
		Due: formatDate(v.Due), Overdue: v.Open && overdue(v.Due, now), AcceptedBy: v.AcceptedBy, AcceptedUntil: formatDate(v.AcceptedUntil),
		Frequency: rangeText(v.Frequency, fmtFloat), Loss: rangeText(v.Loss, money), Rev: v.Rev, UpdatedBy: v.UpdatedBy, UpdatedAt: formatTime(v.UpdatedAt),
		Error: msg, Conflict: status == http.StatusConflict, Saved: r.URL.Query().Get("saved") != "" && msg == ""}
	for _, t := range v.Reference {
		name := t.Name
		if name == "" {
			name = "(not in ATT&CK for ICS)"
		}
		page.Techniques = append(page.Techniques, TechniqueLink{ID: t.ID, Name: name, URL: t.URL})
	}
	for _, id := range v.Services {
		page.Services = append(page.Services, Link{ID: id, Name: id, Href: "/services/" + url.PathEscape(id)})
	}
	for _, id := range v.Systems {
		page.Systems = append(page.Systems, Link{ID: id, Name: id, Href: "/systems/" + url.PathEscape(id)})
	}
	for _, f := range v.Findings {
		asset, vuln, _ := strings.Cut(f, "/")
		page.Findings = append(page.Findings, Link{ID: f, Name: vuln + " on " + asset, Href: "/findings/" + url.PathEscape(asset) + "/" + url.PathEscape(vuln)})
	}
	for _, g := range v.Gaps {
		id, control, _ := strings.Cut(g, "/")
		page.Gaps = append(page.Gaps, Link{ID: g, Name: control + " in " + id, Href: assessmentHref(id)})
	}
	for i := len(hist) - 1; i >= 0; i-- { // newest first
		e := hist[i]
		page.History = append(page.History, RiskRevision{Rev: e.Rev, At: formatTime(e.At), Actor: e.Actor, Note: e.Note,
			Status: string(e.Risk.Status), Treatment: string(e.Risk.Treatment), Score: e.Risk.Score(), Level: risk.Level(e.Risk.Score())})
	}
	if p.Role.CanWrite() && (p.Org == v.Owner || p.System) {
		action := riskHref(v.ID)
		if edit == nil {
			fmin, fml, fmax := rangeFields(v.Frequency)
			lmin, lml, lmax := rangeFields(v.Loss)
			edit = &RiskEditForm{Rev: v.Rev, Status: string(v.Status), Treatment: string(v.Treatment), TreatmentOwner: v.TreatmentOwner,
				TreatmentPlan: v.TreatmentPlan, Due: formatDate(v.Due), Likelihood: v.Likelihood, Impact: v.Impact,
				FreqMin: fmin, FreqML: fml, FreqMax: fmax, LossMin: lmin, LossML: lml, LossMax: lmax}
		}
		edit.CSRF, edit.Action = page.CSRF, action
		edit.Statuses = options(riskStatuses, edit.Status, "")
		edit.Treatments = options(treatments, edit.Treatment, "not decided")
		if accept == nil {
			accept = &RiskAcceptForm{Rev: v.Rev, By: v.AcceptedBy, Until: formatDate(v.AcceptedUntil)}
		}
		accept.CSRF, accept.Action, accept.MinUntil = page.CSRF, action, now.UTC().Format(time.DateOnly)
		if status == http.StatusConflict {
			// Keep what was typed, but base it on the revision now stored:
			// saving again after reading the history is a decision.
			edit.Rev, accept.Rev = v.Rev, v.Rev
		}
		page.Edit, page.Accept = edit, accept
	}
	h.render(w, r, status, "risk", page)
}

// updateRisk saves the edit form (action=edit) or the accept form
// (action=accept) as a new revision based on the posted rev.
func (h *Handler) updateRisk(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxRiskForm) {
		return
	}
	cur, err := h.loadRisk(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	rk := cur.Risk
	rev, err := strconv.Atoi(r.PostFormValue("rev"))
	if err != nil || rev < 1 {
		h.showRisk(w, r, p, http.StatusBadRequest, nil, nil, "The form lacks the revision it edits; reload the page.")
		return
	}
	rk.Rev = rev
	note := strings.TrimSpace(r.PostFormValue("note"))
	var edit *RiskEditForm
	var accept *RiskAcceptForm
	switch r.PostFormValue("action") {
	case "edit":
		edit = &RiskEditForm{Rev: rev, Status: r.PostFormValue("status"), Treatment: r.PostFormValue("treatment"),
			TreatmentOwner: strings.TrimSpace(r.PostFormValue("treatment_owner")), TreatmentPlan: strings.TrimSpace(r.PostFormValue("treatment_plan")),
			Due: strings.TrimSpace(r.PostFormValue("due")), FreqMin: r.PostFormValue("freq_min"), FreqML: r.PostFormValue("freq_ml"),
			FreqMax: r.PostFormValue("freq_max"), LossMin: r.PostFormValue("loss_min"), LossML: r.PostFormValue("loss_ml"),
			LossMax: r.PostFormValue("loss_max"), Note: note}
		edit.Likelihood, _ = strconv.Atoi(r.PostFormValue("likelihood"))
		edit.Impact, _ = strconv.Atoi(r.PostFormValue("impact"))
		err = editRisk(r, &rk, edit)
	case "accept":
		accept = &RiskAcceptForm{Rev: rev, By: strings.TrimSpace(r.PostFormValue("accepted_by")), Until: strings.TrimSpace(r.PostFormValue("until")), Note: note}
		var until time.Time
		until, err = formDate(r, "until", "until")
		switch {
		case err != nil:
		case accept.By == "" || until.IsZero():
			err = bulwark.Errorf(bulwark.EINVALID, "Say who accepts the risk and until when.")
		case !until.After(time.Now()):
			err = bulwark.Errorf(bulwark.EINVALID, "until: an acceptance must end in the future")
		default:
			rk.Status, rk.Treatment, rk.AcceptedBy, rk.AcceptedUntil = bulwark.RiskAccepted, bulwark.TreatAccept, accept.By, until
		}
	default:
		h.showRisk(w, r, p, http.StatusBadRequest, nil, nil, "Unknown form action; reload the page.")
		return
	}
	if err == nil {
		_, err = h.risks.Update(r.Context(), &rk, note)
		if err == nil {
			http.Redirect(w, r, riskHref(rk.ID)+"?saved=1", http.StatusSeeOther)
			return
		}
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
		h.showRisk(w, r, p, httperr.StatusOf(err), edit, accept, problemText(err))
	default:
		h.fail(w, r, p, err)
	}
}

// editRisk applies the edit form to rk.
func editRisk(r *http.Request, rk *bulwark.Risk, f *RiskEditForm) error {
	l, err := formScale(r, "likelihood")
	if err != nil {
		return err
	}
	i, err := formScale(r, "impact")
	if err != nil {
		return err
	}
	freq, err := formRange(r, "freq", "events a year")
	if err != nil {
		return err
	}
	loss, err := formRange(r, "loss", "loss per event")
	if err != nil {
		return err
	}
	due, err := formDate(r, "due", "due")
	if err != nil {
		return err
	}
	rk.Likelihood, rk.Impact, rk.Frequency, rk.Loss, rk.Due = l, i, freq, loss, due
	rk.Status, rk.Treatment = bulwark.RiskStatus(f.Status), bulwark.Treatment(f.Treatment)
	rk.TreatmentOwner, rk.TreatmentPlan = f.TreatmentOwner, f.TreatmentPlan
	if rk.Status != bulwark.RiskAccepted {
		// Acceptance is recorded by the accept form; leaving that status
		// ends it.
		rk.AcceptedBy, rk.AcceptedUntil = "", time.Time{}
	}
	return nil
}

// --- analysis ---------------------------------------------------------------

func (h *Handler) riskAnalysis(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	q := r.URL.Query()
	page := &RiskAnalysisPage{Base: h.base(r, p, "risks", "Risk analysis"), Trials: defaultAnalysisTrials, Seed: 1}
	page.Charts = true
	if s := q.Get("trials"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAnalysisTrials {
			h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "trials must be a whole number from 1 to %d.", maxAnalysisTrials))
			return
		}
		page.Trials = n
	}
	if s := q.Get("seed"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "seed must be a whole number from 0 to 2^64-1."))
			return
		}
		page.Seed = n
	}
	ctx := r.Context()
	vs, err := h.risks.List(ctx, bulwark.RiskFilter{})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	byID := map[string]risk.View{}
	var open []bulwark.Risk
	for _, v := range vs {
		if v.Open {
			byID[v.ID] = v
			open = append(open, v.Risk)
		}
	}
	select {
	case analysisSlots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	a, err := risk.Analyze(open, page.Trials, page.Seed)
	<-analysisSlots
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page.Open, page.Quantified = len(open), len(a.Risks)
	d := a.City
	page.Mean, page.MeanLow, page.MeanHigh = money(d.Mean), money(d.MeanLow), money(d.MeanHigh)
	page.P50, page.P90, page.P99, page.Max = money(d.P50), money(d.P90), money(d.P99), money(d.Max)
	page.PZero = percent(d.PZero)
	points := make([][2]float64, 0, len(d.Exceedance))
	for _, e := range d.Exceedance {
		points = append(points, [2]float64{math.Round(e.Loss), e.Probability})
	}
	b, err := json.Marshal(map[string]any{"points": points})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page.Curve = string(b)
	for _, v := range vs { // highest score first, as listed
		rd, ok := a.Risks[v.ID]
		if !ok {
			continue
		}
		page.Rows = append(page.Rows, AnalysisRow{Href: riskHref(v.ID), Title: v.Title, Owner: v.Owner, Level: v.Level, Score: v.Score,
			Mean: money(rd.Mean), P90: money(rd.P90), P99: money(rd.P99), PZero: percent(rd.PZero)})
	}
	for _, id := range a.Skipped {
		page.Skipped = append(page.Skipped, Link{ID: id, Name: byID[id].Title, Href: riskHref(id)})
	}
	h.render(w, r, http.StatusOK, "riskanalysis", page)
}

func init() {
	// seq5 is the 1–5 scale of the likelihood and impact selects.
	funcs["seq5"] = func() []int { return []int{1, 2, 3, 4, 5} }
}
