package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/sqlstore"
	"bulwark/internal/web"
	"bulwark/internal/web/webtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cheap argon2id parameters: tests log in many times.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const password = "correct horse battery staple"

// env is the web handler over a real SQLite store and the real auth
// service, holding the fixture city and one user per organization.
type env struct {
	t   *testing.T
	srv *httptest.Server
	st  *sqlstore.DB
}

func newEnv(t *testing.T, opt webtest.Options) *env {
	t.Helper()
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "bulwark.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	city := webtest.City(opt)
	tx, err := st.BeginImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, put := range []func() error{
		func() error { return tx.PutOrganizations(ctx, city.Organizations) },
		func() error { return tx.PutServices(ctx, city.Services) },
		func() error { return tx.PutSystems(ctx, city.Systems) },
		func() error { return tx.PutAssets(ctx, city.Assets) },
	} {
		if err := put(); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	a := auth.New(st, auth.Options{Argon: cheap, LoginLimit: 1000}, nil)
	for _, u := range []bulwark.User{
		{Org: webtest.OrgWater, Email: "alice@water.example", Name: "Alice", Role: bulwark.RoleAnalyst},
		{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
		{Org: webtest.OrgWater, Email: "victor@water.example", Name: "Victor", Role: bulwark.RoleViewer},
		{Org: webtest.OrgPort, Email: "pat@port.example", Name: "Pat", Role: bulwark.RoleAnalyst},
	} {
		hash, err := a.HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		u.PasswordHash = hash
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	h, err := web.New(st, a, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, st: st}
}

// client is a browser-like HTTP client with a cookie jar that does not
// follow redirects, so tests see them.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) get(c *http.Client, path string) (*http.Response, string) {
	e.t.Helper()
	res, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, string(b)
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// login fills in the login form as a browser would and returns the
// response to the POST.
func (e *env) login(c *http.Client, email, pw string) (*http.Response, string) {
	e.t.Helper()
	_, body := e.get(c, "/login")
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatal("no csrf token on the login page")
	}
	res, err := c.PostForm(e.srv.URL+"/login", url.Values{"email": {email}, "password": {pw}, "csrf_token": {m[1]}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (e *env) loggedIn(email string) *http.Client {
	e.t.Helper()
	c := e.client()
	res, body := e.login(c, email, password)
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login %s: %d %s", email, res.StatusCode, body)
	}
	return c
}

func TestLogin(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	t.Run("wrong password and unknown user look the same", func(t *testing.T) {
		r1, b1 := e.login(e.client(), "alice@water.example", "wrong")
		r2, b2 := e.login(e.client(), "nobody@water.example", "wrong")
		if r1.StatusCode != http.StatusUnauthorized || r2.StatusCode != http.StatusUnauthorized {
			t.Fatalf("statuses %d, %d; want 401", r1.StatusCode, r2.StatusCode)
		}
		msg := regexp.MustCompile(`id="login-error">([^<]*)<`)
		m1, m2 := msg.FindStringSubmatch(b1), msg.FindStringSubmatch(b2)
		if m1 == nil || m2 == nil || m1[1] != m2[1] {
			t.Fatalf("error messages differ or are missing: %q vs %q", m1, m2)
		}
		if strings.Contains(strings.ToLower(m1[1]), "not found") || strings.Contains(strings.ToLower(m1[1]), "no such") {
			t.Errorf("message reveals whether the user exists: %q", m1[1])
		}
		if !strings.Contains(b1, `value="alice@water.example"`) || strings.Contains(b1, `value="wrong"`) {
			t.Error("the form should keep the e-mail and drop the password")
		}
	})
	t.Run("success sets a hardened session cookie and returns to next", func(t *testing.T) {
		c := e.client()
		_, body := e.get(c, "/login?next=/assets%3Fkind%3Dplc")
		tok := tokenRE.FindStringSubmatch(body)[1]
		res, err := c.PostForm(e.srv.URL+"/login", url.Values{"email": {"alice@water.example"}, "password": {password}, "csrf_token": {tok}, "next": {"/assets?kind=plc"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/assets?kind=plc" {
			t.Fatalf("%d %q", res.StatusCode, res.Header.Get("Location"))
		}
		var session *http.Cookie
		for _, k := range res.Cookies() {
			if k.Name == auth.SessionCookie {
				session = k
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite == http.SameSiteNoneMode || session.SameSite == http.SameSiteDefaultMode {
			t.Fatalf("session cookie %+v: want HttpOnly and SameSite", session)
		}
		res, _ = e.get(c, "/")
		if res.StatusCode != 200 {
			t.Fatalf("dashboard after login: %d", res.StatusCode)
		}
		res, _ = e.get(c, "/login")
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("login page when logged in: %d, want redirect", res.StatusCode)
		}
	})
	t.Run("open redirect refused", func(t *testing.T) {
		c := e.client()
		_, body := e.get(c, "/login")
		tok := tokenRE.FindStringSubmatch(body)[1]
		res, err := c.PostForm(e.srv.URL+"/login", url.Values{"email": {"alice@water.example"}, "password": {password}, "csrf_token": {tok}, "next": {"//evil.example/x"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.Header.Get("Location") != "/" {
			t.Fatalf("Location %q, want /", res.Header.Get("Location"))
		}
	})
}

// TestUI02_Logout checks that logout needs the session's CSRF token (a
// forged cross-site POST leaves the session alive) and ends the session.
func TestUI02_Logout(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	c := e.loggedIn("alice@water.example")
	_, page := e.get(c, "/")
	m := tokenRE.FindStringSubmatch(page)
	if m == nil || m[1] == "" {
		t.Fatal("no logout token on the dashboard")
	}
	for name, form := range map[string]url.Values{"no token": {}, "wrong token": {"csrf_token": {"00" + m[1][2:]}}} {
		res, err := c.PostForm(e.srv.URL+"/logout", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: logout status %d, want 403", name, res.StatusCode)
		}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/logout", strings.NewReader(url.Values{"csrf_token": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout with a valid token: %d, want 403", res.StatusCode)
	}
	if res, _ := e.get(c, "/services"); res.StatusCode != 200 {
		t.Fatalf("session should survive forged logouts: %d", res.StatusCode)
	}
	res, err = c.PostForm(e.srv.URL+"/logout", url.Values{"csrf_token": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?logged_out=1" {
		t.Fatalf("logout: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := e.get(c, "/services"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout /services: %d, want redirect to login", res.StatusCode)
	}
}

func TestPages(t *testing.T) {
	e := newEnv(t, webtest.Options{Meters: 120})
	c := e.loggedIn("alice@water.example")
	tests := []struct {
		path string
		want []string
	}{
		{"/", []string{"Dashboard", `id="sector-chart"`, "data-chart-data=", "water-wastewater", `id="top-spofs"`, "Water SCADA"}},
		{"/organizations", []string{"City Water Department", "ana@example.org", "city"}},
		{"/services", []string{"Drinking water supply", "420,000", "lvl-high", "1d", "12h", "1h", `class="spof-count"`}},
		{"/services?sector=transportation", []string{"No services match"}},
		{"/services?q=billing", []string{"Water billing"}},
		{"/services/water-supply", []string{"Drinking water supply", `data-graph-src="/services/water-supply/graph.json"`, "Power feeder 1", "common-mode", "Water SCADA", "needs 2"}},
		{"/systems", []string{"Water SCADA", "Smart meter head-end", "exposed"}},
		{"/systems/water-scada", []string{"Treatment plant PLC", "8h", "3d", "ot-engineer", "If this fails", "Drinking water supply"}},
		{"/assets", []string{"Power feeder 1", "cpe:2.3:h:itron:openway_riva", "Next page", "30,007"}},
		{"/assets?kind=plc", []string{"Treatment plant PLC", "cpe:2.3:h:siemens:simatic_s7-1200"}},
		{"/assets/plc-0001", []string{"simatic_s7-1200_firmware", "pkg:generic/siemens/simatic-s7-1200@4.5", "Main treatment plant", "Water SCADA"}},
		{"/criticality", []string{`id="population-chart"`, `id="ranking"`, "Water SCADA", "420,000"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res, body := e.get(c, tc.path)
			if res.StatusCode != 200 {
				t.Fatalf("status %d\n%s", res.StatusCode, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(body, "port-ops") || strings.Contains(body, "Crane PLC") {
				t.Error("page shows the port authority's data to the water department")
			}
		})
	}
	for _, path := range []string{"/services/nope", "/systems/nope", "/assets/nope", "/nope"} {
		if res, body := e.get(c, path); res.StatusCode != 404 || !strings.Contains(body, "Not found") {
			t.Errorf("GET %s: %d, want the 404 page", path, res.StatusCode)
		}
	}
}

func TestAssetPagination(t *testing.T) {
	e := newEnv(t, webtest.Options{Meters: 120})
	c := e.loggedIn("alice@water.example")
	seen := map[string]bool{}
	next := "/assets?kind=smart-meter"
	idRE := regexp.MustCompile(`href="/assets/(meter-\d+)"`)
	nextRE := regexp.MustCompile(`<a href="([^"]*)" class="next"`)
	pages := 0
	for next != "" {
		pages++
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		res, body := e.get(c, next)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", next, res.StatusCode)
		}
		for _, m := range idRE.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Fatalf("%s listed twice", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
			if !strings.Contains(next, "kind=smart-meter") {
				t.Fatalf("next link %q drops the filter", next)
			}
		}
	}
	if len(seen) != 120 || pages != 3 {
		t.Fatalf("saw %d meters on %d pages, want 120 on 3", len(seen), pages)
	}
}

// TestOrganizationScoping checks that a user of another organization sees
// none of the water department's city model, on any page.
func TestOrganizationScoping(t *testing.T) {
	e := newEnv(t, webtest.Options{Meters: 5})
	c := e.loggedIn("bob@port.example")
	for _, path := range []string{"/", "/services", "/systems", "/assets", "/criticality", "/organizations"} {
		res, body := e.get(c, path)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		for _, leak := range []string{"water-supply", "Drinking water", "Water SCADA", "plc-0001", "meter-0001"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s shows %q to the port authority", path, leak)
			}
		}
	}
	if _, body := e.get(c, "/services"); !strings.Contains(body, "Port operations") {
		t.Error("the port authority does not see its own service")
	}
	for _, path := range []string{"/services/water-supply", "/systems/water-scada", "/assets/plc-0001", "/services/water-supply/graph.json"} {
		if res, _ := e.get(c, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, res.StatusCode)
		}
	}
}

func TestServiceGraphJSON(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	c := e.loggedIn("alice@water.example")
	res, body := e.get(c, "/services/water-supply/graph.json")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var g web.GraphJSON
	if err := json.Unmarshal([]byte(body), &g); err != nil {
		t.Fatal(err)
	}
	flags := map[string]string{}
	for _, n := range g.Nodes {
		switch {
		case n.CommonMode:
			flags[n.ID] = "common-mode"
		case n.SPOF:
			flags[n.ID] = "spof"
		}
	}
	want := map[string]string{"water-scada": "spof", "plc-0001": "spof", "hmi-01": "spof", "feeder-1": "common-mode"}
	if diff := cmp.Diff(want, flags); diff != "" {
		t.Errorf("SPOF flags (-want +got):\n%s", diff)
	}
	if g.Service != "water-supply" || len(g.Edges) < 7 {
		t.Errorf("service %q with %d edges", g.Service, len(g.Edges))
	}
}

// TestUI01_PayloadsEscaped renders every page of a city whose every name,
// description and CPE is an XSS payload, and checks that no payload reaches
// the HTML unescaped. The browser test (e2e) checks that none runs.
func TestUI01_PayloadsEscaped(t *testing.T) {
	e := newEnv(t, webtest.Options{Payloads: true, Meters: 120})
	c := e.loggedIn("alice@water.example")
	paths := []string{"/", "/organizations", "/services", "/services/water-supply", "/services/water-billing", "/systems",
		"/systems/water-scada", "/systems/ami-headend", "/assets", "/assets?after=meter-0048", "/assets?after=meter-0098",
		"/assets/plc-0001", "/assets/meter-0001", "/criticality", "/services/water-supply/graph.json"}
	for _, path := range paths {
		res, body := e.get(c, path)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		if strings.HasSuffix(path, ".json") {
			if strings.ContainsAny(body, "<>") {
				t.Errorf("%s has unescaped < or >", path)
			}
		} else if p, ok := webtest.Contains(body); ok {
			t.Errorf("%s contains the payload %q unescaped", path, p)
		}
		if csp := res.Header.Get("Content-Security-Policy"); csp == "" || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}

// TestGolden compares two rendered pages with testdata/*.html (go test
// -update rewrites them). The CSRF token changes per session and is masked.
func TestGolden(t *testing.T) {
	e := newEnv(t, webtest.Options{Meters: 3})
	c := e.loggedIn("alice@water.example")
	for _, tc := range []struct{ path, file string }{
		{"/services", "services.html"},
		{"/services/water-supply", "service.html"},
		{"/assets", "assets.html"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, body := e.get(c, tc.path)
			got := tokenRE.ReplaceAllString(body, `name="csrf_token" value="TOKEN"`)
			file := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s", tc.path, file, diff)
			}
		})
	}
}

// testWriter sends the handler's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestHostileQueries sends malformed and oversized filters and cursors:
// every list page answers normally, never 500, and reflects nothing
// unescaped.
func TestHostileQueries(t *testing.T) {
	e := newEnv(t, webtest.Options{Meters: 3})
	c := e.loggedIn("alice@water.example")
	long := strings.Repeat("A", 20000)
	script := url.QueryEscape(`"><script>window.__xss=1</script>`)
	for _, path := range []string{
		"/services?q=" + long, "/services?sector=" + script, "/services?owner=" + script + "&after=%00%ff",
		"/assets?after=" + script + "&kind=" + script + "&system=" + script, "/assets?q=%25%5F%27", "/assets?after=" + long,
		"/systems?q=" + script, "/organizations?after=zzzz", "/login?next=" + script,
	} {
		res, body := e.get(c, path)
		if res.StatusCode >= 500 {
			t.Errorf("%.60s: status %d", path, res.StatusCode)
		}
		if strings.Contains(body, "<script>window.__xss") {
			t.Errorf("%.60s reflects the script unescaped", path)
		}
	}
}
