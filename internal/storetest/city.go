package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"bulwark"
)

var equateEmpty = cmpopts.EquateEmpty()

// sortDeps puts dependencies in the order stores return them: by group,
// then target.
func sortDeps(d []bulwark.Dependency) []bulwark.Dependency {
	d = slices.Clone(d)
	slices.SortFunc(d, func(a, b bulwark.Dependency) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.On, b.On))
	})
	return d
}

func testImportAndFind(t *testing.T, st bulwark.Store) {
	c := fixture()
	stats := mustImport(t, st, c)
	if want := (bulwark.ImportStats{Created: entityCount(c)}); !sameCounts(stats, want) || len(stats.ChangedAssets) != len(c.Assets) ||
		stats.OthersChanged != entityCount(c)-int64(len(c.Assets)) {
		t.Errorf("stats = %+v, want %+v, every asset changed", stats, want)
	}
	ctx := sysCtx()
	for _, want := range c.Services {
		got := must(st.FindService(ctx, want.ID))(t)
		want.DependsOn = sortDeps(want.DependsOn)
		if d := gocmp.Diff(want, *got, equateEmpty); d != "" {
			t.Errorf("FindService(%s) (-want +got):\n%s", want.ID, d)
		}
	}
	for _, want := range c.Systems {
		got := must(st.FindSystem(ctx, want.ID))(t)
		want.DependsOn = sortDeps(want.DependsOn)
		if d := gocmp.Diff(want, *got, equateEmpty); d != "" {
			t.Errorf("FindSystem(%s) (-want +got):\n%s", want.ID, d)
		}
	}
	for _, want := range c.Assets {
		got := must(st.FindAsset(ctx, want.ID))(t)
		want.DependsOn = sortDeps(want.DependsOn)
		if d := gocmp.Diff(want, *got, equateEmpty); d != "" {
			t.Errorf("FindAsset(%s) (-want +got):\n%s", want.ID, d)
		}
	}
	for _, want := range c.Organizations {
		got := must(st.FindOrganization(ctx, want.ID))(t)
		if d := gocmp.Diff(want, *got, equateEmpty); d != "" {
			t.Errorf("FindOrganization(%s) (-want +got):\n%s", want.ID, d)
		}
	}
	// Kinds are not interchangeable, and unknown IDs are not found.
	_, err := st.FindAsset(ctx, "water-supply")
	wantCode(t, "FindAsset(service id)", err, bulwark.ENOTFOUND)
	_, err = st.FindService(ctx, "no-such-thing")
	wantCode(t, "FindService(unknown)", err, bulwark.ENOTFOUND)
	_, err = st.FindOrganization(ctx, "nobody")
	wantCode(t, "FindOrganization(unknown)", err, bulwark.ENOTFOUND)

	kinds := must(st.ResolveIDs(ctx, []string{"water-supply", "water-scada", "plc-1", "nothing", "water"}))(t)
	wantKinds := map[string]bulwark.NodeKind{"water-supply": bulwark.KindService, "water-scada": bulwark.KindSystem, "plc-1": bulwark.KindAsset}
	if d := gocmp.Diff(wantKinds, kinds); d != "" {
		t.Errorf("ResolveIDs (-want +got):\n%s", d)
	}
	// Assets default to a fleet of one.
	c2 := &bulwark.City{Assets: []bulwark.Asset{{ID: "lone", Name: "Lone", Owner: "water", Kind: "camera"}}}
	mustImport(t, st, c2)
	if a := must(st.FindAsset(ctx, "lone"))(t); a.Count != 1 {
		t.Errorf("default count = %d, want 1", a.Count)
	}
}

func testReimportUnchanged(t *testing.T, st bulwark.Store) {
	c := fixture()
	mustImport(t, st, c)
	before := must(st.ListAudit(sysCtx(), 0, 0))(t)
	// Same content, different order of dependencies and groups.
	c2 := fixture()
	slices.Reverse(c2.Services[0].DependsOn)
	slices.Reverse(c2.Assets)
	stats := mustImport(t, st, c2)
	if want := (bulwark.ImportStats{Unchanged: entityCount(c)}); !sameCounts(stats, want) || len(stats.ChangedAssets) != 0 || stats.OthersChanged != 0 {
		t.Errorf("re-import stats = %+v, want %+v", stats, want)
	}
	after := must(st.ListAudit(sysCtx(), 0, 0))(t)
	if len(after) != len(before)+1 || after[len(after)-1].Action != "city.import" {
		t.Errorf("re-import appended %d audit entries, want one city.import", len(after)-len(before))
	}
}

