// Package app wires Bulwark together: configuration → store → auth →
// HTTP handlers → server. It is the one place that knows every concrete
// implementation; the CLI and the end-to-end tests start Bulwark through it.
package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"bulwark/internal/api"
	"bulwark/internal/auth"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/intelfeed"
	"bulwark/internal/jobs"
	"bulwark/internal/notify"
	"bulwark/internal/risk"
	"bulwark/internal/server"
	"bulwark/internal/sharing"
	"bulwark/internal/simrun"
	"bulwark/internal/sqlstore"
	"bulwark/internal/taxii"
	"bulwark/internal/vulns"
	"bulwark/internal/web"
)

// Config is everything needed to run Bulwark's server.
type Config struct {
	DB            string // SQLite path or postgres:// URL
	Addr          string // listen address, e.g. 127.0.0.1:8080; port 0 picks one
	SecureCookies bool   // set the Secure flag on session cookies (behind TLS)
	// TLSCert and TLSKey are PEM files; with both, Bulwark serves HTTPS
	// itself with server.TLSConfig (TLS 1.2+, AEAD suites only), as TAXII
	// 2.1 requires (section 8.2.2). Session cookies are then Secure.
	TLSCert, TLSKey string
	// Notify configures notifications: the matrix, SMTP, webhook secrets
	// (see notify.Settings; the zero value is the bundled matrix, no e-mail).
	Notify notify.Settings
	Log    *slog.Logger
}

// Main is a running Bulwark.
type Main struct {
	Config Config
	Store  *sqlstore.DB
	Auth   *auth.Service
	// Vulns is the one vulnerability service of the process: the API, the
	// pages and scheduled feed syncs share its index and its lock.
	Vulns *vulns.Service
	// Baselines is the one baselines service (its graph and catalog
	// caches are shared the same way).
	Baselines *baseline.Service
	// Risks is the one risk register service.
	Risks *risk.Service
	// Incidents is the incident service; its escalation loop runs in
	// serve, and its Notifier receives incident events.
	Incidents *incident.Service
	// Notify generates, delivers and escalates notifications; serve runs
	// its loop, and the incident service reports its events to it.
	Notify *notify.Service
	// Jobs is the one job queue of the process (River, in the store's
	// database): simulations and feed pulls register their queues on it;
	// Serve starts and stops it, Close releases it.
	Jobs *jobs.Queue
	// Sims runs simulations as jobs on Jobs; Serve starts and stops its
	// sweeper.
	Sims *simrun.Service
	// Sharing is the one intel-sharing service (its index of every
	// collection is shared by TAXII and the other interfaces).
	Sharing *sharing.Service
	// Feeds pulls partners' TAXII collections on schedule (jobs on Jobs);
	// Serve starts and stops its dispatcher.
	Feeds *intelfeed.Service
	HTTP  *http.Server

	ln net.Listener
}

// Open opens the store and builds the HTTP server without listening yet.
func Open(ctx context.Context, cfg Config) (*Main, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	st, err := sqlstore.Open(ctx, cfg.DB, cfg.Log)
	if err != nil {
		return nil, err
	}
	m, err := New(cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	// Build the intel index now, not on the first TAXII request.
	if err := m.Sharing.Load(ctx); err != nil {
		m.Close()
		return nil, fmt.Errorf("load intel index: %w", err)
	}
	return m, nil
}

// New builds Bulwark's server around an open store.
func New(cfg Config, st *sqlstore.DB) (*Main, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var tlsCfg *tls.Config
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return nil, fmt.Errorf("TLS needs both a certificate and a key")
		}
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsCfg = server.TLSConfig()
		tlsCfg.Certificates = []tls.Certificate{cert}
		cfg.SecureCookies = true
	}
	a := auth.New(st, auth.Options{SecureCookies: cfg.SecureCookies}, cfg.Log)
	vs := vulns.New(st, cfg.Log)
	bs := baseline.New(st, cfg.Log)
	rs := risk.New(st, cfg.Log)
	is := incident.New(st, bs, cfg.Log)
	ns, err := notify.Build(st, cfg.Notify, cfg.Log)
	if err != nil {
		return nil, err
	}
	is.SetNotifier(notify.Hook{S: ns})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	jq, err := jobs.Open(ctx, jobs.Config{DSN: cfg.DB}, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("open the job queue: %w", err)
	}
	sims, err := simrun.Open(ctx, st, simrun.Config{Queue: jq}, cfg.Log)
	if err != nil {
		jq.Close()
		return nil, fmt.Errorf("simulations: %w", err)
	}
	sh := sharing.New(st, cfg.Log)
	if path := bodyLogPath(st.Dialect(), cfg.DB, cfg.Log); path != "" {
		// Bodies of shared intel are also kept in an append-only file, so
		// that TAXII pages are read in one go (see sharing.SetBodyLog).
		sh.SetBodyLog(path)
	}
	// Intel shared into a collection (published, posted, imported, pulled)
	// is told to the organizations subscribed by intel_added rules, each
	// only what sharing.CanSee lets it see (internal/notify's digests).
	sh.OnAdded(ns.IntelHook(sh))
	feeds, err := intelfeed.Open(ctx, st, sh, intelfeed.Config{DSN: cfg.DB, Queue: jq, AllowLoopback: os.Getenv(intelfeed.AllowLoopbackEnv) == "1"}, cfg.Log)
	if err != nil {
		sims.Close()
		jq.Close()
		return nil, fmt.Errorf("feeds: %w", err)
	}
	webH, err := web.NewWith(st, web.Services{Vulns: vs, Baselines: bs, Risks: rs, Sims: sims, Incidents: is, Notify: ns, Feeds: feeds, Sharing: sh}, a, cfg.Log)
	if err != nil {
		sims.Close()
		feeds.Close()
		jq.Close()
		return nil, fmt.Errorf("build web UI: %w", err)
	}
	apiH := api.NewWith(st, api.Services{Vulns: vs, Baselines: bs, Risks: rs, Sims: sims, Incidents: is, Notify: ns, Feeds: feeds, Sharing: sh}, a, cfg.Log)
	taxiiH := taxii.New(sh, taxii.Config{Title: "Bulwark", Description: "Bulwark TAXII 2.1 server: the collections of your sharing communities"}, cfg.Log)
	srv := server.New(server.Config{Addr: cfg.Addr, TLS: tlsCfg}, server.Handlers{API: apiH, TAXII: taxiiH, Web: webH, Auth: a}, cfg.Log)
	return &Main{Config: cfg, Store: st, Auth: a, Vulns: vs, Baselines: bs, Risks: rs, Incidents: is, Notify: ns, Jobs: jq, Sims: sims, Sharing: sh, Feeds: feeds, HTTP: srv}, nil
}

