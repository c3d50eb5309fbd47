// Command taxiiload drives a TAXII 2.1 server's Get Objects endpoint from
// a process of its own and measures it: pages of a given size at random
// positions of a collection, sent open loop at a fixed rate over up to N
// connections (latency from the intended send time), or closed loop to
// find the saturation throughput. scripts/taxiiload/run.sh runs the whole
// measurement against `bulwark serve`; docs/performance.md describes it.
//
//	taxiiload wait   -url OBJECTS_URL [-since UNIX_NANOS] [-timeout 2m]
//	taxiiload walk   -url OBJECTS_URL -out positions.json
//	taxiiload run    -url OBJECTS_URL -positions positions.json -limit 100 -rate 5000 -conns 200 -duration 30s [-json]
//	taxiiload report result.json...
//
// OBJECTS_URL is the collection's objects endpoint, such as
// http://127.0.0.1:8080/taxii2/bulwark/collections/ID/objects/. Credentials
// are never flags (other users see a process's arguments): a token comes
// from TAXIILOAD_TOKEN or -token-file (Bearer), a password from
// TAXIILOAD_PASSWORD or -password-file with -user (Basic).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"bulwark"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "taxiiload:", err)
		os.Exit(1)
	}
}

const usage = "usage: taxiiload wait|walk|run|report [flags] (taxiiload CMD -h for the flags)"

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "wait":
		return cmdWait(ctx, args[1:], out)
	case "walk":
		return cmdWalk(ctx, args[1:], out)
	case "run":
		return cmdRun(ctx, args[1:], out)
	case "report":
		return cmdReport(args[1:], out)
	}
	return fmt.Errorf("unknown command %q; %s", bulwark.Abbrev(args[0], 40), usage)
}

// conn holds the flags that say how to reach the server.
type conn struct {
	url, tokenFile, user, passwordFile, ca string
	insecure, http2                        bool
	timeout                                time.Duration
}

func (c *conn) flags(fl *flag.FlagSet) {
	fl.StringVar(&c.url, "url", "", "the collection's objects endpoint (http:// or https://)")
	fl.StringVar(&c.tokenFile, "token-file", "", "file holding an API token, sent as Bearer (or set TAXIILOAD_TOKEN)")
	fl.StringVar(&c.user, "user", "", "e-mail for HTTP Basic; the password from -password-file or TAXIILOAD_PASSWORD")
	fl.StringVar(&c.passwordFile, "password-file", "", "file holding the -user's password")
	fl.StringVar(&c.ca, "ca", "", "PEM certificate(s) to trust for https")
	fl.BoolVar(&c.insecure, "insecure", false, "do not verify the server's certificate")
	fl.BoolVar(&c.http2, "http2", false, "allow HTTP/2 over TLS (default HTTP/1.1: one request per connection at a time, as most TAXII clients)")
	fl.DurationVar(&c.timeout, "timeout", 30*time.Second, "time limit of one request")
}

