package csaf

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bulwark"
)

func parseFile(t *testing.T, name string) (*Advisory, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(name, data, Options{})
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return a, data
}

// affected finds the statement for product id with status st.
func affected(t *testing.T, v bulwark.Vulnerability, id string, st bulwark.ProductStatus) bulwark.AffectedProduct {
	t.Helper()
	for _, ap := range v.Affected {
		if ap.ProductID == id && ap.Status == st {
			return ap
		}
	}
	t.Fatalf("%s: no %s statement for %s in %+v", v.ID, st, id, v.Affected)
	return bulwark.AffectedProduct{}
}

// TestCISARelationshipAdvisory checks a trimmed CISA advisory with version
// and range branches, a relationship and remediations bound to products.
func TestCISARelationshipAdvisory(t *testing.T) {
	fetched := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	data, err := os.ReadFile("testdata/va-24-201-01.json")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Read("va-24-201-01.json", bytes.NewReader(data), Options{FetchedAt: fetched})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "VA-24-201-01" || a.Publisher != "CISA" || a.TLP != "WHITE" || a.Version != "1.0.1" || a.Category != "csaf_vex" {
		t.Errorf("metadata: %+v", a)
	}
	if want := time.Date(2024, 9, 18, 16, 0, 0, 0, time.UTC); !a.Current.Equal(want) {
		t.Errorf("Current = %v, want %v", a.Current, want)
	}
	if len(a.Vulns) != 2 {
		t.Fatalf("got %d vulnerabilities, want 2", len(a.Vulns))
	}
	v := a.Vulns[0]
	if v.ID != "CVE-2023-45195" || !slices.Equal(v.CWEs, []string{"CWE-918"}) || v.Description == "" {
		t.Errorf("vuln: ID %q CWEs %v description %q", v.ID, v.CWEs, v.Description)
	}
	if len(v.CVSS) != 1 || v.CVSS[0].Version != "3.1" || v.CVSS[0].BaseScore != 5.3 ||
		v.CVSS[0].Vector != "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N" || v.CVSS[0].Source != "CISA" {
		t.Errorf("CVSS = %+v", v.CVSS)
	}

	// Range from a product_version_range branch, raw text.
	got := affected(t, v, "CSAFPID-0006", bulwark.StatusAffected)
	want := bulwark.AffectedProduct{Status: bulwark.StatusAffected, ProductID: "CSAFPID-0006", Vendor: "Adminer", Product: "Adminer", Range: "all versions", Source: "VA-24-201-01"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSAFPID-0006 (-want +got):\n%s", diff)
	}
	// Exact version from a product_version branch, fixed.
	got = affected(t, v, "CSAFPID-0009", bulwark.StatusFixed)
	if got.Vendor != "AdminerEvo" || got.Product != "AdminerEvo" || got.Version != "4.8.4" || got.Range != "" {
		t.Errorf("CSAFPID-0009 = %+v", got)
	}

	// The relationship defines a product with the component's identity
	// and notes its platform.
	rel := a.Products["CSAFPID-0005"]
	if rel.Vendor != "Adminer" || rel.Name != "Adminer" || rel.Relationship != "external_component_of" ||
		rel.Platform != "CSAFPID-0004" || rel.PlatformName != "AdminerEvo" || rel.FullName != "Adminer contained in AdminerEvo" {
		t.Errorf("relationship product = %+v", rel)
	}

	var fix *bulwark.Remediation
	for i := range v.Remediations {
		if v.Remediations[i].Category == "vendor_fix" {
			fix = &v.Remediations[i]
		}
	}
	if fix == nil || fix.URL != "https://github.com/adminerevo/adminerevo/releases/tag/v4.8.4" ||
		!slices.Equal(fix.Products, []string{"CSAFPID-0077", "CSAFPID-0007"}) || fix.Source != "VA-24-201-01" {
		t.Errorf("vendor_fix remediation = %+v", fix)
	}

	sum := sha256.Sum256(data)
	wantProv := bulwark.Provenance{Source: "csaf:www.cisa.gov", Document: "va-24-201-01.json", FetchedAt: fetched,
		Modified: a.Current, Hash: hex.EncodeToString(sum[:])}
	if len(v.Sources) != 1 || v.Sources[0] != wantProv {
		t.Errorf("Sources = %+v, want %+v", v.Sources, wantProv)
	}
	if len(a.Warnings) != 0 {
		t.Errorf("unexpected warnings: %v", a.Warnings)
	}
}

