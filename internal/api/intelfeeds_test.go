package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/intelfeed"
	"bulwark/internal/sharing"
)

const feedToken = "isac-token-must-never-come-back"

// feedWorld is the API world with a sharing community (metro: city owns;
// water writes; port reads), its collection, and a feed service with a
// job queue (not started: pulls are queued, not worked).
func feedWorld(t *testing.T) (*world, string) {
	t.Helper()
	w := newWorld(t, auth.Options{LoginLimit: 1 << 20})
	sh := sharing.New(w.st, nil)
	ctx := systemCtx()
	com := &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "city", Owner: true}, {Org: "water"}, {Org: "port"}}}
	if err := sh.CreateCommunity(ctx, com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Intel", Access: []bulwark.CollectionAccess{
		{Org: "city", CanRead: true, CanWrite: true}, {Org: "water", CanRead: true, CanWrite: true}, {Org: "port", CanRead: true}}}
	if err := sh.CreateCollection(ctx, col); err != nil {
		t.Fatal(err)
	}
	svc, err := intelfeed.Open(context.Background(), w.st, sh, intelfeed.Config{DSN: ":memory:", Key: bytes.Repeat([]byte{3}, 32)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	w.srv.Close()
	w.api = newAPI(w.st, Services{Feeds: svc}, w.auth, nil)
	w.srv = httptest.NewServer(w.api)
	t.Cleanup(w.srv.Close)
	return w, col.ID
}

func feedBody(name, target string, extra string) string {
	return fmt.Sprintf(`{"name":%q,"server_url":"https://isac.example/taxii2/","collection":"indicators","target":%q,"auth":"bearer","token":%q,"interval_seconds":3600%s}`,
		name, target, feedToken, extra)
}

func TestIntelFeedsAPI(t *testing.T) {
	w, target := feedWorld(t)
	var bodies []string
	do := func(as, method, path, body string) response {
		t.Helper()
		ct := ""
		if body != "" {
			ct = "application/json"
		}
		r := w.do(as, method, path, ct, body)
		checkNoInternals(t, r)
		bodies = append(bodies, string(r.body))
		return r
	}
	r := do("city/admin", "POST", "/api/v1/intel/feeds", feedBody("ISAC indicators", target, `,"min_marking":"TLP:AMBER"`))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	f := decodeBody[feedDTO](t, r)
	if f.ID == "" || f.Org != "city" || !f.HasSecret || f.Auth != "bearer" || f.MinMarking != "amber" || f.IntervalSeconds != 3600 || f.Status != "pending" ||
		r.header.Get("Location") != "/api/v1/intel/feeds/"+f.ID {
		t.Fatalf("created %+v (Location %q)", f, r.header.Get("Location"))
	}
	feedPath := "/api/v1/intel/feeds/" + f.ID

	w.run(t, []apiCase{
		{name: "viewer lists", as: "city/viewer", method: "GET", path: "/api/v1/intel/feeds", status: 200, check: func(t *testing.T, r response) {
			items := decodeBody[struct{ Items []feedDTO }](t, r).Items
			if len(items) != 1 || items[0].ID != f.ID {
				t.Errorf("items %+v", items)
			}
		}},
		{name: "analyst reads", as: "city/analyst", method: "GET", path: feedPath, status: 200},
		{name: "list takes no query", as: "city/viewer", method: "GET", path: "/api/v1/intel/feeds?org=water", status: 400},
		{name: "analyst creates", as: "city/analyst", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json", body: feedBody("x", target, ""), status: 403},
		{name: "analyst updates", as: "city/analyst", method: "PUT", path: feedPath, ctype: "application/json", body: feedBody("x", target, ""), status: 403},
		{name: "analyst deletes", as: "city/analyst", method: "DELETE", path: feedPath, status: 403},
		{name: "analyst pulls", as: "city/analyst", method: "POST", path: feedPath + "/pull", status: 403},
		{name: "anonymous", method: "GET", path: "/api/v1/intel/feeds", status: 401},
		{name: "unknown field", as: "city/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json", body: feedBody("y", target, `,"secret":"x"`), status: 400},
		{name: "duplicate key", as: "city/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json", body: feedBody("y", target, `,"token":"other"`), status: 400},
		{name: "http URL", as: "city/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json",
			body: strings.Replace(feedBody("y", target, ""), "https://", "http://", 1), status: 400},
		{name: "credentials in URL", as: "city/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json",
			body: strings.Replace(feedBody("y", target, ""), "https://", "https://u:p@", 1), status: 400},
		{name: "interval too short", as: "city/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json",
			body: strings.Replace(feedBody("y", target, ""), "3600", "60", 1), status: 400},
		{name: "bad marking", as: "city/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json", body: feedBody("y", target, `,"min_marking":"white-ish"`), status: 400},
		{name: "same name", as: "city/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json", body: feedBody("ISAC indicators", target, ""), status: 409},
		{name: "target port may only read", as: "port/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json", body: feedBody("port's", target, ""), status: 400},
		{name: "target hospital cannot see", as: "hospital/admin", method: "POST", path: "/api/v1/intel/feeds", ctype: "application/json", body: feedBody("h", target, ""), status: 400},
		{name: "rename keeps the token", as: "city/admin", method: "PUT", path: feedPath, ctype: "application/json",
			body: `{"name":"ISAC (renamed)","server_url":"https://isac.example/taxii2/","collection":"indicators","target":"` + target + `","auth":"bearer"}`, status: 200,
			check: func(t *testing.T, r response) {
				if g := decodeBody[feedDTO](t, r); g.Name != "ISAC (renamed)" || !g.HasSecret || g.IntervalSeconds != 3600 {
					t.Errorf("updated %+v", g)
				}
			}},
		{name: "pull queued", as: "city/admin", method: "POST", path: feedPath + "/pull", status: 202, check: func(t *testing.T, r response) {
			if !decodeBody[struct{ Queued bool }](t, r).Queued {
				t.Error("not queued")
			}
		}},
		{name: "pull already queued", as: "city/admin", method: "POST", path: feedPath + "/pull", status: 202, check: func(t *testing.T, r response) {
			if decodeBody[struct{ Queued bool }](t, r).Queued {
				t.Error("queued twice")
			}
		}},
	})
	// The token is sealed in the store and never in a response.
	stored, err := w.st.FindIntelFeed(systemCtx(), f.ID)
	if err != nil || len(stored.Secret) == 0 || bytes.Contains(stored.Secret, []byte(feedToken)) {
		t.Errorf("stored secret: %v (contains the token: %v)", err, stored != nil && bytes.Contains(stored.Secret, []byte(feedToken)))
	}
	for _, b := range bodies {
		if strings.Contains(b, feedToken) {
			t.Errorf("a response carries the token: %s", bulwark.Abbrev(b, 200))
		}
	}
	if r := do("city/admin", "DELETE", feedPath, ""); r.status != http.StatusNoContent {
		t.Errorf("delete: %s", r)
	}
	if r := do("city/admin", "GET", feedPath, ""); r.status != http.StatusNotFound {
		t.Errorf("after delete: %s", r)
	}
}

// TestAC01_AC06_IntelFeedsCrossTenant: every user tries every feed route
// on every other organization's feed; hidden feeds answer like missing
// ones, never appear in listings, and nothing changes.
func TestAC01_AC06_IntelFeedsCrossTenant(t *testing.T) {
	w, target := feedWorld(t)
	feeds := map[string]string{} // id -> owning org
	for _, org := range []string{"city", "water"} {
		r := w.do(org+"/admin", "POST", "/api/v1/intel/feeds", "application/json", feedBody(org+" feed", target, ""))
		if r.status != http.StatusCreated {
			t.Fatalf("%s create: %s", org, r)
		}
		feeds[decodeBody[feedDTO](t, r).ID] = org
	}
	snapshot := func() string {
		fs, err := w.st.ListIntelFeeds(systemCtx(), bulwark.IntelFeedFilter{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(fs)
		return string(b)
	}
	before := snapshot()
	checks := 0
	for key, u := range w.users {
		org := u.user.Org
		list := w.do(key, "GET", "/api/v1/intel/feeds", "", "")
		for id, owner := range feeds {
			checks++
			if owner == org {
				if !strings.Contains(string(list.body), id) {
					t.Errorf("%s does not list its own feed %s", key, id)
				}
				continue
			}
			if strings.Contains(string(list.body), id) || strings.Contains(string(list.body), owner+" feed") {
				t.Errorf("%s lists %s's feed", key, owner)
			}
			for _, rq := range []struct{ method, suffix, body string }{
				{"GET", "", ""}, {"PUT", "", feedBody("hijacked", target, "")}, {"DELETE", "", ""}, {"POST", "/pull", ""},
			} {
				path := "/api/v1/intel/feeds/" + id + rq.suffix
				ct := ""
				if rq.body != "" {
					ct = "application/json"
				}
				r := w.do(key, rq.method, path, ct, rq.body)
				checks++
				checkNoInternals(t, r)
				if u.user.Role != bulwark.RoleAdmin && rq.method != "GET" {
					if r.status != http.StatusForbidden {
						t.Errorf("%s %s %s = %s, want 403 (role)", key, rq.method, path, r)
					}
					continue
				}
				missingPath := strings.Replace(path, id, "feed-zzmissing", 1)
				m := w.do(key, rq.method, missingPath, ct, rq.body)
				if r.status != http.StatusNotFound {
					t.Errorf("%s %s %s = %s, want 404", key, rq.method, path, r)
				}
				sameAsMissing(t, r, id, m, "feed-zzmissing")
			}
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("cross-tenant requests changed feeds:\n%s\n%s", before, after)
	}
	t.Logf("%d cross-tenant feed checks", checks)
}
