package oscal

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"bulwark"
	"bulwark/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// arSchema compiles NIST's assessment-results schema once, asserting
// formats (date-time, uri, uri-reference) as well as patterns.
func arSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		f, err := os.Open(filepath.Join("testdata", "oscal_assessment-results_schema.json"))
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource("oscal_assessment-results_schema.json", doc); err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = c.Compile("oscal_assessment-results_schema.json")
	})
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return schema
}

func validate(t *testing.T, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return arSchema(t).Validate(inst)
}

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// sample returns two assessments, one against each built-in catalog,
// covering every status, tiers, notes with characters that need escaping,
// and every kind of evidence.
func sample() ([]*bulwark.Assessment, []*bulwark.Catalog) {
	csf := &bulwark.Assessment{
		ID: "asmt-water-csf", Owner: "water-utility", Catalog: "csf-2.0",
		ScopeKind: "service", Scope: "drinking-water", Title: "Drinking water, CSF 2.0",
		CreatedAt: t0, UpdatedAt: t0.Add(48 * time.Hour),
		Results: []bulwark.ControlResult{
			{Control: "GV.OC-01", Status: bulwark.StatusImplemented, CurrentTier: 3, TargetTier: 4,
				Notes: "Mission statement reviewed by the board, \"2026\" edition;\nsee minutes.", Assessor: "alice",
				At: t0.Add(time.Hour), Rev: 2,
				Evidence: []bulwark.Evidence{
					{Kind: "link", Title: "Board minutes", URL: "https://intranet.example/minutes/2026-02"},
					{Kind: "file", Title: "mission.pdf", SHA256: strings.Repeat("ab", 32), Size: 48213},
					{Kind: "note", Title: "Checked with the CEO"},
				}},
			{Control: "ID.AM-01", Status: bulwark.StatusPartial, CurrentTier: 2, TargetTier: 3,
				Notes: "=HYPERLINK(\"http://evil.example\")", Assessor: "bob", At: t0.Add(2 * time.Hour), Rev: 1},
			{Control: "PR.AA-01", Status: bulwark.StatusNotImplemented, Assessor: "bob", At: t0.Add(3 * time.Hour), Rev: 3},
			{Control: "RC.RP-01", Status: bulwark.StatusNotApplicable, Notes: "No recovery plan in scope.", Assessor: "carol", At: t0.Add(4 * time.Hour), Rev: 1},
			{Control: "DE.CM-01", Status: bulwark.StatusNotAssessed, Rev: 0},
		},
	}
	cpg := &bulwark.Assessment{
		ID: "asmt-city-cpg", Owner: "city-hall", Catalog: "cpg-2.0",
		ScopeKind: bulwark.ScopeOrganization, Scope: "city-hall", Title: "City hall, CPG 2.0",
		CreatedAt: t0, UpdatedAt: t0,
		Results: []bulwark.ControlResult{
			{Control: "1.A", Status: bulwark.StatusImplemented, Assessor: "dora", At: t0, Rev: 1,
				Evidence: []bulwark.Evidence{{Kind: "link", Title: "Org chart", URL: "https://city.example/org"}}},
			{Control: "3.F", Status: bulwark.StatusPartial, Notes: "+MFA on VPN only", Assessor: "dora", At: t0, Rev: 4},
		},
	}
	return []*bulwark.Assessment{csf, cpg}, catalog.Builtin()
}

func writeSample(t *testing.T) []byte {
	t.Helper()
	as, cats := sample()
	var b bytes.Buffer
	if err := WriteAssessmentResults(&b, AssessmentResults{Assessments: as, Catalogs: cats}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/oscal -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./internal/oscal -update and review the diff)", name)
	}
}

