package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/depgraph"
	"bulwark/internal/sim"
	"bulwark/internal/sqlstore"
)

// simFlags are the Monte Carlo flags shared by simulate and invest compare.
type simFlags struct {
	trials  int
	seed    uint64
	workers int
	crews   int
	top     int
}

func (f *simFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.trials, "trials", 1000, "Monte Carlo trials")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "random seed: the same seed gives the same result, bit for bit, whatever the workers")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "goroutines running trials (0: one per CPU)")
	cmd.Flags().IntVar(&f.crews, "crews", 1, "crews per owner and skill")
	cmd.Flags().IntVar(&f.top, "top", 10, "contributing nodes listed")
}

func (f *simFlags) check() error {
	if f.trials < 1 {
		return usageError{fmt.Sprintf("--trials %d: give at least 1", f.trials)}
	}
	if f.workers < 0 || f.crews < 1 || f.top < 1 {
		return usageError{"--workers must not be negative; --crews and --top must be at least 1"}
	}
	return nil
}

// defaultRecovery is the recovery of nodes whose system declares none: a
// restore of 2-8 h from backups, 12-72 h without, by IT administrators.
var defaultRecovery = sim.Recovery{
	Restore: sim.Triangular(2, 4, 8), RestoreNoBackups: sim.Triangular(12, 24, 72),
	Backups: true, Skill: "it-sysadmin",
}

// simModel is the city ready for simulation.
type simModel struct {
	g   *depgraph.Graph
	cfg sim.Config
	m   *sim.Model
}

// loadSimModel builds the model from the store: the dependency graph, the
// systems' declared recovery and the services' targets.
func (e *env) loadSimModel(ctx context.Context, db *sqlstore.DB, crews int) (*simModel, error) {
	data, err := db.LoadGraph(ctx)
	if err != nil {
		return nil, err
	}
	g, err := depgraph.Compile(data)
	if err != nil {
		return nil, err
	}
	city, err := sim.LoadCity(ctx, db)
	if err != nil {
		return nil, err
	}
	cfg := sim.ConfigFromCity(city, g, defaultRecovery)
	cfg.DefaultCrews = crews
	cfg.Analysis = depgraph.Analyze(g)
	m, err := sim.New(g, cfg)
	if err != nil {
		return nil, err
	}
	return &simModel{g: g, cfg: cfg, m: m}, nil
}

// readScenario parses a scenario file given on the command line.
func readScenario(path string) (*sim.Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sim.ParseScenario(f, path)
}

