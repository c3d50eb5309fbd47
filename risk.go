package bulwark

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Risk is one entry of an organization's risk register: a scenario, the
// threat behind it, what it would hit, how likely and how bad it is
// (on a 5×5 scale and as FAIR-style ranges), and what is done about it.
type Risk struct {
	ID       string `json:"id"`
	Owner    string `json:"owner"` // the organization whose risk it is
	Title    string `json:"title"`
	Scenario string `json:"scenario,omitempty"`
	// Techniques are MITRE ATT&CK for ICS (or Enterprise) technique IDs,
	// e.g. "T0866".
	Techniques []string `json:"techniques,omitempty"`
	Services   []string `json:"services,omitempty"`
	Systems    []string `json:"systems,omitempty"`

	// Likelihood and Impact are 1 (rare, negligible) to 5 (almost
	// certain, severe).
	Likelihood int `json:"likelihood"`
	Impact     int `json:"impact"`
	// Frequency is the expected number of loss events a year and Loss the
	// loss of one event (in the city's currency), each as a range.
	Frequency Range `json:"frequency,omitzero"`
	Loss      Range `json:"loss,omitzero"`

	Treatment      Treatment  `json:"treatment,omitempty"`
	TreatmentOwner string     `json:"treatment_owner,omitempty"`
	TreatmentPlan  string     `json:"treatment_plan,omitempty"`
	Due            time.Time  `json:"due,omitzero"`
	Status         RiskStatus `json:"status"`
	// AcceptedBy and AcceptedUntil record an acceptance; after
	// AcceptedUntil the risk counts as open again.
	AcceptedBy    string    `json:"accepted_by,omitempty"`
	AcceptedUntil time.Time `json:"accepted_until,omitzero"`

	// Evidence links findings ("asset/vuln") and assessment gaps
	// ("assessment/control").
	Findings []string `json:"findings,omitempty"`
	Gaps     []string `json:"gaps,omitempty"`

	Rev       int       `json:"rev"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Range is a three-point estimate: minimum, most likely, maximum.
type Range struct {
	Min        float64 `json:"min"`
	MostLikely float64 `json:"most_likely"`
	Max        float64 `json:"max"`
}

// IsZero reports whether the range is unset.
func (r Range) IsZero() bool { return r == Range{} }

// Treatment is how a risk is handled.
type Treatment string

// Treatments.
const (
	TreatMitigate Treatment = "mitigate"
	TreatAccept   Treatment = "accept"
	TreatTransfer Treatment = "transfer"
	TreatAvoid    Treatment = "avoid"
)

// RiskStatus is where a risk stands.
type RiskStatus string

// Risk statuses: identified, being treated, accepted (until a date),
// transferred, closed (treated or avoided).
const (
	RiskIdentified  RiskStatus = "identified"
	RiskTreating    RiskStatus = "treating"
	RiskAccepted    RiskStatus = "accepted"
	RiskTransferred RiskStatus = "transferred"
	RiskClosed      RiskStatus = "closed"
)

// Score is Likelihood × Impact (1–25).
func (r *Risk) Score() int { return r.Likelihood * r.Impact }

// Open reports whether the risk still needs attention at now: anything
// not closed or transferred, and an acceptance that has expired.
func (r *Risk) Open(now time.Time) bool {
	switch r.Status {
	case RiskClosed, RiskTransferred:
		return false
	case RiskAccepted:
		return !r.AcceptedUntil.IsZero() && now.After(r.AcceptedUntil)
	}
	return true
}

// RiskFilter selects risks.
type RiskFilter struct {
	Owner   string
	Service string
	Status  RiskStatus
}

// RiskEvent is one revision of a risk, as it was after the change.
type RiskEvent struct {
	Rev   int       `json:"rev"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Note  string    `json:"note,omitempty"`
	Risk  Risk      `json:"risk"`
}

// RiskStore persists the risk register. Risks follow the organization
// scope of the city model: the owner's writers change them, those it
// shares with read them. Every change is a new revision; UpdateRisk
// refuses a change whose Rev is not the stored one (ECONFLICT).
type RiskStore interface {
	CreateRisk(ctx context.Context, r *Risk) error
	UpdateRisk(ctx context.Context, r *Risk, note string) error
	FindRisk(ctx context.Context, id string) (*Risk, error)
	ListRisks(ctx context.Context, f RiskFilter) ([]Risk, error)
	RiskHistory(ctx context.Context, id string) ([]RiskEvent, error)
}

