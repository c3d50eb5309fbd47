package citymodel

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/yamlerr"
)

// Caps on values, so that a hostile file cannot make one entity huge.
const (
	maxText     = 1024  // names, vendors, sites, ...
	maxLongText = 65536 // descriptions
	maxList     = 10000 // entries of any list in one entity
)

// decoder turns the yaml.Node tree of one document into domain values,
// reporting every problem with its position and field path. It checks what
// one entity alone can tell; checks across entities go to the checker.
type decoder struct {
	p       *problems
	c       sink // nil in the write pass
	file    int32
	lineOff int // line of the file before the document's first line
	out     *bulwark.City
}

func (d *decoder) at(n *yaml.Node) pos {
	return pos{file: d.file, line: int32(n.Line + d.lineOff), col: int32(n.Column)}
}

func (d *decoder) bad(n *yaml.Node, field, format string, args ...any) {
	d.p.add(d.at(n), field, format, args...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// plain checks what every node must satisfy: no anchors or aliases. They
// are refused rather than expanded so that a small file can never expand
// into a huge one (the "billion laughs" attack).
func (d *decoder) plain(n *yaml.Node, field string) bool {
	if n.Kind == yaml.AliasNode {
		d.bad(n, field, "YAML aliases (*name) are not supported; write the value out")
		return false
	}
	if n.Anchor != "" {
		d.bad(n, field, "YAML anchors (&name) are not supported; write the value out")
		return false
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// fields walks a mapping, reporting non-mappings, non-string, duplicate and
// unknown keys, and calls fn for each known key.
func (d *decoder) fields(n *yaml.Node, path string, known []string, fn func(key string, v *yaml.Node, path string)) bool {
	if !d.plain(n, path) {
		return false
	}
	if n.Kind != yaml.MappingNode {
		d.bad(n, path, "want a mapping of %s, got %s", strings.Join(known, ", "), yamlerr.Describe(n))
		return false
	}
	var seen [24]string // known lists are short; seen keys are among them
	nseen := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.plain(k, path) {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			d.bad(k, path, "keys must be field names, got %s", yamlerr.Describe(k))
			continue
		}
		if !slices.Contains(known, k.Value) {
			d.bad(k, join(path, k.Value), "unknown field %q (fields here: %s)", yamlerr.Clip(k.Value), strings.Join(known, ", "))
			continue
		}
		if slices.Contains(seen[:nseen], k.Value) {
			d.bad(k, join(path, k.Value), "field %q is given twice", k.Value)
			continue
		}
		if nseen < len(seen) {
			seen[nseen] = k.Value
			nseen++
		}
		fn(k.Value, v, join(path, k.Value))
	}
	return true
}

// list walks a sequence of at most maxList entries; a null value is an
// empty list.
func (d *decoder) list(n *yaml.Node, path string, fn func(i int, v *yaml.Node, path string)) {
	d.listMax(n, path, maxList, fn)
}

// listMax is list with another cap: the entity lists of a document are
// bounded by the document size only.
func (d *decoder) listMax(n *yaml.Node, path string, maxList int, fn func(i int, v *yaml.Node, path string)) {
	if isNull(n) || !d.plain(n, path) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.bad(n, path, "want a list, got %s", yamlerr.Describe(n))
		return
	}
	if len(n.Content) > maxList {
		d.bad(n, path, "list has %d entries; at most %d are allowed here", len(n.Content), maxList)
		return
	}
	for i, v := range n.Content {
		fn(i, v, index(path, i))
	}
}

// text reads a string value. Numbers are accepted as written ("4.50" stays
// "4.50"), because version strings are often left unquoted. Control
// characters are refused, except newlines and tabs in long texts.
func (d *decoder) text(n *yaml.Node, path string, max int) (string, bool) {
	if isNull(n) || !d.plain(n, path) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.bad(n, path, "want a string, got %s", yamlerr.Describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float":
	default:
		d.bad(n, path, "want a string, got %s (quote it)", yamlerr.Describe(n))
		return "", false
	}
	if why := checkText(n.Value, max, max == maxLongText); why != "" {
		d.bad(n, path, "%s", why)
		return "", false
	}
	return n.Value, true
}

func checkText(s string, max int, multiline bool) string {
	if len(s) > max {
		return fmt.Sprintf("text is longer than %d bytes", max)
	}
	for _, r := range s {
		if r < 0x20 && !(multiline && (r == '\n' || r == '\t')) || r >= 0x7f && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == utf8.RuneError {
			return fmt.Sprintf("text contains the control character %U", r)
		}
		// Bidirectional embedding, override and isolate controls can make
		// text display differently from what it is ("Trojan Source").
		if r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return fmt.Sprintf("text contains the bidirectional control character %U", r)
		}
	}
	return ""
}

// id reads an identifier.
func (d *decoder) id(n *yaml.Node, path string) (string, bool) {
	s, ok := d.text(n, path, maxText)
	if !ok {
		return "", false
	}
	if why := checkID(s); why != "" {
		d.bad(n, path, "%s", why)
		return "", false
	}
	return s, true
}

func checkID(s string) string {
	if !bulwark.ValidID(s) {
		return fmt.Sprintf("invalid id %q: ids are 1-%d characters, start with a letter or digit, and hold only letters, digits, '.', '_', ':' and '-'", yamlerr.Clip(s), bulwark.MaxIDLen)
	}
	return ""
}

func (d *decoder) integer(n *yaml.Node, path string, min int64) (int64, bool) {
	if !d.plain(n, path) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.bad(n, path, "want a whole number, got %s", yamlerr.Describe(n))
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		d.bad(n, path, "number %s is out of range", yamlerr.Clip(n.Value))
		return 0, false
	}
	if v < min {
		d.bad(n, path, "must be at least %d, got %d", min, v)
		return 0, false
	}
	return v, true
}