// resolveScenario picks the selectors' nodes in the city and checks that
// every node the scenario names exists, naming the file and the event.
func resolveScenario(ctx context.Context, db *sqlstore.DB, g *depgraph.Graph, s *sim.Scenario, path string) error {
	for i, ev := range s.Events {
		for _, id := range ev.Nodes {
			if _, ok := g.Lookup(id); !ok {
				return bulwark.Errorf(bulwark.EINVALID, "%s: event %d (%q): unknown node %q: no service, system or asset of the city has this ID",
					path, i+1, ev.Name, id)
			}
		}
	}
	if err := sim.ResolveScenario(ctx, db, s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func newSimulateCmd(e *env) *cobra.Command {
	var (
		fl    simFlags
		nf    neutralFlags
		goal  string
		trace int
	)
	cmd := &cobra.Command{
		Use:   "simulate [SCENARIO.yaml]",
		Short: "Monte Carlo of a cyber incident: cascades, recovery, targets, lost service",
		Long: `Simulate runs a scenario (docs/scenarios.md) many times on the city's
dependency graph: its events hit nodes, failure spreads along hard
dependencies (honouring "k of n" redundancy), limited crews restore the hit
nodes in priority order. It prints each service's downtime quantiles and the
probability that its RTO and maximum tolerable downtime hold, the
probability that the city goal holds, the expected person-hours of lost
service, all with 95% intervals, and the nodes whose restoration the loss
waited on. --trace K prints the timeline of trial K instead.

--write-graph, --write-draws and --write-outcomes write the model, every
trial's draws and every trial's outcome as neutral files that an independent
implementation can replay and check (docs/neutral-format.md); --graph runs on
such a graph file without a database, --draws replays recorded draws.`,
		Example: `  bulwark simulate examples/scenario-ransomware.yaml --trials 10000 --seed 7
  bulwark simulate substation.yaml --goal "90% of critical services within 24h"
  bulwark simulate substation.yaml --trace 42
  bulwark simulate substation.yaml --trials 100 --write-graph city.tsv --write-draws draws.tsv --write-outcomes out.tsv
  bulwark simulate --graph city.tsv --draws draws.tsv`,
		Args: nf.args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fl.check(); err != nil {
				return err
			}
			if nf.set() {
				return e.simulateNeutral(cmd, &fl, &nf, goal, trace, args)
			}
			s, err := readScenario(args[0])
			if err != nil {
				return err
			}
			if goal != "" {
				g, err := sim.ParseGoal(goal)
				if err != nil {
					return usageError{"--goal: " + bulwark.ErrorMessage(err)}
				}
				s.Goal = g
			}
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				start := time.Now()
				sm, err := e.loadSimModel(ctx, db, fl.crews)
				if err != nil {
					return err
				}
				if err := resolveScenario(ctx, db, sm.g, s, args[0]); err != nil {
					return err
				}
				if trace >= 0 {
					tr, out, err := sim.TraceTrial(sm.m, s, fl.seed, trace)
					if err != nil {
						return err
					}
					if e.jsonOut {
						return e.printJSON(struct {
							Trace   *sim.Trace        `json:"trace"`
							Outcome *sim.TrialOutcome `json:"outcome"`
						}{tr, out})
					}
					return printTrace(e.stdout, s, tr, out)
				}
				loaded := time.Since(start)
				bar := e.simProgress(int64(fl.trials))
				opt := sim.Options{Trials: fl.trials, Seed: fl.seed, Workers: fl.workers, Top: fl.top}
				if bar.bar != nil {
					opt.Progress = func(done, total int) { bar.Set(int64(done), int64(total)) }
				}
				res, err := sim.Run(ctx, sm.m, s, opt)
				bar.Done()
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(struct {
						Scenario *sim.Scenario `json:"scenario"`
						Result   *sim.Result   `json:"result"`
					}{s, res})
				}
				if !e.quiet {
					fmt.Fprintf(e.stderr, "city of %d nodes loaded in %s; %d trials in %s\n", sm.g.Len(),
						loaded.Round(time.Millisecond), res.Trials, (time.Since(start) - loaded).Round(time.Millisecond))
				}
				return printResult(e.stdout, s, res)
			})
		},
	}
	fl.add(cmd)
	nf.add(cmd)
	cmd.Flags().StringVar(&goal, "goal", "", `city goal, replacing the file's: "90% of critical services within 24h"`)
	cmd.Flags().IntVar(&trace, "trace", -1, "print the timeline of this trial (0-based) instead of the statistics")
	addJSONFlag(cmd, e)
	return cmd
}

// simProgress is the trials bar on stderr; none with --json or -q (or when
// stderr is not a terminal).
func (e *env) simProgress(total int64) *progress {
	if e.jsonOut {
		return &progress{}
	}
	return e.newProgress(total, "trials", false)
}

// hours writes a number of hours compactly: "0", "3.5", "120".
func hours(h float64) string { return fmt.Sprintf("%.4g", h) }

func prob(p float64) string { return fmt.Sprintf("%.3f", p) }

func interval(i *sim.Interval) string {
	if i == nil {
		return "-"
	}
	return fmt.Sprintf("%s [%s, %s]", prob(i.Estimate), prob(i.Low), prob(i.High))
}

func printResult(w io.Writer, s *sim.Scenario, res *sim.Result) error {
	title := s.Name
	if title == "" {
		title = "scenario"
	}
	fmt.Fprintf(w, "%s: %d trials, seed %d, horizon %s\n\n", title, res.Trials, res.Seed, hours(s.Horizon)+"h")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tCRITICAL\tP(DOWN)\tMEAN H\tP50 H\tP90 H\tP99 H\tRTO HELD [95% CI]\tMTD HELD [95% CI]")
	for _, r := range res.Services {
		crit := ""
		if r.Critical {
			crit = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, crit, prob(r.PDown), hours(r.MeanDown),
			hours(r.P50), hours(r.P90), hours(r.P99), interval(r.RTOHeld), interval(r.MTDHeld))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if res.Goal != nil {
		fmt.Fprintf(w, "Goal (%g%% of critical services up at %sh): holds with probability %s\n",
			s.Goal.Share*100, hours(s.Goal.Within), interval(res.Goal))
	}
	fmt.Fprintf(w, "Expected lost service: %.0f person-hours per trial [%.0f, %.0f]\n", res.Loss.Estimate, res.Loss.Low, res.Loss.High)
	fmt.Fprintf(w, "Mean node failures per trial: %.2f\n", res.MeanFailed)
	if len(res.Top) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nLoss waited on the restoration of:")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tPERSON-H PER TRIAL\tSHARE")
	for _, c := range res.Top {
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f%%\n", c.ID, c.Loss, c.Share*100)
	}
	return tw.Flush()
}

