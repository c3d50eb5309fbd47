package feed

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"bulwark"
)

// feedExtensions are the file names Walk picks up inside directories
// (with or without a .gz suffix). Files named explicitly are always used.
var feedExtensions = []string{".json", ".jsonl", ".csv"}

// Walk expands paths into feed files: a file is used as is, a directory
// is searched recursively (in lexical order) for *.json, *.jsonl and *.csv
// files, optionally gzip-compressed. Hidden files and directories are
// skipped. For each file fn gets its path and an open function whose
// reader decompresses *.gz files and has a ModTime() time.Time method
// (the file's modification time), which Read uses as FetchedAt. An error
// from fn stops the walk.
func Walk(paths []string, fn func(name string, open func() (io.ReadCloser, error)) error) error {
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return fmt.Errorf("feed: %w", err)
		}
		if !info.IsDir() {
			if err := fn(root, opener(root)); err != nil {
				return err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != root && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && isFeedName(d.Name()) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("feed: %w", err)
		}
		sort.Strings(files)
		for _, f := range files {
			if err := fn(f, opener(f)); err != nil {
				return err
			}
		}
	}
	return nil
}

func isFeedName(name string) bool {
	name = strings.TrimSuffix(name, ".gz")
	for _, ext := range feedExtensions {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func opener(path string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("feed: %w", err)
		}
		fr := &fileReader{r: f, f: f, mtime: info.ModTime().UTC()}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				f.Close()
				return nil, fileError(bulwark.EINVALID, path, "", fmt.Sprintf("bad gzip header: %v", err))
			}
			fr.r, fr.z = zr, zr
		}
		return fr, nil
	}
}

// fileReader is an open feed file, decompressed if need be.
type fileReader struct {
	r     io.Reader
	f     *os.File
	z     *gzip.Reader
	mtime time.Time
}

func (r *fileReader) Read(p []byte) (int, error) { return r.r.Read(p) }

// ModTime is the file's modification time.
func (r *fileReader) ModTime() time.Time { return r.mtime }

func (r *fileReader) Close() error {
	if r.z != nil {
		r.z.Close()
	}
	return r.f.Close()
}

// ReadFile reads one feed file (gzip-compressed or not) with Read, using
// the file's modification time as FetchedAt unless opts sets it.
func ReadFile(ctx context.Context, path string, opts Options, fn func(Record) error) (Stats, []bulwark.Problem, error) {
	rc, err := opener(path)()
	if err != nil {
		return Stats{}, nil, err
	}
	defer rc.Close()
	return Read(ctx, path, rc, opts, fn)
}
