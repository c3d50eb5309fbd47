package risk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/yamlerr"
)

// MaxFileBytes caps a risk file.
const MaxFileBytes = 4 << 20

// riskFile is a risk as people write it (YAML; JSON reads too). Dates are
// YYYY-MM-DD.
type riskFile struct {
	ID             string    `yaml:"id"`
	Title          string    `yaml:"title"`
	Scenario       string    `yaml:"scenario"`
	Techniques     []string  `yaml:"techniques"`
	Services       []string  `yaml:"services"`
	Systems        []string  `yaml:"systems"`
	Likelihood     int       `yaml:"likelihood"`
	Impact         int       `yaml:"impact"`
	Frequency      rangeFile `yaml:"frequency"`
	Loss           rangeFile `yaml:"loss"`
	Treatment      string    `yaml:"treatment"`
	TreatmentOwner string    `yaml:"treatment_owner"`
	TreatmentPlan  string    `yaml:"treatment_plan"`
	Due            string    `yaml:"due"`
	Status         string    `yaml:"status"`
	AcceptedBy     string    `yaml:"accepted_by"`
	AcceptedUntil  string    `yaml:"accepted_until"`
	Findings       []string  `yaml:"findings"`
	Gaps           []string  `yaml:"gaps"`
}

type rangeFile struct {
	Min        float64 `yaml:"min"`
	MostLikely float64 `yaml:"most_likely"`
	Max        float64 `yaml:"max"`
}

// ParseFile reads a register file: one or more risk documents separated
// by "---". Unknown fields and malformed dates are refused with the file,
// the document and the line; a file over MaxFileBytes is refused whole.
// The risks are not validated further here (see bulwark.Risk.Validate).
func ParseFile(r io.Reader, name string) ([]bulwark.Risk, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > MaxFileBytes {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "%s is larger than %d bytes", name, MaxFileBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var out []bulwark.Risk
	for doc := 1; ; doc++ {
		var f riskFile
		err := dec.Decode(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bulwark.Errorf(bulwark.EINVALID, "%s: document %d: %s", name, doc, yamlerr.Message(err))
		}
		r := bulwark.Risk{ID: f.ID, Title: f.Title, Scenario: f.Scenario, Techniques: f.Techniques, Services: f.Services, Systems: f.Systems,
			Likelihood: f.Likelihood, Impact: f.Impact, Frequency: bulwark.Range(f.Frequency), Loss: bulwark.Range(f.Loss),
			Treatment: bulwark.Treatment(f.Treatment), TreatmentOwner: f.TreatmentOwner, TreatmentPlan: f.TreatmentPlan,
			Status: bulwark.RiskStatus(f.Status), AcceptedBy: f.AcceptedBy, Findings: f.Findings, Gaps: f.Gaps}
		for field, p := range map[string]struct {
			s   string
			dst *time.Time
		}{"due": {f.Due, &r.Due}, "accepted_until": {f.AcceptedUntil, &r.AcceptedUntil}} {
			if p.s == "" {
				continue
			}
			t, err := time.Parse(time.DateOnly, p.s)
			if err != nil {
				return nil, bulwark.Errorf(bulwark.EINVALID, "%s: document %d: %s %q: use a date YYYY-MM-DD", name, doc, field, bulwark.Abbrev(p.s, 40))
			}
			*p.dst = t
		}
		out = append(out, r)
		if len(out) > 10_000 {
			return nil, bulwark.Errorf(bulwark.ETOOLARGE, "%s holds more than 10,000 risks", name)
		}
	}
	if len(out) == 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "%s holds no risk", name)
	}
	return out, nil
}
