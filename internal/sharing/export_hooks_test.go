package sharing

import (
	"context"
	"io"
)

// ExportPaged is Export with a chosen bundle id and page size, so that
// tests compare its bytes with the bundle built whole and cross page
// boundaries with few objects.
func (s *Service) ExportPaged(ctx context.Context, col string, allVersions bool, bundleID string, pageSize int, w io.Writer) (int, error) {
	return s.export(ctx, col, allVersions, bundleID, pageSize, w)
}

// BodyLogHits is how many bodies the body log has served (-1 without one).
func (s *Service) BodyLogHits() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.bodies == nil {
		return -1
	}
	return s.bodies.hits.Load()
}
