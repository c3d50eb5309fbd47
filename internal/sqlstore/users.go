package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"bulwark"
)

const userCols = "u.id, u.org, u.email, u.name, u.role, u.password_hash, u.disabled, u.created_at"

func scanUser(sc scanner, u *bulwark.User) error {
	var role string
	var created int64
	if err := sc.Scan(&u.ID, &u.Org, &u.Email, &u.Name, &role, &u.PasswordHash, &u.Disabled, &created); err != nil {
		return err
	}
	u.Role = bulwark.Role(role)
	u.CreatedAt = fromMicros(created)
	return nil
}

// isAdminOf reports whether p administers org.
func isAdminOf(p bulwark.Principal, org string) bool {
	return p.System || (p.Role == bulwark.RoleAdmin && p.Org == org)
}

// CreateUser stores u (setting u.ID and u.CreatedAt). Only an admin of
// u.Org (or the System principal) may create users.
func (db *DB) CreateUser(ctx context.Context, u *bulwark.User) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if !isAdminOf(p, u.Org) {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "only an administrator of organization %q may create its users", u.Org)
	}
	email := bulwark.NormalizeEmail(u.Email)
	switch {
	case email == "" || len(email) > 254 || !strings.Contains(email, "@"):
		return bulwark.Errorf(bulwark.EINVALID, "user e-mail %q is not valid", u.Email)
	case !bulwark.ValidRole(u.Role):
		return bulwark.Errorf(bulwark.EINVALID, "user role %q is not one of admin, analyst, viewer", u.Role)
	case u.PasswordHash == "":
		return bulwark.Errorf(bulwark.EINVALID, "user has no password")
	case len(u.Name) > 256:
		return bulwark.Errorf(bulwark.EINVALID, "user name is longer than 256 bytes")
	}
	created := db.now().UTC().Truncate(time.Microsecond)
	return db.inWrite(ctx, func(tx querier) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM organizations WHERE id = $1", u.Org).Scan(&n); err != nil {
			return db.d.mapErr("create user", err)
		}
		if n == 0 {
			return bulwark.Errorf(bulwark.EINVALID, "organization %q does not exist", u.Org)
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO users (org, email, name, role, password_hash, disabled, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			u.Org, email, u.Name, string(u.Role), u.PasswordHash, u.Disabled, created.UnixMicro()).Scan(&id)
		if db.d.isUnique(err) {
			return bulwark.Errorf(bulwark.ECONFLICT, "a user with e-mail %q already exists", email)
		}
		if err != nil {
			return db.d.mapErr("create user", err)
		}
		u.ID, u.Email, u.CreatedAt = id, email, created
		s := scope{p: p, all: p.System}
		return db.appendAudit(ctx, tx, bulwark.AuditEntry{Org: u.Org, Actor: s.actor(), Action: "user.create",
			Target: "user:" + strconv.FormatInt(id, 10), Outcome: "ok", Detail: "role=" + string(u.Role)})
	})
}

// FindUserByEmail is for authentication: it is not scoped.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*bulwark.User, error) {
	var u bulwark.User
	err := scanUser(db.reader().QueryRowContext(ctx, "SELECT "+userCols+" FROM users u WHERE u.email = $1", bulwark.NormalizeEmail(email)), &u)
	if err == sql.ErrNoRows {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, db.d.mapErr("find user", err)
	}
	return &u, nil
}

// findUser reads a user the caller may see: itself, or any user of its
// organization for an admin.
func (db *DB) findUser(ctx context.Context, q querier, p bulwark.Principal, id int64) (*bulwark.User, error) {
	var u bulwark.User
	err := scanUser(q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users u WHERE u.id = $1", id), &u)
	if err == sql.ErrNoRows || (err == nil && u.ID != p.UserID && !isAdminOf(p, u.Org)) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "user %d not found", id)
	}
	if err != nil {
		return nil, db.d.mapErr("find user", err)
	}
	return &u, nil
}

