package api

import (
	"time"

	"bulwark"
	"bulwark/internal/citymodel"
)

// The JSON shapes of the API. They are written out here rather than derived
// from the domain types so that a new domain field never appears in
// responses by accident, and so that names match the YAML city format.

type contactDTO struct {
	Name  string `json:"name,omitempty"`
	Role  string `json:"role,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

type organizationDTO struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Purview    string       `json:"purview"`
	Contacts   []contactDTO `json:"contacts,omitempty"`
	SharesWith []string     `json:"shares_with,omitempty"`
}

type categoryDTO struct {
	Confidentiality string `json:"confidentiality,omitempty"`
	Integrity       string `json:"integrity,omitempty"`
	Availability    string `json:"availability,omitempty"`
}

type targetsDTO struct {
	MaxTolerableDowntime string `json:"max_tolerable_downtime,omitempty"`
	RTO                  string `json:"rto,omitempty"`
	RPO                  string `json:"rpo,omitempty"`
}

type groupDTO struct {
	ID   string `json:"id"`
	Need int    `json:"need"`
}

type dependencyDTO struct {
	On    string `json:"on"`
	Kind  string `json:"kind"`
	Group string `json:"group,omitempty"`
}

type serviceDTO struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Owner       string          `json:"owner"`
	Sector      string          `json:"sector,omitempty"`
	Population  int64           `json:"population,omitempty"`
	Category    *categoryDTO    `json:"category,omitempty"`
	Targets     *targetsDTO     `json:"targets,omitempty"`
	Groups      []groupDTO      `json:"groups,omitempty"`
	DependsOn   []dependencyDTO `json:"depends_on,omitempty"`
}

type recoveryDTO struct {
	RestoreTime          string `json:"restore_time,omitempty"`
	RestoreTimeNoBackups string `json:"restore_time_no_backups,omitempty"`
	CrewSkill            string `json:"crew_skill,omitempty"`
	Tested               bool   `json:"tested,omitempty"`
	LastTested           string `json:"last_tested,omitempty"`
}

type systemDTO struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Description     string          `json:"description,omitempty"`
	Owner           string          `json:"owner"`
	Zone            string          `json:"zone,omitempty"`
	InternetExposed bool            `json:"internet_exposed,omitempty"`
	Recovery        *recoveryDTO    `json:"recovery,omitempty"`
	Groups          []groupDTO      `json:"groups,omitempty"`
	DependsOn       []dependencyDTO `json:"depends_on,omitempty"`
}

type locationDTO struct {
	Site string  `json:"site,omitempty"`
	Lat  float64 `json:"lat,omitempty"`
	Lon  float64 `json:"lon,omitempty"`
}

type assetDTO struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Owner      string          `json:"owner"`
	Kind       string          `json:"kind,omitempty"`
	Vendor     string          `json:"vendor,omitempty"`
	Product    string          `json:"product,omitempty"`
	Version    string          `json:"version,omitempty"`
	CPE        []string        `json:"cpe,omitempty"`
	PURL       []string        `json:"purl,omitempty"`
	Location   *locationDTO    `json:"location,omitempty"`
	Count      int64           `json:"count"`
	System     string          `json:"system,omitempty"`
	Dependency string          `json:"dependency,omitempty"`
	Group      string          `json:"group,omitempty"`
	DependsOn  []dependencyDTO `json:"depends_on,omitempty"`
}

// pageDTO is one page of a listing; Next is the cursor for the next page.
type pageDTO[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

type countsDTO struct {
	Organizations int64 `json:"organizations"`
	Services      int64 `json:"services"`
	Systems       int64 `json:"systems"`
	Assets        int64 `json:"assets"`
	AssetUnits    int64 `json:"asset_units"`
	Dependencies  int64 `json:"dependencies"`
}

type userDTO struct {
	ID        int64     `json:"id"`
	Org       string    `json:"org"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

type tokenDTO struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Revoked   bool       `json:"revoked"`
}

type auditDTO struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	Org     string    `json:"org,omitempty"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Target  string    `json:"target,omitempty"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
	Prev    string    `json:"prev"`
	Hash    string    `json:"hash"`
}

type meDTO struct {
	UserID int64  `json:"user_id"`
	Org    string `json:"org"`
	Role   string `json:"role"`
	Name   string `json:"name"`
}

