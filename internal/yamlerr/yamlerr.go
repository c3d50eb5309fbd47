// Package yamlerr turns yaml.v3's errors into messages for the people who
// wrote the file: the line stays, the Go type names of Bulwark's decoding
// structs go.
package yamlerr

import (
	"regexp"
	"strings"
)

var goType = regexp.MustCompile(`(?m) in type .*$`)

// Message is err's text without the "yaml: " prefix, the "unmarshal
// errors:" heading and Go type names: "line 3: field bogus not found".
func Message(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	return goType.ReplaceAllString(msg, "")
}
