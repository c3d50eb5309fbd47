package simrun

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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

// Config is the job queue's configuration. Zero values take the defaults.
type Config struct {
	// DSN is the store's: a SQLite path, ":memory:" (the queue then has a
	// database of its own, gone with the process, like the store), or a
	// postgres:// URL. River keeps its tables beside Bulwark's.
	DSN string
	// Workers is how many runs work at once in this process (default 1:
	// each run uses every core).
	Workers int
	// Timeout bounds one run (default 2 h); a run still working then
	// fails.
	Timeout time.Duration
	// StaleAfter: a running run whose job has given no sign of life for
	// this long (default 2 min) was interrupted (the process stopped) and
	// is given a new job. Jobs write a heartbeat every HeartbeatEvery
	// (default 10 s) and progress at most every ProgressEvery (500 ms).
	StaleAfter     time.Duration
	HeartbeatEvery time.Duration
	ProgressEvery  time.Duration
	// SweepEvery is how often interrupted and lost runs are looked for
	// (default 30 s, and at Start).
	SweepEvery time.Duration
	// MaxJobs is how many jobs a run may be given before it fails
	// (default 3): a run that keeps crashing its process stops there.
	MaxJobs int
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Hour
	}
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = 10 * time.Second
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 2 * time.Minute
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 500 * time.Millisecond
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = 30 * time.Second
	}
	if c.MaxJobs <= 0 {
		c.MaxJobs = 3
	}
	return c
}

// queueName is River's queue for simulations.
const queueName = "simulations"

// jobAttempts is River's limit on one job's attempts (transient errors
// and shutdowns are retried with River's backoff).
const jobAttempts = 5

// jobArgs are a simulation job's arguments: the run it works.
type jobArgs struct {
	Run string `json:"run"`
}

func (jobArgs) Kind() string { return "bulwark.simulation" }

func (jobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, MaxAttempts: jobAttempts}
}

