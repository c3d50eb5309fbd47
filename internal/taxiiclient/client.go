// Package taxiiclient is Bulwark's TAXII 2.1 client (OASIS Standard, 10
// June 2021): discovery, API roots, collections, objects with added_after,
// limit, next and match filters and more/next paging, an object by id, its
// versions, manifests, adding objects and polling their status, deleting.
// It pulls partners' collections (ISAC feeds) into Bulwark and is tested
// against Bulwark's own server (internal/taxii) over TLS.
//
// It is a careful client of servers it does not trust:
//
//   - HTTPS only, TLS 1.2 or later, certificates verified against the
//     system's roots or a partner's own CA; redirects followed only on the
//     same scheme, host and port, at most five;
//   - HTTP Basic or Bearer credentials, never in URLs, never in errors or
//     logs (Auth redacts itself when printed);
//   - every request bounded in time (headers and body included) and every
//     response in size; envelopes decoded strictly by internal/stix
//     (DecodeEnvelope), other resources strictly here (duplicate and
//     case-variant member names refused at any depth);
//   - responses must carry the TAXII 2.1 media type, or they are refused;
//   - GETs are retried on 429, 502, 503, 504 and network errors with
//     exponential back-off and full jitter, honouring Retry-After up to
//     Options.MaxRetryWait; a longer wait is returned to the caller
//     (RetryAfter) rather than slept;
//   - paging (Pages) stops on a repeated next, on pages that make no
//     progress, and after Options.MaxPages pages;
//   - destination addresses can be restricted at connect time (after name
//     resolution), so that a subscription cannot reach loopback or
//     link-local services (AllowAddr).
package taxiiclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bulwark"
	"bulwark/internal/stix"
)

// MediaType is the TAXII 2.1 media type: the Accept header of every
// request and the Content-Type of every response and of posted envelopes.
const MediaType = "application/taxii+json;version=2.1"

// Defaults of Options.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultMaxResponse  = 64 << 20
	DefaultRetries      = 3
	DefaultMaxRetryWait = 30 * time.Second
	DefaultBackoff      = time.Second
	DefaultMaxPages     = 10_000
	maxErrorBody        = 64 << 10
	maxRedirects        = 5
)

// Auth is how the client authenticates: HTTP Basic (Username and
// Password) or a Bearer token (Token); at most one of the two. Printing
// an Auth (fmt, slog) shows which kind it is, never the secrets.
type Auth struct {
	Username string
	Password string
	Token    string
}

// Kind is "basic", "bearer" or "none".
func (a Auth) Kind() string {
	switch {
	case a.Token != "":
		return "bearer"
	case a.Username != "" || a.Password != "":
		return "basic"
	}
	return "none"
}

// String redacts the credentials.
func (a Auth) String() string {
	switch a.Kind() {
	case "basic":
		return "basic " + a.Username + ":[redacted]"
	case "bearer":
		return "bearer [redacted]"
	}
	return "none"
}

// GoString redacts the credentials (%#v).
func (a Auth) GoString() string { return "taxiiclient.Auth{" + a.String() + "}" }

// LogValue redacts the credentials in structured logs.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// Validate checks the credentials' form.
func (a Auth) Validate() error {
	if a.Token != "" && (a.Username != "" || a.Password != "") {
		return bulwark.Errorf(bulwark.EINVALID, "credentials: give a username and password or a token, not both")
	}
	for _, f := range []struct{ name, v string }{{"username", a.Username}, {"password", a.Password}, {"token", a.Token}} {
		if len(f.v) > 4096 {
			return bulwark.Errorf(bulwark.EINVALID, "credentials: the %s is longer than 4096 bytes", f.name)
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return bulwark.Errorf(bulwark.EINVALID, "credentials: the %s contains control characters", f.name)
		}
	}
	if strings.Contains(a.Username, ":") {
		return bulwark.Errorf(bulwark.EINVALID, "credentials: a Basic username cannot contain ':'")
	}
	if a.Token != "" && strings.ContainsAny(a.Token, " ") {
		return bulwark.Errorf(bulwark.EINVALID, "credentials: a Bearer token cannot contain spaces")
	}
	return nil
}

