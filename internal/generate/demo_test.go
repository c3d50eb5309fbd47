package generate

import (
	"slices"
	"testing"

	"bulwark"
	"bulwark/internal/depgraph"
)

// collect gathers a whole generated city in memory (tests only).
func collect(t testing.TB, gen func(func(*bulwark.City) error) error) *bulwark.City {
	t.Helper()
	all := &bulwark.City{}
	err := gen(func(c *bulwark.City) error {
		all.Organizations = append(all.Organizations, c.Organizations...)
		all.Services = append(all.Services, c.Services...)
		all.Systems = append(all.Systems, c.Systems...)
		all.Assets = append(all.Assets, c.Assets...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestDemoShape(t *testing.T) {
	c := newCityCheck()
	city := &bulwark.City{}
	err := Demo(func(ch *bulwark.City) error {
		c.chunk(ch)
		city.Organizations = append(city.Organizations, ch.Organizations...)
		city.Services = append(city.Services, ch.Services...)
		city.Systems = append(city.Systems, ch.Systems...)
		city.Assets = append(city.Assets, ch.Assets...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.finish() {
		t.Error(p)
	}
	sectors := map[bulwark.Sector]bool{}
	for _, s := range city.Services {
		sectors[s.Sector] = true
	}
	purviews := map[bulwark.Purview]bool{}
	for _, o := range city.Organizations {
		purviews[o.Purview] = true
	}
	examples := map[string]bool{}
	list, _ := Catalog()
	for _, p := range list {
		if p.ExampleCPE != "" {
			examples[p.ExampleCPE] = true
		}
	}
	kinds := map[string]bool{}
	withCPE, withPURL, fleets, knownVulnerable := 0, 0, 0, 0
	for _, a := range city.Assets {
		kinds[a.Kind] = true
		if len(a.CPEs) > 0 {
			withCPE++
		}
		if slices.ContainsFunc(a.CPEs, func(c string) bool { return examples[c] }) {
			knownVulnerable++
		}
		if len(a.PURLs) > 0 {
			withPURL++
		}
		if a.Count > 1 {
			fleets++
		}
	}
	exposed := 0
	for _, s := range city.Systems {
		if s.InternetExposed {
			exposed++
		}
	}
	checks := []struct {
		name    string
		got, lo int
	}{
		{"services", len(city.Services), 30},
		{"sectors", len(sectors), 10},
		{"systems", len(city.Systems), 150},
		{"assets", len(city.Assets), DemoAssets},
		{"organizations", len(city.Organizations), 15},
		{"purviews", len(purviews), 5},
		{"asset kinds", len(kinds), 16},
		{"assets with CPE names", withCPE, DemoAssets / 2},
		{"assets with PURLs", withPURL, 20},
		{"assets named by a vulnerable CPE from the NVD", knownVulnerable, DemoAssets / 3},
		{"fleet entries", fleets, 500},
		{"internet-exposed systems", exposed, 8},
	}
	for _, ch := range checks {
		if ch.got < ch.lo {
			t.Errorf("demo has %d %s, want at least %d", ch.got, ch.name, ch.lo)
		}
	}
	if len(city.Assets) != DemoAssets {
		t.Errorf("demo has %d asset entries, want exactly %d", len(city.Assets), DemoAssets)
	}
	for _, k := range []string{"plc", "rtu", "hmi", "traffic-controller", "smart-meter", "camera", "sensor", "server", "workstation", "switch", "router", "firewall", "gateway", "radio", "ups", "application"} {
		if !kinds[k] {
			t.Errorf("demo has no asset of kind %s", k)
		}
	}
	for _, o := range city.Organizations {
		if o.Purview == bulwark.PurviewPrivate && !slices.Contains(o.SharesWith, "city-ciso") {
			t.Errorf("partner %s does not share with the city CISO", o.ID)
		}
	}
}

// TestDemoSPOFs checks the hand-tuned single points of failure with the
// real graph analysis: feeder H1 fails drinking water only through the
// redundant pumps it powers (common mode), and 911 dispatch hangs on the
// core switch and the CAD application server. The demo has no cycle.
func TestDemoSPOFs(t *testing.T) {
	city := collect(t, Demo)
	g, err := depgraph.Compile(depgraph.FromCity(city))
	if err != nil {
		t.Fatalf("compile demo graph: %v", err)
	}
	rep := depgraph.Analyze(g).Report(20)
	if len(rep.Cycles) != 0 {
		t.Errorf("demo has cycles: %v", rep.Cycles)
	}
	spofs := map[string]map[string]bool{} // service -> spof id -> common mode
	for _, s := range rep.Services {
		spofs[s.ID] = map[string]bool{}
		for _, x := range s.SPOFs {
			spofs[s.ID][x.ID] = x.CommonMode
		}
	}
	want := []struct {
		service, spof string
		commonMode    bool
	}{
		{"drinking-water", "feeder-h1", true},
		{"drinking-water", "pump-station-main", false},
		{"911-dispatch", "city-core-network.switch-001", false},
		{"911-dispatch", "cad.server-001", false},
		{"ems-dispatch", "cad.server-001", false},
		{"port-container-ops", "feeder-h1", true},
	}
	for _, w := range want {
		cm, ok := spofs[w.service][w.spof]
		if !ok {
			t.Errorf("%s is not a single point of failure of %s", w.spof, w.service)
			continue
		}
		if cm != w.commonMode {
			t.Errorf("%s for %s: common mode = %v, want %v", w.spof, w.service, cm, w.commonMode)
		}
	}
	// The redundant pumps themselves are not single points of failure.
	for _, id := range []string{"pump-station-main.plc-001", "pump-station-main.plc-002"} {
		if _, ok := spofs["drinking-water"][id]; ok {
			t.Errorf("%s should be covered by its redundant twin", id)
		}
	}
	if len(rep.Nodes) == 0 || rep.Nodes[0].PopulationLost == 0 {
		t.Errorf("the most critical node fails no population: %+v", rep.Nodes[:min(1, len(rep.Nodes))])
	}
}
