package match

import (
	"runtime"
	"sync"
	"sync/atomic"

	"bulwark"
	"bulwark/internal/cpe"
)

// critOutcome is the outcome of one criterion against one asset CPE.
type critOutcome struct {
	res    tri
	reason string // why, for evidence and Explain; "" for a plain false
}

// evalCrit evaluates criterion c against asset CPE e:
//
//   - every attribute but the version must match as NISTIR 7696 says (the
//     criterion a superset of or equal to the asset's value); when the
//     only attributes that do not are ones the asset leaves ANY beyond
//     part, vendor and product (windows_7 with update ANY against a
//     criterion for update sp1), the result is unknown: the asset does not
//     say, and a guess either way would be wrong half the time;
//   - a criterion version of ANY without range fields fits every version;
//   - range fields: the asset version must lie in the range; an asset
//     version that is ANY, NA, or that no version scheme orders is not
//     comparable and gives unknown;
//   - any other criterion version is matched by the specification too,
//     except that an asset version of ANY gives unknown, not false.
func (ix *Index) evalCrit(c int32, e *invCPE, explain bool) critOutcome {
	cr := ix.crits[c]
	n := &ix.names[cr.name]
	if !cpe.MatchesExcept(*n, e.name, cpe.Version) {
		a, ok := anyOnly(n, &e.name)
		if !ok {
			if explain {
				return critOutcome{triFalse, "another product or platform"}
			}
			return critOutcome{}
		}
		o := ix.evalVersion(cr, n, e, explain)
		if o.res == triTrue {
			o = critOutcome{triUnknown, "could not be compared: the asset's " + a.String() + " is ANY, the criterion names " + n[a] + "; " + o.reason}
		}
		return o
	}
	return ix.evalVersion(cr, n, e, explain)
}

// evalVersion is evalCrit's version check, the other attributes matched.
func (ix *Index) evalVersion(cr criterion, n *cpe.Name, e *invCPE, explain bool) critOutcome {
	cv := n[cpe.Version]
	av := e.name[cpe.Version]
	if cv != "*" {
		r := cpe.CompareAttr(cv, av)
		if r != cpe.Equal && r != cpe.Superset {
			if av == "*" {
				return critOutcome{triUnknown, "version could not be compared: asset version is ANY"}
			}
			if explain {
				return critOutcome{triFalse, "asset version " + av + " is not " + cv}
			}
			return critOutcome{}
		}
		if cr.rng < 0 {
			return critOutcome{triTrue, "version " + av + " fits " + cv}
		}
	}
	if cr.rng < 0 {
		return critOutcome{triTrue, "all versions"}
	}
	re := &ix.ranges[cr.rng]
	if !e.verOK {
		return critOutcome{triUnknown, "version could not be compared: asset version " + av}
	}
	if !re.ok {
		return critOutcome{triUnknown, "version could not be compared: range does not parse"}
	}
	in, ok := re.r.Contains(e.ver)
	switch {
	case !ok:
		return critOutcome{triUnknown, "version could not be compared: " + e.version + " against " + re.text}
	case in:
		return critOutcome{triTrue, "asset version " + e.version + " in " + re.text}
	case explain:
		return critOutcome{triFalse, "asset version " + e.version + " outside " + re.text}
	}
	return critOutcome{}
}

// hit is a criterion that is not false for some asset CPE.
type hit struct {
	crit int32
	res  tri
}

// cpeHits evaluates every indexed criterion against one asset CPE and
// returns those that hold or are unknown.
func (ix *Index) cpeHits(e *invCPE, dst []hit) []hit {
	var lists [3][]int32
	lists[2] = ix.wild
	if k := ix.byKey[e.key]; k != nil {
		if e.name[cpe.Version] == cpe.Any {
			// Every single-version criterion of the product is unknown
			// for an asset that does not say its version.
			lists[0] = k.all
		} else {
			lists[0], lists[1] = k.ranged, ix.singles(k, e.name[cpe.Version])
		}
	}
	for _, list := range lists {
		for _, c := range list {
			if o := ix.evalCrit(c, e, false); o.res != triFalse {
				dst = append(dst, hit{c, o.res})
			}
		}
	}
	return dst
}

