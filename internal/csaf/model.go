package csaf

// The document types below are this package's own minimal view of CSAF
// rather than github.com/gocsaf/csaf/v3/csaf's, for three reasons:
//   - gocsaf's Score has no cvss_v4 and its helper no purls (both CSAF 2.1),
//     which Bulwark wants to read;
//   - gocsaf's string types validate themselves with regular expressions in
//     UnmarshalText, so one malformed optional value (a CPE, a CWE id) fails
//     the whole advisory with an error that names no location;
//   - it decodes with encoding/json, which matches member names without
//     regard to case.
// These structs are decoded with go-json-experiment/json, which matches
// names exactly and reports errors with a JSON pointer, after the strict
// pass in strict.go.

type document struct {
	Document        docMeta         `json:"document"`
	ProductTree     *productTree    `json:"product_tree"`
	Vulnerabilities []vulnerability `json:"vulnerabilities"`
}

type docMeta struct {
	Category     string    `json:"category"`
	CSAFVersion  string    `json:"csaf_version"`
	Title        string    `json:"title"`
	Publisher    publisher `json:"publisher"`
	Distribution *struct {
		TLP *struct {
			Label string `json:"label"`
		} `json:"tlp"`
	} `json:"distribution"`
	Tracking tracking `json:"tracking"`
}

type publisher struct {
	Category  string `json:"category"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type tracking struct {
	ID                 string `json:"id"`
	Version            string `json:"version"`
	Status             string `json:"status"`
	CurrentReleaseDate string `json:"current_release_date"`
	InitialReleaseDate string `json:"initial_release_date"`
}

type productTree struct {
	Branches         []branch          `json:"branches"`
	FullProductNames []fullProductName `json:"full_product_names"`
	ProductGroups    []productGroup    `json:"product_groups"`
	Relationships    []relationship    `json:"relationships"`
}

type branch struct {
	Category string           `json:"category"`
	Name     string           `json:"name"`
	Product  *fullProductName `json:"product"`
	Branches []branch         `json:"branches"`
}

type fullProductName struct {
	Name      string  `json:"name"`
	ProductID string  `json:"product_id"`
	Helper    *helper `json:"product_identification_helper"`
}

type helper struct {
	CPE          string   `json:"cpe"`
	PURL         string   `json:"purl"`
	PURLs        []string `json:"purls"` // CSAF 2.1
	ModelNumbers []string `json:"model_numbers"`
	SKUs         []string `json:"skus"`
}

type productGroup struct {
	GroupID    string   `json:"group_id"`
	ProductIDs []string `json:"product_ids"`
}

type relationship struct {
	Category                  string          `json:"category"`
	FullProductName           fullProductName `json:"full_product_name"`
	ProductReference          string          `json:"product_reference"`
	RelatesToProductReference string          `json:"relates_to_product_reference"`
}

type vulnerability struct {
	CVE           string         `json:"cve"`
	Title         string         `json:"title"`
	CWE           *cwe           `json:"cwe"`
	CWEs          []cwe          `json:"cwes"` // CSAF 2.1
	IDs           []vulnID       `json:"ids"`
	Notes         []note         `json:"notes"`
	References    []reference    `json:"references"`
	ReleaseDate   string         `json:"release_date"`
	DiscoveryDate string         `json:"discovery_date"`
	ProductStatus *productStatus `json:"product_status"`
	Remediations  []remediation  `json:"remediations"`
	Scores        []score        `json:"scores"`
}

type cwe struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type vulnID struct {
	SystemName string `json:"system_name"`
	Text       string `json:"text"`
}

type note struct {
	Category string `json:"category"`
	Text     string `json:"text"`
	Title    string `json:"title"`
}

type reference struct {
	Category string `json:"category"`
	Summary  string `json:"summary"`
	URL      string `json:"url"`
}

type productStatus struct {
	FirstAffected      []string `json:"first_affected"`
	FirstFixed         []string `json:"first_fixed"`
	Fixed              []string `json:"fixed"`
	KnownAffected      []string `json:"known_affected"`
	KnownNotAffected   []string `json:"known_not_affected"`
	LastAffected       []string `json:"last_affected"`
	Recommended        []string `json:"recommended"`
	UnderInvestigation []string `json:"under_investigation"`
}

type remediation struct {
	Category   string   `json:"category"`
	Details    string   `json:"details"`
	URL        string   `json:"url"`
	ProductIDs []string `json:"product_ids"`
	GroupIDs   []string `json:"group_ids"`
}

type score struct {
	Products []string `json:"products"`
	CVSSv2   *cvss    `json:"cvss_v2"`
	CVSSv3   *cvss    `json:"cvss_v3"`
	CVSSv4   *cvss    `json:"cvss_v4"`
}

type cvss struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
}
