package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"bulwark"
)

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "bulwark_session"

// CSRFField is the form field (and CSRFHeader the header) that carries the
// per-session CSRF token back.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// Options tune a Service. Zero fields take the defaults shown.
type Options struct {
	Now           func() time.Time // time.Now
	SessionTTL    time.Duration    // 12h
	LoginLimit    int              // 5 failures per window, per account and per address
	LoginWindow   time.Duration    // 15m
	SecureCookies bool             // set Secure on cookies (serve over TLS)
	Argon         Params           // DefaultParams
	// TokenAuditInterval is how often the use of one API token is written to
	// the audit log (1h): once per request would turn every read into an
	// audit-log write.
	TokenAuditInterval time.Duration
}

// Service authenticates requests against a store.
type Service struct {
	st    bulwark.Store
	opt   Options
	log   *slog.Logger
	dummy string // hash verified for unknown users, so both paths cost the same

	logins *limiter // failed logins: "acct:"+email and "addr:"+host
	tokens *limiter // failed bearer tokens: "addr:"+host

	mu        sync.Mutex
	tokenSeen map[int64]time.Time // token ID -> last audited use

	basic *basicCache // verified HTTP Basic credentials (basic.go)
}

// New returns a Service over st.
func New(st bulwark.Store, opt Options, log *slog.Logger) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.LoginLimit <= 0 {
		opt.LoginLimit = 5
	}
	if opt.LoginWindow <= 0 {
		opt.LoginWindow = 15 * time.Minute
	}
	if opt.TokenAuditInterval <= 0 {
		opt.TokenAuditInterval = time.Hour
	}
	opt.Argon = opt.Argon.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dummy, err := HashPasswordParams(rand.Text(), opt.Argon)
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return &Service{
		st: st, opt: opt, log: log, dummy: dummy,
		logins:    newLimiter(opt.LoginLimit, opt.LoginWindow),
		tokens:    newLimiter(opt.LoginLimit*4, opt.LoginWindow),
		tokenSeen: make(map[int64]time.Time),
		basic:     newBasicCache(),
	}
}

// HashPassword hashes pw with the Service's argon2id parameters, for
// creating users and changing passwords.
func (s *Service) HashPassword(pw string) (string, error) { return HashPasswordParams(pw, s.opt.Argon) }

// errBadLogin is the single answer to an unknown user, a wrong password and
// a disabled account, so that the response does not reveal which it was.
var errBadLogin = bulwark.Errorf(bulwark.EUNAUTHORIZED, "invalid e-mail or password")

// rateLimitError is an ERATELIMIT error that knows when to retry.
type rateLimitError struct {
	err   *bulwark.Error
	after time.Duration
}

func (e *rateLimitError) Error() string { return e.err.Error() }
func (e *rateLimitError) Unwrap() error { return e.err }

func rateLimited(after time.Duration) error {
	return &rateLimitError{bulwark.Errorf(bulwark.ERATELIMIT, "too many failed attempts; try again later"), after}
}

// RetryAfter returns how long a rate-limited caller must wait, rounded up
// to whole seconds, and whether err is a rate-limit error at all.
func RetryAfter(err error) (time.Duration, bool) {
	var e *rateLimitError
	if !errors.As(err, &e) {
		return 0, false
	}
	return max(e.after.Round(time.Second), time.Second), true
}

// ClientAddr returns the host part of r.RemoteAddr. Forwarding headers are
// ignored: they are set by whoever calls.
func ClientAddr(r *http.Request) string { return hostOf(r.RemoteAddr) }

func hostOf(remoteAddr string) string {
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return h
	}
	return remoteAddr
}

