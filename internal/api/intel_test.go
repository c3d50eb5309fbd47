package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// stixIndicator is one STIX 2.1 indicator with a fresh id; extra is added
// to its members (`,"x":1`).
func stixIndicator(extra string) (id, body string) {
	id = stix.NewID("indicator")
	ts := stix.FormatTimestamp(time.Now().Add(-time.Hour))
	return id, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"C2 server",`+
		`"pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":%q%s}`, id, ts, ts, ts, extra)
}

func publishBody(object, marking string, extra string) string {
	return fmt.Sprintf(`{"object":%s,"marking":%q%s}`, object, marking, extra)
}

// intelWorld is the API world with a community "metro" (city owns; water
// and port are members; hospital is not) and one collection in which city
// and water write and port only reads. It returns the collection's id.
func intelWorld(t *testing.T) (*world, string) {
	t.Helper()
	w := newWorld(t, auth.Options{LoginLimit: 1 << 20})
	r := w.do("city/admin", "POST", "/api/v1/intel/communities", "application/json",
		`{"id":"metro","name":"Metro utilities","members":[{"org":"water"},{"org":"port"}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create community: %s", r)
	}
	c := decodeBody[bulwark.Community](t, r)
	if c.ID != "metro" || !c.IsOwner("city") || !c.IsMember("water") || c.IsOwner("water") || r.header.Get("Location") != "/api/v1/intel/communities/metro" {
		t.Fatalf("created community %+v (Location %q)", c, r.header.Get("Location"))
	}
	r = w.do("city/admin", "POST", "/api/v1/intel/collections", "application/json",
		`{"community":"metro","title":"Indicators","access":[{"org":"city","can_read":true,"can_write":true},{"org":"water","can_read":true,"can_write":true},{"org":"port","can_read":true}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create collection: %s", r)
	}
	col := decodeBody[sharing.CollectionView](t, r)
	if col.ID == "" || !col.CanRead || !col.CanWrite || len(col.Access) != 3 {
		t.Fatalf("created collection %+v", col)
	}
	return w, col.ID
}

type objectPage struct {
	Items []intelObjectDTO `json:"items"`
	More  bool             `json:"more"`
	Next  string           `json:"next"`
}

func pageIDs(p objectPage) []string {
	var ids []string
	for _, it := range p.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

func TestIntelSharingAPI(t *testing.T) {
	w, col := intelWorld(t)
	colPath := "/api/v1/intel/collections/" + col
	greenID, green := stixIndicator("")
	strictID, strict := stixIndicator("")
	amberID, amber := stixIndicator("")
	const js = "application/json"

	w.run(t, []apiCase{
		{name: "publish green", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(green, "TLP:GREEN", ""), status: 201,
			check: func(t *testing.T, r response) {
				p := decodeBody[publishedDTO](t, r)
				if p.ID != greenID || p.Marking != "green" || p.Publisher != "water" || p.Collection != col ||
					r.header.Get("Location") != colPath+"/objects/"+greenID {
					t.Errorf("published %+v (Location %q)", p, r.header.Get("Location"))
				}
			}},
		{name: "publish amber+strict defaults to own org", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(strict, "amber+strict", ""), status: 201,
			check: func(t *testing.T, r response) {
				if p := decodeBody[publishedDTO](t, r); p.Marking != "amber+strict" || len(p.Orgs) != 1 || p.Orgs[0] != "water" {
					t.Errorf("published %+v", p)
				}
			}},
		{name: "publish amber to port", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(amber, "amber", `,"orgs":["port"]`), status: 201},
		{name: "same version again", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(green, "green", ""), status: 409},
		{name: "amber without recipients", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "amber", ""), status: 400},
		{name: "recipient outside the collection", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "amber", `,"orgs":["hospital"]`), status: 400},
		{name: "marking missing", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: `{"object":` + must(stixIndicator("")) + `}`, status: 400,
			check: wantMsg("marking is required")},
		{name: "marking empty", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), " ", ""), status: 400},
		{name: "marking wrong", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "white-ish", ""), status: 400,
			check: wantMsg("white-ish")},
		{name: "marking not a string", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: `{"object":` + must(stixIndicator("")) + `,"marking":3}`, status: 400},
		{name: "duplicate marking key", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "red", `,"marking":"clear"`), status: 400,
			check: wantMsg("duplicate key")},
		{name: "case-variant marking key", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "red", `,"Marking":"clear"`), status: 400},
		{name: "duplicate key in the object", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator(`,"name":"again"`)), "green", ""), status: 400},
		{name: "case-variant key in the object", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator(`,"Name":"again"`)), "green", ""), status: 422, check: wantDetail(`differs only in case`)},
		{name: "object missing", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: `{"marking":"green"}`, status: 400},
		{name: "object not STIX", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(`{"type":"nonsense"}`, "green", ""), status: 422, check: wantDetail(`missing`)},
		{name: "oversized body", as: "water/analyst", method: "POST", path: colPath + "/objects", ctype: js,
			body: publishBody(must(stixIndicator(`,"description":"`+strings.Repeat("x", 2<<20)+`"`)), "green", ""), status: 413},
		{name: "port only reads", as: "port/analyst", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "green", ""), status: 403},
		{name: "viewer may not publish", as: "water/viewer", method: "POST", path: colPath + "/objects", ctype: js, body: publishBody(must(stixIndicator("")), "green", ""), status: 403},
		{name: "hospital may not create a community", as: "hospital/admin", method: "POST", path: "/api/v1/intel/communities", ctype: js, body: `{"id":"h","name":"H"}`, status: 403},
		{name: "water may not add a collection", as: "water/admin", method: "POST", path: "/api/v1/intel/collections", ctype: js, body: `{"community":"metro","title":"W"}`, status: 403},
		{name: "community unknown field", as: "city/admin", method: "POST", path: "/api/v1/intel/communities", ctype: js, body: `{"id":"x","name":"X","owner":"hospital"}`, status: 400},
		{name: "community duplicate id", as: "city/admin", method: "POST", path: "/api/v1/intel/communities", ctype: js, body: `{"id":"metro","name":"Again"}`, status: 409},
		{name: "list takes no query", as: "city/viewer", method: "GET", path: "/api/v1/intel/collections?org=hospital", status: 400},
		{name: "water sees its community", as: "water/viewer", method: "GET", path: "/api/v1/intel/communities/metro", status: 200, check: func(t *testing.T, r response) {
			if c := decodeBody[bulwark.Community](t, r); len(c.Members) != 3 {
				t.Errorf("members %+v", c.Members)
			}
		}},
		{name: "water viewer lists collections", as: "water/viewer", method: "GET", path: "/api/v1/intel/collections", status: 200, check: func(t *testing.T, r response) {
			items := decodeBody[struct{ Items []sharing.CollectionView }](t, r).Items
			if len(items) != 1 || items[0].ID != col || !items[0].CanRead || items[0].CanWrite || items[0].Access != nil {
				t.Errorf("items %+v", items)
			}
		}},
		{name: "hospital lists no collection", as: "hospital/admin", method: "GET", path: "/api/v1/intel/collections", status: 200, check: wantBody(`{"items":[]}`)},
		{name: "hospital lists no community", as: "hospital/admin", method: "GET", path: "/api/v1/intel/communities", status: 200, check: wantBody(`{"items":[]}`)},
	})

	// Each organization sees exactly what its marking allows, in listings,
	// reads and exports alike.
	want := map[string][]string{
		"water/viewer": {greenID, strictID, amberID},
		"port/viewer":  {greenID, amberID},
		"city/viewer":  {greenID},
	}
	for as, ids := range want {
		r := w.do(as, "GET", colPath+"/objects", "", "")
		if r.status != 200 {
			t.Fatalf("%s lists: %s", as, r)
		}
		p := decodeBody[objectPage](t, r)
		if got := pageIDs(p); !sameSet(got, ids) || p.More {
			t.Errorf("%s lists %v, want %v", as, got, ids)
		}
		for _, it := range p.Items {
			var o map[string]any
			if err := json.Unmarshal(it.Object, &o); err != nil || o["id"] != it.ID {
				t.Errorf("%s: object body of %s: %v %v", as, it.ID, err, o["id"])
			}
		}
		exp := w.do(as, "GET", colPath+"/export", "", "")
		if exp.status != 200 || !strings.HasPrefix(exp.header.Get("Content-Type"), "application/stix+json") {
			t.Fatalf("%s exports: %s", as, exp)
		}
		b, err := stix.DecodeBundle(strings.NewReader(string(exp.body)), stix.Limits{})
		if err != nil {
			t.Fatalf("%s: export is not a bundle: %v", as, err)
		}
		var exported []string
		for _, o := range b.Objects {
			if o.Type() == "indicator" {
				exported = append(exported, o.ID())
			}
		}
		if !sameSet(exported, ids) {
			t.Errorf("%s exports %v, want %v", as, exported, ids)
		}
		for _, id := range []string{greenID, strictID, amberID} {
			r := w.do(as, "GET", colPath+"/objects/"+id, "", "")
			visible := contains(ids, id)
			if visible && (r.status != 200 || decodeBody[intelObjectDTO](t, r).ID != id) {
				t.Errorf("%s reads %s: %s", as, id, r)
			}
			if !visible {
				missing := stix.NewID("indicator")
				sameAsMissing(t, r, id, w.do(as, "GET", colPath+"/objects/"+missing, "", ""), missing)
				if r.status != 404 {
					t.Errorf("%s reads hidden %s: %s", as, id, r)
				}
			}
		}
	}

	// Filters and paging.
	w.run(t, []apiCase{
		{name: "type filter none", as: "water/viewer", method: "GET", path: colPath + "/objects?type=malware", status: 200, check: func(t *testing.T, r response) {
			if p := decodeBody[objectPage](t, r); len(p.Items) != 0 {
				t.Errorf("malware: %v", pageIDs(p))
			}
		}},
		{name: "type filter some", as: "water/viewer", method: "GET", path: colPath + "/objects?type=malware,indicator", status: 200, check: func(t *testing.T, r response) {
			if p := decodeBody[objectPage](t, r); len(p.Items) != 3 {
				t.Errorf("indicators: %v", pageIDs(p))
			}
		}},
		{name: "empty type", as: "water/viewer", method: "GET", path: colPath + "/objects?type=indicator,,", status: 400},
		{name: "bad limit", as: "water/viewer", method: "GET", path: colPath + "/objects?limit=0", status: 400},
		{name: "forged cursor", as: "water/viewer", method: "GET", path: colPath + "/objects?next=abc", status: 400},
		{name: "unknown parameter", as: "water/viewer", method: "GET", path: colPath + "/objects?owner=city", status: 400},
		{name: "bad versions", as: "water/viewer", method: "GET", path: colPath + "/export?versions=some", status: 400},
	})
	var seen []string
	next := ""
	for range 5 {
		path := colPath + "/objects?limit=2"
		if next != "" {
			path += "&next=" + next
		}
		r := w.do("water/viewer", "GET", path, "", "")
		if r.status != 200 {
			t.Fatalf("page: %s", r)
		}
		p := decodeBody[objectPage](t, r)
		seen = append(seen, pageIDs(p)...)
		if !p.More {
			break
		}
		next = p.Next
	}
	if !sameSet(seen, want["water/viewer"]) || len(seen) != 3 {
		t.Errorf("paged through %v", seen)
	}

	// Import: a strict bundle; marking raises every object to at least it.
	id1, o1 := stixIndicator("")
	id2, o2 := stixIndicator("")
	bundle := `{"type":"bundle","id":"` + stix.NewBundleID() + `","objects":[` + o1 + `,` + o2 + `]}`
	w.run(t, []apiCase{
		{name: "import", as: "city/analyst", method: "POST", path: colPath + "/import?marking=green&name=isac", ctype: "application/stix+json;version=2.1", body: bundle, status: 200,
			check: func(t *testing.T, r response) {
				if st := decodeBody[bulwark.IntelStatus](t, r); st.Total != 2 || len(st.Successes) != 2 || len(st.Failures) != 0 {
					t.Errorf("status %+v", st)
				}
			}},
		{name: "imported objects are visible", as: "port/viewer", method: "GET", path: colPath + "/objects/" + id2, status: 200},
		{name: "imported green reaches the city", as: "city/viewer", method: "GET", path: colPath + "/objects/" + id1, status: 200, check: func(t *testing.T, r response) {
			if o := decodeBody[intelObjectDTO](t, r); o.Marking != "green" || o.Publisher != "city" {
				t.Errorf("imported %+v", o)
			}
		}},
		{name: "import wrong marking", as: "city/analyst", method: "POST", path: colPath + "/import?marking=purple", ctype: js, body: bundle, status: 400},
		{name: "import duplicate bundle key", as: "city/analyst", method: "POST", path: colPath + "/import", ctype: js,
			body: `{"type":"bundle","type":"bundle","id":"` + stix.NewBundleID() + `","objects":[]}`, status: 422, check: wantDetail(`duplicate member`)},
		{name: "import case-variant bundle key", as: "city/analyst", method: "POST", path: colPath + "/import", ctype: js,
			body: `{"type":"bundle","Type":"bundle","id":"` + stix.NewBundleID() + `","objects":[]}`, status: 422, check: wantDetail(`differs only in case`)},
		{name: "import not a bundle", as: "city/analyst", method: "POST", path: colPath + "/import", ctype: js, body: o1, status: 422, check: wantDetail(`want "bundle"`)},
		{name: "import truncated", as: "city/analyst", method: "POST", path: colPath + "/import", ctype: js, body: bundle[:len(bundle)/2], status: 422, check: wantDetail(`truncated`)},
		{name: "import YAML", as: "city/analyst", method: "POST", path: colPath + "/import", ctype: "application/yaml", body: "type: bundle", status: 415},
		{name: "import oversized", as: "city/analyst", method: "POST", path: colPath + "/import", ctype: js,
			body: `{"type":"bundle","id":"` + stix.NewBundleID() + `","objects":[` + strings.TrimSuffix(o1, "}") + `,"description":"` + strings.Repeat("x", MaxIntelImportBytes) + `"}]}`, status: 413},
		{name: "port may not import", as: "port/analyst", method: "POST", path: colPath + "/import", ctype: js, body: bundle, status: 403},
	})
}

// TestAC01_IntelSharingHidden: organizations outside the community, and
// every route on a collection they may not see, answer exactly like a
// missing collection; nothing they send changes anything.
func TestAC01_IntelSharingHidden(t *testing.T) {
	w, col := intelWorld(t)
	_, green := stixIndicator("")
	if r := w.do("water/analyst", "POST", "/api/v1/intel/collections/"+col+"/objects", "application/json", publishBody(green, "green", "")); r.status != 201 {
		t.Fatalf("publish: %s", r)
	}
	count := func() int {
		n, err := w.api.sh.Count(systemCtx(), col, sharing.Query{Versions: sharing.VersionFilter{All: true}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	missing := strings.TrimPrefix(stix.NewID("x"), "x--")
	_, obj := stixIndicator("")
	bundle := `{"type":"bundle","id":"` + stix.NewBundleID() + `","objects":[` + obj + `]}`
	checks := 0
	for _, as := range []string{"hospital/admin", "hospital/analyst", "hospital/viewer", "power/admin", "univ/analyst"} {
		for _, rq := range []struct{ method, suffix, ctype, body string }{
			{"GET", "", "", ""},
			{"GET", "/objects", "", ""},
			{"GET", "/objects?type=indicator&limit=5", "", ""},
			{"GET", "/objects/" + stix.NewID("indicator"), "", ""},
			{"GET", "/export", "", ""},
			{"POST", "/objects", "application/json", publishBody(obj, "green", "")},
			{"POST", "/import", "application/json", bundle},
		} {
			r := w.do(as, rq.method, "/api/v1/intel/collections/"+col+rq.suffix, rq.ctype, rq.body)
			m := w.do(as, rq.method, "/api/v1/intel/collections/"+missing+rq.suffix, rq.ctype, rq.body)
			checks++
			checkNoInternals(t, r)
			if strings.HasSuffix(as, "/viewer") && rq.method == "POST" {
				if r.status != http.StatusForbidden {
					t.Errorf("%s %s %s = %s, want 403 (role)", as, rq.method, rq.suffix, r)
				}
				continue
			}
			if r.status != http.StatusNotFound {
				t.Errorf("%s %s %s = %s, want 404", as, rq.method, rq.suffix, r)
			}
			sameAsMissing(t, r, col, m, missing)
		}
		r := w.do(as, "GET", "/api/v1/intel/communities/metro", "", "")
		sameAsMissing(t, r, "metro", w.do(as, "GET", "/api/v1/intel/communities/zzmissing", "", ""), "zzmissing")
		for _, list := range []string{"/api/v1/intel/communities", "/api/v1/intel/collections"} {
			if r := w.do(as, "GET", list, "", ""); r.status != 200 || string(r.body) != "{\"items\":[]}\n" {
				t.Errorf("%s %s: %s", as, list, r)
			}
		}
	}
	if after := count(); after != before {
		t.Errorf("outsiders changed the collection: %d versions, was %d", after, before)
	}
	t.Logf("%d hidden-collection checks", checks)
}

// TestIntelHostileObjectIDs sends hostile object ids: never a 5xx, never
// internals.
func TestIntelHostileObjectIDs(t *testing.T) {
	w, col := intelWorld(t)
	for _, id := range hostileIDs {
		r := w.do("water/viewer", "GET", "/api/v1/intel/collections/"+col+"/objects/"+id, "", "")
		if r.status != http.StatusNotFound && r.status != http.StatusBadRequest {
			t.Errorf("object %q: %s", id, r)
		}
		checkNoInternals(t, r)
	}
}

func must(_, body string) string { return body }

func wantMsg(sub string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		if m := decodeBody[errorBody](t, r).Error.Message; !strings.Contains(m, sub) {
			t.Errorf("message %q does not say %q", m, sub)
		}
	}
}

// wantDetail checks that an error's details say sub (what and where).
func wantDetail(sub string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		for _, d := range decodeBody[errorBody](t, r).Error.Details {
			if strings.Contains(d.Message, sub) && d.Field != "" {
				return
			}
		}
		t.Errorf("no detail says %q: %s", sub, r)
	}
}

func wantBody(s string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		if got := strings.TrimSpace(string(r.body)); got != s {
			t.Errorf("body %s, want %s", got, s)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}
