package notify

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark"
)

func TestDefaultMatrix(t *testing.T) {
	m := DefaultMatrix()
	if m.Version != 1 || len(m.Rules) != 7 {
		t.Fatalf("default matrix: version %d, %d rules", m.Version, len(m.Rules))
	}
	seen := map[bulwark.NotifyAudience]bool{}
	for _, r := range m.Rules {
		seen[r.Audience] = true
		if _, ok := m.templates[r.Template]; !ok {
			t.Errorf("rule %s: template %s missing", r.ID, r.Template)
		}
	}
	for _, a := range bulwark.NotifyAudiences {
		if !seen[a] {
			t.Errorf("the default matrix does not reach the %s audience", a)
		}
	}
	if len(m.Secrets()) != 0 {
		t.Errorf("default matrix needs secrets %v", m.Secrets())
	}
	own := m.Rule("own-organization")
	if own == nil || own.Deadline != time.Hour || own.MinSeverity != 1 || len(own.EscalateTo) != 1 {
		t.Errorf("own-organization rule: %+v", own)
	}
	// The bundled file reads back byte for byte through DefaultMatrixYAML.
	if !bytes.Equal(DefaultMatrixYAML(), m.Source) {
		t.Error("DefaultMatrixYAML differs from the parsed source")
	}
}

