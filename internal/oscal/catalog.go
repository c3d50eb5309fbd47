package oscal

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"bulwark"
)

// The OSCAL catalog model, as far as Bulwark reads it. Members not listed
// here (links, back-matter, roles, …) are ignored.
type catalogDoc struct {
	Catalog *oscalCatalog `json:"catalog"`
}

type oscalCatalog struct {
	UUID     string         `json:"uuid"`
	Metadata *metadata      `json:"metadata"`
	Params   []param        `json:"params"`
	Controls []oscalControl `json:"controls"`
	Groups   []group        `json:"groups"`
}

type metadata struct {
	Title        string `json:"title"`
	Published    string `json:"published"`
	LastModified string `json:"last-modified"`
	Version      string `json:"version"`
	OSCALVersion string `json:"oscal-version"`
}

type group struct {
	ID       string         `json:"id"`
	Class    string         `json:"class"`
	Title    string         `json:"title"`
	Params   []param        `json:"params"`
	Props    []prop         `json:"props"`
	Parts    []part         `json:"parts"`
	Groups   []group        `json:"groups"`
	Controls []oscalControl `json:"controls"`
}

type oscalControl struct {
	ID       string         `json:"id"`
	Class    string         `json:"class"`
	Title    string         `json:"title"`
	Params   []param        `json:"params"`
	Props    []prop         `json:"props"`
	Parts    []part         `json:"parts"`
	Controls []oscalControl `json:"controls"`
}

type part struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Title string `json:"title"`
	Props []prop `json:"props"`
	Prose string `json:"prose"`
	Parts []part `json:"parts"`
}

type param struct {
	ID     string     `json:"id"`
	Label  string     `json:"label"`
	Select *selection `json:"select"`
}

type selection struct {
	HowMany string   `json:"how-many"`
	Choice  []string `json:"choice"`
}

type prop struct {
	Name    string `json:"name"`
	UUID    string `json:"uuid,omitempty"`
	NS      string `json:"ns,omitempty"`
	Value   string `json:"value"`
	Class   string `json:"class,omitempty"`
	Remarks string `json:"remarks,omitempty"`
}

// ReadCatalog reads an OSCAL 1.x JSON catalog and maps it to a Bulwark
// catalog: groups become controls of class "group", controls and their
// nested enhancements controls of class "control" (assessable unless
// withdrawn), in document order with parents first. A control's Statement
// is the prose of its "statement" part followed by its item parts, one
// line each ("a. …"), with parameter insertions replaced by the
// parameter's label (or its choices, or "[id]").
//
// name is the file name, used in errors and to derive the catalog ID (the
// base name without extension, lower-cased); the caller may replace the
// ID. Every error is a *bulwark.Error locating the problem by JSON
// pointer.
func ReadCatalog(r io.Reader, name string) (*bulwark.Catalog, error) {
	data, err := readAll(r, name)
	if err != nil {
		return nil, err
	}
	if err := checkJSON(name, data, "catalog"); err != nil {
		return nil, err
	}
	var doc catalogDoc
	if err := decode(name, data, &doc); err != nil {
		return nil, err
	}
	src := doc.Catalog
	if src == nil {
		return nil, invalid(name, "/catalog", "catalog is null")
	}
	if src.Metadata == nil {
		return nil, invalid(name, "/catalog/metadata", "metadata missing")
	}
	md := src.Metadata
	if strings.TrimSpace(md.Title) == "" {
		return nil, invalid(name, "/catalog/metadata/title", "title missing")
	}
	cat := &bulwark.Catalog{
		ID:      catalogID(name),
		Title:   oneLine(md.Title),
		Version: strings.TrimSpace(md.Version),
		Kind:    "oscal",
		Source:  "OSCAL catalog " + filepath.Base(name),
	}
	if src.UUID != "" {
		cat.Source += " (uuid " + src.UUID + ")"
	}
	if md.Published != "" {
		t, err := time.Parse(time.RFC3339Nano, md.Published)
		if err != nil {
			return nil, invalid(name, "/catalog/metadata/published", "bad date-time %q: want RFC 3339 with a time zone", md.Published)
		}
		cat.Published = t.UTC()
	}

	m := &mapper{file: name, params: map[string]param{}, seen: map[string]string{}}
	m.collectParams(src.Params, src.Groups, src.Controls)
	for i := range src.Groups {
		if err := m.group(&src.Groups[i], "", fmt.Sprintf("/catalog/groups/%d", i)); err != nil {
			return nil, err
		}
	}
	for i := range src.Controls {
		if err := m.control(&src.Controls[i], "", fmt.Sprintf("/catalog/controls/%d", i)); err != nil {
			return nil, err
		}
	}
	if m.assessable == 0 {
		return nil, invalid(name, "/catalog", "catalog has no controls")
	}
	cat.Controls = m.out
	return cat, nil
}

