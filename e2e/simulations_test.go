package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"bulwark"
	"bulwark/internal/app"
	"bulwark/internal/auth"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
	"bulwark/internal/web/webtest"
)

// startApp starts Bulwark the way bulwark serve does (internal/app: the
// store, the job queue working simulations, the API and the pages), with
// the city that load puts into the store and the given users.
func startApp(t *testing.T, load func(ctx context.Context, st *sqlstore.DB) error, users ...bulwark.User) *instance {
	t.Helper()
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	log := slog.New(slog.DiscardHandler)
	path := filepath.Join(t.TempDir(), "bulwark.db")
	st, err := sqlstore.Open(ctx, path, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := load(ctx, st); err != nil {
		t.Fatalf("load city: %v", err)
	}
	a := auth.New(st, auth.Options{Argon: cheap}, log)
	for _, u := range users {
		if u.PasswordHash, err = a.HashPassword(password); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	m, err := app.New(app.Config{DB: path, Addr: "127.0.0.1:0", Log: log}, st)
	if err != nil {
		t.Fatal(err)
	}
	url, err := m.Listen()
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(sctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &instance{URL: url, St: st}
}

// simScenario hits the fixture city's water systems; its names carry
// payloads.
func simScenario(name, event string) string {
	return fmt.Sprintf(`name: %q
horizon: 4d
goal: 100%% of critical services within 12h
events:
  - name: %q
    nodes: [water-scada, hmi-01]
    probability: 0.5
    start: {kind: uniform, min: 0h, max: 12h}
    no_backups: true
  - name: feeder
    nodes: [feeder-1]
    joint: true
    probability: 0.6
    duration: {kind: triangular, min: 1h, mode: 4h, max: 12h}
`, name, event)
}

// submitRun fills the runner's form and submits it; it returns the run's
// URL.
func submitRun(t *testing.T, ctx context.Context, base, scenario, options, trials string) string {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+"/simulations"), chromedp.WaitVisible(chromedp.ID("sim-form")))
	for id, v := range map[string]string{"sim-scenario": scenario, "sim-options": options, "sim-trials": trials, "sim-seed": "7"} {
		js, _ := json.Marshal(v)
		eval[chromedp.Void](t, ctx, `document.getElementById('`+id+`').value = `+string(js))
	}
	click(t, ctx, "#sim-submit")
	loc := location(t, ctx)
	if !strings.Contains(loc, "/simulations/sim-") {
		t.Fatalf("after submitting, the browser is at %s: %s", loc, eval[string](t, ctx, `(document.getElementById('sim-error') || {}).textContent || ''`))
	}
	return loc
}

// TestSimulations submits a run in the browser, watches its progress reach
// done without reloading, checks every chart, plays the timeline of a
// trial, compares investments, and checks that names full of markup never
// run and that another organization sees nothing.
func TestSimulations(t *testing.T) {
	inst := startApp(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, func(emit func(*bulwark.City) error) error {
			return emit(webtest.City(webtest.Options{Meters: 3, Payloads: true}))
		})
	},
		bulwark.User{Org: webtest.OrgWater, Email: "alice@water.example", Name: "Alice", Role: bulwark.RoleAnalyst},
		bulwark.User{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
	)
	ctx := browser(t, 3*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")
	run(t, ctx, chromedp.Navigate(base+"/simulations"), chromedp.WaitVisible(chromedp.ID("sim-form")))
	if got := eval[string](t, ctx, `document.querySelector('.main-nav [aria-current="page"]').textContent`); got != "Simulations" {
		t.Errorf("active nav entry %q", got)
	}
	payloads := webtest.Payloads()
	name := payloads[0] + " week"
	runURL := submitRun(t, ctx, base, simScenario(name, payloads[21]), "", "100000")

	// The page refreshes itself (htmx) until the run is done.
	seen := map[string]bool{}
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := eval[string](t, ctx, `document.getElementById('run').getAttribute('data-status')`)
		seen[st] = true
		if st == "done" {
			break
		}
		if st == "failed" || st == "canceled" || time.Now().After(deadline) {
			t.Fatalf("the run is %s: %s", st, eval[string](t, ctx, `(document.getElementById('run-message') || {}).textContent || ''`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !seen["queued"] && !seen["running"] {
		t.Error("the page never showed the run before it was done")
	}
	if loc := location(t, ctx); loc != runURL {
		t.Errorf("the page navigated to %s while refreshing", loc)
	}
	if v := eval[[]float64](t, ctx, `[document.getElementById('run-progress').value, document.getElementById('run-progress').max]`); len(v) != 2 || v[0] != v[1] || v[1] != 100000 {
		t.Errorf("progress at the end %v", v)
	}
	if got := eval[string](t, ctx, `document.getElementById('run-title').textContent`); got != name {
		t.Errorf("title %q, want the payload as text", got)
	}

	// Every chart draws.
	for _, id := range []string{"targets-chart", "exceedance-chart", "top-chart"} {
		run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#`+id+`[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(10*time.Second)))
	}
	if n := eval[int](t, ctx, `+document.getElementById('targets-chart').getAttribute('data-rows')`); n < 2 {
		t.Errorf("targets chart has %d rows, want the goal and water-supply", n)
	}
	if n := eval[int](t, ctx, `+document.getElementById('exceedance-chart').getAttribute('data-series')`); n < 1 {
		t.Error("no exceedance curve")
	}
	for _, id := range []string{"targets-chart", "exceedance-chart", "top-chart"} {
		eval[chromedp.Void](t, ctx, `(function () { var c = echarts.getInstanceByDom(document.getElementById('`+id+`'));
			c.getOption().series.forEach(function (s, i) { (s.data || []).forEach(function (d, j) { c.dispatchAction({type: 'showTip', seriesIndex: i, dataIndex: j}); }); }); })()`)
	}

	// The timeline: a trial with an incident is found and drawn; playing
	// moves time forward and colours nodes.
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#timeline[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(20*time.Second)))
	if n := eval[int](t, ctx, `+document.getElementById('timeline').getAttribute('data-nodes')`); n < 3 {
		t.Errorf("the trial draws %d nodes", n)
	}
	if got := eval[string](t, ctx, `document.getElementById('timeline').getAttribute('data-time')`); got != "0.000" {
		t.Errorf("the timeline starts at %s", got)
	}
	run(t, ctx, chromedp.Click(chromedp.ID("play")))
	run(t, ctx, chromedp.Poll[chromedp.Void](`+document.getElementById('timeline').getAttribute('data-time') > 0`, chromedp.WithPollingTimeout(5*time.Second)))
	maxFailed := 0
	for end := time.Now().Add(90 * time.Second); time.Now().Before(end); {
		maxFailed = max(maxFailed, eval[int](t, ctx, `+document.getElementById('timeline').getAttribute('data-failed')`))
		if eval[string](t, ctx, `document.getElementById('timeline').getAttribute('data-playing')`) == "0" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if maxFailed == 0 {
		t.Error("no node was ever drawn failed while the trial played")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#trace-log li').length`); n == 0 {
		t.Error("the step log is empty after playing")
	}
	if got := eval[string](t, ctx, `document.getElementById('time-slider').value`); got != "1000" {
		t.Errorf("the slider ends at %s", got)
	}
	// The slider scrubs back; the step log is text (the event name is a
	// payload).
	run(t, ctx, chromedp.SetValue(chromedp.ID("time-slider"), "0"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('time-slider').dispatchEvent(new Event('input'))`))
	if got := eval[string](t, ctx, `document.getElementById('timeline').getAttribute('data-time')`); got != "0.000" {
		t.Errorf("after scrubbing back, time %s", got)
	}
	n := eval[int](t, ctx, `echarts.getInstanceByDom(document.getElementById('timeline')).getOption().series[0].data.length`)
	for i := range n {
		eval[chromedp.Void](t, ctx, fmt.Sprintf(`echarts.getInstanceByDom(document.getElementById('timeline')).dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: %d})`, i))
	}
	run(t, ctx, chromedp.Sleep(200*time.Millisecond))
	noScriptRan(t, ctx, "run page")
	if n := eval[int](t, ctx, `document.querySelectorAll('main script:not([src^="/static/"]), main img, main iframe, main svg, main object, main embed').length`); n != 0 {
		t.Errorf("%d elements from payloads on the run page", n)
	}
	// Another trial by number.
	run(t, ctx, chromedp.SetValue(chromedp.ID("trial"), "3"), chromedp.Click(chromedp.ID("trace-load")),
		chromedp.Poll[chromedp.Void](`document.getElementById('timeline').getAttribute('data-trial') === '3'`, chromedp.WithPollingTimeout(10*time.Second)))

	// The runner lists the run, done.
	run(t, ctx, chromedp.Navigate(base+"/simulations"), chromedp.WaitVisible(chromedp.ID("runs-table")))
	if got := eval[string](t, ctx, `document.querySelector('#runs-table tbody tr').getAttribute('data-status')`); got != "done" {
		t.Errorf("the runs table shows %s", got)
	}
	noScriptRan(t, ctx, "runner")

	// Investments: the ranking chart and table.
	opts := fmt.Sprintf("options:\n  - {name: %q, cost: 50000, protect: [water-scada]}\n  - {name: HMI backups, cost: 2000, backups: [hmi-01]}\n", payloads[45])
	submitRun(t, ctx, base, simScenario("Invest week", "ransomware"), opts, "3000")
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById('run').getAttribute('data-status') === 'done'`, chromedp.WithPollingTimeout(60*time.Second)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#ranking-chart[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(10*time.Second)))
	if n := eval[int](t, ctx, `document.querySelectorAll('#ranking-table tbody tr').length`); n != 2 {
		t.Errorf("%d options ranked", n)
	}
	eval[chromedp.Void](t, ctx, `(function () { var c = echarts.getInstanceByDom(document.getElementById('ranking-chart'));
		c.getOption().series.forEach(function (s, i) { (s.data || []).forEach(function (d, j) { c.dispatchAction({type: 'showTip', seriesIndex: i, dataIndex: j}); }); }); })()`)
	run(t, ctx, chromedp.Sleep(200*time.Millisecond))
	noScriptRan(t, ctx, "invest run")

	// Another organization: no form, and the run is not found.
	ctx2 := browser(t, time.Minute)
	login(t, ctx2, base, "bob@port.example")
	run(t, ctx2, chromedp.Navigate(base+"/simulations"), chromedp.WaitVisible(chromedp.ID("sim-refusal")))
	if n := eval[int](t, ctx2, `document.querySelectorAll('#sim-form, #runs-table').length`); n != 0 {
		t.Error("the port's viewer is offered the form or sees runs")
	}
	res, err := chromedp.Run(ctx2, chromedp.NavigateResponse(runURL))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusNotFound {
		t.Errorf("the port's viewer opens water's run: %d", res.Status)
	}
}

// TestSimulationScreenshot writes docs/simulation.png: the Port Halden
// scenario (without its CVE event, which needs the feeds) on the demo
// city, with -screenshot.
func TestSimulationScreenshot(t *testing.T) {
	if !*screenshot {
		t.Skip("with -screenshot only")
	}
	testenv.Chromium(t)
	inst := startApp(t, func(ctx context.Context, st *sqlstore.DB) error { return importCity(ctx, st, demo) },
		bulwark.User{Org: "city-ciso", Email: "ciso@halden.example", Name: "City CISO", Role: bulwark.RoleAnalyst})
	sc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "simulation", "scenario-port-halden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	scenario, _, _ := strings.Cut(string(sc), "  - name: ios-kev")
	ctx := browser(t, 5*time.Minute)
	login(t, ctx, inst.URL, "ciso@halden.example")
	submitRun(t, ctx, inst.URL, scenario, "", "2000")
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById('run').getAttribute('data-status') === 'done'`, chromedp.WithPollingTimeout(3*time.Minute)),
		chromedp.Poll[chromedp.Void](`document.querySelector('#timeline[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(60*time.Second)),
		chromedp.SetValue(chromedp.ID("time-slider"), "300"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('time-slider').dispatchEvent(new Event('input'))`),
		chromedp.EmulateViewport(1400, 1500), chromedp.Sleep(time.Second))
	top, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	timeline, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("timeline-section")))
	if err != nil {
		t.Fatal(err)
	}
	for name, png := range map[string][]byte{"simulation.png": top, "simulation-timeline.png": timeline} {
		out := filepath.Join(testenv.RepoRoot(t), "docs", name)
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(png))
	}
}
