// Package sbom reads CycloneDX bills of materials attached to a city's
// assets: software (SBOM), hardware (HBOM) and VEX documents, in JSON or
// XML, through github.com/CycloneDX/cyclonedx-go. What Bulwark keeps is
// small: the subject of the BOM, every component flattened (nested
// components included) with the identifiers a matcher can use (CPE, PURL),
// and the VEX statements, with CycloneDX's analysis states mapped onto
// bulwark.ProductStatus.
//
// Input is untrusted (uploaded by asset owners or fetched from vendors), so
// size and nesting are capped and JSON with duplicate member names is
// rejected before cyclonedx-go sees it: its decoder (encoding/json) would
// silently keep the last duplicate. Errors are *bulwark.Error values whose
// Details name the file and, where known, the line, column and JSON
// pointer.
package sbom

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

// Default limits. Real SBOMs of large applications reach a few MiB;
// CycloneDX nests components, so depth is more generous than for CSAF.
const (
	DefaultMaxBytes = 32 << 20
	DefaultMaxDepth = 64
)

// Options tune Read and Parse. The zero value means the defaults.
type Options struct {
	MaxBytes int64 // largest document accepted, in bytes
	MaxDepth int   // deepest nesting of JSON values or XML elements accepted
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// Component is one component of a BOM.
type Component struct {
	Ref      string // bom-ref
	Type     string // application, library, firmware, device, ...
	Group    string
	Name     string
	Version  string
	CPE      string
	PURL     string
	Supplier string // supplier name, else manufacturer name (CycloneDX 1.6)
}

// BOM is what Bulwark keeps of a CycloneDX document.
type BOM struct {
	Format       string // "json" or "xml"
	SerialNumber string
	SpecVersion  string    // "1.4", "1.5", ...
	Subject      Component // metadata.component
	Components   []Component
	VEX          []VEXStatement

	// Notes are things worth telling the uploader that did not stop the
	// BOM from being read (an old spec version, a VEX entry without state).
	Notes []bulwark.Problem
}

// VEXStatement is one vulnerability's analysis in a CycloneDX BOM.
type VEXStatement struct {
	VulnID string
	// Refs are the affected components as the BOM names them: bom-refs,
	// BOM-Links (urn:cdx:serial/version#ref) to another BOM, or PURLs.
	Refs          []string
	Status        bulwark.ProductStatus
	State         string // the CycloneDX analysis.state as written
	Justification string
	Response      string // analysis.response values joined by ", "
	Detail        string
	// Targets repeat Refs with the versions each affects entry lists,
	// since CycloneDX can say "2.4 and >=2.9|<=4.1 are affected" per ref.
	Targets []Target
}

// Target is one affects entry of a VEX statement.
type Target struct {
	Ref      string
	Versions []VersionStatus
}

// VersionStatus is one affects.versions entry: an exact version or a vers
// range, with its status (affected, unaffected → not_affected,
// unknown → under_investigation).
type VersionStatus struct {
	Version string
	Range   string
	Status  bulwark.ProductStatus
}

// Read reads one BOM from r, refusing more than opts.MaxBytes.
func Read(name string, r io.Reader, opts Options) (*BOM, error) {
	opts = opts.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, opts.MaxBytes+1))
	if err != nil {
		return nil, &bulwark.Error{Code: bulwark.EINVALID, Message: "cannot read BOM",
			Details: []bulwark.Problem{{File: name, Message: err.Error()}}}
	}
	return Parse(name, data, opts)
}

// Parse reads one BOM from data, JSON or XML by its first character.
func Parse(name string, data []byte, opts Options) (*BOM, error) {
	opts = opts.withDefaults()
	if int64(len(data)) > opts.MaxBytes {
		return nil, &bulwark.Error{Code: bulwark.ETOOLARGE, Message: "BOM too large",
			Details: []bulwark.Problem{{File: name, Message: fmt.Sprintf("more than %d bytes", opts.MaxBytes)}}}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case len(trimmed) == 0:
		return nil, invalid(bulwark.Problem{File: name, Message: "empty document"})
	case trimmed[0] == '{':
		return parseJSON(name, data, opts)
	case trimmed[0] == '<':
		return parseXML(name, data, opts)
	default:
		return nil, invalid(bulwark.Problem{File: name, Line: 1, Column: 1,
			Message: "not a CycloneDX BOM: neither a JSON object nor an XML document"})
	}
}

func invalid(p bulwark.Problem) error {
	return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid CycloneDX BOM", Details: []bulwark.Problem{p}}
}

