package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strings"

	"bulwark"
)

// maxProblems caps the problems one failed commit reports.
const maxProblems = 1000

// entRef is what an import knows about an entity it has put.
type entRef struct {
	ref  int64
	kind bulwark.NodeKind
}

// pendingEdge is a dependency waiting for Commit to resolve its target.
type pendingEdge struct {
	src   int64
	srcID string
	kind  bulwark.NodeKind // of the source, for messages
	dep   bulwark.Dependency
}

// pendingSys is an asset whose system was not known when it was put.
type pendingSys struct {
	asset   int64
	assetID string
	system  string
}

// importTx is one import: a single database transaction. Entities are
// upserted as they arrive, in multi-row statements; dependencies are
// buffered and resolved at Commit, when every entity of the import is known.
// After any error the transaction is poisoned: every later call returns
// that error and only Rollback remains.
type importTx struct {
	db *DB
	tx *sql.Tx
	s  scope

	stats  bulwark.ImportStats
	refs   map[string]entRef   // entities put in this import
	orgs   map[string]bool     // organizations put in this import
	owners map[string]struct{} // owners named by entities put
	grants map[string]string   // grantee -> a grantor naming it
	edges  []pendingEdge
	sys    []pendingSys

	upsert *sql.Stmt // prepared upsert of a full batch
	h      hash.Hash
	buf    []byte
	err    error
	closed bool
}

// BeginImport starts an import transaction. Viewers may not import.
func (db *DB) BeginImport(ctx context.Context) (bulwark.ImportTx, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, db.d.mapErr("begin import", err)
	}
	s, err := db.scopeOf(ctx, tx)
	if err == nil {
		err = s.canWrite("import")
	}
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	return &importTx{
		db: db, tx: tx, s: s,
		refs: map[string]entRef{}, orgs: map[string]bool{}, owners: map[string]struct{}{}, grants: map[string]string{},
		h: newHasher(),
	}, nil
}

// batchRows is how many entities one multi-row statement writes.
func (t *importTx) batchRows() int { return min(1000, t.db.d.maxParams/entityNCols) }

func (t *importTx) fail(err error) error {
	if t.err == nil {
		t.err = err
	}
	return err
}

func (t *importTx) usable() error {
	if t.err != nil {
		return t.err
	}
	if t.closed {
		return bulwark.Errorf(bulwark.EINVALID, "import transaction already finished")
	}
	return nil
}

// PutOrganizations upserts organizations. A non-system caller may change
// only its own organization; other organizations it sees may appear in its
// import unchanged (so that a whole-city file can be re-imported).
func (t *importTx) PutOrganizations(ctx context.Context, orgs []bulwark.Organization) error {
	if err := t.usable(); err != nil {
		return err
	}
	for i := range orgs {
		if err := t.putOrg(ctx, &orgs[i]); err != nil {
			return t.fail(err)
		}
	}
	return nil
}

