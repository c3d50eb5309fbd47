package sim

// Neutral files: the model, the sampled draws and the per-trial outcomes of
// a simulation as plain tab-separated text, so that an independent
// implementation can run the same trials on identical input and compare
// its outcomes with Bulwark's (docs/neutral-format.md). This file holds
// what the three formats share: the line reader with located errors, field
// escaping and number syntax.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"bulwark"
)

// Format names and versions: the first line of each file.
const (
	graphMagic    = "bulwark-sim-graph"
	drawsMagic    = "bulwark-sim-draws"
	outcomesMagic = "bulwark-sim-outcomes"
	neutralV      = "1"
)

// maxLine bounds a line of a neutral file (IDs, names and skills are far
// shorter): a longer one is refused rather than buffered.
const maxLine = 64 << 10

// lineReader reads a neutral file line by line, splitting fields at tabs
// and counting lines for errors. Blank lines and lines starting with '#'
// are skipped.
type lineReader struct {
	r      *bufio.Reader
	name   string
	line   int
	fields []string
	peeked bool // the current line is to be returned again
	eof    bool
}

func newLineReader(r io.Reader, name string) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, maxLine), name: name}
}

// errf is an EINVALID error located at the current line.
func (l *lineReader) errf(format string, args ...any) error {
	return bulwark.Errorf(bulwark.EINVALID, "%s:%d: %s", l.name, l.line, fmt.Sprintf(format, args...))
}

// unread makes the next call to next return the current line again.
func (l *lineReader) unread() { l.peeked = true }

// next reads the next record's fields (unescaped); io.EOF at the end of a
// well-formed file. A last line without its newline is an error: the file
// was cut.
func (l *lineReader) next() ([]string, error) {
	if l.peeked {
		l.peeked = false
		return l.fields, nil
	}
	for {
		if l.eof {
			return nil, io.EOF
		}
		b, err := l.r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			l.line++
			return nil, l.errf("line longer than %d bytes", maxLine)
		case errors.Is(err, io.EOF):
			if len(b) == 0 {
				l.eof = true
				return nil, io.EOF
			}
			l.line++
			return nil, l.errf("the file ends in the middle of a line (truncated?)")
		case err != nil:
			return nil, fmt.Errorf("%s:%d: %w", l.name, l.line+1, err)
		}
		l.line++
		b = bytes.TrimSuffix(b[:len(b)-1], []byte{'\r'})
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		l.fields = l.fields[:0]
		for f := range bytes.SplitSeq(b, []byte{'\t'}) {
			s, ok := unescapeField(f)
			if !ok {
				return nil, l.errf("field %q has a %% not followed by 25, 09, 0A or 0D", bulwark.Abbrev(string(f), 64))
			}
			l.fields = append(l.fields, s)
		}
		return l.fields, nil
	}
}

// want checks a record's field count; rec names the record in the error.
func (l *lineReader) want(f []string, n int, layout string) error {
	if len(f) != n {
		return l.errf("%s record needs %d fields (%s), got %d", f[0], n, layout, len(f))
	}
	return nil
}

// header reads the first line: magic and version.
func (l *lineReader) header(magic string) error {
	f, err := l.next()
	if errors.Is(err, io.EOF) {
		return bulwark.Errorf(bulwark.EINVALID, "%s: empty file, expected a %q header", l.name, magic)
	}
	if err != nil {
		return err
	}
	if f[0] != magic {
		return l.errf("expected the header %q, got %q: not a %s file", magic, bulwark.Abbrev(f[0], 64), magic)
	}
	if len(f) != 2 || f[1] != neutralV {
		return l.errf("unsupported %s version %q (this Bulwark reads version %s)", magic, bulwark.Abbrev(strings.Join(f[1:], " "), 64), neutralV)
	}
	return nil
}

// end expects the end line and nothing after it.
func (l *lineReader) end() error {
	f, err := l.next()
	if err == nil {
		return l.errf("unexpected %q record after the end line", bulwark.Abbrev(f[0], 64))
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// truncated is the error for a file that ends before its end line.
func (l *lineReader) truncated(what string) error {
	return bulwark.Errorf(bulwark.EINVALID, "%s:%d: the file ends before %s (truncated?)", l.name, l.line, what)
}

// float parses a finite number ≥ 0.
func (l *lineReader) float(s, what string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, l.errf("%s %q is not a finite number ≥ 0", what, bulwark.Abbrev(s, 64))
	}
	return v, nil
}

// int parses an integer within lo..hi.
func (l *lineReader) integer(s, what string, lo, hi int64) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, l.errf("%s %q is not an integer within %d..%d", what, bulwark.Abbrev(s, 64), lo, hi)
	}
	return v, nil
}

