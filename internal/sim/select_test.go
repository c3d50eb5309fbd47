package sim

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"bulwark"
)

// fakeCity serves listings in pages of two, so that paging is exercised.
type fakeCity struct {
	services []bulwark.Service
	systems  []bulwark.System
	assets   []bulwark.Asset
	findings []bulwark.Finding
	vulns    map[string]*bulwark.Vulnerability
	kev      map[string]bool
	calls    int
}

const fakePage = 2

func page[T any](items []T, id func(T) string, after string, keep func(T) bool) bulwark.Page[T] {
	var p bulwark.Page[T]
	for _, it := range items {
		if id(it) <= after || !keep(it) {
			continue
		}
		if len(p.Items) == fakePage {
			p.Next = id(p.Items[fakePage-1])
			break
		}
		p.Items = append(p.Items, it)
	}
	return p
}

func (f *fakeCity) ListServices(_ context.Context, o bulwark.ListOptions) (bulwark.Page[bulwark.Service], error) {
	f.calls++
	return page(f.services, func(s bulwark.Service) string { return s.ID }, o.After, func(bulwark.Service) bool { return true }), nil
}

func (f *fakeCity) ListSystems(_ context.Context, o bulwark.ListOptions) (bulwark.Page[bulwark.System], error) {
	f.calls++
	return page(f.systems, func(s bulwark.System) string { return s.ID }, o.After, func(s bulwark.System) bool {
		return o.Owner == "" || s.Owner == o.Owner
	}), nil
}

func (f *fakeCity) ListAssets(_ context.Context, o bulwark.ListOptions) (bulwark.Page[bulwark.Asset], error) {
	f.calls++
	return page(f.assets, func(a bulwark.Asset) string { return a.ID }, o.After, func(a bulwark.Asset) bool {
		return (o.Owner == "" || a.Owner == o.Owner) && (o.Kind == "" || a.Kind == o.Kind) && (o.System == "" || a.System == o.System)
	}), nil
}

func (f *fakeCity) ListFindings(_ context.Context, ff bulwark.FindingFilter) (bulwark.Page[bulwark.Finding], error) {
	f.calls++
	key := func(x bulwark.Finding) string { return x.AssetID + "\x00" + x.VulnID }
	return page(f.findings, key, ff.After, func(x bulwark.Finding) bool {
		return (ff.Vuln == "" || x.VulnID == ff.Vuln) && (!ff.KEV || f.kev[x.VulnID]) && (!ff.Open || x.Status == "open") &&
			(ff.Owner == "" || x.Owner == ff.Owner)
	}), nil
}

func (f *fakeCity) FindVulnerability(_ context.Context, id string) (*bulwark.Vulnerability, error) {
	if v, ok := f.vulns[id]; ok {
		return v, nil
	}
	return nil, bulwark.Errorf(bulwark.ENOTFOUND, "vulnerability %s not found", id)
}

func testCity() *fakeCity {
	return &fakeCity{
		services: []bulwark.Service{{ID: "power"}, {ID: "water"}, {ID: "web"}},
		systems: []bulwark.System{
			{ID: "ad", Owner: "city", Zone: "it"},
			{ID: "erp", Owner: "city", Zone: "it"},
			{ID: "scada", Owner: "water", Zone: "ot"},
			{ID: "web", Owner: "city", Zone: "dmz"},
		},
		assets: []bulwark.Asset{
			{ID: "ad.srv1", Owner: "city", Kind: "server", System: "ad", CPEs: []string{"cpe:2.3:o:x:y:1:*:*:*:*:*:*:*"}},
			{ID: "ad.srv2", Owner: "city", Kind: "server", System: "ad"},
			{ID: "erp.srv1", Owner: "city", Kind: "server", System: "erp"},
			{ID: "loose.sw1", Owner: "city", Kind: "switch"},
			{ID: "scada.plc1", Owner: "water", Kind: "plc", System: "scada"},
			{ID: "scada.plc2", Owner: "water", Kind: "plc", System: "scada"},
			{ID: "scada.sw1", Owner: "water", Kind: "switch", System: "scada"},
			{ID: "web.srv1", Owner: "city", Kind: "server", System: "web"},
		},
		findings: []bulwark.Finding{
			{AssetID: "ad.srv1", VulnID: "CVE-1", Status: "open", Owner: "city"},
			{AssetID: "loose.sw1", VulnID: "CVE-2", Status: "open", Owner: "city"},
			{AssetID: "scada.plc1", VulnID: "CVE-1", Status: "fixed", Owner: "water"},
			{AssetID: "scada.plc2", VulnID: "CVE-1", Status: "open", Owner: "water"},
			{AssetID: "scada.sw1", VulnID: "CVE-2", Status: "open", Owner: "water"},
			{AssetID: "web.srv1", VulnID: "CVE-1", Status: "open", Owner: "city"},
		},
		vulns: map[string]*bulwark.Vulnerability{"CVE-1": {EPSS: &bulwark.EPSSScore{Score: 0.25}}, "CVE-2": {}},
		kev:   map[string]bool{"CVE-2": true},
	}
}

