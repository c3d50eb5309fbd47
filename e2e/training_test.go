package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"bulwark"
	demopkg "bulwark/internal/demo"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
	"bulwark/internal/training"
	"bulwark/internal/web/webtest"
)

func trainingDay(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }

// TestTraining adds a campaign through the form, uploads an LMS export
// into it in the browser, and finds the rates in the cards, the table and
// the charts (drawn on canvas); a bad file is refused with its line; the
// port's viewer sees none of it.
func TestTraining(t *testing.T) {
	inst := startRisks(t)
	ts := training.New(inst.St, nil)
	// A phishing campaign of last month with results, for the click chart.
	ph := &bulwark.Campaign{Kind: bulwark.CampaignPhishing, Title: "Invoice lure", Start: time.Now().UTC().AddDate(0, 0, -20)}
	if err := ts.CreateCampaign(asAlice(), ph); err != nil {
		t.Fatal(err)
	}
	sent := time.Now().UTC().AddDate(0, 0, -20).Format(time.RFC3339)
	if _, err := ts.Import(asAlice(), ph.ID, training.Phishing, "gophish.csv",
		strings.NewReader("email,status,send_date\na@w,Clicked Link,"+sent+"\nb@w,Email Sent,"+sent+"\nc@w,Email Reported,"+sent+"\nd@w,Email Opened,"+sent+"\n"), training.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")
	run(t, ctx, chromedp.Navigate(base+"/training"), chromedp.WaitVisible(chromedp.ID("campaign-form")))
	if got := eval[string](t, ctx, `document.querySelector('.main-nav [aria-current="page"]').textContent`); got != "Training" {
		t.Errorf("active nav entry %q", got)
	}
	run(t, ctx,
		chromedp.SetValue(chromedp.ID("c-kind"), "workforce"),
		chromedp.SendKeys(chromedp.ID("c-title"), "OT security basics"),
		chromedp.SendKeys(chromedp.ID("c-audience"), "plant operators"),
		chromedp.SendKeys(chromedp.ID("c-size"), "4"),
		chromedp.SetValue(chromedp.ID("c-start"), trainingDay(-30)),
		chromedp.SetValue(chromedp.ID("c-due"), trainingDay(-2)),
	)
	click(t, ctx, "#create-campaign")
	if got := eval[string](t, ctx, `(document.getElementById('training-notice') || {}).textContent || (document.getElementById('training-error') || {}).textContent || ''`); got != "The campaign was added." {
		t.Fatalf("after adding: %q", got)
	}
	// Upload a file through the form.
	dir := t.TempDir()
	good := filepath.Join(dir, "lms-export.csv")
	os.WriteFile(good, []byte(fmt.Sprintf("User ID,Email Address,First Name,Completion Status,Completion Date,Score\n1,ana@w.example,Ana,Completed,%s,90\n2,ben@w.example,Ben,Completed,%s,80\n3,cy@w.example,Cy,In Progress,,\n",
		trainingDay(-4), trainingDay(-1))), 0o600)
	id := eval[string](t, ctx, `Array.prototype.find.call(document.querySelectorAll('#upload-campaign option'), function (o) { return o.textContent === 'OT security basics'; }).value`)
	run(t, ctx, chromedp.SetValue(chromedp.ID("upload-kind"), "completions"), chromedp.SetValue(chromedp.ID("upload-campaign"), id),
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{good}))
	click(t, ctx, "#upload")
	if got := eval[string](t, ctx, `(document.getElementById('training-notice') || {}).textContent || (document.getElementById('training-error') || {}).textContent || ''`); got != "The file was imported: 3 row(s)." {
		t.Fatalf("after the upload: %q", got)
	}
	// Ana on time of 4 (Ben was late, Cy in progress); 1 of 4 clicked.
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.getElementById('click-chart').getAttribute('data-ready') === '1' && document.getElementById('completion-chart').getAttribute('data-ready') === '1'`,
		chromedp.WithPollingTimeout(10*time.Second)))
	for sel, want := range map[string]string{"#completion-total": "25.0 %", "#completion-of": "(1 of 4)", "#click-total": "25.0 %", "#click-of": "(1 of 4)", "#report-total": "25.0 %", "#report-of": "(1 of 4)"} {
		if got := eval[string](t, ctx, `document.querySelector('`+sel+`').textContent`); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	for _, chart := range []string{"completion-chart", "click-chart"} {
		if n := eval[int](t, ctx, `document.querySelectorAll('#`+chart+` canvas').length`); n == 0 {
			t.Errorf("%s drew no canvas", chart)
		}
		if n := eval[string](t, ctx, `document.getElementById('`+chart+`').getAttribute('data-series')`); n != "1" {
			t.Errorf("%s has %s series, want 1 (the water department)", chart, n)
		}
	}
	if txt := eval[string](t, ctx, `document.getElementById('campaign-`+id+`').textContent`); !strings.Contains(txt, "due day ended") || !strings.Contains(txt, "25.0 % (1 of 4)") {
		t.Errorf("campaign row %q", txt)
	}
	if strings.Contains(eval[string](t, ctx, `document.body.innerHTML`), "ana@w.example") {
		t.Error("the page shows an e-mail address")
	}
	// A bad file: refused with its line and column, nothing imported.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("Email,Completion Date\nzed@w.example,next week\n"), 0o600)
	run(t, ctx, chromedp.Navigate(base+"/training"), chromedp.WaitVisible(chromedp.ID("upload-form")),
		chromedp.SetValue(chromedp.ID("upload-campaign"), id), chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{bad}))
	click(t, ctx, "#upload")
	if got := eval[string](t, ctx, `(document.getElementById('training-error') || {}).textContent || ''`); !strings.Contains(got, "bad.csv:2:2: completed_at") {
		t.Errorf("bad file: %q", got)
	}
	noScriptRan(t, ctx, "training")

	// The port's viewer sees nothing of it and gets no forms.
	ctx2 := browser(t, time.Minute)
	login(t, ctx2, base, "bob@port.example")
	run(t, ctx2, chromedp.Navigate(base+"/training"), chromedp.WaitVisible(chromedp.ID("training-cards")))
	if n := eval[int](t, ctx2, `document.querySelectorAll('#campaigns, #upload-form, #campaign-form').length`); n != 0 {
		t.Errorf("the port's viewer sees %d of water's campaigns table and forms", n)
	}
	if got := eval[string](t, ctx2, `document.getElementById('completion-total').textContent`); got != "–" {
		t.Errorf("the port's completion %q", got)
	}
}

// TestTrainingXSS stores campaigns whose title, audience and course are
// XSS payloads and checks in Chromium that none runs on the dashboard,
// that they show as text, and that no CSP violation is recorded.
func TestTrainingXSS(t *testing.T) {
	inst := start(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, func(emit func(*bulwark.City) error) error {
			return emit(webtest.City(webtest.Options{Payloads: true, Meters: 3}))
		})
	}, bulwark.User{Org: webtest.OrgWater, Email: "alice@water.example", Name: "Alice", Role: bulwark.RoleAnalyst})
	ts := training.New(inst.St, nil)
	payloads := append([]string{"<img src=x onerror=alert(1)>"}, webtest.Payloads()...)
	kinds := []bulwark.CampaignKind{bulwark.CampaignWorkforce, bulwark.CampaignPhishing, bulwark.CampaignCitizen}
	for i, p := range payloads {
		start := time.Now().UTC().AddDate(0, 0, -40-i%200)
		c := &bulwark.Campaign{Kind: kinds[i%3], Title: p, Audience: p, Course: p, Start: start}
		if c.Kind == bulwark.CampaignWorkforce {
			c.Due = start.AddDate(0, 0, 10)
		}
		if err := ts.CreateCampaign(asAlice(), c); err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if c.Kind == bulwark.CampaignWorkforce && i < 30 {
			if _, err := ts.Record(asAlice(), c.ID, []training.Entry{{Person: fmt.Sprintf("p%d@w", i), CompletedAt: start.AddDate(0, 0, 1)}, {Person: "late@w"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")
	// A payload typed into the form, too.
	run(t, ctx, chromedp.Navigate(base+"/training"), chromedp.WaitVisible(chromedp.ID("campaign-form")),
		chromedp.SetValue(chromedp.ID("c-kind"), "citizen"),
		chromedp.SendKeys(chromedp.ID("c-title"), `"><svg onload=window.`+webtest.Flag+`=1>`),
		chromedp.SetValue(chromedp.ID("c-start"), trainingDay(-1)))
	click(t, ctx, "#create-campaign")
	run(t, ctx, chromedp.Navigate(base+"/training"), chromedp.WaitReady(chromedp.CSS("footer")),
		chromedp.Poll[chromedp.Void](`document.getElementById('completion-chart').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Sleep(200*time.Millisecond))
	noScriptRan(t, ctx, "/training")
	if n := eval[int](t, ctx, `document.querySelectorAll('main script:not([src^="/static/js/"]), main img, main iframe, main object, main embed, main video, main svg').length`); n != 0 {
		t.Errorf("%d elements from payloads: %s", n, eval[string](t, ctx, `Array.prototype.map.call(document.querySelectorAll('main script:not([src^="/static/js/"]), main img, main iframe, main object, main embed, main video, main svg'), function (e) { return e.outerHTML.slice(0, 200) + ' in ' + e.parentElement.outerHTML.slice(0, 200); }).join(' | ')`))
	}
	if n := eval[int](t, ctx, `Array.prototype.filter.call(document.querySelectorAll('.campaign-title'), function (e) { return e.textContent.indexOf('<svg onload') >= 0; }).length`); n == 0 {
		t.Error("the typed payload is not shown as text")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#campaigns tbody tr').length`); n != len(payloads)+1 {
		t.Errorf("%d campaign rows, want %d", n, len(payloads)+1)
	}
	// Hover the completion chart: the tooltip escapes what it shows.
	eval[chromedp.Void](t, ctx, `(function () {
		var el = document.getElementById('completion-chart');
		var r = el.getBoundingClientRect();
		el.querySelector('canvas').dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width - 40, clientY: r.top + r.height / 2, bubbles: true}));
	})()`)
	run(t, ctx, chromedp.Sleep(300*time.Millisecond))
	noScriptRan(t, ctx, "/training after hovering the chart")
}

// TestTrainingScreenshot writes docs/training.png from the demo city and
// its seeded training with -screenshot.
func TestTrainingScreenshot(t *testing.T) {
	if !*screenshot {
		t.Skip("run with -screenshot to rewrite docs/training.png")
	}
	inst := start(t, func(ctx context.Context, st *sqlstore.DB) error {
		if err := importCity(ctx, st, demo); err != nil {
			return err
		}
		return demopkg.SeedTraining(ctx, st, training.New(st, nil), time.Now().UTC())
	}, bulwark.User{Org: "city-water", Email: "water@city.example", Name: "Water training lead", Role: bulwark.RoleAnalyst})
	ctx := browser(t, 3*time.Minute)
	login(t, ctx, inst.URL, "water@city.example")
	run(t, ctx, chromedp.EmulateViewport(1200, 1250), chromedp.Navigate(inst.URL+"/training"),
		chromedp.Poll[chromedp.Void](`document.getElementById('click-chart').getAttribute('data-ready') === '1'`, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Sleep(time.Second))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(testenv.RepoRoot(t), "docs", "training.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}
