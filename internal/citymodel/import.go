package citymodel

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"bulwark"
)

// Import validates every source completely while writing it into one
// st.BeginImport transaction in batches of about 1000 entities, and commits
// only when nothing is wrong: an import stores everything or nothing.
//
// It reads each source once. Documents are parsed and checked on several
// cores while the store writes earlier batches; as soon as one problem is
// found, writing stops (the transaction will be rolled back) but reading
// goes on, so that the error lists every problem at once: a *bulwark.Error
// with code EINVALID and one bulwark.Problem per problem (file, line,
// column, field path). References to entities that the import does not
// declare are resolved with st.ResolveIDs (and FindOrganization /
// FindSystem for owners and groups), which read the store as it was before
// this import. A document over 64 MiB or an import over opt.MaxBytes fails
// fast with ETOOLARGE.
//
// One pass rather than "validate, then read again and write" halves the
// parsing, which is most of the work: a million-asset city imports in about
// two thirds of the time.
func Import(ctx context.Context, st bulwark.CityStore, srcs []Source, opt ImportOptions) (*ImportResult, error) {
	if st == nil {
		return nil, errors.New("citymodel: Import needs a store")
	}
	// A store whose reads wait for its open write transaction (in-memory
	// SQLite) cannot answer the checks' look-ups during the write, so there
	// everything is validated first, and the sources are read a second time
	// to write them.
	validated := false
	if w, ok := st.(interface{ ReadsWaitForWrites() bool }); ok && w.ReadsWaitForWrites() {
		if _, err := Validate(ctx, st, srcs, opt); err != nil {
			return nil, err
		}
		validated = true
	}
	r := newRun(opt, srcs)
	tx, err := st.BeginImport(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	res := &ImportResult{Files: len(srcs)}
	var chk *checker
	if !validated {
		chk = newChecker(r.p)
	}
	w := &batchWriter{tx: tx}
	for i, src := range srcs {
		err := r.readSource(ctx, i, src, chk, func(c *bulwark.City) error {
			res.Organizations += int64(len(c.Organizations))
			res.Services += int64(len(c.Services))
			res.Systems += int64(len(c.Systems))
			res.Assets += int64(len(c.Assets))
			res.Dependencies += countDeps(c)
			if r.p.total > 0 {
				return nil // nothing more is written; keep reading to find every problem
			}
			return w.add(ctx, c)
		})
		if err != nil {
			return nil, err
		}
	}
	if chk != nil {
		if err := chk.finish(ctx, st); err != nil {
			return nil, fmt.Errorf("validate city model: %w", err)
		}
	}
	if err := r.p.err(); err != nil {
		return nil, err
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	stats, err := tx.Commit(ctx)
	if err != nil {
		return nil, fmt.Errorf("commit import: %w", err)
	}
	committed = true
	res.Stats = stats
	return res, nil
}

func newRun(opt ImportOptions, srcs []Source) *run {
	r := &run{p: &problems{}, maxBytes: opt.MaxBytes, docMax: MaxDocumentBytes, csv: opt.CSV, progress: opt.Progress}
	if r.maxBytes <= 0 {
		r.maxBytes = DefaultMaxBytes
	}
	for _, s := range srcs {
		r.p.files = append(r.p.files, s.Name)
	}
	if opt.Progress != nil {
		r.rawTotal = sizeOf(srcs)
	}
	return r
}

// Validate reads every source and checks everything exactly as Import does,
// without storing anything (a dry run); st may be nil when references to
// stored entities are not to be resolved. It returns the counts.
func Validate(ctx context.Context, st bulwark.CityStore, srcs []Source, opt ImportOptions) (*ImportResult, error) {
	r := newRun(opt, srcs)
	res := &ImportResult{Files: len(srcs)}
	chk := newChecker(r.p)
	for i, src := range srcs {
		err := r.readSource(ctx, i, src, chk, func(c *bulwark.City) error {
			res.Organizations += int64(len(c.Organizations))
			res.Services += int64(len(c.Services))
			res.Systems += int64(len(c.Systems))
			res.Assets += int64(len(c.Assets))
			res.Dependencies += countDeps(c)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := chk.finish(ctx, st); err != nil {
		return nil, fmt.Errorf("validate city model: %w", err)
	}
	if err := r.p.err(); err != nil {
		return nil, err
	}
	return res, nil
}

// sizeOf sums the sizes of sources that can tell theirs (files can).
func sizeOf(srcs []Source) int64 {
	var total int64
	for _, s := range srcs {
		if s.Open == nil {
			return 0
		}
		rc, err := s.Open()
		if err != nil {
			return 0
		}
		st, ok := rc.(interface{ Stat() (fs.FileInfo, error) })
		var fi fs.FileInfo
		if ok {
			fi, err = st.Stat()
		}
		rc.Close()
		if !ok || err != nil || !fi.Mode().IsRegular() {
			return 0
		}
		total += fi.Size()
	}
	return total
}

func countDeps(c *bulwark.City) int64 {
	var n int64
	for _, s := range c.Services {
		n += int64(len(s.DependsOn))
	}
	for _, s := range c.Systems {
		n += int64(len(s.DependsOn))
	}
	for _, a := range c.Assets {
		n += int64(len(a.DependsOn))
		if a.System != "" {
			n++
		}
	}
	return n
}

// batchWriter groups entities into store calls of about batchSize.
type batchWriter struct {
	tx bulwark.ImportTx
	b  bulwark.City
	n  int
}

func (w *batchWriter) add(ctx context.Context, c *bulwark.City) error {
	if err := putAll(ctx, c.Organizations, w.tx.PutOrganizations); err != nil {
		return fmt.Errorf("store organizations: %w", err)
	}
	w.b.Services = append(w.b.Services, c.Services...)
	w.b.Systems = append(w.b.Systems, c.Systems...)
	w.b.Assets = append(w.b.Assets, c.Assets...)
	w.n += len(c.Services) + len(c.Systems) + len(c.Assets)
	if w.n >= batchSize {
		return w.flush(ctx)
	}
	return nil
}

func (w *batchWriter) flush(ctx context.Context) error {
	if err := putAll(ctx, w.b.Services, w.tx.PutServices); err != nil {
		return fmt.Errorf("store services: %w", err)
	}
	if err := putAll(ctx, w.b.Systems, w.tx.PutSystems); err != nil {
		return fmt.Errorf("store systems: %w", err)
	}
	if err := putAll(ctx, w.b.Assets, w.tx.PutAssets); err != nil {
		return fmt.Errorf("store assets: %w", err)
	}
	w.b = bulwark.City{}
	w.n = 0
	return nil
}

// putAll writes items in slices of at most batchSize.
func putAll[T any](ctx context.Context, items []T, put func(context.Context, []T) error) error {
	for len(items) > 0 {
		n := min(len(items), batchSize)
		if err := put(ctx, items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}
