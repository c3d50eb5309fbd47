package notify

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/yamlerr"
)

// The notification matrix file (docs/notifications.md): versioned YAML,
// every problem reported with its line and field.

//go:embed default_matrix.yaml
var defaultMatrixYAML []byte

// DefaultMatrixYAML returns the bundled matrix, a starting point a city
// adapts: it addresses organizations' contacts by role and purview, so it
// works with any city model.
func DefaultMatrixYAML() []byte { return slices.Clone(defaultMatrixYAML) }

// DefaultMatrix returns the bundled matrix, parsed.
func DefaultMatrix() *Matrix {
	m, err := ParseMatrix(bytes.NewReader(defaultMatrixYAML), "default_matrix.yaml")
	if err != nil {
		panic("notify: bundled matrix: " + err.Error())
	}
	return m
}

// Matrix is a parsed, checked notification matrix with its compiled
// templates (the bundled ones plus the file's own).
type Matrix struct {
	bulwark.NotifyMatrix
	templates map[string]*compiled
	// Source is the matrix file as read.
	Source []byte
}

// Limits of a matrix file.
const (
	MaxMatrixBytes     = 1 << 20
	maxRules           = 500
	maxRecipients      = 100
	maxTemplateSource  = 64 << 10
	maxYAMLDepth       = 20
	maxDeadline        = 30 * 24 * time.Hour
	matrixFormat       = 1
	maxRecipientURL    = 2048
	maxEmailAddressLen = 254
)

type matrixFile struct {
	Version   *int                    `yaml:"version"`
	Revision  string                  `yaml:"revision"`
	Name      string                  `yaml:"name"`
	Rules     []ruleFile              `yaml:"rules"`
	Templates map[string]templateFile `yaml:"templates"`
}

type ruleFile struct {
	ID          string          `yaml:"id"`
	Description string          `yaml:"description"`
	MinSeverity string          `yaml:"min_severity"`
	Purviews    []string        `yaml:"purviews"`
	Events      []string        `yaml:"events"`
	Audience    string          `yaml:"audience"`
	Recipients  []recipientFile `yaml:"recipients"`
	Channel     string          `yaml:"channel"`
	Deadline    string          `yaml:"deadline"`
	Template    string          `yaml:"template"`
	EscalateTo  []string        `yaml:"escalate_to"`
	Once        bool            `yaml:"once"`
}

type recipientFile struct {
	Org     string `yaml:"org"`
	Purview string `yaml:"purview"`
	Role    string `yaml:"role"`
	Email   string `yaml:"email"`
	URL     string `yaml:"url"`
	Secret  string `yaml:"secret"`
	Name    string `yaml:"name"`
}

type templateFile struct {
	Subject string `yaml:"subject"`
	Body    string `yaml:"body"`
}

// matrixErr collects located problems.
type matrixErr struct {
	name  string
	root  *yaml.Node
	probs []bulwark.Problem
}

func (e *matrixErr) add(field, format string, args ...any) {
	line, col := locate(e.root, field)
	e.probs = append(e.probs, bulwark.Problem{File: e.name, Line: line, Column: col, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (e *matrixErr) err() error {
	if len(e.probs) == 0 {
		return nil
	}
	err := bulwark.Errorf(bulwark.EINVALID, "%s: %d problem(s) in the notification matrix, first: %s", e.name, len(e.probs), e.probs[0])
	err.Details = e.probs
	return err
}

var pathPart = regexp.MustCompile(`^([a-z_]+)(?:\[(\d+)\])?$`)

// locate returns the line and column of the node at path
// ("rules[2].recipients[0].email", "templates.name.body"), or of the
// nearest existing ancestor.
func locate(root *yaml.Node, path string) (int, int) {
	n := root
	if n == nil {
		return 0, 0
	}
	line, col := n.Line, n.Column
	if path == "" {
		return line, col
	}
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if m := pathPart.FindStringSubmatch(part); m != nil {
			key = m[1]
			if m[2] != "" {
				idx, _ = strconv.Atoi(m[2])
			}
		}
		if n.Kind != yaml.MappingNode {
			return line, col
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				line, col = n.Content[i].Line, n.Content[i].Column
				break
			}
		}
		if next == nil {
			return line, col
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line, col
			}
			n = n.Content[idx]
			line, col = n.Line, n.Column
		}
	}
	return line, col
}

