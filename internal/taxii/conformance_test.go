package taxii_test

// One test per normative requirement (MUST / MUST NOT) of TAXII 2.1 (OASIS
// Standard, 10 June 2021) that applies to a server, named after its
// section. Requirements on clients are not tested here; SHOULDs that
// Bulwark follows are tested where noted. Reliability row TX-01.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/stix"
	"bulwark/internal/taxii"
)

var taxiiTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// endpoints lists one GET of every endpoint (ids filled in by the test).
func (e *env) endpoints(objID, statusID string) []string {
	return []string{"/taxii2/", e.root, e.root + "collections/", e.col(e.main), e.col(e.main) + "manifest/", e.col(e.main) + "objects/",
		e.col(e.main) + "objects/" + objID + "/", e.col(e.main) + "objects/" + objID + "/versions/", e.root + "status/" + statusID + "/"}
}

// seed posts one object as water and returns its id and the status id.
func (e *env) seed(t *testing.T) (string, string) {
	t.Helper()
	id := newID("indicator")
	st := e.post(t, e.water, e.main, indicator(id, time.Now().UTC().Add(-time.Hour), stix.TLPGreenID))
	return id, st["id"].(string)
}

// §1.6.9, §5.1–§5.8: without acceptable credentials every endpoint answers
// 401 with a WWW-Authenticate challenge.
func TestSpec_1_6_9_UnauthenticatedIs401WithChallenge(t *testing.T) {
	e := newEnv(t)
	obj, status := e.seed(t)
	// Failed credentials are rate limited per address (20 per 15 minutes),
	// so each endpoint gets no credentials and one kind of bad ones.
	bad := []string{"Bearer bwk_invalid", "Basic " + "bm9ib2R5Om5vcGU=", "Token abc", e.water.Token, basic(e.water) + "x"}
	for i, p := range e.endpoints(obj, status) {
		for _, a := range []string{"-", bad[i%len(bad)]} {
			r := e.do(t, req{path: p, auth: a})
			wantStatus(t, p+" with "+a, r, http.StatusUnauthorized)
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", p)
			}
		}
	}
	// Browser session cookies do not authenticate TAXII.
	r := e.do(t, req{path: "/taxii2/", auth: "-"})
	wantStatus(t, "no credentials", r, http.StatusUnauthorized)
}

// §8.2.2: HTTP Basic is implemented (SHOULD), alongside Bearer tokens.
func TestSpec_8_2_2_BasicAuthentication(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{path: e.root + "collections/", auth: basic(e.water)})
	wantStatus(t, "basic", r, http.StatusOK)
	r = e.do(t, req{path: e.root + "collections/", auth: basic(e.water) + "x"})
	wantStatus(t, "basic with a wrong password", r, http.StatusUnauthorized)
}

// §2 (timestamp): TAXII timestamps are RFC 3339 in UTC with "Z" and
// microsecond precision — date_added, the X-TAXII headers and
// request_timestamp.
func TestSpec_2_TimestampsHaveMicrosecondsAndZ(t *testing.T) {
	e := newEnv(t)
	_, status := e.seed(t)
	r := e.do(t, req{path: e.col(e.main) + "manifest/", user: e.port})
	var m struct {
		Objects []struct {
			DateAdded string `json:"date_added"`
		} `json:"objects"`
	}
	json.Unmarshal(r.body, &m)
	if len(m.Objects) != 1 || !taxiiTime.MatchString(m.Objects[0].DateAdded) {
		t.Errorf("date_added %+v", m)
	}
	for _, h := range []string{"X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"} {
		if v := r.Header.Get(h); !taxiiTime.MatchString(v) {
			t.Errorf("%s = %q", h, v)
		}
	}
	s := e.do(t, req{path: e.root + "status/" + status + "/", user: e.water}).json(t)
	if v, _ := s["request_timestamp"].(string); !taxiiTime.MatchString(v) {
		t.Errorf("request_timestamp %q", v)
	}
}

// §2 (identifier): collection and status ids are RFC 4122 version 4 UUIDs.
func TestSpec_2_IdentifiersAreUUIDv4(t *testing.T) {
	e := newEnv(t)
	_, status := e.seed(t)
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	var cols struct {
		Collections []struct {
			ID string `json:"id"`
		} `json:"collections"`
	}
	json.Unmarshal(e.do(t, req{path: e.root + "collections/", user: e.water}).body, &cols)
	if len(cols.Collections) != 2 {
		t.Fatalf("collections %+v", cols)
	}
	for _, c := range cols.Collections {
		if !v4.MatchString(c.ID) {
			t.Errorf("collection id %q", c.ID)
		}
	}
	if !v4.MatchString(status) {
		t.Errorf("status id %q", status)
	}
}

