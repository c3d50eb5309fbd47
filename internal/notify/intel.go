package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
)

// Intel digests: when intel objects are shared into a collection (a
// publication, a TAXII post, an import, a feed pull), the contacts that
// subscribed through an intel_added rule of the matrix receive one message
// per batch listing what their organization may see of it. Who may see
// what is never decided here: each recipient organization's view comes
// from sharing.Service.AddedFor, which applies sharing.CanSee, the one TLP
// rule. A recipient whose organization sees nothing of a batch gets no
// message, no count and no record.
//
//   - Organizations subscribe by rules with events: [intel_added], whose
//     recipients are organizations' contacts (org:, purview:, with role:)
//     or addresses tagged with the organization they belong to.
//   - Contacts see what their organization may see: TLP:CLEAR and
//     TLP:GREEN of the collections it reads, TLP:AMBER and AMBER+STRICT
//     addressed to it or published by it; never TLP:RED.
//   - TLP:RED objects are told only to the individuals they name (not the
//     publisher), by e-mail to their Bulwark account's address, when their
//     organization subscribed with an e-mail rule; such a digest is visible
//     to that user alone (Notification.RecipientUser).
//   - The message states its TLP marking at the top of the subject and of
//     the body (TLP 2.0: the strictest marking of what it lists), and lists
//     each object's marking, type, name and link.

// Limits of a digest.
const (
	maxDigestObjects = 50  // listed; the rest are counted
	maxDigestName    = 200 // bytes of an object's name
	maxDigestTitle   = 120 // bytes of the collection's title in a subject
)

// IsIntelRule reports whether r tells of shared intel (events:
// [intel_added]) rather than of incidents.
func IsIntelRule(r *bulwark.NotifyRule) bool {
	return slices.Contains(r.Events, bulwark.NotifyIntelAdded)
}

// intelRule checks the rest of an intel_added rule: it names organizations
// (never relative to an incident), has no severity, purview, deadline,
// escalation or template (the digest's text is fixed so that its TLP
// marking is always stated at the top).
func (m *Matrix) intelRule(rf *ruleFile, r bulwark.NotifyRule, at string, e *matrixErr) bulwark.NotifyRule {
	if len(r.Events) != 1 {
		e.add(at+".events", "intel_added cannot be combined with incident events: write a separate rule")
	}
	if !bulwark.ValidID(rf.ID) {
		e.add(at+".id", "a rule ID of 1-128 letters, digits, '.', '_', ':' or '-' is required")
	}
	if len(rf.Description) > 1000 {
		e.add(at+".description", "at most 1000 bytes")
	}
	for _, f := range []struct {
		field string
		set   bool
	}{{"min_severity", rf.MinSeverity != ""}, {"purviews", len(rf.Purviews) > 0}, {"deadline", rf.Deadline != ""},
		{"escalate_to", len(rf.EscalateTo) > 0}, {"once", rf.Once}} {
		if f.set {
			e.add(at+"."+f.field, "an intel_added rule has no %s: intel has no severity, and a digest expects no acknowledgement", f.field)
		}
	}
	if rf.Template != "" {
		e.add(at+".template", "an intel_added rule has no template: the digest's text is fixed, so that it always states its TLP marking at the top")
	}
	switch r.Audience = bulwark.NotifyAudience(rf.Audience); {
	case rf.Audience == "":
		r.Audience = bulwark.AudiencePartner
	case r.Audience == bulwark.AudiencePublic:
		e.add(at+".audience", "shared intel is never told to the public")
	case r.Audience.Level() < 0:
		e.add(at+".audience", "%q: use internal, partner, cert or isac", truncate(rf.Audience, 40))
	}
	r.Channel = bulwark.NotifyChannel(rf.Channel)
	if r.Channel != bulwark.ChannelEmail && r.Channel != bulwark.ChannelWebhook {
		e.add(at+".channel", "%q: use email or webhook", truncate(rf.Channel, 40))
	}
	if len(rf.Recipients) == 0 {
		e.add(at+".recipients", "a rule needs at least one recipient")
	}
	if len(rf.Recipients) > maxRecipients {
		e.add(at+".recipients", "at most %d recipients", maxRecipients)
		return r
	}
	for j, rc := range rf.Recipients {
		field := fmt.Sprintf("%s.recipients[%d]", at, j)
		switch {
		case rc.Org == bulwark.RecipientIncidentOrg || rc.Org == bulwark.RecipientPartners:
			e.add(field+".org", "%s names an incident's organizations; shared intel concerns no incident: name the organization", rc.Org)
			continue
		case (rc.Email != "" || rc.URL != "") && rc.Org == "":
			e.add(field+".org", "tag the address with its organization (org: ...): a digest lists only what that organization may see")
			continue
		}
		r.Recipients = append(r.Recipients, checkRecipient(rc, r.Channel, field, e))
	}
	return r
}

