package bulwark

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// CampaignKind says what a training campaign is.
type CampaignKind string

// Campaign kinds: workforce training (a course people must complete by a
// due date), a phishing simulation, and a citizen awareness campaign.
const (
	CampaignWorkforce CampaignKind = "workforce"
	CampaignPhishing  CampaignKind = "phishing"
	CampaignCitizen   CampaignKind = "citizen"
)

// CampaignKinds lists every kind.
var CampaignKinds = []CampaignKind{CampaignWorkforce, CampaignPhishing, CampaignCitizen}

// Campaign is one awareness, education or training campaign of an
// organization. Start and Due are whole days (UTC midnight); a course is
// completed on time when it is completed before the end of its due day.
type Campaign struct {
	ID    string       `json:"id"`
	Org   string       `json:"org"`
	Kind  CampaignKind `json:"kind"`
	Title string       `json:"title"`
	// Audience describes who is meant ("all staff", "OT engineers",
	// "residents of the harbour district"); AudienceSize is how many
	// people that is (0: unknown; the people with a record then count).
	Audience     string    `json:"audience,omitempty"`
	AudienceSize int64     `json:"audience_size,omitempty"`
	Course       string    `json:"course,omitempty"`
	Start        time.Time `json:"start"`
	Due          time.Time `json:"due,omitzero"`
	CreatedBy    string    `json:"created_by,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
}

// DueBy is the instant by which a course must be completed: the end of
// the due day (zero when the campaign has no due date).
func (c *Campaign) DueBy() time.Time {
	if c.Due.IsZero() {
		return time.Time{}
	}
	return c.Due.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
}

// Limits of campaigns and records.
const (
	maxCampaignTitle    = 300
	maxCampaignText     = 500
	MaxAudienceSize     = 10_000_000
	MaxPersonIDLen      = 320 // an e-mail address at most
	MaxReachPeople      = 100_000_000
	maxChannelLen       = 100
	MaxTrainingScore    = 100
	MaxCitizenReachRows = 1000
)

// Validate checks a campaign's fields and lists every problem found.
func (c *Campaign) Validate() error {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.ID != "" && !ValidID(c.ID) {
		add("id", "use 1-128 letters, digits, '.', '_', ':' or '-'")
	}
	switch c.Kind {
	case CampaignWorkforce, CampaignPhishing, CampaignCitizen:
	default:
		add("kind", "%q: use workforce, phishing or citizen", Abbrev(string(c.Kind), 40))
	}
	if strings.TrimSpace(c.Title) == "" || len(c.Title) > maxCampaignTitle || !utf8.ValidString(c.Title) {
		add("title", "a title of 1 to %d bytes of UTF-8 is required", maxCampaignTitle)
	}
	for name, s := range map[string]string{"audience": c.Audience, "course": c.Course} {
		if len(s) > maxCampaignText || !utf8.ValidString(s) {
			add(name, "at most %d bytes of UTF-8", maxCampaignText)
		}
	}
	if c.AudienceSize < 0 || c.AudienceSize > MaxAudienceSize {
		add("audience_size", "%d: use 0 (unknown) to %d people", c.AudienceSize, MaxAudienceSize)
	}
	if c.Start.IsZero() {
		add("start", "a start date is required")
	}
	if c.Kind == CampaignWorkforce && c.Due.IsZero() {
		add("due", "a workforce campaign needs a due date")
	}
	if !c.Due.IsZero() && !c.Start.IsZero() && c.Due.Before(c.Start) {
		add("due", "the due date %s is before the start %s", c.Due.Format(time.DateOnly), c.Start.Format(time.DateOnly))
	}
	if len(probs) > 0 {
		e := Errorf(EINVALID, "campaign: %d problem(s), first: %s", len(probs), probs[0])
		e.Details = probs
		return e
	}
	return nil
}

// PersonRef is a keyed pseudonym of a person: Bulwark never stores the
// e-mail address or staff number a record names, only this (see
// Pseudonymize). Within one organization the same person always has the
// same reference, so imports merge; across organizations the references
// differ, so records cannot be linked between them.
type PersonRef string

// NormalizePerson folds a person identifier (an e-mail address or staff
// number) for pseudonymizing: trimmed and lower-cased. It returns "" for
// an identifier that is empty, too long or not UTF-8.
func NormalizePerson(id string) string {
	if !utf8.ValidString(id) {
		return ""
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" || len(id) > MaxPersonIDLen {
		return ""
	}
	return id
}

// Pseudonymize returns the reference of a normalized person identifier
// under an organization's training key: the first 128 bits of
// HMAC-SHA-256(key, "bulwark/training/person\x00" + id), in hex.
func Pseudonymize(key []byte, normalized string) PersonRef {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("bulwark/training/person\x00"))
	m.Write([]byte(normalized))
	return PersonRef(hex.EncodeToString(m.Sum(nil)[:16]))
}

// ValidPersonRef reports whether r has the form Pseudonymize gives.
func ValidPersonRef(r PersonRef) bool {
	if len(r) != 32 {
		return false
	}
	for _, c := range []byte(r) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// CompletionRecord is one person's record in a workforce campaign: assigned
// (CompletedAt zero) or completed, with the score when the course gives
// one (0–100).
type CompletionRecord struct {
	Campaign    string    `json:"campaign"`
	Person      PersonRef `json:"person"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	Score       *float64  `json:"score,omitempty"`
}

// Merge folds a newer import of the same person's record into r: a
// completion, once recorded, stays, at its earliest time; a score given
// replaces the one before. Merging is order-independent for completion
// times, so importing the same exports in any order gives the same record.
func (r *CompletionRecord) Merge(n CompletionRecord) {
	r.CompletedAt = earliest(r.CompletedAt, n.CompletedAt)
	if n.Score != nil {
		s := *n.Score
		r.Score = &s
	}
}

