// Package generate makes synthetic city models of any size, and the bundled
// demo city "Port Halden". A generated city has the shape of a real port
// city: agencies, private operators and state and federal partners; some
// thirty critical services across a dozen sectors; the IT and OT systems
// behind them with shared infrastructure (core network, directory, power
// feeders) that creates common-mode single points of failure; and assets
// that carry the real CPE names of products cities deploy, taken from an
// embedded catalog derived from the NVD. Output streams in chunks so that a
// million-asset city is generated in bounded memory, and it is
// deterministic: the same options always give the same city.
package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"bulwark"
)

// Options say what city to generate.
type Options struct {
	Assets int    // number of asset entries (a fleet entry counts once)
	Seed   int64  // same seed, same city
	Name   string // city name; "" means "Port Halden"
}

// ChunkSize is the number of assets in each emitted chunk.
const ChunkSize = 1000

// MaxAssets caps Options.Assets; bigger cities are generated as several
// cities or not at all.
const MaxAssets = 50_000_000

// DefaultName is the name of the demo city and of generated cities that
// are not given one.
const DefaultName = "Port Halden"

// Generate streams a synthetic city to emit: first one chunk with the
// organizations, services and systems, then the assets in chunks of
// ChunkSize. It stops at the first error emit returns and returns it.
// Chunks are freshly allocated: emit may keep them.
func Generate(opt Options, emit func(chunk *bulwark.City) error) error {
	if opt.Assets < 0 || opt.Assets > MaxAssets {
		return bulwark.Errorf(bulwark.EINVALID, "generate: assets must be between 0 and %d, got %d", MaxAssets, opt.Assets)
	}
	if opt.Name == "" {
		opt.Name = DefaultName
	}
	if strings.ContainsAny(opt.Name, "\x00\n\r") || len(opt.Name) > 100 {
		return bulwark.Errorf(bulwark.EINVALID, "generate: city name must be one line of at most 100 bytes")
	}
	p, err := newPlan(opt)
	if err != nil {
		return err
	}
	if err := emit(p.head()); err != nil {
		return err
	}
	return p.assets(emit)
}

var devicesOnce = sync.OnceValue(func() error {
	if _, err := Catalog(); err != nil {
		return err
	}
	return resolveDevices()
})

// plan is everything about a city but its assets, which are made on the fly.
type plan struct {
	opt Options
	rng *rand.Rand
	pop int64
	// fleetScale shrinks fleets of cities beyond 10,000 asset entries, whose
	// population grows only with the square root of their size.
	fleetScale float64
	// feeders are the power feeder systems; they come before every system
	// of a higher layer.
	feeders []string
	orgs    []bulwark.Organization
	svcs    []bulwark.Service
	syss    []*planSys
}

type planSys struct {
	t      *sysT
	sys    bulwark.System
	site   site
	feeder string // "" when no feeder comes before it
	slots  []planSlot
}

type planSlot struct {
	t     *slotT
	n     int
	dev   *device
	group string // "" when the slot forms no group
	seq0  int    // number of earlier entries of the same kind in the system
}

func newPlan(opt Options) (*plan, error) {
	if err := devicesOnce(); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	p := &plan{opt: opt, rng: rand.New(rand.NewPCG(uint64(opt.Seed), 0x9e3779b97f4a7c15))}
	n := float64(opt.Assets)
	p.pop = max(2000, int64(math.Round(180000*math.Sqrt(n/10000)/100)*100))
	p.fleetScale = min(1, math.Sqrt(10000/max(n, 1)))
	p.planOrgs()
	variants := p.planServices()
	if err := p.planSystems(variants); err != nil {
		return nil, err
	}
	p.allocate()
	return p, nil
}

var firstNames = []string{"Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kara", "Liam", "Maya", "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wes", "Yara", "Zoe"}
var lastNames = []string{"Ortiz", "Lindqvist", "Okafor", "Nguyen", "Brennan", "Haddad", "Kowalski", "Tanaka", "Moreau", "Patel", "Silva", "Fischer", "Dubois", "Reyes", "Mbeki", "Novak", "Sato", "Larsen", "Costa", "Walsh"}

func (p *plan) planOrgs() {
	phone := 100
	for _, t := range orgTemplates {
		o := bulwark.Organization{ID: t.id, Name: cityName(t.name, p.opt.Name), Purview: t.purview}
		for _, role := range t.roles {
			f, l := firstNames[p.rng.IntN(len(firstNames))], lastNames[p.rng.IntN(len(lastNames))]
			o.Contacts = append(o.Contacts, bulwark.Contact{
				Name: f + " " + l, Role: role,
				Email: strings.ToLower(f+"."+l) + "@example.org",
				Phone: fmt.Sprintf("+1 555 %04d", phone),
			})
			phone++
		}
		switch {
		case t.shares != nil:
			o.SharesWith = append([]string(nil), t.shares...)
		case t.purview == bulwark.PurviewCity || t.purview == bulwark.PurviewPrivate:
			// Agencies and partners share with the CISO so that the city
			// sees the whole picture.
			o.SharesWith = []string{"city-ciso"}
		}
		p.orgs = append(p.orgs, o)
	}
}