// knownVersions are the spec versions cyclonedx-go reads.
var knownVersions = map[string]bool{"1.0": true, "1.1": true, "1.2": true, "1.3": true, "1.4": true, "1.5": true, "1.6": true, "1.7": true}

func parseJSON(name string, data []byte, opts Options) (*BOM, error) {
	if err := checkJSON(name, data, opts.MaxDepth); err != nil {
		return nil, err
	}
	// Look at the header first: cyclonedx-go reports a foreign document
	// or an unknown spec version with errors that say neither which nor
	// where.
	var head struct {
		BOMFormat   *string `json:"bomFormat"`
		SpecVersion *string `json:"specVersion"`
		Document    any     `json:"document"`
	}
	if err := jsonv2.Unmarshal(data, &head); err != nil {
		var se *jsonv2.SemanticError
		p := bulwark.Problem{File: name, Message: "bomFormat and specVersion must be strings"}
		if errors.As(err, &se) {
			p.Field = string(se.JSONPointer)
		}
		return nil, invalid(p)
	}
	switch {
	case head.BOMFormat == nil && head.Document != nil:
		return nil, invalid(bulwark.Problem{File: name, Field: "/bomFormat", Message: "not a CycloneDX BOM (this looks like a CSAF advisory)"})
	case head.BOMFormat == nil:
		return nil, invalid(bulwark.Problem{File: name, Field: "/bomFormat", Message: `not a CycloneDX BOM: no bomFormat member`})
	case *head.BOMFormat != "CycloneDX":
		return nil, invalid(bulwark.Problem{File: name, Field: "/bomFormat", Message: fmt.Sprintf(`not a CycloneDX BOM: bomFormat is %q, want "CycloneDX"`, *head.BOMFormat)})
	case head.SpecVersion == nil:
		return nil, invalid(bulwark.Problem{File: name, Field: "/specVersion", Message: "specVersion missing"})
	case !knownVersions[*head.SpecVersion]:
		return nil, &bulwark.Error{Code: bulwark.EUNSUPPORTED, Message: "unsupported CycloneDX version",
			Details: []bulwark.Problem{{File: name, Field: "/specVersion", Message: fmt.Sprintf("specVersion %q; Bulwark reads 1.0 to 1.7", *head.SpecVersion)}}}
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, decodeError(name, data, err)
	}
	return convert(name, "json", &bom), nil
}

// checkJSON walks data once with jsontext, which rejects duplicate member
// names and invalid UTF-8, and checks the nesting depth after each opening
// token (jsontext's own depth option is not implemented in this version).
func checkJSON(name string, data []byte, maxDepth int) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for n := 0; ; n++ {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			p := bulwark.Problem{File: name, Message: strings.TrimPrefix(err.Error(), "jsontext: ")}
			var se *jsontext.SyntacticError
			if errors.As(err, &se) {
				p.Field = string(se.JSONPointer)
				p.Line, p.Column = position(data, se.ByteOffset)
				if se.Err != nil {
					p.Message = strings.TrimPrefix(se.Err.Error(), "jsontext: ")
				}
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				p.Message = "unexpected end of input (truncated document?)"
			}
			return invalid(p)
		}
		if k := tok.Kind(); (k == '{' || k == '[') && dec.StackDepth() > maxDepth {
			line, col := position(data, dec.InputOffset())
			return invalid(bulwark.Problem{File: name, Line: line, Column: col, Field: string(dec.StackPointer()),
				Message: fmt.Sprintf("nesting deeper than %d levels", maxDepth)})
		}
		if tok.Kind() != '"' {
			continue
		}
		// A string where the enclosing object expects a name is a member
		// name. encoding/json, which cyclonedx-go decodes with, matches
		// names without regard to case, so "Components" would be read as
		// "components" (or overwrite it): refuse the ambiguity.
		if kind, length := dec.StackIndex(dec.StackDepth()); kind == '{' && length%2 == 1 {
			mem := tok.String()
			if want, ok := memberNames[strings.ToLower(mem)]; ok && want != mem {
				line, col := position(data, dec.InputOffset())
				return invalid(bulwark.Problem{File: name, Line: line, Column: col, Field: string(dec.StackPointer()),
					Message: fmt.Sprintf("member %q differs only in case from CycloneDX member %q", mem, want)})
			}
		}
	}
}

// memberNames are the JSON member names of cyclonedx-go's types, by lower
// case, collected once from their struct tags so that they follow the
// library's version.
var memberNames = func() map[string]string {
	names := map[string]string{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				names[strings.ToLower(tag)] = tag
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[cdx.BOM]())
	return names
}()

