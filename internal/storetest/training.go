package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
)

// RunTraining runs the conformance suite of bulwark.TrainingStore
// (campaigns, completion records, phishing results, citizen reach,
// pseudonymization keys) against stores made by open.
func RunTraining(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st bulwark.Store)
	}{
		{"AC01_TrainingTenancy", testTrainingTenancy},
		{"TrainingMerge", testTrainingMerge},
		{"TrainingAllOrNothing", testTrainingAllOrNothing},
		{"TrainingTally", testTrainingTally},
		{"TrainingKeysAndForget", testTrainingKeys},
		{"TrainingReachAndDelete", testTrainingReach},
		{"CC05_ConcurrentTrainingImports", testTrainingConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// today is the start of the current UTC day: the store keeps dates.
func today() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

func person(n int) bulwark.PersonRef { return bulwark.PersonRef(fmt.Sprintf("%032x", n)) }

func fptr(f float64) *float64 { return &f }

func newCampaign(t *testing.T, st bulwark.Store, ctx context.Context, kind bulwark.CampaignKind, title string, start, due time.Time) *bulwark.Campaign {
	t.Helper()
	c := &bulwark.Campaign{Kind: kind, Title: title, Audience: "all staff", Start: start, Due: due}
	if err := st.CreateCampaign(ctx, c); err != nil {
		t.Fatalf("create %s campaign: %v", kind, err)
	}
	return c
}

// testTrainingTenancy: a campaign is visible to its own organization only
// — not even to an organization the owner shares its city model with —
// and to the System principal; another organization's campaign answers
// exactly like a missing one.
func testTrainingTenancy(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	c := newCampaign(t, st, water, bulwark.CampaignWorkforce, "OT security basics", today().AddDate(0, -1, 0), today().AddDate(0, 0, -1))
	if c.Org != "water" || !strings.HasPrefix(c.ID, "cmp-") || c.CreatedBy == "" {
		t.Fatalf("created %+v", c)
	}
	// The owner is the caller's organization, whatever the campaign says.
	forged := &bulwark.Campaign{Org: "power", Kind: bulwark.CampaignPhishing, Title: "x", Start: today()}
	if err := st.CreateCampaign(water, forged); err != nil || forged.Org != "water" {
		t.Errorf("forged owner: %v, org %q", err, forged.Org)
	}
	if _, err := st.PutTrainingRecords(water, c.ID, bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{{Person: person(1), CompletedAt: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"ciso", "power"} { // ciso reads water's city model, not its people
		for _, role := range []bulwark.Role{bulwark.RoleAdmin, bulwark.RoleViewer} {
			ctx := userCtx(org, role)
			who := org + "/" + string(role)
			_, err := st.FindCampaign(ctx, c.ID)
			wantCode(t, who+" find", err, bulwark.ENOTFOUND)
			_, missing := st.FindCampaign(ctx, "cmp-missing")
			if bulwark.ErrorMessage(err) != strings.Replace(bulwark.ErrorMessage(missing), "cmp-missing", c.ID, 1) {
				t.Errorf("%s: invisible %q differs from missing %q", who, bulwark.ErrorMessage(err), bulwark.ErrorMessage(missing))
			}
			if cs, err := st.ListCampaigns(ctx, bulwark.CampaignFilter{}); err != nil || len(cs) != 0 {
				t.Errorf("%s list: %v, %d campaigns", who, err, len(cs))
			}
			if ts, err := st.TallyCampaigns(ctx, bulwark.CampaignFilter{Org: "water"}); err != nil || len(ts) != 0 {
				t.Errorf("%s tally: %v, %d", who, err, len(ts))
			}
			_, err = st.ListCompletions(ctx, c.ID)
			wantCode(t, who+" completions", err, bulwark.ENOTFOUND)
			_, err = st.ListPhishingResults(ctx, c.ID)
			wantCode(t, who+" phishing", err, bulwark.ENOTFOUND)
			_, err = st.ListCitizenReach(ctx, c.ID)
			wantCode(t, who+" reach", err, bulwark.ENOTFOUND)
			_, err = st.PutTrainingRecords(ctx, c.ID, bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{{Person: person(2)}}})
			wantCode(t, who+" put", err, bulwark.ENOTFOUND)
			wantCode(t, who+" delete", st.DeleteCampaign(ctx, c.ID), bulwark.ENOTFOUND)
			_, err = st.TrainingKey(ctx, "water")
			wantCode(t, who+" key", err, bulwark.EFORBIDDEN)
			_, err = st.ForgetPerson(ctx, "water", person(1))
			wantCode(t, who+" forget", err, bulwark.EFORBIDDEN)
		}
	}
	// Viewers of the owner read but do not write.
	viewer := userCtx("water", bulwark.RoleViewer)
	if _, err := st.FindCampaign(viewer, c.ID); err != nil {
		t.Errorf("viewer find: %v", err)
	}
	wantCode(t, "viewer create", st.CreateCampaign(viewer, &bulwark.Campaign{Kind: bulwark.CampaignCitizen, Title: "x", Start: today()}), bulwark.EFORBIDDEN)
	_, err := st.PutTrainingRecords(viewer, c.ID, bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{{Person: person(2)}}})
	wantCode(t, "viewer put", err, bulwark.EFORBIDDEN)
	_, err = st.TrainingKey(viewer, "water")
	wantCode(t, "viewer key", err, bulwark.EFORBIDDEN)
	wantCode(t, "viewer delete", st.DeleteCampaign(viewer, c.ID), bulwark.EFORBIDDEN)
	// No principal, nothing.
	_, err = st.ListCampaigns(context.Background(), bulwark.CampaignFilter{})
	wantCode(t, "no principal", err, bulwark.EUNAUTHORIZED)
	// The System principal sees every organization's.
	if cs, err := st.ListCampaigns(sysCtx(), bulwark.CampaignFilter{}); err != nil || len(cs) != 2 {
		t.Errorf("system list: %v, %d campaigns", err, len(cs))
	}
	// The owner's list and its records.
	if cs, err := st.ListCampaigns(water, bulwark.CampaignFilter{Kind: bulwark.CampaignWorkforce}); err != nil || len(cs) != 1 || cs[0].ID != c.ID {
		t.Errorf("water workforce list: %v, %+v", err, cs)
	}
	if rs, err := st.ListCompletions(viewer, c.ID); err != nil || len(rs) != 1 || rs[0].Person != person(1) {
		t.Errorf("completions: %v, %+v", err, rs)
	}
	// Validation.
	for what, bad := range map[string]*bulwark.Campaign{
		"kind":      {Kind: "webinar", Title: "x", Start: today()},
		"no title":  {Kind: bulwark.CampaignCitizen, Title: " ", Start: today()},
		"no due":    {Kind: bulwark.CampaignWorkforce, Title: "x", Start: today()},
		"due first": {Kind: bulwark.CampaignWorkforce, Title: "x", Start: today(), Due: today().AddDate(0, 0, -1)},
		"bad id":    {ID: "a b", Kind: bulwark.CampaignCitizen, Title: "x", Start: today()},
		"audience":  {Kind: bulwark.CampaignCitizen, Title: "x", Start: today(), AudienceSize: -1},
		"bad utf-8": {Kind: bulwark.CampaignCitizen, Title: "x\xff", Start: today()},
	} {
		wantCode(t, what, st.CreateCampaign(water, bad), bulwark.EINVALID)
	}
	dup := &bulwark.Campaign{ID: c.ID, Kind: bulwark.CampaignCitizen, Title: "x", Start: today()}
	wantCode(t, "duplicate id", st.CreateCampaign(userCtx("power", bulwark.RoleAdmin), dup), bulwark.ECONFLICT)
	// Audit entries name the campaign, never a person.
	entries, err := st.ListAudit(sysCtx(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "training.") {
			actions[e.Action]++
			if strings.Contains(e.Detail+e.Target, string(person(1))) {
				t.Errorf("audit entry names a person: %+v", e)
			}
		}
	}
	if actions["training.campaign.create"] != 2 || actions["training.import"] != 1 {
		t.Errorf("audit actions %v", actions)
	}
}

// testTrainingMerge: imports merge by person. A completion, once recorded,
// stays at its earliest time; a given score replaces the one before;
// phishing events keep their earliest times; re-importing changes nothing.
func testTrainingMerge(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAdmin)
	start := today().AddDate(0, 0, -20)
	wf := newCampaign(t, st, water, bulwark.CampaignWorkforce, "Course", start, today().AddDate(0, 0, -5))
	ph := newCampaign(t, st, water, bulwark.CampaignPhishing, "Invoice lure", start, time.Time{})
	t1 := start.Add(30 * time.Hour)
	t2 := t1.Add(48 * time.Hour)
	batch := bulwark.TrainingBatch{Source: "lms.csv", Completions: []bulwark.CompletionRecord{
		{Person: person(1), CompletedAt: t2, Score: fptr(80)},
		{Person: person(2)}, // assigned, not completed
		{Person: person(3), CompletedAt: t1},
		{Person: person(1), CompletedAt: t1}, // the same person again in one batch: earliest wins, score kept
	}}
	stats, err := st.PutTrainingRecords(water, wf.ID, batch)
	if err != nil {
		t.Fatal(err)
	}
	if stats != (bulwark.TrainingImportStats{Created: 3}) {
		t.Errorf("first import %+v, want 3 created", stats)
	}
	if stats, err = st.PutTrainingRecords(water, wf.ID, batch); err != nil || stats != (bulwark.TrainingImportStats{Unchanged: 3}) {
		t.Errorf("re-import: %+v, %v; want 3 unchanged", stats, err)
	}
	// A later export: 2 completes, 3's row says not completed (it stays
	// completed), 1 gets a new score.
	later := bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{
		{Person: person(1), Score: fptr(95)}, {Person: person(2), CompletedAt: t2}, {Person: person(3)}, {Person: person(4)},
	}}
	if stats, err = st.PutTrainingRecords(water, wf.ID, later); err != nil || stats != (bulwark.TrainingImportStats{Created: 1, Updated: 2, Unchanged: 1}) {
		t.Errorf("later import: %+v, %v", stats, err)
	}
	rs, err := st.ListCompletions(water, wf.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[bulwark.PersonRef]string{}
	for _, r := range rs {
		s := "-"
		if r.Score != nil {
			s = fmt.Sprint(*r.Score)
		}
		at := "-"
		if !r.CompletedAt.IsZero() {
			at = r.CompletedAt.Sub(start).String()
		}
		got[r.Person] = at + " " + s
	}
	want := map[bulwark.PersonRef]string{person(1): "30h0m0s 95", person(2): "78h0m0s -", person(3): "30h0m0s -", person(4): "- -"}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("person %s: %q, want %q", p[:4], got[p], w)
		}
	}
	// Phishing: events keep their earliest time.
	sent := start.Add(time.Hour)
	res := []bulwark.PhishingResult{
		{Person: person(1), SentAt: sent, OpenedAt: sent.Add(time.Minute), ClickedAt: sent.Add(2 * time.Minute)},
		{Person: person(2), SentAt: sent, ReportedAt: sent.Add(5 * time.Minute)},
	}
	if _, err := st.PutTrainingRecords(water, ph.ID, bulwark.TrainingBatch{Phishing: res}); err != nil {
		t.Fatal(err)
	}
	res2 := []bulwark.PhishingResult{
		{Person: person(1), SentAt: sent, ClickedAt: sent.Add(time.Minute), ReportedAt: sent.Add(time.Hour)},
		{Person: person(2), SentAt: sent, ReportedAt: sent.Add(time.Minute)},
	}
	if stats, err := st.PutTrainingRecords(water, ph.ID, bulwark.TrainingBatch{Phishing: res2}); err != nil || stats.Updated != 2 {
		t.Errorf("phishing merge: %+v, %v", stats, err)
	}
	prs, err := st.ListPhishingResults(water, ph.ID)
	if err != nil || len(prs) != 2 {
		t.Fatalf("phishing results: %v, %d", err, len(prs))
	}
	p1 := prs[0]
	if !p1.OpenedAt.Equal(sent.Add(time.Minute)) || !p1.ClickedAt.Equal(sent.Add(time.Minute)) || !p1.ReportedAt.Equal(sent.Add(time.Hour)) || !p1.SubmittedAt.IsZero() {
		t.Errorf("merged result %+v", p1)
	}
	if !prs[1].ReportedAt.Equal(sent.Add(time.Minute)) {
		t.Errorf("merged report %+v", prs[1])
	}
	// Records go to campaigns of their kind.
	_, err = st.PutTrainingRecords(water, ph.ID, bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{{Person: person(1)}}})
	wantCode(t, "completions into a phishing campaign", err, bulwark.EINVALID)
	_, err = st.PutTrainingRecords(water, wf.ID, bulwark.TrainingBatch{Phishing: res})
	wantCode(t, "phishing into a workforce campaign", err, bulwark.EINVALID)
}

