// Package feed reads vulnerability feeds into bulwark.Vulnerability values:
// NVD JSON 1.1 yearly feeds, NVD CVE API 2.0 responses, Anchore's NVD
// overrides (NVD 2.0 configurations as JSON Lines), CVE JSON 5 records (one
// per file or one per line), CISA's KEV catalog and FIRST's EPSS CSV.
//
// The readers are streaming, strict and bounded: a 100 MB feed is read
// record by record, never as one tree; every record (and every envelope
// token) is capped at Options.MaxRecordBytes and Options.MaxDepth; JSON is
// decoded with go-json-experiment, which rejects duplicate object names and
// invalid UTF-8 and matches names case-sensitively. A malformed record in a
// well-formed file is skipped and reported as a bulwark.Problem; a
// malformed file stops the read with a *bulwark.Error that says where.
//
// Each record fills only what its source says, and carries one
// bulwark.Provenance: Source ("nvd", "nvd-api", "anchore", "cve5", "kev",
// "epss"), Document (the file's base name), FetchedAt, Modified (the
// record's own date; the catalog's or score file's date for KEV and EPSS)
// and Hash (sha256 of the record's exact bytes: the JSON value, the JSON
// line or the CSV line). Mapping in brief:
//
//   - NVD 1.1: a node becomes a bulwark.Node with its children; CVSS v3 and
//     v2 from impact are NVD's own (Primary).
//   - NVD 2.0 and Anchore: a configuration becomes Node{Operator (default
//     OR), Negate, Children: its nodes}; metrics keep source and
//     Primary/Secondary; NVD's cisaExploitAdd fields become a KEVEntry.
//     Anchore records carry ID, configurations and references only.
//   - CVE 5: CNA and ADP CVSS (Source = provider short name), CWEs,
//     references; each affected version becomes an AffectedProduct with
//     Version, Range "<X" or "<=X", VersionType and Source = provider; a
//     known defaultStatus adds a Range "*" statement; versions with status
//     "unknown" say nothing and are dropped. CISA-ADP SSVC goes to ADP, the
//     ADP KEV marker to KEV{DateAdded}.
//   - KEV: Vulnerability{ID, KEV}; EPSS: Vulnerability{ID, EPSS}.
package feed

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

// Format is a feed format.
type Format int

// Feed formats. FormatCSAF and FormatCycloneDX are recognised by Detect but
// read only once a reader is registered for them (see Register).
const (
	FormatUnknown   Format = iota
	FormatNVD11            // NVD JSON 1.1 data feed: {"CVE_Items": [...]}
	FormatNVD20            // NVD CVE API 2.0 response: {"vulnerabilities": [{"cve": ...}]}
	FormatAnchore          // Anchore NVD overrides: {"_annotation": ..., "cve": {"configurations": ...}}, one per line or file
	FormatCVE5             // CVE JSON 5 record(s), one JSON document after another
	FormatCVE5Lines        // CVE JSON 5 records, one per line
	FormatKEV              // CISA Known Exploited Vulnerabilities catalog JSON
	FormatEPSS             // FIRST EPSS scores CSV
	FormatCSAF             // CSAF 2.0 advisory
	FormatCycloneDX        // CycloneDX BOM / VEX
)

var formatNames = [...]string{
	FormatUnknown:   "unknown",
	FormatNVD11:     "nvd-1.1",
	FormatNVD20:     "nvd-2.0",
	FormatAnchore:   "anchore",
	FormatCVE5:      "cve5",
	FormatCVE5Lines: "cve5-lines",
	FormatKEV:       "kev",
	FormatEPSS:      "epss",
	FormatCSAF:      "csaf",
	FormatCycloneDX: "cyclonedx",
}

func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat returns the Format named by s (as Format.String spells it).
func ParseFormat(s string) (Format, bool) {
	for i, n := range formatNames {
		if n == s {
			return Format(i), true
		}
	}
	return FormatUnknown, false
}

