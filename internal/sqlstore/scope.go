package sqlstore

import (
	"context"
	"slices"

	"bulwark"
)

// scope is what one caller may see: its Principal and the organizations
// whose city model is visible to it (its own and those that share with it).
// Every read builds one, and every query filters with it: this is the
// single place where tenancy is decided.
type scope struct {
	p    bulwark.Principal
	all  bool                // the System principal sees everything
	orgs []string            // visible organizations, sorted
	set  map[string]struct{} // the same as a set
}

// principal returns the caller of ctx or EUNAUTHORIZED.
func principal(ctx context.Context) (bulwark.Principal, error) {
	p, ok := bulwark.PrincipalFrom(ctx)
	if !ok || (!p.System && p.Org == "") {
		return bulwark.Principal{}, bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required")
	}
	return p, nil
}

// scopeOf returns the caller's scope, reading the sharing grants through q
// (a transaction, so that the grants and the data agree).
func (db *DB) scopeOf(ctx context.Context, q querier) (scope, error) {
	p, err := principal(ctx)
	if err != nil {
		return scope{}, err
	}
	s := scope{p: p, all: p.System, set: map[string]struct{}{}}
	if p.System {
		return s, nil
	}
	s.orgs = append(s.orgs, p.Org)
	rows, err := q.QueryContext(ctx, "SELECT grantor FROM shares WHERE grantee = $1", p.Org)
	if err != nil {
		return scope{}, db.d.mapErr("read sharing grants", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return scope{}, db.d.mapErr("read sharing grants", err)
		}
		s.orgs = append(s.orgs, g)
	}
	if err := rows.Err(); err != nil {
		return scope{}, db.d.mapErr("read sharing grants", err)
	}
	slices.Sort(s.orgs)
	s.orgs = slices.Compact(s.orgs)
	for _, o := range s.orgs {
		s.set[o] = struct{}{}
	}
	return s, nil
}

// sees reports whether the caller may read what org owns.
func (s scope) sees(org string) bool {
	if s.all {
		return true
	}
	_, ok := s.set[org]
	return ok
}

// filter returns an SQL condition restricting column (an owner column) to
// the visible organizations, binding them to a; "" for the System principal.
func (s scope) filter(a *args, column string) string {
	if s.all {
		return ""
	}
	return column + " IN " + a.list(s.orgs)
}

// canWrite returns EFORBIDDEN unless the caller may change its
// organization's data.
func (s scope) canWrite(what string) error {
	if s.all || s.p.Role.CanWrite() {
		return nil
	}
	return bulwark.Errorf(bulwark.EFORBIDDEN, "%s: your role (%s) is read-only", what, s.p.Role)
}

// owns reports whether the caller may change what org owns.
func (s scope) owns(org string) bool { return s.all || org == s.p.Org }

// auditOrg is the organization an audit entry of this caller belongs to.
func (s scope) auditOrg() string {
	if s.all {
		return ""
	}
	return s.p.Org
}

// actor names the caller in the audit log.
func (s scope) actor() string {
	if s.p.Name != "" {
		return s.p.Name
	}
	if s.all {
		return "system"
	}
	return "user"
}