// §2 (list): empty lists are never sent; absent optional lists are
// omitted (collections, objects, versions, status details).
func TestSpec_2_NoEmptyLists(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path string
		user string
	}{
		{e.root + "collections/", "hospital"},
		{e.col(e.main) + "objects/", "port"},
		{e.col(e.main) + "manifest/", "port"},
	} {
		u := e.port
		if tc.user == "hospital" {
			u = e.hosp
		}
		r := e.do(t, req{path: tc.path, user: u})
		wantStatus(t, tc.path, r, http.StatusOK)
		if strings.Contains(string(r.body), "[]") || strings.TrimSpace(string(r.body)) != "{}" {
			t.Errorf("%s: %s, want {}", tc.path, r.body)
		}
	}
	id, _ := e.seed(t)
	s := e.post(t, e.water, e.main, indicator(id, time.Now().UTC().Add(-time.Hour), stix.TLPGreenID))
	b, _ := json.Marshal(s)
	if strings.Contains(string(b), "[]") || strings.Contains(string(b), "null") {
		t.Errorf("status has an empty list: %s", b)
	}
}

// §3.1: a request path without the trailing slash is not an endpoint.
func TestSpec_3_1_TrailingSlashRequired(t *testing.T) {
	e := newEnv(t)
	obj, status := e.seed(t)
	for _, p := range e.endpoints(obj, status) {
		r := e.do(t, req{path: strings.TrimSuffix(p, "/"), user: e.water})
		wantStatus(t, strings.TrimSuffix(p, "/"), r, http.StatusNotFound)
	}
}

