package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"bulwark"
)

// The intel store persists; it does not decide who sees what. Visibility
// (membership, collection access, the TLP rule) is decided in one place,
// internal/sharing, which is the only caller of these methods. They still
// need a Principal: changes are audited under it.

// maxIntelChunk is how many objects one round of PutIntelObjects reads and
// writes per statement.
const maxIntelChunk = 400

// statusRetention is how long TAXII status resources are kept (the spec
// asks for at least 24 hours).
const statusRetention = 7 * 24 * time.Hour

type intelAudience struct {
	Orgs  []string `json:"orgs,omitempty"`
	Users []int64  `json:"users,omitempty"`
}

func encodeAudience(s bulwark.IntelScope) string {
	if len(s.Orgs) == 0 && len(s.Users) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(intelAudience{Orgs: s.Orgs, Users: s.Users})
	return string(b)
}

func decodeAudience(text string, s *bulwark.IntelScope) error {
	if text == "{}" || text == "" {
		s.Orgs, s.Users = nil, nil
		return nil
	}
	var a intelAudience
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		return fmt.Errorf("decode audience: %w", err)
	}
	s.Orgs, s.Users = a.Orgs, a.Users
	return nil
}

// bumpAccess records a change of communities or access.
func (db *DB) bumpAccess(ctx context.Context, q querier) error {
	_, err := q.ExecContext(ctx, "UPDATE intel_state SET access_epoch = access_epoch + 1 WHERE id = 1")
	return db.d.mapErr("record intel access change", err)
}

func (db *DB) orgsExist(ctx context.Context, q querier, orgs []string) error {
	if len(orgs) == 0 {
		return nil
	}
	a := db.d.newArgs()
	rows, err := q.QueryContext(ctx, "SELECT id FROM organizations WHERE id IN "+a.list(orgs), a.v...)
	if err != nil {
		return db.d.mapErr("check organizations", err)
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return db.d.mapErr("check organizations", err)
		}
		found[id] = true
	}
	if err := rows.Err(); err != nil {
		return db.d.mapErr("check organizations", err)
	}
	for _, o := range orgs {
		if !found[o] {
			return bulwark.Errorf(bulwark.EINVALID, "%q is not an organization", bulwark.Truncate(o, 128))
		}
	}
	return nil
}

func memberOrgs(c *bulwark.Community) []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Org
	}
	return out
}

func (db *DB) putMembers(ctx context.Context, q querier, c *bulwark.Community) error {
	if _, err := q.ExecContext(ctx, "DELETE FROM intel_members WHERE community = $1", c.ID); err != nil {
		return db.d.mapErr("store community members", err)
	}
	for _, ch := range chunks(len(c.Members), 500) {
		part := c.Members[ch[0]:ch[1]]
		a := db.d.newArgs()
		var b strings.Builder
		for i, m := range part {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%s, %s, %s)", a.add(c.ID), a.add(m.Org), a.add(m.Owner))
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO intel_members (community, org, owner) VALUES "+b.String(), a.v...); err != nil {
			return db.d.mapErr("store community members", err)
		}
	}
	return nil
}

// CreateCommunity stores a new community and its members.
func (db *DB) CreateCommunity(ctx context.Context, c *bulwark.Community) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.writerScope(ctx)
		if err != nil {
			return err
		}
		if err := db.orgsExist(ctx, q, memberOrgs(c)); err != nil {
			return err
		}
		c.CreatedAt = db.now().UTC().Truncate(time.Microsecond)
		if _, err := q.ExecContext(ctx, "INSERT INTO intel_communities (id, name, description, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
			c.ID, c.Name, c.Description, c.CreatedBy, micros(c.CreatedAt)); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "community id %s is already in use", c.ID)
			}
			return db.d.mapErr("create community", err)
		}
		if err := db.putMembers(ctx, q, c); err != nil {
			return err
		}
		if err := db.bumpAccess(ctx, q); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "intel.community.create",
			Target: "community:" + c.ID, Outcome: "ok", Detail: fmt.Sprintf("%d members", len(c.Members))})
	})
}