// IntelSource is what digests need of the sharing service.
type IntelSource interface {
	AddedFor(ctx context.Context, p bulwark.Principal, a *sharing.Added) (*sharing.CollectionView, []sharing.AddedItem, error)
	AddedUsers(ctx context.Context, a *sharing.Added) ([]int64, error)
}

// IntelHook returns the observer to register with sharing.Service.OnAdded:
// it queues the digests of each batch (failures are logged; the objects
// are stored whatever happens here).
func (s *Service) IntelHook(src IntelSource) sharing.AddedHook {
	return func(ctx context.Context, a *sharing.Added) {
		if _, err := s.IntelAdded(ctx, src, a); err != nil {
			s.log.Error("intel digests", "collection", a.Collection, "batch", a.ID, "err", err)
		}
	}
}

// IntelObjectRef is one object in a digest.
type IntelObjectRef struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name,omitempty"`
	Marking string `json:"marking"` // "TLP:AMBER"
	URL     string `json:"url,omitempty"`
}

// IntelDigest is a batch as one recipient may know it: the webhook's
// event, and what the e-mail's text is made of.
type IntelDigest struct {
	Kind bulwark.NotifyEventKind `json:"kind"`
	// Marking is the strictest marking of the objects listed: the
	// message's own TLP marking.
	Marking         string           `json:"marking"`
	Collection      string           `json:"collection"`
	CollectionTitle string           `json:"collection_title"`
	Count           int              `json:"count"` // objects the recipient may see
	Objects         []IntelObjectRef `json:"objects"`
	More            int              `json:"more,omitempty"` // seen but not listed
	At              time.Time        `json:"at"`
}

// tlpAdvice says what a marking allows the recipient to do with a message.
var tlpAdvice = map[bulwark.TLP]string{
	bulwark.TLPClear:       "Recipients may share it without restriction.",
	bulwark.TLPGreen:       "Recipients may share it within their community, not publicly.",
	bulwark.TLPAmber:       "Recipients may share it only within their organization and its clients, on a need-to-know basis.",
	bulwark.TLPAmberStrict: "Recipients may share it only within their organization, on a need-to-know basis.",
	bulwark.TLPRed:         "For the eyes and ears of the named recipient only: do not share it.",
}

// digest builds the digest of items for one recipient.
func (s *Service) digest(col *sharing.CollectionView, items []sharing.AddedItem, at time.Time) IntelDigest {
	d := IntelDigest{Kind: bulwark.NotifyIntelAdded, Collection: oneLine(col.ID, maxLineField), CollectionTitle: oneLine(col.Title, maxLineField),
		Count: len(items), At: at.UTC(), Objects: []IntelObjectRef{}}
	var worst bulwark.TLP
	for _, it := range items {
		if it.Marking.Rank() > worst.Rank() {
			worst = it.Marking
		}
	}
	d.Marking = worst.Label()
	for i, it := range items {
		if i == maxDigestObjects {
			d.More = len(items) - i
			break
		}
		ref := IntelObjectRef{ID: oneLine(it.STIXID, maxLineField), Type: oneLine(it.Type, 100), Name: oneLine(it.Name, maxDigestName), Marking: it.Marking.Label()}
		if s.cfg.PublicURL != "" {
			ref.URL = s.cfg.PublicURL + "/intel/objects/" + url.PathEscape(col.ID) + "/" + url.PathEscape(it.STIXID)
		}
		d.Objects = append(d.Objects, ref)
	}
	return d
}

