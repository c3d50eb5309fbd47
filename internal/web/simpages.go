package web

import (
	"cmp"
	"encoding/json"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/httperr"
	"bulwark/internal/sim"
	"bulwark/internal/simrun"
)

// The simulation pages: the runner (/simulations: submit a scenario, the
// runs with live progress), a run (/simulations/{id}: progress, then the
// charts of the result and the timeline of one trial), its cancel form
// and the trace the timeline plays (/simulations/{id}/trace.json).

// maxSimForm caps a posted run: a scenario and options of
// bulwark.MaxSimInput each, form-encoded or uploaded, with the fields.
const maxSimForm = 4*bulwark.MaxSimInput + 64<<10

// Rows shown on a run's page: a city has thousands of services.
const (
	simServiceRows = 200
	simChartRows   = 25
	simCurveRows   = 8
)

func simHref(id string) string { return "/simulations/" + url.PathEscape(id) }

// simRows turns runs into rows of the runs table.
func simRows(runs []bulwark.SimRun) ([]SimRunRow, bool) {
	rows := make([]SimRunRow, 0, len(runs))
	active := false
	for i := range runs {
		row := simRow(&runs[i])
		active = active || row.Active
		rows = append(rows, row)
	}
	return rows, active
}

func simRow(r *bulwark.SimRun) SimRunRow {
	row := SimRunRow{ID: r.ID, Href: simHref(r.ID), Name: r.Name, Kind: string(r.Kind), Status: string(r.Status), By: r.SubmittedBy,
		Trials: r.Trials, LastTrial: max(r.Trials-1, 0), Seed: r.Seed, Crews: r.Crews, Done: r.Done, Total: max(r.Total, 1), Error: r.Error, Attempts: r.Attempts,
		Submitted: r.CreatedAt.Format("2006-01-02 15:04:05"), Active: !r.Status.Final()}
	if row.Name == "" {
		row.Name = "(unnamed scenario)"
	}
	row.Percent = strconv.FormatInt(r.Done*100/row.Total, 10) + "%"
	if !r.StartedAt.IsZero() {
		row.Started = r.StartedAt.Format("2006-01-02 15:04:05")
	}
	if !r.FinishedAt.IsZero() {
		row.Finished = r.FinishedAt.Format("2006-01-02 15:04:05")
		if !r.StartedAt.IsZero() {
			row.Took = r.FinishedAt.Sub(r.StartedAt).Round(100 * time.Millisecond).String()
		}
	}
	return row
}

func (h *Handler) simulations(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil || len(r.URL.Query()) > 0 {
		h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "This page takes no parameters."))
		return
	}
	h.showSimulations(w, r, p, http.StatusOK, &SimForm{Trials: strconv.Itoa(simrun.DefaultTrials), Seed: "1", Crews: "1"}, "")
}

func (h *Handler) showSimulations(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, form *SimForm, msg string) {
	ctx := r.Context()
	runs, err := h.sims.List(ctx, bulwark.SimRunFilter{Limit: 100})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &SimulationsPage{Base: h.base(r, p, "simulations", "Simulations"), Error: msg}
	page.Runs, page.Active = simRows(runs)
	if err := h.sims.CanSubmit(ctx); err != nil {
		page.Refusal = bulwark.ErrorMessage(err)
	} else {
		form.CSRF = page.CSRF
		page.Form = form
		page.NoQueue = !h.sims.Queued()
	}
	h.render(w, r, status, "simulations", page)
}

// formFile reads an uploaded file field, "" when none was chosen.
func formFile(r *http.Request, name string) (string, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File[name]) == 0 {
		return "", nil
	}
	fh := r.MultipartForm.File[name][0]
	if fh.Size == 0 {
		return "", nil
	}
	if fh.Size > bulwark.MaxSimInput {
		return "", bulwark.Errorf(bulwark.ETOOLARGE, "%s: the file %q is %d bytes; at most %d", name, bulwark.Abbrev(fh.Filename, 80), fh.Size, bulwark.MaxSimInput)
	}
	f, err := fh.Open()
	if err != nil {
		return "", bulwark.Errorf(bulwark.EINVALID, "%s: the upload could not be read", name)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, bulwark.MaxSimInput+1))
	if err != nil {
		return "", bulwark.Errorf(bulwark.EINVALID, "%s: the upload could not be read", name)
	}
	return string(b), nil
}

