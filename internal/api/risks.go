package api

import (
	"net/http"
	"strconv"
	"time"

	"bulwark"
	"bulwark/internal/attack"
)

// riskDTO is the body of POST /api/v1/risks: the fields of a risk that a
// client sets. Dates are YYYY-MM-DD strings; the owner is the caller's
// organization, and revision, author and times are the store's.
type riskDTO struct {
	ID             string        `json:"id"`
	Title          string        `json:"title"`
	Scenario       string        `json:"scenario"`
	Techniques     []string      `json:"techniques"`
	Services       []string      `json:"services"`
	Systems        []string      `json:"systems"`
	Likelihood     int           `json:"likelihood"`
	Impact         int           `json:"impact"`
	Frequency      bulwark.Range `json:"frequency"`
	Loss           bulwark.Range `json:"loss"`
	Treatment      string        `json:"treatment"`
	TreatmentOwner string        `json:"treatment_owner"`
	TreatmentPlan  string        `json:"treatment_plan"`
	Due            string        `json:"due"`
	Status         string        `json:"status"`
	AcceptedBy     string        `json:"accepted_by"`
	AcceptedUntil  string        `json:"accepted_until"`
	Findings       []string      `json:"findings"`
	Gaps           []string      `json:"gaps"`
}

// riskUpdateDTO is the body of PUT /api/v1/risks/{id}: the whole risk as
// it should be, the revision the change was based on, and an optional note
// for the history.
// (The strict decoder does not flatten embedded structs, so the fields
// are repeated.)
type riskUpdateDTO struct {
	ID             string        `json:"id"`
	Title          string        `json:"title"`
	Scenario       string        `json:"scenario"`
	Techniques     []string      `json:"techniques"`
	Services       []string      `json:"services"`
	Systems        []string      `json:"systems"`
	Likelihood     int           `json:"likelihood"`
	Impact         int           `json:"impact"`
	Frequency      bulwark.Range `json:"frequency"`
	Loss           bulwark.Range `json:"loss"`
	Treatment      string        `json:"treatment"`
	TreatmentOwner string        `json:"treatment_owner"`
	TreatmentPlan  string        `json:"treatment_plan"`
	Due            string        `json:"due"`
	Status         string        `json:"status"`
	AcceptedBy     string        `json:"accepted_by"`
	AcceptedUntil  string        `json:"accepted_until"`
	Findings       []string      `json:"findings"`
	Gaps           []string      `json:"gaps"`
	Rev            int           `json:"rev"`
	Note           string        `json:"note"`
}

func (d *riskUpdateDTO) risk() riskDTO {
	return riskDTO{ID: d.ID, Title: d.Title, Scenario: d.Scenario, Techniques: d.Techniques, Services: d.Services, Systems: d.Systems,
		Likelihood: d.Likelihood, Impact: d.Impact, Frequency: d.Frequency, Loss: d.Loss, Treatment: d.Treatment,
		TreatmentOwner: d.TreatmentOwner, TreatmentPlan: d.TreatmentPlan, Due: d.Due, Status: d.Status,
		AcceptedBy: d.AcceptedBy, AcceptedUntil: d.AcceptedUntil, Findings: d.Findings, Gaps: d.Gaps}
}

// parseDay reads an optional YYYY-MM-DD date of field.
func parseDay(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, bulwark.Errorf(bulwark.EINVALID, "/%s: %q is not a date; use YYYY-MM-DD", field, bulwark.Abbrev(s, 40))
	}
	// Year 1 would read back as "no date".
	if t.Year() < 1900 {
		return time.Time{}, bulwark.Errorf(bulwark.EINVALID, "/%s: %s is before 1900", field, s)
	}
	return t, nil
}

// toRisk turns the body into a risk.
func (d *riskDTO) toRisk() (*bulwark.Risk, error) {
	due, err := parseDay("due", d.Due)
	if err != nil {
		return nil, err
	}
	until, err := parseDay("accepted_until", d.AcceptedUntil)
	if err != nil {
		return nil, err
	}
	return &bulwark.Risk{ID: d.ID, Title: d.Title, Scenario: d.Scenario, Techniques: d.Techniques, Services: d.Services, Systems: d.Systems,
		Likelihood: d.Likelihood, Impact: d.Impact, Frequency: d.Frequency, Loss: d.Loss,
		Treatment: bulwark.Treatment(d.Treatment), TreatmentOwner: d.TreatmentOwner, TreatmentPlan: d.TreatmentPlan, Due: due,
		Status: bulwark.RiskStatus(d.Status), AcceptedBy: d.AcceptedBy, AcceptedUntil: until, Findings: d.Findings, Gaps: d.Gaps}, nil
}

