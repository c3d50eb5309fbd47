package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bulwark"
)

// TestIN06_StrictJSON checks that parser confusions are refused: unknown,
// duplicate and case-variant keys, type confusion, trailing data, nesting.
func TestIN06_StrictJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string // error code; "" means accepted
	}{
		{"valid", `{"email":"a@b.c","name":"A","role":"viewer","password":"p"}`, ""},
		{"whitespace around", " \n{\"name\":\"A\"}\n ", ""},
		{"empty", ``, bulwark.EINVALID},
		{"null", `null`, bulwark.EINVALID},
		{"array", `[]`, bulwark.EINVALID},
		{"string", `"x"`, bulwark.EINVALID},
		{"unknown field", `{"name":"A","org":"other"}`, bulwark.EINVALID},
		{"duplicate key", `{"role":"viewer","role":"admin"}`, bulwark.EINVALID},
		{"case-variant key", `{"role":"viewer","ROLE":"admin"}`, bulwark.EINVALID},
		{"case-variant only", `{"Role":"admin"}`, bulwark.EINVALID},
		{"kelvin sign folds to k", "{\"\u212aey\":\"x\"}", bulwark.EINVALID},
		{"long s folds to s", "{\"pa\u017f\u017fword\":\"x\"}", bulwark.EINVALID},
		{"type confusion", `{"role":["admin"]}`, bulwark.EINVALID},
		{"number for string", `{"name":1}`, bulwark.EINVALID},
		{"trailing data", `{"name":"A"} {"name":"B"}`, bulwark.EINVALID},
		{"trailing garbage", `{"name":"A"}x`, bulwark.EINVALID},
		{"truncated", `{"name":"A"`, bulwark.EINVALID},
		{"truncated key", `{"na`, bulwark.EINVALID},
		{"invalid utf-8", "{\"name\":\"\xff\"}", bulwark.EINVALID},
		{"deep", `{"name":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, bulwark.EINVALID},
		{"comment", `{"name":"A" /* x */}`, bulwark.EINVALID},
		{"single quotes", `{'name':'A'}`, bulwark.EINVALID},
		{"too large", `{"name":"` + strings.Repeat("a", maxJSONBody) + `"}`, bulwark.ETOOLARGE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v createUserRequest
			err := decodeJSON(strings.NewReader(tc.body), maxJSONBody, &v)
			if got := bulwark.ErrorCode(err); got != tc.want {
				t.Fatalf("decode %q: code %q (%v), want %q", bulwark.Abbrev(tc.body, 60), got, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "json:") {
				t.Errorf("error exposes the decoder's message: %v", err)
			}
		})
	}
}

// FuzzDecodeJSON checks the strict decoder on arbitrary bodies: it never
// panics, fails only with EINVALID, and what it accepts uses exactly the
// declared keys once each and survives a round trip.
func FuzzDecodeJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/json/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v createUserRequest
		err := decodeJSONBytes(b, &v)
		if err != nil {
			if code := bulwark.ErrorCode(err); code != bulwark.EINVALID {
				t.Fatalf("error code %q for %q: %v", code, b, err)
			}
			return
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("accepted a body that is not a JSON object: %q", b)
		}
		allowed := jsonFields(reflect.TypeOf(v))
		for k := range raw {
			if _, ok := allowed[k]; !ok {
				t.Fatalf("accepted key %q in %q", k, b)
			}
		}
		out, _ := json.Marshal(v)
		var back createUserRequest
		if err := decodeJSONBytes(out, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if d := cmp.Diff(v, back); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}
