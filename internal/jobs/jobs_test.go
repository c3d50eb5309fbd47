package jobs

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"bulwark"
	"bulwark/internal/testenv"
)

// Two kinds of jobs in two queues, as two services would register them.
type alphaArgs struct {
	N int `json:"n"`
}

func (alphaArgs) Kind() string { return "test.alpha" }
func (alphaArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "alpha"}
}

type betaArgs struct {
	S string `json:"s"`
}

func (betaArgs) Kind() string { return "test.beta" }
func (betaArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "beta"}
}

// worked is what a test worker saw of its job.
type worked struct {
	kind string
	by   []string // the River clients that worked it
}

// testWorker reports each job it works on done.
type testWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	done chan<- worked
}

func (w *testWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	w.done <- worked{job.Kind, job.AttemptedBy}
	return nil
}

type (
	alphaWorker = testWorker[alphaArgs]
	betaWorker  = testWorker[betaArgs]
)

func sqlitePath(t *testing.T) string { return filepath.Join(t.TempDir(), "q.db") }

// postgresDSN is a fresh schema on the test server, named so that the
// queue's connections can be counted in pg_stat_activity.
func postgresDSN(t *testing.T) (dsn, appName string) {
	dsn = testenv.PostgresSchemaDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	appName = "bulwark-jobs-test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	q := u.Query()
	q.Set("application_name", appName)
	u.RawQuery = q.Encode()
	return u.String(), appName
}

func open(t *testing.T, dsn string) *Queue {
	t.Helper()
	q, err := Open(context.Background(), Config{DSN: dsn, PollEvery: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// register registers both test queues on q; jobs report on done.
func register(t *testing.T, q *Queue, done chan<- worked) {
	t.Helper()
	if err := AddWorker(q, "alpha", QueueConfig{MaxWorkers: 1, RescueAfter: 3 * time.Hour}, &alphaWorker{done: done}); err != nil {
		t.Fatal(err)
	}
	if err := q.Register("beta", QueueConfig{MaxWorkers: 2, RescueAfter: 20 * time.Minute}, func(ws *river.Workers) error {
		return river.AddWorkerSafely(ws, &betaWorker{done: done})
	}); err != nil {
		t.Fatal(err)
	}
}

// await waits for n jobs to be worked.
func await(t *testing.T, done <-chan worked, n int) []worked {
	t.Helper()
	var got []worked
	timeout := time.After(30 * time.Second) // a failure bound, not a measure
	for len(got) < n {
		select {
		case w := <-done:
			got = append(got, w)
		case <-timeout:
			t.Fatalf("%d of %d jobs worked", len(got), n)
		}
	}
	return got
}

func TestOneClient(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn := sqlitePath(t)
			if db == "postgres" {
				dsn, _ = postgresDSN(t)
			}
			testOneClient(t, dsn)
		})
	}
}