// Limits of a risk's free text and lists.
const (
	maxRiskText  = 10_000
	maxRiskLinks = 200
)

// Validate checks a risk's fields and lists every problem found.
func (r *Risk) Validate() error {
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if r.ID != "" && !ValidID(r.ID) {
		add("id", "use 1-128 letters, digits, '.', '_', ':' or '-'")
	}
	if len(r.Title) == 0 || len(r.Title) > 500 {
		add("title", "a title of 1 to 500 bytes is required")
	}
	for name, s := range map[string]string{"scenario": r.Scenario, "treatment_plan": r.TreatmentPlan} {
		if len(s) > maxRiskText {
			add(name, "at most %d bytes", maxRiskText)
		}
	}
	if len(r.TreatmentOwner) > 200 || len(r.AcceptedBy) > 200 {
		add("treatment_owner", "names are limited to 200 bytes")
	}
	if r.Likelihood < 1 || r.Likelihood > 5 {
		add("likelihood", "%d: use 1 (rare) to 5 (almost certain)", r.Likelihood)
	}
	if r.Impact < 1 || r.Impact > 5 {
		add("impact", "%d: use 1 (negligible) to 5 (severe)", r.Impact)
	}
	for name, rg := range map[string]Range{"frequency": r.Frequency, "loss": r.Loss} {
		if rg.IsZero() {
			continue
		}
		if rg.Min < 0 || rg.Min > rg.MostLikely || rg.MostLikely > rg.Max || rg.Max > 1e15 {
			add(name, "want 0 ≤ min ≤ most_likely ≤ max (≤ 1e15), got %g / %g / %g", rg.Min, rg.MostLikely, rg.Max)
		}
	}
	if r.Frequency.IsZero() != r.Loss.IsZero() {
		add("loss", "give both frequency and loss for a quantitative estimate, or neither")
	}
	switch r.Treatment {
	case "", TreatMitigate, TreatAccept, TreatTransfer, TreatAvoid:
	default:
		add("treatment", "%q: use mitigate, accept, transfer or avoid", r.Treatment)
	}
	switch r.Status {
	case RiskIdentified, RiskTreating, RiskTransferred, RiskClosed:
	case RiskAccepted:
		if r.AcceptedBy == "" || r.AcceptedUntil.IsZero() {
			add("accepted_until", "an accepted risk needs who accepts it and until when")
		}
	default:
		add("status", "%q: use identified, treating, accepted, transferred or closed", r.Status)
	}
	for name, list := range map[string][]string{"techniques": r.Techniques, "services": r.Services, "systems": r.Systems, "findings": r.Findings, "gaps": r.Gaps} {
		if len(list) > maxRiskLinks {
			add(name, "at most %d entries", maxRiskLinks)
			continue
		}
		for i, s := range list {
			if !validRiskLink(name, s) {
				add(fmt.Sprintf("%s[%d]", name, i), "%q is not a valid %s reference", Abbrev(s, 60), name)
			}
		}
	}
	if len(probs) > 0 {
		e := Errorf(EINVALID, "risk: %d problem(s), first: %s", len(probs), probs[0])
		e.Details = probs
		return e
	}
	return nil
}

// validRiskLink checks one reference: a technique ID (T0866, T1190.001),
// an entity ID, or "a/b" for findings (asset/vulnerability) and gaps
// (assessment/control).
func validRiskLink(kind, s string) bool {
	switch kind {
	case "techniques":
		if len(s) != 5 && len(s) != 9 || s[0] != 'T' {
			return false
		}
		for i := 1; i < len(s); i++ {
			c := s[i]
			if !(c >= '0' && c <= '9') && !(i == 5 && c == '.') {
				return false
			}
		}
		return true
	case "findings", "gaps":
		a, b, ok := strings.Cut(s, "/")
		return ok && ValidID(a) && b != "" && len(b) <= MaxIDLen
	}
	return ValidID(s)
}
