package citymodel

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

// backends lists the databases the integration tests run on. PostgreSQL
// is skipped when no server answers (and required in CI). "memory" is
// SQLite in memory, whose one connection serves reads and writes alike.
var backends = []string{"sqlite", "memory", "postgres"}

// forEachBackend runs fn as a subtest per database; fn gets an opener of
// fresh, empty stores with a System-principal context.
func forEachBackend(t *testing.T, fn func(t *testing.T, open func(t *testing.T) (*sqlstore.DB, context.Context))) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			fn(t, func(t *testing.T) (*sqlstore.DB, context.Context) { return openBackend(t, b) })
		})
	}
}

func openBackend(t *testing.T, backend string) (*sqlstore.DB, context.Context) {
	t.Helper()
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	dsn := filepath.Join(t.TempDir(), "b.db")
	switch backend {
	case "postgres":
		dsn = testenv.PostgresSchemaDSN(t)
	case "memory":
		dsn = ":memory:"
	}
	db, err := sqlstore.Open(ctx, dsn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, ctx
}

func counts(t *testing.T, ctx context.Context, st bulwark.CityStore) bulwark.Counts {
	t.Helper()
	c, err := st.CountEntities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSQLStoreImportTwice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.DB, context.Context)) {
		db, ctx := open(t)
		srcs := []Source{FileSource("testdata/city.yaml")}
		res, err := Import(ctx, db, srcs, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stats.Created != 16 || res.Stats.Updated != 0 {
			t.Errorf("first import stats %+v", res.Stats)
		}
		c := counts(t, ctx, db)
		if c.Organizations != 3 || c.Services != 2 || c.Systems != 2 || c.Assets != 9 || c.Dependencies != 13 {
			t.Errorf("counts after import %+v", c)
		}
		res, err = Import(ctx, db, srcs, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s := res.Stats; s.Created != 0 || s.Updated != 0 || s.Unchanged != 16 {
			t.Errorf("second import stats %+v, want all 16 unchanged", res.Stats)
		}
	})
}

func TestSQLStoreChangedFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.DB, context.Context)) {
		db, ctx := open(t)
		orig, err := os.ReadFile("testdata/city.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Import(ctx, db, []Source{src("city.yaml", string(orig))}, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(orig), "name: Pump station 2 PLC", "name: Pump station 2 PLC (replaced 2026)", 1)
		changed = strings.Replace(changed, "population: 510000", "population: 515000", 1)
		res, err := Import(ctx, db, []Source{src("city.yaml", changed)}, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s := res.Stats; s.Created != 0 || s.Updated != 2 || s.Unchanged != 14 {
			t.Errorf("stats %+v, want 2 updated, 14 unchanged", res.Stats)
		}
		a, err := db.FindAsset(ctx, "plc-0002")
		if err != nil || a.Name != "Pump station 2 PLC (replaced 2026)" {
			t.Errorf("plc-0002 = %+v, %v", a, err)
		}
	})
}

func TestSQLStoreBadFileStoresNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.DB, context.Context)) {
		db, ctx := open(t)
		if _, err := Import(ctx, db, []Source{FileSource("testdata/city.yaml")}, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		before := exportString(t, &ctxStore{db, ctx})
		bad := []Source{
			src("new.yaml", "assets:\n  - {id: new-1, name: New, owner: city-water}\n"),
			src("bad.yaml", "assets:\n  - {id: new-2, name: New, owner: city-water, depends_on: [{on: ghost}]}\n  - {id: new-1, name: Dup, owner: city-water}\n"),
		}
		_, err := Import(ctx, db, bad, ImportOptions{})
		checkProblems(t, err, []want{
			{"bad.yaml", 2, 65, "assets[0].depends_on[0].on", `unknown system or asset "ghost"`},
			{"bad.yaml", 3, 10, "assets[1].id", `duplicate id "new-1": already used by the asset at new.yaml:2`},
		})
		if after := exportString(t, &ctxStore{db, ctx}); after != before {
			t.Error("store changed by a failed import")
		}
		// A failure while writing (here: a reference the store rejects at
		// commit is simulated by canceling the context mid-import) rolls back.
		cctx, cancel := context.WithCancel(ctx)
		n := 0
		_, err = Import(cctx, db, []Source{src("c.yaml", "assets:\n  - {id: new-3, name: New, owner: city-water}\n")}, ImportOptions{Progress: func(done, total int64) {
			if n++; n == 2 {
				cancel() // after the validation pass
			}
		}})
		if err == nil {
			t.Fatal("canceled import succeeded")
		}
		if after := exportString(t, &ctxStore{db, ctx}); after != before {
			t.Error("store changed by a canceled import")
		}
	})
}

