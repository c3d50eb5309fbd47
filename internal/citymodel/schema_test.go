package citymodel

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const schemaPath = "../../schema/city-model.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("city-model.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("city-model.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// toJSON converts a YAML node to the value a YAML-aware editor validates:
// dates stay strings (YAML 1.2 has no timestamp type).
func toJSON(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return toJSON(n.Content[0])
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toJSON(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			s = append(s, toJSON(c))
		}
		return s
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return json.Number(strings.ReplaceAll(n.Value, "_", ""))
		case "!!bool":
			b, _ := strconv.ParseBool(n.Value)
			return b
		case "!!null":
			return nil
		}
		return n.Value
	}
	return nil
}

// schemaValidate validates every document of a YAML stream.
func schemaValidate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			t.Fatalf("yaml: %v", err)
		}
		b, err := json.Marshal(toJSON(&n))
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(inst); err != nil {
			return err
		}
	}
}

func TestSchemaAcceptsExamples(t *testing.T) {
	s := compileSchema(t)
	var files []string
	for _, pat := range []string{"testdata/*.yaml", "testdata/*.golden", "../../examples/*.yaml"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) < 2 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := schemaValidate(t, s, data); err != nil {
			t.Errorf("%s does not validate against the schema: %v", f, err)
		}
	}
}

func TestSchemaRejectsBadDocuments(t *testing.T) {
	s := compileSchema(t)
	bad := map[string]string{
		"unknown field":     svcHead + "    colour: red\n",
		"unknown top level": "servcies: []\n",
		"wrong type":        svcHead + "    population: many\n",
		"negative":          svcHead + "    population: -1\n",
		"missing required":  "services:\n  - {id: s, owner: org}\n",
		"bad enum":          svcHead + "    sector: water\n",
		"bad id":            "services:\n  - {id: -s, name: S, owner: org}\n",
		"bad duration":      svcHead + "    targets: {rto: 2 days}\n",
		"need below one":    svcHead + "    groups: [{id: g, need: 0}]\n",
		"bad cpe":           "assets:\n  - {id: a, name: A, owner: o, cpe: [cpe:2.3:x:a:b:*:*:*:*:*:*:*:*]}\n",
		"short cpe":         "assets:\n  - {id: a, name: A, owner: o, cpe: [cpe:2.3:h:a:b]}\n",
		"bad purl":          "assets:\n  - {id: a, name: A, owner: o, purl: [npm/x]}\n",
		"count zero":        "assets:\n  - {id: a, name: A, owner: o, count: 0}\n",
		"bad latitude":      "assets:\n  - {id: a, name: A, owner: o, location: {lat: 91}}\n",
		"version 2":         "version: 2\n",
		"not a mapping":     "- a\n- b\n",
		"dependency kind":   svcHead + "    depends_on: [{on: x, kind: weak}]\n",
	}
	for name, doc := range bad {
		if err := schemaValidate(t, s, []byte(doc)); err == nil {
			t.Errorf("%s: schema accepted\n%s", name, doc)
		}
		// The importer rejects them too.
		if _, err := validate(storedFixture(), src("x.yaml", doc)); err == nil {
			t.Errorf("%s: importer accepted\n%s", name, doc)
		}
	}
}

// TestSchemaCPEAgrees: the schema's CPE pattern and checkCPE agree.
func TestSchemaCPEAgrees(t *testing.T) {
	s := compileSchema(t)
	for _, c := range []string{
		"cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*", `cpe:2.3:a:foo\\bar:big\$money_2010:*:*:*:*:special:ipod_touch:80gb:*`,
		"cpe:2.3:a:vendor:product:1.*:*:*:en-us:*:*:*:*", "cpe:2.3:a:v:p:??1:*:*:*:*:*:*:*", "cpe:2.3:h:siemens:s7:-:*:*:english:*:*:*:*",
		"cpe:2.3:h:sie mens:s7:-:*:*:*:*:*:*:*", "cpe:2.3:h:siemens:s7:1*0:*:*:*:*:*:*:*", "cpe:2.3:h:siemens::-:*:*:*:*:*:*:*", `cpe:2.3:h:a:b:-:*:*:*:*:*:*:\a`,
	} {
		doc := "assets:\n  - id: a\n    name: A\n    owner: o\n    cpe: ['" + strings.ReplaceAll(c, "'", "''") + "']\n"
		schemaOK := schemaValidate(t, s, []byte(doc)) == nil
		if codeOK := checkCPE(c) == ""; schemaOK != codeOK {
			t.Errorf("%s: schema says valid=%v, checkCPE says valid=%v", c, schemaOK, codeOK)
		}
	}
}

// TestSchemaDocsExample validates the YAML example in docs/city-model.md.
func TestSchemaDocsExample(t *testing.T) {
	b, err := os.ReadFile("../../docs/city-model.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 || len(block) < 500 {
		t.Fatal("no YAML example found in docs/city-model.md")
	}
	if err := schemaValidate(t, compileSchema(t), []byte(block)); err != nil {
		t.Errorf("docs example does not validate: %v", err)
	}
}
