package webtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"bulwark"
)

// Vulnerabilities of the fixture: one per asset family of the city, so
// that each organization has findings of its own.
const (
	VulnPLC   = "CVE-2024-0001" // Siemens S7-1200 firmware < 4.6: KEV, Act, overdue (water)
	VulnMeter = "CVE-2024-0002" // Itron OpenWay Riva: Attend (water, up to 3 meters)
	VulnHMI   = "CVE-2024-0003" // AVEVA InTouch: Track* (water)
	VulnCrane = "CVE-2024-0004" // ABB AC500: Act (port authority only)
)

// VulnRecords returns the feed records of the fixture vulnerabilities as
// NVD, KEV, EPSS and the CVE record (with CISA's ADP points) would give
// them. With opt.Payloads, every free-text field carries an XSS payload
// and one reference is a javascript: URL.
func VulnRecords(now time.Time, opt Options) []bulwark.VulnRecord {
	payloads := Payloads()
	next := 0
	text := func(plain string) string {
		if !opt.Payloads {
			return plain
		}
		p := payloads[next%len(payloads)]
		next++
		return plain + " " + p
	}
	day := 24 * time.Hour
	published := now.Add(-60 * day).UTC().Truncate(time.Second)
	prov := func(source, doc, id string) []bulwark.Provenance {
		h := sha256.Sum256([]byte(source + "\x00" + id + "\x00" + fmt.Sprint(opt.Payloads)))
		return []bulwark.Provenance{{Source: source, Document: doc, FetchedAt: now.Add(-time.Hour).UTC().Truncate(time.Second),
			Modified: published.Add(day), Hash: hex.EncodeToString(h[:])}}
	}
	nvd := func(id, desc, vector string, score float64, cfg []bulwark.Node, refs []bulwark.Reference) bulwark.VulnRecord {
		return bulwark.VulnRecord{Key: "nvd", Vuln: bulwark.Vulnerability{
			ID: id, Published: published, Modified: published.Add(day), Description: text(desc), CWEs: []string{"CWE-787"},
			CVSS:           []bulwark.CVSS{{Version: "3.1", Vector: vector, BaseScore: score, Source: "nvd@nist.gov", Primary: true}},
			References:     refs,
			Configurations: cfg,
			Sources:        prov("nvd", "nvdcve-2.0-2024.json", id),
		}}
	}
	cpe := func(criteria string, vulnerable bool, endExcl string) bulwark.CPEMatch {
		return bulwark.CPEMatch{Criteria: criteria, Vulnerable: vulnerable, VersionEndExcluding: endExcl}
	}
	firmware := []bulwark.Node{{Operator: bulwark.AND, Children: []bulwark.Node{
		{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{cpe("cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*", true, "4.6")}},
		{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{cpe("cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*", false, "")}},
	}}}
	refs := []bulwark.Reference{
		{URL: "https://cert-portal.siemens.com/productcert/html/ssa-000001.html", Tags: []string{"Vendor Advisory", "Patch"}},
	}
	if opt.Payloads {
		refs = append(refs, bulwark.Reference{URL: "javascript:window." + Flag + "=1", Tags: []string{text("Exploit")}})
	}
	critical := "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	return []bulwark.VulnRecord{
		nvd(VulnPLC, "Out-of-bounds write in SIMATIC S7-1200 firmware before V4.6 lets a remote attacker run code.", critical, 9.8, firmware, refs),
		{Key: "kev", Vuln: bulwark.Vulnerability{ID: VulnPLC, KEV: &bulwark.KEVEntry{
			VendorProject: "Siemens", Product: "SIMATIC S7-1200", Name: text("Siemens SIMATIC S7-1200 Out-of-Bounds Write"),
			DateAdded: now.Add(-30 * day).UTC().Truncate(day), DueDate: now.Add(-9 * day).UTC().Truncate(day),
			RequiredAction: text("Apply mitigations per vendor instructions or discontinue use of the product."), KnownRansomware: true,
			Notes: text("https://cert-portal.siemens.com/productcert/html/ssa-000001.html")},
			Remediations: []bulwark.Remediation{{Category: "vendor_fix", Details: text("Update the firmware to V4.6 or later."), Source: "csaf:ssa-000001"}},
			Sources:      prov("kev", "known_exploited_vulnerabilities.json", VulnPLC)}},
		{Key: "epss", Vuln: bulwark.Vulnerability{ID: VulnPLC, EPSS: &bulwark.EPSSScore{Score: 0.9731, Percentile: 0.9991, Date: now.UTC().Truncate(day)},
			Sources: prov("epss", "epss_scores.csv", VulnPLC)}},
		{Key: "cve5", Vuln: bulwark.Vulnerability{ID: VulnPLC, ADP: &bulwark.SSVCPoints{Exploitation: "active", Automatable: "yes", TechnicalImpact: "total",
			Timestamp: published.Add(2 * day)}, Sources: prov("cve5", "CVE-2024-0001.json", VulnPLC)}},
		nvd(VulnMeter, "Improper authentication in Itron OpenWay Riva meters.", "CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:L/I:H/A:H", 8.3,
			[]bulwark.Node{{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{cpe("cpe:2.3:h:itron:openway_riva:-:*:*:*:*:*:*:*", true, "")}}}, nil),
		nvd(VulnHMI, "Cross-site scripting in AVEVA InTouch web client.", "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4, nil, nil),
		nvd(VulnCrane, "Denial of service in ABB AC500 PLCs.", critical, 9.1,
			[]bulwark.Node{{Operator: bulwark.OR, Matches: []bulwark.CPEMatch{cpe("cpe:2.3:h:abb:ac500:-:*:*:*:*:*:*:*", true, "")}}}, nil),
	}
}