// Options configure a Client. Zero values take the defaults.
type Options struct {
	Auth Auth
	// RootCAs verifies the server's certificate (a partner's private CA);
	// nil uses the system's roots.
	RootCAs *x509.CertPool
	// Timeout bounds one request, from connecting to reading the whole
	// body (default 60 s).
	Timeout time.Duration
	// MaxResponse caps one response body in bytes (default 64 MiB).
	MaxResponse int64
	// Limits cap the STIX objects of an envelope (stix.DefaultLimits;
	// MaxBytes is MaxResponse).
	Limits stix.Limits
	// Retries is how many times a GET is repeated after a 429, 502, 503,
	// 504 or a network error (default 3; negative: never).
	Retries int
	// Backoff is the first retry's base wait, doubled each time, with full
	// jitter (default 1 s).
	Backoff time.Duration
	// MaxRetryWait is the longest the client itself waits before a retry
	// (default 30 s). A server asking for more (Retry-After) gets an error
	// carrying its wish (see RetryAfter), for the caller to schedule.
	MaxRetryWait time.Duration
	// MaxPages stops Pages after this many pages (default 10,000).
	MaxPages int
	// AllowAddr, when set, is asked about every address the client
	// connects to (after name resolution); an error refuses it.
	AllowAddr func(netip.Addr) error
	// UserAgent is sent as User-Agent (default "Bulwark TAXII client").
	UserAgent string
	// Transport replaces the HTTP transport (tests); TLS settings and
	// AllowAddr are then the transport's business.
	Transport http.RoundTripper
	// Sleep waits between retries (tests); default a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponse <= 0 {
		o.MaxResponse = DefaultMaxResponse
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = DefaultMaxRetryWait
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.UserAgent == "" {
		o.UserAgent = "Bulwark TAXII client"
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	o.Limits.MaxBytes = o.MaxResponse
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Client talks to one TAXII server.
type Client struct {
	base *url.URL // the discovery URL
	opt  Options
	hc   *http.Client
}

// ParseURL checks a TAXII URL: absolute https, a host, no credentials, no
// fragment. Paths are made to end in a slash (TAXII 2.1 section 3.1).
func ParseURL(raw string) (*url.URL, error) {
	if len(raw) > 2048 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "the TAXII URL is longer than 2048 bytes")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "the TAXII URL %q is malformed", bulwark.Abbrev(raw, 100))
	}
	switch {
	case u.Scheme != "https":
		return nil, bulwark.Errorf(bulwark.EINVALID, "the TAXII URL %q must use https (TAXII 2.1 requires TLS)", bulwark.Abbrev(u.Redacted(), 100))
	case u.Host == "" || u.Hostname() == "":
		return nil, bulwark.Errorf(bulwark.EINVALID, "the TAXII URL %q has no host", bulwark.Abbrev(u.Redacted(), 100))
	case u.User != nil:
		return nil, bulwark.Errorf(bulwark.EINVALID, "the TAXII URL must not carry credentials; give them separately")
	case u.Fragment != "" || u.RawQuery != "":
		return nil, bulwark.Errorf(bulwark.EINVALID, "the TAXII URL must have no query or fragment")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// New returns a client of the TAXII server whose discovery URL is
// server (e.g. https://isac.example/taxii2/).
func New(server string, opt Options) (*Client, error) {
	u, err := ParseURL(server)
	if err != nil {
		return nil, err
	}
	if err := opt.Auth.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	c := &Client{base: u, opt: opt}
	tr := opt.Transport
	if tr == nil {
		tr = newTransport(opt)
	}
	c.hc = &http.Client{Transport: tr, Timeout: opt.Timeout, CheckRedirect: sameOrigin}
	return c, nil
}

// newTransport is an http.Transport with TLS 1.2+, the given roots, no
// proxy (the destination check must see the real destination), and the
// address check at connect time.
func newTransport(opt Options) *http.Transport {
	d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	if opt.AllowAddr != nil {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return bulwark.Errorf(bulwark.EFORBIDDEN, "refusing to connect to %s", bulwark.Abbrev(address, 80))
			}
			return opt.AllowAddr(ap.Addr().Unmap())
		}
	}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: opt.RootCAs},
		TLSHandshakeTimeout:    15 * time.Second,
		ResponseHeaderTimeout:  opt.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
}

// sameOrigin refuses redirects to another scheme, host or port, and long
// chains.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "the TAXII server redirected more than %d times", maxRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "the TAXII server redirected to another origin (%s://%s); not followed", bulwark.Abbrev(req.URL.Scheme, 10), bulwark.Abbrev(req.URL.Host, 100))
	}
	return nil
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// URL is the discovery URL.
func (c *Client) URL() string { return c.base.String() }

