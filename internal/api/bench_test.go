package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/generate"
	"bulwark/internal/sqlstore"
)

// benchCity is a store holding a generated city of 10,000 assets, a viewer
// of the city CISO's office (who sees what the city's partners share) and
// its API token.
func benchCity(b *testing.B) (http.Handler, string, []string) {
	b.Helper()
	ctx := systemCtx()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	tx, err := st.BeginImport(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var assets []string
	var org string
	err = generate.Generate(generate.Options{Assets: 10000, Seed: 1}, func(c *bulwark.City) error {
		if org == "" && len(c.Organizations) > 0 {
			org = c.Organizations[0].ID
		}
		for _, a := range c.Assets {
			assets = append(assets, a.ID)
		}
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
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	u := bulwark.User{Org: org, Email: "bench@example.org", Name: "bench", Role: bulwark.RoleViewer, PasswordHash: "x"}
	if err := st.CreateUser(ctx, &u); err != nil {
		b.Fatal(err)
	}
	secret, hash, _ := auth.NewToken()
	if err := st.CreateToken(ctx, &bulwark.Token{UserID: u.ID, Name: "bench", Hash: hash}); err != nil {
		b.Fatal(err)
	}
	a := auth.New(st, auth.Options{Argon: cheapArgon}, nil)
	return New(st, a, nil), secret, assets
}

func BenchmarkAPI(b *testing.B) {
	h, token, assets := benchCity(b)
	for _, bc := range []struct {
		name string
		path func(i int) string
	}{
		{"ListAssets50", func(int) string { return "/api/v1/assets?limit=50" }},
		{"ListAssets50After", func(i int) string { return "/api/v1/assets?limit=50&after=" + assets[i%len(assets)] }},
		{"GetAsset", func(i int) string { return "/api/v1/assets/" + assets[i%len(assets)] }},
		{"Me", func(int) string { return "/api/v1/me" }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(n.Add(7919))
					req := httptest.NewRequestWithContext(context.Background(), "GET", bc.path(i), nil)
					req.Header.Set("Authorization", "Bearer "+token)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						panic(fmt.Sprintf("%s: %d %s", req.URL, rec.Code, rec.Body))
					}
				}
			})
		})
	}
}
