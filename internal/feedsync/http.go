package feedsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"bulwark"
)

// userAgent names Bulwark to the publishers (NVD asks clients to).
const userAgent = "bulwark-feedsync/1"

// request is one GET.
type request struct {
	url      *url.URL
	header   http.Header
	maxBytes int64
	limiter  *limiter // nil: no request budget
	// retryForbidden retries 403 like 429: NVD answers 403 when the rate
	// limit is exceeded.
	retryForbidden bool
}

// response is a fetched body (nil on 304).
type response struct {
	status int
	header http.Header
	body   []byte
}

// statusError is an HTTP answer that is not a success.
type statusError struct {
	status   int
	url      string // safe to show
	detail   string // the server's short explanation, if any
	attempts int
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("GET %s: %d %s", e.url, e.status, http.StatusText(e.status))
	if e.detail != "" {
		msg += " (" + e.detail + ")"
	}
	if e.attempts > 1 {
		msg += fmt.Sprintf(", gave up after %d attempts", e.attempts)
	}
	return msg
}

// newClient copies base (or builds a default client) and installs the
// redirect policy: at most 10 hops, never down to plain http, and the NVD
// API key dropped when a redirect leaves the original host (net/http only
// drops the standard credential headers).
func (s *Syncer) newClient(base *http.Client) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSHandshakeTimeout = 15 * time.Second
		tr.ResponseHeaderTimeout = time.Minute
		c.Transport = tr
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if _, err := s.checkURL(req.URL.String()); err != nil {
			return err
		}
		if req.URL.Host != via[0].URL.Host {
			req.Header.Del("apiKey")
		}
		return nil
	}
	return &c
}

// checkURL parses an address and refuses what may not be fetched.
func (s *Syncer) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%q is not an absolute URL", redactRaw(raw))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !s.cfg.AllowHTTP {
			return nil, bulwark.Errorf(bulwark.EINVALID, "refusing plain http address %s: feeds are fetched over https (allow http explicitly for a local mirror)", safeURL(u))
		}
	default:
		return nil, bulwark.Errorf(bulwark.EINVALID, "unsupported address scheme %q in %s", u.Scheme, safeURL(u))
	}
	return u, nil
}

// safeQuery are query parameters safe to show: ours, with no secrets.
var safeQuery = map[string]bool{"lastModStartDate": true, "lastModEndDate": true, "startIndex": true, "resultsPerPage": true}

// safeURL is u as it may appear in errors and logs: without user
// information, and without a query that may hold a token.
func safeURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment = ""
	if c.RawQuery != "" {
		for k := range c.Query() {
			if !safeQuery[k] {
				c.RawQuery = "…"
				break
			}
		}
	}
	return c.String()
}

func redactRaw(raw string) string {
	if i := strings.IndexAny(raw, "@?"); i >= 0 {
		return raw[:i] + "…"
	}
	if len(raw) > 200 {
		return raw[:200] + "…"
	}
	return raw
}

