package vulns

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/feed"
	"bulwark/internal/sqlstore"
)

const tinyCity = `version: 1
organizations:
  - {id: water, name: City Water, purview: city}
services:
  - {id: supply, name: Water supply, owner: water, sector: water-wastewater, population: 50000,
     category: {confidentiality: low, integrity: high, availability: high}, depends_on: [{on: scada}]}
systems:
  - {id: scada, name: SCADA, owner: water}
assets:
  - {id: gw-1, name: Cellular gateway, owner: water, kind: cell-gateway, system: scada}
`

// nvdBusybox is an NVD 2.0 response naming busybox before 1.30.
const nvdBusybox = `{"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE","version":"2.0","timestamp":"2026-11-01T00:00:00.000",
"vulnerabilities":[{"cve":{"id":"CVE-2026-4242","published":"2026-10-01T10:15:00.000","lastModified":"2026-10-02T10:15:00.000",
"descriptions":[{"lang":"en","value":"busybox flaw"}],
"configurations":[{"nodes":[{"operator":"OR","negate":false,"cpeMatch":[{"vulnerable":true,
"criteria":"cpe:2.3:a:busybox:busybox:*:*:*:*:*:*:*:*","versionEndExcluding":"1.30"}]}]}]}}]}`

func bom(vex string) string {
	return `{"bomFormat":"CycloneDX","specVersion":"1.5","serialNumber":"urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79","version":1,
"metadata":{"component":{"type":"device","name":"gateway","bom-ref":"gw"}},
"components":[{"type":"application","name":"busybox","version":"1.29.3","bom-ref":"bb",
"cpe":"cpe:2.3:a:busybox:busybox:1.29.3:*:*:*:*:*:*:*","purl":"pkg:generic/busybox@1.29.3"}]` + vex + `}`
}

func tinyStore(t *testing.T) (*sqlstore.DB, context.Context) {
	t.Helper()
	ctx := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "t.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src := citymodel.Source{Name: "city.yaml", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(tinyCity)), nil }}
	if _, err := citymodel.Import(ctx, db, []citymodel.Source{src}, citymodel.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return db, ctx
}

// TestSBOMComponentsMatchAndVEXSuppresses: an asset with no CPE of its
// own is exposed through a component of its SBOM; the SBOM's VEX saying
// "not affected" closes the finding.
func TestSBOMComponentsMatchAndVEXSuppresses(t *testing.T) {
	db, ctx := tinyStore(t)
	svc := New(db, nil)
	if _, err := svc.ImportReader(ctx, "nvd.json", strings.NewReader(nvdBusybox), feed.Options{}); err != nil {
		t.Fatal(err)
	}
	if m, err := svc.Match(ctx, MatchOptions{}); err != nil || m.Matches != 0 {
		t.Fatalf("before the SBOM: %+v, %v", m, err)
	}
	s, _, err := svc.AttachSBOM(ctx, "gw-1", "gw.cdx.json", strings.NewReader(bom("")))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Components) != 1 || len(s.Hash) != 64 {
		t.Errorf("attached: %+v", s)
	}
	m, err := svc.Match(ctx, MatchOptions{Assets: []string{"gw-1"}})
	if err != nil || m.Sync.New != 1 {
		t.Fatalf("after the SBOM, matching only its asset: %+v, %v", m, err)
	}
	x, err := svc.Explain(ctx, "gw-1", "CVE-2026-4242")
	if err != nil || !x.Matched {
		t.Errorf("explain: %+v, %v", x, err)
	}
	vex := `,"vulnerabilities":[{"id":"CVE-2026-4242","analysis":{"state":"not_affected","justification":"code_not_reachable"},"affects":[{"ref":"bb"}]}]`
	if _, _, err := svc.AttachSBOM(ctx, "gw-1", "gw.cdx.json", strings.NewReader(bom(vex))); err != nil {
		t.Fatal(err)
	}
	m, err = svc.Match(ctx, MatchOptions{})
	if err != nil || m.Sync.Closed != 1 {
		t.Fatalf("after the VEX: %+v, %v", m, err)
	}
	if x, err := svc.Explain(ctx, "gw-1", "CVE-2026-4242"); err != nil || x.Matched || !strings.Contains(x.Why, "VEX") {
		t.Errorf("explain after VEX: %+v, %v", x, err)
	}
	// Malformed BOMs are refused and the attached one stays.
	for _, bad := range []string{`{"bomFormat":"CycloneDX"`, `{"bomFormat":"SPDX"}`, strings.Repeat("[", 100000), `{"bomFormat":"CycloneDX","bomFormat":"CycloneDX","specVersion":"1.5"}`} {
		if _, _, err := svc.AttachSBOM(ctx, "gw-1", "bad.json", strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %.40q", bad)
		}
	}
	if got, err := db.FindSBOM(ctx, "gw-1"); err != nil || len(got.NotAffected) != 1 {
		t.Errorf("SBOM after refused uploads: %+v, %v", got, err)
	}
}