func cityName(pattern, name string) string {
	if strings.Contains(pattern, "%s") {
		return fmt.Sprintf(pattern, name)
	}
	return pattern
}

// planServices makes the base services and, for huge cities, one numbered
// district variant per 50,000 assets. It returns the variants of each base
// service.
func (p *plan) planServices() map[string][]string {
	for _, t := range serviceTemplates {
		p.svcs = append(p.svcs, bulwark.Service{
			ID: t.id, Name: t.name, Description: t.desc, Owner: t.owner, Sector: t.sector,
			Population: int64(math.Round(t.share * float64(p.pop))),
			Category:   t.cat,
			Targets:    bulwark.Targets{MaxTolerableDowntime: t.mtd, RTO: t.rto, RPO: t.rpo},
			DependsOn:  append([]bulwark.Dependency(nil), t.deps...),
			Groups:     append([]bulwark.Group(nil), t.groups...),
		})
	}
	var base []int
	for i, t := range serviceTemplates {
		if t.variants {
			base = append(base, i)
		}
	}
	variants := map[string][]string{}
	for v := 0; v < p.opt.Assets/50000; v++ {
		t := serviceTemplates[base[v%len(base)]]
		d := v/len(base) + 2
		id := t.id + "-district-" + strconv.Itoa(d)
		p.svcs = append(p.svcs, bulwark.Service{
			ID: id, Name: fmt.Sprintf("%s (district %d)", t.name, d), Description: t.desc, Owner: t.owner, Sector: t.sector,
			Population: int64(math.Round(t.share * float64(p.pop) / 4)),
			Category:   t.cat,
			Targets:    bulwark.Targets{MaxTolerableDowntime: t.mtd, RTO: t.rto, RPO: t.rpo},
			DependsOn:  append([]bulwark.Dependency(nil), t.deps...),
		})
		variants[t.id] = append(variants[t.id], id)
	}
	return variants
}

// systemCount is the number of systems of a city of n assets: about 150
// for 10,000 assets, growing with the square root (1,500 for a million).
func systemCount(n int) int {
	return int(math.Ceil(1.5 * math.Sqrt(float64(n))))
}

