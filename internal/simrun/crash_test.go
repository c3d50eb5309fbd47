package simrun

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/sqlstore"
)

// crashEnv names the database of the worker process that TestCrashWorker
// plays; the parent kills it in the middle of a run.
const crashEnv = "BULWARK_SIMRUN_CRASH_DB"

// TestCrashWorker is not a test on its own: run by TestCrashRecovery in a
// process of its own, it works the queue with runs that never end, until
// it is killed.
func TestCrashWorker(t *testing.T) {
	dsn := os.Getenv(crashEnv)
	if dsn == "" {
		t.Skip("a helper process of TestCrashRecovery")
	}
	st, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	testHookRunning = func(ctx context.Context, run *bulwark.SimRun) { <-ctx.Done() }
	s, err := Open(context.Background(), st, fast(dsn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Minute) // killed long before
}

// TestCrashRecovery kills the process working a run (no shutdown, no last
// write): the run is left "running". A server started afterwards notices
// that its job gives no sign of life and gives it a new job, which
// finishes it with the result a direct run gives; with no attempts left
// the run fails, saying why. It never stays "running".
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	for _, tc := range []struct {
		name    string
		maxJobs int
		want    bulwark.SimRunStatus
	}{{"retried", 3, bulwark.SimDone}, {"given up", 1, bulwark.SimFailed}} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "b.db")
			st := openStore(t, dsn)
			water := userCtx("water", bulwark.RoleAnalyst)
			// Submit through a queue that does not work jobs.
			sub, err := Open(context.Background(), st, fast(dsn), nil)
			if err != nil {
				t.Fatal(err)
			}
			req := Request{Scenario: readFile(t, "scenario.yaml"), Trials: 700, Seed: 5}
			run, err := sub.Submit(water, req)
			if err != nil {
				t.Fatal(err)
			}
			sub.Close()

			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWorker$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnv+"="+dsn)
			out := new(strings.Builder)
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			t.Cleanup(func() {
				if !killed {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})
			deadline := time.Now().Add(60 * time.Second)
			for {
				r, err := st.FindSimRun(sysCtx(), run.ID)
				if err != nil {
					t.Fatal(err)
				}
				if r.Status == bulwark.SimRunning {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the worker process never started the run (%s):\n%s", r.Status, out)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			killed = true
			if r, _ := st.FindSimRun(sysCtx(), run.ID); r.Status != bulwark.SimRunning {
				t.Fatalf("after the kill the run is %s", r.Status)
			}

			cfg := fast(dsn)
			cfg.StaleAfter = time.Second
			cfg.MaxJobs = tc.maxJobs
			s := openService(t, st, cfg)
			r := wait(t, s, water, run.ID, bulwark.SimDone, bulwark.SimFailed)
			if r.Status != tc.want {
				t.Fatalf("after the crash the run is %s (%s), want %s", r.Status, r.Error, tc.want)
			}
			if tc.want == bulwark.SimFailed {
				if !strings.Contains(r.Error, "server stopped during the run") || !strings.Contains(r.Error, "given up after 1 attempts") {
					t.Errorf("failure reason %q", r.Error)
				}
				return
			}
			if r.Attempts != 2 {
				t.Errorf("attempts %d, want 2", r.Attempts)
			}
			_, o, err := s.Outcome(water, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(jsonOf(t, direct(t, st, req.Scenario, "", 700, 5, 1)), jsonOf(t, o.Result)); d != "" {
				t.Errorf("the recovered run differs from the direct run:\n%s", d)
			}
			entries, err := st.ListAudit(sysCtx(), 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			requeued := false
			for _, e := range entries {
				requeued = requeued || (e.Action == "sim.requeue" && e.Target == "sim:"+run.ID && strings.Contains(e.Detail, "server stopped"))
			}
			if !requeued {
				t.Error("the requeue is not in the audit log")
			}
		})
	}
}
