package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"bulwark"
)

// mediaType is what a TAXII 2.1 client asks for and a server answers with.
const mediaType = "application/taxii+json;version=2.1"

// Schedule is an open-loop arrival schedule: request k is due at
// Start + k/Rate, whatever became of the requests before it. Latency is
// measured from that intended time, so a server that stalls is charged for
// every request that should have been sent during the stall, not only for
// the one it was serving (no "coordinated omission").
type Schedule struct {
	Start time.Time
	Rate  float64 // requests per second, > 0
}

// At is the intended send time of request k (k >= 0). It is computed from
// k, not by adding intervals, so it does not drift.
func (s Schedule) At(k int64) time.Time {
	return s.Start.Add(time.Duration(math.Round(float64(k) * 1e9 / s.Rate)))
}

// Due is how many requests are due at t: those with At(k) <= t.
func (s Schedule) Due(t time.Time) int64 {
	d := t.Sub(s.Start)
	if d < 0 {
		return 0
	}
	n := int64(math.Floor(d.Seconds()*s.Rate)) + 1
	// Floating point may be one off at an exact boundary: settle on At.
	for n > 0 && s.At(n-1).After(t) {
		n--
	}
	for !s.At(n).After(t) {
		n++
	}
	return n
}

// Total is the number of requests due within d of the start.
func (s Schedule) Total(d time.Duration) int64 {
	n := int64(math.Ceil(d.Seconds() * s.Rate))
	for n > 0 && !s.At(n-1).Before(s.Start.Add(d)) {
		n--
	}
	return n
}

// dispatch hands out request numbers 0..n-1 on jobs, each once it is due.
// It never waits for a worker: jobs must hold n, so a slow server delays
// the sends, never the schedule. It stops early when ctx ends and returns
// how many it handed out.
func dispatch(ctx context.Context, s Schedule, n int64, clock Clock, jobs chan<- int64) int64 {
	var next int64
	for next < n {
		due := min(s.Due(clock.Now()), n)
		for ; next < due; next++ {
			jobs <- next
		}
		if next == n {
			break
		}
		if !clock.SleepUntil(ctx, s.At(next)) {
			break
		}
	}
	return next
}

// Clock is time as the dispatcher sees it; tests replace it.
type Clock interface {
	Now() time.Time
	// SleepUntil waits until t or until ctx ends (false).
	SleepUntil(ctx context.Context, t time.Time) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Load is one run's settings.
type Load struct {
	URL       string        // the collection's objects endpoint
	Limit     int           // page size asked for
	Rate      float64       // pages per second; 0: closed loop (as fast as Conns allow)
	Conns     int           // connections, each with at most one request in flight
	Duration  time.Duration // sending time
	Drain     time.Duration // after Duration, how long requests may still finish
	Positions []string      // query suffixes ("&next=…", "&added_after=…", "" for the first page)
	Position  string        // what Positions hold, for the report
	Seed      uint64
	Client    *http.Client
	Auth      string // Authorization header value
	ServerPID int    // if not 0, the server's CPU time is reported (Linux)
}

// Result is what a run measured. Latencies are in milliseconds.
type Result struct {
	Mode         string           `json:"mode"` // "open-loop" or "closed-loop"
	Limit        int              `json:"limit"`
	Position     string           `json:"position"`
	Positions    int              `json:"positions"`
	TargetRate   float64          `json:"target_rate,omitempty"`
	Conns        int              `json:"conns"`
	DurationS    float64          `json:"duration_s"`
	WarmupS      float64          `json:"warmup_s,omitempty"` // unmeasured load sent just before
	Scheduled    int64            `json:"scheduled,omitempty"`
	Sent         int64            `json:"sent"`
	OK           int64            `json:"ok"`
	Failed       int64            `json:"failed"`
	Errors       map[string]int64 `json:"errors,omitempty"`
	Unsent       int64            `json:"unsent"`
	Throughput   float64          `json:"pages_per_s"`
	BytesPerPage float64          `json:"bytes_per_page"`
	Latency      Latencies        `json:"latency_ms"`
	Service      Latencies        `json:"service_ms"`
	MaxInFlight  int64            `json:"max_in_flight"`
	ClientCPUS   float64          `json:"client_cpu_s"`
	// The server's CPU time over the run and per page answered, when its
	// process ID was given: on a shared machine, the part of the wall
	// time that was the server's own work.
	ServerCPUS      float64 `json:"server_cpu_s,omitempty"`
	ServerCPUMsPage float64 `json:"server_cpu_ms_per_page,omitempty"`
	Saturated       bool    `json:"saturated"`
}

// Latencies summarizes a histogram in milliseconds.
type Latencies struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func summarize(h *Histogram) Latencies {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return Latencies{P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()), Mean: ms(h.Mean())}
}

