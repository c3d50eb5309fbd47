package baseline

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

func sysCtx() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
}

func userCtx(org string, role bulwark.Role) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 7, Org: org, Role: role, Name: string(role) + "@" + org})
}

// openHarbor returns a service over a SQLite store holding the example
// city (examples/city.yaml) and the small test catalogs.
func openHarbor(t testing.TB) (*Service, *sqlstore.DB) {
	t.Helper()
	db, err := sqlstore.Open(sysCtx(), filepath.Join(t.TempDir(), "b.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src := citymodel.FileSource(filepath.Join(testenv.RepoRoot(t), "examples", "city.yaml"))
	if _, err := citymodel.Import(sysCtx(), db, []citymodel.Source{src}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	s := New(db, nil)
	s.SetClock(func() time.Time { return now })
	csf, cpg := miniCSF(), miniCPG()
	csf.Title, cpg.Title = "Mini CSF", "Mini CPG"
	csf.Builtin, cpg.Builtin = true, true
	if err := s.InstallBuiltins(t.Context(), []*bulwark.Catalog{csf, cpg}); err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestServiceAssessAndMeasure(t *testing.T) {
	s, db := openHarbor(t)
	water := userCtx("city-water", bulwark.RoleAnalyst)
	a := &bulwark.Assessment{Catalog: CSFCatalog, ScopeKind: bulwark.ScopeOrganization, Scope: "city-water"}
	if err := db.CreateAssessment(water, a); err != nil {
		t.Fatal(err)
	}
	for _, c := range []bulwark.ResultChange{
		{Control: "GV.OC-01", Status: bulwark.StatusImplemented, CurrentTier: 3, TargetTier: 3},
		{Control: "ID.RA-01", Status: bulwark.StatusNotImplemented, CurrentTier: 1, TargetTier: 3},
	} {
		if _, err := s.SetResult(water, a.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	// The service refuses controls the catalog lacks or that group others,
	// and tiers outside CSF.
	for _, tc := range []struct {
		what string
		c    bulwark.ResultChange
		want string
	}{
		{"unknown control", bulwark.ResultChange{Control: "XX.YY-01", Status: bulwark.StatusPartial}, "not in catalog"},
		{"a category", bulwark.ResultChange{Control: "GV.OC", Status: bulwark.StatusPartial}, "is a category"},
	} {
		_, err := s.SetResult(water, a.ID, tc.c)
		if bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.what, err)
		}
	}
	cpgA := &bulwark.Assessment{Catalog: "cpg-2.0", ScopeKind: "system", Scope: "water-scada"}
	if err := db.CreateAssessment(water, cpgA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetResult(water, cpgA.ID, bulwark.ResultChange{Control: "1.E", Status: bulwark.StatusPartial, CurrentTier: 2}); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("tier on a CPG goal: %v", err)
	}

	city, orgs, err := s.Readiness(sysCtx())
	if err != nil {
		t.Fatal(err)
	}
	if len(orgs) != 3 {
		t.Fatalf("%d organizations", len(orgs))
	}
	// Harbor City has two high services: water-supply (water-scada tested
	// 2026-05-01, within a year of the clock) and electricity (grid-scada
	// never tested).
	if v := indicator(t, city, "recovery-tested"); !v.Measured || v.Score != 0.5 {
		t.Errorf("recovery-tested: %+v", v)
	}
	if v := indicator(t, city, "assessed-orgs"); v.Score != 1.0/3 {
		t.Errorf("assessed-orgs: %+v", v)
	}
	// Coverage: 1 implemented of 4 applicable subcategories.
	if v := indicator(t, city, "csf-coverage"); v.Score != 0.25 {
		t.Errorf("csf-coverage: %+v", v)
	}
	if v := indicator(t, city, "kev-on-time"); v.Measured {
		t.Errorf("KEV measured without feeds: %+v", v)
	}

	// Tenancy: harbor-power sees only itself (nobody shares with it), so
	// water's assessment does not reach its figures.
	pCity, pOrgs, err := s.Readiness(userCtx("harbor-power", bulwark.RoleViewer))
	if err != nil {
		t.Fatal(err)
	}
	if len(pOrgs) != 1 || pOrgs[0].Org != "harbor-power" {
		t.Errorf("power's organizations: %+v", pOrgs)
	}
	if v := indicator(t, pCity, "csf-coverage"); v.Measured {
		t.Errorf("power sees water's coverage: %+v", v)
	}
	if v := indicator(t, pCity, "recovery-tested"); v.Score != 0 || !v.Measured {
		t.Errorf("power's recovery: %+v", v)
	}

	// Gaps: water's organization-scope gaps and the system-scope CPG
	// assessment (unassessed goals count ¾).
	gaps, err := s.Gaps(water, GapFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// The unassessed high-impact goal 1.A of the system assessment (¾ ×
	// 3 × reach × 1.5) outranks the organization's ID.RA-01 (1 × 3 ×
	// reach): CISA's impact rating weighs in.
	if len(gaps) != 5 || gaps[0].Control != "1.A" || gaps[1].Control != "ID.RA-01" || !strings.Contains(gaps[1].Why, "FIPS 199 high") ||
		gaps[0].Score != round2(0.75*3*gaps[0].Reach*1.5) {
		t.Errorf("gaps: %+v", gaps)
	}
	if g, err := s.Gaps(userCtx("harbor-power", bulwark.RoleAdmin), GapFilter{}); err != nil || len(g) != 0 {
		t.Errorf("power sees water's gaps: %v %+v", err, g)
	}

	// Record: as the system, into the history; visible to others as the
	// city aggregate.
	if _, err := s.Record(userCtx("harbor-power", bulwark.RoleAdmin)); bulwark.ErrorCode(err) != bulwark.EFORBIDDEN {
		t.Errorf("a private operator's admin recording the city index: %v", err)
	}
	rec, err := s.Record(userCtx("city-ciso", bulwark.RoleAdmin))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Index != city.Index {
		t.Errorf("recorded %v, computed %v", rec.Index, city.Index)
	}
	h, err := s.History(userCtx("harbor-power", bulwark.RoleViewer), "", 10)
	if err != nil || len(h) != 1 || h[0].Index != city.Index {
		t.Errorf("history: %v %+v", err, h)
	}
	if _, err := s.History(userCtx("harbor-power", bulwark.RoleViewer), "city-water", 10); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("power reading water's history: %v", err)
	}
}

func TestProfilesChecked(t *testing.T) {
	s, _ := openHarbor(t)
	ciso := userCtx("city-ciso", bulwark.RoleAdmin)
	good := bulwark.Profile{ID: "min", Name: "Minimum", Catalog: "cpg-2.0", AppliesTo: "high",
		Requirements: []bulwark.ProfileRequirement{{Control: "1.A", MinStatus: bulwark.StatusImplemented}}}
	bad := []struct {
		what string
		mut  func(p *bulwark.Profile)
		want string
	}{
		{"applies to", func(p *bulwark.Profile) { p.AppliesTo = "critical" }, "applies_to"},
		{"no name", func(p *bulwark.Profile) { p.Name = " " }, "name"},
		{"no requirements", func(p *bulwark.Profile) { p.Requirements = nil }, "at least one"},
		{"unknown control", func(p *bulwark.Profile) { p.Requirements[0].Control = "9.Z" }, "not in catalog"},
		{"min status", func(p *bulwark.Profile) { p.Requirements[0].MinStatus = bulwark.StatusNotApplicable }, "min_status"},
		{"tier", func(p *bulwark.Profile) { p.Requirements[0].MinTier = 9 }, "min_tier"},
		{"twice", func(p *bulwark.Profile) { p.Requirements = append(p.Requirements, p.Requirements[0]) }, "twice"},
	}
	for _, tc := range bad {
		p := good
		p.Requirements = append([]bulwark.ProfileRequirement(nil), good.Requirements...)
		tc.mut(&p)
		if err := s.PutProfile(ciso, &p); bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.what, err)
		}
	}
	if err := s.PutProfile(userCtx("harbor-power", bulwark.RoleAdmin), &good); bulwark.ErrorCode(err) != bulwark.EFORBIDDEN {
		t.Errorf("a private operator publishing a profile: %v", err)
	}
	if err := s.PutProfile(ciso, &good); err != nil {
		t.Fatal(err)
	}
	res, err := s.Compliance(ciso, "min")
	if err != nil {
		t.Fatal(err)
	}
	// ciso sees itself, water (shares with ciso) and power (shares with
	// ciso): water and power support high services; ciso owns nothing.
	var orgs []string
	for _, r := range res.Rows {
		orgs = append(orgs, r.Org)
	}
	if strings.Join(orgs, ",") != "city-water,harbor-power" {
		t.Errorf("profile applies to %v", orgs)
	}
	if _, err := s.Compliance(ciso, "nope"); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("unknown profile: %v", err)
	}
}

func TestCheckCatalog(t *testing.T) {
	csf := miniCSF()
	if err := CheckCatalog(&bulwark.Catalog{ID: "ok", Title: "OK", Controls: csf.Controls}, csf); err != nil {
		t.Fatalf("valid catalog: %v", err)
	}
	bad := &bulwark.Catalog{ID: "bad id", Controls: []bulwark.Control{
		{ID: "a", Class: "control", Assessable: true},
		{ID: "a", Class: "control"},
		{ID: "b", Parent: "zz", Class: "widget", MapsTo: []string{"GV.XX-99"}},
	}}
	err := CheckCatalog(bad, csf)
	var be *bulwark.Error
	if !errorsAs(err, &be) || be.Code != bulwark.EINVALID {
		t.Fatalf("bad catalog: %v", err)
	}
	want := []string{"id", "title", "controls[1].id", "controls[2].parent", "controls[2].class", "controls[2].maps_to"}
	var got []string
	for _, p := range be.Details {
		got = append(got, p.Field)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems at %v, want %v", got, want)
	}
}

func errorsAs(err error, target **bulwark.Error) bool { return errors.As(err, target) }

func TestRecordIfDue(t *testing.T) {
	s, _ := openHarbor(t)
	clock := now
	s.SetClock(func() time.Time { return clock })
	for i, tc := range []struct {
		advance time.Duration
		want    bool
	}{
		{0, true},               // nothing recorded yet
		{time.Hour, false},      // an hour later: not due
		{23 * time.Hour, true},  // a day after the first
		{23 * time.Hour, false}, // 23 h after the second
	} {
		clock = clock.Add(tc.advance)
		got, err := s.RecordIfDue(t.Context(), 24*time.Hour)
		if err != nil || got != tc.want {
			t.Errorf("step %d: recorded %v (%v), want %v", i, got, err, tc.want)
		}
	}
	h, err := s.History(sysCtx(), "", 0)
	if err != nil || len(h) != 2 {
		t.Errorf("history: %v, %d snapshots, want 2", err, len(h))
	}
}

// TestCurrentComparesLikeWithLike: the city's index now is computed over
// the whole city, as its recorded history is, whoever asks; an
// organization's only for those who may see it.
func TestCurrentComparesLikeWithLike(t *testing.T) {
	s, db := openHarbor(t)
	water := userCtx("city-water", bulwark.RoleAnalyst)
	a := &bulwark.Assessment{Catalog: CSFCatalog, ScopeKind: bulwark.ScopeOrganization, Scope: "city-water"}
	if err := db.CreateAssessment(water, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetResult(water, a.ID, bulwark.ResultChange{Control: "GV.OC-01", Status: bulwark.StatusImplemented}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(sysCtx()); err != nil {
		t.Fatal(err)
	}
	power := userCtx("harbor-power", bulwark.RoleViewer)
	now, hist, err := s.Current(power, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || now.Index != hist[0].Index {
		t.Errorf("power's view of the city: now %v, recorded %+v: want the same footing", now.Index, hist)
	}
	if d := Drivers(hist[0], now); len(d) != 0 {
		t.Errorf("nothing changed, yet drivers %+v", d)
	}
	if _, _, err := s.Current(power, "city-water", 10); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("power reading water's index: %v", err)
	}
	if w, _, err := s.Current(water, "city-water", 10); err != nil || w.Org != "city-water" {
		t.Errorf("water's own index: %v %+v", err, w)
	}
}
