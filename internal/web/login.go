package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/httperr"
)

// loginCookie carries the random nonce that the login form's token is
// derived from (double-submit): a cross-site page can make a browser post
// the form, but it can neither read the cookie nor the token that matches
// it. Logout is protected by the session's own CSRF token instead.
const loginCookie = "bulwark_login"

// maxFormBytes caps the login and logout forms.
const maxFormBytes = 16 << 10

// crossOrigin rejects requests that browsers mark as cross-site (Sec-Fetch-
// Site, or an Origin that differs from Host), before any form is read. The
// server applies the same check in front of everything; repeating it here
// keeps the handler safe on its own.
var crossOrigin = http.NewCrossOriginProtection()

// loginToken is the form token bound to the nonce of the login cookie.
func (h *Handler) loginToken(nonce string) string {
	m := hmac.New(sha256.New, h.loginKey)
	m.Write([]byte("login-form\x00"))
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// setLoginNonce gives the browser a fresh nonce and returns the form token.
func (h *Handler) setLoginNonce(w http.ResponseWriter, r *http.Request) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	nonce := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name:     loginCookie,
		Value:    nonce,
		Path:     "/login",
		MaxAge:   3600,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return h.loginToken(nonce), nil
}

// validLoginToken checks the posted token against the login cookie.
func (h *Handler) validLoginToken(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" {
		return false
	}
	got := r.PostFormValue(auth.CSRFField)
	return got != "" && hmac.Equal([]byte(got), []byte(h.loginToken(c.Value)))
}

// safeNext returns next if it is a path on this site, else "/": a login
// link must not be able to send the user to another site afterwards.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "/login" {
		return "/"
	}
	return next
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := bulwark.PrincipalFrom(r.Context()); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	page := &LoginPage{Base: Base{Title: "Log in"}, Next: safeNext(r.URL.Query().Get("next"))}
	if r.URL.Query().Get("logged_out") != "" {
		page.Notice = "You have been logged out."
	}
	h.showLogin(w, r, http.StatusOK, page)
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, page *LoginPage) {
	token, err := h.setLoginNonce(w, r)
	if err != nil {
		h.log.Error("web: login nonce", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	page.Token = token
	h.render(w, r, status, "login", page)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "cross-origin request rejected", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the login form is malformed or too large", http.StatusBadRequest)
		return
	}
	page := &LoginPage{
		Base:  Base{Title: "Log in"},
		Email: strings.TrimSpace(r.PostFormValue("email")),
		Next:  safeNext(r.PostFormValue("next")),
	}
	if !h.validLoginToken(r) {
		page.Error = "The login form expired. Please try again."
		h.showLogin(w, r, http.StatusForbidden, page)
		return
	}
	password := r.PostFormValue("password")
	if page.Email == "" || password == "" {
		page.Error = "Enter your email address and password."
		h.showLogin(w, r, http.StatusBadRequest, page)
		return
	}
	if h.auth == nil {
		page.Error = "Login is not available on this server."
		h.showLogin(w, r, http.StatusServiceUnavailable, page)
		return
	}
	cookie, _, err := h.auth.Login(r.Context(), page.Email, password, r.RemoteAddr)
	if err != nil {
		status := httperr.StatusOf(err)
		switch bulwark.ErrorCode(err) {
		case bulwark.EUNAUTHORIZED, bulwark.EINVALID, bulwark.ENOTFOUND, bulwark.EFORBIDDEN:
			// One message whatever the cause, so the form does not tell
			// who has an account.
			page.Error = "Invalid email address or password."
			status = http.StatusUnauthorized
		case bulwark.ERATELIMIT:
			page.Error = "Too many login attempts. Please wait a few minutes and try again."
		default:
			h.log.Error("web: login", "err", err)
			page.Error = "Login is not available right now. Please try again later."
		}
		h.showLogin(w, r, status, page)
		return
	}
	http.SetCookie(w, cookie)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, page.Next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "cross-origin request rejected", http.StatusForbidden)
		return
	}
	if _, ok := bulwark.PrincipalFrom(r.Context()); !ok || h.auth == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the logout form is malformed or too large", http.StatusBadRequest)
		return
	}
	if !h.auth.CheckCSRF(r) {
		http.Error(w, "invalid or missing form token", http.StatusForbidden)
		return
	}
	cookie, err := h.auth.Logout(r.Context(), r)
	if err != nil {
		h.log.Error("web: logout", "err", err)
	}
	if cookie != nil {
		http.SetCookie(w, cookie)
	}
	http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
}
