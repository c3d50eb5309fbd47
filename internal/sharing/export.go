package sharing

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"bulwark"
	"bulwark/internal/stix"
)

// export streams the bundle of Export: a page at a time, so memory stays
// bounded by a page whatever the collection's size; the bytes are those
// stix.EncodeBundle writes for the same objects. A failure before the
// first byte (an unknown or unreadable collection) writes nothing; one
// after it leaves w with a truncated bundle, which is not valid JSON.
func (s *Service) export(ctx context.Context, col string, allVersions bool, bundleID string, pageSize int, w io.Writer) (int, error) {
	if t, _, ok := stix.ParseID(bundleID); !ok || t != "bundle" {
		return 0, fmt.Errorf("export: invalid bundle id %q", bundleID)
	}
	q := Query{Limit: pageSize}
	if allVersions {
		q.Versions = VersionFilter{All: true}
	}
	// The TLP marking-definitions the objects use are appended unless the
	// collection holds them itself: only their ids need remembering.
	tlpIDs := map[string]bulwark.TLP{}
	for _, t := range bulwark.TLPs {
		m, _ := stix.ParseMarking(string(t))
		if d := m.MarkingDefinition(); d != nil {
			tlpIDs[d.ID()] = t
		}
	}
	seen := map[bulwark.TLP]bool{}
	used := map[bulwark.TLP]bool{}
	bw := bufio.NewWriterSize(w, 64<<10)
	n := 0
	write := func(o *stix.Object) {
		if n == 0 {
			bw.WriteString(`,"objects":[`)
		} else {
			bw.WriteByte(',')
		}
		bw.Write(o.JSON())
		n++
	}
	next := ""
	for {
		page, err := s.Objects(ctx, col, q, next)
		if err != nil {
			return 0, err
		}
		if next == "" {
			bw.WriteString(`{"id":"`)
			bw.WriteString(bundleID)
			bw.WriteString(`"`)
		}
		for _, it := range page.Items {
			o, err := stix.ParseObject(it.Body, stix.Limits{})
			if err != nil {
				return 0, fmt.Errorf("export %s: %w", it.STIXID, err)
			}
			write(o)
			if t, ok := tlpIDs[o.ID()]; ok {
				seen[t] = true
			}
			used[it.Marking] = true
		}
		if err := bw.Flush(); err != nil {
			return 0, fmt.Errorf("export: %w", err) // the reader went away: stop reading the collection
		}
		if !page.More {
			break
		}
		next = page.Next
	}
	for _, t := range bulwark.TLPs {
		m, _ := stix.ParseMarking(string(t))
		if d := m.MarkingDefinition(); used[t] && d != nil && !seen[t] {
			write(d)
		}
	}
	if n > 0 {
		bw.WriteByte(']')
	}
	bw.WriteString(`,"type":"bundle"}`)
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	return n, nil
}
