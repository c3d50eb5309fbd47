package taxiiclient

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/stix"
)

// Discovery is the server's discovery resource (section 4.1).
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
}

// APIRootInfo is an API root's information (section 4.2).
type APIRootInfo struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

// Collection is a collection resource (section 5.2).
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// Filter is the query of a list endpoint (section 3.4). Zero fields are
// not sent.
type Filter struct {
	AddedAfter time.Time
	Limit      int
	Next       string
	IDs        []string
	Types      []string
	// Versions are match[version] values: "all", "first", "last" or STIX
	// timestamps.
	Versions     []string
	SpecVersions []string
}

// query encodes f. TAXII servers read "match[id]" literally, so the
// brackets are left unescaped; values are escaped.
func (f Filter) query() string {
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+url.QueryEscape(v)) }
	if !f.AddedAfter.IsZero() {
		add("added_after", bulwark.FormatTAXIITime(f.AddedAfter))
	}
	if f.Limit > 0 {
		add("limit", strconv.Itoa(f.Limit))
	}
	if f.Next != "" {
		add("next", f.Next)
	}
	for _, m := range []struct {
		k string
		v []string
	}{{"match[id]", f.IDs}, {"match[type]", f.Types}, {"match[version]", f.Versions}, {"match[spec_version]", f.SpecVersions}} {
		if len(m.v) > 0 {
			add(m.k, strings.Join(m.v, ","))
		}
	}
	return strings.Join(parts, "&")
}

// Paging is what a list response says about where it stands: more and
// next from the body, and the X-TAXII-Date-Added-First and -Last headers
// (zero when absent or malformed).
type Paging struct {
	More           bool
	Next           string
	DateAddedFirst time.Time
	DateAddedLast  time.Time
}

// ObjectsPage is one page of objects (sections 5.4 and 5.6).
type ObjectsPage struct {
	Paging
	Objects  []*stix.Object
	Rejected []stix.Rejection
	Warnings []stix.Warning
	// Filter is the query that produced this page.
	Filter Filter
}

// ManifestRecord is one entry of a manifest (section 5.3).
type ManifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type,omitempty"`
}

// ManifestPage is one page of a manifest.
type ManifestPage struct {
	Paging
	Objects []ManifestRecord
}

// VersionsPage is one page of an object's versions (section 5.8).
type VersionsPage struct {
	Paging
	Versions []string
}

// StatusDetail is one object of a status resource.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// Status is a status resource (section 4.3).
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
}

