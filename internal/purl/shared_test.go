package purl

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bulwark/internal/testenv"
)

var purlField = regexp.MustCompile(`"purl"\s*:\s*"(pkg:[^"]*)"`)

// TestSharedSBOMs parses every purl of the CycloneDX example SBOMs and
// VEX documents: each parses, its canonical form is a fixed point, and
// its key is its canonical form without version, qualifiers and subpath.
func TestSharedSBOMs(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "cyclonedx/examples")
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range purlField.FindAllStringSubmatch(string(b), -1) {
			n++
			p, err := Parse(m[1])
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(path), err)
				continue
			}
			c := p.String()
			if q, err := Parse(c); err != nil || q.String() != c {
				t.Errorf("%s: %s canonical %s is not a fixed point (%v)", filepath.Base(path), m[1], c, err)
			}
			if !strings.HasPrefix(c, "pkg:"+p.Key()) {
				t.Errorf("%s: key %q is not a prefix of %q", m[1], p.Key(), c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("found only %d purls", n)
	}
	t.Logf("%d purls", n)
}