// §3.1: successful responses carry the body of the endpoint's type, and
// every response (errors too) the TAXII media type with its version.
func TestSpec_3_1_ResponseContentType(t *testing.T) {
	e := newEnv(t)
	obj, status := e.seed(t)
	paths := append(e.endpoints(obj, status), e.root+"nope/", e.col("00000000-0000-4000-8000-000000000000"))
	for _, p := range paths {
		r := e.do(t, req{path: p, user: e.water})
		if ct := r.Header.Get("Content-Type"); ct != taxii.MediaType {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		if len(r.body) == 0 {
			t.Errorf("%s: no body", p)
		}
	}
	r := e.do(t, req{path: "/taxii2/", auth: "-"})
	if ct := r.Header.Get("Content-Type"); ct != taxii.MediaType {
		t.Errorf("401: Content-Type %q", ct)
	}
}

// §3.1: both defined media ranges in Accept succeed (never 406); a request
// without a TAXII media range is refused with 406.
func TestSpec_3_1_AcceptNegotiation(t *testing.T) {
	e := newEnv(t)
	obj, status := e.seed(t)
	for _, p := range e.endpoints(obj, status) {
		for _, a := range []string{"application/taxii+json;version=2.1", "application/taxii+json", "application/taxii+json; version=2.1",
			"text/html, application/taxii+json;version=2.1;q=0.9"} {
			wantStatus(t, p+" Accept "+a, e.do(t, req{path: p, user: e.water, accept: a}), http.StatusOK)
		}
		for _, a := range []string{"-", "", "application/foo", "application/json", "*/*", "application/taxii+json;version=2.0",
			"application/taxii+json;version=2.1;q=0", "application/stix+json;version=2.1"} {
			acc := a
			if a == "" {
				acc = " "
			}
			wantStatus(t, p+" Accept "+a, e.do(t, req{path: p, user: e.water, accept: acc}), http.StatusNotAcceptable)
		}
	}
}

// §3.1, §5.5: a POST with the defined Content-Type is not 415; any other
// Content-Type is.
func TestSpec_3_1_ContentTypeOnPost(t *testing.T) {
	e := newEnv(t)
	body := envelope(indicator(newID("indicator"), time.Now().UTC(), stix.TLPGreenID))
	for _, ct := range []string{taxii.MediaType, "application/taxii+json", "application/taxii+json; version=2.1; charset=utf-8"} {
		r := e.do(t, req{method: "POST", path: e.col(e.main) + "objects/", user: e.water, contentType: ct, body: body})
		wantStatus(t, "Content-Type "+ct, r, http.StatusAccepted)
	}
	for _, ct := range []string{"", "application/json", "application/stix+json;version=2.1", "application/taxii+json;version=2.0", "text/plain",
		"application/taxii+json;charset=latin1"} {
		r := e.do(t, req{method: "POST", path: e.col(e.main) + "objects/", user: e.water, contentType: ct, body: body})
		wantStatus(t, "Content-Type "+ct, r, http.StatusUnsupportedMediaType)
	}
}

// §3.2: 200 responses of manifest, objects, object and versions carry
// X-TAXII-Date-Added-First and -Last: the date_added of the first and last
// object of the response.
func TestSpec_3_2_DateAddedHeaders(t *testing.T) {
	e := newEnv(t)
	a, _ := e.seed(t)
	time.Sleep(2 * time.Millisecond)
	b, _ := e.seed(t)
	var manifest struct {
		Objects []struct {
			ID        string `json:"id"`
			DateAdded string `json:"date_added"`
		} `json:"objects"`
	}
	r := e.do(t, req{path: e.col(e.main) + "manifest/", user: e.water})
	json.Unmarshal(r.body, &manifest)
	if len(manifest.Objects) != 2 {
		t.Fatalf("manifest %s", r.body)
	}
	first, last := manifest.Objects[0].DateAdded, manifest.Objects[1].DateAdded
	for _, p := range []string{e.col(e.main) + "manifest/", e.col(e.main) + "objects/", e.col(e.main) + "objects/" + a + "/",
		e.col(e.main) + "objects/" + b + "/versions/"} {
		r := e.do(t, req{path: p, user: e.water})
		wantStatus(t, p, r, http.StatusOK)
		f, l := r.Header.Get("X-TAXII-Date-Added-First"), r.Header.Get("X-TAXII-Date-Added-Last")
		switch {
		case !taxiiTime.MatchString(f) || !taxiiTime.MatchString(l):
			t.Errorf("%s: headers %q %q", p, f, l)
		case strings.HasSuffix(p, "objects/") || strings.HasSuffix(p, "manifest/"):
			if f != first || l != last {
				t.Errorf("%s: headers %q %q, want %q %q", p, f, l, first, last)
			}
		case strings.Contains(p, a):
			if f != first || l != first {
				t.Errorf("%s: headers %q %q, want %q", p, f, l, first)
			}
		default:
			if f != last || l != last {
				t.Errorf("%s: headers %q %q, want %q", p, f, l, last)
			}
		}
	}
}

// §3.3: objects and manifest entries are sorted by date_added, oldest
// first; collections come in the same order every time.
func TestSpec_3_3_Sorting(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 5 {
		id := newID("indicator")
		// Versions (modified) in the opposite order to arrival.
		e.post(t, e.water, e.main, indicator(id, time.Now().UTC().Add(-time.Duration(i)*time.Hour), stix.TLPGreenID))
		want = append(want, id)
	}
	for _, p := range []string{"objects/", "manifest/"} {
		r := e.do(t, req{path: e.col(e.main) + p, user: e.port})
		if got := objectIDs(t, r); !slices.Equal(got, want) {
			t.Errorf("%s order %v, want %v", p, got, want)
		}
	}
	first := e.do(t, req{path: e.root + "collections/", user: e.water}).body
	for range 5 {
		if got := e.do(t, req{path: e.root + "collections/", user: e.water}).body; string(got) != string(first) {
			t.Fatalf("collections order changed: %s / %s", first, got)
		}
	}
}

// §3.4: malformed query parameters are 400.
func TestSpec_3_4_MalformedParametersAre400(t *testing.T) {
	e := newEnv(t)
	obj, _ := e.seed(t)
	objects := e.col(e.main) + "objects/"
	for _, q := range []string{
		"added_after=yesterday", "added_after=2016-11-01", "added_after=2016-11-01T03:04:05+01:00", "added_after=",
		"limit=0", "limit=-1", "limit=ten", "limit=1.5",
		"match[id]=not-an-id", "match[id]=indicator--x", "match[type]=Indicator", "match[type]=a",
		"match[spec_version]=two", "match[version]=latest", "match[version]=2016-13-01T00:00:00Z",
		"next=garbage", "unknown=1", "%zz",
	} {
		wantStatus(t, q, e.do(t, req{path: objects + "?" + q, user: e.water}), http.StatusBadRequest)
	}
	// Filters an endpoint does not define are refused there.
	wantStatus(t, "match[type] on an object", e.do(t, req{path: e.col(e.main) + "objects/" + obj + "/?match[type]=indicator", user: e.water}), http.StatusBadRequest)
	wantStatus(t, "match[version] on versions", e.do(t, req{path: e.col(e.main) + "objects/" + obj + "/versions/?match[version]=all", user: e.water}), http.StatusBadRequest)
	// Match fields the specification does not define may be ignored.
	wantStatus(t, "match[x_custom]", e.do(t, req{path: objects + "?match[x_custom]=1", user: e.water}), http.StatusOK)
}

// §3.4: added_after occurs at most once; without it the oldest objects
// come first; with it only objects added after it.
func TestSpec_3_4_AddedAfter(t *testing.T) {
	e := newEnv(t)
	a, _ := e.seed(t)
	time.Sleep(2 * time.Millisecond)
	b, _ := e.seed(t)
	objects := e.col(e.main) + "objects/"
	wantStatus(t, "added_after twice", e.do(t, req{path: objects + "?added_after=2016-01-01T00:00:00Z&added_after=2016-01-01T00:00:00Z", user: e.water}), http.StatusBadRequest)
	r := e.do(t, req{path: objects + "?limit=1", user: e.water})
	if got := objectIDs(t, r); !slices.Equal(got, []string{a}) {
		t.Errorf("first page %v, want the oldest %s", got, a)
	}
	after := r.Header.Get("X-TAXII-Date-Added-Last")
	r = e.do(t, req{path: objects + "?added_after=" + after, user: e.water})
	if got := objectIDs(t, r); !slices.Equal(got, []string{b}) {
		t.Errorf("added_after %s: %v, want %s", after, got, b)
	}
	// Any number of fractional digits (clients send milliseconds).
	wantStatus(t, "added_after with ms", e.do(t, req{path: objects + "?added_after=2016-01-01T00:00:00.000Z", user: e.water}), http.StatusOK)
}

// §3.4: limit is a positive integer; a response never holds more objects
// than asked; when everything fits all is returned; when more remains,
// more is true (§3.5) and next continues.
func TestSpec_3_4_LimitAndMore(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 7 {
		id, _ := e.seed(t)
		ids = append(ids, id)
	}
	for _, p := range []string{"objects/", "manifest/"} {
		var got []string
		next := ""
		for range 10 {
			path := e.col(e.main) + p + "?limit=3"
			if next != "" {
				path += "&next=" + next
			}
			r := e.do(t, req{path: path, user: e.water})
			wantStatus(t, path, r, http.StatusOK)
			page := objectIDs(t, r)
			if len(page) > 3 {
				t.Fatalf("%s: %d objects for limit 3", p, len(page))
			}
			got = append(got, page...)
			m := r.json(t)
			more, _ := m["more"].(bool)
			if more != (len(got) < 7) {
				t.Errorf("%s: more=%v after %d of 7", p, more, len(got))
			}
			if !more {
				break
			}
			next, _ = m["next"].(string)
			if next == "" {
				t.Fatalf("%s: more without next", p)
			}
		}
		if !slices.Equal(got, ids) {
			t.Errorf("%s paged %v, want %v", p, got, ids)
		}
		r := e.do(t, req{path: e.col(e.main) + p + "?limit=7", user: e.water})
		if got := objectIDs(t, r); len(got) != 7 || r.json(t)["more"] != nil {
			t.Errorf("%s limit 7: %d objects, more %v", p, len(got), r.json(t)["more"])
		}
	}
}

// §3.4: each match field occurs at most once; several values are ORed;
// fields are ANDed.
func TestSpec_3_4_Match(t *testing.T) {
	e := newEnv(t)
	a, _ := e.seed(t)
	b, _ := e.seed(t)
	mal := newID("malware")
	e.post(t, e.water, e.main, []byte(fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":%q,"created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"m","is_family":false,"object_marking_refs":[%q]}`, mal, stix.TLPGreenID)))
	objects := e.col(e.main) + "objects/"
	wantStatus(t, "match[type] twice", e.do(t, req{path: objects + "?match[type]=indicator&match[type]=malware", user: e.water}), http.StatusBadRequest)
	wantStatus(t, "match[id] twice", e.do(t, req{path: objects + "?match[id]=" + a + "&match[id]=" + b, user: e.water}), http.StatusBadRequest)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"match[id]=" + a + "," + b, []string{a, b}},
		{"match[type]=indicator", []string{a, b}},
		{"match[type]=indicator,malware", []string{a, b, mal}},
		{"match[type]=malware&match[id]=" + a, nil},
		{"match[type]=indicator&match[id]=" + b, []string{b}},
	} {
		if got := objectIDs(t, e.do(t, req{path: objects + "?" + tc.q, user: e.water})); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.q, got, tc.want)
		}
	}
}

// §3.4.1 (type): requests for STIX-defined types never fail for their type.
func TestSpec_3_4_1_STIXTypesNeverInvalid(t *testing.T) {
	e := newEnv(t)
	for _, typ := range []string{"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator", "infrastructure",
		"intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data", "opinion", "report", "threat-actor", "tool",
		"vulnerability", "relationship", "sighting", "marking-definition", "language-content", "extension-definition", "artifact",
		"autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
		"network-traffic", "process", "software", "url", "user-account", "windows-registry-key", "x509-certificate"} {
		wantStatus(t, typ, e.do(t, req{path: e.col(e.main) + "objects/?match[type]=" + typ, user: e.water}), http.StatusOK)
	}
}

// §3.4.1 (version): without match[version] only the latest version of each
// object; first, all, exact values; the same value twice and "all" with
// anything else are refused.
func TestSpec_3_4_1_Version(t *testing.T) {
	e := newEnv(t)
	id := newID("indicator")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var vs []string
	for i := range 3 {
		m := t0.Add(time.Duration(i) * time.Hour)
		e.post(t, e.water, e.main, indicator(id, m, stix.TLPGreenID))
		vs = append(vs, stix.FormatTimestamp(m))
	}
	versions := func(q string) []string {
		t.Helper()
		r := e.do(t, req{path: e.col(e.main) + "manifest/" + q, user: e.water})
		wantStatus(t, q, r, http.StatusOK)
		var m struct {
			Objects []struct{ Version string } `json:"objects"`
		}
		json.Unmarshal(r.body, &m)
		var out []string
		for _, o := range m.Objects {
			out = append(out, o.Version)
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"", vs[2:]},
		{"?match[version]=last", vs[2:]},
		{"?match[version]=first", vs[:1]},
		{"?match[version]=all", vs},
		{"?match[version]=first,last", []string{vs[0], vs[2]}},
		{"?match[version]=" + vs[1], vs[1:2]},
		{"?match[version]=" + vs[1] + ",last", vs[1:]},
		{"?match[version]=2024-01-01T01:00:00Z", vs[1:2]}, // the same instant written otherwise
		{"?match[version]=2030-01-01T00:00:00.000Z", nil},
	} {
		if got := versions(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.q, got, tc.want)
		}
	}
	for _, q := range []string{"last,last", "all,first", "all,all", vs[0] + "," + vs[0]} {
		wantStatus(t, q, e.do(t, req{path: e.col(e.main) + "objects/?match[version]=" + q, user: e.water}), http.StatusBadRequest)
	}
}

// §3.4.1 (version), §5.8: an object without modified is versioned by its
// created timestamp.
func TestSpec_3_4_1_VersionFromCreated(t *testing.T) {
	e := newEnv(t)
	id := "marking-definition--" + "8b36d0a4-8a4e-4b4e-9b1f-6a2f5b2e1c3d"
	e.post(t, e.water, e.main, []byte(fmt.Sprintf(`{"type":"marking-definition","spec_version":"2.1","id":%q,"created":"2021-03-04T05:06:07.123Z","name":"Copyright","definition_type":"statement","definition":{"statement":"Copyright 2021 Water"}}`, id)))
	r := e.do(t, req{path: e.col(e.main) + "objects/" + id + "/versions/", user: e.water})
	if got := r.json(t)["versions"]; fmt.Sprint(got) != "[2021-03-04T05:06:07.123Z]" {
		t.Errorf("versions %v", got)
	}
}

// §3.4.1 (spec_version): only the requested spec versions; by default the
// latest spec version of each object.
func TestSpec_3_4_1_SpecVersion(t *testing.T) {
	e := newEnv(t)
	id, _ := e.seed(t)
	objects := e.col(e.main) + "objects/"
	if got := objectIDs(t, e.do(t, req{path: objects + "?match[spec_version]=2.1", user: e.water})); !slices.Equal(got, []string{id}) {
		t.Errorf("2.1: %v", got)
	}
	if got := objectIDs(t, e.do(t, req{path: objects + "?match[spec_version]=2.0", user: e.water})); got != nil {
		t.Errorf("2.0: %v", got)
	}
	r := e.do(t, req{path: e.col(e.main) + "manifest/", user: e.water})
	if !strings.Contains(string(r.body), `"media_type":"application/stix+json;version=2.1"`) {
		t.Errorf("manifest media type: %s", r.body)
	}
}

// §3.5: more is false (absent) on the last page; next is opaque and, given
// back with the same filters, continues; with other filters it is refused.
func TestSpec_3_5_Pagination(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.seed(t)
	}
	objects := e.col(e.main) + "objects/"
	m := e.do(t, req{path: objects + "?limit=2", user: e.water}).json(t)
	next, _ := m["next"].(string)
	if m["more"] != true || next == "" {
		t.Fatalf("first page %v", m)
	}
	if got := e.do(t, req{path: objects + "?limit=2&next=" + next, user: e.water}).json(t); got["more"] != nil || len(got["objects"].([]any)) != 1 {
		t.Errorf("second page %v", got)
	}
	wantStatus(t, "next with other filters", e.do(t, req{path: objects + "?limit=2&match[type]=indicator&next=" + next, user: e.water}), http.StatusBadRequest)
	wantStatus(t, "next on the manifest", e.do(t, req{path: e.col(e.main) + "manifest/?limit=2&next=" + next, user: e.water}), http.StatusBadRequest)
}

// §3.6.1: an error body has a title, and http_status matches the status.
func TestSpec_3_6_1_ErrorMessage(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		r      req
		status int
	}{
		{req{path: "/taxii2/", auth: "-"}, 401},
		{req{path: e.col(e.main) + "objects/?limit=0", user: e.water}, 400},
		{req{path: e.col(e.drop) + "objects/", user: e.power}, 403},
		{req{path: e.col(e.main), user: e.hosp}, 404},
		{req{path: "/taxii2/", user: e.water, accept: "application/json"}, 406},
		{req{method: "PUT", path: e.col(e.main) + "objects/", user: e.water}, 405},
	} {
		r := e.do(t, tc.r)
		wantStatus(t, tc.r.path, r, tc.status)
		m := r.json(t)
		if m["title"] == "" || m["title"] == nil || m["http_status"] != fmt.Sprint(tc.status) {
			t.Errorf("%s: error body %s", tc.r.path, r.body)
		}
	}
}

// §3.7, §5.4: objects come in an envelope, an empty one when there are
// none; the objects are STIX objects as stored.
func TestSpec_3_7_Envelope(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{path: e.col(e.main) + "objects/", user: e.water})
	if strings.TrimSpace(string(r.body)) != "{}" {
		t.Errorf("empty envelope %s", r.body)
	}
	id, _ := e.seed(t)
	r = e.do(t, req{path: e.col(e.main) + "objects/", user: e.water})
	var env struct {
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || len(env.Objects) != 1 || env.Objects[0]["id"] != id || env.Objects[0]["type"] != "indicator" {
		t.Errorf("envelope %s", r.body)
	}
}

// §3.8: property names are exactly those of the specification and the
// required ones are present (discovery, API root, collections, status).
func TestSpec_3_8_RequiredProperties(t *testing.T) {
	e := newEnv(t)
	_, status := e.seed(t)
	for _, tc := range []struct {
		path string
		keys []string
	}{
		{"/taxii2/", []string{"title"}},
		{e.root, []string{"title", "versions", "max_content_length"}},
		{e.col(e.main), []string{"id", "title", "can_read", "can_write"}},
		{e.root + "status/" + status + "/", []string{"id", "status", "total_count", "success_count", "failure_count", "pending_count"}},
	} {
		m := e.do(t, req{path: tc.path, user: e.water}).json(t)
		for _, k := range tc.keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks %s: %v", tc.path, k, m)
			}
		}
		for k := range m {
			if k != strings.ToLower(k) {
				t.Errorf("%s: property %q is not lower case", tc.path, k)
			}
		}
	}
}

// §4.1, §8.2.1: discovery is at /taxii2/; default is one of api_roots; API
// root URLs are relative ("/…", not "//…") without a query.
func TestSpec_4_1_Discovery(t *testing.T) {
	e := newEnv(t)
	var d struct {
		Title    string   `json:"title"`
		Default  string   `json:"default"`
		APIRoots []string `json:"api_roots"`
	}
	r := e.do(t, req{path: "/taxii2/", user: e.hosp})
	wantStatus(t, "discovery", r, http.StatusOK)
	json.Unmarshal(r.body, &d)
	if d.Title == "" || len(d.APIRoots) == 0 || !slices.Contains(d.APIRoots, d.Default) {
		t.Fatalf("discovery %s", r.body)
	}
	for _, u := range d.APIRoots {
		if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") || strings.Contains(u, "?") || strings.Contains(u, "..") {
			t.Errorf("api root %q", u)
		}
		wantStatus(t, "api root "+u, e.do(t, req{path: u, user: e.water}), http.StatusOK)
	}
}

// §4.2: versions includes the TAXII 2.1 media type with its version;
// max_content_length is a positive integer; bodies up to it are never 413,
// one byte more is — counted in bytes, with or without Content-Length.
func TestSpec_4_2_APIRootAndMaxContentLength(t *testing.T) {
	e := newEnv(t)
	m := e.do(t, req{path: e.root, user: e.water}).json(t)
	vs, _ := m["versions"].([]any)
	if !slices.Contains(vs, any(taxii.MediaType)) {
		t.Errorf("versions %v", vs)
	}
	max, _ := m["max_content_length"].(float64)
	if int64(max) != e.maxLen || max <= 0 {
		t.Fatalf("max_content_length %v", m["max_content_length"])
	}
	// Pad an envelope with a custom property to exactly n bytes.
	pad := func(n int) []byte {
		obj := indicator(newID("indicator"), time.Now().UTC(), stix.TLPGreenID)
		head := `{"x_pad":"`
		tail := `","objects":[` + string(obj) + `]}`
		return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
	}
	for _, chunked := range []bool{false, true} {
		for _, tc := range []struct {
			n      int
			status int
		}{{int(max), 202}, {int(max) - 1, 202}, {int(max) + 1, 413}, {int(max) + 1000, 413}} {
			r := e.do(t, req{method: "POST", path: e.col(e.main) + "objects/", user: e.water, contentType: taxii.MediaType, body: pad(tc.n), chunked: chunked})
			wantStatus(t, fmt.Sprintf("%d bytes (chunked %v)", tc.n, chunked), r, tc.status)
		}
	}
}

// §4.3: a status is answered to the request's poster; an unknown (or
// someone else's) status id is 404; counts add up; status is complete or
// pending.
func TestSpec_4_3_Status(t *testing.T) {
	e := newEnv(t)
	bad := `{"type":"indicator","type":"malware"}`
	s := e.post(t, e.water, e.main, indicator(newID("indicator"), time.Now().UTC(), stix.TLPGreenID), []byte(bad))
	id := s["id"].(string)
	got := e.do(t, req{path: e.root + "status/" + id + "/", user: e.water}).json(t)
	if got["status"] != "complete" || got["total_count"] != 2.0 || got["success_count"] != 1.0 || got["failure_count"] != 1.0 || got["pending_count"] != 0.0 {
		t.Errorf("status %v", got)
	}
	for _, d := range append(got["successes"].([]any), got["failures"].([]any)...) {
		m := d.(map[string]any)
		if m["id"] == "" || m["version"] == "" || m["version"] == nil {
			t.Errorf("status detail %v", m)
		}
	}
	wantStatus(t, "unknown status", e.do(t, req{path: e.root + "status/00000000-0000-4000-8000-000000000000/", user: e.water}), 404)
	wantStatus(t, "another user's status", e.do(t, req{path: e.root + "status/" + id + "/", user: e.power}), 404)
	wantStatus(t, "malformed status id", e.do(t, req{path: e.root + "status/x/", user: e.water}), 404)
}

// §5.1, §5.2: collections list what the caller may read or write, with
// can_read and can_write as they apply to it; an unknown or invisible
// collection is 404.
func TestSpec_5_1_5_2_Collections(t *testing.T) {
	e := newEnv(t)
	read := func(u string) map[string][2]bool {
		var cols struct {
			Collections []map[string]any `json:"collections"`
		}
		uu := e.water
		switch u {
		case "power":
			uu = e.power
		case "port":
			uu = e.port
		case "hosp":
			uu = e.hosp
		}
		json.Unmarshal(e.do(t, req{path: e.root + "collections/", user: uu}).body, &cols)
		out := map[string][2]bool{}
		for _, c := range cols.Collections {
			out[c["id"].(string)] = [2]bool{c["can_read"].(bool), c["can_write"].(bool)}
			if fmt.Sprint(c["media_types"]) != "[application/stix+json;version=2.1]" {
				t.Errorf("media_types %v", c["media_types"])
			}
		}
		return out
	}
	for _, tc := range []struct {
		u    string
		want map[string][2]bool
	}{
		{"water", map[string][2]bool{e.main: {true, true}, e.drop: {true, true}}},
		{"power", map[string][2]bool{e.main: {true, true}, e.drop: {false, true}}},
		{"port", map[string][2]bool{e.main: {true, false}}},
		{"hosp", map[string][2]bool{}},
	} {
		if got := read(tc.u); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.u, got, tc.want)
		}
	}
	wantStatus(t, "by alias", e.do(t, req{path: e.col("indicators"), user: e.port}), 200)
	wantStatus(t, "invisible", e.do(t, req{path: e.col(e.drop), user: e.port}), 404)
	wantStatus(t, "unknown", e.do(t, req{path: e.col("00000000-0000-4000-8000-000000000000"), user: e.port}), 404)
}

