package notify_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/notify"
)

func TestLG04_BuildKeepsSecretsOutOfLogs(t *testing.T) {
	st := openStore(t, false)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	os.WriteFile(path, []byte(`version: 1
rules:
  - id: hook
    audience: isac
    recipients: [{url: "https://isac.example/h", secret: Isac_Main}]
    channel: webhook
    template: isac
`), 0o600)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	s := notify.Settings{MatrixFile: path, PublicURL: "https://bulwark.example", SMTP: notify.SMTPConfig{Host: "mail.example", From: "b@city.example"}}
	_, err := notify.Build(st, s, log)
	if err == nil || !strings.Contains(err.Error(), "BULWARK_WEBHOOK_SECRET_ISAC_MAIN") {
		t.Fatalf("missing secret: %v", err)
	}
	s.SecretsFromEnv([]string{"BULWARK_WEBHOOK_SECRET_ISAC_MAIN=canary-webhook-secret", "BULWARK_SMTP_PASSWORD=canary-smtp-password",
		"BULWARK_NOTIFY_ACK_KEY=canary-ack-key-canary-ack-key-canary", "PATH=/bin", "BULWARK_WEBHOOK_SECRET_=x"})
	if s.SMTP.Password.Reveal() != "canary-smtp-password" || len(s.Webhook.Secrets) != 1 {
		t.Fatalf("secrets from the environment: %d webhook secrets", len(s.Webhook.Secrets))
	}
	s.SMTP.Username = "bulwark"
	svc, err := notify.Build(st, s, log)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Matrix().Rule("hook") == nil {
		t.Error("matrix not loaded")
	}
	// LG-04: no secret reaches the log.
	for _, canary := range []string{"canary-webhook-secret", "canary-smtp-password", "canary-ack-key"} {
		if strings.Contains(logs.String(), canary) {
			t.Errorf("log holds %s: %s", canary, logs.String())
		}
	}
	for _, bad := range []notify.Settings{
		{MatrixFile: filepath.Join(dir, "missing.yaml")},
		{AckKey: "short"},
		{PublicURL: "ftp://x"},
		{SMTP: notify.SMTPConfig{Host: "mail.example", From: "not-an-address"}},
	} {
		if _, err := notify.Build(st, bad, log); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
