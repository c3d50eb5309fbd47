package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
)

func testCatalog() *bulwark.Catalog {
	return &bulwark.Catalog{ID: "mini", Title: "Mini framework", Version: "1", Kind: "csf", Controls: []bulwark.Control{
		{ID: "GV", Class: "function", Title: "Govern"},
		{ID: "GV.OC", Parent: "GV", Class: "category", Title: "Organizational Context"},
		{ID: "GV.OC-01", Parent: "GV.OC", Class: "subcategory", Title: "Mission", Assessable: true, Function: "GV"},
		{ID: "GV.OC-02", Parent: "GV.OC", Class: "subcategory", Title: "Stakeholders", Assessable: true, Function: "GV"},
	}}
}

func testCatalogs(t *testing.T, st bulwark.Store) {
	c := testCatalog()
	c.Builtin = true
	wantCode(t, "analyst importing a catalog", st.PutCatalog(userCtx("water", bulwark.RoleAnalyst), testCatalog()), bulwark.EFORBIDDEN)
	if err := st.PutCatalog(sysCtx(), c); err != nil {
		t.Fatal(err)
	}
	// A built-in catalog is the system's: an organization's admin may not
	// replace it, but may import one of its own.
	wantCode(t, "admin replacing a built-in catalog", st.PutCatalog(userCtx("water", bulwark.RoleAdmin), testCatalog()), bulwark.EFORBIDDEN)
	own := testCatalog()
	own.ID = "water-framework"
	if err := st.PutCatalog(userCtx("water", bulwark.RoleAdmin), own); err != nil {
		t.Fatal(err)
	}
	bad := testCatalog()
	bad.ID = "bad id"
	wantCode(t, "invalid catalog id", st.PutCatalog(sysCtx(), bad), bulwark.EINVALID)
	empty := &bulwark.Catalog{ID: "empty"}
	wantCode(t, "empty catalog", st.PutCatalog(sysCtx(), empty), bulwark.EINVALID)

	// Every signed-in caller reads catalogs; nobody without a principal.
	got := must(st.FindCatalog(userCtx("power", bulwark.RoleViewer), "mini"))(t)
	if len(got.Controls) != 4 || got.Controls[2].ID != "GV.OC-01" || !got.Controls[2].Assessable || !got.Builtin {
		t.Errorf("catalog read back: %+v", got)
	}
	list := must(st.ListCatalogs(userCtx("power", bulwark.RoleViewer)))(t)
	if len(list) != 2 || list[0].ID != "mini" || list[0].Assessable != 2 || !list[0].Builtin || list[1].Builtin {
		t.Errorf("catalog list: %+v", list)
	}
	_, err := st.FindCatalog(userCtx("power", bulwark.RoleViewer), "nope")
	wantCode(t, "unknown catalog", err, bulwark.ENOTFOUND)
	_, err = st.ListCatalogs(t.Context())
	wantCode(t, "no principal", err, bulwark.EUNAUTHORIZED)
}

