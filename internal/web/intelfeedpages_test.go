package web_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/intelfeed"
	"bulwark/internal/sharing"
	"bulwark/internal/web"
	"bulwark/internal/web/webtest"
)

// newFeedEnv is newEnv with a sharing collection written by water, an
// administrator of water (wanda@water.example), and a feed service with a
// job queue that is not started (pulls are queued, not worked).
func newFeedEnv(t *testing.T) (*env, *intelfeed.Service, string) {
	t.Helper()
	e := newEnv(t, webtest.Options{})
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	a := auth.New(e.st, auth.Options{Argon: cheap, LoginLimit: 1000}, nil)
	hash, err := a.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	admin := &bulwark.User{Org: webtest.OrgWater, Email: "wanda@water.example", Name: "Wanda", Role: bulwark.RoleAdmin, PasswordHash: hash}
	if err := e.st.CreateUser(sys, admin); err != nil {
		t.Fatal(err)
	}
	sh := sharing.New(e.st, nil)
	com := &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: webtest.OrgWater, Owner: true}, {Org: webtest.OrgPort}}}
	if err := sh.CreateCommunity(sys, com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Intel"}
	if err := sh.CreateCollection(sys, col); err != nil {
		t.Fatal(err)
	}
	feeds, err := intelfeed.Open(context.Background(), e.st, sh, intelfeed.Config{DSN: ":memory:", Key: bytes.Repeat([]byte{5}, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { feeds.Close() })
	h, err := web.NewWith(e.st, web.Services{Feeds: feeds}, a, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e, feeds, col.ID
}

func waterAdminCtx(t *testing.T, e *env) context.Context {
	t.Helper()
	u, err := e.st.FindUserByEmail(context.Background(), "wanda@water.example")
	if err != nil {
		t.Fatal(err)
	}
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: u.Email})
}

func TestIntelFeedsPage(t *testing.T) {
	e, feeds, col := newFeedEnv(t)
	f, err := feeds.Add(waterAdminCtx(t, e), intelfeed.Input{Name: "ISAC indicators", ServerURL: "https://isac.example/taxii2/", Collection: "indicators",
		Target: col, Auth: bulwark.FeedAuthBearer, Token: "web-token-never-shown", Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Members read; the page shows status and never the token.
	alice := e.loggedIn("alice@water.example")
	res, body := e.get(alice, "/intel/feeds")
	if res.StatusCode != 200 || !strings.Contains(body, "ISAC indicators") || !strings.Contains(body, "pending") || strings.Contains(body, "web-token-never-shown") {
		t.Fatalf("analyst's page: %d\n%s", res.StatusCode, body)
	}
	if strings.Contains(body, "Pull now") {
		t.Error("an analyst is offered Pull now")
	}
	if !strings.Contains(body, `aria-current="page">Intel feeds`) {
		t.Error("the navigation does not mark Intel feeds")
	}
	// Another organization sees none of it.
	bob := e.loggedIn("bob@port.example")
	if _, body := e.get(bob, "/intel/feeds"); strings.Contains(body, "ISAC indicators") || !strings.Contains(body, "No feeds yet") {
		t.Errorf("port's page shows water's feed:\n%s", body)
	}
	// The administrator pulls now: queued, then already queued.
	wanda := e.loggedIn("wanda@water.example")
	_, page := e.get(wanda, "/intel/feeds")
	m := tokenRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Pull now") {
		t.Fatalf("admin's page has no pull form:\n%s", page)
	}
	path := "/intel/feeds/" + f.ID + "/pull"
	for _, want := range []string{"/intel/feeds?queued=1", "/intel/feeds?busy=1"} {
		res, body := e.post(wanda, path, url.Values{"csrf_token": {m[1]}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("pull now: %d %s %s", res.StatusCode, res.Header.Get("Location"), body)
		}
	}
	if _, body := e.get(wanda, "/intel/feeds?busy=1"); !strings.Contains(body, "already queued or running") {
		t.Error("no notice after a second pull")
	}
	// Without the form token, across organizations, as an analyst: refused.
	if res, _ := e.post(wanda, path, url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("pull without token: %d", res.StatusCode)
	}
	_, bobPage := e.get(bob, "/intel/feeds")
	bm := tokenRE.FindStringSubmatch(bobPage)
	if res, body := e.post(bob, path, url.Values{"csrf_token": {bm[1]}}); res.StatusCode != http.StatusNotFound || strings.Contains(body, "ISAC") {
		t.Errorf("port pulls water's feed: %d", res.StatusCode)
	}
	_, alicePage := e.get(alice, "/intel/feeds")
	am := tokenRE.FindStringSubmatch(alicePage)
	if res, body := e.post(alice, path, url.Values{"csrf_token": {am[1]}}); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "administrators") {
		t.Errorf("analyst pulls: %d %s", res.StatusCode, body)
	}
}

// TestIntelFeedsPayloadsEscaped: feed names and partner-supplied error
// messages are shown as text.
func TestIntelFeedsPayloadsEscaped(t *testing.T) {
	e, feeds, col := newFeedEnv(t)
	ctx := waterAdminCtx(t, e)
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	for i, p := range webtest.Payloads() {
		name := fmt.Sprintf("feed %d %s", i, p)
		if len(name) > 100 {
			name = name[:100]
		}
		f, err := feeds.Add(ctx, intelfeed.Input{Name: name, ServerURL: "https://isac.example/taxii2/", Collection: "indicators", Target: col, Interval: time.Hour})
		if err != nil {
			if bulwark.ErrorCode(err) == bulwark.EINVALID {
				continue // a payload with control characters is no feed name
			}
			t.Fatal(err)
		}
		lease := bulwark.IntelFeedLease{Holder: "test", Until: time.Now().Add(time.Minute)}
		if _, err := e.st.ClaimIntelFeed(sys, f.ID, lease); err != nil {
			t.Fatal(err)
		}
		if err := e.st.SaveIntelFeedState(sys, f.ID, lease, bulwark.IntelFeedState{LastError: "partner said " + p, Failures: 1}, true); err != nil {
			t.Fatal(err)
		}
	}
	wanda := e.loggedIn("wanda@water.example")
	res, body := e.get(wanda, "/intel/feeds")
	if res.StatusCode != 200 || !strings.Contains(body, "failing") {
		t.Fatalf("%d", res.StatusCode)
	}
	if s, bad := webtest.Contains(body); bad {
		i := strings.Index(body, s)
		t.Errorf("unescaped payload in the page: %s\n%s", s, body[max(0, i-300):min(len(body), i+200)])
	}
}
