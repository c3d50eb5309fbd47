package storetest

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"bulwark"
)

func testSimRun(name string) *bulwark.SimRun {
	return &bulwark.SimRun{Kind: bulwark.SimSimulate, Name: name, Scenario: "name: " + name + "\nevents: [{name: e, nodes: [plc-1], probability: 0.5}]\n",
		Trials: 100, Seed: 1<<63 + 5, Crews: 2, Total: 100}
}

// testSimRuns: runs belong to the submitter's organization alone (sharing
// does not open them), viewers may not submit or cancel, jobs move runs
// through their states only while they own them, and final states stay.
func testSimRuns(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	r := testSimRun("ransomware <b>week</b>")
	if err := st.CreateSimRun(water, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ID, "sim-") || r.Org != "water" || r.Status != bulwark.SimQueued || r.SubmittedBy != "analyst@water" || r.CreatedAt.IsZero() {
		t.Fatalf("created %+v", r)
	}
	got := must(st.FindSimRun(water, r.ID))(t)
	if got.Scenario != r.Scenario || got.Seed != 1<<63+5 || got.Crews != 2 || got.Trials != 100 || got.Total != 100 || got.Name != r.Name ||
		!got.CreatedAt.Equal(r.CreatedAt) || got.Result != nil || got.Kind != bulwark.SimSimulate {
		t.Errorf("found %+v", got)
	}

	// Refusals.
	for _, tc := range []struct {
		what string
		ctx  bulwark.Principal
		mut  func(r *bulwark.SimRun)
		code string
	}{
		{"viewer", bulwark.Principal{Org: "water", Role: bulwark.RoleViewer}, func(*bulwark.SimRun) {}, bulwark.EFORBIDDEN},
		{"kind", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, func(r *bulwark.SimRun) { r.Kind = "x" }, bulwark.EINVALID},
		{"invest without options", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, func(r *bulwark.SimRun) { r.Kind = bulwark.SimInvest }, bulwark.EINVALID},
		{"simulate with options", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, func(r *bulwark.SimRun) { r.Options = "options: []" }, bulwark.EINVALID},
		{"no scenario", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, func(r *bulwark.SimRun) { r.Scenario = "" }, bulwark.ETOOLARGE},
		{"huge scenario", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, func(r *bulwark.SimRun) { r.Scenario = strings.Repeat("x", bulwark.MaxSimInput+1) }, bulwark.ETOOLARGE},
		{"zero trials", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, func(r *bulwark.SimRun) { r.Trials = 0 }, bulwark.EINVALID},
		{"bad UTF-8", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, func(r *bulwark.SimRun) { r.Scenario = "\xff\xfe" }, bulwark.EINVALID},
		{"long name", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, func(r *bulwark.SimRun) { r.Name = strings.Repeat("n", 201) }, bulwark.EINVALID},
	} {
		x := testSimRun("refused")
		tc.mut(x)
		tc.ctx.Name = "t"
		wantCode(t, tc.what, st.CreateSimRun(bulwark.WithPrincipal(t.Context(), tc.ctx), x), tc.code)
	}

	// Visibility: water shares its city with ciso, but not its runs.
	for _, org := range []string{"ciso", "power"} {
		wantCode(t, org+" reading water's run", second(st.FindSimRun(userCtx(org, bulwark.RoleAdmin), r.ID)), bulwark.ENOTFOUND)
		wantCode(t, org+" canceling water's run", second(st.CancelSimRun(userCtx(org, bulwark.RoleAdmin), r.ID)), bulwark.ENOTFOUND)
		if l := must(st.ListSimRuns(userCtx(org, bulwark.RoleAdmin), bulwark.SimRunFilter{}))(t); len(l) != 0 {
			t.Errorf("%s lists %d runs of water", org, len(l))
		}
		wantCode(t, org+" paging after water's run", second(st.ListSimRuns(userCtx(org, bulwark.RoleAdmin), bulwark.SimRunFilter{Before: r.ID})), bulwark.EINVALID)
	}
	wantCode(t, "malformed id", second(st.FindSimRun(water, "../x")), bulwark.ENOTFOUND)
	wantCode(t, "no principal", second(st.FindSimRun(t.Context(), r.ID)), bulwark.EUNAUTHORIZED)
	if _, err := st.FindSimRun(sysCtx(), r.ID); err != nil {
		t.Errorf("the System principal does not see the run: %v", err)
	}

	// Jobs: only the System principal updates, only the run's job.
	wantCode(t, "user updating", st.UpdateSimRun(water, r.ID, bulwark.SimRunUpdate{Status: bulwark.SimRunning, Total: 1}), bulwark.EFORBIDDEN)
	sys := sysCtx()
	if err := st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 0, Status: bulwark.SimQueued, NewJob: 7}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "another job", st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 8, Status: bulwark.SimRunning, Total: 100}), bulwark.ECONFLICT)
	wantCode(t, "done before running", st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 7, Status: bulwark.SimDone, Result: []byte(`{}`)}), bulwark.ECONFLICT)
	wantCode(t, "unknown status", st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 7, Status: bulwark.SimCanceled}), bulwark.EINVALID)
	if err := st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 7, Status: bulwark.SimRunning, Total: 300}); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 7, Status: bulwark.SimRunning, Done: 120}); err != nil {
		t.Fatal(err)
	}
	got = must(st.FindSimRun(water, r.ID))(t)
	if got.Status != bulwark.SimRunning || got.Done != 120 || got.Total != 300 || got.JobID != 7 || got.Attempts != 1 || got.StartedAt.IsZero() || got.HeartbeatAt.IsZero() {
		t.Errorf("running %+v", got)
	}
	result := []byte(`{"result":{"trials":300,"name":"<script>"}}`)
	if err := st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 7, Status: bulwark.SimDone, Result: result}); err != nil {
		t.Fatal(err)
	}
	got = must(st.FindSimRun(water, r.ID))(t)
	if got.Status != bulwark.SimDone || got.Done != 300 || !bytes.Equal(got.Result, result) || got.FinishedAt.IsZero() {
		t.Errorf("done %+v", got)
	}
	wantCode(t, "update after done", st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 7, Status: bulwark.SimFailed}), bulwark.ECONFLICT)
	wantCode(t, "cancel after done", second(st.CancelSimRun(water, r.ID)), bulwark.ECONFLICT)
	wantCode(t, "oversized result", st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: 7, Status: bulwark.SimDone, Result: make([]byte, bulwark.MaxSimResult+1)}), bulwark.ETOOLARGE)

	// A requeued run waits again under its new job; failure keeps a
	// bounded, valid message.
	q := testSimRun("requeued")
	if err := st.CreateSimRun(water, q); err != nil {
		t.Fatal(err)
	}
	must(0, st.UpdateSimRun(sys, q.ID, bulwark.SimRunUpdate{Status: bulwark.SimQueued, NewJob: 11}))(t)
	must(0, st.UpdateSimRun(sys, q.ID, bulwark.SimRunUpdate{Job: 11, Status: bulwark.SimRunning, Total: 100}))(t)
	wantCode(t, "new job while it has one", st.UpdateSimRun(sys, q.ID, bulwark.SimRunUpdate{Job: 11, Status: bulwark.SimQueued, NewJob: 12}), bulwark.ECONFLICT)
	must(0, st.UpdateSimRun(sys, q.ID, bulwark.SimRunUpdate{Job: 11, Status: bulwark.SimQueued, Detach: true, Error: "interrupted"}))(t)
	wantCode(t, "the old job after a detach", st.UpdateSimRun(sys, q.ID, bulwark.SimRunUpdate{Job: 11, Status: bulwark.SimRunning, Done: 5}), bulwark.ECONFLICT)
	must(0, st.UpdateSimRun(sys, q.ID, bulwark.SimRunUpdate{Job: 0, Status: bulwark.SimQueued, NewJob: 12, Error: "interrupted"}))(t)
	got = must(st.FindSimRun(water, q.ID))(t)
	if got.Status != bulwark.SimQueued || got.JobID != 12 || got.Attempts != 2 || got.Error != "interrupted" || got.Done != 0 {
		t.Errorf("requeued %+v", got)
	}
	long := strings.Repeat("é", bulwark.MaxSimError)
	must(0, st.UpdateSimRun(sys, q.ID, bulwark.SimRunUpdate{Job: 12, Status: bulwark.SimFailed, Error: long}))(t)
	got = must(st.FindSimRun(water, q.ID))(t)
	if got.Status != bulwark.SimFailed || len(got.Error) > bulwark.MaxSimError || !utf8.ValidString(got.Error) || got.Error == "" {
		t.Errorf("failed with %d bytes of error (valid %t), status %s", len(got.Error), utf8.ValidString(got.Error), got.Status)
	}

	// Cancellation: the organization's writers, not its viewers; a
	// canceled run refuses its job's updates.
	c := testSimRun("canceled")
	if err := st.CreateSimRun(water, c); err != nil {
		t.Fatal(err)
	}
	must(0, st.UpdateSimRun(sys, c.ID, bulwark.SimRunUpdate{Status: bulwark.SimQueued, NewJob: 21}))(t)
	wantCode(t, "viewer canceling", second(st.CancelSimRun(userCtx("water", bulwark.RoleViewer), c.ID)), bulwark.EFORBIDDEN)
	if _, err := st.FindSimRun(userCtx("water", bulwark.RoleViewer), c.ID); err != nil {
		t.Errorf("a viewer of water cannot read water's run: %v", err)
	}
	cr := must(st.CancelSimRun(userCtx("water", bulwark.RoleAdmin), c.ID))(t)
	if cr.Status != bulwark.SimCanceled || cr.JobID != 21 || !strings.Contains(cr.Error, "admin@water") {
		t.Errorf("canceled %+v", cr)
	}
	wantCode(t, "job after cancel", st.UpdateSimRun(sys, c.ID, bulwark.SimRunUpdate{Job: 21, Status: bulwark.SimRunning, Total: 100}), bulwark.ECONFLICT)
	wantCode(t, "cancel twice", second(st.CancelSimRun(water, c.ID)), bulwark.ECONFLICT)

	// At most MaxActiveSimRuns queued or running per organization.
	var active []string
	for i := range bulwark.MaxActiveSimRuns {
		x := testSimRun("active")
		if err := st.CreateSimRun(water, x); err != nil {
			t.Fatalf("active run %d: %v", i, err)
		}
		active = append(active, x.ID)
	}
	wantCode(t, "one run too many", st.CreateSimRun(water, testSimRun("too many")), bulwark.ECONFLICT)
	if err := st.CreateSimRun(userCtx("ciso", bulwark.RoleAnalyst), testSimRun("ciso's")); err != nil {
		t.Errorf("another organization is limited by water's runs: %v", err)
	}
	must(st.CancelSimRun(water, active[0]))(t)
	if err := st.CreateSimRun(water, testSimRun("after a cancel")); err != nil {
		t.Errorf("a canceled run still counts: %v", err)
	}

	// Listing: newest first, paged, filtered, without the bodies.
	all := must(st.ListSimRuns(water, bulwark.SimRunFilter{Limit: 100}))(t)
	if len(all) != 4+bulwark.MaxActiveSimRuns {
		t.Fatalf("water lists %d runs", len(all))
	}
	for i, x := range all {
		if x.Org != "water" || x.Scenario != "" || x.Result != nil {
			t.Errorf("listed %+v", x)
		}
		if i > 0 && (x.CreatedAt.After(all[i-1].CreatedAt) || x.CreatedAt.Equal(all[i-1].CreatedAt) && x.ID > all[i-1].ID) {
			t.Errorf("run %d is out of order", i)
		}
	}
	var paged []string
	for before := ""; ; {
		p := must(st.ListSimRuns(water, bulwark.SimRunFilter{Limit: 3, Before: before}))(t)
		for _, x := range p {
			paged = append(paged, x.ID)
		}
		if len(p) < 3 {
			break
		}
		before = p[len(p)-1].ID
	}
	var ids []string
	for _, x := range all {
		ids = append(ids, x.ID)
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("pages %v, want %v", paged, ids)
	}
	queued := must(st.ListSimRuns(water, bulwark.SimRunFilter{Statuses: []bulwark.SimRunStatus{bulwark.SimQueued, bulwark.SimRunning}}))(t)
	if len(queued) != bulwark.MaxActiveSimRuns {
		t.Errorf("%d active runs listed", len(queued))
	}
	wantCode(t, "bad status filter", second(st.ListSimRuns(water, bulwark.SimRunFilter{Statuses: []bulwark.SimRunStatus{"x"}})), bulwark.EINVALID)
	wantCode(t, "bad limit", second(st.ListSimRuns(water, bulwark.SimRunFilter{Limit: bulwark.MaxPageSize + 1})), bulwark.EINVALID)
	if sysAll := must(st.ListSimRuns(sys, bulwark.SimRunFilter{Limit: 100}))(t); len(sysAll) != len(all)+1 {
		t.Errorf("the System principal lists %d runs, want %d", len(sysAll), len(all)+1)
	}

	// Submissions and transitions are audited.
	entries := must(st.ListAudit(sys, 0, 1000))(t)
	seen := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "sim.") {
			seen[e.Action] = true
		}
	}
	for _, a := range []string{"sim.submit", "sim.requeue", "sim.done", "sim.failed", "sim.cancel"} {
		if !seen[a] {
			t.Errorf("no %s audit entry", a)
		}
	}
}

