package bulwark

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLevelsAndHighWaterMark(t *testing.T) {
	for _, s := range []string{"", "low", "moderate", "high"} {
		l, ok := ParseLevel(s)
		if !ok || l.String() != s {
			t.Errorf("ParseLevel(%q) = %v, %v", s, l, ok)
		}
	}
	if _, ok := ParseLevel("HIGH"); ok {
		t.Error("levels are lower-case only")
	}
	a := Category{LevelLow, LevelHigh, LevelNone}
	b := Category{LevelModerate, LevelLow, LevelLow}
	if got, want := a.Max(b), (Category{LevelModerate, LevelHigh, LevelLow}); got != want {
		t.Errorf("Max = %+v, want %+v", got, want)
	}
	if a.Overall() != LevelHigh || (Category{}).Overall() != LevelNone {
		t.Error("Overall is the highest objective")
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"water-supply": true, "plc.0001": true, "a": true, "x:y_z": true, "9lives": true,
		"": false, "-lead": false, ".dot": false, "has space": false, "semi;colon": false, "ünï": false,
		strings.Repeat("a", MaxIDLen): true, strings.Repeat("a", MaxIDLen+1): false,
	} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, !want, want)
		}
	}
}

func TestSectorsAndKinds(t *testing.T) {
	if len(Sectors) != 16 {
		t.Fatalf("CISA lists 16 critical-infrastructure sectors, have %d", len(Sectors))
	}
	if !ValidSector(SectorWater) || ValidSector("water") {
		t.Error("ValidSector accepts only the listed names")
	}
	for _, k := range []NodeKind{KindService, KindSystem, KindAsset} {
		if got, ok := ParseNodeKind(k.String()); !ok || got != k {
			t.Errorf("ParseNodeKind(%q) = %v, %v", k, got, ok)
		}
	}
	if _, ok := ParseNodeKind(""); ok {
		t.Error("empty kind accepted")
	}
}

func TestErrorVocabulary(t *testing.T) {
	e := Errorf(ENOTFOUND, "asset %q not found", "x")
	wrapped := fmt.Errorf("load: %w", e)
	if ErrorCode(wrapped) != ENOTFOUND || ErrorMessage(wrapped) != `asset "x" not found` {
		t.Errorf("code/message lost through wrapping: %q %q", ErrorCode(wrapped), ErrorMessage(wrapped))
	}
	plain := errors.New("pq: relation \"users\" does not exist")
	if ErrorCode(plain) != EINTERNAL || ErrorMessage(plain) != "internal error" {
		t.Error("a non-*Error must never reach users in detail")
	}
	if ErrorCode(nil) != "" || ErrorMessage(nil) != "" {
		t.Error("nil error has no code")
	}
	multi := &Error{Code: EINVALID, Message: "city model has 2 problems", Details: []Problem{
		{File: "city.yaml", Line: 3, Column: 5, Field: "services[0].owner", Message: "unknown organization"},
		{Message: "no file"},
	}}
	want := "city model has 2 problems\n  city.yaml:3:5: services[0].owner: unknown organization\n  no file"
	if multi.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", multi.Error(), want)
	}
	if len(ErrorDetails(fmt.Errorf("x: %w", multi))) != 2 {
		t.Error("details lost through wrapping")
	}
}

func chain(n int) []AuditEntry {
	var out []AuditEntry
	prev := ""
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := AuditEntry{Seq: int64(i), At: at.Add(time.Duration(i) * time.Second), Org: "city", Actor: "ana@example.org",
			Action: "city.import", Target: fmt.Sprint("file-", i), Outcome: "ok", Detail: "created 3", Prev: prev}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

// TestLG01AuditChainTamperEvidence edits, deletes, reorders and re-hashes
// entries of a chain: every attack except a full re-hash of the tail must be
// caught by VerifyAudit, and a re-hash changes the head (which callers pin).
func TestLG01AuditChainTamperEvidence(t *testing.T) {
	good := chain(50)
	if n, problem := VerifyAudit(good, "", 0); problem != "" || n != 50 {
		t.Fatalf("intact chain: %d, %q", n, problem)
	}
	detected := 0
	attacks := 0
	for i := range good {
		for _, attack := range []func([]AuditEntry) []AuditEntry{
			func(c []AuditEntry) []AuditEntry { c[i].Actor += "x"; return c },
			func(c []AuditEntry) []AuditEntry { c[i].At = c[i].At.Add(time.Nanosecond); return c },
			func(c []AuditEntry) []AuditEntry { return append(c[:i:i], c[i+1:]...) },
			func(c []AuditEntry) []AuditEntry {
				if i+1 < len(c) {
					c[i], c[i+1] = c[i+1], c[i]
				} else {
					c[i].Outcome = "denied"
				}
				return c
			},
			func(c []AuditEntry) []AuditEntry {
				c[i].Detail = c[i].Detail[:len(c[i].Detail)-1]
				c[i].Target += "3"
				return c
			},
		} {
			if i == len(good)-1 {
				// Deleting the newest entry leaves a valid shorter chain; only
				// a pinned head detects it (the CLI's audit verify --head).
				c := attack(append([]AuditEntry(nil), good...))
				if len(c) < len(good) {
					continue
				}
			}
			attacks++
			c := attack(append([]AuditEntry(nil), good...))
			if _, problem := VerifyAudit(c, "", 0); problem != "" {
				detected++
			}
		}
	}
	if detected != attacks {
		t.Errorf("detected %d of %d tampering attacks", detected, attacks)
	}
	// Length-prefixing: moving text between fields changes the hash.
	a := AuditEntry{Actor: "ab", Action: "c"}
	b := AuditEntry{Actor: "a", Action: "bc"}
	if a.ComputeHash() == b.ComputeHash() {
		t.Error("field boundaries are not part of the hash")
	}
}

// idSpec is the identifier rule as a regular expression: the documented
// definition ValidID implements without one.
var idSpec = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

func FuzzValidID(f *testing.F) {
	for _, s := range []string{"plc-1", "-x", "a:b", "a b", "\xff", "é", "a\n", strings.Repeat("x", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := idSpec.MatchString(id) && len(id) <= MaxIDLen
		if ValidID(id) != want {
			t.Fatalf("ValidID(%q) = %v, the rule says %v", id, !want, want)
		}
	})
}
