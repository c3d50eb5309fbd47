package incident

import (
	"bytes"
	"strings"
	"testing"

	"bulwark"
)

const reviewYAML = `rev: 1
summary: Restored in 20 hours; no ransom paid.
what_worked: [manual operation of the pumps]
what_did_not: [the offline backups were three months old]
decisions:
  - {at: "day 1, 14:00", decision: Do not pay, by: City manager, rationale: backups usable}
follow_ups:
  - {kind: task, title: Test restores every quarter, org: city-water, due: 2027-03-31}
  - {kind: risk, title: Ransomware stops billing, likelihood: 3, impact: 4, services: [water-billing]}
  - {kind: assessment, title: Backups untested, assessment: asm-1, control: PR.DS-11, status: partial}
shared: true
`

func TestParseReview(t *testing.T) {
	r, err := ParseReview(strings.NewReader(reviewYAML), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Rev != 1 || !r.Shared || len(r.FollowUps) != 3 || r.FollowUps[0].Due.Format("2006-01-02") != "2027-03-31" || r.FollowUps[1].Impact != 4 ||
		r.FollowUps[2].Status != bulwark.StatusPartial || r.Decisions[0].At != "day 1, 14:00" {
		t.Errorf("parsed %+v", r)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"unknown kind", strings.Replace(reviewYAML, "kind: task", "kind: wish", 1), `r.yaml:8:12: follow_ups[0].kind: "wish": use task, risk or assessment`},
		{"bad date", strings.Replace(reviewYAML, "due: 2027-03-31", "due: soon", 1), `r.yaml:8:76: follow_ups[0].due: "soon" is not a date: use YYYY-MM-DD`},
		{"impact 9", strings.Replace(reviewYAML, "impact: 4", "impact: 9", 1), `r.yaml:9:74: follow_ups[1].impact: want a whole number from 1 to 5, got 9`},
		{"risk without scores", strings.Replace(reviewYAML, "likelihood: 3, impact: 4, ", "", 1), `r.yaml: follow_ups[1]: a risk needs likelihood and impact of 1 to 5`},
		{"shared text", strings.Replace(reviewYAML, "shared: true", "shared: maybe", 1), `r.yaml:11:9: shared: want true or false, got the string "maybe"`},
		{"empty decision", strings.Replace(reviewYAML, "decision: Do not pay", `decision: ""`, 1), `r.yaml:6:36: decisions[0].decision: must not be empty`},
	} {
		_, err := ParseReview(strings.NewReader(tc.src), "r.yaml")
		if got := strings.Join(problems(err), "\n"); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func FuzzParseReview(f *testing.F) {
	f.Add([]byte(reviewYAML))
	f.Add([]byte("summary: x\n"))
	f.Add([]byte("follow_ups: [{kind: assessment, title: t, assessment: a, control: c, status: partial}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReview(bytes.NewReader(b), "f.yaml")
		if err != nil {
			if c := bulwark.ErrorCode(err); c != bulwark.EINVALID && c != bulwark.ETOOLARGE {
				t.Fatalf("code %s: %v", c, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted an invalid review: %v", err)
		}
	})
}
