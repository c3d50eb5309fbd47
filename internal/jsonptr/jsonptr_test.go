package jsonptr

import (
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": "a", "a/b": "a~1b", "m~n": "m~0n", "~/": "~0~1", "~1": "~01"} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKindName(t *testing.T) {
	for k, want := range map[jsontext.Kind]string{'{': "object", '[': "array", '"': "string", '0': "number", 't': "boolean", 'f': "boolean", 'n': "null", 0: "value"} {
		if got := KindName(k); got != want {
			t.Errorf("KindName(%q) = %q, want %q", k, got, want)
		}
	}
}
