package jobs

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bulwark"
)

// TestParts: two services' Parts on one shared Queue run their loops
// but leave the Queue to its owner; a Part of its own runs its Queue.
func TestParts(t *testing.T) {
	ctx := context.Background()
	path := sqlitePath(t)
	shared := open(t, path)
	done := make(chan worked, 10)
	a, err := Join(ctx, shared, "", nil, "alpha", QueueConfig{MaxWorkers: 1}, &alphaWorker{done: done})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Join(ctx, shared, "", nil, "beta", QueueConfig{MaxWorkers: 1}, &betaWorker{done: done})
	if err != nil {
		t.Fatal(err)
	}
	var rounds atomic.Int32
	if err := a.Start(ctx, time.Hour, func(context.Context) { rounds.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, time.Hour, func(context.Context) {}); err != nil {
		t.Fatal(err)
	}
	// The loop ran at Start; a kick runs it again, long before the hour.
	a.Kick()
	deadline := time.Now().Add(10 * time.Second)
	for rounds.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d rounds of the loop, want 2", rounds.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The Parts did not start the shared Queue: its owner does.
	if _, err := a.Client.Insert(ctx, alphaArgs{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-done:
		t.Fatalf("a job was worked before the owner started the queue: %v", w)
	case <-time.After(300 * time.Millisecond):
	}
	if err := shared.Start(ctx); err != nil {
		t.Fatal(err)
	}
	await(t, done, 1)
	// Closing a Part stops its loop and leaves the shared Queue running.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	n := rounds.Load()
	a.Kick()
	if _, err := b.Client.Insert(ctx, betaArgs{S: "after"}, nil); err != nil {
		t.Fatal(err)
	}
	await(t, done, 1)
	if rounds.Load() != n {
		t.Error("the loop ran after Close")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// A Part of its own opens, starts, stops and closes its Queue.
	own, err := Join(ctx, nil, ":memory:", nil, "alpha", QueueConfig{MaxWorkers: 1}, &alphaWorker{done: done})
	if err != nil {
		t.Fatal(err)
	}
	if err := own.Start(ctx, time.Hour, func(context.Context) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := own.Client.Insert(ctx, alphaArgs{N: 2}, nil); err != nil {
		t.Fatal(err)
	}
	await(t, done, 1)
	if err := own.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := own.Client.Insert(ctx, alphaArgs{N: 3}, nil); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("insert after the Part closed its queue: %v", err)
	}

	// Joining a queue that has started is refused, and a queue of one's
	// own that cannot be registered is not left open.
	if _, err := Join(ctx, shared, "", nil, "gamma", QueueConfig{MaxWorkers: 1}, &alphaWorker{done: done}); !errors.Is(err, ErrStarted) {
		t.Errorf("join a started queue: %v", err)
	}
	if _, err := Join(ctx, nil, path, nil, "alpha", QueueConfig{}, &alphaWorker{done: done}); err == nil || !strings.Contains(err.Error(), "at least one worker") {
		t.Errorf("join without workers: %v", err)
	}

	// A service without a queue has a nil Part.
	var none *Part
	if err := none.Start(ctx, time.Second, func(context.Context) {}); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("start a nil Part: %v", err)
	}
	if err := none.Stop(ctx); err != nil {
		t.Error(err)
	}
	if err := none.Close(); err != nil {
		t.Error(err)
	}
}
