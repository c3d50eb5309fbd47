package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"bulwark/internal/web/webtest"
)

// riskForm is a valid form adding a risk of the water department.
func riskForm(token, title string, likelihood, impact string) url.Values {
	return url.Values{"csrf_token": {token}, "title": {title}, "scenario": {"Ransomware encrypts the <b>SCADA</b> servers"},
		"techniques": {"T0866", "T0882"}, "services": {"water-supply"}, "systems": {"water-scada"},
		"likelihood": {likelihood}, "impact": {impact}, "freq_min": {"0.1"}, "freq_ml": {"0.5"}, "freq_max": {"2"},
		"loss_min": {"10000"}, "loss_ml": {"50000"}, "loss_max": {"400000"}, "treatment": {"mitigate"}, "treatment_owner": {"OT lead"}, "due": {"2027-03-31"}}
}

var revRE = regexp.MustCompile(`name="rev" value="(\d+)"`)

// addRisk posts the form as c and returns the new risk's page path.
func (e *env) addRisk(c *http.Client, title, likelihood, impact string) string {
	e.t.Helper()
	res, body := e.post(c, "/risks", riskForm(e.csrf(c), title, likelihood, impact))
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/risks/risk-") {
		e.t.Fatalf("add a risk: %d %q %s", res.StatusCode, loc, body)
	}
	return strings.TrimSuffix(loc, "?saved=1")
}

// TestRiskPages: the register, a risk and the analysis render for an
// analyst and a viewer; the form adds a risk that the heat map counts.
func TestRiskPages(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	path := e.addRisk(alice, "SCADA ransomware", "4", "5")
	e.addRisk(alice, "Chlorine dosing tamper", "2", "3")

	res, body := e.get(alice, "/risks")
	if res.StatusCode != 200 {
		t.Fatalf("/risks: %d", res.StatusCode)
	}
	for _, want := range []string{`id="risk-form"`, "SCADA ransomware", `id="cell-4-5" data-count="1"`, `id="cell-2-3" data-count="1"`,
		`id="cell-1-1" data-count="0"`, `href="/risks?status=open&amp;likelihood=4&amp;impact=5"`, `class="badge risk-critical"`, `aria-current="page">Risks`,
		`value="T0866"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/risks lacks %s", want)
		}
	}
	// The heat map cell's link narrows the table to that cell.
	_, body = e.get(alice, "/risks?status=open&likelihood=4&impact=5")
	if !strings.Contains(body, "SCADA ransomware") || strings.Contains(body, "Chlorine dosing tamper") {
		t.Error("the cell filter does not narrow the register")
	}

	_, body = e.get(alice, path)
	for _, want := range []string{"SCADA ransomware", "Ransomware encrypts the &lt;b&gt;SCADA&lt;/b&gt; servers", `href="https://attack.mitre.org/techniques/T0866`,
		`href="/services/water-supply"`, `href="/systems/water-scada"`, `id="edit-form"`, `id="accept-form"`, `name="rev" value="1"`, "created"} {
		if !strings.Contains(body, want) {
			t.Errorf("%s lacks %s", path, want)
		}
	}

	victor := e.loggedIn("victor@water.example")
	for _, p := range []string{"/risks", path, "/risks/analysis"} {
		res, body := e.get(victor, p)
		if res.StatusCode != 200 || strings.Contains(body, `id="risk-form"`) || strings.Contains(body, `id="edit-form"`) {
			t.Errorf("viewer %s: %d or a form shown", p, res.StatusCode)
		}
	}

	res, body = e.get(alice, "/risks/analysis?trials=2000&seed=3")
	if res.StatusCode != 200 {
		t.Fatalf("analysis: %d", res.StatusCode)
	}
	for _, want := range []string{`data-chart="exceedance"`, `id="eal"`, `id="p99"`, "SCADA ransomware", "2,000 years"} {
		if !strings.Contains(body, want) {
			t.Errorf("analysis lacks %s", want)
		}
	}
	_, again := e.get(alice, "/risks/analysis?trials=2000&seed=3")
	if eal(body) == "" || eal(body) != eal(again) {
		t.Errorf("the same seed gave %q then %q", eal(body), eal(again))
	}
	for _, p := range []string{"/risks/analysis?trials=0", "/risks/analysis?trials=100001", "/risks/analysis?seed=x", "/risks?status=done", "/risks?likelihood=9"} {
		if res, body := e.get(alice, p); res.StatusCode != 400 || !strings.Contains(body, "must be") && !strings.Contains(body, "Unknown status") {
			t.Errorf("%s: %d, want 400 with a message", p, res.StatusCode)
		}
	}
}