// testOneClient: jobs of both services' kinds, inserted before and after
// Start, are worked by one River client; registering after Start is
// refused; a stopped queue starts again.
func testOneClient(t *testing.T, dsn string) {
	q := open(t, dsn)
	done := make(chan worked, 10)
	register(t, q, done)
	ctx := context.Background()
	// Inserted while the workers are not running: queued, not lost.
	if _, err := q.Insert(ctx, alphaArgs{N: 1}, nil); err != nil {
		t.Fatalf("insert before Start: %v", err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatalf("a second Start: %v", err)
	}
	if _, err := q.Insert(ctx, betaArgs{S: "x"}, nil); err != nil {
		t.Fatal(err)
	}
	got := await(t, done, 2)
	kinds := map[string]bool{}
	for _, w := range got {
		kinds[w.kind] = true
		if len(w.by) != 1 || w.by[0] != got[0].by[0] {
			t.Errorf("%s was worked by %v, %s by %v: want one client", w.kind, w.by, got[0].kind, got[0].by)
		}
	}
	if !kinds["test.alpha"] || !kinds["test.beta"] {
		t.Errorf("worked %v, want both kinds", kinds)
	}

	err := AddWorker(q, "gamma", QueueConfig{MaxWorkers: 1}, &alphaWorker{done: done})
	if !errors.Is(err, ErrStarted) || !strings.Contains(err.Error(), `"gamma"`) || !strings.Contains(err.Error(), "before Start") {
		t.Errorf("register after Start: %v", err)
	}

	// River's rescuer serves every queue: it waits for the longest job.
	if q.rescueAfter != 3*time.Hour {
		t.Errorf("rescue after %v, want the longest queue's 3h", q.rescueAfter)
	}

	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := q.Insert(ctx, alphaArgs{N: 2}, nil)
	if err != nil {
		t.Fatalf("insert while stopped: %v", err)
	}
	select {
	case w := <-done:
		t.Fatalf("a stopped queue worked %v", w)
	case <-time.After(300 * time.Millisecond):
	}
	if err := q.Start(ctx); err != nil {
		t.Fatalf("start again: %v", err)
	}
	if w := await(t, done, 1); w[0].by[0] != got[0].by[0] {
		t.Errorf("after a restart the job was worked by %v, want the same client %v", w[0].by, got[0].by)
	}
	j, err := q.JobGet(ctx, res.Job.ID)
	if err != nil || j.Kind != "test.alpha" {
		t.Errorf("job get: %v %+v", err, j)
	}
}

// TestCloseReleasesSQLite: after Close the queue holds no connection to
// the database: the file can be taken out of WAL mode, which SQLite allows
// only to its sole connection.
func TestCloseReleasesSQLite(t *testing.T) {
	path := sqlitePath(t)
	q := open(t, path)
	register(t, q, make(chan worked, 1))
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	leaveWAL := func() string {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var mode string
		if err := db.QueryRow("PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
			return err.Error()
		}
		return mode
	}
	if mode := leaveWAL(); mode == "delete" {
		t.Fatal("the database left WAL mode while the queue had it open: the check proves nothing")
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if mode := leaveWAL(); mode != "delete" {
		t.Errorf("after Close: journal mode %q, want delete (a connection is still open)", mode)
	}
	if err := q.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, err := q.Insert(context.Background(), alphaArgs{}, nil); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("insert after Close: %v", err)
	}
	if err := q.Start(context.Background()); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("start after Close: %v", err)
	}
	if err := q.Register("late", QueueConfig{MaxWorkers: 1}, func(*river.Workers) error { return nil }); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("register after Close: %v", err)
	}
}

// TestCloseReleasesPostgres: after Close the server has no session of the
// queue's.
func TestCloseReleasesPostgres(t *testing.T) {
	dsn, app := postgresDSN(t)
	admin, err := sql.Open("pgx", testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	sessions := func() int {
		var n int
		if err := admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	q := open(t, dsn)
	register(t, q, make(chan worked, 1))
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := sessions(); n == 0 {
		t.Fatal("no session of the queue's found: the check proves nothing")
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	// The server forgets a session shortly after its client leaves.
	deadline := time.Now().Add(10 * time.Second)
	for n := sessions(); n != 0; n = sessions() {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions of the queue's remain after Close", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		dsn  string
		code string
	}{
		"empty path":          {"", bulwark.EINVALID},
		"query in path":       {"b.db?_pragma=foo", bulwark.EINVALID},
		"fragment in path":    {"b.db#x", bulwark.EINVALID},
		"malformed URL":       {"postgres://%zz", bulwark.EINVALID},
		"directory not there": {filepath.Join(t.TempDir(), "no", "such", "dir", "b.db"), bulwark.EUNAVAILABLE},
	} {
		t.Run(name, func(t *testing.T) {
			q, err := Open(ctx, Config{DSN: tc.dsn}, nil)
			if bulwark.ErrorCode(err) != tc.code {
				if q != nil {
					q.Close()
				}
				t.Fatalf("open %q: %v, want %s", tc.dsn, err, tc.code)
			}
			if strings.Contains(err.Error(), "%zz") {
				t.Errorf("the error repeats the URL (it may hold a password): %v", err)
			}
		})
	}

	q := open(t, ":memory:")
	if err := q.Start(ctx); err == nil || !strings.Contains(err.Error(), "no queue") {
		t.Errorf("start without queues: %v", err)
	}
	noop := func(*river.Workers) error { return nil }
	for name, reg := range map[string]func() error{
		"no name":    func() error { return q.Register("", QueueConfig{MaxWorkers: 1}, noop) },
		"no workers": func() error { return q.Register("x", QueueConfig{}, noop) },
		"add fails": func() error {
			return q.Register("x", QueueConfig{MaxWorkers: 1}, func(*river.Workers) error { return errors.New("boom") })
		},
	} {
		if err := reg(); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	done := make(chan worked, 1)
	register(t, q, done)
	if err := AddWorker(q, "alpha", QueueConfig{MaxWorkers: 1}, &alphaWorker{done: done}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("the same queue twice: %v", err)
	}
	if err := AddWorker(q, "alpha2", QueueConfig{MaxWorkers: 1}, &alphaWorker{done: done}); err == nil {
		t.Error("the same kind of job in two queues: registered")
	}
}
