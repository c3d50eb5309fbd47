package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/generate"
	"bulwark/internal/sqlstore"
	"bulwark/internal/vulns"
)

func newImportCmd(e *env) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Validate and store city-model files (YAML or CSV asset inventories)",
		Long: `Import validates every file completely, then stores everything in one
transaction. Importing the same files twice changes nothing; a changed file
updates what changed. When any file has a problem, every problem found is
listed (file:line:column: field: message) and nothing is stored.

Files may be YAML city models (.yaml, .yml), flat CSV asset inventories (.csv),
or gzip-compressed copies of either (.gz). See docs/city-model.md.`,
		Example: "  bulwark import city.yaml assets.csv\n  bulwark --db postgres://localhost/bulwark import city.yaml.gz",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			limitImportMemory()
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				srcs := make([]citymodel.Source, len(args))
				for i, a := range args {
					srcs[i] = citymodel.FileSource(a)
				}
				bar := e.newProgress(0, "importing", true)
				start := time.Now()
				opt := citymodel.ImportOptions{Progress: bar.Set}
				importOrValidate := citymodel.Import
				if dryRun {
					importOrValidate = citymodel.Validate
				}
				res, err := importOrValidate(ctx, db, srcs, opt)
				bar.Done()
				if err != nil {
					return err
				}
				if dryRun {
					fmt.Fprintf(e.stderr, "%d file(s) valid (nothing stored): %d organizations, %d services, %d systems, %d assets, %d dependencies\n",
						res.Files, res.Organizations, res.Services, res.Systems, res.Assets, res.Dependencies)
					return nil
				}
				if !e.quiet {
					fmt.Fprintf(e.stderr, "imported %d file(s) in %s: %d organizations, %d services, %d systems, %d assets, %d dependencies\n",
						res.Files, time.Since(start).Round(time.Millisecond), res.Organizations, res.Services, res.Systems, res.Assets, res.Dependencies)
					fmt.Fprintf(e.stderr, "%d created, %d updated, %d unchanged\n", res.Stats.Created, res.Stats.Updated, res.Stats.Unchanged)
				}
				// The inventory changed: reconcile findings with it.
				m, ran, err := vulns.New(db, e.log).AfterCityChange(ctx, res.Stats)
				if err != nil {
					return fmt.Errorf("re-match after import: %w", err)
				}
				if ran && !e.quiet {
					fmt.Fprintf(e.stderr, "re-matched %d assets: %d new findings, %d closed\n", m.Assets, m.Sync.New, m.Sync.Closed)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate only: report every problem, store nothing")
	return cmd
}

func newExportCmd(e *env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the stored city model as YAML (byte-stable; imports back to the same state)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				return writeOutput(e, out, func(w *bufio.Writer) error { return citymodel.Export(ctx, db, w) })
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

func newGenerateCmd(e *env) *cobra.Command {
	var (
		opt generate.Options
		out string
	)
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a synthetic city of any size in the city-model YAML format",
		Long: `Generate writes a synthetic but realistically shaped city (agencies and
private partners, services across CISA sectors, IT/OT systems, IoT fleets with
real CPE names) for tests and benchmarks. The same seed gives the same city.`,
		Example: "  bulwark generate --assets 100000 --seed 7 -o big-city.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opt.Assets < 1 {
				return usageError{"--assets must be at least 1"}
			}
			bar := e.newProgress(int64(opt.Assets), "generating", false)
			defer bar.Done()
			return writeOutput(e, out, func(w *bufio.Writer) error {
				enc := citymodel.NewEncoder(w)
				var n int64
				err := generate.Generate(opt, func(chunk *bulwark.City) error {
					n += int64(len(chunk.Assets))
					bar.Set(n, int64(opt.Assets))
					return enc.Encode(chunk)
				})
				if err != nil {
					return err
				}
				return enc.Close()
			})
		},
	}
	cmd.Flags().IntVar(&opt.Assets, "assets", 10000, "number of asset entries")
	cmd.Flags().Int64Var(&opt.Seed, "seed", 1, "random seed")
	cmd.Flags().StringVar(&opt.Name, "name", "", "city name (default: a generated one)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

// writeOutput runs fn against stdout or, atomically, a file: the file is
// written to a temporary name, synced and renamed so that a failed run never
// leaves a half-written export behind.
func writeOutput(e *env, path string, fn func(w *bufio.Writer) error) error {
	if path == "" || path == "-" {
		w := bufio.NewWriterSize(e.stdout, 1<<16)
		if err := fn(w); err != nil {
			return err
		}
		return w.Flush()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bulwark-*.tmp")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<16)
	if err := fn(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// importMemoryLimit is the soft memory limit of an import. A million-asset
// import keeps about 600 MiB live (the ids and references cross-checked at
// the end, the store's pending dependencies); left alone, the garbage
// collector lets the heap grow to twice that before collecting. The limit
// makes it collect sooner, which keeps peak memory near 800 MiB at no cost
// in time (measured in docs/performance.md). GOMEMLIMIT overrides it.
const importMemoryLimit = 768 << 20

func limitImportMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importMemoryLimit)
	}
}
