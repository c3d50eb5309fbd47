package feedsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
)

var t0 = time.Date(2018, 12, 1, 0, 0, 0, 0, time.UTC)

// TestNVDWindowsAndPaging syncs from --since over 14 months: the range is
// split into windows of at most 120 days, each fetched page by page; the
// server saw exactly the expected requests, and every record modified in
// the range (and none outside it) was imported.
func TestNVDWindowsAndPaging(t *testing.T) {
	for _, key := range []string{"", "s3cret-key"} {
		t.Run(fmt.Sprintf("apiKey=%t", key != ""), func(t *testing.T) {
			clock := &fakeClock{t: t0}
			fs := newFeedServer(t, clock)
			st := newFakeStore()
			var matched []string
			since := time.Date(2017, 10, 1, 0, 0, 0, 0, time.UTC)
			s := newTestSyncer(t, fs, st, Config{Sources: []Source{NVD}, Since: since, NVDPageSize: 2, NVDAPIKey: key,
				Match: func(ctx context.Context, ids []string) error { matched = append(matched, ids...); return nil }})
			res, err := s.Sync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			first := t0 // the first sync's last window ended when it started

			// The expected requests, from the fixture's dates: windows of
			// 120 days from since to now, pages of 2 within each.
			type req struct {
				start, end string
				index      int
			}
			var want []req
			var wantIDs []string
			for ws := since; ws.Before(t0); ws = ws.Add(120 * 24 * time.Hour) {
				we := ws.Add(120 * 24 * time.Hour)
				if we.After(t0) {
					we = t0
				}
				n := 0
				for _, r := range fs.nvd {
					if !r.lastModified.Before(ws) && !r.lastModified.After(we) {
						n++
						wantIDs = append(wantIDs, r.id)
					}
				}
				for i := 0; i == 0 || i < n; i += 2 {
					want = append(want, req{ws.Format("2006-01-02T15:04:05.000+00:00"), we.Format("2006-01-02T15:04:05.000+00:00"), i})
				}
			}
			var got []req
			for _, r := range fs.requests("/nvd") {
				var idx int
				fmt.Sscan(r.Query.Get("startIndex"), &idx)
				got = append(got, req{r.Query.Get("lastModStartDate"), r.Query.Get("lastModEndDate"), idx})
				if r.Query.Get("resultsPerPage") != "2" {
					t.Errorf("resultsPerPage = %q", r.Query.Get("resultsPerPage"))
				}
				if h := r.Header.Get("apiKey"); h != key {
					t.Errorf("apiKey header = %q, want %q", h, key)
				}
				if _, ok := r.Header["Apikey"]; !ok && key != "" {
					t.Errorf("no apiKey header")
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("requests:\n got %v\nwant %v", got, want)
			}
			if len(want) != 6 { // 4 windows; the first has 6 records: pages at 0, 2, 4
				t.Errorf("expected 6 requests from the fixture, computed %d", len(want))
			}

			sr := sourceResult(t, res, NVD)
			if sr.Records != len(wantIDs) || sr.New != int64(len(wantIDs)) || sr.Error != "" {
				t.Errorf("result %+v, want %d new records", sr, len(wantIDs))
			}
			slices.Sort(wantIDs)
			if !slices.Equal(res.Changed, wantIDs) || !slices.Equal(matched, wantIDs) {
				t.Errorf("changed %v, matched %v, want %v", res.Changed, matched, wantIDs)
			}
			if docs := st.Docs(); len(docs) == 0 || docs[0] != "nvd-api-20171001T000000Z-0.json" || docs[1] != "nvd-api-20171001T000000Z-2.json" {
				t.Errorf("documents %v", docs)
			}

			// The limiter: never more than N requests in any 30 s.
			rate := NVDPublicRate
			if key != "" {
				rate = NVDKeyRate
			}
			seen := fs.requests("/nvd")
			for i := rate.N; i < len(seen); i++ {
				if d := seen[i].At.Sub(seen[i-rate.N].At); d < rate.Per {
					t.Errorf("requests %d and %d only %s apart", i-rate.N, i, d)
				}
			}
			if key == "" && len(clock.Slept()) == 0 {
				t.Errorf("7 requests without a key should have waited for the rate limit")
			}
			if key != "" && len(clock.Slept()) != 0 {
				t.Errorf("with a key, 7 requests should not wait: slept %v", clock.Slept())
			}

			// A second sync continues from where the first stopped and
			// finds nothing new.
			clock.sleep(context.Background(), time.Hour)
			end := clock.now()
			n := len(fs.requests("/nvd"))
			res, err = s.Sync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if sr := sourceResult(t, res, NVD); sr.New != 0 || len(res.Changed) != 0 {
				t.Errorf("second sync: %+v", sr)
			}
			second := fs.requests("/nvd")[n:]
			if len(second) != 1 || second[0].Query.Get("lastModStartDate") != first.Format("2006-01-02T15:04:05.000+00:00") ||
				second[0].Query.Get("lastModEndDate") != end.Format("2006-01-02T15:04:05.000+00:00") {
				t.Errorf("second sync asked %v, want from the end of the first (%s) to now", second, first)
			}
		})
	}
}

func TestNVDStart(t *testing.T) {
	stored := time.Date(2018, 10, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		since     time.Time
		ifEmpty   bool
		stored    time.Time
		wantStart string
		wantErr   string
	}{
		{name: "from the store", stored: stored, wantStart: "2018-10-01T12:00:00.000+00:00"},
		{name: "since wins on the first sync", since: time.Date(2018, 9, 1, 0, 0, 0, 0, time.UTC), stored: stored, wantStart: "2018-09-01T00:00:00.000+00:00"},
		{name: "since only when the store is empty", since: time.Date(2018, 9, 1, 0, 0, 0, 0, time.UTC), ifEmpty: true, stored: stored, wantStart: "2018-10-01T12:00:00.000+00:00"},
		{name: "since when the store is empty", since: time.Date(2018, 9, 1, 0, 0, 0, 0, time.UTC), ifEmpty: true, wantStart: "2018-09-01T00:00:00.000+00:00"},
		{name: "nothing to start from", wantErr: "--since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFeedServer(t, &fakeClock{t: t0})
			var asked []string
			s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{NVD}, Since: tt.since, SinceIfEmpty: tt.ifEmpty,
				LastModified: func(ctx context.Context, src string) (time.Time, error) {
					asked = append(asked, src)
					return tt.stored, nil
				}})
			res, err := s.Sync(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "bulk") {
					t.Fatalf("err = %v, want one naming %s and the bulk import", err, tt.wantErr)
				}
				if sourceResult(t, res, NVD).Error == "" || len(fs.requests("/nvd")) != 0 {
					t.Errorf("a failed start should fetch nothing and be reported")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := fs.requests("/nvd")
			if len(reqs) == 0 || reqs[0].Query.Get("lastModStartDate") != tt.wantStart {
				t.Fatalf("requests %v, want a start of %s", reqs, tt.wantStart)
			}
			if tt.since.IsZero() && !slices.Equal(asked, []string{"nvd"}) {
				t.Errorf("asked the store about %v", asked)
			}
		})
	}
}

