package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// run executes the CLI in-process and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, "", args...)
	if code != 0 {
		t.Fatalf("bulwark %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestImportExportRoundTrip(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, "--db", db, "init")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	first := mustRun(t, "--db", db, "export")
	if !strings.Contains(first, "id: feeder-7") {
		t.Fatalf("export lacks imported asset:\n%s", first)
	}

	// Re-importing the export into a fresh store gives a byte-identical export.
	exported := filepath.Join(t.TempDir(), "export.yaml")
	mustRun(t, "--db", db, "export", "-o", exported)
	db2 := filepath.Join(t.TempDir(), "b2.db")
	mustRun(t, "--db", db2, "import", exported)
	if second := mustRun(t, "--db", db2, "export"); second != first {
		t.Fatalf("export of re-imported model differs:\n--- first\n%s\n--- second\n%s", first, second)
	}

	// Importing the same file again changes nothing.
	_, _, errOut := run(t, "", "--db", db, "import", "testdata/city.yaml")
	if !strings.Contains(errOut, "0 created, 0 updated") {
		t.Fatalf("re-import should change nothing, got: %s", errOut)
	}
}

func TestImportBadFileStoresNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	before := mustRun(t, "--db", db, "export")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	src := "services:\n  - id: new-service\n    name: New\n    owner: water\n    sector: water-wastewater\n    colour: blue\n    depends_on:\n      - {on: nowhere}\n"
	if err := os.WriteFile(bad, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "", "--db", db, "import", bad)
	if code != exitInvalid {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, exitInvalid, errOut)
	}
	for _, want := range []string{"bad.yaml:6:", "colour", "nowhere"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error output lacks %q:\n%s", want, errOut)
		}
	}
	if after := mustRun(t, "--db", db, "export"); after != before {
		t.Fatal("a rejected import changed the store")
	}
}

