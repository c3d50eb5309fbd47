// Package vulns is Bulwark's vulnerability-intelligence service: it imports
// feeds (NVD, CVE 5, KEV, EPSS, CSAF) into the store, matches the stored
// vulnerabilities against the city's inventory, prioritizes each finding
// with SSVC from the dependency graph, reconciles the findings, explains
// matches, and writes advisories. The CLI, the API and the web pages all
// call it, so each capability behaves the same from all three.
package vulns

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"bulwark"
	"bulwark/internal/csaf"
	"bulwark/internal/depgraph"
	"bulwark/internal/feed"
	"bulwark/internal/match"
	"bulwark/internal/ssvc"
)

func init() {
	// CSAF advisories are read by internal/csaf; plug it into feed
	// detection so that `feeds import` takes them like any other feed.
	feed.Register(feed.FormatCSAF, readCSAF)
}

// readCSAF emits one record per vulnerability of an advisory.
func readCSAF(ctx context.Context, name string, r io.Reader, opts feed.Options, emit func(feed.Record) error) ([]bulwark.Problem, error) {
	adv, err := csaf.Read(name, r, csaf.Options{MaxDepth: opts.MaxDepth, FetchedAt: opts.FetchedAt})
	if err != nil {
		return nil, err
	}
	for i, v := range adv.Vulns {
		if err := ctx.Err(); err != nil {
			return adv.Warnings, err
		}
		if err := emit(feed.Record{Vuln: v, Path: fmt.Sprintf("/vulnerabilities/%d", i)}); err != nil {
			return adv.Warnings, err
		}
	}
	return adv.Warnings, nil
}

// Service runs vulnerability intelligence over a store.
type Service struct {
	st     bulwark.Store
	log    *slog.Logger
	policy ssvc.Policy
	now    func() time.Time

	// matchMu serializes matching runs: two at once would reconcile
	// findings against each other's partial views. It also guards the
	// cached index.
	matchMu sync.Mutex
	cache   *indexCache
}

// indexCache is the compiled index of every stored vulnerability at one
// feed version, kept between runs of a long-lived process (bulwark serve):
// re-reading and re-compiling NVD-scale data for every asset change would
// cost seconds.
type indexCache struct {
	version  int64
	ix       *match.Index
	vulns    map[string]*bulwark.Vulnerability // trimmed to what SSVC needs
	problems []bulwark.Problem
}

