package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/feed"
	"bulwark/internal/sqlstore"
	"bulwark/internal/vulns"
)

func newFeedsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feeds",
		Short: "Import vulnerability feeds and see what is stored",
		Long: `Feeds are the city's vulnerability intelligence: NVD (API 2.0 responses and
the 1.1 yearly files), CVE JSON 5 records (with CISA's ADP enrichment), CISA KEV,
FIRST EPSS scores, and CSAF 2.0 advisories. Bulwark works offline: download the
files and import them; the format of each is detected.`,
	}
	var format string
	imp := &cobra.Command{
		Use:   "import PATH...",
		Short: "Import feed files (files, directories, .gz) and re-match what changed",
		Long: `Import reads every feed document under the paths, each in its own
transaction: a malformed document is rejected with the file and JSON path of
the problem and nothing of it is stored, while the others still import.
Malformed records inside a sound document are skipped and listed. Importing
the same files again changes nothing. After the import, the vulnerabilities
that changed are matched against the inventory (use --no-match to skip).`,
		Example: "  bulwark feeds import nvdcve-1.1-2024.json.gz known_exploited_vulnerabilities.json\n  bulwark feeds import advisories/ --json",
		Args:    cobra.MinimumNArgs(1),
	}
	noMatch := imp.Flags().Bool("no-match", false, "do not re-match the changed vulnerabilities")
	imp.Flags().StringVar(&format, "format", "", "skip detection: nvd-1.1, nvd-2.0, anchore, cve5, cve5-lines, kev, epss, csaf")
	addJSONFlag(imp, e)
	imp.RunE = func(cmd *cobra.Command, args []string) error {
		var opts feed.Options
		if format != "" {
			f, ok := feed.ParseFormat(format)
			if !ok {
				return usageError{fmt.Sprintf("unknown --format %q", format)}
			}
			opts.Format = f
		}
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			svc := vulns.New(db, e.log)
			total := 0
			if err := feed.Walk(args, func(string, func() (io.ReadCloser, error)) error { total++; return nil }); err != nil {
				return err
			}
			bar := e.newProgress(int64(total), "importing feeds", false)
			done := 0
			results, err := svc.ImportPaths(ctx, args, opts, func(r vulns.DocResult) {
				done++
				bar.Set(int64(done), int64(total))
			})
			bar.Done()
			if err != nil {
				return err
			}
			changed := map[string]bool{}
			rejected := 0
			for _, r := range results {
				for _, id := range r.Changed {
					changed[id] = true
				}
				if r.Error != "" {
					rejected++
				}
			}
			var mres *vulns.MatchResult
			if !*noMatch && len(changed) > 0 {
				ids := make([]string, 0, len(changed))
				for id := range changed {
					ids = append(ids, id)
				}
				m, err := svc.Match(ctx, vulns.MatchOptions{Vulns: ids})
				if err != nil {
					return err
				}
				mres = &m
			}
			if e.jsonOut {
				return json.NewEncoder(e.stdout).Encode(map[string]any{"documents": results, "match": mres})
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DOCUMENT\tFORMAT\tRECORDS\tNEW\tUPDATED\tUNCHANGED\tOLDER\tSKIPPED\tRESULT")
			for _, r := range results {
				res := "ok"
				if r.Error != "" {
					res = "rejected: " + r.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Name, r.Format, r.Records, r.Stats.Created, r.Stats.Updated,
					r.Stats.Unchanged, r.Stats.Older, len(r.Problems), res)
			}
			tw.Flush()
			for _, r := range results {
				for _, p := range append(r.Details, r.Problems...) {
					fmt.Fprintf(e.stderr, "  %s\n", p)
				}
			}
			if mres != nil && !e.quiet {
				fmt.Fprintf(e.stderr, "re-matched %d changed vulnerabilities: %d new findings, %d updated, %d closed\n",
					mres.Vulnerabilities, mres.Sync.New, mres.Sync.Updated, mres.Sync.Closed)
			}
			if rejected > 0 {
				return bulwark.Errorf(bulwark.EINVALID, "%d of %d documents rejected (the others were imported)", rejected, len(results))
			}
			return nil
		})
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Show what is stored from each feed source",
		Args:  cobra.NoArgs,
	}
	addJSONFlag(status, e)
	status.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			srcs, err := db.FeedSources(ctx)
			if err != nil {
				return err
			}
			v, err := db.FeedVersion(ctx)
			if err != nil {
				return err
			}
			if e.jsonOut {
				return json.NewEncoder(e.stdout).Encode(map[string]any{"feed_version": v, "sources": srcs})
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SOURCE\tRECORDS\tLAST FETCHED\tNEWEST RECORD")
			for _, s := range srcs {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Source, s.Records, day(s.LastFetched), day(s.LastModified))
			}
			return tw.Flush()
		})
	}
	cmd.AddCommand(imp, status, newFeedsSyncCmd(e))
	return cmd
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.DateOnly)
}

func newVulnsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vulns",
		Short: "Match vulnerabilities against the inventory; list, explain and manage findings",
		Long: `A finding is an asset exposed to a vulnerability. Each has an SSVC decision
(Track, Track*, Attend, Act) derived from exploitation (KEV, exploit references,
EPSS), automatability and technical impact (CVSS), and the asset's place in the
city's dependency graph; and a deadline (the SSVC policy or the KEV due date).
Lifecycle: open → in_remediation → fixed → verified, or accepted (with who,
why and until when; it re-opens at expiry).`,
	}

	matchCmd := &cobra.Command{
		Use:   "match",
		Short: "Match every stored vulnerability against every asset and update findings",
		Args:  cobra.NoArgs,
	}
	addJSONFlag(matchCmd, e)
	matchCmd.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			svc := vulns.New(db, e.log)
			res, err := svc.Match(ctx, vulns.MatchOptions{Progress: func(p string) {
				if !e.quiet && isTerminal(e.stderr) {
					fmt.Fprintf(e.stderr, "%s…\n", p)
				}
			}})
			if err != nil {
				return err
			}
			if e.jsonOut {
				return json.NewEncoder(e.stdout).Encode(res)
			}
			fmt.Fprintf(e.stdout, "matched %d vulnerabilities against %d assets (%d distinct CPE names) in %s\n",
				res.Vulnerabilities, res.Assets, res.DistinctCPEs, res.Took.Round(time.Millisecond))
			fmt.Fprintf(e.stdout, "findings: %d matched; %d new, %d updated, %d unchanged, %d closed, %d re-opened\n",
				res.Matches, res.Sync.New, res.Sync.Updated, res.Sync.Unchanged, res.Sync.Closed, res.Sync.Reopened)
			if n := len(res.Problems); n > 0 && !e.quiet {
				fmt.Fprintf(e.stderr, "%d identifiers could not be used, for example: %s\n", n, res.Problems[0])
			}
			return nil
		})
	}

	var f bulwark.FindingFilter
	var all bool
	var status, decision string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List findings, most urgent first",
		Example: "  bulwark vulns list --open --kev\n  bulwark vulns list --owner water --decision Act --json",
		Args:    cobra.NoArgs,
	}
	list.Flags().StringVar(&f.Owner, "owner", "", "only findings of this organization's assets")
	list.Flags().StringVar(&f.Asset, "asset", "", "only this asset")
	list.Flags().StringVar(&f.Vuln, "cve", "", "only this vulnerability")
	list.Flags().StringVar(&status, "status", "", "open, in_remediation, fixed, verified or accepted")
	list.Flags().StringVar(&decision, "decision", "", "Track, Track*, Attend or Act")
	list.Flags().BoolVar(&f.KEV, "kev", false, "only vulnerabilities in CISA's KEV catalog")
	list.Flags().BoolVar(&f.Open, "open", false, "only what still needs action (open or in remediation)")
	list.Flags().IntVar(&f.Limit, "limit", 50, "findings per page")
	list.Flags().StringVar(&f.After, "after", "", "cursor printed at the end of the previous page")
	list.Flags().BoolVar(&all, "all", false, "every page")
	addJSONFlag(list, e)
	list.RunE = func(cmd *cobra.Command, args []string) error {
		f.Status, f.Decision, f.Sort = bulwark.FindingStatus(status), bulwark.SSVCDecision(decision), "priority"
		if f.Limit < 1 || f.Limit > bulwark.MaxPageSize {
			return usageError{fmt.Sprintf("--limit must be between 1 and %d", bulwark.MaxPageSize)}
		}
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			var items []bulwark.Finding
			var next string
			for {
				p, err := db.ListFindings(ctx, f)
				if err != nil {
					return err
				}
				items, next = append(items, p.Items...), p.Next
				if !all || next == "" {
					break
				}
				f.After = next
			}
			if e.jsonOut {
				out := make([]any, len(items))
				for i := range items {
					out[i] = findingJSON(&items[i])
				}
				if all {
					next = ""
				}
				return json.NewEncoder(e.stdout).Encode(map[string]any{"items": out, "next": next})
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DECISION\tDUE\tVULNERABILITY\tASSET\tOWNER\tSTATUS\tMATCH")
			for _, x := range items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Decision, day(x.Due), x.VulnID, x.AssetID, x.Owner, x.Status, x.Confidence)
			}
			tw.Flush()
			if next != "" && !all && !e.quiet {
				fmt.Fprintf(e.stderr, "more: --after %s (or --all)\n", next)
			}
			return nil
		})
	}

	explain := &cobra.Command{
		Use:     "explain ASSET VULNERABILITY",
		Short:   "Show exactly which criterion matched an asset and why, or why not",
		Example: "  bulwark vulns explain plc-1 CVE-2019-10929",
		Args:    cobra.ExactArgs(2),
	}
	addJSONFlag(explain, e)
	explain.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			x, err := vulns.New(db, e.log).Explain(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			if e.jsonOut {
				return json.NewEncoder(e.stdout).Encode(x)
			}
			_, err = fmt.Fprintln(e.stdout, x.String())
			return err
		})
	}

	show := &cobra.Command{
		Use:   "show VULNERABILITY",
		Short: "Show what every source says about a vulnerability",
		Args:  cobra.ExactArgs(1),
	}
	addJSONFlag(show, e)
	show.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			v, err := db.FindVulnerability(ctx, args[0])
			if err != nil {
				return err
			}
			if e.jsonOut {
				return json.NewEncoder(e.stdout).Encode(v)
			}
			fmt.Fprintf(e.stdout, "%s  CVSS %.1f\n%s\n", v.ID, v.MaxCVSS(), v.Description)
			if v.KEV != nil {
				fmt.Fprintf(e.stdout, "KEV: added %s, due %s: %s\n", day(v.KEV.DateAdded), day(v.KEV.DueDate), v.KEV.RequiredAction)
			}
			if v.EPSS != nil {
				fmt.Fprintf(e.stdout, "EPSS: %.4f (percentile %.3f) on %s\n", v.EPSS.Score, v.EPSS.Percentile, day(v.EPSS.Date))
			}
			fmt.Fprintf(e.stdout, "configurations: %d, product statements: %d, remediations: %d\n", len(v.Configurations), len(v.Affected), len(v.Remediations))
			for _, s := range v.Sources {
				fmt.Fprintf(e.stdout, "source %s: %s (record modified %s, sha256 %.12s…)\n", s.Source, s.Document, day(s.Modified), s.Hash)
			}
			return nil
		})
	}

	var note, by, until string
	setStatus := &cobra.Command{
		Use:     "set ASSET VULNERABILITY STATUS",
		Short:   "Move a finding through its lifecycle (in_remediation, fixed, verified, open)",
		Example: "  bulwark vulns set plc-1 CVE-2019-10929 in_remediation --note 'change ticket 4411'",
		Args:    cobra.ExactArgs(3),
	}
	setStatus.Flags().StringVar(&note, "note", "", "why (kept in the finding's history)")
	setStatus.RunE = func(cmd *cobra.Command, args []string) error {
		st := bulwark.FindingStatus(args[2])
		if st == bulwark.FindingAccepted {
			return usageError{"use 'bulwark vulns accept' to accept a risk"}
		}
		return e.updateFinding(args[0], args[1], bulwark.FindingChange{Status: st, Note: note})
	}

	accept := &cobra.Command{
		Use:     "accept ASSET VULNERABILITY --by NAME --reason TEXT --until DATE",
		Short:   "Accept the risk of a finding until a date (it re-opens then)",
		Example: "  bulwark vulns accept plc-1 CVE-2019-10929 --by 'Water director' --reason 'isolated network; vendor fix in Q3' --until 2026-09-30",
		Args:    cobra.ExactArgs(2),
	}
	accept.Flags().StringVar(&by, "by", "", "who accepts the risk (required)")
	accept.Flags().StringVar(&note, "reason", "", "why the risk is accepted (required)")
	accept.Flags().StringVar(&until, "until", "", "expiry date YYYY-MM-DD, at most a year ahead (required)")
	accept.RunE = func(cmd *cobra.Command, args []string) error {
		t, err := time.Parse(time.DateOnly, until)
		if err != nil {
			return usageError{"--until must be a date YYYY-MM-DD"}
		}
		return e.updateFinding(args[0], args[1], bulwark.FindingChange{Status: bulwark.FindingAccepted, Note: note, AcceptedBy: by, Until: t})
	}

	history := &cobra.Command{
		Use:   "history ASSET VULNERABILITY",
		Short: "Show a finding's history",
		Args:  cobra.ExactArgs(2),
	}
	addJSONFlag(history, e)
	history.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			h, err := db.FindingHistory(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			if e.jsonOut {
				return json.NewEncoder(e.stdout).Encode(map[string]any{"items": h})
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tACTOR\tFROM\tTO\tNOTE")
			for _, ev := range h {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ev.At.Format(time.DateTime), ev.Actor, ev.From, ev.To, ev.Note)
			}
			return tw.Flush()
		})
	}
	exposure := &cobra.Command{
		Use:   "exposure",
		Short: "Rank services by the open findings beneath them (what fixing first protects)",
		Args:  cobra.NoArgs,
	}
	addJSONFlag(exposure, e)
	exposure.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			ex, err := vulns.New(db, e.log).Exposure(ctx)
			if err != nil {
				return err
			}
			if e.jsonOut {
				if ex == nil {
					ex = []vulns.ServiceExposure{}
				}
				return json.NewEncoder(e.stdout).Encode(map[string]any{"items": ex})
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tOWNER\tPEOPLE\tWORST\tKEV\tACT\tATTEND\tOVERDUE\tFINDINGS\tASSETS\tFIX FIRST")
			for _, x := range ex {
				first := ""
				if len(x.Top) > 0 {
					first = x.Top[0].VulnID + " on " + x.Top[0].AssetID
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", x.ID, x.Owner, x.Population, x.Worst, x.KEV, x.Act,
					x.Attend, x.Overdue, x.Findings, x.Assets, first)
			}
			return tw.Flush()
		})
	}
	cmd.AddCommand(matchCmd, list, show, explain, setStatus, accept, history, exposure)
	return cmd
}

