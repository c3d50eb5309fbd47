package notify_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"bulwark/internal/notify"
	"bulwark/internal/notify/notifytest"
)

func smtpSender(t *testing.T, srv *notifytest.SMTPServer, mod func(*notify.SMTPConfig)) *notify.SMTP {
	t.Helper()
	cfg := notify.SMTPConfig{Host: srv.Host, Port: srv.Port, From: "bulwark@city.example", TLS: notify.TLSNone, Timeout: 2 * time.Second}
	if srv.ClientTLS != nil {
		cfg.TLS, cfg.TLSConfig = notify.TLSRequireStartTLS, srv.ClientTLS
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := notify.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testMessage(id string) *notify.Message {
	return &notify.Message{ID: id, To: "duty@state.example", Subject: "Incident inc-1: sévérité élevée",
		Body: "Line one\n.\nA line with a dot alone above, and é ü ß\n" + strings.TrimSpace(strings.Repeat("long ", 300)) + "\n"}
}

// TestSMTPDelivery sends through STARTTLS to a real SMTP server and reads
// the message back: envelope, headers, Message-ID as the idempotency key
// and the body, decoded.
func TestSMTPDelivery(t *testing.T) {
	srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{StartTLS: true})
	s := smtpSender(t, srv, nil)
	m := testMessage("ntf-0001-aa")
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	got := mails[0]
	if got.From != "bulwark@city.example" || len(got.To) != 1 || got.To[0] != m.To || got.MessageID != m.ID {
		t.Errorf("envelope %s → %v, id %q", got.From, got.To, got.MessageID)
	}
	if got.Header.Get("Idempotency-Key") != m.ID || got.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers %v", got.Header)
	}
	if strings.ReplaceAll(got.Body, "\r\n", "\n") != m.Body {
		t.Errorf("body came back as %q", got.Body)
	}
}

func TestSMTPStartTLSRequired(t *testing.T) {
	srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{}) // no STARTTLS offered
	s := smtpSender(t, srv, func(c *notify.SMTPConfig) { c.TLS = notify.TLSRequireStartTLS })
	err := s.Send(t.Context(), testMessage("ntf-2"))
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") || notify.IsPermanent(err) {
		t.Errorf("send without STARTTLS: %v", err)
	}
	if len(srv.Mails()) != 0 {
		t.Error("sent in clear text although STARTTLS was required")
	}
	// The default mode uses STARTTLS when offered and sends either way.
	if err := smtpSender(t, srv, func(c *notify.SMTPConfig) { c.TLS = notify.TLSStartTLS }).Send(t.Context(), testMessage("ntf-3")); err != nil {
		t.Errorf("opportunistic STARTTLS: %v", err)
	}
	// A certificate the client does not trust fails (and is retried later).
	tlsSrv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{StartTLS: true})
	err = smtpSender(t, tlsSrv, func(c *notify.SMTPConfig) { c.TLSConfig = nil }).Send(t.Context(), testMessage("ntf-4"))
	if err == nil || notify.IsPermanent(err) || len(tlsSrv.Mails()) != 0 {
		t.Errorf("untrusted certificate: %v", err)
	}
}

// TestSMTPFailures: each kind of failure is reported, permanent or not as
// retrying could help, within the timeout.
func TestSMTPFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     notifytest.Fault
		permanent bool
		want      string
	}{
		{"4xx on RCPT", func(step, _, _ string, _ int) notifytest.Action {
			if step == "rcpt" {
				return notifytest.Action{Code: 451}
			}
			return notifytest.Action{}
		}, false, "RCPT TO: 451"},
		{"5xx on RCPT", func(step, _, _ string, _ int) notifytest.Action {
			if step == "rcpt" {
				return notifytest.Action{Code: 550}
			}
			return notifytest.Action{}
		}, true, "RCPT TO: 550"},
		{"4xx after DATA", func(step, _, _ string, _ int) notifytest.Action {
			if step == "data" {
				return notifytest.Action{Code: 452}
			}
			return notifytest.Action{}
		}, false, "end of message: 452"},
		{"5xx after DATA", func(step, _, _ string, _ int) notifytest.Action {
			if step == "data" {
				return notifytest.Action{Code: 554}
			}
			return notifytest.Action{}
		}, true, "end of message: 554"},
		{"dropped connection", func(step, _, _ string, _ int) notifytest.Action {
			return notifytest.Action{Drop: step == "rcpt"}
		}, false, "RCPT TO"},
		{"hung server", func(step, _, _ string, _ int) notifytest.Action {
			if step == "data" {
				return notifytest.Action{Delay: 4 * time.Second}
			}
			return notifytest.Action{}
		}, false, "end of message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{Fault: tc.fault})
			start := time.Now()
			err := smtpSender(t, srv, nil).Send(t.Context(), testMessage("ntf-5"))
			if err == nil || notify.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (permanent %v), want %q permanent %v", err, notify.IsPermanent(err), tc.want, tc.permanent)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v with a 2s timeout", took)
			}
		})
	}
	// Nothing listens.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s, _ := notify.NewSMTP(notify.SMTPConfig{Host: "127.0.0.1", Port: port, From: "b@city.example", TLS: notify.TLSNone, Timeout: time.Second})
	err := s.Send(t.Context(), testMessage("ntf-6"))
	if err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "connect") {
		t.Errorf("connection refused: %v", err)
	}
	// A cancelled context stops at once.
	srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{Fault: func(string, string, string, int) notifytest.Action {
		return notifytest.Action{Delay: 3 * time.Second}
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = smtpSender(t, srv, func(c *notify.SMTPConfig) { c.Timeout = time.Minute }).Send(ctx, testMessage("ntf-7"))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled send: %v after %v", err, time.Since(start))
	}
}

func TestSMTPConfigRefused(t *testing.T) {
	for _, cfg := range []notify.SMTPConfig{
		{From: "a@b.example"},
		{Host: "mail.example", From: "not an address"},
		{Host: "mail.example", From: "a@b.example", TLS: "sometimes"},
		{Host: "mail.example", From: "a@b.example", TLS: notify.TLSNone},
		{Host: "mail.example", From: "a@b.example", Port: 70000},
		{Host: "mail.example\r\nX", From: "a@b.example"},
	} {
		if _, err := notify.NewSMTP(cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
	s, err := notify.NewSMTP(notify.SMTPConfig{Host: "127.0.0.1", From: "a@b.example", Username: "u", Password: "hunter2"})
	if err != nil {
		t.Fatal(err)
	}
	// Recipients and IDs that could forge headers are refused outright.
	for _, m := range []*notify.Message{
		{ID: "ntf-1", To: "a@b.example\r\nBcc: x@y.example"},
		{ID: "ntf-1>\r\nBcc: x@y.example", To: "a@b.example"},
	} {
		err := s.Send(t.Context(), m)
		if !notify.IsPermanent(err) {
			t.Errorf("%q/%q: %v", m.ID, m.To, err)
		}
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal("unexpected")
	}
}
