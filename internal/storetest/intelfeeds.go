package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
)

// RunIntelFeeds runs the conformance suite of bulwark.IntelFeedStore
// (subscriptions to partners' TAXII collections) against stores made by
// open.
func RunIntelFeeds(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st bulwark.Store)
	}{
		{"CreateFindList", testFeedCreate},
		{"AC01_FeedTenancy", testFeedTenancy},
		{"Validation", testFeedValidation},
		{"UpdateAndSecret", testFeedUpdate},
		{"LeaseAndCursor", testFeedLease},
		{"CC01_ConcurrentClaims", testFeedConcurrentClaims},
		{"DueAndDelete", testFeedDue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

const feedTarget = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"

func newFeed(name string) *bulwark.IntelFeed {
	return &bulwark.IntelFeed{Name: name, ServerURL: "https://isac.example/taxii2/", APIRoot: "/taxii2/api1/", Collection: "91a7b528-80eb-42ed-a74d-c6fbd5a26116",
		Target: feedTarget, Auth: bulwark.FeedAuthBasic, Username: "city-water", Secret: []byte("sealed-secret-bytes"), Interval: time.Hour}
}

func feedIDs(fs []bulwark.IntelFeed) []string {
	return ids(fs, func(f bulwark.IntelFeed) string { return f.Name })
}

func testFeedCreate(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	admin := userCtx("water", bulwark.RoleAdmin)
	f := newFeed("ISAC indicators")
	before := time.Now().Add(-time.Second)
	if err := st.CreateIntelFeed(admin, f); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(f.ID, "feed-") || f.Org != "water" || f.CreatedBy != 1_000_000 || f.NextPull.Before(before) || f.Secret != nil || !f.HasSecret {
		t.Fatalf("created %+v", f)
	}
	// Members read it without the secret; the System principal with it.
	for _, role := range []bulwark.Role{bulwark.RoleAdmin, bulwark.RoleAnalyst, bulwark.RoleViewer} {
		got := must(st.FindIntelFeed(userCtx("water", role), f.ID))(t)
		if got.Secret != nil || !got.HasSecret || got.Name != f.Name || got.Username != "city-water" || got.Interval != time.Hour || got.Auth != bulwark.FeedAuthBasic {
			t.Errorf("%s reads %+v", role, got)
		}
	}
	sys := must(st.FindIntelFeed(sysCtx(), f.ID))(t)
	if string(sys.Secret) != "sealed-secret-bytes" {
		t.Errorf("System principal reads secret %q", sys.Secret)
	}
	f2 := newFeed("CERT advisories")
	f2.Auth, f2.Username, f2.Secret = bulwark.FeedAuthNone, "", []byte("dropped")
	if err := st.CreateIntelFeed(admin, f2); err != nil {
		t.Fatal(err)
	}
	if f2.HasSecret {
		t.Error("auth none kept a secret")
	}
	list := must(st.ListIntelFeeds(userCtx("water", bulwark.RoleViewer), bulwark.IntelFeedFilter{}))(t)
	if got := feedIDs(list); fmt.Sprint(got) != "[CERT advisories ISAC indicators]" {
		t.Errorf("list %v", got)
	}
	for _, x := range list {
		if x.Secret != nil {
			t.Errorf("listing returns a secret")
		}
	}
	wantCode(t, "same name twice", st.CreateIntelFeed(admin, newFeed("ISAC indicators")), bulwark.ECONFLICT)
	// The System principal names the organization, which must exist.
	sf := newFeed("Operator's")
	wantCode(t, "system without org", st.CreateIntelFeed(sysCtx(), sf), bulwark.EINVALID)
	sf.Org = "nowhere"
	wantCode(t, "system, unknown org", st.CreateIntelFeed(sysCtx(), sf), bulwark.EINVALID)
	sf.Org = "power"
	if err := st.CreateIntelFeed(sysCtx(), sf); err != nil || sf.CreatedByName != "cli" {
		t.Errorf("system create: %v %+v", err, sf)
	}
	// Audited, without the secret.
	entries := must(st.ListAudit(sysCtx(), 0, 1000))(t)
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "intel.feed.") {
			n++
			if strings.Contains(e.Detail, "sealed-secret") {
				t.Errorf("audit reveals the secret: %+v", e)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d feed audit entries, want 3", n)
	}
}

func testFeedTenancy(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	f := newFeed("ISAC")
	if err := st.CreateIntelFeed(userCtx("water", bulwark.RoleAdmin), f); err != nil {
		t.Fatal(err)
	}
	// Other organizations learn nothing, whatever their role and whatever
	// city-model sharing grants (water shares with ciso).
	for _, org := range []string{"ciso", "power"} {
		for _, role := range []bulwark.Role{bulwark.RoleAdmin, bulwark.RoleViewer} {
			ctx := userCtx(org, role)
			_, err := st.FindIntelFeed(ctx, f.ID)
			wantCode(t, org+" "+string(role)+" find", err, bulwark.ENOTFOUND)
			list := must(st.ListIntelFeeds(ctx, bulwark.IntelFeedFilter{}))(t)
			if len(list) != 0 {
				t.Errorf("%s %s lists %v", org, role, feedIDs(list))
			}
			g := newFeed("hijack")
			g.ID = f.ID
			wantCode(t, org+" update", st.UpdateIntelFeed(ctx, g), bulwark.ENOTFOUND)
			wantCode(t, org+" delete", st.DeleteIntelFeed(ctx, f.ID), bulwark.ENOTFOUND)
			_, err = st.ClaimIntelFeed(ctx, f.ID, bulwark.IntelFeedLease{Holder: "x", Until: time.Now().Add(time.Minute)})
			wantCode(t, org+" claim", err, bulwark.EFORBIDDEN)
		}
	}
	// Within water, only administrators manage.
	for _, role := range []bulwark.Role{bulwark.RoleAnalyst, bulwark.RoleViewer} {
		ctx := userCtx("water", role)
		wantCode(t, string(role)+" create", st.CreateIntelFeed(ctx, newFeed("mine")), bulwark.EFORBIDDEN)
		g := newFeed("renamed")
		g.ID = f.ID
		wantCode(t, string(role)+" update", st.UpdateIntelFeed(ctx, g), bulwark.EFORBIDDEN)
		wantCode(t, string(role)+" delete", st.DeleteIntelFeed(ctx, f.ID), bulwark.EFORBIDDEN)
		wantCode(t, string(role)+" save state", st.SaveIntelFeedState(ctx, f.ID, bulwark.IntelFeedLease{Holder: "x"}, bulwark.IntelFeedState{}, true), bulwark.EFORBIDDEN)
	}
	// An administrator adds feeds to its own organization only.
	other := newFeed("for power")
	other.Org = "power"
	wantCode(t, "admin for another org", st.CreateIntelFeed(userCtx("water", bulwark.RoleAdmin), other), bulwark.EFORBIDDEN)
	_, err := st.ListIntelFeeds(context.Background(), bulwark.IntelFeedFilter{})
	wantCode(t, "no principal", err, bulwark.EUNAUTHORIZED)
	_, err = st.FindIntelFeed(userCtx("water", bulwark.RoleAdmin), "../etc")
	wantCode(t, "malformed id", err, bulwark.ENOTFOUND)
}

func testFeedValidation(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	admin := userCtx("water", bulwark.RoleAdmin)
	cases := []struct {
		what string
		mod  func(f *bulwark.IntelFeed)
		code string
	}{
		{"empty name", func(f *bulwark.IntelFeed) { f.Name = "" }, bulwark.EINVALID},
		{"control in name", func(f *bulwark.IntelFeed) { f.Name = "a\nb" }, bulwark.EINVALID},
		{"bidi override in name", func(f *bulwark.IntelFeed) { f.Name = "abc\u202edef" }, bulwark.EINVALID},
		{"long name", func(f *bulwark.IntelFeed) { f.Name = strings.Repeat("n", 101) }, bulwark.EINVALID},
		{"http", func(f *bulwark.IntelFeed) { f.ServerURL = "http://isac.example/taxii2/" }, bulwark.EINVALID},
		{"credentials in URL", func(f *bulwark.IntelFeed) { f.ServerURL = "https://u:p@isac.example/taxii2/" }, bulwark.EINVALID},
		{"query in URL", func(f *bulwark.IntelFeed) { f.ServerURL = "https://isac.example/taxii2/?a=b" }, bulwark.EINVALID},
		{"no host", func(f *bulwark.IntelFeed) { f.ServerURL = "https:///taxii2/" }, bulwark.EINVALID},
		{"API root elsewhere over http", func(f *bulwark.IntelFeed) { f.APIRoot = "http://isac.example/api/" }, bulwark.EINVALID},
		{"collection with slash", func(f *bulwark.IntelFeed) { f.Collection = "a/../b" }, bulwark.EINVALID},
		{"no collection", func(f *bulwark.IntelFeed) { f.Collection = "" }, bulwark.EINVALID},
		{"target not a UUID", func(f *bulwark.IntelFeed) { f.Target = "indicators" }, bulwark.EINVALID},
		{"bad marking", func(f *bulwark.IntelFeed) { f.MinMarking = "white" }, bulwark.EINVALID},
		{"interval too short", func(f *bulwark.IntelFeed) { f.Interval = time.Minute }, bulwark.EINVALID},
		{"interval too long", func(f *bulwark.IntelFeed) { f.Interval = 30 * 24 * time.Hour }, bulwark.EINVALID},
		{"auth unknown", func(f *bulwark.IntelFeed) { f.Auth = "digest" }, bulwark.EINVALID},
		{"basic without user", func(f *bulwark.IntelFeed) { f.Username = "" }, bulwark.EINVALID},
		{"user with colon", func(f *bulwark.IntelFeed) { f.Username = "a:b" }, bulwark.EINVALID},
		{"bearer with user", func(f *bulwark.IntelFeed) { f.Auth = bulwark.FeedAuthBearer }, bulwark.EINVALID},
		{"CA not PEM", func(f *bulwark.IntelFeed) { f.CACert = "MIIB..." }, bulwark.EINVALID},
		{"huge secret", func(f *bulwark.IntelFeed) { f.Secret = make([]byte, 1<<20) }, bulwark.ETOOLARGE},
		{"valid", func(f *bulwark.IntelFeed) {}, ""},
	}
	for i, tc := range cases {
		f := newFeed(fmt.Sprintf("feed %d", i))
		tc.mod(f)
		wantCode(t, tc.what, st.CreateIntelFeed(admin, f), tc.code)
	}
}

func testFeedUpdate(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	admin := userCtx("water", bulwark.RoleAdmin)
	f := newFeed("ISAC")
	if err := st.CreateIntelFeed(admin, f); err != nil {
		t.Fatal(err)
	}
	// The puller moves the cursor.
	lease := bulwark.IntelFeedLease{Holder: "p1", Until: time.Now().Add(time.Minute)}
	if _, err := st.ClaimIntelFeed(sysCtx(), f.ID, lease); err != nil {
		t.Fatal(err)
	}
	cursor := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	if err := st.SaveIntelFeedState(sysCtx(), f.ID, lease, bulwark.IntelFeedState{AddedAfter: cursor, Imported: 10}, true); err != nil {
		t.Fatal(err)
	}
	// A new name, no new secret: the secret and the cursor stay.
	g := must(st.FindIntelFeed(admin, f.ID))(t)
	g.Name, g.Description = "ISAC (renamed)", "indicators"
	if err := st.UpdateIntelFeed(admin, g); err != nil {
		t.Fatal(err)
	}
	got := must(st.FindIntelFeed(sysCtx(), f.ID))(t)
	if got.Name != "ISAC (renamed)" || string(got.Secret) != "sealed-secret-bytes" || !got.AddedAfter.Equal(cursor) || got.Imported != 10 {
		t.Errorf("after rename: %+v", got)
	}
	// A new secret replaces it.
	g.Secret = []byte("new-sealed")
	if err := st.UpdateIntelFeed(admin, g); err != nil {
		t.Fatal(err)
	}
	if got := must(st.FindIntelFeed(sysCtx(), f.ID))(t); string(got.Secret) != "new-sealed" {
		t.Errorf("secret %q", got.Secret)
	}
	// Switching to a token without giving one clears the password.
	g.Auth, g.Username, g.Secret = bulwark.FeedAuthBearer, "", nil
	if err := st.UpdateIntelFeed(admin, g); err != nil {
		t.Fatal(err)
	}
	if got := must(st.FindIntelFeed(sysCtx(), f.ID))(t); got.HasSecret {
		t.Errorf("the basic password survived a switch to bearer: %q", got.Secret)
	}
	// Another collection: the cursor starts over.
	g.Collection = "other-collection"
	if err := st.UpdateIntelFeed(admin, g); err != nil {
		t.Fatal(err)
	}
	if got := must(st.FindIntelFeed(admin, f.ID))(t); !got.AddedAfter.IsZero() || got.Collection != "other-collection" {
		t.Errorf("after a new collection: %+v", got)
	}
	// Names stay unique.
	h := newFeed("second")
	if err := st.CreateIntelFeed(admin, h); err != nil {
		t.Fatal(err)
	}
	h.Name = "ISAC (renamed)"
	wantCode(t, "rename onto another", st.UpdateIntelFeed(admin, h), bulwark.ECONFLICT)
	h.Name = ""
	wantCode(t, "invalid update", st.UpdateIntelFeed(admin, h), bulwark.EINVALID)
}

func testFeedLease(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	f := newFeed("ISAC")
	if err := st.CreateIntelFeed(userCtx("water", bulwark.RoleAdmin), f); err != nil {
		t.Fatal(err)
	}
	sys := sysCtx()
	a := bulwark.IntelFeedLease{Holder: "puller-a", Until: time.Now().Add(time.Minute)}
	b := bulwark.IntelFeedLease{Holder: "puller-b", Until: time.Now().Add(time.Minute)}
	got, err := st.ClaimIntelFeed(sys, f.ID, a)
	if err != nil || string(got.Secret) != "sealed-secret-bytes" {
		t.Fatalf("claim: %+v, %v", got, err)
	}
	_, err = st.ClaimIntelFeed(sys, f.ID, b)
	wantCode(t, "second holder", err, bulwark.ECONFLICT)
	if _, err := st.ClaimIntelFeed(sys, f.ID, a); err != nil {
		t.Errorf("holder reclaims: %v", err)
	}
	t1 := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Microsecond)
	t2 := t1.Add(time.Hour)
	if err := st.SaveIntelFeedState(sys, f.ID, a, bulwark.IntelFeedState{AddedAfter: t2, ResumeNext: "cursor-9", ResumeAfter: t1}, false); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "save without the lease", st.SaveIntelFeedState(sys, f.ID, b, bulwark.IntelFeedState{AddedAfter: t2}, false), bulwark.ECONFLICT)
	// The cursor never moves backwards.
	if err := st.SaveIntelFeedState(sys, f.ID, a, bulwark.IntelFeedState{AddedAfter: t1, LastError: "boom", Failures: 1}, false); err != nil {
		t.Fatal(err)
	}
	got = must(st.FindIntelFeed(sys, f.ID))(t)
	if !got.AddedAfter.Equal(t2) || got.LastError != "boom" || got.Failures != 1 || got.ResumeNext != "" {
		t.Errorf("after a backwards save: %+v", got.IntelFeedState)
	}
	// The resume point is the puller's: members do not see it.
	if err := st.SaveIntelFeedState(sys, f.ID, a, bulwark.IntelFeedState{AddedAfter: t2, ResumeNext: "cursor-10", ResumeAfter: t1}, false); err != nil {
		t.Fatal(err)
	}
	if got := must(st.FindIntelFeed(userCtx("water", bulwark.RoleAdmin), f.ID))(t); got.ResumeNext != "" {
		t.Errorf("a member reads the resume point %q", got.ResumeNext)
	}
	if got := must(st.FindIntelFeed(sys, f.ID))(t); got.ResumeNext != "cursor-10" || !got.ResumeAfter.Equal(t1) {
		t.Errorf("resume point %q %v", got.ResumeNext, got.ResumeAfter)
	}
	// Released: the next puller claims it and sees the state.
	done := bulwark.IntelFeedState{AddedAfter: t2, LastSuccess: time.Now().UTC().Truncate(time.Microsecond), LastCount: 3, Imported: 3, NextPull: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)}
	if err := st.SaveIntelFeedState(sys, f.ID, a, done, true); err != nil {
		t.Fatal(err)
	}
	got, err = st.ClaimIntelFeed(sys, f.ID, b)
	if err != nil || got.Imported != 3 || !got.NextPull.Equal(done.NextPull) || !got.LastSuccess.Equal(done.LastSuccess) {
		t.Fatalf("claim after release: %+v, %v", got, err)
	}
	// An expired lease is taken over; the old holder's saves are refused.
	expired := bulwark.IntelFeedLease{Holder: "puller-b", Until: time.Now().Add(-time.Second)}
	if err := st.SaveIntelFeedState(sys, f.ID, expired, got.IntelFeedState, false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimIntelFeed(sys, f.ID, a); err != nil {
		t.Errorf("taking over an expired lease: %v", err)
	}
	wantCode(t, "the old holder saves", st.SaveIntelFeedState(sys, f.ID, b, got.IntelFeedState, true), bulwark.ECONFLICT)
	_, err = st.ClaimIntelFeed(sys, f.ID, bulwark.IntelFeedLease{})
	wantCode(t, "empty lease", err, bulwark.EINVALID)
	_, err = st.ClaimIntelFeed(sys, "feed-none", a)
	wantCode(t, "unknown feed", err, bulwark.ENOTFOUND)
	// The final save is audited.
	entries := must(st.ListAudit(sys, 0, 1000))(t)
	pulls := 0
	for _, e := range entries {
		if e.Action == "intel.feed.pull" {
			pulls++
		}
	}
	if pulls != 1 {
		t.Errorf("%d pull audit entries, want 1", pulls)
	}
}

