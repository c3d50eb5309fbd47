package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/feed"
	"bulwark/internal/feedsync"
	"bulwark/internal/sqlstore"
	"bulwark/internal/vulns"
)

// nvdKeyEnv names the environment variable holding the NVD API key.
const nvdKeyEnv = "BULWARK_NVD_API_KEY"

// syncOptions are the flags of `feeds sync`. The scheduled sync of
// `bulwark serve` takes the same (see addFlags and config).
type syncOptions struct {
	sources       string
	since         string
	apiKeyFile    string
	providers     []string
	maxAdvisories int
	allowHTTP     bool
	retries       int
	timeout       time.Duration
	nvdURL        string
	kevURL        string
	epssURL       string
}

// addFlags adds the sync flags to cmd.
func (o *syncOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.sources, "source", "", "sources to sync, comma-separated: nvd, kev, epss, csaf (default: nvd, kev, epss, and csaf when --csaf-provider is given)")
	f.StringVar(&o.since, "since", "", "start of the first sync: NVD records modified and CSAF advisories updated since DATE (YYYY-MM-DD or RFC 3339)")
	f.StringVar(&o.apiKeyFile, "nvd-api-key-file", "", "file holding an NVD API key (or set "+nvdKeyEnv+"); raises the NVD rate limit tenfold")
	f.StringArrayVar(&o.providers, "csaf-provider", nil, "a CSAF provider-metadata.json (or ROLIE feed) URL; repeatable")
	f.IntVar(&o.maxAdvisories, "max-advisories", feedsync.DefaultMaxAdvisories, "most CSAF advisories fetched in one sync")
	f.BoolVar(&o.allowHTTP, "allow-http", false, "allow plain http addresses (a local mirror); never use over an untrusted network")
	f.IntVar(&o.retries, "retries", feedsync.DefaultMaxRetries, "retries of a request that failed for a transient reason (0: none)")
	f.DurationVar(&o.timeout, "timeout", feedsync.DefaultRequestTimeout, "time allowed for one request, body included")
	f.StringVar(&o.nvdURL, "nvd-url", feedsync.DefaultNVDURL, "NVD CVE API 2.0 address (a mirror)")
	f.StringVar(&o.kevURL, "kev-url", feedsync.DefaultKEVURL, "CISA KEV catalog JSON address")
	f.StringVar(&o.epssURL, "epss-url", feedsync.DefaultEPSSURL, "FIRST EPSS scores CSV (gzip) address")
}

// parseSince reads a date or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, usageError{fmt.Sprintf("--since %q: want a date YYYY-MM-DD or an RFC 3339 time", s)}
}

