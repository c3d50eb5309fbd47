package match

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"bulwark"
)

const (
	s71200fw = "cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*"
	s71200hw = "cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*"
)

// firmwareOnHardware is NVD's usual shape for a device: vulnerable
// firmware versions running on a hardware platform.
func firmwareOnHardware(id string, fw bulwark.CPEMatch, hw string) bulwark.Vulnerability {
	return bulwark.Vulnerability{ID: id, Configurations: []bulwark.Node{{
		Operator: bulwark.AND,
		Children: []bulwark.Node{
			{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{fw}},
			{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{{Criteria: hw}}},
		},
	}}}
}

func orNode(ms ...bulwark.CPEMatch) bulwark.Vulnerability {
	return bulwark.Vulnerability{ID: "CVE-T", Configurations: []bulwark.Node{{Operator: bulwark.OR, Matches: ms}}}
}

// matchOne matches one asset against vulnerabilities and returns the
// matches by vulnerability ID, checking on the way that Explain agrees
// with MatchAll on every pair.
func matchOne(t *testing.T, vulns []bulwark.Vulnerability, a bulwark.Asset) map[string]Match {
	t.Helper()
	b := NewBuilder()
	for i := range vulns {
		b.Add(&vulns[i])
	}
	ix := b.Build()
	inv, problems := NewInventory([]bulwark.Asset{a})
	if len(problems) > 0 {
		t.Fatalf("inventory problems: %v", problems)
	}
	got := map[string]Match{}
	ix.MatchAll(inv, func(m Match) {
		if _, dup := got[m.VulnID]; dup {
			t.Errorf("%s reported twice", m.VulnID)
		}
		got[m.VulnID] = m
	})
	for _, v := range vulns {
		x := ix.Explain(a, v.ID)
		m, ok := got[v.ID]
		if x.Matched != ok || x.Confidence != m.Confidence {
			t.Errorf("Explain(%s) = matched %v %s, MatchAll matched %v %s\n%s", v.ID, x.Matched, x.Confidence, ok, m.Confidence, x)
		}
		if ok && x.Evidence != m.Evidence {
			t.Errorf("Explain(%s) evidence %q, MatchAll %q", v.ID, x.Evidence, m.Evidence)
		}
	}
	return got
}

