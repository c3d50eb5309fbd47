package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bulwark"
)

const findingCols = `asset_id, vuln_id, owner, status, confidence, evidence, decision, inputs, kev, due,
	first_seen, last_seen, accepted_by, accepted_reason, accepted_until, updated_at`

func scanFinding(sc interface{ Scan(...any) error }) (bulwark.Finding, error) {
	var f bulwark.Finding
	var inputs string
	var kev, due, first, last, until, upd int64
	err := sc.Scan(&f.AssetID, &f.VulnID, &f.Owner, &f.Status, &f.Confidence, &f.Evidence, &f.Decision, &inputs, &kev,
		&due, &first, &last, &f.AcceptedBy, &f.AcceptedReason, &until, &upd)
	if err != nil {
		return f, err
	}
	if inputs != "" {
		if err := json.Unmarshal([]byte(inputs), &f.Inputs); err != nil {
			return f, fmt.Errorf("decode finding inputs: %w", err)
		}
	}
	f.KEV = kev == 1
	f.Due, f.FirstSeen, f.LastSeen = fromMicros(due), fromMicros(first), fromMicros(last)
	f.AcceptedUntil, f.UpdatedAt = fromMicros(until), fromMicros(upd)
	return f, nil
}

// SyncFindings reconciles one matching run with the stored findings. Only
// the System principal runs matching: it sees every organization's assets.
func (db *DB) SyncFindings(ctx context.Context, s bulwark.FindingSync) (bulwark.SyncStats, error) {
	var st bulwark.SyncStats
	p, err := principal(ctx)
	if err != nil {
		return st, err
	}
	if !p.System {
		return st, bulwark.Errorf(bulwark.EFORBIDDEN, "findings: only the matching job may synchronize findings")
	}
	at := s.At
	if at.IsZero() {
		at = db.now()
	}
	err = db.inWrite(ctx, func(q querier) error {
		existing, err := db.scopedFindings(ctx, q, s)
		if err != nil {
			return err
		}
		matched := make(map[[2]string]bool, len(s.Matches))
		var ins []bulwark.Finding
		var upd []bulwark.Finding
		var events []findingEvent
		for _, m := range s.Matches {
			k := [2]string{m.AssetID, m.VulnID}
			if matched[k] {
				continue
			}
			matched[k] = true
			old, ok := existing[k]
			if s.Due != nil {
				first := at
				if ok {
					first = old.FirstSeen
				}
				m.Due = s.Due(&m, first).UTC().Truncate(time.Microsecond)
			}
			if !ok {
				m.Status, m.FirstSeen, m.LastSeen, m.UpdatedAt = bulwark.FindingOpen, at, at, at
				ins = append(ins, m)
				events = append(events, findingEvent{m.AssetID, m.VulnID, m.Owner, "", bulwark.FindingOpen, "detected: " + m.Evidence})
				st.New++
				continue
			}
			next := old
			next.Confidence, next.Evidence, next.Decision, next.Inputs, next.Due, next.KEV = m.Confidence, m.Evidence, m.Decision, m.Inputs, m.Due, m.KEV
			next.Owner = m.Owner
			switch {
			case old.Status == bulwark.FindingVerified:
				next.Status = bulwark.FindingOpen
				events = append(events, findingEvent{m.AssetID, m.VulnID, m.Owner, old.Status, next.Status, "matched again after it was verified fixed"})
				st.Reopened++
			case old.Status == bulwark.FindingAccepted && !old.AcceptedUntil.IsZero() && !old.AcceptedUntil.After(at):
				next.Status = bulwark.FindingOpen
				events = append(events, findingEvent{m.AssetID, m.VulnID, m.Owner, old.Status, next.Status,
					"risk acceptance by " + old.AcceptedBy + " expired " + old.AcceptedUntil.Format(time.DateOnly)})
				st.Reopened++
			case old.Confidence == next.Confidence && old.Evidence == next.Evidence && old.Decision == next.Decision &&
				old.Due.Equal(next.Due) && old.Owner == next.Owner && old.KEV == next.KEV && sameInputs(old.Inputs, next.Inputs):
				st.Unchanged++
				continue
			default:
				st.Updated++
			}
			next.LastSeen, next.UpdatedAt = at, at
			upd = append(upd, next)
		}
		for k, old := range existing {
			if matched[k] {
				continue
			}
			var to bulwark.FindingStatus
			var note string
			switch old.Status {
			case bulwark.FindingVerified:
				continue
			case bulwark.FindingFixed:
				to, note = bulwark.FindingVerified, "verified: the asset no longer matches"
			default:
				to, note = bulwark.FindingFixed, "closed: the asset no longer matches (inventory or advisory changed)"
			}
			events = append(events, findingEvent{old.AssetID, old.VulnID, old.Owner, old.Status, to, note})
			old.Status, old.UpdatedAt = to, at
			upd = append(upd, old)
			st.Closed++
		}
		if err := db.insertFindings(ctx, q, ins); err != nil {
			return err
		}
		for _, f := range upd {
			if err := db.updateFinding(ctx, q, f); err != nil {
				return err
			}
		}
		if err := db.insertEvents(ctx, q, at, "matcher", events); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Actor: "matcher", Action: "findings.sync", Outcome: "ok",
			Detail: fmt.Sprintf("new %d, updated %d, unchanged %d, closed %d, reopened %d", st.New, st.Updated, st.Unchanged, st.Closed, st.Reopened)})
	})
	return st, err
}

