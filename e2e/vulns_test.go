package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"bulwark"
	"bulwark/internal/sqlstore"
	"bulwark/internal/web/webtest"
)

// startVulns starts a server with the fixture city and its
// vulnerabilities and findings (payloads in every free-text field when
// opt.Payloads is set), an analyst of the water department and a viewer
// of the port authority.
func startVulns(t *testing.T, opt webtest.Options) *instance {
	t.Helper()
	return start(t, func(ctx context.Context, st *sqlstore.DB) error {
		err := importCity(ctx, st, func(emit func(*bulwark.City) error) error {
			return emit(webtest.City(opt))
		})
		if err != nil {
			return err
		}
		return webtest.SeedVulns(ctx, st, time.Now(), opt)
	},
		bulwark.User{Org: webtest.OrgWater, Email: "alice@water.example", Name: "Alice", Role: bulwark.RoleAnalyst},
		bulwark.User{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
	)
}

// click clicks sel and waits for the page it leads to.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// TestVulns walks an analyst through the findings: the list with its
// chart, a finding with its explanation, a status change and its history
// entry; the exposure ring on the service graph; and another
// organization's refusal.
func TestVulns(t *testing.T) {
	inst := startVulns(t, webtest.Options{Meters: 3})
	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")

	run(t, ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("exposure-card")))
	if text := eval[string](t, ctx, `document.getElementById('exposure-card').textContent`); !strings.Contains(text, "1 Act") {
		t.Errorf("exposure card = %q", text)
	}
	click(t, ctx, "#exposure-card")
	if loc := location(t, ctx); loc != base+"/findings" {
		t.Fatalf("the exposure card leads to %s", loc)
	}
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#findings-chart[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(10*time.Second)))
	series := eval[[]string](t, ctx, `echarts.getInstanceByDom(document.getElementById('findings-chart')).getOption().series.map(function (s) { return s.name; })`)
	if strings.Join(series, ",") != "Act,Attend,Track*,Track" {
		t.Errorf("chart series %q", series)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#results tbody tr').length`); n != 5 {
		t.Errorf("%d finding rows, want 5", n)
	}
	if first := eval[string](t, ctx, `document.querySelector('#results tbody tr .ssvc').textContent`); first != "Act" {
		t.Errorf("first row's decision %q, want Act (most urgent first)", first)
	}
	noScriptRan(t, ctx, "findings")

	// The decision filter swaps the table in place.
	run(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name="decision"]`), "Attend"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name="decision"]').dispatchEvent(new Event('change', {bubbles: true}))`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#results tbody tr').length === 3`, chromedp.WithPollingTimeout(10*time.Second)))
	if loc := location(t, ctx); !strings.Contains(loc, "decision=Attend") {
		t.Errorf("filtered URL %s lacks the decision", loc)
	}
	run(t, ctx, chromedp.Navigate(base+"/findings"), chromedp.WaitVisible(chromedp.ID("results")))

	click(t, ctx, `#results a.details[href="/findings/plc-0001/`+webtest.VulnPLC+`"]`)
	run(t, ctx, chromedp.WaitVisible(chromedp.ID("explain-tree")))
	tree := eval[string](t, ctx, `document.getElementById('explain-tree').textContent`)
	for _, want := range []string{"AND", "simatic_s7-1200_firmware", "simatic_s7-1200:-", "true"} {
		if !strings.Contains(tree, want) {
			t.Errorf("explain tree lacks %q: %s", want, tree)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#explain-tree ul ul li.crit').length`); n < 2 {
		t.Errorf("%d nested criteria in the explain tree, want 2", n)
	}
	noScriptRan(t, ctx, "finding")

	// A status change: the page comes back with the new status and a
	// history entry carrying the note.
	run(t, ctx, chromedp.SetValue(chromedp.ID("status-select"), "in_remediation"),
		chromedp.SendKeys(chromedp.ID("note"), "ticket OT-42: firmware update scheduled"))
	click(t, ctx, "#finding-submit")
	if loc := location(t, ctx); !strings.HasPrefix(loc, base+"/findings/plc-0001/"+webtest.VulnPLC) {
		t.Errorf("after the change at %s", loc)
	}
	if s := eval[string](t, ctx, `document.getElementById('status').textContent`); s != "in_remediation" {
		t.Errorf("status %q after the change", s)
	}
	hist := eval[string](t, ctx, `document.querySelector('#history-table tbody tr').textContent`)
	if !strings.Contains(hist, "ticket OT-42: firmware update scheduled") || !strings.Contains(hist, "in_remediation") || !strings.Contains(hist, "alice@water.example") {
		t.Errorf("newest history entry = %q", hist)
	}
	noScriptRan(t, ctx, "finding after change")

	t.Run("vulnerability", func(t *testing.T) {
		click(t, ctx, `h1 a[href="/vulnerabilities/`+webtest.VulnPLC+`"]`)
		run(t, ctx, chromedp.WaitVisible(chromedp.ID("kev")))
		text := eval[string](t, ctx, `document.querySelector('main').textContent`)
		for _, want := range []string{"Required action", "Known ransomware use", "0.9731", "up to 4.6 (excluding)", "nvdcve-2.0-2024.json"} {
			if !strings.Contains(text, want) {
				t.Errorf("vulnerability page lacks %q", want)
			}
		}
		noScriptRan(t, ctx, "vulnerability")
	})

	t.Run("graph exposure", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"/services/water-supply"))
		run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#graph[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(15*time.Second)))
		if n := eval[int](t, ctx, `+document.getElementById('graph').dataset.exposed`); n != 2 {
			t.Errorf("%d exposed nodes drawn, want 2 (PLC and HMI)", n)
		}
		ringed := eval[[]string](t, ctx, `(function () {
			var o = echarts.getInstanceByDom(document.getElementById('graph')).getOption();
			return o.series[0].data.filter(function (d) { return d.itemStyle && d.itemStyle.borderWidth > 0; }).map(function (d) { return d.id; }); })()`)
		got := strings.Join(ringed, " ")
		for _, id := range []string{"plc-0001", "hmi-01", "water-scada", "water-supply"} {
			if !strings.Contains(got, id) {
				t.Errorf("ringed nodes %q lack %s", ringed, id)
			}
		}
	})

	t.Run("other organization", func(t *testing.T) {
		click(t, ctx, "#logout")
		login(t, ctx, base, "bob@port.example")
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/findings/plc-0001/"+webtest.VulnPLC))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusNotFound {
			t.Errorf("another organization's finding: %d, want 404", resp.Status)
		}
		run(t, ctx, chromedp.Navigate(base+"/findings"), chromedp.WaitVisible(chromedp.ID("results")))
		text := eval[string](t, ctx, `document.querySelector('main').textContent`)
		if strings.Contains(text, "plc-0001") || !strings.Contains(text, "crane-plc") {
			t.Errorf("the port authority's findings page shows the wrong findings")
		}
	})
}

