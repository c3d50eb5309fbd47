package cli

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/intelfeed"
	"bulwark/internal/server"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
	"bulwark/internal/taxii"
)

// partnerServer is an ISAC's Bulwark serving one collection over TLS with
// three GREEN indicators, readable by the returned user.
func partnerServer(t *testing.T) (url, caFile, col string, reader *sharingtest.User) {
	t.Helper()
	w := sharingtest.Open(t, false, sharingtest.Orgs("isac", "member"))
	admin := w.AddUser(t, "isac", bulwark.RoleAdmin)
	reader = w.AddUser(t, "member", bulwark.RoleViewer)
	if err := w.Svc.CreateCommunity(admin.Ctx(), &bulwark.Community{ID: "members", Name: "Members", Members: []bulwark.CommunityMember{{Org: "isac", Owner: true}, {Org: "member"}}}); err != nil {
		t.Fatal(err)
	}
	c := &bulwark.Collection{Community: "members", Title: "Indicators"}
	if err := w.Svc.CreateCollection(admin.Ctx(), c); err != nil {
		t.Fatal(err)
	}
	var objs []*stix.Object
	ts := stix.FormatTimestamp(time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond))
	for i := range 3 {
		o, err := stix.ParseObject([]byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c%d","created":%q,"modified":%q,`+
			`"name":"C2","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":%q,"object_marking_refs":[%q]}`, i, ts, ts, ts, stix.Green.ID())), stix.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	if _, err := w.Svc.AddObjects(admin.Ctx(), c.ID, objs, sharing.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(taxii.Prefix, taxii.New(w.Svc, taxii.Config{}, nil))
	srv := httptest.NewUnstartedServer(w.Auth.Middleware(mux))
	srv.TLS = server.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	return srv.URL + "/taxii2/", caFile, c.ID, reader
}

func TestShareFeedsCommands(t *testing.T) {
	t.Setenv(intelfeed.AllowLoopbackEnv, "1")
	t.Setenv(intelfeed.KeyEnv, "")
	url, caFile, partnerCol, reader := partnerServer(t)
	t.Setenv("ISAC_PASSWORD", reader.Password)

	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	city := filepath.Join(dir, "city.yaml")
	os.WriteFile(city, []byte(intelCity), 0o600)
	mustRun(t, "--db", db, "-q", "import", city)
	mustRun(t, "--db", db, "user", "add", "--org", "city-ciso", "--email", "ana@city.example", "--role", "admin")
	mustRun(t, "--db", db, "user", "add", "--org", "city-ciso", "--email", "al@city.example", "--role", "analyst")
	mustRun(t, "--db", db, "intel", "community", "create", "metro", "--name", "Metro", "--owner", "city-ciso", "--member", "water")
	out := mustRun(t, "--db", db, "intel", "collection", "create", "--community", "metro", "--title", "Partner intel", "--alias", "partner",
		"--read", "city-ciso,water", "--write", "city-ciso")
	target := ""
	for _, f := range strings.Fields(out) {
		if i := strings.Index(f, "/collections/"); i >= 0 {
			target = strings.Trim(f[i+len("/collections/"):], "/)")
		}
	}
	if !bulwark.ValidUUID(target) {
		t.Fatalf("no collection id in %q", out)
	}
	add := []string{"--db", db, "share", "feeds", "add", "ISAC indicators", "--server", url, "--collection", partnerCol, "--target", target,
		"--auth", "basic", "--username", reader.Email, "--secret-env", "ISAC_PASSWORD", "--ca-cert", caFile, "--interval", "2h"}

	// An analyst may not; the administrator may.
	if code, _, errOut := run(t, "", append(add, "--as", "al@city.example")...); code == 0 || !strings.Contains(errOut, "administrators") {
		t.Errorf("analyst adds: %d %s", code, errOut)
	}
	out = mustRun(t, append(add, "--as", "ana@city.example")...)
	if !strings.Contains(out, "pulled every 2h0m0s") {
		t.Errorf("add: %s", out)
	}
	// The secret is never echoed, and sealed with the key beside the store.
	if strings.Contains(out, reader.Password) {
		t.Error("add prints the password")
	}
	if fi, err := os.Stat(db + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sealing key file: %v", err)
	}
	// Without a secret source: refused; two sources: refused.
	if code, _, errOut := run(t, "", "--db", db, "share", "feeds", "add", "x", "--org", "city-ciso", "--server", url, "--collection", "c", "--target", target,
		"--auth", "bearer", "--secret-env", "ISAC_PASSWORD", "--secret-file", caFile); code != exitInvalid || !strings.Contains(errOut, "one way") {
		t.Errorf("two secret sources: %d %s", code, errOut)
	}

	var feeds []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "share", "feeds", "list", "--json")), &feeds); err != nil || len(feeds) != 1 {
		t.Fatalf("list --json: %v %v", feeds, err)
	}
	if feeds[0]["has_secret"] != true || strings.Contains(fmt.Sprint(feeds), reader.Password) || feeds[0]["status"] != nil && feeds[0]["name"] != "ISAC indicators" {
		t.Errorf("listed %v", feeds[0])
	}
	id := feeds[0]["id"].(string)

	out = mustRun(t, "--db", db, "share", "feeds", "pull", "ISAC indicators")
	if !strings.Contains(out, "3 new versions") {
		t.Errorf("pull: %s", out)
	}
	var res map[string]any
	json.Unmarshal([]byte(mustRun(t, "--db", db, "share", "feeds", "pull", id, "--json")), &res)
	if res["new"] != 0.0 || res["error"] != "" {
		t.Errorf("second pull: %v", res)
	}
	out = mustRun(t, "--db", db, "share", "feeds", "list")
	if !strings.Contains(out, "ISAC indicators") || !strings.Contains(out, "  3  ") && !strings.Contains(out, " 3 ") {
		t.Errorf("list after pulls:\n%s", out)
	}
	// The objects are in the target collection, GREEN: the operator sees them.
	var items []map[string]any
	json.Unmarshal([]byte(mustRun(t, "--db", db, "intel", "objects", "--collection", "partner", "--json")), &items)
	if len(items) != 3 || items[0]["marking"] != "green" {
		t.Errorf("imported objects: %v", items)
	}
	// Water's administrator sees no city feed and cannot remove it.
	mustRun(t, "--db", db, "user", "add", "--org", "water", "--email", "wes@water.example", "--role", "admin")
	if out := mustRun(t, "--db", db, "share", "feeds", "list", "--as", "wes@water.example"); strings.Contains(out, "ISAC") {
		t.Errorf("water lists the city's feed:\n%s", out)
	}
	if code, _, errOut := run(t, "", "--db", db, "share", "feeds", "remove", id, "--as", "wes@water.example"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("water removes: %d %s", code, errOut)
	}
	out = mustRun(t, "--db", db, "share", "feeds", "remove", "ISAC indicators", "--as", "ana@city.example")
	if !strings.Contains(out, "3 imported object versions stay") {
		t.Errorf("remove: %s", out)
	}
}