func testAssessments(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	if err := st.PutCatalog(sysCtx(), testCatalog()); err != nil {
		t.Fatal(err)
	}
	water := userCtx("water", bulwark.RoleAnalyst)
	a := &bulwark.Assessment{Catalog: "mini", ScopeKind: bulwark.ScopeOrganization, Scope: "water", Title: "2026 self-assessment"}
	if err := st.CreateAssessment(water, a); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ID, "asm-") || a.Owner != "water" {
		t.Fatalf("created %+v", a)
	}
	sys := &bulwark.Assessment{Catalog: "mini", ScopeKind: "system", Scope: "water-scada"}
	if err := st.CreateAssessment(water, sys); err != nil {
		t.Fatal(err)
	}

	// Creation rules: only writers, only of their own organization's
	// scopes, only existing catalogs and scopes.
	cases := []struct {
		what string
		ctx  bulwark.Assessment
		as   bulwark.Principal
		code string
	}{
		{"viewer", bulwark.Assessment{Catalog: "mini", ScopeKind: "organization", Scope: "water"}, bulwark.Principal{Org: "water", Role: bulwark.RoleViewer}, bulwark.EFORBIDDEN},
		{"another org", bulwark.Assessment{Catalog: "mini", ScopeKind: "organization", Scope: "power"}, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, bulwark.EFORBIDDEN},
		{"invisible org", bulwark.Assessment{Catalog: "mini", ScopeKind: "organization", Scope: "water"}, bulwark.Principal{Org: "power", Role: bulwark.RoleAdmin}, bulwark.ENOTFOUND},
		{"invisible service", bulwark.Assessment{Catalog: "mini", ScopeKind: "service", Scope: "water-supply"}, bulwark.Principal{Org: "power", Role: bulwark.RoleAdmin}, bulwark.ENOTFOUND},
		{"asset scope", bulwark.Assessment{Catalog: "mini", ScopeKind: "asset", Scope: "plc-1"}, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, bulwark.EINVALID},
		{"unknown catalog", bulwark.Assessment{Catalog: "nope", ScopeKind: "organization", Scope: "water"}, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, bulwark.ENOTFOUND},
		{"unknown system", bulwark.Assessment{Catalog: "mini", ScopeKind: "system", Scope: "nope"}, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}, bulwark.ENOTFOUND},
	}
	for _, tc := range cases {
		tc.as.Name = "t"
		ctx := bulwark.WithPrincipal(t.Context(), tc.as)
		wantCode(t, tc.what, st.CreateAssessment(ctx, &tc.ctx), tc.code)
	}

	// Results: revisions count up; a change from a stale base is refused
	// and names who changed it; history keeps every revision.
	r1 := must(st.SetResult(water, a.ID, bulwark.ResultChange{Control: "GV.OC-01", Status: bulwark.StatusPartial, CurrentTier: 1, TargetTier: 3,
		Evidence: []bulwark.Evidence{{Kind: "link", Title: "Charter", URL: "https://intranet.example/charter"}}}))(t)
	if r1.Rev != 1 || r1.Assessor != "analyst@water" {
		t.Errorf("first result: %+v", r1)
	}
	r2 := must(st.SetResult(water, a.ID, bulwark.ResultChange{Control: "GV.OC-01", BaseRev: 1, Status: bulwark.StatusImplemented, CurrentTier: 2, TargetTier: 3}))(t)
	if r2.Rev != 2 {
		t.Errorf("second result rev %d", r2.Rev)
	}
	_, err := st.SetResult(water, a.ID, bulwark.ResultChange{Control: "GV.OC-01", BaseRev: 1, Status: bulwark.StatusNotImplemented})
	wantCode(t, "stale base revision", err, bulwark.ECONFLICT)
	if err == nil || !strings.Contains(bulwark.ErrorMessage(err), "analyst@water") || !strings.Contains(bulwark.ErrorMessage(err), "revision 2") {
		t.Errorf("conflict message does not say who and which revision: %v", err)
	}
	hist := must(st.ResultHistory(water, a.ID, "GV.OC-01"))(t)
	if len(hist) != 2 || hist[0].Status != bulwark.StatusPartial || hist[1].Status != bulwark.StatusImplemented || len(hist[0].Evidence) != 1 {
		t.Errorf("history: %+v", hist)
	}

	// Malformed changes, and nothing stored by them.
	bad := []struct {
		what string
		c    bulwark.ResultChange
		code string
	}{
		{"unknown status", bulwark.ResultChange{Control: "GV.OC-02", Status: "done"}, bulwark.EINVALID},
		{"tier 5", bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial, CurrentTier: 5}, bulwark.EINVALID},
		{"negative tier", bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial, TargetTier: -1}, bulwark.EINVALID},
		{"no control", bulwark.ResultChange{Status: bulwark.StatusPartial}, bulwark.EINVALID},
		{"javascript link", bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial, Evidence: []bulwark.Evidence{{Kind: "link", URL: "javascript:alert(1)"}}}, bulwark.EINVALID},
		{"bad hash", bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial, Evidence: []bulwark.Evidence{{Kind: "file", Title: "x.pdf", SHA256: "zz"}}}, bulwark.EINVALID},
		{"huge notes", bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial, Notes: strings.Repeat("n", 10_001)}, bulwark.ETOOLARGE},
		{"too much evidence", bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial, Evidence: make([]bulwark.Evidence, 51)}, bulwark.ETOOLARGE},
	}
	for _, tc := range bad {
		_, err := st.SetResult(water, a.ID, tc.c)
		wantCode(t, tc.what, err, tc.code)
	}
	_, err = st.SetResult(userCtx("water", bulwark.RoleViewer), a.ID, bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial})
	wantCode(t, "viewer setting a result", err, bulwark.EFORBIDDEN)
	_, err = st.SetResult(userCtx("ciso", bulwark.RoleAdmin), a.ID, bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial})
	wantCode(t, "ciso (sees water) changing water's assessment", err, bulwark.EFORBIDDEN)
	_, err = st.SetResult(userCtx("power", bulwark.RoleAdmin), a.ID, bulwark.ResultChange{Control: "GV.OC-02", Status: bulwark.StatusPartial})
	wantCode(t, "power changing an invisible assessment", err, bulwark.ENOTFOUND)

	got := must(st.FindAssessment(water, a.ID))(t)
	if len(got.Results) != 1 || got.Results[0].Rev != 2 || got.Results[0].Status != bulwark.StatusImplemented || got.Results[0].CurrentTier != 2 {
		t.Errorf("current results: %+v", got.Results)
	}
	// Tenancy of reads: water shares with ciso; power sees nothing of water.
	must(st.FindAssessment(userCtx("ciso", bulwark.RoleViewer), a.ID))(t)
	_, err = st.FindAssessment(userCtx("power", bulwark.RoleAdmin), a.ID)
	wantCode(t, "power reading water's assessment", err, bulwark.ENOTFOUND)
	_, err = st.ResultHistory(userCtx("power", bulwark.RoleAdmin), a.ID, "GV.OC-01")
	wantCode(t, "power reading water's history", err, bulwark.ENOTFOUND)
	if l := must(st.ListAssessments(userCtx("power", bulwark.RoleAdmin), bulwark.AssessmentFilter{}))(t); len(l) != 0 {
		t.Errorf("power lists %d of water's assessments", len(l))
	}
	l := must(st.ListAssessments(water, bulwark.AssessmentFilter{Scope: "water"}))(t)
	if len(l) != 1 || l[0].ID != a.ID || l[0].Assessed != 1 {
		t.Errorf("list: %+v", l)
	}

	// As of a time before the second revision, the first is current.
	var asOf []bulwark.ControlResult
	err = st.EachAssessment(water, bulwark.AssessmentFilter{Scope: "water"}, r1.At, func(a *bulwark.Assessment) error {
		asOf = a.Results
		return nil
	})
	if err != nil || len(asOf) != 1 || asOf[0].Rev != 1 {
		t.Errorf("as of first revision: %v %+v", err, asOf)
	}
	if !r2.At.After(r1.At) {
		t.Logf("revisions share a timestamp; as-of check is weak")
	}
}

