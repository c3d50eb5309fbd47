package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/sqlstore"
	"bulwark/internal/web/webtest"
)

func startIncidents(t *testing.T, opt webtest.Options) *instance {
	t.Helper()
	return start(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, func(emit func(*bulwark.City) error) error { return emit(webtest.City(opt)) })
	},
		bulwark.User{Org: webtest.OrgWater, Email: "alice@water.example", Name: "Alice", Role: bulwark.RoleAnalyst},
		bulwark.User{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
	)
}

// TestIncidents reports an incident through the board's form, reads its
// page (severity inputs, clock, the affected graph drawn by ECharts,
// tasks), moves it to containment, adds a note, finds it on the board in
// its new column; the port's viewer finds nothing.
func TestIncidents(t *testing.T) {
	inst := startIncidents(t, webtest.Options{})
	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")
	run(t, ctx, chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(chromedp.ID("report-form")))
	if got := eval[string](t, ctx, `document.querySelector('.main-nav [aria-current="page"]').textContent`); got != "Incidents" {
		t.Errorf("active nav entry %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#board .board-col').length`); n != 5 {
		t.Errorf("%d board columns, want the 5 open phases", n)
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.ID("inc-title"), "Ransom note on the SCADA HMI"),
		chromedp.SetValue(chromedp.ID("inc-threat"), "ransomware"),
		chromedp.SendKeys(chromedp.ID("inc-affected"), "water-scada:down\nhmi-01:compromised"),
		chromedp.SendKeys(chromedp.ID("inc-description"), "Operators see a ransom note; plant on manual."),
	)
	click(t, ctx, "#report-submit")
	loc := location(t, ctx)
	if !strings.Contains(loc, "/incidents/inc-") {
		t.Fatalf("after reporting the browser is at %s: %s", loc, eval[string](t, ctx, `(document.getElementById('report-error') || {}).textContent || ''`))
	}
	incURL := strings.TrimSuffix(loc, "?saved=reported")
	if got := eval[string](t, ctx, `document.querySelector('#incident-severity .sev').textContent`); got != "4 severe" {
		t.Errorf("severity %q", got)
	}
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector('#incident-severity .sev')).backgroundColor`); bg != "rgb(198, 40, 40)" {
		t.Errorf("severe is not red: %s", bg)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#severity-inputs tbody tr').length`); n != 7 {
		t.Errorf("%d severity inputs, want 7", n)
	}
	if txt := eval[string](t, ctx, `document.querySelector('#clock-table tbody tr').textContent`); !strings.Contains(txt, "Drinking water supply") || !strings.Contains(txt, "12h") {
		t.Errorf("clock row %q", txt)
	}
	// The graph: ECharts draws the affected part with states.
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById('graph').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(15*time.Second)))
	if n := eval[int](t, ctx, `Number(document.getElementById('graph').getAttribute('data-down'))`); n != 2 {
		t.Errorf("%d nodes drawn down, want the SCADA and the water supply", n)
	}
	if n := eval[int](t, ctx, `Number(document.getElementById('graph').getAttribute('data-nodes'))`); n != 4 {
		t.Errorf("%d nodes drawn, want 4 (with the compromised HMI and the degraded billing)", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#graph canvas').length`); n == 0 {
		t.Error("no canvas")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#tasks tr[id^="task-"]').length`); n < 10 {
		t.Errorf("%d tasks", n)
	}

	// Containment, then a note.
	run(t, ctx, chromedp.SetValue(chromedp.ID("phase-select"), "containment"), chromedp.SendKeys(chromedp.ID("phase-note"), "SCADA isolated"))
	click(t, ctx, "#phase-submit")
	if got := eval[string](t, ctx, `document.getElementById('incident-phase').textContent`); got != "Containment" {
		t.Errorf("phase %q", got)
	}
	run(t, ctx, chromedp.SendKeys(chromedp.ID("note-text"), "EOC activated"))
	click(t, ctx, "#note-submit")
	if txt := eval[string](t, ctx, `document.querySelector('#timeline-list li').textContent`); !strings.Contains(txt, "EOC activated") {
		t.Errorf("newest timeline entry %q", txt)
	}
	run(t, ctx, chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(chromedp.ID("board")))
	if n := eval[int](t, ctx, `document.querySelectorAll('#col-containment .card').length`); n != 1 {
		t.Errorf("%d cards under containment", n)
	}

	// The port's viewer: the incident does not exist.
	bctx := browser(t, time.Minute)
	login(t, bctx, base, "bob@port.example")
	run(t, bctx, chromedp.Navigate(incURL), chromedp.WaitReady(chromedp.CSS("footer")))
	if txt := eval[string](t, bctx, `document.querySelector('main').textContent`); strings.Contains(txt, "Ransom") || !strings.Contains(txt, "not found") {
		t.Errorf("the port sees %q", truncate(txt, 200))
	}
	run(t, bctx, chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(chromedp.ID("board")))
	if n := eval[int](t, bctx, `document.querySelectorAll('#board .card').length`); n != 0 {
		t.Errorf("the port's board shows %d incidents", n)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// TestIncidentsXSS fills every text an incident shows with payloads —
// titles, descriptions, notes, task notes, the review, and the names of
// the entities in the graph — and checks that nothing runs anywhere.
func TestIncidentsXSS(t *testing.T) {
	inst := startIncidents(t, webtest.Options{Payloads: true})
	is := incident.New(inst.St, baseline.New(inst.St, nil), nil)
	payloads := append([]string{"<img src=x onerror=alert(1)>"}, webtest.Payloads()...)
	var ids []string
	for i, p := range payloads[:12] {
		inc, err := is.Create(asAlice(), &bulwark.Incident{Title: p, Description: p, Threat: "ransomware",
			Affected: []bulwark.Affected{{ID: "water-scada", Effect: bulwark.EffectDown}, {ID: "hmi-01", Effect: bulwark.EffectCompromised}}})
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if err := is.AddNote(asAlice(), inc.ID, p, false); err != nil {
			t.Fatal(err)
		}
		if _, err := is.UpdateTask(asAlice(), inc.ID, "t1", incident.TaskChange{Note: p}); err != nil {
			t.Fatal(err)
		}
		if _, err := is.PutReview(asAlice(), inc.ID, &bulwark.IncidentReview{Summary: p, WhatWorked: []string{p}, Decisions: []bulwark.ReviewDecision{{Decision: p, By: p}}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inc.ID)
	}
	ctx := browser(t, 3*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")
	// One more through the form.
	run(t, ctx, chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(chromedp.ID("report-form")),
		chromedp.SendKeys(chromedp.ID("inc-title"), `"><svg onload=window.`+webtest.Flag+`=1>`),
		chromedp.SendKeys(chromedp.ID("inc-description"), `</textarea><script>window.`+webtest.Flag+`=1</script>`),
		chromedp.SendKeys(chromedp.ID("inc-affected"), "water-scada"))
	click(t, ctx, "#report-submit")
	if got := eval[string](t, ctx, `document.getElementById('incident-title').textContent`); !strings.Contains(got, "<svg onload") {
		t.Errorf("the title is not shown as text: %q", got)
	}
	paths := []string{"/incidents", "/playbooks", "/raci?service=water-supply", "/incidents/" + ids[0], "/incidents/" + ids[0] + "/review", "/incidents/" + ids[5]}
	for _, path := range paths {
		run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("footer")), chromedp.Sleep(300*time.Millisecond))
		if strings.HasPrefix(path, "/incidents/inc-") && !strings.HasSuffix(path, "/review") {
			run(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById('graph').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(15*time.Second)))
			// Hover every node: ECharts tooltips are HTML, built from
			// names that carry payloads.
			eval[chromedp.Void](t, ctx, `(function () {
				var c = window.echarts.getInstanceByDom(document.getElementById('graph'));
				var n = c.getOption().series[0].data.length;
				for (var i = 0; i < n; i++) { c.dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: i }); }
			})()`)
			run(t, ctx, chromedp.Sleep(200*time.Millisecond))
		}
		noScriptRan(t, ctx, path)
		if n := eval[int](t, ctx, `document.querySelectorAll('main script, main img, main iframe, main object, main embed, main video, main svg:not(.echarts svg)').length`); n != 0 {
			t.Errorf("%s: %d elements from payloads", path, n)
		}
	}
	// The review's edit form holds the stored text as text.
	run(t, ctx, chromedp.Navigate(base+"/incidents/"+ids[0]+"/review"), chromedp.WaitVisible(chromedp.ID("review-source")))
	if got := eval[string](t, ctx, `document.getElementById('review-source').value`); !strings.Contains(got, "summary:") || !strings.Contains(got, "onerror") {
		t.Errorf("the review source field holds %.80q", got)
	}
	noScriptRan(t, ctx, "review form")
}
