package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/testenv"
)

// countMatches counts the CPE matches under nodes, children included.
func countMatches(nodes []bulwark.Node) int {
	n := 0
	for _, nd := range nodes {
		n += len(nd.Matches) + countMatches(nd.Children)
	}
	return n
}

// plainNVD11 is the oracle: encoding/json over the whole file, only the
// fields the count needs.
type plainNode struct {
	Children []plainNode `json:"children"`
	CPEMatch []struct {
		CPE23URI string `json:"cpe23Uri"`
	} `json:"cpe_match"`
}

func (n plainNode) count() int {
	c := len(n.CPEMatch)
	for _, ch := range n.Children {
		c += ch.count()
	}
	return c
}

func plainNVD11Counts(t *testing.T, path string) (items int, ids map[string]int) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var feed struct {
		Items []struct {
			CVE struct {
				Meta struct {
					ID string `json:"ID"`
				} `json:"CVE_data_meta"`
			} `json:"cve"`
			Configurations struct {
				Nodes []plainNode `json:"nodes"`
			} `json:"configurations"`
		} `json:"CVE_Items"`
	}
	if err := json.NewDecoder(zr).Decode(&feed); err != nil {
		t.Fatal(err)
	}
	ids = map[string]int{}
	for _, it := range feed.Items {
		c := 0
		for _, n := range it.Configurations.Nodes {
			c += n.count()
		}
		ids[it.CVE.Meta.ID] += c
	}
	return len(feed.Items), ids
}

// TestSharedNVD11 reads every NVD 1.1 yearly feed of the shared data set
// and checks each record against a plain encoding/json decoding.
func TestSharedNVD11(t *testing.T) {
	skipSlow(t)
	dir := filepath.Join(testenv.SharedData(t), "nvd", "json-1.1")
	files, err := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no feeds in %s: %v", dir, err)
	}
	total := 0
	for _, path := range files {
		wantItems, wantMatches := plainNVD11Counts(t, path)
		got := map[string]int{}
		st, probs, err := ReadFile(context.Background(), path, Options{}, func(r Record) error {
			if r.Vuln.ID == "" || len(r.Vuln.Sources) != 1 || r.Vuln.Sources[0].Source != "nvd" {
				t.Errorf("%s %s: record %+v", filepath.Base(path), r.Path, r.Vuln)
			}
			got[r.Vuln.ID] += countMatches(r.Vuln.Configurations)
			return nil
		})
		if err != nil || len(probs) != 0 {
			t.Fatalf("%s: %v %v", path, err, probs)
		}
		if st.Records != wantItems || st.Format != FormatNVD11 {
			t.Errorf("%s: %d records, want %d", filepath.Base(path), st.Records, wantItems)
		}
		for id, n := range wantMatches {
			if got[id] != n {
				t.Errorf("%s %s: %d CPE matches, encoding/json counts %d", filepath.Base(path), id, got[id], n)
			}
		}
		total += st.Records
	}
	if total != 87726 {
		t.Errorf("%d items in all feeds, the data set's README says 87,726", total)
	}
}

// TestSharedOtherFeeds reads every other feed of the shared data set that
// this package handles, expecting no malformed records.
func TestSharedOtherFeeds(t *testing.T) {
	skipSlow(t)
	root := testenv.SharedData(t)
	tests := []struct {
		dir     string
		format  Format
		records int
	}{
		{"nvd/anchore-overrides", FormatAnchore, 32112},
		{"cve5/vulnrichment", FormatCVE5Lines, 44040},
		{"kev", FormatKEV, 1404},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			n := 0
			err := Walk([]string{filepath.Join(root, tt.dir)}, func(name string, open func() (io.ReadCloser, error)) error {
				rc, err := open()
				if err != nil {
					return err
				}
				defer rc.Close()
				st, probs, err := Read(context.Background(), name, rc, Options{}, func(Record) error { return nil })
				if st.Format == FormatUnknown && bulwark.ErrorCode(err) == bulwark.EUNSUPPORTED {
					return nil // the schema or CSV copy next to the feed
				}
				if err != nil || len(probs) != 0 || st.Format != tt.format {
					t.Errorf("%s: %+v %v %v", name, st, err, probs)
				}
				n += st.Records
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.records {
				t.Errorf("%d records, want %d", n, tt.records)
			}
		})
	}
	st, probs, err := ReadFile(context.Background(), filepath.Join(root, "nvd/api-2.0/samples/cves-1999.json.gz"), Options{}, func(Record) error { return nil })
	if err != nil || len(probs) != 0 || st.Records != 200 {
		t.Errorf("NVD 2.0 sample: %+v %v %v", st, err, probs)
	}
}

// BenchmarkReadNVD11 reads an NVD 1.1 feed (the fixture, and the 2017
// yearly feed of the shared data set when present) and reports records
// per second of wall time and of CPU time, and the peak heap in use.
func BenchmarkReadNVD11(b *testing.B) {
	b.Run("fixture", func(b *testing.B) {
		data := gz(b, fixture(b, "nvd11.json"))
		benchRead(b, "nvd11.json.gz", func() ([]byte, error) { return data, nil })
	})
	b.Run("shared-2017", func(b *testing.B) {
		path := filepath.Join(testenv.SharedData(b), "nvd", "json-1.1", "nvdcve-1.1-2017.json.gz")
		data, err := os.ReadFile(path)
		if err != nil {
			b.Skip(err)
		}
		benchRead(b, path, func() ([]byte, error) { return data, nil })
	})
}

func benchRead(b *testing.B, name string, load func() ([]byte, error)) {
	data, err := load()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	records := 0
	var peak uint64
	var ms runtime.MemStats
	cpu0, wall0 := testenv.CPUTime(), time.Now()
	for b.Loop() {
		n := 0
		_, _, err := Read(context.Background(), name, bytes.NewReader(data), Options{FetchedAt: fetched}, func(Record) error {
			n++
			if n%2000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		records += n
	}
	wall, cpu := time.Since(wall0), testenv.CPUTime()-cpu0
	b.ReportMetric(float64(records)/wall.Seconds(), "records/s")
	if cpu > 0 {
		b.ReportMetric(float64(records)/cpu.Seconds(), "records/cpu-s")
	}
	if peak > 0 {
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}

// skipSlow skips the whole-data-set tests in -short mode and under the race
// detector (about 10x slower there); the fixtures cover the same code.
func skipSlow(t *testing.T) {
	t.Helper()
	if testing.Short() || raceEnabled {
		t.Skip("reads the whole shared data set: skipped with -short and -race")
	}
}
