package stix

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"bulwark"
	"bulwark/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const schemaBase = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"

// compileSchemas loads every schema under dir by its $id and compiles the
// ones named (paths relative to the schemas directory).
func compileSchemas(t testing.TB, dir string, names ...string) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			return fmt.Errorf("%s: no $id", path)
		}
		return c.AddResource(id, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, n := range names {
		s, err := c.Compile(schemaBase + n)
		if err != nil {
			t.Fatalf("compile %s: %v", n, err)
		}
		out[n] = s
	}
	return out
}

func schemaPath(typ string) string {
	switch KindOf(typ) {
	case KindSDO:
		return "sdos/" + typ + ".json"
	case KindSRO:
		return "sros/" + typ + ".json"
	case KindSCO:
		return "observables/" + typ + ".json"
	}
	return "common/" + typ + ".json"
}

func validateSchema(t *testing.T, schemas map[string]*jsonschema.Schema, o *Object) {
	t.Helper()
	s := schemas[schemaPath(o.Type())]
	if s == nil {
		t.Fatalf("no schema for %s", o.Type())
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(o.JSON()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s does not validate against %s:\n%v\n%s", o.ID(), schemaPath(o.Type()), err, o.JSON())
	}
}

var (
	t0        = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	t1        = t0.Add(36 * time.Hour)
	testScope = "port-halden.example"
)

// sampleObjects builds one of every object Bulwark produces, from fixed
// inputs: the golden file and the schema tests run over them.
func sampleObjects(t testing.TB) []*Object {
	t.Helper()
	p := Publisher{IdentityID: OrganizationID(testScope, "city-water"), TLP: Amber}
	must := func(o *Object, err error) *Object {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	times := Times{Created: t0, Modified: t1}
	org := must(p.Organization(testScope, bulwark.Organization{ID: "city-water", Name: "Port Halden Water Department", Purview: bulwark.PurviewCity,
		Contacts: []bulwark.Contact{{Name: "Ana", Email: "ana@example.org"}}}, times))
	vuln := must(p.Vulnerability(&bulwark.Vulnerability{
		ID: "CVE-2019-10929", Aliases: []string{"CVE-2019-10929", "ICSA-19-192-04"},
		Published: time.Date(2019, 7, 11, 22, 15, 0, 0, time.UTC), Modified: time.Date(2022, 10, 7, 12, 0, 0, 0, time.UTC),
		Description: "A vulnerability has been identified in SIMATIC S7-1200 and S7-1500 CPU families: weak cryptography allows a man-in-the-middle to modify traffic.",
		CWEs:        []string{"CWE-327", "NVD-CWE-noinfo"},
		CVSS:        []bulwark.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", BaseScore: 5.9, Source: "nvd@nist.gov", Primary: true}},
		References: []bulwark.Reference{{URL: "https://cert-portal.siemens.com/productcert/pdf/ssa-232418.pdf", Tags: []string{"Vendor Advisory"}},
			{URL: "javascript:alert(1)"}, {URL: "https://cert-portal.siemens.com/productcert/pdf/ssa-232418.pdf"}},
		KEV: &bulwark.KEVEntry{DateAdded: time.Date(2023, 1, 10, 0, 0, 0, 0, time.UTC), DueDate: time.Date(2023, 1, 31, 0, 0, 0, 0, time.UTC),
			RequiredAction: "Apply updates per vendor instructions."},
		EPSS: &bulwark.EPSSScore{Score: 0.01},
	}))
	advisory := must(p.Vulnerability(&bulwark.Vulnerability{ID: "ICSA-24-123-01", Published: t0, Description: "Advisory without a CVE."}))
	fix := must(p.Remediation("CVE-2019-10929", bulwark.Remediation{Category: "vendor_fix", Details: "Update to V4.4 or later.",
		URL: "https://cert-portal.siemens.com/productcert/pdf/ssa-232418.pdf", Products: []string{"CSAFPID-2", "CSAFPID-1"}, Source: "siemens"}, times))
	coa := must(p.CourseOfAction("advisory-2026-004", CourseOfAction{Name: "Isolate PLC programming ports", Description: "Block TCP/102 from the office network."}, times))
	mitigates := must(p.Relationship("mitigates", fix.ID(), vuln.ID(), times))
	service := must(p.Service(bulwark.Service{ID: "water-supply", Name: "Drinking water supply", Sector: bulwark.SectorWater, Population: 182000}, times))
	system := must(p.System(bulwark.System{ID: "scada-water", Name: "Water SCADA", Zone: "ot", InternetExposed: true}, times))
	consists := must(p.Relationship("consists-of", service.ID(), system.ID(), times))
	ind := must(p.Indicator("modbus-office-vlan", Indicator{Name: "Modbus writes from the office VLAN", IndicatorTypes: []string{"anomalous-activity"},
		Pattern: "[network-traffic:dst_port = 502]", ValidUntil: At(t1.Add(90 * 24 * time.Hour))}, times))
	sighting := must(p.Finding(bulwark.Finding{AssetID: "plc-7", VulnID: "CVE-2019-10929", Status: bulwark.FindingOpen, Confidence: bulwark.ConfidenceExact,
		FirstSeen: t0, LastSeen: t1, KEV: true, Decision: "act"}, vuln.ID(), org.ID(), Times{}))
	report := must(p.Report("weekly-2026-10", Report{Name: "Weekly exposure summary", ReportTypes: []string{"vulnerability"},
		ObjectRefs: []string{vuln.ID(), sighting.ID()}}, times))
	grouping := must(p.Grouping("triage-2026-03", Grouping{Context: "suspicious-activity", ObjectRefs: []string{ind.ID()}}, times))
	note := must(p.Note("note-1", Note{Content: "Confirmed with the vendor: the fix needs a CPU restart.", Authors: []string{"Water OT team"},
		ObjectRefs: []string{fix.ID()}}, times))
	incident := must(p.Incident("inc-2026-007", Incident{Name: "Pump station 4 outage", Description: "Unplanned stop of pumps 2 and 3."}, times))
	revoked := must(Revoke(coa, t1.Add(time.Hour)))
	out := []*Object{org, vuln, advisory, fix, coa, mitigates, service, system, consists, ind, sighting, report, grouping, note, incident, revoked}
	for _, m := range Markings {
		out = append(out, m.MarkingDefinition())
	}
	return out
}

// TestProducedObjectsValidate checks every object Bulwark produces against
// the OASIS STIX 2.1 JSON schemas (copied into testdata), the rules the
// schemas do not cover (Validate), and a strict re-decode.
func TestProducedObjectsValidate(t *testing.T) {
	objs := sampleObjects(t)
	schemas := compileSchemas(t, "testdata/schemas", "sdos/vulnerability.json", "sdos/identity.json", "sdos/course-of-action.json",
		"sdos/infrastructure.json", "sdos/indicator.json", "sdos/report.json", "sdos/grouping.json", "sdos/note.json", "sdos/incident.json",
		"sros/relationship.json", "sros/sighting.json", "common/marking-definition.json")
	seen := map[string]bool{}
	for _, o := range objs {
		seen[o.Type()] = true
		validateSchema(t, schemas, o)
		if p := Validate(o); len(p) > 0 {
			t.Errorf("%s: %v", o.ID(), p)
		}
		again, err := ParseObject(o.JSON(), Limits{})
		if err != nil || !again.Equal(o) {
			t.Errorf("%s: re-decode %v", o.ID(), err)
		}
		if _, v, _ := ParseID(o.ID()); v != 5 && !IsTLPID(o.ID()) {
			t.Errorf("%s: not a deterministic (v5) id", o.ID())
		}
	}
	for _, typ := range []string{"vulnerability", "indicator", "course-of-action", "incident", "report", "grouping", "identity",
		"infrastructure", "relationship", "sighting", "note", "marking-definition"} {
		if !seen[typ] {
			t.Errorf("no sample of %s", typ)
		}
	}
}

// TestProducedBundleFullSchemaSet validates the produced objects against the
// complete OASIS schema set of the shared data set: each object against its
// type's schema, and the objects as one bundle against bundle.json. That
// bundle schema lists neither grouping, note nor incident (nor location and
// opinion), and its fallback for custom objects matches both core.json and
// cyber-observable-core.json, so its oneOf rejects those types whatever they
// hold; they are checked against their own schemas only.
func TestProducedBundleFullSchemaSet(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "stix2.1", "schemas")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: no STIX schemas in the shared data set: %v", err)
	}
	objs := sampleObjects(t)
	names := []string{"common/bundle.json"}
	seen := map[string]bool{}
	for _, o := range objs {
		if p := schemaPath(o.Type()); !seen[p] {
			seen[p] = true
			names = append(names, p)
		}
	}
	schemas := compileSchemas(t, dir, names...)
	notInBundleSchema := map[string]bool{"grouping": true, "note": true, "incident": true}
	var listed []*Object
	for _, o := range objs {
		validateSchema(t, schemas, o)
		if !notInBundleSchema[o.Type()] {
			listed = append(listed, o)
		}
	}
	var buf bytes.Buffer
	if err := EncodeBundle(&buf, "bundle--0e8f5b1c-7a2d-4c3e-9f4a-5b6c7d8e9f0a", listed); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas["common/bundle.json"].Validate(inst); err != nil {
		t.Errorf("produced bundle does not validate against bundle.json: %v", err)
	}
}

