package bulwark

import "time"

// FindingStatus is where a finding stands in its lifecycle:
// open → in_remediation → fixed → verified, or accepted (with an owner, a
// reason and an expiry after which it re-opens).
type FindingStatus string

// Finding statuses.
const (
	FindingOpen          FindingStatus = "open"
	FindingInRemediation FindingStatus = "in_remediation"
	FindingFixed         FindingStatus = "fixed"
	FindingVerified      FindingStatus = "verified"
	FindingAccepted      FindingStatus = "accepted"
)

// Confidence says how sure a match is: exact for a CPE or PURL criterion
// evaluated by the specification, high for a vendor/product/model match with
// a parsed version range, low when the product name or the range was free
// text matched leniently, unknown when the version could not be compared.
type Confidence string

// Match confidences.
const (
	ConfidenceExact   Confidence = "exact"
	ConfidenceHigh    Confidence = "high"
	ConfidenceLow     Confidence = "low"
	ConfidenceUnknown Confidence = "version_unknown"
)

// Finding is an asset exposed to a vulnerability.
type Finding struct {
	AssetID string
	VulnID  string
	Owner   string // the asset's organization
	Status  FindingStatus
	// Confidence and Evidence say why the asset matched: the criterion (a
	// CPE match with its range, a CSAF product) and the asset identifier
	// it matched.
	Confidence Confidence
	Evidence   string
	FirstSeen  time.Time
	LastSeen   time.Time
	// Decision is the SSVC deployer decision and Due the date by which the
	// owner must act (KEV due date, or the policy for the decision).
	Decision SSVCDecision
	Inputs   SSVCInputs
	Due      time.Time
	// KEV is set when the vulnerability is in CISA's KEV catalog.
	KEV bool
	// Acceptance, for accepted findings.
	AcceptedBy     string
	AcceptedReason string
	AcceptedUntil  time.Time
	UpdatedAt      time.Time
}

// SSVCDecision is the outcome of CISA's SSVC deployer tree.
type SSVCDecision string

// SSVC decisions, in increasing urgency.
const (
	SSVCTrack     SSVCDecision = "Track"
	SSVCTrackStar SSVCDecision = "Track*"
	SSVCAttend    SSVCDecision = "Attend"
	SSVCAct       SSVCDecision = "Act"
)

// SSVCInputs are the decision points of CISA's SSVC tree and where each came
// from, so every decision can be explained.
type SSVCInputs struct {
	Exploitation     string `json:"exploitation"`      // none, poc, active
	Automatable      string `json:"automatable"`       // no, yes
	TechnicalImpact  string `json:"technical_impact"`  // partial, total
	MissionWellbeing string `json:"mission_wellbeing"` // low, medium, high
	// Why holds one sentence per decision point naming its evidence.
	Why []string `json:"why,omitempty"`
}