// checkSimPost is checkPost for a form that may carry file uploads.
func (h *Handler) checkSimPost(w http.ResponseWriter, r *http.Request) bool {
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "cross-origin request rejected", http.StatusForbidden)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSimForm)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxSimForm)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		status := http.StatusBadRequest
		if strings.Contains(err.Error(), "too large") {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "the form is malformed or too large", status)
		return false
	}
	if h.auth == nil || !h.auth.CheckCSRF(r) {
		http.Error(w, "invalid or missing form token; reload the page", http.StatusForbidden)
		return false
	}
	return true
}

// submitSimulation submits the runner's form and goes to the run's page.
func (h *Handler) submitSimulation(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkSimPost(w, r) {
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	form := &SimForm{Scenario: r.PostFormValue("scenario"), Options: r.PostFormValue("options"),
		Trials: strings.TrimSpace(r.PostFormValue("trials")), Seed: strings.TrimSpace(r.PostFormValue("seed")), Crews: strings.TrimSpace(r.PostFormValue("crews"))}
	err := func() error {
		for _, f := range []struct {
			name string
			into *string
		}{{"scenario_file", &form.Scenario}, {"options_file", &form.Options}} {
			text, err := formFile(r, f.name)
			if err != nil {
				return err
			}
			if text != "" {
				*f.into = text
			}
		}
		req := simrun.Request{Scenario: form.Scenario, Options: form.Options}
		for _, n := range []struct {
			label, s string
			into     *int
		}{{"trials", form.Trials, &req.Trials}, {"crews", form.Crews, &req.Crews}} {
			if n.s == "" {
				continue
			}
			v, err := strconv.Atoi(n.s)
			if err != nil {
				return bulwark.Errorf(bulwark.EINVALID, "%s: %q is not a whole number", n.label, bulwark.Abbrev(n.s, 40))
			}
			*n.into = v
		}
		if form.Seed != "" {
			v, err := strconv.ParseUint(form.Seed, 10, 64)
			if err != nil {
				return bulwark.Errorf(bulwark.EINVALID, "seed: %q is not a whole number from 0 to %d", bulwark.Abbrev(form.Seed, 40), uint64(simrun.MaxSeed))
			}
			req.Seed = v
		}
		run, err := h.sims.Submit(r.Context(), req)
		if err != nil {
			return err
		}
		http.Redirect(w, r, simHref(run.ID), http.StatusSeeOther)
		return nil
	}()
	if err == nil {
		return
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ETOOLARGE, bulwark.EUNAVAILABLE:
		if len(form.Scenario) > bulwark.MaxSimInput {
			form.Scenario = ""
		}
		if len(form.Options) > bulwark.MaxSimInput {
			form.Options = ""
		}
		h.showSimulations(w, r, p, httperr.StatusOf(err), form, problemText(err))
	default:
		h.fail(w, r, p, err)
	}
}

func (h *Handler) simulation(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if len(r.URL.Query()) > 0 {
		h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "This page takes no parameters."))
		return
	}
	h.showSimulation(w, r, p, http.StatusOK, "")
}

func (h *Handler) showSimulation(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, msg string) {
	run, out, err := h.sims.Outcome(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &SimulationPage{Base: h.base(r, p, "simulations", "Simulation "+run.Name), Run: simRow(run), Error: msg,
		Scenario: run.Scenario, Options: run.Options}
	page.Charts = true
	page.CanCancel = page.Run.Active && p.Role.CanWrite() || page.Run.Active && p.System
	if out != nil {
		page.Result = simResultView(out)
	}
	h.render(w, r, status, "simulation", page)
}

// cancelSimulation cancels a run from its page.
func (h *Handler) cancelSimulation(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxFormBytes) {
		return
	}
	if _, err := h.sims.Cancel(r.Context(), r.PathValue("id")); err != nil {
		switch bulwark.ErrorCode(err) {
		case bulwark.EFORBIDDEN, bulwark.ECONFLICT:
			h.showSimulation(w, r, p, httperr.StatusOf(err), bulwark.ErrorMessage(err))
		default:
			h.fail(w, r, p, err)
		}
		return
	}
	http.Redirect(w, r, simHref(r.PathValue("id")), http.StatusSeeOther)
}

