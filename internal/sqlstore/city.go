package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"bulwark"
)

// pageSize clamps a requested page size.
func pageSize(n int) int {
	switch {
	case n <= 0:
		return bulwark.DefaultPageSize
	case n > bulwark.MaxPageSize:
		return bulwark.MaxPageSize
	}
	return n
}

// likePattern turns a substring into a LIKE pattern matching it literally.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(q)) + "%"
}

// listEntities reads one page of entities of kind, with their dependencies
// and groups.
func (db *DB) listEntities(ctx context.Context, kind bulwark.NodeKind, opt bulwark.ListOptions) ([]row, string, error) {
	limit := pageSize(opt.Limit)
	var out []row
	var next string
	err := db.inRead(ctx, func(tx querier) error {
		s, err := db.scopeOf(ctx, tx)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		where := []string{"e.kind = " + a.add(int64(kind)), "e.id > " + a.add(opt.After)}
		if f := s.filter(&a, "e.owner"); f != "" {
			where = append(where, f)
		}
		if opt.Owner != "" {
			where = append(where, "e.owner = "+a.add(opt.Owner))
		}
		if opt.Query != "" {
			pat := likePattern(opt.Query)
			where = append(where, "(lower(e.id) LIKE "+a.add(pat)+` ESCAPE '\' OR lower(e.name) LIKE `+a.add(pat)+` ESCAPE '\')`)
		}
		if opt.Sector != "" && kind == bulwark.KindService {
			where = append(where, "e.sector = "+a.add(string(opt.Sector)))
		}
		if opt.Kind != "" && kind == bulwark.KindAsset {
			where = append(where, "e.asset_kind = "+a.add(opt.Kind))
		}
		if opt.System != "" && kind == bulwark.KindAsset {
			sub := "SELECT x.ref FROM entities x WHERE x.id = " + a.add(opt.System) + " AND x.kind = " + a.add(int64(bulwark.KindSystem))
			if f := s.filter(&a, "x.owner"); f != "" {
				sub += " AND " + f
			}
			where = append(where, "e.sys_ref = ("+sub+")")
		}
		q := "SELECT " + readCols + " FROM " + readFrom + " WHERE " + strings.Join(where, " AND ") +
			" ORDER BY e.id LIMIT " + a.add(int64(limit+1))
		rows, err := tx.QueryContext(ctx, q, a.v...)
		if err != nil {
			return db.d.mapErr("list "+kind.String()+"s", err)
		}
		for rows.Next() {
			r, err := scanRow(rows, s)
			if err != nil {
				rows.Close()
				return db.d.mapErr("list "+kind.String()+"s", err)
			}
			out = append(out, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.d.mapErr("list "+kind.String()+"s", err)
		}
		if len(out) > limit {
			out = out[:limit]
			next = out[limit-1].ID
		}
		return db.loadDeps(ctx, tx, s, out)
	})
	return out, next, err
}

// loadDeps fills in the dependencies (on visible targets only) and groups
// of rs.
func (db *DB) loadDeps(ctx context.Context, tx querier, s scope, rs []row) error {
	if len(rs) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(rs))
	refs := make([]int64, len(rs))
	for i := range rs {
		idx[rs[i].Ref] = i
		refs[i] = rs[i].Ref
	}
	a := db.d.newArgs()
	in := a.listInt(refs)
	rows, err := tx.QueryContext(ctx, "SELECT d.src, t.id, t.owner, d.kind, d.grp FROM dependencies d JOIN entities t ON t.ref = d.dst WHERE d.src IN "+in+
		" ORDER BY d.src, d.grp, t.id", a.v...)
	if err != nil {
		return db.d.mapErr("read dependencies", err)
	}
	for rows.Next() {
		var src int64
		var d bulwark.Dependency
		var owner, kind string
		if err := rows.Scan(&src, &d.On, &owner, &kind, &d.Group); err != nil {
			rows.Close()
			return db.d.mapErr("read dependencies", err)
		}
		if !s.sees(owner) {
			continue
		}
		d.Kind = bulwark.DepKind(kind)
		r := &rs[idx[src]]
		r.Deps = append(r.Deps, d)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return db.d.mapErr("read dependencies", err)
	}
	// Only services and systems have redundancy groups; a page of assets
	// (the common listing) needs no second query.
	if !slices.ContainsFunc(rs, func(r row) bool { return r.Kind != bulwark.KindAsset }) {
		return nil
	}
	rows, err = tx.QueryContext(ctx, "SELECT owner, id, need FROM entity_groups WHERE owner IN "+in+" ORDER BY owner, id", a.v...)
	if err != nil {
		return db.d.mapErr("read groups", err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner, need int64
		var g bulwark.Group
		if err := rows.Scan(&owner, &g.ID, &need); err != nil {
			return db.d.mapErr("read groups", err)
		}
		g.Need = int(need)
		r := &rs[idx[owner]]
		r.Groups = append(r.Groups, g)
	}
	return db.d.mapErr("read groups", rows.Err())
}

// findEntity reads one visible entity of kind.
func (db *DB) findEntity(ctx context.Context, kind bulwark.NodeKind, id string) (row, error) {
	var r row
	err := db.inRead(ctx, func(tx querier) error {
		s, err := db.scopeOf(ctx, tx)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		q := "SELECT " + readCols + " FROM " + readFrom + " WHERE e.id = " + a.add(id) + " AND e.kind = " + a.add(int64(kind))
		if f := s.filter(&a, "e.owner"); f != "" {
			q += " AND " + f
		}
		r, err = scanRow(tx.QueryRowContext(ctx, q, a.v...), s)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "%s %q not found", kind, id)
		}
		if err != nil {
			return db.d.mapErr("find "+kind.String(), err)
		}
		rs := []row{r}
		if err := db.loadDeps(ctx, tx, s, rs); err != nil {
			return err
		}
		r = rs[0]
		return nil
	})
	return r, err
}

