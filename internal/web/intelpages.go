package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/httperr"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// Intel: the communities the caller's organization belongs to, their
// collections, and the objects the caller may see, with a publish form.
// Every read and write goes through sharing.Service, which alone applies
// the TLP rule (sharing.CanSee): this file never filters by marking itself.

// intelPageSize is the number of objects per page.
const intelPageSize = 50

// maxPublishBytes caps the publish form (a pasted STIX object may be up to
// the service's 1 MiB limit, plus the other fields).
const maxPublishBytes = 1<<20 + 16<<10

// IntelPage is the intel view of one collection.
type IntelPage struct {
	Base
	Communities []bulwark.Community
	Collections []sharing.CollectionView
	Current     *sharing.CollectionView // the collection shown, nil if none
	Objects     []IntelRow
	Next        string // cursor of the following page
	Markings    []TLPBadge
	Form        IntelForm
	Error       string
}

// IntelRow is one object the caller may see.
type IntelRow struct {
	ID, Type, Name, Publisher, Modified, Added string
	Marking                                    TLPBadge
}

// TLPBadge is a TLP marking as shown: its value, label and CSS class.
type TLPBadge struct {
	Value        bulwark.TLP
	Label, Class string
}

func badge(t bulwark.TLP) TLPBadge {
	return TLPBadge{Value: t, Label: "TLP:" + strings.ToUpper(string(t)), Class: "tlp tlp-" + strings.ReplaceAll(string(t), "+", "-")}
}

// IntelForm is the publish form's values, kept when it is refused.
type IntelForm struct {
	Kind, Name, Pattern, Content, Description, Refs, STIX string
	Marking                                               bulwark.TLP
	Orgs, Users                                           string
}

// IntelObjectPage shows one object.
type IntelObjectPage struct {
	Base
	Collection *sharing.CollectionView
	Row        IntelRow
	JSON       string
	Published  bool
}

func (h *Handler) intelRoutes() {
	h.mux.Handle("GET /intel", h.user(h.intel))
	h.mux.Handle("GET /intel/objects/{collection}/{id}", h.user(h.intelObject))
	h.mux.Handle("POST /intel/collections/{collection}/publish", h.user(h.publishIntel))
}

// intelName is an object's name (or a note's abstract) for listing.
func intelName(body []byte) string {
	var v struct{ Name, Abstract, Content string }
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	s := v.Name
	if s == "" {
		s = v.Abstract
	}
	if s == "" {
		s = v.Content
	}
	return bulwark.Truncate(s, 200)
}

func intelRow(it *sharing.Item) IntelRow {
	return IntelRow{ID: it.STIXID, Type: it.Type, Name: intelName(it.Body), Publisher: it.Publisher, Marking: badge(it.Marking),
		Modified: feedTime(it.Version), Added: feedTime(it.DateAdded)}
}

func (h *Handler) intel(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	page := &IntelPage{Base: h.base(r, p, "intel", "Intel"), Form: IntelForm{Kind: "indicator", Marking: bulwark.DefaultTLP}}
	h.showIntel(w, r, p, page, r.URL.Query().Get("c"), r.URL.Query().Get("next"), http.StatusOK)
}

// showIntel lists the caller's communities and collections and one page
// of the chosen collection (default: the first the caller may read).
func (h *Handler) showIntel(w http.ResponseWriter, r *http.Request, p bulwark.Principal, page *IntelPage, col, next string, status int) {
	ctx := r.Context()
	var err error
	for _, m := range bulwark.TLPs {
		page.Markings = append(page.Markings, badge(m))
	}
	if page.Communities, err = h.sharing.ListCommunities(ctx); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if page.Collections, err = h.sharing.ListCollections(ctx); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if col == "" {
		for i := range page.Collections {
			if page.Collections[i].CanRead {
				col = page.Collections[i].ID
				break
			}
		}
	}
	if col == "" {
		h.render(w, r, status, "intel", page)
		return
	}
	if page.Current, err = h.sharing.FindCollection(ctx, col); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if page.Current.CanRead {
		res, err := h.sharing.Objects(ctx, page.Current.ID, sharing.Query{Limit: intelPageSize}, next)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for i := range res.Items {
			page.Objects = append(page.Objects, intelRow(&res.Items[i]))
		}
		if res.More {
			page.Next = res.Next
		}
	}
	h.render(w, r, status, "intel", page)
}