// §5.3, §5.4, §5.6, §5.8: without can_read these endpoints are 403 (the
// collection is visible) or 404 (it is not).
func TestSpec_5_3_to_5_8_CanReadFalse(t *testing.T) {
	e := newEnv(t)
	id := newID("indicator")
	e.post(t, e.water, e.drop, indicator(id, time.Now().UTC(), stix.TLPGreenID))
	for _, p := range []string{"manifest/", "objects/", "objects/" + id + "/", "objects/" + id + "/versions/"} {
		wantStatus(t, "write-only "+p, e.do(t, req{path: e.col(e.drop) + p, user: e.power}), http.StatusForbidden)
		wantStatus(t, "non-member "+p, e.do(t, req{path: e.col(e.drop) + p, user: e.hosp}), http.StatusNotFound)
	}
}

// §5.3: manifest filtering applies to the objects the records describe;
// every record has id, date_added, version and a media_type the
// collection lists.
func TestSpec_5_3_Manifest(t *testing.T) {
	e := newEnv(t)
	id, _ := e.seed(t)
	r := e.do(t, req{path: e.col(e.main) + "manifest/?match[type]=indicator", user: e.water})
	var m struct {
		Objects []map[string]string `json:"objects"`
	}
	json.Unmarshal(r.body, &m)
	if len(m.Objects) != 1 || m.Objects[0]["id"] != id || m.Objects[0]["version"] == "" || m.Objects[0]["media_type"] != taxii.STIXMediaType {
		t.Errorf("manifest %s", r.body)
	}
	if got := objectIDs(t, e.do(t, req{path: e.col(e.main) + "manifest/?match[type]=malware", user: e.water})); got != nil {
		t.Errorf("type filter on manifest: %v", got)
	}
}

