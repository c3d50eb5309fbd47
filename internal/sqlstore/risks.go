package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"bulwark"
)

// checkRiskRefs verifies that the services and systems a risk names exist
// and are visible to the caller (another organization's service may be
// named when it is shared: a risk to the city's water may sit with the
// power company).
func (db *DB) checkRiskRefs(ctx context.Context, q querier, sc scope, r *bulwark.Risk) error {
	want := map[string]bulwark.NodeKind{}
	for _, id := range r.Services {
		want[id] = bulwark.KindService
	}
	for _, id := range r.Systems {
		want[id] = bulwark.KindSystem
	}
	if len(want) == 0 {
		return nil
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	a := db.d.newArgs()
	rows, err := q.QueryContext(ctx, "SELECT id, kind, owner FROM entities WHERE id IN "+a.list(ids), a.v...)
	if err != nil {
		return db.d.mapErr("check risk references", err)
	}
	found := map[string]bool{}
	for rows.Next() {
		var id, owner string
		var kind int
		if err := rows.Scan(&id, &kind, &owner); err != nil {
			rows.Close()
			return db.d.mapErr("check risk references", err)
		}
		if sc.sees(owner) && bulwark.NodeKind(kind) == want[id] {
			found[id] = true
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return db.d.mapErr("check risk references", err)
	}
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, fmt.Sprintf("%s %s", want[id], id))
		}
	}
	if len(missing) > 0 {
		return bulwark.Errorf(bulwark.EINVALID, "risk names what does not exist or you cannot see: %s", strings.Join(missing, ", "))
	}
	return nil
}

func (db *DB) putRiskEvent(ctx context.Context, q querier, r *bulwark.Risk, note string) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode risk: %w", err)
	}
	if _, err := q.ExecContext(ctx, "INSERT INTO risk_events (risk_id, rev, at, actor, note, body) VALUES ($1, $2, $3, $4, $5, $6)",
		r.ID, r.Rev, micros(r.UpdatedAt), r.UpdatedBy, bulwark.Truncate(note, 2000), string(body)); err != nil {
		if db.d.isUnique(err) {
			return bulwark.Errorf(bulwark.ECONFLICT, "risk %s was changed by someone else at the same time; reload it and apply your change again", r.ID)
		}
		return db.d.mapErr("record risk revision", err)
	}
	return nil
}

// CreateRisk adds a risk of the caller's organization (the System
// principal names the owner). ID is generated when empty.
func (db *DB) CreateRisk(ctx context.Context, r *bulwark.Risk) error {
	if r.Status == "" {
		r.Status = bulwark.RiskIdentified
	}
	if err := r.Validate(); err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if err := sc.canWrite("add a risk"); err != nil {
			return err
		}
		if !sc.all {
			r.Owner = sc.p.Org
		}
		var one int
		err = q.QueryRowContext(ctx, "SELECT 1 FROM organizations WHERE id = $1", r.Owner).Scan(&one)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.EINVALID, "risk owner %q is not an organization", bulwark.Truncate(r.Owner, 128))
		}
		if err != nil {
			return db.d.mapErr("add a risk", err)
		}
		if err := db.checkRiskRefs(ctx, q, sc, r); err != nil {
			return err
		}
		if r.ID == "" {
			r.ID = newID("risk-")
		}
		r.Rev, r.UpdatedBy = 1, sc.actor()
		r.CreatedAt = db.now()
		r.UpdatedAt = r.CreatedAt
		body, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode risk: %w", err)
		}
		_, err = q.ExecContext(ctx, "INSERT INTO risks (id, owner, status, score, rev, body, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			r.ID, r.Owner, string(r.Status), r.Score(), r.Rev, string(body), micros(r.UpdatedAt))
		if err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "risk id %s is already in use", r.ID)
			}
			return db.d.mapErr("add a risk", err)
		}
		if err := db.putRiskEvent(ctx, q, r, "created"); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "risk.create",
			Target: "risk:" + r.ID, Outcome: "ok", Detail: fmt.Sprintf("%s (score %d)", bulwark.Truncate(r.Title, 200), r.Score())})
	})
}

