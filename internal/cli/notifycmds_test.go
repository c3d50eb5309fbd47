package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/notify"
	"bulwark/internal/sqlstore"
)

func TestNotifyCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte(`version: 1
revision: r7
name: Test plan
rules:
  - id: desk
    audience: internal
    recipients: [{email: desk@water.example, org: water}]
    channel: email
    template: internal
    deadline: 1h
  - id: cert
    audience: cert
    min_severity: high
    recipients: [{url: "https://cert.example/hook", secret: cert}]
    channel: webhook
    template: cert
`), 0o600)
	out := mustRun(t, "notify", "matrix", "validate", plan)
	if !strings.Contains(out, "ok — 2 rules, webhook secrets: cert") {
		t.Errorf("validate: %s", out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nrules:\n  - id: x\n    audience: nobody\n    recipients: [{org: \"@incident\"}]\n    channel: email\n    template: internal\n"), 0o600)
	if code, _, errOut := run(t, "", "notify", "matrix", "validate", plan, bad); code != exitInvalid || !strings.Contains(errOut, "bad.yaml:4:") || !strings.Contains(errOut, "1 of 2 matrix files") {
		t.Errorf("validate bad: exit %d %s", code, errOut)
	}
	out = mustRun(t, "notify", "matrix", "show")
	if !strings.Contains(out, "own-organization") || !strings.Contains(out, "purview state") || !strings.Contains(out, "city-security-office") {
		t.Errorf("show: %s", out)
	}
	if out := mustRun(t, "notify", "matrix", "show", "--yaml"); !strings.HasPrefix(out, "# Bulwark's bundled notification matrix") {
		t.Errorf("show --yaml: %.80s", out)
	}
	var doc notify.MatrixDoc
	if err := json.Unmarshal([]byte(mustRun(t, "notify", "matrix", "show", plan, "--json")), &doc); err != nil || doc.Revision != "r7" || doc.Rules[0].Deadline != "1h" {
		t.Errorf("show --json: %+v %v", doc, err)
	}
	if out := mustRun(t, "notify", "matrix", "show", "--template", "public"); !strings.Contains(out, `{{define "body"}}`) {
		t.Errorf("template: %s", out)
	}

	// Raise an event through the service, as the incident service does.
	st, err := sqlstore.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := notify.ParseMatrix(strings.NewReader(mustRun(t, "notify", "matrix", "show", plan, "--yaml")), "plan.yaml")
	svc := notify.New(st, m, notify.Config{}, nil)
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	res, err := svc.Notify(ctx, notify.Event{Kind: notify.IncidentCreated, IncidentID: "inc-1", OrgID: "water", Severity: 3, Title: "Pump control lost", At: time.Now()})
	st.Close()
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("notify: %v %v", res, err)
	}
	var list []bulwark.Notification
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "notify", "list", "--json")), &list); err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	out = mustRun(t, "--db", db, "notify", "list", "--audience", "cert")
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "https://cert.example/hook") {
		t.Errorf("list --audience cert: %s", out)
	}
	var desk string
	for _, n := range list {
		if n.Rule == "desk" {
			desk = n.ID
		}
	}
	out = mustRun(t, "--db", db, "notify", "show", desk)
	if !strings.Contains(out, "Subject: [HIGH] New incident: Pump control lost (inc-1)") || !strings.Contains(out, "pending") {
		t.Errorf("show: %s", out)
	}
	if code, _, errOut := run(t, "", "--db", db, "notify", "ack", desk); code != exitInvalid || !strings.Contains(errOut, "--by") {
		t.Errorf("ack without --by: %d %s", code, errOut)
	}
	if out := mustRun(t, "--db", db, "notify", "ack", desk, "--by", "Pat (phone)"); !strings.Contains(out, "acknowledged by cli: Pat (phone)") {
		t.Errorf("ack: %s", out)
	}
	if code, _, errOut := run(t, "", "--db", db, "notify", "ack", desk, "--by", "again"); code == 0 || !strings.Contains(errOut, "already acknowledged") {
		t.Errorf("ack twice: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "--db", db, "notify", "show", "ntf-missing"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("show missing: %d %s", code, errOut)
	}
	if out := mustRun(t, "--db", db, "notify", "list", "--status", "acknowledged", "--json"); strings.Count(out, `"id"`) != 1 {
		t.Errorf("list acknowledged: %s", out)
	}
}
