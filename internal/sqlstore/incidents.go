package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"bulwark"
)

// Incidents (bulwark.IncidentStore). Tenancy is decided here, as for the
// rest of the store, but on other grounds than the city model's: an
// incident exists for its parties only. partyOf is the one place that
// says whether a caller is a party; view is the one place that cuts an
// incident down to what a party sees.

func incidentNotFound(id string) error {
	return bulwark.Errorf(bulwark.ENOTFOUND, "incident %q not found", bulwark.Truncate(id, 128))
}

// partyOf returns the caller's role in incident id ("" for the System
// principal) and the incident's owner, or ENOTFOUND when the incident
// does not exist or the caller is not a party.
func (db *DB) partyOf(ctx context.Context, q querier, sc scope, id string) (bulwark.PartyRole, string, error) {
	var owner string
	err := q.QueryRowContext(ctx, "SELECT owner FROM incidents WHERE id = $1", id).Scan(&owner)
	if err == sql.ErrNoRows {
		return "", "", incidentNotFound(id)
	}
	if err != nil {
		return "", "", db.d.mapErr("read incident", err)
	}
	if sc.all {
		return "", owner, nil
	}
	var role string
	err = q.QueryRowContext(ctx, "SELECT role FROM incident_parties WHERE incident_id = $1 AND org = $2", id, sc.p.Org).Scan(&role)
	if err == sql.ErrNoRows {
		return "", "", incidentNotFound(id)
	}
	if err != nil {
		return "", "", db.d.mapErr("read incident", err)
	}
	return bulwark.PartyRole(role), owner, nil
}

// coordinates reports whether the caller sees and steers the whole incident.
func coordinates(sc scope, role bulwark.PartyRole) bool { return sc.all || role.Coordinates() }

// audienceText stores an audience list.
func audienceText(orgs []string) string {
	if len(orgs) == 0 {
		return ""
	}
	return strings.Join(orgs, ",")
}

// inAudience reports whether the caller, a party in role, may read a
// timeline entry.
func inAudience(sc scope, role bulwark.PartyRole, audience string) bool {
	if sc.all || audience == "" {
		return true
	}
	list := strings.Split(audience, ",")
	return slices.Contains(list, sc.p.Org) || role.Coordinates() && slices.Contains(list, bulwark.TimelineCoordinators)
}

// headerBody is the incident without what the rows hold.
func headerBody(inc *bulwark.Incident) (string, error) {
	h := *inc
	h.Parties, h.Affected, h.Tasks, h.HiddenAffected, h.Role = nil, nil, nil, 0, ""
	b, err := json.Marshal(&h)
	if err != nil {
		return "", fmt.Errorf("encode incident: %w", err)
	}
	return string(b), nil
}