func testChangedContentUpdates(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	// Load the graph first: a store that caches it must notice the change.
	if g := must(st.LoadGraph(sysCtx()))(t); len(g.Edges) != 10 {
		t.Fatalf("graph has %d edges, want 10", len(g.Edges))
	}
	c := fixture()
	c.Services[0].Name = "Water"
	c.Services[0].DependsOn = []bulwark.Dependency{{On: "water-scada", Kind: bulwark.Soft}} // pumps dropped
	c.Services[0].Groups = nil
	c.Assets[0].CPEs = c.Assets[0].CPEs[:1]
	c.Assets[1].System, c.Assets[1].SystemDependency, c.Assets[1].SystemGroup = "", "", "" // plc-2 leaves the SCADA
	c.Organizations[0].Name = "Office of the CISO"
	c.Assets = append(c.Assets, bulwark.Asset{ID: "new-cam", Name: "Camera", Owner: "water", Kind: "camera", Count: 2})
	stats := mustImport(t, st, c)
	want := bulwark.ImportStats{Created: 1, Updated: 4, Unchanged: entityCount(c) - 5}
	changed := slices.Sorted(slices.Values(stats.ChangedAssets))
	if !sameCounts(stats, want) || !slices.Equal(changed, []string{"new-cam", "plc-1", "plc-2"}) || stats.OthersChanged != 2 {
		t.Errorf("stats = %+v, want %+v, assets new-cam, plc-1 and plc-2 changed", stats, want)
	}
	ctx := sysCtx()
	s := must(st.FindService(ctx, "water-supply"))(t)
	if d := gocmp.Diff(c.Services[0], *s, equateEmpty); d != "" {
		t.Errorf("updated service (-want +got):\n%s", d)
	}
	a := must(st.FindAsset(ctx, "plc-2"))(t)
	if a.System != "" || a.SystemDependency != "" {
		t.Errorf("plc-2 still linked to %q (%q)", a.System, a.SystemDependency)
	}
	g := must(st.LoadGraph(ctx))(t)
	for _, e := range edgeNames(g) {
		if strings.HasPrefix(e, "water-supply->pump") || strings.HasPrefix(e, "water-scada->plc-2") {
			t.Errorf("stale edge %s after update", e)
		}
	}
	if o := must(st.FindOrganization(ctx, "ciso"))(t); o.Name != "Office of the CISO" {
		t.Errorf("organization name = %q", o.Name)
	}
}

func testRollback(t *testing.T, st bulwark.Store) {
	ctx := sysCtx()
	c := fixture()
	tx := must(st.BeginImport(ctx))(t)
	if err := tx.PutOrganizations(ctx, c.Organizations); err != nil {
		t.Fatal(err)
	}
	if err := tx.PutAssets(ctx, c.Assets); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("second Rollback: %v", err)
	}
	if _, err := tx.Commit(ctx); err == nil {
		t.Error("Commit after Rollback succeeded")
	}
	if n := must(st.CountEntities(ctx))(t); n != (bulwark.Counts{}) {
		t.Errorf("after rollback: %+v, want nothing", n)
	}
	if a := must(st.ListAudit(ctx, 0, 0))(t); len(a) != 0 {
		t.Errorf("rollback left %d audit entries", len(a))
	}
	// A canceled context aborts the import too.
	cctx, cancel := context.WithCancel(ctx)
	tx = must(st.BeginImport(cctx))(t)
	_ = tx.PutOrganizations(cctx, c.Organizations)
	cancel()
	if _, err := tx.Commit(cctx); err == nil {
		t.Error("Commit with a canceled context succeeded")
	}
	tx.Rollback()
	if n := must(st.CountEntities(ctx))(t); n != (bulwark.Counts{}) {
		t.Errorf("after canceled import: %+v, want nothing", n)
	}
}