func testFeedConcurrentClaims(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	f := newFeed("ISAC")
	if err := st.CreateIntelFeed(userCtx("water", bulwark.RoleAdmin), f); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.ClaimIntelFeed(sysCtx(), f.ID, bulwark.IntelFeedLease{Holder: fmt.Sprintf("p%d", i), Until: time.Now().Add(time.Minute)})
			mu.Lock()
			defer mu.Unlock()
			switch bulwark.ErrorCode(err) {
			case "":
				wins++
			case bulwark.ECONFLICT:
				conflicts++
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Errorf("%d claims won, %d refused; want 1 and %d", wins, conflicts, n-1)
	}
}

func testFeedDue(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	admin := userCtx("water", bulwark.RoleAdmin)
	due, later, paused := newFeed("due"), newFeed("later"), newFeed("paused")
	paused.Paused = true
	for _, f := range []*bulwark.IntelFeed{due, later, paused} {
		if err := st.CreateIntelFeed(admin, f); err != nil {
			t.Fatal(err)
		}
	}
	lease := bulwark.IntelFeedLease{Holder: "p", Until: time.Now().Add(time.Minute)}
	if _, err := st.ClaimIntelFeed(sysCtx(), later.ID, lease); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveIntelFeedState(sysCtx(), later.ID, lease, bulwark.IntelFeedState{NextPull: time.Now().Add(time.Hour)}, true); err != nil {
		t.Fatal(err)
	}
	got := must(st.ListIntelFeeds(sysCtx(), bulwark.IntelFeedFilter{DueBy: time.Now().Add(time.Second)}))(t)
	if fmt.Sprint(feedIDs(got)) != "[due]" {
		t.Errorf("due: %v", feedIDs(got))
	}
	got = must(st.ListIntelFeeds(sysCtx(), bulwark.IntelFeedFilter{DueBy: time.Now().Add(2 * time.Hour)}))(t)
	if fmt.Sprint(feedIDs(got)) != "[due later]" {
		t.Errorf("due in two hours: %v", feedIDs(got))
	}
	// Unpausing makes it due now.
	p := must(st.FindIntelFeed(admin, paused.ID))(t)
	p.Paused = false
	if err := st.UpdateIntelFeed(admin, p); err != nil {
		t.Fatal(err)
	}
	got = must(st.ListIntelFeeds(sysCtx(), bulwark.IntelFeedFilter{DueBy: time.Now().Add(time.Second)}))(t)
	if fmt.Sprint(feedIDs(got)) != "[due paused]" {
		t.Errorf("due after unpausing: %v", feedIDs(got))
	}
	if err := st.DeleteIntelFeed(admin, due.ID); err != nil {
		t.Fatal(err)
	}
	_, err := st.FindIntelFeed(admin, due.ID)
	wantCode(t, "deleted", err, bulwark.ENOTFOUND)
	wantCode(t, "deleted twice", st.DeleteIntelFeed(admin, due.ID), bulwark.ENOTFOUND)
}
