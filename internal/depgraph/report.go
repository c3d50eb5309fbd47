package depgraph

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"bulwark"
)

// Report is the criticality report of a city: nodes ranked by what their
// single failure costs, each service's single points of failure, and the
// dependency cycles.
type Report struct {
	Nodes    []NodeReport    `json:"nodes"`
	Services []ServiceReport `json:"services"`
	Cycles   [][]string      `json:"cycles"`
}

// NodeReport is one row of the criticality table: the node's high-water
// category and what its single failure fails or degrades.
type NodeReport struct {
	Rank             int      `json:"rank"`
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Kind             string   `json:"kind"`
	Owner            string   `json:"owner"`
	Category         string   `json:"category"` // overall: the highest of C, I, A
	Confidentiality  string   `json:"confidentiality"`
	Integrity        string   `json:"integrity"`
	Availability     string   `json:"availability"`
	ServicesLost     []string `json:"services_lost"`
	PopulationLost   int64    `json:"population_lost"`
	ServicesDegraded []string `json:"services_degraded"`
}

// ServiceReport lists a service's single points of failure.
type ServiceReport struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Owner      string `json:"owner"`
	Population int64  `json:"population"`
	// Category is the overall high-water mark: the service's own category
	// raised by the services that depend on it.
	Category string `json:"category"`
	SPOFs    []SPOF `json:"spofs"`
}

// SPOF is a node whose single failure fails a service.
type SPOF struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// CommonMode is set when the node fails the service only through a
	// redundancy group (it takes out enough members of a k-of-n group at
	// once), not along a plain chain of hard dependencies.
	CommonMode bool `json:"common_mode"`
}

// View is the subgraph under one service, sized for drawing in a browser.
type View struct {
	Service   string     `json:"service"`
	Nodes     []ViewNode `json:"nodes"`
	Edges     []ViewEdge `json:"edges"`
	Truncated bool       `json:"truncated"`
}

// ViewNode is a node of a View. An aggregate node stands for several asset
// leaves of one dependent (same edge kind and group); its ID is the
// dependent's ID followed by "/" and the edge kind (and "/" and group), which
// cannot collide with an entity ID. Count is the number of asset units the
// node represents (fleet sizes summed); 0 for services and systems.
type ViewNode struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Owner      string `json:"owner"`
	Category   string `json:"category"`
	SPOF       bool   `json:"spof"`
	CommonMode bool   `json:"common_mode"`
	Count      int64  `json:"count"`
}

// ViewEdge is "From depends on To".
type ViewEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Kind  string `json:"kind"`
	Group string `json:"group,omitempty"`
}

// MaxViewNodes caps the nodes of a View.
const MaxViewNodes = 400

// Graph returns the analyzed graph.
func (a *Analysis) Graph() *Graph { return a.g }

// Category returns the high-water category of node x.
func (a *Analysis) Category(x int32) bulwark.Category { return a.cat[x] }

// Impact returns what the single failure of node x costs: the number of
// services it fails, the people they serve, and the services it degrades.
func (a *Analysis) Impact(x int32) (servicesLost int, populationLost int64, servicesDegraded int) {
	return int(a.nLost[x]), a.popLost[x], int(a.nDeg[x])
}

