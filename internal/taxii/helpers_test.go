package taxii_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
	"bulwark/internal/taxii"
)

// env is a TAXII server over a small world:
//
//   - community "metro": water (owner), power, port; the city's CISO office
//     manages it;
//   - collection main: water and power read and write, port reads;
//   - collection drop: power may write but not read; water reads and writes;
//   - hospital belongs to no community.
type env struct {
	t                                     *testing.T
	w                                     *sharingtest.World
	srv                                   *httptest.Server
	water, waterViewer, power, port, hosp *sharingtest.User
	city                                  *sharingtest.User
	main, drop                            string
	root                                  string
	maxLen                                int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	w := sharingtest.Open(t, false, sharingtest.Orgs("city", "water", "power", "port", "hospital"))
	e := &env{t: t, w: w, city: w.AddUser(t, "city", bulwark.RoleAdmin), water: w.AddUser(t, "water", bulwark.RoleAnalyst),
		waterViewer: w.AddUser(t, "water", bulwark.RoleViewer), power: w.AddUser(t, "power", bulwark.RoleAnalyst),
		port: w.AddUser(t, "port", bulwark.RoleAnalyst), hosp: w.AddUser(t, "hospital", bulwark.RoleAnalyst), maxLen: 64 << 10}
	com := &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "water", Owner: true}, {Org: "power"}, {Org: "port"}}}
	if err := w.Svc.CreateCommunity(e.city.Ctx(), com); err != nil {
		t.Fatal(err)
	}
	main := &bulwark.Collection{Community: "metro", Title: "Indicators", Alias: "indicators", Access: []bulwark.CollectionAccess{
		{Org: "water", CanRead: true, CanWrite: true}, {Org: "power", CanRead: true, CanWrite: true}, {Org: "port", CanRead: true}}}
	drop := &bulwark.Collection{Community: "metro", Title: "Drop box", Access: []bulwark.CollectionAccess{
		{Org: "water", CanRead: true, CanWrite: true}, {Org: "power", CanWrite: true}}}
	for _, c := range []*bulwark.Collection{main, drop} {
		if err := w.Svc.CreateCollection(e.city.Ctx(), c); err != nil {
			t.Fatal(err)
		}
	}
	e.main, e.drop = main.ID, drop.ID
	mux := http.NewServeMux()
	h := taxii.New(w.Svc, taxii.Config{Title: "Test", Root: "api1", MaxContentLength: e.maxLen}, nil)
	mux.Handle(taxii.Prefix, h)
	mux.Handle(strings.TrimSuffix(taxii.Prefix, "/"), h)
	e.srv = httptest.NewServer(w.Auth.Middleware(mux))
	t.Cleanup(e.srv.Close)
	e.root = "/taxii2/api1/"
	return e
}

// resp is a response with its body read.
type resp struct {
	*http.Response
	body []byte
}

func (r *resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.body)
	}
	return m
}

// req is one request: the user's bearer token unless auth is set, the
// TAXII media type as Accept unless accept is set ("-" sends none).
type req struct {
	method, path string
	user         *sharingtest.User
	auth         string
	accept       string
	contentType  string
	body         []byte
	chunked      bool
}

func (e *env) do(t *testing.T, r req) *resp {
	t.Helper()
	if r.method == "" {
		r.method = "GET"
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(bytes.NewReader(r.body)) // unknown length: sent chunked
		}
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.auth == "-":
	case r.auth != "":
		hr.Header.Set("Authorization", r.auth)
	case r.user != nil:
		hr.Header.Set("Authorization", "Bearer "+r.user.Token)
	}
	switch r.accept {
	case "-":
	case "":
		hr.Header.Set("Accept", taxii.MediaType)
	default:
		hr.Header.Set("Accept", r.accept)
	}
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	res, err := e.srv.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &resp{res, b}
}

func basic(u *sharingtest.User) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Email+":"+u.Password))
}

func (e *env) col(id string) string { return e.root + "collections/" + id + "/" }

// indicator returns a valid STIX 2.1 indicator JSON.
func indicator(id string, modified time.Time, marking string) []byte {
	refs := ""
	if marking != "" {
		refs = fmt.Sprintf(`,"object_marking_refs":[%q]`, marking)
	}
	ts := stix.FormatTimestamp(modified)
	return []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"C2",`+
		`"pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":%q%s}`, id, ts, ts, ts, refs))
}

func newID(typ string) string { return typ + "--" + uuid.NewString() }

func envelope(objs ...[]byte) []byte {
	return []byte(`{"objects":[` + string(bytes.Join(objs, []byte(","))) + `]}`)
}

// post adds objects to a collection over TAXII and returns the status.
func (e *env) post(t *testing.T, u *sharingtest.User, col string, objs ...[]byte) map[string]any {
	t.Helper()
	r := e.do(t, req{method: "POST", path: e.col(col) + "objects/", user: u, contentType: taxii.MediaType, body: envelope(objs...)})
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d %s", r.StatusCode, r.body)
	}
	return r.json(t)
}

// publish adds one object through the service with an explicit scope.
func (e *env) publish(t *testing.T, u *sharingtest.User, col string, obj []byte, m bulwark.TLP, orgs []string, users []int64) {
	t.Helper()
	if _, err := e.w.Svc.Publish(u.Ctx(), sharing.PublishRequest{Collection: col, Object: obj, Marking: m, Orgs: orgs, Users: users}); err != nil {
		t.Fatal(err)
	}
}

// objectIDs returns the ids of an envelope's objects.
func objectIDs(t *testing.T, r *resp) []string {
	t.Helper()
	var env struct {
		Objects []struct {
			ID string `json:"id"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("not an envelope: %v: %s", err, r.body)
	}
	var ids []string
	for _, o := range env.Objects {
		ids = append(ids, o.ID)
	}
	return ids
}

func wantStatus(t *testing.T, what string, r *resp, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s: status %d, want %d (%s)", what, r.StatusCode, status, strings.TrimSpace(string(r.body)))
	}
}