func TestSelect(t *testing.T) {
	c := testCity()
	tests := []struct {
		sel  Selector
		want []string
	}{
		{Selector{Kind: "server"}, []string{"ad.srv1", "ad.srv2", "erp.srv1", "web.srv1"}},
		{Selector{Kind: "server", Zone: "it"}, []string{"ad.srv1", "ad.srv2", "erp.srv1"}},
		{Selector{Zone: "it"}, []string{"ad", "ad.srv1", "ad.srv2", "erp", "erp.srv1"}},
		{Selector{Zone: "ot", Owner: "city"}, nil},
		{Selector{System: "scada"}, []string{"scada", "scada.plc1", "scada.plc2", "scada.sw1"}},
		{Selector{System: "scada", Kind: "plc"}, []string{"scada.plc1", "scada.plc2"}},
		{Selector{CVE: "CVE-1"}, []string{"ad.srv1", "scada.plc2", "web.srv1"}}, // the fixed finding is not exposure
		{Selector{CVE: "CVE-1", Zone: "it"}, []string{"ad.srv1"}},
		{Selector{CVE: "CVE-1", Owner: "water"}, []string{"scada.plc2"}},
		{Selector{KEV: true}, []string{"loose.sw1", "scada.sw1"}},
		{Selector{KEV: true, Kind: "switch", Zone: "ot"}, []string{"scada.sw1"}},
		{Selector{Kind: "pump"}, nil},
	}
	for _, tt := range tests {
		got, err := Select(context.Background(), c, &tt.sel)
		if err != nil {
			t.Fatalf("%s: %v", &tt.sel, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", &tt.sel, got, tt.want)
		}
	}
	for _, bad := range []Selector{{}, {Owner: "city"}, {CVE: "a b"}, {Kind: "x\ny"}, {Zone: "it", EPSS: true}} {
		if _, err := Select(context.Background(), c, &bad); bulwark.ErrorCode(err) != bulwark.EINVALID {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestResolveScenario(t *testing.T) {
	c := testCity()
	s := &Scenario{Horizon: 24, Events: []Event{
		{Name: "a", Nodes: []string{"web", "ad.srv1"}, Select: &Selector{Zone: "it"}, Probability: 0.5},
		{Name: "b", Select: &Selector{CVE: "CVE-1", EPSS: true}},
		{Name: "c", Nodes: []string{"web"}, Probability: 1},
	}}
	if err := ResolveScenario(context.Background(), c, s); err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Name: "a", Nodes: []string{"ad", "ad.srv1", "ad.srv2", "erp", "erp.srv1", "web"}, Probability: 0.5},
		{Name: "b", Nodes: []string{"ad.srv1", "scada.plc2", "web.srv1"}, Probability: 0.25},
		{Name: "c", Nodes: []string{"web"}, Probability: 1},
	}
	if !reflect.DeepEqual(s.Events, want) {
		t.Fatalf("got %+v\nwant %+v", s.Events, want)
	}
	for _, tt := range []struct {
		ev   Event
		want string
	}{
		{Event{Name: "none", Select: &Selector{Kind: "pump"}}, `event 1 ("none"): the selector {kind: pump} picks no node`},
		{Event{Name: "noepss", Select: &Selector{CVE: "CVE-2", EPSS: true}}, "CVE-2 has no EPSS score"},
		{Event{Name: "bad", Select: &Selector{}}, "a selector needs"},
	} {
		s := &Scenario{Horizon: 1, Events: []Event{tt.ev}}
		if err := ResolveScenario(context.Background(), c, s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.ev.Name, err, tt.want)
		}
	}
	// Events with the same selector read the city once.
	c.calls = 0
	s = &Scenario{Horizon: 1, Events: []Event{{Name: "x", Select: &Selector{Kind: "server"}}, {Name: "y", Select: &Selector{Kind: "server"}}}}
	if err := ResolveScenario(context.Background(), c, s); err != nil {
		t.Fatal(err)
	}
	if once := c.calls; once != 2 || !slices.Equal(s.Events[0].Nodes, s.Events[1].Nodes) { // two pages of assets
		t.Errorf("%d listings for two events with one selector; nodes %v %v", once, s.Events[0].Nodes, s.Events[1].Nodes)
	}
	// A model refuses a scenario whose selectors were not resolved.
	m := mustModel(t, spec(t, "service s 1\nasset a\ns -> a\n"), fixedCfg(1))
	_, err := Run(context.Background(), m, &Scenario{Horizon: 1, Events: []Event{{Select: &Selector{Kind: "x"}}}}, Options{Trials: 1})
	if err == nil || !strings.Contains(err.Error(), "/events/0/select") {
		t.Errorf("unresolved selector: %v", err)
	}
}

func TestResolveOptions(t *testing.T) {
	c := testCity()
	opts := []Option{{Name: "p", Patch: []Patch{{Event: "b", Nodes: []string{"zz"}, Select: &Selector{CVE: "CVE-1", Zone: "it"}}}}}
	if err := ResolveOptions(context.Background(), c, opts); err != nil {
		t.Fatal(err)
	}
	if p := opts[0].Patch[0]; p.Select != nil || !slices.Equal(p.Nodes, []string{"ad.srv1", "zz"}) {
		t.Fatalf("patch: %+v", p)
	}
	opts = []Option{{Name: "p", Patch: []Patch{{Event: "b", Select: &Selector{Kind: "pump"}}}}}
	if err := ResolveOptions(context.Background(), c, opts); err == nil || !strings.Contains(err.Error(), `option 1 ("p"): patch 1`) {
		t.Fatalf("empty patch selector: %v", err)
	}
}

func TestLoadCity(t *testing.T) {
	c := testCity()
	city, err := LoadCity(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(city.Services) != 3 || len(city.Systems) != 4 || len(city.Assets) != 8 {
		t.Fatalf("loaded %d services, %d systems, %d assets", len(city.Services), len(city.Systems), len(city.Assets))
	}
	if a := city.Assets[0]; a.ID != "ad.srv1" || a.System != "ad" || a.Kind != "server" || a.CPEs != nil {
		t.Errorf("asset kept as %+v (only ID, owner, kind and system are needed)", a)
	}
}

// A listing that always returns the same cursor must not loop forever.
type loopingCity struct{ fakeCity }

func (l *loopingCity) ListAssets(context.Context, bulwark.ListOptions) (bulwark.Page[bulwark.Asset], error) {
	return bulwark.Page[bulwark.Asset]{Items: []bulwark.Asset{{ID: "a", Kind: "k"}}, Next: "a"}, nil
}

func TestSelectStopsOnStuckCursor(t *testing.T) {
	got, err := Select(context.Background(), &loopingCity{}, &Selector{Kind: "k"})
	if err != nil || !slices.Equal(got, []string{"a"}) {
		t.Fatalf("%v %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Select(ctx, testCity(), &Selector{Kind: "server"}); err == nil {
		t.Error("canceled context: no error")
	}
}