// UpdateCommunity replaces a community's name, description and members.
// Collection access of organizations that left is removed in the same
// transaction.
func (db *DB) UpdateCommunity(ctx context.Context, c *bulwark.Community) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.writerScope(ctx)
		if err != nil {
			return err
		}
		if err := db.orgsExist(ctx, q, memberOrgs(c)); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, "UPDATE intel_communities SET name = $1, description = $2 WHERE id = $3", c.Name, c.Description, c.ID)
		if err != nil {
			return db.d.mapErr("update community", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return bulwark.Errorf(bulwark.ENOTFOUND, "community %q not found", bulwark.Truncate(c.ID, 128))
		}
		if err := db.putMembers(ctx, q, c); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM intel_access WHERE collection IN (SELECT id FROM intel_collections WHERE community = $1)
			AND org NOT IN (SELECT org FROM intel_members WHERE community = $2)`, c.ID, c.ID); err != nil {
			return db.d.mapErr("update community", err)
		}
		if err := db.bumpAccess(ctx, q); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "intel.community.update",
			Target: "community:" + c.ID, Outcome: "ok", Detail: fmt.Sprintf("%d members", len(c.Members))})
	})
}

// ListCommunities returns every community with its members, by ID.
func (db *DB) ListCommunities(ctx context.Context) ([]bulwark.Community, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	var out []bulwark.Community
	err := db.inRead(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, "SELECT id, name, description, created_by, created_at FROM intel_communities ORDER BY id")
		if err != nil {
			return db.d.mapErr("list communities", err)
		}
		idx := map[string]int{}
		for rows.Next() {
			var c bulwark.Community
			var at int64
			if err := rows.Scan(&c.ID, &c.Name, &c.Description, &c.CreatedBy, &at); err != nil {
				rows.Close()
				return db.d.mapErr("list communities", err)
			}
			c.CreatedAt = fromMicros(at)
			idx[c.ID] = len(out)
			out = append(out, c)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.d.mapErr("list communities", err)
		}
		rows, err = q.QueryContext(ctx, "SELECT community, org, owner FROM intel_members ORDER BY community, org")
		if err != nil {
			return db.d.mapErr("list communities", err)
		}
		defer rows.Close()
		for rows.Next() {
			var com string
			var m bulwark.CommunityMember
			if err := rows.Scan(&com, &m.Org, &m.Owner); err != nil {
				return db.d.mapErr("list communities", err)
			}
			if i, ok := idx[com]; ok {
				out[i].Members = append(out[i].Members, m)
			}
		}
		return db.d.mapErr("list communities", rows.Err())
	})
	return out, err
}

func (db *DB) putAccess(ctx context.Context, q querier, c *bulwark.Collection) error {
	if _, err := q.ExecContext(ctx, "DELETE FROM intel_access WHERE collection = $1", c.ID); err != nil {
		return db.d.mapErr("store collection access", err)
	}
	for _, ch := range chunks(len(c.Access), 500) {
		part := c.Access[ch[0]:ch[1]]
		a := db.d.newArgs()
		var b strings.Builder
		for i, x := range part {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%s, %s, %s, %s)", a.add(c.ID), a.add(x.Org), a.add(x.CanRead), a.add(x.CanWrite))
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO intel_access (collection, org, can_read, can_write) VALUES "+b.String(), a.v...); err != nil {
			return db.d.mapErr("store collection access", err)
		}
	}
	return nil
}

// checkAccessMembers refuses access for organizations that are not members
// of the collection's community, read in the writing transaction.
func (db *DB) checkAccessMembers(ctx context.Context, q querier, c *bulwark.Collection) error {
	rows, err := q.QueryContext(ctx, "SELECT org FROM intel_members WHERE community = $1", c.Community)
	if err != nil {
		return db.d.mapErr("check collection access", err)
	}
	members := map[string]bool{}
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			rows.Close()
			return db.d.mapErr("check collection access", err)
		}
		members[o] = true
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return db.d.mapErr("check collection access", err)
	}
	if len(members) == 0 {
		return bulwark.Errorf(bulwark.EINVALID, "community %q not found", bulwark.Truncate(c.Community, 128))
	}
	for _, x := range c.Access {
		if !members[x.Org] {
			return bulwark.Errorf(bulwark.EINVALID, "%s is not a member of community %s", bulwark.Truncate(x.Org, 128), c.Community)
		}
	}
	return nil
}

// CreateCollection stores a new collection of an existing community.
func (db *DB) CreateCollection(ctx context.Context, c *bulwark.Collection) error {
	if err := c.Validate(nil); err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.writerScope(ctx)
		if err != nil {
			return err
		}
		if err := db.checkAccessMembers(ctx, q, c); err != nil {
			return err
		}
		c.CreatedAt = db.now().UTC().Truncate(time.Microsecond)
		if _, err := q.ExecContext(ctx, "INSERT INTO intel_collections (id, community, title, description, alias, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
			c.ID, c.Community, c.Title, c.Description, c.Alias, micros(c.CreatedAt)); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "collection id or alias is already in use")
			}
			return db.d.mapErr("create collection", err)
		}
		if err := db.putAccess(ctx, q, c); err != nil {
			return err
		}
		if err := db.bumpAccess(ctx, q); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "intel.collection.create",
			Target: "collection:" + c.ID, Outcome: "ok", Detail: "community " + c.Community})
	})
}

// UpdateCollection replaces a collection's title, description, alias and
// access; its community cannot change.
func (db *DB) UpdateCollection(ctx context.Context, c *bulwark.Collection) error {
	if err := c.Validate(nil); err != nil {
		return err
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.writerScope(ctx)
		if err != nil {
			return err
		}
		var community string
		err = q.QueryRowContext(ctx, "SELECT community FROM intel_collections WHERE id = $1", c.ID).Scan(&community)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "collection %q not found", bulwark.Truncate(c.ID, 128))
		}
		if err != nil {
			return db.d.mapErr("update collection", err)
		}
		c.Community = community
		if err := db.checkAccessMembers(ctx, q, c); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, "UPDATE intel_collections SET title = $1, description = $2, alias = $3 WHERE id = $4",
			c.Title, c.Description, c.Alias, c.ID); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "collection alias is already in use")
			}
			return db.d.mapErr("update collection", err)
		}
		if err := db.putAccess(ctx, q, c); err != nil {
			return err
		}
		if err := db.bumpAccess(ctx, q); err != nil {
			return err
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "intel.collection.update",
			Target: "collection:" + c.ID, Outcome: "ok", Detail: fmt.Sprintf("%d access entries", len(c.Access))})
	})
}

// ListCollections returns every collection with its access, by ID.
func (db *DB) ListCollections(ctx context.Context) ([]bulwark.Collection, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	var out []bulwark.Collection
	err := db.inRead(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, "SELECT id, community, title, description, alias, created_at FROM intel_collections ORDER BY id")
		if err != nil {
			return db.d.mapErr("list collections", err)
		}
		idx := map[string]int{}
		for rows.Next() {
			var c bulwark.Collection
			var at int64
			if err := rows.Scan(&c.ID, &c.Community, &c.Title, &c.Description, &c.Alias, &at); err != nil {
				rows.Close()
				return db.d.mapErr("list collections", err)
			}
			c.CreatedAt = fromMicros(at)
			idx[c.ID] = len(out)
			out = append(out, c)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.d.mapErr("list collections", err)
		}
		rows, err = q.QueryContext(ctx, "SELECT collection, org, can_read, can_write FROM intel_access ORDER BY collection, org")
		if err != nil {
			return db.d.mapErr("list collections", err)
		}
		defer rows.Close()
		for rows.Next() {
			var col string
			var x bulwark.CollectionAccess
			if err := rows.Scan(&col, &x.Org, &x.CanRead, &x.CanWrite); err != nil {
				return db.d.mapErr("list collections", err)
			}
			if i, ok := idx[col]; ok {
				out[i].Access = append(out[i].Access, x)
			}
		}
		return db.d.mapErr("list collections", rows.Err())
	})
	return out, err
}

// writerScope returns the caller's scope for audit purposes (no grants are
// read: the intel store does not filter).
func (db *DB) writerScope(ctx context.Context) (scope, error) {
	p, err := principal(ctx)
	if err != nil {
		return scope{}, err
	}
	return scope{p: p, all: p.System}, nil
}

// intelState reads and locks the state row inside a write transaction.
func (db *DB) lockIntelState(ctx context.Context, q querier) (bulwark.IntelState, error) {
	var st bulwark.IntelState
	var added int64
	err := q.QueryRowContext(ctx, "UPDATE intel_state SET last_seq = last_seq WHERE id = 1 RETURNING last_seq, last_added, epoch, access_epoch").
		Scan(&st.LastSeq, &added, &st.Epoch, &st.AccessEpoch)
	if err != nil {
		return st, db.d.mapErr("lock intel state", err)
	}
	st.LastAdded = fromMicros(added)
	return st, nil
}

// IntelState returns the store's change counters.
func (db *DB) IntelState(ctx context.Context) (bulwark.IntelState, error) {
	if _, err := principal(ctx); err != nil {
		return bulwark.IntelState{}, err
	}
	var st bulwark.IntelState
	var added int64
	err := db.reader().QueryRowContext(ctx, "SELECT last_seq, last_added, epoch, access_epoch FROM intel_state WHERE id = 1").
		Scan(&st.LastSeq, &added, &st.Epoch, &st.AccessEpoch)
	st.LastAdded = fromMicros(added)
	return st, db.d.mapErr("read intel state", err)
}

func bodyHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:16])
}

type intelRow struct {
	seq       int64
	publisher string
	version   int64
	hash      string
	scope     bulwark.IntelScope
}

// PutIntelObjects adds objects to one collection in one transaction. Each
// object is checked against the versions already stored under its STIX id
// (and those added earlier in the same call) by check, which returns the
// scope to store or refuses the object. An identical version already stored
// is a duplicate, not an error; a different body under the same id,
// publisher and version is refused.
func (db *DB) PutIntelObjects(ctx context.Context, collection string, objs []bulwark.IntelObject, check bulwark.IntelCheck) ([]bulwark.IntelPut, error) {
	out := make([]bulwark.IntelPut, len(objs))
	err := db.inWrite(ctx, func(q querier) error {
		sc, err := db.writerScope(ctx)
		if err != nil {
			return err
		}
		st, err := db.lockIntelState(ctx, q)
		if err != nil {
			return err
		}
		var exists int
		if err := q.QueryRowContext(ctx, "SELECT 1 FROM intel_collections WHERE id = $1", collection).Scan(&exists); err != nil {
			if err == sql.ErrNoRows {
				return bulwark.Errorf(bulwark.ENOTFOUND, "collection %q not found", bulwark.Truncate(collection, 128))
			}
			return db.d.mapErr("add intel objects", err)
		}
		now := db.now().UTC().Truncate(time.Microsecond)
		added := now
		if !st.LastAdded.IsZero() && added.Before(st.LastAdded) {
			added = st.LastAdded // date_added never goes back, whatever the clocks say
		}
		seq := st.LastSeq
		// known holds the rows of each STIX id touched by this call.
		known := map[string][]intelRow{}
		stored, dups, refused := 0, 0, 0
		for _, ch := range chunks(len(objs), maxIntelChunk) {
			part := objs[ch[0]:ch[1]]
			var ids []string
			for _, o := range part {
				if _, ok := known[o.STIXID]; !ok {
					known[o.STIXID] = nil
					ids = append(ids, o.STIXID)
				}
			}
			if err := db.loadIntelRows(ctx, q, collection, ids, known); err != nil {
				return err
			}
			var rows []int // indexes into objs stored in this chunk
			for i := range part {
				k := ch[0] + i
				o := &objs[k]
				o.Collection = collection
				o.Normalize()
				h := bodyHash(o.Body)
				unversioned := o.Version.IsZero()
				if unversioned {
					// Objects with neither modified nor created (cyber-
					// observables) take their date_added as version; an
					// identical body already stored is the same object.
					o.Version = added
				}
				v := micros(o.Version)
				var own *bulwark.IntelScope
				var others []bulwark.IntelScope
				dup, clash := false, false
				for _, r := range known[o.STIXID] {
					if r.publisher == o.PublisherOrg {
						s := r.scope
						own = &s
						switch {
						case unversioned && r.hash == h:
							dup = true
						case unversioned && r.version == v:
							clash = true
						case !unversioned && r.version == v:
							dup, clash = r.hash == h, r.hash != h
						}
					} else if !slices.ContainsFunc(others, r.scope.Equal) {
						others = append(others, r.scope)
					}
				}
				switch {
				case dup:
					out[k] = bulwark.IntelPut{Duplicate: true}
					dups++
					continue
				case clash:
					out[k] = bulwark.IntelPut{Err: bulwark.Errorf(bulwark.ECONFLICT, "%s: a different object with this id and version is already in the collection", o.String())}
					refused++
					continue
				}
				scope := o.IntelScope
				if check != nil {
					s, err := check(o, own, others)
					if err != nil {
						out[k] = bulwark.IntelPut{Err: err}
						refused++
						continue
					}
					scope = s
				}
				scope.Normalize()
				if err := scope.Validate(); err != nil {
					out[k] = bulwark.IntelPut{Err: err}
					refused++
					continue
				}
				if own != nil && !own.Equal(scope) {
					// Re-scope the publisher's earlier versions with it. The new
					// version's row carries the new scope, so readers that
					// tail the store learn of the change from it.
					if _, err := q.ExecContext(ctx, "UPDATE intel_objects SET marking = $1, audience = $2, publisher_user = $3 WHERE collection = $4 AND stix_id = $5 AND publisher = $6",
						string(scope.Marking), encodeAudience(scope), scope.PublisherUser, collection, o.STIXID, o.PublisherOrg); err != nil {
						return db.d.mapErr("re-scope intel object", err)
					}
					for j := range known[o.STIXID] {
						if known[o.STIXID][j].publisher == o.PublisherOrg {
							known[o.STIXID][j].scope = scope
						}
					}
				}
				o.IntelScope = scope
				seq++
				o.Seq, o.DateAdded = seq, added
				known[o.STIXID] = append(known[o.STIXID], intelRow{seq: seq, publisher: o.PublisherOrg, version: v, hash: h, scope: scope})
				out[k] = bulwark.IntelPut{Seq: seq, DateAdded: added}
				rows = append(rows, k)
				stored++
			}
			if err := db.insertIntelRows(ctx, q, objs, rows); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, "UPDATE intel_state SET last_seq = $1, last_added = $2 WHERE id = 1", seq, micros(added)); err != nil {
			return db.d.mapErr("add intel objects", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "intel.add",
			Target: "collection:" + collection, Outcome: "ok", Detail: fmt.Sprintf("%d stored, %d duplicate, %d refused", stored, dups, refused)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// loadIntelRows reads the stored versions of ids in collection into known.
func (db *DB) loadIntelRows(ctx context.Context, q querier, collection string, ids []string, known map[string][]intelRow) error {
	if len(ids) == 0 {
		return nil
	}
	a := db.d.newArgs()
	query := "SELECT seq, stix_id, publisher, publisher_user, version, hash, marking, audience FROM intel_objects WHERE collection = " +
		a.add(collection) + " AND stix_id IN " + a.list(ids)
	rows, err := q.QueryContext(ctx, query, a.v...)
	if err != nil {
		return db.d.mapErr("read intel objects", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r intelRow
		var id, marking, aud string
		if err := rows.Scan(&r.seq, &id, &r.publisher, &r.scope.PublisherUser, &r.version, &r.hash, &marking, &aud); err != nil {
			return db.d.mapErr("read intel objects", err)
		}
		r.scope.Marking, r.scope.PublisherOrg = bulwark.TLP(marking), r.publisher
		if err := decodeAudience(aud, &r.scope); err != nil {
			return err
		}
		known[id] = append(known[id], r)
	}
	return db.d.mapErr("read intel objects", rows.Err())
}

func (db *DB) insertIntelRows(ctx context.Context, q querier, objs []bulwark.IntelObject, rows []int) error {
	if len(rows) == 0 {
		return nil
	}
	a := db.d.newArgs()
	var b strings.Builder
	for i, k := range rows {
		o := &objs[k]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j, v := range []any{o.Seq, o.Collection, o.STIXID, o.PublisherOrg, o.PublisherUser, o.Type, o.SpecVersion,
			micros(o.Version), micros(o.DateAdded), o.Revoked, string(o.Marking), encodeAudience(o.IntelScope), o.Source, bodyHash(o.Body)} {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(a.add(v))
		}
		b.WriteByte(')')
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO intel_objects (seq, collection, stix_id, publisher, publisher_user, type, spec_version,
		version, date_added, revoked, marking, audience, source, hash) VALUES `+b.String(), a.v...); err != nil {
		return db.d.mapErr("store intel objects", err)
	}
	a = db.d.newArgs()
	b.Reset()
	for i, k := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%s, %s)", a.add(objs[k].Seq), a.add(string(objs[k].Body)))
	}
	if _, err := q.ExecContext(ctx, "INSERT INTO intel_bodies (seq, body) VALUES "+b.String(), a.v...); err != nil {
		return db.d.mapErr("store intel objects", err)
	}
	return nil
}

