package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/httperr"
	"bulwark/internal/training"
)

// TrainingPage is the training dashboard: rates per organization over the
// last year and month by month (charts), the campaigns, and for writers
// the forms to add a campaign and upload a CSV export.
type TrainingPage struct {
	Base
	Error, Notice string
	CanWrite      bool
	Total         TrainingRates
	Orgs          []TrainingRates
	// CompletionChart and ClickChart are JSON for the charts:
	// {"labels": [months], "series": [{"name": org, "values": [% or null]}]}.
	CompletionChart, ClickChart string
	Campaigns                   []TrainingRow
	// Workforce and Phishing are the campaigns a file can go into.
	Workforce, Phishing []Option
	Form                CampaignForm
}

// TrainingRates is one line of rates (an organization, or all).
type TrainingRates struct {
	Org                       string
	Campaigns                 int
	Completion, Click, Report string // "83.3 % (5 of 6)" or "–"
	Reach                     string
	// Cards split the totals for the cards: "83.3 %" and "5 of 6".
	CompletionPct, CompletionOf, ClickPct, ClickOf, ReportPct, ReportOf string
}

// TrainingRow is one campaign of the list.
type TrainingRow struct {
	ID, Org, Kind, Title, Audience, Course string
	Start, Due                             string
	Status                                 string // "due day ended", "in progress", …
	Completion, Click, Report, Reach       string
}

// CampaignForm holds the values typed into the new-campaign form.
type CampaignForm struct {
	Kind, Title, Audience, AudienceSize, Course, Start, Due string
}

// Caps of the training forms.
const (
	maxCampaignForm = 16 << 10
	// maxUploadMemory is how much of an upload is held in memory; the rest
	// is spooled to a temporary file by the multipart reader.
	maxUploadMemory = 8 << 20
)

func ratePct(r training.Rate) string {
	if !r.Measured {
		return "–"
	}
	return fmt.Sprintf("%.1f %% (%s of %s)", 100*r.Value, formatNumber(r.Num), formatNumber(r.Den))
}

func trainingRates(org string, t training.Totals) TrainingRates {
	reach := "–"
	if t.Reach > 0 {
		reach = formatNumber(t.Reach)
	}
	out := TrainingRates{Org: org, Campaigns: t.Campaigns, Completion: ratePct(t.Completion), Click: ratePct(t.Click), Report: ratePct(t.Report), Reach: reach}
	out.CompletionPct, out.CompletionOf = rateParts(t.Completion)
	out.ClickPct, out.ClickOf = rateParts(t.Click)
	out.ReportPct, out.ReportOf = rateParts(t.Report)
	return out
}

// rateParts is a rate as "83.3 %" and "5 of 6" ("–" and "" when not
// measured).
func rateParts(r training.Rate) (string, string) {
	if !r.Measured {
		return "–", ""
	}
	return fmt.Sprintf("%.1f %%", 100*r.Value), formatNumber(r.Num) + " of " + formatNumber(r.Den)
}

// seriesChart turns series into the JSON of a chart: one series per
// organization, a percentage (one decimal) per month, null where nothing
// was measured.
func seriesChart(months []string, ss []training.Series, pick func(training.Point) training.Rate) string {
	type series struct {
		Name   string     `json:"name"`
		Values []*float64 `json:"values"`
	}
	out := struct {
		Labels []string `json:"labels"`
		Series []series `json:"series"`
	}{Labels: months, Series: []series{}}
	for _, s := range ss {
		x := series{Name: s.Org, Values: make([]*float64, len(s.Points))}
		measured := false
		for i, p := range s.Points {
			if r := pick(p); r.Measured {
				v := math.Round(1000*r.Value) / 10
				x.Values[i] = &v
				measured = true
			}
		}
		if measured {
			out.Series = append(out.Series, x)
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// trainingRoutes registers the training pages.
func (h *Handler) trainingRoutes() {
	h.mux.Handle("GET /training", h.user(h.training))
	h.mux.Handle("POST /training/campaigns", h.user(h.createCampaign))
	h.mux.Handle("POST /training/import", h.user(h.importTraining))
}

func (h *Handler) trainingService() *training.Service { return training.New(h.st, h.log) }

func (h *Handler) training(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	q := r.URL.Query()
	if len(q) > 1 || (len(q) == 1 && q.Get("imported") == "" && q.Get("created") == "") {
		h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "This page takes no such parameters."))
		return
	}
	notice := ""
	if n := q.Get("imported"); n != "" {
		if k, err := strconv.Atoi(n); err == nil && k >= 0 {
			notice = fmt.Sprintf("The file was imported: %s row(s).", formatNumber(int64(k)))
		}
	}
	if q.Get("created") != "" {
		notice = "The campaign was added."
	}
	h.showTraining(w, r, p, http.StatusOK, CampaignForm{Kind: string(bulwark.CampaignWorkforce)}, "", notice)
}

func (h *Handler) showTraining(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, form CampaignForm, errMsg, notice string) {
	ts := h.trainingService()
	d, err := ts.Rates(r.Context(), bulwark.CampaignFilter{}, 12)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	vs, err := ts.List(r.Context(), bulwark.CampaignFilter{})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &TrainingPage{Base: h.base(r, p, "training", "Training"), Error: errMsg, Notice: notice, Form: form,
		CanWrite: p.System || p.Role.CanWrite(), Total: trainingRates("All", d.Total),
		CompletionChart: seriesChart(d.Months, d.Series, func(x training.Point) training.Rate { return x.Completion }),
		ClickChart:      seriesChart(d.Months, d.Series, func(x training.Point) training.Rate { return x.Click })}
	page.Charts = true
	for _, o := range d.ByOrg {
		page.Orgs = append(page.Orgs, trainingRates(o.Org, o.Totals))
	}
	day := func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.Format(time.DateOnly)
	}
	for _, v := range vs {
		c := v.Campaign
		row := TrainingRow{ID: c.ID, Org: c.Org, Kind: string(c.Kind), Title: c.Title, Audience: c.Audience, Course: c.Course,
			Start: day(c.Start), Due: day(c.Due), Completion: "–", Click: "–", Report: "–", Reach: "–"}
		switch c.Kind {
		case bulwark.CampaignWorkforce:
			row.Status = "in progress"
			row.Completion = ratePct(v.Completion) + " so far"
			if v.Due {
				row.Status = "due day ended"
				row.Completion = ratePct(v.Completion)
			}
			page.Workforce = append(page.Workforce, Option{Value: c.ID, Label: c.Title})
		case bulwark.CampaignPhishing:
			row.Status = fmt.Sprintf("%s sent", formatNumber(v.Sent))
			row.Click, row.Report = ratePct(v.Click), ratePct(v.Report)
			page.Phishing = append(page.Phishing, Option{Value: c.ID, Label: c.Title})
		case bulwark.CampaignCitizen:
			row.Status = "awareness"
			row.Reach = formatNumber(v.Reach)
		}
		page.Campaigns = append(page.Campaigns, row)
	}
	h.render(w, r, status, "training", page)
}

