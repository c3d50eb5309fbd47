package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
)

// nvdDoc is an NVD CVE API 2.0 response with one CVE whose configuration
// names firmware below 4.6 of a PLC.
func nvdDoc(id, description string) string {
	return fmt.Sprintf(`{"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE","version":"2.0",
"timestamp":"2026-11-01T00:00:00.000","vulnerabilities":[{"cve":{"id":%q,"sourceIdentifier":"psirt@example.com",
"published":"2026-10-01T10:15:00.000","lastModified":"2026-10-02T10:15:00.000","vulnStatus":"Analyzed",
"descriptions":[{"lang":"en","value":%q}],
"metrics":{"cvssMetricV31":[{"source":"nvd@nist.gov","type":"Primary","cvssData":{"version":"3.1",
"vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":9.8,"baseSeverity":"CRITICAL"}}]},
"configurations":[{"nodes":[{"operator":"OR","negate":false,"cpeMatch":[{"vulnerable":true,
"criteria":"cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*","versionEndExcluding":"4.6",
"matchCriteriaId":"11111111-2222-3333-4444-555555555555"}]}]}],
"references":[{"url":"https://example.com/advisory","source":"psirt@example.com","tags":["Vendor Advisory"]}]}}]}`, id, description)
}

// plcCity gives water and port one PLC each with firmware 4.5.
const plcCity = `version: 1
assets:
  - {id: water-plc-9, name: Water PLC, owner: water, kind: plc, vendor: siemens, product: simatic_s7-1200, version: "4.5",
     cpe: ["cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*"]}
`

const portPLC = `version: 1
assets:
  - {id: port-plc-9, name: Port PLC, owner: port, kind: plc, vendor: siemens, product: simatic_s7-1200, version: "4.5",
     cpe: ["cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*"]}
`

