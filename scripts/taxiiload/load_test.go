package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBucketsCoverEveryValueWithinTheirError(t *testing.T) {
	vals := []int64{0, 1, 127, 128, 255, 256, 257, 1000, 4095, 4096, 999_999, 1_000_000, 1 << 40, math.MaxInt64 / 3, math.MaxInt64}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		vals = append(vals, rng.Int64N(1<<uint(rng.IntN(62)+1)))
	}
	for _, v := range vals {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0,%d)", v, i, numBuckets)
		}
		hi := bucketHigh(i)
		if hi < v {
			t.Fatalf("bucket %d of %d ends at %d, below the value", i, v, hi)
		}
		// The bucket's width is at most 1/subCount of its values.
		lo := int64(0)
		if i > 0 {
			lo = bucketHigh(i-1) + 1
		}
		if lo > v {
			t.Fatalf("bucket %d of %d starts at %d, above the value", i, v, lo)
		}
		if v < 2*subCount && lo != hi {
			t.Errorf("value %d < %d should have a bucket of its own, got [%d,%d]", v, 2*subCount, lo, hi)
		}
		if float64(hi-lo) > float64(lo)/subCount+1 {
			t.Errorf("bucket %d [%d,%d] wider than 1/%d of its values", i, lo, hi, subCount)
		}
	}
	// Buckets are contiguous and increasing.
	for i := 1; i < numBuckets-1 && bucketHigh(i) < math.MaxInt64; i++ {
		if bucketHigh(i) <= bucketHigh(i-1) {
			t.Fatalf("bucket %d ends at %d, not after bucket %d (%d)", i, bucketHigh(i), i-1, bucketHigh(i-1))
		}
		if bucketOf(bucketHigh(i)) != i || bucketOf(bucketHigh(i-1)+1) != i {
			t.Fatalf("bucket %d does not hold its own bounds", i)
		}
	}
}

func TestQuantilesMatchSortedSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name string
		gen  func() time.Duration
		n    int
	}{
		{"uniform 1-20ms", func() time.Duration { return time.Millisecond + time.Duration(rng.Int64N(int64(19*time.Millisecond))) }, 50_000},
		{"long tail", func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*1.5) * float64(2*time.Millisecond))
		}, 100_000},
		{"one value", func() time.Duration { return 5 * time.Millisecond }, 1000},
		{"one sample", func() time.Duration { return 7 * time.Microsecond }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, tt.n)
			for i := range samples {
				samples[i] = tt.gen()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			if h.Count() != uint64(tt.n) || h.Max() != samples[len(samples)-1] {
				t.Fatalf("count %d max %v, want %d %v", h.Count(), h.Max(), tt.n, samples[len(samples)-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				exact := samples[int(math.Ceil(q*float64(tt.n)))-1]
				got := h.Quantile(q)
				// Never below the exact value, above it by less than 1/128.
				if got < exact || float64(got-exact) > float64(exact)/subCount+1 {
					t.Errorf("q%g = %v, exact %v", q, got, exact)
				}
			}
		})
	}
}

func TestHistogramMergeAndEdges(t *testing.T) {
	var a, b, all, empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 || empty.Max() != 0 {
		t.Error("an empty histogram reports non-zero values")
	}
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(&b)
	a.Merge(&empty)
	if a.counts != all.counts || a.Count() != all.Count() || a.Max() != all.Max() || a.min != all.min || a.Mean() != all.Mean() {
		t.Errorf("merged histogram differs from one recording everything")
	}
	if got := all.Mean(); got < 499*time.Microsecond || got > 500*time.Microsecond {
		t.Errorf("mean %v, want 499.5µs", got)
	}
	var neg Histogram
	neg.Record(-time.Second) // a clock step back must not panic or count as huge
	if neg.Max() != 0 || neg.Quantile(1) != 0 {
		t.Errorf("negative latency recorded as %v", neg.Max())
	}
}

