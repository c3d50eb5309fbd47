package api

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/simrun"
)

// Simulation runs (internal/simrun): submitted here, worked in the
// background by the server's job queue, polled for progress and result.

// maxSimBody caps a submission: a scenario and an options file of
// bulwark.MaxSimInput each, JSON-escaped.
const maxSimBody = 4 * bulwark.MaxSimInput

// simRequestDTO is the body of POST /api/v1/simulations.
type simRequestDTO struct {
	Kind     string `json:"kind"`
	Scenario string `json:"scenario"`
	Options  string `json:"options"`
	Trials   int    `json:"trials"`
	Seed     uint64 `json:"seed"`
	Crews    int    `json:"crews"`
}

// simProgressDTO is how far a run is.
type simProgressDTO struct {
	Done     int64   `json:"done"`
	Total    int64   `json:"total"`
	Fraction float64 `json:"fraction"`
}

// simRunDTO is a run as the API shows it; a single run carries its files
// and, once done, its result.
type simRunDTO struct {
	ID          string          `json:"id"`
	Org         string          `json:"org"`
	SubmittedBy string          `json:"submitted_by"`
	Kind        string          `json:"kind"`
	Name        string          `json:"name"`
	Trials      int             `json:"trials"`
	Seed        uint64          `json:"seed"`
	Crews       int             `json:"crews"`
	Status      string          `json:"status"`
	Progress    simProgressDTO  `json:"progress"`
	Error       string          `json:"error,omitempty"`
	Attempts    int             `json:"attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	Scenario    string          `json:"scenario,omitempty"`
	Options     string          `json:"options,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
}

func toSimRun(r *bulwark.SimRun, whole bool) simRunDTO {
	d := simRunDTO{ID: r.ID, Org: r.Org, SubmittedBy: r.SubmittedBy, Kind: string(r.Kind), Name: r.Name, Trials: r.Trials, Seed: r.Seed,
		Crews: r.Crews, Status: string(r.Status), Progress: simProgressDTO{Done: r.Done, Total: r.Total}, Error: r.Error, Attempts: r.Attempts,
		CreatedAt: r.CreatedAt}
	if r.Total > 0 {
		d.Progress.Fraction = float64(r.Done) / float64(r.Total)
	}
	if !r.StartedAt.IsZero() {
		t := r.StartedAt
		d.StartedAt = &t
	}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt
		d.FinishedAt = &t
	}
	if whole {
		d.Scenario, d.Options = r.Scenario, r.Options
		if r.Status == bulwark.SimDone && json.Valid(r.Result) {
			d.Result = r.Result
		}
	}
	return d
}

func (a *API) submitSimulation(w http.ResponseWriter, r *http.Request) error {
	var body simRequestDTO
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(a.bodyTimeout))
	if err := decodeJSON(r.Body, maxSimBody, &body); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return bulwark.Errorf(bulwark.EINVALID, "request body not received within %v", a.bodyTimeout)
		}
		return err
	}
	run, err := a.sims.Submit(r.Context(), simrun.Request{Kind: bulwark.SimRunKind(body.Kind), Scenario: body.Scenario, Options: body.Options,
		Trials: body.Trials, Seed: body.Seed, Crews: body.Crews})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/simulations/"+run.ID)
	writeJSON(w, http.StatusAccepted, toSimRun(run, false))
	return nil
}

func (a *API) listSimulations(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "status", "limit", "before")
	if err != nil {
		return err
	}
	f := bulwark.SimRunFilter{Before: q.Get("before")}
	if s := q.Get("status"); s != "" {
		for _, st := range strings.Split(s, ",") {
			f.Statuses = append(f.Statuses, bulwark.SimRunStatus(st))
		}
		if len(f.Statuses) > 5 {
			return bulwark.Errorf(bulwark.EINVALID, "status: at most 5 statuses")
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > bulwark.MaxPageSize {
			return bulwark.Errorf(bulwark.EINVALID, "limit %q: use 1 to %d", bulwark.Abbrev(s, 20), bulwark.MaxPageSize)
		}
		f.Limit = n
	}
	if f.Before != "" && !bulwark.ValidID(f.Before) {
		return bulwark.Errorf(bulwark.EINVALID, "before %q is not a simulation ID", bulwark.Abbrev(f.Before, 64))
	}
	runs, err := a.sims.List(r.Context(), f)
	if err != nil {
		return err
	}
	limit := f.Limit
	if limit == 0 {
		limit = bulwark.DefaultPageSize
	}
	items := make([]simRunDTO, 0, len(runs))
	for i := range runs {
		items = append(items, toSimRun(&runs[i], false))
	}
	out := map[string]any{"items": items}
	if len(runs) == limit {
		out["next"] = runs[len(runs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getSimulation(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	run, err := a.sims.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSimRun(run, true))
	return nil
}

func (a *API) cancelSimulation(w http.ResponseWriter, r *http.Request) error {
	run, err := a.sims.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSimRun(run, false))
	return nil
}

func (a *API) traceSimulation(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "trial")
	if err != nil {
		return err
	}
	trial := 0
	if s := q.Get("trial"); s != "" {
		if trial, err = strconv.Atoi(s); err != nil {
			return bulwark.Errorf(bulwark.EINVALID, "trial %q is not a number", bulwark.Abbrev(s, 20))
		}
	}
	v, err := a.sims.Trace(r.Context(), r.PathValue("id"), trial)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