// testTrainingAllOrNothing: a batch with one bad record stores nothing.
func testTrainingAllOrNothing(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	wf := newCampaign(t, st, water, bulwark.CampaignWorkforce, "Course", today().AddDate(0, 0, -3), today())
	for what, bad := range map[string]bulwark.CompletionRecord{
		"raw e-mail":      {Person: "ana@example.org"},
		"upper-case hex":  {Person: bulwark.PersonRef(strings.ToUpper(string(person(0xabcdef))))},
		"score above 100": {Person: person(7), Score: fptr(101)},
		"negative score":  {Person: person(7), Score: fptr(-1)},
	} {
		recs := []bulwark.CompletionRecord{{Person: person(1), CompletedAt: time.Now()}, {Person: person(2)}, bad}
		_, err := st.PutTrainingRecords(water, wf.ID, bulwark.TrainingBatch{Completions: recs})
		wantCode(t, what, err, bulwark.EINVALID)
	}
	if rs, err := st.ListCompletions(water, wf.ID); err != nil || len(rs) != 0 {
		t.Errorf("after refused batches: %v, %d records stored", err, len(rs))
	}
	_, err := st.PutTrainingRecords(water, "cmp-nope", bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{{Person: person(1)}}})
	wantCode(t, "missing campaign", err, bulwark.ENOTFOUND)
}

