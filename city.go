package bulwark

import "time"

// Level is a FIPS 199 potential impact level. The zero value means "not
// categorized", which the graph treats as lower than Low.
type Level uint8

// FIPS 199 impact levels, ordered so that max() is the high-water mark.
const (
	LevelNone Level = iota
	LevelLow
	LevelModerate
	LevelHigh
)

var levelNames = [...]string{"", "low", "moderate", "high"}

func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "invalid"
}

// ParseLevel parses "low", "moderate" or "high" (and "" as LevelNone).
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), true
		}
	}
	return LevelNone, false
}

// Category is a FIPS 199 security category: the potential impact of a loss
// of confidentiality, integrity and availability.
type Category struct {
	Confidentiality Level
	Integrity       Level
	Availability    Level
}

// Max returns the high-water mark of c and o per objective (NIST SP 800-60).
func (c Category) Max(o Category) Category {
	return Category{max(c.Confidentiality, o.Confidentiality), max(c.Integrity, o.Integrity), max(c.Availability, o.Availability)}
}

// Overall is the highest impact across the three objectives.
func (c Category) Overall() Level {
	return max(c.Confidentiality, c.Integrity, c.Availability)
}

// Purview says which kind of authority an organization answers to; incident
// routing and sharing rules depend on it.
type Purview string

// Purviews of organizations.
const (
	PurviewCity     Purview = "city"
	PurviewPrivate  Purview = "private"
	PurviewState    Purview = "state"
	PurviewFederal  Purview = "federal"
	PurviewISAC     Purview = "isac"
	PurviewAcademic Purview = "academic"
)

// Purviews lists every valid purview.
var Purviews = []Purview{PurviewCity, PurviewPrivate, PurviewState, PurviewFederal, PurviewISAC, PurviewAcademic}

// Sector is one of CISA's 16 critical-infrastructure sectors (PPD-21).
type Sector string

// The 16 critical-infrastructure sectors, by their short names.
const (
	SectorChemical       Sector = "chemical"
	SectorCommercial     Sector = "commercial-facilities"
	SectorCommunications Sector = "communications"
	SectorManufacturing  Sector = "critical-manufacturing"
	SectorDams           Sector = "dams"
	SectorDefense        Sector = "defense-industrial-base"
	SectorEmergency      Sector = "emergency-services"
	SectorEnergy         Sector = "energy"
	SectorFinancial      Sector = "financial-services"
	SectorFood           Sector = "food-agriculture"
	SectorGovernment     Sector = "government-facilities"
	SectorHealthcare     Sector = "healthcare-public-health"
	SectorIT             Sector = "information-technology"
	SectorNuclear        Sector = "nuclear"
	SectorTransportation Sector = "transportation"
	SectorWater          Sector = "water-wastewater"
)

// Sectors lists the 16 sectors in CISA's order.
var Sectors = []Sector{SectorChemical, SectorCommercial, SectorCommunications, SectorManufacturing, SectorDams, SectorDefense,
	SectorEmergency, SectorEnergy, SectorFinancial, SectorFood, SectorGovernment, SectorHealthcare, SectorIT, SectorNuclear,
	SectorTransportation, SectorWater}

// ValidSector reports whether s is one of the 16 sectors.
func ValidSector(s Sector) bool {
	for _, x := range Sectors {
		if x == s {
			return true
		}
	}
	return false
}

// Organization is a tenant: a city agency, private operator, state or
// federal body, ISAC or academic partner.
type Organization struct {
	ID       string
	Name     string
	Purview  Purview
	Contacts []Contact
	// SharesWith lists organizations allowed to read this organization's
	// city model (services, systems, assets and their dependencies).
	SharesWith []string
}

// Contact is a person or desk to reach at an organization.
type Contact struct {
	Name  string
	Role  string
	Email string
	Phone string
}

// Targets are a service's resilience targets.
type Targets struct {
	MaxTolerableDowntime time.Duration // MTD
	RTO                  time.Duration // recovery time objective
	RPO                  time.Duration // recovery point objective
}

// DepKind says how a dependent reacts when what it depends on fails.
type DepKind string

// Dependency kinds.
const (
	Hard DepKind = "hard" // the dependent fails
	Soft DepKind = "soft" // the dependent degrades
)

// Dependency is "the owner of this value depends on On". Group, when set,
// names a redundancy group of the dependent: the dependent needs only Need
// of the group's members (see Group).
type Dependency struct {
	On    string
	Kind  DepKind
	Group string
}

// Group is a redundancy group of a dependent: it needs at least Need of the
// dependencies that name this group ("k of n").
type Group struct {
	ID   string
	Need int
}

// Service is a critical city service.
type Service struct {
	ID          string
	Name        string
	Description string
	Owner       string // organization ID
	Sector      Sector
	Population  int64 // people served
	Category    Category
	Targets     Targets
	DependsOn   []Dependency
	Groups      []Group
}

// Recovery describes how a system comes back after a failure.
type Recovery struct {
	RestoreTime          time.Duration // with backups
	RestoreTimeNoBackups time.Duration
	CrewSkill            string
	Tested               bool
	LastTested           string // date, YYYY-MM-DD
}

// System is an IT or OT system.
type System struct {
	ID              string
	Name            string
	Description     string
	Owner           string // organization ID
	Zone            string // network zone: it, ot, dmz, cloud, field...
	InternetExposed bool
	Recovery        Recovery
	DependsOn       []Dependency
	Groups          []Group
}

// Location places an asset.
type Location struct {
	Site string
	Lat  float64
	Lon  float64
}

// Asset is a device or software instance, or a fleet of Count identical ones.
type Asset struct {
	ID      string
	Name    string
	Owner   string // organization ID
	Kind    string // plc, rtu, hmi, traffic-controller, smart-meter, camera, server, ...
	Vendor  string
	Product string
	Version string
	// CPEs are CPE 2.3 formatted strings: a device carries its hardware (h)
	// and firmware (o) names and any applications (a) it runs.
	CPEs     []string
	PURLs    []string
	Location Location
	Count    int64 // fleet size; 1 for a single device
	// System, when set, is the system this asset is part of: the system
	// depends on the asset with SystemDependency kind, in SystemGroup if set.
	System           string
	SystemDependency DepKind
	SystemGroup      string
	DependsOn        []Dependency
}

// NodeKind distinguishes the three kinds of node in the dependency graph.
type NodeKind uint8

// Node kinds.
const (
	KindService NodeKind = iota + 1
	KindSystem
	KindAsset
)

var nodeKindNames = [...]string{"", "service", "system", "asset"}

func (k NodeKind) String() string {
	if int(k) < len(nodeKindNames) {
		return nodeKindNames[k]
	}
	return "invalid"
}

// ParseNodeKind parses "service", "system" or "asset".
func ParseNodeKind(s string) (NodeKind, bool) {
	for i, n := range nodeKindNames {
		if i > 0 && n == s {
			return NodeKind(i), true
		}
	}
	return 0, false
}

// City is a whole city model held in memory. Large inventories are streamed
// in chunks of this type rather than loaded whole.
type City struct {
	Organizations []Organization
	Services      []Service
	Systems       []System
	Assets        []Asset
}

// MaxIDLen caps entity identifiers.
const MaxIDLen = 128

// ValidID reports whether id is a well-formed identifier: 1-128 characters,
// starting with a letter or digit, then letters, digits, '.', '_', ':' or '-'.
// It is written as a loop rather than a regular expression because imports
// check it on every entity and reference of a million-asset city.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'):
		default:
			return false
		}
	}
	return true
}