// TestFeedImportMatchesAndIsolates: a city admin posts a feed; the
// changed vulnerability is matched at once; each organization sees only
// its own finding, and the lifecycle works through PATCH.
func TestFeedImportMatchesAndIsolates(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		w := newWorldDSN(t, dsn, auth.Options{})
		for as, body := range map[string]string{"water/admin": plcCity, "port/admin": portPLC} {
			if r := w.do(as, "POST", "/api/v1/import", "application/yaml", body); r.status != 200 {
				t.Fatalf("import as %s: %s", as, r)
			}
		}
		// Only administrators of a city organization import feeds.
		for as, want := range map[string]int{"port/admin": 403, "water/analyst": 403, "": 401} {
			if r := w.do(as, "POST", "/api/v1/feeds?name=nvd.json", "application/json", nvdDoc("CVE-2026-1111", "x")); r.status != want {
				t.Errorf("feed import as %q = %s, want %d", as, r, want)
			}
		}
		r := w.do("water/admin", "POST", "/api/v1/feeds?name=nvd.json", "application/json", nvdDoc("CVE-2026-1111", "PLC web server overflow"))
		if r.status != 200 {
			t.Fatalf("feed import: %s", r)
		}
		res := decodeBody[struct {
			Document struct {
				Format  string
				Records int
				Stats   bulwark.FeedStats
			}
			Match struct{ Sync bulwark.SyncStats }
		}](t, r)
		if res.Document.Format != "nvd-2.0" || res.Document.Records != 1 || res.Document.Stats.Created != 1 || res.Match.Sync.New != 2 {
			t.Fatalf("feed import result: %s", r)
		}
		for _, c := range []struct {
			as   string
			want []string
		}{
			{"water/viewer", []string{"water-plc-9"}},
			{"port/viewer", []string{"port-plc-9"}},
			{"city/viewer", []string{"port-plc-9", "water-plc-9"}}, // both share with the city
			{"hospital/viewer", nil},
		} {
			page := decodeBody[pageDTO[findingDTO]](t, w.do(c.as, "GET", "/api/v1/findings?vuln=CVE-2026-1111", "", ""))
			var got []string
			for _, f := range page.Items {
				got = append(got, f.AssetID)
				if f.Decision == "" || f.Due.IsZero() || f.Confidence != "exact" {
					t.Errorf("finding without decision, due date or confidence: %+v", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%s sees %v, want %v", c.as, got, c.want)
			}
		}
		// The detail explains the SSVC decision point by point.
		f := decodeBody[findingDTO](t, w.do("water/viewer", "GET", "/api/v1/findings/water-plc-9/CVE-2026-1111", "", ""))
		if len(f.SSVC.Why) != 4 || f.SSVC.Automatable != "yes" || f.SSVC.TechnicalImpact != "total" {
			t.Errorf("finding detail: %+v", f)
		}
		// Hidden and missing findings answer alike.
		hidden := w.do("hospital/admin", "GET", "/api/v1/findings/water-plc-9/CVE-2026-1111", "", "")
		missing := w.do("hospital/admin", "GET", "/api/v1/findings/water-plc-9/CVE-2099-0001", "", "")
		if hidden.status != 404 || missing.status != 404 || errorCode(t, hidden) != errorCode(t, missing) {
			t.Errorf("hidden %s vs missing %s", hidden, missing)
		}
		if r := w.do("hospital/admin", "GET", "/api/v1/explain/water-plc-9/CVE-2026-1111", "", ""); r.status != 404 {
			t.Errorf("explain of a hidden asset: %s", r)
		}
		x := decodeBody[struct {
			Matched  bool
			Evidence string
		}](t, w.do("water/viewer", "GET", "/api/v1/explain/water-plc-9/CVE-2026-1111", "", ""))
		if !x.Matched || !strings.Contains(x.Evidence, "4.6") {
			t.Errorf("explain: %+v", x)
		}

		// Lifecycle through PATCH: viewers and other tenants may not.
		patch := `{"status":"in_remediation","note":"change ticket 4411"}`
		for as, want := range map[string]int{"water/viewer": 403, "port/admin": 404, "city/admin": 403} {
			if r := w.do(as, "PATCH", "/api/v1/findings/water-plc-9/CVE-2026-1111", "application/json", patch); r.status != want {
				t.Errorf("PATCH as %s = %s, want %d", as, r, want)
			}
		}
		if r := w.do("water/analyst", "PATCH", "/api/v1/findings/water-plc-9/CVE-2026-1111", "application/json", patch); r.status != 200 {
			t.Fatalf("PATCH as water/analyst: %s", r)
		}
		until := time.Now().AddDate(0, 2, 0).Format(time.DateOnly)
		for _, c := range []struct{ body, code string }{
			{`{"status":"verified"}`, "conflict"},
			{`{"status":"accepted","note":"isolated","until":"` + until + `"}`, "invalid"},
			{`{"status":"accepted","accepted_by":"Director","note":"isolated","until":"not a date"}`, "invalid"},
			{`{"status":"accepted","accepted_by":"Director","note":"isolated","until":"2099-01-01"}`, "invalid"},
			{`{"status":"fixed","status":"open"}`, "invalid"},
			{`{"Status":"fixed"}`, "invalid"},
			{`{"status":"fixed","note":"` + strings.Repeat("x", 3000) + `"}`, "too_large"},
		} {
			r := w.do("water/analyst", "PATCH", "/api/v1/findings/water-plc-9/CVE-2026-1111", "application/json", c.body)
			if got := errorCode(t, r); got != c.code {
				t.Errorf("PATCH %.60s = %s, want %s", c.body, r, c.code)
			}
		}
		ok := `{"status":"accepted","accepted_by":"Water director","note":"isolated network; vendor fix in Q3","until":"` + until + `"}`
		if r := w.do("water/admin", "PATCH", "/api/v1/findings/water-plc-9/CVE-2026-1111", "application/json", ok); r.status != 200 {
			t.Fatalf("accept: %s", r)
		}
		h := decodeBody[struct{ Items []bulwark.FindingEvent }](t, w.do("water/viewer", "GET", "/api/v1/findings/water-plc-9/CVE-2026-1111/history", "", ""))
		if len(h.Items) != 3 || h.Items[2].To != bulwark.FindingAccepted {
			t.Errorf("history: %+v", h.Items)
		}

		// Advisories: each owner gets its own, with the required action.
		advs := decodeBody[struct {
			Items []struct {
				Owner   string
				Actions []string
				Assets  []struct{ ID string }
				Why     []string
			}
		}](t, w.do("port/viewer", "GET", "/api/v1/advisories", "", ""))
		if len(advs.Items) != 1 || advs.Items[0].Owner != "port" || len(advs.Items[0].Actions) == 0 || advs.Items[0].Assets[0].ID != "port-plc-9" ||
			len(advs.Items[0].Why) != 4 {
			t.Errorf("port's advisories: %+v", advs.Items)
		}
		// A changed inventory is matched at once: a new PLC gets its finding.
		newPLC := strings.ReplaceAll(plcCity, "water-plc-9", "water-plc-10")
		if r := w.do("water/admin", "POST", "/api/v1/import", "application/yaml", newPLC); r.status != 200 {
			t.Fatalf("import another PLC: %s", r)
		}
		if r := w.do("water/viewer", "GET", "/api/v1/findings/water-plc-10/CVE-2026-1111", "", ""); r.status != 200 {
			t.Errorf("finding of the newly imported PLC: %s", r)
		}
		// A re-import of the same document changes nothing.
		r = w.do("water/admin", "POST", "/api/v1/feeds?name=nvd.json", "application/json", nvdDoc("CVE-2026-1111", "PLC web server overflow"))
		if again := decodeBody[struct {
			Document struct{ Stats bulwark.FeedStats }
		}](t, r); again.Document.Stats.Unchanged != 1 {
			t.Errorf("re-import: %s", r)
		}
	})
}