type findingEvent struct {
	asset, vuln, owner string
	from, to           bulwark.FindingStatus
	note               string
}

// scopedFindings reads the stored findings inside a sync's scope.
func (db *DB) scopedFindings(ctx context.Context, q querier, s bulwark.FindingSync) (map[[2]string]bulwark.Finding, error) {
	out := map[[2]string]bulwark.Finding{}
	read := func(where string, args []any) error {
		rows, err := q.QueryContext(ctx, "SELECT "+findingCols+" FROM findings"+where, args...)
		if err != nil {
			return db.d.mapErr("read findings", err)
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFinding(rows)
			if err != nil {
				return db.d.mapErr("read findings", err)
			}
			out[[2]string{f.AssetID, f.VulnID}] = f
		}
		return db.d.mapErr("read findings", rows.Err())
	}
	if s.Full {
		return out, read("", nil)
	}
	for _, part := range []struct {
		col string
		ids []string
	}{{"vuln_id", s.Vulns}, {"asset_id", s.Assets}} {
		for ids := part.ids; len(ids) > 0; {
			n := min(len(ids), 500)
			a := db.d.newArgs()
			if err := read(" WHERE "+part.col+" IN "+a.list(ids[:n]), a.v); err != nil {
				return nil, err
			}
			ids = ids[n:]
		}
	}
	return out, nil
}

func (db *DB) insertFindings(ctx context.Context, q querier, fs []bulwark.Finding) error {
	const per = 16
	batch := min(500, db.d.maxParams/per)
	for len(fs) > 0 {
		n := min(batch, len(fs))
		a := db.d.newArgs()
		var vals strings.Builder
		for i, f := range fs[:n] {
			if i > 0 {
				vals.WriteByte(',')
			}
			inputs, _ := json.Marshal(f.Inputs)
			k := 0
			if f.KEV {
				k = 1
			}
			fmt.Fprintf(&vals, "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
				a.add(f.AssetID), a.add(f.VulnID), a.add(f.Owner), a.add(string(f.Status)), a.add(string(f.Confidence)),
				a.add(bulwark.Truncate(f.Evidence, 2000)), a.add(string(f.Decision)), a.add(string(inputs)), a.add(k), a.add(micros(f.Due)),
				a.add(micros(f.FirstSeen)), a.add(micros(f.LastSeen)), a.add(f.AcceptedBy), a.add(f.AcceptedReason),
				a.add(micros(f.AcceptedUntil)), a.add(micros(f.UpdatedAt)))
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO findings ("+findingCols+") VALUES "+vals.String(), a.v...); err != nil {
			return db.d.mapErr("store findings", err)
		}
		fs = fs[n:]
	}
	return nil
}