// render returns the digest's subject and plain-text body. Every value is
// one line (oneLine): a hostile name cannot add a line, a header or a
// second marking.
func (d *IntelDigest) render(recipient string) (subject, body string) {
	title := d.CollectionTitle
	if title == "" {
		title = d.Collection
	}
	noun := "objects"
	if d.Count == 1 {
		noun = "object"
	}
	subject = finishSubject(fmt.Sprintf("[%s] %d new intel %s in %s", d.Marking, d.Count, noun, truncate(title, maxDigestTitle)))
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", d.Marking)
	if recipient != "" {
		fmt.Fprintf(&b, "To %s:\n\n", recipient)
	}
	fmt.Fprintf(&b, "%d new %s shared in collection %q (%s) that you may see:\n\n", d.Count, noun, title, d.Collection)
	for _, o := range d.Objects {
		name := o.Name
		if name == "" {
			name = o.ID
		}
		fmt.Fprintf(&b, "- %s  %s  %s\n", o.Marking, o.Type, name)
		if o.URL != "" {
			fmt.Fprintf(&b, "  %s\n", o.URL)
		} else {
			fmt.Fprintf(&b, "  %s\n", o.ID)
		}
	}
	if d.More > 0 {
		fmt.Fprintf(&b, "\n… and %d more: open the collection in Bulwark.\n", d.More)
	}
	m := bulwark.TLP(strings.ToLower(strings.TrimPrefix(d.Marking, "TLP:")))
	fmt.Fprintf(&b, "\nThis message is %s: it lists objects marked up to %s. %s\n", d.Marking, d.Marking, tlpAdvice[m])
	return subject, finishBody(b.String())
}

// IntelResult says what one batch queued.
type IntelResult struct {
	Added []bulwark.Notification `json:"added"`
	// Problems are recipient selectors that reached no one.
	Problems []string `json:"problems,omitempty"`
}

// intelTarget is one subscribed address and the rule that subscribed it.
type intelTarget struct {
	target
	rule *bulwark.NotifyRule
}

