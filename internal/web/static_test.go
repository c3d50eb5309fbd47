package web

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// bareHandler is the web handler without store or auth: enough for the
// pages that need neither (static files, the login form, refusals).
func bareHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := New(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStaticAssets(t *testing.T) {
	h := bareHandler(t)
	tests := []struct {
		path, wantType string
		wantStatus     int
		contains       string
	}{
		{"/static/vendor/htmx.min.js", "text/javascript", 200, "htmx"},
		{"/static/vendor/echarts.min.js", "text/javascript", 200, "echarts"},
		{"/static/vendor/htmx.LICENSE", "", 200, "Zero-Clause BSD"},
		{"/static/vendor/echarts.LICENSE", "", 200, "Apache License"},
		{"/static/js/app.js", "text/javascript", 200, "data-graph-src"},
		{"/static/css/bulwark.css", "text/css", 200, ".badge"},
		{"/static/", "", 404, ""},
		{"/static/vendor/", "", 404, ""},
		{"/static/nope.js", "", 404, ""},
		{"/static/../web.go", "", 307, ""}, // the mux cleans the path; /web.go is no file
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			if tc.wantType != "" && !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.wantType) {
				t.Errorf("Content-Type %q, want %s", rec.Header().Get("Content-Type"), tc.wantType)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
		})
	}
}

// TestNoInlineScriptOrStyle checks the templates themselves: the CSP
// forbids inline code, so none may creep in.
func TestNoInlineScriptOrStyle(t *testing.T) {
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		b, err := templateFS.ReadFile("templates/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ToLower(string(b))
		for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onerror=", " onsubmit=", "javascript:", "hx-on", "http://", "https://"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", e.Name(), bad)
			}
		}
		if strings.Count(s, "<script") != strings.Count(s, "<script src=\"/static/") {
			t.Errorf("%s has a script that is not a /static/ file", e.Name())
		}
	}
}

func TestLoginFormAndSecurityHeaders(t *testing.T) {
	h := bareHandler(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login?next=/services", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /login: %d", rec.Code)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("nosniff missing")
	}
	body := rec.Body.String()
	for _, want := range []string{`name="csrf_token" value="`, `name="next" value="/services"`, `type="password"`, `action="/login"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	var c *http.Cookie
	for _, k := range rec.Result().Cookies() {
		if k.Name == loginCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value == "" {
		t.Fatalf("login cookie = %+v, want HttpOnly SameSite=Strict with a value", c)
	}
	if strings.Contains(body, c.Value) {
		t.Error("the page reveals the cookie nonce itself")
	}
}

// TestUI02_ForgedLoginRejected posts the login form the way a cross-site
// page could: without the cookie-bound token, with a token from another
// browser, or flagged cross-site by the browser. None reaches
// authentication.
func TestUI02_ForgedLoginRejected(t *testing.T) {
	h := bareHandler(t)
	// A legitimate visitor's token and cookie.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	cookie := rec.Result().Cookies()[0]
	token := between(rec.Body.String(), `name="csrf_token" value="`, `"`)
	if token == "" {
		t.Fatal("no token on the login page")
	}
	form := func(tok string) string {
		return url.Values{"email": {"a@example.org"}, "password": {"pw"}, "csrf_token": {tok}}.Encode()
	}
	tests := []struct {
		name    string
		body    string
		cookie  *http.Cookie
		headers map[string]string
	}{
		{"no token, no cookie", form(""), nil, nil},
		{"token without cookie", form(token), nil, nil},
		{"cookie without token", form(""), cookie, nil},
		{"wrong token", form(strings.Repeat("0", 64)), cookie, nil},
		{"cross-site fetch metadata", form(token), cookie, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"foreign origin", form(token), cookie, map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/login", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			if tc.cookie != nil {
				req.AddCookie(tc.cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body %s", rec.Code, rec.Body)
			}
			for _, c := range rec.Result().Cookies() {
				if c.Name == "bulwark_session" && c.MaxAge >= 0 {
					t.Fatal("a session cookie was set")
				}
			}
		})
	}
}

// TestUI02_LoginCookieSecureOverTLS checks that the login-form cookie is
// marked Secure when the request came over TLS.
func TestUI02_LoginCookieSecureOverTLS(t *testing.T) {
	h := bareHandler(t)
	req := httptest.NewRequest("GET", "https://bulwark.example/login", nil)
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies over TLS: %+v", cookies)
	}
}

func TestLogoutWithoutSessionGoesToLogin(t *testing.T) {
	h := bareHandler(t)
	req := httptest.NewRequest("POST", "/logout", strings.NewReader("csrf_token=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("status %d location %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestUnauthenticatedIsSentToLogin(t *testing.T) {
	h := bareHandler(t)
	for _, path := range []string{"/", "/services", "/services/water-supply", "/assets?kind=plc", "/criticality", "/no-such-page"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
			t.Errorf("GET %s: %d %q, want 303 to /login", path, rec.Code, loc)
		}
		if path != "/" && loc != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s: Location %q does not return here", path, loc)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/services/x/graph.json", nil))
	if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("graph.json without login: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}
