package baseline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"bulwark"
	"bulwark/internal/catalog"
	"bulwark/internal/depgraph"
	"bulwark/internal/ssvc"
)

// Service is the baselines capability over a store: catalogs,
// assessments, profiles, gaps, indicators and the readiness index. It is
// safe for concurrent use.
type Service struct {
	st     bulwark.Store
	log    *slog.Logger
	now    func() time.Time
	policy ssvc.Policy

	mu        sync.Mutex
	builtins  []*bulwark.Catalog
	installed bool                        // builtins are in the store
	catalogs  map[string]*bulwark.Catalog // parsed catalogs by ID
	graphAt   int64                       // city version of the cached analysis
	analysis  *depgraph.Analysis
}

// New returns a Service over st with the bundled catalogs, which it
// installs in the store on first use.
func New(st bulwark.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log, now: time.Now, policy: ssvc.DefaultPolicy(), catalogs: map[string]*bulwark.Catalog{},
		builtins: catalog.Builtin()}
}

// ready installs the bundled catalogs once per process (InstallBuiltins
// skips those already stored at the same version).
func (s *Service) ready(ctx context.Context) error {
	s.mu.Lock()
	done := s.installed
	s.mu.Unlock()
	if done {
		return nil
	}
	return s.InstallBuiltins(ctx, s.builtins)
}

// Catalogs lists the catalogs.
func (s *Service) Catalogs(ctx context.Context) ([]bulwark.CatalogSummary, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	return s.st.ListCatalogs(ctx)
}

// CreateAssessment starts an assessment (see bulwark.BaselineStore).
func (s *Service) CreateAssessment(ctx context.Context, a *bulwark.Assessment) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	return s.st.CreateAssessment(ctx, a)
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Catalog returns a catalog, parsed once and shared: callers must not
// change it.
func (s *Service) Catalog(ctx context.Context, id string) (*bulwark.Catalog, error) {
	s.mu.Lock()
	c := s.catalogs[id]
	s.mu.Unlock()
	if c != nil {
		// Catalogs are readable by every signed-in caller; still refuse a
		// caller without one, as the store would.
		if _, ok := bulwark.PrincipalFrom(ctx); !ok {
			return nil, bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required")
		}
		return c, nil
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	c, err := s.st.FindCatalog(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.catalogs[id] = c
	s.mu.Unlock()
	return c, nil
}

// CheckCatalog validates a catalog's structure: unique well-formed IDs,
// parents that exist and come first, known classes, and mappings that
// resolve in CSF 2.0 when known is given.
func CheckCatalog(c *bulwark.Catalog, csf *bulwark.Catalog) error {
	var probs []bulwark.Problem
	add := func(i int, field, format string, args ...any) {
		if len(probs) < 100 {
			probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("controls[%d].%s", i, field), Message: fmt.Sprintf(format, args...)})
		}
	}
	if !bulwark.ValidID(c.ID) {
		probs = append(probs, bulwark.Problem{Field: "id", Message: "use 1-128 letters, digits, '.', '_', ':' or '-'"})
	}
	if strings.TrimSpace(c.Title) == "" {
		probs = append(probs, bulwark.Problem{Field: "title", Message: "a catalog needs a title"})
	}
	var csfIDs map[string]bool
	if csf != nil {
		csfIDs = map[string]bool{}
		for _, x := range csf.Controls {
			csfIDs[x.ID] = true
		}
	}
	seen := map[string]bool{}
	assessable := 0
	for i, ctl := range c.Controls {
		switch {
		case ctl.ID == "" || len(ctl.ID) > 128:
			add(i, "id", "a control needs an ID of 1 to 128 bytes")
		case seen[ctl.ID]:
			add(i, "id", "duplicate control ID %q", ctl.ID)
		}
		if ctl.Parent != "" && !seen[ctl.Parent] {
			add(i, "parent", "parent %q is not a control listed before it", ctl.Parent)
		}
		switch ctl.Class {
		case "function", "category", "subcategory", "goal", "group", "control":
		default:
			add(i, "class", "class %q: use function, category, subcategory, goal, group or control", ctl.Class)
		}
		if len(ctl.Title) > 2000 || len(ctl.Statement) > 50_000 {
			add(i, "title", "title (2,000 bytes) or statement (50,000 bytes) too long")
		}
		for _, m := range ctl.MapsTo {
			if csfIDs != nil && !csfIDs[m] {
				add(i, "maps_to", "%q is not a CSF 2.0 subcategory", m)
			}
		}
		seen[ctl.ID] = true
		if ctl.Assessable {
			assessable++
		}
	}
	if assessable == 0 {
		probs = append(probs, bulwark.Problem{Field: "controls", Message: "no control can be assessed"})
	}
	if len(probs) > 0 {
		e := bulwark.Errorf(bulwark.EINVALID, "catalog %s: %d problem(s), first: %s", c.ID, len(probs), probs[0])
		e.Details = probs
		return e
	}
	return nil
}

