package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/yamlerr"
)

// Limits of scenario and options files.
const (
	MaxFileBytes = 4 << 20 // a file
	maxFileItems = 10_000  // events, options, or the nodes of one list
)

// DefaultHorizon is the horizon of a scenario file that gives none: two
// weeks, longer than most targets.
const DefaultHorizon = 14 * 24

// scenarioFile is a scenario as people write it: durations as "12h" or
// "3d", the goal as a sentence, events by node IDs or selectors.
type scenarioFile struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Horizon     yaml.Node   `yaml:"horizon"`
	Goal        yaml.Node   `yaml:"goal"`
	Events      []eventFile `yaml:"events"`
}

type eventFile struct {
	Name           string    `yaml:"name"`
	Nodes          []string  `yaml:"nodes"`
	Select         *Selector `yaml:"select"`
	Probability    yaml.Node `yaml:"probability"`
	ProbabilityMax yaml.Node `yaml:"probability_max"`
	Joint          bool      `yaml:"joint"`
	Start          yaml.Node `yaml:"start"`
	Duration       yaml.Node `yaml:"duration"`
	NoBackups      bool      `yaml:"no_backups"`
	line           int
}

type optionsFile struct {
	Options []optionFile `yaml:"options"`
}

type optionFile struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Cost        yaml.Node   `yaml:"cost"`
	AddCrews    []Crew      `yaml:"add_crews"`
	Backups     []string    `yaml:"backups"`
	Faster      []Faster    `yaml:"faster"`
	SoftEdges   []edgeFile  `yaml:"soft_edges"`
	Protect     []string    `yaml:"protect"`
	Patch       []patchFile `yaml:"patch"`
}

type edgeFile struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

type patchFile struct {
	Event  string    `yaml:"event"`
	Nodes  []string  `yaml:"nodes"`
	Select *Selector `yaml:"select"`
}

// decodeOne reads r (at most MaxFileBytes) and decodes its single YAML
// document into v, rejecting unknown fields. Errors name the file and line.
func decodeOne(r io.Reader, name string, v any, what string) (*yaml.Node, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > MaxFileBytes {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "%s is larger than %d bytes", name, MaxFileBytes)
	}
	// Decode into a node first: it gives the lines of the items, and a
	// document that is not a mapping gets a clear message.
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, bulwark.Errorf(bulwark.EINVALID, "%s: empty file: no %s", name, what)
		}
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: %s", name, yamlerr.Message(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "%s: %s", name, yamlerr.Message(err))
		}
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: line %d: a second document: a file holds one %s", name, extra.Line, what)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: line %d: a %s is a mapping (key: value lines)", name, doc.Line, what)
	}
	// Decoding again from the bytes (not the node) keeps KnownFields.
	dec = yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s: %s", name, yamlerr.Message(err))
	}
	return doc, nil
}

// itemLines returns the line of each item of the sequence under key in
// the mapping m (0 when absent).
func itemLines(m *yaml.Node, key string) []int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.SequenceNode {
			lines := make([]int, len(m.Content[i+1].Content))
			for j, it := range m.Content[i+1].Content {
				lines[j] = it.Line
			}
			return lines
		}
	}
	return nil
}