// worker holds one goroutine's scratch space: per-criterion results and
// per-vulnerability marks, reset by bumping a generation number instead of
// clearing.
type worker struct {
	ix      *Index
	inv     *Inventory
	gen     uint32
	critGen []uint32
	critRes []tri
	critCPE []int32 // the asset CPE that gave the result, for evidence
	vulnGen []uint32
	cands   []int32
}

func (ix *Index) newWorker(inv *Inventory) *worker {
	return &worker{
		ix: ix, inv: inv,
		critGen: make([]uint32, len(ix.crits)),
		critRes: make([]tri, len(ix.crits)),
		critCPE: make([]int32, len(ix.crits)),
		vulnGen: make([]uint32, len(ix.vulns)),
	}
}

func (w *worker) reset() {
	w.gen++
	if w.gen == 0 { // wrapped: clear once every 4 billion profiles
		clear(w.critGen)
		clear(w.vulnGen)
		w.gen = 1
	}
	w.cands = w.cands[:0]
}

func (w *worker) res(c int32) tri {
	if w.critGen[c] != w.gen {
		return triFalse
	}
	return w.critRes[c]
}

func (w *worker) candidate(v int32) {
	if w.vulnGen[v] != w.gen {
		w.vulnGen[v] = w.gen
		w.cands = append(w.cands, v)
	}
}

// vulnMatch is a vulnerability matched by a profile.
type vulnMatch struct {
	vuln     int32
	conf     bulwark.Confidence
	evidence string
}

// matchProfile evaluates profile pi: criteria from the per-CPE hit lists,
// candidates from the criteria's users and the product indexes. When only
// is not nil, only vulnerabilities it marks are evaluated.
func (w *worker) matchProfile(pi int32, hits [][]hit, only []bool, out []vulnMatch) []vulnMatch {
	ix, inv := w.ix, w.inv
	pr := &inv.profiles[pi]
	w.reset()
	for _, c := range pr.cpes {
		for _, h := range hits[c] {
			// The best result; among equals the CPE that sorts first, so
			// that evidence does not depend on the inventory's order.
			if w.critGen[h.crit] != w.gen || h.res > w.critRes[h.crit] ||
				h.res == w.critRes[h.crit] && inv.cpes[c].text < inv.cpes[w.critCPE[h.crit]].text {
				w.critGen[h.crit] = w.gen
				w.critRes[h.crit] = h.res
				w.critCPE[h.crit] = c
			}
		}
	}
	for _, c := range pr.cpes {
		for _, h := range hits[c] {
			for _, v := range ix.users(h.crit) {
				if only == nil || only[v] {
					w.candidate(v)
				}
			}
		}
	}
	nConfig := len(w.cands)
	addProducts := func(list []int32) {
		for _, p := range list {
			if v := ix.products[p].vuln; only == nil || only[v] {
				w.candidate(v)
			}
		}
	}
	for _, c := range pr.cpes {
		addProducts(ix.prodByCPE[inv.cpes[c].key])
	}
	for _, u := range pr.purls {
		addProducts(ix.prodByPURL[inv.purls[u].key])
	}
	for i := range pr.names {
		addProducts(ix.prodByVendor[pr.names[i].vendor])
	}
	for i, v := range w.cands {
		var m vulnMatch
		if i < nConfig {
			m = w.matchConfigs(v)
		}
		if ix.vulns[v].prodStart < ix.vulns[v].prodEnd && m.conf != bulwark.ConfidenceExact {
			if r, conf, ev := ix.evalProducts(inv, v, pr, nil); r != triFalse && rank(conf) > rank(m.conf) {
				m = vulnMatch{v, conf, ev}
			}
		}
		if m.conf != "" {
			m.vuln = v
			out = append(out, m)
		}
	}
	return out
}