// ImportCatalog validates and stores a catalog. Catalogs are the city's
// shared reference (every organization reads them, and an import replaces
// a catalog of the same ID), so only the System principal and
// administrators of a city-purview organization import them.
func (s *Service) ImportCatalog(ctx context.Context, c *bulwark.Catalog) error {
	if err := bulwark.AuthorizeCityAdmin(ctx, s.st, "import a catalog"); err != nil {
		return err
	}
	csf, _ := s.Catalog(ctx, CSFCatalog)
	if err := CheckCatalog(c, csf); err != nil {
		return err
	}
	c.Builtin = false
	if err := s.st.PutCatalog(ctx, c); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.catalogs, c.ID)
	s.mu.Unlock()
	return nil
}

// InstallBuiltins stores the given built-in catalogs that are missing or
// differ in version or title from the stored ones, as the System
// principal; after it, the service does not install its own.
func (s *Service) InstallBuiltins(ctx context.Context, builtins []*bulwark.Catalog) error {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	have, err := s.st.ListCatalogs(sys)
	if err != nil {
		return err
	}
	for _, c := range builtins {
		i := slices.IndexFunc(have, func(h bulwark.CatalogSummary) bool { return h.ID == c.ID })
		if i >= 0 && have[i].Version == c.Version && have[i].Title == c.Title {
			continue
		}
		if err := s.st.PutCatalog(sys, c); err != nil {
			return fmt.Errorf("install catalog %s: %w", c.ID, err)
		}
		s.mu.Lock()
		delete(s.catalogs, c.ID)
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.installed = true
	s.mu.Unlock()
	return nil
}

// SetResult checks that the control is an assessable control of the
// assessment's catalog, then records the change.
func (s *Service) SetResult(ctx context.Context, assessmentID string, c bulwark.ResultChange) (*bulwark.ControlResult, error) {
	a, err := s.st.FindAssessment(ctx, assessmentID)
	if err != nil {
		return nil, err
	}
	cat, err := s.Catalog(ctx, a.Catalog)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(cat.Controls, func(x bulwark.Control) bool { return x.ID == c.Control })
	if i < 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "control %q is not in catalog %s", bulwark.Truncate(c.Control, 128), cat.ID)
	}
	if !cat.Controls[i].Assessable {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s is a %s of %s; assess its subcategories or controls", c.Control, cat.Controls[i].Class, cat.ID)
	}
	if cat.Kind != "csf" && (c.CurrentTier != 0 || c.TargetTier != 0) {
		return nil, bulwark.Errorf(bulwark.EINVALID, "implementation tiers apply to CSF assessments; %s is a %s catalog", cat.ID, cat.Kind)
	}
	return s.st.SetResult(ctx, assessmentID, c)
}

