package version

import (
	"strings"
	"testing"
)

func TestParseRejects(t *testing.T) {
	for _, s := range []string{
		"", "   ", "*", "-", "n/a", "N/A", "unknown", "Unspecified", "all", "x",
		"2.x", "1.2.X", "1.*", "final", "GA release", "<1.0", ">=2", "1.0|2.0", "!1", "...", "(-)",
		strings.Repeat("1.", 200), strings.Repeat("1 ", 40),
	} {
		if v, ok := Parse(s); ok || v.Valid() {
			t.Errorf("Parse(%q) = %v, true; want not comparable", s, v)
		}
	}
}

func TestParseKeepsText(t *testing.T) {
	for _, s := range []string{"1.2.3", " V3.1 SP2 ", "4.2(1)M3", "March 13, 2019", "FB"} {
		v, ok := Parse(s)
		if !ok || v.String() != s {
			t.Errorf("Parse(%q) = %q, %v; want the text kept", s, v.String(), ok)
		}
	}
}

func TestClasses(t *testing.T) {
	for _, tc := range []struct {
		s    string
		date bool
		text bool
	}{
		{"1.0", false, false},
		{"March 13, 2019", true, false},
		{"13 Mar 2019", true, false},
		{"May/5/2023", true, false},
		{"March 2019", false, false}, // no day: a numeric version with a label
		{"FB", false, true},
		{"2021-8-13", false, false},
	} {
		v, ok := Parse(tc.s)
		if !ok {
			t.Errorf("Parse(%q) failed", tc.s)
			continue
		}
		if v.IsDate() != tc.date || (v.class == classText) != tc.text {
			t.Errorf("Parse(%q): date %v text %v, want date %v text %v", tc.s, v.IsDate(), v.class == classText, tc.date, tc.text)
		}
	}
}

func TestZeroVersion(t *testing.T) {
	var zero Version
	one, _ := Parse("1")
	if zero.Valid() || Comparable(zero, zero) || Comparable(zero, one) {
		t.Error("the zero Version must not be comparable")
	}
	r, _ := ParseRange("*")
	if _, ok := r.Contains(zero); ok {
		t.Error("Contains(zero Version) must say ok=false")
	}
}

func TestSaturatedNumbers(t *testing.T) {
	c, ok := CompareStrings("1.99999999999999999999999", "1.99999999999999999999998")
	if !ok || c != 0 {
		t.Errorf("numbers beyond uint64 compare %d, %v; want equal (saturated)", c, ok)
	}
	c, ok = CompareStrings("18446744073709551615", "18446744073709551614")
	if !ok || c != 1 {
		t.Errorf("largest uint64 compares %d, %v", c, ok)
	}
}

