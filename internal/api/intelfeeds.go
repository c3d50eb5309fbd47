package api

import (
	"net/http"
	"time"

	"bulwark"
	"bulwark/internal/intelfeed"
)

// Intel feeds (internal/intelfeed): an organization's subscriptions to
// partners' TAXII 2.1 collections. Members of the owning organization read
// them; its administrators add, change, remove and pull them. Passwords
// and tokens go in and never come out.

// feedRoutes are the routes of this file.
func (a *API) feedRoutes() []route {
	return []route{
		{"GET /api/v1/intel/feeds", reader, a.listIntelFeeds},
		{"POST /api/v1/intel/feeds", admin, a.createIntelFeed},
		{"GET /api/v1/intel/feeds/{id}", reader, a.getIntelFeed},
		{"PUT /api/v1/intel/feeds/{id}", admin, a.updateIntelFeed},
		{"DELETE /api/v1/intel/feeds/{id}", admin, a.deleteIntelFeed},
		{"POST /api/v1/intel/feeds/{id}/pull", admin, a.pullIntelFeed},
	}
}

// feedInputDTO is the body of POST and PUT: a subscription's settings
// and, write-only, its password or token.
type feedInputDTO struct {
	Name            string `json:"name"`
	Description     string `json:"description"`
	ServerURL       string `json:"server_url"`
	APIRoot         string `json:"api_root"`
	Collection      string `json:"collection"`
	Target          string `json:"target"`
	Auth            string `json:"auth"`
	Username        string `json:"username"`
	Password        string `json:"password"`
	Token           string `json:"token"`
	CACert          string `json:"ca_cert"`
	MinMarking      string `json:"min_marking"`
	IntervalSeconds int64  `json:"interval_seconds"`
	Paused          bool   `json:"paused"`
}

func (d *feedInputDTO) input() (intelfeed.Input, error) {
	if d.IntervalSeconds < 0 || d.IntervalSeconds > int64(bulwark.MaxIntelFeedInterval/time.Second) {
		return intelfeed.Input{}, bulwark.Errorf(bulwark.EINVALID, "interval_seconds: use %d to %d", int64(bulwark.MinIntelFeedInterval/time.Second), int64(bulwark.MaxIntelFeedInterval/time.Second))
	}
	auth := bulwark.FeedAuth(d.Auth)
	if auth == "" {
		auth = bulwark.FeedAuthNone
	}
	m := bulwark.TLP(d.MinMarking)
	if d.MinMarking != "" {
		var ok bool
		if m, ok = bulwark.ParseTLP(d.MinMarking); !ok {
			return intelfeed.Input{}, bulwark.Errorf(bulwark.EINVALID, "min_marking %q: use clear, green, amber, amber+strict or red", bulwark.Abbrev(d.MinMarking, 40))
		}
	}
	return intelfeed.Input{Name: d.Name, Description: d.Description, ServerURL: d.ServerURL, APIRoot: d.APIRoot, Collection: d.Collection,
		Target: d.Target, Auth: auth, Username: d.Username, Password: d.Password, Token: d.Token, CACert: d.CACert, MinMarking: m,
		Interval: time.Duration(d.IntervalSeconds) * time.Second, Paused: d.Paused}, nil
}

// feedDTO is a subscription as the API shows it: no secret, ever.
type feedDTO struct {
	ID              string     `json:"id"`
	Org             string     `json:"org"`
	Name            string     `json:"name"`
	Description     string     `json:"description,omitempty"`
	ServerURL       string     `json:"server_url"`
	APIRoot         string     `json:"api_root,omitempty"`
	Collection      string     `json:"collection"`
	Target          string     `json:"target"`
	Auth            string     `json:"auth"`
	Username        string     `json:"username,omitempty"`
	HasSecret       bool       `json:"has_secret"`
	CACert          string     `json:"ca_cert,omitempty"`
	MinMarking      string     `json:"min_marking,omitempty"`
	IntervalSeconds int64      `json:"interval_seconds"`
	Paused          bool       `json:"paused"`
	Status          string     `json:"status"`
	AddedAfter      *time.Time `json:"added_after,omitempty"`
	LastAttempt     *time.Time `json:"last_attempt,omitempty"`
	LastSuccess     *time.Time `json:"last_success,omitempty"`
	NextPull        *time.Time `json:"next_pull,omitempty"`
	LastError       string     `json:"last_error,omitempty"`
	Failures        int        `json:"failures"`
	Imported        int64      `json:"imported"`
	LastCount       int        `json:"last_count"`
	LastRejected    int        `json:"last_rejected"`
	CreatedBy       int64      `json:"created_by,omitempty"`
	CreatedByName   string     `json:"created_by_name,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toFeed(f *bulwark.IntelFeed) feedDTO {
	return feedDTO{ID: f.ID, Org: f.Org, Name: f.Name, Description: f.Description, ServerURL: f.ServerURL, APIRoot: f.APIRoot,
		Collection: f.Collection, Target: f.Target, Auth: string(f.Auth), Username: f.Username, HasSecret: f.HasSecret, CACert: f.CACert,
		MinMarking: string(f.MinMarking), IntervalSeconds: int64(f.Interval / time.Second), Paused: f.Paused, Status: f.Status(),
		AddedAfter: timePtr(f.AddedAfter), LastAttempt: timePtr(f.LastAttempt), LastSuccess: timePtr(f.LastSuccess), NextPull: timePtr(f.NextPull),
		LastError: f.LastError, Failures: f.Failures, Imported: f.Imported, LastCount: f.LastCount, LastRejected: f.LastRejected,
		CreatedBy: f.CreatedBy, CreatedByName: f.CreatedByName, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
}

func (a *API) listIntelFeeds(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	fs, err := a.feeds.List(r.Context())
	if err != nil {
		return err
	}
	items := make([]feedDTO, 0, len(fs))
	for i := range fs {
		items = append(items, toFeed(&fs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (a *API) getIntelFeed(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	f, err := a.feeds.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFeed(f))
	return nil
}

func (a *API) createIntelFeed(w http.ResponseWriter, r *http.Request) error {
	var body feedInputDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	f, err := a.feeds.Add(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/intel/feeds/"+f.ID)
	writeJSON(w, http.StatusCreated, toFeed(f))
	return nil
}

func (a *API) updateIntelFeed(w http.ResponseWriter, r *http.Request) error {
	// Resolve the feed first: a hidden one answers like a missing one
	// whatever the body.
	if _, err := a.feeds.Find(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	var body feedInputDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	in, err := body.input()
	if err != nil {
		return err
	}
	f, err := a.feeds.Update(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toFeed(f))
	return nil
}

func (a *API) deleteIntelFeed(w http.ResponseWriter, r *http.Request) error {
	if err := a.feeds.Remove(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) pullIntelFeed(w http.ResponseWriter, r *http.Request) error {
	queued, err := a.feeds.PullNow(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	msg := "pull queued"
	if !queued {
		msg = "a pull of this feed is already queued or running"
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": queued, "message": msg})
	return nil
}
