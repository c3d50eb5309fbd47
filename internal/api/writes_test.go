package api

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
)

func TestWriteRoutes(t *testing.T) {
	w := newWorld(t, auth.Options{})
	var created createTokenResponse
	var newUser userDTO
	w.run(t, []apiCase{
		{name: "viewer may not delete", as: "port/viewer", method: "DELETE", path: "/api/v1/assets/port-dev-1", status: 403},
		{name: "viewer may not import", as: "port/viewer", method: "POST", path: "/api/v1/import", ctype: "application/yaml",
			body: "services:\n  - {id: port-svc-7, name: x, owner: port}\n", status: 403},
		{name: "analyst deletes own asset", as: "port/analyst", method: "DELETE", path: "/api/v1/assets/port-dev-1", status: 204},
		{name: "deleted asset is gone", as: "port/analyst", method: "GET", path: "/api/v1/assets/port-dev-1", status: 404},
		{name: "delete twice", as: "port/analyst", method: "DELETE", path: "/api/v1/assets/port-dev-1", status: 404},
		{name: "analyst deletes own system", as: "port/analyst", method: "DELETE", path: "/api/v1/systems/port-sys-2", status: 204},
		{name: "analyst deletes own service", as: "port/analyst", method: "DELETE", path: "/api/v1/services/port-svc-2", status: 204},
		{name: "import YAML", as: "port/analyst", method: "POST", path: "/api/v1/import", ctype: "application/yaml",
			body: "services:\n  - {id: port-svc-7, name: Ferry, owner: port, depends_on: [{on: port-sys-1}]}\n", status: 200,
			check: func(t *testing.T, r response) {
				res := decodeBody[importResultDTO](t, r)
				if res.Services != 1 || res.Created != 1 {
					t.Errorf("import result %+v", res)
				}
			}},
		{name: "import same again changes nothing", as: "port/analyst", method: "POST", path: "/api/v1/import", ctype: "application/yaml; charset=utf-8",
			body: "services:\n  - {id: port-svc-7, name: Ferry, owner: port, depends_on: [{on: port-sys-1}]}\n", status: 200,
			check: func(t *testing.T, r response) {
				if res := decodeBody[importResultDTO](t, r); res.Created != 0 || res.Updated != 0 || res.Unchanged != 1 {
					t.Errorf("re-import result %+v", res)
				}
			}},
		{name: "import gzip", as: "port/analyst", method: "POST", path: "/api/v1/import", ctype: "application/gzip",
			body: gzipString("assets:\n  - {id: port-crane-2, name: Crane 2, owner: port}\n"), status: 200},
		{name: "import unsupported type", as: "port/analyst", method: "POST", path: "/api/v1/import", ctype: "application/xml",
			body: "<city/>", status: 415},
		{name: "import empty", as: "port/analyst", method: "POST", path: "/api/v1/import", ctype: "application/yaml", status: 400},
		{name: "import invalid lists every problem", as: "port/analyst", method: "POST", path: "/api/v1/import", ctype: "application/yaml",
			body: "services:\n  - {id: port-svc-8, name: x, owner: port, sector: nope}\n  - {id: 'bad id', name: y, owner: port}\n", status: 422,
			check: func(t *testing.T, r response) {
				e := decodeBody[errorBody](t, r).Error
				if e.Code != "invalid" || len(e.Details) < 2 || e.Details[0].Line == 0 || e.Details[0].Field == "" {
					t.Errorf("problem details %+v", e)
				}
			}},
		{name: "me as admin", as: "port/admin", method: "GET", path: "/api/v1/me", status: 200},
		{name: "create user", as: "port/admin", method: "POST", path: "/api/v1/users", ctype: "application/json",
			body: `{"email":"Dee@Port.example","name":"Dee","role":"analyst","password":"a long passphrase"}`, status: 201,
			check: func(t *testing.T, r response) {
				newUser = decodeBody[userDTO](t, r)
				if newUser.Org != "port" || newUser.Email != "dee@port.example" || newUser.Role != "analyst" {
					t.Errorf("created %+v", newUser)
				}
				if strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "password") {
					t.Errorf("response reveals the password hash: %s", r.body)
				}
			}},
		{name: "create user twice", as: "port/admin", method: "POST", path: "/api/v1/users", ctype: "application/json",
			body: `{"email":"dee@port.example","name":"Dee","role":"analyst","password":"a long passphrase"}`, status: 409},
		{name: "create user short password", as: "port/admin", method: "POST", path: "/api/v1/users", ctype: "application/json",
			body: `{"email":"e@port.example","name":"E","role":"analyst","password":"short"}`, status: 422},
		{name: "create user bad role", as: "port/admin", method: "POST", path: "/api/v1/users", ctype: "application/json",
			body: `{"email":"e@port.example","name":"E","role":"root","password":"a long passphrase"}`, status: 422},
		{name: "analyst may not create users", as: "port/analyst", method: "POST", path: "/api/v1/users", ctype: "application/json",
			body: `{"email":"f@port.example","name":"F","role":"admin","password":"a long passphrase"}`, status: 403},
		{name: "list users", as: "port/admin", method: "GET", path: "/api/v1/users", status: 200, check: func(t *testing.T, r response) {
			if n := len(decodeBody[struct{ Items []userDTO }](t, r).Items); n != 4 {
				t.Errorf("%d users, want 4", n)
			}
		}},
		{name: "viewer may not list users", as: "port/viewer", method: "GET", path: "/api/v1/users", status: 403},
		{name: "create token", as: "port/viewer", method: "POST", path: "/api/v1/tokens", ctype: "application/json",
			body: `{"name":"ci","expires_in":"90d"}`, status: 201, check: func(t *testing.T, r response) {
				created = decodeBody[createTokenResponse](t, r)
				if !strings.HasPrefix(created.Secret, "bwk_") || created.Token.ExpiresAt == nil || created.Token.Name != "ci" {
					t.Errorf("created token %+v", created)
				}
			}},
		{name: "token bad expiry", as: "port/viewer", method: "POST", path: "/api/v1/tokens", ctype: "application/json",
			body: `{"name":"ci","expires_in":"-1d"}`, status: 422},
		{name: "viewer lists own tokens", as: "port/viewer", method: "GET", path: "/api/v1/tokens", status: 200, check: func(t *testing.T, r response) {
			items := decodeBody[struct{ Items []tokenDTO }](t, r).Items
			if len(items) != 2 {
				t.Errorf("%d tokens, want 2", len(items))
			}
			if strings.Contains(string(r.body), "hash") || strings.Contains(string(r.body), "bwk_") {
				t.Errorf("token listing reveals secrets: %s", r.body)
			}
		}},
		{name: "admin lists the organization's tokens", as: "port/admin", method: "GET", path: "/api/v1/tokens", status: 200, check: func(t *testing.T, r response) {
			if n := len(decodeBody[struct{ Items []tokenDTO }](t, r).Items); n != 4 {
				t.Errorf("%d tokens, want 4", n)
			}
		}},
		{name: "audit as admin", as: "port/admin", method: "GET", path: "/api/v1/audit?limit=5", status: 200, check: func(t *testing.T, r response) {
			p := decodeBody[pageDTO[auditDTO]](t, r)
			if len(p.Items) != 5 || p.Next == "" {
				t.Errorf("audit page of %d, next %q", len(p.Items), p.Next)
			}
		}},
		{name: "audit verify", as: "port/admin", method: "GET", path: "/api/v1/audit/verify", status: 200, check: func(t *testing.T, r response) {
			v := decodeBody[auditVerifyDTO](t, r)
			if !v.OK || v.Verified < 5 || v.Scope != "organization" {
				t.Errorf("verify %+v", v)
			}
		}},
		{name: "audit as analyst", as: "port/analyst", method: "GET", path: "/api/v1/audit", status: 403},
		{name: "audit bad after", as: "port/admin", method: "GET", path: "/api/v1/audit?after=-1", status: 400},
	})

	// AU-02 through the API: revoking a token and disabling a user take
	// effect on the very next request.
	req, _ := http.NewRequest("GET", w.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+created.Secret)
	if r := w.send(req); r.status != 200 {
		t.Fatalf("new token: %s", r)
	}
	if r := w.do("port/viewer", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", created.Token.ID), "", ""); r.status != 204 {
		t.Fatalf("revoke: %s", r)
	}
	if r := w.send(req.Clone(req.Context())); r.status != 401 {
		t.Errorf("revoked token: %s, want 401", r)
	}
	if r := w.do("port/admin", "POST", fmt.Sprintf("/api/v1/users/%d/disable", w.users["port/analyst"].user.ID), "", ""); r.status != 200 {
		t.Fatalf("disable: %s", r)
	}
	if r := w.do("port/analyst", "GET", "/api/v1/me", "", ""); r.status != 401 {
		t.Errorf("disabled user's token: %s, want 401", r)
	}
	if r := w.do("port/admin", "POST", fmt.Sprintf("/api/v1/users/%d/disable", w.users["port/admin"].user.ID), "", ""); r.status != 409 {
		t.Errorf("disable self: %s, want 409", r)
	}
	// Every route was exercised by this test or the others in the package
	// is checked in TestEveryRouteExercised.
}

