// Package testenv finds what tests need from the machine they run on: the
// shared public data set beside the repository, a PostgreSQL server and a
// Chromium browser. Outside CI a missing piece skips the test with a message
// saying what is missing; with CI set it fails the test instead, so that CI
// never passes by skipping.
package testenv

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// InCI reports whether the CI environment variable is set.
func InCI() bool { return os.Getenv("CI") != "" }

func missing(tb testing.TB, what string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("%s is required when CI is set", what)
	}
	tb.Skipf("skipping: %s", what)
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// SharedData returns the path of the shared public data set (BULWARK_SHARED_DATA,
// or ../shared/data beside the repository). Tests over it skip when it is
// absent: the project's own fixtures live in testdata/.
func SharedData(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("BULWARK_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join(RepoRoot(tb), "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		tb.Skipf("skipping: shared data set not found at %s (set BULWARK_SHARED_DATA)", dir)
	}
	return dir
}

// PostgresDSN returns the DSN of the PostgreSQL server for tests
// (BULWARK_TEST_POSTGRES_DSN, default the local server's database test).
// When no server answers the test skips, or fails in CI.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("BULWARK_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://127.0.0.1:5432/test?sslmode=disable"
	}
	if err := pingPostgres(dsn); err != nil {
		missing(tb, "PostgreSQL at "+dsn+" ("+err.Error()+")")
	}
	return dsn
}

func pingPostgres(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Chromium returns the path of a Chromium binary for browser tests.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{os.Getenv("BULWARK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(tb, "Chromium (install Debian's chromium package)")
	return ""
}

// BenchAssets is the city size of the scale benchmarks:
// BULWARK_BENCH_ASSETS (e.g. 1000000), default 20,000 so that a plain
// -bench run stays quick.
func BenchAssets(tb testing.TB) int {
	s := os.Getenv("BULWARK_BENCH_ASSETS")
	if s == "" {
		return 20_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("BULWARK_BENCH_ASSETS=%q: want a positive integer", s)
	}
	return n
}