func (db *DB) updateFinding(ctx context.Context, q querier, f bulwark.Finding) error {
	inputs, _ := json.Marshal(f.Inputs)
	kev := 0
	if f.KEV {
		kev = 1
	}
	_, err := q.ExecContext(ctx, `UPDATE findings SET owner = $1, status = $2, confidence = $3, evidence = $4, decision = $5,
		inputs = $6, due = $7, last_seen = $8, accepted_by = $9, accepted_reason = $10, accepted_until = $11, updated_at = $12,
		kev = $13 WHERE asset_id = $14 AND vuln_id = $15`,
		f.Owner, string(f.Status), string(f.Confidence), bulwark.Truncate(f.Evidence, 2000), string(f.Decision), string(inputs),
		micros(f.Due), micros(f.LastSeen), f.AcceptedBy, f.AcceptedReason, micros(f.AcceptedUntil), micros(f.UpdatedAt),
		kev, f.AssetID, f.VulnID)
	return db.d.mapErr("update finding", err)
}

func (db *DB) insertEvents(ctx context.Context, q querier, at time.Time, actor string, evs []findingEvent) error {
	const per = 8
	batch := min(500, db.d.maxParams/per)
	for len(evs) > 0 {
		n := min(batch, len(evs))
		a := db.d.newArgs()
		var vals strings.Builder
		for i, e := range evs[:n] {
			if i > 0 {
				vals.WriteByte(',')
			}
			fmt.Fprintf(&vals, "(%s,%s,%s,%s,%s,%s,%s,%s)", a.add(e.asset), a.add(e.vuln), a.add(e.owner), a.add(micros(at)),
				a.add(cleanField(actor, maxAuditField)), a.add(string(e.from)), a.add(string(e.to)), a.add(cleanField(e.note, maxAuditDetail)))
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO finding_events (asset_id, vuln_id, owner, at, actor, from_status, to_status, note) VALUES "+vals.String(), a.v...); err != nil {
			return db.d.mapErr("store finding history", err)
		}
		evs = evs[n:]
	}
	return nil
}

// ListFindings lists the findings the caller may see.
func (db *DB) ListFindings(ctx context.Context, f bulwark.FindingFilter) (bulwark.Page[bulwark.Finding], error) {
	var page bulwark.Page[bulwark.Finding]
	limit := pageSize(f.Limit)
	err := db.inRead(ctx, func(q querier) error {
		s, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		where := findingWhere(s, &a, f)
		order := " ORDER BY asset_id, vuln_id"
		offset := 0
		if f.Sort == "priority" {
			if f.After != "" {
				n, err := strconv.Atoi(f.After)
				if err != nil || n < 0 {
					return bulwark.Errorf(bulwark.EINVALID, "findings: cursor %q is not an offset", bulwark.Truncate(f.After, 40))
				}
				offset = n
			}
			order = ` ORDER BY kev DESC, CASE decision WHEN 'Act' THEN 0 WHEN 'Attend' THEN 1 WHEN 'Track*' THEN 2 ELSE 3 END,
				due, asset_id, vuln_id`
		} else if f.After != "" {
			asset, vuln, ok := strings.Cut(f.After, "\x00")
			if !ok {
				asset, vuln = f.After, ""
			}
			where = append(where, "(asset_id > "+a.add(asset)+" OR (asset_id = "+a.add(asset)+" AND vuln_id > "+a.add(vuln)+"))")
		}
		query := "SELECT " + findingCols + " FROM findings WHERE " + strings.Join(where, " AND ") + order +
			" LIMIT " + strconv.Itoa(limit+1) + " OFFSET " + strconv.Itoa(offset)
		rows, err := q.QueryContext(ctx, query, a.v...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			fd, err := scanFinding(rows)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, fd)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page.Items) > limit {
			page.Items = page.Items[:limit]
			last := page.Items[limit-1]
			page.Next = last.AssetID + "\x00" + last.VulnID
			if f.Sort == "priority" {
				page.Next = strconv.Itoa(offset + limit)
			}
		}
		return nil
	})
	return page, db.d.mapErr("list findings", err)
}