// get fetches rq.url, retrying transient failures: network errors and
// timeouts, 408, 429 and 5xx (and 403 when rq.retryForbidden) up to
// MaxRetries times with exponential backoff and jitter, waiting at least
// what Retry-After asks. A 304 is returned as such; any other non-2xx
// answer is an error.
func (s *Syncer) get(ctx context.Context, rq request) (*response, error) {
	shown := safeURL(rq.url)
	for attempt := 1; ; attempt++ {
		if rq.limiter != nil {
			if err := rq.limiter.wait(ctx); err != nil {
				return nil, err
			}
		}
		resp, retryAfter, err := s.attempt(ctx, rq)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(err, rq.retryForbidden) {
			return nil, err
		}
		if attempt > s.cfg.MaxRetries {
			return nil, gaveUp(err, attempt)
		}
		if retryAfter > MaxRetryAfter {
			return nil, fmt.Errorf("%w; the server asks to retry after %s, longer than %s: giving up", err, retryAfter, MaxRetryAfter)
		}
		wait := s.backoff(attempt)
		if retryAfter > wait {
			wait = retryAfter
		}
		s.log.Debug("feed request failed, retrying", "url", shown, "attempt", attempt, "wait", wait, "error", err)
		if err := s.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func gaveUp(err error, attempts int) error {
	var se *statusError
	if errors.As(err, &se) {
		c := *se
		c.attempts = attempts
		return &c
	}
	return fmt.Errorf("%w (gave up after %d attempts)", err, attempts)
}

// backoff is the wait before retry n (1-based): 1s, 2s, 4s, ... capped at
// one minute, each with up to half of it taken off at random so that many
// clients failing together do not retry together.
func (s *Syncer) backoff(n int) time.Duration {
	d := time.Second << min(n-1, 6)
	if d > time.Minute {
		d = time.Minute
	}
	return d - time.Duration(s.jitter()*float64(d/2))
}

// transientError is a failure worth retrying (network, timeout).
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func retryable(err error, forbidden bool) bool {
	var te *transientError
	if errors.As(err, &te) {
		return true
	}
	var se *statusError
	if errors.As(err, &se) {
		switch {
		case se.status == http.StatusRequestTimeout, se.status == http.StatusTooManyRequests:
			return true
		case se.status == http.StatusForbidden:
			return forbidden
		case se.status >= 500 && se.status != http.StatusNotImplemented:
			return true
		}
	}
	return false
}

// attempt makes one request and reads the body within the request
// timeout. It returns the Retry-After the server asked for, if any.
func (s *Syncer) attempt(ctx context.Context, rq request) (*response, time.Duration, error) {
	shown := safeURL(rq.url)
	actx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rq.url.String(), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", shown, err)
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, s.transportError(ctx, actx, shown, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return &response{status: resp.StatusCode, header: resp.Header}, 0, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		// Read a little of the body for the explanation, then drop it.
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		detail := resp.Header.Get("message") // NVD explains errors in this header
		if detail == "" {
			detail = printable(snippet)
		}
		return nil, parseRetryAfter(resp.Header.Get("Retry-After"), s.now()),
			&statusError{status: resp.StatusCode, url: shown, detail: detail, attempts: 1}
	}
	if resp.ContentLength > rq.maxBytes {
		return nil, 0, bulwark.Errorf(bulwark.ETOOLARGE, "GET %s: the document is %d bytes, more than the %d allowed", shown, resp.ContentLength, rq.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, rq.maxBytes+1))
	if err != nil {
		return nil, 0, s.transportError(ctx, actx, shown, err)
	}
	if int64(len(body)) > rq.maxBytes {
		return nil, 0, bulwark.Errorf(bulwark.ETOOLARGE, "GET %s: the document is larger than the %d bytes allowed", shown, rq.maxBytes)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, 0, nil
}

// transportError describes a failure below HTTP without the URL the
// net/http error carries (it may hold credentials), marked transient
// unless the caller's context ended.
func (s *Syncer) transportError(ctx, actx context.Context, shown string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if actx.Err() != nil {
		return &transientError{fmt.Errorf("GET %s: no complete answer within %s", shown, s.cfg.RequestTimeout)}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || isConnError(err) {
		return &transientError{fmt.Errorf("GET %s: %v", shown, err)}
	}
	// TLS verification failures, refused redirects: not worth retrying.
	return fmt.Errorf("GET %s: %v", shown, err)
}

func isConnError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(24*time.Hour/time.Second) {
			return 24 * time.Hour
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

// printable keeps a short, single-line, printable prefix of b.
func printable(b []byte) string {
	var sb strings.Builder
	for _, r := range string(b) {
		if sb.Len() >= 160 {
			sb.WriteString("…")
			break
		}
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			sb.WriteByte(' ')
		case r < 0x20 || r == 0x7f || r == '\uFFFD':
		default:
			sb.WriteRune(r)
		}
	}
	return strings.TrimSpace(sb.String())
}

// limiter keeps a request budget: at most rate.N requests started in any
// window of rate.Per, by remembering when the last N started.
type limiter struct {
	rate  Rate
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	started []time.Time
}

// wait blocks until a request may start, and counts it.
func (l *limiter) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.started) >= l.rate.N {
		oldest := l.started[len(l.started)-l.rate.N]
		if d := oldest.Add(l.rate.Per).Sub(l.now()); d > 0 {
			if err := l.sleep(ctx, d); err != nil {
				return err
			}
		}
		l.started = l.started[len(l.started)-l.rate.N+1:]
	}
	l.started = append(l.started, l.now())
	return nil
}
