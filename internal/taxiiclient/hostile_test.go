package taxiiclient_test

// Hostile servers: malformed, duplicate-key, oversized and endless bodies,
// wrong media types, 429/503 with Retry-After, slow responses, paging
// loops, redirects elsewhere, untrusted certificates, old TLS. Every
// error is checked for the credentials it must never contain.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/stix"
	"bulwark/internal/taxiiclient"
)

const (
	secretPassword = "s3cret-pa55word-never-shown"
	secretToken    = "tok-never-shown-0123456789"
)

// hostile is a TLS server with a handler, and a client of it that records
// its retry waits instead of sleeping.
type hostile struct {
	srv   *httptest.Server
	pool  *x509.CertPool
	mu    sync.Mutex
	waits []time.Duration
}

func newHostile(t *testing.T, h http.HandlerFunc) *hostile {
	t.Helper()
	s := &hostile{srv: httptest.NewTLSServer(h)}
	t.Cleanup(s.srv.Close)
	s.pool = x509.NewCertPool()
	s.pool.AddCert(s.srv.Certificate())
	return s
}

func (s *hostile) client(t *testing.T, opt taxiiclient.Options) *taxiiclient.Client {
	t.Helper()
	opt.RootCAs = s.pool
	if opt.Auth == (taxiiclient.Auth{}) {
		opt.Auth = taxiiclient.Auth{Username: "ana", Password: secretPassword}
	}
	if opt.Sleep == nil {
		opt.Sleep = func(ctx context.Context, d time.Duration) error {
			s.mu.Lock()
			s.waits = append(s.waits, d)
			s.mu.Unlock()
			return ctx.Err()
		}
	}
	c, err := taxiiclient.New(s.srv.URL+"/taxii2/", opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func (s *hostile) root(t *testing.T, opt taxiiclient.Options) *taxiiclient.Root {
	t.Helper()
	r, err := s.client(t, opt).Root("api/")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// noSecrets fails when an error's text carries a credential.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{secretPassword, secretToken} {
		if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v", err), s) {
			t.Errorf("error reveals a credential: %v", err)
		}
	}
}

func taxiiJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", taxiiclient.MediaType)
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestHostileBodies(t *testing.T) {
	big := `{"title":"` + strings.Repeat("a", 2<<20) + `"}`
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	cases := []struct {
		name     string
		ct       string
		body     string
		code     string
		contains string
	}{
		{"truncated", taxiiclient.MediaType, `{"title":"x"`, bulwark.EINVALID, "truncated"},
		{"garbage", taxiiclient.MediaType, `<html>`, bulwark.EINVALID, "malformed"},
		{"not an object", taxiiclient.MediaType, `["x"]`, bulwark.EINVALID, "expected a JSON object"},
		{"duplicate key", taxiiclient.MediaType, `{"title":"a","title":"b"}`, bulwark.EINVALID, `duplicate member "title"`},
		{"case-variant key", taxiiclient.MediaType, `{"title":"a","api_roots":[],"API_ROOTS":["/evil/"]}`, bulwark.EINVALID, "differs only in case"},
		{"nested duplicate", taxiiclient.MediaType, `{"title":"a","x_meta":{"k":1,"k":2}}`, bulwark.EINVALID, "/x_meta/k"},
		{"kelvin sign", taxiiclient.MediaType, "{\"title\":\"a\",\"x_k\":1,\"x_\u212a\":2}", bulwark.EINVALID, "differs only in case"},
		{"upper-case name alone", taxiiclient.MediaType, `{"title":"a","MORE":true}`, bulwark.EINVALID, "invalid property name"},
		{"trailing data", taxiiclient.MediaType, `{"title":"a"} {"title":"b"}`, bulwark.EINVALID, "after the JSON object"},
		{"wrong type", taxiiclient.MediaType, `{"title":1}`, bulwark.EINVALID, "/title"},
		{"invalid UTF-8", taxiiclient.MediaType, "{\"title\":\"\xff\"}", bulwark.EINVALID, "UTF-8"},
		{"deep", taxiiclient.MediaType, deep, bulwark.EINVALID, "nested deeper"},
		{"oversized", taxiiclient.MediaType, big, bulwark.ETOOLARGE, "larger than"},
		{"html", "text/html; charset=utf-8", `{"title":"a"}`, bulwark.EUNSUPPORTED, "not TAXII 2.1"},
		{"plain json", "application/json", `{"title":"a"}`, bulwark.EUNSUPPORTED, "not TAXII 2.1"},
		{"taxii 2.0", "application/vnd.oasis.taxii+json; version=2.0", `{"title":"a"}`, bulwark.EUNSUPPORTED, "not TAXII 2.1"},
		{"other version", "application/taxii+json;version=2.2", `{"title":"a"}`, bulwark.EUNSUPPORTED, "not TAXII 2.1"},
		{"no content type", "", `{"title":"a"}`, bulwark.EUNSUPPORTED, "not TAXII 2.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.ct != "" {
					w.Header().Set("Content-Type", tc.ct)
				} else {
					w.Header()["Content-Type"] = nil
				}
				io.WriteString(w, tc.body)
			})
			_, err := s.client(t, taxiiclient.Options{MaxResponse: 1 << 20}).Discover(context.Background())
			if bulwark.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %v (code %s), want code %s containing %q", err, bulwark.ErrorCode(err), tc.code, tc.contains)
			}
			noSecrets(t, err)
		})
	}
}

