package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/simrun"
)

// simWorld is the test world with a running job queue on its database.
func simWorld(t *testing.T, dsn string) *world {
	t.Helper()
	w := newWorldDSN(t, dsn, auth.Options{})
	sims, err := simrun.Open(context.Background(), w.st, simrun.Config{DSN: dsn, ProgressEvery: 50 * time.Millisecond,
		HeartbeatEvery: 200 * time.Millisecond, SweepEvery: 500 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sims.Close() })
	if err := sims.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.srv.Close()
	w.api = newAPI(w.st, Services{Sims: sims}, w.auth, slog.New(slog.NewTextHandler(w.logs, nil)))
	w.srv = httptest.NewServer(w.api)
	t.Cleanup(w.srv.Close)
	return w
}

// worldScenario hits an organization's systems in the test world.
func worldScenario(name, org string) string {
	return fmt.Sprintf(`name: %q
horizon: 3d
goal: 50%% of critical services within 12h
events:
  - name: outage
    nodes: [%[2]s-sys-1]
    joint: true
    probability: 0.6
    start: {kind: uniform, min: 0h, max: 6h}
  - name: fleet
    nodes: [%[2]s-dev-1, %[2]s-dev-2]
    probability: 0.3
`, name, org)
}

func simBody(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type simDoc struct {
	ID       string
	Org      string
	Status   string
	Kind     string
	Name     string
	Error    string
	Scenario string
	Progress struct {
		Done, Total int64
		Fraction    float64
	}
	Result *struct {
		Nodes    int
		Services map[string]struct{ Name string }
		Result   *struct {
			Trials   int
			Services []struct{ ID string }
		}
		Comparison *struct {
			Options []struct {
				Name string
				Free bool
			}
		}
	}
}

// waitRun polls GET /api/v1/simulations/{id} until the run is final.
func (w *world) waitRun(t *testing.T, as, id string) simDoc {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := w.do(as, "GET", "/api/v1/simulations/"+id, "", "")
		if r.status != 200 {
			t.Fatalf("poll: %s", r)
		}
		d := decodeBody[simDoc](t, r)
		if d.Status == "done" || d.Status == "failed" || d.Status == "canceled" {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after 60 s", id, d.Status)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// TestSimulationsOverAPI: submit (202 and Location), poll to done with
// progress, result, listing with paging, trace, cancel, and refusals, on
// both stores.
func TestSimulationsOverAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		w := simWorld(t, dsn)
		sc := worldScenario(`<img src=x onerror="alert(1)"> week`, "water")
		r := w.do("water/analyst", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": sc, "trials": 400, "seed": 7}))
		if r.status != http.StatusAccepted {
			t.Fatalf("submit: %s", r)
		}
		sub := decodeBody[simDoc](t, r)
		if loc := r.header.Get("Location"); loc != "/api/v1/simulations/"+sub.ID || sub.Status != "queued" || sub.Org != "water" || sub.Kind != "simulate" {
			t.Fatalf("Location %q, run %+v", loc, sub)
		}
		done := w.waitRun(t, "water/viewer", sub.ID)
		if done.Status != "done" || done.Progress.Done != 400 || done.Progress.Fraction != 1 || done.Scenario != sc || done.Name != `<img src=x onerror="alert(1)"> week` {
			t.Fatalf("done: %+v", done)
		}
		if done.Result == nil || done.Result.Result == nil || done.Result.Result.Trials != 400 || len(done.Result.Result.Services) == 0 || done.Result.Nodes == 0 {
			t.Fatalf("result %+v", done.Result)
		}
		// Same seed, same answer.
		r2 := w.do("water/admin", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": sc, "trials": 400, "seed": 7}))
		again := w.waitRun(t, "water/admin", decodeBody[simDoc](t, r2).ID)
		a := w.do("water/admin", "GET", "/api/v1/simulations/"+sub.ID, "", "")
		b := w.do("water/admin", "GET", "/api/v1/simulations/"+again.ID, "", "")
		ra, rb := decodeBody[map[string]json.RawMessage](t, a)["result"], decodeBody[map[string]json.RawMessage](t, b)["result"]
		var oa, ob map[string]json.RawMessage
		json.Unmarshal(ra, &oa)
		json.Unmarshal(rb, &ob)
		if string(oa["result"]) != string(ob["result"]) || len(oa["result"]) < 100 {
			t.Errorf("two runs with seed 7 differ")
		}

		opts := "options:\n  - {name: Protect the system, cost: 1000, protect: [water-sys-1]}\n  - {name: Second crew, cost: 0, add_crews: [{owner: water, skill: it-sysadmin, count: 1}]}\n"
		ri := w.do("water/analyst", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": sc, "options": opts, "trials": 200}))
		if ri.status != http.StatusAccepted {
			t.Fatalf("invest: %s", ri)
		}
		inv := w.waitRun(t, "water/analyst", decodeBody[simDoc](t, ri).ID)
		if inv.Kind != "invest" || inv.Status != "done" || inv.Result.Comparison == nil || len(inv.Result.Comparison.Options) != 2 || inv.Progress.Total != 600 {
			t.Fatalf("invest run %+v", inv)
		}

		path := "/api/v1/simulations/" + sub.ID
		w.run(t, []apiCase{
			{"list", "water/viewer", "GET", "/api/v1/simulations", "", "", 200, func(t *testing.T, r response) {
				l := decodeBody[struct{ Items []simDoc }](t, r)
				if len(l.Items) != 3 || l.Items[0].Kind != "invest" || l.Items[2].ID != sub.ID || l.Items[0].Scenario != "" {
					t.Errorf("listed %+v", l.Items)
				}
			}},
			{"list page", "water/viewer", "GET", "/api/v1/simulations?limit=2&status=done", "", "", 200, func(t *testing.T, r response) {
				l := decodeBody[struct {
					Items []simDoc
					Next  string
				}](t, r)
				if len(l.Items) != 2 || l.Next != l.Items[1].ID {
					t.Fatalf("page %+v", l)
				}
				n := w.do("water/viewer", "GET", "/api/v1/simulations?limit=2&before="+l.Next, "", "")
				if p := decodeBody[struct{ Items []simDoc }](t, n); len(p.Items) != 1 || p.Items[0].ID != sub.ID {
					t.Errorf("second page %s", n)
				}
			}},
			{"list other organization", "city/admin", "GET", "/api/v1/simulations", "", "", 200, func(t *testing.T, r response) {
				if strings.Contains(string(r.body), sub.ID) {
					t.Error("the city lists water's runs")
				}
			}},
			{"list bad status", "water/viewer", "GET", "/api/v1/simulations?status=running,evil", "", "", 400, nil},
			{"list bad limit", "water/viewer", "GET", "/api/v1/simulations?limit=0", "", "", 400, nil},
			{"list bad cursor", "water/viewer", "GET", "/api/v1/simulations?before=%27", "", "", 400, nil},
			{"trace", "water/viewer", "GET", path + "/trace?trial=3", "", "", 200, func(t *testing.T, r response) {
				v := decodeBody[simrun.TraceView](t, r)
				if v.Trial != 3 || v.Seed != 7 || v.Run != sub.ID || v.Outcome == nil || len(v.EventNames) != 2 {
					t.Errorf("trace %+v", v)
				}
			}},
			{"trace default trial", "water/viewer", "GET", path + "/trace", "", "", 200, nil},
			{"trace trial beyond", "water/viewer", "GET", path + "/trace?trial=400", "", "", 400, nil},
			{"trace trial negative", "water/viewer", "GET", path + "/trace?trial=-1", "", "", 400, nil},
			{"trace trial not a number", "water/viewer", "GET", path + "/trace?trial=1e3", "", "", 400, nil},
			{"trace unknown parameter", "water/viewer", "GET", path + "/trace?trail=1", "", "", 400, nil},
			{"cancel a done run", "water/analyst", "POST", path + "/cancel", "", "", 409, nil},
			{"viewer cancels", "water/viewer", "POST", path + "/cancel", "", "", 403, nil},
			{"viewer submits", "water/viewer", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": sc}), 403, nil},
			{"private operator submits", "port/admin", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": worldScenario("p", "port")}), 403, func(t *testing.T, r response) {
				if !strings.Contains(string(r.body), "city organization") {
					t.Errorf("refusal does not say who may: %s", r)
				}
			}},
			{"anonymous", "", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": sc}), 401, nil},
			{"malformed scenario", "water/analyst", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": "events:\n  - {name: e, nodes: [x], probability: 7}\n"}), 400, func(t *testing.T, r response) {
				if !strings.Contains(string(r.body), "scenario.yaml: line 2") {
					t.Errorf("error does not locate the problem: %s", r)
				}
			}},
			{"too many trials", "water/analyst", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": sc, "trials": 100001}), 400, nil},
			{"seed too large", "water/analyst", "POST", "/api/v1/simulations", "application/json", `{"scenario":"x","seed":18446744073709551615}`, 400, nil},
			{"negative seed", "water/analyst", "POST", "/api/v1/simulations", "application/json", `{"scenario":"x","seed":-1}`, 400, nil},
			{"unknown field", "water/analyst", "POST", "/api/v1/simulations", "application/json", `{"scenario":"x","org":"port"}`, 400, nil},
			{"scenario as object", "water/analyst", "POST", "/api/v1/simulations", "application/json", `{"scenario":{"events":[]}}`, 400, nil},
			{"oversized scenario", "water/analyst", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": sc + "#" + strings.Repeat("x", bulwark.MaxSimInput)}), 413, nil},
			{"oversized body", "water/analyst", "POST", "/api/v1/simulations", "application/json", `{"scenario":"` + strings.Repeat(`\n`, 2*bulwark.MaxSimInput+10) + `"}`, 413, nil},
		})
		// Hidden runs answer like missing ones.
		for _, p := range []string{path, path + "/trace?trial=1"} {
			hidden := w.do("city/admin", "GET", p, "", "")
			missing := w.do("city/admin", "GET", strings.Replace(p, sub.ID, "sim-0000000000000000", 1), "", "")
			if hidden.status != 404 {
				t.Errorf("city reads water's run %s: %s", p, hidden)
			}
			sameAsMissing(t, hidden, sub.ID, missing, "sim-0000000000000000")
		}
		hidden := w.do("city/admin", "POST", path+"/cancel", "", "")
		sameAsMissing(t, hidden, sub.ID, w.do("city/admin", "POST", "/api/v1/simulations/sim-0000000000000000/cancel", "", ""), "sim-0000000000000000")
	})
}

// TestSimulationCancelAndCap: an organization has at most
// bulwark.MaxActiveSimRuns runs waiting; canceling one frees its place.
func TestSimulationCancelAndCap(t *testing.T) {
	w := simWorld(t, t.TempDir()+"/b.db")
	body := simBody(t, map[string]any{"scenario": worldScenario("long", "water"), "trials": 100000})
	var ids []string
	for range bulwark.MaxActiveSimRuns {
		r := w.do("water/analyst", "POST", "/api/v1/simulations", "application/json", body)
		if r.status != 202 {
			t.Fatalf("submit: %s", r)
		}
		ids = append(ids, decodeBody[simDoc](t, r).ID)
	}
	r := w.do("water/analyst", "POST", "/api/v1/simulations", "application/json", body)
	if r.status != http.StatusConflict || errorCode(t, r) != "conflict" {
		t.Fatalf("one run too many: %s", r)
	}
	for _, id := range ids {
		c := w.do("water/admin", "POST", "/api/v1/simulations/"+id+"/cancel", "", "")
		if c.status != 200 && c.status != 409 { // 409: it finished first
			t.Errorf("cancel %s: %s", id, c)
		}
	}
	for _, id := range ids {
		if d := w.waitRun(t, "water/admin", id); d.Status != "canceled" && d.Status != "done" {
			t.Errorf("run %s ended %s", id, d.Status)
		}
	}
	if r := w.do("water/analyst", "POST", "/api/v1/simulations", "application/json", body); r.status != 202 {
		t.Errorf("after the cancels: %s", r)
	}
}

// TestSimulationsCrossTenant: every user tries every run: runs are read,
// traced and canceled by their own organization only, and a hidden run is
// answered exactly like a missing one.
func TestSimulationsCrossTenant(t *testing.T) {
	w := simWorld(t, t.TempDir()+"/b.db")
	runs := map[string]string{} // id -> org
	for _, org := range []string{"city", "water", "transit"} {
		r := w.do(org+"/analyst", "POST", "/api/v1/simulations", "application/json", simBody(t, map[string]any{"scenario": worldScenario(org, org), "trials": 100}))
		if r.status != 202 {
			t.Fatalf("%s submits: %s", org, r)
		}
		id := decodeBody[simDoc](t, r).ID
		w.waitRun(t, org+"/viewer", id)
		runs[id] = org
	}
	const missingID = "sim-ffffffffffffffff"
	checks := 0
	for key, u := range w.users {
		for id, owner := range runs {
			for _, rq := range []struct{ method, path string }{
				{"GET", "/api/v1/simulations/" + id},
				{"GET", "/api/v1/simulations/" + id + "/trace?trial=2"},
				{"POST", "/api/v1/simulations/" + id + "/cancel"},
			} {
				r := w.do(key, rq.method, rq.path, "", "")
				checkNoInternals(t, r)
				checks++
				if u.user.Org == owner {
					want := 200
					if rq.method == "POST" {
						want = 409 // done already (viewers: 403)
						if u.user.Role == bulwark.RoleViewer {
							want = 403
						}
					}
					if r.status != want {
						t.Errorf("%s %s %s = %s, want %d", key, rq.method, rq.path, r, want)
					}
					continue
				}
				if r.status != 404 && !(rq.method == "POST" && u.user.Role == bulwark.RoleViewer && r.status == 403) {
					t.Errorf("%s %s %s (another organization's) = %s, want 404", key, rq.method, rq.path, r)
				}
				if r.status == 404 {
					sameAsMissing(t, r, id, w.missing(key, rq.method, strings.Replace(rq.path, id, missingID, 1)), missingID)
				}
			}
		}
		l := w.do(key, "GET", "/api/v1/simulations?limit=1000", "", "")
		for id, owner := range runs {
			if strings.Contains(string(l.body), id) != (owner == u.user.Org) {
				t.Errorf("%s's listing and run %s of %s disagree", key, id, owner)
			}
		}
	}
	t.Logf("%d cross-tenant checks", checks)
}

// TestSimulationsHostileBodies posts hostile submissions to a server with
// a working queue: each is refused with a 4xx and stores nothing.
func TestSimulationsHostileBodies(t *testing.T) {
	w := simWorld(t, t.TempDir()+"/b.db")
	before := w.snapshot()
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'i'; i++ {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	bodies := append([]string{}, hostileBodies...)
	for _, s := range []string{bomb, strings.Repeat("[", 50000), "events: [{name: e, nodes: [\"<script>alert(1)</script>\"], probability: 1e999}]",
		"\x00\x01", "events: !!binary AAAA", "%YAML 9.9\n---\nevents: []", "events:\n  - name: a\n    nodes: [a]\n    probability: 0.5\n  - name: a\n    nodes: [b]\n    probability: 0.5\n"} {
		for _, kind := range []string{"", "invest", "simulate", "x"} {
			bodies = append(bodies, simBody(t, map[string]any{"kind": kind, "scenario": s, "options": s, "trials": 10}))
		}
		bodies = append(bodies, simBody(t, map[string]any{"scenario": s}))
	}
	bodies = append(bodies, `{"scenario":"x","trials":1e9}`, `{"scenario":"x","trials":"10"}`, `{"scenario":"x","crews":-1}`, `{"SCENARIO":"x"}`,
		`{"scenario":"x","scenario":"y"}`, `{"scenario":null}`, `[{"scenario":"x"}]`)
	for _, b := range bodies {
		for _, ct := range []string{"application/json", "application/yaml", ""} {
			r := w.do("water/analyst", "POST", "/api/v1/simulations", ct, b)
			if r.status < 400 || r.status >= 500 {
				t.Errorf("body %q: %s", bulwark.Abbrev(b, 80), r)
			}
			checkNoInternals(t, r)
		}
	}
	if d := before != w.snapshot(); d {
		t.Error("hostile submissions changed the store")
	}
	if strings.Contains(w.logs.String(), "level=ERROR") {
		t.Errorf("hostile submissions logged errors:\n%s", bulwark.Abbrev(w.logs.String(), 2000))
	}
}
