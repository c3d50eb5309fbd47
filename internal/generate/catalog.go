package generate

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"bulwark/internal/cpe"
)

// productsCSV is the catalog of real products that cities deploy, each
// named in the NVD (see catalog/README.md for its source and columns).
//
//go:embed catalog/products.csv
var productsCSV []byte

// Product is one row of the embedded catalog: a CPE (part, vendor, product)
// triple with an example vulnerable CPE name when the NVD gives one.
type Product struct {
	Sector     string // rough sector guess, not NVD data
	Kind       string // rough kind guess, not NVD data
	Part       string // a, o or h
	Vendor     string // CPE formatted-string quoting
	Product    string // CPE formatted-string quoting
	CVEs       int
	Ranged     int
	ExampleCPE string // "" when the NVD names only version ranges
}

// Key is "part:vendor:product", the catalog's lookup key.
func (p Product) Key() string { return p.Part + ":" + p.Vendor + ":" + p.Product }

// ExampleVersion returns the version and update components of the example
// vulnerable CPE, unquoted, or "" when there is no example.
func (p Product) ExampleVersion() (version, update string) {
	if p.ExampleCPE == "" {
		return "", ""
	}
	f := cpe.Split(p.ExampleCPE)
	if len(f) != 13 {
		return "", ""
	}
	v, u := unquoteCPE(f[5]), unquoteCPE(f[6])
	if u == "*" || u == "-" {
		u = ""
	}
	return v, u
}

var (
	catalogOnce sync.Once
	catalogList []Product
	catalogIdx  map[string]int
	catalogErr  error
)

// Catalog returns the embedded product catalog, parsed once. The slice is
// shared: callers must not modify it.
func Catalog() ([]Product, error) {
	catalogOnce.Do(func() {
		catalogList, catalogIdx, catalogErr = parseCatalog(productsCSV)
	})
	return catalogList, catalogErr
}

// lookup returns the catalog product with the given key.
func lookup(key string) (Product, bool) {
	if _, err := Catalog(); err != nil {
		return Product{}, false
	}
	i, ok := catalogIdx[key]
	if !ok {
		return Product{}, false
	}
	return catalogList[i], true
}

var catalogHeader = []string{"suggested_sector", "suggested_kind", "part", "vendor", "product", "cves_2010_2025", "ranged_criteria", "example_vulnerable_cpe"}

func parseCatalog(data []byte) ([]Product, map[string]int, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(catalogHeader)
	rows, err := r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("product catalog: %w", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(catalogHeader, ",") {
		return nil, nil, fmt.Errorf("product catalog: unexpected header")
	}
	list := make([]Product, 0, len(rows)-1)
	idx := make(map[string]int, len(rows)-1)
	for i, row := range rows[1:] {
		cves, err1 := strconv.Atoi(row[5])
		ranged, err2 := strconv.Atoi(row[6])
		if err1 != nil || err2 != nil {
			return nil, nil, fmt.Errorf("product catalog: line %d: counts are not integers", i+2)
		}
		p := Product{Sector: row[0], Kind: row[1], Part: row[2], Vendor: row[3], Product: row[4], CVEs: cves, Ranged: ranged, ExampleCPE: row[7]}
		if p.Part != "a" && p.Part != "o" && p.Part != "h" {
			return nil, nil, fmt.Errorf("product catalog: line %d: part %q is not a, o or h", i+2, p.Part)
		}
		if p.ExampleCPE != "" && !strings.HasPrefix(p.ExampleCPE, "cpe:2.3:"+p.Part+":"+p.Vendor+":"+p.Product+":") {
			return nil, nil, fmt.Errorf("product catalog: line %d: example CPE does not name the row's product", i+2)
		}
		if _, dup := idx[p.Key()]; dup {
			return nil, nil, fmt.Errorf("product catalog: line %d: duplicate %s", i+2, p.Key())
		}
		idx[p.Key()] = len(list)
		list = append(list, p)
	}
	return list, idx, nil
}

// unquoteCPE removes formatted-string quoting: `webaccess\/nms` -> `webaccess/nms`.
func unquoteCPE(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// quoteCPE quotes a plain value for a CPE 2.3 formatted string: every
// character other than letters, digits, '_', '-' and '.' is escaped.
func quoteCPE(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
			b.WriteByte(c)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}
