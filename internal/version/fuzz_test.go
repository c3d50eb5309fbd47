package version

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

var seedVersions = []string{
	"1.2.3", "2.0b4", "V3.1 SP2", "1.0.0-rc1", "2019.10.1", "4.2(1)M3", "10.0.17763.1",
	"8.3.2_p5", "1.0a", "FW14", "R2.3", "3.5 (12)", "2.0.0+build5", "March 13, 2019",
	"FB", "", "*", "1.0", "1", "0", "0.0.1-alpha", "V14 SP1 Update 14", "18446744073709551616",
}

// FuzzParse checks that Compare is a total preorder on valid versions:
// reflexive, antisymmetric, transitive on the triple, and that parsing a
// version's String gives an equal version.
func FuzzParse(f *testing.F) {
	for i, s := range seedVersions {
		f.Add(s, seedVersions[(i+1)%len(seedVersions)], seedVersions[(i+5)%len(seedVersions)])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var vs []Version
		for _, s := range []string{a, b, c} {
			v, ok := Parse(s)
			if ok != v.Valid() {
				t.Fatalf("Parse(%q) ok %v but Valid %v", s, ok, v.Valid())
			}
			if !ok {
				continue
			}
			again, ok := Parse(v.String())
			if !ok || Compare(v, again) != 0 || again.class != v.class {
				t.Fatalf("Parse(String()) of %q is not stable", s)
			}
			if Compare(v, v) != 0 {
				t.Fatalf("Compare(%q, itself) != 0", s)
			}
			vs = append(vs, v)
		}
		checkPreorder(t, vs)
	})
}

func checkPreorder(t *testing.T, vs []Version) {
	t.Helper()
	for _, x := range vs {
		for _, y := range vs {
			if Compare(x, y) != -Compare(y, x) {
				t.Fatalf("Compare(%q, %q) = %d but reverse %d", x, y, Compare(x, y), Compare(y, x))
			}
			if Comparable(x, y) != Comparable(y, x) {
				t.Fatalf("Comparable(%q, %q) is not symmetric", x, y)
			}
			for _, z := range vs {
				if Compare(x, y) <= 0 && Compare(y, z) <= 0 && Compare(x, z) > 0 {
					t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", x, y, z, x, z)
				}
			}
		}
	}
}

// FuzzParseRange checks that ParseRange never panics, that a range holds
// its inclusive bounds and excludes nothing it should not be able to
// judge, and that String reads back as a range that judges the same.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"<= 3.5 (12)", "< FW14", ">=5.3|<=6.4", "< March 13, 2019 | < 4.003", "vers:all/*",
		"vers:generic/>=1.0|<2.0", "vers:semver/>=1.0.0|<1.2.0|!=1.1.0", "<=V2.3.1", ">= 1.0 <= 2.3",
		"All versions", "all versions prior to 4.2", "versions 3.0 and prior", "prior to 2.1",
		"before 8.4", "2.x", "V5.0.0 to V5.3.2", "1.0 - 2.0", "<V3.0 SP2", "vers:all/>=V7.80<V9.40",
		"between 1 (excluding) and 2 (including)", "<= 1.54 (integrated into GE MobileLink)", "((((", "=> =<",
	} {
		f.Add(s, "1.0")
	}
	f.Fuzz(func(t *testing.T, s, probe string) {
		r, err := ParseRange(s)
		if err != nil {
			if len(r.ivs) != 0 {
				t.Fatalf("ParseRange(%q) failed but returned intervals", s)
			}
			return
		}
		again, err := ParseRange(r.String())
		if err != nil {
			t.Fatalf("ParseRange(%q).String() = %q does not parse: %v", s, r.String(), err)
		}
		probes := []string{probe}
		for _, iv := range r.ivs {
			for _, b := range []bound{iv.lo, iv.hi} {
				if !b.set {
					continue
				}
				probes = append(probes, b.v.s)
				if b.incl {
					if in, ok := r.Contains(b.v); !in || !ok {
						t.Fatalf("%q (%s) does not contain its inclusive bound %q: %v, %v", s, r, b.v.s, in, ok)
					}
				}
			}
		}
		for _, p := range probes {
			v, valid := Parse(p)
			in, ok := r.Contains(v)
			if !valid && ok {
				t.Fatalf("%q: Contains(invalid %q) says ok", s, p)
			}
			if in && !ok {
				t.Fatalf("%q: Contains(%q) is in but not ok", s, p)
			}
			in2, ok2 := again.Contains(v)
			if in != in2 || ok != ok2 {
				t.Fatalf("%q = %s and its reparse %s judge %q differently: %v,%v vs %v,%v", s, r, again, p, in, ok, in2, ok2)
			}
		}
	})
}