// TestVulnsXSS opens every vulnerability page of a city whose
// vulnerability descriptions, KEV names and actions, remediations, match
// evidence and SSVC reasons are XSS payloads (and one reference a
// javascript: URL), shows every chart and graph tooltip, and checks that
// no payload runs, no CSP violation happens and the payloads show as text.
func TestVulnsXSS(t *testing.T) {
	inst := startVulns(t, webtest.Options{Payloads: true, Meters: 3})
	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")

	for _, path := range []string{"/", "/findings", "/findings/plc-0001/" + webtest.VulnPLC, "/findings/meter-0001/" + webtest.VulnMeter,
		"/findings/hmi-01/" + webtest.VulnHMI, "/vulnerabilities/" + webtest.VulnPLC, "/vulnerabilities/" + webtest.VulnMeter,
		"/advisories", "/feeds", "/assets/plc-0001"} {
		run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("footer")))
		if path == "/findings" {
			run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#findings-chart canvas') !== null`, chromedp.WithPollingTimeout(10*time.Second)))
			eval[chromedp.Void](t, ctx, `echarts.getInstanceByDom(document.getElementById('findings-chart')).dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0})`)
		}
		noScriptRan(t, ctx, path)
	}

	// The payloads are there, as text.
	run(t, ctx, chromedp.Navigate(base+"/findings/plc-0001/"+webtest.VulnPLC), chromedp.WaitVisible(chromedp.ID("evidence")))
	if ev := eval[string](t, ctx, `document.getElementById('evidence').textContent`); !strings.Contains(ev, "<") {
		t.Errorf("the evidence %q does not show its payload as text", ev)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('main script, main img, main svg, main iframe').length`); n != 0 {
		t.Errorf("%d elements from payloads in the finding page", n)
	}
	run(t, ctx, chromedp.Navigate(base+"/vulnerabilities/"+webtest.VulnPLC), chromedp.WaitVisible(chromedp.ID("description")))
	if d := eval[string](t, ctx, `document.getElementById('description').textContent`); !strings.Contains(d, "<") {
		t.Errorf("the description %q does not show its payload as text", d)
	}
	if n := eval[int](t, ctx, `Array.prototype.filter.call(document.querySelectorAll('a'), function (a) { return /^javascript:/i.test(a.getAttribute('href') || ''); }).length`); n != 0 {
		t.Errorf("%d javascript: links on the vulnerability page", n)
	}
	noScriptRan(t, ctx, "vulnerability text")

	// Graph tooltips are HTML: show every one.
	run(t, ctx, chromedp.Navigate(base+"/services/water-supply"))
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#graph[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(15*time.Second)))
	n := eval[int](t, ctx, `echarts.getInstanceByDom(document.getElementById('graph')).getOption().series[0].data.length`)
	for i := range n {
		eval[chromedp.Void](t, ctx, fmt.Sprintf(`echarts.getInstanceByDom(document.getElementById('graph')).dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: %d})`, i))
	}
	run(t, ctx, chromedp.Sleep(200*time.Millisecond))
	noScriptRan(t, ctx, "graph with exposure tooltips")
}
