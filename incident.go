package bulwark

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Phase is where an incident stands in the NIST SP 800-61 incident
// response lifecycle. Containment, eradication and recovery are kept
// apart so that the time to contain and the time to recover can be
// measured; an incident may move back (new findings send it from
// recovery to detection and analysis again).
type Phase string

// Phases of the lifecycle, in order.
const (
	PhaseDetection    Phase = "detection"     // detection and analysis
	PhaseContainment  Phase = "containment"   // containment
	PhaseEradication  Phase = "eradication"   // eradication
	PhaseRecovery     Phase = "recovery"      // recovery
	PhasePostIncident Phase = "post-incident" // post-incident activity: the after-action review
	PhaseClosed       Phase = "closed"
)

// Phases lists the lifecycle in order.
var Phases = []Phase{PhaseDetection, PhaseContainment, PhaseEradication, PhaseRecovery, PhasePostIncident, PhaseClosed}

// Index is the position of p in Phases, -1 when p is not a phase.
func (p Phase) Index() int { return slices.Index(Phases, p) }

// Valid reports whether p is a phase.
func (p Phase) Valid() bool { return p.Index() >= 0 }

// Active reports whether the incident is still being handled: every phase
// before post-incident activity. The target clock runs while it is.
func (p Phase) Active() bool { i := p.Index(); return i >= 0 && i < PhasePostIncident.Index() }

// Title is the phase as people name it.
func (p Phase) Title() string {
	switch p {
	case PhaseDetection:
		return "Detection and analysis"
	case PhaseContainment:
		return "Containment"
	case PhaseEradication:
		return "Eradication"
	case PhaseRecovery:
		return "Recovery"
	case PhasePostIncident:
		return "Post-incident"
	case PhaseClosed:
		return "Closed"
	}
	return string(p)
}

// SeverityLevel is a level of CISA's National Cyber Incident Scoring
// System (NCISS): 0 baseline (white) to 5 emergency (black).
type SeverityLevel int

// NCISS levels.
const (
	SeverityBaseline  SeverityLevel = iota // unsubstantiated or inconsequential
	SeverityLow                            // unlikely to impact public health or safety, ...
	SeverityMedium                         // may impact public health or safety, ...
	SeverityHigh                           // likely to result in a demonstrable impact
	SeveritySevere                         // likely to result in a significant impact
	SeverityEmergency                      // imminent threat to wide-scale critical services or lives
)

var severityNames = [...]string{"baseline", "low", "medium", "high", "severe", "emergency"}
var severityColors = [...]string{"white", "green", "yellow", "orange", "red", "black"}

// Valid reports whether l is one of the six levels.
func (l SeverityLevel) Valid() bool { return l >= SeverityBaseline && l <= SeverityEmergency }

func (l SeverityLevel) String() string {
	if l.Valid() {
		return severityNames[l]
	}
	return "invalid"
}

// Color is the level's NCISS colour.
func (l SeverityLevel) Color() string {
	if l.Valid() {
		return severityColors[l]
	}
	return ""
}

// ParseSeverity reads a level by number ("3") or name ("high").
func ParseSeverity(s string) (SeverityLevel, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil {
		l := SeverityLevel(n)
		return l, l.Valid()
	}
	for i, n := range severityNames {
		if n == s {
			return SeverityLevel(i), true
		}
	}
	return 0, false
}

// SeverityInput is one input of the severity computation as it is shown
// to people: what was observed, the level it supports (or, for a cap, the
// highest level it allows) and why.
type SeverityInput struct {
	ID    string        `json:"id"` // functional_impact, population, potential_impact, fips199, sectors, location, observed_activity
	Name  string        `json:"name"`
	Value string        `json:"value"`
	Level SeverityLevel `json:"level"`
	// Cap marks an input that limits the level rather than raising it.
	Cap bool   `json:"cap,omitempty"`
	Why string `json:"why"`
}

// SeverityOverride is an analyst's decision to set the level by hand.
type SeverityOverride struct {
	Level  SeverityLevel `json:"level"`
	Reason string        `json:"reason"`
	By     string        `json:"by"`
	At     time.Time     `json:"at"`
}

// Severity is an incident's level: computed from its derived impact (with
// the inputs that gave it) unless an analyst overrode it.
type Severity struct {
	Level    SeverityLevel     `json:"level"` // in force: the override's, else the computed one
	Computed SeverityLevel     `json:"computed"`
	Inputs   []SeverityInput   `json:"inputs"`
	Override *SeverityOverride `json:"override,omitempty"`
}

