package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/intelfeed"
	"bulwark/internal/sharing"
	"bulwark/internal/sqlstore"
)

// newShareCmd is "bulwark share": intel sharing with partners —
// communities, TAXII collections, STIX objects under TLP 2.0, publications
// of Bulwark's own data and subscriptions to partners' feeds. "intel" is
// an alias, so that "bulwark intel ..." keeps working.
func newShareCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "share",
		Aliases: []string{"intel"},
		Short:   "Intel sharing: communities, TAXII collections, STIX objects under TLP 2.0, partner feeds",
		Long: `Organizations share STIX 2.1 intel in collections of their sharing
communities, marked with TLP 2.0; "bulwark serve" serves the collections
over TAXII 2.1 at /taxii2/. See docs/sharing.md for who sees what.

Publish one STIX object with "publish", a bundle with "import", and
Bulwark's own data — advisories, a findings summary, an incident — with
"publish-advisories", "publish-findings" and "publish-incident": these take a
marking and never a default, and carry no asset ids or host names.
"feeds" subscribes to partners' TAXII collections (docs/feeds.md).

Commands that publish act as a user (--as EMAIL): the object's publishing
organization and user (audited as "cli:EMAIL"). Otherwise commands act as the
local operator, who manages everything but never receives TLP:AMBER+STRICT or
TLP:RED content; no command reads objects as another user.

"bulwark intel" is the same command under its former name.`,
		Example: `  bulwark share community create metro-isac --name "Metro ISAC" --owner city-ciso --member city-water,port-authority
  bulwark share collection create --community metro-isac --title "OT indicators" --alias ot
  bulwark share publish-findings --collection ot --as ana@water.example --marking amber+strict
  bulwark share feeds list --json`,
	}
	cmd.AddCommand(newIntelCommunityCmd(e), newIntelCollectionCmd(e), newIntelImportCmd(e), newIntelPublishCmd(e), newIntelObjectsCmd(e), newIntelExportCmd(e),
		newFeedsSubCmd(e), newIntelPublishAdvisoriesCmd(e), newIntelPublishFindingsCmd(e), newIntelPublishIncidentCmd(e))
	return cmd
}

// withFeeds opens the store, the sharing service and the feed service
// (without a job queue), acting as the local operator or, with as, as
// that user.
func (e *env) withFeeds(as string, fn func(ctx context.Context, db *sqlstore.DB, fs *intelfeed.Service) error) error {
	return e.withSharing(as, func(ctx context.Context, db *sqlstore.DB, sh *sharing.Service) error {
		fs := intelfeed.New(db, sh, intelfeed.Config{DSN: e.db, AllowLoopback: os.Getenv(intelfeed.AllowLoopbackEnv) == "1"}, e.log)
		return fn(ctx, db, fs)
	})
}

// findFeed resolves a feed by id, or by name (within --org, or the
// acting user's organization).
func findFeed(ctx context.Context, fs *intelfeed.Service, ref, org string) (*bulwark.IntelFeed, error) {
	if strings.HasPrefix(ref, "feed-") {
		if f, err := fs.Find(ctx, ref); err == nil {
			return f, nil
		}
	}
	list, err := fs.List(ctx)
	if err != nil {
		return nil, err
	}
	var hits []bulwark.IntelFeed
	for _, f := range list {
		if f.Name == ref && (org == "" || f.Org == org) {
			hits = append(hits, f)
		}
	}
	switch len(hits) {
	case 0:
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "feed %q not found", ref)
	case 1:
		return &hits[0], nil
	}
	return nil, bulwark.Errorf(bulwark.EINVALID, "%d organizations have a feed named %q: give --org or the feed's id", len(hits), ref)
}

