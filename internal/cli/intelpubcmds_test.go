package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIntelPublishFromData(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	city := filepath.Join(dir, "city.yaml")
	if err := os.WriteFile(city, []byte(intelCity), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "--db", db, "-q", "import", city)
	for _, u := range []string{"water:ana@water.example", "port:bo@port.example"} {
		org, email, _ := strings.Cut(u, ":")
		mustRun(t, "--db", db, "user", "add", "--org", org, "--email", email, "--role", "analyst")
	}
	mustRun(t, "--db", db, "intel", "community", "create", "metro", "--name", "Metro", "--owner", "city-ciso", "--member", "water,port")
	mustRun(t, "--db", db, "intel", "collection", "create", "--community", "metro", "--title", "Advisories", "--alias", "adv",
		"--read", "water,port", "--write", "water")
	out := mustRun(t, "--db", db, "incident", "new", "--json", "--org", "water", "--title", "Ransom note on the SCADA", "--threat", "ransomware",
		"--description", "internal detail")
	var inc struct{ ID string }
	if err := json.Unmarshal([]byte(out), &inc); err != nil || inc.ID == "" {
		t.Fatalf("incident new: %v %s", err, out)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"advisories without marking", []string{"intel", "publish-advisories", "--collection", "adv", "--as", "ana@water.example"}, exitInvalid, "--marking"},
		{"incident without marking", []string{"intel", "publish-incident", inc.ID, "--collection", "adv", "--as", "ana@water.example"}, exitInvalid, "--marking"},
		{"bad marking", []string{"intel", "publish-advisories", "--collection", "adv", "--as", "ana@water.example", "--marking", "purple"}, exitInvalid, "purple"},
		{"amber without recipients", []string{"intel", "publish-incident", inc.ID, "--collection", "adv", "--as", "ana@water.example", "--marking", "amber"}, exitInvalid, "recipient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, "", append([]string{"--db", db}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d (want %d): %s", code, tc.code, errOut)
			}
		})
	}
	// No findings in this city: nothing to publish.
	out = mustRun(t, "--db", db, "intel", "publish-advisories", "--collection", "adv", "--as", "ana@water.example", "--marking", "green")
	if !strings.Contains(out, "0 objects: 0 published, 0 unchanged, 0 refused (TLP:GREEN)") {
		t.Errorf("publish-advisories: %s", out)
	}
	out = mustRun(t, "--db", db, "intel", "publish-incident", inc.ID, "--collection", "adv", "--as", "ana@water.example", "--marking", "green")
	if !strings.Contains(out, "2 objects: 2 published, 0 unchanged, 0 refused") {
		t.Errorf("publish-incident: %s", out)
	}
	var res struct {
		Published, Unchanged int
		Objects              []string
	}
	out = mustRun(t, "--db", db, "intel", "publish-incident", inc.ID, "--collection", "adv", "--as", "ana@water.example", "--marking", "green", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Published != 0 || res.Unchanged != 2 || len(res.Objects) != 2 {
		t.Errorf("second publish-incident: %v %s", err, out)
	}
	// The port reads the collection but takes no part in the incident.
	if code, _, _ := run(t, "", "--db", db, "intel", "publish-incident", inc.ID, "--collection", "adv", "--as", "bo@port.example", "--marking", "green"); code == 0 {
		t.Errorf("the port published water's incident")
	}
	// "share" is the main spelling, "intel" its alias: both reach the same
	// commands and the same data.
	var sum struct {
		Published, Unchanged int
		Objects              []string
	}
	out = mustRun(t, "--db", db, "share", "publish-findings", "--collection", "adv", "--as", "ana@water.example", "--marking", "amber+strict", "--json")
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Published != 1 || len(sum.Objects) != 1 || !strings.HasPrefix(sum.Objects[0], "report--") {
		t.Errorf("share publish-findings: %v %s", err, out)
	}
	out = mustRun(t, "--db", db, "intel", "publish-findings", "--collection", "adv", "--as", "ana@water.example", "--marking", "amber+strict")
	if !strings.Contains(out, "1 objects: 0 published, 1 unchanged, 0 refused (TLP:AMBER+STRICT)") {
		t.Errorf("intel publish-findings again: %s", out)
	}
	// A lower marking than published is refused, object by object.
	code, out, errOut := run(t, "", "--db", db, "share", "publish-incident", inc.ID, "--collection", "adv", "--as", "ana@water.example", "--marking", "clear")
	if code == 0 || !strings.Contains(out, "2 refused") || !strings.Contains(out, "refused incident--") || !strings.Contains(errOut, "may not lower") {
		t.Errorf("lower marking: exit %d: %s %s", code, out, errOut)
	}
	// Another identity scope is another publisher identity: new objects.
	for _, bad := range []string{"two words", strings.Repeat("x", 300), "tab\there"} {
		if code, _, errOut := run(t, "", "--db", db, "share", "publish-incident", inc.ID, "--collection", "adv", "--as", "ana@water.example", "--marking", "green", "--scope", bad); code != exitInvalid || !strings.Contains(errOut, "scope") {
			t.Errorf("--scope %.20q: exit %d: %s", bad, code, errOut)
		}
	}
	out = mustRun(t, "--db", db, "share", "publish-incident", inc.ID, "--collection", "adv", "--as", "ana@water.example", "--marking", "green", "--scope", "city.example", "--json")
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Published != 2 || slices.Contains(res.Objects, sum.Objects[0]) {
		t.Errorf("--scope city.example: %v %s (default scope: %v)", err, out, res.Objects)
	}
	for _, spelling := range []string{"share", "intel"} {
		out := mustRun(t, spelling, "--help")
		for _, want := range []string{"publish-advisories", "publish-findings", "publish-incident", "feeds", "community", "collection", "export", "objects", "import", "publish "} {
			if !strings.Contains(out, want) {
				t.Errorf("%s --help lacks %q", spelling, want)
			}
		}
		out = mustRun(t, spelling, "publish-findings", "--help")
		if !strings.Contains(out, "--scope") || !strings.Contains(out, "no assets") {
			t.Errorf("%s publish-findings --help: %s", spelling, out)
		}
	}
	out = mustRun(t, "--db", db, "intel", "export", "--collection", "adv")
	if strings.Contains(out, "internal detail") || !strings.Contains(out, "Ransom note on the SCADA") {
		t.Errorf("export: %s", out)
	}
}