func TestModelNumbersAndRanges(t *testing.T) {
	tests := []struct {
		file, vuln, product string
		vendor, name, rng   string
		models              []string
	}{
		{"icsa-21-350-11.json", "", "CSAFPID-0001", "Siemens", "SIMATIC eaSie PCS 7 Skill Package", "< V21.00 SP3", []string{"6DL5424-0BX00-0AV8"}},
		{"icsa-22-132-11.json", "", "CSAFPID-0002", "Siemens", "SIMATIC CP 443-1 RNA", "< V1.5.18", []string{"6GK7443-1RX00-0XE0"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, _ := parseFile(t, tt.file)
			if len(a.Vulns) == 0 {
				t.Fatal("no vulnerabilities")
			}
			got := affected(t, a.Vulns[0], tt.product, bulwark.StatusAffected)
			if got.Vendor != tt.vendor || got.Product != tt.name || got.Range != tt.rng || !slices.Equal(got.Models, tt.models) {
				t.Errorf("got %+v", got)
			}
			// Remediations in these advisories name the products they fix.
			named := 0
			for _, r := range a.Vulns[0].Remediations {
				if len(r.Products) > 0 {
					named++
				}
			}
			if named == 0 {
				t.Errorf("no remediation names its products: %+v", a.Vulns[0].Remediations)
			}
		})
	}
}

// TestSpecExamples reads OASIS examples: CPE helpers, Red Hat's
// relationship-heavy tree, and the four CSAF VEX statuses.
func TestSpecExamples(t *testing.T) {
	a, _ := parseFile(t, "bsi-2022-0001.json")
	v := a.Vulns[0]
	got := affected(t, v, "CSAFPID-0001", bulwark.StatusAffected)
	if got.CPE != "cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha" || got.Version != "1.0.0-alpha" {
		t.Errorf("bsi CSAFPID-0001 = %+v", got)
	}
	// first_fixed and fixed both list CSAFPID-0006: one statement.
	n := 0
	for _, ap := range v.Affected {
		if ap.ProductID == "CSAFPID-0006" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("CSAFPID-0006 has %d statements, want 1", n)
	}

	a, _ = parseFile(t, "rhsa-2021_5186.json")
	if a.Publisher != "Red Hat Product Security" || len(a.Vulns) != 2 {
		t.Fatalf("rhsa: publisher %q, %d vulns", a.Publisher, len(a.Vulns))
	}
	if s := a.Vulns[0].Sources[0].Source; s != "csaf:www.redhat.com" {
		t.Errorf("rhsa source = %q", s)
	}
	id := "8Base-RHOSE-4.6:openshift4/ose-metering-hive:v4.6.0-202112160147.p0.gf139e12.assembly.stream"
	p, ok := a.Products[id]
	if !ok || p.Platform != "8Base-RHOSE-4.6" || p.Relationship != "default_component_of" || p.Name == "" {
		t.Errorf("rhsa relationship product = %+v", p)
	}
	if slices.Contains(a.Vulns[0].Aliases, "") || len(a.Vulns[0].Aliases) != 1 {
		t.Errorf("aliases = %v", a.Vulns[0].Aliases)
	}
	for _, w := range a.Warnings {
		t.Errorf("rhsa warning: %v", w)
	}

	vex := []struct {
		file string
		want bulwark.ProductStatus
	}{
		{"2022-evd-uc-01-a-001.json", bulwark.StatusAffected},
		{"2022-evd-uc-01-f-001.json", bulwark.StatusFixed},
		{"2022-evd-uc-01-na-001.json", bulwark.StatusNotAffected},
		{"2022-evd-uc-01-ui-001.json", bulwark.StatusUnderInvestigate},
	}
	for _, tt := range vex {
		a, _ := parseFile(t, tt.file)
		if a.Category != "csaf_vex" || len(a.Vulns) != 1 || a.Vulns[0].ID != "CVE-2021-44228" {
			t.Errorf("%s: category %q vulns %d", tt.file, a.Category, len(a.Vulns))
			continue
		}
		aff := a.Vulns[0].Affected
		if len(aff) != 1 || aff[0].Status != tt.want || aff[0].Product == "" {
			t.Errorf("%s: affected = %+v, want one %s", tt.file, aff, tt.want)
		}
	}
}

