package citymodel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"bulwark"
)

// A document is one YAML document of a file: its text and the line of the
// file its first byte is on, so that positions reported by the YAML parser
// (relative to the document) map back to lines of the file.
type document struct {
	Line int
	Data []byte
}

// splitter cuts a YAML stream into documents with a line scanner, so that a
// file of any size is parsed one document at a time. A document starts at a
// line that is "---" alone or followed by a space or tab at column 0, and
// ends before the next such line or after a "..." end marker line. Comments,
// blank lines and directives before the first "---" belong to the document
// that follows them. This matches YAML, where these markers at column 0 are
// never content, not even inside block or quoted scalars.
//
// A document larger than max bytes is refused as soon as it is seen, so a
// huge single-document file fails fast with memory bounded by max.
type splitter struct {
	r    *bufio.Reader
	name string
	max  int

	line      int    // lines consumed so far
	buf       []byte // the document being accumulated
	carry     []byte // start of the next document, read ahead
	carryLine int
	start     int // line of buf[0]
	first     bool
}

func newSplitter(r io.Reader, name string, max int) *splitter {
	return &splitter{r: bufio.NewReaderSize(r, 64<<10), name: name, max: max, first: true}
}

// errTooLarge builds the error for a document over the cap.
func (s *splitter) errTooLarge(line int) error {
	return &bulwark.Error{
		Code: bulwark.ETOOLARGE,
		Message: fmt.Sprintf("%s: the YAML document starting at line %d is larger than %d MiB; split it into several documents separated by lines of ---",
			s.name, line, s.max>>20),
		Details: []bulwark.Problem{{File: s.name, Line: line, Message: fmt.Sprintf("document larger than %d MiB; split it into documents separated by ---", s.max>>20)}},
	}
}

// lineKind classifies the start of a line.
type lineKind int

const (
	lineContent lineKind = iota
	lineBlank            // blank, comment or directive
	lineStart            // "---" marker, maybe followed by content
	lineEnd              // "..." marker
)

func classify(b []byte) (k lineKind, content bool) {
	if isMarker(b, '-') {
		rest := bytes.TrimLeft(b[3:], " \t\r\n")
		return lineStart, len(rest) > 0 && rest[0] != '#'
	}
	if isMarker(b, '.') {
		return lineEnd, false
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] == '#' || b[0] == '%' {
		return lineBlank, false
	}
	return lineContent, true
}

// isMarker reports whether b starts with three c at column 0 followed by a
// space, tab, line end or the end of the input.
func isMarker(b []byte, c byte) bool {
	if len(b) < 3 || b[0] != c || b[1] != c || b[2] != c {
		return false
	}
	return len(b) == 3 || b[3] == ' ' || b[3] == '\t' || b[3] == '\r' || b[3] == '\n'
}

// Next returns the next non-empty document, or io.EOF. The returned Data is
// valid until the next call.
func (s *splitter) Next() (document, error) {
	s.buf = s.buf[:0]
	s.start = s.line + 1
	hasContent, sawStart := false, false
	if s.carry != nil {
		s.buf = append(s.buf, s.carry...)
		s.start = s.carryLine
		k, c := classify(s.carry)
		hasContent, sawStart = c, k == lineStart
		s.carry = nil
		// The carried fragment may be the start of a long line whose
		// rest is still unread; reading continues below.
	}
	atLineStart := len(s.buf) == 0 || s.buf[len(s.buf)-1] == '\n'
	endAfterLine := false
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(frag) > 0 {
			if s.first {
				s.first = false
				frag = bytes.TrimPrefix(frag, []byte("\xef\xbb\xbf"))
			}
			if atLineStart {
				s.line++
				k, c := classify(frag)
				if k == lineStart && (hasContent || sawStart) {
					// A new document begins: keep this line for the next call.
					s.carry = append(s.carry[:0:0], frag...)
					s.carryLine = s.line
					return document{Line: s.start, Data: s.buf}, nil
				}
				if k == lineStart {
					sawStart = true
				}
				if k == lineEnd {
					endAfterLine = true
				}
				hasContent = hasContent || c
				if !hasContent && !sawStart && k == lineBlank && len(s.buf) == 0 {
					s.start = s.line
				}
			}
			if len(s.buf)+len(frag) > s.max {
				return document{}, s.errTooLarge(s.start)
			}
			s.buf = append(s.buf, frag...)
			atLineStart = frag[len(frag)-1] == '\n'
			if atLineStart && endAfterLine {
				if hasContent || sawStart {
					return document{Line: s.start, Data: s.buf}, nil
				}
				s.buf = s.buf[:0]
				s.start = s.line + 1
				endAfterLine = false
			}
		}
		switch {
		case err == nil || errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if hasContent || sawStart {
				return document{Line: s.start, Data: s.buf}, nil
			}
			return document{}, io.EOF
		default:
			return document{}, err
		}
	}
}