// index returns the index of the stored vulnerabilities, rebuilding it
// when the feed version moved. ctx must carry the System principal.
func (s *Service) index(ctx context.Context) (*match.Index, map[string]*bulwark.Vulnerability, []bulwark.Problem, error) {
	v, err := s.st.FeedVersion(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if c := s.cache; c != nil && c.version == v {
		return c.ix, c.vulns, c.problems, nil
	}
	b := match.NewBuilder()
	vulns := map[string]*bulwark.Vulnerability{}
	read, err := s.st.EachVulnerability(ctx, 0, func(v *bulwark.Vulnerability) error {
		b.Add(v)
		vulns[v.ID] = trim(v)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	c := &indexCache{version: read, ix: b.Build(), vulns: vulns, problems: b.Problems()}
	s.cache = c
	return c.ix, c.vulns, c.problems, nil
}

// trim keeps what SSVC and deadlines need of a vulnerability: the index
// holds the applicability, so a city-wide NVD need not stay in memory
// twice.
func trim(v *bulwark.Vulnerability) *bulwark.Vulnerability {
	t := &bulwark.Vulnerability{ID: v.ID, CVSS: v.CVSS, KEV: v.KEV, EPSS: v.EPSS, ADP: v.ADP}
	for _, r := range v.References {
		if slices.ContainsFunc(r.Tags, func(tag string) bool { return strings.EqualFold(tag, "Exploit") }) {
			t.References = append(t.References, r)
			break
		}
	}
	return t
}

// New returns a Service over st.
func New(st bulwark.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log, policy: ssvc.DefaultPolicy(), now: time.Now}
}

// Policy returns the SSVC policy in force.
func (s *Service) Policy() ssvc.Policy { return s.policy }

// DocResult is what importing one document did.
type DocResult struct {
	Name     string            `json:"name"`
	Format   string            `json:"format"`
	Records  int               `json:"records"`
	Stats    bulwark.FeedStats `json:"stats"`
	Problems []bulwark.Problem `json:"problems,omitempty"` // records skipped, with where and why
	// Error is set when the document was rejected as a whole; nothing of
	// it was stored.
	Error   string            `json:"error,omitempty"`
	Details []bulwark.Problem `json:"details,omitempty"`
	// Changed are the vulnerabilities whose records changed.
	Changed []string `json:"-"`
}

// recordKey is the store key of a record's source: CSAF advisories are
// keyed per document, since many advisories may speak of one CVE.
func recordKey(v *bulwark.Vulnerability) string {
	if len(v.Sources) == 0 {
		return ""
	}
	p := v.Sources[len(v.Sources)-1]
	if p.Source == "nvd-api" {
		// One CVE from the 1.1 files and from the API is one NVD record:
		// the newer replaces the older.
		return "nvd"
	}
	if strings.HasPrefix(p.Source, "csaf") {
		doc := strings.TrimSuffix(strings.TrimSuffix(p.Document, ".gz"), ".json")
		return "csaf:" + doc
	}
	return p.Source
}

// maxProblemsKept bounds the problems one document reports, so that a
// hostile file of a million bad records cannot make a huge answer.
const maxProblemsKept = 100

// ImportReader imports one document from r in its own transaction: a
// document that breaks halfway stores nothing, and what was stored before
// stays intact. The caller's principal must be allowed to manage feeds.
func (s *Service) ImportReader(ctx context.Context, name string, r io.Reader, opts feed.Options) (DocResult, error) {
	res := DocResult{Name: filepath.Base(name)}
	tx, err := s.st.BeginFeed(ctx)
	if err != nil {
		return res, err
	}
	batch := make([]bulwark.VulnRecord, 0, 500)
	changed := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := tx.PutRecords(ctx, batch); err != nil {
			return err
		}
		for _, r := range batch {
			changed[r.Vuln.ID] = true
		}
		batch = batch[:0]
		return nil
	}
	stats, problems, err := feed.Read(ctx, name, r, opts, func(rec feed.Record) error {
		batch = append(batch, bulwark.VulnRecord{Key: recordKey(&rec.Vuln), Vuln: rec.Vuln})
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	res.Format, res.Records = stats.Format.String(), stats.Records
	if len(problems) > maxProblemsKept {
		problems = append(problems[:maxProblemsKept], bulwark.Problem{File: res.Name,
			Message: fmt.Sprintf("and %d more problems", len(problems)-maxProblemsKept)})
	}
	res.Problems = problems
	if err != nil {
		tx.Rollback()
		res.Error = bulwark.ErrorMessage(err)
		res.Details = bulwark.ErrorDetails(err)
		if len(res.Details) > maxProblemsKept {
			res.Details = res.Details[:maxProblemsKept]
		}
		return res, err
	}
	fs, err := tx.Commit(ctx)
	res.Stats = fs
	if err != nil {
		res.Error = bulwark.ErrorMessage(err)
		return res, err
	}
	// Only records that were created or updated need re-matching; the
	// store does not say which, so list all the document named when any
	// changed (a document of unchanged records re-matches nothing).
	if fs.Created+fs.Updated > 0 {
		for id := range changed {
			res.Changed = append(res.Changed, id)
		}
	}
	return res, nil
}

// ImportPaths imports every feed document under paths (files, directories,
// .gz), each in its own transaction. A rejected document is reported in its
// DocResult and the others still import; the error is for failures that
// stop the whole batch (a path that does not exist, a canceled context).
func (s *Service) ImportPaths(ctx context.Context, paths []string, opts feed.Options, progress func(DocResult)) ([]DocResult, error) {
	var out []DocResult
	err := feed.Walk(paths, func(name string, open func() (io.ReadCloser, error)) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := open()
		if err != nil {
			res := DocResult{Name: filepath.Base(name), Error: err.Error()}
			out = append(out, res)
			if progress != nil {
				progress(res)
			}
			return nil
		}
		res, err := s.ImportReader(ctx, name, f, opts)
		f.Close()
		if err != nil {
			switch bulwark.ErrorCode(err) {
			case bulwark.EINVALID, bulwark.ETOOLARGE, bulwark.EUNSUPPORTED:
				// The document is rejected; the batch goes on.
			default:
				return err
			}
		}
		out = append(out, res)
		if progress != nil {
			progress(res)
		}
		return nil
	})
	return out, err
}

// ImportFS imports every file of fsys (the embedded demo snapshot, for
// example) like ImportPaths.
func (s *Service) ImportFS(ctx context.Context, fsys fs.FS, opts feed.Options) ([]DocResult, error) {
	var out []DocResult
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".md") {
			return err
		}
		f, err := fsys.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		res, err := s.ImportReader(ctx, path, f, opts)
		if err != nil && bulwark.ErrorCode(err) != bulwark.EINVALID && bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
			return err
		}
		out = append(out, res)
		return nil
	})
	return out, err
}

// MatchOptions select a matching run.
type MatchOptions struct {
	// Vulns, when set, re-evaluates only these vulnerabilities (after a
	// feed update); Assets only these assets (after they changed);
	// otherwise everything is matched.
	Vulns  []string
	Assets []string
	// Progress, when set, is told each phase as it starts.
	Progress func(phase string)
}

