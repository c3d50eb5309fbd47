// Package datasrc connects sharing.FromData to Bulwark's own data: the
// vulnerability service's advisories, the store's findings and the
// incident service. The CLI, the API and the web pages build their bulk
// publisher here, so that all three publish the same thing.
package datasrc

import (
	"context"

	"bulwark"
	"bulwark/internal/incident"
	"bulwark/internal/sharing"
	"bulwark/internal/vulns"
)

// New returns the bulk publisher over st and the given services; scope is
// the deployment's identity scope (sharing.DefaultScope when empty).
func New(st bulwark.Store, sh *sharing.Service, vs *vulns.Service, is *incident.Service, scope string) *sharing.FromData {
	return &sharing.FromData{Sharing: sh, Vulnerabilities: st, Scope: scope,
		Advisories: func(ctx context.Context, owner string) ([]sharing.Advisory, error) {
			as, err := vs.Advisories(ctx, vulns.AdvisoryFilter{Owner: owner})
			if err != nil {
				return nil, err
			}
			out := make([]sharing.Advisory, len(as))
			for i, a := range as {
				out[i] = sharing.Advisory{VulnID: a.VulnID, Title: a.Title, Decision: a.Decision, Due: a.Due,
					KEV: a.KEV, Ransomware: a.Ransomware, Actions: a.Actions}
			}
			return out, nil
		},
		Findings: func(ctx context.Context, owner string) ([]bulwark.Finding, error) {
			return OpenFindings(ctx, st, owner)
		},
		Incidents: is,
	}
}

// OpenFindings returns every open finding (open or in remediation) of
// owner that the caller sees.
func OpenFindings(ctx context.Context, st bulwark.Store, owner string) ([]bulwark.Finding, error) {
	var out []bulwark.Finding
	opt := bulwark.FindingFilter{Owner: owner, Open: true, Limit: bulwark.MaxPageSize}
	for {
		p, err := st.ListFindings(ctx, opt)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		opt.After = p.Next
	}
}