// PhishingResult is what one person did with one simulated phishing
// e-mail: each event's time, zero when it did not happen.
type PhishingResult struct {
	Campaign    string    `json:"campaign"`
	Person      PersonRef `json:"person"`
	SentAt      time.Time `json:"sent_at,omitzero"`
	OpenedAt    time.Time `json:"opened_at,omitzero"`
	ClickedAt   time.Time `json:"clicked_at,omitzero"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"` // entered credentials or data
	ReportedAt  time.Time `json:"reported_at,omitzero"`
}

// Merge folds another import of the same person's result into r: each
// event keeps its earliest time (events, once seen, stay seen).
func (r *PhishingResult) Merge(n PhishingResult) {
	r.SentAt = earliest(r.SentAt, n.SentAt)
	r.OpenedAt = earliest(r.OpenedAt, n.OpenedAt)
	r.ClickedAt = earliest(r.ClickedAt, n.ClickedAt)
	r.SubmittedAt = earliest(r.SubmittedAt, n.SubmittedAt)
	r.ReportedAt = earliest(r.ReportedAt, n.ReportedAt)
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// CitizenReach is how many people one channel of a citizen awareness
// campaign reached over a period.
type CitizenReach struct {
	Campaign string    `json:"campaign"`
	Channel  string    `json:"channel"`
	People   int64     `json:"people"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
}

// Validate checks one reach entry.
func (r *CitizenReach) Validate() error {
	switch {
	case strings.TrimSpace(r.Channel) == "" || len(r.Channel) > maxChannelLen || !utf8.ValidString(r.Channel):
		return Errorf(EINVALID, "channel: 1 to %d bytes of UTF-8 are required", maxChannelLen)
	case r.People < 0 || r.People > MaxReachPeople:
		return Errorf(EINVALID, "people: %d: use 0 to %d", r.People, MaxReachPeople)
	case r.From.IsZero() || r.To.IsZero():
		return Errorf(EINVALID, "from and to: a period is required")
	case r.To.Before(r.From):
		return Errorf(EINVALID, "to %s is before from %s", r.To.Format(time.DateOnly), r.From.Format(time.DateOnly))
	}
	return nil
}

// TrainingBatch is one import into one campaign: completion records of a
// workforce campaign or phishing results of a phishing campaign.
type TrainingBatch struct {
	Completions []CompletionRecord
	Phishing    []PhishingResult
	// Source names the file or request, for the audit log.
	Source string
}

// TrainingImportStats counts what an import did.
type TrainingImportStats struct {
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
}

// CampaignFilter selects campaigns.
type CampaignFilter struct {
	Org  string
	Kind CampaignKind
	// Since keeps campaigns starting or due on or after it.
	Since time.Time
}

// CampaignTally is a campaign with the counts of its records, as the
// store adds them up: what every rate is computed from.
type CampaignTally struct {
	Campaign Campaign `json:"campaign"`
	// Workforce: people with a record, completed ones, and those
	// completed by the end of the due day.
	Assigned  int64 `json:"assigned"`
	Completed int64 `json:"completed"`
	OnTime    int64 `json:"on_time"`
	// Phishing: people each event happened to.
	Sent      int64 `json:"sent"`
	Opened    int64 `json:"opened"`
	Clicked   int64 `json:"clicked"`
	Submitted int64 `json:"submitted"`
	Reported  int64 `json:"reported"`
	// Citizen: people reached over every channel.
	Reach int64 `json:"reach"`
}

// TrainingStore persists training campaigns and their records. Training
// records concern people, so they are visible only to their own
// organization (no sharing applies): another organization's campaign
// answers ENOTFOUND. The System principal sees and writes every
// organization's. Every write is audited, never with a person's reference.
type TrainingStore interface {
	// CreateCampaign adds a campaign of the caller's organization (the
	// System principal names it); ID is generated when empty.
	CreateCampaign(ctx context.Context, c *Campaign) error
	FindCampaign(ctx context.Context, id string) (*Campaign, error)
	// ListCampaigns lists the visible campaigns, newest start first.
	ListCampaigns(ctx context.Context, f CampaignFilter) ([]Campaign, error)
	// DeleteCampaign removes a campaign with every record of it.
	DeleteCampaign(ctx context.Context, id string) error

	// TrainingKey returns org's pseudonymization key, creating it on first
	// use. Only org's writers (and the System principal) get it.
	TrainingKey(ctx context.Context, org string) ([]byte, error)
	// PutTrainingRecords merges a batch into a campaign in one transaction:
	// on any error nothing is stored.
	PutTrainingRecords(ctx context.Context, campaign string, b TrainingBatch) (TrainingImportStats, error)
	// AddCitizenReach appends reach entries to a citizen campaign.
	AddCitizenReach(ctx context.Context, campaign string, rs []CitizenReach) error
	ListCompletions(ctx context.Context, campaign string) ([]CompletionRecord, error)
	ListPhishingResults(ctx context.Context, campaign string) ([]PhishingResult, error)
	ListCitizenReach(ctx context.Context, campaign string) ([]CitizenReach, error)
	// TallyCampaigns returns the visible campaigns f selects with the
	// counts of their records, newest start first.
	TallyCampaigns(ctx context.Context, f CampaignFilter) ([]CampaignTally, error)
	// ForgetPerson removes every record of one person in org's campaigns
	// and returns how many were removed.
	ForgetPerson(ctx context.Context, org string, person PersonRef) (int64, error)
}
