package notify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"bulwark"
)

// Settings are what `bulwark serve` configures: the matrix file, the
// channels and the delivery interval. Secrets come from the environment
// (SecretsFromEnv), never from flags, which other users of the machine can
// read in the process list.
type Settings struct {
	MatrixFile string        // "" is the bundled matrix
	Every      time.Duration // delivery and escalation interval; 0 disables the loop
	PublicURL  string        // for ack links
	SMTP       SMTPConfig    // Host "" leaves e-mail unconfigured
	Webhook    WebhookConfig
	AckKey     Secret
}

// Environment variables holding secrets.
const (
	EnvSMTPPassword  = "BULWARK_SMTP_PASSWORD"
	EnvAckKey        = "BULWARK_NOTIFY_ACK_KEY"
	EnvWebhookPrefix = "BULWARK_WEBHOOK_SECRET_" // + the secret's name in upper case
)

// SecretsFromEnv fills the secrets of s from environ (os.Environ's form):
// the SMTP password, the ack-link key and every BULWARK_WEBHOOK_SECRET_*.
func (s *Settings) SecretsFromEnv(environ []string) {
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		switch {
		case k == EnvSMTPPassword:
			s.SMTP.Password = Secret(v)
		case k == EnvAckKey:
			s.AckKey = Secret(v)
		case strings.HasPrefix(k, EnvWebhookPrefix) && len(k) > len(EnvWebhookPrefix):
			if s.Webhook.Secrets == nil {
				s.Webhook.Secrets = map[string]Secret{}
			}
			s.Webhook.Secrets[strings.ToLower(strings.TrimPrefix(k, EnvWebhookPrefix))] = Secret(v)
		}
	}
}

// LoadMatrix reads the matrix file of s (the bundled matrix when none).
func (s *Settings) LoadMatrix() (*Matrix, error) {
	if s.MatrixFile == "" {
		return DefaultMatrix(), nil
	}
	f, err := os.Open(s.MatrixFile)
	if err != nil {
		return nil, fmt.Errorf("notification matrix: %w", err)
	}
	defer f.Close()
	return ParseMatrix(f, s.MatrixFile)
}

// Build makes the service of s: it reads the matrix, checks that every
// webhook secret the matrix names is set and that the ack key is long
// enough, and installs the configured channels. Problems are reported
// before the server starts, not at the first incident.
func Build(st bulwark.Store, s Settings, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := s.LoadMatrix()
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range m.Secrets() {
		if v, ok := s.Webhook.Secrets[strings.ToLower(name)]; !ok || v.Reveal() == "" {
			missing = append(missing, EnvWebhookPrefix+strings.ToUpper(name))
		}
	}
	if len(missing) > 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "notification matrix: webhook secrets not set: %s", strings.Join(missing, ", "))
	}
	// The matrix names secrets as written; the environment's are lower
	// case: index them both ways.
	secrets := map[string]Secret{}
	for k, v := range s.Webhook.Secrets {
		secrets[strings.ToLower(k)] = v
	}
	for _, name := range m.Secrets() {
		secrets[name] = secrets[strings.ToLower(name)]
	}
	s.Webhook.Secrets = secrets
	if k := s.AckKey.Reveal(); k != "" && len(k) < 32 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s must be at least 32 bytes", EnvAckKey)
	}
	if s.PublicURL != "" && !strings.HasPrefix(s.PublicURL, "https://") && !strings.HasPrefix(s.PublicURL, "http://") {
		return nil, bulwark.Errorf(bulwark.EINVALID, "the public URL must start with https:// (or http://)")
	}
	svc := New(st, m, Config{PublicURL: s.PublicURL, AckKey: s.AckKey}, log)
	if s.SMTP.Host != "" {
		smtp, err := NewSMTP(s.SMTP)
		if err != nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "%s", err)
		}
		svc.SetSender(bulwark.ChannelEmail, smtp)
	}
	svc.SetSender(bulwark.ChannelWebhook, NewWebhook(s.Webhook))
	if s.AckKey.Reveal() == "" && s.PublicURL != "" {
		log.Info("notifications: no " + EnvAckKey + " set: ack links sent now stop working when the server restarts")
	}
	if s.SMTP.Host == "" {
		log.Info("notifications: no SMTP server configured: e-mail notifications wait and are retried until one is (--smtp-host)")
	}
	log.Info("notifications", "matrix", m.Name, "revision", m.Revision, "rules", len(m.Rules), "smtp", s.SMTP.Host,
		"webhook_secrets", len(m.Secrets()), "public_url", s.PublicURL)
	return svc, nil
}

// Hook adapts the service to reporters that only want an error, such as
// the incident service's Notifier: incident.SetNotifier(notify.Hook{S: svc}).
type Hook struct{ S *Service }

// Notify reports ev (see Service.Notify).
func (h Hook) Notify(ctx context.Context, ev Event) error {
	_, err := h.S.Notify(ctx, ev)
	return err
}
