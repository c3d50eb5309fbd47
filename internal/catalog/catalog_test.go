package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"bulwark"
	"bulwark/internal/testenv"
)

func TestBuiltin(t *testing.T) {
	cats := Builtin()
	if len(cats) != 2 || cats[0].ID != "csf-2.0" || cats[1].ID != "cpg-2.0" {
		t.Fatalf("Builtin() = %d catalogs", len(cats))
	}
	for _, c := range cats {
		if !c.Builtin || c.Title == "" || c.Source == "" || c.Licence == "" || c.Published.IsZero() {
			t.Errorf("%s: header incomplete: %+v", c.ID, *c)
		}
		checkStructure(t, c)
	}
	if cats[0].Kind != "csf" || cats[1].Kind != "cpg" {
		t.Errorf("kinds %q %q", cats[0].Kind, cats[1].Kind)
	}
}

// checkStructure asserts what every Bulwark catalog must keep: valid
// unique IDs, parents before children, titles.
func checkStructure(t *testing.T, c *bulwark.Catalog) {
	t.Helper()
	seen := map[string]bool{}
	for _, ctl := range c.Controls {
		if !bulwark.ValidID(ctl.ID) {
			t.Errorf("%s: invalid ID %q", c.ID, ctl.ID)
		}
		if seen[ctl.ID] {
			t.Errorf("%s: duplicate ID %q", c.ID, ctl.ID)
		}
		if ctl.Parent != "" && !seen[ctl.Parent] {
			t.Errorf("%s: %s comes before its parent %s", c.ID, ctl.ID, ctl.Parent)
		}
		if ctl.Title == "" {
			t.Errorf("%s: %s has no title", c.ID, ctl.ID)
		}
		seen[ctl.ID] = true
	}
}

func TestCSF(t *testing.T) {
	csf, ok := BuiltinByID("csf-2.0")
	if !ok {
		t.Fatal("no csf-2.0")
	}
	checkCSFShape(t, csf)
	byID := map[string]bulwark.Control{}
	for _, c := range csf.Controls {
		byID[c.ID] = c
	}
	sub := byID["GV.OC-01"]
	if sub.Parent != "GV.OC" || sub.Function != "GV" || !sub.Assessable ||
		sub.Statement != "The organizational mission is understood and informs cybersecurity risk management" {
		t.Errorf("GV.OC-01 = %+v", sub)
	}
	// CSF 1.1 items that 2.0 withdrew must not be there.
	for _, id := range []string{"ID.BE", "ID.BE-01", "PR.AC", "PR.AC-01", "ID.AM-06", "PR.DS-05", "DE.CM-04", "RS.AN-01", "RC.CO-01"} {
		if _, ok := byID[id]; ok {
			t.Errorf("withdrawn %s is in the catalog", id)
		}
	}
}

// checkCSFShape asserts CSF 2.0's published structure: 6 functions in
// order, 22 categories, 106 subcategories, each under the right parent
// and function.
func checkCSFShape(t *testing.T, csf *bulwark.Catalog) {
	t.Helper()
	classes := map[string]int{}
	parentClass := map[string]string{}
	var functions []string
	for _, c := range csf.Controls {
		classes[c.Class]++
		parentClass[c.ID] = c.Class
		switch c.Class {
		case "function":
			functions = append(functions, c.ID)
			if c.Parent != "" || c.Assessable || c.Function != c.ID {
				t.Errorf("function %+v", c)
			}
		case "category":
			if parentClass[c.Parent] != "function" || c.Assessable || !strings.HasPrefix(c.ID, c.Parent+".") || c.Function != c.Parent {
				t.Errorf("category %+v", c)
			}
		case "subcategory":
			if parentClass[c.Parent] != "category" || !c.Assessable || !strings.HasPrefix(c.ID, c.Parent+"-") ||
				c.Function != c.ID[:2] || c.Statement == "" {
				t.Errorf("subcategory %+v", c)
			}
		default:
			t.Errorf("unexpected class %q of %s", c.Class, c.ID)
		}
	}
	if !slices.Equal(functions, []string{"GV", "ID", "PR", "DE", "RS", "RC"}) {
		t.Errorf("functions %v", functions)
	}
	if classes["function"] != 6 || classes["category"] != 22 || classes["subcategory"] != 106 {
		t.Errorf("classes %v, want 6 functions, 22 categories, 106 subcategories", classes)
	}
}

