package report

import (
	"fmt"
	"time"
)

var sampleNow = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// sampleReport is a small, fixed report with every section filled, names
// in several scripts and one indicator not measured.
func sampleReport() *Report {
	r := &Report{
		Title:     "Cyber-readiness of Zürich",
		City:      "Zürich",
		Generated: sampleNow,
		Index:     63.4,
		Measured:  true,
		Drivers: []Driver{
			{Indicator: "Patch latency", Delta: 2.5, Why: "Median days to patch KEV findings fell from 21 to 9."},
			{Indicator: "MFA coverage", Delta: 1.1, Why: "Łódź Water enabled MFA for remote access."},
			{Indicator: "Backups tested", Delta: -0.6, Why: "Two hospitals have not reported a restore test in ≥ 90 days."},
		},
		Indicators: []Indicator{
			{ID: "mfa", Name: "MFA coverage", Formula: "accounts with MFA / accounts", Value: "87%", Score: 87, Weight: 0.2, Measured: true},
			{ID: "patch", Name: "Patch latency (KEV)", Formula: "median(days to fix)", Value: "9 days", Score: 70, Weight: 0.3, Measured: true},
			{ID: "backup", Name: "Backups tested", Formula: "orgs with restore test ≤ 90 d / orgs", Value: "55%", Score: 55, Weight: 0.25, Measured: true},
			{ID: "inventory", Name: "Asset inventory completeness", Formula: "assets with owner / assets", Value: "not measured", Weight: 0.25, Reason: "No inventory received from 4 of 12 organizations"},
		},
		Functions: []FunctionCoverage{
			{Function: "RC", Name: "Recover", Coverage: 0.31, Assessed: 5, Total: 8},
			{Function: "GV", Name: "Govern", Coverage: 0.62, Assessed: 28, Total: 31},
			{Function: "ID", Name: "Identify", Coverage: 0.48, Assessed: 20, Total: 21},
			{Function: "PR", Name: "Protect", Coverage: 0.71, Assessed: 22, Total: 22},
			{Function: "DE", Name: "Detect", Coverage: 0.40, Assessed: 11, Total: 11},
			{Function: "RS", Name: "Respond", Assessed: 0, Total: 13},
		},
		Profiles: []ProfileCompliance{
			{Profile: "essential", Name: "Essential services baseline", Meeting: 5, Total: 12},
			{Profile: "small", Name: "Small organization baseline", Meeting: 9, Total: 10},
		},
		TopGaps: []Gap{
			{Org: "Stadtwerke Zürich", Scope: "SCADA network", Control: "PR.AA-03", Title: "Users and services are authenticated", Status: "partial", Score: 9.1, Why: "Remote access to pump controllers uses shared passwords; KEV-listed VPN appliance in front."},
			{Org: "Łódź Water", Control: "RC.RP-03", Title: "Backups are verified before restore", Status: "not implemented", Score: 8.4, Why: "No restore test in 14 months; serves 680,000 people."},
			{Org: "Hôpital cantonal", Scope: "Clinical systems", Control: "DE.CM-01", Title: "Networks are monitored", Status: "planned", Score: 7.2, Why: "No log collection from the imaging network."},
		},
		Exposure: []ServiceExposure{
			{Service: "water", Name: "Drinking water", Category: "Water", Population: 420000, Act: 3, Attend: 11, KEV: 2, Overdue: 4},
			{Service: "ems", Name: "Emergency medical dispatch", Category: "Health", Population: 1250000, Act: 0, Attend: 5, KEV: 0, Overdue: 1},
		},
		Overdue: []OverdueAction{
			{Owner: "Stadtwerke Zürich", Asset: "vpn-gw-01", Vuln: "CVE-2025-0282", Decision: "act", Due: sampleNow.AddDate(0, 0, -12), DaysOver: 12},
			{Owner: "Hôpital cantonal", Asset: "pacs-02", Vuln: "CVE-2024-3400", Decision: "attend", Due: sampleNow.AddDate(0, 0, -40), DaysOver: 40},
		},
		Notes: []string{
			"Figures for 4 of 12 organizations are self-assessed and not yet verified.",
			"The inventory indicator is left out of the index until data arrives — it is not counted as zero.",
		},
	}
	for i, v := range []float64{48, 51.5, 55, 54.2, 58, 60.9, 63.4} {
		r.Trend = append(r.Trend, Point{At: sampleNow.AddDate(0, i-6, 0), Value: v})
	}
	return r
}

// bigReport is the size the benchmark asks for: 20 indicators, a 60-point
// trend, 25 gaps, 25 overdue actions and 36 services, each list given n
// entries where n is larger.
func bigReport(gaps int) *Report {
	r := sampleReport()
	r.Indicators = nil
	for i := range 20 {
		in := Indicator{ID: fmt.Sprintf("ind-%02d", i), Name: fmt.Sprintf("Indicator %d", i+1), Formula: "measured / expected",
			Value: fmt.Sprintf("%d%%", 40+i*3), Score: float64(40 + i*3), Weight: 0.05, Measured: i%7 != 3}
		if !in.Measured {
			in.Value, in.Reason = "not measured", "no data from the water utilities"
		}
		r.Indicators = append(r.Indicators, in)
	}
	r.Trend = nil
	for i := range 60 {
		r.Trend = append(r.Trend, Point{At: sampleNow.AddDate(0, 0, 7*(i-59)), Value: 40 + float64(i)*0.4 + float64(i%5)})
	}
	r.TopGaps = nil
	for i := range gaps {
		r.TopGaps = append(r.TopGaps, Gap{Org: fmt.Sprintf("Organization %d of Łódź", i+1), Scope: "IT", Control: fmt.Sprintf("PR.PS-%02d", i%6+1),
			Title: "Software is maintained, replaced and removed commensurate with risk", Status: "partial",
			Score: 10 - float64(i)/float64(gaps+1), Why: "Internet-facing systems run end-of-life software with known exploited vulnerabilities."})
	}
	r.Overdue = nil
	for i := range max(gaps, 25) {
		r.Overdue = append(r.Overdue, OverdueAction{Owner: fmt.Sprintf("Owner %d", i+1), Asset: fmt.Sprintf("host-%03d", i),
			Vuln: fmt.Sprintf("CVE-2025-%04d", 1000+i), Decision: "act", Due: sampleNow.AddDate(0, 0, -i-1), DaysOver: i + 1})
	}
	r.Exposure = nil
	for i := range 36 {
		r.Exposure = append(r.Exposure, ServiceExposure{Service: fmt.Sprintf("svc-%02d", i), Name: fmt.Sprintf("Critical service %d", i+1),
			Category: "Utilities", Population: int64(10000 * (i + 1)), Act: int64(i % 4), Attend: int64(i % 9), KEV: int64(i % 3), Overdue: int64(i % 5)})
	}
	return r
}
