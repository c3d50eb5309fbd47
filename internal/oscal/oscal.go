// Package oscal reads and writes the subset of NIST's Open Security
// Controls Assessment Language (OSCAL 1.1, JSON) that Bulwark needs: it
// imports catalogs (ReadCatalog) and exports assessments as OSCAL
// assessment results (WriteAssessmentResults, read back by
// ReadAssessmentResults) and as a flat CSV sheet (WriteResultsCSV).
//
// No Go OSCAL library installs here, so the package is written from the
// OSCAL 1.1 model reference. It decodes with go-json-experiment/json,
// after a token walk (jsontext) that rejects duplicate member names,
// invalid UTF-8 and excessive nesting before any value is built.
package oscal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/jsonptr"
)

// Namespace is the OSCAL property namespace of Bulwark's own properties
// (status, tiers, assessor, …). OSCAL requires a URI for a namespace but
// does not require it to resolve; this one names the project and is not
// fetched by anything.
const Namespace = "https://bulwark.city/ns/oscal"

// OSCALVersion is the OSCAL version WriteAssessmentResults declares.
const OSCALVersion = "1.1.2"

// Size and nesting caps of the readers. They are variables so that a
// deployment importing very large catalogs can raise them; tests lower
// them to exercise the limits.
var (
	// MaxBytes bounds a document ReadCatalog or ReadAssessmentResults
	// accepts. The largest NIST catalog (SP 800-53 rev5, full) is about 10
	// MiB minified.
	MaxBytes int64 = 16 << 20
	// MaxDepth bounds the nesting of arrays and objects. SP 800-53 nests
	// about 15 deep; a hostile document nesting a million deep would
	// otherwise make the decoder recurse that far.
	MaxDepth = 64
)

// invalid returns a user-facing EINVALID error locating one problem.
func invalid(file, pointer, format string, args ...any) error {
	return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid OSCAL document",
		Details: []bulwark.Problem{{File: file, Field: pointer, Message: fmt.Sprintf(format, args...)}}}
}

// readAll reads at most MaxBytes from r.
func readAll(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, &bulwark.Error{Code: bulwark.EINVALID, Message: "cannot read OSCAL document",
			Details: []bulwark.Problem{{File: name, Message: err.Error()}}}
	}
	if int64(len(data)) > MaxBytes {
		return nil, &bulwark.Error{Code: bulwark.ETOOLARGE, Message: "OSCAL document too large",
			Details: []bulwark.Problem{{File: name, Message: fmt.Sprintf("more than %d bytes", MaxBytes)}}}
	}
	return data, nil
}

// checkJSON walks data once, token by token, and rejects what the decoder
// that follows would not see or would accept silently: nesting deeper
// than MaxDepth, duplicate member names (jsontext rejects them by
// default), invalid UTF-8, trailing data, and a top level that is not an
// object whose members are root (the model's name) and optionally
// "$schema". It keeps no tokens, so its memory is bounded by the depth.
//
// internal/csaf and internal/sbom each carry a walk like this one tied to
// their own member-name tables; a shared helper would be worth extracting
// once a fourth format needs it.
func checkJSON(name string, data []byte, root string) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	sawRoot := false
	for n := 0; ; n++ {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			if n == 0 {
				return invalid(name, "", "empty document")
			}
			break
		}
		if err != nil {
			return syntaxError(name, err)
		}
		if n == 0 && tok.Kind() != '{' {
			return invalid(name, "", "top level is a JSON %s, not an object holding %q", jsonptr.KindName(tok.Kind()), root)
		}
		k := tok.Kind()
		if (k == '{' || k == '[') && dec.StackDepth() > MaxDepth {
			return invalid(name, string(dec.StackPointer()), "nesting deeper than %d levels", MaxDepth)
		}
		// A string read at depth 1 while the top-level object expects a
		// name is a top-level member name.
		if k == '"' && dec.StackDepth() == 1 {
			if _, length := dec.StackIndex(1); length%2 == 1 {
				switch mem := tok.String(); mem {
				case root:
					sawRoot = true
				case "$schema":
				default:
					return invalid(name, "/"+jsonptr.Escape(mem), "unexpected top-level member %q: an OSCAL %s document holds only %q (and optionally \"$schema\")", mem, root, root)
				}
			}
		}
	}
	if !sawRoot {
		return invalid(name, "", "no %q member at the top level: not an OSCAL %s document", root, root)
	}
	return nil
}

// decode unmarshals data (already checked by checkJSON) into v, turning a
// type mismatch into a located error.
func decode(name string, data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *json.SemanticError
	if errors.As(err, &se) {
		msg := "cannot decode"
		if se.JSONKind != 0 {
			msg = "unexpected JSON " + jsonptr.KindName(se.JSONKind)
		}
		if se.Err != nil {
			msg += ": " + strings.TrimPrefix(se.Err.Error(), "json: ")
		}
		return invalid(name, string(se.JSONPointer), "%s", msg)
	}
	return syntaxError(name, err)
}

func syntaxError(name string, err error) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		why := "malformed JSON"
		if se.Err != nil {
			why = strings.TrimPrefix(se.Err.Error(), "jsontext: ")
		}
		if errors.Is(se.Err, io.ErrUnexpectedEOF) {
			why = "unexpected end of input (truncated document?)"
		}
		return invalid(name, string(se.JSONPointer), "%s (byte offset %d)", why, se.ByteOffset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid(name, "", "unexpected end of input (truncated document?)")
	}
	return invalid(name, "", "%s", strings.TrimPrefix(err.Error(), "jsontext: "))
}