// PutProfile checks a profile against its catalog and publishes it. A
// profile counts in every organization's compliance and in the city's
// index, so only the System principal and administrators of a
// city-purview organization publish them.
func (s *Service) PutProfile(ctx context.Context, p *bulwark.Profile) error {
	if err := bulwark.AuthorizeCityAdmin(ctx, s.st, "publish a baseline profile"); err != nil {
		return err
	}
	if !slices.Contains(ValidAppliesTo, p.AppliesTo) {
		return bulwark.Errorf(bulwark.EINVALID, "applies_to %q: use all, low, moderate or high", bulwark.Truncate(p.AppliesTo, 40))
	}
	if strings.TrimSpace(p.Name) == "" {
		return bulwark.Errorf(bulwark.EINVALID, "a profile needs a name")
	}
	if len(p.Requirements) == 0 {
		return bulwark.Errorf(bulwark.EINVALID, "a profile needs at least one requirement")
	}
	cat, err := s.Catalog(ctx, p.Catalog)
	if err != nil {
		return err
	}
	ctl := map[string]bulwark.Control{}
	for _, c := range cat.Controls {
		ctl[c.ID] = c
	}
	seen := map[string]bool{}
	for i, r := range p.Requirements {
		c, ok := ctl[r.Control]
		switch {
		case !ok:
			return bulwark.Errorf(bulwark.EINVALID, "requirements[%d]: control %q is not in catalog %s", i, bulwark.Truncate(r.Control, 128), cat.ID)
		case !c.Assessable:
			return bulwark.Errorf(bulwark.EINVALID, "requirements[%d]: %s is a %s, not an assessable control", i, r.Control, c.Class)
		case seen[r.Control]:
			return bulwark.Errorf(bulwark.EINVALID, "requirements[%d]: %s is required twice", i, r.Control)
		case r.MinStatus != bulwark.StatusPartial && r.MinStatus != bulwark.StatusImplemented:
			return bulwark.Errorf(bulwark.EINVALID, "requirements[%d]: min_status %q: use partial or implemented", i, bulwark.Truncate(string(r.MinStatus), 40))
		case r.MinTier < 0 || r.MinTier > bulwark.MaxTier:
			return bulwark.Errorf(bulwark.EINVALID, "requirements[%d]: min_tier %d: tiers run from 1 to 4 (0: none)", i, r.MinTier)
		}
		seen[r.Control] = true
	}
	return s.st.PutProfile(ctx, p)
}

// DeleteProfile withdraws a profile (city administrators, of the
// publishing organization).
func (s *Service) DeleteProfile(ctx context.Context, id string) error {
	if err := bulwark.AuthorizeCityAdmin(ctx, s.st, "withdraw a baseline profile"); err != nil {
		return err
	}
	return s.st.DeleteProfile(ctx, id)
}

// CityAnalysis returns the analysis of the whole city's graph, cached
// while the city model is unchanged (incidents derive their impact from
// it). Callers must not show callers what their scope does not include.
func (s *Service) CityAnalysis(ctx context.Context) (*depgraph.Analysis, error) {
	return s.cityGraph(ctx)
}

// cityGraph returns the analysis of the whole city's graph, cached while
// the city is unchanged. The indicators use it for counts and categories
// of the organizations a caller sees, never for what it may not see.
func (s *Service) cityGraph(ctx context.Context) (*depgraph.Analysis, error) {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	var version int64 = -1
	if v, ok := s.st.(interface {
		CityVersion(context.Context) (int64, error)
	}); ok {
		n, err := v.CityVersion(sys)
		if err != nil {
			return nil, err
		}
		version = n
	}
	s.mu.Lock()
	if version >= 0 && s.analysis != nil && s.graphAt == version {
		a := s.analysis
		s.mu.Unlock()
		return a, nil
	}
	s.mu.Unlock()
	gd, err := s.st.LoadGraph(sys)
	if err != nil {
		return nil, err
	}
	g, err := depgraph.Compile(gd)
	if err != nil {
		return nil, fmt.Errorf("compile graph: %w", err)
	}
	a := depgraph.Analyze(g)
	if version >= 0 {
		s.mu.Lock()
		s.analysis, s.graphAt = a, version
		s.mu.Unlock()
	}
	return a, nil
}