func TestConfigurations(t *testing.T) {
	endExcl45 := bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionEndExcluding: "4.5"}
	device := func(fwVersion string, withHardware bool) bulwark.Asset {
		a := bulwark.Asset{ID: "plc-1", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:" + fwVersion + ":*:*:*:*:*:*:*"}}
		if withHardware {
			a.CPEs = append(a.CPEs, s71200hw)
		}
		return a
	}
	for _, tc := range []struct {
		name  string
		vuln  bulwark.Vulnerability
		asset bulwark.Asset
		want  bulwark.Confidence // "" for no match
	}{
		{"firmware below end-excluding on its hardware", firmwareOnHardware("CVE-T", endExcl45, s71200hw), device("4.2.1", true), bulwark.ConfidenceExact},
		{"firmware at end-excluding", firmwareOnHardware("CVE-T", endExcl45, s71200hw), device("4.5", true), ""},
		{"firmware above end-excluding", firmwareOnHardware("CVE-T", endExcl45, s71200hw), device("4.5.1", true), ""},
		{"firmware without its hardware", firmwareOnHardware("CVE-T", endExcl45, s71200hw), device("4.2.1", false), ""},
		{"firmware version ANY", firmwareOnHardware("CVE-T", endExcl45, s71200hw), device("*", true), bulwark.ConfidenceUnknown},
		{"firmware version NA", firmwareOnHardware("CVE-T", endExcl45, s71200hw), device("-", true), bulwark.ConfidenceUnknown},
		{"firmware version not a version", firmwareOnHardware("CVE-T", endExcl45, s71200hw), device("latest", true), bulwark.ConfidenceUnknown},
		{"unknown version on missing hardware is still false", firmwareOnHardware("CVE-T", endExcl45, s71200hw), device("*", false), ""},
		{"other hardware", firmwareOnHardware("CVE-T", endExcl45, "cpe:2.3:h:siemens:simatic_s7-1500:-:*:*:*:*:*:*:*"), device("4.2.1", true), ""},
		{"start-including bound itself", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionStartIncluding: "4.0", VersionEndIncluding: "4.2"}), device("4.0", false), bulwark.ConfidenceExact},
		{"end-including bound itself", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionStartIncluding: "4.0", VersionEndIncluding: "4.2"}), device("4.2", false), bulwark.ConfidenceExact},
		{"below start-including", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionStartIncluding: "4.0", VersionEndIncluding: "4.2"}), device("3.9", false), ""},
		{"start-excluding bound itself", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionStartExcluding: "4.0"}), device("4.0", false), ""},
		{"concrete version criterion", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*"}), device("4.2.1", false), bulwark.ConfidenceExact},
		{"concrete version criterion, other version", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*"}), device("4.2.2", false), ""},
		{"concrete version criterion, asset version ANY", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*"}), device("*", false), bulwark.ConfidenceUnknown},
		{"all versions", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw}), device("*", false), bulwark.ConfidenceExact},
		{"platform criterion alone is not a finding", orNode(bulwark.CPEMatch{Vulnerable: false, Criteria: s71200hw}), device("4.2.1", true), ""},
		{"criterion with a target_sw the asset leaves ANY", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:wordpress:*:*"}), device("4.2.1", false), bulwark.ConfidenceUnknown},
		{"criterion with a target_sw the asset leaves ANY, version outside", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:wordpress:*:*", VersionEndExcluding: "4.0"}), device("4.2.1", false), ""},
		{"criterion with another target_sw", orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:wordpress:*:*"}), bulwark.Asset{ID: "plc-1", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:joomla:*:*"}}, ""},
		{"negated hardware: firmware on other hardware", bulwark.Vulnerability{ID: "CVE-T", Configurations: []bulwark.Node{{
			Operator: bulwark.AND,
			Children: []bulwark.Node{
				{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{endExcl45}},
				{Operator: bulwark.OR, Negate: true, Matches: []bulwark.CPEMatch{{Criteria: s71200hw}}},
			},
		}}}, device("4.2.1", false), bulwark.ConfidenceExact},
		{"negated hardware present", bulwark.Vulnerability{ID: "CVE-T", Configurations: []bulwark.Node{{
			Operator: bulwark.AND,
			Children: []bulwark.Node{
				{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{endExcl45}},
				{Operator: bulwark.OR, Negate: true, Matches: []bulwark.CPEMatch{{Criteria: s71200hw}}},
			},
		}}}, device("4.2.1", true), ""},
		{"negation alone names no vulnerable component", bulwark.Vulnerability{ID: "CVE-T", Configurations: []bulwark.Node{{
			Operator: bulwark.OR, Negate: true, Matches: []bulwark.CPEMatch{{Vulnerable: true, Criteria: "cpe:2.3:a:other:thing:*:*:*:*:*:*:*:*"}},
		}}}, device("4.2.1", true), ""},
		{"second root holds", bulwark.Vulnerability{ID: "CVE-T", Configurations: []bulwark.Node{
			{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{{Vulnerable: true, Criteria: "cpe:2.3:a:other:thing:*:*:*:*:*:*:*:*"}}},
			{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{endExcl45}},
		}}, device("4.2.1", false), bulwark.ConfidenceExact},
		{"true root beats unknown root", bulwark.Vulnerability{ID: "CVE-T", Configurations: []bulwark.Node{
			{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{{Vulnerable: true, Criteria: s71200fw, VersionEndExcluding: "4.5"}}},
			{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{{Vulnerable: true, Criteria: "cpe:2.3:h:siemens:simatic_s7-1200:*:*:*:*:*:*:*:*"}}},
		}}, bulwark.Asset{ID: "a", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*", s71200hw}}, bulwark.ConfidenceExact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := matchOne(t, []bulwark.Vulnerability{tc.vuln}, tc.asset)
			m, ok := got["CVE-T"]
			if tc.want == "" {
				if ok {
					t.Fatalf("matched (%s, %s), want no match", m.Confidence, m.Evidence)
				}
				return
			}
			if !ok {
				t.Fatalf("no match, want %s\n%s", tc.want, tc.vuln.ID)
			}
			if m.Confidence != tc.want {
				t.Errorf("confidence %s, want %s (%s)", m.Confidence, tc.want, m.Evidence)
			}
			if m.AssetID != "plc-1" && tc.asset.ID == "plc-1" {
				t.Errorf("asset ID %q", m.AssetID)
			}
		})
	}
}

