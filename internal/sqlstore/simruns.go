package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"bulwark"
)

// Simulation runs (bulwark.SimRunStore). A run is visible to its own
// organization only: sharing grants open an organization's city model to
// another, not the analyses it runs on it.

const simRunColumns = "id, org, submitted_by, kind, name, trials, seed, crews, status, done, total, error, job_id, attempts, created_at, started_at, finished_at, heartbeat_at"

// seesRun reports whether the caller may read a run of org.
func seesRun(sc scope, org string) bool { return sc.all || org == sc.p.Org }

type rowScanner interface{ Scan(dest ...any) error }

func scanSimRun(row rowScanner, extra ...any) (*bulwark.SimRun, error) {
	var r bulwark.SimRun
	var kind, status string
	var seed, created, started, finished, heartbeat int64
	dest := append([]any{&r.ID, &r.Org, &r.SubmittedBy, &kind, &r.Name, &r.Trials, &seed, &r.Crews, &status, &r.Done, &r.Total,
		&r.Error, &r.JobID, &r.Attempts, &created, &started, &finished, &heartbeat}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	r.Kind, r.Status, r.Seed = bulwark.SimRunKind(kind), bulwark.SimRunStatus(status), uint64(seed)
	r.CreatedAt, r.StartedAt, r.FinishedAt, r.HeartbeatAt = fromMicros(created), fromMicros(started), fromMicros(finished), fromMicros(heartbeat)
	return &r, nil
}

// CreateSimRun adds a queued run of the caller's organization.
func (db *DB) CreateSimRun(ctx context.Context, r *bulwark.SimRun) error {
	switch {
	case r.Kind != bulwark.SimSimulate && r.Kind != bulwark.SimInvest:
		return bulwark.Errorf(bulwark.EINVALID, "simulation kind %q: use simulate or invest", bulwark.Truncate(string(r.Kind), 40))
	case len(r.Scenario) == 0 || len(r.Scenario) > bulwark.MaxSimInput || len(r.Options) > bulwark.MaxSimInput:
		return bulwark.Errorf(bulwark.ETOOLARGE, "a simulation needs a scenario; the scenario and the options are limited to %d bytes each", bulwark.MaxSimInput)
	case (r.Kind == bulwark.SimInvest) != (r.Options != ""):
		return bulwark.Errorf(bulwark.EINVALID, "an invest run needs options, a simulate run has none")
	case r.Trials < 1 || r.Crews < 1 || r.Total < 1:
		return bulwark.Errorf(bulwark.EINVALID, "trials, crews and total must be positive")
	case len(r.Name) > 200 || !utf8.ValidString(r.Name) || !utf8.ValidString(r.Scenario) || !utf8.ValidString(r.Options):
		return bulwark.Errorf(bulwark.EINVALID, "the scenario's name is limited to 200 bytes, and texts must be UTF-8")
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		if err := sc.canWrite("run a simulation"); err != nil {
			return err
		}
		if !sc.all {
			r.Org = sc.p.Org
		}
		// The organization's row is locked on PostgreSQL so that concurrent
		// submissions count each other (SQLite has one writer already).
		lock := ""
		if db.d == postgresDialect {
			lock = " FOR UPDATE"
		}
		var one int
		err = q.QueryRowContext(ctx, "SELECT 1 FROM organizations WHERE id = $1"+lock, r.Org).Scan(&one)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.EINVALID, "organization %q does not exist", bulwark.Truncate(r.Org, 128))
		}
		if err != nil {
			return db.d.mapErr("run a simulation", err)
		}
		var active int
		if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM sim_runs WHERE org = $1 AND status IN ('queued', 'running')", r.Org).Scan(&active); err != nil {
			return db.d.mapErr("run a simulation", err)
		}
		if active >= bulwark.MaxActiveSimRuns {
			return bulwark.Errorf(bulwark.ECONFLICT, "%d simulations of your organization are queued or running; wait for one to finish or cancel one", active)
		}
		r.ID = newID("sim-")
		r.SubmittedBy = sc.actor()
		r.Status, r.Done, r.Error, r.JobID, r.Attempts = bulwark.SimQueued, 0, "", 0, 0
		r.CreatedAt = fromMicros(micros(db.now()))
		r.StartedAt, r.FinishedAt, r.HeartbeatAt, r.Result = time.Time{}, time.Time{}, time.Time{}, nil
		_, err = q.ExecContext(ctx, `INSERT INTO sim_runs (id, org, submitted_by, kind, name, scenario, options, trials, seed, crews, status, done, total,
			error, job_id, attempts, created_at, started_at, finished_at, heartbeat_at, result)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, '', 0, 0, $13, 0, 0, 0, '')`,
			r.ID, r.Org, r.SubmittedBy, string(r.Kind), r.Name, r.Scenario, r.Options, r.Trials, int64(r.Seed), r.Crews, string(r.Status), r.Total, micros(r.CreatedAt))
		if err != nil {
			return db.d.mapErr("run a simulation", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: r.Org, Actor: sc.actor(), Action: "sim.submit", Target: "sim:" + r.ID, Outcome: "ok",
			Detail: fmt.Sprintf("%s %q: %d trials, seed %d", r.Kind, bulwark.Truncate(r.Name, 200), r.Trials, r.Seed)})
	})
}