func (t *importTx) putOrg(ctx context.Context, o *bulwark.Organization) error {
	if !bulwark.ValidID(o.ID) {
		return bulwark.Errorf(bulwark.EINVALID, "organization id %q is not a valid identifier", o.ID)
	}
	if _, dup := t.refs[o.ID]; dup || t.orgs[o.ID] {
		return bulwark.Errorf(bulwark.EINVALID, "id %q appears more than once in the import", o.ID)
	}
	if !slices.Contains(bulwark.Purviews, o.Purview) {
		return bulwark.Errorf(bulwark.EINVALID, "organization %q: invalid purview %q", o.ID, o.Purview)
	}
	contacts := o.Contacts
	if contacts == nil {
		contacts = []bulwark.Contact{}
	}
	cj, err := json.Marshal(contacts)
	if err != nil {
		return fmt.Errorf("encode contacts: %w", err)
	}
	shares := slices.Clone(o.SharesWith)
	slices.Sort(shares)
	shares = slices.Compact(shares)
	shares = slices.DeleteFunc(shares, func(s string) bool { return s == o.ID })
	for _, g := range shares {
		if !bulwark.ValidID(g) {
			return bulwark.Errorf(bulwark.EINVALID, "organization %q: shares_with names invalid id %q", o.ID, g)
		}
	}
	if shares == nil {
		shares = []string{}
	}
	sj, _ := json.Marshal(shares)
	h := orgHash(o, string(cj), string(sj))

	var oldHash string
	err = t.tx.QueryRowContext(ctx, "SELECT hash FROM organizations WHERE id = $1", o.ID).Scan(&oldHash)
	exists := err == nil
	if err != nil && err != sql.ErrNoRows {
		return t.db.d.mapErr("import organization", err)
	}
	if !t.s.owns(o.ID) {
		if exists && t.s.sees(o.ID) && oldHash == h {
			t.orgs[o.ID] = true
			t.stats.Unchanged++
			return nil
		}
		return bulwark.Errorf(bulwark.EFORBIDDEN, "organization %q: you may only change your own organization", o.ID)
	}
	t.orgs[o.ID] = true
	for _, g := range shares {
		t.grants[g] = o.ID
	}
	if exists && oldHash == h {
		t.stats.Unchanged++
		return nil
	}
	if exists {
		t.stats.Updated++
	} else {
		t.stats.Created++
	}
	t.stats.OthersChanged++
	_, err = t.tx.ExecContext(ctx, `INSERT INTO organizations (id, name, purview, contacts, shares, hash) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, purview = excluded.purview, contacts = excluded.contacts,
		shares = excluded.shares, hash = excluded.hash`, o.ID, o.Name, string(o.Purview), string(cj), string(sj), h)
	if err != nil {
		return t.db.d.mapErr("import organization "+o.ID, err)
	}
	if _, err := t.tx.ExecContext(ctx, "DELETE FROM shares WHERE grantor = $1", o.ID); err != nil {
		return t.db.d.mapErr("import organization "+o.ID, err)
	}
	for _, g := range shares {
		if _, err := t.tx.ExecContext(ctx, "INSERT INTO shares (grantor, grantee) VALUES ($1, $2)", o.ID, g); err != nil {
			return t.db.d.mapErr("import organization "+o.ID, err)
		}
	}
	return nil
}

// PutServices upserts services.
func (t *importTx) PutServices(ctx context.Context, services []bulwark.Service) error {
	if err := t.usable(); err != nil {
		return err
	}
	es := make([]entity, len(services))
	for i := range services {
		es[i] = fromService(&services[i])
	}
	return t.put(ctx, es)
}

// PutSystems upserts systems.
func (t *importTx) PutSystems(ctx context.Context, systems []bulwark.System) error {
	if err := t.usable(); err != nil {
		return err
	}
	es := make([]entity, len(systems))
	for i := range systems {
		es[i] = fromSystem(&systems[i])
	}
	return t.put(ctx, es)
}

// PutAssets upserts assets.
func (t *importTx) PutAssets(ctx context.Context, assets []bulwark.Asset) error {
	if err := t.usable(); err != nil {
		return err
	}
	es := make([]entity, len(assets))
	for i := range assets {
		es[i] = fromAsset(&assets[i])
	}
	return t.put(ctx, es)
}

func (t *importTx) put(ctx context.Context, es []entity) error {
	for i := range es {
		if err := t.check(&es[i]); err != nil {
			return t.fail(err)
		}
		t.buf = es[i].computeHash(t.h, t.buf)
	}
	n := t.batchRows()
	for _, c := range chunks(len(es), n) {
		if err := t.putBatch(ctx, es[c[0]:c[1]]); err != nil {
			return t.fail(err)
		}
	}
	return nil
}

