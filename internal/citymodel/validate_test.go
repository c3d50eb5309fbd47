package citymodel

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"bulwark"
)

// storedFixture is what the store already holds in validation tests, so
// that references to stored entities are exercised.
func storedFixture() *memStore {
	st := newMemStore()
	st.orgs["org"] = bulwark.Organization{ID: "org", Name: "Org", Purview: bulwark.PurviewCity}
	st.systems["stored-sys"] = bulwark.System{ID: "stored-sys", Name: "Stored", Owner: "org", Groups: []bulwark.Group{{ID: "g", Need: 1}}}
	st.services["stored-svc"] = bulwark.Service{ID: "stored-svc", Name: "Stored", Owner: "org"}
	return st
}

// validate runs the validation pass only.
func validate(st bulwark.CityStore, srcs ...Source) (*ImportResult, error) {
	return Validate(context.Background(), st, srcs, ImportOptions{})
}

// want is an expected problem; msg is a substring of the message.
type want struct {
	file      string
	line, col int
	field     string
	msg       string
}

func (w want) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: ~%q", w.file, w.line, w.col, w.field, w.msg)
}

func checkProblems(t *testing.T, err error, wants []want) {
	t.Helper()
	if len(wants) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; want problems %v", wants)
	}
	if code := bulwark.ErrorCode(err); code != bulwark.EINVALID {
		t.Fatalf("code %q, want %q: %v", code, bulwark.EINVALID, err)
	}
	got := bulwark.ErrorDetails(err)
	if len(got) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(wants), err)
	}
	for i := range min(len(got), len(wants)) {
		g, w := got[i], wants[i]
		if g.File != w.file || g.Line != w.line || g.Column != w.col || g.Field != w.field || !strings.Contains(g.Message, w.msg) {
			t.Errorf("problem %d:\n got %s:%d:%d: %s: %q\nwant %v", i, g.File, g.Line, g.Column, g.Field, g.Message, w)
		}
	}
	if want := fmt.Sprintf("city model has %d problem", len(wants)); !strings.HasPrefix(bulwark.ErrorMessage(err), want) {
		t.Errorf("message %q, want prefix %q", bulwark.ErrorMessage(err), want)
	}
}

