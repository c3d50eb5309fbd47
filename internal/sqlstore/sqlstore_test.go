package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
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

func openPostgres(t testing.TB) *DB {
	t.Helper()
	dsn := testenv.PostgresSchemaDSN(t)
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

// A graph cached by one handle is refreshed when another handle (another
// process, say the CLI beside a running server) changes the city.
func TestGraphCacheSeesOtherWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	open := func() *DB {
		db, err := Open(context.Background(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	importGenerated(t, b, 100)
	v1, err := a.CityVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g1, err := a.LoadGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	city := &bulwark.City{Assets: []bulwark.Asset{{ID: "late-asset", Name: "Late", Owner: g1.Nodes[0].Owner, Kind: "camera"}}}
	tx, err := b.BeginImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PutAssets(ctx, city.Assets); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	v2, err := a.CityVersion(ctx)
	if err != nil || v2 == v1 {
		t.Errorf("city version %d -> %d (%v), want a change", v1, v2, err)
	}
	g2, err := a.LoadGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(g2.Nodes) != len(g1.Nodes)+1 || g2.Nodes[len(g2.Nodes)-1].ID != "late-asset" {
		t.Errorf("after another handle's import: %d nodes (was %d), last %q", len(g2.Nodes), len(g1.Nodes), g2.Nodes[len(g2.Nodes)-1].ID)
	}
	// Callers get copies: changing one does not change the next.
	g2.Nodes[0].Name = "scribbled"
	g3, err := a.LoadGraph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g3.Nodes[0].Name == "scribbled" {
		t.Error("LoadGraph hands out the cached graph itself")
	}
}

func TestDU04SQLiteDurability(t *testing.T) {
	db := openSQLite(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := db.w.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
	// A database forced out of WAL mode is refused.
	if _, err := db.w.Exec("PRAGMA journal_mode=DELETE"); err != nil {
		t.Fatal(err)
	}
	if err := db.checkSQLiteDurability(context.Background(), false); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("check after journal_mode=DELETE: %v, want EUNAVAILABLE", err)
	}
	if _, err := db.w.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"); err != nil {
		t.Fatal(err)
	}
	if err := db.checkSQLiteDurability(context.Background(), false); bulwark.ErrorCode(err) != bulwark.EUNAVAILABLE {
		t.Errorf("check after synchronous=NORMAL: %v, want EUNAVAILABLE", err)
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{"", "a?b.db", "postgres://127.0.0.1:1/none?connect_timeout=1"} {
		db, err := Open(context.Background(), dsn, nil)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if msg := bulwark.ErrorMessage(err); msg == "internal error" || strings.Contains(msg, "SELECT") {
			t.Errorf("Open(%q): unsafe or unhelpful message %q", dsn, msg)
		}
	}
}

func TestMemoryStore(t *testing.T) {
	db, err := Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stats := importGenerated(t, db, 50)
	if stats.Created < 50 {
		t.Errorf("created %d", stats.Created)
	}
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	if g, err := db.LoadGraph(ctx); err != nil || len(g.Nodes) < 50 {
		t.Errorf("LoadGraph: %v", err)
	}
}

// LG-01 (store side): the chain the store keeps verifies, and an edit made
// behind the store's back (directly in the database) is detected.
func TestLG01AuditTamperDetected(t *testing.T) {
	db := openSQLite(t)
	importGenerated(t, db, 10)
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	for i := range 5 {
		if err := db.AppendAudit(ctx, bulwark.AuditEntry{Action: "test.event", Detail: strings.Repeat("x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		attack string
	}{
		{"edit detail", "UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 3"},
		{"delete entry", "DELETE FROM audit_log WHERE seq = 2"},
		{"rehash one entry", "UPDATE audit_log SET actor = 'someone else', hash = prev WHERE seq = 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := db.w.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			entries, err := db.ListAudit(ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if n, problem := bulwark.VerifyAudit(entries, "", 0); problem != "" || n != 6 {
				t.Fatalf("intact log: %d verified, %q", n, problem)
			}
			if _, err := tx.Exec(tc.attack); err != nil {
				t.Fatal(err)
			}
			// Read the tampered rows inside the attacking transaction.
			rows, err := tx.Query("SELECT seq, at, org, actor, action, target, outcome, detail, prev, hash FROM audit_log ORDER BY seq")
			if err != nil {
				t.Fatal(err)
			}
			var tampered []bulwark.AuditEntry
			for rows.Next() {
				var e bulwark.AuditEntry
				var at int64
				if err := rows.Scan(&e.Seq, &at, &e.Org, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Detail, &e.Prev, &e.Hash); err != nil {
					t.Fatal(err)
				}
				e.At = fromMicros(at)
				tampered = append(tampered, e)
			}
			rows.Close()
			if _, problem := bulwark.VerifyAudit(tampered, "", 0); problem == "" {
				t.Errorf("%s went undetected", tc.name)
			}
		})
	}
}
