package web

import (
	"net/http"
	"net/url"
	"time"

	"bulwark"
	"bulwark/internal/httperr"
)

// Notification pages: the notifications of the caller's organization's
// incidents and those addressed to it (/notifications), one with its
// message and delivery log (/notifications/{id}), acknowledging them, and
// the page behind an e-mail's ack link (/ack/{token}), which needs no
// login: the link's token is the credential.

// maxAckForm caps the ack forms (a name at most).
const maxAckForm = 4 << 10

// NotificationRow is one notification in a listing.
type NotificationRow struct {
	ID, Href, Status, Audience, Incident, Org, To, Subject, Channel string
	Created, Due, Sent, Acked, AckBy, Escalated                     string
	Overdue, CanAck                                                 bool
}

// NotificationsPage lists notifications.
type NotificationsPage struct {
	Base
	Items    []NotificationRow
	Status   string
	Statuses []bulwark.NotificationStatus
	Next     string // href of the next page
	Error    string
}

// NotificationPage is one notification.
type NotificationPage struct {
	Base
	N             NotificationRow
	Body          string
	LastError     string
	EscalatedFrom string // href
	Log           []AttemptRow
	Notice, Error string
}

// AttemptRow is one delivery attempt.
type AttemptRow struct {
	Attempt          int
	At, Outcome, Err string
}

// AckPage is the page behind an ack link.
type AckPage struct {
	Base
	Action string
	Done   bool
	At     string
	Error  string
}

func notificationHref(id string) string { return "/notifications/" + url.PathEscape(id) }

// mayAck mirrors the store's rule, to show the button only to those who
// may press it (the store decides).
func mayAck(n *bulwark.Notification, p bulwark.Principal) bool {
	if !n.AckAt.IsZero() || !p.Role.CanWrite() {
		return false
	}
	return p.Org == n.RecipientOrg || (n.RecipientOrg == "" && p.Org == n.Org)
}

func (h *Handler) notificationRow(n *bulwark.Notification, p bulwark.Principal) NotificationRow {
	now := time.Now()
	return NotificationRow{ID: n.ID, Href: notificationHref(n.ID), Status: string(n.Status), Audience: string(n.Audience), Incident: n.IncidentID,
		Org: n.Org, To: n.Address, Subject: n.Subject, Channel: string(n.Channel), Created: formatTime(n.CreatedAt), Due: formatTime(n.DueBy),
		Sent: formatTime(n.SentAt), Acked: formatTime(n.AckAt), AckBy: n.AckBy, Escalated: formatTime(n.EscalatedAt),
		Overdue: n.AckAt.IsZero() && overdue(n.DueBy, now), CanAck: mayAck(n, p)}
}

func (h *Handler) notifications(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	q := r.URL.Query()
	f := bulwark.NotificationFilter{Status: bulwark.NotificationStatus(q.Get("status")), After: q.Get("after"), Limit: 50}
	page := &NotificationsPage{Base: h.base(r, p, "incidents", "Notifications"), Status: string(f.Status), Statuses: bulwark.NotificationStatuses}
	valid := f.Status == ""
	for _, s := range bulwark.NotificationStatuses {
		valid = valid || s == f.Status
	}
	if !valid || (f.After != "" && !bulwark.ValidID(f.After)) || len(q.Get("status")) > 40 {
		h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "Unknown status or page."))
		return
	}
	list, err := h.notify.List(r.Context(), f)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	for i := range list.Items {
		page.Items = append(page.Items, h.notificationRow(&list.Items[i], p))
	}
	if list.Next != "" {
		v := url.Values{"after": {list.Next}}
		if f.Status != "" {
			v.Set("status", string(f.Status))
		}
		page.Next = "/notifications?" + v.Encode()
	}
	h.render(w, r, http.StatusOK, "notifications", page)
}

func (h *Handler) notificationPage(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	h.showNotification(w, r, p, http.StatusOK, "", "")
}

func (h *Handler) showNotification(w http.ResponseWriter, r *http.Request, p bulwark.Principal, status int, notice, msg string) {
	id := r.PathValue("id")
	if len(id) > maxParam {
		h.fail(w, r, p, bulwark.Errorf(bulwark.ENOTFOUND, "There is no notification %s.", "with that ID"))
		return
	}
	d, err := h.notify.Find(r.Context(), id)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page := &NotificationPage{Base: h.base(r, p, "incidents", "Notification"), N: h.notificationRow(&d.Notification, p), Body: d.Body,
		LastError: d.LastError, Notice: notice, Error: msg}
	if d.EscalatedFrom != "" {
		page.EscalatedFrom = notificationHref(d.EscalatedFrom)
	}
	if r.URL.Query().Get("acked") != "" && notice == "" {
		page.Notice = "Acknowledged."
	}
	for _, a := range d.Log {
		page.Log = append(page.Log, AttemptRow{Attempt: a.Attempt, At: formatTime(a.At), Outcome: a.Outcome, Err: a.Error})
	}
	h.render(w, r, status, "notification", page)
}

func (h *Handler) ackNotification(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxAckForm) {
		return
	}
	id := r.PathValue("id")
	if _, err := h.notify.Ack(r.Context(), id); err != nil {
		switch bulwark.ErrorCode(err) {
		case bulwark.EFORBIDDEN, bulwark.ECONFLICT:
			h.showNotification(w, r, p, httperr.StatusOf(err), "", bulwark.ErrorMessage(err))
		default:
			h.fail(w, r, p, err)
		}
		return
	}
	if r.PostFormValue("back") == "list" {
		http.Redirect(w, r, "/notifications", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, notificationHref(id)+"?acked=1", http.StatusSeeOther)
}

// ackLink shows the form behind an e-mail's ack link. It reveals nothing
// about the notification, and changes nothing: link scanners fetch links
// with GET.
func (h *Handler) ackLink(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "ack", &AckPage{Base: Base{Title: "Acknowledge a notification"}, Action: "/ack/" + url.PathEscape(r.PathValue("token"))})
}

// ackLinkPost acknowledges through the link's token.
func (h *Handler) ackLinkPost(w http.ResponseWriter, r *http.Request) {
	page := &AckPage{Base: Base{Title: "Acknowledge a notification"}, Action: "/ack/" + url.PathEscape(r.PathValue("token"))}
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "cross-origin request rejected", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAckForm)
	if err := r.ParseForm(); err != nil {
		page.Error = "The form is malformed or too large."
		h.render(w, r, http.StatusBadRequest, "ack", page)
		return
	}
	n, err := h.notify.AckByToken(r.Context(), r.PathValue("token"), r.PostFormValue("name"))
	if err != nil {
		status := httperr.StatusOf(err)
		switch bulwark.ErrorCode(err) {
		case bulwark.ENOTFOUND, bulwark.ECONFLICT:
			page.Error = bulwark.ErrorMessage(err)
		default:
			h.log.Error("web: ack link", "err", err)
			page.Error = "Something went wrong on our side. Please try again later."
		}
		h.render(w, r, status, "ack", page)
		return
	}
	page.Done, page.At = true, formatTime(n.AckAt)
	h.render(w, r, http.StatusOK, "ack", page)
}
