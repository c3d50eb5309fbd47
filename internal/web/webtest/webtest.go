// Package webtest holds the fixtures that the web package's tests and the
// browser tests (e2e) share: a small two-organization city with single and
// common-mode points of failure, and a list of cross-site-scripting payloads
// seeded into every free-text field of it. It is imported only by tests.
package webtest

import (
	"fmt"
	"strings"
	"time"

	"bulwark"
)

// Flag is the global that every payload sets when its script runs; browser
// tests check that window[Flag] stays undefined.
const Flag = "__xss"

// Organizations of the fixture city.
const (
	OrgWater = "city-water"
	OrgPort  = "port-authority"
)

// Payloads returns at least 100 distinct XSS payloads: script, event
// handler, URL and markup-breaking vectors, each wrapped to break out of
// text, attribute, title and textarea contexts. Each would set
// window.__xss if a page let it run.
func Payloads() []string {
	js := "window." + Flag + "=1"
	vectors := []string{
		"<script>" + js + "</script>",
		"<img src=x onerror=" + js + ">",
		"<img src=x onerror=\"" + js + "\">",
		"<svg onload=" + js + ">",
		"<svg><script>" + js + "</script></svg>",
		"<body onload=" + js + ">",
		"<iframe srcdoc=\"<script>parent." + js + "</script>\"></iframe>",
		"<details open ontoggle=" + js + ">",
		"<input autofocus onfocus=" + js + ">",
		"<a href=\"javascript:" + js + "\">x</a>",
		"<video><source onerror=" + js + "></video>",
		"<marquee onstart=" + js + ">",
		"<object data=\"javascript:" + js + "\"></object>",
		"<embed src=\"javascript:" + js + "\">",
		"<math><mtext><script>" + js + "</script></mtext></math>",
		"javascript:" + js,
		"\" onmouseover=\"" + js + "\" x=\"",
		"' onfocus='" + js + "' autofocus x='",
		"</script><script>" + js + "</script>",
		"<style>@import 'x';</style><img src=x onerror=" + js + ">",
	}
	wrappers := []string{"%s", "\">%s", "'>%s", "</title>%s", "</textarea>%s"}
	var out []string
	for _, w := range wrappers {
		for _, v := range vectors {
			out = append(out, fmt.Sprintf(w, v))
		}
	}
	return out
}

// CPEPayload returns a syntactically valid CPE 2.3 name whose product
// carries an escaped script tag.
func CPEPayload(i int) string {
	return fmt.Sprintf(`cpe:2.3:a:evil%d:\<script\>window.%s\=1\<\/script\>:1.0:*:*:*:*:*:*:*`, i, Flag)
}

// Options shape the fixture city.
type Options struct {
	// Payloads, when set, replaces names and descriptions by XSS payloads
	// (the IDs stay valid identifiers).
	Payloads bool
	// Meters is the number of smart-meter assets (for pagination).
	Meters int
	// MeterFindings is how many meters have a finding (SeedVulns); zero
	// means three. It is capped by Meters.
	MeterFindings int
}

