package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBodyLogPath(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	pg := func(dsn string) string { return bodyLogPath("postgres", dsn, nil) }
	for _, tc := range []struct {
		name, dialect, dsn, want string
	}{
		{"sqlite file", "sqlite", "city.db", "city.db.taxii-bodies"},
		{"sqlite in memory", "sqlite", ":memory:", ""},
		{"unknown dialect", "mysql", "x", ""},
	} {
		if got := bodyLogPath(tc.dialect, tc.dsn, nil); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	a := pg("postgres://bulwark:secret1@db.example:5432/city?sslmode=require")
	if a == "" || strings.Contains(a, "secret1") || !strings.HasPrefix(a, cache) {
		t.Fatalf("postgres path %q", a)
	}
	// The credentials do not name the file; the database does.
	if b := pg("postgres://bulwark:rotated@db.example:5432/city?sslmode=require"); b != a {
		t.Errorf("a new password moves the log: %q, %q", a, b)
	}
	if b := pg("postgres://bulwark:secret1@db.example:5432/other?sslmode=require"); b == a {
		t.Error("two databases share one log path")
	}
	st, err := os.Stat(filepath.Dir(a))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache directory: %v %v", st.Mode(), err)
	}
}
