package testenv

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"testing"
)

// PostgresSchemaDSN creates a fresh schema on the test server and returns
// a DSN whose search_path selects it; the schema is dropped at cleanup, so
// parallel tests and reruns never collide. Like PostgresDSN it skips (or
// fails in CI) when no server answers.
func PostgresSchemaDSN(tb testing.TB) string {
	tb.Helper()
	base := PostgresDSN(tb)
	schema := "bw_" + hex.EncodeToString([]byte(rand.Text()[:6]))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
