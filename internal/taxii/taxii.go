// Package taxii is Bulwark's TAXII 2.1 server (OASIS Standard, 10 June
// 2021): discovery at /taxii2/, one API root, collections, objects (get,
// add, get by id, delete), versions, manifests and status, over the
// sharing service, which decides what each caller may see. Section numbers
// in comments and tests are the specification's.
//
// Requests are checked before anything else: credentials (HTTP Basic or a
// Bearer API token; 401 with WWW-Authenticate otherwise), the Accept header
// (406 without a TAXII 2.1 media range), the trailing slash (404 without
// it), the query parameters (400 when malformed or repeated), and for POST
// the Content-Type (415) and the body size (413 beyond max_content_length,
// counted in bytes read, chunked bodies included). Bodies are decoded
// strictly: a duplicate or case-variant key is an error.
package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// MediaType is the TAXII 2.1 media type of every response.
const MediaType = "application/taxii+json;version=2.1"

// STIXMediaType is the media type of the objects collections hold.
const STIXMediaType = "application/stix+json;version=2.1"

// DefaultMaxContentLength is the largest POST body accepted (64 MiB, below
// the server's own cap on every request).
const DefaultMaxContentLength = 64 << 20

// Config describes the server to clients.
type Config struct {
	Title       string // discovery title ("Bulwark")
	Description string
	Contact     string
	// Root is the API root's path segment: the root is /taxii2/<Root>/
	// ("bulwark").
	Root string
	// MaxContentLength caps POST bodies (DefaultMaxContentLength).
	MaxContentLength int64
	// Limits cap each posted object (stix.DefaultLimits otherwise).
	Limits stix.Limits
}

// Handler serves /taxii2/.
type Handler struct {
	svc *sharing.Service
	cfg Config
	log *slog.Logger
}

// New returns the TAXII handler. Authentication is done before it (the
// server's auth middleware); the handler requires a Principal that came
// from an Authorization header.
func New(svc *sharing.Service, cfg Config, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Title == "" {
		cfg.Title = "Bulwark"
	}
	if cfg.Root == "" {
		cfg.Root = "bulwark"
	}
	if cfg.MaxContentLength <= 0 {
		cfg.MaxContentLength = DefaultMaxContentLength
	}
	return &Handler{svc: svc, cfg: cfg, log: log}
}

// Prefix is where the handler is mounted (section 8.2.1: /taxii2/ at the
// root of the server).
const Prefix = "/taxii2/"

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// Section 3.1: every request carries credentials; section 1.6.9: 401
	// with a WWW-Authenticate challenge otherwise. Only the Authorization
	// header counts (browser session cookies do not authenticate TAXII).
	if _, hasAuth := r.Header["Authorization"]; !hasAuth {
		h.unauthorized(w)
		return
	}
	if _, ok := bulwark.PrincipalFrom(r.Context()); !ok {
		h.unauthorized(w)
		return
	}
	path := r.URL.Path
	if path == strings.TrimSuffix(Prefix, "/") {
		path += " " // /taxii2 without its slash: not an endpoint
	}
	if !strings.HasPrefix(path, Prefix) {
		h.error(w, http.StatusNotFound, "Not Found", "no such TAXII endpoint")
		return
	}
	// Section 3.1: the path of every endpoint ends in a slash.
	if !strings.HasSuffix(path, "/") {
		h.error(w, http.StatusNotFound, "Not Found", "TAXII endpoints end with a slash")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, Prefix), "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	if !acceptable(r.Header.Values("Accept")) {
		// Section 3.1: a TAXII media range is required; others get 406.
		h.error(w, http.StatusNotAcceptable, "Not Acceptable", "the Accept header must include "+MediaType)
		return
	}
	route := h.route(parts)
	if route == nil {
		h.error(w, http.StatusNotFound, "Not Found", "no such TAXII endpoint")
		return
	}
	fn, ok := route.methods[r.Method]
	if !ok {
		allow := make([]string, 0, len(route.methods))
		for m := range route.methods {
			allow = append(allow, m)
		}
		w.Header().Set("Allow", strings.Join(sortStrings(allow), ", "))
		h.error(w, http.StatusMethodNotAllowed, "Method Not Allowed", r.Method+" is not supported here")
		return
	}
	q, err := parseQuery(r.URL.RawQuery, route.params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	fn(w, r, route.args, q)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, args []string, q *params)

type route struct {
	methods map[string]handlerFunc
	params  paramSet
	args    []string
}

