// Package intelfeed subscribes Bulwark to partners' TAXII 2.1 collections
// (ISAC and CERT feeds) and pulls them into Bulwark's own collections:
// scheduled pulls as River jobs, added_after cursors in the partner's
// clock, resumption between pages, retries with exponential back-off and
// jitter honouring Retry-After, credentials sealed at rest, and imports
// through the sharing service, so that objects land with their markings,
// never lower than what the city already holds, and with their
// provenance ("feed:<name>").
package intelfeed

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"

	"bulwark"
	"bulwark/internal/jobs"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
	"bulwark/internal/taxiiclient"
)

// Config configures the service. Zero values take the defaults.
type Config struct {
	// DSN is the store's: the sealing key follows it, and the job queue
	// when Queue is nil.
	DSN string
	// Queue is the process's job queue (internal/jobs), shared with other
	// services: Open registers the pulls' queue on it, and whoever opened
	// it starts, stops and closes it. Nil: Open opens a queue of the
	// Service's own on DSN, which Start, Stop and Close run.
	Queue *jobs.Queue
	// Key is the sealing key (32 bytes); nil: LoadKey(DSN).
	Key []byte
	// Workers is how many pulls run at once in this process (default 2).
	Workers int
	// TickEvery is how often due subscriptions are looked for (30 s).
	TickEvery time.Duration
	// PullTimeout bounds one pull (30 min); what was read stays, and the
	// next pull goes on from there.
	PullTimeout time.Duration
	// LeaseTTL is how long a pull holds its subscription without progress
	// (5 min); each page extends it.
	LeaseTTL time.Duration
	// PageSize is the limit asked of the partner (500).
	PageSize int
	// MaxPages bounds one pull (2,000 pages); the next pull follows soon.
	MaxPages int
	// RetryBase and RetryMax bound the back-off after failed pulls (1 min
	// doubling, at most the subscription's interval and never more than
	// 6 h); a server's Retry-After is honoured when longer.
	RetryBase, RetryMax time.Duration
	// AllowLoopback lets subscriptions reach loopback addresses (tests, a
	// partner server on the same machine). Link-local, unspecified and
	// multicast addresses are always refused.
	AllowLoopback bool
	// Client tunes the TAXII client (tests: Timeout, Retries, Sleep).
	Client taxiiclient.Options
	// Now is the clock (tests).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.TickEvery <= 0 {
		c.TickEvery = 30 * time.Second
	}
	if c.PullTimeout <= 0 {
		c.PullTimeout = 30 * time.Minute
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 5 * time.Minute
	}
	if c.PageSize <= 0 {
		c.PageSize = 500
	}
	if c.MaxPages <= 0 {
		c.MaxPages = 2000
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Minute
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 6 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service manages subscriptions and pulls them.
type Service struct {
	st      bulwark.Store
	sh      *sharing.Service
	cfg     Config
	log     *slog.Logger
	keyOnce sync.Once
	sealer  *Sealer
	keyErr  error
	holder  string // this process's lease holder prefix
	q       *jobs.Part
}

// New returns a Service without a job queue: subscriptions can be managed
// and pulled synchronously (Pull), not scheduled.
func New(st bulwark.Store, sh *sharing.Service, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Service{st: st, sh: sh, cfg: cfg, log: log}
	var b [6]byte
	rand.Read(b[:])
	host, _ := os.Hostname()
	s.holder = fmt.Sprintf("%s:%d:%s", bulwark.Truncate(host, 60), os.Getpid(), hex.EncodeToString(b[:]))
	return s
}

// sealing returns the sealer, loading the key on first use (so that a
// store whose feeds carry no credentials never needs one).
func (s *Service) sealing() (*Sealer, error) {
	s.keyOnce.Do(func() {
		key := s.cfg.Key
		if key == nil {
			key, s.keyErr = LoadKey(s.cfg.DSN)
		}
		if s.keyErr == nil {
			s.sealer, s.keyErr = NewSealer(key)
		}
	})
	return s.sealer, s.keyErr
}

func principal(ctx context.Context) (bulwark.Principal, error) {
	p, ok := bulwark.PrincipalFrom(ctx)
	if !ok || (!p.System && p.Org == "") {
		return bulwark.Principal{}, bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required")
	}
	return p, nil
}

func sysCtx(ctx context.Context) context.Context {
	return bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
}

// Input is a subscription as an administrator gives it: its settings and,
// in the clear, its password or token (sealed before it is stored).
type Input struct {
	Name        string
	Description string
	ServerURL   string
	APIRoot     string
	Collection  string
	Target      string
	Auth        bulwark.FeedAuth
	Username    string
	// Password (basic) or Token (bearer). Empty on an update keeps the
	// stored one.
	Password string
	Token    string
	CACert   string
	// MinMarking is the least marking of imported objects ("": their own).
	MinMarking bulwark.TLP
	Interval   time.Duration
	Paused     bool
	// Org and Owner are for the System principal (the local operator):
	// the owning organization and the user whose TLP:RED audience
	// imported RED objects get (0: nobody reads them).
	Org   string
	Owner int64
}

// check validates what the store does not: the URL as the client reads
// it, the CA certificate, the credentials' form, and that the owning
// organization may write the target collection.
func (s *Service) check(ctx context.Context, in *Input, org string, owner int64) error {
	if _, err := taxiiclient.ParseURL(in.ServerURL); err != nil {
		return err
	}
	if in.CACert != "" {
		if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM([]byte(in.CACert)) {
			return bulwark.Errorf(bulwark.EINVALID, "the CA certificate is not a PEM certificate")
		}
	}
	a := taxiiclient.Auth{Username: in.Username, Password: in.Password, Token: in.Token}
	if err := a.Validate(); err != nil {
		return err
	}
	if in.Auth == bulwark.FeedAuthNone && (in.Password != "" || in.Token != "") {
		return bulwark.Errorf(bulwark.EINVALID, "auth none takes no password or token")
	}
	if in.Auth == bulwark.FeedAuthBasic && in.Token != "" || in.Auth == bulwark.FeedAuthBearer && in.Password != "" {
		return bulwark.Errorf(bulwark.EINVALID, "auth basic takes a password, auth bearer a token")
	}
	if !bulwark.ValidUUID(in.Target) {
		return bulwark.Errorf(bulwark.EINVALID, "target %q: give the id (a UUID) of the Bulwark collection to import into", bulwark.Truncate(in.Target, 60))
	}
	col, err := s.sh.FindCollection(importCtx(ctx, org, owner, "feed"), in.Target)
	if err != nil {
		if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
			return bulwark.Errorf(bulwark.EINVALID, "target collection %s does not exist or %s may not write it", in.Target, org)
		}
		return err
	}
	if !col.CanWrite {
		return bulwark.Errorf(bulwark.EINVALID, "%s may not write the target collection %s", org, in.Target)
	}
	return nil
}

