package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/api"
	"bulwark/internal/sqlstore"
)

func newListCmd(e *env) *cobra.Command {
	var (
		opt bulwark.ListOptions
		all bool
	)
	cmd := &cobra.Command{
		Use:   "list organizations|services|systems|assets",
		Short: "List stored entities (tables, or --json in the API's shapes)",
		Long: `List prints one page of entities sorted by ID. Use --after with the
cursor printed at the end of a page for the next one, or --all for every page.
Filters: --owner, --q (substring of ID or name), --sector (services), --kind
and --system (assets).`,
		Example:   "  bulwark list services --sector water-wastewater\n  bulwark list assets --kind plc --json --all",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"organizations", "services", "systems", "assets"},
		RunE: func(cmd *cobra.Command, args []string) error {
			what := strings.TrimSuffix(args[0], "s")
			if what == "org" || what == "organization" {
				what = "organization"
			}
			fetch, ok := listers[what]
			if !ok {
				return usageError{fmt.Sprintf("cannot list %q: choose organizations, services, systems or assets", args[0])}
			}
			if opt.Limit < 0 || opt.Limit > bulwark.MaxPageSize {
				return usageError{fmt.Sprintf("--limit must be between 1 and %d", bulwark.MaxPageSize)}
			}
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				var (
					items []any
					rows  [][]string
					next  string
				)
				for {
					page, err := fetch(ctx, db, opt)
					if err != nil {
						return err
					}
					items = append(items, page.items...)
					rows = append(rows, page.rows...)
					next = page.next
					if !all || next == "" {
						break
					}
					opt.After = next
				}
				if e.jsonOut {
					enc := json.NewEncoder(e.stdout)
					if all {
						return enc.Encode(map[string]any{"items": items})
					}
					return enc.Encode(map[string]any{"items": items, "next": next})
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, strings.Join(listHeaders[what], "\t"))
				for _, r := range rows {
					fmt.Fprintln(tw, strings.Join(r, "\t"))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if next != "" && !e.quiet {
					fmt.Fprintf(e.stderr, "more: --after %s (or --all)\n", next)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opt.Limit, "limit", bulwark.DefaultPageSize, "items per page")
	f.StringVar(&opt.After, "after", "", "cursor: list items after this ID")
	f.BoolVar(&all, "all", false, "fetch every page")
	f.StringVar(&opt.Owner, "owner", "", "only entities owned by this organization")
	f.StringVar(&opt.Query, "q", "", "substring of ID or name")
	f.StringVar((*string)(&opt.Sector), "sector", "", "services of this sector")
	f.StringVar(&opt.Kind, "kind", "", "assets of this kind")
	f.StringVar(&opt.System, "system", "", "assets of this system")
	addJSONFlag(cmd, e)
	return cmd
}

type listPage struct {
	items []any
	rows  [][]string
	next  string
}

var listHeaders = map[string][]string{
	"organization": {"ID", "NAME", "PURVIEW", "SHARES WITH"},
	"service":      {"ID", "NAME", "OWNER", "SECTOR", "POPULATION", "C/I/A"},
	"system":       {"ID", "NAME", "OWNER", "ZONE", "INTERNET"},
	"asset":        {"ID", "KIND", "OWNER", "VENDOR", "PRODUCT", "VERSION", "COUNT", "SYSTEM"},
}

var listers = map[string]func(ctx context.Context, st bulwark.CityStore, opt bulwark.ListOptions) (listPage, error){
	"organization": func(ctx context.Context, st bulwark.CityStore, opt bulwark.ListOptions) (listPage, error) {
		p, err := st.ListOrganizations(ctx, opt)
		var lp listPage
		for i := range p.Items {
			o := &p.Items[i]
			lp.items = append(lp.items, api.OrganizationJSON(o))
			lp.rows = append(lp.rows, []string{o.ID, o.Name, string(o.Purview), strings.Join(o.SharesWith, ",")})
		}
		lp.next = p.Next
		return lp, err
	},
	"service": func(ctx context.Context, st bulwark.CityStore, opt bulwark.ListOptions) (listPage, error) {
		p, err := st.ListServices(ctx, opt)
		var lp listPage
		for i := range p.Items {
			s := &p.Items[i]
			c := s.Category
			lp.items = append(lp.items, api.ServiceJSON(s))
			lp.rows = append(lp.rows, []string{s.ID, s.Name, s.Owner, string(s.Sector), fmt.Sprint(s.Population),
				orDash(c.Confidentiality.String()) + "/" + orDash(c.Integrity.String()) + "/" + orDash(c.Availability.String())})
		}
		lp.next = p.Next
		return lp, err
	},
	"system": func(ctx context.Context, st bulwark.CityStore, opt bulwark.ListOptions) (listPage, error) {
		p, err := st.ListSystems(ctx, opt)
		var lp listPage
		for i := range p.Items {
			s := &p.Items[i]
			lp.items = append(lp.items, api.SystemJSON(s))
			lp.rows = append(lp.rows, []string{s.ID, s.Name, s.Owner, orDash(s.Zone), fmt.Sprint(s.InternetExposed)})
		}
		lp.next = p.Next
		return lp, err
	},
	"asset": func(ctx context.Context, st bulwark.CityStore, opt bulwark.ListOptions) (listPage, error) {
		p, err := st.ListAssets(ctx, opt)
		var lp listPage
		for i := range p.Items {
			a := &p.Items[i]
			lp.items = append(lp.items, api.AssetJSON(a))
			lp.rows = append(lp.rows, []string{a.ID, orDash(a.Kind), a.Owner, orDash(a.Vendor), orDash(a.Product), orDash(a.Version),
				fmt.Sprint(a.Count), orDash(a.System)})
		}
		lp.next = p.Next
		return lp, err
	},
}
