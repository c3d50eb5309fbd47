package stix

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// NewBundleID returns a fresh "bundle--<UUIDv4>". Bundles are envelopes, not
// objects: STIX does not ask for their ids to be stable.
func NewBundleID() string { return NewID("bundle") }

// EncodeBundle writes objs as one STIX 2.1 bundle in canonical form (the
// bundle's members in canonical order, each object's canonical JSON, objects
// in the order given). An empty objs writes a bundle without "objects", as
// STIX 2.1 forbids empty lists. The output of encoding a decoded 2.1 bundle
// is canonically equal to its input.
func EncodeBundle(w io.Writer, id string, objs []*Object) error {
	if t, _, ok := ParseID(id); !ok || t != "bundle" {
		return fmt.Errorf("stix: encode bundle: invalid bundle id %q", id)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"id":"`)
	bw.WriteString(id)
	bw.WriteString(`"`)
	if len(objs) > 0 {
		bw.WriteString(`,"objects":[`)
		for i, o := range objs {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.Write(o.raw)
		}
		bw.WriteByte(']')
	}
	bw.WriteString(`,"type":"bundle"}`)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("stix: encode bundle: %w", err)
	}
	return nil
}

// MarshalJSON encodes the bundle's imported objects (see EncodeBundle). A
// bundle without id gets a fresh one.
func (b *Bundle) MarshalJSON() ([]byte, error) {
	id := b.ID
	if id == "" {
		id = NewBundleID()
	}
	var buf bytes.Buffer
	if err := EncodeBundle(&buf, id, b.Objects); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Definitions returns the marking Definitions of the bundle's
// marking-definition objects, to compute the TLP of its objects with the
// bundle's statement markings (copyright, terms of use) ignored.
func (b *Bundle) Definitions() *Definitions {
	var defs []*Object
	for _, o := range b.Objects {
		if o.Type() == "marking-definition" {
			defs = append(defs, o)
		}
	}
	return NewDefinitions(defs...)
}