func lineOf(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

// fileErr is a located error: "file: line N: message".
func fileErr(name string, line int, format string, args ...any) error {
	if line > 0 {
		return bulwark.Errorf(bulwark.EINVALID, "%s: line %d: %s", name, line, fmt.Sprintf(format, args...))
	}
	return bulwark.Errorf(bulwark.EINVALID, "%s: %s", name, fmt.Sprintf(format, args...))
}

// ParseScenario reads a scenario file (docs/scenarios.md). Every field is
// checked; node IDs are checked for form only: whether they exist, and
// what selectors pick, is known once the city is loaded (ResolveScenario,
// then Run reports unknown nodes).
func ParseScenario(r io.Reader, name string) (*Scenario, error) {
	var f scenarioFile
	doc, err := decodeOne(r, name, &f, "scenario")
	if err != nil {
		return nil, err
	}
	if len(f.Name) > 200 || len(f.Description) > 10_000 {
		return nil, fileErr(name, 0, "name (200) or description (10,000 characters) too long")
	}
	s := &Scenario{Name: f.Name, Horizon: DefaultHorizon}
	if f.Horizon.Kind != 0 {
		h, err := nodeHours(&f.Horizon)
		if err != nil {
			return nil, fileErr(name, f.Horizon.Line, "horizon: %v", err)
		}
		if !(h > 0 && h <= maxHorizon) {
			return nil, fileErr(name, f.Horizon.Line, "horizon must be positive and at most %d h (ten years)", maxHorizon)
		}
		s.Horizon = h
	}
	if f.Goal.Kind != 0 {
		if f.Goal.Kind != yaml.ScalarNode {
			return nil, fileErr(name, f.Goal.Line, `goal: write a sentence such as "90%% of critical services within 24h"`)
		}
		g, err := ParseGoal(f.Goal.Value)
		if err != nil {
			return nil, fileErr(name, f.Goal.Line, "goal: %v", err)
		}
		if g.Within > s.Horizon {
			return nil, fileErr(name, f.Goal.Line, "goal: within %s is beyond the horizon %s", formatHours(g.Within), formatHours(s.Horizon))
		}
		s.Goal = g
	}
	if len(f.Events) == 0 {
		return nil, fileErr(name, doc.Line, "the scenario has no events")
	}
	if len(f.Events) > maxFileItems {
		return nil, fileErr(name, 0, "more than %d events", maxFileItems)
	}
	lines := itemLines(doc, "events")
	seen := map[string]int{}
	for i := range f.Events {
		ef := &f.Events[i]
		ef.line = lineOf(lines, i)
		ev, err := ef.event(name, i)
		if err != nil {
			return nil, err
		}
		if ev.Name != "" {
			if l, dup := seen[ev.Name]; dup {
				return nil, fileErr(name, ef.line, "event %d: event name %q is used twice (first at line %d): names key the draws and the patches", i+1, bulwark.Abbrev(ev.Name, 64), l)
			}
			seen[ev.Name] = ef.line
		}
		s.Events = append(s.Events, ev)
	}
	return s, nil
}

func (ef *eventFile) event(name string, i int) (Event, error) {
	line := ef.line
	bad := func(l int, format string, args ...any) error {
		if l == 0 {
			l = line
		}
		return fileErr(name, l, "event %d: %s", i+1, fmt.Sprintf(format, args...))
	}
	ev := Event{Name: ef.Name, Joint: ef.Joint, NoBackups: ef.NoBackups, Select: ef.Select}
	if len(ef.Name) > 200 || strings.ContainsAny(ef.Name, "\x00\n\r") {
		return ev, bad(0, "name must be one line of at most 200 characters")
	}
	if len(ef.Nodes) == 0 && ef.Select == nil {
		return ev, bad(0, "give nodes (IDs) or select (kind, zone, system, cve, kev)")
	}
	if len(ef.Nodes) > maxFileItems {
		return ev, bad(0, "more than %d nodes: use a selector", maxFileItems)
	}
	for _, id := range ef.Nodes {
		if !bulwark.ValidID(id) {
			return ev, bad(0, "node %q is not a valid identifier", bulwark.Abbrev(id, 64))
		}
	}
	ev.Nodes = ef.Nodes
	if ef.Select != nil {
		if err := ef.Select.check("select"); err != nil {
			return ev, bad(0, "%s", bulwark.ErrorMessage(err))
		}
	}
	switch p := &ef.Probability; {
	case p.Kind == 0:
		return ev, bad(0, "probability is required (a number within 0..1, or epss with a cve selector)")
	case p.Kind == yaml.ScalarNode && p.Value == "epss":
		if ef.Select == nil || ef.Select.CVE == "" {
			return ev, bad(p.Line, "probability epss needs a cve selector")
		}
		ev.Select.EPSS = true
	default:
		v, err := nodeProb(p)
		if err != nil {
			return ev, bad(p.Line, "probability: %v", err)
		}
		ev.Probability = v
	}
	if p := &ef.ProbabilityMax; p.Kind != 0 {
		v, err := nodeProb(p)
		if err != nil {
			return ev, bad(p.Line, "probability_max: %v", err)
		}
		if ev.Select != nil && ev.Select.EPSS {
			return ev, bad(p.Line, "probability_max needs a numeric probability, not epss")
		}
		if v < ev.Probability {
			return ev, bad(p.Line, "probability_max %g is below probability %g", v, ev.Probability)
		}
		ev.ProbabilityMax = v
	}
	if ef.Start.Kind != 0 {
		d, err := nodeDist(&ef.Start)
		if err != nil {
			return ev, bad(ef.Start.Line, "start: %v", err)
		}
		ev.Start = d
	}
	if ef.Duration.Kind != 0 {
		d, err := nodeDist(&ef.Duration)
		if err != nil {
			return ev, bad(ef.Duration.Line, "duration: %v", err)
		}
		ev.Duration = &d
	}
	return ev, nil
}

// ParseOptions reads an investment options file (docs/scenarios.md).
// Node IDs are checked for form; the city decides whether they exist.
func ParseOptions(r io.Reader, name string) ([]Option, error) {
	var f optionsFile
	doc, err := decodeOne(r, name, &f, "options file")
	if err != nil {
		return nil, err
	}
	if len(f.Options) == 0 {
		return nil, fileErr(name, doc.Line, "no options: list them under options:")
	}
	if len(f.Options) > maxFileItems {
		return nil, fileErr(name, 0, "more than %d options", maxFileItems)
	}
	lines := itemLines(doc, "options")
	seen := map[string]int{}
	var out []Option
	for i := range f.Options {
		of := &f.Options[i]
		line := lineOf(lines, i)
		bad := func(l int, format string, args ...any) error {
			if l == 0 {
				l = line
			}
			return fileErr(name, l, "option %d: %s", i+1, fmt.Sprintf(format, args...))
		}
		if of.Name == "" || len(of.Name) > 200 || strings.ContainsAny(of.Name, "\x00\n\r") {
			return nil, bad(0, "a name of one line (at most 200 characters) is required")
		}
		if l, dup := seen[of.Name]; dup {
			return nil, bad(0, "name %q is used twice (first at line %d)", bulwark.Abbrev(of.Name, 64), l)
		}
		seen[of.Name] = line
		op := Option{Name: of.Name, Backups: of.Backups, Protect: of.Protect}
		if of.Cost.Kind == 0 {
			return nil, bad(0, "cost is required (0 or more, in any currency used by every option)")
		}
		c, err := nodeNumber(&of.Cost)
		if err != nil || c < 0 || c > 1e15 {
			return nil, bad(of.Cost.Line, "cost must be a number within 0..1e15")
		}
		op.Cost = c
		ids := func(field string, list []string) error {
			if len(list) > maxFileItems {
				return bad(0, "%s: more than %d nodes", field, maxFileItems)
			}
			for _, id := range list {
				if !bulwark.ValidID(id) {
					return bad(0, "%s: node %q is not a valid identifier", field, bulwark.Abbrev(id, 64))
				}
			}
			return nil
		}
		if err := ids("backups", of.Backups); err != nil {
			return nil, err
		}
		if err := ids("protect", of.Protect); err != nil {
			return nil, err
		}
		for j, c := range of.AddCrews {
			if !bulwark.ValidID(c.Owner) || c.Skill == "" || len(c.Skill) > bulwark.MaxIDLen || c.Count < 1 || c.Count > 10_000 {
				return nil, bad(0, "add_crews %d: needs an owner ID, a skill and a count within 1..10000", j+1)
			}
		}
		op.AddCrews = of.AddCrews
		for j, fa := range of.Faster {
			if !bulwark.ValidID(fa.Node) {
				return nil, bad(0, "faster %d: node %q is not a valid identifier", j+1, bulwark.Abbrev(fa.Node, 64))
			}
			if !(fa.Factor > 0 && fa.Factor <= 100) {
				return nil, bad(0, "faster %d: factor %g must be within (0, 100] (0.5 halves the restore time)", j+1, fa.Factor)
			}
		}
		op.Faster = of.Faster
		for j, e := range of.SoftEdges {
			if !bulwark.ValidID(e.From) || !bulwark.ValidID(e.To) {
				return nil, bad(0, "soft_edges %d: from and to must be node IDs", j+1)
			}
			op.SoftEdges = append(op.SoftEdges, [2]string{e.From, e.To})
		}
		for j, p := range of.Patch {
			if p.Event == "" {
				return nil, bad(0, "patch %d: event (the scenario event's name) is required", j+1)
			}
			if len(p.Nodes) == 0 && p.Select == nil {
				return nil, bad(0, "patch %d: give nodes or select", j+1)
			}
			if err := ids(fmt.Sprintf("patch %d", j+1), p.Nodes); err != nil {
				return nil, err
			}
			if p.Select != nil {
				if err := p.Select.check("select"); err != nil {
					return nil, bad(0, "patch %d: %s", j+1, bulwark.ErrorMessage(err))
				}
			}
			op.Patch = append(op.Patch, Patch{Event: p.Event, Nodes: p.Nodes, Select: p.Select})
		}
		if len(op.AddCrews)+len(op.Backups)+len(op.Faster)+len(op.SoftEdges)+len(op.Protect)+len(op.Patch) == 0 {
			return nil, bad(0, "changes nothing: give add_crews, backups, faster, soft_edges, protect or patch")
		}
		out = append(out, op)
	}
	return out, nil
}

var goalRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s+of\s+(?:the\s+)?critical\s+services\s+(?:(?:are\s+)?(?:up|restored)\s+)?within\s+(\S+)\s*$`)

// ParseGoal reads a city-wide goal written as a sentence: "90% of critical
// services within 24h" (also "... restored within 1d").
func ParseGoal(s string) (Goal, error) {
	m := goalRE.FindStringSubmatch(s)
	if m == nil {
		return Goal{}, bulwark.Errorf(bulwark.EINVALID, `goal %q: write it as "90%% of critical services within 24h"`, bulwark.Abbrev(s, 64))
	}
	share, err := strconv.ParseFloat(m[1], 64)
	if err != nil || share > 100 {
		return Goal{}, bulwark.Errorf(bulwark.EINVALID, "goal %q: the share must be within 0..100%%", bulwark.Abbrev(s, 64))
	}
	h, err := parseHours(m[2])
	if err != nil {
		return Goal{}, bulwark.Errorf(bulwark.EINVALID, "goal %q: %v", bulwark.Abbrev(s, 64), err)
	}
	if h > maxHorizon {
		return Goal{}, bulwark.Errorf(bulwark.EINVALID, "goal %q: beyond ten years", bulwark.Abbrev(s, 64))
	}
	return Goal{Share: share / 100, Within: h}, nil
}

// parseHours reads a duration as city files write them ("12h", "3d",
// "1d12h", "90m"; "0" alone) and returns hours.
func parseHours(s string) (float64, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := citymodel.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %v (write 12h, 3d, 1d12h or 90m)", bulwark.Abbrev(s, 64), err)
	}
	return d.Hours(), nil
}

// formatHours writes hours as a duration ("1d12h"), "0h" for zero.
func formatHours(h float64) string {
	if h <= 0 {
		return "0h"
	}
	return citymodel.FormatDuration(time.Duration(h * float64(time.Hour)))
}

func nodeHours(n *yaml.Node) (float64, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, errors.New("a duration such as 12h or 3d is expected")
	}
	return parseHours(n.Value)
}

func nodeNumber(n *yaml.Node) (float64, error) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		return 0, errors.New("a number is expected")
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("a finite number is expected")
	}
	return v, nil
}

func nodeProb(n *yaml.Node) (float64, error) {
	v, err := nodeNumber(n)
	if err != nil || !(v >= 0 && v <= 1) {
		return 0, errors.New("a probability within 0..1 is expected")
	}
	return v, nil
}

// nodeDist reads a distribution of durations: a single duration ("12h",
// fixed) or a mapping {kind: uniform|triangular|lognormal, ...} whose
// parameters are durations (sigma, a shape, is a number).
func nodeDist(n *yaml.Node) (Dist, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		h, err := parseHours(n.Value)
		return Fixed(h), err
	case yaml.MappingNode:
	default:
		return Dist{}, errors.New("a duration (12h) or a distribution {kind: triangular, min: 1h, mode: 4h, max: 1d} is expected")
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if _, dup := fields[k]; dup {
			return Dist{}, fmt.Errorf("line %d: %s given twice", n.Content[i].Line, bulwark.Abbrev(k, 64))
		}
		fields[k] = n.Content[i+1]
	}
	kind := ""
	if k := fields["kind"]; k != nil && k.Kind == yaml.ScalarNode {
		kind = k.Value
	}
	want := map[string][]string{
		"fixed":      {"value"},
		"uniform":    {"min", "max"},
		"triangular": {"min", "mode", "max"},
		"lognormal":  {"median", "sigma"},
	}[kind]
	if want == nil {
		return Dist{}, fmt.Errorf("kind must be fixed, uniform, triangular or lognormal, got %q", bulwark.Abbrev(kind, 64))
	}
	allowed := map[string]bool{"kind": true}
	for _, k := range want {
		allowed[k] = true
		if fields[k] == nil {
			return Dist{}, fmt.Errorf("a %s distribution needs %s", kind, strings.Join(want, ", "))
		}
	}
	if kind == "lognormal" {
		allowed["max"] = true // an optional cap
	}
	for k := range fields {
		if !allowed[k] {
			return Dist{}, fmt.Errorf("a %s distribution has no field %q (it takes %s)", kind, bulwark.Abbrev(k, 64), strings.Join(want, ", "))
		}
	}
	hours := func(k string) (float64, error) {
		f := fields[k]
		if f == nil {
			return 0, nil
		}
		h, err := nodeHours(f)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", k, err)
		}
		return h, nil
	}
	var d Dist
	var err error
	d.Kind = kind
	switch kind {
	case "fixed":
		d.Mode, err = hours("value")
	case "uniform":
		if d.Min, err = hours("min"); err == nil {
			d.Max, err = hours("max")
		}
	case "triangular":
		if d.Min, err = hours("min"); err == nil {
			if d.Mode, err = hours("mode"); err == nil {
				d.Max, err = hours("max")
			}
		}
	case "lognormal":
		if d.Mode, err = hours("median"); err == nil {
			if d.Max, err = hours("max"); err == nil {
				d.Sigma, err = nodeNumber(fields["sigma"])
				if err != nil || !(d.Sigma >= 0 && d.Sigma <= 10) {
					err = errors.New("sigma must be a number within 0..10 (the log standard deviation, no unit)")
				}
			}
		}
	}
	if err != nil {
		return Dist{}, err
	}
	if err := d.Validate("distribution"); err != nil {
		return Dist{}, errors.New(bulwark.ErrorMessage(err))
	}
	return d, nil
}
