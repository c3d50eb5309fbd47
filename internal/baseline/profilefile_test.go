package baseline

import (
	"strings"
	"testing"

	"bulwark"
)

func TestParseProfile(t *testing.T) {
	p, err := ParseProfile(strings.NewReader(`id: city-min
name: City minimum
catalog: cpg-2.0
applies_to: high
requirements:
  - {control: 1.A, min_status: implemented}
  - {control: 2.B, min_status: partial, min_tier: 2}
`), "min.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "city-min" || len(p.Requirements) != 2 || p.Requirements[1].MinTier != 2 || p.Requirements[1].MinStatus != bulwark.StatusPartial {
		t.Errorf("parsed %+v", p)
	}
	if p, err := ParseProfile(strings.NewReader(`{"id":"j","name":"J","catalog":"csf-2.0","applies_to":"all","requirements":[{"control":"GV.OC-01","min_status":"partial"}]}`), "p.json"); err != nil || p.ID != "j" {
		t.Errorf("JSON profile: %v %+v", err, p)
	}
	for _, tc := range []struct {
		what, in, want, code string
	}{
		{"unknown field", "id: x\nname: X\nbogus: 1\n", "line 3: field bogus not found", bulwark.EINVALID},
		{"unknown nested field", "id: x\nrequirements:\n  - {control: a, level: 2}\n", "line 3: field level not found", bulwark.EINVALID},
		{"wrong type", "id: x\nrequirements: 5\n", "line 2", bulwark.EINVALID},
		{"tier not a number", "requirements:\n  - {control: a, min_tier: high}\n", "line 2", bulwark.EINVALID},
		{"two documents", "id: a\n---\nid: b\n", "one profile per file", bulwark.EINVALID},
		{"empty", "  \n", "empty", bulwark.EINVALID},
		{"truncated", "id: x\nrequirements:\n  - {control: a, min_sta", "min.yaml", bulwark.EINVALID},
		{"alias bomb", "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nid: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n", "min.yaml", bulwark.EINVALID},
		{"oversized", "id: x\ndescription: " + strings.Repeat("d", MaxProfileBytes) + "\n", "larger than", bulwark.ETOOLARGE},
	} {
		_, err := ParseProfile(strings.NewReader(tc.in), "min.yaml")
		if bulwark.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s containing %q", tc.what, err, tc.code, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "profileFile") {
			t.Errorf("%s: message names a Go type: %v", tc.what, err)
		}
	}
}

func FuzzParseProfile(f *testing.F) {
	f.Add("id: a\nname: A\ncatalog: csf-2.0\napplies_to: all\nrequirements:\n  - {control: GV.OC-01, min_status: partial}\n")
	f.Add(`{"id":"j","requirements":[{"control":"x","min_tier":9}]}`)
	f.Add("id: &a [*a]\n")
	f.Add("---\n---\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParseProfile(strings.NewReader(in), "f.yaml")
		if err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("error of code %q: %v", c, err)
			}
			return
		}
		if p == nil {
			t.Fatal("nil profile without an error")
		}
	})
}
