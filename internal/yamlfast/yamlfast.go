// Package yamlfast parses the plain subset of YAML that machine-written city
// models use (block mappings and sequences, single-line flow collections,
// plain, single- and double-quoted single-line scalars, full-line comments)
// into the same yaml.Node tree go.yaml.in/yaml/v3 builds, about ten times
// faster.
//
// Why it exists: yaml.v3 parses about 12 MB/s on one core here, so a
// million-asset city (≈ 400 MB of YAML) would take over half a minute just
// to parse, while the import target is 30 s end to end. No faster YAML
// library installs here (goccy/go-yaml measured 3-4 MB/s). Parse never
// guesses: anything outside the subset — anchors, tags, block scalars,
// multi-line scalars, trailing comments, tabs, odd indentation — returns
// ErrUnsupported and the caller falls back to yaml.v3, which then also
// produces the error messages for malformed input. A differential fuzz test
// checks that every tree Parse returns equals yaml.v3's.
package yamlfast

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ErrUnsupported means the input uses YAML outside the fast subset (or is
// malformed); parse it with yaml.v3 instead.
var ErrUnsupported = errors.New("yamlfast: input outside the supported subset")

type line struct {
	num    int    // 1-based line number
	indent int    // leading spaces
	text   []byte // content after the indentation, trailing spaces removed
}

type parser struct {
	lines  []line
	i      int
	depth  int               // nesting of block collections
	slab   []yaml.Node       // nodes are carved from slabs: one allocation per 256
	intern map[string]string // repeated short scalars (keys, enum values) share one string
}

func (p *parser) node() *yaml.Node {
	if len(p.slab) == 0 {
		p.slab = make([]yaml.Node, 256)
	}
	n := &p.slab[0]
	p.slab = p.slab[1:]
	return n
}

// str returns b as a string, sharing the storage of short repeated values.
func (p *parser) str(b []byte) string {
	if len(b) > 24 {
		return string(b)
	}
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(p.intern) < 4096 {
		p.intern[s] = s
	}
	return s
}

// Parse parses one YAML document (optionally starting with a "---" line)
// exactly as yaml.Unmarshal(src, &node) would, or returns ErrUnsupported.
func Parse(src []byte) (*yaml.Node, error) {
	if !printable(src) {
		return nil, ErrUnsupported
	}
	p := &parser{lines: make([]line, 0, bytes.Count(src, []byte{'\n'})+1), intern: make(map[string]string)}
	docLine := 0
	num := 0
	for len(src) > 0 {
		num++
		var raw []byte
		if j := bytes.IndexByte(src, '\n'); j >= 0 {
			raw, src = src[:j], src[j+1:]
		} else {
			raw, src = src, nil
		}
		if len(raw) > 0 && raw[len(raw)-1] == '\r' {
			return nil, ErrUnsupported
		}
		ind := 0
		for ind < len(raw) && raw[ind] == ' ' {
			ind++
		}
		text := bytes.TrimRight(raw[ind:], " ")
		if len(text) == 0 {
			continue
		}
		switch {
		case bytes.IndexByte(raw, '\t') >= 0:
			return nil, ErrUnsupported
		case text[0] == '#':
			if len(p.lines) > 0 || docLine > 0 {
				return nil, ErrUnsupported // comments between nodes attach to nodes; leave them to yaml.v3
			}
			continue
		case ind == 0 && (bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("..."))):
			if string(text) != "---" || docLine > 0 || len(p.lines) > 0 {
				return nil, ErrUnsupported
			}
			docLine = num
			continue
		case text[0] == '%':
			return nil, ErrUnsupported
		}
		p.lines = append(p.lines, line{num: num, indent: ind, text: text})
	}
	if len(p.lines) == 0 || p.lines[0].indent != 0 {
		return nil, ErrUnsupported
	}
	if docLine == 0 {
		docLine = p.lines[0].num
	}
	root, err := p.block(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(p.lines) {
		return nil, ErrUnsupported
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: docLine, Column: 1, Content: []*yaml.Node{root}}, nil
}

// printable reports whether src is valid UTF-8 made only of characters YAML
// allows in a stream (newlines, and no tabs, carriage returns or BOM here).
func printable(src []byte) bool {
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1,
			r >= 0x80 && r <= 0x9f, r == 0xfeff, r == 0xfffe, r == 0xffff, r >= 0xd800 && r <= 0xdfff, r == 0x2028, r == 0x2029:
			return false
		}
		i += size
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxBlockDepth bounds the nesting of block collections; deeper input goes
// to yaml.v3.
const maxBlockDepth = 64

// block parses the sequence or mapping whose lines start at indent.
func (p *parser) block(indent int) (*yaml.Node, error) {
	if p.depth++; p.depth > maxBlockDepth {
		return nil, ErrUnsupported
	}
	defer func() { p.depth-- }()
	l := p.lines[p.i]
	if l.indent != indent {
		return nil, ErrUnsupported
	}
	if isDash(l.text) {
		return p.sequence(indent)
	}
	return p.mapping(indent, l.text, indent+1)
}

func isDash(t []byte) bool { return t[0] == '-' && (len(t) == 1 || t[1] == ' ') }

// sequence parses "- item" lines at indent.
func (p *parser) sequence(indent int) (*yaml.Node, error) {
	first := p.lines[p.i]
	seq := p.node()
	*seq = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: first.num, Column: indent + 1}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent {
			break
		}
		if l.indent > indent || !isDash(l.text) {
			if l.indent == indent {
				break // back in the parent mapping ("key:\n- a\nnext: b")
			}
			return nil, ErrUnsupported
		}
		rest := l.text[1:]
		off := 1
		for len(rest) > 0 && rest[0] == ' ' {
			rest, off = rest[1:], off+1
		}
		col := indent + off + 1 // 1-based column of the item
		switch {
		case len(rest) == 0:
			// "-" alone: the item is the block on the following lines.
			p.i++
			if p.i >= len(p.lines) || p.lines[p.i].indent <= indent {
				return nil, ErrUnsupported
			}
			item, err := p.block(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, item)
		case isDash(rest):
			return nil, ErrUnsupported
		case startsMappingEntry(rest):
			item, err := p.mapping(col-1, rest, col)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, item)
		default:
			v, err := p.inlineValue(rest, l.num, col)
			if err != nil {
				return nil, err
			}
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				return nil, ErrUnsupported // multi-line scalar
			}
			seq.Content = append(seq.Content, v)
		}
	}
	return seq, nil
}