// jobClient is what the Service uses of a River client, whatever its
// driver.
type jobClient interface {
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// queue is the River client of a Service, and the sweeper beside it.
type queue struct {
	s       *Service
	client  jobClient
	closeDB func()

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc // the sweeper's
	swept   chan struct{}
}

// Open returns a Service whose submissions are worked by River jobs in the
// store's database. River's tables are migrated here; Start starts the
// workers. Close the Service to release the queue's connections.
func Open(ctx context.Context, st bulwark.Store, cfg Config, log *slog.Logger) (*Service, error) {
	s := New(st, log)
	s.cfg = cfg.withDefaults()
	q := &queue{s: s}
	var err error
	if strings.HasPrefix(cfg.DSN, "postgres://") || strings.HasPrefix(cfg.DSN, "postgresql://") {
		var pool *pgxpool.Pool
		if pool, err = pgxpool.New(ctx, cfg.DSN); err != nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "job queue: invalid PostgreSQL URL")
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

// openSQLite opens River's connection to the store's SQLite file: one
// connection (SQLite has one writer), waiting up to 10 s for the lock.
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

// newClient migrates River's tables and builds its client with the
// simulation worker.
func newClient[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], s *Service) (jobClient, error) {
	log := slog.New(warnOnly{s.log.Handler()})
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "job queue: migrate: %v", err)
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{s: s}); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	c, err := river.NewClient(drv, &river.Config{
		Queues:               map[string]river.QueueConfig{queueName: {MaxWorkers: s.cfg.Workers}},
		Workers:              workers,
		JobTimeout:           s.cfg.Timeout,
		RescueStuckJobsAfter: s.cfg.Timeout + 10*time.Minute,
		FetchPollInterval:    500 * time.Millisecond,
		MaxAttempts:          jobAttempts,
		Logger:               log,
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
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

// Start starts working runs, and the sweeper that gives interrupted runs
// a new job. It returns at once.
func (s *Service) Start(ctx context.Context) error {
	q := s.q
	if q == nil {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "simulations: no job queue")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return nil
	}
	// Jobs' contexts derive from this one: Stop ends them, not the
	// caller's context.
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("job queue: start: %w", err)
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	q.stop, q.swept, q.started = stop, make(chan struct{}), true
	go func() {
		defer close(q.swept)
		t := time.NewTicker(s.cfg.SweepEvery)
		defer t.Stop()
		for {
			s.sweep(sctx)
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Stop stops the sweeper and the workers: running simulations are
// interrupted and wait, queued, to run again when the server is back.
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
	<-q.swept
	if err := q.client.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("job queue: stop: %w", err)
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

// enqueue gives a new run (Job 0) its first job.
func (q *queue) enqueue(ctx context.Context, run *bulwark.SimRun) error {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	res, err := q.client.Insert(ctx, jobArgs{Run: run.ID}, nil)
	if err != nil {
		q.s.log.Error("simulation: queue job", "run", run.ID, "err", err)
		if ferr := q.s.st.UpdateSimRun(sys, run.ID, bulwark.SimRunUpdate{Status: bulwark.SimFailed, Error: "the job queue refused the run; try again"}); ferr != nil {
			q.s.log.Error("simulation: record the queue's refusal", "run", run.ID, "err", ferr)
		}
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "the job queue refused the simulation; try again")
	}
	err = q.s.st.UpdateSimRun(sys, run.ID, bulwark.SimRunUpdate{Status: bulwark.SimQueued, NewJob: res.Job.ID})
	if err != nil && bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		// The job claims the run itself when it starts (see Work).
		q.s.log.Warn("simulation: record the run's job", "run", run.ID, "job", res.Job.ID, "err", err)
	}
	run.JobID, run.Attempts = res.Job.ID, 1
	return nil
}

// cancelJob asks River to cancel a job; the worker also notices the
// canceled run within a heartbeat.
func (q *queue) cancelJob(ctx context.Context, id int64) {
	if _, err := q.client.JobCancel(context.WithoutCancel(ctx), id); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
		q.s.log.Warn("simulation: cancel job", "job", id, "err", err)
	}
}

// sweep looks for runs that no job will finish: a running run without a
// heartbeat for StaleAfter (its process stopped), a queued run whose job
// is missing or over, a run that never got a job. Each is given a new job,
// or fails once it has had MaxJobs.
func (s *Service) sweep(ctx context.Context) {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	runs, err := s.st.ListSimRuns(sys, bulwark.SimRunFilter{Statuses: []bulwark.SimRunStatus{bulwark.SimQueued, bulwark.SimRunning}, Limit: bulwark.MaxPageSize})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("simulation: sweep", "err", err)
		}
		return
	}
	now := s.now()
	for _, r := range runs {
		if ctx.Err() != nil {
			return
		}
		why := ""
		switch {
		case r.Status == bulwark.SimRunning && now.Sub(r.HeartbeatAt) > s.cfg.StaleAfter:
			why = fmt.Sprintf("interrupted at %s: no sign of life from its job since %s (the server stopped during the run)",
				progressText(r.Done, r.Total), r.HeartbeatAt.Format(time.RFC3339))
		case r.JobID == 0 && now.Sub(r.CreatedAt) > time.Minute && now.Sub(r.HeartbeatAt) > time.Minute:
			why = "the run had no job"
		case r.JobID != 0 && r.Status == bulwark.SimQueued:
			j, err := s.q.client.JobGet(ctx, r.JobID)
			switch {
			case errors.Is(err, rivertype.ErrNotFound):
				why = "the job queue lost the run"
			case err != nil:
				continue
			case j.State == rivertype.JobStateDiscarded || j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateCompleted:
				why = fmt.Sprintf("its job ended (%s) without finishing the run", j.State)
				if n := len(j.Errors); n > 0 {
					why += ": " + cut(j.Errors[n-1].Error, 500)
				}
			}
		}
		if why != "" {
			s.requeue(sys, &r, why)
		}
	}
}

