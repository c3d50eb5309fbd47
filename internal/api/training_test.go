package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/auth"
)

func trainingDay(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }

// trainingSnapshot is everything training the store holds, as the System
// principal sees it.
func (w *world) trainingSnapshot() string {
	w.t.Helper()
	ctx := systemCtx()
	ts, err := w.st.TallyCampaigns(ctx, bulwark.CampaignFilter{})
	if err != nil {
		w.t.Fatal(err)
	}
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "%+v\n", t)
		rs, _ := w.st.ListCompletions(ctx, t.Campaign.ID)
		ps, _ := w.st.ListPhishingResults(ctx, t.Campaign.ID)
		cs, _ := w.st.ListCitizenReach(ctx, t.Campaign.ID)
		fmt.Fprintf(&b, "%v %v %v\n", rs, ps, cs)
	}
	return b.String()
}

// createCampaign makes a campaign as user and returns its ID.
func (w *world) createCampaign(t *testing.T, as, body string) string {
	t.Helper()
	r := w.do(as, "POST", "/api/v1/training/campaigns", "application/json", body)
	if r.status != http.StatusCreated {
		t.Fatalf("create campaign: %s", r)
	}
	v := decodeBody[struct{ Campaign struct{ ID, Org string } }](t, r)
	if r.header.Get("Location") != "/api/v1/training/campaigns/"+v.Campaign.ID {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	return v.Campaign.ID
}

func TestTrainingAPI(t *testing.T) {
	w := newWorld(t, auth.Options{})
	wf := w.createCampaign(t, "water/analyst", `{"kind":"workforce","title":"OT basics","audience":"operators","audience_size":4,"start":"`+trainingDay(-30)+`","due":"`+trainingDay(-2)+`"}`)
	ph := w.createCampaign(t, "water/analyst", `{"kind":"phishing","title":"Invoice lure","start":"`+trainingDay(-10)+`"}`)
	cit := w.createCampaign(t, "water/admin", `{"id":"water-scam-week","kind":"citizen","title":"Scam week","start":"`+trainingDay(-3)+`"}`)
	lms := "Email,Name,Completion Date,Score\nana@w.example,Ana," + trainingDay(-5) + ",90\nben@w.example,Ben," + trainingDay(-1) + ",\ncy@w.example,Cy,,\n"
	gophish := "email,status,send_date,modified_date\na@w,Clicked Link," + trainingDay(-9) + "T09:00:00Z," + trainingDay(-9) + "T09:05:00Z\nb@w,Email Reported," + trainingDay(-9) + "T09:00:00Z,\nc@w,Email Sent," + trainingDay(-9) + "T09:00:00Z,\nd@w,Email Opened," + trainingDay(-9) + "T09:00:00Z,\n"
	w.run(t, []apiCase{
		{name: "import completions", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns/" + wf + "/completions", ctype: "text/csv", body: lms, status: 200,
			check: func(t *testing.T, r response) {
				res := decodeBody[struct {
					Rows, Created int
					Ignored       []string `json:"ignored_columns"`
				}](t, r)
				if res.Rows != 3 || res.Created != 3 || strings.Join(res.Ignored, ",") != "Name" {
					t.Errorf("result %s", r)
				}
			}},
		{name: "enter a completion", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns/" + wf + "/completions", ctype: "application/json",
			body: `{"completions":[{"person":"Cy@w.example","completed_at":"` + trainingDay(-3) + `","score":70}]}`, status: 200},
		{name: "import phishing", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns/" + ph + "/phishing", ctype: "text/csv; charset=utf-8", body: gophish, status: 200},
		{name: "reach", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns/" + cit + "/reach", ctype: "application/json",
			body: `{"reach":[{"channel":"radio","people":4200,"from":"` + trainingDay(-3) + `","to":"` + trainingDay(0) + `"}]}`, status: 204},
		{name: "bad file located", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns/" + wf + "/completions", ctype: "text/csv",
			body: "email,completed_at\na@w,soon\nb@w,2026-13-01\n", status: 422, check: func(t *testing.T, r response) {
				e := decodeBody[errorBody](t, r).Error
				if len(e.Details) != 2 || e.Details[0].Line != 2 || e.Details[0].Column != 2 || e.Details[1].Line != 3 || e.Details[0].Field != "completed_at" {
					t.Errorf("details %+v", e.Details)
				}
			}},
		{name: "phishing into workforce", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns/" + wf + "/phishing", ctype: "text/csv", body: gophish, status: 400},
		{name: "json phishing refused", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns/" + ph + "/phishing", ctype: "application/json", body: `{}`, status: 415},
		{name: "viewer cannot import", as: "water/viewer", method: "POST", path: "/api/v1/training/campaigns/" + wf + "/completions", ctype: "text/csv", body: lms, status: 403},
		{name: "analyst cannot forget", as: "water/analyst", method: "POST", path: "/api/v1/training/forget", ctype: "application/json", body: `{"person":"ana@w.example"}`, status: 403},
		{name: "bad campaign", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns", ctype: "application/json", body: `{"kind":"workforce","title":"x","start":"` + trainingDay(0) + `"}`, status: 422},
		{name: "owner in body refused", as: "water/analyst", method: "POST", path: "/api/v1/training/campaigns", ctype: "application/json", body: `{"org":"port","kind":"citizen","title":"x","start":"` + trainingDay(0) + `"}`, status: 400},
		{name: "bad kind filter", as: "water/viewer", method: "GET", path: "/api/v1/training/campaigns?kind=webinar", status: 400},
		{name: "bad months", as: "water/viewer", method: "GET", path: "/api/v1/training/rates?months=0", status: 400},
	})
	// Reads: list, one campaign, rates, export.
	list := decodeBody[struct {
		Items []struct {
			Campaign   struct{ ID string }
			Completion struct{ Num, Den int }
			Click      struct{ Num, Den int }
			Reach      int
		}
	}](t, w.do("water/viewer", "GET", "/api/v1/training/campaigns", "", ""))
	got := map[string]string{}
	for _, it := range list.Items {
		got[it.Campaign.ID] = fmt.Sprintf("%d/%d %d/%d %d", it.Completion.Num, it.Completion.Den, it.Click.Num, it.Click.Den, it.Reach)
	}
	// Ana and Cy on time (Ben late) of 4; 1 of 4 clicked; 4200 reached.
	if d := cmp.Diff(map[string]string{wf: "2/4 0/0 0", ph: "0/0 1/4 0", cit: "0/0 0/0 4200"}, got); d != "" {
		t.Errorf("list (-want +got)\n%s", d)
	}
	r := w.do("water/viewer", "GET", "/api/v1/training/campaigns/"+cit, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"channel":"radio"`) {
		t.Errorf("citizen campaign: %s", r)
	}
	rates := decodeBody[struct {
		Total struct {
			Completion, Click struct{ Num, Den int }
		}
		Series []struct{ Org string }
	}](t, w.do("water/viewer", "GET", "/api/v1/training/rates?months=6", "", ""))
	if rates.Total.Completion.Num != 2 || rates.Total.Click.Den != 4 || len(rates.Series) != 1 || rates.Series[0].Org != "water" {
		t.Errorf("rates %+v", rates)
	}
	r = w.do("water/viewer", "GET", "/api/v1/training/export", "", "")
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if r.status != 200 || err != nil || len(rows) != 4 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Errorf("export: %v %s", err, r)
	}
	// No identifier leaves the store: not in any response, not in the audit log.
	for _, path := range []string{"/api/v1/training/campaigns", "/api/v1/training/campaigns/" + wf, "/api/v1/training/rates", "/api/v1/training/export", "/api/v1/audit?limit=1000"} {
		if b := w.do("water/admin", "GET", path, "", "").body; bytes.Contains(b, []byte("@w.example")) || bytes.Contains(b, []byte("a@w")) {
			t.Errorf("%s shows an identifier", path)
		}
	}
	// Forget (administrators): Ana's record goes.
	r = w.do("water/admin", "POST", "/api/v1/training/forget", "application/json", `{"person":" ANA@w.example"}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"removed":1`) {
		t.Errorf("forget: %s", r)
	}
	if r := w.do("water/analyst", "DELETE", "/api/v1/training/campaigns/"+cit, "", ""); r.status != 204 {
		t.Errorf("delete: %s", r)
	}
	if r := w.do("water/analyst", "GET", "/api/v1/training/campaigns/"+cit, "", ""); r.status != 404 {
		t.Errorf("deleted campaign: %s", r)
	}
}

// TestTrainingCrossTenant: training is its owner's alone. The city reads
// water's city model but not its people's training; a private operator
// sees nothing; every answer about another organization's campaign is
// byte-identical to the one about a missing campaign, and nothing changes.
func TestTrainingCrossTenant(t *testing.T) {
	w := newWorld(t, auth.Options{})
	wf := w.createCampaign(t, "water/analyst", `{"kind":"workforce","title":"Water course","start":"`+trainingDay(-30)+`","due":"`+trainingDay(-2)+`"}`)
	if r := w.do("water/analyst", "POST", "/api/v1/training/campaigns/"+wf+"/completions", "text/csv", "email,completed_at\nana@w,"+trainingDay(-5)+"\n"); r.status != 200 {
		t.Fatal(r)
	}
	port := w.createCampaign(t, "port/admin", `{"kind":"phishing","title":"Port lure","start":"`+trainingDay(-3)+`"}`)
	before := w.trainingSnapshot()
	missing := "cmp-00000000deadbeef"
	for _, as := range []string{"city/admin", "city/analyst", "port/admin", "hospital/viewer"} {
		for _, c := range []struct{ method, suffix, ctype, body string }{
			{"GET", "", "", ""},
			{"DELETE", "", "", ""},
			{"POST", "/completions", "text/csv", "email,completed_at\nmallory@x,2026-01-01\n"},
			{"POST", "/completions", "application/json", `{"completions":[{"person":"mallory@x"}]}`},
			{"POST", "/phishing", "text/csv", "email,sent_at\nmallory@x,2026-01-01\n"},
			{"POST", "/reach", "application/json", `{"reach":[{"channel":"x","people":1,"from":"2026-01-01","to":"2026-01-02"}]}`},
		} {
			theirs := w.do(as, c.method, "/api/v1/training/campaigns/"+wf+c.suffix, c.ctype, c.body)
			none := w.do(as, c.method, "/api/v1/training/campaigns/"+missing+c.suffix, c.ctype, c.body)
			if strings.HasSuffix(as, "viewer") && c.method != "GET" {
				if theirs.status != 403 || none.status != 403 {
					t.Errorf("%s %s%s: %d / %d, want 403 by policy", as, c.method, c.suffix, theirs.status, none.status)
				}
				continue
			}
			if theirs.status != 404 {
				t.Errorf("%s %s %s%s = %s, want 404", as, c.method, wf, c.suffix, theirs)
			}
			if strings.ReplaceAll(string(theirs.body), wf, "ID") != strings.ReplaceAll(string(none.body), missing, "ID") || theirs.status != none.status {
				t.Errorf("%s %s%s: another organization's campaign answers %s, a missing one %s", as, c.method, c.suffix, theirs, none)
			}
		}
		for _, path := range []string{"/api/v1/training/campaigns", "/api/v1/training/campaigns?org=water", "/api/v1/training/rates?org=water", "/api/v1/training/export?org=water"} {
			r := w.do(as, "GET", path, "", "")
			if r.status != 200 || bytes.Contains(r.body, []byte(wf)) || bytes.Contains(r.body, []byte("Water course")) {
				t.Errorf("%s GET %s: %s", as, path, bulwark.Abbrev(r.String(), 300))
			}
			if as != "port/admin" && bytes.Contains(r.body, []byte(port)) {
				t.Errorf("%s sees the port's campaign: %s", as, path)
			}
		}
	}
	// The port sees its own.
	if r := w.do("port/viewer", "GET", "/api/v1/training/campaigns/"+port, "", ""); r.status != 200 {
		t.Errorf("port's own campaign: %s", r)
	}
	// Forget works within the caller's organization only: the city's
	// administrator forgetting Ana removes nothing of water's.
	if r := w.do("city/admin", "POST", "/api/v1/training/forget", "application/json", `{"person":"ana@w"}`); r.status != 200 || !strings.Contains(string(r.body), `"removed":0`) {
		t.Errorf("city forget: %s", r)
	}
	if d := cmp.Diff(before, w.trainingSnapshot()); d != "" {
		t.Errorf("other organizations changed water's training (-before +after):\n%s", d)
	}
}

// TestTrainingHostile: oversized, truncated, binary and malformed files
// and bodies are refused with a clear 4xx and store nothing.
func TestTrainingHostile(t *testing.T) {
	w := newWorld(t, auth.Options{LoginLimit: 1 << 20})
	wf := w.createCampaign(t, "water/analyst", `{"kind":"workforce","title":"Course","start":"`+trainingDay(-30)+`","due":"`+trainingDay(-2)+`"}`)
	ph := w.createCampaign(t, "water/analyst", `{"kind":"phishing","title":"Lure","start":"`+trainingDay(-3)+`"}`)
	before := w.trainingSnapshot()
	token := w.users["water/analyst"].token
	post := func(path, ctype string, body io.Reader, length int64) (response, time.Duration) {
		req, _ := http.NewRequest("POST", w.srv.URL+path, body)
		req.ContentLength = length
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", ctype)
		start := time.Now()
		return w.send(req), time.Since(start)
	}
	comp := "/api/v1/training/campaigns/" + wf + "/completions"
	// 80 MiB streamed without a length: cut at 64 MiB.
	r, took := post(comp, "text/csv", io.MultiReader(strings.NewReader("email,completed_at\n"), &zeros{80 << 20}), -1)
	if r.status != http.StatusRequestEntityTooLarge || took > 30*time.Second {
		t.Errorf("80 MiB streamed: %s after %v, want 413", bulwark.Abbrev(r.String(), 300), took)
	}
	r, took = post(comp, "text/csv", &zeros{1 << 30}, 1<<30)
	if r.status != http.StatusRequestEntityTooLarge || took > 2*time.Second {
		t.Errorf("1 GiB declared: %s after %v, want 413 at once", r, took)
	}
	valid := "email,completed_at,score\nana@w," + trainingDay(-5) + ",90\nben@w," + trainingDay(-4) + ",80\n"
	for name, c := range map[string]struct{ path, ctype, body string }{
		"truncated quote":    {comp, "text/csv", valid + "\"cy@w," + trainingDay(-3)},
		"truncated row":      {comp, "text/csv", valid + "cy@w"},
		"binary":             {comp, "text/csv", "\x00\x01\x02\xff\xfe"},
		"empty":              {comp, "text/csv", ""},
		"json as csv":        {comp, "text/csv", `{"completions":[]}`},
		"gzip":               {comp, "application/gzip", valid},
		"yaml":               {comp, "application/yaml", valid},
		"bad content type":   {comp, ";;;", valid},
		"json unknown field": {comp, "application/json", `{"completions":[{"person":"a","grade":1}]}`},
		"json duplicate key": {comp, "application/json", `{"completions":[{"person":"a","person":"b"}]}`},
		"json bad time":      {comp, "application/json", `{"completions":[{"person":"a","completed_at":"yesterday"}]}`},
		"json empty list":    {comp, "application/json", `{"completions":[]}`},
		"json score":         {comp, "application/json", `{"completions":[{"person":"a","score":1e309}]}`},
		"json deep":          {comp, "application/json", strings.Repeat("[", 5000)},
		"formula person":     {comp, "text/csv", "email,completed_at\n=cmd|' /C calc'!A0,2026-01-01\n" + "\"\",2026-01-01\n"},
		"long header":        {comp, "text/csv", strings.Repeat("x,", 1000) + "email\n"},
		"long row":           {comp, "text/csv", "email,completed_at\n" + strings.Repeat("a", 1<<20) + ",\n"},
		"score injection":    {comp, "text/csv", "email,completed_at,score\na,2026-01-01,'; DROP TABLE training_completions;--\n"},
		"phishing garbage":   {"/api/v1/training/campaigns/" + ph + "/phishing", "text/csv", "email,status\na,\xff\xfe\n"},
		"phishing no sent":   {"/api/v1/training/campaigns/" + ph + "/phishing", "text/csv", "email,clicked\na,yes\n"},
		"reach negative":     {"/api/v1/training/campaigns/" + ph + "/reach", "application/json", `{"reach":[{"channel":"x","people":-5,"from":"2026-01-01","to":"2026-01-02"}]}`},
		"campaign garbage":   {"/api/v1/training/campaigns", "application/json", `{"kind":"workforce","title":"` + strings.Repeat("x", 400) + `","start":"2026-01-01","due":"2026-01-31"}`},
		"campaign bad date":  {"/api/v1/training/campaigns", "application/json", `{"kind":"citizen","title":"x","start":"0001-01-01"}`},
	} {
		r, took := post(c.path, c.ctype, strings.NewReader(c.body), int64(len(c.body)))
		if r.status < 400 || r.status >= 500 || took > 5*time.Second {
			t.Errorf("%s: %s after %v, want 4xx", name, bulwark.Abbrev(r.String(), 300), took)
			continue
		}
		if e := decodeBody[errorBody](t, r).Error; e.Message == "" {
			t.Errorf("%s: error without a message", name)
		}
		checkNoInternals(t, r)
	}
	// Random bytes: never a 5xx.
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		b := make([]byte, rng.IntN(300))
		for j := range b {
			b[j] = "email,completed_at\n\"\r=+-@ab\xff0123456789:-T"[rng.IntN(38)]
		}
		if r, _ := post(comp, "text/csv", bytes.NewReader(b), int64(len(b))); r.status >= 500 {
			t.Errorf("random body %d %q: %s", i, b, r)
		}
	}
	if d := cmp.Diff(before, w.trainingSnapshot()); d != "" {
		t.Errorf("refused requests changed the store (-before +after):\n%s", d)
	}
}
