package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
	"bulwark/internal/web/webtest"
)

// baselines is a server with the fixture city, a CSF 2.0 assessment of
// the water department and a CPG profile, and its users: an analyst and
// an administrator of the water department (a city organization) and a
// viewer of the port authority.
type baselines struct {
	*instance
	bs  *baseline.Service
	csf string // the assessment's ID
}

func asAlice() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{Org: webtest.OrgWater, Role: bulwark.RoleAnalyst, Name: "alice@water.example"})
}

// cityAdmin is an administrator of the water department, a city
// organization: only such publish profiles.
func cityAdmin() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{Org: webtest.OrgWater, Role: bulwark.RoleAdmin, Name: "ada@water.example"})
}

// startBaselines starts the server; text goes into the notes and evidence
// of a few controls and into the profile's name and description.
func startBaselines(t *testing.T, text []string) *baselines {
	t.Helper()
	inst := start(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, func(emit func(*bulwark.City) error) error { return emit(webtest.City(webtest.Options{Meters: 3})) })
	},
		bulwark.User{Org: webtest.OrgWater, Email: "alice@water.example", Name: "Alice", Role: bulwark.RoleAnalyst},
		bulwark.User{Org: webtest.OrgWater, Email: "ada@water.example", Name: "Ada", Role: bulwark.RoleAdmin},
		bulwark.User{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
	)
	b := &baselines{instance: inst, bs: baseline.New(inst.St, nil)}
	ctx := asAlice()
	a := &bulwark.Assessment{Catalog: "csf-2.0", ScopeKind: bulwark.ScopeOrganization, Scope: webtest.OrgWater, Title: "Water department CSF 2.0 baseline"}
	if err := b.bs.CreateAssessment(ctx, a); err != nil {
		t.Fatal(err)
	}
	b.csf = a.ID
	note := strings.Join(text, "\n")
	changes := []bulwark.ResultChange{
		{Control: "GV.OC-01", Status: bulwark.StatusImplemented, CurrentTier: 3, TargetTier: 3, Notes: "Mission reviewed by the board. " + note,
			Evidence: []bulwark.Evidence{{Kind: "link", Title: "Mission statement", URL: "https://intranet.example/mission"}}},
		{Control: "GV.OC-03", Status: bulwark.StatusPartial, CurrentTier: 2, TargetTier: 3},
		{Control: "ID.AM-01", Status: bulwark.StatusImplemented, CurrentTier: 3, TargetTier: 4},
		{Control: "PR.AA-01", Status: bulwark.StatusPartial, CurrentTier: 2, TargetTier: 4, Notes: "MFA for administrators only"},
		{Control: "DE.CM-01", Status: bulwark.StatusNotImplemented, CurrentTier: 1, TargetTier: 3},
	}
	for i, s := range text {
		if i >= 40 {
			break
		}
		changes[0].Evidence = append(changes[0].Evidence, bulwark.Evidence{Kind: "note", Title: s})
		if i%2 == 0 {
			changes[0].Evidence = append(changes[0].Evidence, bulwark.Evidence{Kind: "link", Title: s, URL: "https://evidence.example/" + fmt.Sprint(i)})
		}
	}
	if len(changes[0].Evidence) > 50 {
		changes[0].Evidence = changes[0].Evidence[:50]
	}
	for _, c := range changes {
		if _, err := b.bs.SetResult(ctx, a.ID, c); err != nil {
			t.Fatalf("set %s: %v", c.Control, err)
		}
	}
	cpg := &bulwark.Assessment{Catalog: "cpg-2.0", ScopeKind: bulwark.ScopeOrganization, Scope: webtest.OrgWater, Title: "Water department CPG goals"}
	if err := b.bs.CreateAssessment(ctx, cpg); err != nil {
		t.Fatal(err)
	}
	for _, c := range []bulwark.ResultChange{{Control: "1.A", Status: bulwark.StatusImplemented}, {Control: "1.B", Status: bulwark.StatusPartial},
		{Control: "2.A", Status: bulwark.StatusNotImplemented}} {
		if _, err := b.bs.SetResult(ctx, cpg.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	name := "City minimum cyber baseline"
	if len(text) > 0 {
		name += " " + text[0]
	}
	p := &bulwark.Profile{ID: "city-minimum", Name: name, Description: note, Catalog: "cpg-2.0", AppliesTo: "all",
		Requirements: []bulwark.ProfileRequirement{
			{Control: "1.A", MinStatus: bulwark.StatusImplemented}, {Control: "1.B", MinStatus: bulwark.StatusPartial},
			{Control: "2.A", MinStatus: bulwark.StatusPartial}, {Control: "3.A", MinStatus: bulwark.StatusImplemented},
		}}
	if err := b.bs.PutProfile(cityAdmin(), p); err != nil {
		t.Fatal(err)
	}
	return b
}

// record records snapshots of the index as the system on past days, with
// more of the assessment done before each, so that the trend moves.
func (b *baselines) record(t *testing.T, days int) {
	t.Helper()
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	ids := []string{"GV.OC-02", "GV.OC-04", "GV.OC-05", "ID.AM-02", "ID.AM-03", "PR.AA-02", "RS.MA-01", "RC.RP-01"}
	now := time.Now()
	for d := days; d >= 1; d-- {
		at := now.Add(-time.Duration(d) * 7 * 24 * time.Hour)
		b.bs.SetClock(func() time.Time { return at })
		if _, err := b.bs.Record(sys); err != nil {
			t.Fatal(err)
		}
		if i := days - d; i < len(ids) {
			if _, err := b.bs.SetResult(asAlice(), b.csf, bulwark.ResultChange{Control: ids[i], Status: bulwark.StatusImplemented}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.bs.SetClock(time.Now)
}

// row is the editor's form of one control.
func row(control string) string { return `form.ctl[data-control="` + control + `"]` }

// change sets a select of a control's row as a user would (SetValue
// fires the input and change events).
func change(t *testing.T, ctx context.Context, control, field, value string) {
	t.Helper()
	run(t, ctx, chromedp.SetValue(chromedp.CSS(row(control)+` select[name="`+field+`"]`), value))
}

// waitState waits until a control's save state reads want.
func waitState(t *testing.T, ctx context.Context, control, want string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](saveState(control)+` === '`+want+`'`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("%s: waiting for %q: %v; the row says %q", control, want, err, eval[string](t, ctx, saveState(control)))
	}
}

func saveState(control string) string {
	return `document.querySelector('` + row(control) + ` .save-state').textContent`
}

// TestBaselineEditor changes a control in the editor, checks that it is
// saved without a page load and kept after a reload, then changes the
// same control behind the page's back (as the API would) and checks that
// the page's next change reports the conflict and offers a reload.
func TestBaselineEditor(t *testing.T) {
	b := startBaselines(t, nil)
	ctx := browser(t, 2*time.Minute)
	base := b.URL
	login(t, ctx, base, "alice@water.example")
	editor := base + "/assessments/" + b.csf
	run(t, ctx, chromedp.Navigate(editor), chromedp.WaitVisible(chromedp.ID("editor")),
		chromedp.Poll[chromedp.Void](`document.getElementById('editor').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(10*time.Second)))
	if n := eval[int](t, ctx, `document.querySelectorAll('#editor form.ctl').length`); n != 106 {
		t.Errorf("%d control rows, want the 106 CSF 2.0 subcategories", n)
	}
	// Every field has an accessible name.
	if n := eval[int](t, ctx, `Array.prototype.filter.call(document.querySelectorAll('#editor select, #editor textarea, #editor input:not([type="hidden"])'),
		function (el) { return !el.getAttribute('aria-label') && !el.closest('label'); }).length`); n != 0 {
		t.Errorf("%d editor fields without a label", n)
	}
	if vis := eval[bool](t, ctx, `getComputedStyle(document.querySelector('.ctl-save')).display !== 'none'`); vis {
		t.Error("the no-script save buttons show although the script runs")
	}
	// Save as you go: a page load would reset this marker.
	eval[chromedp.Void](t, ctx, `window.__sameDocument = 1`)
	change(t, ctx, "GV.OC-02", "status", "partial")
	waitState(t, ctx, "GV.OC-02", "saved rev 1")
	change(t, ctx, "GV.OC-02", "current_tier", "2")
	waitState(t, ctx, "GV.OC-02", "saved rev 2")
	if eval[int](t, ctx, `window.__sameDocument || 0`) != 1 {
		t.Error("saving reloaded the page")
	}
	if rev := eval[string](t, ctx, `document.querySelector('`+row("GV.OC-02")+` .rev').textContent`); !strings.Contains(rev, "rev 2 by alice@water.example") {
		t.Errorf("revision line %q", rev)
	}
	// Alt+ArrowDown moves to the same field of the next control.
	eval[chromedp.Void](t, ctx, `(function () {
		var s = document.querySelector('`+row("GV.OC-02")+` select[name="status"]'); s.focus();
		s.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowDown', altKey: true, bubbles: true, cancelable: true})); })()`)
	if got := eval[string](t, ctx, `document.activeElement.getAttribute('aria-label')`); got != "Status of GV.OC-03" {
		t.Errorf("Alt+ArrowDown focused %q", got)
	}

	run(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("editor")))
	if v := eval[string](t, ctx, `document.querySelector('`+row("GV.OC-02")+` select[name="status"]').value`); v != "partial" {
		t.Errorf("after a reload the status is %q, want partial", v)
	}
	if v := eval[string](t, ctx, `document.querySelector('`+row("GV.OC-02")+` select[name="current_tier"]').value`); v != "2" {
		t.Errorf("after a reload the current tier is %q, want 2", v)
	}

	// Someone else changes the control (rev 3) while the page shows rev 2.
	if _, err := b.bs.SetResult(asAlice(), b.csf, bulwark.ResultChange{Control: "GV.OC-02", BaseRev: 2, Status: bulwark.StatusImplemented}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById('editor').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(10*time.Second)))
	change(t, ctx, "GV.OC-02", "status", "not_implemented")
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('`+row("GV.OC-02")+` .save-state button.reload') !== null`, chromedp.WithPollingTimeout(10*time.Second)))
	msg := eval[string](t, ctx, saveState("GV.OC-02"))
	for _, want := range []string{"changed by alice@water.example", "revision 3", "based on revision 2"} {
		if !strings.Contains(msg, want) {
			t.Errorf("conflict message %q lacks %q", msg, want)
		}
	}
	// The stored result is the other change, not the page's.
	a, err := b.St.FindAssessment(asAlice(), b.csf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range a.Results {
		if r.Control == "GV.OC-02" && (r.Rev != 3 || r.Status != bulwark.StatusImplemented) {
			t.Errorf("stored GV.OC-02 = rev %d %s, want rev 3 implemented", r.Rev, r.Status)
		}
	}
	// Reloading shows it, and the next change saves again.
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(row("GV.OC-02")+` .save-state button.reload`)))); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.WaitVisible(chromedp.ID("editor")),
		chromedp.Poll[chromedp.Void](`document.getElementById('editor').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(10*time.Second)))
	if v := eval[string](t, ctx, `document.querySelector('`+row("GV.OC-02")+` select[name="status"]').value`); v != "implemented" {
		t.Errorf("after the conflict's reload the status is %q, want implemented", v)
	}
	change(t, ctx, "GV.OC-02", "status", "not_implemented")
	waitState(t, ctx, "GV.OC-02", "saved rev 4")

	// Evidence added from the page is listed at once.
	run(t, ctx, chromedp.Click(chromedp.CSS(row("GV.OC-02")+` .ev-new summary`)),
		chromedp.SendKeys(chromedp.CSS(row("GV.OC-02")+` input[name="new_title"]`), "Board minutes"),
		chromedp.SendKeys(chromedp.CSS(row("GV.OC-02")+` input[name="new_url"]`), "https://intranet.example/minutes"),
		chromedp.Click(chromedp.CSS(row("GV.OC-02")+` button.ev-add`)),
		chromedp.Poll[chromedp.Void](saveState("GV.OC-02")+` === 'saved rev 5'`, chromedp.WithPollingTimeout(10*time.Second)))
	if href := eval[string](t, ctx, `document.querySelector('`+row("GV.OC-02")+` .evidence-list a').getAttribute('href')`); href != "https://intranet.example/minutes" {
		t.Errorf("evidence link %q", href)
	}
	noScriptRan(t, ctx, "editor")

	// When the session has ended, a change says so instead of "saved".
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	change(t, ctx, "GV.OC-03", "status", "implemented")
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](saveState("GV.OC-03")+`.indexOf('session has ended') >= 0`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("after the session ended the row says %q", eval[string](t, ctx, saveState("GV.OC-03")))
	}

	t.Run("viewer of another organization", func(t *testing.T) {
		login(t, ctx, base, "bob@port.example")
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(editor))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 404 {
			t.Errorf("another organization's assessment: %d, want 404", resp.Status)
		}
	})
}

// TestReadinessAndMatrix checks the readiness dashboard's charts and the
// profile's compliance grid in the browser.
func TestReadinessAndMatrix(t *testing.T) {
	b := startBaselines(t, nil)
	b.record(t, 4)
	ctx := browser(t, 2*time.Minute)
	base := b.URL
	login(t, ctx, base, "ada@water.example")
	run(t, ctx, chromedp.Navigate(base+"/readiness"), chromedp.WaitVisible(chromedp.ID("index")),
		chromedp.Poll[chromedp.Void](`document.querySelector('#trend-chart[data-ready="1"] canvas') !== null && document.querySelector('#coverage-chart[data-ready="1"] canvas') !== null`,
			chromedp.WithPollingTimeout(15*time.Second)))
	if typ := eval[string](t, ctx, `echarts.getInstanceByDom(document.getElementById('trend-chart')).getOption().series[0].type`); typ != "line" {
		t.Errorf("trend series type %q", typ)
	}
	if n := eval[int](t, ctx, `echarts.getInstanceByDom(document.getElementById('trend-chart')).getOption().series[0].data.length`); n != 4 {
		t.Errorf("trend has %d points, want the 4 recorded snapshots", n)
	}
	labels := eval[[]string](t, ctx, `echarts.getInstanceByDom(document.getElementById('coverage-chart')).getOption().xAxis[0].data`)
	if strings.Join(labels, ",") != "Govern,Identify,Protect,Detect,Respond,Recover" {
		t.Errorf("coverage chart labels %q", labels)
	}
	if v := eval[string](t, ctx, `document.getElementById('index-value').textContent`); v == "" || v == "not measured" {
		t.Errorf("index %q", v)
	}
	if txt := eval[string](t, ctx, `document.querySelector('#ind-training .value').textContent`); txt != "not measured" {
		t.Errorf("training indicator shows %q", txt)
	}
	if eval[int](t, ctx, `document.querySelectorAll('#drivers tbody tr').length`) == 0 {
		t.Error("no drivers of the change since the last snapshot")
	}
	eval[chromedp.Void](t, ctx, `echarts.getInstanceByDom(document.getElementById('trend-chart')).dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0})`)
	noScriptRan(t, ctx, "readiness")

	run(t, ctx, chromedp.Navigate(base+"/profiles"), chromedp.WaitVisible(chromedp.ID("profiles")))
	click(t, ctx, `#profiles a[href="/profiles/city-minimum"]`)
	run(t, ctx, chromedp.WaitVisible(chromedp.ID("matrix")))
	cells := eval[int](t, ctx, `document.querySelectorAll('#matrix tbody td.cell').length`)
	rows := eval[int](t, ctx, `document.querySelectorAll('#matrix tbody tr').length`)
	if rows == 0 || cells != rows*4 {
		t.Errorf("matrix %d rows, %d cells, want 4 requirements per organization", rows, cells)
	}
	states := eval[[]string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('#matrix tbody td.cell'), function (td) { return td.className; })`)
	joined := strings.Join(states, " ")
	for _, want := range []string{"cell-met", "cell-not-met", "cell-not-assessed"} {
		if !strings.Contains(joined, want) {
			t.Errorf("matrix cells %q lack %s", states, want)
		}
	}
	if bg := eval[string](t, ctx, `getComputedStyle(document.querySelector('#matrix td.cell-not-assessed')).backgroundColor`); bg == "rgba(0, 0, 0, 0)" {
		t.Error("matrix cells are not coloured (stylesheet not applied)")
	}
	if why := eval[string](t, ctx, `document.querySelector('#matrix td.cell').getAttribute('title')`); why == "" {
		t.Error("matrix cells do not say why")
	}
	noScriptRan(t, ctx, "profile matrix")
}

// TestBaselinesXSS stores XSS payloads in an assessment's notes and
// evidence titles and in a profile's name and description, opens every
// baseline page, saves the control (so the script rebuilds its evidence
// list from the saved result) and checks that nothing runs, no dialog
// opens and the payloads show as text.
func TestBaselinesXSS(t *testing.T) {
	payloads := append([]string{"<img src=x onerror=alert(1)>"}, webtest.Payloads()...)
	b := startBaselines(t, payloads[:60])
	ctx := browser(t, 2*time.Minute)
	// A dialog would block the page: count it instead.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.alert = window.confirm = window.prompt = function () { window.` + webtest.Flag + ` = 'dialog'; };`}); err != nil {
		t.Fatal(err)
	}
	base := b.URL
	login(t, ctx, base, "ada@water.example")
	b.record(t, 1)
	editor := "/assessments/" + b.csf
	for _, path := range []string{editor, editor + "/results/GV.OC-01", "/assessments", "/profiles", "/profiles/city-minimum", "/gaps", "/readiness"} {
		run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("footer")))
		noScriptRan(t, ctx, path)
		if n := eval[int](t, ctx, `document.querySelectorAll('main script, main img, main svg, main iframe, main object, main embed, main video').length`); n != 0 {
			t.Errorf("%s: %d elements from payloads", path, n)
		}
	}
	run(t, ctx, chromedp.Navigate(base+editor), chromedp.WaitVisible(chromedp.ID("editor")),
		chromedp.Poll[chromedp.Void](`document.getElementById('editor').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(10*time.Second)))
	if notes := eval[string](t, ctx, `document.querySelector('`+row("GV.OC-01")+` textarea[name="notes"]').value`); !strings.Contains(notes, "<img src=x onerror=alert(1)>") {
		t.Errorf("the notes do not show the payload as text: %.80q", notes)
	}
	before := eval[int](t, ctx, `document.querySelectorAll('`+row("GV.OC-01")+` .evidence-list li').length`)
	change(t, ctx, "GV.OC-01", "status", "partial")
	run(t, ctx, chromedp.Poll[chromedp.Void](saveState("GV.OC-01")+`.indexOf('saved rev') === 0`, chromedp.WithPollingTimeout(10*time.Second)))
	if after := eval[int](t, ctx, `document.querySelectorAll('`+row("GV.OC-01")+` .evidence-list li').length`); after != before || after < 40 {
		t.Errorf("evidence items %d after the save, %d before", after, before)
	}
	if txt := eval[string](t, ctx, `document.querySelector('`+row("GV.OC-01")+` .evidence-list').textContent`); !strings.Contains(txt, "<img src=x onerror=alert(1)>") {
		t.Error("the rebuilt evidence list does not show the payload as text")
	}
	run(t, ctx, chromedp.Sleep(300*time.Millisecond))
	noScriptRan(t, ctx, "editor after a save")
	if n := eval[int](t, ctx, `document.querySelectorAll('main script, main img, main svg, main iframe').length`); n != 0 {
		t.Errorf("%d elements from payloads after the save", n)
	}
}

// TestBaselineScreenshots writes docs/readiness.png and
// docs/assessment.png with -screenshot.
func TestBaselineScreenshots(t *testing.T) {
	if !*screenshot {
		t.Skip("run with -screenshot to rewrite docs/readiness.png and docs/assessment.png")
	}
	b := startBaselines(t, nil)
	b.record(t, 8)
	ctx := browser(t, 2*time.Minute)
	login(t, ctx, b.URL, "ada@water.example")
	shoot := func(path, name, ready string) {
		run(t, ctx, chromedp.EmulateViewport(1200, 1100), chromedp.Navigate(b.URL+path),
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
	shoot("/readiness", "readiness.png", `document.querySelector('#trend-chart[data-ready="1"] canvas') !== null && document.querySelector('#coverage-chart[data-ready="1"] canvas') !== null`)
	shoot("/assessments/"+b.csf, "assessment.png", `document.getElementById('editor').getAttribute('data-ready') === '1'`)
}
