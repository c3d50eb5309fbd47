package feed

import (
	"fmt"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/jsonptr"
)

// ---- NVD JSON 1.1 ----

func stringMember(want string) func(*envInfo, jsontext.Value) string {
	return func(_ *envInfo, v jsontext.Value) string {
		if v.Kind() != '"' {
			return fmt.Sprintf("is a JSON %s, want a string", jsonptr.KindName(v.Kind()))
		}
		if want != "" {
			var s string
			if p := unmarshal(v, &s); p != nil || s != want {
				return fmt.Sprintf("is %s, want %q", v, want)
			}
		}
		return ""
	}
}

func anyMember(*envInfo, jsontext.Value) string { return "" }

var nvd11Envelope = envelope{
	kind:  "an NVD 1.1 feed",
	array: "CVE_Items",
	header: map[string]func(*envInfo, jsontext.Value) string{
		"CVE_data_type":         stringMember("CVE"),
		"CVE_data_format":       stringMember("MITRE"),
		"CVE_data_version":      stringMember(""),
		"CVE_data_numberOfCVEs": stringMember(""),
		"CVE_data_timestamp":    stringMember(""),
	},
}

type nvd11Item struct {
	CVE struct {
		Meta struct {
			ID string `json:"ID"`
		} `json:"CVE_data_meta"`
		ProblemType struct {
			Data []struct {
				Description []langValue `json:"description"`
			} `json:"problemtype_data"`
		} `json:"problemtype"`
		References struct {
			Data []struct {
				URL  string   `json:"url"`
				Tags []string `json:"tags"`
			} `json:"reference_data"`
		} `json:"references"`
		Description struct {
			Data []langValue `json:"description_data"`
		} `json:"description"`
	} `json:"cve"`
	Configurations struct {
		Nodes []nvd11Node `json:"nodes"`
	} `json:"configurations"`
	Impact struct {
		V3 *struct {
			CVSS nvdCVSSData `json:"cvssV3"`
		} `json:"baseMetricV3"`
		V2 *struct {
			CVSS nvdCVSSData `json:"cvssV2"`
		} `json:"baseMetricV2"`
	} `json:"impact"`
	Published    string `json:"publishedDate"`
	LastModified string `json:"lastModifiedDate"`
}

type nvd11Node struct {
	Operator string       `json:"operator"`
	Negate   bool         `json:"negate"`
	Children []nvd11Node  `json:"children"`
	CPEMatch []nvd11Match `json:"cpe_match"`
}

type nvd11Match struct {
	Vulnerable            bool   `json:"vulnerable"`
	CPE23URI              string `json:"cpe23Uri"`
	VersionStartIncluding string `json:"versionStartIncluding"`
	VersionStartExcluding string `json:"versionStartExcluding"`
	VersionEndIncluding   string `json:"versionEndIncluding"`
	VersionEndExcluding   string `json:"versionEndExcluding"`
}

type nvdCVSSData struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
}

const nvdSource = "nvd@nist.gov"

