package taxii_test

// Benchmarks of the TAXII server at scale (reliability row PF-01 and the
// issue's targets): index build at start-up and its heap, pages of 100 and
// 1,000 objects under 200 concurrent clients, and one POST of 100,000
// objects. The collection size comes from BULWARK_BENCH_OBJECTS (default
// 100,000); BULWARK_BENCH_DIR keeps the generated database between runs.
//
//	BULWARK_BENCH_OBJECTS=1000000 BULWARK_BENCH_DIR=$HOME/taxii-bench go test ./internal/taxii -run XXX -bench . -benchtime 5000x -timeout 60m

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/sqlstore"
	"bulwark/internal/taxii"
)

const benchCol = sharingtest.BenchCollection

func benchObjects() int {
	if n, err := strconv.Atoi(os.Getenv("BULWARK_BENCH_OBJECTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

type benchEnv struct {
	st    *sqlstore.DB
	svc   *sharing.Service
	srv   *httptest.Server
	token string
	n     int
}

var (
	benchOnce sync.Once
	benchE    *benchEnv
	benchErr  error
)

// openBench opens (building once) a store holding n objects in one
// collection readable by the user whose token it returns.
func openBench(b *testing.B) *benchEnv {
	benchOnce.Do(func() { benchE, benchErr = buildBench(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchE
}

func buildBench(b *testing.B) (*benchEnv, error) {
	n := benchObjects()
	dir := os.Getenv("BULWARK_BENCH_DIR")
	if dir == "" {
		d, err := os.MkdirTemp("", "taxii-bench-")
		if err != nil {
			return nil, err
		}
		dir = d // removed with the process's temp files by the OS; large: set BULWARK_BENCH_DIR to reuse
	}
	path := filepath.Join(dir, fmt.Sprintf("taxii-%d.db", n))
	_, statErr := os.Stat(path)
	st, err := sqlstore.Open(context.Background(), path, nil)
	if err != nil {
		return nil, err
	}
	sys := sharingtest.SysCtx()
	e := &benchEnv{st: st, n: n}
	if statErr != nil {
		start := time.Now()
		if err := sharingtest.PopulateBench(context.Background(), st, n, nil); err != nil {
			return nil, err
		}
		b.Logf("generated %d objects in %v", n, time.Since(start).Round(time.Millisecond))
	}
	u, err := st.FindUserByEmail(context.Background(), sharingtest.BenchReader)
	if err != nil {
		return nil, err
	}
	secret, hash, _ := auth.NewToken()
	if err := st.CreateToken(sys, &bulwark.Token{UserID: u.ID, Name: "bench", Hash: hash}); err != nil {
		return nil, err
	}
	e.token = secret
	e.svc = sharing.New(st, nil)
	if os.Getenv("BULWARK_BENCH_NOLOG") == "" {
		e.svc.SetBodyLog(path + ".bodies")
	}
	if err := e.svc.Load(context.Background()); err != nil {
		return nil, err
	}
	// Wait for the body log to hold (almost) everything.
	for start := time.Now(); os.Getenv("BULWARK_BENCH_NOLOG") == "" && time.Since(start) < 10*time.Minute; time.Sleep(100 * time.Millisecond) {
		if st, err := os.Stat(path + ".bodies"); err == nil && st.Size() > int64(n)*550 {
			b.Logf("body log filled in %v", time.Since(start).Round(time.Millisecond))
			break
		}
	}
	a := auth.New(st, auth.Options{}, nil)
	mux := http.NewServeMux()
	mux.Handle(taxii.Prefix, taxii.New(e.svc, taxii.Config{}, nil))
	e.srv = httptest.NewServer(a.Middleware(mux))
	return e, nil
}

// BenchmarkStartup builds the index of the whole store, as serve does at
// start-up, and reports the heap it keeps.
func BenchmarkStartup(b *testing.B) {
	e := openBench(b)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		svc := sharing.New(e.st, nil)
		start := time.Now()
		cpu0 := cpuTime()
		if err := svc.Load(context.Background()); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s/load")
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(took.Seconds(), "s/load")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20)*1e6/float64(e.n), "MiB-heap/1M-objects")
		runtime.KeepAlive(svc)
	}
}

// cpuTime is the CPU time (user and system) of the process so far: on a
// busy shared machine, the part of a wall-clock figure that is the work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCursors walks the collection once with pages of size limit and
// returns next cursors spread over it, each the start of a full page, so
// that the page benchmarks read random positions rather than the first
// page again and again.
func benchCursors(b *testing.B, e *benchEnv, limit int) []string {
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 2, Org: "port", Role: bulwark.RoleAnalyst})
	var cursors []string
	next := ""
	for len(cursors) < 200 {
		page, err := e.svc.Objects(ctx, benchCol, sharing.Query{Limit: limit}, next)
		if err != nil {
			b.Fatal(err)
		}
		if !page.More {
			break
		}
		next = page.Next
		if full, err := e.svc.Objects(ctx, benchCol, sharing.Query{Limit: limit}, next); err == nil && len(full.Items) == limit {
			cursors = append(cursors, next)
		}
		// Skip ahead so the cursors spread over the collection.
		for range max(1, e.n/limit/250) {
			page, err = e.svc.Objects(ctx, benchCol, sharing.Query{Limit: limit}, next)
			if err != nil || !page.More {
				break
			}
			next = page.Next
		}
	}
	if len(cursors) < 10 {
		b.Fatalf("only %d positions with full pages of %d in %d objects", len(cursors), limit, e.n)
	}
	return cursors
}

// pageObjects counts the objects of a TAXII envelope (each has one
// spec_version; the bench's objects nest none), without the cost of
// decoding it in the process being measured.
func pageObjects(body []byte) int { return bytes.Count(body, []byte(`"spec_version":"2.1"`)) }

// pages fetches pages of size limit from random positions with conc
// concurrent clients and reports latency percentiles and throughput.
func pages(b *testing.B, limit, conc int) {
	e := openBench(b)
	cursors := benchCursors(b, e, limit)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	var mu sync.Mutex
	var lat []time.Duration
	work := make(chan int)
	var wg sync.WaitGroup
	var failed error
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			mine := make([]time.Duration, 0, b.N/conc+1)
			for range work {
				u := e.srv.URL + "/taxii2/bulwark/collections/" + benchCol + "/objects/?limit=" + strconv.Itoa(limit)
				if c := rng.IntN(len(cursors) + 1); c < len(cursors) {
					u += "&next=" + cursors[c]
				}
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("Accept", taxii.MediaType)
				req.Header.Set("Authorization", "Bearer "+e.token)
				start := time.Now()
				res, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				mine = append(mine, time.Since(start))
				if got := pageObjects(body); res.StatusCode != 200 || got != limit {
					mu.Lock()
					failed = fmt.Errorf("status %d, %d objects, want %d: %.300s", res.StatusCode, got, limit, body)
					mu.Unlock()
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/page")
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "ms-p50")
	b.ReportMetric(pct(0.99), "ms-p99")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pages/s")
}

func BenchmarkPage100x200Clients(b *testing.B)  { pages(b, 100, 200) }
func BenchmarkPage1000x200Clients(b *testing.B) { pages(b, 1000, 200) }

// BenchmarkPost100k posts one envelope of 100,000 new objects.
func BenchmarkPost100k(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	w := sharingtest.Open(b, false, sharingtest.Orgs("city", "water"))
	u := w.AddUser(b, "water", bulwark.RoleAnalyst)
	com := &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "city", Owner: true}, {Org: "water"}}}
	if err := w.Svc.CreateCommunity(sharingtest.SysCtx(), com); err != nil {
		b.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "x", Access: []bulwark.CollectionAccess{{Org: "water", CanRead: true, CanWrite: true}}}
	if err := w.Svc.CreateCollection(sharingtest.SysCtx(), col); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(taxii.Prefix, taxii.New(w.Svc, taxii.Config{}, nil))
	srv := httptest.NewServer(w.Auth.Middleware(mux))
	defer srv.Close()
	_ = dir
	for i := 0; b.Loop(); i++ {
		var buf bytes.Buffer
		buf.WriteString(`{"objects":[`)
		t0 := time.Now().UTC().Add(time.Duration(i) * time.Hour)
		for j := range n {
			if j > 0 {
				buf.WriteByte(',')
			}
			// Without the description: 100,000 of them fit in 64 MiB.
			body := sharingtest.BenchBody(i*n+j, t0)
			if k := bytes.Index(body, []byte(`"description":`)); k > 0 {
				e := bytes.Index(body[k:], []byte(`",`))
				body = append(body[:k:k], body[k+e+2:]...)
			}
			buf.Write(body)
		}
		buf.WriteString(`]}`)
		body := buf.Bytes()
		req, _ := http.NewRequest("POST", srv.URL+"/taxii2/bulwark/collections/"+col.ID+"/objects/", bytes.NewReader(body))
		req.Header.Set("Accept", taxii.MediaType)
		req.Header.Set("Content-Type", taxii.MediaType)
		req.Header.Set("Authorization", "Bearer "+u.Token)
		start := time.Now()
		res, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 202 || !bytes.Contains(out, []byte(`"success_count":100000`)) {
			b.Fatalf("%d %.300s", res.StatusCode, out)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/post")
		b.ReportMetric(float64(len(body))/(1<<20), "MiB/post")
	}
}

