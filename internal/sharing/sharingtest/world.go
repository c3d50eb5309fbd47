// Package sharingtest builds worlds for the sharing and TAXII tests: a real
// store with organizations, users (with passwords and API tokens),
// communities and collections. It is imported only by tests.
package sharingtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/sharing"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

// Cheap argon2id parameters: tests hash many passwords.
var Cheap = auth.Params{Memory: 64, Time: 1, Threads: 1}

// World is a store with the services over it.
type World struct {
	Store *sqlstore.DB
	Auth  *auth.Service
	Svc   *sharing.Service
	Users []*User
}

// User is a user with its credentials.
type User struct {
	bulwark.User
	Password string
	Token    string
}

// Ctx returns a context carrying the user's principal.
func (u *User) Ctx() context.Context {
	return bulwark.WithPrincipal(context.Background(), u.Principal())
}

// Principal is the user's principal as authentication makes it.
func (u *User) Principal() bulwark.Principal {
	return bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: u.Email}
}

// SysCtx carries the System principal.
func SysCtx() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
}

// Open returns a world on a fresh SQLite store (PostgreSQL with pg) with
// the given organizations.
func Open(t testing.TB, pg bool, orgs []bulwark.Organization) *World {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "bulwark.db")
	if pg {
		dsn = testenv.PostgresSchemaDSN(t)
	}
	st, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tx, err := st.BeginImport(SysCtx())
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PutOrganizations(SysCtx(), orgs); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(SysCtx()); err != nil {
		t.Fatal(err)
	}
	return &World{Store: st, Auth: auth.New(st, auth.Options{Argon: Cheap}, nil), Svc: sharing.New(st, nil)}
}

// AddUser creates a user of org with role, a password and an API token.
func (w *World) AddUser(t testing.TB, org string, role bulwark.Role) *User {
	t.Helper()
	n := len(w.Users) + 1
	pw := fmt.Sprintf("pw-%d-%s", n, org)
	hash, err := auth.HashPasswordParams(pw, Cheap)
	if err != nil {
		t.Fatal(err)
	}
	u := &User{User: bulwark.User{Org: org, Email: fmt.Sprintf("u%d@%s.example", n, org), Name: fmt.Sprintf("User %d", n), Role: role, PasswordHash: hash}, Password: pw}
	if err := w.Store.CreateUser(SysCtx(), &u.User); err != nil {
		t.Fatal(err)
	}
	secret, th, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Store.CreateToken(SysCtx(), &bulwark.Token{UserID: u.ID, Name: "taxii", Hash: th}); err != nil {
		t.Fatal(err)
	}
	u.Token = secret
	w.Users = append(w.Users, u)
	return u
}

// Orgs returns organizations named ids, the first of city purview.
func Orgs(ids ...string) []bulwark.Organization {
	out := make([]bulwark.Organization, len(ids))
	for i, id := range ids {
		p := bulwark.PurviewPrivate
		switch {
		case i == 0:
			p = bulwark.PurviewCity
		case id == "isac":
			p = bulwark.PurviewISAC
		}
		out[i] = bulwark.Organization{ID: id, Name: id, Purview: p}
	}
	return out
}
