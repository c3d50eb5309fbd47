package generate

import (
	"fmt"
	"regexp"
	"strings"

	"bulwark"
	"bulwark/internal/cpe"
)

// cityCheck accumulates a generated city chunk by chunk and checks the
// format's rules that do not need a parser: ids valid and unique, every
// reference resolves, groups satisfiable, CPEs and PURLs well formed, no
// self or duplicate dependency, and no cycle.
type cityCheck struct {
	kinds    map[string]bulwark.NodeKind
	owners   map[string]bool
	problems []string
	// edges and groups are checked once everything is seen.
	edges   []edge
	groups  map[string]map[string]int // dependent -> group -> need
	members map[string]map[string]int // dependent -> group -> members
	assets  int
	units   int64
	chunks  int
	goodCPE map[string]bool // CPE names already checked
}

type edge struct{ from, to, where string }

func newCityCheck() *cityCheck {
	return &cityCheck{kinds: map[string]bulwark.NodeKind{}, owners: map[string]bool{}, groups: map[string]map[string]int{}, members: map[string]map[string]int{}, goodCPE: map[string]bool{}}
}

func (c *cityCheck) errf(format string, args ...any) {
	if len(c.problems) < 50 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

func (c *cityCheck) id(id string, k bulwark.NodeKind) {
	if !bulwark.ValidID(id) {
		c.errf("invalid id %q", id)
	}
	if _, dup := c.kinds[id]; dup || c.owners[id] {
		c.errf("duplicate id %q", id)
	}
	c.kinds[id] = k
}

func (c *cityCheck) deps(from string, ds []bulwark.Dependency, gs []bulwark.Group) {
	g := map[string]int{}
	for _, x := range gs {
		if _, dup := g[x.ID]; dup {
			c.errf("%s: duplicate group %s", from, x.ID)
		}
		if x.Need < 1 {
			c.errf("%s: group %s need %d < 1", from, x.ID, x.Need)
		}
		g[x.ID] = x.Need
	}
	c.groups[from] = g
	c.members[from] = map[string]int{}
	seen := map[string]bool{}
	for _, d := range ds {
		c.dep(from, d.On, d.Kind, d.Group)
		if seen[d.On] {
			c.errf("%s: duplicate dependency on %s", from, d.On)
		}
		seen[d.On] = true
	}
}

func (c *cityCheck) dep(from, on string, kind bulwark.DepKind, group string) {
	if on == from {
		c.errf("%s depends on itself", from)
	}
	if kind != bulwark.Hard && kind != bulwark.Soft {
		c.errf("%s -> %s: bad kind %q", from, on, kind)
	}
	if group != "" {
		if _, ok := c.groups[from][group]; !ok {
			c.errf("%s -> %s: group %s not declared", from, on, group)
		}
		c.members[from][group]++
	}
	c.edges = append(c.edges, edge{from, on, from})
}

var purlRE = regexp.MustCompile(`^pkg:[a-z]+/[^@]+@[^ ]+$`)

// checkCPE reports why s is not a well-formed CPE 2.3 formatted string
// (cpe.Validate, the importer's check) naming a concrete product: the
// generator always writes vendor, product and version.
func checkCPE(s string) error {
	if err := cpe.Validate(s); err != nil {
		return err
	}
	f := cpe.Split(s)
	if f[3] == "*" || f[4] == "*" || f[5] == "*" {
		return fmt.Errorf("vendor, product and version must be concrete")
	}
	return nil
}

func (c *cityCheck) chunk(city *bulwark.City) {
	c.chunks++
	for _, o := range city.Organizations {
		if !bulwark.ValidID(o.ID) || c.owners[o.ID] || c.kinds[o.ID] != 0 {
			c.errf("bad or duplicate org id %q", o.ID)
		}
		c.owners[o.ID] = true
		if o.Name == "" {
			c.errf("org %s has no name", o.ID)
		}
		valid := false
		for _, p := range bulwark.Purviews {
			valid = valid || p == o.Purview
		}
		if !valid {
			c.errf("org %s purview %q", o.ID, o.Purview)
		}
		for _, ct := range o.Contacts {
			if !strings.HasSuffix(ct.Email, "@example.org") {
				c.errf("org %s contact e-mail %q", o.ID, ct.Email)
			}
		}
	}
	for _, o := range city.Organizations {
		for _, s := range o.SharesWith {
			if !c.owners[s] {
				c.errf("org %s shares with unknown %s", o.ID, s)
			}
		}
	}
	for _, s := range city.Services {
		c.id(s.ID, bulwark.KindService)
		c.owner(s.ID, s.Owner)
		if !bulwark.ValidSector(s.Sector) {
			c.errf("service %s sector %q", s.ID, s.Sector)
		}
		if s.Population < 0 || s.Name == "" {
			c.errf("service %s population or name", s.ID)
		}
		c.deps(s.ID, s.DependsOn, s.Groups)
	}
	for _, s := range city.Systems {
		c.id(s.ID, bulwark.KindSystem)
		c.owner(s.ID, s.Owner)
		if s.Name == "" {
			c.errf("system %s has no name", s.ID)
		}
		c.deps(s.ID, s.DependsOn, s.Groups)
	}
	for _, a := range city.Assets {
		c.id(a.ID, bulwark.KindAsset)
		c.owner(a.ID, a.Owner)
		c.assets++
		c.units += a.Count
		if a.Count < 1 || a.Name == "" || a.Kind == "" {
			c.errf("asset %s count %d name %q kind %q", a.ID, a.Count, a.Name, a.Kind)
		}
		for _, x := range a.CPEs {
			if c.goodCPE[x] {
				continue
			}
			if err := checkCPE(x); err != nil {
				c.errf("asset %s cpe %q: %v", a.ID, x, err)
			} else {
				c.goodCPE[x] = true
			}
		}
		for _, x := range a.PURLs {
			if !purlRE.MatchString(x) {
				c.errf("asset %s purl %q", a.ID, x)
			}
		}
		if a.System == "" {
			c.errf("asset %s has no system", a.ID)
			continue
		}
		if c.kinds[a.System] != bulwark.KindSystem {
			c.errf("asset %s: system %s is not a system defined before it", a.ID, a.System)
			continue
		}
		c.dep(a.System, a.ID, a.SystemDependency, a.SystemGroup)
		c.deps(a.ID, a.DependsOn, nil)
		for _, d := range a.DependsOn {
			if d.On == a.System {
				c.errf("asset %s depends on its own system", a.ID)
			}
		}
	}
}

func (c *cityCheck) owner(id, owner string) {
	if !c.owners[owner] {
		c.errf("%s: unknown owner %q", id, owner)
	}
}

// finish checks what needs the whole city and returns every problem.
func (c *cityCheck) finish() []string {
	adj := map[string][]string{}
	for _, e := range c.edges {
		if c.kinds[e.to] == 0 {
			c.errf("%s depends on unknown %s", e.from, e.to)
		}
		adj[e.from] = append(adj[e.from], e.to)
	}
	for from, gs := range c.groups {
		for g, need := range gs {
			if m := c.members[from][g]; need > m {
				c.errf("%s: group %s needs %d of %d members", from, g, need, m)
			}
		}
	}
	// Cycle check: iterative DFS with colors.
	color := map[string]uint8{}
	for start := range c.kinds {
		if color[start] != 0 {
			continue
		}
		type frame struct {
			n string
			i int
		}
		stack := []frame{{start, 0}}
		color[start] = 1
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.i < len(adj[f.n]) {
				next := adj[f.n][f.i]
				f.i++
				switch color[next] {
				case 0:
					color[next] = 1
					stack = append(stack, frame{next, 0})
				case 1:
					c.errf("cycle through %s -> %s", f.n, next)
				}
				continue
			}
			color[f.n] = 2
			stack = stack[:len(stack)-1]
		}
	}
	return c.problems
}