// Gather reads everything the indicators need, as the caller of ctx sees
// it, and the place in the graph of each assessed service or system.
func (s *Service) Gather(ctx context.Context) (*Data, map[string]Scope, error) {
	if err := s.ready(ctx); err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	d := &Data{Now: now, Catalogs: map[string]*bulwark.Catalog{}, Policy: s.policy}
	an, err := s.cityGraph(ctx)
	if err != nil {
		return nil, nil, err
	}
	g := an.Graph()

	// Organizations the caller sees, with the high-water category and the
	// worst single failure among their nodes.
	type worst struct {
		cat      bulwark.Level
		people   int64
		services int
		node     string
	}
	byOwner := map[string]*worst{}
	for x := int32(0); int(x) < g.Len(); x++ {
		w := byOwner[g.Owner(x)]
		if w == nil {
			w = &worst{}
			byOwner[g.Owner(x)] = w
		}
		w.cat = max(w.cat, an.Category(x).Overall())
		if lost, people, _ := an.Impact(x); people > w.people || (people == w.people && lost > w.services) {
			w.people, w.services, w.node = people, lost, g.ID(x)
		}
	}
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := s.st.ListOrganizations(ctx, opt)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range p.Items {
			org := Org{ID: o.ID, Name: o.Name}
			if w := byOwner[o.ID]; w != nil {
				org.Category, org.WorstPeople, org.WorstServices, org.WorstNode = w.cat, w.people, w.services, w.node
			}
			d.Orgs = append(d.Orgs, org)
		}
		if p.Next == "" {
			break
		}
		opt.After = p.Next
	}

	// Assessments, profiles and the catalogs they use.
	err = s.st.EachAssessment(ctx, bulwark.AssessmentFilter{}, time.Time{}, func(a *bulwark.Assessment) error {
		d.Assessments = append(d.Assessments, a)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if d.Profiles, err = s.st.ListProfiles(ctx); err != nil {
		return nil, nil, err
	}
	need := []string{CSFCatalog}
	for _, a := range d.Assessments {
		need = append(need, a.Catalog)
	}
	for _, p := range d.Profiles {
		need = append(need, p.Catalog)
	}
	for _, id := range need {
		if _, ok := d.Catalogs[id]; ok {
			continue
		}
		c, err := s.Catalog(ctx, id)
		if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		d.Catalogs[id] = c
	}

	// Findings and remediation.
	fv, err := s.st.FeedVersion(ctx)
	if err != nil {
		return nil, nil, err
	}
	d.FeedsLoaded = fv > 0
	if d.Findings, _, err = s.st.TallyFindings(ctx, bulwark.FindingFilter{Open: true}, now); err != nil {
		return nil, nil, err
	}
	if d.Remediations, err = s.st.RemediationTimes(ctx, now.Add(-365*24*time.Hour)); err != nil {
		return nil, nil, err
	}

	if d.Risks, err = s.st.ListRisks(ctx, bulwark.RiskFilter{}); err != nil {
		return nil, nil, err
	}
	if d.Training, err = s.trainingTallies(ctx, d.Orgs, now); err != nil {
		return nil, nil, err
	}
	if d.Incidents, err = s.st.ListIncidents(ctx, bulwark.IncidentFilter{Since: now.Add(-IncidentWindow - 90*24*time.Hour), WithAffected: true}); err != nil {
		return nil, nil, err
	}

	// Critical services: the visible FIPS 199 high services and the
	// recovery tests of the systems below them.
	if d.Critical, err = s.critical(ctx, an, now); err != nil {
		return nil, nil, err
	}
	return d, s.scopes(d, an), nil
}

// critical lists the visible high services with the systems they depend
// on, directly or through other systems, whose recovery has not been
// tested within RecoveryTestAge. The walk stops at other services (their
// recovery is theirs to test) and at assets.
func (s *Service) critical(ctx context.Context, an *depgraph.Analysis, now time.Time) ([]CriticalService, error) {
	g := an.Graph()
	type rec struct {
		tested  bool
		visible bool
	}
	systems := map[string]rec{}
	all := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	visible := map[string]bool{}
	for _, c := range []context.Context{ctx, all} {
		opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
		for {
			p, err := s.st.ListSystems(c, opt)
			if err != nil {
				return nil, err
			}
			for _, sy := range p.Items {
				if c == ctx {
					visible[sy.ID] = true
					continue
				}
				t, err := time.Parse(time.DateOnly, sy.Recovery.LastTested)
				systems[sy.ID] = rec{tested: sy.Recovery.Tested && err == nil && now.Sub(t) <= RecoveryTestAge, visible: visible[sy.ID]}
			}
			if p.Next == "" {
				break
			}
			opt.After = p.Next
		}
	}
	var out []CriticalService
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := s.st.ListServices(ctx, opt)
		if err != nil {
			return nil, err
		}
		for _, sv := range p.Items {
			x, ok := g.Lookup(sv.ID)
			if !ok || an.Category(x).Overall() < bulwark.LevelHigh {
				continue
			}
			cs := CriticalService{ID: sv.ID, Name: sv.Name, Owner: sv.Owner}
			seen := map[int32]bool{x: true}
			stack := []int32{x}
			others := 0
			for len(stack) > 0 {
				y := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, z := range g.DependsOn(y) {
					// Other services are counted on their own; assets carry
					// no recovery plan.
					if seen[z] || g.Kind(z) != bulwark.KindSystem {
						continue
					}
					seen[z] = true
					stack = append(stack, z)
					cs.Systems++
					if r := systems[g.ID(z)]; !r.tested {
						if r.visible {
							cs.Untested = append(cs.Untested, g.ID(z))
						} else {
							others++
						}
					}
				}
			}
			slices.Sort(cs.Untested)
			if others > 0 {
				cs.Untested = append(cs.Untested, fmt.Sprintf("%d system(s) of other organizations", others))
			}
			out = append(out, cs)
		}
		if p.Next == "" {
			break
		}
		opt.After = p.Next
	}
	return out, nil
}

