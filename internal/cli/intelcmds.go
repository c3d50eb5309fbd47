package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sqlstore"
)

// withSharing opens the store and the sharing service. With as (an
// e-mail), the service acts as that user — publishing and imports need a
// publishing organization and user; otherwise as the local operator, who
// never receives TLP:AMBER+STRICT or TLP:RED content.
func (e *env) withSharing(as string, fn func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error) error {
	return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
		if as != "" {
			u, err := db.FindUserByEmail(ctx, bulwark.NormalizeEmail(as))
			if err != nil {
				return bulwark.Errorf(bulwark.EINVALID, "--as %s: no such user", as)
			}
			if u.Disabled {
				return bulwark.Errorf(bulwark.EINVALID, "--as %s: the user is disabled", as)
			}
			ctx = bulwark.WithPrincipal(e.ctx, bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: "cli:" + u.Email})
		}
		svc := sharing.New(db, e.log)
		defer svc.Close()
		// What this command adds is told like the server's additions, in
		// one digest per recipient for the whole command.
		if ns := e.intelDigests(db); ns != nil {
			svc.OnAdded(ns.IntelHook(svc))
			var flush func(context.Context)
			ctx, flush = svc.Batch(ctx)
			defer flush(ctx)
		}
		return fn(ctx, db, svc)
	})
}

func newIntelCommunityCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "community", Short: "Sharing communities (groups of organizations)"}
	var name, desc, as string
	var members, owners []string
	create := &cobra.Command{
		Use:     "create ID",
		Short:   "Create a community",
		Example: "  bulwark share community create metro-isac --name \"Metro ISAC\" --owner city-ciso --member city-water,port-authority,harbor-hospital",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := &bulwark.Community{ID: args[0], Name: name, Description: desc}
			for _, o := range owners {
				c.Members = append(c.Members, bulwark.CommunityMember{Org: o, Owner: true})
			}
			for _, m := range members {
				c.Members = append(c.Members, bulwark.CommunityMember{Org: m})
			}
			return e.withSharing(as, func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
				if err := svc.CreateCommunity(ctx, c); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "community %s: %d members\n", c.ID, len(c.Members))
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "name (required)")
	create.Flags().StringVar(&desc, "description", "", "description")
	create.Flags().StringSliceVar(&owners, "owner", nil, "owner organizations (their administrators manage the community)")
	create.Flags().StringSliceVar(&members, "member", nil, "member organizations")
	create.Flags().StringVar(&as, "as", "", "act as this user (an administrator of a city or ISAC organization)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List communities (a user's: --as)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withSharing(as, func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
				cs, err := svc.ListCommunities(ctx)
				if err != nil || e.jsonOut {
					if err == nil {
						err = e.printJSON(cs)
					}
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tOWNERS\tMEMBERS")
				for _, c := range cs {
					var own, mem []string
					for _, m := range c.Members {
						if m.Owner {
							own = append(own, m.Org)
						} else {
							mem = append(mem, m.Org)
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Name, strings.Join(own, ","), strings.Join(mem, ","))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&as, "as", "", "list the communities of this user's organization")
	addJSONFlag(list, e)
	cmd.AddCommand(create, list)
	return cmd
}

func newIntelCollectionCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "collection", Short: "TAXII collections of a community"}
	var community, title, desc, alias, id, as string
	var read, write []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a collection (by default every member reads and the owners write)",
		Example: `  bulwark share collection create --community metro-isac --title "OT indicators" --alias ot-indicators
  bulwark share collection create --community metro-isac --title "Port only" --read port-authority,city-ciso --write port-authority`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := &bulwark.Collection{ID: id, Community: community, Title: title, Description: desc, Alias: alias}
			if read != nil || write != nil {
				acc := map[string]*bulwark.CollectionAccess{}
				var order []string
				for _, o := range append(append([]string{}, read...), write...) {
					if acc[o] == nil {
						acc[o] = &bulwark.CollectionAccess{Org: o}
						order = append(order, o)
					}
				}
				for _, o := range read {
					acc[o].CanRead = true
				}
				for _, o := range write {
					acc[o].CanWrite = true
				}
				c.Access = []bulwark.CollectionAccess{}
				for _, o := range order {
					c.Access = append(c.Access, *acc[o])
				}
			}
			return e.withSharing(as, func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
				if err := svc.CreateCollection(ctx, c); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "collection %s in %s (TAXII: /taxii2/bulwark/collections/%s/)\n", c.ID, c.Community, c.ID)
				return nil
			})
		},
	}
	create.Flags().StringVar(&community, "community", "", "the community (required)")
	create.Flags().StringVar(&title, "title", "", "title (required)")
	create.Flags().StringVar(&desc, "description", "", "description")
	create.Flags().StringVar(&alias, "alias", "", "a readable name for TAXII URLs")
	create.Flags().StringVar(&id, "id", "", "the collection's UUID (default: a new one)")
	create.Flags().StringSliceVar(&read, "read", nil, "organizations that may read")
	create.Flags().StringSliceVar(&write, "write", nil, "organizations that may add objects")
	create.Flags().StringVar(&as, "as", "", "act as this user (an administrator of an owner organization)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List collections (those a user may read or write: --as)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withSharing(as, func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
				cs, err := svc.ListCollections(ctx)
				if err != nil || e.jsonOut {
					if err == nil {
						err = e.printJSON(cs)
					}
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tCOMMUNITY\tTITLE\tALIAS\tREAD\tWRITE")
				for _, c := range cs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\n", c.ID, c.Community, c.Title, c.Alias, c.CanRead, c.CanWrite)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&as, "as", "", "list what this user may read or write")
	addJSONFlag(list, e)
	cmd.AddCommand(create, list)
	return cmd
}

func parseMarking(s string) (bulwark.TLP, error) {
	if s == "" {
		return "", nil
	}
	m, ok := bulwark.ParseTLP(s)
	if !ok {
		return "", usageError{fmt.Sprintf("--marking %q: use clear, green, amber, amber+strict or red", s)}
	}
	return m, nil
}

func newIntelImportCmd(e *env) *cobra.Command {
	var col, as, marking string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a STIX 2.1 (or 2.0) bundle into a collection",
		Long: `Import reads a STIX bundle strictly (duplicate or case-variant keys, caps on
size and depth) and adds its objects to the collection as the user --as.
Objects keep their own TLP markings; --marking sets the least marking of
every object (objects marked less strictly, or not at all, take it). Without
either, an object is TLP:AMBER+STRICT to the user's organization. Objects that
fail to decode are reported and the rest imported.`,
		Example: "  bulwark share import apt-report.json --collection ot-indicators --as ana@water.example --marking amber",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if col == "" || as == "" {
				return usageError{"--collection and --as are required"}
			}
			m, err := parseMarking(marking)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("open bundle: %w", err)
			}
			defer f.Close()
			return e.withSharing(as, func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
				st, err := svc.Import(ctx, col, f, sharing.ImportOptions{Name: args[0], Marking: m})
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(st)
				}
				fmt.Fprintf(e.stdout, "%d objects: %d added or already there, %d failed\n", st.Total, len(st.Successes), len(st.Failures))
				for _, f := range st.Failures {
					fmt.Fprintf(e.stdout, "  %s: %s\n", f.ID, f.Message)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&col, "collection", "", "collection id or alias (required)")
	cmd.Flags().StringVar(&as, "as", "", "the publishing user's e-mail (required)")
	cmd.Flags().StringVar(&marking, "marking", "", "least TLP marking of every object")
	addJSONFlag(cmd, e)
	return cmd
}

