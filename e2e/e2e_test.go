package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"bulwark"
	"bulwark/internal/api"
	"bulwark/internal/auth"
	"bulwark/internal/server"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
	"bulwark/internal/web"
	"bulwark/internal/web/webtest"
)

var screenshot = flag.Bool("screenshot", false, "write docs/screenshot.png from the demo city")

// cheap argon2id parameters keep logins fast in tests.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const password = "e2e password, long enough"

// instance is a running Bulwark server.
type instance struct {
	URL string
	St  *sqlstore.DB
}

// start builds the server the way the binary does, from the real store,
// auth, API, web UI and server middleware, loads the city that load puts
// into the store, adds users (password: the constant above) and serves on
// a loopback port.
func start(t *testing.T, load func(ctx context.Context, st *sqlstore.DB) error, users ...bulwark.User) *instance {
	t.Helper()
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	log := slog.New(slog.DiscardHandler)
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "bulwark.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := load(ctx, st); err != nil {
		t.Fatalf("load city: %v", err)
	}
	a := auth.New(st, auth.Options{Argon: cheap}, log)
	for _, u := range users {
		u.PasswordHash, err = a.HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	webH, err := web.New(st, a, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{}, server.Handlers{API: api.New(st, a, log), Web: webH, Auth: a}, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	return &instance{URL: "http://" + ln.Addr().String(), St: st}
}

// importCity writes chunks into the store in one import transaction.
func importCity(ctx context.Context, st bulwark.CityStore, gen func(emit func(*bulwark.City) error) error) error {
	tx, err := st.BeginImport(ctx)
	if err != nil {
		return err
	}
	err = gen(func(c *bulwark.City) error {
		if err := tx.PutOrganizations(ctx, c.Organizations); err != nil {
			return err
		}
		if err := tx.PutServices(ctx, c.Services); err != nil {
			return err
		}
		if err := tx.PutSystems(ctx, c.Systems); err != nil {
			return err
		}
		return tx.PutAssets(ctx, c.Assets)
	})
	if err != nil {
		tx.Rollback()
		return err
	}
	_, err = tx.Commit(ctx)
	return err
}

// hook runs in every document before the page's own scripts: it counts
// Content-Security-Policy violations, which would mean that markup from the
// data reached the DOM and only the CSP stopped it.
const hook = `window.__csp = 0; document.addEventListener('securitypolicyviolation', function () { window.__csp++; });`

// browser starts headless Chromium for the test and returns a tab context
// with a deadline.
func browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	exec := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec),
		chromedp.Headless,
		chromedp.NoSandbox, // tests may run as root in containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The first call starts the browser; it must not carry the deadline,
	// which would stop the browser with it.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: hook}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	tctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelT)
	return tctx
}

// run fails the test if any step fails.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// noScriptRan checks the XSS flag that every payload would set and the CSP
// violation counter of the current page.
func noScriptRan(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	if ran := eval[bool](t, ctx, `window.`+webtest.Flag+` !== undefined`); ran {
		t.Errorf("%s: an XSS payload ran", where)
	}
	if n := eval[int](t, ctx, `window.__csp || 0`); n != 0 {
		t.Errorf("%s: %d Content-Security-Policy violations", where, n)
	}
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func login(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID("login-submit")))); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.WaitVisible(chromedp.ID("logout")))
}

