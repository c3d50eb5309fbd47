package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"bulwark/internal/web/webtest"
)

// TestIncidentPublicActionWeb: the report form takes what citizens must
// do, the incident page shows it and lets the reporter change or withdraw
// it; bad text is refused on the page; a viewer sees it without the form;
// markup in it is text.
func TestIncidentPublicActionWeb(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	res, body := e.post(alice, "/incidents", url.Values{"csrf_token": {e.csrf(alice)}, "title": {"Chlorination fault"}, "threat": {"ransomware"},
		"affected": {"water-scada:down"}, "public_action": {"Boil tap water before drinking."}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("report: %d %s", res.StatusCode, truncateBody(body))
	}
	path := strings.TrimSuffix(res.Header.Get("Location"), "?saved=reported")
	_, body = e.get(alice, path)
	for _, want := range []string{`id="incident-public-action">Boil tap water before drinking.`, `id="public-action-form"`} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page lacks %s", want)
		}
	}
	for _, tc := range []struct {
		name, action string
		status       int
		want         string
	}{
		{"control character", "Boil\x07", http.StatusBadRequest, "public_action"},
		{"too long", strings.Repeat("a", 1001), http.StatusBadRequest, "public_action"},
		{"unchanged", "Boil tap water before drinking.", http.StatusConflict, "already"},
		{"markup", `<script>alert(1)</script> stay home`, http.StatusSeeOther, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, b := e.post(alice, path, url.Values{"csrf_token": {e.csrf(alice)}, "action": {"public_action"}, "public_action": {tc.action}})
			if res.StatusCode != tc.status || !strings.Contains(b, tc.want) {
				t.Errorf("%d %s", res.StatusCode, truncateBody(b))
			}
		})
	}
	_, body = e.get(alice, path)
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt; stay home") {
		t.Error("the public action is not rendered as text")
	}
	victor := e.loggedIn("victor@water.example")
	if _, body := e.get(victor, path); strings.Contains(body, `id="public-action-form"`) || !strings.Contains(body, `id="incident-public-action"`) {
		t.Error("a viewer should see the public action without the form")
	}
	if res, _ := e.post(alice, path, url.Values{"csrf_token": {e.csrf(alice)}, "action": {"public_action"}, "public_action": {""}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("withdraw: %d", res.StatusCode)
	}
	if _, body := e.get(alice, path); !strings.Contains(body, `id="incident-public-action-none"`) {
		t.Error("after withdrawal the page does not say nothing is asked of the public")
	}
}
