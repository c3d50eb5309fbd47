package incident

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"bulwark"
	"bulwark/internal/depgraph"
	"bulwark/internal/yamlerr"
)

// Baselines is what incidents need of the baselines service
// (baseline.Service): the analysis of the whole city's dependency graph,
// cached by city version so that an incident never re-analyses an
// unchanged city, and control results checked against their catalog (a
// review's follow-up may change an assessment).
type Baselines interface {
	CityAnalysis(ctx context.Context) (*depgraph.Analysis, error)
	SetResult(ctx context.Context, assessmentID string, c bulwark.ResultChange) (*bulwark.ControlResult, error)
}

// Notifier receives the events of incidents: created, severity changed,
// phase changed, target at risk. internal/notify implements it (its
// notification matrix decides who is told what); the default drops
// them. Events are reported after the change is stored; an error is
// logged, never returned to the caller. Each event carries a Key, so a
// repeated report is recognised.
type Notifier interface {
	Notify(ctx context.Context, e bulwark.NotificationEvent) error
}

type nopNotifier struct{}

func (nopNotifier) Notify(context.Context, bulwark.NotificationEvent) error { return nil }

// Service is the incident capability over a store: reporting and
// deriving impact, severity and routing; the lifecycle, tasks and
// timeline; the after-action review and its follow-ups; the target clock
// and its escalations; playbooks, RACI matrices and the directory. It is
// safe for concurrent use.
type Service struct {
	st     bulwark.Store
	graphs Baselines
	log    *slog.Logger

	mu     sync.Mutex
	walker *Walker // of the last graph analysed
	// facts are the sectors and targets of every service, read once per
	// graph (city version) with the walker.
	facts      map[string]serviceFacts
	factsGraph *depgraph.Graph
	notifier   Notifier
	now        func() time.Time
	policy     Policy
}

// New returns a Service over st; bs supplies the analysed city graph and
// checked assessment changes.
func New(st bulwark.Store, bs Baselines, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, graphs: bs, log: log, notifier: nopNotifier{}, now: time.Now, policy: DefaultPolicy()}
}

// SetNotifier sets who receives incident events (nil: nobody).
func (s *Service) SetNotifier(n Notifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == nil {
		n = nopNotifier{}
	}
	s.notifier = n
}

// SetClock replaces the clock (tests, the demo).
func (s *Service) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetPolicy replaces the routing and clock thresholds.
func (s *Service) SetPolicy(p Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
}

func (s *Service) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Service) pol() Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy
}

func (s *Service) notify(ctx context.Context, e bulwark.NotificationEvent) {
	s.mu.Lock()
	n := s.notifier
	s.mu.Unlock()
	if e.Key == "" {
		e.Key = e.DefaultKey()
	}
	// Events are reported by the server on behalf of the change, whoever
	// made it.
	if err := n.Notify(bulwark.WithPrincipal(context.WithoutCancel(ctx), bulwark.SystemPrincipal()), e); err != nil {
		s.log.Error("incident: notify", "incident", e.IncidentID, "kind", e.Kind, "error", err)
	}
}

func sysCtx(ctx context.Context) context.Context {
	return bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
}

// mayWrite refuses callers that may not change anything, before any
// expensive work (the store checks again).
func mayWrite(ctx context.Context, what string) (bulwark.Principal, error) {
	p, ok := bulwark.PrincipalFrom(ctx)
	if !ok {
		return p, bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required")
	}
	if !p.System && !p.Role.CanWrite() {
		return p, bulwark.Errorf(bulwark.EFORBIDDEN, "%s: your role (%s) is read-only", what, p.Role)
	}
	return p, nil
}

// orgs returns every organization as routing sees it.
func (s *Service) orgs(ctx context.Context) (map[string]Org, map[string]bulwark.Purview, error) {
	out := map[string]Org{}
	purview := map[string]bulwark.Purview{}
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := s.st.ListOrganizations(sysCtx(ctx), opt)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range p.Items {
			out[o.ID] = Org{ID: o.ID, Purview: o.Purview, SharesWith: o.SharesWith}
			purview[o.ID] = o.Purview
		}
		if p.Next == "" {
			return out, purview, nil
		}
		opt.After = p.Next
	}
}

// walkerFor returns the walker of g, built once per graph (per city
// version).
func (s *Service) walkerFor(g *depgraph.Graph) *Walker {
	s.mu.Lock()
	w := s.walker
	s.mu.Unlock()
	if w != nil && w.Graph() == g {
		return w
	}
	w = NewWalker(g)
	s.mu.Lock()
	s.walker = w
	s.mu.Unlock()
	return w
}

// serviceFacts is what an incident copies of a service.
type serviceFacts struct {
	sector     bulwark.Sector
	population int64
	rto, mtd   time.Duration
}

// factsFor returns the facts of every service of g's city, read once per
// graph: the graph changes with the city version, and so may they.
func (s *Service) factsFor(ctx context.Context, g *depgraph.Graph) (map[string]serviceFacts, error) {
	s.mu.Lock()
	if s.factsGraph == g && s.facts != nil {
		f := s.facts
		s.mu.Unlock()
		return f, nil
	}
	s.mu.Unlock()
	out := map[string]serviceFacts{}
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := s.st.ListServices(sysCtx(ctx), opt)
		if err != nil {
			return nil, err
		}
		for _, sv := range p.Items {
			out[sv.ID] = serviceFacts{sector: sv.Sector, population: sv.Population, rto: sv.Targets.RTO, mtd: sv.Targets.MaxTolerableDowntime}
		}
		if p.Next == "" {
			break
		}
		opt.After = p.Next
	}
	s.mu.Lock()
	s.facts, s.factsGraph = out, g
	s.mu.Unlock()
	return out, nil
}

func (s *Service) analysis(ctx context.Context) (*depgraph.Analysis, error) {
	if s.graphs == nil {
		return nil, fmt.Errorf("incident service: no baselines service")
	}
	return s.graphs.CityAnalysis(ctx)
}

// --- playbooks -------------------------------------------------------------

