package bulwark

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Notifications tell people about incidents: the notification matrix
// (internal/notify) decides, for each incident event, whom to notify at
// which severity and purview, through which channel, with which template and
// by when they must acknowledge. Notifications wait in a durable outbox
// (NotificationStore) until a sender delivers them; unacknowledged ones
// escalate.

// NotifyAudience is who a notification is for, lowest level first: the
// incident's own organization, partner operators, state or federal CERTs,
// ISACs, and the public.
type NotifyAudience string

// Audiences, in escalation order.
const (
	AudienceInternal NotifyAudience = "internal"
	AudiencePartner  NotifyAudience = "partner"
	AudienceCERT     NotifyAudience = "cert"
	AudienceISAC     NotifyAudience = "isac"
	AudiencePublic   NotifyAudience = "public"
)

// NotifyAudiences lists the audiences in escalation order.
var NotifyAudiences = []NotifyAudience{AudienceInternal, AudiencePartner, AudienceCERT, AudienceISAC, AudiencePublic}

// Level returns the audience's position in NotifyAudiences, -1 if unknown.
func (a NotifyAudience) Level() int {
	for i, x := range NotifyAudiences {
		if x == a {
			return i
		}
	}
	return -1
}

// NotifyChannel is how a notification travels.
type NotifyChannel string

// Channels.
const (
	ChannelEmail   NotifyChannel = "email"   // SMTP
	ChannelWebhook NotifyChannel = "webhook" // HTTP POST of JSON, HMAC-signed
)

// NotifyEventKind is what happened to an incident.
type NotifyEventKind string

// Event kinds an incident service reports.
const (
	NotifyIncidentCreated NotifyEventKind = "incident_created"
	NotifySeverityChanged NotifyEventKind = "severity_changed"
	NotifyPhaseChanged    NotifyEventKind = "phase_changed"
	NotifyTargetAtRisk    NotifyEventKind = "target_at_risk"
	// NotifyPublicActionChanged: what citizens must do was set or changed.
	NotifyPublicActionChanged NotifyEventKind = "public_action_changed"
	// NotifyIntelAdded: intel objects were shared into a collection (a
	// publication, a TAXII post, an import, a feed pull). It is not an
	// incident event: its events carry no incident, one per recipient
	// organization, and only the sharing service raises them
	// (internal/notify's intel digests).
	NotifyIntelAdded NotifyEventKind = "intel_added"
)

// NotifyEventKinds lists every event kind.
var NotifyEventKinds = []NotifyEventKind{NotifyIncidentCreated, NotifySeverityChanged, NotifyPhaseChanged, NotifyTargetAtRisk, NotifyPublicActionChanged, NotifyIntelAdded}

// MaxNotifySeverity is the highest severity: incidents are scored on CISA's
// National Cyber Incident Scoring System, 0 (baseline) to 5 (emergency).
const MaxNotifySeverity = 5

// NotificationEvent is one incident event, as the incident service reports
// it to the notification service. What each recipient gets of it is decided
// by the egress filter (internal/notify): Summary only reaches the
// incident's own organization, PublicAction everyone, and other
// organizations see only the affected services they may see anyway.
type NotificationEvent struct {
	// Key identifies the event: reporting the same Key twice (a replay, a
	// retry after a crash) never notifies twice. Empty means derived from
	// the other fields (see DefaultKey).
	Key        string          `json:"key"`
	Kind       NotifyEventKind `json:"kind"`
	IncidentID string          `json:"incident_id"`
	// OrgID is the organization whose incident it is.
	OrgID string `json:"org"`
	// Severity is the NCISS level now (0-5); PreviousSeverity the level
	// before a severity change.
	Severity         int     `json:"severity"`
	PreviousSeverity int     `json:"previous_severity,omitempty"`
	Phase            string  `json:"phase,omitempty"`   // lifecycle phase, e.g. "containment"
	Purview          Purview `json:"purview,omitempty"` // who has authority over the incident
	// Services are the affected services' IDs.
	Services []string `json:"services,omitempty"`
	// Target describes the resilience target at risk (target_at_risk),
	// e.g. "maximum tolerable downtime 24h"; it concerns Services.
	Target string `json:"target,omitempty"`
	Title  string `json:"title"`
	// Summary is for the incident's own organization only.
	Summary string `json:"summary,omitempty"`
	// PublicAction says in plain language what citizens must do; public
	// notices are sent only for events that carry one.
	PublicAction string    `json:"public_action,omitempty"`
	At           time.Time `json:"at"`
}

// Limits of an event's fields.
const (
	maxEventKey      = 200
	maxEventTitle    = 500
	maxEventText     = 10_000
	maxEventServices = 200
	maxEventPhase    = 64
)