// TestFeedImportHostile: malformed, hostile and oversized documents are
// refused with where and why, and what was stored stays intact.
func TestFeedImportHostile(t *testing.T) {
	w := newWorld(t, auth.Options{})
	if r := w.do("city/admin", "POST", "/api/v1/feeds?name=good.json", "application/json", nvdDoc("CVE-2026-2222", "kept")); r.status != 200 {
		t.Fatalf("seed: %s", r)
	}
	good := nvdDoc("CVE-2026-3333", "never stored")
	for _, c := range []struct {
		name, ctype, body string
		status            int
		want              string // in the message or details
	}{
		{"truncated", "application/json", good[:len(good)/2], 422, "/vulnerabilities/0/cve"},
		{"deep nesting", "application/json", good[:strings.Index(good, `"vulnerabilities":[`)+len(`"vulnerabilities":[`)] + strings.Repeat("[", 1_000_000), 422, "/vulnerabilities/0"},
		{"duplicate key", "application/json", strings.Replace(good, `"format":"NVD_CVE"`, `"format":"NVD_CVE","format":"NVD_CVE"`, 1), 422, "duplicate"},
		{"case-variant key", "application/json", strings.Replace(good, `"vulnerabilities"`, `"VULNERABILITIES"`, 1), 422, "case-sensitive"},
		{"not a feed", "application/json", `{"hello":"world"}`, 415, "unrecognised feed format"},
		{"only brackets", "application/json", strings.Repeat("[", 1_000_000), 415, "unrecognised feed format"},
		{"wrong content type", "text/html", good, 415, "content-type"},
		{"unknown format", "application/json", good, 400, "format"},
		{"binary", "application/octet-stream", "\x00\x01\x02garbage", 415, "unrecognised"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := "/api/v1/feeds?name=good.json"
			if c.name == "unknown format" {
				path += "&format=yaml"
			}
			r := w.do("city/admin", "POST", path, c.ctype, c.body)
			if r.status != c.status {
				t.Fatalf("status %s, want %d", bulwark.Abbrev(r.String(), 300), c.status)
			}
			checkNoInternals(t, r)
			if c.want != "" && !strings.Contains(strings.ToLower(string(r.body)), c.want) {
				t.Errorf("answer does not say %q: %s", c.want, bulwark.Abbrev(string(r.body), 300))
			}
		})
	}
	// Too large by Content-Length: refused before reading a byte.
	req := httptest.NewRequest("POST", "/api/v1/feeds", strings.NewReader("{}"))
	req.ContentLength = MaxFeedBytes + 1
	req.Header.Set("Authorization", "Bearer "+w.users["city/admin"].token)
	rec := httptest.NewRecorder()
	w.api.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d %s", rec.Code, rec.Body)
	}
	// Nothing of the rejected documents was stored; the first one is intact.
	page := decodeBody[pageDTO[vulnSummaryDTO]](t, w.do("city/viewer", "GET", "/api/v1/vulnerabilities", "", ""))
	if len(page.Items) != 1 || page.Items[0].ID != "CVE-2026-2222" || page.Items[0].Description != "kept" {
		t.Errorf("store after hostile imports: %+v", page.Items)
	}
}