// Activity is the attacker activity observed, in NCISS's terms.
type Activity string

// Observed activity, from least to most advanced.
const (
	ActivityPrepare  Activity = "prepare"  // reconnaissance, staging: nothing inside yet
	ActivityEngage   Activity = "engage"   // attempts against the organization (phishing, exploitation)
	ActivityPresence Activity = "presence" // the adversary is inside a network
	ActivityEffect   Activity = "effect"   // the adversary caused an effect (outage, destruction, theft)
)

// Activities lists the observed activities in order.
var Activities = []Activity{ActivityPrepare, ActivityEngage, ActivityPresence, ActivityEffect}

// Effect is what an incident does to one entity.
type Effect string

// Effects. The reporter enters down, degraded or compromised; the graph
// derives down, degraded and at risk for what depends on the entries.
const (
	EffectDown        Effect = "down"        // unavailable
	EffectDegraded    Effect = "degraded"    // working with reduced capability
	EffectCompromised Effect = "compromised" // adversary presence; still working
	EffectAtRisk      Effect = "at-risk"     // would fail if the compromised entities were taken down
)

// ValidEntryEffect reports whether e may be entered by a reporter.
func ValidEntryEffect(e Effect) bool {
	return e == EffectDown || e == EffectDegraded || e == EffectCompromised
}

// Affected is one entity an incident touches: entered by the reporter, or
// a service derived from the graph. Service facts are copied when the
// incident is created so that its clock and review do not change when the
// city model does.
type Affected struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"` // service, system, asset
	Name    string `json:"name,omitempty"`
	Owner   string `json:"owner"`
	Entered bool   `json:"entered,omitempty"`
	Effect  Effect `json:"effect"`
	// Since is when the effect began (the incident's start or detection
	// when not known).
	Since time.Time `json:"since,omitzero"`

	// Services only.
	Sector     Sector `json:"sector,omitempty"`
	Population int64  `json:"population,omitempty"`
	// FIPS199 is the high-water category as "C/I/A", e.g. "low/high/high".
	FIPS199 string   `json:"fips199,omitempty"`
	RTO     Duration `json:"rto,omitempty"`
	MTD     Duration `json:"mtd,omitempty"`
	// Zone is a system's network zone (for an asset: of the systems it
	// belongs to), where known.
	Zone string `json:"zone,omitempty"`
}

// Duration is a time.Duration that reads and writes in JSON as the city
// model writes durations: "3d", "1d12h", "90m" ("0s" for zero).
type Duration time.Duration

// String writes d with a leading day count when it has one.
func (d Duration) String() string {
	x := time.Duration(d)
	if x <= 0 {
		return "0s"
	}
	const day = 24 * time.Hour
	s := ""
	if x >= day {
		s = strconv.FormatInt(int64(x/day), 10) + "d"
		x %= day
		if x == 0 {
			return s
		}
	}
	r := x.String() // "1h30m0s"
	if strings.HasSuffix(r, "m0s") {
		r = r[:len(r)-2]
	}
	if strings.HasSuffix(r, "h0m") {
		r = r[:len(r)-2]
	}
	return s + r
}

// ParseDuration reads "3d", "1d12h", "90m" or any Go duration.
func ParseDuration(s string) (Duration, error) {
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > 100_000 {
			return 0, fmt.Errorf("duration %q: bad day count", s)
		}
		days, s = n, s[i+1:]
		if s == "" {
			return Duration(time.Duration(days) * 24 * time.Hour), nil
		}
	}
	x, err := time.ParseDuration(s)
	if err != nil || x < 0 {
		return 0, fmt.Errorf("duration %q: use e.g. 90m, 4h, 1d12h", s)
	}
	return Duration(time.Duration(days)*24*time.Hour + x), nil
}

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.String())), nil }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("duration: want a string such as \"4h\"")
	}
	x, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = x
	return nil
}