var ealRE = regexp.MustCompile(`id="eal"><strong>([^<]*)</strong>`)

func eal(body string) string {
	if m := ealRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// TestRiskTenancy: another organization gets 404; viewers, forms without
// a token and cross-site posts are refused.
func TestRiskTenancy(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	path := e.addRisk(alice, "SCADA ransomware", "4", "5")
	for _, who := range []string{"bob@port.example", "pat@port.example"} {
		c := e.loggedIn(who)
		if res, _ := e.get(c, path); res.StatusCode != 404 {
			t.Errorf("%s GET %s: %d, want 404", who, path, res.StatusCode)
		}
		if _, body := e.get(c, "/risks"); strings.Contains(body, "SCADA ransomware") || !strings.Contains(body, `id="cell-4-5" data-count="0"`) {
			t.Errorf("%s sees the water department's risk", who)
		}
		if _, body := e.get(c, "/risks/analysis"); strings.Contains(body, "SCADA ransomware") {
			t.Errorf("%s's analysis includes the water department's risk", who)
		}
		form := url.Values{"csrf_token": {e.csrf(c)}, "action": {"edit"}, "rev": {"1"}, "status": {"closed"}, "likelihood": {"1"}, "impact": {"1"}}
		if res, _ := e.post(c, path, form); res.StatusCode != 404 {
			t.Errorf("%s POST %s: %d, want 404", who, path, res.StatusCode)
		}
	}
	victor := e.loggedIn("victor@water.example")
	form := url.Values{"csrf_token": {e.csrf(victor)}, "action": {"edit"}, "rev": {"1"}, "status": {"closed"}, "likelihood": {"1"}, "impact": {"1"}}
	if res, _ := e.post(victor, path, form); res.StatusCode != 403 {
		t.Errorf("viewer edits a risk: %d, want 403", res.StatusCode)
	}
	if res, _ := e.post(victor, "/risks", riskForm(e.csrf(victor), "x", "1", "1")); res.StatusCode != 403 {
		t.Errorf("viewer adds a risk: %d, want 403", res.StatusCode)
	}
	noToken := riskForm("", "x", "1", "1")
	if res, _ := e.post(alice, "/risks", noToken); res.StatusCode != 403 {
		t.Errorf("add without CSRF token: %d, want 403", res.StatusCode)
	}
	form.Set("csrf_token", "")
	if res, _ := e.post(alice, path, form); res.StatusCode != 403 {
		t.Errorf("edit without CSRF token: %d, want 403", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/risks", strings.NewReader(riskForm(e.csrf(alice), "x", "1", "1").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, err := alice.Do(req); err != nil || res.StatusCode != 403 {
		t.Errorf("cross-site post: %v %v", res, err)
	}
	// An oversized form is refused before parsing.
	big := riskForm(e.csrf(alice), strings.Repeat("x", 70<<10), "1", "1")
	if res, _ := e.post(alice, "/risks", big); res.StatusCode != 400 {
		t.Errorf("oversized form: %d, want 400", res.StatusCode)
	}
	for _, p := range []string{"/risks/risk-none", "/risks/..%2f..", "/risks/" + strings.Repeat("a", 300)} {
		if res, _ := e.get(alice, p); res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
}

// TestRiskForms: bad input is refused with a message and the typed values
// kept; a stale revision is 409 naming who changed it; edits and
// acceptance add revisions to the history.
func TestRiskForms(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	token := e.csrf(alice)
	for _, tc := range []struct {
		name string
		set  map[string][]string
		msg  string
	}{
		{"likelihood 6", map[string][]string{"likelihood": {"6"}}, "likelihood: choose 1 to 5"},
		{"inverted range", map[string][]string{"freq_min": {"3"}}, "min ≤ most_likely ≤ max"},
		{"partial range", map[string][]string{"loss_max": {""}}, "give the minimum, most likely and maximum"},
		{"not a number", map[string][]string{"loss_ml": {"lots"}}, "&#34;lots&#34; is not a number"},
		{"unknown technique", map[string][]string{"techniques": {"T0999"}}, "T0999 is not an ATT&amp;CK for ICS technique"},
		{"no title", map[string][]string{"title": {""}}, "a title of 1 to 500 bytes is required"},
		{"bad date", map[string][]string{"due": {"tomorrow"}}, "is not a date"},
		{"invisible service", map[string][]string{"services": {"port-ops"}}, "port-ops"},
		{"missing finding", map[string][]string{"findings": {"plc-0001/CVE-2000-0001"}}, "no finding plc-0001/CVE-2000-0001"},
	} {
		form := riskForm(token, "Kept <title>", "3", "3")
		for k, v := range tc.set {
			form[k] = v
		}
		res, body := e.post(alice, "/risks", form)
		if res.StatusCode != 400 || !strings.Contains(body, tc.msg) || !strings.Contains(body, `id="risk-error"`) {
			t.Errorf("%s: %d, want 400 with %q", tc.name, res.StatusCode, tc.msg)
		}
		if tc.name != "no title" && !strings.Contains(body, `value="Kept &lt;title&gt;"`) {
			t.Errorf("%s: the typed title is not kept", tc.name)
		}
	}

	path := e.addRisk(alice, "SCADA ransomware", "4", "5")
	edit := url.Values{"csrf_token": {token}, "action": {"edit"}, "rev": {"1"}, "status": {"treating"}, "treatment": {"mitigate"},
		"treatment_owner": {"OT lead"}, "treatment_plan": {"Segment the SCADA network"}, "due": {"2027-01-31"}, "likelihood": {"3"}, "impact": {"5"},
		"freq_min": {"0.1"}, "freq_ml": {"0.3"}, "freq_max": {"1"}, "loss_min": {"1000"}, "loss_ml": {"5000"}, "loss_max": {"90000"}, "note": {"segmentation funded"}}
	res, _ := e.post(alice, path, edit)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	_, body := e.get(alice, path+"?saved=1")
	for _, want := range []string{`name="rev" value="2"`, "segmentation funded", `name="loss_max" id="edit-loss-max" value="90000"`, "Segment the SCADA network", `id="risk-li">3 × 5`, "Saved as revision 2"} {
		if !strings.Contains(body, want) {
			t.Errorf("after the edit the page lacks %s", want)
		}
	}
	// A second editor still on revision 1.
	edit.Set("status", "closed")
	res, body = e.post(alice, path, edit)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Someone else changed this risk") ||
		!strings.Contains(body, "now revision 2") || !strings.Contains(body, "alice@water.example") {
		t.Errorf("stale revision: %d, want 409 naming who changed it", res.StatusCode)
	}
	if m := revRE.FindStringSubmatch(body); m == nil || m[1] != "2" {
		t.Errorf("the conflict page does not rebase the form on revision 2: %v", m)
	}
	edit.Set("rev", "x")
	if res, _ := e.post(alice, path, edit); res.StatusCode != 400 {
		t.Errorf("no revision: %d, want 400", res.StatusCode)
	}
	edit.Set("rev", "2")
	edit.Set("action", "delete")
	if res, _ := e.post(alice, path, edit); res.StatusCode != 400 {
		t.Errorf("unknown action: %d, want 400", res.StatusCode)
	}

	accept := url.Values{"csrf_token": {token}, "action": {"accept"}, "rev": {"2"}, "accepted_by": {"Director of Water"}, "until": {"2020-01-01"}, "note": {"budget 2027"}}
	if res, body := e.post(alice, path, accept); res.StatusCode != 400 || !strings.Contains(body, "must end in the future") {
		t.Errorf("acceptance in the past: %d", res.StatusCode)
	}
	accept.Set("until", "2099-12-31")
	if res, _ := e.post(alice, path, accept); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d", res.StatusCode)
	}
	_, body = e.get(alice, path)
	if !strings.Contains(body, "by Director of Water until 2099-12-31") || !strings.Contains(body, "budget 2027") || strings.Count(body, "<tr><td class=\"num\">") != 3 {
		t.Errorf("the acceptance is not shown with three revisions")
	}
	// Accepted risks leave the heat map.
	if _, body := e.get(alice, "/risks"); !strings.Contains(body, `id="cell-3-5" data-count="0"`) {
		t.Error("an accepted risk is still counted as open")
	}
}

// TestRiskPayloadsEscaped: hostile titles and scenarios render as text.
func TestRiskPayloadsEscaped(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	for i, p := range webtest.Payloads() {
		if len(p) > 500 || !strings.ContainsAny(p, "<\"'") {
			continue // plain text (a bare "javascript:…") is inert in text, and would match after any tag
		}
		form := riskForm(e.csrf(alice), p, "2", "2")
		form.Set("scenario", p)
		form.Set("treatment_plan", p)
		res, _ := e.post(alice, "/risks", form)
		if res.StatusCode != http.StatusSeeOther {
			continue // refused (e.g. not valid text): nothing stored
		}
		loc := strings.TrimSuffix(res.Header.Get("Location"), "?saved=1")
		for _, page := range []string{loc, "/risks", "/risks/analysis"} {
			_, body := e.get(alice, page)
			if s, bad := webtest.Contains(body); bad {
				t.Errorf("payload %d is live on %s: %q", i, page, s)
			}
		}
	}
}
