package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/depgraph"
	"bulwark/internal/sqlstore"
)

func newGraphCmd(e *env) *cobra.Command {
	var (
		limit   int
		service string
	)
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Rank nodes by criticality and list each service's single points of failure",
		Long: `Graph builds the dependency graph from the store and analyses it:
FIPS 199 categories flow down to every system and asset (high-water mark),
criticality flows up (services and population lost if a node fails, along
hard dependencies, honouring "k of n" redundancy groups), and each service's
single points of failure are listed, including common-mode ones (a node that
takes out a whole redundancy group). Cycles are reported.`,
		Example: "  bulwark graph\n  bulwark graph --limit 50 --json\n  bulwark graph --service water-supply",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				start := time.Now()
				data, err := db.LoadGraph(ctx)
				if err != nil {
					return err
				}
				loaded := time.Since(start)
				g, err := depgraph.Compile(data)
				if err != nil {
					return err
				}
				a := depgraph.Analyze(g)
				rep := a.Report(limit)
				if service != "" {
					var found []depgraph.ServiceReport
					for _, s := range rep.Services {
						if s.ID == service {
							found = append(found, s)
						}
					}
					if len(found) == 0 {
						return bulwark.Errorf(bulwark.ENOTFOUND, "service %q not found", service)
					}
					rep.Services = found
				}
				if e.jsonOut {
					enc := json.NewEncoder(e.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(rep)
				}
				if !e.quiet {
					fmt.Fprintf(e.stderr, "graph of %d nodes and %d dependencies loaded in %s, analysed in %s\n",
						len(data.Nodes), len(data.Edges), loaded.Round(time.Millisecond), (time.Since(start) - loaded).Round(time.Millisecond))
				}
				return printGraphReport(e, rep, service == "")
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "rows of the criticality table (0 for all)")
	cmd.Flags().StringVar(&service, "service", "", "show only this service's single points of failure")
	addJSONFlag(cmd, e)
	return cmd
}

func printGraphReport(e *env, rep *depgraph.Report, table bool) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	if table {
		fmt.Fprintln(tw, "RANK\tNODE\tKIND\tOWNER\tFIPS199\tSERVICES LOST\tPOPULATION LOST\tDEGRADED")
		for _, n := range rep.Nodes {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", n.Rank, n.ID, n.Kind, n.Owner, orDash(n.Category),
				len(n.ServicesLost), n.PopulationLost, len(n.ServicesDegraded))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Services {
		fmt.Fprintf(e.stdout, "%s (%s, %s, population %d): ", s.ID, s.Name, orDash(s.Category), s.Population)
		if len(s.SPOFs) == 0 {
			fmt.Fprintln(e.stdout, "no single point of failure")
			continue
		}
		fmt.Fprintf(e.stdout, "%d single point(s) of failure\n", len(s.SPOFs))
		for _, p := range s.SPOFs {
			mode := ""
			if p.CommonMode {
				mode = "  [common-mode: takes out a redundancy group]"
			}
			fmt.Fprintf(e.stdout, "    %-7s %s%s\n", p.Kind, p.ID, mode)
		}
	}
	if len(rep.Cycles) > 0 {
		fmt.Fprintf(e.stdout, "\n%d dependency cycle(s):\n", len(rep.Cycles))
		for _, c := range rep.Cycles {
			fmt.Fprintf(e.stdout, "    %s -> %s\n", strings.Join(c, " -> "), c[0])
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
