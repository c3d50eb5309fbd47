package depgraph

import (
	"slices"

	"bulwark"
)

// ServicesAbove returns the services that depend on node x, directly or
// through other nodes, along hard and soft edges alike (x itself when it
// is a service), in node order. It is what "which services are at risk
// through this asset" means for exposure; whether a failure of x would
// actually fail them (redundancy) is Impact's question.
func (a *Analysis) ServicesAbove(x int32) []int32 {
	g := a.g
	seen := map[int32]bool{x: true}
	stack := []int32{x}
	var out []int32
	for len(stack) > 0 {
		y := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if g.kinds[y] == bulwark.KindService {
			out = append(out, y)
		}
		for _, e := range g.redge[g.roff[y]:g.roff[y+1]] {
			if from := a.edgeFrom(e); !seen[from] {
				seen[from] = true
				stack = append(stack, from)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Name, Owner and Population of node x, for callers that describe nodes.
func (g *Graph) Name(x int32) string      { return g.names[x] }
func (g *Graph) Owner(x int32) string     { return g.owners[x] }
func (g *Graph) Population(x int32) int64 { return g.pop[x] }

// DependsOn returns the nodes x depends on directly, hard and soft edges
// alike; the slice belongs to the graph and must not be changed.
func (g *Graph) DependsOn(x int32) []int32 { return g.to[g.off[x]:g.off[x+1]] }
