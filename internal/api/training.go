package api

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"bulwark"
	"bulwark/internal/training"
)

// training returns the training service over the API's store. It keeps
// no state of its own, so one per request costs nothing.
func (a *API) training() *training.Service { return training.New(a.st, a.log) }

// campaignDTO is the body of POST /api/v1/training/campaigns. The
// organization is the caller's; dates are YYYY-MM-DD.
type campaignDTO struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	Title        string `json:"title"`
	Audience     string `json:"audience"`
	AudienceSize int64  `json:"audience_size"`
	Course       string `json:"course"`
	Start        string `json:"start"`
	Due          string `json:"due"`
}

// completionsDTO is the JSON body of POST …/completions: completions
// entered by hand. Each person is an e-mail address or staff number,
// pseudonymized at once.
type completionsDTO struct {
	Completions []struct {
		Person      string   `json:"person"`
		CompletedAt string   `json:"completed_at"`
		Score       *float64 `json:"score"`
	} `json:"completions"`
}

// reachDTO is the body of POST …/reach.
type reachDTO struct {
	Reach []struct {
		Channel string `json:"channel"`
		People  int64  `json:"people"`
		From    string `json:"from"`
		To      string `json:"to"`
	} `json:"reach"`
}

// forgetDTO is the body of POST /api/v1/training/forget.
type forgetDTO struct {
	Person string `json:"person"`
}

// campaignFilter reads ?org= and ?kind=.
func campaignFilter(r *http.Request, allowed ...string) (bulwark.CampaignFilter, error) {
	q, err := queryValues(r, allowed...)
	if err != nil {
		return bulwark.CampaignFilter{}, err
	}
	f := bulwark.CampaignFilter{Org: q.Get("org"), Kind: bulwark.CampaignKind(q.Get("kind"))}
	if f.Org != "" && !bulwark.ValidID(f.Org) {
		return f, bulwark.Errorf(bulwark.EINVALID, "org %q is not a valid ID", bulwark.Abbrev(f.Org, 64))
	}
	switch f.Kind {
	case "", bulwark.CampaignWorkforce, bulwark.CampaignPhishing, bulwark.CampaignCitizen:
	default:
		return f, bulwark.Errorf(bulwark.EINVALID, "kind %q: use workforce, phishing or citizen", bulwark.Abbrev(string(f.Kind), 40))
	}
	return f, nil
}

func (a *API) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	f, err := campaignFilter(r, "org", "kind")
	if err != nil {
		return err
	}
	vs, err := a.training().List(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": vs})
	return nil
}

func (a *API) createCampaign(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	var body campaignDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	start, err := parseDay("start", body.Start)
	if err != nil {
		return err
	}
	due, err := parseDay("due", body.Due)
	if err != nil {
		return err
	}
	c := &bulwark.Campaign{ID: body.ID, Kind: bulwark.CampaignKind(body.Kind), Title: body.Title, Audience: body.Audience,
		AudienceSize: body.AudienceSize, Course: body.Course, Start: start, Due: due}
	if err := a.training().CreateCampaign(r.Context(), c); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/training/campaigns/"+c.ID)
	writeJSON(w, http.StatusCreated, training.ViewOf(bulwark.CampaignTally{Campaign: *c}, time.Now()))
	return nil
}

func (a *API) getCampaign(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	v, reach, err := a.training().Campaign(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if reach == nil {
		reach = []bulwark.CitizenReach{}
	}
	writeJSON(w, http.StatusOK, struct {
		training.View
		Reach []bulwark.CitizenReach `json:"reach"`
	}{v, reach})
	return nil
}

func (a *API) deleteCampaign(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	if err := a.training().DeleteCampaign(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// importTraining reads a CSV export (text/csv) into a campaign; for
// completions a JSON body (application/json) enters them by hand.
func (a *API) importTraining(kind string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := queryValues(r); err != nil {
			return err
		}
		mt := "text/csv"
		if ct := r.Header.Get("Content-Type"); ct != "" {
			var err error
			if mt, _, err = mime.ParseMediaType(ct); err != nil {
				return bulwark.Errorf(bulwark.EUNSUPPORTED, "malformed Content-Type")
			}
		}
		id := r.PathValue("id")
		switch {
		case mt == "application/json" && kind == training.Completions:
			var body completionsDTO
			if err := a.decodeBody(w, r, &body); err != nil {
				return err
			}
			es := make([]training.Entry, 0, len(body.Completions))
			for i, c := range body.Completions {
				var at time.Time
				if c.CompletedAt != "" {
					var ok bool
					if at, ok = training.ParseTime(c.CompletedAt); !ok {
						return bulwark.Errorf(bulwark.EINVALID, "/completions/%d/completed_at: %q is not a date or time (YYYY-MM-DD or RFC 3339)", i, bulwark.Abbrev(c.CompletedAt, 40))
					}
				}
				es = append(es, training.Entry{Person: c.Person, CompletedAt: at, Score: c.Score})
			}
			res, err := a.training().Record(r.Context(), id, es)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, res)
			return nil
		case mt != "text/csv":
			if kind == training.Completions {
				return bulwark.Errorf(bulwark.EUNSUPPORTED, "Content-Type %s is not supported: send text/csv (an export) or application/json (entries)", bulwark.Abbrev(mt, 60))
			}
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "Content-Type %s is not supported: send text/csv", bulwark.Abbrev(mt, 60))
		}
		if r.ContentLength > training.MaxCSVBytes {
			return bulwark.Errorf(bulwark.ETOOLARGE, "the file is larger than %d MiB; split it", training.MaxCSVBytes>>20)
		}
		release, err := a.acquire(r)
		if err != nil {
			return err
		}
		defer release()
		res, err := a.training().Import(r.Context(), id, kind, "request.csv", r.Body, training.ReadOptions{})
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bulwark.Errorf(bulwark.ETOOLARGE, "the file is larger than %d MiB; split it", training.MaxCSVBytes>>20)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	}
}

func (a *API) addReach(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	var body reachDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	rs := make([]bulwark.CitizenReach, 0, len(body.Reach))
	for i, x := range body.Reach {
		from, err := parseDay("reach/"+strconv.Itoa(i)+"/from", x.From)
		if err != nil {
			return err
		}
		to, err := parseDay("reach/"+strconv.Itoa(i)+"/to", x.To)
		if err != nil {
			return err
		}
		rs = append(rs, bulwark.CitizenReach{Channel: x.Channel, People: x.People, From: from, To: to})
	}
	if err := a.training().AddReach(r.Context(), r.PathValue("id"), rs); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) trainingRates(w http.ResponseWriter, r *http.Request) error {
	f, err := campaignFilter(r, "org", "months")
	if err != nil {
		return err
	}
	months := 12
	if s := r.URL.Query().Get("months"); s != "" {
		if months, err = strconv.Atoi(s); err != nil || months < 1 || months > 120 {
			return bulwark.Errorf(bulwark.EINVALID, "months %q: use 1 to 120", bulwark.Abbrev(s, 20))
		}
	}
	d, err := a.training().Rates(r.Context(), f, months)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) exportTraining(w http.ResponseWriter, r *http.Request) error {
	f, err := campaignFilter(r, "org", "kind")
	if err != nil {
		return err
	}
	vs, err := a.training().List(r.Context(), f)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := training.WriteCSV(&buf, vs); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="training-campaigns.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}

func (a *API) forgetPerson(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	var body forgetDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	n, err := a.training().Forget(r.Context(), "", body.Person)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int64{"removed": n})
	return nil
}
