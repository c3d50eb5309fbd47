package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"bulwark"
)

// Selector picks nodes of the city for a scenario event or a patch. Every
// condition given must hold (they combine with "and"); at least one of
// Kind, Zone, System, CVE or KEV is needed.
//
//   - Kind: assets of this kind ("plc", "server", ...).
//   - Zone: the systems in this network zone and their assets.
//   - System: this system and its assets.
//   - Owner: only nodes of this organization.
//   - CVE: assets with an open finding on this vulnerability.
//   - KEV: assets with an open finding on any vulnerability in CISA's KEV
//     catalog.
//
// With Kind, CVE or KEV only assets are picked; otherwise (Zone, System)
// the systems are picked too.
type Selector struct {
	Kind   string `json:"kind,omitempty" yaml:"kind,omitempty"`
	Zone   string `json:"zone,omitempty" yaml:"zone,omitempty"`
	System string `json:"system,omitempty" yaml:"system,omitempty"`
	Owner  string `json:"owner,omitempty" yaml:"owner,omitempty"`
	CVE    string `json:"cve,omitempty" yaml:"cve,omitempty"`
	KEV    bool   `json:"kev,omitempty" yaml:"kev,omitempty"`
	// EPSS sets the event's probability to the CVE's EPSS score when the
	// selector is resolved (a scenario file says "probability: epss").
	EPSS bool `json:"epss,omitempty" yaml:"-"`
}

// CityReader is what selectors and LoadCity read from the city: the
// store's listings, read page by page.
type CityReader interface {
	ListServices(ctx context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.Service], error)
	ListSystems(ctx context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.System], error)
	ListAssets(ctx context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.Asset], error)
	ListFindings(ctx context.Context, f bulwark.FindingFilter) (bulwark.Page[bulwark.Finding], error)
	FindVulnerability(ctx context.Context, id string) (*bulwark.Vulnerability, error)
}

// maxSelected bounds the nodes one selector may pick, and maxPages the
// pages one listing may take (a store that never ends its pages).
const (
	maxSelected = 10_000_000
	maxPages    = 1_000_000
)

// check validates the selector's shape; where names it in errors.
func (s *Selector) check(where string) error {
	if s.Kind == "" && s.Zone == "" && s.System == "" && s.CVE == "" && !s.KEV {
		return bulwark.Errorf(bulwark.EINVALID, "%s: a selector needs kind, zone, system, cve or kev", where)
	}
	for name, id := range map[string]string{"system": s.System, "owner": s.Owner, "cve": s.CVE} {
		if id != "" && !bulwark.ValidID(id) {
			return bulwark.Errorf(bulwark.EINVALID, "%s: %s %q is not a valid identifier", where, name, bulwark.Abbrev(id, 64))
		}
	}
	for name, v := range map[string]string{"kind": s.Kind, "zone": s.Zone} {
		if len(v) > bulwark.MaxIDLen || strings.ContainsAny(v, "\x00\n\r") {
			return bulwark.Errorf(bulwark.EINVALID, "%s: %s %q is not a valid name", where, name, bulwark.Abbrev(v, 64))
		}
	}
	if s.EPSS && s.CVE == "" {
		return bulwark.Errorf(bulwark.EINVALID, "%s: probability epss needs a cve selector", where)
	}
	return nil
}