// §5.5: without can_write, 403 (or 404 when the collection is invisible);
// the answer is 202 with a status; posting an exact duplicate is not an
// error for it; a malformed body is 422.
func TestSpec_5_5_AddObjects(t *testing.T) {
	e := newEnv(t)
	obj := indicator(newID("indicator"), time.Now().UTC(), stix.TLPGreenID)
	body := envelope(obj)
	wantStatus(t, "read-only port", e.do(t, req{method: "POST", path: e.col(e.main) + "objects/", user: e.port, contentType: taxii.MediaType, body: body}), 403)
	wantStatus(t, "viewer", e.do(t, req{method: "POST", path: e.col(e.main) + "objects/", user: e.waterViewer, contentType: taxii.MediaType, body: body}), 403)
	wantStatus(t, "non-member", e.do(t, req{method: "POST", path: e.col(e.main) + "objects/", user: e.hosp, contentType: taxii.MediaType, body: body}), 404)
	s1 := e.post(t, e.water, e.main, obj)
	s2 := e.post(t, e.water, e.main, obj)
	if s1["success_count"] != 1.0 || s2["success_count"] != 1.0 || s2["failure_count"] != 0.0 {
		t.Errorf("duplicate: %v / %v", s1, s2)
	}
	for _, b := range []string{`[]`, `{"objects":[]}`, `{"objects":{}}`, `{}`, `{"objects":[` + string(obj) + `],"objects":[]}`,
		`{"objects":[` + string(obj) + `],"OBJECTS":[]}`, `{"objects":[` + string(obj) + `]} {}`, `{"objects":[`, `{"other":1,"objects":[` + string(obj) + `]}`, `nul`} {
		r := e.do(t, req{method: "POST", path: e.col(e.main) + "objects/", user: e.water, contentType: taxii.MediaType, body: []byte(b)})
		wantStatus(t, b, r, http.StatusUnprocessableEntity)
	}
}