// Error is a TAXII server's refusal or failure: its HTTP status, the
// error message it sent (cleaned: one line, at most 300 bytes) and, for
// 429 and 503, how long it asked to wait. It unwraps to a *bulwark.Error
// whose code follows the status.
type Error struct {
	Status      int
	Title       string
	Description string
	// RetryAfter is the server's Retry-After (0 when absent).
	RetryAfter time.Duration
	err        *bulwark.Error
}

func (e *Error) Error() string { return e.err.Message }

// Unwrap exposes the *bulwark.Error.
func (e *Error) Unwrap() error { return e.err }

// RetryAfter returns how long the server asked to wait before the next
// request, when err carries such a wish.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// Transient reports whether err is worth retrying later: a network error,
// a timeout, a 408, 429 or 5xx.
func Transient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EUNAVAILABLE, bulwark.ERATELIMIT:
		return true
	}
	return false
}

func codeOf(status int) string {
	switch {
	case status == http.StatusBadRequest:
		return bulwark.EINVALID
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return bulwark.EFORBIDDEN
	case status == http.StatusNotFound:
		return bulwark.ENOTFOUND
	case status == http.StatusRequestEntityTooLarge:
		return bulwark.ETOOLARGE
	case status == http.StatusTooManyRequests:
		return bulwark.ERATELIMIT
	case status == http.StatusNotAcceptable || status == http.StatusUnsupportedMediaType || status == http.StatusUnprocessableEntity:
		return bulwark.EUNSUPPORTED
	case status == http.StatusConflict:
		return bulwark.ECONFLICT
	}
	return bulwark.EUNAVAILABLE
}

// serverError reads the error body of a failed response.
func serverError(res *http.Response, now time.Time) *Error {
	e := &Error{Status: res.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	if taxiiType(res.Header.Get("Content-Type")) {
		var eb struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		}
		if decodeResource(body, "error message", &eb) == nil {
			e.Title, e.Description = oneLine(eb.Title, 200), oneLine(eb.Description, 300)
		}
	}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(res.Header.Get("Retry-After"), now)
	}
	msg := fmt.Sprintf("the TAXII server answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
	switch {
	case e.Title != "" && e.Description != "":
		msg += ": " + e.Title + ": " + e.Description
	case e.Title != "" || e.Description != "":
		msg += ": " + e.Title + e.Description
	}
	switch res.StatusCode {
	case http.StatusUnauthorized:
		msg += " (check the subscription's credentials)"
	case http.StatusForbidden:
		msg += " (the credentials may not read this)"
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf("; retry after %s", e.RetryAfter.Round(time.Second))
	}
	e.err = &bulwark.Error{Code: codeOf(res.StatusCode), Message: msg}
	return e
}

// MaxRetryAfter caps what a server may ask (a week): a larger or
// malformed value counts as absent.
const MaxRetryAfter = 7 * 24 * time.Hour

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > int64(MaxRetryAfter/time.Second) {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 || d > MaxRetryAfter {
		return 0
	}
	return d
}

// taxiiType reports whether a Content-Type is TAXII 2.1
// (application/taxii+json, with version 2.1 or none).
func taxiiType(v string) bool {
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

// request is one HTTP exchange.
type request struct {
	method string
	u      *url.URL
	body   []byte // POST
	// what names the resource for messages ("collections", "envelope").
	what string
}

// do sends req (retrying as Options say) and returns a 2xx response whose
// Content-Type is TAXII 2.1; the caller reads and closes the body, which
// is capped at MaxResponse.
func (c *Client) do(ctx context.Context, req request) (*http.Response, error) {
	retries := c.opt.Retries
	for attempt := 0; ; attempt++ {
		res, err := c.once(ctx, req)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, bulwark.Errorf(bulwark.ECANCELED, "TAXII request canceled: %v", ctx.Err())
		}
		var se *Error
		isServer := errors.As(err, &se)
		retryable := false
		switch {
		case isServer:
			switch se.Status {
			case http.StatusTooManyRequests, http.StatusServiceUnavailable:
				retryable = true // the server did not act: safe for POST too
			case http.StatusBadGateway, http.StatusGatewayTimeout:
				retryable = req.method == http.MethodGet
			}
		case bulwark.ErrorCode(err) == bulwark.EUNAVAILABLE:
			retryable = req.method == http.MethodGet
		}
		if !retryable || attempt >= retries {
			return nil, err
		}
		wait := backoff(c.opt.Backoff, attempt)
		if isServer && se.RetryAfter > 0 {
			if se.RetryAfter > c.opt.MaxRetryWait {
				return nil, err // the caller schedules the wait
			}
			wait = max(wait, se.RetryAfter)
		}
		wait = min(wait, c.opt.MaxRetryWait)
		if err := c.opt.Sleep(ctx, wait); err != nil {
			return nil, bulwark.Errorf(bulwark.ECANCELED, "TAXII request canceled while waiting to retry")
		}
	}
}

