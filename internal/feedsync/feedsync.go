// Package feedsync fetches vulnerability feeds from their publishers over
// HTTPS and hands each document to an importer: the NVD CVE API 2.0
// (incrementally, by last-modified date), CISA's KEV catalog and FIRST's
// EPSS scores (with conditional GETs), and CSAF 2.0 providers (through
// their provider metadata and ROLIE feeds, advisories checked against their
// published hashes).
//
// Syncing is optional: Bulwark works offline from downloaded files, and
// this package only automates the download. It does not know the store:
// documents go to an Importer, and the vulnerabilities that changed go to
// a Matcher once at the end of a sync.
//
// Every request has a timeout and a body size cap; transient failures
// (network errors, 429, 5xx) are retried with exponential backoff and
// jitter, honouring Retry-After; plain http is refused unless allowed; and
// neither the NVD API key nor any credential in a URL appears in errors or
// logs.
package feedsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"bulwark"
)

// Source names a feed source.
type Source string

// Sources, in the order Sync runs them.
const (
	NVD  Source = "nvd"
	KEV  Source = "kev"
	EPSS Source = "epss"
	CSAF Source = "csaf"
)

// AllSources lists every source in sync order.
var AllSources = []Source{NVD, KEV, EPSS, CSAF}

// ParseSources parses a comma-separated list of source names.
func ParseSources(s string) ([]Source, error) {
	var out []Source
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		if f == "" {
			continue
		}
		src := Source(f)
		if !slices.Contains(AllSources, src) {
			return nil, bulwark.Errorf(bulwark.EINVALID, "unknown feed source %q (want nvd, kev, epss or csaf)", f)
		}
		if !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	return out, nil
}

// Default source addresses.
const (
	DefaultNVDURL  = "https://services.nvd.nist.gov/rest/json/cves/2.0"
	DefaultKEVURL  = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
	DefaultEPSSURL = "https://epss.empirical.cyentia.com/epss_scores-current.csv.gz"
)

// Defaults for Config.
const (
	DefaultMaxRetries     = 4
	DefaultRequestTimeout = 2 * time.Minute
	DefaultMaxBodyBytes   = 256 << 20 // an NVD page of 2000 CVEs is tens of MB
	DefaultMaxAdvisories  = 500
	DefaultNVDPageSize    = 2000 // the API's maximum
	// NVDMaxWindow is the longest lastModified range the NVD API accepts
	// in one request.
	NVDMaxWindow = 120 * 24 * time.Hour
	// MaxRetryAfter is the longest Retry-After a sync waits; a server
	// asking for longer is given up on rather than holding the sync.
	MaxRetryAfter = 10 * time.Minute
)

// Imported is what the importer did with one document.
type Imported struct {
	Format   string
	Records  int
	Stats    bulwark.FeedStats
	Problems []bulwark.Problem // records skipped, with where and why
	Changed  []string          // vulnerabilities whose records changed
}

// Importer imports one fetched document (a whole file, or one NVD page) in
// one transaction. An error whose bulwark code is EINVALID, ETOOLARGE or
// EUNSUPPORTED rejects the document (the sync reports it and goes on); any
// other error stops the source.
type Importer func(ctx context.Context, name string, r io.Reader) (Imported, error)

// Matcher re-matches the listed vulnerabilities against the inventory.
type Matcher func(ctx context.Context, vulns []string) error

// LastModifiedFunc returns the newest record modification time stored
// from a record source ("nvd"), zero when none is stored.
type LastModifiedFunc func(ctx context.Context, recordSource string) (time.Time, error)

// FeedSourcer is the part of bulwark.VulnStore StoreLastModified needs.
type FeedSourcer interface {
	FeedSources(ctx context.Context) ([]bulwark.FeedSource, error)
}

// StoreLastModified reads LastModified from the store's feed summary.
func StoreLastModified(st FeedSourcer) LastModifiedFunc {
	return func(ctx context.Context, recordSource string) (time.Time, error) {
		srcs, err := st.FeedSources(ctx)
		if err != nil {
			return time.Time{}, fmt.Errorf("read stored feed sources: %w", err)
		}
		for _, s := range srcs {
			if s.Source == recordSource {
				return s.LastModified, nil
			}
		}
		return time.Time{}, nil
	}
}

