package risk

import (
	"context"
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
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 3, Org: org, Role: role, Name: string(role) + "@" + org})
}

func openHarbor(t *testing.T) (*Service, *sqlstore.DB) {
	t.Helper()
	db, err := sqlstore.Open(sysCtx(), filepath.Join(t.TempDir(), "r.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src := citymodel.FileSource(filepath.Join(testenv.RepoRoot(t), "examples", "city.yaml"))
	if _, err := citymodel.Import(sysCtx(), db, []citymodel.Source{src}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return New(db, nil), db
}

func TestServiceChecksLinks(t *testing.T) {
	s, db := openHarbor(t)
	water := userCtx("city-water", bulwark.RoleAnalyst)
	c := &bulwark.Catalog{ID: "mini", Title: "Mini", Kind: "csf", Controls: []bulwark.Control{{ID: "PR.AA-01", Class: "subcategory", Assessable: true}}}
	if err := db.PutCatalog(sysCtx(), c); err != nil {
		t.Fatal(err)
	}
	a := &bulwark.Assessment{Catalog: "mini", ScopeKind: bulwark.ScopeOrganization, Scope: "city-water"}
	if err := db.CreateAssessment(water, a); err != nil {
		t.Fatal(err)
	}
	r := &bulwark.Risk{Title: "Ransomware on the water SCADA", Likelihood: 3, Impact: 5, Techniques: []string{"T0866", "T1486"},
		Services: []string{"water-supply"}, Gaps: []string{a.ID + "/PR.AA-01"}}
	v, err := s.Create(water, r)
	if err != nil {
		t.Fatal(err)
	}
	if v.Score != 15 || v.Level != "high" || !v.Open || v.Reference[0].Name != "Exploitation of Remote Services" || v.Reference[1].Name != "" {
		t.Errorf("view %+v", v)
	}
	for _, tc := range []struct {
		what string
		mut  func(r *bulwark.Risk)
		want string
	}{
		{"unknown ICS technique", func(r *bulwark.Risk) { r.Techniques = []string{"T0999"} }, "not an ATT&CK for ICS technique"},
		{"missing finding", func(r *bulwark.Risk) { r.Findings = []string{"plc-0001/CVE-2020-0001"} }, "no finding"},
		{"unknown control", func(r *bulwark.Risk) { r.Gaps = []string{a.ID + "/GV.XX-99"} }, "not a control"},
		{"invisible assessment", func(r *bulwark.Risk) { r.Gaps = []string{"asm-0000/PR.AA-01"} }, "no assessment"},
	} {
		x := &bulwark.Risk{Title: "x", Likelihood: 1, Impact: 1}
		tc.mut(x)
		if _, err := s.Create(water, x); bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.what, err)
		}
	}
	// harbor-power cannot link water's assessment: it cannot see it.
	if _, err := s.Create(userCtx("harbor-power", bulwark.RoleAdmin), &bulwark.Risk{Title: "x", Likelihood: 1, Impact: 1, Gaps: []string{a.ID + "/PR.AA-01"}}); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("linking an invisible assessment: %v", err)
	}
}

func TestHeatAnalyzeReopen(t *testing.T) {
	s, _ := openHarbor(t)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	water := userCtx("city-water", bulwark.RoleAnalyst)
	mk := func(title string, l, i int, mut func(r *bulwark.Risk)) *bulwark.Risk {
		r := &bulwark.Risk{Title: title, Likelihood: l, Impact: i,
			Frequency: bulwark.Range{Min: 1, MostLikely: 1, Max: 1}, Loss: bulwark.Range{Min: 100, MostLikely: 100, Max: 100}}
		if mut != nil {
			mut(r)
		}
		if _, err := s.Create(water, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	mk("a", 5, 5, nil)
	mk("b", 5, 5, nil)
	mk("c", 1, 2, func(r *bulwark.Risk) { r.Status = bulwark.RiskClosed })
	acc := mk("d", 2, 3, func(r *bulwark.Risk) {
		r.Status, r.AcceptedBy, r.AcceptedUntil = bulwark.RiskAccepted, "Director", now.AddDate(0, 1, 0)
	})
	h, err := s.Heat(water, bulwark.RiskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Open != 2 || h.Cells[4][4] != 2 || h.Cells[1][2] != 0 {
		t.Errorf("heat map %+v: the closed and the accepted risk are not open", h)
	}
	a, err := s.Analyze(water, bulwark.RiskFilter{}, 20_000, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Two open risks, each Poisson(1) events of 100: mean 200.
	if len(a.Risks) != 2 || !(a.City.MeanLow <= 200 && 200 <= a.City.MeanHigh) {
		t.Errorf("analysis: %d risks, city mean %v [%v, %v]", len(a.Risks), a.City.Mean, a.City.MeanLow, a.City.MeanHigh)
	}
	// A month and a day later the acceptance has expired: the risk counts
	// as open, and ReopenExpired records that as a revision.
	now = now.AddDate(0, 1, 1)
	if v, _ := s.Find(water, acc.ID); !v.Open || !v.Expired {
		t.Errorf("expired acceptance: %+v", v)
	}
	n, err := s.ReopenExpired(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("reopened %d: %v", n, err)
	}
	v, _ := s.Find(water, acc.ID)
	if v.Status != bulwark.RiskIdentified || v.Rev != 2 {
		t.Errorf("after re-opening: %+v", v.Risk)
	}
	if n, _ := s.ReopenExpired(context.Background()); n != 0 {
		t.Errorf("re-opened again: %d", n)
	}
}
