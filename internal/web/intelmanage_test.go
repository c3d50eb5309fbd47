package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
	"bulwark/internal/web/webtest"
)

// newIntelAdminEnv is newIntelEnv with administrators: ada of the water
// department (a city organization, owner of both communities) and paula of
// the port authority (a member of metro only).
func newIntelAdminEnv(t *testing.T) *intelEnv {
	t.Helper()
	e := newIntelEnv(t)
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	a := auth.New(e.st, auth.Options{Argon: cheap}, nil)
	hash, err := a.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []bulwark.User{
		{Org: webtest.OrgWater, Email: "ada@water.example", Name: "Ada", Role: bulwark.RoleAdmin, PasswordHash: hash},
		{Org: webtest.OrgPort, Email: "paula@port.example", Name: "Paula", Role: bulwark.RoleAdmin, PasswordHash: hash},
	} {
		if err := e.st.CreateUser(sys, &u); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// form posts v with the CSRF token of c's session.
func (e *intelEnv) form(c *http.Client, path string, v url.Values) (*http.Response, string) {
	e.t.Helper()
	_, page := e.get(c, "/intel")
	m := tokenRE.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no form token on /intel")
	}
	out := url.Values{"csrf_token": {m[1]}}
	for k, vs := range v {
		out[k] = vs
	}
	return e.post(c, path, out)
}

// community reads a community as the system.
func (e *intelEnv) community(id string) *bulwark.Community {
	e.t.Helper()
	c, err := e.sh.FindCommunity(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), id)
	if err != nil {
		e.t.Fatalf("community %s: %v", id, err)
	}
	return c
}

func memberList(c *bulwark.Community) string {
	var s []string
	for _, m := range c.Members {
		x := m.Org
		if m.Owner {
			x += "*"
		}
		s = append(s, x)
	}
	return strings.Join(s, ",")
}

// maskID replaces id in a page so that pages about two ids compare.
func maskID(page, id string) string {
	return regexp.MustCompile(regexp.QuoteMeta(id)+`|`+regexp.QuoteMeta(url.PathEscape(id))).ReplaceAllString(page, "<ID>")
}

