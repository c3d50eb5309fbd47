package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/citymodel"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

// cheapArgon keeps password hashing fast in tests.
var cheapArgon = auth.Params{Memory: 64, Time: 1, Threads: 1}

// worldOrgs are the tenants of the test world: a city, utilities, a port,
// a hospital, a state agency and a university. shares lists who each
// shares its city model with. Sharing is not transitive: power shares with
// water and water with the city, but the city must not see power.
var worldOrgs = []struct {
	id, purview      string
	shares           []string
	nSvc, nSys, nDev int
}{
	{"city", "city", nil, 2, 2, 3},
	{"water", "city", []string{"city"}, 2, 2, 3},
	{"port", "private", []string{"city"}, 2, 2, 3},
	{"hospital", "private", nil, 2, 2, 3},
	{"power", "private", []string{"water", "hospital"}, 1, 1, 2},
	{"transit", "city", []string{"city"}, 1, 1, 2},
	{"state", "state", nil, 1, 1, 2},
	{"univ", "academic", []string{"hospital"}, 1, 1, 2},
}

// worldYAML is a city in which every organization has services, systems
// and assets; IDs are prefixed with the owner ("water-svc-1"), and no ID is
// a substring of another, so that output can be scanned for foreign IDs.
func worldYAML() string {
	var b strings.Builder
	b.WriteString("version: 1\norganizations:\n")
	for _, o := range worldOrgs {
		fmt.Fprintf(&b, "  - {id: %s, name: %s Org, purview: %s", o.id, strings.ToUpper(o.id[:1])+o.id[1:], o.purview)
		if len(o.shares) > 0 {
			fmt.Fprintf(&b, ", shares_with: [%s]", strings.Join(o.shares, ", "))
		}
		b.WriteString("}\n")
	}
	b.WriteString("services:\n")
	for _, o := range worldOrgs {
		for i := 1; i <= o.nSvc; i++ {
			fmt.Fprintf(&b, "  - {id: %s-svc-%d, name: %s service %d, owner: %s, sector: water-wastewater, population: %d,\n", o.id, i, o.id, i, o.id, 1000*i)
			fmt.Fprintf(&b, "     category: {confidentiality: low, integrity: high, availability: high}, depends_on: [{on: %s-sys-%d}]}\n", o.id, i)
		}
	}
	b.WriteString("systems:\n")
	for _, o := range worldOrgs {
		for i := 1; i <= o.nSys; i++ {
			fmt.Fprintf(&b, "  - {id: %s-sys-%d, name: %s system %d, owner: %s, zone: ot}\n", o.id, i, o.id, i, o.id)
		}
	}
	b.WriteString("assets:\n")
	for _, o := range worldOrgs {
		for i := 1; i <= o.nDev; i++ {
			fmt.Fprintf(&b, "  - {id: %s-dev-%d, name: %s device %d, owner: %s, kind: plc, vendor: siemens, system: %s-sys-%d}\n",
				o.id, i, o.id, i, o.id, o.id, 1+i%o.nSys)
		}
	}
	return b.String()
}

// world is a running API over a real store holding worldYAML, with one user
// (and API token) of each role in each organization.
type world struct {
	t     *testing.T
	st    *sqlstore.DB
	auth  *auth.Service
	srv   *httptest.Server
	api   *API
	users map[string]*worldUser // "water/admin"
	logs  *bytes.Buffer

	mu      *sync.Mutex
	covered map[string]bool // route patterns requests were sent to

	missingCache map[string]response
}

// with returns w reporting to t, for use in parallel subtests.
func (w *world) with(t *testing.T) *world {
	c := *w
	c.t = t
	return &c
}

type worldUser struct {
	key   string
	user  bulwark.User
	token string // API token secret
	tokID int64
}

// visible reports whether a user of org may read what owner owns.
func visible(org, owner string) bool {
	if org == owner {
		return true
	}
	for _, o := range worldOrgs {
		if o.id == owner {
			return slices.Contains(o.shares, org)
		}
	}
	return false
}

func systemCtx() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
}

func newWorld(t *testing.T, opt auth.Options) *world {
	t.Helper()
	return newWorldDSN(t, filepath.Join(t.TempDir(), "bulwark.db"), opt)
}

// forEachStore runs f against a SQLite store and a PostgreSQL one (skipped
// without a server outside CI).
func forEachStore(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, filepath.Join(t.TempDir(), "bulwark.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, testenv.PostgresSchemaDSN(t)) })
}

func newWorldDSN(t *testing.T, dsn string, opt auth.Options) *world {
	t.Helper()
	ctx := systemCtx()
	st, err := sqlstore.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src := citymodel.Source{Name: "world.yaml", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(worldYAML())), nil }}
	if _, err := citymodel.Import(ctx, st, []citymodel.Source{src}, citymodel.ImportOptions{}); err != nil {
		t.Fatalf("import world: %v", err)
	}
	logs := new(bytes.Buffer)
	log := slog.New(slog.NewTextHandler(logs, nil))
	opt.Argon = cheapArgon
	a := auth.New(st, opt, log)
	w := &world{t: t, st: st, auth: a, users: map[string]*worldUser{}, logs: logs, mu: new(sync.Mutex), covered: map[string]bool{}, missingCache: map[string]response{}}
	w.api = newAPI(st, Services{}, a, log)
	w.srv = httptest.NewServer(w.api)
	t.Cleanup(w.srv.Close)
	for _, o := range worldOrgs {
		for _, role := range []bulwark.Role{bulwark.RoleAdmin, bulwark.RoleAnalyst, bulwark.RoleViewer} {
			w.addUser(o.id, role)
		}
	}
	return w
}

