package api

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
)

func incidentBody(title string, affected ...string) string {
	var entries []string
	for _, a := range affected {
		id, eff, _ := strings.Cut(a, ":")
		entries = append(entries, fmt.Sprintf(`{"id":%q,"effect":%q}`, id, eff))
	}
	return fmt.Sprintf(`{"title":%q,"threat":"ransomware","description":"secret detail of %s","affected":[%s]}`, title, title, strings.Join(entries, ","))
}

type incidentResp struct {
	bulwark.Incident
	Clock []json.RawMessage `json:"clock"`
}

// TestIncidentsOverAPI walks an incident through the API: report, read by
// each party, tasks, severity, phases, review, timeline, clock, graph.
func TestIncidentsOverAPI(t *testing.T) {
	w := newWorld(t, auth.Options{})
	// The port (private) shares its city model with the city: the city
	// coordinates what the port reports.
	r := w.do("port/analyst", "POST", "/api/v1/incidents", "application/json", incidentBody("Terminal encrypted", "port-sys-1:down"))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	inc := decodeBody[incidentResp](t, r)
	if r.header.Get("Location") != "/api/v1/incidents/"+inc.ID || inc.Owner != "port" || inc.Phase != bulwark.PhaseDetection || len(inc.Tasks) == 0 {
		t.Fatalf("created %+v", inc)
	}
	var parties []string
	for _, p := range inc.Parties {
		parties = append(parties, p.Org+":"+string(p.Role))
	}
	// port-svc-1 (1,000 people, availability high) down: high, which
	// reaches the city (coordinator) through the port's sharing.
	if inc.Severity.Level != bulwark.SeverityHigh || strings.Join(parties, " ") != "port:reporter city:coordinator" || inc.Impact.ServicesDown != 1 {
		t.Errorf("severity %s, parties %v, impact %+v", inc.Severity.Level, parties, inc.Impact)
	}
	path := "/api/v1/incidents/" + inc.ID

	w.run(t, []apiCase{
		{name: "city reads it", as: "city/viewer", method: "GET", path: path, status: 200},
		{name: "list as port", as: "port/viewer", method: "GET", path: "/api/v1/incidents?active=true&min_level=high", status: 200, check: func(t *testing.T, r response) {
			if l := decodeBody[struct{ Items []bulwark.Incident }](t, r).Items; len(l) != 1 || l[0].ID != inc.ID {
				t.Errorf("items %+v", l)
			}
		}},
		{name: "list filter typo", as: "port/viewer", method: "GET", path: "/api/v1/incidents?actve=true", status: 400},
		{name: "bad min_level", as: "port/viewer", method: "GET", path: "/api/v1/incidents?min_level=9", status: 400},
		{name: "viewer reports", as: "port/viewer", method: "POST", path: "/api/v1/incidents", ctype: "application/json", body: incidentBody("x"), status: 403},
		{name: "unknown entity", as: "port/analyst", method: "POST", path: "/api/v1/incidents", ctype: "application/json", body: incidentBody("x", "nope-1:down"), status: 422,
			check: wantMessage("affected[0].id", "that you can see")},
		{name: "bad effect", as: "port/analyst", method: "POST", path: "/api/v1/incidents", ctype: "application/json", body: incidentBody("x", "port-sys-1:exploded"), status: 422,
			check: wantMessage("affected[0].effect", "down, degraded or compromised")},
		{name: "bad time", as: "port/analyst", method: "POST", path: "/api/v1/incidents", ctype: "application/json", body: `{"title":"x","detected_at":"yesterday"}`, status: 400},
		{name: "override without reason", as: "port/analyst", method: "POST", path: path + "/severity", ctype: "application/json", body: `{"level":5}`, status: 400},
		{name: "override", as: "city/analyst", method: "POST", path: path + "/severity", ctype: "application/json", body: `{"level":4,"reason":"port security plan invoked"}`, status: 200,
			check: func(t *testing.T, r response) {
				if s := decodeBody[incidentResp](t, r).Severity; s.Level != 4 || s.Computed != 3 || s.Override == nil || !strings.Contains(s.Override.By, "city") {
					t.Errorf("severity %+v", s)
				}
			}},
		{name: "phase", as: "port/analyst", method: "POST", path: path + "/phase", ctype: "application/json", body: `{"phase":"containment","note":"isolated"}`, status: 200},
		{name: "close too early", as: "port/analyst", method: "POST", path: path + "/phase", ctype: "application/json", body: `{"phase":"closed"}`, status: 409},
		{name: "bad phase", as: "port/analyst", method: "POST", path: path + "/phase", ctype: "application/json", body: `{"phase":"triage"}`, status: 400},
		{name: "task", as: "port/analyst", method: "PATCH", path: path + "/tasks/t1", ctype: "application/json", body: `{"status":"done","note":"bridge open"}`, status: 200,
			check: func(t *testing.T, r response) {
				if tk := decodeBody[bulwark.IncidentTask](t, r); tk.Status != bulwark.TaskDone || tk.Rev != 2 {
					t.Errorf("task %+v", tk)
				}
			}},
		{name: "task unknown", as: "port/analyst", method: "PATCH", path: path + "/tasks/t999", ctype: "application/json", body: `{"status":"done"}`, status: 404},
		{name: "note", as: "city/analyst", method: "POST", path: path + "/timeline", ctype: "application/json", body: `{"text":"city EOC informed","internal":true}`, status: 201},
		{name: "timeline", as: "port/viewer", method: "GET", path: path + "/timeline", status: 200, check: func(t *testing.T, r response) {
			for _, e := range decodeBody[struct{ Items []bulwark.TimelineEntry }](t, r).Items {
				if strings.Contains(e.Text, "EOC") {
					t.Error("the port reads the city's internal note")
				}
			}
		}},
		{name: "clock", as: "port/viewer", method: "GET", path: path + "/clock", status: 200},
		{name: "graph", as: "port/viewer", method: "GET", path: path + "/graph", status: 200, check: func(t *testing.T, r response) {
			g := decodeBody[struct {
				Nodes []struct{ ID, State string }
			}](t, r)
			if len(g.Nodes) < 2 {
				t.Errorf("graph %+v", g)
			}
		}},
		{name: "no review yet", as: "port/viewer", method: "GET", path: path + "/review", status: 404},
		{name: "review", as: "port/analyst", method: "PUT", path: path + "/review", ctype: "application/json",
			body:   `{"rev":0,"summary":"restored","what_worked":["offline backups"],"follow_ups":[{"kind":"task","title":"Drill","due":"2027-01-31"},{"kind":"risk","title":"TOS ransomware","likelihood":3,"impact":4}]}`,
			status: 200, check: func(t *testing.T, r response) {
				rv := decodeBody[bulwark.IncidentReview](t, r)
				if rv.Rev != 1 || !strings.HasPrefix(rv.FollowUps[0].Ref, "task:") || !strings.HasPrefix(rv.FollowUps[1].Ref, "risk:") {
					t.Errorf("review %+v", rv)
				}
			}},
		{name: "stale review", as: "city/analyst", method: "PUT", path: path + "/review", ctype: "application/json", body: `{"rev":0,"summary":"x"}`, status: 409},
		{name: "review bad kind", as: "city/analyst", method: "PUT", path: path + "/review", ctype: "application/json", body: `{"rev":1,"follow_ups":[{"kind":"wish","title":"x"}]}`, status: 422},
		{name: "review bad date", as: "city/analyst", method: "PUT", path: path + "/review", ctype: "application/json", body: `{"rev":1,"follow_ups":[{"kind":"task","title":"x","due":"soon"}]}`, status: 400},
		{name: "service raci", as: "port/viewer", method: "GET", path: "/api/v1/services/port-svc-1/raci", status: 200, check: func(t *testing.T, r response) {
			m := decodeBody[struct{ RACI bulwark.RACI }](t, r).RACI
			if len(m.Columns) == 0 || m.Columns[0] != "port" || len(m.Rows) != 7 {
				t.Errorf("raci %+v", m)
			}
		}},
		{name: "raci of a hidden service", as: "hospital/viewer", method: "GET", path: "/api/v1/services/port-svc-1/raci", status: 404},
	})
}

