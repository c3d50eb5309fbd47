package auth

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sqlstore"
)

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	st    *sqlstore.DB
	path  string
	svc   *Service
	clock *fakeClock
	users map[string]*bulwark.User // by e-mail
}

func sysCtx() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
}

// newFixture opens a real store with two organizations and users.
func newFixture(t testing.TB, opt Options) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.db")
	st, err := sqlstore.Open(sysCtx(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tx, err := st.BeginImport(sysCtx())
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PutOrganizations(sysCtx(), []bulwark.Organization{
		{ID: "city", Name: "City", Purview: bulwark.PurviewCity},
		{ID: "port", Name: "Port", Purview: bulwark.PurviewPrivate},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(sysCtx()); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	opt.Now, opt.Argon = clock.Now, cheap
	f := &fixture{st: st, path: path, svc: New(st, opt, nil), clock: clock, users: map[string]*bulwark.User{}}
	for _, u := range []struct {
		email, org string
		role       bulwark.Role
	}{{"ana@city.example", "city", bulwark.RoleAdmin}, {"bo@city.example", "city", bulwark.RoleViewer}, {"cy@port.example", "port", bulwark.RoleAnalyst}} {
		hash, err := HashPasswordParams("pw-"+u.email, cheap)
		if err != nil {
			t.Fatal(err)
		}
		user := &bulwark.User{Org: u.org, Email: u.email, Name: u.email, Role: u.role, PasswordHash: hash}
		if err := st.CreateUser(sysCtx(), user); err != nil {
			t.Fatal(err)
		}
		f.users[u.email] = user
	}
	return f
}

// token creates an API token for the user with e-mail.
func (f *fixture) token(t testing.TB, email string) (string, *bulwark.Token) {
	t.Helper()
	secret, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	tok := &bulwark.Token{UserID: f.users[email].ID, Name: "t", Hash: hash}
	if err := f.st.CreateToken(sysCtx(), tok); err != nil {
		t.Fatal(err)
	}
	return secret, tok
}

func bearer(secret string) *http.Request {
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+secret)
	return r
}

func withCookie(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	return r
}

func TestLoginAndAuthenticate(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	c, u, err := f.svc.Login(ctx, " ANA@city.example ", "pw-ana@city.example", "192.0.2.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ana@city.example" {
		t.Errorf("logged in as %q", u.Email)
	}
	p, ok := f.svc.Authenticate(withCookie(c))
	if !ok || p.UserID != u.ID || p.Org != "city" || p.Role != bulwark.RoleAdmin || p.System {
		t.Errorf("Authenticate(session) = %+v, %v", p, ok)
	}
	secret, _ := f.token(t, "cy@port.example")
	p, ok = f.svc.Authenticate(bearer(secret))
	if !ok || p.Org != "port" || p.Role != bulwark.RoleAnalyst || p.Name != "token:t" {
		t.Errorf("Authenticate(token) = %+v, %v", p, ok)
	}
	// A bad Authorization header is not rescued by a good cookie.
	r := withCookie(c)
	r.Header.Set("Authorization", "Bearer nope")
	if _, ok := f.svc.Authenticate(r); ok {
		t.Error("invalid bearer token with a valid cookie authenticated")
	}
	// Logout ends the session.
	expired, err := f.svc.Logout(ctx, withCookie(c))
	if err != nil {
		t.Fatal(err)
	}
	if expired.MaxAge >= 0 || expired.Value != "" {
		t.Errorf("logout cookie %+v does not expire", expired)
	}
	if _, ok := f.svc.Authenticate(withCookie(c)); ok {
		t.Error("session still valid after logout")
	}
	// Sessions expire.
	c, _, err = f.svc.Login(ctx, "ana@city.example", "pw-ana@city.example", "192.0.2.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(13 * time.Hour)
	if _, ok := f.svc.Authenticate(withCookie(c)); ok {
		t.Error("session valid after its TTL")
	}
}

// TestAU01_BruteForceThrottled makes 1,000 guesses against one account and
// 1,000 spread over accounts from one address: beyond the limit every
// attempt is refused with ERATELIMIT, even with the right password.
func TestAU01_BruteForceThrottled(t *testing.T) {
	f := newFixture(t, Options{LoginLimit: 5, LoginWindow: 15 * time.Minute})
	ctx := context.Background()
	limited, succeeded := 0, 0
	for i := range 1000 {
		pw := "guess-" + strconv.Itoa(i)
		if i%100 == 99 {
			pw = "pw-bo@city.example" // the right one, now and then
		}
		_, _, err := f.svc.Login(ctx, "bo@city.example", pw, "198.51.100."+strconv.Itoa(i%250)+":1")
		switch bulwark.ErrorCode(err) {
		case "":
			succeeded++
		case bulwark.ERATELIMIT:
			limited++
			if after, ok := RetryAfter(err); !ok || after <= 0 || after > 15*time.Minute {
				t.Fatalf("Retry-After %v", after)
			}
		}
	}
	if succeeded != 0 {
		t.Errorf("%d guesses succeeded beyond the limit", succeeded)
	}
	if beyond := 1000 - 5; limited < beyond*99/100 {
		t.Errorf("%d of %d attempts beyond the limit were rate limited", limited, beyond)
	}
	// Spread over accounts from one address.
	limited = 0
	for i := range 1000 {
		_, _, err := f.svc.Login(ctx, "user"+strconv.Itoa(i)+"@city.example", "x", "203.0.113.9:1")
		if bulwark.ErrorCode(err) == bulwark.ERATELIMIT {
			limited++
		}
	}
	if limited < 995*99/100 {
		t.Errorf("spray from one address: %d rate limited", limited)
	}
	// The window slides: after it, the right password works again.
	f.clock.Add(16 * time.Minute)
	if _, _, err := f.svc.Login(ctx, "bo@city.example", "pw-bo@city.example", "192.0.2.7:1"); err != nil {
		t.Errorf("login after the window: %v", err)
	}
}

// TestAU01_BearerGuessesThrottled sends invalid bearer tokens through the
// middleware: beyond the limit the address gets 429.
func TestAU01_BearerGuessesThrottled(t *testing.T) {
	f := newFixture(t, Options{LoginLimit: 5})
	h := f.svc.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bulwark.PrincipalFrom(r.Context()); ok {
			t.Error("guessed token authenticated")
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	n429 := 0
	for i := range 1000 {
		secret, _, _ := NewToken()
		r := bearer(secret)
		r.RemoteAddr = "198.51.100.1:5555"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusTooManyRequests {
			n429++
			if rec.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		} else if i >= 20 {
			t.Fatalf("attempt %d answered %d", i, rec.Code)
		}
	}
	if n429 < 980*99/100 {
		t.Errorf("%d of 980 attempts beyond the limit got 429", n429)
	}
}

// TestAU02_DisableAndRevokeTakeEffectAtOnce replays 100 saved sessions and
// the user's tokens after the disable call returns.
func TestAU02_DisableAndRevokeTakeEffectAtOnce(t *testing.T) {
	f := newFixture(t, Options{LoginLimit: 1000})
	ctx := context.Background()
	var cookies []*http.Cookie
	for range 100 {
		c, _, err := f.svc.Login(ctx, "cy@port.example", "pw-cy@port.example", "192.0.2.1:1")
		if err != nil {
			t.Fatal(err)
		}
		cookies = append(cookies, c)
	}
	var secrets []string
	for range 5 {
		s, _ := f.token(t, "cy@port.example")
		secrets = append(secrets, s)
	}
	revoked, tok := f.token(t, "cy@port.example")
	if _, ok := f.svc.Authenticate(bearer(revoked)); !ok {
		t.Fatal("fresh token refused")
	}
	if err := f.st.RevokeToken(sysCtx(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.svc.Authenticate(bearer(revoked)); ok {
		t.Error("revoked token accepted")
	}
	if _, ok := f.svc.Authenticate(bearer(secrets[0])); !ok {
		t.Fatal("other token refused after revoking one")
	}
	if err := f.st.SetUserDisabled(sysCtx(), f.users["cy@port.example"].ID, true); err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, c := range cookies {
		if _, ok := f.svc.Authenticate(withCookie(c)); ok {
			accepted++
		}
	}
	for _, s := range secrets {
		if _, ok := f.svc.Authenticate(bearer(s)); ok {
			accepted++
		}
	}
	if accepted != 0 {
		t.Errorf("%d sessions/tokens accepted after disabling the user", accepted)
	}
	if _, _, err := f.svc.Login(ctx, "cy@port.example", "pw-cy@port.example", "192.0.2.1:1"); bulwark.ErrorCode(err) != bulwark.EUNAUTHORIZED {
		t.Errorf("disabled user login: %v", err)
	}
}

// TestAU03_NoIdentifierAsCredential feeds user IDs, UUIDs, empty values,
// "null", JWTs with alg none and stored hashes as credentials.
func TestAU03_NoIdentifierAsCredential(t *testing.T) {
	f := newFixture(t, Options{})
	c, _, err := f.svc.Login(context.Background(), "ana@city.example", "pw-ana@city.example", "192.0.2.1:1")
	if err != nil {
		t.Fatal(err)
	}
	secret, tok := f.token(t, "ana@city.example")
	id := strconv.FormatInt(f.users["ana@city.example"].ID, 10)
	jwt := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIn0."
	creds := []string{"", " ", "null", "undefined", "0", id, "1", "admin", "cli", "system",
		"00000000-0000-0000-0000-000000000000", "123e4567-e89b-12d3-a456-426614174000", jwt, jwt + "sig",
		HashSecret(secret), tok.Hash, secret[len(TokenPrefix):], HashSecret(c.Value), "bwk_" + HashSecret(secret)[:52],
		secret + " ", " " + secret + "x", "bwk_null"}
	for _, cred := range creds {
		for _, hdr := range []string{"Bearer " + cred, cred, "Basic " + cred, "Token " + cred, "bearer" + cred} {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", hdr)
			if p, ok := f.svc.Authenticate(r); ok {
				t.Errorf("Authorization %q accepted as %+v", hdr, p)
			}
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cred})
		if p, ok := f.svc.Authenticate(r); ok {
			t.Errorf("session cookie %q accepted as %+v", cred, p)
		}
	}
	// Two Authorization headers are refused, even if one is valid.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Authorization", "Bearer "+secret)
	r.Header.Add("Authorization", "Bearer null")
	if _, ok := f.svc.Authenticate(r); ok {
		t.Error("two Authorization headers accepted")
	}
	for _, pw := range []string{"", "null", id} {
		if _, _, err := f.svc.Login(context.Background(), "ana@city.example", pw, "192.0.2.2:1"); err == nil {
			t.Errorf("password %q accepted", pw)
		}
	}
}

// TestAU04_NoPlaintextSecretsStored logs in and makes tokens, then searches
// the database files for the secrets.
func TestAU04_NoPlaintextSecretsStored(t *testing.T) {
	f := newFixture(t, Options{})
	var secrets []string
	for range 10 {
		c, _, err := f.svc.Login(context.Background(), "ana@city.example", "pw-ana@city.example", "192.0.2.1:1")
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, c.Value)
		s, _ := f.token(t, "bo@city.example")
		secrets = append(secrets, s, s[len(TokenPrefix):])
	}
	if len(secrets) != 30 || secrets[0] == secrets[3] {
		t.Fatal("sessions are not new on every login")
	}
	var db []byte
	files, _ := filepath.Glob(f.path + "*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		db = append(db, b...)
	}
	if len(db) == 0 {
		t.Fatal("no database files found")
	}
	for _, s := range secrets {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("secret %q…  stored in plaintext", s[:8])
		}
	}
	if bytes.Contains(db, []byte("pw-ana@city.example")) {
		t.Error("a plaintext password is stored")
	}
}

// TestAU05_NoEnumeration compares failures for an unknown user, a wrong
// password and a disabled user.
func TestAU05_NoEnumeration(t *testing.T) {
	f := newFixture(t, Options{LoginLimit: 100})
	if err := f.st.SetUserDisabled(sysCtx(), f.users["bo@city.example"].ID, true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var msgs []string
	for _, try := range [][2]string{
		{"nobody@city.example", "pw"},
		{"ana@city.example", "wrong"},
		{"bo@city.example", "pw-bo@city.example"},
		{"", ""},
	} {
		_, u, err := f.svc.Login(ctx, try[0], try[1], "192.0.2.3:1")
		if err == nil || u != nil {
			t.Fatalf("login %v succeeded", try)
		}
		msgs = append(msgs, bulwark.ErrorCode(err)+": "+err.Error())
	}
	for _, m := range msgs[1:] {
		if m != msgs[0] {
			t.Errorf("different failures: %q vs %q", m, msgs[0])
		}
	}
}

// TestUI02_CookieAndCSRF checks cookie flags and the per-session CSRF token.
func TestUI02_CookieAndCSRF(t *testing.T) {
	for _, secure := range []bool{false, true} {
		f := newFixture(t, Options{SecureCookies: secure})
		c1, _, err := f.svc.Login(context.Background(), "ana@city.example", "pw-ana@city.example", "192.0.2.1:1")
		if err != nil {
			t.Fatal(err)
		}
		if c1.Name != SessionCookie || !c1.HttpOnly || c1.SameSite != http.SameSiteLaxMode || c1.Secure != secure || c1.Path != "/" || c1.MaxAge <= 0 {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Secure=%v, Path=/", c1, secure)
		}
		c2, _, _ := f.svc.Login(context.Background(), "ana@city.example", "pw-ana@city.example", "192.0.2.1:1")
		tok1, tok2 := f.svc.CSRFToken(withCookie(c1)), f.svc.CSRFToken(withCookie(c2))
		if tok1 == "" || tok1 == tok2 {
			t.Fatalf("CSRF tokens %q, %q: want distinct per session", tok1, tok2)
		}
		post := func(c *http.Cookie, token string, header bool) *http.Request {
			r := httptest.NewRequest("POST", "/x", nil)
			if !header && token != "" {
				r = httptest.NewRequest("POST", "/x", bytes.NewBufferString(CSRFField+"="+token))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if header {
				r.Header.Set(CSRFHeader, token)
			}
			if c != nil {
				r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
			return r
		}
		for _, tc := range []struct {
			name string
			r    *http.Request
			want bool
		}{
			{"form token", post(c1, tok1, false), true},
			{"header token", post(c1, tok1, true), true},
			{"no token", post(c1, "", false), false},
			{"other session's token", post(c1, tok2, false), false},
			{"forged token", post(c1, forge(tok1), true), false},
			{"no session", post(nil, tok1, false), false},
		} {
			if got := f.svc.CheckCSRF(tc.r); got != tc.want {
				t.Errorf("%s: CheckCSRF = %v, want %v", tc.name, got, tc.want)
			}
		}
		secret, _ := f.token(t, "ana@city.example")
		r := bearer(secret)
		r.Method = "POST"
		if !f.svc.CheckCSRF(r) {
			t.Error("bearer-token request failed the CSRF check")
		}
	}
}

// TestAuditOfLogins checks that failed and successful logins and token use
// reach the audit log, and token use only once per interval.
func TestAuditOfLogins(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	f.svc.Login(ctx, "ana@city.example", "wrong", "192.0.2.1:1")
	f.svc.Login(ctx, "ghost@city.example", "wrong", "192.0.2.1:1")
	f.svc.Login(ctx, "ana@city.example", "pw-ana@city.example", "192.0.2.1:1")
	secret, _ := f.token(t, "ana@city.example")
	for range 5 {
		f.svc.Authenticate(bearer(secret))
	}
	es, err := f.st.ListAudit(sysCtx(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range es {
		count[e.Action+"/"+e.Outcome]++
	}
	for k, want := range map[string]int{"login.fail/denied": 2, "login.ok/ok": 1, "token.use/ok": 1} {
		if count[k] != want {
			t.Errorf("audit %s: %d entries, want %d (all: %v)", k, count[k], want, count)
		}
	}
	if ok, problem := bulwark.VerifyAudit(es, "", 0); problem != "" {
		t.Errorf("audit chain broken after %d: %s", ok, problem)
	}
}

// forge changes the last character of a token (to one it is not).
func forge(tok string) string {
	last := "0"
	if strings.HasSuffix(tok, "0") {
		last = "1"
	}
	return tok[:len(tok)-1] + last
}