// Playbooks lists the playbook in force for each ID: the latest version a
// city published, else the bundled one.
func (s *Service) Playbooks(ctx context.Context) ([]bulwark.Playbook, error) {
	stored, err := s.st.ListPlaybooks(ctx)
	if err != nil {
		return nil, err
	}
	bi, err := Builtin()
	if err != nil {
		return nil, err
	}
	byID := map[string]bulwark.Playbook{}
	for _, p := range bi {
		byID[p.ID] = *p
	}
	for _, p := range stored {
		byID[p.ID] = p
	}
	out := make([]bulwark.Playbook, 0, len(byID))
	for _, p := range byID {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b bulwark.Playbook) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Playbook returns a playbook: version 0 is the one in force.
func (s *Service) Playbook(ctx context.Context, id string, version int) (*bulwark.Playbook, error) {
	p, err := s.st.FindPlaybook(ctx, id, version)
	if err == nil {
		return p, nil
	}
	if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		return nil, err
	}
	bi, berr := Builtin()
	if berr != nil {
		return nil, berr
	}
	for _, b := range bi {
		if b.ID == id && (version <= 0 || version == b.Version) {
			c := *b
			return &c, nil
		}
	}
	return nil, bulwark.Errorf(bulwark.ENOTFOUND, "playbook %q (version %d) not found", yamlerr.Clip(id), version)
}

// ValidatePlaybook parses src without storing it.
func (s *Service) ValidatePlaybook(src []byte, name string) (*bulwark.Playbook, error) {
	return ParsePlaybook(bytes.NewReader(src), name)
}

