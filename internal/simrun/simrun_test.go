package simrun

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/depgraph"
	"bulwark/internal/sim"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

func sysCtx() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
}

func userCtx(org string, role bulwark.Role) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 7, Org: org, Role: role, Name: string(role) + "@" + org})
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// openStore opens a store at dsn holding testdata/city.yaml.
func openStore(t testing.TB, dsn string) *sqlstore.DB {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	importCity(t, st)
	return st
}

func importCity(t testing.TB, st bulwark.Store) {
	t.Helper()
	if _, err := citymodel.Import(sysCtx(), st, []citymodel.Source{citymodel.FileSource(filepath.Join("testdata", "city.yaml"))}, citymodel.ImportOptions{}); err != nil {
		t.Fatalf("import: %v", err)
	}
}

// fast is a queue configuration for tests.
func fast(dsn string) Config {
	return Config{DSN: dsn, ProgressEvery: 50 * time.Millisecond, HeartbeatEvery: 200 * time.Millisecond, SweepEvery: 200 * time.Millisecond}
}

// openService opens a queue on st's database and starts it.
func openService(t testing.TB, st bulwark.Store, cfg Config) *Service {
	t.Helper()
	s, err := Open(context.Background(), st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// forEachStore runs f on a SQLite file and on PostgreSQL (skipped without
// a server outside CI).
func forEachStore(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, filepath.Join(t.TempDir(), "bulwark.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, testenv.PostgresSchemaDSN(t)) })
}

// wait polls the run until its status is one of want.
func wait(t testing.TB, s *Service, ctx context.Context, id string, want ...bulwark.SimRunStatus) *bulwark.SimRun {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if r.Status == w {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s (%s) after 60 s, want %v", id, r.Status, r.Error, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// direct computes what a run must produce, the way bulwark simulate does,
// without the job path.
func direct(t testing.TB, st bulwark.Store, scenario, options string, trials int, seed uint64, crews int) any {
	t.Helper()
	ctx := sysCtx()
	data, err := st.LoadGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := depgraph.Compile(data)
	if err != nil {
		t.Fatal(err)
	}
	city, err := sim.LoadCity(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.ConfigFromCity(city, g, sim.Recovery{Restore: sim.Triangular(2, 4, 8), RestoreNoBackups: sim.Triangular(12, 24, 72), Backups: true, Skill: "it-sysadmin"})
	cfg.DefaultCrews = crews
	cfg.Analysis = depgraph.Analyze(g)
	m, err := sim.New(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.ParseScenario(strings.NewReader(scenario), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.ResolveScenario(ctx, st, s); err != nil {
		t.Fatal(err)
	}
	opt := sim.Options{Trials: trials, Seed: seed, Top: TopContributors}
	if options == "" {
		r, err := sim.Run(ctx, m, s, opt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	opts, err := sim.ParseOptions(strings.NewReader(options), "options.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.ResolveOptions(ctx, st, opts); err != nil {
		t.Fatal(err)
	}
	c, err := sim.Compare(ctx, g, cfg, s, opts, opt)
	if err != nil {
		t.Fatal(err)
	}
	return comparison(c)
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJobResultEqualsDirectRun: a run worked by a background job stores
// exactly (bit for bit) what sim.Run and sim.Compare compute directly for
// the same trials and seed, with its progress complete, on both stores.
func TestJobResultEqualsDirectRun(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		s := openService(t, st, fast(dsn))
		water := userCtx("water", bulwark.RoleAnalyst)
		for _, tc := range []struct {
			kind    bulwark.SimRunKind
			options string
		}{{bulwark.SimSimulate, ""}, {bulwark.SimInvest, readFile(t, "options.yaml")}} {
			t.Run(string(tc.kind), func(t *testing.T) {
				req := Request{Kind: tc.kind, Scenario: readFile(t, "scenario.yaml"), Options: tc.options, Trials: 3000, Seed: 42, Crews: 2}
				run, err := s.Submit(water, req)
				if err != nil {
					t.Fatal(err)
				}
				if run.Status != bulwark.SimQueued || run.Org != "water" || run.Name != "Testham bad week" || run.JobID == 0 {
					t.Errorf("submitted %+v", run)
				}
				done := wait(t, s, water, run.ID, bulwark.SimDone, bulwark.SimFailed)
				if done.Status != bulwark.SimDone {
					t.Fatalf("run failed: %s", done.Error)
				}
				wantTotal := int64(3000)
				if tc.kind == bulwark.SimInvest {
					wantTotal = 3000 * 5
				}
				if done.Total != wantTotal || done.Done != wantTotal || done.Attempts != 1 || done.StartedAt.IsZero() || done.FinishedAt.Before(done.StartedAt) {
					t.Errorf("done run %+v", done)
				}
				_, out, err := s.Outcome(water, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := direct(t, st, req.Scenario, req.Options, 3000, 42, 2)
				var got any = out.Result
				if tc.kind == bulwark.SimInvest {
					got = out.Comparison
					if out.Result != nil {
						t.Error("an invest run has a plain result")
					}
					if len(out.Comparison.Options) != 4 {
						t.Fatalf("%d options ranked", len(out.Comparison.Options))
					}
					free := out.Comparison.Options[0]
					if free.Name != "Harden the feeder" || !free.Free || free.PerCost != nil {
						t.Errorf("the free option avoiding loss does not rank first: %+v", free)
					}
				}
				if d := cmp.Diff(jsonOf(t, want), jsonOf(t, got)); d != "" {
					t.Errorf("job result differs from the direct run (-direct +job):\n%s", d)
				}
				if out.Nodes != 18 || out.Services["water-supply"].Population != 120000 || out.Services["water-supply"].RTO != 12 || len(out.Events) != 3 || out.Events[1].Nodes == 0 || out.Horizon != 168 || out.Goal == nil {
					t.Errorf("outcome facts: nodes %d, services %+v, events %+v, horizon %g", out.Nodes, out.Services, out.Events, out.Horizon)
				}
			})
		}
	})
}

// countingStore records the updates jobs make.
type countingStore struct {
	bulwark.Store
	mu      sync.Mutex
	updates []update
}

type update struct {
	at time.Time
	u  bulwark.SimRunUpdate
}

func (c *countingStore) UpdateSimRun(ctx context.Context, id string, u bulwark.SimRunUpdate) error {
	c.mu.Lock()
	c.updates = append(c.updates, update{time.Now(), u})
	c.mu.Unlock()
	return c.Store.UpdateSimRun(ctx, id, u)
}

// TestProgressIsRateLimited: progress reaches the store as the trials go,
// never more often than ProgressEvery, and the heartbeat keeps coming when
// nothing progresses.
func TestProgressIsRateLimited(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "b.db")
	cs := &countingStore{Store: openStore(t, dsn)}
	cfg := fast(dsn)
	cfg.ProgressEvery = 100 * time.Millisecond
	cfg.HeartbeatEvery = 150 * time.Millisecond
	release := make(chan struct{})
	testHookRunning = func(ctx context.Context, run *bulwark.SimRun) {
		select { // no progress for a while: only heartbeats
		case <-release:
		case <-ctx.Done():
		}
	}
	t.Cleanup(func() { testHookRunning = nil })
	s := openService(t, cs, cfg)
	water := userCtx("water", bulwark.RoleAnalyst)
	run, err := s.Submit(water, Request{Scenario: readFile(t, "scenario.yaml"), Trials: 100_000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, s, water, run.ID, bulwark.SimRunning)
	time.Sleep(700 * time.Millisecond)
	close(release)
	wait(t, s, water, run.ID, bulwark.SimDone)

	cs.mu.Lock()
	defer cs.mu.Unlock()
	var progress []update
	for _, u := range cs.updates {
		if u.u.Status == bulwark.SimRunning && u.u.Total == 0 {
			progress = append(progress, u)
		}
	}
	heartbeats, moving := 0, 0
	for i, u := range progress {
		if i > 0 {
			if gap := u.at.Sub(progress[i-1].at); gap < 90*time.Millisecond {
				t.Errorf("progress writes %d and %d are %v apart, less than ProgressEvery", i-1, i, gap)
			}
			if u.u.Done < progress[i-1].u.Done {
				t.Errorf("progress went back from %d to %d", progress[i-1].u.Done, u.u.Done)
			}
			if u.u.Done > progress[i-1].u.Done {
				moving++
			}
		}
		if u.u.Done == 0 {
			heartbeats++
		}
	}
	if heartbeats < 2 {
		t.Errorf("%d heartbeats while the run made no progress for 700 ms, want at least 2", heartbeats)
	}
	if moving < 1 {
		t.Errorf("progress never moved between writes: %d writes", len(progress))
	}
}

// blockUntilCanceled makes running runs wait for their context to end.
func blockUntilCanceled(t *testing.T) {
	testHookRunning = func(ctx context.Context, run *bulwark.SimRun) { <-ctx.Done() }
	t.Cleanup(func() { testHookRunning = nil })
}

// TestCancel: a canceled running run stops at once and stays canceled;
// only its organization's writers may cancel it.
func TestCancel(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "b.db")
	st := openStore(t, dsn)
	blockUntilCanceled(t)
	s := openService(t, st, fast(dsn))
	water := userCtx("water", bulwark.RoleAnalyst)
	run, err := s.Submit(water, Request{Scenario: readFile(t, "scenario.yaml"), Trials: 500})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, s, water, run.ID, bulwark.SimRunning)
	for _, who := range []context.Context{userCtx("city", bulwark.RoleAdmin), userCtx("port", bulwark.RoleAdmin)} {
		if _, err := s.Cancel(who, run.ID); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			t.Errorf("another organization canceling: %v", err)
		}
	}
	if _, err := s.Cancel(userCtx("water", bulwark.RoleViewer), run.ID); bulwark.ErrorCode(err) != bulwark.EFORBIDDEN {
		t.Errorf("a viewer canceling: %v", err)
	}
	start := time.Now()
	c, err := s.Cancel(water, run.ID)
	if err != nil || c.Status != bulwark.SimCanceled {
		t.Fatalf("cancel: %v %+v", err, c)
	}
	// The job notices at its next write and ends; River's job is over.
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := s.q.Client.JobGet(context.Background(), c.JobID)
		if err == nil && j.FinalizedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job of the canceled run is still %v", j.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the job took %v to stop", took)
	}
	if r, _ := s.Get(water, run.ID); r.Status != bulwark.SimCanceled || r.Result != nil {
		t.Errorf("after the job ended the run is %s", r.Status)
	}
	if _, err := s.Cancel(water, run.ID); bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Errorf("canceling twice: %v", err)
	}
}

// TestShutdownRequeues: stopping the server interrupts a running run,
// which waits queued and finishes, with the same result, after a restart.
func TestShutdownRequeues(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		blockUntilCanceled(t)
		s, err := Open(context.Background(), st, fast(dsn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		water := userCtx("water", bulwark.RoleAnalyst)
		req := Request{Scenario: readFile(t, "scenario.yaml"), Trials: 800, Seed: 9}
		run, err := s.Submit(water, req)
		if err != nil {
			t.Fatal(err)
		}
		wait(t, s, water, run.ID, bulwark.SimRunning)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		r, _ := s.Get(water, run.ID)
		if r.Status != bulwark.SimQueued || !strings.Contains(r.Error, "shutdown") {
			t.Fatalf("after the shutdown the run is %s (%q)", r.Status, r.Error)
		}
		testHookRunning = nil
		s2 := openService(t, st, fast(dsn))
		done := wait(t, s2, water, run.ID, bulwark.SimDone, bulwark.SimFailed)
		if done.Status != bulwark.SimDone || done.Error != "" || done.Attempts != 1 {
			t.Fatalf("after the restart: %+v", done)
		}
		_, out, err := s2.Outcome(water, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(jsonOf(t, direct(t, st, req.Scenario, "", 800, 9, 1)), jsonOf(t, out.Result)); d != "" {
			t.Errorf("the resumed run differs from the direct run:\n%s", d)
		}
	})
}

// TestAuthorization: writers of city organizations (and the local
// operator) run simulations; runs are their organization's alone, even
// when the organization shares its city model.
func TestAuthorization(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "b.db")
	st := openStore(t, dsn)
	s := openService(t, st, fast(dsn))
	sc := readFile(t, "scenario.yaml")
	for _, tc := range []struct {
		what string
		ctx  context.Context
		code string
	}{
		{"private operator's admin", userCtx("port", bulwark.RoleAdmin), bulwark.EFORBIDDEN},
		{"private utility's analyst", userCtx("power", bulwark.RoleAnalyst), bulwark.EFORBIDDEN},
		{"city viewer", userCtx("water", bulwark.RoleViewer), bulwark.EFORBIDDEN},
		{"unknown organization", userCtx("nowhere", bulwark.RoleAdmin), bulwark.EFORBIDDEN},
		{"nobody", context.Background(), bulwark.EUNAUTHORIZED},
	} {
		if _, err := s.Submit(tc.ctx, Request{Scenario: sc, Trials: 10}); bulwark.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.what, err, tc.code)
		}
	}
	water := userCtx("water", bulwark.RoleAdmin)
	run, err := s.Submit(water, Request{Scenario: sc, Trials: 50})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, s, water, run.ID, bulwark.SimDone)
	if _, err := s.Submit(sysCtx(), Request{Scenario: sc, Trials: 10}); err == nil || !strings.Contains(err.Error(), "organization") {
		t.Errorf("the local operator submits without naming an organization: %v", err)
	}
	// Water shares its city model with the city: not its runs.
	for _, org := range []string{"city", "power", "port"} {
		ctx := userCtx(org, bulwark.RoleAdmin)
		if _, err := s.Get(ctx, run.ID); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			t.Errorf("%s reads water's run: %v", org, err)
		}
		if _, err := s.Trace(ctx, run.ID, 0); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			t.Errorf("%s traces water's run: %v", org, err)
		}
		if l, _ := s.List(ctx, bulwark.SimRunFilter{}); len(l) != 0 {
			t.Errorf("%s lists %d runs", org, len(l))
		}
	}
	if _, err := s.Trace(userCtx("water", bulwark.RoleViewer), run.ID, 3); err != nil {
		t.Errorf("a viewer of water traces water's run: %v", err)
	}
	if l, _ := s.List(sysCtx(), bulwark.SimRunFilter{}); len(l) != 1 {
		t.Errorf("the local operator lists %d runs", len(l))
	}
}

// TestNoQueue: a Service without a job queue reads but refuses to run.
func TestNoQueue(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "b.db"))
	s := New(st, nil)
	_, err := s.Submit(userCtx("water", bulwark.RoleAnalyst), Request{Scenario: readFile(t, "scenario.yaml")})
	if bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("submit without a queue: %v", err)
	}
	if l, err := s.List(userCtx("water", bulwark.RoleAnalyst), bulwark.SimRunFilter{}); err != nil || len(l) != 0 {
		t.Errorf("list: %v %d", err, len(l))
	}
	if err := s.Start(context.Background()); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("start without a queue: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}
