package web

import (
	"net/http"

	"bulwark"
)

// The view models below are the only data templates see: one struct per
// page, filled by its handler, so a template never calls into the store and
// a field a template names that does not exist fails at parse or in tests.

// Base is what the layout needs on every page.
type Base struct {
	Title string
	Nav   string // active navigation entry
	// User is the display name of the logged-in principal ("" on the
	// login page), Org its organization and Role its role.
	User, Org, Role string
	// CSRF is the token of the logout form.
	CSRF string
	// Charts loads ECharts and the chart script (only pages with charts
	// pay for the 1 MB library).
	Charts bool
}

func (h *Handler) base(r *http.Request, p bulwark.Principal, nav, title string) Base {
	b := Base{Title: title, Nav: nav, User: p.Name, Org: p.Org, Role: string(p.Role)}
	if h.auth != nil && p.Name != "" {
		b.CSRF = h.auth.CSRFToken(r)
	}
	return b
}

// LoginPage is the login form.
type LoginPage struct {
	Base
	Email     string
	Error     string
	Notice    string
	Token     string // anti-forgery token of the form
	Next      string // where to go after logging in
	LoggedOut bool
}

// ErrorPage reports a failed request.
type ErrorPage struct {
	Base
	Status  int
	Message string
}

// Link is a named link to an entity page (Href "" when it is not visible).
type Link struct {
	ID, Name, Href string
}

// CIA is a FIPS 199 category as three level names ("" = not categorized).
type CIA struct {
	C, I, A string
	Overall string
}

func ciaOf(c bulwark.Category) CIA {
	return CIA{C: c.Confidentiality.String(), I: c.Integrity.String(), A: c.Availability.String(), Overall: c.Overall().String()}
}

// DashboardPage is the home page: counts, services per sector and the top
// single points of failure.
type DashboardPage struct {
	Base
	Counts      bulwark.Counts
	SectorChart string // JSON for the chart script: {"labels":[..],"values":[..],"population":[..]}
	Sectors     []SectorRow
	TopSPOFs    []NodeRow
	Cycles      int
	Exposure    ExposureView
}

// SectorRow counts the services of one sector (the chart's table twin).
type SectorRow struct {
	Sector     string
	Services   int
	Population int64
}

// NodeRow is one row of the criticality ranking.
type NodeRow struct {
	Rank             int
	Node             Link
	Kind             string
	Owner            string
	Category         string
	CIA              CIA
	ServicesLost     []Link
	PopulationLost   int64
	ServicesDegraded int
}

// OrganizationsPage lists the visible organizations.
type OrganizationsPage struct {
	Base
	Orgs        []OrgRow
	Next, First string
}

// OrgRow is one organization.
type OrgRow struct {
	ID, Name, Purview string
	Contacts          []bulwark.Contact
	SharesWith        []string
}

// ServicesPage lists services with their FIPS 199 category, targets and
// criticality.
type ServicesPage struct {
	Base
	Query, Sector, Owner string
	Sectors              []string
	Owners               []Link
	Rows                 []ServiceRow
	Next                 string // URL of the next page, "" on the last
	First                string // URL of the first page when not on it
}

// ServiceRow is one service in the list.
type ServiceRow struct {
	Service    Link
	Sector     string
	Owner      string
	Population int64
	CIA        CIA
	MTD        string
	RTO        string
	RPO        string
	Category   string // overall criticality from the analysis
	SPOFs      int
	CommonMode int
}

// ServicePage is one service with its dependency graph.
type ServicePage struct {
	Base
	Service     Link
	Description string
	Sector      string
	Owner       string
	Population  int64
	CIA         CIA
	MTD         string
	RTO         string
	RPO         string
	Category    string
	Groups      []bulwark.Group
	DependsOn   []DepRow
	SPOFs       []SPOFRow
	GraphURL    string
}

// DepRow is one dependency of an entity.
type DepRow struct {
	On    Link
	Kind  string // node kind: service, system, asset ("" if not visible)
	Dep   string // hard or soft
	Group string
}

// SPOFRow is one single point of failure of a service.
type SPOFRow struct {
	Node       Link
	Kind       string
	CommonMode bool
}

// SystemsPage lists systems.
type SystemsPage struct {
	Base
	Query, Owner string
	Owners       []Link
	Rows         []SystemRow
	Next, First  string
}

// SystemRow is one system in the list.
type SystemRow struct {
	System          Link
	Owner           string
	Zone            string
	InternetExposed bool
	Restore         string
	Tested          bool
	Dependencies    int
}

// SystemPage is one system.
type SystemPage struct {
	Base
	System          Link
	Description     string
	Owner           string
	Zone            string
	InternetExposed bool
	Recovery        RecoveryView
	Groups          []bulwark.Group
	DependsOn       []DepRow
	Assets          []AssetRow
	MoreAssets      string // URL listing all assets of the system when truncated
	Impact          *NodeRow
}

// RecoveryView is a system's recovery data, formatted.
type RecoveryView struct {
	RestoreTime, RestoreTimeNoBackups, CrewSkill, LastTested string
	Tested                                                   bool
}

// AssetsPage lists assets with filters and fleet counts.
type AssetsPage struct {
	Base
	Query, Kind, System, Owner string
	Owners                     []Link
	Kinds                      []string
	Total, Units               int64 // visible assets and devices (fleet-weighted)
	Rows                       []AssetRow
	Next, First                string
}

// AssetRow is one asset in a list.
type AssetRow struct {
	Asset   Link
	Kind    string
	Vendor  string
	Product string
	Version string
	Count   int64
	System  Link
	Owner   string
	CPEs    []string
}

// AssetPage is one asset.
type AssetPage struct {
	Base
	Asset     Link
	Owner     string
	Kind      string
	Vendor    string
	Product   string
	Version   string
	Count     int64
	CPEs      []string
	PURLs     []string
	Location  bulwark.Location
	HasLatLon bool
	System    Link
	SystemDep string
	Group     string
	DependsOn []DepRow
	Impact    *NodeRow
	// Findings are the asset's findings, most urgent first;
	// MoreFindings is set when there are more than the page shows.
	Findings     []FindingRow
	MoreFindings bool
}

// CriticalityPage is the ranking of nodes by what their failure takes down.
type CriticalityPage struct {
	Base
	Rows   []NodeRow
	Chart  string // JSON: {"labels":[..],"values":[..]}
	Cycles [][]string
	Limit  int
	Total  int64
}
