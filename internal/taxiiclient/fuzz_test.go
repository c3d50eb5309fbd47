package taxiiclient

import (
	stdjson "encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeResource: the strict resource decoder never panics, and what
// it accepts, Go's lenient encoding/json (case-insensitive, last duplicate
// wins) reads the same way: no member can be smuggled past it.
func FuzzDecodeResource(f *testing.F) {
	for _, s := range []string{
		`{"title":"Bulwark","default":"/taxii2/bulwark/","api_roots":["/taxii2/bulwark/"]}`,
		`{"more":true,"next":"abc","objects":[{"id":"x","date_added":"2026-01-01T00:00:00Z","version":"v"}]}`,
		`{"id":"s","status":"complete","total_count":1,"success_count":1,"successes":[{"id":"a","version":"b"}]}`,
		`{"title":"a","title":"b"}`, `{"more":false,"MORE":true}`, `{"x_k":1,"x_` + "\u212a" + `":2}`,
		`{"versions":["2026-01-01T00:00:00.000Z"],"more":false}`, `[]`, `{"a":{"b":{"c":[1,2,{"d":null}]}}}`, `{"title":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		type resource struct {
			Title    string           `json:"title"`
			Default  string           `json:"default"`
			APIRoots []string         `json:"api_roots"`
			More     bool             `json:"more"`
			Next     string           `json:"next"`
			Versions []string         `json:"versions"`
			Objects  []ManifestRecord `json:"objects"`
			Status   string           `json:"status"`
			Total    int              `json:"total_count"`
		}
		var strict resource
		if decodeResource(data, "resource", &strict) != nil {
			return
		}
		var lenient resource
		if err := stdjson.Unmarshal(data, &lenient); err != nil {
			return // e.g. a number too large for encoding/json's int
		}
		if !reflect.DeepEqual(strict, lenient) {
			t.Fatalf("strict %+v, lenient %+v for %q", strict, lenient, data)
		}
	})
}
