package taxii_test

// Bulwark's TAXII 2.1 server, as `bulwark serve --tls-cert --tls-key` runs
// it, driven over TLS on loopback by the unmodified OASIS python
// taxii2-client (scripts/taxii2client-check/drive.py). The client is not
// vendored: set BULWARK_TAXII2CLIENT to the directory that contains its
// taxii2client package (and BULWARK_PYTHON to a python3 with requests, pytz
// and six, "python3" otherwise). Without them the test skips.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/app"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// latin1Password is a password outside ASCII but within ISO-8859-1.
const latin1Password = "Grüße aus Köln"

// pythonWithClient returns the python interpreter and PYTHONPATH that can
// import taxii2client, or skips the test.
func pythonWithClient(t *testing.T) (python, path string) {
	t.Helper()
	path = os.Getenv("BULWARK_TAXII2CLIENT")
	if path == "" {
		t.Skip("BULWARK_TAXII2CLIENT is not set (the directory containing the OASIS taxii2client package); see docs/sharing.md")
	}
	python = os.Getenv("BULWARK_PYTHON")
	if python == "" {
		python = "python3"
	}
	cmd := exec.Command(python, "-c", "import taxii2client.v21")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("%s cannot import taxii2client from BULWARK_TAXII2CLIENT=%s: %v\n%s", python, path, err, out)
	}
	return python, path
}

// oasisWorld is a served Bulwark with a seeded collection.
type oasisWorld struct {
	url, caFile   string
	user, pw      string
	col, readonly string
	mirror        string
	visible       []string
	hidden        []string
	versioned     string
	versions      []string
	types         map[string]int
	foreignStatus string
}

// serveOASIS starts Bulwark over TLS: orgs city, water and power in
// community metro; collection "Indicators" read and write for water and
// power, "Bulletins" read-only for water, "Mirror" (empty) read and write
// for water. water publishes GREEN objects
// (more than a page of each size the driver asks for, one of them in three
// versions); power publishes an AMBER+STRICT object for itself alone,
// which water must never see.
func serveOASIS(t *testing.T) *oasisWorld {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := app.Open(ctx, app.Config{DB: filepath.Join(dir, "b.db"), Addr: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	tx, err := m.Store.BeginImport(sys)
	if err != nil {
		t.Fatal(err)
	}
	tx.PutOrganizations(sys, []bulwark.Organization{{ID: "city", Name: "City", Purview: bulwark.PurviewCity},
		{ID: "water", Name: "Water", Purview: bulwark.PurviewPrivate}, {ID: "power", Name: "Power", Purview: bulwark.PurviewPrivate}})
	if _, err := tx.Commit(sys); err != nil {
		t.Fatal(err)
	}
	hash, err := m.Auth.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	// A second water user whose password is outside ASCII: requests, under
	// the client, sends it in ISO-8859-1.
	latin1, err := m.Auth.HashPassword(latin1Password)
	if err != nil {
		t.Fatal(err)
	}
	bea := &bulwark.User{Org: "water", Email: "bea@water.example", Name: "Bea", Role: bulwark.RoleAnalyst, PasswordHash: latin1}
	if err := m.Store.CreateUser(sys, bea); err != nil {
		t.Fatal(err)
	}
	users := map[string]*bulwark.User{}
	for _, org := range []string{"water", "power"} {
		u := &bulwark.User{Org: org, Email: "ana@" + org + ".example", Name: "Ana", Role: bulwark.RoleAnalyst, PasswordHash: hash}
		if err := m.Store.CreateUser(sys, u); err != nil {
			t.Fatal(err)
		}
		users[org] = u
	}
	as := func(org string) context.Context {
		u := users[org]
		return bulwark.WithPrincipal(ctx, bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: u.Email})
	}
	com := &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "city", Owner: true}, {Org: "water"}, {Org: "power"}}}
	if err := m.Sharing.CreateCommunity(sys, com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Indicators", Alias: "indicators", Access: []bulwark.CollectionAccess{
		{Org: "water", CanRead: true, CanWrite: true}, {Org: "power", CanRead: true, CanWrite: true}}}
	ro := &bulwark.Collection{Community: "metro", Title: "Bulletins", Access: []bulwark.CollectionAccess{
		{Org: "water", CanRead: true}, {Org: "power", CanRead: true, CanWrite: true}}}
	mirror := &bulwark.Collection{Community: "metro", Title: "Mirror", Access: []bulwark.CollectionAccess{{Org: "water", CanRead: true, CanWrite: true}}}
	for _, c := range []*bulwark.Collection{col, ro, mirror} {
		if err := m.Sharing.CreateCollection(sys, c); err != nil {
			t.Fatal(err)
		}
	}
	w := &oasisWorld{caFile: certFile, user: "ana@water.example", pw: "correct horse", col: col.ID, readonly: ro.ID, mirror: mirror.ID,
		types: map[string]int{}}
	publish := func(org string, obj []byte, marking bulwark.TLP) {
		t.Helper()
		if _, err := m.Sharing.Publish(as(org), sharing.PublishRequest{Collection: col.ID, Object: obj, Marking: marking}); err != nil {
			t.Fatalf("publish: %v\n%s", err, obj)
		}
	}
	// hide publishes an object water's reader may not see, in turn
	// AMBER+STRICT and AMBER for power, and RED for bea alone.
	hide := func(n int, at time.Time) {
		t.Helper()
		id := newID("indicator")
		req := sharing.PublishRequest{Collection: col.ID, Object: indicator(id, at, "")}
		ctx := as("power")
		switch n % 3 {
		case 0:
			req.Marking = bulwark.TLPAmberStrict
		case 1:
			req.Marking, req.Orgs = bulwark.TLPAmber, []string{"power"}
		case 2:
			req.Marking, req.Users, ctx = bulwark.TLPRed, []int64{bea.ID}, bulwark.WithPrincipal(ctx, bulwark.Principal{UserID: bea.ID, Org: "water", Role: bea.Role, Name: bea.Email})
		}
		if _, err := m.Sharing.Publish(ctx, req); err != nil {
			t.Fatalf("publish hidden %d: %v", n, err)
		}
		w.hidden = append(w.hidden, id)
	}
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 10 {
		id := newID("indicator")
		publish("water", indicator(id, t0.Add(time.Duration(i)*time.Second), ""), bulwark.TLPGreen)
		w.visible = append(w.visible, id)
		w.types["indicator"]++
		if i%3 == 1 { // hidden objects between the visible ones, across page boundaries
			hide(i/3, t0)
		}
	}
	for i := range 3 {
		id, ts := newID("vulnerability"), stix.FormatTimestamp(t0.Add(time.Duration(i)*time.Minute))
		publish("water", []byte(fmt.Sprintf(`{"type":"vulnerability","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"CVE-2025-%04d"}`,
			id, ts, ts, 1000+i)), bulwark.TLPGreen)
		w.visible = append(w.visible, id)
		w.types["vulnerability"]++
	}
	w.versioned = newID("indicator")
	for i := range 3 {
		v := t0.Add(time.Duration(i) * time.Hour)
		publish("water", indicator(w.versioned, v, ""), bulwark.TLPGreen)
		w.versions = append(w.versions, bulwark.FormatSTIXTime(v))
	}
	w.visible = append(w.visible, w.versioned)
	w.types["indicator"]++
	hide(3, t0)
	// A status of power's: its id must not open it to water.
	secret := newID("indicator")
	st, err := m.Sharing.Import(as("power"), col.ID, strings.NewReader(`{"type":"bundle","id":"bundle--`+strings.TrimPrefix(newID("x"), "x--")+
		`","objects":[`+string(indicator(secret, t0, ""))+`]}`), sharing.ImportOptions{Name: "power", Marking: bulwark.TLPAmberStrict})
	if err != nil {
		t.Fatal(err)
	}
	w.hidden = append(w.hidden, secret)
	w.foreignStatus = st.ID

	u, err := m.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { m.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; m.Close() })
	w.url = u + "/taxii2/"
	return w
}