// loadIncident reads an incident; full loads everything (for changes),
// otherwise it is cut to what the caller sees.
func (db *DB) loadIncident(ctx context.Context, q querier, sc scope, id string, role bulwark.PartyRole, full bool) (*bulwark.Incident, error) {
	var body, action string
	if err := q.QueryRowContext(ctx, "SELECT body, public_action FROM incidents WHERE id = $1", id).Scan(&body, &action); err != nil {
		if err == sql.ErrNoRows {
			return nil, incidentNotFound(id)
		}
		return nil, db.d.mapErr("read incident", err)
	}
	var inc bulwark.Incident
	if err := json.Unmarshal([]byte(body), &inc); err != nil {
		return nil, fmt.Errorf("decode incident %s: %w", id, err)
	}
	inc.PublicAction = action // the column is the record (migration 00014)
	inc.Role = role
	all := full || coordinates(sc, role)

	rows, err := q.QueryContext(ctx, "SELECT org, role, reason FROM incident_parties WHERE incident_id = $1", id)
	if err != nil {
		return nil, db.d.mapErr("read incident parties", err)
	}
	for rows.Next() {
		var p bulwark.IncidentParty
		var r string
		if err := rows.Scan(&p.Org, &r, &p.Reason); err != nil {
			rows.Close()
			return nil, db.d.mapErr("read incident parties", err)
		}
		p.Role = bulwark.PartyRole(r)
		if all || p.Role == bulwark.PartyReporter || p.Org == sc.p.Org {
			inc.Parties = append(inc.Parties, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.d.mapErr("read incident parties", err)
	}
	sortParties(inc.Parties)

	if inc.Affected, inc.HiddenAffected, err = db.loadAffected(ctx, q, sc, id, full); err != nil {
		return nil, err
	}

	rows, err = q.QueryContext(ctx, "SELECT org, body FROM incident_tasks WHERE incident_id = $1 ORDER BY seq", id)
	if err != nil {
		return nil, db.d.mapErr("read incident tasks", err)
	}
	defer rows.Close()
	for rows.Next() {
		var org, tb string
		if err := rows.Scan(&org, &tb); err != nil {
			return nil, db.d.mapErr("read incident tasks", err)
		}
		if !all && org != sc.p.Org {
			continue
		}
		var t bulwark.IncidentTask
		if err := json.Unmarshal([]byte(tb), &t); err != nil {
			return nil, fmt.Errorf("decode incident task: %w", err)
		}
		inc.Tasks = append(inc.Tasks, t)
	}
	return &inc, db.d.mapErr("read incident tasks", rows.Err())
}

// loadAffected reads the affected entities the caller may see (all when
// full): those whose owner's city model the caller sees.
func (db *DB) loadAffected(ctx context.Context, q querier, sc scope, id string, full bool) ([]bulwark.Affected, int, error) {
	rows, err := q.QueryContext(ctx, "SELECT owner, body FROM incident_affected WHERE incident_id = $1 ORDER BY entity_id", id)
	if err != nil {
		return nil, 0, db.d.mapErr("read affected entities", err)
	}
	defer rows.Close()
	var out []bulwark.Affected
	hidden := 0
	for rows.Next() {
		var owner, ab string
		if err := rows.Scan(&owner, &ab); err != nil {
			return nil, 0, db.d.mapErr("read affected entities", err)
		}
		if !full && !sc.sees(owner) {
			hidden++
			continue
		}
		var a bulwark.Affected
		if err := json.Unmarshal([]byte(ab), &a); err != nil {
			return nil, 0, fmt.Errorf("decode affected entity: %w", err)
		}
		out = append(out, a)
	}
	return out, hidden, db.d.mapErr("read affected entities", rows.Err())
}

var partyOrder = map[bulwark.PartyRole]int{bulwark.PartyReporter: 0, bulwark.PartyAffected: 1, bulwark.PartyCoordinator: 2, bulwark.PartyAuthority: 3}

func sortParties(ps []bulwark.IncidentParty) {
	slices.SortStableFunc(ps, func(a, b bulwark.IncidentParty) int {
		if partyOrder[a.Role] != partyOrder[b.Role] {
			return partyOrder[a.Role] - partyOrder[b.Role]
		}
		return strings.Compare(a.Org, b.Org)
	})
}

// checkTimeline validates entries before they are written.
func checkTimeline(entries []bulwark.TimelineEntry) error {
	for _, e := range entries {
		if e.Text == "" || len(e.Text) > bulwark.MaxTimelineText {
			return bulwark.Errorf(bulwark.EINVALID, "a timeline entry holds 1 to %d bytes of text", bulwark.MaxTimelineText)
		}
		if len(e.Kind) == 0 || len(e.Kind) > 40 || len(e.Audience) > 100 {
			return bulwark.Errorf(bulwark.EINVALID, "timeline entry: bad kind or audience")
		}
		for _, o := range e.Audience {
			if !bulwark.ValidID(o) && o != bulwark.TimelineCoordinators {
				return bulwark.Errorf(bulwark.EINVALID, "timeline audience %q is not an organization ID", bulwark.Truncate(o, 64))
			}
		}
	}
	return nil
}

// appendTimeline writes entries after the last one of the incident.
func (db *DB) appendTimeline(ctx context.Context, q querier, sc scope, id string, entries []bulwark.TimelineEntry, now time.Time) error {
	if len(entries) == 0 {
		return nil
	}
	var seq int64
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM incident_timeline WHERE incident_id = $1", id).Scan(&seq); err != nil {
		return db.d.mapErr("append to the timeline", err)
	}
	for _, e := range entries {
		seq++
		at := e.At
		if at.IsZero() {
			at = now
		}
		org := e.Org
		if org == "" {
			org = sc.auditOrg()
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO incident_timeline (incident_id, seq, at, actor, org, kind, audience, text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			id, seq, micros(at), sc.actor(), org, e.Kind, audienceText(e.Audience), e.Text); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "incident %s changed at the same time; try again", id)
			}
			return db.d.mapErr("append to the timeline", err)
		}
	}
	return nil
}

// insertTasks writes new tasks, numbering them after the incident's last.
func (db *DB) insertTasks(ctx context.Context, q querier, sc scope, id string, tasks []bulwark.IncidentTask, now time.Time) error {
	var seq int64
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM incident_tasks WHERE incident_id = $1", id).Scan(&seq); err != nil {
		return db.d.mapErr("add incident tasks", err)
	}
	for i := range tasks {
		t := &tasks[i]
		if t.Title == "" || len(t.Title) > 500 || len(t.Detail) > bulwark.MaxIncidentText || len(t.Note) > bulwark.MaxTimelineText || !bulwark.ValidID(t.Org) {
			return bulwark.Errorf(bulwark.EINVALID, "task %d: a title of 1 to 500 bytes and an assignee organization are required", i+1)
		}
		if t.Status == "" {
			t.Status = bulwark.TaskOpen
		}
		if !bulwark.ValidTaskStatus(t.Status) {
			return bulwark.Errorf(bulwark.EINVALID, "task status %q: use open, in-progress, done or skipped", bulwark.Truncate(string(t.Status), 40))
		}
		seq++
		t.ID = "t" + strconv.FormatInt(seq, 10)
		t.Rev, t.UpdatedBy, t.UpdatedAt = 1, sc.actor(), now
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("encode task: %w", err)
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO incident_tasks (incident_id, task_id, seq, org, status, rev, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			id, t.ID, seq, t.Org, string(t.Status), t.Rev, string(b)); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "incident %s changed at the same time; try again", id)
			}
			return db.d.mapErr("add incident tasks", err)
		}
	}
	return nil
}

