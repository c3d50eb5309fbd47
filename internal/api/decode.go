package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"bulwark"
)

// Caps on JSON request bodies.
const (
	maxJSONBody  = 1 << 20 // bytes
	maxJSONDepth = 32
)

// decodeBody decodes r's JSON body into v (see decodeJSON), giving the
// client bodyTimeout to send it.
func (a *API) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	// Not every ResponseWriter supports deadlines (test recorders do not).
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(a.bodyTimeout))
	err := decodeJSON(r.Body, maxJSONBody, v)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return bulwark.Errorf(bulwark.EINVALID, "request body not received within %v", a.bodyTimeout)
	}
	return err
}

// decodeJSON decodes one JSON value from r into v (a pointer to a struct)
// strictly: the body must be at most limit bytes of valid UTF-8 JSON, hold
// exactly one value, nest at most maxJSONDepth deep, and every object key
// must be one of the target's json names exactly — no unknown, duplicate or
// case-variant keys (encoding/json alone would match "EMAIL" to "email" and
// let a repeated key win). Errors are EINVALID or ETOOLARGE.
func decodeJSON(r io.Reader, limit int64, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("read request body: %w", err) // *http.MaxBytesError becomes 413 in writeError
	}
	if int64(len(b)) > limit {
		return bulwark.Errorf(bulwark.ETOOLARGE, "request body is larger than %d bytes", limit)
	}
	return decodeJSONBytes(b, v)
}

func decodeJSONBytes(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return bulwark.Errorf(bulwark.EINVALID, "request body is empty; expected a JSON object")
	}
	if !utf8.Valid(b) {
		return bulwark.Errorf(bulwark.EINVALID, "request body is not valid UTF-8")
	}
	if t := reflect.TypeOf(v).Elem(); t.Kind() == reflect.Struct && bytes.TrimLeft(b, " \t\r\n")[0] != '{' {
		return bulwark.Errorf(bulwark.EINVALID, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := checkValue(dec, reflect.TypeOf(v).Elem(), "", 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return bulwark.Errorf(bulwark.EINVALID, "request body holds data after the JSON value")
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return bulwark.Errorf(bulwark.EINVALID, "field %s: expected %s, got JSON %s", fieldName(ute.Field), jsonKind(ute.Type), ute.Value)
		}
		return bulwark.Errorf(bulwark.EINVALID, "request body is not valid JSON for this request")
	}
	return nil
}

func fieldName(f string) string {
	if f == "" {
		return "(body)"
	}
	return f
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// checkValue reads one JSON value from dec and checks its object keys
// against t (nil t: any value, keys checked only for duplicates).
func checkValue(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	if depth > maxJSONDepth {
		return bulwark.Errorf(bulwark.EINVALID, "JSON nests deeper than %d levels", maxJSONDepth)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return syntaxError(err)
			}
			key := kt.(string)
			name := joinPath(path, key)
			if seen[key] {
				return bulwark.Errorf(bulwark.EINVALID, "duplicate key %q", name)
			}
			seen[key] = true
			var ft reflect.Type
			if fields != nil {
				var known bool
				if ft, known = fields[key]; !known {
					return bulwark.Errorf(bulwark.EINVALID, "unknown field %q", name)
				}
			} else if t != nil && t.Kind() == reflect.Map {
				ft = t.Elem()
			}
			if err := checkValue(dec, ft, name, depth+1); err != nil {
				return err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, et, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return syntaxError(err)
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields returns the exact json names of t's exported fields.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return bulwark.Errorf(bulwark.EINVALID, "malformed JSON at byte %d", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return bulwark.Errorf(bulwark.EINVALID, "JSON body ends unexpectedly")
	}
	return bulwark.Errorf(bulwark.EINVALID, "malformed JSON")
}