// clientEnv is the environment of the driver: the caller's, without proxy
// settings (the server is on loopback), with the client on PYTHONPATH and
// the test CA for requests.
func clientEnv(path, ca string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "PYTHONPATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PYTHONPATH="+path, "REQUESTS_CA_BUNDLE="+ca, "NO_PROXY=127.0.0.1,localhost", "PYTHONDONTWRITEBYTECODE=1")
	return append(env, extra...)
}

func TestOASISTaxii2Client(t *testing.T) {
	python, path := pythonWithClient(t)
	w := serveOASIS(t)
	expect, err := json.Marshal(map[string]any{
		"collection": w.col, "readonly": w.readonly, "mirror": w.mirror, "visible": w.visible, "types": w.types,
		"versioned": map[string]any{"id": w.versioned, "versions": w.versions}, "hidden": w.hidden, "page_size": 4,
		"foreign_status": w.foreignStatus,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join("..", "..", "scripts", "taxii2client-check", "drive.py"))
	cmd.Env = clientEnv(path, w.caFile, "TAXII_URL="+w.url, "TAXII_USER="+w.user, "TAXII_PASSWORD="+w.pw, "TAXII_EXPECT="+string(expect),
		"TAXII_LATIN1_USER=bea@water.example", "TAXII_LATIN1_PASSWORD="+latin1Password)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("driver summary:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("the OASIS taxii2-client driver failed: %v\n%s", err, stderr.String())
	}
	var summary struct {
		Passed int `json:"checks_passed"`
		Failed int `json:"checks_failed"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &summary); err != nil {
		t.Fatalf("driver summary is not JSON: %v", err)
	}
	if summary.Failed != 0 || summary.Passed < 50 {
		t.Fatalf("driver: %d checks passed, %d failed", summary.Passed, summary.Failed)
	}
}