// UpdateRisk stores a new revision of a risk. r.Rev must be the stored
// revision; the owner and creation time cannot change.
func (db *DB) UpdateRisk(ctx context.Context, r *bulwark.Risk, note string) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if len(note) > 2000 {
		return bulwark.Errorf(bulwark.EINVALID, "note is limited to 2,000 bytes")
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		cur, err := db.findRisk(ctx, q, sc, r.ID)
		if err != nil {
			return err
		}
		if !sc.owns(cur.Owner) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "risk %s belongs to %s", r.ID, cur.Owner)
		}
		if err := sc.canWrite("change a risk"); err != nil {
			return err
		}
		if r.Rev != cur.Rev {
			return bulwark.Errorf(bulwark.ECONFLICT, "risk %s was changed by %s at %s (now revision %d); your change was based on revision %d — reload and apply it again",
				r.ID, cur.UpdatedBy, cur.UpdatedAt.Format("2006-01-02 15:04:05Z07:00"), cur.Rev, r.Rev)
		}
		if err := db.checkRiskRefs(ctx, q, sc, r); err != nil {
			return err
		}
		r.Owner, r.CreatedAt = cur.Owner, cur.CreatedAt
		r.Rev, r.UpdatedBy, r.UpdatedAt = cur.Rev+1, sc.actor(), db.now()
		body, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode risk: %w", err)
		}
		res, err := q.ExecContext(ctx, "UPDATE risks SET status = $1, score = $2, rev = $3, body = $4, updated_at = $5 WHERE id = $6 AND rev = $7",
			string(r.Status), r.Score(), r.Rev, string(body), micros(r.UpdatedAt), r.ID, cur.Rev)
		if err != nil {
			return db.d.mapErr("change a risk", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return bulwark.Errorf(bulwark.ECONFLICT, "risk %s was changed by someone else at the same time; reload it and apply your change again", r.ID)
		}
		if err := db.putRiskEvent(ctx, q, r, note); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "risk.update",
			Target: "risk:" + r.ID, Outcome: "ok", Detail: fmt.Sprintf("rev %d: %s, score %d", r.Rev, r.Status, r.Score())})
	})
}

func (db *DB) findRisk(ctx context.Context, q querier, sc scope, id string) (*bulwark.Risk, error) {
	var owner, body string
	err := q.QueryRowContext(ctx, "SELECT owner, body FROM risks WHERE id = $1", id).Scan(&owner, &body)
	if err == sql.ErrNoRows || (err == nil && !sc.sees(owner)) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "risk %q not found", bulwark.Truncate(id, 128))
	}
	if err != nil {
		return nil, db.d.mapErr("read risk", err)
	}
	var r bulwark.Risk
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, fmt.Errorf("decode risk %s: %w", id, err)
	}
	return &r, nil
}

// FindRisk returns a risk the caller may see.
func (db *DB) FindRisk(ctx context.Context, id string) (*bulwark.Risk, error) {
	var out *bulwark.Risk
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		out, err = db.findRisk(ctx, q, sc, id)
		return err
	})
	return out, err
}

// ListRisks lists the visible risks f selects, highest score first.
func (db *DB) ListRisks(ctx context.Context, f bulwark.RiskFilter) ([]bulwark.Risk, error) {
	var out []bulwark.Risk
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		var conds []string
		if c := sc.filter(&a, "owner"); c != "" {
			conds = append(conds, c)
		}
		if f.Owner != "" {
			conds = append(conds, "owner = "+a.add(f.Owner))
		}
		if f.Status != "" {
			conds = append(conds, "status = "+a.add(string(f.Status)))
		}
		where := ""
		if len(conds) > 0 {
			where = " WHERE " + strings.Join(conds, " AND ")
		}
		rows, err := q.QueryContext(ctx, "SELECT body FROM risks"+where+" ORDER BY score DESC, id", a.v...)
		if err != nil {
			return db.d.mapErr("list risks", err)
		}
		defer rows.Close()
		for rows.Next() {
			var body string
			if err := rows.Scan(&body); err != nil {
				return db.d.mapErr("list risks", err)
			}
			var r bulwark.Risk
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				return fmt.Errorf("decode risk: %w", err)
			}
			if f.Service != "" && !slices.Contains(r.Services, f.Service) {
				continue
			}
			out = append(out, r)
		}
		return db.d.mapErr("list risks", rows.Err())
	})
	return out, err
}

// RiskHistory lists every revision of a risk, oldest first.
func (db *DB) RiskHistory(ctx context.Context, id string) ([]bulwark.RiskEvent, error) {
	var out []bulwark.RiskEvent
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if _, err := db.findRisk(ctx, q, sc, id); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT rev, at, actor, note, body FROM risk_events WHERE risk_id = $1 ORDER BY rev", id)
		if err != nil {
			return db.d.mapErr("read risk history", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e bulwark.RiskEvent
			var at int64
			var body string
			if err := rows.Scan(&e.Rev, &at, &e.Actor, &e.Note, &body); err != nil {
				return db.d.mapErr("read risk history", err)
			}
			e.At = fromMicros(at)
			if err := json.Unmarshal([]byte(body), &e.Risk); err != nil {
				return fmt.Errorf("decode risk revision: %w", err)
			}
			out = append(out, e)
		}
		return db.d.mapErr("read risk history", rows.Err())
	})
	return out, err
}
