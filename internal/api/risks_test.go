package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/risk"
)

// riskBody is a valid risk of water's register with the given scale
// values and title.
func riskBody(title string, likelihood, impact int) string {
	return fmt.Sprintf(`{"title":%q,"scenario":"Ransomware reaches the SCADA servers","techniques":["T0866","T0882"],
"services":["water-svc-1"],"systems":["water-sys-1"],"likelihood":%d,"impact":%d,
"frequency":{"min":0.1,"most_likely":0.5,"max":2},"loss":{"min":10000,"most_likely":50000,"max":400000},
"treatment":"mitigate","treatment_owner":"OT lead","due":"2027-03-31"}`, title, likelihood, impact)
}

// TestRisksOverAPI: create, update with revisions, conflicts as 409
// naming the current revision, tenancy, validation, heat map counts and a
// deterministic analysis, on both stores.
func TestRisksOverAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		w := newWorldDSN(t, dsn, auth.Options{})
		r := w.do("water/analyst", "POST", "/api/v1/risks", "application/json", riskBody("SCADA ransomware", 4, 5))
		if r.status != 201 {
			t.Fatalf("create: %s", r)
		}
		v := decodeBody[risk.View](t, r)
		if v.Owner != "water" || v.Rev != 1 || v.Score != 20 || v.Level != "critical" || !v.Open || v.Due.Format("2006-01-02") != "2027-03-31" {
			t.Fatalf("created %+v", v)
		}
		if len(v.Reference) != 2 || v.Reference[0].Name == "" || !strings.Contains(v.Reference[0].URL, "T0866") {
			t.Errorf("technique names %+v", v.Reference)
		}
		if loc := r.header.Get("Location"); loc != "/api/v1/risks/"+v.ID {
			t.Errorf("Location %q", loc)
		}
		path := "/api/v1/risks/" + v.ID
		for _, c := range []struct {
			title string
			l, i  int
		}{{"Pump station flooding", 2, 3}, {"Chlorine dosing tamper", 2, 3}, {"Telemetry outage", 1, 5}} {
			if r := w.do("water/analyst", "POST", "/api/v1/risks", "application/json", riskBody(c.title, c.l, c.i)); r.status != 201 {
				t.Fatalf("create %s: %s", c.title, r)
			}
		}
		update := func(rev int, status, note string) string {
			return fmt.Sprintf(`{"title":"SCADA ransomware","likelihood":3,"impact":5,"techniques":["T0866"],"services":["water-svc-1"],
"status":%q,"treatment":"mitigate","treatment_plan":"Segment the SCADA network","due":"2027-01-31","rev":%d,"note":%q}`, status, rev, note)
		}
		w.run(t, []apiCase{
			{"update", "water/admin", "PUT", path, "application/json", update(1, "treating", "segmentation funded"), 200, func(t *testing.T, r response) {
				got := decodeBody[risk.View](t, r)
				if got.Rev != 2 || got.Status != "treating" || got.Score != 15 || got.Level != "high" || got.UpdatedBy == "" {
					t.Errorf("updated %+v", got)
				}
			}},
			{"stale revision", "water/analyst", "PUT", path, "application/json", update(1, "closed", ""), 409, func(t *testing.T, r response) {
				if !strings.Contains(string(r.body), "revision 2") || !strings.Contains(string(r.body), "based on revision 1") {
					t.Errorf("conflict does not name the revisions: %s", r)
				}
			}},
			{"id differs from the path", "water/analyst", "PUT", path, "application/json",
				strings.Replace(update(2, "treating", ""), `{"title"`, `{"id":"other","title"`, 1), 400, nil},
			{"history", "water/viewer", "GET", path + "/history", "", "", 200, func(t *testing.T, r response) {
				var h struct {
					Items []struct {
						Rev   int
						Actor string
						Note  string
					}
				}
				json.Unmarshal(r.body, &h)
				if len(h.Items) != 2 || h.Items[0].Rev != 1 || h.Items[1].Note != "segmentation funded" || h.Items[1].Actor == "" {
					t.Errorf("history %s", r)
				}
			}},
			{"read", "water/viewer", "GET", path, "", "", 200, nil},
			{"city reads (water shares)", "city/viewer", "GET", path, "", "", 200, nil},
			{"city cannot change", "city/admin", "PUT", path, "application/json", update(2, "closed", ""), 403, nil},
			{"port cannot see", "port/admin", "GET", path, "", "", 404, nil},
			{"port cannot see history", "port/admin", "GET", path + "/history", "", "", 404, nil},
			{"port cannot change", "port/admin", "PUT", path, "application/json", update(2, "closed", ""), 404, nil},
			{"port lists none of water's", "port/admin", "GET", "/api/v1/risks", "", "", 200, func(t *testing.T, r response) {
				if strings.Contains(string(r.body), "water") {
					t.Errorf("port sees water's risks: %s", r)
				}
			}},
			{"viewer cannot create", "water/viewer", "POST", "/api/v1/risks", "application/json", riskBody("x", 1, 1), 403, nil},
			{"viewer cannot change", "water/viewer", "PUT", path, "application/json", update(2, "closed", ""), 403, nil},
			{"no such risk", "water/viewer", "GET", "/api/v1/risks/risk-none", "", "", 404, nil},
			{"likelihood 6", "water/analyst", "POST", "/api/v1/risks", "application/json", riskBody("x", 6, 1), 422, wantMessage("likelihood", "6: use 1 (rare) to 5")},
			{"inverted range", "water/analyst", "POST", "/api/v1/risks", "application/json",
				`{"title":"x","likelihood":1,"impact":1,"frequency":{"min":1,"most_likely":0.5,"max":2},"loss":{"min":1,"most_likely":2,"max":3}}`, 422,
				wantMessage("frequency", "min ≤ most_likely ≤ max")},
			{"unknown ICS technique", "water/analyst", "POST", "/api/v1/risks", "application/json",
				`{"title":"x","likelihood":1,"impact":1,"techniques":["T0999"]}`, 422, wantMessage("techniques[0]", "T0999 is not an ATT&CK for ICS technique")},
			{"finding that does not exist", "water/analyst", "POST", "/api/v1/risks", "application/json",
				`{"title":"x","likelihood":1,"impact":1,"findings":["water-dev-1/CVE-2020-0001"]}`, 422, wantMessage("findings[0]", "no finding water-dev-1/CVE-2020-0001")},
			{"malformed finding link", "water/analyst", "POST", "/api/v1/risks", "application/json",
				`{"title":"x","likelihood":1,"impact":1,"findings":["no-slash"]}`, 422, wantMessage("findings[0]", "not a valid findings reference")},
			{"another org's service", "water/analyst", "POST", "/api/v1/risks", "application/json",
				`{"title":"x","likelihood":1,"impact":1,"services":["hospital-svc-1"]}`, 400, nil},
			{"bad date", "water/analyst", "POST", "/api/v1/risks", "application/json",
				`{"title":"x","likelihood":1,"impact":1,"due":"31/12/2026"}`, 400, wantMessage("", "/due")},
			{"unknown field", "water/analyst", "POST", "/api/v1/risks", "application/json",
				`{"title":"x","likelihood":1,"impact":1,"owner":"port"}`, 400, nil},
			{"rev on create", "water/analyst", "POST", "/api/v1/risks", "application/json",
				`{"title":"x","likelihood":1,"impact":1,"rev":3}`, 400, nil},
			{"bad status filter", "water/viewer", "GET", "/api/v1/risks?status=done", "", "", 400, nil},
			{"list by status", "water/viewer", "GET", "/api/v1/risks?status=treating", "", "", 200, func(t *testing.T, r response) {
				var l struct{ Items []risk.View }
				json.Unmarshal(r.body, &l)
				if len(l.Items) != 1 || l.Items[0].ID != v.ID {
					t.Errorf("treating: %s", r)
				}
			}},
			{"list by service", "city/viewer", "GET", "/api/v1/risks?service=water-svc-1&owner=water", "", "", 200, func(t *testing.T, r response) {
				var l struct{ Items []risk.View }
				json.Unmarshal(r.body, &l)
				if len(l.Items) != 4 || l.Items[0].Score < l.Items[3].Score {
					t.Errorf("by service: %d items", len(l.Items))
				}
			}},
			{"heat map", "water/viewer", "GET", "/api/v1/risks/heatmap", "", "", 200, func(t *testing.T, r response) {
				h := decodeBody[risk.HeatMap](t, r)
				if h.Open != 4 || h.Cells[2][4] != 1 || h.Cells[1][2] != 2 || h.Cells[0][4] != 1 || h.Cells[3][4] != 0 {
					t.Errorf("heat map %+v", h)
				}
			}},
			{"heat map of port", "port/viewer", "GET", "/api/v1/risks/heatmap", "", "", 200, func(t *testing.T, r response) {
				if h := decodeBody[risk.HeatMap](t, r); h.Open != 0 {
					t.Errorf("port's heat map counts water's risks: %+v", h)
				}
			}},
			{"analysis", "water/viewer", "GET", "/api/v1/risks/analysis?trials=2000&seed=7", "", "", 200, func(t *testing.T, r response) {
				a := decodeBody[risk.Analysis](t, r)
				if a.Trials != 2000 || a.Seed != 7 || len(a.Risks) != 3 || len(a.Skipped) != 1 || a.City.Mean <= 0 || len(a.City.Exceedance) != 40 {
					t.Errorf("analysis trials %d seed %d risks %d skipped %v mean %g", a.Trials, a.Seed, len(a.Risks), a.Skipped, a.City.Mean)
				}
			}},
			{"trials 0", "water/viewer", "GET", "/api/v1/risks/analysis?trials=0", "", "", 400, nil},
			{"trials too many", "water/viewer", "GET", "/api/v1/risks/analysis?trials=100001", "", "", 400, nil},
			{"bad seed", "water/viewer", "GET", "/api/v1/risks/analysis?seed=-1", "", "", 400, nil},
			{"techniques", "port/viewer", "GET", "/api/v1/attack/techniques", "", "", 200, func(t *testing.T, r response) {
				if !strings.Contains(string(r.body), `"T0866"`) {
					t.Errorf("techniques lack T0866")
				}
			}},
			{"techniques need a login", "", "GET", "/api/v1/attack/techniques", "", "", 401, nil},
		})

		// The same seed gives the same body; another seed another one.
		get := func(q string) []byte {
			r := w.do("water/viewer", "GET", "/api/v1/risks/analysis?trials=3000"+q, "", "")
			if r.status != 200 {
				t.Fatalf("analysis: %s", r)
			}
			return r.body
		}
		if a, b := get("&seed=11"), get("&seed=11"); !bytes.Equal(a, b) {
			t.Error("the same seed gave different analyses")
		}
		if a, b := get("&seed=11"), get("&seed=12"); bytes.Equal(a, b) {
			t.Error("different seeds gave the same analysis")
		}
		if a, b := get(""), get("&seed=1"); !bytes.Equal(a, b) {
			t.Error("the default seed is not 1")
		}
	})
}

