package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"
	"unicode"

	"bulwark"
)

// Templates are text/template sources with a "subject" and a "body"; their
// data is a View. Output is plain text: the subject is made one line and
// encoded as a MIME header by the e-mail channel, the body is sent as
// quoted-printable UTF-8, and the web UI shows both through html/template,
// which escapes them. Hostile event content cannot reach template syntax
// (data is never parsed as a template) nor headers (see clean and
// finishSubject).

//go:embed templates/*.tmpl
var templateFS embed.FS

// compiled is one named template.
type compiled struct {
	name    string
	subject *template.Template
	body    *template.Template
}

// Limits of rendered output.
const (
	maxSubject    = 250
	maxBody       = 64 << 10
	maxRenderSize = 1 << 20 // output a template may produce before it is cut off
)

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"severity": SeverityName,
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"names": func(s []ServiceRef) string {
		names := make([]string, 0, len(s))
		for _, x := range s {
			names = append(names, x.Name)
		}
		return strings.Join(names, ", ")
	},
	"indent": func(n int, s string) string {
		if n < 0 || n > 16 {
			n = 2
		}
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	},
}

// compile parses a template pair and tries it on sample views, so that a
// template naming a field that does not exist fails when the matrix is
// read, not when an incident happens. part says which half failed.
func compile(name, subject, body string) (*compiled, string, error) {
	c := &compiled{name: name}
	var err error
	if c.subject, err = template.New(name + ".subject").Funcs(funcs).Option("missingkey=error").Parse(subject); err != nil {
		return nil, "subject", templateErr(err)
	}
	if c.body, err = template.New(name + ".body").Funcs(funcs).Option("missingkey=error").Parse(body); err != nil {
		return nil, "body", templateErr(err)
	}
	for _, v := range sampleViews() {
		if _, _, part, err := c.render(v); err != nil {
			return nil, part, err
		}
	}
	return c, "", nil
}

var (
	tmplGoType = regexp.MustCompile(` in type [A-Za-z0-9_.*\[\]]+`)
	tmplExec   = regexp.MustCompile(`executing "[^"]*" at `)
	tmplName   = regexp.MustCompile(`^[A-Za-z0-9_.:-]+\.(subject|body):`)
)

// templateErr makes a template error readable for the matrix's author:
// "template: t.body:1:2: executing "t.body" at <.X>: can't evaluate field X
// in type notify.View" becomes "1:2: at <.X>: can't evaluate field X".
func templateErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "template: ")
	msg = tmplName.ReplaceAllString(msg, "")
	msg = tmplExec.ReplaceAllString(msg, "at ")
	msg = tmplGoType.ReplaceAllString(msg, "")
	return errors.New(msg)
}

// render executes c for v and returns the finished subject and body.
func (c *compiled) render(v View) (subject, body, part string, err error) {
	var sb, bb bytes.Buffer
	if err := c.subject.Execute(&limitWriter{w: &sb, n: maxRenderSize}, v); err != nil {
		return "", "", "subject", templateErr(err)
	}
	if err := c.body.Execute(&limitWriter{w: &bb, n: maxRenderSize}, v); err != nil {
		return "", "", "body", templateErr(err)
	}
	subject = finishSubject(sb.String())
	body = finishBody(bb.String())
	if subject == "" {
		return "", "", "subject", errors.New("the subject came out empty")
	}
	return subject, body, "", nil
}

var errTooLong = errors.New("the template's output is larger than 1 MiB")

type limitWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > l.n {
		return 0, errTooLong
	}
	return l.w.Write(p)
}

// finishSubject makes a subject one line of at most maxSubject bytes.
func finishSubject(s string) string { return oneLine(s, maxSubject) }

// finishBody normalizes line breaks to "\n", drops control and format
// characters except tab, trims trailing spaces, collapses runs of blank
// lines and cuts the body at maxBody bytes.
func finishBody(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085':
			b.WriteByte('\n')
		case unicode.IsControl(r) || invisible(r):
		default:
			b.WriteRune(r)
		}
	}
	lines := strings.Split(b.String(), "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	body := strings.Trim(strings.Join(out, "\n"), "\n") + "\n"
	if len(body) > maxBody {
		body = truncateRunes(body, maxBody-40) + "\n[… cut: the message was too long]\n"
	}
	return body
}