func TestEvidenceNamesVulnerableCriterion(t *testing.T) {
	v := firmwareOnHardware("CVE-2099-0001", bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionEndExcluding: "4.5"}, s71200hw)
	a := bulwark.Asset{ID: "plc-1", CPEs: []string{s71200hw, "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*"}}
	got := matchOne(t, []bulwark.Vulnerability{v}, a)
	m := got["CVE-2099-0001"]
	for _, want := range []string{s71200fw + " versionEndExcluding 4.5", "matched cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1", "4.2.1"} {
		if !strings.Contains(m.Evidence, want) {
			t.Errorf("evidence %q lacks %q", m.Evidence, want)
		}
	}
	if strings.Contains(m.Evidence, "cpe:2.3:h:") {
		t.Errorf("evidence %q names the platform, not the vulnerable firmware", m.Evidence)
	}
}

func TestExplain(t *testing.T) {
	v := firmwareOnHardware("CVE-2099-0001", bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionEndExcluding: "4.5"}, s71200hw)
	b := NewBuilder()
	b.Add(&v)
	ix := b.Build()

	a := bulwark.Asset{ID: "plc-1", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*", s71200hw}}
	x := ix.Explain(a, "CVE-2099-0001")
	if !x.Matched || x.Confidence != bulwark.ConfidenceExact {
		t.Fatalf("not an exact match:\n%s", x)
	}
	if len(x.Configurations) != 1 || x.Configurations[0].Operator != "AND" || x.Configurations[0].Result != "true" || len(x.Configurations[0].Children) != 2 {
		t.Fatalf("configuration tree not recorded:\n%s", x)
	}
	hw := x.Configurations[0].Children[1].Criteria[0]
	if hw.Vulnerable || hw.Result != "true" || hw.AssetCPE != s71200hw {
		t.Errorf("hardware criterion %+v", hw)
	}
	s := x.String()
	for _, want := range []string{"MATCH (exact)", "AND node → true", "[platform]", "4.2.1 in", "[vulnerable]"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}

	a.CPEs = a.CPEs[:1] // firmware without its hardware
	x = ix.Explain(a, "CVE-2099-0001")
	if x.Matched || x.Configurations[0].Result != "false" || x.Configurations[0].Children[1].Result != "false" {
		t.Errorf("firmware alone:\n%s", x)
	}
	if !strings.Contains(x.String(), "no CPE for this product") {
		t.Errorf("why the hardware failed is not said:\n%s", x)
	}

	if x := ix.Explain(a, "CVE-0000-0000"); x.Known || x.Matched || x.Why == "" {
		t.Errorf("unknown vulnerability: %+v", x)
	}
}

