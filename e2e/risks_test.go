package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"bulwark"
	demopkg "bulwark/internal/demo"
	"bulwark/internal/risk"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
	"bulwark/internal/web/webtest"
)

// startRisks starts a server with the fixture city, an analyst and a
// viewer of the water department and a viewer of the port authority.
func startRisks(t *testing.T) *instance {
	t.Helper()
	return start(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, func(emit func(*bulwark.City) error) error { return emit(webtest.City(webtest.Options{Meters: 3})) })
	},
		bulwark.User{Org: webtest.OrgWater, Email: "alice@water.example", Name: "Alice", Role: bulwark.RoleAnalyst},
		bulwark.User{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
	)
}

// TestRisks adds a risk through the form, finds it in its heat map cell,
// edits it, reads the history, and opens the analysis with its loss
// exceedance chart; the port's viewer sees none of it.
func TestRisks(t *testing.T) {
	inst := startRisks(t)
	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")
	run(t, ctx, chromedp.Navigate(base+"/risks"), chromedp.WaitVisible(chromedp.ID("risk-form")))
	if got := eval[string](t, ctx, `document.querySelector('.main-nav [aria-current="page"]').textContent`); got != "Risks" {
		t.Errorf("active nav entry %q", got)
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.ID("new-title"), "SCADA ransomware"),
		chromedp.SendKeys(chromedp.ID("new-scenario"), "Ransomware encrypts the SCADA servers"),
		chromedp.SendKeys(chromedp.ID("new-services"), "water-supply"),
		chromedp.SendKeys(chromedp.ID("new-systems"), "water-scada"),
		chromedp.SetValue(chromedp.ID("new-likelihood"), "4"),
		chromedp.SetValue(chromedp.ID("new-impact"), "5"),
		chromedp.SendKeys(chromedp.ID("new-freq-min"), "0.1"),
		chromedp.SendKeys(chromedp.ID("new-freq-ml"), "0.5"),
		chromedp.SendKeys(chromedp.ID("new-freq-max"), "2"),
		chromedp.SendKeys(chromedp.ID("new-loss-min"), "10000"),
		chromedp.SendKeys(chromedp.ID("new-loss-ml"), "50000"),
		chromedp.SendKeys(chromedp.ID("new-loss-max"), "400000"),
		chromedp.SetValue(chromedp.ID("new-treatment"), "mitigate"),
	)
	eval[chromedp.Void](t, ctx, `(function () {
		var s = document.getElementById('new-techniques');
		Array.prototype.forEach.call(s.options, function (o) { o.selected = o.value === 'T0866' || o.value === 'T0882'; });
	})()`)
	click(t, ctx, "#risk-submit")
	loc := location(t, ctx)
	if !strings.Contains(loc, "/risks/risk-") {
		t.Fatalf("after adding the risk the browser is at %s: %s", loc, eval[string](t, ctx, `(document.getElementById('risk-error') || {}).textContent || ''`))
	}
	riskURL := strings.TrimSuffix(loc, "?saved=1")
	if got := eval[string](t, ctx, `document.getElementById('risk-title').textContent`); got != "SCADA ransomware" {
		t.Errorf("risk title %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#techniques a[href^="https://attack.mitre.org/techniques/T08"]').length`); n != 2 {
		t.Errorf("%d ATT&CK links, want 2", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#affected a[href="/services/water-supply"], #affected a[href="/systems/water-scada"]').length`); n != 2 {
		t.Errorf("%d links to what the risk hits, want 2", n)
	}

	// The heat map counts it in likelihood 4, impact 5; the cell links to it.
	run(t, ctx, chromedp.Navigate(base+"/risks"), chromedp.WaitVisible(chromedp.ID("heatmap-table")))
	if got := eval[string](t, ctx, `document.getElementById('cell-4-5').textContent.trim()`); got != "1" {
		t.Errorf("cell 4×5 reads %q, want 1", got)
	}
	if cls := eval[string](t, ctx, `document.getElementById('cell-4-5').className`); !strings.Contains(cls, "heat-critical") {
		t.Errorf("cell 4×5 class %q", cls)
	}
	if bg := eval[string](t, ctx, `getComputedStyle(document.getElementById('cell-4-5')).backgroundColor`); bg == eval[string](t, ctx, `getComputedStyle(document.getElementById('cell-1-1')).backgroundColor`) {
		t.Errorf("critical and low cells share the colour %s", bg)
	}
	click(t, ctx, "#cell-4-5 a")
	if n := eval[int](t, ctx, `document.querySelectorAll('#risks tbody tr').length`); n != 1 {
		t.Errorf("the cell's list has %d rows", n)
	}

	// Edit: a new revision with a note, seen in the history.
	run(t, ctx, chromedp.Navigate(riskURL), chromedp.WaitVisible(chromedp.ID("edit-form")),
		chromedp.SetValue(chromedp.ID("edit-status"), "treating"),
		chromedp.SetValue(chromedp.ID("edit-likelihood"), "3"),
		chromedp.SendKeys(chromedp.ID("edit-note"), "segmentation funded"),
	)
	click(t, ctx, "#edit-submit")
	run(t, ctx, chromedp.WaitVisible(chromedp.ID("risk-saved")))
	if got := eval[string](t, ctx, `document.getElementById('risk-status').textContent`); got != "treating" {
		t.Errorf("status after the edit %q", got)
	}
	if rows := eval[int](t, ctx, `document.querySelectorAll('#history-table tbody tr').length`); rows != 2 {
		t.Errorf("%d history rows, want 2", rows)
	}
	if txt := eval[string](t, ctx, `document.querySelector('#history-table tbody tr').textContent`); !strings.Contains(txt, "segmentation funded") || !strings.Contains(txt, "alice@water.example") {
		t.Errorf("newest history row %q", txt)
	}

	// The analysis draws the loss exceedance curve.
	run(t, ctx, chromedp.Navigate(base+"/risks/analysis?trials=5000"), chromedp.WaitVisible(chromedp.ID("exceedance-chart")),
		chromedp.Poll[chromedp.Void](`document.getElementById('exceedance-chart').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(10*time.Second)))
	if n := eval[int](t, ctx, `Number(document.getElementById('exceedance-chart').getAttribute('data-points'))`); n < 10 {
		t.Errorf("the curve has %d points", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#exceedance-chart canvas').length`); n == 0 {
		t.Error("the exceedance chart drew no canvas")
	}
	if txt := eval[string](t, ctx, `document.getElementById('eal').textContent`); !strings.Contains(txt, "95 % CI") {
		t.Errorf("expected annual loss %q", txt)
	}
	noScriptRan(t, ctx, "analysis")

	// Another organization sees none of it.
	ctx2 := browser(t, time.Minute)
	login(t, ctx2, base, "bob@port.example")
	res, err := chromedp.Run(ctx2, chromedp.NavigateResponse(riskURL))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 404 {
		t.Errorf("port viewer opens the water risk: %d", res.Status)
	}
	run(t, ctx2, chromedp.Navigate(base+"/risks"), chromedp.WaitVisible(chromedp.ID("heatmap-table")))
	if got := eval[string](t, ctx2, `document.getElementById('cell-3-5').textContent.trim()`); got != "·" {
		t.Errorf("the port's heat map counts the water risk: %q", got)
	}
	if n := eval[int](t, ctx2, `document.querySelectorAll('#risk-form').length`); n != 0 {
		t.Error("a viewer is offered the form")
	}
}

// TestRisksXSS stores risks whose title, scenario and plan are XSS
// payloads, and one more through the form, and checks that no page runs
// them.
func TestRisksXSS(t *testing.T) {
	inst := startRisks(t)
	rs := risk.New(inst.St, nil)
	payloads := append([]string{"<img src=x onerror=alert(1)>"}, webtest.Payloads()...)
	for i, p := range payloads[:40] {
		r := &bulwark.Risk{Title: p, Scenario: p, TreatmentPlan: p, TreatmentOwner: p, Likelihood: 1 + i%5, Impact: 1 + (i/5)%5,
			Frequency: bulwark.Range{Min: 0.1, MostLikely: 0.5, Max: 1}, Loss: bulwark.Range{Min: 100, MostLikely: 1000, Max: 5000}}
		if _, err := rs.Create(asAlice(), r); err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
	}
	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")
	run(t, ctx, chromedp.Navigate(base+"/risks"), chromedp.WaitVisible(chromedp.ID("risk-form")),
		chromedp.SendKeys(chromedp.ID("new-title"), `"><svg onload=window.`+webtest.Flag+`=1>`),
		chromedp.SendKeys(chromedp.ID("new-scenario"), `</textarea><script>window.`+webtest.Flag+`=1</script>`),
	)
	click(t, ctx, "#risk-submit")
	formRisk := strings.TrimSuffix(location(t, ctx), "?saved=1")
	if !strings.Contains(formRisk, "/risks/risk-") {
		t.Fatalf("the payload risk was not added: %s", formRisk)
	}
	if got := eval[string](t, ctx, `document.getElementById('risk-title').textContent`); !strings.Contains(got, "<svg onload") {
		t.Errorf("the title is not shown as text: %q", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('risk-scenario').textContent`); !strings.Contains(got, "<script>") {
		t.Errorf("the scenario is not shown as text: %q", got)
	}
	for _, path := range []string{strings.TrimPrefix(formRisk, base), "/risks", "/risks?status=open&likelihood=1&impact=1", "/risks/analysis?trials=500"} {
		run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("footer")), chromedp.Sleep(200*time.Millisecond))
		noScriptRan(t, ctx, path)
		if n := eval[int](t, ctx, `document.querySelectorAll('main script, main img, main iframe, main object, main embed, main video, main svg').length`); n != 0 {
			t.Errorf("%s: %d elements from payloads", path, n)
		}
	}
	// One stored payload risk's own page, with its edit form pre-filled.
	list, err := rs.List(asAlice(), bulwark.RiskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(base+"/risks/"+list[0].ID), chromedp.WaitVisible(chromedp.ID("edit-form")))
	noScriptRan(t, ctx, "a payload risk")
	if got := eval[string](t, ctx, `document.getElementById('edit-plan').value`); got != list[0].TreatmentPlan {
		t.Errorf("the plan field holds %.60q, want the stored text", got)
	}
}

// TestRiskScreenshots writes docs/risks.png and docs/risk-analysis.png
// from the demo city and its register with -screenshot.
func TestRiskScreenshots(t *testing.T) {
	if !*screenshot {
		t.Skip("run with -screenshot to rewrite docs/risks.png and docs/risk-analysis.png")
	}
	inst := start(t, func(ctx context.Context, st *sqlstore.DB) error {
		if err := importCity(ctx, st, demo); err != nil {
			return err
		}
		return demopkg.SeedRisks(ctx, st, risk.New(st, nil))
	}, bulwark.User{Org: "city-ciso", Email: "ciso@city.example", Name: "CISO", Role: bulwark.RoleAnalyst})
	ctx := browser(t, 3*time.Minute)
	login(t, ctx, inst.URL, "ciso@city.example")
	shoot := func(path, name, ready string) {
		run(t, ctx, chromedp.EmulateViewport(1200, 1100), chromedp.Navigate(inst.URL+path),
			chromedp.Poll[chromedp.Void](ready, chromedp.WithPollingTimeout(15*time.Second)), chromedp.Sleep(time.Second))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(testenv.RepoRoot(t), "docs", name)
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(png))
	}
	shoot("/risks", "risks.png", `document.getElementById('heatmap-table') !== null`)
	shoot("/risks/analysis", "risk-analysis.png", `document.getElementById('exceedance-chart').getAttribute('data-ready') === '1'`)
}
