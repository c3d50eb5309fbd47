package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/app"
	"bulwark/internal/baseline"
	"bulwark/internal/citymodel"
	"bulwark/internal/demo"
	"bulwark/internal/depgraph"
	"bulwark/internal/feed"
	"bulwark/internal/generate"
	"bulwark/internal/incident"
	"bulwark/internal/notify"
	"bulwark/internal/risk"
	"bulwark/internal/sharing"
	"bulwark/internal/sqlstore"
	"bulwark/internal/training"
	"bulwark/internal/vulns"
)

func newServeCmd(e *env) *cobra.Command {
	var (
		addr      string
		secure    bool
		syncEvery time.Duration
		syncOpts  syncOptions
		recEvery  time.Duration
		tlsCert   string
		tlsKey    string
		notifyCfg notify.Settings
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web UI and the REST API",
		Long: `Serve runs the web UI (/), the REST/JSON API (/api/v1, described by
/api/v1/openapi.json) and the TAXII 2.1 server (/taxii2/) on --addr. Logs are
JSON on stderr. Serve HTTPS itself with --tls-cert and --tls-key (TLS 1.2 or
later, AEAD cipher suites only, as TAXII 2.1 asks), or put it behind a TLS
proxy and pass --secure-cookies.`,
		Example: "  bulwark serve --addr 127.0.0.1:8080",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewJSONHandler(e.stderr, nil))
			notifyCfg.SecretsFromEnv(os.Environ())
			m, err := app.Open(e.ctx, app.Config{DB: e.db, Addr: addr, SecureCookies: secure, TLSCert: tlsCert, TLSKey: tlsKey, Notify: notifyCfg, Log: log})
			if err != nil {
				return err
			}
			defer m.Close()
			url, err := m.Listen()
			if err != nil {
				return err
			}
			log.Info("serving", "url", url, "store", m.Store.Dialect())
			if syncEvery > 0 {
				s, err := newFeedSyncer(&syncOpts, m.Store, m.Vulns, log)
				if err != nil {
					return err
				}
				go s.Run(bulwark.WithPrincipal(e.ctx, bulwark.SystemPrincipal()), syncEvery)
				log.Info("feed sync scheduled", "every", syncEvery.String())
			}
			if recEvery > 0 {
				go m.Baselines.RunRecorder(e.ctx, recEvery)
			}
			// Accepted risks whose acceptance has expired are re-opened
			// (as a revision saying so) within the hour.
			go m.Risks.RunReopener(e.ctx, time.Hour)
			// Incident target clocks are checked every minute; each stage
			// escalates once, whichever instance sees it first.
			go m.Incidents.RunEscalator(e.ctx, time.Minute)
			// Notifications are delivered, retried and escalated; several
			// instances may share the work.
			if notifyCfg.Every > 0 {
				go m.Notify.Run(e.ctx, notifyCfg.Every)
			}
			return m.Serve(e.ctx)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().BoolVar(&secure, "secure-cookies", false, "mark session cookies Secure (when served over TLS)")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (TLS 1.2+, AEAD suites only; needs --tls-key)")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	cmd.Flags().DurationVar(&syncEvery, "feeds-sync-every", 0, "sync the vulnerability feeds at start and then at this interval (e.g. 6h; 0: never); takes the feeds sync flags")
	cmd.Flags().DurationVar(&recEvery, "readiness-every", 24*time.Hour, "record the readiness index when the last recording is this old (0: never)")
	syncOpts.addFlags(cmd)
	addNotifyFlags(cmd, &notifyCfg)
	return cmd
}

