package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"bulwark"
)

// Part is a service's part in the job queue: its queue and worker,
// registered on the process's shared Queue or on a Queue of its own, and
// a loop beside them (a sweeper, a dispatcher) that runs from Start to
// Stop. A Queue of its own is started, stopped and closed with the Part;
// a shared one by whoever opened it.
type Part struct {
	// Client works with the service's jobs: the Queue (tests may put
	// another in its place before Start).
	Client Client

	own *Queue // nil when shared

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
	kick    chan struct{}
}

// Join registers the queue name worked by w on shared or, when shared is
// nil, on a Queue of the Part's own opened on dsn (see Config.DSN).
func Join[T river.JobArgs](ctx context.Context, shared *Queue, dsn string, log *slog.Logger, name string, cfg QueueConfig, w river.Worker[T]) (*Part, error) {
	q, own := shared, (*Queue)(nil)
	if q == nil {
		var err error
		if q, err = Open(ctx, Config{DSN: dsn}, log); err != nil {
			return nil, err
		}
		own = q
	}
	if err := AddWorker(q, name, cfg, w); err != nil {
		if own != nil {
			own.Close()
		}
		return nil, err
	}
	return &Part{Client: q, own: own, kick: make(chan struct{}, 1)}, nil
}

// Start starts the loop, calling fn now, every period and when kicked,
// and the workers of a Queue of the Part's own (jobs' contexts derive
// from ctx, without its cancellation: Stop ends them). It returns at
// once; starting a running Part does nothing. A nil Part has no queue to
// start: EUNAVAILABLE.
func (p *Part) Start(ctx context.Context, every time.Duration, fn func(context.Context)) error {
	if p == nil {
		return bulwark.Errorf(bulwark.EUNAVAILABLE, "no job queue in this process")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return nil
	}
	if p.own != nil {
		if err := p.own.Start(ctx); err != nil {
			return err
		}
	}
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stop, p.done, p.started = stop, make(chan struct{}), true
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			fn(lctx)
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			case <-p.kick:
			}
		}
	}()
	return nil
}

// Kick asks the loop to run now (at once if it is idle, else after the
// round under way).
func (p *Part) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Stop stops the loop, waiting for its round under way, and the workers
// of a Queue of the Part's own: their running jobs' contexts are
// canceled. Stopping a nil Part does nothing.
func (p *Part) Stop(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return nil
	}
	p.started = false
	p.stop()
	<-p.done
	if p.own != nil {
		return p.own.Stop(ctx)
	}
	return nil
}

// Close stops the Part if it runs and closes a Queue of its own. Closing
// a nil Part does nothing.
func (p *Part) Close() error {
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.Stop(ctx)
	if p.own != nil {
		err = errors.Join(err, p.own.Close())
	}
	return err
}