func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		si, se, ei, ee string
		in, out        []string
		err            bool
	}{
		{"", "", "", "", []string{"0", "99"}, nil, false},
		{"1.0", "", "", "2.0", []string{"1.0", "1.9.9"}, []string{"0.9", "2.0"}, false},
		{"", "1.0", "2.0", "", []string{"1.0.1", "2.0"}, []string{"1.0", "2.0.1"}, false},
		{"", "", "4.2(1)M3", "", []string{"4.2(1)", "4.2(1)M3"}, []string{"4.2(2)"}, false},
		{"1.0", "1.1", "", "", nil, nil, true},
		{"", "", "1.0", "1.1", nil, nil, true},
		{"2.0", "", "1.0", "", nil, nil, true},
		{"1.0", "", "", "1.0", nil, nil, true},
		{"*", "", "", "", nil, nil, true},
		{"", "", "", "-", nil, nil, true},
	} {
		r, err := Bounds(tc.si, tc.se, tc.ei, tc.ee)
		if (err != nil) != tc.err {
			t.Errorf("Bounds(%q, %q, %q, %q) error %v, want error %v", tc.si, tc.se, tc.ei, tc.ee, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if !r.Exact() {
			t.Errorf("Bounds(...) = %s is not exact", r)
		}
		checkContains(t, r, tc.in, tc.out)
	}
}

func checkContains(t *testing.T, r Range, in, out []string) {
	t.Helper()
	for _, s := range in {
		v, _ := Parse(s)
		if got, ok := r.Contains(v); !got || !ok {
			t.Errorf("%s: Contains(%q) = %v, %v; want in", r, s, got, ok)
		}
	}
	for _, s := range out {
		v, _ := Parse(s)
		if got, ok := r.Contains(v); got || !ok {
			t.Errorf("%s: Contains(%q) = %v, %v; want out", r, s, got, ok)
		}
	}
}

func TestCVE5(t *testing.T) {
	for _, tc := range []struct {
		version, lt, lte string
		in, out          []string
		err              bool
	}{
		{"1.2.3", "", "", []string{"1.2.3", "v1.2.3"}, []string{"1.2.4"}, false},
		{"0", "2.0", "", []string{"0", "1.9", "2.0-rc1"}, []string{"2.0"}, false},
		{"*", "2.0", "", []string{"0.1"}, []string{"2.0"}, false},
		{"1.0", "", "1.5", []string{"1.0", "1.5"}, []string{"0.9", "1.5.1"}, false},
		{"2.0", "2.0.*", "", []string{"2.0", "2.0.99"}, []string{"2.1", "1.9"}, false},
		{"3.0", "*", "", []string{"3.0", "99"}, []string{"2.9"}, false},
		{"*", "", "", []string{"1", "99"}, nil, false},
		{"1.0", "2.0", "2.0", nil, nil, true},
		{"unknown", "2.0", "", []string{"0.1"}, []string{"2.0"}, false},
		{"6.6.33", "", "6.6.*", []string{"6.6.33", "6.6.99"}, []string{"6.6.32", "6.7"}, false},
		{"111.0.5563.64", "111.0.5563.64", "", []string{"100"}, []string{"111.0.5563.64"}, false},
		{"10.0.0", "publication", "", []string{"10.0.0", "99"}, []string{"9"}, false},
		{"All versions < V4.1.4", "", "", []string{"V4.1.3"}, []string{"V4.1.4"}, false},
		{"1.0 <", "2.0", "", nil, nil, true},
		{"n/a", "", "", nil, nil, true},
		{"3.0", "2.0", "", nil, nil, true},
		{"", "", "", nil, nil, true},
	} {
		r, err := CVE5(tc.version, tc.lt, tc.lte)
		if (err != nil) != tc.err {
			t.Errorf("CVE5(%q, %q, %q) error %v, want error %v", tc.version, tc.lt, tc.lte, err, tc.err)
			continue
		}
		if err == nil {
			checkContains(t, r, tc.in, tc.out)
		}
	}
}

func TestExactly(t *testing.T) {
	r, err := Exactly("V3.1 SP2")
	if err != nil || !r.Exact() {
		t.Fatalf("Exactly: %v, %v", r, err)
	}
	checkContains(t, r, []string{"3.1 SP2", "V3.1.0 sp2"}, []string{"3.1", "3.1 SP3"})
	if _, err := Exactly("n/a"); err == nil {
		t.Error(`Exactly("n/a") must fail`)
	}
}

// TestRangeStringRoundTrip checks that String renders a range ParseRange
// reads back as the same intervals.
func TestRangeStringRoundTrip(t *testing.T) {
	for _, s := range []string{
		"*", "=1.0", "<2.0", "<=V3.0 SP2", ">=1.0 <2.0", ">1.0 <=2.0 | >=3.0",
		"vers:semver/>=1.0.0|<1.2.0|!=1.1.0", "< March 13, 2019 | < 4.003", "2.x",
		"All versions between V6.1 (including) and V6.1.1 (excluding)", "vers:pypi/!=1.0",
	} {
		r, err := ParseRange(s)
		if err != nil {
			t.Fatalf("ParseRange(%q): %v", s, err)
		}
		again, err := ParseRange(r.String())
		if err != nil {
			t.Fatalf("ParseRange(%q) (String of %q): %v", r.String(), s, err)
		}
		if again.String() != r.String() {
			t.Errorf("ParseRange(%q).String() = %q, reparsed %q", s, r.String(), again.String())
		}
	}
}

func TestParseRangeErrors(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"", "empty"},
		{"vers:generic", "no '/'"},
		{"vers:/1.0", "empty scheme"},
		{"vers:generic/", "no constraints"},
		{"<=", "without a version"},
		{"<<>1.0", "unknown comparator"},
		{"1.0 to", "has no end"},
		{strings.Repeat("<1.0 | ", 2000), "longer than the limit"},
		{"<= the first 5 digits of serial number 22081", "prose"},
		{"\xff\xfe", "UTF-8"},
		{strings.Repeat("word ", 1000), "no version found"},
		{"<= " + strings.Repeat("(", 5000) + "1", "not a comparable version"},
	} {
		_, err := ParseRange(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseRange(%.40q) error %v, want one saying %q", tc.in, err, tc.why)
		}
		if err != nil && len(err.Error()) > 300 {
			t.Errorf("ParseRange(%.40q) error is %d bytes long; hostile input must not be echoed whole", tc.in, len(err.Error()))
		}
	}
}