// Listen binds the configured address and returns the URL it serves.
func (m *Main) Listen() (string, error) {
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	if m.HTTP.TLSConfig != nil {
		m.ln = tls.NewListener(ln, m.HTTP.TLSConfig)
		return "https://" + ln.Addr().String(), nil
	}
	m.ln = ln
	return "http://" + ln.Addr().String(), nil
}

// Serve serves until ctx is done, then shuts down gracefully.
func (m *Main) Serve(ctx context.Context) error {
	if m.ln == nil {
		if _, err := m.Listen(); err != nil {
			return err
		}
	}
	// Every service registered its queue in New: the one client starts.
	if err := m.Jobs.Start(ctx); err != nil {
		return err
	}
	if err := m.Sims.Start(ctx); err != nil {
		return err
	}
	if err := m.Feeds.Start(ctx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- m.HTTP.Serve(m.ln) }()
	select {
	case err := <-errc:
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		m.Sims.Stop(stopCtx)
		m.Feeds.Stop(stopCtx)
		m.Jobs.Stop(stopCtx)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := m.HTTP.Shutdown(shutdownCtx)
		// The sweeper and the dispatcher stop, then the jobs: running
		// simulations are interrupted and wait, queued, to run again when
		// the server is back; running feed pulls stop at a page boundary
		// and go on from there.
		stopCtx, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancelStop()
		if serr := m.Sims.Stop(stopCtx); serr != nil && err == nil {
			err = serr
		}
		if ferr := m.Feeds.Stop(stopCtx); ferr != nil && err == nil {
			err = ferr
		}
		if jerr := m.Jobs.Stop(stopCtx); jerr != nil && err == nil {
			err = jerr
		}
		if err != nil {
			return fmt.Errorf("shut down: %w", err)
		}
		return nil
	}
}

// Close stops the job queue and releases the store.
func (m *Main) Close() error {
	return errors.Join(m.Sims.Close(), m.Feeds.Close(), m.Jobs.Close(), m.Sharing.Close(), m.Store.Close())
}

// bodyLogPath is where the sharing service keeps its body log: beside a
// SQLite file; for PostgreSQL in the user's cache directory (created
// private), one file per database, named by a hash of the DSN without its
// credentials. The file holds copies of shared bodies, TLP:RED ones
// included, so it is created readable by its owner alone. Several servers on
// one PostgreSQL each keep their own; two given the same file do not share
// it (the second reads bodies from the database). "" for none.
func bodyLogPath(dialect, dsn string, log *slog.Logger) string {
	switch {
	case dialect == "sqlite" && dsn != ":memory:":
		return dsn + ".taxii-bodies"
	case dialect != "postgres":
		return ""
	}
	key := dsn
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		u.User = nil
		key = u.String()
	}
	dir, err := os.UserCacheDir()
	if err == nil {
		dir = filepath.Join(dir, "bulwark")
		err = os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		log.Warn("no cache directory for the intel body log; bodies are read from the database", "err", err)
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "taxii-bodies-"+hex.EncodeToString(sum[:8]))
}
