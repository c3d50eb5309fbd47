package bulwark

import (
	"context"
	"slices"
	"strings"
	"time"
)

// VulnRecord is what one source says about one vulnerability: the unit a
// feed import stores. Key names the source uniquely for this
// vulnerability ("nvd", "kev", "epss", "cve5", "anchore", or
// "csaf:<advisory id>" since many advisories may speak of one CVE); a
// re-import of the same Key replaces that record only.
type VulnRecord struct {
	Key  string
	Vuln Vulnerability // only what this source says; Sources holds its provenance
}

// FeedStats counts what a feed import did to the stored records.
type FeedStats struct {
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"` // same content hash as stored
	Older     int64 `json:"older"`     // stored record is newer (kept)
}

// FeedTx receives the records of one feed document. Nothing is visible
// until Commit; Rollback stores nothing, so a document that turns out to be
// malformed halfway leaves the store as it was.
type FeedTx interface {
	PutRecords(ctx context.Context, recs []VulnRecord) error
	Commit(ctx context.Context) (FeedStats, error)
	Rollback() error
}

// VulnSummary is one line of a vulnerability listing.
type VulnSummary struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	CVSS        float64   `json:"cvss"` // highest base score of any version
	KEV         bool      `json:"kev"`
	KEVDue      time.Time `json:"kev_due,omitzero"`
	EPSS        float64   `json:"epss"`
	Modified    time.Time `json:"modified,omitzero"`
	Sources     []string  `json:"sources"`
}

// VulnFilter selects vulnerabilities.
type VulnFilter struct {
	Limit int
	After string
	Query string // substring of the ID or description
	KEV   bool   // only those in KEV
}

// FeedSource summarizes what is stored from one source.
type FeedSource struct {
	Source       string    `json:"source"`
	Records      int64     `json:"records"`
	LastFetched  time.Time `json:"last_fetched,omitzero"`
	LastModified time.Time `json:"last_modified,omitzero"`
}

// FindingFilter selects findings.
type FindingFilter struct {
	Limit    int
	After    string // cursor: "asset_id\x00vuln_id" of the last item seen
	Owner    string
	Asset    string
	Vuln     string
	Status   FindingStatus
	Decision SSVCDecision
	KEV      bool // only findings of vulnerabilities in KEV
	Open     bool // open or in remediation: what still needs action
	// Sort "priority" orders by urgency (KEV first, then SSVC decision,
	// then due date) with After as a numeric offset; default is by asset
	// and vulnerability ID with a keyset cursor.
	Sort string
}

// FindingChange is a lifecycle step an owner takes on a finding.
type FindingChange struct {
	Status FindingStatus
	Note   string
	// For accepted: who accepts the risk, why, and until when.
	AcceptedBy string
	Until      time.Time
}

// FindingEvent is one entry of a finding's history.
type FindingEvent struct {
	At    time.Time     `json:"at"`
	Actor string        `json:"actor"`
	From  FindingStatus `json:"from,omitempty"`
	To    FindingStatus `json:"to"`
	Note  string        `json:"note,omitempty"`
}

// FindingSync is the outcome of one matching run, to be reconciled with the
// stored findings. Scope says what was evaluated: everything (Full), or only
// the listed vulnerabilities or assets; stored findings inside the scope
// that were not matched again are closed.
type FindingSync struct {
	Full    bool
	Vulns   []string
	Assets  []string
	Matches []Finding
	At      time.Time
	// Due, when set, gives a finding's deadline from when it was first
	// seen (stored, or At for a new finding), so that deadlines count from
	// detection rather than from each run. Without it, Matches' Due is used.
	Due func(f *Finding, firstSeen time.Time) time.Time
}

// SyncStats counts what a FindingSync changed.
type SyncStats struct {
	New       int64 `json:"new"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Closed    int64 `json:"closed"`   // no longer matched: fixed (or verified when already marked fixed)
	Reopened  int64 `json:"reopened"` // acceptance expired
}

// VulnStore persists vulnerability records and findings. Vulnerabilities
// are public intelligence, readable by every authenticated caller; only
// the System principal and administrators of a city-purview organization
// import feeds. Findings belong to the asset's owner and are scoped like
// the city model.
type VulnStore interface {
	BeginFeed(ctx context.Context) (FeedTx, error)
	// FindVulnerability returns the merged view of every stored record.
	FindVulnerability(ctx context.Context, id string) (*Vulnerability, error)
	ListVulnerabilities(ctx context.Context, f VulnFilter) (Page[VulnSummary], error)
	// EachVulnerability streams the merged vulnerabilities whose records
	// changed after feed version since (0: all), and returns the feed
	// version it read at.
	EachVulnerability(ctx context.Context, since int64, fn func(*Vulnerability) error) (int64, error)
	FeedVersion(ctx context.Context) (int64, error)
	FeedSources(ctx context.Context) ([]FeedSource, error)

	SyncFindings(ctx context.Context, s FindingSync) (SyncStats, error)
	ListFindings(ctx context.Context, f FindingFilter) (Page[Finding], error)
	FindFinding(ctx context.Context, assetID, vulnID string) (*Finding, error)
	UpdateFinding(ctx context.Context, assetID, vulnID string, c FindingChange) (*Finding, error)
	FindingHistory(ctx context.Context, assetID, vulnID string) ([]FindingEvent, error)
	// TallyFindings counts the findings f selects (its paging and sort are
	// ignored) per asset, SSVC decision, KEV and overdue at now, and the
	// distinct (vulnerability, owner) pairs among them — what summaries,
	// charts and advisory counts need without reading every finding.
	TallyFindings(ctx context.Context, f FindingFilter, now time.Time) (tallies []FindingTally, pairs int64, err error)
}

// FindingTally is a count of findings of one asset with one decision.
type FindingTally struct {
	AssetID  string
	Owner    string
	Decision SSVCDecision
	KEV      bool
	Overdue  bool
	Count    int64
}

// sourceRank orders sources for fields that only one may fill: NVD is the
// authority on applicability and descriptions, then the CVE record, then
// anything else.
func sourceRank(key string) int {
	switch {
	case key == "nvd":
		return 0
	case key == "cve5":
		return 1
	case key == "anchore":
		return 2
	case strings.HasPrefix(key, "csaf:"):
		return 3
	}
	return 4
}

// MergeVulnerability combines what several sources say about one
// vulnerability: single-valued fields come from the most authoritative
// source that has them (NVD, then the CVE record, then others); lists are
// concatenated without duplicates. NVD's configurations are used alone
// when present; otherwise those of the next source that has any (Anchore's
// overrides fill NVD's backlog). KEV, EPSS and ADP come from whichever
// source carries them.
func MergeVulnerability(recs []VulnRecord) *Vulnerability {
	slices.SortStableFunc(recs, func(a, b VulnRecord) int {
		if d := sourceRank(a.Key) - sourceRank(b.Key); d != 0 {
			return d
		}
		return strings.Compare(a.Key, b.Key)
	})
	out := &Vulnerability{}
	for i := range recs {
		v := &recs[i].Vuln
		if out.ID == "" {
			out.ID = v.ID
		}
		if out.Description == "" {
			out.Description = v.Description
		}
		if !v.Published.IsZero() && (out.Published.IsZero() || v.Published.Before(out.Published)) {
			out.Published = v.Published
		}
		if v.Modified.After(out.Modified) {
			out.Modified = v.Modified
		}
		if len(out.Configurations) == 0 {
			out.Configurations = v.Configurations
		}
		if out.KEV == nil {
			out.KEV = v.KEV
		}
		if out.EPSS == nil {
			out.EPSS = v.EPSS
		}
		if out.ADP == nil {
			out.ADP = v.ADP
		}
		out.Aliases = appendNew(out.Aliases, v.Aliases...)
		out.CWEs = appendNew(out.CWEs, v.CWEs...)
		for _, c := range v.CVSS {
			if !slices.ContainsFunc(out.CVSS, func(o CVSS) bool { return o.Vector == c.Vector && o.Source == c.Source }) {
				out.CVSS = append(out.CVSS, c)
			}
		}
		for _, r := range v.References {
			if !slices.ContainsFunc(out.References, func(o Reference) bool { return o.URL == r.URL }) {
				out.References = append(out.References, r)
			}
		}
		out.Affected = append(out.Affected, v.Affected...)
		out.Remediations = append(out.Remediations, v.Remediations...)
		out.Sources = append(out.Sources, v.Sources...)
	}
	return out
}

func appendNew(list []string, add ...string) []string {
	for _, s := range add {
		if s != "" && !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

// MaxCVSS is the highest base score of any CVSS version.
func (v *Vulnerability) MaxCVSS() float64 {
	m := 0.0
	for _, c := range v.CVSS {
		m = max(m, c.BaseScore)
	}
	return m
}

// SBOM is a CycloneDX bill of materials attached to an asset: its
// components are matched as software (or hardware) the asset carries, and
// its VEX statements that a vulnerability does not affect the asset
// suppress those findings.
type SBOM struct {
	AssetID     string      `json:"asset_id"`
	Owner       string      `json:"owner"`
	Document    string      `json:"document"`
	Serial      string      `json:"serial,omitempty"`
	SpecVersion string      `json:"spec_version"`
	Hash        string      `json:"hash"` // sha256 of the document
	AttachedAt  time.Time   `json:"attached_at"`
	Components  []Component `json:"components"`
	// NotAffected lists vulnerabilities the BOM's VEX says do not affect
	// the asset (not_affected or false_positive).
	NotAffected []string `json:"not_affected,omitempty"`
}

// Component is one component of an SBOM.
type Component struct {
	Ref      string `json:"ref,omitempty"`
	Type     string `json:"type,omitempty"`
	Group    string `json:"group,omitempty"`
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	CPE      string `json:"cpe,omitempty"`
	PURL     string `json:"purl,omitempty"`
	Supplier string `json:"supplier,omitempty"`
}

// SBOMStore keeps the SBOMs attached to assets, scoped like the assets.
type SBOMStore interface {
	// PutSBOM attaches (or replaces) the SBOM of an asset the caller owns.
	PutSBOM(ctx context.Context, s *SBOM) error
	FindSBOM(ctx context.Context, assetID string) (*SBOM, error)
	// EachSBOM streams the SBOMs the caller may see.
	EachSBOM(ctx context.Context, fn func(*SBOM) error) error
}