// TestIncidentsCrossTenant: an organization that takes no part in an
// incident cannot tell it from a missing one, on any route, read or write.
func TestIncidentsCrossTenant(t *testing.T) {
	w := newWorld(t, auth.Options{})
	r := w.do("hospital/analyst", "POST", "/api/v1/incidents", "application/json", incidentBody("Hospital EHR down", "hospital-sys-1:down"))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	id := decodeBody[incidentResp](t, r).ID
	const missing = "inc-0000000000000000"
	for _, u := range []string{"port/admin", "city/admin", "power/analyst", "water/viewer", "state/admin"} {
		for _, rq := range []struct{ method, suffix, body string }{
			{"GET", "", ""}, {"GET", "/timeline", ""}, {"GET", "/clock", ""}, {"GET", "/graph", ""}, {"GET", "/review", ""},
			{"POST", "/phase", `{"phase":"containment"}`}, {"POST", "/severity", `{"level":5,"reason":"x"}`}, {"PATCH", "/tasks/t1", `{"status":"done"}`},
			{"POST", "/timeline", `{"text":"hello"}`}, {"PUT", "/review", `{"rev":0,"summary":"x"}`},
			{"PATCH", "", `{"public_action":"Stay home"}`},
		} {
			hidden := w.do(u, rq.method, "/api/v1/incidents/"+id+rq.suffix, "application/json", rq.body)
			miss := w.do(u, rq.method, "/api/v1/incidents/"+missing+rq.suffix, "application/json", rq.body)
			if hidden.status == http.StatusForbidden && miss.status == http.StatusForbidden {
				continue // the role is refused before anything is read
			}
			if hidden.status != http.StatusNotFound {
				t.Errorf("%s %s%s as %s: %s", rq.method, id, rq.suffix, u, hidden)
			}
			sameAsMissing(t, hidden, id, miss, missing)
			if strings.Contains(string(hidden.body), "EHR") || strings.Contains(string(hidden.body), "secret") {
				t.Errorf("%s leaks the incident: %s", u, hidden)
			}
		}
		list := decodeBody[struct{ Items []bulwark.Incident }](t, w.do(u, "GET", "/api/v1/incidents", "", ""))
		if len(list.Items) != 0 {
			t.Errorf("%s lists %d incidents", u, len(list.Items))
		}
	}
	// Nothing changed for the hospital.
	got := decodeBody[incidentResp](t, w.do("hospital/viewer", "GET", "/api/v1/incidents/"+id, "", ""))
	if got.Phase != bulwark.PhaseDetection || got.Severity.Override != nil || got.Rev != 1 {
		t.Errorf("the hospital's incident changed: %+v", got.Incident)
	}
}