// matchConfigs evaluates vulnerability v's configurations against the
// current profile's criterion results.
func (w *worker) matchConfigs(v int32) vulnMatch {
	ix := w.ix
	e := &ix.vulns[v]
	best := triFalse
	var crit int32
	for r := e.rootStart; r < e.rootEnd && best != triTrue; r++ {
		t := w.evalNode(r)
		if t <= best {
			continue
		}
		// A root that holds only through negation names no vulnerable
		// component of the asset: there is nothing to report from it.
		if c, ok := w.evidence(r, t); ok {
			best, crit = t, c
		}
	}
	if best == triFalse {
		return vulnMatch{}
	}
	c := crit
	conf := bulwark.ConfidenceExact
	if best == triUnknown {
		conf = bulwark.ConfidenceUnknown
	}
	a := &w.inv.cpes[w.critCPE[c]]
	o := ix.evalCrit(c, a, true)
	// One allocation: critText's pieces joined with the rest.
	cr := ix.crits[c]
	suffix := ""
	if cr.rng >= 0 {
		suffix = ix.ranges[cr.rng].suffix
	}
	return vulnMatch{v, conf, ix.nameText[cr.name] + suffix + " matched " + a.text + ": " + o.reason}
}

func (w *worker) evalNode(n int32) tri {
	ix := w.ix
	nd := &ix.nodes[n]
	var t tri
	if nd.and {
		t = triTrue
		for i := nd.critStart; i < nd.critEnd && t != triFalse; i++ {
			t = min(t, w.res(ix.refs[i].crit))
		}
		for ch := nd.childStart; ch < nd.childEnd && t != triFalse; ch++ {
			t = min(t, w.evalNode(ch))
		}
	} else {
		t = triFalse
		for i := nd.critStart; i < nd.critEnd && t != triTrue; i++ {
			t = max(t, w.res(ix.refs[i].crit))
		}
		for ch := nd.childStart; ch < nd.childEnd && t != triTrue; ch++ {
			t = max(t, w.evalNode(ch))
		}
	}
	if nd.negate {
		t = triNot(t)
	}
	return t
}

// evidence finds the first vulnerable criterion under node n, outside
// negated subtrees, whose result is at least want.
func (w *worker) evidence(n int32, want tri) (int32, bool) {
	ix := w.ix
	nd := &ix.nodes[n]
	if nd.negate {
		return 0, false
	}
	for i := nd.critStart; i < nd.critEnd; i++ {
		if r := ix.refs[i]; r.vulnerable && w.res(r.crit) >= want {
			return r.crit, true
		}
	}
	for ch := nd.childStart; ch < nd.childEnd; ch++ {
		if c, ok := w.evidence(ch, want); ok {
			return c, true
		}
	}
	return 0, false
}

// computeHits evaluates the index against the given distinct asset CPEs
// (all when cpes is nil), in parallel.
func (ix *Index) computeHits(inv *Inventory, cpes []int32) [][]hit {
	hits := make([][]hit, len(inv.cpes))
	n := len(inv.cpes)
	if cpes != nil {
		n = len(cpes)
	}
	parallel(n, 256, func(lo, hi int) {
		var buf []hit
		for i := lo; i < hi; i++ {
			c := int32(i)
			if cpes != nil {
				c = cpes[i]
			}
			buf = ix.cpeHits(&inv.cpes[c], buf[:0])
			if len(buf) > 0 {
				hits[c] = append([]hit(nil), buf...)
			}
		}
	})
	return hits
}

// parallel runs fn over [0,n) in chunks on GOMAXPROCS goroutines.
func parallel(n, chunk int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n <= chunk || workers == 1 {
		fn(0, n)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				fn(lo, min(lo+chunk, n))
			}
		})
	}
	wg.Wait()
}

// profileMatches is the result of one chunk of profiles.
type profileMatches struct {
	profiles []int32
	matches  [][]vulnMatch
}

