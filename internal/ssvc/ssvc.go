// Package ssvc prioritizes findings with CISA's Stakeholder-Specific
// Vulnerability Categorization: the CISA decision tree (version 2.0.3 as
// published in CERT/CC's SSVC repository) over four decision points —
// Exploitation, Automatable, Technical Impact, and Mission & Well-being —
// giving Track, Track*, Attend or Act. Inputs derives each point from the
// vulnerability's evidence (KEV, CISA ADP, references, EPSS, CVSS vectors)
// and the asset's place in the city's dependency graph, and records why.
package ssvc

import (
	"fmt"
	"strings"
	"time"

	"bulwark"
)

// Decision point values, as CISA spells them.
const (
	ExploitNone   = "none"
	ExploitPoC    = "poc"
	ExploitActive = "active"
	No            = "no"
	Yes           = "yes"
	Partial       = "partial"
	Total         = "total"
	Low           = "low"
	Medium        = "medium"
	High          = "high"
)

// tree is CISA's decision table, indexed by
// exploitation (none, poc, active) × automatable (no, yes) ×
// technical impact (partial, total) × mission & well-being (low, medium, high),
// in the order of CISA's published table rows 0..35.
var tree = [36]bulwark.SSVCDecision{
	// none
	"Track", "Track", "Track", "Track", "Track", "Track*",
	"Track", "Track", "Attend", "Track", "Track", "Attend",
	// public poc
	"Track", "Track", "Track*", "Track", "Track*", "Attend",
	"Track", "Track", "Attend", "Track", "Track*", "Attend",
	// active
	"Track", "Track", "Attend", "Track", "Attend", "Act",
	"Attend", "Attend", "Act", "Attend", "Act", "Act",
}

func index(value string, of ...string) (int, bool) {
	for i, v := range of {
		if v == value {
			return i, true
		}
	}
	return 0, false
}

// Decide walks the tree. Every input must be one of the values CISA
// defines; anything else is an error (the tree has no "unknown" branch:
// Inputs always picks a documented default instead).
func Decide(in bulwark.SSVCInputs) (bulwark.SSVCDecision, error) {
	e, ok1 := index(in.Exploitation, ExploitNone, ExploitPoC, ExploitActive)
	a, ok2 := index(in.Automatable, No, Yes)
	t, ok3 := index(in.TechnicalImpact, Partial, Total)
	m, ok4 := index(in.MissionWellbeing, Low, Medium, High)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return "", bulwark.Errorf(bulwark.EINVALID, "ssvc: invalid decision point values %q/%q/%q/%q",
			in.Exploitation, in.Automatable, in.TechnicalImpact, in.MissionWellbeing)
	}
	return tree[((e*2+a)*2+t)*3+m], nil
}

// Rank orders decisions by urgency: Track 0 … Act 3; unknown −1.
func Rank(d bulwark.SSVCDecision) int {
	i, ok := index(string(d), "Track", "Track*", "Attend", "Act")
	if !ok {
		return -1
	}
	return i
}

// Mission is where an asset sits in the city: what its failure does to the
// services above it (from internal/depgraph's analysis).
type Mission struct {
	// Category is the FIPS 199 high-water mark of every service that
	// depends on the asset, directly or not (zero: supports none).
	Category bulwark.Category
	// ServicesLost and PopulationLost: services (and the people they serve)
	// that fail when the asset fails; ServicesDegraded degrade only.
	ServicesLost     int
	PopulationLost   int64
	ServicesDegraded int
}

// Policy holds the thresholds and deadlines a city may tune.
type Policy struct {
	// EPSSPoC is the EPSS probability at or above which exploitation is
	// treated as "poc" when nothing stronger is known.
	EPSSPoC float64
	// Deadlines per decision, counted from when the finding was first seen;
	// a KEV due date overrides when it is earlier.
	Act, Attend, TrackStar, Track time.Duration
}