// TestSQLStoreRoundTrip: export of a stored city re-imports into an empty
// store to the same state, byte for byte.
func TestSQLStoreRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.DB, context.Context)) {
		db, ctx := open(t)
		if _, err := Import(ctx, db, []Source{FileSource("testdata/city.yaml")}, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		st := &ctxStore{db, ctx}
		out := exportString(t, st)
		golden, err := os.ReadFile("testdata/city.golden")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(golden), out); diff != "" {
			t.Errorf("export from SQLite differs from the golden file (-want +got):\n%s", diff)
		}
		db2, ctx2 := open(t)
		res, err := Import(ctx2, db2, []Source{src("export.yaml", out)}, ImportOptions{})
		if err != nil || res.Stats.Created != 16 {
			t.Fatalf("re-import: %+v %v", res, err)
		}
		if again := exportString(t, &ctxStore{db2, ctx2}); again != out {
			t.Errorf("export after re-import differs:\n%s", cmp.Diff(out, again))
		}
	})
}

// ctxStore binds a context to a store for helpers that take none: every
// call uses the bound context (the System principal).
type ctxStore struct {
	bulwark.CityStore
	ctx context.Context
}

func (s *ctxStore) ListOrganizations(_ context.Context, o bulwark.ListOptions) (bulwark.Page[bulwark.Organization], error) {
	return s.CityStore.ListOrganizations(s.ctx, o)
}
func (s *ctxStore) ListServices(_ context.Context, o bulwark.ListOptions) (bulwark.Page[bulwark.Service], error) {
	return s.CityStore.ListServices(s.ctx, o)
}
func (s *ctxStore) ListSystems(_ context.Context, o bulwark.ListOptions) (bulwark.Page[bulwark.System], error) {
	return s.CityStore.ListSystems(s.ctx, o)
}
func (s *ctxStore) ListAssets(_ context.Context, o bulwark.ListOptions) (bulwark.Page[bulwark.Asset], error) {
	return s.CityStore.ListAssets(s.ctx, o)
}

// TestSQLStoreExportOrder: export sorts ids bytewise on every database
// (collations differ on case and punctuation), so output is the same.
func TestSQLStoreExportOrder(t *testing.T) {
	ids := []string{"b", "B", "a-1", "a.1", "a_1", "a:1", "A1", "a1", "Z", "0x", "z-"}
	var b strings.Builder
	b.WriteString("organizations: [{id: o, name: O, purview: city}]\nassets:\n")
	for _, id := range ids {
		b.WriteString("  - {id: '" + id + "', name: N, owner: o}\n")
	}
	var outputs []string
	forEachBackend(t, func(t *testing.T, open func(t *testing.T) (*sqlstore.DB, context.Context)) {
		db, ctx := open(t)
		if _, err := Import(ctx, db, []Source{src("ids.yaml", b.String())}, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		out := exportString(t, &ctxStore{db, ctx})
		var got []string
		for _, line := range strings.Split(out, "\n") {
			if id, ok := strings.CutPrefix(line, "  - id: "); ok && id != "o" {
				got = append(got, strings.Trim(id, `"`))
			}
		}
		want := slices.Sorted(slices.Values(ids))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("export order (-bytewise +got):\n%s", diff)
		}
		outputs = append(outputs, out)
	})
	if len(outputs) == 2 && outputs[0] != outputs[1] {
		t.Error("SQLite and PostgreSQL exports differ")
	}
}