// MatchResult reports a matching run.
type MatchResult struct {
	Vulnerabilities int               `json:"vulnerabilities"`
	Assets          int               `json:"assets"`
	DistinctCPEs    int               `json:"distinct_cpes"`
	Matches         int               `json:"matches"`
	Sync            bulwark.SyncStats `json:"sync"`
	Problems        []bulwark.Problem `json:"problems,omitempty"`
	Took            time.Duration     `json:"took_ns"`
}

// Match matches the stored vulnerabilities against every asset, decides
// SSVC for each finding and reconciles the stored findings. It runs as the
// System principal: matching needs every organization's assets, and the
// findings it writes are each scoped to their asset's owner.
func (s *Service) Match(ctx context.Context, opt MatchOptions) (MatchResult, error) {
	if err := bulwark.AuthorizeCityAdmin(ctx, s.st, "run matching"); err != nil {
		return MatchResult{}, err
	}
	s.matchMu.Lock()
	defer s.matchMu.Unlock()
	start := s.now()
	ctx = bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	var res MatchResult
	phase := func(p string) {
		if opt.Progress != nil {
			opt.Progress(p)
		}
	}

	phase("loading vulnerabilities")
	ix, vulns, problems, err := s.index(ctx)
	if err != nil {
		return res, err
	}
	res.Vulnerabilities = len(vulns)
	res.Problems = append(res.Problems, problems...)
	if len(opt.Vulns) > 0 {
		n := 0
		for _, id := range opt.Vulns {
			if vulns[id] != nil {
				n++
			}
		}
		res.Vulnerabilities = n
	}

	phase("loading assets")
	assets, err := s.allAssets(ctx)
	if err != nil {
		return res, err
	}
	sboms := map[string]*bulwark.SBOM{}
	if err := s.st.EachSBOM(ctx, func(b *bulwark.SBOM) error { sboms[b.AssetID] = b; return nil }); err != nil {
		return res, err
	}
	for i := range assets {
		if b := sboms[assets[i].ID]; b != nil {
			assets[i] = withSBOM(assets[i], b)
		}
	}
	inv, problems := match.NewInventory(assets)
	res.Problems = append(res.Problems, problems...)
	res.Assets, res.DistinctCPEs = inv.Len(), inv.DistinctCPEs()

	phase("analysing the dependency graph")
	gd, err := s.st.LoadGraph(ctx)
	if err != nil {
		return res, err
	}
	g, err := depgraph.Compile(gd)
	if err != nil {
		return res, fmt.Errorf("compile graph: %w", err)
	}
	an := depgraph.Analyze(g)

	phase("matching")
	owners := make(map[string]string, len(assets))
	for i := range assets {
		owners[assets[i].ID] = assets[i].Owner
	}
	type ssvcKey struct {
		vuln    string
		mission ssvc.Mission
	}
	decided := map[ssvcKey]struct {
		in bulwark.SSVCInputs
		d  bulwark.SSVCDecision
	}{}
	var findings []bulwark.Finding
	var matchErr error
	missions := make([]ssvc.Mission, inv.Len())
	known := make([]bool, inv.Len())
	emit := func(m match.Match) {
		v := vulns[m.VulnID]
		if v == nil || matchErr != nil {
			return
		}
		if b := sboms[m.AssetID]; b != nil && slices.Contains(b.NotAffected, m.VulnID) {
			return // the asset's own VEX says it is not affected
		}
		if !known[m.Asset] {
			missions[m.Asset], known[m.Asset] = missionOf(an, g, m.AssetID), true
		}
		mission := missions[m.Asset]
		k := ssvcKey{m.VulnID, mission}
		dec, ok := decided[k]
		if !ok {
			dec.in = ssvc.Inputs(v, mission, s.policy)
			dec.d, matchErr = ssvc.Decide(dec.in)
			// The explanation is not stored with every finding (millions
			// of copies of the same sentences); Finding recomputes it.
			dec.in.Why = nil
			decided[k] = dec
		}
		findings = append(findings, bulwark.Finding{AssetID: m.AssetID, VulnID: m.VulnID, Owner: owners[m.AssetID],
			Confidence: m.Confidence, Evidence: m.Evidence, Decision: dec.d, Inputs: dec.in, KEV: v.KEV != nil})
	}
	switch {
	case len(opt.Vulns) > 0:
		ix.MatchVulns(inv, opt.Vulns, emit)
	case len(opt.Assets) > 0:
		var idx []int32
		want := map[string]bool{}
		for _, id := range opt.Assets {
			want[id] = true
		}
		for i := range assets {
			if want[assets[i].ID] {
				idx = append(idx, int32(i))
			}
		}
		ix.MatchAssets(inv, idx, emit)
	default:
		ix.MatchAll(inv, emit)
	}
	if matchErr != nil {
		return res, matchErr
	}
	res.Matches = len(findings)

	phase(fmt.Sprintf("saving %d findings", len(findings)))
	sync := bulwark.FindingSync{Full: len(opt.Vulns) == 0 && len(opt.Assets) == 0, Vulns: opt.Vulns, Assets: opt.Assets,
		Matches: findings, At: s.now(),
		Due: func(f *bulwark.Finding, firstSeen time.Time) time.Time {
			return ssvc.Due(vulns[f.VulnID], f.Decision, firstSeen, s.policy)
		}}
	res.Sync, err = s.st.SyncFindings(ctx, sync)
	res.Took = s.now().Sub(start)
	return res, err
}

