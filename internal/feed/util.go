package feed

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
	"bulwark/internal/jsonptr"
)

// problem returns a record-level problem at pointer (relative to the
// record) with a formatted message.
func problem(pointer, format string, args ...any) *bulwark.Problem {
	return &bulwark.Problem{Field: pointer, Message: fmt.Sprintf(format, args...)}
}

// unmarshal decodes one record strictly (duplicate names and invalid UTF-8
// are errors, names match case-sensitively, unknown members are ignored)
// and turns a failure into a problem located inside the record.
func unmarshal(raw []byte, v any) *bulwark.Problem {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var sem *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &sem):
		msg := "cannot decode JSON " + jsonptr.KindName(sem.JSONKind)
		if sem.GoType != nil {
			msg += " into " + goTypeName(sem.GoType.String())
		}
		if sem.Err != nil {
			msg += ": " + sem.Err.Error()
		}
		return problem(string(sem.JSONPointer), "%s", msg)
	case errors.As(err, &syn):
		msg := "malformed JSON"
		if syn.Err != nil {
			msg = syn.Err.Error()
		}
		return problem(string(syn.JSONPointer), "%s", msg)
	}
	return problem("", "%v", err)
}

// goTypeName hides this package's internal type names from messages.
func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "array"
	case strings.Contains(t, "."), strings.HasPrefix(t, "*"):
		return "object"
	}
	return t
}

// validCVEID reports whether id is CVE-YYYY-NNNN with four or more digits
// in its sequence number.
func validCVEID(id string) bool {
	rest, ok := strings.CutPrefix(id, "CVE-")
	if !ok || len(rest) < 9 || rest[4] != '-' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if i != 4 && (rest[i] < '0' || rest[i] > '9') {
			return false
		}
	}
	return rest[0] == '1' || rest[0] == '2'
}

// timeLayouts are the timestamp spellings the feeds use: NVD 1.1
// "2025-02-25T00:15Z", NVD 2.0 "2023-02-08T18:15:11.523" (no zone: UTC),
// CVE 5 "2024-09-23T17:57:24.819Z", Anchore "2024-08-01T16:27:57.203000+00:00",
// KEV "2025-08-25", EPSS "2023-03-20T00:00:00+0000".
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02",
}

// parseTime parses a feed timestamp; a time without zone is UTC.
func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp %q", s)
}

// parseTimes parses the named optional timestamps of a record into their
// destinations, stopping at the first bad one.
func parseTimes(fields ...timeField) *bulwark.Problem {
	for _, f := range fields {
		if f.s == "" {
			continue
		}
		t, err := parseTime(f.s)
		if err != nil {
			return problem(f.pointer, "%v", err)
		}
		*f.dst = t
	}
	return nil
}

type timeField struct {
	pointer string
	s       string
	dst     *time.Time
}

type langValue struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

// english returns the first English text, or the first text at all.
func english(vs []langValue) string {
	for _, v := range vs {
		if v.Lang == "en" || strings.HasPrefix(v.Lang, "en-") || strings.HasPrefix(v.Lang, "en_") {
			return v.Value
		}
	}
	if len(vs) > 0 {
		return vs[0].Value
	}
	return ""
}

// addCWE appends id when it names a CWE (NVD's NVD-CWE-Other and
// NVD-CWE-noinfo placeholders are not CWEs) and is not there yet.
func addCWE(cwes []string, id string) []string {
	if !strings.HasPrefix(id, "CWE-") {
		return cwes
	}
	for _, c := range cwes {
		if c == id {
			return cwes
		}
	}
	return append(cwes, id)
}

// validCPE reports whether s looks like a CPE 2.3 formatted string: the
// prefix and the 11 components after it. Full validation is the matcher's
// business; this only keeps garbage out of configurations.
func validCPE(s string) bool {
	rest, ok := strings.CutPrefix(s, "cpe:2.3:")
	if !ok {
		return false
	}
	n := 1
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '\\':
			i++
		case ':':
			n++
		}
	}
	return n == 11
}
