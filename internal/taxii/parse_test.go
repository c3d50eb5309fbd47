package taxii

import (
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/stix"
	"bulwark/internal/testenv"
)

const goodObject = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`

// IN-02, IN-06: hostile envelopes are refused with a located reason, and
// an object's own problems (duplicate or case-variant keys included) fail
// that object alone.
func TestDecodeEnvelopeHostile(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		err        string // substring of the error; "" = decodes
		rejected   int
	}{
		{"good", `{"objects":[` + goodObject + `]}`, "", 0},
		{"more and next ignored", `{"more":false,"next":"x","objects":[` + goodObject + `]}`, "", 0},
		{"custom property ignored", `{"x_acme":{"a":1},"objects":[` + goodObject + `]}`, "", 0},
		{"duplicate member", `{"objects":[` + goodObject + `],"objects":[]}`, "appears twice", 0},
		{"case variant", `{"objects":[` + goodObject + `],"Objects":[]}`, "differ only in case", 0},
		{"unknown member", `{"objects":[` + goodObject + `],"type":"bundle"}`, "unknown member", 0},
		{"array", `[` + goodObject + `]`, "must be a TAXII envelope", 0},
		{"objects not an array", `{"objects":{}}`, "must be an array", 0},
		{"empty objects", `{"objects":[]}`, "at least one", 0},
		{"no objects", `{}`, "no objects", 0},
		{"truncated", `{"objects":[` + goodObject, "truncated", 0},
		{"trailing data", `{"objects":[` + goodObject + `]}{}`, "after the envelope", 0},
		{"invalid UTF-8", "{\"objects\":[\"\xff\"]}", "malformed", 0},
		{"object with duplicate key", `{"objects":[` + goodObject + `,{"type":"indicator","type":"malware"}]}`, "", 1},
		{"object with case-variant marking key", `{"objects":[` + strings.TrimSuffix(goodObject, "}") + `,"object_marking_refs":[],"OBJECT_MARKING_REFS":["x"]}]}`, "", 1},
		{"not an object", `{"objects":[1,"a",null]}`, "", 3},
		{"deep", `{"objects":[` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `]}`, "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// CPU time, not wall time: CI runs packages in parallel
			// under the race detector on a shared machine.
			start := testenv.CPUTime()
			objs, rej, err := decodeEnvelope([]byte(tc.body), stix.Limits{})
			if d := testenv.CPUTime() - start; d > 2*time.Second {
				t.Errorf("took %v of CPU", d)
			}
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(bulwark.ErrorMessage(err), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
			case tc.rejected < 0:
				if err == nil && len(rej) == 0 {
					t.Error("deep nesting accepted")
				}
			default:
				if err != nil || len(rej) != tc.rejected || len(objs)+len(rej) == 0 {
					t.Errorf("objects %d, rejected %d (%v), err %v", len(objs), len(rej), rej, err)
				}
				for _, r := range rej {
					if len(r.Problems) == 0 || !strings.HasPrefix(r.Problems[0].Field, "/objects/") {
						t.Errorf("rejection not located: %+v", r)
					}
				}
			}
		})
	}
}

func TestDecodeEnvelopeObjectCap(t *testing.T) {
	body := `{"objects":[` + strings.Repeat(goodObject+",", 10) + goodObject + `]}`
	if _, _, err := decodeEnvelope([]byte(body), stix.Limits{MaxObjects: 5}); bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("cap: %v", err)
	}
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		q       string
		allowed paramSet
		ok      bool
	}{
		{"", listParams, true},
		{"limit=5&added_after=2024-01-01T00:00:00.123456Z&match[type]=indicator,malware&match[spec_version]=2.1&match[version]=first,last", listParams, true},
		{"match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", listParams, true},
		{"match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", objectParams, false},
		{"match[type]=indicator,indicator", listParams, false},
		{"limit=" + strings.Repeat("9", 40), listParams, false},
		{"limit=5000", listParams, true}, // capped, not refused
		{"match[x_acme]=1", listParams, true},
		{"x=1", listParams, false},
		{"next=" + strings.Repeat("a", 300), listParams, false},
		{"q=" + strings.Repeat("a", 70_000), listParams, false},
		{"match[spec_version]=2.1.0", listParams, false},
		{"match[version]=all,last", listParams, false},
	} {
		_, err := parseQuery(tc.q, tc.allowed)
		if (err == nil) != tc.ok {
			t.Errorf("%.80q: %v, want ok %v", tc.q, err, tc.ok)
		}
	}
	p, _ := parseQuery("limit=5000", listParams)
	if p.query.Limit != 1000 {
		t.Errorf("limit capped to %d", p.query.Limit)
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range []string{`{"objects":[` + goodObject + `]}`, `{"objects":[{"type":"x"}]}`, `{}`, `[]`, `{"objects":[` + goodObject + `],"OBJECTS":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, rej, err := decodeEnvelope(b, stix.Limits{})
		if err != nil {
			if bulwark.ErrorCode(err) == bulwark.EINTERNAL {
				t.Fatalf("internal error: %v", err)
			}
			return
		}
		if len(objs)+len(rej) == 0 {
			t.Fatal("no objects and no error")
		}
		for _, o := range objs {
			if o.ID() == "" || o.Type() == "" {
				t.Fatalf("object without id or type: %s", o.JSON())
			}
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"limit=5", "match[version]=all", "added_after=2024-01-01T00:00:00Z&match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "%zz", "next=abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		p, err := parseQuery(q, listParams)
		if err != nil {
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Fatalf("error code %s: %v", bulwark.ErrorCode(err), err)
			}
			return
		}
		if p.query.Limit < 0 || p.query.Limit > 1000 {
			t.Fatalf("limit %d", p.query.Limit)
		}
	})
}