// checkNodes refuses anchors, aliases, custom tags and deep nesting.
func checkNodes(n *yaml.Node, depth int, e *matrixErr) bool {
	if depth > maxYAMLDepth {
		e.probs = append(e.probs, bulwark.Problem{File: e.name, Line: n.Line, Column: n.Column, Message: fmt.Sprintf("nested deeper than %d levels", maxYAMLDepth)})
		return false
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		e.probs = append(e.probs, bulwark.Problem{File: e.name, Line: n.Line, Column: n.Column, Message: "YAML anchors and aliases (&name, *name) are not supported; write the value out"})
		return false
	}
	if n.Tag != "" && n.Style&yaml.TaggedStyle != 0 {
		e.probs = append(e.probs, bulwark.Problem{File: e.name, Line: n.Line, Column: n.Column, Message: fmt.Sprintf("YAML tag %s is not supported", n.Tag)})
		return false
	}
	for _, c := range n.Content {
		if !checkNodes(c, depth+1, e) {
			return false
		}
	}
	return true
}

// ParseMatrix reads and checks a matrix file. Every problem found is
// listed (as bulwark.Error details with line, column and field).
func ParseMatrix(r io.Reader, name string) (*Matrix, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxMatrixBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > MaxMatrixBytes {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "%s is larger than %d bytes", name, MaxMatrixBytes)
	}
	if !utf8.Valid(b) {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s is not UTF-8 text", name)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, bulwark.Errorf(bulwark.EINVALID, "%s: empty file: no notification matrix", name)
		}
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: %s", name, yamlerr.Message(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "%s: %s", name, yamlerr.Message(err))
		}
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: line %d: a second document: a file holds one matrix", name, extra.Line)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	e := &matrixErr{name: name, root: doc}
	if !checkNodes(doc, 0, e) {
		return nil, e.err()
	}
	if doc.Kind != yaml.MappingNode {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: line %d: a notification matrix is a mapping (key: value lines)", name, doc.Line)
	}
	var f matrixFile
	dec = yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: %s", name, yamlerr.Message(err))
	}
	m := &Matrix{Source: b}
	m.convert(&f, e)
	if err := e.err(); err != nil {
		return nil, err
	}
	return m, nil
}

