package citymodel

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestCheckCPE(t *testing.T) {
	tests := []struct {
		in  string
		why string // substring of the problem; "" for valid
	}{
		{"cpe:2.3:h:siemens:simatic_s7-1200:-:*:*:*:*:*:*:*", ""},
		{"cpe:2.3:o:siemens:simatic_s7-1200_firmware:4.5:*:*:*:*:*:*:*", ""},
		{"cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*", ""},
		{`cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*`, ""},
		{`cpe:2.3:a:foo\\bar:big\$money_2010:*:*:*:*:special:ipod_touch:80gb:*`, ""},
		{`cpe:2.3:a:vendor:pro\:duct:1.0:*:*:en-us:*:*:*:*`, ""},
		{`cpe:2.3:a:vendor:product:1.*:*:*:*:*:*:*:*`, ""},
		{`cpe:2.3:a:vendor:product:??1:*:*:*:*:*:*:*`, ""},
		{"cpe:2.3:x:siemens:s7:-:*:*:*:*:*:*:*", `part is "x"`},
		{"cpe:2.3:*:siemens:s7:-:*:*:*:*:*:*:*", `part is "*"`},
		{"cpe:2.3:h:siemens:s7", "has 3 components"},
		{"cpe:2.3:h:siemens:s7:-:*:*:*:*:*:*:*:*", "has 12 components"},
		{"cpe:/h:siemens:s7", "CPE 2.2 URI binding"},
		{"siemens s7", "must start with cpe:2.3:"},
		{"cpe:2.3:h:sie mens:s7:-:*:*:*:*:*:*:*", `character ' ' must be escaped`},
		{"cpe:2.3:h:siemens:s7:1*0:*:*:*:*:*:*:*", "wildcards allowed only at the start or end"},
		{"cpe:2.3:h:siemens::-:*:*:*:*:*:*:*", "empty component"},
		{`cpe:2.3:h:siemens:s7:-:*:*:*:*:*:*:x\`, "unfinished"},
		{`cpe:2.3:h:siemens:s7:-:*:*:*:*:*:*:\a`, `\a is not a valid escape`},
		{"cpe:2.3:h:siemens:s7:-:*:*:english:*:*:*:*", "language must be"},
		{"cpe:2.3:h:siemens:s7:-:*:*:en-u:*:*:*:*", "region"},
		{"cpe:2.3:h:siemens:**:-:*:*:*:*:*:*:*", "wildcards"},
		{"cpe:2.3:h:siemens:s7:-:*:*:*:*:*:*:\u00e9", "outside printable ASCII"},
	}
	for _, tc := range tests {
		got := checkCPE(tc.in)
		if tc.why == "" && got != "" || tc.why != "" && !strings.Contains(got, tc.why) {
			t.Errorf("checkCPE(%q) = %q, want %q", tc.in, got, tc.why)
		}
	}
}

func TestCheckPURL(t *testing.T) {
	tests := []struct {
		in, why string
	}{
		{"pkg:generic/siemens/simatic-s7-1200@4.5", ""},
		{"pkg:npm/%40angular/animation@12.3.1", ""},
		{"pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie", ""},
		{"pkg:golang/google.golang.org/genproto#googleapis/api/annotations", ""},
		{"pkg:docker/customer/dockerimage@sha256%3A244fd47e07d10?repository_url=gcr.io", ""},
		{"pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?packaging=sources", ""},
		{"pkg:pypi/django@1.11.1", ""},
		{"npm/left-pad", "must start with pkg:"},
		{"pkg:npm", "must have a type"},
		{"pkg:/left-pad", "must have a type"},
		{"pkg:1npm/left-pad", "must start with a letter"},
		{"pkg:np_m/left-pad", "may hold only"},
		{"pkg:npm/", "has no name"},
		{"pkg:npm//left-pad", "empty segment"},
		{"pkg:npm/left-pad@", "empty version"},
		{"pkg:npm/left pad", "must be percent-encoded"},
		{"pkg:npm/left%2", "% not followed by two hex digits"},
		{"pkg:npm/left-pad?arch", "must be key=value"},
		{"pkg:npm/left-pad?a=1&A=2", "repeated"},
		{"pkg:npm/left-pad?1a=1", "must start with a letter"},
		{"pkg:npm/left-pad?", "empty qualifier list"},
		{"pkg:npm/left-pad#../x", "subpath"},
	}
	for _, tc := range tests {
		got := checkPURL(tc.in)
		if tc.why == "" && got != "" || tc.why != "" && !strings.Contains(got, tc.why) {
			t.Errorf("checkPURL(%q) = %q, want %q", tc.in, got, tc.why)
		}
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in    string
		want  time.Duration
		canon string
		bad   bool
	}{
		{in: "3d", want: 72 * time.Hour, canon: "3d"},
		{in: "1d12h", want: 36 * time.Hour, canon: "1d12h"},
		{in: "36h", want: 36 * time.Hour, canon: "1d12h"},
		{in: "90m", want: 90 * time.Minute, canon: "1h30m"},
		{in: "1.5h", want: 90 * time.Minute, canon: "1h30m"},
		{in: "0.5d", want: 12 * time.Hour, canon: "12h"},
		{in: "1h0m0s", want: time.Hour, canon: "1h"},
		{in: "1500ms", want: 1500 * time.Millisecond, canon: "1s500ms"},
		{in: "0s", want: 0, canon: "0s"},
		{in: "-1h", bad: true},
		{in: "", bad: true},
		{in: "2 days", bad: true},
		{in: "1h3d", bad: true},
		{in: "d", bad: true},
		{in: "1e3d", bad: true},
		{in: "+3h", bad: true},
		{in: "99999999d", bad: true},
		{in: "3dd", bad: true},
	}
	for _, tc := range tests {
		got, err := parseDuration(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseDuration(%q) = %v, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if c := formatDuration(got); c != tc.canon {
			t.Errorf("formatDuration(%v) = %q, want %q", got, c, tc.canon)
		}
		if back, err := parseDuration(formatDuration(got)); err != nil || back != got {
			t.Errorf("canonical form %q does not parse back: %v %v", formatDuration(got), back, err)
		}
	}
}

func TestExampleCityIsValid(t *testing.T) {
	st := newMemStore()
	res, err := Import(context.Background(), st, []Source{FileSource("testdata/city.yaml")}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Organizations != 3 || res.Services != 2 || res.Systems != 2 || res.Assets != 9 || res.Stats.Created != 16 {
		t.Errorf("result %+v", res)
	}
	if res.Dependencies != 13 {
		t.Errorf("dependencies %d, want 13", res.Dependencies)
	}
	a := st.assets["plc-0002"]
	if a.System != "water-scada" || a.SystemDependency != "hard" || a.SystemGroup != "plcs" || a.Count != 1 {
		t.Errorf("plc-0002 = %+v", a)
	}
	if s := st.services["electricity"]; s.Targets.MaxTolerableDowntime != 72*time.Hour || s.Targets.RTO != 36*time.Hour {
		t.Errorf("electricity targets %+v", s.Targets)
	}
	// Importing again changes nothing.
	res, err = Import(context.Background(), st, []Source{FileSource("testdata/city.yaml")}, ImportOptions{})
	if err != nil || res.Stats.Unchanged != 16 || res.Stats.Created+res.Stats.Updated != 0 {
		t.Fatalf("second import %+v, %v", res, err)
	}
}