func TestCPG(t *testing.T) {
	cpg, ok := BuiltinByID("cpg-2.0")
	if !ok {
		t.Fatal("no cpg-2.0")
	}
	csf, _ := BuiltinByID("csf-2.0")
	subcats := map[string]bool{}
	for _, c := range csf.Controls {
		if c.Class == "subcategory" {
			subcats[c.ID] = true
		}
	}
	goals, functions := 0, 0
	fnOf := map[string]string{}
	for _, c := range cpg.Controls {
		switch c.Class {
		case "function":
			functions++
			fnOf[c.ID] = c.ID
		case "goal":
			goals++
			if !goalID.MatchString(c.ID) || !c.Assessable || c.Function != fnOf[c.Parent] || c.Function == "" {
				t.Errorf("goal %+v", c)
			}
			if !strings.Contains(c.Statement, "\n\nRecommended actions:\n- ") {
				t.Errorf("goal %s statement lacks recommended actions: %q", c.ID, c.Statement)
			}
			for _, r := range []string{c.Cost, c.Impact, c.Complexity} {
				if r != "low" && r != "medium" && r != "high" {
					t.Errorf("goal %s: rating %q", c.ID, r)
				}
			}
			for _, m := range c.MapsTo {
				if !subcats[m] {
					t.Errorf("goal %s maps to %s, not a CSF 2.0 subcategory", c.ID, m)
				}
			}
			// Only CISA's text: none of intuitem's reference controls
			// or threats, nor the TTP section.
			if strings.Contains(c.Statement, "RC.0") || strings.Contains(c.Statement, "TTP") || strings.Contains(c.Statement, "urn:") {
				t.Errorf("goal %s carries non-CISA annotations: %q", c.ID, c.Statement)
			}
		default:
			t.Errorf("unexpected class %q of %s", c.Class, c.ID)
		}
	}
	if functions != 6 || goals != 34 {
		t.Errorf("%d functions and %d goals, want 6 and 34", functions, goals)
	}
}

func TestBuiltinReturnsCopies(t *testing.T) {
	a, _ := BuiltinByID("csf-2.0")
	a.Controls[0].Title = "changed"
	a.Title = "changed"
	b, _ := BuiltinByID("csf-2.0")
	if b.Controls[0].Title == "changed" || b.Title == "changed" {
		t.Error("a caller's change reached the shared catalog")
	}
	if _, ok := BuiltinByID("nope"); ok {
		t.Error("unknown ID found")
	}
}