// TestBrowser walks the UI of a two-organization city whose every name,
// description and CPE carries an XSS payload (UI-01, UI-02).
func TestBrowser(t *testing.T) {
	inst := start(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, func(emit func(*bulwark.City) error) error {
			return emit(webtest.City(webtest.Options{Payloads: true, Meters: 120}))
		})
	},
		bulwark.User{Org: webtest.OrgWater, Email: "alice@water.example", Name: "Alice", Role: bulwark.RoleAnalyst},
		bulwark.User{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
	)
	ctx := browser(t, 2*time.Minute) // generous for loaded CI machines; about 7 s normally
	base := inst.URL

	// Unauthenticated: sent to the login page, which carries the CSP.
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/services"))
	if err != nil {
		t.Fatal(err)
	}
	if loc := location(t, ctx); !strings.HasPrefix(loc, base+"/login") {
		t.Fatalf("unauthenticated /services ended at %s, want the login page", loc)
	}
	csp, _ := resp.Headers["Content-Security-Policy"].(string)
	if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}

	login(t, ctx, base, "alice@water.example")
	if loc := location(t, ctx); loc != base+"/" {
		t.Errorf("after login at %s, want the dashboard", loc)
	}
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#sector-chart canvas') !== null`, chromedp.WithPollingTimeout(10*time.Second)))
	noScriptRan(t, ctx, "dashboard")

	t.Run("services list", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"/services"), chromedp.WaitVisible(chromedp.ID("services")))
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("services")))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Drinking water supply", "420,000", "C low", "A high"} {
			if !strings.Contains(text, want) {
				t.Errorf("services table lacks %q", want)
			}
		}
		noScriptRan(t, ctx, "services")

		// The sector filter swaps the table in place (htmx) and keeps
		// the URL shareable.
		run(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name="sector"]`), "transportation"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name="sector"]').dispatchEvent(new Event('change', {bubbles: true}))`),
			chromedp.Poll[chromedp.Void](`document.querySelector('#results').textContent.includes('No services match')`, chromedp.WithPollingTimeout(10*time.Second)))
		if loc := location(t, ctx); !strings.Contains(loc, "sector=transportation") {
			t.Errorf("filtered URL %s lacks the sector", loc)
		}
		if eval[bool](t, ctx, `document.getElementById('email') !== null || document.querySelectorAll('#results').length !== 1`) {
			t.Error("the filter swap replaced more than the results")
		}
	})

	t.Run("dependency graph", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"/services"), chromedp.WaitVisible(chromedp.ID("services")))
		if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`a[href="/services/water-supply"]`)))); err != nil {
			t.Fatal(err)
		}
		run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#graph[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(15*time.Second)))
		if n := eval[int](t, ctx, `+document.getElementById('graph').dataset.spofs`); n < 3 {
			t.Errorf("%d single points of failure drawn, want at least 3 (SCADA, PLC, HMI)", n)
		}
		if n := eval[int](t, ctx, `+document.getElementById('graph').dataset.commonMode`); n < 1 {
			t.Errorf("%d common-mode nodes drawn, want the shared feeder", n)
		}
		legend := eval[[]string](t, ctx, `echarts.getInstanceByDom(document.getElementById('graph')).getOption().legend[0].data`)
		if !strings.Contains(strings.Join(legend, "|"), "Single point of failure") || !strings.Contains(strings.Join(legend, "|"), "Common-mode") {
			t.Errorf("legend = %q", legend)
		}
		red := eval[[]string](t, ctx, `(function () {
			var o = echarts.getInstanceByDom(document.getElementById('graph')).getOption();
			return o.series[0].data.filter(function (d) { return d.category === 3; }).map(function (d) { return d.id; }); })()`)
		if !strings.Contains(strings.Join(red, " "), "water-scada") {
			t.Errorf("SPOF-coloured nodes %q lack water-scada", red)
		}
		// Show every node's tooltip: names are payloads, tooltips are HTML.
		n := eval[int](t, ctx, `echarts.getInstanceByDom(document.getElementById('graph')).getOption().series[0].data.length`)
		for i := range n {
			eval[chromedp.Void](t, ctx, fmt.Sprintf(`echarts.getInstanceByDom(document.getElementById('graph')).dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: %d})`, i))
		}
		run(t, ctx, chromedp.Sleep(200*time.Millisecond))
		noScriptRan(t, ctx, "graph with tooltips")
		// The server's SPOF table agrees.
		rows := eval[int](t, ctx, `document.querySelectorAll('#spofs tr.spof, #spofs tr.cm').length`)
		if rows != 4 {
			t.Errorf("%d rows in the SPOF table, want 4", rows)
		}
	})

	t.Run("assets pagination", func(t *testing.T) {
		run(t, ctx, chromedp.Navigate(base+"/assets"), chromedp.WaitVisible(chromedp.CSS("#results table")))
		first := eval[string](t, ctx, `document.querySelector('#results tbody tr td .id').textContent`)
		run(t, ctx, chromedp.Click(chromedp.CSS("#results a.next")))
		run(t, ctx, chromedp.PollFunction[chromedp.Void](`function (first) {
			var c = document.querySelector('#results tbody tr td .id');
			return c !== null && c.textContent !== first; }`, chromedp.WithPollingArgs(first), chromedp.WithPollingTimeout(10*time.Second)))
		if loc := location(t, ctx); !strings.Contains(loc, "after=") {
			t.Errorf("page 2 URL %s lacks the cursor", loc)
		}
		second := eval[string](t, ctx, `document.querySelector('#results tbody tr td .id').textContent`)
		if second <= first {
			t.Errorf("page 2 starts at %q, not after %q", second, first)
		}
		if eval[int](t, ctx, `document.querySelectorAll('#results tbody tr').length`) != 50 {
			t.Error("page 2 does not have 50 rows")
		}
		cpes := eval[string](t, ctx, `document.querySelector('#results td.cpes').textContent`)
		if !strings.Contains(cpes, "cpe:2.3:") {
			t.Errorf("CPE cell = %q", cpes)
		}
		noScriptRan(t, ctx, "assets page 2")
	})

	t.Run("every page with payloads", func(t *testing.T) {
		for _, path := range []string{"/organizations", "/systems", "/systems/water-scada", "/systems/ami-headend", "/assets/plc-0001",
			"/assets/meter-0001", "/assets?after=meter-0098", "/services/water-billing", "/criticality"} {
			run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("footer")))
			if path == "/criticality" {
				run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#population-chart canvas') !== null`, chromedp.WithPollingTimeout(10*time.Second)))
			}
			noScriptRan(t, ctx, path)
		}
	})

	t.Run("logout", func(t *testing.T) {
		if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID("logout")))); err != nil {
			t.Fatal(err)
		}
		if loc := location(t, ctx); !strings.HasPrefix(loc, base+"/login") {
			t.Fatalf("after logout at %s", loc)
		}
		run(t, ctx, chromedp.Navigate(base+"/services"), chromedp.WaitVisible(chromedp.ID("email")))
		if loc := location(t, ctx); !strings.HasPrefix(loc, base+"/login") {
			t.Fatalf("after logout /services is at %s, want the login page", loc)
		}
	})

	t.Run("other organization", func(t *testing.T) {
		login(t, ctx, base, "bob@port.example")
		run(t, ctx, chromedp.Navigate(base+"/services"), chromedp.WaitVisible(chromedp.ID("services")))
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "Port operations") {
			t.Error("the port authority does not see its own service")
		}
		if strings.Contains(text, "Drinking water") || strings.Contains(text, "water-supply") {
			t.Error("the port authority sees the water department's services")
		}
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/services/water-supply"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusNotFound {
			t.Errorf("another organization's service page: %d, want 404", resp.Status)
		}
		noScriptRan(t, ctx, "port authority")
	})
}

