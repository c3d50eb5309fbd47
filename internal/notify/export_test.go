package notify

import (
	"time"

	"bulwark"
)

// SetAfterSend installs a hook run between a successful send and its
// record; returning false abandons the record, as a crash there would.
func (s *Service) SetAfterSend(fn func(n *bulwark.Notification) bool) { s.afterSend = fn }

// Compose exposes the e-mail's composition.
func (s *SMTP) Compose(m *Message) ([]byte, error) { return s.compose(m, time.Now()) }