// PutPlaybook publishes a new version of a playbook (administrators of a
// city organization). A city adapts a bundled playbook by putting it
// under the same ID with a higher version.
func (s *Service) PutPlaybook(ctx context.Context, src []byte, name string) (*bulwark.Playbook, error) {
	p, err := ParsePlaybook(bytes.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	bi, err := Builtin()
	if err != nil {
		return nil, err
	}
	for _, b := range bi {
		if b.ID == p.ID && p.Version <= b.Version {
			return nil, bulwark.Errorf(bulwark.ECONFLICT, "%s: the bundled playbook %s is version %d; give version %d or more to adapt it", name, p.ID, b.Version, b.Version+1)
		}
	}
	if err := s.st.PutPlaybook(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// PlaybookRACI is the RACI matrix of a playbook.
func (s *Service) PlaybookRACI(ctx context.Context, id string, version int) (*bulwark.Playbook, bulwark.RACI, error) {
	p, err := s.Playbook(ctx, id, version)
	if err != nil {
		return nil, bulwark.RACI{}, err
	}
	return p, PlaybookRACI(p), nil
}

// resolvePlaybook picks the playbook of a new incident: the one named, or
// the one for its threat class; nil when neither is given or no playbook
// serves the threat.
func (s *Service) resolvePlaybook(ctx context.Context, id, threat string) (*bulwark.Playbook, error) {
	if id != "" {
		p, err := s.Playbook(ctx, id, 0)
		if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
			return nil, invalidField("playbook", "no playbook %q", yamlerr.Clip(id))
		}
		return p, err
	}
	if threat == "" {
		return nil, nil
	}
	list, err := s.Playbooks(ctx)
	if err != nil {
		return nil, err
	}
	return ForThreat(list, threat), nil
}

func invalidField(field, format string, args ...any) error {
	p := bulwark.Problem{Field: field, Message: fmt.Sprintf(format, args...)}
	e := bulwark.Errorf(bulwark.EINVALID, "incident: %s", p)
	e.Details = []bulwark.Problem{p}
	return e
}

// --- reporting -------------------------------------------------------------

// Create reports an incident for the caller's organization. in gives the
// title, description, threat class or playbook, observed activity, times
// and the entered entities (Affected with ID, Effect and optionally
// Since); everything else is derived: what fails, degrades or is at risk
// (from the cached city graph), the severity, the parties and the tasks.
// It returns the incident as the caller sees it.
func (s *Service) Create(ctx context.Context, in *bulwark.Incident) (*bulwark.Incident, error) {
	if _, err := mayWrite(ctx, "report an incident"); err != nil {
		return nil, err
	}
	now := s.clock().UTC()
	inc := &bulwark.Incident{ID: in.ID, Owner: in.Owner, Title: strings.TrimSpace(in.Title), Description: in.Description, PublicAction: strings.TrimSpace(in.PublicAction), Threat: in.Threat, Playbook: in.Playbook,
		Activity: in.Activity, StartedAt: in.StartedAt, DetectedAt: in.DetectedAt, Phase: bulwark.PhaseDetection, Affected: in.Affected}
	if inc.DetectedAt.IsZero() {
		inc.DetectedAt = now
	}
	if inc.Activity == "" {
		inc.Activity = bulwark.ActivityPrepare
	}
	if err := inc.ValidateNew(); err != nil {
		return nil, err
	}
	if inc.DetectedAt.After(now.Add(time.Hour)) {
		return nil, invalidField("detected_at", "%s is in the future", inc.DetectedAt.Format(time.RFC3339))
	}
	pb, err := s.resolvePlaybook(ctx, inc.Playbook, inc.Threat)
	if err != nil {
		return nil, err
	}
	if pb != nil {
		inc.Playbook, inc.PlaybookVersion = pb.ID, pb.Version
		if inc.Threat == "" {
			inc.Threat = pb.Threat
		}
	}

	// The entries must be visible to the reporter.
	ids := make([]string, len(in.Affected))
	for i, a := range in.Affected {
		ids[i] = a.ID
	}
	if len(ids) > 0 {
		kinds, err := s.st.ResolveIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		var probs []bulwark.Problem
		for i, id := range ids {
			if _, ok := kinds[id]; !ok {
				probs = append(probs, bulwark.Problem{Field: fmt.Sprintf("affected[%d].id", i), Message: fmt.Sprintf("no service, system or asset %q that you can see", yamlerr.Clip(id))})
			}
		}
		if len(probs) > 0 {
			e := bulwark.Errorf(bulwark.EINVALID, "incident: %d problem(s), first: %s", len(probs), probs[0])
			e.Details = probs
			return nil, e
		}
	}

	an, err := s.analysis(ctx)
	if err != nil {
		return nil, err
	}
	affected, facts, owners, err := s.derive(ctx, an, inc)
	if err != nil {
		return nil, err
	}
	inc.Affected = affected
	inc.Impact = facts.Impact
	inc.Activity = facts.Activity
	inc.Severity = ComputeSeverity(facts)

	orgs, purview, err := s.orgs(ctx)
	if err != nil {
		return nil, err
	}
	p, _ := bulwark.PrincipalFrom(ctx)
	if !p.System {
		inc.Owner = p.Org
	}
	if _, ok := orgs[inc.Owner]; !ok {
		return nil, invalidField("owner", "%q is not an organization", yamlerr.Clip(inc.Owner))
	}
	inc.Parties = Route(RouteInput{Reporter: inc.Owner, Affected: owners, Level: inc.Severity.Level}, orgs, s.pol())
	if pb != nil {
		inc.Tasks = Instantiate(pb, inc.Parties, owners[inc.Owner] > 0, inc.DetectedAt)
	}

	entries := []bulwark.TimelineEntry{
		{At: now, Kind: "reported", Text: reportText(inc)},
		{At: now, Kind: "severity", Text: severityText("Severity computed", inc.Severity)},
		{At: now, Kind: "routed", Text: routeText(inc.Parties), Audience: []string{bulwark.TimelineCoordinators}},
	}
	if pb != nil {
		entries = append(entries, bulwark.TimelineEntry{At: now, Kind: "playbook", Audience: []string{bulwark.TimelineCoordinators},
			Text: fmt.Sprintf("Playbook %s version %d: %d tasks for %d organizations", pb.ID, pb.Version, len(inc.Tasks), len(inc.Parties))})
	}
	if err := s.st.CreateIncident(ctx, inc, entries); err != nil {
		return nil, err
	}
	s.notify(ctx, bulwark.NotificationEvent{Kind: bulwark.NotifyIncidentCreated, IncidentID: inc.ID, OrgID: inc.Owner, Severity: int(inc.Severity.Level),
		Phase: string(inc.Phase), Purview: purview[inc.Owner], Services: serviceIDs(affected, bulwark.EffectDown, bulwark.EffectDegraded), Title: inc.Title,
		Summary: clip4k(inc.Description), PublicAction: inc.PublicAction, At: now})
	return s.st.FindIncident(ctx, inc.ID)
}

// clip4k bounds a generated text at 4,000 bytes on a character boundary
// (PostgreSQL refuses a broken character).
func clip4k(s string) string { return bulwark.Truncate(s, 4000) }

// serviceIDs lists the services among affected with one of effects.
func serviceIDs(affected []bulwark.Affected, effects ...bulwark.Effect) []string {
	var out []string
	for _, a := range affected {
		if a.Kind == "service" && slices.Contains(effects, a.Effect) {
			out = append(out, a.ID)
		}
	}
	if len(out) > 200 {
		out = out[:200]
	}
	return out
}

// derive computes the affected entities to record, the facts of
// severity and the number of affected entities of each owner. Entered
// entities, services and systems are recorded one by one; assets that
// fail or degrade because of the entries (a substation takes thousands of
// devices with it) are only counted, per owner and in the impact summary.
func (s *Service) derive(ctx context.Context, an *depgraph.Analysis, inc *bulwark.Incident) ([]bulwark.Affected, Facts, map[string]int, error) {
	g := an.Graph()
	sys := sysCtx(ctx)
	var entries []Entry
	var since time.Time
	anyDown, anyComp := false, false
	entered := map[int32]bulwark.Affected{}
	for i, a := range inc.Affected {
		x, ok := g.Lookup(a.ID)
		if !ok {
			return nil, Facts{}, nil, invalidField(fmt.Sprintf("affected[%d].id", i), "%s is not in the dependency graph (the city model changed; try again)", a.ID)
		}
		entries = append(entries, Entry{Node: x, Effect: a.Effect})
		switch a.Effect {
		case bulwark.EffectDown, bulwark.EffectDegraded:
			anyDown = true
			if !a.Since.IsZero() && (since.IsZero() || a.Since.Before(since)) {
				since = a.Since
			}
		case bulwark.EffectCompromised:
			anyComp = true
		}
		entered[x] = a
	}
	w := s.walkerFor(g)
	d := w.Derive(entries)

	var f Facts
	f.Impact.Entered = len(inc.Affected)
	f.Impact.NodesDown, f.Impact.NodesDegraded = len(d.Down), len(d.Degraded)
	owners := map[string]int{}
	state := map[int32]bulwark.Effect{}
	// Later lists win: down over degraded over at risk.
	for _, l := range []struct {
		nodes []int32
		eff   bulwark.Effect
	}{{d.AtRisk, bulwark.EffectAtRisk}, {d.Degraded, bulwark.EffectDegraded}, {d.Down, bulwark.EffectDown}} {
		for _, x := range l.nodes {
			if _, ok := entered[x]; ok || g.Kind(x) != bulwark.KindAsset {
				state[x] = l.eff
			}
		}
	}
	for _, l := range [][]int32{d.Down, d.Degraded, d.AtRisk} {
		for _, x := range l {
			if _, ok := entered[x]; !ok {
				owners[g.Owner(x)]++
			}
		}
	}
	// Entered entities keep what the reporter said unless the graph says
	// worse (a compromised SCADA that the outage of a PLC pair takes down).
	for x, a := range entered {
		owners[g.Owner(x)]++
		if _, derived := state[x]; !derived || a.Effect == bulwark.EffectCompromised && state[x] == bulwark.EffectAtRisk {
			state[x] = a.Effect
		}
	}
	if len(state) > 100_000 {
		return nil, Facts{}, nil, bulwark.Errorf(bulwark.ETOOLARGE, "the incident touches %d services and systems; at most 100,000 are recorded", len(state))
	}
	nodes := make([]int32, 0, len(state))
	for x := range state {
		nodes = append(nodes, x)
	}
	slices.Sort(nodes)

	var cat bulwark.Category
	var facts map[string]serviceFacts
	zones := map[string]bool{}
	sectors := map[bulwark.Sector]bool{}
	out := make([]bulwark.Affected, 0, len(nodes))
	for _, x := range nodes {
		a := bulwark.Affected{ID: g.ID(x), Kind: g.Kind(x).String(), Name: g.Name(x), Owner: g.Owner(x), Effect: state[x], FIPS199: an.Category(x).CIA()}
		if e, ok := entered[x]; ok {
			a.Entered, a.Since = true, e.Since
			cat = cat.Max(an.Category(x))
		} else if a.Effect == bulwark.EffectDown || a.Effect == bulwark.EffectDegraded {
			a.Since = since
		}
		switch g.Kind(x) {
		case bulwark.KindService:
			if facts == nil {
				var err error
				if facts, err = s.factsFor(ctx, g); err != nil {
					return nil, Facts{}, nil, err
				}
			}
			sf, ok := facts[a.ID]
			if !ok { // created since the graph was read: read it alone
				svc, err := s.st.FindService(sys, a.ID)
				if err != nil {
					return nil, Facts{}, nil, fmt.Errorf("read affected service %s: %w", a.ID, err)
				}
				sf = serviceFacts{sector: svc.Sector, population: svc.Population, rto: svc.Targets.RTO, mtd: svc.Targets.MaxTolerableDowntime}
			}
			a.Sector, a.Population = sf.sector, sf.population
			a.RTO, a.MTD = bulwark.Duration(sf.rto), bulwark.Duration(sf.mtd)
			critical := an.Category(x).Availability == bulwark.LevelHigh
			switch a.Effect {
			case bulwark.EffectDown:
				f.Impact.ServicesDown++
				f.Impact.PopulationDown += a.Population
				if critical {
					f.Impact.CriticalDown++
				}
				sectors[a.Sector] = true
			case bulwark.EffectDegraded:
				f.Impact.ServicesDegraded++
				f.Impact.PopulationDegraded += a.Population
				if critical {
					f.Impact.DegradedCritical++
				}
				sectors[a.Sector] = true
			case bulwark.EffectAtRisk:
				f.Impact.ServicesAtRisk++
				f.Impact.PopulationAtRisk += a.Population
				if critical {
					f.Impact.AtRiskCritical++
				}
			}
		case bulwark.KindSystem:
			if a.Entered {
				sy, err := s.st.FindSystem(sys, a.ID)
				if err != nil {
					return nil, Facts{}, nil, fmt.Errorf("read affected system %s: %w", a.ID, err)
				}
				a.Zone = sy.Zone
				if sy.Zone != "" {
					zones[sy.Zone] = true
				}
			}
		case bulwark.KindAsset:
			if a.Entered {
				// An asset's zone is that of the systems it is part of.
				n := 0
				for _, e := range g.Dependents(x) {
					y := w.from[e]
					if g.Kind(y) != bulwark.KindSystem || n >= 20 {
						continue
					}
					n++
					sy, err := s.st.FindSystem(sys, g.ID(y))
					if err != nil {
						return nil, Facts{}, nil, fmt.Errorf("read system %s: %w", g.ID(y), err)
					}
					if sy.Zone != "" {
						zones[sy.Zone] = true
						if a.Zone == "" {
							a.Zone = sy.Zone
						}
					}
				}
			}
		}
		out = append(out, a)
	}
	for z := range zones {
		f.Impact.Zones = append(f.Impact.Zones, z)
	}
	slices.Sort(f.Impact.Zones)
	for sc := range sectors {
		f.Impact.Sectors = append(f.Impact.Sectors, sc)
	}
	slices.Sort(f.Impact.Sectors)
	if len(entered) > 0 {
		f.Impact.FIPS199 = cat.CIA()
	}
	f.Category = cat
	f.DegradedCritical, f.AtRiskCritical = f.Impact.DegradedCritical, f.Impact.AtRiskCritical
	f.Activity = EffectiveActivity(inc.Activity, f.Impact, anyDown, anyComp)
	return out, f, owners, nil
}

// factsOf rebuilds the facts of severity from a stored incident.
func factsOf(inc *bulwark.Incident) Facts {
	f := Facts{Activity: inc.Activity, Impact: inc.Impact, DegradedCritical: inc.Impact.DegradedCritical, AtRiskCritical: inc.Impact.AtRiskCritical}
	f.Category, _ = bulwark.ParseCIA(inc.Impact.FIPS199)
	return f
}

func reportText(inc *bulwark.Incident) string {
	im := inc.Impact
	return fmt.Sprintf("Reported by %s: %d %s entered; %d services down (%s people), %d degraded (%s), %d at risk (%s); %d entities down in all, %d degraded; observed activity %s",
		inc.Owner, im.Entered, pluralWord(im.Entered, "entity", "entities"), im.ServicesDown, people(im.PopulationDown), im.ServicesDegraded,
		people(im.PopulationDegraded), im.ServicesAtRisk, people(im.PopulationAtRisk), im.NodesDown, im.NodesDegraded, inc.Activity)
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func severityText(what string, sv bulwark.Severity) string {
	var top []string
	for _, in := range sv.Inputs {
		if !in.Cap && in.Level == sv.Computed && in.Level > 0 {
			top = append(top, in.Name)
		}
	}
	s := fmt.Sprintf("%s: %d %s (%s)", what, sv.Level, sv.Level, sv.Level.Color())
	if len(top) > 0 {
		s += "; decided by " + strings.Join(top, ", ")
	}
	if sv.Override != nil {
		s += fmt.Sprintf("; overridden from the computed %d %s: %s", sv.Computed, sv.Computed, sv.Override.Reason)
	}
	return s
}

func routeText(ps []bulwark.IncidentParty) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s (%s: %s)", p.Org, p.Role, p.Reason))
	}
	return clip4k("Routed to " + strings.Join(parts, "; "))
}

// --- reading ---------------------------------------------------------------

// Find returns an incident as the caller sees it.
func (s *Service) Find(ctx context.Context, id string) (*bulwark.Incident, error) {
	return s.st.FindIncident(ctx, id)
}

// List lists the incidents the caller takes part in.
func (s *Service) List(ctx context.Context, f bulwark.IncidentFilter) ([]bulwark.Incident, error) {
	return s.st.ListIncidents(ctx, f)
}

// Timeline returns the timeline entries addressed to the caller.
func (s *Service) Timeline(ctx context.Context, id string) ([]bulwark.TimelineEntry, error) {
	return s.st.Timeline(ctx, id)
}

// Clock returns the target clock of the services down that the caller
// sees, at the service's clock.
func (s *Service) Clock(ctx context.Context, id string) ([]ServiceClock, error) {
	inc, err := s.st.FindIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	return Clocks(inc, s.clock(), s.pol().WarnAt), nil
}

// ClockOf computes the clock of an incident already read.
func (s *Service) ClockOf(inc *bulwark.Incident) []ServiceClock {
	return Clocks(inc, s.clock(), s.pol().WarnAt)
}

// --- changes ---------------------------------------------------------------

// SetPhase moves an incident to another phase of the lifecycle. Closing
// needs the post-incident phase and an after-action review.
func (s *Service) SetPhase(ctx context.Context, id string, to bulwark.Phase, note string) (*bulwark.Incident, error) {
	if !to.Valid() {
		return nil, bulwark.Errorf(bulwark.EINVALID, "phase %q: use detection, containment, eradication, recovery, post-incident or closed", yamlerr.Clip(string(to)))
	}
	if len(note) > bulwark.MaxTimelineText-200 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "the note is limited to %d bytes", bulwark.MaxTimelineText-200)
	}
	if _, err := mayWrite(ctx, "change an incident"); err != nil {
		return nil, err
	}
	if to == bulwark.PhaseClosed {
		cur, err := s.st.FindIncident(ctx, id)
		if err != nil {
			return nil, err
		}
		if cur.Phase == bulwark.PhasePostIncident {
			if _, err := s.st.FindReview(ctx, id); bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
				return nil, bulwark.Errorf(bulwark.ECONFLICT, "write the after-action review before closing the incident")
			} else if err != nil {
				return nil, err
			}
		}
	}
	now := s.clock().UTC()
	var from bulwark.Phase
	var owner, title, action string
	var level bulwark.SeverityLevel
	var services []string
	err := s.st.UpdateIncident(ctx, id, func(inc *bulwark.Incident) ([]bulwark.TimelineEntry, error) {
		from = inc.Phase
		if from == to {
			return nil, bulwark.Errorf(bulwark.ECONFLICT, "the incident is already in %s", to.Title())
		}
		if to == bulwark.PhaseClosed && from != bulwark.PhasePostIncident {
			return nil, bulwark.Errorf(bulwark.ECONFLICT, "an incident closes from the post-incident phase, not from %s", from.Title())
		}
		inc.Phase = to
		i := to.Index()
		if i > bulwark.PhaseContainment.Index() && inc.ContainedAt.IsZero() {
			inc.ContainedAt = now
		}
		if i > bulwark.PhaseRecovery.Index() && inc.RecoveredAt.IsZero() {
			inc.RecoveredAt = now
		}
		if to == bulwark.PhaseClosed {
			inc.ClosedAt = now
		} else {
			inc.ClosedAt = time.Time{}
		}
		owner, title, level, action = inc.Owner, inc.Title, inc.Severity.Level, inc.PublicAction
		services = serviceIDs(inc.Affected, bulwark.EffectDown, bulwark.EffectDegraded)
		text := fmt.Sprintf("Phase: %s → %s", from.Title(), to.Title())
		if note = strings.TrimSpace(note); note != "" {
			text += ". " + note
		}
		return []bulwark.TimelineEntry{{At: now, Kind: "phase", Text: text}}, nil
	})
	if err != nil {
		return nil, err
	}
	_, purview, err := s.orgs(ctx)
	if err != nil {
		return nil, err
	}
	s.notify(ctx, bulwark.NotificationEvent{Kind: bulwark.NotifyPhaseChanged, IncidentID: id, OrgID: owner, Severity: int(level), Phase: string(to),
		Purview: purview[owner], Services: services, Title: title, PublicAction: action, At: now})
	return s.st.FindIncident(ctx, id)
}