// Login checks email and password and opens a new session. A failure is
// EUNAUTHORIZED with the same message whatever went wrong; beyond
// LoginLimit failures per LoginWindow for the account or the remote address,
// it is ERATELIMIT (see RetryAfter) without checking the password at all.
func (s *Service) Login(ctx context.Context, email, password, remoteAddr string) (*http.Cookie, *bulwark.User, error) {
	now := s.opt.Now()
	email = bulwark.NormalizeEmail(email)
	acct, addr := "acct:"+email, "addr:"+hostOf(remoteAddr)
	for _, k := range []string{acct, addr} {
		if b, after := s.logins.blocked(k, now); b {
			s.log.Warn("login rate limited", "key", k)
			return nil, nil, rateLimited(after)
		}
	}
	var u *bulwark.User
	if email != "" && len(email) <= 254 {
		var err error
		u, err = s.st.FindUserByEmail(ctx, email)
		if err != nil && bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			return nil, nil, fmt.Errorf("login: %w", err)
		}
	}
	ok := false
	if u != nil {
		ok = VerifyPassword(u.PasswordHash, password) && !u.Disabled
	} else {
		VerifyPassword(s.dummy, password) // same work as for a known user
	}
	if !ok {
		s.logins.fail(acct, now)
		s.logins.fail(addr, now)
		s.audit(ctx, u, bulwark.AuditEntry{Actor: printable(email), Action: "login.fail", Target: hostOf(remoteAddr), Outcome: "denied"})
		return nil, nil, errBadLogin
	}
	s.logins.reset(acct)
	secret, err := newSessionSecret()
	if err != nil {
		return nil, nil, err
	}
	csrf := make([]byte, 32)
	rand.Read(csrf)
	sess := &bulwark.Session{Hash: HashSecret(secret), UserID: u.ID, CSRF: hex.EncodeToString(csrf), CreatedAt: now, ExpiresAt: now.Add(s.opt.SessionTTL)}
	if err := s.st.CreateSession(ctx, sess); err != nil {
		return nil, nil, fmt.Errorf("login: %w", err)
	}
	s.audit(ctx, u, bulwark.AuditEntry{Actor: u.Email, Action: "login.ok", Target: hostOf(remoteAddr), Outcome: "ok"})
	return s.cookie(secret, sess.ExpiresAt), u, nil
}

func (s *Service) cookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.opt.SecureCookies,
	}
	if value == "" {
		c.MaxAge = -1
		c.Expires = time.Unix(0, 0)
	} else {
		c.Expires = expires
		c.MaxAge = int(expires.Sub(s.opt.Now()).Seconds())
	}
	return c
}

// Logout ends the session of r's cookie, if any, and returns the expired
// cookie to set.
func (s *Service) Logout(ctx context.Context, r *http.Request) (*http.Cookie, error) {
	expired := s.cookie("", time.Time{})
	c, err := r.Cookie(SessionCookie)
	if err != nil || !wellFormedSession(c.Value) {
		return expired, nil
	}
	if p, ok := s.Authenticate(r); ok {
		s.audit(ctx, nil, bulwark.AuditEntry{Org: p.Org, Actor: p.Name, Action: "logout", Outcome: "ok"})
	}
	if err := s.st.DeleteSession(ctx, HashSecret(c.Value)); err != nil && bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		return expired, fmt.Errorf("logout: %w", err)
	}
	return expired, nil
}

// authInfo is what Middleware learned about a request.
type authInfo struct {
	p       bulwark.Principal
	ok      bool
	bearer  bool   // an Authorization header was sent
	session string // hash of the session cookie, if authenticated by it
	csrfKey string
}

type infoKey struct{}

// Authenticate returns the caller of r: the owner of the API token in
// "Authorization: Bearer bwk_…", the user of "Authorization: Basic" (e-mail
// and password, basic.go), or else of the session cookie. A request
// with an Authorization header is judged by that header alone.
func (s *Service) Authenticate(r *http.Request) (bulwark.Principal, bool) {
	in := s.info(r)
	return in.p, in.ok
}

func (s *Service) info(r *http.Request) authInfo {
	if in, ok := r.Context().Value(infoKey{}).(authInfo); ok {
		return in
	}
	return s.authenticate(r)
}

func (s *Service) authenticate(r *http.Request) authInfo {
	ctx := r.Context()
	now := s.opt.Now()
	if h, present := r.Header["Authorization"]; present {
		in := authInfo{bearer: true}
		if len(h) != 1 {
			return in
		}
		scheme, secret, _ := strings.Cut(h[0], " ")
		if strings.EqualFold(scheme, "Basic") {
			return s.authenticateBasic(ctx, secret, r.RemoteAddr, now)
		}
		if !strings.EqualFold(scheme, "Bearer") || !wellFormedToken(secret) {
			return in
		}
		tok, u, err := s.st.FindTokenByHash(ctx, HashSecret(secret), now)
		if err != nil {
			if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
				s.log.Error("token lookup", "err", err)
			}
			return in
		}
		if u == nil || u.Disabled || tok.Revoked || (!tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt)) {
			return in
		}
		in.p = bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: "token:" + tok.Name}
		in.ok = true
		s.auditTokenUse(ctx, tok, u, now)
		return in
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || !wellFormedSession(c.Value) {
		return authInfo{}
	}
	hash := HashSecret(c.Value)
	sess, u, err := s.st.FindSession(ctx, hash, now)
	if err != nil {
		if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			s.log.Error("session lookup", "err", err)
		}
		return authInfo{}
	}
	if u == nil || u.Disabled || !now.Before(sess.ExpiresAt) {
		return authInfo{}
	}
	return authInfo{
		p:  bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: u.Email},
		ok: true, session: hash, csrfKey: sess.CSRF,
	}
}