// importCtx is the principal pulls import as: the owning organization
// with an analyst's rights, named after the feed, acting for the owner
// user (whom TLP:RED objects reach).
func importCtx(ctx context.Context, org string, owner int64, name string) context.Context {
	return bulwark.WithPrincipal(ctx, bulwark.Principal{UserID: owner, Org: org, Role: bulwark.RoleAnalyst, Name: name})
}

// seal seals the credential of in, if any.
func (s *Service) seal(in *Input, org string) ([]byte, error) {
	secret := in.Password
	if in.Auth == bulwark.FeedAuthBearer {
		secret = in.Token
	}
	if secret == "" || in.Auth == bulwark.FeedAuthNone {
		return nil, nil
	}
	sealer, err := s.sealing()
	if err != nil {
		return nil, err
	}
	return sealer.Seal(secret, org)
}

func (in *Input) feed() *bulwark.IntelFeed {
	auth := in.Auth
	if auth == "" {
		auth = bulwark.FeedAuthNone
	}
	return &bulwark.IntelFeed{Name: in.Name, Description: in.Description, ServerURL: in.ServerURL, APIRoot: in.APIRoot, Collection: in.Collection,
		Target: in.Target, Auth: auth, Username: in.Username, CACert: in.CACert, MinMarking: in.MinMarking, Interval: in.Interval, Paused: in.Paused}
}