func TestWriteAssessmentResultsSchema(t *testing.T) {
	out := writeSample(t)
	if err := validate(t, out); err != nil {
		t.Fatalf("output does not validate against NIST's schema: %v", err)
	}
	golden(t, "results.golden.json", out)
	if again := writeSample(t); !bytes.Equal(out, again) {
		t.Error("two writes of the same input differ")
	}

	// The schema check must be able to fail: break the document in the
	// ways a careless writer would and expect each to be refused.
	firstUUID := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}`).FindString(string(out))
	breakages := []struct{ name, from, to string }{
		{"uuid v1", firstUUID, firstUUID[:14] + "1" + firstUUID[15:]},
		{"bad state", `"state": "satisfied"`, `"state": "passed"`},
		{"bad token", `"target-id": "GV.OC-01"`, `"target-id": "GV OC 01"`},
		{"bad time", `"start": "2026-03-02T09:30:00Z"`, `"start": "2026-03-02 09:30"`},
		{"empty prop value", `"value": "alice"`, `"value": " alice"`},
	}
	for _, b := range breakages {
		bad := strings.Replace(string(out), b.from, b.to, 1)
		if bad == string(out) {
			t.Fatalf("%s: %q not in the output", b.name, b.from)
		}
		if err := validate(t, []byte(bad)); err == nil {
			t.Errorf("%s: schema accepted a broken document", b.name)
		}
	}
}

func TestWriteAssessmentResultsContent(t *testing.T) {
	out := string(writeSample(t))
	for _, want := range []string{
		`"oscal-version": "1.1.2"`,
		`"href": "#bulwark-assessment-plan"`,
		`"last-modified": "2026-03-04T09:30:00Z"`, // newest UpdatedAt
		`"target-id": "_1.A"`,                     // CPG IDs start with a digit
		`"control-id": "_3.F"`,
		`"ns": "` + Namespace + `"`,
		`"name": "sha256"`,
		`"value": "` + strings.Repeat("ab", 32) + `"`,
		`"href": "https://intranet.example/minutes/2026-02"`,
		`"methods": [`,
		`"title": "GV.OC-01 The organizational mission is understood and informs cybersecurity risk management"`,
		`"title": "3.F Implement Multi-factor Authentication"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if strings.Contains(out, "DE.CM-01") {
		t.Error("a control never assessed was exported")
	}
	// UUIDs are version 5, derived from the assessment and control.
	want := uuid.NewSHA1(uuidSpace, []byte("finding\x00asmt-water-csf\x00GV.OC-01")).String()
	if !strings.Contains(out, `"uuid": "`+want+`"`) {
		t.Errorf("finding UUID %s not found", want)
	}
	if u := uuid.MustParse(want); u.Version() != 5 {
		t.Errorf("UUID version %d", u.Version())
	}
}