func gzipString(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

// TestImportCSV posts an asset inventory: rows without an owner belong to
// the caller's organization.
func TestImportCSV(t *testing.T) {
	w := newWorld(t, auth.Options{})
	r := w.do("port/analyst", "POST", "/api/v1/import", "text/csv", "id,name,kind,vendor\nport-crane-1,Crane 1,plc,siemens\n")
	if r.status != 200 {
		t.Fatalf("import CSV: %s", r)
	}
	if a := decodeBody[assetDTO](t, w.do("port/viewer", "GET", "/api/v1/assets/port-crane-1", "", "")); a.Owner != "port" {
		t.Errorf("CSV asset owner %q, want port", a.Owner)
	}
	r = w.do("port/analyst", "POST", "/api/v1/import", "text/csv", "id,name,owner\nport-crane-2,Crane 2,hospital\n")
	if r.status < 400 {
		t.Errorf("CSV row owned by another organization accepted: %s", r)
	}
}

// TestExport checks that an export holds exactly what the caller sees and
// that the export is audited.
func TestExport(t *testing.T) {
	w := newWorld(t, auth.Options{})
	for _, u := range w.users {
		r := w.do(u.key, "GET", "/api/v1/export", "", "")
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/yaml") {
			t.Fatalf("%s export: %s", u.key, bulwark.Abbrev(r.String(), 200))
		}
		for _, e := range allEntities() {
			if got, want := strings.Contains(string(r.body), "id: "+e.id+"\n"), visible(u.user.Org, e.owner); got != want {
				t.Errorf("%s export contains %s: %v, want %v", u.key, e.id, got, want)
			}
		}
		for _, o := range worldOrgs {
			if !visible(u.user.Org, o.id) && strings.Contains(string(r.body), "id: "+o.id+"\n") {
				t.Errorf("%s export contains hidden organization %s", u.key, o.id)
			}
		}
	}
	for _, as := range []string{"port/viewer", "port/analyst", "port/analyst"} {
		w.do(as, "GET", "/api/v1/export", "", "")
	}
	audit := decodeBody[pageDTO[auditDTO]](t, w.do("port/admin", "GET", "/api/v1/audit?limit=1000", "", ""))
	n := 0
	for _, e := range audit.Items {
		if e.Action == "city.export" {
			n++
		}
	}
	if n != 6 { // port's admin, analyst (three times) and viewer (twice)
		t.Errorf("%d city.export audit entries for port, want 6", n)
	}
}