// ListServices returns one page of the visible services.
func (db *DB) ListServices(ctx context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.Service], error) {
	rs, next, err := db.listEntities(ctx, bulwark.KindService, opt)
	if err != nil {
		return bulwark.Page[bulwark.Service]{}, err
	}
	p := bulwark.Page[bulwark.Service]{Items: make([]bulwark.Service, 0, len(rs)), Next: next}
	for i := range rs {
		v, err := rs[i].service()
		if err != nil {
			return bulwark.Page[bulwark.Service]{}, err
		}
		p.Items = append(p.Items, v)
	}
	return p, nil
}

// FindService returns a visible service or ENOTFOUND.
func (db *DB) FindService(ctx context.Context, id string) (*bulwark.Service, error) {
	r, err := db.findEntity(ctx, bulwark.KindService, id)
	if err != nil {
		return nil, err
	}
	v, err := r.service()
	return &v, err
}

// ListSystems returns one page of the visible systems.
func (db *DB) ListSystems(ctx context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.System], error) {
	rs, next, err := db.listEntities(ctx, bulwark.KindSystem, opt)
	if err != nil {
		return bulwark.Page[bulwark.System]{}, err
	}
	p := bulwark.Page[bulwark.System]{Items: make([]bulwark.System, 0, len(rs)), Next: next}
	for i := range rs {
		v, err := rs[i].system()
		if err != nil {
			return bulwark.Page[bulwark.System]{}, err
		}
		p.Items = append(p.Items, v)
	}
	return p, nil
}

// FindSystem returns a visible system or ENOTFOUND.
func (db *DB) FindSystem(ctx context.Context, id string) (*bulwark.System, error) {
	r, err := db.findEntity(ctx, bulwark.KindSystem, id)
	if err != nil {
		return nil, err
	}
	v, err := r.system()
	return &v, err
}

// ListAssets returns one page of the visible assets.
func (db *DB) ListAssets(ctx context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.Asset], error) {
	rs, next, err := db.listEntities(ctx, bulwark.KindAsset, opt)
	if err != nil {
		return bulwark.Page[bulwark.Asset]{}, err
	}
	p := bulwark.Page[bulwark.Asset]{Items: make([]bulwark.Asset, 0, len(rs)), Next: next}
	for i := range rs {
		v, err := rs[i].asset()
		if err != nil {
			return bulwark.Page[bulwark.Asset]{}, err
		}
		p.Items = append(p.Items, v)
	}
	return p, nil
}

// FindAsset returns a visible asset or ENOTFOUND.
func (db *DB) FindAsset(ctx context.Context, id string) (*bulwark.Asset, error) {
	r, err := db.findEntity(ctx, bulwark.KindAsset, id)
	if err != nil {
		return nil, err
	}
	v, err := r.asset()
	return &v, err
}

const orgCols = "id, name, purview, contacts, shares"