func TestPlaybooksAndDirectoryOverAPI(t *testing.T) {
	w := newWorld(t, auth.Options{})
	list := decodeBody[struct{ Items []playbookSummary }](t, w.do("port/viewer", "GET", "/api/v1/playbooks", "", ""))
	if len(list.Items) != 6 {
		t.Fatalf("%d playbooks", len(list.Items))
	}
	detail := w.do("port/viewer", "GET", "/api/v1/playbooks/ransomware", "", "")
	src := decodeBody[struct{ Source string }](t, detail).Source
	if detail.status != 200 || !strings.Contains(src, "id: ransomware") {
		t.Fatalf("detail %s", bulwark.Abbrev(detail.String(), 300))
	}
	v2 := strings.Replace(src, "version: 1", "version: 2", 1)
	w.run(t, []apiCase{
		{name: "validate ok", as: "port/analyst", method: "POST", path: "/api/v1/playbooks/validate", ctype: "application/yaml", body: src, status: 200},
		{name: "validate located", as: "port/analyst", method: "POST", path: "/api/v1/playbooks/validate", ctype: "application/yaml",
			body: strings.Replace(src, "responsible: it-operations", "responsible: janitor", 1), status: 422, check: func(t *testing.T, r response) {
				e := decodeBody[errorBody](t, r).Error
				if len(e.Details) != 1 || e.Details[0].File != "request.yaml" || e.Details[0].Line == 0 || !strings.HasSuffix(e.Details[0].Field, ".responsible") ||
					!strings.Contains(e.Details[0].Message, `role "janitor" is not declared`) {
					t.Errorf("details %+v", e.Details)
				}
			}},
		{name: "validate as viewer", as: "port/viewer", method: "POST", path: "/api/v1/playbooks/validate", ctype: "application/yaml", body: src, status: 403},
		{name: "validate wrong type", as: "port/analyst", method: "POST", path: "/api/v1/playbooks/validate", ctype: "image/png", body: src, status: 415},
		{name: "validate too large", as: "port/analyst", method: "POST", path: "/api/v1/playbooks/validate", ctype: "application/yaml", body: strings.Repeat("#", 1<<20+10), status: 413},
		{name: "put as a private operator", as: "port/admin", method: "PUT", path: "/api/v1/playbooks/ransomware", ctype: "application/yaml", body: v2, status: 403},
		{name: "put same version", as: "city/admin", method: "PUT", path: "/api/v1/playbooks/ransomware", ctype: "application/yaml", body: src, status: 409},
		{name: "put other id", as: "city/admin", method: "PUT", path: "/api/v1/playbooks/ddos", ctype: "application/yaml", body: v2, status: 400},
		{name: "put", as: "city/admin", method: "PUT", path: "/api/v1/playbooks/ransomware", ctype: "application/yaml", body: v2, status: 200},
		{name: "adapted is in force", as: "hospital/viewer", method: "GET", path: "/api/v1/playbooks/ransomware", status: 200, check: func(t *testing.T, r response) {
			if p := decodeBody[struct{ Playbook bulwark.Playbook }](t, r).Playbook; p.Version != 2 || p.Builtin {
				t.Errorf("playbook %d builtin %v", p.Version, p.Builtin)
			}
		}},
		{name: "old version", as: "hospital/viewer", method: "GET", path: "/api/v1/playbooks/ransomware?version=1", status: 200},
		{name: "missing version", as: "hospital/viewer", method: "GET", path: "/api/v1/playbooks/ransomware?version=7", status: 404},
		{name: "directory put", as: "water/analyst", method: "PUT", path: "/api/v1/directory/water", ctype: "application/yaml",
			body: "organization: water\ncontacts:\n  - {name: Ana, email: ana@water.example, roles: [ot-engineering], on_call: [{days: daily, from: '00:00', to: '24:00'}]}\n", status: 200},
		{name: "directory of another", as: "water/analyst", method: "PUT", path: "/api/v1/directory/city", ctype: "application/yaml",
			body: "organization: city\ncontacts: []\n", status: 403},
		{name: "directory path mismatch", as: "water/analyst", method: "PUT", path: "/api/v1/directory/water", ctype: "application/yaml",
			body: "organization: city\ncontacts: []\n", status: 400},
		{name: "directory located", as: "water/analyst", method: "PUT", path: "/api/v1/directory/water", ctype: "application/yaml",
			body: "organization: water\ncontacts:\n  - {name: B, phone: '1', on_call: [{days: someday, from: '00:00', to: '01:00'}]}\n", status: 422},
		{name: "directory stale", as: "water/analyst", method: "PUT", path: "/api/v1/directory/water?rev=0", ctype: "application/yaml",
			body: "organization: water\ncontacts: []\n", status: 409},
		{name: "directory read by the city", as: "city/viewer", method: "GET", path: "/api/v1/directory/water", status: 200},
		{name: "directory hidden from the port", as: "port/viewer", method: "GET", path: "/api/v1/directory/water", status: 404},
	})
}

