package sharing_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
)

// wholeBundle is the export as it was built before streaming: every page
// read, every object parsed and kept, the TLP marking-definitions the
// objects use appended unless present, then one stix.EncodeBundle.
func wholeBundle(ctx context.Context, svc *sharing.Service, col string, all bool, id string) ([]byte, int, error) {
	q := sharing.Query{Limit: sharing.MaxPageSize}
	if all {
		q.Versions = sharing.VersionFilter{All: true}
	}
	var objs []*stix.Object
	seen := map[string]bool{}
	used := map[bulwark.TLP]bool{}
	next := ""
	for {
		page, err := svc.Objects(ctx, col, q, next)
		if err != nil {
			return nil, 0, err
		}
		for _, it := range page.Items {
			o, err := stix.ParseObject(it.Body, stix.Limits{})
			if err != nil {
				return nil, 0, err
			}
			objs = append(objs, o)
			seen[o.ID()] = true
			used[it.Marking] = true
		}
		if !page.More {
			break
		}
		next = page.Next
	}
	for _, t := range bulwark.TLPs {
		m, _ := stix.ParseMarking(string(t))
		if d := m.MarkingDefinition(); used[t] && d != nil && !seen[d.ID()] {
			objs = append(objs, d)
		}
	}
	var buf bytes.Buffer
	if err := stix.EncodeBundle(&buf, id, objs); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), len(objs), nil
}

// The streamed export writes exactly the bytes of the bundle built whole,
// for every reader, page size and version choice; it reveals nothing the
// reader may not see and writes nothing when the collection is hidden.
func TestExportStreamsTheSameBundle(t *testing.T) {
	f := newFixture(t)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	amber := newID()
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(amber, t0, ""), Marking: bulwark.TLPAmber, Orgs: []string{"power"}})
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(amber, t0.Add(time.Minute), ""), Marking: bulwark.TLPAmber, Orgs: []string{"power"}})
	for i := range 5 {
		f.publish(t, f.water, sharing.PublishRequest{Object: indicator(newID(), t0.Add(time.Duration(i)*time.Second), ""), Marking: bulwark.TLPGreen})
	}
	f.publish(t, f.power, sharing.PublishRequest{Object: indicator(newID(), t0, ""), Marking: bulwark.TLPRed, Users: []int64{f.water.ID}})
	f.publish(t, f.water, sharing.PublishRequest{Object: indicator(newID(), t0, "")}) // AMBER+STRICT, water only
	// The collection holds the TLP:CLEAR definition itself: it is exported
	// once, as an object, not appended again.
	clear, _ := stix.ParseMarking("clear")
	if _, err := f.w.Svc.AddObjects(f.water.Ctx(), f.col, []*stix.Object{clear.MarkingDefinition()}, sharing.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	const id = "bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8"
	for _, u := range []struct {
		name string
		ctx  context.Context
	}{{"water", f.water.Ctx()}, {"power", f.power.Ctx()}, {"port", f.port.Ctx()}, {"city", f.city.Ctx()}} {
		for _, all := range []bool{false, true} {
			want, wantN, err := wholeBundle(u.ctx, f.w.Svc, f.col, all, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{1, 2, 3, 1000} {
				var got bytes.Buffer
				n, err := f.w.Svc.ExportPaged(u.ctx, f.col, all, id, size, &got)
				if err != nil || n != wantN || !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s all=%v page %d: %v, %d objects (want %d)\n got %s\nwant %s", u.name, all, size, err, n, wantN, got.Bytes(), want)
				}
			}
		}
	}
	// Port sees only the green objects and the CLEAR definition.
	var b bytes.Buffer
	if n, err := f.w.Svc.Export(f.port.Ctx(), f.col, true, &b); err != nil || n != 7 || bytes.Contains(b.Bytes(), []byte(amber)) {
		t.Errorf("port's export: %d %v", n, err)
	}
	if _, err := stix.DecodeBundle(&b, stix.Limits{}); err != nil {
		t.Errorf("export is not a valid bundle: %v", err)
	}
	// A hidden collection: an error and not a byte.
	b.Reset()
	_, err := f.w.Svc.Export(f.hospital.Ctx(), f.col, false, &b)
	wantCode(t, "non-member exports", err, bulwark.ENOTFOUND)
	if b.Len() != 0 {
		t.Errorf("non-member's export wrote %q", b.Bytes())
	}
	_, err = f.w.Svc.ExportPaged(f.water.Ctx(), f.col, false, "indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8", 10, &b)
	if err == nil {
		t.Error("export with a bundle id that is not one")
	}
}

// failWriter fails once more than n bytes were written.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("reader went away")
	}
	return len(p), nil
}