// createCampaign adds a campaign from the dashboard's form.
func (h *Handler) createCampaign(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxCampaignForm) {
		return
	}
	f := CampaignForm{Kind: r.PostFormValue("kind"), Title: strings.TrimSpace(r.PostFormValue("title")), Audience: strings.TrimSpace(r.PostFormValue("audience")),
		AudienceSize: strings.TrimSpace(r.PostFormValue("audience_size")), Course: strings.TrimSpace(r.PostFormValue("course")),
		Start: strings.TrimSpace(r.PostFormValue("start")), Due: strings.TrimSpace(r.PostFormValue("due"))}
	c, err := campaignFromForm(f)
	if err == nil {
		err = h.trainingService().CreateCampaign(r.Context(), c)
	}
	if err == nil {
		http.Redirect(w, r, "/training?created=1", http.StatusSeeOther)
		return
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE:
		h.showTraining(w, r, p, httperr.StatusOf(err), f, problemText(err), "")
	default:
		h.fail(w, r, p, err)
	}
}

func campaignFromForm(f CampaignForm) (*bulwark.Campaign, error) {
	c := &bulwark.Campaign{Kind: bulwark.CampaignKind(f.Kind), Title: f.Title, Audience: f.Audience, Course: f.Course}
	if f.AudienceSize != "" {
		n, err := strconv.ParseInt(f.AudienceSize, 10, 64)
		if err != nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "audience size: %q is not a whole number", bulwark.Abbrev(f.AudienceSize, 40))
		}
		c.AudienceSize = n
	}
	for _, d := range []struct {
		name, v string
		dst     *time.Time
	}{{"start", f.Start, &c.Start}, {"due", f.Due, &c.Due}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil || t.Year() < 1970 {
			return nil, bulwark.Errorf(bulwark.EINVALID, "%s: %q is not a date (YYYY-MM-DD)", d.name, bulwark.Abbrev(d.v, 40))
		}
		*d.dst = t
	}
	return c, nil
}

// importTraining reads an uploaded CSV export into a campaign. The form is
// multipart: the file part is spooled beyond maxUploadMemory, the CSRF
// token checked before anything is read into the store.
func (h *Handler) importTraining(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "cross-origin request rejected", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, training.MaxCSVBytes+64<<10)
	if err := r.ParseMultipartForm(maxUploadMemory); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.showTraining(w, r, p, http.StatusRequestEntityTooLarge, CampaignForm{}, fmt.Sprintf("The file is larger than %d MiB; split it.", training.MaxCSVBytes>>20), "")
			return
		}
		http.Error(w, "the form is malformed", http.StatusBadRequest)
		return
	}
	defer r.MultipartForm.RemoveAll()
	if h.auth == nil || !h.auth.CheckCSRF(r) {
		http.Error(w, "invalid or missing form token; reload the page", http.StatusForbidden)
		return
	}
	kind, campaign := r.PostFormValue("kind"), r.PostFormValue("campaign")
	file, hdr, err := r.FormFile("file")
	if err != nil {
		h.showTraining(w, r, p, http.StatusBadRequest, CampaignForm{}, "Choose a CSV file to upload.", "")
		return
	}
	defer file.Close()
	name := "upload.csv"
	if hdr != nil && hdr.Filename != "" && len(hdr.Filename) <= 200 {
		name = strings.ToValidUTF8(hdr.Filename, "?")
	}
	res, err := h.trainingService().Import(r.Context(), campaign, kind, name, file, training.ReadOptions{})
	if err == nil {
		http.Redirect(w, r, "/training?imported="+strconv.Itoa(res.Rows), http.StatusSeeOther)
		return
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ENOTFOUND, bulwark.ETOOLARGE:
		h.showTraining(w, r, p, httperr.StatusOf(err), CampaignForm{}, importProblems(err), "")
	default:
		h.fail(w, r, p, err)
	}
}

// importProblems is an import error with its first located problems.
func importProblems(err error) string {
	ds := bulwark.ErrorDetails(err)
	if len(ds) == 0 {
		return bulwark.ErrorMessage(err)
	}
	var parts []string
	for i, d := range ds {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ds)-10))
			break
		}
		parts = append(parts, d.String())
	}
	return "Nothing was imported. " + strings.Join(parts, "; ")
}
