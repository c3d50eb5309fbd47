package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/sqlstore"
	"bulwark/internal/training"
)

func (e *env) withTraining(fn func(ctx context.Context, ts *training.Service) error) error {
	return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
		return fn(ctx, training.New(db, e.log))
	})
}

// parseDate reads an optional YYYY-MM-DD flag value.
func parseDate(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Sprintf("--%s %q: use YYYY-MM-DD", flag, s)}
	}
	return t, nil
}

func pct(r training.Rate) string {
	if !r.Measured {
		return "-"
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*r.Value, r.Num, r.Den)
}

func newTrainingCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "training",
		Short: "Awareness, education and training: campaigns, completions, phishing simulations, reach",
		Long: `Training campaigns of an organization: workforce courses with a due date,
phishing simulations and citizen awareness campaigns. Completion records and
phishing results are imported from the CSV exports of learning-management and
phishing platforms; people are kept only as keyed pseudonyms (never their
e-mail address). Rates: completion by the due date, click and report rates,
per organization and month. See docs/training.md.`,
	}
	cmd.AddCommand(newTrainingCampaignCmd(e), newTrainingImportCmd(e), newTrainingRatesCmd(e), newTrainingReachCmd(e), newTrainingForgetCmd(e))
	return cmd
}

func newTrainingCampaignCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "campaign", Short: "Create, list, show and delete campaigns"}
	var c bulwark.Campaign
	var kind, start, due string
	nw := &cobra.Command{
		Use:   "new",
		Short: "Create a campaign and print its ID",
		Example: `  bulwark training campaign new --org city-water --kind workforce --title "OT security basics" \
      --audience "plant operators" --audience-size 120 --course OT-101 --start 2026-03-01 --due 2026-03-31
  bulwark training campaign new --org city-water --kind phishing --title "Invoice lure" --start 2026-04-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if c.Org == "" {
				return usageError{"--org ORG is required: the organization whose campaign this is"}
			}
			c.Kind = bulwark.CampaignKind(kind)
			var err error
			if c.Start, err = parseDate("start", start); err != nil {
				return err
			}
			if c.Start.IsZero() {
				c.Start = time.Now().UTC().Truncate(24 * time.Hour)
			}
			if c.Due, err = parseDate("due", due); err != nil {
				return err
			}
			return e.withTraining(func(ctx context.Context, ts *training.Service) error {
				if err := ts.CreateCampaign(ctx, &c); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, c.ID)
				return nil
			})
		},
	}
	f := nw.Flags()
	f.StringVar(&c.Org, "org", "", "the organization whose campaign this is")
	f.StringVar(&c.ID, "id", "", "an ID of your choosing (default: generated)")
	f.StringVar(&kind, "kind", "workforce", "workforce, phishing or citizen")
	f.StringVar(&c.Title, "title", "", "title")
	f.StringVar(&c.Audience, "audience", "", "who is meant, e.g. \"all staff\"")
	f.Int64Var(&c.AudienceSize, "audience-size", 0, "how many people that is (0: the people with a record)")
	f.StringVar(&c.Course, "course", "", "the course")
	f.StringVar(&start, "start", "", "start date YYYY-MM-DD (default today)")
	f.StringVar(&due, "due", "", "due date YYYY-MM-DD (workforce campaigns: required)")

	var fOrg, fKind string
	var asCSV bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List campaigns with their rates, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTraining(func(ctx context.Context, ts *training.Service) error {
				vs, err := ts.List(ctx, bulwark.CampaignFilter{Org: fOrg, Kind: bulwark.CampaignKind(fKind)})
				if err != nil {
					return err
				}
				switch {
				case asCSV:
					return training.WriteCSV(e.stdout, vs)
				case e.jsonOut:
					return e.printJSON(vs)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tORG\tKIND\tSTART\tDUE\tCOMPLETION\tCLICK\tREPORT\tREACH\tTITLE")
				for _, v := range vs {
					reach := "-"
					if v.Campaign.Kind == bulwark.CampaignCitizen {
						reach = fmt.Sprint(v.Reach)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Campaign.ID, v.Campaign.Org, v.Campaign.Kind, day(v.Campaign.Start), day(v.Campaign.Due),
						pct(v.Completion), pct(v.Click), pct(v.Report), reach, oneLine(v.Campaign.Title, 50))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&fOrg, "org", "", "only this organization's")
	list.Flags().StringVar(&fKind, "kind", "", "only workforce, phishing or citizen campaigns")
	list.Flags().BoolVar(&asCSV, "csv", false, "print CSV (cells that could run as spreadsheet formulas are defused)")
	addJSONFlag(list, e)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a campaign, its counts and rates",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTraining(func(ctx context.Context, ts *training.Service) error {
				v, reach, err := ts.Campaign(ctx, args[0])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(struct {
						training.View
						Reach []bulwark.CitizenReach `json:"reach,omitempty"`
					}{v, reach})
				}
				c := v.Campaign
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "ID\t%s\nOrganization\t%s\nKind\t%s\nTitle\t%s\n", c.ID, c.Org, c.Kind, oneLine(c.Title, 200))
				if c.Audience != "" || c.AudienceSize > 0 {
					fmt.Fprintf(tw, "Audience\t%s (%d declared)\n", oneLine(c.Audience, 100), c.AudienceSize)
				}
				if c.Course != "" {
					fmt.Fprintf(tw, "Course\t%s\n", oneLine(c.Course, 100))
				}
				fmt.Fprintf(tw, "Start\t%s\nDue\t%s\n", day(c.Start), day(c.Due))
				switch c.Kind {
				case bulwark.CampaignWorkforce:
					state := "not yet due"
					if v.Due {
						state = "due day ended"
					}
					fmt.Fprintf(tw, "Records\t%d (%d completed, %d by the due date)\nAudience counted\t%d\nCompletion by due date\t%s, %s\n",
						v.Assigned, v.Completed, v.OnTime, v.Audience, pct(v.Completion), state)
				case bulwark.CampaignPhishing:
					fmt.Fprintf(tw, "Sent\t%d\nOpened\t%d\nClicked\t%d (%s)\nSubmitted data\t%d (%s)\nReported\t%d (%s)\n",
						v.Sent, v.Opened, v.Clicked, pct(v.Click), v.Submitted, pct(v.Submit), v.Reported, pct(v.Report))
				case bulwark.CampaignCitizen:
					fmt.Fprintf(tw, "People reached\t%d\n", v.Reach)
					for _, r := range reach {
						fmt.Fprintf(tw, "  %s\t%d (%s to %s)\n", oneLine(r.Channel, 60), r.People, day(r.From), day(r.To))
					}
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(show, e)

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a campaign with every record of it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTraining(func(ctx context.Context, ts *training.Service) error {
				return ts.DeleteCampaign(ctx, args[0])
			})
		},
	}
	cmd.AddCommand(nw, list, show, del)
	return cmd
}

func newTrainingImportCmd(e *env) *cobra.Command {
	var campaign string
	var maps []string
	cmd := &cobra.Command{
		Use:   "import completions|phishing FILE",
		Short: "Import completion records or phishing results from a CSV export",
		Long: `Import merges a CSV export into a campaign, all or nothing: every problem is
reported with its line and column, and nothing is stored when there is one.
Columns are recognized by the names LMS and phishing-platform exports use
(email, completion date, score, status; GoPhish's status, send_date,
modified_date; delivered / opened / clicked / reported times); others are
ignored and listed. --map names yours. The e-mail address or staff number of
each row is turned into a keyed pseudonym at once and never stored.`,
		Example: `  bulwark training import completions lms-export.csv --campaign cmp-1a2b
  bulwark training import phishing gophish-results.csv --campaign cmp-3c4d
  bulwark training import completions hr.csv --campaign cmp-1a2b --map Mitarbeiter=person --map Abschluss=completed_at`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := args[0]
			if kind != training.Completions && kind != training.Phishing {
				return usageError{fmt.Sprintf("import %q: use completions or phishing", kind)}
			}
			if campaign == "" {
				return usageError{"--campaign ID is required"}
			}
			opt := training.ReadOptions{Columns: map[string]string{}}
			for _, m := range maps {
				h, field, ok := strings.Cut(m, "=")
				if !ok || strings.TrimSpace(h) == "" || field == "" {
					return usageError{fmt.Sprintf("--map %q: use HEADER=FIELD (FIELD \"-\" ignores the column)", m)}
				}
				opt.Columns[h] = strings.TrimSpace(field)
			}
			f, err := os.Open(args[1])
			if err != nil {
				return err
			}
			defer f.Close()
			bar := e.newProgress(-1, "rows", false)
			opt.Progress = func(n int) { bar.Set(int64(n), -1) }
			return e.withTraining(func(ctx context.Context, ts *training.Service) error {
				res, err := ts.Import(ctx, campaign, kind, args[1], f, opt)
				bar.Done()
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(res)
				}
				fmt.Fprintf(e.stdout, "%s: %d rows: %d created, %d updated, %d unchanged\n", res.Campaign, res.Rows, res.Created, res.Updated, res.Unchanged)
				if len(res.Ignored) > 0 && !e.quiet {
					fmt.Fprintf(e.stderr, "columns not read: %s\n", strings.Join(res.Ignored, ", "))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&campaign, "campaign", "", "the campaign to import into")
	cmd.Flags().StringArrayVar(&maps, "map", nil, "HEADER=FIELD: read a column as person, completed_at, score, status (completions) or sent_at, opened_at, clicked_at, submitted_at, reported_at, status, event_at (phishing); FIELD - ignores it")
	addJSONFlag(cmd, e)
	return cmd
}

func newTrainingRatesCmd(e *env) *cobra.Command {
	var org string
	var months int
	cmd := &cobra.Command{
		Use:   "rates",
		Short: "Completion, click and report rates per organization and month",
		Long: `Rates over the last 365 days per organization: people who completed their
course by its due day over the audience (workforce campaigns whose due day has
ended), and the shares of phishing e-mails clicked and reported; then month by
month (workforce campaigns by their due month, phishing by their start month).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withTraining(func(ctx context.Context, ts *training.Service) error {
				d, err := ts.Rates(ctx, bulwark.CampaignFilter{Org: org}, months)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(d)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ORG\tCAMPAIGNS\tCOMPLETION BY DUE DATE\tCLICK\tREPORT\tREACH")
				for _, o := range d.ByOrg {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\n", o.Org, o.Campaigns, pct(o.Completion), pct(o.Click), pct(o.Report), o.Reach)
				}
				fmt.Fprintf(tw, "all\t%d\t%s\t%s\t%s\t%d\n", d.Total.Campaigns, pct(d.Total.Completion), pct(d.Total.Click), pct(d.Total.Report), d.Total.Reach)
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout)
				tw = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ORG\tMONTH\tCOMPLETION\tCLICK\tREPORT")
				for _, s := range d.Series {
					for _, p := range s.Points {
						if p.Completion.Measured || p.Click.Measured {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Org, p.Month, pct(p.Completion), pct(p.Click), pct(p.Report))
						}
					}
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "only this organization")
	cmd.Flags().IntVar(&months, "months", 12, "months of history (1-120)")
	addJSONFlag(cmd, e)
	return cmd
}