func (e *env) updateFinding(asset, vuln string, c bulwark.FindingChange) error {
	return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
		f, err := db.UpdateFinding(ctx, asset, vuln, c)
		if err != nil {
			return err
		}
		if !e.quiet {
			fmt.Fprintf(e.stderr, "%s on %s is now %s\n", f.VulnID, f.AssetID, f.Status)
		}
		return nil
	})
}

// findingJSON is a finding in the API's shape.
func findingJSON(f *bulwark.Finding) any {
	return map[string]any{
		"asset_id": f.AssetID, "vuln_id": f.VulnID, "owner": f.Owner, "status": f.Status,
		"confidence": f.Confidence, "evidence": f.Evidence, "decision": f.Decision, "ssvc": f.Inputs,
		"due": f.Due, "first_seen": f.FirstSeen, "updated_at": f.UpdatedAt,
		"accepted_by": f.AcceptedBy, "accepted_reason": f.AcceptedReason, "accepted_until": f.AcceptedUntil,
	}
}

func newAdvisoriesCmd(e *env) *cobra.Command {
	var f vulns.AdvisoryFilter
	var format string
	cmd := &cobra.Command{
		Use:   "advisories",
		Short: "Write an actionable advisory per vulnerability and affected owner",
		Long: `Each advisory tells one owner which of its assets are exposed to one
vulnerability, which services are at risk through them, what to do (CISA's
required action, the vendor's remediations) and by when. Advisories about
devices or apps that residents operate carry a plain-language public notice.`,
		Example: "  bulwark advisories --owner water\n  bulwark advisories --cve CVE-2019-10929 --format json",
		Args:    cobra.NoArgs,
	}
	cmd.Flags().StringVar(&f.Owner, "owner", "", "only this organization")
	cmd.Flags().StringVar(&f.Vuln, "cve", "", "only this vulnerability")
	cmd.Flags().StringVar(&format, "format", "markdown", "markdown or json")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if format != "markdown" && format != "json" {
			return usageError{"--format must be markdown or json"}
		}
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			advs, err := vulns.New(db, e.log).Advisories(ctx, f)
			if err != nil {
				return err
			}
			if format == "json" {
				if advs == nil {
					advs = []vulns.Advisory{}
				}
				return json.NewEncoder(e.stdout).Encode(map[string]any{"items": advs})
			}
			if len(advs) == 0 && !e.quiet {
				fmt.Fprintln(e.stderr, "no open findings: nothing to advise")
			}
			parts := make([]string, len(advs))
			for i, a := range advs {
				parts[i] = a.Markdown()
			}
			_, err = io.WriteString(e.stdout, strings.Join(parts, "\n---\n\n"))
			return err
		})
	}
	return cmd
}

func newSBOMCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sbom",
		Short: "Attach CycloneDX SBOMs to assets and show them",
		Long: `An asset's SBOM (CycloneDX 1.4+, JSON or XML) lists the software and
hardware components it carries. Their CPE names and package URLs are matched
with the asset; VEX statements in the BOM that a vulnerability does not affect
the asset suppress that finding.`,
	}
	attach := &cobra.Command{
		Use:     "attach ASSET FILE",
		Short:   "Attach (or replace) an asset's SBOM and re-match",
		Example: "  bulwark sbom attach water.gw-001 gateway-fw-4.2.cdx.json",
		Args:    cobra.ExactArgs(2),
	}
	attach.RunE = func(cmd *cobra.Command, args []string) error {
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			svc := vulns.New(db, e.log)
			s, notes, err := svc.AttachSBOM(ctx, args[0], args[1], f)
			if err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintf(e.stderr, "  note: %s\n", n)
			}
			m, err := svc.Match(ctx, vulns.MatchOptions{})
			if err != nil {
				return err
			}
			if !e.quiet {
				fmt.Fprintf(e.stderr, "attached %s to %s: %d components, %d VEX not-affected statements; findings: %d new, %d closed\n",
					s.Document, s.AssetID, len(s.Components), len(s.NotAffected), m.Sync.New, m.Sync.Closed)
			}
			return nil
		})
	}
	show := &cobra.Command{
		Use:   "show ASSET",
		Short: "Show the components of an asset's SBOM",
		Args:  cobra.ExactArgs(1),
	}
	addJSONFlag(show, e)
	show.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			s, err := db.FindSBOM(ctx, args[0])
			if err != nil {
				return err
			}
			if e.jsonOut {
				return json.NewEncoder(e.stdout).Encode(s)
			}
			fmt.Fprintf(e.stdout, "%s: %s (CycloneDX %s, sha256 %.12s…, attached %s)\n", s.AssetID, s.Document, s.SpecVersion, s.Hash, day(s.AttachedAt))
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tNAME\tVERSION\tCPE\tPURL")
			for _, c := range s.Components {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Type, strings.TrimPrefix(c.Group+"/"+c.Name, "/"), c.Version, c.CPE, c.PURL)
			}
			return tw.Flush()
		})
	}
	cmd.AddCommand(attach, show)
	return cmd
}