// TestNVDResume: a window that fails halfway is started again by the next
// sync, whatever the store says, and the error tells a one-shot user where
// to resume.
func TestNVDResume(t *testing.T) {
	clock := &fakeClock{t: t0}
	fs := newFeedServer(t, clock)
	since := time.Date(2017, 10, 1, 0, 0, 0, 0, time.UTC)
	s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{NVD}, Since: since, NVDPageSize: 2, MaxRetries: -1,
		LastModified: func(context.Context, string) (time.Time, error) { return t0.Add(-time.Hour), nil }})
	// The second page of the first window fails.
	fs.fault("/nvd", fs.serveNVD, status(http.StatusInternalServerError))
	_, err := s.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--since 2017-10-01T00:00:00Z") || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v", err)
	}
	n := len(fs.requests("/nvd"))
	if _, err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := fs.requests("/nvd")[n]; r.Query.Get("lastModStartDate") != "2017-10-01T00:00:00.000+00:00" || r.Query.Get("startIndex") != "0" {
		t.Errorf("resumed at %v", r.Query)
	}
}

func TestKEVAndEPSSConditionalGET(t *testing.T) {
	fs := newFeedServer(t, &fakeClock{t: t0})
	st := newFakeStore()
	s := newTestSyncer(t, fs, st, Config{Sources: []Source{KEV, EPSS}})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kev, epss := sourceResult(t, res, KEV), sourceResult(t, res, EPSS)
	if kev.Documents != 1 || kev.Records != 5 || kev.New != 5 || kev.NotModified {
		t.Errorf("kev %+v", kev)
	}
	if epss.Documents != 1 || epss.Records == 0 || epss.New != int64(epss.Records) {
		t.Errorf("epss %+v", epss)
	}
	if !slices.Equal(st.Docs(), []string{"kev.json", "epss_scores-current.csv.gz"}) {
		t.Errorf("documents %v", st.Docs())
	}

	res, err = s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []Source{KEV, EPSS} {
		if sr := sourceResult(t, res, src); !sr.NotModified || sr.Documents != 0 || sr.Records != 0 {
			t.Errorf("second sync of %s: %+v", src, sr)
		}
	}
	if r := fs.requests("/kev.json"); len(r) != 2 || r[0].Header.Get("If-None-Match") != "" || r[1].Header.Get("If-None-Match") != `"kev-2025.08.25"` {
		t.Errorf("kev requests %v", r)
	}
	if r := fs.requests("/epss_scores-current.csv.gz"); len(r) != 2 || r[1].Header.Get("If-Modified-Since") != "Sun, 22 Nov 2026 00:00:00 GMT" {
		t.Errorf("epss requests %v", r)
	}
	if len(st.Docs()) != 2 {
		t.Errorf("a 304 imported something: %v", st.Docs())
	}
}