// findingWhere is the condition selecting the findings f asks for among
// those the scope sees (paging aside).
func findingWhere(s scope, a *args, f bulwark.FindingFilter) []string {
	where := []string{"1=1"}
	if c := s.filter(a, "owner"); c != "" {
		where = append(where, c)
	}
	if f.Owner != "" {
		where = append(where, "owner = "+a.add(f.Owner))
	}
	if f.Asset != "" {
		where = append(where, "asset_id = "+a.add(f.Asset))
	}
	if f.Vuln != "" {
		where = append(where, "vuln_id = "+a.add(f.Vuln))
	}
	if f.Status != "" {
		where = append(where, "status = "+a.add(string(f.Status)))
	}
	if f.Open {
		where = append(where, "status IN ('open', 'in_remediation')")
	}
	if f.Decision != "" {
		where = append(where, "decision = "+a.add(string(f.Decision)))
	}
	if f.KEV {
		where = append(where, "kev = 1")
	}
	return where
}

// TallyFindings counts findings in the database rather than reading them.
func (db *DB) TallyFindings(ctx context.Context, f bulwark.FindingFilter, now time.Time) ([]bulwark.FindingTally, int64, error) {
	var out []bulwark.FindingTally
	var pairs int64
	err := db.inRead(ctx, func(q querier) error {
		s, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		cut := a.add(micros(now))
		cond := strings.Join(findingWhere(s, &a, f), " AND ")
		rows, err := q.QueryContext(ctx, `SELECT asset_id, owner, decision, kev, CASE WHEN due > 0 AND due < `+cut+` THEN 1 ELSE 0 END AS late,
			COUNT(*) FROM findings WHERE `+cond+` GROUP BY asset_id, owner, decision, kev, late ORDER BY asset_id`, a.v...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t bulwark.FindingTally
			var kev, late int64
			if err := rows.Scan(&t.AssetID, &t.Owner, &t.Decision, &kev, &late, &t.Count); err != nil {
				return err
			}
			t.KEV, t.Overdue = kev == 1, late == 1
			out = append(out, t)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		b := db.d.newArgs()
		cond = strings.Join(findingWhere(s, &b, f), " AND ")
		return q.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT DISTINCT vuln_id, owner FROM findings WHERE "+cond+") p", b.v...).Scan(&pairs)
	})
	return out, pairs, db.d.mapErr("count findings", err)
}

// FindFinding returns one finding the caller may see.
func (db *DB) FindFinding(ctx context.Context, assetID, vulnID string) (*bulwark.Finding, error) {
	var out *bulwark.Finding
	err := db.inRead(ctx, func(q querier) error {
		s, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		f, err := db.findFinding(ctx, q, s, assetID, vulnID)
		out = f
		return err
	})
	return out, err
}

func (db *DB) findFinding(ctx context.Context, q querier, s scope, assetID, vulnID string) (*bulwark.Finding, error) {
	f, err := scanFinding(q.QueryRowContext(ctx, "SELECT "+findingCols+" FROM findings WHERE asset_id = $1 AND vuln_id = $2", assetID, vulnID))
	if err == sql.ErrNoRows || (err == nil && !s.sees(f.Owner)) {
		// The same answer whether it is missing or hidden.
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "finding %s / %s not found", bulwark.Truncate(assetID, 128), bulwark.Truncate(vulnID, 128))
	}
	if err != nil {
		return nil, db.d.mapErr("read finding", err)
	}
	return &f, nil
}

// allowedSteps is the finding lifecycle: which status an owner may move a
// finding to from which.
var allowedSteps = map[bulwark.FindingStatus][]bulwark.FindingStatus{
	bulwark.FindingOpen:          {bulwark.FindingInRemediation, bulwark.FindingFixed, bulwark.FindingAccepted},
	bulwark.FindingInRemediation: {bulwark.FindingOpen, bulwark.FindingFixed, bulwark.FindingAccepted},
	bulwark.FindingFixed:         {bulwark.FindingOpen, bulwark.FindingVerified},
	bulwark.FindingVerified:      {bulwark.FindingOpen},
	bulwark.FindingAccepted:      {bulwark.FindingOpen, bulwark.FindingInRemediation, bulwark.FindingFixed, bulwark.FindingAccepted},
}

// Limits on what an owner writes into a finding.
const (
	maxFindingNote   = 2000
	maxAcceptance    = 366 * 24 * time.Hour // a risk is accepted for at most a year, then reviewed
	maxAcceptedByLen = 200
)