// startsMappingEntry reports whether t begins with "key:" followed by a
// space or the end of the line, for a plain or double-quoted key.
func startsMappingEntry(t []byte) bool {
	_, _, ok := splitKey(t)
	return ok
}

// maxKeyLen is below YAML's limit of 1024 characters for implicit keys,
// which yaml.v3 enforces; longer keys go to yaml.v3 for its error.
const maxKeyLen = 1000

// splitKey splits "key: rest" into the key bytes (quotes included) and the
// rest after ": ".
func splitKey(t []byte) (key, rest []byte, ok bool) {
	key, rest, ok = splitKeyAnyLen(t)
	if len(key) > maxKeyLen {
		return nil, nil, false
	}
	return key, rest, ok
}

func splitKeyAnyLen(t []byte) (key, rest []byte, ok bool) {
	if len(t) == 0 {
		return nil, nil, false
	}
	if t[0] == '"' {
		end := closingQuote(t)
		if end < 0 || end+1 >= len(t) || t[end+1] != ':' {
			return nil, nil, false
		}
		if end+2 < len(t) && t[end+2] != ' ' {
			return nil, nil, false
		}
		return t[:end+1], trimLeft(t[end+2:]), true
	}
	for j := 0; j < len(t); j++ {
		if t[j] == ':' && (j+1 == len(t) || t[j+1] == ' ') {
			if j == 0 || !plainOK(t[:j], false) {
				return nil, nil, false
			}
			return t[:j], trimLeft(t[j+1:]), true
		}
	}
	return nil, nil, false
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// mapping parses "key: value" entries at indent. The first entry's text is
// given (it may follow a "- " on the line); col is its 1-based column.
func (p *parser) mapping(indent int, text []byte, col int) (*yaml.Node, error) {
	m := p.node()
	*m = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.lines[p.i].num, Column: col}
	for {
		l := p.lines[p.i]
		keyText, rest, ok := splitKey(text)
		if !ok {
			return nil, ErrUnsupported
		}
		key, err := p.scalar(keyText, l.num, col)
		if err != nil {
			return nil, err
		}
		if key.Tag != "!!str" && key.Tag != "!!int" && key.Tag != "!!bool" && key.Tag != "!!float" {
			return nil, ErrUnsupported
		}
		var val *yaml.Node
		if len(rest) == 0 {
			p.i++
			if p.i >= len(p.lines) {
				return nil, ErrUnsupported
			}
			next := p.lines[p.i]
			switch {
			case next.indent > indent:
				val, err = p.block(next.indent)
			case next.indent == indent && isDash(next.text):
				val, err = p.sequence(indent)
			default:
				return nil, ErrUnsupported // empty value: leave the null's position to yaml.v3
			}
			if err != nil {
				return nil, err
			}
		} else {
			vcol := col + utf8.RuneCount(text[:len(text)-len(rest)])
			val, err = p.inlineValue(rest, l.num, vcol)
			if err != nil {
				return nil, err
			}
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				return nil, ErrUnsupported // multi-line scalar or stray indentation
			}
		}
		m.Content = append(m.Content, key, val)
		if p.i >= len(p.lines) {
			return m, nil
		}
		next := p.lines[p.i]
		if next.indent < indent {
			return m, nil
		}
		if next.indent > indent {
			return nil, ErrUnsupported
		}
		if isDash(next.text) {
			return m, nil // the parent sequence's next item, or malformed; the caller decides
		}
		text, col = next.text, indent+1
	}
}

