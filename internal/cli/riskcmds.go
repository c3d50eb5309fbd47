package cli

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/attack"
	"bulwark/internal/risk"
	"bulwark/internal/sqlstore"
)

func (e *env) withRisks(fn func(ctx context.Context, rs *risk.Service) error) error {
	return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
		return fn(ctx, risk.New(db, e.log))
	})
}

func newRisksCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "risks",
		Short: "The risk register: scenarios, 5×5 and FAIR-style estimates, treatments",
		Long: `The risk register keeps each risk's scenario, the ATT&CK technique behind it,
the services and systems it would hit, likelihood and impact (1-5 each) and,
for quantitative analysis, annual frequency and loss per event as three-point
ranges; its treatment (mitigate, accept, transfer, avoid), owner and due
date; and linked findings and assessment gaps. Every change is a revision;
an acceptance expires and re-opens the risk.`,
	}
	var owner string
	add := &cobra.Command{
		Use:   "add FILE",
		Short: "Add the risks of a YAML register file",
		Example: `  bulwark risks add register.yaml --owner city-water    # with documents like:
    id: water-ransomware
    title: Ransomware stops the water SCADA
    techniques: [T0866, T0882]
    services: [water-supply]
    likelihood: 3
    impact: 5
    frequency: {min: 0.05, most_likely: 0.2, max: 1}        # events a year
    loss: {min: 100000, most_likely: 800000, max: 5000000}  # per event
    treatment: mitigate
    due: 2027-03-31`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if owner == "" {
				return usageError{"--owner ORG is required: the organization whose risks these are"}
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			list, err := risk.ParseFile(f, args[0])
			if err != nil {
				return err
			}
			return e.withRisks(func(ctx context.Context, rs *risk.Service) error {
				for i := range list {
					list[i].Owner = owner
					v, err := rs.Create(ctx, &list[i])
					if err != nil {
						return fmt.Errorf("%s: risk %d (%q): %w (the risks before it were added)", args[0], i+1, oneLine(list[i].Title, 60), err)
					}
					fmt.Fprintf(e.stdout, "%s\t%s\t%d (%s)\n", v.ID, oneLine(v.Title, 60), v.Score, v.Level)
				}
				return nil
			})
		},
	}
	add.Flags().StringVar(&owner, "owner", "", "the organization whose risks these are")

	var fOwner, fStatus, fService string
	list := &cobra.Command{
		Use:   "list",
		Short: "List risks, highest score first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withRisks(func(ctx context.Context, rs *risk.Service) error {
				vs, err := rs.List(ctx, bulwark.RiskFilter{Owner: fOwner, Status: bulwark.RiskStatus(fStatus), Service: fService})
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(vs)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tOWNER\tSCORE\tLEVEL\tSTATUS\tTREATMENT\tDUE\tTITLE")
				for _, v := range vs {
					status := string(v.Status)
					if v.Expired {
						status = "accepted (expired)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Owner, v.Score, v.Level, status, v.Treatment, day(v.Due), oneLine(v.Title, 60))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&fOwner, "owner", "", "only this organization's")
	list.Flags().StringVar(&fStatus, "status", "", "only risks in this status")
	list.Flags().StringVar(&fService, "service", "", "only risks to this service")
	addJSONFlag(list, e)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a risk",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withRisks(func(ctx context.Context, rs *risk.Service) error {
				v, err := rs.Find(ctx, args[0])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(v)
				}
				fmt.Fprintf(e.stdout, "%s  %s\nowner %s · score %d (%s: likelihood %d × impact %d) · %s · revision %d by %s\n",
					v.ID, v.Title, v.Owner, v.Score, v.Level, v.Likelihood, v.Impact, v.Status, v.Rev, v.UpdatedBy)
				if v.Scenario != "" {
					fmt.Fprintf(e.stdout, "\n%s\n", v.Scenario)
				}
				for _, t := range v.Reference {
					fmt.Fprintf(e.stdout, "threat: %s %s\n", t.ID, t.Name)
				}
				if len(v.Services)+len(v.Systems) > 0 {
					fmt.Fprintf(e.stdout, "hits: %s\n", strings.Join(append(append([]string{}, v.Services...), v.Systems...), ", "))
				}
				if !v.Frequency.IsZero() {
					fmt.Fprintf(e.stdout, "frequency %g / %g / %g a year; loss %g / %g / %g per event (min / most likely / max)\n",
						v.Frequency.Min, v.Frequency.MostLikely, v.Frequency.Max, v.Loss.Min, v.Loss.MostLikely, v.Loss.Max)
				}
				if v.Treatment != "" {
					fmt.Fprintf(e.stdout, "treatment: %s by %s, due %s. %s\n", v.Treatment, v.TreatmentOwner, day(v.Due), v.TreatmentPlan)
				}
				if v.Status == bulwark.RiskAccepted {
					fmt.Fprintf(e.stdout, "accepted by %s until %s\n", v.AcceptedBy, day(v.AcceptedUntil))
				}
				for _, f := range v.Findings {
					fmt.Fprintf(e.stdout, "finding: %s\n", f)
				}
				for _, g := range v.Gaps {
					fmt.Fprintf(e.stdout, "gap: %s\n", g)
				}
				return nil
			})
		},
	}
	addJSONFlag(show, e)

	var status, treatment, tOwner, note, due string
	var likelihood, impact int
	set := &cobra.Command{
		Use:     "set ID",
		Short:   "Change a risk (a new revision)",
		Example: "  bulwark risks set water-ransomware --status treating --likelihood 2 --note \"OT network segmented\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withRisks(func(ctx context.Context, rs *risk.Service) error {
				v, err := rs.Find(ctx, args[0])
				if err != nil {
					return err
				}
				r := v.Risk
				fl := cmd.Flags()
				if fl.Changed("status") {
					r.Status = bulwark.RiskStatus(status)
				}
				if fl.Changed("treatment") {
					r.Treatment = bulwark.Treatment(treatment)
				}
				if fl.Changed("treatment-owner") {
					r.TreatmentOwner = tOwner
				}
				if fl.Changed("likelihood") {
					r.Likelihood = likelihood
				}
				if fl.Changed("impact") {
					r.Impact = impact
				}
				if fl.Changed("due") {
					t, err := time.Parse(time.DateOnly, due)
					if err != nil {
						return usageError{"--due takes a date YYYY-MM-DD"}
					}
					r.Due = t
				}
				out, err := rs.Update(ctx, &r, note)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s revision %d: %s, score %d (%s)\n", out.ID, out.Rev, out.Status, out.Score, out.Level)
				return nil
			})
		},
	}
	set.Flags().StringVar(&status, "status", "", "identified, treating, transferred or closed (accept with 'risks accept')")
	set.Flags().StringVar(&treatment, "treatment", "", "mitigate, accept, transfer or avoid")
	set.Flags().StringVar(&tOwner, "treatment-owner", "", "who carries out the treatment")
	set.Flags().IntVar(&likelihood, "likelihood", 0, "1 (rare) to 5 (almost certain)")
	set.Flags().IntVar(&impact, "impact", 0, "1 (negligible) to 5 (severe)")
	set.Flags().StringVar(&due, "due", "", "treatment due date, YYYY-MM-DD")
	set.Flags().StringVar(&note, "note", "", "why (kept with the revision)")

	var by, until string
	accept := &cobra.Command{
		Use:     "accept ID",
		Short:   "Accept a risk until a date (it re-opens after)",
		Example: "  bulwark risks accept grid-vendor --by \"Utility director\" --until 2027-06-30 --note \"replacement budgeted for 2027\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := time.Parse(time.DateOnly, until)
			if err != nil {
				return usageError{"--until takes a date YYYY-MM-DD"}
			}
			return e.withRisks(func(ctx context.Context, rs *risk.Service) error {
				v, err := rs.Find(ctx, args[0])
				if err != nil {
					return err
				}
				r := v.Risk
				r.Status, r.Treatment, r.AcceptedBy, r.AcceptedUntil = bulwark.RiskAccepted, bulwark.TreatAccept, by, t
				out, err := rs.Update(ctx, &r, note)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s accepted by %s until %s (revision %d)\n", out.ID, out.AcceptedBy, day(out.AcceptedUntil), out.Rev)
				return nil
			})
		},
	}
	accept.Flags().StringVar(&by, "by", "", "who accepts the risk")
	accept.Flags().StringVar(&until, "until", "", "until when, YYYY-MM-DD")
	accept.Flags().StringVar(&note, "note", "", "why")

	history := &cobra.Command{
		Use:   "history ID",
		Short: "Every revision of a risk",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				h, err := db.RiskHistory(ctx, args[0])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(h)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "REV\tAT\tBY\tSTATUS\tSCORE\tNOTE")
				for _, ev := range h {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", ev.Rev, ev.At.Format("2006-01-02 15:04"), ev.Actor, ev.Risk.Status, ev.Risk.Score(), oneLine(ev.Note, 60))
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(history, e)

	heat := &cobra.Command{
		Use:   "heatmap",
		Short: "Open risks on the 5×5 grid of likelihood and impact",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withRisks(func(ctx context.Context, rs *risk.Service) error {
				h, err := rs.Heat(ctx, bulwark.RiskFilter{Owner: fOwner})
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(h)
				}
				fmt.Fprintln(e.stdout, "likelihood ↓  impact →   1    2    3    4    5")
				for l := 5; l >= 1; l-- {
					fmt.Fprintf(e.stdout, "  %d                  ", l)
					for i := 1; i <= 5; i++ {
						fmt.Fprintf(e.stdout, "%4d ", h.Cells[l-1][i-1])
					}
					fmt.Fprintln(e.stdout)
				}
				fmt.Fprintf(e.stdout, "%d open risks\n", h.Open)
				return nil
			})
		},
	}
	heat.Flags().StringVar(&fOwner, "owner", "", "only this organization's")
	addJSONFlag(heat, e)

	var trials int
	var seed uint64
	analyze := &cobra.Command{
		Use:   "analyze",
		Short: "Monte Carlo of annual loss: per risk and for the city, with loss exceedance",
		Long: `Analyze simulates years: each open risk's event rate is drawn from the PERT
distribution of its frequency range, the number of events from a Poisson
distribution, each event's loss from the PERT distribution of its loss
range. It reports the expected annual loss with its 95% confidence
interval, percentiles and the loss exceedance curve. The same --seed gives
the same result.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withRisks(func(ctx context.Context, rs *risk.Service) error {
				a, err := rs.Analyze(ctx, bulwark.RiskFilter{Owner: fOwner}, trials, seed)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(a)
				}
				c := a.City
				fmt.Fprintf(e.stdout, "%d simulated years (seed %d) of %d quantified open risks\n", a.Trials, a.Seed, len(a.Risks))
				fmt.Fprintf(e.stdout, "expected annual loss %.0f (95%% CI %.0f–%.0f); median %.0f, 1 in 10 years ≥ %.0f, 1 in 100 ≥ %.0f; %.0f%% of years without loss\n",
					c.Mean, c.MeanLow, c.MeanHigh, c.P50, c.P90, c.P99, 100*c.PZero)
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RISK\tEXPECTED\t95% CI\tP90\tP99")
				ids := slices.SortedFunc(maps.Keys(a.Risks), func(x, y string) int { return cmp.Compare(a.Risks[y].Mean, a.Risks[x].Mean) })
				for _, id := range ids {
					d := a.Risks[id]
					fmt.Fprintf(tw, "%s\t%.0f\t%.0f–%.0f\t%.0f\t%.0f\n", id, d.Mean, d.MeanLow, d.MeanHigh, d.P90, d.P99)
				}
				tw.Flush()
				if len(a.Skipped) > 0 {
					fmt.Fprintf(e.stdout, "not quantified (no frequency and loss ranges): %s\n", strings.Join(a.Skipped, ", "))
				}
				return nil
			})
		},
	}
	analyze.Flags().IntVar(&trials, "trials", 10_000, "simulated years")
	analyze.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	analyze.Flags().StringVar(&fOwner, "owner", "", "only this organization's risks")
	addJSONFlag(analyze, e)

	techniques := &cobra.Command{
		Use:   "techniques",
		Short: "The bundled MITRE ATT&CK for ICS techniques risks can name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ts := attack.ICS()
			if e.jsonOut {
				return e.printJSON(ts)
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTACTICS\tNAME")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, strings.Join(t.Tactics, ", "), t.Name)
			}
			return tw.Flush()
		},
	}
	addJSONFlag(techniques, e)
	cmd.AddCommand(add, list, show, set, accept, history, heat, analyze, techniques)
	return cmd
}
