package storetest

import (
	"testing"

	"bulwark"
)

func testSBOMs(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	s := &bulwark.SBOM{AssetID: "plc-1", Document: "plc.cdx.json", SpecVersion: "1.5", Hash: "abc",
		Components:  []bulwark.Component{{Name: "openssl", Version: "1.0.2", PURL: "pkg:generic/openssl@1.0.2"}},
		NotAffected: []string{"CVE-2014-0160"}}
	water := userCtx("water", bulwark.RoleAnalyst)
	if err := st.PutSBOM(water, s); err != nil {
		t.Fatal(err)
	}
	got := must(st.FindSBOM(userCtx("ciso", bulwark.RoleViewer), "plc-1"))(t) // water shares with ciso
	if got.Owner != "water" || len(got.Components) != 1 || got.Components[0].PURL != s.Components[0].PURL || got.NotAffected[0] != "CVE-2014-0160" {
		t.Errorf("SBOM read back: %+v", got)
	}
	// Re-attaching replaces.
	s2 := *s
	s2.Components = append(s2.Components, bulwark.Component{Name: "busybox", Version: "1.20"})
	if err := st.PutSBOM(water, &s2); err != nil {
		t.Fatal(err)
	}
	if got := must(st.FindSBOM(water, "plc-1"))(t); len(got.Components) != 2 {
		t.Errorf("replaced SBOM has %d components", len(got.Components))
	}
	// Tenancy: power cannot see water's asset; ciso sees it but does not
	// own it; a viewer may not write.
	wantCode(t, "power attaching to water's asset", st.PutSBOM(userCtx("power", bulwark.RoleAdmin), s), bulwark.ENOTFOUND)
	wantCode(t, "ciso attaching to water's asset", st.PutSBOM(userCtx("ciso", bulwark.RoleAdmin), s), bulwark.EFORBIDDEN)
	wantCode(t, "viewer attaching", st.PutSBOM(userCtx("water", bulwark.RoleViewer), s), bulwark.EFORBIDDEN)
	wantCode(t, "unknown asset", st.PutSBOM(water, &bulwark.SBOM{AssetID: "nope"}), bulwark.ENOTFOUND)
	_, err := st.FindSBOM(userCtx("power", bulwark.RoleAdmin), "plc-1")
	wantCode(t, "power reading water's SBOM", err, bulwark.ENOTFOUND)
	big := &bulwark.SBOM{AssetID: "plc-2", Components: make([]bulwark.Component, 50_001)}
	wantCode(t, "oversized SBOM", st.PutSBOM(water, big), bulwark.ETOOLARGE)

	var seen []string
	if err := st.EachSBOM(userCtx("power", bulwark.RoleAdmin), func(s *bulwark.SBOM) error { seen = append(seen, s.AssetID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Errorf("power sees SBOMs %v", seen)
	}
	if err := st.EachSBOM(sysCtx(), func(s *bulwark.SBOM) error { seen = append(seen, s.AssetID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "plc-1" {
		t.Errorf("system sees SBOMs %v", seen)
	}
}