// inlineValue parses a value that sits on one line: a flow collection or a
// scalar.
func (p *parser) inlineValue(t []byte, num, col int) (*yaml.Node, error) {
	switch t[0] {
	case '[', '{':
		f := flow{p: p, src: t, num: num, col: col, ascii: isASCII(t)}
		n, err := f.value()
		if err != nil {
			return nil, err
		}
		if f.pos != len(f.src) {
			return nil, ErrUnsupported
		}
		return n, nil
	}
	return p.scalar(t, num, col)
}

// scalar parses a whole single-line scalar.
func (p *parser) scalar(t []byte, num, col int) (*yaml.Node, error) {
	switch t[0] {
	case '"':
		end := closingQuote(t)
		if end != len(t)-1 {
			return nil, ErrUnsupported
		}
		v, ok := unquoteDouble(t[1:end])
		if !ok {
			return nil, ErrUnsupported
		}
		n := p.node()
		*n = yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Tag: "!!str", Value: v, Line: num, Column: col}
		return n, nil
	case '\'':
		v, ok := unquoteSingle(t)
		if !ok {
			return nil, ErrUnsupported
		}
		n := p.node()
		*n = yaml.Node{Kind: yaml.ScalarNode, Style: yaml.SingleQuotedStyle, Tag: "!!str", Value: v, Line: num, Column: col}
		return n, nil
	}
	if !plainOK(t, false) {
		return nil, ErrUnsupported
	}
	return p.plainNode(t, num, col), nil
}

func (p *parser) plainNode(b []byte, num, col int) *yaml.Node {
	v := p.str(b)
	n := p.node()
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: num, Column: col}
	if strings.IndexByte("+-0123456789yYnNtTfFoO~<.", v[0]) >= 0 {
		// Could be a number, bool, null, timestamp or merge key: ask yaml.v3's
		// own implicit resolution. Any other first character is a string
		// (the first-character table of yaml.v3's resolver).
		n.Tag = ""
		n.Tag = n.ShortTag()
	}
	return n
}