func (p *plan) planSystems(variants map[string][]string) error {
	// How many numbered instances each repeatable template gets.
	var base, reps []int
	for i, t := range systemTemplates {
		if t.repeat > 0 {
			reps = append(reps, i)
		} else {
			base = append(base, i)
		}
	}
	extra := max(0, systemCount(p.opt.Assets)-len(base))
	weights := make([]float64, len(reps))
	for i, ti := range reps {
		weights[i] = systemTemplates[ti].repeat
	}
	counts := apportion(extra, weights)
	instances := map[int]int{}
	for i, ti := range reps {
		instances[ti] = counts[i]
	}

	index := map[string]int{} // system id -> position
	svcIndex := map[string]int{}
	for i, s := range p.svcs {
		svcIndex[s.ID] = i
	}
	add := func(t *sysT, id, name, siteKey, feeder string, extraDeps []bulwark.Dependency, svcFor func(useT) string) error {
		if _, dup := index[id]; dup {
			return fmt.Errorf("generate: duplicate system %s", id)
		}
		ps := &planSys{t: t}
		ps.site = siteByKey(siteKey)
		// Assets may only depend on a feeder that comes before their system.
		if feeder == "" && len(p.feeders) > 0 && t.layer > 0 {
			feeder = p.feeders[p.rng.IntN(len(p.feeders))]
		}
		if _, ok := index[feeder]; ok {
			ps.feeder = feeder
		}
		rec := recoveryProfiles[t.rec]
		restore := jitter(p.rng, rec.restore)
		ps.sys = bulwark.System{
			ID: id, Name: name, Description: t.desc, Owner: t.owner, Zone: t.zone, InternetExposed: t.exposed,
			Recovery: bulwark.Recovery{
				RestoreTime: restore, RestoreTimeNoBackups: max(restore, jitter(p.rng, rec.noBackups)), CrewSkill: rec.skill,
			},
			Groups: append([]bulwark.Group(nil), t.groups...),
		}
		if p.rng.Float64() < 0.55 {
			ps.sys.Recovery.Tested = true
			ps.sys.Recovery.LastTested = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, p.rng.IntN(660)).Format(time.DateOnly)
		}
		for _, d := range append(append([]bulwark.Dependency(nil), t.deps...), extraDeps...) {
			if _, ok := index[d.On]; !ok {
				return fmt.Errorf("generate: system %s depends on %s, which is not defined before it", id, d.On)
			}
			ps.sys.DependsOn = append(ps.sys.DependsOn, d)
		}
		for _, sl := range t.slots {
			for _, d := range sl.deps {
				if _, ok := index[d]; !ok {
					return fmt.Errorf("generate: assets of %s depend on %s, which is not defined before it", id, d)
				}
			}
		}
		for _, u := range t.used {
			svc := svcFor(u)
			si, ok := svcIndex[svc]
			if !ok {
				return fmt.Errorf("generate: system %s is used by unknown service %s", id, svc)
			}
			p.svcs[si].DependsOn = append(p.svcs[si].DependsOn, bulwark.Dependency{On: id, Kind: u.kind, Group: u.group})
		}
		index[id] = len(p.syss)
		p.syss = append(p.syss, ps)
		if strings.HasPrefix(id, "feeder-") {
			p.feeders = append(p.feeders, id)
		}
		return nil
	}
	sameSvc := func(u useT) string { return u.svc }
	for i := range systemTemplates {
		t := &systemTemplates[i]
		if t.repeat == 0 {
			if err := add(t, t.id, t.name, t.site, t.feeder, nil, sameSvc); err != nil {
				return err
			}
			continue
		}
		var picks []string
		if t.pick != "" {
			for _, s := range p.syss {
				if strings.HasPrefix(s.sys.ID, t.pick+"-") {
					picks = append(picks, s.sys.ID)
				}
			}
		}
		for k := 1; k <= instances[i]; k++ {
			var extraDeps []bulwark.Dependency
			if len(picks) > 0 {
				extraDeps = append(extraDeps, hard(picks[p.rng.IntN(len(picks))]))
			}
			siteKey := districtSites[p.rng.IntN(len(districtSites))]
			svcFor := func(u useT) string {
				// Numbered systems serve their service and its district
				// variants in turn.
				cands := append([]string{u.svc}, variants[u.svc]...)
				return cands[(k-1)%len(cands)]
			}
			if err := add(t, fmt.Sprintf(t.id, k), fmt.Sprintf(t.name, k), siteKey, "", extraDeps, svcFor); err != nil {
				return err
			}
		}
	}
	// District variants depend on the shared systems of their base service.
	baseSvc := map[string]*bulwark.Service{}
	for i := range p.svcs {
		baseSvc[p.svcs[i].ID] = &p.svcs[i]
	}
	for _, t := range serviceTemplates {
		b := baseSvc[t.id]
		for _, vid := range variants[t.id] {
			v := baseSvc[vid]
			for _, d := range b.DependsOn {
				si, isSys := index[d.On]
				if isSys && p.syss[si].t.repeat == 0 {
					v.DependsOn = append(v.DependsOn, d)
				}
			}
			v.Groups = append([]bulwark.Group(nil), b.Groups...)
		}
	}
	// Variants got their instance systems before the shared ones; order
	// each service's dependencies by kind of target for a stable reading:
	// services first, then systems in plan order.
	for i := range p.svcs {
		deps := p.svcs[i].DependsOn
		sort.SliceStable(deps, func(a, b int) bool {
			ia, sa := index[deps[a].On]
			ib, sb := index[deps[b].On]
			if sa != sb {
				return !sa // services before systems
			}
			return sa && ia < ib
		})
	}
	return nil
}

func siteByKey(key string) site {
	for _, s := range sites {
		if s.key == key {
			return s
		}
	}
	return sites[0]
}

// jitter varies a duration by ±50%, rounded as people estimate: to 15
// minutes below 12 hours, else to hours.
func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	j := time.Duration(float64(d) * (0.5 + rng.Float64()))
	if j >= 12*time.Hour {
		return j.Round(time.Hour)
	}
	return max(15*time.Minute, j.Round(15*time.Minute))
}

// apportion splits total into integer parts proportional to weights
// (largest remainder; ties to the earlier part).
func apportion(total int, weights []float64) []int {
	out := make([]int, len(weights))
	var sum float64
	for _, w := range weights {
		sum += w
	}
	if total <= 0 || sum <= 0 {
		return out
	}
	type rem struct {
		i int
		f float64
	}
	rems := make([]rem, 0, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(total) * w / sum
		out[i] = int(exact)
		given += out[i]
		if w > 0 {
			rems = append(rems, rem{i, exact - float64(out[i])})
		}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].f > rems[b].f })
	for k := 0; given < total; k++ {
		out[rems[k%len(rems)].i]++
		given++
	}
	return out
}

