package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// Limits of the prepared-statement cache: the store's hot queries are a
// few dozen texts; listings with long IN lists are not worth keeping.
const (
	maxCachedStmts   = 512
	maxCachedStmtLen = 2048
)

// stmtCache keeps statements prepared on one pool, keyed by their text.
// SQLite spends more time preparing a small query than running it, and the
// driver does not cache (pgx does, so PostgreSQL gets no stmtCache).
type stmtCache struct {
	pool      *sql.DB
	mu        sync.Mutex
	m         map[string]*sql.Stmt
	preparing sync.WaitGroup // background prepares; close waits for them
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for q, or nil to run q unprepared.
// A statement not yet cached is prepared in the background: preparing
// needs a connection of the pool, and the caller may hold the only one
// (SQLite's writer) or the last one, so waiting for it here could
// deadlock.
func (c *stmtCache) get(q string) *sql.Stmt {
	if c == nil || len(q) > maxCachedStmtLen {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok || c.m == nil || len(c.m) >= maxCachedStmts {
		return st // nil while being prepared
	}
	c.m[q] = nil
	c.preparing.Add(1)
	go func() {
		defer c.preparing.Done()
		st, err := c.pool.PrepareContext(context.Background(), q)
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case err != nil:
			delete(c.m, q) // try again another time
		case c.m == nil: // closed meanwhile
			st.Close()
		default:
			c.m[q] = st
		}
	}()
	return nil
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	for _, st := range c.m {
		if st != nil {
			st.Close()
		}
	}
	c.m = nil
	c.mu.Unlock()
}

// wait waits for prepares still running. Call it after closing the pool:
// a prepare may be waiting for a connection, which only the closed pool's
// refusal ends.
func (c *stmtCache) wait() {
	if c != nil {
		c.preparing.Wait()
	}
}

// cachedQ runs queries through a stmtCache, in tx if set, else on the pool.
type cachedQ struct {
	c    *stmtCache
	pool *sql.DB
	tx   *sql.Tx
}

func (q cachedQ) stmt(ctx context.Context, s string) *sql.Stmt {
	st := q.c.get(s)
	if st != nil && q.tx != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return st
}

func (q cachedQ) ExecContext(ctx context.Context, s string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, s); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.ExecContext(ctx, s, args...)
	}
	return q.pool.ExecContext(ctx, s, args...)
}

func (q cachedQ) QueryContext(ctx context.Context, s string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, s); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryContext(ctx, s, args...)
	}
	return q.pool.QueryContext(ctx, s, args...)
}

func (q cachedQ) QueryRowContext(ctx context.Context, s string, args ...any) *sql.Row {
	if st := q.stmt(ctx, s); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryRowContext(ctx, s, args...)
	}
	return q.pool.QueryRowContext(ctx, s, args...)
}

// reader returns a querier on the read pool.
func (db *DB) reader() querier { return cachedQ{c: db.rcache, pool: db.r} }
