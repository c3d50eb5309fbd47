package notify

import (
	"bytes"
	"flag"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"bulwark"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRenderGolden pins every bundled template's output for each sample
// view (go test -update rewrites testdata/golden).
func TestRenderGolden(t *testing.T) {
	m := DefaultMatrix()
	views := map[string]View{}
	for i, name := range []string{"full", "escalation", "shared", "public", "empty"} {
		views[name] = sampleViews()[i]
	}
	for _, tmpl := range BundledTemplateNames() {
		for vname, v := range views {
			s, b, err := m.Render(tmpl, v)
			if err != nil {
				t.Errorf("%s/%s: %v", tmpl, vname, err)
				continue
			}
			got := "Subject: " + s + "\n\n" + b
			path := filepath.Join("testdata", "golden", tmpl+"-"+vname+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s/%s differs from %s:\n%s", tmpl, vname, path, got)
			}
		}
	}
}

// hostileTexts are incident titles and texts meant to break out of a
// template, a header or a terminal.
var hostileTexts = []string{
	"Outage\r\nBcc: attacker@evil.example",
	"Outage\nSubject: fake\n\n.\nMAIL FROM:<x@evil.example>",
	"{{.Summary}} {{template \"body\"}} {{printf \"%s\" .}}",
	"\x1b[2J\x1b[31mred alert\x1b[0m",
	"invoice\u202egnp.exe",
	"nul\x00byte and \x7f del",
	"line\u2028separator\u2029para\u0085nel",
	"zero\u200bwidth\ufeffbom",
	"=?utf-8?q?=0D=0ABcc:_x@evil.example?=",
	strings.Repeat("long ", 3000),
	"\xff\xfe invalid utf-8",
	"<script>alert(1)</script>",
	".",
}

// TestHostileContentStaysInside renders hostile event text through every
// bundled template and composes the e-mail: subjects stay one clean line,
// the message has exactly Bulwark's headers, and the body decodes back to
// lines without control characters.
func TestHostileContentStaysInside(t *testing.T) {
	m := DefaultMatrix()
	smtp, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", From: "bulwark@city.example"})
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders := []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted", "X-Bulwark-Notification", "Idempotency-Key"}
	for _, h := range hostileTexts {
		ev := Event{Kind: IncidentCreated, IncidentID: "inc-1", OrgID: "water", Severity: 3, Title: h, Summary: h, PublicAction: h, Target: h, Phase: h, At: time.Now()}
		for _, aud := range bulwark.NotifyAudiences {
			v := Redact(&ev, aud, "water", Facts{Services: []ServiceRef{{ID: "svc", Name: h}}, Visible: []string{"svc"}, OrgName: h})
			for _, tmpl := range BundledTemplateNames() {
				s, b, err := m.Render(tmpl, v)
				if err != nil {
					t.Fatalf("%q via %s: %v", truncate(h, 30), tmpl, err)
				}
				if strings.ContainsAny(s, "\r\n\x00\x1b") || len(s) > maxSubject {
					t.Errorf("%q via %s: subject %q", truncate(h, 30), tmpl, s)
				}
				for _, r := range s + b {
					if r != '\n' && r != '\t' && (unicode.IsControl(r) || invisible(r)) {
						t.Errorf("%q via %s: control or format character %U in output", truncate(h, 30), tmpl, r)
						break
					}
				}
				raw, err := smtp.compose(&Message{ID: "ntf-1", To: "a@b.example", Subject: s, Body: b}, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				msg, err := mail.ReadMessage(bytes.NewReader(raw))
				if err != nil {
					t.Fatalf("composed message does not parse: %v", err)
				}
				if len(msg.Header) != len(wantHeaders) {
					t.Errorf("%q via %s: headers %v", truncate(h, 30), tmpl, msg.Header)
				}
				for _, k := range wantHeaders {
					if len(msg.Header[k]) != 1 {
						t.Errorf("%q via %s: header %s appears %d times", truncate(h, 30), tmpl, k, len(msg.Header[k]))
					}
				}
				dec, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
				if err != nil || dec != s {
					t.Errorf("subject round trip: %q, want %q (%v)", dec, s, err)
				}
				if strings.Contains(h, "=?") && strings.Contains(msg.Header.Get("Subject"), h) {
					t.Errorf("%q: an encoded word in the title went out unencoded", h)
				}
				for i, line := range bytes.Split(raw, []byte("\r\n")) {
					if len(line) > 998 {
						t.Errorf("%q via %s: line %d has %d bytes", truncate(h, 30), tmpl, i, len(line))
					}
					if bytes.ContainsAny(line, "\r\n") {
						t.Errorf("bare CR or LF in line %d", i)
					}
				}
			}
		}
	}
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ in, one, multi string }{
		{"a\r\nb", "a b", "a\nb"},
		{"a\rb", "a b", "a\nb"},
		{"  lead  and   trail  ", "lead and trail", "lead  and   trail"},
		{"tab\there", "tab here", "tab    here"},
		{"bidi\u202eevil\u2066x", "bidievilx", "bidievilx"},
		{"esc\x1b[31m", "esc[31m", "esc[31m"},
		{"soft\u00adhyphen", "soft\u00adhyphen", "soft\u00adhyphen"},
		{"\xffbad", "\ufffdbad", "\ufffdbad"},
	} {
		if got := oneLine(tc.in, 100); got != tc.one {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.one)
		}
		if got := multiLine(tc.in, 100); got != tc.multi {
			t.Errorf("multiLine(%q) = %q, want %q", tc.in, got, tc.multi)
		}
	}
	if got := oneLine("ééééé", 5); got != "éé" {
		t.Errorf("cut inside a character: %q", got)
	}
}