// testTrainingTally checks the grouped counts against values worked out
// by hand, including the due-day boundary.
func testTrainingTally(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	power := userCtx("power", bulwark.RoleAnalyst)
	due := today().AddDate(0, 0, -10)
	wf := newCampaign(t, st, water, bulwark.CampaignWorkforce, "Course", due.AddDate(0, 0, -30), due)
	// 1: on time at 23:59:59 of the due day; 2: at midnight after (late);
	// 3: long before; 4: assigned only; 5: late by days.
	recs := []bulwark.CompletionRecord{
		{Person: person(1), CompletedAt: due.Add(24*time.Hour - time.Second)},
		{Person: person(2), CompletedAt: due.Add(24 * time.Hour)},
		{Person: person(3), CompletedAt: due.AddDate(0, 0, -20)},
		{Person: person(4)},
		{Person: person(5), CompletedAt: due.AddDate(0, 0, 3)},
	}
	if _, err := st.PutTrainingRecords(water, wf.ID, bulwark.TrainingBatch{Completions: recs}); err != nil {
		t.Fatal(err)
	}
	ph := newCampaign(t, st, water, bulwark.CampaignPhishing, "Lure", due, time.Time{})
	s := due.Add(9 * time.Hour)
	var res []bulwark.PhishingResult
	for i := 1; i <= 10; i++ {
		r := bulwark.PhishingResult{Person: person(i), SentAt: s}
		if i <= 6 {
			r.OpenedAt = s.Add(time.Minute)
		}
		if i <= 3 {
			r.ClickedAt = s.Add(2 * time.Minute)
		}
		if i == 1 {
			r.SubmittedAt = s.Add(3 * time.Minute)
		}
		if i >= 8 {
			r.ReportedAt = s.Add(4 * time.Minute)
		}
		res = append(res, r)
	}
	res = append(res, bulwark.PhishingResult{Person: person(11)}) // targeted, never sent (bounced)
	if _, err := st.PutTrainingRecords(water, ph.ID, bulwark.TrainingBatch{Phishing: res}); err != nil {
		t.Fatal(err)
	}
	cit := newCampaign(t, st, water, bulwark.CampaignCitizen, "Spot the scam", due, due.AddDate(0, 1, 0))
	if err := st.AddCitizenReach(water, cit.ID, []bulwark.CitizenReach{
		{Channel: "radio", People: 12000, From: due, To: due.AddDate(0, 0, 7)},
		{Channel: "library workshops", People: 340, From: due, To: due.AddDate(0, 0, 14)},
	}); err != nil {
		t.Fatal(err)
	}
	newCampaign(t, st, power, bulwark.CampaignWorkforce, "Power course", due.AddDate(-2, 0, 0), due.AddDate(-2, 0, 1))

	ts, err := st.TallyCampaigns(water, bulwark.CampaignFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bulwark.CampaignTally{}
	for _, x := range ts {
		got[x.Campaign.ID] = x
	}
	if len(ts) != 3 {
		t.Fatalf("water tallies %d campaigns, want 3", len(ts))
	}
	checks := []struct {
		id   string
		want bulwark.CampaignTally
	}{
		{wf.ID, bulwark.CampaignTally{Assigned: 5, Completed: 4, OnTime: 2}},
		{ph.ID, bulwark.CampaignTally{Sent: 10, Opened: 6, Clicked: 3, Submitted: 1, Reported: 3}},
		{cit.ID, bulwark.CampaignTally{Reach: 12340}},
	}
	for _, c := range checks {
		g := got[c.id]
		c.want.Campaign = g.Campaign
		if g != c.want {
			t.Errorf("%s: %+v, want %+v", g.Campaign.Kind, g, c.want)
		}
	}
	// Filters: kind, since (start or due on or after), organization (System).
	if ts, _ := st.TallyCampaigns(water, bulwark.CampaignFilter{Kind: bulwark.CampaignPhishing}); len(ts) != 1 || ts[0].Sent != 10 {
		t.Errorf("phishing only: %+v", ts)
	}
	all, err := st.TallyCampaigns(sysCtx(), bulwark.CampaignFilter{Since: due.AddDate(-1, 0, 0)})
	if err != nil || len(all) != 3 {
		t.Errorf("system since a year before: %v, %d (the power campaign is older)", err, len(all))
	}
	if ts, _ := st.TallyCampaigns(sysCtx(), bulwark.CampaignFilter{Org: "power"}); len(ts) != 1 || ts[0].Campaign.Org != "power" {
		t.Errorf("system, power only: %+v", ts)
	}
	if ts, _ := st.TallyCampaigns(water, bulwark.CampaignFilter{Org: "power"}); len(ts) != 0 {
		t.Errorf("water asking for power's: %+v", ts)
	}
	// Newest start first.
	if !slices.IsSortedFunc(ts, func(a, b bulwark.CampaignTally) int { return b.Campaign.Start.Compare(a.Campaign.Start) }) {
		t.Error("tallies not newest first")
	}
}

// testTrainingKeys: one stable key per organization, different between
// organizations; ForgetPerson removes one person's records in the
// caller's organization only.
func testTrainingKeys(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	k1, err := st.TrainingKey(water, "water")
	if err != nil || len(k1) != 32 {
		t.Fatalf("key: %v, %d bytes", err, len(k1))
	}
	k2, err := st.TrainingKey(sysCtx(), "water")
	if err != nil || string(k1) != string(k2) {
		t.Errorf("key not stable: %v", err)
	}
	kp, err := st.TrainingKey(userCtx("power", bulwark.RoleAdmin), "power")
	if err != nil || string(kp) == string(k1) {
		t.Errorf("power's key: %v, equal to water's: %v", err, string(kp) == string(k1))
	}
	_, err = st.TrainingKey(sysCtx(), "no-such-org")
	wantCode(t, "key of a missing organization", err, bulwark.EINVALID)

	wf := newCampaign(t, st, water, bulwark.CampaignWorkforce, "Course", today().AddDate(0, 0, -3), today())
	ph := newCampaign(t, st, water, bulwark.CampaignPhishing, "Lure", today(), time.Time{})
	pw := newCampaign(t, st, userCtx("power", bulwark.RoleAdmin), bulwark.CampaignWorkforce, "Course", today().AddDate(0, 0, -3), today())
	ana := bulwark.Pseudonymize(k1, bulwark.NormalizePerson(" Ana@Example.org "))
	if ana != bulwark.Pseudonymize(k1, "ana@example.org") || ana == bulwark.Pseudonymize(kp, "ana@example.org") {
		t.Error("pseudonyms: not stable within an organization, or equal across organizations")
	}
	for _, c := range []struct {
		ctx context.Context
		id  string
		b   bulwark.TrainingBatch
	}{
		{water, wf.ID, bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{{Person: ana}, {Person: person(2)}}}},
		{water, ph.ID, bulwark.TrainingBatch{Phishing: []bulwark.PhishingResult{{Person: ana, SentAt: time.Now()}}}},
		{userCtx("power", bulwark.RoleAdmin), pw.ID, bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{{Person: ana}}}},
	} {
		if _, err := st.PutTrainingRecords(c.ctx, c.id, c.b); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.ForgetPerson(water, "water", ana)
	if err != nil || n != 2 {
		t.Errorf("forget: %v, %d removed, want 2", err, n)
	}
	if rs, _ := st.ListCompletions(water, wf.ID); len(rs) != 1 || rs[0].Person != person(2) {
		t.Errorf("after forget: %+v", rs)
	}
	if rs, _ := st.ListCompletions(sysCtx(), pw.ID); len(rs) != 1 {
		t.Errorf("another organization's record was removed: %+v", rs)
	}
	_, err = st.ForgetPerson(water, "water", "ana@example.org")
	wantCode(t, "forget a raw identifier", err, bulwark.EINVALID)
}