var (
	bundledOnce sync.Once
	bundled     map[string]*compiled
)

// bundledTemplates returns the templates shipped with Bulwark: internal,
// partner, cert, isac, public (a plain-language notice for citizens) and
// fallback (used when a template fails at run time).
func bundledTemplates() map[string]*compiled {
	bundledOnce.Do(func() {
		bundled = map[string]*compiled{}
		names, _ := fs.Glob(templateFS, "templates/*.tmpl")
		for _, path := range names {
			src, _ := templateFS.ReadFile(path)
			name := strings.TrimSuffix(strings.TrimPrefix(path, "templates/"), ".tmpl")
			c, err := compileFile(name, string(src))
			if err != nil {
				panic("notify: bundled template " + name + ": " + err.Error())
			}
			bundled[name] = c
		}
	})
	return bundled
}

// BundledTemplateNames lists the bundled templates.
func BundledTemplateNames() []string {
	var out []string
	for name := range bundledTemplates() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// BundledTemplate returns the source of a bundled template: a file with a
// {{define "subject"}} and a {{define "body"}} block.
func BundledTemplate(name string) (string, bool) {
	src, err := templateFS.ReadFile("templates/" + name + ".tmpl")
	return string(src), err == nil
}

// compileFile compiles a file holding {{define "subject"}} and
// {{define "body"}} blocks.
func compileFile(name, src string) (*compiled, error) {
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, templateErr(err)
	}
	c := &compiled{name: name, subject: t.Lookup("subject"), body: t.Lookup("body")}
	if c.subject == nil || c.body == nil {
		return nil, errors.New("needs a subject and a body block")
	}
	for _, v := range sampleViews() {
		if _, _, part, err := c.render(v); err != nil {
			return nil, fmt.Errorf("%s: %w", part, err)
		}
	}
	return c, nil
}

// sampleViews are the shapes of data a template must handle: full and
// redacted views, an escalation, a public notice and an almost empty one.
func sampleViews() []View {
	at := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	full := View{Audience: bulwark.AudienceInternal, Kind: SeverityChanged, What: "Severity raised", IncidentID: "inc-1", Org: "city-water",
		OrgName: "City Water", Title: "Ransomware on the SCADA historian", Summary: "line one\nline two", Severity: 4, SeverityName: "severe",
		PreviousSeverity: 2, PreviousSeverityName: "medium", Phase: "containment", Purview: "city",
		Services: []ServiceRef{{ID: "water-supply", Name: "Drinking water"}}, Target: "MTD 24h", PublicAction: "Boil water before drinking.",
		At: at, DueBy: at.Add(time.Hour), Recipient: "Duty officer"}
	esc := full
	esc.Escalation = &Escalation{Audience: bulwark.AudienceInternal, Recipient: "OT desk", DueBy: at}
	shared := full
	shared.Summary, shared.Services, shared.Target = "", nil, ""
	public := View{Audience: bulwark.AudiencePublic, Kind: IncidentCreated, What: "New incident", Severity: 5, SeverityName: "emergency",
		Services: []ServiceRef{{Name: "Drinking water"}}, PublicAction: "Boil water.", At: at}
	empty := View{Kind: IncidentCreated, What: "New incident", SeverityName: "baseline"}
	return []View{full, esc, shared, public, empty}
}

// Render renders template name of m for v (the bundled fallback when name
// fails); used by the service and by "matrix show --render".
func (m *Matrix) Render(name string, v View) (subject, body string, err error) {
	c, ok := m.templates[name]
	if !ok {
		return "", "", fmt.Errorf("no template %q", name)
	}
	subject, body, _, err = c.render(v)
	if err != nil {
		fb := bundledTemplates()["fallback"]
		s, b, _, ferr := fb.render(v)
		if ferr != nil {
			return "", "", fmt.Errorf("template %s: %v; fallback: %v", name, err, ferr)
		}
		return s, b, fmt.Errorf("template %s: %w (the fallback template was used)", name, err)
	}
	return subject, body, nil
}
