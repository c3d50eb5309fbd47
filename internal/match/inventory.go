package match

import (
	"slices"
	"strconv"
	"strings"

	"bulwark"
	"bulwark/internal/cpe"
	"bulwark/internal/purl"
	"bulwark/internal/version"
)

// Inventory holds assets compiled for matching. Assets with the same CPE
// names, PURLs and vendor/product/version share one profile, which is
// matched once; a reverse index maps product keys to profiles for
// incremental matching.
type Inventory struct {
	assets   []invAsset
	profiles []profile
	cpes     []invCPE
	purls    []invPURL

	// Reverse index: CPE part:vendor:product, PURL key and normalised
	// vendor → profiles carrying it.
	byCPE    map[string][]int32
	byPURL   map[string][]int32
	byVendor map[string][]int32
}

type invAsset struct {
	id      string
	profile int32
}

// profile is one distinct set of asset identifiers.
type profile struct {
	cpes   []int32 // into Inventory.cpes, sorted
	purls  []int32 // into Inventory.purls, sorted
	names  []ident
	assets []int32
}

// invCPE is one distinct asset CPE name with its version pre-parsed.
type invCPE struct {
	name    cpe.Name
	key     string
	text    string
	version string // unescaped version attribute
	ver     version.Version
	verOK   bool // the version attribute is a value that version.Parse ordered
}

type invPURL struct {
	key, text, version string
	ver                version.Version
	verOK              bool
}

// ident is a vendor/product name an asset goes by, from its own fields or
// from one of its CPE names, for matching product statements by name.
type ident struct {
	vendor, product string // NormVendor, NormProduct keys
	text            string
	version         string
	ver             version.Version
	verOK           bool
}

// Len returns the number of assets.
func (inv *Inventory) Len() int { return len(inv.assets) }

// Profiles returns the number of distinct asset profiles.
func (inv *Inventory) Profiles() int { return len(inv.profiles) }

// DistinctCPEs returns the number of distinct CPE names.
func (inv *Inventory) DistinctCPEs() int { return len(inv.cpes) }

// NewInventory compiles assets; the Match.Asset of a match is the asset's
// index in this slice. Identifiers that do not parse are reported as
// problems (Field names the asset) and left out; the asset is kept.
func NewInventory(assets []bulwark.Asset) (*Inventory, []bulwark.Problem) {
	b := NewInventoryBuilder()
	var problems []bulwark.Problem
	for i := range assets {
		problems = append(problems, b.Add(&assets[i])...)
	}
	return b.Build(), problems
}

// InventoryBuilder compiles assets one at a time, so that a caller can
// stream a million assets from a store without holding them all. The
// Match.Asset of a match is the order in which the asset was added.
type InventoryBuilder struct {
	inv     *Inventory
	cpeIdx  map[string]int32
	purlIdx map[string]int32
	profIdx map[string]int32
	intern  map[string]string
	key     []byte
	cs, ps  []int32
}

// NewInventoryBuilder returns an empty builder.
func NewInventoryBuilder() *InventoryBuilder {
	return &InventoryBuilder{
		inv: &Inventory{
			byCPE:    map[string][]int32{},
			byPURL:   map[string][]int32{},
			byVendor: map[string][]int32{},
		},
		cpeIdx:  map[string]int32{},
		purlIdx: map[string]int32{},
		profIdx: map[string]int32{},
		intern:  map[string]string{},
	}
}

func (b *InventoryBuilder) str(s string) string {
	if t, ok := b.intern[s]; ok {
		return t
	}
	b.intern[s] = s
	return s
}

// Build returns the inventory; the builder must not be used afterwards.
func (b *InventoryBuilder) Build() *Inventory {
	inv := b.inv
	*b = InventoryBuilder{}
	return inv
}

