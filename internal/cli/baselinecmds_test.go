package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark"
)

// TestAssessProfileReadinessReport walks the baseline commands end to end
// on the CLI test city: assess, revise, conflict, publish a profile, rank
// gaps, record the index and write both report formats.
func TestAssessProfileReadinessReport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	if out := mustRun(t, "--db", db, "catalog", "list", "--json"); !strings.Contains(out, `"csf-2.0"`) || !strings.Contains(out, `"assessable": 106`) {
		t.Fatalf("catalog list: %s", out)
	}
	id := strings.TrimSpace(mustRun(t, "--db", db, "assess", "new", "--org", "water", "--title", "2026"))
	if !strings.HasPrefix(id, "asm-") {
		t.Fatalf("assess new printed %q", id)
	}
	evidence := filepath.Join(dir, "plan.pdf")
	os.WriteFile(evidence, []byte("incident response plan"), 0o600)
	mustRun(t, "--db", db, "assess", "set", id, "GV.OC-01", "--status", "implemented", "--tier", "3", "--target", "3", "--file", evidence)
	mustRun(t, "--db", db, "assess", "set", id, "GV.OC-01", "--status", "partial", "--notes", "charter lapsed")
	// An explicit stale base revision is refused with the exit code of a
	// failure and a message naming the current revision.
	code, _, errOut := run(t, "", "--db", db, "assess", "set", id, "GV.OC-01", "--status", "implemented", "--base-rev", "1")
	if code == 0 || !strings.Contains(errOut, "revision 2") {
		t.Fatalf("stale base: exit %d, %s", code, errOut)
	}
	code, _, errOut = run(t, "", "--db", db, "assess", "set", id, "GV.OC-99", "--status", "implemented")
	if code != exitInvalid || !strings.Contains(errOut, "not in catalog") {
		t.Fatalf("unknown control: exit %d, %s", code, errOut)
	}
	var hist []bulwark.ControlResult
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "assess", "history", id, "GV.OC-01", "--json")), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Evidence[0].SHA256 == "" || hist[0].Evidence[0].Size != 22 || hist[1].Notes != "charter lapsed" {
		t.Fatalf("history: %+v", hist)
	}

	profile := filepath.Join(dir, "min.yaml")
	os.WriteFile(profile, []byte("id: city-min\nname: City minimum\ncatalog: csf-2.0\napplies_to: high\nrequirements:\n  - {control: GV.OC-01, min_status: implemented}\n"), 0o600)
	mustRun(t, "--db", db, "profile", "put", profile)
	out := mustRun(t, "--db", db, "profile", "compliance", "city-min")
	if !strings.Contains(out, "0 of 2 organizations meet city-min") {
		t.Fatalf("compliance: %s", out)
	}
	os.WriteFile(profile, []byte("id: x\nname: X\ncatalog: csf-2.0\napplies_to: high\nbogus: 1\n"), 0o600)
	if code, _, errOut := run(t, "", "--db", db, "profile", "put", profile); code != exitInvalid || !strings.Contains(errOut, "bogus") {
		t.Fatalf("unknown profile field: exit %d, %s", code, errOut)
	}

	var gaps []struct{ Control, Why string }
	json.Unmarshal([]byte(mustRun(t, "--db", db, "gaps", "--limit", "3", "--json")), &gaps)
	if len(gaps) != 3 || !strings.Contains(gaps[0].Why, "FIPS 199 high") {
		t.Fatalf("gaps: %+v", gaps)
	}
	out = mustRun(t, "--db", db, "readiness", "--record")
	if !strings.Contains(out, "Readiness index:") || !strings.Contains(out, "not measured") {
		t.Fatalf("readiness: %s", out)
	}
	for _, f := range []string{"r.html", "r.pdf"} {
		mustRun(t, "--db", db, "report", "--city", "Testham", "-o", filepath.Join(dir, f))
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "r.pdf" && !strings.HasPrefix(string(b), "%PDF-") {
			t.Errorf("not a PDF: %.20q", b)
		}
		if f == "r.html" && !strings.Contains(string(b), "Testham") {
			t.Errorf("HTML report lacks the city's name")
		}
	}
	exp := filepath.Join(dir, "results.json")
	mustRun(t, "--db", db, "assess", "export", id, "-o", exp)
	if b, _ := os.ReadFile(exp); !strings.Contains(string(b), `"assessment-results"`) {
		t.Errorf("OSCAL export: %.200s", b)
	}
	if out := mustRun(t, "--db", db, "assess", "export", id, "--format", "csv"); !strings.Contains(out, "GV.OC-01") {
		t.Errorf("CSV export: %s", out)
	}
	if code, _, _ := run(t, "", "--db", db, "report", "--format", "docx"); code != exitInvalid {
		t.Errorf("unknown report format accepted")
	}
}
