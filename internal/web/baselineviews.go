package web

// View models of the baseline pages: the readiness dashboard, assessments
// and their editor, profiles with their compliance matrix, and gaps.

// ReadinessPage is the indicator dashboard.
type ReadinessPage struct {
	Base
	Measured   bool
	Index      string // "72.4", "" when nothing is measured
	Indicators []IndicatorRow
	Trend      string // JSON: {"labels":[dates],"values":[index]}
	TrendSize  int    // recorded snapshots with an index
	Coverage   string // JSON: {"labels":[functions],"values":[percent]}
	Functions  []FunctionRow
	Drivers    []DriverRow
	Since      string // when the last snapshot was recorded, "" if never
	CanRecord  bool   // the caller may record a snapshot (a city admin)
	CityWide   bool   // the trend is the city's (recorded over every organization)
	Recorded   bool   // a snapshot was just recorded
	Error      string
}

// IndicatorRow is one indicator of the index.
type IndicatorRow struct {
	ID, Name, Formula string
	Measured          bool
	Value             string // in the indicator's unit, or "not measured"
	Score             string // percent, "" when not measured
	Weight            string
	Detail            string
}

// FunctionRow is the CSF coverage of one function, averaged over the
// organizations' latest CSF assessments.
type FunctionRow struct {
	ID, Name           string
	Coverage           string  // percent
	Pct                float64 // the same, 0–100, for a meter
	Assessed, Total    int
	AssessedOrgs       int
	HasAssessedControl bool
}

// DriverRow is one indicator's share of the change since the last
// recorded snapshot.
type DriverRow struct {
	Indicator string
	Delta     string // signed index points
	Up        bool
	Why       string
}

// AssessmentsPage lists assessments and offers writers a form to start
// one.
type AssessmentsPage struct {
	Base
	Rows     []AssessmentRow
	Form     *NewAssessmentForm // nil for viewers
	Error    string
	Catalogs []CatalogOption
}

// AssessmentRow is one assessment in the list.
type AssessmentRow struct {
	Href, Title, Owner, ScopeKind, Scope, Catalog string
	Assessed, Total                               int
	Updated                                       string
}

// CatalogOption is one catalog a new assessment may use.
type CatalogOption struct {
	ID, Title string
	Controls  int
}

// NewAssessmentForm starts an assessment, refilled after a refusal.
type NewAssessmentForm struct {
	CSRF                             string
	Catalog, ScopeKind, Scope, Title string
	Org                              string // the caller's organization: the default scope
}

// AssessmentPage is the editor of one assessment.
type AssessmentPage struct {
	Base
	ID, Title, Owner, ScopeKind, Scope string
	Catalog                            string
	CatalogTitle                       string
	CSF                                bool // tiers apply
	Editable                           bool // the caller may change results
	Action                             string
	Coverage                           []FunctionRow
	Groups                             []ControlGroup
	Assessed, Total                    int
	Statuses                           []StatusOption
	Tiers                              []int
	Updated                            string
	Error                              string // why the last non-script change was refused
	ErrorControl                       string
	Saved                              string // control saved by the last non-script change
}

// StatusOption is one implementation status of the select.
type StatusOption struct {
	Value, Label string
}

// ControlGroup is a heading (a CSF function or category, an OSCAL group)
// with the assessable controls right under it.
type ControlGroup struct {
	ID, Title string
	Level     int // 2 for top-level groups, 3 below
	Rows      []ControlRow
}

// ControlRow is one assessable control with its current result.
type ControlRow struct {
	ID, Anchor, Text, Title string
	Action, HistoryHref     string
	Status, StatusLabel     string
	CurrentTier, TargetTier int
	Notes                   string
	Evidence                []EvidenceView
	Rev                     int
	Assessor, At            string
	Error                   string // why the posted change was refused (no-script)
}

// EvidenceView is one piece of evidence; Href is set for http(s) links
// only, so a stored URL can never become a script link.
type EvidenceView struct {
	Kind, Title, URL, Href, SHA256 string
	Size                           int64
	Index                          int
}

// ResultHistoryPage lists every revision of one control.
type ResultHistoryPage struct {
	Base
	Assessment Link
	Control    string
	Text       string
	CSF        bool
	Rows       []ResultRevRow
}

// ResultRevRow is one revision of a control's result, newest first.
type ResultRevRow struct {
	Rev                     int
	Status                  string
	CurrentTier, TargetTier int
	Notes                   string
	Evidence                []EvidenceView
	Assessor, At            string
}

// ProfilesPage lists the published profiles.
type ProfilesPage struct {
	Base
	Rows []ProfileRow
}

// ProfileRow is one profile in the list.
type ProfileRow struct {
	Href, ID, Name, Owner, Catalog, AppliesTo, Description string
	Requirements                                           int
	Updated                                                string
}

// ProfilePage is a profile's compliance matrix: organizations ×
// requirements.
type ProfilePage struct {
	Base
	ID, Name, Owner, Catalog, AppliesTo, Description string
	Columns                                          []MatrixColumn
	Rows                                             []MatrixRow
	Meeting                                          int
}

// MatrixColumn is one requirement, with how many organizations meet it.
type MatrixColumn struct {
	Control, Text, Minimum string
	Met                    int
}

// MatrixRow is one organization against every requirement.
type MatrixRow struct {
	Org, OrgName string
	Cells        []MatrixCell
	Met, Total   int
	Meets        bool
}

// MatrixCell is one requirement for one organization: State is met,
// not-met, not-assessed or derived (met or not through the CSF mapping).
type MatrixCell struct {
	State, Label, Why string
}

// GapsPage is the ranked gaps table.
type GapsPage struct {
	Base
	Rows  []GapRow
	Limit int
}

// GapRow is one gap with the factors of its score.
type GapRow struct {
	Rank                                  int
	Assessment                            Link
	Org, Scope, Control, Text, Status     string
	Size, Impact, Reach, Weight, Findings string
	Score                                 string
	Why                                   string
}