func TestGraphFindsCommonModeFeeder(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	out := mustRun(t, "--db", db, "graph", "--json", "--limit", "0")
	var rep struct {
		Nodes []struct {
			ID             string   `json:"id"`
			ServicesLost   []string `json:"services_lost"`
			PopulationLost int64    `json:"population_lost"`
		} `json:"nodes"`
		Services []struct {
			ID    string `json:"id"`
			SPOFs []struct {
				ID         string `json:"id"`
				CommonMode bool   `json:"common_mode"`
			} `json:"spofs"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("graph --json is not JSON: %v\n%s", err, out)
	}
	spofs := map[string]bool{}
	for _, s := range rep.Services {
		if s.ID == "water-supply" {
			for _, p := range s.SPOFs {
				spofs[p.ID] = p.CommonMode
			}
		}
	}
	if cm, ok := spofs["feeder-7"]; !ok || !cm {
		t.Errorf("feeder-7 should be a common-mode SPOF of water-supply; spofs = %v", spofs)
	}
	if _, ok := spofs["pump-a"]; ok {
		t.Errorf("pump-a is redundant and must not be a SPOF; spofs = %v", spofs)
	}
	if _, ok := spofs["water-scada"]; !ok {
		t.Errorf("water-scada should be a SPOF; spofs = %v", spofs)
	}
	for _, n := range rep.Nodes {
		if n.ID == "feeder-7" && n.PopulationLost != 120000 {
			t.Errorf("feeder-7 population lost = %d, want 120000 (water only; the grid depends on it softly)", n.PopulationLost)
		}
	}
	text := mustRun(t, "--db", db, "graph", "--service", "water-supply")
	if !strings.Contains(text, "common-mode") {
		t.Errorf("text report should flag the common-mode SPOF:\n%s", text)
	}
}

func TestUsersTokensAndAudit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	out := mustRun(t, "--db", db, "init", "--org", "city", "--org-name", "City", "--admin", "ana@example.org")
	if !strings.Contains(out, "password: ") {
		t.Fatalf("init should print the generated admin password:\n%s", out)
	}
	code, _, errOut := run(t, "short\n", "--db", db, "user", "add", "--org", "city", "--email", "bo@example.org", "--password-stdin")
	if code == 0 || !strings.Contains(errOut, "at least 12") {
		t.Fatalf("short password accepted (exit %d): %s", code, errOut)
	}
	code, _, errOut = run(t, "a-long-enough-passphrase\n", "--db", db, "user", "add", "--org", "city", "--email", "bo@example.org", "--role", "viewer", "--password-stdin")
	if code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	tok := mustRun(t, "--db", db, "token", "create", "--user", "bo@example.org", "--name", "ci")
	if !strings.Contains(tok, "bwk_") {
		t.Fatalf("token create should print the secret once:\n%s", tok)
	}
	var users []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "user", "list", "--json")), &users); err != nil || len(users) != 2 {
		t.Fatalf("user list --json: %v %v", users, err)
	}
	mustRun(t, "--db", db, "user", "disable", "bo@example.org")

	verified := mustRun(t, "--db", db, "audit", "verify")
	if !strings.Contains(verified, "audit log intact") {
		t.Fatalf("audit verify: %s", verified)
	}
	head := strings.TrimSpace(verified[strings.LastIndex(verified, "head ")+5:])

	// Tamper with one entry: verify must notice.
	sqldb, err := sql.Open("sqlite", db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqldb.Exec(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, "", "--db", db, "audit", "verify")
	if code == 0 || !strings.Contains(errOut, "entry 2") {
		t.Fatalf("edited entry not detected (exit %d): %s", code, errOut)
	}
	// Put it back, then delete the newest entry: only --head can tell.
	if _, err := sqldb.Exec(`UPDATE audit_log SET actor = (SELECT actor FROM audit_log WHERE seq = 1) WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := sqldb.Exec(`DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)`); err != nil {
		t.Fatal(err)
	}
	sqldb.Close()
	code, _, errOut = run(t, "", "--db", db, "audit", "verify", "--head", head)
	if code == 0 || !strings.Contains(errOut, "removed") {
		t.Fatalf("truncation not detected with --head (exit %d): %s", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"graph", "--no-such-flag"},
		{"generate", "--assets", "0"},
		{"user", "add", "--org", "x", "--email", "y@example.org", "--role", "king"},
		{"token", "revoke", "abc"},
	} {
		code, _, errOut := run(t, "", append([]string{"--db", filepath.Join(t.TempDir(), "b.db")}, args...)...)
		if code != exitInvalid && code != exitError {
			t.Errorf("%v: exit %d", args, code)
		}
		if errOut == "" {
			t.Errorf("%v: no error message", args)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := mustRun(t, "generate", "--assets", "300", "--seed", "5")
	b := mustRun(t, "generate", "--assets", "300", "--seed", "5")
	if a != b {
		t.Fatal("same seed gave different cities")
	}
	db := filepath.Join(t.TempDir(), "b.db")
	f := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(f, []byte(a), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "--db", db, "import", f)
}

func TestDemoLoadsAndSummarizes(t *testing.T) {
	if testing.Short() {
		t.Skip("demo loads 10,000 assets")
	}
	db := filepath.Join(t.TempDir(), "demo.db")
	out := mustRun(t, "--db", db, "demo", "--no-serve")
	for _, want := range []string{"Port Halden demo city loaded", "Top single points of failure", "1. "} {
		if !strings.Contains(out, want) {
			t.Errorf("demo summary lacks %q:\n%s", want, out)
		}
	}
	// A second demo into the same file is refused rather than mixed in.
	if code, _, errOut := run(t, "", "--db", db, "demo", "--no-serve"); code == 0 || !strings.Contains(errOut, "fresh database") {
		t.Errorf("demo over an existing store: exit %d, %s", code, errOut)
	}
	var counts struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "list", "services", "--json", "--all")), &counts); err != nil {
		t.Fatal(err)
	}
	if len(counts.Items) < 30 {
		t.Errorf("demo city has %d services, want at least 30", len(counts.Items))
	}
}

func TestImportDryRunStoresNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	code, _, errOut := run(t, "", "--db", db, "import", "--dry-run", "testdata/city.yaml")
	if code != 0 || !strings.Contains(errOut, "valid (nothing stored)") {
		t.Fatalf("dry run: exit %d: %s", code, errOut)
	}
	var page struct {
		Items []any `json:"items"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "list", "assets", "--json")), &page); err != nil || len(page.Items) != 0 {
		t.Fatalf("dry run stored %d assets (%v)", len(page.Items), err)
	}
}