func newDemoCmd(e *env) *cobra.Command {
	var (
		addr    string
		noServe bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load the bundled demo city into a fresh database and serve the UI",
		Long: `Demo creates a fresh embedded database (in a temporary directory unless
--db is given), loads Port Halden — a bundled mid-size port city with its
services, systems and IoT fleets — prints a summary with the top single points
of failure, and serves the web UI with a printed login.`,
		Example: "  bulwark demo\n  bulwark demo --addr 127.0.0.1:9090",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := e.db
			if !cmd.Flags().Changed("db") && os.Getenv("BULWARK_DB") == "" {
				dir, err := os.MkdirTemp("", "bulwark-demo-")
				if err != nil {
					return fmt.Errorf("create demo directory: %w", err)
				}
				defer os.RemoveAll(dir)
				path = filepath.Join(dir, "demo.db")
			} else if !isPostgresURL(path) {
				if _, err := os.Stat(path); err == nil {
					return bulwark.Errorf(bulwark.ECONFLICT, "%s already exists: the demo needs a fresh database", path)
				}
			}
			st, err := sqlstore.Open(e.ctx, path, e.log)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := bulwark.WithPrincipal(e.ctx, bulwark.SystemPrincipal())
			login, err := loadDemo(ctx, e, st)
			if err != nil {
				return err
			}
			if noServe {
				return nil
			}
			m, err := app.New(app.Config{DB: path, Addr: addr, Log: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}, st)
			if err != nil {
				return err
			}
			url, err := m.Listen()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "\nOpen %s and log in as %s with password %s\nPress Ctrl+C to stop.\n", url, login.email, login.password)
			return m.Serve(e.ctx)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().BoolVar(&noServe, "no-serve", false, "load and summarize only; do not serve the UI")
	return cmd
}

type demoLogin struct{ email, password string }