func (d *decoder) float(n *yaml.Node, path string, lo, hi float64) (float64, bool) {
	if !d.plain(n, path) {
		return 0, false
	}
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" {
		d.bad(n, path, "want a number, got %s", yamlerr.Describe(n))
		return 0, false
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(v) || v < lo || v > hi {
		d.bad(n, path, "want a number from %g to %g, got %s", lo, hi, yamlerr.Clip(n.Value))
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	if !d.plain(n, path) {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.bad(n, path, "want true or false, got %s", yamlerr.Describe(n))
		return false, false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
}

func (d *decoder) duration(n *yaml.Node, path string) time.Duration {
	if isNull(n) || !d.plain(n, path) {
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.bad(n, path, "want a duration such as 12h, 90m or 3d, got %s", yamlerr.Describe(n))
		return 0
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		d.bad(n, path, "invalid duration %q (%v): write it like 12h, 90m, 3d or 1d12h", yamlerr.Clip(n.Value), err)
		return 0
	}
	return v
}

// enum reads a string that must be one of allowed.
func (d *decoder) enum(n *yaml.Node, path string, allowed []string) (string, bool) {
	s, ok := d.text(n, path, maxText)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		d.bad(n, path, "invalid value %q: want one of %s", yamlerr.Clip(s), strings.Join(allowed, ", "))
		return "", false
	}
	return s, true
}

var (
	purviewNames = func() (s []string) {
		for _, p := range bulwark.Purviews {
			s = append(s, string(p))
		}
		return s
	}()
	sectorNames = func() (s []string) {
		for _, p := range bulwark.Sectors {
			s = append(s, string(p))
		}
		return s
	}()
	levelNames   = []string{"low", "moderate", "high"}
	depKindNames = []string{"hard", "soft"}
	dateRE       = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

var (
	topFields     = []string{"version", "organizations", "services", "systems", "assets"}
	orgFields     = []string{"id", "name", "purview", "contacts", "shares_with"}
	contactFields = []string{"name", "role", "email", "phone"}
	serviceFields = []string{"id", "name", "description", "owner", "sector", "population", "category", "targets", "groups", "depends_on"}
	catFields     = []string{"confidentiality", "integrity", "availability"}
	targetFields  = []string{"max_tolerable_downtime", "rto", "rpo"}
	groupFields   = []string{"id", "need"}
	depFields     = []string{"on", "kind", "group"}
	systemFields  = []string{"id", "name", "description", "owner", "zone", "internet_exposed", "recovery", "groups", "depends_on"}
	recFields     = []string{"restore_time", "restore_time_no_backups", "crew_skill", "tested", "last_tested"}
	assetFields   = []string{"id", "name", "owner", "kind", "vendor", "product", "version", "cpe", "purl", "location", "count", "system", "dependency", "group", "depends_on"}
	locFields     = []string{"site", "lat", "lon"}
)

// document decodes one parsed document into d.out.
func (d *decoder) document(root *yaml.Node) {
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		d.bad(root, "", "a city model document must be a mapping with the keys %s; got %s", strings.Join(topFields, ", "), yamlerr.Describe(root))
		return
	}
	d.fields(root, "", topFields, func(key string, v *yaml.Node, path string) {
		switch key {
		case "version":
			if n, ok := d.integer(v, path, 0); ok && n != 1 {
				d.bad(v, path, "unsupported format version %d; this Bulwark reads version 1", n)
			}
		case "organizations":
			d.listMax(v, path, math.MaxInt, func(_ int, v *yaml.Node, path string) { d.organization(v, path) })
		case "services":
			d.listMax(v, path, math.MaxInt, func(_ int, v *yaml.Node, path string) { d.service(v, path) })
		case "systems":
			d.listMax(v, path, math.MaxInt, func(_ int, v *yaml.Node, path string) { d.system(v, path) })
		case "assets":
			d.listMax(v, path, math.MaxInt, func(_ int, v *yaml.Node, path string) { d.asset(v, path) })
		}
	})
}

// required reports the required fields missing from mapping n (a field
// given with an invalid value is reported for that, not as missing).
func (d *decoder) required(n *yaml.Node, path string, names ...string) bool {
	ok := true
	for _, f := range names {
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == f && !isNull(n.Content[i+1]) {
				found = true
				break
			}
		}
		if !found {
			d.bad(n, join(path, f), "missing required field %q", f)
			ok = false
		}
	}
	return ok
}