// A template that fails at run time falls back to the bundled fallback
// template: a notification is never lost to a template bug.
func TestRenderFallback(t *testing.T) {
	src := "version: 1\nrules: [{id: a, audience: internal, recipients: [{org: '@incident'}], channel: email, template: t}]\n" +
		"templates: {t: {subject: '{{.Title}}', body: '{{index .Services 5}}'}}\n"
	_, err := ParseMatrix(strings.NewReader(src), "m.yaml")
	if err == nil || !strings.Contains(err.Error(), "templates.t.body") {
		t.Fatalf("a template failing on sample data must be refused at parse: %v", err)
	}
	// Compiled directly (as if it had passed), it fails on real data and
	// the fallback renders.
	c, _, err := compile("t", "Alert: {{.Title}}", "{{if gt (len .Services) 1}}{{index .Services 3}}{{end}}")
	if err == nil {
		m := DefaultMatrix()
		m.templates = map[string]*compiled{"t": c}
		v := sampleViews()[0]
		v.Services = []ServiceRef{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}}
		s, b, err := m.Render("t", v)
		if err == nil || !strings.Contains(s, v.Title) || !strings.Contains(b, "Severity") {
			t.Errorf("fallback: %q %q %v", s, b, err)
		}
	} else {
		t.Fatalf("compile: %v", err)
	}
}

func TestRenderOutputCapped(t *testing.T) {
	c, _, err := compile("big", "s", "{{range .Services}}{{$.Summary}}{{$.Summary}}{{$.Summary}}{{end}}")
	if err != nil {
		t.Fatal(err)
	}
	v := sampleViews()[0]
	v.Summary = strings.Repeat("x", maxTextField)
	for range 200 {
		v.Services = append(v.Services, ServiceRef{ID: "s", Name: "s"})
	}
	_, _, _, err = c.render(v)
	if err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("6 MB of output: %v", err)
	}
	v.Services = v.Services[:3]
	_, b, _, err := c.render(v)
	if err != nil || len(b) > maxBody {
		t.Errorf("body of %d bytes (%v)", len(b), err)
	}
}

// FuzzEventText puts arbitrary text in every field of an event, renders
// every bundled template for every audience and composes the e-mail: the
// subject stays one clean line, the message has exactly Bulwark's headers
// and parses, and no control or format character is left.
func FuzzEventText(f *testing.F) {
	for _, h := range hostileTexts {
		f.Add(h, h)
	}
	m := DefaultMatrix()
	smtp, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", From: "bulwark@city.example"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, title, text string) {
		ev := Event{Kind: SeverityChanged, IncidentID: "inc-1", OrgID: "water", Severity: 4, PreviousSeverity: 2, Title: title, Summary: text,
			PublicAction: text, Target: title, Phase: title, At: time.Now()}
		for _, aud := range bulwark.NotifyAudiences {
			v := Redact(&ev, aud, "water", Facts{Services: []ServiceRef{{ID: "svc", Name: title}}, Visible: []string{"svc"}, OrgName: text})
			v.Escalation = &Escalation{Audience: aud, Recipient: text}
			for _, tmpl := range BundledTemplateNames() {
				s, b, err := m.Render(tmpl, v)
				if err != nil {
					t.Fatalf("%s: %v", tmpl, err)
				}
				if strings.ContainsAny(s, "\r\n") || len(s) > maxSubject || len(b) > maxBody+64 {
					t.Fatalf("%s: subject %q, body %d bytes", tmpl, s, len(b))
				}
				raw, err := smtp.compose(&Message{ID: "ntf-1", To: "a@b.example", Subject: s, Body: b}, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				msg, err := mail.ReadMessage(bytes.NewReader(raw))
				if err != nil || len(msg.Header) != 11 {
					t.Fatalf("%s: composed message: %v %v", tmpl, err, msg)
				}
				if dec, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || dec != s {
					t.Fatalf("%s: subject round trip %q != %q (%v)", tmpl, dec, s, err)
				}
			}
		}
	})
}
