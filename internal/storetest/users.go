package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"bulwark"
)

// hashOf is a stand-in for the auth package's token hash.
func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func as(u *bulwark.User) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: u.Email})
}

// users creates the fixture city and an admin, analyst and viewer of water
// plus an admin of power.
func users(t *testing.T, st bulwark.Store) (waterAdmin, analyst, viewer, powerAdmin *bulwark.User) {
	t.Helper()
	mustImport(t, st, fixture())
	mk := func(org, email string, role bulwark.Role) *bulwark.User {
		u := &bulwark.User{Org: org, Email: email, Name: strings.ToUpper(email[:1]) + email[1:5], Role: role, PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"}
		if err := st.CreateUser(sysCtx(), u); err != nil {
			t.Fatalf("CreateUser(%s): %v", email, err)
		}
		if u.ID == 0 || u.CreatedAt.IsZero() {
			t.Fatalf("CreateUser did not set ID and CreatedAt: %+v", u)
		}
		return u
	}
	return mk("water", "wadmin@example.org", bulwark.RoleAdmin), mk("water", "analyst@example.org", bulwark.RoleAnalyst),
		mk("water", "viewer@example.org", bulwark.RoleViewer), mk("power", "padmin@example.org", bulwark.RoleAdmin)
}

func testUsers(t *testing.T, st bulwark.Store) {
	wadmin, analyst, viewer, padmin := users(t, st)

	newUser := func(org, email string, role bulwark.Role) *bulwark.User {
		return &bulwark.User{Org: org, Email: email, Name: "N", Role: role, PasswordHash: "h"}
	}
	tests := []struct {
		name string
		ctx  context.Context
		u    *bulwark.User
		code string
	}{
		{"admin creates in own org", as(wadmin), newUser("water", "new@example.org", bulwark.RoleViewer), ""},
		{"duplicate e-mail, other case", as(wadmin), newUser("water", " NEW@Example.org ", bulwark.RoleViewer), bulwark.ECONFLICT},
		{"admin of other org", as(padmin), newUser("water", "x@example.org", bulwark.RoleAdmin), bulwark.EFORBIDDEN},
		{"analyst", as(analyst), newUser("water", "y@example.org", bulwark.RoleViewer), bulwark.EFORBIDDEN},
		{"unknown org", sysCtx(), newUser("nowhere", "z@example.org", bulwark.RoleViewer), bulwark.EINVALID},
		{"bad role", sysCtx(), newUser("water", "r@example.org", "root"), bulwark.EINVALID},
		{"bad e-mail", sysCtx(), newUser("water", "not-an-address", bulwark.RoleViewer), bulwark.EINVALID},
		{"no password", sysCtx(), &bulwark.User{Org: "water", Email: "p@example.org", Role: bulwark.RoleViewer}, bulwark.EINVALID},
	}
	for _, tc := range tests {
		wantCode(t, tc.name, st.CreateUser(tc.ctx, tc.u), tc.code)
	}

	u, err := st.FindUserByEmail(context.Background(), "  Analyst@EXAMPLE.org")
	if err != nil || u.ID != analyst.ID || u.PasswordHash == "" {
		t.Errorf("FindUserByEmail = %+v, %v", u, err)
	}
	if d := gocmp.Diff(analyst, u); d != "" {
		t.Errorf("FindUserByEmail (-want +got):\n%s", d)
	}
	_, err = st.FindUserByEmail(context.Background(), "ghost@example.org")
	wantCode(t, "FindUserByEmail(unknown)", err, bulwark.ENOTFOUND)

	finds := []struct {
		name string
		ctx  context.Context
		id   int64
		ok   bool
	}{
		{"self", as(analyst), analyst.ID, true},
		{"admin finds member", as(wadmin), analyst.ID, true},
		{"analyst finds colleague", as(analyst), wadmin.ID, false},
		{"other org admin", as(padmin), analyst.ID, false},
		{"missing", as(wadmin), 999999, false},
		{"system", sysCtx(), padmin.ID, true},
	}
	for _, tc := range finds {
		_, err := st.FindUser(tc.ctx, tc.id)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok {
			wantCode(t, tc.name, err, bulwark.ENOTFOUND)
		}
	}

	list := must(st.ListUsers(as(wadmin)))(t)
	var emails []string
	for _, u := range list {
		emails = append(emails, u.Email)
	}
	if d := gocmp.Diff([]string{"wadmin@example.org", "analyst@example.org", "viewer@example.org", "new@example.org"}, emails); d != "" {
		t.Errorf("ListUsers(water admin) (-want +got):\n%s", d)
	}
	_, err = st.ListUsers(as(analyst))
	wantCode(t, "ListUsers(analyst)", err, bulwark.EFORBIDDEN)
	if all := must(st.ListUsers(sysCtx()))(t); len(all) != 5 {
		t.Errorf("ListUsers(system) = %d users, want 5", len(all))
	}

	wantCode(t, "disable by other org", st.SetUserDisabled(as(padmin), viewer.ID, true), bulwark.ENOTFOUND)
	wantCode(t, "disable by analyst", st.SetUserDisabled(as(analyst), viewer.ID, true), bulwark.ENOTFOUND)
	wantCode(t, "self-disable by analyst", st.SetUserDisabled(as(analyst), analyst.ID, true), bulwark.EFORBIDDEN)
	if err := st.SetUserDisabled(as(wadmin), viewer.ID, true); err != nil {
		t.Fatal(err)
	}
	if u := must(st.FindUser(as(wadmin), viewer.ID))(t); !u.Disabled {
		t.Error("user not disabled")
	}
	if err := st.SetUserDisabled(as(wadmin), viewer.ID, false); err != nil {
		t.Fatal(err)
	}
	if u := must(st.FindUser(as(wadmin), viewer.ID))(t); u.Disabled {
		t.Error("user not re-enabled")
	}

	if err := st.SetUserPassword(as(analyst), analyst.ID, "newhash"); err != nil {
		t.Errorf("own password change: %v", err)
	}
	if u := must(st.FindUserByEmail(context.Background(), analyst.Email))(t); u.PasswordHash != "newhash" {
		t.Errorf("password hash = %q", u.PasswordHash)
	}
	wantCode(t, "password of colleague", st.SetUserPassword(as(analyst), wadmin.ID, "x"), bulwark.ENOTFOUND)
	wantCode(t, "password of other org", st.SetUserPassword(as(padmin), analyst.ID, "x"), bulwark.ENOTFOUND)
	wantCode(t, "empty password", st.SetUserPassword(as(analyst), analyst.ID, ""), bulwark.EINVALID)
}

func testTokensAndSessions(t *testing.T, st bulwark.Store) {
	wadmin, analyst, viewer, padmin := users(t, st)
	// Real time: CreateSession sweeps sessions expired by the store's own clock.
	now := time.Now().UTC().Truncate(time.Second)

	tok := &bulwark.Token{UserID: analyst.ID, Name: "ci", Hash: hashOf("secret-1"), ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateToken(as(analyst), tok); err != nil {
		t.Fatal(err)
	}
	if tok.ID == 0 || tok.CreatedAt.IsZero() {
		t.Errorf("CreateToken did not set ID/CreatedAt: %+v", tok)
	}
	forever := &bulwark.Token{UserID: viewer.ID, Name: "forever", Hash: hashOf("secret-2")}
	if err := st.CreateToken(as(wadmin), forever); err != nil {
		t.Fatalf("admin creates token for member: %v", err)
	}
	wantCode(t, "token for colleague", st.CreateToken(as(analyst), &bulwark.Token{UserID: viewer.ID, Name: "x", Hash: hashOf("3")}), bulwark.ENOTFOUND)
	wantCode(t, "token for other org", st.CreateToken(as(padmin), &bulwark.Token{UserID: viewer.ID, Name: "x", Hash: hashOf("4")}), bulwark.ENOTFOUND)
	wantCode(t, "duplicate hash", st.CreateToken(as(analyst), &bulwark.Token{UserID: analyst.ID, Name: "dup", Hash: tok.Hash}), bulwark.ECONFLICT)
	wantCode(t, "malformed hash", st.CreateToken(as(analyst), &bulwark.Token{UserID: analyst.ID, Name: "bad", Hash: "short"}), bulwark.EINVALID)

	got, u, err := st.FindTokenByHash(context.Background(), tok.Hash, now)
	if err != nil || got.ID != tok.ID || u.ID != analyst.ID {
		t.Fatalf("FindTokenByHash = %+v, %+v, %v", got, u, err)
	}
	for name, at := range map[string]time.Time{"at expiry": now.Add(time.Hour), "after expiry": now.Add(2 * time.Hour)} {
		_, _, err := st.FindTokenByHash(context.Background(), tok.Hash, at)
		wantCode(t, "token "+name, err, bulwark.ENOTFOUND)
	}
	if _, _, err := st.FindTokenByHash(context.Background(), forever.Hash, now.AddDate(100, 0, 0)); err != nil {
		t.Errorf("token without expiry: %v", err)
	}
	_, _, err = st.FindTokenByHash(context.Background(), hashOf("unknown"), now)
	wantCode(t, "unknown token", err, bulwark.ENOTFOUND)

	mine := must(st.ListTokens(as(analyst)))(t)
	if len(mine) != 1 || mine[0].ID != tok.ID || mine[0].Hash != "" {
		t.Errorf("ListTokens(analyst) = %+v, want its one token without hash", mine)
	}
	if org := must(st.ListTokens(as(wadmin)))(t); len(org) != 2 {
		t.Errorf("ListTokens(admin) = %d tokens, want 2", len(org))
	}
	if other := must(st.ListTokens(as(padmin)))(t); len(other) != 0 {
		t.Errorf("ListTokens(other org admin) = %d tokens", len(other))
	}

	wantCode(t, "revoke by other org", st.RevokeToken(as(padmin), tok.ID), bulwark.ENOTFOUND)
	wantCode(t, "revoke by colleague", st.RevokeToken(as(viewer), tok.ID), bulwark.ENOTFOUND)
	if err := st.RevokeToken(as(analyst), tok.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.FindTokenByHash(context.Background(), tok.Hash, now)
	wantCode(t, "revoked token", err, bulwark.ENOTFOUND)

	// Sessions.
	sess := &bulwark.Session{Hash: hashOf("cookie-1"), UserID: viewer.ID, CSRF: "csrf-1", CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour)}
	if err := st.CreateSession(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	s, su, err := st.FindSession(context.Background(), sess.Hash, now.Add(time.Minute))
	if err != nil || su.ID != viewer.ID {
		t.Fatalf("FindSession = %+v, %+v, %v", s, su, err)
	}
	if d := gocmp.Diff(sess, s); d != "" {
		t.Errorf("FindSession (-want +got):\n%s", d)
	}
	_, _, err = st.FindSession(context.Background(), sess.Hash, now.Add(12*time.Hour))
	wantCode(t, "expired session", err, bulwark.ENOTFOUND)
	wantCode(t, "session for another user", st.CreateSession(as(analyst),
		&bulwark.Session{Hash: hashOf("cookie-x"), UserID: viewer.ID, ExpiresAt: now.Add(time.Hour)}), bulwark.EFORBIDDEN)

	// AU-02: disabling a user kills its sessions and tokens at once.
	if err := st.SetUserDisabled(as(wadmin), viewer.ID, true); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.FindSession(context.Background(), sess.Hash, now)
	wantCode(t, "session of disabled user", err, bulwark.ENOTFOUND)
	_, _, err = st.FindTokenByHash(context.Background(), forever.Hash, now)
	wantCode(t, "token of disabled user", err, bulwark.ENOTFOUND)
	if err := st.SetUserDisabled(as(wadmin), viewer.ID, false); err != nil {
		t.Fatal(err)
	}
	// The session was ended, not merely hidden; the token comes back.
	_, _, err = st.FindSession(context.Background(), sess.Hash, now)
	wantCode(t, "session after re-enable", err, bulwark.ENOTFOUND)
	if _, _, err := st.FindTokenByHash(context.Background(), forever.Hash, now); err != nil {
		t.Errorf("token after re-enable: %v", err)
	}

	s2 := &bulwark.Session{Hash: hashOf("cookie-2"), UserID: analyst.ID, CSRF: "c", ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.CreateSession(as(analyst), s2); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(context.Background(), s2.Hash); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.FindSession(context.Background(), s2.Hash, time.Now())
	wantCode(t, "deleted session", err, bulwark.ENOTFOUND)
	wantCode(t, "delete unknown session", st.DeleteSession(context.Background(), s2.Hash), bulwark.ENOTFOUND)
}

func testAuditChain(t *testing.T, st bulwark.Store) {
	wadmin, analyst, _, padmin := users(t, st)
	ctx := sysCtx()
	if err := st.DeleteEntity(as(analyst), bulwark.KindAsset, "meters"); err != nil {
		t.Fatal(err)
	}
	tok := &bulwark.Token{UserID: analyst.ID, Name: "ci", Hash: hashOf("t")}
	if err := st.CreateToken(as(analyst), tok); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(as(wadmin), tok.ID); err != nil {
		t.Fatal(err)
	}
	sess := &bulwark.Session{Hash: hashOf("s"), UserID: analyst.ID, ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.CreateSession(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(context.Background(), sess.Hash); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserPassword(as(analyst), analyst.ID, "h2"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserDisabled(as(wadmin), analyst.ID, true); err != nil {
		t.Fatal(err)
	}
	// Events without a stored change, with hostile content.
	if err := st.AppendAudit(context.Background(), bulwark.AuditEntry{Org: "water", Actor: "mallory@example.org\nFORGED entry",
		Action: "login.fail", Outcome: "denied", Detail: strings.Repeat("x", 100000)}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "AppendAudit without action", st.AppendAudit(ctx, bulwark.AuditEntry{}), bulwark.EINVALID)

	all := must(st.ListAudit(ctx, 0, 0))(t)
	var actions []string
	for _, e := range all {
		actions = append(actions, e.Action)
	}
	want := []string{"city.import", "user.create", "user.create", "user.create", "user.create", "city.delete", "token.create",
		"token.revoke", "session.create", "session.delete", "user.password", "user.disable", "login.fail"}
	if d := gocmp.Diff(want, actions); d != "" {
		t.Errorf("audit actions (-want +got):\n%s", d)
	}
	if n, problem := bulwark.VerifyAudit(all, "", 0); problem != "" || n != len(all) {
		t.Errorf("VerifyAudit: %d verified, %s", n, problem)
	}
	last := all[len(all)-1]
	if strings.ContainsAny(last.Actor, "\r\n") || len(last.Detail) > 10000 {
		t.Errorf("hostile fields stored as is: actor %q, detail %d bytes", last.Actor, len(last.Detail))
	}
	del := all[5]
	if del.Org != "water" || del.Actor != analyst.Email || del.Target != "asset:meters" || del.Outcome != "ok" || del.At.IsZero() {
		t.Errorf("delete entry = %+v", del)
	}

	page := must(st.ListAudit(ctx, 3, 2))(t)
	if len(page) != 2 || page[0].Seq != 4 || page[1].Seq != 5 {
		t.Errorf("ListAudit(3, 2) = %+v", page)
	}
	// An organization admin reads its organization's entries only.
	for _, e := range must(st.ListAudit(as(padmin), 0, 0))(t) {
		if e.Org != "power" {
			t.Errorf("power admin reads entry of %q", e.Org)
		}
	}
	_, err := st.ListAudit(as(wadmin), 0, 0)
	if err != nil {
		t.Error(err)
	}
	_, err = st.ListAudit(userCtx("water", bulwark.RoleAnalyst), 0, 0)
	wantCode(t, "ListAudit(analyst)", err, bulwark.EFORBIDDEN)

	// Concurrent appends never fork the chain.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			errs <- st.AppendAudit(ctx, bulwark.AuditEntry{Action: "test.concurrent", Detail: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	all = must(st.ListAudit(ctx, 0, 0))(t)
	if n, problem := bulwark.VerifyAudit(all, "", 0); problem != "" || n != len(want)+40 {
		t.Errorf("after concurrent appends: %d verified of %d, %s", n, len(all), problem)
	}
}

func testConcurrentReads(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	const extra = 2000
	done := make(chan struct{})
	var wg sync.WaitGroup
	readErrs := make(chan error, 100)
	for r := range 4 {
		wg.Go(func() {
			ctx := userCtx("water", bulwark.RoleViewer)
			for i := 0; ; i++ {
				select {
				case <-done:
					if i == 0 {
						readErrs <- fmt.Errorf("reader %d never ran", r)
					}
					return
				default:
				}
				c, err := st.CountEntities(ctx)
				if err != nil {
					readErrs <- err
					return
				}
				// An import is atomic: readers see all of it or none.
				if c.Assets != 8 && c.Assets != 8+extra {
					readErrs <- fmt.Errorf("reader sees %d assets mid-import", c.Assets)
					return
				}
				if _, err := st.ListAssets(ctx, bulwark.ListOptions{Limit: 100, After: fmt.Sprintf("bulk-%05d", i%extra)}); err != nil {
					readErrs <- err
					return
				}
				if i%5 == 0 {
					if _, err := st.LoadGraph(ctx); err != nil {
						readErrs <- err
						return
					}
				}
				time.Sleep(time.Millisecond) // contend, but leave the writer some CPU
			}
		})
	}
	ctx := sysCtx()
	tx := must(st.BeginImport(ctx))(t)
	for chunk := range extra / 500 {
		var assets []bulwark.Asset
		for i := chunk * 500; i < (chunk+1)*500; i++ {
			assets = append(assets, bulwark.Asset{ID: fmt.Sprintf("bulk-%05d", i), Name: "Bulk", Owner: "water", Kind: "sensor",
				System: "water-scada", CPEs: []string{"cpe:2.3:h:acme:sensor:-:*:*:*:*:*:*:*"}})
		}
		if err := tx.PutAssets(ctx, assets); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // let readers interleave
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	close(done)
	wg.Wait()
	close(readErrs)
	for err := range readErrs {
		t.Error(err)
	}
	if c := must(st.CountEntities(ctx))(t); c.Assets != 8+extra || c.Dependencies != 10+extra {
		t.Errorf("after import: %+v", c)
	}
}
