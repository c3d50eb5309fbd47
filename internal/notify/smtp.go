package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SMTP TLS modes.
const (
	TLSStartTLS        = "starttls"         // STARTTLS when the server offers it (default)
	TLSRequireStartTLS = "require-starttls" // refuse to send unless STARTTLS succeeds
	TLSImplicit        = "tls"              // TLS from the first byte (port 465)
	TLSNone            = "none"             // never encrypt (only to this machine)
)

// SMTPConfig configures the e-mail channel.
type SMTPConfig struct {
	Host     string
	Port     int    // default 587 (465 with TLSImplicit)
	From     string // the envelope sender and From header
	Username string // AUTH PLAIN when set (only over TLS or to this machine)
	Password Secret
	TLS      string        // one of the TLS modes; "" is TLSStartTLS
	Timeout  time.Duration // for one whole delivery; default 30s
	// HelloName is sent in EHLO; default the From address's domain.
	HelloName string
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
}

// SMTP is the e-mail channel: one SMTP conversation per message.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP checks cfg and returns the channel.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " \r\n/") {
		return nil, fmt.Errorf("smtp: a host name is required")
	}
	if err := checkEmail(cfg.From); err != nil {
		return nil, fmt.Errorf("smtp: from: %w", err)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSStartTLS, TLSRequireStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(cfg.Host) {
			return nil, fmt.Errorf("smtp: tls none is allowed only to this machine, not %s", cfg.Host)
		}
	default:
		return nil, fmt.Errorf("smtp: tls %q: use starttls, require-starttls, tls or none", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: port %d out of range", cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HelloName == "" {
		cfg.HelloName = cfg.From[strings.LastIndexByte(cfg.From, '@')+1:]
	}
	if cfg.Username != "" && cfg.TLS == TLSNone && !isLoopback(cfg.Host) {
		return nil, errors.New("smtp: a password is never sent unencrypted")
	}
	return &SMTP{cfg: cfg}, nil
}

// Timeout is the longest one delivery may take.
func (s *SMTP) Timeout() time.Duration { return s.cfg.Timeout }

func (s *SMTP) tlsConfig() *tls.Config {
	if s.cfg.TLSConfig != nil {
		c := s.cfg.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = s.cfg.Host
		}
		return c
	}
	return &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
}

// Send delivers m in one SMTP conversation bounded by the timeout.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	if err := checkEmail(m.To); err != nil {
		return Permanent(fmt.Errorf("recipient: %w", err))
	}
	msg, err := s.compose(m, time.Now())
	if err != nil {
		return Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: connect to %s: %w", addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// A cancelled context ends the conversation at once.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp: TLS with %s: %w", addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return smtpErr("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return smtpErr("EHLO", err)
	}
	if s.cfg.TLS == TLSStartTLS || s.cfg.TLS == TLSRequireStartTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return smtpErr("STARTTLS", err)
			}
		} else if s.cfg.TLS == TLSRequireStartTLS {
			return fmt.Errorf("smtp: %s does not offer STARTTLS, which is required", addr)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password.Reveal(), s.cfg.Host)); err != nil {
			return smtpErr("AUTH", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return smtpErr("MAIL FROM", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return smtpErr("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr("message", err)
	}
	// Close waits for the server's answer to the message: 250 means it
	// took responsibility for it.
	if err := w.Close(); err != nil {
		return smtpErr("end of message", err)
	}
	c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

// smtpErr classifies a failed step: a 5xx reply is permanent, a 4xx reply
// and anything else (a timeout, a dropped connection, TLS) is retried.
func smtpErr(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		e := fmt.Errorf("smtp: %s: %d %s", step, te.Code, oneLine(te.Msg, 300))
		if te.Code >= 500 {
			return Permanent(e)
		}
		return e
	}
	return fmt.Errorf("smtp: %s: %w", step, err)
}

// compose writes the message: headers safe by construction (each value is
// one line, the subject MIME-encoded) and the body as quoted-printable
// UTF-8, so that no line is too long and no line of the body can end the
// message early or add a header.
func (s *SMTP) compose(m *Message, now time.Time) ([]byte, error) {
	subject := finishSubject(m.Subject)
	if !validMessageID(m.ID) {
		return nil, fmt.Errorf("message id %q is not valid", truncate(m.ID, 64))
	}
	var b bytes.Buffer
	domain := s.cfg.From[strings.LastIndexByte(s.cfg.From, '@')+1:]
	hdr := func(k, v string) {
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	hdr("From", s.cfg.From)
	hdr("To", m.To)
	hdr("Subject", encodeSubject(subject))
	hdr("Date", now.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+m.ID+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Bulwark-Notification", m.ID)
	hdr("Idempotency-Key", m.ID)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(finishBody(m.Body), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeSubject writes a subject header value: plain when it is printable
// ASCII, otherwise (and whenever it contains "=?", which a reader would
// decode as an encoded word) as base64 encoded words of whole characters,
// so that nothing the subject says is ever read as encoding.
func encodeSubject(s string) string {
	plain := !strings.Contains(s, "=?")
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x7f
	}
	if plain {
		return s
	}
	var words []string
	for len(s) > 0 {
		n := min(len(s), 45)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

// validMessageID accepts the notification IDs the store makes (and other
// plain tokens): letters, digits, '-', '_', '.'.
func validMessageID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