// TestRejectedDocumentIsRefetched: validators are remembered only once the
// document is imported, so a rejected KEV file is fetched in full again.
func TestRejectedDocumentIsRefetched(t *testing.T) {
	fs := newFeedServer(t, &fakeClock{t: t0})
	fs.fault("/kev.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"kev-2025.08.25"`)
		w.Write([]byte(`{"catalogVersion": "x", "vulnerabilities": [`)) // cut off
	})
	s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{KEV}})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err) // a rejected document is a problem, not a failure
	}
	if sr := sourceResult(t, res, KEV); sr.Documents != 0 || !strings.Contains(problemsText(sr.Problems), "rejected") {
		t.Errorf("kev %+v", sr)
	}
	res, _ = s.Sync(context.Background())
	if sr := sourceResult(t, res, KEV); sr.Documents != 1 || sr.NotModified {
		t.Errorf("after a rejected document: %+v", sr)
	}
	if r := fs.requests("/kev.json"); r[1].Header.Get("If-None-Match") != "" {
		t.Errorf("conditional GET after a rejected document")
	}
}

func TestRetries(t *testing.T) {
	httpDate := t0.Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name       string
		faults     []http.HandlerFunc
		maxRetries int
		wantSleeps []time.Duration // on the fake clock: backoff 1s, 2s, ... less half the jitter
		wantErr    string
		wantReqs   int
	}{
		{name: "503 then success", faults: []http.HandlerFunc{status(503), status(503)},
			wantSleeps: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}, wantReqs: 3},
		{name: "Retry-After seconds", faults: []http.HandlerFunc{retryAfter(429, "7")},
			wantSleeps: []time.Duration{7 * time.Second}, wantReqs: 2},
		{name: "Retry-After date", faults: []http.HandlerFunc{retryAfter(503, httpDate)},
			wantSleeps: []time.Duration{90 * time.Second}, wantReqs: 2},
		{name: "Retry-After shorter than the backoff", faults: []http.HandlerFunc{status(502), retryAfter(503, "1")},
			wantSleeps: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}, wantReqs: 3},
		{name: "network error", faults: []http.HandlerFunc{hangUp},
			wantSleeps: []time.Duration{750 * time.Millisecond}, wantReqs: 2},
		{name: "gives up", faults: []http.HandlerFunc{status(503), status(503), status(503), status(503)}, maxRetries: 2,
			wantSleeps: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}, wantReqs: 3,
			wantErr: "kev: GET https://127.0.0.1"},
		{name: "Retry-After too long", faults: []http.HandlerFunc{retryAfter(429, "3600")},
			wantReqs: 1, wantErr: "retry after 1h0m0s"},
		{name: "404 is not retried", faults: []http.HandlerFunc{status(404)},
			wantReqs: 1, wantErr: "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: t0}
			fs := newFeedServer(t, clock)
			fs.fault("/kev.json", tt.faults...)
			s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{KEV, EPSS}, MaxRetries: tt.maxRetries})
			res, err := s.Sync(context.Background())
			if got := len(fs.requests("/kev.json")); got != tt.wantReqs {
				t.Errorf("%d requests, want %d", got, tt.wantReqs)
			}
			if !slices.Equal(clock.Slept(), tt.wantSleeps) {
				t.Errorf("slept %v, want %v", clock.Slept(), tt.wantSleeps)
			}
			if tt.wantErr == "" {
				if err != nil || sourceResult(t, res, KEV).Documents != 1 {
					t.Fatalf("err %v, result %+v", err, res)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.maxRetries > 0 && !strings.Contains(err.Error(), fmt.Sprintf("gave up after %d attempts", tt.maxRetries+1)) {
				t.Errorf("err = %v, want the number of attempts", err)
			}
			// The other source still ran.
			if sr := sourceResult(t, res, EPSS); sr.Documents != 1 || sr.Error != "" {
				t.Errorf("epss after a kev failure: %+v", sr)
			}
			if sourceResult(t, res, KEV).Error == "" {
				t.Errorf("kev failure not reported in the result")
			}
		})
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestBackoffBounds(t *testing.T) {
	s := &Syncer{}
	for _, j := range []float64{0, 0.5, 0.999} {
		s.jitter = func() float64 { return j }
		prev := time.Duration(0)
		for n := 1; n <= 12; n++ {
			d := s.backoff(n)
			full := min(time.Second<<min(n-1, 6), time.Minute)
			if d < full/2 || d > full {
				t.Errorf("backoff(%d) with jitter %v = %s, want within [%s, %s]", n, j, d, full/2, full)
			}
			if d < prev {
				t.Errorf("backoff(%d) = %s shorter than backoff(%d) = %s", n, d, n-1, prev)
			}
			prev = d
		}
	}
}

