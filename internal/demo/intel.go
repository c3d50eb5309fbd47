package demo

import (
	"context"
	"fmt"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// Demo sharing community: the city's CISO office owns it; the water
// department, the harbor authority, the terminal operator, the electric
// utility and the hospital are members.
const (
	DemoCommunity  = "port-halden-critical-infrastructure"
	DemoCollection = "5b0e6c1a-3d2f-4e7a-9c11-7f4a2d9e8b30"
	// demoIntelScope names the demo deployment in STIX identity ids.
	demoIntelScope = "port-halden.example"
	demoIntelOwner = "city-ciso"
)

var demoIntelMembers = []string{demoIntelOwner, "city-water", "port-authority", "port-terminal", "electric-utility", "hospital"}

// demoKEV is the KEV vulnerability the city warns its partners about (a
// FortiOS hard-coded key, used when the store has no record of it).
var demoKEV = bulwark.Vulnerability{ID: "CVE-2019-6693",
	Description: "A hard-coded cryptographic key in FortiOS lets an attacker who has a configuration backup decrypt its sensitive data.",
	CWEs:        []string{"CWE-798"},
	KEV: &bulwark.KEVEntry{VendorProject: "Fortinet", Product: "FortiOS", Name: "Fortinet FortiOS Hard-Coded Credentials",
		RequiredAction: "Apply mitigations per vendor instructions or discontinue use of the product if mitigations are unavailable.", KnownRansomware: true}}

// SeedIntel gives the demo city a sharing community of the city and its
// critical infrastructure partners with one collection, and publishes
// through the sharing service, as the CISO office's analyst: a KEV
// vulnerability with its course of action (TLP:GREEN, the whole
// community), an indicator of the traffic camera botnet (TLP:AMBER, the
// operators of cameras and networks) and a report on the water SCADA
// ransomware (TLP:AMBER+STRICT, the water department only). It runs once:
// when the community exists, nothing is done. Organizations the city does
// not have are left out. ctx must carry the System principal.
func SeedIntel(ctx context.Context, st bulwark.Store, svc *sharing.Service, now time.Time) error {
	now = now.UTC().Truncate(time.Second)
	if _, err := svc.FindCommunity(ctx, DemoCommunity); err == nil {
		return nil
	} else if bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		return fmt.Errorf("demo community: %w", err)
	}
	if _, err := st.FindOrganization(ctx, demoIntelOwner); err != nil {
		if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
			return nil
		}
		return fmt.Errorf("demo intel: %w", err)
	}
	has := map[string]bool{}
	com := &bulwark.Community{ID: DemoCommunity, Name: "Port Halden critical infrastructure",
		Description: "The city and the operators of its lifeline services share vulnerabilities, indicators and incident reports."}
	for _, o := range demoIntelMembers {
		if _, err := st.FindOrganization(ctx, o); err != nil {
			if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
				continue
			}
			return fmt.Errorf("demo intel: %w", err)
		}
		has[o] = true
		com.Members = append(com.Members, bulwark.CommunityMember{Org: o, Owner: o == demoIntelOwner})
	}
	if err := svc.CreateCommunity(ctx, com); err != nil {
		return fmt.Errorf("demo community: %w", err)
	}
	if err := svc.CreateCollection(ctx, &bulwark.Collection{ID: DemoCollection, Community: DemoCommunity, Alias: "port-halden-shared",
		Title: "Shared intelligence", Description: "Vulnerabilities, indicators and reports for the community's members."}); err != nil {
		return fmt.Errorf("demo collection: %w", err)
	}

	objs, err := demoIntelObjects(ctx, st, now, has)
	if err != nil {
		return err
	}
	// The CISO office's analyst publishes.
	pctx := bulwark.WithPrincipal(ctx, bulwark.Principal{Org: demoIntelOwner, Role: bulwark.RoleAnalyst, Name: "demo"})
	for _, o := range objs {
		if _, err := svc.Publish(pctx, sharing.PublishRequest{Collection: DemoCollection, Object: o.obj.JSON(), Marking: o.tlp, Orgs: o.orgs}); err != nil {
			return fmt.Errorf("demo intel %s: %w", o.obj.ID(), err)
		}
	}
	return nil
}

