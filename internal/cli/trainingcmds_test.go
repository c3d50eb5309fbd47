package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTrainingCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }
	if code, _, errOut := run(t, "", "--db", db, "training", "campaign", "new", "--kind", "workforce", "--title", "x"); code != exitInvalid || !strings.Contains(errOut, "--org") {
		t.Fatalf("new without --org: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "--db", db, "training", "campaign", "new", "--org", "water", "--title", "x", "--due", "31/12/2026"); code != exitInvalid || !strings.Contains(errOut, "YYYY-MM-DD") {
		t.Fatalf("bad date: exit %d %s", code, errOut)
	}
	wf := strings.TrimSpace(mustRun(t, "--db", db, "training", "campaign", "new", "--org", "water", "--kind", "workforce", "--title", "OT basics",
		"--audience-size", "4", "--start", day(-30), "--due", day(-2)))
	ph := strings.TrimSpace(mustRun(t, "--db", db, "training", "campaign", "new", "--org", "water", "--kind", "phishing", "--title", "Invoice lure", "--start", day(-10)))
	if !strings.HasPrefix(wf, "cmp-") || !strings.HasPrefix(ph, "cmp-") {
		t.Fatalf("ids %q %q", wf, ph)
	}
	comp := filepath.Join(dir, "lms.csv")
	os.WriteFile(comp, []byte(fmt.Sprintf("Name,Email,Completion Date,Score\nAna,ana@w.example,%s,90\nBen,ben@w.example,%s,\nCy,cy@w.example,,\n", day(-5), day(-1))), 0o600)
	out := mustRun(t, "--db", db, "training", "import", "completions", comp, "--campaign", wf)
	if !strings.Contains(out, "3 rows: 3 created") {
		t.Errorf("import: %s", out)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("Email,Completion Date\nana@w.example,yesterday\n"), 0o600)
	if code, _, errOut := run(t, "", "--db", db, "training", "import", "completions", bad, "--campaign", wf); code != exitInvalid || !strings.Contains(errOut, "bad.csv:2:2: completed_at") {
		t.Errorf("bad file: exit %d %s", code, errOut)
	}
	phf := filepath.Join(dir, "gophish.csv")
	os.WriteFile(phf, []byte(fmt.Sprintf("email,status,send_date,modified_date\na@w,Clicked Link,%sT09:00:00Z,%sT09:05:00Z\nb@w,Email Reported,%sT09:00:00Z,%sT09:01:00Z\nc@w,Email Sent,%sT09:00:00Z,\nd@w,Email Opened,%sT09:00:00Z,\n",
		day(-9), day(-9), day(-9), day(-9), day(-9), day(-9))), 0o600)
	mustRun(t, "--db", db, "training", "import", "phishing", phf, "--campaign", ph)
	if code, _, errOut := run(t, "", "--db", db, "training", "import", "phishing", comp, "--campaign", wf); code != exitInvalid || !strings.Contains(errOut, "workforce campaign") {
		t.Errorf("phishing into workforce: exit %d %s", code, errOut)
	}
	var list []struct {
		Campaign   struct{ ID, Title string }
		Completion struct {
			Num, Den int64
			Measured bool
		}
		Click struct{ Num, Den int64 }
	}
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "training", "campaign", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	// The workforce campaign: Ana on time of 4 (Ben was late); phishing: 1 of 4 clicked.
	if len(list) != 2 || list[1].Campaign.ID != wf || list[1].Completion.Num != 1 || list[1].Completion.Den != 4 || list[0].Click.Num != 1 || list[0].Click.Den != 4 {
		t.Errorf("list: %+v", list)
	}
	out = mustRun(t, "--db", db, "training", "campaign", "show", ph)
	if !strings.Contains(out, "25.0% (1/4)") {
		t.Errorf("show: %s", out)
	}
	out = mustRun(t, "--db", db, "training", "rates")
	if !strings.Contains(out, "water") || !strings.Contains(out, "25.0% (1/4)") {
		t.Errorf("rates: %s", out)
	}
	csvOut := mustRun(t, "--db", db, "training", "campaign", "list", "--csv")
	if !strings.HasPrefix(csvOut, "id,org,kind,title") || strings.Count(csvOut, "\n") != 3 {
		t.Errorf("csv: %s", csvOut)
	}
	out = mustRun(t, "--db", db, "training", "forget", "--org", "water", "ANA@w.example")
	if !strings.Contains(out, "1 record(s) removed") {
		t.Errorf("forget: %s", out)
	}
	cit := strings.TrimSpace(mustRun(t, "--db", db, "training", "campaign", "new", "--org", "water", "--kind", "citizen", "--title", "Scam week"))
	mustRun(t, "--db", db, "training", "reach", cit, "--channel", "radio", "--people", "4200", "--from", day(-3), "--to", day(0))
	if out := mustRun(t, "--db", db, "training", "campaign", "show", cit); !strings.Contains(out, "People reached  4200") {
		t.Errorf("citizen: %s", out)
	}
	mustRun(t, "--db", db, "training", "campaign", "delete", cit)
	if code, _, _ := run(t, "", "--db", db, "training", "campaign", "show", cit); code == 0 {
		t.Error("deleted campaign still shown")
	}
}