// run matches the given profiles (all when profiles is nil) and calls emit
// for each profile's matches from the calling goroutine.
func (ix *Index) run(inv *Inventory, profiles []int32, hits [][]hit, only []bool, emit func(pi int32, ms []vulnMatch)) {
	n := len(inv.profiles)
	if profiles != nil {
		n = len(profiles)
	}
	const chunk = 512
	workers := runtime.GOMAXPROCS(0)
	results := make(chan profileMatches, 2*workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			w := ix.newWorker(inv)
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				hi := min(lo+chunk, n)
				var res profileMatches
				var buf []vulnMatch
				for i := lo; i < hi; i++ {
					pi := int32(i)
					if profiles != nil {
						pi = profiles[i]
					}
					buf = w.matchProfile(pi, hits, only, buf[:0])
					if len(buf) > 0 {
						res.profiles = append(res.profiles, pi)
						res.matches = append(res.matches, append([]vulnMatch(nil), buf...))
					}
				}
				results <- res
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	for res := range results {
		for i, pi := range res.profiles {
			emit(pi, res.matches[i])
		}
	}
}

// MatchAll matches every asset of inv against every vulnerability of the
// index. fn is called from the calling goroutine, once per (asset,
// vulnerability) pair, in no particular order.
func (ix *Index) MatchAll(inv *Inventory, fn func(Match)) {
	hits := ix.computeHits(inv, nil)
	ix.run(inv, nil, hits, nil, func(pi int32, ms []vulnMatch) {
		for _, a := range inv.profiles[pi].assets {
			ix.emit(inv, a, ms, fn)
		}
	})
}

func (ix *Index) emit(inv *Inventory, a int32, ms []vulnMatch, fn func(Match)) {
	id := inv.assets[a].id
	for i := range ms {
		m := &ms[i]
		fn(Match{Asset: a, AssetID: id, VulnID: ix.vulns[m.vuln].id, Confidence: m.conf, Evidence: m.evidence})
	}
}

// MatchVulns re-evaluates only the vulnerabilities with the given IDs (for
// example those a feed update changed), and only on the assets that carry
// one of their product keys, found through the inventory's reverse index.
// Unknown IDs are ignored.
func (ix *Index) MatchVulns(inv *Inventory, ids []string, fn func(Match)) {
	only := make([]bool, len(ix.vulns))
	profSet := make([]bool, len(inv.profiles))
	var profiles []int32
	addProfiles := func(list []int32) {
		for _, p := range list {
			if !profSet[p] {
				profSet[p] = true
				profiles = append(profiles, p)
			}
		}
	}
	wild := false
	for _, id := range ids {
		vi, ok := ix.byID[id]
		if !ok {
			continue
		}
		{
			v := vi
			e := &ix.vulns[v]
			only[v] = true
			ix.walkCrits(e, func(c int32) {
				n := &ix.names[ix.crits[c].name]
				if isWild(n[cpe.Part]) || isWild(n[cpe.Vendor]) || isWild(n[cpe.Product]) {
					wild = true
					return
				}
				addProfiles(inv.byCPE[n.Key()])
			})
			for p := e.prodStart; p < e.prodEnd; p++ {
				pr := &ix.products[p]
				switch pr.kind {
				case byPURL:
					addProfiles(inv.byPURL[pr.key])
				case byCPE:
					addProfiles(inv.byCPE[pr.key])
				default:
					addProfiles(inv.byVendor[pr.key])
				}
			}
		}
	}
	if wild {
		profiles = nil // a wildcard criterion can match any asset
	}
	if len(profiles) == 0 && !wild {
		return
	}
	// Criterion hits only for the CPEs of the selected profiles, and only
	// those criteria matter that the selected vulnerabilities use.
	hits := ix.hitsFor(inv, profiles, only)
	ix.run(inv, profiles, hits, only, func(pi int32, ms []vulnMatch) {
		for _, a := range inv.profiles[pi].assets {
			ix.emit(inv, a, ms, fn)
		}
	})
}

// walkCrits calls fn for every vulnerable criterion of e.
func (ix *Index) walkCrits(e *vuln, fn func(c int32)) {
	var walk func(n int32)
	walk = func(n int32) {
		nd := &ix.nodes[n]
		for i := nd.critStart; i < nd.critEnd; i++ {
			if ix.refs[i].vulnerable {
				fn(ix.refs[i].crit)
			}
		}
		for ch := nd.childStart; ch < nd.childEnd; ch++ {
			walk(ch)
		}
	}
	for r := e.rootStart; r < e.rootEnd; r++ {
		walk(r)
	}
}

// hitsFor computes criterion hits for the CPEs of the given profiles (all
// when nil). When only is set, only the criteria of the marked
// vulnerabilities are evaluated (platform criteria included).
func (ix *Index) hitsFor(inv *Inventory, profiles []int32, only []bool) [][]hit {
	var cpes []int32
	if profiles != nil {
		seen := make([]bool, len(inv.cpes))
		for _, p := range profiles {
			for _, c := range inv.profiles[p].cpes {
				if !seen[c] {
					seen[c] = true
					cpes = append(cpes, c)
				}
			}
		}
	}
	if only == nil {
		return ix.computeHits(inv, cpes)
	}
	// Criteria of the selected vulnerabilities, by key.
	byKey := map[string][]int32{}
	var wild []int32
	seenCrit := map[int32]bool{}
	for v, ok := range only {
		if !ok {
			continue
		}
		e := &ix.vulns[v]
		for r := e.rootStart; r < e.rootEnd; r++ {
			ix.walkAll(r, func(c int32) {
				if seenCrit[c] {
					return
				}
				seenCrit[c] = true
				n := &ix.names[ix.crits[c].name]
				if isWild(n[cpe.Part]) || isWild(n[cpe.Vendor]) || isWild(n[cpe.Product]) {
					wild = append(wild, c)
				} else {
					byKey[n.Key()] = append(byKey[n.Key()], c)
				}
			})
		}
	}
	hits := make([][]hit, len(inv.cpes))
	each := func(c int32) {
		e := &inv.cpes[c]
		var buf []hit
		for _, list := range [2][]int32{byKey[e.key], wild} {
			for _, cr := range list {
				if o := ix.evalCrit(cr, e, false); o.res != triFalse {
					buf = append(buf, hit{cr, o.res})
				}
			}
		}
		hits[c] = buf
	}
	if cpes == nil {
		for c := range inv.cpes {
			each(int32(c))
		}
	} else {
		for _, c := range cpes {
			each(c)
		}
	}
	return hits
}

// walkAll calls fn for every criterion under node n, platform ones too.
func (ix *Index) walkAll(n int32, fn func(c int32)) {
	nd := &ix.nodes[n]
	for i := nd.critStart; i < nd.critEnd; i++ {
		fn(ix.refs[i].crit)
	}
	for ch := nd.childStart; ch < nd.childEnd; ch++ {
		ix.walkAll(ch, fn)
	}
}

// MatchAssets re-evaluates the given assets (indexes into the inventory)
// against every vulnerability, for example after their identifiers
// changed and the inventory was rebuilt.
func (ix *Index) MatchAssets(inv *Inventory, assets []int32, fn func(Match)) {
	want := map[int32][]int32{} // profile → the requested assets in it
	var profiles []int32
	for _, a := range assets {
		if a < 0 || int(a) >= len(inv.assets) {
			continue
		}
		p := inv.assets[a].profile
		if _, ok := want[p]; !ok {
			profiles = append(profiles, p)
		}
		want[p] = append(want[p], a)
	}
	if len(profiles) == 0 {
		return
	}
	hits := ix.hitsFor(inv, profiles, nil)
	ix.run(inv, profiles, hits, nil, func(pi int32, ms []vulnMatch) {
		for _, a := range want[pi] {
			ix.emit(inv, a, ms, fn)
		}
	})
}

func (ix *Index) isWildCrit(c int32) bool {
	n := &ix.names[ix.crits[c].name]
	return isWild(n[0]) || isWild(n[1]) || isWild(n[2])
}

// anyOnly reports whether every attribute on which criterion n does not
// match asset name t is one the asset leaves ANY (other than part, vendor,
// product and version), and returns the first.
func anyOnly(n, t *cpe.Name) (cpe.Attr, bool) {
	first := cpe.Attr(-1)
	for i := cpe.Update; i <= cpe.Other; i++ {
		if r := cpe.CompareAttr(n[i], t[i]); r == cpe.Equal || r == cpe.Superset {
			continue
		}
		if t[i] != cpe.Any {
			return 0, false
		}
		if first < 0 {
			first = i
		}
	}
	for _, i := range [3]cpe.Attr{cpe.Part, cpe.Vendor, cpe.Product} {
		if r := cpe.CompareAttr(n[i], t[i]); r != cpe.Equal && r != cpe.Superset {
			return 0, false
		}
	}
	return first, first >= 0
}
