package incident

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"bulwark"
	"bulwark/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const minimal = `id: test
version: 1
title: Test
threat: ransomware
roles:
  - {id: lead, name: Lead}
phases:
  - phase: detection
    tasks:
      - {id: t1, title: Do it, responsible: lead}
`

func problems(err error) []string {
	var out []string
	for _, p := range bulwark.ErrorDetails(err) {
		out = append(out, p.String())
	}
	return out
}

func TestParsePlaybookMinimal(t *testing.T) {
	p, err := ParsePlaybook(strings.NewReader(minimal), "pb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "test" || p.Version != 1 || len(p.Phases) != 1 || p.Phases[0].Tasks[0].Party != bulwark.PartyReporter || p.Source != minimal {
		t.Errorf("parsed %+v", p)
	}
}

// TestParsePlaybookErrors: each malformed playbook is refused with every
// problem located as file:line:column: field: message.
func TestParsePlaybookErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"unknown field", strings.Replace(minimal, "title: Test", "title: Test\ntitel: typo", 1),
			[]string{`pb.yaml:4:1: titel: unknown field "titel" (fields here: id, version, title, threat, description, roles, phases)`}},
		{"undeclared role", strings.Replace(minimal, "responsible: lead", "responsible: boss", 1),
			[]string{`pb.yaml:10:45: phases[0].tasks[0].responsible: role "boss" is not declared under roles`}},
		{"bad phase", strings.Replace(minimal, "phase: detection", "phase: triage", 1),
			[]string{`pb.yaml:8:12: phases[0].phase: "triage" is not a phase: use detection, containment, eradication, recovery or post-incident`}},
		{"closed is not a playbook phase", strings.Replace(minimal, "phase: detection", "phase: closed", 1),
			[]string{`pb.yaml:8:12: phases[0].phase: "closed" is not a phase: use detection, containment, eradication, recovery or post-incident`}},
		{"version zero", strings.Replace(minimal, "version: 1", "version: 0", 1),
			[]string{`pb.yaml:2:10: version: want a whole number from 1 to 1000000, got 0`}},
		{"version text", strings.Replace(minimal, "version: 1", "version: one", 1),
			[]string{`pb.yaml:2:10: version: want a whole number, got the string "one"`}},
		{"missing title", strings.Replace(minimal, "title: Test\n", "", 1),
			[]string{`pb.yaml:1:1: title: required field "title" is missing`}},
		{"empty task title", strings.Replace(minimal, "title: Do it", `title: ""`, 1),
			[]string{`pb.yaml:10:25: phases[0].tasks[0].title: must not be empty`}},
		{"bad due", strings.Replace(minimal, "responsible: lead}", "responsible: lead, due: soon}", 1),
			[]string{`pb.yaml:10:56: phases[0].tasks[0].due: "soon" is not a duration: use e.g. 30m, 4h, 2d (up to a year)`}},
		{"bad party", strings.Replace(minimal, "responsible: lead}", "responsible: lead, party: everyone}", 1),
			[]string{`pb.yaml:10:58: phases[0].tasks[0].party: "everyone": a task goes to the reporter, every affected organization (affected) or every coordinator`}},
		{"bad id", strings.Replace(minimal, "id: test", "id: -bad id", 1),
			[]string{`pb.yaml:1:5: id: "-bad id" is not a valid id: 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`}},
		{"duplicate task", minimal + "      - {id: t1, title: Again, responsible: lead}\n",
			[]string{`pb.yaml:11:9: phases[0].tasks[1].id: task "t1" is already used at phases[0].tasks[0]: task ids are unique in a playbook`}},
		{"duplicate role", strings.Replace(minimal, "  - {id: lead, name: Lead}", "  - {id: lead, name: Lead}\n  - {id: lead, name: Other}", 1),
			[]string{`pb.yaml:7:10: roles[1].id: role "lead" is declared twice`}},
		{"phases out of order", minimal + "  - phase: post-incident\n    tasks: [{id: t2, title: Review, responsible: lead}]\n  - phase: containment\n    tasks: [{id: t3, title: Isolate, responsible: lead}]\n",
			[]string{`pb.yaml:13:12: phases[2].phase: phase containment comes after post-incident: list the phases in lifecycle order`}},
		{"phase twice", minimal + "  - phase: detection\n    tasks: [{id: t2, title: More, responsible: lead}]\n",
			[]string{`pb.yaml:11:12: phases[1].phase: phase detection is listed twice`}},
		{"decision with one option", strings.Replace(minimal, "responsible: lead}", "responsible: lead, decision: {question: \"Pay?\", options: [{id: no, text: No}]}}", 1),
			[]string{`pb.yaml:10:89: phases[0].tasks[0].decision.options: a decision offers at least two options, got 1`}},
		{"decision option twice", strings.Replace(minimal, "responsible: lead}", "responsible: lead, decision: {question: \"Pay?\", options: [{id: no, text: No}, {id: no, text: Nope}]}}", 1),
			[]string{`pb.yaml:10:115: phases[0].tasks[0].decision.options[1].id: option "no" is given twice`}},
		{"no tasks", strings.Replace(minimal, "    tasks:\n      - {id: t1, title: Do it, responsible: lead}\n", "    tasks: []\n", 1),
			[]string{`pb.yaml:9:12: phases[0].tasks: a phase lists at least one task`}},
		{"several problems, in file order", "id: x\nversion: -3\ntitle: T\nthreat: ransomware\nroles: []\nphases:\n  - phase: nope\n    tasks: [{id: a, title: A, responsible: r, colour: red}]\n",
			[]string{
				`pb.yaml:2:10: version: want a whole number from 1 to 1000000, got -3`,
				`pb.yaml:5:8: roles: declare at least one role`,
				`pb.yaml:7:12: phases[0].phase: "nope" is not a phase: use detection, containment, eradication, recovery or post-incident`,
				`pb.yaml:8:44: phases[0].tasks[0].responsible: role "r" is not declared under roles`,
				`pb.yaml:8:47: phases[0].tasks[0].colour: unknown field "colour" (fields here: id, title, detail, party, responsible, accountable, consulted, informed, due, decision)`,
			}},
		{"alias", strings.Replace(minimal, "title: Test", "title: &t Test", 1),
			[]string{`pb.yaml:3:8: title: YAML anchors (&name) are not supported; write the value out`}},
		{"control character", strings.Replace(minimal, "title: Test", "title: \"Te\\u0007st\"", 1),
			[]string{`pb.yaml:3:8: title: text contains the control character U+0007`}},
		{"not a mapping", "- a\n- b\n", []string{`pb.yaml:1:1: a playbook is a mapping (key: value lines), got a list`}},
		{"empty", "", []string{`pb.yaml: the file is empty: it must hold a playbook`}},
		{"two documents", minimal + "---\nid: y\n", []string{`pb.yaml:11:1: a second document: a file holds one playbook`}},
		{"syntax error", "id: [x\n", []string{`pb.yaml:1: did not find expected ',' or ']'`}},
		{"truncated", minimal[:len(minimal)-30], []string{`pb.yaml:9: did not find expected ',' or '}'`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePlaybook(strings.NewReader(tc.src), "pb.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Errorf("code %s", bulwark.ErrorCode(err))
			}
			got := problems(err)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParsePlaybookHostile(t *testing.T) {
	for name, src := range map[string]string{
		"billion laughs": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
		"deep nesting":   strings.Repeat("[", 10000),
		"binary":         "\x00\x01\xff\xfe",
		"many tasks":     minimal + strings.Repeat("      - {id: tx, title: X, responsible: lead}\n", 600),
		"long title":     strings.Replace(minimal, "title: Test", "title: "+strings.Repeat("x", 600), 1),
		"tagged":         strings.Replace(minimal, "title: Test", "title: !!binary AAAA", 1),
	} {
		// CPU time, not wall time: CI runs packages in parallel under
		// the race detector on a shared machine.
		start := testenv.CPUTime()
		_, err := ParsePlaybook(strings.NewReader(src), "h.yaml")
		if d := testenv.CPUTime() - start; err == nil || bulwark.ErrorCode(err) != bulwark.EINVALID || d > 2*time.Second {
			t.Errorf("%s: %v after %v of CPU", name, err, d)
		}
		if m := bulwark.ErrorMessage(err); !strings.HasPrefix(m, "h.yaml") {
			t.Errorf("%s: message does not name the file: %s", name, m)
		}
	}
	big := strings.NewReader(minimal + "# " + strings.Repeat("x", MaxFileBytes))
	if _, err := ParsePlaybook(big, "big.yaml"); bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("oversized: %v", err)
	}
	if _, err := ParsePlaybook(iotest.ErrReader(errors.New("disk on fire")), "r.yaml"); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read error: %v", err)
	}
}

// TestBuiltinPlaybooks: the six bundled playbooks parse, cover every
// threat class, declare what they use and are pinned by a golden summary
// (go test -update rewrites it).
func TestBuiltinPlaybooks(t *testing.T) {
	pbs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(pbs) != 6 {
		t.Fatalf("%d bundled playbooks, want 6", len(pbs))
	}
	classes := map[string]bool{}
	var b strings.Builder
	for _, p := range pbs {
		classes[p.Threat] = true
		if !p.Builtin || p.Version < 1 || p.Source == "" {
			t.Errorf("%s: %+v", p.ID, p)
		}
		// Round trip: the stored source parses to the same playbook.
		again, err := ParsePlaybook(strings.NewReader(p.Source), p.ID)
		if err != nil || again.ID != p.ID || len(again.Phases) != len(p.Phases) {
			t.Errorf("%s does not re-parse: %v", p.ID, err)
		}
		b.WriteString(p.ID + " v" + itoa(p.Version) + " (" + p.Threat + "): " + p.Title + "\n")
		for _, ph := range p.Phases {
			for _, tk := range ph.Tasks {
				line := "  " + string(ph.Phase) + "/" + tk.ID + " → " + string(tk.Party) + ", R " + tk.Responsible
				if tk.Accountable != "" {
					line += ", A " + tk.Accountable
				}
				if tk.Due > 0 {
					line += ", due " + tk.Due.String()
				}
				if tk.Decision != nil {
					line += ", decision (" + itoa(len(tk.Decision.Options)) + " options)"
				}
				b.WriteString(line + "\n")
			}
		}
	}
	for _, c := range ThreatClasses {
		if !classes[c] {
			t.Errorf("no bundled playbook for %s", c)
		}
	}
	golden(t, "builtin-playbooks.txt", b.String())
}

func itoa(n int) string { return strconv.Itoa(n) }

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, got)
	}
}

func FuzzParsePlaybook(f *testing.F) {
	pbs, _ := Builtin()
	for _, p := range pbs {
		f.Add([]byte(p.Source))
	}
	f.Add([]byte(minimal))
	f.Add([]byte("id: [x\n"))
	f.Add([]byte(strings.Replace(minimal, "responsible: lead}", "responsible: lead, decision: {question: Q, options: [{id: a, text: A}, {id: b, text: B, then: eradication}]}}", 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePlaybook(bytes.NewReader(b), "f.yaml")
		if err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("code %s: %v", c, err)
			}
			for _, pr := range bulwark.ErrorDetails(err) {
				if pr.File != "f.yaml" || pr.Message == "" {
					t.Fatalf("unlocated problem %+v", pr)
				}
			}
			return
		}
		// What parses is consistent: declared roles, unique task IDs,
		// phases in order.
		roles := map[string]bool{}
		for _, r := range p.Roles {
			roles[r.ID] = true
		}
		seen := map[string]bool{}
		last := -1
		for _, ph := range p.Phases {
			if ph.Phase.Index() < last || ph.Phase == bulwark.PhaseClosed {
				t.Fatalf("phase order %v", ph.Phase)
			}
			last = ph.Phase.Index()
			for _, tk := range ph.Tasks {
				if seen[tk.ID] || !roles[tk.Responsible] || tk.Title == "" {
					t.Fatalf("task %+v", tk)
				}
				seen[tk.ID] = true
			}
		}
	})
}