// ImpactSummary is the derived impact of an incident in numbers. It is
// the same for every party (severity depends on it), and names nothing.
type ImpactSummary struct {
	Entered            int      `json:"entered"`
	NodesDown          int      `json:"nodes_down"`     // every entity down, assets included
	NodesDegraded      int      `json:"nodes_degraded"` // every entity degraded
	ServicesDown       int      `json:"services_down"`
	ServicesDegraded   int      `json:"services_degraded"`
	ServicesAtRisk     int      `json:"services_at_risk"`
	CriticalDown       int      `json:"critical_down"` // FIPS 199 availability high
	DegradedCritical   int      `json:"degraded_critical"`
	AtRiskCritical     int      `json:"at_risk_critical"`
	PopulationDown     int64    `json:"population_down"`
	PopulationDegraded int64    `json:"population_degraded"`
	PopulationAtRisk   int64    `json:"population_at_risk"`
	Sectors            []Sector `json:"sectors,omitempty"` // of the services down or degraded
	// FIPS199 is the high-water category of the entered entities, "C/I/A".
	FIPS199 string   `json:"fips199,omitempty"`
	Zones   []string `json:"zones,omitempty"` // network zones of the entered entities
}

// PartyRole is why an organization takes part in an incident.
type PartyRole string

// Party roles.
const (
	PartyReporter    PartyRole = "reporter"    // reported it; coordinates it
	PartyAffected    PartyRole = "affected"    // owns something it touches
	PartyCoordinator PartyRole = "coordinator" // a city or ISAC body an affected party shares with
	PartyAuthority   PartyRole = "authority"   // a state or federal body, by severity
)

// Coordinates reports whether the role coordinates the incident: it sees
// every party and task and changes the phase and the severity.
func (r PartyRole) Coordinates() bool { return r == PartyReporter || r == PartyCoordinator }

// IncidentParty is one organization involved in an incident.
type IncidentParty struct {
	Org    string    `json:"org"`
	Role   PartyRole `json:"role"`
	Reason string    `json:"reason"`
}

// TaskStatus is where an incident task stands.
type TaskStatus string

// Task statuses.
const (
	TaskOpen       TaskStatus = "open"
	TaskInProgress TaskStatus = "in-progress"
	TaskDone       TaskStatus = "done"
	TaskSkipped    TaskStatus = "skipped" // not applicable
)

// ValidTaskStatus reports whether s is a task status.
func ValidTaskStatus(s TaskStatus) bool {
	return s == TaskOpen || s == TaskInProgress || s == TaskDone || s == TaskSkipped
}

