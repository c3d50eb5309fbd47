package generate

import (
	"time"

	"bulwark"
)

// This file holds the shape of a generated city: who runs it, which
// services it delivers, the systems behind them and the roles of the
// assets in each system. Generate scales it to any number of assets.

const (
	low  = bulwark.LevelLow
	mod  = bulwark.LevelModerate
	high = bulwark.LevelHigh

	hour = time.Hour
	day  = 24 * time.Hour
)

// orgT is an organization; "%s" in name is replaced by the city name.
type orgT struct {
	id, name string
	purview  bulwark.Purview
	roles    []string // contact roles
	shares   []string
}

var orgTemplates = []orgT{
	{"city-ciso", "%s Office of the Chief Information Security Officer", bulwark.PurviewCity, []string{"Chief information security officer", "Security operations lead"}, []string{"state-emergency"}},
	{"city-it", "%s Department of Information Technology", bulwark.PurviewCity, []string{"Chief information officer", "Network operations manager"}, nil},
	{"city-water", "%s Water and Sewer Department", bulwark.PurviewCity, []string{"OT security lead", "Plant superintendent"}, nil},
	{"city-transport", "%s Department of Transportation", bulwark.PurviewCity, []string{"Traffic operations engineer", "ITS manager"}, nil},
	{"city-police", "%s Police Department and 911 Communications", bulwark.PurviewCity, []string{"911 communications director", "Public safety IT manager"}, nil},
	{"city-fire", "%s Fire and EMS Department", bulwark.PurviewCity, []string{"Deputy chief, operations", "EMS systems coordinator"}, nil},
	{"city-publicworks", "%s Department of Public Works", bulwark.PurviewCity, []string{"Facilities manager", "Flood control engineer"}, nil},
	{"city-emergency", "%s Office of Emergency Management", bulwark.PurviewCity, []string{"Emergency manager", "Alert and warning coordinator"}, nil},
	{"city-health", "%s Department of Public Health", bulwark.PurviewCity, []string{"Health informatics lead", "Environmental health director"}, nil},
	{"city-parks", "%s Parks and Recreation", bulwark.PurviewCity, []string{"Facilities coordinator"}, nil},
	{"city-finance", "%s Department of Finance", bulwark.PurviewCity, []string{"Treasurer", "Payroll manager"}, nil},
	{"city-planning", "%s Planning and Permits", bulwark.PurviewCity, []string{"Permits systems analyst"}, nil},
	{"port-authority", "%s Harbor Authority", bulwark.PurviewCity, []string{"Facility security officer", "Harbor master"}, nil},
	{"electric-utility", "%s Light and Power", bulwark.PurviewPrivate, []string{"Grid control manager", "CIP compliance lead"}, nil},
	{"telecom", "Coastline Telecom", bulwark.PurviewPrivate, []string{"Network operations center", "Account manager, public sector"}, nil},
	{"hospital", "%s General Hospital", bulwark.PurviewPrivate, []string{"Chief information security officer", "Facilities engineer"}, nil},
	{"port-terminal", "Harbor Terminal Operators", bulwark.PurviewPrivate, []string{"Terminal IT manager", "Crane maintenance lead"}, nil},
	{"transit", "%s Regional Transit", bulwark.PurviewPrivate, []string{"Transit systems manager", "Rail control supervisor"}, nil},
	{"state-emergency", "State Emergency Management Agency", bulwark.PurviewState, []string{"Regional coordinator"}, nil},
	{"state-fusion", "State Fusion Center, Cyber Unit", bulwark.PurviewState, []string{"Cyber intelligence analyst"}, nil},
	{"coast-guard", "Coast Guard Sector Office", bulwark.PurviewFederal, []string{"Port security specialist"}, nil},
	{"cisa-region", "CISA Regional Office", bulwark.PurviewFederal, []string{"Cybersecurity advisor", "Protective security advisor"}, nil},
	{"coastal-isac", "Coastal Cities ISAC", bulwark.PurviewISAC, []string{"Watch desk"}, nil},
	{"university", "Halden Institute of Technology Cyber Clinic", bulwark.PurviewAcademic, []string{"Clinic director"}, nil},
}