// allocate decides how many asset entries each slot of each system gets:
// first every slot's minimum in plan order while the budget lasts, then the
// rest in proportion to the slots' weights. Groups are declared only for
// slots that have members, with a need no greater than their size.
func (p *plan) allocate() {
	budget := p.opt.Assets
	var weights []float64
	for _, s := range p.syss {
		s.slots = make([]planSlot, len(s.t.slots))
		for j := range s.t.slots {
			st := &s.t.slots[j]
			opts := roles[st.role]
			n := min(st.min, budget)
			budget -= n
			s.slots[j] = planSlot{t: st, n: n, dev: &opts[p.rng.IntN(len(opts))]}
			weights = append(weights, st.w)
		}
	}
	extra := apportion(budget, weights)
	k := 0
	for _, s := range p.syss {
		seen := map[string]int{}
		for j := range s.slots {
			sl := &s.slots[j]
			sl.n += extra[k]
			k++
			sl.seq0 = seen[sl.dev.kind]
			seen[sl.dev.kind] += sl.n
			if sl.t.group == "" || sl.n == 0 {
				continue
			}
			need := sl.t.needK
			if sl.t.needF > 0 {
				need = int(math.Ceil(sl.t.needF * float64(sl.n)))
			}
			need = max(1, min(need, sl.n))
			sl.group = sl.t.group
			s.sys.Groups = append(s.sys.Groups, bulwark.Group{ID: sl.group, Need: need})
		}
	}
}

// head is the first chunk: organizations, services and systems.
func (p *plan) head() *bulwark.City {
	c := &bulwark.City{Organizations: p.orgs, Services: p.svcs}
	c.Systems = make([]bulwark.System, len(p.syss))
	for i, s := range p.syss {
		c.Systems[i] = s.sys
	}
	return c
}

// assets makes the assets system by system and emits them in chunks.
func (p *plan) assets(emit func(*bulwark.City) error) error {
	buf := make([]bulwark.Asset, 0, min(ChunkSize, p.opt.Assets))
	for _, s := range p.syss {
		sysID := s.sys.ID
		for j := range s.slots {
			sl := &s.slots[j]
			d := sl.dev
			kind := d.kind
			idPrefix := sysID + "." + kind + "-"
			for i := 0; i < sl.n; i++ {
				a := bulwark.Asset{
					ID:               idPrefix + pad3(sl.seq0+i+1),
					Name:             assetName(s.sys.Name, sl.t.name, i, sl.n),
					Owner:            s.sys.Owner,
					Kind:             kind,
					Vendor:           d.vend,
					Product:          d.prod,
					Version:          d.ver,
					Count:            1,
					System:           sysID,
					SystemDependency: bulwark.Hard,
					SystemGroup:      sl.group,
				}
				if len(d.cpes) > 0 {
					a.CPEs = append([]string(nil), d.cpes...)
				}
				if len(d.purls) > 0 {
					a.PURLs = append([]string(nil), d.purls...)
				}
				spread := 0.004
				if sl.t.fleet[1] > 0 {
					c := sl.t.fleet[0] + p.rng.Int64N(sl.t.fleet[1]-sl.t.fleet[0]+1)
					a.Count = max(2, int64(math.Round(float64(c)*p.fleetScale)))
					spread = 0.04
				}
				a.Location = bulwark.Location{
					Site: s.site.name,
					Lat:  round5(s.site.lat + (p.rng.Float64()-0.5)*spread),
					Lon:  round5(s.site.lon + (p.rng.Float64()-0.5)*spread*1.4),
				}
				if sl.t.soft {
					a.SystemDependency = bulwark.Soft
				}
				if sl.t.power && s.feeder != "" {
					a.DependsOn = append(a.DependsOn, hard(s.feeder))
				}
				if sl.t.perFeed && s.t.layer > 0 {
					// Spread over the city: each entry on a feeder of its own.
					a.DependsOn = append(a.DependsOn, hard(p.feeders[p.rng.IntN(len(p.feeders))]))
				}
				for _, on := range sl.t.deps {
					a.DependsOn = append(a.DependsOn, hard(on))
				}
				buf = append(buf, a)
				if len(buf) == ChunkSize {
					if err := emit(&bulwark.City{Assets: buf}); err != nil {
						return err
					}
					buf = make([]bulwark.Asset, 0, ChunkSize)
				}
			}
		}
	}
	if len(buf) > 0 {
		return emit(&bulwark.City{Assets: buf})
	}
	return nil
}

func assetName(sys, slot string, i, n int) string {
	if n == 1 {
		return sys + ": " + slot
	}
	return sys + ": " + slot + " " + strconv.Itoa(i+1)
}

func pad3(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

func round5(f float64) float64 { return math.Round(f*1e5) / 1e5 }