// addUser creates a user of org with role and an API token for it.
func (w *world) addUser(org string, role bulwark.Role) *worldUser {
	w.t.Helper()
	ctx := systemCtx()
	key := org + "/" + string(role)
	hash, err := auth.HashPasswordParams("password of "+key, cheapArgon)
	if err != nil {
		w.t.Fatal(err)
	}
	u := bulwark.User{Org: org, Email: string(role) + "@" + org + ".example", Name: key, Role: role, PasswordHash: hash}
	if err := w.st.CreateUser(ctx, &u); err != nil {
		w.t.Fatal(err)
	}
	secret, thash, err := auth.NewToken()
	if err != nil {
		w.t.Fatal(err)
	}
	tok := bulwark.Token{UserID: u.ID, Name: "test", Hash: thash}
	if err := w.st.CreateToken(ctx, &tok); err != nil {
		w.t.Fatal(err)
	}
	wu := &worldUser{key: key, user: u, token: secret, tokID: tok.ID}
	w.users[key] = wu
	return wu
}

// response is what a test sees of one HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// do sends one request as the user with key as (by API token; "" for none).
func (w *world) do(as, method, path, ctype, body string) response {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if body == "" {
		req.Body = nil
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if as != "" {
		u, ok := w.users[as]
		if !ok {
			w.t.Fatalf("no user %q", as)
		}
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	return w.send(req)
}

func (w *world) send(req *http.Request) response {
	w.t.Helper()
	if _, pattern := w.api.mux.Handler(req); pattern != "" {
		w.mu.Lock()
		w.covered[pattern] = true
		w.mu.Unlock()
	}
	res, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

// apiCase is one row of an API scenario table.
type apiCase struct {
	name   string
	as     string // user key, "" for anonymous
	method string
	path   string
	ctype  string
	body   string
	status int
	// check, when set, inspects the response further.
	check func(t *testing.T, r response)
}

func (w *world) run(t *testing.T, cases []apiCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.do(c.as, c.method, c.path, c.ctype, c.body)
			if r.status != c.status {
				t.Fatalf("%s %s as %q = %s, want status %d", c.method, c.path, c.as, r, c.status)
			}
			checkNoInternals(t, r)
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// internals are strings that must never appear in a response body (EH-01).
var internals = []string{"goroutine", "panic", "sql", "sqlite", "SELECT", "runtime.", ".go:", "/tmp/", "/home/", "/root/", "/usr/", "database/", "modernc", "stack"}

var tokenSecret = regexp.MustCompile(`bwk_[a-z2-7]+`)

func checkNoInternals(t *testing.T, r response) {
	t.Helper()
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/yaml") || strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
		return // exports and reports are data, not messages
	}
	// A new token's random secret may spell anything ("…fsqlk…").
	body := tokenSecret.ReplaceAllString(string(r.body), "bwk_SECRET")
	if strings.HasPrefix(body, `{"openapi"`) || strings.HasPrefix(body, "{\n  \"openapi\"") {
		return
	}
	for _, s := range internals {
		if strings.Contains(strings.ToLower(body), strings.ToLower(s)) {
			t.Errorf("response body leaks %q: %s", s, bulwark.Abbrev(body, 300))
		}
	}
}

// decodeBody unmarshals a JSON response.
func decodeBody[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response is not the expected JSON (%v): %s", err, bulwark.Abbrev(string(r.body), 300))
	}
	return v
}

// errorCode returns the error code of an error response.
func errorCode(t *testing.T, r response) string {
	t.Helper()
	return decodeBody[errorBody](t, r).Error.Code
}

// allIDs lists every entity of the world by kind ("service" etc.) and owner.
type entityRef struct{ kind, plural, id, owner string }

func allEntities() []entityRef {
	var out []entityRef
	for _, o := range worldOrgs {
		for i := 1; i <= o.nSvc; i++ {
			out = append(out, entityRef{"service", "services", fmt.Sprintf("%s-svc-%d", o.id, i), o.id})
		}
		for i := 1; i <= o.nSys; i++ {
			out = append(out, entityRef{"system", "systems", fmt.Sprintf("%s-sys-%d", o.id, i), o.id})
		}
		for i := 1; i <= o.nDev; i++ {
			out = append(out, entityRef{"asset", "assets", fmt.Sprintf("%s-dev-%d", o.id, i), o.id})
		}
	}
	return out
}
