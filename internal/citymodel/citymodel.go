// Package citymodel reads, validates, imports and exports the city model: the
// YAML format (and flat CSV asset inventories) in which a city describes its
// organizations, critical services, IT/OT systems, assets and the
// dependencies between them. The format is documented in docs/city-model.md.
//
// Imports are built for large inventories. Files are streamed one YAML
// document at a time with bounded memory, every problem in every file is
// collected and reported with its file, line, column and field path, and
// nothing is stored unless the whole import is valid: sources are read
// twice, once to validate and once to write into a single store transaction.
package citymodel

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"bulwark"
)

// Size caps. A document is parsed whole, so its size bounds the memory an
// import needs; the total cap bounds the time.
const (
	// MaxDocumentBytes caps one YAML document (the text between two ---
	// lines). Larger inventories must be split into several documents.
	MaxDocumentBytes = 64 << 20
	// DefaultMaxBytes is the default cap on the decompressed size of all
	// sources of one import.
	DefaultMaxBytes = 4 << 30
	// MaxProblems caps the problems listed in an error; the rest are counted.
	MaxProblems = 1000
	// batchSize is how many entities are written per store call.
	batchSize = 1000
)

// Source is one input of an import. Open is called once per pass (Import
// reads every source twice: validate, then write), so it must return the same
// content each time. Name is used in problem reports and decides the format:
// a name ending in .csv (or .csv.gz) is a CSV asset inventory, anything else
// is YAML. Gzip-compressed content is recognised by its magic bytes.
type Source struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// FileSource returns a Source reading the file at path: .yaml, .yml, .json or
// .csv, optionally gzip-compressed (.gz).
func FileSource(path string) Source {
	return Source{Name: path, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// ImportOptions tune an import.
type ImportOptions struct {
	// MaxBytes caps the total decompressed size of all sources; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Progress, when set, is called as sources are read with the number of
	// bytes read so far over both passes and the expected total (0 while
	// unknown). Bytes are counted as stored in the sources (compressed).
	Progress func(doneBytes, totalBytes int64)
	// CSV adjusts how CSV sources map to assets.
	CSV CSVMapping
}

// CSVMapping adjusts how the columns of CSV asset inventories map to asset
// fields. The zero value uses the built-in header names and aliases
// (docs/city-model.md lists them).
type CSVMapping struct {
	// Columns maps a header (matched case-insensitively, with spaces and
	// hyphens treated as underscores) to an asset field name such as "id",
	// "vendor" or "cpe". Mapping a header to "-" ignores that column.
	// Entries here take precedence over the built-in aliases.
	Columns map[string]string
	// IgnoreUnknown ignores columns that map to no field instead of
	// reporting them as problems.
	IgnoreUnknown bool
	// Defaults gives field values for rows whose cell is empty or whose
	// column is absent, for example {"owner": "city-water"} for an
	// inventory kept by one department.
	Defaults map[string]string
}

// ImportResult tells what an import read and what the store did with it.
type ImportResult struct {
	Files                                                  int
	Organizations, Services, Systems, Assets, Dependencies int64
	Stats                                                  bulwark.ImportStats
}

// format is the syntax of a source.
type format int

const (
	formatYAML format = iota
	formatCSV
)

// formatOf picks the format from a source name.
func formatOf(name string) format {
	n := strings.ToLower(name)
	n = strings.TrimSuffix(n, ".gz")
	if filepath.Ext(n) == ".csv" {
		return formatCSV
	}
	return formatYAML
}

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}
