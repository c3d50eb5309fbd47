package depgraph

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"bulwark"

	"github.com/google/go-cmp/cmp"
)

// FuzzIN01_Compile (reliability row IN-01) feeds arbitrary GraphData (as JSON: dangling refs, duplicate
// edges, need > n, negative refs, hostile strings...) to Compile. It must
// return a graph or a clean *bulwark.Error, never panic; a graph it accepts
// must analyze without panicking, and small ones must agree with the oracle.
func FuzzIN01_Compile(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "graphs", "*.json"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"Nodes":[{"Ref":1,"ID":"a","Kind":3}],"Edges":[{"From":1,"To":1},{"From":1,"To":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d bulwark.GraphData
		if json.Unmarshal(data, &d) != nil {
			return
		}
		if len(d.Nodes) > 200 || len(d.Edges) > 2000 || len(d.Groups) > 200 {
			return // keep each run fast; size limits are not what this tests
		}
		g, err := Compile(&d)
		if err != nil {
			if bulwark.ErrorCode(err) != bulwark.EINVALID || len(bulwark.ErrorDetails(err)) == 0 {
				t.Fatalf("Compile error is not a located EINVALID: %#v", err)
			}
			return
		}
		a := Analyze(g)
		r := a.Report(0)
		if len(r.Nodes) != g.Len() {
			t.Fatalf("report has %d rows for %d nodes", len(r.Nodes), g.Len())
		}
		for _, s := range r.Services {
			if _, ok := a.ServiceView(s.ID); !ok {
				t.Fatalf("no view for service %q", s.ID)
			}
		}
		if len(d.Nodes) <= 10 {
			if diff := cmp.Diff(runOracle(&d), fromAnalysis(a), cmp.AllowUnexported(oracle{})); diff != "" {
				t.Fatalf("Analyze disagrees with the oracle (-oracle +analyze):\n%s", diff)
			}
		}
	})
}
