package incident

import (
	"fmt"
	"slices"
	"strings"

	"bulwark"
)

// Facts are what the severity of an incident is computed from: the
// derived impact in numbers, the FIPS 199 high-water category and the
// network zones of the entered entities, and the observed activity.
type Facts struct {
	Activity bulwark.Activity
	Impact   bulwark.ImpactSummary
	// Category is the high-water mark of the entered entities.
	Category bulwark.Category
	// DegradedCritical counts degraded services of FIPS 199 availability
	// high; AtRiskCritical the same among the services at risk.
	DegradedCritical int
	AtRiskCritical   int
}

// EffectiveActivity is the observed activity raised to what the entries
// show: an entity down or degraded is an effect, a compromised one is a
// presence.
func EffectiveActivity(a bulwark.Activity, im bulwark.ImpactSummary, anyDown, anyCompromised bool) bulwark.Activity {
	rank := func(a bulwark.Activity) int { return slices.Index(bulwark.Activities, a) }
	min := bulwark.ActivityPrepare
	if anyCompromised {
		min = bulwark.ActivityPresence
	}
	if anyDown || im.ServicesDown+im.ServicesDegraded > 0 {
		min = bulwark.ActivityEffect
	}
	if rank(a) < rank(min) {
		return min
	}
	return a
}

// populationLevel places people losing a service on the NCISS scale:
// any → medium (may impact public health or safety), 10,000 → high,
// 100,000 → severe, 1,000,000 → emergency.
func populationLevel(people int64) bulwark.SeverityLevel {
	switch {
	case people >= 1_000_000:
		return bulwark.SeverityEmergency
	case people >= 100_000:
		return bulwark.SeveritySevere
	case people >= 10_000:
		return bulwark.SeverityHigh
	case people > 0:
		return bulwark.SeverityMedium
	}
	return bulwark.SeverityBaseline
}

// below is one level less, not below low when the input holds anything.
func below(l bulwark.SeverityLevel) bulwark.SeverityLevel {
	if l <= bulwark.SeverityLow {
		return l
	}
	return l - 1
}

// Zone classes, by NCISS's location of observed activity.
const (
	locBusiness = iota + 1 // business network, cloud, DMZ
	locCritical            // critical systems: OT, ICS, SCADA, field devices
	locSafety              // safety systems
)

// zoneClass classifies a network zone name.
func zoneClass(zone string) int {
	z := strings.ToLower(zone)
	switch {
	case z == "":
		return 0
	case strings.Contains(z, "safety") || strings.Contains(z, "sis"):
		return locSafety
	case z == "ot" || z == "ics" || z == "scada" || z == "field" || z == "control" || strings.HasPrefix(z, "ot-") || strings.HasPrefix(z, "ics-"):
		return locCritical
	}
	return locBusiness
}

// activityCap is the highest level an observed activity allows: NCISS
// reserves the upper levels for adversaries that are inside (presence) or
// have acted (effect).
var activityCap = map[bulwark.Activity]bulwark.SeverityLevel{
	bulwark.ActivityPrepare:  bulwark.SeverityLow,
	bulwark.ActivityEngage:   bulwark.SeverityMedium,
	bulwark.ActivityPresence: bulwark.SeveritySevere,
	bulwark.ActivityEffect:   bulwark.SeverityEmergency,
}

