package bulwark

import (
	"context"
	"time"
)

// Catalog is a framework of controls an organization is assessed against:
// NIST CSF 2.0 and CISA's Cross-Sector Performance Goals are bundled; any
// OSCAL catalog can be imported.
type Catalog struct {
	ID      string `json:"id"` // "csf-2.0", "cpg-2.0", or the importer's choice
	Title   string `json:"title"`
	Version string `json:"version"`
	// Kind says how results are scored: "csf" (implementation tiers 1–4
	// apply), "cpg" (goals mapped to CSF subcategories), "oscal" (plain
	// controls).
	Kind      string    `json:"kind"`
	Source    string    `json:"source"`  // where the text comes from
	Licence   string    `json:"licence"` // of that text
	Published time.Time `json:"published,omitzero"`
	Builtin   bool      `json:"builtin,omitempty"`
	// Controls are in document order; parents come before their children.
	Controls []Control `json:"controls"`
}

// Control is one node of a catalog. Only Assessable controls carry
// results; the others (CSF functions and categories, OSCAL groups) group
// them.
type Control struct {
	ID     string `json:"id"` // "GV.OC-01", "2.A", "ac-2.1"
	Parent string `json:"parent,omitempty"`
	// Class is "function", "category", "subcategory", "goal", "group" or
	// "control".
	Class      string `json:"class"`
	Title      string `json:"title"`
	Statement  string `json:"statement,omitempty"`
	Assessable bool   `json:"assessable,omitempty"`
	// Function is the CSF 2.0 function the control rolls up to (GV, ID,
	// PR, DE, RS, RC), where known.
	Function string `json:"function,omitempty"`
	// MapsTo lists the CSF 2.0 subcategories a CPG goal addresses.
	MapsTo []string `json:"maps_to,omitempty"`
	// Cost, Impact and Complexity are CISA's published ratings of a CPG
	// goal ("low", "medium", "high"), where published.
	Cost       string `json:"cost,omitempty"`
	Impact     string `json:"impact,omitempty"`
	Complexity string `json:"complexity,omitempty"`
}

// CatalogSummary is one line of a catalog listing.
type CatalogSummary struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	Builtin    bool   `json:"builtin"`
	Assessable int    `json:"assessable"` // controls that take results
}

// ImplStatus is how far a control is implemented. The zero value means
// not assessed yet.
type ImplStatus string

// Implementation statuses.
const (
	StatusNotAssessed    ImplStatus = ""
	StatusNotImplemented ImplStatus = "not_implemented"
	StatusPartial        ImplStatus = "partial"
	StatusImplemented    ImplStatus = "implemented"
	StatusNotApplicable  ImplStatus = "not_applicable"
)

// Valid reports whether s is one of the statuses (not assessed included).
func (s ImplStatus) Valid() bool {
	switch s {
	case StatusNotAssessed, StatusNotImplemented, StatusPartial, StatusImplemented, StatusNotApplicable:
		return true
	}
	return false
}

// Credit is the share of a control s counts as done: 1 implemented, 0.5
// partial, 0 otherwise. Not applicable controls are left out of shares.
func (s ImplStatus) Credit() float64 {
	switch s {
	case StatusImplemented:
		return 1
	case StatusPartial:
		return 0.5
	}
	return 0
}

// Tier bounds: CSF 2.0 implementation tiers are 1 (partial) to 4
// (adaptive); 0 means unset.
const MaxTier = 4

// Evidence supports a control result: a link, a note, or a file known by
// its SHA-256 (Bulwark keeps the hash and name, not the file).
type Evidence struct {
	Kind   string `json:"kind"` // "link", "note", "file"
	Title  string `json:"title"`
	URL    string `json:"url,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size,omitempty"`
}

// ControlResult is the assessed state of one control. Rev counts the
// changes to this control in its assessment (1 for the first); a change
// must name the Rev it was based on, so two assessors editing the same
// control cannot overwrite each other unknowingly.
type ControlResult struct {
	Control     string     `json:"control"`
	Status      ImplStatus `json:"status"`
	CurrentTier int        `json:"current_tier,omitempty"`
	TargetTier  int        `json:"target_tier,omitempty"`
	Notes       string     `json:"notes,omitempty"`
	Evidence    []Evidence `json:"evidence,omitempty"`
	Assessor    string     `json:"assessor"`
	At          time.Time  `json:"at"`
	Rev         int        `json:"rev"`
}