// Record is one vulnerability read from a feed.
type Record struct {
	Vuln bulwark.Vulnerability
	// Path is the JSON pointer of the record in its file
	// ("/CVE_Items/17"); empty for line-oriented formats.
	Path string
	// Line is the 1-based line of the record in line-oriented formats
	// (JSON Lines, CSV); 0 otherwise.
	Line int
}

// Options tune Read. The zero value is ready to use.
type Options struct {
	// FetchedAt is recorded in every record's provenance. When zero, Read
	// uses the modification time of r if r has a ModTime() time.Time
	// method (the readers Walk opens have one), else the current time.
	FetchedAt time.Time
	// MaxRecordBytes caps one record (and any single envelope token); a
	// larger one stops the read with ETOOLARGE. Default 16 MiB.
	MaxRecordBytes int64
	// MaxDepth caps JSON nesting, counted from the top of the file.
	// Default 64; the JSON decoder itself never goes beyond 10000.
	MaxDepth int
	// Format selects the reader; FormatUnknown (0) detects it.
	Format Format
	// Workers is how many goroutines decode records; 0 means GOMAXPROCS.
	// With 1, Read starts no goroutine at all: framing and decoding run
	// on the caller's goroutine, which suits small files and fuzzing.
	Workers int
}

// Defaults for Options.
const (
	DefaultMaxRecordBytes = 16 << 20
	DefaultMaxDepth       = 64
)

func (o Options) withDefaults() Options {
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// Stats summarises one Read.
type Stats struct {
	Format  Format
	Records int   // records passed to fn
	Skipped int   // malformed records skipped; one Problem each
	Bytes   int64 // bytes read, after decompression
}

// ReaderFunc reads one file of a registered format. It calls emit for each
// record in order and returns one Problem per skipped record. name is the
// file name for messages; the reader of a JSON format should honour
// opts.MaxRecordBytes and opts.MaxDepth.
type ReaderFunc func(ctx context.Context, name string, r io.Reader, opts Options, emit func(Record) error) ([]bulwark.Problem, error)

var (
	registryMu sync.RWMutex
	registry   = map[Format]ReaderFunc{}
)

// Register installs the reader for a format this package does not read
// itself (FormatCSAF, FormatCycloneDX). It replaces any earlier reader.
func Register(f Format, read ReaderFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[f] = read
}

func registered(f Format) ReaderFunc {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registry[f]
}

// peekSize is how much of a file Read shows Detect.
const peekSize = 8 << 10

// Read streams the records of one file to fn, in file order, from the
// calling goroutine. name is used in messages and, without its directory,
// as the provenance document. r may be gzip-compressed. Malformed records
// are skipped and returned as problems (one per record); a malformed file
// stops with a *bulwark.Error (EINVALID, or ETOOLARGE when a cap is
// exceeded) whose Details locate the break. An error returned by fn stops
// the read and is returned as is.
func Read(ctx context.Context, name string, r io.Reader, opts Options, fn func(Record) error) (st Stats, probs []bulwark.Problem, err error) {
	opts = opts.withDefaults()
	if opts.FetchedAt.IsZero() {
		if m, ok := r.(interface{ ModTime() time.Time }); ok {
			opts.FetchedAt = m.ModTime().UTC()
		} else {
			opts.FetchedAt = time.Now().UTC()
		}
	}
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, peekSize)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return st, nil, fileError(bulwark.EINVALID, name, "", fmt.Sprintf("bad gzip header: %v", err))
		}
		defer zr.Close()
		cr = &countingReader{r: zr}
		br = bufio.NewReaderSize(cr, peekSize)
	}
	defer func() { st.Bytes = cr.n }() // cr is the decompressed stream by now

	st.Format = opts.Format
	if st.Format == FormatUnknown {
		peek, perr := br.Peek(peekSize)
		if perr != nil && perr != io.EOF && !errors.Is(perr, bufio.ErrBufferFull) {
			return st, nil, fileError(bulwark.EINVALID, name, "", fmt.Sprintf("reading: %v", perr))
		}
		st.Format = Detect(peek)
		if st.Format == FormatUnknown {
			return st, nil, fileError(bulwark.EUNSUPPORTED, name, "", "unrecognised feed format")
		}
	}
	emit := func(rec Record) error {
		if err := fn(rec); err != nil {
			return err
		}
		st.Records++
		return nil
	}

	if builtin(st.Format) {
		var skipped int
		probs, skipped, err = readBuiltin(ctx, name, br, st.Format, opts, emit)
		st.Skipped = skipped
		return st, probs, err
	}
	read := registered(st.Format)
	if read == nil {
		return st, nil, fileError(bulwark.EUNSUPPORTED, name, "", fmt.Sprintf("no reader for %s files yet", st.Format))
	}
	probs, err = read(ctx, name, br, opts, emit)
	st.Skipped = len(probs)
	return st, probs, err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// fileError is the error for a malformed file: Message names the file and