// testTrainingReach: reach entries are appended in order and validated;
// deleting a campaign removes its records.
func testTrainingReach(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	cit := newCampaign(t, st, water, bulwark.CampaignCitizen, "Scam week", today(), time.Time{})
	wf := newCampaign(t, st, water, bulwark.CampaignWorkforce, "Course", today(), today())
	r := bulwark.CitizenReach{Channel: "posters", People: 5000, From: today(), To: today().AddDate(0, 0, 7)}
	for what, tc := range map[string]struct {
		id   string
		rs   []bulwark.CitizenReach
		code string
	}{
		"workforce campaign": {wf.ID, []bulwark.CitizenReach{r}, bulwark.EINVALID},
		"none":               {cit.ID, nil, bulwark.EINVALID},
		"negative":           {cit.ID, []bulwark.CitizenReach{{Channel: "x", People: -1, From: today(), To: today()}}, bulwark.EINVALID},
		"inverted period":    {cit.ID, []bulwark.CitizenReach{{Channel: "x", People: 1, From: today(), To: today().AddDate(0, 0, -1)}}, bulwark.EINVALID},
		"no channel":         {cit.ID, []bulwark.CitizenReach{{People: 1, From: today(), To: today()}}, bulwark.EINVALID},
		"other org":          {cit.ID, []bulwark.CitizenReach{r}, bulwark.ENOTFOUND},
	} {
		ctx := water
		if what == "other org" {
			ctx = userCtx("power", bulwark.RoleAdmin)
		}
		wantCode(t, what, st.AddCitizenReach(ctx, tc.id, tc.rs), tc.code)
	}
	if err := st.AddCitizenReach(water, cit.ID, []bulwark.CitizenReach{r}); err != nil {
		t.Fatal(err)
	}
	r2 := r
	r2.Channel, r2.People = "radio", 20000
	if err := st.AddCitizenReach(water, cit.ID, []bulwark.CitizenReach{r2}); err != nil {
		t.Fatal(err)
	}
	rs, err := st.ListCitizenReach(water, cit.ID)
	if err != nil || len(rs) != 2 || rs[0].Channel != "posters" || rs[1].People != 20000 || !rs[0].To.Equal(today().AddDate(0, 0, 7)) {
		t.Errorf("reach: %v, %+v", err, rs)
	}
	if _, err := st.PutTrainingRecords(water, wf.ID, bulwark.TrainingBatch{Completions: []bulwark.CompletionRecord{{Person: person(1)}}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{cit.ID, wf.ID} {
		if err := st.DeleteCampaign(water, id); err != nil {
			t.Fatal(err)
		}
		_, err := st.FindCampaign(water, id)
		wantCode(t, "deleted campaign", err, bulwark.ENOTFOUND)
	}
	// A new campaign of the same ID starts empty.
	again := &bulwark.Campaign{ID: wf.ID, Kind: bulwark.CampaignWorkforce, Title: "Again", Start: today(), Due: today()}
	if err := st.CreateCampaign(water, again); err != nil {
		t.Fatal(err)
	}
	if rs, _ := st.ListCompletions(water, wf.ID); len(rs) != 0 {
		t.Errorf("records outlived their campaign: %+v", rs)
	}
}

// testTrainingConcurrent: imports into one campaign from several
// goroutines lose nothing; each person ends with the earliest time any
// import gave.
func testTrainingConcurrent(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	wf := newCampaign(t, st, water, bulwark.CampaignWorkforce, "Course", today().AddDate(0, 0, -30), today())
	base := today().AddDate(0, 0, -20)
	const workers, people = 4, 60
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			var recs []bulwark.CompletionRecord
			for i := range people {
				// Worker w completes person i at base + ((i+w) % workers) hours.
				recs = append(recs, bulwark.CompletionRecord{Person: person(i), CompletedAt: base.Add(time.Duration((i+w)%workers+1) * time.Hour)})
			}
			for attempt := 0; ; attempt++ {
				_, err := st.PutTrainingRecords(water, wf.ID, bulwark.TrainingBatch{Completions: recs})
				if err == nil || attempt == 20 || (bulwark.ErrorCode(err) != bulwark.ECONFLICT && bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE) {
					errs <- err
					return
				}
				time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent import: %v", err)
		}
	}
	rs, err := st.ListCompletions(water, wf.ID)
	if err != nil || len(rs) != people {
		t.Fatalf("after concurrent imports: %v, %d records", err, len(rs))
	}
	for _, r := range rs {
		if !r.CompletedAt.Equal(base.Add(time.Hour)) {
			t.Errorf("person %s completed at %v, want the earliest %v", r.Person[:6], r.CompletedAt, base.Add(time.Hour))
		}
	}
}