// §5.6: an object by id comes in an envelope; an id the caller cannot see
// is 404 exactly like an unknown one.
func TestSpec_5_6_GetAnObject(t *testing.T) {
	e := newEnv(t)
	id, _ := e.seed(t)
	secret := newID("indicator")
	e.publish(t, e.water, e.main, indicator(secret, time.Now().UTC(), ""), bulwark.TLPAmberStrict, nil, nil)
	r := e.do(t, req{path: e.col(e.main) + "objects/" + id + "/", user: e.port})
	if got := objectIDs(t, r); !slices.Equal(got, []string{id}) {
		t.Errorf("get %v", got)
	}
	hidden := e.do(t, req{path: e.col(e.main) + "objects/" + secret + "/", user: e.port})
	unknown := e.do(t, req{path: e.col(e.main) + "objects/indicator--00000000-0000-4000-8000-000000000000/", user: e.port})
	wantStatus(t, "hidden", hidden, 404)
	if strings.ReplaceAll(string(hidden.body), secret, "X") != strings.ReplaceAll(string(unknown.body), "indicator--00000000-0000-4000-8000-000000000000", "X") {
		t.Errorf("hidden and unknown differ: %s / %s", hidden.body, unknown.body)
	}
	// A version filter that matches nothing still gives an (empty) envelope.
	r = e.do(t, req{path: e.col(e.main) + "objects/" + id + "/?match[version]=2001-01-01T00:00:00.000Z", user: e.port})
	wantStatus(t, "no such version", r, 200)
	if strings.TrimSpace(string(r.body)) != "{}" {
		t.Errorf("empty envelope %s", r.body)
	}
}