func TestLimiter(t *testing.T) {
	clock := &fakeClock{t: t0}
	l := &limiter{rate: Rate{N: 5, Per: 30 * time.Second}, now: clock.now, sleep: clock.sleep}
	var starts []time.Time
	for i := 0; i < 12; i++ {
		if err := l.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, clock.now())
		clock.sleep(context.Background(), time.Second) // each request takes a second
	}
	for i := 5; i < len(starts); i++ {
		if d := starts[i].Sub(starts[i-5]); d < 30*time.Second {
			t.Errorf("requests %d and %d %s apart", i-5, i, d)
		}
	}
	// The 6th starts exactly when the 1st leaves the window.
	if d := starts[5].Sub(starts[0]); d != 30*time.Second {
		t.Errorf("6th request after %s, want 30s", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait on a canceled context: %v", err)
	}
}

func TestOversizeBodyRefused(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%t", chunked), func(t *testing.T) {
			fs := newFeedServer(t, &fakeClock{t: t0})
			fs.fault("/kev.json", func(w http.ResponseWriter, r *http.Request) {
				if chunked {
					w.(http.Flusher).Flush() // no Content-Length
				}
				w.Write(bytes.Repeat([]byte(" "), 10000))
			})
			st := newFakeStore()
			s := newTestSyncer(t, fs, st, Config{Sources: []Source{KEV}, MaxBodyBytes: 4096})
			_, err := s.Sync(context.Background())
			if bulwark.ErrorCode(err) != bulwark.ETOOLARGE || !strings.Contains(err.Error(), "4096") {
				t.Fatalf("err = %v", err)
			}
			if n := len(fs.requests("/kev.json")); n != 1 {
				t.Errorf("%d requests: an oversize document must not be retried", n)
			}
			if len(st.Docs()) != 0 {
				t.Errorf("imported %v", st.Docs())
			}
		})
	}
}

