package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/oscal"
	"bulwark/internal/report"
	"bulwark/internal/sqlstore"
)

// withBaselines opens the store and the baselines service over it.
func (e *env) withBaselines(fn func(ctx context.Context, db *sqlstore.DB, bs *baseline.Service) error) error {
	return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
		return fn(ctx, db, baseline.New(db, e.log))
	})
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newCatalogCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Control catalogs: NIST CSF 2.0, CISA CPG 2.0 and imported OSCAL catalogs",
		Long: `Catalogs are the frameworks organizations are assessed against. NIST's
Cybersecurity Framework 2.0 (csf-2.0) and CISA's Cross-Sector Cybersecurity
Performance Goals 2.0 (cpg-2.0) are bundled; any catalog in NIST OSCAL JSON
(for example SP 800-53 rev5, or a state's own framework) can be imported.`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the catalogs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBaselines(func(ctx context.Context, _ *sqlstore.DB, bs *baseline.Service) error {
				list, err := bs.Catalogs(ctx)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(list)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tCONTROLS\tBUILT IN\tTITLE")
				for _, c := range list {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%s\n", c.ID, c.Kind, c.Assessable, c.Builtin, c.Title)
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(list, e)
	show := &cobra.Command{
		Use:     "show ID",
		Short:   "Show a catalog's controls",
		Example: "  bulwark catalog show csf-2.0\n  bulwark catalog show cpg-2.0 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBaselines(func(ctx context.Context, _ *sqlstore.DB, bs *baseline.Service) error {
				c, err := bs.Catalog(ctx, args[0])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(c)
				}
				fmt.Fprintf(e.stdout, "%s — %s %s (%s)\n%s\n\n", c.ID, c.Title, c.Version, c.Kind, c.Source)
				for _, x := range c.Controls {
					indent := map[string]string{"category": "  ", "subcategory": "    ", "control": "  "}[x.Class]
					text := x.Title
					if (text == "" || text == x.ID) && x.Statement != "" {
						text = x.Statement
					}
					line := fmt.Sprintf("%s%s  %s", indent, x.ID, oneLine(text, 110))
					if len(x.MapsTo) > 0 {
						line += "  → " + strings.Join(x.MapsTo, " ")
					}
					fmt.Fprintln(e.stdout, line)
				}
				return nil
			})
		},
	}
	addJSONFlag(show, e)
	var id string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a catalog in NIST OSCAL JSON",
		Long: `Import reads an OSCAL 1.x catalog (JSON) and stores it for assessments.
A malformed catalog is refused with the JSON path of each problem and
nothing is stored. Importing a catalog with the same ID replaces it.`,
		Example: "  bulwark catalog import NIST_SP-800-53_rev5_catalog.json --id sp800-53r5",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			c, err := oscal.ReadCatalog(bufio.NewReader(f), filepath.Base(args[0]))
			if err != nil {
				return err
			}
			if id != "" {
				c.ID = id
			}
			return e.withBaselines(func(ctx context.Context, _ *sqlstore.DB, bs *baseline.Service) error {
				if err := bs.ImportCatalog(ctx, c); err != nil {
					return err
				}
				n := 0
				for _, x := range c.Controls {
					if x.Assessable {
						n++
					}
				}
				fmt.Fprintf(e.stdout, "imported catalog %s (%s): %d controls to assess\n", c.ID, c.Title, n)
				return nil
			})
		},
	}
	imp.Flags().StringVar(&id, "id", "", "catalog ID to store it under (default: derived from the file name)")
	cmd.AddCommand(list, show, imp)
	return cmd
}