// declare registers the entity's id for cross checks.
func (d *decoder) declare(k kind, id string, n *yaml.Node, path string) {
	if d.c != nil && id != "" {
		d.c.declare(k, id, d.at(n), join(path, "id"))
	}
}

func (d *decoder) ref(id string, kinds kind, n *yaml.Node, path string, from string) {
	if d.c != nil && id != "" {
		d.c.ref(id, kinds, d.at(n), path, from)
	}
}

func (d *decoder) organization(n *yaml.Node, path string) {
	var o bulwark.Organization
	var idNode *yaml.Node
	var shares []*yaml.Node
	if !d.fields(n, path, orgFields, func(key string, v *yaml.Node, p string) {
		switch key {
		case "id":
			o.ID, _ = d.id(v, p)
			idNode = v
		case "name":
			o.Name, _ = d.text(v, p, maxText)
		case "purview":
			var s string
			s, _ = d.enum(v, p, purviewNames)
			o.Purview = bulwark.Purview(s)
		case "contacts":
			d.list(v, p, func(_ int, v *yaml.Node, p string) {
				var c bulwark.Contact
				if d.fields(v, p, contactFields, func(key string, v *yaml.Node, p string) {
					var s string
					s, _ = d.text(v, p, maxText)
					switch key {
					case "name":
						c.Name = s
					case "role":
						c.Role = s
					case "email":
						c.Email = s
					case "phone":
						c.Phone = s
					}
				}) && d.required(v, p, "name") {
					o.Contacts = append(o.Contacts, c)
				}
			})
		case "shares_with":
			d.list(v, p, func(_ int, v *yaml.Node, p string) {
				if id, ok := d.id(v, p); ok {
					if slices.Contains(o.SharesWith, id) {
						d.bad(v, p, "organization %q is listed twice", id)
						return
					}
					o.SharesWith = append(o.SharesWith, id)
					shares = append(shares, v)
				}
			})
		}
	}) {
		return
	}
	d.required(n, path, "id", "name", "purview")
	if idNode != nil {
		d.declare(kindOrg, o.ID, idNode, path)
	}
	for i, id := range o.SharesWith {
		if id == o.ID {
			d.bad(shares[i], index(join(path, "shares_with"), i), "an organization cannot share with itself")
			continue
		}
		d.ref(id, kindOrg, shares[i], index(join(path, "shares_with"), i), o.ID)
	}
	d.out.Organizations = append(d.out.Organizations, o)
}

