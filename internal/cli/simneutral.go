package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/sim"
	"bulwark/internal/sqlstore"
)

// neutralFlags are simulate's flags for the neutral files an independent
// implementation reads (docs/neutral-format.md).
type neutralFlags struct {
	graph, draws                         string
	writeGraph, writeDraws, writeOutcome string
}

func (f *neutralFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.graph, "graph", "", "run on a neutral graph file instead of the store's city (no database; scenario nodes by ID only)")
	fs.StringVar(&f.draws, "draws", "", "replay the trials of a draws file instead of drawing them (the scenario file is then optional)")
	fs.StringVar(&f.writeGraph, "write-graph", "", "write the simulation model as a neutral graph file")
	fs.StringVar(&f.writeDraws, "write-draws", "", "write every trial's draws (hits, start times, restore times) to a file")
	fs.StringVar(&f.writeOutcome, "write-outcomes", "", "write every trial's outcome (hours down per service, loss, goal, failures) to a file")
}

func (f *neutralFlags) set() bool { return *f != neutralFlags{} }

// args: a scenario file, optional with --draws.
func (f *neutralFlags) args(_ *cobra.Command, args []string) error {
	if len(args) > 1 || len(args) == 0 && f.draws == "" {
		return usageError{fmt.Sprintf("simulate takes one scenario file (optional with --draws), got %d arguments", len(args))}
	}
	return nil
}

// simulateNeutral is simulate with any of the neutral-file flags.
func (e *env) simulateNeutral(cmd *cobra.Command, fl *simFlags, nf *neutralFlags, goal string, trace int, args []string) error {
	changed := cmd.Flags().Changed
	switch {
	case nf.graph != "" && changed("crews"):
		return usageError{"--crews: with --graph the crews come from the graph file"}
	case nf.draws != "" && nf.writeDraws != "":
		return usageError{"--draws replays recorded draws: --write-draws cannot be used with it"}
	case nf.draws != "" && (changed("seed") || goal != ""):
		return usageError{"--seed and --goal: a replay uses the draws file's seed and goal"}
	case trace >= 0 && (nf.writeDraws != "" || nf.writeOutcome != ""):
		return usageError{"--trace prints one trial: --write-draws and --write-outcomes need a run"}
	}
	var (
		s    *sim.Scenario
		path string
		err  error
	)
	if len(args) == 1 {
		path = args[0]
		if s, err = readScenario(path); err != nil {
			return err
		}
		if goal != "" {
			g, err := sim.ParseGoal(goal)
			if err != nil {
				return usageError{"--goal: " + bulwark.ErrorMessage(err)}
			}
			s.Goal = g
		}
	}
	run := func(ctx context.Context, db *sqlstore.DB) error {
		start := time.Now()
		var m *sim.Model
		if nf.graph != "" {
			if m, err = readModelFile(nf.graph); err != nil {
				return err
			}
		} else {
			sm, err := e.loadSimModel(ctx, db, fl.crews)
			if err != nil {
				return err
			}
			m = sm.m
		}
		if s != nil {
			if db != nil {
				err = resolveScenario(ctx, db, m.Graph(), s, path)
			} else {
				err = checkScenarioNodes(m, s, path)
			}
			if err != nil {
				return err
			}
		}
		if nf.writeGraph != "" {
			if err := writeFileWith(nf.writeGraph, func(f *os.File) error { return sim.WriteGraph(f, m) }); err != nil {
				return err
			}
		}
		var dr *sim.DrawsReader
		if nf.draws != "" {
			f, err := os.Open(nf.draws)
			if err != nil {
				return err
			}
			defer f.Close()
			if dr, err = sim.NewDrawsReader(f, nf.draws, m); err != nil {
				return err
			}
			if s == nil {
				s = dr.Scenario()
			} else if err := dr.CheckScenario(s); err != nil {
				return err
			}
		}
		if trace >= 0 {
			var tr *sim.Trace
			var out *sim.TrialOutcome
			if dr != nil {
				tr, out, err = sim.TraceDraws(m, dr, trace)
			} else {
				tr, out, err = sim.TraceTrial(m, s, fl.seed, trace)
			}
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
		opt := sim.Options{Trials: fl.trials, Seed: fl.seed, Workers: fl.workers, Top: fl.top}
		if dr != nil && !changed("trials") {
			opt.Trials = dr.Header.Trials
		}
		var closers []func() error
		if nf.writeDraws != "" {
			f, err := os.Create(nf.writeDraws)
			if err != nil {
				return err
			}
			defer f.Close()
			opt.Draws = sim.NewDrawsWriter(f, m, s, opt.Seed, opt.Trials)
			closers = append(closers, opt.Draws.Close, f.Close)
		}
		if nf.writeOutcome != "" {
			f, err := os.Create(nf.writeOutcome)
			if err != nil {
				return err
			}
			defer f.Close()
			opt.Outcomes = sim.NewOutcomeWriter(f, m)
			closers = append(closers, opt.Outcomes.Close, f.Close)
		}
		bar := e.simProgress(int64(opt.Trials))
		if bar.bar != nil {
			opt.Progress = func(done, total int) { bar.Set(int64(done), int64(total)) }
		}
		var res *sim.Result
		if dr != nil {
			res, err = sim.RunDraws(ctx, m, dr, opt)
		} else {
			res, err = sim.Run(ctx, m, s, opt)
		}
		bar.Done()
		if err != nil {
			return err
		}
		for _, c := range closers {
			if err := c(); err != nil {
				return err
			}
		}
		if e.jsonOut {
			return e.printJSON(struct {
				Scenario *sim.Scenario `json:"scenario"`
				Result   *sim.Result   `json:"result"`
			}{s, res})
		}
		if !e.quiet {
			fmt.Fprintf(e.stderr, "city of %d nodes loaded in %s; %d trials in %s\n", m.Graph().Len(),
				loaded.Round(time.Millisecond), res.Trials, (time.Since(start) - loaded).Round(time.Millisecond))
		}
		return printResult(e.stdout, s, res)
	}
	if nf.graph != "" {
		return run(e.ctx, nil)
	}
	return e.withStore(run)
}

// readModelFile reads a neutral graph file into a model.
func readModelFile(path string) (*sim.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sim.ReadModel(f, path)
}

// checkScenarioNodes checks a scenario against a model read from a graph
// file: node IDs must exist; selectors need the store.
func checkScenarioNodes(m *sim.Model, s *sim.Scenario, path string) error {
	for i, ev := range s.Events {
		if ev.Select != nil {
			return bulwark.Errorf(bulwark.EINVALID, "%s: event %d (%q): selectors read the city's store; with --graph, list node IDs", path, i+1, ev.Name)
		}
		for _, id := range ev.Nodes {
			if _, ok := m.Graph().Lookup(id); !ok {
				return bulwark.Errorf(bulwark.EINVALID, "%s: event %d (%q): unknown node %q: the graph file has no such node", path, i+1, ev.Name, id)
			}
		}
	}
	return nil
}

// writeFileWith creates path and writes it with fn.
func writeFileWith(path string, fn func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