// insertParties adds parties not yet recorded and returns those added.
func (db *DB) insertParties(ctx context.Context, q querier, id string, parties []bulwark.IncidentParty, now time.Time) ([]bulwark.IncidentParty, error) {
	var added []bulwark.IncidentParty
	for _, p := range parties {
		if !bulwark.ValidID(p.Org) || len(p.Reason) > 500 {
			return nil, bulwark.Errorf(bulwark.EINVALID, "party %q is not an organization ID", bulwark.Truncate(p.Org, 64))
		}
		switch p.Role {
		case bulwark.PartyReporter, bulwark.PartyAffected, bulwark.PartyCoordinator, bulwark.PartyAuthority:
		default:
			return nil, bulwark.Errorf(bulwark.EINVALID, "party role %q", bulwark.Truncate(string(p.Role), 40))
		}
		res, err := q.ExecContext(ctx, "INSERT INTO incident_parties (incident_id, org, role, reason, added_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incident_id, org) DO NOTHING",
			id, p.Org, string(p.Role), p.Reason, micros(now))
		if err != nil {
			return nil, db.d.mapErr("record incident parties", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			added = append(added, p)
		}
	}
	return added, nil
}

// CreateIncident stores a new incident of the caller's organization.
func (db *DB) CreateIncident(ctx context.Context, inc *bulwark.Incident, entries []bulwark.TimelineEntry) error {
	if inc.ID != "" && !bulwark.ValidID(inc.ID) {
		return bulwark.Errorf(bulwark.EINVALID, "incident id %q is not valid", bulwark.Truncate(inc.ID, 64))
	}
	if strings.TrimSpace(inc.Title) == "" || len(inc.Title) > 500 || len(inc.Description) > bulwark.MaxIncidentText {
		return bulwark.Errorf(bulwark.EINVALID, "an incident needs a title of 1 to 500 bytes and a description of at most %d", bulwark.MaxIncidentText)
	}
	if !inc.Phase.Valid() || !inc.Severity.Level.Valid() || len(inc.Affected) > 100_000 || len(inc.Tasks) > 10_000 {
		return bulwark.Errorf(bulwark.EINVALID, "incident phase, severity or size out of range")
	}
	if err := checkTimeline(entries); err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if err := sc.canWrite("report an incident"); err != nil {
			return err
		}
		if !sc.all {
			inc.Owner = sc.p.Org
		}
		var one int
		if err := q.QueryRowContext(ctx, "SELECT 1 FROM organizations WHERE id = $1", inc.Owner).Scan(&one); err != nil {
			if err == sql.ErrNoRows {
				return bulwark.Errorf(bulwark.EINVALID, "incident owner %q is not an organization", bulwark.Truncate(inc.Owner, 128))
			}
			return db.d.mapErr("report an incident", err)
		}
		if inc.ID == "" {
			inc.ID = newID("inc-")
		}
		now := db.now()
		inc.Rev, inc.CreatedAt, inc.UpdatedAt = 1, now, now
		inc.CreatedBy, inc.UpdatedBy = sc.actor(), sc.actor()
		// The reporter is always the first party.
		parties := append([]bulwark.IncidentParty{{Org: inc.Owner, Role: bulwark.PartyReporter, Reason: "reported the incident"}}, inc.Parties...)
		for i := 1; i < len(parties); i++ {
			if parties[i].Org == inc.Owner {
				parties[0] = parties[i]
				parties[0].Role = bulwark.PartyReporter
				parties = slices.Delete(parties, i, i+1)
				break
			}
		}
		body, err := headerBody(inc)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO incidents (id, owner, phase, level, rev, detected_at, body, created_at, updated_at, public_action) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			inc.ID, inc.Owner, string(inc.Phase), int(inc.Severity.Level), inc.Rev, micros(inc.DetectedAt), body, micros(now), micros(now), inc.PublicAction); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "incident id %s is already in use", inc.ID)
			}
			return db.d.mapErr("report an incident", err)
		}
		if _, err := db.insertParties(ctx, q, inc.ID, parties, now); err != nil {
			return err
		}
		inc.Parties = parties
		for _, a := range inc.Affected {
			if !bulwark.ValidID(a.ID) || !bulwark.ValidID(a.Owner) {
				return bulwark.Errorf(bulwark.EINVALID, "affected entity %q has no valid ID or owner", bulwark.Truncate(a.ID, 64))
			}
			ab, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("encode affected entity: %w", err)
			}
			if _, err := q.ExecContext(ctx, "INSERT INTO incident_affected (incident_id, entity_id, owner, body) VALUES ($1, $2, $3, $4)",
				inc.ID, a.ID, a.Owner, string(ab)); err != nil {
				if db.d.isUnique(err) {
					return bulwark.Errorf(bulwark.EINVALID, "affected entity %s is listed twice", a.ID)
				}
				return db.d.mapErr("report an incident", err)
			}
		}
		if err := db.insertTasks(ctx, q, sc, inc.ID, inc.Tasks, now); err != nil {
			return err
		}
		if err := db.appendTimeline(ctx, q, sc, inc.ID, entries, now); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "incident.create", Target: "incident:" + inc.ID, Outcome: "ok",
			Detail: fmt.Sprintf("severity %d (%s), %d parties, %d affected, %d tasks", inc.Severity.Level, inc.Severity.Level, len(parties), len(inc.Affected), len(inc.Tasks))})
	})
}