// FindUser returns the caller itself, or (for an admin) a user of its
// organization; anyone else is ENOTFOUND.
func (db *DB) FindUser(ctx context.Context, id int64) (*bulwark.User, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return db.findUser(ctx, db.r, p, id)
}

// ListUsers returns the users of the caller's organization (all users for
// the System principal). Admins only.
func (db *DB) ListUsers(ctx context.Context) ([]bulwark.User, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.System && p.Role != bulwark.RoleAdmin {
		return nil, bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators may list users")
	}
	a := db.d.newArgs()
	q := "SELECT " + userCols + " FROM users u"
	if !p.System {
		q += " WHERE u.org = " + a.add(p.Org)
	}
	rows, err := db.reader().QueryContext(ctx, q+" ORDER BY u.id", a.v...)
	if err != nil {
		return nil, db.d.mapErr("list users", err)
	}
	defer rows.Close()
	var out []bulwark.User
	for rows.Next() {
		var u bulwark.User
		if err := scanUser(rows, &u); err != nil {
			return nil, db.d.mapErr("list users", err)
		}
		out = append(out, u)
	}
	return out, db.d.mapErr("list users", rows.Err())
}

// SetUserDisabled disables or re-enables a user of the admin's
// organization. Disabling also ends the user's sessions.
func (db *DB) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	return db.inWrite(ctx, func(tx querier) error {
		u, err := db.findUser(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !isAdminOf(p, u.Org) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "only an administrator may disable or enable users")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled = $1 WHERE id = $2", disabled, id); err != nil {
			return db.d.mapErr("update user", err)
		}
		action := "user.enable"
		if disabled {
			action = "user.disable"
			if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1", id); err != nil {
				return db.d.mapErr("update user", err)
			}
		}
		s := scope{p: p, all: p.System}
		return db.appendAudit(ctx, tx, bulwark.AuditEntry{Org: u.Org, Actor: s.actor(), Action: action,
			Target: "user:" + strconv.FormatInt(id, 10), Outcome: "ok"})
	})
}

// SetUserPassword replaces the password hash of the caller itself or (for
// an admin) of a user of its organization. It ends the user's sessions.
func (db *DB) SetUserPassword(ctx context.Context, id int64, hash string) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if hash == "" {
		return bulwark.Errorf(bulwark.EINVALID, "empty password hash")
	}
	return db.inWrite(ctx, func(tx querier) error {
		u, err := db.findUser(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = $1 WHERE id = $2", hash, id); err != nil {
			return db.d.mapErr("update user", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1", id); err != nil {
			return db.d.mapErr("update user", err)
		}
		s := scope{p: p, all: p.System}
		return db.appendAudit(ctx, tx, bulwark.AuditEntry{Org: u.Org, Actor: s.actor(), Action: "user.password",
			Target: "user:" + strconv.FormatInt(id, 10), Outcome: "ok"})
	})
}

const tokenCols = "t.id, t.user_id, t.name, t.hash, t.created_at, t.expires_at, t.revoked"

func scanToken(sc scanner, t *bulwark.Token, extra ...any) error {
	var created, expires int64
	dest := append([]any{&t.ID, &t.UserID, &t.Name, &t.Hash, &created, &expires, &t.Revoked}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	return nil
}

// CreateToken stores t (setting t.ID and t.CreatedAt) for the caller itself
// or, for an admin, a user of its organization.
func (db *DB) CreateToken(ctx context.Context, t *bulwark.Token) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if len(t.Hash) < 32 || len(t.Hash) > 128 {
		return bulwark.Errorf(bulwark.EINVALID, "token hash is malformed")
	}
	if t.Name == "" || len(t.Name) > 128 {
		return bulwark.Errorf(bulwark.EINVALID, "token name must be 1 to 128 bytes")
	}
	created := db.now().UTC().Truncate(time.Microsecond)
	return db.inWrite(ctx, func(tx querier) error {
		u, err := db.findUser(ctx, tx, p, t.UserID)
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO tokens (user_id, name, hash, created_at, expires_at, revoked)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			t.UserID, t.Name, t.Hash, created.UnixMicro(), micros(t.ExpiresAt), false).Scan(&id)
		if db.d.isUnique(err) {
			return bulwark.Errorf(bulwark.ECONFLICT, "token already exists")
		}
		if err != nil {
			return db.d.mapErr("create token", err)
		}
		t.ID, t.CreatedAt, t.Revoked = id, created, false
		s := scope{p: p, all: p.System}
		return db.appendAudit(ctx, tx, bulwark.AuditEntry{Org: u.Org, Actor: s.actor(), Action: "token.create",
			Target: "token:" + strconv.FormatInt(id, 10), Outcome: "ok", Detail: "user=" + strconv.FormatInt(u.ID, 10) + " name=" + t.Name})
	})
}