// Discover reads the discovery resource at the client's URL.
func (c *Client) Discover(ctx context.Context) (*Discovery, error) {
	var d Discovery
	if _, err := c.getResource(ctx, c.base, "discovery resource", &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Root is one API root of the server.
type Root struct {
	c *Client
	u *url.URL
}

// Root returns the API root named by apiRoot: an absolute URL on the
// client's origin, or a path relative to the discovery URL (as discovery
// resources list them: "/taxii2/bulwark/" or "bulwark/"). An empty
// apiRoot is the discovery URL itself (some servers serve an API root
// there).
func (c *Client) Root(apiRoot string) (*Root, error) {
	ref, err := url.Parse(strings.TrimSpace(apiRoot))
	if err != nil || len(apiRoot) > 2048 || ref.User != nil || ref.RawQuery != "" || ref.Fragment != "" {
		return nil, bulwark.Errorf(bulwark.EINVALID, "API root %q is not a URL or path", bulwark.Abbrev(apiRoot, 100))
	}
	u := c.base.ResolveReference(ref)
	if u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) {
		return nil, bulwark.Errorf(bulwark.EINVALID, "API root %q is on another server than %s", bulwark.Abbrev(apiRoot, 100), c.base.Host)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return &Root{c: c, u: u}, nil
}

// URL is the API root's URL.
func (r *Root) URL() string { return r.u.String() }

// segment escapes one path segment (collection and object ids).
func segment(s string) string { return url.PathEscape(s) }

func (r *Root) at(path string, q string) *url.URL {
	ref, err := url.Parse(path) // path is built from escaped segments
	if err != nil {
		ref = &url.URL{Path: path}
	}
	out := r.u.ResolveReference(ref)
	out.RawQuery = q
	return out
}

func checkID(what, id string) error {
	if id == "" || len(id) > 300 || strings.ContainsAny(id, "/?#") || id == "." || id == ".." {
		return bulwark.Errorf(bulwark.EINVALID, "%s %q is not a valid identifier", what, bulwark.Abbrev(id, 60))
	}
	return nil
}

// Info reads the API root's information.
func (r *Root) Info(ctx context.Context) (*APIRootInfo, error) {
	var v APIRootInfo
	if _, err := r.c.getResource(ctx, r.u, "API root", &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Collections lists the collections the credentials see.
func (r *Root) Collections(ctx context.Context) ([]Collection, error) {
	var v struct {
		Collections []Collection `json:"collections"`
	}
	if _, err := r.c.getResource(ctx, r.at("collections/", ""), "collections", &v); err != nil {
		return nil, err
	}
	return v.Collections, nil
}

// Collection reads one collection.
func (r *Root) Collection(ctx context.Context, id string) (*Collection, error) {
	if err := checkID("collection", id); err != nil {
		return nil, err
	}
	var v Collection
	if _, err := r.c.getResource(ctx, r.at("collections/"+segment(id)+"/", ""), "collection", &v); err != nil {
		return nil, err
	}
	if v.ID == "" {
		return nil, invalid("collection", "/id", "missing")
	}
	return &v, nil
}

// paging reads the date headers of a list response.
func paging(h http.Header) Paging {
	var p Paging
	if t, _, ok := stix.ParseTimestamp(strings.TrimSpace(h.Get("X-TAXII-Date-Added-First"))); ok {
		p.DateAddedFirst = t
	}
	if t, _, ok := stix.ParseTimestamp(strings.TrimSpace(h.Get("X-TAXII-Date-Added-Last"))); ok {
		p.DateAddedLast = t
	}
	return p
}

// Objects reads one page of a collection's objects (section 5.4).
func (r *Root) Objects(ctx context.Context, col string, f Filter) (*ObjectsPage, error) {
	if err := checkID("collection", col); err != nil {
		return nil, err
	}
	return r.envelope(ctx, r.at("collections/"+segment(col)+"/objects/", f.query()), f)
}

// Object reads the versions of one object that f selects (section 5.6).
func (r *Root) Object(ctx context.Context, col, id string, f Filter) (*ObjectsPage, error) {
	if err := checkID("collection", col); err != nil {
		return nil, err
	}
	if err := checkID("object", id); err != nil {
		return nil, err
	}
	f.IDs, f.Types = nil, nil
	return r.envelope(ctx, r.at("collections/"+segment(col)+"/objects/"+segment(id)+"/", f.query()), f)
}

func (r *Root) envelope(ctx context.Context, u *url.URL, f Filter) (*ObjectsPage, error) {
	res, err := r.c.do(ctx, request{method: http.MethodGet, u: u, what: "envelope"})
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	env, err := stix.DecodeEnvelope(res.Body, r.c.opt.Limits)
	if err != nil {
		if bulwark.ErrorCode(err) == bulwark.EINTERNAL {
			return nil, bodyError("envelope", err)
		}
		return nil, fmt.Errorf("the server's envelope: %w", err)
	}
	p := &ObjectsPage{Paging: paging(res.Header), Objects: env.Objects, Rejected: env.Rejected, Warnings: env.Warnings, Filter: f}
	p.More, p.Next = env.More, env.Next
	if len(p.Next) > 4096 {
		return nil, invalid("envelope", "/next", "longer than 4096 bytes")
	}
	return p, nil
}

// Manifest reads one page of a collection's manifest (section 5.3).
func (r *Root) Manifest(ctx context.Context, col string, f Filter) (*ManifestPage, error) {
	if err := checkID("collection", col); err != nil {
		return nil, err
	}
	var v struct {
		More    bool             `json:"more"`
		Next    string           `json:"next"`
		Objects []ManifestRecord `json:"objects"`
	}
	h, err := r.c.getResource(ctx, r.at("collections/"+segment(col)+"/manifest/", f.query()), "manifest", &v)
	if err != nil {
		return nil, err
	}
	p := &ManifestPage{Paging: paging(h), Objects: v.Objects}
	p.More, p.Next = v.More, v.Next
	return p, nil
}

// Versions reads one page of an object's versions (section 5.8).
func (r *Root) Versions(ctx context.Context, col, id string, f Filter) (*VersionsPage, error) {
	if err := checkID("collection", col); err != nil {
		return nil, err
	}
	if err := checkID("object", id); err != nil {
		return nil, err
	}
	f.IDs, f.Types, f.Versions = nil, nil, nil
	var v struct {
		More     bool     `json:"more"`
		Next     string   `json:"next"`
		Versions []string `json:"versions"`
	}
	h, err := r.c.getResource(ctx, r.at("collections/"+segment(col)+"/objects/"+segment(id)+"/versions/", f.query()), "versions", &v)
	if err != nil {
		return nil, err
	}
	p := &VersionsPage{Paging: paging(h), Versions: v.Versions}
	p.More, p.Next = v.More, v.Next
	return p, nil
}

// AddObjects posts objects to a collection as one envelope (section 5.5)
// and returns the status resource the server answered with.
func (r *Root) AddObjects(ctx context.Context, col string, objs []*stix.Object) (*Status, error) {
	if err := checkID("collection", col); err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "nothing to add")
	}
	var buf bytes.Buffer
	buf.WriteString(`{"objects":[`)
	for i, o := range objs {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(o.JSON())
	}
	buf.WriteString("]}")
	res, err := r.c.do(ctx, request{method: http.MethodPost, u: r.at("collections/"+segment(col)+"/objects/", ""), body: buf.Bytes(), what: "status"})
	if err != nil {
		return nil, err
	}
	b, err := readAll(res, "status")
	if err != nil {
		return nil, err
	}
	var st Status
	if err := decodeResource(b, "status", &st); err != nil {
		return nil, err
	}
	if st.ID == "" {
		return nil, invalid("status", "/id", "missing")
	}
	return &st, nil
}

// Status reads a status resource (section 4.3).
func (r *Root) Status(ctx context.Context, id string) (*Status, error) {
	if err := checkID("status", id); err != nil {
		return nil, err
	}
	var st Status
	if _, err := r.c.getResource(ctx, r.at("status/"+segment(id)+"/", ""), "status", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// WaitStatus polls a status resource every interval until it is complete
// (or ctx ends).
func (r *Root) WaitStatus(ctx context.Context, id string, every time.Duration) (*Status, error) {
	if every <= 0 {
		every = time.Second
	}
	for {
		st, err := r.Status(ctx, id)
		if err != nil {
			return nil, err
		}
		if st.Status == "complete" {
			return st, nil
		}
		if err := r.c.opt.Sleep(ctx, every); err != nil {
			return st, bulwark.Errorf(bulwark.ECANCELED, "stopped waiting for status %s (%s)", bulwark.Abbrev(id, 60), bulwark.Abbrev(st.Status, 20))
		}
	}
}

// DeleteObject deletes the versions of an object that f selects (section
// 5.7).
func (r *Root) DeleteObject(ctx context.Context, col, id string, f Filter) error {
	if err := checkID("collection", col); err != nil {
		return err
	}
	if err := checkID("object", id); err != nil {
		return err
	}
	f.IDs, f.Types, f.AddedAfter, f.Limit, f.Next = nil, nil, time.Time{}, 0, ""
	res, err := r.c.do(ctx, request{method: http.MethodDelete, u: r.at("collections/"+segment(col)+"/objects/"+segment(id)+"/", f.query()), what: "delete response"})
	if err != nil {
		return err
	}
	_, err = readAll(res, "delete response")
	return err
}
