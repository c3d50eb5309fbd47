package training

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sqlstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sysCtx() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
}

func as(org string, role bulwark.Role) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 7, Org: org, Role: role, Name: string(role) + "@" + org})
}

// openStore returns a service over a fresh SQLite store with three
// organizations: water shares its city model with the city, the port is
// a private operator.
func openStore(t *testing.T) (*Service, *sqlstore.DB) {
	t.Helper()
	db, err := sqlstore.Open(sysCtx(), filepath.Join(t.TempDir(), "t.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.BeginImport(sysCtx())
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PutOrganizations(sysCtx(), []bulwark.Organization{
		{ID: "city", Name: "City", Purview: bulwark.PurviewCity},
		{ID: "water", Name: "Water", Purview: bulwark.PurviewCity, SharesWith: []string{"city"}},
		{ID: "port", Name: "Port", Purview: bulwark.PurviewPrivate},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(sysCtx()); err != nil {
		t.Fatal(err)
	}
	return New(db, nil), db
}

func today() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

func TestImportAndRates(t *testing.T) {
	s, _ := openStore(t)
	water := as("water", bulwark.RoleAnalyst)
	due := today().AddDate(0, 0, -7)
	c := &bulwark.Campaign{Kind: bulwark.CampaignWorkforce, Title: "OT basics", Audience: "operators", AudienceSize: 5, Start: due.AddDate(0, -1, 0), Due: due}
	if err := s.CreateCampaign(water, c); err != nil {
		t.Fatal(err)
	}
	onTime := due.Add(10 * time.Hour).Format(time.RFC3339)
	late := due.AddDate(0, 0, 2).Format(time.RFC3339)
	src := "Email,Completion Date,Score,Name\nana@w.example," + onTime + ",90,Ana\nBEN@w.example," + late + ",,Ben\ncy@w.example,,,Cy\n"
	res, err := s.Import(water, c.ID, Completions, "lms.csv", strings.NewReader(src), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Created != 3 || strings.Join(res.Ignored, ",") != "Name" {
		t.Errorf("import %+v", res)
	}
	// Entered by hand: Ben again (earlier now, on time) and Dee.
	if _, err := s.Record(water, c.ID, []Entry{{Person: " ben@W.example", CompletedAt: due}, {Person: "dee@w.example", CompletedAt: due}}); err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Campaign(water, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 4 records, audience 5: ana, ben and dee on time → 3/5.
	if v.Assigned != 4 || v.OnTime != 3 || v.Completion != rate(3, 5) || !v.Due || v.Audience != 5 {
		t.Errorf("view %+v", v)
	}
	d, err := s.Rates(water, bulwark.CampaignFilter{}, 12)
	if err != nil {
		t.Fatal(err)
	}
	if d.Total.Completion != rate(3, 5) || len(d.ByOrg) != 1 || len(d.Series) != 1 || len(d.Series[0].Points) != 12 {
		t.Errorf("dashboard %+v", d)
	}
	if p := d.Series[0].Points; p[len(p)-1].Completion != rate(3, 5) && p[len(p)-2].Completion != rate(3, 5) {
		t.Errorf("the campaign is not in its due month: %+v", p)
	}
	// The identifiers themselves are stored nowhere.
	rs, err := s.st.ListCompletions(water, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if strings.Contains(string(r.Person), "@") || !bulwark.ValidPersonRef(r.Person) {
			t.Errorf("stored person %q", r.Person)
		}
	}
	// Forget Ben: his record goes, the others stay.
	if n, err := s.Forget(water, "ignored-for-tenants", "BEN@w.example"); err != nil || n != 1 {
		t.Errorf("forget: %d, %v", n, err)
	}
	if rs, _ := s.st.ListCompletions(water, c.ID); len(rs) != 3 {
		t.Errorf("after forget %d records", len(rs))
	}
}

// TestImportAllOrNothing: a file with one bad row stores nothing, and its
// error locates every problem.
func TestImportAllOrNothing(t *testing.T) {
	s, _ := openStore(t)
	water := as("water", bulwark.RoleAnalyst)
	c := &bulwark.Campaign{Kind: bulwark.CampaignPhishing, Title: "Invoice", Start: today()}
	if err := s.CreateCampaign(water, c); err != nil {
		t.Fatal(err)
	}
	src := "email,send_date,status,modified_date\na@w,2026-01-01,Email Sent,\nb@w,2026-01-01,Clicked Link,2026-01-01T10:00:00Z\nc@w,2026-01-01,Hacked,\n"
	_, err := s.Import(water, c.ID, Phishing, "gophish.csv", strings.NewReader(src), ReadOptions{})
	if ds := bulwark.ErrorDetails(err); len(ds) != 1 || ds[0].String() != `gophish.csv:4:3: status: unknown status "Hacked": use Email Sent, Email Opened, Clicked Link, Submitted Data, Email Reported (or Scheduled, Error)` {
		t.Errorf("error %v", err)
	}
	if rs, _ := s.st.ListPhishingResults(water, c.ID); len(rs) != 0 {
		t.Errorf("%d results stored from a refused file", len(rs))
	}
	// Completions cannot go into a phishing campaign.
	_, err = s.Import(water, c.ID, Completions, "x.csv", strings.NewReader("email,completed_at\n"), ReadOptions{})
	if bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("completions into phishing: %v", err)
	}
	_, err = s.Import(water, c.ID, "grades", "x.csv", strings.NewReader(""), ReadOptions{})
	if bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("unknown kind: %v", err)
	}
}

// TestTenancy: the city (which reads water's city model) and the private
// port see nothing of water's training; viewers read but write nothing.
func TestTenancy(t *testing.T) {
	s, _ := openStore(t)
	water := as("water", bulwark.RoleAdmin)
	c := &bulwark.Campaign{Kind: bulwark.CampaignWorkforce, Title: "Water course", Start: today().AddDate(0, 0, -9), Due: today().AddDate(0, 0, -2)}
	if err := s.CreateCampaign(water, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(water, c.ID, []Entry{{Person: "ana@w", CompletedAt: today().AddDate(0, 0, -3)}}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []context.Context{as("city", bulwark.RoleAdmin), as("port", bulwark.RoleAdmin)} {
		if vs, err := s.List(who, bulwark.CampaignFilter{}); err != nil || len(vs) != 0 {
			t.Errorf("list: %v, %d", err, len(vs))
		}
		if _, _, err := s.Campaign(who, c.ID); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			t.Errorf("campaign: %v", err)
		}
		if d, err := s.Rates(who, bulwark.CampaignFilter{}, 12); err != nil || d.Total.Campaigns != 0 || len(d.ByOrg) != 0 {
			t.Errorf("rates: %v %+v", err, d)
		}
		if _, err := s.Import(who, c.ID, Completions, "x.csv", strings.NewReader("email,completed_at\nz@z,2026-01-01\n"), ReadOptions{}); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			t.Errorf("import: %v", err)
		}
		if _, err := s.Record(who, c.ID, []Entry{{Person: "z@z"}}); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			t.Errorf("record: %v", err)
		}
	}
	viewer := as("water", bulwark.RoleViewer)
	if vs, err := s.List(viewer, bulwark.CampaignFilter{}); err != nil || len(vs) != 1 {
		t.Errorf("viewer list: %v %d", err, len(vs))
	}
	for what, err := range map[string]error{
		"create": s.CreateCampaign(viewer, &bulwark.Campaign{Kind: bulwark.CampaignCitizen, Title: "x", Start: today()}),
		"import": func() error {
			_, err := s.Import(viewer, c.ID, Completions, "x.csv", strings.NewReader(""), ReadOptions{})
			return err
		}(),
		"record": func() error { _, err := s.Record(viewer, c.ID, []Entry{{Person: "a"}}); return err }(),
		"forget": func() error { _, err := s.Forget(viewer, "water", "a"); return err }(),
		"reach":  s.AddReach(viewer, c.ID, []bulwark.CitizenReach{{Channel: "x", People: 1, From: today(), To: today()}}),
	} {
		if bulwark.ErrorCode(err) != bulwark.EFORBIDDEN {
			t.Errorf("viewer %s: %v", what, err)
		}
	}
}

func TestRecordProblems(t *testing.T) {
	s, _ := openStore(t)
	water := as("water", bulwark.RoleAnalyst)
	c := &bulwark.Campaign{Kind: bulwark.CampaignWorkforce, Title: "x", Start: today(), Due: today()}
	if err := s.CreateCampaign(water, c); err != nil {
		t.Fatal(err)
	}
	bad := 120.0
	_, err := s.Record(water, c.ID, []Entry{{Person: ""}, {Person: "a", CompletedAt: time.Now().AddDate(0, 0, 3)}, {Person: "b", Score: &bad}, {Person: "ok"}})
	var got []string
	for _, p := range bulwark.ErrorDetails(err) {
		got = append(got, p.Field)
	}
	if strings.Join(got, " ") != "completions[0].person completions[1].completed_at completions[2].score" {
		t.Errorf("problems %v (%v)", got, err)
	}
	if rs, _ := s.st.ListCompletions(water, c.ID); len(rs) != 0 {
		t.Errorf("stored %d", len(rs))
	}
	if _, err := s.Record(water, c.ID, make([]Entry, MaxEntries+1)); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("too many: %v", err)
	}
}

// TestWriteCSV compares the export with a golden file: hostile titles
// stay text (formula cells defused) and the file reads back as CSV.
func TestWriteCSV(t *testing.T) {
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	vs := []View{
		ViewOf(wf("cmp-1", "water", day(2026, 5, 31), 40, 35, 30), now),
		ViewOf(ph("cmp-2", "water", day(2026, 5, 1), 20, 7, 5), now),
		ViewOf(bulwark.CampaignTally{Campaign: bulwark.Campaign{ID: "cmp-3", Org: "water", Kind: bulwark.CampaignCitizen, Start: day(2026, 4, 1),
			Title: `=HYPERLINK("http://evil.example","click")`, Audience: "+residents", Course: "@SUM(1)"}, Reach: 12000}, now),
		ViewOf(bulwark.CampaignTally{Campaign: bulwark.Campaign{ID: "cmp-4", Org: "water", Kind: bulwark.CampaignWorkforce, Start: day(2026, 6, 1), Due: day(2026, 6, 30),
			Title: "-2+3 \"quoted\", with comma\nand a newline"}}, now),
	}
	vs[0].Campaign.Title = "OT security basics"
	var buf bytes.Buffer
	if err := WriteCSV(&buf, vs); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "campaigns.golden.csv")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("export differs from %s (run with -update):\n%s", golden, buf.String())
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil || len(rows) != 5 {
		t.Fatalf("read back: %v, %d rows", err, len(rows))
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q could run as a formula", cell)
			}
		}
	}
	if rows[1][11] != "75.0" || rows[2][17] != "35.0" || rows[2][18] != "25.0" || rows[4][11] != "" {
		t.Errorf("rates %v / %v / %v", rows[1][11], rows[2][17:19], rows[4][11])
	}
}