func TestScheduleIsExactAndDoesNotDrift(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		rate      float64
		d         time.Duration
		wantTotal int64
	}{
		{5000, time.Second, 5000},
		{5000, 30 * time.Second, 150_000},
		{3, time.Second, 3},
		{2, 2500 * time.Millisecond, 5},
		{0.5, 10 * time.Second, 5},
		{1e6, time.Millisecond, 1000},
	}
	for _, tt := range tests {
		s := Schedule{Start: t0, Rate: tt.rate}
		if got := s.Total(tt.d); got != tt.wantTotal {
			t.Errorf("rate %g over %v: %d requests, want %d", tt.rate, tt.d, got, tt.wantTotal)
		}
		n := tt.wantTotal
		// The n-th request is due exactly at the end: no accumulated error.
		if got, want := s.At(n), t0.Add(tt.d); got.Sub(want).Abs() > time.Nanosecond {
			t.Errorf("rate %g: request %d at %v, want %v", tt.rate, n, got.Sub(t0), tt.d)
		}
		for _, k := range []int64{0, 1, n / 2, n - 1, n} {
			at := s.At(k)
			if got := s.Due(at); got != k+1 {
				t.Errorf("rate %g: Due(At(%d)) = %d, want %d", tt.rate, k, got, k+1)
			}
			if got := s.Due(at.Add(-time.Nanosecond)); got != k {
				t.Errorf("rate %g: Due(At(%d)-1ns) = %d, want %d", tt.rate, k, got, k)
			}
		}
	}
	if got := (Schedule{Start: t0, Rate: 10}).Due(t0.Add(-time.Hour)); got != 0 {
		t.Errorf("Due before the start = %d", got)
	}
}

// fakeClock advances only when slept on, by an extra lag each time (a
// late timer, a busy machine).
type fakeClock struct {
	now    time.Time
	lag    time.Duration
	sleeps int
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) SleepUntil(_ context.Context, t time.Time) bool {
	c.sleeps++
	if t.After(c.now) {
		c.now = t
	}
	c.now = c.now.Add(c.lag)
	return true
}

func TestDispatchSendsEachRequestWhenDueWithoutWaitingForWorkers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Schedule{Start: t0, Rate: 1000}
	for _, lag := range []time.Duration{0, 50 * time.Microsecond, 10 * time.Millisecond} {
		clock := &fakeClock{now: t0.Add(-time.Millisecond), lag: lag}
		const n = 500
		jobs := make(chan int64, n) // nobody reads during the dispatch: it must not block
		got := dispatch(context.Background(), s, n, clock, jobs)
		close(jobs)
		if got != n || len(jobs) != n {
			t.Fatalf("lag %v: handed out %d (%d queued), want %d", lag, got, len(jobs), n)
		}
		var k int64
		for j := range jobs {
			if j != k {
				t.Fatalf("lag %v: job %d handed out as number %d", lag, j, k)
			}
			k++
		}
		// Without lag one sleep per request; a late clock sends the
		// requests that fell due meanwhile at once, at their own times.
		if lag == 0 && clock.sleeps != n {
			t.Errorf("no lag: %d sleeps for %d requests", clock.sleeps, n)
		}
		if lag == 10*time.Millisecond && clock.sleeps > n/10 {
			t.Errorf("lag 10ms: %d sleeps, want one per burst of ~11", clock.sleeps)
		}
		if end := clock.Now(); end.Before(s.At(n - 1)) {
			t.Errorf("lag %v: finished at %v, before the last request was due", lag, end.Sub(t0))
		}
	}
	// A cancelled run stops handing out.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	jobs := make(chan int64, 10)
	later := Schedule{Start: time.Now().Add(time.Hour), Rate: 1000}
	if got := dispatch(ctx, later, 10, realClock{}, jobs); got != 0 {
		t.Errorf("cancelled dispatch handed out %d before they were due", got)
	}
}