// owner resolves the owning organization and user of a new subscription.
func (s *Service) owner(ctx context.Context, p bulwark.Principal, in *Input) (string, int64, error) {
	if !p.System {
		if in.Org != "" && in.Org != p.Org {
			return "", 0, bulwark.Errorf(bulwark.EFORBIDDEN, "you may add feeds to your own organization only")
		}
		if p.Role != bulwark.RoleAdmin {
			return "", 0, bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators of %s may manage its feeds", p.Org)
		}
		return p.Org, p.UserID, nil
	}
	if in.Org == "" {
		return "", 0, bulwark.Errorf(bulwark.EINVALID, "name the organization that owns the feed")
	}
	if in.Owner != 0 {
		u, err := s.st.FindUser(sysCtx(ctx), in.Owner)
		if err != nil || u.Org != in.Org {
			return "", 0, bulwark.Errorf(bulwark.EINVALID, "user %d is not a member of %s", in.Owner, bulwark.Truncate(in.Org, 128))
		}
	}
	return in.Org, in.Owner, nil
}

// Add creates a subscription. Administrators add to their own
// organization; the System principal names it (Input.Org).
func (s *Service) Add(ctx context.Context, in Input) (*bulwark.IntelFeed, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	org, owner, err := s.owner(ctx, p, &in)
	if err != nil {
		return nil, err
	}
	if in.Interval == 0 {
		in.Interval = bulwark.DefaultIntelFeedInterval
	}
	f := in.feed()
	f.Org = org
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if err := s.check(ctx, &in, org, owner); err != nil {
		return nil, err
	}
	if (f.Auth == bulwark.FeedAuthBasic && in.Password == "") || (f.Auth == bulwark.FeedAuthBearer && in.Token == "") {
		return nil, bulwark.Errorf(bulwark.EINVALID, "auth %s needs a %s", f.Auth, map[bulwark.FeedAuth]string{bulwark.FeedAuthBasic: "password", bulwark.FeedAuthBearer: "token"}[f.Auth])
	}
	if f.Secret, err = s.seal(&in, org); err != nil {
		return nil, err
	}
	if p.System {
		f.CreatedBy = owner
	}
	if err := s.st.CreateIntelFeed(ctx, f); err != nil {
		return nil, err
	}
	f.Secret = nil
	s.kick()
	return f, nil
}

// Update replaces a subscription's settings. An empty password or token
// keeps the stored one (while the kind of authentication stays).
func (s *Service) Update(ctx context.Context, id string, in Input) (*bulwark.IntelFeed, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	cur, err := s.st.FindIntelFeed(ctx, id)
	if err != nil {
		return nil, err
	}
	p, _ := bulwark.PrincipalFrom(ctx)
	if !p.System && p.Role != bulwark.RoleAdmin {
		return nil, bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators of %s may manage its feeds", cur.Org)
	}
	if in.Interval == 0 {
		in.Interval = cur.Interval
	}
	f := in.feed()
	f.ID, f.Org = cur.ID, cur.Org
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if err := s.check(ctx, &in, cur.Org, cur.CreatedBy); err != nil {
		return nil, err
	}
	if f.Auth != cur.Auth && ((f.Auth == bulwark.FeedAuthBasic && in.Password == "") || (f.Auth == bulwark.FeedAuthBearer && in.Token == "")) {
		return nil, bulwark.Errorf(bulwark.EINVALID, "switching to auth %s needs the new credential", f.Auth)
	}
	if f.Secret, err = s.seal(&in, cur.Org); err != nil {
		return nil, err
	}
	if err := s.st.UpdateIntelFeed(ctx, f); err != nil {
		return nil, err
	}
	f.Secret = nil
	return f, nil
}