// City returns the fixture. The water department's drinking-water service
// needs its SCADA system (hard), and two of three pumps; pumps A and B share
// power feeder 1, so feeder 1 is a common-mode point of failure while the
// SCADA system, its PLC and its HMI are single points of failure. The port
// authority is a second tenant that shares nothing.
func City(opt Options) *bulwark.City {
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
	c := &bulwark.City{
		Organizations: []bulwark.Organization{
			{ID: OrgWater, Name: text("City Water Department"), Purview: bulwark.PurviewCity,
				Contacts: []bulwark.Contact{{Name: text("Ana Ortiz"), Role: text("OT security lead"), Email: "ana@example.org", Phone: "+1 555 0100"}}},
			{ID: OrgPort, Name: text("Port Authority"), Purview: bulwark.PurviewState},
		},
		Services: []bulwark.Service{
			{ID: "water-supply", Name: text("Drinking water supply"), Description: text("Treatment and distribution of drinking water"),
				Owner: OrgWater, Sector: bulwark.SectorWater, Population: 420000,
				Category: bulwark.Category{Confidentiality: bulwark.LevelLow, Integrity: bulwark.LevelHigh, Availability: bulwark.LevelHigh},
				Targets:  bulwark.Targets{MaxTolerableDowntime: 24 * time.Hour, RTO: 12 * time.Hour, RPO: time.Hour},
				Groups:   []bulwark.Group{{ID: "pumps", Need: 2}},
				DependsOn: []bulwark.Dependency{
					{On: "water-scada", Kind: bulwark.Hard},
					{On: "pump-a", Kind: bulwark.Hard, Group: "pumps"},
					{On: "pump-b", Kind: bulwark.Hard, Group: "pumps"},
					{On: "pump-c", Kind: bulwark.Hard, Group: "pumps"},
				}},
			{ID: "water-billing", Name: text("Water billing"), Description: text("Customer accounts and billing"),
				Owner: OrgWater, Sector: bulwark.SectorWater, Population: 150000,
				Category:  bulwark.Category{Confidentiality: bulwark.LevelModerate, Integrity: bulwark.LevelModerate, Availability: bulwark.LevelLow},
				Targets:   bulwark.Targets{MaxTolerableDowntime: 72 * time.Hour, RTO: 36 * time.Hour, RPO: 4 * time.Hour},
				DependsOn: []bulwark.Dependency{{On: "ami-headend", Kind: bulwark.Hard}, {On: "water-supply", Kind: bulwark.Soft}}},
			{ID: "port-ops", Name: text("Port operations"), Description: text("Container terminal operations"),
				Owner: OrgPort, Sector: bulwark.SectorTransportation, Population: 90000,
				Category:  bulwark.Category{Confidentiality: bulwark.LevelModerate, Integrity: bulwark.LevelHigh, Availability: bulwark.LevelModerate},
				DependsOn: []bulwark.Dependency{{On: "port-tos", Kind: bulwark.Hard}}},
		},
		Systems: []bulwark.System{
			{ID: "water-scada", Name: text("Water SCADA"), Description: text("Supervisory control of treatment and pumping"),
				Owner: OrgWater, Zone: "ot",
				Recovery: bulwark.Recovery{RestoreTime: 8 * time.Hour, RestoreTimeNoBackups: 72 * time.Hour, CrewSkill: text("ot-engineer"), Tested: true, LastTested: "2026-05-01"}},
			{ID: "ami-headend", Name: text("Smart meter head-end"), Owner: OrgWater, Zone: "dmz", InternetExposed: true,
				Recovery: bulwark.Recovery{RestoreTime: 4 * time.Hour}},
			{ID: "port-tos", Name: text("Terminal operating system"), Owner: OrgPort, Zone: "it"},
		},
		Assets: []bulwark.Asset{
			{ID: "plc-0001", Name: text("Treatment plant PLC"), Owner: OrgWater, Kind: "plc", Vendor: "siemens", Product: "simatic_s7-1200", Version: "4.5",
				CPEs:     []string{"cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*", "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*"},
				PURLs:    []string{"pkg:generic/siemens/simatic-s7-1200@4.5"},
				Location: bulwark.Location{Site: text("Main treatment plant"), Lat: 36.85, Lon: -76.29},
				Count:    1, System: "water-scada", SystemDependency: bulwark.Hard},
			{ID: "hmi-01", Name: text("Control room HMI"), Owner: OrgWater, Kind: "hmi", Vendor: "aveva", Product: "intouch", Version: "2023",
				Count: 1, System: "water-scada", SystemDependency: bulwark.Hard},
			{ID: "feeder-1", Name: text("Power feeder 1"), Owner: OrgWater, Kind: "feeder", Count: 1},
			{ID: "feeder-2", Name: text("Power feeder 2"), Owner: OrgWater, Kind: "feeder", Count: 1},
			{ID: "pump-a", Name: text("Pump A"), Owner: OrgWater, Kind: "pump", Count: 1, DependsOn: []bulwark.Dependency{{On: "feeder-1", Kind: bulwark.Hard}}},
			{ID: "pump-b", Name: text("Pump B"), Owner: OrgWater, Kind: "pump", Count: 1, DependsOn: []bulwark.Dependency{{On: "feeder-1", Kind: bulwark.Hard}}},
			{ID: "pump-c", Name: text("Pump C"), Owner: OrgWater, Kind: "pump", Count: 1, DependsOn: []bulwark.Dependency{{On: "feeder-2", Kind: bulwark.Hard}}},
			{ID: "crane-plc", Name: text("Crane PLC"), Owner: OrgPort, Kind: "plc", Vendor: "abb", Product: "ac500", Count: 12,
				CPEs: []string{"cpe:2.3:h:abb:ac500:-:*:*:*:*:*:*:*"}, System: "port-tos", SystemDependency: bulwark.Hard},
		},
	}
	for i := 1; i <= opt.Meters; i++ {
		a := bulwark.Asset{
			ID: fmt.Sprintf("meter-%04d", i), Name: text(fmt.Sprintf("Meter route %d", i)), Owner: OrgWater, Kind: "smart-meter",
			Vendor: "itron", Product: "openway_riva", Version: "4.7", Count: 250,
			CPEs:   []string{"cpe:2.3:h:itron:openway_riva:-:*:*:*:*:*:*:*"},
			System: "ami-headend", SystemDependency: bulwark.Soft,
		}
		if opt.Payloads {
			a.CPEs = append(a.CPEs, CPEPayload(i))
		}
		c.Assets = append(c.Assets, a)
	}
	return c
}

// Contains reports whether s contains any payload unescaped, that is
// whether a page let markup from the data through.
func Contains(s string) (string, bool) {
	for _, p := range Payloads() {
		if strings.ContainsAny(p, "<\"'") && strings.Contains(s, p) {
			return p, true
		}
	}
	return "", false
}
