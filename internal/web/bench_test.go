package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"bulwark"
	"bulwark/internal/feed"
	"bulwark/internal/generate"
	"bulwark/internal/sqlstore"
	"bulwark/internal/vulns"
	"bulwark/internal/web"
)

var demoOnce struct {
	sync.Once
	h   http.Handler
	err error
}

// demoHandler is the web handler over the demo city (10,000 assets) in a
// SQLite file, with the bundled feed snapshot matched against it (real
// findings), built once for all benchmarks.
func demoHandler(b *testing.B) http.Handler {
	b.Helper()
	demoOnce.Do(func() {
		ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
		st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "demo.db"), nil)
		if err != nil {
			demoOnce.err = err
			return
		}
		tx, err := st.BeginImport(ctx)
		if err != nil {
			demoOnce.err = err
			return
		}
		err = generate.Demo(func(c *bulwark.City) error {
			if err := tx.PutOrganizations(ctx, c.Organizations); err != nil {
				return err
			}
			if err := tx.PutServices(ctx, c.Services); err != nil {
				return err
			}
			if err := tx.PutSystems(ctx, c.Systems); err != nil {
				return err
			}
			return tx.PutAssets(ctx, c.Assets)
		})
		if err == nil {
			_, err = tx.Commit(ctx)
		}
		if err != nil {
			demoOnce.err = err
			return
		}
		svc := vulns.New(st, nil)
		if _, err := svc.ImportFS(ctx, generate.DemoFeeds(), feed.Options{}); err != nil {
			demoOnce.err = err
			return
		}
		if _, err := svc.Match(ctx, vulns.MatchOptions{}); err != nil {
			demoOnce.err = err
			return
		}
		demoOnce.h, demoOnce.err = web.New(st, nil, nil)
	})
	if demoOnce.err != nil {
		b.Fatal(demoOnce.err)
	}
	return demoOnce.h
}

// BenchmarkPages renders the main pages for the city's CISO, who sees the
// whole demo city (every page loads and analyses the visible graph).
func BenchmarkPages(b *testing.B) {
	h := demoHandler(b)
	ciso := bulwark.Principal{UserID: 1, Org: "city-ciso", Role: bulwark.RoleViewer, Name: "ciso@example.org"}
	for _, path := range []string{"/", "/services", "/services/drinking-water", "/services/drinking-water/graph.json",
		"/assets", "/assets?kind=plc", "/criticality", "/findings", "/findings?f=1&decision=Act", "/advisories", "/feeds"} {
		b.Run(path, func(b *testing.B) {
			req := httptest.NewRequest("GET", path, nil)
			req = req.WithContext(bulwark.WithPrincipal(req.Context(), ciso))
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%s: %d", path, rec.Code)
				}
			}
		})
	}
}