// FindIncident returns an incident as the caller sees it.
func (db *DB) FindIncident(ctx context.Context, id string) (*bulwark.Incident, error) {
	var out *bulwark.Incident
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		role, _, err := db.partyOf(ctx, q, sc, id)
		if err != nil {
			return err
		}
		out, err = db.loadIncident(ctx, q, sc, id, role, false)
		return err
	})
	return out, err
}

// ListIncidents lists the incidents the caller is a party of, most severe
// first, then most recently detected.
func (db *DB) ListIncidents(ctx context.Context, f bulwark.IncidentFilter) ([]bulwark.Incident, error) {
	var out []bulwark.Incident
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		from := "incidents i"
		sel := "i.id, i.body, i.public_action, ''"
		var conds []string
		if !sc.all {
			from += " JOIN incident_parties p ON p.incident_id = i.id AND p.org = " + a.add(sc.p.Org)
			sel = "i.id, i.body, i.public_action, p.role"
		}
		if f.Active {
			conds = append(conds, "i.phase IN "+a.list([]string{string(bulwark.PhaseDetection), string(bulwark.PhaseContainment), string(bulwark.PhaseEradication), string(bulwark.PhaseRecovery)}))
		}
		if f.Phase != "" {
			conds = append(conds, "i.phase = "+a.add(string(f.Phase)))
		}
		if f.Owner != "" {
			conds = append(conds, "i.owner = "+a.add(f.Owner))
		}
		if f.MinLevel > 0 {
			conds = append(conds, "i.level >= "+a.add(int(f.MinLevel)))
		}
		if !f.Since.IsZero() {
			conds = append(conds, "i.detected_at >= "+a.add(micros(f.Since)))
		}
		where := ""
		if len(conds) > 0 {
			where = " WHERE " + strings.Join(conds, " AND ")
		}
		rows, err := q.QueryContext(ctx, "SELECT "+sel+" FROM "+from+where+" ORDER BY i.level DESC, i.detected_at DESC, i.id", a.v...)
		if err != nil {
			return db.d.mapErr("list incidents", err)
		}
		type row struct {
			id, body, action, role string
		}
		var list []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.body, &r.action, &r.role); err != nil {
				rows.Close()
				return db.d.mapErr("list incidents", err)
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return db.d.mapErr("list incidents", err)
		}
		for _, r := range list {
			var inc bulwark.Incident
			if err := json.Unmarshal([]byte(r.body), &inc); err != nil {
				return fmt.Errorf("decode incident %s: %w", r.id, err)
			}
			inc.PublicAction = r.action
			inc.Role = bulwark.PartyRole(r.role)
			if f.WithAffected {
				if inc.Affected, inc.HiddenAffected, err = db.loadAffected(ctx, q, sc, r.id, false); err != nil {
					return err
				}
			}
			out = append(out, inc)
		}
		return nil
	})
	return out, err
}

