package csaf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

// knownKeys are the property names of CSAF 2.0 (its JSON schema and the
// FIRST CVSS schemas it references) plus the CSAF 2.1 names this package
// reads (cvss_v4, purls, cwes). A member whose name differs from one of
// them only in case ("Product_Tree") is rejected: a lenient decoder would
// silently take it for the real member or drop it, and either way the
// advisory would say something other than what a strict consumer reads.
var knownKeys = func() map[string]string {
	names := strings.Fields(`
accessComplexity accessVector acknowledgments aggregate_severity algorithm aliases
attackComplexity attackVector attackRequirements audience authentication availabilityImpact
availabilityRequirement baseScore baseSeverity branches category collateralDamagePotential
confidentialityImpact confidentialityRequirement contact_details cpe csaf_version
current_release_date cve cvss_v2 cvss_v3 cvss_v4 cwe cwes date details discovery_date
distribution document engine entitlements environmentalScore environmentalSeverity
exploitCodeMaturity exploitability file_hashes filename first_affected first_fixed fixed
flags full_product_name full_product_names generator group_id group_ids hashes id ids
initial_release_date integrityImpact integrityRequirement involvements issuing_authority
known_affected known_not_affected label lang last_affected legacy_version model_numbers
modifiedAttackComplexity modifiedAttackVector modifiedAvailabilityImpact
modifiedConfidentialityImpact modifiedIntegrityImpact modifiedPrivilegesRequired
modifiedScope modifiedUserInteraction name names namespace notes number organization party
privilegesRequired product product_groups product_id product_identification_helper
product_ids product_reference product_status product_tree products publisher purl purls
recommended references relates_to_product_reference relationships release_date
remediationLevel remediations reportConfidence restart_required revision_history sbom_urls
scope scores serial_numbers skus source_lang status summary system_name targetDistribution
temporalScore temporalSeverity text threats title tlp tracking under_investigation uri url
urls userInteraction value vectorString version vulnerabilities x_generic_uris`)
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// checkStrict walks data once, token by token, and rejects what the
// decoder that follows would accept silently: duplicate member names
// (jsontext rejects them by default), names that differ only in case from
// a CSAF name, nesting deeper than maxDepth, invalid UTF-8, and anything
// after the top-level value. It keeps no tokens, so memory stays bounded
// by the depth limit, whatever the input.
func checkStrict(file string, data []byte, maxDepth int) error {
	// jsontext's own depth limit (WithDepthLimit) is not implemented yet in
	// this version, so the depth is checked here after each opening token.
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	for n := 0; ; n++ {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			if n == 0 {
				return invalid(bulwark.Problem{File: file, Line: 1, Column: 1, Message: "empty document: unexpected end of input"})
			}
			return nil
		}
		if err != nil {
			return syntaxError(file, data, err)
		}
		if k := tok.Kind(); (k == '{' || k == '[') && dec.StackDepth() > maxDepth {
			line, col := position(data, dec.InputOffset())
			return invalid(bulwark.Problem{
				File: file, Line: line, Column: col, Field: string(dec.StackPointer()),
				Message: fmt.Sprintf("nesting deeper than %d levels", maxDepth),
			})
		}
		// A string read where the enclosing object expects a name is a
		// member name: the decoder's stack has an odd length then.
		if tok.Kind() != '"' {
			continue
		}
		kind, length := dec.StackIndex(dec.StackDepth())
		if kind != '{' || length%2 != 1 {
			continue
		}
		name := tok.String()
		if want, ok := knownKeys[strings.ToLower(name)]; ok && want != name {
			off := dec.InputOffset()
			line, col := position(data, off)
			return invalid(bulwark.Problem{
				File: file, Line: line, Column: col, Field: string(dec.StackPointer()),
				Message: fmt.Sprintf("member %q differs only in case from CSAF member %q", name, want),
			})
		}
	}
}

// syntaxError turns a jsontext error into a located problem.
func syntaxError(file string, data []byte, err error) error {
	p := bulwark.Problem{File: file, Message: err.Error()}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		p.Field = string(se.JSONPointer)
		p.Line, p.Column = position(data, se.ByteOffset)
		p.Message = syntaxMessage(se.Err)
	} else if errors.Is(err, io.ErrUnexpectedEOF) {
		p.Line, p.Column = position(data, int64(len(data)))
		p.Message = "unexpected end of input (truncated document?)"
	}
	return invalid(p)
}

// syntaxMessage keeps jsontext's reason but drops its "jsontext: " prefix,
// which means nothing to someone uploading an advisory.
func syntaxMessage(err error) string {
	if err == nil {
		return "invalid JSON"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input (truncated document?)"
	}
	return strings.TrimPrefix(err.Error(), "jsontext: ")
}

// position returns the 1-based line and column of byte offset off.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func invalid(p bulwark.Problem) error {
	return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid CSAF document", Details: []bulwark.Problem{p}}
}
