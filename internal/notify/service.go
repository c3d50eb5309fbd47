package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bulwark"
)

// Config tunes the service. Zero values take the defaults.
type Config struct {
	// PublicURL is where recipients reach this Bulwark (for ack links),
	// e.g. https://bulwark.example.org; "" sends no links.
	PublicURL string
	// AckKey signs ack-link tokens (at least 32 bytes). Without one, a
	// random key is made at start, and links sent before a restart stop
	// working after it.
	AckKey      Secret
	AckLinkTTL  time.Duration // how long a link works; default 30 days
	MaxAttempts int           // deliveries tried before giving up; default 8
	RetryBase   time.Duration // first retry delay, doubled each time; default 30s
	RetryMax    time.Duration // longest retry delay; default 1h
	Batch       int           // notifications claimed at once; default 20
	Workers     int           // concurrent deliveries; default 4
}

// Result says what reporting one event did.
type Result struct {
	EventKey string `json:"event_key"`
	// Added are the notifications created now; a replay adds none.
	Added []bulwark.Notification `json:"added"`
	// Problems lists recipients that could not be addressed (each is also
	// recorded as a failed notification, so it shows and escalates).
	Problems []string `json:"problems,omitempty"`
}

// Service generates, delivers, acknowledges and escalates notifications.
// It is safe for concurrent use.
type Service struct {
	st      bulwark.Store
	matrix  atomic.Pointer[Matrix]
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mu      sync.RWMutex
	senders map[bulwark.NotifyChannel]Sender
	// afterSend, in tests, runs between a successful send and its record;
	// returning false abandons the record, as a crash there would.
	afterSend func(n *bulwark.Notification) bool
}

