package auth

import (
	"sync"
	"time"
)

// limiter counts failures per key in a sliding window. It is in memory: a
// restart forgets failures, which only ever lets an attacker start over after
// the operator restarts the server. The number of keys is capped so that an
// attacker spraying addresses cannot exhaust memory; at the cap the oldest
// failure lists are dropped first.
type limiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	maxKeys int
	fails   map[string][]time.Time
}

func newLimiter(limit int, window time.Duration) *limiter {
	return &limiter{limit: limit, window: window, maxKeys: 100_000, fails: make(map[string][]time.Time)}
}

// blocked reports whether key has reached the limit at now, and when the
// oldest failure in the window expires (the Retry-After).
func (l *limiter) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) < l.limit {
		return false, 0
	}
	return true, f[len(f)-l.limit].Add(l.window).Sub(now)
}

// fail records a failure of key at now.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if f == nil && len(l.fails) >= l.maxKeys {
		l.evict(now)
	}
	// Keep at most limit entries: older ones no longer decide anything.
	if len(f) >= l.limit {
		f = f[len(f)-l.limit+1:]
	}
	l.fails[key] = append(f, now)
}

// reset forgets key's failures (after a successful login).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.fails, key)
	l.mu.Unlock()
}

// prune drops failures of key older than the window; l.mu is held.
func (l *limiter) prune(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	if i == len(f) {
		delete(l.fails, key)
		return nil
	}
	f = f[i:]
	l.fails[key] = f
	return f
}

// evict makes room: first expired keys, then arbitrary ones (map order is
// random) until a tenth of the capacity is free. l.mu is held.
func (l *limiter) evict(now time.Time) {
	for k, f := range l.fails {
		if len(f) == 0 || now.Sub(f[len(f)-1]) >= l.window {
			delete(l.fails, k)
		}
	}
	for k := range l.fails {
		if len(l.fails) <= l.maxKeys*9/10 {
			break
		}
		delete(l.fails, k)
	}
}
