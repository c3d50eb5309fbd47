package cli

import (
	"os"

	"bulwark/internal/notify"
	"bulwark/internal/sqlstore"
)

// intelDigests returns the notification service that queues intel digests
// for additions this command makes (imports, publications), or nil when
// the matrix has no intel_added rule. It reads the matrix the server reads
// from the environment (BULWARK_NOTIFY_MATRIX, BULWARK_PUBLIC_URL): the
// digests wait in the database's outbox and `bulwark serve` delivers them.
// A matrix that cannot be read is reported and skipped: the objects are
// shared anyway.
func (e *env) intelDigests(db *sqlstore.DB) *notify.Service {
	s := notify.Settings{MatrixFile: os.Getenv("BULWARK_NOTIFY_MATRIX"), PublicURL: os.Getenv("BULWARK_PUBLIC_URL")}
	m, err := s.LoadMatrix()
	if err != nil {
		e.log.Warn("intel digests: the notification matrix cannot be read; no digests are queued", "err", err)
		return nil
	}
	for i := range m.Rules {
		if notify.IsIntelRule(&m.Rules[i]) {
			return notify.New(db, m, notify.Config{PublicURL: s.PublicURL}, e.log)
		}
	}
	return nil
}