// check validates what the store relies on (the city-model validator
// reports the rest with file positions) and the caller's right to write.
func (t *importTx) check(e *entity) error {
	k := e.Kind.String()
	if !bulwark.ValidID(e.ID) {
		return bulwark.Errorf(bulwark.EINVALID, "%s id %q is not a valid identifier", k, e.ID)
	}
	if !bulwark.ValidID(e.Owner) {
		return bulwark.Errorf(bulwark.EINVALID, "%s %q: owner %q is not a valid organization id", k, e.ID, e.Owner)
	}
	if !t.s.owns(e.Owner) {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "%s %q: you may only import entities owned by your organization %q", k, e.ID, t.s.p.Org)
	}
	if _, dup := t.refs[e.ID]; dup || t.orgs[e.ID] {
		return bulwark.Errorf(bulwark.EINVALID, "id %q appears more than once in the import", e.ID)
	}
	t.refs[e.ID] = entRef{kind: e.Kind} // ref filled in once written
	groups := map[string]bool{}
	for _, g := range e.Groups {
		if !bulwark.ValidID(g.ID) || groups[g.ID] || g.Need < 1 {
			return bulwark.Errorf(bulwark.EINVALID, "%s %q: group %q is invalid or duplicated, or needs fewer than 1", k, e.ID, g.ID)
		}
		groups[g.ID] = true
	}
	for i, d := range e.Deps {
		switch {
		case !bulwark.ValidID(d.On):
			return bulwark.Errorf(bulwark.EINVALID, "%s %q: dependency on invalid id %q", k, e.ID, d.On)
		case d.On == e.ID:
			return bulwark.Errorf(bulwark.EINVALID, "%s %q depends on itself", k, e.ID)
		case d.Kind != bulwark.Hard && d.Kind != bulwark.Soft:
			return bulwark.Errorf(bulwark.EINVALID, "%s %q: dependency on %q has invalid kind %q", k, e.ID, d.On, d.Kind)
		case d.Group != "" && !groups[d.Group]:
			return bulwark.Errorf(bulwark.EINVALID, "%s %q: dependency on %q names undeclared group %q", k, e.ID, d.On, d.Group)
		case i > 0 && slices.ContainsFunc(e.Deps[:i], func(p bulwark.Dependency) bool { return p.On == d.On }):
			return bulwark.Errorf(bulwark.EINVALID, "%s %q depends on %q twice", k, e.ID, d.On)
		}
	}
	if e.System != "" {
		if !bulwark.ValidID(e.System) || e.System == e.ID {
			return bulwark.Errorf(bulwark.EINVALID, "asset %q: invalid system %q", e.ID, e.System)
		}
		if e.SysKind != string(bulwark.Hard) && e.SysKind != string(bulwark.Soft) {
			return bulwark.Errorf(bulwark.EINVALID, "asset %q: invalid dependency kind %q", e.ID, e.SysKind)
		}
	}
	if e.Count < 0 || e.Population < 0 {
		return bulwark.Errorf(bulwark.EINVALID, "%s %q: negative count or population", k, e.ID)
	}
	t.owners[e.Owner] = struct{}{}
	return nil
}

// found is an entity already stored.
type found struct {
	ref   int64
	kind  bulwark.NodeKind
	owner string
	hash  string
}

// lookup reads the stored entities among ids (at most one batch).
func (t *importTx) lookup(ctx context.Context, ids []string) (map[string]found, error) {
	out := make(map[string]found, len(ids))
	for _, c := range chunks(len(ids), t.db.d.maxParams) {
		a := t.db.d.newArgs()
		var q string
		if t.db.d.arrays {
			q = "SELECT ref, id, kind, owner, hash FROM entities WHERE id = ANY(" + a.add(ids[c[0]:c[1]]) + "::text[])"
		} else {
			q = "SELECT ref, id, kind, owner, hash FROM entities WHERE id IN " + a.list(ids[c[0]:c[1]])
		}
		rows, err := t.tx.QueryContext(ctx, q, a.v...)
		if err != nil {
			return nil, t.db.d.mapErr("import: look up entities", err)
		}
		for rows.Next() {
			var f found
			var id string
			var kind int64
			if err := rows.Scan(&f.ref, &id, &kind, &f.owner, &f.hash); err != nil {
				rows.Close()
				return nil, t.db.d.mapErr("import: look up entities", err)
			}
			f.kind = bulwark.NodeKind(kind)
			out[id] = f
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, t.db.d.mapErr("import: look up entities", err)
		}
	}
	return out, nil
}