func TestAssessmentResultsRoundTrip(t *testing.T) {
	as, _ := sample()
	got, err := ReadAssessmentResults(bytes.NewReader(writeSample(t)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "1" || got.Title != "Bulwark assessment results" || !got.LastModified.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("header %q %q %v", got.Title, got.Version, got.LastModified)
	}
	if len(got.Assessments) != len(as) {
		t.Fatalf("%d assessments read back, want %d", len(got.Assessments), len(as))
	}
	for i, want := range as {
		// Controls not assessed are not exported.
		var results []bulwark.ControlResult
		for _, r := range want.Results {
			if r.Status != bulwark.StatusNotAssessed {
				results = append(results, r)
			}
		}
		want.Results = results
		if !reflect.DeepEqual(got.Assessments[i], want) {
			t.Errorf("assessment %d read back as\n%+v\nwant\n%+v", i, *got.Assessments[i], *want)
		}
	}
}

func TestWriteAssessmentResultsErrors(t *testing.T) {
	ok := func() *bulwark.Assessment {
		return &bulwark.Assessment{ID: "a", Owner: "o", Catalog: "c", CreatedAt: t0, UpdatedAt: t0,
			Results: []bulwark.ControlResult{{Control: "x-1", Status: bulwark.StatusPartial, At: t0, Rev: 1}}}
	}
	tests := []struct {
		name   string
		ar     AssessmentResults
		substr string
	}{
		{"none", AssessmentResults{}, "at least one assessment"},
		{"nil", AssessmentResults{Assessments: []*bulwark.Assessment{nil}}, "nil"},
		{"twice", AssessmentResults{Assessments: []*bulwark.Assessment{ok(), ok()}}, "listed twice"},
		{"no times", AssessmentResults{Assessments: []*bulwark.Assessment{{ID: "a"}}}, "last-modified"},
		{"no creation", AssessmentResults{LastModified: t0, Assessments: []*bulwark.Assessment{{ID: "a"}}}, "creation time"},
		{"bad status", AssessmentResults{Assessments: []*bulwark.Assessment{func() *bulwark.Assessment {
			a := ok()
			a.Results[0].Status = "done"
			return a
		}()}}, "unknown status"},
		{"control twice", AssessmentResults{Assessments: []*bulwark.Assessment{func() *bulwark.Assessment {
			a := ok()
			a.Results = append(a.Results, a.Results[0])
			return a
		}()}}, "two results"},
		{"colon id", AssessmentResults{Assessments: []*bulwark.Assessment{func() *bulwark.Assessment {
			a := ok()
			a.Results[0].Control = "ns:x"
			return a
		}()}}, "cannot be written as an OSCAL token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteAssessmentResults(&bytes.Buffer{}, tt.ar)
			if bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("err %v, want invalid with %q", err, tt.substr)
			}
		})
	}
	// An assessment with no results still gives a valid document.
	a := ok()
	a.Results = nil
	var b bytes.Buffer
	if err := WriteAssessmentResults(&b, AssessmentResults{Assessments: []*bulwark.Assessment{a}}); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, b.Bytes()); err != nil {
		t.Errorf("empty assessment: %v", err)
	}
}

func TestReadAssessmentResultsErrors(t *testing.T) {
	valid := string(writeSample(t))
	tests := []struct{ name, doc, field, msg string }{
		{"catalog", `{"catalog":{}}`, "/catalog", "unexpected top-level member"},
		{"null", `{"assessment-results":null}`, "/assessment-results", "null"},
		{"no results", `{"assessment-results":{"metadata":{"title":"t"}}}`, "/assessment-results/results", "no results"},
		{"truncated", valid[:len(valid)-40], "", "unexpected end of input"},
		{"bad start", strings.Replace(valid, `"start": "2026-03-02T09:30:00Z"`, `"start": "soon"`, 1), "/assessment-results/results/0/start", "bad date-time"},
		{"bad status", strings.Replace(valid, `"value": "partial"`, `"value": "halfway"`, 1), "/assessment-results/results/0/findings/1/props", "unknown status"},
		{"bad tier", strings.Replace(valid, `"value": "4"`, `"value": "9"`, 1), "/assessment-results/results/0/findings/0/props", "target-tier"},
		{"dangling observation", strings.Replace(valid, `"observation-uuid": "`, `"observation-uuid": "0`, 1), "/assessment-results/results/0/findings/0/related-observations/0/observation-uuid", "no observation"},
		{"wrong type", strings.Replace(valid, `"findings": [`, `"findings": {"x": [`, 1), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadAssessmentResults(strings.NewReader(tt.doc))
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Fatalf("err %v, want invalid", err)
			}
			d := bulwark.ErrorDetails(err)
			if len(d) != 1 || !strings.HasPrefix(d[0].Field, tt.field) || !strings.Contains(d[0].Message, tt.msg) {
				t.Errorf("details %+v, want field %q message %q", d, tt.field, tt.msg)
			}
		})
	}
	saved := MaxBytes
	t.Cleanup(func() { MaxBytes = saved })
	MaxBytes = int64(len(valid)) - 1
	if _, err := ReadAssessmentResults(strings.NewReader(valid)); bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("oversized: %v", err)
	}
}