// catalogID derives a catalog ID from a file name: the base name without
// its extensions, lower-cased, with characters an ID cannot hold replaced
// by '-', and cut to bulwark.MaxIDLen.
func catalogID(name string) string {
	base := filepath.Base(name)
	for _, ext := range []string{".gz", ".json"} {
		base = strings.TrimSuffix(base, ext)
	}
	b := []byte(strings.ToLower(base))
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			b[i] = '-'
		}
	}
	id := string(b)
	if len(id) > bulwark.MaxIDLen {
		id = id[:bulwark.MaxIDLen]
	}
	if id == "" || !bulwark.ValidID(id) {
		return "oscal-catalog"
	}
	return id
}

// mapper accumulates the controls of one catalog.
type mapper struct {
	file       string
	params     map[string]param
	seen       map[string]string // control ID → pointer of its first use
	out        []bulwark.Control
	assessable int
}

// collectParams indexes every parameter of the document by ID, so that an
// insertion resolves whichever level defines the parameter.
func (m *mapper) collectParams(ps []param, groups []group, controls []oscalControl) {
	for _, p := range ps {
		if p.ID != "" {
			m.params[p.ID] = p
		}
	}
	for i := range groups {
		m.collectParams(groups[i].Params, groups[i].Groups, groups[i].Controls)
	}
	for i := range controls {
		m.collectParams(controls[i].Params, nil, controls[i].Controls)
	}
}

// claim checks that id is present, usable and unique.
func (m *mapper) claim(id, title, ptr string) error {
	if strings.TrimSpace(id) == "" {
		return invalid(m.file, ptr+"/id", "id missing")
	}
	if !bulwark.ValidID(id) {
		return invalid(m.file, ptr+"/id", "id %q is not a valid identifier (1-%d letters, digits, '.', '_', ':' or '-', starting with a letter or digit)", id, bulwark.MaxIDLen)
	}
	if first, dup := m.seen[id]; dup {
		return invalid(m.file, ptr+"/id", "duplicate id %q (first used at %s)", id, first)
	}
	if strings.TrimSpace(title) == "" {
		return invalid(m.file, ptr+"/title", "title missing")
	}
	m.seen[id] = ptr + "/id"
	return nil
}

func (m *mapper) group(g *group, parent, ptr string) error {
	if err := m.claim(g.ID, g.Title, ptr); err != nil {
		return err
	}
	m.out = append(m.out, bulwark.Control{ID: g.ID, Parent: parent, Class: "group", Title: oneLine(g.Title)})
	for i := range g.Groups {
		if err := m.group(&g.Groups[i], g.ID, fmt.Sprintf("%s/groups/%d", ptr, i)); err != nil {
			return err
		}
	}
	for i := range g.Controls {
		if err := m.control(&g.Controls[i], g.ID, fmt.Sprintf("%s/controls/%d", ptr, i)); err != nil {
			return err
		}
	}
	return nil
}

