// Package jobs is Bulwark's background job queue: one River client in the
// store's database (SQLite or PostgreSQL) for the whole process. Services
// (simulations, feed pulls) register their queues and workers on it before
// it starts, and insert, read and cancel their jobs through Client.
//
// One client rather than one per service: on SQLite each client holds a
// writer connection of its own, and River's maintenance (rescuing stuck
// jobs, among others) is run by one elected client for every job in the
// database, with that client's settings; with one client those settings
// are made for every queue (see QueueConfig.RescueAfter).
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"bulwark"
)

// Config is the queue's configuration. Zero values take the defaults.
type Config struct {
	// DSN is the store's: a SQLite path, ":memory:" (the queue then has a
	// database of its own, gone with the process), or a postgres:// URL.
	// River keeps its tables beside Bulwark's.
	DSN string
	// PollEvery is how often workers look for new jobs (default 500 ms).
	PollEvery time.Duration
}

// QueueConfig is one service's queue.
type QueueConfig struct {
	// MaxWorkers is how many of its jobs run at once in this process
	// (at least 1).
	MaxWorkers int
	// RescueAfter is how long one of its jobs may be running before River
	// presumes the process working it died, and makes it available again.
	// It must exceed the jobs' timeout. River rescues jobs of every queue
	// with one setting: the client uses the longest of all queues'. Zero:
	// no demand (River's default of one hour, or another queue's).
	RescueAfter time.Duration
}

// Client is what services use of the queue to work with their jobs; a
// *Queue is one. Tests may put another in its place.
type Client interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// riverClient is a River client, whatever its driver.
type riverClient interface {
	Client
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// ErrStarted is returned by Register once the queue has started: River's
// client is built at Start with every queue and worker known then.
var ErrStarted = errors.New("the job queue has started: register queues and workers before Start")

// Queue is the process's job queue.
type Queue struct {
	log       *slog.Logger // River's: warnings and errors only
	pollEvery time.Duration
	build     func(*river.Config) (riverClient, error)
	insertOne riverClient // works with jobs until the client is built
	closeDB   func()

	runMu sync.Mutex // serializes Start, Stop and Close

	mu          sync.Mutex // guards what follows
	workers     *river.Workers
	queues      map[string]river.QueueConfig
	rescueAfter time.Duration
	client      riverClient // built at the first Start
	running     bool
	closed      bool
}

// Open opens the queue's connection to the database and migrates River's
// tables. Services then Register their queues; Start starts working them.
// Close releases the connection.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Queue, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 500 * time.Millisecond
	}
	q := &Queue{
		log:       slog.New(warnOnly{log.Handler()}),
		pollEvery: cfg.PollEvery,
		workers:   river.NewWorkers(),
		queues:    map[string]river.QueueConfig{},
	}
	var err error
	if strings.HasPrefix(cfg.DSN, "postgres://") || strings.HasPrefix(cfg.DSN, "postgresql://") {
		pool, perr := pgxpool.New(ctx, cfg.DSN)
		if perr != nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "job queue: invalid PostgreSQL URL")
		}
		q.closeDB = pool.Close
		err = setup(ctx, q, riverpgxv5.New(pool))
	} else {
		db, serr := openSQLite(ctx, cfg.DSN)
		if serr != nil {
			return nil, serr
		}
		q.closeDB = func() { db.Close() }
		err = setup(ctx, q, riversqlite.New(db))
	}
	if err != nil {
		q.closeDB()
		return nil, err
	}
	return q, nil
}

// openSQLite opens the queue's connection to the store's SQLite file: one
// connection (SQLite has one writer), waiting up to 10 s for the lock,
// taking it when a transaction begins (_txlock=immediate) so that two
// writers never deadlock upgrading their locks.
func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, bulwark.Errorf(bulwark.EINVALID, "job queue: database path is empty or has '?' or '#'")
	}
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate"
	if path != ":memory:" {
		dsn += "&_pragma=journal_mode(WAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("job queue: open sqlite: %w", err)
	}
	// One connection, never closed while idle: an in-memory database
	// lives as long as its connection.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "job queue: open database: %v", err)
	}
	return db, nil
}

// setup migrates River's tables with drv and keeps how to build clients
// on it (the driver's transaction type stays here).
func setup[TTx any](ctx context.Context, q *Queue, drv riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: q.log})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "job queue: migrate: %v", err)
	}
	q.build = func(cfg *river.Config) (riverClient, error) {
		c, err := river.NewClient(drv, cfg)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	// A client without workers inserts, reads and cancels jobs before
	// Start (submissions are queued while the workers are not running).
	if q.insertOne, err = q.build(&river.Config{Logger: q.log}); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	return nil
}

