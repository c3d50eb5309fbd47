package citymodel

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"bulwark"
)

// kind is a bit set of entity kinds, so that a reference can allow several.
type kind uint8

const (
	kindOrg kind = 1 << iota
	kindService
	kindSystem
	kindAsset
)

func (k kind) String() string {
	var names []string
	for _, x := range []struct {
		k kind
		n string
	}{{kindOrg, "organization"}, {kindService, "service"}, {kindSystem, "system"}, {kindAsset, "asset"}} {
		if k&x.k != 0 {
			names = append(names, x.n)
		}
	}
	switch len(names) {
	case 0:
		return "nothing"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func kindOfNode(k bulwark.NodeKind) kind {
	switch k {
	case bulwark.KindService:
		return kindService
	case bulwark.KindSystem:
		return kindSystem
	case bulwark.KindAsset:
		return kindAsset
	}
	return 0
}

// checker holds what the validation pass keeps across documents and files
// to check references, uniqueness and redundancy groups once everything has
// been read: ids with their kinds and positions, not whole entities.
type checker struct {
	p   *problems
	ids map[string]declared

	// References are grouped by target, so that a million assets naming
	// the same owner cost one entry; each keeps the positions of its first
	// MaxProblems uses, for the report should the target be missing.
	refs      map[refKey]*uses
	groups    map[string]*groupInfo // key: owner id + "\x00" + group id
	edges     map[[2]string]pos     // system depends_on: (system, target) -> where
	groupUses map[string]*uses      // assets naming a group of their system: system + "\x00" + group
}

type declared struct {
	k      kind
	at     pos
	system string // assets: the system they are part of
}

type refKey struct {
	id    string
	kinds kind
}

// uses counts the uses of something and keeps where the first ones are.
type uses struct {
	n     int
	first []use
}

type use struct {
	at    pos
	field string
}

func (u *uses) add(at pos, field string) {
	u.n++
	if len(u.first) < MaxProblems {
		u.first = append(u.first, use{at, field})
	}
}

// report adds one problem per use (those not kept are counted).
func (u *uses) report(p *problems, format string, args ...any) {
	for _, x := range u.first {
		p.add(x.at, x.field, format, args...)
	}
	p.total += u.n - len(u.first)
}

type groupInfo struct {
	owner   string
	ownerK  kind
	g       bulwark.Group
	members int
	at      pos
	field   string
}

// sink receives what the decoder finds for the cross checks: the checker
// itself, or a recorder when documents are decoded in parallel.
type sink interface {
	declare(k kind, id string, at pos, field string)
	ref(id string, kinds kind, at pos, field, from string)
	group(owner string, k kind, g bulwark.Group, members int, at pos, field string)
	systemEdge(system, target string, at pos, field string)
	assetSystem(system, asset, group string, at pos, field string, groupAt pos, groupField string)
}

// recorder keeps the calls of one document's decoder, to be replayed on the
// checker in document order.
type recorder struct{ ops []op }

type op struct {
	code          uint8
	k             kind
	a, b, c       string
	field, field2 string
	at, at2       pos
	g             bulwark.Group
	members       int
}

const (
	opDeclare uint8 = iota
	opRef
	opGroup
	opSystemEdge
	opAssetSystem
)

func (r *recorder) declare(k kind, id string, at pos, field string) {
	r.ops = append(r.ops, op{code: opDeclare, k: k, a: id, at: at, field: field})
}
func (r *recorder) ref(id string, kinds kind, at pos, field, from string) {
	r.ops = append(r.ops, op{code: opRef, k: kinds, a: id, at: at, field: field, b: from})
}
func (r *recorder) group(owner string, k kind, g bulwark.Group, members int, at pos, field string) {
	r.ops = append(r.ops, op{code: opGroup, k: k, a: owner, g: g, members: members, at: at, field: field})
}
func (r *recorder) systemEdge(system, target string, at pos, field string) {
	r.ops = append(r.ops, op{code: opSystemEdge, a: system, b: target, at: at, field: field})
}
func (r *recorder) assetSystem(system, asset, group string, at pos, field string, groupAt pos, groupField string) {
	r.ops = append(r.ops, op{code: opAssetSystem, a: system, b: asset, c: group, at: at, field: field, at2: groupAt, field2: groupField})
}

// replay makes the recorded calls on s.
func (r *recorder) replay(s sink) {
	for _, o := range r.ops {
		switch o.code {
		case opDeclare:
			s.declare(o.k, o.a, o.at, o.field)
		case opRef:
			s.ref(o.a, o.k, o.at, o.field, o.b)
		case opGroup:
			s.group(o.a, o.k, o.g, o.members, o.at, o.field)
		case opSystemEdge:
			s.systemEdge(o.a, o.b, o.at, o.field)
		case opAssetSystem:
			s.assetSystem(o.a, o.b, o.c, o.at, o.field, o.at2, o.field2)
		}
	}
}

func newChecker(p *problems) *checker {
	return &checker{p: p, ids: map[string]declared{}, refs: map[refKey]*uses{}, groups: map[string]*groupInfo{},
		edges: map[[2]string]pos{}, groupUses: map[string]*uses{}}
}

func (c *checker) declare(k kind, id string, at pos, field string) {
	if prev, ok := c.ids[id]; ok {
		c.p.add(at, field, "duplicate id %q: already used by the %s at %s (ids are unique across organizations, services, systems and assets)", id, prev.k, c.p.where(prev.at))
		return
	}
	c.ids[id] = declared{k: k, at: at}
}

func (c *checker) ref(id string, kinds kind, at pos, field, from string) {
	u := c.refs[refKey{id, kinds}]
	if u == nil {
		u = &uses{}
		c.refs[refKey{id, kinds}] = u
	}
	u.add(at, field)
}

const dupEdge = "the dependency of system %q on %q is written twice: in the system's depends_on and as the asset's system; write it once"

func (c *checker) group(owner string, k kind, g bulwark.Group, members int, at pos, field string) {
	c.groups[owner+"\x00"+g.ID] = &groupInfo{owner: owner, ownerK: k, g: g, members: members, at: at, field: field}
}

// systemEdge records a dependency of a system; the same edge written as an
// asset's system (before or after) is a duplicate.
func (c *checker) systemEdge(system, target string, at pos, field string) {
	c.edges[[2]string{system, target}] = at
	if d, ok := c.ids[target]; ok && d.system == system {
		c.p.add(at, field, dupEdge, system, target)
	}
}

func (c *checker) assetSystem(system, asset, group string, at pos, field string, groupAt pos, groupField string) {
	c.ref(system, kindSystem, at, field, asset)
	if d, ok := c.ids[asset]; ok && d.k == kindAsset && d.system == "" {
		d.system = system
		c.ids[asset] = d
	}
	if _, dup := c.edges[[2]string{system, asset}]; dup {
		c.p.add(at, field, dupEdge, system, asset)
	}
	if group != "" {
		key := system + "\x00" + group
		u := c.groupUses[key]
		if u == nil {
			u = &uses{}
			c.groupUses[key] = u
		}
		u.add(groupAt, groupField)
	}
}

// maxLookups caps store look-ups for references the import does not
// declare itself; more unknown references than this are reported unresolved.
const maxLookups = 10000

// finish runs the checks that need the whole import and the store: it
// resolves references not declared in the import with st (nil: none
// stored), checks kinds, redundancy groups and repeated system edges.
func (c *checker) finish(ctx context.Context, st bulwark.CityStore) error {
	stored := map[string]kind{} // ids found in the store
	// Ids in the import that are already stored as a different kind.
	if st != nil {
		ids := make([]string, 0, len(c.ids))
		for id := range c.ids {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		// In batches, keeping nothing: re-importing a million-asset city
		// finds every id stored, and a map of them all would cost more
		// memory than the rest of the import.
		for chunk := range slices.Chunk(ids, batchSize) {
			found, err := resolve(ctx, st, chunk)
			if err != nil {
				return err
			}
			for id, k := range found {
				if d := c.ids[id]; d.k != k && d.k != 0 {
					c.p.add(d.at, "", "id %q is already used by a stored %s; ids are unique across all entities", id, k)
				}
			}
		}

		// References to entities not in the import. Organizations are
		// looked up one by one (they are few); every id is also resolved
		// as a node, so a reference of the wrong kind is named as such.
		var missing []string
		orgs := map[string]bool{}
		for r := range c.refs {
			if _, ok := c.ids[r.id]; ok {
				continue
			}
			if r.kinds&kindOrg != 0 {
				orgs[r.id] = true
			}
			missing = append(missing, r.id)
		}
		slices.Sort(missing)
		missing = slices.Compact(missing)
		if len(missing) > maxLookups*10 {
			missing = missing[:maxLookups*10]
		}
		found, err := resolve(ctx, st, missing)
		if err != nil {
			return err
		}
		for id, k := range found {
			stored[id] = k
		}
		n := 0
		for _, id := range slices.Sorted(maps.Keys(orgs)) {
			if _, isNode := stored[id]; isNode {
				continue
			}
			if n++; n > maxLookups {
				break
			}
			if _, err := st.FindOrganization(ctx, id); err == nil {
				stored[id] = kindOrg
			} else if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
				return fmt.Errorf("look up organization: %w", err)
			}
		}
	}
	for r, u := range c.refs {
		k := c.ids[r.id].k
		where := ""
		if k == 0 {
			k = stored[r.id]
			where = "stored "
		}
		switch {
		case k == 0 && r.kinds == kindOrg && onlySharing(u) && isTenant(ctx):
			// An organization may share with one it cannot see (the city
			// does not share back with every partner); whether that one
			// exists is the store's to check at commit, so that validation
			// does not tell a tenant which organizations exist.
		case k == 0:
			u.report(c.p, "unknown %s %q: not declared in this import and not stored", r.kinds, r.id)
		case k&r.kinds == 0:
			u.report(c.p, "%q is %s, not %s", r.id, article(where+k.String()), article(r.kinds.String()))
		}
	}
	// Assets joining a redundancy group of their system.
	for _, key := range slices.Sorted(maps.Keys(c.groupUses)) {
		u := c.groupUses[key]
		system, group, _ := strings.Cut(key, "\x00")
		if c.ids[system].k == kindSystem {
			g := c.groups[key]
			if g == nil {
				u.report(c.p, "group %q is not declared in the groups of system %q", group, system)
				continue
			}
			g.members += u.n
			continue
		}
		if stored[system] != kindSystem || st == nil {
			continue // reported as unknown
		}
		sys, err := st.FindSystem(ctx, system)
		if err != nil && bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
			return fmt.Errorf("look up system: %w", err)
		}
		if sys != nil && !slices.ContainsFunc(sys.Groups, func(g bulwark.Group) bool { return g.ID == group }) {
			u.report(c.p, "group %q is not declared in the groups of the stored system %q", group, system)
		}
	}
	// k of n: a group needs at most as many as name it.
	for _, key := range slices.Sorted(maps.Keys(c.groups)) {
		g := c.groups[key]
		if g.g.Need <= g.members {
			continue
		}
		n := g.members
		if g.ownerK == kindSystem && st != nil {
			// Assets already stored may belong to the group.
			more, err := storedMembers(ctx, st, g.owner, g.g.ID, c.ids)
			if err != nil {
				return err
			}
			n += more
		}
		if g.g.Need > n {
			c.p.add(g.at, g.field+".need", "group %q needs %d but only %d dependencies name it (need must be between 1 and the number of members)", g.g.ID, g.g.Need, n)
		}
	}
	return nil
}

// storedMembers counts stored assets of system that are in group and are not
// redeclared by the import.
func storedMembers(ctx context.Context, st bulwark.CityStore, system, group string, ids map[string]declared) (int, error) {
	n := 0
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize, System: system}
	for {
		page, err := st.ListAssets(ctx, opt)
		if err != nil {
			return 0, fmt.Errorf("list assets of system: %w", err)
		}
		for _, a := range page.Items {
			if _, redeclared := ids[a.ID]; !redeclared && a.System == system && a.SystemGroup == group {
				n++
			}
		}
		if page.Next == "" {
			return n, nil
		}
		opt.After = page.Next
	}
}

// resolve asks the store for the kinds of ids, in batches.
func resolve(ctx context.Context, st bulwark.CityStore, ids []string) (map[string]kind, error) {
	out := map[string]kind{}
	for len(ids) > 0 {
		n := min(len(ids), batchSize)
		found, err := st.ResolveIDs(ctx, ids[:n])
		if err != nil {
			return nil, fmt.Errorf("resolve ids: %w", err)
		}
		for id, k := range found {
			out[id] = kindOfNode(k)
		}
		ids = ids[n:]
	}
	return out, nil
}

func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// onlySharing reports whether every kept use of a reference is a
// shares_with entry.
func onlySharing(u *uses) bool {
	for _, x := range u.first {
		if !strings.Contains(x.field, ".shares_with[") {
			return false
		}
	}
	return len(u.first) > 0
}

// isTenant reports whether the caller is a user of an organization (not
// the local operator, who sees every organization).
func isTenant(ctx context.Context) bool {
	p, ok := bulwark.PrincipalFrom(ctx)
	return ok && !p.System
}
