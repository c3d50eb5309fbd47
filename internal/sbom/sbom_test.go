package sbom

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/testenv"
)

func readFile(t *testing.T, name string) *BOM {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := Read(name, f, Options{})
	if err != nil {
		t.Fatalf("Read(%s): %v", name, err)
	}
	return b
}

// TestCISAVEXStates reads CISA's VEX use case 1: one document per state.
func TestCISAVEXStates(t *testing.T) {
	tests := []struct {
		file   string
		status bulwark.ProductStatus
		state  string
	}{
		{"cisa-case1-vex-affected.json", bulwark.StatusAffected, "exploitable"},
		{"cisa-case1-vex-fixed.json", bulwark.StatusFixed, "resolved"},
		{"cisa-case1-vex-not_affected.json", bulwark.StatusNotAffected, "not_affected"},
		{"cisa-case1-vex-under_investigation.json", bulwark.StatusUnderInvestigate, "in_triage"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readFile(t, tt.file)
			if b.SpecVersion != "1.4" || b.Subject.Name == "" || b.Subject.Ref == "" {
				t.Errorf("header: %+v", b)
			}
			if len(b.VEX) != 1 {
				t.Fatalf("got %d VEX statements", len(b.VEX))
			}
			s := b.VEX[0]
			if s.VulnID != "CVE-2021-44228" || s.Status != tt.status || s.State != tt.state ||
				len(s.Refs) != 1 || s.Refs[0] != b.Subject.Ref {
				t.Errorf("statement = %+v", s)
			}
		})
	}
	b := readFile(t, "cisa-case1-vex-affected.json")
	if s := b.VEX[0]; s.Response != "will_not_fix, update" || !strings.HasPrefix(s.Detail, "This version of Product DEF") {
		t.Errorf("response %q detail %q", s.Response, s.Detail)
	}
	b = readFile(t, "cisa-case1-vex-not_affected.json")
	if b.VEX[0].Justification == "" {
		t.Errorf("not_affected without justification: %+v", b.VEX[0])
	}
}

// TestCISAVEXVersions reads use case 8: statements about other BOMs
// (BOM-Links) with per-version statuses.
func TestCISAVEXVersions(t *testing.T) {
	b := readFile(t, "cisa-case8-vex.json")
	if len(b.VEX) != 8 {
		t.Fatalf("got %d statements, want 8", len(b.VEX))
	}
	first := b.VEX[0]
	want := Target{Ref: "urn:cdx:cbb2cd68-2857-43b8-a10b-e8c03d277d18/1#product-ABC", Versions: []VersionStatus{
		{Version: "2.4", Status: bulwark.StatusAffected},
		{Version: "2.6", Status: bulwark.StatusAffected},
		{Range: "vers:generic/>=2.9|<=4.1", Status: bulwark.StatusAffected},
	}}
	if first.Status != bulwark.StatusAffected || len(first.Targets) != 2 {
		t.Fatalf("first statement = %+v", first)
	}
	if diff := cmp.Diff(want, first.Targets[0]); diff != "" {
		t.Errorf("first target (-want +got):\n%s", diff)
	}
	if len(first.Refs) != 2 || first.Refs[0] != want.Ref {
		t.Errorf("refs = %v", first.Refs)
	}
	// "unaffected" versions under not_affected.
	if v := b.VEX[1].Targets[0].Versions[0]; b.VEX[1].Status != bulwark.StatusNotAffected || v.Status != bulwark.StatusNotAffected || v.Range != "vers:generic/>=1.0|<=2.3" {
		t.Errorf("second statement = %+v", b.VEX[1])
	}
	// A resolved statement's versions carry no status of their own.
	if s := b.VEX[3]; s.Status != bulwark.StatusFixed || s.Targets[0].Versions[0].Version != "5.1" || s.Targets[0].Versions[0].Status != "" {
		t.Errorf("resolved statement = %+v", s)
	}
}

