package cpe

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"cpe:2.3:a:x:y:1:*:*:*:*:*:*:*", []string{"cpe", "2.3", "a", "x", "y", "1", "*", "*", "*", "*", "*", "*", "*"}},
		{`cpe:2.3:a:advantech:webaccess\/scada:8.3.2`, []string{"cpe", "2.3", "a", "advantech", `webaccess\/scada`, "8.3.2"}},
		{`a:b\:c:d`, []string{"a", `b\:c`, "d"}},
		{`a\`, []string{`a\`}},
		{"", []string{""}},
	} {
		if got := Split(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Split(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"cpe:2.3:a:siemens:simatic_wincc:7.5:sp2:*:*:*:*:*:*", "cpe:2.3:a:siemens:simatic_wincc:7.5:sp2:*:*:*:*:*:*"},
		{"CPE:2.3:O:Siemens:SIMATIC_S7-1200_Firmware:4.5:*:*:*:*:*:*:*", "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*"},
		// Needless quoting of . and - is dropped; other punctuation stays quoted.
		{`cpe:2.3:a:advantech:webaccess\/scada:8\.3\-2:*:*:*:*:*:*:*`, `cpe:2.3:a:advantech:webaccess\/scada:8.3-2:*:*:*:*:*:*:*`},
		{`cpe:2.3:a:x:y\:z:1:*:*:*:*:*:*:*`, `cpe:2.3:a:x:y\:z:1:*:*:*:*:*:*:*`},
		// A lone quoted hyphen is a value, not NA.
		{`cpe:2.3:a:x:y:\-:*:*:*:*:*:*:*`, `cpe:2.3:a:x:y:\-:*:*:*:*:*:*:*`},
		{`cpe:2.3:a:x:y:1.*:*:*:*:*:*:*:*`, `cpe:2.3:a:x:y:1.*:*:*:*:*:*:*:*`},
		{`cpe:2.3:*:x:y:??1:*:*:*:*:*:*:*`, `cpe:2.3:*:x:y:??1:*:*:*:*:*:*:*`},
		// URI binding, NISTIR 7695 §6.1 examples.
		{"cpe:/a:microsoft:internet_explorer:8.0.6001:beta", "cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*"},
		{"cpe:/a:hp:insight_diagnostics:7.4.0.1570::~~online~win2003~x64~", "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:*:*:*:online:win2003:x64:*"},
		{"cpe:/a:hp:openview_network_manager:7.51:-:~~~linux~~", "cpe:2.3:a:hp:openview_network_manager:7.51:-:*:*:*:linux:*:*"},
		{"cpe:/a:foo%5cbar:big%24money_manager_2010:::~~special~ipod_touch~80gb~", `cpe:2.3:a:foo\\bar:big\$money_manager_2010:*:*:*:*:special:ipod_touch:80gb:*`},
		{"cpe:/a:foo~bar:big%7emoney_2010", `cpe:2.3:a:foo\~bar:big\~money_2010:*:*:*:*:*:*:*:*`},
		{"cpe:/a:foo:bar:12.%02.1234", ""}, // embedded wildcard: error
		{"cpe:/a:foo:bar:%01%01.1%02", `cpe:2.3:a:foo:bar:??.1*:*:*:*:*:*:*:*`},
		{"cpe:/o:Linux:Linux_Kernel:2.6.0:::EN-US", "cpe:2.3:o:linux:linux_kernel:2.6.0:*:*:en-us:*:*:*:*"},
		{"cpe:/h", "cpe:2.3:h:*:*:*:*:*:*:*:*:*:*"},
		{"cpe:/a:x:y:%2d", `cpe:2.3:a:x:y:\-:*:*:*:*:*:*:*`},
		{"cpe:/a:x:y:-", `cpe:2.3:a:x:y:-:*:*:*:*:*:*:*`},
	} {
		n, err := Parse(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Parse(%q) = %s, want an error", tc.in, n)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := n.String(); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if back := MustParse(n.URI()); back != n {
			t.Errorf("URI round trip of %q: %s -> %s", tc.in, n.URI(), back)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		attr Attr // -1: not an attribute error
		why  string
	}{
		{"cpe:2.3:a:x:y", -1, "has 3 components"},
		{"cpe:2.3:a:x:y:1:*:*:*:*:*:*:*:*", -1, "more than 11 components"},
		{"siemens s7", -1, "not a CPE name"},
		{"cpe:2.3:x:siemens:s7:-:*:*:*:*:*:*:*", Part, "want a (application)"},
		{"cpe:2.3:a:sie mens:s7:-:*:*:*:*:*:*:*", Vendor, `' ' must be escaped`},
		{"cpe:2.3:a:siemens:s7:1*0:*:*:*:*:*:*:*", Version, "only at the start or end"},
		{"cpe:2.3:a:siemens::-:*:*:*:*:*:*:*", Product, "empty component"},
		{`cpe:2.3:a:siemens:s7:-:*:*:*:*:*:*:x\`, Other, "unfinished"},
		{`cpe:2.3:a:siemens:s7:-:*:*:*:*:*:*:\a`, Other, `\a is not a valid escape`},
		{"cpe:2.3:a:siemens:**:-:*:*:*:*:*:*:*", Product, "wildcards"},
		{"cpe:2.3:a:siemens:??:-:*:*:*:*:*:*:*", Product, "wildcards need"},
		{"cpe:2.3:a:siemens:s7:\u00e9:*:*:*:*:*:*:*", Version, "outside printable ASCII"},
		{"cpe:/a:x:y:1:2:3:4:5", -1, "at most 7"},
		{"cpe:/a:x:y:1::~a~b", -1, "packed edition"},
		{"cpe:/a:x:y:1%2", Version, "two hex digits"},
		{"cpe:/a:x:y:1%00", Version, "not allowed"},
		{"cpe:/a:x:y!:1", Product, "percent-encoded"},
		{"cpe:/q:x:y", Part, "want a"},
		{"cpe:2.3:a:x:" + strings.Repeat("y", MaxLen), -1, "more than 1024"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Parse(%q) error = %v, want %q", tc.in, err, tc.why)
			continue
		}
		var ae *AttrError
		if isAttr := errors.As(err, &ae); isAttr != (tc.attr >= 0) || isAttr && ae.Attr != tc.attr {
			t.Errorf("Parse(%q) error = %v, want an error about attribute %v", tc.in, err, tc.attr)
		}
	}
}

func TestParseNoAlloc(t *testing.T) {
	s := `cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*`
	if n := testing.AllocsPerRun(100, func() { MustParse(s) }); n != 0 {
		t.Errorf("Parse of a canonical name allocates %v times", n)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		in  string
		why string // substring of the error; "" for valid
	}{
		{"cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*", ""},
		{`cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*`, ""},
		{`cpe:2.3:a:vendor:pro\:duct:1.0:*:*:en-us:*:*:*:*`, ""},
		{"cpe:2.3:*:siemens:s7:-:*:*:*:*:*:*:*", `part is "*"`},
		{"cpe:/h:siemens:s7", "CPE 2.2 URI binding"},
		{"cpe:2.3:h:siemens:s7:-:*:*:english:*:*:*:*", "language must be"},
		{"cpe:2.3:h:siemens:s7:-:*:*:en-u:*:*:*:*", "region"},
		{"cpe:2.3:h:siemens:s7:1*0:*:*:*:*:*:*:*", "CPE version \"1*0\": * and ? are wildcards"},
	} {
		err := Validate(tc.in)
		if tc.why == "" && err != nil || tc.why != "" && (err == nil || !strings.Contains(err.Error(), tc.why)) {
			t.Errorf("Validate(%q) = %v, want %q", tc.in, err, tc.why)
		}
		if err == nil {
			if _, perr := Parse(tc.in); perr != nil {
				t.Errorf("Validate accepts %q but Parse says %v", tc.in, perr)
			}
		}
	}
}

func TestKey(t *testing.T) {
	n := MustParse("cpe:/o:Siemens:SIMATIC_S7-1500_Firmware:2.9")
	if got, want := n.Key(), "o:siemens:simatic_s7-1500_firmware"; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
}

func TestCompareAttr(t *testing.T) {
	for _, tc := range []struct {
		src, tgt string
		want     Relation
	}{
		{"*", "*", Equal},
		{"*", "-", Superset},
		{"*", "foo", Superset},
		{"*", "fo*", Superset},
		{"-", "*", Subset},
		{"-", "-", Equal},
		{"-", "foo", Disjoint},
		{"-", "fo*", Disjoint},
		{"foo", "foo", Equal},
		{"foo", "bar", Disjoint},
		{"foo", "fo*", Disjoint},
		{"foo", "-", Disjoint},
		{"foo", "*", Subset},
		{"fo*", "foo", Superset},
		{"fo*", "fo", Superset},
		{"fo*", "bar", Disjoint},
		{"fo*", "*", Subset},
		{"fo*", "-", Disjoint},
		{"fo*", "f*", Disjoint},
		{"fo*", "fo*", Equal},
		{"*oo", "foo", Superset},
		{"*o*", "foo", Superset},
		{"*x*", "foo", Disjoint},
		{"1.?", "1.2", Superset},
		{"1.?", "1.", Superset}, // each ? matches at most one character (NISTIR 7696 compare_strings)
		{"1.?", "1.23", Disjoint},
		{"1.??", "1.23", Superset},
		{"??1", "x1", Superset},
		{"??1", "xyz1", Disjoint},
		{"?b", `\!b`, Superset}, // a quoted character is one character
		{`a\*`, "a", Disjoint},  // quoted star is literal
		{`a\*`, `a\*`, Equal},
		{`a\\*`, `a\\bc`, Superset}, // quoted backslash then a wildcard
		{`\!*`, `\!x`, Superset},
		{`*\!`, `x\!`, Superset},
		{`*\!`, `\!`, Superset},
	} {
		if got := CompareAttr(tc.src, tc.tgt); got != tc.want {
			t.Errorf("CompareAttr(%q, %q) = %v, want %v", tc.src, tc.tgt, got, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		criterion, platform string
		want, wantExcept    bool
	}{
		{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:*:*:*:*:*:*:*:*", "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*", true, true},
		{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.4:*:*:*:*:*:*:*", "cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*", false, true},
		{"cpe:2.3:a:x:y:1.0:*:*:*:*:*:*:*", "cpe:2.3:a:x:y:1.0:sp1:*:*:*:*:*:*", true, true},
		// A platform that does not say its update is not known to be sp1.
		{"cpe:2.3:a:x:y:1.0:sp1:*:*:*:*:*:*", "cpe:2.3:a:x:y:1.0:*:*:*:*:*:*:*", false, false},
		{"cpe:2.3:a:x:y:1.0:-:*:*:*:*:*:*", "cpe:2.3:a:x:y:1.0:sp1:*:*:*:*:*:*", false, false},
		{"cpe:2.3:a:x:y:1.*:*:*:*:*:*:*:*", "cpe:2.3:a:x:y:1.0.2:*:*:*:*:*:*:*", true, true},
		{"cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", "cpe:2.3:a:x:z:1:*:*:*:*:*:*:*", false, false},
		{"cpe:2.3:*:*:*:*:*:*:*:*:*:*:*", "cpe:2.3:h:x:z:1:*:*:*:*:*:*:*", true, true},
	} {
		c, p := MustParse(tc.criterion), MustParse(tc.platform)
		if got := Matches(c, p); got != tc.want {
			t.Errorf("Matches(%s, %s) = %v, want %v", c, p, got, tc.want)
		}
		if got := MatchesExcept(c, p, Version); got != tc.wantExcept {
			t.Errorf("MatchesExcept(%s, %s, Version) = %v, want %v", c, p, got, tc.wantExcept)
		}
	}
}

func TestMatchesNoAlloc(t *testing.T) {
	c := MustParse("cpe:2.3:o:siemens:simatic_s7-1200_fi*:*:*:*:*:*:*:*:*")
	p := MustParse("cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*")
	if n := testing.AllocsPerRun(100, func() { Matches(c, p) }); n != 0 {
		t.Errorf("Matches allocates %v times", n)
	}
}
