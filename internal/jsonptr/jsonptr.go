// Package jsonptr holds the small pieces every strict JSON reader of
// Bulwark (feeds, CSAF, OSCAL) uses to say where and what went wrong: JSON
// pointer reference tokens (RFC 6901) and JSON kinds in words.
package jsonptr

import (
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

var escaper = strings.NewReplacer("~", "~0", "/", "~1")

// Escape returns s as a JSON pointer reference token: "~" becomes "~0"
// and "/" becomes "~1".
func Escape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return escaper.Replace(s)
}

// KindName names a JSON kind in words, for messages such as "expected an
// object, found a string".
func KindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "value"
}