func (db *DB) findSimRun(ctx context.Context, q querier, sc scope, id string, full bool) (*bulwark.SimRun, error) {
	notFound := bulwark.Errorf(bulwark.ENOTFOUND, "simulation %q not found", bulwark.Truncate(id, 128))
	if !bulwark.ValidID(id) {
		return nil, notFound
	}
	cols := simRunColumns
	var scenario, options, result string
	var extra []any
	if full {
		cols += ", scenario, options, result"
		extra = []any{&scenario, &options, &result}
	}
	r, err := scanSimRun(q.QueryRowContext(ctx, "SELECT "+cols+" FROM sim_runs WHERE id = $1", id), extra...)
	if err == sql.ErrNoRows || (err == nil && !seesRun(sc, r.Org)) {
		return nil, notFound
	}
	if err != nil {
		return nil, db.d.mapErr("read simulation", err)
	}
	if full {
		r.Scenario, r.Options = scenario, options
		if result != "" {
			r.Result = []byte(result)
		}
	}
	return r, nil
}

// FindSimRun returns a run of the caller's organization, whole.
func (db *DB) FindSimRun(ctx context.Context, id string) (*bulwark.SimRun, error) {
	var out *bulwark.SimRun
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		out, err = db.findSimRun(ctx, q, sc, id, true)
		return err
	})
	return out, err
}

// ListSimRuns lists the caller's organization's runs (every run for the
// System principal), newest first.
func (db *DB) ListSimRuns(ctx context.Context, f bulwark.SimRunFilter) ([]bulwark.SimRun, error) {
	limit := f.Limit
	if limit == 0 {
		limit = bulwark.DefaultPageSize
	}
	if limit < 1 || limit > bulwark.MaxPageSize {
		return nil, bulwark.Errorf(bulwark.EINVALID, "limit %d: use 1 to %d", limit, bulwark.MaxPageSize)
	}
	for _, s := range f.Statuses {
		switch s {
		case bulwark.SimQueued, bulwark.SimRunning, bulwark.SimDone, bulwark.SimFailed, bulwark.SimCanceled:
		default:
			return nil, bulwark.Errorf(bulwark.EINVALID, "status %q: use queued, running, done, failed or canceled", bulwark.Truncate(string(s), 40))
		}
	}
	var out []bulwark.SimRun
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		var conds []string
		if !sc.all {
			conds = append(conds, "org = "+a.add(sc.p.Org))
		}
		if len(f.Statuses) > 0 {
			st := make([]string, len(f.Statuses))
			for i, s := range f.Statuses {
				st[i] = string(s)
			}
			conds = append(conds, "status IN "+a.list(st))
		}
		if f.Before != "" {
			cur, err := db.findSimRun(ctx, q, sc, f.Before, false)
			if err != nil {
				return bulwark.Errorf(bulwark.EINVALID, "before: %s is not a simulation of yours", bulwark.Truncate(f.Before, 128))
			}
			c := a.add(micros(cur.CreatedAt))
			conds = append(conds, "(created_at < "+c+" OR (created_at = "+a.add(micros(cur.CreatedAt))+" AND id < "+a.add(cur.ID)+"))")
		}
		where := ""
		if len(conds) > 0 {
			where = " WHERE " + strings.Join(conds, " AND ")
		}
		rows, err := q.QueryContext(ctx, "SELECT "+simRunColumns+" FROM sim_runs"+where+" ORDER BY created_at DESC, id DESC LIMIT "+a.add(limit), a.v...)
		if err != nil {
			return db.d.mapErr("list simulations", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanSimRun(rows)
			if err != nil {
				return db.d.mapErr("list simulations", err)
			}
			out = append(out, *r)
		}
		return db.d.mapErr("list simulations", rows.Err())
	})
	return out, err
}

