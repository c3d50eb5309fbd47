// Package yamlerr turns yaml.v3's errors into messages for the people who
// wrote the file: the line stays, the Go type names of Bulwark's decoding
// structs go.
package yamlerr

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"bulwark"
)

var goType = regexp.MustCompile(`(?m) in type .*$`)

// Message is err's text without the "yaml: " prefix, the "unmarshal
// errors:" heading and Go type names: "line 3: field bogus not found".
func Message(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	return goType.ReplaceAllString(msg, "")
}

// Describe says what a YAML node is, for messages such as "want a list, got
// the string \"x\"": its kind, or its type and (abbreviated) value.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the string %q", Clip(n.Value))
		case "!!int", "!!float":
			return "the number " + Clip(n.Value)
		case "!!bool":
			return Clip(n.Value)
		case "!!null":
			return "null"
		case "!!timestamp":
			return "the date " + Clip(n.Value)
		}
		return "a value tagged " + Clip(n.ShortTag())
	}
	return "nothing"
}

// Clip abbreviates a value quoted in a message to 40 bytes, on a character
// boundary: a message says what was wrong without echoing all of it.
func Clip(s string) string { return bulwark.Abbrev(s, 40) }