// FindTokenByHash is for authentication (not scoped): unknown, revoked and
// expired tokens and tokens of disabled users are all ENOTFOUND.
func (db *DB) FindTokenByHash(ctx context.Context, hash string, now time.Time) (*bulwark.Token, *bulwark.User, error) {
	var t bulwark.Token
	var u bulwark.User
	var role string
	var created int64
	err := scanToken(db.reader().QueryRowContext(ctx, "SELECT "+tokenCols+", "+userCols+
		" FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1", hash), &t,
		&u.ID, &u.Org, &u.Email, &u.Name, &role, &u.PasswordHash, &u.Disabled, &created)
	if err == sql.ErrNoRows || (err == nil && (t.Revoked || u.Disabled || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)))) {
		return nil, nil, bulwark.Errorf(bulwark.ENOTFOUND, "token not found")
	}
	if err != nil {
		return nil, nil, db.d.mapErr("find token", err)
	}
	u.Role, u.CreatedAt = bulwark.Role(role), fromMicros(created)
	return &t, &u, nil
}

// ListTokens returns the caller's tokens, or for an admin those of its
// organization (all for the System principal). Hashes are not returned.
func (db *DB) ListTokens(ctx context.Context) ([]bulwark.Token, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	a := db.d.newArgs()
	q := "SELECT " + tokenCols + " FROM tokens t JOIN users u ON u.id = t.user_id"
	switch {
	case p.System:
	case p.Role == bulwark.RoleAdmin:
		q += " WHERE u.org = " + a.add(p.Org)
	default:
		q += " WHERE t.user_id = " + a.add(p.UserID)
	}
	rows, err := db.reader().QueryContext(ctx, q+" ORDER BY t.id", a.v...)
	if err != nil {
		return nil, db.d.mapErr("list tokens", err)
	}
	defer rows.Close()
	var out []bulwark.Token
	for rows.Next() {
		var t bulwark.Token
		if err := scanToken(rows, &t); err != nil {
			return nil, db.d.mapErr("list tokens", err)
		}
		t.Hash = ""
		out = append(out, t)
	}
	return out, db.d.mapErr("list tokens", rows.Err())
}

// RevokeToken revokes one of the caller's tokens or, for an admin, a token
// of its organization.
func (db *DB) RevokeToken(ctx context.Context, id int64) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	return db.inWrite(ctx, func(tx querier) error {
		var userID int64
		var org string
		err := tx.QueryRowContext(ctx, "SELECT t.user_id, u.org FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1", id).Scan(&userID, &org)
		if err == sql.ErrNoRows || (err == nil && userID != p.UserID && !isAdminOf(p, org)) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "token %d not found", id)
		}
		if err != nil {
			return db.d.mapErr("revoke token", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE tokens SET revoked = $1 WHERE id = $2", true, id); err != nil {
			return db.d.mapErr("revoke token", err)
		}
		s := scope{p: p, all: p.System}
		return db.appendAudit(ctx, tx, bulwark.AuditEntry{Org: org, Actor: s.actor(), Action: "token.revoke",
			Target: "token:" + strconv.FormatInt(id, 10), Outcome: "ok"})
	})
}

