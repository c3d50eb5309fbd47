package auth

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// When a cached Basic verification expires under load, the concurrent
// requests with that credential share one argon2id run instead of each
// running their own (a stampede of 200 password hashes).
func TestBasicAuthNoStampede(t *testing.T) {
	f := newFixture(t, Options{})
	var calls atomic.Int64
	orig := verifyPassword
	verifyPassword = func(phc, pw string) bool {
		calls.Add(1)
		time.Sleep(200 * time.Millisecond) // a slow hash: the others arrive meanwhile
		return orig(phc, pw)
	}
	t.Cleanup(func() { verifyPassword = orig })

	auth := func(pw string) bool {
		_, ok := f.svc.Authenticate(basicReq("ana@city.example", pw, "192.0.2.1:1"))
		return ok
	}
	if !auth("pw-ana@city.example") {
		t.Fatal("good credentials refused")
	}
	f.clock.Add(basicCacheTTL + time.Second) // the entry expires
	calls.Store(0)

	const n = 50
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !auth("pw-ana@city.example") {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if refused.Load() > 0 {
		t.Fatalf("%d of %d concurrent good requests refused", refused.Load(), n)
	}
	if c := calls.Load(); c > 5 {
		t.Errorf("%d concurrent requests after expiry ran %d password verifications, want a few", n, c)
	}
	// The shared answer is cached again.
	calls.Store(0)
	if !auth("pw-ana@city.example") || calls.Load() != 0 {
		t.Errorf("after the shared verification: %d more verifications", calls.Load())
	}

	// A wrong password shared by concurrent requests is refused for all,
	// and never cached.
	calls.Store(0)
	refused.Store(0)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !auth("wrong") {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if refused.Load() != 4 {
		t.Errorf("wrong password accepted %d times", 4-refused.Load())
	}
	if auth("wrong") {
		t.Error("wrong password accepted after the concurrent tries")
	}
}