// Config configures a Syncer. Import is required; the rest have defaults.
type Config struct {
	Import Importer
	// Match, when set, is called once at the end of a sync with every
	// vulnerability that changed.
	Match Matcher
	// LastModified gives where an incremental NVD sync starts.
	LastModified LastModifiedFunc

	// Sources to sync; default NVD, KEV and EPSS, and CSAF when
	// CSAFProviders are given.
	Sources []Source

	// Source addresses; empty means the public default.
	NVDURL, KEVURL, EPSSURL string
	// NVDAPIKey is sent as the apiKey header. It raises the NVD rate
	// limit from 5 to 50 requests per 30 seconds.
	NVDAPIKey string
	// NVDPageSize is resultsPerPage (default and maximum 2000).
	NVDPageSize int
	// NVDRate overrides the NVD request limit (default by API key).
	NVDRate Rate

	// CSAFProviders are provider-metadata.json URLs (a ROLIE feed URL is
	// taken as well).
	CSAFProviders []string
	// MaxAdvisories caps the CSAF advisories fetched in one sync.
	MaxAdvisories int

	// Since is where the first sync starts: the NVD lastModified window
	// and the CSAF advisories' updated time (when none were seen yet).
	// Later syncs of the same Syncer continue from what they saw.
	Since time.Time
	// SinceIfEmpty uses Since for NVD only when the store holds no NVD
	// API records, so that a scheduled job restarted with the same flags
	// continues from the store rather than fetching again from Since.
	SinceIfEmpty bool

	// Client makes the requests. Default: a client with connection
	// timeouts that honours the proxy environment variables.
	Client *http.Client
	// AllowHTTP permits plain http addresses (a local mirror, tests).
	AllowHTTP bool
	// MaxRetries is how many times a failed request is retried
	// (default 4; negative: never).
	MaxRetries int
	// RequestTimeout bounds one attempt, body included (default 2 min).
	RequestTimeout time.Duration
	// MaxBodyBytes caps one response body (default 256 MiB).
	MaxBodyBytes int64

	Log *slog.Logger
	// OnDocument, when set, is told about each document as it is
	// imported or rejected (err set), for progress output.
	OnDocument func(src Source, name string, im Imported, err error)
}

// Rate is a request budget: at most N requests in any window of Per.
type Rate struct {
	N   int
	Per time.Duration
}

// NVD's published limits.
var (
	NVDPublicRate = Rate{N: 5, Per: 30 * time.Second}
	NVDKeyRate    = Rate{N: 50, Per: 30 * time.Second}
)

// SourceResult summarises one source's part of a sync.
type SourceResult struct {
	Source    Source `json:"source"`
	Documents int    `json:"documents"` // documents imported
	Records   int    `json:"records"`
	New       int64  `json:"new"`
	Updated   int64  `json:"updated"`
	Unchanged int64  `json:"unchanged"`
	Older     int64  `json:"older"`
	// NotModified is set when the publisher answered 304: nothing new.
	NotModified bool `json:"not_modified,omitempty"`
	// Problems are documents or records skipped, with where and why.
	Problems []bulwark.Problem `json:"problems,omitempty"`
	// Error is set when the source failed; what was imported before the
	// failure stays imported.
	Error string        `json:"error,omitempty"`
	Took  time.Duration `json:"took_ns"`
}

// Result is the outcome of one sync.
type Result struct {
	Sources []SourceResult `json:"sources"`
	// Changed are the vulnerabilities whose records changed, sorted.
	Changed []string `json:"-"`
	// Matched is how many changed vulnerabilities were re-matched.
	Matched    int    `json:"matched"`
	MatchError string `json:"match_error,omitempty"`
}

// validators are a document's HTTP validators, for a conditional GET.
type validators struct {
	etag, lastModified string
}

// Syncer fetches feeds. It remembers, in memory, what it saw (ETags, the
// CSAF feeds' newest updated times, where an NVD sync must resume), so that
// the scheduled job of Run fetches only what changed. Its methods may be
// called from several goroutines; syncs run one at a time.
type Syncer struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
	nvdLim *limiter

	// For tests: the clock, sleeping and jitter.
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func() float64 // in [0, 1)

	mu        sync.Mutex // one sync at a time; guards the state below
	sinceUsed bool       // cfg.Since applied once
	nvdMark   time.Time  // end of the last complete NVD sync
	nvdResume time.Time  // start of an NVD window that failed halfway
	files     map[Source]validators
	csafMarks map[string]time.Time // ROLIE feed or directory URL → newest updated imported
}

