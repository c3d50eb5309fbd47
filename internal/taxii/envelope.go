package taxii

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/stix"
)

// decodeEnvelope reads a posted envelope (section 3.7) strictly: one JSON
// object whose members are objects (required), more and next (ignored), or
// custom properties ("x_…", ignored, section 7.1); a duplicate or
// case-variant member name, any other member, or trailing data is an
// error. Each element of objects is decoded on its own by internal/stix:
// an object with problems (duplicate keys included) is returned among the
// rejected, reported per object in the status, and the others are added.
func decodeEnvelope(body []byte, lim stix.Limits) ([]*stix.Object, []stix.Rejection, error) {
	lim = withDefaults(lim)
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, nil, syntax(dec, err)
	}
	if tok.Kind() != '{' {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "the body must be a TAXII envelope (a JSON object), found %s", kindName(tok.Kind()))
	}
	var objs []*stix.Object
	var rejected []stix.Rejection
	seen := map[string]string{}
	sawObjects := false
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, nil, syntax(dec, err)
		}
		name := tok.String()
		low := strings.ToLower(name)
		if prev, ok := seen[low]; ok {
			if prev == name {
				return nil, nil, bulwark.Errorf(bulwark.EINVALID, "envelope: member %q appears twice", bulwark.Abbrev(name, 60))
			}
			return nil, nil, bulwark.Errorf(bulwark.EINVALID, "envelope: members %q and %q differ only in case", bulwark.Abbrev(prev, 60), bulwark.Abbrev(name, 60))
		}
		seen[low] = name
		switch {
		case name == "objects":
			sawObjects = true
			objs, rejected, err = readObjects(dec, lim)
			if err != nil {
				return nil, nil, err
			}
		case name == "more" || name == "next" || strings.HasPrefix(name, "x_"):
			if err := dec.SkipValue(); err != nil {
				return nil, nil, syntax(dec, err)
			}
		default:
			return nil, nil, bulwark.Errorf(bulwark.EINVALID, "envelope: unknown member %q (an envelope holds objects)", bulwark.Abbrev(name, 60))
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, syntax(dec, err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "envelope: unexpected data after the envelope (byte %d)", dec.InputOffset())
	}
	if !sawObjects {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "envelope: no objects")
	}
	if len(objs)+len(rejected) == 0 {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "envelope: objects is empty (TAXII lists have at least one value)")
	}
	return objs, rejected, nil
}

func readObjects(dec *jsontext.Decoder, lim stix.Limits) ([]*stix.Object, []stix.Rejection, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, nil, syntax(dec, err)
	}
	if tok.Kind() != '[' {
		return nil, nil, bulwark.Errorf(bulwark.EINVALID, "envelope: objects must be an array, found %s", kindName(tok.Kind()))
	}
	var objs []*stix.Object
	var rejected []stix.Rejection
	for i := 0; dec.PeekKind() != ']'; i++ {
		if i >= lim.MaxObjects {
			return nil, nil, bulwark.Errorf(bulwark.ETOOLARGE, "envelope: more than %d objects", lim.MaxObjects)
		}
		v, err := dec.ReadValue()
		if err != nil {
			return nil, nil, syntax(dec, err)
		}
		ptr := "/objects/" + strconv.Itoa(i)
		o, err := stix.ParseObject(v.Clone(), lim)
		if err != nil {
			rj := stix.Rejection{Index: i, Pointer: ptr, Problems: bulwark.ErrorDetails(err)}
			if len(rj.Problems) == 0 {
				rj.Problems = []bulwark.Problem{{Message: bulwark.ErrorMessage(err)}}
			}
			for j := range rj.Problems {
				rj.Problems[j].Field = ptr + rj.Problems[j].Field
			}
			rj.ID, rj.Type = peek(v)
			rejected = append(rejected, rj)
			continue
		}
		objs = append(objs, o)
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, syntax(dec, err)
	}
	return objs, rejected, nil
}

// peek reads the id and type of a rejected object, for the status.
func peek(v jsontext.Value) (id, typ string) {
	dec := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return "", ""
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return id, typ
		}
		name := tok.String()
		if dec.PeekKind() == '"' && (name == "id" || name == "type") {
			val, err := dec.ReadToken()
			if err != nil {
				return id, typ
			}
			if name == "id" {
				id = bulwark.Abbrev(val.String(), 300)
			} else {
				typ = bulwark.Abbrev(val.String(), 250)
			}
			continue
		}
		if dec.SkipValue() != nil {
			return id, typ
		}
	}
	return id, typ
}

func withDefaults(l stix.Limits) stix.Limits {
	d := stix.DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = 200_000
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = d.MaxStringBytes
	}
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	return l
}

func syntax(dec *jsontext.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return bulwark.Errorf(bulwark.EINVALID, "envelope: truncated JSON (byte %d)", dec.InputOffset())
	}
	return bulwark.Errorf(bulwark.EINVALID, "envelope: malformed JSON at byte %d", dec.InputOffset())
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "something else"
}
