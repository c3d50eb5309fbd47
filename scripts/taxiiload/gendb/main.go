// Command gendb makes the SQLite database that scripts/taxiiload/run.sh
// serves: the same collection the TAXII benchmarks generate
// (sharingtest.PopulateBench), so that one database serves both.
//
//	go run ./scripts/taxiiload/gendb -db DIR/taxii-1000000.db -objects 1000000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"time"

	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/sqlstore"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gendb:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("gendb", flag.ContinueOnError)
	path := fl.String("db", "", "SQLite file to create (must not exist)")
	n := fl.Int("objects", 1_000_000, "number of objects in the collection")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *path == "" || fl.NArg() > 0 {
		return errors.New("usage: gendb -db FILE [-objects N]")
	}
	if *n <= 0 || *n > 100_000_000 {
		return fmt.Errorf("-objects must be between 1 and 100000000, not %d", *n)
	}
	// Filling an existing store would add a second copy of every object
	// (or fail half-way on the organizations): refuse.
	if _, err := os.Stat(*path); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s exists (or cannot be checked: %v); remove it or pick another path", *path, err)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, *path, nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", *path, err)
	}
	start := time.Now()
	last := start
	err = sharingtest.PopulateBench(ctx, st, *n, func(done int) {
		if time.Since(last) >= 10*time.Second || done == *n {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "gendb: %d/%d objects in %v\n", done, *n, time.Since(start).Round(time.Second))
		}
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Half a collection would later be measured as a whole one.
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(*path + suffix)
		}
		return err
	}
	fmt.Printf("generated %d objects in %.1f s\n", *n, time.Since(start).Seconds())
	return nil
}
