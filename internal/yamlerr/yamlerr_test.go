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

func TestDescribe(t *testing.T) {
	long := strings.Repeat("é", 30) // 60 bytes: cut on a character boundary
	tests := []struct{ src, want string }{
		{"{a: 1}", "a mapping"},
		{"[1]", "a list"},
		{"x", `the string "x"`},
		{"12.5", "the number 12.5"},
		{"true", "true"},
		{"~", "null"},
		{"2026-01-02", "the date 2026-01-02"},
		{"!custom x", "a value tagged !custom"},
		{long, `the string "` + strings.Repeat("é", 20) + `…"`},
	}
	for _, tt := range tests {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
			t.Fatalf("%q: %v", tt.src, err)
		}
		if got := Describe(doc.Content[0]); got != tt.want {
			t.Errorf("Describe(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
	if got := Describe(&yaml.Node{}); got != "nothing" {
		t.Errorf("Describe(empty node) = %q, want nothing", got)
	}
}