// decodeError locates an encoding/json or encoding/xml error from
// cyclonedx-go's decoder.
func decodeError(name string, data []byte, err error) error {
	p := bulwark.Problem{File: name, Message: err.Error()}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var xe *xml.SyntaxError
	switch {
	case errors.As(err, &te):
		p.Line, p.Column = position(data, te.Offset)
		if te.Field != "" {
			p.Field = "/" + strings.ReplaceAll(te.Field, ".", "/")
		}
		p.Message = fmt.Sprintf("JSON %s where %s belongs", te.Value, jsonKind(te.Type))
	case errors.As(err, &se):
		p.Line, p.Column = position(data, se.Offset)
	case errors.As(err, &xe):
		p.Line = xe.Line
	case errors.Is(err, cdx.ErrInvalidSpecVersion):
		p.Field = "/specVersion"
	}
	return invalid(p)
}

// jsonKind names the JSON kind a Go type decodes from, so that errors do
// not leak cyclonedx-go's type names.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another kind"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another kind"
}

// position returns the 1-based line and column of byte offset off.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func parseXML(name string, data []byte, opts Options) (*BOM, error) {
	if err := checkXML(name, data, opts.MaxDepth); err != nil {
		return nil, err
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatXML).Decode(&bom); err != nil {
		return nil, decodeError(name, data, err)
	}
	if bom.XMLName.Local != "bom" || !strings.HasPrefix(bom.XMLNS, "http://cyclonedx.org/schema/bom/") {
		return nil, invalid(bulwark.Problem{File: name, Field: "bom",
			Message: fmt.Sprintf("not a CycloneDX BOM: root element %q in namespace %q", bom.XMLName.Local, bom.XMLNS)})
	}
	if bom.SpecVersion == 0 {
		return nil, &bulwark.Error{Code: bulwark.EUNSUPPORTED, Message: "unsupported CycloneDX version",
			Details: []bulwark.Problem{{File: name, Field: "bom", Message: fmt.Sprintf("namespace %q is not a CycloneDX version Bulwark reads", bom.XMLNS)}}}
	}
	return convert(name, "xml", &bom), nil
}

// checkXML walks the XML once to bound nesting: encoding/xml's own limit
// is 10,000 levels, and a BOM deeper than a few dozen is not a BOM. The
// root must be a CycloneDX <bom>.
func checkXML(name string, data []byte, maxDepth int) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			if depth != 0 {
				line, _ := dec.InputPos()
				return invalid(bulwark.Problem{File: name, Line: line, Message: "unexpected end of input (truncated document?)"})
			}
			return nil
		}
		if err != nil {
			line, col := dec.InputPos()
			return invalid(bulwark.Problem{File: name, Line: line, Column: col, Message: err.Error()})
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && t.Name.Local != "bom" {
				return invalid(bulwark.Problem{File: name, Field: t.Name.Local,
					Message: fmt.Sprintf("not a CycloneDX BOM: root element is <%s>, want <bom>", t.Name.Local)})
			}
			depth++
			if depth > maxDepth {
				line, col := dec.InputPos()
				return invalid(bulwark.Problem{File: name, Line: line, Column: col,
					Message: fmt.Sprintf("nesting deeper than %d elements", maxDepth)})
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			// A DTD could declare entities; Go does not expand them, but
			// a BOM has no business declaring any.
			line, col := dec.InputPos()
			return invalid(bulwark.Problem{File: name, Line: line, Column: col, Message: "XML directives (DOCTYPE) are not allowed in a BOM"})
		}
	}
}