func scanOrg(sc scanner, s scope) (bulwark.Organization, error) {
	var o bulwark.Organization
	var purview, contacts, shares string
	if err := sc.Scan(&o.ID, &o.Name, &purview, &contacts, &shares); err != nil {
		return o, err
	}
	o.Purview = bulwark.Purview(purview)
	if err := json.Unmarshal([]byte(contacts), &o.Contacts); err != nil {
		return o, fmt.Errorf("decode contacts of %s: %w", o.ID, err)
	}
	if err := json.Unmarshal([]byte(shares), &o.SharesWith); err != nil {
		return o, fmt.Errorf("decode shares of %s: %w", o.ID, err)
	}
	if len(o.Contacts) == 0 {
		o.Contacts = nil
	}
	// Whom another organization shares with is its own business: show
	// only the grants the caller could know of. An organization sees all of
	// its own grants, so that its export re-imports without revoking any.
	if !s.owns(o.ID) {
		o.SharesWith = slices.DeleteFunc(o.SharesWith, func(g string) bool { return !s.sees(g) })
	}
	if len(o.SharesWith) == 0 {
		o.SharesWith = nil
	}
	return o, nil
}

// ListOrganizations returns one page of the visible organizations: the
// caller's own and those that share with it.
func (db *DB) ListOrganizations(ctx context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.Organization], error) {
	limit := pageSize(opt.Limit)
	var p bulwark.Page[bulwark.Organization]
	err := db.inRead(ctx, func(tx querier) error {
		s, err := db.scopeOf(ctx, tx)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		where := []string{"id > " + a.add(opt.After)}
		if f := s.filter(&a, "id"); f != "" {
			where = append(where, f)
		}
		if opt.Query != "" {
			pat := likePattern(opt.Query)
			where = append(where, "(lower(id) LIKE "+a.add(pat)+` ESCAPE '\' OR lower(name) LIKE `+a.add(pat)+` ESCAPE '\')`)
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+orgCols+" FROM organizations WHERE "+strings.Join(where, " AND ")+
			" ORDER BY id LIMIT "+a.add(int64(limit+1)), a.v...)
		if err != nil {
			return db.d.mapErr("list organizations", err)
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOrg(rows, s)
			if err != nil {
				return db.d.mapErr("list organizations", err)
			}
			p.Items = append(p.Items, o)
		}
		if err := rows.Err(); err != nil {
			return db.d.mapErr("list organizations", err)
		}
		if len(p.Items) > limit {
			p.Items = p.Items[:limit]
			p.Next = p.Items[limit-1].ID
		}
		return nil
	})
	return p, err
}

// FindOrganization returns a visible organization or ENOTFOUND.
func (db *DB) FindOrganization(ctx context.Context, id string) (*bulwark.Organization, error) {
	var o bulwark.Organization
	err := db.inRead(ctx, func(tx querier) error {
		s, err := db.scopeOf(ctx, tx)
		if err != nil {
			return err
		}
		if !s.sees(id) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "organization %q not found", id)
		}
		o, err = scanOrg(tx.QueryRowContext(ctx, "SELECT "+orgCols+" FROM organizations WHERE id = $1", id), s)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "organization %q not found", id)
		}
		return db.d.mapErr("find organization", err)
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// DeleteEntity removes a service, system or asset the caller owns, with
// every dependency that starts or ends at it. Entities that depended on it
// are marked changed, so that re-importing them restores the dependency.
func (db *DB) DeleteEntity(ctx context.Context, kind bulwark.NodeKind, id string) error {
	if _, err := principal(ctx); err != nil {
		return err
	}
	if kind < bulwark.KindService || kind > bulwark.KindAsset {
		return bulwark.Errorf(bulwark.EINVALID, "cannot delete an entity of kind %q", kind)
	}
	return db.inWrite(ctx, func(tx querier) error {
		s, err := db.scopeOf(ctx, tx)
		if err != nil {
			return err
		}
		var ref int64
		var owner string
		err = tx.QueryRowContext(ctx, "SELECT ref, owner FROM entities WHERE id = $1 AND kind = $2", id, int64(kind)).Scan(&ref, &owner)
		if err == sql.ErrNoRows || (err == nil && !s.sees(owner)) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "%s %q not found", kind, id)
		}
		if err != nil {
			return db.d.mapErr("delete "+kind.String(), err)
		}
		if err := s.canWrite("delete " + kind.String()); err != nil {
			return err
		}
		if !s.owns(owner) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "%s %q belongs to another organization; you may only delete your own", kind, id)
		}
		for _, q := range []string{
			"UPDATE entities SET hash = '' WHERE ref IN (SELECT src FROM dependencies WHERE dst = $1)",
			"UPDATE entities SET sys_ref = NULL, sys_kind = '', sys_group = '', hash = '' WHERE sys_ref = $1",
			"DELETE FROM dependencies WHERE src = $1",
			"DELETE FROM dependencies WHERE dst = $1",
			"DELETE FROM entity_groups WHERE owner = $1",
			"DELETE FROM entities WHERE ref = $1",
		} {
			if _, err := tx.ExecContext(ctx, q, ref); err != nil {
				return db.d.mapErr("delete "+kind.String(), err)
			}
		}
		if err := bumpCityVersion(ctx, db, tx); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, bulwark.AuditEntry{Org: s.auditOrg(), Actor: s.actor(), Action: "city.delete",
			Target: kind.String() + ":" + id, Outcome: "ok"})
	})
}

