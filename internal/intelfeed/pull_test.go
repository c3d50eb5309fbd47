package intelfeed

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
)

// TestPullEndToEnd: the city pulls the ISAC's collection from the ISAC's
// Bulwark over TLS; objects land with their markings and provenance, each
// reaching whom its marking allows in the city; a second pull imports
// nothing; new objects come with the next pull; the cursor is the ISAC's
// date_added.
func TestPullEndToEnd(t *testing.T) {
	i := newISAC(t)
	c := newCity(t, Config{PageSize: 3})
	base := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Millisecond)
	clear := obj(t, newID("indicator"), base, []string{stix.Clear.ID()}, nil)
	green := obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil)
	amber := obj(t, newID("indicator"), base, []string{stix.Amber.ID()}, nil)
	// (An object without markings is AMBER+STRICT to the ISAC itself, so
	// the city never sees one from a Bulwark partner; see the AC-02 tests.)
	tlp1 := obj(t, newID("indicator"), base, []string{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"}, nil) // TLP 1.0 WHITE
	i.post(t, clear, green, amber)
	i.post(t, tlp1)
	f := c.subscribe(t, i, nil)

	res := c.pull(t, f.ID)
	if res.Err != nil || res.New != 4 || res.Rejected != 0 || res.Pages != 2 {
		t.Fatalf("first pull: %+v", res)
	}
	got := c.stored(t)
	want := map[string]bulwark.TLP{clear.ID(): bulwark.TLPClear, green.ID(): bulwark.TLPGreen, amber.ID(): bulwark.TLPAmberStrict,
		tlp1.ID(): bulwark.TLPClear}
	for id, m := range want {
		vs := got[id]
		if len(vs) != 1 {
			t.Fatalf("%s: %d versions stored", id, len(vs))
		}
		v := vs[0]
		if v.Marking != m || v.PublisherOrg != "city" || v.Source != "feed:ISAC indicators" || v.PublisherUser != c.admin.ID {
			t.Errorf("%s stored as %+v, want marking %s from feed:ISAC indicators", id, v.IntelScope, m)
		}
		if m == bulwark.TLPAmberStrict && (len(v.Orgs) != 1 || v.Orgs[0] != "city") {
			t.Errorf("%s audience %v, want the city's organization only", id, v.Orgs)
		}
	}
	// Who sees what: water reads the collection; the partner's AMBER stays
	// in the city's organization.
	water := c.sees(t, c.water)
	if !water[clear.ID()] || !water[green.ID()] || !water[tlp1.ID()] || water[amber.ID()] || len(water) != 3 {
		t.Errorf("water sees %v", water)
	}
	if analyst := c.sees(t, c.analyst); len(analyst) != 4 {
		t.Errorf("the city's analyst sees %d objects, want 4", len(analyst))
	}
	st := c.feed(t, f.ID)
	if st.Imported != 4 || st.LastCount != 4 || st.Failures != 0 || st.LastError != "" || st.LastSuccess.IsZero() || st.ResumeNext != "" {
		t.Errorf("feed state %+v", st.IntelFeedState)
	}
	if d := st.NextPull.Sub(st.LastSuccess); d != time.Hour {
		t.Errorf("next pull %v after the last success, want the interval", d)
	}
	// The cursor is the ISAC's date_added of the last object, not the
	// city's clock.
	last := lastAdded(t, i)
	if !st.AddedAfter.Equal(last) {
		t.Errorf("cursor %v, want the ISAC's last date_added %v", st.AddedAfter, last)
	}

	// Nothing new: nothing imported.
	res = c.pull(t, f.ID)
	if res.Err != nil || res.New != 0 || res.Duplicates != 0 || res.Objects != 0 {
		t.Errorf("second pull: %+v", res)
	}
	// A new version and a new object: only they come.
	green2 := obj(t, green.ID(), base.Add(time.Hour), []string{stix.Green.ID()}, nil)
	more := obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil)
	i.post(t, green2, more)
	res = c.pull(t, f.ID)
	if res.Err != nil || res.New != 2 || res.Objects != 2 {
		t.Errorf("third pull: %+v", res)
	}
	if got := c.stored(t); len(got[green.ID()]) != 2 || len(got) != 5 {
		t.Errorf("after the third pull: %d objects, %d versions of green", len(got), len(got[green.ID()]))
	}
	// Credentials never reach the logs, the feed's state or the audit log.
	if strings.Contains(c.logs.String(), isacPassword) || strings.Contains(c.logs.String(), i.reader.Password) {
		t.Error("the partner password is in the logs")
	}
	entries, err := c.w.Store.ListAudit(sharingtest.SysCtx(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	pulls := 0
	for _, e := range entries {
		if strings.Contains(e.Detail, i.reader.Password) {
			t.Errorf("audit entry reveals the password: %+v", e)
		}
		if e.Action == "intel.feed.pull" {
			pulls++
		}
	}
	if pulls != 3 {
		t.Errorf("%d pulls audited, want 3", pulls)
	}
}

// lastAdded is the ISAC's latest date_added (what its server reports).
func lastAdded(t *testing.T, i *isac) time.Time {
	t.Helper()
	var last time.Time
	for _, v := range mustScan(t, i) {
		if v.DateAdded.After(last) {
			last = v.DateAdded
		}
	}
	return last
}

func mustScan(t *testing.T, i *isac) []bulwark.IntelObject {
	t.Helper()
	rows, err := i.w.Store.ScanIntelObjects(sharingtest.SysCtx(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestCursorSharedDateAdded: thousands of objects share one date_added
// (one POST at the ISAC); a pull interrupted between pages resumes with the
// saved next: no gap, no duplicate. Objects added while the pull pages
// come in the same pull.
func TestCursorSharedDateAdded(t *testing.T) {
	i := newISAC(t)
	c := newCity(t, Config{PageSize: 400})
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	const n = 2500
	var objs []*stix.Object
	for range n {
		objs = append(objs, obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil))
	}
	i.post(t, objs...)
	f := c.subscribe(t, i, nil)

	// Interrupt after the third page (as a stopping server would).
	ctx, cancel := context.WithCancel(sharingtest.SysCtx())
	var late []*stix.Object
	testHookPage = func(feed string, pages int) {
		if pages == 3 {
			cancel()
		}
	}
	res, err := c.svc.Pull(ctx, f.ID, nil)
	testHookPage = nil
	if err != nil {
		t.Fatal(err)
	}
	if bulwark.ErrorCode(res.Err) != bulwark.ECANCELED || res.New != 1200 {
		t.Fatalf("interrupted pull: %+v", res)
	}
	st := c.feed(t, f.ID)
	if st.ResumeNext == "" || st.Failures != 0 || !st.AddedAfter.Before(lastAdded(t, i)) {
		t.Fatalf("state after the interruption: %+v", st.IntelFeedState)
	}
	// While the next pull pages, 30 more objects arrive.
	testHookPage = func(feed string, pages int) {
		if pages == 1 {
			for range 30 {
				late = append(late, obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil))
			}
			i.post(t, late...)
		}
	}
	defer func() { testHookPage = nil }()
	res = c.pull(t, f.ID)
	if res.Err != nil || res.New != n-1200+30 || res.Duplicates != 0 {
		t.Fatalf("resumed pull: %+v", res)
	}
	got := c.stored(t)
	for _, o := range append(objs, late...) {
		if len(got[o.ID()]) != 1 {
			t.Fatalf("%s stored %d times", o.ID(), len(got[o.ID()]))
		}
	}
	if len(got) != n+30 {
		t.Errorf("%d objects stored, want %d", len(got), n+30)
	}
	st = c.feed(t, f.ID)
	if !st.AddedAfter.Equal(lastAdded(t, i)) || st.ResumeNext != "" || st.Imported != n+30 {
		t.Errorf("final state %+v", st.IntelFeedState)
	}
}

// TestResumeAfterRefusedNext: a saved next the server no longer honours
// falls back to the cursor, which sits just below the boundary's
// date_added: the boundary's objects come again and are recognized as held
// — no gap, no duplicate stored.
func TestResumeAfterRefusedNext(t *testing.T) {
	p := newFakePartner(t)
	c := newCity(t, Config{PageSize: 100})
	base := time.Now().UTC().Add(-time.Hour)
	var objs []*stix.Object
	for k := range 3 {
		var batch []*stix.Object
		for range 150 {
			batch = append(batch, obj(t, newID("indicator"), base, []string{stix.Clear.ID()}, nil))
		}
		p.add(base.Add(time.Duration(k)*time.Minute), batch...)
		objs = append(objs, batch...)
	}
	f := c.subscribeFake(t, p, nil)
	ctx, cancel := context.WithCancel(sharingtest.SysCtx())
	testHookPage = func(feed string, pages int) {
		if pages == 2 {
			cancel()
		}
	}
	res, _ := c.svc.Pull(ctx, f.ID, nil)
	testHookPage = nil
	if res.New != 200 {
		t.Fatalf("interrupted: %+v", res)
	}
	// The partner restarted: its next values mean nothing now.
	p.mu.Lock()
	var refused atomic.Bool
	p.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Query().Get("next") != "" && !refused.Swap(true) {
			w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"title":"Bad Request","description":"unknown next"}`)
			return true
		}
		return false
	}
	p.mu.Unlock()
	res = c.pull(t, f.ID)
	if res.Err != nil || !refused.Load() {
		t.Fatalf("resumed: %+v (next refused: %v)", res, refused.Load())
	}
	// The cursor was just below the second batch's date (page 2 ended in
	// it): the 50 objects of batch 2 already held come again.
	if res.New != 250 || res.Duplicates != 50 {
		t.Errorf("resumed pull: %d new, %d repeats; want 250 and 50", res.New, res.Duplicates)
	}
	got := c.stored(t)
	for _, o := range objs {
		if len(got[o.ID()]) != 1 {
			t.Fatalf("%s stored %d times", o.ID(), len(got[o.ID()]))
		}
	}
}

// TestRestartSafety: a pull killed mid-way (no chance to release its
// lease) blocks others until the lease expires; the next pull then goes
// on from the last checkpoint and ends with every object exactly once.
func TestRestartSafety(t *testing.T) {
	i := newISAC(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var objs []*stix.Object
	for k := range 6 {
		var batch []*stix.Object
		for range 50 {
			batch = append(batch, obj(t, newID("indicator"), base, []string{stix.Green.ID()}, nil))
		}
		i.post(t, batch...)
		objs = append(objs, batch...)
		_ = k
	}
	c := newCity(t, Config{PageSize: 40, LeaseTTL: 300 * time.Millisecond})
	f := c.subscribe(t, i, nil)

	// The first process dies after two pages: its pull never finishes.
	first := New(c.w.Store, c.w.Svc, c.svc.cfg, nil)
	lease := bulwark.IntelFeedLease{Holder: "dead-process", Until: time.Now().Add(c.svc.cfg.LeaseTTL)}
	claimed, err := c.w.Store.ClaimIntelFeed(sharingtest.SysCtx(), f.ID, lease)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &puller{s: first, f: claimed, lease: lease, sys: sharingtest.SysCtx(), st: claimed.IntelFeedState}
	testHookPage = func(feed string, pages int) {
		if pages == 2 {
			cancel()
		}
	}
	p.run(ctx) // no finish: the process is gone
	testHookPage = nil

	// Another process cannot pull while the lease holds.
	_, err = c.svc.Pull(sharingtest.SysCtx(), f.ID, nil)
	if bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Fatalf("pull during the dead lease: %v", err)
	}
	time.Sleep(2 * c.svc.cfg.LeaseTTL)
	res := c.pull(t, f.ID)
	if res.Err != nil || res.New != 300-80 || res.Duplicates != 0 {
		t.Fatalf("pull after the restart: %+v", res)
	}
	got := c.stored(t)
	if len(got) != 300 {
		t.Errorf("%d objects stored, want 300", len(got))
	}
	for _, o := range objs {
		if len(got[o.ID()]) != 1 {
			t.Errorf("%s stored %d times", o.ID(), len(got[o.ID()]))
		}
	}
	if st := c.feed(t, f.ID); !st.AddedAfter.Equal(lastAdded(t, i)) {
		t.Errorf("cursor %v, want %v", st.AddedAfter, lastAdded(t, i))
	}
}

// TestNoDateHeaders: a partner that sends no X-TAXII-Date-Added headers
// leaves the cursor in place; every pull reads the collection again and
// recognizes what is held.
func TestNoDateHeaders(t *testing.T) {
	p := newFakePartner(t)
	p.noDates = true
	c := newCity(t, Config{PageSize: 7})
	base := time.Now().UTC().Add(-time.Hour)
	for k := range 20 {
		p.add(base.Add(time.Duration(k)*time.Second), obj(t, newID("indicator"), base, []string{stix.Clear.ID()}, nil))
	}
	f := c.subscribeFake(t, p, nil)
	if res := c.pull(t, f.ID); res.Err != nil || res.New != 20 || res.Pages != 3 {
		t.Fatalf("first pull: %+v", res)
	}
	if res := c.pull(t, f.ID); res.Err != nil || res.New != 0 || res.Duplicates != 20 {
		t.Errorf("second pull: %+v", res)
	}
	if st := c.feed(t, f.ID); !st.AddedAfter.IsZero() || st.Imported != 20 {
		t.Errorf("state: %+v", st.IntelFeedState)
	}
}