// minimal is the smallest document Parse accepts; tests edit it.
const minimal = `{"document":{"category":"csaf_base","csaf_version":"2.0","title":"t",
"publisher":{"category":"vendor","name":"Example","namespace":"https://example.com"},
"tracking":{"id":"EX-1","version":"1","status":"final","current_release_date":"2024-01-02T03:04:05Z",
"initial_release_date":"2024-01-01T00:00:00Z","revision_history":[]}}%s}`

func TestVulnerabilityWithoutCVE(t *testing.T) {
	doc := strings.Replace(minimal, "%s", `,"vulnerabilities":[{"title":"first"},{"ids":[{"system_name":"x","text":"X-9"}],
"notes":[{"category":"summary","text":"sum"},{"category":"description","text":"desc"}],
"product_status":{"known_affected":["P-404"],"recommended":["P-405"]}}]`, 1)
	a, err := Parse("nocve.json", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Vulns[0].ID != "EX-1:0" || a.Vulns[1].ID != "EX-1:1" || !bulwark.ValidID(a.Vulns[0].ID) {
		t.Errorf("IDs = %q, %q", a.Vulns[0].ID, a.Vulns[1].ID)
	}
	if a.Vulns[0].Description != "first" || a.Vulns[1].Description != "desc" {
		t.Errorf("descriptions = %q, %q", a.Vulns[0].Description, a.Vulns[1].Description)
	}
	b, err := Parse("odd.json", []byte(strings.Replace(doc, `"id":"EX-1"`, `"id":"EX 1/2024#3"`, 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if id := b.Vulns[0].ID; id != "EX-1-2024-3:0" || !bulwark.ValidID(id) {
		t.Errorf("an advisory ID with spaces, slashes and # gives vulnerability ID %q", id)
	}
	if !slices.Equal(a.Vulns[1].Aliases, []string{"X-9"}) {
		t.Errorf("aliases = %v", a.Vulns[1].Aliases)
	}
	// An undefined product still yields a statement, with a warning that
	// points at it; "recommended" is not a status.
	if aff := a.Vulns[1].Affected; len(aff) != 1 || aff[0].ProductID != "P-404" || aff[0].Status != bulwark.StatusAffected {
		t.Errorf("affected = %+v", aff)
	}
	if len(a.Warnings) != 1 || a.Warnings[0].Field != "/vulnerabilities/1/product_status/known_affected/0" {
		t.Errorf("warnings = %+v", a.Warnings)
	}
}

// TestHostile checks that bad input gives a located EINVALID/ETOOLARGE
// error, not a panic or a silent misreading.
func TestHostile(t *testing.T) {
	deep := strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000)
	deepInDoc := strings.Replace(minimal, "%s", `,"vulnerabilities":`+strings.Repeat(`[`, 1_000_000), 1)
	tests := []struct {
		name      string
		doc       string
		opts      Options
		code      string
		field     string // prefix of the JSON pointer the problem names
		inMessage string
	}{
		{"empty", "", Options{}, bulwark.EINVALID, "", "end of input"},
		{"truncated", minimal[:120], Options{}, bulwark.EINVALID, "", "truncated"},
		{"not json", "<csaf/>", Options{}, bulwark.EINVALID, "", "invalid character"},
		{"duplicate key", strings.Replace(minimal, `"title":"t"`, `"title":"t","title":"u"`, 1), Options{}, bulwark.EINVALID, "/document/title", "duplicate"},
		{"case variant key", strings.Replace(minimal, "%s", `,"Product_Tree":{}`, 1), Options{}, bulwark.EINVALID, "/Product_Tree", `"product_tree"`},
		{"case variant nested", strings.Replace(minimal, `"title":"t"`, `"Title":"t"`, 1), Options{}, bulwark.EINVALID, "/document/Title", "differs only in case"},
		{"deep nesting 10^6", deep, Options{}, bulwark.EINVALID, "", "nesting deeper than 64"},
		{"deep nesting in document", deepInDoc, Options{}, bulwark.EINVALID, "/vulnerabilities/0/0", "nesting deeper"},
		{"depth option", strings.Replace(minimal, "%s", "", 1), Options{MaxDepth: 2}, bulwark.EINVALID, "/document/publisher", "nesting deeper than 2"},
		{"oversize", strings.Replace(minimal, "%s", "", 1), Options{MaxBytes: 100}, bulwark.ETOOLARGE, "", "more than 100 bytes"},
		{"huge string over cap", `{"document":{"title":"` + strings.Repeat("x", 2<<20) + `"}}`, Options{MaxBytes: 1 << 20}, bulwark.ETOOLARGE, "", ""},
		{"trailing data", strings.Replace(minimal, "%s", "", 1) + "{}", Options{}, bulwark.EINVALID, "", ""},
		{"invalid utf8", strings.Replace(minimal, `"title":"t"`, "\"title\":\"\xff\"", 1), Options{}, bulwark.EINVALID, "/document/title", "UTF-8"},
		{"wrong type", strings.Replace(minimal, "%s", `,"vulnerabilities":{"cve":"CVE-1"}`, 1), Options{}, bulwark.EINVALID, "/vulnerabilities", ""},
		{"wrong type in branch", strings.Replace(minimal, "%s", `,"product_tree":{"branches":[{"category":"vendor","name":"V","branches":{"x":1}}]}`, 1), Options{}, bulwark.EINVALID, "/product_tree/branches/0/branches", "unexpected JSON object where an array belongs"},
		{"not csaf", `{"bomFormat":"CycloneDX","specVersion":"1.5"}`, Options{}, bulwark.EINVALID, "/document", "no CSAF document"},
		{"missing id", strings.Replace(minimal, `"id":"EX-1",`, "", 1), Options{}, bulwark.EINVALID, "/document/tracking/id", "required"},
		{"bad date", strings.Replace(minimal, "2024-01-02T03:04:05Z", "yesterday", 1), Options{}, bulwark.EINVALID, "/document/tracking/current_release_date", "RFC 3339"},
		{"csaf 1.2", strings.Replace(minimal, `"csaf_version":"2.0"`, `"csaf_version":"1.2"`, 1), Options{}, bulwark.EUNSUPPORTED, "/document/csaf_version", "1.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(tt.doc, "%s", "", 1)
			a, err := Parse("hostile.json", []byte(doc), tt.opts)
			if err == nil {
				t.Fatalf("no error; got %+v", a)
			}
			if code := bulwark.ErrorCode(err); code != tt.code {
				t.Errorf("code = %q, want %q (%v)", code, tt.code, err)
			}
			d := bulwark.ErrorDetails(err)
			if len(d) == 0 || d[0].File != "hostile.json" {
				t.Fatalf("details do not name the file: %+v", d)
			}
			if tt.field != "" && !strings.HasPrefix(d[0].Field, tt.field) {
				t.Errorf("field = %q, want %q (%v)", d[0].Field, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.inMessage) {
				t.Errorf("error %q does not contain %q", err, tt.inMessage)
			}
		})
	}
}

// TestCSAF21Fields reads the CSAF 2.1 members Bulwark uses: cvss_v4,
// cwes and purls.
func TestCSAF21Fields(t *testing.T) {
	doc := strings.Replace(strings.Replace(minimal, `"csaf_version":"2.0"`, `"csaf_version":"2.1"`, 1), "%s", `,
"product_tree":{"full_product_names":[{"name":"lib 1.0","product_id":"P1","product_identification_helper":{"purls":["pkg:generic/lib@1.0","pkg:deb/lib@1.0"]}}]},
"vulnerabilities":[{"cve":"CVE-2024-0001","cwes":[{"id":"CWE-79","name":"XSS"},{"id":"CWE-79","name":"XSS"},{"id":"CWE-80","name":"x"}],
"metrics":[],"scores":[{"products":["P1"],"cvss_v4":{"version":"4.0","vectorString":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N","baseScore":9.3,"baseSeverity":"CRITICAL"}}],
"product_status":{"first_affected":["P1"],"last_affected":["P1"]}}]`, 1)
	a, err := Parse("v21.json", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := a.Vulns[0]
	if len(v.CVSS) != 1 || v.CVSS[0].Version != "4.0" || v.CVSS[0].BaseScore != 9.3 || !strings.HasPrefix(v.CVSS[0].Vector, "CVSS:4.0/") {
		t.Errorf("CVSS = %+v", v.CVSS)
	}
	if !slices.Equal(v.CWEs, []string{"CWE-79", "CWE-80"}) {
		t.Errorf("CWEs = %v", v.CWEs)
	}
	// first_affected and last_affected collapse into one affected statement.
	if len(v.Affected) != 1 || v.Affected[0].PURL != "pkg:generic/lib@1.0" || v.Affected[0].Product != "lib 1.0" {
		t.Errorf("Affected = %+v", v.Affected)
	}
}

func TestWarningsBounded(t *testing.T) {
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprint("X", i))
	}
	doc := strings.Replace(minimal, "%s", `,"vulnerabilities":[{"product_status":{"known_affected":[`+strings.Join(ids, ",")+`]}}]`, 1)
	a, err := Parse("many.json", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Vulns[0].Affected) != 500 || len(a.Warnings) != maxWarnings+1 {
		t.Errorf("%d statements, %d warnings", len(a.Vulns[0].Affected), len(a.Warnings))
	}
}

// TestReadCaps checks that Read stops at the cap without reading the whole
// stream, also through gzip.
func TestReadCaps(t *testing.T) {
	_, err := Read("big.json", strings.NewReader(strings.Repeat(" ", 2048)), Options{MaxBytes: 1024})
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("plain: %v", err)
	}
	// A gzip bomb stops at the cap on the decompressed bytes.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(bytes.Repeat([]byte(" "), 4<<20))
	zw.Close()
	_, err = Read("bomb.json.gz", &zb, Options{MaxBytes: 1 << 20})
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("gzip bomb: %v", err)
	}
	// A gzipped advisory reads like the plain one.
	plain, _ := os.ReadFile("testdata/icsa-21-350-11.json")
	zb.Reset()
	zw = gzip.NewWriter(&zb)
	zw.Write(plain)
	zw.Close()
	if a, err := Read("icsa-21-350-11.json.gz", &zb, Options{}); err != nil || a.ID != "ICSA-21-350-11" {
		t.Errorf("gzipped advisory: %v", err)
	}
	_, err = Read("gz.json.gz", bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), Options{})
	if bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("bad gzip: %v", err)
	}
	_, err = Parse("gz.json.gz", []byte{0x1f, 0x8b, 8, 0}, Options{})
	if err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("Parse of gzip: %v", err)
	}
}

