package stix

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/testenv"
)

const (
	testBundleID = "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"
	testIndID    = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	testCampID   = "campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3a"
	testIdentID  = "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"
	testMalID    = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
)

func bundleOf(objs ...string) string {
	return `{"type":"bundle","id":"` + testBundleID + `","objects":[` + strings.Join(objs, ",") + `]}`
}

// indicator returns a valid STIX 2.1 indicator with extra members spliced in
// (extra starts with a comma).
func indicator(extra string) string {
	return `{"type":"indicator","spec_version":"2.1","id":"` + testIndID + `","created":"2016-04-06T20:03:48.000Z",` +
		`"modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix",` +
		`"valid_from":"2016-01-01T00:00:00Z"` + extra + `}`
}

func campaign(extra string) string {
	return `{"type":"campaign","spec_version":"2.1","id":"` + testCampID + `","created":"2016-04-06T20:03:00.000Z",` +
		`"modified":"2016-04-06T20:03:00.000Z","name":"Green Group Attacks Against Finance"` + extra + `}`
}

// TestDecodeBundleHostile_IN06_AC02 feeds crafted objects and checks each is
// rejected with a located reason (or, when the bundle itself is broken, that
// decoding fails with a located error), never silently merged.
func TestDecodeBundleHostile_IN06_AC02(t *testing.T) {
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	veryDeep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	many := "[" + strings.Repeat("1,", 200) + "1]"
	tests := []struct {
		name      string
		in        string
		lim       Limits
		fatal     string // error code when the whole bundle fails
		field     string // JSON pointer of the (first) problem
		msg       string // part of its message
		rejected  int
		nObjects  int
		checkMore func(t *testing.T, b *Bundle)
	}{
		{name: "duplicate marking refs", in: bundleOf(indicator(`,"object_marking_refs":["` + TLPRedID + `"],"object_marking_refs":["` + TLPClearID + `"]`)),
			field: "/objects/0/object_marking_refs", msg: "duplicate member", rejected: 1},
		{name: "case-variant marking refs", in: bundleOf(indicator(`,"object_marking_refs":["` + TLPRedID + `"],"OBJECT_MARKING_REFS":["` + TLPClearID + `"]`)),
			field: "/objects/0/OBJECT_MARKING_REFS", msg: "differs only in case", rejected: 1},
		{name: "upper-case property alone", in: bundleOf(indicator(`,"OBJECT_MARKING_REFS":["` + TLPClearID + `"]`)),
			field: "/objects/0/OBJECT_MARKING_REFS", msg: "invalid property name", rejected: 1},
		{name: "case-variant nested", in: bundleOf(indicator(`,"granular_markings":[{"selectors":["pattern"],"marking_ref":"` + TLPRedID + `","Marking_Ref":"` + TLPClearID + `"}]`)),
			field: "/objects/0/granular_markings/0/Marking_Ref", msg: "differs only in case", rejected: 1},
		{name: "long-s variant nested", in: bundleOf(indicator(`,"granular_markings":[{"selectors":["description"],"marking_ref":"` + TLPRedID + `","\u017felectors":["name"]}]`)),
			field: "/objects/0/granular_markings/0/\u017felectors", msg: "differs only in case", rejected: 1},
		{name: "Kelvin variant top", in: bundleOf(indicator(`,"x_\u212aey":1,"x_key":2`)),
			msg: "differs only in case", rejected: 1},
		{name: "case variant in a large object", in: bundleOf(indicator(`,"x_a1":1,"x_a2":1,"x_a3":1,"x_a4":1,"x_a5":1,"x_a6":1,"x_a7":1,"x_a8":1,"x_a9":1,"x_b1":1,"X_A1":2`)),
			field: "/objects/0/X_A1", msg: "differs only in case", rejected: 1},
		{name: "duplicate in extension", in: bundleOf(indicator(`,"x_a":{"b":1,"b":2}`)),
			field: "/objects/0/x_a/b", msg: "duplicate member", rejected: 1},
		{name: "bundle duplicate objects", in: `{"type":"bundle","id":"` + testBundleID + `","objects":[],"objects":[]}`,
			fatal: bulwark.EINVALID, field: "/objects", msg: "duplicate member"},
		{name: "bundle case-variant type", in: `{"type":"bundle","Type":"bundle","id":"` + testBundleID + `"}`,
			fatal: bulwark.EINVALID, field: "/Type", msg: "differs only in case"},
		{name: "deep nesting", in: bundleOf(indicator(`,"x_deep":` + deep)),
			field: "/objects/0/x_deep" + strings.Repeat("/0", 30), msg: "nesting deeper than 32", rejected: 1},
		{name: "very deep nesting", in: bundleOf(indicator(`,"x_deep":` + veryDeep)),
			fatal: bulwark.EINVALID, msg: "nesting deeper than the JSON reader allows"},
		{name: "huge string", in: bundleOf(indicator(`,"description":"` + strings.Repeat("A", 2000) + `"`)), lim: Limits{MaxStringBytes: 1024},
			field: "/objects/0/description", msg: "string longer than 1024 bytes", rejected: 1},
		{name: "huge member name", in: bundleOf(indicator(`,"x_` + strings.Repeat("a", 2000) + `":1`)), lim: Limits{MaxStringBytes: 1024},
			msg: "member name longer than 1024 bytes", rejected: 1},
		{name: "too many elements", in: bundleOf(indicator(`,"x_many":` + many)), lim: Limits{MaxElements: 100},
			field: "/objects/0/x_many/100", msg: "more than 100 elements", rejected: 1},
		{name: "truncated", in: bundleOf(indicator(""))[:200],
			fatal: bulwark.EINVALID, msg: "unexpected end of input"},
		{name: "empty input", in: "", fatal: bulwark.EINVALID, msg: "unexpected end of input"},
		{name: "not an object", in: `[1,2]`, fatal: bulwark.EINVALID, msg: "a STIX bundle is a JSON object, found array"},
		{name: "trailing data", in: bundleOf(indicator("")) + `{}`, fatal: bulwark.EINVALID, msg: "unexpected data after the STIX bundle"},
		{name: "wrong type revoked", in: bundleOf(indicator(`,"revoked":"yes"`)),
			field: "/objects/0/revoked", msg: "unexpected string", rejected: 1},
		{name: "type a number", in: bundleOf(strings.Replace(indicator(""), `"type":"indicator"`, `"type":5`, 1)),
			field: "/objects/0/type", msg: "unexpected number", rejected: 1},
		{name: "id an array", in: bundleOf(strings.Replace(indicator(""), `"id":"`+testIndID+`"`, `"id":[]`, 1)),
			field: "/objects/0/id", msg: "unexpected array", rejected: 1},
		{name: "created a number", in: bundleOf(strings.Replace(indicator(""), `"created":"2016-04-06T20:03:48.000Z"`, `"created":1`, 1)),
			field: "/objects/0/created", msg: "unexpected number", rejected: 1},
		{name: "marking refs as string", in: bundleOf(indicator(`,"object_marking_refs":"` + TLPRedID + `"`)),
			field: "/objects/0/object_marking_refs", msg: "unexpected string", rejected: 1},
		{name: "proto key top", in: bundleOf(indicator(`,"__proto__":{"x_admin":true}`)),
			field: "/objects/0/__proto__", msg: `"__proto__" is not allowed`, rejected: 1},
		{name: "proto key nested", in: bundleOf(indicator(`,"x_a":{"__proto__":1}`)),
			field: "/objects/0/x_a/__proto__", msg: `"__proto__" is not allowed`, rejected: 1},
		{name: "NaN", in: bundleOf(indicator(`,"confidence":NaN`)), fatal: bulwark.EINVALID, field: "/objects/0/confidence", msg: "invalid character"},
		{name: "Infinity-like", in: bundleOf(indicator(`,"x_n":1e999`)),
			field: "/objects/0/x_n", msg: "beyond the range of a double", rejected: 1},
		{name: "confidence out of int range", in: bundleOf(indicator(`,"confidence":123456789012345678901234567890`)),
			field: "/objects/0/confidence", rejected: 1},
		{name: "confidence over 100", in: bundleOf(indicator(`,"confidence":101`)),
			field: "/objects/0/confidence", msg: "outside 0-100", rejected: 1},
		{name: "invalid UTF-8", in: bundleOf(indicator(`,"description":"bad ` + "\xff\xfe" + `"`)),
			field: "/objects/0/description", msg: "invalid UTF-8", rejected: 1},
		{name: "null property", in: bundleOf(indicator(`,"description":null`)),
			field: "/objects/0/description", msg: "null is not a STIX value", rejected: 1},
		{name: "object is a number", in: bundleOf(`42`, indicator("")),
			field: "/objects/0", msg: "found number", rejected: 1, nObjects: 1},
		{name: "id type mismatch", in: bundleOf(strings.Replace(indicator(""), `"type":"indicator"`, `"type":"malware"`, 1)),
			field: "/objects/0/id", msg: "does not start with the object's type", rejected: 1},
		{name: "id not a UUID", in: bundleOf(strings.Replace(indicator(""), testIndID, "indicator--1234", 1)),
			field: "/objects/0/id", msg: "invalid identifier", rejected: 1},
		{name: "modified before created", in: bundleOf(strings.Replace(indicator(""), `"modified":"2016-04-06T20:03:48.000Z"`, `"modified":"2015-04-06T20:03:48.000Z"`, 1)),
			field: "/objects/0/modified", msg: "before created", rejected: 1},
		{name: "timestamp without Z", in: bundleOf(strings.Replace(indicator(""), `"created":"2016-04-06T20:03:48.000Z"`, `"created":"2016-04-06T20:03:48.000+01:00"`, 1)),
			field: "/objects/0/created", msg: "not an RFC 3339 UTC timestamp", rejected: 1},
		{name: "impossible date", in: bundleOf(strings.Replace(indicator(""), `"created":"2016-04-06T20:03:48.000Z"`, `"created":"2016-02-30T20:03:48.000Z"`, 1)),
			field: "/objects/0/created", msg: "not an RFC 3339 UTC timestamp", rejected: 1},
		{name: "missing modified", in: bundleOf(strings.Replace(indicator(""), `"modified":"2016-04-06T20:03:48.000Z",`, ``, 1)),
			field: "/objects/0/modified", msg: "missing", rejected: 1},
		{name: "relationship without target", in: bundleOf(`{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","created":"2016-04-06T20:06:37.000Z","modified":"2016-04-06T20:06:37.000Z","relationship_type":"indicates","source_ref":"` + testIndID + `"}`),
			field: "/objects/0/target_ref", msg: "missing", rejected: 1},
		{name: "relationship to a marking", in: bundleOf(`{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","created":"2016-04-06T20:06:37.000Z","modified":"2016-04-06T20:06:37.000Z","relationship_type":"indicates","source_ref":"` + testIndID + `","target_ref":"` + TLPRedID + `"}`),
			field: "/objects/0/target_ref", msg: "cannot be referenced here", rejected: 1},
		{name: "sighting where_sighted not identity", in: bundleOf(`{"type":"sighting","spec_version":"2.1","id":"sighting--ee20065d-2555-424f-ad9e-0f8428623c75","created":"2016-04-06T20:08:31.000Z","modified":"2016-04-06T20:08:31.000Z","sighting_of_ref":"` + testIndID + `","where_sighted_refs":["` + testMalID + `"]}`),
			field: "/objects/0/where_sighted_refs/0", msg: "must reference an object of type identity or location", rejected: 1},
		{name: "marking ref not a marking", in: bundleOf(indicator(`,"object_marking_refs":["` + testIdentID + `"]`)),
			field: "/objects/0/object_marking_refs/0", msg: "must reference an object of type marking-definition", rejected: 1},
		{name: "empty marking list", in: bundleOf(indicator(`,"object_marking_refs":[]`)),
			field: "/objects/0/object_marking_refs", msg: "empty list", rejected: 1},
		{name: "granular marking without selectors", in: bundleOf(indicator(`,"granular_markings":[{"marking_ref":"` + TLPRedID + `"}]`)),
			field: "/objects/0/granular_markings/0/selectors", msg: "missing or empty", rejected: 1},
		{name: "created_by_ref not identity", in: bundleOf(indicator(`,"created_by_ref":"` + testMalID + `"`)),
			field: "/objects/0/created_by_ref", msg: "must reference an object of type identity", rejected: 1},
		{name: "canonical TLP id redefined", in: bundleOf(`{"type":"marking-definition","spec_version":"2.1","id":"` + TLPRedID + `","created":"2022-10-01T00:00:00.000Z","name":"TLP:CLEAR","extensions":{"` + TLP2ExtensionID + `":{"extension_type":"property-extension","tlp_2_0":"clear"}}}`),
			field: "/objects/0/extensions/" + TLP2ExtensionID + "/tlp_2_0", msg: "canonical TLP:RED id is used by a marking-definition that says TLP:CLEAR", rejected: 1},
		{name: "canonical TLP id as statement", in: bundleOf(`{"type":"marking-definition","spec_version":"2.1","id":"` + TLP1RedID + `","created":"2017-01-20T00:00:00.000Z","definition_type":"statement","definition":{"statement":"share freely"}}`),
			field: "/objects/0/id", msg: "does not define TLP:RED", rejected: 1},
		{name: "unsupported spec version", in: bundleOf(strings.Replace(indicator(""), `"spec_version":"2.1"`, `"spec_version":"2.2"`, 1)),
			field: "/objects/0/spec_version", msg: "unsupported STIX version", rejected: 1},
		{name: "too large", in: bundleOf(indicator("")), lim: Limits{MaxBytes: 100}, fatal: bulwark.ETOOLARGE, msg: "larger than 100 bytes"},
		{name: "too many objects", in: bundleOf(indicator(""), campaign(""), `1`), lim: Limits{MaxObjects: 2}, fatal: bulwark.ETOOLARGE, field: "/objects", msg: "more than 2 objects"},
		{name: "bundle not a bundle", in: campaign(""), fatal: bulwark.EINVALID, field: "/type", msg: `want "bundle"`},
		{name: "bad bundle id", in: strings.Replace(bundleOf(), testBundleID, "bundle--x", 1), fatal: bulwark.EINVALID, field: "/id", msg: "invalid bundle id"},
		{name: "bundle spec 3.0", in: strings.Replace(bundleOf(), `"type":"bundle"`, `"type":"bundle","spec_version":"3.0"`, 1), fatal: bulwark.EUNSUPPORTED, field: "/spec_version"},
		{name: "fine", in: bundleOf(indicator(""), campaign("")), nObjects: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			b, err := DecodeBundle(strings.NewReader(tc.in), tc.lim)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if tc.fatal != "" {
				if err == nil {
					t.Fatalf("decoded; want a %s error", tc.fatal)
				}
				if got := bulwark.ErrorCode(err); got != tc.fatal {
					t.Fatalf("code %q, want %q: %v", got, tc.fatal, err)
				}
				checkProblem(t, bulwark.ErrorDetails(err), tc.field, tc.msg)
				return
			}
			if err != nil {
				t.Fatalf("DecodeBundle: %v", err)
			}
			if len(b.Rejected) != tc.rejected {
				t.Fatalf("%d rejected, want %d: %v", len(b.Rejected), tc.rejected, b.Rejected)
			}
			if len(b.Objects) != tc.nObjects {
				t.Errorf("%d objects imported, want %d", len(b.Objects), tc.nObjects)
			}
			if tc.rejected > 0 {
				checkProblem(t, b.Rejected[0].Problems, tc.field, tc.msg)
				if err := b.Err(); bulwark.ErrorCode(err) != bulwark.EINVALID {
					t.Errorf("Err() = %v, want EINVALID", err)
				}
			}
		})
	}
}