// scopes describes each assessed service or system: its category, its
// worst failure and the open findings on the assets below it.
func (s *Service) scopes(d *Data, an *depgraph.Analysis) map[string]Scope {
	g := an.Graph()
	out := map[string]Scope{}
	var act, kev map[string]int64
	for _, a := range d.Assessments {
		if a.ScopeKind == bulwark.ScopeOrganization {
			continue
		}
		if _, done := out[a.Scope]; done {
			continue
		}
		x, ok := g.Lookup(a.Scope)
		if !ok {
			continue
		}
		if act == nil {
			act, kev = map[string]int64{}, map[string]int64{}
			for _, t := range d.Findings {
				if t.Decision == bulwark.SSVCAct {
					act[t.AssetID] += t.Count
				}
				if t.KEV {
					kev[t.AssetID] += t.Count
				}
			}
		}
		lost, people, _ := an.Impact(x)
		sc := Scope{Category: an.Category(x).Overall(), People: people, Services: lost}
		seen := map[int32]bool{x: true}
		stack := []int32{x}
		for len(stack) > 0 {
			y := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			sc.Act += act[g.ID(y)]
			sc.KEV += kev[g.ID(y)]
			for _, z := range g.DependsOn(y) {
				if !seen[z] {
					seen[z] = true
					stack = append(stack, z)
				}
			}
		}
		out[a.Scope] = sc
	}
	return out
}

// Gaps ranks the gaps the caller may see.
func (s *Service) Gaps(ctx context.Context, f GapFilter) ([]Gap, error) {
	d, scopes, err := s.Gather(ctx)
	if err != nil {
		return nil, err
	}
	return Gaps(d, scopes, f), nil
}