// simulationTrace answers the timeline's fetch: one trial's trace.
func (h *Handler) simulationTrace(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	trial := 0
	if err == nil {
		for k, v := range q {
			if k != "trial" || len(v) != 1 {
				err = bulwark.Errorf(bulwark.EINVALID, "unknown or repeated parameter")
				break
			}
		}
	}
	if err == nil && q.Get("trial") != "" {
		if trial, err = strconv.Atoi(q.Get("trial")); err != nil {
			err = bulwark.Errorf(bulwark.EINVALID, "trial: not a number")
		}
	}
	if err == nil {
		var v *simrun.TraceView
		if v, err = h.sims.Trace(r.Context(), r.PathValue("id"), trial); err == nil {
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	status := httperr.StatusOf(err)
	msg := bulwark.ErrorMessage(err)
	if status >= 500 {
		h.log.Error("web: trace", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// --- the result's view --------------------------------------------------

// interval is an estimate with its 95 % interval for the charts.
type interval struct {
	E float64 `json:"e"`
	L float64 `json:"l"`
	H float64 `json:"h"`
}

func toInterval(i *sim.Interval) *interval {
	if i == nil {
		return nil
	}
	return &interval{E: i.Estimate, L: i.Low, H: i.High}
}

func probText(i *sim.Interval) string {
	if i == nil {
		return "–"
	}
	return strconv.FormatFloat(i.Estimate, 'f', 3, 64) + " [" + strconv.FormatFloat(i.Low, 'f', 3, 64) + ", " + strconv.FormatFloat(i.High, 'f', 3, 64) + "]"
}

func hoursText(h float64) string { return strconv.FormatFloat(h, 'g', 4, 64) }

func chartJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// simResultView builds the tables and the charts' data of a finished run.
func simResultView(o *simrun.Outcome) *SimResultView {
	v := &SimResultView{Nodes: o.Nodes, Horizon: hoursText(o.Horizon) + " h", Seconds: strconv.FormatFloat(o.Seconds, 'f', 1, 64)}
	for _, e := range o.Events {
		v.Events = append(v.Events, SimEventRow{Name: e.Name, Nodes: e.Nodes})
	}
	res := o.Result
	if o.Comparison != nil {
		res = o.Comparison.Baseline
		v.Invest = true
	}
	if res == nil {
		return v
	}
	v.Trials, v.Stopped = res.Trials, res.Stopped
	if res.Goal != nil && o.Goal != nil {
		v.Goal = strconv.FormatFloat(o.Goal.Share*100, 'g', 4, 64) + "% of critical services up within " + hoursText(o.Goal.Within) + " h"
		v.GoalProb = probText(res.Goal)
		v.GoalChart = chartJSON(map[string]any{"goal": toInterval(res.Goal)})
	}
	v.Loss = money(res.Loss.Estimate) + " [" + money(res.Loss.Low) + ", " + money(res.Loss.High) + "]"
	v.MeanFailed = strconv.FormatFloat(res.MeanFailed, 'f', 2, 64)
	name := func(id string) string {
		if s, ok := o.Services[id]; ok && s.Name != "" {
			return s.Name
		}
		return id
	}

	// Services, worst first: by expected downtime × population.
	services := slices.Clone(res.Services)
	slices.SortStableFunc(services, func(a, b sim.ServiceResult) int {
		wa, wb := a.MeanDown*float64(o.Services[a.ID].Population), b.MeanDown*float64(o.Services[b.ID].Population)
		return cmp.Or(cmp.Compare(wb, wa), cmp.Compare(b.MeanDown, a.MeanDown), strings.Compare(a.ID, b.ID))
	})
	v.ServicesTotal = len(services)
	for i, s := range services {
		if i == simServiceRows {
			break
		}
		info := o.Services[s.ID]
		row := SimServiceRow{ID: s.ID, Href: entityHref("service", s.ID), Name: name(s.ID), Critical: s.Critical,
			PDown: strconv.FormatFloat(s.PDown, 'f', 3, 64), Mean: hoursText(s.MeanDown), P50: hoursText(s.P50), P90: hoursText(s.P90), P99: hoursText(s.P99),
			RTO: probText(s.RTOHeld), MTD: probText(s.MTDHeld)}
		if info.RTO > 0 {
			row.RTOTarget = hoursText(info.RTO) + " h"
		}
		if info.MTD > 0 {
			row.MTDTarget = hoursText(info.MTD) + " h"
		}
		v.Services = append(v.Services, row)
	}

	// Targets chart: services with a target, least likely to hold first.
	type target struct {
		ID   string    `json:"id"`
		Name string    `json:"name"`
		RTO  *interval `json:"rto"`
		MTD  *interval `json:"mtd"`
	}
	var targets []target
	for _, s := range res.Services {
		if s.RTOHeld != nil || s.MTDHeld != nil {
			targets = append(targets, target{ID: s.ID, Name: name(s.ID), RTO: toInterval(s.RTOHeld), MTD: toInterval(s.MTDHeld)})
		}
	}
	worst := func(t target) float64 {
		w := 2.0
		if t.RTO != nil {
			w = t.RTO.E
		}
		if t.MTD != nil {
			w = min(w, t.MTD.E)
		}
		return w
	}
	slices.SortStableFunc(targets, func(a, b target) int { return cmp.Or(cmp.Compare(worst(a), worst(b)), strings.Compare(a.ID, b.ID)) })
	v.TargetsShown = min(len(targets), simChartRows)
	v.TargetsChart = chartJSON(map[string]any{"services": targets[:v.TargetsShown]})

	// Downtime exceedance of the services with the most expected downtime.
	type curve struct {
		ID     string       `json:"id"`
		Name   string       `json:"name"`
		Points [][2]float64 `json:"points"`
	}
	var curves []curve
	for _, s := range services {
		if len(curves) == simCurveRows {
			break
		}
		if s.PDown == 0 {
			continue
		}
		curves = append(curves, curve{ID: s.ID, Name: name(s.ID), Points: exceedance(s)})
	}
	v.ExceedanceChart = chartJSON(map[string]any{"series": curves, "horizon": o.Horizon})
	v.Curves = len(curves)

	// Contributors.
	type contributor struct {
		ID    string  `json:"id"`
		Share float64 `json:"share"`
		Loss  float64 `json:"loss"`
	}
	var top []contributor
	for _, c := range res.Top {
		top = append(top, contributor{ID: c.ID, Share: c.Share, Loss: c.Loss})
		v.Top = append(v.Top, SimContributorRow{ID: c.ID, Loss: money(c.Loss), Share: percent(c.Share)})
	}
	v.TopChart = chartJSON(map[string]any{"items": top})

	if o.Comparison != nil {
		type ranked struct {
			Name    string    `json:"name"`
			Cost    float64   `json:"cost"`
			Avoided interval  `json:"avoided"`
			Per     *interval `json:"per"`
			Free    bool      `json:"free"`
		}
		var items []ranked
		for i, op := range o.Comparison.Options {
			av := interval{E: op.Avoided.Estimate, L: op.Avoided.Low, H: op.Avoided.High}
			items = append(items, ranked{Name: op.Name, Cost: op.Cost, Avoided: av, Per: toInterval(op.PerCost), Free: op.Free})
			row := SimRankRow{Rank: i + 1, Name: op.Name, Cost: money(op.Cost),
				Avoided: money(av.E) + " [" + money(av.L) + ", " + money(av.H) + "]", Unclear: av.L <= 0 && av.H >= 0}
			switch {
			case op.Free:
				row.PerCost = "free"
			case op.PerCost != nil:
				row.PerCost = num4(op.PerCost.Estimate) + " [" + num4(op.PerCost.Low) + ", " + num4(op.PerCost.High) + "]"
			default:
				row.PerCost = "–"
			}
			v.Ranking = append(v.Ranking, row)
		}
		v.RankingChart = chartJSON(map[string]any{"items": items})
	}
	return v
}

func num4(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// exceedance approximates P(downtime > t) of a service from what the run
// reports: P(down) at 0, and at most 0.5, 0.1 and 0.01 past the P50, P90
// and P99 downtimes (nearest-rank quantiles); the page says so.
func exceedance(s sim.ServiceResult) [][2]float64 {
	pts := [][2]float64{{0, s.PDown}}
	for _, q := range []struct{ t, p float64 }{{s.P50, 0.5}, {s.P90, 0.1}, {s.P99, 0.01}} {
		last := pts[len(pts)-1]
		if q.t > last[0] && q.p < last[1] {
			pts = append(pts, [2]float64{q.t, q.p})
		}
	}
	return pts
}
