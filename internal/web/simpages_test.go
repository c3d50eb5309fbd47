package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/simrun"
	"bulwark/internal/web"
	"bulwark/internal/web/webtest"
)

// newSimEnv is newEnv with a running job queue (in a database of its own:
// the runs are in the store).
func newSimEnv(t *testing.T, opt webtest.Options) *env {
	t.Helper()
	e := newEnv(t, opt)
	sims, err := simrun.Open(context.Background(), e.st, simrun.Config{DSN: ":memory:", ProgressEvery: 50 * time.Millisecond,
		HeartbeatEvery: 200 * time.Millisecond, SweepEvery: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sims.Close() })
	if err := sims.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := auth.New(e.st, auth.Options{Argon: cheap, LoginLimit: 1000}, nil)
	h, err := web.NewWith(e.st, web.Services{Sims: sims}, a, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// simScenario hits the fixture city's water systems.
func simScenario(name string) string {
	return fmt.Sprintf(`name: %q
horizon: 4d
goal: 100%% of critical services within 12h
events:
  - name: scada-ransomware
    nodes: [water-scada, hmi-01]
    probability: 0.4
    start: {kind: uniform, min: 0h, max: 12h}
    no_backups: true
  - name: feeder
    nodes: [feeder-1]
    joint: true
    probability: 0.5
    duration: {kind: triangular, min: 1h, mode: 4h, max: 12h}
`, name)
}

const simOptions = `options:
  - {name: Protect the SCADA, cost: 50000, protect: [water-scada]}
  - {name: Backups for the HMI, cost: 2000, backups: [hmi-01]}
`

var simIDRE = regexp.MustCompile(`^/simulations/(sim-[0-9a-f]+)$`)

// submitSim posts the runner's form and returns the run's ID.
func (e *env) submitSim(c *http.Client, form url.Values) string {
	e.t.Helper()
	form.Set("csrf_token", e.csrf(c))
	res, body := e.post(c, "/simulations", form)
	m := simIDRE.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		e.t.Fatalf("submit: %d %q %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	return m[1]
}

// waitSim polls the run's page until the run is final and returns the page.
func (e *env) waitSim(c *http.Client, id string) string {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, body := e.get(c, "/simulations/"+id)
		if res.StatusCode != 200 {
			e.t.Fatalf("run page: %d", res.StatusCode)
		}
		for _, s := range []string{"done", "failed", "canceled"} {
			if strings.Contains(body, `id="run" data-status="`+s+`"`) {
				return body
			}
		}
		if !strings.Contains(body, `hx-trigger="every 1s"`) {
			e.t.Fatal("an unfinished run's page does not refresh itself")
		}
		if time.Now().After(deadline) {
			e.t.Fatal("the run did not finish within 60 s")
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// chartData returns the JSON of the element with id's data-chart-data.
func chartData(t *testing.T, body, id string) map[string]any {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `"[^>]*data-chart-data="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no chart %s", id)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(htmlUnescape(m[1])), &v); err != nil {
		t.Fatalf("chart %s: %v", id, err)
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'", "&#43;", "+").Replace(s)
}

// TestSimulationPages: the runner submits (typed or uploaded files), the
// run's page refreshes itself until done and then carries every chart's
// data and the timeline; the runs table stops refreshing once nothing
// runs; the trace answers the timeline.
func TestSimulationPages(t *testing.T) {
	e := newSimEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	res, body := e.get(alice, "/simulations")
	if res.StatusCode != 200 {
		t.Fatalf("/simulations: %d", res.StatusCode)
	}
	for _, want := range []string{`id="sim-form"`, `enctype="multipart/form-data"`, `aria-current="page">Simulations`, `id="no-runs"`, `src="/static/js/simulations.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/simulations lacks %s", want)
		}
	}
	id := e.submitSim(alice, url.Values{"scenario": {simScenario("SCADA week")}, "trials": {"400"}, "seed": {"3"}, "crews": {"1"}})
	body = e.waitSim(alice, id)
	for _, want := range []string{`id="run" data-status="done"`, `id="run-title">SCADA week`, `id="goal-prob"`, `id="loss"`, `data-sim-chart="targets"`,
		`data-sim-chart="exceedance"`, `data-sim-chart="top"`, `id="services-table"`, `href="/services/water-supply"`, `id="timeline"`,
		`data-trace-url="/simulations/` + id + `/trace.json"`, `data-trials="400"`, `id="goal-data"`, `src="/static/vendor/echarts.min.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %s", want)
		}
	}
	if strings.Contains(body, `id="cancel-form"`) || strings.Contains(body, `hx-trigger`) || strings.Contains(body, `id="ranking-chart"`) {
		t.Error("a finished simulate run offers cancel, refreshes, or ranks investments")
	}
	targets := chartData(t, body, "targets-chart")["services"].([]any)
	if len(targets) == 0 {
		t.Fatal("no service in the targets chart")
	}
	first := targets[0].(map[string]any)
	if first["id"] != "water-supply" || first["mtd"] == nil || first["rto"] == nil {
		t.Errorf("targets chart row %v", first)
	}
	for _, s := range chartData(t, body, "exceedance-chart")["series"].([]any) {
		pts := s.(map[string]any)["points"].([]any)
		for i := 1; i < len(pts); i++ {
			a, b := pts[i-1].([]any), pts[i].([]any)
			if b[0].(float64) <= a[0].(float64) || b[1].(float64) >= a[1].(float64) {
				t.Errorf("exceedance curve not decreasing: %v", pts)
			}
		}
	}
	if items := chartData(t, body, "top-chart")["items"].([]any); len(items) == 0 {
		t.Error("no contributor")
	}

	// Uploaded files (multipart), an invest run: the ranking appears.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", e.csrf(alice))
	mw.WriteField("scenario", "")
	mw.WriteField("trials", "300")
	fw, _ := mw.CreateFormFile("scenario_file", "scenario.yaml")
	fw.Write([]byte(simScenario("Uploaded week")))
	fw, _ = mw.CreateFormFile("options_file", "options.yaml")
	fw.Write([]byte(simOptions))
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/simulations", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", e.srv.URL)
	up, err := alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	up.Body.Close()
	m := simIDRE.FindStringSubmatch(up.Header.Get("Location"))
	if up.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("upload: %d %q", up.StatusCode, up.Header.Get("Location"))
	}
	body = e.waitSim(alice, m[1])
	for _, want := range []string{`id="run-title">Uploaded week`, `id="ranking-chart"`, `id="ranking-table"`, "Protect the SCADA", "Backups for the HMI", "investment comparison"} {
		if !strings.Contains(body, want) {
			t.Errorf("invest run page lacks %s", want)
		}
	}
	if items := chartData(t, body, "ranking-chart")["items"].([]any); len(items) != 2 {
		t.Errorf("%d options in the ranking chart", len(items))
	}

	// The runs table: both runs, done, no longer refreshing.
	_, body = e.get(alice, "/simulations")
	if !strings.Contains(body, `id="run-`+id+`" data-status="done"`) || !strings.Contains(body, `data-active="false"`) || strings.Contains(body, "hx-trigger") {
		t.Error("the runs table does not show the finished runs at rest")
	}
	if n := strings.Count(body, `<progress value="`); n != 2 {
		t.Errorf("%d progress bars", n)
	}

	// The trace the timeline plays.
	for _, tc := range []struct {
		q      string
		status int
	}{{"?trial=5", 200}, {"", 200}, {"?trial=-1", 400}, {"?trial=400", 400}, {"?trial=x", 400}, {"?trial=1&trial=2", 400}, {"?evil=1", 400}} {
		res, body := e.get(alice, "/simulations/"+id+"/trace.json"+tc.q)
		if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("trace%s: %d %s", tc.q, res.StatusCode, body)
		}
		if tc.status == 200 {
			var v simrun.TraceView
			if err := json.Unmarshal([]byte(body), &v); err != nil || v.Run != id || v.Seed != 3 || len(v.EventNames) != 2 {
				t.Errorf("trace%s: %v %+v", tc.q, err, v)
			}
		}
	}
	// Canceling a finished run: the page says why not.
	form := url.Values{"csrf_token": {e.csrf(alice)}}
	res, body = e.post(alice, "/simulations/"+id+"/cancel", form)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "already done") {
		t.Errorf("cancel a done run: %d", res.StatusCode)
	}
}