// testConcurrentResultEdits: two assessors change the same control from
// the same revision at once; exactly one wins and the other is told.
func testConcurrentResultEdits(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	if err := st.PutCatalog(sysCtx(), testCatalog()); err != nil {
		t.Fatal(err)
	}
	a := &bulwark.Assessment{Catalog: "mini", ScopeKind: bulwark.ScopeOrganization, Scope: "water"}
	if err := st.CreateAssessment(userCtx("water", bulwark.RoleAdmin), a); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := bulwark.WithPrincipal(t.Context(), bulwark.Principal{Org: "water", Role: bulwark.RoleAnalyst, Name: []string{"ann", "bob"}[i]})
				status := []bulwark.ImplStatus{bulwark.StatusPartial, bulwark.StatusImplemented}[i]
				_, errs[i] = st.SetResult(ctx, a.ID, bulwark.ResultChange{Control: "GV.OC-01", BaseRev: round, Status: status})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case bulwark.ErrorCode(err) != bulwark.ECONFLICT && bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d changes from the same revision succeeded (%v), want exactly 1", round, ok, errs)
		}
		hist := must(st.ResultHistory(userCtx("water", bulwark.RoleViewer), a.ID, "GV.OC-01"))(t)
		if len(hist) != round+1 {
			t.Fatalf("round %d: %d revisions stored", round, len(hist))
		}
	}
}