func TestRuleMatches(t *testing.T) {
	r := bulwark.NotifyRule{MinSeverity: 3, Purviews: []bulwark.Purview{bulwark.PurviewCity}, Events: []bulwark.NotifyEventKind{IncidentCreated}, Audience: bulwark.AudienceCERT}
	pub := bulwark.NotifyRule{Audience: bulwark.AudiencePublic}
	for _, tc := range []struct {
		name string
		r    *bulwark.NotifyRule
		ev   Event
		want bool
	}{
		{"all match", &r, Event{Kind: IncidentCreated, Severity: 3, Purview: bulwark.PurviewCity}, true},
		{"above threshold", &r, Event{Kind: IncidentCreated, Severity: 5, Purview: bulwark.PurviewCity}, true},
		{"below threshold", &r, Event{Kind: IncidentCreated, Severity: 2, Purview: bulwark.PurviewCity}, false},
		{"other purview", &r, Event{Kind: IncidentCreated, Severity: 4, Purview: bulwark.PurviewPrivate}, false},
		{"other kind", &r, Event{Kind: PhaseChanged, Severity: 4, Purview: bulwark.PurviewCity}, false},
		{"public without action", &pub, Event{Kind: IncidentCreated, Severity: 5}, false},
		{"public with blank action", &pub, Event{Kind: IncidentCreated, Severity: 5, PublicAction: "  \n"}, false},
		{"public with action", &pub, Event{Kind: IncidentCreated, PublicAction: "Boil water"}, true},
	} {
		if got := tc.r.Matches(&tc.ev); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

const validMatrix = `version: 1
revision: "2026-11"
name: Test
rules:
  - id: own
    audience: internal
    min_severity: 1
    recipients:
      - org: "@incident"
      - email: soc@city.example
        org: city
        name: City SOC
    channel: email
    template: internal
    deadline: 30m
    escalate_to: [cert]
  - id: cert
    audience: cert
    min_severity: high
    events: [incident_created, severity_changed]
    purviews: [city, private]
    recipients:
      - purview: state
        role: cyber
    channel: email
    template: mine
    deadline: 4h
  - id: hook
    audience: isac
    recipients:
      - url: https://isac.example/hooks/bulwark
        secret: isac_main
        org: isac
    channel: webhook
    template: isac
templates:
  mine:
    subject: "[{{.SeverityName}}] {{.Title}}"
    body: |
      {{.What}} at {{.OrgName}}.
`

func TestParseMatrix(t *testing.T) {
	m, err := ParseMatrix(strings.NewReader(validMatrix), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Revision != "2026-11" || m.Name != "Test" || len(m.Rules) != 3 {
		t.Fatalf("parsed %+v", m.NotifyMatrix)
	}
	cert := m.Rule("cert")
	if cert.MinSeverity != 3 || cert.Deadline != 4*time.Hour || len(cert.Purviews) != 2 || cert.Recipients[0].Role != "cyber" {
		t.Errorf("cert rule %+v", cert)
	}
	if got := m.Secrets(); len(got) != 1 || got[0] != "isac_main" {
		t.Errorf("secrets %v", got)
	}
	if _, ok := m.Templates["mine"]; !ok {
		t.Error("file template not kept")
	}
	s, b, err := m.Render("mine", sampleViews()[0])
	if err != nil || s != "[severe] Ransomware on the SCADA historian" || b != "Severity raised at City Water.\n" {
		t.Errorf("render: %q %q %v", s, b, err)
	}
}

// TestParseMatrixErrors feeds malformed matrices: each is refused with the
// line (and field) of its problem and a message saying why.
func TestParseMatrixErrors(t *testing.T) {
	rule := func(extra string) string {
		return "version: 1\nrules:\n  - id: r\n    audience: internal\n    recipients: [{org: \"@incident\"}]\n    channel: email\n    template: internal\n" + extra
	}
	for _, tc := range []struct {
		name, src string
		line      int
		field     string
		want      string
	}{
		{"empty", "", 0, "", "empty file"},
		{"not a mapping", "- a\n- b\n", 1, "", "is a mapping"},
		{"second document", rule("") + "---\nversion: 1\n", 8, "", "second document"},
		{"no version", "rules: []\n", 1, "version", "format version is required"},
		{"future version", strings.Replace(rule(""), "version: 1", "version: 2", 1), 1, "version", "version 2 is not supported"},
		{"unknown field", rule("    colour: red\n"), 8, "", "field colour not found"},
		{"case-variant key", rule("    Channel: email\n"), 8, "", "field Channel not found"},
		{"duplicate key", rule("    channel: webhook\n"), 8, "", "already defined"},
		{"no rules", "version: 1\nrules: []\n", 2, "rules", "at least one rule"},
		{"bad id", strings.Replace(rule(""), "id: r", "id: \"a b\"", 1), 3, "rules[0].id", "rule ID"},
		{"duplicate rule", rule("  - id: r\n    audience: internal\n    recipients: [{org: \"@incident\"}]\n    channel: email\n    template: internal\n"), 8, "rules[1].id", "already defined"},
		{"severity", rule("    min_severity: catastrophic\n"), 8, "rules[0].min_severity", "use 0-5"},
		{"severity 6", rule("    min_severity: 6\n"), 8, "rules[0].min_severity", "use 0-5"},
		{"audience", strings.Replace(rule(""), "audience: internal", "audience: everyone", 1), 4, "rules[0].audience", "use internal, partner"},
		{"channel", strings.Replace(rule(""), "channel: email", "channel: pigeon", 1), 6, "rules[0].channel", "use email or webhook"},
		{"purview", rule("    purviews: [city, galactic]\n"), 8, "rules[0].purviews[1]", "galactic"},
		{"event", rule("    events: [exploded]\n"), 8, "rules[0].events[0]", "exploded"},
		{"deadline syntax", rule("    deadline: soon\n"), 8, "rules[0].deadline", "30m"},
		{"deadline long", rule("    deadline: 90d\n"), 8, "rules[0].deadline", "1m to 30d"},
		{"no template", strings.Replace(rule(""), "template: internal", "template: nope", 1), 7, "rules[0].template", "no template \"nope\""},
		{"no recipients", strings.Replace(rule(""), "recipients: [{org: \"@incident\"}]", "recipients: []", 1), 5, "rules[0].recipients", "at least one recipient"},
		{"two kinds", strings.Replace(rule(""), "{org: \"@incident\"}", "{purview: state, email: a@b.example}", 1), 5, "rules[0].recipients[0]", "exactly one of"},
		{"email with header", strings.Replace(rule(""), "{org: \"@incident\"}", "{email: \"a@b.example\\r\\nBcc: x@y.example\"}", 1), 5, "rules[0].recipients[0].email", "not a plain e-mail address"},
		{"email with name", strings.Replace(rule(""), "{org: \"@incident\"}", "{email: \"Ann <a@b.example>\"}", 1), 5, "rules[0].recipients[0].email", "not a plain e-mail address"},
		{"url on email rule", strings.Replace(rule(""), "{org: \"@incident\"}", "{url: \"https://x.example/\", secret: s}", 1), 5, "rules[0].recipients[0].url", "channel is email"},
		{"webhook to contacts", strings.Replace(rule(""), "channel: email", "channel: webhook", 1), 5, "rules[0].recipients[0]", "recipients are urls"},
		{"webhook http", strings.Replace(strings.Replace(rule(""), "channel: email", "channel: webhook", 1), "{org: \"@incident\"}", "{url: \"http://isac.example/h\", secret: s}", 1), 5, "rules[0].recipients[0].url", "use https"},
		{"webhook userinfo", strings.Replace(strings.Replace(rule(""), "channel: email", "channel: webhook", 1), "{org: \"@incident\"}", "{url: \"https://u:p@isac.example/h\", secret: s}", 1), 5, "rules[0].recipients[0].url", "credentials"},
		{"webhook no secret", strings.Replace(strings.Replace(rule(""), "channel: email", "channel: webhook", 1), "{org: \"@incident\"}", "{url: \"https://isac.example/h\"}", 1), 5, "rules[0].recipients[0].secret", "signing secret"},
		{"bad org", strings.Replace(rule(""), "{org: \"@incident\"}", "{org: \"@everyone\"}", 1), 5, "rules[0].recipients[0].org", "@incident or @partners"},
		{"escalate unknown", rule("    deadline: 1h\n    escalate_to: [ghost]\n"), 9, "rules[0].escalate_to[0]", "no rule \"ghost\""},
		{"escalate without deadline", rule("    escalate_to: [r]\n"), 8, "rules[0].escalate_to", "needs a deadline"},
		{"escalate self", rule("    deadline: 1h\n    escalate_to: [r]\n"), 9, "rules[0].escalate_to[0]", "itself"},
		{"escalate to public", rule("    deadline: 1h\n    escalate_to: [p]\n  - id: p\n    audience: public\n    recipients: [{purview: city}]\n    channel: email\n    template: public\n"), 9, "rules[0].escalate_to[0]", "never reaches the public"},
		{"escalate down", strings.Replace(rule("    deadline: 1h\n    escalate_to: [low]\n  - id: low\n    audience: internal\n    recipients: [{org: \"@incident\"}]\n    channel: email\n    template: internal\n"), "audience: internal", "audience: cert", 1), 9, "rules[0].escalate_to[0]", "lower level"},
		{"escalation cycle", rule("    deadline: 1h\n    escalate_to: [b]\n  - id: b\n    audience: internal\n    recipients: [{org: \"@incident\"}]\n    channel: email\n    template: internal\n    deadline: 1h\n    escalate_to: [r]\n"), 9, "rules[0].escalate_to", "circle: r → b → r"},
		{"template syntax", rule("templates:\n  t:\n    subject: \"{{.Title\"\n    body: x\n"), 10, "templates.t.subject", "unclosed action"},
		{"template unknown field", rule("templates:\n  t:\n    subject: s\n    body: \"{{.Password}}\"\n"), 11, "templates.t.body", "can't evaluate field Password"},
		{"template function", rule("templates:\n  t:\n    subject: s\n    body: \"{{exec .Title}}\"\n"), 11, "templates.t.body", "function \"exec\" not defined"},
		{"template empty subject", rule("templates:\n  t:\n    subject: \"\"\n    body: b\n"), 9, "templates.t", "needs a subject and a body"},
		{"template recursion", rule("templates:\n  t:\n    subject: s\n    body: '{{define \"x\"}}{{template \"x\"}}{{end}}{{template \"x\"}}'\n"), 11, "templates.t.body", "exceeded maximum template depth"},
		{"anchor", rule("    description: &d text\n"), 8, "", "anchors and aliases"},
		{"alias bomb", "version: 1\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n", 2, "", "anchors and aliases"},
		{"tag", rule("    description: !!binary aGk=\n"), 8, "", "tag"},
		{"deep", "version: 1\nrules: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n", 2, "", "nested deeper"},
		{"not utf-8", "version: 1\nname: \xff\n", 0, "", "not UTF-8"},
		{"truncated", rule("")[:60], 0, "", ""},
		{"name with newline", "version: 1\nname: \"a\\nb\"\nrules: []\n", 2, "name", "one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMatrix(strings.NewReader(tc.src), "m.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID {
				t.Fatalf("code %s: %v", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "m.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
			if tc.line > 0 {
				probs := bulwark.ErrorDetails(err)
				found := false
				for _, p := range probs {
					found = found || (p.Line == tc.line && (tc.field == "" || p.Field == tc.field))
				}
				if len(probs) == 0 {
					found = strings.Contains(err.Error(), "line "+strconv.Itoa(tc.line))
				}
				if !found {
					t.Errorf("no problem at line %d field %q: %v %+v", tc.line, tc.field, err, probs)
				}
			}
		})
	}
}

// Every problem of a file is listed, not just the first.
func TestParseMatrixListsEveryProblem(t *testing.T) {
	src := "version: 1\nrules:\n  - id: a\n    audience: nobody\n    recipients: [{org: \"@incident\"}]\n    channel: fax\n    template: internal\n  - id: b\n    audience: internal\n    recipients: []\n    channel: email\n    template: none\n"
	_, err := ParseMatrix(strings.NewReader(src), "m.yaml")
	probs := bulwark.ErrorDetails(err)
	var fields []string
	for _, p := range probs {
		fields = append(fields, p.Field)
	}
	want := []string{"rules[0].audience", "rules[0].channel", "rules[1].template", "rules[1].recipients"}
	if strings.Join(fields, " ") != strings.Join(want, " ") {
		t.Errorf("problems %v, want %v", fields, want)
	}
}

func TestParseMatrixOversized(t *testing.T) {
	src := validMatrix + "# " + strings.Repeat("x", MaxMatrixBytes) + "\n"
	_, err := ParseMatrix(strings.NewReader(src), "big.yaml")
	if bulwark.ErrorCode(err) != bulwark.ETOOLARGE {
		t.Errorf("oversized matrix: %v", err)
	}
	many := "version: 1\nrules:\n" + strings.Repeat("  - {id: x, audience: internal, recipients: [{org: \"@incident\"}], channel: email, template: internal}\n", maxRules+1)
	if _, err := ParseMatrix(strings.NewReader(many), "many.yaml"); err == nil || !strings.Contains(err.Error(), "at most 500 rules") {
		t.Errorf("too many rules: %v", err)
	}
}

// The example matrices of testdata parse (they are the docs' examples).
func TestExampleMatrices(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example matrices")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseMatrix(bytes.NewReader(b), f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func FuzzParseMatrix(f *testing.F) {
	f.Add(string(defaultMatrixYAML))
	f.Add(validMatrix)
	f.Add("version: 1\nrules: [{id: a, audience: internal, recipients: [{org: '@incident'}], channel: email, template: t}]\ntemplates: {t: {subject: '{{.Title}}', body: '{{range .Services}}{{.Name}}{{end}}'}}\n")
	f.Add("version: 1\nrules:\n  - {id: a, audience: cert, deadline: 1h, escalate_to: [b], recipients: [{purview: state}], channel: email, template: cert}\n  - {id: b, audience: isac, recipients: [{url: 'https://h.example/x', secret: s}], channel: webhook, template: isac}\n")
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		m, err := ParseMatrix(strings.NewReader(src), "f.yaml")
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("parsing %d bytes took %v", len(src), took)
		}
		if err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("error code %s: %v", c, err)
			}
			return
		}
		// A matrix that parses renders every rule's template for every
		// sample view, and its escalations are acyclic and go up.
		for _, r := range m.Rules {
			for _, v := range sampleViews() {
				s, _, err := m.Render(r.Template, v)
				if err == nil && strings.ContainsAny(s, "\r\n") {
					t.Fatalf("rule %s: subject %q spans lines", r.ID, s)
				}
			}
			for _, to := range r.EscalateTo {
				tr := m.Rule(to)
				if tr == nil || tr.Audience.Level() < r.Audience.Level() || tr.Audience == bulwark.AudiencePublic {
					t.Fatalf("rule %s escalates to %q", r.ID, to)
				}
			}
		}
		if m.escalationCycle() != nil {
			t.Fatal("cycle accepted")
		}
	})
}