var secretName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// convert checks f and fills m, recording problems in e.
func (m *Matrix) convert(f *matrixFile, e *matrixErr) {
	switch {
	case f.Version == nil:
		e.add("version", "the format version is required: version: %d", matrixFormat)
	case *f.Version != matrixFormat:
		e.add("version", "format version %d is not supported; this Bulwark reads version %d", *f.Version, matrixFormat)
	default:
		m.Version = *f.Version
	}
	m.Revision, m.Name = f.Revision, f.Name
	for field, s := range map[string]string{"revision": f.Revision, "name": f.Name} {
		if len(s) > 200 || !printableLine(s) {
			e.add(field, "at most 200 characters on one line")
		}
	}

	// Templates: the bundled ones, then the file's own (which may replace
	// a bundled one of the same name).
	m.templates = map[string]*compiled{}
	for name, t := range bundledTemplates() {
		m.templates[name] = t
	}
	m.Templates = map[string]bulwark.NotifyTemplate{}
	names := make([]string, 0, len(f.Templates))
	for name := range f.Templates {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t := f.Templates[name]
		field := "templates." + name
		if !bulwark.ValidID(name) {
			e.add(field, "template names use 1-128 letters, digits, '.', '_', ':' or '-'")
			continue
		}
		if len(t.Subject) > maxTemplateSource || len(t.Body) > maxTemplateSource {
			e.add(field, "a template is at most %d bytes", maxTemplateSource)
			continue
		}
		if strings.TrimSpace(t.Subject) == "" || strings.TrimSpace(t.Body) == "" {
			e.add(field, "a template needs a subject and a body")
			continue
		}
		c, part, err := compile(name, t.Subject, t.Body)
		if err != nil {
			e.add(field+"."+part, "%s", err)
			continue
		}
		m.templates[name] = c
		m.Templates[name] = bulwark.NotifyTemplate(t)
	}

	if len(f.Rules) == 0 {
		e.add("rules", "a matrix needs at least one rule")
	}
	if len(f.Rules) > maxRules {
		e.add("rules", "at most %d rules", maxRules)
		return
	}
	ids := map[string]int{}
	for i, rf := range f.Rules {
		r := m.rule(&rf, fmt.Sprintf("rules[%d]", i), e)
		if prev, dup := ids[r.ID]; dup && r.ID != "" {
			e.add(fmt.Sprintf("rules[%d].id", i), "rule %q is already defined (rules[%d])", r.ID, prev)
		}
		ids[r.ID] = i
		m.Rules = append(m.Rules, r)
	}
	// Escalation: targets exist, never go down a level or to the public,
	// and form no cycle.
	for i, r := range m.Rules {
		for j, to := range r.EscalateTo {
			field := fmt.Sprintf("rules[%d].escalate_to[%d]", i, j)
			k, ok := ids[to]
			switch {
			case !ok:
				e.add(field, "no rule %q", truncate(to, 64))
			case IsIntelRule(&m.Rules[k]):
				e.add(field, "rule %q tells of shared intel, not of incidents: an incident cannot escalate to it", truncate(to, 64))
			case to == r.ID:
				e.add(field, "a rule cannot escalate to itself")
			case m.Rules[k].Audience == bulwark.AudiencePublic:
				e.add(field, "escalation never reaches the public by itself: a public notice is a decision; escalate to people who can make it")
			case m.Rules[k].Audience.Level() < r.Audience.Level():
				e.add(field, "rule %q notifies %s, a lower level than this rule's %s; escalation goes up (internal, partner, cert, isac)", to, m.Rules[k].Audience, r.Audience)
			}
		}
	}
	if len(e.probs) == 0 {
		if cycle := m.escalationCycle(); cycle != nil {
			i := ids[cycle[0]]
			e.add(fmt.Sprintf("rules[%d].escalate_to", i), "escalation goes round in a circle: %s", strings.Join(cycle, " → "))
		}
	}
}

// rule checks one rule.
func (m *Matrix) rule(rf *ruleFile, at string, e *matrixErr) bulwark.NotifyRule {
	r := bulwark.NotifyRule{ID: rf.ID, Description: rf.Description, Once: rf.Once, Template: rf.Template, EscalateTo: rf.EscalateTo}
	if !bulwark.ValidID(rf.ID) {
		e.add(at+".id", "a rule ID of 1-128 letters, digits, '.', '_', ':' or '-' is required")
	}
	if len(rf.Description) > 1000 || !utf8.ValidString(rf.Description) {
		e.add(at+".description", "at most 1000 bytes")
	}
	if rf.MinSeverity != "" {
		n, ok := ParseSeverity(strings.ToLower(strings.TrimSpace(rf.MinSeverity)))
		if !ok {
			e.add(at+".min_severity", "%q: use 0-5 or baseline, low, medium, high, severe, emergency", truncate(rf.MinSeverity, 40))
		}
		r.MinSeverity = n
	}
	for j, p := range rf.Purviews {
		pv := bulwark.Purview(p)
		if !slices.Contains(bulwark.Purviews, pv) {
			e.add(fmt.Sprintf("%s.purviews[%d]", at, j), "%q: use city, private, state, federal, isac or academic", truncate(p, 40))
		} else if slices.Contains(r.Purviews, pv) {
			e.add(fmt.Sprintf("%s.purviews[%d]", at, j), "%s is listed twice", p)
		}
		r.Purviews = append(r.Purviews, pv)
	}
	for j, k := range rf.Events {
		kind := bulwark.NotifyEventKind(k)
		if !slices.Contains(bulwark.NotifyEventKinds, kind) {
			e.add(fmt.Sprintf("%s.events[%d]", at, j), "%q: use incident_created, severity_changed, phase_changed, target_at_risk, public_action_changed or intel_added", truncate(k, 40))
		}
		r.Events = append(r.Events, kind)
	}
	if slices.Contains(r.Events, bulwark.NotifyIntelAdded) {
		return m.intelRule(rf, r, at, e)
	}
	r.Audience = bulwark.NotifyAudience(rf.Audience)
	if r.Audience.Level() < 0 {
		e.add(at+".audience", "%q: use internal, partner, cert, isac or public", truncate(rf.Audience, 40))
	}
	r.Channel = bulwark.NotifyChannel(rf.Channel)
	if r.Channel != bulwark.ChannelEmail && r.Channel != bulwark.ChannelWebhook {
		e.add(at+".channel", "%q: use email or webhook", truncate(rf.Channel, 40))
	}
	if rf.Deadline != "" {
		d, err := citymodel.ParseDuration(rf.Deadline)
		switch {
		case err != nil:
			e.add(at+".deadline", "%q: %v; write e.g. 30m, 4h or 1d", truncate(rf.Deadline, 40), err)
		case d < time.Minute || d > maxDeadline:
			e.add(at+".deadline", "%q: use 1m to 30d", rf.Deadline)
		}
		r.Deadline = d
	}
	if len(rf.EscalateTo) > 0 && r.Deadline == 0 {
		e.add(at+".escalate_to", "escalation needs a deadline: whom to escalate to when no one acknowledges by when")
	}
	if rf.Template == "" {
		e.add(at+".template", "a template is required (bundled: %s)", strings.Join(BundledTemplateNames(), ", "))
	} else if _, ok := m.templates[rf.Template]; !ok {
		e.add(at+".template", "no template %q (bundled: %s; or define it under templates:)", truncate(rf.Template, 64), strings.Join(BundledTemplateNames(), ", "))
	}
	if len(rf.Recipients) == 0 {
		e.add(at+".recipients", "a rule needs at least one recipient")
	}
	if len(rf.Recipients) > maxRecipients {
		e.add(at+".recipients", "at most %d recipients", maxRecipients)
		return r
	}
	for j, rc := range rf.Recipients {
		r.Recipients = append(r.Recipients, checkRecipient(rc, r.Channel, fmt.Sprintf("%s.recipients[%d]", at, j), e))
	}
	return r
}