// TestIntelManageCommunityForms: administrators of an owner organization
// create communities and collections and manage members through CSRF-checked
// forms; everyone else is refused, outsiders learn nothing, and a refused
// change keeps what is stored.
func TestIntelManageCommunityForms(t *testing.T) {
	e := newIntelAdminEnv(t)
	ada, alice, paula, bob := e.loggedIn("ada@water.example"), e.loggedIn("alice@water.example"), e.loggedIn("paula@port.example"), e.loggedIn("bob@port.example")

	// Who is offered which form.
	for _, tc := range []struct {
		c          *http.Client
		who        string
		want, hide []string
	}{
		{ada, "ada", []string{`id="community-form"`, `id="collection-form"`, `id="manage-metro"`, `id="manage-waterworks"`}, nil},
		{alice, "alice", nil, []string{`id="community-form"`, `id="collection-form"`, `id="manage-`}},
		{paula, "paula", []string{`id="community-form"`}, []string{`id="collection-form"`, `id="manage-`, "Waterworks"}},
		{bob, "bob", nil, []string{`id="community-form"`, `id="manage-`}},
	} {
		_, page := e.get(tc.c, "/intel")
		for _, s := range tc.want {
			if !strings.Contains(page, s) {
				t.Errorf("%s is not offered %s", tc.who, s)
			}
		}
		for _, s := range tc.hide {
			if strings.Contains(page, s) {
				t.Errorf("%s is offered %s", tc.who, s)
			}
		}
	}

	before := memberList(e.community("metro"))
	// Without the form token nothing happens.
	for _, path := range []string{"/intel/communities", "/intel/communities/metro", "/intel/collections", "/intel/collections/" + e.metroCol + "/edit"} {
		res, _ := e.post(ada, path, url.Values{"id": {"x"}, "name": {"X"}, "op": {"add"}, "org": {webtest.OrgPort}, "community": {"metro"}, "title": {"T"}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s without token: %d", path, res.StatusCode)
		}
	}
	// Refusals show the reason on the page, with its status.
	for _, tc := range []struct {
		name   string
		c      *http.Client
		path   string
		form   url.Values
		status int
		want   string
	}{
		{"analyst creates", alice, "/intel/communities", url.Values{"id": {"ops"}, "name": {"Ops"}}, 403, "only administrators"},
		{"state org admin creates", paula, "/intel/communities", url.Values{"id": {"ops"}, "name": {"Ops"}}, 403, "city or ISAC"},
		{"bad id", ada, "/intel/communities", url.Values{"id": {"a b"}, "name": {"Ops"}}, 400, "community id"},
		{"no name", ada, "/intel/communities", url.Values{"id": {"ops"}}, 400, "name of 1 to 200"},
		{"existing id", ada, "/intel/communities", url.Values{"id": {"metro"}, "name": {"Again"}}, 409, ""},
		{"member admin not owner", paula, "/intel/communities/metro", url.Values{"op": {"edit"}, "name": {"Mine"}}, 403, "owner organization"},
		{"analyst manages", alice, "/intel/communities/metro", url.Values{"op": {"remove"}, "org": {webtest.OrgPort}}, 403, "owner organization"},
		{"add a member twice", ada, "/intel/communities/metro", url.Values{"op": {"add"}, "org": {webtest.OrgPort}}, 400, "already a member"},
		{"remove a stranger", ada, "/intel/communities/metro", url.Values{"op": {"remove"}, "org": {"nobody"}}, 400, "not a member"},
		{"last owner", ada, "/intel/communities/metro", url.Values{"op": {"member"}, "org": {webtest.OrgWater}}, 400, "at least one owner"},
		{"unknown op", ada, "/intel/communities/metro", url.Values{"op": {"<script>"}}, 400, "unknown change"},
		{"empty name", ada, "/intel/communities/metro", url.Values{"op": {"edit"}, "name": {""}}, 400, "name of 1 to 200"},
		{"collection in a community not owned", paula, "/intel/collections", url.Values{"community": {"metro"}, "title": {"P"}}, 403, "owner organization"},
		{"collection without title", ada, "/intel/collections", url.Values{"community": {"metro"}}, 400, "title"},
		{"collection alias a UUID", ada, "/intel/collections", url.Values{"community": {"metro"}, "title": {"T"}, "alias": {uuid.NewString()}}, 400, "alias"},
		{"edit collection not owned", paula, "/intel/collections/" + e.metroCol + "/edit", url.Values{"title": {"P"}}, 403, "owner organization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := e.form(tc.c, tc.path, tc.form)
			if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d, want %d with %q:\n%s", res.StatusCode, tc.status, tc.want, bulwark.Abbrev(body, 3000))
			}
			if tc.status != 409 && !strings.Contains(body, `id="intel-error"`) {
				t.Errorf("the reason is not shown as the page's error")
			}
		})
	}
	if after := memberList(e.community("metro")); after != before {
		t.Fatalf("refused changes changed metro: %s, was %s", after, before)
	}

	// Outsiders: a community or collection they are not in answers like a
	// missing one.
	for _, tc := range []struct{ path, missing string }{
		{"/intel/communities/waterworks", "/intel/communities/zz-missing"},
		{"/intel/collections/" + e.privCol + "/edit", "/intel/collections/" + uuid.NewString() + "/edit"},
	} {
		v := url.Values{"op": {"add"}, "org": {webtest.OrgPort}, "owner": {"1"}, "title": {"Mine"}, "read_" + webtest.OrgPort: {"1"}}
		res, body := e.form(paula, tc.path, v)
		mres, mbody := e.form(paula, tc.missing, v)
		hid, mis := tc.path[strings.LastIndex(strings.TrimSuffix(tc.path, "/edit"), "/")+1:], tc.missing[strings.LastIndex(strings.TrimSuffix(tc.missing, "/edit"), "/")+1:]
		hid, mis = strings.TrimSuffix(hid, "/edit"), strings.TrimSuffix(mis, "/edit")
		if res.StatusCode != http.StatusNotFound || maskID(body, hid) != maskID(mbody, mis) || mres.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, missing %d; pages differ:\n%s\n---\n%s", tc.path, res.StatusCode, mres.StatusCode, maskID(body, hid), maskID(mbody, mis))
		}
	}
	if got := memberList(e.community("waterworks")); got != webtest.OrgWater+"*" {
		t.Fatalf("an outsider changed waterworks: %s", got)
	}

	// Ada creates a community with the port, renames it, adds and promotes
	// members, and gives it a collection.
	steps := []struct {
		name string
		path string
		form url.Values
		loc  string
	}{
		{"create", "/intel/communities", url.Values{"id": {"ops"}, "name": {"Ops"}, "description": {"joint operations"}, "members": {webtest.OrgPort}}, "/intel?saved=community#community-ops"},
		{"rename", "/intel/communities/ops", url.Values{"op": {"edit"}, "name": {"Joint ops"}, "description": {"water and port"}}, "/intel?saved=community#community-ops"},
		{"promote port", "/intel/communities/ops", url.Values{"op": {"owner"}, "org": {webtest.OrgPort}}, ""},
		{"demote port", "/intel/communities/ops", url.Values{"op": {"member"}, "org": {webtest.OrgPort}}, ""},
		{"add port to waterworks as owner", "/intel/communities/waterworks", url.Values{"op": {"add"}, "org": {webtest.OrgPort}, "owner": {"1"}}, ""},
		{"remove port from waterworks", "/intel/communities/waterworks", url.Values{"op": {"remove"}, "org": {webtest.OrgPort}}, ""},
		{"collection", "/intel/collections", url.Values{"community": {"ops"}, "title": {"Ops IOCs"}, "alias": {"ops-ioc"}}, "/intel?saved=collection&c="},
	}
	for _, s := range steps {
		res, body := e.form(ada, s.path, s.form)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), s.loc) {
			t.Fatalf("%s: %d %s\n%s", s.name, res.StatusCode, res.Header.Get("Location"), bulwark.Abbrev(body, 2000))
		}
	}
	if c := e.community("ops"); c.Name != "Joint ops" || c.Description != "water and port" || memberList(c) != webtest.OrgWater+"*,"+webtest.OrgPort {
		t.Errorf("ops is %+v", c)
	}
	if got := memberList(e.community("waterworks")); got != webtest.OrgWater+"*" {
		t.Errorf("waterworks: %s", got)
	}
	_, page := e.get(ada, "/intel?saved=community")
	if !strings.Contains(page, "Community saved.") || !strings.Contains(page, "Joint ops") {
		t.Errorf("the saved community is not shown")
	}
	_, page = e.get(bob, "/intel")
	if !strings.Contains(page, "Joint ops") || !strings.Contains(page, "Ops IOCs") || strings.Contains(page, "Waterworks") {
		t.Errorf("bob's view of the communities is wrong:\n%s", bulwark.Abbrev(page, 3000))
	}

	// The collection's access form: close it to the port.
	var col string
	for _, c := range mustCollections(t, e.sh, "ada@water.example", e) {
		if c.Alias == "ops-ioc" {
			col = c.ID
		}
	}
	_, page = e.get(ada, "/intel?c="+col)
	if !strings.Contains(page, `name="read_`+webtest.OrgPort+`" value="1" aria-label="`+webtest.OrgPort+` reads" checked`) {
		t.Fatalf("the access form does not show the port reading:\n%s", bulwark.Abbrev(page, 4000))
	}
	if _, page := e.get(paula, "/intel?c="+col); strings.Contains(page, "collection-edit-form") {
		t.Error("a member that does not own the community is offered the access form")
	}
	res, _ := e.form(ada, "/intel/collections/"+col+"/edit", url.Values{"title": {"Ops IOCs (water)"}, "alias": {"ops-ioc"},
		"read_" + webtest.OrgWater: {"1"}, "write_" + webtest.OrgWater: {"1"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit collection: %d", res.StatusCode)
	}
	if res, _ := e.get(bob, "/intel?c="+col); res.StatusCode != http.StatusNotFound {
		t.Errorf("bob still opens the closed collection: %d", res.StatusCode)
	}
	if _, page := e.get(ada, "/intel?c="+col); !strings.Contains(page, "Ops IOCs (water)") {
		t.Error("the new title is not shown")
	}
}

func mustCollections(t *testing.T, sh *sharing.Service, email string, e *intelEnv) []sharing.CollectionView {
	t.Helper()
	ctx, _ := e.userCtx(email)
	cs, err := sh.ListCollections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// publishAt publishes version modified of indicator id as alice.
func (e *intelEnv) publishAt(col, id, name string, modified time.Time, m bulwark.TLP) {
	e.t.Helper()
	ctx, _ := e.userCtx("alice@water.example")
	ts := stix.FormatTimestamp(modified)
	created := stix.FormatTimestamp(modified.Add(-24 * time.Hour))
	body, _ := json.Marshal(map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "created": created, "modified": ts, "name": name,
		"pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": created})
	if _, err := e.sh.Publish(ctx, sharing.PublishRequest{Collection: col, Object: body, Marking: m}); err != nil {
		e.t.Fatalf("publish %s at %s: %v", id, ts, err)
	}
}

var versionRE = regexp.MustCompile(`<time datetime="([^"]+)">`)

// TestIntelObjectVersionsAndDelete: the object page lists the versions the
// viewer may see; the publishing organization's writers delete one version
// or all, through the token-checked form; nobody else can.
func TestIntelObjectVersionsAndDelete(t *testing.T) {
	e := newIntelAdminEnv(t)
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	id := "indicator--" + uuid.NewString()
	for i := range 3 {
		e.publishAt(e.metroCol, id, fmt.Sprintf("v%d", i), t0.Add(time.Duration(i)*time.Minute), bulwark.TLPGreen)
	}
	strict := "indicator--" + uuid.NewString()
	e.publishAt(e.metroCol, strict, "strict", t0, bulwark.TLPAmberStrict)
	alice, victor, bob, pat := e.loggedIn("alice@water.example"), e.loggedIn("victor@water.example"), e.loggedIn("bob@port.example"), e.loggedIn("pat@port.example")
	objPath := "/intel/objects/" + e.metroCol + "/" + id
	for _, tc := range []struct {
		who       string
		c         *http.Client
		canDelete bool
	}{{"alice", alice, true}, {"victor", victor, false}, {"bob", bob, false}, {"pat", pat, false}} {
		res, page := e.get(tc.c, objPath)
		if res.StatusCode != 200 {
			t.Fatalf("%s: object page %d", tc.who, res.StatusCode)
		}
		got := versionRE.FindAllStringSubmatch(page, -1)
		if len(got) != 3 || got[0][1] != stix.FormatTimestamp(t0) || got[2][1] != stix.FormatTimestamp(t0.Add(2*time.Minute)) {
			t.Errorf("%s sees versions %v", tc.who, got)
		}
		if has := strings.Contains(page, "Delete this version"); has != tc.canDelete || strings.Contains(page, `id="delete-all"`) != tc.canDelete {
			t.Errorf("%s is offered delete: %v", tc.who, has)
		}
	}
	// Bob does not see the strict object: its page and its deletion are
	// exactly those of a missing object.
	missing := "indicator--" + uuid.NewString()
	for _, c := range []*http.Client{bob, pat} {
		res, page := e.get(c, "/intel/objects/"+e.metroCol+"/"+strict)
		_, mpage := e.get(c, "/intel/objects/"+e.metroCol+"/"+missing)
		if res.StatusCode != http.StatusNotFound || maskID(page, strict) != maskID(mpage, missing) {
			t.Errorf("hidden object page: %d", res.StatusCode)
		}
		res, page = e.form(c, "/intel/objects/"+e.metroCol+"/"+strict+"/delete", url.Values{"version": {"all"}})
		_, mpage = e.form(c, "/intel/objects/"+e.metroCol+"/"+missing+"/delete", url.Values{"version": {"all"}})
		if res.StatusCode != http.StatusNotFound || maskID(page, strict) != maskID(mpage, missing) {
			t.Errorf("hidden object delete: %d", res.StatusCode)
		}
	}
	count := func() int {
		n, err := e.sh.Count(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), e.metroCol, sharing.Query{Versions: sharing.VersionFilter{All: true}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	for _, tc := range []struct {
		name   string
		c      *http.Client
		form   url.Values
		token  bool
		status int
	}{
		{"no token", alice, url.Values{"version": {"all"}}, false, 403},
		{"viewer", victor, url.Values{"version": {"all"}}, true, 403},
		{"port analyst, not the publisher", pat, url.Values{"version": {"all"}}, true, 403},
		{"bad version", alice, url.Values{"version": {"newest"}}, true, 400},
		{"no version", alice, url.Values{}, true, 400},
		{"hostile version", alice, url.Values{"version": {`"><script>alert(1)</script>`}}, true, 400},
	} {
		var res *http.Response
		var body string
		if tc.token {
			res, body = e.form(tc.c, objPath+"/delete", tc.form)
		} else {
			res, body = e.post(tc.c, objPath+"/delete", tc.form)
		}
		if res.StatusCode != tc.status || strings.Contains(body, "<script>alert") {
			t.Errorf("%s: %d, want %d", tc.name, res.StatusCode, tc.status)
		}
	}
	if n := count(); n != before {
		t.Fatalf("refused deletes removed versions: %d, was %d", n, before)
	}
	res, _ := e.form(alice, objPath+"/delete", url.Values{"version": {stix.FormatTimestamp(t0.Add(time.Minute))}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != objPath+"?deleted=1" {
		t.Fatalf("delete one version: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, page := e.get(bob, objPath)
	if got := versionRE.FindAllStringSubmatch(page, -1); len(got) != 2 || got[1][1] != stix.FormatTimestamp(t0.Add(2*time.Minute)) {
		t.Errorf("after deleting the middle version bob sees %v", got)
	}
	res, _ = e.form(alice, objPath+"/delete", url.Values{"version": {"all"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/intel?saved=deleted&c="+e.metroCol {
		t.Fatalf("delete all: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := e.get(alice, objPath); res.StatusCode != http.StatusNotFound {
		t.Errorf("deleted object still shown: %d", res.StatusCode)
	}
	if n := count(); n != before-3 {
		t.Errorf("%d versions left, want %d", n, before-3)
	}
}

// TestIntelManagePayloadsEscaped: community names and descriptions,
// collection titles and aliases are text on every page that shows them.
func TestIntelManagePayloadsEscaped(t *testing.T) {
	e := newIntelAdminEnv(t)
	ada := e.loggedIn("ada@water.example")
	n := 0
	for i, p := range webtest.Payloads() {
		if i%6 != 0 { // a sixth keeps the test fast; every kind of payload is represented
			continue
		}
		n++
		res, body := e.form(ada, "/intel/communities", url.Values{"id": {fmt.Sprintf("c%d", i)}, "name": {bulwark.Truncate(p, 200)}, "description": {p}, "members": {webtest.OrgPort}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create community %d: %d\n%s", i, res.StatusCode, bulwark.Abbrev(body, 1000))
		}
		res, body = e.form(ada, "/intel/collections", url.Values{"community": {fmt.Sprintf("c%d", i)}, "title": {bulwark.Truncate(p, 200)}, "description": {p}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create collection %d: %d\n%s", i, res.StatusCode, bulwark.Abbrev(body, 1000))
		}
		// A refused form shows the payload back in its error.
		_, body = e.form(ada, "/intel/communities/"+fmt.Sprintf("c%d", i), url.Values{"op": {"add"}, "org": {p}})
		if s, bad := webtest.Contains(body); bad {
			t.Errorf("refusal page: unescaped payload %s", s)
		}
	}
	for _, c := range []*http.Client{ada, e.loggedIn("bob@port.example")} {
		res, body := e.get(c, "/intel")
		if res.StatusCode != 200 {
			t.Fatalf("/intel: %d", res.StatusCode)
		}
		if s, bad := webtest.Contains(body); bad {
			i := strings.Index(body, s)
			t.Errorf("/intel: unescaped payload: %s\n%s", s, body[max(0, i-200):min(len(body), i+200)])
		}
		for _, col := range mustCollections(t, e.sh, "ada@water.example", e) {
			if _, body := e.get(c, "/intel?c="+col.ID); func() bool { _, bad := webtest.Contains(body); return bad }() {
				t.Errorf("/intel?c=%s: unescaped payload", col.ID)
			}
		}
	}
	t.Logf("%d payloads as community and collection names", n)
}
