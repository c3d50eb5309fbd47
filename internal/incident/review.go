package incident

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/yamlerr"
)

// ParseReview reads an after-action review file (YAML; JSON reads too):
//
//	rev: 0                    # the revision the change is based on
//	summary: Restored in 20 hours; no ransom paid.
//	what_worked: [manual operation of the pumps]
//	what_did_not: [the offline backups were three months old]
//	decisions:
//	  - {at: "day 1, 14:00", decision: Do not pay, by: City manager, rationale: backups usable}
//	follow_ups:
//	  - {kind: task, title: Test restores every quarter, org: city-water, due: 2027-03-31}
//	  - {kind: risk, title: Ransomware stops billing, likelihood: 3, impact: 4, services: [water-billing]}
//	  - {kind: assessment, title: Backups untested, assessment: asm-1, control: PR.DS-11, status: partial}
//	shared: false
//
// Every problem is reported with its line, column and field.
func ParseReview(r io.Reader, name string) (*bulwark.IncidentReview, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	root, err := readOne(bytes.NewReader(b), name, "review")
	if err != nil {
		return nil, err
	}
	d := &doc{file: name}
	rv := &bulwark.IncidentReview{}
	texts := func(v *yaml.Node, p string) []string {
		var out []string
		d.list(v, p, func(_ int, n *yaml.Node, ip string) {
			if s := d.required(n, ip, bulwark.MaxTimelineText); s != "" {
				out = append(out, s)
			}
		})
		return out
	}
	d.fields(root, "", []string{"rev", "summary", "what_worked", "what_did_not", "decisions", "follow_ups", "shared"}, nil, func(key string, v *yaml.Node, p string) {
		switch key {
		case "rev":
			n, _ := d.integer(v, p, 0, 1_000_000)
			rv.Rev = int(n)
		case "summary":
			rv.Summary = d.text(v, p, bulwark.MaxIncidentText)
		case "what_worked":
			rv.WhatWorked = texts(v, p)
		case "what_did_not":
			rv.WhatDidNot = texts(v, p)
		case "shared":
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
				d.bad(v, p, "want true or false, got %s", yamlerr.Describe(v))
				return
			}
			rv.Shared = v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
		case "decisions":
			d.list(v, p, func(_ int, n *yaml.Node, ip string) {
				var x bulwark.ReviewDecision
				d.fields(n, ip, []string{"at", "decision", "by", "rationale"}, []string{"decision"}, func(key string, v *yaml.Node, fp string) {
					switch key {
					case "at":
						x.At = d.text(v, fp, 100)
					case "decision":
						x.Decision = d.required(v, fp, maxShort*4)
					case "by":
						x.By = d.text(v, fp, maxShort)
					case "rationale":
						x.Rationale = d.text(v, fp, 2000)
					}
				})
				rv.Decisions = append(rv.Decisions, x)
			})
		case "follow_ups":
			d.list(v, p, func(_ int, n *yaml.Node, ip string) {
				rv.FollowUps = append(rv.FollowUps, d.followUp(n, ip))
			})
		}
	})
	if err := d.err("review"); err != nil {
		return nil, err
	}
	if err := rv.Validate(); err != nil {
		// What the node walk cannot see (a risk without its scores):
		// name the file.
		for i := range bulwark.ErrorDetails(err) {
			bulwark.ErrorDetails(err)[i].File = name
		}
		return nil, err
	}
	return rv, nil
}

func (d *doc) followUp(n *yaml.Node, p string) bulwark.FollowUp {
	var f bulwark.FollowUp
	d.fields(n, p, []string{"kind", "title", "org", "due", "likelihood", "impact", "services", "assessment", "control", "status", "ref"},
		[]string{"kind", "title"}, func(key string, v *yaml.Node, fp string) {
			switch key {
			case "kind":
				f.Kind = bulwark.FollowUpKind(d.text(v, fp, 40))
				switch f.Kind {
				case bulwark.FollowUpTask, bulwark.FollowUpRisk, bulwark.FollowUpAssessment:
				default:
					d.bad(v, fp, "%q: use task, risk or assessment", yamlerr.Clip(string(f.Kind)))
				}
			case "title":
				f.Title = d.required(v, fp, maxShort)
			case "org":
				f.Org = d.id(v, fp)
			case "due":
				var s string
				if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!timestamp" && d.plain(v, fp) {
					s = v.Value // an unquoted date
				} else {
					s = d.text(v, fp, 40)
				}
				t, err := time.Parse(time.DateOnly, s)
				if s != "" && err != nil {
					d.bad(v, fp, "%q is not a date: use YYYY-MM-DD", yamlerr.Clip(s))
				}
				f.Due = t
			case "likelihood", "impact":
				x, _ := d.integer(v, fp, 1, 5)
				if key == "likelihood" {
					f.Likelihood = int(x)
				} else {
					f.Impact = int(x)
				}
			case "services":
				f.Services = d.ids(v, fp)
			case "assessment":
				f.Assessment = d.id(v, fp)
			case "control":
				f.Control = d.text(v, fp, bulwark.MaxIDLen)
			case "status":
				f.Status = bulwark.ImplStatus(d.text(v, fp, 40))
				if !f.Status.Valid() || f.Status == bulwark.StatusNotAssessed {
					d.bad(v, fp, "%q: use not_implemented, partial, implemented or not_applicable", yamlerr.Clip(string(f.Status)))
				}
			case "ref":
				f.Ref = d.text(v, fp, 300)
			}
		})
	return f
}