func testDanglingDependency(t *testing.T, st bulwark.Store) {
	tests := []struct {
		name   string
		change func(c *bulwark.City)
		want   string // in the error details
	}{
		{"depends_on", func(c *bulwark.City) {
			c.Services[0].DependsOn = append(c.Services[0].DependsOn, bulwark.Dependency{On: "ghost-system", Kind: bulwark.Hard})
		}, "ghost-system"},
		{"system", func(c *bulwark.City) { c.Assets[0].System = "ghost-scada" }, "ghost-scada"},
		{"system is not a system", func(c *bulwark.City) { c.Assets[3].System = "water-supply" }, "water-supply"},
		{"owner", func(c *bulwark.City) { c.Assets[0].Owner = "ghost-org" }, "ghost-org"},
		{"shares_with", func(c *bulwark.City) { c.Organizations[0].SharesWith = []string{"ghost-partner"} }, "ghost-partner"},
		{"org and entity share an id", func(c *bulwark.City) { c.Assets[3].ID = "ciso" }, "ciso"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fixture()
			tc.change(c)
			_, err := importCity(sysCtx(), st, c)
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Fatalf("import: %v, want EINVALID", err)
			}
			text := err.Error()
			if !strings.Contains(text, tc.want) {
				t.Errorf("error %q does not name %q", text, tc.want)
			}
			if n := must(st.CountEntities(sysCtx()))(t); n != (bulwark.Counts{}) {
				t.Errorf("failed import stored %+v", n)
			}
		})
	}
	// A dependency on an entity stored by an earlier import resolves.
	mustImport(t, st, fixture())
	extra := &bulwark.City{Assets: []bulwark.Asset{{ID: "pump-d", Name: "Pump D", Owner: "water", Kind: "pump",
		System: "water-scada", DependsOn: []bulwark.Dependency{{On: "power-feed", Kind: bulwark.Hard}}}}}
	if _, err := importCity(sysCtx(), st, extra); err != nil {
		t.Fatalf("import referring to stored entities: %v", err)
	}
	if a := must(st.FindAsset(sysCtx(), "pump-d"))(t); a.System != "water-scada" || len(a.DependsOn) != 1 {
		t.Errorf("pump-d = %+v", a)
	}
}

func testImportRejects(t *testing.T, st bulwark.Store) {
	tests := []struct {
		name   string
		change func(c *bulwark.City)
		code   string
	}{
		{"duplicate id", func(c *bulwark.City) { c.Assets = append(c.Assets, c.Assets[0]) }, bulwark.EINVALID},
		{"duplicate across kinds", func(c *bulwark.City) { c.Assets[0].ID = "water-scada" }, bulwark.EINVALID},
		{"invalid id", func(c *bulwark.City) { c.Assets[0].ID = "-bad id" }, bulwark.EINVALID},
		{"self dependency", func(c *bulwark.City) {
			c.Assets[3].DependsOn = []bulwark.Dependency{{On: c.Assets[3].ID, Kind: bulwark.Hard}}
		}, bulwark.EINVALID},
		{"undeclared group", func(c *bulwark.City) { c.Services[0].Groups = nil }, bulwark.EINVALID},
		{"bad dependency kind", func(c *bulwark.City) { c.Services[0].DependsOn[0].Kind = "sometimes" }, bulwark.EINVALID},
		{"invalid purview", func(c *bulwark.City) { c.Organizations[0].Purview = "galactic" }, bulwark.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fixture()
			tc.change(c)
			_, err := importCity(sysCtx(), st, c)
			wantCode(t, "import", err, tc.code)
			if n := must(st.CountEntities(sysCtx()))(t); n != (bulwark.Counts{}) {
				t.Errorf("failed import stored %+v", n)
			}
		})
	}
	// After a failed Put the transaction refuses further work.
	ctx := sysCtx()
	tx := must(st.BeginImport(ctx))(t)
	defer tx.Rollback()
	bad := []bulwark.Asset{{ID: "", Name: "x", Owner: "water"}}
	if err := tx.PutAssets(ctx, bad); err == nil {
		t.Fatal("PutAssets with empty id succeeded")
	}
	if err := tx.PutAssets(ctx, fixture().Assets); err == nil {
		t.Error("PutAssets after a failed Put succeeded")
	}
	if _, err := tx.Commit(ctx); err == nil {
		t.Error("Commit after a failed Put succeeded")
	}
}