// worker is one connection's share of a run.
type worker struct {
	lat, svc Histogram // from the intended send time; from the actual one
	ok, bad  int64
	bytes    int64
	errs     map[string]int64
	rng      *rand.Rand
}

// Run drives the load and measures it.
func Run(ctx context.Context, l Load) (*Result, error) {
	if l.Conns <= 0 || l.Limit <= 0 || l.Duration <= 0 || l.Rate < 0 || math.IsInf(l.Rate, 0) || math.IsNaN(l.Rate) {
		return nil, fmt.Errorf("conns, limit and duration must be positive and rate not negative")
	}
	if len(l.Positions) == 0 {
		l.Positions = []string{""}
	}
	base := l.URL + "?limit=" + strconv.Itoa(l.Limit)
	var inFlight, maxInFlight atomic.Int64
	ws := make([]*worker, l.Conns)
	for i := range ws {
		ws[i] = &worker{errs: map[string]int64{}, rng: rand.New(rand.NewPCG(l.Seed, uint64(i)))}
	}
	// do sends one request and records it against intended.
	do := func(ctx context.Context, w *worker, intended time.Time) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+l.Positions[w.rng.IntN(len(l.Positions))], nil)
		if err != nil {
			w.bad++
			w.errs["request: "+err.Error()]++
			return
		}
		req.Header.Set("Accept", mediaType)
		if l.Auth != "" {
			req.Header.Set("Authorization", l.Auth)
		}
		n := inFlight.Add(1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		start := time.Now()
		size, err := fetch(l.Client, req)
		end := time.Now()
		inFlight.Add(-1)
		if err != nil {
			w.bad++
			w.errs[errKey(ctx, err)]++
			return
		}
		w.ok++
		w.bytes += size
		w.lat.Record(end.Sub(intended))
		w.svc.Record(end.Sub(start))
	}

	res := &Result{Limit: l.Limit, Position: l.Position, Positions: len(l.Positions), Conns: l.Conns}
	cpu0 := cpuTime()
	var srv0 time.Duration
	if l.ServerPID != 0 {
		var err error
		if srv0, err = procCPUTime(l.ServerPID); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	if l.Rate == 0 {
		// Closed loop: each connection sends its next request as soon as
		// the previous one is answered. This finds the saturation
		// throughput; its latencies are service times only.
		res.Mode = "closed-loop"
		end := start.Add(l.Duration)
		rctx, cancel := context.WithDeadline(ctx, end.Add(l.Drain))
		defer cancel()
		for _, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for now := time.Now(); now.Before(end) && rctx.Err() == nil; now = time.Now() {
					do(rctx, w, now)
				}
			}()
		}
		wg.Wait()
	} else {
		res.Mode = "open-loop"
		res.TargetRate = l.Rate
		s := Schedule{Start: start.Add(10 * time.Millisecond), Rate: l.Rate}
		n := s.Total(l.Duration)
		if n > 20_000_000 {
			return nil, fmt.Errorf("rate × duration is %d requests; at most 20,000,000 per run", n)
		}
		res.Scheduled = n
		rctx, cancel := context.WithDeadline(ctx, s.Start.Add(l.Duration+l.Drain))
		defer cancel()
		jobs := make(chan int64, n)
		var unsent atomic.Int64
		for _, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range jobs {
					if rctx.Err() != nil {
						unsent.Add(1) // due, never sent: the server fell too far behind
						continue
					}
					do(rctx, w, s.At(k))
				}
			}()
		}
		handed := dispatch(rctx, s, n, realClock{}, jobs)
		close(jobs)
		wg.Wait()
		res.Unsent = unsent.Load() + n - handed
	}
	elapsed := time.Since(start)
	res.ClientCPUS = math.Round((cpuTime()-cpu0).Seconds()*1000) / 1000
	if l.ServerPID != 0 {
		srv1, err := procCPUTime(l.ServerPID)
		if err != nil {
			return nil, fmt.Errorf("after the run: %w", err)
		}
		res.ServerCPUS = math.Round((srv1-srv0).Seconds()*1000) / 1000
	}
	res.DurationS = math.Round(elapsed.Seconds()*1000) / 1000

	var lat, svc Histogram
	res.Errors = map[string]int64{}
	var bytes int64
	for _, w := range ws {
		lat.Merge(&w.lat)
		svc.Merge(&w.svc)
		res.OK += w.ok
		res.Failed += w.bad
		bytes += w.bytes
		for k, v := range w.errs {
			res.Errors[k] += v
		}
	}
	res.Sent = res.OK + res.Failed
	res.Throughput = math.Round(float64(res.OK)/elapsed.Seconds()*10) / 10
	if res.OK > 0 {
		res.BytesPerPage = math.Round(float64(bytes) / float64(res.OK))
		res.ServerCPUMsPage = math.Round(res.ServerCPUS*1e6/float64(res.OK)) / 1000
	}
	res.Latency, res.Service = summarize(&lat), summarize(&svc)
	res.MaxInFlight = maxInFlight.Load()
	res.Saturated = saturated(res)
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	return res, nil
}

