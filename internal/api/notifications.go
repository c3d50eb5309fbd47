package api

import (
	"net/http"
	"strconv"

	"bulwark"
)

// Notifications (internal/notify): the caller's organization sees the
// notifications of its incidents and those addressed to it; the recipient
// acknowledges.

// notificationFilter reads ?status=&incident=&audience=&limit=&after=.
func notificationFilter(r *http.Request) (bulwark.NotificationFilter, error) {
	q, err := queryValues(r, "status", "incident", "audience", "limit", "after")
	if err != nil {
		return bulwark.NotificationFilter{}, err
	}
	f := bulwark.NotificationFilter{Status: bulwark.NotificationStatus(q.Get("status")), Incident: q.Get("incident"),
		Audience: bulwark.NotifyAudience(q.Get("audience")), After: q.Get("after")}
	if f.Status != "" && !validStatus(f.Status) {
		return f, bulwark.Errorf(bulwark.EINVALID, "status %q: use pending, sent, failed, acknowledged or escalated", bulwark.Abbrev(string(f.Status), 40))
	}
	if f.Audience != "" && f.Audience.Level() < 0 {
		return f, bulwark.Errorf(bulwark.EINVALID, "audience %q: use internal, partner, cert, isac or public", bulwark.Abbrev(string(f.Audience), 40))
	}
	if f.Incident != "" && !bulwark.ValidID(f.Incident) {
		return f, bulwark.Errorf(bulwark.EINVALID, "incident %q is not a valid ID", bulwark.Abbrev(f.Incident, 64))
	}
	if f.After != "" && !bulwark.ValidID(f.After) {
		return f, bulwark.Errorf(bulwark.EINVALID, "after %q is not a notification ID", bulwark.Abbrev(f.After, 64))
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > bulwark.MaxPageSize {
			return f, bulwark.Errorf(bulwark.EINVALID, "limit must be an integer from 1 to %d", bulwark.MaxPageSize)
		}
		f.Limit = n
	}
	return f, nil
}

func validStatus(s bulwark.NotificationStatus) bool {
	for _, x := range bulwark.NotificationStatuses {
		if x == s {
			return true
		}
	}
	return false
}

func (a *API) listNotifications(w http.ResponseWriter, r *http.Request) error {
	f, err := notificationFilter(r)
	if err != nil {
		return err
	}
	p, err := a.ns.List(r.Context(), f)
	if err != nil {
		return err
	}
	items := p.Items
	if items == nil {
		items = []bulwark.Notification{}
	}
	out := map[string]any{"items": items}
	if p.Next != "" {
		out["next"] = p.Next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getNotification(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	d, err := a.ns.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// ackDTO is the optional body of an acknowledgement.
type ackDTO struct{}

func (a *API) ackNotification(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	// The body is optional; when there is one it must be an empty object.
	if r.ContentLength != 0 {
		var body ackDTO
		if err := a.decodeBody(w, r, &body); err != nil {
			return err
		}
	}
	n, err := a.ns.Ack(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

// notificationMatrix returns the matrix in effect (rules and the file's
// templates; webhook secrets appear by name only). It names every
// recipient of the city's plan, so only administrators of a city
// organization read it.
func (a *API) notificationMatrix(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	if err := bulwark.AuthorizeCityAdmin(r.Context(), a.st, "read the notification matrix"); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.ns.Matrix().Doc())
	return nil
}