// TestGoldenPublished pins the produced objects byte for byte (canonical
// JSON, indented for review).
func TestGoldenPublished(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeBundle(&buf, "bundle--0e8f5b1c-7a2d-4c3e-9f4a-5b6c7d8e9f0a", sampleObjects(t)); err != nil {
		t.Fatal(err)
	}
	v := jsontext.Value(buf.Bytes())
	if err := v.Indent(jsontext.WithIndent("  ")); err != nil {
		t.Fatal(err)
	}
	got := append([]byte(v), '\n')
	golden := filepath.Join("testdata", "golden", "published.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("produced objects differ from %s (run with -update after checking the change)", golden)
	}
	// The golden bundle is itself importable and canonical.
	roundTrip(t, golden, want)
}

// TestDeterministicIDs checks that publishing the same records again gives
// the same ids and the same bytes, and that a later version keeps id and
// created while modified moves.
func TestDeterministicIDs(t *testing.T) {
	a, b := sampleObjects(t), sampleObjects(t)
	for i := range a {
		if !a[i].Equal(b[i]) {
			t.Errorf("%s differs between two publications", a[i].ID())
		}
	}
	p := Publisher{IdentityID: OrganizationID(testScope, "city-water")}
	v := &bulwark.Vulnerability{ID: "CVE-2024-0001", Published: t0, Modified: t0}
	v1, err := p.Vulnerability(v)
	if err != nil {
		t.Fatal(err)
	}
	v.Modified, v.Description = t1, "now described"
	v2, err := p.Vulnerability(v)
	if err != nil {
		t.Fatal(err)
	}
	if v1.ID() != v2.ID() || !v1.Created().Equal(v2.Created()) || !v2.Modified().After(v1.Modified()) {
		t.Errorf("versions: %s %s / %s %s", v1.ID(), v1.Version(), v2.ID(), v2.Version())
	}
	other := Publisher{IdentityID: OrganizationID(testScope, "city-power")}
	v3, err := other.Vulnerability(v)
	if err != nil {
		t.Fatal(err)
	}
	if v3.ID() == v2.ID() {
		t.Error("two publishers share a vulnerability id")
	}
	if OrganizationID("a.example", "x") == OrganizationID("b.example", "x") {
		t.Error("scope does not separate organizations")
	}
	if DeterministicID("note", "a-b", "c") == DeterministicID("note", "a", "b-c") {
		t.Error("parts are not separated")
	}
	if typ, ver, ok := ParseID(NewID("incident")); !ok || typ != "incident" || ver != 4 {
		t.Errorf("NewID: %s %d %v", typ, ver, ok)
	}
}