func TestNestedComponentsAndStates(t *testing.T) {
	b := readFile(t, "plc-firmware-1.6.json")
	wantSubject := Component{Ref: "plc-1", Type: "device", Name: "PLC-3000", Version: "4.2",
		CPE: "cpe:2.3:h:example:plc-3000:4.2:*:*:*:*:*:*:*", Supplier: "Example Automation"}
	if diff := cmp.Diff(wantSubject, b.Subject); diff != "" {
		t.Errorf("subject (-want +got):\n%s", diff)
	}
	var refs []string
	for _, c := range b.Components {
		refs = append(refs, c.Ref)
	}
	// Subject's nested parts first, then the top-level list, depth first.
	if diff := cmp.Diff([]string{"fw-1", "pkg:generic/openssl@1.1.1k", "busybox", "ash"}, refs); diff != "" {
		t.Errorf("component refs (-want +got):\n%s", diff)
	}
	if c := b.Components[2]; c.Group != "org.busybox" || c.PURL != "pkg:generic/busybox@1.36.1" || c.Type != "library" {
		t.Errorf("busybox = %+v", c)
	}
	if len(b.VEX) != 2 {
		t.Fatalf("VEX = %+v", b.VEX)
	}
	if s := b.VEX[0]; s.Status != bulwark.StatusFixed || s.State != "resolved_with_pedigree" || s.Response != "update" {
		t.Errorf("resolved_with_pedigree = %+v", s)
	}
	if s := b.VEX[1]; s.Status != bulwark.StatusNotAffected || s.Justification != "code_not_reachable" ||
		s.Targets[0].Versions[1].Status != bulwark.StatusUnderInvestigate {
		t.Errorf("false_positive = %+v", s)
	}
	// The unanalysed vulnerability is noted, not turned into a statement.
	if len(b.Notes) != 1 || b.Notes[0].Field != "/vulnerabilities/2/analysis/state" {
		t.Errorf("notes = %+v", b.Notes)
	}
}

func TestXML(t *testing.T) {
	b := readFile(t, "meter-1.5.xml")
	if b.Format != "xml" || b.SpecVersion != "1.5" || b.SerialNumber != "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427" {
		t.Errorf("header = %+v", b)
	}
	if b.Subject.Name != "smart-meter" || b.Subject.Supplier != "Example Metering" || b.Subject.Type != "device" {
		t.Errorf("subject = %+v", b.Subject)
	}
	if len(b.Components) != 2 || b.Components[1].CPE != "cpe:2.3:a:zlib:zlib:1.2.11:*:*:*:*:*:*:*" || b.Components[0].PURL == "" {
		t.Errorf("components = %+v", b.Components)
	}
	if len(b.VEX) != 1 || b.VEX[0].Status != bulwark.StatusUnderInvestigate || b.VEX[0].Response != "can_not_fix" || b.VEX[0].Refs[0] != "zlib" {
		t.Errorf("VEX = %+v", b.VEX)
	}
}

func TestVEXWithoutAffects(t *testing.T) {
	doc := `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"device","bom-ref":"rtu","name":"rtu"}},
"vulnerabilities":[{"id":"CVE-2024-1","analysis":{"state":"not_affected","justification":"code_not_present"}}]}`
	b, err := Parse("noaffects.json", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.VEX) != 1 || len(b.VEX[0].Refs) != 1 || b.VEX[0].Refs[0] != "rtu" {
		t.Errorf("VEX = %+v", b.VEX)
	}
	doc = strings.Replace(doc, `"metadata":{"component":{"type":"device","bom-ref":"rtu","name":"rtu"}},`, "", 1)
	if b, err = Parse("noaffects.json", []byte(doc), Options{}); err != nil {
		t.Fatal(err)
	}
	if len(b.VEX) != 1 || len(b.VEX[0].Refs) != 0 || len(b.Notes) != 1 || b.Notes[0].Field != "/vulnerabilities/0/affects" {
		t.Errorf("VEX = %+v, notes = %+v", b.VEX, b.Notes)
	}
}

func TestOldSpecAndHBOM(t *testing.T) {
	b := readFile(t, "vex-bom-1.3.json")
	if b.SpecVersion != "1.3" || len(b.Components) != 3 || len(b.Notes) != 1 || !strings.Contains(b.Notes[0].Message, "older than 1.4") {
		t.Errorf("1.3 BOM: spec %s, %d components, notes %+v", b.SpecVersion, len(b.Components), b.Notes)
	}
	if c := b.Components[0]; c.PURL != "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar" || c.Group != "com.fasterxml.jackson.core" {
		t.Errorf("first component = %+v", c)
	}
	h := readFile(t, "hbom-pcie-sata.json")
	if h.Subject.Type != "device" || len(h.Components) != 6 || h.Components[0].Supplier != "Samtec" {
		t.Errorf("HBOM: %+v", h)
	}
}

