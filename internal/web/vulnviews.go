package web

import (
	"bulwark"
	"bulwark/internal/match"
	"bulwark/internal/vulns"
)

// View models of the vulnerability-intelligence pages.

// FindingsPage lists findings, most urgent first, with a summary of the
// open ones.
type FindingsPage struct {
	Base
	Owner, Decision, Status, Asset, Vuln string
	KEV, Open                            bool
	Owners                               []Link
	Decisions                            []string
	Statuses                             []string
	Summary                              ExposureView
	Chart                                string // JSON: {"labels":[owners],"series":[{"name":"Act","values":[..]},..]}
	Rows                                 []FindingRow
	Next, First                          string
}

// ExposureView counts the open findings the caller sees.
type ExposureView struct {
	Open, Act, Attend, TrackStar, Track int
	KEV, KEVOverdue, Overdue            int
	Assets                              int // assets with an open finding
}

// FindingRow is one finding in a list.
type FindingRow struct {
	Href       string
	Decision   string
	Due        string
	Overdue    bool
	Vuln       Link
	Asset      Link
	Owner      string
	Status     string
	Confidence string
	KEV        bool // the vulnerability is in CISA's KEV catalog
}

// FindingPage is one finding: its decision and why, evidence, the match
// explanation, its history and, for its owner's writers, the lifecycle
// form.
type FindingPage struct {
	Base
	Asset, Vuln    Link
	Owner          string
	Status         string
	Decision       string
	Inputs         bulwark.SSVCInputs
	Due            string
	Overdue        bool
	Confidence     string
	KEV            bool
	Evidence       string
	FirstSeen      string
	LastSeen       string
	Updated        string
	AcceptedBy     string
	AcceptedReason string
	AcceptedUntil  string
	Explain        *match.Explanation
	ExplainError   string
	History        []EventRow
	Form           *FindingForm // nil when the caller may not change the finding
	Error          string       // why the last change was refused
}

// FindingForm is the lifecycle form, refilled after a refused change.
type FindingForm struct {
	Action     string
	CSRF       string
	Steps      []string // statuses the finding may move to
	Status     string
	Note       string
	AcceptedBy string
	Until      string
	MinUntil   string // tomorrow: an acceptance must expire in the future
	MaxUntil   string
}

// EventRow is one history entry.
type EventRow struct {
	At, Actor, From, To, Note string
}

// VulnerabilityPage is the merged view of one vulnerability.
type VulnerabilityPage struct {
	Base
	ID             string
	Aliases        []string
	Published      string
	Modified       string
	Description    string
	CWEs           []string
	CVSS           []bulwark.CVSS
	KEV            *KEVView
	EPSS           *EPSSView
	ADP            *ADPView
	Remediations   []bulwark.Remediation
	References     []RefView
	Configurations []ConfigNode
	Affected       []bulwark.AffectedProduct
	Sources        []SourceRow
	Findings       []FindingRow
	MoreFindings   string // URL of all findings of the vulnerability when the table is cut
}

// KEVView is a vulnerability's KEV entry, formatted.
type KEVView struct {
	Name, VendorProject, Product, DateAdded, Due, RequiredAction, Notes string
	Overdue, Ransomware                                                 bool
}

// EPSSView is an EPSS score, formatted.
type EPSSView struct {
	Score, Percentile, Date string
}

// ADPView are CISA's ADP SSVC points.
type ADPView struct {
	Exploitation, Automatable, TechnicalImpact, Date string
}

// RefView is a reference; Href is "" when the URL is not http(s).
type RefView struct {
	URL, Href string
	Tags      []string
}

// ConfigNode is one node of an NVD configuration, ready to print.
type ConfigNode struct {
	Operator string
	Negate   bool
	Matches  []ConfigMatch
	Children []ConfigNode
}

// ConfigMatch is one CPE criterion with its version range in words.
type ConfigMatch struct {
	Criteria   string
	Range      string
	Vulnerable bool
}

// SourceRow is one source's provenance.
type SourceRow struct {
	Source, Document, Fetched, Modified, Hash string
}

// FeedsPage is the status of the vulnerability feeds.
type FeedsPage struct {
	Base
	Version int64
	Sources []FeedRow
}

// FeedRow is one source.
type FeedRow struct {
	Source       string
	Records      int64
	LastFetched  string
	LastModified string
}

// AdvisoriesPage lists the advisories for the caller's open findings.
type AdvisoriesPage struct {
	Base
	Owner      string
	Owners     []Link
	Advisories []vulns.Advisory // the most urgent, at most advisoriesShown
	Total      int
}