// route resolves the path segments after /taxii2/.
func (h *Handler) route(p []string) *route {
	switch {
	case len(p) == 0:
		return &route{methods: map[string]handlerFunc{"GET": h.discovery}}
	case p[0] != h.cfg.Root:
		return nil
	case len(p) == 1:
		return &route{methods: map[string]handlerFunc{"GET": h.apiRoot}}
	case len(p) == 3 && p[1] == "status":
		return &route{methods: map[string]handlerFunc{"GET": h.status}, args: p[2:]}
	case p[1] != "collections":
		return nil
	case len(p) == 2:
		return &route{methods: map[string]handlerFunc{"GET": h.collections}}
	case len(p) == 3:
		return &route{methods: map[string]handlerFunc{"GET": h.collection}, args: p[2:]}
	case len(p) == 4 && p[3] == "manifest":
		return &route{methods: map[string]handlerFunc{"GET": h.manifest}, args: p[2:3], params: listParams}
	case len(p) == 4 && p[3] == "objects":
		return &route{methods: map[string]handlerFunc{"GET": h.getObjects, "POST": h.addObjects}, args: p[2:3], params: listParams}
	case len(p) == 5 && p[3] == "objects":
		return &route{methods: map[string]handlerFunc{"GET": h.getObject, "DELETE": h.deleteObject}, args: []string{p[2], p[4]}, params: objectParams}
	case len(p) == 6 && p[3] == "objects" && p[5] == "versions":
		return &route{methods: map[string]handlerFunc{"GET": h.versions}, args: []string{p[2], p[4]}, params: versionsParams}
	}
	return nil
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// acceptable reports whether an Accept header admits TAXII 2.1 (section
// 1.6.8: application/taxii+json, with version 2.1 or none).
func acceptable(values []string) bool {
	for _, v := range values {
		for _, rng := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
			if err != nil || mt != "application/taxii+json" {
				continue
			}
			if ver, ok := params["version"]; ok && ver != "2.1" {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

// taxiiContent reports whether a Content-Type is TAXII 2.1.
func taxiiContent(v string) bool {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || mt != "application/taxii+json" {
		return false
	}
	if ver, ok := params["version"]; ok && ver != "2.1" {
		return false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false
	}
	return true
}

// Errors (section 3.6.1).

type errorBody struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	HTTPStatus  string `json:"http_status"`
}

func (h *Handler) error(w http.ResponseWriter, status int, title, desc string) {
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errorBody{Title: title, Description: desc, HTTPStatus: strconv.Itoa(status)})
}

func (h *Handler) unauthorized(w http.ResponseWriter) {
	w.Header().Add("WWW-Authenticate", `Basic realm="bulwark", charset="UTF-8"`)
	w.Header().Add("WWW-Authenticate", `Bearer realm="bulwark"`)
	h.error(w, http.StatusUnauthorized, "Unauthorized", "authentication required (HTTP Basic with e-mail and password, or a Bearer API token)")
}

// fail maps an error to its status; internal errors are logged and shown
// as "internal error".
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := bulwark.ErrorCode(err)
	status, title := http.StatusInternalServerError, "Internal Server Error"
	switch code {
	case bulwark.EINVALID:
		status, title = http.StatusBadRequest, "Bad Request"
	case bulwark.ENOTFOUND:
		status, title = http.StatusNotFound, "Not Found"
	case bulwark.EFORBIDDEN:
		status, title = http.StatusForbidden, "Forbidden"
	case bulwark.EUNAUTHORIZED:
		h.unauthorized(w)
		return
	case bulwark.ETOOLARGE:
		status, title = http.StatusRequestEntityTooLarge, "Request Entity Too Large"
	case bulwark.ECONFLICT:
		status, title = http.StatusConflict, "Conflict"
	case bulwark.EUNSUPPORTED:
		status, title = http.StatusUnprocessableEntity, "Unprocessable Entity"
	case bulwark.EUNAVAILABLE:
		status, title = http.StatusServiceUnavailable, "Service Unavailable"
	case bulwark.ERATELIMIT:
		status, title = http.StatusTooManyRequests, "Too Many Requests"
	case bulwark.ECANCELED:
		status, title = 499, "Client Closed Request"
	}
	if status == http.StatusInternalServerError {
		h.log.Error("taxii", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.error(w, status, title, bulwark.ErrorMessage(err))
}

// writeJSON writes a TAXII resource.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Section 4.1.

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request, _ []string, _ *params) {
	root := Prefix + h.cfg.Root + "/"
	writeJSON(w, http.StatusOK, struct {
		Title       string   `json:"title"`
		Description string   `json:"description,omitempty"`
		Contact     string   `json:"contact,omitempty"`
		Default     string   `json:"default"`
		APIRoots    []string `json:"api_roots"`
	}{h.cfg.Title, h.cfg.Description, h.cfg.Contact, root, []string{root}})
}

// Section 4.2.

func (h *Handler) apiRoot(w http.ResponseWriter, r *http.Request, _ []string, _ *params) {
	writeJSON(w, http.StatusOK, struct {
		Title            string   `json:"title"`
		Description      string   `json:"description,omitempty"`
		Versions         []string `json:"versions"`
		MaxContentLength int64    `json:"max_content_length"`
	}{h.cfg.Title, h.cfg.Description, []string{MediaType}, h.cfg.MaxContentLength})
}

// Section 4.3.

type statusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

type statusResource struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []statusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []statusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []statusDetail `json:"pendings,omitempty"`
}

func details(in []bulwark.IntelStatusDetail) []statusDetail {
	if len(in) == 0 {
		return nil
	}
	out := make([]statusDetail, len(in))
	for i, d := range in {
		v := d.Version
		if v == "" {
			v = "unknown"
		}
		out[i] = statusDetail{ID: d.ID, Version: v, Message: d.Message}
	}
	return out
}

func statusOf(s *bulwark.IntelStatus) statusResource {
	return statusResource{ID: s.ID, Status: s.Status, RequestTimestamp: bulwark.FormatTAXIITime(s.Requested), TotalCount: s.Total,
		SuccessCount: len(s.Successes), Successes: details(s.Successes), FailureCount: len(s.Failures), Failures: details(s.Failures),
		PendingCount: len(s.Pendings), Pendings: details(s.Pendings)}
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request, args []string, _ *params) {
	s, err := h.svc.Status(r.Context(), args[0])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statusOf(s))
}