// groups reads the redundancy groups of an entity.
func (d *decoder) groups(v *yaml.Node, path string, out *[]bulwark.Group, nodes *[]*yaml.Node) {
	d.list(v, path, func(_ int, v *yaml.Node, p string) {
		var g bulwark.Group
		if !d.fields(v, p, groupFields, func(key string, v *yaml.Node, p string) {
			switch key {
			case "id":
				g.ID, _ = d.id(v, p)
			case "need":
				k, _ := d.integer(v, p, 1)
				if k > math.MaxInt32 {
					d.bad(v, p, "need %d is too large", k)
					k = 0
				}
				g.Need = int(k)
			}
		}) || !d.required(v, p, "id", "need") {
			return
		}
		for _, o := range *out {
			if o.ID == g.ID {
				d.bad(v, join(p, "id"), "group %q is declared twice", g.ID)
				return
			}
		}
		*out = append(*out, g)
		*nodes = append(*nodes, v)
	})
}

// deps reads a depends_on list.
func (d *decoder) deps(v *yaml.Node, path string, out *[]bulwark.Dependency, nodes *[]*yaml.Node) {
	d.list(v, path, func(_ int, v *yaml.Node, p string) {
		dep := bulwark.Dependency{Kind: bulwark.Hard}
		if !d.fields(v, p, depFields, func(key string, v *yaml.Node, p string) {
			switch key {
			case "on":
				dep.On, _ = d.id(v, p)
			case "kind":
				if s, ok := d.enum(v, p, depKindNames); ok {
					dep.Kind = bulwark.DepKind(s)
				}
			case "group":
				dep.Group, _ = d.id(v, p)
			}
		}) || !d.required(v, p, "on") {
			return
		}
		*out = append(*out, dep)
		*nodes = append(*nodes, v)
	})
}

