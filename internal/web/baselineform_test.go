package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"bulwark"
)

func TestResultForm(t *testing.T) {
	tests := []struct {
		name, body string
		want       bulwark.ResultChange
		err        string
	}{
		{"empty is not assessed", "", bulwark.ResultChange{Control: "GV.OC-01"}, ""},
		{"full", "base_rev=2&status=partial&current_tier=1&target_tier=3&notes=+n+&ev_kind=link&ev_title=t&ev_url=https%3A%2F%2Fa.example&ev_sha256=&ev_size=0&new_title=m",
			bulwark.ResultChange{Control: "GV.OC-01", BaseRev: 2, Status: bulwark.StatusPartial, CurrentTier: 1, TargetTier: 3, Notes: "n",
				Evidence: []bulwark.Evidence{{Kind: "link", Title: "t", URL: "https://a.example"}, {Kind: "note", Title: "m"}}}, ""},
		{"removed evidence and a new link titled by its URL", "status=implemented&ev_kind=note&ev_title=a&ev_url=&ev_sha256=&ev_size=&ev_remove=0&new_url=https%3A%2F%2Fb.example",
			bulwark.ResultChange{Control: "GV.OC-01", Status: bulwark.StatusImplemented,
				Evidence: []bulwark.Evidence{{Kind: "link", Title: "https://b.example", URL: "https://b.example"}}}, ""},
		{"bad status", "status=done", bulwark.ResultChange{}, `status "done" is not a status`},
		{"tier too high", "current_tier=5", bulwark.ResultChange{}, "current_tier"},
		{"negative base", "base_rev=-1", bulwark.ResultChange{}, "base_rev"},
		{"not a number", "target_tier=two", bulwark.ResultChange{}, "target_tier"},
		{"huge number", "base_rev=99999999999999999999", bulwark.ResultChange{}, "base_rev"},
		{"evidence out of step", "ev_kind=link&ev_kind=note&ev_title=a", bulwark.ResultChange{}, "do not line up"},
		{"bad size", "ev_kind=file&ev_title=a&ev_url=&ev_sha256=&ev_size=x", bulwark.ResultChange{}, "size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if err := r.ParseForm(); err != nil {
				t.Fatal(err)
			}
			got, err := resultForm(r, "GV.OC-01")
			if tc.err != "" {
				if err == nil || bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(bulwark.ErrorMessage(err), tc.err) {
					t.Fatalf("err = %v, want EINVALID with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Control != tc.want.Control || got.BaseRev != tc.want.BaseRev || got.Status != tc.want.Status || got.CurrentTier != tc.want.CurrentTier ||
				got.TargetTier != tc.want.TargetTier || got.Notes != tc.want.Notes || len(got.Evidence) != len(tc.want.Evidence) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got.Evidence {
				if got.Evidence[i] != tc.want.Evidence[i] {
					t.Errorf("evidence %d = %+v, want %+v", i, got.Evidence[i], tc.want.Evidence[i])
				}
			}
		})
	}
}

// FuzzResultForm checks that any posted form either is refused with
// EINVALID or gives a change whose status and tiers are in range.
func FuzzResultForm(f *testing.F) {
	for _, s := range []string{"", "status=partial&current_tier=2", "ev_kind=link&ev_title=a&ev_url=u&ev_sha256=&ev_size=1&ev_remove=0",
		"base_rev=%00&status=%ff", "new_url=javascript:alert(1)&new_title=%3Cscript%3E", "ev_kind=a&ev_kind=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		q, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		r := httptest.NewRequest("POST", "/x", strings.NewReader(q.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			return
		}
		c, err := resultForm(r, "C-1")
		if err != nil {
			if bulwark.ErrorCode(err) != bulwark.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if !c.Status.Valid() || c.CurrentTier < 0 || c.CurrentTier > bulwark.MaxTier || c.TargetTier < 0 || c.TargetTier > bulwark.MaxTier || c.BaseRev < 0 {
			t.Fatalf("out of range: %+v", c)
		}
		if n := len(q["ev_kind"]); len(c.Evidence) > n+1 {
			t.Fatalf("%d pieces of evidence from %d posted", len(c.Evidence), n)
		}
	})
}