func printTrace(w io.Writer, s *sim.Scenario, tr *sim.Trace, out *sim.TrialOutcome) error {
	fmt.Fprintf(w, "trial %d: %d steps\n", tr.Trial, len(tr.Events))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "T (H)\tWHAT\tNODE\tWHY")
	for _, ev := range tr.Events {
		why := ev.Cause
		if ev.Event >= 0 && ev.Event < len(s.Events) {
			why = "event " + eventName(s, ev.Event)
		}
		fmt.Fprintf(tw, "%.2f\t%s\t%s\t%s\n", ev.T, ev.Kind, orDash(ev.Node), orDash(why))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nlost service: %.0f person-hours; goal held: %t\n", out.Loss, out.Goal)
	ids := make([]string, 0, len(out.Down))
	for id := range out.Down {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(w, "  %s down %sh (longest outage %sh)\n", id, hours(out.Down[id]), hours(out.MaxOutage[id]))
	}
	return nil
}

func eventName(s *sim.Scenario, i int) string {
	if n := s.Events[i].Name; n != "" {
		return n
	}
	return fmt.Sprintf("#%d", i+1)
}

func newInvestCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invest",
		Short: "Compare resilience investments on a scenario",
	}
	var fl simFlags
	compare := &cobra.Command{
		Use:   "compare SCENARIO.yaml OPTIONS.yaml",
		Short: "Rank investment options by loss avoided per unit of cost",
		Long: `Compare runs the scenario on the city as it is and with each investment
option of the options file (docs/scenarios.md), with the same random draws
(common random numbers), and ranks the options by expected person-hours of
lost service avoided per unit of cost, with 95% intervals.`,
		Example: "  bulwark invest compare examples/scenario-ransomware.yaml examples/options-ransomware.yaml --trials 2000",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fl.check(); err != nil {
				return err
			}
			s, err := readScenario(args[0])
			if err != nil {
				return err
			}
			f, err := os.Open(args[1])
			if err != nil {
				return err
			}
			opts, err := sim.ParseOptions(f, args[1])
			f.Close()
			if err != nil {
				return err
			}
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				sm, err := e.loadSimModel(ctx, db, fl.crews)
				if err != nil {
					return err
				}
				if err := resolveScenario(ctx, db, sm.g, s, args[0]); err != nil {
					return err
				}
				if err := sim.ResolveOptions(ctx, db, opts); err != nil {
					return fmt.Errorf("%s: %w", args[1], err)
				}
				total := int64(fl.trials) * int64(1+len(opts))
				bar := e.simProgress(total)
				o := sim.Options{Trials: fl.trials, Seed: fl.seed, Workers: fl.workers, Top: fl.top}
				if bar.bar != nil {
					// Compare reports each run's progress from 0: count
					// the runs finished before.
					var base, last int64
					o.Progress = func(done, _ int) {
						if int64(done) < last {
							base += int64(fl.trials)
						}
						last = int64(done)
						bar.Set(base+last, total)
					}
				}
				c, err := sim.Compare(ctx, sm.g, sm.cfg, s, opts, o)
				bar.Done()
				if err != nil {
					return fmt.Errorf("%s: %w", args[1], err)
				}
				if e.jsonOut {
					return e.printJSON(c)
				}
				return printComparison(e.stdout, c)
			})
		},
	}
	fl.add(compare)
	addJSONFlag(compare, e)
	cmd.AddCommand(compare)
	return cmd
}

func printComparison(w io.Writer, c *sim.Comparison) error {
	b := c.Baseline
	fmt.Fprintf(w, "Baseline: %.0f person-hours lost per trial [%.0f, %.0f] (%d trials, seed %d)\n\n",
		b.Loss.Estimate, b.Loss.Low, b.Loss.High, b.Trials, b.Seed)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tOPTION\tCOST\tAVOIDED PERSON-H [95% CI]\tPER UNIT OF COST [95% CI]")
	for i, r := range c.Options {
		per := "free"
		switch {
		case r.Cost > 0:
			per = fmt.Sprintf("%.4g [%.4g, %.4g]", r.PerCost.Estimate, r.PerCost.Low, r.PerCost.High)
		case r.Avoided.Estimate <= 0:
			per = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.0f\t%.0f [%.0f, %.0f]\t%s\n", i+1, r.Name, r.Cost, r.Avoided.Estimate, r.Avoided.Low, r.Avoided.High, per)
	}
	return tw.Flush()
}
