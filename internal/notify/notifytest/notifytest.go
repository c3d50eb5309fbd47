// Package notifytest runs real receivers for notification tests: an SMTP
// server (github.com/emersion/go-smtp, with STARTTLS) and a webhook server
// (httptest), both on 127.0.0.1. Each counts what it accepted by
// idempotency key (Message-ID, Idempotency-Key), so a test can prove that
// no notification was lost or accepted twice, and each can be told to fail
// in the ways real receivers do: 4xx and 5xx replies, dropped connections,
// hangs, and accepting a message and then dropping the connection before
// the sender learns it was accepted.
package notifytest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"bulwark/internal/notify"
)

// Action is what a receiver does at one step of one delivery.
type Action struct {
	// Code, when not 0, is the SMTP reply code or HTTP status to answer
	// with instead of accepting.
	Code int
	// Drop closes the connection without an answer.
	Drop bool
	// Delay waits before answering (a slow or hung receiver).
	Delay time.Duration
	// AcceptThenDrop records the message as accepted, then closes the
	// connection before answering: the sender cannot know it arrived.
	AcceptThenDrop bool
}

// Fault decides the action for a step ("rcpt" or "data" for SMTP, "post"
// for webhooks) of the attempt-th delivery (from 1) to address, for the
// message with key (known at "data" and "post"; "" at "rcpt").
type Fault func(step, address, key string, attempt int) Action

// Mail is a message the SMTP server accepted.
type Mail struct {
	From      string
	To        []string
	Raw       []byte
	Header    mail.Header
	Body      string // decoded from quoted-printable
	MessageID string
}

// SMTPServer is an SMTP server for tests.
type SMTPServer struct {
	Host string
	Port int
	// ClientTLS trusts the server's certificate (for notify.SMTPConfig).
	ClientTLS *tls.Config

	srv   *smtp.Server
	fault Fault

	mu       sync.Mutex
	attempts map[string]int // RCPT commands per address
	accepted map[string]int // messages accepted per Message-ID
	mails    []Mail
}

// SMTPOptions configure NewSMTPServer.
type SMTPOptions struct {
	StartTLS bool // offer STARTTLS with a certificate made for the test
	Fault    Fault
}