// svcT is a service. Services only depend on services listed before them,
// so the service graph is acyclic by construction.
type svcT struct {
	id, name, desc, owner string
	sector                bulwark.Sector
	share                 float64 // share of the city population served
	cat                   bulwark.Category
	mtd, rto, rpo         time.Duration
	deps                  []bulwark.Dependency
	groups                []bulwark.Group
	variants              bool // numbered district variants in huge cities
}

func cat(c, i, a bulwark.Level) bulwark.Category {
	return bulwark.Category{Confidentiality: c, Integrity: i, Availability: a}
}

func hard(on string) bulwark.Dependency { return bulwark.Dependency{On: on, Kind: bulwark.Hard} }
func soft(on string) bulwark.Dependency { return bulwark.Dependency{On: on, Kind: bulwark.Soft} }
func inGroup(on, group string) bulwark.Dependency {
	return bulwark.Dependency{On: on, Kind: bulwark.Hard, Group: group}
}
func deps(d ...bulwark.Dependency) []bulwark.Dependency { return d }

var serviceTemplates = []svcT{
	{"electric-distribution", "Electric power distribution", "Delivery of electricity from the transmission grid to homes and businesses", "electric-utility", bulwark.SectorEnergy, 1, cat(low, high, high), 12 * hour, 4 * hour, 15 * time.Minute, nil, []bulwark.Group{{ID: "substations", Need: 2}}, true},
	{"electric-metering", "Electric metering and outage detection", "Smart meter reads, remote connect and outage detection", "electric-utility", bulwark.SectorEnergy, 1, cat(mod, high, mod), 3 * day, 1 * day, 4 * hour, deps(soft("electric-distribution")), nil, false},
	{"telecom-backbone", "Telecommunications and internet access", "Fixed-line voice, fiber and internet access for the city", "telecom", bulwark.SectorCommunications, 1, cat(mod, mod, high), 8 * hour, 4 * hour, 1 * hour, deps(soft("electric-distribution")), nil, false},
	{"mobile-network", "Cellular network", "Mobile voice and data, including FirstNet-style priority access", "telecom", bulwark.SectorCommunications, 1, cat(mod, mod, high), 8 * hour, 4 * hour, 1 * hour, deps(soft("electric-distribution"), hard("telecom-backbone")), nil, false},
	{"city-it-services", "City network, identity and data center", "Shared network, directory, e-mail and hosting for every city department", "city-it", bulwark.SectorIT, 0.02, cat(mod, mod, high), 12 * hour, 8 * hour, 4 * hour, deps(hard("electric-distribution"), soft("telecom-backbone")), nil, false},
	{"drinking-water", "Drinking water supply", "Treatment and distribution of drinking water", "city-water", bulwark.SectorWater, 1, cat(low, high, high), 24 * hour, 12 * hour, 1 * hour, deps(hard("electric-distribution"), soft("telecom-backbone")), nil, true},
	{"wastewater", "Wastewater collection and treatment", "Sewer collection, lift stations and the treatment plant outfall", "city-water", bulwark.SectorWater, 1, cat(low, high, high), 24 * hour, 12 * hour, 4 * hour, deps(hard("electric-distribution")), nil, true},
	{"flood-protection", "Tide gates and flood protection", "Harbor tide gates, storm pumps and flood barrier", "city-publicworks", bulwark.SectorDams, 0.35, cat(low, high, high), 6 * hour, 2 * hour, 1 * hour, deps(soft("electric-distribution")), nil, false},
	{"street-lighting", "Street lighting", "Networked street lights and their central management", "city-publicworks", bulwark.SectorTransportation, 1, cat(low, mod, mod), 3 * day, 1 * day, 1 * day, deps(hard("electric-distribution")), nil, false},
	{"traffic-signals", "Traffic signal control", "Signalized intersections, coordination plans and emergency vehicle preemption", "city-transport", bulwark.SectorTransportation, 1, cat(low, high, high), 4 * hour, 2 * hour, 1 * day, deps(hard("electric-distribution"), soft("telecom-backbone"), soft("city-it-services")), nil, true},
	{"public-transit", "Public bus and light rail transit", "Scheduled bus and light rail service with real-time passenger information", "transit", bulwark.SectorTransportation, 0.4, cat(mod, mod, high), 12 * hour, 4 * hour, 1 * hour, deps(hard("electric-distribution"), soft("mobile-network"), soft("traffic-signals")), nil, true},
	{"port-container-ops", "Port container operations", "Vessel loading and discharge, yard and gate operations at the container terminal", "port-terminal", bulwark.SectorTransportation, 0.6, cat(mod, high, high), 24 * hour, 8 * hour, 1 * hour, deps(hard("electric-distribution"), hard("telecom-backbone")), nil, false},
	{"port-security", "Port security and access control", "Credentialed access, perimeter video and security incident response at the port (MTSA)", "port-authority", bulwark.SectorTransportation, 0.6, cat(mod, high, high), 4 * hour, 2 * hour, 1 * hour, deps(hard("electric-distribution"), soft("telecom-backbone")), nil, false},
	{"vessel-traffic", "Vessel traffic and harbor pilotage", "Radar and AIS vessel tracking for safe harbor navigation", "port-authority", bulwark.SectorTransportation, 0.6, cat(low, high, high), 4 * hour, 1 * hour, 15 * time.Minute, deps(soft("electric-distribution"), soft("telecom-backbone")), nil, false},
	{"port-fuel-terminal", "Bulk fuel and chemical terminal", "Receipt, storage and loading of fuels and bulk chemicals at the port", "port-terminal", bulwark.SectorChemical, 0.6, cat(mod, high, high), 12 * hour, 4 * hour, 1 * hour, deps(hard("electric-distribution")), nil, false},
	{"public-safety-radio", "Public safety radio (P25)", "Trunked radio for police, fire, EMS and public works", "city-police", bulwark.SectorEmergency, 1, cat(mod, high, high), 1 * hour, 30 * time.Minute, 1 * day, deps(soft("electric-distribution")), nil, false},
	{"911-dispatch", "911 call taking and police dispatch", "Emergency call answering and police dispatch at the public safety answering point", "city-police", bulwark.SectorEmergency, 1, cat(high, high, high), 30 * time.Minute, 15 * time.Minute, 5 * time.Minute, deps(hard("telecom-backbone"), soft("electric-distribution"), hard("city-it-services"), hard("public-safety-radio")), nil, false},
	{"ems-dispatch", "Fire and EMS dispatch", "Dispatch of fire engines and ambulances", "city-fire", bulwark.SectorEmergency, 1, cat(high, high, high), 30 * time.Minute, 15 * time.Minute, 5 * time.Minute, deps(hard("911-dispatch"), hard("public-safety-radio")), nil, false},
	{"fire-station-alerting", "Fire station alerting", "Station tones, lights and printouts that turn out crews", "city-fire", bulwark.SectorEmergency, 1, cat(low, high, high), 1 * hour, 30 * time.Minute, 1 * day, deps(hard("ems-dispatch")), nil, true},
	{"emergency-alerts", "Emergency alerts and warning sirens", "Wireless emergency alerts, outdoor sirens and the opt-in notification system", "city-emergency", bulwark.SectorEmergency, 1, cat(low, high, high), 1 * hour, 30 * time.Minute, 1 * day, deps(soft("mobile-network"), soft("telecom-backbone"), soft("electric-distribution")), nil, false},
	{"emergency-operations", "Emergency operations center", "Coordination of the city's response to major incidents", "city-emergency", bulwark.SectorGovernment, 1, cat(mod, high, high), 4 * hour, 2 * hour, 1 * hour, deps(hard("city-it-services"), soft("telecom-backbone")), nil, false},
	{"hospital-records", "Electronic health records", "Patient records, orders and results at the general hospital", "hospital", bulwark.SectorHealthcare, 0.8, cat(high, high, high), 8 * hour, 4 * hour, 15 * time.Minute, deps(soft("telecom-backbone")), nil, false},
	{"hospital-emergency", "Hospital emergency care", "The region's only level II trauma center and emergency department", "hospital", bulwark.SectorHealthcare, 0.8, cat(high, high, high), 2 * hour, 1 * hour, 15 * time.Minute, deps(soft("electric-distribution"), hard("drinking-water"), soft("telecom-backbone"), soft("ems-dispatch"), hard("hospital-records")), nil, false},
	{"disease-surveillance", "Disease surveillance and lab reporting", "Notifiable disease reporting and public health laboratory results", "city-health", bulwark.SectorHealthcare, 1, cat(high, high, mod), 3 * day, 1 * day, 4 * hour, deps(soft("city-it-services")), nil, false},
	{"food-inspections", "Food safety inspections", "Restaurant and food market inspections and permits", "city-health", bulwark.SectorFood, 1, cat(mod, mod, low), 7 * day, 3 * day, 1 * day, deps(soft("city-it-services")), nil, false},
	{"city-payroll", "City payroll", "Pay for the city's employees, including police and fire", "city-finance", bulwark.SectorGovernment, 0.03, cat(high, high, mod), 5 * day, 2 * day, 1 * day, deps(hard("city-it-services")), nil, false},
	{"utility-billing", "Water and sewer billing", "Meter-to-cash for water and sewer customers", "city-finance", bulwark.SectorFinancial, 1, cat(high, high, mod), 7 * day, 3 * day, 1 * day, deps(hard("city-it-services")), nil, false},
	{"online-payments", "Online tax and fee payments", "Property tax, parking tickets and fee payments by card", "city-finance", bulwark.SectorFinancial, 0.7, cat(high, high, mod), 3 * day, 1 * day, 1 * hour, deps(hard("city-it-services"), hard("telecom-backbone")), nil, false},
	{"parking", "Parking and curb management", "Pay stations, garages and parking enforcement", "city-transport", bulwark.SectorTransportation, 0.5, cat(mod, mod, low), 3 * day, 1 * day, 1 * day, deps(soft("online-payments"), soft("city-it-services")), nil, false},
	{"permits", "Building permits and inspections", "Permit applications, plan review and inspection scheduling", "city-planning", bulwark.SectorGovernment, 0.3, cat(mod, mod, low), 7 * day, 3 * day, 1 * day, deps(hard("city-it-services"), soft("online-payments")), nil, false},
	{"public-wifi", "Public Wi-Fi", "Free Wi-Fi in libraries, parks, the waterfront and shelters", "city-it", bulwark.SectorCommunications, 0.3, cat(low, low, mod), 3 * day, 1 * day, 1 * day, deps(hard("telecom-backbone"), hard("electric-distribution")), nil, true},
	{"city-website-311", "City website and 311", "Public information, service requests and the 311 contact center", "city-it", bulwark.SectorGovernment, 1, cat(low, mod, mod), 2 * day, 12 * hour, 4 * hour, deps(hard("telecom-backbone"), soft("city-it-services")), nil, false},
	{"building-automation", "City facilities management", "Heating, cooling, access and lighting in city buildings and shelters", "city-publicworks", bulwark.SectorCommercial, 0.05, cat(low, mod, mod), 2 * day, 1 * day, 1 * day, deps(hard("electric-distribution")), nil, true},
	{"convention-center", "Convention center and events", "The waterfront convention center and event venues", "city-parks", bulwark.SectorCommercial, 0.2, cat(low, mod, mod), 3 * day, 1 * day, 1 * day, deps(hard("electric-distribution"), soft("public-wifi")), nil, false},
	{"parks-facilities", "Parks and recreation reservations", "Field, pavilion and program reservations", "city-parks", bulwark.SectorCommercial, 0.3, cat(mod, low, low), 7 * day, 3 * day, 1 * day, deps(soft("online-payments")), nil, true},
	{"solid-waste", "Solid waste collection", "Trash, recycling and bulk collection routes", "city-publicworks", bulwark.SectorGovernment, 1, cat(low, low, mod), 3 * day, 1 * day, 1 * day, deps(soft("mobile-network")), nil, true},
}