// DeleteIntelVersions removes versions (by Seq) of objects in collection.
func (db *DB) DeleteIntelVersions(ctx context.Context, collection string, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.writerScope(ctx)
		if err != nil {
			return err
		}
		if _, err := db.lockIntelState(ctx, q); err != nil {
			return err
		}
		var n int64
		for _, ch := range chunks(len(seqs), 1000) {
			part := seqs[ch[0]:ch[1]]
			a := db.d.newArgs()
			res, err := q.ExecContext(ctx, "DELETE FROM intel_objects WHERE collection = "+a.add(collection)+" AND seq IN "+a.listInt(part), a.v...)
			if err != nil {
				return db.d.mapErr("delete intel objects", err)
			}
			k, _ := res.RowsAffected()
			n += k
			a = db.d.newArgs()
			if _, err := q.ExecContext(ctx, "DELETE FROM intel_bodies WHERE seq IN "+a.listInt(part)+
				" AND NOT EXISTS (SELECT 1 FROM intel_objects o WHERE o.seq = intel_bodies.seq)", a.v...); err != nil {
				return db.d.mapErr("delete intel objects", err)
			}
		}
		if _, err := q.ExecContext(ctx, "UPDATE intel_state SET epoch = epoch + 1 WHERE id = 1"); err != nil {
			return db.d.mapErr("delete intel objects", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "intel.delete",
			Target: "collection:" + collection, Outcome: "ok", Detail: fmt.Sprintf("%d versions", n)})
	})
}

