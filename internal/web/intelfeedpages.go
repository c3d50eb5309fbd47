package web

import (
	"net/http"
	"time"

	"bulwark"
	"bulwark/internal/httperr"
)

// Intel feeds: the organization's subscriptions to partners' TAXII
// collections, with where each stands, and a "pull now" button for the
// organization's administrators.

// IntelFeedsPage lists the subscriptions.
type IntelFeedsPage struct {
	Base
	Items     []IntelFeedRow
	CanManage bool // administrators may pull now
	Notice    string
	Error     string
}

// IntelFeedRow is one subscription.
type IntelFeedRow struct {
	ID, Name, Server, Collection, Target string
	Status                               string // ok, failing, pending, paused
	LastSuccess, NextPull, Cursor        string
	LastError                            string
	Failures                             int
	Imported                             int64
	LastCount, LastRejected              int
}

func feedTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// intelFeeds renders the list.
func (h *Handler) intelFeeds(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	page := &IntelFeedsPage{Base: h.base(r, p, "intel-feeds", "Intel feeds"), CanManage: p.Role == bulwark.RoleAdmin}
	switch q := r.URL.Query(); {
	case q.Get("queued") != "":
		page.Notice = "Pull queued: the feed is pulled within seconds."
	case q.Get("busy") != "":
		page.Notice = "A pull of this feed is already queued or running."
	}
	h.showIntelFeeds(w, r, p, page, http.StatusOK)
}

func (h *Handler) showIntelFeeds(w http.ResponseWriter, r *http.Request, p bulwark.Principal, page *IntelFeedsPage, status int) {
	fs, err := h.intelFeedSvc.List(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	for i := range fs {
		f := &fs[i]
		page.Items = append(page.Items, IntelFeedRow{ID: f.ID, Name: f.Name, Server: f.ServerURL, Collection: f.Collection, Target: f.Target,
			Status: f.Status(), LastSuccess: feedTime(f.LastSuccess), NextPull: feedTime(f.NextPull), Cursor: feedTime(f.AddedAfter),
			LastError: f.LastError, Failures: f.Failures, Imported: f.Imported, LastCount: f.LastCount, LastRejected: f.LastRejected})
	}
	h.render(w, r, status, "intelfeeds", page)
}

// pullIntelFeed queues a pull (administrators of the owning
// organization; the service checks).
func (h *Handler) pullIntelFeed(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxFormBytes) {
		return
	}
	queued, err := h.intelFeedSvc.PullNow(r.Context(), r.PathValue("id"))
	switch code := bulwark.ErrorCode(err); {
	case err == nil && queued:
		http.Redirect(w, r, "/intel/feeds?queued=1", http.StatusSeeOther)
	case err == nil:
		http.Redirect(w, r, "/intel/feeds?busy=1", http.StatusSeeOther)
	case code == bulwark.EFORBIDDEN || code == bulwark.EUNAVAILABLE:
		page := &IntelFeedsPage{Base: h.base(r, p, "intel-feeds", "Intel feeds"), CanManage: p.Role == bulwark.RoleAdmin, Error: bulwark.ErrorMessage(err)}
		h.showIntelFeeds(w, r, p, page, httperr.StatusOf(err))
	default:
		h.fail(w, r, p, err)
	}
}