// AfterCityChange re-matches after an import changed the city, when any
// vulnerability is stored: the caller has already been allowed to change
// the city, and matching only reconciles findings with what is now
// stored. When only assets changed (and not too many) only they are
// matched; a changed service, system or organization can change every
// asset's SSVC mission input, so then everything is. It reports whether
// it ran.
func (s *Service) AfterCityChange(ctx context.Context, st bulwark.ImportStats) (MatchResult, bool, error) {
	if st.Created+st.Updated == 0 {
		return MatchResult{}, false, nil
	}
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	v, err := s.st.FeedVersion(sys)
	if err != nil || v == 0 {
		return MatchResult{}, false, err
	}
	opt := MatchOptions{}
	if st.OthersChanged == 0 && !st.AssetsTruncated && len(st.ChangedAssets) > 0 {
		opt.Assets = st.ChangedAssets
	}
	m, err := s.Match(sys, opt)
	return m, err == nil, err
}

// missionOf is the asset's place in the city for SSVC.
func missionOf(an *depgraph.Analysis, g *depgraph.Graph, assetID string) ssvc.Mission {
	x, ok := g.Lookup(assetID)
	if !ok {
		return ssvc.Mission{}
	}
	lost, pop, degraded := an.Impact(x)
	return ssvc.Mission{Category: an.Category(x), ServicesLost: lost, PopulationLost: pop, ServicesDegraded: degraded}
}

// allAssets reads every asset, a page at a time.
func (s *Service) allAssets(ctx context.Context) ([]bulwark.Asset, error) {
	var out []bulwark.Asset
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := s.st.ListAssets(ctx, opt)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		opt.After = p.Next
	}
}

// Finding returns one finding as the caller sees it, with the evidence
// for each SSVC decision point recomputed from the vulnerability and the
// asset's place in the graph as they are now.
func (s *Service) Finding(ctx context.Context, assetID, vulnID string) (*bulwark.Finding, error) {
	f, err := s.st.FindFinding(ctx, assetID, vulnID)
	if err != nil || len(f.Inputs.Why) > 0 {
		return f, err // an explanation stored with the finding stands
	}
	v, err := s.st.FindVulnerability(ctx, vulnID)
	if err != nil {
		return f, nil // the record is gone; the stored decision stands
	}
	an, g, err := s.cityAnalysis(ctx)
	if err != nil {
		return nil, err
	}
	f.Inputs.Why = ssvc.Inputs(v, missionOf(an, g, assetID), s.policy).Why
	return f, nil
}

// cityAnalysis analyses the whole city's graph, as the matcher does when it
// judges SSVC's mission input: the evidence it gives callers is counts
// (services lost, people served), never what they may not see.
func (s *Service) cityAnalysis(ctx context.Context) (*depgraph.Analysis, *depgraph.Graph, error) {
	gd, err := s.st.LoadGraph(bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal()))
	if err != nil {
		return nil, nil, err
	}
	g, err := depgraph.Compile(gd)
	if err != nil {
		return nil, nil, fmt.Errorf("compile graph: %w", err)
	}
	return depgraph.Analyze(g), g, nil
}

// Explain says whether and why asset matches vulnerability vulnID, as the
// caller sees them (an asset the caller may not see is not found).
func (s *Service) Explain(ctx context.Context, assetID, vulnID string) (*match.Explanation, error) {
	a, err := s.st.FindAsset(ctx, assetID)
	if err != nil {
		return nil, err
	}
	v, err := s.st.FindVulnerability(ctx, vulnID)
	if err != nil {
		return nil, err
	}
	asset := *a
	sb, err := s.st.FindSBOM(ctx, assetID)
	switch {
	case err == nil:
		asset = withSBOM(asset, sb)
	case bulwark.ErrorCode(err) != bulwark.ENOTFOUND:
		return nil, err
	}
	b := match.NewBuilder()
	b.Add(v)
	x := b.Build().Explain(asset, v.ID)
	if sb != nil && slices.Contains(sb.NotAffected, v.ID) {
		x.Matched = false
		x.Why = "the asset's SBOM (" + sb.Document + ") carries a VEX statement that " + v.ID + " does not affect it"
	}
	return &x, nil
}