// TestRelationshipChains checks relationships that refer to products other
// relationships define, out of order, and a cycle, which is reported.
func TestRelationshipChains(t *testing.T) {
	doc := strings.Replace(minimal, "%s", `,"product_tree":{
"branches":[{"category":"vendor","name":"V","branches":[{"category":"product_name","name":"lib","branches":[
  {"category":"product_version","name":"1.2","product":{"name":"lib 1.2","product_id":"LIB"}}]}]}],
"full_product_names":[{"name":"firmware 7","product_id":"FW"},{"name":"RTU","product_id":"RTU"}],
"relationships":[
 {"category":"installed_on","product_reference":"LIB-IN-FW","relates_to_product_reference":"RTU","full_product_name":{"name":"lib in fw on RTU","product_id":"ALL"}},
 {"category":"default_component_of","product_reference":"LIB","relates_to_product_reference":"FW","full_product_name":{"name":"lib in fw","product_id":"LIB-IN-FW"}},
 {"category":"default_component_of","product_reference":"C2","relates_to_product_reference":"FW","full_product_name":{"name":"c1","product_id":"C1"}},
 {"category":"default_component_of","product_reference":"C1","relates_to_product_reference":"FW","full_product_name":{"name":"c2","product_id":"C2"}}]},
"vulnerabilities":[{"cve":"CVE-2024-2","product_status":{"known_affected":["ALL"]}}]`, 1)
	a, err := Parse("chain.json", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := a.Products["ALL"]
	if all.Vendor != "V" || all.Name != "lib" || all.Version != "1.2" || all.Platform != "RTU" || all.Relationship != "installed_on" {
		t.Errorf("ALL = %+v", all)
	}
	if ap := a.Vulns[0].Affected[0]; ap.ProductID != "ALL" || ap.Product != "lib" || ap.Version != "1.2" {
		t.Errorf("statement = %+v", ap)
	}
	if _, ok := a.Products["C1"]; ok {
		t.Errorf("cyclic relationship produced a product: %+v", a.Products["C1"])
	}
	var cycle bool
	for _, w := range a.Warnings {
		cycle = cycle || strings.Contains(w.Message, "cycle")
	}
	if !cycle {
		t.Errorf("no cycle warning in %+v", a.Warnings)
	}
}