func convert(name, format string, b *cdx.BOM) *BOM {
	out := &BOM{Format: format, SerialNumber: b.SerialNumber, SpecVersion: b.SpecVersion.String()}
	if b.SpecVersion < cdx.SpecVersion1_4 {
		out.Notes = append(out.Notes, bulwark.Problem{File: name, Field: "/specVersion",
			Message: fmt.Sprintf("CycloneDX %s is older than 1.4: read as is, but it cannot carry VEX and may lack identifiers", out.SpecVersion)})
	}
	if b.Metadata != nil && b.Metadata.Component != nil {
		out.Subject = component(b.Metadata.Component)
		// Components nested in the subject (an HBOM's boards, a firmware's
		// modules) are parts of the asset too.
		if b.Metadata.Component.Components != nil {
			flatten(*b.Metadata.Component.Components, &out.Components)
		}
	}
	if b.Components != nil {
		flatten(*b.Components, &out.Components)
	}
	if b.Vulnerabilities != nil {
		for i, v := range *b.Vulnerabilities {
			ptr := fmt.Sprintf("/vulnerabilities/%d", i)
			if v.ID == "" {
				out.Notes = append(out.Notes, bulwark.Problem{File: name, Field: ptr + "/id", Message: "vulnerability without id skipped"})
				continue
			}
			if v.Analysis == nil || v.Analysis.State == "" {
				// Without a state the entry is a vulnerability listing,
				// not a VEX statement; guessing "affected" would raise
				// findings nobody asserted.
				out.Notes = append(out.Notes, bulwark.Problem{File: name, Field: ptr + "/analysis/state", Message: fmt.Sprintf("%s has no analysis state; not used as a VEX statement", v.ID)})
				continue
			}
			st, ok := stateStatus[v.Analysis.State]
			if !ok {
				out.Notes = append(out.Notes, bulwark.Problem{File: name, Field: ptr + "/analysis/state", Message: fmt.Sprintf("unknown analysis state %q skipped", v.Analysis.State)})
				continue
			}
			vs := vexStatement(v, st)
			if len(vs.Refs) == 0 {
				// A statement without affects speaks of the BOM itself
				// when it has a subject; otherwise of nothing Bulwark
				// can point at, which the uploader should know.
				if out.Subject.Ref != "" {
					vs.Refs = []string{out.Subject.Ref}
					vs.Targets = []Target{{Ref: out.Subject.Ref}}
				} else {
					out.Notes = append(out.Notes, bulwark.Problem{File: name, Field: ptr + "/affects", Message: fmt.Sprintf("%s names no affected component and the BOM has no subject", v.ID)})
				}
			}
			out.VEX = append(out.VEX, vs)
		}
	}
	return out
}

// stateStatus maps CycloneDX impact analysis states onto Bulwark's product
// statuses. exploitable is "affected" (CycloneDX has no plainer word for
// it); false_positive means the scanner was wrong, so the product is not
// affected; resolved_with_pedigree is resolved with the proof attached.
var stateStatus = map[cdx.ImpactAnalysisState]bulwark.ProductStatus{
	cdx.IASExploitable:          bulwark.StatusAffected,
	cdx.IASInTriage:             bulwark.StatusUnderInvestigate,
	cdx.IASResolved:             bulwark.StatusFixed,
	cdx.IASResolvedWithPedigree: bulwark.StatusFixed,
	cdx.IASNotAffected:          bulwark.StatusNotAffected,
	cdx.IASFalsePositive:        bulwark.StatusNotAffected,
}

// versionStatus maps affects.versions[].status.
var versionStatus = map[cdx.VulnerabilityStatus]bulwark.ProductStatus{
	cdx.VulnerabilityStatusAffected:    bulwark.StatusAffected,
	cdx.VulnerabilityStatusNotAffected: bulwark.StatusNotAffected,
	cdx.VulnerabilityStatusUnknown:     bulwark.StatusUnderInvestigate,
}

func vexStatement(v cdx.Vulnerability, st bulwark.ProductStatus) VEXStatement {
	s := VEXStatement{
		VulnID:        v.ID,
		Status:        st,
		State:         string(v.Analysis.State),
		Justification: string(v.Analysis.Justification),
		Detail:        v.Analysis.Detail,
	}
	if v.Analysis.Response != nil {
		rs := make([]string, 0, len(*v.Analysis.Response))
		for _, r := range *v.Analysis.Response {
			rs = append(rs, string(r))
		}
		s.Response = strings.Join(rs, ", ")
	}
	if v.Affects != nil {
		for _, a := range *v.Affects {
			if a.Ref == "" {
				continue
			}
			s.Refs = append(s.Refs, a.Ref)
			t := Target{Ref: a.Ref}
			if a.Range != nil {
				for _, r := range *a.Range {
					t.Versions = append(t.Versions, VersionStatus{Version: r.Version, Range: r.Range, Status: versionStatus[r.Status]})
				}
			}
			s.Targets = append(s.Targets, t)
		}
	}
	return s
}

// flatten appends cs and their nested components, depth first. Depth is
// bounded by the nesting check that ran before decoding.
func flatten(cs []cdx.Component, out *[]Component) {
	for i := range cs {
		*out = append(*out, component(&cs[i]))
		if cs[i].Components != nil {
			flatten(*cs[i].Components, out)
		}
	}
}

func component(c *cdx.Component) Component {
	out := Component{
		Ref:     c.BOMRef,
		Type:    string(c.Type),
		Group:   c.Group,
		Name:    c.Name,
		Version: c.Version,
		CPE:     c.CPE,
		PURL:    c.PackageURL,
	}
	switch {
	case c.Supplier != nil && c.Supplier.Name != "":
		out.Supplier = c.Supplier.Name
	case c.Manufacturer != nil && c.Manufacturer.Name != "":
		out.Supplier = c.Manufacturer.Name
	}
	return out
}
