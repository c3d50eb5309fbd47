package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// stixVersion is one version of indicator id, modified at t.
func stixVersion(id string, t time.Time) string {
	created := stix.FormatTimestamp(t.Add(-24 * time.Hour))
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"C2 server",`+
		`"pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":%q}`, id, created, stix.FormatTimestamp(t), created)
}

type versionPage struct {
	ID    string            `json:"id"`
	Items []intelVersionDTO `json:"items"`
	More  bool              `json:"more"`
	Next  string            `json:"next"`
}

// intelState is what is stored about the intel world, as the system sees
// it: the community, the collection and every version in it.
func intelState(t *testing.T, w *world, col string) string {
	t.Helper()
	ctx := systemCtx()
	c, err := w.api.sh.FindCommunity(ctx, "metro")
	if err != nil {
		t.Fatal(err)
	}
	v, err := w.api.sh.FindCollection(ctx, col)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.api.sh.Manifest(ctx, col, sharing.Query{Versions: sharing.VersionFilter{All: true}, Limit: sharing.MaxPageSize}, "")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v\n%+v\n%+v", *c, *v, p.Items)
}

// TestIntelManageCommunity: owners' administrators change a community's
// name, members and owners; members learn nothing more, outsiders get the
// answer of a missing community, and a refused change keeps what is stored.
func TestIntelManageCommunity(t *testing.T) {
	w, col := intelWorld(t)
	const js = "application/json"
	path := "/api/v1/intel/communities/metro"
	patch := func(name, as, body string, status int, check func(*testing.T, response)) apiCase {
		return apiCase{name: name, as: as, method: "PATCH", path: path, ctype: js, body: body, status: status, check: check}
	}
	members := func(want string) func(*testing.T, response) {
		return func(t *testing.T, r response) {
			c := decodeBody[bulwark.Community](t, r)
			var got []string
			for _, m := range c.Members {
				s := m.Org
				if m.Owner {
					s += "*"
				}
				got = append(got, s)
			}
			if strings.Join(got, ",") != want {
				t.Errorf("members %s, want %s", strings.Join(got, ","), want)
			}
		}
	}
	before := intelState(t, w, col)
	w.run(t, []apiCase{
		// Refused: nothing changes (checked below).
		patch("analyst may not", "city/analyst", `{"name":"X"}`, 403, nil),
		patch("member admin not an owner", "water/admin", `{"name":"X"}`, 403, wantMsg("owner organization")),
		patch("unknown field", "city/admin", `{"name":"X","owners":["water"]}`, 400, nil),
		patch("duplicate key", "city/admin", `{"name":"X","name":"Y"}`, 400, wantMsg("duplicate key")),
		patch("case-variant key", "city/admin", `{"Name":"X"}`, 400, nil),
		patch("not an object", "city/admin", `["name"]`, 400, nil),
		patch("empty body", "city/admin", ``, 400, nil),
		patch("trailing data", "city/admin", `{"name":"X"}{}`, 400, nil),
		patch("wrong type", "city/admin", `{"add_members":"hospital"}`, 400, wantMsg("add_members")),
		patch("empty name", "city/admin", `{"name":""}`, 400, wantMsg("name of 1 to 200")),
		patch("long name", "city/admin", `{"name":"`+strings.Repeat("n", 201)+`"}`, 400, nil),
		patch("oversized body", "city/admin", `{"description":"`+strings.Repeat("d", 2<<20)+`"}`, 413, nil),
		patch("too many orgs", "city/admin", `{"add_members":["`+strings.Repeat(`a","`, maxPatchOrgs)+`b"]}`, 400, wantMsg("at most")),
		patch("already a member", "city/admin", `{"add_members":["water"]}`, 400, wantMsg("already a member")),
		patch("not a member", "city/admin", `{"remove_members":["hospital"]}`, 400, wantMsg("not a member")),
		patch("owner not a member", "city/admin", `{"add_owners":["hospital"]}`, 400, wantMsg("add it with add_members")),
		patch("add and remove", "city/admin", `{"add_members":["hospital"],"remove_members":["hospital"]}`, 400, wantMsg("both")),
		patch("hostile org id", "city/admin", `{"add_members":["<script>alert(1)</script>"]}`, 400, wantMsg("not an organization ID")),
		patch("no owner left", "city/admin", `{"remove_owners":["city"]}`, 400, wantMsg("at least one owner")),
	})
	if r := w.do("city/admin", "PATCH", path+"?org=hospital", js, `{"name":"X"}`); r.status != 400 {
		t.Errorf("query string: %s", r)
	}
	if r := w.do("city/admin", "PATCH", path, js, `{"add_members":["nosuch"]}`); r.status < 400 || r.status >= 500 {
		t.Errorf("unknown org: %s", r)
	}
	if after := intelState(t, w, col); after != before {
		t.Fatalf("refused changes changed the community:\n%s\n%s", before, after)
	}

	// Outsiders: every request answers like one about a missing community,
	// whatever the body.
	for _, as := range []string{"hospital/admin", "power/admin", "univ/admin"} {
		for _, body := range []string{`{"name":"Taken"}`, `{"add_members":["hospital"],"add_owners":["hospital"]}`, `{`, `{"x":1}`} {
			r := w.do(as, "PATCH", path, js, body)
			if r.status != 404 {
				t.Errorf("%s PATCH %s: %s", as, body, r)
			}
			sameAsMissing(t, r, "metro", w.do(as, "PATCH", "/api/v1/intel/communities/zzmissing", js, body), "zzmissing")
		}
	}
	if after := intelState(t, w, col); after != before {
		t.Fatalf("outsiders changed the community")
	}

	w.run(t, []apiCase{
		patch("rename", "city/admin", `{"name":"Metro <b>utilities</b>","description":"water & port"}`, 200, func(t *testing.T, r response) {
			if c := decodeBody[bulwark.Community](t, r); c.Name != "Metro <b>utilities</b>" || c.Description != "water & port" {
				t.Errorf("renamed %+v", c)
			}
		}),
		patch("add hospital as owner, make water owner", "city/admin", `{"add_members":["hospital"],"add_owners":["hospital","water"]}`, 200, members("city*,hospital*,port,water*")),
		patch("water, now an owner, demotes hospital", "water/admin", `{"remove_owners":["hospital"]}`, 200, members("city*,hospital,port,water*")),
		patch("hospital, a member, may not manage", "hospital/admin", `{"remove_members":["port"]}`, 403, nil),
		{name: "hospital sees the community", as: "hospital/viewer", method: "GET", path: path, status: 200, check: members("city*,hospital,port,water*")},
		patch("remove port", "city/admin", `{"remove_members":["port"]}`, 200, members("city*,hospital,water*")),
		{name: "port no longer sees the community", as: "port/admin", method: "GET", path: path, status: 404},
		{name: "port no longer sees the collection", as: "port/viewer", method: "GET", path: "/api/v1/intel/collections/" + col, status: 404},
		{name: "port's access entry is gone", as: "city/admin", method: "GET", path: "/api/v1/intel/collections/" + col, status: 200, check: func(t *testing.T, r response) {
			for _, a := range decodeBody[sharing.CollectionView](t, r).Access {
				if a.Org == "port" {
					t.Errorf("port keeps access %+v", a)
				}
			}
		}},
		patch("city leaves", "city/admin", `{"remove_members":["city"]}`, 204, nil),
		{name: "city no longer sees it", as: "city/admin", method: "GET", path: path, status: 404},
		{name: "water still does", as: "water/viewer", method: "GET", path: path, status: 200, check: members("hospital,water*")},
	})
}

// TestIntelManageCollection: owners' administrators change a collection's
// title, alias and access, never its community; others may not, and
// outsiders get the answer of a missing collection.
func TestIntelManageCollection(t *testing.T) {
	w, col := intelWorld(t)
	const js = "application/json"
	path := "/api/v1/intel/collections/" + col
	patch := func(name, as, body string, status int, check func(*testing.T, response)) apiCase {
		return apiCase{name: name, as: as, method: "PATCH", path: path, ctype: js, body: body, status: status, check: check}
	}
	before := intelState(t, w, col)
	w.run(t, []apiCase{
		patch("analyst may not", "city/analyst", `{"title":"X"}`, 403, nil),
		patch("writer org admin not an owner", "water/admin", `{"title":"X"}`, 403, wantMsg("owner organization")),
		patch("reader org admin", "port/admin", `{"title":"X"}`, 403, nil),
		patch("move community", "city/admin", `{"community":"other"}`, 400, wantMsg("cannot move")),
		patch("unknown field", "city/admin", `{"id":"`+col+`"}`, 400, nil),
		patch("empty title", "city/admin", `{"title":""}`, 400, wantMsg("title")),
		patch("UUID alias", "city/admin", `{"alias":"`+col+`"}`, 400, wantMsg("alias")),
		patch("hostile alias", "city/admin", `{"alias":"\"><script>alert(1)</script>"}`, 400, wantMsg("alias")),
		patch("access for an outsider", "city/admin", `{"access":[{"org":"hospital","can_read":true}]}`, 400, wantMsg("not a member")),
		patch("access twice", "city/admin", `{"access":[{"org":"port","can_read":true},{"org":"port"}]}`, 400, wantMsg("twice")),
		patch("access wrong type", "city/admin", `{"access":{"org":"port"}}`, 400, nil),
		patch("access bool as string", "city/admin", `{"access":[{"org":"port","can_read":"yes"}]}`, 400, nil),
		patch("duplicate key in access", "city/admin", `{"access":[{"org":"port","org":"hospital"}]}`, 400, wantMsg("duplicate key")),
		patch("oversized", "city/admin", `{"description":"`+strings.Repeat("d", 2<<20)+`"}`, 413, nil),
		patch("deep", "city/admin", strings.Repeat(`{"access":[`, 40), 400, nil),
	})
	if after := intelState(t, w, col); after != before {
		t.Fatalf("refused changes changed the collection:\n%s\n%s", before, after)
	}
	missing := "0b8f6d2e-6c1a-4c2e-9d55-1f2a3b4c5d6e"
	for _, as := range []string{"hospital/admin", "power/admin"} {
		for _, body := range []string{`{"title":"Mine"}`, `{"access":[{"org":"hospital","can_read":true}]}`, `{`, `{"x":1}`} {
			r := w.do(as, "PATCH", path, js, body)
			if r.status != 404 {
				t.Errorf("%s PATCH %s: %s", as, body, r)
			}
			sameAsMissing(t, r, col, w.do(as, "PATCH", "/api/v1/intel/collections/"+missing, js, body), missing)
		}
	}
	if after := intelState(t, w, col); after != before {
		t.Fatalf("outsiders changed the collection")
	}
	w.run(t, []apiCase{
		patch("retitle and alias", "city/admin", `{"title":"Indicators <i>2</i>","alias":"metro-ioc","description":"IOCs"}`, 200, func(t *testing.T, r response) {
			v := decodeBody[sharing.CollectionView](t, r)
			if v.Title != "Indicators <i>2</i>" || v.Alias != "metro-ioc" || v.Description != "IOCs" || len(v.Access) != 3 || v.Community != "metro" {
				t.Errorf("patched %+v", v)
			}
		}),
		patch("same community is fine", "city/admin", `{"community":"metro"}`, 200, nil),
		{name: "by alias", as: "port/viewer", method: "GET", path: "/api/v1/intel/collections/metro-ioc", status: 200},
		patch("port may write, water only read", "city/admin", `{"access":[{"org":"city","can_read":true,"can_write":true},{"org":"water","can_read":true},{"org":"port","can_read":true,"can_write":true}]}`, 200, nil),
		{name: "water may no longer publish", as: "water/analyst", method: "POST", path: path + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "green", ""), status: 403},
		{name: "port may", as: "port/analyst", method: "POST", path: path + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "green", ""), status: 201},
		patch("close to water", "city/admin", `{"access":[{"org":"city","can_read":true,"can_write":true},{"org":"port","can_read":true}]}`, 200, nil),
		{name: "water no longer sees it", as: "water/viewer", method: "GET", path: path, status: 404},
		patch("close to everyone", "city/admin", `{"access":[]}`, 204, nil),
		{name: "city no longer sees it", as: "city/admin", method: "GET", path: path, status: 404},
	})
}

// TestIntelVersionsAndDelete: versions list only what the caller may see,
// paged; only the publishing organization's writers delete, by version or
// whole; everyone else is refused without anything stored being lost.
func TestIntelVersionsAndDelete(t *testing.T) {
	w, col := intelWorld(t)
	const js = "application/json"
	colPath := "/api/v1/intel/collections/" + col
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	id := stix.NewID("indicator")
	for i := range 3 {
		if r := w.do("water/analyst", "POST", colPath+"/objects", js, publishBody(stixVersion(id, t0.Add(time.Duration(i)*time.Minute)), "green", "")); r.status != 201 {
			t.Fatalf("publish version %d: %s", i, r)
		}
	}
	strictID := stix.NewID("indicator")
	if r := w.do("water/analyst", "POST", colPath+"/objects", js, publishBody(stixVersion(strictID, t0), "amber+strict", "")); r.status != 201 {
		t.Fatalf("publish strict: %s", r)
	}
	versions := func(as, obj string) []time.Time {
		var out []time.Time
		next := ""
		for range 10 {
			p := colPath + "/objects/" + obj + "/versions?limit=2"
			if next != "" {
				p += "&next=" + url.QueryEscape(next)
			}
			r := w.do(as, "GET", p, "", "")
			if r.status != 200 {
				t.Fatalf("%s versions of %s: %s", as, obj, r)
			}
			vp := decodeBody[versionPage](t, r)
			if vp.ID != obj {
				t.Errorf("versions page of %s says %s", obj, vp.ID)
			}
			for _, it := range vp.Items {
				if it.Marking == "" || it.Publisher != "water" || it.SpecVersion != "2.1" {
					t.Errorf("version %+v", it)
				}
				out = append(out, it.Version)
			}
			if !vp.More {
				return out
			}
			next = vp.Next
		}
		t.Fatalf("versions of %s do not end", obj)
		return nil
	}
	for _, as := range []string{"city/viewer", "port/viewer", "water/viewer"} {
		if got := versions(as, id); len(got) != 3 || !got[0].Equal(t0) || !got[2].Equal(t0.Add(2*time.Minute)) {
			t.Errorf("%s sees versions %v", as, got)
		}
	}
	if got := versions("water/viewer", strictID); len(got) != 1 {
		t.Errorf("water sees %v of its strict object", got)
	}
	missing := stix.NewID("indicator")
	// Hidden objects, hidden collections: exactly like missing ones.
	for _, c := range []struct{ as, col, obj string }{
		{"port/analyst", col, strictID}, {"city/analyst", col, strictID},
		{"hospital/admin", col, id}, {"power/analyst", col, strictID},
	} {
		for _, rq := range []struct{ method, suffix string }{{"GET", "/versions"}, {"GET", "/versions?limit=1"}, {"DELETE", ""}, {"DELETE", "?match[version]=first"}} {
			r := w.do(c.as, rq.method, "/api/v1/intel/collections/"+c.col+"/objects/"+c.obj+rq.suffix, "", "")
			if r.status != 404 {
				t.Errorf("%s %s hidden %s: %s", c.as, rq.method, c.obj, r)
			}
			sameAsMissing(t, r, c.obj, w.do(c.as, rq.method, "/api/v1/intel/collections/"+c.col+"/objects/"+missing+rq.suffix, "", ""), missing)
		}
	}
	before := intelState(t, w, col)
	del := func(name, as, suffix string, status int, check func(*testing.T, response)) apiCase {
		return apiCase{name: name, as: as, method: "DELETE", path: colPath + "/objects/" + id + suffix, status: status, check: check}
	}
	w.run(t, []apiCase{
		del("reader org", "port/analyst", "", 403, wantMsg("may not delete")),
		del("writer org, not the publisher", "city/admin", "", 403, wantMsg("only the organization that published")),
		del("viewer", "water/viewer", "", 403, nil),
		del("bad version", "water/analyst", "?match[version]=newest", 400, wantMsg("match[version]")),
		del("all and first", "water/analyst", "?match[version]=all,first", 400, wantMsg("cannot be combined")),
		del("repeated", "water/analyst", "?match[version]=first&match[version]=last", 400, nil),
		del("unknown parameter", "water/analyst", "?version=first", 400, wantMsg("unknown query parameter")),
		del("long", "water/analyst", "?match[version]="+strings.Repeat("9", 5000), 400, nil),
		{name: "versions: bad limit", as: "water/viewer", method: "GET", path: colPath + "/objects/" + id + "/versions?limit=0", status: 400},
		{name: "versions: forged cursor", as: "water/viewer", method: "GET", path: colPath + "/objects/" + id + "/versions?next=abc", status: 400},
		{name: "versions: unknown parameter", as: "water/viewer", method: "GET", path: colPath + "/objects/" + id + "/versions?type=indicator", status: 400},
	})
	// An objects-listing cursor is refused by the versions endpoint.
	r := w.do("water/viewer", "GET", colPath+"/objects?limit=1", "", "")
	if p := decodeBody[objectPage](t, r); p.Next != "" {
		if r := w.do("water/viewer", "GET", colPath+"/objects/"+id+"/versions?next="+url.QueryEscape(p.Next), "", ""); r.status != 400 {
			t.Errorf("objects cursor on versions: %s", r)
		}
	}
	if after := intelState(t, w, col); after != before {
		t.Fatalf("refused deletes changed the collection:\n%s\n%s", before, after)
	}
	w.run(t, []apiCase{
		del("first version", "water/analyst", "?match[version]=first", 204, nil),
		{name: "two left", as: "port/viewer", method: "GET", path: colPath + "/objects/" + id + "/versions", status: 200, check: func(t *testing.T, r response) {
			if p := decodeBody[versionPage](t, r); len(p.Items) != 2 || !p.Items[0].Version.Equal(t0.Add(time.Minute)) {
				t.Errorf("versions %+v", p.Items)
			}
		}},
		del("one by timestamp", "water/analyst", "?match[version]="+stix.FormatTimestamp(t0.Add(2*time.Minute)), 204, nil),
		{name: "latest is now the middle one", as: "city/viewer", method: "GET", path: colPath + "/objects/" + id, status: 200, check: func(t *testing.T, r response) {
			if o := decodeBody[intelObjectDTO](t, r); !o.Version.Equal(t0.Add(time.Minute)) {
				t.Errorf("latest %v", o.Version)
			}
		}},
		del("the rest", "water/admin", "", 204, nil),
		{name: "gone", as: "water/viewer", method: "GET", path: colPath + "/objects/" + id + "/versions", status: 404},
		del("again", "water/analyst", "", 404, nil),
		{name: "the strict object stays", as: "water/viewer", method: "GET", path: colPath + "/objects/" + strictID, status: 200},
	})
}

// TestIntelManageHostileBodies sends the hostile bodies and queries to the
// new routes on a real community, collection and object, as users allowed
// to change them: never a 5xx, never internals, nothing stored changes.
func TestIntelManageHostileBodies(t *testing.T) {
	w, col := intelWorld(t)
	id := stix.NewID("indicator")
	if r := w.do("water/analyst", "POST", "/api/v1/intel/collections/"+col+"/objects", "application/json", publishBody(stixVersion(id, time.Now().Add(-time.Hour)), "green", "")); r.status != 201 {
		t.Fatalf("publish: %s", r)
	}
	before := intelState(t, w, col)
	n := 0
	for i, body := range hostileBodies {
		for _, rq := range []struct{ as, method, path string }{
			{"city/admin", "PATCH", "/api/v1/intel/communities/metro"},
			{"city/admin", "PATCH", "/api/v1/intel/collections/" + col},
			{"water/analyst", "DELETE", "/api/v1/intel/collections/" + col + "/objects/" + id + "?" + hostileQueries[i%len(hostileQueries)]},
			{"water/analyst", "GET", "/api/v1/intel/collections/" + col + "/objects/" + id + "/versions?" + hostileQueries[i%len(hostileQueries)]},
		} {
			if rq.method == "PATCH" && body == `{"name":"x"}` {
				continue // a valid rename
			}
			r := w.do(rq.as, rq.method, rq.path, "application/json", body)
			n++
			if rq.method == "GET" && r.status == 200 {
				continue // a GET ignores its body; harmless queries pass
			}
			if r.status < 400 || r.status >= 500 {
				t.Errorf("%s %s %q: %s", rq.method, rq.path, bulwark.Abbrev(body, 40), r)
			}
			checkNoInternals(t, r)
		}
	}
	for _, q := range []string{"match[version]=%00", "match[version]=%27", "match[version]=" + strings.Repeat("%25", 300), "match[version]=,", "match[version]=first,first", "match%5Bversion%5D=x"} {
		r := w.do("water/analyst", "DELETE", "/api/v1/intel/collections/"+col+"/objects/"+id+"?"+q, "", "")
		n++
		if r.status != http.StatusBadRequest {
			t.Errorf("DELETE ?%s: %s", q, r)
		}
		checkNoInternals(t, r)
	}
	if after := intelState(t, w, col); after != before {
		t.Errorf("hostile requests changed intel:\n%s\n%s", before, after)
	}
	t.Logf("%d hostile requests", n)
}
