package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"bulwark"
)

var fetched = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// readAll reads a file or bytes with Read and collects everything.
func readAll(t testing.TB, name string, data []byte, opts Options) ([]Record, Stats, []bulwark.Problem, error) {
	t.Helper()
	if opts.FetchedAt.IsZero() {
		opts.FetchedAt = fetched
	}
	var recs []Record
	st, probs, err := Read(context.Background(), name, bytes.NewReader(data), opts, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, st, probs, err
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func byID(recs []Record) map[string]bulwark.Vulnerability {
	m := map[string]bulwark.Vulnerability{}
	for _, r := range recs {
		m[r.Vuln.ID] = r.Vuln
	}
	return m
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Format
	}{
		{"nvd11 fixture", fixture(t, "nvd11.json"), FormatNVD11},
		{"nvd20 fixture", fixture(t, "nvd20.json"), FormatNVD20},
		{"anchore fixture", fixture(t, "anchore.jsonl"), FormatAnchore},
		{"cve5 lines", fixture(t, "cve5.jsonl"), FormatCVE5Lines},
		{"cve5 pretty document", fixture(t, "cve5-basic-example.json"), FormatCVE5},
		{"kev fixture", fixture(t, "kev.json"), FormatKEV},
		{"epss with comment", fixture(t, "epss.csv"), FormatEPSS},
		{"epss without comment", []byte("cve,epss,percentile\nCVE-2024-0001,0.1,0.2\n"), FormatEPSS},
		{"csaf", []byte(`{"document":{"category":"csaf_security_advisory","csaf_version":"2.0"},"product_tree":{}}`), FormatCSAF},
		{"cyclonedx", []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[]}`), FormatCycloneDX},
		{"cut inside the header", fixture(t, "nvd11.json")[:40], FormatNVD11},
		{"description mentioning CVE_Items", []byte(`{"title":"CVE_Items","x":1}`), FormatUnknown},
		{"case variant", []byte(`{"cve_items":[]}`), FormatUnknown},
		{"empty", nil, FormatUnknown},
		{"array", []byte(`[1,2]`), FormatUnknown},
		{"binary", []byte{0, 1, 2, 0xff}, FormatUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peek := tt.data
			if len(peek) > peekSize {
				peek = peek[:peekSize]
			}
			if got := Detect(peek); got != tt.want {
				t.Errorf("Detect = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFormatString(t *testing.T) {
	for f := FormatUnknown; f <= FormatCycloneDX; f++ {
		got, ok := ParseFormat(f.String())
		if !ok || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, ok)
		}
	}
}

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkProvenance asserts the invariants every record keeps.
func checkProvenance(t testing.TB, recs []Record, source, doc string) {
	t.Helper()
	for _, r := range recs {
		if !validCVEID(r.Vuln.ID) {
			t.Errorf("%s: bad ID %q", r.Path, r.Vuln.ID)
		}
		if len(r.Vuln.Sources) != 1 {
			t.Fatalf("%s: %d sources, want 1", r.Vuln.ID, len(r.Vuln.Sources))
		}
		p := r.Vuln.Sources[0]
		if p.Source != source || p.Document != doc || !p.FetchedAt.Equal(fetched) || !hexHash.MatchString(p.Hash) {
			t.Errorf("%s: provenance %+v", r.Vuln.ID, p)
		}
	}
}

func TestReadNVD11Fixture(t *testing.T) {
	recs, st, probs, err := readAll(t, "/some/dir/nvd11.json", fixture(t, "nvd11.json"), Options{})
	if err != nil || len(probs) != 0 {
		t.Fatalf("err %v, problems %v", err, probs)
	}
	if st.Format != FormatNVD11 || st.Records != 3 || len(recs) != 3 || st.Bytes != int64(len(fixture(t, "nvd11.json"))) {
		t.Fatalf("stats %+v", st)
	}
	checkProvenance(t, recs, "nvd", "nvd11.json")
	if recs[1].Path != "/CVE_Items/1" {
		t.Errorf("path %q", recs[1].Path)
	}
	m := byID(recs)

	// Edge is vulnerable only on Windows 10: AND(OR(edge), OR(windows 10 ...)).
	edge := m["CVE-2017-0010"]
	if len(edge.Configurations) != 1 {
		t.Fatalf("configurations %+v", edge.Configurations)
	}
	root := edge.Configurations[0]
	if root.Operator != bulwark.AND || len(root.Children) != 2 || len(root.Matches) != 0 {
		t.Fatalf("root node %+v", root)
	}
	if m := root.Children[0].Matches; len(m) != 1 || m[0].Criteria != "cpe:2.3:a:microsoft:edge:-:*:*:*:*:*:*:*" || !m[0].Vulnerable {
		t.Errorf("first child %+v", m)
	}
	for _, m := range root.Children[1].Matches {
		if m.Vulnerable || !strings.HasPrefix(m.Criteria, "cpe:2.3:o:microsoft:windows_") {
			t.Errorf("platform match %+v", m)
		}
	}
	if edge.Published != time.Date(2017, 3, 17, 0, 59, 0, 0, time.UTC) {
		t.Errorf("published %v", edge.Published)
	}
	if len(edge.CVSS) != 2 || edge.CVSS[0].Version != "3.1" && edge.CVSS[0].Version != "3.0" || edge.CVSS[1].Version != "2.0" || !edge.CVSS[0].Primary || edge.CVSS[0].Source != "nvd@nist.gov" {
		t.Errorf("cvss %+v", edge.CVSS)
	}

	android := m["CVE-2017-0331"]
	if len(android.Configurations) != 2 || android.Configurations[0].Matches[0].VersionEndIncluding != "7.1.1" {
		t.Errorf("android configurations %+v", android.Configurations)
	}
	if d := android.Description; !strings.Contains(d, "NVIDIA") && d == "" {
		t.Errorf("description %q", d)
	}
	none := m["CVE-2017-0605"]
	if len(none.Configurations) != 0 || len(none.CVSS) != 0 {
		t.Errorf("CVE-2017-0605 has %+v", none)
	}
	// The hash covers exactly the record's bytes: the same item in another
	// envelope hashes the same.
	again, _, _, err := readAll(t, "other.json", fixture(t, "nvd11.json"), Options{})
	if err != nil || again[0].Vuln.Sources[0].Hash != recs[0].Vuln.Sources[0].Hash {
		t.Errorf("hash not stable: %v", err)
	}
}

func TestReadNVD20Fixture(t *testing.T) {
	recs, st, probs, err := readAll(t, "nvd20.json", fixture(t, "nvd20.json"), Options{})
	if err != nil || len(probs) != 0 || st.Format != FormatNVD20 || len(recs) != 2 {
		t.Fatalf("stats %+v, err %v, problems %v", st, err, probs)
	}
	checkProvenance(t, recs, "nvd-api", "nvd20.json")
	v := byID(recs)["CVE-2023-0001"]
	if len(v.Configurations) != 1 {
		t.Fatalf("configurations %+v", v.Configurations)
	}
	cfg := v.Configurations[0]
	if cfg.Operator != bulwark.AND || len(cfg.Children) != 2 {
		t.Fatalf("configuration %+v", cfg)
	}
	m := cfg.Children[0].Matches[0]
	if m.VersionStartIncluding != "7.5" || m.VersionEndExcluding != "7.5.101" || m.MatchCriteriaID != "EC5B0E84-B9A5-4FE3-B2E5-A64AEF57BCF3" || !m.Vulnerable {
		t.Errorf("match %+v", m)
	}
	if cfg.Children[1].Matches[0].Vulnerable {
		t.Errorf("windows is a platform, not vulnerable")
	}
	var primary, secondary int
	for _, c := range v.CVSS {
		if c.Primary {
			primary++
			if c.Source != "nvd@nist.gov" || c.BaseScore != 6.7 {
				t.Errorf("primary %+v", c)
			}
		} else {
			secondary++
		}
	}
	if primary != 1 || secondary != 1 {
		t.Errorf("cvss %+v", v.CVSS)
	}
	if len(v.CWEs) != 1 || v.CWEs[0] != "CWE-319" {
		t.Errorf("CWEs %v", v.CWEs)
	}
	if v.Modified != time.Date(2023, 2, 18, 20, 41, 2, 460e6, time.UTC) || v.Sources[0].Modified != v.Modified {
		t.Errorf("modified %v / %v", v.Modified, v.Sources[0].Modified)
	}

	recs, _, _, err = readAll(t, "neg.json", fixture(t, "nvd20-negate-edited.json"), Options{})
	if err != nil || len(recs) != 1 {
		t.Fatal(err)
	}
	if n := recs[0].Vuln.Configurations[0].Children; !n[1].Negate || n[0].Negate {
		t.Errorf("negate not preserved: %+v", n)
	}
}

func TestReadAnchoreFixture(t *testing.T) {
	recs, st, probs, err := readAll(t, "anchore.jsonl", fixture(t, "anchore.jsonl"), Options{})
	if err != nil || len(probs) != 0 || st.Format != FormatAnchore || len(recs) != 3 {
		t.Fatalf("stats %+v, err %v, problems %v", st, err, probs)
	}
	checkProvenance(t, recs, "anchore", "anchore.jsonl")
	r := recs[0]
	if r.Line != 1 || r.Vuln.ID != "CVE-1999-0037" || r.Vuln.Description != "" {
		t.Errorf("record %+v", r)
	}
	if got := r.Vuln.Sources[0].Modified; got != time.Date(2024, 8, 1, 16, 27, 57, 203e6, time.UTC) {
		t.Errorf("provenance modified %v", got)
	}
	if !r.Vuln.Modified.IsZero() {
		t.Errorf("an override's date is not the vulnerability's: %v", r.Vuln.Modified)
	}
	ranged := 0
	for _, r := range recs[1:] {
		for _, c := range r.Vuln.Configurations {
			for _, n := range c.Children {
				for _, m := range n.Matches {
					if m.VersionEndExcluding != "" {
						ranged++
					}
				}
			}
		}
	}
	if ranged == 0 {
		t.Error("no versionEndExcluding survived")
	}

	// The same overrides pretty-printed, one file each, as Anchore's
	// repository keeps them.
	var pretty bytes.Buffer
	pretty.WriteString("{\n  \"_annotation\": {\"cve_id\": \"CVE-2024-1234\", \"modified\": \"2024-08-01T16:27:57\"},\n  \"cve\": {\"configurations\": []}\n}\n")
	recs, st, probs, err = readAll(t, "CVE-2024-1234.json", pretty.Bytes(), Options{})
	if err != nil || len(probs) != 0 || st.Format != FormatAnchore || len(recs) != 1 || recs[0].Vuln.ID != "CVE-2024-1234" {
		t.Errorf("pretty override: %+v %v %v", st, probs, err)
	}
}

func TestReadCVE5Fixture(t *testing.T) {
	recs, st, probs, err := readAll(t, "cve5.jsonl", fixture(t, "cve5.jsonl"), Options{})
	if err != nil || len(probs) != 0 || st.Format != FormatCVE5Lines || len(recs) != 3 {
		t.Fatalf("stats %+v, err %v, problems %v", st, err, probs)
	}
	checkProvenance(t, recs, "cve5", "cve5.jsonl")
	m := byID(recs)

	pure := m["CVE-2024-0001"]
	if pure.ADP == nil || pure.ADP.Exploitation != "none" || pure.ADP.Automatable != "no" || pure.ADP.TechnicalImpact != "total" || pure.ADP.Timestamp.IsZero() {
		t.Errorf("SSVC %+v", pure.ADP)
	}
	if pure.KEV != nil {
		t.Errorf("no KEV marker, got %+v", pure.KEV)
	}
	want := []bulwark.AffectedProduct{
		{Status: bulwark.StatusAffected, Vendor: "Pure Storage", Product: "FlashArray", Version: "6.3.0", Range: "<=6.3.14", VersionType: "custom", Source: "PureStorage"},
		{Status: bulwark.StatusAffected, Vendor: "Pure Storage", Product: "FlashArray", Version: "6.4.0", Range: "<=6.4.10", VersionType: "custom", Source: "PureStorage"},
		{Status: bulwark.StatusNotAffected, Vendor: "Pure Storage", Product: "FlashArray", Range: "*", Source: "PureStorage"},
		{Status: bulwark.StatusAffected, Vendor: "purestorage", Product: "flasharray", CPE: "cpe:2.3:a:purestorage:flasharray:6.3.0:*:*:*:*:*:*:*", Version: "6.3.0", Range: "<=6.3.14", VersionType: "custom", Source: "CISA-ADP"},
		{Status: bulwark.StatusAffected, Vendor: "purestorage", Product: "flasharray", CPE: "cpe:2.3:a:purestorage:flasharray:6.4.0:*:*:*:*:*:*:*", Version: "6.4.0", Range: "<=6.4.10", VersionType: "custom", Source: "CISA-ADP"},
	}
	if len(pure.Affected) != len(want) {
		t.Fatalf("affected %+v", pure.Affected)
	}
	for i := range want {
		if !equalAffected(pure.Affected[i], want[i]) {
			t.Errorf("affected[%d] = %+v, want %+v", i, pure.Affected[i], want[i])
		}
	}
	if len(pure.CVSS) != 1 || pure.CVSS[0].BaseScore != 10 || pure.CVSS[0].Source != "PureStorage" {
		t.Errorf("cvss %+v", pure.CVSS)
	}

	chrome := m["CVE-2024-0519"]
	if chrome.KEV == nil || chrome.KEV.DateAdded != time.Date(2024, 1, 17, 0, 0, 0, 0, time.UTC) {
		t.Errorf("KEV marker %+v", chrome.KEV)
	}
	if chrome.ADP == nil || chrome.ADP.Exploitation != "active" {
		t.Errorf("SSVC %+v", chrome.ADP)
	}
	found := false
	for _, a := range chrome.Affected {
		if a.Source == "CISA-ADP" && a.CPE == "cpe:2.3:a:google:chrome:*:*:*:*:*:*:*:*" && a.Range == "<120.0.6099.224" {
			found = true
		}
	}
	if !found {
		t.Errorf("ADP range missing: %+v", chrome.Affected)
	}

	// The ADP lists one CPE whose version is the first range's: it must
	// not be pinned on the other ranges.
	for _, a := range m["CVE-2024-0006"].Affected {
		if a.Source == "CISA-ADP" && a.Version != "2.18.0.0" && a.CPE != "" {
			t.Errorf("CPE of another version on %+v", a)
		}
	}

	recs, st, probs, err = readAll(t, "CVEv5_basic-example.json", fixture(t, "cve5-basic-example.json"), Options{})
	if err != nil || len(probs) != 0 || st.Format != FormatCVE5 || len(recs) != 1 || recs[0].Path != "" {
		t.Fatalf("basic example: %+v %v %v", st, probs, err)
	}
	if a := recs[0].Vuln.Affected; len(a) != 2 || a[0].Range != "<1.0.6" || a[0].VersionType != "semver" || a[1].Status != bulwark.StatusNotAffected {
		t.Errorf("basic example affected %+v", a)
	}
}

func equalAffected(a, b bulwark.AffectedProduct) bool {
	return a.Status == b.Status && a.Vendor == b.Vendor && a.Product == b.Product && a.CPE == b.CPE &&
		a.Version == b.Version && a.Range == b.Range && a.VersionType == b.VersionType && a.Source == b.Source
}

func TestReadKEVFixture(t *testing.T) {
	recs, st, probs, err := readAll(t, "kev.json", fixture(t, "kev.json"), Options{})
	if err != nil || len(probs) != 0 || st.Format != FormatKEV || len(recs) != 3 {
		t.Fatalf("stats %+v, err %v, problems %v", st, err, probs)
	}
	checkProvenance(t, recs, "kev", "kev.json")
	ransom := 0
	for _, r := range recs {
		k := r.Vuln.KEV
		if k == nil || k.CatalogVersion != "2025.08.25" || k.DateAdded.IsZero() || k.DueDate.Before(k.DateAdded) || k.RequiredAction == "" {
			t.Errorf("%s: KEV %+v", r.Vuln.ID, k)
			continue
		}
		if k.KnownRansomware {
			ransom++
		}
		if want := time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC); !r.Vuln.Sources[0].Modified.Equal(want) {
			t.Errorf("provenance modified %v", r.Vuln.Sources[0].Modified)
		}
	}
	if ransom != 1 {
		t.Errorf("%d with known ransomware use, want 1", ransom)
	}
	if recs[1].Vuln.ID != "CVE-2025-48384" || recs[1].Vuln.KEV.VendorProject != "Git" {
		t.Errorf("second entry %+v", recs[1].Vuln)
	}
}

func TestReadEPSSFixture(t *testing.T) {
	recs, st, probs, err := readAll(t, "epss.csv", fixture(t, "epss.csv"), Options{})
	if err != nil || len(probs) != 0 || st.Format != FormatEPSS || len(recs) != 3 {
		t.Fatalf("stats %+v, err %v, problems %v", st, err, probs)
	}
	checkProvenance(t, recs, "epss", "epss.csv")
	r := recs[1]
	day := time.Date(2024, 10, 24, 0, 0, 0, 0, time.UTC)
	if r.Vuln.ID != "CVE-2024-0519" || r.Line != 4 || r.Vuln.EPSS.Score != 0.91432 || r.Vuln.EPSS.Percentile != 0.98903 || !r.Vuln.EPSS.Date.Equal(day) {
		t.Errorf("record %+v %+v", r, r.Vuln.EPSS)
	}
	if !r.Vuln.Sources[0].Modified.Equal(day) {
		t.Errorf("provenance modified %v", r.Vuln.Sources[0].Modified)
	}
}

// wantFileError asserts err is a *bulwark.Error with code whose detail
// points at pointer and whose message contains why.
func wantFileError(t *testing.T, err error, code, pointer, why string) {
	t.Helper()
	var e *bulwark.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *bulwark.Error", err, err)
	}
	if e.Code != code {
		t.Errorf("code %q, want %q (%v)", e.Code, code, e)
	}
	if len(e.Details) != 1 || e.Details[0].Field != pointer || e.Details[0].File == "" {
		t.Errorf("details %+v, want field %q", e.Details, pointer)
	}
	if !strings.Contains(e.Error(), why) {
		t.Errorf("message %q does not say %q", e.Error(), why)
	}
}

func TestMalformedFiles(t *testing.T) {
	nvd := fixture(t, "nvd11.json")
	cut := bytes.Index(nvd, []byte("CVE-2017-0331"))
	tests := []struct {
		name    string
		data    []byte
		format  Format
		code    string
		pointer string
		why     string
	}{
		{"truncated inside a record", nvd[:cut], FormatUnknown, bulwark.EINVALID, "/CVE_Items/1/cve/CVE_data_meta/ID", "truncated"},
		{"truncated after a record", nvd[:bytes.LastIndexByte(nvd, ']')], FormatNVD11, bulwark.EINVALID, "/CVE_Items/3", "truncated"},
		{"KEV given to the NVD reader", fixture(t, "kev.json"), FormatNVD11, bulwark.EINVALID, "/title", "unexpected member"},
		{"NVD given to the KEV reader", nvd, FormatKEV, bulwark.EINVALID, "/CVE_data_type", "unexpected member"},
		{"case-variant array name", []byte(`{"CVE_data_type":"CVE","cve_items":[]}`), FormatNVD11, bulwark.EINVALID, "/cve_items", "case-sensitive"},
		{"no records array", []byte(`{"CVE_data_type":"CVE"}`), FormatNVD11, bulwark.EINVALID, "", `no "CVE_Items" array`},
		{"records not an array", []byte(`{"CVE_Items":{}}`), FormatNVD11, bulwark.EINVALID, "/CVE_Items", "want an array"},
		{"top level array", []byte(`[{"cve":{}}]`), FormatNVD11, bulwark.EINVALID, "", "top level is a JSON array"},
		{"duplicate envelope member", []byte(`{"CVE_Items":[],"CVE_Items":[]}`), FormatNVD11, bulwark.EINVALID, "/CVE_Items", "duplicate member"},
		{"wrong data type", []byte(`{"CVE_data_type":"CPE","CVE_Items":[]}`), FormatNVD11, bulwark.EINVALID, "/CVE_data_type", `want "CVE"`},
		{"trailing garbage", []byte(`{"CVE_Items":[]} x`), FormatNVD11, bulwark.EINVALID, "", "invalid character"},
		{"empty", nil, FormatNVD11, bulwark.EINVALID, "", "empty"},
		{"record nested deeper than the cap", []byte(`{"CVE_Items":[{"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}]}`), FormatNVD11, bulwark.EINVALID, "/CVE_Items/0", "nesting deeper than 64"},
		{"JSON lines nested deeper than the cap", []byte(`{"dataType":"CVE_RECORD","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}\n"), FormatCVE5Lines, bulwark.EINVALID, "", "nesting deeper than 64"},
		{"invalid UTF-8", []byte("{\"CVE_Items\":[{\"x\":\"\xff\"}]}"), FormatNVD11, bulwark.EINVALID, "/CVE_Items/0/x", "UTF-8"},
		{"unknown format", []byte(`{"hello":"world"}`), FormatUnknown, bulwark.EUNSUPPORTED, "", "unrecognised"},
		{"CSAF before its reader is registered", []byte(`{"document":{"csaf_version":"2.0"},"product_tree":{}}`), FormatUnknown, bulwark.EUNSUPPORTED, "", "no reader for csaf"},
		{"EPSS without header", []byte("CVE-2024-0001,0.1,0.2\n"), FormatEPSS, bulwark.EINVALID, "", "header"},
		{"EPSS bad score date", []byte("#model_version:v1,score_date:yesterday\ncve,epss,percentile\n"), FormatEPSS, bulwark.EINVALID, "", "score_date"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, FormatUnknown, bulwark.EINVALID, "", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, _, err := readAll(t, "/x/feed.json", tt.data, Options{Format: tt.format})
			wantFileError(t, err, tt.code, tt.pointer, tt.why)
			if tt.name == "truncated inside a record" && len(recs) != 1 {
				t.Errorf("records before the break: %d, want 1", len(recs))
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	const n = 1_000_000
	for _, tt := range []struct {
		name   string
		data   string
		format Format
	}{
		{"inside a record", `{"CVE_Items":[` + strings.Repeat(`[`, n) + strings.Repeat(`]`, n) + `]}`, FormatNVD11},
		{"at the top", strings.Repeat(`{"a":`, n), FormatCVE5},
		{"a JSON line", `{"dataType":"CVE_RECORD","x":` + strings.Repeat(`[`, n) + "\n", FormatCVE5Lines},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := readAll(t, "deep.json", []byte(tt.data), Options{Format: tt.format})
			var e *bulwark.Error
			if !errors.As(err, &e) || e.Code != bulwark.EINVALID || !strings.Contains(e.Message, "depth") && !strings.Contains(e.Message, "nesting") {
				t.Errorf("err %v", err)
			}
		})
	}
}

// hugeString produces {"CVE_Items":[{"x":"aaaa... (size bytes) without
// ever holding it.
type hugeString struct {
	prefix []byte
	left   int64
}

func (h *hugeString) Read(p []byte) (int, error) {
	if len(h.prefix) > 0 {
		n := copy(p, h.prefix)
		h.prefix = h.prefix[n:]
		return n, nil
	}
	if h.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), h.left)
	for i := range p[:n] {
		p[i] = 'a'
	}
	h.left -= n
	return int(n), nil
}

func TestHugeString(t *testing.T) {
	for _, tt := range []struct {
		name, prefix string
		format       Format
		pointer      string
	}{
		{"in a record", `{"CVE_Items":[{"x":"`, FormatNVD11, "/CVE_Items/0"},
		{"in the envelope", `{"title":"`, FormatKEV, "/title"},
		{"in a member name", `{"`, FormatKEV, ""},
		{"in a JSON line", `{"dataType":"`, FormatCVE5Lines, ""},
		{"in an EPSS line", "cve,epss,percentile\nCVE-", FormatEPSS, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := &hugeString{prefix: []byte(tt.prefix), left: 2 << 30}
			_, _, err := Read(context.Background(), "huge.json", r, Options{Format: tt.format, FetchedAt: fetched}, func(Record) error { return nil })
			runtime.ReadMemStats(&after)
			wantFileError(t, err, bulwark.ETOOLARGE, tt.pointer, "cap")
			if r.left < 1<<30 {
				t.Errorf("read %d bytes before failing, want about the cap", 2<<30-r.left)
			}
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 100<<20 {
				t.Errorf("allocated %d MiB", grown>>20)
			}
		})
	}
}

func TestMalformedRecords(t *testing.T) {
	item := func(id, extra string) string {
		return `{"cve":{"CVE_data_meta":{"ID":"` + id + `"}},"configurations":{"nodes":[]},"publishedDate":"2017-03-17T00:59Z"` + extra + `}`
	}
	feed := func(items ...string) []byte {
		return []byte(`{"CVE_data_type":"CVE","CVE_Items":[` + strings.Join(items, ",") + `]}`)
	}
	tests := []struct {
		name    string
		data    []byte
		format  Format
		pointer string
		line    int
		why     string
	}{
		{"bad CVE ID", feed(item("CVE-17-1", "")), FormatNVD11, "/CVE_Items/1/cve/CVE_data_meta/ID", 0, "bad CVE ID"},
		{"bad date", feed(item("CVE-2017-0001", `,"lastModifiedDate":"yesterday"`)), FormatNVD11, "/CVE_Items/1/lastModifiedDate", 0, "bad timestamp"},
		{"duplicate name in a record", feed(item("CVE-2017-0001", `,"publishedDate":"2017-03-17T00:59Z"`)), FormatNVD11, "/CVE_Items/1/publishedDate", 0, "duplicate"},
		{"case-variant name is not the field", feed(`{"CVE":{"CVE_data_meta":{"ID":"CVE-2017-0002"}}}`), FormatNVD11, "/CVE_Items/1/cve/CVE_data_meta/ID", 0, `bad CVE ID ""`},
		{"wrong type", feed(`{"cve":{"CVE_data_meta":{"ID":7}}}`), FormatNVD11, "/CVE_Items/1/cve/CVE_data_meta/ID", 0, "cannot decode JSON number"},
		{"not an object", feed(`42`), FormatNVD11, "/CVE_Items/1", 0, "cannot decode"},
		{"bad operator", feed(item("CVE-2017-0001", `,"configurations":{"nodes":[{"operator":"XOR"}]}`)), FormatNVD11, "/CVE_Items/1", 0, ""},
		{"bad CPE", feed(`{"cve":{"CVE_data_meta":{"ID":"CVE-2017-0003"}},"configurations":{"nodes":[{"operator":"OR","cpe_match":[{"cpe23Uri":"cpe:/a:x"}]}]}}`), FormatNVD11, "/CVE_Items/1/configurations/nodes/0/cpe_match/0/cpe23Uri", 0, "not a CPE 2.3"},
		{"broken JSON line", []byte("{\"dataType\":\"CVE_RECORD\",\"cveMetadata\":{\"cveId\":\"CVE-2024-0001\"},\"containers\":{\"cna\":{}}}\n{\"dataType\":\n"), FormatCVE5Lines, "", 2, "unexpected EOF"},
		{"KEV bad ransomware flag", []byte(`{"vulnerabilities":[{"cveID":"CVE-2024-0001","dateAdded":"2024-01-01"},{"cveID":"CVE-2024-0002","dateAdded":"2024-01-01","knownRansomwareCampaignUse":"maybe"}]}`), FormatKEV, "/vulnerabilities/1/knownRansomwareCampaignUse", 0, "Known"},
		{"KEV bad date", []byte(`{"vulnerabilities":[{"cveID":"CVE-2024-0001","dateAdded":"2024-01-01"},{"cveID":"CVE-2024-0002","dateAdded":"01/02/2024"}]}`), FormatKEV, "/vulnerabilities/1/dateAdded", 0, "bad timestamp"},
		{"EPSS score out of range", []byte("cve,epss,percentile\nCVE-2024-0001,0.1,0.2\nCVE-2024-0002,1.5,0.2\n"), FormatEPSS, "epss", 3, "between 0 and 1"},
		{"EPSS bad ID", []byte("cve,epss,percentile\nCVE-2024-0001,0.1,0.2\ncve-2024-0002,0.1,0.2\n"), FormatEPSS, "cve", 3, "bad CVE ID"},
		{"EPSS short row", []byte("cve,epss,percentile\nCVE-2024-0001,0.1,0.2\nCVE-2024-0002,0.1\n"), FormatEPSS, "", 3, "2 fields"},
		{"NVD 2.0 metric version mismatch", []byte(`{"format":"NVD_CVE","vulnerabilities":[{"cve":{"id":"CVE-2024-0001"}},{"cve":{"id":"CVE-2024-0002","metrics":{"cvssMetricV31":[{"cvssData":{"version":"2.0"}}]}}}]}`), FormatNVD20, "/vulnerabilities/1/cve/metrics/cvssMetricV31/0/cvssData/version", 0, "version"},
		{"CVE 5 unknown status", []byte(`{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-2024-0001"},"containers":{"cna":{}}}` + "\n" + `{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-2024-0002","state":"PUBLISHED"},"containers":{"cna":{"affected":[{"versions":[{"version":"1","status":"maybe"}]}]}}}`), FormatCVE5Lines, "/containers/cna/affected/0/versions/0/status", 2, "unknown status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if tt.format == FormatNVD11 {
				// One good record first: the bad one is skipped, not fatal.
				data = bytes.Replace(data, []byte(`"CVE_Items":[`), []byte(`"CVE_Items":[`+item("CVE-2017-0009", "")+`,`), 1)
			}
			recs, st, probs, err := readAll(t, "feed", data, Options{Format: tt.format})
			if err != nil {
				t.Fatalf("err %v", err)
			}
			if len(recs) != 1 || st.Records != 1 || st.Skipped != 1 || len(probs) != 1 {
				t.Fatalf("records %d, stats %+v, problems %v", len(recs), st, probs)
			}
			p := probs[0]
			if p.File != "feed" || p.Line != tt.line || !strings.HasPrefix(p.Field, tt.pointer) || !strings.Contains(p.Message, tt.why) {
				t.Errorf("problem %+v, want field %q line %d message ~%q", p, tt.pointer, tt.line, tt.why)
			}
		})
	}
}

func TestProblemsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("cve,epss,percentile\n")
	for range maxProblems + 10 {
		b.WriteString("bad\n")
	}
	_, st, probs, err := readAll(t, "epss.csv", []byte(b.String()), Options{})
	if err != nil || st.Skipped != maxProblems+10 || len(probs) != maxProblems+1 || !strings.Contains(probs[maxProblems].Message, "10 more") {
		t.Errorf("stats %+v, %d problems, err %v", st, len(probs), err)
	}
}

func TestStopAndCancel(t *testing.T) {
	data := fixture(t, "nvd11.json")
	stop := errors.New("enough")
	n := 0
	_, _, err := Read(context.Background(), "nvd11.json", bytes.NewReader(data), Options{}, func(Record) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Errorf("err %v after %d records", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = Read(ctx, "nvd11.json", bytes.NewReader(data), Options{}, func(Record) error { return nil })
	if bulwark.ErrorCode(err) != bulwark.ECANCELED {
		t.Errorf("canceled read: %v", err)
	}
}

func TestRegister(t *testing.T) {
	t.Cleanup(func() { Register(FormatCycloneDX, nil) })
	Register(FormatCycloneDX, func(ctx context.Context, name string, r io.Reader, opts Options, emit func(Record) error) ([]bulwark.Problem, error) {
		if err := emit(Record{Vuln: bulwark.Vulnerability{ID: "CVE-2024-0001"}}); err != nil {
			return nil, err
		}
		return []bulwark.Problem{{File: name, Message: "one bad"}}, nil
	})
	recs, st, probs, err := readAll(t, "bom.json", []byte(`{"bomFormat":"CycloneDX"}`), Options{})
	if err != nil || st.Format != FormatCycloneDX || len(recs) != 1 || st.Records != 1 || st.Skipped != 1 || len(probs) != 1 {
		t.Errorf("stats %+v, problems %v, err %v", st, probs, err)
	}
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzipAndWalk(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, b []byte) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nvd/nvdcve-1.1-2017.json.gz", gz(t, fixture(t, "nvd11.json")))
	write("kev.json", fixture(t, "kev.json"))
	write("sub/epss.csv.gz", gz(t, fixture(t, "epss.csv")))
	write("README.md", []byte("not a feed"))
	write(".hidden/kev.json", fixture(t, "kev.json"))
	mtime := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(dir, "kev.json"), mtime, mtime)

	var names []string
	total := 0
	err := Walk([]string{dir}, func(name string, open func() (io.ReadCloser, error)) error {
		names = append(names, strings.TrimPrefix(filepath.ToSlash(name), filepath.ToSlash(dir)+"/"))
		rc, err := open()
		if err != nil {
			return err
		}
		defer rc.Close()
		st, probs, err := Read(context.Background(), name, rc, Options{}, func(r Record) error {
			if strings.HasSuffix(name, "kev.json") && !r.Vuln.Sources[0].FetchedAt.Equal(mtime) {
				t.Errorf("fetched at %v, want the file's mtime", r.Vuln.Sources[0].FetchedAt)
			}
			if d := r.Vuln.Sources[0].Document; d != filepath.Base(name) {
				t.Errorf("document %q", d)
			}
			return nil
		})
		if err != nil || len(probs) != 0 {
			t.Errorf("%s: %v %v", name, err, probs)
		}
		total += st.Records
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kev.json", "nvd/nvdcve-1.1-2017.json.gz", "sub/epss.csv.gz"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("walked %v, want %v", names, want)
	}
	if total != 3+3+3 {
		t.Errorf("%d records", total)
	}

	// Read also takes compressed bytes directly.
	recs, st, _, err := readAll(t, "x.json.gz", gz(t, fixture(t, "nvd11.json")), Options{})
	if err != nil || len(recs) != 3 || st.Bytes != int64(len(fixture(t, "nvd11.json"))) {
		t.Errorf("gzip read: %d records, %+v, %v", len(recs), st, err)
	}
	// An explicit file is used whatever its name; a missing path is an error.
	if err := Walk([]string{filepath.Join(dir, "README.md")}, func(string, func() (io.ReadCloser, error)) error { return nil }); err != nil {
		t.Error(err)
	}
	if err := Walk([]string{filepath.Join(dir, "missing")}, func(string, func() (io.ReadCloser, error)) error { return nil }); err == nil {
		t.Error("missing path: no error")
	}
}

func TestDepth(t *testing.T) {
	for s, want := range map[string]int{
		`1`:                    0,
		`{}`:                   1,
		`[[],[[]]]`:            3,
		`{"a":"[[[[\""}`:       1,
		`{"a\\":[1]}`:          2,
		`["\\\\\"[",[]]`:       2,
		`"unterminated [[[`:    0,
		`{"a":{"b":{"c":[]}}}`: 4,
	} {
		if got := depth([]byte(s)); got != want {
			t.Errorf("depth(%s) = %d, want %d", s, got, want)
		}
	}
}

// TestWorkersAgree reads every fixture on the calling goroutine and with
// parallel decoding: records, order and problems must be the same.
func TestWorkersAgree(t *testing.T) {
	broken := append(fixture(t, "cve5.jsonl"), []byte("{\"dataType\":\"CVE_RECORD\"}\n")...)
	for _, name := range []string{"nvd11.json", "nvd20.json", "anchore.jsonl", "cve5.jsonl", "kev.json", "epss.csv", "broken"} {
		data := broken
		if name != "broken" {
			data = fixture(t, name)
		}
		one, st1, p1, err1 := readAll(t, name, data, Options{Workers: 1})
		many, st4, p4, err4 := readAll(t, name, data, Options{Workers: 4})
		if err1 != nil || err4 != nil || st1 != st4 || len(one) != len(many) || len(p1) != len(p4) {
			t.Fatalf("%s: %+v %v / %+v %v", name, st1, err1, st4, err4)
		}
		for i := range one {
			if one[i].Path != many[i].Path || one[i].Line != many[i].Line || one[i].Vuln.Sources[0].Hash != many[i].Vuln.Sources[0].Hash {
				t.Errorf("%s: record %d differs", name, i)
			}
		}
		if name == "broken" && (len(p1) != 1 || p1[0] != p4[0]) {
			t.Errorf("problems %v / %v", p1, p4)
		}
	}
}
