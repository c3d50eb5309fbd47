package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const intelCity = `organizations:
  - id: city-ciso
    name: City CISO
    purview: city
  - id: water
    name: City Water
    purview: city
  - id: port
    name: Port Authority
    purview: private
  - id: hospital
    name: Harbor Hospital
    purview: private
`

const intelBundle = `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"C2","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]},
{"type":"indicator","spec_version":"2.1","id":"indicator--9f3f3e3c-28e5-4dc0-a49f-a9ff57c4de40","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"C2 strict","pattern":"[ipv4-addr:value = '198.51.100.2']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"},
{"type":"indicator","type":"malware"}]}`

func TestIntelCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	city := filepath.Join(dir, "city.yaml")
	bundle := filepath.Join(dir, "bundle.json")
	os.WriteFile(city, []byte(intelCity), 0o600)
	os.WriteFile(bundle, []byte(intelBundle), 0o600)
	mustRun(t, "--db", db, "-q", "import", city)
	for _, u := range []string{"water:ana@water.example", "port:bo@port.example", "hospital:cy@hospital.example"} {
		org, email, _ := strings.Cut(u, ":")
		mustRun(t, "--db", db, "user", "add", "--org", org, "--email", email, "--role", "analyst")
	}
	mustRun(t, "--db", db, "intel", "community", "create", "metro", "--name", "Metro", "--owner", "city-ciso", "--member", "water,port")
	out := mustRun(t, "--db", db, "intel", "collection", "create", "--community", "metro", "--title", "OT indicators", "--alias", "ot",
		"--read", "water,port", "--write", "water")
	if !strings.Contains(out, "/taxii2/bulwark/collections/") {
		t.Errorf("collection create: %s", out)
	}
	out = mustRun(t, "--db", db, "intel", "import", bundle, "--collection", "ot", "--as", "ana@water.example")
	if !strings.Contains(out, "3 objects: 2 added or already there, 1 failed") || !strings.Contains(out, "duplicate") {
		t.Errorf("import: %s", out)
	}
	// The operator lists what it may: the GREEN object, not the
	// AMBER+STRICT one (the bundle's unmarked object).
	var items []map[string]any
	json.Unmarshal([]byte(mustRun(t, "--db", db, "intel", "objects", "--collection", "ot", "--json")), &items)
	if len(items) != 1 || items[0]["marking"] != "green" {
		t.Errorf("operator sees %v", items)
	}
	// No reading as someone else.
	if code, _, _ := run(t, "", "--db", db, "intel", "objects", "--collection", "ot", "--as", "bo@port.example"); code == 0 {
		t.Error("objects --as accepted")
	}
	code, _, errOut := run(t, "", "--db", db, "intel", "import", bundle, "--collection", "ot", "--as", "cy@hospital.example")
	if code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("hospital imports: %d %s", code, errOut)
	}
	obj := filepath.Join(dir, "obj.json")
	os.WriteFile(obj, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--0a1b2c3d-28e5-4dc0-a49f-a9ff57c4de40","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"C2 red","pattern":"[ipv4-addr:value = '198.51.100.3']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`), 0o600)
	out = mustRun(t, "--db", db, "intel", "publish", obj, "--collection", "ot", "--as", "ana@water.example", "--marking", "red", "--to-user", "bo@port.example")
	if !strings.Contains(out, "TLP:RED") {
		t.Errorf("publish: %s", out)
	}
	items = nil
	json.Unmarshal([]byte(mustRun(t, "--db", db, "intel", "objects", "--collection", "ot", "--json")), &items)
	if len(items) != 1 {
		t.Errorf("operator sees the RED object: %v", items)
	}
	// AC-07: the export carries what the operator may see, and the TLP
	// definition it uses; never the RED or AMBER+STRICT objects.
	bundle2 := mustRun(t, "--db", db, "intel", "export", "--collection", "ot")
	var b struct {
		Type    string           `json:"type"`
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal([]byte(bundle2), &b); err != nil || b.Type != "bundle" || len(b.Objects) != 2 {
		t.Fatalf("export: %v %s", err, bundle2)
	}
	if strings.Contains(bundle2, "C2 red") || strings.Contains(bundle2, "C2 strict") || !strings.Contains(bundle2, `"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"`) {
		t.Errorf("export leaks or lacks the marking definition: %s", bundle2)
	}
	code, _, errOut = run(t, "", "--db", db, "intel", "publish", obj, "--collection", "ot", "--as", "ana@water.example", "--marking", "pink")
	if code != exitInvalid || !strings.Contains(errOut, "--marking") {
		t.Errorf("bad marking: %d %s", code, errOut)
	}
	out = mustRun(t, "--db", db, "intel", "community", "list", "--as", "bo@port.example")
	if !strings.Contains(out, "metro") {
		t.Errorf("community list: %s", out)
	}
	if out := mustRun(t, "--db", db, "intel", "community", "list", "--as", "cy@hospital.example"); strings.Contains(out, "metro") {
		t.Errorf("a non-member lists the community: %s", out)
	}
}