// taxiiServer answers Get Objects like a TAXII 2.1 server, over pages of
// total objects, calling hook before answering.
func taxiiServer(t *testing.T, total, pageMax int, hook func(n int64, w http.ResponseWriter) bool) *httptest.Server {
	var count atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := count.Add(1)
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if hook != nil && !hook(n, w) {
			return
		}
		start := 0
		fmt.Sscanf(r.URL.Query().Get("next"), "c%d", &start)
		end := min(start+pageMax, total)
		var buf bytes.Buffer
		buf.WriteString(`{"more":` + fmt.Sprint(end < total))
		if end < total {
			fmt.Fprintf(&buf, `,"next":"c%d"`, end)
		}
		buf.WriteString(`,"objects":[`)
		for i := start; i < end; i++ {
			if i > start {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"id":"indicator--%d"}`, i)
		}
		buf.WriteString(`]}`)
		w.Header().Set("Content-Type", mediaType)
		w.Header().Set("X-TAXII-Date-Added-Last", fmt.Sprintf("2026-01-01T00:00:%02d.000000Z", end/1000))
		w.Write(buf.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOpenLoopChargesAStallToEveryRequestDueDuringIt(t *testing.T) {
	const stall = 300 * time.Millisecond
	srv := taxiiServer(t, 100, 10, func(n int64, w http.ResponseWriter) bool {
		if n == 10 {
			time.Sleep(stall)
		}
		return true
	})
	res, err := Run(context.Background(), Load{URL: srv.URL, Limit: 10, Rate: 200, Conns: 1, Duration: time.Second, Drain: 20 * time.Second,
		Client: srv.Client(), Auth: "Bearer tok", Positions: []string{"", "&next=c50"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduled != 200 || res.OK != 200 || res.Failed != 0 || res.Unsent != 0 {
		t.Fatalf("scheduled %d ok %d failed %d unsent %d, want 200 200 0 0 (%v)", res.Scheduled, res.OK, res.Failed, res.Unsent, res.Errors)
	}
	// With one connection, the ~60 requests due during the stall wait for
	// it: the ~40 due in its first 200 ms wait at least 100 ms each. A
	// closed-loop measurement would show one slow request, not 20%: the
	// 90th percentile is one of them.
	if res.Latency.P90 < 100 {
		t.Errorf("p90 from the intended send time = %.1f ms, want >= 100 (%+v)", res.Latency.P90, res.Latency)
	}
	if res.Latency.Max < float64(stall.Milliseconds()) || res.Service.Max < float64(stall.Milliseconds()) {
		t.Errorf("max latency %.1f / service %.1f ms, want >= %d", res.Latency.Max, res.Service.Max, stall.Milliseconds())
	}
	if res.MaxInFlight != 1 {
		t.Errorf("in flight %d, want 1", res.MaxInFlight)
	}
}

func TestParseProcStat(t *testing.T) {
	good := "4242 (bulwark (x) y) S 1 4242 4242 0 -1 4194304 5000 0 0 0 1234 56 0 0 20 0 9 0 100 0 0"
	if d, err := parseProcStat(good); err != nil || d != 12900*time.Millisecond {
		t.Errorf("parse %q: %v %v, want 12.9s", good, d, err)
	}
	for _, bad := range []string{"", "4242 bulwark S 1", "4242 (bulwark) S 1 2 3", "4242 (b) S 1 4242 4242 0 -1 4194304 5000 0 0 0 x 56", "4242 (b) S 1 4242 4242 0 -1 4194304 5000 0 0 0 -3 56"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
	// This process: its own CPU time, which only grows.
	d1, err := procCPUTime(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for x := 0; cpuTime() < 30*time.Millisecond+d1; x++ {
	}
	if d2, err := procCPUTime(os.Getpid()); err != nil || d2 <= d1 {
		t.Errorf("own CPU time %v then %v (%v)", d1, d2, err)
	}
}

func TestSaturated(t *testing.T) {
	kept := Result{Mode: "open-loop", TargetRate: 1000, Scheduled: 30_000, Sent: 30_000, OK: 30_000, Throughput: 998}
	tests := []struct {
		name string
		edit func(r *Result)
		want bool
	}{
		{"kept up", func(r *Result) {}, false},
		{"some unsent", func(r *Result) { r.Unsent = 1 }, true},
		{"some failed", func(r *Result) { r.Failed, r.OK = 1, r.OK-1 }, true},
		{"answered late: run stretched", func(r *Result) { r.Throughput = 700 }, true},
		{"closed loop never", func(r *Result) { r.Mode, r.TargetRate, r.Throughput = "closed-loop", 0, 5 }, false},
	}
	for _, tt := range tests {
		r := kept
		tt.edit(&r)
		if got := saturated(&r); got != tt.want {
			t.Errorf("%s: saturated %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRunCountsErrorsAndUnsentRequests(t *testing.T) {
	srv := taxiiServer(t, 100, 10, func(n int64, w http.ResponseWriter) bool {
		switch {
		case n%4 == 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return false
		case n%4 == 2:
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>login</html>"))
			return false
		}
		return true
	})
	res, err := Run(context.Background(), Load{URL: srv.URL, Limit: 10, Rate: 100, Conns: 2, Duration: 200 * time.Millisecond, Drain: 10 * time.Second,
		Client: srv.Client(), Auth: "Bearer tok"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 20 || res.Errors["status 503"] == 0 || res.Errors[`content type "text/html"`] == 0 || res.OK == 0 || res.OK+res.Failed != 20 || !res.Saturated {
		t.Errorf("sent %d ok %d errors %v saturated %v", res.Sent, res.OK, res.Errors, res.Saturated)
	}

	// A server that never answers within the drain: requests are cut and
	// the ones not yet sent are counted, not silently dropped.
	block := make(chan struct{})
	slow := taxiiServer(t, 100, 10, func(int64, http.ResponseWriter) bool { <-block; return true })
	t.Cleanup(func() { close(block) }) // before the server's Close, which waits for the handler
	res, err = Run(context.Background(), Load{URL: slow.URL, Limit: 10, Rate: 100, Conns: 1, Duration: 100 * time.Millisecond, Drain: 100 * time.Millisecond,
		Client: slow.Client(), Auth: "Bearer tok"})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 0 || res.Failed != 1 || res.Unsent != res.Scheduled-1 || res.Scheduled != 10 || !res.Saturated {
		t.Errorf("stuck server: scheduled %d ok %d failed %d unsent %d saturated %v (%v)", res.Scheduled, res.OK, res.Failed, res.Unsent, res.Saturated, res.Errors)
	}
}

func TestClosedLoopFindsThroughput(t *testing.T) {
	srv := taxiiServer(t, 100, 10, nil)
	res, err := Run(context.Background(), Load{URL: srv.URL, Limit: 10, Conns: 4, Duration: 200 * time.Millisecond, Drain: 10 * time.Second, Client: srv.Client(), Auth: "Bearer tok"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "closed-loop" || res.OK < 4 || res.Failed != 0 || res.Throughput <= 0 || res.MaxInFlight > 4 || res.BytesPerPage < 200 {
		t.Errorf("closed loop: %+v", res)
	}
}

func TestWalkAndPositions(t *testing.T) {
	srv := taxiiServer(t, 2500, 1000, nil)
	p, err := walk(context.Background(), srv.Client(), "Bearer tok", srv.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pages != 3 || p.Objects != 2500 || !slices.Equal(p.Cursors, []string{"c1000", "c2000"}) || !slices.Equal(p.AddedAfter, []string{"2026-01-01T00:00:01.000000Z", "2026-01-01T00:00:02.000000Z"}) {
		t.Fatalf("walk: %+v", p)
	}
	got, err := positions(p, "next")
	if err != nil || !slices.Equal(got, []string{"", "&next=c1000", "&next=c2000"}) {
		t.Errorf("next positions %q %v", got, err)
	}
	got, err = positions(p, "added_after")
	if err != nil || len(got) != 3 || got[1] != "&added_after=2026-01-01T00%3A00%3A01.000000Z" {
		t.Errorf("added_after positions %q %v", got, err)
	}
	if _, err := positions(p, "random"); err == nil {
		t.Error("unknown position kind accepted")
	}
	if _, err := positions(&Positions{}, "next"); err == nil || !strings.Contains(err.Error(), "one page") {
		t.Errorf("no cursors: %v", err)
	}
	if _, err := walk(context.Background(), srv.Client(), "Bearer wrong", srv.URL, 0); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("walk with a bad token: %v", err)
	}
	if p, err := walk(context.Background(), srv.Client(), "Bearer tok", srv.URL, 2); err != nil || p.Pages != 2 {
		t.Errorf("max 2 pages: %+v %v", p, err)
	}
}

func TestCommandsRefuseBadInput(t *testing.T) {
	srv := taxiiServer(t, 2500, 1000, nil)
	dir := t.TempDir()
	other := filepath.Join(dir, "other.json")
	os.WriteFile(other, []byte(`{"url":"http://elsewhere.example/objects/","cursors":["c1"]}`), 0o600)
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte(`{"url":`), 0o600)
	defer func(n int64) { maxPositionsFile = n }(maxPositionsFile)
	maxPositionsFile = 1 << 10
	huge := filepath.Join(dir, "huge.json")
	os.WriteFile(huge, append([]byte(`{"url":"`), bytes.Repeat([]byte("a"), int(maxPositionsFile)+10)...), 0o600)
	t.Setenv("TAXIILOAD_TOKEN", "tok")
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"fire"}, "unknown command"},
		{[]string{"run", "-url", srv.URL, "-rate", "-5"}, "-rate"},
		{[]string{"run", "-url", srv.URL, "-rate", "5000000"}, "-rate"},
		{[]string{"run", "-url", srv.URL, "-limit", "0"}, "-limit"},
		{[]string{"run", "-url", srv.URL, "-conns", "0"}, "-conns"},
		{[]string{"run", "-url", srv.URL, "-warmup", "-1s"}, "-warmup"},
		{[]string{"run", "-url", srv.URL, "-server-pid", "999999999", "-position", "first"}, "server CPU time"},
		{[]string{"run", "-url", srv.URL + "?limit=5"}, "without a query"},
		{[]string{"run", "-url", "ftp://x/"}, "http(s) URL"},
		{[]string{"run", "-url", srv.URL, "-positions", other}, "cursors are bound"},
		{[]string{"run", "-url", srv.URL, "-positions", garbage}, "not a positions file"},
		{[]string{"run", "-url", srv.URL, "-positions", huge}, "not a positions file"},
		{[]string{"run", "-url", srv.URL, "-position", "middle"}, "-position"},
		{[]string{"run", "-url", srv.URL, "-user", "a@b.example"}, "needs a password"},
		{[]string{"run", "-url", srv.URL, "-ca", garbage}, "no PEM"},
		{[]string{"run", "-url", srv.URL, "stray"}, "unexpected argument"},
		{[]string{"walk", "-url", srv.URL}, "-out"},
		{[]string{"report", garbage}, "not a taxiiload run result"},
		{[]string{"report", other}, "not a taxiiload run result"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := run(context.Background(), tt.args, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one saying %q", tt.args, err, tt.want)
		}
	}
}