// §5.7: after a 200, the object is 404 and absent from objects and
// manifest; the permission table; only its publisher deletes it.
func TestSpec_5_7_DeleteAnObject(t *testing.T) {
	e := newEnv(t)
	id, _ := e.seed(t)
	del := func(u, col string) *resp {
		us := e.water
		switch u {
		case "port":
			us = e.port
		case "power":
			us = e.power
		case "hosp":
			us = e.hosp
		}
		return e.do(t, req{method: "DELETE", path: e.col(col) + "objects/" + id + "/", user: us})
	}
	wantStatus(t, "can_read only", del("port", e.main), 403)
	wantStatus(t, "can_write only", del("power", e.drop), 403)
	wantStatus(t, "neither", del("hosp", e.main), 404)
	wantStatus(t, "another organization's object", del("power", e.main), 403)
	r := del("water", e.main)
	wantStatus(t, "delete", r, 200)
	if ct := r.Header.Get("Content-Type"); ct != taxii.MediaType {
		t.Errorf("Content-Type %q", ct)
	}
	wantStatus(t, "deleted object", e.do(t, req{path: e.col(e.main) + "objects/" + id + "/", user: e.water}), 404)
	for _, p := range []string{"objects/", "manifest/"} {
		if got := objectIDs(t, e.do(t, req{path: e.col(e.main) + p, user: e.water})); got != nil {
			t.Errorf("%s after delete: %v", p, got)
		}
	}
	wantStatus(t, "delete again", del("water", e.main), 404)
}

