package risk

import (
	"strings"
	"testing"
	"time"

	"bulwark"
)

const registerYAML = `id: water-ransomware
title: Ransomware stops the water SCADA
scenario: Phishing, then lateral movement to the HMIs.
techniques: [T0866, T0882]
services: [water-supply]
likelihood: 3
impact: 5
frequency: {min: 0.05, most_likely: 0.2, max: 1}
loss: {min: 100000, most_likely: 800000, max: 5000000}
treatment: mitigate
treatment_owner: OT security lead
due: 2027-03-31
status: treating
---
title: Grid SCADA vendor compromise
likelihood: 2
impact: 4
status: accepted
accepted_by: Utility director
accepted_until: 2027-06-30
`

func TestParseFile(t *testing.T) {
	rs, err := ParseFile(strings.NewReader(registerYAML), "register.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].ID != "water-ransomware" || rs[0].Loss.MostLikely != 8e5 || !rs[0].Due.Equal(time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)) ||
		rs[1].Status != bulwark.RiskAccepted || rs[1].AcceptedUntil.Year() != 2027 {
		t.Fatalf("parsed %+v", rs)
	}
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", r.Title, err)
		}
	}
	for _, tc := range []struct{ what, in, want, code string }{
		{"unknown field", "title: x\nlikelyhood: 3\n", "document 1: line 2: field likelyhood not found", bulwark.EINVALID},
		{"second document", "title: a\n---\ntitle: b\nimpct: 2\n", "document 2: line 4", bulwark.EINVALID},
		{"bad date", "title: x\ndue: 31/03/2027\n", `due "31/03/2027"`, bulwark.EINVALID},
		{"wrong type", "title: x\nlikelihood: high\n", "line 2", bulwark.EINVALID},
		{"empty", "", "holds no risk", bulwark.EINVALID},
		{"truncated", "title: x\nloss: {min: 1, most_li", "register.yaml", bulwark.EINVALID},
		{"oversized", "title: " + strings.Repeat("x", MaxFileBytes) + "\n", "larger than", bulwark.ETOOLARGE},
	} {
		_, err := ParseFile(strings.NewReader(tc.in), "register.yaml")
		if bulwark.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s with %q", tc.what, err, tc.code, tc.want)
		}
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add(registerYAML)
	f.Add("title: x\ndue: 2027-13-45\n")
	f.Add("a: &a [*a]\n")
	f.Add("---\n---\n")
	f.Fuzz(func(t *testing.T, in string) {
		rs, err := ParseFile(strings.NewReader(in), "f.yaml")
		if err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("error code %q: %v", c, err)
			}
			return
		}
		if len(rs) == 0 {
			t.Fatal("no risks and no error")
		}
		for _, r := range rs {
			_ = r.Validate() // must not panic on anything parsed
		}
	})
}
