package depgraph

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServiceViewSmall(t *testing.T) {
	a := mustAnalyze(t, `
		service water 1000 l/h/h
		service other 5
		system pumping
		asset pump-a
		asset pump-b
		asset feeder
		asset meter
		group pumping pumps 1
		water -> pumping
		pumping -> pump-a pumps
		pumping -> pump-b pumps
		pump-a -> feeder
		pump-b -> feeder
		pumping -> meter soft
		other -> meter`)
	v, ok := a.ServiceView("water")
	if !ok {
		t.Fatal("no view")
	}
	want := &View{
		Service: "water",
		Nodes: []ViewNode{
			{ID: "water", Name: "WATER", Kind: "service", Owner: "org", Category: "high"},
			{ID: "pumping", Name: "PUMPING", Kind: "system", Owner: "org", Category: "high", SPOF: true},
			{ID: "meter", Name: "METER", Kind: "asset", Owner: "org", Category: "high", Count: 1},
			{ID: "pump-a", Name: "PUMP-A", Kind: "asset", Owner: "org", Category: "high", Count: 1},
			{ID: "pump-b", Name: "PUMP-B", Kind: "asset", Owner: "org", Category: "high", Count: 1},
			{ID: "feeder", Name: "FEEDER", Kind: "asset", Owner: "org", Category: "high", SPOF: true, CommonMode: true, Count: 1},
		},
		Edges: []ViewEdge{
			{From: "water", To: "pumping", Kind: "hard"},
			{From: "pumping", To: "meter", Kind: "soft"},
			{From: "pumping", To: "pump-a", Kind: "hard", Group: "pumps"},
			{From: "pumping", To: "pump-b", Kind: "hard", Group: "pumps"},
			{From: "pump-a", To: "feeder", Kind: "hard"},
			{From: "pump-b", To: "feeder", Kind: "hard"},
		},
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("view (-want +got):\n%s", diff)
	}
	for _, id := range []string{"pumping", "nope", ""} {
		if _, ok := a.ServiceView(id); ok {
			t.Errorf("ServiceView(%q) ok for a non-service", id)
		}
	}
}

func TestServiceViewCollapses(t *testing.T) {
	var b strings.Builder
	b.WriteString("service s 1\nsystem scada\nsystem meters\nasset feeder\ngroup scada plcs 2\ns -> scada\ns -> meters soft\n")
	for i := range 300 {
		fmt.Fprintf(&b, "asset srv-%03d\nscada -> srv-%03d\n", i, i)
	}
	for i := range 3 {
		fmt.Fprintf(&b, "asset plc-%d\nscada -> plc-%d plcs\nplc-%d -> feeder\n", i, i, i)
	}
	for i := range 500 {
		fmt.Fprintf(&b, "asset m-%03d\nmeters -> m-%03d soft\n", i, i)
	}
	a := mustAnalyze(t, b.String())
	v, _ := a.ServiceView("s")
	if !v.Truncated {
		t.Error("Truncated not set")
	}
	got := map[string]ViewNode{}
	for _, n := range v.Nodes {
		got[n.ID] = n
	}
	if len(v.Nodes) != 9 {
		t.Errorf("nodes = %d, want 9 (s, scada, meters, 2 aggregates, 3 plcs, feeder): %v", len(v.Nodes), v.Nodes)
	}
	hard := got["scada/hard"]
	if hard.Count != 300 || !hard.SPOF || hard.CommonMode || hard.Name != "300 assets (hard)" {
		t.Errorf("hard aggregate = %+v", hard)
	}
	soft := got["meters/soft"]
	if soft.Count != 500 || soft.SPOF {
		t.Errorf("soft aggregate = %+v", soft)
	}
	// PLCs are not leaves (they depend on the feeder), so they stay.
	if _, ok := got["plc-1"]; !ok {
		t.Errorf("plc-1 missing from %v", v.Nodes)
	}
	if f := got["feeder"]; !f.SPOF || !f.CommonMode {
		t.Errorf("feeder = %+v, want a common-mode SPOF", f)
	}
	for _, e := range v.Edges {
		if _, ok := got[e.From]; !ok {
			t.Errorf("edge from missing node %v", e)
		}
		if _, ok := got[e.To]; !ok {
			t.Errorf("edge to missing node %v", e)
		}
	}
	if len(v.Edges) != 2+1+1+3+3 {
		t.Errorf("edges = %d: %v", len(v.Edges), v.Edges)
	}
}

func TestServiceViewCapsNodes(t *testing.T) {
	var b strings.Builder
	b.WriteString("service s 1\n")
	for i := range 2 * MaxViewNodes {
		fmt.Fprintf(&b, "system sys-%04d\nasset a-%04d\ns -> sys-%04d\nsys-%04d -> a-%04d\n", i, i, i, i, i)
	}
	a := mustAnalyze(t, b.String())
	v, _ := a.ServiceView("s")
	if !v.Truncated || len(v.Nodes) != MaxViewNodes {
		t.Fatalf("nodes = %d truncated = %v, want %d and true", len(v.Nodes), v.Truncated, MaxViewNodes)
	}
	in := map[string]bool{}
	for _, n := range v.Nodes {
		in[n.ID] = true
	}
	for _, e := range v.Edges {
		if !in[e.From] || !in[e.To] {
			t.Fatalf("edge %v leaves the view", e)
		}
	}
}

func TestReportJSON(t *testing.T) {
	a := mustAnalyze(t, `
		service s 10 l/m/h
		system x
		system y
		s -> x
		x -> y
		y -> x`)
	b, err := json.Marshal(a.Report(1))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"nodes":[{"rank":1,"id":"s","name":"S","kind":"service","owner":"org","category":"high",` +
		`"confidentiality":"low","integrity":"moderate","availability":"high","services_lost":["s"],"population_lost":10,"services_degraded":[]}],` +
		`"services":[{"id":"s","name":"S","owner":"org","population":10,"category":"high","spofs":[` +
		`{"id":"x","name":"X","kind":"system","common_mode":false},{"id":"y","name":"Y","kind":"system","common_mode":false}]}],` +
		`"cycles":[["x","y"]]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}
