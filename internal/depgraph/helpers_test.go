package depgraph

import (
	"strings"
	"testing"

	"bulwark"
)

// spec builds GraphData from a compact text, one statement per line:
//
//	service ID POP C/I/A    (levels as l, m, h or -)
//	system ID
//	asset ID
//	group OWNER GROUP NEED
//	ID -> ID [soft] [GROUP]
func spec(tb testing.TB, text string) *bulwark.GraphData {
	tb.Helper()
	d := &bulwark.GraphData{}
	refs := map[string]int64{}
	ref := func(id string) int64 {
		r, ok := refs[id]
		if !ok {
			tb.Fatalf("spec: unknown node %q", id)
		}
		return r
	}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		addNode := func(n bulwark.GraphNode) {
			n.Ref = int64(len(d.Nodes) + 1)
			n.Name = strings.ToUpper(n.ID)
			n.Owner = "org"
			refs[n.ID] = n.Ref
			d.Nodes = append(d.Nodes, n)
		}
		switch {
		case f[0] == "service":
			n := bulwark.GraphNode{ID: f[1], Kind: bulwark.KindService}
			if len(f) > 2 {
				n.Population = int64(atoi(tb, f[2]))
			}
			if len(f) > 3 {
				n.Category = parseCat(tb, f[3])
			}
			addNode(n)
		case f[0] == "system":
			addNode(bulwark.GraphNode{ID: f[1], Kind: bulwark.KindSystem})
		case f[0] == "asset":
			addNode(bulwark.GraphNode{ID: f[1], Kind: bulwark.KindAsset, Count: 1})
		case f[0] == "group":
			d.Groups = append(d.Groups, bulwark.GraphGroup{Owner: ref(f[1]), ID: f[2], Need: atoi(tb, f[3])})
		case len(f) >= 3 && f[1] == "->":
			e := bulwark.GraphEdge{From: ref(f[0]), To: ref(f[2]), Kind: bulwark.Hard}
			for _, x := range f[3:] {
				if x == "soft" {
					e.Kind = bulwark.Soft
				} else {
					e.Group = x
				}
			}
			d.Edges = append(d.Edges, e)
		default:
			tb.Fatalf("spec: bad line %q", line)
		}
	}
	return d
}

func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			tb.Fatalf("spec: bad number %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func parseCat(tb testing.TB, s string) bulwark.Category {
	tb.Helper()
	p := strings.Split(s, "/")
	if len(p) != 3 {
		tb.Fatalf("spec: bad category %q", s)
	}
	lv := func(s string) bulwark.Level {
		switch s {
		case "l":
			return bulwark.LevelLow
		case "m":
			return bulwark.LevelModerate
		case "h":
			return bulwark.LevelHigh
		}
		return bulwark.LevelNone
	}
	return bulwark.Category{Confidentiality: lv(p[0]), Integrity: lv(p[1]), Availability: lv(p[2])}
}

func catString(c bulwark.Category) string {
	s := func(l bulwark.Level) string {
		if l == bulwark.LevelNone {
			return "-"
		}
		return l.String()[:1]
	}
	return s(c.Confidentiality) + "/" + s(c.Integrity) + "/" + s(c.Availability)
}

func mustAnalyze(tb testing.TB, text string) *Analysis {
	tb.Helper()
	g, err := Compile(spec(tb, text))
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return Analyze(g)
}