// TestIncidentRoutesHostile sends hostile path values, queries and bodies
// to the incident routes: no 5xx, no internals, and no incident created.
func TestIncidentRoutesHostile(t *testing.T) {
	w := newWorld(t, auth.Options{})
	rng := rand.New(rand.NewPCG(7, 7))
	bodies := append([]string{`{"title":"x","affected":[{"id":"port-sys-1","effect":"down","since":"x"}]}`, `{"title":"` + strings.Repeat("t", 600) + `"}`,
		`{"level":99,"reason":"x"}`, `{"status":"finished"}`, `{"choose":"` + strings.Repeat("c", 300) + `"}`, `{"rev":-1}`,
		"id: x\nversion: 1\ntitle: t\nthreat: ransomware\nroles: [{id: r, name: R}]\nphases: [{phase: detection, tasks: [{id: t, title: T, responsible: r, decision: &a {question: q}}]}]\n",
		"organization: water\ncontacts: [" + strings.Repeat("{name: x, phone: '1'},", 600) + "]\n"}, hostileBodies...)
	n := 0
	for _, rt := range w.api.incidentRoutes() {
		method, pattern, _ := strings.Cut(rt.pattern, " ")
		for range 40 {
			path := pattern
			for _, wc := range []string{"{id}", "{task}"} {
				path = strings.Replace(path, wc, hostileIDs[rng.IntN(len(hostileIDs))], 1)
			}
			if rng.IntN(2) == 0 {
				path += "?" + hostileQueries[rng.IntN(len(hostileQueries))]
			}
			body := bodies[rng.IntN(len(bodies))]
			ctype := []string{"application/json", "application/yaml", "", "text/html"}[rng.IntN(4)]
			r := w.do([]string{"port/admin", "city/analyst", "hospital/viewer"}[rng.IntN(3)], method, path, ctype, body)
			n++
			if r.status >= 500 || r.status < 400 && method != "GET" {
				t.Errorf("%s %s = %s", method, path, bulwark.Abbrev(r.String(), 200))
			}
			checkNoInternals(t, r)
		}
	}
	list, err := w.st.ListIncidents(systemCtx(), bulwark.IncidentFilter{})
	if err != nil || len(list) != 0 {
		t.Errorf("hostile requests created %d incidents (%v)", len(list), err)
	}
	t.Logf("%d hostile requests", n)
}