// riskFilter reads ?owner=, ?status= and ?service= (those allowed).
func riskFilter(r *http.Request, allowed ...string) (bulwark.RiskFilter, error) {
	q, err := queryValues(r, allowed...)
	if err != nil {
		return bulwark.RiskFilter{}, err
	}
	f := bulwark.RiskFilter{Owner: q.Get("owner"), Service: q.Get("service"), Status: bulwark.RiskStatus(q.Get("status"))}
	for name, v := range map[string]string{"owner": f.Owner, "service": f.Service} {
		if v != "" && !bulwark.ValidID(v) {
			return f, bulwark.Errorf(bulwark.EINVALID, "%s %q is not a valid ID", name, bulwark.Abbrev(v, 64))
		}
	}
	switch f.Status {
	case "", bulwark.RiskIdentified, bulwark.RiskTreating, bulwark.RiskAccepted, bulwark.RiskTransferred, bulwark.RiskClosed:
	default:
		return f, bulwark.Errorf(bulwark.EINVALID, "status %q: use identified, treating, accepted, transferred or closed", bulwark.Abbrev(string(f.Status), 40))
	}
	return f, nil
}

func (a *API) listRisks(w http.ResponseWriter, r *http.Request) error {
	f, err := riskFilter(r, "owner", "status", "service")
	if err != nil {
		return err
	}
	list, err := a.rs.List(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

func (a *API) createRisk(w http.ResponseWriter, r *http.Request) error {
	var body riskDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	rk, err := body.toRisk()
	if err != nil {
		return err
	}
	v, err := a.rs.Create(r.Context(), rk)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/risks/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (a *API) getRisk(w http.ResponseWriter, r *http.Request) error {
	v, err := a.rs.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) updateRisk(w http.ResponseWriter, r *http.Request) error {
	var body riskUpdateDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	d := body.risk()
	rk, err := d.toRisk()
	if err != nil {
		return err
	}
	if body.ID != "" && body.ID != r.PathValue("id") {
		return bulwark.Errorf(bulwark.EINVALID, "/id: %q differs from the risk in the path", bulwark.Abbrev(body.ID, 128))
	}
	rk.ID, rk.Rev = r.PathValue("id"), body.Rev
	v, err := a.rs.Update(r.Context(), rk, body.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) riskHistory(w http.ResponseWriter, r *http.Request) error {
	h, err := a.st.RiskHistory(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if h == nil {
		h = []bulwark.RiskEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h})
	return nil
}

func (a *API) riskHeatmap(w http.ResponseWriter, r *http.Request) error {
	f, err := riskFilter(r, "owner")
	if err != nil {
		return err
	}
	h, err := a.rs.Heat(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

// Bounds of ?trials= of the analysis route: enough for stable tails,
// little enough that one request stays well under a second per risk.
const (
	defaultTrials = 10_000
	maxAPITrials  = 100_000
)

// riskAnalysis runs the Monte Carlo analysis of the open risks the caller
// sees. It is CPU-bound, so it shares the slots of other heavy routes.
func (a *API) riskAnalysis(w http.ResponseWriter, r *http.Request) error {
	f, err := riskFilter(r, "owner", "trials", "seed")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	trials, seed := defaultTrials, uint64(1)
	if s := q.Get("trials"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAPITrials {
			return bulwark.Errorf(bulwark.EINVALID, "trials must be an integer from 1 to %d", maxAPITrials)
		}
		trials = n
	}
	if s := q.Get("seed"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return bulwark.Errorf(bulwark.EINVALID, "seed must be a non-negative integer below 2^64")
		}
		seed = n
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	res, err := a.rs.Analyze(r.Context(), f, trials, seed)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) listTechniques(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": attack.ICS()})
	return nil
}
