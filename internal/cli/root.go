// Package cli holds Bulwark's subcommands: flags are bound to per-command
// options, work is done through the store interfaces and the engines, and
// results go to stdout (tables, or JSON with --json) while progress and
// diagnostics go to stderr.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/sqlstore"
)

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1 // the command failed
	exitInvalid  = 2 // bad usage or bad input
	exitCanceled = 130
)

// env carries what every command needs; it replaces globals.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger

	db      string // --db
	jsonOut bool   // --json
	quiet   bool   // --quiet
}

// defaultDB is the store used when neither --db nor BULWARK_DB is given.
const defaultDB = "bulwark.db"

// Execute runs the CLI with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	return reportError(stderr, err)
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "bulwark",
		Short: "Cyber-resilience platform for cities",
		Long: `Bulwark keeps a city's critical services, the systems and devices they
depend on and who owns them as a graph ("city as code"), and tells the city
what is most critical and where its single points of failure are.

Start with "bulwark demo" to explore a bundled demo city in the browser.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	dbDefault := os.Getenv("BULWARK_DB")
	if dbDefault == "" {
		dbDefault = defaultDB
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	pf := root.PersistentFlags()
	pf.StringVar(&e.db, "db", dbDefault, "store: a SQLite file path, or a postgres:// URL (env BULWARK_DB)")
	pf.BoolVarP(&e.quiet, "quiet", "q", false, "no progress bars or summaries on stderr")
	root.AddCommand(
		newVersionCmd(e),
		newInitCmd(e),
		newMigrateCmd(e),
		newImportCmd(e),
		newExportCmd(e),
		newGraphCmd(e),
		newListCmd(e),
		newGenerateCmd(e),
		newServeCmd(e),
		newDemoCmd(e),
		newUserCmd(e),
		newTokenCmd(e),
		newAuditCmd(e),
		newFeedsCmd(e),
		newVulnsCmd(e),
		newAdvisoriesCmd(e),
		newSBOMCmd(e),
		newCatalogCmd(e),
		newAssessCmd(e),
		newProfileCmd(e),
		newGapsCmd(e),
		newReadinessCmd(e),
		newReportCmd(e),
		newRisksCmd(e),
		newNotifyCmd(e),
		newShareCmd(e),
		newSimulateCmd(e),
		newIncidentCmd(e),
		newPlaybookCmd(e),
		newDirectoryCmd(e),
		newInvestCmd(e),
		newTrainingCmd(e),
	)
	return root
}

// addJSONFlag adds --json to a listing command.
func addJSONFlag(cmd *cobra.Command, e *env) {
	cmd.Flags().BoolVar(&e.jsonOut, "json", false, "print JSON instead of a table")
}

// openStore opens the store named by --db, creating a SQLite file (and its
// directory) when needed, and returns a context acting as the local operator.
func (e *env) openStore() (*sqlstore.DB, context.Context, error) {
	if e.db == "" {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "no store given: use --db PATH|URL or set BULWARK_DB")
	}
	if !isPostgresURL(e.db) && e.db != ":memory:" {
		if dir := filepath.Dir(e.db); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, nil, fmt.Errorf("create store directory: %w", err)
			}
		}
	}
	db, err := sqlstore.Open(e.ctx, e.db, e.log)
	if err != nil {
		return nil, nil, err
	}
	return db, bulwark.WithPrincipal(e.ctx, bulwark.SystemPrincipal()), nil
}

func isPostgresURL(s string) bool {
	return len(s) > 11 && (s[:11] == "postgres://" || (len(s) > 13 && s[:13] == "postgresql://"))
}

// usageError marks bad command-line usage (exit code 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// reportError prints err for a person and picks the exit code. Errors that
// are not *bulwark.Error are shown in full here: the CLI user is the local
// operator, who needs the cause (a missing file, a refused connection).
func reportError(w io.Writer, err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(w, "bulwark: %s\nRun 'bulwark --help' for usage.\n", ue.msg)
		return exitInvalid
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "bulwark: canceled")
		return exitCanceled
	}
	fmt.Fprintf(w, "bulwark: %s\n", err)
	switch bulwark.ErrorCode(err) {
	case bulwark.EINVALID, bulwark.ETOOLARGE:
		return exitInvalid
	}
	return exitError
}

// withStore opens the store, runs fn as the local operator and closes it.
func (e *env) withStore(fn func(ctx context.Context, db *sqlstore.DB) error) error {
	db, ctx, err := e.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(ctx, db)
}
