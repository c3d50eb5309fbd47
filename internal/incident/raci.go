package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/depgraph"
)

// Instantiate makes the tasks of a playbook for an incident's parties:
// a task for the reporter once, a task for "affected" once per affected
// organization (the reporter included when it owns affected entities, and
// alone when nobody else does) and a task for "coordinator" once per
// coordinator (the reporter takes those when there is none). Due dates
// count from detection. IDs are left to the store.
func Instantiate(pb *bulwark.Playbook, parties []bulwark.IncidentParty, reporterAffected bool, detected time.Time) []bulwark.IncidentTask {
	var reporter string
	var affected, coordinators []string
	for _, p := range parties {
		switch p.Role {
		case bulwark.PartyReporter:
			reporter = p.Org
		case bulwark.PartyAffected:
			affected = append(affected, p.Org)
		case bulwark.PartyCoordinator:
			coordinators = append(coordinators, p.Org)
		}
	}
	if reporterAffected || len(affected) == 0 {
		affected = append([]string{reporter}, affected...)
	}
	if len(coordinators) == 0 {
		coordinators = []string{reporter}
	}
	var out []bulwark.IncidentTask
	for _, ph := range pb.Phases {
		for _, t := range ph.Tasks {
			orgs := []string{reporter}
			switch t.Party {
			case bulwark.PartyAffected:
				orgs = affected
			case bulwark.PartyCoordinator:
				orgs = coordinators
			}
			for _, org := range orgs {
				out = append(out, taskFor(pb, ph.Phase, t, org, detected))
			}
		}
	}
	return out
}

// ForNewParties makes the tasks of a playbook that go to parties added
// after the incident started (a raised severity routes to more
// coordinators): the coordinator tasks of each new coordinator.
func ForNewParties(pb *bulwark.Playbook, added []bulwark.IncidentParty, detected time.Time) []bulwark.IncidentTask {
	var out []bulwark.IncidentTask
	for _, p := range added {
		if p.Role != bulwark.PartyCoordinator {
			continue
		}
		for _, ph := range pb.Phases {
			for _, t := range ph.Tasks {
				if t.Party == bulwark.PartyCoordinator {
					out = append(out, taskFor(pb, ph.Phase, t, p.Org, detected))
				}
			}
		}
	}
	return out
}

func taskFor(pb *bulwark.Playbook, ph bulwark.Phase, t bulwark.PlaybookTask, org string, detected time.Time) bulwark.IncidentTask {
	it := bulwark.IncidentTask{Ref: string(ph) + "/" + t.ID, Phase: ph, Title: t.Title, Detail: t.Detail, Org: org,
		Responsible: roleName(pb, t.Responsible), Accountable: roleName(pb, t.Accountable),
		Status: bulwark.TaskOpen, Source: "playbook", Decision: t.Decision}
	for _, r := range t.Consulted {
		it.Consulted = append(it.Consulted, roleName(pb, r))
	}
	for _, r := range t.Informed {
		it.Informed = append(it.Informed, roleName(pb, r))
	}
	if t.Due > 0 {
		it.Due = detected.Add(time.Duration(t.Due))
	}
	return it
}

func roleName(pb *bulwark.Playbook, id string) string {
	for _, r := range pb.Roles {
		if r.ID == id {
			return r.Name
		}
	}
	return id
}

// PlaybookRACI is the matrix of a playbook: one row per task, one column
// per role.
func PlaybookRACI(pb *bulwark.Playbook) bulwark.RACI {
	m := bulwark.RACI{Title: pb.Title}
	col := map[string]int{}
	for i, r := range pb.Roles {
		m.Columns = append(m.Columns, r.Name)
		col[r.ID] = i
	}
	for _, ph := range pb.Phases {
		for _, t := range ph.Tasks {
			cells := make([][]string, len(pb.Roles))
			put := func(role, letter string) {
				if i, ok := col[role]; ok && !slices.Contains(cells[i], letter) {
					cells[i] = append(cells[i], letter)
				}
			}
			put(t.Responsible, "R")
			put(t.Accountable, "A")
			for _, r := range t.Consulted {
				put(r, "C")
			}
			for _, r := range t.Informed {
				put(r, "I")
			}
			row := bulwark.RACIRow{Activity: t.Title, Phase: ph.Phase}
			for _, c := range cells {
				row.Cells = append(row.Cells, strings.Join(c, "/"))
			}
			m.Rows = append(m.Rows, row)
		}
	}
	return m
}