// Select returns the IDs of the nodes s picks, sorted. The city is read
// one page at a time; only the IDs kept and, with Zone or a CVE, the set
// of matching systems or assets are held.
func Select(ctx context.Context, src CityReader, s *Selector) ([]string, error) {
	if err := s.check("selector"); err != nil {
		return nil, err
	}
	var out []string
	add := func(id string) error {
		if len(out) >= maxSelected {
			return bulwark.Errorf(bulwark.ETOOLARGE, "selector picks more than %d nodes", maxSelected)
		}
		out = append(out, id)
		return nil
	}
	// Systems of the zone (or the one system), for zone and system selectors.
	var systems map[string]bool
	if s.Zone != "" || s.System != "" {
		systems = map[string]bool{}
		err := eachPage(ctx, func(after string) (string, error) {
			p, err := src.ListSystems(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize, After: after, Owner: s.Owner})
			for _, sys := range p.Items {
				if (s.Zone == "" || sys.Zone == s.Zone) && (s.System == "" || sys.ID == s.System) {
					systems[sys.ID] = true
				}
			}
			return p.Next, err
		})
		if err != nil {
			return nil, err
		}
	}
	// Assets with an open finding on the CVE (or on a KEV vulnerability).
	var exposed map[string]bool
	if s.CVE != "" || s.KEV {
		exposed = map[string]bool{}
		err := eachPage(ctx, func(after string) (string, error) {
			p, err := src.ListFindings(ctx, bulwark.FindingFilter{Limit: bulwark.MaxPageSize, After: after, Owner: s.Owner,
				Vuln: s.CVE, KEV: s.KEV, Open: true})
			for _, f := range p.Items {
				exposed[f.AssetID] = true
			}
			return p.Next, err
		})
		if err != nil {
			return nil, err
		}
	}
	onlyAssets := s.Kind != "" || s.CVE != "" || s.KEV
	if !onlyAssets {
		for id := range systems {
			if err := add(id); err != nil {
				return nil, err
			}
		}
	}
	// With a system selector and nothing else, list that system's assets
	// only; otherwise every asset of the kind and owner, filtered.
	system := s.System
	err := eachPage(ctx, func(after string) (string, error) {
		p, err := src.ListAssets(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize, After: after, Owner: s.Owner, Kind: s.Kind, System: system})
		for _, a := range p.Items {
			if systems != nil && !systems[a.System] {
				continue
			}
			if exposed != nil && !exposed[a.ID] {
				continue
			}
			if err := add(a.ID); err != nil {
				return "", err
			}
		}
		return p.Next, err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// eachPage calls list with the cursor of each page until it returns no
// next cursor.
func eachPage(ctx context.Context, list func(after string) (string, error)) error {
	after := ""
	for range maxPages {
		if err := ctx.Err(); err != nil {
			return err
		}
		next, err := list(after)
		if err != nil {
			return err
		}
		if next == "" || next == after {
			return nil
		}
		after = next
	}
	return bulwark.Errorf(bulwark.ETOOLARGE, "listing has more than %d pages", maxPages)
}

// ResolveScenario replaces the selector of every event of s by the nodes
// it picks in the city (added to the event's Nodes), and sets the
// probability of events that ask for the CVE's EPSS score. An event whose
// selector picks no node is an error: it is almost always a typing mistake
// or missing findings.
func ResolveScenario(ctx context.Context, src CityReader, s *Scenario) error {
	// Events often share a selector (the same fleet exploited at two
	// rates): read the city once for each distinct one.
	seen := map[Selector][]string{}
	for i := range s.Events {
		ev := &s.Events[i]
		if ev.Select == nil {
			continue
		}
		where := fmt.Sprintf("event %d (%q)", i+1, bulwark.Abbrev(ev.Name, 64))
		key := *ev.Select
		key.EPSS = false
		ids, ok := seen[key]
		if !ok {
			var err error
			if ids, err = Select(ctx, src, ev.Select); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			seen[key] = ids
		}
		if len(ids) == 0 {
			return bulwark.Errorf(bulwark.EINVALID, "%s: the selector %s picks no node in the city", where, ev.Select)
		}
		if ev.Select.EPSS {
			v, err := src.FindVulnerability(ctx, ev.Select.CVE)
			if err != nil {
				return fmt.Errorf("%s: EPSS of %s: %w", where, ev.Select.CVE, err)
			}
			if v.EPSS == nil {
				return bulwark.Errorf(bulwark.EINVALID, "%s: %s has no EPSS score: give a probability", where, ev.Select.CVE)
			}
			ev.Probability = v.EPSS.Score
		}
		ev.Nodes = mergeIDs(ev.Nodes, ids)
		ev.Select = nil
	}
	return nil
}

// ResolveOptions replaces the selector of every patch of opts by the nodes
// it picks in the city.
func ResolveOptions(ctx context.Context, src CityReader, opts []Option) error {
	for i := range opts {
		for j := range opts[i].Patch {
			p := &opts[i].Patch[j]
			if p.Select == nil {
				continue
			}
			where := fmt.Sprintf("option %d (%q): patch %d", i+1, bulwark.Abbrev(opts[i].Name, 64), j+1)
			ids, err := Select(ctx, src, p.Select)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if len(ids) == 0 {
				return bulwark.Errorf(bulwark.EINVALID, "%s: the selector %s picks no node in the city", where, p.Select)
			}
			p.Nodes = mergeIDs(p.Nodes, ids)
			p.Select = nil
		}
	}
	return nil
}

func mergeIDs(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// String writes the selector as a scenario file does: {kind: plc, zone: ot}.
func (s *Selector) String() string {
	var parts []string
	for _, kv := range [][2]string{{"kind", s.Kind}, {"zone", s.Zone}, {"system", s.System}, {"owner", s.Owner}, {"cve", s.CVE}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+bulwark.Abbrev(kv[1], 64))
		}
	}
	if s.KEV {
		parts = append(parts, "kev: true")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// LoadCity reads what ConfigFromCity needs from the city, page by page:
// the services and systems whole, and of each asset only its ID, owner,
// kind and system (a million assets' CPEs and locations are not needed).
func LoadCity(ctx context.Context, src CityReader) (*bulwark.City, error) {
	c := &bulwark.City{}
	err := eachPage(ctx, func(after string) (string, error) {
		p, err := src.ListServices(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize, After: after})
		c.Services = append(c.Services, p.Items...)
		return p.Next, err
	})
	if err != nil {
		return nil, fmt.Errorf("load services: %w", err)
	}
	err = eachPage(ctx, func(after string) (string, error) {
		p, err := src.ListSystems(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize, After: after})
		c.Systems = append(c.Systems, p.Items...)
		return p.Next, err
	})
	if err != nil {
		return nil, fmt.Errorf("load systems: %w", err)
	}
	err = eachPage(ctx, func(after string) (string, error) {
		p, err := src.ListAssets(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize, After: after})
		for _, a := range p.Items {
			c.Assets = append(c.Assets, bulwark.Asset{ID: a.ID, Owner: a.Owner, Kind: a.Kind, System: a.System})
		}
		return p.Next, err
	})
	if err != nil {
		return nil, fmt.Errorf("load assets: %w", err)
	}
	return c, nil
}