// TestHostileEnvelopes: envelopes are decoded by internal/stix strictly.
func TestHostileEnvelopes(t *testing.T) {
	valid := string(indicator(t, newID("indicator"), time.Now().Add(-time.Hour), "").JSON())
	cases := []struct {
		name, body, code, contains string
	}{
		{"duplicate more", `{"more":false,"more":true,"objects":[` + valid + `]}`, bulwark.EINVALID, "more"},
		{"case-variant next", `{"next":"a","NEXT":"b","objects":[` + valid + `]}`, bulwark.EINVALID, "NEXT"},
		{"bundle instead", `{"type":"bundle","id":"bundle--` + "6ba7b810-9dad-41d1-80b4-00c04fd430c8" + `","objects":[]}`, bulwark.EINVALID, "envelope"},
		{"truncated", `{"objects":[` + valid, bulwark.EINVALID, ""},
		{"more not boolean", `{"more":"yes"}`, bulwark.EINVALID, "boolean"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newHostile(t, func(w http.ResponseWriter, r *http.Request) { taxiiJSON(w, 200, tc.body) })
			_, err := s.root(t, taxiiclient.Options{}).Objects(context.Background(), "c1", taxiiclient.Filter{})
			if bulwark.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %v (code %s), want %s containing %q", err, bulwark.ErrorCode(err), tc.code, tc.contains)
			}
		})
	}
	// An object with a duplicate marking key is rejected alone; the
	// others come through, the rejection located.
	dup := strings.Replace(valid, `"type":"indicator"`, `"object_marking_refs":["`+stix.Red.ID()+`"],"object_marking_refs":["`+stix.Clear.ID()+`"],"type":"indicator"`, 1)
	other := string(indicator(t, newID("indicator"), time.Now().Add(-time.Hour), "").JSON())
	s := newHostile(t, func(w http.ResponseWriter, r *http.Request) { taxiiJSON(w, 200, `{"objects":[`+dup+`,`+other+`]}`) })
	p, err := s.root(t, taxiiclient.Options{}).Objects(context.Background(), "c1", taxiiclient.Filter{})
	if err != nil || len(p.Objects) != 1 || p.Objects[0].JSON() == nil || len(p.Rejected) != 1 || p.Rejected[0].Pointer != "/objects/0" {
		t.Fatalf("page %+v, %v", p, err)
	}
}

// endless writes forever (until the client goes away).
func endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", taxiiclient.MediaType)
	io.WriteString(w, `{"objects":[`)
	chunk := bytes.Repeat([]byte(" "), 32<<10)
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

