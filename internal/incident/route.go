package incident

import (
	"cmp"
	"fmt"
	"slices"

	"bulwark"
)

// Policy holds the thresholds of routing and of the target clock.
type Policy struct {
	// ShareAt is, per purview, the severity from which an organization
	// that an involved party shares its city model with takes part:
	// sharing says "this body looks after what I run". Purviews absent
	// here (private, academic) are never routed through sharing.
	ShareAt map[bulwark.Purview]bulwark.SeverityLevel
	// AllFederalAt is the severity from which every federal organization
	// takes part (national significance); 0 disables it.
	AllFederalAt bulwark.SeverityLevel
	// WarnAt is the share of a target (RTO, MTD) after which the target is
	// at risk and the incident escalates.
	WarnAt float64
}

// DefaultPolicy routes to city coordinators from low, to ISACs from
// medium, to state and federal bodies from high (PPD-41 calls an incident
// of NCISS level 3 or above "significant") and to every federal body from
// severe, and warns at 75 % of a target.
func DefaultPolicy() Policy {
	return Policy{
		ShareAt: map[bulwark.Purview]bulwark.SeverityLevel{
			bulwark.PurviewCity:    bulwark.SeverityLow,
			bulwark.PurviewISAC:    bulwark.SeverityMedium,
			bulwark.PurviewState:   bulwark.SeverityHigh,
			bulwark.PurviewFederal: bulwark.SeverityHigh,
		},
		AllFederalAt: bulwark.SeveritySevere,
		WarnAt:       0.75,
	}
}

// Org is what routing needs to know of an organization.
type Org struct {
	ID         string
	Purview    bulwark.Purview
	SharesWith []string
}

// RouteInput is an incident as routing sees it.
type RouteInput struct {
	Reporter string
	// Affected maps each owner of an affected entity (entered, down,
	// degraded or at risk) to the number of its affected entities.
	Affected map[string]int
	Level    bulwark.SeverityLevel
}

var roleOrder = map[bulwark.PartyRole]int{bulwark.PartyReporter: 0, bulwark.PartyAffected: 1, bulwark.PartyCoordinator: 2, bulwark.PartyAuthority: 3}

// Route decides which organizations take part in an incident and why:
//
//  1. the reporter, which coordinates it;
//  2. every owner of an affected entity;
//  3. every organization that the reporter or an affected owner shares
//     its city model with, by that organization's purview, once the level
//     reaches the policy's threshold for the purview: city and ISAC bodies
//     coordinate, state and federal bodies are authorities;
//  4. state and federal bodies that a coordinator from step 3 shares with
//     (the city's CISO shares with the state emergency agency), from the
//     same thresholds;
//  5. every federal body from AllFederalAt.
//
// An organization takes the first role it qualifies for. Unknown
// organizations are ignored. Parties come out reporter first, then by
// role and ID.
func Route(in RouteInput, orgs map[string]Org, pol Policy) []bulwark.IncidentParty {
	var out []bulwark.IncidentParty
	seen := map[string]bool{}
	add := func(org string, role bulwark.PartyRole, reason string) bool {
		if seen[org] {
			return false
		}
		seen[org] = true
		out = append(out, bulwark.IncidentParty{Org: org, Role: role, Reason: reason})
		return true
	}
	add(in.Reporter, bulwark.PartyReporter, "reported the incident")
	owners := make([]string, 0, len(in.Affected))
	for o := range in.Affected {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	for _, o := range owners {
		if _, ok := orgs[o]; ok {
			add(o, bulwark.PartyAffected, fmt.Sprintf("owns %s the incident touches", plural(in.Affected[o], "entity", "entities")))
		}
	}
	byShare := func(from string, purviews ...bulwark.Purview) []string {
		var added []string
		src, ok := orgs[from]
		if !ok {
			return nil
		}
		for _, to := range src.SharesWith {
			o, ok := orgs[to]
			if !ok || !slices.Contains(purviews, o.Purview) {
				continue
			}
			at, ok := pol.ShareAt[o.Purview]
			if !ok || in.Level < at {
				continue
			}
			role := bulwark.PartyCoordinator
			if o.Purview == bulwark.PurviewState || o.Purview == bulwark.PurviewFederal {
				role = bulwark.PartyAuthority
			}
			reason := fmt.Sprintf("%s shares with it (%s purview) and the severity is %s or above", from, o.Purview, at)
			if add(to, role, reason) {
				added = append(added, to)
			}
		}
		return added
	}
	first := append([]string{in.Reporter}, owners...)
	var coordinators []string
	for _, o := range first {
		coordinators = append(coordinators, byShare(o, bulwark.PurviewCity, bulwark.PurviewISAC, bulwark.PurviewState, bulwark.PurviewFederal)...)
	}
	for _, c := range coordinators {
		byShare(c, bulwark.PurviewState, bulwark.PurviewFederal)
	}
	if pol.AllFederalAt > 0 && in.Level >= pol.AllFederalAt {
		ids := make([]string, 0, len(orgs))
		for id, o := range orgs {
			if o.Purview == bulwark.PurviewFederal {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			add(id, bulwark.PartyAuthority, fmt.Sprintf("federal body; the severity is %s or above (national significance)", pol.AllFederalAt))
		}
	}
	slices.SortStableFunc(out[1:], func(a, b bulwark.IncidentParty) int {
		return cmp.Or(cmp.Compare(roleOrder[a.Role], roleOrder[b.Role]), cmp.Compare(a.Org, b.Org))
	})
	return out
}