func decodeNVD11(raw []byte, _ envInfo) (bulwark.Vulnerability, *bulwark.Problem, error) {
	var it nvd11Item
	if p := unmarshal(raw, &it); p != nil {
		return bulwark.Vulnerability{}, p, nil
	}
	v := bulwark.Vulnerability{ID: it.CVE.Meta.ID}
	if !validCVEID(v.ID) {
		return v, problem("/cve/CVE_data_meta/ID", "bad CVE ID %q", v.ID), nil
	}
	if p := parseTimes(
		timeField{"/publishedDate", it.Published, &v.Published},
		timeField{"/lastModifiedDate", it.LastModified, &v.Modified},
	); p != nil {
		return v, p, nil
	}
	v.Description = english(it.CVE.Description.Data)
	for _, pt := range it.CVE.ProblemType.Data {
		for _, d := range pt.Description {
			v.CWEs = addCWE(v.CWEs, d.Value)
		}
	}
	for _, r := range it.CVE.References.Data {
		v.References = append(v.References, bulwark.Reference{URL: r.URL, Tags: nonEmpty(r.Tags)})
	}
	if m := it.Impact.V3; m != nil {
		if m.CVSS.Version != "3.0" && m.CVSS.Version != "3.1" {
			return v, problem("/impact/baseMetricV3/cvssV3/version", "unknown CVSS version %q", m.CVSS.Version), nil
		}
		v.CVSS = append(v.CVSS, bulwark.CVSS{Version: m.CVSS.Version, Vector: m.CVSS.VectorString, BaseScore: m.CVSS.BaseScore, Source: nvdSource, Primary: true})
	}
	if m := it.Impact.V2; m != nil {
		v.CVSS = append(v.CVSS, bulwark.CVSS{Version: "2.0", Vector: m.CVSS.VectorString, BaseScore: m.CVSS.BaseScore, Source: nvdSource, Primary: true})
	}
	for i, n := range it.Configurations.Nodes {
		node, p := mapNVD11Node(n, "/configurations/nodes/"+strconv.Itoa(i))
		if p != nil {
			return v, p, nil
		}
		v.Configurations = append(v.Configurations, node)
	}
	return v, nil, nil
}

func mapNVD11Node(n nvd11Node, at string) (bulwark.Node, *bulwark.Problem) {
	op, ok := operator(n.Operator)
	if !ok {
		return bulwark.Node{}, problem(at+"/operator", "unknown operator %q", n.Operator)
	}
	node := bulwark.Node{Operator: op, Negate: n.Negate}
	for i, m := range n.CPEMatch {
		if !validCPE(m.CPE23URI) {
			return node, problem(fmt.Sprintf("%s/cpe_match/%d/cpe23Uri", at, i), "not a CPE 2.3 name: %q", m.CPE23URI)
		}
		node.Matches = append(node.Matches, bulwark.CPEMatch{
			Vulnerable:            m.Vulnerable,
			Criteria:              m.CPE23URI,
			VersionStartIncluding: m.VersionStartIncluding,
			VersionStartExcluding: m.VersionStartExcluding,
			VersionEndIncluding:   m.VersionEndIncluding,
			VersionEndExcluding:   m.VersionEndExcluding,
		})
	}
	for i, c := range n.Children {
		child, p := mapNVD11Node(c, at+"/children/"+strconv.Itoa(i))
		if p != nil {
			return node, p
		}
		node.Children = append(node.Children, child)
	}
	return node, nil
}

