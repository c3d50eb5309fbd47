package feed

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

type cve5Record struct {
	DataType    string `json:"dataType"`
	DataVersion string `json:"dataVersion"`
	Meta        *struct {
		CVEID         string `json:"cveId"`
		State         string `json:"state"`
		DatePublished string `json:"datePublished"`
		DateUpdated   string `json:"dateUpdated"`
	} `json:"cveMetadata"`
	Containers struct {
		CNA *cve5Container  `json:"cna"`
		ADP []cve5Container `json:"adp"`
	} `json:"containers"`
}

type cve5Container struct {
	ProviderMetadata struct {
		ShortName string `json:"shortName"`
	} `json:"providerMetadata"`
	Descriptions []langValue    `json:"descriptions"`
	Affected     []cve5Affected `json:"affected"`
	Metrics      []cve5Metric   `json:"metrics"`
	ProblemTypes []struct {
		Descriptions []struct {
			CWEID string `json:"cweId"`
		} `json:"descriptions"`
	} `json:"problemTypes"`
	References []struct {
		URL  string   `json:"url"`
		Tags []string `json:"tags"`
	} `json:"references"`
}

type cve5Affected struct {
	Vendor        string        `json:"vendor"`
	Product       string        `json:"product"`
	PackageName   string        `json:"packageName"`
	CPEs          []string      `json:"cpes"`
	Versions      []cve5Version `json:"versions"`
	DefaultStatus string        `json:"defaultStatus"`
}

type cve5Version struct {
	Version         string `json:"version"`
	Status          string `json:"status"`
	VersionType     string `json:"versionType"`
	LessThan        string `json:"lessThan"`
	LessThanOrEqual string `json:"lessThanOrEqual"`
}

type cve5CVSS struct {
	Version      string  `json:"version"`
	VectorString string  `json:"vectorString"`
	BaseScore    float64 `json:"baseScore"`
}

type cve5Metric struct {
	V40   *cve5CVSS `json:"cvssV4_0"`
	V31   *cve5CVSS `json:"cvssV3_1"`
	V30   *cve5CVSS `json:"cvssV3_0"`
	V20   *cve5CVSS `json:"cvssV2_0"`
	Other *struct {
		Type    string         `json:"type"`
		Content jsontext.Value `json:"content"`
	} `json:"other"`
}

type ssvcContent struct {
	Options   []map[string]string `json:"options"`
	Timestamp string              `json:"timestamp"`
}

type kevMarker struct {
	DateAdded string `json:"dateAdded"`
}

// decodeCVE5 maps a CVE 5 record: the CNA's description, CWEs, CVSS,
// references and affected entries, and from each ADP container (CISA's
// Vulnrichment) its CVSS, CWEs, affected entries with CPEs, SSVC decision
// points and KEV marker.
func decodeCVE5(raw []byte, _ envInfo) (bulwark.Vulnerability, *bulwark.Problem, error) {
	var rec cve5Record
	if p := unmarshal(raw, &rec); p != nil {
		return bulwark.Vulnerability{}, p, nil
	}
	if rec.DataType != "CVE_RECORD" {
		return bulwark.Vulnerability{}, problem("/dataType", "is %q, want \"CVE_RECORD\"", rec.DataType), nil
	}
	if rec.Meta == nil {
		return bulwark.Vulnerability{}, problem("/cveMetadata", "missing"), nil
	}
	v := bulwark.Vulnerability{ID: rec.Meta.CVEID}
	if !validCVEID(v.ID) {
		return v, problem("/cveMetadata/cveId", "bad CVE ID %q", v.ID), nil
	}
	if p := parseTimes(
		timeField{"/cveMetadata/datePublished", rec.Meta.DatePublished, &v.Published},
		timeField{"/cveMetadata/dateUpdated", rec.Meta.DateUpdated, &v.Modified},
	); p != nil {
		return v, p, nil
	}
	if rec.Containers.CNA == nil && rec.Meta.State == "PUBLISHED" {
		return v, problem("/containers/cna", "missing in a published record"), nil
	}
	if cna := rec.Containers.CNA; cna != nil {
		v.Description = english(cna.Descriptions)
		if p := mapCVE5Container(&v, cna, "/containers/cna"); p != nil {
			return v, p, nil
		}
	}
	for i := range rec.Containers.ADP {
		if p := mapCVE5Container(&v, &rec.Containers.ADP[i], "/containers/adp/"+strconv.Itoa(i)); p != nil {
			return v, p, nil
		}
	}
	return v, nil, nil
}