// NewSMTPServer starts an SMTP server on 127.0.0.1; it stops with the test.
func NewSMTPServer(t testing.TB, opt SMTPOptions) *SMTPServer {
	t.Helper()
	s := &SMTPServer{fault: opt.Fault, attempts: map[string]int{}, accepted: map[string]int{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ErrorLog = discardLogger{}
	if opt.StartTLS {
		cert, pool := selfSigned(t)
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.ClientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Host = "127.0.0.1"
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// Accepted returns the number of accepted messages per Message-ID
// (without the angle brackets and domain).
func (s *SMTPServer) Accepted() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.accepted {
		out[k] = v
	}
	return out
}

// Drain stops the server once the sessions under way have ended, so that
// a message a slow session is still accepting is counted.
func (s *SMTPServer) Drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

// Mails returns the accepted messages, in order.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

type session struct {
	s    *SMTPServer
	conn *smtp.Conn
	from string
	to   []string
	n    map[string]int
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) act(a Action) error {
	if a.Delay > 0 {
		time.Sleep(a.Delay)
	}
	if a.Drop {
		x.conn.Conn().Close()
		return &smtp.SMTPError{Code: 421, Message: "closing"}
	}
	if a.Code != 0 {
		return &smtp.SMTPError{Code: a.Code, Message: "test fault"}
	}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	x.s.attempts[to]++
	n := x.s.attempts[to]
	x.s.mu.Unlock()
	if x.n == nil {
		x.n = map[string]int{}
	}
	x.n[to] = n
	if x.s.fault != nil {
		if err := x.act(x.s.fault("rcpt", to, "", n)); err != nil {
			return err
		}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Mail{From: x.from, To: x.to, Raw: raw}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = msg.Header
		body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
		m.Body = string(body)
		id := strings.Trim(msg.Header.Get("Message-ID"), "<>")
		if at := strings.IndexByte(id, '@'); at >= 0 {
			id = id[:at]
		}
		m.MessageID = id
	}
	if x.s.fault != nil && len(x.to) > 0 {
		a := x.s.fault("data", x.to[0], m.MessageID, x.n[x.to[0]])
		if a.AcceptThenDrop {
			x.s.record(m)
			x.conn.Conn().Close()
			return &smtp.SMTPError{Code: 421, Message: "closing"}
		}
		if err := x.act(a); err != nil {
			return err
		}
	}
	x.s.record(m)
	return nil
}

func (s *SMTPServer) record(m Mail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted[m.MessageID]++
	s.mails = append(s.mails, m)
}

// Delivery is a webhook delivery the server accepted.
type Delivery struct {
	Key       string
	Header    http.Header
	Body      []byte
	Signature string
	Timestamp string
	Event     map[string]any // the payload's "event"
	Envelope  map[string]any
}

// WebhookServer is an HTTP server receiving webhooks for tests. It
// verifies each delivery's signature with Secret (refusing bad ones with
// 401) before the fault and the count.
type WebhookServer struct {
	*httptest.Server
	Secret notify.Secret
	fault  Fault

	mu       sync.Mutex
	attempts map[string]int // posts per idempotency key
	accepted map[string]int
	list     []Delivery
	badSigs  int
}

// NewWebhookServer starts a webhook receiver; it stops with the test.
func NewWebhookServer(t testing.TB, secret notify.Secret, fault Fault) *WebhookServer {
	t.Helper()
	w := &WebhookServer{Secret: secret, fault: fault, attempts: map[string]int{}, accepted: map[string]int{}}
	w.Server = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.Server.Close)
	return w
}

func (w *WebhookServer) serve(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(rw, "bad request", http.StatusBadRequest)
		return
	}
	key := r.Header.Get(notify.HeaderIdempotency)
	if err := notify.VerifySignature(w.Secret, r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		w.mu.Lock()
		w.badSigs++
		w.mu.Unlock()
		http.Error(rw, "bad signature", http.StatusUnauthorized)
		return
	}
	w.mu.Lock()
	w.attempts[key]++
	n := w.attempts[key]
	w.mu.Unlock()
	d := Delivery{Key: key, Header: r.Header.Clone(), Body: body, Signature: r.Header.Get(notify.HeaderSignature), Timestamp: r.Header.Get(notify.HeaderTimestamp)}
	json.Unmarshal(body, &d.Envelope)
	if ev, ok := d.Envelope["event"].(map[string]any); ok {
		d.Event = ev
	}
	if w.fault != nil {
		a := w.fault("post", r.URL.Path, key, n)
		if a.AcceptThenDrop {
			w.record(d)
			if hj, ok := rw.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			return
		}
		if a.Delay > 0 {
			select {
			case <-time.After(a.Delay):
			case <-r.Context().Done():
				return // the sender gave up: not accepted
			}
		}
		if a.Drop {
			if hj, ok := rw.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		if a.Code != 0 {
			http.Error(rw, "test fault", a.Code)
			return
		}
	}
	w.record(d)
	rw.WriteHeader(http.StatusNoContent)
}

func (w *WebhookServer) record(d Delivery) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.accepted[d.Key]++
	w.list = append(w.list, d)
}

// Accepted returns the number of accepted deliveries per idempotency key.
func (w *WebhookServer) Accepted() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, v := range w.accepted {
		out[k] = v
	}
	return out
}

// Drain stops the server once the requests under way have ended.
func (w *WebhookServer) Drain() { w.Server.Close() }

// Deliveries returns the accepted deliveries, in order.
func (w *WebhookServer) Deliveries() []Delivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Delivery(nil), w.list...)
}

// BadSignatures counts deliveries refused for their signature.
func (w *WebhookServer) BadSignatures() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.badSigs
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bulwark test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