func TestVers(t *testing.T) {
	for _, tc := range []struct {
		in       string
		exact    bool
		in_, out []string
	}{
		{"vers:npm/1.2.3|1.2.5", true, []string{"1.2.3", "1.2.5"}, []string{"1.2.4"}},
		{"vers:generic/ >= 1.0 | < 2.0 ", true, []string{"1.5"}, []string{"2.0"}},
		{"vers:generic/<1.0|>=2.0|<3.0|>4.0", true, []string{"0.5", "2.5", "4.1"}, []string{"1.0", "3.0", "4.0"}},
		{"vers:generic/>=1.0%2Bbuild5", true, []string{"1.0+build5"}, []string{"1.0"}},
		{"vers:generic/!=1.0|!=2.0", true, []string{"1.5", "3"}, []string{"1.0", "2.0"}},
		{"vers:generic/<2.0|<1.0", false, []string{"1.5"}, []string{"2.0"}},
		{"VERS:Generic/*", true, []string{"0"}, nil},
	} {
		r, err := ParseRange(tc.in)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tc.in, err)
			continue
		}
		if r.Exact() != tc.exact {
			t.Errorf("ParseRange(%q).Exact() = %v, want %v", tc.in, r.Exact(), tc.exact)
		}
		checkContains(t, r, tc.in_, tc.out)
	}
}

func TestFreeTextExactness(t *testing.T) {
	for _, tc := range []struct {
		in    string
		exact bool
	}{
		{"≤ 2.0", true},
		{"=< 2.0", true},
		{">= 1.0 <= 2.3", true},
		{"2.2.5", true},
		{"before 2.0", false},
		{"<= 2.0 (integrated into GE MobileLink)", false},
		{"<= 4.2.21 | <= 5.0.27", false}, // two upper bounds: not a vers-shaped list
		{"All versions", false},
	} {
		r, err := ParseRange(tc.in)
		if err != nil || r.Exact() != tc.exact {
			t.Errorf("ParseRange(%q) = %s, %v; Exact() %v, want %v", tc.in, r, err, r.Exact(), tc.exact)
		}
	}
}

func TestZeroRange(t *testing.T) {
	var r Range
	v, _ := Parse("1.0")
	if in, ok := r.Contains(v); in || !ok || r.String() != "none" || r.All() {
		t.Errorf("zero Range: Contains %v, %v; String %q", in, ok, r.String())
	}
}

func TestCompareDoesNotAllocate(t *testing.T) {
	a, _ := Parse("V4.2(1)M3 SP2")
	b, _ := Parse("4.2.1 M3 SP1")
	r, _ := ParseRange(">= 1.0 < 5.0 | >= 7.0")
	if n := testing.AllocsPerRun(100, func() {
		_ = Compare(a, b)
		_, _ = r.Contains(a)
	}); n != 0 {
		t.Errorf("Compare and Contains allocate %v times", n)
	}
}
