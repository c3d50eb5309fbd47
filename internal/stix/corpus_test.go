package stix

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"bulwark/internal/testenv"
)

// roundTrip decodes a bundle or a single object strictly, encodes it again
// and checks that the output is canonically equal to the input. It returns
// the decoded bundle (nil for a single object).
func roundTrip(t *testing.T, name string, data []byte) *Bundle {
	t.Helper()
	want, err := Canonical(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if head.Type != "bundle" {
		o, err := DecodeObject(bytes.NewReader(data), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(o.JSON(), want) {
			t.Errorf("%s: object not canonically equal after the round trip\n got %s\nwant %s", name, o.JSON(), want)
		}
		return nil
	}
	b, err := DecodeBundle(bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(b.Rejected) > 0 {
		t.Fatalf("%s: rejected %v", name, b.Rejected)
	}
	var out bytes.Buffer
	if err := EncodeBundle(&out, b.ID, b.Objects); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("%s: bundle not canonically equal after the round trip (%d vs %d bytes)", name, out.Len(), len(want))
		for i := range min(out.Len(), len(want)) {
			if out.Bytes()[i] != want[i] {
				lo := max(0, i-80)
				t.Errorf("first difference at byte %d:\n got …%s\nwant …%s", i, out.Bytes()[lo:min(out.Len(), i+80)], want[lo:min(len(want), i+80)])
				break
			}
		}
	}
	// A second pass over the output gives the same bytes (idempotent).
	b2, err := DecodeBundle(bytes.NewReader(out.Bytes()), Limits{})
	if err != nil || len(b2.Objects) != len(b.Objects) {
		t.Fatalf("%s: re-decode: %v", name, err)
	}
	return b
}

// TestRoundTrip_IO01 runs the committed fixtures (OASIS examples and
// Bulwark's markings/versions bundle) through decode and encode: ids,
// versions, object and granular markings, custom properties and extensions
// come out canonically equal.
func TestRoundTrip_IO01(t *testing.T) {
	files, _ := filepath.Glob("testdata/oasis/*.json")
	more, _ := filepath.Glob("testdata/roundtrip/*.json")
	files = append(files, more...)
	if len(files) < 7 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, f, data)
		})
	}
}

func TestRoundTripDetails_IO01(t *testing.T) {
	data, err := os.ReadFile("testdata/roundtrip/markings-versions.json")
	if err != nil {
		t.Fatal(err)
	}
	b := roundTrip(t, "markings-versions", data)
	const ind = "indicator--3f8e2b4d-1c6a-4d9e-8b7f-2a5c0e9d1b3a"
	var versions []*Object
	for _, o := range b.Objects {
		if o.ID() == ind {
			versions = append(versions, o)
		}
	}
	if len(versions) != 2 || versions[0].Version() != "2025-03-02T10:00:00.000Z" || versions[1].Version() != "2025-03-05T16:30:00.123Z" {
		t.Fatalf("versions of %s: %v", ind, versions)
	}
	defs := b.Definitions()
	v1, v2 := versions[0], versions[1]
	if got := defs.MarkingOf(v1); got != Red {
		t.Errorf("v1 with a RED granular marking: %v", got)
	}
	if g := v1.GranularMarkings(); len(g) != 2 || g[0].MarkingRef != TLPRedID || g[0].Selectors[0] != "description" || g[1].Lang != "de" {
		t.Errorf("granular markings %+v", g)
	}
	if refs := v2.ObjectMarkingRefs(); len(refs) != 2 {
		t.Errorf("v2 object markings %v", refs)
	}
	if c, ok := v2.Confidence(); !ok || c != 85 {
		t.Errorf("confidence %d %v", c, ok)
	}
	big, _ := v1.Property("x_big")
	if string(big) != "12345678901234567890123" {
		t.Errorf("large integer changed: %s", big)
	}
	ext := v1.Extensions()["extension-definition--8c2a4f1e-3b5d-4e7c-9a1f-6d0b2e4c8a1b"]
	if !strings.Contains(string(ext), `"plant":"Pump station 4"`) {
		t.Errorf("extension %s", ext)
	}
	for _, o := range b.Objects {
		switch o.Type() {
		case "malware":
			if !o.Revoked() || defs.MarkingOf(o) != Green {
				t.Errorf("malware revoked %v marking %v", o.Revoked(), defs.MarkingOf(o))
			}
		case "ipv4-addr":
			if o.SpecVersion() != "" || !o.Created().IsZero() || o.Version() != "" {
				t.Errorf("observable %s: spec %q created %v", o.ID(), o.SpecVersion(), o.Created())
			}
			if id, err := ObservableID(o.JSON()); err != nil || id != o.ID() {
				t.Errorf("ObservableID = %s, %v; the fixture's id is %s", id, err, o.ID())
			}
		case "sighting":
			refs := o.Refs()
			if len(refs) != 4 {
				t.Errorf("sighting refs %v", refs)
			}
		}
	}
	if len(b.Warnings) != 0 {
		t.Errorf("warnings on a self-contained bundle: %v", b.Warnings)
	}
}

