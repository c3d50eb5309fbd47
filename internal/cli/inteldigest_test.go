package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Imports made with the CLI queue the same intel digests as the server's,
// from the matrix in BULWARK_NOTIFY_MATRIX: one per subscribed
// organization that may see something of the import, none for the others.
func TestIntelImportQueuesDigests(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	city := filepath.Join(dir, "city.yaml")
	bundle := filepath.Join(dir, "bundle.json")
	matrix := filepath.Join(dir, "matrix.yaml")
	var cy strings.Builder
	for _, o := range []string{"city-ciso", "water", "port", "hospital"} {
		cy.WriteString("  - id: " + o + "\n    name: " + o + "\n    purview: city\n    contacts:\n      - {name: Desk, role: Security desk, email: desk@" + o + ".example}\n")
	}
	os.WriteFile(city, []byte("organizations:\n"+cy.String()), 0o600)
	os.WriteFile(bundle, []byte(intelBundle), 0o600)
	os.WriteFile(matrix, []byte("version: 1\nrules:\n  - id: intel\n    events: [intel_added]\n    channel: email\n    recipients:\n      - {purview: city}\n"), 0o600)
	t.Setenv("BULWARK_NOTIFY_MATRIX", matrix)
	t.Setenv("BULWARK_PUBLIC_URL", "https://bulwark.example.org")
	mustRun(t, "--db", db, "-q", "import", city)
	mustRun(t, "--db", db, "user", "add", "--org", "water", "--email", "ana@water.example", "--role", "analyst")
	mustRun(t, "--db", db, "intel", "community", "create", "metro", "--name", "Metro", "--owner", "city-ciso", "--member", "water,port")
	mustRun(t, "--db", db, "intel", "collection", "create", "--community", "metro", "--title", "OT indicators", "--alias", "ot",
		"--read", "water,port", "--write", "water")
	mustRun(t, "--db", db, "intel", "import", bundle, "--collection", "ot", "--as", "ana@water.example")
	var ns []struct {
		Address, Subject, Body string
	}
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "notify", "list", "--json")), &ns); err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, n := range ns {
		to = append(to, n.Address)
		switch n.Address {
		case "desk@water.example":
			if !strings.HasPrefix(n.Subject, "[TLP:AMBER+STRICT] 2 new intel objects in OT indicators") {
				t.Errorf("water's digest: %q", n.Subject)
			}
		case "desk@port.example":
			if !strings.HasPrefix(n.Subject, "[TLP:GREEN] 1 new intel object in OT indicators") || strings.Contains(n.Body, "C2 strict") {
				t.Errorf("port's digest: %q\n%s", n.Subject, n.Body)
			}
		}
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"desk@port.example", "desk@water.example"}) {
		t.Fatalf("digests to %v, want water's and port's desks only", to)
	}
}
