package csaf

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/testenv"
)

// TestCISACorpus parses every CISA advisory of the shared data set and
// reports what their product trees carry, which is what an inventory
// matcher can rely on.
func TestCISACorpus(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "csaf", "cisa")
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// The ROLIE feed lives beside the advisories; it is not one.
		if strings.HasSuffix(path, ".json.gz") && !strings.Contains(d.Name(), "feed") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2000 {
		t.Fatalf("found only %d advisories under %s", len(files), dir)
	}
	var (
		vulns, statements, products, withCPE, withPURL, withModels, withRange, withVersion, related int
		noCVE, warnings, remediationsWithProducts                                                   int
		cves                                                                                        = map[string]bool{}
		statuses                                                                                    = map[bulwark.ProductStatus]int{}
	)
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Read(filepath.Base(path), f, Options{})
		f.Close()
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if a.ID == "" || a.Current.IsZero() || !strings.HasPrefix(a.Vulns[0].Sources[0].Source, "csaf:") {
			t.Errorf("%s: incomplete metadata %q %v", path, a.ID, a.Current)
		}
		warnings += len(a.Warnings)
		for _, p := range a.Products {
			products++
			if p.CPE != "" {
				withCPE++
			}
			if p.PURL != "" {
				withPURL++
			}
			if len(p.Models) > 0 {
				withModels++
			}
			if p.Range != "" {
				withRange++
			}
			if p.Version != "" {
				withVersion++
			}
			if p.Platform != "" {
				related++
			}
		}
		for _, v := range a.Vulns {
			vulns++
			if strings.HasPrefix(v.ID, "CVE-") {
				cves[v.ID] = true
			} else {
				noCVE++
			}
			for _, ap := range v.Affected {
				statements++
				statuses[ap.Status]++
				if ap.ProductID == "" || ap.Source != a.ID {
					t.Errorf("%s: statement without product or source: %+v", path, ap)
				}
			}
			for _, r := range v.Remediations {
				if len(r.Products) > 0 {
					remediationsWithProducts++
				}
			}
		}
	}
	t.Logf("%d advisories: %d vulnerabilities (%d distinct CVEs, %d without CVE), %d product statements %v",
		len(files), vulns, len(cves), noCVE, statements, statuses)
	t.Logf("%d products: %d with cpe, %d with purl, %d with model_numbers, %d with version-range text, %d with exact version, %d from relationships",
		products, withCPE, withPURL, withModels, withRange, withVersion, related)
	t.Logf("%d remediations name products; %d warnings", remediationsWithProducts, warnings)
	if len(cves) < 6000 || withModels == 0 || withRange == 0 {
		t.Errorf("corpus looks wrong: %d CVEs, %d products with models, %d with ranges", len(cves), withModels, withRange)
	}
}

// TestSpecTestDocuments parses the OASIS conformance documents that
// testcases.json marks valid. Parse is not a validator, so the invalid ones
// are only required not to panic and, when rejected, to say where.
func TestSpecTestDocuments(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "csaf-spec", "csaf_2.0", "test", "validator", "data")
	raw, err := os.ReadFile(filepath.Join(dir, "testcases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases struct {
		Tests []struct {
			ID       string                  `json:"id"`
			Valid    []struct{ Name string } `json:"valid"`
			Failures []struct{ Name string } `json:"failures"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	valid, invalidRejected, invalidAccepted := 0, 0, 0
	for _, tc := range cases.Tests {
		for _, v := range tc.Valid {
			data, err := os.ReadFile(filepath.Join(dir, v.Name))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(v.Name, data, Options{}); err != nil {
				t.Errorf("test %s: valid document rejected: %v", tc.ID, err)
			}
			valid++
		}
		for _, v := range tc.Failures {
			data, err := os.ReadFile(filepath.Join(dir, v.Name))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(v.Name, data, Options{}); err != nil {
				invalidRejected++
				if d := bulwark.ErrorDetails(err); len(d) == 0 || d[0].File != v.Name {
					t.Errorf("test %s: error does not name the file: %v", tc.ID, err)
				}
			} else {
				invalidAccepted++
			}
		}
	}
	if valid < 50 {
		t.Errorf("only %d valid documents found", valid)
	}
	t.Logf("%d valid documents parsed; of the invalid ones %d rejected, %d read leniently (semantic rules are a validator's job)",
		valid, invalidRejected, invalidAccepted)
}

// TestSpecExamplesAll parses every CSAF example of the specification.
func TestSpecExamplesAll(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "csaf-spec", "csaf_2.0", "examples", "csaf")
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		a, err := Parse(d.Name(), data, Options{})
		if err != nil {
			t.Errorf("%v", err)
			return nil
		}
		n++
		// Every example has a product tree; one (rhsa-2019_1862) has no
		// vulnerabilities.
		if a.ID == "" || len(a.Products) == 0 {
			t.Errorf("%s: ID %q, %d products", d.Name(), a.ID, len(a.Products))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Errorf("parsed only %d examples", n)
	}
}