func TestProducts(t *testing.T) {
	siemens := bulwark.Asset{ID: "plc-1", Vendor: "Siemens", Product: "SIMATIC S7-1200", Version: "4.2.1"}
	schneider := bulwark.Asset{ID: "rtu-1", CPEs: []string{"cpe:2.3:o:schneider-electric:easergy_t300_firmware:2.7:*:*:*:*:*:*:*"}}
	npm := bulwark.Asset{ID: "web-1", PURLs: []string{"pkg:npm/lodash@4.17.20"}}
	for _, tc := range []struct {
		name     string
		affected []bulwark.AffectedProduct
		asset    bulwark.Asset
		want     bulwark.Confidence
	}{
		{"vendor with legal form, product equal, parsed range", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens AG", Product: "SIMATIC S7-1200", Range: "< V4.5"}}, siemens, bulwark.ConfidenceHigh},
		{"outside the range", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens AG", Product: "SIMATIC S7-1200", Range: "< V4.2"}}, siemens, ""},
		{"model number", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200 CPU family", Models: []string{"SIMATIC S7-1200"}, Range: "< V4.5"}}, siemens, bulwark.ConfidenceHigh},
		{"product contained in a longer name", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200 CPU family (incl. SIPLUS variants)", Range: "< V4.5"}}, siemens, bulwark.ConfidenceLow},
		{"no version: every version", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200"}}, siemens, bulwark.ConfidenceHigh},
		{"fixed statement for the same version suppresses", []bulwark.AffectedProduct{
			{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200", Range: "< V5"},
			{Status: bulwark.StatusFixed, Vendor: "Siemens", Product: "SIMATIC S7-1200", Version: "4.2.1"},
		}, siemens, ""},
		{"fixed statement for another version does not", []bulwark.AffectedProduct{
			{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200", Range: "< V5"},
			{Status: bulwark.StatusFixed, Vendor: "Siemens", Product: "SIMATIC S7-1200", Version: "5.0"},
		}, siemens, bulwark.ConfidenceHigh},
		{"not affected suppresses", []bulwark.AffectedProduct{
			{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200"},
			{Status: bulwark.StatusNotAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200"},
		}, siemens, ""},
		{"under investigation is not a finding", []bulwark.AffectedProduct{{Status: bulwark.StatusUnderInvestigate, Vendor: "Siemens", Product: "SIMATIC S7-1200"}}, siemens, ""},
		{"other vendor", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Rockwell", Product: "SIMATIC S7-1200"}}, siemens, ""},
		{"short product does not match by containment", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "S7"}}, siemens, ""},
		{"asset version missing", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200", Range: "< V4.5"}}, bulwark.Asset{ID: "plc-2", Vendor: "Siemens", Product: "SIMATIC S7-1200"}, bulwark.ConfidenceUnknown},
		{"vendor spelled with a space matches the CPE vendor", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Schneider Electric", Product: "Easergy T300 firmware", Range: "<= 2.7"}}, schneider, bulwark.ConfidenceHigh},
		{"CPE statement", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, CPE: "cpe:2.3:o:schneider-electric:easergy_t300_firmware:*:*:*:*:*:*:*:*", Range: "< 2.7.1"}}, schneider, bulwark.ConfidenceExact},
		{"PURL vers range", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, PURL: "pkg:npm/lodash", Range: "vers:npm/<4.17.21"}}, npm, bulwark.ConfidenceExact},
		{"PURL exact version", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, PURL: "pkg:npm/lodash@4.17.20"}}, npm, bulwark.ConfidenceExact},
		{"PURL other version", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, PURL: "pkg:npm/lodash@4.17.21"}}, npm, ""},
		{"PURL other package", []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, PURL: "pkg:npm/underscore", Range: "vers:npm/<9"}}, npm, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := bulwark.Vulnerability{ID: "ICSA-T", Affected: tc.affected}
			got := matchOne(t, []bulwark.Vulnerability{v}, tc.asset)
			m, ok := got["ICSA-T"]
			switch {
			case tc.want == "" && ok:
				t.Fatalf("matched (%s, %s), want no match", m.Confidence, m.Evidence)
			case tc.want != "" && !ok:
				t.Fatalf("no match, want %s", tc.want)
			case m.Confidence != tc.want:
				t.Errorf("confidence %s, want %s (%s)", m.Confidence, tc.want, m.Evidence)
			}
		})
	}
}