// Report builds the criticality report with at most limit rows in Nodes
// (0 = every node). Rows are ranked by population lost, then services lost
// (both descending), then ID; services are in ID order with their SPOFs
// sorted by kind (service, system, asset) then ID.
func (a *Analysis) Report(limit int) *Report {
	g := a.g
	n := g.Len()
	if limit <= 0 || limit > n {
		limit = n
	}
	// Ranked: nodes with an impact, sorted; then the rest in ID order.
	var hit []int32
	for x := range n {
		if a.nLost[x] > 0 {
			hit = append(hit, int32(x))
		}
	}
	slices.SortFunc(hit, func(x, y int32) int {
		return cmp.Or(cmp.Compare(a.popLost[y], a.popLost[x]), cmp.Compare(a.nLost[y], a.nLost[x]), cmp.Compare(x, y))
	})
	rows := make([]int32, 0, limit)
	rows = append(rows, hit[:min(len(hit), limit)]...)
	for x := int32(0); len(rows) < limit && int(x) < n; x++ {
		if a.nLost[x] == 0 {
			rows = append(rows, x)
		}
	}
	r := &Report{Nodes: make([]NodeReport, len(rows)), Services: make([]ServiceReport, len(a.services)), Cycles: [][]string{}}
	rowOf := make(map[int32]int, len(rows))
	for i, x := range rows {
		c := a.cat[x]
		r.Nodes[i] = NodeReport{
			Rank: i + 1, ID: g.ids[x], Name: g.names[x], Kind: g.kinds[x].String(), Owner: g.owners[x],
			Category: c.Overall().String(), Confidentiality: c.Confidentiality.String(),
			Integrity: c.Integrity.String(), Availability: c.Availability.String(),
			ServicesLost: []string{}, PopulationLost: a.popLost[x], ServicesDegraded: []string{},
		}
		rowOf[x] = i
	}
	for i, s := range a.services {
		id := g.ids[s]
		if len(rowOf) > 0 {
			for _, v := range a.kill[i] {
				if row, ok := rowOf[int32(v&^plainBit)]; ok {
					r.Nodes[row].ServicesLost = append(r.Nodes[row].ServicesLost, id)
				}
			}
			for _, v := range a.degr[i] {
				if row, ok := rowOf[v]; ok {
					r.Nodes[row].ServicesDegraded = append(r.Nodes[row].ServicesDegraded, id)
				}
			}
		}
		r.Services[i] = ServiceReport{
			ID: id, Name: g.names[s], Owner: g.owners[s], Population: g.pop[s],
			Category: a.cat[s].Overall().String(), SPOFs: a.spofs(i),
		}
	}
	for _, cy := range a.cycles {
		ids := make([]string, len(cy))
		for i, x := range cy {
			ids[i] = g.ids[x]
		}
		r.Cycles = append(r.Cycles, ids)
	}
	return r
}

// spofs lists K(s) \ {s} for the i-th service, by kind then ID.
func (a *Analysis) spofs(i int) []SPOF {
	g := a.g
	s := uint32(a.services[i])
	out := make([]SPOF, 0, len(a.kill[i])-1)
	for _, kind := range []bulwark.NodeKind{bulwark.KindService, bulwark.KindSystem, bulwark.KindAsset} {
		for _, v := range a.kill[i] {
			x := v &^ plainBit
			if x == s || g.kinds[x] != kind {
				continue
			}
			out = append(out, SPOF{ID: g.ids[x], Name: g.names[x], Kind: kind.String(), CommonMode: v&plainBit == 0})
		}
	}
	return out
}

// spof reports whether node x is a single point of failure of the i-th
// service and whether only through a redundancy group.
func (a *Analysis) spof(i int, x int32) (spof, commonMode bool) {
	k := a.kill[i]
	j, ok := slices.BinarySearchFunc(k, uint32(x), func(v, t uint32) int { return cmp.Compare(v&^plainBit, t) })
	if !ok || x == a.services[i] {
		return false, false
	}
	return true, k[j]&plainBit == 0
}

