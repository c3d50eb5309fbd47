package catalog

// The generator of data/*.json. It lives in a test file so that the
// binary carries neither the XML nor the YAML reader: the embedded JSON is
// all Bulwark needs at run time.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/testenv"
)

var updateCatalogs = flag.Bool("update-catalogs", false, "rebuild data/*.json from the shared data set")

// Paths of the sources inside the shared data set.
var (
	csfSource = []string{"frameworks", "nist-csf-2.0", "NIST_CSF_v2.0_catalog.oscal.xml"}
	cpgSource = []string{"frameworks", "ciso-assistant-libraries", "cisa-cpg-2.0.yaml"}
)

// --- CSF 2.0 from NIST's OSCAL XML catalog ---

type xCatalog struct {
	XMLName  xml.Name  `xml:"http://csrc.nist.gov/ns/oscal/1.0 catalog"`
	Metadata xMetadata `xml:"metadata"`
	Groups   []xGroup  `xml:"group"`
}

type xMetadata struct {
	Title     string `xml:"title"`
	Published string `xml:"published"`
	Version   string `xml:"version"`
}

type xGroup struct {
	ID       string     `xml:"id,attr"`
	Class    string     `xml:"class,attr"`
	Title    string     `xml:"title"`
	Parts    []xPart    `xml:"part"`
	Controls []xControl `xml:"control"`
}

type xControl struct {
	ID       string     `xml:"id,attr"`
	Class    string     `xml:"class,attr"`
	Title    string     `xml:"title"`
	Parts    []xPart    `xml:"part"`
	Controls []xControl `xml:"control"`
}

type xPart struct {
	Name string   `xml:"name,attr"`
	P    []string `xml:"p"`
}

// partText returns the text of the first part named name: its paragraphs,
// white space collapsed, one per line.
func partText(parts []xPart, name string) string {
	for _, p := range parts {
		if p.Name != name {
			continue
		}
		var lines []string
		for _, s := range p.P {
			if s = strings.Join(strings.Fields(s), " "); s != "" {
				lines = append(lines, s)
			}
		}
		return strings.Join(lines, "\n")
	}
	return ""
}

func hasPart(parts []xPart, name string) bool {
	for _, p := range parts {
		if p.Name == name {
			return true
		}
	}
	return false
}

var csfFunctions = []string{"GV", "ID", "PR", "DE", "RS", "RC"}

// buildCSF maps NIST's CSF 2.0 OSCAL catalog: groups are the functions,
// their controls the categories, and theirs the subcategories.
//
// NIST's file also carries the CSF 1.1 categories and subcategories that
// 2.0 withdrew, with no status property. They are told apart by content,
// which the shared data's README documents and this file bears out: a
// withdrawn category has an empty statement part, and a withdrawn
// subcategory has no implementation example ("example" parts), while
// every CSF 2.0 subcategory has at least one (363 in all). The counts are
// checked against CSF 2.0's published structure: 6 functions, 22
// categories, 106 subcategories.
func buildCSF(r io.Reader) (*bulwark.Catalog, error) {
	var doc xCatalog
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("CSF catalog: %w", err)
	}
	cat := &bulwark.Catalog{
		ID:      "csf-2.0",
		Title:   strings.TrimSpace(doc.Metadata.Title),
		Version: "2.0",
		Kind:    "csf",
		Source: "NIST Cybersecurity Framework (CSF) 2.0 (NIST CSWP 29), from NIST's OSCAL catalog " +
			"NIST_CSF_v2.0_catalog.xml in usnistgov/oscal-content (document version " + strings.TrimSpace(doc.Metadata.Version) + ")",
		Licence: "Public domain: a work of the U.S. Government (NIST); NIST's OSCAL content is released under CC0",
		Builtin: true,
	}
	if doc.Metadata.Published != "" {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(doc.Metadata.Published))
		if err != nil {
			return nil, fmt.Errorf("CSF catalog: published: %w", err)
		}
		cat.Published = t.UTC()
	}
	var nFn, nCat, nSub int
	for _, g := range doc.Groups {
		if g.Class != "function" || !containsString(csfFunctions, g.ID) {
			return nil, fmt.Errorf("CSF catalog: unexpected group %q (class %q)", g.ID, g.Class)
		}
		nFn++
		cat.Controls = append(cat.Controls, bulwark.Control{
			ID: g.ID, Class: "function", Title: strings.TrimSpace(g.Title),
			Statement: partText(g.Parts, "overview"), Function: g.ID,
		})
		for _, c := range g.Controls {
			if c.Class != "category" {
				return nil, fmt.Errorf("CSF catalog: %s: unexpected class %q under function %s", c.ID, c.Class, g.ID)
			}
			stmt := partText(c.Parts, "statement")
			if stmt == "" {
				// Withdrawn CSF 1.1 category: its subcategories must all be
				// withdrawn too, or the rule above is wrong for this file.
				for _, s := range c.Controls {
					if hasPart(s.Parts, "example") {
						return nil, fmt.Errorf("CSF catalog: %s has examples but its category %s has no statement", s.ID, c.ID)
					}
				}
				continue
			}
			nCat++
			cat.Controls = append(cat.Controls, bulwark.Control{
				ID: c.ID, Parent: g.ID, Class: "category", Title: strings.TrimSpace(c.Title),
				Statement: stmt, Function: g.ID,
			})
			for _, s := range c.Controls {
				if s.Class != "subcategory" {
					return nil, fmt.Errorf("CSF catalog: %s: unexpected class %q under category %s", s.ID, s.Class, c.ID)
				}
				if !hasPart(s.Parts, "example") {
					continue // withdrawn CSF 1.1 subcategory
				}
				text := partText(s.Parts, "statement")
				if text == "" {
					return nil, fmt.Errorf("CSF catalog: subcategory %s has examples but no statement", s.ID)
				}
				nSub++
				cat.Controls = append(cat.Controls, bulwark.Control{
					ID: s.ID, Parent: c.ID, Class: "subcategory", Title: strings.TrimSpace(s.Title),
					Statement: text, Assessable: true, Function: g.ID,
				})
			}
		}
	}
	if nFn != 6 || nCat != 22 || nSub != 106 {
		return nil, fmt.Errorf("CSF catalog: found %d functions, %d categories, %d subcategories; CSF 2.0 has 6, 22 and 106", nFn, nCat, nSub)
	}
	return cat, nil
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// --- CPG 2.0 from the CISO Assistant library packaging ---