func testNoPrincipal(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ctx := context.Background()
	calls := map[string]func() error{
		"BeginImport":       func() error { _, err := st.BeginImport(ctx); return err },
		"ResolveIDs":        func() error { _, err := st.ResolveIDs(ctx, []string{"plc-1"}); return err },
		"ListOrganizations": func() error { _, err := st.ListOrganizations(ctx, bulwark.ListOptions{}); return err },
		"FindOrganization":  func() error { _, err := st.FindOrganization(ctx, "water"); return err },
		"ListServices":      func() error { _, err := st.ListServices(ctx, bulwark.ListOptions{}); return err },
		"FindService":       func() error { _, err := st.FindService(ctx, "water-supply"); return err },
		"ListSystems":       func() error { _, err := st.ListSystems(ctx, bulwark.ListOptions{}); return err },
		"FindSystem":        func() error { _, err := st.FindSystem(ctx, "water-scada"); return err },
		"ListAssets":        func() error { _, err := st.ListAssets(ctx, bulwark.ListOptions{}); return err },
		"FindAsset":         func() error { _, err := st.FindAsset(ctx, "plc-1"); return err },
		"DeleteEntity":      func() error { return st.DeleteEntity(ctx, bulwark.KindAsset, "plc-1") },
		"CountEntities":     func() error { _, err := st.CountEntities(ctx); return err },
		"LoadGraph":         func() error { _, err := st.LoadGraph(ctx); return err },
		"ListUsers":         func() error { _, err := st.ListUsers(ctx); return err },
		"FindUser":          func() error { _, err := st.FindUser(ctx, 1); return err },
		"CreateUser": func() error {
			return st.CreateUser(ctx, &bulwark.User{Org: "water", Email: "x@example.org", Role: bulwark.RoleAdmin, PasswordHash: "h"})
		},
		"ListTokens":  func() error { _, err := st.ListTokens(ctx); return err },
		"RevokeToken": func() error { return st.RevokeToken(ctx, 1) },
		"ListAudit":   func() error { _, err := st.ListAudit(ctx, 0, 10); return err },
	}
	for name, call := range calls {
		wantCode(t, name, call(), bulwark.EUNAUTHORIZED)
	}
	// A Principal of no organization is no better.
	empty := bulwark.WithPrincipal(ctx, bulwark.Principal{Role: bulwark.RoleAdmin})
	_, err := st.ListAssets(empty, bulwark.ListOptions{})
	wantCode(t, "ListAssets(empty principal)", err, bulwark.EUNAUTHORIZED)
}

func testTenancyReads(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	tests := []struct {
		org      string
		orgs     []string
		services []string
		assets   []string
	}{
		// ciso sees water (which shares with it), not power.
		{"ciso", []string{"ciso", "water"}, []string{"water-supply"}, []string{"meters", "plc-1", "plc-2", "pump-a", "pump-b", "pump-c"}},
		// water sees power (which shares with it), but not ciso's nothing.
		{"water", []string{"power", "water"}, []string{"grid", "water-supply"},
			[]string{"grid-rtu", "meters", "plc-1", "plc-2", "power-feed", "pump-a", "pump-b", "pump-c"}},
		{"power", []string{"power"}, []string{"grid"}, []string{"grid-rtu", "power-feed"}},
	}
	for _, tc := range tests {
		t.Run(tc.org, func(t *testing.T) {
			ctx := userCtx(tc.org, bulwark.RoleViewer)
			orgs := must(st.ListOrganizations(ctx, bulwark.ListOptions{}))(t)
			if d := gocmp.Diff(tc.orgs, ids(orgs.Items, orgID)); d != "" {
				t.Errorf("organizations (-want +got):\n%s", d)
			}
			svcs := must(st.ListServices(ctx, bulwark.ListOptions{}))(t)
			if d := gocmp.Diff(tc.services, ids(svcs.Items, serviceID)); d != "" {
				t.Errorf("services (-want +got):\n%s", d)
			}
			assets := must(st.ListAssets(ctx, bulwark.ListOptions{}))(t)
			if d := gocmp.Diff(tc.assets, ids(assets.Items, assetID)); d != "" {
				t.Errorf("assets (-want +got):\n%s", d)
			}
			// Every entity outside the visible set is indistinguishable
			// from a missing one.
			for _, a := range fixture().Assets {
				_, err := st.FindAsset(ctx, a.ID)
				visible := slices.Contains(tc.assets, a.ID)
				if visible && err != nil {
					t.Errorf("FindAsset(%s): %v", a.ID, err)
				}
				if !visible {
					wantCode(t, "FindAsset("+a.ID+")", err, bulwark.ENOTFOUND)
					_, err2 := st.FindAsset(ctx, "missing-"+a.ID)
					if bulwark.ErrorMessage(err) != strings.ReplaceAll(bulwark.ErrorMessage(err2), "missing-", "") {
						t.Errorf("hidden %q: message %q differs from missing: %q", a.ID, bulwark.ErrorMessage(err), bulwark.ErrorMessage(err2))
					}
				}
			}
			for _, o := range []string{"ciso", "power", "water"} {
				_, err := st.FindOrganization(ctx, o)
				if slices.Contains(tc.orgs, o) != (err == nil) {
					t.Errorf("FindOrganization(%s): %v", o, err)
				}
			}
			kinds := must(st.ResolveIDs(ctx, []string{"power-feed", "plc-1", "grid"}))(t)
			for id := range kinds {
				if !slices.Contains(tc.assets, id) && !slices.Contains(tc.services, id) {
					t.Errorf("ResolveIDs revealed %s", id)
				}
			}
		})
	}
	// Dependencies on invisible entities are not shown: ciso sees
	// water-scada but not power's feed it runs on.
	sys := must(st.FindSystem(userCtx("ciso", bulwark.RoleViewer), "water-scada"))(t)
	for _, d := range sys.DependsOn {
		if d.On == "power-feed" {
			t.Error("ciso sees a dependency on power's feed")
		}
	}
	// Another organization's sharing list is not revealed beyond the
	// caller's own view.
	o := must(st.FindOrganization(userCtx("water", bulwark.RoleViewer), "power"))(t)
	if d := gocmp.Diff([]string{"water"}, o.SharesWith); d != "" {
		t.Errorf("power as seen by water: shares (-want +got):\n%s", d)
	}
	w := must(st.FindOrganization(userCtx("ciso", bulwark.RoleViewer), "water"))(t)
	if d := gocmp.Diff([]string{"ciso"}, w.SharesWith); d != "" {
		t.Errorf("water as seen by ciso: shares (-want +got):\n%s", d)
	}
}

