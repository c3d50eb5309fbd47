package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
	"bulwark/internal/web"
	"bulwark/internal/web/webtest"
)

// intelEnv is newEnv with a sharing service: community "metro" (water
// owner, port member) with collection metroCol, and community "waterworks"
// (water alone) with collection privCol.
type intelEnv struct {
	*env
	sh                *sharing.Service
	metroCol, privCol string
}

func newIntelEnv(t *testing.T) *intelEnv {
	t.Helper()
	e := newEnv(t, webtest.Options{})
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	sh := sharing.New(e.st, nil)
	ie := &intelEnv{env: e, sh: sh}
	for _, c := range []struct {
		com   bulwark.Community
		title string
		colID *string
	}{
		{bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: webtest.OrgWater, Owner: true}, {Org: webtest.OrgPort}}}, "Metro intel", &ie.metroCol},
		{bulwark.Community{ID: "waterworks", Name: "Waterworks", Members: []bulwark.CommunityMember{{Org: webtest.OrgWater, Owner: true}}}, "Waterworks private", &ie.privCol},
	} {
		com := c.com
		if err := sh.CreateCommunity(sys, &com); err != nil {
			t.Fatal(err)
		}
		col := &bulwark.Collection{Community: com.ID, Title: c.title}
		if err := sh.CreateCollection(sys, col); err != nil {
			t.Fatal(err)
		}
		*c.colID = col.ID
	}
	a := auth.New(e.st, auth.Options{Argon: cheap, LoginLimit: 1000}, nil)
	h, err := web.NewWith(e.st, web.Services{Sharing: sh}, a, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return ie
}

func (e *intelEnv) userCtx(email string) (context.Context, int64) {
	e.t.Helper()
	u, err := e.st.FindUserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: u.Email}), u.ID
}

// publish publishes an indicator named name as alice and returns its id.
func (e *intelEnv) publish(col, name, desc string, m bulwark.TLP, orgs []string, users []int64) string {
	e.t.Helper()
	ctx, _ := e.userCtx("alice@water.example")
	id := "indicator--" + uuid.NewString()
	ts := stix.FormatTimestamp(time.Now())
	body, _ := json.Marshal(map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "created": ts, "modified": ts, "name": name,
		"description": desc, "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": ts})
	if _, err := e.sh.Publish(ctx, sharing.PublishRequest{Collection: col, Object: body, Marking: m, Orgs: orgs, Users: users}); err != nil {
		e.t.Fatalf("publish %s %s: %v", name, m, err)
	}
	return id
}