// Register adds a queue and its workers (add puts them in River's bundle,
// e.g. with river.AddWorkerSafely). It is refused with ErrStarted once the
// queue has started, and for a queue already registered.
func (q *Queue) Register(name string, cfg QueueConfig, add func(*river.Workers) error) error {
	if name == "" || cfg.MaxWorkers < 1 {
		return fmt.Errorf("job queue: register %q: a queue needs a name and at least one worker", name)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return fmt.Errorf("job queue: register %q: the queue is closed", name)
	case q.client != nil:
		return fmt.Errorf("job queue: register %q: %w", name, ErrStarted)
	}
	if _, dup := q.queues[name]; dup {
		return fmt.Errorf("job queue: register %q: the queue is registered already", name)
	}
	if err := add(q.workers); err != nil {
		return fmt.Errorf("job queue: register %q: %w", name, err)
	}
	q.queues[name] = river.QueueConfig{MaxWorkers: cfg.MaxWorkers}
	q.rescueAfter = max(q.rescueAfter, cfg.RescueAfter)
	return nil
}

// AddWorker registers a queue worked by one worker: the usual case.
func AddWorker[T river.JobArgs](q *Queue, name string, cfg QueueConfig, w river.Worker[T]) error {
	return q.Register(name, cfg, func(ws *river.Workers) error { return river.AddWorkerSafely(ws, w) })
}

// Start builds the one River client with every queue registered and
// starts working jobs; it returns at once. Jobs' contexts derive from
// ctx without its cancellation: Stop ends them. Starting a running queue
// does nothing; a stopped one starts again.
func (q *Queue) Start(ctx context.Context) error {
	q.runMu.Lock()
	defer q.runMu.Unlock()
	q.mu.Lock()
	c, closed, running := q.client, q.closed, q.running
	q.mu.Unlock()
	switch {
	case closed:
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "job queue: closed")
	case running:
		return nil
	}
	if c == nil {
		q.mu.Lock()
		nq := len(q.queues)
		cfg := &river.Config{
			Queues:            q.queues,
			Workers:           q.workers,
			FetchPollInterval: q.pollEvery,
			FetchCooldown:     min(q.pollEvery, 100*time.Millisecond), // River's default, unless polling is faster
			Logger:            q.log,
		}
		if q.rescueAfter > 0 {
			cfg.RescueStuckJobsAfter = q.rescueAfter
		}
		q.mu.Unlock()
		if nq == 0 {
			return fmt.Errorf("job queue: start: no queue is registered")
		}
		var err error
		if c, err = q.build(cfg); err != nil {
			return fmt.Errorf("job queue: %w", err)
		}
	}
	if err := c.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("job queue: start: %w", err)
	}
	q.mu.Lock()
	q.client, q.running = c, true
	q.mu.Unlock()
	return nil
}

// Stop stops working jobs: running jobs' contexts are canceled and River
// retries them later. Jobs can still be inserted.
func (q *Queue) Stop(ctx context.Context) error {
	q.runMu.Lock()
	defer q.runMu.Unlock()
	q.mu.Lock()
	c, running := q.client, q.running
	q.running = false
	q.mu.Unlock()
	if !running {
		return nil
	}
	if err := c.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("job queue: stop: %w", err)
	}
	return nil
}

// Close stops the queue if it runs and releases its connection. Later
// calls do nothing.
func (q *Queue) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := q.Stop(ctx)
	q.runMu.Lock()
	defer q.runMu.Unlock()
	q.mu.Lock()
	closed := q.closed
	q.closed = true
	q.mu.Unlock()
	if !closed {
		q.closeDB()
	}
	return err
}

// current is the client that works with jobs now.
func (q *Queue) current() (riverClient, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "job queue: closed")
	case q.client != nil:
		return q.client, nil
	}
	return q.insertOne, nil
}

// Insert queues a job (its queue need not be registered in this process).
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	c, err := q.current()
	if err != nil {
		return nil, err
	}
	return c.Insert(ctx, args, opts)
}

// JobCancel cancels a job; a running one is told through its context.
func (q *Queue) JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	c, err := q.current()
	if err != nil {
		return nil, err
	}
	return c.JobCancel(ctx, id)
}

// JobGet reads a job; rivertype.ErrNotFound when there is none.
func (q *Queue) JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	c, err := q.current()
	if err != nil {
		return nil, err
	}
	return c.JobGet(ctx, id)
}

// warnOnly passes River's warnings and errors, not its chatter.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{h.Handler.WithGroup(n)} }