// TestSharedCorpus_IN08 reads every STIX 2.1 example of the OASIS schema
// repository, MITRE ATT&CK for ICS and the TAXII reference server's objects
// from the shared data set: all parsed, nothing rejected, and bundles round
// trip to canonically equal JSON.
func TestSharedCorpus_IN08(t *testing.T) {
	dir := testenv.SharedData(t)
	files, _ := filepath.Glob(filepath.Join(dir, "stix2.1", "examples", "*.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "stix2.1", "examples", "*", "*.json"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no STIX examples in the shared data set")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, f, data)
		})
	}
	t.Run("attack-ics", func(t *testing.T) {
		f := filepath.Join(dir, "attack-ics", "ics-attack-18.1.json")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("ATT&CK for ICS bundle absent: %v", err)
		}
		b := roundTrip(t, f, data)
		if len(b.Objects) != 1826 {
			t.Errorf("%d objects, want 1826", len(b.Objects))
		}
		defs := b.Definitions()
		counts := map[Marking]int{}
		revoked := 0
		for _, o := range b.Objects {
			counts[defs.MarkingOf(o)]++
			if o.Revoked() {
				revoked++
			}
		}
		// ATT&CK marks everything with its copyright statement only.
		if counts[Unmarked] != 1826 {
			t.Errorf("markings %v, want all Unmarked (statement only)", counts)
		}
		if counts := MarkingOf(b.Objects[1]); counts != Red {
			t.Errorf("without definitions the statement marking is unknown: %v", counts)
		}
		t.Logf("ATT&CK for ICS: %d objects, %d revoked, %d warnings", len(b.Objects), revoked, len(b.Warnings))
	})
	t.Run("taxii-medallion", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "taxii2.1", "medallion-default_data.json"))
		if err != nil {
			t.Skipf("TAXII fixture absent: %v", err)
		}
		var doc map[string]struct {
			Collections []struct {
				Objects []jsontext.Value `json:"objects"`
			} `json:"collections"`
		}
		if err := json.Unmarshal(data, &doc, json.RejectUnknownMembers(false)); err != nil {
			t.Fatal(err)
		}
		n, upgraded := 0, 0
		for _, root := range doc {
			for _, c := range root.Collections {
				for _, raw := range c.Objects {
					o, err := ParseObject(raw, Limits{})
					if err != nil {
						t.Errorf("%v", err)
						continue
					}
					n++
					if o.UpgradedFrom() != "" {
						upgraded++
					}
				}
			}
		}
		// One malware there lacks spec_version: read as STIX 2.0, upgraded.
		if n != 8 || upgraded != 1 {
			t.Errorf("%d objects, %d upgraded; want 8 and 1", n, upgraded)
		}
	})
}

func TestInteropObjectMarking(t *testing.T) {
	data, err := os.ReadFile("testdata/oasis/interop-objectmarking-test.json")
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseObject(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// TLP 1.0 RED plus an id one digit off it: RED either way.
	if m := MarkingOf(o); m != Red {
		t.Errorf("MarkingOf = %v", m)
	}
	if o.CreatedByRef() != "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff" || len(o.ExternalReferences()) != 1 {
		t.Errorf("parsed %s %v", o.CreatedByRef(), o.ExternalReferences())
	}
}