func TestCancellation(t *testing.T) {
	fs := newFeedServer(t, nil)
	release := make(chan struct{})
	defer close(release)
	fs.fault("/kev.json", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{KEV, EPSS}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Sync(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %s", d)
	}
	if n := len(fs.requests("/epss_scores-current.csv.gz")); n != 0 {
		t.Errorf("a canceled sync went on to the next source")
	}

	// A canceled context also cuts a backoff short.
	s.sleep = sleepCtx
	fs.fault("/kev.json", status(503))
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := s.Sync(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation during backoff took %s", d)
	}
}

func TestRequestTimeoutRetried(t *testing.T) {
	fs := newFeedServer(t, &fakeClock{t: t0})
	// The stalled handler waits for the test to end, not for the request's
	// context: on a loaded machine the server can see the client's cancel
	// before the client has given up, and returning then would send an
	// empty 200 that the client could still read. Cleanups run last-in
	// first-out, so this one releases the handler before the server closes.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	fs.fault("/kev.json", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{KEV}, RequestTimeout: 500 * time.Millisecond})
	res, err := s.Sync(context.Background())
	if err != nil || sourceResult(t, res, KEV).Documents != 1 {
		t.Fatalf("err %v, %+v", err, res)
	}
	// Two requests at least: the stalled one, then a success. Under heavy
	// load a TLS handshake can itself outlast the timeout and add one.
	if n := len(fs.requests("/kev.json")); n < 2 {
		t.Errorf("%d requests, want a timeout then a success", n)
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	_, err := New(Config{Import: newFakeStore().Import, KEVURL: "http://example.test/kev.json", Sources: []Source{KEV}})
	if bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), "https") {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(Config{Import: newFakeStore().Import, KEVURL: "http://example.test/kev.json", Sources: []Source{KEV}, AllowHTTP: true}); err != nil {
		t.Fatalf("with AllowHTTP: %v", err)
	}
	if _, err := New(Config{Import: newFakeStore().Import, Sources: []Source{CSAF}}); err == nil {
		t.Fatal("csaf without providers accepted")
	}

	// A plain-http server works only when allowed.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(readTestdata(t, "kev.json"))
	}))
	defer plain.Close()
	s, err := New(Config{Import: newFakeStore().Import, KEVURL: plain.URL + "/kev.json", Sources: []Source{KEV}, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Sync(context.Background()); err != nil || sourceResult(t, res, KEV).Records != 5 {
		t.Fatalf("http with AllowHTTP: %v %+v", err, res)
	}

	// And an https source may not redirect down to http.
	fs := newFeedServer(t, &fakeClock{t: t0})
	fs.fault("/kev.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/kev.json", http.StatusFound)
	})
	s = newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{KEV}})
	if _, err := s.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "refusing plain http") {
		t.Fatalf("redirect to http: %v", err)
	}
}

// TestNoSecretsLeak: the API key never appears in errors, results or
// logs, credentials in a URL are hidden, and the key is not sent on to
// another host by a redirect.
func TestNoSecretsLeak(t *testing.T) {
	const key = "nvd-key-0123456789"
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apiKey") != "" {
			t.Errorf("API key sent to another host after a redirect")
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer other.Close()
	clock := &fakeClock{t: t0}
	fs := newFeedServer(t, clock)
	fs.fault("/nvd", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	}, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	})
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Both servers' certificates are from httptest: one client trusts both.
	s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{NVD, KEV}, NVDAPIKey: key, MaxRetries: 1, Log: log,
		Since: t0.Add(-24 * time.Hour), KEVURL: strings.Replace(fs.srv.URL, "https://", "https://user:pa55word@", 1) + "/nope.json?token=tok3n"})
	res, err := s.Sync(context.Background())
	if err == nil {
		t.Fatal("expected failures")
	}
	s.logResult(res, err, 0)
	out := err.Error() + fmt.Sprint(res) + logs.String()
	for _, secret := range []string{key, "pa55word", "tok3n"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q leaked:\n%s", secret, out)
		}
	}
	if !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "503") {
		t.Errorf("errors should still say what failed: %v", err)
	}
}

func TestRunLogsAndStops(t *testing.T) {
	fs := newFeedServer(t, nil)
	var logs syncBuffer
	s := newTestSyncer(t, fs, newFakeStore(), Config{Sources: []Source{KEV},
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(ctx, 20*time.Millisecond)
		close(done)
	}()
	deadline := time.After(10 * time.Second)
	for len(fs.requests("/kev.json")) < 3 {
		select {
		case <-deadline:
			t.Fatal("Run did not sync three times")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop on cancel")
	}
	out := logs.String()
	if !strings.Contains(out, "feed synced") || !strings.Contains(out, "source=kev") || !strings.Contains(out, "not_modified=true") || !strings.Contains(out, "feed sync stopped") {
		t.Errorf("logs:\n%s", out)
	}
	// First sync imported, later ones were answered 304.
	if r := fs.requests("/kev.json"); r[1].Header.Get("If-None-Match") == "" {
		t.Errorf("the job did not remember the ETag")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestParseSources(t *testing.T) {
	got, err := ParseSources(" kev,NVD,,kev ")
	if err != nil || !slices.Equal(got, []Source{KEV, NVD}) {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParseSources("kev,osv"); err == nil || !strings.Contains(err.Error(), "osv") {
		t.Errorf("err = %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"12", 12 * time.Second}, {" 3 ", 3 * time.Second},
		{"99999999999", 24 * time.Hour}, {"soon", 0},
		{"Sun, 22 Nov 2026 20:01:30 GMT", 90 * time.Second},
		{"Sun, 22 Nov 2026 19:00:00 GMT", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
