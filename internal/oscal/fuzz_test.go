package oscal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"bulwark"
)

// FuzzReadCatalog checks that no input makes ReadCatalog panic, that every
// failure is a located user-facing error, and that every catalog it
// returns keeps Bulwark's invariants (unique IDs, parents first, titles).
func FuzzReadCatalog(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "mini-catalog.json")); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		`{"catalog":{"metadata":{"title":"t"},"controls":[{"id":"a","title":"A","parts":[{"name":"statement","prose":"{{ insert: param, p }}"}],"params":[{"id":"p","select":{"choice":["{{ insert: param, p }}"]}}]}]}}`,
		`{"catalog":{"metadata":{"title":"t"},"groups":[{"id":"g","title":"G","groups":[{"id":"h","title":"H","controls":[{"id":"a","title":"A","controls":[{"id":"b","title":"B"}]}]}]}]}}`,
		`{"catalog":{"metadata":{"title":"t","published":"2024-01-01T00:00:00Z"},"controls":[{"id":"a","title":"A","props":[{"name":"status","value":"withdrawn"}]}]}}`,
		`{"catalog":null}`, `[]`, `{"catalog":{"metadata":{"title":"t","title":"t"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cat, err := ReadCatalog(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			var be *bulwark.Error
			if !errors.As(err, &be) || len(be.Details) == 0 {
				t.Fatalf("error is not a located *bulwark.Error: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		assessable := 0
		for _, c := range cat.Controls {
			if !bulwark.ValidID(c.ID) || seen[c.ID] || c.Title == "" {
				t.Fatalf("bad or duplicate control %+v", c)
			}
			if c.Parent != "" && !seen[c.Parent] {
				t.Fatalf("control %q before its parent %q", c.ID, c.Parent)
			}
			if c.Assessable {
				assessable++
			}
			seen[c.ID] = true
		}
		if assessable == 0 {
			t.Fatal("catalog without an assessable control accepted")
		}
	})
}

// FuzzReadAssessmentResults checks that no input makes
// ReadAssessmentResults panic, that failures are located user-facing
// errors, and that what it accepts holds only valid statuses and tiers.
func FuzzReadAssessmentResults(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "results.golden.json")); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		`{"assessment-results":{"metadata":{},"results":[{"start":"2026-01-01T00:00:00Z","findings":[{"target":{"target-id":"_1.A","status":{"state":"satisfied"}}}]}]}}`,
		`{"assessment-results":{"results":[{"start":"2026-01-01T00:00:00Z","findings":[{"props":[{"ns":"https://bulwark.city/ns/oscal","name":"rev","value":"-1"}],"target":{"target-id":"x"}}]}]}}`,
		`{"assessment-results":null}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ar, err := ReadAssessmentResults(bytes.NewReader(data))
		if err != nil {
			var be *bulwark.Error
			if !errors.As(err, &be) || len(be.Details) == 0 {
				t.Fatalf("error is not a located *bulwark.Error: %v", err)
			}
			return
		}
		for _, a := range ar.Assessments {
			for _, r := range a.Results {
				if !r.Status.Valid() || r.Status == bulwark.StatusNotAssessed || r.Control == "" ||
					r.CurrentTier < 0 || r.CurrentTier > bulwark.MaxTier || r.TargetTier < 0 || r.TargetTier > bulwark.MaxTier || r.Rev < 0 {
					t.Fatalf("accepted a bad result %+v", r)
				}
			}
		}
	})
}
