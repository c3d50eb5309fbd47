package feedsync

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/csaf"
	"bulwark/internal/feed"
)

func init() {
	// In the product, internal/vulns plugs the CSAF reader into feed
	// detection; these tests import documents without it.
	feed.Register(feed.FormatCSAF, func(ctx context.Context, name string, r io.Reader, opts feed.Options, emit func(feed.Record) error) ([]bulwark.Problem, error) {
		adv, err := csaf.Read(name, r, csaf.Options{MaxDepth: opts.MaxDepth, FetchedAt: opts.FetchedAt})
		if err != nil {
			return nil, err
		}
		for _, v := range adv.Vulns {
			if err := emit(feed.Record{Vuln: v}); err != nil {
				return adv.Warnings, err
			}
		}
		return adv.Warnings, nil
	})
}

// fakeStore imports documents for real (feed.Read) into a map that keeps
// each record's content hash, to count new, updated and unchanged records
// as a store would.
type fakeStore struct {
	mu     sync.Mutex
	hashes map[string]string // source key + "|" + vulnerability ID → hash
	docs   []string          // document names, in import order
	ids    map[string]bool   // every vulnerability imported
}

func newFakeStore() *fakeStore {
	return &fakeStore{hashes: map[string]string{}, ids: map[string]bool{}}
}

func (f *fakeStore) Import(ctx context.Context, name string, r io.Reader) (Imported, error) {
	type rec struct{ key, id, hash string }
	var recs []rec
	st, probs, err := feed.Read(ctx, name, r, feed.Options{}, func(r feed.Record) error {
		p := r.Vuln.Sources[len(r.Vuln.Sources)-1]
		key := p.Source
		if strings.HasPrefix(key, "csaf") {
			key = "csaf:" + p.Document
		}
		recs = append(recs, rec{key, r.Vuln.ID, p.Hash})
		return nil
	})
	im := Imported{Format: st.Format.String(), Records: st.Records, Problems: probs}
	if err != nil {
		return im, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs = append(f.docs, name)
	for _, r := range recs {
		k := r.key + "|" + r.id
		old, ok := f.hashes[k]
		switch {
		case !ok:
			im.Stats.Created++
		case old != r.hash:
			im.Stats.Updated++
		default:
			im.Stats.Unchanged++
			continue
		}
		f.hashes[k] = r.hash
		f.ids[r.id] = true
		im.Changed = append(im.Changed, r.id)
	}
	return im, nil
}

func (f *fakeStore) Docs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.docs)
}

// fakeClock is a clock whose sleeps return at once and move it forward.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// seenRequest is what the test server saw of one request.
type seenRequest struct {
	Path   string
	Query  url.Values
	Header http.Header
	At     time.Time // on the fake clock
}

// feedServer serves the feeds over TLS from fixtures: the NVD API re-pages
// its records as the real API would, KEV and EPSS answer conditional GETs,
// and a CSAF provider serves its metadata, ROLIE feed, advisories and
// their SHA-512 files.
type feedServer struct {
	t     *testing.T
	srv   *httptest.Server
	clock *fakeClock

	nvd []nvdTestRecord
	kev []byte
	eps []byte

	mu     sync.Mutex
	seen   []seenRequest
	faults map[string][]http.HandlerFunc // path → handlers to run first, one per request
	files  map[string][]byte             // CSAF paths → bodies
}

