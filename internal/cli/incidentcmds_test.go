package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestIncidentCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")

	if code, _, errOut := run(t, "", "--db", db, "incident", "new", "--title", "x"); code != exitInvalid || !strings.Contains(errOut, "--org") {
		t.Fatalf("new without --org: exit %d %s", code, errOut)
	}
	out := mustRun(t, "--db", db, "incident", "new", "--org", "water", "--title", "Ransom note on the SCADA", "--threat", "ransomware",
		"--affected", "water-scada:down,pump-a:compromised", "--detected", "2h")
	id := regexp.MustCompile(`inc-[0-9a-f]+`).FindString(out)
	// Water for 120,000 people down: severe.
	if id == "" || !strings.Contains(out, "severity 4 severe (red)") || !strings.Contains(out, "1 services down (120000 people)") || !strings.Contains(out, "playbook ransomware v1") {
		t.Fatalf("new: %s", out)
	}
	if code, _, errOut := run(t, "", "--db", db, "incident", "new", "--org", "water", "--title", "x", "--affected", "nope"); code != exitInvalid || !strings.Contains(errOut, "affected[0].id") {
		t.Errorf("unknown entity: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "--db", db, "incident", "new", "--org", "water", "--title", "x", "--detected", "last tuesday"); code != exitInvalid || !strings.Contains(errOut, "--detected") {
		t.Errorf("bad --detected: exit %d %s", code, errOut)
	}

	var list []struct {
		ID       string
		Severity struct{ Level int }
		Phase    string
	}
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "incident", "list", "--json", "--active")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Severity.Level != 4 || list[0].Phase != "detection" {
		t.Fatalf("list: %+v", list)
	}
	out = mustRun(t, "--db", db, "incident", "show", id)
	for _, want := range []string{"severity inputs:", "Functional impact", "denial of critical services", "parties:", "water (reporter)",
		"clock:", "water-supply: down 2h", "tasks:", "timeline:", "reported"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	mustRun(t, "--db", db, "incident", "phase", id, "containment", "--note", "isolated")
	out = mustRun(t, "--db", db, "incident", "task", id, "t1", "--status", "done", "--note", "bridge open")
	if !strings.Contains(out, "t1") || !strings.Contains(out, "done (revision 2)") {
		t.Errorf("task: %s", out)
	}
	if code, _, errOut := run(t, "", "--db", db, "incident", "severity", id, "--level", "5"); code != exitInvalid || !strings.Contains(errOut, "reason") {
		t.Errorf("override without reason: exit %d %s", code, errOut)
	}
	out = mustRun(t, "--db", db, "incident", "severity", id, "--level", "emergency", "--reason", "regional outage")
	if !strings.Contains(out, "severity 5 emergency (black) (computed 4 severe (red))") {
		t.Errorf("severity: %s", out)
	}
	mustRun(t, "--db", db, "incident", "note", id, "city EOC activated")
	if code, _, errOut := run(t, "", "--db", db, "incident", "phase", id, "closed"); code != exitError || !strings.Contains(errOut, "post-incident") {
		t.Errorf("close from containment: exit %d %s", code, errOut)
	}
	mustRun(t, "--db", db, "incident", "phase", id, "post-incident")
	review := filepath.Join(dir, "review.yaml")
	os.WriteFile(review, []byte("rev: 0\nsummary: Restored after 20 hours\nwhat_did_not: [backups were stale]\nfollow_ups:\n  - {kind: risk, title: Stale backups, likelihood: 3, impact: 4, services: [water-supply]}\n"), 0o600)
	out = mustRun(t, "--db", db, "incident", "review", id, review)
	if !strings.Contains(out, "revision 1") || !regexp.MustCompile(`follow-up risk: Stale backups → risk:risk-[0-9a-f]+`).MatchString(out) {
		t.Errorf("review: %s", out)
	}
	os.WriteFile(review, []byte("rev: 1\nfollow_ups: [{kind: wish, title: x}]\n"), 0o600)
	if code, _, errOut := run(t, "", "--db", db, "incident", "review", id, review); code != exitInvalid || !strings.Contains(errOut, "review.yaml:2:21: follow_ups[0].kind") {
		t.Errorf("bad review: exit %d %s", code, errOut)
	}
	mustRun(t, "--db", db, "incident", "phase", id, "closed")
	if out := mustRun(t, "--db", db, "risks", "list"); !strings.Contains(out, "Stale backups") {
		t.Errorf("the follow-up risk is not in the register: %s", out)
	}
	if out := mustRun(t, "--db", db, "incident", "escalate"); !strings.Contains(out, "0 escalation(s)") {
		t.Errorf("escalate on a closed incident: %s", out)
	}
	out = mustRun(t, "--db", db, "incident", "raci", "water-supply")
	if !strings.Contains(out, "ACTIVITY") || !strings.Contains(out, "water") || !strings.Contains(out, "A/R") {
		t.Errorf("raci: %s", out)
	}
}

func TestPlaybookAndDirectoryCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	out := mustRun(t, "--db", db, "playbook", "list")
	if strings.Count(out, "bundled") != 6 {
		t.Fatalf("list: %s", out)
	}
	src := mustRun(t, "--db", db, "playbook", "show", "ddos-citizen-services", "--yaml")
	if !strings.HasPrefix(src, "# Bundled playbook") {
		t.Fatalf("--yaml: %.100s", src)
	}
	if out := mustRun(t, "--db", db, "playbook", "show", "ddos-citizen-services", "--raci"); !strings.Contains(out, "Network operations") || !strings.Contains(out, "R/A") && !strings.Contains(out, "R") {
		t.Errorf("--raci: %s", out)
	}
	good := filepath.Join(dir, "ddos.yaml")
	os.WriteFile(good, []byte(strings.Replace(src, "version: 1", "version: 2", 1)), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(src, "responsible: network-operations", "responsible: nobody", 1)), 0o600)
	code, out, errOut := run(t, "", "--db", db, "playbook", "validate", good, bad)
	if code != exitInvalid || !strings.Contains(out, "ddos.yaml: ok (ddos-citizen-services v2") ||
		!regexp.MustCompile(`bad\.yaml:\d+:\d+: phases\[0\]\.tasks\[0\]\.responsible: role "nobody" is not declared under roles`).MatchString(errOut) {
		t.Errorf("validate: exit %d\n%s\n%s", code, out, errOut)
	}
	if out := mustRun(t, "--db", db, "playbook", "put", good); !strings.Contains(out, "version 2 published") {
		t.Errorf("put: %s", out)
	}
	if code, _, errOut := run(t, "", "--db", db, "playbook", "put", good); code != exitError || !strings.Contains(errOut, "version 2") {
		t.Errorf("put again: exit %d %s", code, errOut)
	}
	if out := mustRun(t, "--db", db, "playbook", "list"); !strings.Contains(out, "ddos-citizen-services  2") && !regexp.MustCompile(`ddos-citizen-services\s+2\s+ddos\s+city`).MatchString(out) {
		t.Errorf("list after put: %s", out)
	}

	d := filepath.Join(dir, "water.yaml")
	os.WriteFile(d, []byte("organization: water\ncontacts:\n  - {name: Ana Ortiz, email: ana@example.org, roles: [ot-engineering], on_call: [{days: daily, from: '00:00', to: '24:00'}]}\n  - {name: Desk, phone: '+1 555 0100'}\n"), 0o600)
	if out := mustRun(t, "--db", db, "directory", "put", d); !strings.Contains(out, "water: 2 contacts (revision 1)") {
		t.Errorf("directory put: %s", out)
	}
	out = mustRun(t, "--db", db, "directory", "show", "water")
	if !regexp.MustCompile(`Ana Ortiz.*daily 00:00-24:00.*on call`).MatchString(out) || strings.Contains(strings.Split(out, "Desk")[1], "on call") {
		t.Errorf("directory show: %s", out)
	}
	os.WriteFile(d, []byte("organization: water\ncontacts:\n  - {name: B, phone: '1', on_call: [{days: someday, from: '00:00', to: '01:00'}]}\n"), 0o600)
	if code, _, errOut := run(t, "", "--db", db, "directory", "put", d); code != exitInvalid || !strings.Contains(errOut, "water.yaml:3:37: contacts[0].on_call[0]: days \"someday\"") {
		t.Errorf("bad directory: exit %d %s", code, errOut)
	}
}

// TestIncidentPublicActionCommands: --public-action on new, shown by show,
// changed by public-action; bad text is refused with the field named.
func TestIncidentPublicActionCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	out := mustRun(t, "--db", db, "incident", "new", "--org", "water", "--title", "Chlorination fault", "--affected", "water-scada:down",
		"--public-action", "Boil tap water before drinking.")
	id := regexp.MustCompile(`inc-[0-9a-f]+`).FindString(out)
	if id == "" {
		t.Fatalf("new: %s", out)
	}
	if out := mustRun(t, "--db", db, "incident", "show", id); !strings.Contains(out, "public action: Boil tap water before drinking.") {
		t.Errorf("show lacks the public action:\n%s", out)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"control character on new", []string{"incident", "new", "--org", "water", "--title", "x", "--public-action", "boil\x07"}, "public_action"},
		{"too long", []string{"incident", "public-action", id, strings.Repeat("a", 1001)}, "public_action"},
		{"unchanged", []string{"incident", "public-action", id, "Boil tap water before drinking."}, "already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errOut := run(t, "", append([]string{"--db", db}, tc.args...)...); code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d %s", code, errOut)
			}
		})
	}
	if out := mustRun(t, "--db", db, "incident", "public-action", id, "Use bottled water only."); !strings.Contains(out, `public action "Use bottled water only."`) {
		t.Errorf("public-action: %s", out)
	}
	if out := mustRun(t, "--db", db, "incident", "show", id); !strings.Contains(out, "public action: Use bottled water only.") || !strings.Contains(out, "Public action: Use bottled water only.") {
		t.Errorf("show after the change:\n%s", out)
	}
}
