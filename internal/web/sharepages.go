package web

import (
	"net/http"
	"net/url"
	"strings"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/datasrc"
)

// Share: publishing Bulwark's own data (sharing.FromData) from the pages
// that show it — the advisories, a summary of the open findings, an
// incident. The "Share…" form asks for a collection the caller's
// organization may write and a marking (AMBER+STRICT, the conservative
// choice, is the only one preselected, as on /intel), and shows what the
// publication did. The sharing service checks rights, markings and
// audiences; this file decides nothing about them.

// maxShareFormBytes caps the share form.
const maxShareFormBytes = 16 << 10

// SharePage is the "Share…" form and, after a publication, its result.
type SharePage struct {
	Base
	What        string // what is published, for people
	Action      string // the form's URL
	Back        string // the page the form was opened from
	Collections []sharing.CollectionView
	Markings    []TLPBadge
	Collection  string
	Marking     bulwark.TLP
	Orgs        string
	CanPublish  bool
	Result      *sharing.BulkResult
	Error       string
}

func (h *Handler) shareRoutes() {
	h.mux.Handle("GET /share/advisories", h.user(h.shareForm))
	h.mux.Handle("POST /share/advisories", h.user(h.share))
	h.mux.Handle("GET /share/findings", h.user(h.shareForm))
	h.mux.Handle("POST /share/findings", h.user(h.share))
	h.mux.Handle("GET /share/incidents/{id}", h.user(h.shareForm))
	h.mux.Handle("POST /share/incidents/{id}", h.user(h.share))
}

// sharePublish publishes what one share form is about.
type sharePublish func(fd *sharing.FromData, r *http.Request, col string, m bulwark.TLP, orgs []string) (*sharing.BulkResult, error)

// shareTarget describes the request's share form: what it publishes, from
// which page, and how. An incident the caller does not see is not found.
func (h *Handler) shareTarget(r *http.Request, p bulwark.Principal) (page *SharePage, publish sharePublish, err error) {
	page = &SharePage{Base: h.base(r, p, "", "Share"), Action: r.URL.Path, Marking: bulwark.DefaultTLP, CanPublish: p.System || p.Role.CanWrite()}
	switch {
	case r.URL.Path == "/share/advisories":
		page.What, page.Back, page.Base.Nav = "your organization's current advisories (vulnerability, what to do and by when; no assets or services)", "/advisories", "vulns"
		publish = func(fd *sharing.FromData, r *http.Request, col string, m bulwark.TLP, orgs []string) (*sharing.BulkResult, error) {
			return fd.PublishAdvisories(r.Context(), col, m, orgs...)
		}
	case r.URL.Path == "/share/findings":
		page.What, page.Back, page.Base.Nav = "a summary of your organization's open findings this month (counts by SSVC decision, CVSS severity and KEV status; no assets, hosts or CVE ids)", "/findings", "vulns"
		publish = func(fd *sharing.FromData, r *http.Request, col string, m bulwark.TLP, orgs []string) (*sharing.BulkResult, error) {
			return fd.PublishFindingsSummary(r.Context(), col, m, orgs...)
		}
	default:
		inc, err := h.incidents.Find(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, nil, err
		}
		page.What = "the incident \u201c" + inc.Title + "\u201d (title, phase, severity and affected service names; no systems, assets, parties or notes)"
		page.Back, page.Base.Nav = "/incidents/"+url.PathEscape(inc.ID), "incidents"
		id := inc.ID
		publish = func(fd *sharing.FromData, r *http.Request, col string, m bulwark.TLP, orgs []string) (*sharing.BulkResult, error) {
			return fd.PublishIncident(r.Context(), id, col, m, orgs...)
		}
	}
	page.Title = "Share " + strings.SplitN(page.What, " (", 2)[0]
	for _, m := range bulwark.TLPs {
		page.Markings = append(page.Markings, badge(m))
	}
	cols, err := h.sharing.ListCollections(r.Context())
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cols {
		if c.CanWrite {
			page.Collections = append(page.Collections, c)
		}
	}
	return page, publish, nil
}

func (h *Handler) shareForm(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	page, _, err := h.shareTarget(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "share", page)
}

// share publishes with the form's collection, marking and recipients and
// shows the result; a refused publication shows the form again with the
// reason (and what was done, if anything).
func (h *Handler) share(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxShareFormBytes) {
		return
	}
	page, publish, err := h.shareTarget(r, p)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	page.Collection, page.Marking, page.Orgs = r.PostFormValue("collection"), bulwark.TLP(r.PostFormValue("marking")), r.PostFormValue("orgs")
	status := http.StatusOK
	res, err := h.sharePost(r, page, publish)
	if res != nil && (err == nil || len(res.Objects) > 0 || len(res.Refused) > 0) {
		page.Result = res // what was done, even when refused in part
	}
	if err != nil {
		switch bulwark.ErrorCode(err) {
		case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT, bulwark.ENOTFOUND:
			page.Error = bulwark.ErrorMessage(err)
			status = http.StatusUnprocessableEntity
		default:
			h.fail(w, r, p, err)
			return
		}
	}
	h.render(w, r, status, "share", page)
}

func (h *Handler) sharePost(r *http.Request, page *SharePage, publish sharePublish) (*sharing.BulkResult, error) {
	if !page.CanPublish {
		return nil, bulwark.Errorf(bulwark.EFORBIDDEN, "your role (%s) may not publish", page.Role)
	}
	if page.Collection == "" {
		return nil, bulwark.Errorf(bulwark.EINVALID, "choose a collection")
	}
	if page.Marking == "" {
		return nil, bulwark.Errorf(bulwark.EINVALID, "choose a TLP marking")
	}
	m, ok := bulwark.ParseTLP(string(page.Marking))
	if !ok {
		return nil, bulwark.Errorf(bulwark.EINVALID, "marking %q: choose clear, green, amber, amber+strict or red", bulwark.Truncate(string(page.Marking), 40))
	}
	orgs := strings.FieldsFunc(page.Orgs, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	fd := datasrc.New(h.st, h.sharing, h.vulns, h.incidents, "")
	return publish(fd, r, page.Collection, m, orgs)
}