// ScanIntelObjects returns up to limit objects (without bodies) with Seq >
// after, in Seq order.
func (db *DB) ScanIntelObjects(ctx context.Context, after int64, limit int) ([]bulwark.IntelObject, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100_000 {
		limit = 100_000
	}
	rows, err := db.reader().QueryContext(ctx, `SELECT seq, collection, stix_id, publisher, publisher_user, type, spec_version,
		version, date_added, revoked, marking, audience, source FROM intel_objects WHERE seq > $1 ORDER BY seq LIMIT $2`, after, int64(limit))
	if err != nil {
		return nil, db.d.mapErr("scan intel objects", err)
	}
	defer rows.Close()
	out := make([]bulwark.IntelObject, 0, min(limit, 1024))
	// Scopes repeat: decode each distinct audience text once.
	auds := map[string]bulwark.IntelScope{}
	for rows.Next() {
		var o bulwark.IntelObject
		var version, added int64
		var marking, aud string
		if err := rows.Scan(&o.Seq, &o.Collection, &o.STIXID, &o.PublisherOrg, &o.PublisherUser, &o.Type, &o.SpecVersion,
			&version, &added, &o.Revoked, &marking, &aud, &o.Source); err != nil {
			return nil, db.d.mapErr("scan intel objects", err)
		}
		o.Version, o.DateAdded, o.Marking = fromMicros(version), fromMicros(added), bulwark.TLP(marking)
		s, ok := auds[aud]
		if !ok {
			if err := decodeAudience(aud, &s); err != nil {
				return nil, err
			}
			auds[aud] = s
		}
		o.Orgs, o.Users = s.Orgs, s.Users
		out = append(out, o)
	}
	return out, db.d.mapErr("scan intel objects", rows.Err())
}