func mapCVE5Container(v *bulwark.Vulnerability, c *cve5Container, at string) *bulwark.Problem {
	who := c.ProviderMetadata.ShortName
	for _, pt := range c.ProblemTypes {
		for _, d := range pt.Descriptions {
			v.CWEs = addCWE(v.CWEs, d.CWEID)
		}
	}
	for _, r := range c.References {
		v.References = append(v.References, bulwark.Reference{URL: r.URL, Tags: nonEmpty(r.Tags)})
	}
	for i, m := range c.Metrics {
		mat := at + "/metrics/" + strconv.Itoa(i)
		for _, s := range []struct {
			name, version string
			cvss          *cve5CVSS
		}{{"cvssV4_0", "4.0", m.V40}, {"cvssV3_1", "3.1", m.V31}, {"cvssV3_0", "3.0", m.V30}, {"cvssV2_0", "2.0", m.V20}} {
			if s.cvss == nil {
				continue
			}
			if s.cvss.Version != s.version {
				return problem(mat+"/"+s.name+"/version", "version %q in %s", s.cvss.Version, s.name)
			}
			v.CVSS = append(v.CVSS, bulwark.CVSS{Version: s.version, Vector: s.cvss.VectorString, BaseScore: s.cvss.BaseScore, Source: who})
		}
		if m.Other == nil {
			continue
		}
		switch m.Other.Type {
		case "ssvc":
			var sc ssvcContent
			if p := unmarshal(m.Other.Content, &sc); p != nil {
				p.Field = mat + "/other/content" + p.Field
				return p
			}
			pts := &bulwark.SSVCPoints{}
			for _, opt := range sc.Options {
				for k, val := range opt {
					switch k {
					case "Exploitation":
						pts.Exploitation = val
					case "Automatable":
						pts.Automatable = val
					case "Technical Impact":
						pts.TechnicalImpact = val
					}
				}
			}
			if p := parseTimes(timeField{mat + "/other/content/timestamp", sc.Timestamp, &pts.Timestamp}); p != nil {
				return p
			}
			v.ADP = pts
		case "kev":
			var km kevMarker
			if p := unmarshal(m.Other.Content, &km); p != nil {
				p.Field = mat + "/other/content" + p.Field
				return p
			}
			k := &bulwark.KEVEntry{}
			if p := parseTimes(timeField{mat + "/other/content/dateAdded", km.DateAdded, &k.DateAdded}); p != nil {
				return p
			}
			v.KEV = k
		}
	}
	for i, a := range c.Affected {
		aps, p := mapCVE5Affected(a, at+"/affected/"+strconv.Itoa(i), who)
		if p != nil {
			return p
		}
		v.Affected = append(v.Affected, aps...)
	}
	return nil
}

// cve5Status maps a CVE 5 status; "unknown" (and absent) says nothing.
func cve5Status(s string) (bulwark.ProductStatus, bool, error) {
	switch s {
	case "affected":
		return bulwark.StatusAffected, true, nil
	case "unaffected":
		return bulwark.StatusNotAffected, true, nil
	case "unknown", "":
		return "", false, nil
	}
	return "", false, fmt.Errorf("unknown status %q", s)
}

// mapCVE5Affected turns one affected entry into product statements, one
// per version with a known status: Version plus Range "<X" or "<=X" in
// CVE 5's own terms. An entry whose defaultStatus says something adds a
// statement with Range "*" for the versions the list does not name.
// CISA's ADP lists one CPE per version (the range's first version) rather
// than CPEs to combine with every version (the cross product reaches
// millions of statements for some records), so each statement gets the
// CPE whose version is its own, or the entry's version-ANY CPE.
func mapCVE5Affected(a cve5Affected, at, who string) ([]bulwark.AffectedProduct, *bulwark.Problem) {
	product := a.Product
	if product == "" {
		product = a.PackageName
	}
	base := bulwark.AffectedProduct{Vendor: a.Vendor, Product: product, Source: who}
	var out []bulwark.AffectedProduct
	for i, ver := range a.Versions {
		st, ok, err := cve5Status(ver.Status)
		if err != nil {
			return nil, problem(fmt.Sprintf("%s/versions/%d/status", at, i), "%v", err)
		}
		if !ok {
			continue
		}
		ap := base
		ap.Status = st
		ap.Version = ver.Version
		ap.VersionType = ver.VersionType
		ap.CPE = productCPE(a.CPEs, ver.Version)
		switch {
		case ver.LessThan != "" && ver.LessThanOrEqual != "":
			return nil, problem(fmt.Sprintf("%s/versions/%d", at, i), "both lessThan and lessThanOrEqual")
		case ver.LessThan != "":
			ap.Range = "<" + ver.LessThan
		case ver.LessThanOrEqual != "":
			ap.Range = "<=" + ver.LessThanOrEqual
		}
		out = append(out, ap)
	}
	st, ok, err := cve5Status(a.DefaultStatus)
	if err != nil {
		return nil, problem(at+"/defaultStatus", "%v", err)
	}
	if ok {
		ap := base
		ap.Status = st
		ap.Range = "*"
		ap.CPE = productCPE(a.CPEs, "*")
		out = append(out, ap)
	}
	return out, nil
}

// productCPE picks the CPE of cpes whose version component is version,
// else one whose version is ANY, else none: a CPE naming another version
// would contradict the statement.
func productCPE(cpes []string, version string) string {
	for _, want := range []string{version, "*"} {
		for _, c := range cpes {
			if parts := strings.SplitN(c, ":", 7); len(parts) == 7 && parts[5] == want {
				return c
			}
		}
	}
	return ""
}
