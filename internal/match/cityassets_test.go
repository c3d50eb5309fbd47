package match

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"bulwark"
)

// cityAssets builds assets from the city products list: each product's
// example vulnerable CPE alone, each hardware product alone (version NA, as
// NVD names hardware), and each firmware on its hardware.
func cityAssets(t testing.TB, path string) []bulwark.Asset {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	hardware := map[string]string{} // vendor:product → CPE
	var assets []bulwark.Asset
	for _, r := range rows[1:] {
		part, vendor, product, example := r[2], r[3], r[4], r[7]
		if part == "h" {
			hardware[vendor+":"+product] = "cpe:2.3:h:" + vendor + ":" + product + ":-:*:*:*:*:*:*:*"
			assets = append(assets, bulwark.Asset{ID: "hw " + vendor + ":" + product, CPEs: []string{hardware[vendor+":"+product]}})
		}
		if example != "" {
			assets = append(assets, bulwark.Asset{ID: example, CPEs: []string{example}})
		}
	}
	for _, r := range rows[1:] {
		part, vendor, product, example := r[2], r[3], r[4], r[7]
		hw, ok := hardware[vendor+":"+strings.TrimSuffix(product, "_firmware")]
		if part != "o" || example == "" || !ok {
			continue
		}
		assets = append(assets, bulwark.Asset{ID: example + " on " + hw, CPEs: []string{example, hw}})
	}
	return assets
}