type importResultDTO struct {
	Files         int   `json:"files"`
	Organizations int64 `json:"organizations"`
	Services      int64 `json:"services"`
	Systems       int64 `json:"systems"`
	Assets        int64 `json:"assets"`
	Dependencies  int64 `json:"dependencies"`
	Created       int64 `json:"created"`
	Updated       int64 `json:"updated"`
	Unchanged     int64 `json:"unchanged"`
}

func toOrganization(o *bulwark.Organization) organizationDTO {
	d := organizationDTO{ID: o.ID, Name: o.Name, Purview: string(o.Purview), SharesWith: o.SharesWith}
	for _, c := range o.Contacts {
		d.Contacts = append(d.Contacts, contactDTO(c))
	}
	return d
}

func toCategory(c bulwark.Category) *categoryDTO {
	if c == (bulwark.Category{}) {
		return nil
	}
	return &categoryDTO{c.Confidentiality.String(), c.Integrity.String(), c.Availability.String()}
}

func toDeps(deps []bulwark.Dependency) []dependencyDTO {
	var out []dependencyDTO
	for _, d := range deps {
		kind := d.Kind
		if kind == "" {
			kind = bulwark.Hard
		}
		out = append(out, dependencyDTO{On: d.On, Kind: string(kind), Group: d.Group})
	}
	return out
}

func toGroups(gs []bulwark.Group) []groupDTO {
	var out []groupDTO
	for _, g := range gs {
		out = append(out, groupDTO(g))
	}
	return out
}

func toService(s *bulwark.Service) serviceDTO {
	d := serviceDTO{
		ID: s.ID, Name: s.Name, Description: s.Description, Owner: s.Owner, Sector: string(s.Sector),
		Population: s.Population, Category: toCategory(s.Category), Groups: toGroups(s.Groups), DependsOn: toDeps(s.DependsOn),
	}
	if s.Targets != (bulwark.Targets{}) {
		d.Targets = &targetsDTO{formatDuration(s.Targets.MaxTolerableDowntime), formatDuration(s.Targets.RTO), formatDuration(s.Targets.RPO)}
	}
	return d
}

func toSystem(s *bulwark.System) systemDTO {
	d := systemDTO{
		ID: s.ID, Name: s.Name, Description: s.Description, Owner: s.Owner, Zone: s.Zone,
		InternetExposed: s.InternetExposed, Groups: toGroups(s.Groups), DependsOn: toDeps(s.DependsOn),
	}
	if s.Recovery != (bulwark.Recovery{}) {
		r := s.Recovery
		d.Recovery = &recoveryDTO{formatDuration(r.RestoreTime), formatDuration(r.RestoreTimeNoBackups), r.CrewSkill, r.Tested, r.LastTested}
	}
	return d
}

func toAsset(a *bulwark.Asset) assetDTO {
	d := assetDTO{
		ID: a.ID, Name: a.Name, Owner: a.Owner, Kind: a.Kind, Vendor: a.Vendor, Product: a.Product, Version: a.Version,
		CPE: a.CPEs, PURL: a.PURLs, Count: max(a.Count, 1), System: a.System, Group: a.SystemGroup,
		DependsOn: toDeps(a.DependsOn),
	}
	if a.System != "" {
		d.Dependency = string(a.SystemDependency)
		if d.Dependency == "" {
			d.Dependency = string(bulwark.Hard)
		}
	}
	if a.Location != (bulwark.Location{}) {
		d.Location = &locationDTO{a.Location.Site, a.Location.Lat, a.Location.Lon}
	}
	return d
}

func toUser(u *bulwark.User) userDTO {
	return userDTO{ID: u.ID, Org: u.Org, Email: u.Email, Name: u.Name, Role: string(u.Role), Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC()}
}

func toToken(t *bulwark.Token) tokenDTO {
	d := tokenDTO{ID: t.ID, UserID: t.UserID, Name: t.Name, CreatedAt: t.CreatedAt.UTC(), Revoked: t.Revoked}
	if !t.ExpiresAt.IsZero() {
		e := t.ExpiresAt.UTC()
		d.ExpiresAt = &e
	}
	return d
}

func toAudit(e *bulwark.AuditEntry) auditDTO {
	return auditDTO{e.Seq, e.At.UTC(), e.Org, e.Actor, e.Action, e.Target, e.Outcome, e.Detail, e.Prev, e.Hash}
}

// formatDuration writes d as the city-model format does; "" when not set.
func formatDuration(d time.Duration) string { return citymodel.FormatDuration(d) }