// saturated tells whether an open-loop run shows a server that did not
// keep up: everything due must have been sent and answered, at about the
// rate asked for (a backlog answered late stretches the run and so lowers
// the rate achieved).
func saturated(r *Result) bool {
	return r.Mode == "open-loop" && (r.Unsent > 0 || r.Failed > 0 ||
		float64(r.OK) < 0.95*float64(r.Scheduled) || r.Throughput < 0.95*r.TargetRate)
}

// fetch sends req and reads the whole answer, which must be a TAXII
// envelope; it returns the body's size.
func fetch(c *http.Client, req *http.Request) (int64, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return n, statusError(resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/taxii+json") {
		return n, fmt.Errorf("content type %q", bulwark.Abbrev(ct, 60))
	}
	return n, nil
}

type statusError int

func (e statusError) Error() string { return "status " + strconv.Itoa(int(e)) }

// errKey is the error's class in the report: few distinct keys, whatever
// the addresses and ports in the messages.
func errKey(ctx context.Context, err error) string {
	var se statusError
	switch {
	case errors.As(err, &se):
		return se.Error()
	case ctx.Err() != nil:
		return "cut at the end of the drain time"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "connection closed early"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return bulwark.Abbrev(err.Error(), 80)
}

// procCPUTime is the CPU time (user and system) of process pid so far,
// from /proc/PID/stat, whose fields 14 and 15 count clock ticks of
// 1/100 s (USER_HZ, 100 on every Linux architecture Go runs on).
func procCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("server CPU time: %w", err)
	}
	return parseProcStat(string(b))
}

func parseProcStat(s string) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself: the fields that follow start after the
	// last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("server CPU time: /proc stat without a command name")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("server CPU time: /proc stat has %d fields", len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || utime < 0 || stime < 0 {
		return 0, fmt.Errorf("server CPU time: bad utime %q or stime %q", bulwark.Abbrev(f[11], 20), bulwark.Abbrev(f[12], 20))
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// cpuTime is the CPU time this process has used: the client shares the
// machine's cores with the server, and the report says how much it took.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
