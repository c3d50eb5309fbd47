package yamlfast

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// sameTree compares what city-model validation reads from a node: kind,
// style, tag, value and position, recursively. Comments are ignored.
func sameTree(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column {
		return fmt.Errorf("%s: fast {kind %d style %d tag %q value %q at %d:%d} != yaml.v3 {kind %d style %d tag %q value %q at %d:%d}",
			path, a.Kind, a.Style, a.Tag, a.Value, a.Line, a.Column, b.Kind, b.Style, b.Tag, b.Value, b.Line, b.Column)
	}
	if len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: fast has %d children, yaml.v3 %d", path, len(a.Content), len(b.Content))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// check parses src both ways. It fails when the fast parser returns a tree
// yaml.v3 rejects or builds differently, and reports whether the fast path
// was taken.
func check(t testing.TB, src []byte) bool {
	t.Helper()
	fast, err := Parse(src)
	if err != nil {
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("unexpected error kind %v", err)
		}
		return false
	}
	var want yaml.Node
	if err := yaml.Unmarshal(src, &want); err != nil {
		t.Fatalf("fast path accepted input yaml.v3 rejects (%v):\n%s", err, src)
	}
	if err := sameTree(fast, &want, ""); err != nil {
		t.Fatalf("trees differ: %v\ninput:\n%s", err, src)
	}
	return true
}

var fastCases = []string{
	"a: 1\n",
	"---\nassets:\n  - id: x\n    cpe: [a, \"b\"]\n    e: {k: 1, s: Main pumping station}\n",
	"a: 1\nb:\n- x\n- y\nc: z\n",
	"# header comment\n---\nk: v\n",
	"# yaml-language-server: $schema=x.json\nversion: 1\norganizations:\n  - id: city\n    name: \"City of \\\"Halden\\\" \\u00e9\"\n    purview: city\n",
	"services:\n  - id: s1\n    targets: {max_tolerable_downtime: 24h, rto: 12h, rpo: 1h}\n    category: {confidentiality: low, integrity: high, availability: high}\n    population: 420000\n    depends_on:\n      - {on: scada, kind: hard}\n      - {on: pump-a, kind: hard, group: pumps}\n",
	"a: 'it''s'\nb: true\nc: null\nd: ~\ne: 1.5\nf: 0x1F\ng: 2026-05-01\nh: -3\ni: 1e3\nj: .inf\n",
	"list:\n  -\n    a: 1\n  - b\n",
	"k: [ ]\nm: {}\nn: [[a, b], {x: y}]\n",
	"naïve: café\nkey: välue [x]\n",
	"a:\n  b:\n    c: d\n  e: f\ng: h\n",
}

var slowCases = []string{
	"", "   \n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  text\n", "a: >\n  folded\n",
	"a: 1 # trailing\n", "a:\n  - x\n # comment\n  - y\n", "\ta: 1\n", "a: 1\r\n", "a:\n", "a: b\n  c\n",
	"- - a\n", "a: [1, 2\n", "a: [1, 2,]\n", "? complex\n: key\n", "a: {b: [c: d]}\n", "%YAML 1.2\n---\na: 1\n",
	"a: 1\n---\nb: 2\n", "a: 1\n...\n", "a: \"unterminated\n", "a: \"bad \\q escape\"\n", "a: b: c\n", "  a: 1\n",
	"a: x #y\n", "a: @x\n", "a: `x`\n", "a: \xff\n",
}

func TestFastPathMatchesYAMLv3(t *testing.T) {
	for i, c := range fastCases {
		if !check(t, []byte(c)) {
			t.Errorf("case %d: expected the fast path to take:\n%s", i, c)
		}
	}
}

func TestUnsupportedFallsBack(t *testing.T) {
	for i, c := range slowCases {
		if check(t, []byte(c)) {
			t.Errorf("case %d: expected ErrUnsupported for:\n%q", i, c)
		}
	}
}

// FuzzParse is the differential test: whatever the fast parser accepts must
// parse to the identical tree with yaml.v3.
func FuzzParse(f *testing.F) {
	for _, c := range append(append([]string{}, fastCases...), slowCases...) {
		f.Add([]byte(c))
	}
	f.Add(assetsDoc(3))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<16 {
			return
		}
		check(t, src)
	})
}

func assetsDoc(n int) []byte {
	var b bytes.Buffer
	b.WriteString("---\nassets:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - id: meter-%07d\n    name: Smart meter %d\n    owner: city-power\n    kind: smart-meter\n    vendor: itron\n    product: openway_riva\n    version: \"4.5.1\"\n    cpe:\n      - cpe:2.3:h:itron:openway_riva:-:*:*:*:*:*:*:*\n      - cpe:2.3:o:itron:openway_riva_firmware:4.5.1:*:*:*:*:*:*:*\n    location: {site: District 4, lat: 36.85, lon: -76.29}\n    count: 250\n    system: ami-headend\n    dependency: soft\n", i, i)
	}
	return b.Bytes()
}

func TestLargeDocument(t *testing.T) {
	if !check(t, assetsDoc(500)) {
		t.Fatal("expected the fast path for a machine-written asset document")
	}
	if strings.Count(string(assetsDoc(2)), "\n") == 0 {
		t.Fatal("fixture broken")
	}
}

func BenchmarkParse(b *testing.B) {
	doc := assetsDoc(1000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkYAMLv3(b *testing.B) {
	doc := assetsDoc(1000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var n yaml.Node
		if err := yaml.Unmarshal(doc, &n); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIN02_DeepNesting: deep nesting is left to yaml.v3 (which caps depth)
// and costs linear time here.
func TestIN02_DeepNesting(t *testing.T) {
	deepFlow := "a: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"
	if _, err := Parse([]byte(deepFlow)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("deep flow nesting: %v", err)
	}
	var b strings.Builder
	for i := range 200 {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	b.WriteString(strings.Repeat(" ", 200) + "v: 1\n")
	if _, err := Parse([]byte(b.String())); !errors.Is(err, ErrUnsupported) {
		t.Errorf("deep block nesting: %v", err)
	}
	// A long flow line with many flat items stays on the fast path.
	long := "a: [" + strings.Repeat("x, ", 50000) + "y]\n"
	if !check(t, []byte(long)) {
		t.Error("a long flat flow sequence should take the fast path")
	}
}
