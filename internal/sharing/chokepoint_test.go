package sharing_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"bulwark/internal/testenv"
)

// AC-04: every read of intel objects goes through this package. The store
// methods that hand out objects, bodies or statuses unfiltered may be
// called only here (and implemented in internal/sqlstore); any other
// package calling them would bypass CanSee.
func TestAC04_OnlySharingReadsTheIntelStore(t *testing.T) {
	root := testenv.RepoRoot(t)
	call := regexp.MustCompile(`\.(PutIntelObjects|DeleteIntelVersions|ScanIntelObjects|IntelBodies|IntelSecret|IntelState|PutIntelStatus|FindIntelStatus)\(`)
	allowed := []string{filepath.Join("internal", "sharing") + string(filepath.Separator), filepath.Join("internal", "sqlstore") + string(filepath.Separator),
		filepath.Join("internal", "storetest") + string(filepath.Separator)} // the store, and its conformance suite
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		for _, a := range allowed {
			if strings.HasPrefix(rel, a) {
				return nil
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if m := call.Find(b); m != nil {
			t.Errorf("%s calls the intel store directly (%s): go through internal/sharing", rel, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked", checked)
	}
}