// flag parses 0 or 1.
func (l *lineReader) flag(s, what string) (bool, error) {
	switch s {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, l.errf("%s %q must be 0 or 1", what, bulwark.Abbrev(s, 64))
}

// escapeField makes s safe for a tab-separated field: %, tab, LF and CR
// become %25, %09, %0A and %0D.
func escapeField(s string) string {
	if !strings.ContainsAny(s, "%\t\n\r") {
		return s
	}
	r := strings.NewReplacer("%", "%25", "\t", "%09", "\n", "%0A", "\r", "%0D")
	return r.Replace(s)
}

func unescapeField(b []byte) (string, bool) {
	i := bytes.IndexByte(b, '%')
	if i < 0 {
		return string(b), true
	}
	var sb strings.Builder
	for len(b) > 0 {
		i := bytes.IndexByte(b, '%')
		if i < 0 {
			sb.Write(b)
			break
		}
		sb.Write(b[:i])
		if len(b) < i+3 {
			return "", false
		}
		switch strings.ToUpper(string(b[i+1 : i+3])) {
		case "25":
			sb.WriteByte('%')
		case "09":
			sb.WriteByte('\t')
		case "0A":
			sb.WriteByte('\n')
		case "0D":
			sb.WriteByte('\r')
		default:
			return "", false
		}
		b = b[i+3:]
	}
	return sb.String(), true
}

// fmtFloat writes the shortest text that parses back to exactly v.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func fmtFlag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fmtDist writes a distribution as kind:parameters (docs/neutral-format.md).
func fmtDist(d Dist) string {
	switch d.Kind {
	case "uniform":
		return "uniform:" + fmtFloat(d.Min) + ":" + fmtFloat(d.Max)
	case "triangular":
		return "triangular:" + fmtFloat(d.Min) + ":" + fmtFloat(d.Mode) + ":" + fmtFloat(d.Max)
	case "lognormal":
		return "lognormal:" + fmtFloat(d.Mode) + ":" + fmtFloat(d.Sigma) + ":" + fmtFloat(d.Max)
	default:
		return "fixed:" + fmtFloat(d.Mode)
	}
}

// dist parses fmtDist's text and validates it.
func (l *lineReader) dist(s, what string) (Dist, error) {
	parts := strings.Split(s, ":")
	want := map[string]int{"fixed": 2, "uniform": 3, "triangular": 4, "lognormal": 4}
	n, ok := want[parts[0]]
	if !ok || len(parts) != n {
		return Dist{}, l.errf("%s %q is not fixed:H, uniform:MIN:MAX, triangular:MIN:MODE:MAX or lognormal:MEDIAN:SIGMA:MAX", what, bulwark.Abbrev(s, 64))
	}
	v := make([]float64, n-1)
	for i, p := range parts[1:] {
		x, err := l.float(p, what+" parameter")
		if err != nil {
			return Dist{}, err
		}
		v[i] = x
	}
	var d Dist
	switch parts[0] {
	case "fixed":
		d = Fixed(v[0])
	case "uniform":
		d = Dist{Kind: "uniform", Min: v[0], Max: v[1]}
	case "triangular":
		d = Triangular(v[0], v[1], v[2])
	case "lognormal":
		d = Dist{Kind: "lognormal", Mode: v[0], Sigma: v[1], Max: v[2]}
	}
	if err := d.Validate(what); err != nil {
		return Dist{}, l.errf("%s", bulwark.ErrorMessage(err))
	}
	return d, nil
}

// tsvWriter writes records, remembering the first error.
type tsvWriter struct {
	w   *bufio.Writer
	err error
	buf []byte
}

func newTSVWriter(w io.Writer) *tsvWriter { return &tsvWriter{w: bufio.NewWriterSize(w, 256<<10)} }

// rec writes one record; fields must already be escaped where needed.
func (t *tsvWriter) rec(fields ...string) {
	if t.err != nil {
		return
	}
	t.buf = t.buf[:0]
	for i, f := range fields {
		if i > 0 {
			t.buf = append(t.buf, '\t')
		}
		t.buf = append(t.buf, f...)
	}
	t.buf = append(t.buf, '\n')
	_, t.err = t.w.Write(t.buf)
}

func (t *tsvWriter) flush() error {
	if t.err != nil {
		return t.err
	}
	return t.w.Flush()
}
