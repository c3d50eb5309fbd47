package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"bulwark/internal/web/webtest"
)

// report posts the report form as c and returns the incident's page path.
func (e *env) report(c *http.Client, title, affected, description string) string {
	e.t.Helper()
	res, body := e.post(c, "/incidents", url.Values{"csrf_token": {e.csrf(c)}, "title": {title}, "threat": {"ransomware"},
		"affected": {affected}, "description": {description}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/inc-") {
		e.t.Fatalf("report: %d %q %s", res.StatusCode, loc, truncateBody(body))
	}
	return strings.TrimSuffix(loc, "?saved=reported")
}

var taskRE = regexp.MustCompile(`name="task" value="(t\d+)"`)

func TestIncidentPages(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	path := e.report(alice, "SCADA encrypted", "water-scada:down\nhmi-01:compromised", "Ransom note on the HMI")

	_, body := e.get(alice, path)
	for _, want := range []string{`id="incident-title">SCADA encrypted`, `class="sev sev-red">4 severe`, `id="severity-inputs"`, "denial of critical services",
		"420,000 without service", `id="clock-table"`, `href="/services/water-supply"`, `data-graph-src="/incidents/`, `id="phase-form"`, `id="override-form"`,
		"Declare the incident and open a response bridge", `id="note-form"`, `class="tl-reported"`, `href="/playbooks/ransomware?version=1"`, `aria-current="page">Incidents`} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page lacks %s", want)
		}
	}
	_, gj := e.get(alice, path+"/graph.json")
	var g struct {
		Incident string
		Nodes    []struct{ ID, State, Href string }
	}
	if err := json.Unmarshal([]byte(gj), &g); err != nil || len(g.Nodes) < 3 {
		t.Fatalf("graph.json %s (%v)", gj, err)
	}
	states := map[string]string{}
	for _, n := range g.Nodes {
		states[n.ID] = n.State
	}
	if states["water-scada"] != "down" || states["water-supply"] != "down" || states["hmi-01"] != "compromised" || states["water-billing"] != "degraded" {
		t.Errorf("graph states %v", states)
	}

	_, board := e.get(alice, "/incidents")
	if !regexp.MustCompile(`(?s)id="col-detection".*SCADA encrypted.*id="col-containment"`).MatchString(board) || !strings.Contains(board, `data-level="4"`) {
		t.Error("the board does not show the incident under detection")
	}

	// The forms: phase, override, a task, a note.
	csrf := e.csrf(alice)
	for _, form := range []url.Values{
		{"action": {"phase"}, "phase": {"containment"}, "note": {"isolated"}},
		{"action": {"severity"}, "mode": {"override"}, "level": {"5"}, "reason": {"chlorine dosing at risk"}},
		{"action": {"task"}, "task": {taskRE.FindStringSubmatch(body)[1]}, "status": {"done"}, "note": {"bridge open"}},
		{"action": {"note"}, "text": {"EOC activated"}},
	} {
		form.Set("csrf_token", csrf)
		res, b := e.post(alice, path, form)
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("%v: %d %s", form, res.StatusCode, truncateBody(b))
		}
	}
	_, body = e.get(alice, path)
	for _, want := range []string{`id="incident-phase">Containment`, `class="sev sev-black">5 emergency`, "chlorine dosing at risk", "EOC activated", `class="task-done`} {
		if !strings.Contains(body, want) {
			t.Errorf("after the changes the page lacks %s", want)
		}
	}
	// Refusals show the page again with the reason.
	res, b := e.post(alice, path, url.Values{"csrf_token": {csrf}, "action": {"severity"}, "mode": {"override"}, "level": {"2"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(b, "an override needs its reason") {
		t.Errorf("override without reason: %d", res.StatusCode)
	}
	if res, _ := e.post(alice, path, url.Values{"action": {"note"}, "text": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("post without CSRF token: %d", res.StatusCode)
	}

	// The review: a YAML form; follow-ups are carried out.
	_, rb := e.get(alice, path+"/review")
	if !strings.Contains(rb, `id="no-review"`) || !strings.Contains(rb, `id="review-form"`) {
		t.Error("review page without its form")
	}
	res, rb = e.post(alice, path+"/review", url.Values{"csrf_token": {csrf}, "review": {"rev: 0\nsummary: Restored\nfollow_ups: [{kind: risk, title: Unpatched HMI, likelihood: 3, impact: 4}]\n"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("review: %d %s", res.StatusCode, truncateBody(rb))
	}
	_, rb = e.get(alice, path+"/review")
	if !strings.Contains(rb, `id="review-summary">Restored`) || !regexp.MustCompile(`href="/risks/risk-[0-9a-f]+">risk:risk-`).MatchString(rb) {
		t.Errorf("saved review: %s", truncateBody(rb))
	}
	res, rb = e.post(alice, path+"/review", url.Values{"csrf_token": {csrf}, "review": {"rev: 1\nfollow_ups: [{kind: wish, title: x}]\n"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(rb, `review:2:21: follow_ups[0].kind: &#34;wish&#34;: use task, risk or assessment`) {
		t.Errorf("bad review: %d %s", res.StatusCode, regexp.MustCompile(`(?s)<pre class="error".*?</pre>`).FindString(rb))
	}

	// Playbooks: the list, validation with located problems, one playbook
	// with its RACI matrix; the service RACI.
	_, pb := e.get(alice, "/playbooks")
	if strings.Count(pb, `<tr><td><a href="/playbooks/`) != 6 {
		t.Error("the playbook list does not show the six bundled playbooks")
	}
	res, pb = e.post(alice, "/playbooks", url.Values{"csrf_token": {csrf}, "action": {"validate"}, "source": {"id: x\nversion: 0\n"}})
	if res.StatusCode != http.StatusUnprocessableEntity && res.StatusCode != http.StatusBadRequest || !strings.Contains(pb, "playbook.yaml:2:10: version: want a whole number from 1 to 1000000, got 0") {
		t.Errorf("validation: %d %s", res.StatusCode, truncateBody(pb))
	}
	_, one := e.get(alice, "/playbooks/ransomware")
	for _, want := range []string{`id="raci"`, `<table class="raci">`, "Decide on the ransom demand", `id="playbook-yaml"`, "R/A"} {
		if !strings.Contains(one, want) {
			t.Errorf("playbook page lacks %s", want)
		}
	}
	_, raci := e.get(alice, "/raci?service=water-supply")
	if !strings.Contains(raci, `id="service-raci"`) || !strings.Contains(raci, "city-water") {
		t.Error("the service RACI is missing")
	}
}

// TestIncidentTenancyWeb: another organization's incident is not found,
// on its page, its graph and its review, and not on the board.
func TestIncidentTenancyWeb(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	path := e.report(alice, "Water secret incident", "water-scada:down", "secret detail")
	pat := e.loggedIn("pat@port.example")
	for _, p := range []string{path, path + "/review", "/incidents/inc-0000000000000000"} {
		res, body := e.get(pat, p)
		if res.StatusCode != http.StatusNotFound || strings.Contains(body, "secret") {
			t.Errorf("%s as the port: %d", p, res.StatusCode)
		}
	}
	if res, body := e.get(pat, path+"/graph.json"); res.StatusCode != http.StatusNotFound || strings.Contains(body, "water") {
		t.Errorf("graph as the port: %d %s", res.StatusCode, body)
	}
	if _, board := e.get(pat, "/incidents"); strings.Contains(board, "Water secret") {
		t.Error("the port's board shows the water incident")
	}
	res, _ := e.post(pat, path, url.Values{"csrf_token": {e.csrf(pat)}, "action": {"note"}, "text": {"hello"}})
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("note on a foreign incident: %d", res.StatusCode)
	}
	// A viewer sees the incident of its own organization without forms.
	victor := e.loggedIn("victor@water.example")
	_, body := e.get(victor, path)
	if strings.Contains(body, `id="phase-form"`) || strings.Contains(body, `id="note-form"`) || strings.Contains(body, `class="task-form"`) {
		t.Error("a viewer gets forms")
	}
}

// TestIncidentPayloadsEscaped: hostile titles, descriptions and notes
// render as text on every incident page.
func TestIncidentPayloadsEscaped(t *testing.T) {
	e := newEnv(t, webtest.Options{Payloads: true})
	alice := e.loggedIn("alice@water.example")
	var paths []string
	for i, p := range webtest.Payloads() {
		if i%7 != 0 || !strings.ContainsAny(p, "<\"'") {
			continue
		}
		path := e.report(alice, "t"+p, "water-scada:down", p)
		paths = append(paths, path)
		res, _ := e.post(alice, path, url.Values{"csrf_token": {e.csrf(alice)}, "action": {"note"}, "text": {p}})
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("note: %d", res.StatusCode)
		}
	}
	for _, page := range append(paths, "/incidents", "/playbooks", "/raci?service=water-supply") {
		_, body := e.get(alice, page)
		if s, bad := webtest.Contains(body); bad {
			t.Errorf("payload live on %s: %q", page, s)
		}
	}
}