func checkProblem(t *testing.T, probs []bulwark.Problem, field, msg string) {
	t.Helper()
	if len(probs) == 0 {
		t.Fatal("no problem reported")
	}
	for _, p := range probs {
		if (field == "" || p.Field == field) && strings.Contains(p.Message, msg) {
			return
		}
	}
	t.Errorf("no problem at %q containing %q; got %v", field, msg, probs)
}

// TestDecodeBundleTolerant_IO02 imports a feed mixing STIX 2.0 and 2.1
// objects, missing spec_version and dangling references: valid objects are
// imported (2.0 ones upgraded), each rejected one is reported with its reason.
func TestDecodeBundleTolerant_IO02(t *testing.T) {
	ind20 := `{"type":"indicator","id":"` + testIndID + `","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z",` +
		`"labels":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.100.1']","valid_from":"2016-01-01T00:00:00Z","created_by_ref":"` + testIdentID + `"}`
	mal20 := `{"type":"malware","id":"` + testMalID + `","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","labels":["remote-access-trojan"],"name":"Poison Ivy"}`
	rel := `{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","created":"2016-04-06T20:06:37.000Z",` +
		`"modified":"2016-04-06T20:06:37.000Z","relationship_type":"indicates","source_ref":"` + testIndID + `","target_ref":"` + testCampID + `"}`
	camp2 := strings.Replace(campaign(""), "Finance", "Banks", 1) // same id and version, other content
	in := `{"type":"bundle","id":"` + testBundleID + `","spec_version":"2.0","objects":[` +
		strings.Join([]string{ind20, mal20, campaign(""), rel, campaign(""), camp2}, ",") + `]}`
	b, err := DecodeBundle(strings.NewReader(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if b.SpecVersion != "2.0" {
		t.Errorf("SpecVersion %q, want 2.0", b.SpecVersion)
	}
	var ids []string
	for _, o := range b.Objects {
		ids = append(ids, o.ID())
	}
	want := []string{testIndID, testCampID, "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("imported %v, want %v; rejected %v", ids, want, b.Rejected)
	}
	ind := b.Objects[0]
	if ind.SpecVersion() != "2.1" || ind.UpgradedFrom() != "2.0" {
		t.Errorf("indicator spec %q upgraded from %q", ind.SpecVersion(), ind.UpgradedFrom())
	}
	if v, ok := ind.Property("pattern_type"); !ok || string(v) != `"stix"` {
		t.Errorf("upgraded indicator pattern_type = %s", v)
	}
	if len(b.Rejected) != 2 {
		t.Fatalf("rejected %v, want the 2.0 malware and the conflicting campaign", b.Rejected)
	}
	checkProblem(t, b.Rejected[0].Problems, "/objects/1/is_family", "cannot be upgraded")
	if b.Rejected[0].ID != testMalID || b.Rejected[0].Index != 1 {
		t.Errorf("rejection %+v", b.Rejected[0])
	}
	checkProblem(t, b.Rejected[1].Problems, "/objects/5", "same id and version")
	var warned []string
	for _, w := range b.Warnings {
		warned = append(warned, w.String())
	}
	all := strings.Join(warned, "\n")
	for _, want := range []string{
		"object 0 (" + testIndID + "): upgraded from STIX 2.0",
		"object 4 (" + testCampID + "): repeats an earlier object",
		"object 0 (" + testIndID + "): /objects/0/created_by_ref: references " + testIdentID + ", which is not in the bundle",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

func TestDecodeObject(t *testing.T) {
	o, err := DecodeObject(strings.NewReader(campaign(`,"x_custom":{"z":1,"a":[true,null]},"object_marking_refs":["`+TLPAmberID+`"]`)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Type() != "campaign" || o.ID() != testCampID || o.Version() != "2016-04-06T20:03:00.000Z" {
		t.Errorf("got %s %s %s", o.Type(), o.ID(), o.Version())
	}
	want := `{"created":"2016-04-06T20:03:00.000Z","id":"` + testCampID + `","modified":"2016-04-06T20:03:00.000Z","name":"Green Group Attacks Against Finance",` +
		`"object_marking_refs":["` + TLPAmberID + `"],"spec_version":"2.1","type":"campaign","x_custom":{"a":[true,null],"z":1}}`
	if string(o.JSON()) != want {
		t.Errorf("canonical JSON\n got %s\nwant %s", o.JSON(), want)
	}
	if MarkingOf(o) != Amber {
		t.Errorf("MarkingOf = %v", MarkingOf(o))
	}
	for _, tc := range []struct{ name, in, code, msg string }{
		{"trailing", campaign("") + " x", bulwark.EINVALID, "unexpected data after the object"},
		{"truncated", campaign("")[:50], bulwark.EINVALID, "unexpected end of input"},
		{"array", `[]`, bulwark.EINVALID, "found array"},
		{"duplicate", campaign(`,"name":"x"`), bulwark.EINVALID, "duplicate member"},
	} {
		_, err := DecodeObject(strings.NewReader(tc.in), Limits{})
		if bulwark.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %s containing %q", tc.name, err, tc.code, tc.msg)
		}
	}
	if _, err := DecodeObject(bytes.NewReader([]byte(campaign(""))), Limits{MaxBytes: 10}); bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("over MaxBytes: %v", err)
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ok     bool
		digits int
		want   string
	}{
		{"2016-04-06T20:03:48.000Z", true, 3, "2016-04-06T20:03:48Z"},
		{"2016-04-06T20:03:48Z", true, 0, "2016-04-06T20:03:48Z"},
		{"2016-04-06T20:03:48.123456789Z", true, 9, "2016-04-06T20:03:48.123456789Z"},
		{"2016-12-31T23:59:60.000Z", true, 3, "2016-12-31T23:59:59.999999999Z"},
		{"2016-04-06T20:03:48.Z", false, 0, ""},
		{"2016-04-06T20:03:48.1234567890Z", false, 0, ""},
		{"2016-04-06 20:03:48Z", false, 0, ""},
		{"2016-04-06T20:03:48+00:00", false, 0, ""},
		{"2016-04-06t20:03:48Z", false, 0, ""},
		{"2016-13-06T20:03:48Z", false, 0, ""},
		{"", false, 0, ""},
	} {
		got, digits, ok := ParseTimestamp(tc.in)
		if ok != tc.ok || digits != tc.digits || ok && got.Format(time.RFC3339Nano) != tc.want {
			t.Errorf("ParseTimestamp(%q) = %v, %d, %v; want %s, %d, %v", tc.in, got, digits, ok, tc.want, tc.digits, tc.ok)
		}
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	if s := FormatTimestamp(ts); s != "2026-01-02T03:04:05.006Z" {
		t.Errorf("FormatTimestamp = %s", s)
	}
	if s := FormatTimestamp(ts.Add(700)); s != "2026-01-02T03:04:05.0060007Z" {
		t.Errorf("FormatTimestamp = %s", s)
	}
}

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		typ  string
		v    int
		okay bool
	}{
		{testIndID, "indicator", 4, true},
		{"software--0b2a6a3d-1a62-5bd7-b8b3-f1e1c4d9a4c7", "software", 5, true},
		{"x-mitre-tactic--69da72d2-f550-41c5-ab9e-e8255707f28a", "x-mitre-tactic", 4, true},
		{"indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F", "indicator", 4, true},
		{"indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f", "", 0, false}, // version 0
		{"indicator--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f", "", 0, false}, // variant
		{"indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f", "", 0, false},
		{"Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "", 0, false},
		{"in--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "", 0, false},
		{"x--y--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "", 0, false},
		{"indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "", 0, false},
	} {
		typ, v, ok := ParseID(tc.in)
		if typ != tc.typ || v != tc.v || ok != tc.okay {
			t.Errorf("ParseID(%q) = %q, %d, %v", tc.in, typ, v, ok)
		}
	}
}

// endless repeats fill forever after prefix, counting what was read.
type endless struct {
	prefix []byte
	fill   []byte
	off    int
	n      int64
}

func (e *endless) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) {
		if len(e.prefix) > 0 {
			c := copy(p[k:], e.prefix)
			e.prefix = e.prefix[c:]
			k += c
			continue
		}
		c := copy(p[k:], e.fill[e.off:])
		e.off = (e.off + c) % len(e.fill)
		k += c
	}
	e.n += int64(k)
	return k, nil
}

// TestCaps_IN02 feeds endless hostile bodies: each is refused within 2 s,
// after reading little more than the byte cap, with bounded allocation.
func TestCaps_IN02(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, fill, code, msg string
		small                         bool // a 1 MiB cap instead of 8 MiB
	}{
		{"huge string", `{"type":"bundle","objects":[{"x_s":"`, "AAAAAAAAAAAAAAAA", bulwark.ETOOLARGE, "larger than", false},
		{"deep nesting", `{"type":"bundle","objects":[`, "[[[[[[[[", bulwark.EINVALID, "nesting deeper", false},
		{"endless rejected objects", `{"type":"bundle","objects":[`, "1,", bulwark.EINVALID, "more than 1000 objects rejected", false},
		{"endless objects", `{"type":"bundle","objects":[`, `{"type":"ipv4-addr","id":"ipv4-addr--2b3e2c17-3144-5591-9c88-a605220f8c0c","value":"198.51.100.1"},`,
			bulwark.ETOOLARGE, "larger than", true},
		{"endless members", `{"type":"bundle","objects":[{`, `"x_a":1,`, bulwark.ETOOLARGE, "larger than", false},
		{"endless whitespace", `{"type":"bundle"`, "    ", bulwark.ETOOLARGE, "larger than", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maxBytes := uint64(8 << 20)
			if tc.small {
				maxBytes = 1 << 20
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			in := &endless{prefix: []byte(tc.prefix), fill: []byte(tc.fill)}
			// CPU time, not wall time: the machine is shared.
			start := testenv.CPUTime()
			_, err := DecodeBundle(in, Limits{MaxBytes: int64(maxBytes)})
			elapsed := testenv.CPUTime() - start
			runtime.ReadMemStats(&after)
			if bulwark.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want %s containing %q", err, tc.code, tc.msg)
			}
			// Accepted objects are kept (canonical JSON and parsed fields)
			// and cost real work to check (seconds under the race
			// detector): only garbage must be refused fast and cheaply.
			valid := tc.name == "endless objects"
			limit := 2 * time.Second
			if raceEnabled {
				limit *= 10
			}
			if elapsed > limit && !valid {
				t.Errorf("took %v", elapsed)
			}
			if in.n > int64(maxBytes)+1<<20 {
				t.Errorf("read %d bytes with a cap of %d", in.n, maxBytes)
			}
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 8*maxBytes && !valid {
				t.Errorf("allocated %d MiB for an %d MiB cap", grown>>20, maxBytes>>20)
			}
		})
	}
}

func TestDecodeEnvelope(t *testing.T) {
	env, err := DecodeEnvelope(strings.NewReader(`{"more":true,"next":"p2","objects":[`+indicator("")+`,`+campaign(`,"revoked":"no"`)+`]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !env.More || env.Next != "p2" || len(env.Objects) != 1 || len(env.Rejected) != 1 {
		t.Fatalf("envelope %+v", env)
	}
	checkProblem(t, env.Rejected[0].Problems, "/objects/1/revoked", "unexpected string")
	empty, err := DecodeEnvelope(strings.NewReader(`{}`), Limits{})
	if err != nil || empty.More || len(empty.Objects) != 0 {
		t.Errorf("empty envelope: %+v %v", empty, err)
	}
	for _, tc := range []struct{ name, in, code, field, msg string }{
		{"bundle posted", bundleOf(indicator("")), bulwark.EINVALID, "/type", "has no type"},
		{"more not boolean", `{"more":"yes"}`, bulwark.EINVALID, "/more", "expected a boolean"},
		{"next not string", `{"next":2}`, bulwark.EINVALID, "/next", "expected a string"},
		{"duplicate objects", `{"objects":[],"objects":[]}`, bulwark.EINVALID, "/objects", "duplicate member"},
		{"case-variant more", `{"more":false,"MORE":true}`, bulwark.EINVALID, "/MORE", "differs only in case"},
		{"truncated", `{"objects":[` + indicator(""), bulwark.EINVALID, "", "unexpected end of input"},
		{"too large", `{"objects":[` + indicator("") + `]}`, bulwark.ETOOLARGE, "", "larger than 64 bytes"},
	} {
		lim := Limits{}
		if tc.name == "too large" {
			lim.MaxBytes = 64
		}
		_, err := DecodeEnvelope(strings.NewReader(tc.in), lim)
		if bulwark.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			continue
		}
		if !strings.Contains(bulwark.ErrorMessage(err), "TAXII envelope") {
			t.Errorf("%s: message %q does not say envelope", tc.name, bulwark.ErrorMessage(err))
		}
		checkProblem(t, bulwark.ErrorDetails(err), tc.field, tc.msg)
	}
	if _, err := DecodeBundle(strings.NewReader(`{"objects":[]}`), Limits{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("an envelope read as a bundle: %v", err)
	}
}

func TestWarningsCapped(t *testing.T) {
	objs := make([]string, 20)
	for i := range objs {
		objs[i] = campaign("")
	}
	b, err := DecodeBundle(strings.NewReader(bundleOf(objs...)), Limits{MaxRejected: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Objects) != 1 || len(b.Warnings) != 10 || b.WarningsOmitted != 9 {
		t.Errorf("%d objects, %d warnings, %d omitted; want 1, 10, 9", len(b.Objects), len(b.Warnings), b.WarningsOmitted)
	}
}
