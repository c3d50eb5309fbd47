package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/datasrc"
	"bulwark/internal/sqlstore"
	"bulwark/internal/vulns"
)

// fromData returns the bulk publisher over db (advisories from the vulns
// service, findings from the store, incidents from the incident service)
// with the identity scope scope.
func (e *env) fromData(db *sqlstore.DB, svc *sharing.Service, scope string) *sharing.FromData {
	return datasrc.New(db, svc, vulns.New(db, e.log), incident.New(db, baseline.New(db, e.log), e.log), scope)
}

// bulkPublishFlags are the flags every bulk publication takes.
type bulkPublishFlags struct {
	col, as, marking, scope string
	orgs                    []string
}

func (f *bulkPublishFlags) add(cmd *cobra.Command, e *env) {
	cmd.Flags().StringVar(&f.col, "collection", "", "collection id or alias (required)")
	cmd.Flags().StringVar(&f.as, "as", "", "the publishing user's e-mail (required)")
	cmd.Flags().StringVar(&f.marking, "marking", "", "clear, green, amber, amber+strict or red (required: no default)")
	cmd.Flags().StringSliceVar(&f.orgs, "to", nil, "recipient organizations (amber: any number; amber+strict: one)")
	cmd.Flags().StringVar(&f.scope, "scope", "", `identity scope naming this deployment in publisher ids, e.g. the city's domain (default "`+sharing.DefaultScope+`"); keep it the same every time`)
	addJSONFlag(cmd, e)
}

// run checks the flags and runs fn as the publishing user. Objects the
// sharing rules refused are listed and make the command fail.
func (f *bulkPublishFlags) run(e *env, fn func(ctx context.Context, fd *sharing.FromData, m bulwark.TLP) (*sharing.BulkResult, error)) error {
	if f.col == "" || f.as == "" || f.marking == "" {
		return usageError{"--collection, --marking and --as are required"}
	}
	m, err := parseMarking(f.marking)
	if err != nil {
		return err
	}
	return e.withSharing(f.as, func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
		res, err := fn(ctx, e.fromData(db, svc, f.scope), m)
		if res == nil {
			return err
		}
		if e.jsonOut {
			if perr := e.printJSON(res); perr != nil {
				return perr
			}
			return err
		}
		fmt.Fprintf(e.stdout, "%d objects: %d published, %d unchanged, %d refused (%s)\n", len(res.Objects)+len(res.Refused), res.Published, res.Unchanged, len(res.Refused), m.Label())
		for _, r := range res.Refused {
			fmt.Fprintf(e.stdout, "  refused %s: %s\n", r.Object, r.Reason)
		}
		return err
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
nothing; publishing under a stricter marking adds new versions, and a lower
marking than already published is refused (objects listed). The marking is
required.`,
		Example: `  bulwark share publish-advisories --collection ot --as ana@water.example --marking green
  bulwark share publish-advisories --collection ot --as ana@water.example --marking amber --to port-authority --scope city.example`,
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

func newIntelPublishFindingsCmd(e *env) *cobra.Command {
	var f bulkPublishFlags
	cmd := &cobra.Command{
		Use:   "publish-findings",
		Short: "Publish a summary of your organization's open findings (counts only, no assets)",
		Long: `Publishes a STIX report summarizing the publishing user's organization's open
findings this month (UTC): how many, by SSVC decision, CVSS severity and KEV
status. It names no assets, host names, services or CVE ids. The report's id
depends on the organization and the month: publishing again in the same month
adds a new version of the same report when the counts changed, and nothing
otherwise. The marking is required.`,
		Example: `  bulwark share publish-findings --collection metro --as ana@water.example --marking amber+strict
  bulwark share publish-findings --collection metro --as ana@water.example --marking amber --to city-ciso --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(e, func(ctx context.Context, fd *sharing.FromData, m bulwark.TLP) (*sharing.BulkResult, error) {
				return fd.PublishFindingsSummary(ctx, f.col, m, f.orgs...)
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
		Example: `  bulwark share publish-incident inc-42 --collection ot --as ana@water.example --marking amber --to city-ciso`,
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