// realisticVersion draws version strings shaped like the ones vendors
// publish: an optional label, numbers, and qualifiers.
func realisticVersion() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		var b strings.Builder
		b.WriteString(rapid.SampledFrom([]string{"", "", "V", "v", "R", "FW", "Version "}).Draw(t, "label"))
		n := rapid.IntRange(1, 4).Draw(t, "parts")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(rapid.SampledFrom([]string{".", ".", ".", "-", "_"}).Draw(t, "sep"))
			}
			fmt.Fprintf(&b, rapid.SampledFrom([]string{"%d", "%02d"}).Draw(t, "fmt"), rapid.IntRange(0, 20).Draw(t, "num"))
		}
		if rapid.Bool().Draw(t, "paren") {
			fmt.Fprintf(&b, "(%d)", rapid.IntRange(0, 9).Draw(t, "p"))
		}
		q := rapid.SampledFrom([]string{"", "", "", "a", "b", "M", "-rc", "-beta", "b", "a", " SP", " Update ", "_p", "+build", "-alpha.", "HF", "-final"}).Draw(t, "qual")
		b.WriteString(q)
		if q != "" && rapid.Bool().Draw(t, "qnum") {
			fmt.Fprintf(&b, "%d", rapid.IntRange(0, 15).Draw(t, "qn"))
		}
		return b.String()
	})
}

func TestPreorderRapid(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var vs []Version
		for i := 0; i < 3; i++ {
			s := realisticVersion().Draw(rt, "v")
			v, ok := Parse(s)
			if !ok {
				rt.Fatalf("Parse(%q) failed on a realistic version", s)
			}
			vs = append(vs, v)
		}
		for _, x := range vs {
			for _, y := range vs {
				if Compare(x, y) != -Compare(y, x) {
					rt.Fatalf("Compare(%q, %q) = %d but reverse %d", x, y, Compare(x, y), Compare(y, x))
				}
				for _, z := range vs {
					if Compare(x, y) <= 0 && Compare(y, z) <= 0 && Compare(x, z) > 0 {
						rt.Fatalf("not transitive: %q <= %q <= %q but %q > %q", x, y, z, x, z)
					}
				}
			}
		}
	})
}

// TestSuccessorsRapid checks the rules every scheme agrees on: a further
// number sorts after, a pre-release before and a service pack after the
// release.
func TestSuccessorsRapid(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.SliceOfN(rapid.IntRange(0, 30), 1, 4).Draw(rt, "nums")
		parts := make([]string, len(n))
		for i, x := range n {
			parts[i] = fmt.Sprint(x)
		}
		base := strings.Join(parts, ".")
		for _, tc := range []struct {
			other string
			want  int
		}{
			{base + ".1", -1},
			{base + "-rc1", 1},
			{base + "b2", 1},
			{base + " SP1", -1},
			{base + ".0", 0},
			{"V" + base, 0},
		} {
			c, ok := CompareStrings(base, tc.other)
			if !ok || c != tc.want {
				rt.Fatalf("CompareStrings(%q, %q) = %d, %v; want %d", base, tc.other, c, ok, tc.want)
			}
		}
	})
}

