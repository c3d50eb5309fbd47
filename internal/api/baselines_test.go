package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
)

// installMiniCSF gives the world a CSF-shaped catalog small enough to
// reason about.
func installMiniCSF(t *testing.T, w *world) {
	t.Helper()
	c := &bulwark.Catalog{ID: "csf-2.0", Title: "Mini CSF", Version: "test", Kind: "csf", Builtin: true, Controls: []bulwark.Control{
		{ID: "GV", Class: "function", Title: "Govern"},
		{ID: "GV.OC", Parent: "GV", Class: "category", Title: "Context"},
		{ID: "GV.OC-01", Parent: "GV.OC", Class: "subcategory", Title: "Mission", Assessable: true, Function: "GV"},
		{ID: "GV.OC-02", Parent: "GV.OC", Class: "subcategory", Title: "Stakeholders", Assessable: true, Function: "GV"},
	}}
	if err := w.api.bs.InstallBuiltins(t.Context(), []*bulwark.Catalog{c}); err != nil {
		t.Fatal(err)
	}
}

// TestAssessmentsOverAPI: create, edit with revisions, conflicts as 409,
// tenancy of reads and writes, profiles and compliance, readiness.
func TestAssessmentsOverAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		w := newWorldDSN(t, dsn, auth.Options{})
		installMiniCSF(t, w)
		r := w.do("water/analyst", "POST", "/api/v1/assessments", "application/json",
			`{"catalog":"csf-2.0","scope_kind":"organization","scope":"water","title":"Self-assessment"}`)
		if r.status != 201 {
			t.Fatalf("create: %s", r)
		}
		a := decodeBody[bulwark.Assessment](t, r)
		path := "/api/v1/assessments/" + a.ID
		w.run(t, []apiCase{
			{"port cannot assess water", "port/admin", "POST", "/api/v1/assessments", "application/json",
				`{"catalog":"csf-2.0","scope_kind":"organization","scope":"water"}`, 404, nil},
			{"viewer cannot create", "water/viewer", "POST", "/api/v1/assessments", "application/json",
				`{"catalog":"csf-2.0","scope_kind":"organization","scope":"water"}`, 403, nil},
			{"unknown field", "water/analyst", "POST", "/api/v1/assessments", "application/json",
				`{"catalog":"csf-2.0","scope_kind":"organization","scope":"water","owner":"port"}`, 400, nil},
			{"set result", "water/analyst", "PUT", path + "/results/GV.OC-01", "application/json",
				`{"base_rev":0,"status":"partial","current_tier":1,"target_tier":3,"evidence":[{"kind":"link","title":"Plan","url":"https://intranet.example/plan"}]}`, 200,
				func(t *testing.T, r response) {
					if res := decodeBody[bulwark.ControlResult](t, r); res.Rev != 1 || res.Assessor == "" {
						t.Errorf("result %+v", res)
					}
				}},
			{"stale revision", "water/admin", "PUT", path + "/results/GV.OC-01", "application/json", `{"base_rev":0,"status":"implemented"}`, 409,
				func(t *testing.T, r response) {
					if !strings.Contains(string(r.body), "revision 1") {
						t.Errorf("conflict does not name the current revision: %s", r)
					}
				}},
			{"unknown control", "water/analyst", "PUT", path + "/results/XX-1", "application/json", `{"base_rev":0,"status":"partial"}`, 400, nil},
			{"category", "water/analyst", "PUT", path + "/results/GV.OC", "application/json", `{"base_rev":0,"status":"partial"}`, 400, nil},
			{"bad status", "water/analyst", "PUT", path + "/results/GV.OC-02", "application/json", `{"base_rev":0,"status":"done"}`, 400, nil},
			{"tier 7", "water/analyst", "PUT", path + "/results/GV.OC-02", "application/json", `{"base_rev":0,"status":"partial","current_tier":7}`, 400, nil},
			{"script link", "water/analyst", "PUT", path + "/results/GV.OC-02", "application/json",
				`{"base_rev":0,"status":"partial","evidence":[{"kind":"link","url":"javascript:alert(1)"}]}`, 400, nil},
			{"viewer cannot edit", "water/viewer", "PUT", path + "/results/GV.OC-02", "application/json", `{"base_rev":0,"status":"partial"}`, 403, nil},
			{"city sees (water shares) but cannot edit", "city/admin", "PUT", path + "/results/GV.OC-02", "application/json", `{"base_rev":0,"status":"partial"}`, 403, nil},
			{"port cannot see", "port/admin", "GET", path, "", "", 404, nil},
			{"port cannot see history", "port/admin", "GET", path + "/results/GV.OC-01/history", "", "", 404, nil},
			{"city reads", "city/viewer", "GET", path, "", "", 200, func(t *testing.T, r response) {
				if got := decodeBody[bulwark.Assessment](t, r); len(got.Results) != 1 || got.Results[0].Status != bulwark.StatusPartial {
					t.Errorf("assessment %s", r)
				}
			}},
			{"history", "water/viewer", "GET", path + "/results/GV.OC-01/history", "", "", 200, nil},
			{"catalog", "hospital/viewer", "GET", "/api/v1/catalogs/csf-2.0", "", "", 200, nil},
			{"catalogs", "hospital/viewer", "GET", "/api/v1/catalogs", "", "", 200, nil},
			{"no catalog", "hospital/viewer", "GET", "/api/v1/catalogs/nope", "", "", 404, nil},
			{"publish profile", "city/admin", "PUT", "/api/v1/profiles/city-min", "application/json",
				`{"name":"City minimum","catalog":"csf-2.0","applies_to":"high","requirements":[{"control":"GV.OC-01","min_status":"implemented"}]}`, 200, nil},
			{"bad applies_to", "city/admin", "PUT", "/api/v1/profiles/x", "application/json",
				`{"name":"X","catalog":"csf-2.0","applies_to":"everyone","requirements":[{"control":"GV.OC-01","min_status":"implemented"}]}`, 400, nil},
			{"a private operator cannot publish", "port/admin", "PUT", "/api/v1/profiles/city-min", "application/json",
				`{"name":"Mine","catalog":"csf-2.0","applies_to":"all","requirements":[{"control":"GV.OC-01","min_status":"partial"}]}`, 403, nil},
			{"a city analyst cannot publish", "city/analyst", "PUT", "/api/v1/profiles/other", "application/json",
				`{"name":"Mine","catalog":"csf-2.0","applies_to":"all","requirements":[{"control":"GV.OC-01","min_status":"partial"}]}`, 403, nil},
			{"another city org cannot take the id", "water/admin", "PUT", "/api/v1/profiles/city-min", "application/json",
				`{"name":"Mine","catalog":"csf-2.0","applies_to":"all","requirements":[{"control":"GV.OC-01","min_status":"partial"}]}`, 409, nil},
			{"compliance as city", "city/viewer", "GET", "/api/v1/profiles/city-min/compliance", "", "", 200, func(t *testing.T, r response) {
				c := decodeBody[complianceDTO](t, r)
				// The city sees itself, water, port and transit (those that
				// share with it); every one has a high service.
				var orgs []string
				for _, row := range c.Rows {
					orgs = append(orgs, row.Org)
					if row.Org == "water" && (row.Meets || row.Cells[0].Status != "partial") {
						t.Errorf("water row %+v", row)
					}
				}
				if strings.Join(orgs, ",") != "city,port,transit,water" {
					t.Errorf("compliance rows %v", orgs)
				}
			}},
			{"compliance as hospital", "hospital/viewer", "GET", "/api/v1/profiles/city-min/compliance", "", "", 200, func(t *testing.T, r response) {
				for _, row := range decodeBody[complianceDTO](t, r).Rows {
					if row.Org == "water" || row.Org == "city" {
						t.Errorf("hospital sees %s's compliance", row.Org)
					}
				}
			}},
			{"gaps as water", "water/viewer", "GET", "/api/v1/gaps?limit=10", "", "", 200, func(t *testing.T, r response) {
				var res struct {
					Items []struct{ Control, Org, Why string }
				}
				json.Unmarshal(r.body, &res)
				if len(res.Items) != 2 || res.Items[0].Org != "water" {
					t.Errorf("gaps %s", r)
				}
			}},
			{"gaps bad limit", "water/viewer", "GET", "/api/v1/gaps?limit=0", "", "", 400, nil},
			{"gaps as port", "port/viewer", "GET", "/api/v1/gaps", "", "", 200, func(t *testing.T, r response) {
				if strings.Contains(string(r.body), `"water"`) {
					t.Errorf("port sees water's gaps: %s", r)
				}
			}},
			{"readiness", "water/viewer", "GET", "/api/v1/readiness", "", "", 200, func(t *testing.T, r response) {
				var res struct {
					City struct {
						Index      *float64
						Indicators []indicatorDTO
					}
				}
				json.Unmarshal(r.body, &res)
				if res.City.Index == nil || len(res.City.Indicators) != 8 {
					t.Errorf("readiness %s", r)
				}
			}},
			{"record as a private admin", "port/admin", "POST", "/api/v1/readiness/record", "", "", 403, nil},
			{"record as the city admin", "city/admin", "POST", "/api/v1/readiness/record", "", "", 200, nil},
			{"history", "port/viewer", "GET", "/api/v1/readiness/history", "", "", 200, func(t *testing.T, r response) {
				if !strings.Contains(string(r.body), `"index"`) {
					t.Errorf("history %s", r)
				}
			}},
			{"history of an invisible org", "port/viewer", "GET", "/api/v1/readiness/history?org=water", "", "", 404, nil},
			{"history bad limit", "port/viewer", "GET", "/api/v1/readiness/history?limit=x", "", "", 400, nil},
			{"delete profile as port", "port/admin", "DELETE", "/api/v1/profiles/city-min", "", "", 403, nil},
			{"delete profile", "city/admin", "DELETE", "/api/v1/profiles/city-min", "", "", 204, nil},
		})
	})
}