// testConcurrentSimRuns: concurrent submissions never pass the active
// cap, and a cancel racing a job's update leaves one consistent state.
func testConcurrentSimRuns(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 3 * bulwark.MaxActiveSimRuns {
		wg.Go(func() {
			if err := st.CreateSimRun(water, testSimRun("race")); err == nil {
				mu.Lock()
				created++
				mu.Unlock()
			} else if bulwark.ErrorCode(err) != bulwark.ECONFLICT {
				t.Errorf("concurrent submission: %v", err)
			}
		})
	}
	wg.Wait()
	if created != bulwark.MaxActiveSimRuns {
		t.Errorf("%d runs created concurrently, want %d", created, bulwark.MaxActiveSimRuns)
	}
	runs := must(st.ListSimRuns(water, bulwark.SimRunFilter{}))(t)
	sys := sysCtx()
	for i, r := range runs {
		must(0, st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Status: bulwark.SimQueued, NewJob: int64(100 + i)}))(t)
		must(0, st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: int64(100 + i), Status: bulwark.SimRunning, Total: 10}))(t)
		var jobErr, cancelErr error
		wg.Go(func() {
			jobErr = st.UpdateSimRun(sys, r.ID, bulwark.SimRunUpdate{Job: int64(100 + i), Status: bulwark.SimDone, Result: []byte(`{}`)})
		})
		wg.Go(func() { _, cancelErr = st.CancelSimRun(water, r.ID) })
		wg.Wait()
		got := must(st.FindSimRun(water, r.ID))(t)
		switch {
		case jobErr == nil && cancelErr != nil && got.Status == bulwark.SimDone:
		case cancelErr == nil && jobErr != nil && got.Status == bulwark.SimCanceled:
		default:
			t.Errorf("race %d: job %v, cancel %v, status %s", i, jobErr, cancelErr, got.Status)
		}
	}
}

// second returns the error of a two-value call.
func second[T any](_ T, err error) error { return err }