// TestIntelPageVisibility: each user sees exactly the objects their
// marking allows, with every TLP badge; an outsider sees no trace of a
// collection, its objects, their ids or their number.
func TestIntelPageVisibility(t *testing.T) {
	e := newIntelEnv(t)
	_, aliceID := e.userCtx("alice@water.example")
	ids := map[string]string{}
	for _, c := range []struct {
		name  string
		m     bulwark.TLP
		orgs  []string
		users []int64
	}{
		{"clear-obj", bulwark.TLPClear, nil, nil},
		{"green-obj", bulwark.TLPGreen, nil, nil},
		{"amber-obj", bulwark.TLPAmber, []string{webtest.OrgPort}, nil},
		{"strict-obj", bulwark.TLPAmberStrict, nil, nil}, // to water only
		{"red-obj", bulwark.TLPRed, nil, []int64{aliceID}},
	} {
		ids[c.name] = e.publish(e.metroCol, c.name, "", c.m, c.orgs, c.users)
	}
	ids["private-obj"] = e.publish(e.privCol, "private-obj", "", bulwark.TLPClear, nil, nil)

	for _, tc := range []struct {
		who       string
		see, hide []string
	}{
		{"alice@water.example", []string{"clear-obj", "green-obj", "amber-obj", "strict-obj", "red-obj"}, []string{"private-obj"}},
		{"victor@water.example", []string{"clear-obj", "green-obj", "amber-obj", "strict-obj"}, []string{"red-obj", "private-obj"}},
		{"bob@port.example", []string{"clear-obj", "green-obj", "amber-obj"}, []string{"strict-obj", "red-obj", "private-obj"}},
	} {
		t.Run(tc.who, func(t *testing.T) {
			c := e.loggedIn(tc.who)
			res, body := e.get(c, "/intel?c="+e.metroCol)
			if res.StatusCode != 200 || !strings.Contains(body, `aria-current="page">Intel</a>`) {
				t.Fatalf("%d, or the navigation does not mark Intel:\n%s", res.StatusCode, body)
			}
			for _, n := range tc.see {
				if !strings.Contains(body, ">"+n+"<") {
					t.Errorf("%s does not see %s", tc.who, n)
				}
				if res, page := e.get(c, "/intel/objects/"+e.metroCol+"/"+ids[n]); res.StatusCode != 200 || !strings.Contains(page, ids[n]) {
					t.Errorf("%s: object page of %s: %d", tc.who, n, res.StatusCode)
				}
			}
			for _, n := range tc.hide {
				if strings.Contains(body, n) || strings.Contains(body, ids[n]) {
					t.Errorf("%s sees %s or its id on the list", tc.who, n)
				}
				col := e.metroCol
				if n == "private-obj" {
					if !strings.HasPrefix(tc.who, "bob") {
						continue // water is in waterworks: it sees the object there, never on metro's list
					}
					col = e.privCol
				}
				res, page := e.get(c, "/intel/objects/"+col+"/"+ids[n])
				if res.StatusCode != http.StatusNotFound || strings.Contains(page, n) || strings.Contains(page, "TLP:") {
					t.Errorf("%s: object page of %s: %d", tc.who, n, res.StatusCode)
				}
				// Asked through the other collection, the object is unknown too.
				if res, _ := e.get(c, "/intel/objects/"+e.privCol+"/"+ids[n]); n != "private-obj" && res.StatusCode != http.StatusNotFound {
					t.Errorf("%s: %s through the wrong collection: %d", tc.who, n, res.StatusCode)
				}
			}
		})
	}

	// Alice sees every marking as a badge.
	alice := e.loggedIn("alice@water.example")
	_, body := e.get(alice, "/intel?c="+e.metroCol)
	for _, b := range []string{`class="tlp tlp-clear">TLP:CLEAR<`, `class="tlp tlp-green">TLP:GREEN<`, `class="tlp tlp-amber">TLP:AMBER<`,
		`class="tlp tlp-amber-strict">TLP:AMBER&#43;STRICT<`, `class="tlp tlp-red">TLP:RED<`} {
		if strings.Count(body, b) < 2 { // one in the table, one in the publish form
			t.Errorf("marking badge %s missing", b)
		}
	}
	if _, page := e.get(alice, "/intel/objects/"+e.metroCol+"/"+ids["red-obj"]); !strings.Contains(page, `class="tlp tlp-red">TLP:RED<`) {
		t.Error("the object page shows no marking")
	}

	// Port is outside waterworks: not its name, id, objects or count.
	bob := e.loggedIn("bob@port.example")
	_, body = e.get(bob, "/intel")
	for _, s := range []string{e.privCol, "Waterworks", "private-obj", ids["private-obj"]} {
		if strings.Contains(body, s) {
			t.Errorf("outsider's /intel shows %q", s)
		}
	}
	res, body := e.get(bob, "/intel?c="+e.privCol)
	if res.StatusCode != http.StatusNotFound || strings.Contains(body, "private-obj") || strings.Contains(body, "Waterworks") {
		t.Errorf("outsider opens the private collection: %d", res.StatusCode)
	}
	// Port's viewer may not write: no publish form.
	if _, body := e.get(bob, "/intel?c="+e.metroCol); strings.Contains(body, "publish-form") {
		t.Error("a viewer of a member organization is offered the publish form")
	}
}

// TestIntelPagePayloadsEscaped: names and descriptions are text on the
// list and on the object page.
func TestIntelPagePayloadsEscaped(t *testing.T) {
	e := newIntelEnv(t)
	var ids []string
	for i, p := range webtest.Payloads() {
		if i%4 != 0 { // a quarter keeps the test fast; every kind of payload is represented
			continue
		}
		ids = append(ids, e.publish(e.metroCol, fmt.Sprintf("n%d %s", i, p), "d "+p, bulwark.TLPGreen, nil, nil))
	}
	alice := e.loggedIn("alice@water.example")
	check := func(path string) {
		res, body := e.get(alice, path)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		if s, bad := webtest.Contains(body); bad {
			i := strings.Index(body, s)
			t.Errorf("%s: unescaped payload: %s\n%s", path, s, body[max(0, i-200):min(len(body), i+200)])
		}
	}
	check("/intel?c=" + e.metroCol)
	for _, id := range ids[:10] {
		check("/intel/objects/" + e.metroCol + "/" + id)
	}
}