// slotT is a role assets play in a system.
type slotT struct {
	role    string  // key of roles
	name    string  // asset name within the system
	min     int     // entries given before any scaling
	w       float64 // share of the extra entries when the city grows
	fleet   [2]int64
	group   string  // redundancy group of the system the entries form
	needK   int     // the group needs k members...
	needF   float64 // ...or this fraction of its members
	soft    bool    // the system only degrades without them
	power   bool    // each entry depends on the system's power feeder
	perFeed bool    // each entry depends on a feeder of its own
	deps    []string
	fleetN  bool // name entries as fleets ("... fleet 3")
}

func slot(role, name string, min int, w float64) slotT {
	return slotT{role: role, name: name, min: min, w: w}
}
func (s slotT) grp(g string, k int) slotT      { s.group, s.needK = g, k; return s }
func (s slotT) grpF(g string, f float64) slotT { s.group, s.needF = g, f; return s }
func (s slotT) weak() slotT                    { s.soft = true; return s }
func (s slotT) powered() slotT                 { s.power = true; return s }
func (s slotT) spread() slotT                  { s.perFeed = true; return s }
func (s slotT) fleetOf(lo, hi int64) slotT     { s.fleet = [2]int64{lo, hi}; s.fleetN = true; return s }
func (s slotT) on(systems ...string) slotT     { s.deps = systems; return s }