func testTenancyWrites(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	analyst := userCtx("water", bulwark.RoleAnalyst)

	// An analyst imports its own organization's entities.
	own := &bulwark.City{Assets: []bulwark.Asset{{ID: "cam-1", Name: "Camera", Owner: "water", Kind: "camera",
		DependsOn: []bulwark.Dependency{{On: "power-feed", Kind: bulwark.Hard}}}}}
	if _, err := importCity(analyst, st, own); err != nil {
		t.Fatalf("analyst import of own asset: %v", err)
	}
	tests := []struct {
		name string
		ctx  context.Context
		city *bulwark.City
		code string
	}{
		{"viewer cannot import", userCtx("water", bulwark.RoleViewer), own, bulwark.EFORBIDDEN},
		{"other owner", analyst, &bulwark.City{Assets: []bulwark.Asset{{ID: "x-1", Name: "X", Owner: "power", Kind: "rtu"}}}, bulwark.EFORBIDDEN},
		{"overwrite foreign id", analyst, &bulwark.City{Assets: []bulwark.Asset{{ID: "power-feed", Name: "Mine now", Owner: "water", Kind: "rtu"}}}, bulwark.EFORBIDDEN},
		{"overwrite invisible id", userCtx("ciso", bulwark.RoleAdmin),
			&bulwark.City{Assets: []bulwark.Asset{{ID: "grid-rtu", Name: "Mine now", Owner: "ciso", Kind: "rtu"}}}, bulwark.EFORBIDDEN},
		{"change other organization", analyst, &bulwark.City{Organizations: []bulwark.Organization{{ID: "power", Name: "Taken", Purview: bulwark.PurviewCity}}}, bulwark.EFORBIDDEN},
		{"create organization", analyst, &bulwark.City{Organizations: []bulwark.Organization{{ID: "newco", Name: "New", Purview: bulwark.PurviewPrivate}}}, bulwark.EFORBIDDEN},
		{"depend on invisible", userCtx("ciso", bulwark.RoleAnalyst),
			&bulwark.City{Assets: []bulwark.Asset{{ID: "c-1", Name: "C", Owner: "ciso", Kind: "pc", DependsOn: []bulwark.Dependency{{On: "power-feed", Kind: bulwark.Hard}}}}}, bulwark.EINVALID},
		{"system invisible", userCtx("ciso", bulwark.RoleAnalyst),
			&bulwark.City{Systems: []bulwark.System{{ID: "soc", Name: "SOC", Owner: "ciso"}},
				Assets: []bulwark.Asset{{ID: "c-2", Name: "C", Owner: "ciso", Kind: "pc", System: "grid-scada-hidden"}}}, bulwark.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importCity(tc.ctx, st, tc.city)
			wantCode(t, "import", err, tc.code)
			if err != nil && (strings.Contains(err.Error(), "Power Co") || strings.Contains(err.Error(), "Feeder 12") ||
				strings.Contains(bulwark.ErrorMessage(err), "owned by \"power\"")) {
				t.Errorf("error reveals details of the other organization: %v", err)
			}
		})
	}
	// The refused imports changed nothing.
	if a := must(st.FindAsset(sysCtx(), "power-feed"))(t); a.Name != "Feeder 12" || a.Owner != "power" {
		t.Errorf("power-feed overwritten: %+v", a)
	}
	if _, err := st.FindAsset(sysCtx(), "x-1"); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("x-1 stored: %v", err)
	}
	// A whole-city file with unchanged foreign organizations re-imports.
	c := &bulwark.City{Organizations: []bulwark.Organization{fixture().Organizations[1], fixture().Organizations[2]}}
	if _, err := importCity(analyst, st, c); err != nil {
		t.Errorf("re-import of unchanged visible organizations: %v", err)
	}
	// An analyst may change its own organization's sharing.
	w := fixture().Organizations[2]
	w.SharesWith = nil
	if _, err := importCity(analyst, st, &bulwark.City{Organizations: []bulwark.Organization{w}}); err != nil {
		t.Fatalf("analyst updates own organization: %v", err)
	}
	if _, err := st.FindAsset(userCtx("ciso", bulwark.RoleViewer), "plc-1"); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("ciso still sees water's asset after water stopped sharing: %v", err)
	}

	// Deletes.
	wantCode(t, "viewer deletes", st.DeleteEntity(userCtx("water", bulwark.RoleViewer), bulwark.KindAsset, "plc-1"), bulwark.EFORBIDDEN)
	wantCode(t, "delete shared foreign", st.DeleteEntity(analyst, bulwark.KindAsset, "power-feed"), bulwark.EFORBIDDEN)
	wantCode(t, "delete invisible", st.DeleteEntity(userCtx("ciso", bulwark.RoleAdmin), bulwark.KindAsset, "plc-1"), bulwark.ENOTFOUND)
	wantCode(t, "delete missing", st.DeleteEntity(analyst, bulwark.KindAsset, "nope"), bulwark.ENOTFOUND)
	wantCode(t, "delete wrong kind", st.DeleteEntity(analyst, bulwark.KindService, "plc-1"), bulwark.ENOTFOUND)
	if err := st.DeleteEntity(analyst, bulwark.KindAsset, "plc-1"); err != nil {
		t.Errorf("analyst deletes own asset: %v", err)
	}
}

