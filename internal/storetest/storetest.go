// Package storetest is the conformance suite every bulwark.Store must pass:
// import semantics (upsert by content hash, all-or-nothing commits,
// dependency resolution), tenancy (who sees and changes what), pagination
// and filters, the compact graph, users, tokens and sessions, and the
// hash-chained audit log. Store packages call Run from their tests with a
// function that opens a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"bulwark"
)

// Opener returns a fresh, empty store; it registers its own cleanup.
type Opener func(t *testing.T) bulwark.Store

// Run runs the whole suite against stores made by open. Each subtest gets
// its own store, so subtests may run in parallel.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st bulwark.Store)
	}{
		{"ImportAndFind", testImportAndFind},
		{"ReimportUnchanged", testReimportUnchanged},
		{"ChangedContentUpdates", testChangedContentUpdates},
		{"Rollback", testRollback},
		{"DanglingDependency", testDanglingDependency},
		{"ImportRejects", testImportRejects},
		{"AC09_NoPrincipal", testNoPrincipal},
		{"AC01_TenancyReads", testTenancyReads},
		{"AC06_TenancyWrites", testTenancyWrites},
		{"Pagination", testPagination},
		{"Filters", testFilters},
		{"LoadGraph", testLoadGraph},
		{"DeleteEntity", testDeleteEntity},
		{"Counts", testCounts},
		{"Users", testUsers},
		{"AU02_TokensAndSessions", testTokensAndSessions},
		{"LG03_AuditChain", testAuditChain},
		{"CC01_ConcurrentReadsDuringImport", testConcurrentReads},
		{"FeedRecords", testFeedRecords},
		{"AC06_FeedRights", testFeedRights},
		{"FindingsLifecycle", testFindingsLifecycle},
		{"SBOMs", testSBOMs},
		{"Catalogs", testCatalogs},
		{"AC01_Assessments", testAssessments},
		{"CC02_ConcurrentResultEdits", testConcurrentResultEdits},
		{"ProfilesAndSnapshots", testProfilesAndSnapshots},
		{"RemediationTimes", testRemediationTimes},
		{"AC01_Risks", testRisks},
		{"CC03_ConcurrentRiskEdits", testConcurrentRiskEdits},
		{"IntelCommunities", testIntelCommunities},
		{"AC02_IntelObjects", testIntelObjects},
		{"CC01_IntelConcurrentPuts", testIntelConcurrentPuts},
		{"IntelStatus", testIntelStatus},
		{"AC01_SimRuns", testSimRuns},
		{"CC04_ConcurrentSimRuns", testConcurrentSimRuns},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// Contexts for the principals of the fixture city.
func sysCtx() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
}

func userCtx(org string, role bulwark.Role) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 1_000_000, Org: org, Role: role, Name: string(role) + "@" + org})
}

