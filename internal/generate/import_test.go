package generate

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/sqlstore"
)

// TestImportIntoStore checks that generated output passes the city-model
// validator and imports into a real SQLite store with every entity and
// dependency.
func TestImportIntoStore(t *testing.T) {
	// Under the race detector a smaller city of the same shape keeps the
	// test fast.
	opt := Options{Assets: DemoAssets, Seed: DemoSeed, Name: DefaultName}
	if raceEnabled || testing.Short() {
		opt.Assets = 2000
	}
	yaml := encode(t, withOptions(opt))
	var want bulwark.Counts
	var deps int64
	err := Generate(opt, func(c *bulwark.City) error {
		want.Organizations += int64(len(c.Organizations))
		want.Services += int64(len(c.Services))
		want.Systems += int64(len(c.Systems))
		want.Assets += int64(len(c.Assets))
		for _, s := range c.Services {
			deps += int64(len(s.DependsOn))
		}
		for _, s := range c.Systems {
			deps += int64(len(s.DependsOn))
		}
		for _, a := range c.Assets {
			want.AssetUnits += a.Count
			deps += int64(len(a.DependsOn)) + 1 // + the system -> asset edge
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want.Dependencies = deps

	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	db, err := sqlstore.Open(ctx, ":memory:", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := citymodel.Source{Name: "generated.yaml", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(yaml)), nil
	}}
	res, err := citymodel.Import(ctx, db, []citymodel.Source{src}, citymodel.ImportOptions{})
	if err != nil {
		t.Fatalf("import generated city: %v", err)
	}
	if res.Assets != want.Assets || res.Systems != want.Systems || res.Services != want.Services {
		t.Errorf("import result %+v, want %+v", res, want)
	}
	got, err := db.CountEntities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("stored counts %+v, want %+v", got, want)
	}
}