// Compliance computes one profile's matrix over the organizations the
// caller sees.
func (s *Service) Compliance(ctx context.Context, profileID string) (*ProfileResult, error) {
	if _, err := s.st.FindProfile(ctx, profileID); err != nil {
		return nil, err
	}
	d, _, err := s.Gather(ctx)
	if err != nil {
		return nil, err
	}
	res := Compliance(d, &profileID)
	if len(res) == 0 {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "profile %q not found", bulwark.Truncate(profileID, 128))
	}
	return &res[0], nil
}

// Readiness computes the indicators and index now, over what the caller
// sees, without recording them.
func (s *Service) Readiness(ctx context.Context) (city bulwark.IndexSnapshot, orgs []bulwark.IndexSnapshot, err error) {
	d, _, err := s.Gather(ctx)
	if err != nil {
		return city, nil, err
	}
	city, orgs = Compute(d)
	return city, orgs, nil
}

// Current returns the index of org now and its recorded history (at most
// limit snapshots, oldest first), computed on the same footing so that
// the trend and the drivers compare like with like. The city's index
// (org "") is computed over the whole city, as its history is: it is an
// aggregate every signed-in caller may read. An organization's is
// computed over its own data, which whoever may see the organization sees
// whole.
func (s *Service) Current(ctx context.Context, org string, limit int) (bulwark.IndexSnapshot, []bulwark.IndexSnapshot, error) {
	hist, err := s.st.IndexHistory(ctx, org, limit) // also: is org visible?
	if err != nil {
		return bulwark.IndexSnapshot{}, nil, err
	}
	if org == "" {
		ctx = bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	}
	city, orgs, err := s.Readiness(ctx)
	if err != nil {
		return bulwark.IndexSnapshot{}, nil, err
	}
	if org == "" {
		return city, hist, nil
	}
	for _, o := range orgs {
		if o.Org == org {
			return o, hist, nil
		}
	}
	return bulwark.IndexSnapshot{}, nil, bulwark.Errorf(bulwark.ENOTFOUND, "organization %q not found", bulwark.Truncate(org, 128))
}

// Record computes the index of the city and of every organization over
// the whole city and appends them to the history. The caller must be the
// System principal (a scheduled job) or a city administrator; the
// computation itself runs as the System principal.
func (s *Service) Record(ctx context.Context) (bulwark.IndexSnapshot, error) {
	if err := bulwark.AuthorizeCityAdmin(ctx, s.st, "record the readiness index"); err != nil {
		return bulwark.IndexSnapshot{}, err
	}
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	city, orgs, err := s.Readiness(sys)
	if err != nil {
		return city, err
	}
	if err := s.st.AppendIndexSnapshots(sys, append([]bulwark.IndexSnapshot{city}, orgs...)); err != nil {
		return city, err
	}
	return city, nil
}

// History returns the recorded index of org ("" for the city).
func (s *Service) History(ctx context.Context, org string, limit int) ([]bulwark.IndexSnapshot, error) {
	return s.st.IndexHistory(ctx, org, limit)
}

// RecordIfDue records the index when the newest recorded city snapshot is
// at least every old (or there is none), and says whether it did.
func (s *Service) RecordIfDue(ctx context.Context, every time.Duration) (bool, error) {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	last, err := s.st.IndexHistory(sys, "", 1)
	if err != nil {
		return false, err
	}
	if len(last) > 0 && s.now().Sub(last[0].At) < every {
		return false, nil
	}
	if _, err := s.Record(sys); err != nil {
		return false, err
	}
	return true, nil
}

// RunRecorder records the index whenever it is due (see RecordIfDue),
// checking every tenth of the interval, until ctx ends. A failed
// recording is logged and tried again at the next check.
func (s *Service) RunRecorder(ctx context.Context, every time.Duration) {
	check := max(every/10, time.Minute)
	for {
		if done, err := s.RecordIfDue(ctx, every); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("record readiness index", "error", err)
		} else if done {
			s.log.Info("recorded readiness index")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(check):
		}
	}
}
