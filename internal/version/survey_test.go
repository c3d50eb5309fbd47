package version

import (
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"bulwark/internal/testenv"
)

// csafBranch is the part of a CSAF product_tree branch the survey reads.
type csafBranch struct {
	Category string       `json:"category"`
	Name     string       `json:"name"`
	Branches []csafBranch `json:"branches"`
}

func collectRanges(bs []csafBranch, into map[string]int) {
	for _, b := range bs {
		if b.Category == "product_version_range" {
			into[b.Name]++
		}
		collectRanges(b.Branches, into)
	}
}

// TestSurveyCISACSAF reads the product_version_range names of every CISA
// CSAF advisory in the shared data set and reports how many ParseRange
// accepts, how many exactly, and the most frequent rejections.
func TestSurveyCISACSAF(t *testing.T) {
	root := filepath.Join(testenv.SharedData(t), "csaf", "cisa")
	names := map[string]int{} // distinct name → occurrences
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") || strings.Contains(d.Name(), "feed") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		var doc struct {
			ProductTree struct {
				Branches []csafBranch `json:"branches"`
			} `json:"product_tree"`
		}
		if err := json.NewDecoder(zr).Decode(&doc); err != nil {
			return err
		}
		files++
		collectRanges(doc.ProductTree.Branches, names)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 || len(names) == 0 {
		t.Fatalf("no product_version_range found under %s", root)
	}

	var total, accepted, exact, distinctOK int
	type reject struct {
		name string
		n    int
		err  string
	}
	var rejects []reject
	for name, n := range names {
		total += n
		r, err := ParseRange(name)
		if err != nil {
			rejects = append(rejects, reject{name, n, err.Error()})
			continue
		}
		accepted += n
		distinctOK++
		if r.Exact() {
			exact += n
		}
	}
	share := float64(accepted) / float64(total)
	t.Logf("%d advisories, %d product_version_range names (%d distinct)", files, total, len(names))
	t.Logf("accepted %d of %d (%.1f%%), %d of %d distinct (%.1f%%); exact %d (%.1f%%)",
		accepted, total, 100*share, distinctOK, len(names), 100*float64(distinctOK)/float64(len(names)),
		exact, 100*float64(exact)/float64(total))
	sort.Slice(rejects, func(i, j int) bool {
		if rejects[i].n != rejects[j].n {
			return rejects[i].n > rejects[j].n
		}
		return rejects[i].name < rejects[j].name
	})
	for i, r := range rejects {
		if i == 40 {
			break
		}
		t.Logf("rejected ×%d %q: %s", r.n, r.name, r.err)
	}
	if share < 0.9 {
		t.Errorf("ParseRange accepts %.1f%% of CISA's product_version_range names, want at least 90%%", 100*share)
	}
}

// TestSurveyNVD parses every version bound and CPE version of the NVD 1.1
// feeds in the shared data set and reports how many Parse accepts.
func TestSurveyNVD(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 24 MiB of NVD feeds")
	}
	files, err := filepath.Glob(filepath.Join(testenv.SharedData(t), "nvd", "json-1.1", "*.json.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no NVD 1.1 feeds: %v", err)
	}
	type match struct {
		URI       string `json:"cpe23Uri"`
		StartIncl string `json:"versionStartIncluding"`
		StartExcl string `json:"versionStartExcluding"`
		EndIncl   string `json:"versionEndIncluding"`
		EndExcl   string `json:"versionEndExcluding"`
	}
	type node struct {
		Matches  []match `json:"cpe_match"`
		Children []node  `json:"children"`
	}
	type feed struct {
		Items []struct {
			Configurations struct {
				Nodes []node `json:"nodes"`
			} `json:"configurations"`
		} `json:"CVE_Items"`
	}
	var versions, parsed, ranges, rangesOK int
	rejected := map[string]int{}
	var walk func([]node)
	walk = func(ns []node) {
		for _, n := range ns {
			for _, m := range n.Matches {
				if f := strings.Split(m.URI, ":"); len(f) > 5 && f[5] != "*" && f[5] != "-" {
					versions++
					if _, ok := Parse(strings.ReplaceAll(f[5], `\`, "")); ok {
						parsed++
					} else {
						rejected[f[5]]++
					}
				}
				if m.StartIncl+m.StartExcl+m.EndIncl+m.EndExcl != "" {
					ranges++
					if _, err := Bounds(m.StartIncl, m.StartExcl, m.EndIncl, m.EndExcl); err == nil {
						rangesOK++
					} else {
						rejected[err.Error()]++
					}
				}
			}
			walk(n.Children)
		}
	}
	for _, path := range files {
		var feed feed // fresh per file: decoding into a used slice keeps stale fields
		readGzipJSON(t, path, &feed)
		for _, it := range feed.Items {
			walk(it.Configurations.Nodes)
		}
	}
	t.Logf("CPE versions: Parse accepts %d of %d (%.2f%%); cpe_match bounds: Bounds accepts %d of %d (%.2f%%)",
		parsed, versions, 100*float64(parsed)/float64(versions), rangesOK, ranges, 100*float64(rangesOK)/float64(ranges))
	logTop(t, rejected, 15)
	if parsed < versions*99/100 || rangesOK < ranges*99/100 {
		t.Error("want at least 99% of NVD versions and bounds accepted")
	}
}

// TestSurveyCVE5 builds a range from every CVE 5 "versions" entry of the
// vulnrichment records in the shared data set and reports how many CVE5
// accepts; "n/a" (the CNA gives no version) is counted apart.
func TestSurveyCVE5(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 17 MiB of CVE records")
	}
	files, err := filepath.Glob(filepath.Join(testenv.SharedData(t), "cve5", "vulnrichment", "*.jsonl.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vulnrichment files: %v", err)
	}
	var total, na, ok int
	rejected := map[string]int{}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(zr)
		for dec.More() {
			var rec struct {
				Containers struct {
					CNA struct {
						Affected []struct {
							Versions []struct {
								Version         string `json:"version"`
								LessThan        string `json:"lessThan"`
								LessThanOrEqual string `json:"lessThanOrEqual"`
							} `json:"versions"`
						} `json:"affected"`
					} `json:"cna"`
				} `json:"containers"`
			}
			if err := dec.Decode(&rec); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, a := range rec.Containers.CNA.Affected {
				for _, v := range a.Versions {
					total++
					if strings.EqualFold(v.Version, "n/a") && v.LessThan == "" && v.LessThanOrEqual == "" {
						na++
						continue
					}
					if _, err := CVE5(v.Version, v.LessThan, v.LessThanOrEqual); err != nil {
						rejected[err.Error()]++
						continue
					}
					ok++
				}
			}
		}
		f.Close()
	}
	t.Logf("%d version entries, %d are n/a; CVE5 accepts %d of the other %d (%.1f%%)",
		total, na, ok, total-na, 100*float64(ok)/float64(total-na))
	logTop(t, rejected, 15)
	if ok < (total-na)*95/100 {
		t.Error("want at least 95% of CVE 5 version entries accepted")
	}
}

func readGzipJSON(t *testing.T, path string, into any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func logTop(t *testing.T, counts map[string]int, n int) {
	t.Helper()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for i, k := range keys {
		if i == n {
			break
		}
		t.Logf("rejected ×%d: %s", counts[k], k)
	}
}