// plainOK reports whether t is a plain scalar yaml.v3 reads as the same
// characters. It is deliberately strict: anything doubtful falls back.
func plainOK(t []byte, inFlow bool) bool {
	if len(t) == 0 {
		return false
	}
	switch t[0] {
	case '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '{', '[', ']', '}', ',', '#', '?', ':', '-':
		if t[0] == '-' && len(t) > 1 && t[1] != ' ' && t[1] != '-' {
			break // "-5", "-x" are plain
		}
		return false
	}
	for j, c := range t {
		switch c {
		case '#':
			if t[j-1] == ' ' {
				return false
			}
		case ':':
			if j+1 == len(t) || t[j+1] == ' ' || inFlow {
				return false
			}
		case ',', '[', ']', '{', '}', '?', '"', '\'', '&', '*', '!', '|', '>', '%', '@', '`':
			// Inside flow collections yaml.v3's scanner reads several of
			// these as indicators; keep such scalars for yaml.v3.
			if inFlow {
				return false
			}
		case '\\':
			// plain scalars keep backslashes literally; fine
		}
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return t[len(t)-1] != ' '
}

// closingQuote returns the index of the '"' that closes the double-quoted
// scalar starting at t[0], or -1.
func closingQuote(t []byte) int {
	for j := 1; j < len(t); j++ {
		switch t[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

func unquoteDouble(b []byte) (string, bool) {
	if bytes.IndexByte(b, '\\') < 0 {
		for _, c := range b {
			if c < 0x20 && c != '\t' {
				return "", false
			}
		}
		return string(b), true
	}
	out := make([]byte, 0, len(b))
	for j := 0; j < len(b); j++ {
		c := b[j]
		if c != '\\' {
			if c < 0x20 && c != '\t' {
				return "", false
			}
			out = append(out, c)
			continue
		}
		j++
		if j >= len(b) {
			return "", false
		}
		switch b[j] {
		case '"', '\\':
			out = append(out, b[j])
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case '0':
			out = append(out, 0)
		case 'x', 'u', 'U':
			size := 2
			if b[j] == 'u' {
				size = 4
			} else if b[j] == 'U' {
				size = 8
			}
			if j+1+size > len(b) {
				return "", false
			}
			r, err := strconv.ParseUint(string(b[j+1:j+1+size]), 16, 32)
			if err != nil || r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
				return "", false
			}
			out = utf8.AppendRune(out, rune(r))
			j += size
		default:
			return "", false
		}
	}
	return string(out), true
}

// unquoteSingle parses a whole single-quoted scalar ('it”s').
func unquoteSingle(t []byte) (string, bool) {
	if len(t) < 2 || t[len(t)-1] != '\'' {
		return "", false
	}
	body := t[1 : len(t)-1]
	out := make([]byte, 0, len(body))
	for j := 0; j < len(body); j++ {
		if body[j] == '\'' {
			if j+1 < len(body) && body[j+1] == '\'' {
				out = append(out, '\'')
				j++
				continue
			}
			return "", false
		}
		if body[j] < 0x20 && body[j] != '\t' {
			return "", false
		}
		out = append(out, body[j])
	}
	return string(out), true
}

// flow parses a single-line flow collection.
type flow struct {
	p        *parser
	src      []byte
	pos      int
	num, col int  // line, and the column of src[0]
	ascii    bool // src is ASCII: columns are byte offsets
	depth    int
}

// maxFlowDepth bounds nesting; deeper input goes to yaml.v3, which has its
// own depth limit.
const maxFlowDepth = 32

func (f *flow) column() int {
	if f.ascii {
		return f.col + f.pos
	}
	return f.col + utf8.RuneCount(f.src[:f.pos])
}

func (f *flow) skipSpaces() {
	for f.pos < len(f.src) && f.src[f.pos] == ' ' {
		f.pos++
	}
}

func (f *flow) value() (*yaml.Node, error) {
	f.skipSpaces()
	if f.pos >= len(f.src) {
		return nil, ErrUnsupported
	}
	switch f.src[f.pos] {
	case '[':
		return f.collection(yaml.SequenceNode, ']')
	case '{':
		return f.collection(yaml.MappingNode, '}')
	case '"':
		col := f.column()
		end := closingQuote(f.src[f.pos:])
		if end < 0 {
			return nil, ErrUnsupported
		}
		v, ok := unquoteDouble(f.src[f.pos+1 : f.pos+end])
		if !ok {
			return nil, ErrUnsupported
		}
		f.pos += end + 1
		n := f.p.node()
		*n = yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Tag: "!!str", Value: v, Line: f.num, Column: col}
		return n, nil
	}
	col := f.column()
	start := f.pos
	for f.pos < len(f.src) {
		c := f.src[f.pos]
		if c == ',' || c == ']' || c == '}' || c == ':' {
			break
		}
		f.pos++
	}
	t := bytes.TrimRight(f.src[start:f.pos], " ")
	if !plainOK(t, true) {
		return nil, ErrUnsupported
	}
	return f.p.plainNode(t, f.num, col), nil
}

func (f *flow) collection(kind yaml.Kind, closer byte) (*yaml.Node, error) {
	if f.depth++; f.depth > maxFlowDepth {
		return nil, ErrUnsupported
	}
	defer func() { f.depth-- }()
	n := f.p.node()
	*n = yaml.Node{Kind: kind, Style: yaml.FlowStyle, Line: f.num, Column: f.column()}
	if kind == yaml.MappingNode {
		n.Tag = "!!map"
	} else {
		n.Tag = "!!seq"
	}
	f.pos++ // opener
	f.skipSpaces()
	if f.pos < len(f.src) && f.src[f.pos] == closer {
		f.pos++
		return n, nil
	}
	for {
		f.skipSpaces()
		keyStart := f.pos
		item, err := f.value()
		if err != nil {
			return nil, err
		}
		if kind == yaml.MappingNode {
			if item.Kind != yaml.ScalarNode || f.pos-keyStart > maxKeyLen || f.pos+1 >= len(f.src) || f.src[f.pos] != ':' || f.src[f.pos+1] != ' ' {
				return nil, ErrUnsupported
			}
			f.pos++
			val, err := f.value()
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, item, val)
		} else {
			if f.pos < len(f.src) && f.src[f.pos] == ':' {
				return nil, ErrUnsupported // single-pair mapping inside a sequence
			}
			n.Content = append(n.Content, item)
		}
		f.skipSpaces()
		if f.pos >= len(f.src) {
			return nil, ErrUnsupported
		}
		switch f.src[f.pos] {
		case ',':
			f.pos++
			f.skipSpaces()
			if f.pos < len(f.src) && (f.src[f.pos] == closer || f.src[f.pos] == ',') {
				return nil, ErrUnsupported // trailing or empty entry
			}
		case closer:
			f.pos++
			return n, nil
		default:
			return nil, ErrUnsupported
		}
	}
}