func TestNormalisation(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Siemens AG", "siemens"},
		{"Schneider Electric", "schneider_electric"},
		{"Schneider Electric SE", "schneider-electric"},
		{"Rockwell Automation, Inc.", "rockwell_automation"},
		{"Moxa Inc", "MOXA"},
	} {
		if NormVendor(tc.a) != NormVendor(tc.b) {
			t.Errorf("NormVendor(%q) = %q, NormVendor(%q) = %q", tc.a, NormVendor(tc.a), tc.b, NormVendor(tc.b))
		}
	}
	if NormVendor("Siemens") == NormVendor("Siemens Energy") {
		t.Error("Siemens and Siemens Energy are one vendor")
	}
	if got := NormProduct("siemens", "Siemens SIMATIC S7-1200"); got != "simatics71200" {
		t.Errorf("NormProduct = %q", got)
	}
}

func TestIncremental(t *testing.T) {
	vulns := []bulwark.Vulnerability{
		firmwareOnHardware("CVE-A", bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionEndExcluding: "4.5"}, s71200hw),
		orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*", VersionEndExcluding: "2.4.60"}),
		{ID: "ICSA-C", Affected: []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200"}}},
	}
	vulns[1].ID = "CVE-B"
	assets := []bulwark.Asset{
		{ID: "plc-1", Vendor: "Siemens", Product: "SIMATIC S7-1200", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*", s71200hw}},
		{ID: "web-1", CPEs: []string{"cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*"}},
		{ID: "plc-2", Vendor: "Siemens", Product: "SIMATIC S7-1200", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*", s71200hw}},
		{ID: "web-2", CPEs: []string{"cpe:2.3:a:apache:http_server:2.4.60:*:*:*:*:*:*:*"}},
	}
	b := NewBuilder()
	for i := range vulns {
		b.Add(&vulns[i])
	}
	ix := b.Build()
	inv, _ := NewInventory(assets)
	if inv.Profiles() != 3 {
		t.Errorf("%d profiles, want 3 (plc-1 and plc-2 share one)", inv.Profiles())
	}
	pairs := func(run func(fn func(Match))) []string {
		var out []string
		run(func(m Match) { out = append(out, m.AssetID+" "+m.VulnID) })
		slices.Sort(out)
		return out
	}
	all := pairs(func(fn func(Match)) { ix.MatchAll(inv, fn) })
	want := []string{"plc-1 CVE-A", "plc-1 ICSA-C", "plc-2 CVE-A", "plc-2 ICSA-C", "web-1 CVE-B"}
	if !slices.Equal(all, want) {
		t.Fatalf("MatchAll = %q, want %q", all, want)
	}
	if got := pairs(func(fn func(Match)) { ix.MatchVulns(inv, []string{"CVE-A", "ICSA-C", "CVE-NONE"}, fn) }); !slices.Equal(got, []string{"plc-1 CVE-A", "plc-1 ICSA-C", "plc-2 CVE-A", "plc-2 ICSA-C"}) {
		t.Errorf("MatchVulns = %q", got)
	}
	if got := pairs(func(fn func(Match)) { ix.MatchAssets(inv, []int32{1, 2, 3}, fn) }); !slices.Equal(got, []string{"plc-2 CVE-A", "plc-2 ICSA-C", "web-1 CVE-B"}) {
		t.Errorf("MatchAssets = %q", got)
	}
}

func TestBuilderProblems(t *testing.T) {
	deep := bulwark.Node{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{{Vulnerable: true, Criteria: s71200fw}}}
	for range 100 {
		deep = bulwark.Node{Operator: bulwark.AND, Children: []bulwark.Node{deep}}
	}
	vulns := []bulwark.Vulnerability{
		orNode(bulwark.CPEMatch{Vulnerable: true, Criteria: "not a cpe"}, bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionEndExcluding: "4.5"}),
		{ID: "CVE-DEEP", Configurations: []bulwark.Node{deep}},
		{ID: "CVE-T"}, // duplicate of the first
	}
	b := NewBuilder()
	for i := range vulns {
		b.Add(&vulns[i])
	}
	if n := len(b.Problems()); n != 3 {
		t.Errorf("%d problems, want 3: %v", n, b.Problems())
	}
	ix := b.Build()
	inv, _ := NewInventory([]bulwark.Asset{{ID: "a", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*"}}})
	var got []string
	ix.MatchAll(inv, func(m Match) { got = append(got, m.VulnID) })
	if !slices.Equal(got, []string{"CVE-T"}) {
		t.Errorf("matches %q, want the valid criterion of CVE-T only (the deep one never holds)", got)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	vulns := []bulwark.Vulnerability{
		firmwareOnHardware("CVE-A", bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionEndExcluding: "4.5"}, s71200hw),
		{ID: "ICSA-C", Affected: []bulwark.AffectedProduct{
			{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "SIMATIC S7-1200", Models: []string{"6ES7 214"}, Range: "< V5"},
			{Status: bulwark.StatusFixed, Vendor: "Siemens", Product: "SIMATIC S7-1200", Version: "4.2.1"},
			{Status: bulwark.StatusAffected, PURL: "pkg:npm/lodash", Range: "vers:npm/<4.17.21"},
		}},
	}
	b := NewBuilder()
	for i := range vulns {
		b.Add(&vulns[i])
	}
	ix := b.Build()
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	ix2, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	assets := []bulwark.Asset{
		{ID: "plc-1", Vendor: "Siemens", Product: "SIMATIC S7-1200", Version: "4.3", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*", s71200hw}},
		{ID: "plc-2", Vendor: "Siemens", Product: "SIMATIC S7-1200", Version: "4.2.1"},
		{ID: "web-1", PURLs: []string{"pkg:npm/lodash@4.17.20"}},
	}
	inv, _ := NewInventory(assets)
	collect := func(ix *Index) []string {
		var out []string
		ix.MatchAll(inv, func(m Match) { out = append(out, m.AssetID+" "+m.VulnID+" "+string(m.Confidence)+" "+m.Evidence) })
		slices.Sort(out)
		return out
	}
	want, got := collect(ix), collect(ix2)
	if len(want) != 3 || !slices.Equal(got, want) {
		t.Errorf("after the round trip:\n%q\nbefore:\n%q", got, want)
	}

	// Every truncation is an error, never a panic.
	data := buf.Bytes()
	for i := 0; i < len(data); i++ {
		if _, err := ReadSnapshot(bytes.NewReader(data[:i])); err == nil {
			t.Fatalf("truncated at %d of %d: no error", i, len(data))
		}
	}
}

func FuzzReadSnapshot(f *testing.F) {
	v := firmwareOnHardware("CVE-A", bulwark.CPEMatch{Vulnerable: true, Criteria: s71200fw, VersionEndExcluding: "4.5"}, s71200hw)
	v.Affected = []bulwark.AffectedProduct{{Status: bulwark.StatusAffected, Vendor: "Siemens", Product: "S7", Models: []string{"x"}, Range: "< 2"}}
	b := NewBuilder()
	b.Add(&v)
	var buf bytes.Buffer
	if err := b.Build().WriteSnapshot(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			return
		}
		// A snapshot that loads must be usable.
		inv, _ := NewInventory([]bulwark.Asset{{ID: "a", Vendor: "Siemens", Product: "S7", Version: "1", CPEs: []string{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.2.1:*:*:*:*:*:*:*", s71200hw}}})
		ix.MatchAll(inv, func(Match) {})
		for _, id := range []string{"CVE-A", "x"} {
			_ = ix.Explain(bulwark.Asset{ID: "a", CPEs: []string{s71200hw}}, id).String()
		}
	})
}