// fixture is a small city with three organizations:
//   - water shares with ciso;
//   - power shares with water;
//   - ciso shares with nobody.
//
// water-supply (service, water) needs water-scada (hard) and 2 of the pumps
// group {pump-a, pump-b, pump-c}; water-scada (system) runs on plc-1 and
// plc-2 (assets linked by System) and on power-feed (power's asset).
func fixture() *bulwark.City {
	return &bulwark.City{
		Organizations: []bulwark.Organization{
			{ID: "ciso", Name: "City CISO", Purview: bulwark.PurviewCity,
				Contacts: []bulwark.Contact{{Name: "Cy Sec", Role: "CISO", Email: "ciso@example.org", Phone: "+1 555 0199"}}},
			{ID: "power", Name: "Power Co", Purview: bulwark.PurviewPrivate, SharesWith: []string{"water"}},
			{ID: "water", Name: "City Water", Purview: bulwark.PurviewCity, SharesWith: []string{"ciso"}},
		},
		Services: []bulwark.Service{{
			ID: "water-supply", Name: "Drinking water supply", Description: "Treatment and distribution",
			Owner: "water", Sector: bulwark.SectorWater, Population: 420000,
			Category: bulwark.Category{Confidentiality: bulwark.LevelLow, Integrity: bulwark.LevelHigh, Availability: bulwark.LevelHigh},
			Targets:  bulwark.Targets{MaxTolerableDowntime: 24 * time.Hour, RTO: 12 * time.Hour, RPO: time.Hour},
			Groups:   []bulwark.Group{{ID: "pumps", Need: 2}},
			DependsOn: []bulwark.Dependency{
				{On: "pump-a", Kind: bulwark.Hard, Group: "pumps"},
				{On: "pump-b", Kind: bulwark.Hard, Group: "pumps"},
				{On: "pump-c", Kind: bulwark.Soft, Group: "pumps"},
				{On: "water-scada", Kind: bulwark.Hard},
			},
		}, {
			ID: "grid", Name: "Electric grid", Owner: "power", Sector: bulwark.SectorEnergy, Population: 900000,
			Category:  bulwark.Category{Availability: bulwark.LevelHigh},
			DependsOn: []bulwark.Dependency{{On: "power-feed", Kind: bulwark.Hard}},
		}},
		Systems: []bulwark.System{{
			ID: "water-scada", Name: "Water SCADA", Description: "Plant control", Owner: "water", Zone: "ot",
			Recovery: bulwark.Recovery{RestoreTime: 8 * time.Hour, RestoreTimeNoBackups: 72 * time.Hour, CrewSkill: "ot-engineer",
				Tested: true, LastTested: "2026-05-01"},
			Groups:    []bulwark.Group{{ID: "plcs", Need: 1}},
			DependsOn: []bulwark.Dependency{{On: "power-feed", Kind: bulwark.Hard}},
		}},
		Assets: []bulwark.Asset{
			{ID: "plc-1", Name: "Pump station 1 PLC", Owner: "water", Kind: "plc", Vendor: "siemens", Product: "simatic_s7-1200", Version: "4.5",
				CPEs:     []string{"cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*", "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*"},
				PURLs:    []string{"pkg:generic/siemens/simatic-s7-1200@4.5"},
				Location: bulwark.Location{Site: "Main pumping station", Lat: 36.85, Lon: -76.29}, Count: 1,
				System: "water-scada", SystemDependency: bulwark.Hard, SystemGroup: "plcs"},
			{ID: "plc-2", Name: "Pump station 2 PLC", Owner: "water", Kind: "plc", Vendor: "siemens", Product: "simatic_s7-1200", Version: "4.4",
				Count: 1, System: "water-scada", SystemDependency: bulwark.Hard, SystemGroup: "plcs"},
			{ID: "pump-a", Name: "Pump A", Owner: "water", Kind: "pump", Count: 1, DependsOn: []bulwark.Dependency{{On: "power-feed", Kind: bulwark.Hard}}},
			{ID: "pump-b", Name: "Pump B", Owner: "water", Kind: "pump", Count: 1},
			{ID: "pump-c", Name: "Pump C", Owner: "water", Kind: "pump", Count: 1},
			{ID: "meters", Name: "Smart meters", Owner: "water", Kind: "smart-meter", Vendor: "itron", Count: 5000},
			{ID: "power-feed", Name: "Feeder 12", Owner: "power", Kind: "feeder", Count: 1},
			{ID: "grid-rtu", Name: "Substation RTU", Owner: "power", Kind: "rtu", Count: 1, System: "", DependsOn: []bulwark.Dependency{{On: "power-feed", Kind: bulwark.Soft}}},
		},
	}
}

// entityCount is the number of organizations, services, systems and assets.
func entityCount(c *bulwark.City) int64 {
	return int64(len(c.Organizations) + len(c.Services) + len(c.Systems) + len(c.Assets))
}

// importCity imports c as the principal of ctx in one transaction.
func importCity(ctx context.Context, st bulwark.Store, c *bulwark.City) (bulwark.ImportStats, error) {
	tx, err := st.BeginImport(ctx)
	if err != nil {
		return bulwark.ImportStats{}, err
	}
	defer tx.Rollback()
	steps := []func() error{
		func() error { return tx.PutOrganizations(ctx, c.Organizations) },
		func() error { return tx.PutServices(ctx, c.Services) },
		func() error { return tx.PutSystems(ctx, c.Systems) },
		func() error { return tx.PutAssets(ctx, c.Assets) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return bulwark.ImportStats{}, err
		}
	}
	return tx.Commit(ctx)
}

func mustImport(t *testing.T, st bulwark.Store, c *bulwark.City) bulwark.ImportStats {
	t.Helper()
	stats, err := importCity(sysCtx(), st, c)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return stats
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := bulwark.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// must returns v, failing the test when err is set:
// must(st.FindAsset(ctx, id))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = id(v)
	}
	return out
}

func assetID(a bulwark.Asset) string      { return a.ID }
func serviceID(s bulwark.Service) string  { return s.ID }
func orgID(o bulwark.Organization) string { return o.ID }
func systemID(s bulwark.System) string    { return s.ID }
func nodeID(n bulwark.GraphNode) string   { return n.ID }

func edgeNames(g *bulwark.GraphData) []string {
	byRef := map[int64]string{}
	for _, n := range g.Nodes {
		byRef[n.Ref] = n.ID
	}
	var out []string
	for _, e := range g.Edges {
		out = append(out, fmt.Sprintf("%s->%s %s %s", byRef[e.From], byRef[e.To], e.Kind, e.Group))
	}
	return out
}