// TestSimulationRefusals: who may run, the form's hostile input, and
// another organization's runs (404 like a missing one).
func TestSimulationRefusals(t *testing.T) {
	e := newSimEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	id := e.submitSim(alice, url.Values{"scenario": {simScenario("water's")}, "trials": {"50"}})
	e.waitSim(alice, id)

	// Viewers and other organizations see no form and cannot post.
	for _, who := range []string{"victor@water.example", "bob@port.example", "pat@port.example"} {
		c := e.loggedIn(who)
		_, body := e.get(c, "/simulations")
		if strings.Contains(body, `id="sim-form"`) || !strings.Contains(body, `id="sim-refusal"`) {
			t.Errorf("%s is offered the form", who)
		}
		res, _ := e.post(c, "/simulations", url.Values{"csrf_token": {e.csrf(c)}, "scenario": {simScenario("x")}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s posting a run: %d", who, res.StatusCode)
		}
	}
	pat := e.loggedIn("pat@port.example")
	res, body := e.get(pat, "/simulations/"+id)
	_, missing := e.get(pat, "/simulations/sim-0000000000000000")
	if res.StatusCode != http.StatusNotFound || strings.ReplaceAll(body, id, "X") != strings.ReplaceAll(missing, "sim-0000000000000000", "X") {
		t.Errorf("another organization's run: %d", res.StatusCode)
	}
	if res, _ := e.get(pat, "/simulations/"+id+"/trace.json"); res.StatusCode != http.StatusNotFound {
		t.Errorf("another organization's trace: %d", res.StatusCode)
	}
	if res, _ := e.post(pat, "/simulations/"+id+"/cancel", url.Values{"csrf_token": {e.csrf(pat)}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("another organization's cancel: %d", res.StatusCode)
	}
	_, body = e.get(pat, "/simulations")
	if strings.Contains(body, id) {
		t.Error("another organization lists water's run")
	}

	// Hostile form input: refused with the typed values kept.
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"no token", url.Values{"scenario": {simScenario("x")}}, http.StatusForbidden, ""},
		{"bad trials", url.Values{"scenario": {simScenario("kept")}, "trials": {"many"}}, http.StatusBadRequest, "trials"},
		{"too many trials", url.Values{"scenario": {simScenario("kept")}, "trials": {"100001"}}, http.StatusBadRequest, "trials"},
		{"negative seed", url.Values{"scenario": {simScenario("kept")}, "seed": {"-1"}}, http.StatusBadRequest, "seed"},
		{"malformed YAML", url.Values{"scenario": {"events:\n  - {name: e, nodes: [x], probability: 9}\n# kept"}}, http.StatusBadRequest, "scenario.yaml: line 2"},
		{"options not YAML", url.Values{"scenario": {simScenario("kept")}, "options": {"options: [{{{"}}, http.StatusBadRequest, "options.yaml"},
		{"empty", url.Values{"scenario": {""}}, http.StatusBadRequest, "scenario"},
		{"oversized", url.Values{"scenario": {strings.Repeat("#", 5*bulwark.MaxSimInput)}}, http.StatusRequestEntityTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status != http.StatusForbidden {
				tc.form.Set("csrf_token", e.csrf(alice))
			}
			res, body := e.post(alice, "/simulations", tc.form)
			if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d, want %d with %q: %s", res.StatusCode, tc.status, tc.want, truncateBody(body))
			}
			if tc.want != "" && !strings.Contains(body, "kept") && tc.name != "empty" {
				t.Error("the typed scenario is lost")
			}
		})
	}
	if res, _ := e.get(alice, "/simulations?x=1"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("/simulations?x=1: %d", res.StatusCode)
	}
	if res, _ := e.get(alice, "/simulations/%27%20OR%201=1"); res.StatusCode != http.StatusNotFound {
		t.Errorf("hostile run ID: %d", res.StatusCode)
	}
}

func truncateBody(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}

// TestSimulationPayloadsEscaped: scenario, event and option names full of
// markup are shown as text on every simulation page.
func TestSimulationPayloadsEscaped(t *testing.T) {
	e := newSimEnv(t, webtest.Options{Payloads: true})
	alice := e.loggedIn("alice@water.example")
	payloads := webtest.Payloads()
	sc := strings.Replace(simScenario(payloads[0]+payloads[17]), "scada-ransomware", fmt.Sprintf("%q", payloads[3]), 1)
	opts := fmt.Sprintf("options:\n  - {name: %q, cost: 1, protect: [feeder-1]}\n", payloads[40])
	id := e.submitSim(alice, url.Values{"scenario": {sc}, "options": {opts}, "trials": {"100"}})
	body := e.waitSim(alice, id)
	if !strings.Contains(body, `data-status="done"`) {
		t.Fatalf("the run with payloads did not finish: %s", truncateBody(body))
	}
	for _, path := range []string{"/simulations", "/simulations/" + id} {
		_, body := e.get(alice, path)
		if p, ok := webtest.Contains(body); ok {
			t.Errorf("%s contains the payload %q unescaped", path, p)
		}
	}
}