// UpdateSimRun applies a change of the job working a run (see
// bulwark.SimRunUpdate). Only the System principal, which runs the jobs,
// may make it.
func (db *DB) UpdateSimRun(ctx context.Context, id string, u bulwark.SimRunUpdate) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if !p.System {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "simulation runs are updated by their jobs only")
	}
	if len(u.Result) > bulwark.MaxSimResult {
		return bulwark.Errorf(bulwark.ETOOLARGE, "the simulation's result is %d bytes; at most %d are kept: run fewer options or a smaller city", len(u.Result), bulwark.MaxSimResult)
	}
	msg := bulwark.Truncate(strings.ToValidUTF8(u.Error, "?"), bulwark.MaxSimError)
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		cur, err := db.findSimRun(ctx, q, sc, id, false)
		if err != nil {
			return err
		}
		if cur.Status.Final() || cur.JobID != u.Job {
			return bulwark.Errorf(bulwark.ECONFLICT, "simulation %s is %s (job %d), not worked by job %d", id, cur.Status, cur.JobID, u.Job)
		}
		now := micros(db.now())
		a := db.d.newArgs()
		var set []string
		audit := ""
		switch u.Status {
		case bulwark.SimRunning:
			if cur.Status == bulwark.SimQueued {
				if u.Total < 1 {
					return bulwark.Errorf(bulwark.EINVALID, "a run starts with its total")
				}
				set = append(set, "status = 'running'", "started_at = "+a.add(now), "total = "+a.add(u.Total), "error = ''")
			}
			if u.Done < 0 {
				return bulwark.Errorf(bulwark.EINVALID, "negative progress")
			}
			set = append(set, "done = "+a.add(u.Done), "heartbeat_at = "+a.add(now))
		case bulwark.SimQueued:
			set = append(set, "status = 'queued'", "done = 0", "error = "+a.add(msg), "heartbeat_at = "+a.add(now))
			switch {
			case u.Detach:
				set = append(set, "job_id = 0")
				audit = "sim.requeue"
			case u.NewJob != 0:
				if cur.JobID != 0 {
					return bulwark.Errorf(bulwark.ECONFLICT, "simulation %s already has job %d", id, cur.JobID)
				}
				set = append(set, "job_id = "+a.add(u.NewJob), "attempts = attempts + 1")
			}
		case bulwark.SimDone:
			if cur.Status != bulwark.SimRunning || len(u.Result) == 0 {
				return bulwark.Errorf(bulwark.ECONFLICT, "simulation %s is %s: only a running simulation finishes, with a result", id, cur.Status)
			}
			set = append(set, "status = 'done'", "done = total", "finished_at = "+a.add(now), "heartbeat_at = "+a.add(now), "result = "+a.add(string(u.Result)))
			audit = "sim.done"
		case bulwark.SimFailed:
			if msg == "" {
				msg = "failed"
			}
			set = append(set, "status = 'failed'", "error = "+a.add(msg), "finished_at = "+a.add(now), "heartbeat_at = "+a.add(now))
			audit = "sim.failed"
		default:
			return bulwark.Errorf(bulwark.EINVALID, "a job cannot move a run to %q", bulwark.Truncate(string(u.Status), 40))
		}
		where := " WHERE id = " + a.add(id) + " AND job_id = " + a.add(u.Job) + " AND status = " + a.add(string(cur.Status))
		res, err := q.ExecContext(ctx, "UPDATE sim_runs SET "+strings.Join(set, ", ")+where, a.v...)
		if err != nil {
			return db.d.mapErr("update simulation", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return bulwark.Errorf(bulwark.ECONFLICT, "simulation %s changed meanwhile", id)
		}
		if audit == "" {
			return nil
		}
		detail := msg
		if u.Status == bulwark.SimDone {
			detail = fmt.Sprintf("%d trials", cur.Total)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: cur.Org, Actor: sc.actor(), Action: audit, Target: "sim:" + id, Outcome: "ok", Detail: detail})
	})
}

// CancelSimRun cancels a queued or running run of the caller's
// organization.
func (db *DB) CancelSimRun(ctx context.Context, id string) (*bulwark.SimRun, error) {
	var out *bulwark.SimRun
	err := db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		cur, err := db.findSimRun(ctx, q, sc, id, false)
		if err != nil {
			return err
		}
		if err := sc.canWrite("cancel a simulation"); err != nil {
			return err
		}
		if cur.Status.Final() {
			return bulwark.Errorf(bulwark.ECONFLICT, "simulation %s is already %s", id, cur.Status)
		}
		now := db.now()
		res, err := q.ExecContext(ctx, "UPDATE sim_runs SET status = 'canceled', finished_at = $1, error = $2 WHERE id = $3 AND status = $4",
			micros(now), bulwark.Truncate("canceled by "+sc.actor(), bulwark.MaxSimError), id, string(cur.Status))
		if err != nil {
			return db.d.mapErr("cancel simulation", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return bulwark.Errorf(bulwark.ECONFLICT, "simulation %s changed meanwhile; reload it", id)
		}
		cur.Status, cur.FinishedAt, cur.Error = bulwark.SimCanceled, fromMicros(micros(now)), "canceled by "+sc.actor()
		out = cur
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: cur.Org, Actor: sc.actor(), Action: "sim.cancel", Target: "sim:" + id, Outcome: "ok"})
	})
	return out, err
}
