package csaf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark"
)

// FuzzParse checks that Parse never panics, that every failure is a
// located *bulwark.Error, and that what it accepts is consistent: every
// statement has a product and a known status, every vulnerability an ID
// and provenance.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(strings.Replace(minimal, "%s", "", 1)))
	f.Add([]byte(strings.Replace(minimal, "%s", `,"product_tree":{"relationships":[{"category":"installed_on","product_reference":"A","relates_to_product_reference":"B","full_product_name":{"name":"n","product_id":"A"}}]}`, 1)))
	f.Add([]byte(`{"document":{"Title":1}}`))
	f.Add([]byte(`[[[[[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse("fuzz.json", data, Options{MaxBytes: 1 << 20})
		if err != nil {
			var code = bulwark.ErrorCode(err)
			if code != bulwark.EINVALID && code != bulwark.ETOOLARGE && code != bulwark.EUNSUPPORTED {
				t.Fatalf("unexpected error code %q: %v", code, err)
			}
			if d := bulwark.ErrorDetails(err); len(d) == 0 || d[0].File != "fuzz.json" || d[0].Message == "" {
				t.Fatalf("error without located detail: %v", err)
			}
			return
		}
		if a.ID == "" {
			t.Fatal("accepted an advisory without ID")
		}
		for _, v := range a.Vulns {
			if v.ID == "" || len(v.Sources) != 1 {
				t.Fatalf("vulnerability without ID or provenance: %+v", v)
			}
			for _, ap := range v.Affected {
				switch ap.Status {
				case bulwark.StatusAffected, bulwark.StatusFixed, bulwark.StatusNotAffected, bulwark.StatusUnderInvestigate:
				default:
					t.Fatalf("unknown status %q", ap.Status)
				}
				if ap.Source != a.ID {
					t.Fatalf("statement source %q, advisory %q", ap.Source, a.ID)
				}
			}
		}
		for id, p := range a.Products {
			if p.ID != id {
				t.Fatalf("product %q stored under %q", p.ID, id)
			}
		}
	})
}
