package vulns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/depgraph"
	"bulwark/internal/ssvc"
)

// Advisory tells one owner what to do about one vulnerability: which of
// its assets are exposed, which services are at risk through them, the
// required action and the deadline.
type Advisory struct {
	VulnID      string               `json:"vuln_id"`
	Title       string               `json:"title"`
	Owner       string               `json:"owner"`
	OwnerName   string               `json:"owner_name"`
	Decision    bulwark.SSVCDecision `json:"decision"` // most urgent over the assets
	Due         time.Time            `json:"due"`      // earliest over the assets
	Overdue     bool                 `json:"overdue"`
	KEV         bool                 `json:"kev"`
	Ransomware  bool                 `json:"known_ransomware_use"`
	CVSS        float64              `json:"cvss"`
	EPSS        float64              `json:"epss,omitempty"`
	Description string               `json:"description"`
	Assets      []AdvisoryAsset      `json:"assets"`
	Services    []AdvisoryService    `json:"services_at_risk"`
	Actions     []string             `json:"actions"`
	References  []string             `json:"references,omitempty"`
	Why         []string             `json:"why"` // SSVC evidence of the most urgent finding
	// PublicNotice is set when citizens must act themselves.
	PublicNotice *PublicNotice `json:"public_notice,omitempty"`

	worstAsset string // the asset of the most urgent finding, whose SSVC evidence Why gives
}

// AdvisoryAsset is one exposed asset.
type AdvisoryAsset struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Kind       string                `json:"kind"`
	Count      int64                 `json:"count"`
	Version    string                `json:"version,omitempty"`
	Status     bulwark.FindingStatus `json:"status"`
	Decision   bulwark.SSVCDecision  `json:"decision"`
	Due        time.Time             `json:"due"`
	Confidence bulwark.Confidence    `json:"confidence"`
	Evidence   string                `json:"evidence"`
}

// AdvisoryService is a service that depends on an exposed asset.
type AdvisoryService struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Owner      string `json:"owner"`
	Population int64  `json:"population"`
	Category   string `json:"category"`
}

// PublicNotice is a plain-language notice for residents.
type PublicNotice struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// citizenKinds are asset kinds that residents operate themselves (apps on
// their phones, devices in their homes): when one is exposed, the advisory
// carries a public notice, because only residents can apply the fix.
var citizenKinds = []string{"mobile-app", "citizen-app", "consumer-iot", "smart-home", "home-router", "wearable"}

// AdvisoryFilter selects advisories.
type AdvisoryFilter struct {
	Owner string
	Vuln  string
}

// maxAdvisoryAssets bounds the assets listed in one advisory; the count of
// the rest is still given.
const maxAdvisoryAssets = 200

// Advisories builds the advisories for the open findings the caller sees,
// most urgent first.
func (s *Service) Advisories(ctx context.Context, f AdvisoryFilter) ([]Advisory, error) {
	type key struct{ vuln, owner string }
	groups := map[key][]bulwark.Finding{}
	var order []key
	opt := bulwark.FindingFilter{Owner: f.Owner, Vuln: f.Vuln, Open: true, Limit: bulwark.MaxPageSize}
	for {
		p, err := s.st.ListFindings(ctx, opt)
		if err != nil {
			return nil, err
		}
		for _, fd := range p.Items {
			k := key{fd.VulnID, fd.Owner}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], fd)
		}
		if p.Next == "" {
			break
		}
		opt.After = p.Next
	}
	if len(order) == 0 {
		return nil, nil
	}
	gd, err := s.st.LoadGraph(ctx)
	if err != nil {
		return nil, err
	}
	g, err := depgraph.Compile(gd)
	if err != nil {
		return nil, fmt.Errorf("compile graph: %w", err)
	}
	an := depgraph.Analyze(g)

	// Stored findings keep their decision points, not the sentences that
	// explain them (millions of copies); they are recomputed here for the
	// most urgent finding of each advisory.
	cityAn, cityG, err := s.cityAnalysis(ctx)
	if err != nil {
		return nil, err
	}
	vulns := map[string]*bulwark.Vulnerability{}
	orgNames := map[string]string{}
	now := s.now()
	var out []Advisory
	for _, k := range order {
		v, ok := vulns[k.vuln]
		if !ok {
			v, err = s.st.FindVulnerability(ctx, k.vuln)
			if err != nil {
				return nil, err
			}
			vulns[k.vuln] = v
		}
		if _, ok := orgNames[k.owner]; !ok {
			orgNames[k.owner] = k.owner
			if o, err := s.st.FindOrganization(ctx, k.owner); err == nil {
				orgNames[k.owner] = o.Name
			}
		}
		a := s.advisory(ctx, v, k.owner, orgNames[k.owner], groups[k], an, g, now)
		a.Why = ssvc.Inputs(v, missionOf(cityAn, cityG, a.worstAsset), s.policy).Why
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b Advisory) int {
		if c := moreUrgent(a.KEV, a.Decision, a.Due, b.KEV, b.Decision, b.Due); c != 0 {
			return c
		}
		return strings.Compare(a.VulnID+a.Owner, b.VulnID+b.Owner)
	})
	return out, nil
}

