package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"bulwark"
)

// dialect holds what differs between the engines. Everything else is the
// same SQL.
type dialect struct {
	name string
	// ph is the generated placeholder: ? on SQLite, $n on PostgreSQL.
	ph byte
	// maxParams caps bound parameters per statement (SQLite's compiled-in
	// limit is 32766, PostgreSQL's protocol limit 65535).
	maxParams int
	// lockAudit serializes appends to the audit chain within a write
	// transaction. SQLite needs nothing: a write transaction (BEGIN
	// IMMEDIATE, one writer connection) already excludes every other writer.
	lockAudit func(ctx context.Context, tx querier) error
	// arrays says the engine takes arrays as parameters (PostgreSQL):
	// bulk statements then bind one array per column.
	arrays bool
	// beginRead starts a read-only transaction on a raw connection.
	beginRead string
	// isUnique reports a uniqueness violation.
	isUnique func(err error) bool
	// isBusy reports a lock timeout or an unreachable server.
	isBusy func(err error) bool
}

// auditLockKey is the PostgreSQL advisory lock that serializes audit appends
// ("bwaudit" in ASCII).
const auditLockKey = 0x6277617564697400

var sqliteDialect = &dialect{
	name:      "sqlite",
	ph:        '?',
	beginRead: "BEGIN DEFERRED",
	maxParams: 32000,
	lockAudit: func(context.Context, querier) error { return nil },
	isUnique: func(err error) bool {
		var e *sqlite.Error
		if errors.As(err, &e) {
			return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		}
		return false
	},
	isBusy: func(err error) bool {
		var e *sqlite.Error
		if errors.As(err, &e) {
			c := e.Code() & 0xff
			return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED || c == sqlite3.SQLITE_CANTOPEN || c == sqlite3.SQLITE_FULL
		}
		return false
	},
}

var postgresDialect = &dialect{
	name:      "postgres",
	ph:        '$',
	arrays:    true,
	beginRead: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	maxParams: 65000,
	lockAudit: func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.FormatInt(auditLockKey, 10)+")")
		return err
	},
	isUnique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	isBusy: func(err error) bool {
		var e *pgconn.PgError
		if errors.As(err, &e) {
			// 08: connection exception, 53: insufficient resources,
			// 57P: operator intervention, 40: serialization/deadlock.
			return strings.HasPrefix(e.Code, "08") || strings.HasPrefix(e.Code, "53") || strings.HasPrefix(e.Code, "57P") || strings.HasPrefix(e.Code, "40")
		}
		var ce *pgconn.ConnectError
		return errors.As(err, &ce)
	},
}

// mapErr turns a driver error into a safe *bulwark.Error (keeping the
// driver error in the chain for logs) and passes *bulwark.Error through.
// what says what was being done, e.g. "list assets".
func (d *dialect) mapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var be *bulwark.Error
	if errors.As(err, &be) {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &wrapped{bulwark.Errorf(bulwark.ECANCELED, "%s: canceled", what), err}
	case errors.Is(err, context.DeadlineExceeded):
		return &wrapped{bulwark.Errorf(bulwark.EUNAVAILABLE, "%s: timed out", what), err}
	case errors.Is(err, sql.ErrNoRows):
		return &wrapped{bulwark.Errorf(bulwark.ENOTFOUND, "%s: not found", what), err}
	case d.isUnique(err):
		return &wrapped{bulwark.Errorf(bulwark.ECONFLICT, "%s: already exists", what), err}
	case d.isBusy(err):
		return &wrapped{bulwark.Errorf(bulwark.EUNAVAILABLE, "%s: database unavailable or busy, try again", what), err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// wrapped is a safe error that also carries the driver error for logs.
type wrapped struct {
	safe  *bulwark.Error
	cause error
}

func (w *wrapped) Error() string { return w.safe.Error() + ": " + w.cause.Error() }

// Unwrap exposes both, so that bulwark.ErrorCode finds the safe error and
// errors.Is finds the cause.
func (w *wrapped) Unwrap() []error { return []error{w.safe, w.cause} }

// args collects bound parameters and hands out their placeholders: $n by
// default, which both engines accept, or a plain ? on SQLite. The driver
// asks SQLite for the name of every parameter it binds, a linear search
// for named and numbered ones, so a statement with thousands of $n
// parameters binds in quadratic time; anonymous ? parameters bind in
// linear time. A placeholder must therefore be used exactly once, in the
// order handed out.
type args struct {
	v  []any
	ph byte
}

// newArgs returns an empty args using the dialect's fastest placeholder.
func (d *dialect) newArgs() args { return args{ph: d.ph} }

func (a *args) add(v any) string {
	a.v = append(a.v, v)
	if a.ph == '?' {
		return "?"
	}
	return "$" + strconv.Itoa(len(a.v))
}

// list binds each of vs and returns "($i, $j, ...)".
func (a *args) list(vs []string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.add(v))
	}
	b.WriteByte(')')
	return b.String()
}

// listInt is list for integers.
func (a *args) listInt(vs []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.add(v))
	}
	b.WriteByte(')')
	return b.String()
}

// valuesSQL returns "($1,...,$cols),(...)" for rows rows of cols columns.
func (d *dialect) valuesSQL(rows, cols int) string {
	var b strings.Builder
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			if d.ph == '?' {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// chunks splits n items into consecutive ranges of at most size.
func chunks(n, size int) [][2]int {
	var out [][2]int
	for i := 0; i < n; i += size {
		out = append(out, [2]int{i, min(i+size, n)})
	}
	return out
}