// loadDemo imports the demo city through the same validating pipeline as
// "bulwark import", creates a login for the city's CISO office and prints
// a summary.
func loadDemo(ctx context.Context, e *env, st *sqlstore.DB) (demoLogin, error) {
	src := demo.CitySource()
	bar := e.newProgress(0, "loading demo city", true)
	res, err := citymodel.Import(ctx, st, []citymodel.Source{src}, citymodel.ImportOptions{Progress: bar.Set})
	bar.Done()
	if err != nil {
		return demoLogin{}, fmt.Errorf("load demo city: %w", err)
	}
	org, err := demoHomeOrg(ctx, st)
	if err != nil {
		return demoLogin{}, err
	}
	login := demoLogin{email: "ciso@" + org + ".example.org", password: "demo-" + randomWord()}
	ua := &userAdd{org: org, email: login.email, name: "Demo CISO", role: bulwark.RoleAdmin}
	e2 := *e
	e2.stdout = io.Discard
	e2.stdin = strings.NewReader(login.password + "\n")
	ua.passwordStdin = true
	if err := ua.run(ctx, &e2, st); err != nil {
		return demoLogin{}, err
	}

	data, err := st.LoadGraph(ctx)
	if err != nil {
		return demoLogin{}, err
	}
	g, err := depgraph.Compile(data)
	if err != nil {
		return demoLogin{}, err
	}
	rep := depgraph.Analyze(g).Report(5)
	fmt.Fprintf(e.stdout, "Port Halden demo city loaded: %d organizations, %d services, %d systems, %d assets, %d dependencies\n",
		res.Organizations, res.Services, res.Systems, res.Assets, res.Dependencies)
	fmt.Fprintln(e.stdout, "\nTop single points of failure (services each would take down; their populations served, summed):")
	for _, n := range rep.Nodes {
		fmt.Fprintf(e.stdout, "  %d. %-8s %-32s %2d services, %d served\n", n.Rank, n.Kind, n.ID, len(n.ServicesLost), n.PopulationLost)
	}

	// The bundled feed snapshot (NVD records naming the demo's products,
	// KEV, CISA advisories) makes real findings.
	svc := vulns.New(st, e.log)
	docs, err := svc.ImportFS(ctx, generate.DemoFeeds(), feed.Options{})
	if err != nil {
		return demoLogin{}, fmt.Errorf("load demo feeds: %w", err)
	}
	records := 0
	for _, d := range docs {
		records += d.Records
		if d.Error != "" {
			return demoLogin{}, fmt.Errorf("load demo feed %s: %s", d.Name, d.Error)
		}
	}
	m, err := svc.Match(ctx, vulns.MatchOptions{})
	if err != nil {
		return demoLogin{}, fmt.Errorf("match demo city: %w", err)
	}
	counts := map[bulwark.SSVCDecision]int{}
	kev := 0
	opt := bulwark.FindingFilter{Open: true, Limit: bulwark.MaxPageSize}
	for {
		p, err := st.ListFindings(ctx, opt)
		if err != nil {
			return demoLogin{}, err
		}
		for _, f := range p.Items {
			counts[f.Decision]++
			if f.Inputs.Exploitation == "active" {
				kev++
			}
		}
		if p.Next == "" {
			break
		}
		opt.After = p.Next
	}
	fmt.Fprintf(e.stdout, "\nVulnerability feeds: %d records from %d bundled documents; %d findings on the demo's assets (matched in %s)\n",
		records, len(docs), m.Matches, m.Took.Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "  SSVC: %d Act, %d Attend, %d Track*, %d Track; %d actively exploited (KEV)\n",
		counts[bulwark.SSVCAct], counts[bulwark.SSVCAttend], counts[bulwark.SSVCTrackStar], counts[bulwark.SSVCTrack], kev)

	// A small risk register for the pages to show.
	if err := demo.SeedRisks(ctx, st, risk.New(st, e.log)); err != nil {
		return demoLogin{}, fmt.Errorf("demo risks: %w", err)
	}

	// A year of training campaigns, completions and phishing simulations.
	if err := demo.SeedTraining(ctx, st, training.New(st, e.log), time.Now().UTC()); err != nil {
		return demoLogin{}, fmt.Errorf("demo training: %w", err)
	}

	// A year of self-assessments against CSF 2.0, the city's minimum
	// baseline and the monthly readiness index.
	bs := baseline.New(st, e.log)
	if err := demo.SeedBaselines(ctx, st, bs, org, time.Now().UTC()); err != nil {
		return demoLogin{}, err
	}
	city, _, err := bs.Readiness(ctx)
	if err != nil {
		return demoLogin{}, err
	}
	hist, err := bs.History(ctx, "", 2)
	if err != nil {
		return demoLogin{}, err
	}
	fmt.Fprintf(e.stdout, "\nBaselines: a year of CSF 2.0 self-assessments; readiness index %.1f / 100", city.Index)
	if len(hist) > 0 {
		fmt.Fprintf(e.stdout, " (%+.1f since %s)", city.Index-hist[len(hist)-1].Index, hist[len(hist)-1].At.Format("January 2"))
	}
	fmt.Fprintln(e.stdout)

	// Three incidents at different points of their response, and the
	// intelligence the city shares with its partners.
	if err := demo.SeedIncidents(ctx, st, incident.New(st, bs, e.log), time.Now().UTC()); err != nil {
		return demoLogin{}, fmt.Errorf("demo incidents: %w", err)
	}
	sh := sharing.New(st, e.log)
	err = demo.SeedIntel(ctx, st, sh, time.Now().UTC())
	if cerr := sh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return demoLogin{}, fmt.Errorf("demo intel: %w", err)
	}
	fmt.Fprintln(e.stdout, "Incidents: 3 demo incidents; shared intel: one community collection with TLP:GREEN, AMBER and AMBER+STRICT objects")
	return login, nil
}

// demoHomeOrg picks the organization most others share their model with:
// the city's own security office, which sees the whole city.
func demoHomeOrg(ctx context.Context, st bulwark.CityStore) (string, error) {
	page, err := st.ListOrganizations(ctx, bulwark.ListOptions{Limit: bulwark.MaxPageSize})
	if err != nil {
		return "", err
	}
	counts := map[string]int{}
	for _, o := range page.Items {
		for _, to := range o.SharesWith {
			counts[to]++
		}
	}
	if len(page.Items) == 0 {
		return "", bulwark.Errorf(bulwark.EINTERNAL, "demo city has no organizations")
	}
	ids := make([]string, 0, len(page.Items))
	for _, o := range page.Items {
		ids = append(ids, o.ID)
	}
	sort.SliceStable(ids, func(i, j int) bool { return counts[ids[i]] > counts[ids[j]] })
	return ids[0], nil
}
