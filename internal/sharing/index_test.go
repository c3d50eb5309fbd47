package sharing

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"bulwark"
)

// Provenance costs no memory per version: the stream keeps its first
// version's source in what was padding.
func TestIndexSizes(t *testing.T) {
	if s := unsafe.Sizeof(entry{}); s != 32 {
		t.Errorf("entry is %d bytes, want 32", s)
	}
	if s := unsafe.Sizeof(stream{}); s != 36 {
		t.Errorf("stream is %d bytes, want 36", s)
	}
}

// Sources beyond what 16 bits index, and versions whose source is not
// their object's first, keep their own source.
func TestIndexSources(t *testing.T) {
	x := newIndex()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	sc := bulwark.IntelScope{Marking: bulwark.TLPGreen, PublisherOrg: "water"}
	seq := int64(0)
	add := func(id string, v time.Time, source string) {
		seq++
		x.add(&bulwark.IntelObject{Seq: seq, Collection: "c", STIXID: id, Type: "indicator", SpecVersion: "2.1", Version: v, DateAdded: t0, IntelScope: sc, Source: source})
	}
	// Fill the 16-bit range with one-version objects of distinct sources.
	const n = srcWide + 10
	for i := range n {
		add(fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", i), t0, fmt.Sprintf("feed:%d", i))
	}
	// A wide object with a second version from another source, and a
	// narrow one likewise.
	wide := fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", n-1)
	add(wide, t0.Add(time.Second), "taxii")
	narrow := "indicator--00000001-0000-4000-8000-000000000000"
	add(narrow, t0.Add(time.Second), "feed:1")
	add(narrow, t0.Add(2*time.Second), "taxii")
	c := x.cols["c"]
	want := map[int]string{0: "feed:0", srcWide - 1: fmt.Sprintf("feed:%d", srcWide-1), srcWide: fmt.Sprintf("feed:%d", srcWide), n - 1: fmt.Sprintf("feed:%d", n-1),
		n: "taxii", n + 1: "feed:1", n + 2: "taxii"}
	for ei, src := range want {
		if got := x.sourceOf(c, int32(ei)); got != src {
			t.Errorf("entry %d: source %q, want %q", ei, got, src)
		}
	}
	// Only the wide streams' entries and the version from another channel
	// take a slot: 10 wide objects (11 entries) and one.
	if len(c.srcX) != 12 {
		t.Errorf("%d exceptions, want 12", len(c.srcX))
	}
}