// Findings returns the fixture's findings as one matching run would
// report them: the water department's PLC (Act, KEV, overdue), meters
// (Attend; three unless opt.MeterFindings says otherwise), its HMI (Track*), and the port authority's crane PLC
// (Act). With opt.Payloads, evidence and reasons carry XSS payloads.
func Findings(now time.Time, opt Options) []bulwark.Finding {
	payloads := Payloads()
	next := 50
	text := func(plain string) string {
		if !opt.Payloads {
			return plain
		}
		p := payloads[next%len(payloads)]
		next++
		return plain + " " + p
	}
	day := 24 * time.Hour
	in := func(e, a, t, m string, why ...string) bulwark.SSVCInputs {
		for i := range why {
			why[i] = text(why[i])
		}
		return bulwark.SSVCInputs{Exploitation: e, Automatable: a, TechnicalImpact: t, MissionWellbeing: m, Why: why}
	}
	out := []bulwark.Finding{{
		AssetID: "plc-0001", VulnID: VulnPLC, Owner: OrgWater, Confidence: bulwark.ConfidenceExact, KEV: true,
		Evidence: text("cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:* (< 4.6) matched cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5"),
		Decision: bulwark.SSVCAct, Due: now.Add(-9 * day).UTC().Truncate(day),
		Inputs: in("active", "yes", "total", "high",
			"Exploitation active: listed in CISA KEV since 30 days ago.",
			"Automatable yes: CISA ADP says so.",
			"Technical impact total: CISA ADP says so.",
			"Mission and well-being high: its failure takes down Drinking water supply (420,000 people)."),
	}}
	meters := opt.MeterFindings
	if meters == 0 {
		meters = 3
	}
	for i := 1; i <= min(opt.Meters, meters); i++ {
		out = append(out, bulwark.Finding{
			AssetID: fmt.Sprintf("meter-%04d", i), VulnID: VulnMeter, Owner: OrgWater, Confidence: bulwark.ConfidenceExact,
			Evidence: text("cpe:2.3:h:itron:openway_riva:-:*:*:*:*:*:*:* matched cpe:2.3:h:itron:openway_riva:-"),
			Decision: bulwark.SSVCAttend, Due: now.Add(20 * day).UTC().Truncate(day),
			Inputs: in("poc", "yes", "partial", "medium", "Exploitation poc: EPSS 0.21 is above the policy threshold 0.1.",
				"Automatable yes: the attack vector is adjacent network with no user interaction.",
				"Technical impact partial: CVSS confidentiality is low.", "Mission and well-being medium: it degrades Water billing."),
		})
	}
	out = append(out,
		bulwark.Finding{AssetID: "hmi-01", VulnID: VulnHMI, Owner: OrgWater, Confidence: bulwark.ConfidenceLow,
			Evidence: text("AVEVA InTouch (any version) matched vendor aveva, product intouch, version 2023 leniently"),
			Decision: bulwark.SSVCTrackStar, Due: now.Add(80 * day).UTC().Truncate(day),
			Inputs: in("none", "no", "partial", "high", "Exploitation none: no evidence of exploitation.", "Automatable no: user interaction is required.",
				"Technical impact partial: scope changed but impacts are low.", "Mission and well-being high: it is a single point of failure of Drinking water supply.")},
		bulwark.Finding{AssetID: "crane-plc", VulnID: VulnCrane, Owner: OrgPort, Confidence: bulwark.ConfidenceExact,
			Evidence: "cpe:2.3:h:abb:ac500:-:*:*:*:*:*:*:* matched cpe:2.3:h:abb:ac500:-", Decision: bulwark.SSVCAct,
			Due: now.Add(5 * day).UTC().Truncate(day),
			Inputs: in("active", "yes", "total", "high", "Exploitation active: a public exploit is referenced.", "Automatable yes.",
				"Technical impact total.", "Mission and well-being high: Port operations.")},
	)
	return out
}

// SeedVulns stores the fixture's vulnerabilities and findings. ctx must
// carry the System principal (only it imports feeds and syncs findings).
func SeedVulns(ctx context.Context, st bulwark.VulnStore, now time.Time, opt Options) error {
	tx, err := st.BeginFeed(ctx)
	if err != nil {
		return fmt.Errorf("begin feed: %w", err)
	}
	if err := tx.PutRecords(ctx, VulnRecords(now, opt)); err != nil {
		tx.Rollback()
		return fmt.Errorf("put records: %w", err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit feed: %w", err)
	}
	if _, err := st.SyncFindings(ctx, bulwark.FindingSync{Full: true, Matches: Findings(now, opt), At: now.Add(-2 * time.Hour)}); err != nil {
		return fmt.Errorf("sync findings: %w", err)
	}
	return nil
}
