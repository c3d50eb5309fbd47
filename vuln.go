package bulwark

import "time"

// Vulnerability is one known vulnerability (a CVE, or an advisory's own ID
// when it names no CVE) as Bulwark knows it after merging every source that
// speaks of it: NVD (applicability and CVSS), the CVE Program's record with
// CISA's ADP enrichment (SSVC points, affected ranges), KEV (exploited, due
// date), EPSS (probability of exploitation) and CSAF advisories (vendor
// products, remediations). Each source fills its own fields; a re-import of
// one source replaces only what that source said.
type Vulnerability struct {
	ID          string // CVE-2024-1234, or e.g. ICSA-24-123-01 when no CVE exists
	Aliases     []string
	Published   time.Time
	Modified    time.Time
	Description string
	CWEs        []string
	CVSS        []CVSS
	References  []Reference

	// Configurations are NVD's applicability statements: the vulnerability
	// applies to a platform when any root node is satisfied.
	Configurations []Node
	// Affected are product statements that are not CPE configurations:
	// CVE 5 "affected" entries and CSAF product trees.
	Affected []AffectedProduct

	KEV  *KEVEntry
	EPSS *EPSSScore
	// ADP holds the SSVC decision points CISA's ADP published, if any.
	ADP *SSVCPoints
	// Remediations are vendor actions (CSAF remediations, KEV required
	// action), most specific first.
	Remediations []Remediation

	Sources []Provenance
}

// CVSS is one CVSS score as published by one source.
type CVSS struct {
	Version   string  `json:"version"` // "2.0", "3.0", "3.1", "4.0"
	Vector    string  `json:"vector"`
	BaseScore float64 `json:"base_score"`
	Source    string  `json:"source,omitempty"` // nvd@nist.gov, a CNA, a CSAF publisher
	Primary   bool    `json:"primary,omitempty"`
}

// Reference is a link about a vulnerability with the tags its source gave
// it ("Exploit", "Patch", "Vendor Advisory", ...).
type Reference struct {
	URL  string   `json:"url"`
	Tags []string `json:"tags,omitempty"`
}

// Operator combines the children and matches of a configuration node.
type Operator string

// Node operators.
const (
	OR  Operator = "OR"
	AND Operator = "AND"
)

// Node is one node of an NVD configuration. NVD 1.1 nests children; NVD 2.0
// keeps a flat list of nodes per configuration: a 2.0 configuration becomes
// one Node whose Children are its nodes. A node holds when its operator
// over its Matches and Children holds, inverted when Negate is set.
type Node struct {
	Operator Operator   `json:"op"`
	Negate   bool       `json:"negate,omitempty"`
	Matches  []CPEMatch `json:"match,omitempty"`
	Children []Node     `json:"children,omitempty"`
}

// CPEMatch is one match criterion: a CPE 2.3 name (formatted string) whose
// version may be bounded by the four range fields (NVD sets them on names
// whose version is ANY). Vulnerable false marks a platform that must be
// present (for example the hardware a vulnerable firmware runs on) rather
// than the vulnerable component itself.
type CPEMatch struct {
	Vulnerable            bool   `json:"vulnerable"`
	Criteria              string `json:"criteria"`
	MatchCriteriaID       string `json:"id,omitempty"`
	VersionStartIncluding string `json:"start_incl,omitempty"`
	VersionStartExcluding string `json:"start_excl,omitempty"`
	VersionEndIncluding   string `json:"end_incl,omitempty"`
	VersionEndExcluding   string `json:"end_excl,omitempty"`
}

// ProductStatus is what a source says about a product and a vulnerability
// (CSAF product_status, CVE 5 version status, CycloneDX VEX state).
type ProductStatus string

// Product statuses.
const (
	StatusAffected         ProductStatus = "affected"
	StatusFixed            ProductStatus = "fixed"
	StatusNotAffected      ProductStatus = "not_affected"
	StatusUnderInvestigate ProductStatus = "under_investigation"
)

// AffectedProduct is a product statement that is not an NVD configuration:
// one CSAF product (full_product_name with its branch path) or one CVE 5
// "affected" entry. Products are named by whatever the source gives: a CPE,
// a PURL, or vendor, product, model numbers and a version range that is
// often free text (`<= 3.5 (12)`, `< FW14`, `vers:generic/>=5.3|<=6.4`).
type AffectedProduct struct {
	Status    ProductStatus `json:"status"`
	ProductID string        `json:"product_id,omitempty"` // CSAF product_id
	Vendor    string        `json:"vendor,omitempty"`
	Product   string        `json:"product,omitempty"`
	Models    []string      `json:"models,omitempty"`
	CPE       string        `json:"cpe,omitempty"`
	PURL      string        `json:"purl,omitempty"`
	// Version is one exact version; Range a range expression in the
	// source's own syntax (free text, vers:, or CVE 5 "< X" / "<= X").
	Version string `json:"version,omitempty"`
	Range   string `json:"range,omitempty"`
	// VersionType is CVE 5's versionType (semver, custom, git, ...).
	VersionType string `json:"version_type,omitempty"`
	Source      string `json:"source,omitempty"` // the advisory's ID
}

// KEVEntry is what CISA's Known Exploited Vulnerabilities catalog says.
type KEVEntry struct {
	VendorProject    string    `json:"vendor_project"`
	Product          string    `json:"product"`
	Name             string    `json:"name"`
	DateAdded        time.Time `json:"date_added"`
	DueDate          time.Time `json:"due_date"`
	RequiredAction   string    `json:"required_action"`
	KnownRansomware  bool      `json:"known_ransomware"`
	Notes            string    `json:"notes,omitempty"`
	ShortDescription string    `json:"short_description,omitempty"`
	CatalogVersion   string    `json:"catalog_version,omitempty"`
	CWEs             []string  `json:"cwes,omitempty"`
}

// EPSSScore is FIRST's estimate that a vulnerability is exploited in the
// next 30 days, and its percentile among all scored CVEs, on a date.
type EPSSScore struct {
	Score      float64   `json:"score"`
	Percentile float64   `json:"percentile"`
	Date       time.Time `json:"date"`
}

// SSVCPoints are SSVC decision points as a source published them
// (CISA's ADP): exploitation none/poc/active, automatable yes/no,
// technical impact partial/total.
type SSVCPoints struct {
	Exploitation    string    `json:"exploitation,omitempty"`
	Automatable     string    `json:"automatable,omitempty"`
	TechnicalImpact string    `json:"technical_impact,omitempty"`
	Timestamp       time.Time `json:"timestamp,omitempty"`
}

// Remediation is an action a vendor or CISA asks for.
type Remediation struct {
	Category string   `json:"category"` // vendor_fix, mitigation, workaround, none_available, no_fix_planned, required_action
	Details  string   `json:"details"`
	URL      string   `json:"url,omitempty"`
	Products []string `json:"products,omitempty"` // CSAF product IDs it applies to
	Source   string   `json:"source,omitempty"`
}

// Provenance records where a piece of a vulnerability came from.
type Provenance struct {
	Source    string    `json:"source"`             // nvd, cve5, kev, epss, csaf:<publisher>
	Document  string    `json:"document,omitempty"` // file name or URL
	FetchedAt time.Time `json:"fetched_at"`
	Modified  time.Time `json:"modified,omitempty"` // the record's own last-modified
	Hash      string    `json:"hash"`               // sha256 of the record's bytes
}
