package baseline

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"bulwark"
)

// Scope is the place in the city graph of an assessed service or system,
// and the open findings below it.
type Scope struct {
	Category bulwark.Level
	People   int64 // people served by the services its failure would stop
	Services int
	Act, KEV int64 // open findings on what it depends on
}

// Gap is one control short of where it should be, with the factors of its
// score.
type Gap struct {
	Assessment  string             `json:"assessment"`
	Org         string             `json:"org"`
	ScopeKind   string             `json:"scope_kind"`
	Scope       string             `json:"scope"`
	Catalog     string             `json:"catalog"`
	Control     string             `json:"control"`
	Title       string             `json:"title"`
	Status      bulwark.ImplStatus `json:"status"`
	CurrentTier int                `json:"current_tier,omitempty"`
	TargetTier  int                `json:"target_tier,omitempty"`
	// Score = Size × Impact × Reach × Weight × Findings × Risks.
	Size     float64 `json:"size"`
	Impact   float64 `json:"impact"`
	Reach    float64 `json:"reach"`
	Weight   float64 `json:"weight"`
	Findings float64 `json:"findings"`
	Risks    float64 `json:"risks"`
	Score    float64 `json:"score"`
	Why      string  `json:"why"`
}

// vulnControls are the controls whose gaps leave findings unremediated:
// asset and software inventories, vulnerability identification and
// disclosure handling, and patching (CSF 2.0), and their SP 800-53 rev5
// counterparts (inventory CM-8, scanning RA-5, flaw remediation SI-2).
var vulnControls = map[string]bool{
	"ID.AM-01": true, "ID.AM-02": true, "ID.RA-01": true, "ID.RA-02": true, "ID.RA-08": true,
	"PR.PS-02": true, "PR.PS-03": true,
	"cm-8": true, "ra-5": true, "si-2": true,
}

// vulnRelated reports whether closing c would reduce open findings: it is
// one of vulnControls or a goal mapped to one.
func vulnRelated(c bulwark.Control) bool {
	if vulnControls[c.ID] {
		return true
	}
	for _, m := range c.MapsTo {
		if vulnControls[m] {
			return true
		}
	}
	return false
}

// GapFilter selects gaps.
type GapFilter struct {
	Org        string
	Assessment string
	Limit      int
}

// gapSize is how far a result is from done: 1 not implemented, ¾ not
// assessed (unknown is not known-good), ½ partial, 0 implemented or not
// applicable; a CSF current tier below its target adds the missing share
// of the tier scale when that is larger.
func gapSize(r bulwark.ControlResult) float64 {
	var s float64
	switch r.Status {
	case bulwark.StatusNotImplemented:
		s = 1
	case bulwark.StatusNotAssessed:
		s = 0.75
	case bulwark.StatusPartial:
		s = 0.5
	case bulwark.StatusNotApplicable:
		return 0
	}
	if r.TargetTier > r.CurrentTier && r.CurrentTier > 0 {
		s = math.Max(s, float64(r.TargetTier-r.CurrentTier)/float64(bulwark.MaxTier-1))
	}
	return s
}

// impactWeight is the weight of a FIPS 199 level: 3 high, 2 moderate, 1
// low, ½ when the scope supports no categorized service.
func impactWeight(l bulwark.Level) float64 {
	switch l {
	case bulwark.LevelHigh:
		return 3
	case bulwark.LevelModerate:
		return 2
	case bulwark.LevelLow:
		return 1
	}
	return 0.5
}

// controlWeight is CISA's published impact of a CPG goal: 1.5 high, 1.25
// medium, 1 otherwise (CSF subcategories and other controls).
func controlWeight(c bulwark.Control) float64 {
	switch strings.ToLower(c.Impact) {
	case "high":
		return 1.5
	case "medium":
		return 1.25
	}
	return 1
}

