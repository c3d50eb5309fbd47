package notify

import (
	"context"
	"errors"
	"log/slog"
)

// Message is one delivery attempt's content, as a channel sends it.
type Message struct {
	// ID is the notification's ID. It is the idempotency key: every attempt
	// to deliver one notification carries the same ID (as the e-mail's
	// Message-ID and the webhook's Idempotency-Key), so a receiver that saw
	// it already can drop the repeat.
	ID      string
	To      string // e-mail address or webhook URL
	Subject string
	Body    string // plain text, with the acknowledgement footer
	// Payload is the webhook's JSON body.
	Payload []byte
	// Secret names the webhook's signing secret.
	Secret string
}

// Sender delivers messages of one channel. Send returns nil once the
// receiving server accepted the message; an error wrapped by Permanent when
// retrying cannot help (an unknown mailbox, a 4xx webhook answer); any
// other error is retried later.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// permanent marks an error that retrying will not fix.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanent
	return errors.As(err, &p)
}

// Secret is a credential (a webhook signing secret, an SMTP password, the
// ack-link key). It prints, logs and marshals as "[redacted]"; Reveal
// returns the value.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }
