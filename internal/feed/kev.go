package feed

import (
	"fmt"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

var kevEnvelope = envelope{
	kind:  "a CISA KEV catalog",
	array: "vulnerabilities",
	header: map[string]func(*envInfo, jsontext.Value) string{
		"title": stringMember(""),
		"count": anyMember,
		"catalogVersion": func(env *envInfo, v jsontext.Value) string {
			if p := unmarshal(v, &env.catalogVersion); p != nil {
				return p.Message
			}
			return ""
		},
		"dateReleased": func(env *envInfo, v jsontext.Value) string {
			var s string
			if p := unmarshal(v, &s); p != nil {
				return p.Message
			}
			t, err := parseTime(s)
			if err != nil {
				return err.Error()
			}
			env.released = t
			return ""
		},
	},
}

type kevItem struct {
	CVEID             string   `json:"cveID"`
	VendorProject     string   `json:"vendorProject"`
	Product           string   `json:"product"`
	VulnerabilityName string   `json:"vulnerabilityName"`
	DateAdded         string   `json:"dateAdded"`
	ShortDescription  string   `json:"shortDescription"`
	RequiredAction    string   `json:"requiredAction"`
	DueDate           string   `json:"dueDate"`
	Ransomware        string   `json:"knownRansomwareCampaignUse"`
	Notes             string   `json:"notes"`
	CWEs              []string `json:"cwes"`
}

// decodeKEV maps one catalog entry to Vulnerability{ID, KEV}. The catalog
// version is known to an entry only when the envelope names it before the
// vulnerabilities array, as CISA's file does.
func decodeKEV(raw []byte, env envInfo) (bulwark.Vulnerability, *bulwark.Problem, error) {
	var it kevItem
	if p := unmarshal(raw, &it); p != nil {
		return bulwark.Vulnerability{}, p, nil
	}
	v := bulwark.Vulnerability{ID: it.CVEID}
	if !validCVEID(v.ID) {
		return v, problem("/cveID", "bad CVE ID %q", v.ID), nil
	}
	k := &bulwark.KEVEntry{
		VendorProject:    it.VendorProject,
		Product:          it.Product,
		Name:             it.VulnerabilityName,
		RequiredAction:   it.RequiredAction,
		Notes:            it.Notes,
		ShortDescription: it.ShortDescription,
		CatalogVersion:   env.catalogVersion,
		CWEs:             nonEmpty(it.CWEs),
	}
	if it.DateAdded == "" {
		return v, problem("/dateAdded", "missing"), nil
	}
	if p := parseTimes(
		timeField{"/dateAdded", it.DateAdded, &k.DateAdded},
		timeField{"/dueDate", it.DueDate, &k.DueDate},
	); p != nil {
		return v, p, nil
	}
	switch it.Ransomware {
	case "Known":
		k.KnownRansomware = true
	case "Unknown", "":
	default:
		return v, problem("/knownRansomwareCampaignUse", "%s", fmt.Sprintf("is %q, want \"Known\" or \"Unknown\"", it.Ransomware)), nil
	}
	v.KEV = k
	return v, nil, nil
}