func TestRunCommandEndToEnd(t *testing.T) {
	srv := taxiiServer(t, 2500, 1000, nil)
	dir := t.TempDir()
	pos := filepath.Join(dir, "pos.json")
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("tok\n"), 0o600)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"walk", "-url", srv.URL, "-token-file", tok, "-out", pos}, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"run", "-url", srv.URL, "-token-file", tok, "-positions", pos, "-limit", "100", "-rate", "100", "-conns", "5", "-duration", "200ms", "-warmup", "100ms", "-server-pid", fmt.Sprint(os.Getpid()), "-json"}, &out); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("-json output %q: %v", out.String(), err)
	}
	if r.Mode != "open-loop" || r.OK != 20 || r.Positions != 3 || r.Position != "next" || r.Limit != 100 || r.TargetRate != 100 || r.WarmupS != 0.1 || r.ServerCPUS < 0 {
		t.Errorf("result %+v", r)
	}
	res := filepath.Join(dir, "r.json")
	os.WriteFile(res, out.Bytes(), 0o600)
	out.Reset()
	if err := run(context.Background(), []string{"report", res}, &out); err != nil || !strings.Contains(out.String(), "open-loop") || !strings.Contains(out.String(), "p99 ms") {
		t.Errorf("report: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"wait", "-url", srv.URL, "-token-file", tok, "-max", "5s"}, &out); err != nil || !strings.HasPrefix(out.String(), "ready after ") {
		t.Errorf("wait: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"wait", "-url", srv.URL, "-max", "5s"}, &out); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("wait without the token: %v", err)
	}
}
