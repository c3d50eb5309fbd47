package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
)

// TestShareForms: the "Share…" forms need their token and a marking, offer
// only writable collections, refuse viewers and other organizations'
// incidents, and answer hostile input with a message, never a 5xx.
func TestShareForms(t *testing.T) {
	e := newIntelEnv(t)
	actx, _ := e.userCtx("alice@water.example")
	inc, err := incident.New(e.st, baseline.New(e.st, nil), nil).Create(actx, &bulwark.Incident{Title: "Pumps stopped", Threat: "ransomware",
		Affected: []bulwark.Affected{{ID: "water-scada", Effect: bulwark.EffectDown}}})
	if err != nil {
		t.Fatal(err)
	}
	alice, pat, victor := e.loggedIn("alice@water.example"), e.loggedIn("pat@port.example"), e.loggedIn("victor@water.example")
	_, page := e.get(alice, "/share/findings")
	m := tokenRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `id="share-form"`) {
		t.Fatalf("no share form:\n%s", page)
	}
	if !strings.Contains(page, `value="amber&#43;strict" required checked`) || strings.Count(page, " checked>") != 1 {
		t.Errorf("the form pre-selects a marking other than AMBER+STRICT, or several")
	}
	if !strings.Contains(page, `value="`+e.metroCol+`"`) || !strings.Contains(page, `value="`+e.privCol+`"`) {
		t.Errorf("alice's writable collections are not offered")
	}
	post := func(c *http.Client, path string, v url.Values) (int, string) {
		t.Helper()
		res, err := c.PostForm(e.srv.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf_token": {m[1]}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name   string
		c      *http.Client
		path   string
		v      url.Values
		status int
		want   string
	}{
		{"no token", alice, "/share/findings", url.Values{"collection": {e.metroCol}, "marking": {"green"}}, 403, "form token"},
		{"wrong token", alice, "/share/findings", url.Values{"csrf_token": {"x"}, "collection": {e.metroCol}, "marking": {"green"}}, 403, "form token"},
		{"no marking", alice, "/share/findings", form("collection", e.metroCol), 422, "choose a TLP marking"},
		{"bad marking", alice, "/share/findings", form("collection", e.metroCol, "marking", "<b>purple</b>"), 422, "&lt;b&gt;purple"},
		{"no collection", alice, "/share/findings", form("marking", "green"), 422, "choose a collection"},
		{"unknown collection", alice, "/share/advisories", form("collection", "nope", "marking", "green"), 422, "not found"},
		{"amber without recipients", alice, "/share/incidents/" + inc.ID, form("collection", e.metroCol, "marking", "amber"), 422, "recipient"},
		{"oversized", alice, "/share/findings", form("collection", e.metroCol, "marking", "green", "orgs", strings.Repeat("x", 64<<10)), 400, "too large"},
		{"published", alice, "/share/findings", form("collection", e.metroCol, "marking", "green"), 200, `id="share-published">1<`},
		{"incident published", alice, "/share/incidents/" + inc.ID, form("collection", e.metroCol, "marking", "amber", "orgs", "port-authority"), 200, `id="share-published">2<`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.c, tc.path, tc.v)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d (want %d), want %q in:\n%s", status, tc.status, tc.want, bulwark.Abbrev(body, 3000))
			}
		})
	}
	// The port's analyst does not see water's incident; water's viewer
	// may not publish (its own token).
	if res, _ := e.get(pat, "/share/incidents/"+inc.ID); res.StatusCode != http.StatusNotFound {
		t.Errorf("port opens water's incident share form: %d", res.StatusCode)
	}
	_, vpage := e.get(victor, "/share/advisories")
	if !strings.Contains(vpage, "share-readonly") || strings.Contains(vpage, `id="share-form"`) {
		t.Errorf("viewer's share page:\n%s", bulwark.Abbrev(vpage, 2000))
	}
	vm := tokenRE.FindStringSubmatch(vpage)
	if vm != nil {
		if status, body := post(victor, "/share/advisories", url.Values{"csrf_token": {vm[1]}, "collection": {e.metroCol}, "marking": {"green"}}); status != 422 || !strings.Contains(body, "may not publish") {
			t.Errorf("viewer publishes: %d", status)
		}
	}
}