// auditTokenUse records the use of tok at most once per TokenAuditInterval.
func (s *Service) auditTokenUse(ctx context.Context, tok *bulwark.Token, u *bulwark.User, now time.Time) {
	s.mu.Lock()
	last, seen := s.tokenSeen[tok.ID]
	due := !seen || now.Sub(last) >= s.opt.TokenAuditInterval
	if due {
		if len(s.tokenSeen) > 100_000 {
			clear(s.tokenSeen)
		}
		s.tokenSeen[tok.ID] = now
	}
	s.mu.Unlock()
	if due {
		s.audit(ctx, u, bulwark.AuditEntry{Actor: "token:" + tok.Name, Action: "token.use", Target: strconv.FormatInt(tok.ID, 10), Outcome: "ok"})
	}
}

// Middleware authenticates each request and puts its Principal, if any, in
// the request context (bulwark.PrincipalFrom). It never rejects a request
// for lack of credentials — that is the handlers' call — but answers 429 to
// an address that keeps sending invalid bearer tokens.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, done := r.Context().Value(infoKey{}).(authInfo); done {
			next.ServeHTTP(w, r) // an outer Middleware already authenticated r
			return
		}
		now := s.opt.Now()
		addr := "addr:" + ClientAddr(r)
		if _, bearer := r.Header["Authorization"]; bearer {
			if b, after := s.tokens.blocked(addr, now); b {
				after, _ = RetryAfter(rateLimited(after))
				w.Header().Set("Retry-After", strconv.Itoa(int(after.Seconds())))
				if strings.HasPrefix(r.URL.Path, "/taxii2/") {
					// TAXII 2.1 error message in the TAXII media type (section 3.6.1).
					w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
					w.WriteHeader(http.StatusTooManyRequests)
					w.Write([]byte(`{"title":"Too Many Requests","description":"too many invalid credentials; try again later","http_status":"429"}` + "\n"))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				w.Write([]byte(`{"error":{"code":"rate_limited","message":"too many invalid credentials; try again later"}}` + "\n"))
				return
			}
		}
		in := s.authenticate(r)
		if in.bearer && !in.ok {
			s.tokens.fail(addr, now)
		}
		ctx := context.WithValue(r.Context(), infoKey{}, in)
		if in.ok {
			ctx = bulwark.WithPrincipal(ctx, in.p)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// CSRFToken returns the CSRF token of r's session, to embed in HTML forms;
// "" without a session. It is an HMAC of the session hash under a per-session
// random key, so it changes with every login and reveals nothing.
func (s *Service) CSRFToken(r *http.Request) string {
	in := s.info(r)
	if !in.ok || in.session == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(in.csrfKey))
	m.Write([]byte(in.session))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether a state-changing request carries the CSRF token
// of its session (form field csrf_token or header X-CSRF-Token). Requests
// authenticated by bearer token pass: browsers do not attach those on their
// own. Unauthenticated requests fail.
func (s *Service) CheckCSRF(r *http.Request) bool {
	in := s.info(r)
	if !in.ok {
		return false
	}
	if in.bearer {
		return true
	}
	want := s.CSRFToken(r)
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	return want != "" && hmac.Equal([]byte(got), []byte(want))
}

// audit appends e, acting as u when known. Failures to write the audit log
// are logged: refusing a login because the log is unavailable would not make
// the log more complete.
func (s *Service) audit(ctx context.Context, u *bulwark.User, e bulwark.AuditEntry) {
	ctx = context.WithoutCancel(ctx)
	// Without a user (a failed login for an unknown e-mail) the entry is
	// system-wide: the store records system-wide entries only for the
	// System principal, which is used here for nothing but this append.
	p := bulwark.Principal{Name: e.Actor, Role: bulwark.RoleViewer, Org: e.Org, System: e.Org == ""}
	if u != nil {
		p = bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: e.Actor}
		e.Org = u.Org
	}
	if _, ok := bulwark.PrincipalFrom(ctx); !ok {
		ctx = bulwark.WithPrincipal(ctx, p)
	}
	e.At = s.opt.Now()
	if err := s.st.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit", "action", e.Action, "err", err)
	}
}

// printable trims attacker-supplied text for the audit log.
func printable(s string) string {
	if len(s) > 254 {
		s = s[:254]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
