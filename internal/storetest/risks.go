package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
)

func testRisk() *bulwark.Risk {
	return &bulwark.Risk{Title: "Ransomware stops the water SCADA", Scenario: "Phishing, then lateral movement to the HMI",
		Techniques: []string{"T0866", "T0882"}, Services: []string{"water-supply"}, Systems: []string{"water-scada"},
		Likelihood: 3, Impact: 5, Frequency: bulwark.Range{Min: 0.05, MostLikely: 0.2, Max: 1}, Loss: bulwark.Range{Min: 1e5, MostLikely: 8e5, Max: 5e6},
		Treatment: bulwark.TreatMitigate, TreatmentOwner: "OT lead", Findings: []string{"plc-1/CVE-2024-0001"}, Gaps: []string{"asm-1/PR.AA-01"}}
}

func testRisks(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	water := userCtx("water", bulwark.RoleAnalyst)
	r := testRisk()
	if err := st.CreateRisk(water, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ID, "risk-") || r.Owner != "water" || r.Rev != 1 || r.Status != bulwark.RiskIdentified || r.Score() != 15 {
		t.Fatalf("created %+v", r)
	}
	// Power's service is visible to water (power shares with water), so a
	// water risk may name it; ciso's view does not include power.
	cross := testRisk()
	cross.Services = []string{"grid"}
	if err := st.CreateRisk(water, cross); err != nil {
		t.Errorf("risk naming a shared service: %v", err)
	}
	for _, tc := range []struct {
		what string
		mut  func(r *bulwark.Risk)
		code string
		as   bulwark.Principal
	}{
		{"viewer", func(*bulwark.Risk) {}, bulwark.EFORBIDDEN, bulwark.Principal{Org: "water", Role: bulwark.RoleViewer}},
		{"invisible service", func(r *bulwark.Risk) { r.Services = []string{"grid"} }, bulwark.EINVALID, bulwark.Principal{Org: "ciso", Role: bulwark.RoleAdmin}},
		{"system named as service", func(r *bulwark.Risk) { r.Services = []string{"water-scada"}; r.Systems = nil }, bulwark.EINVALID, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}},
		{"likelihood 6", func(r *bulwark.Risk) { r.Likelihood = 6 }, bulwark.EINVALID, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}},
		{"inverted range", func(r *bulwark.Risk) { r.Loss = bulwark.Range{Min: 10, MostLikely: 5, Max: 20} }, bulwark.EINVALID, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}},
		{"technique", func(r *bulwark.Risk) { r.Techniques = []string{"T86"} }, bulwark.EINVALID, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}},
		{"accepted without expiry", func(r *bulwark.Risk) { r.Status = bulwark.RiskAccepted; r.AcceptedBy = "x" }, bulwark.EINVALID, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}},
		{"bad finding ref", func(r *bulwark.Risk) { r.Findings = []string{"no-slash"} }, bulwark.EINVALID, bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin}},
	} {
		x := testRisk()
		tc.mut(x)
		tc.as.Name = "t"
		wantCode(t, tc.what, st.CreateRisk(bulwark.WithPrincipal(t.Context(), tc.as), x), tc.code)
	}

	// Revisions: a change from the current revision succeeds, a stale one
	// is refused naming who changed it, history keeps each revision.
	up := *r
	up.Status, up.Likelihood = bulwark.RiskTreating, 2
	if err := st.UpdateRisk(water, &up, "segmented the OT network"); err != nil {
		t.Fatal(err)
	}
	if up.Rev != 2 {
		t.Errorf("rev after update %d", up.Rev)
	}
	stale := *r
	stale.Impact = 1
	err := st.UpdateRisk(userCtx("water", bulwark.RoleAdmin), &stale, "")
	wantCode(t, "stale revision", err, bulwark.ECONFLICT)
	if err == nil || !strings.Contains(bulwark.ErrorMessage(err), "analyst@water") {
		t.Errorf("conflict does not say who: %v", err)
	}
	other := up
	wantCode(t, "ciso (sees water) changing water's risk", st.UpdateRisk(userCtx("ciso", bulwark.RoleAdmin), &other, ""), bulwark.EFORBIDDEN)
	wantCode(t, "power changing an invisible risk", st.UpdateRisk(userCtx("power", bulwark.RoleAdmin), &other, ""), bulwark.ENOTFOUND)
	hijack := up
	hijack.Owner = "ciso"
	if err := st.UpdateRisk(water, &hijack, ""); err != nil || hijack.Owner != "water" {
		t.Errorf("owner changed by an update: %v %s", err, hijack.Owner)
	}
	hist := must(st.RiskHistory(userCtx("ciso", bulwark.RoleViewer), r.ID))(t)
	if len(hist) != 3 || hist[0].Risk.Status != bulwark.RiskIdentified || hist[1].Note != "segmented the OT network" || hist[1].Risk.Likelihood != 2 {
		t.Errorf("history %+v", hist)
	}
	_, err = st.RiskHistory(userCtx("power", bulwark.RoleViewer), r.ID)
	wantCode(t, "power reading water's history", err, bulwark.ENOTFOUND)
	_, err = st.FindRisk(userCtx("power", bulwark.RoleViewer), r.ID)
	wantCode(t, "power reading water's risk", err, bulwark.ENOTFOUND)

	// Listing: highest score first, scoped, filtered.
	list := must(st.ListRisks(userCtx("ciso", bulwark.RoleViewer), bulwark.RiskFilter{}))(t)
	if len(list) != 2 || list[0].Score() < list[1].Score() {
		t.Errorf("ciso lists %d risks: %+v", len(list), list)
	}
	if l := must(st.ListRisks(userCtx("power", bulwark.RoleViewer), bulwark.RiskFilter{}))(t); len(l) != 0 {
		t.Errorf("power lists %d of water's risks", len(l))
	}
	if l := must(st.ListRisks(water, bulwark.RiskFilter{Service: "grid"}))(t); len(l) != 1 || l[0].ID != cross.ID {
		t.Errorf("filter by service: %+v", l)
	}
	if l := must(st.ListRisks(water, bulwark.RiskFilter{Status: bulwark.RiskTreating}))(t); len(l) != 1 || l[0].ID != r.ID {
		t.Errorf("filter by status: %+v", l)
	}

	// An acceptance re-opens the risk when it expires.
	acc := *must(st.FindRisk(water, r.ID))(t)
	acc.Status, acc.AcceptedBy, acc.AcceptedUntil = bulwark.RiskAccepted, "Water director", time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	if err := st.UpdateRisk(water, &acc, "accepted until the upgrade"); err != nil {
		t.Fatal(err)
	}
	if acc.Open(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || !acc.Open(time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("acceptance does not expire into an open risk")
	}
}

// testConcurrentRiskEdits: two analysts save the same revision at once;
// exactly one wins.
func testConcurrentRiskEdits(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	r := testRisk()
	if err := st.CreateRisk(userCtx("water", bulwark.RoleAnalyst), r); err != nil {
		t.Fatal(err)
	}
	for round := range 4 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := *r
				x.Rev = round + 1
				x.Likelihood = 1 + i
				ctx := bulwark.WithPrincipal(t.Context(), bulwark.Principal{Org: "water", Role: bulwark.RoleAnalyst, Name: []string{"ann", "bob"}[i]})
				errs[i] = st.UpdateRisk(ctx, &x, "")
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case bulwark.ErrorCode(err) != bulwark.ECONFLICT && bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of 2 concurrent updates from one revision succeeded: %v", round, ok, errs)
		}
	}
	if h := must(st.RiskHistory(userCtx("water", bulwark.RoleViewer), r.ID))(t); len(h) != 5 {
		t.Errorf("%d revisions, want 5", len(h))
	}
}
