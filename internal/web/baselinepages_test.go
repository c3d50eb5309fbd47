package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/baseline"
	"bulwark/internal/web/webtest"
)

// baselineEnv is newEnv with a city administrator of the water department,
// a CSF 2.0 assessment of the water department with two results, a CPG
// assessment with one, and a CPG profile published by the water
// department that applies to every organization.
type baselineEnv struct {
	*env
	csf, cpg string // assessment IDs
}

func alice() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{Org: webtest.OrgWater, Role: bulwark.RoleAnalyst, Name: "alice@water.example"})
}

// cityAdmin is an administrator of the water department, a city
// organization: only such publish profiles.
func cityAdmin() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{Org: webtest.OrgWater, Role: bulwark.RoleAdmin, Name: "ada@water.example"})
}

func newBaselineEnv(t *testing.T, notes string) *baselineEnv {
	t.Helper()
	e := newEnv(t, webtest.Options{Meters: 3})
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	a := auth.New(e.st, auth.Options{Argon: cheap}, nil)
	hash, err := a.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateUser(sys, &bulwark.User{Org: webtest.OrgWater, Email: "ada@water.example", Name: "Ada", Role: bulwark.RoleAdmin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	bs := baseline.New(e.st, nil)
	ctx := alice()
	csf := &bulwark.Assessment{Catalog: "csf-2.0", ScopeKind: bulwark.ScopeOrganization, Scope: webtest.OrgWater, Title: "Water CSF baseline"}
	cpg := &bulwark.Assessment{Catalog: "cpg-2.0", ScopeKind: bulwark.ScopeOrganization, Scope: webtest.OrgWater, Title: "Water CPG check"}
	for _, as := range []*bulwark.Assessment{csf, cpg} {
		if err := bs.CreateAssessment(ctx, as); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		id string
		ch bulwark.ResultChange
	}{
		{csf.ID, bulwark.ResultChange{Control: "GV.OC-01", Status: bulwark.StatusImplemented, CurrentTier: 3, TargetTier: 4, Notes: notes,
			Evidence: []bulwark.Evidence{{Kind: "link", Title: "Mission statement " + notes, URL: "https://intranet.example/mission"}, {Kind: "note", Title: notes + " reviewed"}}}},
		{csf.ID, bulwark.ResultChange{Control: "ID.AM-01", Status: bulwark.StatusPartial, CurrentTier: 1, TargetTier: 3}},
		{cpg.ID, bulwark.ResultChange{Control: "1.A", Status: bulwark.StatusImplemented}},
	} {
		if _, err := bs.SetResult(ctx, c.id, c.ch); err != nil {
			t.Fatalf("set %s: %v", c.ch.Control, err)
		}
	}
	p := &bulwark.Profile{ID: "city-minimum", Name: "City minimum " + notes, Description: notes, Catalog: "cpg-2.0", AppliesTo: "all",
		Requirements: []bulwark.ProfileRequirement{
			{Control: "1.A", MinStatus: bulwark.StatusImplemented},
			{Control: "1.B", MinStatus: bulwark.StatusPartial},
			{Control: "2.A", MinStatus: bulwark.StatusPartial},
		}}
	if err := bs.PutProfile(cityAdmin(), p); err != nil {
		t.Fatal(err)
	}
	return &baselineEnv{env: e, csf: csf.ID, cpg: cpg.ID}
}

// postJSON posts a form as the editor's script does (asking for JSON).
func (e *env) postJSON(c *http.Client, path string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		e.t.Fatalf("POST %s: %d, body is not JSON: %v", path, res.StatusCode, err)
	}
	return res.StatusCode, out
}

func TestBaselinePages(t *testing.T) {
	e := newBaselineEnv(t, "checked with the board")
	analyst, viewer := e.loggedIn("alice@water.example"), e.loggedIn("victor@water.example")
	editor := "/assessments/" + e.csf
	tests := []struct {
		path       string
		want       []string
		wantEditor bool // status selects for the analyst, none for the viewer
	}{
		{"/readiness", []string{"Readiness index", `id="trend-chart"`, `data-chart="line"`, `id="coverage-chart"`, "CSF 2.0 baseline coverage",
			"Incident time to detect and respond", `href="/readiness/report.pdf"`, `href="/readiness/report.html"`, "Govern"}, false},
		{"/assessments", []string{"Water CSF baseline", "Water CPG check", "city-water", "csf-2.0", "2 of 106", "1 of 34"}, false},
		{editor, []string{"Water CSF baseline", "GV.OC-01", "The organizational mission is understood", "checked with the board",
			"Mission statement", `href="https://intranet.example/mission"`, "rev 1 by alice@water.example", `id="coverage"`, "Govern", "export.json", "export.csv",
			`id="c-ID.AM-01"`}, true},
		{"/assessments/" + e.cpg, []string{"Establish Cybersecurity Responsibilities", "1.A", "rev 1"}, true},
		{editor + "/results/GV.OC-01", []string{"GV.OC-01", "revisions", "implemented", "checked with the board", "alice@water.example"}, false},
		{"/profiles", []string{"City minimum", "city-minimum", "cpg-2.0", "all"}, false},
		{"/profiles/city-minimum", []string{`id="matrix"`, "City Water Department", "cell-met", "cell-not-assessed", "Organizations meeting", "Legend",
			"Establish Cybersecurity Responsibilities"}, false},
		{"/gaps", []string{`id="gaps"`, "/assessments/" + e.csf + "#c-", "not assessed", "Score", "supports"}, false},
	}
	for _, tc := range tests {
		for _, who := range []struct {
			name string
			c    *http.Client
		}{{"analyst", analyst}, {"viewer", viewer}} {
			t.Run(who.name+tc.path, func(t *testing.T) {
				res, body := e.get(who.c, tc.path)
				if res.StatusCode != 200 {
					t.Fatalf("status %d\n%s", res.StatusCode, body)
				}
				for _, w := range tc.want {
					if !strings.Contains(body, w) {
						t.Errorf("page lacks %q", w)
					}
				}
				selects := strings.Contains(body, `name="status"`)
				if want := tc.wantEditor && who.name == "analyst"; selects != want {
					t.Errorf("status inputs shown: %v, want %v", selects, want)
				}
				if tc.wantEditor && who.name == "viewer" && !strings.Contains(body, `id="read-only"`) {
					t.Error("the viewer is not told the assessment is read-only")
				}
			})
		}
	}
	// Only writers are offered the form that starts an assessment.
	if _, body := e.get(analyst, "/assessments"); !strings.Contains(body, `id="assessment-form"`) {
		t.Error("the analyst has no form to start an assessment")
	}
	if _, body := e.get(viewer, "/assessments"); strings.Contains(body, `id="assessment-form"`) {
		t.Error("the viewer is offered the form to start an assessment")
	}
	// Tiers are a CSF notion: the CPG editor has no tier selects.
	if _, body := e.get(analyst, "/assessments/"+e.cpg); strings.Contains(body, `name="current_tier"`) {
		t.Error("the CPG editor offers tiers")
	}
	for _, path := range []string{"/assessments/nope", "/assessments/" + e.csf + "/results/GV", "/assessments/" + e.csf + "/results/XX-99", "/profiles/nope"} {
		if res, body := e.get(analyst, path); res.StatusCode != 404 || !strings.Contains(body, "Not found") {
			t.Errorf("GET %s: %d, want the 404 page", path, res.StatusCode)
		}
	}
}

// TestReadinessNotMeasured checks that an indicator without data shows as
// "not measured" (greyed), never as zero, and that the index does too when
// nothing at all is measured.
func TestReadinessNotMeasured(t *testing.T) {
	e := newEnv(t, webtest.Options{Meters: 3})
	_, body := e.get(e.loggedIn("pat@port.example"), "/readiness")
	row := regexp.MustCompile(`(?s)<tr id="ind-training" class="unmeasured">.*?</tr>`).FindString(body)
	if row == "" || !strings.Contains(row, "not measured") || strings.Contains(row, "0.0%") {
		t.Errorf("training indicator row = %q", row)
	}
	if !strings.Contains(body, `<tr id="ind-incident-response" class="unmeasured">`) {
		t.Error("incident response is not greyed")
	}
	if strings.Contains(body, `id="drivers"`) || !strings.Contains(body, "No snapshot recorded yet") {
		t.Error("drivers shown without a recorded snapshot")
	}
}

func TestRecordReadiness(t *testing.T) {
	e := newBaselineEnv(t, "x")
	admin, analyst := e.loggedIn("ada@water.example"), e.loggedIn("alice@water.example")
	if _, body := e.get(analyst, "/readiness"); strings.Contains(body, `id="record-form"`) {
		t.Error("an analyst is offered to record the index")
	}
	if res, body := e.post(analyst, "/readiness/record", url.Values{"csrf_token": {e.csrf(analyst)}}); res.StatusCode != 403 ||
		!strings.Contains(body, "only administrators of a city organization") {
		t.Errorf("analyst records: %d", res.StatusCode)
	}
	_, body := e.get(admin, "/readiness")
	if !strings.Contains(body, `id="record-form"`) {
		t.Fatal("the city administrator is not offered to record the index")
	}
	if res, _ := e.post(admin, "/readiness/record", url.Values{}); res.StatusCode != 403 {
		t.Errorf("record without CSRF token: %d, want 403", res.StatusCode)
	}
	res, _ := e.post(admin, "/readiness/record", url.Values{"csrf_token": {e.csrf(admin)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/readiness?recorded=1" {
		t.Fatalf("record: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = e.get(admin, "/readiness?recorded=1")
	for _, want := range []string{`id="recorded"`, "Last recorded snapshot", `&#34;values&#34;:[`} {
		if !strings.Contains(body, want) {
			t.Errorf("after recording, the page lacks %q", want)
		}
	}
	if strings.Contains(body, "No snapshot with a measured index") {
		t.Error("the trend is empty after recording")
	}
	// A change after the snapshot shows up among the drivers.
	bs := baseline.New(e.st, nil)
	if _, err := bs.SetResult(alice(), e.csf, bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusImplemented}); err != nil {
		t.Fatal(err)
	}
	_, body = e.get(admin, "/readiness")
	if !strings.Contains(body, `id="drivers"`) || !strings.Contains(body, "CSF 2.0 baseline coverage") {
		t.Error("the change since the snapshot is not explained")
	}
}

func TestReadinessReportDownload(t *testing.T) {
	e := newBaselineEnv(t, "x")
	c := e.loggedIn("victor@water.example")
	for _, tc := range []struct{ path, ctype, start, contains string }{
		{"/readiness/report.html", "text/html", "<!", "Cyber readiness report"},
		{"/readiness/report.pdf", "application/pdf", "%PDF-", ""},
	} {
		res, body := e.get(c, tc.path)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", tc.path, res.StatusCode)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s: Content-Type %q", tc.path, res.Header.Get("Content-Type"))
		}
		if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "readiness-report-") {
			t.Errorf("%s: Content-Disposition %q", tc.path, cd)
		}
		if !strings.HasPrefix(strings.ToLower(body), strings.ToLower(tc.start)) || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: body starts %.40q", tc.path, body)
		}
	}
}

