package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/notify"
	"bulwark/internal/sqlstore"
)

func newNotifyCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Incident notifications: the matrix, the outbox, acknowledgements",
		Long: `Notifications tell the incident's organization, partner operators, state and
federal CERTs, ISACs and the public about incidents, as the notification
matrix says: at which severity and purview, whom, through which channel
(e-mail, signed webhook), with which template, acknowledged by when.
"bulwark serve" delivers them, retries failures and escalates those not
acknowledged in time. See docs/notifications.md.`,
	}
	cmd.AddCommand(newNotifyListCmd(e), newNotifyShowCmd(e), newNotifyAckCmd(e), newNotifyMatrixCmd(e))
	return cmd
}

func newNotifyListCmd(e *env) *cobra.Command {
	var f bulwark.NotificationFilter
	var status, audience string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List notifications, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Status, f.Audience = bulwark.NotificationStatus(status), bulwark.NotifyAudience(audience)
			if f.Limit < 0 || f.Limit > 100_000 {
				return usageError{"--limit must be 0 (all) to 100000"}
			}
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				var all []bulwark.Notification
				want := f.Limit
				f.Limit = bulwark.MaxPageSize
				for {
					p, err := db.ListNotifications(ctx, f)
					if err != nil {
						return err
					}
					all = append(all, p.Items...)
					if p.Next == "" || (want > 0 && len(all) >= want) {
						break
					}
					f.After = p.Next
				}
				if want > 0 && len(all) > want {
					all = all[:want]
				}
				if e.jsonOut {
					if all == nil {
						all = []bulwark.Notification{}
					}
					return e.printJSON(all)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tAUDIENCE\tRULE\tTO\tINCIDENT\tATTEMPTS\tDUE\tSUBJECT")
				for _, n := range all {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", n.ID, n.Status, n.Audience, n.Rule, oneLine(n.Address, 40),
						n.IncidentID, n.Attempts, stamp(n.DueBy), oneLine(n.Subject, 60))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only pending, sent, failed, acknowledged or escalated")
	cmd.Flags().StringVar(&audience, "audience", "", "only internal, partner, cert, isac or public")
	cmd.Flags().StringVar(&f.Incident, "incident", "", "only this incident's")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "at most this many (0: all)")
	addJSONFlag(cmd, e)
	return cmd
}

// stamp writes a time to the minute, "-" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func newNotifyShowCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a notification with its message and delivery log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				d, err := notify.New(db, nil, notify.Config{}, e.log).Find(ctx, args[0])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(d)
				}
				w := e.stdout
				fmt.Fprintf(w, "%s  %s\nincident %s of %s, rule %s (%s), %s to %s", d.ID, d.Status, d.IncidentID, d.Org, d.Rule, d.Audience, d.Channel, d.Address)
				if d.RecipientOrg != "" {
					fmt.Fprintf(w, " (%s)", d.RecipientOrg)
				}
				fmt.Fprintf(w, "\ncreated %s, due %s, sent %s, acknowledged %s %s\n", stamp(d.CreatedAt), stamp(d.DueBy), stamp(d.SentAt), stamp(d.AckAt), d.AckBy)
				if d.EscalatedFrom != "" {
					fmt.Fprintf(w, "escalates %s\n", d.EscalatedFrom)
				}
				if !d.EscalatedAt.IsZero() {
					fmt.Fprintf(w, "escalated %s\n", stamp(d.EscalatedAt))
				}
				fmt.Fprintf(w, "\nSubject: %s\n\n%s\n", d.Subject, d.Body)
				for _, a := range d.Log {
					fmt.Fprintf(w, "attempt %d  %s  %s  %s\n", a.Attempt, stamp(a.At), a.Outcome, a.Error)
				}
				if d.LastError != "" && len(d.Log) == 0 {
					fmt.Fprintf(w, "%s\n", d.LastError)
				}
				return nil
			})
		},
	}
	addJSONFlag(cmd, e)
	return cmd
}

func newNotifyAckCmd(e *env) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "ack ID...",
		Short: "Record that notifications were acknowledged (by phone, say)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(by) == "" {
				return usageError{"--by NAME is required: who acknowledged"}
			}
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				p := bulwark.SystemPrincipal()
				p.Name = "cli: " + oneLine(by, 100)
				ctx = bulwark.WithPrincipal(ctx, p)
				for _, id := range args {
					n, err := db.AckNotification(ctx, id, time.Now())
					if err != nil {
						return fmt.Errorf("%s: %w", id, err)
					}
					fmt.Fprintf(e.stdout, "%s\tacknowledged by %s\n", n.ID, n.AckBy)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who acknowledged (recorded in the notification and the audit log)")
	return cmd
}

func newNotifyMatrixCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Check and show notification matrices",
	}
	validate := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check matrix files: every problem, with its line",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := 0
			for _, path := range args {
				m, err := readMatrix(path)
				if err != nil {
					failed++
					fmt.Fprintf(e.stderr, "%s\n", err)
					continue
				}
				secrets := "none"
				if s := m.Secrets(); len(s) > 0 {
					secrets = strings.Join(s, ", ") + " (set " + notify.EnvWebhookPrefix + "<NAME>)"
				}
				fmt.Fprintf(e.stdout, "%s: ok — %d rules, webhook secrets: %s\n", path, len(m.Rules), secrets)
			}
			if failed > 0 {
				return bulwark.Errorf(bulwark.EINVALID, "%d of %d matrix files have problems", failed, len(args))
			}
			return nil
		},
	}
	var asYAML bool
	var template string
	show := &cobra.Command{
		Use:   "show [FILE]",
		Short: "Show a matrix (the bundled one without FILE): rules, or --yaml to adapt it",
		Example: `  bulwark notify matrix show                       # the bundled matrix, as a table
  bulwark notify matrix show --yaml > plan.yaml    # a copy to adapt
  bulwark notify matrix validate plan.yaml
  bulwark serve --notify-matrix plan.yaml
  bulwark notify matrix show --template public     # a bundled template's source`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if template != "" {
				src, ok := notify.BundledTemplate(template)
				if !ok {
					return bulwark.Errorf(bulwark.EINVALID, "no bundled template %q (bundled: %s)", template, strings.Join(notify.BundledTemplateNames(), ", "))
				}
				_, err := fmt.Fprint(e.stdout, src)
				return err
			}
			m := notify.DefaultMatrix()
			if len(args) == 1 {
				var err error
				if m, err = readMatrix(args[0]); err != nil {
					return err
				}
			}
			switch {
			case asYAML:
				_, err := e.stdout.Write(m.Source)
				return err
			case e.jsonOut:
				return e.printJSON(m.Doc())
			}
			fmt.Fprintf(e.stdout, "%s (revision %s)\n\n", m.Name, m.Revision)
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RULE\tAUDIENCE\tFROM SEVERITY\tPURVIEWS\tEVENTS\tRECIPIENTS\tCHANNEL\tTEMPLATE\tACK WITHIN\tESCALATE TO")
			for _, r := range m.Rules {
				fmt.Fprintf(tw, "%s\t%s\t%d %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Audience, r.MinSeverity, notify.SeverityName(r.MinSeverity),
					listOr(purviewStrings(r.Purviews), "any"), listOr(kindStrings(r.Events), "all"), recipientsText(r.Recipients), r.Channel, r.Template,
					dashIfEmpty(citymodel.FormatDuration(r.Deadline)), listOr(r.EscalateTo, "-"))
			}
			return tw.Flush()
		},
	}
	show.Flags().BoolVar(&asYAML, "yaml", false, "print the matrix file itself")
	show.Flags().StringVar(&template, "template", "", "print the source of this bundled template")
	addJSONFlag(show, e)
	cmd.AddCommand(validate, show)
	return cmd
}

func readMatrix(path string) (*notify.Matrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return notify.ParseMatrix(bytes.NewReader(b), path)
}

func listOr(list []string, none string) string {
	if len(list) == 0 {
		return none
	}
	return strings.Join(list, ",")
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func purviewStrings(ps []bulwark.Purview) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func kindStrings(ks []bulwark.NotifyEventKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// recipientsText summarizes recipient selectors: "@incident", "purview
// state (role cyber)", "soc@city.example", "webhook isac.example".
func recipientsText(rs []bulwark.NotifyRecipient) string {
	var parts []string
	for _, r := range rs {
		var s string
		switch {
		case r.URL != "":
			s = "webhook " + r.URL
		case r.Email != "":
			s = r.Email
		case r.Purview != "":
			s = "purview " + string(r.Purview)
		default:
			s = r.Org
		}
		if r.Role != "" && r.Role != "*" {
			s += " (role " + strconv.Quote(r.Role) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// addNotifyFlags adds serve's notification flags; each defaults to its
// environment variable. Secrets are read from the environment only
// (BULWARK_SMTP_PASSWORD, BULWARK_NOTIFY_ACK_KEY, BULWARK_WEBHOOK_SECRET_*):
// flags show in the process list.
func addNotifyFlags(cmd *cobra.Command, s *notify.Settings) {
	env := os.Getenv
	port, _ := strconv.Atoi(env("BULWARK_SMTP_PORT"))
	f := cmd.Flags()
	f.StringVar(&s.MatrixFile, "notify-matrix", env("BULWARK_NOTIFY_MATRIX"), "notification matrix file (env BULWARK_NOTIFY_MATRIX; default the bundled one)")
	f.DurationVar(&s.Every, "notify-every", 15*time.Second, "deliver, retry and escalate notifications at this interval (0: not in this instance)")
	f.StringVar(&s.PublicURL, "public-url", env("BULWARK_PUBLIC_URL"), "where recipients reach this server, for ack links in notifications (env BULWARK_PUBLIC_URL)")
	f.StringVar(&s.SMTP.Host, "smtp-host", env("BULWARK_SMTP_HOST"), "SMTP server for e-mail notifications (env BULWARK_SMTP_HOST; none: e-mails wait)")
	f.IntVar(&s.SMTP.Port, "smtp-port", port, "SMTP port (env BULWARK_SMTP_PORT; default 587, 465 with --smtp-tls tls)")
	f.StringVar(&s.SMTP.From, "smtp-from", env("BULWARK_SMTP_FROM"), "sender address of notifications (env BULWARK_SMTP_FROM)")
	f.StringVar(&s.SMTP.Username, "smtp-user", env("BULWARK_SMTP_USER"), "SMTP user (env BULWARK_SMTP_USER; the password only from BULWARK_SMTP_PASSWORD)")
	f.StringVar(&s.SMTP.TLS, "smtp-tls", env("BULWARK_SMTP_TLS"), "starttls (when offered; default), require-starttls, tls (implicit) or none (this machine only)")
	f.DurationVar(&s.SMTP.Timeout, "smtp-timeout", 30*time.Second, "longest time one e-mail delivery may take")
	f.DurationVar(&s.Webhook.Timeout, "webhook-timeout", 10*time.Second, "longest time one webhook delivery may take")
}