// New returns a service over st using matrix m (DefaultMatrix when nil).
// Channels are added with SetSender; a channel without a sender fails its
// deliveries (and retries them) with "not configured".
func New(st bulwark.Store, m *Matrix, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = DefaultMatrix()
	}
	if cfg.AckLinkTTL <= 0 {
		cfg.AckLinkTTL = 30 * 24 * time.Hour
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.AckKey.Reveal() == "" {
		k := make([]byte, 32)
		rand.Read(k)
		cfg.AckKey = Secret(k)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Service{st: st, cfg: cfg, log: log, now: time.Now, senders: map[bulwark.NotifyChannel]Sender{}}
	s.matrix.Store(m)
	return s
}

// SetClock replaces the clock (tests drive deadlines and retries with it).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetSender installs the sender of a channel (nil removes it).
func (s *Service) SetSender(ch bulwark.NotifyChannel, snd Sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snd == nil {
		delete(s.senders, ch)
		return
	}
	s.senders[ch] = snd
}

func (s *Service) sender(ch bulwark.NotifyChannel) Sender {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.senders[ch]
}

// Matrix returns the matrix in use.
func (s *Service) Matrix() *Matrix { return s.matrix.Load() }

// SetMatrix replaces the matrix (notifications already created keep theirs).
func (s *Service) SetMatrix(m *Matrix) { s.matrix.Store(m) }

func system(ctx context.Context) context.Context {
	return bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
}

// Notify reports an incident event: the notifications the matrix asks for
// are generated and stored in the outbox, to be delivered by Run. The
// caller must be allowed to write for ev.OrgID (or be the System
// principal). Reporting the same event again (same Key, or the same
// derived key) adds nothing, so a caller that is unsure whether a report
// went through simply reports it again.
func (s *Service) Notify(ctx context.Context, ev Event) (Result, error) {
	p, ok := bulwark.PrincipalFrom(ctx)
	if !ok {
		return Result{}, bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required")
	}
	if ev.Kind == bulwark.NotifyIntelAdded {
		return Result{}, bulwark.Errorf(bulwark.EINVALID, "intel_added is not an incident event: the sharing service raises intel digests itself")
	}
	if !p.System && (p.Org != ev.OrgID || !p.Role.CanWrite()) {
		return Result{}, bulwark.Errorf(bulwark.EFORBIDDEN, "only %s's analysts and administrators report its incidents", truncate(ev.OrgID, 128))
	}
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	ev.At = ev.At.UTC()
	if ev.Key == "" {
		ev.Key = ev.DefaultKey()
	}
	if err := ev.Validate(); err != nil {
		return Result{}, err
	}
	m := s.Matrix()
	g := s.newGen(ctx, &ev)
	var ns []bulwark.Notification
	for i := range m.Rules {
		r := &m.Rules[i]
		if !r.Matches(&ev) {
			continue
		}
		got, err := g.generate(m, r, nil)
		if err != nil {
			return Result{}, err
		}
		ns = append(ns, got...)
	}
	added, err := s.st.EnqueueNotifications(ctx, ev, ns)
	if err != nil {
		return Result{}, fmt.Errorf("enqueue notifications: %w", err)
	}
	if len(added) > 0 {
		s.log.Info("notifications queued", "event", ev.Key, "incident", ev.IncidentID, "count", len(added))
	}
	return Result{EventKey: ev.Key, Added: added, Problems: g.problems}, nil
}

// gen generates the notifications of one event, caching what it reads.
type gen struct {
	s        *Service
	ctx      context.Context // System principal: contacts of every organization
	ev       *Event
	now      time.Time
	orgs     map[string]*bulwark.Organization
	allOrgs  []bulwark.Organization
	services []ServiceRef
	owners   map[string]string
	visible  map[string][]string
	problems []string
	loaded   bool
}

func (s *Service) newGen(ctx context.Context, ev *Event) *gen {
	return &gen{s: s, ctx: system(ctx), ev: ev, now: s.now(), orgs: map[string]*bulwark.Organization{}, visible: map[string][]string{}}
}

// org returns an organization (nil when it does not exist).
func (g *gen) org(id string) (*bulwark.Organization, error) {
	if o, ok := g.orgs[id]; ok {
		return o, nil
	}
	o, err := g.s.st.FindOrganization(g.ctx, id)
	if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
		g.orgs[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	g.orgs[id] = o
	return o, nil
}

// loadServices reads the affected services' names and owners once.
func (g *gen) loadServices() error {
	if g.loaded {
		return nil
	}
	g.loaded = true
	g.owners = map[string]string{}
	for _, id := range g.ev.Services {
		svc, err := g.s.st.FindService(g.ctx, id)
		if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
			g.services = append(g.services, ServiceRef{ID: id, Name: id})
			continue
		}
		if err != nil {
			return err
		}
		g.services = append(g.services, ServiceRef{ID: id, Name: svc.Name})
		g.owners[id] = svc.Owner
	}
	return nil
}

// visibleTo returns the affected services org may see, asking the store
// with org's own scope: the egress filter uses the same rule as every read.
func (g *gen) visibleTo(org string) ([]string, error) {
	if org == "" || len(g.ev.Services) == 0 {
		return nil, nil
	}
	if v, ok := g.visible[org]; ok {
		return v, nil
	}
	ctx := bulwark.WithPrincipal(g.ctx, bulwark.Principal{Org: org, Role: bulwark.RoleViewer, Name: "notify"})
	kinds, err := g.s.st.ResolveIDs(ctx, g.ev.Services)
	if err != nil {
		return nil, err
	}
	var out []string
	for id, k := range kinds {
		if k == bulwark.KindService {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	g.visible[org] = out
	return out, nil
}

// target is one resolved recipient.
type target struct {
	org, name, address, secret string
}

// resolve turns a rule's recipient selectors into addresses. Selectors
// that reach no one are returned as problems.
func (g *gen) resolve(r *bulwark.NotifyRule) ([]target, []string, error) {
	var out []target
	var probs []string
	seen := map[string]bool{}
	add := func(t target) {
		k := strings.ToLower(t.address)
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	for _, rc := range r.Recipients {
		switch {
		case rc.URL != "":
			add(target{org: rc.Org, name: rc.Name, address: rc.URL, secret: rc.Secret})
			continue
		case rc.Email != "":
			add(target{org: rc.Org, name: rc.Name, address: rc.Email})
			continue
		}
		var orgs []string
		what := ""
		switch {
		case rc.Org == bulwark.RecipientIncidentOrg:
			orgs, what = []string{g.ev.OrgID}, "the incident's organization "+g.ev.OrgID
		case rc.Org == bulwark.RecipientPartners:
			if err := g.loadServices(); err != nil {
				return nil, nil, err
			}
			for _, id := range g.ev.Services {
				if o := g.owners[id]; o != "" && o != g.ev.OrgID && !slices.Contains(orgs, o) {
					orgs = append(orgs, o)
				}
			}
			slices.Sort(orgs)
			if len(orgs) == 0 {
				continue // no partner is affected: nothing to do
			}
			what = "partner " + strings.Join(orgs, ", ")
		case rc.Org != "":
			orgs, what = []string{rc.Org}, "organization "+rc.Org
		case rc.Purview != "":
			if g.allOrgs == nil {
				list, err := listOrganizations(g.ctx, g.s.st)
				if err != nil {
					return nil, nil, err
				}
				g.allOrgs = list
			}
			for _, o := range g.allOrgs {
				if o.Purview == rc.Purview {
					orgs = append(orgs, o.ID)
					g.orgs[o.ID] = &o
				}
			}
			what = "organizations of purview " + string(rc.Purview)
		}
		found := 0
		for _, id := range orgs {
			o, err := g.org(id)
			if err != nil {
				return nil, nil, err
			}
			if o == nil {
				continue
			}
			for _, c := range o.Contacts {
				if c.Email == "" || !roleMatches(rc.Role, c.Role) {
					continue
				}
				if checkEmail(c.Email) != nil {
					probs = append(probs, fmt.Sprintf("%s: contact %q has an e-mail address that cannot be used", o.ID, oneLine(c.Name, 80)))
					continue
				}
				name := c.Name
				if c.Role != "" {
					name += " (" + c.Role + ")"
				}
				add(target{org: o.ID, name: name, address: c.Email})
				found++
			}
		}
		if found == 0 {
			role := ""
			if rc.Role != "" && rc.Role != "*" {
				role = fmt.Sprintf(" whose role contains %q", rc.Role)
			}
			probs = append(probs, fmt.Sprintf("rule %s: no contact with an e-mail address%s at %s", r.ID, role, what))
		}
	}
	return out, probs, nil
}

// roleMatches: "" and "*" match every contact; otherwise the contact's
// role must contain want, ignoring case.
func roleMatches(want, role string) bool {
	if want == "" || want == "*" {
		return true
	}
	return strings.Contains(strings.ToLower(role), strings.ToLower(want))
}

func listOrganizations(ctx context.Context, st bulwark.Store) ([]bulwark.Organization, error) {
	var out []bulwark.Organization
	opt := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	for {
		p, err := st.ListOrganizations(ctx, opt)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		opt.After = p.Next
	}
}

// generate makes rule r's notifications for the event; esc is the
// notification being escalated, if any.
func (g *gen) generate(m *Matrix, r *bulwark.NotifyRule, esc *bulwark.Notification) ([]bulwark.Notification, error) {
	targets, probs, err := g.resolve(r)
	if err != nil {
		return nil, err
	}
	if err := g.loadServices(); err != nil {
		return nil, err
	}
	orgName := g.ev.OrgID
	if o, err := g.org(g.ev.OrgID); err != nil {
		return nil, err
	} else if o != nil && o.Name != "" {
		orgName = o.Name
	}
	scope := g.ev.Key
	if r.Once {
		scope = "incident:" + g.ev.IncidentID
	}
	var due time.Time
	if r.Deadline > 0 {
		due = g.now.Add(r.Deadline)
	}
	base := bulwark.Notification{EventKey: g.ev.Key, IncidentID: g.ev.IncidentID, Org: g.ev.OrgID, Rule: r.ID, Audience: r.Audience,
		Channel: r.Channel, Status: bulwark.NotifyPending, DueBy: due, NextAttempt: g.now}
	if esc != nil {
		base.EscalatedFrom = esc.ID
	}
	var out []bulwark.Notification
	for _, t := range targets {
		visible, err := g.visibleTo(t.org)
		if err != nil {
			return nil, err
		}
		v := Redact(g.ev, r.Audience, t.org, Facts{Services: g.services, Visible: visible, OrgName: orgName})
		v.Recipient, v.DueBy = oneLine(t.name, maxLineField), due
		if esc != nil {
			who := esc.RecipientName
			if who == "" {
				who = esc.RecipientOrg
			}
			if who == "" {
				who = "a recipient outside Bulwark"
			}
			v.Escalation = &Escalation{Audience: esc.Audience, Recipient: oneLine(who, maxLineField), DueBy: esc.DueBy}
		}
		subject, body, err := m.Render(r.Template, v)
		if err != nil {
			g.s.log.Warn("notification template failed; the fallback was used", "rule", r.ID, "template", r.Template, "err", err)
		}
		n := base
		n.ID = newID(g.now)
		n.Key = dedupeKey(scope, r.ID, r.Channel, t.address)
		n.RecipientOrg, n.RecipientName, n.Address, n.Secret = t.org, oneLine(t.name, 500), t.address, t.secret
		n.Subject, n.Body = subject, body
		if r.Channel == bulwark.ChannelWebhook {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("encode webhook payload: %w", err)
			}
			n.Payload = string(b)
		}
		n.AckHash = hashToken(g.s.ackToken(n.ID))
		out = append(out, n)
	}
	// A selector that reaches no one is recorded as a failed notification:
	// it shows in every listing and escalates like an unacknowledged one.
	for _, p := range probs {
		n := base
		n.ID = newID(g.now)
		n.Key = dedupeKey(scope, r.ID, r.Channel, "unresolved:"+p)
		n.Address, n.Status, n.LastError = "(no address)", bulwark.NotifyFailed, p
		n.Subject = "Not sent: " + p
		out = append(out, n)
	}
	g.problems = append(g.problems, probs...)
	return out, nil
}

// dedupeKey identifies one notification of a scope (an event or an
// incident) by rule, channel and address.
func dedupeKey(scope, rule string, ch bulwark.NotifyChannel, address string) string {
	h := sha256.New()
	for _, s := range []string{scope, rule, string(ch), strings.ToLower(address)} {
		fmt.Fprintf(h, "%d:%s|", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newID returns a notification ID that sorts by creation time.
func newID(now time.Time) string {
	var r [4]byte
	rand.Read(r[:])
	return fmt.Sprintf("ntf-%016x-%s", uint64(now.UnixMicro()), hex.EncodeToString(r[:]))
}

// ackToken is the secret of a notification's ack link: an HMAC of its ID,
// so every delivery attempt carries the same link and nothing secret is
// stored (only its hash).
func (s *Service) ackToken(id string) string {
	mac := hmac.New(sha256.New, []byte(s.cfg.AckKey.Reveal()))
	mac.Write([]byte("bulwark-ack:" + id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// AckURL returns the ack link of notification id ("" without PublicURL).
func (s *Service) AckURL(id string) string {
	if s.cfg.PublicURL == "" {
		return ""
	}
	return s.cfg.PublicURL + "/ack/" + url.PathEscape(s.ackToken(id))
}

// DeliverDue delivers the notifications due now, batch after batch, and
// returns how many attempts it made.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	sys := system(ctx)
	total := 0
	for round := 0; round < 50; round++ {
		now := s.now()
		claimed, err := s.st.ClaimNotifications(sys, now, s.lease(), s.cfg.Batch)
		if err != nil {
			return total, err
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, s.cfg.Workers)
		for i := range claimed {
			wg.Add(1)
			sem <- struct{}{}
			go func(n *bulwark.Notification) {
				defer wg.Done()
				defer func() { <-sem }()
				s.deliver(sys, n)
			}(&claimed[i])
		}
		wg.Wait()
		total += len(claimed)
		if len(claimed) < s.cfg.Batch || ctx.Err() != nil {
			break
		}
	}
	return total, ctx.Err()
}

// timeouter is a sender that says how long a delivery may take.
type timeouter interface{ Timeout() time.Duration }

// lease is how long a claim holds: longer than any delivery may take, so
// that a claim expires only when its deliverer died.
func (s *Service) lease() time.Duration {
	longest := 30 * time.Second
	s.mu.RLock()
	for _, snd := range s.senders {
		if t, ok := snd.(timeouter); ok && t.Timeout() > longest {
			longest = t.Timeout()
		}
	}
	s.mu.RUnlock()
	return 2*longest + 30*time.Second
}

// message builds what a channel sends for n: the body with the ack
// footer, and the webhook envelope.
func (s *Service) message(n *bulwark.Notification) (*Message, error) {
	link := s.AckURL(n.ID)
	m := &Message{ID: n.ID, To: n.Address, Subject: n.Subject, Secret: n.Secret}
	var foot strings.Builder
	foot.WriteString("\n-- \n")
	switch {
	case n.IncidentID == "" && n.DueBy.IsZero():
		// An intel digest: it informs, nobody has to act on it.
		foot.WriteString("For your information: no acknowledgement is expected. See it")
	case !n.DueBy.IsZero():
		fmt.Fprintf(&foot, "Acknowledge by %s", n.DueBy.UTC().Format("2006-01-02 15:04 UTC"))
	default:
		foot.WriteString("Acknowledge")
	}
	if link != "" {
		fmt.Fprintf(&foot, " by opening:\n%s\n", link)
	} else {
		foot.WriteString(" in Bulwark.\n")
	}
	fmt.Fprintf(&foot, "Notification %s (rule %s) from Bulwark.\n", n.ID, n.Rule)
	m.Body = n.Body + foot.String()
	if n.Channel == bulwark.ChannelWebhook {
		env := struct {
			ID       string                 `json:"id"`
			Rule     string                 `json:"rule"`
			Audience bulwark.NotifyAudience `json:"audience"`
			Subject  string                 `json:"subject"`
			Text     string                 `json:"text"`
			AckURL   string                 `json:"ack_url,omitempty"`
			Event    json.RawMessage        `json:"event"`
		}{n.ID, n.Rule, n.Audience, n.Subject, n.Body, link, json.RawMessage(n.Payload)}
		if len(env.Event) == 0 {
			env.Event = json.RawMessage("{}")
		}
		b, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		m.Payload = b
	}
	return m, nil
}

// deliver makes one attempt for a claimed notification and records it.
func (s *Service) deliver(ctx context.Context, n *bulwark.Notification) {
	var err error
	snd := s.sender(n.Channel)
	msg, merr := s.message(n)
	switch {
	case merr != nil:
		err = Permanent(merr)
	case snd == nil:
		err = fmt.Errorf("the %s channel is not configured", n.Channel)
	default:
		err = snd.Send(ctx, msg)
	}
	now := s.now()
	out := bulwark.DeliveryOutcome{At: now}
	switch {
	case err == nil:
		if s.afterSend != nil && !s.afterSend(n) {
			return // a crash between sending and recording
		}
		out.Status, out.AckHash = bulwark.NotifySent, hashToken(s.ackToken(n.ID))
	case IsPermanent(err) || n.Attempts >= s.cfg.MaxAttempts:
		out.Status, out.Error = bulwark.NotifyFailed, err.Error()
	default:
		out.Status, out.Error, out.NextAttempt = bulwark.NotifyPending, err.Error(), now.Add(s.backoff(n.Attempts))
	}
	ok, ferr := s.st.FinishDelivery(ctx, n.ID, n.Lease, out)
	switch {
	case ferr != nil:
		s.log.Error("record notification delivery", "id", n.ID, "err", ferr)
	case !ok:
		s.log.Warn("notification lease lost: another deliverer took it over", "id", n.ID)
	case out.Status == bulwark.NotifySent:
		s.log.Info("notification sent", "id", n.ID, "channel", string(n.Channel), "rule", n.Rule, "attempt", n.Attempts)
	case out.Status == bulwark.NotifyFailed:
		s.log.Warn("notification failed", "id", n.ID, "channel", string(n.Channel), "rule", n.Rule, "attempt", n.Attempts, "error", out.Error)
	default:
		s.log.Info("notification delivery will be retried", "id", n.ID, "channel", string(n.Channel), "attempt", n.Attempts,
			"next", out.NextAttempt, "error", out.Error)
	}
}

// backoff is the delay after the attempt-th failure: RetryBase doubled
// each time, at most RetryMax, ±20 % jitter so that retries spread.
func (s *Service) backoff(attempt int) time.Duration {
	d := float64(s.cfg.RetryBase) * math.Pow(2, float64(max(attempt-1, 0)))
	d = min(d, float64(s.cfg.RetryMax))
	return time.Duration(d * (0.8 + 0.4*mrand.Float64()))
}

// EscalateOverdue escalates every notification not acknowledged by its
// deadline: the rules its rule names under escalate_to are applied to its
// event, and it is marked escalated. It returns how many were escalated.
func (s *Service) EscalateOverdue(ctx context.Context) (int, error) {
	sys := system(ctx)
	m := s.Matrix()
	count := 0
	for round := 0; round < 20; round++ {
		now := s.now()
		over, err := s.st.ListOverdueNotifications(sys, now, 100)
		if err != nil {
			return count, err
		}
		for i := range over {
			n := &over[i]
			ev, err := s.st.FindNotificationEvent(sys, n.EventKey)
			if err != nil {
				return count, err
			}
			var escs []bulwark.Notification
			r := m.Rule(n.Rule)
			if r == nil {
				s.log.Warn("overdue notification's rule is no longer in the matrix; marked escalated without escalation", "id", n.ID, "rule", n.Rule)
			} else {
				g := s.newGen(ctx, ev)
				for _, to := range r.EscalateTo {
					if tr := m.Rule(to); tr != nil {
						got, err := g.generate(m, tr, n)
						if err != nil {
							return count, err
						}
						escs = append(escs, got...)
					}
				}
			}
			ok, err := s.st.EscalateNotification(sys, n.ID, now, escs)
			if err != nil {
				return count, err
			}
			if ok {
				count++
				s.log.Info("notification escalated", "id", n.ID, "rule", n.Rule, "escalations", len(escs))
			}
		}
		if len(over) < 100 {
			break
		}
	}
	return count, nil
}

// Run delivers and escalates at start and then every interval until ctx
// ends; failures are logged and retried next time. Several processes may
// run it on one PostgreSQL database: claims and escalations are atomic.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	for {
		if _, err := s.EscalateOverdue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("escalate overdue notifications", "err", err)
		}
		if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("deliver notifications", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// List lists the caller's notifications (see bulwark.NotificationStore).
func (s *Service) List(ctx context.Context, f bulwark.NotificationFilter) (bulwark.Page[bulwark.Notification], error) {
	return s.st.ListNotifications(ctx, f)
}

// Detail is a notification with its delivery log.
type Detail struct {
	bulwark.Notification
	Log []bulwark.NotificationAttempt `json:"attempts_log"`
}

// Find returns one notification with its delivery log.
func (s *Service) Find(ctx context.Context, id string) (Detail, error) {
	n, err := s.st.FindNotification(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	log, err := s.st.NotificationAttempts(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	return Detail{Notification: *n, Log: log}, nil
}

// Ack acknowledges a notification as the caller.
func (s *Service) Ack(ctx context.Context, id string) (*bulwark.Notification, error) {
	return s.st.AckNotification(ctx, id, s.now())
}

// AckByToken acknowledges through an ack link: token is the link's last
// path segment, by an optional name the person gave.
func (s *Service) AckByToken(ctx context.Context, token, by string) (*bulwark.Notification, error) {
	if !validToken(token) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "this acknowledgement link is not valid")
	}
	now := s.now()
	return s.st.AckNotificationByToken(system(ctx), hashToken(token), oneLine(by, 100), now, now.Add(-s.cfg.AckLinkTTL))
}

// validToken accepts the form of ack tokens: 43 base64url characters.
func validToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