// graphChecks checks an entity's dependencies and groups against each
// other and hands references and groups to the checker.
func (d *decoder) graphChecks(k kind, id string, path string, deps []bulwark.Dependency, depNodes []*yaml.Node, groups []bulwark.Group, groupNodes []*yaml.Node, targets kind) {
	members := make(map[string]int, len(groups))
	for i, dep := range deps {
		p := index(join(path, "depends_on"), i)
		on, gn := valueOf(depNodes[i], "on"), valueOf(depNodes[i], "group")
		if dep.On == id {
			d.bad(on, join(p, "on"), "%q depends on itself", id)
			continue
		}
		dup := false
		for _, o := range deps[:i] {
			if o.On == dep.On {
				d.bad(on, join(p, "on"), "dependency on %q is listed twice", dep.On)
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if dep.Group != "" {
			if !slices.ContainsFunc(groups, func(g bulwark.Group) bool { return g.ID == dep.Group }) {
				if k == kindAsset {
					d.bad(gn, join(p, "group"), "assets have no redundancy groups; group %q cannot be used here", dep.Group)
				} else {
					d.bad(gn, join(p, "group"), "group %q is not declared in this %s's groups", dep.Group, k)
				}
			} else {
				members[dep.Group]++
			}
		}
		d.ref(dep.On, targets, on, join(p, "on"), id)
		if d.c != nil && k == kindSystem {
			d.c.systemEdge(id, dep.On, d.at(on), join(p, "on"))
		}
	}
	for i, g := range groups {
		if d.c != nil && id != "" {
			d.c.group(id, k, g, members[g.ID], d.at(groupNodes[i]), index(join(path, "groups"), i))
		}
	}
}

func (d *decoder) service(n *yaml.Node, path string) {
	var s bulwark.Service
	var idNode, ownerNode *yaml.Node
	var depNodes, groupNodes []*yaml.Node
	if !d.fields(n, path, serviceFields, func(key string, v *yaml.Node, p string) {
		switch key {
		case "id":
			s.ID, _ = d.id(v, p)
			idNode = v
		case "name":
			s.Name, _ = d.text(v, p, maxText)
		case "description":
			s.Description, _ = d.text(v, p, maxLongText)
		case "owner":
			s.Owner, _ = d.id(v, p)
			ownerNode = v
		case "sector":
			var x string
			x, _ = d.enum(v, p, sectorNames)
			s.Sector = bulwark.Sector(x)
		case "population":
			s.Population, _ = d.integer(v, p, 0)
		case "category":
			d.fields(v, p, catFields, func(key string, v *yaml.Node, p string) {
				x, _ := d.enum(v, p, levelNames)
				l, _ := bulwark.ParseLevel(x)
				switch key {
				case "confidentiality":
					s.Category.Confidentiality = l
				case "integrity":
					s.Category.Integrity = l
				case "availability":
					s.Category.Availability = l
				}
			})
		case "targets":
			d.fields(v, p, targetFields, func(key string, v *yaml.Node, p string) {
				x := d.duration(v, p)
				switch key {
				case "max_tolerable_downtime":
					s.Targets.MaxTolerableDowntime = x
				case "rto":
					s.Targets.RTO = x
				case "rpo":
					s.Targets.RPO = x
				}
			})
		case "groups":
			d.groups(v, p, &s.Groups, &groupNodes)
		case "depends_on":
			d.deps(v, p, &s.DependsOn, &depNodes)
		}
	}) {
		return
	}
	d.required(n, path, "id", "name", "owner")
	if idNode != nil {
		d.declare(kindService, s.ID, idNode, path)
	}
	if ownerNode != nil {
		d.ref(s.Owner, kindOrg, ownerNode, join(path, "owner"), s.ID)
	}
	d.graphChecks(kindService, s.ID, path, s.DependsOn, depNodes, s.Groups, groupNodes, kindService|kindSystem|kindAsset)
	d.out.Services = append(d.out.Services, s)
}

func (d *decoder) system(n *yaml.Node, path string) {
	var s bulwark.System
	var idNode, ownerNode *yaml.Node
	var depNodes, groupNodes []*yaml.Node
	if !d.fields(n, path, systemFields, func(key string, v *yaml.Node, p string) {
		switch key {
		case "id":
			s.ID, _ = d.id(v, p)
			idNode = v
		case "name":
			s.Name, _ = d.text(v, p, maxText)
		case "description":
			s.Description, _ = d.text(v, p, maxLongText)
		case "owner":
			s.Owner, _ = d.id(v, p)
			ownerNode = v
		case "zone":
			s.Zone, _ = d.text(v, p, maxText)
		case "internet_exposed":
			s.InternetExposed, _ = d.boolean(v, p)
		case "recovery":
			d.fields(v, p, recFields, func(key string, v *yaml.Node, p string) {
				switch key {
				case "restore_time":
					s.Recovery.RestoreTime = d.duration(v, p)
				case "restore_time_no_backups":
					s.Recovery.RestoreTimeNoBackups = d.duration(v, p)
				case "crew_skill":
					s.Recovery.CrewSkill, _ = d.text(v, p, maxText)
				case "tested":
					s.Recovery.Tested, _ = d.boolean(v, p)
				case "last_tested":
					s.Recovery.LastTested = d.date(v, p)
				}
			})
		case "groups":
			d.groups(v, p, &s.Groups, &groupNodes)
		case "depends_on":
			d.deps(v, p, &s.DependsOn, &depNodes)
		}
	}) {
		return
	}
	d.required(n, path, "id", "name", "owner")
	if idNode != nil {
		d.declare(kindSystem, s.ID, idNode, path)
	}
	if ownerNode != nil {
		d.ref(s.Owner, kindOrg, ownerNode, join(path, "owner"), s.ID)
	}
	d.graphChecks(kindSystem, s.ID, path, s.DependsOn, depNodes, s.Groups, groupNodes, kindService|kindSystem|kindAsset)
	d.out.Systems = append(d.out.Systems, s)
}

// date reads a YYYY-MM-DD date; YAML may tag it as a timestamp.
func (d *decoder) date(n *yaml.Node, path string) string {
	if isNull(n) || !d.plain(n, path) {
		return ""
	}
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || tag != "!!str" && tag != "!!timestamp" {
		d.bad(n, path, "want a date YYYY-MM-DD, got %s", yamlerr.Describe(n))
		return ""
	}
	if why := checkDate(n.Value); why != "" {
		d.bad(n, path, "%s", why)
		return ""
	}
	return n.Value
}

func checkDate(s string) string {
	if _, err := time.Parse("2006-01-02", s); err != nil || !dateRE.MatchString(s) {
		return fmt.Sprintf("invalid date %q: want YYYY-MM-DD", yamlerr.Clip(s))
	}
	return ""
}

func (d *decoder) asset(n *yaml.Node, path string) {
	a := bulwark.Asset{Count: 1}
	var idNode, ownerNode, systemNode, groupNode, depKindNode *yaml.Node
	var depNodes []*yaml.Node
	if !d.fields(n, path, assetFields, func(key string, v *yaml.Node, p string) {
		switch key {
		case "id":
			a.ID, _ = d.id(v, p)
			idNode = v
		case "name":
			a.Name, _ = d.text(v, p, maxText)
		case "owner":
			a.Owner, _ = d.id(v, p)
			ownerNode = v
		case "kind":
			a.Kind, _ = d.text(v, p, maxText)
		case "vendor":
			a.Vendor, _ = d.text(v, p, maxText)
		case "product":
			a.Product, _ = d.text(v, p, maxText)
		case "version":
			a.Version, _ = d.text(v, p, maxText)
		case "cpe":
			d.list(v, p, func(_ int, v *yaml.Node, p string) {
				if s, ok := d.text(v, p, 2048); ok {
					if why := checkCPE(s); why != "" {
						d.bad(v, p, "%s", why)
					} else if slices.Contains(a.CPEs, s) {
						d.bad(v, p, "CPE %q is listed twice", yamlerr.Clip(s))
					} else {
						a.CPEs = append(a.CPEs, s)
					}
				}
			})
		case "purl":
			d.list(v, p, func(_ int, v *yaml.Node, p string) {
				if s, ok := d.text(v, p, 4096); ok {
					if why := checkPURL(s); why != "" {
						d.bad(v, p, "%s", why)
					} else if slices.Contains(a.PURLs, s) {
						d.bad(v, p, "package URL %q is listed twice", yamlerr.Clip(s))
					} else {
						a.PURLs = append(a.PURLs, s)
					}
				}
			})
		case "location":
			d.fields(v, p, locFields, func(key string, v *yaml.Node, p string) {
				switch key {
				case "site":
					a.Location.Site, _ = d.text(v, p, maxText)
				case "lat":
					a.Location.Lat, _ = d.float(v, p, -90, 90)
				case "lon":
					a.Location.Lon, _ = d.float(v, p, -180, 180)
				}
			})
		case "count":
			if c, ok := d.integer(v, p, 1); ok {
				a.Count = c
			}
		case "system":
			a.System, _ = d.id(v, p)
			systemNode = v
		case "dependency":
			if s, ok := d.enum(v, p, depKindNames); ok {
				a.SystemDependency = bulwark.DepKind(s)
			}
			depKindNode = v
		case "group":
			a.SystemGroup, _ = d.id(v, p)
			groupNode = v
		case "depends_on":
			d.deps(v, p, &a.DependsOn, &depNodes)
		}
	}) {
		return
	}
	d.required(n, path, "id", "name", "owner")
	if idNode != nil {
		d.declare(kindAsset, a.ID, idNode, path)
	}
	if ownerNode != nil {
		d.ref(a.Owner, kindOrg, ownerNode, join(path, "owner"), a.ID)
	}
	if a.System == "" {
		if depKindNode != nil && !isNull(depKindNode) {
			d.bad(depKindNode, join(path, "dependency"), "dependency is set but system is not; it says how the system depends on this asset")
		}
		if groupNode != nil && !isNull(groupNode) {
			d.bad(groupNode, join(path, "group"), "group is set but system is not; it names a redundancy group of the system")
		}
	} else {
		if a.SystemDependency == "" {
			a.SystemDependency = bulwark.Hard
		}
		if a.System == a.ID {
			d.bad(systemNode, join(path, "system"), "%q cannot be part of itself", a.ID)
		} else if d.c != nil {
			d.c.assetSystem(a.System, a.ID, a.SystemGroup, d.at(systemNode), join(path, "system"), groupAt(d, groupNode), join(path, "group"))
		}
	}
	d.graphChecks(kindAsset, a.ID, path, a.DependsOn, depNodes, nil, nil, kindSystem|kindAsset)
	d.out.Assets = append(d.out.Assets, a)
}

func groupAt(d *decoder, n *yaml.Node) pos {
	if n == nil {
		return pos{}
	}
	return d.at(n)
}

// valueOf returns the value of key in mapping n, or n itself.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return n
}