// oneLine shortens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func newAssessCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assess",
		Short: "Assess organizations, services and systems against a catalog",
		Long: `An assessment records, per control of a catalog, how far it is implemented
(not_implemented, partial, implemented, not_applicable), for CSF the current
and target implementation tier (1 partial … 4 adaptive), notes and evidence.
Every change is a new revision; history is never overwritten, and a change
made from a stale revision is refused.`,
	}
	var catalogID, org, service, system, title string
	create := &cobra.Command{
		Use:     "new",
		Short:   "Start an assessment",
		Example: "  bulwark assess new --catalog csf-2.0 --org city-water\n  bulwark assess new --catalog cpg-2.0 --system water-scada",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a := &bulwark.Assessment{Catalog: catalogID, Title: title}
			switch {
			case org != "" && service == "" && system == "":
				a.ScopeKind, a.Scope = bulwark.ScopeOrganization, org
			case service != "" && org == "" && system == "":
				a.ScopeKind, a.Scope = "service", service
			case system != "" && org == "" && service == "":
				a.ScopeKind, a.Scope = "system", system
			default:
				return usageError{"give exactly one of --org, --service or --system"}
			}
			return e.withBaselines(func(ctx context.Context, _ *sqlstore.DB, bs *baseline.Service) error {
				if err := bs.CreateAssessment(ctx, a); err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(a)
				}
				fmt.Fprintln(e.stdout, a.ID)
				return nil
			})
		},
	}
	create.Flags().StringVar(&catalogID, "catalog", baseline.CSFCatalog, "catalog to assess against")
	create.Flags().StringVar(&org, "org", "", "assess this organization")
	create.Flags().StringVar(&service, "service", "", "assess this service")
	create.Flags().StringVar(&system, "system", "", "assess this system")
	create.Flags().StringVar(&title, "title", "", "a title, e.g. \"2026 self-assessment\"")
	addJSONFlag(create, e)

	var fOrg, fCatalog string
	list := &cobra.Command{
		Use:   "list",
		Short: "List assessments",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				list, err := db.ListAssessments(ctx, bulwark.AssessmentFilter{Owner: fOrg, Catalog: fCatalog})
				if err != nil {
					return err
				}
				if e.jsonOut {
					if list == nil {
						list = []bulwark.AssessmentSummary{}
					}
					return e.printJSON(list)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tOWNER\tSCOPE\tCATALOG\tASSESSED\tUPDATED\tTITLE")
				for _, a := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%d\t%s\t%s\n", a.ID, a.Owner, a.ScopeKind, a.Scope, a.Catalog, a.Assessed,
						a.UpdatedAt.Format("2006-01-02 15:04"), a.Title)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&fOrg, "org", "", "only this organization's")
	list.Flags().StringVar(&fCatalog, "catalog", "", "only against this catalog")
	addJSONFlag(list, e)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an assessment: coverage per CSF function and every control's result",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBaselines(func(ctx context.Context, db *sqlstore.DB, bs *baseline.Service) error {
				a, err := db.FindAssessment(ctx, args[0])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(a)
				}
				c, err := bs.Catalog(ctx, a.Catalog)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s: %s %s against %s, updated %s\n", a.ID, a.ScopeKind, a.Scope, c.ID, a.UpdatedAt.Format("2006-01-02 15:04"))
				if c.Kind == "csf" {
					for _, f := range baseline.Coverage(c, a) {
						fmt.Fprintf(e.stdout, "  %s %3.0f%% (%d of %d assessed)\n", f.Function, 100*f.Share(), f.Assessed, f.Total)
					}
				}
				res := map[string]bulwark.ControlResult{}
				for _, r := range a.Results {
					res[r.Control] = r
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CONTROL\tSTATUS\tTIER\tREV\tBY\tTEXT")
				for _, x := range c.Controls {
					if !x.Assessable {
						continue
					}
					r := res[x.ID]
					status, tier := "-", ""
					if r.Status != "" {
						status = string(r.Status)
					}
					if r.CurrentTier > 0 || r.TargetTier > 0 {
						tier = fmt.Sprintf("%d/%d", r.CurrentTier, r.TargetTier)
					}
					text := x.Title
					if (text == "" || text == x.ID) && x.Statement != "" {
						text = x.Statement
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", x.ID, status, tier, r.Rev, r.Assessor, oneLine(text, 70))
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(show, e)

	var status, notes string
	var tier, target, baseRev int
	var links, files []string
	set := &cobra.Command{
		Use:   "set ID CONTROL",
		Short: "Record a control's result (a new revision)",
		Long: `Set records a new revision of one control's result. Evidence: --link URL
(repeatable), --file PATH (Bulwark keeps the file's name, size and SHA-256,
not the file). --base-rev is the revision you edited (default: the current
one); a change from an older revision is refused, naming who changed it.`,
		Example: "  bulwark assess set asm-1a2b… GV.OC-01 --status partial --tier 2 --target 3 --link https://intranet/plan",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := bulwark.ResultChange{Control: args[1], Status: bulwark.ImplStatus(status), CurrentTier: tier, TargetTier: target, Notes: notes}
			for _, l := range links {
				c.Evidence = append(c.Evidence, bulwark.Evidence{Kind: "link", Title: l, URL: l})
			}
			for _, p := range files {
				ev, err := fileEvidence(p)
				if err != nil {
					return err
				}
				c.Evidence = append(c.Evidence, ev)
			}
			return e.withBaselines(func(ctx context.Context, db *sqlstore.DB, bs *baseline.Service) error {
				c.BaseRev = baseRev
				if !cmd.Flags().Changed("base-rev") {
					h, err := db.ResultHistory(ctx, args[0], args[1])
					if err != nil {
						return err
					}
					c.BaseRev = len(h)
				}
				r, err := bs.SetResult(ctx, args[0], c)
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(r)
				}
				fmt.Fprintf(e.stdout, "%s rev %d: %s\n", r.Control, r.Rev, r.Status)
				return nil
			})
		},
	}
	set.Flags().StringVar(&status, "status", "", "not_implemented, partial, implemented or not_applicable")
	set.Flags().IntVar(&tier, "tier", 0, "current CSF implementation tier (1-4)")
	set.Flags().IntVar(&target, "target", 0, "target CSF implementation tier (1-4)")
	set.Flags().StringVar(&notes, "notes", "", "notes")
	set.Flags().StringArrayVar(&links, "link", nil, "evidence link (repeatable)")
	set.Flags().StringArrayVar(&files, "file", nil, "evidence file to hash (repeatable)")
	set.Flags().IntVar(&baseRev, "base-rev", 0, "the revision this change is based on (default: current)")
	addJSONFlag(set, e)

	history := &cobra.Command{
		Use:   "history ID CONTROL",
		Short: "Every revision of a control's result",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				h, err := db.ResultHistory(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				if e.jsonOut {
					if h == nil {
						h = []bulwark.ControlResult{}
					}
					return e.printJSON(h)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "REV\tAT\tBY\tSTATUS\tTIER\tEVIDENCE\tNOTES")
				for _, r := range h {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%d\t%s\n", r.Rev, r.At.Format("2006-01-02 15:04"), r.Assessor, r.Status,
						r.CurrentTier, r.TargetTier, len(r.Evidence), oneLine(r.Notes, 50))
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(history, e)

	var format, out string
	export := &cobra.Command{
		Use:   "export ID...",
		Short: "Export assessments as OSCAL assessment results (JSON) or CSV",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "oscal" && format != "csv" {
				return usageError{fmt.Sprintf("unknown --format %q: use oscal or csv", format)}
			}
			return e.withBaselines(func(ctx context.Context, db *sqlstore.DB, bs *baseline.Service) error {
				var as []*bulwark.Assessment
				var cats []*bulwark.Catalog
				seen := map[string]bool{}
				for _, id := range args {
					a, err := db.FindAssessment(ctx, id)
					if err != nil {
						return err
					}
					as = append(as, a)
					if !seen[a.Catalog] {
						seen[a.Catalog] = true
						c, err := bs.Catalog(ctx, a.Catalog)
						if err != nil {
							return err
						}
						cats = append(cats, c)
					}
				}
				return e.writeOut(out, func(w io.Writer) error {
					if format == "csv" {
						return oscal.WriteResultsCSV(w, as, cats)
					}
					return oscal.WriteAssessmentResults(w, oscal.AssessmentResults{Assessments: as, Catalogs: cats})
				})
			})
		},
	}
	export.Flags().StringVar(&format, "format", "oscal", "oscal (OSCAL 1.1 assessment results JSON) or csv")
	export.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	cmd.AddCommand(create, list, show, set, history, export)
	return cmd
}

// fileEvidence hashes a file for evidence.
func fileEvidence(path string) (bulwark.Evidence, error) {
	f, err := os.Open(path)
	if err != nil {
		return bulwark.Evidence{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return bulwark.Evidence{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return bulwark.Evidence{Kind: "file", Title: filepath.Base(path), SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// writeOut writes to path ("" or "-": standard output) through a temporary
// file renamed into place, so that a failed write leaves no half file.
func (e *env) writeOut(path string, fn func(w io.Writer) error) error {
	if path == "" || path == "-" {
		return fn(e.stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bulwark-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	if err := fn(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Reports and exports are documents to share, not secrets: the usual
	// file mode rather than CreateTemp's owner-only one.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func newProfileCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Minimum baseline profiles and who meets them",
		Long: `A profile is a minimum baseline the city publishes, e.g. "every organization
that supports a FIPS 199 high service must meet these CPGs". A CPG goal an
organization has not assessed directly is judged from its CSF 2.0 results
through the goal's mapping.`,
	}
	put := &cobra.Command{
		Use:   "put FILE",
		Short: "Publish (or replace) a profile from a YAML or JSON file",
		Example: `  bulwark profile put min.yaml    # with:
    id: city-minimum
    name: City minimum baseline
    catalog: cpg-2.0
    applies_to: high          # all, low, moderate or high
    requirements:
      - {control: 1.A, min_status: implemented}
      - {control: 2.B, min_status: partial}`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			p, err := baseline.ParseProfile(f, args[0])
			if err != nil {
				return err
			}
			return e.withBaselines(func(ctx context.Context, db *sqlstore.DB, bs *baseline.Service) error {
				if p.Owner, err = cityOrg(ctx, db); err != nil {
					return err
				}
				if err := bs.PutProfile(ctx, p); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "published profile %s: %d requirements of %s for %s\n", p.ID, len(p.Requirements), p.Catalog, p.AppliesTo)
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List profiles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				ps, err := db.ListProfiles(ctx)
				if err != nil {
					return err
				}
				if e.jsonOut {
					if ps == nil {
						ps = []bulwark.Profile{}
					}
					return e.printJSON(ps)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tOWNER\tCATALOG\tAPPLIES TO\tREQUIREMENTS\tNAME")
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.ID, p.Owner, p.Catalog, p.AppliesTo, len(p.Requirements), p.Name)
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(list, e)
	compliance := &cobra.Command{
		Use:   "compliance ID",
		Short: "Who meets a profile: organizations × requirements",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBaselines(func(ctx context.Context, _ *sqlstore.DB, bs *baseline.Service) error {
				res, err := bs.Compliance(ctx, args[0])
				if err != nil {
					return err
				}
				if e.jsonOut {
					return e.printJSON(res)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 1, ' ', 0)
				head := "ORGANIZATION\tMEETS"
				for _, r := range res.Profile.Requirements {
					head += "\t" + r.Control
				}
				fmt.Fprintln(tw, head)
				for _, row := range res.Rows {
					line := fmt.Sprintf("%s\t%d/%d", row.Org, row.Met, len(row.Cells))
					for _, c := range row.Cells {
						mark := "✗"
						if c.Met {
							mark = "✓"
						} else if c.Status == bulwark.StatusNotAssessed {
							mark = "?"
						}
						if c.Derived {
							mark += "*"
						}
						line += "\t" + mark
					}
					fmt.Fprintln(tw, line)
				}
				tw.Flush()
				fmt.Fprintf(e.stdout, "%d of %d organizations meet %s (✓ met, ✗ not met, ? not assessed, * derived from CSF results)\n",
					res.Meeting(), len(res.Rows), res.Profile.ID)
				return nil
			})
		},
	}
	addJSONFlag(compliance, e)
	cmd.AddCommand(put, list, compliance)
	return cmd
}

// cityOrg names the first city-purview organization: profiles published
// from the CLI (the local operator) belong to the city.
func cityOrg(ctx context.Context, db *sqlstore.DB) (string, error) {
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := db.ListOrganizations(ctx, opt)
		if err != nil {
			return "", err
		}
		for _, o := range p.Items {
			if o.Purview == bulwark.PurviewCity {
				return o.ID, nil
			}
		}
		if p.Next == "" {
			return "", bulwark.Errorf(bulwark.EINVALID, "no city organization to publish the profile: import the city model first")
		}
		opt.After = p.Next
	}
}

func newGapsCmd(e *env) *cobra.Command {
	var org string
	var limit int
	cmd := &cobra.Command{
		Use:   "gaps",
		Short: "Gaps ranked by risk, with why each ranks where it does",
		Long: `Gaps are controls short of implemented (or of their target tier), ranked by
size × FIPS 199 impact of what the assessed scope supports × reach (people
its worst single failure affects) × CISA's impact rating of the goal ×
open findings the control would reduce.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBaselines(func(ctx context.Context, _ *sqlstore.DB, bs *baseline.Service) error {
				gaps, err := bs.Gaps(ctx, baseline.GapFilter{Org: org, Limit: limit})
				if err != nil {
					return err
				}
				if e.jsonOut {
					if gaps == nil {
						gaps = []baseline.Gap{}
					}
					return e.printJSON(gaps)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SCORE\tORG\tSCOPE\tCONTROL\tSTATUS\tWHY")
				for _, g := range gaps {
					st := string(g.Status)
					if st == "" {
						st = "not assessed"
					}
					fmt.Fprintf(tw, "%.2f\t%s\t%s %s\t%s\t%s\t%s\n", g.Score, g.Org, g.ScopeKind, g.Scope, g.Control, st, g.Why)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "only this organization's gaps")
	cmd.Flags().IntVar(&limit, "limit", 25, "how many")
	addJSONFlag(cmd, e)
	return cmd
}

func newReadinessCmd(e *env) *cobra.Command {
	var record bool
	var org string
	cmd := &cobra.Command{
		Use:   "readiness",
		Short: "The readiness index and its indicators, computed from the data now",
		Long: `Readiness computes every indicator from real data (with its formula), and
the readiness index (0-100): the weighted mean of the measured indicators.
An indicator without data is "not measured", never zero. --record appends
the city's and every organization's index to the history the trend charts
and reports use (run it daily, e.g. from cron, or let "bulwark serve"
record it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBaselines(func(ctx context.Context, _ *sqlstore.DB, bs *baseline.Service) error {
				var city bulwark.IndexSnapshot
				var orgs []bulwark.IndexSnapshot
				var err error
				if record {
					if city, err = bs.Record(ctx); err != nil {
						return err
					}
				}
				if city, orgs, err = bs.Readiness(ctx); err != nil {
					return err
				}
				snap := city
				if org != "" {
					found := false
					for _, o := range orgs {
						if o.Org == org {
							snap, found = o, true
						}
					}
					if !found {
						return bulwark.Errorf(bulwark.ENOTFOUND, "organization %q not found", org)
					}
				}
				if e.jsonOut {
					return e.printJSON(snap)
				}
				if snap.Index < 0 {
					fmt.Fprintln(e.stdout, "Readiness index: not measured (no indicator has data yet)")
				} else {
					fmt.Fprintf(e.stdout, "Readiness index: %.1f / 100\n", snap.Index)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "INDICATOR\tVALUE\tWEIGHT\tDETAIL")
				for _, v := range snap.Indicators {
					in, _ := baseline.IndicatorByID(v.ID)
					fmt.Fprintf(tw, "%s\t%s\t%g\t%s\n", in.Name, baseline.FormatIndicator(v), v.Weight, v.Detail)
				}
				tw.Flush()
				if record && !e.quiet {
					fmt.Fprintf(e.stderr, "recorded the index of the city and %d organizations\n", len(orgs))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&record, "record", false, "append this computation to the history")
	cmd.Flags().StringVar(&org, "org", "", "one organization's index instead of the city's")
	addJSONFlag(cmd, e)
	return cmd
}

func newReportCmd(e *env) *cobra.Command {
	var format, out, org, city string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the council report on the city's posture (HTML or PDF)",
		Long: `Report writes a report a city council can read: the readiness index and its
trend, what drove the latest change, every indicator with its formula, CSF
coverage per function, baseline compliance, the top gaps, the exposure of
critical services and overdue actions, with charts. HTML is one
self-contained file; PDF is generated by Bulwark itself.`,
		Example: "  bulwark report --format pdf -o council-2026-11.pdf --city \"Port Halden\"\n  bulwark report --org city-water -o water.html",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				format = "html"
				if strings.HasSuffix(strings.ToLower(out), ".pdf") {
					format = "pdf"
				}
			}
			if format != "html" && format != "pdf" {
				return usageError{fmt.Sprintf("unknown --format %q: use html or pdf", format)}
			}
			if format == "pdf" && out == "" {
				return usageError{"a PDF needs --output FILE"}
			}
			return e.withBaselines(func(ctx context.Context, _ *sqlstore.DB, bs *baseline.Service) error {
				r, err := bs.Report(ctx, baseline.ReportOptions{Org: org, City: city})
				if err != nil {
					return err
				}
				err = e.writeOut(out, func(w io.Writer) error {
					if format == "pdf" {
						return report.WritePDF(w, r)
					}
					return report.WriteHTML(w, r)
				})
				if err == nil && out != "" && !e.quiet {
					fmt.Fprintf(e.stderr, "wrote %s\n", out)
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "html or pdf (default: from the file name, else html)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default: standard output, HTML only)")
	cmd.Flags().StringVar(&org, "org", "", "report on one organization instead of the city")
	cmd.Flags().StringVar(&city, "city", "", "the city's name for the title")
	return cmd
}