// checkRecipient checks one recipient selector against the rule's channel.
func checkRecipient(rc recipientFile, ch bulwark.NotifyChannel, at string, e *matrixErr) bulwark.NotifyRecipient {
	out := bulwark.NotifyRecipient{Org: rc.Org, Purview: bulwark.Purview(rc.Purview), Role: strings.TrimSpace(rc.Role), Email: rc.Email, URL: rc.URL, Secret: rc.Secret, Name: rc.Name}
	kinds := 0
	for _, s := range []string{rc.Purview, rc.Email, rc.URL} {
		if s != "" {
			kinds++
		}
	}
	if rc.Org != "" && rc.Email == "" && rc.URL == "" {
		kinds++
	}
	if kinds != 1 {
		e.add(at, "give exactly one of org, purview, email or url (org may also tag an email or url)")
		return out
	}
	if len(rc.Name) > 200 || !printableLine(rc.Name) {
		e.add(at+".name", "at most 200 characters on one line")
	}
	if len(rc.Role) > 100 || !printableLine(rc.Role) {
		e.add(at+".role", "at most 100 characters on one line")
	}
	if rc.Org != "" && rc.Org != bulwark.RecipientIncidentOrg && rc.Org != bulwark.RecipientPartners && !bulwark.ValidID(rc.Org) {
		e.add(at+".org", "%q: an organization ID, @incident or @partners", truncate(rc.Org, 64))
	}
	if rc.Secret != "" && rc.URL == "" {
		e.add(at+".secret", "only a webhook url is signed with a secret")
	}
	switch {
	case rc.URL != "":
		if (rc.Org == bulwark.RecipientIncidentOrg || rc.Org == bulwark.RecipientPartners) || rc.Role != "" {
			e.add(at+".org", "a webhook may be tagged with one organization ID, not @incident, @partners or a role")
		}
		if ch != bulwark.ChannelWebhook {
			e.add(at+".url", "a url is a webhook recipient; this rule's channel is %s", ch)
		}
		if err := checkWebhookURL(rc.URL); err != nil {
			e.add(at+".url", "%s", err)
		}
		if !secretName.MatchString(rc.Secret) {
			e.add(at+".secret", "a webhook needs the name of its signing secret (letters, digits, _), set as BULWARK_WEBHOOK_SECRET_<NAME>")
		}
	case ch == bulwark.ChannelWebhook:
		e.add(at, "a webhook rule's recipients are urls (organizations' contacts are reached by e-mail)")
	case rc.Email != "":
		if rc.Org == bulwark.RecipientIncidentOrg || rc.Org == bulwark.RecipientPartners || rc.Role != "" {
			e.add(at+".org", "an e-mail address may be tagged with one organization ID, not @incident, @partners or a role")
		}
		if err := checkEmail(rc.Email); err != nil {
			e.add(at+".email", "%s", err)
		}
	case rc.Purview != "":
		if !slices.Contains(bulwark.Purviews, out.Purview) {
			e.add(at+".purview", "%q: use city, private, state, federal, isac or academic", truncate(rc.Purview, 40))
		}
	}
	return out
}

