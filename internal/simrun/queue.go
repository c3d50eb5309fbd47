package simrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"bulwark"
	"bulwark/internal/jobs"
)

// Config is the job queue's configuration. Zero values take the defaults.
type Config struct {
	// Queue is the process's job queue (internal/jobs), shared with other
	// services: Open registers the simulations' queue on it, and whoever
	// opened it starts, stops and closes it. Nil: Open opens a queue of
	// the Service's own on DSN, which Start, Stop and Close run.
	Queue *jobs.Queue
	// DSN is the store's, for a queue of the Service's own: a SQLite path,
	// ":memory:" (the queue then has a database of its own, gone with the
	// process, like the store), or a postgres:// URL. River keeps its
	// tables beside Bulwark's.
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

// Open returns a Service whose submissions are worked by River jobs in the
// store's database, on cfg.Queue or on a queue of its own (River's tables
// are migrated then). Start starts the sweeper, and the workers of a queue
// of its own. Close the Service to release a queue of its own.
func Open(ctx context.Context, st bulwark.Store, cfg Config, log *slog.Logger) (*Service, error) {
	s := New(st, log)
	s.cfg = cfg.withDefaults()
	// Jobs time out after Timeout (see worker.Timeout); one still
	// "running" well after that was lost with its process.
	qc := jobs.QueueConfig{MaxWorkers: s.cfg.Workers, RescueAfter: s.cfg.Timeout + 10*time.Minute}
	q, err := jobs.Join(ctx, cfg.Queue, cfg.DSN, s.log, queueName, qc, &worker{s: s})
	if err != nil {
		return nil, err
	}
	s.q = q
	return s, nil
}

// Start starts the sweeper that gives interrupted runs a new job, and
// working runs on a queue of the Service's own (a shared queue is started
// by its owner). It returns at once.
func (s *Service) Start(ctx context.Context) error {
	return s.q.Start(ctx, s.cfg.SweepEvery, s.sweep)
}

// Stop stops the sweeper, and the workers of a queue of the Service's own
// (a shared queue's are stopped by its owner): running simulations are
// interrupted and wait, queued, to run again when the server is back.
func (s *Service) Stop(ctx context.Context) error {
	return s.q.Stop(ctx)
}

// Close stops the Service if it runs and releases a queue of its own.
func (s *Service) Close() error {
	err := s.q.Close()
	s.q = nil
	return err
}

// enqueue gives a new run (Job 0) its first job.
func (s *Service) enqueue(ctx context.Context, run *bulwark.SimRun) error {
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	res, err := s.q.Client.Insert(ctx, jobArgs{Run: run.ID}, nil)
	if err != nil {
		s.log.Error("simulation: queue job", "run", run.ID, "err", err)
		if ferr := s.st.UpdateSimRun(sys, run.ID, bulwark.SimRunUpdate{Status: bulwark.SimFailed, Error: "the job queue refused the run; try again"}); ferr != nil {
			s.log.Error("simulation: record the queue's refusal", "run", run.ID, "err", ferr)
		}
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "the job queue refused the simulation; try again")
	}
	err = s.st.UpdateSimRun(sys, run.ID, bulwark.SimRunUpdate{Status: bulwark.SimQueued, NewJob: res.Job.ID})
	if err != nil && bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		// The job claims the run itself when it starts (see Work).
		s.log.Warn("simulation: record the run's job", "run", run.ID, "job", res.Job.ID, "err", err)
	}
	run.JobID, run.Attempts = res.Job.ID, 1
	return nil
}

// cancelJob asks River to cancel a job; the worker also notices the
// canceled run within a heartbeat.
func (s *Service) cancelJob(ctx context.Context, id int64) {
	if _, err := s.q.Client.JobCancel(context.WithoutCancel(ctx), id); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
		s.log.Warn("simulation: cancel job", "job", id, "err", err)
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
			j, err := s.q.Client.JobGet(ctx, r.JobID)
			switch {
			case errors.Is(err, rivertype.ErrNotFound):
				why = "the job queue lost the run"
			case err != nil:
				continue
			case j.State == rivertype.JobStateDiscarded || j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateCompleted:
				why = fmt.Sprintf("its job ended (%s) without finishing the run", j.State)
				if n := len(j.Errors); n > 0 {
					why += ": " + bulwark.Truncate(j.Errors[n-1].Error, 500)
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
			s.cancelJob(sys, old)
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
		s.cancelJob(sys, old)
	}
	s.log.Warn("simulation: run requeued", "run", r.ID, "reason", why)
	if err := s.enqueue(sys, r); err != nil {
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
