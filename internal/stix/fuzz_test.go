package stix

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark"
)

func fuzzSeeds(f *testing.F) {
	for _, pattern := range []string{"testdata/oasis/*.json", "testdata/roundtrip/*.json", "testdata/golden/*.json"} {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		bundleOf(indicator(`,"object_marking_refs":["` + TLPRedID + `"],"OBJECT_MARKING_REFS":["` + TLPClearID + `"]`)),
		bundleOf(indicator(`,"granular_markings":[{"selectors":["pattern"],"marking_ref":"` + TLPAmberStrictID + `"}]`)),
		bundleOf(campaign(`,"x_n":1e999,"__proto__":{}`)),
		`{"type":"bundle","id":"` + testBundleID + `","spec_version":"2.0","objects":[` + strings.Replace(indicator(""), `"spec_version":"2.1",`, "", 1) + `]}`,
		`{"type":"bundle","objects":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		`{"type":"bundle","id":"` + testBundleID + `","objects":[{"type":"marking-definition","spec_version":"2.1","id":"` + TLPRedID + `","created":"2022-10-01T00:00:00.000Z","name":"TLP:CLEAR"}]}`,
		`{"type":"bundle"`, `[]`, `"`, "{\"type\":\"bundle\",\"objects\":[{\"description\":\"\xff\"}]}",
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecodeBundle checks that DecodeBundle never panics or runs away, that
// every failure is a located *bulwark.Error, and that what it imports is
// consistent: valid ids of the object's type, canonical JSON that decodes to
// the same object, markings no weaker than a lenient reading of the same JSON
// finds, and an encoded bundle that decodes to the same objects.
func FuzzDecodeBundle(f *testing.F) {
	fuzzSeeds(f)
	lim := Limits{MaxBytes: 1 << 20, MaxDepth: 16, MaxObjects: 1000, MaxStringBytes: 4096, MaxElements: 1000}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBundle(bytes.NewReader(data), lim)
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		for _, r := range b.Rejected {
			if r.Index < 0 || len(r.Problems) == 0 || r.Problems[0].Message == "" || !strings.HasPrefix(r.Problems[0].Field, "/objects/") {
				t.Fatalf("rejection without located reason: %+v", r)
			}
		}
		for _, o := range b.Objects {
			checkFuzzObject(t, o, lim)
		}
		if b.ID == "" {
			return
		}
		var buf bytes.Buffer
		if err := EncodeBundle(&buf, b.ID, b.Objects); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeBundle(&buf, Limits{})
		if err != nil {
			t.Fatalf("re-decode of the encoded bundle: %v", err)
		}
		if len(again.Objects) != len(b.Objects) || len(again.Rejected) != 0 {
			t.Fatalf("re-decode: %d objects, %d rejected; want %d, 0", len(again.Objects), len(again.Rejected), len(b.Objects))
		}
		for i := range b.Objects {
			if !again.Objects[i].Equal(b.Objects[i]) {
				t.Fatalf("object %d changed on re-decode:\n%s\n%s", i, b.Objects[i].JSON(), again.Objects[i].JSON())
			}
		}
	})
}

// FuzzDecodeEnvelope is FuzzDecodeBundle for TAXII envelopes.
func FuzzDecodeEnvelope(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(`{"more":true,"next":"x","objects":[` + indicator("") + `]}`))
	lim := Limits{MaxBytes: 1 << 20, MaxDepth: 16, MaxObjects: 1000, MaxStringBytes: 4096, MaxElements: 1000}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := DecodeEnvelope(bytes.NewReader(data), lim)
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		for _, o := range env.Objects {
			checkFuzzObject(t, o, lim)
		}
	})
}

// FuzzDecodeObject is FuzzDecodeBundle for single objects.
func FuzzDecodeObject(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(indicator(`,"object_marking_refs":["` + TLP1AmberID + `","` + TLPGreenID + `"]`)))
	f.Add([]byte(campaign(`,"granular_markings":[{"selectors":["name"],"lang":"fr"}],"extensions":{"x-ext":{"a":1}}`)))
	lim := Limits{MaxBytes: 1 << 20, MaxDepth: 16, MaxStringBytes: 4096, MaxElements: 1000}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := DecodeObject(bytes.NewReader(data), lim)
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		checkFuzzObject(t, o, lim)
	})
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	switch code := bulwark.ErrorCode(err); code {
	case bulwark.EINVALID, bulwark.ETOOLARGE, bulwark.EUNSUPPORTED:
	default:
		t.Fatalf("unexpected error code %q: %v", code, err)
	}
	if d := bulwark.ErrorDetails(err); len(d) == 0 || d[0].Message == "" {
		t.Fatalf("error without detail: %v", err)
	}
}

func checkFuzzObject(t *testing.T, o *Object, lim Limits) {
	t.Helper()
	typ, _, ok := ParseID(o.ID())
	if !ok || typ != o.Type() {
		t.Fatalf("imported object with id %q of type %q", o.ID(), o.Type())
	}
	again, err := ParseObject(o.JSON(), lim)
	if err != nil {
		t.Fatalf("canonical JSON does not decode: %v\n%s", err, o.JSON())
	}
	if !again.Equal(o) {
		t.Fatalf("canonical JSON not stable:\n%s\n%s", o.JSON(), again.JSON())
	}
	if c, err := Canonical(o.JSON()); err != nil || !bytes.Equal(c, o.JSON()) {
		t.Fatalf("JSON is not canonical: %v", err)
	}
	// A lenient reading (the object as any JSON consumer sees it) finds no
	// marking stronger than MarkingOf reports (AC-02: no downgrade).
	var lenient struct {
		Refs     []any `json:"object_marking_refs"`
		Granular []struct {
			Ref any `json:"marking_ref"`
		} `json:"granular_markings"`
	}
	if err := json.Unmarshal(o.JSON(), &lenient, jsontext.AllowDuplicateNames(true), json.MatchCaseInsensitiveNames(true)); err != nil {
		return
	}
	got := MarkingOf(o)
	check := func(ref any) {
		s, _ := ref.(string)
		if lvl, ok := MarkingByID(s); ok && lvl > got {
			t.Fatalf("MarkingOf = %v but the JSON holds %s (%v)", got, s, lvl)
		}
		if s != "" && !IsTLPID(s) && got != Red {
			t.Fatalf("unknown marking %s but MarkingOf = %v", s, got)
		}
	}
	for _, r := range lenient.Refs {
		check(r)
	}
	for _, g := range lenient.Granular {
		check(g.Ref)
	}
}

// FuzzParseMarking checks the TLP label parser: no panic, and every label it
// accepts names a level whose own label parses back to it.
func FuzzParseMarking(f *testing.F) {
	for _, s := range []string{"TLP:CLEAR", "white", "TLP:AMBER+STRICT", "red", "", "TLP:", "tlp:green "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := ParseMarking(s)
		if !ok {
			return
		}
		if m == Unmarked || !m.Valid() {
			t.Fatalf("ParseMarking(%q) = %d", s, m)
		}
		if back, ok := ParseMarking(m.String()); !ok || back != m {
			t.Fatalf("%v does not parse back", m)
		}
		if got, _ := MarkingByID(m.ID()); got != m {
			t.Fatalf("%v id %s maps to %v", m, m.ID(), got)
		}
	})
}