const svcHead = "services:\n  - id: s\n    name: S\n    owner: org\n"

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name  string
		files []string // contents of a.yaml, b.yaml, ...
		want  []want
	}{
		{"valid minimal", []string{svcHead}, nil},
		{"empty file", []string{""}, nil},
		{"only comments", []string{"# nothing\n---\n# still nothing\n...\n"}, nil},
		{"unknown field", []string{svcHead + "    colour: red\n"},
			[]want{{"a.yaml", 5, 5, "services[0].colour", `unknown field "colour"`}}},
		{"case-variant field", []string{svcHead + "    Name: S2\n"},
			[]want{{"a.yaml", 5, 5, "services[0].Name", `unknown field "Name"`}}},
		{"unknown top-level field", []string{"servcies: []\n"},
			[]want{{"a.yaml", 1, 1, "servcies", "unknown field"}}},
		{"duplicate key", []string{svcHead + "    name: again\n"},
			[]want{{"a.yaml", 5, 5, "services[0].name", "given twice"}}},
		{"wrong type number", []string{svcHead + "    population: many\n"},
			[]want{{"a.yaml", 5, 17, "services[0].population", `want a whole number, got the string "many"`}}},
		{"wrong type list", []string{"services: {id: s}\n"},
			[]want{{"a.yaml", 1, 11, "services", "want a list, got a mapping"}}},
		{"wrong type string", []string{svcHead + "    description: [a, b]\n"},
			[]want{{"a.yaml", 5, 18, "services[0].description", "want a string, got a list"}}},
		{"bool for string", []string{"assets:\n  - {id: a, name: true, owner: org}\n"},
			[]want{{"a.yaml", 2, 19, "assets[0].name", "want a string, got true (quote it)"}}},
		{"negative number", []string{svcHead + "    population: -5\n"},
			[]want{{"a.yaml", 5, 17, "services[0].population", "must be at least 0"}}},
		{"missing required", []string{"services:\n  - id: s\n    owner: org\n", "organizations:\n  - {id: o2, name: O}\n"},
			[]want{{"a.yaml", 2, 5, "services[0].name", `missing required field "name"`},
				{"b.yaml", 2, 5, "organizations[0].purview", `missing required field "purview"`}}},
		{"invalid enum", []string{svcHead + "    sector: water\n    category: {integrity: extreme}\n"},
			[]want{{"a.yaml", 5, 13, "services[0].sector", `invalid value "water"`},
				{"a.yaml", 6, 27, "services[0].category.integrity", "want one of low, moderate, high"}}},
		{"invalid id", []string{"services:\n  - {id: -bad, name: S, owner: org}\n"},
			[]want{{"a.yaml", 2, 10, "services[0].id", `invalid id "-bad"`}}},
		{"duplicate id in one file", []string{svcHead + "systems:\n  - {id: s, name: S, owner: org}\n"},
			[]want{{"a.yaml", 6, 10, "systems[0].id", `duplicate id "s": already used by the service at a.yaml:2`}}},
		{"duplicate id across files", []string{svcHead, "---\nassets:\n  - {id: x, name: X, owner: org}\n---\nassets:\n  - {id: s, name: S, owner: org}\n"},
			[]want{{"b.yaml", 6, 10, "assets[0].id", `duplicate id "s": already used by the service at a.yaml:2`}}},
		{"id already stored as another kind", []string{"assets:\n  - {id: stored-svc, name: X, owner: org}\n"},
			[]want{{"a.yaml", 2, 10, "", `"stored-svc" is already used by a stored service`}}},
		{"dangling owner", []string{"services:\n  - {id: s, name: S, owner: nobody}\n"},
			[]want{{"a.yaml", 2, 29, "services[0].owner", `unknown organization "nobody": not declared in this import and not stored`}}},
		{"dangling dependency", []string{svcHead + "    depends_on:\n      - {on: ghost}\n"},
			[]want{{"a.yaml", 6, 14, "services[0].depends_on[0].on", `unknown service, system or asset "ghost"`}}},
		{"dangling shares_with", []string{"organizations:\n  - {id: o, name: O, purview: city, shares_with: [org, nope]}\n"},
			[]want{{"a.yaml", 2, 56, "organizations[0].shares_with[1]", `unknown organization "nope"`}}},
		{"dangling system", []string{"assets:\n  - {id: a, name: A, owner: org, system: nosys}\n"},
			[]want{{"a.yaml", 2, 42, "assets[0].system", `unknown system "nosys"`}}},
		{"reference of the wrong kind", []string{"assets:\n  - {id: a, name: A, owner: stored-svc, depends_on: [{on: stored-svc}], system: org}\n"},
			[]want{{"a.yaml", 2, 29, "assets[0].owner", `"stored-svc" is a stored service, not an organization`},
				{"a.yaml", 2, 59, "assets[0].depends_on[0].on", `"stored-svc" is a stored service, not a system or asset`},
				{"a.yaml", 2, 81, "assets[0].system", `unknown system "org"`}}},
		{"reference to stored entities", []string{"assets:\n  - {id: a, name: A, owner: org, system: stored-sys, group: g}\n"}, nil},
		{"group not declared on stored system", []string{"assets:\n  - {id: a, name: A, owner: org, system: stored-sys, group: h}\n"},
			[]want{{"a.yaml", 2, 61, "assets[0].group", `group "h" is not declared in the groups of the stored system "stored-sys"`}}},
		{"k greater than n", []string{svcHead + "    groups: [{id: pumps, need: 3}]\n    depends_on:\n      - {on: p1, group: pumps}\n      - {on: p2, group: pumps}\nassets:\n  - {id: p1, name: P1, owner: org}\n  - {id: p2, name: P2, owner: org}\n"},
			[]want{{"a.yaml", 5, 14, "services[0].groups[0].need", `group "pumps" needs 3 but only 2 dependencies name it`}}},
		{"k less than one", []string{svcHead + "    groups: [{id: pumps, need: 0}]\n"},
			[]want{{"a.yaml", 5, 32, "services[0].groups[0].need", "must be at least 1"}}},
		{"group members from assets", []string{"systems:\n  - {id: sys, name: S, owner: org, groups: [{id: g, need: 2}]}\nassets:\n  - {id: a1, name: A, owner: org, system: sys, group: g}\n  - {id: a2, name: A, owner: org, system: sys, group: g}\n"}, nil},
		{"group of system undeclared", []string{"systems:\n  - {id: sys, name: S, owner: org}\nassets:\n  - {id: a1, name: A, owner: org, system: sys, group: g}\n"},
			[]want{{"a.yaml", 4, 55, "assets[0].group", `group "g" is not declared in the groups of system "sys"`}}},
		{"dependency group not declared", []string{svcHead + "    depends_on: [{on: stored-sys, group: pumps}]\n"},
			[]want{{"a.yaml", 5, 42, "services[0].depends_on[0].group", `group "pumps" is not declared in this service's groups`}}},
		{"self dependency", []string{svcHead + "    depends_on: [{on: s}]\n"},
			[]want{{"a.yaml", 5, 23, "services[0].depends_on[0].on", `"s" depends on itself`}}},
		{"duplicate dependency", []string{svcHead + "    depends_on: [{on: stored-sys}, {on: stored-sys, kind: soft}]\n"},
			[]want{{"a.yaml", 5, 41, "services[0].depends_on[1].on", `dependency on "stored-sys" is listed twice`}}},
		{"system edge repeated", []string{"systems:\n  - {id: sys, name: S, owner: org, depends_on: [{on: a1}]}\nassets:\n  - {id: a1, name: A, owner: org, system: sys}\n"},
			[]want{{"a.yaml", 4, 43, "assets[0].system", `the dependency of system "sys" on "a1" is written twice`}}},
		{"system edge repeated, asset first", []string{"assets:\n  - {id: a1, name: A, owner: org, system: sys}\n", "systems:\n  - {id: sys, name: S, owner: org, depends_on: [{on: a1}]}\n"},
			[]want{{"b.yaml", 2, 54, "systems[0].depends_on[0].on", `the dependency of system "sys" on "a1" is written twice`}}},
		{"dependency without system", []string{"assets:\n  - {id: a, name: A, owner: org, dependency: soft}\n"},
			[]want{{"a.yaml", 2, 46, "assets[0].dependency", "dependency is set but system is not"}}},
		{"count below one", []string{"assets:\n  - {id: a, name: A, owner: org, count: 0}\n"},
			[]want{{"a.yaml", 2, 41, "assets[0].count", "must be at least 1"}}},
		{"latitude out of range", []string{"assets:\n  - {id: a, name: A, owner: org, location: {lat: 91}}\n"},
			[]want{{"a.yaml", 2, 50, "assets[0].location.lat", "want a number from -90 to 90"}}},
		{"invalid CPE and PURL", []string{"assets:\n  - id: a\n    name: A\n    owner: org\n    cpe:\n      - cpe:2.3:h:siemens:s7\n      - cpe:2.3:x:siemens:s7:-:*:*:*:*:*:*:*\n    purl: [npm/left-pad]\n"},
			[]want{{"a.yaml", 6, 9, "assets[0].cpe[0]", "has 3 components"},
				{"a.yaml", 7, 9, "assets[0].cpe[1]", `CPE part is "x"`},
				{"a.yaml", 8, 12, "assets[0].purl[0]", "must start with pkg:"}}},
		{"invalid duration", []string{svcHead + "    targets: {rto: 2 days, rpo: -1h}\n"},
			[]want{{"a.yaml", 5, 20, "services[0].targets.rto", `invalid duration "2 days"`},
				{"a.yaml", 5, 33, "services[0].targets.rpo", "negative duration"}}},
		{"invalid date", []string{"systems:\n  - {id: y, name: Y, owner: org, recovery: {last_tested: 2026-13-01}}\n"},
			[]want{{"a.yaml", 2, 58, "systems[0].recovery.last_tested", `invalid date "2026-13-01"`}}},
		{"unsupported version", []string{"version: 2\n"},
			[]want{{"a.yaml", 1, 10, "version", "unsupported format version 2"}}},
		{"control character", []string{"assets:\n  - {id: a, name: \"A\\x1b[31m\", owner: org}\n"},
			[]want{{"a.yaml", 2, 19, "assets[0].name", "control character U+001B"}}},
		{"bidi override", []string{"assets:\n  - {id: a, name: \"abc\u202edcba\", owner: org}\n"},
			[]want{{"a.yaml", 2, 19, "assets[0].name", "bidirectional control character U+202E"}}},
		{"anchor and alias", []string{"organizations:\n  - &o {id: o1, name: O, purview: city}\n  - *o\n"},
			[]want{{"a.yaml", 2, 5, "organizations[0]", "anchors (&name) are not supported"},
				{"a.yaml", 3, 5, "organizations[1]", "aliases (*name) are not supported"}}},
		{"not a mapping (JSON array)", []string{`[{"id": "x"}]`},
			[]want{{"a.yaml", 1, 1, "", "must be a mapping"}}},
		{"JSON mapping is YAML", []string{`{"services": [{"id": "s", "name": "S", "owner": "org"}]}`}, nil},
		{"scalar document", []string{"hello world\n"},
			[]want{{"a.yaml", 1, 1, "", `must be a mapping with the keys version, organizations, services, systems, assets; got the string "hello world"`}}},
		{"tabs", []string{"services:\n  - id: s\n\tname: S\n"},
			[]want{{"a.yaml", 3, 0, "", "not valid YAML: found a tab character"}}},
		{"syntax error in second document", []string{svcHead + "---\nassets: [\n---\nassets:\n  - {id: a, name: A, owner: nobody}\n"},
			[]want{{"a.yaml", 6, 0, "", "not valid YAML"},
				{"a.yaml", 9, 29, "assets[0].owner", `unknown organization "nobody"`}}},
		{"binary", []string{"services:\n\x00\x01\x02\xff"},
			[]want{{"a.yaml", 2, 0, "", "not a YAML text file: binary"}}},
		{"invalid UTF-8", []string{"services:\n  - id: s\n    name: \xc3\x28\n"},
			[]want{{"a.yaml", 3, 0, "", "not a YAML text file"}}},
		{"BOM and CRLF", []string{"\xef\xbb\xbfservices:\r\n  - id: s\r\n    name: S\r\n    owner: org\r\n    x: 1\r\n"},
			[]want{{"a.yaml", 5, 5, "services[0].x", "unknown field"}}},
		{"document markers keep line numbers", []string{"# head\n--- # first\nservices: []\n...\n# between\n--- \n\nassets:\n  - {id: a, name: A, owner: nobody}\n"},
			[]want{{"a.yaml", 9, 29, "assets[0].owner", "unknown organization"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := storedFixture()
			var srcs []Source
			for i, f := range tc.files {
				srcs = append(srcs, src(string(rune('a'+i))+".yaml", f))
			}
			_, err := validate(st, srcs...)
			checkProblems(t, err, tc.want)
			// And Import stores nothing when there is a problem.
			before := st.total()
			_, err = Import(context.Background(), st, srcs, ImportOptions{})
			if (err != nil) != (tc.want != nil) {
				t.Fatalf("Import error %v, want error %v", err, tc.want != nil)
			}
			if tc.want != nil && (st.total() != before || st.commits != 0) {
				t.Errorf("store changed by a failed import: %d -> %d entities, %d commits", before, st.total(), st.commits)
			}
		})
	}
}
