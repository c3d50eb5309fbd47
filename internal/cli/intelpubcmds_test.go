package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
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
	if !strings.Contains(out, "0 objects: 0 published, 0 unchanged (TLP:GREEN)") {
		t.Errorf("publish-advisories: %s", out)
	}
	out = mustRun(t, "--db", db, "intel", "publish-incident", inc.ID, "--collection", "adv", "--as", "ana@water.example", "--marking", "green")
	if !strings.Contains(out, "2 objects: 2 published, 0 unchanged") {
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
	out = mustRun(t, "--db", db, "intel", "export", "--collection", "adv")
	if strings.Contains(out, "internal detail") || !strings.Contains(out, "Ransom note on the SCADA") {
		t.Errorf("export: %s", out)
	}
}