func TestHostileSizes(t *testing.T) {
	t.Run("endless body", func(t *testing.T) {
		s := newHostile(t, endless)
		start := time.Now()
		_, err := s.root(t, taxiiclient.Options{MaxResponse: 4 << 20}).Objects(context.Background(), "c1", taxiiclient.Filter{})
		if bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
			t.Errorf("endless envelope: %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("endless resource", func(t *testing.T) {
		s := newHostile(t, endless)
		_, err := s.root(t, taxiiclient.Options{MaxResponse: 1 << 20}).Collections(context.Background())
		if bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
			t.Errorf("endless collections: %v", err)
		}
	})
	t.Run("declared too large", func(t *testing.T) {
		s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", taxiiclient.MediaType)
			w.Header().Set("Content-Length", "999999999")
			w.WriteHeader(200)
		})
		_, err := s.client(t, taxiiclient.Options{MaxResponse: 1 << 20}).Discover(context.Background())
		if bulwark.ErrorCode(err) != bulwark.ETOOLARGE || !strings.Contains(err.Error(), "999999999") {
			t.Errorf("declared length: %v", err)
		}
	})
	t.Run("endless error body", func(t *testing.T) {
		s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", taxiiclient.MediaType)
			w.WriteHeader(400)
			for r.Context().Err() == nil {
				if _, err := w.Write(bytes.Repeat([]byte("x"), 32<<10)); err != nil {
					return
				}
			}
		})
		_, err := s.client(t, taxiiclient.Options{}).Discover(context.Background())
		wantStatus(t, "endless 400", err, 400)
	})
}

func TestHostileSlow(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	t.Run("no headers", func(t *testing.T) {
		s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		start := time.Now()
		_, err := s.client(t, taxiiclient.Options{Timeout: 300 * time.Millisecond, Retries: -1}).Discover(context.Background())
		if bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE || !strings.Contains(err.Error(), "in time") {
			t.Errorf("silent server: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("trickle", func(t *testing.T) {
		s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", taxiiclient.MediaType)
			io.WriteString(w, `{"title":"`)
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, "a"); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
		})
		start := time.Now()
		_, err := s.client(t, taxiiclient.Options{Timeout: 400 * time.Millisecond, Retries: -1}).Discover(context.Background())
		if bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
			t.Errorf("trickling server: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := s.client(t, taxiiclient.Options{}).Discover(ctx)
		wantCode(t, "canceled", err, bulwark.ECANCELED)
	})
}

func TestRetries(t *testing.T) {
	okBody := `{"title":"ok"}`
	cases := []struct {
		name      string
		responses []func(w http.ResponseWriter)
		opt       taxiiclient.Options
		wantErr   string // code; "" for success
		wantWaits []time.Duration
		retryAter time.Duration
	}{
		{name: "429 then ok, Retry-After seconds", responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "7")
				taxiiJSON(w, 429, `{"title":"slow down"}`)
			},
		}, wantWaits: []time.Duration{7 * time.Second}},
		{name: "503 then ok, Retry-After date", responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", time.Now().Add(12*time.Second).UTC().Format(http.TimeFormat))
				taxiiJSON(w, 503, `{"title":"maintenance"}`)
			},
		}, wantWaits: []time.Duration{12 * time.Second}},
		{name: "Retry-After beyond MaxRetryWait is returned", responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) { w.Header().Set("Retry-After", "3600"); taxiiJSON(w, 429, `{}`) },
		}, wantErr: bulwark.ERATELIMIT, retryAter: time.Hour},
		{name: "retries exhausted", opt: taxiiclient.Options{Retries: 2}, responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) { taxiiJSON(w, 502, `{}`) },
			func(w http.ResponseWriter) { taxiiJSON(w, 502, `{}`) },
			func(w http.ResponseWriter) { taxiiJSON(w, 502, `{}`) },
		}, wantErr: bulwark.EUNAVAILABLE},
		{name: "no retry on 401", responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) { taxiiJSON(w, 401, `{"title":"Unauthorized"}`) },
		}, wantErr: bulwark.EFORBIDDEN},
		{name: "nonsense Retry-After ignored", responses: []func(http.ResponseWriter){
			func(w http.ResponseWriter) { w.Header().Set("Retry-After", "-5, soon"); taxiiJSON(w, 503, `{}`) },
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if i < len(tc.responses) {
					tc.responses[i](w)
					return
				}
				taxiiJSON(w, 200, okBody)
			})
			d, err := s.client(t, tc.opt).Discover(context.Background())
			noSecrets(t, err)
			if tc.wantErr == "" {
				if err != nil || d.Title != "ok" {
					t.Fatalf("%v, %v", d, err)
				}
			} else if bulwark.ErrorCode(err) != tc.wantErr {
				t.Fatalf("error %v, want code %s", err, tc.wantErr)
			}
			if tc.retryAter > 0 {
				if ra, ok := taxiiclient.RetryAfter(err); !ok || ra != tc.retryAter {
					t.Errorf("RetryAfter = %v, %v", ra, ok)
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if tc.wantWaits != nil {
				if len(s.waits) != len(tc.wantWaits) {
					t.Fatalf("waits %v, want %v", s.waits, tc.wantWaits)
				}
				for i, w := range tc.wantWaits {
					if s.waits[i] < w-time.Second || s.waits[i] > w+time.Second {
						t.Errorf("wait %d = %v, want about %v", i, s.waits[i], w)
					}
				}
			}
			for _, w := range s.waits {
				if w > taxiiclient.DefaultMaxRetryWait {
					t.Errorf("waited %v, beyond MaxRetryWait", w)
				}
			}
		})
	}
}