// UpdateIncident changes an incident's header as a coordinating party.
// Parties fn adds are recorded; tasks it appends without an ID are added.
func (db *DB) UpdateIncident(ctx context.Context, id string, fn func(inc *bulwark.Incident) ([]bulwark.TimelineEntry, error)) error {
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		role, _, err := db.partyOf(ctx, q, sc, id)
		if err != nil {
			return err
		}
		if err := sc.canWrite("change an incident"); err != nil {
			return err
		}
		if !coordinates(sc, role) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "only the reporting organization and the coordinators change an incident's phase and severity; you take part as %s", role)
		}
		cur, err := db.loadIncident(ctx, q, sc, id, role, true)
		if err != nil {
			return err
		}
		inc := *cur
		inc.Parties = slices.Clone(cur.Parties)
		inc.Tasks = slices.Clone(cur.Tasks)
		entries, err := fn(&inc)
		if err != nil {
			return err
		}
		if err := checkTimeline(entries); err != nil {
			return err
		}
		if !inc.Phase.Valid() || !inc.Severity.Level.Valid() || !inc.Severity.Computed.Valid() {
			return bulwark.Errorf(bulwark.EINVALID, "incident phase or severity out of range")
		}
		if o := inc.Severity.Override; o != nil && (!o.Level.Valid() || len(o.Reason) > bulwark.MaxTimelineText) {
			return bulwark.Errorf(bulwark.EINVALID, "severity override out of range")
		}
		now := db.now()
		// What fn may not change.
		inc.ID, inc.Owner, inc.CreatedAt, inc.CreatedBy, inc.Affected = cur.ID, cur.Owner, cur.CreatedAt, cur.CreatedBy, cur.Affected
		inc.Rev, inc.UpdatedBy, inc.UpdatedAt = cur.Rev+1, sc.actor(), now
		body, err := headerBody(&inc)
		if err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, "UPDATE incidents SET phase = $1, level = $2, rev = $3, body = $4, updated_at = $5, public_action = $6 WHERE id = $7 AND rev = $8",
			string(inc.Phase), int(inc.Severity.Level), inc.Rev, body, micros(now), inc.PublicAction, id, cur.Rev)
		if err != nil {
			return db.d.mapErr("change an incident", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return bulwark.Errorf(bulwark.ECONFLICT, "incident %s changed at the same time; try again", id)
		}
		if _, err := db.insertParties(ctx, q, id, inc.Parties, now); err != nil {
			return err
		}
		var newTasks []bulwark.IncidentTask
		for _, t := range inc.Tasks {
			if t.ID != "" {
				continue
			}
			if !slices.ContainsFunc(inc.Parties, func(p bulwark.IncidentParty) bool { return p.Org == t.Org }) {
				return bulwark.Errorf(bulwark.EINVALID, "task %q: %s takes no part in the incident", bulwark.Truncate(t.Title, 60), bulwark.Truncate(t.Org, 64))
			}
			newTasks = append(newTasks, t)
		}
		if err := db.insertTasks(ctx, q, sc, id, newTasks, now); err != nil {
			return err
		}
		if err := db.appendTimeline(ctx, q, sc, id, entries, now); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "incident.update", Target: "incident:" + id, Outcome: "ok",
			Detail: fmt.Sprintf("rev %d: %s, severity %d", inc.Rev, inc.Phase, inc.Severity.Level)})
	})
}

// UpdateTask changes one task as its organization or a coordinating party.
// A task the caller may not see is not found.
func (db *DB) UpdateTask(ctx context.Context, incidentID, taskID string, fn func(t *bulwark.IncidentTask) ([]bulwark.TimelineEntry, error)) error {
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		role, _, err := db.partyOf(ctx, q, sc, incidentID)
		if err != nil {
			return err
		}
		var org, tb string
		var rev int
		err = q.QueryRowContext(ctx, "SELECT org, rev, body FROM incident_tasks WHERE incident_id = $1 AND task_id = $2", incidentID, taskID).Scan(&org, &rev, &tb)
		if err == sql.ErrNoRows || (err == nil && !coordinates(sc, role) && org != sc.p.Org) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "task %q of incident %s not found", bulwark.Truncate(taskID, 64), incidentID)
		}
		if err != nil {
			return db.d.mapErr("read incident task", err)
		}
		if err := sc.canWrite("change a task"); err != nil {
			return err
		}
		var t bulwark.IncidentTask
		if err := json.Unmarshal([]byte(tb), &t); err != nil {
			return fmt.Errorf("decode task: %w", err)
		}
		cur := t
		entries, err := fn(&t)
		if err != nil {
			return err
		}
		if err := checkTimeline(entries); err != nil {
			return err
		}
		if !bulwark.ValidTaskStatus(t.Status) || len(t.Note) > bulwark.MaxTimelineText || len(t.Chosen) > bulwark.MaxIDLen {
			return bulwark.Errorf(bulwark.EINVALID, "task status, note or choice out of range")
		}
		now := db.now()
		t.ID, t.Org, t.Ref, t.Source, t.Phase, t.Title, t.Decision = cur.ID, cur.Org, cur.Ref, cur.Source, cur.Phase, cur.Title, cur.Decision
		t.Rev, t.UpdatedBy, t.UpdatedAt = rev+1, sc.actor(), now
		b, err := json.Marshal(&t)
		if err != nil {
			return fmt.Errorf("encode task: %w", err)
		}
		res, err := q.ExecContext(ctx, "UPDATE incident_tasks SET status = $1, rev = $2, body = $3 WHERE incident_id = $4 AND task_id = $5 AND rev = $6",
			string(t.Status), t.Rev, string(b), incidentID, taskID, rev)
		if err != nil {
			return db.d.mapErr("change a task", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return bulwark.Errorf(bulwark.ECONFLICT, "task %s changed at the same time; try again", taskID)
		}
		if err := db.appendTimeline(ctx, q, sc, incidentID, entries, now); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "incident.task", Target: "incident:" + incidentID + "/" + taskID, Outcome: "ok",
			Detail: string(t.Status)})
	})
}