// moreUrgent orders work most urgent first, as every "fix first" list
// does: KEV before the rest, then the SSVC decision, then the due date.
func moreUrgent(kevA bool, decA bulwark.SSVCDecision, dueA time.Time, kevB bool, decB bulwark.SSVCDecision, dueB time.Time) int {
	if kevA != kevB {
		if kevA {
			return -1
		}
		return 1
	}
	if d := ssvc.Rank(decB) - ssvc.Rank(decA); d != 0 {
		return d
	}
	return dueA.Compare(dueB)
}

func (s *Service) advisory(ctx context.Context, v *bulwark.Vulnerability, owner, ownerName string, fs []bulwark.Finding,
	an *depgraph.Analysis, g *depgraph.Graph, now time.Time) Advisory {
	a := Advisory{VulnID: v.ID, Owner: owner, OwnerName: ownerName, CVSS: v.MaxCVSS(), Description: v.Description}
	a.Title = v.ID
	if v.KEV != nil {
		a.KEV, a.Ransomware = true, v.KEV.KnownRansomware
		if v.KEV.Name != "" {
			a.Title = v.ID + ": " + v.KEV.Name
		}
	}
	if v.EPSS != nil {
		a.EPSS = v.EPSS.Score
	}
	services := map[int32]bool{}
	citizen := false
	for i, f := range fs {
		if i == 0 || ssvc.Rank(f.Decision) > ssvc.Rank(a.Decision) {
			a.Decision, a.worstAsset = f.Decision, f.AssetID
		}
		if a.Due.IsZero() || f.Due.Before(a.Due) {
			a.Due = f.Due
		}
		if x, ok := g.Lookup(f.AssetID); ok {
			for _, sv := range an.ServicesAbove(x) {
				services[sv] = true
			}
		}
		if len(a.Assets) >= maxAdvisoryAssets {
			continue
		}
		aa := AdvisoryAsset{ID: f.AssetID, Name: f.AssetID, Status: f.Status, Decision: f.Decision, Due: f.Due,
			Confidence: f.Confidence, Evidence: f.Evidence, Count: 1}
		if asset, err := s.st.FindAsset(ctx, f.AssetID); err == nil {
			aa.Name, aa.Kind, aa.Count, aa.Version = asset.Name, asset.Kind, asset.Count, asset.Version
			citizen = citizen || slices.Contains(citizenKinds, asset.Kind)
		}
		a.Assets = append(a.Assets, aa)
	}
	a.Overdue = !a.Due.IsZero() && a.Due.Before(now)
	for sv := range services {
		a.Services = append(a.Services, AdvisoryService{ID: g.ID(sv), Name: g.Name(sv), Owner: g.Owner(sv),
			Population: g.Population(sv), Category: an.Category(sv).Overall().String()})
	}
	slices.SortFunc(a.Services, func(x, y AdvisoryService) int {
		if x.Population != y.Population {
			return int(y.Population - x.Population)
		}
		return strings.Compare(x.ID, y.ID)
	})
	a.Actions = actions(v)
	for _, r := range v.References {
		for _, t := range r.Tags {
			if t == "Patch" || t == "Vendor Advisory" || t == "Mitigation" {
				a.References = append(a.References, r.URL)
				break
			}
		}
		if len(a.References) >= 5 {
			break
		}
	}
	if citizen {
		a.PublicNotice = publicNotice(v, a)
	}
	return a
}