// Assessment is an organization, or one of its services or systems,
// assessed against a catalog. Its results are the newest revision of each
// control; every earlier revision is kept (ResultHistory).
type Assessment struct {
	ID      string `json:"id"`
	Owner   string `json:"owner"` // the assessed organization
	Catalog string `json:"catalog"`
	// ScopeKind and Scope name what is assessed: the organization itself
	// ("organization"), or one of its services or systems ("service",
	// "system").
	ScopeKind string          `json:"scope_kind"`
	Scope     string          `json:"scope"`
	Title     string          `json:"title"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Results   []ControlResult `json:"results"`
}

// AssessmentSummary is one line of an assessment listing.
type AssessmentSummary struct {
	ID        string    `json:"id"`
	Owner     string    `json:"owner"`
	Catalog   string    `json:"catalog"`
	ScopeKind string    `json:"scope_kind"`
	Scope     string    `json:"scope"`
	Title     string    `json:"title"`
	UpdatedAt time.Time `json:"updated_at"`
	Assessed  int       `json:"assessed"` // controls with a status
}

// Assessment scope kinds besides "service" and "system".
const ScopeOrganization = "organization"

// ResultChange sets one control of an assessment. BaseRev is the Rev of
// the result the change was made from (0 when the control had none); a
// stale BaseRev is refused with ECONFLICT.
type ResultChange struct {
	Control     string
	BaseRev     int
	Status      ImplStatus
	CurrentTier int
	TargetTier  int
	Notes       string
	Evidence    []Evidence
}

// AssessmentFilter selects assessments.
type AssessmentFilter struct {
	Owner   string
	Catalog string
	Scope   string
}

// Profile is a minimum baseline a city publishes: every organization it
// applies to must meet each requirement.
type Profile struct {
	ID          string `json:"id"`
	Owner       string `json:"owner"` // the publishing organization
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Catalog     string `json:"catalog"`
	// AppliesTo selects organizations: "all", or a FIPS 199 level ("low",
	// "moderate", "high") meaning organizations that own or support a
	// service of at least that category.
	AppliesTo    string               `json:"applies_to"`
	Requirements []ProfileRequirement `json:"requirements"`
	UpdatedAt    time.Time            `json:"updated_at"`
}

// ProfileRequirement asks for one control at a minimum status and, for
// CSF, a minimum current tier.
type ProfileRequirement struct {
	Control   string     `json:"control"`
	MinStatus ImplStatus `json:"min_status"` // partial or implemented
	MinTier   int        `json:"min_tier,omitempty"`
}

// IndexSnapshot is the readiness index of one scope at one time, with the
// indicators it was computed from; Org is "" for the whole city.
type IndexSnapshot struct {
	Org        string           `json:"org"`
	At         time.Time        `json:"at"`
	Index      float64          `json:"index"`
	Indicators []IndicatorValue `json:"indicators"`
}

// IndicatorValue is one indicator's value in a snapshot. Measured is false
// when the data it needs does not exist yet; such an indicator is shown as
// "not measured" and left out of the index, never counted as zero.
type IndicatorValue struct {
	ID       string  `json:"id"`
	Measured bool    `json:"measured"`
	Value    float64 `json:"value"` // in the indicator's unit
	Score    float64 `json:"score"` // 0..1, what the index uses
	Weight   float64 `json:"weight"`
	Detail   string  `json:"detail,omitempty"` // the numbers behind it
}

// RemediationTime is how long one finding took from first seen to fixed.
type RemediationTime struct {
	Owner    string
	Decision SSVCDecision
	Took     time.Duration
}

// BaselineStore persists catalogs, assessments, profiles and index
// history. Catalogs and profiles are readable by every signed-in caller
// (a baseline is published to those it applies to); assessments and
// index snapshots follow the usual organization scope.
type BaselineStore interface {
	// PutCatalog stores or replaces a catalog (system principal or an
	// admin; built-in catalogs are loaded at startup).
	PutCatalog(ctx context.Context, c *Catalog) error
	FindCatalog(ctx context.Context, id string) (*Catalog, error)
	ListCatalogs(ctx context.Context) ([]CatalogSummary, error)

	CreateAssessment(ctx context.Context, a *Assessment) error
	FindAssessment(ctx context.Context, id string) (*Assessment, error)
	ListAssessments(ctx context.Context, f AssessmentFilter) ([]AssessmentSummary, error)
	// SetResult applies one change and returns the new result.
	SetResult(ctx context.Context, assessmentID string, c ResultChange) (*ControlResult, error)
	// ResultHistory lists every revision of one control, oldest first.
	ResultHistory(ctx context.Context, assessmentID, control string) ([]ControlResult, error)
	// EachAssessment streams the visible assessments with their current
	// results (asOf zero) or their results as they stood at asOf.
	EachAssessment(ctx context.Context, f AssessmentFilter, asOf time.Time, fn func(*Assessment) error) error

	PutProfile(ctx context.Context, p *Profile) error
	FindProfile(ctx context.Context, id string) (*Profile, error)
	ListProfiles(ctx context.Context) ([]Profile, error)
	DeleteProfile(ctx context.Context, id string) error

	AppendIndexSnapshots(ctx context.Context, snaps []IndexSnapshot) error
	// IndexHistory returns the snapshots of org ("" for the city), oldest
	// first, at most limit of the newest.
	IndexHistory(ctx context.Context, org string, limit int) ([]IndexSnapshot, error)

	// RemediationTimes lists, for findings first fixed after since, how
	// long each took from first seen to its first fixed (or verified)
	// status.
	RemediationTimes(ctx context.Context, since time.Time) ([]RemediationTime, error)
}