// csfShapedXML writes a synthetic catalog in the shape of NIST's CSF 2.0
// OSCAL file: 6 functions, 22 categories, 106 subcategories with one
// example each, plus withdrawn CSF 1.1 items as NIST leaves them (a
// category with an empty statement, subcategories without examples).
// skip names a subcategory left out, to test the count check.
func csfShapedXML(skip string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0" uuid="00000000-0000-4000-8000-000000000000">
  <metadata><title>Synthetic CSF</title><published>2025-05-29T10:16:00-05:00</published><version>1.0.0</version></metadata>
`)
	cats := []int{6, 3, 5, 3, 3, 2} // 22 categories
	k := 0
	for fi, f := range []string{"GV", "ID", "PR", "DE", "RS", "RC"} {
		fmt.Fprintf(&b, "<group id=%q class=\"function\"><title>F %s</title><part name=\"overview\"><p>Overview\n  of %s</p></part>\n", f, f, f)
		for ci := range cats[fi] {
			cid := fmt.Sprintf("%s.%c%c", f, 'A'+ci, 'A'+ci)
			fmt.Fprintf(&b, "<control id=%q class=\"category\"><title>C %s</title><part name=\"statement\"><p>Category %s</p></part>\n", cid, cid, cid)
			n := 5 // 18 categories of 5 and 4 of 4: 106 subcategories
			if k >= 18 {
				n = 4
			}
			k++
			for si := 1; si <= n; si++ {
				sid := fmt.Sprintf("%s-%02d", cid, si)
				if sid == skip {
					continue
				}
				fmt.Fprintf(&b, "<control id=%q class=\"subcategory\"><title>%s</title><part name=\"statement\"><p>Outcome %s\n   is met</p></part><part name=\"example\"><p>e</p></part></control>\n", sid, sid, sid)
			}
			fmt.Fprintf(&b, "<control id=\"%s-%02d\" class=\"subcategory\"><title>w</title><part name=\"statement\"><p>Withdrawn</p></part></control>\n", cid, n+1)
			b.WriteString("</control>\n")
		}
		fmt.Fprintf(&b, "<control id=\"%s.WW\" class=\"category\"><title>W</title><part name=\"statement\"></part><control id=\"%s.WW-01\" class=\"subcategory\"><title>w</title><part name=\"statement\"><p>Old</p></part></control></control>\n", f, f)
		b.WriteString("</group>\n")
	}
	b.WriteString("</catalog>\n")
	return b.String()
}

func TestBuildCSF(t *testing.T) {
	cat, err := buildCSF(strings.NewReader(csfShapedXML("")))
	if err != nil {
		t.Fatal(err)
	}
	checkCSFShape(t, cat)
	checkStructure(t, cat)
	if got := cat.Controls[0].Statement; got != "Overview of GV" {
		t.Errorf("function statement %q", got)
	}
	if got := cat.Controls[2]; got.ID != "GV.AA-01" || got.Statement != "Outcome GV.AA-01 is met" {
		t.Errorf("first subcategory %+v", got)
	}
	if cat.Published.Format("2006-01-02T15:04Z07:00") != "2025-05-29T15:16Z" {
		t.Errorf("published %v", cat.Published)
	}

	bad := []struct{ name, doc, msg string }{
		{"count", csfShapedXML("GV.AA-03"), "105 subcategories"},
		{"not xml", "<catalog", "CSF catalog"},
		{"wrong namespace", `<catalog xmlns="urn:other"/>`, "CSF catalog"},
		{"example under withdrawn category", strings.Replace(csfShapedXML(""), `<title>w</title><part name="statement"><p>Old</p></part>`, `<title>w</title><part name="statement"><p>Old</p></part><part name="example"/>`, 1), "has no statement"},
		{"unknown group", strings.Replace(csfShapedXML(""), `id="RC" class="function"`, `id="XX" class="function"`, 1), "unexpected group"},
	}
	for _, tt := range bad {
		if _, err := buildCSF(strings.NewReader(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.msg)
		}
	}
}

func TestBuildCPG(t *testing.T) {
	csf := &bulwark.Catalog{Controls: []bulwark.Control{
		{ID: "GV.AA-01", Class: "subcategory"}, {ID: "GV.AA-02", Class: "subcategory"},
	}}
	src, err := os.ReadFile(filepath.Join("testdata", "cpg-mini.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := buildCPG(strings.NewReader(string(src)), csf)
	if err != nil {
		t.Fatal(err)
	}
	checkStructure(t, cat)
	if len(cat.Controls) != 4 || cat.ID != "cpg-2.0" || cat.Kind != "cpg" || cat.Published.Format("2006-01-02") != "2025-03-04" {
		t.Fatalf("catalog %+v", cat)
	}
	g := cat.Controls[2]
	want := bulwark.Control{
		ID: "1.A", Parent: "GV", Class: "goal", Title: "First Goal", Assessable: true, Function: "GV",
		Statement: "The first outcome is met.\n\nRecommended actions:\n- Do one thing (see GV.AA-01)\n- Do another, as GV.AA-02 and GV.AA-01 ask",
		MapsTo:    []string{"GV.AA-01", "GV.AA-02"},
		Cost:      "low", Impact: "high", Complexity: "medium",
	}
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", want) {
		t.Errorf("goal\n%+v\nwant\n%+v", g, want)
	}
	g2 := cat.Controls[3]
	if g2.Parent != "PR" || g2.Statement != "Second outcome.\n\nRecommended actions:\n- Act" || g2.Cost != "medium" || g2.Complexity != "high" || g2.MapsTo != nil {
		t.Errorf("second goal %+v", g2)
	}

	bad := []struct{ name, from, to, msg string }{
		{"unresolved mapping", "GV.AA-02 and", "GV.ZZ-09 and", "GV.ZZ-09, which CSF 2.0 does not have"},
		{"bad goal id", "ref_id: 3.B", "ref_id: RC.01", "not a CPG goal identifier"},
		{"orphan goal", "parent_urn: urn:x:pr", "parent_urn: urn:x:zz", "not a function"},
		{"bad rating", "Complexity: Complex", "Complexity: Hard", "unknown rating"},
		{"no actions", "Recommended Actions:\n          - Act", "Recommended Actions:", "recommended actions missing"},
		{"not yaml", "name: Synthetic CPG", "name: [", "CPG library"},
	}
	for _, tt := range bad {
		doc := strings.Replace(string(src), tt.from, tt.to, 1)
		if doc == string(src) {
			t.Fatalf("%s: fixture has no %q", tt.name, tt.from)
		}
		if _, err := buildCPG(strings.NewReader(doc), csf); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.msg)
		}
	}
}

var csfNodeID = regexp.MustCompile(`^(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}(-[0-9]{2})?$`)

// TestCSFMatchesCISOAssistant cross-checks the subcategories chosen by the
// withdrawn-item rule against an independent packaging of CSF 2.0 in the
// shared data (intuitem's nist-csf-2.0 library, 6/22/106 nodes).
func TestCSFMatchesCISOAssistant(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "frameworks", "ciso-assistant-libraries", "nist-csf-2.0.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var theirs []string
	for _, line := range strings.Split(string(b), "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "ref_id: "); ok {
			if id = strings.Trim(id, `'"`); csfNodeID.MatchString(id) {
				theirs = append(theirs, id)
			}
		}
	}
	csf, _ := BuiltinByID("csf-2.0")
	var ours []string
	for _, c := range csf.Controls {
		if c.Class != "function" {
			ours = append(ours, c.ID)
		}
	}
	slices.Sort(theirs)
	slices.Sort(ours)
	if !slices.Equal(ours, theirs) {
		t.Errorf("CSF categories and subcategories differ from the CISO Assistant packaging:\nours   %v\ntheirs %v", ours, theirs)
	}
}