func TestVulnEndpointsRejectBadQueries(t *testing.T) {
	w := newWorld(t, auth.Options{})
	for _, path := range []string{
		"/api/v1/findings?decision=Urgent",
		"/api/v1/findings?status=done",
		"/api/v1/findings?owner=%3Cscript%3E",
		"/api/v1/findings?limit=0",
		"/api/v1/findings?limit=100000",
		"/api/v1/findings?kev=maybe",
		"/api/v1/findings?sort=random",
		"/api/v1/findings?bogus=1",
		"/api/v1/findings?after=" + strings.Repeat("a", 1000),
		"/api/v1/findings?sort=priority&after=-5",
		"/api/v1/findings?owner=water&owner=port",
		"/api/v1/vulnerabilities?q=" + strings.Repeat("x", 500),
		"/api/v1/vulnerabilities?kev=2",
		"/api/v1/advisories?owner=a%20b",
		"/api/v1/feeds?x=1",
	} {
		r := w.do("city/viewer", "GET", path, "", "")
		if r.status != 400 {
			t.Errorf("GET %s = %s, want 400", bulwark.Abbrev(path, 80), bulwark.Abbrev(r.String(), 200))
		}
		checkNoInternals(t, r)
	}
	for _, path := range []string{"/api/v1/vulnerabilities/CVE-2099-0001", "/api/v1/vulnerabilities/%3Cx%3E", "/api/v1/findings/a%20b/CVE-1"} {
		if r := w.do("city/viewer", "GET", path, "", ""); r.status != 404 {
			t.Errorf("GET %s = %s, want 404", path, r)
		}
	}
	if r := w.do("city/analyst", "POST", "/api/v1/match", "", ""); r.status != 403 {
		t.Errorf("match as analyst: %s", r)
	}
	if r := w.do("port/admin", "POST", "/api/v1/match", "", ""); r.status != 403 {
		t.Errorf("match as a private operator's admin: %s", r)
	}
	if r := w.do("city/admin", "POST", "/api/v1/match", "", ""); r.status != 200 {
		t.Errorf("match as the city's admin: %s", r)
	}
	if r := w.do("city/viewer", "GET", "/api/v1/feeds", "", ""); r.status != 200 {
		t.Errorf("feed status: %s", r)
	}
}

func TestSBOMEndpoints(t *testing.T) {
	w := newWorld(t, auth.Options{})
	bom := `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"application","name":"busybox","version":"1.29.3",
"cpe":"cpe:2.3:a:busybox:busybox:1.29.3:*:*:*:*:*:*:*","purl":"pkg:generic/busybox@1.29.3"}]}`
	for _, c := range []struct {
		as, ctype, body string
		status          int
	}{
		{"water/viewer", "application/json", bom, 403},
		{"port/admin", "application/json", bom, 404},
		{"city/admin", "application/json", bom, 403}, // sees water's asset, does not own it
		{"water/analyst", "text/plain", bom, 415},
		{"water/analyst", "application/json", `{"bomFormat":"CycloneDX"`, 422},
		{"water/analyst", "application/json", `{"bomFormat":"CycloneDX","BOMFORMAT":"x","specVersion":"1.5"}`, 422},
		{"water/analyst", "application/json", strings.Repeat("[", 1_000_000), 422},
		{"water/analyst", "application/json", bom, 200},
	} {
		r := w.do(c.as, "PUT", "/api/v1/assets/water-dev-1/sbom", c.ctype, c.body)
		if r.status != c.status && !(c.status == 422 && r.status == 400) {
			t.Errorf("PUT as %s (%.30q) = %s, want %d", c.as, c.body, bulwark.Abbrev(r.String(), 200), c.status)
		}
		checkNoInternals(t, r)
	}
	for as, want := range map[string]int{"city/viewer": 200, "water/viewer": 200, "hospital/admin": 404} {
		r := w.do(as, "GET", "/api/v1/assets/water-dev-1/sbom", "", "")
		if r.status != want {
			t.Errorf("GET SBOM as %s = %s, want %d", as, r, want)
		}
	}
	s := decodeBody[bulwark.SBOM](t, w.do("water/viewer", "GET", "/api/v1/assets/water-dev-1/sbom", "", ""))
	if len(s.Components) != 1 || s.Components[0].Name != "busybox" || s.Owner != "water" {
		t.Errorf("SBOM: %+v", s)
	}
}
