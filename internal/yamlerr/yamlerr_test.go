package yamlerr

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestMessage(t *testing.T) {
	var v struct {
		A int `yaml:"a"`
	}
	dec := yaml.NewDecoder(strings.NewReader("a: 1\nbogus: 2\n"))
	dec.KnownFields(true)
	err := dec.Decode(&v)
	if got := Message(err); got != "line 2: field bogus not found" {
		t.Errorf("unknown field: %q (from %q)", got, err)
	}
	err = yaml.Unmarshal([]byte("a: [1"), &v)
	if got := Message(err); strings.HasPrefix(got, "yaml:") || !strings.Contains(got, "line") {
		t.Errorf("syntax error: %q", got)
	}
	err = yaml.Unmarshal([]byte("a: x\n"), &v)
	if got := Message(err); strings.Contains(got, "struct") || !strings.Contains(got, "line 1") {
		t.Errorf("type error: %q (from %q)", got, err)
	}
}