// AddTasks adds tasks as a coordinating party; each assignee must be a
// party.
func (db *DB) AddTasks(ctx context.Context, incidentID string, tasks []bulwark.IncidentTask) error {
	if len(tasks) == 0 {
		return nil
	}
	if len(tasks) > 1000 {
		return bulwark.Errorf(bulwark.EINVALID, "at most 1,000 tasks at once")
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		role, _, err := db.partyOf(ctx, q, sc, incidentID)
		if err != nil {
			return err
		}
		if err := sc.canWrite("add tasks"); err != nil {
			return err
		}
		if !coordinates(sc, role) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "only the reporting organization and the coordinators add tasks")
		}
		var entries []bulwark.TimelineEntry
		for _, t := range tasks {
			var one int
			err := q.QueryRowContext(ctx, "SELECT 1 FROM incident_parties WHERE incident_id = $1 AND org = $2", incidentID, t.Org).Scan(&one)
			if err == sql.ErrNoRows {
				return bulwark.Errorf(bulwark.EINVALID, "task %q: %s takes no part in the incident", bulwark.Truncate(t.Title, 60), bulwark.Truncate(t.Org, 64))
			}
			if err != nil {
				return db.d.mapErr("add tasks", err)
			}
			aud := []string{bulwark.TimelineCoordinators, t.Org}
			entries = append(entries, bulwark.TimelineEntry{Kind: "task", Text: bulwark.Truncate("Task added for "+t.Org+": "+t.Title, bulwark.MaxTimelineText), Audience: aud})
		}
		now := db.now()
		if err := db.insertTasks(ctx, q, sc, incidentID, tasks, now); err != nil {
			return err
		}
		if err := db.appendTimeline(ctx, q, sc, incidentID, entries, now); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "incident.tasks", Target: "incident:" + incidentID, Outcome: "ok",
			Detail: fmt.Sprintf("%d task(s) added", len(tasks))})
	})
}

// AppendTimeline adds an entry as any party's writer.
func (db *DB) AppendTimeline(ctx context.Context, incidentID string, e bulwark.TimelineEntry) error {
	if err := checkTimeline([]bulwark.TimelineEntry{e}); err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if _, _, err := db.partyOf(ctx, q, sc, incidentID); err != nil {
			return err
		}
		if err := sc.canWrite("add to the timeline"); err != nil {
			return err
		}
		e.Org = ""
		if err := db.appendTimeline(ctx, q, sc, incidentID, []bulwark.TimelineEntry{e}, db.now()); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "incident.note", Target: "incident:" + incidentID, Outcome: "ok",
			Detail: e.Kind})
	})
}

// Timeline returns the entries the caller may read, oldest first.
func (db *DB) Timeline(ctx context.Context, incidentID string) ([]bulwark.TimelineEntry, error) {
	var out []bulwark.TimelineEntry
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		role, _, err := db.partyOf(ctx, q, sc, incidentID)
		if err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT seq, at, actor, org, kind, audience, text FROM incident_timeline WHERE incident_id = $1 ORDER BY seq", incidentID)
		if err != nil {
			return db.d.mapErr("read the timeline", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e bulwark.TimelineEntry
			var at int64
			var aud string
			if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Org, &e.Kind, &aud, &e.Text); err != nil {
				return db.d.mapErr("read the timeline", err)
			}
			if !inAudience(sc, role, aud) {
				continue
			}
			e.At = fromMicros(at)
			if aud != "" {
				e.Audience = strings.Split(aud, ",")
			}
			out = append(out, e)
		}
		return db.d.mapErr("read the timeline", rows.Err())
	})
	return out, err
}

func (db *DB) currentReview(ctx context.Context, q querier, id string) (*bulwark.IncidentReview, error) {
	var body string
	err := q.QueryRowContext(ctx, "SELECT body FROM incident_reviews WHERE incident_id = $1 ORDER BY rev DESC LIMIT 1", id).Scan(&body)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, db.d.mapErr("read the review", err)
	}
	var r bulwark.IncidentReview
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, fmt.Errorf("decode review: %w", err)
	}
	return &r, nil
}