// nvdAPIKey reads the key from --nvd-api-key-file, else the environment.
func (o *syncOptions) nvdAPIKey() (string, error) {
	if o.apiKeyFile == "" {
		return strings.TrimSpace(os.Getenv(nvdKeyEnv)), nil
	}
	b, err := os.ReadFile(o.apiKeyFile)
	if err != nil {
		return "", fmt.Errorf("read the NVD API key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" || strings.ContainsAny(key, "\r\n") {
		return "", usageError{fmt.Sprintf("--nvd-api-key-file %s: want one line holding the key", o.apiKeyFile)}
	}
	return key, nil
}

// config builds a feedsync.Config importing through svc into st. When
// rematch is set, the changed vulnerabilities are re-matched at the end of
// each sync, and the last match result is stored in *lastMatch.
func (o *syncOptions) config(st feedsync.FeedSourcer, svc *vulns.Service, log *slog.Logger, rematch bool, lastMatch *vulns.MatchResult) (feedsync.Config, error) {
	cfg := feedsync.Config{
		Import:         syncImporter(svc),
		LastModified:   feedsync.StoreLastModified(st),
		CSAFProviders:  o.providers,
		MaxAdvisories:  o.maxAdvisories,
		AllowHTTP:      o.allowHTTP,
		MaxRetries:     o.retries,
		RequestTimeout: o.timeout,
		NVDURL:         o.nvdURL,
		KEVURL:         o.kevURL,
		EPSSURL:        o.epssURL,
		Log:            log,
	}
	if o.retries == 0 {
		cfg.MaxRetries = -1 // feedsync reads 0 as its default
	}
	if o.sources != "" {
		srcs, err := feedsync.ParseSources(o.sources)
		if err != nil {
			return cfg, usageError{bulwark.ErrorMessage(err)}
		}
		cfg.Sources = srcs
	}
	if o.since != "" {
		t, err := parseSince(o.since)
		if err != nil {
			return cfg, err
		}
		cfg.Since = t
	}
	key, err := o.nvdAPIKey()
	if err != nil {
		return cfg, err
	}
	cfg.NVDAPIKey = key
	if rematch {
		cfg.Match = func(ctx context.Context, ids []string) error {
			m, err := svc.Match(ctx, vulns.MatchOptions{Vulns: ids})
			if lastMatch != nil {
				*lastMatch = m
			}
			return err
		}
	}
	return cfg, nil
}

// syncImporter imports fetched documents through the vulnerability
// service, each in its own transaction, like `feeds import` does files.
func syncImporter(svc *vulns.Service) feedsync.Importer {
	return func(ctx context.Context, name string, r io.Reader) (feedsync.Imported, error) {
		res, err := svc.ImportReader(ctx, name, r, feed.Options{})
		return feedsync.Imported{Format: res.Format, Records: res.Records, Stats: res.Stats,
			Problems: append(res.Details, res.Problems...), Changed: res.Changed}, err
	}
}

// newFeedSyncer builds the Syncer `bulwark serve` runs on a schedule:
//
//	s, err := newFeedSyncer(&opts, db, svc, log)
//	go s.Run(bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal()), every)
//
// Run needs a context acting as the System principal, since the importer
// and the matcher check who calls them.
func newFeedSyncer(o *syncOptions, st feedsync.FeedSourcer, svc *vulns.Service, log *slog.Logger) (*feedsync.Syncer, error) {
	cfg, err := o.config(st, svc, log, true, nil)
	if err != nil {
		return nil, err
	}
	// A restarted server continues from the store, not from --since.
	cfg.SinceIfEmpty = true
	return feedsync.New(cfg)
}

func newFeedsSyncCmd(e *env) *cobra.Command {
	var o syncOptions
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fetch what changed in the feeds from their publishers and import it",
		Long: `Sync downloads the feeds over HTTPS and imports them like 'feeds import':
the NVD CVE API 2.0 (CVEs modified since the newest NVD API record stored, or
--since on a first sync, in windows of 120 days and pages of 2000), CISA's KEV
catalog and FIRST's EPSS scores (fetched again only when changed), and the
advisories of CSAF providers (through their provider-metadata.json and ROLIE
feeds, each checked against its published SHA-512 or SHA-256). The
vulnerabilities that changed are then matched against the inventory.

Syncing is optional: without network access, download the files elsewhere and
use 'feeds import'. A full NVD download is a bulk job: import the yearly files
or a mirror, then sync from their date.

Transient failures are retried with backoff (honouring Retry-After); a source
that fails does not stop the others. Without an API key the NVD allows 5
requests per 30 seconds, which the sync respects; with one, 50.`,
		Example: `  bulwark feeds sync --source kev,epss
  bulwark feeds sync --since 2026-10-01 --nvd-api-key-file ~/.config/bulwark/nvd-key
  bulwark feeds sync --source csaf --csaf-provider https://example.com/.well-known/csaf/provider-metadata.json --json`,
		Args: cobra.NoArgs,
	}
	o.addFlags(cmd)
	noMatch := cmd.Flags().Bool("no-match", false, "do not re-match the changed vulnerabilities")
	addJSONFlag(cmd, e)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
			svc := vulns.New(db, e.log)
			var mres vulns.MatchResult
			cfg, err := o.config(db, svc, e.log, !*noMatch, &mres)
			if err != nil {
				return err
			}
			if !e.quiet {
				cfg.OnDocument = func(src feedsync.Source, name string, im feedsync.Imported, err error) {
					if err != nil {
						fmt.Fprintf(e.stderr, "%s: %s: rejected: %s\n", src, name, bulwark.ErrorMessage(err))
						return
					}
					fmt.Fprintf(e.stderr, "%s: %s: %d records (%d new, %d updated)\n", src, name, im.Records, im.Stats.Created, im.Stats.Updated)
				}
			}
			s, err := feedsync.New(cfg)
			if err != nil {
				if bulwark.ErrorCode(err) == bulwark.EINVALID {
					return usageError{bulwark.ErrorMessage(err)}
				}
				return err
			}
			res, syncErr := s.Sync(ctx)
			if ctx.Err() != nil {
				return syncErr
			}
			if e.jsonOut {
				out := map[string]any{"sources": res.Sources, "changed": len(res.Changed)}
				if res.Matched > 0 {
					out["match"] = mres
				}
				if err := json.NewEncoder(e.stdout).Encode(out); err != nil {
					return err
				}
				return syncErr
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SOURCE\tDOCUMENTS\tRECORDS\tNEW\tUPDATED\tUNCHANGED\tPROBLEMS\tRESULT")
			for _, sr := range res.Sources {
				result := "ok"
				switch {
				case sr.Error != "":
					result = "failed"
				case sr.NotModified:
					result = "not modified"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", sr.Source, sr.Documents, sr.Records, sr.New, sr.Updated, sr.Unchanged, len(sr.Problems), result)
			}
			tw.Flush()
			for _, sr := range res.Sources {
				for _, p := range sr.Problems {
					fmt.Fprintf(e.stderr, "  %s: %s\n", sr.Source, p)
				}
			}
			if res.Matched > 0 && !e.quiet {
				fmt.Fprintf(e.stderr, "re-matched %d changed vulnerabilities: %d new findings, %d updated, %d closed\n",
					mres.Vulnerabilities, mres.Sync.New, mres.Sync.Updated, mres.Sync.Closed)
			}
			return syncErr
		})
	}
	return cmd
}