type demoIntelObject struct {
	obj  *stix.Object
	tlp  bulwark.TLP
	orgs []string
}

// demoIntelObjects builds the objects to publish with the stix Publisher.
func demoIntelObjects(ctx context.Context, st bulwark.Store, now time.Time, has map[string]bool) ([]demoIntelObject, error) {
	id := stix.OrganizationID(demoIntelScope, demoIntelOwner)
	green := stix.Publisher{IdentityID: id, TLP: stix.Green}
	amber := stix.Publisher{IdentityID: id, TLP: stix.Amber}
	strict := stix.Publisher{IdentityID: id, TLP: stix.AmberStrict}
	t := stix.Times{Created: now.AddDate(0, 0, -3), Modified: now.AddDate(0, 0, -3)}

	v := demoKEV
	if f, ok := st.(interface {
		FindVulnerability(context.Context, string) (*bulwark.Vulnerability, error)
	}); ok {
		if rec, err := f.FindVulnerability(ctx, demoKEV.ID); err == nil && rec.KEV != nil {
			v = *rec
		}
	}
	if v.Published.IsZero() && v.Modified.IsZero() {
		v.Published, v.Modified = now.AddDate(0, -2, 0), now.AddDate(0, -1, 0)
	}
	if v.KEV != nil && v.KEV.DateAdded.IsZero() {
		k := *v.KEV
		k.DateAdded = v.Modified
		v.KEV = &k
	}
	var out []demoIntelObject
	add := func(tlp bulwark.TLP, orgs []string, o *stix.Object, err error) error {
		if err != nil {
			return fmt.Errorf("demo intel: %w", err)
		}
		out = append(out, demoIntelObject{obj: o, tlp: tlp, orgs: orgs})
		return nil
	}
	vuln, err := green.Vulnerability(&v)
	if err := add(bulwark.TLPGreen, nil, vuln, err); err != nil {
		return nil, err
	}
	coa, err := green.CourseOfAction("fortios-config-backups", stix.CourseOfAction{Name: "Protect FortiOS configuration backups",
		Description: "Upgrade FortiOS to a fixed release, store configuration backups encrypted with a site-specific password, and rotate credentials found in any backup that left the device."}, t)
	if err := add(bulwark.TLPGreen, nil, coa, err); err != nil {
		return nil, err
	}
	rel, err := green.Relationship("mitigates", coa.ID(), vuln.ID(), t)
	if err := add(bulwark.TLPGreen, nil, rel, err); err != nil {
		return nil, err
	}
	var amberOrgs []string
	for _, o := range []string{demoIntelOwner, "port-authority", "port-terminal", "electric-utility"} {
		if has[o] {
			amberOrgs = append(amberOrgs, o)
		}
	}
	ind, err := amber.Indicator("camera-botnet-c2", stix.Indicator{Name: "Camera botnet controller",
		Description:    "Controller the city's traffic cameras beaconed to; block outbound traffic to it from camera and OT networks.",
		IndicatorTypes: []string{"malicious-activity"}, Pattern: "[ipv4-addr:value = '203.0.113.77']", PatternType: "stix",
		ValidFrom: stix.At(now.Add(-2 * time.Hour))}, stix.Times{Created: now.Add(-time.Hour)})
	if err := add(bulwark.TLPAmber, amberOrgs, ind, err); err != nil {
		return nil, err
	}
	if has["city-water"] {
		rep, err := strict.Report("water-scada-ransomware", stix.Report{Name: "Ransomware on the water SCADA: initial findings",
			Description: "The attacker reached the SCADA servers over the shared remote access path from the city network; the plant runs on local control. Findings so far and the containment steps taken.",
			ReportTypes: []string{"threat-report"}, ObjectRefs: []string{vuln.ID(), ind.ID()}}, stix.Times{Created: now.Add(-10 * time.Hour)})
		if err := add(bulwark.TLPAmberStrict, []string{"city-water"}, rep, err); err != nil {
			return nil, err
		}
	}
	return out, nil
}