// backoff is full-jitter exponential back-off: a uniform wait in
// [base·2^attempt / 2, base·2^attempt].
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > time.Hour {
		d = time.Hour
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (c *Client) once(ctx context.Context, req request) (*http.Response, error) {
	var body io.Reader
	if req.body != nil {
		body = strings.NewReader(string(req.body))
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, req.u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("taxii request: %w", err)
	}
	hr.Header.Set("Accept", MediaType)
	hr.Header.Set("User-Agent", c.opt.UserAgent)
	if req.body != nil {
		hr.Header.Set("Content-Type", MediaType)
	}
	switch c.opt.Auth.Kind() {
	case "basic":
		hr.SetBasicAuth(c.opt.Auth.Username, c.opt.Auth.Password)
	case "bearer":
		hr.Header.Set("Authorization", "Bearer "+c.opt.Auth.Token)
	}
	res, err := c.hc.Do(hr)
	if err != nil {
		return nil, transportError(req, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		defer res.Body.Close()
		return nil, serverError(res, time.Now())
	}
	if ct := res.Header.Get("Content-Type"); !taxiiType(ct) && !(req.method == http.MethodDelete && ct == "") {
		res.Body.Close()
		return nil, bulwark.Errorf(bulwark.EUNSUPPORTED, "the server's %s is not TAXII 2.1: Content-Type %q (is the URL a TAXII 2.1 endpoint?)",
			req.what, bulwark.Abbrev(oneLine(res.Header.Get("Content-Type"), 100), 100))
	}
	if res.ContentLength > c.opt.MaxResponse {
		res.Body.Close()
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "the server's %s is %d bytes, more than the %d allowed", req.what, res.ContentLength, c.opt.MaxResponse)
	}
	res.Body = &capBody{r: res.Body, left: c.opt.MaxResponse, what: req.what}
	return res, nil
}

// transportError describes a failed exchange without the request's
// headers (credentials) and with the URL's path only.
func transportError(req request, err error) error {
	var be *bulwark.Error
	if errors.As(err, &be) {
		return be // a refused redirect or address
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "the TAXII server did not answer %s %s in time", req.method, bulwark.Abbrev(req.u.Path, 200))
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "the TAXII server's certificate is not trusted (%s); give its CA certificate", bulwark.Abbrev(oneLine(cv.Err.Error(), 200), 200))
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "the TAXII server does not speak TLS")
	}
	msg := err.Error()
	if ue != nil {
		msg = ue.Err.Error()
	}
	return bulwark.Errorf(bulwark.EUNAVAILABLE, "TAXII request %s %s failed: %s", req.method, bulwark.Abbrev(req.u.Path, 200), bulwark.Abbrev(oneLine(msg, 300), 300))
}

// capBody fails once more than left bytes have been read.
type capBody struct {
	r    io.ReadCloser
	left int64
	what string
	over bool
}

func (b *capBody) Read(p []byte) (int, error) {
	if b.over {
		return 0, b.err()
	}
	if b.left <= 0 {
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			b.over = true
			return 0, b.err()
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *capBody) err() error {
	return bulwark.Errorf(bulwark.ETOOLARGE, "the server's %s is larger than the limit", b.what)
}

func (b *capBody) Close() error { return b.r.Close() }

// readAll reads a capped body, mapping read errors.
func readAll(res *http.Response, what string) ([]byte, error) {
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, bodyError(what, err)
	}
	return b, nil
}

func bodyError(what string, err error) error {
	var be *bulwark.Error
	if errors.As(err, &be) {
		return be
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || isTimeout(err) {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "reading the server's %s took too long", what)
	}
	return bulwark.Errorf(bulwark.EUNAVAILABLE, "reading the server's %s failed: %s", what, bulwark.Abbrev(oneLine(err.Error(), 200), 200))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// getResource GETs u and decodes a TAXII resource into v.
func (c *Client) getResource(ctx context.Context, u *url.URL, what string, v any) (http.Header, error) {
	res, err := c.do(ctx, request{method: http.MethodGet, u: u, what: what})
	if err != nil {
		return nil, err
	}
	b, err := readAll(res, what)
	if err != nil {
		return nil, err
	}
	return res.Header, decodeResource(b, what, v)
}