// checkEmail accepts a bare address (no display name) that is safe in an
// SMTP envelope and a To header.
func checkEmail(s string) error {
	if len(s) > maxEmailAddressLen || strings.ContainsAny(s, "\r\n<>\"(),;: \t") {
		return fmt.Errorf("%q is not a plain e-mail address", truncate(s, 80))
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s, "@") {
		return fmt.Errorf("%q is not a plain e-mail address", truncate(s, 80))
	}
	return nil
}

// checkWebhookURL accepts https URLs, and http only to the local machine
// (a relay on the same host, and tests).
func checkWebhookURL(s string) error {
	if len(s) > maxRecipientURL || !printableLine(s) {
		return fmt.Errorf("a url of at most %d characters on one line", maxRecipientURL)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute URL", truncate(s, 80))
	}
	if u.User != nil {
		return errors.New("credentials in a webhook URL would be logged and shown; use the signing secret")
	}
	if u.Fragment != "" {
		return errors.New("a webhook URL has no #fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%q: webhooks use https (http only to this machine)", truncate(s, 80))
		}
	default:
		return fmt.Errorf("%q: webhooks use https", truncate(s, 80))
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// escalationCycle returns a cycle of escalate_to, or nil.
func (m *Matrix) escalationCycle() []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(id string) bool
	visit = func(id string) bool {
		color[id] = grey
		stack = append(stack, id)
		if r := m.Rule(id); r != nil {
			for _, to := range r.EscalateTo {
				switch color[to] {
				case grey:
					i := slices.Index(stack, to)
					found = append(slices.Clone(stack[i:]), to)
					return true
				case white:
					if visit(to) {
						return true
					}
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return false
	}
	for _, r := range m.Rules {
		if color[r.ID] == white && visit(r.ID) {
			return found
		}
	}
	return nil
}

// Secrets returns the names of the webhook secrets the matrix uses.
func (m *Matrix) Secrets() []string {
	var out []string
	for _, r := range m.Rules {
		for _, rc := range r.Recipients {
			if rc.Secret != "" && !slices.Contains(out, rc.Secret) {
				out = append(out, rc.Secret)
			}
		}
	}
	slices.Sort(out)
	return out
}

// printableLine reports whether s is one line of printable UTF-8.
func printableLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// RuleDoc is a rule as JSON shows it: the deadline in the city-model
// duration syntax ("1h", "1d12h").
type RuleDoc struct {
	bulwark.NotifyRule
	Deadline string `json:"deadline,omitempty"`
}

// MatrixDoc is a matrix as JSON shows it.
type MatrixDoc struct {
	Version   int                               `json:"version"`
	Revision  string                            `json:"revision,omitempty"`
	Name      string                            `json:"name,omitempty"`
	Rules     []RuleDoc                         `json:"rules"`
	Templates map[string]bulwark.NotifyTemplate `json:"templates,omitempty"`
	// Bundled lists the templates every matrix may use.
	Bundled []string `json:"bundled_templates"`
}

// Doc returns m for JSON output.
func (m *Matrix) Doc() MatrixDoc {
	d := MatrixDoc{Version: m.Version, Revision: m.Revision, Name: m.Name, Templates: m.Templates, Bundled: BundledTemplateNames(), Rules: []RuleDoc{}}
	for _, r := range m.Rules {
		d.Rules = append(d.Rules, RuleDoc{NotifyRule: r, Deadline: citymodel.FormatDuration(r.Deadline)})
	}
	return d
}
