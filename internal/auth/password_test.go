package auth

import (
	"strings"
	"testing"
	"time"
)

// cheap are argon2id parameters fast enough for tests.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestPasswordRoundTrip(t *testing.T) {
	phc, err := HashPasswordParams("correct horse battery staple", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("PHC string = %q, want $argon2id$v=19$m=64,t=1,p=1$ prefix", phc)
	}
	if !VerifyPassword(phc, "correct horse battery staple") {
		t.Error("right password rejected")
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		if VerifyPassword(phc, wrong) {
			t.Errorf("wrong password %q accepted", wrong)
		}
	}
	other, _ := HashPasswordParams("correct horse battery staple", cheap)
	if other == phc {
		t.Error("two hashes of one password are equal: salt is not random")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good, _ := HashPasswordParams("pw", cheap)
	parts := strings.Split(good, "$")
	for name, phc := range map[string]string{
		"empty":         "",
		"plaintext":     "pw",
		"argon2i":       strings.Replace(good, "argon2id", "argon2i", 1),
		"bcrypt":        "$2a$10$abcdefghijklmnopqrstuv",
		"wrong version": strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":   strings.Replace(good, "m=64", "m=4294967295", 1),
		"huge time":     strings.Replace(good, "t=1", "t=100000", 1),
		"zero threads":  strings.Replace(good, "p=1", "p=0", 1),
		"bad salt":      "$" + strings.Join([]string{parts[1], parts[2], parts[3], "!!!", parts[5]}, "$"),
		"short key":     "$" + strings.Join([]string{parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra field":   good + "$x",
		"unknown param": strings.Replace(good, "p=1", "p=1,x=2", 1),
	} {
		if VerifyPassword(phc, "pw") {
			t.Errorf("%s: VerifyPassword(%q) = true", name, phc)
		}
	}
	if VerifyPassword(good, strings.Repeat("x", MaxPasswordLen+1)) {
		t.Error("over-long password accepted")
	}
	if _, err := HashPasswordParams(strings.Repeat("x", MaxPasswordLen+1), cheap); err == nil {
		t.Error("over-long password hashed")
	}
}

func TestDefaultParamsHash(t *testing.T) {
	if testing.Short() {
		t.Skip("default argon2id parameters are slow")
	}
	phc, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") || !VerifyPassword(phc, "pw") {
		t.Errorf("HashPassword = %q", phc)
	}
}

// TestAU04_TokensUnique checks 10^4 tokens: well-formed, unique, 256 bits,
// and stored only as the SHA-256 of the secret.
func TestAU04_TokensUnique(t *testing.T) {
	seen := make(map[string]bool, 10000)
	for range 10000 {
		secret, hash, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if !wellFormedToken(secret) {
			t.Fatalf("NewToken made a malformed token %q", secret)
		}
		if seen[secret] {
			t.Fatalf("duplicate token %q", secret)
		}
		seen[secret] = true
		if hash != HashSecret(secret) || len(hash) != 64 || strings.Contains(hash, secret[len(TokenPrefix):]) {
			t.Fatalf("hash %q is not the SHA-256 hex of the secret", hash)
		}
		if n := len(secret) - len(TokenPrefix); n*5 < 256 {
			t.Fatalf("token carries %d bits, want >= 256", n*5)
		}
	}
}

func TestWellFormedToken(t *testing.T) {
	secret, _, _ := NewToken()
	for _, s := range []string{"", "null", "1", "bwk_", "bwk_" + strings.Repeat("A", 52), secret[:len(secret)-1], secret + "a",
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIn0.", "Bwk" + secret[3:]} {
		if wellFormedToken(s) {
			t.Errorf("wellFormedToken(%q) = true", s)
		}
	}
}

func TestLimiterSlidingWindow(t *testing.T) {
	l := newLimiter(3, time.Minute)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if b, _ := l.blocked("k", t0.Add(time.Duration(i)*time.Second)); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("k", t0.Add(time.Duration(i)*time.Second))
	}
	b, after := l.blocked("k", t0.Add(10*time.Second))
	if !b || after != 50*time.Second {
		t.Errorf("blocked = %v, retry after %v; want true, 50s", b, after)
	}
	if b, _ := l.blocked("other", t0); b {
		t.Error("unrelated key blocked")
	}
	// The first failure leaves the window at t0+60s.
	if b, _ := l.blocked("k", t0.Add(60*time.Second)); b {
		t.Error("still blocked after the oldest failure left the window")
	}
	l.reset("k")
	if b, _ := l.blocked("k", t0.Add(10*time.Second)); b {
		t.Error("blocked after reset")
	}
}

func TestLimiterBoundedKeys(t *testing.T) {
	l := newLimiter(2, time.Hour)
	l.maxKeys = 100
	t0 := time.Now()
	for i := range 1000 {
		l.fail(string(rune('a'+i%26))+time.Duration(i).String(), t0)
	}
	if n := len(l.fails); n > 100 {
		t.Errorf("limiter holds %d keys, cap 100", n)
	}
}