func TestObservableID(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		// Vector agreed by several independent implementations.
		{in: `{"type":"domain-name","value":"example.com"}`, want: "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
		{in: `{"type":"domain-name","id":"domain-name--00000000-0000-4000-8000-000000000000","value":"example.com","x_extra":1}`, want: "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
		{in: `{"type":"ipv4-addr","value":"198.51.100.1"}`, want: "ipv4-addr--2b3e2c17-3144-5591-9c88-a605220f8c0c"},
		{in: `{"type":"file","hashes":{"SHA-256":"aa","MD5":"bb"},"name":"a.exe"}`, want: ObservableIDOf(`{"hashes":{"MD5":"bb"},"name":"a.exe"}`, "file")},
		{in: `{"type":"file","hashes":{"x-custom":"cc","SSDEEP":"dd"}}`, want: ObservableIDOf(`{"hashes":{"SSDEEP":"dd"}}`, "file")},
		{in: `{"type":"software","name":"S7-1500","vendor":"Siemens","cpe":"cpe:2.3:h:siemens:s7-1500:-:*:*:*:*:*:*:*"}`,
			want: ObservableIDOf(`{"cpe":"cpe:2.3:h:siemens:s7-1500:-:*:*:*:*:*:*:*","name":"S7-1500","vendor":"Siemens"}`, "software")},
		{in: `{"type":"process","pid":1}`, err: "no deterministic identifier"},
		{in: `{"type":"url"}`, err: "none of its ID-contributing properties"},
		{in: `{"value":"x"}`, err: "missing type"},
		{in: `[]`, err: "observable"},
	} {
		got, err := ObservableID([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want error %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

// ObservableIDOf computes the expected id independently of the
// contributing-property selection: UUIDv5 over the given canonical JSON.
func ObservableIDOf(canon, typ string) string {
	return typ + "--" + uuidv5(STIXNamespace.String(), canon)
}

func TestBuildersRejectBadInput(t *testing.T) {
	p := Publisher{IdentityID: OrganizationID(testScope, "city-water")}
	times := Times{Created: t0}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"no publisher", func() error { _, err := (Publisher{}).Incident("k", Incident{Name: "n"}, times); return err }()},
		{"publisher not identity", func() error {
			_, err := (Publisher{IdentityID: testIndID}).Incident("k", Incident{Name: "n"}, times)
			return err
		}()},
		{"no created", func() error { _, err := p.Incident("k", Incident{Name: "n"}, Times{}); return err }()},
		{"modified before created", func() error {
			_, err := p.Incident("k", Incident{Name: "n"}, Times{Created: t1, Modified: t0})
			return err
		}()},
		{"bad TLP", func() error {
			_, err := (Publisher{IdentityID: p.IdentityID, TLP: 9}).Incident("k", Incident{Name: "n"}, times)
			return err
		}()},
		{"vulnerability without id", func() error { _, err := p.Vulnerability(&bulwark.Vulnerability{}); return err }()},
		{"vulnerability without dates", func() error { _, err := p.Vulnerability(&bulwark.Vulnerability{ID: "CVE-2024-0001"}); return err }()},
		{"relationship to marking", func() error { _, err := p.Relationship("related-to", testIndID, TLPRedID, times); return err }()},
		{"relationship bad type", func() error { _, err := p.Relationship("Related To", testIndID, testCampID, times); return err }()},
		{"finding of non-vulnerability", func() error {
			_, err := p.Finding(bulwark.Finding{AssetID: "a", VulnID: "v", FirstSeen: t0}, testIndID, "", Times{})
			return err
		}()},
		{"report without refs", func() error { _, err := p.Report("r", Report{Name: "r"}, times); return err }()},
		{"note without content", func() error { _, err := p.Note("n", Note{ObjectRefs: []string{testIndID}}, times); return err }()},
		{"indicator without pattern", func() error { _, err := p.Indicator("i", Indicator{}, times); return err }()},
		{"sighting of observable", func() error {
			_, err := p.Sighting("s", Sighting{SightingOfRef: "ipv4-addr--2b3e2c17-3144-5591-9c88-a605220f8c0c"}, times)
			return err
		}()},
		{"organization without name", func() error { _, err := p.Organization(testScope, bulwark.Organization{ID: "x"}, times); return err }()},
		{"revoke unversioned", func() error { _, err := Revoke(Red.MarkingDefinition(), t1); return err }()},
	} {
		if tc.err == nil {
			t.Errorf("%s: built", tc.name)
		} else if code := bulwark.ErrorCode(tc.err); code != bulwark.EINVALID {
			t.Errorf("%s: code %s: %v", tc.name, code, tc.err)
		}
	}
}

func TestTypedViews(t *testing.T) {
	objs := sampleObjects(t)
	byType := map[string]*Object{}
	for _, o := range objs {
		if byType[o.Type()] == nil {
			byType[o.Type()] = o
		}
	}
	v, err := byType["vulnerability"].AsVulnerability()
	if err != nil || v.Name != "CVE-2019-10929" || v.ExternalReferences[0].ExternalID != "CVE-2019-10929" || v.Custom["x_bulwark_kev"] == nil {
		t.Errorf("vulnerability view %+v %v", v, err)
	}
	if _, err := byType["vulnerability"].AsIndicator(); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("wrong view: %v", err)
	}
	s, err := byType["sighting"].AsSighting()
	if err != nil || s.SightingOfRef != byType["vulnerability"].ID() || *s.Count != 1 || s.Custom["x_bulwark_status"] == nil {
		t.Errorf("sighting view %+v %v", s, err)
	}
	// A view encodes back to the same object (custom properties kept).
	again, err := New(v)
	if err != nil || !again.Equal(byType["vulnerability"]) {
		t.Errorf("view round trip: %v\n%s\n%s", err, again.JSON(), byType["vulnerability"].JSON())
	}
	md, err := byType["marking-definition"].AsMarkingDefinition()
	if err != nil || md.Name != "TLP:CLEAR" {
		t.Errorf("marking view %+v %v", md, err)
	}
	for typ, f := range map[string]func(*Object) error{
		"identity":         func(o *Object) error { _, err := o.AsIdentity(); return err },
		"course-of-action": func(o *Object) error { _, err := o.AsCourseOfAction(); return err },
		"infrastructure":   func(o *Object) error { _, err := o.AsInfrastructure(); return err },
		"indicator":        func(o *Object) error { _, err := o.AsIndicator(); return err },
		"relationship":     func(o *Object) error { _, err := o.AsRelationship(); return err },
		"report":           func(o *Object) error { _, err := o.AsReport(); return err },
		"grouping":         func(o *Object) error { _, err := o.AsGrouping(); return err },
		"note":             func(o *Object) error { _, err := o.AsNote(); return err },
		"incident":         func(o *Object) error { _, err := o.AsIncident(); return err },
	} {
		if err := f(byType[typ]); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

func uuidv5(ns, name string) string {
	return uuid.NewSHA1(uuid.MustParse(ns), []byte(name)).String()
}
