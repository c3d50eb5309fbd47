package sqlstore

import (
	"context"
	"database/sql"

	"bulwark"
)

// interner returns one shared string per distinct byte value, so that the
// few owners, kinds and group names of a million nodes cost no allocation.
type interner map[string]string

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// bitset marks refs.
type bitset []uint64

func (b *bitset) set(i int64) {
	w := int(i >> 6)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w-len(*b)+1+len(*b)/4)...)
	}
	(*b)[w] |= 1 << (uint(i) & 63)
}

func (b bitset) has(i int64) bool {
	w := int(i >> 6)
	return i >= 0 && w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// LoadGraph returns the visible dependency graph: one scan of entities
// (nodes and asset-to-system links, in ref order), one of dependencies and
// one of groups. Edges appear only when both ends are visible.
func (db *DB) LoadGraph(ctx context.Context) (*bulwark.GraphData, error) {
	g := &bulwark.GraphData{}
	err := db.inRead(ctx, func(tx *sql.Tx) error {
		s, err := db.scopeOf(ctx, tx)
		if err != nil {
			return err
		}
		var n int64
		a := db.d.newArgs()
		q := "SELECT COUNT(*) FROM entities"
		if f := s.filter(&a, "owner"); f != "" {
			q += " WHERE " + f
		}
		if err := tx.QueryRowContext(ctx, q, a.v...).Scan(&n); err != nil {
			return db.d.mapErr("load graph", err)
		}
		g.Nodes = make([]bulwark.GraphNode, 0, n)

		a = db.d.newArgs()
		q = "SELECT ref, id, kind, owner, name, population, conf, integ, avail, count, COALESCE(sys_ref, 0), sys_kind, sys_group FROM entities"
		if f := s.filter(&a, "owner"); f != "" {
			q += " WHERE " + f
		}
		rows, err := tx.QueryContext(ctx, q+" ORDER BY ref", a.v...)
		if err != nil {
			return db.d.mapErr("load graph", err)
		}
		in := interner{}
		var visible bitset
		var links []bulwark.GraphEdge
		var owner, sysKind, sysGroup sql.RawBytes
		for rows.Next() {
			var nd bulwark.GraphNode
			var kind, conf, integ, avail, sysRef int64
			if err := rows.Scan(&nd.Ref, &nd.ID, &kind, &owner, &nd.Name, &nd.Population, &conf, &integ, &avail, &nd.Count,
				&sysRef, &sysKind, &sysGroup); err != nil {
				rows.Close()
				return db.d.mapErr("load graph", err)
			}
			nd.Kind = bulwark.NodeKind(kind)
			nd.Owner = in.get(owner)
			if nd.Kind == bulwark.KindService {
				nd.Category = bulwark.Category{Confidentiality: level(conf), Integrity: level(integ), Availability: level(avail)}
			}
			g.Nodes = append(g.Nodes, nd)
			if !s.all {
				visible.set(nd.Ref)
			}
			if sysRef != 0 {
				links = append(links, bulwark.GraphEdge{From: sysRef, To: nd.Ref, Kind: bulwark.DepKind(in.get(sysKind)), Group: in.get(sysGroup)})
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.d.mapErr("load graph", err)
		}
		seen := func(ref int64) bool { return s.all || visible.has(ref) }

		var ndeps int64
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM dependencies").Scan(&ndeps); err != nil {
			return db.d.mapErr("load graph", err)
		}
		g.Edges = make([]bulwark.GraphEdge, 0, int64(len(links))+ndeps)
		for _, e := range links {
			if seen(e.From) {
				g.Edges = append(g.Edges, e)
			}
		}
		rows, err = tx.QueryContext(ctx, "SELECT src, dst, kind, grp FROM dependencies")
		if err != nil {
			return db.d.mapErr("load graph", err)
		}
		var kind, grp sql.RawBytes
		for rows.Next() {
			var e bulwark.GraphEdge
			if err := rows.Scan(&e.From, &e.To, &kind, &grp); err != nil {
				rows.Close()
				return db.d.mapErr("load graph", err)
			}
			if seen(e.From) && seen(e.To) {
				e.Kind, e.Group = bulwark.DepKind(in.get(kind)), in.get(grp)
				g.Edges = append(g.Edges, e)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.d.mapErr("load graph", err)
		}

		rows, err = tx.QueryContext(ctx, "SELECT owner, id, need FROM entity_groups ORDER BY owner, id")
		if err != nil {
			return db.d.mapErr("load graph", err)
		}
		defer rows.Close()
		for rows.Next() {
			var gr bulwark.GraphGroup
			var need int64
			if err := rows.Scan(&gr.Owner, &gr.ID, &need); err != nil {
				return db.d.mapErr("load graph", err)
			}
			gr.Need = int(need)
			if seen(gr.Owner) {
				g.Groups = append(g.Groups, gr)
			}
		}
		return db.d.mapErr("load graph", rows.Err())
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}
