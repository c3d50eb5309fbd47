package web

// View models of the incident pages (incidentpages.go).

// IncidentsPage is the incident board: one column per lifecycle phase.
type IncidentsPage struct {
	Base
	Columns  []BoardColumn
	Total    int
	MinLevel string
	Levels   []Option
	Closed   int // closed incidents, not shown as cards unless asked
	ShowAll  bool
	Form     *IncidentForm
	Error    string
}

// BoardColumn is one phase of the board.
type BoardColumn struct {
	Phase, Title string
	Cards        []IncidentCard
}

// IncidentCard is one incident on the board.
type IncidentCard struct {
	ID, Href, Title, Owner string
	Level                  int
	LevelName, Color       string
	Detected               string
	ServicesDown, Degraded int
	People                 int64
	Role                   string
	Overridden             bool
}

// IncidentForm reports an incident; refilled after a refusal.
type IncidentForm struct {
	CSRF        string
	Title       string
	Description string
	// PublicAction is what citizens must do, in plain language.
	PublicAction string
	Threat       string
	Activity     string
	Detected     string // datetime-local, UTC
	Affected     string // one entry per line: ID[:effect]
	Threats      []Option
	Activities   []Option
}

// IncidentPage is one incident as the user's organization sees it.
type IncidentPage struct {
	Base
	ID, Title, Description, Owner string
	PublicAction                  string // what citizens must do
	Phase, PhaseTitle             string
	Role                          string
	Level, Computed               int
	LevelName, Color              string
	ComputedName                  string
	Override                      *OverrideView
	Activity                      string
	Inputs                        []InputRow
	Impact                        ImpactView
	Parties                       []PartyRow
	Affected                      []AffectedRow
	Hidden                        int
	Clocks                        []ClockRow
	TaskGroups                    []TaskGroup
	Timeline                      []TimelineRow
	GraphURL                      string
	Playbook                      *Link
	ReviewHref                    string
	Detected, Started             string
	Contained, Recovered, Closed  string
	Rev                           int

	CanWrite      bool // the user's role writes (notes, own tasks)
	CanCoordinate bool // reporter or coordinator writer: phase and severity
	Action        string
	Phases        []Option
	Levels        []Option
	Activities    []Option
	Error         string
	Saved         string
}

// OverrideView is an analyst's override of the severity.
type OverrideView struct {
	LevelName, Reason, By, At string
}

// InputRow is one input of the severity computation.
type InputRow struct {
	Name, Value, Why string
	Level            int
	LevelName, Color string
	Cap, Deciding    bool
}

// ImpactView is the derived impact in numbers.
type ImpactView struct {
	Entered, Down, Degraded, AtRisk, CriticalDown int
	PeopleDown, PeopleDegraded, PeopleAtRisk      int64
	Sectors, FIPS199, Zones                       string
}

// PartyRow is one organization taking part, with who is on call there.
type PartyRow struct {
	Org, Role, Reason string
	OnCall            []string
}

// AffectedRow is one affected entity the user sees.
type AffectedRow struct {
	Entity            Link
	Kind, Effect      string
	Owner             string
	Entered           bool
	Population        int64
	FIPS199, RTO, MTD string
}

// ClockRow is the target clock of one service down.
type ClockRow struct {
	Service           Link
	Owner             string
	Since, Elapsed    string
	RTO, MTD          string
	RTODue, MTDDue    string
	Stage, StageClass string
	Next, NextAt      string
	Running, AtRisk   bool
}

// TaskGroup is the tasks of one phase.
type TaskGroup struct {
	Phase, Title string
	Tasks        []TaskRow
}

// TaskRow is one task, with its form when the user may change it.
type TaskRow struct {
	ID, Title, Detail, Org    string
	Responsible, Accountable  string
	Consulted, Informed       string
	Status, Due, Note, Source string
	Overdue                   bool
	Question                  string
	Options                   []Option
	Chosen                    string
	CanEdit                   bool
	Statuses                  []Option
	Rev                       int
}

// TimelineRow is one timeline entry.
type TimelineRow struct {
	At, Actor, Org, Kind, Text string
	Restricted                 bool // addressed to some parties only
}

// GraphIncidentJSON is the affected graph the incident page draws (the
// shape of GraphJSON plus each node's state).
type GraphIncidentJSON struct {
	Incident  string              `json:"incident"`
	Truncated bool                `json:"truncated"`
	Hidden    int                 `json:"hidden"`
	Nodes     []IncidentGraphNode `json:"nodes"`
	Edges     []GraphEdge         `json:"edges"`
}

// IncidentGraphNode is a node of the affected graph.
type IncidentGraphNode struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Owner    string `json:"owner"`
	Category string `json:"category,omitempty"`
	State    string `json:"state"`
	Entered  bool   `json:"entered,omitempty"`
	Href     string `json:"href,omitempty"`
}

// ReviewPage is the after-action review of an incident.
type ReviewPage struct {
	Base
	ID, Title, Href string
	Exists          bool
	Rev             int
	UpdatedBy       string
	UpdatedAt       string
	Summary         string
	WhatWorked      []string
	WhatDidNot      []string
	Decisions       []ReviewDecisionRow
	FollowUps       []FollowUpRow
	Shared          bool
	CanEdit         bool
	Source          string // the review as YAML, to edit
	Error           string
	Saved           bool
}

// ReviewDecisionRow is one decision of a review.
type ReviewDecisionRow struct{ At, Decision, By, Rationale string }

// FollowUpRow is one follow-up and what it became.
type FollowUpRow struct {
	Kind, Title, Org, Due, Ref string
	RefHref                    string
}

// PlaybooksPage lists the playbooks and validates or publishes one.
type PlaybooksPage struct {
	Base
	Rows   []PlaybookRow
	CanPut bool
	Input  string
	Result *ValidationResult
	Error  string
	Saved  string
}

// PlaybookRow is one playbook in force.
type PlaybookRow struct {
	ID, Href, Title, Threat, Source string
	Version, Tasks                  int
}

// ValidationResult is the outcome of validating a playbook.
type ValidationResult struct {
	OK       bool
	Summary  string
	Problems []string
}

// PlaybookPage shows one playbook: phases, tasks, decisions, RACI, source.
type PlaybookPage struct {
	Base
	ID, Title, Threat, Description string
	Version                        int
	Builtin                        bool
	UpdatedBy                      string
	Phases                         []PlaybookPhaseView
	RACI                           RACIView
	Source                         string
}

// PlaybookPhaseView is one phase of a playbook.
type PlaybookPhaseView struct {
	Title string
	Tasks []PlaybookTaskView
}

// PlaybookTaskView is one task of a playbook.
type PlaybookTaskView struct {
	ID, Title, Detail, Party string
	Responsible, Accountable string
	Consulted, Informed      string
	Due                      string
	Question                 string
	Options                  []string
}

// RACIView is a RACI matrix.
type RACIView struct {
	Title   string
	Columns []string
	Rows    []RACIRowView
}

// RACIRowView is one activity of a RACI matrix.
type RACIRowView struct {
	Activity, Phase string
	Cells           []string
}

// RACIPage is the RACI matrix of a service.
type RACIPage struct {
	Base
	Service   string
	Services  []Option
	RACI      *RACIView
	Hidden    int
	Playbooks []Link
}