// §5.8: versions of an object, oldest first, with more and paging.
func TestSpec_5_8_Versions(t *testing.T) {
	e := newEnv(t)
	id := newID("indicator")
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		e.post(t, e.water, e.main, indicator(id, t0.Add(time.Duration(i)*time.Minute), stix.TLPGreenID))
	}
	m := e.do(t, req{path: e.col(e.main) + "objects/" + id + "/versions/", user: e.port}).json(t)
	if fmt.Sprint(m["versions"]) != "[2024-05-01T00:00:00.000Z 2024-05-01T00:01:00.000Z 2024-05-01T00:02:00.000Z]" {
		t.Errorf("versions %v", m)
	}
	m = e.do(t, req{path: e.col(e.main) + "objects/" + id + "/versions/?limit=2", user: e.port}).json(t)
	if m["more"] != true || len(m["versions"].([]any)) != 2 {
		t.Errorf("paged versions %v", m)
	}
	wantStatus(t, "unknown object", e.do(t, req{path: e.col(e.main) + "objects/indicator--00000000-0000-4000-8000-000000000000/versions/", user: e.port}), 404)
}

// §3.1: even the answer to an address that keeps sending bad credentials
// (429) is in the TAXII media type.
func TestSpec_3_1_RateLimitedInTAXIIMediaType(t *testing.T) {
	e := newEnv(t)
	var r *resp
	for range 25 {
		r = e.do(t, req{path: "/taxii2/", auth: "Bearer bwk_invalid"})
	}
	wantStatus(t, "after 25 bad tokens", r, http.StatusTooManyRequests)
	if ct := r.Header.Get("Content-Type"); ct != taxii.MediaType || r.json(t)["http_status"] != "429" || r.Header.Get("Retry-After") == "" {
		t.Errorf("429: %q %s", ct, r.body)
	}
}
