package sqlstore

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"time"

	"bulwark"
)

// entity is one service, system or asset in its stored form: the typed
// columns, the JSON attrs, and the dependencies and groups it declares.
type entity struct {
	ID         string
	Kind       bulwark.NodeKind
	Owner      string
	Name       string
	Sector     string
	Population int64
	Cat        bulwark.Category
	Zone       string
	Exposed    bool
	AssetKind  string
	Vendor     string
	Product    string
	Version    string
	Count      int64
	System     string // asset: the system it is part of ("" for none)
	SysKind    string
	SysGroup   string
	Attrs      string
	Hash       string
	Deps       []bulwark.Dependency
	Groups     []bulwark.Group
}

// entityCols are the columns written by an import, in the order of
// entity.values (sys_ref is appended by the caller).
const entityCols = "id, kind, owner, name, sector, population, conf, integ, avail, zone, exposed, asset_kind, vendor, product, version, count, sys_kind, sys_group, attrs, hash, sys_ref"

const entityNCols = 21

// entityUpdate is the SET list of the upsert.
const entityUpdate = "kind = excluded.kind, owner = excluded.owner, name = excluded.name, sector = excluded.sector, " +
	"population = excluded.population, conf = excluded.conf, integ = excluded.integ, avail = excluded.avail, " +
	"zone = excluded.zone, exposed = excluded.exposed, asset_kind = excluded.asset_kind, vendor = excluded.vendor, " +
	"product = excluded.product, version = excluded.version, count = excluded.count, sys_kind = excluded.sys_kind, " +
	"sys_group = excluded.sys_group, attrs = excluded.attrs, hash = excluded.hash, sys_ref = excluded.sys_ref"

func (e *entity) appendValues(vs []any, sysRef any) []any {
	return append(vs, e.ID, int64(e.Kind), e.Owner, e.Name, e.Sector, e.Population,
		int64(e.Cat.Confidentiality), int64(e.Cat.Integrity), int64(e.Cat.Availability),
		e.Zone, e.Exposed, e.AssetKind, e.Vendor, e.Product, e.Version, e.Count,
		e.SysKind, e.SysGroup, e.Attrs, e.Hash, sysRef)
}

// Attribute documents: the fields no query filters on. Durations are
// stored in nanoseconds.
type serviceAttrs struct {
	Description string `json:"description,omitempty"`
	MTD         int64  `json:"mtd,omitempty"`
	RTO         int64  `json:"rto,omitempty"`
	RPO         int64  `json:"rpo,omitempty"`
}

type systemAttrs struct {
	Description          string `json:"description,omitempty"`
	RestoreTime          int64  `json:"restore_time,omitempty"`
	RestoreTimeNoBackups int64  `json:"restore_time_no_backups,omitempty"`
	CrewSkill            string `json:"crew_skill,omitempty"`
	Tested               bool   `json:"tested,omitempty"`
	LastTested           string `json:"last_tested,omitempty"`
}

type assetAttrs struct {
	CPE  []string `json:"cpe,omitempty"`
	PURL []string `json:"purl,omitempty"`
	Site string   `json:"site,omitempty"`
	Lat  float64  `json:"lat,omitempty"`
	Lon  float64  `json:"lon,omitempty"`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: encode attrs: %v", err)) // plain structs of strings and numbers
	}
	return string(b)
}

// canonDeps returns deps sorted (by group, then target) with the default
// kind filled in, so that the same content in another order hashes alike.
func canonDeps(deps []bulwark.Dependency) []bulwark.Dependency {
	if len(deps) == 0 {
		return nil
	}
	out := slices.Clone(deps)
	for i := range out {
		if out[i].Kind == "" {
			out[i].Kind = bulwark.Hard
		}
	}
	slices.SortFunc(out, func(a, b bulwark.Dependency) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.On, b.On))
	})
	return out
}