// CountEntities counts the visible entities and dependencies.
func (db *DB) CountEntities(ctx context.Context) (bulwark.Counts, error) {
	var c bulwark.Counts
	err := db.inRead(ctx, func(tx querier) error {
		s, err := db.scopeOf(ctx, tx)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		q := "SELECT COUNT(*) FROM organizations"
		if f := s.filter(&a, "id"); f != "" {
			q += " WHERE " + f
		}
		if err := tx.QueryRowContext(ctx, q, a.v...).Scan(&c.Organizations); err != nil {
			return db.d.mapErr("count organizations", err)
		}
		// A current cached graph answers the rest without a scan.
		var v int64
		if err := tx.QueryRowContext(ctx, "SELECT version FROM city_version WHERE id = 1").Scan(&v); err != nil {
			return db.d.mapErr("count entities", err)
		}
		if g := db.cachedGraph(v); g != nil {
			countGraph(g, s, &c)
			return nil
		}
		a = db.d.newArgs()
		q = "SELECT kind, COUNT(*), COALESCE(SUM(count), 0) FROM entities"
		if f := s.filter(&a, "owner"); f != "" {
			q += " WHERE " + f
		}
		rows, err := tx.QueryContext(ctx, q+" GROUP BY kind", a.v...)
		if err != nil {
			return db.d.mapErr("count entities", err)
		}
		for rows.Next() {
			var kind, n, units int64
			if err := rows.Scan(&kind, &n, &units); err != nil {
				rows.Close()
				return db.d.mapErr("count entities", err)
			}
			switch bulwark.NodeKind(kind) {
			case bulwark.KindService:
				c.Services = n
			case bulwark.KindSystem:
				c.Systems = n
			case bulwark.KindAsset:
				c.Assets, c.AssetUnits = n, units
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.d.mapErr("count entities", err)
		}
		var deps, links int64
		if s.all {
			err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM dependencies").Scan(&deps)
			if err == nil {
				err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM entities WHERE sys_ref IS NOT NULL").Scan(&links)
			}
		} else {
			a, b := db.d.newArgs(), db.d.newArgs()
			err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM dependencies d JOIN entities x ON x.ref = d.src JOIN entities y ON y.ref = d.dst WHERE "+
				s.filter(&a, "x.owner")+" AND "+s.filter(&a, "y.owner"), a.v...).Scan(&deps)
			if err == nil {
				err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM entities x JOIN entities y ON y.ref = x.sys_ref WHERE "+
					s.filter(&b, "x.owner")+" AND "+s.filter(&b, "y.owner"), b.v...).Scan(&links)
			}
		}
		if err != nil {
			return db.d.mapErr("count dependencies", err)
		}
		c.Dependencies = deps + links
		return nil
	})
	return c, err
}

// ResolveIDs returns the kind of each of ids that exists and is visible.
func (db *DB) ResolveIDs(ctx context.Context, ids []string) (map[string]bulwark.NodeKind, error) {
	out := make(map[string]bulwark.NodeKind, len(ids))
	err := db.inRead(ctx, func(tx querier) error {
		s, err := db.scopeOf(ctx, tx)
		if err != nil {
			return err
		}
		for _, c := range chunks(len(ids), 1000) {
			a := db.d.newArgs()
			q := "SELECT id, kind FROM entities WHERE id IN " + a.list(ids[c[0]:c[1]])
			if f := s.filter(&a, "owner"); f != "" {
				q += " AND " + f
			}
			rows, err := tx.QueryContext(ctx, q, a.v...)
			if err != nil {
				return db.d.mapErr("resolve ids", err)
			}
			for rows.Next() {
				var id string
				var kind int64
				if err := rows.Scan(&id, &kind); err != nil {
					rows.Close()
					return db.d.mapErr("resolve ids", err)
				}
				out[id] = bulwark.NodeKind(kind)
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return db.d.mapErr("resolve ids", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
