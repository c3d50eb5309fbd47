package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// Intel sharing (internal/sharing): communities, their collections and the
// STIX objects in them. Every read goes through the sharing service, which
// alone applies the TLP rule (sharing.CanSee): a collection the caller's
// organization may neither read nor write, and an object it may not see,
// answer exactly like missing ones. Handlers here decide nothing about
// visibility.

// MaxIntelImportBytes caps a STIX bundle posted to a collection.
const MaxIntelImportBytes = 16 << 20

// intelRoutes are the routes of this file.
func (a *API) intelRoutes() []route {
	return []route{
		{"GET /api/v1/intel/communities", reader, a.listCommunities},
		{"POST /api/v1/intel/communities", admin, a.createCommunity},
		{"GET /api/v1/intel/communities/{id}", reader, a.getCommunity},
		{"PATCH /api/v1/intel/communities/{id}", admin, a.updateCommunity},
		{"GET /api/v1/intel/collections", reader, a.listCollections},
		{"POST /api/v1/intel/collections", admin, a.createCollection},
		{"GET /api/v1/intel/collections/{id}", reader, a.getCollection},
		{"PATCH /api/v1/intel/collections/{id}", admin, a.updateCollection},
		{"GET /api/v1/intel/collections/{id}/objects", reader, a.listIntelObjects},
		{"POST /api/v1/intel/collections/{id}/objects", writer, a.publishIntelObject},
		{"GET /api/v1/intel/collections/{id}/objects/{object}", reader, a.getIntelObject},
		{"DELETE /api/v1/intel/collections/{id}/objects/{object}", writer, a.deleteIntelObject},
		{"GET /api/v1/intel/collections/{id}/objects/{object}/versions", reader, a.listIntelVersions},
		{"POST /api/v1/intel/collections/{id}/import", writer, a.importIntel},
		{"GET /api/v1/intel/collections/{id}/export", reader, a.exportIntel},
	}
}

// communityInputDTO is the body of POST /intel/communities. The caller's
// organization is always made an owner.
type communityInputDTO struct {
	ID          string                    `json:"id"`
	Name        string                    `json:"name"`
	Description string                    `json:"description"`
	Members     []bulwark.CommunityMember `json:"members"`
}

// collectionInputDTO is the body of POST /intel/collections. Without
// access, every member reads and the owner organizations write.
type collectionInputDTO struct {
	ID          string                     `json:"id"`
	Community   string                     `json:"community"`
	Title       string                     `json:"title"`
	Description string                     `json:"description"`
	Alias       string                     `json:"alias"`
	Access      []bulwark.CollectionAccess `json:"access"`
}

// publishDTO is the body of POST /intel/collections/{id}/objects: one STIX
// 2.1 object and, deliberately, its marking and audience.
type publishDTO struct {
	Object  json.RawMessage `json:"object"`
	Marking string          `json:"marking"`
	Orgs    []string        `json:"orgs"`
	Users   []int64         `json:"users"`
}

// intelObjectDTO is one version of an object as a caller receives it.
type intelObjectDTO struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	SpecVersion string          `json:"spec_version"`
	Version     time.Time       `json:"version"`
	DateAdded   time.Time       `json:"date_added"`
	Marking     string          `json:"marking"`
	Publisher   string          `json:"publisher"`
	Source      string          `json:"source"` // where this version came from: publish, taxii, import:<name>, feed:<name>
	Object      json.RawMessage `json:"object,omitempty"`
}

func toIntelObject(it *sharing.Item) intelObjectDTO {
	return intelObjectDTO{ID: it.STIXID, Type: it.Type, SpecVersion: it.SpecVersion, Version: it.Version, DateAdded: it.DateAdded,
		Marking: string(it.Marking), Publisher: it.Publisher, Source: it.Source, Object: json.RawMessage(it.Body)}
}

// publishedDTO is what POST .../objects answers: the stored version and its
// audience (which the publisher chose and may see).
type publishedDTO struct {
	ID          string    `json:"id"`
	Collection  string    `json:"collection"`
	Type        string    `json:"type"`
	SpecVersion string    `json:"spec_version"`
	Version     time.Time `json:"version"`
	DateAdded   time.Time `json:"date_added"`
	Marking     string    `json:"marking"`
	Orgs        []string  `json:"orgs,omitempty"`
	Users       []int64   `json:"users,omitempty"`
	Publisher   string    `json:"publisher"`
}

