package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"bulwark"
)

// Caps on audit fields, so that a hostile value cannot flood the log.
const (
	maxAuditField  = 512
	maxAuditDetail = 4096
)

// cleanField makes a value safe to log: valid UTF-8, control characters
// (including CR/LF, which could forge lines in a text rendering) replaced,
// and capped in length.
func cleanField(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// appendAudit appends e to the hash chain inside tx. The chain head is read
// under the dialect's audit lock, so concurrent appends never fork it.
func (db *DB) appendAudit(ctx context.Context, tx querier, e bulwark.AuditEntry) error {
	if err := db.d.lockAudit(ctx, tx); err != nil {
		return db.d.mapErr("append audit entry", err)
	}
	var seq int64
	var prev string
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev)
	if err != nil && err != sql.ErrNoRows {
		return db.d.mapErr("append audit entry", err)
	}
	if e.At.IsZero() {
		e.At = db.now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond) // what the database keeps
	e.Org = cleanField(e.Org, maxAuditField)
	e.Actor = cleanField(e.Actor, maxAuditField)
	e.Action = cleanField(e.Action, maxAuditField)
	e.Target = cleanField(e.Target, maxAuditField)
	e.Outcome = cleanField(e.Outcome, maxAuditField)
	e.Detail = cleanField(e.Detail, maxAuditDetail)
	e.Seq, e.Prev = seq+1, prev
	e.Hash = e.ComputeHash()
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, org, actor, action, target, outcome, detail, prev, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.Seq, e.At.UnixMicro(), e.Org, e.Actor, e.Action, e.Target, e.Outcome, e.Detail, e.Prev, e.Hash)
	return db.d.mapErr("append audit entry", err)
}

// AppendAudit records an event that is not itself a stored change, such as
// a failed login. It needs no Principal (a failed login has none); when
// there is one, it fills in Org and Actor if they are empty.
func (db *DB) AppendAudit(ctx context.Context, e bulwark.AuditEntry) error {
	if e.Action == "" {
		return bulwark.Errorf(bulwark.EINVALID, "audit entry has no action")
	}
	if p, ok := bulwark.PrincipalFrom(ctx); ok {
		s := scope{p: p, all: p.System}
		if e.Actor == "" {
			e.Actor = s.actor()
		}
		if e.Org == "" {
			e.Org = s.auditOrg()
		}
	}
	if e.Outcome == "" {
		e.Outcome = "ok"
	}
	return db.inWrite(ctx, func(tx querier) error { return db.appendAudit(ctx, tx, e) })
}

// ListAudit returns up to limit entries with Seq > after, in order: the
// whole log for the System principal, the caller's organization's entries
// for an organization admin. Others may not read the log.
func (db *DB) ListAudit(ctx context.Context, after int64, limit int) ([]bulwark.AuditEntry, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.System && p.Role != bulwark.RoleAdmin {
		return nil, bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators may read the audit log")
	}
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	a := db.d.newArgs()
	q := "SELECT seq, at, org, actor, action, target, outcome, detail, prev, hash FROM audit_log WHERE seq > " + a.add(after)
	if !p.System {
		q += " AND org = " + a.add(p.Org)
	}
	q += " ORDER BY seq LIMIT " + a.add(int64(limit))
	rows, err := db.reader().QueryContext(ctx, q, a.v...)
	if err != nil {
		return nil, db.d.mapErr("list audit log", err)
	}
	defer rows.Close()
	var out []bulwark.AuditEntry
	for rows.Next() {
		var e bulwark.AuditEntry
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Org, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Detail, &e.Prev, &e.Hash); err != nil {
			return nil, db.d.mapErr("list audit log", err)
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, db.d.mapErr("list audit log", rows.Err())
}