func (h *Handler) intelObject(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	ctx := r.Context()
	col, err := h.sharing.FindCollection(ctx, r.PathValue("collection"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	res, err := h.sharing.Object(ctx, col.ID, r.PathValue("id"), sharing.Query{Limit: 1}, "")
	if err == nil && len(res.Items) == 0 {
		err = bulwark.Errorf(bulwark.ENOTFOUND, "object not found")
	}
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	it := &res.Items[len(res.Items)-1]
	var buf bytes.Buffer
	if json.Indent(&buf, it.Body, "", "  ") != nil {
		buf.Reset()
		buf.Write(it.Body)
	}
	row := intelRow(it)
	title := row.Name
	if title == "" {
		title = row.ID
	}
	h.render(w, r, http.StatusOK, "intelobject", &IntelObjectPage{Base: h.base(r, p, "intel", title), Collection: col, Row: row,
		JSON: buf.String(), Published: r.URL.Query().Get("published") != ""})
}

// publishIntel publishes one object built from the form (or pasted as
// STIX JSON) with the chosen marking and audience.
func (h *Handler) publishIntel(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxPublishBytes) {
		return
	}
	f := IntelForm{Kind: r.PostFormValue("kind"), Name: r.PostFormValue("name"), Pattern: r.PostFormValue("pattern"),
		Content: r.PostFormValue("content"), Description: r.PostFormValue("description"), Refs: r.PostFormValue("object_refs"),
		STIX: r.PostFormValue("stix"), Marking: bulwark.TLP(r.PostFormValue("marking")), Orgs: r.PostFormValue("orgs"), Users: r.PostFormValue("users")}
	col := r.PathValue("collection")
	refuse := func(err error) {
		switch bulwark.ErrorCode(err) {
		case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT:
			page := &IntelPage{Base: h.base(r, p, "intel", "Intel"), Form: f, Error: bulwark.ErrorMessage(err)}
			h.showIntel(w, r, p, page, col, "", httperr.StatusOf(err))
		default:
			h.fail(w, r, p, err)
		}
	}
	req, err := publishRequest(&f, time.Now())
	if err != nil {
		refuse(err)
		return
	}
	req.Collection = col
	o, err := h.sharing.Publish(r.Context(), req)
	if err != nil {
		refuse(err)
		return
	}
	http.Redirect(w, r, "/intel/objects/"+url.PathEscape(o.Collection)+"/"+url.PathEscape(o.STIXID)+"?published=1", http.StatusSeeOther)
}

// publishRequest turns the form into a request: the marking must be
// chosen; the object is pasted STIX or built from the minimal fields.
func publishRequest(f *IntelForm, now time.Time) (sharing.PublishRequest, error) {
	var req sharing.PublishRequest
	if !f.Marking.Valid() {
		return req, bulwark.Errorf(bulwark.EINVALID, "marking: choose a TLP marking")
	}
	req.Marking = f.Marking
	req.Orgs = splitList(f.Orgs)
	for _, u := range splitList(f.Users) {
		id, err := strconv.ParseInt(u, 10, 64)
		if err != nil || id <= 0 {
			return req, bulwark.Errorf(bulwark.EINVALID, "recipients: %q is not a user number", bulwark.Truncate(u, 40))
		}
		req.Users = append(req.Users, id)
	}
	if f.Kind == "stix" {
		if strings.TrimSpace(f.STIX) == "" {
			return req, bulwark.Errorf(bulwark.EINVALID, "STIX JSON: paste one STIX 2.1 object")
		}
		req.Object = []byte(f.STIX)
		return req, nil
	}
	ts := stix.FormatTimestamp(now)
	obj := map[string]any{"spec_version": "2.1", "created": ts, "modified": ts}
	if d := strings.TrimSpace(f.Description); d != "" {
		obj["description"] = d
	}
	name := strings.TrimSpace(f.Name)
	refs := splitList(f.Refs)
	switch f.Kind {
	case "indicator":
		if name == "" || strings.TrimSpace(f.Pattern) == "" {
			return req, bulwark.Errorf(bulwark.EINVALID, "indicator: give a name and a STIX pattern")
		}
		obj["type"], obj["name"], obj["pattern"], obj["pattern_type"], obj["valid_from"] = "indicator", name, strings.TrimSpace(f.Pattern), "stix", ts
	case "note":
		if strings.TrimSpace(f.Content) == "" || len(refs) == 0 {
			return req, bulwark.Errorf(bulwark.EINVALID, "note: give its content and the objects it is about")
		}
		obj["type"], obj["content"], obj["object_refs"] = "note", strings.TrimSpace(f.Content), refs
		if name != "" {
			obj["abstract"] = name
		}
	case "report":
		if name == "" || len(refs) == 0 {
			return req, bulwark.Errorf(bulwark.EINVALID, "report: give a name and the objects it covers")
		}
		obj["type"], obj["name"], obj["published"], obj["object_refs"] = "report", name, ts, refs
	default:
		return req, bulwark.Errorf(bulwark.EINVALID, "type: choose indicator, note, report or STIX JSON")
	}
	obj["id"] = obj["type"].(string) + "--" + uuid.NewString()
	b, err := json.Marshal(obj)
	if err != nil {
		return req, err
	}
	req.Object = b
	return req, nil
}

// splitList splits on commas and white space.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}
