package taxiiclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/jsonptr"
)

// Resources other than envelopes (discovery, API root, collections,
// manifests, versions, status, errors) are small JSON objects. They are
// decoded strictly: well-formed UTF-8 JSON, one object, nothing after it,
// no duplicate member names and no two names that differ only in case at
// any depth (Go's encoding/json would merge them; a server must not be
// able to smuggle a second "more" or "next" past a reader that sees the
// first), no name outside a-z, 0-9 and '_' (section 7.1, which also
// keeps a case-insensitive reader from seeing "MORE" as "more"), nesting
// and sizes capped. Unknown members are ignored (section 7.1 lets servers
// add custom properties).

// maxResourceDepth caps nesting in a resource; the deepest TAXII resource
// (a status with its details) has three levels.
const maxResourceDepth = 16

// maxResourceElements caps the members of one object and the elements of
// one array.
const maxResourceElements = 200_000

// decodeResource reads data, a TAXII resource named what, into v.
func decodeResource(data []byte, what string, v any) error {
	if err := checkJSON(data, what); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		var se *json.SemanticError
		if errors.As(err, &se) {
			ptr := string(se.JSONPointer)
			if ptr == "" {
				ptr = "/"
			}
			return invalid(what, ptr, "%s", semanticMessage(se))
		}
		return invalid(what, "", "malformed JSON")
	}
	return nil
}

// semanticMessage describes a type mismatch without echoing the server's
// data at length.
func semanticMessage(se *json.SemanticError) string {
	switch {
	case se.JSONKind != 0 && se.GoType != nil:
		return fmt.Sprintf("expected %s, found %s", goKind(se.GoType.Kind().String()), jsonptr.KindName(se.JSONKind))
	case se.JSONKind != 0:
		return "unexpected " + jsonptr.KindName(se.JSONKind)
	}
	return "invalid value"
}

func goKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "float64":
		return "a number"
	}
	return k
}

// invalid returns an EINVALID error about a server's response: what (the
// resource), where (a JSON pointer) and why.
func invalid(what, ptr, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if ptr != "" {
		return &bulwark.Error{Code: bulwark.EINVALID, Message: fmt.Sprintf("the server's %s is invalid at %s: %s", what, shortPtr(ptr), msg),
			Details: []bulwark.Problem{{Field: shortPtr(ptr), Message: msg}}}
	}
	return bulwark.Errorf(bulwark.EINVALID, "the server's %s is invalid: %s", what, msg)
}

func shortPtr(p string) string { return bulwark.Abbrev(p, 120) }

// frame is an open container during checkJSON.
type frame struct {
	array  bool
	n      int
	names  map[string]string // folded name -> name as written
	ptr    string
	member string
}

// checkJSON walks data once and refuses what decodeResource must not
// accept.
func checkJSON(data []byte, what string) error {
	if !utf8.Valid(data) {
		return invalid(what, "", "the body is not valid UTF-8")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	var stack []*frame
	path := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.array {
			return fmt.Sprintf("%s/%d", top.ptr, top.n-1)
		}
		return top.ptr + "/" + jsonptr.Escape(top.member)
	}
	first := true
	for {
		if !first && len(stack) == 0 {
			break
		}
		// Inside an object, a string token in name position is a member
		// name.
		if n := len(stack); n > 0 && !stack[n-1].array && dec.PeekKind() == '"' && isNamePosition(dec) {
			tok, err := dec.ReadToken()
			if err != nil {
				return syntaxError(what, dec, err)
			}
			top := stack[n-1]
			name := tok.String()
			key := fold(name)
			if prev, ok := top.names[key]; ok {
				ptr := top.ptr + "/" + jsonptr.Escape(name)
				if prev == name {
					return invalid(what, ptr, "duplicate member %q", bulwark.Abbrev(name, 60))
				}
				return invalid(what, ptr, "member %q differs only in case from member %q", bulwark.Abbrev(name, 60), bulwark.Abbrev(prev, 60))
			}
			if !validName(name) {
				// TAXII 2.1 section 7.1: property names use a-z, 0-9 and
				// '_' only, custom ones included.
				return invalid(what, top.ptr+"/"+jsonptr.Escape(bulwark.Abbrev(name, 60)), "invalid property name %q: TAXII names use only a-z, 0-9 and _", bulwark.Abbrev(name, 60))
			}
			top.names[key] = name
			top.member = name
			top.n++
			if top.n > maxResourceElements {
				return invalid(what, top.ptr, "more than %d members", maxResourceElements)
			}
			continue
		}
		tok, err := dec.ReadToken()
		if err != nil {
			return syntaxError(what, dec, err)
		}
		if first && tok.Kind() != '{' {
			return invalid(what, "", "expected a JSON object, found %s", jsonptr.KindName(tok.Kind()))
		}
		switch tok.Kind() {
		case '{', '[':
			p := ""
			if !first {
				p = path()
			}
			if n := len(stack); n > 0 && stack[n-1].array {
				stack[n-1].n++
				if stack[n-1].n > maxResourceElements {
					return invalid(what, stack[n-1].ptr, "more than %d elements", maxResourceElements)
				}
				p = fmt.Sprintf("%s/%d", stack[n-1].ptr, stack[n-1].n-1)
			}
			if len(stack) >= maxResourceDepth {
				return invalid(what, p, "nested deeper than %d levels", maxResourceDepth)
			}
			f := &frame{array: tok.Kind() == '[', ptr: p}
			if !f.array {
				f.names = map[string]string{}
			}
			stack = append(stack, f)
		case '}', ']':
			stack = stack[:len(stack)-1]
		default:
			if n := len(stack); n > 0 && stack[n-1].array {
				stack[n-1].n++
				if stack[n-1].n > maxResourceElements {
					return invalid(what, stack[n-1].ptr, "more than %d elements", maxResourceElements)
				}
			}
		}
		first = false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return invalid(what, "", "unexpected data after the JSON object (byte %d)", dec.InputOffset())
	}
	return nil
}

// isNamePosition reports whether the decoder's next token in an object is a
// member name: jsontext tracks it in its stack.
func isNamePosition(dec *jsontext.Decoder) bool {
	_, n := dec.StackIndex(dec.StackDepth())
	return n%2 == 0
}

func syntaxError(what string, dec *jsontext.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid(what, "", "truncated JSON (byte %d)", dec.InputOffset())
	}
	return invalid(what, "", "malformed JSON at byte %d", dec.InputOffset())
}

// validName checks a property name: 1 to 250 of a-z, 0-9 and '_'.
func validName(n string) bool {
	if n == "" || len(n) > 250 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// fold is the case-folded form under which member names that differ only
// in case meet (with Go's two non-ASCII folds, long s and the Kelvin sign).
func fold(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
			return strings.ToLower(strings.ToUpper(name))
		}
	}
	return name
}

// oneLine makes a server-supplied text safe to show and store: valid
// UTF-8, control and format characters dropped, at most n bytes.
func oneLine(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || (r >= '\u200b' && r <= '\u200f') || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\ufeff':
		default:
			b.WriteRune(r)
		}
		if b.Len() > n+4 {
			break
		}
	}
	return bulwark.Abbrev(strings.TrimSpace(b.String()), n)
}