// DefaultKey derives the event's key from its fields: the incident and
// kind plus what changed (the new severity, the phase, the services at
// risk). Two reports of the same change get the same key.
func (e *NotificationEvent) DefaultKey() string {
	k := e.IncidentID + "/" + string(e.Kind)
	switch e.Kind {
	case NotifySeverityChanged:
		k += "/" + strconv.Itoa(e.PreviousSeverity) + "-" + strconv.Itoa(e.Severity)
	case NotifyPhaseChanged:
		k += "/" + e.Phase
	case NotifyTargetAtRisk:
		k += "/" + strings.Join(e.Services, ",") + "/" + e.Target
	case NotifyPublicActionChanged:
		h := fnv.New64a()
		h.Write([]byte(e.PublicAction))
		k += "/" + strconv.FormatUint(h.Sum64(), 16)
	}
	return k
}

// Validate checks the event and lists every problem.
func (e *NotificationEvent) Validate() error {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(e.Key) > maxEventKey || !printable(e.Key) {
		add("key", "at most %d printable characters", maxEventKey)
	}
	kindOK := false
	for _, k := range NotifyEventKinds {
		kindOK = kindOK || e.Kind == k
	}
	if !kindOK {
		add("kind", "%q: use incident_created, severity_changed, phase_changed, target_at_risk, public_action_changed or intel_added", Abbrev(string(e.Kind), 40))
	}
	switch {
	case e.Kind == NotifyIntelAdded && e.IncidentID != "":
		add("incident_id", "an intel_added event concerns no incident")
	case e.Kind != NotifyIntelAdded && !ValidID(e.IncidentID):
		add("incident_id", "a valid ID is required")
	}
	if !ValidID(e.OrgID) {
		add("org", "a valid organization ID is required")
	}
	if e.Severity < 0 || e.Severity > MaxNotifySeverity {
		add("severity", "%d: use 0 (baseline) to 5 (emergency)", e.Severity)
	}
	if e.PreviousSeverity < 0 || e.PreviousSeverity > MaxNotifySeverity {
		add("previous_severity", "%d: use 0 (baseline) to 5 (emergency)", e.PreviousSeverity)
	}
	if len(e.Phase) > maxEventPhase || !printable(e.Phase) {
		add("phase", "at most %d printable characters", maxEventPhase)
	}
	if e.Kind == NotifyPhaseChanged && e.Phase == "" {
		add("phase", "a phase change names the new phase")
	}
	if e.Purview != "" {
		ok := false
		for _, p := range Purviews {
			ok = ok || p == e.Purview
		}
		if !ok {
			add("purview", "%q is not a purview", Abbrev(string(e.Purview), 40))
		}
	}
	if len(e.Services) > maxEventServices {
		add("services", "at most %d services", maxEventServices)
	} else {
		for i, s := range e.Services {
			if !ValidID(s) {
				add(fmt.Sprintf("services[%d]", i), "%q is not a valid ID", Abbrev(s, 60))
			}
		}
	}
	if e.Kind == NotifyTargetAtRisk && len(e.Services) == 0 {
		add("services", "a target at risk names the services whose target it is")
	}
	if e.Title == "" || len(e.Title) > maxEventTitle {
		add("title", "a title of 1 to %d bytes is required", maxEventTitle)
	}
	for name, s := range map[string]string{"title": e.Title, "summary": e.Summary, "public_action": e.PublicAction, "target": e.Target} {
		if len(s) > maxEventText {
			add(name, "at most %d bytes", maxEventText)
		} else if !utf8.ValidString(s) {
			add(name, "not valid UTF-8")
		}
	}
	if e.At.IsZero() {
		add("at", "the time of the event is required")
	}
	if len(probs) > 0 {
		err := Errorf(EINVALID, "notification event: %d problem(s), first: %s", len(probs), probs[0])
		err.Details = probs
		return err
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// NotificationStatus is where a notification stands.
type NotificationStatus string

// Statuses. A pending notification waits for its (next) delivery attempt;
// sent was accepted by the receiving server; failed was given up (after the
// last attempt, or at once on a permanent refusal); acknowledged was
// confirmed by its recipient; escalated was sent or failed and not
// acknowledged by its deadline, so the next level was notified.
const (
	NotifyPending      NotificationStatus = "pending"
	NotifySent         NotificationStatus = "sent"
	NotifyFailed       NotificationStatus = "failed"
	NotifyAcknowledged NotificationStatus = "acknowledged"
	NotifyEscalated    NotificationStatus = "escalated"
)

// NotificationStatuses lists every status.
var NotificationStatuses = []NotificationStatus{NotifyPending, NotifySent, NotifyFailed, NotifyAcknowledged, NotifyEscalated}

// Notification is one message to one recipient about one event, produced by
// one rule of the matrix.
type Notification struct {
	ID string `json:"id"`
	// Key deduplicates: one notification per event (or incident, for rules
	// that notify once) × rule × recipient.
	Key        string `json:"-"`
	EventKey   string `json:"event_key"`
	IncidentID string `json:"incident_id"`
	// Org is the organization whose incident it is (generated for).
	Org      string         `json:"org"`
	Rule     string         `json:"rule"`
	Audience NotifyAudience `json:"audience"`
	// RecipientOrg is the organization the recipient belongs to, "" for an
	// address outside Bulwark.
	RecipientOrg  string `json:"recipient_org,omitempty"`
	RecipientName string `json:"recipient_name,omitempty"`
	// RecipientUser, when set, is the one user (of RecipientOrg) who may
	// see the notification: a TLP:RED intel digest is for its named
	// individual alone, not for the colleagues who see their
	// organization's notifications.
	RecipientUser int64         `json:"recipient_user,omitempty"`
	Address       string        `json:"address"` // e-mail address or webhook URL
	Channel       NotifyChannel `json:"channel"`
	// Secret names the webhook secret that signs deliveries (never its value).
	Secret  string `json:"-"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	// Payload is the webhook's JSON body: the event as the recipient may
	// see it.
	Payload string `json:"payload,omitempty"`

	Status      NotificationStatus `json:"status"`
	Attempts    int                `json:"attempts"`
	NextAttempt time.Time          `json:"next_attempt,omitzero"`
	LastError   string             `json:"last_error,omitempty"`
	CreatedAt   time.Time          `json:"created_at"`
	SentAt      time.Time          `json:"sent_at,omitzero"`
	// DueBy is when the recipient must have acknowledged; zero means no
	// acknowledgement is expected.
	DueBy       time.Time `json:"due_by,omitzero"`
	AckAt       time.Time `json:"ack_at,omitzero"`
	AckBy       string    `json:"ack_by,omitempty"`
	EscalatedAt time.Time `json:"escalated_at,omitzero"`
	// EscalatedFrom is the notification whose missing acknowledgement
	// caused this one.
	EscalatedFrom string `json:"escalated_from,omitempty"`

	// AckHash is the SHA-256 (hex) of the ack-link token, "" for none.
	AckHash string `json:"-"`
	// Lease identifies a delivery claim (ClaimNotifications).
	Lease string `json:"-"`
}

// NotificationAttempt is one delivery attempt in a notification's log.
type NotificationAttempt struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"` // sent, retry, failed
	Error   string    `json:"error,omitempty"`
}

// DeliveryOutcome is the result of one delivery attempt.
type DeliveryOutcome struct {
	// Status is NotifySent, NotifyPending (retry at NextAttempt) or
	// NotifyFailed (given up).
	Status      NotificationStatus
	NextAttempt time.Time
	Error       string
	At          time.Time
	// AckHash, when set, replaces the stored ack-link token hash by the one
	// of the link that was sent.
	AckHash string
}

// NotificationFilter selects notifications. Results are newest first,
// keyset-paginated by ID (After: IDs below it).
type NotificationFilter struct {
	Status   NotificationStatus
	Incident string
	Audience NotifyAudience
	Limit    int
	After    string
}

// NotificationStore is the durable outbox of notifications. A caller sees
// the notifications generated for its organization (its incidents) and
// those addressed to it; nothing else. Claiming, finishing deliveries and
// escalating are for the System principal (the delivery loop).
type NotificationStore interface {
	// EnqueueNotifications records ev (once per ev.Key) and adds those of
	// ns whose Key is new, all in one transaction; it returns the ones
	// added, with their IDs. The caller must be allowed to write for
	// ev.OrgID.
	EnqueueNotifications(ctx context.Context, ev NotificationEvent, ns []Notification) ([]Notification, error)
	// FindNotificationEvent returns a recorded event (System principal).
	FindNotificationEvent(ctx context.Context, key string) (*NotificationEvent, error)
	// ClaimNotifications leases up to limit pending notifications due at
	// now whose lease (if any) expired, counting an attempt for each: no
	// other caller claims them until now+lease. Each carries its Lease.
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// FinishDelivery records the outcome of the attempt under lease. It
	// returns false, changing nothing, when the lease was taken over by
	// another claim.
	FinishDelivery(ctx context.Context, id, lease string, out DeliveryOutcome) (bool, error)
	ListNotifications(ctx context.Context, f NotificationFilter) (Page[Notification], error)
	FindNotification(ctx context.Context, id string) (*Notification, error)
	NotificationAttempts(ctx context.Context, id string) ([]NotificationAttempt, error)
	// AckNotification records that the recipient acknowledged. Users of
	// the recipient's organization may acknowledge; so may the incident's
	// organization for a recipient outside Bulwark (confirmed by phone,
	// say). ECONFLICT when already acknowledged.
	AckNotification(ctx context.Context, id string, at time.Time) (*Notification, error)
	// AckNotificationByToken acknowledges the notification whose ack-link
	// token hashes to hash (not scoped: the token is the credential); by
	// names who followed the link. ENOTFOUND for an unknown hash or a
	// notification created before notBefore.
	AckNotificationByToken(ctx context.Context, hash, by string, at, notBefore time.Time) (*Notification, error)
	// ListOverdueNotifications returns up to limit notifications due for
	// acknowledgement before now that are neither acknowledged nor
	// escalated (System principal).
	ListOverdueNotifications(ctx context.Context, now time.Time, limit int) ([]Notification, error)
	// EscalateNotification marks id escalated at at and adds the
	// escalations whose Key is new, in one transaction. It returns false,
	// adding nothing, when id was acknowledged or escalated meanwhile.
	EscalateNotification(ctx context.Context, id string, at time.Time, escalations []Notification) (bool, error)
}

// Recipient selectors naming organizations relative to the event.
const (
	RecipientIncidentOrg = "@incident" // the organization whose incident it is
	RecipientPartners    = "@partners" // owners of the affected services other than it
)

// NotifyRecipient selects whom a rule notifies: the contacts of
// organizations (by ID, "@incident", "@partners" or by purview), filtered by
// contact role, or one address (an e-mail address, or a webhook URL with
// the name of the secret that signs its deliveries). Org on an address
// tags the organization it belongs to: its users then see and may
// acknowledge the notification, and the egress filter gives it what that
// organization may see.
type NotifyRecipient struct {
	Org     string  `json:"org,omitempty"`
	Purview Purview `json:"purview,omitempty"`
	// Role selects contacts by their role (case-insensitive); "" or "*" is
	// every contact with an e-mail address.
	Role   string `json:"role,omitempty"`
	Email  string `json:"email,omitempty"`
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"`
	Name   string `json:"name,omitempty"`
}

// NotifyRule is one row of the notification matrix: for events of these
// kinds at or above MinSeverity, in one of Purviews (any when empty),
// notify Recipients as Audience through Channel with Template; they must
// acknowledge within Deadline (0: no acknowledgement expected), or the
// rules named by EscalateTo are applied. Once notifies each recipient once
// per incident rather than once per event. Public rules apply only to
// events that tell citizens what to do (PublicAction).
type NotifyRule struct {
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	MinSeverity int               `json:"min_severity"`
	Purviews    []Purview         `json:"purviews,omitempty"`
	Events      []NotifyEventKind `json:"events,omitempty"`
	Audience    NotifyAudience    `json:"audience"`
	Recipients  []NotifyRecipient `json:"recipients"`
	Channel     NotifyChannel     `json:"channel"`
	Deadline    time.Duration     `json:"deadline,omitempty"`
	Template    string            `json:"template"`
	EscalateTo  []string          `json:"escalate_to,omitempty"`
	Once        bool              `json:"once,omitempty"`
}

// Matches reports whether the rule applies to ev directly (escalation
// applies a rule regardless).
func (r *NotifyRule) Matches(ev *NotificationEvent) bool {
	if ev.Severity < r.MinSeverity {
		return false
	}
	if len(r.Events) > 0 && !contains(r.Events, ev.Kind) {
		return false
	}
	if len(r.Purviews) > 0 && !contains(r.Purviews, ev.Purview) {
		return false
	}
	if r.Audience == AudiencePublic && strings.TrimSpace(ev.PublicAction) == "" {
		return false
	}
	return true
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// NotifyTemplate is a named pair of text/template sources.
type NotifyTemplate struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// NotifyMatrix is a city's communication plan. Version is the format
// version (1); Revision is the city's own label for this edition.
type NotifyMatrix struct {
	Version   int                       `json:"version"`
	Revision  string                    `json:"revision,omitempty"`
	Name      string                    `json:"name,omitempty"`
	Rules     []NotifyRule              `json:"rules"`
	Templates map[string]NotifyTemplate `json:"templates,omitempty"`
}

// Rule returns the rule with id, or nil.
func (m *NotifyMatrix) Rule(id string) *NotifyRule {
	for i := range m.Rules {
		if m.Rules[i].ID == id {
			return &m.Rules[i]
		}
	}
	return nil
}