func BenchmarkPage100x8Clients(b *testing.B) { pages(b, 100, 8) }

// handlerPage serves pages at random positions (cursors from a walk of
// the collection) through the authentication middleware and the TAXII
// handler in process (no network, no client), from conc goroutines: the
// server's own CPU cost of a page. Each answer must be a full page.
func handlerPage(b *testing.B, limit, conc int) {
	e := openBench(b)
	h := e.srv.Config.Handler
	cursors := benchCursors(b, e, limit)
	b.ReportAllocs()
	work := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for range work {
				u := "/taxii2/bulwark/collections/" + benchCol + "/objects/?limit=" + strconv.Itoa(limit)
				if c := rng.IntN(len(cursors) + 1); c < len(cursors) {
					u += "&next=" + cursors[c]
				}
				req := httptest.NewRequest("GET", u, nil)
				req.Header.Set("Accept", taxii.MediaType)
				req.Header.Set("Authorization", "Bearer "+e.token)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if got := pageObjects(w.Body.Bytes()); w.Code != 200 || got != limit {
					mu.Lock()
					failed = fmt.Errorf("status %d, %d objects, want %d: %.300s", w.Code, got, limit, w.Body.Bytes())
					mu.Unlock()
				}
			}
		}()
	}
	cpu0 := cpuTime()
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/page")
	if failed != nil {
		b.Fatal(failed)
	}
}

func BenchmarkHandlerPage100(b *testing.B)            { handlerPage(b, 100, 1) }
func BenchmarkHandlerPage1000(b *testing.B)           { handlerPage(b, 1000, 1) }
func BenchmarkHandlerPage100x200Clients(b *testing.B) { handlerPage(b, 100, 200) }