// TestExportRoundTrip re-imports an organization's own export: it must
// change nothing.
func TestExportRoundTrip(t *testing.T) {
	w := newWorld(t, auth.Options{})
	body := w.do("port/analyst", "GET", "/api/v1/export", "", "").body
	r := w.do("port/analyst", "POST", "/api/v1/import", "application/yaml", string(body))
	if res := decodeBody[importResultDTO](t, r); r.status != 200 || res.Created != 0 || res.Updated != 0 {
		t.Errorf("re-import of own export: %s", r)
	}
	if r := w.do("city/viewer", "GET", "/api/v1/services/port-svc-1", "", ""); r.status != 200 {
		t.Errorf("after port re-imported its export, the city lost access: %s", r)
	}
}

// TestUI02_SessionRequestsNeedCSRFToken checks that the API accepts a
// browser session for reading, but for changes only with the session's
// CSRF token, and never another session's.
func TestUI02_SessionRequestsNeedCSRFToken(t *testing.T) {
	w := newWorld(t, auth.Options{})
	login := func() *http.Cookie {
		c, _, err := w.auth.Login(t.Context(), "analyst@port.example", "password of port/analyst", "192.0.2.1:1")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1, c2 := login(), login()
	csrf := func(c *http.Cookie) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(c)
		return w.auth.CSRFToken(req)
	}
	send := func(method, path string, c *http.Cookie, token string) response {
		req, _ := http.NewRequest(method, w.srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		return w.send(req)
	}
	if r := send("GET", "/api/v1/me", c1, ""); r.status != 200 {
		t.Fatalf("session read: %s", r)
	}
	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", 403},
		{"other session's token", csrf(c2), 403},
		{"garbage", "x", 403},
		{"own token", csrf(c1), 204},
	} {
		if r := send("DELETE", "/api/v1/assets/port-dev-2", c1, tc.token); r.status != tc.status {
			t.Errorf("%s: DELETE = %s, want %d", tc.name, r, tc.status)
		}
	}
}

// TestDeniedRequestsAudited checks that a request refused by its route's
// policy is written to the organization's audit log.
func TestDeniedRequestsAudited(t *testing.T) {
	w := newWorld(t, auth.Options{})
	if r := w.do("port/viewer", "DELETE", "/api/v1/assets/port-dev-1", "", ""); r.status != 403 {
		t.Fatalf("viewer delete: %s", r)
	}
	p := decodeBody[pageDTO[auditDTO]](t, w.do("port/admin", "GET", "/api/v1/audit?limit=1000", "", ""))
	for _, e := range p.Items {
		if e.Action == "api.denied" && e.Target == "DELETE /api/v1/assets/{id}" && e.Actor == "token:test" && e.Outcome == "denied" {
			return
		}
	}
	t.Errorf("no api.denied entry in %+v", p.Items)
}