// PutReview stores a new revision of the review as a coordinating party.
func (db *DB) PutReview(ctx context.Context, incidentID string, r *bulwark.IncidentReview) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		role, _, err := db.partyOf(ctx, q, sc, incidentID)
		if err != nil {
			return err
		}
		if err := sc.canWrite("write the review"); err != nil {
			return err
		}
		if !coordinates(sc, role) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "only the reporting organization and the coordinators write the after-action review")
		}
		cur, err := db.currentReview(ctx, q, incidentID)
		if err != nil {
			return err
		}
		curRev := 0
		if cur != nil {
			curRev = cur.Rev
		}
		if r.Rev != curRev {
			return bulwark.Errorf(bulwark.ECONFLICT, "the review of %s was changed by %s (now revision %d); your change was based on revision %d — reload and apply it again",
				incidentID, cur.UpdatedBy, curRev, r.Rev)
		}
		now := db.now()
		r.Rev, r.UpdatedBy, r.UpdatedAt = curRev+1, sc.actor(), now
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode review: %w", err)
		}
		shared := 0
		if r.Shared {
			shared = 1
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO incident_reviews (incident_id, rev, shared, at, actor, body) VALUES ($1, $2, $3, $4, $5, $6)",
			incidentID, r.Rev, shared, micros(now), sc.actor(), string(b)); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "the review of %s was changed at the same time; reload it", incidentID)
			}
			return db.d.mapErr("write the review", err)
		}
		var aud []string
		if !r.Shared {
			aud = []string{bulwark.TimelineCoordinators}
		}
		if err := db.appendTimeline(ctx, q, sc, incidentID, []bulwark.TimelineEntry{{Kind: "review", Text: fmt.Sprintf("After-action review revision %d saved", r.Rev), Audience: aud}}, now); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "incident.review", Target: "incident:" + incidentID, Outcome: "ok",
			Detail: fmt.Sprintf("rev %d, %d follow-ups", r.Rev, len(r.FollowUps))})
	})
}

// FindReview returns the current review if the caller may read it.
func (db *DB) FindReview(ctx context.Context, incidentID string) (*bulwark.IncidentReview, error) {
	var out *bulwark.IncidentReview
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		role, _, err := db.partyOf(ctx, q, sc, incidentID)
		if err != nil {
			return err
		}
		r, err := db.currentReview(ctx, q, incidentID)
		if err != nil {
			return err
		}
		if r == nil || (!coordinates(sc, role) && !r.Shared) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "incident %s has no after-action review you can read", incidentID)
		}
		out = r
		return nil
	})
	return out, err
}

// RecordEscalation records a reached stage once (System principal only).
func (db *DB) RecordEscalation(ctx context.Context, incidentID, service, stage string, at time.Time) (bool, error) {
	recorded := false
	err := db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if !sc.all {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "escalations are recorded by the server")
		}
		if _, _, err := db.partyOf(ctx, q, sc, incidentID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, "INSERT INTO incident_escalations (incident_id, service, stage, at) VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id, service, stage) DO NOTHING",
			incidentID, bulwark.Truncate(service, bulwark.MaxIDLen), bulwark.Truncate(stage, 40), micros(at))
		if err != nil {
			return db.d.mapErr("record an escalation", err)
		}
		n, _ := res.RowsAffected()
		recorded = n == 1
		return nil
	})
	return recorded, err
}

// --- playbooks -------------------------------------------------------------

// PutPlaybook stores a new version of a playbook (administrators of a
// city organization; the version must be above every stored one).
func (db *DB) PutPlaybook(ctx context.Context, p *bulwark.Playbook) error {
	if !bulwark.ValidID(p.ID) || p.Version < 1 || len(p.Source) > 1<<20 || p.Title == "" {
		return bulwark.Errorf(bulwark.EINVALID, "a playbook needs an id, a title, a version of 1 or more and at most 1 MiB of source")
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if !sc.all {
			var purview string
			err := q.QueryRowContext(ctx, "SELECT purview FROM organizations WHERE id = $1", sc.p.Org).Scan(&purview)
			if err != nil && err != sql.ErrNoRows {
				return db.d.mapErr("put a playbook", err)
			}
			if sc.p.Role != bulwark.RoleAdmin || bulwark.Purview(purview) != bulwark.PurviewCity {
				return bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators of a city organization may publish playbooks")
			}
		}
		var latest int
		if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM playbooks WHERE id = $1", p.ID).Scan(&latest); err != nil {
			return db.d.mapErr("put a playbook", err)
		}
		if p.Version <= latest {
			return bulwark.Errorf(bulwark.ECONFLICT, "playbook %s is at version %d; give version %d or more", p.ID, latest, latest+1)
		}
		now := db.now()
		p.UpdatedBy, p.UpdatedAt, p.Builtin = sc.actor(), now, false
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode playbook: %w", err)
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO playbooks (id, version, threat, title, source, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			p.ID, p.Version, p.Threat, bulwark.Truncate(p.Title, 500), p.Source, string(b), sc.actor(), micros(now)); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "playbook %s version %d was published at the same time", p.ID, p.Version)
			}
			return db.d.mapErr("put a playbook", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "playbook.put", Target: "playbook:" + p.ID, Outcome: "ok",
			Detail: fmt.Sprintf("version %d", p.Version)})
	})
}

func decodePlaybook(source, body string) (*bulwark.Playbook, error) {
	var p bulwark.Playbook
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return nil, fmt.Errorf("decode playbook: %w", err)
	}
	p.Source = source
	return &p, nil
}