// requeue gives a run a new job, or fails it when it has had MaxJobs.
func (s *Service) requeue(sys context.Context, r *bulwark.SimRun, why string) {
	old := r.JobID
	if r.Attempts >= s.cfg.MaxJobs {
		err := s.st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: old, Status: bulwark.SimFailed,
			Error: fmt.Sprintf("%s; given up after %d attempts", why, r.Attempts)})
		if err != nil && bulwark.ErrorCode(err) != bulwark.ECONFLICT {
			s.log.Error("simulation: fail an interrupted run", "run", r.ID, "err", err)
		}
		if old != 0 && err == nil {
			s.q.cancelJob(sys, old)
		}
		return
	}
	if old != 0 {
		if err := s.st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: old, Status: bulwark.SimQueued, Detach: true, Error: why + "; it runs again"}); err != nil {
			if bulwark.ErrorCode(err) != bulwark.ECONFLICT {
				s.log.Error("simulation: requeue", "run", r.ID, "err", err)
			}
			return // another process requeued it, or it moved on
		}
		s.q.cancelJob(sys, old)
	}
	s.log.Warn("simulation: run requeued", "run", r.ID, "reason", why)
	if err := s.q.enqueue(sys, r); err != nil {
		s.log.Error("simulation: requeue", "run", r.ID, "err", err)
	}
}

// worker works simulation jobs.
type worker struct {
	river.WorkerDefaults[jobArgs]
	s *Service
}

func (w *worker) Timeout(*river.Job[jobArgs]) time.Duration { return w.s.cfg.Timeout }

// Work runs the job's run if the run is still the job's: a run canceled,
// finished or given to another job is left alone.
func (w *worker) Work(ctx context.Context, job *river.Job[jobArgs]) error {
	s := w.s
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	run, err := s.st.FindSimRun(sys, job.Args.Run)
	if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if run.Status.Final() {
		return nil
	}
	if run.JobID != job.ID {
		if run.JobID != 0 {
			return nil // superseded by another job
		}
		// The submitter has not recorded the job yet: claim the run.
		if err := s.st.UpdateSimRun(sys, run.ID, bulwark.SimRunUpdate{Status: bulwark.SimQueued, NewJob: job.ID}); err != nil && bulwark.ErrorCode(err) != bulwark.ECONFLICT {
			return err
		}
		if run, err = s.st.FindSimRun(sys, job.Args.Run); err != nil {
			return err
		}
		if run.JobID != job.ID || run.Status.Final() {
			return nil
		}
	}
	return s.work(ctx, job, run)
}

// Why a job's context ended.
var (
	errSuperseded = errors.New("the run was canceled or given to another job")
)