// DefaultPolicy follows CISA's wording: Act "as soon as possible" (7
// days), Attend "sooner than standard update timelines" (30 days), Track*
// and Track "within standard update timelines" (90 and 180 days).
func DefaultPolicy() Policy {
	day := 24 * time.Hour
	return Policy{EPSSPoC: 0.1, Act: 7 * day, Attend: 30 * day, TrackStar: 90 * day, Track: 180 * day}
}

// Inputs derives the four decision points for vulnerability v on an asset
// whose place in the city is m, with one sentence of evidence per point.
func Inputs(v *bulwark.Vulnerability, m Mission, p Policy) bulwark.SSVCInputs {
	var in bulwark.SSVCInputs
	in.Exploitation, in.Why = exploitation(v, p, in.Why)
	in.Automatable, in.Why = automatable(v, in.Why)
	in.TechnicalImpact, in.Why = technicalImpact(v, in.Why)
	in.MissionWellbeing, in.Why = missionWellbeing(m, in.Why)
	return in
}

func exploitation(v *bulwark.Vulnerability, p Policy, why []string) (string, []string) {
	if v.KEV != nil {
		return ExploitActive, append(why, "exploitation active: listed in CISA KEV since "+v.KEV.DateAdded.Format(time.DateOnly))
	}
	if v.ADP != nil && v.ADP.Exploitation != "" {
		e := strings.ToLower(v.ADP.Exploitation)
		if e == "public poc" {
			e = ExploitPoC
		}
		if _, ok := index(e, ExploitNone, ExploitPoC, ExploitActive); ok {
			return e, append(why, "exploitation "+e+": CISA ADP assessment")
		}
	}
	for _, r := range v.References {
		for _, t := range r.Tags {
			if strings.EqualFold(t, "Exploit") {
				return ExploitPoC, append(why, "exploitation poc: public exploit reference "+r.URL)
			}
		}
	}
	if v.EPSS != nil && v.EPSS.Score >= p.EPSSPoC {
		return ExploitPoC, append(why, fmt.Sprintf("exploitation poc: EPSS %.3f ≥ %.3f", v.EPSS.Score, p.EPSSPoC))
	}
	return ExploitNone, append(why, "exploitation none: not in KEV, no exploit reference, EPSS below threshold or unknown")
}

func automatable(v *bulwark.Vulnerability, why []string) (string, []string) {
	if v.ADP != nil && v.ADP.Automatable != "" {
		a := strings.ToLower(v.ADP.Automatable)
		if a == Yes || a == No {
			return a, append(why, "automatable "+a+": CISA ADP assessment")
		}
	}
	c, ok := bestCVSS(v)
	if !ok {
		return No, append(why, "automatable no: no CVSS vector to judge by")
	}
	m := vectorMetrics(c.Vector)
	var auto bool
	if strings.HasPrefix(c.Version, "4") {
		auto = m["AV"] == "N" && m["AC"] == "L" && m["AT"] == "N" && m["PR"] == "N" && m["UI"] == "N"
	} else {
		auto = m["AV"] == "N" && m["AC"] == "L" && m["PR"] == "N" && m["UI"] == "N"
	}
	if auto {
		return Yes, append(why, "automatable yes: network attack, low complexity, no privileges or user interaction (CVSS "+c.Version+")")
	}
	return No, append(why, "automatable no: CVSS "+c.Version+" vector needs local access, privileges, user interaction or high complexity")
}

func technicalImpact(v *bulwark.Vulnerability, why []string) (string, []string) {
	if v.ADP != nil && v.ADP.TechnicalImpact != "" {
		t := strings.ToLower(v.ADP.TechnicalImpact)
		if t == Partial || t == Total {
			return t, append(why, "technical impact "+t+": CISA ADP assessment")
		}
	}
	c, ok := bestCVSS(v)
	if !ok {
		return Partial, append(why, "technical impact partial: no CVSS vector to judge by")
	}
	m := vectorMetrics(c.Vector)
	var total bool
	if strings.HasPrefix(c.Version, "4") {
		total = m["VC"] == "H" && m["VI"] == "H"
	} else {
		total = m["C"] == "H" && m["I"] == "H"
	}
	if total {
		return Total, append(why, "technical impact total: high confidentiality and integrity impact (CVSS "+c.Version+")")
	}
	return Partial, append(why, "technical impact partial: CVSS "+c.Version+" impact below total control")
}

