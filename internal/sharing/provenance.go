package sharing

import (
	"context"
	"slices"
	"strings"
)

// SourceCount is how many objects of a collection the caller may see came
// through one channel (IntelObject.Source) from one publishing
// organization: "what came from whom".
type SourceCount struct {
	Source    string `json:"source"`
	Publisher string `json:"publisher"`
	Objects   int    `json:"objects"`
}

// Provenance counts the objects of a collection the caller may see (the
// latest version of each, as Objects lists them by default) per source and
// publishing organization, largest first. It passes every version through
// the same rule as Objects (CanSee), so it says nothing about objects the
// caller may not see.
func (s *Service) Provenance(ctx context.Context, col string) ([]SourceCount, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, canRead, err := s.readRights(p, col)
	if err != nil {
		return nil, err
	}
	ci := s.idx.cols[c.ID]
	if ci == nil {
		return nil, nil
	}
	type key struct {
		src   uint32
		scope int32
	}
	counts := map[key]int{}
	q := Query{visit: func(h *hit) { counts[key{s.idx.sourceIndex(ci, h.entry), h.scope}]++ }}
	s.idx.evalQuery(ci, &q, s.visibility(p, canRead))
	// Scopes of one publisher are merged.
	merged := map[[2]string]int{}
	for k, n := range counts {
		merged[[2]string{s.idx.sources[k.src], s.idx.scopes[k.scope].PublisherOrg}] += n
	}
	out := make([]SourceCount, 0, len(merged))
	for k, n := range merged {
		out = append(out, SourceCount{Source: k[0], Publisher: k[1], Objects: n})
	}
	slices.SortFunc(out, func(a, b SourceCount) int {
		if a.Objects != b.Objects {
			return b.Objects - a.Objects
		}
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return strings.Compare(a.Publisher, b.Publisher)
	})
	return out, nil
}
