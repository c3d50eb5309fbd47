package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook headers. A receiver checks the signature (VerifySignature), then
// drops a delivery whose Idempotency-Key it has seen: a delivery may be
// repeated after a timeout or a crash (at-least-once), never with a
// different key.
const (
	HeaderSignature   = "X-Bulwark-Signature"    // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	HeaderTimestamp   = "X-Bulwark-Timestamp"    // Unix seconds of this attempt
	HeaderIdempotency = "Idempotency-Key"        // the notification's ID
	HeaderID          = "X-Bulwark-Notification" // the same, under Bulwark's own name
)

// Limits of the webhook channel.
const (
	MaxWebhookPayload = 256 << 10 // bytes of JSON Bulwark sends
	maxWebhookAnswer  = 4 << 10   // bytes of a receiver's answer read
	maxRedirects      = 3
)

// WebhookConfig configures the webhook channel.
type WebhookConfig struct {
	// Secrets are the signing secrets by name (the matrix names them).
	Secrets map[string]Secret
	Timeout time.Duration // per delivery; default 10s
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
}

// Webhook is the webhook channel: an HTTP POST of JSON, signed.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
	now    func() time.Time
}

// NewWebhook returns the channel.
func NewWebhook(cfg WebhookConfig) *Webhook {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	tr := cfg.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			TLSHandshakeTimeout:   cfg.Timeout,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConns:          16,
			IdleConnTimeout:       90 * time.Second,
		}
	}
	w := &Webhook{cfg: cfg, now: time.Now}
	w.client = &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: sameOriginRedirect}
	return w
}

// Timeout is the longest one delivery may take.
func (w *Webhook) Timeout() time.Duration { return w.cfg.Timeout }

var errRedirect = errors.New("redirect refused")

// sameOriginRedirect follows at most maxRedirects 307/308 redirects to the
// same scheme and host (which keep the method and body); anything else is
// refused, so a receiver cannot bounce a signed notification elsewhere.
func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", errRedirect, maxRedirects)
	}
	first := via[0].URL
	if req.Response == nil || (req.Response.StatusCode != http.StatusTemporaryRedirect && req.Response.StatusCode != http.StatusPermanentRedirect) {
		return fmt.Errorf("%w: only 307 and 308 keep the POST", errRedirect)
	}
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("%w: to another host", errRedirect)
	}
	return nil
}

// Sign returns the signature header value for body sent at ts.
func Sign(secret Secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a delivery's signature and that its timestamp is
// within tolerance of now (so a captured delivery cannot be replayed later).
func VerifySignature(secret Secret, ts, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("timestamp outside the tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// Send posts m.Payload to m.To.
func (w *Webhook) Send(ctx context.Context, m *Message) error {
	secret, ok := w.cfg.Secrets[m.Secret]
	if !ok || secret.Reveal() == "" {
		return Permanent(fmt.Errorf("webhook secret %q is not configured (BULWARK_WEBHOOK_SECRET_%s)", m.Secret, strings.ToUpper(m.Secret)))
	}
	if err := checkWebhookURL(m.To); err != nil {
		return Permanent(err)
	}
	if len(m.Payload) > MaxWebhookPayload {
		return Permanent(fmt.Errorf("webhook payload is larger than %d bytes", MaxWebhookPayload))
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.To, bytes.NewReader(m.Payload))
	if err != nil {
		return Permanent(fmt.Errorf("webhook request: %w", err))
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Bulwark-Notify/1")
	req.Header.Set(HeaderIdempotency, m.ID)
	req.Header.Set(HeaderID, m.ID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(secret, ts, m.Payload))
	res, err := w.client.Do(req)
	if err != nil {
		if errors.Is(err, errRedirect) {
			return Permanent(fmt.Errorf("webhook: %w", unwrapURLError(err)))
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return fmt.Errorf("webhook: no answer within %v (timeout)", w.cfg.Timeout)
		}
		return fmt.Errorf("webhook: %w", unwrapURLError(err))
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, maxWebhookAnswer))
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("webhook: %s: %s", res.Status, oneLine(string(answer), 200))
	default:
		return Permanent(fmt.Errorf("webhook: %s: %s", res.Status, oneLine(string(answer), 200)))
	}
}

// unwrapURLError drops the URL (which may carry a token in its query) from
// a client error.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