// populate stores n GREEN indicators of water in the fixture's collection
// directly through the store (quicker than the service's checks).
func populate(tb testing.TB, f *fixture, n int) {
	tb.Helper()
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	for i := 0; i < n; i += 5000 {
		var objs []bulwark.IntelObject
		for j := i; j < min(i+5000, n); j++ {
			o, err := stix.ParseObject(indicator(newID(), t0.Add(time.Duration(j)*time.Millisecond), stix.TLPGreenID), stix.Limits{})
			if err != nil {
				tb.Fatal(err)
			}
			objs = append(objs, bulwark.IntelObject{STIXID: o.ID(), Type: o.Type(), SpecVersion: "2.1", Version: o.VersionTime(),
				IntelScope: bulwark.IntelScope{Marking: bulwark.TLPGreen, PublisherOrg: "water", PublisherUser: f.water.ID}, Source: "taxii", Body: o.JSON()})
		}
		if _, err := f.w.Store.PutIntelObjects(f.water.Ctx(), f.col, objs, nil); err != nil {
			tb.Fatal(err)
		}
	}
}

// peakHeap runs fn while sampling the heap and returns the largest growth
// above the heap before it. The collector runs at 10% growth meanwhile, so
// that the samples are close to what is live rather than to garbage.
func peakHeap(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// Exporting a collection of 20,000 objects (about 9 MB of bundle) keeps
// the heap within a few pages; building it whole held every object. A
// writer that fails stops the export.
func TestExportMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("populates 20,000 objects")
	}
	f := newFixture(t)
	const n = 20_000
	populate(t, f, n)
	// The index takes in the new objects first: its growth is not the export's.
	if c, err := f.w.Svc.Count(f.power.Ctx(), f.col, sharing.Query{}); err != nil || c != n {
		t.Fatalf("count %d %v", c, err)
	}
	var size int64
	cw := writerFunc(func(p []byte) (int, error) { size += int64(len(p)); return len(p), nil })
	var got int
	var err error
	streamed := peakHeap(func() { got, err = f.w.Svc.Export(f.power.Ctx(), f.col, false, cw) })
	if err != nil || got != n+1 { // the objects and the TLP:GREEN definition
		t.Fatalf("export: %d %v", got, err)
	}
	var whole uint64
	whole = peakHeap(func() {
		_, _, err = wholeBundle(f.power.Ctx(), f.w.Svc, f.col, false, "bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8")
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bundle %d bytes; peak heap growth: streamed %d KiB, built whole %d KiB", size, streamed>>10, whole>>10)
	// Pages of 1,000 bodies of about 450 bytes and their parsed objects;
	// the bound is independent of the collection's size.
	if streamed > 8<<20 {
		t.Errorf("streamed export grew the heap by %d KiB, want at most 8 MiB", streamed>>10)
	}
	// A reader that goes away stops the export at the next page.
	_, err = f.w.Svc.Export(f.power.Ctx(), f.col, false, &failWriter{n: 100 << 10})
	if err == nil {
		t.Error("export to a failing writer succeeded")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

var _ io.Writer = writerFunc(nil)

// BenchmarkExport exports 20,000 objects (latest versions, 7.6 MB) to a
// discarding writer, streamed and as the bundle was built whole before,
// and reports the peak heap growth while it runs (the collector runs at
// 10% meanwhile, so the times are not those of a normal run); -benchtime 3x
// is plenty.
func BenchmarkExport(b *testing.B) {
	w := sharingtest.Open(b, false, sharingtest.Orgs("city", "water", "power"))
	city, water, power := w.AddUser(b, "city", bulwark.RoleAdmin), w.AddUser(b, "water", bulwark.RoleAnalyst), w.AddUser(b, "power", bulwark.RoleAnalyst)
	if err := w.Svc.CreateCommunity(city.Ctx(), &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "water"}, {Org: "power"}}}); err != nil {
		b.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Indicators", Access: []bulwark.CollectionAccess{{Org: "water", CanRead: true, CanWrite: true}, {Org: "power", CanRead: true}}}
	if err := w.Svc.CreateCollection(city.Ctx(), col); err != nil {
		b.Fatal(err)
	}
	f := &fixture{w: w, water: water, power: power, col: col.ID}
	populate(b, f, 20_000)
	if _, err := w.Svc.Count(power.Ctx(), col.ID, sharing.Query{}); err != nil {
		b.Fatal(err)
	}
	for _, way := range []struct {
		name   string
		export func() (int, error)
	}{
		{"streamed", func() (int, error) { return w.Svc.Export(power.Ctx(), col.ID, false, io.Discard) }},
		{"whole", func() (int, error) {
			b, n, err := wholeBundle(power.Ctx(), w.Svc, col.ID, false, "bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8")
			io.Discard.Write(b)
			return n, err
		}},
	} {
		b.Run(way.name, func(b *testing.B) {
			var peak uint64
			for b.Loop() {
				var n int
				var err error
				p := peakHeap(func() { n, err = way.export() })
				if err != nil || n != 20_001 {
					b.Fatal(n, err)
				}
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
		})
	}
}
