package storetest

import (
	"context"
	"testing"
	"time"

	"bulwark"
)

// record builds a feed record of one source with the given content hash.
func record(id, key, hash string, modified time.Time, mut func(v *bulwark.Vulnerability)) bulwark.VulnRecord {
	v := bulwark.Vulnerability{ID: id, Modified: modified,
		Sources: []bulwark.Provenance{{Source: key, Document: key + ".json", FetchedAt: modified, Modified: modified, Hash: hash}}}
	if mut != nil {
		mut(&v)
	}
	return bulwark.VulnRecord{Key: key, Vuln: v}
}

func putFeed(ctx context.Context, st bulwark.Store, recs ...bulwark.VulnRecord) (bulwark.FeedStats, error) {
	tx, err := st.BeginFeed(ctx)
	if err != nil {
		return bulwark.FeedStats{}, err
	}
	if err := tx.PutRecords(ctx, recs); err != nil {
		tx.Rollback()
		return bulwark.FeedStats{}, err
	}
	return tx.Commit(ctx)
}

func testFeedRecords(t *testing.T, st bulwark.Store) {
	ctx := sysCtx()
	day1 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	nvd := record("CVE-2025-0001", "nvd", "h1", day1, func(v *bulwark.Vulnerability) {
		v.Description = "Buffer overflow in the web server of the PLC"
		v.CVSS = []bulwark.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", BaseScore: 9.8, Primary: true}}
		v.Configurations = []bulwark.Node{{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{{Vulnerable: true,
			Criteria: "cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*", VersionEndExcluding: "4.6"}}}}
	})
	kev := record("CVE-2025-0001", "kev", "k1", day1, func(v *bulwark.Vulnerability) {
		v.KEV = &bulwark.KEVEntry{DateAdded: day1, DueDate: day1.AddDate(0, 0, 21), RequiredAction: "Apply updates"}
	})
	other := record("CVE-2025-0002", "nvd", "h2", day1, nil)
	st1, err := putFeed(ctx, st, nvd, kev, other)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Created != 3 {
		t.Errorf("first import: %+v, want 3 created", st1)
	}
	v1 := must(st.FeedVersion(ctx))(t)

	// Idempotent: the same records change nothing, not even the version.
	st2, err := putFeed(ctx, st, nvd, kev, other)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Unchanged != 3 || st2.Created+st2.Updated != 0 {
		t.Errorf("re-import: %+v, want 3 unchanged", st2)
	}
	if v := must(st.FeedVersion(ctx))(t); v != v1 {
		t.Errorf("feed version moved from %d to %d on an unchanged import", v1, v)
	}

	// An older record of the same source does not replace a newer one.
	old := record("CVE-2025-0001", "nvd", "h0", day1.AddDate(0, 0, -30), func(v *bulwark.Vulnerability) { v.Description = "stale" })
	st3, err := putFeed(ctx, st, old)
	if err != nil {
		t.Fatal(err)
	}
	if st3.Older != 1 {
		t.Errorf("older record: %+v, want 1 older", st3)
	}

	// A newer one does, and only its vulnerability counts as changed.
	newer := record("CVE-2025-0001", "nvd", "h3", day2, func(v *bulwark.Vulnerability) {
		v.Description = "Updated description"
		v.Configurations, v.CVSS = nvd.Vuln.Configurations, nvd.Vuln.CVSS
	})
	if s, err := putFeed(ctx, st, newer); err != nil || s.Updated != 1 {
		t.Fatalf("newer record: %+v, %v", s, err)
	}
	var changed []string
	v2, err := st.EachVulnerability(ctx, v1, func(v *bulwark.Vulnerability) error { changed = append(changed, v.ID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if v2 <= v1 || len(changed) != 1 || changed[0] != "CVE-2025-0001" {
		t.Errorf("changed since %d: %v at %d", v1, changed, v2)
	}

	// Merged view: NVD's description, KEV's entry, both provenances.
	got := must(st.FindVulnerability(userCtx("power", bulwark.RoleViewer), "CVE-2025-0001"))(t)
	if got.Description != "Updated description" || got.KEV == nil || len(got.Sources) != 2 || len(got.Configurations) != 1 {
		t.Fatalf("merged vulnerability: %+v", got)
	}
	if got.Configurations[0].Matches[0].VersionEndExcluding != "4.6" {
		t.Errorf("configuration not kept: %+v", got.Configurations)
	}
	_, err = st.FindVulnerability(ctx, "CVE-2099-9999")
	wantCode(t, "missing vulnerability", err, bulwark.ENOTFOUND)

	page := must(st.ListVulnerabilities(ctx, bulwark.VulnFilter{KEV: true}))(t)
	if len(page.Items) != 1 || page.Items[0].ID != "CVE-2025-0001" || !page.Items[0].KEV || page.Items[0].CVSS != 9.8 {
		t.Errorf("KEV listing: %+v", page.Items)
	}
	all := must(st.ListVulnerabilities(ctx, bulwark.VulnFilter{Limit: 1}))(t)
	if len(all.Items) != 1 || all.Next == "" {
		t.Fatalf("first page: %+v", all)
	}
	rest := must(st.ListVulnerabilities(ctx, bulwark.VulnFilter{Limit: 1, After: all.Next}))(t)
	if len(rest.Items) != 1 || rest.Items[0].ID != "CVE-2025-0002" || rest.Next != "" {
		t.Errorf("second page: %+v", rest)
	}
	srcs := must(st.FeedSources(ctx))(t)
	if len(srcs) != 2 {
		t.Errorf("feed sources: %+v", srcs)
	}
}

func testFeedRights(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	rec := record("CVE-2025-0003", "nvd", "x", time.Now(), nil)
	// Private operators' admins and city analysts may not import feeds.
	for _, ctx := range []context.Context{userCtx("power", bulwark.RoleAdmin), userCtx("water", bulwark.RoleAnalyst), context.Background()} {
		_, err := putFeed(ctx, st, rec)
		if c := bulwark.ErrorCode(err); c != bulwark.EFORBIDDEN && c != bulwark.EUNAUTHORIZED {
			t.Errorf("feed import allowed: %v", err)
		}
	}
	if _, err := putFeed(userCtx("water", bulwark.RoleAdmin), st, rec); err != nil {
		t.Errorf("city admin import: %v", err)
	}
	// Malformed records are refused and nothing of the batch is stored.
	bad := record("CVE 2025 bad id", "nvd", "y", time.Now(), nil)
	good := record("CVE-2025-0004", "nvd", "z", time.Now(), nil)
	if _, err := putFeed(sysCtx(), st, good, bad); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("bad record: %v", err)
	}
	_, err := st.FindVulnerability(sysCtx(), "CVE-2025-0004")
	wantCode(t, "record of a rolled-back feed", err, bulwark.ENOTFOUND)
}

func finding(asset, vuln, owner string, d bulwark.SSVCDecision, due time.Time) bulwark.Finding {
	return bulwark.Finding{AssetID: asset, VulnID: vuln, Owner: owner, Confidence: bulwark.ConfidenceExact,
		Evidence: "cpe match", Decision: d, Due: due, Inputs: bulwark.SSVCInputs{Exploitation: "none"}}
}

func testFindingsLifecycle(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ctx := sysCtx()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	due := now.AddDate(0, 0, 7)
	kevFinding := finding("plc-1", "CVE-1", "water", bulwark.SSVCAct, due)
	kevFinding.KEV = true
	run1 := bulwark.FindingSync{Full: true, At: now, Matches: []bulwark.Finding{
		kevFinding,
		finding("plc-2", "CVE-1", "water", bulwark.SSVCAttend, due),
		finding("grid-rtu", "CVE-2", "power", bulwark.SSVCTrack, due),
	}}
	s := must(st.SyncFindings(ctx, run1))(t)
	if s.New != 3 {
		t.Errorf("first sync: %+v", s)
	}
	if s := must(st.SyncFindings(ctx, run1))(t); s.Unchanged != 3 || s.New+s.Updated+s.Closed != 0 {
		t.Errorf("repeated sync: %+v", s)
	}
	_, err := st.SyncFindings(userCtx("water", bulwark.RoleAdmin), run1)
	wantCode(t, "sync by a user", err, bulwark.EFORBIDDEN)

	// Tenancy: power sees its own; water sees its own (power shares with
	// water, so water also sees power's); ciso sees water's.
	for org, want := range map[string]int{"power": 1, "water": 3, "ciso": 2} {
		p := must(st.ListFindings(userCtx(org, bulwark.RoleViewer), bulwark.FindingFilter{}))(t)
		if len(p.Items) != want {
			t.Errorf("%s sees %d findings, want %d", org, len(p.Items), want)
		}
	}
	_, err = st.FindFinding(userCtx("power", bulwark.RoleAdmin), "plc-1", "CVE-1")
	wantCode(t, "power reading water's finding", err, bulwark.ENOTFOUND)
	_, err = st.UpdateFinding(userCtx("ciso", bulwark.RoleAdmin), "plc-1", "CVE-1", bulwark.FindingChange{Status: bulwark.FindingFixed})
	wantCode(t, "ciso changing water's finding", err, bulwark.EFORBIDDEN)
	_, err = st.UpdateFinding(userCtx("water", bulwark.RoleViewer), "plc-1", "CVE-1", bulwark.FindingChange{Status: bulwark.FindingFixed})
	wantCode(t, "viewer changing a finding", err, bulwark.EFORBIDDEN)

	if p := must(st.ListFindings(ctx, bulwark.FindingFilter{KEV: true}))(t); len(p.Items) != 1 || !p.Items[0].KEV || p.Items[0].AssetID != "plc-1" {
		t.Errorf("KEV filter: %+v", p.Items)
	}
	tallies, pairs, err := st.TallyFindings(ctx, bulwark.FindingFilter{Open: true}, due.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, x := range tallies {
		total += x.Count
		if !x.Overdue || (x.AssetID == "plc-1") != x.KEV {
			t.Errorf("tally %+v: every finding is overdue a day after its due date; only plc-1's is KEV", x)
		}
	}
	if total != 3 || pairs != 2 || len(tallies) != 3 {
		t.Errorf("tally: %d findings in %d rows, %d pairs; want 3, 3, 2", total, len(tallies), pairs)
	}
	if tl, pairs, err := st.TallyFindings(userCtx("power", bulwark.RoleViewer), bulwark.FindingFilter{}, now); err != nil || len(tl) != 1 || tl[0].Owner != "power" || pairs != 1 || tl[0].Overdue {
		t.Errorf("power's tally: %+v, %d, %v", tl, pairs, err)
	}
	// Priority order: Act before Attend before Track.
	pr := must(st.ListFindings(ctx, bulwark.FindingFilter{Sort: "priority"}))(t)
	if len(pr.Items) != 3 || pr.Items[0].Decision != bulwark.SSVCAct || pr.Items[2].Decision != bulwark.SSVCTrack {
		t.Errorf("priority order: %+v", pr.Items)
	}

	wctx := userCtx("water", bulwark.RoleAnalyst)
	_, err = st.UpdateFinding(wctx, "plc-1", "CVE-1", bulwark.FindingChange{Status: bulwark.FindingVerified})
	wantCode(t, "open → verified", err, bulwark.ECONFLICT)
	for _, bad := range []bulwark.FindingChange{
		{Status: bulwark.FindingAccepted, Note: "vendor patch breaks pumps", Until: time.Now().AddDate(0, 1, 0)},
		{Status: bulwark.FindingAccepted, AcceptedBy: "Director", Until: time.Now().AddDate(0, 1, 0)},
		{Status: bulwark.FindingAccepted, AcceptedBy: "Director", Note: "x", Until: time.Now().AddDate(-1, 0, 0)},
		{Status: bulwark.FindingAccepted, AcceptedBy: "Director", Note: "x", Until: time.Now().AddDate(2, 0, 0)},
	} {
		_, err := st.UpdateFinding(wctx, "plc-2", "CVE-1", bad)
		wantCode(t, "bad acceptance", err, bulwark.EINVALID)
	}
	until := time.Now().Add(48 * time.Hour)
	f := must(st.UpdateFinding(wctx, "plc-2", "CVE-1", bulwark.FindingChange{Status: bulwark.FindingAccepted,
		AcceptedBy: "Water director", Note: "compensating firewall rule", Until: until}))(t)
	if f.Status != bulwark.FindingAccepted || f.AcceptedBy != "Water director" {
		t.Errorf("accepted: %+v", f)
	}
	must(st.UpdateFinding(wctx, "plc-1", "CVE-1", bulwark.FindingChange{Status: bulwark.FindingInRemediation, Note: "ticket 42"}))(t)
	must(st.UpdateFinding(wctx, "plc-1", "CVE-1", bulwark.FindingChange{Status: bulwark.FindingFixed, Note: "firmware 4.6 installed"}))(t)

	// The next run after the acceptance expired re-opens it; plc-1 no
	// longer matches, so its fix is verified; grid-rtu's disappears → fixed.
	run2 := bulwark.FindingSync{Full: true, At: until.Add(time.Hour), Matches: []bulwark.Finding{
		finding("plc-2", "CVE-1", "water", bulwark.SSVCAttend, due),
	}}
	s = must(st.SyncFindings(ctx, run2))(t)
	if s.Reopened != 1 || s.Closed != 2 {
		t.Errorf("second sync: %+v", s)
	}
	check := func(asset, vuln string, want bulwark.FindingStatus) {
		t.Helper()
		f := must(st.FindFinding(ctx, asset, vuln))(t)
		if f.Status != want {
			t.Errorf("%s/%s is %s, want %s", asset, vuln, f.Status, want)
		}
	}
	check("plc-2", "CVE-1", bulwark.FindingOpen)
	check("plc-1", "CVE-1", bulwark.FindingVerified)
	check("grid-rtu", "CVE-2", bulwark.FindingFixed)

	h := must(st.FindingHistory(wctx, "plc-1", "CVE-1"))(t)
	var steps []bulwark.FindingStatus
	for _, e := range h {
		steps = append(steps, e.To)
	}
	want := []bulwark.FindingStatus{bulwark.FindingOpen, bulwark.FindingInRemediation, bulwark.FindingFixed, bulwark.FindingVerified}
	if len(steps) != len(want) {
		t.Fatalf("history %v, want %v", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Errorf("history %v, want %v", steps, want)
			break
		}
	}
	_, err = st.FindingHistory(userCtx("power", bulwark.RoleAdmin), "plc-1", "CVE-1")
	wantCode(t, "power reading water's history", err, bulwark.ENOTFOUND)

	// A scoped sync touches only its scope.
	s = must(st.SyncFindings(ctx, bulwark.FindingSync{Vulns: []string{"CVE-9"}, At: until.Add(2 * time.Hour)}))(t)
	if s.Closed != 0 {
		t.Errorf("scoped sync closed findings outside its scope: %+v", s)
	}
}