// Add compiles one asset and returns the problems of its identifiers.
func (b *InventoryBuilder) Add(a *bulwark.Asset) []bulwark.Problem {
	inv := b.inv
	ai := int32(len(inv.assets))
	var problems []bulwark.Problem
	cs, ps := b.cs[:0], b.ps[:0]
	for _, s := range a.CPEs {
		c, ok := b.cpeIdx[s]
		if !ok {
			n, err := cpe.Parse(s)
			if err != nil {
				problems = append(problems, bulwark.Problem{Field: "asset " + a.ID + " cpe", Message: sprintf("%q: %v", s, err)})
				continue
			}
			for i := range n {
				n[i] = b.str(n[i])
			}
			e := invCPE{name: n, key: b.str(n.Key()), text: s}
			e.version = unescape(n[cpe.Version])
			if n[cpe.Version] != "*" && n[cpe.Version] != "-" {
				e.ver, e.verOK = version.Parse(e.version)
			}
			c = int32(len(inv.cpes))
			inv.cpes = append(inv.cpes, e)
			b.cpeIdx[s] = c
		}
		cs = append(cs, c)
	}
	for _, s := range a.PURLs {
		u, ok := b.purlIdx[s]
		if !ok {
			p, err := purl.Parse(s)
			if err != nil {
				problems = append(problems, bulwark.Problem{Field: "asset " + a.ID + " purl", Message: sprintf("%q: %v", s, err)})
				continue
			}
			e := invPURL{key: b.str(p.Key()), text: s, version: p.Version}
			e.ver, e.verOK = version.Parse(p.Version)
			u = int32(len(inv.purls))
			inv.purls = append(inv.purls, e)
			b.purlIdx[s] = u
		}
		ps = append(ps, u)
	}
	slices.Sort(cs)
	cs = slices.Compact(cs)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	b.cs, b.ps = cs, ps

	// The profile key: identifiers in canonical order.
	key := b.key[:0]
	for _, c := range cs {
		key = strconv.AppendInt(key, int64(c), 10)
		key = append(key, ',')
	}
	key = append(key, '|')
	for _, u := range ps {
		key = strconv.AppendInt(key, int64(u), 10)
		key = append(key, ',')
	}
	key = append(key, '|')
	key = append(key, a.Vendor...)
	key = append(key, '\x00')
	key = append(key, a.Product...)
	key = append(key, '\x00')
	key = append(key, a.Version...)
	b.key = key
	pi, ok := b.profIdx[string(key)]
	if !ok {
		pi = int32(len(inv.profiles))
		b.profIdx[string(key)] = pi
		inv.profiles = append(inv.profiles, inv.newProfile(a, slices.Clone(cs), slices.Clone(ps), b.str))
	}
	inv.profiles[pi].assets = append(inv.profiles[pi].assets, ai)
	inv.assets = append(inv.assets, invAsset{id: a.ID, profile: pi})
	return problems
}

func (inv *Inventory) newProfile(a *bulwark.Asset, cs, ps []int32, str func(string) string) profile {
	pr := profile{cpes: cs, purls: ps}
	pi := int32(len(inv.profiles))
	seen := map[string]int{}
	addName := func(vendor, product, ver, text string) {
		v := NormVendor(vendor)
		p := NormProduct(v, product)
		if v == "" || p == "" {
			return
		}
		k := v + "\x00" + p + "\x00" + ver
		if i, ok := seen[k]; ok {
			// Two identifiers name the same product and version (a CPE
			// with version * and one with -): keep the text that sorts
			// first, so that the evidence does not depend on the order in
			// which the whole inventory first saw them.
			if text < pr.names[i].text {
				pr.names[i].text = text
			}
			return
		}
		seen[k] = len(pr.names)
		n := ident{vendor: str(v), product: str(p), text: text, version: ver}
		n.ver, n.verOK = version.Parse(ver)
		pr.names = append(pr.names, n)
	}
	if a.Vendor != "" {
		addName(a.Vendor, a.Product, a.Version, sprintf("asset vendor %q product %q version %q", a.Vendor, a.Product, a.Version))
	}
	for _, c := range cs {
		e := &inv.cpes[c]
		ver := e.version
		if ver == "*" || ver == "-" {
			ver = ""
		}
		addName(strings.ReplaceAll(e.name[cpe.Vendor], "_", " "), strings.ReplaceAll(e.name[cpe.Product], "_", " "), ver, "CPE "+e.text)
	}
	// Reverse index.
	addTo := func(m map[string][]int32, k string) {
		l := m[k]
		if len(l) == 0 || l[len(l)-1] != pi {
			m[k] = append(l, pi)
		}
	}
	for _, c := range cs {
		addTo(inv.byCPE, inv.cpes[c].key)
	}
	for _, u := range ps {
		addTo(inv.byPURL, inv.purls[u].key)
	}
	for _, n := range pr.names {
		addTo(inv.byVendor, n.vendor)
	}
	return pr
}
