package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"bulwark"
)

// synthCity builds a city-shaped graph of about n nodes and 2.4 n edges:
// n/5000 services (a quarter FIPS 199 high), n/50 systems and the rest
// assets, 12 owners. Services depend on two systems hard, a 1-of-2 pair
// and one soft. Systems depend on a power feed (hard) and a 1-of-2 pair
// of network cores, both among the first 1% of systems (shared
// infrastructure); some pairs form cycles. Each system owns ~48 assets:
// two local switches, a third of the rest hard singletons (servers,
// PLCs), a third in 3-of-4 groups (redundant pumps, feeders) and a third
// a soft fleet (meters, cameras). Every asset depends on one of its
// system's switches (hard), and 40% on a UPS asset (soft).
//
// It returns the data and the IDs of the switches and of each system's
// assets (for scenarios).
type synth struct {
	data     *bulwark.GraphData
	switches []string
	assets   [][]string // per system
	services []string
}

func synthCity(n int) *synth {
	r := rand.New(rand.NewPCG(20261122, uint64(n)))
	out := &synth{data: &bulwark.GraphData{}}
	d := out.data
	nSvc := max(n/5000, 4)
	nSys := max(n/50, 8)
	nInfra := max(nSys/100, 2)
	nAsset := max(n-nSvc-nSys, nSys*4)
	d.Nodes = make([]bulwark.GraphNode, 0, nSvc+nSys+nAsset)
	d.Edges = make([]bulwark.GraphEdge, 0, 12*n/5)
	owner := func() string { return "org-" + strconv.Itoa(r.IntN(12)) }
	node := func(id string, k bulwark.NodeKind) int64 {
		ref := int64(len(d.Nodes) + 1)
		d.Nodes = append(d.Nodes, bulwark.GraphNode{Ref: ref, ID: id, Kind: k, Owner: owner()})
		return ref
	}
	edge := func(from, to int64, soft bool, group string) {
		k := bulwark.Hard
		if soft {
			k = bulwark.Soft
		}
		d.Edges = append(d.Edges, bulwark.GraphEdge{From: from, To: to, Kind: k, Group: group})
	}
	// Assets first: their IDs sort first, so the input is in ID order.
	sys0 := int64(nAsset + 1) // refs of systems start after the assets
	per := nAsset / nSys
	out.assets = make([][]string, nSys)
	type pending struct {
		sys, asset int64
		soft       bool
		group      string
	}
	var sysEdges []pending
	for s := range nSys {
		cnt := per
		if s == nSys-1 {
			cnt = nAsset - per*(nSys-1)
		}
		var sw [2]int64
		ups := int64(0)
		grp, inGrp := 0, 0
		for i := range cnt {
			id := fmt.Sprintf("a-%07d-%03d", s, i)
			a := node(id, bulwark.KindAsset)
			out.assets[s] = append(out.assets[s], id)
			switch {
			case i < 2:
				sw[i] = a
				out.switches = append(out.switches, id)
				if i == 1 {
					sysEdges = append(sysEdges, pending{int64(s), sw[0], false, "net"}, pending{int64(s), sw[1], false, "net"})
				}
				continue
			case i == 2:
				ups = a
			}
			edge(a, sw[r.IntN(2)], false, "")
			if ups != a && r.IntN(10) < 4 {
				edge(a, ups, true, "")
			}
			switch i % 3 {
			case 0:
				sysEdges = append(sysEdges, pending{int64(s), a, false, ""})
			case 1:
				if inGrp == 0 {
					grp++
				}
				sysEdges = append(sysEdges, pending{int64(s), a, false, "g" + strconv.Itoa(grp)})
				inGrp = (inGrp + 1) % 4
			default:
				sysEdges = append(sysEdges, pending{int64(s), a, true, ""})
			}
		}
	}
	for s := range nSys {
		node(fmt.Sprintf("sys-%06d", s), bulwark.KindSystem)
	}
	for i := range nSvc {
		ref := node(fmt.Sprintf("svc-%04d", i), bulwark.KindService)
		nd := &d.Nodes[len(d.Nodes)-1]
		nd.Population = int64(1000 + r.IntN(200000))
		if i%4 == 0 {
			nd.Category.Availability = bulwark.LevelHigh
		}
		out.services = append(out.services, nd.ID)
		pick := func() int64 { return sys0 + int64(nInfra+r.IntN(nSys-nInfra)) }
		a, b := pick(), pick()
		for b == a {
			b = pick()
		}
		edge(ref, a, false, "")
		edge(ref, b, false, "")
		c1, c2 := pick(), pick()
		for c1 == a || c1 == b {
			c1 = pick()
		}
		for c2 == a || c2 == b || c2 == c1 {
			c2 = pick()
		}
		d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: ref, ID: "pair", Need: 1})
		edge(ref, c1, false, "pair")
		edge(ref, c2, false, "pair")
		s := pick()
		for s == a || s == b || s == c1 || s == c2 {
			s = pick()
		}
		edge(ref, s, true, "")
	}
	// Systems: their assets, then power and network infrastructure.
	type gk struct {
		owner int64
		id    string
	}
	groupsOf := map[gk]int{}
	for _, p := range sysEdges {
		from := sys0 + p.sys
		if p.group != "" {
			k := gk{from, p.group}
			if groupsOf[k] == 0 {
				need := 3
				if p.group == "net" {
					need = 1
				}
				d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: from, ID: p.group, Need: need})
			}
			groupsOf[k]++
		}
		edge(from, p.asset, p.soft, p.group)
	}
	// Fix group needs for groups that ended with fewer than 4 members.
	for i := range d.Groups {
		g := &d.Groups[i]
		if g.ID == "pair" || g.ID == "net" {
			continue
		}
		k := gk{g.Owner, g.ID}
		g.Need = min(g.Need, groupsOf[k])
	}
	half := nInfra / 2
	cores := nInfra - half
	for s := nInfra; s < nSys; s++ {
		from := sys0 + int64(s)
		edge(from, sys0+int64(r.IntN(max(half, 1))), false, "")
		c1 := half + r.IntN(cores)
		c2 := half + (c1-half+1)%cores
		if c1 == c2 {
			edge(from, sys0+int64(c1), false, "")
		} else {
			d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: from, ID: "core", Need: 1})
			edge(from, sys0+int64(c1), false, "core")
			edge(from, sys0+int64(c2), false, "core")
		}
		if s%500 == 7 && s+1 < nSys { // a few mutual dependencies: cycles
			edge(from, from+1, false, "")
			edge(from+1, from, true, "")
		}
	}
	return out
}