// TestConcurrentEditsOverAPI: two assessors save the same control from
// the same revision at once; one wins, the other gets 409, and the
// history holds exactly the winner's change.
func TestConcurrentEditsOverAPI(t *testing.T) {
	w := newWorld(t, auth.Options{})
	installMiniCSF(t, w)
	a := decodeBody[bulwark.Assessment](t, w.do("water/analyst", "POST", "/api/v1/assessments", "application/json",
		`{"catalog":"csf-2.0","scope_kind":"organization","scope":"water"}`))
	for round := range 5 {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, as := range []string{"water/analyst", "water/admin"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"base_rev":%d,"status":"%s"}`, round, []string{"partial", "implemented"}[i])
				statuses[i] = w.do(as, "PUT", "/api/v1/assessments/"+a.ID+"/results/GV.OC-02", "application/json", body).status
			}()
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				ok++
			case 409, 503:
				conflict++
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("round %d: statuses %v, want one 200 and one 409", round, statuses)
		}
	}
	var h struct{ Items []bulwark.ControlResult }
	json.Unmarshal(w.do("water/viewer", "GET", "/api/v1/assessments/"+a.ID+"/results/GV.OC-02/history", "", "").body, &h)
	if len(h.Items) != 5 {
		t.Errorf("%d revisions after 5 rounds", len(h.Items))
	}
}

// TestCatalogImportExportReport: OSCAL catalogs in (admins only, hostile
// bodies refused with their location, nothing stored), assessments out as
// OSCAL and CSV, the council report as HTML and PDF.
func TestCatalogImportExportReport(t *testing.T) {
	w := newWorld(t, auth.Options{})
	installMiniCSF(t, w)
	const good = `{"catalog":{"uuid":"8a3c2d50-0000-4000-8000-000000000001","metadata":{"title":"Water sector controls","last-modified":"2026-01-01T00:00:00Z","version":"1","oscal-version":"1.1.2"},
"groups":[{"id":"wa","title":"Water","controls":[{"id":"wa-1","title":"Chlorination PLC access","parts":[{"id":"wa-1_smt","name":"statement","prose":"Restrict access."}]}]}]}}`
	w.run(t, []apiCase{
		{"import as analyst", "city/analyst", "POST", "/api/v1/catalogs?id=water-ctl", "application/json", good, 403, nil},
		{"import as a private operator's admin", "port/admin", "POST", "/api/v1/catalogs?id=water-ctl", "application/json", good, 403, nil},
		{"import", "city/admin", "POST", "/api/v1/catalogs?id=water-ctl", "application/json", good, 200, func(t *testing.T, r response) {
			if !strings.Contains(string(r.body), `"assessable":1`) {
				t.Errorf("import result %s", r)
			}
		}},
		{"truncated", "city/admin", "POST", "/api/v1/catalogs?id=broken", "application/json", good[:len(good)/2], 422, nil},
		{"duplicate key", "city/admin", "POST", "/api/v1/catalogs?id=broken", "application/json",
			strings.Replace(good, `"title":"Water"`, `"title":"Water","title":"Again"`, 1), 422, func(t *testing.T, r response) {
				if !strings.Contains(string(r.body), "/catalog/groups/0") {
					t.Errorf("error does not say where: %s", r)
				}
			}},
		{"not json", "city/admin", "POST", "/api/v1/catalogs", "text/csv", "a,b", 415, nil},
		{"nothing stored by failures", "city/viewer", "GET", "/api/v1/catalogs/broken", "", "", 404, nil},
		{"imported is listed", "port/viewer", "GET", "/api/v1/catalogs/water-ctl", "", "", 200, nil},
	})
	a := decodeBody[bulwark.Assessment](t, w.do("water/analyst", "POST", "/api/v1/assessments", "application/json",
		`{"catalog":"csf-2.0","scope_kind":"organization","scope":"water"}`))
	w.do("water/analyst", "PUT", "/api/v1/assessments/"+a.ID+"/results/GV.OC-01", "application/json", `{"base_rev":0,"status":"implemented","notes":"=HYPERLINK(\"x\")"}`)
	w.run(t, []apiCase{
		{"oscal", "water/viewer", "GET", "/api/v1/assessments/" + a.ID + "/export", "", "", 200, func(t *testing.T, r response) {
			if !strings.Contains(string(r.body), `"assessment-results"`) || !strings.Contains(string(r.body), "satisfied") {
				t.Errorf("OSCAL export: %.300s", r.body)
			}
		}},
		{"csv", "water/viewer", "GET", "/api/v1/assessments/" + a.ID + "/export?format=csv", "", "", 200, func(t *testing.T, r response) {
			if !strings.Contains(string(r.body), "GV.OC-01") || strings.Contains(string(r.body), ",=HYPERLINK") {
				t.Errorf("CSV export (formula must be neutralized): %s", r.body)
			}
		}},
		{"bad format", "water/viewer", "GET", "/api/v1/assessments/" + a.ID + "/export?format=xlsx", "", "", 400, nil},
		{"other tenant", "hospital/viewer", "GET", "/api/v1/assessments/" + a.ID + "/export", "", "", 404, nil},
		{"report html", "water/viewer", "GET", "/api/v1/report?city=Testville", "", "", 200, func(t *testing.T, r response) {
			if !strings.Contains(string(r.body), "Testville") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Errorf("HTML report: %.200s", r.body)
			}
		}},
		{"report pdf", "water/viewer", "GET", "/api/v1/report?format=pdf", "", "", 200, func(t *testing.T, r response) {
			if !strings.HasPrefix(string(r.body), "%PDF-") {
				t.Errorf("PDF report starts %.10q", r.body)
			}
		}},
		{"report of an invisible org", "port/viewer", "GET", "/api/v1/report?org=water", "", "", 404, nil},
		{"report bad format", "port/viewer", "GET", "/api/v1/report?format=doc", "", "", 400, nil},
	})
}