// TestBackoffJitter: waits grow exponentially and are jittered.
func TestBackoffJitter(t *testing.T) {
	s := newHostile(t, func(w http.ResponseWriter, r *http.Request) { taxiiJSON(w, 503, `{}`) })
	for range 20 {
		s.client(t, taxiiclient.Options{Retries: 4, Backoff: time.Second, MaxRetryWait: time.Minute}).Discover(context.Background())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waits) != 80 {
		t.Fatalf("%d waits", len(s.waits))
	}
	distinct := map[time.Duration]bool{}
	for i, w := range s.waits {
		attempt := i % 4
		lo, hi := (time.Second<<attempt)/2, time.Second<<attempt
		if w < lo || w > hi {
			t.Errorf("wait %d (attempt %d) = %v, want in [%v, %v]", i, attempt, w, lo, hi)
		}
		distinct[w] = true
	}
	if len(distinct) < 40 {
		t.Errorf("only %d distinct waits of 80: no jitter?", len(distinct))
	}
}

// pager serves pages of one object each, with the next values of f.
func pager(t *testing.T, next func(page int) (more bool, next string, dateLast string)) *hostile {
	return newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		page := 0
		if n := r.URL.Query().Get("next"); n != "" {
			fmt.Sscanf(n[strings.LastIndexByte(n, '-')+1:], "%d", &page)
		}
		if aa := r.URL.Query().Get("added_after"); aa != "" && r.URL.Query().Get("next") == "" {
			page = 1000 + len(aa)%7 // any page
		}
		more, nx, last := next(page)
		if last != "" {
			w.Header().Set("X-TAXII-Date-Added-First", last)
			w.Header().Set("X-TAXII-Date-Added-Last", last)
		}
		o := indicator(t, newID("indicator"), time.Now().Add(-time.Hour), "")
		body := fmt.Sprintf(`{"more":%v,"objects":[%s]`, more, o.JSON())
		if nx != "" {
			body += fmt.Sprintf(`,"next":%q`, nx)
		}
		taxiiJSON(w, 200, body+"}")
	})
}

func TestPagingLoops(t *testing.T) {
	const date = "2026-01-02T03:04:05.000000Z"
	cases := []struct {
		name     string
		next     func(int) (bool, string, string)
		maxPages int
		pages    int
		limit    bool
		contains string
	}{
		{"next repeats", func(p int) (bool, string, string) { return true, "cursor-1", date }, 0, 2, false, "repeated a next"},
		{"cycle of two", func(p int) (bool, string, string) { return true, fmt.Sprintf("cursor-%d", 1-p%2), date }, 0, 3, false, "repeated a next"},
		{"never ends", func(p int) (bool, string, string) { return true, fmt.Sprintf("cursor-%d", p+1), date }, 25, 25, true, "stopped after 25 pages"},
		{"more without next or date", func(p int) (bool, string, string) { return true, "", "" }, 0, 1, false, "neither next nor"},
		{"more without next, date stuck", func(p int) (bool, string, string) { return true, "", date }, 0, 2, false, "share date_added"},
		{"ends", func(p int) (bool, string, string) {
			if p == 4 {
				return false, "", date
			}
			return true, fmt.Sprintf("cursor-%d", p+1), date
		}, 0, 5, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := pager(t, tc.next)
			r := s.root(t, taxiiclient.Options{MaxPages: tc.maxPages})
			pages := 0
			var last error
			for p, err := range r.Pages(context.Background(), "c1", taxiiclient.Filter{}) {
				if err != nil {
					last = err
					continue
				}
				pages++
				if pages > 1000 {
					t.Fatal("paging did not stop")
				}
				_ = p
			}
			if pages != tc.pages {
				t.Errorf("%d pages, want %d", pages, tc.pages)
			}
			switch {
			case tc.contains == "" && last != nil:
				t.Errorf("error %v", last)
			case tc.contains != "" && (last == nil || !strings.Contains(last.Error(), tc.contains)):
				t.Errorf("error %v, want %q", last, tc.contains)
			case tc.contains != "" && taxiiclient.IsPageLimit(last) != tc.limit:
				t.Errorf("IsPageLimit(%v) = %v", last, !tc.limit)
			}
		})
	}
	// Without next, added_after moves to just before the last date: the
	// boundary's objects are read again, not skipped.
	var afters []string
	var mu sync.Mutex
	dates := []string{"2026-01-02T03:04:05.000001Z", "2026-01-02T03:04:05.000009Z", "2026-01-02T03:04:06.000000Z"}
	s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		aa := r.URL.Query().Get("added_after")
		afters = append(afters, aa)
		i := len(afters) - 1
		mu.Unlock()
		w.Header().Set("X-TAXII-Date-Added-Last", dates[i])
		taxiiJSON(w, 200, fmt.Sprintf(`{"more":%v}`, i < 2))
	})
	for _, err := range s.root(t, taxiiclient.Options{}).Pages(context.Background(), "c1", taxiiclient.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"", "2026-01-02T03:04:05.000000Z", "2026-01-02T03:04:05.000008Z"}
	if fmt.Sprint(afters) != fmt.Sprint(want) {
		t.Errorf("added_after sequence %v, want %v", afters, want)
	}
}

