package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/notify"
	"bulwark/internal/web/webtest"
)

// seedNotifications raises a water incident with a hostile title: one
// notification to water's desk, one to the port authority. It returns
// them by rule and the service (whose ack links the pages accept).
func (e *env) seedNotifications() (map[string]bulwark.Notification, *notify.Service) {
	e.t.Helper()
	m, err := notify.ParseMatrix(strings.NewReader(`version: 1
rules:
  - id: desk
    audience: internal
    recipients: [{email: desk@water.example, org: `+webtest.OrgWater+`}]
    channel: email
    template: internal
    deadline: 1h
  - id: port
    audience: partner
    recipients: [{email: ops@port.example, org: `+webtest.OrgPort+`}]
    channel: email
    template: partner
`), "m.yaml")
	if err != nil {
		e.t.Fatal(err)
	}
	svc := notify.New(e.st, m, notify.Config{PublicURL: e.srv.URL, AckKey: "a key for the ack links of this test, long enough"}, nil)
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	res, err := svc.Notify(ctx, notify.Event{Kind: notify.IncidentCreated, IncidentID: "inc-1", OrgID: webtest.OrgWater, Severity: 3,
		Services: []string{"water-supply"}, Title: `<script>alert("x")</script> pumps down`, Summary: "INTERNAL <b>only</b>", At: time.Now()})
	if err != nil || len(res.Added) != 2 {
		e.t.Fatalf("seed: %v %v", res.Added, err)
	}
	out := map[string]bulwark.Notification{}
	for _, n := range res.Added {
		out[n.Rule] = n
	}
	return out, svc
}

func TestNotificationPages(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	ns, svc := e.seedNotifications()
	alice := e.loggedIn("alice@water.example") // water analyst
	bob := e.loggedIn("bob@port.example")      // port viewer
	pat := e.loggedIn("pat@port.example")      // port analyst

	res, body := e.get(alice, "/notifications")
	if res.StatusCode != 200 {
		t.Fatalf("/notifications: %d", res.StatusCode)
	}
	for _, want := range []string{`id="n-` + ns["desk"].ID, `id="n-` + ns["port"].ID, "&lt;script&gt;", `action="/notifications/` + ns["desk"].ID + `/ack"`, `aria-current="page">Incidents`} {
		if !strings.Contains(body, want) {
			t.Errorf("/notifications lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("the title is not escaped")
	}
	// Alice sees the port's notification (her organization's incident) but
	// may not acknowledge it for the port.
	if strings.Contains(body, `action="/notifications/`+ns["port"].ID+`/ack"`) {
		t.Error("an acknowledge button for another organization's recipient")
	}
	_, body = e.get(alice, "/notifications/"+ns["desk"].ID)
	if !strings.Contains(body, "INTERNAL &lt;b&gt;only&lt;/b&gt;") || !strings.Contains(body, `id="ack-form"`) || !strings.Contains(body, "incident inc-1") {
		t.Errorf("desk notification page: %s", body)
	}
	// The port sees only its own, without the summary; its viewer gets no
	// button, its analyst does.
	_, body = e.get(bob, "/notifications")
	if strings.Contains(body, ns["desk"].ID) || !strings.Contains(body, ns["port"].ID) || strings.Contains(body, "/ack\"") {
		t.Errorf("bob's list: %s", body)
	}
	if res, _ := e.get(bob, "/notifications/"+ns["desk"].ID); res.StatusCode != 404 {
		t.Errorf("bob reading water's desk notification: %d", res.StatusCode)
	}
	_, body = e.get(pat, "/notifications/"+ns["port"].ID)
	if strings.Contains(body, "INTERNAL") || !strings.Contains(body, `id="ack-form"`) {
		t.Errorf("pat's page: %s", body)
	}
	// Acknowledging: without the form token refused; with it, done once.
	if res, _ := e.post(pat, "/notifications/"+ns["port"].ID+"/ack", url.Values{}); res.StatusCode != 403 {
		t.Errorf("ack without CSRF token: %d", res.StatusCode)
	}
	res, _ = e.post(pat, "/notifications/"+ns["port"].ID+"/ack", url.Values{"csrf_token": {e.csrf(pat)}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "acked=1") {
		t.Fatalf("ack: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = e.get(pat, "/notifications/"+ns["port"].ID+"?acked=1")
	if !strings.Contains(body, "Acknowledged.") || !strings.Contains(body, "status-acknowledged") || strings.Contains(body, `id="ack-form"`) {
		t.Errorf("after ack: %s", body)
	}
	if res, body := e.post(pat, "/notifications/"+ns["port"].ID+"/ack", url.Values{"csrf_token": {e.csrf(pat)}}); res.StatusCode != 409 || !strings.Contains(body, "already acknowledged") {
		t.Errorf("ack twice: %d", res.StatusCode)
	}
	if res, _ := e.post(alice, "/notifications/"+ns["port"].ID+"/ack", url.Values{"csrf_token": {e.csrf(alice)}}); res.StatusCode != 403 {
		t.Errorf("alice acknowledging for the port: %d", res.StatusCode)
	}
	if res, _ := e.get(alice, "/notifications?status=bogus"); res.StatusCode != 400 {
		t.Errorf("bad status filter: %d", res.StatusCode)
	}
	_, body = e.get(alice, "/notifications?status=acknowledged")
	if !strings.Contains(body, ns["port"].ID) || strings.Contains(body, ns["desk"].ID) {
		t.Error("status filter")
	}

	// The ack link: anyone with it, no login; GET changes nothing.
	link := svc.AckURL(ns["desk"].ID)
	path := strings.TrimPrefix(link, e.srv.URL)
	anon := e.client()
	res, body = e.get(anon, path)
	if res.StatusCode != 200 || !strings.Contains(body, `id="ack-submit"`) || strings.Contains(body, "pumps down") {
		t.Errorf("ack link page: %d %s", res.StatusCode, body)
	}
	if d, _ := svc.Find(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), ns["desk"].ID); d.Status != bulwark.NotifyPending {
		t.Errorf("a GET of the link changed the notification: %s", d.Status)
	}
	cross, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader("name=x"))
	cross.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cross.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, err := anon.Do(cross); err != nil || res.StatusCode != 403 {
		t.Errorf("cross-site ack: %v %v", res.StatusCode, err)
	}
	res, body = e.post(anon, path, url.Values{"name": {"Night <b>duty</b>"}})
	if res.StatusCode != 200 || !strings.Contains(body, `id="ack-done"`) {
		t.Fatalf("ack by link: %d %s", res.StatusCode, body)
	}
	if d, _ := svc.Find(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), ns["desk"].ID); d.AckBy != "link: Night <b>duty</b>" {
		t.Errorf("acknowledged by %q", d.AckBy)
	}
	if res, body := e.post(anon, path, url.Values{}); res.StatusCode != 409 || !strings.Contains(body, "already acknowledged") {
		t.Errorf("link used twice: %d", res.StatusCode)
	}
	for _, bad := range []string{"/ack/" + strings.Repeat("A", 43), "/ack/short", "/ack/" + url.PathEscape("../../x"), "/ack/" + strings.Repeat("x", 5000)} {
		if res, body := e.post(anon, bad, url.Values{}); res.StatusCode != 404 || !strings.Contains(body, "not valid") {
			t.Errorf("POST %s: %d", bad[:min(len(bad), 20)], res.StatusCode)
		}
	}
}
