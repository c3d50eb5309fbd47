package intelfeed

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
	"bulwark/internal/sharing"
)

// Scheduling. Each pull is a River job in the queue "intel_feeds", unique
// per subscription while it is scheduled, available or running, so that
// however many server instances share the database, one pull of a
// subscription runs at a time (the store's lease makes sure of it as
// well, for pulls started from the CLI). A dispatcher in every instance
// looks every TickEvery for subscriptions whose next pull is due and
// inserts their jobs; inserting is idempotent. (River's periodic jobs are
// enqueued by the elected leader of all River clients on the database,
// whose configuration may be another service's; a dispatcher in each
// instance does not depend on which one leads.)

const queueName = "intel_feeds"

// pullArgs are a pull job's arguments.
type pullArgs struct {
	Feed string `json:"feed" river:"unique"`
}

func (pullArgs) Kind() string { return "bulwark.intel_feed_pull" }

func (pullArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

type jobClient interface {
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

type queue struct {
	client  jobClient
	closeDB func()

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
	kick    chan struct{}
}

// Open returns a Service whose subscriptions are pulled on schedule by
// River jobs in the store's database; Start starts the workers and the
// dispatcher. Close releases the queue.
func Open(ctx context.Context, st bulwark.Store, sh *sharing.Service, cfg Config, log *slog.Logger) (*Service, error) {
	s := New(st, sh, cfg, log)
	q := &queue{kick: make(chan struct{}, 1)}
	var err error
	if strings.HasPrefix(cfg.DSN, "postgres://") || strings.HasPrefix(cfg.DSN, "postgresql://") {
		var pool *pgxpool.Pool
		if pool, err = pgxpool.New(ctx, cfg.DSN); err != nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "feed queue: invalid PostgreSQL URL")
		}
		q.closeDB = pool.Close
		q.client, err = newClient(ctx, riverpgxv5.New(pool), s)
	} else {
		var db *sql.DB
		if db, err = openSQLite(ctx, cfg.DSN); err != nil {
			return nil, err
		}
		q.closeDB = func() { db.Close() }
		q.client, err = newClient(ctx, riversqlite.New(db), s)
	}
	if err != nil {
		q.closeDB()
		return nil, err
	}
	s.q = q
	return s, nil
}

// openSQLite opens River's connection to the store's SQLite file (one
// connection; ":memory:" is a queue database of its own).
func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, bulwark.Errorf(bulwark.EINVALID, "feed queue: database path is empty or has '?' or '#'")
	}
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate"
	if path != ":memory:" {
		dsn += "&_pragma=journal_mode(WAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("feed queue: open sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "feed queue: open database: %v", err)
	}
	return db, nil
}

func newClient[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], s *Service) (jobClient, error) {
	log := slog.New(warnOnly{s.log.Handler()})
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("feed queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "feed queue: migrate: %v", err)
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{s: s}); err != nil {
		return nil, fmt.Errorf("feed queue: %w", err)
	}
	c, err := river.NewClient(drv, &river.Config{
		Queues:               map[string]river.QueueConfig{queueName: {MaxWorkers: s.cfg.Workers}},
		Workers:              workers,
		JobTimeout:           s.cfg.PullTimeout + time.Minute,
		RescueStuckJobsAfter: s.cfg.PullTimeout + 5*time.Minute,
		FetchPollInterval:    500 * time.Millisecond,
		Logger:               log,
	})
	if err != nil {
		return nil, fmt.Errorf("feed queue: %w", err)
	}
	return c, nil
}

// warnOnly passes River's warnings and errors, not its chatter.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{h.Handler.WithGroup(n)} }

// Start starts the workers and the dispatcher; it returns at once.
func (s *Service) Start(ctx context.Context) error {
	q := s.q
	if q == nil {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "feeds: no job queue")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return nil
	}
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("feed queue: start: %w", err)
	}
	dctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	q.stop, q.done, q.started = stop, make(chan struct{}), true
	go func() {
		defer close(q.done)
		t := time.NewTicker(s.cfg.TickEvery)
		defer t.Stop()
		for {
			s.dispatch(dctx)
			select {
			case <-dctx.Done():
				return
			case <-t.C:
			case <-q.kick:
			}
		}
	}()
	return nil
}

// Stop stops the dispatcher and the workers; running pulls are
// interrupted at a page boundary and go on from there next time.
func (s *Service) Stop(ctx context.Context) error {
	q := s.q
	if q == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.started {
		return nil
	}
	q.started = false
	q.stop()
	<-q.done
	if err := q.client.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("feed queue: stop: %w", err)
	}
	return nil
}

// Close stops the queue if it runs and releases its connections.
func (s *Service) Close() error {
	if s.q == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.Stop(ctx)
	s.q.closeDB()
	s.q = nil
	return err
}

// kick asks the dispatcher to look for due subscriptions now.
func (s *Service) kick() {
	if s.q == nil {
		return
	}
	select {
	case s.q.kick <- struct{}{}:
	default:
	}
}

// dispatch inserts a job for every subscription due now.
func (s *Service) dispatch(ctx context.Context) {
	due, err := s.st.ListIntelFeeds(sysCtx(ctx), bulwark.IntelFeedFilter{DueBy: s.cfg.Now()})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("feeds: look for due pulls", "err", err)
		}
		return
	}
	for _, f := range due {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.q.client.Insert(ctx, pullArgs{Feed: f.ID}, nil); err != nil && ctx.Err() == nil {
			s.log.Error("feeds: queue a pull", "feed", f.ID, "err", err)
		}
	}
}

// PullNow queues a pull of a subscription at once (an administrator of
// the owning organization, or the System principal). It reports false
// when a pull of it is already queued or running.
func (s *Service) PullNow(ctx context.Context, id string) (bool, error) {
	f, err := s.mayPull(ctx, id)
	if err != nil {
		return false, err
	}
	if s.q == nil {
		return false, bulwark.Errorf(bulwark.EUNAVAILABLE, "feeds: no job queue in this process; run the pull from the command line")
	}
	res, err := s.q.client.Insert(context.WithoutCancel(ctx), pullArgs{Feed: f.ID}, nil)
	if err != nil {
		s.log.Error("feeds: queue a pull", "feed", f.ID, "err", err)
		return false, bulwark.Errorf(bulwark.EUNAVAILABLE, "the job queue refused the pull; try again")
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

// worker works pull jobs.
type worker struct {
	river.WorkerDefaults[pullArgs]
	s *Service
}

func (w *worker) Timeout(*river.Job[pullArgs]) time.Duration {
	return w.s.cfg.PullTimeout + time.Minute
}

// Work pulls the job's subscription. The pull's outcome (success or a
// partner's failure, with its back-off) is recorded on the subscription,
// so the job itself succeeds; only a failure to record it is retried.
func (w *worker) Work(ctx context.Context, job *river.Job[pullArgs]) error {
	res, err := w.s.pull(ctx, job.Args.Feed, nil)
	switch bulwark.ErrorCode(err) {
	case "":
		if testHookPulled != nil {
			testHookPulled(job.Args.Feed, res)
		}
		return nil
	case bulwark.ENOTFOUND:
		return river.JobCancel(err) // deleted meanwhile
	case bulwark.ECONFLICT:
		return nil // another puller holds it
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return err // the server is stopping: River retries later
	}
	w.s.log.Error("feeds: pull job", "feed", job.Args.Feed, "err", err)
	return err
}

// testHookPulled, when set (tests), is called after each job's pull.
var testHookPulled func(feed string, res *Result)
