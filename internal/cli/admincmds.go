package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/sqlstore"
)

func newInitCmd(e *env) *cobra.Command {
	var (
		org     bulwark.Organization
		purview string
		email   string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the store (and optionally the first organization and its admin)",
		Long: `Init creates the store named by --db and applies its migrations. With
--org and --admin it also creates that organization and an admin user whose
password is printed once.`,
		Example: "  bulwark init\n  bulwark --db city.db init --org city-ciso --org-name \"Office of the CISO\" --admin ana@example.org",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				fmt.Fprintf(e.stdout, "store ready (%s)\n", db.Dialect())
				if org.ID == "" && email == "" {
					return nil
				}
				if org.ID == "" || email == "" {
					return usageError{"--org and --admin go together"}
				}
				org.Purview = bulwark.Purview(purview)
				if org.Name == "" {
					org.Name = org.ID
				}
				tx, err := db.BeginImport(ctx)
				if err != nil {
					return err
				}
				if err := tx.PutOrganizations(ctx, []bulwark.Organization{org}); err != nil {
					tx.Rollback()
					return err
				}
				if _, err := tx.Commit(ctx); err != nil {
					return err
				}
				u := &userAdd{org: org.ID, email: email, role: bulwark.RoleAdmin}
				return u.run(ctx, e, db)
			})
		},
	}
	cmd.Flags().StringVar(&org.ID, "org", "", "ID of the first organization")
	cmd.Flags().StringVar(&org.Name, "org-name", "", "its name")
	cmd.Flags().StringVar(&purview, "purview", string(bulwark.PurviewCity), "its purview: city, private, state, federal, isac or academic")
	cmd.Flags().StringVar(&email, "admin", "", "e-mail of its first admin")
	return cmd
}

func newMigrateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (also done automatically on every start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				if err := db.Migrate(ctx); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s store is up to date\n", db.Dialect())
				return nil
			})
		},
	}
}

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Inspect and verify the hash-chained audit log"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check that no audit entry was edited, removed or reordered",
		Long: `Verify recomputes the hash chain of the whole audit log. Any edited,
deleted or reordered entry breaks the chain and is reported with its sequence
number. Give --head with a hash recorded earlier (printed by every verify) to
detect truncation of the newest entries too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			head, _ := cmd.Flags().GetString("head")
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				var (
					prev    string
					prevSeq int64
					total   int
					sawHead = head == ""
				)
				for {
					page, err := db.ListAudit(ctx, prevSeq, 5000)
					if err != nil {
						return err
					}
					if len(page) == 0 {
						break
					}
					n, problem := bulwark.VerifyAudit(page, prev, prevSeq)
					total += n
					if problem != "" {
						return bulwark.Errorf(bulwark.ECONFLICT, "audit log is broken after %d good entries: %s", total, problem)
					}
					for _, en := range page {
						if en.Hash == head {
							sawHead = true
						}
					}
					last := page[len(page)-1]
					prev, prevSeq = last.Hash, last.Seq
				}
				if !sawHead {
					return bulwark.Errorf(bulwark.ECONFLICT, "audit log does not contain the recorded head %s: entries were removed", head)
				}
				fmt.Fprintf(e.stdout, "audit log intact: %d entries, head %s\n", total, orDash(prev))
				return nil
			})
		},
	}
	verify.Flags().String("head", "", "a head hash recorded earlier that must still be in the log")

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "Print the newest audit entries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				var all []bulwark.AuditEntry
				var after int64
				for {
					page, err := db.ListAudit(ctx, after, 5000)
					if err != nil {
						return err
					}
					if len(page) == 0 {
						break
					}
					all = append(all, page...)
					if len(all) > limit {
						all = all[len(all)-limit:]
					}
					after = page[len(page)-1].Seq
				}
				if e.jsonOut {
					out := make([]map[string]any, len(all))
					for i, a := range all {
						out[i] = map[string]any{"seq": a.Seq, "at": a.At.UTC().Format(time.RFC3339Nano), "org": a.Org, "actor": a.Actor,
							"action": a.Action, "target": a.Target, "outcome": a.Outcome, "detail": a.Detail, "hash": a.Hash}
					}
					return json.NewEncoder(e.stdout).Encode(out)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tAT\tORG\tACTOR\tACTION\tTARGET\tOUTCOME")
				for _, a := range all {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Seq, a.At.UTC().Format(time.RFC3339), orDash(a.Org), a.Actor, a.Action, orDash(a.Target), a.Outcome)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 50, "number of newest entries")
	addJSONFlag(list, e)
	cmd.AddCommand(verify, list)
	return cmd
}