// ServiceView returns the subgraph of everything the service depends on,
// directly or not, for drawing. Above MaxViewNodes nodes, asset leaves of
// the same dependent with the same edge kind and group are collapsed into
// one aggregate node; if that is still too many, the nodes farthest from the
// service are left out. Either sets Truncated. ok is false when serviceID
// is not a service.
func (a *Analysis) ServiceView(serviceID string) (v *View, ok bool) {
	g := a.g
	s, found := g.Lookup(serviceID)
	if !found || g.kinds[s] != bulwark.KindService {
		return nil, false
	}
	si := int(a.svcIdx[s])

	// Breadth-first from the service; parent[x] is the edge that found x.
	seen := map[int32]int32{s: -1}
	order := []int32{s}
	for i := 0; i < len(order); i++ {
		x := order[i]
		for e := g.off[x]; e < g.off[x+1]; e++ {
			if y := g.to[e]; !hasKey(seen, y) {
				seen[y] = e
				order = append(order, y)
			}
		}
	}

	// Each view node is a real node or an aggregate of leaves (key).
	type key struct {
		dep   int32
		soft  bool
		group int32
	}
	v = &View{Service: serviceID, Nodes: []ViewNode{}, Edges: []ViewEdge{}}
	slot := make(map[int32]int, len(order)) // node -> index in v.Nodes
	aggs := map[key]int{}
	var members map[key][]int32
	if len(order) > MaxViewNodes {
		v.Truncated = true
		members = map[key][]int32{}
		for _, x := range order[1:] {
			if e := seen[x]; g.kinds[x] == bulwark.KindAsset && g.off[x] == g.off[x+1] {
				k := key{a.edgeFrom(e), g.soft[e], g.group[e]}
				members[k] = append(members[k], x)
			}
		}
	}
	for _, x := range order {
		if members != nil && x != s {
			if e := seen[x]; g.kinds[x] == bulwark.KindAsset && g.off[x] == g.off[x+1] {
				k := key{a.edgeFrom(e), g.soft[e], g.group[e]}
				if m := members[k]; len(m) > 1 {
					if idx, done := aggs[k]; done {
						slot[x] = idx
					} else {
						aggs[k] = len(v.Nodes)
						slot[x] = len(v.Nodes)
						v.Nodes = append(v.Nodes, a.aggregate(si, g.ids[k.dep], k.soft, k.group, m))
					}
					continue
				}
			}
		}
		slot[x] = len(v.Nodes)
		v.Nodes = append(v.Nodes, a.viewNode(si, x))
	}
	if len(v.Nodes) > MaxViewNodes {
		v.Truncated = true
		v.Nodes = v.Nodes[:MaxViewNodes]
	}
	type ekey struct{ from, to int }
	seenEdge := map[ekey]bool{}
	for _, x := range order {
		fx := slot[x]
		if fx >= len(v.Nodes) {
			continue
		}
		for e := g.off[x]; e < g.off[x+1]; e++ {
			ty := slot[g.to[e]]
			if ty >= len(v.Nodes) || seenEdge[ekey{fx, ty}] {
				continue
			}
			seenEdge[ekey{fx, ty}] = true
			ve := ViewEdge{From: v.Nodes[fx].ID, To: v.Nodes[ty].ID, Kind: kindName(g.soft[e])}
			if gi := g.group[e]; gi != noGroup {
				ve.Group = g.groupID[gi]
			}
			v.Edges = append(v.Edges, ve)
		}
	}
	return v, true
}

func hasKey(m map[int32]int32, k int32) bool {
	_, ok := m[k]
	return ok
}

// edgeFrom returns the dependent of forward edge e.
func (a *Analysis) edgeFrom(e int32) int32 {
	off := a.g.off
	// off is non-decreasing: the dependent is the last x with off[x] <= e.
	x, _ := slices.BinarySearch(off, e+1)
	return int32(x - 1)
}

func kindName(soft bool) string {
	if soft {
		return string(bulwark.Soft)
	}
	return string(bulwark.Hard)
}

func (a *Analysis) viewNode(si int, x int32) ViewNode {
	g := a.g
	spof, cm := a.spof(si, x)
	vn := ViewNode{ID: g.ids[x], Name: g.names[x], Kind: g.kinds[x].String(), Owner: g.owners[x],
		Category: a.cat[x].Overall().String(), SPOF: spof, CommonMode: cm}
	if g.kinds[x] == bulwark.KindAsset {
		vn.Count = max(g.count[x], 1)
	}
	return vn
}

func (a *Analysis) aggregate(si int, dep string, soft bool, group int32, m []int32) ViewNode {
	g := a.g
	id := dep + "/" + kindName(soft)
	label := kindName(soft)
	if group != noGroup {
		id += "/" + g.groupID[group]
		label = "group " + g.groupID[group]
	}
	vn := ViewNode{ID: id, Name: fmt.Sprintf("%d assets (%s)", len(m), label), Kind: bulwark.KindAsset.String(), Owner: g.owners[m[0]]}
	var c bulwark.Level
	plain := false
	for _, x := range m {
		if g.owners[x] != vn.Owner {
			vn.Owner = ""
		}
		c = max(c, a.cat[x].Overall())
		vn.Count += max(g.count[x], 1)
		if spof, cm := a.spof(si, x); spof {
			vn.SPOF = true
			plain = plain || !cm
		}
	}
	vn.Category = c.String()
	vn.CommonMode = vn.SPOF && !plain
	return vn
}

// String renders a report row compactly, for logs and test failures.
func (r NodeReport) String() string {
	return fmt.Sprintf("%d %s lost=[%s] pop=%d degraded=[%s]", r.Rank, r.ID,
		strings.Join(r.ServicesLost, ","), r.PopulationLost, strings.Join(r.ServicesDegraded, ","))
}
