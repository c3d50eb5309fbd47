package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
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
	// Manage names the communities the caller manages (an administrator
	// of an owner organization): they get the management forms.
	Manage map[string]bool
	// Admin: the caller may try to create a community (the service decides
	// which administrators may).
	Admin bool
	// Access is the current collection's access per member organization,
	// for its edit form (managers only).
	Access []AccessRow
	Saved  string // what was just saved, for the notice
	// Provenance is what came from whom: the objects of the current
	// collection the caller may see, counted per source and publishing
	// organization (the service counts only what CanSee lets through).
	Provenance []ProvenanceRow
	// Filter narrows the list to one source and/or publisher; Sources and
	// Publishers are the choices (from Provenance: nothing hidden).
	Filter              IntelFilter
	Sources, Publishers []string
}

// IntelFilter is the list's provenance filter ("" for any).
type IntelFilter struct{ Source, Publisher string }

// ProvenanceRow is one source and publisher with its number of objects
// and its share of the collection (Of: the total the caller sees).
type ProvenanceRow struct {
	Source, Publisher string
	Objects, Of       int
}

// AccessRow is one member organization's access to a collection.
type AccessRow struct {
	Org         string
	Read, Write bool
}

// IntelRow is one object the caller may see.
type IntelRow struct {
	ID, Type, Name, Publisher, Source, Modified, Added string
	Marking                                            TLPBadge
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
	Deleted    bool
	// Versions are the versions of the object the caller may see, oldest
	// first; VersionsNext continues them.
	Versions     []IntelVersionRow
	VersionsNext string
	// CanDelete: some listed version is the caller organization's and the
	// caller may write the collection.
	CanDelete bool
}

// IntelVersionRow is one version of an object as listed.
type IntelVersionRow struct {
	Version   string // the exact STIX timestamp, to select it for deletion
	Modified  string
	Added     string
	Publisher string
	Source    string
	Marking   TLPBadge
	CanDelete bool
}

func (h *Handler) intelRoutes() {
	h.mux.Handle("GET /intel", h.user(h.intel))
	h.mux.Handle("GET /intel/objects/{collection}/{id}", h.user(h.intelObject))
	h.mux.Handle("POST /intel/collections/{collection}/publish", h.user(h.publishIntel))
	h.mux.Handle("POST /intel/communities", h.user(h.createCommunity))
	h.mux.Handle("POST /intel/communities/{community}", h.user(h.manageCommunity))
	h.mux.Handle("POST /intel/collections", h.user(h.createCollection))
	h.mux.Handle("POST /intel/collections/{collection}/edit", h.user(h.editCollection))
	h.mux.Handle("POST /intel/objects/{collection}/{id}/delete", h.user(h.deleteIntel))
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
	return IntelRow{ID: it.STIXID, Type: it.Type, Name: intelName(it.Body), Publisher: it.Publisher, Source: it.Source, Marking: badge(it.Marking),
		Modified: feedTime(it.Version), Added: feedTime(it.DateAdded)}
}

func (h *Handler) intel(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	page := &IntelPage{Base: h.base(r, p, "intel", "Intel"), Form: IntelForm{Kind: "indicator", Marking: bulwark.DefaultTLP}, Saved: savedNotice(r.URL.Query().Get("saved")),
		Filter: IntelFilter{Source: r.URL.Query().Get("source"), Publisher: r.URL.Query().Get("publisher")}}
	if len(page.Filter.Source) > maxFilterLen || len(page.Filter.Publisher) > maxFilterLen {
		h.fail(w, r, p, bulwark.Errorf(bulwark.EINVALID, "source and publisher are limited to %d bytes", maxFilterLen))
		return
	}
	h.showIntel(w, r, p, page, r.URL.Query().Get("c"), r.URL.Query().Get("next"), http.StatusOK)
}

// maxFilterLen caps the list's source and publisher parameters (a source
// is at most 200 bytes, an organization ID 128).
const maxFilterLen = 256