type nvdTestRecord struct {
	raw          json.RawMessage
	id           string
	lastModified time.Time
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".json.gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// parseNVDRecords reads an NVD API answer's records with their dates.
func parseNVDRecords(t testing.TB, b []byte) []nvdTestRecord {
	t.Helper()
	var env struct {
		Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	var out []nvdTestRecord
	for _, raw := range env.Vulnerabilities {
		var v struct {
			CVE struct {
				ID           string `json:"id"`
				LastModified string `json:"lastModified"`
			} `json:"cve"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		lm, err := time.Parse("2006-01-02T15:04:05", v.CVE.LastModified)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, nvdTestRecord{raw, v.CVE.ID, lm})
	}
	return out
}

func newFeedServer(t *testing.T, clock *fakeClock) *feedServer {
	fs := &feedServer{t: t, clock: clock, faults: map[string][]http.HandlerFunc{}, files: map[string][]byte{}}
	fs.nvd = parseNVDRecords(t, readTestdata(t, "nvd-cves.json"))
	fs.kev = readTestdata(t, "kev.json")
	fs.eps = readTestdata(t, "epss.csv.gz")
	mux := http.NewServeMux()
	mux.HandleFunc("/nvd", fs.serveNVD)
	mux.HandleFunc("/kev.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"kev-2025.08.25"`)
		if r.Header.Get("If-None-Match") == `"kev-2025.08.25"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(fs.kev)
	})
	mux.HandleFunc("/epss_scores-current.csv.gz", func(w http.ResponseWriter, r *http.Request) {
		const lm = "Sun, 22 Nov 2026 00:00:00 GMT"
		w.Header().Set("Last-Modified", lm)
		if r.Header.Get("If-Modified-Since") == lm {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(fs.eps)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		b, ok := fs.files[r.URL.Path]
		fs.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	fs.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		at := time.Time{}
		if fs.clock != nil {
			at = fs.clock.now()
		}
		fs.seen = append(fs.seen, seenRequest{Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), At: at})
		var fault http.HandlerFunc
		if q := fs.faults[r.URL.Path]; len(q) > 0 {
			fault, fs.faults[r.URL.Path] = q[0], q[1:]
		}
		fs.mu.Unlock()
		if fault != nil {
			fault(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.srv.Close)
	fs.addCSAF(fs.srv.URL)
	return fs
}

// addCSAF serves the provider metadata of the spec's example, pointing to
// a trimmed CISA ROLIE feed whose advisories this server holds.
func (fs *feedServer) addCSAF(base string) {
	pm := strings.ReplaceAll(string(readTestdata(fs.t, "provider-metadata.json")),
		"https://www.example.com/.well-known/csaf/feed-tlp-white.json", base+"/csaf/feed.json")
	feedDoc := strings.ReplaceAll(string(readTestdata(fs.t, "csaf-feed.json")),
		"https://raw.githubusercontent.com/cisagov/CSAF/develop/csaf_files/OT/white/", base+"/csaf/")
	fs.files["/.well-known/csaf/provider-metadata.json"] = []byte(pm)
	fs.files["/csaf/feed.json"] = []byte(feedDoc)
	for _, id := range []string{"icsa-24-263-05", "icsa-24-032-01", "icsma-24-058-01"} {
		fs.addAdvisory("/csaf/2024/"+id+".json", readTestdata(fs.t, id+".json.gz"))
	}
}

// addAdvisory serves an advisory and its .sha512 file.
func (fs *feedServer) addAdvisory(path string, body []byte) {
	sum := sha512.Sum512(body)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files[path] = body
	fs.files[path+".sha512"] = []byte(hex.EncodeToString(sum[:]) + "  " + filepath.Base(path) + "\n")
}

func (fs *feedServer) setFile(path string, body []byte) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files[path] = body
}

// fault queues handlers that answer the next requests for path.
func (fs *feedServer) fault(path string, hs ...http.HandlerFunc) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults[path] = append(fs.faults[path], hs...)
}

func (fs *feedServer) requests(path string) []seenRequest {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []seenRequest
	for _, r := range fs.seen {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// serveNVD answers like the CVE API 2.0: records whose lastModified is in
// the window (both ends included), a page at a time, refusing windows
// longer than 120 days as the API does.
func (fs *feedServer) serveNVD(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	const layout = "2006-01-02T15:04:05.000Z07:00"
	start, err1 := time.Parse(layout, q.Get("lastModStartDate"))
	end, err2 := time.Parse(layout, q.Get("lastModEndDate"))
	index, err3 := strconv.Atoi(q.Get("startIndex"))
	per, err4 := strconv.Atoi(q.Get("resultsPerPage"))
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || per < 1 || per > 2000 || end.Sub(start) > 120*24*time.Hour || end.Before(start) {
		w.Header().Set("message", "Invalid parameters")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var match []json.RawMessage
	for _, rec := range fs.nvd {
		if !rec.lastModified.Before(start) && !rec.lastModified.After(end) {
			match = append(match, rec.raw)
		}
	}
	page := match[min(index, len(match)):min(index+per, len(match))]
	if page == nil {
		page = []json.RawMessage{}
	}
	body, _ := json.Marshal(map[string]any{"resultsPerPage": len(page), "startIndex": index, "totalResults": len(match),
		"format": "NVD_CVE", "version": "2.0", "timestamp": "2026-11-22T20:00:00.000", "vulnerabilities": page})
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// newTestSyncer returns a Syncer over fs with a fake clock at now.
func newTestSyncer(t *testing.T, fs *feedServer, st *fakeStore, cfg Config) *Syncer {
	t.Helper()
	if cfg.Import == nil {
		cfg.Import = st.Import
	}
	if cfg.Client == nil {
		cfg.Client = fs.srv.Client()
	}
	if cfg.NVDURL == "" {
		cfg.NVDURL = fs.srv.URL + "/nvd"
	}
	if cfg.KEVURL == "" {
		cfg.KEVURL = fs.srv.URL + "/kev.json"
	}
	if cfg.EPSSURL == "" {
		cfg.EPSSURL = fs.srv.URL + "/epss_scores-current.csv.gz"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fs.clock != nil {
		s.now, s.sleep = fs.clock.now, fs.clock.sleep
	}
	s.jitter = func() float64 { return 0.5 }
	return s
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func retryAfter(code int, after string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", after)
		w.WriteHeader(code)
	}
}

func sourceResult(t *testing.T, res Result, src Source) SourceResult {
	t.Helper()
	for _, sr := range res.Sources {
		if sr.Source == src {
			return sr
		}
	}
	t.Fatalf("no result for %s in %+v", src, res)
	return SourceResult{}
}

func problemsText(ps []bulwark.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintln(&b, p.String())
	}
	return b.String()
}
