package baseline

import (
	"fmt"
	"strings"

	"bulwark"
)

// ProfileResult is a profile's compliance matrix: one row per organization
// it applies to, one cell per requirement.
type ProfileResult struct {
	Profile bulwark.Profile
	Rows    []ComplianceRow
}

// Meeting counts the rows that meet every requirement.
func (p ProfileResult) Meeting() int {
	n := 0
	for _, r := range p.Rows {
		if r.Meets {
			n++
		}
	}
	return n
}

// ComplianceRow is one organization against one profile.
type ComplianceRow struct {
	Org     string
	OrgName string
	Cells   []Cell
	Met     int
	Meets   bool
}

// Cell is one requirement for one organization. Derived says the status
// was derived from the organization's CSF 2.0 results through the goal's
// mapping, because it has no result for the goal itself.
type Cell struct {
	Control string
	Status  bulwark.ImplStatus
	Tier    int
	Met     bool
	Derived bool
	Why     string
}

// rank orders statuses for "at least": not assessed < not implemented <
// partial < implemented.
func rank(s bulwark.ImplStatus) int {
	switch s {
	case bulwark.StatusNotImplemented:
		return 1
	case bulwark.StatusPartial:
		return 2
	case bulwark.StatusImplemented:
		return 3
	}
	return 0
}

// Applies reports whether a profile's AppliesTo selects org.
func Applies(appliesTo string, o Org) bool {
	switch appliesTo {
	case "", "all":
		return true
	case "low":
		return o.Category >= bulwark.LevelLow
	case "moderate":
		return o.Category >= bulwark.LevelModerate
	case "high":
		return o.Category >= bulwark.LevelHigh
	}
	return false
}

// ValidAppliesTo lists the accepted AppliesTo values.
var ValidAppliesTo = []string{"all", "low", "moderate", "high"}

// Compliance computes the matrix of each profile (only the one with ID
// only, when only is non-nil) over the organizations of d.
func Compliance(d *Data, only *string) []ProfileResult {
	// The current results of each organization, per catalog: its most
	// recently changed organization-scope assessment.
	latest := map[[2]string]*bulwark.Assessment{}
	for _, a := range d.Assessments {
		if a.ScopeKind != bulwark.ScopeOrganization {
			continue
		}
		k := [2]string{a.Owner, a.Catalog}
		if cur := latest[k]; cur == nil || a.UpdatedAt.After(cur.UpdatedAt) {
			latest[k] = a
		}
	}
	results := func(org, catalog string) map[string]bulwark.ControlResult {
		out := map[string]bulwark.ControlResult{}
		if a := latest[[2]string{org, catalog}]; a != nil {
			for _, r := range a.Results {
				out[r.Control] = r
			}
		}
		return out
	}
	var out []ProfileResult
	for _, p := range d.Profiles {
		if only != nil && p.ID != *only {
			continue
		}
		cat := d.Catalogs[p.Catalog]
		controls := map[string]bulwark.Control{}
		if cat != nil {
			for _, c := range cat.Controls {
				controls[c.ID] = c
			}
		}
		pr := ProfileResult{Profile: p}
		for _, o := range d.Orgs {
			if !Applies(p.AppliesTo, o) {
				continue
			}
			own := results(o.ID, p.Catalog)
			var csf map[string]bulwark.ControlResult
			row := ComplianceRow{Org: o.ID, OrgName: o.Name}
			for _, req := range p.Requirements {
				var c Cell
				if r, ok := own[req.Control]; ok && r.Status != bulwark.StatusNotAssessed {
					c = Cell{Control: req.Control, Status: r.Status, Tier: r.CurrentTier}
				} else if maps := controls[req.Control].MapsTo; len(maps) > 0 && p.Catalog != CSFCatalog {
					if csf == nil {
						csf = results(o.ID, CSFCatalog)
					}
					c = derive(req.Control, maps, csf)
				} else {
					c = Cell{Control: req.Control}
				}
				c.Met, c.Why = meets(req, c)
				if c.Met {
					row.Met++
				}
				row.Cells = append(row.Cells, c)
			}
			row.Meets = row.Met == len(p.Requirements)
			pr.Rows = append(pr.Rows, row)
		}
		out = append(out, pr)
	}
	return out
}

// derive gives a goal the status its mapped CSF subcategories support:
// implemented when all applicable ones are, partial when any is partly or
// fully implemented, not implemented when all assessed ones are not, not
// assessed when none is. The tier is the lowest assessed current tier.
func derive(control string, maps []string, csf map[string]bulwark.ControlResult) Cell {
	c := Cell{Control: control, Derived: true}
	assessed, impl, some, applicable := 0, 0, 0, 0
	var parts []string
	for _, m := range maps {
		r, ok := csf[m]
		if !ok || r.Status == bulwark.StatusNotAssessed {
			parts = append(parts, m+" not assessed")
			continue
		}
		assessed++
		parts = append(parts, m+" "+strings.ReplaceAll(string(r.Status), "_", " "))
		if r.Status == bulwark.StatusNotApplicable {
			continue
		}
		applicable++
		if r.Status == bulwark.StatusImplemented {
			impl++
		}
		if r.Status == bulwark.StatusImplemented || r.Status == bulwark.StatusPartial {
			some++
		}
		if r.CurrentTier > 0 && (c.Tier == 0 || r.CurrentTier < c.Tier) {
			c.Tier = r.CurrentTier
		}
	}
	switch {
	case assessed == 0:
	case applicable == 0:
		c.Status = bulwark.StatusNotApplicable
	case impl == applicable && assessed == len(maps):
		c.Status = bulwark.StatusImplemented
	case some > 0:
		c.Status = bulwark.StatusPartial
	default:
		c.Status = bulwark.StatusNotImplemented
	}
	c.Why = "from CSF: " + strings.Join(parts, ", ")
	return c
}

// meets decides one cell: the status at least the required one (not
// applicable counts as met, and says so), and the tier at least the
// required tier.
func meets(req bulwark.ProfileRequirement, c Cell) (bool, string) {
	why := c.Why
	add := func(s string) {
		if why != "" {
			why += "; "
		}
		why += s
	}
	min := req.MinStatus
	if min == bulwark.StatusNotAssessed {
		min = bulwark.StatusImplemented
	}
	switch {
	case c.Status == bulwark.StatusNotAssessed:
		add("not assessed")
		return false, why
	case c.Status == bulwark.StatusNotApplicable:
		add("declared not applicable")
		return true, why
	case rank(c.Status) < rank(min):
		add(fmt.Sprintf("%s, needs %s", strings.ReplaceAll(string(c.Status), "_", " "), strings.ReplaceAll(string(min), "_", " ")))
		return false, why
	case req.MinTier > 0 && c.Tier < req.MinTier:
		add(fmt.Sprintf("tier %d, needs %d", c.Tier, req.MinTier))
		return false, why
	}
	return true, why
}