// provenance fills the summary of the current collection and the filter's
// choices, from what the caller may see only.
func (h *Handler) provenance(ctx context.Context, page *IntelPage) error {
	counts, err := h.sharing.Provenance(ctx, page.Current.ID)
	if err != nil {
		return err
	}
	total := 0
	for _, c := range counts {
		total += c.Objects
	}
	var sources, publishers []string
	for _, c := range counts {
		page.Provenance = append(page.Provenance, ProvenanceRow{Source: c.Source, Publisher: c.Publisher, Objects: c.Objects, Of: total})
		sources = append(sources, c.Source)
		publishers = append(publishers, c.Publisher)
	}
	slices.Sort(sources)
	slices.Sort(publishers)
	page.Sources, page.Publishers = slices.Compact(sources), slices.Compact(publishers)
	return nil
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
	// Who manages what is the service's rule (administrators of an owner
	// organization); the page only decides which forms to offer, and the
	// service checks every change again.
	page.Admin = p.Role == bulwark.RoleAdmin
	page.Manage = map[string]bool{}
	for _, c := range page.Communities {
		page.Manage[c.ID] = page.Admin && c.IsOwner(p.Org)
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
	if page.Current.Access != nil {
		for _, c := range page.Communities {
			if c.ID != page.Current.Community {
				continue
			}
			for _, m := range c.Members {
				a := page.Current.AccessOf(m.Org)
				page.Access = append(page.Access, AccessRow{Org: m.Org, Read: a.CanRead, Write: a.CanWrite})
			}
		}
	}
	if page.Current.CanRead {
		q := sharing.Query{Limit: intelPageSize}
		if page.Filter.Source != "" {
			q.Sources = []string{page.Filter.Source}
		}
		if page.Filter.Publisher != "" {
			q.Publishers = []string{page.Filter.Publisher}
		}
		res, err := h.sharing.Objects(ctx, page.Current.ID, q, next)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		if err := h.provenance(ctx, page); err != nil {
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
	page := &IntelObjectPage{Base: h.base(r, p, "intel", title), Collection: col, Row: row,
		JSON: buf.String(), Published: r.URL.Query().Get("published") != "", Deleted: r.URL.Query().Get("deleted") != ""}
	// The versions the caller may see (the service filters them).
	vs, err := h.sharing.Versions(ctx, col.ID, it.STIXID, sharing.Query{Limit: intelPageSize}, r.URL.Query().Get("vnext"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	for _, v := range vs.Items {
		own := col.CanWrite && v.Publisher == p.Org && p.Org != ""
		page.CanDelete = page.CanDelete || own
		page.Versions = append(page.Versions, IntelVersionRow{Version: stix.FormatTimestamp(v.Version), Modified: v.Version.UTC().Format("2006-01-02 15:04:05.000 UTC"),
			Added: feedTime(v.DateAdded), Publisher: v.Publisher, Source: v.Source, Marking: badge(v.Marking), CanDelete: own})
	}
	if vs.More {
		page.VersionsNext = vs.Next
	}
	h.render(w, r, http.StatusOK, "intelobject", page)
}

// maxManageBytes caps the community and collection forms (a collection's
// access form has two boxes per member organization).
const maxManageBytes = 256 << 10

// savedNotice is the notice shown after a change ("" for none).
func savedNotice(what string) string {
	switch what {
	case "community":
		return "Community saved."
	case "collection":
		return "Collection saved."
	case "deleted":
		return "Deleted."
	}
	return ""
}

// refuseIntel shows the intel page with the reason a change was refused,
// or the error page when the reason is that the thing is not there.
func (h *Handler) refuseIntel(w http.ResponseWriter, r *http.Request, p bulwark.Principal, col string, err error) {
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.EFORBIDDEN, bulwark.ECONFLICT:
		page := &IntelPage{Base: h.base(r, p, "intel", "Intel"), Form: IntelForm{Kind: "indicator", Marking: bulwark.DefaultTLP}, Error: bulwark.ErrorMessage(err)}
		h.showIntel(w, r, p, page, col, "", httperr.StatusOf(err))
	default:
		h.fail(w, r, p, err)
	}
}

// createCommunity creates a community; the caller's organization becomes
// its owner. members lists the other member organizations.
func (h *Handler) createCommunity(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxManageBytes) {
		return
	}
	c := &bulwark.Community{ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description"))}
	for _, org := range splitList(r.PostFormValue("members")) {
		c.Members = append(c.Members, bulwark.CommunityMember{Org: org})
	}
	if err := h.sharing.CreateCommunity(r.Context(), c); err != nil {
		h.refuseIntel(w, r, p, "", err)
		return
	}
	http.Redirect(w, r, "/intel?saved=community#community-"+url.QueryEscape(c.ID), http.StatusSeeOther)
}

// manageCommunity applies one change to a community: op is "edit" (name
// and description), "add" (org, as an owner with owner=1), "remove",
// "owner" or "member" (org's ownership). The service checks that the
// caller manages the community; one the caller's organization is not in
// is not found.
func (h *Handler) manageCommunity(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxManageBytes) {
		return
	}
	c, err := h.sharing.FindCommunity(r.Context(), r.PathValue("community"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	org := strings.TrimSpace(r.PostFormValue("org"))
	at := slices.IndexFunc(c.Members, func(m bulwark.CommunityMember) bool { return m.Org == org })
	switch op := r.PostFormValue("op"); op {
	case "edit":
		c.Name, c.Description = strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("description"))
	case "add":
		switch {
		case org == "":
			err = bulwark.Errorf(bulwark.EINVALID, "add a member: give an organization ID")
		case at >= 0:
			err = bulwark.Errorf(bulwark.EINVALID, "%s is already a member", bulwark.Abbrev(org, 60))
		default:
			c.Members = append(c.Members, bulwark.CommunityMember{Org: org, Owner: r.PostFormValue("owner") == "1"})
		}
	case "remove", "owner", "member":
		if at < 0 {
			err = bulwark.Errorf(bulwark.EINVALID, "%s is not a member", bulwark.Abbrev(org, 60))
		} else if op == "remove" {
			c.Members = slices.Delete(c.Members, at, at+1)
		} else {
			c.Members[at].Owner = op == "owner"
		}
	default:
		err = bulwark.Errorf(bulwark.EINVALID, "unknown change %q", bulwark.Abbrev(op, 40))
	}
	if err == nil {
		err = h.sharing.UpdateCommunity(r.Context(), c)
	}
	if err != nil {
		h.refuseIntel(w, r, p, "", err)
		return
	}
	http.Redirect(w, r, "/intel?saved=community#community-"+url.QueryEscape(c.ID), http.StatusSeeOther)
}

// createCollection adds a collection to a community the caller manages:
// every member reads it and the owner organizations write it, until its
// access is edited.
func (h *Handler) createCollection(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxManageBytes) {
		return
	}
	c := &bulwark.Collection{Community: r.PostFormValue("community"), Title: strings.TrimSpace(r.PostFormValue("title")),
		Description: strings.TrimSpace(r.PostFormValue("description")), Alias: strings.TrimSpace(r.PostFormValue("alias"))}
	if err := h.sharing.CreateCollection(r.Context(), c); err != nil {
		h.refuseIntel(w, r, p, "", err)
		return
	}
	http.Redirect(w, r, "/intel?saved=collection&c="+url.QueryEscape(c.ID), http.StatusSeeOther)
}

// editCollection changes a collection's title, description, alias and
// access: read_<org> and write_<org> boxes for each member organization
// of its community.
func (h *Handler) editCollection(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxManageBytes) {
		return
	}
	v, err := h.sharing.FindCollection(r.Context(), r.PathValue("collection"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	com, err := h.sharing.FindCommunity(r.Context(), v.Community)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	c := v.Collection
	c.Title, c.Description, c.Alias = strings.TrimSpace(r.PostFormValue("title")), strings.TrimSpace(r.PostFormValue("description")), strings.TrimSpace(r.PostFormValue("alias"))
	c.Access = []bulwark.CollectionAccess{}
	for _, m := range com.Members {
		a := bulwark.CollectionAccess{Org: m.Org, CanRead: r.PostFormValue("read_"+m.Org) == "1", CanWrite: r.PostFormValue("write_"+m.Org) == "1"}
		if a.CanRead || a.CanWrite {
			c.Access = append(c.Access, a)
		}
	}
	if err := h.sharing.UpdateCollection(r.Context(), &c); err != nil {
		h.refuseIntel(w, r, p, v.ID, err)
		return
	}
	// The caller may have closed the collection to its own organization.
	if _, err := h.sharing.FindCollection(r.Context(), c.ID); err != nil {
		http.Redirect(w, r, "/intel?saved=collection", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/intel?saved=collection&c="+url.QueryEscape(c.ID), http.StatusSeeOther)
}

// deleteIntel deletes one version of an object (version: its timestamp)
// or every version the caller's organization published (version=all).
// The service decides who may; an object the caller sees no version of
// is not found.
func (h *Handler) deleteIntel(w http.ResponseWriter, r *http.Request, p bulwark.Principal) {
	if !h.checkPost(w, r, maxFormBytes) {
		return
	}
	col, id := r.PathValue("collection"), r.PathValue("id")
	vf, err := sharing.ParseVersions(r.PostFormValue("version"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if err := h.sharing.Delete(r.Context(), col, id, sharing.Query{Versions: vf}); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if _, err := h.sharing.Object(r.Context(), col, id, sharing.Query{Limit: 1}, ""); err == nil {
		http.Redirect(w, r, "/intel/objects/"+url.PathEscape(col)+"/"+url.PathEscape(id)+"?deleted=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/intel?saved=deleted&c="+url.QueryEscape(col), http.StatusSeeOther)
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
