package sharing_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
)

// slowState counts IntelState calls and answers each late: the state is
// read when the call starts and returned after delay, as a slow query
// would, so that a reader joining a read that began before its write was
// committed would be answered with a state that misses it.
type slowState struct {
	bulwark.Store
	calls atomic.Int64
	delay time.Duration
}

func (s *slowState) IntelState(ctx context.Context) (bulwark.IntelState, error) {
	s.calls.Add(1)
	st, err := s.Store.IntelState(ctx)
	time.Sleep(s.delay)
	return st, err
}

// Concurrent reads share state reads: far fewer IntelState queries than
// requests.
func TestSyncCoalescesStateReads(t *testing.T) {
	f := newFixture(t)
	st := &slowState{Store: f.w.Store, delay: 20 * time.Millisecond}
	svc := sharing.New(st, nil)
	if err := svc.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.calls.Store(0)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Objects(f.port.Ctx(), f.col, sharing.Query{Limit: 10}, ""); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if c := st.calls.Load(); c > n/4 {
		t.Errorf("%d concurrent reads made %d state queries, want far fewer", n, c)
	}
}

// A write committed before a read begins is seen by that read, even when
// another Service (another process) made it and this one is busy with
// concurrent readers whose state reads are under way.
func TestSyncReadAfterWrite(t *testing.T) {
	f := newFixture(t)
	st := &slowState{Store: f.w.Store, delay: 3 * time.Millisecond}
	reader := sharing.New(st, nil)
	if err := reader.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 { // background load: state reads always in flight
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				reader.Objects(f.port.Ctx(), f.col, sharing.Query{Limit: 1}, "")
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for i := range 30 {
		// The writer is f.w.Svc, a Service of its own on the same store.
		o := f.publish(t, f.water, sharing.PublishRequest{Object: indicator(newID(), time.Now(), ""), Marking: bulwark.TLPGreen})
		page, err := reader.Object(f.port.Ctx(), f.col, o.STIXID, sharing.Query{}, "")
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("write %d not seen by a read that began after it: %v %+v", i, err, page)
		}
	}
}
