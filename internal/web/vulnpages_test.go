package web_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/web"
	"bulwark/internal/web/webtest"
)

// newVulnEnv is newEnv with the fixture's vulnerabilities and findings.
func newVulnEnv(t *testing.T, opt webtest.Options) *env {
	t.Helper()
	e := newEnv(t, opt)
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	if err := webtest.SeedVulns(ctx, e.st, time.Now(), opt); err != nil {
		t.Fatal(err)
	}
	return e
}

// post sends a form as a same-origin browser would and returns the
// response without following redirects.
func (e *env) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	res, err := c.PostForm(e.srv.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, string(b)
}

// csrf returns the session's form token from any page.
func (e *env) csrf(c *http.Client) string {
	e.t.Helper()
	_, body := e.get(c, "/feeds")
	m := tokenRE.FindStringSubmatch(body)
	if m == nil || m[1] == "" {
		e.t.Fatal("no CSRF token on the page")
	}
	return m[1]
}

const plcFinding = "/findings/plc-0001/" + webtest.VulnPLC

func TestVulnPages(t *testing.T) {
	e := newVulnEnv(t, webtest.Options{Meters: 3})
	c := e.loggedIn("alice@water.example")
	tests := []struct {
		path string
		want []string
	}{
		{"/", []string{`id="exposure-card"`, "5</span><span class=\"l\">open findings", "1 Act", "3 Attend", "1 KEV overdue"}},
		{"/findings", []string{`id="findings-chart"`, `data-chart="stacked"`, `href="/findings/plc-0001/CVE-2024-0001"`,
			`class="ssvc ssvc-act"`, `class="ssvc ssvc-attend"`, `class="ssvc ssvc-trackstar"`, "overdue", "Treatment plant PLC",
			`href="/vulnerabilities/CVE-2024-0001"`, `id="kev-count">1<`, `id="overdue-count">1<`, `id="open-count">5<`}},
		{"/findings?f=1&decision=Attend", []string{"meter-0001", "meter-0003"}},
		{"/findings?f=1&kev=1", []string{"plc-0001"}},
		{plcFinding, []string{`id="decision"`, "ssvc-act", "active", "listed in CISA KEV", "Drinking water supply (420,000 people)",
			`id="explain-tree"`, "simatic_s7-1200_firmware", "(platform)", `class="res res-true"`, `id="history-table"`, "detected:",
			`id="finding-form"`, `<option value="in_remediation"`, `name="csrf_token"`, "overdue", `id="kev"><span class="badge lvl-high">yes`}},
		{"/vulnerabilities/" + webtest.VulnPLC, []string{"Out-of-bounds write", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "9.8",
			"Siemens SIMATIC S7-1200 Out-of-Bounds Write", "Apply mitigations per vendor instructions", "Known ransomware use",
			"0.9731", "99.9%", "Exploitation <strong>active</strong>", "Update the firmware to V4.6", "up to 4.6 (excluding)",
			`href="https://cert-portal.siemens.com/productcert/html/ssa-000001.html"`, "known_exploited_vulnerabilities.json",
			"nvdcve-2.0-2024.json", `id="vuln-findings"`, "plc-0001"}},
		{"/feeds", []string{`id="feed-version">1<`, "nvd", "kev", "epss", "cve5"}},
		{"/advisories", []string{"CVE-2024-0001: Siemens SIMATIC S7-1200 Out-of-Bounds Write", "CISA: Apply mitigations",
			"vendor fix: Update the firmware", "Drinking water supply", "overdue", "Treatment plant PLC", "Why this priority"}},
		{"/advisories?owner=city-water", []string{"CVE-2024-0002"}},
		{"/assets/plc-0001", []string{`id="asset-findings"`, `href="/findings/plc-0001/CVE-2024-0001"`, "ssvc-act"}},
		{"/assets/feeder-1", []string{"No known vulnerability matches this asset."}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res, body := e.get(c, tc.path)
			if res.StatusCode != 200 {
				t.Fatalf("status %d\n%s", res.StatusCode, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	t.Run("priority order", func(t *testing.T) {
		_, body := e.get(c, "/findings")
		rows := regexp.MustCompile(`class="(ssvc ssvc-[a-z]+)">`).FindAllStringSubmatch(body[strings.Index(body, `id="results"`):], -1)
		var got []string
		for _, r := range rows {
			got = append(got, strings.TrimPrefix(r[1], "ssvc ssvc-"))
		}
		want := "act attend attend attend trackstar"
		if strings.Join(got, " ") != want {
			t.Errorf("decisions in list order %q, want %q", got, want)
		}
	})
	t.Run("chart data", func(t *testing.T) {
		_, body := e.get(c, "/findings")
		m := regexp.MustCompile(`data-chart-data="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no chart data")
		}
		var chart struct {
			Labels []string
			Series []struct {
				Name   string
				Values []int
			}
		}
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &chart); err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, s := range chart.Series {
			for _, v := range s.Values {
				counts[s.Name] += v
			}
		}
		if len(chart.Labels) != 1 || chart.Labels[0] != webtest.OrgWater || counts["Act"] != 1 || counts["Attend"] != 3 || counts["Track*"] != 1 {
			t.Errorf("chart %+v, counts %v", chart.Labels, counts)
		}
	})
	t.Run("graph exposure", func(t *testing.T) {
		_, body := e.get(c, "/services/water-supply/graph.json")
		var g web.GraphJSON
		if err := json.Unmarshal([]byte(body), &g); err != nil {
			t.Fatal(err)
		}
		type mark struct {
			Findings      int
			Worst         string
			ExposedAssets int
		}
		got := map[string]mark{}
		for _, n := range g.Nodes {
			if n.Findings > 0 || n.ExposedAssets > 0 {
				got[n.ID] = mark{n.Findings, n.WorstDecision, n.ExposedAssets}
			}
		}
		want := map[string]mark{
			"plc-0001":     {1, "Act", 1},
			"hmi-01":       {1, "Track*", 1},
			"water-scada":  {0, "", 2},
			"water-supply": {0, "", 2},
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: %+v, want %+v", id, got[id], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("exposed nodes %v, want %v", got, want)
		}
	})
}

// TestVulnTenancy checks that one organization sees none of another's
// findings on any page: lists, charts, counts, advisories, the graph and
// the detail pages.
func TestVulnTenancy(t *testing.T) {
	e := newVulnEnv(t, webtest.Options{Meters: 3})
	water := e.loggedIn("alice@water.example")
	port := e.loggedIn("bob@port.example")
	pages := []string{"/", "/findings", "/findings?f=1", "/findings?f=1&owner=" + webtest.OrgWater, "/findings?f=1&owner=" + webtest.OrgPort,
		"/advisories", "/advisories?owner=" + webtest.OrgWater, "/advisories?owner=" + webtest.OrgPort,
		"/vulnerabilities/" + webtest.VulnPLC, "/vulnerabilities/" + webtest.VulnCrane, "/feeds"}
	for _, path := range pages {
		res, body := e.get(port, path)
		if res.StatusCode != 200 {
			t.Fatalf("port %s: %d", path, res.StatusCode)
		}
		for _, leak := range []string{"plc-0001", "meter-0001", "hmi-01", "Treatment plant PLC", "Drinking water", "findings/plc-", `"city-water"`} {
			if strings.Contains(body, leak) {
				t.Errorf("port authority's %s shows %q", path, leak)
			}
		}
		res, body = e.get(water, path)
		if res.StatusCode != 200 {
			t.Fatalf("water %s: %d", path, res.StatusCode)
		}
		for _, leak := range []string{"crane-plc", "Crane PLC", "findings/crane-plc", "port-authority&#34;", `"port-authority"`} {
			if strings.Contains(body, leak) {
				t.Errorf("water department's %s shows %q", path, leak)
			}
		}
	}
	if _, body := e.get(port, "/findings"); !strings.Contains(body, "/findings/crane-plc/"+webtest.VulnCrane) || !strings.Contains(body, `id="open-count">1<`) {
		t.Error("the port authority does not see (only) its own finding")
	}
	if _, body := e.get(port, "/"); !strings.Contains(body, "1</span><span class=\"l\">open findings") {
		t.Error("the port authority's exposure card does not count its one finding")
	}
	for _, tc := range []struct {
		c    *http.Client
		path string
	}{
		{port, plcFinding}, {water, "/findings/crane-plc/" + webtest.VulnCrane},
		{port, "/findings/nope/CVE-2024-0001"}, {water, "/findings/plc-0001/CVE-1999-0000"},
		{water, "/vulnerabilities/CVE-1999-0000"}, {water, "/findings/plc-0001/%3Cscript%3E"},
	} {
		if res, body := e.get(tc.c, tc.path); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "Not found") {
			t.Errorf("%s: %d, want the 404 page", tc.path, res.StatusCode)
		}
	}
	// A change posted to another organization's finding is refused like
	// a missing one, and changes nothing.
	res, _ := e.post(water, "/findings/crane-plc/"+webtest.VulnCrane, url.Values{"csrf_token": {e.csrf(water)}, "status": {"fixed"}})
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("water posting to the port's finding: %d, want 404", res.StatusCode)
	}
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	if f, err := e.st.FindFinding(ctx, "crane-plc", webtest.VulnCrane); err != nil || f.Status != bulwark.FindingOpen {
		t.Errorf("the port's finding after another org's post: %+v, %v", f, err)
	}
	// The graph of the port's service marks its own exposed PLC only.
	_, body := e.get(port, "/services/port-ops/graph.json")
	var g web.GraphJSON
	if err := json.Unmarshal([]byte(body), &g); err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.ID == "crane-plc" && n.Findings != 1 {
			t.Errorf("crane-plc findings %d, want 1", n.Findings)
		}
	}
}

// TestVulnHostileQueries sends malformed and oversized filters: each
// answers the 400 page (never 500) and reflects nothing unescaped.
func TestVulnHostileQueries(t *testing.T) {
	e := newVulnEnv(t, webtest.Options{Meters: 1})
	c := e.loggedIn("alice@water.example")
	long := strings.Repeat("A", 20000)
	script := url.QueryEscape(`"><script>window.__xss=1</script>`)
	for _, path := range []string{
		"/findings?decision=Urgent", "/findings?decision=" + script, "/findings?owner=" + script, "/findings?owner=a%20b",
		"/findings?owner=" + long, "/findings?status=closed", "/findings?kev=maybe", "/findings?open=" + script,
		"/findings?after=-1", "/findings?after=" + script, "/findings?after=99999999999999999999", "/findings?asset=" + long,
		"/findings?vuln=%00", "/findings?owner=a&owner=b", "/findings?" + long + "=1",
		"/advisories?owner=" + script, "/advisories?owner=" + long,
	} {
		res, body := e.get(c, path)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%.70s: status %d, want 400", path, res.StatusCode)
		}
		if strings.Contains(body, "<script>window.__xss") {
			t.Errorf("%.70s reflects the script unescaped", path)
		}
	}
	for _, path := range []string{"/vulnerabilities/" + long, "/vulnerabilities/" + script, "/findings/" + long + "/x", "/findings/a/" + script} {
		if res, _ := e.get(c, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("%.70s: status %d, want 404", path, res.StatusCode)
		}
	}
	// A valid owner that does not exist is an empty list, not an error.
	if res, body := e.get(c, "/findings?f=1&owner=nobody"); res.StatusCode != 200 || !strings.Contains(body, "No findings match") {
		t.Errorf("unknown owner: %d", res.StatusCode)
	}
}

// TestFindingLifecycle drives the lifecycle form: the CSRF token is
// required, a viewer is refused with a message, an analyst moves the
// finding and sees the history, and acceptance needs a reason.
func TestFindingLifecycle(t *testing.T) {
	e := newVulnEnv(t, webtest.Options{Meters: 1})
	alice := e.loggedIn("alice@water.example")
	victor := e.loggedIn("victor@water.example")
	errRE := regexp.MustCompile(`id="finding-error" role="alert">([^<]*)<`)

	t.Run("csrf", func(t *testing.T) {
		for name, form := range map[string]url.Values{
			"missing": {"status": {"in_remediation"}},
			"wrong":   {"status": {"in_remediation"}, "csrf_token": {strings.Repeat("0", 64)}},
		} {
			if res, _ := e.post(alice, plcFinding, form); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s token: %d, want 403", name, res.StatusCode)
			}
		}
		req, _ := http.NewRequest("POST", e.srv.URL+plcFinding, strings.NewReader(url.Values{"csrf_token": {e.csrf(alice)}, "status": {"fixed"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := alice.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site post with a valid token: %d, want 403", res.StatusCode)
		}
		if _, body := e.get(alice, plcFinding); !strings.Contains(body, `id="status">open<`) {
			t.Error("a refused post changed the finding")
		}
	})

	t.Run("viewer", func(t *testing.T) {
		_, page := e.get(victor, plcFinding)
		if strings.Contains(page, `id="finding-form"`) {
			t.Error("a viewer is offered the lifecycle form")
		}
		res, body := e.post(victor, plcFinding, url.Values{"csrf_token": {e.csrf(victor)}, "status": {"in_remediation"}})
		m := errRE.FindStringSubmatch(body)
		if res.StatusCode != http.StatusForbidden || m == nil || !strings.Contains(m[1], "may not change") {
			t.Errorf("viewer post: %d, message %q", res.StatusCode, m)
		}
	})

	t.Run("analyst", func(t *testing.T) {
		tok := e.csrf(alice)
		res, _ := e.post(alice, plcFinding, url.Values{"csrf_token": {tok}, "status": {"in_remediation"}, "note": {"ticket OT-42 opened"}})
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), plcFinding) {
			t.Fatalf("post: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		_, body := e.get(alice, plcFinding)
		if !strings.Contains(body, `id="status">in_remediation<`) || !strings.Contains(body, "ticket OT-42 opened") || !strings.Contains(body, "alice@water.example") {
			t.Error("the page does not show the new status and its history entry")
		}
		if strings.Contains(body, `<option value="in_remediation"`) || !strings.Contains(body, `<option value="fixed"`) {
			t.Error("the form does not offer the next steps from in_remediation")
		}

		// Acceptance without a reason is refused with the store's message,
		// and the form keeps what was typed.
		res, body = e.post(alice, plcFinding, url.Values{"csrf_token": {tok}, "status": {"accepted"}, "accepted_by": {"Ana Ortiz"},
			"until": {time.Now().AddDate(0, 2, 0).Format(time.DateOnly)}})
		m := errRE.FindStringSubmatch(body)
		if res.StatusCode != http.StatusBadRequest || m == nil || !strings.Contains(m[1], "needs a reason") {
			t.Errorf("acceptance without reason: %d, message %q", res.StatusCode, m)
		}
		if !strings.Contains(body, `value="Ana Ortiz"`) {
			t.Error("the refused form lost the accepted_by field")
		}
		for name, form := range map[string]url.Values{
			"bad date":    {"status": {"accepted"}, "accepted_by": {"Ana"}, "note": {"x"}, "until": {"next year"}},
			"past date":   {"status": {"accepted"}, "accepted_by": {"Ana"}, "note": {"x"}, "until": {"2020-01-01"}},
			"no status":   {"note": {"x"}},
			"odd status":  {"status": {"<b>closed</b>"}},
			"long note":   {"status": {"fixed"}, "note": {strings.Repeat("n", 3000)}},
			"not allowed": {"status": {"verified"}},
		} {
			form.Set("csrf_token", tok)
			res, body := e.post(alice, plcFinding, form)
			if res.StatusCode < 400 || res.StatusCode >= 500 || errRE.FindStringSubmatch(body) == nil {
				t.Errorf("%s: %d without an error message", name, res.StatusCode)
			}
		}
		res, _ = e.post(alice, plcFinding, url.Values{"csrf_token": {tok}, "status": {"accepted"}, "accepted_by": {"Ana Ortiz"},
			"note": {"compensating control: PLC isolated"}, "until": {time.Now().AddDate(0, 2, 0).Format(time.DateOnly)}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("acceptance: %d", res.StatusCode)
		}
		_, body = e.get(alice, plcFinding)
		if !strings.Contains(body, "by Ana Ortiz until") || !strings.Contains(body, "compensating control: PLC isolated") {
			t.Error("the page does not show the acceptance")
		}
		if n := strings.Count(body[strings.Index(body, `id="history-table"`):], "<tr><td>"); n != 3 {
			t.Errorf("%d history entries, want 3 (detected, in_remediation, accepted)", n)
		}
	})
}

// TestVulnPayloadsEscaped renders the vulnerability pages of a city whose
// vulnerability descriptions, evidence, reasons, actions and names are XSS
// payloads: none may reach the HTML unescaped, and a javascript: reference
// must not become a link.
func TestVulnPayloadsEscaped(t *testing.T) {
	e := newVulnEnv(t, webtest.Options{Payloads: true, Meters: 3})
	c := e.loggedIn("alice@water.example")
	for _, path := range []string{"/", "/findings", "/findings?f=1&open=0", plcFinding, "/findings/meter-0001/" + webtest.VulnMeter,
		"/findings/hmi-01/" + webtest.VulnHMI, "/vulnerabilities/" + webtest.VulnPLC, "/vulnerabilities/" + webtest.VulnMeter,
		"/feeds", "/advisories", "/assets/plc-0001", "/services/water-supply/graph.json"} {
		res, body := e.get(c, path)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		if strings.HasSuffix(path, ".json") {
			if strings.ContainsAny(body, "<>") {
				t.Errorf("%s has unescaped < or >", path)
			}
		} else if p, ok := webtest.Contains(body); ok {
			t.Errorf("%s contains the payload %q unescaped", path, p)
		}
		if strings.Contains(body, `href="javascript:`) {
			t.Errorf("%s links a javascript: URL", path)
		}
	}
}

// TestFindingsPagination follows the pager through the water department's 122 findings: every
// finding once, in priority order, with the filters kept.
func TestFindingsPagination(t *testing.T) {
	e := newVulnEnv(t, webtest.Options{Meters: 120, MeterFindings: 120})
	c := e.loggedIn("alice@water.example")
	rowRE := regexp.MustCompile(`<a href="(/findings/[^"]*)" class="details">`)
	nextRE := regexp.MustCompile(`<a href="([^"]*)" class="next"`)
	seen := map[string]bool{}
	var order []string
	next := "/findings?f=1&open=1"
	for pages := 1; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		res, body := e.get(c, next)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", next, res.StatusCode)
		}
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Fatalf("%s listed twice", m[1])
			}
			seen[m[1]] = true
			order = append(order, m[1])
		}
		next = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
			if !strings.Contains(next, "open=1") || !strings.Contains(next, "after=") {
				t.Fatalf("next link %q drops the filter or the offset", next)
			}
		}
	}
	if len(seen) != 122 {
		t.Fatalf("saw %d findings, want 122", len(seen))
	}
	if order[0] != plcFinding || order[len(order)-1] != "/findings/hmi-01/"+webtest.VulnHMI {
		t.Errorf("first %s and last %s: want the Act finding first and the Track* one last", order[0], order[len(order)-1])
	}
}