func canonGroups(gs []bulwark.Group) []bulwark.Group {
	if len(gs) == 0 {
		return nil
	}
	out := slices.Clone(gs)
	slices.SortFunc(out, func(a, b bulwark.Group) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func fromService(s *bulwark.Service) entity {
	return entity{
		ID: s.ID, Kind: bulwark.KindService, Owner: s.Owner, Name: s.Name,
		Sector: string(s.Sector), Population: s.Population, Cat: s.Category,
		Attrs: mustJSON(serviceAttrs{Description: s.Description, MTD: int64(s.Targets.MaxTolerableDowntime),
			RTO: int64(s.Targets.RTO), RPO: int64(s.Targets.RPO)}),
		Deps: canonDeps(s.DependsOn), Groups: canonGroups(s.Groups),
	}
}

func fromSystem(s *bulwark.System) entity {
	r := s.Recovery
	return entity{
		ID: s.ID, Kind: bulwark.KindSystem, Owner: s.Owner, Name: s.Name,
		Zone: s.Zone, Exposed: s.InternetExposed,
		Attrs: mustJSON(systemAttrs{Description: s.Description, RestoreTime: int64(r.RestoreTime),
			RestoreTimeNoBackups: int64(r.RestoreTimeNoBackups), CrewSkill: r.CrewSkill, Tested: r.Tested, LastTested: r.LastTested}),
		Deps: canonDeps(s.DependsOn), Groups: canonGroups(s.Groups),
	}
}

func fromAsset(a *bulwark.Asset) entity {
	count := a.Count
	if count == 0 {
		count = 1
	}
	e := entity{
		ID: a.ID, Kind: bulwark.KindAsset, Owner: a.Owner, Name: a.Name,
		AssetKind: a.Kind, Vendor: a.Vendor, Product: a.Product, Version: a.Version, Count: count,
		System: a.System,
		Attrs:  mustJSON(assetAttrs{CPE: a.CPEs, PURL: a.PURLs, Site: a.Location.Site, Lat: a.Location.Lat, Lon: a.Location.Lon}),
		Deps:   canonDeps(a.DependsOn),
	}
	if a.System != "" {
		e.SysKind = string(a.SystemDependency)
		if e.SysKind == "" {
			e.SysKind = string(bulwark.Hard)
		}
		e.SysGroup = a.SystemGroup
	}
	return e
}

// computeHash sets e.Hash to a digest of everything stored about e. Fields
// are length-prefixed so that no two different entities hash alike.
func (e *entity) computeHash(h hash.Hash, buf []byte) []byte {
	h.Reset()
	buf = buf[:0]
	str := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	num := func(n int64) { buf = binary.AppendVarint(buf, n) }
	str(e.ID)
	num(int64(e.Kind))
	str(e.Owner)
	str(e.Name)
	str(e.Sector)
	num(e.Population)
	num(int64(e.Cat.Confidentiality))
	num(int64(e.Cat.Integrity))
	num(int64(e.Cat.Availability))
	str(e.Zone)
	if e.Exposed {
		num(1)
	} else {
		num(0)
	}
	str(e.AssetKind)
	str(e.Vendor)
	str(e.Product)
	str(e.Version)
	num(e.Count)
	str(e.System)
	str(e.SysKind)
	str(e.SysGroup)
	str(e.Attrs)
	num(int64(len(e.Deps)))
	for _, d := range e.Deps {
		str(d.On)
		str(string(d.Kind))
		str(d.Group)
	}
	num(int64(len(e.Groups)))
	for _, g := range e.Groups {
		str(g.ID)
		num(int64(g.Need))
	}
	h.Write(buf)
	var sum [sha256.Size]byte
	e.Hash = hex.EncodeToString(h.Sum(sum[:0])[:16])
	return buf
}

func newHasher() hash.Hash { return sha256.New() }

// orgHash is the content hash of an organization.
func orgHash(o *bulwark.Organization, contacts, shares string) string {
	h := sha256.New()
	for _, f := range []string{o.ID, o.Name, string(o.Purview), contacts, shares} {
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// row is an entity as read back: the entity plus its ref.
type row struct {
	Ref int64
	entity
}

// readCols selects an entity with its system's ID and owner (e is the
// entity, s its system, joined on sys_ref).
const readCols = "e.ref, e.id, e.kind, e.owner, e.name, e.sector, e.population, e.conf, e.integ, e.avail, e.zone, e.exposed, " +
	"e.asset_kind, e.vendor, e.product, e.version, e.count, COALESCE(s.id, ''), COALESCE(s.owner, ''), e.sys_kind, e.sys_group, e.attrs"

const readFrom = "entities e LEFT JOIN entities s ON s.ref = e.sys_ref"

type scanner interface{ Scan(dest ...any) error }

// scanRow reads readCols, hiding a system the caller may not see.
func scanRow(sc scanner, s scope) (row, error) {
	var r row
	var kind, conf, integ, avail int64
	var sysOwner string
	err := sc.Scan(&r.Ref, &r.ID, &kind, &r.Owner, &r.Name, &r.Sector, &r.Population, &conf, &integ, &avail,
		&r.Zone, &r.Exposed, &r.AssetKind, &r.Vendor, &r.Product, &r.Version, &r.Count, &r.System, &sysOwner,
		&r.SysKind, &r.SysGroup, &r.Attrs)
	if err != nil {
		return r, err
	}
	r.Kind = bulwark.NodeKind(kind)
	r.Cat = bulwark.Category{Confidentiality: level(conf), Integrity: level(integ), Availability: level(avail)}
	if r.System != "" && !s.sees(sysOwner) {
		r.System, r.SysKind, r.SysGroup = "", "", ""
	}
	return r, nil
}

func level(n int64) bulwark.Level {
	if n < 0 || n > math.MaxUint8 {
		return bulwark.LevelNone
	}
	return bulwark.Level(n)
}

func (r *row) service() (bulwark.Service, error) {
	var a serviceAttrs
	if err := json.Unmarshal([]byte(r.Attrs), &a); err != nil {
		return bulwark.Service{}, fmt.Errorf("decode service %s: %w", r.ID, err)
	}
	return bulwark.Service{
		ID: r.ID, Name: r.Name, Description: a.Description, Owner: r.Owner, Sector: bulwark.Sector(r.Sector),
		Population: r.Population, Category: r.Cat,
		Targets:   bulwark.Targets{MaxTolerableDowntime: time.Duration(a.MTD), RTO: time.Duration(a.RTO), RPO: time.Duration(a.RPO)},
		DependsOn: r.Deps, Groups: r.Groups,
	}, nil
}

func (r *row) system() (bulwark.System, error) {
	var a systemAttrs
	if err := json.Unmarshal([]byte(r.Attrs), &a); err != nil {
		return bulwark.System{}, fmt.Errorf("decode system %s: %w", r.ID, err)
	}
	return bulwark.System{
		ID: r.ID, Name: r.Name, Description: a.Description, Owner: r.Owner, Zone: r.Zone, InternetExposed: r.Exposed,
		Recovery: bulwark.Recovery{RestoreTime: time.Duration(a.RestoreTime), RestoreTimeNoBackups: time.Duration(a.RestoreTimeNoBackups),
			CrewSkill: a.CrewSkill, Tested: a.Tested, LastTested: a.LastTested},
		DependsOn: r.Deps, Groups: r.Groups,
	}, nil
}

func (r *row) asset() (bulwark.Asset, error) {
	var a assetAttrs
	if err := json.Unmarshal([]byte(r.Attrs), &a); err != nil {
		return bulwark.Asset{}, fmt.Errorf("decode asset %s: %w", r.ID, err)
	}
	return bulwark.Asset{
		ID: r.ID, Name: r.Name, Owner: r.Owner, Kind: r.AssetKind, Vendor: r.Vendor, Product: r.Product, Version: r.Version,
		CPEs: a.CPE, PURLs: a.PURL, Location: bulwark.Location{Site: a.Site, Lat: a.Lat, Lon: a.Lon}, Count: r.Count,
		System: r.System, SystemDependency: bulwark.DepKind(r.SysKind), SystemGroup: r.SysGroup, DependsOn: r.Deps,
	}, nil
}