func TestAssessmentExport(t *testing.T) {
	e := newBaselineEnv(t, "x")
	c := e.loggedIn("victor@water.example")
	res, body := e.get(c, "/assessments/"+e.csf+"/export.json")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export.json: %d %q", res.StatusCode, res.Header.Get("Content-Disposition"))
	}
	var doc struct {
		AR struct {
			Results []struct {
				Findings []any `json:"findings"`
			} `json:"results"`
		} `json:"assessment-results"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("export.json is not JSON: %v", err)
	}
	if len(doc.AR.Results) != 1 || len(doc.AR.Results[0].Findings) != 2 {
		t.Errorf("export.json: %+v, want one result with two findings", doc.AR)
	}
	res, body = e.get(c, "/assessments/"+e.csf+"/export.csv")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.Contains(body, "GV.OC-01") {
		t.Errorf("export.csv: %d %q", res.StatusCode, body)
	}
	if res, _ := e.get(e.loggedIn("bob@port.example"), "/assessments/"+e.csf+"/export.csv"); res.StatusCode != 404 {
		t.Errorf("another organization exports the assessment: %d", res.StatusCode)
	}
}

func TestAssessmentTenancy(t *testing.T) {
	e := newBaselineEnv(t, "x")
	for _, who := range []string{"bob@port.example", "pat@port.example"} {
		c := e.loggedIn(who)
		for _, path := range []string{"/assessments/" + e.csf, "/assessments/" + e.csf + "/results/GV.OC-01"} {
			if res, _ := e.get(c, path); res.StatusCode != 404 {
				t.Errorf("%s GET %s: %d, want 404", who, path, res.StatusCode)
			}
		}
		if _, body := e.get(c, "/assessments"); strings.Contains(body, e.csf) || strings.Contains(body, "Water CSF baseline") {
			t.Errorf("%s sees the water department's assessments", who)
		}
		form := url.Values{"csrf_token": {e.csrf(c)}, "status": {"implemented"}, "base_rev": {"1"}}
		if res, _ := e.post(c, "/assessments/"+e.csf+"/results/GV.OC-01", form); res.StatusCode != 404 {
			t.Errorf("%s POST a result: %d, want 404", who, res.StatusCode)
		}
		if _, body := e.get(c, "/gaps"); strings.Contains(body, e.csf) {
			t.Errorf("%s sees the water department's gaps", who)
		}
	}
	// The port's analyst cannot assess the water department either.
	c := e.loggedIn("pat@port.example")
	res, body := e.post(c, "/assessments", url.Values{"csrf_token": {e.csrf(c)}, "catalog": {"csf-2.0"}, "scope_kind": {"organization"}, "scope": {webtest.OrgWater}})
	if res.StatusCode != 404 || !strings.Contains(body, "not found") {
		t.Errorf("port analyst assesses the water department: %d", res.StatusCode)
	}
}

func TestCreateAssessment(t *testing.T) {
	e := newBaselineEnv(t, "x")
	c := e.loggedIn("alice@water.example")
	token := e.csrf(c)
	res, _ := e.post(c, "/assessments", url.Values{"csrf_token": {token}, "catalog": {"cpg-2.0"}, "scope_kind": {"system"}, "scope": {"water-scada"},
		"title": {"SCADA <goals>"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/assessments/asm-") {
		t.Fatalf("create: %d %q", res.StatusCode, loc)
	}
	if _, body := e.get(c, loc); !strings.Contains(body, "SCADA &lt;goals&gt;") || !strings.Contains(body, "water-scada") {
		t.Error("the new assessment's editor lacks its title or scope")
	}
	// The organization is the default scope.
	res, _ = e.post(c, "/assessments", url.Values{"csrf_token": {token}, "catalog": {"csf-2.0"}, "scope_kind": {"organization"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("create with the default scope: %d", res.StatusCode)
	}
	for _, tc := range []struct {
		form   url.Values
		status int
		msg    string
	}{
		{url.Values{"catalog": {"nope"}, "scope_kind": {"organization"}}, 404, "catalog &#34;nope&#34; not found"},
		{url.Values{"catalog": {"csf-2.0"}, "scope_kind": {"planet"}, "scope": {"x"}}, 400, "an assessment is of an organization, a service or a system"},
		{url.Values{"catalog": {"csf-2.0"}, "scope_kind": {"service"}, "scope": {"port-ops"}}, 404, "not found"},
	} {
		tc.form.Set("csrf_token", token)
		res, body := e.post(c, "/assessments", tc.form)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.msg) || !strings.Contains(body, `id="assessment-error"`) {
			t.Errorf("create %v: %d, want %d with %q", tc.form, res.StatusCode, tc.status, tc.msg)
		}
	}
	v := e.loggedIn("victor@water.example")
	if res, _ := e.post(v, "/assessments", url.Values{"csrf_token": {e.csrf(v)}, "catalog": {"csf-2.0"}, "scope_kind": {"organization"}}); res.StatusCode != 403 {
		t.Errorf("viewer creates an assessment: %d, want 403", res.StatusCode)
	}
	if res, _ := e.post(c, "/assessments", url.Values{"catalog": {"csf-2.0"}, "scope_kind": {"organization"}}); res.StatusCode != 403 {
		t.Errorf("create without CSRF token: %d, want 403", res.StatusCode)
	}
}

// TestSetResult saves a control from the plain form and as the editor's
// script does, with the refusals: stale base, bad status, viewer, no
// CSRF token, cross-site.
func TestSetResult(t *testing.T) {
	e := newBaselineEnv(t, "x")
	c := e.loggedIn("alice@water.example")
	token := e.csrf(c)
	path := "/assessments/" + e.csf + "/results/PR.AA-01"
	editor := "/assessments/" + e.csf

	// Without script: a plain form post, redirected back to the row.
	res, _ := e.post(c, path, url.Values{"csrf_token": {token}, "base_rev": {"0"}, "status": {"partial"}, "current_tier": {"2"}, "target_tier": {"3"},
		"notes": {"MFA for admins only"}, "new_title": {"MFA rollout plan"}, "new_url": {"https://wiki.example/mfa"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != editor+"?saved=PR.AA-01#c-PR.AA-01" {
		t.Fatalf("form post: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body := e.get(c, editor+"?saved=PR.AA-01")
	row := regexp.MustCompile(`(?s)<form [^>]*id="c-PR.AA-01".*?</form>`).FindString(body)
	for _, want := range []string{`name="base_rev" value="1"`, `<option value="partial" selected>`, "MFA for admins only", `href="https://wiki.example/mfa"`,
		`name="ev_url" value="https://wiki.example/mfa"`, "rev 1 by alice@water.example"} {
		if !strings.Contains(row, want) {
			t.Errorf("row after the form post lacks %q", want)
		}
	}
	if !strings.Contains(body, `id="editor-saved"`) {
		t.Error("no saved notice after the form post")
	}

	// As the script does: JSON back, evidence kept (the hidden fields).
	form := url.Values{"csrf_token": {token}, "base_rev": {"1"}, "status": {"implemented"}, "current_tier": {"3"}, "target_tier": {"3"},
		"notes": {"MFA everywhere"}, "ev_kind": {"link"}, "ev_title": {"MFA rollout plan"}, "ev_url": {"https://wiki.example/mfa"}, "ev_sha256": {""}, "ev_size": {"0"}}
	status, out := e.postJSON(c, path, form)
	if status != 200 || out["rev"] != 2.0 || out["status"] != "implemented" || out["assessor"] != "alice@water.example" {
		t.Fatalf("script save: %d %v", status, out)
	}
	if ev, _ := out["evidence"].([]any); len(ev) != 1 || ev[0].(map[string]any)["href"] != "https://wiki.example/mfa" {
		t.Errorf("evidence after the save: %v", out["evidence"])
	}

	// The same base again is stale: 409 naming who changed it.
	status, out = e.postJSON(c, path, form)
	if msg, _ := out["error"].(string); status != 409 || out["conflict"] != true || !strings.Contains(msg, "alice@water.example") || !strings.Contains(msg, "revision 2") {
		t.Errorf("stale save: %d %v", status, out)
	}
	res, body = e.post(c, path, form)
	if res.StatusCode != 409 || !strings.Contains(body, "reload and apply it again") || !strings.Contains(body, `class="ctl ctl-error"`) {
		t.Errorf("stale form post: %d", res.StatusCode)
	}

	// Removing evidence.
	form.Set("base_rev", "2")
	form.Set("ev_remove", "0")
	if status, out = e.postJSON(c, path, form); status != 200 || len(out["evidence"].([]any)) != 0 {
		t.Errorf("remove evidence: %d %v", status, out)
	}

	// Refusals.
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		msg    string
	}{
		{"bad status", url.Values{"status": {"done"}, "base_rev": {"3"}}, 400, `status &#34;done&#34; is not a status`},
		{"bad tier", url.Values{"status": {"partial"}, "current_tier": {"7"}, "base_rev": {"3"}}, 400, "current_tier &#34;7&#34;"},
		{"bad link", url.Values{"status": {"partial"}, "new_url": {"javascript:alert(1)"}, "base_rev": {"3"}}, 400, "a link needs an http(s) URL"},
		{"evidence out of step", url.Values{"status": {"partial"}, "ev_kind": {"link", "note"}, "ev_title": {"a"}, "base_rev": {"3"}}, 400, "do not line up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf_token", token)
			res, body := e.post(c, path, tc.form)
			if res.StatusCode != tc.status || !strings.Contains(body, tc.msg) {
				t.Errorf("%d, want %d with %q", res.StatusCode, tc.status, tc.msg)
			}
			status, out := e.postJSON(c, path, tc.form)
			if msg, _ := out["error"].(string); status != tc.status || !strings.Contains(msg, html.UnescapeString(tc.msg)) {
				t.Errorf("script: %d %v", status, out)
			}
		})
	}
	if res, _ := e.post(c, "/assessments/"+e.csf+"/results/GV", url.Values{"csrf_token": {token}, "status": {"partial"}}); res.StatusCode != 400 {
		t.Errorf("a function is not assessable: %d", res.StatusCode)
	}
	v := e.loggedIn("victor@water.example")
	if status, out := e.postJSON(v, path, url.Values{"csrf_token": {e.csrf(v)}, "status": {"partial"}, "base_rev": {"3"}}); status != 403 {
		t.Errorf("viewer saves: %d %v, want 403", status, out)
	}
	if res, _ := e.post(v, path, url.Values{"csrf_token": {e.csrf(v)}, "status": {"partial"}, "base_rev": {"3"}}); res.StatusCode != 403 {
		t.Errorf("viewer form post: %d, want 403", res.StatusCode)
	}
	if res, _ := e.post(c, path, url.Values{"status": {"partial"}, "base_rev": {"3"}}); res.StatusCode != 403 {
		t.Errorf("no CSRF token: %d, want 403", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(url.Values{"csrf_token": {token}, "status": {"partial"}, "base_rev": {"3"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, err := c.Do(req); err != nil || res.StatusCode != 403 {
		t.Errorf("cross-site post: %v %v, want 403", res, err)
	}
	big := url.Values{"csrf_token": {token}, "status": {"partial"}, "notes": {strings.Repeat("x", 600<<10)}}
	if res, _ := e.post(c, path, big); res.StatusCode != 400 {
		t.Errorf("oversized form: %d, want 400", res.StatusCode)
	}
	// The history lists every revision, newest first.
	_, body = e.get(c, path)
	if revs := regexp.MustCompile(`<tr><td class="num">(\d+)</td>`).FindAllStringSubmatch(body, -1); len(revs) != 3 || revs[0][1] != "3" {
		t.Errorf("history revisions %v, want 3, 2, 1", revs)
	}
}

// TestBaselinePayloadsEscaped stores XSS payloads in notes, evidence
// titles, profile name and description and checks that every page shows
// them as text.
func TestBaselinePayloadsEscaped(t *testing.T) {
	payload := `<img src=x onerror=alert(1)>"'</textarea><script>window.__xss=1</script>`
	e := newBaselineEnv(t, payload)
	c := e.loggedIn("alice@water.example")
	for _, path := range []string{"/assessments/" + e.csf, "/assessments/" + e.csf + "/results/GV.OC-01", "/profiles", "/profiles/city-minimum",
		"/readiness", "/gaps", "/assessments"} {
		_, body := e.get(c, path)
		for _, bad := range []string{"<img src=x", "<script>window.__xss", "</textarea><script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q unescaped", path, bad)
			}
		}
	}
	_, body := e.get(c, "/assessments/"+e.csf)
	if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the note's payload is not shown as text")
	}
}

// TestBaselineHostileInput sends malformed and hostile path values and
// form fields: never a 500, never an unescaped script.
func TestBaselineHostileInput(t *testing.T) {
	e := newBaselineEnv(t, "x")
	c := e.loggedIn("alice@water.example")
	token := e.csrf(c)
	long := strings.Repeat("A", 20000)
	script := url.PathEscape(`"><script>window.__xss=1</script>`)
	for _, path := range []string{
		"/assessments/" + long, "/assessments/" + script, "/assessments/" + e.csf + "/results/" + script, "/assessments/" + e.csf + "/results/" + long,
		"/assessments/" + script + "/export.json", "/assessments/" + long + "/export.csv", "/profiles/" + script, "/profiles/" + long,
	} {
		res, body := e.get(c, path)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %.70s: %d, want 404", path, res.StatusCode)
		}
		if strings.Contains(body, "<script>window.__xss") {
			t.Errorf("GET %.70s reflects the script unescaped", path)
		}
	}
	for _, path := range []string{"/assessments/" + e.csf + "?saved=" + url.QueryEscape(`"><script>window.__xss=1</script>`), "/readiness?recorded=" + script, "/gaps?x=" + long} {
		res, body := e.get(c, path)
		if res.StatusCode != 200 || strings.Contains(body, "<script>window.__xss") {
			t.Errorf("GET %.70s: %d or reflected", path, res.StatusCode)
		}
	}
	for _, tc := range []struct {
		path string
		form url.Values
		want int
	}{
		{"/assessments/" + e.csf + "/results/" + script, url.Values{"status": {"partial"}}, 404},
		{"/assessments/" + e.csf + "/results/NOPE-1", url.Values{"status": {"partial"}}, 400},
		{"/assessments/" + long + "/results/GV.OC-01", url.Values{"status": {"partial"}}, 404},
		{"/assessments/" + e.csf + "/results/GV.OC-01", url.Values{"status": {"partial"}, "base_rev": {"-1"}}, 400},
		{"/assessments/" + e.csf + "/results/GV.OC-01", url.Values{"status": {"partial"}, "base_rev": {"1e9"}}, 400},
		{"/assessments/" + e.csf + "/results/GV.OC-01", url.Values{"status": {"partial"}, "base_rev": {"1"}, "notes": {strings.Repeat("n", 10_001)}}, 413},
		{"/assessments/" + e.csf + "/results/GV.OC-01", url.Values{"status": {"partial"}, "base_rev": {"1"}, "ev_kind": {"file"}, "ev_title": {"x"}, "ev_url": {""},
			"ev_sha256": {"zz"}, "ev_size": {"1"}}, 400},
		{"/assessments/" + e.csf + "/results/GV.OC-01", url.Values{"status": {"partial"}, "base_rev": {"1"}, "ev_kind": {"link"}, "ev_title": {"x"}, "ev_url": {"https://a.example"},
			"ev_sha256": {""}, "ev_size": {"-5"}}, 400},
		{"/assessments", url.Values{"catalog": {"csf-2.0"}, "scope_kind": {"organization"}, "title": {long}}, 400},
		{"/assessments", url.Values{"catalog": {long}, "scope_kind": {"organization"}}, 400}, // over the 16 KiB form cap
		{"/assessments", url.Values{"catalog": {long[:2000]}, "scope_kind": {"organization"}}, 404},
		{"/assessments", url.Values{"catalog": {"csf-2.0"}, "scope_kind": {"service"}, "scope": {script}}, 404},
	} {
		tc.form.Set("csrf_token", token)
		res, body := e.post(c, tc.path, tc.form)
		if res.StatusCode != tc.want {
			t.Errorf("POST %.60s %.80v: %d, want %d", tc.path, tc.form, res.StatusCode, tc.want)
		}
		if strings.Contains(body, "<script>window.__xss") {
			t.Errorf("POST %.60s reflects the script unescaped", tc.path)
		}
	}
	// The script gets JSON refusals, also for a missing token.
	if status, out := e.postJSON(c, "/assessments/"+e.csf+"/results/GV.OC-01", url.Values{"status": {"partial"}}); status != 403 ||
		!strings.Contains(out["error"].(string), "form token") {
		t.Errorf("script post without token: %d %v", status, out)
	}
}
