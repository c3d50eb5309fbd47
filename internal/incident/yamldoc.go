package incident

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/yamlerr"
)

// Caps of the YAML files this package reads.
const (
	MaxFileBytes = 1 << 20 // a playbook or a directory file
	maxProblems  = 100
	maxShort     = 500    // titles, names
	maxLong      = 10_000 // descriptions, details
	maxItems     = 500    // entries of any list
)

// doc decodes one YAML document node by node, collecting every problem
// with its file, line, column and field path.
type doc struct {
	file  string
	probs []bulwark.Problem
	total int
}

func (d *doc) bad(n *yaml.Node, field, format string, args ...any) {
	d.total++
	if len(d.probs) >= maxProblems {
		return
	}
	p := bulwark.Problem{File: d.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.probs = append(d.probs, p)
}

// err returns the problems as one EINVALID error, nil when there are none.
func (d *doc) err(what string) error {
	if d.total == 0 {
		return nil
	}
	slices.SortStableFunc(d.probs, func(a, b bulwark.Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	e := bulwark.Errorf(bulwark.EINVALID, "%s: %d problem(s) in the %s, first: %s", d.file, d.total, what, d.probs[0])
	if d.total > len(d.probs) {
		e.Message += fmt.Sprintf(" (the first %d are listed)", len(d.probs))
	}
	e.Details = d.probs
	return e
}

// readOne reads r (at most MaxFileBytes) and returns the mapping at the
// root of its single YAML document.
func readOne(r io.Reader, name, what string) (*yaml.Node, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > MaxFileBytes {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "%s is larger than %d bytes", name, MaxFileBytes)
	}
	if !utf8.Valid(b) {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s is not UTF-8 text", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, located(name, 0, 0, "", "the file is empty: it must hold a "+what)
		}
		return nil, located(name, lineOf(err), 0, "", syntaxMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, located(name, lineOf(err), 0, "", syntaxMessage(err))
		}
		return nil, located(name, extra.Line, extra.Column, "", "a second document: a file holds one "+what)
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil, located(name, n.Line, n.Column, "", "a "+what+" is a mapping (key: value lines), got "+yamlerr.Describe(n))
	}
	return n, nil
}

// syntaxMessage is a YAML syntax error without its "line N:" prefix, which
// the location carries.
func syntaxMessage(err error) string {
	msg := yamlerr.Message(err)
	if strings.HasPrefix(msg, "line ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}

// lineOf extracts "line N" from a yaml.v3 syntax error, 0 if absent.
func lineOf(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	j := i + 5
	for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(msg[i+5 : j])
	return n
}

// located is one located problem as an error.
func located(file string, line, col int, field, msg string) error {
	p := bulwark.Problem{File: file, Line: line, Column: col, Field: field, Message: msg}
	e := bulwark.Errorf(bulwark.EINVALID, "%s", p.String())
	e.Details = []bulwark.Problem{p}
	return e
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// plain refuses anchors and aliases, so that a small file never expands.
func (d *doc) plain(n *yaml.Node, field string) bool {
	if n.Kind == yaml.AliasNode {
		d.bad(n, field, "YAML aliases (*name) are not supported; write the value out")
		return false
	}
	if n.Anchor != "" {
		d.bad(n, field, "YAML anchors (&name) are not supported; write the value out")
		return false
	}
	return true
}

// fields walks a mapping, reporting unknown, duplicate and missing
// required keys; fn is called for each known key with a value.
func (d *doc) fields(n *yaml.Node, path string, known, required []string, fn func(key string, v *yaml.Node, path string)) {
	if !d.plain(n, path) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.bad(n, path, "want a mapping with %s, got %s", strings.Join(known, ", "), yamlerr.Describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.plain(k, path) {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			d.bad(k, path, "keys must be field names, got %s", yamlerr.Describe(k))
			continue
		}
		field := join(path, k.Value)
		if !slices.Contains(known, k.Value) {
			d.bad(k, field, "unknown field %q (fields here: %s)", yamlerr.Clip(k.Value), strings.Join(known, ", "))
			continue
		}
		if seen[k.Value] {
			d.bad(k, field, "field %q is given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		if isNull(v) {
			if slices.Contains(required, k.Value) {
				d.bad(v, field, "required field %q is empty", k.Value)
			}
			continue
		}
		fn(k.Value, v, field)
	}
	for _, r := range required {
		if !seen[r] {
			d.bad(n, join(path, r), "required field %q is missing", r)
		}
	}
}

// list walks a sequence; null is an empty list.
func (d *doc) list(n *yaml.Node, path string, fn func(i int, v *yaml.Node, path string)) {
	if isNull(n) || !d.plain(n, path) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.bad(n, path, "want a list, got %s", yamlerr.Describe(n))
		return
	}
	if len(n.Content) > maxItems {
		d.bad(n, path, "the list has %d entries; at most %d are allowed", len(n.Content), maxItems)
		return
	}
	for i, v := range n.Content {
		fn(i, v, fmt.Sprintf("%s[%d]", path, i))
	}
}

// text reads a string of at most max bytes without control characters
// (newlines and tabs allowed in long texts).
func (d *doc) text(n *yaml.Node, path string, max int) string {
	if !d.plain(n, path) {
		return ""
	}
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.bad(n, path, "want text, got %s", yamlerr.Describe(n))
		return ""
	}
	s := n.Value
	if len(s) > max {
		d.bad(n, path, "text is longer than %d bytes", max)
		return ""
	}
	for _, r := range s {
		if r < 0x20 && !(max > maxShort && (r == '\n' || r == '\t')) || r >= 0x7f && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			d.bad(n, path, "text contains the control character %U", r)
			return ""
		}
	}
	return s
}

// required reads a text that must not be empty.
func (d *doc) required(n *yaml.Node, path string, max int) string {
	s := d.text(n, path, max)
	if strings.TrimSpace(s) == "" && n.Kind == yaml.ScalarNode && n.Value == s {
		d.bad(n, path, "must not be empty")
	}
	return s
}

// id reads an identifier.
func (d *doc) id(n *yaml.Node, path string) string {
	s := d.text(n, path, bulwark.MaxIDLen+1)
	if s == "" {
		return ""
	}
	if !bulwark.ValidID(s) {
		d.bad(n, path, "%q is not a valid id: 1-%d letters, digits, '.', '_', ':' or '-', starting with a letter or digit", yamlerr.Clip(s), bulwark.MaxIDLen)
		return ""
	}
	return s
}

// ids reads a list of identifiers.
func (d *doc) ids(n *yaml.Node, path string) []string {
	var out []string
	d.list(n, path, func(_ int, v *yaml.Node, p string) {
		if s := d.id(v, p); s != "" {
			out = append(out, s)
		}
	})
	return out
}

// integer reads a whole number in [lo, hi].
func (d *doc) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	if !d.plain(n, path) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.bad(n, path, "want a whole number, got %s", yamlerr.Describe(n))
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil || v < lo || v > hi {
		d.bad(n, path, "want a whole number from %d to %d, got %s", lo, hi, yamlerr.Clip(n.Value))
		return 0, false
	}
	return v, true
}

// duration reads "90m", "4h", "1d12h".
func (d *doc) duration(n *yaml.Node, path string) bulwark.Duration {
	s := d.text(n, path, 40)
	if s == "" {
		return 0
	}
	x, err := bulwark.ParseDuration(s)
	if err != nil || x <= 0 || x > bulwark.Duration(365*24*60*60*1e9) {
		d.bad(n, path, "%q is not a duration: use e.g. 30m, 4h, 2d (up to a year)", yamlerr.Clip(s))
		return 0
	}
	return x
}