// Details hold one Problem at the JSON pointer where reading broke.
func fileError(code, name, pointer, why string) *bulwark.Error {
	doc := filepath.Base(name)
	msg := doc + ": " + why
	if pointer != "" {
		msg = doc + ": at " + pointer + ": " + why
	}
	return &bulwark.Error{
		Code:    code,
		Message: msg,
		Details: []bulwark.Problem{{File: doc, Field: pointer, Message: why}},
	}
}

// Detect names the format of a feed from its first few KB (decompressed).
// It looks at the top-level object names (and a few values) rather than
// searching for substrings, so a CVE description quoting "CVE_Items" does
// not fool it.
func Detect(peek []byte) Format {
	b := bytes.TrimPrefix(peek, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return FormatUnknown
	}
	if b[0] != '{' {
		if isEPSSHeader(b) {
			return FormatEPSS
		}
		return FormatUnknown
	}
	keys, values := topLevelNames(b)
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("CVE_Items") || values["CVE_data_type"] == "CVE":
		return FormatNVD11
	case values["format"] == "NVD_CVE" || has("resultsPerPage") && has("vulnerabilities"):
		return FormatNVD20
	case has("catalogVersion") || has("dateReleased") && has("vulnerabilities"):
		return FormatKEV
	case has("_annotation"):
		return FormatAnchore
	case values["dataType"] == "CVE_RECORD" || has("cveMetadata") || has("containers"):
		if minified(b) {
			return FormatCVE5Lines
		}
		return FormatCVE5
	case values["bomFormat"] == "CycloneDX":
		return FormatCycloneDX
	case has("document") && (has("product_tree") || has("vulnerabilities")) || has("document") && len(keys) == 1:
		return FormatCSAF
	}
	return FormatUnknown
}

// minified reports whether a JSON object starts without a line break
// before its first name, as a JSON Lines record does. A pretty-printed
// document breaks the line right after its opening brace.
func minified(b []byte) bool {
	for _, c := range b[1:] {
		switch c {
		case '\n':
			return false
		case ' ', '\t', '\r':
		default:
			return true
		}
	}
	return false
}

// topLevelNames returns the names of the top-level object in b as far as b
// goes, and the values of those that are strings. b may be cut anywhere.
func topLevelNames(b []byte) (map[string]struct{}, map[string]string) {
	keys := map[string]struct{}{}
	values := map[string]string{}
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return keys, values
	}
	for len(keys) < 64 {
		tok, err := dec.ReadToken()
		if err != nil || tok.Kind() != '"' {
			break
		}
		name := tok.String()
		keys[name] = struct{}{}
		if dec.PeekKind() == '"' {
			v, err := dec.ReadToken()
			if err != nil {
				break
			}
			if s := v.String(); len(s) < 64 {
				values[name] = s
			}
			continue
		}
		if err := dec.SkipValue(); err != nil {
			break
		}
	}
	return keys, values
}
