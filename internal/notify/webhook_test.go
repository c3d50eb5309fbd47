package notify_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bulwark/internal/notify"
	"bulwark/internal/notify/notifytest"
)

const hookSecret = notify.Secret("test-webhook-secret-of-32-bytes!")

func hookSender(timeout time.Duration) *notify.Webhook {
	return notify.NewWebhook(notify.WebhookConfig{Secrets: map[string]notify.Secret{"isac": hookSecret}, Timeout: timeout})
}

func hookMessage(url string) *notify.Message {
	return &notify.Message{ID: "ntf-0001-bb", To: url, Secret: "isac", Payload: []byte(`{"id":"ntf-0001-bb","event":{"kind":"incident_created"}}`)}
}

func TestWebhookDelivery(t *testing.T) {
	srv := notifytest.NewWebhookServer(t, hookSecret, nil)
	if err := hookSender(2*time.Second).Send(t.Context(), hookMessage(srv.URL+"/hook")); err != nil {
		t.Fatal(err)
	}
	d := srv.Deliveries()
	if len(d) != 1 || d[0].Key != "ntf-0001-bb" || d[0].Header.Get("Content-Type") != "application/json" || d[0].Event["kind"] != "incident_created" {
		t.Fatalf("deliveries %+v", d)
	}
	if err := notify.VerifySignature(hookSecret, d[0].Timestamp, d[0].Signature, d[0].Body, time.Now(), time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	// The signature binds the body and the time: a changed body, another
	// secret or an old timestamp fail.
	for name, err := range map[string]error{
		"body":   notify.VerifySignature(hookSecret, d[0].Timestamp, d[0].Signature, append(d[0].Body, ' '), time.Now(), time.Minute),
		"secret": notify.VerifySignature("other", d[0].Timestamp, d[0].Signature, d[0].Body, time.Now(), time.Minute),
		"replay": notify.VerifySignature(hookSecret, d[0].Timestamp, d[0].Signature, d[0].Body, time.Now().Add(time.Hour), time.Minute),
		"ts":     notify.VerifySignature(hookSecret, "yesterday", d[0].Signature, d[0].Body, time.Now(), time.Minute),
	} {
		if err == nil {
			t.Errorf("tampered %s verified", name)
		}
	}
	// A receiver with another secret refuses the delivery: permanent.
	other := notifytest.NewWebhookServer(t, "another secret", nil)
	err := hookSender(2*time.Second).Send(t.Context(), hookMessage(other.URL))
	if !notify.IsPermanent(err) || other.BadSignatures() != 1 {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestWebhookFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		action    notifytest.Action
		permanent bool
		want      string
	}{
		{"500", notifytest.Action{Code: 500}, false, "500"},
		{"503", notifytest.Action{Code: 503}, false, "503"},
		{"429", notifytest.Action{Code: 429}, false, "429"},
		{"408", notifytest.Action{Code: 408}, false, "408"},
		{"400", notifytest.Action{Code: 400}, true, "400"},
		{"404", notifytest.Action{Code: 404}, true, "404"},
		{"410", notifytest.Action{Code: 410}, true, "410"},
		{"dropped", notifytest.Action{Drop: true}, false, "EOF"},
		{"timeout", notifytest.Action{Delay: 3 * time.Second}, false, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := notifytest.NewWebhookServer(t, hookSecret, func(string, string, string, int) notifytest.Action { return tc.action })
			start := time.Now()
			err := hookSender(time.Second).Send(t.Context(), hookMessage(srv.URL))
			if err == nil || notify.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (permanent %v), want %q permanent %v", err, notify.IsPermanent(err), tc.want, tc.permanent)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v with a 1s timeout", took)
			}
			if len(srv.Accepted()) != 0 {
				t.Errorf("a failed delivery was accepted: %v", srv.Accepted())
			}
		})
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	err := hookSender(time.Second).Send(t.Context(), hookMessage("http://"+addr+"/hook?token=abc"))
	if err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "token=abc") {
		t.Errorf("connection refused: %v", err)
	}
}

// TestWebhookRedirects: only 307/308 to the same origin are followed; a
// receiver cannot bounce a signed notification to another host.
func TestWebhookRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(204)
	}))
	defer other.Close()
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/found", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/final", http.StatusFound) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/final", http.StatusPermanentRedirect)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get(notify.HeaderSignature) != "" {
			hits.Add(1)
			w.WriteHeader(204)
			return
		}
		w.WriteHeader(400)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := hookSender(time.Second)
	if err := s.Send(t.Context(), hookMessage(srv.URL+"/moved")); err != nil || hits.Load() != 1 {
		t.Errorf("same-origin 308: %v, %d hits", err, hits.Load())
	}
	for _, path := range []string{"/away", "/found", "/loop"} {
		err := s.Send(t.Context(), hookMessage(srv.URL+path))
		if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "redirect refused") {
			t.Errorf("%s: %v", path, err)
		}
	}
	if elsewhere.Load() != 0 {
		t.Error("a notification was redirected to another host")
	}
}

func TestWebhookLimits(t *testing.T) {
	srv := notifytest.NewWebhookServer(t, hookSecret, nil)
	s := hookSender(time.Second)
	big := hookMessage(srv.URL)
	big.Payload = []byte(`{"x":"` + strings.Repeat("a", notify.MaxWebhookPayload) + `"}`)
	if err := s.Send(t.Context(), big); !notify.IsPermanent(err) {
		t.Errorf("oversized payload: %v", err)
	}
	noSecret := hookMessage(srv.URL)
	noSecret.Secret = "unknown"
	if err := s.Send(t.Context(), noSecret); !notify.IsPermanent(err) || strings.Contains(err.Error(), string(hookSecret.Reveal())) {
		t.Errorf("unknown secret: %v", err)
	}
	for _, u := range []string{"ftp://x.example/", "http://isac.example/hook", "https://user:pw@isac.example/"} {
		if err := s.Send(t.Context(), hookMessage(u)); !notify.IsPermanent(err) {
			t.Errorf("%s: %v", u, err)
		}
	}
	// A receiver that answers with an endless body is read only so far.
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		chunk := []byte(strings.Repeat("x", 1<<16))
		for range 1 << 12 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer endless.Close()
	start := time.Now()
	err := s.Send(t.Context(), hookMessage(endless.URL))
	// A loose wall-clock bound: the server shares the process and the
	// machine; an unbounded read would take far longer than this.
	if err == nil || len(err.Error()) > 400 || time.Since(start) > 10*time.Second {
		t.Errorf("endless answer: %d bytes of error after %v", len(err.Error()), time.Since(start))
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	s := notify.Secret("hunter2-the-secret")
	cfg := notify.SMTPConfig{Host: "h", Password: s}
	for _, out := range []string{s.String(), sprintf("%v %s %q %+v %#v", s, s, s, cfg, cfg)} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if s.Reveal() != "hunter2-the-secret" {
		t.Error("Reveal")
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
