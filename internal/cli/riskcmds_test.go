package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRisksCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	mustRun(t, "--db", db, "import", "testdata/city.yaml")
	reg := filepath.Join(dir, "register.yaml")
	os.WriteFile(reg, []byte(`id: water-ransomware
title: Ransomware stops the water SCADA
techniques: [T0866]
services: [water-supply]
likelihood: 3
impact: 5
frequency: {min: 0.5, most_likely: 0.5, max: 0.5}
loss: {min: 1000, most_likely: 1000, max: 1000}
---
title: Flood in the pump station
likelihood: 1
impact: 4
`), 0o600)
	if code, _, errOut := run(t, "", "--db", db, "risks", "add", reg); code != exitInvalid || !strings.Contains(errOut, "--owner") {
		t.Fatalf("add without --owner: exit %d %s", code, errOut)
	}
	out := mustRun(t, "--db", db, "risks", "add", reg, "--owner", "water")
	if !strings.Contains(out, "water-ransomware") || !strings.Contains(out, "15 (high)") {
		t.Fatalf("add: %s", out)
	}
	var list []struct {
		ID    string
		Score int
		Open  bool
	}
	if err := json.Unmarshal([]byte(mustRun(t, "--db", db, "risks", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "water-ransomware" || list[0].Score != 15 || !list[0].Open {
		t.Fatalf("list: %+v", list)
	}
	mustRun(t, "--db", db, "risks", "set", "water-ransomware", "--likelihood", "2", "--status", "treating", "--note", "segmented")
	if code, _, errOut := run(t, "", "--db", db, "risks", "set", "water-ransomware", "--likelihood", "9"); code != exitInvalid || !strings.Contains(errOut, "likelihood") {
		t.Fatalf("likelihood 9: exit %d %s", code, errOut)
	}
	mustRun(t, "--db", db, "risks", "accept", "water-ransomware", "--by", "Director", "--until", "2030-01-01")
	out = mustRun(t, "--db", db, "risks", "history", "water-ransomware")
	if strings.Count(out, "\n") != 4 || !strings.Contains(out, "segmented") {
		t.Errorf("history: %s", out)
	}
	// The accepted risk is not open: the analysis covers the other, which
	// is not quantified.
	out = mustRun(t, "--db", db, "risks", "analyze", "--trials", "1000")
	if !strings.Contains(out, "of 0 quantified open risks") || !strings.Contains(out, "not quantified") {
		t.Errorf("analyze: %s", out)
	}
	if out := mustRun(t, "--db", db, "risks", "techniques"); !strings.Contains(out, "T0866") {
		t.Errorf("techniques: %.200s", out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("title: x\nlikelihood: 3\nimpact: 3\ntechniques: [T0999]\n"), 0o600)
	if code, _, errOut := run(t, "", "--db", db, "risks", "add", bad, "--owner", "water"); code != exitInvalid || !strings.Contains(errOut, "T0999") {
		t.Errorf("unknown technique: exit %d %s", code, errOut)
	}
}
