// Command load is a small closed-loop HTTP load generator for Bulwark's API.
// It runs as its own process, so that the server's numbers are not helped
// by sharing a scheduler with the client: C workers each send one request,
// wait for the answer, and send the next, for a fixed duration. It reports
// throughput and latency percentiles; any non-200 answer counts as an error.
//
//	go run ./bench/load -url http://127.0.0.1:8080 -token bwk_… -c 50 -d 20s \
//	    -path /api/v1/assets?limit=50 -path /api/v1/assets/{asset}
//
// A path may contain {asset}, {service} or {system}: each request picks one
// of the IDs listed (fetched once from the API at start).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type paths []string

func (p *paths) String() string     { return strings.Join(*p, ",") }
func (p *paths) Set(s string) error { *p = append(*p, s); return nil }

func main() {
	var ps paths
	base := flag.String("url", "http://127.0.0.1:8080", "server base URL")
	token := flag.String("token", os.Getenv("BULWARK_TOKEN"), "API token (or BULWARK_TOKEN)")
	conc := flag.Int("c", 50, "concurrent clients")
	dur := flag.Duration("d", 20*time.Second, "duration")
	warm := flag.Duration("warmup", 2*time.Second, "warm-up before measuring")
	flag.Var(&ps, "path", "request path (repeatable; {asset}, {service}, {system} pick IDs)")
	flag.Parse()
	if len(ps) == 0 {
		ps = paths{"/api/v1/assets?limit=50"}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}, Timeout: 10 * time.Second}
	get := func(path string) (int, []byte, error) {
		req, err := http.NewRequest("GET", *base+path, nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	ids := map[string][]string{}
	for _, kind := range []string{"asset", "service", "system"} {
		status, b, err := get("/api/v1/" + kind + "s?limit=1000")
		if err != nil || status != 200 {
			fmt.Fprintf(os.Stderr, "load: listing %ss: %d %v %s\n", kind, status, err, b)
			os.Exit(1)
		}
		var page struct{ Items []struct{ ID string } }
		json.Unmarshal(b, &page)
		for _, it := range page.Items {
			ids[kind] = append(ids[kind], it.ID)
		}
	}
	expand := func(rng *rand.Rand, p string) string {
		for kind, list := range ids {
			if len(list) > 0 {
				p = strings.ReplaceAll(p, "{"+kind+"}", list[rng.IntN(len(list))])
			}
		}
		return p
	}

	ctx, cancel := context.WithTimeout(context.Background(), *warm+*dur)
	defer cancel()
	start := time.Now().Add(*warm)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for i := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			var mine []time.Duration
			bad := 0
			for ctx.Err() == nil {
				p := expand(rng, ps[rng.IntN(len(ps))])
				t0 := time.Now()
				status, _, err := get(p)
				if ctx.Err() != nil {
					break
				}
				if t0.Before(start) {
					continue
				}
				mine = append(mine, time.Since(t0))
				if err != nil || status != 200 {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	fmt.Printf("paths: %s\nclients: %d, duration: %v\nrequests: %d, errors: %d\nthroughput: %.0f req/s\nlatency p50 %v, p90 %v, p99 %v, max %v\n",
		ps.String(), *conc, *dur, len(lat), errs, float64(len(lat))/dur.Seconds(),
		pct(0.50).Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond))
	if errs > 0 {
		os.Exit(1)
	}
}