// New returns a Syncer for cfg.
func New(cfg Config) (*Syncer, error) {
	if cfg.Import == nil {
		return nil, errors.New("feedsync: Config.Import is required")
	}
	if cfg.NVDURL == "" {
		cfg.NVDURL = DefaultNVDURL
	}
	if cfg.KEVURL == "" {
		cfg.KEVURL = DefaultKEVURL
	}
	if cfg.EPSSURL == "" {
		cfg.EPSSURL = DefaultEPSSURL
	}
	if cfg.NVDPageSize <= 0 || cfg.NVDPageSize > DefaultNVDPageSize {
		cfg.NVDPageSize = DefaultNVDPageSize
	}
	if cfg.NVDRate.N <= 0 || cfg.NVDRate.Per <= 0 {
		cfg.NVDRate = NVDPublicRate
		if cfg.NVDAPIKey != "" {
			cfg.NVDRate = NVDKeyRate
		}
	}
	if cfg.MaxAdvisories <= 0 {
		cfg.MaxAdvisories = DefaultMaxAdvisories
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Sources) == 0 {
		cfg.Sources = []Source{NVD, KEV, EPSS}
		if len(cfg.CSAFProviders) > 0 {
			cfg.Sources = append(cfg.Sources, CSAF)
		}
	}
	if slices.Contains(cfg.Sources, CSAF) && len(cfg.CSAFProviders) == 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "the csaf source needs at least one provider-metadata.json URL")
	}
	s := &Syncer{
		cfg:       cfg,
		log:       cfg.Log,
		now:       time.Now,
		sleep:     sleepCtx,
		jitter:    rand.Float64,
		files:     map[Source]validators{},
		csafMarks: map[string]time.Time{},
	}
	// Check every configured address now, so that a typo or a plain http
	// URL fails before anything is fetched.
	addrs := map[Source][]string{NVD: {cfg.NVDURL}, KEV: {cfg.KEVURL}, EPSS: {cfg.EPSSURL}, CSAF: cfg.CSAFProviders}
	for _, src := range cfg.Sources {
		for _, a := range addrs[src] {
			if _, err := s.checkURL(a); err != nil {
				return nil, err
			}
		}
	}
	s.client = s.newClient(cfg.Client)
	s.nvdLim = &limiter{rate: cfg.NVDRate, now: func() time.Time { return s.now() }, sleep: func(ctx context.Context, d time.Duration) error { return s.sleep(ctx, d) }}
	return s, nil
}

// Sync fetches every configured source once, imports what is new, and
// re-matches the vulnerabilities that changed. A source that fails does
// not stop the others: the returned error joins the failures, each named
// by its source, and Result says what each source did.
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res Result
	var errs []error
	changed := map[string]bool{}
	for _, src := range s.cfg.Sources {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		sr := SourceResult{Source: src}
		start := s.now()
		var err error
		switch src {
		case NVD:
			err = s.syncNVD(ctx, &sr, changed)
		case KEV:
			err = s.syncFile(ctx, KEV, s.cfg.KEVURL, &sr, changed)
		case EPSS:
			err = s.syncFile(ctx, EPSS, s.cfg.EPSSURL, &sr, changed)
		case CSAF:
			err = s.syncCSAF(ctx, &sr, changed)
		}
		sr.Took = s.now().Sub(start)
		if len(sr.Problems) > maxProblems {
			n := len(sr.Problems) - maxProblems
			sr.Problems = append(sr.Problems[:maxProblems:maxProblems], bulwark.Problem{Message: fmt.Sprintf("and %d more problems", n)})
		}
		if err != nil {
			sr.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", src, err))
		}
		res.Sources = append(res.Sources, sr)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return res, ctxErr
		}
	}
	for id := range changed {
		res.Changed = append(res.Changed, id)
	}
	slices.Sort(res.Changed)
	if len(res.Changed) > 0 && s.cfg.Match != nil {
		if err := s.cfg.Match(ctx, res.Changed); err != nil {
			res.MatchError = err.Error()
			errs = append(errs, fmt.Errorf("re-match %d changed vulnerabilities: %w", len(res.Changed), err))
		} else {
			res.Matched = len(res.Changed)
		}
	}
	return res, errors.Join(errs...)
}