func (t *importTx) putBatch(ctx context.Context, es []entity) error {
	ids := make([]string, len(es))
	for i := range es {
		ids[i] = es[i].ID
	}
	stored, err := t.lookup(ctx, ids)
	if err != nil {
		return err
	}
	// Systems of assets that are neither in this import so far nor in
	// the batch lookup: look them up too.
	var sysIDs []string
	for i := range es {
		if s := es[i].System; s != "" {
			if r, ok := t.refs[s]; !ok || r.ref == 0 {
				sysIDs = append(sysIDs, s)
			}
		}
	}
	var sysStored map[string]found
	if len(sysIDs) > 0 {
		slices.Sort(sysIDs)
		sysIDs = slices.Compact(sysIDs)
		if sysStored, err = t.lookup(ctx, sysIDs); err != nil {
			return err
		}
	}

	write := make([]int, 0, len(es))   // indexes into es
	sysRefs := make([]any, 0, len(es)) // sys_ref per written entity
	var cleared []int64                // changed entities whose edges and groups go
	for i := range es {
		e := &es[i]
		if f, ok := stored[e.ID]; ok {
			if !t.s.owns(f.owner) {
				return bulwark.Errorf(bulwark.EFORBIDDEN, "%s %q: id %q is already in use", e.Kind, e.ID, e.ID)
			}
			if f.kind != e.Kind {
				return bulwark.Errorf(bulwark.ECONFLICT, "%s %q: id %q is already in use by a %s", e.Kind, e.ID, e.ID, f.kind)
			}
			t.refs[e.ID] = entRef{ref: f.ref, kind: e.Kind}
			if f.hash == e.Hash {
				t.stats.Unchanged++
				continue
			}
			t.stats.Updated++
			cleared = append(cleared, f.ref)
		} else {
			t.stats.Created++
		}
		t.noteChanged(e.Kind, e.ID)
		var sysRef any
		if e.System != "" {
			if r, ok := t.refs[e.System]; ok && r.ref != 0 {
				if r.kind != bulwark.KindSystem {
					return bulwark.Errorf(bulwark.EINVALID, "asset %q: %q is not a system", e.ID, e.System)
				}
				sysRef = r.ref
			} else if f, ok := sysStored[e.System]; ok && t.s.sees(f.owner) && f.kind == bulwark.KindSystem {
				sysRef = f.ref
			}
		}
		write = append(write, i)
		sysRefs = append(sysRefs, sysRef)
	}
	if len(cleared) > 0 {
		a := t.db.d.newArgs()
		in := a.listInt(cleared)
		if _, err := t.tx.ExecContext(ctx, "DELETE FROM dependencies WHERE src IN "+in, a.v...); err != nil {
			return t.db.d.mapErr("import: replace dependencies", err)
		}
		if _, err := t.tx.ExecContext(ctx, "DELETE FROM entity_groups WHERE owner IN "+in, a.v...); err != nil {
			return t.db.d.mapErr("import: replace groups", err)
		}
	}
	if len(write) == 0 {
		return nil
	}
	var rows *sql.Rows
	if t.db.d.arrays {
		rows, err = t.tx.QueryContext(ctx, upsertArraysSQL, entityArrays(es, write, sysRefs)...)
	} else if vals := valuesOf(es, write, sysRefs); len(write) == t.batchRows() {
		if t.upsert == nil {
			t.upsert, err = t.tx.PrepareContext(ctx, upsertSQL(t.db.d, len(write)))
			if err != nil {
				return t.db.d.mapErr("import: prepare", err)
			}
		}
		rows, err = t.upsert.QueryContext(ctx, vals...)
	} else {
		rows, err = t.tx.QueryContext(ctx, upsertSQL(t.db.d, len(write)), vals...)
	}
	if err != nil {
		return t.db.d.mapErr("import: write entities", err)
	}
	for rows.Next() {
		var ref int64
		var id string
		if err := rows.Scan(&ref, &id); err != nil {
			rows.Close()
			return t.db.d.mapErr("import: write entities", err)
		}
		r := t.refs[id]
		r.ref = ref
		t.refs[id] = r
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return t.db.d.mapErr("import: write entities", err)
	}

	// Groups now, dependencies and late system links at Commit.
	var gvals []any
	for j, i := range write {
		e := &es[i]
		ref := t.refs[e.ID].ref
		for _, g := range e.Groups {
			gvals = append(gvals, ref, g.ID, int64(g.Need))
		}
		for _, d := range e.Deps {
			t.edges = append(t.edges, pendingEdge{src: ref, srcID: e.ID, kind: e.Kind, dep: d})
		}
		if e.System != "" && sysRefs[j] == nil {
			t.sys = append(t.sys, pendingSys{asset: ref, assetID: e.ID, system: e.System})
		}
	}
	return t.insertRows(ctx, "entity_groups (owner, id, need)", 3, gvals)
}