// IntelBodies returns the bodies of seqs in order; nil for a missing one.
func (db *DB) IntelBodies(ctx context.Context, seqs []int64) ([][]byte, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	out := make([][]byte, len(seqs))
	if len(seqs) == 0 {
		return out, nil
	}
	// A page is a run of nearly consecutive seqs: one range scan of the
	// primary key reads it far faster than a list of a thousand values.
	lo, hi := slices.Min(seqs), slices.Max(seqs)
	if hi-lo < int64(2*len(seqs))+64 {
		return db.intelBodyRange(ctx, seqs, lo, hi, out)
	}
	pos := make(map[int64][]int, len(seqs))
	for i, s := range seqs {
		pos[s] = append(pos[s], i)
	}
	for _, ch := range chunks(len(seqs), 1000) {
		part := seqs[ch[0]:ch[1]]
		a := db.d.newArgs()
		q := "SELECT seq, body FROM intel_bodies WHERE seq IN " + a.listInt(part)
		if len(part) == 1 {
			a = db.d.newArgs()
			q = "SELECT seq, body FROM intel_bodies WHERE seq = " + a.add(part[0])
		}
		rows, err := db.reader().QueryContext(ctx, q, a.v...)
		if err != nil {
			return nil, db.d.mapErr("read intel objects", err)
		}
		for rows.Next() {
			var s int64
			var body sql.RawBytes
			if err := rows.Scan(&s, &body); err != nil {
				rows.Close()
				return nil, db.d.mapErr("read intel objects", err)
			}
			b := slices.Clone([]byte(body))
			for _, i := range pos[s] {
				out[i] = b
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, db.d.mapErr("read intel objects", err)
		}
	}
	return out, nil
}

func (db *DB) intelBodyRange(ctx context.Context, seqs []int64, lo, hi int64, out [][]byte) ([][]byte, error) {
	want := make(map[int64]int, len(seqs))
	for i, s := range seqs {
		want[s] = i
	}
	rows, err := db.reader().QueryContext(ctx, "SELECT seq, body FROM intel_bodies WHERE seq >= $1 AND seq <= $2 ORDER BY seq", lo, hi)
	if err != nil {
		return nil, db.d.mapErr("read intel objects", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s int64
		var body sql.RawBytes
		if err := rows.Scan(&s, &body); err != nil {
			return nil, db.d.mapErr("read intel objects", err)
		}
		if i, ok := want[s]; ok {
			out[i] = slices.Clone([]byte(body))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.d.mapErr("read intel objects", err)
	}
	// A seq asked for twice gets the same body.
	for i, s := range seqs {
		if out[i] == nil {
			if j := want[s]; j != i {
				out[i] = out[j]
			}
		}
	}
	return out, nil
}

// IntelSecret returns the database's random cursor key, creating it once.
func (db *DB) IntelSecret(ctx context.Context) ([]byte, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	var s string
	if err := db.reader().QueryRowContext(ctx, "SELECT secret FROM intel_state WHERE id = 1").Scan(&s); err != nil {
		return nil, db.d.mapErr("read intel secret", err)
	}
	if s == "" {
		var b [32]byte
		rand.Read(b[:])
		err := db.inWrite(ctx, func(q querier) error {
			if _, err := q.ExecContext(ctx, "UPDATE intel_state SET secret = $1 WHERE id = 1 AND secret = ''", hex.EncodeToString(b[:])); err != nil {
				return db.d.mapErr("create intel secret", err)
			}
			return db.d.mapErr("read intel secret", q.QueryRowContext(ctx, "SELECT secret FROM intel_state WHERE id = 1").Scan(&s))
		})
		if err != nil {
			return nil, err
		}
	}
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != 32 {
		return nil, bulwark.Errorf(bulwark.EINTERNAL, "intel secret is damaged")
	}
	return key, nil
}

// PutIntelStatus stores a TAXII status resource for the caller's user and
// drops those older than a week.
func (db *DB) PutIntelStatus(ctx context.Context, s *bulwark.IntelStatus) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if !bulwark.ValidUUID(s.ID) {
		return bulwark.Errorf(bulwark.EINVALID, "status id is not a UUID")
	}
	body, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	return db.inWrite(ctx, func(q querier) error {
		now := db.now()
		if _, err := q.ExecContext(ctx, "DELETE FROM intel_status WHERE created_at < $1", micros(now.Add(-statusRetention))); err != nil {
			return db.d.mapErr("store status", err)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO intel_status (id, collection, org, user_id, created_at, body) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET body = excluded.body`,
			s.ID, s.Collection, p.Org, p.UserID, micros(now), string(body))
		return db.d.mapErr("store status", err)
	})
}

// FindIntelStatus returns a status resource of the caller's own user
// (every status for the System principal).
func (db *DB) FindIntelStatus(ctx context.Context, id string) (*bulwark.IntelStatus, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	notFound := bulwark.Errorf(bulwark.ENOTFOUND, "status %q not found", bulwark.Truncate(id, 64))
	var col, org, body string
	var user int64
	err = db.reader().QueryRowContext(ctx, "SELECT collection, org, user_id, body FROM intel_status WHERE id = $1", id).Scan(&col, &org, &user, &body)
	if err == sql.ErrNoRows {
		return nil, notFound
	}
	if err != nil {
		return nil, db.d.mapErr("read status", err)
	}
	if !p.System && (org != p.Org || user != p.UserID) {
		return nil, notFound
	}
	var s bulwark.IntelStatus
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		return nil, fmt.Errorf("decode status: %w", err)
	}
	s.Collection, s.Org, s.UserID = col, org, user
	return &s, nil
}