// maxProblems bounds the problems one source reports.
const maxProblems = 100

// Run syncs at once and then every interval until ctx is done, logging a
// summary of each sync. A failed sync is logged and retried at the next
// tick. ctx must carry the principal the importer and matcher act as
// (the System principal in bulwark serve). every <= 0 syncs once.
func (s *Syncer) Run(ctx context.Context, every time.Duration) {
	for {
		start := s.now()
		res, err := s.Sync(ctx)
		if ctx.Err() != nil {
			s.log.Info("feed sync stopped", "reason", ctx.Err())
			return
		}
		s.logResult(res, err, s.now().Sub(start))
		if every <= 0 {
			return
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			s.log.Info("feed sync stopped", "reason", ctx.Err())
			return
		case <-t.C:
		}
	}
}

func (s *Syncer) logResult(res Result, err error, took time.Duration) {
	for _, sr := range res.Sources {
		attrs := []any{"source", sr.Source, "documents", sr.Documents, "records", sr.Records,
			"new", sr.New, "updated", sr.Updated, "unchanged", sr.Unchanged, "problems", len(sr.Problems)}
		if sr.NotModified {
			attrs = append(attrs, "not_modified", true)
		}
		if sr.Error != "" {
			s.log.Warn("feed sync failed", append(attrs, "error", sr.Error)...)
			continue
		}
		s.log.Info("feed synced", attrs...)
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "feed sync done", "changed", len(res.Changed), "rematched", res.Matched,
		"took", took.Round(time.Millisecond), "ok", err == nil)
}

// importDoc hands one fetched document to the importer and adds what it
// did to sr. A rejected document becomes a problem (ok false, err nil);
// err is for failures that stop the source.
func (s *Syncer) importDoc(ctx context.Context, src Source, name string, body []byte, sr *SourceResult, changed map[string]bool) (ok bool, err error) {
	im, err := s.cfg.Import(ctx, name, bytes.NewReader(body))
	if s.cfg.OnDocument != nil {
		s.cfg.OnDocument(src, name, im, err)
	}
	sr.Problems = append(sr.Problems, im.Problems...)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return false, ctxErr
		}
		switch bulwark.ErrorCode(err) {
		case bulwark.EINVALID, bulwark.ETOOLARGE, bulwark.EUNSUPPORTED:
			sr.Problems = append(sr.Problems, bulwark.Problem{File: name, Message: "rejected: " + bulwark.ErrorMessage(err)})
			return false, nil
		}
		return false, fmt.Errorf("import %s: %w", name, err)
	}
	sr.Documents++
	sr.Records += im.Records
	sr.New += im.Stats.Created
	sr.Updated += im.Stats.Updated
	sr.Unchanged += im.Stats.Unchanged
	sr.Older += im.Stats.Older
	for _, id := range im.Changed {
		changed[id] = true
	}
	return true, nil
}

// syncFile fetches a whole-file source (KEV, EPSS) with a conditional GET.
func (s *Syncer) syncFile(ctx context.Context, src Source, rawURL string, sr *SourceResult, changed map[string]bool) error {
	u, err := s.checkURL(rawURL)
	if err != nil {
		return err
	}
	h := http.Header{}
	v := s.files[src]
	if v.etag != "" {
		h.Set("If-None-Match", v.etag)
	}
	if v.lastModified != "" {
		h.Set("If-Modified-Since", v.lastModified)
	}
	resp, err := s.get(ctx, request{url: u, header: h, maxBytes: s.cfg.MaxBodyBytes})
	if err != nil {
		return err
	}
	if resp.status == http.StatusNotModified {
		sr.NotModified = true
		return nil
	}
	name := docName(u, string(src))
	ok, err := s.importDoc(ctx, src, name, resp.body, sr, changed)
	if err != nil {
		return err
	}
	// Remember the validators only once the document is in the store: a
	// rejected or failed import must be fetched again next time.
	if ok {
		s.files[src] = validators{etag: resp.header.Get("ETag"), lastModified: resp.header.Get("Last-Modified")}
	}
	return nil
}

// docName is the document name for a URL: its last path element.
func docName(u *url.URL, fallback string) string {
	p := u.Path
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if p == "" || p == "." || p == ".." {
		return fallback
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
