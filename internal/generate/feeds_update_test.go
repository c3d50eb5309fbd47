package generate

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/cpe"
	"bulwark/internal/testenv"
)

var updateFeeds = flag.Bool("update-feeds", false, "rebuild the demo feed snapshot under feeds/ from the shared data set")

// demoProducts returns the (part:vendor:product) keys of every CPE the demo
// city's assets carry.
func demoProducts(t *testing.T) map[string]bool {
	keys := map[string]bool{}
	err := Demo(func(c *bulwark.City) error {
		for _, a := range c.Assets {
			for _, s := range a.CPEs {
				n, err := cpe.Parse(s)
				if err != nil {
					return fmt.Errorf("asset %s: %w", a.ID, err)
				}
				keys[n.Key()] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// nvdNode is the part of an NVD 1.1 / 2.0 configuration node the snapshot
// builder needs.
type nvdNode struct {
	Children []nvdNode `json:"children"`
	CPEMatch []struct {
		URI      string `json:"cpe23Uri"`
		Criteria string `json:"criteria"`
	} `json:"cpe_match"`
	CPEMatch2 []struct {
		Criteria string `json:"criteria"`
	} `json:"cpeMatch"`
}

func (n *nvdNode) touches(keys map[string]bool) bool {
	check := func(s string) bool {
		c, err := cpe.Parse(s)
		return err == nil && keys[c.Key()]
	}
	for _, m := range n.CPEMatch {
		if check(m.URI) || check(m.Criteria) {
			return true
		}
	}
	for _, m := range n.CPEMatch2 {
		if check(m.Criteria) {
			return true
		}
	}
	for i := range n.Children {
		if n.Children[i].touches(keys) {
			return true
		}
	}
	return false
}

func gzOpen(t *testing.T, path string) io.Reader {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func writeGz(t *testing.T, path string, data []byte) {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateDemoFeeds rebuilds feeds/ (run with -update-feeds): the NVD 1.1
// records, Anchore overrides and CISA CSAF advisories that name a product
// of the demo city, and the whole KEV catalog. Records are copied verbatim
// so that their content hashes are those of the public files.
func TestUpdateDemoFeeds(t *testing.T) {
	if !*updateFeeds {
		t.Skip("run with -update-feeds to rebuild the demo feed snapshot")
	}
	shared := testenv.SharedData(t)
	keys := demoProducts(t)
	// IT platforms that NVD names in thousands of CVEs by OS version alone
	// (patch levels are not in CPE names) would give each demo workstation
	// a thousand findings and drown the OT/IoT picture the demo is for;
	// leave them to a full NVD import.
	for k := range keys {
		for _, p := range []string{"o:microsoft:windows", "a:microsoft:internet_explorer", "a:microsoft:.net", "o:cisco:ios:", "o:cisco:ios_xr"} {
			if strings.HasPrefix(k+":", p) {
				t.Logf("left out of the snapshot: %s", k)
				delete(keys, k)
			}
		}
	}
	out := "feeds"
	old, _ := filepath.Glob(filepath.Join(out, "*.gz"))
	for _, f := range old {
		os.Remove(f)
	}
	os.RemoveAll(filepath.Join(out, "csaf")) // README.md stays
	if err := os.MkdirAll(filepath.Join(out, "csaf"), 0o755); err != nil {
		t.Fatal(err)
	}

	// NVD 1.1: newest version of each CVE that touches a demo product.
	type item struct {
		raw      json.RawMessage
		modified string
	}
	items := map[string]item{}
	files, _ := filepath.Glob(filepath.Join(shared, "nvd", "json-1.1", "*.json.gz"))
	for _, f := range files {
		var feed struct {
			Items []json.RawMessage `json:"CVE_Items"`
		}
		if err := json.NewDecoder(gzOpen(t, f)).Decode(&feed); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, raw := range feed.Items {
			var it struct {
				CVE struct {
					Meta struct {
						ID string `json:"ID"`
					} `json:"CVE_data_meta"`
				} `json:"cve"`
				Configurations struct {
					Nodes []nvdNode `json:"nodes"`
				} `json:"configurations"`
				Modified string `json:"lastModifiedDate"`
			}
			if err := json.Unmarshal(raw, &it); err != nil {
				t.Fatal(err)
			}
			hit := false
			for i := range it.Configurations.Nodes {
				hit = hit || it.Configurations.Nodes[i].touches(keys)
			}
			if hit {
				id := it.CVE.Meta.ID
				if old, ok := items[id]; !ok || it.Modified > old.modified {
					items[id] = item{raw, it.Modified}
				}
			}
		}
	}
	ids := make([]string, 0, len(items))
	for id := range items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var nvd bytes.Buffer
	fmt.Fprintf(&nvd, `{"CVE_data_type":"CVE","CVE_data_format":"MITRE","CVE_data_version":"4.0","CVE_data_numberOfCVEs":"%d","CVE_Items":[`, len(ids))
	for i, id := range ids {
		if i > 0 {
			nvd.WriteByte(',')
		}
		nvd.Write(items[id].raw)
	}
	nvd.WriteString("]}\n")
	writeGz(t, filepath.Join(out, "nvd-demo.json.gz"), nvd.Bytes())

	// Anchore overrides (NVD's backlog years) that touch a demo product.
	var anchore bytes.Buffer
	nAnchore := 0
	sc := bufio.NewScanner(gzOpen(t, filepath.Join(shared, "nvd", "anchore-overrides", "nvd-data-overrides.jsonl.gz")))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var rec struct {
			CVE struct {
				Configurations []struct {
					Nodes []nvdNode `json:"nodes"`
				} `json:"configurations"`
			} `json:"cve"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		hit := false
		for _, c := range rec.CVE.Configurations {
			for i := range c.Nodes {
				hit = hit || c.Nodes[i].touches(keys)
			}
		}
		if hit {
			anchore.Write(sc.Bytes())
			anchore.WriteByte('\n')
			nAnchore++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	writeGz(t, filepath.Join(out, "anchore-demo.jsonl.gz"), anchore.Bytes())

	// KEV: the whole catalog (small, and every exploited CVE matters).
	kev, err := os.ReadFile(filepath.Join(shared, "kev", "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeGz(t, filepath.Join(out, "kev.json.gz"), kev)

	// CSAF: CISA advisories of 2023–2024 whose product tree names a demo
	// vendor and product word, copied as published (gzip).
	vendors := map[string][]string{}
	for k := range keys {
		parts := strings.SplitN(k, ":", 3)
		vendors[parts[1]] = append(vendors[parts[1]], parts[2])
	}
	advs, _ := filepath.Glob(filepath.Join(shared, "csaf", "cisa", "OT", "white", "202[34]", "*.json.gz"))
	nCSAF := 0
	for _, f := range advs {
		data, err := io.ReadAll(gzOpen(t, f))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ProductTree struct {
				Branches []struct {
					Category string            `json:"category"`
					Name     string            `json:"name"`
					Branches []json.RawMessage `json:"branches"`
				} `json:"branches"`
			} `json:"product_tree"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			continue
		}
		for _, b := range doc.ProductTree.Branches {
			vendor := strings.ReplaceAll(strings.ToLower(strings.Fields(b.Name + " x")[0]), ",", "")
			prods, ok := vendors[vendor]
			if !ok || b.Category != "vendor" {
				continue
			}
			text := strings.ToLower(string(data))
			if slices.ContainsFunc(prods, func(p string) bool {
				word := strings.Split(strings.ReplaceAll(p, "\\", ""), "_")[0]
				return len(word) >= 4 && strings.Contains(text, word)
			}) {
				raw, _ := os.ReadFile(f)
				if err := os.WriteFile(filepath.Join(out, "csaf", filepath.Base(f)), raw, 0o644); err != nil {
					t.Fatal(err)
				}
				nCSAF++
				break
			}
		}
	}
	t.Logf("demo feeds: %d NVD records, %d Anchore records, KEV, %d CSAF advisories", len(ids), nAnchore, nCSAF)
}
