package incident

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"bulwark"
	"bulwark/internal/yamlerr"
)

// ThreatClasses are the threat classes of the bundled playbooks. A city's
// own playbook may name another class.
var ThreatClasses = []string{"ransomware", "ot-ics-intrusion", "ddos", "data-breach", "iot-compromise", "vendor-compromise"}

// Parties a playbook task may go to.
var taskParties = []bulwark.PartyRole{bulwark.PartyReporter, bulwark.PartyAffected, bulwark.PartyCoordinator}

// ParsePlaybook reads and validates a playbook file (docs/incidents.md).
// Every problem is reported with the file, line, column and field; a file
// over MaxFileBytes is refused whole.
func ParsePlaybook(r io.Reader, name string) (*bulwark.Playbook, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	root, err := readOne(bytes.NewReader(b), name, "playbook")
	if err != nil {
		return nil, err
	}
	d := &doc{file: name}
	p := &bulwark.Playbook{Source: string(b)}

	type at struct {
		n    *yaml.Node
		path string
	}
	var roleRefs []struct {
		at
		id string
	}
	ref := func(n *yaml.Node, path, id string) {
		if id != "" {
			roleRefs = append(roleRefs, struct {
				at
				id string
			}{at{n, path}, id})
		}
	}
	roleAt := map[string]bool{}
	taskAt := map[string]string{} // task id -> path of its first use
	var phaseNodes []at

	d.fields(root, "", []string{"id", "version", "title", "threat", "description", "roles", "phases"},
		[]string{"id", "version", "title", "threat", "roles", "phases"}, func(key string, v *yaml.Node, pth string) {
			switch key {
			case "id":
				p.ID = d.id(v, pth)
			case "version":
				n, _ := d.integer(v, pth, 1, 1_000_000)
				p.Version = int(n)
			case "title":
				p.Title = d.required(v, pth, maxShort)
			case "threat":
				p.Threat = d.id(v, pth)
			case "description":
				p.Description = d.text(v, pth, maxLong)
			case "roles":
				d.list(v, pth, func(_ int, rn *yaml.Node, rp string) {
					var role bulwark.PlaybookRole
					d.fields(rn, rp, []string{"id", "name", "description"}, []string{"id", "name"}, func(key string, v *yaml.Node, fp string) {
						switch key {
						case "id":
							role.ID = d.id(v, fp)
							if role.ID != "" && roleAt[role.ID] {
								d.bad(v, fp, "role %q is declared twice", role.ID)
							}
							roleAt[role.ID] = true
						case "name":
							role.Name = d.required(v, fp, maxShort)
						case "description":
							role.Description = d.text(v, fp, maxLong)
						}
					})
					p.Roles = append(p.Roles, role)
				})
				if len(p.Roles) == 0 && v.Kind == yaml.SequenceNode {
					d.bad(v, pth, "declare at least one role")
				}
			case "phases":
				d.list(v, pth, func(_ int, pn *yaml.Node, pp string) {
					var ph bulwark.PlaybookPhase
					d.fields(pn, pp, []string{"phase", "tasks"}, []string{"phase", "tasks"}, func(key string, v *yaml.Node, fp string) {
						switch key {
						case "phase":
							s := d.text(v, fp, 40)
							if s == "" {
								return
							}
							ph.Phase = bulwark.Phase(s)
							if !ph.Phase.Valid() || ph.Phase == bulwark.PhaseClosed {
								d.bad(v, fp, "%q is not a phase: use detection, containment, eradication, recovery or post-incident", yamlerr.Clip(s))
								ph.Phase = ""
								return
							}
							phaseNodes = append(phaseNodes, at{v, fp})
						case "tasks":
							d.list(v, fp, func(_ int, tn *yaml.Node, tp string) {
								t := d.task(tn, tp, ref)
								if t.ID != "" {
									if first, dup := taskAt[t.ID]; dup {
										d.bad(tn, tp+".id", "task %q is already used at %s: task ids are unique in a playbook", t.ID, first)
									} else {
										taskAt[t.ID] = tp
									}
								}
								ph.Tasks = append(ph.Tasks, t)
							})
							if len(ph.Tasks) == 0 && v.Kind == yaml.SequenceNode {
								d.bad(v, fp, "a phase lists at least one task")
							}
						}
					})
					p.Phases = append(p.Phases, ph)
				})
			}
		})

	// Checks across the document.
	for _, r := range roleRefs {
		if !roleAt[r.id] {
			d.bad(r.n, r.path, "role %q is not declared under roles", r.id)
		}
	}
	last := -1
	seen := map[bulwark.Phase]bool{}
	for i, ph := range p.Phases {
		if ph.Phase == "" {
			continue
		}
		var n *yaml.Node
		var pth string
		for _, a := range phaseNodes {
			if a.path == fmt.Sprintf("phases[%d].phase", i) {
				n, pth = a.n, a.path
			}
		}
		switch {
		case seen[ph.Phase]:
			d.bad(n, pth, "phase %s is listed twice", ph.Phase)
		case ph.Phase.Index() < last:
			d.bad(n, pth, "phase %s comes after %s: list the phases in lifecycle order", ph.Phase, bulwark.Phases[last])
		}
		seen[ph.Phase] = true
		last = max(last, ph.Phase.Index())
	}
	if len(taskAt) == 0 && d.total == 0 {
		d.bad(root, "phases", "a playbook has at least one task")
	}
	if err := d.err("playbook"); err != nil {
		return nil, err
	}
	return p, nil
}

