// Package sqlstore implements bulwark.Store on database/sql for two engines:
// embedded SQLite (modernc.org/sqlite, pure Go) and PostgreSQL (pgx). The SQL
// is hand-written in the dialect both accept ($n placeholders, RETURNING,
// ON CONFLICT DO UPDATE); the few engine-specific bits live in dialect.go.
// Schema migrations are embedded per engine and applied with goose at Open.
//
// Tenancy is enforced here, in one place (scope.go): every read is filtered
// to the organizations the caller's Principal may see, every write is checked
// against the organization the caller belongs to, and every change appends a
// hash-chained audit entry in the same transaction.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"bulwark"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// DB is a Bulwark store on SQLite or PostgreSQL. It is safe for concurrent
// use.
type DB struct {
	d   *dialect
	w   *sql.DB // writes: one connection on SQLite, so writers queue in-process
	r   *sql.DB // reads: a pool (the same as w on PostgreSQL and :memory:)
	log *slog.Logger
	now func() time.Time

	graph  graphCache // the last whole graph loaded
	rcache *stmtCache // prepared statements on r (SQLite only)
	wcache *stmtCache // prepared statements on w (SQLite only)
}

var _ bulwark.Store = (*DB)(nil)

// Open opens (creating if absent) the store named by dsn and migrates it to
// the current schema. dsn is a file path or ":memory:" for SQLite, or a
// postgres:// (postgresql://) URL. On SQLite, Open refuses a database that
// does not run in WAL mode with synchronous=FULL (reliability row DU-04); on
// PostgreSQL it warns when fsync or synchronous_commit is off.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &DB{log: log, now: time.Now, graph: graphCache{load: make(chan struct{}, 1)}}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		err = db.openPostgres(ctx, dsn)
	} else {
		err = db.openSQLite(ctx, dsn)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) openSQLite(ctx context.Context, path string) error {
	if path == "" {
		return bulwark.Errorf(bulwark.EINVALID, "database path is empty")
	}
	if strings.ContainsAny(path, "?#") {
		return bulwark.Errorf(bulwark.EINVALID, "database path must not contain '?' or '#'")
	}
	db.d = sqliteDialect
	// busy_timeout comes first so that the pragmas after it wait for a lock
	// held by another process instead of failing.
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)"
	memory := path == ":memory:"
	w, err := sql.Open("sqlite", path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db.w, db.r = w, w
	if err := w.PingContext(ctx); err != nil {
		return db.d.mapErr("open database", err)
	}
	if !memory {
		// A separate pool of read-only connections: WAL lets them read a
		// consistent snapshot while the single writer works.
		// Readers map the file into memory (up to 1 TiB of address
		// space): a full scan then costs no read system call per page.
		r, err := sql.Open("sqlite", path+"?"+pragmas+"&_pragma=query_only(1)&_pragma=mmap_size(1099511627776)")
		if err != nil {
			return fmt.Errorf("open sqlite readers: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		r.SetConnMaxIdleTime(5 * time.Minute)
		db.r = r
	}
	db.wcache = newStmtCache(db.w)
	db.rcache = db.wcache
	if db.r != db.w {
		db.rcache = newStmtCache(db.r)
	}
	return db.checkSQLiteDurability(ctx, memory)
}

// checkSQLiteDurability enforces DU-04: acknowledged writes must survive a
// power loss, which SQLite guarantees only with synchronous=FULL.
func (db *DB) checkSQLiteDurability(ctx context.Context, memory bool) error {
	var mode string
	if err := db.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return db.d.mapErr("check journal mode", err)
	}
	var syncLevel int
	if err := db.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncLevel); err != nil {
		return db.d.mapErr("check synchronous", err)
	}
	if !memory && !strings.EqualFold(mode, "wal") {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "database journal mode is %q, not WAL; refusing to run without it", mode)
	}
	if syncLevel != 2 {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "database synchronous level is %d, not FULL (2); refusing to run without it", syncLevel)
	}
	return nil
}

func (db *DB) openPostgres(ctx context.Context, dsn string) error {
	db.d = postgresDialect
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		return bulwark.Errorf(bulwark.EINVALID, "invalid PostgreSQL URL")
	}
	pg.SetMaxOpenConns(max(8, 2*runtime.GOMAXPROCS(0)))
	pg.SetMaxIdleConns(max(8, 2*runtime.GOMAXPROCS(0)))
	pg.SetConnMaxIdleTime(5 * time.Minute)
	db.w, db.r = pg, pg
	if err := pg.PingContext(ctx); err != nil {
		return db.d.mapErr("connect to PostgreSQL", err)
	}
	// DU-04: warn loudly (the server is not ours to reconfigure).
	for _, setting := range []string{"fsync", "synchronous_commit"} {
		var v string
		if err := pg.QueryRowContext(ctx, "SHOW "+setting).Scan(&v); err != nil {
			return db.d.mapErr("check "+setting, err)
		}
		if v != "on" {
			db.log.Warn("PostgreSQL durability setting is off: acknowledged writes may be lost on a crash", "setting", setting, "value", v)
		}
	}
	return nil
}

// Migrate applies every pending schema migration. Each migration runs in its
// own transaction, so a crash leaves the old or the new schema.
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+db.d.name)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	gd := goose.DialectSQLite3
	if db.d == postgresDialect {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, db.w, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return db.d.mapErr("migrate database", err)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name }

// Close closes the database connections.
func (db *DB) Close() error {
	var errs []error
	if db.rcache != db.wcache {
		db.rcache.close()
	}
	db.wcache.close()
	if db.r != nil && db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	// Prepares started in the background end now that the pools refuse
	// them; wait so that Close leaves no goroutine holding the file.
	db.rcache.wait()
	db.wcache.wait()
	return errors.Join(errs...)
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inWrite runs fn in a write transaction and commits it if fn succeeds.
func (db *DB) inWrite(ctx context.Context, fn func(tx querier) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return db.d.mapErr("begin transaction", err)
	}
	if err := fn(cachedQ{c: db.wcache, pool: db.w, tx: tx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return db.d.mapErr("commit", err)
	}
	return nil
}

// inRead runs fn in a read-only transaction, so that the several queries of
// one read see one snapshot.
func (db *DB) inRead(ctx context.Context, fn func(tx querier) error) error {
	opts := &sql.TxOptions{ReadOnly: db.d == postgresDialect}
	tx, err := db.r.BeginTx(ctx, opts)
	if err != nil {
		return db.d.mapErr("begin transaction", err)
	}
	defer tx.Rollback()
	return fn(cachedQ{c: db.rcache, pool: db.r, tx: tx})
}

// micros converts a time to the stored form: Unix microseconds, 0 for the
// zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// SetClock replaces the clock that stamps what the store records (tests,
// and the demo, which replays a year of assessments). Set it before use,
// not while other goroutines write.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// ReadsWaitForWrites reports whether reads share the single writer
// connection (an in-memory SQLite database), so that a read made while an
// import transaction is open would wait for that transaction to end.
func (db *DB) ReadsWaitForWrites() bool { return db.r == db.w && db.d == sqliteDialect }