// useT is a service depending on a system.
type useT struct {
	svc   string
	kind  bulwark.DepKind
	group string
}

func usedHard(svc string) useT      { return useT{svc: svc, kind: bulwark.Hard} }
func usedSoft(svc string) useT      { return useT{svc: svc, kind: bulwark.Soft} }
func usedIn(svc, group string) useT { return useT{svc: svc, kind: bulwark.Hard, group: group} }

// sysT is a system. Systems only depend on systems listed before them (the
// list is ordered by layer: power, networks, shared IT, service systems),
// and assets only depend on systems before their own, so the whole graph is
// acyclic by construction.
type sysT struct {
	id, name, desc, owner, zone string
	layer                       int
	exposed                     bool
	rec                         string // recovery profile
	site                        string // site key; "" = picked per instance
	feeder                      string // power feeder of its assets; "" = picked
	deps                        []bulwark.Dependency
	groups                      []bulwark.Group
	used                        []useT
	slots                       []slotT
	// Repeatable templates make the numbered systems of bigger cities: id
	// and name hold one %d. pick names a system class ("substation") the
	// instance depends on hard.
	repeat float64
	pick   string
}

// Recovery profiles: restore time with and without backups, crew skill.
var recoveryProfiles = map[string]struct {
	restore, noBackups time.Duration
	skill              string
}{
	"power": {6 * hour, 2 * day, "protection-engineer"},
	"ot":    {8 * hour, 3 * day, "ot-engineer"},
	"it":    {4 * hour, 2 * day, "it-sysadmin"},
	"net":   {2 * hour, 1 * day, "network-engineer"},
	"field": {12 * hour, 4 * day, "field-technician"},
	"radio": {8 * hour, 3 * day, "radio-technician"},
	"cloud": {2 * hour, 1 * day, "vendor-support"},
	"med":   {4 * hour, 2 * day, "clinical-engineer"},
}