// UpdateFinding moves a finding through its lifecycle. Only its owner's
// writers may; accepting needs who, why and until when (at most a year).
func (db *DB) UpdateFinding(ctx context.Context, assetID, vulnID string, c bulwark.FindingChange) (*bulwark.Finding, error) {
	var out *bulwark.Finding
	err := db.inWrite(ctx, func(q querier) error {
		s, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		f, err := db.findFinding(ctx, q, s, assetID, vulnID)
		if err != nil {
			return err
		}
		if !s.owns(f.Owner) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "finding %s / %s belongs to %s", assetID, vulnID, f.Owner)
		}
		if err := s.canWrite("update finding"); err != nil {
			return err
		}
		if len(c.Note) > maxFindingNote {
			return bulwark.Errorf(bulwark.ETOOLARGE, "finding note: %d bytes, at most %d", len(c.Note), maxFindingNote)
		}
		ok := false
		for _, to := range allowedSteps[f.Status] {
			ok = ok || to == c.Status
		}
		if !ok {
			return bulwark.Errorf(bulwark.ECONFLICT, "finding %s / %s: cannot move from %s to %q", assetID, vulnID, f.Status, c.Status)
		}
		now := db.now()
		from := f.Status
		f.Status, f.UpdatedAt = c.Status, now
		if c.Status == bulwark.FindingAccepted {
			switch {
			case strings.TrimSpace(c.AcceptedBy) == "" || len(c.AcceptedBy) > maxAcceptedByLen:
				return bulwark.Errorf(bulwark.EINVALID, "accepting a risk needs the name of who accepts it (at most %d bytes)", maxAcceptedByLen)
			case strings.TrimSpace(c.Note) == "":
				return bulwark.Errorf(bulwark.EINVALID, "accepting a risk needs a reason")
			case !c.Until.After(now):
				return bulwark.Errorf(bulwark.EINVALID, "accepting a risk needs an expiry in the future")
			case c.Until.Sub(now) > maxAcceptance:
				return bulwark.Errorf(bulwark.EINVALID, "a risk may be accepted for at most a year (until %s)", now.Add(maxAcceptance).Format(time.DateOnly))
			}
			f.AcceptedBy, f.AcceptedReason, f.AcceptedUntil = c.AcceptedBy, c.Note, c.Until.UTC()
		} else {
			f.AcceptedBy, f.AcceptedReason, f.AcceptedUntil = "", "", time.Time{}
		}
		if err := db.updateFinding(ctx, q, *f); err != nil {
			return err
		}
		note := c.Note
		if c.Status == bulwark.FindingAccepted {
			note = fmt.Sprintf("accepted by %s until %s: %s", c.AcceptedBy, c.Until.Format(time.DateOnly), c.Note)
		}
		if err := db.insertEvents(ctx, q, now, s.actor(), []findingEvent{{assetID, vulnID, f.Owner, from, c.Status, note}}); err != nil {
			return err
		}
		out = f
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: s.auditOrg(), Actor: s.actor(), Action: "finding." + string(c.Status),
			Target: "finding:" + assetID + "/" + vulnID, Outcome: "ok", Detail: note})
	})
	return out, err
}

// FindingHistory returns a finding's events, oldest first.
func (db *DB) FindingHistory(ctx context.Context, assetID, vulnID string) ([]bulwark.FindingEvent, error) {
	var out []bulwark.FindingEvent
	err := db.inRead(ctx, func(q querier) error {
		s, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if _, err := db.findFinding(ctx, q, s, assetID, vulnID); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT at, actor, from_status, to_status, note FROM finding_events
			WHERE asset_id = $1 AND vuln_id = $2 ORDER BY id`, assetID, vulnID)
		if err != nil {
			return db.d.mapErr("read finding history", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e bulwark.FindingEvent
			var at int64
			if err := rows.Scan(&at, &e.Actor, &e.From, &e.To, &e.Note); err != nil {
				return db.d.mapErr("read finding history", err)
			}
			e.At = fromMicros(at)
			out = append(out, e)
		}
		return db.d.mapErr("read finding history", rows.Err())
	})
	return out, err
}

// sameInputs compares the stored decision points (their explanation is
// not stored: it is recomputed when a finding is shown).
func sameInputs(a, b bulwark.SSVCInputs) bool {
	return a.Exploitation == b.Exploitation && a.Automatable == b.Automatable &&
		a.TechnicalImpact == b.TechnicalImpact && a.MissionWellbeing == b.MissionWellbeing
}