func testProfilesAndSnapshots(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	if err := st.PutCatalog(sysCtx(), testCatalog()); err != nil {
		t.Fatal(err)
	}
	ciso := userCtx("ciso", bulwark.RoleAdmin)
	p := &bulwark.Profile{ID: "city-min", Name: "City minimum", Catalog: "mini", AppliesTo: "high",
		Requirements: []bulwark.ProfileRequirement{{Control: "GV.OC-01", MinStatus: bulwark.StatusImplemented, MinTier: 2}}}
	if err := st.PutProfile(ciso, p); err != nil {
		t.Fatal(err)
	}
	if p.Owner != "ciso" {
		t.Errorf("profile owner %q", p.Owner)
	}
	// Published to everyone; changed only by its publisher.
	got := must(st.FindProfile(userCtx("power", bulwark.RoleViewer), "city-min"))(t)
	if got.Name != "City minimum" || len(got.Requirements) != 1 || got.Requirements[0].MinTier != 2 {
		t.Errorf("profile read back: %+v", got)
	}
	steal := *p
	steal.Owner = ""
	wantCode(t, "power overwriting ciso's profile", st.PutProfile(userCtx("power", bulwark.RoleAdmin), &steal), bulwark.ECONFLICT)
	wantCode(t, "viewer publishing", st.PutProfile(userCtx("ciso", bulwark.RoleViewer), &steal), bulwark.EFORBIDDEN)
	wantCode(t, "unknown catalog", st.PutProfile(ciso, &bulwark.Profile{ID: "x", Catalog: "nope"}), bulwark.ENOTFOUND)
	wantCode(t, "power deleting ciso's profile", st.DeleteProfile(userCtx("power", bulwark.RoleAdmin), "city-min"), bulwark.EFORBIDDEN)
	if l := must(st.ListProfiles(userCtx("water", bulwark.RoleViewer)))(t); len(l) != 1 {
		t.Errorf("%d profiles listed", len(l))
	}
	if err := st.DeleteProfile(ciso, "city-min"); err != nil {
		t.Fatal(err)
	}
	_, err := st.FindProfile(ciso, "city-min")
	wantCode(t, "deleted profile", err, bulwark.ENOTFOUND)

	// Snapshots: only the system records them; an organization's history
	// is visible to those who see it; the city's to everyone.
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	snaps := []bulwark.IndexSnapshot{
		{Org: "", At: t0, Index: 40, Indicators: []bulwark.IndicatorValue{{ID: "kev-overdue", Measured: true, Value: 3, Score: 0.5, Weight: 1}}},
		{Org: "water", At: t0, Index: 35},
		{Org: "", At: t0.Add(24 * time.Hour), Index: 45},
	}
	wantCode(t, "admin recording a snapshot", st.AppendIndexSnapshots(ciso, snaps), bulwark.EFORBIDDEN)
	if err := st.AppendIndexSnapshots(sysCtx(), snaps); err != nil {
		t.Fatal(err)
	}
	city := must(st.IndexHistory(userCtx("power", bulwark.RoleViewer), "", 0))(t)
	if len(city) != 2 || city[0].Index != 40 || city[1].Index != 45 || len(city[0].Indicators) != 1 || city[0].Indicators[0].Value != 3 {
		t.Errorf("city history: %+v", city)
	}
	if last := must(st.IndexHistory(ciso, "", 1))(t); len(last) != 1 || last[0].Index != 45 {
		t.Errorf("newest city snapshot: %+v", last)
	}
	if w := must(st.IndexHistory(ciso, "water", 0))(t); len(w) != 1 || w[0].Index != 35 {
		t.Errorf("water history seen by ciso: %+v", w)
	}
	_, err = st.IndexHistory(userCtx("power", bulwark.RoleViewer), "water", 0)
	wantCode(t, "power reading water's index", err, bulwark.ENOTFOUND)
}

// testRemediationTimes: time from first seen to the first fix, per
// finding, scoped to the caller.
func testRemediationTimes(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	first := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Microsecond)
	must(st.SyncFindings(sysCtx(), bulwark.FindingSync{Full: true, At: first, Matches: []bulwark.Finding{
		finding("plc-1", "CVE-2024-0001", "water", bulwark.SSVCAct, first.AddDate(0, 0, 14)),
		finding("grid-rtu", "CVE-2024-0002", "power", bulwark.SSVCTrack, first.AddDate(0, 0, 90)),
	}}))(t)
	water := userCtx("water", bulwark.RoleAnalyst)
	if _, err := st.UpdateFinding(water, "plc-1", "CVE-2024-0001", bulwark.FindingChange{Status: bulwark.FindingFixed, Note: "patched"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateFinding(water, "plc-1", "CVE-2024-0001", bulwark.FindingChange{Status: bulwark.FindingVerified}); err != nil {
		t.Fatal(err)
	}
	got := must(st.RemediationTimes(water, time.Time{}))(t)
	if len(got) != 1 || got[0].Owner != "water" || got[0].Took < 0 {
		t.Fatalf("remediation times: %+v", got)
	}
	f := must(st.FindFinding(water, "plc-1", "CVE-2024-0001"))(t)
	hist := must(st.FindingHistory(water, "plc-1", "CVE-2024-0001"))(t)
	var fixedAt time.Time
	for _, e := range hist {
		if e.To == bulwark.FindingFixed && fixedAt.IsZero() {
			fixedAt = e.At
		}
	}
	if want := fixedAt.Sub(f.FirstSeen); got[0].Took != want || got[0].Decision != f.Decision {
		t.Errorf("took %v (%s), want %v (%s): from first seen to the first fix, not the verification", got[0].Took, got[0].Decision, want, f.Decision)
	}
	if p := must(st.RemediationTimes(userCtx("power", bulwark.RoleAdmin), time.Time{}))(t); len(p) != 0 {
		t.Errorf("power sees water's remediation times: %+v", p)
	}
	if l := must(st.RemediationTimes(water, time.Now().Add(time.Hour)))(t); len(l) != 0 {
		t.Errorf("since the future: %+v", l)
	}
}