// Gaps ranks the gaps of every assessment of d by score, highest first
// (ties by organization, scope and control), at most f.Limit (0: all).
//
// score = size × impact × reach × weight × findings × risks where
//
//   - size is gapSize;
//   - impact is impactWeight of the highest FIPS 199 category the scope
//     supports (the high-water mark of the graph);
//   - reach = 1 + log10(1 + people)/6, people being those served by the
//     services the scope's worst single failure stops (a million people
//     double the score);
//   - weight is controlWeight;
//   - findings = 1 + log10(1 + Act + KEV open findings) for controls that
//     would reduce them (vulnRelated), else 1;
//   - risks = 1 + Σ score / 25 over the open risks of the register that
//     name this gap as evidence (one risk scored 25 doubles the score).
func Gaps(d *Data, scopes map[string]Scope, f GapFilter) []Gap {
	orgs := map[string]Org{}
	for _, o := range d.Orgs {
		orgs[o.ID] = o
	}
	var act, kev = map[string]int64{}, map[string]int64{}
	for _, t := range d.Findings {
		if t.Decision == bulwark.SSVCAct {
			act[t.Owner] += t.Count
		}
		if t.KEV {
			kev[t.Owner] += t.Count
		}
	}
	// Open risks by the gaps they name ("assessment/control").
	risksOf := map[string][]int{}
	for _, r := range d.Risks {
		if r.Open(d.Now) {
			for _, g := range r.Gaps {
				risksOf[g] = append(risksOf[g], r.Score())
			}
		}
	}
	var out []Gap
	for _, a := range d.Assessments {
		if (f.Org != "" && a.Owner != f.Org) || (f.Assessment != "" && a.ID != f.Assessment) {
			continue
		}
		cat := d.Catalogs[a.Catalog]
		if cat == nil {
			continue
		}
		var sc Scope
		if a.ScopeKind == bulwark.ScopeOrganization {
			o := orgs[a.Owner]
			sc = Scope{Category: o.Category, People: o.WorstPeople, Services: o.WorstServices, Act: act[a.Owner], KEV: kev[a.Owner]}
		} else {
			sc = scopes[a.Scope]
		}
		res := map[string]bulwark.ControlResult{}
		for _, r := range a.Results {
			res[r.Control] = r
		}
		impact := impactWeight(sc.Category)
		reach := 1 + math.Log10(1+float64(sc.People))/6
		for _, c := range cat.Controls {
			if !c.Assessable {
				continue
			}
			r := res[c.ID]
			size := gapSize(r)
			if size == 0 {
				continue
			}
			g := Gap{Assessment: a.ID, Org: a.Owner, ScopeKind: a.ScopeKind, Scope: a.Scope, Catalog: a.Catalog,
				Control: c.ID, Title: c.Title, Status: r.Status, CurrentTier: r.CurrentTier, TargetTier: r.TargetTier,
				Size: size, Impact: impact, Reach: round2(reach), Weight: controlWeight(c), Findings: 1}
			why := []string{fmt.Sprintf("%s (size %.2f)", describeGap(r), size)}
			if sc.Category > bulwark.LevelNone {
				why = append(why, fmt.Sprintf("supports a FIPS 199 %s service (×%g)", sc.Category, impact))
			} else {
				why = append(why, "supports no categorized service (×0.5)")
			}
			if sc.People > 0 {
				why = append(why, fmt.Sprintf("its worst single failure stops %d service(s) serving %d people (×%.2f)", sc.Services, sc.People, g.Reach))
			}
			if g.Weight != 1 {
				why = append(why, fmt.Sprintf("CISA rates the goal's impact %s (×%g)", strings.ToLower(c.Impact), g.Weight))
			}
			if n := sc.Act + sc.KEV; n > 0 && vulnRelated(c) {
				g.Findings = round2(1 + math.Log10(1+float64(n)))
				why = append(why, fmt.Sprintf("would reduce %d open Act and %d KEV finding(s) (×%.2f)", sc.Act, sc.KEV, g.Findings))
			}
			g.Risks = 1
			if scores := risksOf[a.ID+"/"+c.ID]; len(scores) > 0 {
				sum, list := 0, make([]string, len(scores))
				for i, sc := range scores {
					sum += sc
					list[i] = fmt.Sprint(sc)
				}
				g.Risks = round2(1 + float64(sum)/25)
				why = append(why, fmt.Sprintf("named by %d open risk(s) scored %s (×%.2f)", len(scores), strings.Join(list, ", "), g.Risks))
			}
			g.Score = round2(size * impact * g.Reach * g.Weight * g.Findings * g.Risks)
			g.Why = strings.Join(why, "; ")
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.Org != b.Org {
			return a.Org < b.Org
		}
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		return a.Control < b.Control
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

func describeGap(r bulwark.ControlResult) string {
	s := "not assessed"
	if r.Status != bulwark.StatusNotAssessed {
		s = strings.ReplaceAll(string(r.Status), "_", " ")
	}
	if r.TargetTier > r.CurrentTier && r.CurrentTier > 0 {
		s += fmt.Sprintf(", tier %d of target %d", r.CurrentTier, r.TargetTier)
	}
	return s
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