// SetPublicAction sets, changes or (with "") withdraws what citizens must
// do, as the reporting organization or a coordinator. The change is
// recorded on the timeline, and a new or changed action is reported as a
// public_action_changed event, which the public notice rules act on.
func (s *Service) SetPublicAction(ctx context.Context, id, action string) (*bulwark.Incident, error) {
	action = strings.TrimSpace(action)
	if err := bulwark.ValidatePublicAction(action); err != nil {
		return nil, err
	}
	if _, err := mayWrite(ctx, "change an incident's public action"); err != nil {
		return nil, err
	}
	now := s.clock().UTC()
	var owner, title, phase string
	var level bulwark.SeverityLevel
	var services []string
	err := s.st.UpdateIncident(ctx, id, func(inc *bulwark.Incident) ([]bulwark.TimelineEntry, error) {
		if inc.PublicAction == action {
			return nil, bulwark.Errorf(bulwark.ECONFLICT, "the incident's public action is already %q", yamlerr.Clip(action))
		}
		text := "Public action withdrawn (was: " + inc.PublicAction + ")"
		if action != "" {
			text = "Public action: " + action
		}
		inc.PublicAction = action
		owner, title, phase, level = inc.Owner, inc.Title, string(inc.Phase), inc.Severity.Level
		services = serviceIDs(inc.Affected, bulwark.EffectDown, bulwark.EffectDegraded)
		return []bulwark.TimelineEntry{{At: now, Kind: "public_action", Text: clip4k(text)}}, nil
	})
	if err != nil {
		return nil, err
	}
	if action != "" {
		_, purview, err := s.orgs(ctx)
		if err != nil {
			return nil, err
		}
		s.notify(ctx, bulwark.NotificationEvent{Kind: bulwark.NotifyPublicActionChanged, IncidentID: id, OrgID: owner, Severity: int(level),
			Phase: phase, Purview: purview[owner], Services: services, Title: title, PublicAction: action, At: now})
	}
	return s.st.FindIncident(ctx, id)
}