// IncidentTask is one task of an incident: instantiated from its playbook
// when the incident starts, or added as a follow-up of the review.
type IncidentTask struct {
	ID    string `json:"id"`            // t1, t2, ... within the incident
	Ref   string `json:"ref,omitempty"` // playbook phase/task, e.g. "containment/isolate"
	Phase Phase  `json:"phase"`
	Title string `json:"title"`
	// Detail is the playbook's guidance.
	Detail string `json:"detail,omitempty"`
	// Org is the organization the task is assigned to.
	Org string `json:"org"`
	// RACI by playbook role.
	Responsible string            `json:"responsible,omitempty"`
	Accountable string            `json:"accountable,omitempty"`
	Consulted   []string          `json:"consulted,omitempty"`
	Informed    []string          `json:"informed,omitempty"`
	Decision    *PlaybookDecision `json:"decision,omitempty"`
	// Chosen is the option taken at a decision point.
	Chosen string     `json:"chosen,omitempty"`
	Status TaskStatus `json:"status"`
	Due    time.Time  `json:"due,omitzero"`
	Source string     `json:"source"` // playbook, follow-up
	Note   string     `json:"note,omitempty"`

	Rev       int       `json:"rev"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// TimelineEntry is one event of an incident's timeline. The timeline is
// append-only.
type TimelineEntry struct {
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Org   string    `json:"org,omitempty"` // the organization acting
	Kind  string    `json:"kind"`          // reported, routed, phase, severity, task, note, escalation, review
	Text  string    `json:"text"`
	// Audience lists the organizations that see the entry; empty means
	// every party. TimelineCoordinators stands for every coordinating
	// party, present or future.
	Audience []string `json:"audience,omitempty"`
}

// TimelineCoordinators in a timeline entry's audience addresses the
// reporter and every coordinator.
const TimelineCoordinators = "@coordinators"

// Incident is a cyber incident as one party sees it. The store fills
// Parties, Affected and Tasks with what the caller may see and counts
// the affected entities it may not.
type Incident struct {
	ID          string `json:"id"`
	Owner       string `json:"owner"` // the reporting organization
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// PublicAction says in plain language what citizens must do ("Boil tap
	// water before drinking"); empty when they need not act. Public
	// notices are sent only while it is set.
	PublicAction string `json:"public_action,omitempty"`
	// Threat is the threat class (the playbook's).
	Threat          string `json:"threat,omitempty"`
	Playbook        string `json:"playbook,omitempty"`
	PlaybookVersion int    `json:"playbook_version,omitempty"`

	Phase    Phase         `json:"phase"`
	Activity Activity      `json:"activity"`
	Severity Severity      `json:"severity"`
	Impact   ImpactSummary `json:"impact"`

	// StartedAt is when the activity began, if known; DetectedAt when it
	// was detected. ContainedAt, RecoveredAt and ClosedAt are set the first
	// time the incident leaves containment, leaves recovery and closes.
	StartedAt   time.Time `json:"started_at,omitzero"`
	DetectedAt  time.Time `json:"detected_at"`
	ContainedAt time.Time `json:"contained_at,omitzero"`
	RecoveredAt time.Time `json:"recovered_at,omitzero"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`

	Parties  []IncidentParty `json:"parties,omitempty"`
	Affected []Affected      `json:"affected,omitempty"`
	// HiddenAffected counts the affected entities the caller may not see.
	HiddenAffected int            `json:"hidden_affected,omitempty"`
	Tasks          []IncidentTask `json:"tasks,omitempty"`
	// Role is the caller's role in the incident ("" for the local operator).
	Role PartyRole `json:"role,omitempty"`

	Rev       int       `json:"rev"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ReviewDecision is a decision taken during the incident, as the review
// records it.
type ReviewDecision struct {
	At        string `json:"at,omitempty"` // when, as written
	Decision  string `json:"decision"`
	By        string `json:"by,omitempty"`
	Rationale string `json:"rationale,omitempty"`
}

// FollowUpKind is what a review's follow-up becomes.
type FollowUpKind string

// Follow-up kinds.
const (
	FollowUpTask       FollowUpKind = "task"       // an incident task of an organization
	FollowUpRisk       FollowUpKind = "risk"       // a risk in the reviewer's register
	FollowUpAssessment FollowUpKind = "assessment" // a control result changed in an assessment
)

// FollowUp is one action the review decides on. Ref is set once it is
// carried out (the task, risk or assessment result it became).
type FollowUp struct {
	Kind  FollowUpKind `json:"kind"`
	Title string       `json:"title"`
	Org   string       `json:"org,omitempty"` // task: the assignee (default the reviewer's organization)
	Due   time.Time    `json:"due,omitzero"`
	// Risks: 1-5 each, and the services it would hit.
	Likelihood int      `json:"likelihood,omitempty"`
	Impact     int      `json:"impact,omitempty"`
	Services   []string `json:"services,omitempty"`
	// Assessments: the control of an assessment and its new status.
	Assessment string     `json:"assessment,omitempty"`
	Control    string     `json:"control,omitempty"`
	Status     ImplStatus `json:"status,omitempty"`
	Ref        string     `json:"ref,omitempty"`
}

// IncidentReview is the after-action review of an incident. The timeline
// it discusses is the incident's own.
type IncidentReview struct {
	Summary    string           `json:"summary"`
	WhatWorked []string         `json:"what_worked,omitempty"`
	WhatDidNot []string         `json:"what_did_not,omitempty"`
	Decisions  []ReviewDecision `json:"decisions,omitempty"`
	FollowUps  []FollowUp       `json:"follow_ups,omitempty"`
	// Shared makes the review readable by every party, not only by the
	// coordinating ones.
	Shared bool `json:"shared,omitempty"`

	Rev       int       `json:"rev"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// IncidentFilter selects incidents.
type IncidentFilter struct {
	Active   bool // only phases before post-incident
	Phase    Phase
	Owner    string
	MinLevel SeverityLevel
	// Since keeps incidents detected at or after it.
	Since time.Time
	// WithAffected loads the affected entities (the caller's view).
	WithAffected bool
}

// PlaybookRole is a role a playbook assigns tasks to.
type PlaybookRole struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// DecisionOption is one answer at a decision point.
type DecisionOption struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	// Then says what follows: a phase to move to, or guidance.
	Then string `json:"then,omitempty"`
}

// PlaybookDecision is a decision point of a playbook task.
type PlaybookDecision struct {
	Question string           `json:"question"`
	Options  []DecisionOption `json:"options"`
}

// PlaybookTask is one task of a playbook phase.
type PlaybookTask struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	// Party is to whom the task goes: the reporter (one task), every
	// affected organization (one task each) or every coordinator.
	Party       PartyRole         `json:"party"`
	Responsible string            `json:"responsible"`
	Accountable string            `json:"accountable,omitempty"`
	Consulted   []string          `json:"consulted,omitempty"`
	Informed    []string          `json:"informed,omitempty"`
	Due         Duration          `json:"due,omitempty"` // after detection
	Decision    *PlaybookDecision `json:"decision,omitempty"`
}

// PlaybookPhase is the tasks of one lifecycle phase.
type PlaybookPhase struct {
	Phase Phase          `json:"phase"`
	Tasks []PlaybookTask `json:"tasks"`
}

// Playbook is a versioned response plan for one threat class.
type Playbook struct {
	ID          string          `json:"id"`
	Version     int             `json:"version"`
	Title       string          `json:"title"`
	Threat      string          `json:"threat"`
	Description string          `json:"description,omitempty"`
	Roles       []PlaybookRole  `json:"roles"`
	Phases      []PlaybookPhase `json:"phases"`
	// Source is the YAML it was read from.
	Source    string    `json:"-"`
	Builtin   bool      `json:"builtin,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// RACI is a responsibility matrix: one row per activity, one column per
// role or organization, each cell some of R (responsible), A
// (accountable), C (consulted), I (informed).
type RACI struct {
	Title   string    `json:"title"`
	Columns []string  `json:"columns"`
	Rows    []RACIRow `json:"rows"`
}

// RACIRow is one activity of a RACI matrix; Cells follow Columns.
type RACIRow struct {
	Activity string   `json:"activity"`
	Phase    Phase    `json:"phase,omitempty"`
	Cells    []string `json:"cells"`
}

// Shift is a weekly on-call window: Days is a day or range of days
// ("mon-fri", "sat", "sun-sat"), From and To are "HH:MM" (To "24:00" ends
// the day; To before From runs past midnight) in the time zone TZ (an
// IANA name; UTC when empty).
type Shift struct {
	Days string `json:"days"`
	From string `json:"from"`
	To   string `json:"to"`
	TZ   string `json:"tz,omitempty"`
}

// OnCallContact is a person of an organization's incident directory.
type OnCallContact struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	// Roles are the playbook roles the person fills.
	Roles []string `json:"roles,omitempty"`
	// OnCall lists when the person is on call; empty means never (a
	// business-hours contact reached through the others).
	OnCall []Shift `json:"on_call,omitempty"`
}

// Directory is an organization's incident contacts.
type Directory struct {
	Org       string          `json:"org"`
	Contacts  []OnCallContact `json:"contacts"`
	Rev       int             `json:"rev"`
	UpdatedBy string          `json:"updated_by,omitempty"`
	UpdatedAt time.Time       `json:"updated_at,omitzero"`
}

// IncidentStore persists incidents, their timelines, reviews and
// escalations, playbooks and the contact directory.
//
// Tenancy differs from the city model's: an incident is visible only to
// the organizations involved in it (its parties), whatever they share;
// to anyone else it does not exist (ENOTFOUND, like a missing one). Each
// party sees the affected entities whose owner it may see in the city
// model, the tasks assigned to it (coordinating parties see every task
// and party) and the timeline entries addressed to it.
type IncidentStore interface {
	// CreateIncident stores a new incident of the caller's organization
	// with its parties, affected entities and tasks, and the first
	// timeline entries, in one transaction. It sets ID (when empty), Rev,
	// CreatedAt, CreatedBy and the task IDs.
	CreateIncident(ctx context.Context, inc *Incident, entries []TimelineEntry) error
	FindIncident(ctx context.Context, id string) (*Incident, error)
	ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	// UpdateIncident changes an incident's header (phase, severity,
	// activity, times) as a coordinating party: fn gets the stored
	// incident and returns the timeline entries that describe the change.
	// fn must not call the store.
	UpdateIncident(ctx context.Context, id string, fn func(inc *Incident) ([]TimelineEntry, error)) error
	// UpdateTask changes one task as its organization or a coordinating
	// party; fn gets the stored task and returns the timeline entries.
	UpdateTask(ctx context.Context, incidentID, taskID string, fn func(t *IncidentTask) ([]TimelineEntry, error)) error
	// AddTasks adds tasks (follow-ups) as a coordinating party; it sets
	// their IDs.
	AddTasks(ctx context.Context, incidentID string, tasks []IncidentTask) error
	// AppendTimeline adds an entry as any party's writer.
	AppendTimeline(ctx context.Context, incidentID string, e TimelineEntry) error
	Timeline(ctx context.Context, incidentID string) ([]TimelineEntry, error)
	// PutReview stores a new revision of the review as a coordinating
	// party; r.Rev must be the stored revision (0 for the first).
	PutReview(ctx context.Context, incidentID string, r *IncidentReview) error
	// FindReview returns the review (ENOTFOUND when there is none or the
	// caller may not read it).
	FindReview(ctx context.Context, incidentID string) (*IncidentReview, error)
	// RecordEscalation records once that a target stage was reached; it
	// reports whether this call recorded it (System principal only).
	RecordEscalation(ctx context.Context, incidentID, service, stage string, at time.Time) (bool, error)

	// Playbooks are published to every organization; administrators of a
	// city organization put new versions.
	PutPlaybook(ctx context.Context, p *Playbook) error
	FindPlaybook(ctx context.Context, id string, version int) (*Playbook, error)
	// ListPlaybooks returns the latest version of each stored playbook.
	ListPlaybooks(ctx context.Context) ([]Playbook, error)

	// Directories follow the city model's scope: an organization writes
	// its own and reads those of organizations that share with it.
	PutDirectory(ctx context.Context, d *Directory) error
	FindDirectory(ctx context.Context, org string) (*Directory, error)
}

// Limits of an incident's text and lists.
const (
	MaxIncidentText    = 20_000
	MaxIncidentEntries = 1_000
	MaxTimelineText    = 4_000
	MaxPublicAction    = 1_000
)

// ValidatePublicAction checks an incident's plain-language action for
// citizens: at most MaxPublicAction bytes of valid UTF-8 without control
// characters (a notice is read aloud and sent as text messages too).
func ValidatePublicAction(s string) error {
	switch {
	case len(s) > MaxPublicAction:
		return &Error{Code: EINVALID, Message: fmt.Sprintf("public_action: at most %d bytes", MaxPublicAction),
			Details: []Problem{{Field: "public_action", Message: fmt.Sprintf("at most %d bytes", MaxPublicAction)}}}
	case !printable(s):
		return &Error{Code: EINVALID, Message: "public_action: plain text without control characters or invalid UTF-8",
			Details: []Problem{{Field: "public_action", Message: "plain text without control characters or invalid UTF-8"}}}
	}
	return nil
}

// ValidateNew checks what a reporter gives for a new incident.
func (inc *Incident) ValidateNew() error {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if inc.ID != "" && !ValidID(inc.ID) {
		add("id", "use 1-128 letters, digits, '.', '_', ':' or '-'")
	}
	if strings.TrimSpace(inc.Title) == "" || len(inc.Title) > 500 {
		add("title", "a title of 1 to 500 bytes is required")
	}
	if len(inc.Description) > MaxIncidentText {
		add("description", "at most %d bytes", MaxIncidentText)
	}
	if len(inc.PublicAction) > MaxPublicAction {
		add("public_action", "at most %d bytes", MaxPublicAction)
	} else if !printable(inc.PublicAction) {
		add("public_action", "plain text without control characters or invalid UTF-8")
	}
	if inc.Threat != "" && !ValidID(inc.Threat) {
		add("threat", "%q is not a valid threat class", Abbrev(inc.Threat, 60))
	}
	if inc.Playbook != "" && !ValidID(inc.Playbook) {
		add("playbook", "%q is not a valid playbook ID", Abbrev(inc.Playbook, 60))
	}
	if inc.Activity != "" && !slices.Contains(Activities, inc.Activity) {
		add("activity", "%q: use prepare, engage, presence or effect", Abbrev(string(inc.Activity), 40))
	}
	if inc.DetectedAt.IsZero() {
		add("detected_at", "when the incident was detected is required")
	}
	if !inc.StartedAt.IsZero() && inc.StartedAt.After(inc.DetectedAt) && !inc.DetectedAt.IsZero() {
		add("started_at", "the activity cannot start after it was detected")
	}
	if len(inc.Affected) > MaxIncidentEntries {
		add("affected", "at most %d entries", MaxIncidentEntries)
	} else {
		seen := map[string]bool{}
		for i, a := range inc.Affected {
			f := fmt.Sprintf("affected[%d]", i)
			switch {
			case !ValidID(a.ID):
				add(f+".id", "%q is not a valid entity ID", Abbrev(a.ID, 60))
			case seen[a.ID]:
				add(f+".id", "%s is given twice", a.ID)
			}
			seen[a.ID] = true
			if !ValidEntryEffect(a.Effect) {
				add(f+".effect", "%q: use down, degraded or compromised", Abbrev(string(a.Effect), 40))
			}
		}
	}
	if len(probs) > 0 {
		e := Errorf(EINVALID, "incident: %d problem(s), first: %s", len(probs), probs[0])
		e.Details = probs
		return e
	}
	return nil
}

// Validate checks a review's fields.
func (r *IncidentReview) Validate() error {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(r.Summary) > MaxIncidentText {
		add("summary", "at most %d bytes", MaxIncidentText)
	}
	for name, list := range map[string][]string{"what_worked": r.WhatWorked, "what_did_not": r.WhatDidNot} {
		if len(list) > 200 {
			add(name, "at most 200 entries")
		}
		for i, s := range list {
			if len(s) > MaxTimelineText {
				add(fmt.Sprintf("%s[%d]", name, i), "at most %d bytes", MaxTimelineText)
			}
		}
	}
	if len(r.Decisions) > 200 {
		add("decisions", "at most 200 entries")
	}
	for i, d := range r.Decisions {
		if strings.TrimSpace(d.Decision) == "" || len(d.Decision)+len(d.Rationale)+len(d.By)+len(d.At) > MaxTimelineText {
			add(fmt.Sprintf("decisions[%d]", i), "a decision of 1 to %d bytes (with its rationale) is required", MaxTimelineText)
		}
	}
	if len(r.FollowUps) > 200 {
		add("follow_ups", "at most 200 entries")
	}
	for i, f := range r.FollowUps {
		p := fmt.Sprintf("follow_ups[%d]", i)
		if strings.TrimSpace(f.Title) == "" || len(f.Title) > 500 {
			add(p+".title", "a title of 1 to 500 bytes is required")
		}
		if f.Org != "" && !ValidID(f.Org) {
			add(p+".org", "%q is not a valid organization ID", Abbrev(f.Org, 60))
		}
		switch f.Kind {
		case FollowUpTask:
		case FollowUpRisk:
			if f.Likelihood < 1 || f.Likelihood > 5 || f.Impact < 1 || f.Impact > 5 {
				add(p, "a risk needs likelihood and impact of 1 to 5")
			}
			for j, s := range f.Services {
				if !ValidID(s) {
					add(fmt.Sprintf("%s.services[%d]", p, j), "%q is not a valid service ID", Abbrev(s, 60))
				}
			}
		case FollowUpAssessment:
			if !ValidID(f.Assessment) || f.Control == "" || len(f.Control) > MaxIDLen {
				add(p, "an assessment change needs the assessment and the control")
			}
			if f.Status == StatusNotAssessed || !f.Status.Valid() {
				add(p+".status", "%q: use not_implemented, partial, implemented or not_applicable", Abbrev(string(f.Status), 40))
			}
		default:
			add(p+".kind", "%q: use task, risk or assessment", Abbrev(string(f.Kind), 40))
		}
	}
	if len(probs) > 0 {
		e := Errorf(EINVALID, "review: %d problem(s), first: %s", len(probs), probs[0])
		e.Details = probs
		return e
	}
	return nil
}

// ParseCIA reads what Category.CIA writes.
func ParseCIA(s string) (Category, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return Category{}, false
	}
	var ls [3]Level
	for i, p := range parts {
		if p == "none" {
			p = ""
		}
		l, ok := ParseLevel(p)
		if !ok {
			return Category{}, false
		}
		ls[i] = l
	}
	return Category{Confidentiality: ls[0], Integrity: ls[1], Availability: ls[2]}, true
}

// CIA writes a category as "C/I/A" ("none" for an uncategorized objective).
func (c Category) CIA() string {
	name := func(l Level) string {
		if l == LevelNone {
			return "none"
		}
		return l.String()
	}
	return name(c.Confidentiality) + "/" + name(c.Integrity) + "/" + name(c.Availability)
}