// versConstraint is one constraint of a generated vers range, on integer
// versions so that the oracle below can compare them directly.
type versConstraint struct {
	op string
	v  int
}

// versOracle is the containment algorithm of the vers specification,
// written as the specification states it, over integers.
func versOracle(cs []versConstraint, v int) bool {
	var comps []versConstraint
	for _, c := range cs {
		switch c.op {
		case "=":
			if v == c.v {
				return true
			}
		case "!=":
			if v == c.v {
				return false
			}
		default:
			comps = append(comps, c)
		}
	}
	if len(comps) == 0 {
		// The specification leaves nothing to iterate and says "not in
		// range". ParseRange deliberately reads a list of only "!=" as
		// every other version (vers:pypi/!=1.0); with any "=" present it
		// agrees with the specification.
		only := len(cs) > 0
		for _, c := range cs {
			only = only && c.op == "!="
		}
		return only
	}
	below := func(c versConstraint) bool { return v < c.v || c.op == "<=" && v == c.v }
	above := func(c versConstraint) bool { return v > c.v || c.op == ">=" && v == c.v }
	if len(comps) == 1 {
		if comps[0].op[0] == '<' {
			return below(comps[0])
		}
		return above(comps[0])
	}
	for i := 0; i+1 < len(comps); i++ {
		cur, next := comps[i], comps[i+1]
		if i == 0 && cur.op[0] == '<' && below(cur) {
			return true
		}
		if i+2 == len(comps) && next.op[0] == '>' && above(next) {
			return true
		}
		if cur.op[0] == '>' && next.op[0] == '<' && above(cur) && below(next) {
			return true
		}
	}
	return false
}

// TestVersOracleRapid checks ParseRange on generated valid vers ranges
// against the specification's own containment algorithm.
func TestVersOracleRapid(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		// Distinct even versions, ascending; odd probes fall between them.
		n := rapid.IntRange(1, 8).Draw(rt, "n")
		vals := rapid.SliceOfNDistinct(rapid.IntRange(0, 30), n, n, rapid.ID[int]).Draw(rt, "vals")
		slices.Sort(vals)
		var cs []versConstraint
		wantLower := rapid.Bool().Draw(rt, "startsBelow") // false: the list may open with an upper bound
		for i, x := range vals {
			x *= 2
			switch k := rapid.IntRange(0, 3).Draw(rt, "kind"); {
			case k == 0:
				cs = append(cs, versConstraint{"=", x})
			case k == 1:
				cs = append(cs, versConstraint{"!=", x})
			case !wantLower && i == 0 || wantLower:
				// Comparators alternate lower, upper, lower, ...
				if wantLower {
					cs = append(cs, versConstraint{rapid.SampledFrom([]string{">", ">="}).Draw(rt, "lo"), x})
				} else {
					cs = append(cs, versConstraint{rapid.SampledFrom([]string{"<", "<="}).Draw(rt, "hi"), x})
				}
				wantLower = !wantLower
			default:
				cs = append(cs, versConstraint{rapid.SampledFrom([]string{"<", "<="}).Draw(rt, "hi"), x})
				wantLower = true
			}
		}
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = fmt.Sprintf("%s%d", c.op, c.v)
		}
		text := "vers:generic/" + strings.Join(parts, "|")
		r, err := ParseRange(text)
		if err != nil {
			rt.Fatalf("ParseRange(%q): %v", text, err)
		}
		if !r.Exact() {
			rt.Fatalf("ParseRange(%q) is not exact", text)
		}
		for p := 0; p <= 62; p++ {
			v, _ := Parse(fmt.Sprint(p))
			in, ok := r.Contains(v)
			if want := versOracle(cs, p); !ok || in != want {
				rt.Fatalf("%q = %s: Contains(%d) = %v, %v; the vers algorithm says %v", text, r, p, in, ok, want)
			}
		}
	})
}