// wantMessage checks that an error response names field (in its details,
// when given) and says msg.
func wantMessage(field, msg string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		var e errorBody
		if err := json.Unmarshal(r.body, &e); err != nil {
			t.Fatalf("not an error body: %s", r)
		}
		if !strings.Contains(e.Error.Message, msg) && !strings.Contains(fmt.Sprint(e.Error.Details), msg) {
			t.Errorf("message %q lacks %q (details %v)", e.Error.Message, msg, e.Error.Details)
		}
		if field == "" {
			return
		}
		for _, p := range e.Error.Details {
			if p.Field == field {
				return
			}
		}
		t.Errorf("details %v do not name %s", e.Error.Details, field)
	}
}

// FuzzRiskBody: any body is refused with EINVALID (or ETOOLARGE) or
// decodes to a risk whose dates came from YYYY-MM-DD strings.
func FuzzRiskBody(f *testing.F) {
	for _, s := range []string{riskBody("x", 3, 3), `{"title":"x","likelihood":1,"impact":1,"rev":2,"note":"n"}`, `{"due":"2027-02-30"}`, `{"due":"0001-01-01"}`,
		`{"frequency":{"min":1,"most_likely":2,"max":3,"extra":1}}`, `{"title":"x","title":"y"}`, `{"Title":"x"}`, `[]`, `{"techniques":[1]}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var d riskUpdateDTO
		if err := decodeJSONBytes([]byte(body), &d); err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("decode error %v is %s", err, c)
			}
			return
		}
		dto := d.risk()
		rk, err := dto.toRisk()
		if err != nil {
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Fatalf("toRisk error %v", err)
			}
			return
		}
		if (d.Due == "") != rk.Due.IsZero() || (d.AcceptedUntil == "") != rk.AcceptedUntil.IsZero() {
			t.Fatalf("dates %q %q became %v %v", d.Due, d.AcceptedUntil, rk.Due, rk.AcceptedUntil)
		}
		if err := rk.Validate(); err != nil && bulwark.ErrorCode(err) != bulwark.EINVALID {
			t.Fatalf("validate error %v", err)
		}
	})
}