func valuesOf(es []entity, write []int, sysRefs []any) []any {
	vals := make([]any, 0, len(write)*entityNCols)
	for j, i := range write {
		vals = es[i].appendValues(vals, sysRefs[j])
	}
	return vals
}

// upsertArraysSQL is the PostgreSQL upsert: one array parameter per column
// instead of one parameter per value, which PostgreSQL binds and plans far
// faster for a thousand rows.
const upsertArraysSQL = "INSERT INTO entities (" + entityCols + ") SELECT id, kind, owner, name, sector, population, conf, integ, avail, " +
	"zone, exposed, asset_kind, vendor, product, version, count, sys_kind, sys_group, attrs, hash, NULLIF(sys_ref, 0) " +
	"FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], " +
	"$10::text[], $11::boolean[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[], $19::text[], " +
	"$20::text[], $21::bigint[]) AS u(id, kind, owner, name, sector, population, conf, integ, avail, zone, exposed, asset_kind, vendor, " +
	"product, version, count, sys_kind, sys_group, attrs, hash, sys_ref) ON CONFLICT (id) DO UPDATE SET " + entityUpdate + " RETURNING ref, id"

// entityArrays returns the 21 column arrays of upsertArraysSQL.
func entityArrays(es []entity, write []int, sysRefs []any) []any {
	n := len(write)
	var (
		ids, owners, names, sectors, zones, kinds, vendors, products, versions = make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		sysKinds, sysGroups, attrs, hashes     = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		nodeKinds, pops, confs, integs, avails = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		counts, sys                            = make([]int64, n), make([]int64, n)
		exposed                                = make([]bool, n)
	)
	for j, i := range write {
		e := &es[i]
		ids[j], nodeKinds[j], owners[j], names[j], sectors[j], pops[j] = e.ID, int64(e.Kind), e.Owner, e.Name, e.Sector, e.Population
		confs[j], integs[j], avails[j] = int64(e.Cat.Confidentiality), int64(e.Cat.Integrity), int64(e.Cat.Availability)
		zones[j], exposed[j], kinds[j], vendors[j], products[j], versions[j] = e.Zone, e.Exposed, e.AssetKind, e.Vendor, e.Product, e.Version
		counts[j], sysKinds[j], sysGroups[j], attrs[j], hashes[j] = e.Count, e.SysKind, e.SysGroup, e.Attrs, e.Hash
		if r, ok := sysRefs[j].(int64); ok {
			sys[j] = r
		}
	}
	return []any{ids, nodeKinds, owners, names, sectors, pops, confs, integs, avails, zones, exposed, kinds, vendors, products, versions,
		counts, sysKinds, sysGroups, attrs, hashes, sys}
}