func testPagination(t *testing.T, st bulwark.Store) {
	c := &bulwark.City{Organizations: fixture().Organizations}
	for i := range 120 {
		c.Assets = append(c.Assets, bulwark.Asset{ID: fmt.Sprintf("a-%03d", i), Name: fmt.Sprintf("Asset %d", i), Owner: "water", Kind: "sensor"})
	}
	mustImport(t, st, c)
	ctx := sysCtx()
	var got []string
	var pages []int
	opt := bulwark.ListOptions{}
	for {
		p := must(st.ListAssets(ctx, opt))(t)
		pages = append(pages, len(p.Items))
		got = append(got, ids(p.Items, assetID)...)
		if p.Next == "" {
			break
		}
		opt.After = p.Next
		if len(pages) > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if d := gocmp.Diff([]int{50, 50, 20}, pages); d != "" {
		t.Errorf("page sizes (-want +got):\n%s", d)
	}
	want := ids(c.Assets, assetID)
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("all pages (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		limit, want int
		next        bool
	}{{7, 7, true}, {120, 120, false}, {100000, 120, false}, {-1, 50, true}} {
		p := must(st.ListAssets(ctx, bulwark.ListOptions{Limit: tc.limit}))(t)
		if len(p.Items) != tc.want || (p.Next != "") != tc.next {
			t.Errorf("Limit %d: %d items, next %q", tc.limit, len(p.Items), p.Next)
		}
	}
	// The cursor is just an ID: a tampered one cannot widen access.
	p := must(st.ListAssets(userCtx("power", bulwark.RoleViewer), bulwark.ListOptions{After: "a-000"}))(t)
	if len(p.Items) != 0 {
		t.Errorf("power sees %d of water's assets through a cursor", len(p.Items))
	}
}

func testFilters(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ctx := sysCtx()
	tests := []struct {
		name string
		opt  bulwark.ListOptions
		want []string
	}{
		{"kind", bulwark.ListOptions{Kind: "plc"}, []string{"plc-1", "plc-2"}},
		{"system", bulwark.ListOptions{System: "water-scada"}, []string{"plc-1", "plc-2"}},
		{"system unknown", bulwark.ListOptions{System: "nothing"}, nil},
		{"owner", bulwark.ListOptions{Owner: "power"}, []string{"grid-rtu", "power-feed"}},
		{"query id", bulwark.ListOptions{Query: "PUMP-"}, []string{"pump-a", "pump-b", "pump-c"}},
		{"query name", bulwark.ListOptions{Query: "feeder"}, []string{"power-feed"}},
		{"query is literal", bulwark.ListOptions{Query: "%"}, nil},
		{"query underscore literal", bulwark.ListOptions{Query: "plc_"}, nil},
		{"combined", bulwark.ListOptions{Owner: "water", Kind: "pump", Query: "b"}, []string{"pump-b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := must(st.ListAssets(ctx, tc.opt))(t)
			if d := gocmp.Diff(tc.want, ids(p.Items, assetID), equateEmpty); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	s := must(st.ListServices(ctx, bulwark.ListOptions{Sector: bulwark.SectorEnergy}))(t)
	if d := gocmp.Diff([]string{"grid"}, ids(s.Items, serviceID)); d != "" {
		t.Errorf("sector filter (-want +got):\n%s", d)
	}
	sy := must(st.ListSystems(ctx, bulwark.ListOptions{Query: "scada"}))(t)
	if d := gocmp.Diff([]string{"water-scada"}, ids(sy.Items, systemID)); d != "" {
		t.Errorf("systems query (-want +got):\n%s", d)
	}
	// Listed objects are complete, like Find.
	p := must(st.ListServices(ctx, bulwark.ListOptions{Query: "water"}))(t)
	one := must(st.FindService(ctx, "water-supply"))(t)
	if len(p.Items) != 1 || gocmp.Diff(*one, p.Items[0]) != "" {
		t.Errorf("listed service differs from found: %s", gocmp.Diff(*one, p.Items))
	}
	// The system filter does not reveal an invisible system's assets.
	q := must(st.ListAssets(userCtx("power", bulwark.RoleViewer), bulwark.ListOptions{System: "water-scada"}))(t)
	if len(q.Items) != 0 {
		t.Errorf("power lists %d assets of water's system", len(q.Items))
	}
}

func testLoadGraph(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	tests := []struct {
		name  string
		ctx   context.Context
		nodes []string
		edges []string
	}{
		{"system", sysCtx(),
			[]string{"grid", "grid-rtu", "meters", "plc-1", "plc-2", "power-feed", "pump-a", "pump-b", "pump-c", "water-scada", "water-supply"},
			[]string{"grid->power-feed hard ", "grid-rtu->power-feed soft ", "pump-a->power-feed hard ",
				"water-scada->plc-1 hard plcs", "water-scada->plc-2 hard plcs", "water-scada->power-feed hard ",
				"water-supply->pump-a hard pumps", "water-supply->pump-b hard pumps", "water-supply->pump-c soft pumps",
				"water-supply->water-scada hard "}},
		{"ciso", userCtx("ciso", bulwark.RoleViewer),
			[]string{"meters", "plc-1", "plc-2", "pump-a", "pump-b", "pump-c", "water-scada", "water-supply"},
			[]string{"water-scada->plc-1 hard plcs", "water-scada->plc-2 hard plcs",
				"water-supply->pump-a hard pumps", "water-supply->pump-b hard pumps", "water-supply->pump-c soft pumps",
				"water-supply->water-scada hard "}},
		{"power", userCtx("power", bulwark.RoleViewer),
			[]string{"grid", "grid-rtu", "power-feed"},
			[]string{"grid->power-feed hard ", "grid-rtu->power-feed soft "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := must(st.LoadGraph(tc.ctx))(t)
			nodes := ids(g.Nodes, nodeID)
			slices.Sort(nodes)
			if d := gocmp.Diff(tc.nodes, nodes); d != "" {
				t.Errorf("nodes (-want +got):\n%s", d)
			}
			edges := edgeNames(g)
			slices.Sort(edges)
			if d := gocmp.Diff(tc.edges, edges); d != "" {
				t.Errorf("edges (-want +got):\n%s", d)
			}
			if !slices.IsSortedFunc(g.Nodes, func(a, b bulwark.GraphNode) int { return cmp.Compare(a.Ref, b.Ref) }) {
				t.Error("nodes not in ref order")
			}
			refs := map[int64]bool{}
			for _, n := range g.Nodes {
				refs[n.Ref] = true
			}
			for _, gr := range g.Groups {
				if !refs[gr.Owner] {
					t.Errorf("group %s of invisible node %d", gr.ID, gr.Owner)
				}
			}
		})
	}
	g := must(st.LoadGraph(sysCtx()))(t)
	byID := map[string]bulwark.GraphNode{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	ws := byID["water-supply"]
	want := bulwark.GraphNode{Ref: ws.Ref, ID: "water-supply", Kind: bulwark.KindService, Owner: "water", Name: "Drinking water supply",
		Population: 420000, Category: fixture().Services[0].Category}
	if d := gocmp.Diff(want, ws); d != "" {
		t.Errorf("service node (-want +got):\n%s", d)
	}
	if m := byID["meters"]; m.Count != 5000 || m.Kind != bulwark.KindAsset {
		t.Errorf("meters node = %+v", m)
	}
	var groups []string
	for _, gr := range g.Groups {
		for _, n := range g.Nodes {
			if n.Ref == gr.Owner {
				groups = append(groups, fmt.Sprintf("%s/%s:%d", n.ID, gr.ID, gr.Need))
			}
		}
	}
	slices.Sort(groups)
	if d := gocmp.Diff([]string{"water-scada/plcs:1", "water-supply/pumps:2"}, groups); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}
}

func testDeleteEntity(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ctx := sysCtx()
	if err := st.DeleteEntity(ctx, bulwark.KindAsset, "pump-b"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteEntity(ctx, bulwark.KindSystem, "water-scada"); err != nil {
		t.Fatal(err)
	}
	_, err := st.FindAsset(ctx, "pump-b")
	wantCode(t, "FindAsset(deleted)", err, bulwark.ENOTFOUND)
	g := must(st.LoadGraph(ctx))(t)
	for _, e := range edgeNames(g) {
		if strings.Contains(e, "pump-b") || strings.Contains(e, "water-scada") {
			t.Errorf("edge %s survives the delete", e)
		}
	}
	if a := must(st.FindAsset(ctx, "plc-1"))(t); a.System != "" || a.SystemDependency != "" {
		t.Errorf("plc-1 still in deleted system: %+v", a)
	}
	// Re-importing the city restores everything; the entities that
	// pointed at the deleted ones count as updated.
	stats := mustImport(t, st, fixture())
	if stats.Created != 2 || stats.Updated < 3 {
		t.Errorf("re-import after delete: %+v, want 2 created and the dependents updated", stats)
	}
	g2 := must(st.LoadGraph(ctx))(t)
	if len(g2.Edges) != 10 {
		t.Errorf("after re-import %d edges, want 10: %v", len(g2.Edges), edgeNames(g2))
	}
	wantCode(t, "delete bad kind", st.DeleteEntity(ctx, 0, "plc-1"), bulwark.EINVALID)
}

func testCounts(t *testing.T, st bulwark.Store) {
	if n := must(st.CountEntities(sysCtx()))(t); n != (bulwark.Counts{}) {
		t.Errorf("empty store counts %+v", n)
	}
	if g := must(st.LoadGraph(sysCtx()))(t); len(g.Nodes)+len(g.Edges)+len(g.Groups) != 0 {
		t.Errorf("empty store graph %+v", g)
	}
	mustImport(t, st, fixture())
	tests := []struct {
		ctx  context.Context
		want bulwark.Counts
	}{
		{sysCtx(), bulwark.Counts{Organizations: 3, Services: 2, Systems: 1, Assets: 8, AssetUnits: 5007, Dependencies: 10}},
		{userCtx("ciso", bulwark.RoleViewer), bulwark.Counts{Organizations: 2, Services: 1, Systems: 1, Assets: 6, AssetUnits: 5005, Dependencies: 6}},
		{userCtx("power", bulwark.RoleViewer), bulwark.Counts{Organizations: 1, Services: 1, Assets: 2, AssetUnits: 2, Dependencies: 2}},
	}
	for _, tc := range tests {
		got := must(st.CountEntities(tc.ctx))(t)
		if d := gocmp.Diff(tc.want, got); d != "" {
			p, _ := bulwark.PrincipalFrom(tc.ctx)
			t.Errorf("counts for %q (-want +got):\n%s", p.Org, d)
		}
	}
	// The same after loading the graph (a store may count from a cache).
	must(st.LoadGraph(sysCtx()))(t)
	for _, tc := range tests {
		got := must(st.CountEntities(tc.ctx))(t)
		if d := gocmp.Diff(tc.want, got); d != "" {
			p, _ := bulwark.PrincipalFrom(tc.ctx)
			t.Errorf("counts after LoadGraph for %q (-want +got):\n%s", p.Org, d)
		}
	}
	// And after a change.
	if err := st.DeleteEntity(sysCtx(), bulwark.KindAsset, "meters"); err != nil {
		t.Fatal(err)
	}
	got := must(st.CountEntities(sysCtx()))(t)
	if got.Assets != 7 || got.AssetUnits != 7 {
		t.Errorf("after deleting meters: %+v", got)
	}
}

// sameCounts compares the counts of two ImportStats.
func sameCounts(a, b bulwark.ImportStats) bool {
	return a.Created == b.Created && a.Updated == b.Updated && a.Unchanged == b.Unchanged
}