// operator maps an NVD operator; absent means OR.
func operator(s string) (bulwark.Operator, bool) {
	switch s {
	case "", "OR":
		return bulwark.OR, true
	case "AND":
		return bulwark.AND, true
	}
	return "", false
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// ---- NVD CVE API 2.0 ----

var nvd20Envelope = envelope{
	kind:  "an NVD CVE API 2.0 response",
	array: "vulnerabilities",
	header: map[string]func(*envInfo, jsontext.Value) string{
		"resultsPerPage": anyMember,
		"startIndex":     anyMember,
		"totalResults":   anyMember,
		"format":         stringMember("NVD_CVE"),
		"version":        stringMember(""),
		"timestamp":      stringMember(""),
	},
}

type nvd20Item struct {
	CVE *nvd20CVE `json:"cve"`
}

type nvd20CVE struct {
	ID                    string      `json:"id"`
	Published             string      `json:"published"`
	LastModified          string      `json:"lastModified"`
	VulnStatus            string      `json:"vulnStatus"`
	Descriptions          []langValue `json:"descriptions"`
	CISAExploitAdd        string      `json:"cisaExploitAdd"`
	CISAActionDue         string      `json:"cisaActionDue"`
	CISARequiredAction    string      `json:"cisaRequiredAction"`
	CISAVulnerabilityName string      `json:"cisaVulnerabilityName"`
	Metrics               struct {
		V40 []nvd20Metric `json:"cvssMetricV40"`
		V31 []nvd20Metric `json:"cvssMetricV31"`
		V30 []nvd20Metric `json:"cvssMetricV30"`
		V2  []nvd20Metric `json:"cvssMetricV2"`
	} `json:"metrics"`
	Weaknesses []struct {
		Description []langValue `json:"description"`
	} `json:"weaknesses"`
	Configurations []nvd20Config `json:"configurations"`
	References     []struct {
		URL  string   `json:"url"`
		Tags []string `json:"tags"`
	} `json:"references"`
}

type nvd20Metric struct {
	Source   string      `json:"source"`
	Type     string      `json:"type"`
	CVSSData nvdCVSSData `json:"cvssData"`
}

type nvd20Config struct {
	Operator string      `json:"operator"`
	Negate   bool        `json:"negate"`
	Nodes    []nvd20Node `json:"nodes"`
}

type nvd20Node struct {
	Operator string       `json:"operator"`
	Negate   bool         `json:"negate"`
	CPEMatch []nvd20Match `json:"cpeMatch"`
}

type nvd20Match struct {
	Vulnerable            bool   `json:"vulnerable"`
	Criteria              string `json:"criteria"`
	MatchCriteriaID       string `json:"matchCriteriaId"`
	VersionStartIncluding string `json:"versionStartIncluding"`
	VersionStartExcluding string `json:"versionStartExcluding"`
	VersionEndIncluding   string `json:"versionEndIncluding"`
	VersionEndExcluding   string `json:"versionEndExcluding"`
}

func decodeNVD20(raw []byte, _ envInfo) (bulwark.Vulnerability, *bulwark.Problem, error) {
	var it nvd20Item
	if p := unmarshal(raw, &it); p != nil {
		return bulwark.Vulnerability{}, p, nil
	}
	if it.CVE == nil {
		return bulwark.Vulnerability{}, problem("/cve", "missing"), nil
	}
	c := it.CVE
	v := bulwark.Vulnerability{ID: c.ID}
	if !validCVEID(v.ID) {
		return v, problem("/cve/id", "bad CVE ID %q", v.ID), nil
	}
	if p := parseTimes(
		timeField{"/cve/published", c.Published, &v.Published},
		timeField{"/cve/lastModified", c.LastModified, &v.Modified},
	); p != nil {
		return v, p, nil
	}
	v.Description = english(c.Descriptions)
	for _, w := range c.Weaknesses {
		for _, d := range w.Description {
			v.CWEs = addCWE(v.CWEs, d.Value)
		}
	}
	for _, r := range c.References {
		v.References = append(v.References, bulwark.Reference{URL: r.URL, Tags: nonEmpty(r.Tags)})
	}
	for _, group := range []struct {
		name    string
		version string
		ms      []nvd20Metric
	}{
		{"cvssMetricV40", "4.0", c.Metrics.V40},
		{"cvssMetricV31", "3.1", c.Metrics.V31},
		{"cvssMetricV30", "3.0", c.Metrics.V30},
		{"cvssMetricV2", "2.0", c.Metrics.V2},
	} {
		for i, m := range group.ms {
			if m.CVSSData.Version != group.version {
				return v, problem(fmt.Sprintf("/cve/metrics/%s/%d/cvssData/version", group.name, i), "version %q in %s", m.CVSSData.Version, group.name), nil
			}
			v.CVSS = append(v.CVSS, bulwark.CVSS{
				Version:   group.version,
				Vector:    m.CVSSData.VectorString,
				BaseScore: m.CVSSData.BaseScore,
				Source:    m.Source,
				Primary:   m.Type == "Primary",
			})
		}
	}
	cfgs, p := mapNVD20Configs(c.Configurations, "/cve/configurations/")
	if p != nil {
		return v, p, nil
	}
	v.Configurations = cfgs
	if c.CISAExploitAdd != "" {
		k := &bulwark.KEVEntry{Name: c.CISAVulnerabilityName, RequiredAction: c.CISARequiredAction}
		if p := parseTimes(
			timeField{"/cve/cisaExploitAdd", c.CISAExploitAdd, &k.DateAdded},
			timeField{"/cve/cisaActionDue", c.CISAActionDue, &k.DueDate},
		); p != nil {
			return v, p, nil
		}
		v.KEV = k
	}
	return v, nil, nil
}

// mapNVD20Configs maps 2.0 configurations: each becomes one Node whose
// Children are its nodes, so that a configuration's AND over "firmware
// node" and "hardware node" survives.
func mapNVD20Configs(cfgs []nvd20Config, at string) ([]bulwark.Node, *bulwark.Problem) {
	var out []bulwark.Node
	for i, cfg := range cfgs {
		cat := at + strconv.Itoa(i)
		op, ok := operator(cfg.Operator)
		if !ok {
			return nil, problem(cat+"/operator", "unknown operator %q", cfg.Operator)
		}
		root := bulwark.Node{Operator: op, Negate: cfg.Negate}
		for j, n := range cfg.Nodes {
			nat := cat + "/nodes/" + strconv.Itoa(j)
			op, ok := operator(n.Operator)
			if !ok {
				return nil, problem(nat+"/operator", "unknown operator %q", n.Operator)
			}
			node := bulwark.Node{Operator: op, Negate: n.Negate}
			for k, m := range n.CPEMatch {
				if !validCPE(m.Criteria) {
					return nil, problem(fmt.Sprintf("%s/cpeMatch/%d/criteria", nat, k), "not a CPE 2.3 name: %q", m.Criteria)
				}
				node.Matches = append(node.Matches, bulwark.CPEMatch{
					Vulnerable:            m.Vulnerable,
					Criteria:              m.Criteria,
					MatchCriteriaID:       m.MatchCriteriaID,
					VersionStartIncluding: m.VersionStartIncluding,
					VersionStartExcluding: m.VersionStartExcluding,
					VersionEndIncluding:   m.VersionEndIncluding,
					VersionEndExcluding:   m.VersionEndExcluding,
				})
			}
			root.Children = append(root.Children, node)
		}
		out = append(out, root)
	}
	return out, nil
}

// ---- Anchore NVD overrides ----

type anchoreItem struct {
	Annotation *struct {
		CVEID     string `json:"cve_id"`
		Modified  string `json:"modified"`
		Published string `json:"published"`
	} `json:"_annotation"`
	CVE *struct {
		Configurations []nvd20Config `json:"configurations"`
		References     []struct {
			URL  string   `json:"url"`
			Tags []string `json:"tags"`
		} `json:"references"`
	} `json:"cve"`
}

// decodeAnchore maps one override. Anchore speaks only about
// applicability, so the record carries the ID, the configurations and
// Anchore's references; the override's own modification time goes into
// the provenance, not into the vulnerability.
func decodeAnchore(raw []byte, _ envInfo) (bulwark.Vulnerability, *bulwark.Problem, error) {
	var it anchoreItem
	if p := unmarshal(raw, &it); p != nil {
		return bulwark.Vulnerability{}, p, nil
	}
	if it.Annotation == nil {
		return bulwark.Vulnerability{}, problem("/_annotation", "missing"), nil
	}
	if it.CVE == nil {
		return bulwark.Vulnerability{}, problem("/cve", "missing"), nil
	}
	v := bulwark.Vulnerability{ID: it.Annotation.CVEID}
	if !validCVEID(v.ID) {
		return v, problem("/_annotation/cve_id", "bad CVE ID %q", v.ID), nil
	}
	var modified, published time.Time
	if p := parseTimes(
		timeField{"/_annotation/modified", it.Annotation.Modified, &modified},
		timeField{"/_annotation/published", it.Annotation.Published, &published},
	); p != nil {
		return v, p, nil
	}
	cfgs, p := mapNVD20Configs(it.CVE.Configurations, "/cve/configurations/")
	if p != nil {
		return v, p, nil
	}
	v.Configurations = cfgs
	for _, r := range it.CVE.References {
		v.References = append(v.References, bulwark.Reference{URL: r.URL, Tags: nonEmpty(r.Tags)})
	}
	v.Sources = []bulwark.Provenance{{Modified: modified}}
	return v, nil, nil
}