func TestRedirects(t *testing.T) {
	other := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("credentials sent to another origin")
		}
		taxiiJSON(w, 200, `{"title":"elsewhere"}`)
	})
	s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/taxii2/":
			http.Redirect(w, r, other.srv.URL+"/taxii2/", http.StatusFound)
		case "/same/":
			http.Redirect(w, r, "/moved/", http.StatusMovedPermanently)
		case "/moved/":
			taxiiJSON(w, 200, `{"title":"moved","versions":["`+taxiiclient.MediaType+`"],"max_content_length":1}`)
		case "/loop/":
			http.Redirect(w, r, "/loop/", http.StatusFound)
		}
	})
	c := s.client(t, taxiiclient.Options{})
	_, err := c.Discover(context.Background())
	if bulwark.ErrorCode(err) != bulwark.EFORBIDDEN || !strings.Contains(err.Error(), "another origin") {
		t.Errorf("cross-origin redirect: %v", err)
	}
	r, _ := c.Root("/same/")
	if info, err := r.Info(context.Background()); err != nil || info.Title != "moved" {
		t.Errorf("same-origin redirect: %v, %v", info, err)
	}
	r, _ = c.Root("/loop/")
	if _, err := r.Info(context.Background()); err == nil || !strings.Contains(err.Error(), "redirected more than") {
		t.Errorf("redirect loop: %v", err)
	}
}