// SeverityChange is a change of an incident's severity: a new observed
// activity (the level is recomputed), an analyst's override with its
// reason, or the removal of the override.
type SeverityChange struct {
	Activity bulwark.Activity
	Override *bulwark.SeverityLevel
	Clear    bool
	Reason   string
}

// ChangeSeverity applies ch. A raised level routes the incident to the
// organizations the higher level reaches (with their playbook tasks);
// nobody is removed when it falls.
func (s *Service) ChangeSeverity(ctx context.Context, id string, ch SeverityChange) (*bulwark.Incident, error) {
	ch.Reason = strings.TrimSpace(ch.Reason)
	switch {
	case ch.Activity != "" && !slices.Contains(bulwark.Activities, ch.Activity):
		return nil, bulwark.Errorf(bulwark.EINVALID, "activity %q: use prepare, engage, presence or effect", yamlerr.Clip(string(ch.Activity)))
	case ch.Override != nil && !ch.Override.Valid():
		return nil, bulwark.Errorf(bulwark.EINVALID, "level %d: use 0 (baseline) to 5 (emergency)", *ch.Override)
	case ch.Override != nil && ch.Reason == "":
		return nil, bulwark.Errorf(bulwark.EINVALID, "an override needs its reason")
	case ch.Override != nil && ch.Clear:
		return nil, bulwark.Errorf(bulwark.EINVALID, "override or clear the override, not both")
	case len(ch.Reason) > 2000:
		return nil, bulwark.Errorf(bulwark.EINVALID, "the reason is limited to 2,000 bytes")
	case ch.Activity == "" && ch.Override == nil && !ch.Clear:
		return nil, bulwark.Errorf(bulwark.EINVALID, "give an observed activity, a level with its reason, or clear the override")
	}
	p, err := mayWrite(ctx, "change an incident's severity")
	if err != nil {
		return nil, err
	}
	cur, err := s.st.FindIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	var pb *bulwark.Playbook
	if cur.Playbook != "" {
		if pb, err = s.Playbook(ctx, cur.Playbook, cur.PlaybookVersion); err != nil && bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			return nil, err
		}
	}
	orgs, purview, err := s.orgs(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock().UTC()
	by := p.Name
	switch {
	case by == "":
		by = p.Org
	case p.Org != "" && !strings.Contains(by, p.Org):
		by += " (" + p.Org + ")" // a token's name says nothing of its organization
	}
	var before, after bulwark.SeverityLevel
	var owner, title, action string
	var services []string
	err = s.st.UpdateIncident(ctx, id, func(inc *bulwark.Incident) ([]bulwark.TimelineEntry, error) {
		before = inc.Severity.Level
		action = inc.PublicAction
		override := inc.Severity.Override
		if ch.Activity != "" {
			inc.Activity = ch.Activity
		}
		// The entries' effects still bound the activity from below.
		anyDown, anyComp := false, false
		for _, a := range inc.Affected {
			if a.Entered {
				anyDown = anyDown || a.Effect == bulwark.EffectDown || a.Effect == bulwark.EffectDegraded
				anyComp = anyComp || a.Effect == bulwark.EffectCompromised
			}
		}
		inc.Activity = EffectiveActivity(inc.Activity, inc.Impact, anyDown, anyComp)
		inc.Severity = ComputeSeverity(factsOf(inc))
		inc.Severity.Override = override
		switch {
		case ch.Override != nil:
			inc.Severity.Override = &bulwark.SeverityOverride{Level: *ch.Override, Reason: ch.Reason, By: by, At: now}
		case ch.Clear:
			inc.Severity.Override = nil
		}
		Apply(&inc.Severity)
		after = inc.Severity.Level
		owner, title = inc.Owner, inc.Title
		services = serviceIDs(inc.Affected, bulwark.EffectDown, bulwark.EffectDegraded)
		what := "Severity reassessed"
		switch {
		case ch.Override != nil:
			what = "Severity overridden by " + by
		case ch.Clear:
			what = "Severity override removed by " + by
		}
		text := severityText(what, inc.Severity)
		if ch.Activity != "" {
			text += "; observed activity " + string(inc.Activity)
		}
		if ch.Clear && ch.Reason != "" {
			text += ": " + ch.Reason
		}
		entries := []bulwark.TimelineEntry{{At: now, Kind: "severity", Text: clip4k(text)}}
		if after > before {
			owners := map[string]int{}
			for _, a := range inc.Affected {
				owners[a.Owner]++
			}
			for _, p := range inc.Parties {
				if p.Role == bulwark.PartyAffected && owners[p.Org] == 0 {
					owners[p.Org] = 1 // owns only assets, which are counted, not recorded
				}
			}
			routed := Route(RouteInput{Reporter: inc.Owner, Affected: owners, Level: after}, orgs, s.pol())
			var added []bulwark.IncidentParty
			for _, r := range routed {
				if !slices.ContainsFunc(inc.Parties, func(x bulwark.IncidentParty) bool { return x.Org == r.Org }) {
					added = append(added, r)
				}
			}
			if len(added) > 0 {
				inc.Parties = append(inc.Parties, added...)
				if pb != nil {
					inc.Tasks = append(inc.Tasks, ForNewParties(pb, added, inc.DetectedAt)...)
				}
				entries = append(entries, bulwark.TimelineEntry{At: now, Kind: "routed", Text: routeText(added), Audience: []string{bulwark.TimelineCoordinators}})
			}
		}
		return entries, nil
	})
	if err != nil {
		return nil, err
	}
	if after != before {
		s.notify(ctx, bulwark.NotificationEvent{Kind: bulwark.NotifySeverityChanged, IncidentID: id, OrgID: owner, Severity: int(after), PreviousSeverity: int(before),
			Phase: string(cur.Phase), Purview: purview[owner], Services: services, Title: title, PublicAction: action, At: now})
	}
	return s.st.FindIncident(ctx, id)
}

