// Package catalog holds the catalogs bundled with Bulwark, so that a city
// can assess its organizations offline from the first start: NIST's
// Cybersecurity Framework 2.0 ("csf-2.0") and CISA's Cross-Sector
// Cybersecurity Performance Goals 2.0 ("cpg-2.0").
//
// The catalogs are embedded as JSON encodings of bulwark.Catalog under
// data/. They are generated from public sources (data/README.md says
// which, and under what licence) by this package's generator test:
//
//	go test ./internal/catalog -run TestUpdateCatalogs -update-catalogs
//
// and a test checks that regenerating gives the embedded bytes.
package catalog

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"bulwark"
)

//go:embed data/*.json
var files embed.FS

// builtinFiles lists the embedded catalogs in the order Builtin returns them.
var builtinFiles = []string{"data/csf-2.0.json", "data/cpg-2.0.json"}

var (
	loadOnce sync.Once
	loaded   []*bulwark.Catalog
	loadErr  error
)

func load() ([]*bulwark.Catalog, error) {
	loadOnce.Do(func() {
		for _, name := range builtinFiles {
			b, err := files.ReadFile(name)
			if err != nil {
				loadErr = fmt.Errorf("catalog: %w", err)
				return
			}
			c := new(bulwark.Catalog)
			if err := json.Unmarshal(b, c); err != nil {
				loadErr = fmt.Errorf("catalog: decoding embedded %s: %w", name, err)
				return
			}
			loaded = append(loaded, c)
		}
	})
	return loaded, loadErr
}

// Builtin returns the bundled catalogs, CSF 2.0 first. They are parsed once;
// each call returns fresh copies, which the caller may change freely.
func Builtin() []*bulwark.Catalog {
	cats, err := load()
	if err != nil {
		// The embedded files are generated and tested with the package; a
		// failure here is a broken build, not a runtime condition.
		panic(err)
	}
	out := make([]*bulwark.Catalog, len(cats))
	for i, c := range cats {
		out[i] = clone(c)
	}
	return out
}

// BuiltinByID returns a copy of the bundled catalog with the given ID, or
// false when there is none.
func BuiltinByID(id string) (*bulwark.Catalog, bool) {
	cats, err := load()
	if err != nil {
		panic(err)
	}
	for _, c := range cats {
		if c.ID == id {
			return clone(c), true
		}
	}
	return nil, false
}

// clone copies c deeply: its controls and their MapsTo lists.
func clone(c *bulwark.Catalog) *bulwark.Catalog {
	cp := *c
	cp.Controls = slices.Clone(c.Controls)
	for i := range cp.Controls {
		cp.Controls[i].MapsTo = slices.Clone(cp.Controls[i].MapsTo)
	}
	return &cp
}
