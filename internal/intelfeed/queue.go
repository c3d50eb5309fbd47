package intelfeed

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"bulwark"
	"bulwark/internal/jobs"
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

// Open returns a Service whose subscriptions are pulled on schedule by
// River jobs in the store's database, on cfg.Queue or on a queue of its
// own on cfg.DSN. Start starts the dispatcher, and the workers of a queue
// of its own; Close releases a queue of its own.
func Open(ctx context.Context, st bulwark.Store, sh *sharing.Service, cfg Config, log *slog.Logger) (*Service, error) {
	s := New(st, sh, cfg, log)
	// A pull times out after PullTimeout and a minute (worker.Timeout);
	// one still "running" well after that was lost with its process.
	qc := jobs.QueueConfig{MaxWorkers: s.cfg.Workers, RescueAfter: s.cfg.PullTimeout + 5*time.Minute}
	q, err := jobs.Join(ctx, cfg.Queue, cfg.DSN, s.log, queueName, qc, &worker{s: s})
	if err != nil {
		return nil, err
	}
	s.q = q
	return s, nil
}

// Start starts the dispatcher, and the workers of a queue of the
// Service's own (a shared queue is started by its owner); it returns at
// once.
func (s *Service) Start(ctx context.Context) error {
	return s.q.Start(ctx, s.cfg.TickEvery, s.dispatch)
}

// Stop stops the dispatcher, and the workers of a queue of the Service's
// own (a shared queue's are stopped by its owner); running pulls are
// interrupted at a page boundary and go on from there next time.
func (s *Service) Stop(ctx context.Context) error {
	return s.q.Stop(ctx)
}

// Close stops the Service if it runs and releases a queue of its own.
func (s *Service) Close() error {
	err := s.q.Close()
	s.q = nil
	return err
}

// kick asks the dispatcher to look for due subscriptions now.
func (s *Service) kick() {
	if s.q != nil {
		s.q.Kick()
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
		if _, err := s.q.Client.Insert(ctx, pullArgs{Feed: f.ID}, nil); err != nil && ctx.Err() == nil {
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
	res, err := s.q.Client.Insert(context.WithoutCancel(ctx), pullArgs{Feed: f.ID}, nil)
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
