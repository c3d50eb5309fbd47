package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"

	"bulwark"
	"bulwark/internal/storetest"
	"bulwark/internal/testenv"
)

// openSQLite opens a fresh SQLite store in a temporary file.
func openSQLite(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "bulwark.db"), nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresSchemaDSN creates a fresh schema on the test server and returns
// a DSN whose search_path selects it; the schema is dropped at cleanup, so
// parallel tests and reruns never collide.
func postgresSchemaDSN(t testing.TB) string {
	t.Helper()
	base := testenv.PostgresDSN(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "bw_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openPostgres(t testing.TB) *DB {
	t.Helper()
	dsn := postgresSchemaDSN(t)
	db, err := Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bulwark.Store { return openSQLite(t) })
}

func TestPostgresStore(t *testing.T) {
	testenv.PostgresDSN(t) // skip the whole suite early when there is no server
	storetest.Run(t, func(t *testing.T) bulwark.Store { return openPostgres(t) })
}