// Remove deletes a subscription; what it imported stays.
func (s *Service) Remove(ctx context.Context, id string) error {
	return s.st.DeleteIntelFeed(ctx, id)
}

// Find returns a subscription of the caller's organization.
func (s *Service) Find(ctx context.Context, id string) (*bulwark.IntelFeed, error) {
	f, err := s.st.FindIntelFeed(ctx, id)
	if err != nil {
		return nil, err
	}
	f.Secret, f.ResumeNext = nil, ""
	return f, nil
}

// List returns the caller's organization's subscriptions (every one for
// the System principal), without secrets.
func (s *Service) List(ctx context.Context) ([]bulwark.IntelFeed, error) {
	fs, err := s.st.ListIntelFeeds(ctx, bulwark.IntelFeedFilter{})
	if err != nil {
		return nil, err
	}
	for i := range fs {
		fs[i].Secret, fs[i].ResumeNext = nil, ""
	}
	return fs, nil
}

// mayPull allows the System principal and administrators of the owning
// organization to start a pull.
func (s *Service) mayPull(ctx context.Context, id string) (*bulwark.IntelFeed, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	f, err := s.st.FindIntelFeed(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.System && p.Role != bulwark.RoleAdmin {
		return nil, bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators of %s may start a pull", f.Org)
	}
	return f, nil
}

// allowAddr refuses addresses a subscription must not reach.
func (s *Service) allowAddr(a netip.Addr) error {
	switch {
	case a.IsLoopback() && s.cfg.AllowLoopback:
		return nil
	case a.IsLoopback(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return bulwark.Errorf(bulwark.EFORBIDDEN, "feeds may not connect to %s (loopback, link-local, unspecified or multicast address)", a)
	}
	return nil
}

// client builds the TAXII client of a claimed subscription (with its
// secret).
func (s *Service) client(f *bulwark.IntelFeed) (*taxiiclient.Client, error) {
	opt := s.cfg.Client
	opt.AllowAddr = s.allowAddr
	opt.MaxPages = s.cfg.MaxPages
	opt.UserAgent = "Bulwark feed puller"
	if f.CACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(f.CACert)) {
			return nil, bulwark.Errorf(bulwark.EINVALID, "the feed's CA certificate is not a PEM certificate")
		}
		opt.RootCAs = pool
	}
	if len(f.Secret) > 0 && f.Auth != bulwark.FeedAuthNone {
		sealer, err := s.sealing()
		if err != nil {
			return nil, err
		}
		secret, err := sealer.Open(f.Secret, f.Org)
		if err != nil {
			return nil, err
		}
		switch f.Auth {
		case bulwark.FeedAuthBasic:
			opt.Auth = taxiiclient.Auth{Username: f.Username, Password: secret}
		case bulwark.FeedAuthBearer:
			opt.Auth = taxiiclient.Auth{Token: secret}
		}
	}
	return taxiiclient.New(f.ServerURL, opt)
}

// tlpOf maps a STIX marking to the domain's ("" when unmarked).
func tlpOf(m stix.Marking) bulwark.TLP {
	switch m {
	case stix.Clear:
		return bulwark.TLPClear
	case stix.Green:
		return bulwark.TLPGreen
	case stix.Amber:
		return bulwark.TLPAmber
	case stix.AmberStrict:
		return bulwark.TLPAmberStrict
	case stix.Red:
		return bulwark.TLPRed
	}
	return ""
}

func maxTLP(a, b bulwark.TLP) bulwark.TLP {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// AllowLoopbackEnv names the environment variable ("1") with which the
// server and the CLI let feeds reach loopback addresses (a partner's
// server on the same machine, tests).
const AllowLoopbackEnv = "BULWARK_FEEDS_ALLOW_LOOPBACK"