// client builds the HTTP client and the Authorization header.
func (c *conn) client(conns int) (*http.Client, string, error) {
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, "", fmt.Errorf("-url must be an http(s) URL without a query, not %q", bulwark.Abbrev(c.url, 200))
	}
	tr := &http.Transport{
		Proxy:               nil, // loopback measurements never go through a proxy
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
		MaxIdleConns:        conns,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true, // Bulwark does not compress; do not ask
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: c.insecure, MinVersion: tls.VersionTLS12},
	}
	if !c.http2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	if c.ca != "" {
		pem, err := os.ReadFile(c.ca)
		if err != nil {
			return nil, "", fmt.Errorf("-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("-ca %s: no PEM certificate in it", c.ca)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	secret := func(file, env string) (string, error) {
		if file == "" {
			return os.Getenv(env), nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	var auth string
	if c.user != "" {
		pw, err := secret(c.passwordFile, "TAXIILOAD_PASSWORD")
		if err != nil {
			return nil, "", fmt.Errorf("-password-file: %w", err)
		}
		if pw == "" {
			return nil, "", errors.New("-user needs a password: -password-file or TAXIILOAD_PASSWORD")
		}
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.user+":"+pw))
	} else {
		tok, err := secret(c.tokenFile, "TAXIILOAD_TOKEN")
		if err != nil {
			return nil, "", fmt.Errorf("-token-file: %w", err)
		}
		if tok != "" {
			auth = "Bearer " + tok
		}
	}
	return &http.Client{Transport: tr, Timeout: c.timeout}, auth, nil
}

func get(ctx context.Context, c *http.Client, auth, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", mediaType)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return c.Do(req)
}

// cmdWait polls the endpoint until it answers 200 and prints how long that
// took from -since (default: from the start of the wait).
func cmdWait(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("wait", flag.ContinueOnError)
	var c conn
	c.flags(fl)
	since := fl.Int64("since", 0, "count from this time (Unix nanoseconds, as date +%s%N prints), e.g. when the server was started")
	timeout := fl.Duration("max", 2*time.Minute, "give up after this long")
	asJSON := fl.Bool("json", false, "print JSON")
	if err := fl.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	if *since > 0 {
		start = time.Unix(0, *since)
	}
	cl, auth, err := c.client(1)
	if err != nil {
		return err
	}
	cl.Timeout = time.Second
	deadline := time.Now().Add(*timeout)
	var last string
	for {
		resp, err := get(ctx, cl, auth, c.url+"?limit=1")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			last = resp.Status
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound {
				return fmt.Errorf("%s answers %s: check the credentials and the collection", c.url, resp.Status)
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not ready after %v: %s", *timeout, bulwark.Abbrev(last, 200))
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start).Seconds()
	if *asJSON {
		return json.NewEncoder(out).Encode(map[string]float64{"ready_s": round3(took)})
	}
	_, err = fmt.Fprintf(out, "ready after %.3f s\n", took)
	return err
}

// Positions are places to start a page from, found by walking the
// collection once from its start with pages of 1,000.
type Positions struct {
	URL        string   `json:"url"`
	Pages      int      `json:"pages"`
	Objects    int      `json:"objects"`
	Cursors    []string `json:"cursors"`     // each page's next
	AddedAfter []string `json:"added_after"` // each page's X-TAXII-Date-Added-Last, distinct
	WalkS      float64  `json:"walk_s"`
}

// maxPositionsFile bounds what run reads: a million cursors at most.
var maxPositionsFile int64 = 128 << 20

func walk(ctx context.Context, cl *http.Client, auth, objURL string, maxPages int) (*Positions, error) {
	p := &Positions{URL: objURL}
	start := time.Now()
	next := ""
	for maxPages <= 0 || p.Pages < maxPages {
		u := objURL + "?limit=1000"
		if next != "" {
			u += "&next=" + url.QueryEscape(next)
		}
		resp, err := get(ctx, cl, auth, u)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", p.Pages+1, err)
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("page %d: %s", p.Pages+1, resp.Status)
		}
		if err != nil {
			return nil, fmt.Errorf("page %d: not a TAXII envelope: %w", p.Pages+1, err)
		}
		p.Pages++
		p.Objects += len(env.Objects)
		if d := resp.Header.Get("X-TAXII-Date-Added-Last"); d != "" && env.More && (len(p.AddedAfter) == 0 || p.AddedAfter[len(p.AddedAfter)-1] != d) {
			p.AddedAfter = append(p.AddedAfter, d)
		}
		if !env.More || env.Next == "" {
			break
		}
		next = env.Next
		p.Cursors = append(p.Cursors, next)
	}
	p.WalkS = round3(time.Since(start).Seconds())
	return p, nil
}

func cmdWalk(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("walk", flag.ContinueOnError)
	var c conn
	c.flags(fl)
	file := fl.String("out", "", "write the positions here (JSON)")
	maxPages := fl.Int("max-pages", 0, "stop after this many pages (0: the whole collection)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("walk needs -out FILE")
	}
	cl, auth, err := c.client(1)
	if err != nil {
		return err
	}
	p, err := walk(ctx, cl, auth, c.url, *maxPages)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	if err := os.WriteFile(*file, b, 0o600); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "walked %d pages, %d objects in %.1f s: %d cursors, %d distinct added_after\n", p.Pages, p.Objects, p.WalkS, len(p.Cursors), len(p.AddedAfter))
	return err
}

// positions turns a walk into query suffixes of the given kind. The first
// page ("") is one position among the others.
func positions(p *Positions, kind string) ([]string, error) {
	out := []string{""}
	switch kind {
	case "first":
	case "next":
		for _, c := range p.Cursors {
			out = append(out, "&next="+url.QueryEscape(c))
		}
	case "added_after":
		for _, d := range p.AddedAfter {
			out = append(out, "&added_after="+url.QueryEscape(d))
		}
	default:
		return nil, fmt.Errorf("-position must be next, added_after or first, not %q", bulwark.Abbrev(kind, 40))
	}
	if kind != "first" && len(out) == 1 {
		return nil, fmt.Errorf("the walk found no %s positions: the collection fits in one page of 1,000", kind)
	}
	return out, nil
}