func parseMarking(s string) (bulwark.TLP, error) {
	m, ok := bulwark.ParseTLP(s)
	if !ok {
		return "", bulwark.Errorf(bulwark.EINVALID, "marking %q: use clear, green, amber, amber+strict or red", bulwark.Abbrev(s, 40))
	}
	return m, nil
}

func (a *API) listCommunities(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	cs, err := a.sh.ListCommunities(r.Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []bulwark.Community{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
	return nil
}

func (a *API) getCommunity(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	c, err := a.sh.FindCommunity(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) createCommunity(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	var body communityInputDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	c := &bulwark.Community{ID: body.ID, Name: body.Name, Description: body.Description, Members: body.Members}
	if err := a.sh.CreateCommunity(r.Context(), c); err != nil {
		return err
	}
	out, err := a.sh.FindCommunity(r.Context(), c.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/intel/communities/"+out.ID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *API) listCollections(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	cs, err := a.sh.ListCollections(r.Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []sharing.CollectionView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
	return nil
}

func (a *API) getCollection(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	c, err := a.sh.FindCollection(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) createCollection(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	var body collectionInputDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	c := &bulwark.Collection{ID: body.ID, Community: body.Community, Title: body.Title, Description: body.Description, Alias: body.Alias, Access: body.Access}
	if err := a.sh.CreateCollection(r.Context(), c); err != nil {
		return err
	}
	out, err := a.sh.FindCollection(r.Context(), c.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/intel/collections/"+out.ID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// listIntelObjects answers one page of the objects the caller may see
// (the latest version of each), optionally of some types only
// (type=indicator,malware).
func (a *API) listIntelObjects(w http.ResponseWriter, r *http.Request) error {
	qv, err := queryValues(r, "type", "limit", "next")
	if err != nil {
		return err
	}
	var q sharing.Query
	if q.Limit, err = limitParam(qv.Get("limit")); err != nil {
		return err
	}
	if t := qv.Get("type"); t != "" {
		if len(t) > maxQueryLen {
			return bulwark.Errorf(bulwark.EINVALID, "type is limited to %d bytes", maxQueryLen)
		}
		for _, s := range strings.Split(t, ",") {
			if s = strings.TrimSpace(s); s == "" {
				return bulwark.Errorf(bulwark.EINVALID, "type: empty STIX type in %q", bulwark.Abbrev(t, 64))
			}
			q.Types = append(q.Types, s)
		}
	}
	next := qv.Get("next")
	if len(next) > maxQueryLen {
		return bulwark.Errorf(bulwark.EINVALID, "next is limited to %d bytes", maxQueryLen)
	}
	page, err := a.sh.Objects(r.Context(), r.PathValue("id"), q, next)
	if err != nil {
		return err
	}
	items := make([]intelObjectDTO, 0, len(page.Items))
	for i := range page.Items {
		items = append(items, toIntelObject(&page.Items[i]))
	}
	out := map[string]any{"items": items, "more": page.More}
	if page.Next != "" {
		out["next"] = page.Next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getIntelObject answers the latest version of one object the caller may
// see; any other is ENOTFOUND.
func (a *API) getIntelObject(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	page, err := a.sh.Object(r.Context(), r.PathValue("id"), r.PathValue("object"), sharing.Query{}, "")
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		// Seen by objectExists but not in the latest spec version's page:
		// answer like a missing object.
		return bulwark.Errorf(bulwark.ENOTFOUND, "object %q not found", bulwark.Truncate(r.PathValue("object"), 300))
	}
	writeJSON(w, http.StatusOK, toIntelObject(&page.Items[len(page.Items)-1]))
	return nil
}

// publishIntelObject publishes one object. The marking is required:
// publishing is deliberate, and nothing is shared by default. Without orgs,
// AMBER+STRICT goes to the publisher's own organization; AMBER needs them.
func (a *API) publishIntelObject(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	col := r.PathValue("id")
	// Resolve the collection first: a hidden one answers like a missing
	// one whatever the body.
	if _, err := a.sh.FindCollection(r.Context(), col); err != nil {
		return err
	}
	var body publishDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Marking) == "" {
		return bulwark.Errorf(bulwark.EINVALID, "marking is required: choose clear, green, amber, amber+strict or red (publishing is deliberate)")
	}
	m, err := parseMarking(body.Marking)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body.Object)) == 0 || bytes.Equal(bytes.TrimSpace(body.Object), []byte("null")) {
		return bulwark.Errorf(bulwark.EINVALID, "object is required: one STIX 2.1 object")
	}
	o, err := a.sh.Publish(r.Context(), sharing.PublishRequest{Collection: col, Object: body.Object, Marking: m, Orgs: body.Orgs, Users: body.Users})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/intel/collections/"+o.Collection+"/objects/"+o.STIXID)
	writeJSON(w, http.StatusCreated, publishedDTO{ID: o.STIXID, Collection: o.Collection, Type: o.Type, SpecVersion: o.SpecVersion, Version: o.Version,
		DateAdded: o.DateAdded, Marking: string(o.Marking), Orgs: o.Orgs, Users: o.Users, Publisher: o.PublisherOrg})
	return nil
}

// importIntel adds the objects of a STIX 2.1 bundle to a collection,
// strictly: a malformed bundle is refused whole; objects that fail to
// decode are reported as failures and the rest are added. marking, when
// given, is the least marking of every object.
func (a *API) importIntel(w http.ResponseWriter, r *http.Request) error {
	qv, err := queryValues(r, "marking", "name")
	if err != nil {
		return err
	}
	opt := sharing.ImportOptions{Name: qv.Get("name"), Limits: stix.Limits{MaxBytes: MaxIntelImportBytes}}
	if opt.Name == "" {
		opt.Name = "api"
	}
	if len(opt.Name) > 180 {
		return bulwark.Errorf(bulwark.EINVALID, "name is limited to 180 bytes")
	}
	if s := qv.Get("marking"); s != "" {
		if opt.Marking, err = parseMarking(s); err != nil {
			return err
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "malformed Content-Type")
		}
		if mt != "application/json" && mt != "application/stix+json" {
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "Content-Type %s is not supported: send a STIX bundle as application/stix+json or application/json", mt)
		}
	}
	col := r.PathValue("id")
	if _, err := a.sh.FindCollection(r.Context(), col); err != nil {
		return err
	}
	if r.ContentLength > MaxIntelImportBytes {
		return bulwark.Errorf(bulwark.ETOOLARGE, "bundle is larger than %d bytes", MaxIntelImportBytes)
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Minute))
	st, err := a.sh.Import(r.Context(), col, http.MaxBytesReader(w, r.Body, MaxIntelImportBytes+1), opt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// exportIntel answers the objects of a collection the caller may see as one
// STIX 2.1 bundle (latest versions; every version with versions=all).
func (a *API) exportIntel(w http.ResponseWriter, r *http.Request) error {
	qv, err := queryValues(r, "versions")
	if err != nil {
		return err
	}
	all := false
	switch qv.Get("versions") {
	case "", "latest":
	case "all":
		all = true
	default:
		return bulwark.Errorf(bulwark.EINVALID, "versions: use latest or all")
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	// The bundle streams a page at a time. Export fails before its first
	// byte for an unknown or unreadable collection, which is answered as
	// an error as usual; a failure after the 200 has gone can only cut the
	// connection, so that the client sees a broken transfer and never a
	// short bundle that parses.
	sw := &streamStart{w: w, start: func(h http.Header) {
		h.Set("Content-Type", "application/stix+json;version=2.1")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", `attachment; filename="bundle.json"`)
	}}
	if _, err := a.sh.Export(r.Context(), r.PathValue("id"), all, sw); err != nil {
		if !sw.started {
			return err
		}
		if r.Context().Err() == nil {
			a.log.Error("intel export failed after its first byte", "collection", bulwark.Abbrev(r.PathValue("id"), 128), "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	if !sw.started {
		sw.Write(nil) // nothing written: still answer 200 with the headers
	}
	return nil
}

// streamStart sends the status and headers of a streamed answer with its
// first write, so that an error found before any byte is still answered
// as an error.
type streamStart struct {
	w       http.ResponseWriter
	start   func(http.Header)
	started bool
}

func (s *streamStart) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.start(s.w.Header())
		s.w.WriteHeader(http.StatusOK)
	}
	return s.w.Write(p)
}

// communityPatchDTO is the body of PATCH /intel/communities/{id}. Absent
// fields are left as they are. Member changes apply in this order: add
// members, remove members, add owners, remove owners; an organization
// named in two opposite lists is refused rather than guessed at.
type communityPatchDTO struct {
	Name          *string  `json:"name"`
	Description   *string  `json:"description"`
	AddMembers    []string `json:"add_members"`
	RemoveMembers []string `json:"remove_members"`
	AddOwners     []string `json:"add_owners"`
	RemoveOwners  []string `json:"remove_owners"`
}

// maxPatchOrgs caps each member list of a community patch (a community
// has at most 10,000 members; a patch changes fewer).
const maxPatchOrgs = 1000

// apply changes c as the patch says, or explains why it cannot.
func (d *communityPatchDTO) apply(c *bulwark.Community) error {
	if d.Name != nil {
		c.Name = *d.Name
	}
	if d.Description != nil {
		c.Description = *d.Description
	}
	lists := []struct {
		name string
		orgs []string
	}{{"add_members", d.AddMembers}, {"remove_members", d.RemoveMembers}, {"add_owners", d.AddOwners}, {"remove_owners", d.RemoveOwners}}
	named := map[string]string{} // org -> the list that named it
	for _, l := range lists {
		if len(l.orgs) > maxPatchOrgs {
			return bulwark.Errorf(bulwark.EINVALID, "%s: at most %d organizations per request", l.name, maxPatchOrgs)
		}
		for _, org := range l.orgs {
			if !bulwark.ValidID(org) {
				return bulwark.Errorf(bulwark.EINVALID, "%s: %q is not an organization ID", l.name, bulwark.Abbrev(org, 60))
			}
			if prev, ok := named[org]; ok {
				// add_members and add_owners together mean "add as an owner".
				if !(prev == "add_members" && l.name == "add_owners") {
					return bulwark.Errorf(bulwark.EINVALID, "%s is named in both %s and %s", org, prev, l.name)
				}
			}
			named[org] = l.name
		}
	}
	for _, org := range d.AddMembers {
		if c.IsMember(org) {
			return bulwark.Errorf(bulwark.EINVALID, "add_members: %s is already a member", org)
		}
		c.Members = append(c.Members, bulwark.CommunityMember{Org: org})
	}
	for _, org := range d.RemoveMembers {
		i := slices.IndexFunc(c.Members, func(m bulwark.CommunityMember) bool { return m.Org == org })
		if i < 0 {
			return bulwark.Errorf(bulwark.EINVALID, "remove_members: %s is not a member", org)
		}
		c.Members = slices.Delete(c.Members, i, i+1)
	}
	for _, l := range []struct {
		name  string
		orgs  []string
		owner bool
	}{{"add_owners", d.AddOwners, true}, {"remove_owners", d.RemoveOwners, false}} {
		for _, org := range l.orgs {
			i := slices.IndexFunc(c.Members, func(m bulwark.CommunityMember) bool { return m.Org == org })
			if i < 0 {
				return bulwark.Errorf(bulwark.EINVALID, "%s: %s is not a member (add it with add_members)", l.name, org)
			}
			c.Members[i].Owner = l.owner
		}
	}
	return nil
}

// updateCommunity changes a community's name, description, members and
// owners. Only administrators of an owner organization may (the service
// decides); a community the caller's organization is not a member of
// answers like a missing one whatever the body.
func (a *API) updateCommunity(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	c, err := a.sh.FindCommunity(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var body communityPatchDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	if err := body.apply(c); err != nil {
		return err
	}
	if err := a.sh.UpdateCommunity(r.Context(), c); err != nil {
		return err
	}
	out, err := a.sh.FindCommunity(r.Context(), c.ID)
	if err != nil {
		// The caller removed its own organization: nothing more to show.
		if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// collectionPatchDTO is the body of PATCH /intel/collections/{id}. Absent
// fields are left as they are; access, when given, replaces the whole list.
// A collection stays in its community: community may be given only with
// the collection's own.
type collectionPatchDTO struct {
	Community   *string                     `json:"community"`
	Title       *string                     `json:"title"`
	Description *string                     `json:"description"`
	Alias       *string                     `json:"alias"`
	Access      *[]bulwark.CollectionAccess `json:"access"`
}

// updateCollection changes a collection's title, description, alias and
// access. Only administrators of an owner organization of its community
// may; a collection the caller's organization may neither read nor write
// answers like a missing one whatever the body.
func (a *API) updateCollection(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	v, err := a.sh.FindCollection(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var body collectionPatchDTO
	if err := a.decodeBody(w, r, &body); err != nil {
		return err
	}
	c := v.Collection
	if v.Access == nil {
		// Only those who manage the community see (and so may patch) access.
		c.Access = nil
	}
	if body.Community != nil && *body.Community != c.Community {
		return bulwark.Errorf(bulwark.EINVALID, "community: a collection cannot move to another community; create a new collection there")
	}
	if body.Title != nil {
		c.Title = *body.Title
	}
	if body.Description != nil {
		c.Description = *body.Description
	}
	if body.Alias != nil {
		c.Alias = *body.Alias
	}
	if body.Access != nil {
		if *body.Access == nil {
			return bulwark.Errorf(bulwark.EINVALID, "access: give a list (an empty one closes the collection to every organization)")
		}
		c.Access = *body.Access
	}
	if c.Access == nil {
		c.Access = []bulwark.CollectionAccess{}
	}
	if err := a.sh.UpdateCollection(r.Context(), &c); err != nil {
		return err
	}
	out, err := a.sh.FindCollection(r.Context(), c.ID)
	if err != nil {
		// The caller closed the collection to its own organization.
		if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteIntelObject removes versions of an object the caller's
// organization published: every version, or those match[version] selects
// (as in TAXII: all, first, last or timestamps, comma-separated). An
// object the caller sees no version of answers like a missing one.
func (a *API) deleteIntelObject(w http.ResponseWriter, r *http.Request) error {
	qv, err := queryValues(r, "match[version]")
	if err != nil {
		return err
	}
	var q sharing.Query
	if qv.Has("match[version]") {
		v := qv.Get("match[version]")
		if len(v) > maxQueryLen {
			return bulwark.Errorf(bulwark.EINVALID, "match[version] is limited to %d bytes", maxQueryLen)
		}
		if q.Versions, err = sharing.ParseVersions(v); err != nil {
			return err
		}
	}
	if err := a.sh.Delete(r.Context(), r.PathValue("id"), r.PathValue("object"), q); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// intelVersionDTO is one version of an object, without its body.
type intelVersionDTO struct {
	Version     time.Time `json:"version"`
	DateAdded   time.Time `json:"date_added"`
	SpecVersion string    `json:"spec_version"`
	Marking     string    `json:"marking"`
	Publisher   string    `json:"publisher"`
}

// listIntelVersions answers one page of the versions of an object that
// the caller may see, oldest first.
func (a *API) listIntelVersions(w http.ResponseWriter, r *http.Request) error {
	qv, err := queryValues(r, "limit", "next")
	if err != nil {
		return err
	}
	var q sharing.Query
	if q.Limit, err = limitParam(qv.Get("limit")); err != nil {
		return err
	}
	next := qv.Get("next")
	if len(next) > maxQueryLen {
		return bulwark.Errorf(bulwark.EINVALID, "next is limited to %d bytes", maxQueryLen)
	}
	page, err := a.sh.Versions(r.Context(), r.PathValue("id"), r.PathValue("object"), q, next)
	if err != nil {
		return err
	}
	items := make([]intelVersionDTO, 0, len(page.Items))
	for _, it := range page.Items {
		items = append(items, intelVersionDTO{Version: it.Version, DateAdded: it.DateAdded, SpecVersion: it.SpecVersion, Marking: string(it.Marking), Publisher: it.Publisher})
	}
	out := map[string]any{"id": r.PathValue("object"), "items": items, "more": page.More}
	if page.Next != "" {
		out["next"] = page.Next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