// serviceActivities are the rows of a service's RACI matrix, with the
// letters of each party role: the service owner (reporter), the owners of
// what it depends on (affected), coordinators and authorities.
var serviceActivities = []struct {
	activity string
	phase    bulwark.Phase
	letters  map[bulwark.PartyRole]string
}{
	{"Declare and coordinate an incident", bulwark.PhaseDetection, map[bulwark.PartyRole]string{bulwark.PartyReporter: "A/R", bulwark.PartyAffected: "I", bulwark.PartyCoordinator: "C", bulwark.PartyAuthority: "I"}},
	{"Detect and analyse", bulwark.PhaseDetection, map[bulwark.PartyRole]string{bulwark.PartyReporter: "A", bulwark.PartyAffected: "R", bulwark.PartyCoordinator: "C"}},
	{"Contain", bulwark.PhaseContainment, map[bulwark.PartyRole]string{bulwark.PartyReporter: "A", bulwark.PartyAffected: "R", bulwark.PartyCoordinator: "I"}},
	{"Eradicate", bulwark.PhaseEradication, map[bulwark.PartyRole]string{bulwark.PartyReporter: "A", bulwark.PartyAffected: "R"}},
	{"Recover within the targets", bulwark.PhaseRecovery, map[bulwark.PartyRole]string{bulwark.PartyReporter: "A", bulwark.PartyAffected: "R", bulwark.PartyCoordinator: "I", bulwark.PartyAuthority: "I"}},
	{"Inform the public", bulwark.PhaseContainment, map[bulwark.PartyRole]string{bulwark.PartyReporter: "A/R", bulwark.PartyCoordinator: "C", bulwark.PartyAuthority: "I"}},
	{"After-action review", bulwark.PhasePostIncident, map[bulwark.PartyRole]string{bulwark.PartyReporter: "A/R", bulwark.PartyAffected: "C", bulwark.PartyCoordinator: "C", bulwark.PartyAuthority: "I"}},
}

// ServiceRACI is the matrix of a service: who answers for an incident
// that takes it down. Its columns are the organizations an incident on
// the service would be routed to at the highest severity — the owner, the
// owners of everything it depends on (directly or not), and the bodies
// they share with — and its rows the lifecycle's activities. The owner,
// when it also runs dependencies, is accountable and responsible.
// visible says which organizations the caller may name; the others are
// counted in Hidden.
func ServiceRACI(g *depgraph.Graph, service int32, orgs map[string]Org, pol Policy, visible func(org string) bool) (bulwark.RACI, int) {
	owner := g.Owner(service)
	deps := map[string]int{}
	seen := map[int32]bool{service: true}
	stack := []int32{service}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, y := range g.DependsOn(x) {
			if !seen[y] {
				seen[y] = true
				stack = append(stack, y)
				if o := g.Owner(y); o != owner {
					deps[o]++
				}
			}
		}
	}
	parties := Route(RouteInput{Reporter: owner, Affected: deps, Level: bulwark.SeverityEmergency}, orgs, pol)
	m := bulwark.RACI{Title: fmt.Sprintf("%s (%s)", g.Name(service), g.ID(service))}
	var roles []bulwark.PartyRole
	hidden := 0
	for _, p := range parties {
		if !visible(p.Org) {
			hidden++
			continue
		}
		m.Columns = append(m.Columns, p.Org)
		roles = append(roles, p.Role)
	}
	for _, a := range serviceActivities {
		row := bulwark.RACIRow{Activity: a.activity, Phase: a.phase}
		for _, r := range roles {
			row.Cells = append(row.Cells, a.letters[r])
		}
		m.Rows = append(m.Rows, row)
	}
	return m, hidden
}
