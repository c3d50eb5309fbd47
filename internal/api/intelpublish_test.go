package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func bulkBody(col, marking, extra string) string {
	return fmt.Sprintf(`{"collection":%q,"marking":%q%s}`, col, marking, extra)
}

// TestPublishFromDataAPI publishes water's advisories, findings summary
// and an incident through the API: counts, re-publication, refusals of a
// lowered marking, and every way a body or a caller can be wrong.
func TestPublishFromDataAPI(t *testing.T) {
	w, col := intelWorld(t)
	const js = "application/json"
	// A critical vulnerability of water's PLC: one open finding.
	if r := w.do("water/admin", "POST", "/api/v1/import", "application/yaml", plcCity); r.status != 200 {
		t.Fatalf("import: %s", r)
	}
	if r := w.do("water/admin", "POST", "/api/v1/feeds?name=nvd.json", js, nvdDoc("CVE-2026-1111", "PLC web server overflow")); r.status != 200 {
		t.Fatalf("feed import: %s", r)
	}
	r := w.do("water/analyst", "POST", "/api/v1/incidents", js, incidentBody("Ransom note on the SCADA", "water-sys-1:down"))
	if r.status != http.StatusCreated {
		t.Fatalf("create incident: %s", r)
	}
	inc := decodeBody[incidentResp](t, r)
	// The port's incident: water, which writes the collection, takes no
	// part in it.
	r = w.do("port/analyst", "POST", "/api/v1/incidents", js, incidentBody("Crane stopped", "port-sys-1:down"))
	if r.status != http.StatusCreated {
		t.Fatalf("create incident: %s", r)
	}
	portInc := decodeBody[incidentResp](t, r)
	findings, advisories, incPath := "/api/v1/intel/publish/findings", "/api/v1/intel/publish/advisories", "/api/v1/intel/publish/incidents/"+inc.ID
	result := func(published, unchanged, refused int, check func(t *testing.T, objects []string)) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			t.Helper()
			res := decodeBody[bulkResultDTO](t, r)
			if r.status == http.StatusConflict {
				res = decodeBody[refusedDTO](t, r).Result
			}
			if res.Published != published || res.Unchanged != unchanged || len(res.Refused) != refused || res.Objects == nil || res.Refused == nil {
				t.Errorf("result %+v, want %d published, %d unchanged, %d refused", res, published, unchanged, refused)
			}
			if check != nil {
				check(t, res.Objects)
			}
		}
	}
	var summaryID string
	w.run(t, []apiCase{
		{name: "findings summary", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "amber", `,"orgs":["city"]`), status: 200,
			check: result(1, 0, 0, func(t *testing.T, objects []string) {
				if len(objects) != 1 || !strings.HasPrefix(objects[0], "report--") {
					t.Errorf("objects %v", objects)
				}
				summaryID = objects[0]
			})},
		{name: "findings summary again", as: "water/admin", method: "POST", path: findings, ctype: js, body: bulkBody(col, "TLP:AMBER", `,"orgs":["city"]`), status: 200, check: result(0, 1, 0, nil)},
		{name: "advisories", as: "water/analyst", method: "POST", path: advisories, ctype: js, body: bulkBody(col, "green", ""), status: 200, check: result(3, 0, 0, nil)},
		{name: "advisories stricter", as: "water/analyst", method: "POST", path: advisories, ctype: js, body: bulkBody(col, "amber", `,"orgs":["port"]`), status: 200, check: result(3, 0, 0, nil)},
		{name: "advisories lowered", as: "water/analyst", method: "POST", path: advisories, ctype: js, body: bulkBody(col, "green", ""), status: 409,
			check: func(t *testing.T, r response) {
				result(0, 0, 3, nil)(t, r)
				if e := decodeBody[refusedDTO](t, r).Error; e.Code != "conflict" || !strings.Contains(e.Message, "3 of 3 objects refused") {
					t.Errorf("error %+v", e)
				}
			}},
		{name: "incident", as: "water/analyst", method: "POST", path: incPath, ctype: js, body: bulkBody(col, "amber+strict", ""), status: 200, check: result(2, 0, 0, nil)},
		{name: "incident in another scope", as: "water/analyst", method: "POST", path: incPath, ctype: js, body: bulkBody(col, "amber+strict", `,"scope":"city.example"`), status: 200, check: result(2, 0, 0, nil)},
		{name: "no query", as: "water/analyst", method: "POST", path: findings + "?org=port", ctype: js, body: bulkBody(col, "green", ""), status: 400},
		{name: "marking missing", as: "water/analyst", method: "POST", path: findings, ctype: js, body: fmt.Sprintf(`{"collection":%q}`, col), status: 400, check: wantMsg("marking is required")},
		{name: "marking empty", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "", ""), status: 400, check: wantMsg("marking is required")},
		{name: "marking wrong", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "<script>alert(1)</script>", ""), status: 400, check: wantMsg("marking")},
		{name: "marking not a string", as: "water/analyst", method: "POST", path: findings, ctype: js, body: fmt.Sprintf(`{"collection":%q,"marking":["green"]}`, col), status: 400},
		{name: "collection missing", as: "water/analyst", method: "POST", path: findings, ctype: js, body: `{"marking":"green"}`, status: 400, check: wantMsg("collection is required")},
		{name: "unknown field", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "green", `,"owner":"port"`), status: 400},
		{name: "duplicate marking", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "red", `,"marking":"clear"`), status: 400, check: wantMsg("duplicate key")},
		{name: "case-variant key", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "red", `,"Marking":"clear"`), status: 400},
		{name: "not an object", as: "water/analyst", method: "POST", path: findings, ctype: js, body: `["green"]`, status: 400},
		{name: "truncated", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "green", "")[:20], status: 400},
		{name: "oversized", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "green", `,"scope":"`+strings.Repeat("x", 2<<20)+`"`), status: 413},
		{name: "scope too long", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "green", `,"scope":"`+strings.Repeat("x", 300)+`"`), status: 400, check: wantMsg("scope")},
		{name: "scope with control characters", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "green", `,"scope":"a\u0000b"`), status: 400, check: wantMsg("scope")},
		{name: "too many recipients", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "amber", `,"orgs":[`+strings.Repeat(`"port",`, 300)+`"port"]`), status: 400},
		{name: "amber without recipients", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "amber", ""), status: 400},
		{name: "recipient outside the collection", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "amber", `,"orgs":["hospital"]`), status: 400},
		{name: "unknown collection", as: "water/analyst", method: "POST", path: findings, ctype: js, body: bulkBody("no-such", "green", ""), status: 404},
		{name: "unknown incident", as: "water/analyst", method: "POST", path: "/api/v1/intel/publish/incidents/inc-nope", ctype: js, body: bulkBody(col, "green", ""), status: 404},
		{name: "viewer may not publish", as: "water/viewer", method: "POST", path: findings, ctype: js, body: bulkBody(col, "green", ""), status: 403},
		{name: "anonymous", as: "", method: "POST", path: findings, ctype: js, body: bulkBody(col, "green", ""), status: 401},
		{name: "port only reads the collection", as: "port/analyst", method: "POST", path: findings, ctype: js, body: bulkBody(col, "green", ""), status: 403},
		{name: "hospital is outside the community", as: "hospital/admin", method: "POST", path: advisories, ctype: js, body: bulkBody(col, "green", ""), status: 404},
		{name: "water may not publish the port's incident", as: "water/analyst", method: "POST", path: "/api/v1/intel/publish/incidents/" + portInc.ID, ctype: js, body: bulkBody(col, "green", ""), status: 404},
		{name: "GET is not a route", as: "water/analyst", method: "GET", path: findings, status: 404},
	})
	// What port (amber recipient of the advisories) and city (of the
	// summary) read names no asset, system or internal detail.
	for _, as := range []string{"port/analyst", "city/analyst"} {
		r := w.do(as, "GET", "/api/v1/intel/collections/"+col+"/objects", "", "")
		if r.status != 200 {
			t.Fatalf("%s lists objects: %s", as, r)
		}
		body := string(r.body)
		for _, leak := range []string{"water-plc-9", "Water PLC", "water-sys-1", "water-dev-", "secret detail", "simatic"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s reads %q: %s", as, leak, body)
			}
		}
		if as == "city/analyst" && !strings.Contains(body, summaryID) {
			t.Errorf("city does not read the summary %s", summaryID)
		}
	}
	r = w.do("city/analyst", "GET", "/api/v1/intel/collections/"+col+"/objects/"+summaryID, "", "")
	var obj intelObjectDTO
	if err := json.Unmarshal(r.body, &obj); err != nil {
		t.Fatalf("summary: %v %s", err, r)
	}
	if s := string(obj.Object); !strings.Contains(s, `"open":1`) || !strings.Contains(s, `"critical":1`) || strings.Contains(s, "CVE-2026-1111") {
		t.Errorf("summary body: %s", s)
	}
}
