package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/sharing"
	"bulwark/internal/sqlstore"
	"bulwark/internal/vulns"
)

// fromData returns the bulk publisher over db: advisories from the vulns
// service, incidents from the incident service.
func (e *env) fromData(db *sqlstore.DB, svc *sharing.Service) *sharing.FromData {
	vs := vulns.New(db, e.log)
	return &sharing.FromData{Sharing: svc, Vulnerabilities: db,
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
		Incidents: incident.New(db, baseline.New(db, e.log), e.log)}
}

// bulkPublishFlags are the flags every bulk publication takes.
type bulkPublishFlags struct {
	col, as, marking string
	orgs             []string
}

func (f *bulkPublishFlags) add(cmd *cobra.Command, e *env) {
	cmd.Flags().StringVar(&f.col, "collection", "", "collection id or alias (required)")
	cmd.Flags().StringVar(&f.as, "as", "", "the publishing user's e-mail (required)")
	cmd.Flags().StringVar(&f.marking, "marking", "", "clear, green, amber, amber+strict or red (required: no default)")
	cmd.Flags().StringSliceVar(&f.orgs, "to", nil, "recipient organizations (amber: any number; amber+strict: one)")
	addJSONFlag(cmd, e)
}

// run checks the flags and runs fn as the publishing user.
func (f *bulkPublishFlags) run(e *env, fn func(ctx context.Context, fd *sharing.FromData, m bulwark.TLP) (*sharing.BulkResult, error)) error {
	if f.col == "" || f.as == "" || f.marking == "" {
		return usageError{"--collection, --marking and --as are required"}
	}
	m, err := parseMarking(f.marking)
	if err != nil {
		return err
	}
	return e.withSharing(f.as, func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
		res, err := fn(ctx, e.fromData(db, svc), m)
		if err != nil {
			return err
		}
		if e.jsonOut {
			return e.printJSON(res)
		}
		fmt.Fprintf(e.stdout, "%d objects: %d published, %d unchanged (%s)\n", len(res.Objects), res.Published, res.Unchanged, m.Label())
		return nil
	})
}

func newIntelPublishAdvisoriesCmd(e *env) *cobra.Command {
	var f bulkPublishFlags
	cmd := &cobra.Command{
		Use:   "publish-advisories",
		Short: "Publish your organization's current advisories (vulnerability, course of action, no assets)",
		Long: `Publishes, for every current advisory of the publishing user's organization
(what "bulwark advisories" lists), a STIX vulnerability with its CVE reference,
a course-of-action (what to do, by when) and a "mitigates" relationship. Exposed
assets and services are never published. Publishing again without changes adds
nothing. The marking is required.`,
		Example: `  bulwark intel publish-advisories --collection ot --as ana@water.example --marking green
  bulwark intel publish-advisories --collection ot --as ana@water.example --marking amber --to port-authority`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(e, func(ctx context.Context, fd *sharing.FromData, m bulwark.TLP) (*sharing.BulkResult, error) {
				return fd.PublishAdvisories(ctx, f.col, m, f.orgs...)
			})
		},
	}
	f.add(cmd, e)
	return cmd
}

func newIntelPublishIncidentCmd(e *env) *cobra.Command {
	var f bulkPublishFlags
	cmd := &cobra.Command{
		Use:   "publish-incident ID",
		Short: "Publish an incident you take part in (title, phase, severity, affected service names)",
		Long: `Publishes a STIX incident and a report referencing it with the incident's
title, phase, severity level and the names of the affected services — no
systems, assets, parties or notes. Publishing again without changes adds
nothing. The marking is required.`,
		Example: `  bulwark intel publish-incident inc-42 --collection ot --as ana@water.example --marking amber --to city-ciso`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(e, func(ctx context.Context, fd *sharing.FromData, m bulwark.TLP) (*sharing.BulkResult, error) {
				return fd.PublishIncident(ctx, args[0], f.col, m, f.orgs...)
			})
		},
	}
	f.add(cmd, e)
	return cmd
}