// task reads one task.
func (d *doc) task(n *yaml.Node, pth string, ref func(n *yaml.Node, path, id string)) bulwark.PlaybookTask {
	t := bulwark.PlaybookTask{Party: bulwark.PartyReporter}
	d.fields(n, pth, []string{"id", "title", "detail", "party", "responsible", "accountable", "consulted", "informed", "due", "decision"},
		[]string{"id", "title", "responsible"}, func(key string, v *yaml.Node, fp string) {
			switch key {
			case "id":
				t.ID = d.id(v, fp)
			case "title":
				t.Title = d.required(v, fp, maxShort)
			case "detail":
				t.Detail = d.text(v, fp, maxLong)
			case "party":
				s := d.text(v, fp, 40)
				if s != "" && !slices.Contains(taskParties, bulwark.PartyRole(s)) {
					d.bad(v, fp, "%q: a task goes to the reporter, every affected organization (affected) or every coordinator", yamlerr.Clip(s))
					return
				}
				if s != "" {
					t.Party = bulwark.PartyRole(s)
				}
			case "responsible":
				t.Responsible = d.id(v, fp)
				ref(v, fp, t.Responsible)
			case "accountable":
				t.Accountable = d.id(v, fp)
				ref(v, fp, t.Accountable)
			case "consulted", "informed":
				d.list(v, fp, func(_ int, rn *yaml.Node, rp string) {
					id := d.id(rn, rp)
					ref(rn, rp, id)
					if id == "" {
						return
					}
					if key == "consulted" {
						t.Consulted = append(t.Consulted, id)
					} else {
						t.Informed = append(t.Informed, id)
					}
				})
			case "due":
				t.Due = d.duration(v, fp)
			case "decision":
				t.Decision = d.decision(v, fp)
			}
		})
	return t
}

// decision reads a decision point.
func (d *doc) decision(n *yaml.Node, pth string) *bulwark.PlaybookDecision {
	dec := &bulwark.PlaybookDecision{}
	d.fields(n, pth, []string{"question", "options"}, []string{"question", "options"}, func(key string, v *yaml.Node, fp string) {
		switch key {
		case "question":
			dec.Question = d.required(v, fp, maxShort)
		case "options":
			ids := map[string]bool{}
			d.list(v, fp, func(_ int, on *yaml.Node, op string) {
				var o bulwark.DecisionOption
				d.fields(on, op, []string{"id", "text", "then"}, []string{"id", "text"}, func(key string, v *yaml.Node, fp string) {
					switch key {
					case "id":
						o.ID = d.id(v, fp)
						if o.ID != "" && ids[o.ID] {
							d.bad(v, fp, "option %q is given twice", o.ID)
						}
						ids[o.ID] = true
					case "text":
						o.Text = d.required(v, fp, maxShort)
					case "then":
						o.Then = d.text(v, fp, maxShort)
					}
				})
				dec.Options = append(dec.Options, o)
			})
			if len(dec.Options) < 2 && v.Kind == yaml.SequenceNode {
				d.bad(v, fp, "a decision offers at least two options, got %d", len(dec.Options))
			}
		}
	})
	return dec
}

//go:embed playbooks/*.yaml
var builtinFS embed.FS

var (
	builtinOnce sync.Once
	builtin     []*bulwark.Playbook
	builtinErr  error
)

// Builtin returns the bundled playbooks, one per threat class, sorted by
// ID. They are parsed once; callers must not change them.
func Builtin() ([]*bulwark.Playbook, error) {
	builtinOnce.Do(func() {
		names, err := fs.Glob(builtinFS, "playbooks/*.yaml")
		if err != nil {
			builtinErr = err
			return
		}
		for _, n := range names {
			b, err := builtinFS.ReadFile(n)
			if err != nil {
				builtinErr = err
				return
			}
			p, err := ParsePlaybook(bytes.NewReader(b), path.Base(n))
			if err != nil {
				builtinErr = fmt.Errorf("bundled playbook: %w", err)
				return
			}
			p.Builtin = true
			builtin = append(builtin, p)
		}
		sort.Slice(builtin, func(i, j int) bool { return builtin[i].ID < builtin[j].ID })
	})
	return builtin, builtinErr
}

// ForThreat returns the playbook among list whose threat class is threat
// (the first by ID), or nil.
func ForThreat(list []bulwark.Playbook, threat string) *bulwark.Playbook {
	for i := range list {
		if strings.EqualFold(list[i].Threat, threat) {
			return &list[i]
		}
	}
	return nil
}