// IntelAdded queues the digests of batch a: for each subscribed
// organization that may see some of it, one message per subscribed
// address; for each individual named by a TLP:RED object of it whose
// organization subscribed by e-mail, one message to that person. It is
// idempotent per batch (a.ID). A recipient whose digest cannot be queued
// does not stop the others': the errors are returned together.
func (s *Service) IntelAdded(ctx context.Context, src IntelSource, a *sharing.Added) (IntelResult, error) {
	var res IntelResult
	m := s.Matrix()
	var rules []*bulwark.NotifyRule
	for i := range m.Rules {
		if IsIntelRule(&m.Rules[i]) {
			rules = append(rules, &m.Rules[i])
		}
	}
	if len(rules) == 0 || a == nil || a.Len() == 0 {
		return res, nil
	}
	ctx = context.WithoutCancel(ctx)
	sys := system(ctx)
	g := s.newGen(ctx, &Event{Kind: bulwark.NotifyIntelAdded})
	byOrg := map[string][]intelTarget{}
	emailOrg := map[string]*bulwark.NotifyRule{} // organizations subscribed by e-mail, and the first such rule
	for _, r := range rules {
		targets, probs, err := g.resolve(r)
		if err != nil {
			return res, err
		}
		res.Problems = append(res.Problems, probs...)
		for _, t := range targets {
			if t.org == "" {
				continue // checkRecipient and intelRule let none through; never guess an organization
			}
			byOrg[t.org] = append(byOrg[t.org], intelTarget{t, r})
			if r.Channel == bulwark.ChannelEmail && emailOrg[t.org] == nil {
				emailOrg[t.org] = r
			}
		}
	}
	if len(res.Problems) > 0 {
		s.log.Warn("intel digests: some subscriptions reach no one", "problems", strings.Join(res.Problems, "; "))
	}
	now := s.now().UTC()
	var errs []error
	orgs := make([]string, 0, len(byOrg))
	for org := range byOrg {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	for _, org := range orgs {
		p := bulwark.Principal{Org: org, Role: bulwark.RoleViewer, Name: "notify"}
		col, items, err := src.AddedFor(ctx, p, a)
		if err != nil {
			return res, err
		}
		if len(items) == 0 {
			continue // sees nothing: learns nothing, not even that something was added
		}
		added, err := s.enqueueDigest(sys, a, "org:"+org, org, 0, col, items, byOrg[org], now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", org, err))
			continue
		}
		res.Added = append(res.Added, added...)
	}
	// TLP:RED: the named individuals, each alone.
	users, err := src.AddedUsers(ctx, a)
	if err != nil {
		return res, err
	}
	for _, id := range users {
		u, err := s.st.FindUser(sys, id)
		if bulwark.ErrorCode(err) == bulwark.ENOTFOUND {
			continue
		}
		if err != nil {
			return res, err
		}
		r := emailOrg[u.Org]
		if r == nil || u.Disabled || checkEmail(u.Email) != nil {
			continue
		}
		p := bulwark.Principal{Org: u.Org, UserID: u.ID, Role: u.Role, Name: u.Name}
		col, items, err := src.AddedFor(ctx, p, a)
		if err != nil {
			return res, err
		}
		items = slices.DeleteFunc(items, func(it sharing.AddedItem) bool { return it.Marking != bulwark.TLPRed })
		if len(items) == 0 {
			continue
		}
		t := intelTarget{target{org: u.Org, name: u.Name, address: u.Email}, r}
		added, err := s.enqueueDigest(sys, a, fmt.Sprintf("user:%d", u.ID), u.Org, u.ID, col, items, []intelTarget{t}, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("user %d: %w", u.ID, err))
			continue
		}
		res.Added = append(res.Added, added...)
	}
	if len(res.Added) > 0 {
		s.log.Info("intel digests queued", "collection", a.Collection, "batch", a.ID, "count", len(res.Added))
	}
	return res, errors.Join(errs...)
}

// enqueueDigest records one event (for one organization, or one named
// user) and its messages, in one transaction.
func (s *Service) enqueueDigest(ctx context.Context, a *sharing.Added, who, org string, user int64, col *sharing.CollectionView,
	items []sharing.AddedItem, targets []intelTarget, now time.Time) ([]bulwark.Notification, error) {
	d := s.digest(col, items, now)
	payload, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode intel digest: %w", err)
	}
	ev := Event{Key: "intel:" + a.ID + ":" + who, Kind: bulwark.NotifyIntelAdded, OrgID: org, At: now}
	ev.Title, _ = d.render("")
	var ns []bulwark.Notification
	seen := map[string]bool{}
	for _, t := range targets {
		k := strings.ToLower(t.address)
		if seen[k] {
			continue // one digest per address, whichever rules name it
		}
		seen[k] = true
		name := oneLine(t.name, maxLineField)
		subject, body := d.render(name)
		n := bulwark.Notification{ID: newID(now), Key: dedupeKey(ev.Key, "intel", t.rule.Channel, t.address), EventKey: ev.Key, Org: org,
			Rule: t.rule.ID, Audience: t.rule.Audience, RecipientOrg: org, RecipientUser: user, RecipientName: oneLine(t.name, 500),
			Address: t.address, Secret: t.secret, Channel: t.rule.Channel, Status: bulwark.NotifyPending, NextAttempt: now,
			Subject: subject, Body: body}
		if t.rule.Channel == bulwark.ChannelWebhook {
			n.Payload = string(payload)
		}
		n.AckHash = hashToken(s.ackToken(n.ID))
		ns = append(ns, n)
	}
	added, err := s.st.EnqueueNotifications(ctx, ev, ns)
	if err != nil {
		return nil, fmt.Errorf("enqueue intel digest: %w", err)
	}
	return added, nil
}