func TestHostile(t *testing.T) {
	minimal := `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"a"}]}`
	tests := []struct {
		name, doc string
		opts      Options
		code      string
		field     string
		inMessage string
	}{
		{"empty", "", Options{}, bulwark.EINVALID, "", "empty"},
		{"whitespace", " \n ", Options{}, bulwark.EINVALID, "", "empty"},
		{"truncated", minimal[:60], Options{}, bulwark.EINVALID, "", "truncated"},
		{"garbage", "hello", Options{}, bulwark.EINVALID, "", "neither a JSON object nor an XML"},
		{"duplicate key", strings.Replace(minimal, `"name":"a"`, `"name":"a","name":"b"`, 1), Options{}, bulwark.EINVALID, "/components/0/name", "duplicate"},
		{"case variant", strings.Replace(minimal, `"components"`, `"Components"`, 1), Options{}, bulwark.EINVALID, "/Components", `"components"`},
		{"case variant nested", strings.Replace(minimal, `"name":"a"`, `"name":"a","Name":"b"`, 1), Options{}, bulwark.EINVALID, "/components/0/Name", "differs only in case"},
		{"deep json", strings.Repeat(`{"a":`, 1_000_000), Options{}, bulwark.EINVALID, "/a/a/a", "nesting deeper than 64"},
		{"deep components", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":` + strings.Repeat(`[{"name":"x","type":"library","components":`, 40), Options{}, bulwark.EINVALID, "/components/0/components", "nesting deeper"},
		{"deep xml", `<bom xmlns="http://cyclonedx.org/schema/bom/1.5">` + strings.Repeat("<a>", 1_000_000), Options{}, bulwark.EINVALID, "", "nesting deeper than 64"},
		{"oversize", minimal, Options{MaxBytes: 50}, bulwark.ETOOLARGE, "", "more than 50 bytes"},
		{"huge string", `{"bomFormat":"CycloneDX","specVersion":"1.5","serialNumber":"` + strings.Repeat("x", 3<<20) + `"}`, Options{MaxBytes: 1 << 20}, bulwark.ETOOLARGE, "", ""},
		{"spdx", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`, Options{}, bulwark.EINVALID, "/bomFormat", "no bomFormat"},
		{"csaf", `{"document":{"category":"csaf_vex"}}`, Options{}, bulwark.EINVALID, "/bomFormat", "CSAF"},
		{"other format", `{"bomFormat":"SPDX","specVersion":"1.5"}`, Options{}, bulwark.EINVALID, "/bomFormat", `"SPDX"`},
		{"bomFormat not string", `{"bomFormat":7}`, Options{}, bulwark.EINVALID, "/bomFormat", "must be strings"},
		{"unknown version", `{"bomFormat":"CycloneDX","specVersion":"9.9"}`, Options{}, bulwark.EUNSUPPORTED, "/specVersion", `"9.9"`},
		{"missing version", `{"bomFormat":"CycloneDX"}`, Options{}, bulwark.EINVALID, "/specVersion", "missing"},
		{"wrong type", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":{"name":"a"}}`, Options{}, bulwark.EINVALID, "/components", "JSON object where an array belongs"},
		{"xml not bom", `<html><body/></html>`, Options{}, bulwark.EINVALID, "html", "root element is <html>"},
		{"xml foreign ns", `<bom xmlns="http://example.com/bom"/>`, Options{}, bulwark.EINVALID, "bom", "not a CycloneDX BOM"},
		{"xml doctype", `<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "aaaa">]><bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>`, Options{}, bulwark.EINVALID, "", "DOCTYPE"},
		{"xml truncated", `<bom xmlns="http://cyclonedx.org/schema/bom/1.5"><components>`, Options{}, bulwark.EINVALID, "", ""},
		{"invalid utf8", strings.Replace(minimal, `"name":"a"`, "\"name\":\"\xff\"", 1), Options{}, bulwark.EINVALID, "/components/0/name", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Read("hostile.json", strings.NewReader(tt.doc), tt.opts)
			if err == nil {
				t.Fatalf("no error; got %+v", b)
			}
			if code := bulwark.ErrorCode(err); code != tt.code {
				t.Errorf("code = %q, want %q (%v)", code, tt.code, err)
			}
			d := bulwark.ErrorDetails(err)
			if len(d) == 0 || d[0].File != "hostile.json" {
				t.Fatalf("details do not name the file: %v", err)
			}
			if !strings.HasPrefix(d[0].Field, tt.field) {
				t.Errorf("field = %q, want prefix %q (%v)", d[0].Field, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.inMessage) {
				t.Errorf("error %q does not contain %q", err, tt.inMessage)
			}
		})
	}
}

// TestSharedExamples reads every CycloneDX example of the shared data set.
func TestSharedExamples(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "cyclonedx", "examples")
	var files, components, vex, withPURL, withCPE int
	statuses := map[bulwark.ProductStatus]int{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".xml")) {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := Read(d.Name(), f, Options{})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		files++
		components += len(b.Components)
		for _, c := range b.Components {
			if c.PURL != "" {
				withPURL++
			}
			if c.CPE != "" {
				withCPE++
			}
		}
		for _, s := range b.VEX {
			vex++
			statuses[s.Status]++
			if s.VulnID == "" || len(s.Refs) == 0 && len(b.Notes) == 0 {
				t.Errorf("%s: statement without ID, or without refs and unnoted: %+v", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d BOMs: %d components (%d with purl, %d with cpe), %d VEX statements %v", files, components, withPURL, withCPE, vex, statuses)
	if files < 40 || vex < 100 || len(statuses) != 4 {
		t.Errorf("read %d files, %d statements, statuses %v", files, vex, statuses)
	}
}