func newIntelPublishCmd(e *env) *cobra.Command {
	var col, as, marking string
	var orgs, users []string
	cmd := &cobra.Command{
		Use:   "publish FILE",
		Short: "Publish one STIX object with a chosen marking and audience",
		Example: `  bulwark share publish indicator.json --collection ot-indicators --as ana@water.example --marking green
  bulwark share publish indicator.json --collection ot-indicators --as ana@water.example --marking amber --to port-authority,city-ciso
  bulwark share publish note.json --collection ot-indicators --as ana@water.example --marking red --to-user bo@port.example`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if col == "" || as == "" {
				return usageError{"--collection and --as are required"}
			}
			m, err := parseMarking(marking)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read object: %w", err)
			}
			return e.withSharing(as, func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
				req := sharing.PublishRequest{Collection: col, Object: data, Marking: m, Orgs: orgs}
				for _, email := range users {
					u, err := db.FindUserByEmail(ctx, bulwark.NormalizeEmail(email))
					if err != nil {
						return bulwark.Errorf(bulwark.EINVALID, "--to-user %s: no such user", email)
					}
					req.Users = append(req.Users, u.ID)
				}
				o, err := svc.Publish(ctx, req)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(map[string]any{"id": o.STIXID, "version": o.Version, "collection": o.Collection, "marking": o.Marking})
				}
				fmt.Fprintf(e.stdout, "published %s as %s\n", o.String(), o.Marking.Label())
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&col, "collection", "", "collection id or alias (required)")
	cmd.Flags().StringVar(&as, "as", "", "the publishing user's e-mail (required)")
	cmd.Flags().StringVar(&marking, "marking", "", "clear, green, amber, amber+strict or red (default amber+strict: your organization only)")
	cmd.Flags().StringSliceVar(&orgs, "to", nil, "recipient organizations (amber: any number; amber+strict: one)")
	cmd.Flags().StringSliceVar(&users, "to-user", nil, "recipient users' e-mails (red)")
	addJSONFlag(cmd, e)
	return cmd
}

func newIntelObjectsCmd(e *env) *cobra.Command {
	var col string
	var all bool
	cmd := &cobra.Command{
		Use:   "objects",
		Short: "List the objects of a collection (TLP:CLEAR, GREEN and AMBER: the local operator never gets AMBER+STRICT or RED)",
		Long: `Objects lists a collection's objects as the local operator sees them: those
marked TLP:CLEAR, TLP:GREEN and TLP:AMBER. There is no --as here: reading as
someone else would be a way around TLP; users read through TAXII or the API.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if col == "" {
				return usageError{"--collection is required"}
			}
			return e.withSharing("", func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
				q := sharing.Query{Limit: sharing.MaxPageSize}
				if all {
					q.Versions = sharing.VersionFilter{All: true}
				}
				var items []sharing.Item
				next := ""
				for {
					page, err := svc.Manifest(ctx, col, q, next)
					if err != nil {
						return err
					}
					items = append(items, page.Items...)
					if !page.More {
						break
					}
					next = page.Next
				}
				if e.jsonOut {
					return e.printJSON(items)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tVERSION\tMARKING\tPUBLISHER\tADDED")
				for _, it := range items {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.STIXID, bulwark.FormatSTIXTime(it.Version), it.Marking.Label(), it.Publisher, bulwark.FormatTAXIITime(it.DateAdded))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&col, "collection", "", "collection id or alias (required)")
	cmd.Flags().BoolVar(&all, "all-versions", false, "every version, not only the latest")
	addJSONFlag(cmd, e)
	return cmd
}

func newIntelExportCmd(e *env) *cobra.Command {
	var col, out string
	var all bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export a collection as a STIX 2.1 bundle (what the local operator may see: CLEAR, GREEN, AMBER)",
		Long: `Export writes the collection's objects that the local operator may see —
TLP:CLEAR, TLP:GREEN and TLP:AMBER, never TLP:AMBER+STRICT or TLP:RED — as one
STIX 2.1 bundle, with the TLP marking-definitions they use.`,
		Example: "  bulwark share export --collection ot -o ot.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if col == "" {
				return usageError{"--collection is required"}
			}
			w := e.stdout
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("create %s: %w", out, err)
				}
				defer f.Close()
				w = f
			}
			return e.withSharing("", func(ctx context.Context, db *sqlstore.DB, svc *sharing.Service) error {
				n, err := svc.Export(ctx, col, all, w)
				if err != nil {
					return err
				}
				if out != "" && out != "-" && !e.quiet {
					fmt.Fprintf(e.stderr, "%d objects written to %s\n", n, out)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&col, "collection", "", "collection id or alias (required)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file (default: standard output)")
	cmd.Flags().BoolVar(&all, "all-versions", false, "every version, not only the latest")
	return cmd
}