func TestWriteResultsCSV(t *testing.T) {
	as, cats := sample()
	var b bytes.Buffer
	if err := WriteResultsCSV(&b, as, cats); err != nil {
		t.Fatal(err)
	}
	golden(t, "results.golden.csv", b.Bytes())
	rows, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("output is not RFC 4180 CSV: %v", err)
	}
	if !reflect.DeepEqual(rows[0], CSVHeader) {
		t.Errorf("header %v", rows[0])
	}
	// One row per assessable control of each catalog.
	want := 1
	for _, c := range cats {
		for _, ctl := range c.Controls {
			if ctl.Assessable {
				want++
			}
		}
	}
	if len(rows) != want {
		t.Errorf("%d rows, want %d", len(rows), want)
	}
	byKey := map[string][]string{}
	for _, r := range rows[1:] {
		if len(r) != len(CSVHeader) {
			t.Fatalf("row of %d cells: %v", len(r), r)
		}
		byKey[r[0]+"/"+r[5]] = r
	}
	checks := []struct {
		key  string
		col  int
		want string
	}{
		{"asmt-water-csf/GV.OC-01", 7, "implemented"},
		{"asmt-water-csf/GV.OC-01", 8, "3"},
		{"asmt-water-csf/GV.OC-01", 9, "4"},
		{"asmt-water-csf/GV.OC-01", 11, "2026-03-02T10:30:00Z"},
		{"asmt-water-csf/GV.OC-01", 13, "3"},
		{"asmt-water-csf/GV.OC-01", 14, "Mission statement reviewed by the board, \"2026\" edition;\nsee minutes."},
		{"asmt-water-csf/GV.OC-01", 2, "service"},
		{"asmt-water-csf/ID.AM-01", 14, "'=HYPERLINK(\"http://evil.example\")"}, // formula defused
		{"asmt-city-cpg/3.F", 14, "'+MFA on VPN only"},
		{"asmt-city-cpg/3.F", 6, "Implement Multi-factor Authentication"},
		{"asmt-water-csf/GV.OC-01", 6, "The organizational mission is understood and informs cybersecurity risk management"},
		{"asmt-city-cpg/2.A", 7, ""}, // not assessed yet
		{"asmt-city-cpg/2.A", 13, "0"},
		{"asmt-water-csf/DE.CM-01", 7, ""},
	}
	for _, c := range checks {
		r, ok := byKey[c.key]
		if !ok {
			t.Errorf("no row %s", c.key)
			continue
		}
		if r[c.col] != c.want {
			t.Errorf("%s %s = %q, want %q", c.key, CSVHeader[c.col], r[c.col], c.want)
		}
	}
}

// TestWriteResultsCSVWithoutCatalog writes the results alone when the
// catalog is not given.
func TestWriteResultsCSVWithoutCatalog(t *testing.T) {
	as, _ := sample()
	var b bytes.Buffer
	if err := WriteResultsCSV(&b, as[:1], nil); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(as[0].Results) {
		t.Errorf("%d rows, want %d", len(rows), 1+len(as[0].Results))
	}
}

// BenchmarkWriteAssessmentResults exports a full CSF 2.0 assessment: 106
// results, each with one piece of evidence.
func BenchmarkWriteAssessmentResults(b *testing.B) {
	csf, _ := catalog.BuiltinByID("csf-2.0")
	a := &bulwark.Assessment{ID: "bench", Owner: "o", Catalog: "csf-2.0", CreatedAt: t0, UpdatedAt: t0}
	for _, c := range csf.Controls {
		if c.Assessable {
			a.Results = append(a.Results, bulwark.ControlResult{Control: c.ID, Status: bulwark.StatusPartial,
				CurrentTier: 2, TargetTier: 3, Notes: "note", Assessor: "x", At: t0, Rev: 1,
				Evidence: []bulwark.Evidence{{Kind: "link", Title: "doc", URL: "https://example.org/" + c.ID}}})
		}
	}
	ar := AssessmentResults{Assessments: []*bulwark.Assessment{a}, Catalogs: []*bulwark.Catalog{csf}}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteAssessmentResults(&buf, ar); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