// TaskChange is a change of one task.
type TaskChange struct {
	Status bulwark.TaskStatus
	Note   string
	// Chosen is the option taken at a decision point.
	Chosen string
}

// UpdateTask changes one task (its organization, or a coordinating party).
func (s *Service) UpdateTask(ctx context.Context, id, taskID string, ch TaskChange) (*bulwark.IncidentTask, error) {
	if ch.Status != "" && !bulwark.ValidTaskStatus(ch.Status) {
		return nil, bulwark.Errorf(bulwark.EINVALID, "status %q: use open, in-progress, done or skipped", yamlerr.Clip(string(ch.Status)))
	}
	if len(ch.Note) > 2000 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "the note is limited to 2,000 bytes")
	}
	if ch.Status == "" && ch.Note == "" && ch.Chosen == "" {
		return nil, bulwark.Errorf(bulwark.EINVALID, "give a status, a note or the option chosen")
	}
	now := s.clock().UTC()
	var stored *bulwark.IncidentTask
	err := s.st.UpdateTask(ctx, id, taskID, func(t *bulwark.IncidentTask) ([]bulwark.TimelineEntry, error) {
		text := fmt.Sprintf("Task %s (%s, %s)", t.ID, yamlerr.Clip(t.Title), t.Org)
		if ch.Chosen != "" {
			if t.Decision == nil {
				return nil, bulwark.Errorf(bulwark.EINVALID, "task %s is not a decision point", t.ID)
			}
			i := slices.IndexFunc(t.Decision.Options, func(o bulwark.DecisionOption) bool { return o.ID == ch.Chosen })
			if i < 0 {
				var ids []string
				for _, o := range t.Decision.Options {
					ids = append(ids, o.ID)
				}
				return nil, bulwark.Errorf(bulwark.EINVALID, "option %q: choose one of %s", yamlerr.Clip(ch.Chosen), strings.Join(ids, ", "))
			}
			t.Chosen = ch.Chosen
			text += fmt.Sprintf(": decided %q — %s", t.Decision.Question, t.Decision.Options[i].Text)
			if ch.Status == "" {
				ch.Status = bulwark.TaskDone
			}
		}
		if ch.Status != "" {
			text += " → " + string(ch.Status)
			t.Status = ch.Status
		}
		if ch.Note != "" {
			t.Note = ch.Note
			text += ": " + ch.Note
		}
		stored = t // the store stamps it after fn
		kind := "task"
		if ch.Chosen != "" {
			kind = "decision"
		}
		return []bulwark.TimelineEntry{{At: now, Kind: kind, Text: clip4k(text), Audience: []string{bulwark.TimelineCoordinators, t.Org}}}, nil
	})
	if err != nil {
		return nil, err
	}
	out := *stored
	return &out, nil
}

