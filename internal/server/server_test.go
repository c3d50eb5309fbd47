package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testServer(t *testing.T, api, web http.Handler, cfg Config) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	srv := New(cfg, Handlers{API: api, Web: web}, slog.New(slog.NewJSONHandler(&logs, nil)))
	ts := httptest.NewServer(srv.Handler)
	t.Cleanup(ts.Close)
	return ts, &logs
}

func TestRoutingAndSecurityHeaders(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api") })
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "web") })
	ts, _ := testServer(t, api, web, Config{})
	for path, want := range map[string]string{"/api/v1/x": "api", "/": "web", "/static/a.css": "web", "/api/v2/x": "web"} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != want {
			t.Errorf("GET %s = %q, want %q", path, body, want)
		}
		for h, v := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Content-Security-Policy": ContentSecurityPolicy,
		} {
			if got := res.Header.Get(h); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, v)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q allows unsafe sources or framing", csp)
		}
	}
}

// TestEH01_PanicIsInternalError checks that a panic becomes a bare 500 and
// its value and stack reach only the log.
func TestEH01_PanicIsInternalError(t *testing.T) {
	boom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("secret detail /srv/x.go") })
	ts, logs := testServer(t, boom, boom, Config{})
	for _, path := range []string{"/api/v1/x", "/page"} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 500 || !strings.Contains(string(body), "internal error") {
			t.Errorf("GET %s = %d %q, want 500 internal error", path, res.StatusCode, body)
		}
		for _, leak := range []string{"secret", "goroutine", "panic", ".go"} {
			if strings.Contains(string(body), leak) {
				t.Errorf("GET %s body %q leaks %q", path, body, leak)
			}
		}
	}
	if !strings.Contains(logs.String(), "secret detail") {
		t.Error("panic not logged")
	}
}

// TestUI02_CrossOriginRefused checks that a cross-site POST is refused
// before reaching a handler.
func TestUI02_CrossOriginRefused(t *testing.T) {
	reached := false
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })
	ts, _ := testServer(t, h, h, Config{})
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/tokens", strings.NewReader("{}"))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || reached {
			t.Errorf("cross-origin POST %v = %d (handler reached %v), want 403", hdr, res.StatusCode, reached)
		}
	}
}

// TestIN02_BodyCap checks that declared and streamed bodies beyond the cap
// are refused.
func TestIN02_BodyCap(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); ErrBodyTooLarge(err) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		}
	})
	ts, _ := testServer(t, h, h, Config{MaxBodyBytes: 1000})
	res, err := http.Post(ts.URL+"/api/v1/import", "text/plain", strings.NewReader(strings.Repeat("x", 1001)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("declared oversize body: status %d, want 413", res.StatusCode)
	}
	// Chunked: no Content-Length, so the cap is enforced while reading.
	res, err = http.Post(ts.URL+"/api/v1/import", "text/plain", io.MultiReader(strings.NewReader(strings.Repeat("x", 5000))))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("streamed oversize body: status %d, want 413", res.StatusCode)
	}
}

func TestTLSConfigAEADOnly(t *testing.T) {
	c := TLSConfig()
	if c.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", c.MinVersion)
	}
	names := map[uint16]string{}
	for _, s := range tls.CipherSuites() {
		names[s.ID] = s.Name
	}
	for _, s := range tls.InsecureCipherSuites() {
		names[s.ID] = s.Name
	}
	for _, id := range c.CipherSuites {
		n := names[id]
		if !strings.Contains(n, "GCM") && !strings.Contains(n, "CHACHA20") || !strings.Contains(n, "ECDHE") {
			t.Errorf("suite %s is not ECDHE+AEAD", n)
		}
	}
}

func TestTimeoutsAndShutdown(t *testing.T) {
	srv := New(Config{Addr: "127.0.0.1:0"}, Handlers{}, nil)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || srv.WriteTimeout <= 0 {
		t.Errorf("timeouts not all set: %+v", srv)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	srv = New(Config{}, Handlers{API: slow}, nil)
	ts := httptest.NewUnstartedServer(srv.Handler)
	ts.Config = srv
	ts.Start()
	defer ts.Close()
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(ts.URL + "/api/v1/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-started
	done := make(chan error, 1)
	go func() { done <- Shutdown(context.Background(), srv, 5*time.Second) }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b := <-got; b != "done" {
		t.Errorf("request in flight got %q, want it to finish", b)
	}
}