// CreateSession stores a session (setting CreatedAt if zero). It is part
// of authentication: a ctx without a Principal is accepted (the caller has
// just proved who it is); a user Principal may create only its own.
func (db *DB) CreateSession(ctx context.Context, sess *bulwark.Session) error {
	if p, ok := bulwark.PrincipalFrom(ctx); ok && !p.System && p.UserID != sess.UserID {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "cannot create a session for another user")
	}
	if len(sess.Hash) < 32 || len(sess.Hash) > 128 || sess.ExpiresAt.IsZero() {
		return bulwark.Errorf(bulwark.EINVALID, "session is malformed")
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = db.now()
	}
	sess.CreatedAt = sess.CreatedAt.UTC().Truncate(time.Microsecond)
	sess.ExpiresAt = sess.ExpiresAt.UTC().Truncate(time.Microsecond)
	return db.inWrite(ctx, func(tx querier) error {
		var org, email string
		err := tx.QueryRowContext(ctx, "SELECT org, email FROM users WHERE id = $1", sess.UserID).Scan(&org, &email)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "user %d not found", sess.UserID)
		}
		if err != nil {
			return db.d.mapErr("create session", err)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
			sess.Hash, sess.UserID, sess.CSRF, sess.CreatedAt.UnixMicro(), sess.ExpiresAt.UnixMicro())
		if err != nil {
			return db.d.mapErr("create session", err)
		}
		// Expired sessions are swept here, where a write happens anyway.
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at < $1", db.now().UnixMicro()); err != nil {
			return db.d.mapErr("create session", err)
		}
		return db.appendAudit(ctx, tx, bulwark.AuditEntry{Org: org, Actor: email, Action: "session.create",
			Target: "user:" + strconv.FormatInt(sess.UserID, 10), Outcome: "ok"})
	})
}

// FindSession is for authentication (not scoped): unknown and expired
// sessions and sessions of disabled users are ENOTFOUND.
func (db *DB) FindSession(ctx context.Context, hash string, now time.Time) (*bulwark.Session, *bulwark.User, error) {
	var s bulwark.Session
	var u bulwark.User
	var created, expires int64
	var role string
	var ucreated int64
	err := db.reader().QueryRowContext(ctx, "SELECT s.hash, s.user_id, s.csrf, s.created_at, s.expires_at, "+userCols+
		" FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1", hash).Scan(
		&s.Hash, &s.UserID, &s.CSRF, &created, &expires,
		&u.ID, &u.Org, &u.Email, &u.Name, &role, &u.PasswordHash, &u.Disabled, &ucreated)
	if err == sql.ErrNoRows || (err == nil && (u.Disabled || !now.Before(fromMicros(expires)))) {
		return nil, nil, bulwark.Errorf(bulwark.ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, nil, db.d.mapErr("find session", err)
	}
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	u.Role, u.CreatedAt = bulwark.Role(role), fromMicros(ucreated)
	return &s, &u, nil
}

// DeleteSession ends a session (logout). Like CreateSession it needs no
// Principal: holding the session is the authority. Unknown sessions are
// ENOTFOUND.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	return db.inWrite(ctx, func(tx querier) error {
		var org, email string
		var userID int64
		err := tx.QueryRowContext(ctx, "SELECT u.id, u.org, u.email FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1", hash).Scan(&userID, &org, &email)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "session not found")
		}
		if err != nil {
			return db.d.mapErr("delete session", err)
		}
		if p, ok := bulwark.PrincipalFrom(ctx); ok && !p.System && p.UserID != userID {
			return bulwark.Errorf(bulwark.ENOTFOUND, "session not found")
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE hash = $1", hash); err != nil {
			return db.d.mapErr("delete session", err)
		}
		return db.appendAudit(ctx, tx, bulwark.AuditEntry{Org: org, Actor: email, Action: "session.delete",
			Target: "user:" + strconv.FormatInt(userID, 10), Outcome: "ok"})
	})
}
