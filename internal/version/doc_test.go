package version

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/testenv"
)

// docTables returns the rows of the tables in the "Version ordering"
// section of docs/matching.md, each row as its cells. A table starts at a
// header row; rows of the ordering table have 4 cells, as do range rows,
// so they are told apart by their header.
func docTables(t *testing.T) map[string][][]string {
	t.Helper()
	path := filepath.Join(testenv.RepoRoot(t), "docs", "matching.md")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the ordering examples live in docs/matching.md: %v", err)
	}
	defer f.Close()
	tables := map[string][][]string{}
	in := false
	header := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Version ordering"
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			header = ""
			continue
		}
		cells := splitRow(line)
		switch {
		case header == "":
			header = strings.Join(cells, ",")
		case strings.HasPrefix(cells[0], "---"):
		default:
			tables[header] = append(tables[header], cells)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tables
}

// splitRow splits a markdown table row on unescaped '|' and unquotes
// each cell: `code` loses its backticks, \| becomes |, (empty) is "".
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	cells = append(cells, cur.String())
	for i, c := range cells {
		c = strings.TrimSpace(c)
		if len(c) >= 2 && c[0] == '`' && c[len(c)-1] == '`' {
			c = c[1 : len(c)-1]
		} else if c == "(empty)" {
			c = ""
		}
		cells[i] = c
	}
	return cells
}

func TestDocExamples(t *testing.T) {
	tables := docTables(t)
	order := tables["a,b,order,why"]
	ranges := tables["range,version,result,exact"]
	if len(order) < 40 || len(ranges) < 40 {
		t.Fatalf("docs/matching.md has %d ordering and %d range examples; the tables were not found or lost rows", len(order), len(ranges))
	}
	for _, row := range order {
		a, b, want := row[0], row[1], row[2]
		c, ok := CompareStrings(a, b)
		got := "n/c"
		if ok {
			got = [...]string{"<", "=", ">"}[c+1]
		}
		if got != want {
			t.Errorf("CompareStrings(%q, %q) is %s, docs say %s", a, b, got, want)
		}
		// The reverse must agree: the table is one direction of a preorder.
		if rc, rok := CompareStrings(b, a); rok != ok || ok && rc != -c {
			t.Errorf("CompareStrings(%q, %q) = %d, %v, not the reverse of %d, %v", b, a, rc, rok, c, ok)
		}
	}
	for _, row := range ranges {
		text, ver, want, exact := row[0], row[1], row[2], row[3]
		r, err := ParseRange(text)
		if want == "error" {
			if err == nil {
				t.Errorf("ParseRange(%q) = %v, docs say it is an error", text, r)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRange(%q): %v", text, err)
			continue
		}
		if got := map[bool]string{true: "yes", false: "no"}[r.Exact()]; got != exact {
			t.Errorf("ParseRange(%q).Exact() is %s, docs say %s", text, got, exact)
		}
		v, _ := Parse(ver)
		in, ok := r.Contains(v)
		got := "unknown"
		if ok {
			got = map[bool]string{true: "in", false: "out"}[in]
		}
		if got != want {
			t.Errorf("ParseRange(%q) = %s; Contains(%q) is %s, docs say %s", text, r, ver, got, want)
		}
	}
}