func cmdRun(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("run", flag.ContinueOnError)
	var c conn
	c.flags(fl)
	var l Load
	fl.IntVar(&l.Limit, "limit", 100, "page size to ask for")
	fl.Float64Var(&l.Rate, "rate", 0, "pages per second, sent open loop; 0: closed loop, as fast as -conns allow (saturation)")
	fl.IntVar(&l.Conns, "conns", 200, "connections (each with at most one request in flight)")
	fl.DurationVar(&l.Duration, "duration", 30*time.Second, "how long to send")
	fl.DurationVar(&l.Drain, "drain", 10*time.Second, "after -duration, how long answers are still awaited")
	fl.StringVar(&l.Position, "position", "next", "where pages start: next (cursors of the walk), added_after (dates of the walk) or first")
	fl.Uint64Var(&l.Seed, "seed", 1, "seed of the random positions")
	fl.IntVar(&l.ServerPID, "server-pid", 0, "the server's process ID on this machine: report its CPU time per page (Linux)")
	warmup := fl.Duration("warmup", 0, "first send the same load this long, unmeasured: connections (and TLS sessions) are then open and the server's caches warm")
	posFile := fl.String("positions", "", "positions from `taxiiload walk` (default: walk now)")
	asJSON := fl.Bool("json", false, "print the result as JSON")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", bulwark.Abbrev(fl.Arg(0), 60))
	}
	if l.Limit < 1 || l.Limit > 100_000 || l.Conns < 1 || l.Conns > 10_000 || l.Duration <= 0 || l.Rate < 0 || l.Rate > 1e6 || l.Drain < 0 || *warmup < 0 || l.ServerPID < 0 {
		return errors.New("need 1 <= -limit <= 100000, 1 <= -conns <= 10000, -duration > 0, 0 <= -rate <= 1000000, -drain >= 0, -warmup >= 0")
	}
	cl, auth, err := c.client(l.Conns)
	if err != nil {
		return err
	}
	l.URL, l.Client, l.Auth = c.url, cl, auth
	var p *Positions
	if *posFile != "" {
		p, err = readPositions(*posFile, c.url)
	} else if l.Position != "first" {
		p, err = walk(ctx, cl, auth, c.url, 0)
	} else {
		p = &Positions{}
	}
	if err != nil {
		return err
	}
	if l.Positions, err = positions(p, l.Position); err != nil {
		return err
	}
	if *warmup > 0 {
		w := l
		w.Duration, w.Seed = *warmup, l.Seed+1
		if _, err := Run(ctx, w); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	res, err := Run(ctx, l)
	if err != nil {
		return err
	}
	res.WarmupS = warmup.Seconds()
	if *asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	return printResults(out, []*Result{res})
}

func readPositions(file, objURL string) (*Positions, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var p Positions
	if err := json.NewDecoder(io.LimitReader(f, maxPositionsFile)).Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: not a positions file: %w", file, err)
	}
	if p.URL != objURL {
		return nil, fmt.Errorf("%s was walked on %q, not %q: cursors are bound to their collection", file, bulwark.Abbrev(p.URL, 200), bulwark.Abbrev(objURL, 200))
	}
	return &p, nil
}

func cmdReport(files []string, out io.Writer) error {
	if len(files) == 0 {
		return errors.New("usage: taxiiload report RESULT.json...")
	}
	var rs []*Result
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil || r.Mode == "" {
			return fmt.Errorf("%s: not a taxiiload run result (%v)", f, err)
		}
		rs = append(rs, &r)
	}
	return printResults(out, rs)
}

func printResults(out io.Writer, rs []*Result) error {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tlimit\trate\tconns\tok\tpages/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tsvc p99 ms\tfailed\tunsent\tin flight\tclient cpu s\tserver cpu ms/page\t")
	for _, r := range rs {
		rate := "max"
		if r.Mode == "open-loop" {
			rate = fmt.Sprintf("%g", r.TargetRate)
		}
		mark := ""
		if r.Saturated {
			mark = " SATURATED"
		}
		srv := "-"
		if r.ServerCPUS > 0 {
			srv = fmt.Sprintf("%.3f", r.ServerCPUMsPage)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%.1f\t%s\t%s\n", r.Mode, r.Limit, rate, r.Conns, r.OK, r.Throughput,
			r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max, r.Service.P99, r.Failed, r.Unsent, r.MaxInFlight, r.ClientCPUS, srv, mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rs {
		for k, v := range r.Errors {
			fmt.Fprintf(out, "  limit %d rate %g: %d× %s\n", r.Limit, r.TargetRate, v, k)
		}
	}
	return nil
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