// site is a place in the (fictional) port city; coordinates sit on a
// stretch of coast with the harbor to the south-east.
type site struct {
	key, name string
	lat, lon  float64
}

var sites = []site{
	{"cityhall", "City Hall", 43.7105, -69.8460},
	{"psb", "Public Safety Building", 43.7122, -69.8502},
	{"datacenter", "Hillcrest data center", 43.7330, -69.8750},
	{"harbor", "Container terminal", 43.7020, -69.8205},
	{"pier", "Fuel terminal pier", 43.6978, -69.8148},
	{"harborrd", "Harbor Road water treatment plant", 43.7210, -69.8600},
	{"wwtp", "Southshore wastewater plant", 43.6862, -69.8520},
	{"north", "Northside", 43.7460, -69.8520},
	{"south", "Southshore", 43.6850, -69.8480},
	{"east", "Eastpoint", 43.7150, -69.8150},
	{"west", "Westfield", 43.7150, -69.8950},
	{"oldtown", "Old Town", 43.7080, -69.8380},
	{"flats", "Industrial Flats", 43.6950, -69.8300},
	{"river", "Riverside", 43.7280, -69.8350},
	{"airport", "Airport Road", 43.7550, -69.8900},
	{"hospital", "General Hospital campus", 43.7250, -69.8420},
	{"tidegate", "Harbor tide gates", 43.6995, -69.8260},
	{"depot", "Transit operations center", 43.7380, -69.8630},
	{"convention", "Waterfront convention center", 43.7050, -69.8330},
}

// districtSites are where numbered systems of bigger cities are placed.
var districtSites = []string{"north", "south", "east", "west", "oldtown", "flats", "river", "airport"}