// readSecret reads a password or token from an environment variable, a
// file, or standard input: never from the command line, where other users
// of the machine could read it.
func (e *env) readSecret(envVar, file string, stdin bool) (string, error) {
	n := 0
	for _, set := range []bool{envVar != "", file != "", stdin} {
		if set {
			n++
		}
	}
	if n > 1 {
		return "", usageError{"give the secret one way: --secret-env, --secret-file or --secret-stdin"}
	}
	switch {
	case envVar != "":
		v, ok := os.LookupEnv(envVar)
		if !ok || v == "" {
			return "", usageError{fmt.Sprintf("--secret-env %s: the variable is not set", envVar)}
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case stdin:
		b, err := io.ReadAll(io.LimitReader(e.stdin, 8192))
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

func newFeedsSubCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feeds",
		Short: "Subscriptions to partners' TAXII 2.1 collections",
		Long: `A feed pulls a partner's TAXII 2.1 collection into one of Bulwark's
collections: objects keep their TLP marking (a partner's TLP:AMBER stays in
the subscribing organization; nothing is ever held lower than before) and
record the feed as their source. "bulwark serve" pulls each feed on its
interval; failures are retried with back-off.

Administrators of the owning organization manage its feeds (--as EMAIL); the
local operator may too, naming the organization (--org). Passwords and tokens
are read from an environment variable, a file or standard input, sealed
before they are stored, and never shown.`,
	}
	var in intelfeed.Input
	var as, auth, marking, caFile, secretEnv, secretFile, owner string
	var secretStdin bool
	var interval time.Duration
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Subscribe to a partner's collection",
		Example: `  ISAC_TOKEN=… bulwark share feeds add "ISAC indicators" --as ana@city.example \
      --server https://isac.example/taxii2/ --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 \
      --target 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9 --auth bearer --secret-env ISAC_TOKEN --interval 1h`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Name, in.Auth, in.Interval = args[0], bulwark.FeedAuth(auth), interval
			if marking != "" {
				m, ok := bulwark.ParseTLP(marking)
				if !ok {
					return usageError{fmt.Sprintf("--min-marking %q: use clear, green, amber, amber+strict or red", marking)}
				}
				in.MinMarking = m
			}
			if caFile != "" {
				b, err := os.ReadFile(caFile)
				if err != nil {
					return fmt.Errorf("read the CA certificate: %w", err)
				}
				in.CACert = string(b)
			}
			secret, err := e.readSecret(secretEnv, secretFile, secretStdin)
			if err != nil {
				return err
			}
			switch in.Auth {
			case bulwark.FeedAuthBasic:
				in.Password = secret
			case bulwark.FeedAuthBearer:
				in.Token = secret
			default:
				if secret != "" {
					return usageError{"a secret needs --auth basic or bearer"}
				}
			}
			return e.withFeeds(as, func(ctx context.Context, db *sqlstore.DB, fs *intelfeed.Service) error {
				if owner != "" {
					u, err := db.FindUserByEmail(ctx, bulwark.NormalizeEmail(owner))
					if err != nil {
						return bulwark.Errorf(bulwark.EINVALID, "--owner %s: no such user", owner)
					}
					in.Owner = u.ID
				}
				f, err := fs.Add(ctx, in)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(f)
				}
				fmt.Fprintf(e.stdout, "feed %s (%q) of %s: pulled every %s into %s\n", f.ID, f.Name, f.Org, f.Interval, f.Target)
				return nil
			})
		},
	}
	fl := add.Flags()
	fl.StringVar(&as, "as", "", "act as this user (an administrator of the owning organization)")
	fl.StringVar(&in.Org, "org", "", "owning organization (the local operator only; --as implies the user's)")
	fl.StringVar(&owner, "owner", "", "the user TLP:RED objects of the feed reach (the local operator only; default: --as)")
	fl.StringVar(&in.ServerURL, "server", "", "the partner's TAXII discovery URL (https://…/taxii2/)")
	fl.StringVar(&in.APIRoot, "api-root", "", "API root URL or path (default: the discovery's default)")
	fl.StringVar(&in.Collection, "collection", "", "the partner's collection id")
	fl.StringVar(&in.Target, "target", "", "the Bulwark collection (id) to import into")
	fl.StringVar(&in.Description, "description", "", "what the feed is")
	fl.StringVar(&auth, "auth", "none", "none, basic (--username and a password) or bearer (a token)")
	fl.StringVar(&in.Username, "username", "", "HTTP Basic username")
	fl.StringVar(&secretEnv, "secret-env", "", "read the password or token from this environment variable")
	fl.StringVar(&secretFile, "secret-file", "", "read the password or token from this file")
	fl.BoolVar(&secretStdin, "secret-stdin", false, "read the password or token from standard input")
	fl.StringVar(&caFile, "ca-cert", "", "PEM file of the partner's CA (when not a public CA)")
	fl.StringVar(&marking, "min-marking", "", "least TLP of imported objects (e.g. amber+strict)")
	fl.DurationVar(&interval, "interval", bulwark.DefaultIntelFeedInterval, "time between scheduled pulls (5m to 168h)")
	fl.BoolVar(&in.Paused, "paused", false, "add it paused (no scheduled pulls)")
	addJSONFlag(add, e)

	var listAs, listOrg string
	list := &cobra.Command{
		Use:   "list",
		Short: "List feeds and where their pulls stand",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withFeeds(listAs, func(ctx context.Context, db *sqlstore.DB, fs *intelfeed.Service) error {
				all, err := fs.List(ctx)
				if err != nil {
					return err
				}
				var out []bulwark.IntelFeed
				for _, f := range all {
					if listOrg == "" || f.Org == listOrg {
						out = append(out, f)
					}
				}
				if e.jsonOut {
					if out == nil {
						out = []bulwark.IntelFeed{}
					}
					return e.printJSON(out)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tORG\tNAME\tSTATUS\tLAST SUCCESS\tNEXT PULL\tIMPORTED\tLAST ERROR")
				for _, f := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", f.ID, f.Org, oneLineCLI(f.Name, 40), f.Status(), cliTime(f.LastSuccess),
						cliTime(f.NextPull), f.Imported, oneLineCLI(f.LastError, 60))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&listAs, "as", "", "list as this user (its organization's feeds)")
	list.Flags().StringVar(&listOrg, "org", "", "only this organization's feeds")
	addJSONFlag(list, e)

	var pullAs, pullOrg string
	pull := &cobra.Command{
		Use:   "pull ID|NAME",
		Short: "Pull a feed now and wait for it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withFeeds(pullAs, func(ctx context.Context, db *sqlstore.DB, fs *intelfeed.Service) error {
				f, err := findFeed(ctx, fs, args[0], pullOrg)
				if err != nil {
					return err
				}
				bar := e.newProgress(-1, "pulling "+oneLineCLI(f.Name, 30), false)
				res, err := fs.Pull(ctx, f.ID, func(p intelfeed.Progress) { bar.Set(int64(p.Objects), 0) })
				bar.Done()
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(map[string]any{"feed": f.ID, "pages": res.Pages, "objects": res.Objects, "new": res.New, "already_held": res.Duplicates,
						"refused": res.Rejected, "more": res.More, "cursor": res.Cursor, "error": errText(res.Err)})
				}
				fmt.Fprintf(e.stdout, "%s: %d pages, %d objects read, %d new versions, %d already held, %d refused; cursor %s\n",
					f.Name, res.Pages, res.Objects, res.New, res.Duplicates, res.Rejected, cliTime(res.Cursor))
				if res.More {
					fmt.Fprintln(e.stdout, "more to read: the next pull goes on from here")
				}
				return res.Err
			})
		},
	}
	pull.Flags().StringVar(&pullAs, "as", "", "act as this user (an administrator of the owning organization)")
	pull.Flags().StringVar(&pullOrg, "org", "", "the organization whose feed NAME is")
	addJSONFlag(pull, e)

	var rmAs, rmOrg string
	remove := &cobra.Command{
		Use:   "remove ID|NAME",
		Short: "Remove a feed (what it imported stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withFeeds(rmAs, func(ctx context.Context, db *sqlstore.DB, fs *intelfeed.Service) error {
				f, err := findFeed(ctx, fs, args[0], rmOrg)
				if err != nil {
					return err
				}
				if err := fs.Remove(ctx, f.ID); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "feed %s (%q) removed; its %d imported object versions stay\n", f.ID, f.Name, f.Imported)
				return nil
			})
		},
	}
	remove.Flags().StringVar(&rmAs, "as", "", "act as this user (an administrator of the owning organization)")
	remove.Flags().StringVar(&rmOrg, "org", "", "the organization whose feed NAME is")

	cmd.AddCommand(add, list, pull, remove)
	return cmd
}

func cliTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return bulwark.ErrorMessage(err)
}

// oneLineCLI keeps a table cell on one line and short.
func oneLineCLI(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return bulwark.Abbrev(s, n)
}