func newTrainingReachCmd(e *env) *cobra.Command {
	var r bulwark.CitizenReach
	var from, to string
	cmd := &cobra.Command{
		Use:     "reach CAMPAIGN",
		Short:   "Record how many people a channel of a citizen campaign reached",
		Example: `  bulwark training reach cmp-5e6f --channel "local radio" --people 42000 --from 2026-05-01 --to 2026-05-14`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if r.From, err = parseDate("from", from); err != nil {
				return err
			}
			if r.To, err = parseDate("to", to); err != nil {
				return err
			}
			return e.withTraining(func(ctx context.Context, ts *training.Service) error {
				return ts.AddReach(ctx, args[0], []bulwark.CitizenReach{r})
			})
		},
	}
	cmd.Flags().StringVar(&r.Channel, "channel", "", "the channel (radio, posters, workshops…)")
	cmd.Flags().Int64Var(&r.People, "people", 0, "people reached")
	cmd.Flags().StringVar(&from, "from", "", "first day YYYY-MM-DD")
	cmd.Flags().StringVar(&to, "to", "", "last day YYYY-MM-DD")
	return cmd
}

func newTrainingForgetCmd(e *env) *cobra.Command {
	var org string
	cmd := &cobra.Command{
		Use:   "forget IDENTIFIER",
		Short: "Remove every training record of one person (e-mail address or staff number)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if org == "" {
				return usageError{"--org ORG is required"}
			}
			return e.withTraining(func(ctx context.Context, ts *training.Service) error {
				n, err := ts.Forget(ctx, org, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%d record(s) removed\n", n)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the person's organization")
	return cmd
}
