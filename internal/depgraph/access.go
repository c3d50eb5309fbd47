package depgraph

import "bulwark"

// Read-only accessors over the compiled arrays, for engines (such as the
// resilience simulation) that walk the graph themselves. Edge indexes are
// positions in the forward CSR: the edges of node x are EdgeRange(x).

// EdgeRange returns the forward edges of x as the half-open index range
// [lo, hi): x depends on EdgeTarget(e) for every e in it.
func (g *Graph) EdgeRange(x int32) (lo, hi int32) { return g.off[x], g.off[x+1] }

// EdgeTarget returns the node that edge e points to (the dependency).
func (g *Graph) EdgeTarget(e int32) int32 { return g.to[e] }

// EdgeSoft reports whether edge e is soft (its failure degrades).
func (g *Graph) EdgeSoft(e int32) bool { return g.soft[e] }

// EdgeGroup returns the redundancy group of edge e, or -1 if it has none.
func (g *Graph) EdgeGroup(e int32) int32 { return g.group[e] }

// Dependents returns the indexes of the forward edges that end at y
// (one per node depending on y). The slice aliases the graph: do not
// modify it.
func (g *Graph) Dependents(y int32) []int32 { return g.redge[g.roff[y]:g.roff[y+1]] }

// NumGroups is the number of redundancy groups.
func (g *Graph) NumGroups() int { return len(g.groupOwner) }

// GroupOwner returns the node that redundancy group gi belongs to.
func (g *Graph) GroupOwner(gi int32) int32 { return g.groupOwner[gi] }

// GroupID returns the ID of redundancy group gi (unique per owner).
func (g *Graph) GroupID(gi int32) string { return g.groupID[gi] }

// GroupNeed returns how many members of group gi must be up.
func (g *Graph) GroupNeed(gi int32) int32 { return g.groupNeed[gi] }

// GroupSize returns the number of member edges of group gi.
func (g *Graph) GroupSize(gi int32) int32 { return g.groupSize[gi] }

// GroupHard reports whether group gi has a hard member: losing its quorum
// then fails the owner; an all-soft group only degrades it.
func (g *Graph) GroupHard(gi int32) bool { return g.groupHard[gi] }

// DeclaredCategory returns the FIPS 199 category declared on node x (for
// services; the high-water mark is Analysis.Category).
func (g *Graph) DeclaredCategory(x int32) bulwark.Category { return g.cat[x] }

// Components returns the strongly connected components of g: the members
// of component c are nodes[off[c]:off[c+1]] and comp maps a node to its
// component. Components come dependencies first.
func (g *Graph) Components() (nodes, off, comp []int32) { return g.scc() }

// SelfLoop reports whether x depends on itself.
func (g *Graph) SelfLoop(x int32) bool { return g.selfLoop(x) }