func upsertSQL(d *dialect, n int) string {
	return "INSERT INTO entities (" + entityCols + ") VALUES " + d.valuesSQL(n, entityNCols) +
		" ON CONFLICT (id) DO UPDATE SET " + entityUpdate + " RETURNING ref, id"
}

// insertRows writes vals (cols values per row) into table in multi-row
// statements.
func (t *importTx) insertRows(ctx context.Context, table string, cols int, vals []any) error {
	per := t.db.d.maxParams / cols * cols
	for len(vals) > 0 {
		n := min(len(vals), per)
		q := "INSERT INTO " + table + " VALUES " + t.db.d.valuesSQL(n/cols, cols)
		if _, err := t.tx.ExecContext(ctx, q, vals[:n]...); err != nil {
			return t.db.d.mapErr("import: write "+strings.Fields(table)[0], err)
		}
		vals = vals[n:]
	}
	return nil
}

// Commit resolves the buffered dependencies and system links, checks that
// every owner and sharing grantee exists, appends the audit entry and
// commits. Any problem rolls everything back.
func (t *importTx) Commit(ctx context.Context) (bulwark.ImportStats, error) {
	if err := t.usable(); err != nil {
		t.Rollback()
		return bulwark.ImportStats{}, err
	}
	stats, err := t.commit(ctx)
	if err != nil {
		t.fail(err)
		t.Rollback()
		return bulwark.ImportStats{}, err
	}
	return stats, nil
}