// TestDemoGraph opens the dependency graph of the demo city's service with
// the most single points of failure, as a city analyst would, and with
// -screenshot saves it as docs/screenshot.png for the README. Without
// -screenshot it uses the demo city with 1,500 instead of 10,000 assets.
func TestDemoGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("imports the 10,000-asset demo city")
	}
	testenv.Chromium(t)
	inst := start(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, demo)
	}, bulwark.User{Org: "city-ciso", Email: "ciso@halden.example", Name: "City CISO", Role: bulwark.RoleViewer})
	service := demoService(t, inst)

	ctx := browser(t, 2*time.Minute)
	login(t, ctx, inst.URL, "ciso@halden.example")
	run(t, ctx, chromedp.Navigate(inst.URL+"/services/"+service))
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#graph[data-ready="1"] canvas') !== null`, chromedp.WithPollingTimeout(15*time.Second)))
	if n := eval[int](t, ctx, `+document.getElementById('graph').dataset.spofs + +document.getElementById('graph').dataset.commonMode`); n == 0 {
		t.Errorf("the graph of %s shows no single point of failure", service)
	}
	noScriptRan(t, ctx, "demo graph")
	if !*screenshot {
		return
	}
	// Let the force layout settle, then frame the graph section.
	run(t, ctx, chromedp.EmulateViewport(1400, 1080), chromedp.Sleep(5*time.Second))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(testenv.RepoRoot(t), "docs", "screenshot.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}