// TestIntelPublishForm: the form needs its token and a marking, builds each
// kind, and refuses users who may not write.
func TestIntelPublishForm(t *testing.T) {
	e := newIntelEnv(t)
	alice := e.loggedIn("alice@water.example")
	_, page := e.get(alice, "/intel?c="+e.metroCol)
	m := tokenRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "publish-form") {
		t.Fatalf("no publish form:\n%s", page)
	}
	if !strings.Contains(page, `value="amber&#43;strict" required checked`) || strings.Count(page, " checked>") != 1+1 { // kind + marking
		t.Errorf("the form pre-selects a marking other than AMBER+STRICT, or several")
	}
	path := "/intel/collections/" + e.metroCol + "/publish"
	ind := url.Values{"kind": {"indicator"}, "name": {"Form C2"}, "pattern": {"[ipv4-addr:value = '203.0.113.9']"}, "marking": {"green"}}
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{"csrf_token": {m[1]}}
		for k, vs := range v {
			out[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	// Without the token: refused, nothing published.
	if res, _ := e.post(alice, path, ind); res.StatusCode != http.StatusForbidden {
		t.Errorf("publish without token: %d", res.StatusCode)
	}
	if _, body := e.get(alice, "/intel?c="+e.metroCol); strings.Contains(body, "Form C2") {
		t.Error("published without a token")
	}
	ts := stix.FormatTimestamp(time.Now())
	pasted := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":%q,"modified":%q,"name":"Pasted C2","pattern":"[domain-name:value = 'c2.example']","pattern_type":"stix","valid_from":%q}`, uuid.NewString(), ts, ts, ts)
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"indicator", with(ind), http.StatusSeeOther, "Form C2"},
		{"note", with(url.Values{"kind": {"note"}, "name": {"Form note"}, "content": {"seen at the port"}, "object_refs": {"indicator--" + uuid.NewString()}, "marking": {"amber"}, "orgs": {webtest.OrgPort}}), http.StatusSeeOther, "Form note"},
		{"report", with(url.Values{"kind": {"report"}, "name": {"Form report"}, "object_refs": {"indicator--" + uuid.NewString()}, "marking": {"clear"}}), http.StatusSeeOther, "Form report"},
		{"stix", with(url.Values{"kind": {"stix"}, "stix": {pasted}, "marking": {"red"}}), http.StatusSeeOther, "Pasted C2"},
		{"no marking", with(ind, "marking", "", "name", "Unmarked"), http.StatusBadRequest, "choose a TLP marking"},
		{"bad marking", with(ind, "marking", "purple", "name", "Purple"), http.StatusBadRequest, "choose a TLP marking"},
		{"amber without recipients", with(ind, "marking", "amber", "name", "Amber none"), http.StatusBadRequest, "recipient"},
		{"bad kind", with(ind, "kind", "malware"), http.StatusBadRequest, "choose indicator"},
		{"bad stix", with(url.Values{"kind": {"stix"}, "stix": {`{"type":`}, "marking": {"green"}}), http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := e.post(alice, path, tc.form)
			if res.StatusCode != tc.status {
				t.Fatalf("%d, want %d\n%s", res.StatusCode, tc.status, body)
			}
			if tc.status == http.StatusSeeOther {
				loc := res.Header.Get("Location")
				_, page := e.get(alice, loc)
				if !strings.HasPrefix(loc, "/intel/objects/"+e.metroCol+"/") || !strings.Contains(page, tc.want) || !strings.Contains(page, "Published.") {
					t.Errorf("after publish: %s\n%s", loc, page)
				}
				return
			}
			if !strings.Contains(body, tc.want) || !strings.Contains(body, "publish-form") {
				t.Errorf("refusal does not show the reason %q with the form:\n%s", tc.want, body)
			}
		})
	}
	// The port's viewer and an outsider collection: refused, nothing leaks.
	bob := e.loggedIn("bob@port.example")
	_, bp := e.get(bob, "/intel")
	bm := tokenRE.FindStringSubmatch(bp)
	for _, col := range []string{e.metroCol, e.privCol} {
		v := with(ind, "name", "Bob's", "csrf_token", bm[1])
		res, body := e.post(bob, "/intel/collections/"+col+"/publish", v)
		if res.StatusCode == http.StatusSeeOther || res.StatusCode == 200 || strings.Contains(body, "Waterworks") {
			t.Errorf("bob publishes to %s: %d", col, res.StatusCode)
		}
	}
}

// TestIntelPagePaging: 50 objects a page, a next link that continues where
// the page ended, and a forged cursor refused as a bad request.
func TestIntelPagePaging(t *testing.T) {
	e := newIntelEnv(t)
	const n = 53
	for i := range n {
		e.publish(e.metroCol, fmt.Sprintf("obj-%03d", i), "", bulwark.TLPGreen, nil, nil)
	}
	bob := e.loggedIn("bob@port.example")
	seen := map[string]bool{}
	path := "/intel?c=" + e.metroCol
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("the pager does not end")
		}
		res, body := e.get(bob, path)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		for i := range n {
			if name := fmt.Sprintf(">obj-%03d<", i); strings.Contains(body, name) {
				if seen[name] {
					t.Errorf("%s on two pages", name)
				}
				seen[name] = true
			}
		}
		path = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != n {
		t.Errorf("saw %d of %d objects over the pages", len(seen), n)
	}
	for _, bad := range []string{"forged", strings.Repeat("A", 5000), "%00%ff", url.QueryEscape(`"><script>x</script>`)} {
		res, body := e.get(bob, "/intel?c="+e.metroCol+"&next="+bad)
		if res.StatusCode != http.StatusBadRequest || strings.Contains(body, "<script>x") {
			t.Errorf("next=%.20s: %d", bad, res.StatusCode)
		}
	}
}

var nextRE = regexp.MustCompile(`<a href="([^"]*)" rel="next">`)