func TestTLSAndURLs(t *testing.T) {
	s := newHostile(t, func(w http.ResponseWriter, r *http.Request) { taxiiJSON(w, 200, `{"title":"ok"}`) })
	// Untrusted certificate: the system roots do not know httptest's.
	c, err := taxiiclient.New(s.srv.URL+"/taxii2/", taxiiclient.Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Discover(context.Background())
	if bulwark.ErrorCode(err) != bulwark.EFORBIDDEN || !strings.Contains(err.Error(), "certificate is not trusted") {
		t.Errorf("untrusted certificate: %v", err)
	}
	// TLS 1.1 only: refused.
	old := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { taxiiJSON(w, 200, `{"title":"ok"}`) }))
	old.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	old.StartTLS()
	defer old.Close()
	pool := x509.NewCertPool()
	pool.AddCert(old.Certificate())
	c, _ = taxiiclient.New(old.URL+"/taxii2/", taxiiclient.Options{RootCAs: pool, Retries: -1})
	if _, err := c.Discover(context.Background()); err == nil {
		t.Error("TLS 1.1 server accepted")
	}
	// Plain HTTP server behind an https URL.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	c, _ = taxiiclient.New(strings.Replace(plain.URL, "http://", "https://", 1)+"/taxii2/", taxiiclient.Options{Retries: -1})
	if _, err := c.Discover(context.Background()); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("plain HTTP server: %v", err)
	}

	for _, u := range []string{"http://isac.example/taxii2/", "https://ana:" + secretPassword + "@isac.example/taxii2/", "ftp://x/", "https:///taxii2/",
		"https://isac.example/taxii2/?x=1", "https://isac.example/taxii2/#f", "::", strings.Repeat("https://a/", 300)} {
		_, err := taxiiclient.New(u, taxiiclient.Options{})
		wantCode(t, "URL "+u[:min(len(u), 40)], err, bulwark.EINVALID)
		noSecrets(t, err)
	}
	for _, a := range []taxiiclient.Auth{{Username: "a:b", Password: "x"}, {Username: "a", Token: "t"}, {Token: "a\nb"}, {Token: "a b"}, {Password: "x\r\ny"}} {
		_, err := taxiiclient.New("https://isac.example/taxii2/", taxiiclient.Options{Auth: a})
		wantCode(t, "credentials "+a.Kind(), err, bulwark.EINVALID)
	}
	// API roots stay on the server's origin.
	c, _ = taxiiclient.New("https://isac.example/taxii2/", taxiiclient.Options{})
	for _, root := range []string{"https://evil.example/api/", "//evil.example/api/", "http://isac.example/api/"} {
		_, err := c.Root(root)
		wantCode(t, "root "+root, err, bulwark.EINVALID)
	}
	for root, want := range map[string]string{"api1/": "https://isac.example/taxii2/api1/", "/api2": "https://isac.example/api2/",
		"https://isac.example/api3/": "https://isac.example/api3/", "": "https://isac.example/taxii2/"} {
		r, err := c.Root(root)
		if err != nil || r.URL() != want {
			t.Errorf("root %q: %v, %v; want %s", root, r, err, want)
		}
	}
}

func TestAllowAddr(t *testing.T) {
	s := newHostile(t, func(w http.ResponseWriter, r *http.Request) { taxiiJSON(w, 200, `{"title":"ok"}`) })
	deny := func(a netip.Addr) error {
		if a.IsLoopback() {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "address %s is not allowed", a)
		}
		return nil
	}
	_, err := s.client(t, taxiiclient.Options{AllowAddr: deny, Retries: -1}).Discover(context.Background())
	if bulwark.ErrorCode(err) != bulwark.EFORBIDDEN || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("loopback refused: %v", err)
	}
	if _, err := s.client(t, taxiiclient.Options{AllowAddr: func(netip.Addr) error { return nil }}).Discover(context.Background()); err != nil {
		t.Errorf("allowed: %v", err)
	}
}

// TestCredentialsNeverShown: printing or logging credentials shows their
// kind only; credentials reach the server in the right header.
func TestCredentialsNeverShown(t *testing.T) {
	for _, a := range []taxiiclient.Auth{{Username: "ana", Password: secretPassword}, {Token: secretToken}} {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "auth", a, "opts", taxiiclient.Options{Auth: a})
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "auth", a)
		for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s", a, a, a, a), buf.String()} {
			if strings.Contains(s, secretPassword) || strings.Contains(s, secretToken) {
				t.Errorf("credential shown: %s", s)
			}
		}
	}
	var got []string
	var mu sync.Mutex
	s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+"|"+r.Header.Get("Accept"))
		mu.Unlock()
		taxiiJSON(w, 200, `{"title":"ok"}`)
	})
	s.client(t, taxiiclient.Options{Auth: taxiiclient.Auth{Token: secretToken}}).Discover(context.Background())
	s.client(t, taxiiclient.Options{}).Discover(context.Background())
	want := []string{"Bearer " + secretToken + "|" + taxiiclient.MediaType, "Basic YW5hOnMzY3JldC1wYTU1d29yZC1uZXZlci1zaG93bg==|" + taxiiclient.MediaType}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("headers %q, want %q", got, want)
	}
}

// TestServerErrorText: a server's error text is cleaned before it can
// reach logs, the database or a page.
func TestServerErrorText(t *testing.T) {
	s := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		taxiiJSON(w, 404, `{"title":"Not\nFound\u202e","description":"`+strings.Repeat("x", 5000)+`","http_status":"404"}`)
	})
	_, err := s.client(t, taxiiclient.Options{}).Discover(context.Background())
	wantCode(t, "404", err, bulwark.ENOTFOUND)
	if msg := err.Error(); strings.ContainsAny(msg, "\n\u202e") || len(msg) > 700 {
		t.Errorf("message not cleaned (%d bytes): %q", len(msg), msg[:min(len(msg), 200)])
	}
}