// AddNote adds a note to the timeline; internal keeps it within the
// caller's organization.
func (s *Service) AddNote(ctx context.Context, id, text string, internal bool) error {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > bulwark.MaxTimelineText {
		return bulwark.Errorf(bulwark.EINVALID, "a note holds 1 to %d bytes", bulwark.MaxTimelineText)
	}
	e := bulwark.TimelineEntry{At: s.clock().UTC(), Kind: "note", Text: text}
	if p, ok := bulwark.PrincipalFrom(ctx); ok && internal && !p.System {
		e.Audience = []string{p.Org}
	}
	return s.st.AppendTimeline(ctx, id, e)
}

// --- review ----------------------------------------------------------------

// PutReview stores the after-action review (the reporter and the
// coordinators). Follow-ups without a Ref are carried out first: a task
// for the named organization (a party; the reviewer's by default), a
// risk in the reviewer's register, or a control result of an assessment
// the reviewer may change; Ref then names what each became.
func (s *Service) PutReview(ctx context.Context, id string, r *bulwark.IncidentReview) (*bulwark.IncidentReview, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	p, err := mayWrite(ctx, "write the review")
	if err != nil {
		return nil, err
	}
	inc, err := s.st.FindIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.System && !inc.Role.Coordinates() {
		return nil, bulwark.Errorf(bulwark.EFORBIDDEN, "only the reporting organization and the coordinators write the after-action review")
	}
	cur, err := s.st.FindReview(ctx, id)
	switch {
	case bulwark.ErrorCode(err) == bulwark.ENOTFOUND:
		cur = &bulwark.IncidentReview{}
	case err != nil:
		return nil, err
	}
	if r.Rev != cur.Rev {
		return nil, bulwark.Errorf(bulwark.ECONFLICT, "the review was changed by %s (now revision %d); your change was based on revision %d — reload and apply it again", cur.UpdatedBy, cur.Rev, r.Rev)
	}
	org := p.Org
	if p.System {
		org = inc.Owner
	}
	for i := range r.FollowUps {
		f := &r.FollowUps[i]
		if f.Ref != "" {
			continue
		}
		field := fmt.Sprintf("follow_ups[%d]", i)
		switch f.Kind {
		case bulwark.FollowUpTask:
			if f.Org == "" {
				f.Org = org
			}
			tasks := []bulwark.IncidentTask{{Phase: bulwark.PhasePostIncident, Title: f.Title, Org: f.Org, Source: "follow-up", Due: f.Due, Status: bulwark.TaskOpen}}
			if err := s.st.AddTasks(ctx, id, tasks); err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			f.Ref = "task:" + tasks[0].ID
		case bulwark.FollowUpRisk:
			rk := &bulwark.Risk{Owner: org, Title: f.Title, Services: f.Services, Likelihood: f.Likelihood, Impact: f.Impact, Due: f.Due,
				Scenario: clip4k(fmt.Sprintf("Follow-up of incident %s (%s).", inc.ID, inc.Title)), Status: bulwark.RiskIdentified}
			if err := s.st.CreateRisk(ctx, rk); err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			f.Ref = "risk:" + rk.ID
		case bulwark.FollowUpAssessment:
			a, err := s.st.FindAssessment(ctx, f.Assessment)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			base := 0
			for _, res := range a.Results {
				if res.Control == f.Control {
					base = res.Rev
				}
			}
			if s.graphs == nil {
				return nil, fmt.Errorf("incident service: no baselines service")
			}
			res, err := s.graphs.SetResult(ctx, a.ID, bulwark.ResultChange{Control: f.Control, BaseRev: base, Status: f.Status,
				Notes: clip4k(fmt.Sprintf("After-action review of incident %s (%s): %s", inc.ID, inc.Title, f.Title))})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			f.Ref = fmt.Sprintf("assessment:%s/%s@%d", a.ID, f.Control, res.Rev)
		}
	}
	if err := s.st.PutReview(ctx, id, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Review returns the after-action review if the caller may read it.
func (s *Service) Review(ctx context.Context, id string) (*bulwark.IncidentReview, error) {
	return s.st.FindReview(ctx, id)
}

// --- escalation ------------------------------------------------------------

// Escalate looks at the clock of every active incident (as the System
// principal) and records each stage a service down has newly reached: a
// timeline entry for the service's owner and the coordinators, and a
// target-at-risk event. Each stage escalates once, whichever server
// instance sees it first. It returns the number of escalations.
func (s *Service) Escalate(ctx context.Context) (int, error) {
	sys := sysCtx(ctx)
	list, err := s.st.ListIncidents(sys, bulwark.IncidentFilter{Active: true, WithAffected: true})
	if err != nil {
		return 0, err
	}
	var purview map[string]bulwark.Purview
	now := s.clock().UTC()
	warn := s.pol().WarnAt
	n := 0
	for i := range list {
		inc := &list[i]
		for _, c := range Clocks(inc, now, warn) {
			for _, stage := range c.Reached {
				ok, err := s.st.RecordEscalation(sys, inc.ID, c.Service, string(stage), now)
				if err != nil {
					return n, err
				}
				if !ok {
					continue
				}
				n++
				target := targetText(c, stage)
				text := fmt.Sprintf("Target at risk: %s (%s) %s; down since %s (%s)", c.Service, c.Owner, target,
					c.Since.Format("2006-01-02 15:04 MST"), c.Elapsed)
				if err := s.st.AppendTimeline(sys, inc.ID, bulwark.TimelineEntry{At: now, Kind: "escalation", Text: clip4k(text),
					Audience: []string{bulwark.TimelineCoordinators, c.Owner}}); err != nil {
					return n, err
				}
				if purview == nil {
					if _, purview, err = s.orgs(ctx); err != nil {
						return n, err
					}
				}
				s.notify(ctx, bulwark.NotificationEvent{Kind: bulwark.NotifyTargetAtRisk, IncidentID: inc.ID, OrgID: inc.Owner, Severity: int(inc.Severity.Level),
					Phase: string(inc.Phase), Purview: purview[inc.Owner], Services: []string{c.Service}, Target: target, Title: inc.Title, PublicAction: inc.PublicAction, At: now})
			}
		}
	}
	return n, nil
}

// targetText describes the target a stage concerns.
func targetText(c ServiceClock, stage Stage) string {
	switch stage {
	case StageRTOWarning:
		return fmt.Sprintf("recovery time objective %s at risk (due %s)", c.RTO, c.RTODue.Format("2006-01-02 15:04 MST"))
	case StageRTOMissed:
		return fmt.Sprintf("recovery time objective %s missed", c.RTO)
	case StageMTDWarning:
		return fmt.Sprintf("maximum tolerable downtime %s at risk (due %s)", c.MTD, c.MTDDue.Format("2006-01-02 15:04 MST"))
	case StageMTDExceeded:
		return fmt.Sprintf("maximum tolerable downtime %s exceeded", c.MTD)
	}
	return string(stage)
}

// RunEscalator escalates at start and then every interval until ctx
// ends; failures are logged and retried next time.
func (s *Service) RunEscalator(ctx context.Context, every time.Duration) {
	for {
		if n, err := s.Escalate(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("incident escalation", "error", err)
		} else if n > 0 {
			s.log.Info("incident targets at risk escalated", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// --- RACI and directory ----------------------------------------------------

// ServiceRACI is the RACI matrix of a service the caller sees; the
// organizations it may not see are counted, not named.
func (s *Service) ServiceRACI(ctx context.Context, serviceID string) (bulwark.RACI, int, error) {
	if _, err := s.st.FindService(ctx, serviceID); err != nil {
		return bulwark.RACI{}, 0, err
	}
	an, err := s.analysis(ctx)
	if err != nil {
		return bulwark.RACI{}, 0, err
	}
	x, ok := an.Graph().Lookup(serviceID)
	if !ok || an.Graph().Kind(x) != bulwark.KindService {
		return bulwark.RACI{}, 0, bulwark.Errorf(bulwark.ENOTFOUND, "service %q not found", yamlerr.Clip(serviceID))
	}
	orgs, _, err := s.orgs(ctx)
	if err != nil {
		return bulwark.RACI{}, 0, err
	}
	// The caller may name the organizations whose city model it sees and
	// those it shares its own with.
	visible := map[string]bool{}
	if p, ok := bulwark.PrincipalFrom(ctx); ok && !p.System {
		if o, err := s.st.FindOrganization(ctx, p.Org); err == nil {
			for _, x := range o.SharesWith {
				visible[x] = true
			}
		}
	}
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := s.st.ListOrganizations(ctx, opt)
		if err != nil {
			return bulwark.RACI{}, 0, err
		}
		for _, o := range p.Items {
			visible[o.ID] = true
		}
		if p.Next == "" {
			break
		}
		opt.After = p.Next
	}
	m, hidden := ServiceRACI(an.Graph(), x, orgs, s.pol(), func(o string) bool { return visible[o] })
	return m, hidden, nil
}

// PutDirectory stores an organization's directory. rev is the revision
// the change is based on; -1 takes the stored one (overwrite).
func (s *Service) PutDirectory(ctx context.Context, d *bulwark.Directory, rev int) error {
	for i, c := range d.Contacts {
		for j, sh := range c.OnCall {
			if why := CheckShift(sh); why != "" {
				return bulwark.Errorf(bulwark.EINVALID, "contacts[%d].on_call[%d]: %s", i, j, why)
			}
		}
	}
	if rev < 0 {
		cur, err := s.st.FindDirectory(ctx, d.Org)
		switch {
		case err == nil:
			rev = cur.Rev
		case bulwark.ErrorCode(err) == bulwark.ENOTFOUND:
			rev = 0
		default:
			return err
		}
	}
	d.Rev = rev
	return s.st.PutDirectory(ctx, d)
}

// Directory returns an organization's directory.
func (s *Service) Directory(ctx context.Context, org string) (*bulwark.Directory, error) {
	return s.st.FindDirectory(ctx, org)
}

// OnCallNow returns who of org is on call now for role (any role when
// none fills it), as the server sees the directory: the notification
// service may use it to reach the people behind an organization.
func (s *Service) OnCallNow(ctx context.Context, org, role string) ([]bulwark.OnCallContact, error) {
	d, err := s.st.FindDirectory(sysCtx(ctx), org)
	if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return OnCall(d, role, s.clock()), nil
}

// GraphNode is a node of an incident's affected graph.
type GraphNode struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Kind    string         `json:"kind"`
	Owner   string         `json:"owner"`
	State   bulwark.Effect `json:"state"`
	Entered bool           `json:"entered,omitempty"`
	// Category is the node's high-water FIPS 199 level (overall).
	Category string `json:"category,omitempty"`
}

// GraphEdge is "From depends on To".
type GraphEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Kind  string `json:"kind"` // hard or soft
	Group string `json:"group,omitempty"`
}

// Graph is the part of the dependency graph an incident touches, as one
// party sees it: the affected entities it may see and the dependencies
// between them.
type Graph struct {
	Incident  string      `json:"incident"`
	Nodes     []GraphNode `json:"nodes"`
	Edges     []GraphEdge `json:"edges"`
	Hidden    int         `json:"hidden,omitempty"`
	Truncated bool        `json:"truncated,omitempty"`
}

// MaxGraphNodes caps the nodes of an incident's graph.
const MaxGraphNodes = 400

// Graph returns the affected part of the graph that the caller sees.
// Entered entities come first, then services, then the rest, so that a
// truncated graph keeps what matters.
func (s *Service) Graph(ctx context.Context, id string) (*Graph, error) {
	inc, err := s.st.FindIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	an, err := s.analysis(ctx)
	if err != nil {
		return nil, err
	}
	g := an.Graph()
	out := &Graph{Incident: inc.ID, Nodes: []GraphNode{}, Edges: []GraphEdge{}, Hidden: inc.HiddenAffected}
	aff := slices.Clone(inc.Affected)
	rank := func(a bulwark.Affected) int {
		switch {
		case a.Entered:
			return 0
		case a.Kind == "service":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(aff, func(a, b bulwark.Affected) int { return cmp.Compare(rank(a), rank(b)) })
	if len(aff) > MaxGraphNodes {
		aff, out.Truncated = aff[:MaxGraphNodes], true
	}
	in := map[int32]bool{}
	for _, a := range aff {
		x, ok := g.Lookup(a.ID)
		if !ok {
			continue // removed from the city model since
		}
		in[x] = true
		out.Nodes = append(out.Nodes, GraphNode{ID: a.ID, Name: a.Name, Kind: a.Kind, Owner: a.Owner, State: a.Effect, Entered: a.Entered,
			Category: an.Category(x).Overall().String()})
	}
	for x := range in {
		lo, hi := g.EdgeRange(x)
		for e := lo; e < hi; e++ {
			y := g.EdgeTarget(e)
			if !in[y] {
				continue
			}
			ge := GraphEdge{From: g.ID(x), To: g.ID(y), Kind: "hard"}
			if g.EdgeSoft(e) {
				ge.Kind = "soft"
			}
			if gi := g.EdgeGroup(e); gi >= 0 {
				ge.Group = g.GroupID(gi)
			}
			out.Edges = append(out.Edges, ge)
		}
	}
	slices.SortFunc(out.Edges, func(a, b GraphEdge) int { return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To)) })
	return out, nil
}