// FindPlaybook returns a stored playbook version (0: the latest).
func (db *DB) FindPlaybook(ctx context.Context, id string, version int) (*bulwark.Playbook, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	var source, body string
	var err error
	if version <= 0 {
		err = db.reader().QueryRowContext(ctx, "SELECT source, body FROM playbooks WHERE id = $1 ORDER BY version DESC LIMIT 1", id).Scan(&source, &body)
	} else {
		err = db.reader().QueryRowContext(ctx, "SELECT source, body FROM playbooks WHERE id = $1 AND version = $2", id, version).Scan(&source, &body)
	}
	if err == sql.ErrNoRows {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "playbook %q not found", bulwark.Truncate(id, 128))
	}
	if err != nil {
		return nil, db.d.mapErr("read a playbook", err)
	}
	return decodePlaybook(source, body)
}

// ListPlaybooks returns the latest version of each stored playbook.
func (db *DB) ListPlaybooks(ctx context.Context) ([]bulwark.Playbook, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	rows, err := db.reader().QueryContext(ctx, "SELECT p.source, p.body FROM playbooks p JOIN (SELECT id, MAX(version) AS v FROM playbooks GROUP BY id) m ON m.id = p.id AND m.v = p.version ORDER BY p.id")
	if err != nil {
		return nil, db.d.mapErr("list playbooks", err)
	}
	defer rows.Close()
	var out []bulwark.Playbook
	for rows.Next() {
		var source, body string
		if err := rows.Scan(&source, &body); err != nil {
			return nil, db.d.mapErr("list playbooks", err)
		}
		p, err := decodePlaybook(source, body)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, db.d.mapErr("list playbooks", rows.Err())
}

// --- directory -------------------------------------------------------------

// PutDirectory stores an organization's directory (its own writers; the
// System principal any). d.Rev must be the stored revision, 0 for none.
func (db *DB) PutDirectory(ctx context.Context, d *bulwark.Directory) error {
	if !bulwark.ValidID(d.Org) || len(d.Contacts) > 500 {
		return bulwark.Errorf(bulwark.EINVALID, "a directory names its organization and holds at most 500 contacts")
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if !sc.owns(d.Org) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "you may change only your own organization's directory")
		}
		if err := sc.canWrite("change the directory"); err != nil {
			return err
		}
		var one int
		if err := q.QueryRowContext(ctx, "SELECT 1 FROM organizations WHERE id = $1", d.Org).Scan(&one); err != nil {
			if err == sql.ErrNoRows {
				return bulwark.Errorf(bulwark.EINVALID, "%q is not an organization", bulwark.Truncate(d.Org, 128))
			}
			return db.d.mapErr("change the directory", err)
		}
		var cur int
		err = q.QueryRowContext(ctx, "SELECT rev FROM incident_directories WHERE org = $1", d.Org).Scan(&cur)
		if err != nil && err != sql.ErrNoRows {
			return db.d.mapErr("change the directory", err)
		}
		if d.Rev != cur {
			return bulwark.Errorf(bulwark.ECONFLICT, "the directory of %s is at revision %d; your change was based on revision %d — reload and apply it again", d.Org, cur, d.Rev)
		}
		now := db.now()
		d.Rev, d.UpdatedBy, d.UpdatedAt = cur+1, sc.actor(), now
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode directory: %w", err)
		}
		if cur == 0 {
			_, err = q.ExecContext(ctx, "INSERT INTO incident_directories (org, rev, body, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)", d.Org, d.Rev, string(b), sc.actor(), micros(now))
		} else {
			_, err = q.ExecContext(ctx, "UPDATE incident_directories SET rev = $1, body = $2, updated_by = $3, updated_at = $4 WHERE org = $5 AND rev = $6", d.Rev, string(b), sc.actor(), micros(now), d.Org, cur)
		}
		if err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "the directory of %s was changed at the same time", d.Org)
			}
			return db.d.mapErr("change the directory", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "directory.put", Target: "org:" + d.Org, Outcome: "ok",
			Detail: fmt.Sprintf("rev %d, %d contacts", d.Rev, len(d.Contacts))})
	})
}

// FindDirectory returns an organization's directory when the caller sees
// that organization's city model.
func (db *DB) FindDirectory(ctx context.Context, org string) (*bulwark.Directory, error) {
	var out *bulwark.Directory
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		var body string
		err = q.QueryRowContext(ctx, "SELECT body FROM incident_directories WHERE org = $1", org).Scan(&body)
		if err == sql.ErrNoRows || (err == nil && !sc.sees(org)) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "no directory of %q that you can see", bulwark.Truncate(org, 128))
		}
		if err != nil {
			return db.d.mapErr("read the directory", err)
		}
		var d bulwark.Directory
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			return fmt.Errorf("decode directory: %w", err)
		}
		out = &d
		return nil
	})
	return out, err
}