// missionWellbeing combines mission prevalence and public well-being impact
// with CISA's table: essential mission or irreversible well-being impact →
// high; minimal and minimal → low; otherwise medium.
func missionWellbeing(m Mission, why []string) (string, []string) {
	prevalence := "minimal"
	switch {
	case m.ServicesLost > 0:
		prevalence = "essential"
	case m.Category.Overall() > bulwark.LevelNone || m.ServicesDegraded > 0:
		prevalence = "support"
	}
	wellbeing := "minimal"
	switch {
	case m.PopulationLost > 0 && max(m.Category.Availability, m.Category.Integrity) == bulwark.LevelHigh:
		wellbeing = "irreversible"
	case m.PopulationLost > 0 || m.ServicesDegraded > 0:
		wellbeing = "material"
	}
	level := Medium
	switch {
	case prevalence == "essential" || wellbeing == "irreversible":
		level = High
	case prevalence == "minimal" && wellbeing == "minimal":
		level = Low
	}
	return level, append(why, fmt.Sprintf("mission & well-being %s: mission prevalence %s (fails %d services, degrades %d), public well-being %s (%d people, FIPS 199 %s)",
		level, prevalence, m.ServicesLost, m.ServicesDegraded, wellbeing, m.PopulationLost, categoryString(m.Category)))
}

func categoryString(c bulwark.Category) string {
	if c.Overall() == bulwark.LevelNone {
		return "none"
	}
	return fmt.Sprintf("C:%s I:%s A:%s", c.Confidentiality, c.Integrity, c.Availability)
}

// bestCVSS picks the vector to judge by: the primary (NVD) score of the
// newest CVSS version, else any of the newest version.
func bestCVSS(v *bulwark.Vulnerability) (bulwark.CVSS, bool) {
	var best bulwark.CVSS
	found := false
	for _, c := range v.CVSS {
		if c.Vector == "" || strings.HasPrefix(c.Version, "2") {
			continue
		}
		if !found || c.Version > best.Version || (c.Version == best.Version && c.Primary && !best.Primary) {
			best, found = c, true
		}
	}
	return best, found
}

// vectorMetrics splits "CVSS:3.1/AV:N/AC:L/..." into its metrics.
func vectorMetrics(vector string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(vector, "/") {
		if k, v, ok := strings.Cut(part, ":"); ok && k != "CVSS" {
			m[k] = v
		}
	}
	return m
}

// Due is the date by which the owner must act on a finding first seen at
// firstSeen: the decision's deadline under p, or the KEV due date when
// that is earlier but still ahead when the finding is first seen. A KEV
// due date that had already passed (CISA's deadline for federal agencies,
// often years old) would make a finding overdue the moment it is found,
// which tells the owner nothing; the decision's deadline applies then.
func Due(v *bulwark.Vulnerability, d bulwark.SSVCDecision, firstSeen time.Time, p Policy) time.Time {
	var span time.Duration
	switch d {
	case bulwark.SSVCAct:
		span = p.Act
	case bulwark.SSVCAttend:
		span = p.Attend
	case bulwark.SSVCTrackStar:
		span = p.TrackStar
	default:
		span = p.Track
	}
	due := firstSeen.Add(span).UTC().Truncate(24 * time.Hour)
	if v.KEV != nil && !v.KEV.DueDate.IsZero() && v.KEV.DueDate.Before(due) && !v.KEV.DueDate.Before(firstSeen.UTC().Truncate(24*time.Hour)) {
		due = v.KEV.DueDate.UTC()
	}
	return due
}