func people(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ComputeSeverity places an incident on the NCISS levels. Each input
// proposes a level from what the graph derived (the table in
// docs/incidents.md); the computed level is the highest proposal, limited
// by the observed activity. Inputs name numbers, never entities, so that
// every party may be shown them.
func ComputeSeverity(f Facts) bulwark.Severity {
	im := f.Impact
	var in []bulwark.SeverityInput

	// Functional impact: what happens to services.
	fi := bulwark.SeverityInput{ID: "functional_impact", Name: "Functional impact"}
	switch {
	case im.ServicesDown > 0 && im.CriticalDown > 0:
		fi.Level, fi.Value = bulwark.SeverityHigh, "denial of critical services"
		fi.Why = fmt.Sprintf("%s down, %d of FIPS 199 availability high", plural(im.ServicesDown, "service", "services"), im.CriticalDown)
	case im.ServicesDown > 0:
		fi.Level, fi.Value = bulwark.SeverityMedium, "denial of non-critical services"
		fi.Why = fmt.Sprintf("%s down, none of FIPS 199 availability high", plural(im.ServicesDown, "service", "services"))
	case im.ServicesDegraded > 0 && f.DegradedCritical > 0:
		fi.Level, fi.Value = bulwark.SeverityMedium, "minimal impact to critical services"
		fi.Why = fmt.Sprintf("%s degraded, %d of availability high", plural(im.ServicesDegraded, "service", "services"), f.DegradedCritical)
	case im.ServicesDegraded > 0:
		fi.Level, fi.Value = bulwark.SeverityLow, "minimal impact to non-critical services"
		fi.Why = fmt.Sprintf("%s degraded", plural(im.ServicesDegraded, "service", "services"))
	default:
		fi.Value, fi.Why = "no impact to services", "no service is down or degraded"
	}
	in = append(in, fi)

	// Population: people who lose (or have degraded) service.
	pop := bulwark.SeverityInput{ID: "population", Name: "Population affected"}
	pl := populationLevel(im.PopulationDown)
	dl := below(populationLevel(im.PopulationDegraded))
	pop.Level = max(pl, dl)
	pop.Value = fmt.Sprintf("%s without service, %s degraded", people(im.PopulationDown), people(im.PopulationDegraded))
	pop.Why = "people served by the services down (any: medium, 10,000: high, 100,000: severe, 1,000,000: emergency); degraded count one level less"
	in = append(in, pop)

	// Potential impact: services that fail if the compromised entities
	// are taken down.
	pi := bulwark.SeverityInput{ID: "potential_impact", Name: "Potential impact"}
	if im.ServicesAtRisk > 0 {
		pi.Level = bulwark.SeverityMedium
		if f.AtRiskCritical > 0 {
			pi.Level = bulwark.SeverityHigh
		}
		pi.Level = max(pi.Level, below(populationLevel(im.PopulationAtRisk)))
		pi.Value = fmt.Sprintf("%s at risk (%d critical), serving %s", plural(im.ServicesAtRisk, "service", "services"), f.AtRiskCritical, people(im.PopulationAtRisk))
		pi.Why = "services that fail if the compromised entities are taken down: medium, high if one is of availability high, population one level less than if they were down"
	} else {
		pi.Value, pi.Why = "none", "no service depends on the compromised entities beyond its redundancy"
	}
	in = append(in, pi)

	// FIPS 199: confidentiality and integrity of what the adversary
	// touches (availability is the functional and potential impact).
	ci := max(f.Category.Confidentiality, f.Category.Integrity)
	fp := bulwark.SeverityInput{ID: "fips199", Name: "FIPS 199 category (information impact)", Value: f.Category.CIA()}
	switch ci {
	case bulwark.LevelHigh:
		fp.Level = bulwark.SeverityHigh
	case bulwark.LevelModerate:
		fp.Level = bulwark.SeverityMedium
	case bulwark.LevelLow:
		fp.Level = bulwark.SeverityLow
	}
	fp.Why = "high-water confidentiality or integrity of the entered entities: high → high, moderate → medium, low → low"
	in = append(in, fp)

	// Sectors: cross-sector effects.
	sc := bulwark.SeverityInput{ID: "sectors", Name: "Critical-infrastructure sectors"}
	n := len(im.Sectors)
	switch {
	case n >= 4:
		sc.Level = bulwark.SeveritySevere
	case n >= 2:
		sc.Level = bulwark.SeverityHigh
	case n == 1:
		sc.Level = bulwark.SeverityLow
	}
	if n == 0 {
		sc.Value = "none"
	} else {
		names := make([]string, n)
		for i, s := range im.Sectors {
			names[i] = string(s)
		}
		sc.Value = strings.Join(names, ", ")
	}
	sc.Why = "sectors of the services down or degraded: 2 or more → high (cross-sector), 4 or more → severe"
	in = append(in, sc)

	// Location of observed activity.
	lc := bulwark.SeverityInput{ID: "location", Name: "Location of observed activity"}
	worst := 0
	for _, z := range im.Zones {
		worst = max(worst, zoneClass(z))
	}
	switch worst {
	case locSafety:
		lc.Level, lc.Value = bulwark.SeveritySevere, "safety systems"
	case locCritical:
		lc.Level, lc.Value = bulwark.SeverityHigh, "critical systems (OT)"
	case locBusiness:
		lc.Level, lc.Value = bulwark.SeverityLow, "business network"
	default:
		lc.Value = "unknown"
	}
	if len(im.Zones) > 0 {
		lc.Value += " (zones " + strings.Join(im.Zones, ", ") + ")"
	}
	lc.Why = "network zones of the entered systems and assets: business → low, OT/ICS → high, safety → severe"
	in = append(in, lc)

	// Observed activity: limits the level.
	act := f.Activity
	if act == "" {
		act = bulwark.ActivityPrepare
	}
	oa := bulwark.SeverityInput{ID: "observed_activity", Name: "Observed activity", Value: string(act), Level: activityCap[act], Cap: true,
		Why: "the highest level the activity allows: prepare → low, engage → medium, presence → severe, effect → emergency"}
	in = append(in, oa)

	computed := bulwark.SeverityBaseline
	for _, x := range in {
		if !x.Cap {
			computed = max(computed, x.Level)
		}
	}
	if act != bulwark.ActivityPrepare && computed == bulwark.SeverityBaseline {
		computed = bulwark.SeverityLow // something real was seen, with no consequence yet
	}
	computed = min(computed, oa.Level)
	return bulwark.Severity{Level: computed, Computed: computed, Inputs: in}
}

// Apply sets the level in force: the override's when there is one.
func Apply(s *bulwark.Severity) {
	s.Level = s.Computed
	if s.Override != nil {
		s.Level = s.Override.Level
	}
}