func (m *mapper) control(c *oscalControl, parent, ptr string) error {
	if err := m.claim(c.ID, c.Title, ptr); err != nil {
		return err
	}
	withdrawn := false
	for _, p := range c.Props {
		if p.Name == "status" && (p.Value == "withdrawn" || p.Value == "Withdrawn") {
			withdrawn = true
		}
	}
	out := bulwark.Control{ID: c.ID, Parent: parent, Class: "control", Title: oneLine(c.Title), Assessable: !withdrawn}
	for _, p := range c.Parts {
		if p.Name == "statement" {
			var lines []string
			m.statementLines(&p, &lines)
			out.Statement = strings.Join(lines, "\n")
			break
		}
	}
	if out.Assessable {
		m.assessable++
	}
	m.out = append(m.out, out)
	for i := range c.Controls {
		if err := m.control(&c.Controls[i], c.ID, fmt.Sprintf("%s/controls/%d", ptr, i)); err != nil {
			return err
		}
	}
	return nil
}

// statementLines flattens a statement part: its own prose, then each
// nested part as "label prose", depth first.
func (m *mapper) statementLines(p *part, lines *[]string) {
	text := strings.TrimSpace(m.insertParams(p.Prose))
	if label := labelOf(p.Props); label != "" {
		text = strings.TrimSpace(label + " " + text)
	}
	if text != "" {
		*lines = append(*lines, text)
	}
	for i := range p.Parts {
		m.statementLines(&p.Parts[i], lines)
	}
}

// labelOf returns a part's display label: the label property without a
// class ("a."), or else the first label property.
func labelOf(props []prop) string {
	first := ""
	for _, p := range props {
		if p.Name != "label" {
			continue
		}
		if p.Class == "" {
			return p.Value
		}
		if first == "" {
			first = p.Value
		}
	}
	return first
}

// insertParams replaces OSCAL 1.x insertion points, written
// "{{ insert: param, ac-1_prm_1 }}", with the parameter's label, its
// choices ("[Selection: a; b]") when it has no label, or "[id]" when it
// is not defined. Anything else in double braces is left as written.
func (m *mapper) insertParams(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			break
		}
		inner := strings.TrimSpace(s[i+2 : i+j])
		b.WriteString(s[:i])
		s = s[i+j+2:]
		kind, rest, ok := strings.Cut(inner, ":")
		if !ok || strings.TrimSpace(kind) != "insert" {
			b.WriteString("{{" + inner + "}}")
			continue
		}
		typ, id, ok := strings.Cut(rest, ",")
		typ, id = strings.TrimSpace(typ), strings.TrimSpace(id)
		if !ok || typ != "param" || id == "" {
			b.WriteString("{{" + inner + "}}")
			continue
		}
		b.WriteString(m.paramText(id))
	}
	b.WriteString(s)
	return b.String()
}

func (m *mapper) paramText(id string) string {
	p, ok := m.params[id]
	switch {
	case !ok:
		return "[" + id + "]"
	case strings.TrimSpace(p.Label) != "":
		return oneLine(p.Label)
	case p.Select != nil && len(p.Select.Choice) > 0:
		choices := make([]string, len(p.Select.Choice))
		for i, c := range p.Select.Choice {
			choices[i] = oneLine(m.insertParamsShallow(c))
		}
		how := "Selection"
		if p.Select.HowMany == "one-or-more" {
			how = "Selection (one or more)"
		}
		return "[" + how + ": " + strings.Join(choices, "; ") + "]"
	}
	return "[" + id + "]"
}

// insertParamsShallow resolves insertions inside a choice without
// following choices again, so that parameters that name each other cannot
// recurse without end.
func (m *mapper) insertParamsShallow(s string) string {
	saved := m.params
	m.params = nil // every lookup misses: "[id]"
	out := m.insertParams(s)
	m.params = saved
	return out
}

// oneLine collapses runs of white space, so that titles read on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