// actions lists what to do, most authoritative first: CISA's KEV required
// action, then vendor fixes, mitigations and workarounds from advisories.
func actions(v *bulwark.Vulnerability) []string {
	var out []string
	if v.KEV != nil && v.KEV.RequiredAction != "" {
		out = append(out, "CISA: "+v.KEV.RequiredAction)
	}
	rank := map[string]int{"vendor_fix": 0, "mitigation": 1, "workaround": 2, "no_fix_planned": 3, "none_available": 4}
	rems := slices.Clone(v.Remediations)
	slices.SortStableFunc(rems, func(a, b bulwark.Remediation) int { return rank[a.Category] - rank[b.Category] })
	seen := map[string]bool{}
	for _, r := range rems {
		text := strings.TrimSpace(r.Details)
		if text == "" || seen[text] {
			continue
		}
		seen[text] = true
		line := strings.ReplaceAll(r.Category, "_", " ") + ": " + text
		if r.URL != "" {
			line += " (" + r.URL + ")"
		}
		out = append(out, line)
		if len(out) >= 8 {
			break
		}
	}
	if len(out) == 0 {
		out = append(out, "Apply the vendor's update when available; until then restrict network access to the affected assets and monitor them.")
	}
	return out
}

func publicNotice(v *bulwark.Vulnerability, a Advisory) *PublicNotice {
	var kinds []string
	for _, as := range a.Assets {
		if slices.Contains(citizenKinds, as.Kind) && !slices.Contains(kinds, as.Name) {
			kinds = append(kinds, as.Name)
		}
	}
	body := fmt.Sprintf("A security weakness (%s) affects %s, which residents use. ", v.ID, strings.Join(kinds, ", "))
	if a.KEV {
		body += "Criminals are already exploiting it. "
	}
	body += "Please update it to the latest version as soon as possible: open the app store or the device's settings and install the update. " +
		"If you cannot update, stop using it until you can. The city will never ask for your password by phone or e-mail."
	return &PublicNotice{Title: "Update now: security fix for " + strings.Join(kinds, ", "), Body: body}
}

// Markdown renders the advisory for people.
func (a Advisory) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", a.Title)
	fmt.Fprintf(&b, "**For:** %s (%s)  \n", a.OwnerName, a.Owner)
	fmt.Fprintf(&b, "**Priority (SSVC):** %s  \n", a.Decision)
	due := a.Due.Format(time.DateOnly)
	if a.Overdue {
		due += " — OVERDUE"
	}
	fmt.Fprintf(&b, "**Act by:** %s  \n", due)
	if a.KEV {
		b.WriteString("**Known exploited:** yes (CISA KEV)")
		if a.Ransomware {
			b.WriteString(", used in ransomware campaigns")
		}
		b.WriteString("  \n")
	}
	fmt.Fprintf(&b, "**CVSS:** %.1f", a.CVSS)
	if a.EPSS > 0 {
		fmt.Fprintf(&b, " · **EPSS:** %.3f", a.EPSS)
	}
	b.WriteString("\n\n")
	if a.Description != "" {
		b.WriteString(a.Description + "\n\n")
	}
	b.WriteString("## What to do\n\n")
	for _, act := range a.Actions {
		b.WriteString("- " + act + "\n")
	}
	fmt.Fprintf(&b, "\n## Your exposed assets (%d)\n\n", len(a.Assets))
	b.WriteString("| Asset | Kind | Units | Version | Status | Due | Match |\n|---|---|---|---|---|---|---|\n")
	for _, as := range a.Assets {
		fmt.Fprintf(&b, "| %s (%s) | %s | %d | %s | %s | %s | %s |\n", mdCell(as.Name), mdCell(as.ID), mdCell(as.Kind), as.Count,
			mdCell(as.Version), as.Status, as.Due.Format(time.DateOnly), as.Confidence)
	}
	if len(a.Services) > 0 {
		fmt.Fprintf(&b, "\n## Services at risk (%d)\n\n", len(a.Services))
		for _, sv := range a.Services {
			fmt.Fprintf(&b, "- %s (%s), owner %s, serves %d people, FIPS 199 %s\n", mdCell(sv.Name), sv.ID, sv.Owner, sv.Population, sv.Category)
		}
	}
	b.WriteString("\n## Why this priority\n\n")
	for _, w := range a.Why {
		b.WriteString("- " + w + "\n")
	}
	if len(a.References) > 0 {
		b.WriteString("\n## References\n\n")
		for _, r := range a.References {
			b.WriteString("- " + r + "\n")
		}
	}
	if a.PublicNotice != nil {
		fmt.Fprintf(&b, "\n## Public notice\n\n**%s**\n\n%s\n", a.PublicNotice.Title, a.PublicNotice.Body)
	}
	return b.String()
}

// mdCell keeps a table cell on one line and stops it from closing the cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.Join(strings.Fields(s), " ")
}