func (s *Service) work(jobCtx context.Context, job *river.Job[jobArgs], run *bulwark.SimRun) error {
	// Writes outlive the job's context: the last one records why it ended.
	sys := bulwark.WithPrincipal(context.WithoutCancel(jobCtx), bulwark.SystemPrincipal())
	upd := func(u bulwark.SimRunUpdate) error {
		u.Job = job.ID
		wctx, cancel := context.WithTimeout(sys, 30*time.Second)
		defer cancel()
		return s.st.UpdateSimRun(wctx, run.ID, u)
	}
	if err := upd(bulwark.SimRunUpdate{Status: bulwark.SimRunning, Total: run.Total}); err != nil {
		if bulwark.ErrorCode(err) == bulwark.ECONFLICT {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithCancelCause(jobCtx)
	defer cancel(nil)

	// The reporter writes progress (at most every ProgressEvery) and a
	// heartbeat (every HeartbeatEvery); a refused write means the run was
	// canceled or taken over, and stops the simulation.
	var done atomic.Int64
	reporterDone := make(chan struct{})
	go func() {
		defer close(reporterDone)
		// Waiting ProgressEvery after each round (not a ticker) keeps
		// writes that far apart, however long one takes.
		written, last := int64(0), time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.cfg.ProgressEvery):
			}
			d := done.Load()
			if d == written && time.Since(last) < s.cfg.HeartbeatEvery {
				continue
			}
			err := upd(bulwark.SimRunUpdate{Status: bulwark.SimRunning, Done: d})
			switch {
			case err == nil:
				written, last = d, time.Now()
			case bulwark.ErrorCode(err) == bulwark.ECONFLICT:
				cancel(errSuperseded)
				return
			case ctx.Err() == nil:
				s.log.Warn("simulation: progress", "run", run.ID, "err", err)
			}
		}
	}()
	if testHookRunning != nil {
		testHookRunning(ctx, run)
	}
	out, err := s.execute(ctx, run, func(d int64) { done.Store(d) })
	cancel(nil)
	<-reporterDone

	fail := func(msg string) error {
		if err := upd(bulwark.SimRunUpdate{Status: bulwark.SimFailed, Error: msg}); err != nil && bulwark.ErrorCode(err) != bulwark.ECONFLICT {
			return err
		}
		return river.JobCancel(errors.New(msg))
	}
	if err == nil {
		b, merr := marshalOutcome(out)
		if merr != nil {
			return fail(bulwark.ErrorMessage(merr))
		}
		if err := upd(bulwark.SimRunUpdate{Status: bulwark.SimDone, Result: b}); err != nil {
			switch bulwark.ErrorCode(err) {
			case bulwark.ECONFLICT:
				return nil // canceled meanwhile: the result is dropped
			case bulwark.ETOOLARGE:
				return fail(bulwark.ErrorMessage(err))
			}
			return err
		}
		s.log.Info("simulation done", "run", run.ID, "trials", run.Total, "seconds", out.Seconds)
		return nil
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errSuperseded):
		return river.JobCancel(errSuperseded)
	case errors.Is(jobCtx.Err(), context.DeadlineExceeded):
		return fail(fmt.Sprintf("the run took longer than %s and was stopped at %s: run fewer trials", s.cfg.Timeout, progressText(done.Load(), run.Total)))
	case jobCtx.Err() != nil:
		// The server is stopping: the run waits for River's retry.
		msg := fmt.Sprintf("interrupted at %s by a server shutdown; it runs again when the server is back", progressText(done.Load(), run.Total))
		if uerr := upd(bulwark.SimRunUpdate{Status: bulwark.SimQueued, Error: msg}); uerr != nil && bulwark.ErrorCode(uerr) != bulwark.ECONFLICT {
			s.log.Warn("simulation: record the interruption", "run", run.ID, "err", uerr)
		}
		return fmt.Errorf("simulation %s: %w", run.ID, jobCtx.Err())
	}
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.ENOTFOUND, bulwark.ETOOLARGE, bulwark.EFORBIDDEN, bulwark.EUNSUPPORTED:
		// The scenario does not fit the city: retrying changes nothing.
		return fail(bulwark.ErrorMessage(err))
	}
	s.log.Error("simulation failed", "run", run.ID, "attempt", job.Attempt, "err", err)
	if job.Attempt >= job.MaxAttempts {
		return fail("the simulation failed (" + bulwark.ErrorMessage(err) + ") after " + fmt.Sprint(job.Attempt) + " attempts")
	}
	if uerr := upd(bulwark.SimRunUpdate{Status: bulwark.SimQueued, Error: "a transient error interrupted the run (" + bulwark.ErrorMessage(err) + "); it is retried"}); uerr != nil && bulwark.ErrorCode(uerr) != bulwark.ECONFLICT {
		s.log.Warn("simulation: record the retry", "run", run.ID, "err", uerr)
	}
	return err
}

// testHookRunning, when set (tests), is called once a run is running.
var testHookRunning func(ctx context.Context, run *bulwark.SimRun)
