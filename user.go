package bulwark

import (
	"context"
	"time"
)

// Role is what a user may do within their organization.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin   Role = "admin"   // manage users, tokens and everything an analyst can
	RoleAnalyst Role = "analyst" // read and write the organization's data
	RoleViewer  Role = "viewer"  // read only
)

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool { return r == RoleAdmin || r == RoleAnalyst || r == RoleViewer }

// CanWrite reports whether the role may change data.
func (r Role) CanWrite() bool { return r == RoleAdmin || r == RoleAnalyst }

// User belongs to exactly one organization.
type User struct {
	ID           int64
	Org          string // organization ID
	Email        string
	Name         string
	Role         Role
	PasswordHash string // argon2id PHC string; never leaves the store layer in responses
	Disabled     bool
	CreatedAt    time.Time
}

// Token is an API token. Only the SHA-256 hash of its secret is stored.
type Token struct {
	ID        int64
	UserID    int64
	Name      string
	Hash      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	Revoked   bool
}

// Session is a logged-in browser session. Only the hash of its cookie value
// is stored.
type Session struct {
	Hash      string
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Principal is who is calling: a user of an organization, or the local
// operator (System), who runs CLI commands with direct database access.
type Principal struct {
	UserID int64
	Org    string
	Role   Role
	Name   string // for the audit log: an e-mail, "token:NAME" or "cli"
	// System is true only for the local operator; it sees every organization.
	System bool
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller of ctx; ok is false when there is none,
// in which case stores must refuse to read or write anything.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// SystemPrincipal is the local operator running the CLI.
func SystemPrincipal() Principal { return Principal{Name: "cli", Role: RoleAdmin, System: true} }

// AuditEntry is one entry of the append-only, hash-chained audit log.
type AuditEntry struct {
	Seq     int64
	At      time.Time
	Org     string // organization acted in ("" for system-wide)
	Actor   string
	Action  string // e.g. "city.import", "user.create", "login.fail"
	Target  string
	Outcome string // "ok" or "denied" or "error"
	Detail  string
	Prev    string // hex SHA-256 of the previous entry
	Hash    string // hex SHA-256 over Prev and this entry's fields
}

// AuthorizeCityAdmin allows the System principal and administrators of a
// city-purview organization. City-wide jobs (matching every organization's
// assets, recording the readiness index) read everyone's data as the
// System principal, so a tenant of another kind must not start them.
func AuthorizeCityAdmin(ctx context.Context, st CityStore, what string) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return Errorf(EUNAUTHORIZED, "authentication required")
	}
	if p.System {
		return nil
	}
	if p.Role == RoleAdmin {
		if o, err := st.FindOrganization(ctx, p.Org); err == nil && o.Purview == PurviewCity {
			return nil
		}
	}
	return Errorf(EFORBIDDEN, "only administrators of a city organization may %s", what)
}
