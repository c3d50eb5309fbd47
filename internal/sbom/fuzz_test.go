package sbom

import (
	"os"
	"path/filepath"
	"testing"

	"bulwark"
)

// FuzzRead checks that Read never panics, that every failure is a located
// *bulwark.Error, and that what it accepts keeps its invariants: statements
// have an ID and a known status, and the flattened list never holds more
// components than the input has bytes.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil && len(data) < 16<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"a","components":[{"name":"b"}]}]}`))
	f.Add([]byte(`<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="library"><name>x</name></component></components></bom>`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","vulnerabilities":[{"id":"X","analysis":{"state":"exploitable"},"affects":[{"ref":"r","versions":[{"range":"vers:generic/<1","status":"unknown"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse("fuzz", data, Options{MaxBytes: 1 << 20})
		if err != nil {
			code := bulwark.ErrorCode(err)
			if code != bulwark.EINVALID && code != bulwark.ETOOLARGE && code != bulwark.EUNSUPPORTED {
				t.Fatalf("unexpected error code %q: %v", code, err)
			}
			if d := bulwark.ErrorDetails(err); len(d) == 0 || d[0].File != "fuzz" || d[0].Message == "" {
				t.Fatalf("error without located detail: %v", err)
			}
			return
		}
		if b.Format != "json" && b.Format != "xml" {
			t.Fatalf("format %q", b.Format)
		}
		if len(b.Components) > len(data) {
			t.Fatalf("%d components from %d bytes", len(b.Components), len(data))
		}
		for _, s := range b.VEX {
			if s.VulnID == "" {
				t.Fatal("statement without vulnerability ID")
			}
			switch s.Status {
			case bulwark.StatusAffected, bulwark.StatusFixed, bulwark.StatusNotAffected, bulwark.StatusUnderInvestigate:
			default:
				t.Fatalf("unknown status %q", s.Status)
			}
			if len(s.Refs) != len(s.Targets) {
				t.Fatalf("%d refs, %d targets", len(s.Refs), len(s.Targets))
			}
		}
	})
}
