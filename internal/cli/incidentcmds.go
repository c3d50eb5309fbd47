package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/sqlstore"
)

func (e *env) withIncidents(fn func(ctx context.Context, is *incident.Service, db *sqlstore.DB) error) error {
	return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
		return fn(ctx, incident.New(db, baseline.New(db, e.log), e.log), db)
	})
}

// parseWhen reads an instant: RFC 3339, or a duration meaning that long
// ago ("90m", "2h", "1d").
func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := bulwark.ParseDuration(s)
	if err != nil {
		return time.Time{}, usageError{fmt.Sprintf("--%s %q: give an RFC 3339 time (2026-11-23T08:00:00Z) or how long ago (90m, 2h, 1d)", flag, s)}
	}
	return time.Now().Add(-time.Duration(d)), nil
}

// parseEntries reads --affected ID[:EFFECT] values (effect down by
// default; IDs may themselves hold ':').
func parseEntries(list []string) ([]bulwark.Affected, error) {
	var out []bulwark.Affected
	for _, v := range list {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			id, eff := part, bulwark.EffectDown
			if i := strings.LastIndexByte(part, ':'); i > 0 {
				if e := bulwark.Effect(part[i+1:]); bulwark.ValidEntryEffect(e) {
					id, eff = part[:i], e
				}
			}
			out = append(out, bulwark.Affected{ID: id, Effect: eff})
		}
	}
	return out, nil
}

func levelText(l bulwark.SeverityLevel) string { return fmt.Sprintf("%d %s (%s)", l, l, l.Color()) }

func newIncidentCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "Incidents: report, triage and track through the NIST SP 800-61 lifecycle",
		Long: `An incident names the services, systems or assets it hits (down, degraded or
compromised); Bulwark derives from the dependency graph what else fails, degrades
or is at risk, scores it on CISA's NCISS levels (0 baseline to 5 emergency) with
the inputs shown, routes it to the organizations concerned, instantiates the
tasks of its playbook and runs a clock against the resilience targets of the
services down. See docs/incidents.md.`,
	}

	var (
		org, title, desc, public, threat, playbook, activity, detected, started string
		entries                                                                 []string
	)
	newCmd := &cobra.Command{
		Use:   "new",
		Short: "Report an incident",
		Example: `  bulwark incident new --org city-water --title "Ransom note on the SCADA HMI" --threat ransomware \
      --affected water-scada-hmi:compromised --affected pump-plc-3:down --detected 45m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if org == "" {
				return usageError{"--org ORG is required: the reporting organization"}
			}
			aff, err := parseEntries(entries)
			if err != nil {
				return err
			}
			det, err := parseWhen("detected", detected)
			if err != nil {
				return err
			}
			st, err := parseWhen("started", started)
			if err != nil {
				return err
			}
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				inc, err := is.Create(ctx, &bulwark.Incident{Owner: org, Title: title, Description: desc, PublicAction: public, Threat: threat, Playbook: playbook,
					Activity: bulwark.Activity(activity), DetectedAt: det, StartedAt: st, Affected: aff})
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(inc)
				}
				fmt.Fprintf(e.stdout, "%s  severity %s\n", inc.ID, levelText(inc.Severity.Level))
				im := inc.Impact
				fmt.Fprintf(e.stdout, "impact: %d services down (%d people), %d degraded, %d at risk\n", im.ServicesDown, im.PopulationDown, im.ServicesDegraded, im.ServicesAtRisk)
				var ps []string
				for _, p := range inc.Parties {
					ps = append(ps, p.Org+" ("+string(p.Role)+")")
				}
				fmt.Fprintf(e.stdout, "routed to: %s\n", strings.Join(ps, ", "))
				if inc.Playbook != "" {
					fmt.Fprintf(e.stdout, "playbook %s v%d: %d tasks\n", inc.Playbook, inc.PlaybookVersion, len(inc.Tasks))
				}
				return nil
			})
		},
	}
	f := newCmd.Flags()
	f.StringVar(&org, "org", "", "the reporting organization")
	f.StringVar(&title, "title", "", "a short title")
	f.StringVar(&desc, "description", "", "what is known")
	f.StringVar(&public, "public-action", "", "what citizens must do, in plain language (e.g. \"Boil tap water before drinking.\"); public notices are sent only when set")
	f.StringVar(&threat, "threat", "", "threat class: "+strings.Join(incident.ThreatClasses, ", ")+" (picks the playbook)")
	f.StringVar(&playbook, "playbook", "", "playbook ID (default: the threat's)")
	f.StringVar(&activity, "activity", "", "observed activity: prepare, engage, presence or effect")
	f.StringVar(&detected, "detected", "", "when it was detected (RFC 3339, or how long ago: 90m); default now")
	f.StringVar(&started, "started", "", "when the activity began, if known")
	f.StringArrayVar(&entries, "affected", nil, "an entity it hits, ID[:down|degraded|compromised] (repeatable, comma-separated)")
	addJSONFlag(newCmd, e)

	var fActive bool
	var fPhase, fOwner string
	var fMin int
	list := &cobra.Command{
		Use:   "list",
		Short: "List incidents, most severe first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				list, err := is.List(ctx, bulwark.IncidentFilter{Active: fActive, Phase: bulwark.Phase(fPhase), Owner: fOwner, MinLevel: bulwark.SeverityLevel(fMin)})
				if err != nil {
					return err
				}
				if e.jsonOut {
					if list == nil {
						list = []bulwark.Incident{}
					}
					return e.printJSON(list)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSEVERITY\tPHASE\tOWNER\tDETECTED\tDOWN\tPEOPLE\tTITLE")
				for _, inc := range list {
					fmt.Fprintf(tw, "%s\t%d %s\t%s\t%s\t%s\t%d\t%d\t%s\n", inc.ID, inc.Severity.Level, inc.Severity.Level, inc.Phase, inc.Owner,
						inc.DetectedAt.Format("2006-01-02 15:04"), inc.Impact.ServicesDown, inc.Impact.PopulationDown, oneLine(inc.Title, 60))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&fActive, "active", false, "only incidents still being handled (before post-incident)")
	list.Flags().StringVar(&fPhase, "phase", "", "only this phase")
	list.Flags().StringVar(&fOwner, "owner", "", "only this reporting organization")
	list.Flags().IntVar(&fMin, "min-level", 0, "only this NCISS level or above (0-5)")
	addJSONFlag(list, e)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an incident: severity and its inputs, parties, affected, tasks, clock, timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				inc, err := is.Find(ctx, args[0])
				if err != nil {
					return err
				}
				tl, err := is.Timeline(ctx, args[0])
				if err != nil {
					return err
				}
				clocks := is.ClockOf(inc)
				if e.jsonOut {
					return e.printJSON(map[string]any{"incident": inc, "clock": clocks, "timeline": tl})
				}
				printIncident(e.stdout, inc, clocks, tl)
				return nil
			})
		},
	}
	addJSONFlag(show, e)

	var note string
	phase := &cobra.Command{
		Use:     "phase ID PHASE",
		Short:   "Move an incident to a phase: detection, containment, eradication, recovery, post-incident, closed",
		Example: "  bulwark incident phase inc-3f… containment --note \"SCADA isolated; plant on manual\"",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				inc, err := is.SetPhase(ctx, args[0], bulwark.Phase(args[1]), note)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s is in %s (revision %d)\n", inc.ID, inc.Phase.Title(), inc.Rev)
				return nil
			})
		},
	}
	phase.Flags().StringVar(&note, "note", "", "why, for the timeline")

	var tStatus, tNote, tChoose string
	task := &cobra.Command{
		Use:     "task ID TASK",
		Short:   "Change a task: its status, a note, or the option taken at a decision point",
		Example: "  bulwark incident task inc-3f… t7 --choose refuse --note \"backups verified\"",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				t, err := is.UpdateTask(ctx, args[0], args[1], incident.TaskChange{Status: bulwark.TaskStatus(tStatus), Note: tNote, Chosen: tChoose})
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s %s: %s (revision %d)\n", t.ID, oneLine(t.Title, 60), t.Status, t.Rev)
				return nil
			})
		},
	}
	task.Flags().StringVar(&tStatus, "status", "", "open, in-progress, done or skipped")
	task.Flags().StringVar(&tNote, "note", "", "a note")
	task.Flags().StringVar(&tChoose, "choose", "", "the option taken (decision points)")

	var sLevel, sReason, sActivity string
	var sClear bool
	severity := &cobra.Command{
		Use:   "severity ID",
		Short: "Override the severity (with a reason), clear the override, or give a new observed activity",
		Example: `  bulwark incident severity inc-3f… --level 4 --reason "actor known for destructive attacks on utilities"
  bulwark incident severity inc-3f… --activity presence`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch := incident.SeverityChange{Activity: bulwark.Activity(sActivity), Clear: sClear, Reason: sReason}
			if sLevel != "" {
				l, ok := bulwark.ParseSeverity(sLevel)
				if !ok {
					return usageError{"--level takes 0-5 or baseline, low, medium, high, severe, emergency"}
				}
				ch.Override = &l
			}
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				inc, err := is.ChangeSeverity(ctx, args[0], ch)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s severity %s (computed %s)\n", inc.ID, levelText(inc.Severity.Level), levelText(inc.Severity.Computed))
				return nil
			})
		},
	}
	severity.Flags().StringVar(&sLevel, "level", "", "override: NCISS level 0-5 or its name")
	severity.Flags().StringVar(&sReason, "reason", "", "why (required with --level)")
	severity.Flags().BoolVar(&sClear, "clear", false, "remove the override")
	severity.Flags().StringVar(&sActivity, "activity", "", "new observed activity (recomputes the level)")

	review := &cobra.Command{
		Use:   "review ID [FILE]",
		Short: "Show the after-action review, or save it from a YAML file (follow-ups become tasks, risks, assessment changes)",
		Example: `  bulwark incident review inc-3f… review.yaml     # with:
    rev: 0
    summary: Restored in 20 hours; no ransom paid.
    what_worked: [manual operation of the pumps]
    what_did_not: [the offline backups were three months old]
    decisions:
      - {decision: Do not pay, by: City manager, rationale: backups usable}
    follow_ups:
      - {kind: task, title: Test restores every quarter, org: city-water, due: 2027-03-31}
      - {kind: risk, title: Ransomware stops billing, likelihood: 3, impact: 4}
      - {kind: assessment, title: Backups untested, assessment: asm-1, control: PR.DS-11, status: partial}`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rv *bulwark.IncidentReview
			if len(args) == 2 {
				b, err := readFileOrStdin(e, args[1])
				if err != nil {
					return err
				}
				if rv, err = incident.ParseReview(bytes.NewReader(b), args[1]); err != nil {
					return err
				}
			}
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				var err error
				if rv != nil {
					rv, err = is.PutReview(ctx, args[0], rv)
				} else {
					rv, err = is.Review(ctx, args[0])
				}
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(rv)
				}
				fmt.Fprintf(e.stdout, "review of %s, revision %d by %s\n%s\n", args[0], rv.Rev, rv.UpdatedBy, rv.Summary)
				for _, s := range rv.WhatWorked {
					fmt.Fprintf(e.stdout, "+ %s\n", s)
				}
				for _, s := range rv.WhatDidNot {
					fmt.Fprintf(e.stdout, "- %s\n", s)
				}
				for _, d := range rv.Decisions {
					fmt.Fprintf(e.stdout, "decision: %s (%s) %s\n", d.Decision, d.By, d.Rationale)
				}
				for _, f := range rv.FollowUps {
					fmt.Fprintf(e.stdout, "follow-up %s: %s → %s\n", f.Kind, f.Title, f.Ref)
				}
				return nil
			})
		},
	}
	addJSONFlag(review, e)

	var internal bool
	noteCmd := &cobra.Command{
		Use:   "note ID TEXT",
		Short: "Add a note to the timeline",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				return is.AddNote(ctx, args[0], args[1], internal)
			})
		},
	}
	noteCmd.Flags().BoolVar(&internal, "internal", false, "only the author's organization reads it")

	publicAction := &cobra.Command{
		Use:     "public-action ID TEXT",
		Short:   "Set or change what citizens must do (\"\" withdraws it); reporter and coordinators",
		Example: "  bulwark incident public-action inc-3f… \"Boil tap water for one minute before drinking.\"",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				inc, err := is.SetPublicAction(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(inc)
				}
				if inc.PublicAction == "" {
					fmt.Fprintf(e.stdout, "%s: public action withdrawn (revision %d)\n", inc.ID, inc.Rev)
				} else {
					fmt.Fprintf(e.stdout, "%s: public action %q (revision %d)\n", inc.ID, inc.PublicAction, inc.Rev)
				}
				return nil
			})
		},
	}
	addJSONFlag(publicAction, e)

	escalate := &cobra.Command{
		Use:   "escalate",
		Short: "Check every active incident's clock once and escalate the targets at risk (serve does this every minute)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				n, err := is.Escalate(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%d escalation(s)\n", n)
				return nil
			})
		},
	}

	raci := &cobra.Command{
		Use:   "raci SERVICE",
		Short: "The RACI matrix of a service: who answers for an incident that takes it down",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				m, hidden, err := is.ServiceRACI(ctx, args[0])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(map[string]any{"raci": m, "hidden_organizations": hidden})
				}
				return printRACI(e.stdout, m)
			})
		},
	}
	addJSONFlag(raci, e)

	cmd.AddCommand(newCmd, list, show, phase, task, severity, review, noteCmd, publicAction, escalate, raci)
	return cmd
}

func readFileOrStdin(e *env, name string) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, incident.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

func printRACI(w io.Writer, m bulwark.RACI) error {
	fmt.Fprintln(w, m.Title)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ACTIVITY\t%s\n", strings.Join(m.Columns, "\t"))
	for _, r := range m.Rows {
		cells := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			cells[i] = c
			if c == "" {
				cells[i] = "·"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\n", oneLine(r.Activity, 60), strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func printIncident(w io.Writer, inc *bulwark.Incident, clocks []incident.ServiceClock, tl []bulwark.TimelineEntry) {
	fmt.Fprintf(w, "%s  %s\n", inc.ID, inc.Title)
	fmt.Fprintf(w, "reported by %s · %s · severity %s", inc.Owner, inc.Phase.Title(), levelText(inc.Severity.Level))
	if o := inc.Severity.Override; o != nil {
		fmt.Fprintf(w, " (overridden from %s by %s: %s)", levelText(inc.Severity.Computed), o.By, o.Reason)
	}
	fmt.Fprintf(w, "\ndetected %s", inc.DetectedAt.Format(time.RFC3339))
	if inc.Playbook != "" {
		fmt.Fprintf(w, " · playbook %s v%d", inc.Playbook, inc.PlaybookVersion)
	}
	fmt.Fprintln(w)
	if inc.Description != "" {
		fmt.Fprintf(w, "\n%s\n", inc.Description)
	}
	if inc.PublicAction != "" {
		fmt.Fprintf(w, "\npublic action: %s\n", inc.PublicAction)
	}
	fmt.Fprintln(w, "\nseverity inputs:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, in := range inc.Severity.Inputs {
		mark := "→"
		if in.Cap {
			mark = "≤"
		}
		fmt.Fprintf(tw, "  %s\t%s %d %s\t%s\n", in.Name, mark, in.Level, in.Level, in.Value)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nparties:")
	for _, p := range inc.Parties {
		fmt.Fprintf(w, "  %s (%s): %s\n", p.Org, p.Role, p.Reason)
	}
	fmt.Fprintln(w, "\naffected:")
	for _, a := range inc.Affected {
		entered := ""
		if a.Entered {
			entered = " (entered)"
		}
		fmt.Fprintf(w, "  %-9s %s %s, owner %s%s\n", a.Effect, a.Kind, a.ID, a.Owner, entered)
	}
	if inc.HiddenAffected > 0 {
		fmt.Fprintf(w, "  and %d you may not see\n", inc.HiddenAffected)
	}
	if len(clocks) > 0 {
		fmt.Fprintln(w, "\nclock:")
		for _, c := range clocks {
			fmt.Fprintf(w, "  %s: down %s, %s (RTO %s, MTD %s)", c.Service, c.Elapsed, c.Stage, c.RTO, c.MTD)
			if c.Next != "" {
				fmt.Fprintf(w, "; %s at %s", c.Next, c.NextAt.Format(time.RFC3339))
			}
			fmt.Fprintln(w)
		}
	}
	if len(inc.Tasks) > 0 {
		fmt.Fprintln(w, "\ntasks:")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, t := range inc.Tasks {
			due := "-"
			if !t.Due.IsZero() {
				due = t.Due.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Phase, t.Org, t.Status, due, oneLine(t.Title, 70))
		}
		tw.Flush()
	}
	if len(tl) > 0 {
		fmt.Fprintln(w, "\ntimeline:")
		for _, e := range tl {
			fmt.Fprintf(w, "  %s  %-10s %s\n", e.At.Format("2006-01-02 15:04"), e.Kind, oneLine(e.Text, 160))
		}
	}
}

func newPlaybookCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "playbook",
		Short: "Incident playbooks per threat class: versioned YAML with phases, tasks, roles and decision points",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the playbooks in force (bundled, or the city's adapted version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				list, err := is.Playbooks(ctx)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(list)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tVERSION\tTHREAT\tSOURCE\tTASKS\tTITLE")
				for _, p := range list {
					n := 0
					for _, ph := range p.Phases {
						n += len(ph.Tasks)
					}
					src := "city"
					if p.Builtin {
						src = "bundled"
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", p.ID, p.Version, p.Threat, src, n, p.Title)
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(list, e)

	var version int
	var yamlOut, raci bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a playbook (--yaml: its source, to adapt it; --raci: its RACI matrix)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				p, m, err := is.PlaybookRACI(ctx, args[0], version)
				if err != nil {
					return err
				}
				switch {
				case yamlOut:
					_, err := io.WriteString(e.stdout, p.Source)
					return err
				case e.jsonOut:
					return e.printJSON(map[string]any{"playbook": p, "raci": m})
				case raci:
					return printRACI(e.stdout, m)
				}
				fmt.Fprintf(e.stdout, "%s v%d — %s (threat %s)\n%s\n", p.ID, p.Version, p.Title, p.Threat, p.Description)
				for _, ph := range p.Phases {
					fmt.Fprintf(e.stdout, "\n%s\n", ph.Phase.Title())
					for _, t := range ph.Tasks {
						fmt.Fprintf(e.stdout, "  %s: %s [%s; R %s", t.ID, t.Title, t.Party, t.Responsible)
						if t.Accountable != "" {
							fmt.Fprintf(e.stdout, ", A %s", t.Accountable)
						}
						if t.Due > 0 {
							fmt.Fprintf(e.stdout, ", due %s", t.Due)
						}
						fmt.Fprintln(e.stdout, "]")
						if t.Decision != nil {
							fmt.Fprintf(e.stdout, "    decision: %s\n", t.Decision.Question)
							for _, o := range t.Decision.Options {
								fmt.Fprintf(e.stdout, "      %s: %s\n", o.ID, o.Text)
							}
						}
					}
				}
				return nil
			})
		},
	}
	show.Flags().IntVar(&version, "version", 0, "a given version (default: the one in force)")
	show.Flags().BoolVar(&yamlOut, "yaml", false, "print the YAML source")
	show.Flags().BoolVar(&raci, "raci", false, "print the RACI matrix")
	addJSONFlag(show, e)

	validate := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check playbook files; every problem is reported as file:line:column: field: message",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, name := range args {
				b, err := readFileOrStdin(e, name)
				if err != nil {
					return err
				}
				p, err := incident.ParsePlaybook(bytes.NewReader(b), name)
				if err != nil {
					bad++
					if d := bulwark.ErrorDetails(err); len(d) > 0 {
						for _, pr := range d {
							fmt.Fprintln(e.stderr, pr.String())
						}
						continue
					}
					fmt.Fprintln(e.stderr, err)
					continue
				}
				n := 0
				for _, ph := range p.Phases {
					n += len(ph.Tasks)
				}
				fmt.Fprintf(e.stdout, "%s: ok (%s v%d, %d phases, %d tasks)\n", name, p.ID, p.Version, len(p.Phases), n)
			}
			if bad > 0 {
				return bulwark.Errorf(bulwark.EINVALID, "%d of %d file(s) invalid", bad, len(args))
			}
			return nil
		},
	}

	put := &cobra.Command{
		Use:     "put FILE",
		Short:   "Publish a playbook version (adapt a bundled one: same id, higher version)",
		Example: "  bulwark playbook show ransomware --yaml > ransomware.yaml   # edit, raise version, then\n  bulwark playbook put ransomware.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readFileOrStdin(e, args[0])
			if err != nil {
				return err
			}
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				p, err := is.PutPlaybook(ctx, b, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s version %d published\n", p.ID, p.Version)
				return nil
			})
		},
	}
	cmd.AddCommand(list, show, validate, put)
	return cmd
}

func newDirectoryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "directory",
		Short: "Each organization's incident contacts, with their roles and on-call shifts",
	}
	put := &cobra.Command{
		Use:   "put FILE",
		Short: "Store an organization's directory from a YAML file (replaces it)",
		Example: `  bulwark directory put water.yaml     # with:
    organization: city-water
    contacts:
      - name: Ana Ortiz
        email: ana.ortiz@example.org
        phone: "+1 555 0100"
        roles: [incident-commander, ot-engineering]
        on_call:
          - {days: mon-fri, from: "08:00", to: "18:00", tz: America/New_York}`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readFileOrStdin(e, args[0])
			if err != nil {
				return err
			}
			d, err := incident.ParseDirectory(bytes.NewReader(b), args[0])
			if err != nil {
				return err
			}
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				if err := is.PutDirectory(ctx, d, -1); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s: %d contacts (revision %d)\n", d.Org, len(d.Contacts), d.Rev)
				return nil
			})
		},
	}
	var role string
	show := &cobra.Command{
		Use:   "show ORG",
		Short: "Show an organization's directory and who is on call now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withIncidents(func(ctx context.Context, is *incident.Service, _ *sqlstore.DB) error {
				d, err := is.Directory(ctx, args[0])
				if err != nil {
					return err
				}
				on, err := is.OnCallNow(ctx, args[0], role)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(map[string]any{"directory": d, "on_call_now": on})
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tEMAIL\tPHONE\tROLES\tON CALL\tNOW")
				for _, c := range d.Contacts {
					var shifts []string
					for _, s := range c.OnCall {
						shifts = append(shifts, s.Days+" "+s.From+"-"+s.To+" "+s.TZ)
					}
					now := ""
					for _, o := range on {
						if o.Name == c.Name {
							now = "on call"
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Email, c.Phone, strings.Join(c.Roles, ","), strings.Join(shifts, "; "), now)
				}
				return tw.Flush()
			})
		},
	}
	show.Flags().StringVar(&role, "role", "", "who is on call for this playbook role")
	addJSONFlag(show, e)
	cmd.AddCommand(put, show)
	return cmd
}