func (t *importTx) commit(ctx context.Context) (bulwark.ImportStats, error) {
	var problems []bulwark.Problem
	problem := func(format string, args ...any) {
		if len(problems) < maxProblems {
			problems = append(problems, bulwark.Problem{Message: fmt.Sprintf(format, args...)})
		}
	}

	// Targets not put in this import must be stored and visible.
	var missing []string
	for _, p := range t.sys {
		if _, ok := t.refs[p.system]; !ok {
			missing = append(missing, p.system)
		}
	}
	for _, e := range t.edges {
		if _, ok := t.refs[e.dep.On]; !ok {
			missing = append(missing, e.dep.On)
		}
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	stored, err := t.lookup(ctx, missing)
	if err != nil {
		return bulwark.ImportStats{}, err
	}
	resolve := func(id string) (entRef, bool) {
		if r, ok := t.refs[id]; ok {
			return r, true
		}
		if f, ok := stored[id]; ok && t.s.sees(f.owner) {
			return entRef{ref: f.ref, kind: f.kind}, true
		}
		return entRef{}, false
	}

	bySystem := map[int64][]int64{}
	for _, p := range t.sys {
		r, ok := resolve(p.system)
		switch {
		case !ok:
			problem("asset %q: system %q does not exist or is not visible", p.assetID, p.system)
		case r.kind != bulwark.KindSystem:
			problem("asset %q: %q is a %s, not a system", p.assetID, p.system, r.kind)
		default:
			bySystem[r.ref] = append(bySystem[r.ref], p.asset)
		}
	}
	evals := make([]any, 0, 4*len(t.edges))
	for _, e := range t.edges {
		r, ok := resolve(e.dep.On)
		if !ok {
			problem("%s %q depends on %q, which does not exist or is not visible", e.kind, e.srcID, e.dep.On)
			continue
		}
		evals = append(evals, e.src, r.ref, string(e.dep.Kind), e.dep.Group)
	}

	// Owners and grantees must be organizations.
	var orgIDs []string
	for o := range t.owners {
		if !t.orgs[o] {
			orgIDs = append(orgIDs, o)
		}
	}
	for g := range t.grants {
		if !t.orgs[g] {
			orgIDs = append(orgIDs, g)
		}
	}
	allOrgs, err := t.orgIDs(ctx)
	if err != nil {
		return bulwark.ImportStats{}, err
	}
	slices.Sort(orgIDs)
	for _, o := range slices.Compact(orgIDs) {
		if allOrgs[o] {
			continue
		}
		if _, owner := t.owners[o]; owner {
			problem("owner %q is not an organization", o)
		} else {
			problem("organization %q shares with %q, which is not an organization", t.grants[o], o)
		}
	}
	// Organizations and entities share one ID namespace.
	for o := range allOrgs {
		if r, ok := t.refs[o]; ok {
			problem("id %q is used by both an organization and a %s", o, r.kind)
		}
	}
	var put []string
	for o := range t.orgs {
		put = append(put, o)
	}
	clash, err := t.lookup(ctx, put)
	if err != nil {
		return bulwark.ImportStats{}, err
	}
	for id := range clash {
		problem("id %q is used by both an organization and another entity", id)
	}

	if len(problems) > 0 {
		slices.SortFunc(problems, func(a, b bulwark.Problem) int { return strings.Compare(a.Message, b.Message) })
		return bulwark.ImportStats{}, &bulwark.Error{Code: bulwark.EINVALID,
			Message: fmt.Sprintf("import has %d unresolved reference(s); nothing was stored", len(problems)), Details: problems}
	}

	for sys, assets := range bySystem {
		for _, c := range chunks(len(assets), t.db.d.maxParams-1) {
			a := t.db.d.newArgs()
			q := "UPDATE entities SET sys_ref = " + a.add(sys) + " WHERE ref IN " + a.listInt(assets[c[0]:c[1]])
			if _, err := t.tx.ExecContext(ctx, q, a.v...); err != nil {
				return bulwark.ImportStats{}, t.db.d.mapErr("import: link assets to systems", err)
			}
		}
	}
	if err := t.insertRows(ctx, "dependencies (src, dst, kind, grp)", 4, evals); err != nil {
		return bulwark.ImportStats{}, err
	}
	if err := bumpCityVersion(ctx, t.db, t.tx); err != nil {
		return bulwark.ImportStats{}, err
	}
	err = t.db.appendAudit(ctx, t.tx, bulwark.AuditEntry{
		Org: t.s.auditOrg(), Actor: t.s.actor(), Action: "city.import", Outcome: "ok",
		Detail: fmt.Sprintf("created=%d updated=%d unchanged=%d", t.stats.Created, t.stats.Updated, t.stats.Unchanged),
	})
	if err != nil {
		return bulwark.ImportStats{}, err
	}
	if err := t.tx.Commit(); err != nil {
		return bulwark.ImportStats{}, t.db.d.mapErr("commit import", err)
	}
	t.closed = true
	return t.stats, nil
}

func (t *importTx) orgIDs(ctx context.Context) (map[string]bool, error) {
	rows, err := t.tx.QueryContext(ctx, "SELECT id FROM organizations")
	if err != nil {
		return nil, t.db.d.mapErr("import: read organizations", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, t.db.d.mapErr("import: read organizations", err)
		}
		out[id] = true
	}
	return out, t.db.d.mapErr("import: read organizations", rows.Err())
}

// Rollback abandons the import. It is safe to call after Commit.
func (t *importTx) Rollback() error {
	if t.closed {
		return nil
	}
	t.closed = true
	if err := t.tx.Rollback(); err != nil && err != sql.ErrTxDone {
		return t.db.d.mapErr("rollback import", err)
	}
	return nil
}

// noteChanged records a created or updated entity for ImportStats.
func (t *importTx) noteChanged(kind bulwark.NodeKind, id string) {
	if kind != bulwark.KindAsset {
		t.stats.OthersChanged++
		return
	}
	if len(t.stats.ChangedAssets) < bulwark.MaxChangedAssets {
		t.stats.ChangedAssets = append(t.stats.ChangedAssets, id)
	} else {
		t.stats.AssetsTruncated = true
	}
}
