package web_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/web/webtest"
)

func trainingDay(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }

// postForm posts a form with the page's CSRF token.
func (e *env) postForm(c *http.Client, path string, v url.Values) (*http.Response, string) {
	e.t.Helper()
	_, page := e.get(c, "/training")
	m := tokenRE.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatal("no csrf token on /training")
	}
	v.Set("csrf_token", m[1])
	res, err := c.PostForm(e.srv.URL+path, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// upload posts a multipart upload; token "" takes the page's.
func (e *env) upload(c *http.Client, token, kind, campaign, name, content string) (*http.Response, string) {
	e.t.Helper()
	if token == "" {
		_, page := e.get(c, "/training")
		m := tokenRE.FindStringSubmatch(page)
		if m == nil {
			e.t.Fatal("no csrf token on /training")
		}
		token = m[1]
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", token)
	mw.WriteField("kind", kind)
	mw.WriteField("campaign", campaign)
	fw, _ := mw.CreateFormFile("file", name)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/training/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func campaignID(t *testing.T, st bulwark.Store, org, title string) string {
	t.Helper()
	cs, err := st.ListCampaigns(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), bulwark.CampaignFilter{Org: org})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Title == title {
			return c.ID
		}
	}
	t.Fatalf("no campaign %q of %s", title, org)
	return ""
}

func TestTrainingPage(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example") // water analyst
	res, body := e.get(alice, "/training")
	if res.StatusCode != 200 || !strings.Contains(body, `id="no-campaigns"`) || !strings.Contains(body, `id="campaign-form"`) {
		t.Fatalf("empty page: %d", res.StatusCode)
	}
	// Add a workforce and a phishing campaign through the form.
	res, body = e.postForm(alice, "/training/campaigns", url.Values{"kind": {"workforce"}, "title": {"OT basics"}, "audience": {"operators"},
		"audience_size": {"4"}, "start": {trainingDay(-30)}, "due": {trainingDay(-2)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/training?created=1" {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	e.postForm(alice, "/training/campaigns", url.Values{"kind": {"phishing"}, "title": {"Invoice lure"}, "start": {trainingDay(-9)}})
	// Refused: no due date for a workforce campaign; the typed values stay.
	res, body = e.postForm(alice, "/training/campaigns", url.Values{"kind": {"workforce"}, "title": {"Keep me"}, "start": {trainingDay(0)}})
	if res.StatusCode != 400 || !strings.Contains(body, "needs a due date") || !strings.Contains(body, `value="Keep me"`) {
		t.Errorf("invalid campaign: %d", res.StatusCode)
	}
	wf := campaignID(t, e.st, webtest.OrgWater, "OT basics")
	ph := campaignID(t, e.st, webtest.OrgWater, "Invoice lure")
	// Upload an LMS export and a GoPhish export.
	res, body = e.upload(alice, "", "completions", wf, "lms.csv", "Email,Name,Completion Date\nana@w,Ana,"+trainingDay(-5)+"\nben@w,Ben,"+trainingDay(-1)+"\ncy@w,Cy,"+trainingDay(-3)+"\n")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/training?imported=3" {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	res, _ = e.upload(alice, "", "phishing", ph, "gophish.csv", "email,status,send_date,modified_date\na@w,Clicked Link,"+trainingDay(-9)+"T09:00:00Z,"+trainingDay(-9)+"T09:02:00Z\nb@w,Email Sent,"+trainingDay(-9)+"T09:00:00Z,\n")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("phishing upload: %d", res.StatusCode)
	}
	// A bad file: located problems, nothing stored.
	res, body = e.upload(alice, "", "completions", wf, "bad.csv", "Email,Completion Date\nzed@w,someday\n")
	if res.StatusCode != 400 || !strings.Contains(body, "Nothing was imported. bad.csv:2:2: completed_at") {
		t.Errorf("bad upload: %d", res.StatusCode)
	}
	// Missing or wrong CSRF token: 403, nothing stored.
	if res, _ := e.upload(alice, "forged", "completions", wf, "x.csv", "Email,Completion Date\nmallory@w,"+trainingDay(-5)+"\n"); res.StatusCode != 403 {
		t.Errorf("forged token: %d", res.StatusCode)
	}
	res, body = e.get(alice, "/training?imported=3")
	for _, want := range []string{"The file was imported: 3 row(s).", "OT basics", "Invoice lure", `id="completion-chart"`, `data-training-chart="line"`,
		"50.0 % (2 of 4)", "50.0 % (1 of 2)", "/static/vendor/echarts.min.js", "/static/js/training.js"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// No identifier reaches the page.
	for _, id := range []string{"ana@w", "mallory", "zed@w"} {
		if strings.Contains(body, id) {
			t.Errorf("page shows %q", id)
		}
	}
	// The port (another tenant) sees none of it; its viewer gets no forms.
	bob := e.loggedIn("bob@port.example")
	_, body = e.get(bob, "/training")
	if strings.Contains(body, "OT basics") || strings.Contains(body, wf) || strings.Contains(body, `id="campaign-form"`) || !strings.Contains(body, `id="no-campaigns"`) {
		t.Error("the port sees water's training, or a viewer gets forms")
	}
	// A port analyst cannot import into water's campaign: it is not found.
	pat := e.loggedIn("pat@port.example")
	if res, body := e.upload(pat, "", "completions", wf, "x.csv", "Email,Completion Date\nmallory@w,"+trainingDay(-5)+"\n"); res.StatusCode != 404 || !strings.Contains(body, "not found") {
		t.Errorf("cross-tenant upload: %d", res.StatusCode)
	}
	// A water viewer cannot import.
	victor := e.loggedIn("victor@water.example")
	if res, _ := e.upload(victor, "", "completions", wf, "x.csv", "Email,Completion Date\nmallory@w,"+trainingDay(-5)+"\n"); res.StatusCode != 403 {
		t.Errorf("viewer upload: %d", res.StatusCode)
	}
	rs, _ := e.st.ListCompletions(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), wf)
	if len(rs) != 3 {
		t.Errorf("%d completions stored, want 3", len(rs))
	}
	// Unknown parameters give the 400 page, never a 500.
	if res, _ := e.get(alice, "/training?x=1"); res.StatusCode != 400 {
		t.Errorf("unknown parameter: %d", res.StatusCode)
	}
}

// TestTrainingPayloadsEscaped puts XSS payloads into campaign titles,
// audiences and courses: the page shows them as text.
func TestTrainingPayloadsEscaped(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 1, Org: webtest.OrgWater, Role: bulwark.RoleAnalyst, Name: "seed"})
	// Text before each payload, as in the fixture city: a bare payload
	// right after a tag would read as a match of another payload.
	for i, p := range webtest.Payloads() {
		c := &bulwark.Campaign{Kind: bulwark.CampaignCitizen, Title: "Campaign " + p, Audience: "staff " + p, Course: "course " + p, Start: time.Now().AddDate(0, 0, -i%60)}
		if len(c.Title) > 300 {
			c.Title = c.Title[:300]
		}
		if err := e.st.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	alice := e.loggedIn("alice@water.example")
	res, body := e.get(alice, "/training")
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	if s, bad := webtest.Contains(body); bad {
		i := strings.Index(body, s)
		t.Errorf("unescaped payload in the page: %s\n%s", s, body[max(0, i-300):min(len(body), i+200)])
	}
}

// TestTrainingRefusals: an upload beyond the cap, a form that is not
// multipart, a cross-site post and a missing file are refused with a clear
// status, and store nothing.
func TestTrainingRefusals(t *testing.T) {
	e := newEnv(t, webtest.Options{})
	alice := e.loggedIn("alice@water.example")
	e.postForm(alice, "/training/campaigns", url.Values{"kind": {"workforce"}, "title": {"Course"}, "start": {trainingDay(-30)}, "due": {trainingDay(-2)}})
	wf := campaignID(t, e.st, webtest.OrgWater, "Course")
	_, page := e.get(alice, "/training")
	token := tokenRE.FindStringSubmatch(page)[1]

	// 65 MiB: refused as too large.
	big := "Email,Completion Date\n" + strings.Repeat("someone@water.example,2026-01-01\n", (65<<20)/33)
	if res, body := e.upload(alice, token, "completions", wf, "big.csv", big); res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 64 MiB") {
		t.Errorf("65 MiB upload: %d", res.StatusCode)
	}
	// Not multipart.
	res, err := alice.PostForm(e.srv.URL+"/training/import", url.Values{"csrf_token": {token}, "campaign": {wf}, "kind": {"completions"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("urlencoded upload: %d", res.StatusCode)
	}
	// Cross-site.
	req, _ := http.NewRequest("POST", e.srv.URL+"/training/campaigns", strings.NewReader(url.Values{"csrf_token": {token}, "kind": {"citizen"}, "title": {"x"}, "start": {trainingDay(0)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err = alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("cross-site post: %d", res.StatusCode)
	}
	// Unknown kind, unknown campaign, bad numbers.
	for name, c := range map[string]struct {
		kind, campaign string
		status         int
	}{
		"unknown kind":     {"grades", wf, 400},
		"unknown campaign": {"completions", "cmp-0000000000000000", 404},
		"hostile campaign": {"completions", "'; DROP TABLE training_campaigns;--", 404},
	} {
		if res, _ := e.upload(alice, token, c.kind, c.campaign, "x.csv", "Email,Completion Date\na@w,2026-01-01\n"); res.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", name, res.StatusCode, c.status)
		}
	}
	for name, v := range map[string]url.Values{
		"size not a number": {"kind": {"citizen"}, "title": {"x"}, "start": {trainingDay(0)}, "audience_size": {"many"}},
		"bad date":          {"kind": {"citizen"}, "title": {"x"}, "start": {"2026-02-30"}},
		"year 1":            {"kind": {"citizen"}, "title": {"x"}, "start": {"0001-01-01"}},
		"huge title":        {"kind": {"citizen"}, "title": {strings.Repeat("t", 400)}, "start": {trainingDay(0)}},
	} {
		if res, _ := e.postForm(alice, "/training/campaigns", v); res.StatusCode != 400 {
			t.Errorf("%s: %d", name, res.StatusCode)
		}
	}
	if rs, _ := e.st.ListCompletions(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), wf); len(rs) != 0 {
		t.Errorf("%d records stored by refused requests", len(rs))
	}
	cs, _ := e.st.ListCampaigns(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), bulwark.CampaignFilter{})
	if len(cs) != 1 {
		t.Errorf("%d campaigns, want 1", len(cs))
	}
}