// FuzzIncidentBodies: any body is refused with EINVALID (or ETOOLARGE) or
// decodes into an incident and a review whose times came from their strings.
func FuzzIncidentBodies(f *testing.F) {
	for _, s := range []string{incidentBody("x", "a:down"), `{"title":"x","detected_at":"2026-01-02T03:04:05Z","affected":[{"id":"a","effect":"down","since":"2026-01-02T03:00:00+01:00"}]}`,
		`{"rev":1,"follow_ups":[{"kind":"task","title":"t","due":"2027-02-30"}]}`, `{"title":"x","title":"y"}`, `{"Title":"x"}`, `[]`, `{"affected":[1]}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var d incidentDTO
		if err := decodeJSONBytes([]byte(body), &d); err == nil {
			inc, err := d.toIncident()
			if err != nil {
				if bulwark.ErrorCode(err) != bulwark.EINVALID {
					t.Fatalf("toIncident error %v", err)
				}
			} else {
				if (d.DetectedAt == "") != inc.DetectedAt.IsZero() || len(inc.Affected) != len(d.Affected) {
					t.Fatalf("decoded %+v from %+v", inc, d)
				}
				if err := inc.ValidateNew(); err != nil && bulwark.ErrorCode(err) != bulwark.EINVALID {
					t.Fatalf("validate error %v", err)
				}
			}
		} else if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
			t.Fatalf("decode error %v is %s", err, c)
		}
		var r reviewDTO
		if err := decodeJSONBytes([]byte(body), &r); err == nil {
			rv, err := r.toReview()
			if err != nil {
				if bulwark.ErrorCode(err) != bulwark.EINVALID {
					t.Fatalf("toReview error %v", err)
				}
				return
			}
			if err := rv.Validate(); err != nil && bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Fatalf("validate error %v", err)
			}
		}
	})
}

// TestIncidentPublicActionOverAPI: public_action is taken on create and
// changed with PATCH by the reporter and coordinators; bad text, a missing
// field and roles that may not write are refused.
func TestIncidentPublicActionOverAPI(t *testing.T) {
	w := newWorld(t, auth.Options{})
	body := strings.Replace(incidentBody("Terminal encrypted", "port-sys-1:down"), `{"title"`, `{"public_action":"Avoid the harbour area.","title"`, 1)
	r := w.do("port/analyst", "POST", "/api/v1/incidents", "application/json", body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	inc := decodeBody[incidentResp](t, r)
	if inc.PublicAction != "Avoid the harbour area." {
		t.Errorf("created with public_action %q", inc.PublicAction)
	}
	path := "/api/v1/incidents/" + inc.ID
	action := func(want string) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			if got := decodeBody[incidentResp](t, r).PublicAction; got != want {
				t.Errorf("public_action %q, want %q", got, want)
			}
		}
	}
	w.run(t, []apiCase{
		{name: "control character on create", as: "port/analyst", method: "POST", path: "/api/v1/incidents", ctype: "application/json",
			body: strings.Replace(body, "harbour area.", `harbour\u0007`, 1), status: 422},
		{name: "coordinator changes it", as: "city/analyst", method: "PATCH", path: path, ctype: "application/json", body: `{"public_action":"Use the north gate only."}`, status: 200,
			check: action("Use the north gate only.")},
		{name: "reads it back", as: "port/viewer", method: "GET", path: path, status: 200, check: action("Use the north gate only.")},
		{name: "unchanged", as: "port/analyst", method: "PATCH", path: path, ctype: "application/json", body: `{"public_action":"Use the north gate only."}`, status: 409},
		{name: "missing field", as: "port/analyst", method: "PATCH", path: path, ctype: "application/json", body: `{}`, status: 400},
		{name: "too long", as: "port/analyst", method: "PATCH", path: path, ctype: "application/json",
			body: `{"public_action":"` + strings.Repeat("a", bulwark.MaxPublicAction+1) + `"}`, status: 422},
		{name: "newline", as: "port/analyst", method: "PATCH", path: path, ctype: "application/json", body: `{"public_action":"a\nb"}`, status: 422},
		{name: "viewer", as: "port/viewer", method: "PATCH", path: path, ctype: "application/json", body: `{"public_action":"x"}`, status: 403},
		{name: "withdrawn", as: "port/analyst", method: "PATCH", path: path, ctype: "application/json", body: `{"public_action":""}`, status: 200, check: action("")},
	})
}