// Sections 5.1 and 5.2.

type collectionResource struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

func resourceOf(v *sharing.CollectionView) collectionResource {
	return collectionResource{ID: v.ID, Title: v.Title, Description: v.Description, Alias: v.Alias, CanRead: v.CanRead, CanWrite: v.CanWrite,
		MediaTypes: []string{STIXMediaType}}
}

func (h *Handler) collections(w http.ResponseWriter, r *http.Request, _ []string, _ *params) {
	cols, err := h.svc.ListCollections(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var out struct {
		Collections []collectionResource `json:"collections,omitempty"`
	}
	for i := range cols {
		out.Collections = append(out.Collections, resourceOf(&cols[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) collection(w http.ResponseWriter, r *http.Request, args []string, _ *params) {
	v, err := h.svc.FindCollection(r.Context(), args[0])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resourceOf(v))
}

// dateHeaders sets X-TAXII-Date-Added-First and -Last (section 3.2). An
// empty page has no first or last object: both then carry added_after when
// given (nothing new since then), else the start of the epoch.
func dateHeaders(w http.ResponseWriter, items []sharing.Item, q *params) {
	first, last := time.Unix(0, 0), time.Unix(0, 0)
	if !q.query.AddedAfter.IsZero() {
		first, last = q.query.AddedAfter, q.query.AddedAfter
	}
	if len(items) > 0 {
		first, last = items[0].DateAdded, items[len(items)-1].DateAdded
	}
	w.Header().Set("X-TAXII-Date-Added-First", bulwark.FormatTAXIITime(first))
	w.Header().Set("X-TAXII-Date-Added-Last", bulwark.FormatTAXIITime(last))
}

// Section 5.3.

func (h *Handler) manifest(w http.ResponseWriter, r *http.Request, args []string, q *params) {
	page, err := h.svc.Manifest(r.Context(), args[0], q.query, q.next)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	type record struct {
		ID        string `json:"id"`
		DateAdded string `json:"date_added"`
		Version   string `json:"version"`
		MediaType string `json:"media_type"`
	}
	var out struct {
		More    bool     `json:"more,omitempty"`
		Next    string   `json:"next,omitempty"`
		Objects []record `json:"objects,omitempty"`
	}
	out.More, out.Next = page.More, page.Next
	for _, it := range page.Items {
		out.Objects = append(out.Objects, record{ID: it.STIXID, DateAdded: bulwark.FormatTAXIITime(it.DateAdded),
			Version: bulwark.FormatSTIXTime(it.Version), MediaType: "application/stix+json;version=" + it.SpecVersion})
	}
	dateHeaders(w, page.Items, q)
	writeJSON(w, http.StatusOK, out)
}

// envelopePool keeps envelope buffers between requests: a page of 100
// objects is about 65 KB, and allocating (and zeroing) it for every
// request was a measurable share of a page's CPU and of the collector's
// work. Buffers larger than maxPooledEnvelope (an unusually large page) are
// left to the collector.
var envelopePool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledEnvelope = 4 << 20

// writeEnvelope writes a page of objects as an envelope (section 3.7), the
// stored bodies verbatim.
func writeEnvelope(w http.ResponseWriter, page *sharing.Page, q *params) {
	size := 64 + len(page.Next)
	for _, it := range page.Items {
		size += len(it.Body) + 1
	}
	bp := envelopePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledEnvelope {
			envelopePool.Put(bp)
		}
	}()
	if cap(*bp) < size {
		*bp = make([]byte, 0, size)
	}
	buf := bytes.NewBuffer((*bp)[:0])
	defer func() { *bp = buf.Bytes()[:0] }()
	buf.WriteByte('{')
	sep := ""
	if page.More {
		buf.WriteString(`"more":true`)
		sep = ","
		if page.Next != "" {
			buf.WriteString(`,"next":`)
			b, _ := json.Marshal(page.Next)
			buf.Write(b)
		}
	}
	if len(page.Items) > 0 {
		buf.WriteString(sep + `"objects":[`)
		for i, it := range page.Items {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(it.Body)
		}
		buf.WriteByte(']')
	}
	buf.WriteString("}\n")
	dateHeaders(w, page.Items, q)
	w.Header().Set("Content-Type", MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// Section 5.4.

func (h *Handler) getObjects(w http.ResponseWriter, r *http.Request, args []string, q *params) {
	page, err := h.svc.Objects(r.Context(), args[0], q.query, q.next)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeEnvelope(w, page, q)
	page.Release() // the bodies were copied into the envelope
}

// Section 5.6.

func (h *Handler) getObject(w http.ResponseWriter, r *http.Request, args []string, q *params) {
	page, err := h.svc.Object(r.Context(), args[0], args[1], q.query, q.next)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeEnvelope(w, page, q)
	page.Release() // the bodies were copied into the envelope
}

// Section 5.7.

func (h *Handler) deleteObject(w http.ResponseWriter, r *http.Request, args []string, q *params) {
	if err := h.svc.Delete(r.Context(), args[0], args[1], q.query); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(http.StatusOK)
}

// Section 5.8.

func (h *Handler) versions(w http.ResponseWriter, r *http.Request, args []string, q *params) {
	page, err := h.svc.Versions(r.Context(), args[0], args[1], q.query, q.next)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var out struct {
		More     bool     `json:"more,omitempty"`
		Next     string   `json:"next,omitempty"`
		Versions []string `json:"versions,omitempty"`
	}
	out.More, out.Next = page.More, page.Next
	for _, it := range page.Items {
		out.Versions = append(out.Versions, bulwark.FormatSTIXTime(it.Version))
	}
	dateHeaders(w, page.Items, q)
	writeJSON(w, http.StatusOK, out)
}

// Section 5.5.

func (h *Handler) addObjects(w http.ResponseWriter, r *http.Request, args []string, _ *params) {
	if ct := r.Header.Get("Content-Type"); !taxiiContent(ct) {
		h.error(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "the Content-Type must be "+MediaType)
		return
	}
	// Writers only: a collection that cannot be written is refused before
	// the body is read (403, or 404 when the caller may not see it).
	v, err := h.svc.FindCollection(r.Context(), args[0])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !v.CanWrite {
		h.error(w, http.StatusForbidden, "Forbidden", "you may not add to collection "+v.ID)
		return
	}
	max := h.cfg.MaxContentLength
	if r.ContentLength > max {
		h.tooLarge(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w)
			return
		}
		h.error(w, http.StatusBadRequest, "Bad Request", "could not read the request body")
		return
	}
	objs, rejected, err := decodeEnvelope(body, h.cfg.Limits)
	if err != nil {
		h.error(w, http.StatusUnprocessableEntity, "Unprocessable Entity", bulwark.ErrorMessage(err))
		return
	}
	st, err := h.svc.AddObjects(r.Context(), v.ID, objs, sharing.AddOptions{Source: "taxii", Rejected: rejected})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, statusOf(st))
}

func (h *Handler) tooLarge(w http.ResponseWriter) {
	h.error(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large",
		fmt.Sprintf("the body is larger than max_content_length (%d bytes)", h.cfg.MaxContentLength))
}

// Query parameters (section 3.4).

type paramSet uint8

const (
	pAddedAfter paramSet = 1 << iota
	pLimit
	pNext
	pID
	pType
	pVersion
	pSpec
)

var (
	listParams     = pAddedAfter | pLimit | pNext | pID | pType | pVersion | pSpec
	objectParams   = pAddedAfter | pLimit | pNext | pVersion | pSpec
	versionsParams = pAddedAfter | pLimit | pNext | pSpec
)

type params struct {
	query sharing.Query
	next  string
}

var paramBits = map[string]paramSet{
	"added_after": pAddedAfter, "limit": pLimit, "next": pNext,
	"match[id]": pID, "match[type]": pType, "match[version]": pVersion, "match[spec_version]": pSpec,
}

func badParam(format string, args ...any) error {
	return bulwark.Errorf(bulwark.EINVALID, format, args...)
}

// parseQuery reads and checks the query string against what the endpoint
// accepts: a malformed, repeated or misplaced parameter is 400. Match
// fields the specification does not define are ignored (section 3.4);
// any other unknown parameter is refused, so that a mistyped filter never
// silently returns everything.
func parseQuery(raw string, allowed paramSet) (*params, error) {
	out := &params{}
	if raw == "" {
		return out, nil
	}
	if len(raw) > 64<<10 {
		return nil, badParam("the query string is longer than 64 KiB")
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badParam("malformed query string")
	}
	for k, vs := range vals {
		bit, known := paramBits[k]
		if !known {
			if strings.HasPrefix(k, "match[") && strings.HasSuffix(k, "]") {
				continue
			}
			return nil, badParam("unknown query parameter %q", bulwark.Abbrev(k, 60))
		}
		if allowed&bit == 0 {
			return nil, badParam("query parameter %s is not supported by this endpoint", k)
		}
		if len(vs) != 1 {
			return nil, badParam("query parameter %s must not be repeated", k)
		}
		v := vs[0]
		if v == "" {
			return nil, badParam("query parameter %s is empty", k)
		}
		switch bit {
		case pAddedAfter:
			t, _, ok := stix.ParseTimestamp(v)
			if !ok {
				return nil, badParam("added_after %q is not a timestamp (YYYY-MM-DDTHH:MM:SS.ssssssZ)", bulwark.Abbrev(v, 60))
			}
			out.query.AddedAfter = t
		case pLimit:
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, badParam("limit %q is not a positive integer", bulwark.Abbrev(v, 30))
			}
			out.query.Limit = min(n, sharing.MaxPageSize)
		case pNext:
			if len(v) > 200 {
				return nil, badParam("next is not a cursor this server issued")
			}
			out.next = v
		case pID:
			ids, err := list(k, v, 1000, func(s string) bool { _, _, ok := stix.ParseID(s); return ok })
			if err != nil {
				return nil, err
			}
			out.query.IDs = ids
		case pType:
			types, err := list(k, v, 100, validType)
			if err != nil {
				return nil, err
			}
			out.query.Types = types
		case pSpec:
			specs, err := list(k, v, 10, validSpec)
			if err != nil {
				return nil, err
			}
			out.query.SpecVersions = specs
		case pVersion:
			f, err := sharing.ParseVersions(v)
			if err != nil {
				return nil, err
			}
			out.query.Versions = f
		}
	}
	return out, nil
}

// list splits a comma-separated match value, checking each value and
// refusing repeats.
func list(name, v string, max int, ok func(string) bool) ([]string, error) {
	parts := strings.Split(v, ",")
	if len(parts) > max {
		return nil, badParam("%s: at most %d values", name, max)
	}
	seen := map[string]bool{}
	for _, p := range parts {
		if !ok(p) {
			return nil, badParam("%s: %q is malformed", name, bulwark.Abbrev(p, 60))
		}
		if seen[p] {
			return nil, badParam("%s: %q is repeated", name, bulwark.Abbrev(p, 60))
		}
		seen[p] = true
	}
	return parts, nil
}

// validType checks a STIX type name: 3 to 250 of a-z, 0-9, '-'.
func validType(t string) bool {
	if len(t) < 3 || len(t) > 250 || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validSpec checks "n.m".
func validSpec(s string) bool {
	maj, minor, ok := strings.Cut(s, ".")
	if !ok || maj == "" || minor == "" || len(s) > 9 {
		return false
	}
	for _, c := range maj + minor {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