type cpgLibrary struct {
	Name            string `yaml:"name"`
	Copyright       string `yaml:"copyright"`
	PublicationDate string `yaml:"publication_date"`
	Provider        string `yaml:"provider"`
	Objects         struct {
		Framework struct {
			RefID            string    `yaml:"ref_id"`
			RequirementNodes []cpgNode `yaml:"requirement_nodes"`
		} `yaml:"framework"`
	} `yaml:"objects"`
}

type cpgNode struct {
	URN         string `yaml:"urn"`
	ParentURN   string `yaml:"parent_urn"`
	Assessable  bool   `yaml:"assessable"`
	Depth       int    `yaml:"depth"`
	RefID       string `yaml:"ref_id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Annotation  string `yaml:"annotation"`
	// Threats and reference_controls are intuitem's own annotations and
	// are deliberately not read.
}

// goalID matches CISA's goal identifiers: function number, dot, letter.
var goalID = regexp.MustCompile(`^[1-6]\.[A-Z]$`)

// csfRef matches a CSF 2.0 subcategory identifier in running text.
var csfRef = regexp.MustCompile(`\b(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-[0-9]{2}\b`)

// cpgRating maps CISA's published ratings to Bulwark's three levels.
// Cost and impact are rated Low, Moderate or High; complexity Simple,
// Moderate or Complex.
var cpgRating = map[string]string{
	"low": "low", "simple": "low",
	"moderate": "medium", "medium": "medium",
	"high": "high", "complex": "high",
}

// buildCPG maps the CPG 2.0 goals. It takes from each goal only CISA's
// text: the identifier, the title, the outcome and the recommended
// actions (as Statement), and the cost, impact and complexity ratings;
// the function is the goal's parent. MapsTo lists the CSF 2.0
// subcategories the goal's text names, each of which must exist in csf.
func buildCPG(r io.Reader, csf *bulwark.Catalog) (*bulwark.Catalog, error) {
	var lib cpgLibrary
	dec := yaml.NewDecoder(r)
	if err := dec.Decode(&lib); err != nil {
		return nil, fmt.Errorf("CPG library: %w", err)
	}
	cat := &bulwark.Catalog{
		ID:      "cpg-2.0",
		Title:   "CISA Cross-Sector Cybersecurity Performance Goals (CPG) 2.0",
		Version: "2.0",
		Kind:    "cpg",
		Source: "CISA Cross-Sector Cybersecurity Performance Goals 2.0, published " + lib.PublicationDate +
			"; goal text re-keyed by Bulwark from the cisa-cpg-2.0 library of intuitem's CISO Assistant",
		Licence: "Public domain: a work of the U.S. Government (CISA)",
		Builtin: true,
	}
	if lib.PublicationDate != "" {
		t, err := time.Parse("2006-01-02", lib.PublicationDate)
		if err != nil {
			return nil, fmt.Errorf("CPG library: publication_date: %w", err)
		}
		cat.Published = t
	}
	subcats := map[string]bool{}
	for _, c := range csf.Controls {
		if c.Class == "subcategory" {
			subcats[c.ID] = true
		}
	}
	functions := map[string]string{} // URN → function ID
	for _, n := range lib.Objects.Framework.RequirementNodes {
		switch {
		case n.Depth == 1 && n.ParentURN == "":
			if !containsString(csfFunctions, n.RefID) {
				return nil, fmt.Errorf("CPG library: %s: not a CSF function", n.RefID)
			}
			functions[n.URN] = n.RefID
			cat.Controls = append(cat.Controls, bulwark.Control{
				ID: n.RefID, Class: "function", Title: strings.TrimSpace(n.Name),
				Statement: oneLine(n.Description), Function: n.RefID,
			})
		case n.Depth == 2:
			fn, ok := functions[n.ParentURN]
			if !ok {
				return nil, fmt.Errorf("CPG library: goal %s: parent %s is not a function listed before it", n.RefID, n.ParentURN)
			}
			if !goalID.MatchString(n.RefID) {
				return nil, fmt.Errorf("CPG library: %q is not a CPG goal identifier", n.RefID)
			}
			g, err := cpgGoal(n, fn, subcats)
			if err != nil {
				return nil, err
			}
			cat.Controls = append(cat.Controls, g)
		default:
			return nil, fmt.Errorf("CPG library: node %s at depth %d is neither a function nor a goal", n.RefID, n.Depth)
		}
	}
	return cat, nil
}

// cpgGoal maps one goal. Its annotation holds CISA's sections, separated by
// blank lines: "Outcome: …", "TTP/Risk Addressed: …", "Recommended
// Actions:" with a list, and "Cost: … | Impact: … | Complexity: …".
func cpgGoal(n cpgNode, fn string, subcats map[string]bool) (bulwark.Control, error) {
	g := bulwark.Control{
		ID: n.RefID, Parent: fn, Class: "goal", Title: oneLine(n.Name),
		Assessable: true, Function: fn,
	}
	outcome := oneLine(n.Description)
	var actions []string
	for _, section := range strings.Split(strings.ReplaceAll(n.Annotation, "\r\n", "\n"), "\n\n") {
		section = strings.TrimSpace(section)
		head, body, _ := strings.Cut(section, ":")
		switch strings.TrimSpace(head) {
		case "Outcome":
			outcome = oneLine(body)
		case "Recommended Actions":
			for _, line := range strings.Split(body, "\n") {
				if item, ok := strings.CutPrefix(strings.TrimSpace(line), "- "); ok {
					actions = append(actions, oneLine(item))
				}
			}
		case "Cost":
			for _, kv := range strings.Split(section, "|") {
				k, v, ok := strings.Cut(kv, ":")
				if !ok {
					return g, fmt.Errorf("CPG goal %s: rating %q is not name: value", n.RefID, kv)
				}
				level, known := cpgRating[strings.ToLower(strings.TrimSpace(v))]
				if !known {
					return g, fmt.Errorf("CPG goal %s: unknown rating %q", n.RefID, strings.TrimSpace(kv))
				}
				switch strings.TrimSpace(k) {
				case "Cost":
					g.Cost = level
				case "Impact":
					g.Impact = level
				case "Complexity":
					g.Complexity = level
				default:
					return g, fmt.Errorf("CPG goal %s: unknown rating %q", n.RefID, strings.TrimSpace(k))
				}
			}
		}
	}
	if outcome == "" || len(actions) == 0 {
		return g, fmt.Errorf("CPG goal %s: outcome or recommended actions missing", n.RefID)
	}
	g.Statement = outcome + "\n\nRecommended actions:\n- " + strings.Join(actions, "\n- ")
	seen := map[string]bool{}
	for _, ref := range csfRef.FindAllString(n.Description+"\n"+n.Annotation, -1) {
		if !subcats[ref] {
			return g, fmt.Errorf("CPG goal %s: names CSF subcategory %s, which CSF 2.0 does not have", n.RefID, ref)
		}
		if !seen[ref] {
			seen[ref] = true
			g.MapsTo = append(g.MapsTo, ref)
		}
	}
	return g, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// encode renders a catalog as the embedded files hold it: indented JSON,
// no HTML escaping, newline at the end.
func encode(c *bulwark.Catalog) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// generate builds both catalogs from the shared data set.
func generate(t *testing.T) (csf, cpg []byte) {
	t.Helper()
	dir := testenv.SharedData(t)
	open := func(parts []string) *os.File {
		f, err := os.Open(filepath.Join(append([]string{dir}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	csfCat, err := buildCSF(open(csfSource))
	if err != nil {
		t.Fatal(err)
	}
	cpgCat, err := buildCPG(open(cpgSource), csfCat)
	if err != nil {
		t.Fatal(err)
	}
	if csf, err = encode(csfCat); err != nil {
		t.Fatal(err)
	}
	if cpg, err = encode(cpgCat); err != nil {
		t.Fatal(err)
	}
	return csf, cpg
}

// TestUpdateCatalogs rebuilds data/*.json with -update-catalogs; without
// the flag it checks that the embedded files are what the generator makes
// from the shared data (skipping when the data set is absent).
func TestUpdateCatalogs(t *testing.T) {
	csf, cpg := generate(t)
	for name, want := range map[string][]byte{"data/csf-2.0.json": csf, "data/cpg-2.0.json": cpg} {
		if *updateCatalogs {
			if err := os.WriteFile(name, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator makes from the shared data: run go test ./internal/catalog -run TestUpdateCatalogs -update-catalogs", name)
		}
	}
}
