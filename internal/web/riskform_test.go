package web

import (
	"math"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"bulwark"
)

func TestRiskFromForm(t *testing.T) {
	tests := []struct {
		name, body string
		want       bulwark.Risk
		err        string
	}{
		{"minimal", "title=T&likelihood=2&impact=3", bulwark.Risk{Title: "T", Likelihood: 2, Impact: 3}, ""},
		{"full", "title=T&likelihood=5&impact=1&techniques=T0866&techniques=T0882&services=a,+b&systems=c%0Ad&findings=x/y&gaps=g/GV.OC-01" +
			"&freq_min=0.1&freq_ml=0.5&freq_max=2&loss_min=1e3&loss_ml=2000&loss_max=3000&treatment=mitigate&treatment_owner=o&treatment_plan=p&due=2027-01-31",
			bulwark.Risk{Title: "T", Likelihood: 5, Impact: 1, Techniques: []string{"T0866", "T0882"}, Services: []string{"a", "b"}, Systems: []string{"c", "d"},
				Findings: []string{"x/y"}, Gaps: []string{"g/GV.OC-01"}, Frequency: bulwark.Range{Min: 0.1, MostLikely: 0.5, Max: 2},
				Loss: bulwark.Range{Min: 1000, MostLikely: 2000, Max: 3000}, Treatment: bulwark.TreatMitigate}, ""},
		{"no likelihood", "title=T&impact=3", bulwark.Risk{}, "likelihood: choose 1 to 5"},
		{"impact 0", "title=T&likelihood=1&impact=0", bulwark.Risk{}, "impact: choose 1 to 5"},
		{"impact huge", "title=T&likelihood=1&impact=99999999999999999999", bulwark.Risk{}, "impact"},
		{"partial range", "likelihood=1&impact=1&freq_min=1", bulwark.Risk{}, "give the minimum, most likely and maximum"},
		{"NaN", "likelihood=1&impact=1&loss_min=NaN&loss_ml=1&loss_max=2", bulwark.Risk{}, "is not a number"},
		{"infinity", "likelihood=1&impact=1&loss_min=1&loss_ml=1&loss_max=Inf", bulwark.Risk{}, "is not a number"},
		{"text", "likelihood=1&impact=1&freq_min=a&freq_ml=1&freq_max=2", bulwark.Risk{}, "is not a number"},
		{"bad date", "likelihood=1&impact=1&due=2027-02-30", bulwark.Risk{}, "is not a date"},
		{"year 1", "likelihood=1&impact=1&due=0001-01-01", bulwark.Risk{}, "before 1900"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/risks", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if err := r.ParseForm(); err != nil {
				t.Fatal(err)
			}
			f := &RiskForm{Title: r.PostFormValue("title"), Techniques: r.PostForm["techniques"], Services: r.PostFormValue("services"),
				Systems: r.PostFormValue("systems"), Findings: r.PostFormValue("findings"), Gaps: r.PostFormValue("gaps"), Treatment: r.PostFormValue("treatment")}
			got, err := riskFromForm(r, f)
			if tc.err != "" {
				if err == nil || bulwark.ErrorCode(err) != bulwark.EINVALID || !strings.Contains(bulwark.ErrorMessage(err), tc.err) {
					t.Fatalf("err = %v, want EINVALID with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != tc.want.Title || got.Likelihood != tc.want.Likelihood || got.Impact != tc.want.Impact || got.Frequency != tc.want.Frequency ||
				got.Loss != tc.want.Loss || strings.Join(got.Techniques, ",") != strings.Join(tc.want.Techniques, ",") ||
				strings.Join(got.Services, ",") != strings.Join(tc.want.Services, ",") || strings.Join(got.Systems, ",") != strings.Join(tc.want.Systems, ",") ||
				strings.Join(got.Findings, ",") != strings.Join(tc.want.Findings, ",") || strings.Join(got.Gaps, ",") != strings.Join(tc.want.Gaps, ",") ||
				got.Treatment != tc.want.Treatment {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// FuzzRiskForm checks that any posted risk form is refused with EINVALID
// or gives a risk whose scale values are in range and whose ranges are
// finite; the edit form likewise.
func FuzzRiskForm(f *testing.F) {
	for _, s := range []string{"", "title=T&likelihood=2&impact=3", "likelihood=1&impact=1&freq_min=1&freq_ml=2&freq_max=3&loss_min=1&loss_ml=1&loss_max=1",
		"likelihood=%00&impact=%ff", "services=,,,&systems=%0A%0A", "due=9999-12-31&likelihood=5&impact=5", "loss_min=-1e308&loss_ml=1e308&loss_max=1e309&likelihood=1&impact=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		q, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		r := httptest.NewRequest("POST", "/risks", strings.NewReader(q.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			return
		}
		check := func(rk *bulwark.Risk, err error) {
			if err != nil {
				if bulwark.ErrorCode(err) != bulwark.EINVALID {
					t.Fatalf("error %v is not EINVALID", err)
				}
				return
			}
			if rk.Likelihood < 1 || rk.Likelihood > 5 || rk.Impact < 1 || rk.Impact > 5 {
				t.Fatalf("scale out of range: %+v", rk)
			}
			for _, x := range []float64{rk.Frequency.Min, rk.Frequency.MostLikely, rk.Frequency.Max, rk.Loss.Min, rk.Loss.MostLikely, rk.Loss.Max} {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("range not finite: %+v", rk)
				}
			}
			for _, id := range append(append([]string{}, rk.Services...), rk.Systems...) {
				if id == "" || strings.ContainsAny(id, ", \n") {
					t.Fatalf("split left %q", id)
				}
			}
			_ = rk.Validate() // must not panic
		}
		rk, err := riskFromForm(r, &RiskForm{Title: r.PostFormValue("title"), Services: r.PostFormValue("services"), Systems: r.PostFormValue("systems")})
		check(rk, err)
		cur := bulwark.Risk{ID: "r", Title: "t", Likelihood: 1, Impact: 1, Status: bulwark.RiskAccepted, AcceptedBy: "a"}
		e := &RiskEditForm{Status: r.PostFormValue("status"), Treatment: r.PostFormValue("treatment")}
		err = editRisk(r, &cur, e)
		check(&cur, err)
		if err == nil && cur.Status != bulwark.RiskAccepted && cur.AcceptedBy != "" {
			t.Fatal("leaving the accepted status kept the acceptance")
		}
	})
}
