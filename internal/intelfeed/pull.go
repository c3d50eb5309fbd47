package intelfeed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
	"bulwark/internal/taxiiclient"
)

// Progress is reported after each page of a pull.
type Progress struct {
	Pages    int
	Objects  int // objects read
	New      int // new versions imported
	Rejected int
}

// Result is what one pull did.
type Result struct {
	Progress
	Duplicates int // versions already held (repeats at page boundaries, resumed pulls)
	// More is true when the pull stopped at its page or time limit: the
	// next pull follows within a minute.
	More   bool
	Cursor time.Time
	// Err is why the pull failed (also recorded as the feed's LastError).
	Err error
}

// maxDefinitionFetches bounds the marking-definitions one pull fetches by
// id to learn whether they are statements.
const maxDefinitionFetches = 20

// Pull pulls a subscription now, in the caller's goroutine: the System
// principal (the CLI, the job queue) or an administrator of the owning
// organization. progress (optional) is called after each page. The
// returned error is about starting the pull (not found, forbidden,
// another pull running); how the pull went is in the Result.
func (s *Service) Pull(ctx context.Context, id string, progress func(Progress)) (*Result, error) {
	if _, err := s.mayPull(ctx, id); err != nil {
		return nil, err
	}
	return s.pull(ctx, id, progress)
}

// pull is Pull without the authorization check (the job queue's).
func (s *Service) pull(ctx context.Context, id string, progress func(Progress)) (*Result, error) {
	lease := bulwark.IntelFeedLease{Holder: s.holder + ":" + newToken(), Until: s.cfg.Now().Add(s.cfg.LeaseTTL)}
	sys := sysCtx(context.WithoutCancel(ctx))
	f, err := s.st.ClaimIntelFeed(sys, id, lease)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PullTimeout)
	defer cancel()
	// The whole pull is one batch for the sharing service's observers: a
	// subscriber hears of it once, whatever the number of pages.
	ctx, flush := s.sh.Batch(ctx)
	defer flush(ctx)
	p := &puller{s: s, f: f, lease: lease, sys: sys, progress: progress, st: f.IntelFeedState}
	p.st.LastAttempt = s.cfg.Now().UTC()
	res := p.run(ctx)
	if err := p.finish(res); err != nil {
		return res, err
	}
	return res, nil
}

// puller is one pull of one subscription.
type puller struct {
	s        *Service
	f        *bulwark.IntelFeed
	lease    bulwark.IntelFeedLease
	sys      context.Context
	progress func(Progress)
	st       bulwark.IntelFeedState
	res      Result

	root    *taxiiclient.Root
	defs    []*stix.Object  // marking-definitions seen or fetched
	fetched map[string]bool // marking-definition ids fetched (or tried)
}

func (p *puller) run(ctx context.Context) *Result {
	p.res.Cursor = p.st.AddedAfter
	c, err := p.s.client(p.f)
	if err != nil {
		p.res.Err = err
		return &p.res
	}
	defer c.Close()
	apiRoot := p.f.APIRoot
	if apiRoot == "" {
		d, err := c.Discover(ctx)
		if err != nil {
			p.res.Err = err
			return &p.res
		}
		apiRoot = d.Default
		if apiRoot == "" && len(d.APIRoots) == 1 {
			apiRoot = d.APIRoots[0]
		}
		if apiRoot == "" {
			p.res.Err = bulwark.Errorf(bulwark.EINVALID, "the TAXII server names no default API root; give the feed's API root")
			return &p.res
		}
	}
	if p.root, err = c.Root(apiRoot); err != nil {
		p.res.Err = err
		return &p.res
	}
	p.fetched = map[string]bool{}
	start := taxiiclient.Filter{AddedAfter: p.st.AddedAfter, Limit: p.s.cfg.PageSize}
	resumed := p.st.ResumeNext != ""
	if resumed {
		start = taxiiclient.Filter{AddedAfter: p.st.ResumeAfter, Next: p.st.ResumeNext, Limit: p.s.cfg.PageSize}
	}
	err = p.pages(ctx, start)
	var se *taxiiclient.Error
	if err != nil && resumed && p.res.Pages == 0 && errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && se.Status != http.StatusTooManyRequests &&
		se.Status != http.StatusUnauthorized && se.Status != http.StatusForbidden {
		// The server no longer honours the saved next (expired, restarted):
		// go on from the cursor; objects at its boundary come again and
		// are recognized as held.
		p.s.log.Info("feed: saved next refused, resuming from the cursor", "feed", p.f.ID, "status", se.Status)
		p.st.ResumeNext, p.st.ResumeAfter = "", time.Time{}
		err = p.pages(ctx, taxiiclient.Filter{AddedAfter: p.st.AddedAfter, Limit: p.s.cfg.PageSize})
	}
	switch {
	case err == nil:
	case taxiiclient.IsPageLimit(err):
		p.res.More = true
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && p.res.Pages > 0:
		// The pull's time is up: what was read stays; the next pull goes
		// on from the checkpoint.
		p.res.More = true
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		p.res.Err = bulwark.Errorf(bulwark.EUNAVAILABLE, "the pull took longer than %s without reading a page", p.s.cfg.PullTimeout)
	case ctx.Err() != nil:
		p.res.Err = bulwark.Errorf(bulwark.ECANCELED, "the pull was interrupted after %d pages; it goes on from there next time", p.res.Pages)
	default:
		p.res.Err = err
	}
	p.res.Cursor = p.st.AddedAfter
	return &p.res
}

// pages reads pages from f on, importing and checkpointing each.
func (p *puller) pages(ctx context.Context, f taxiiclient.Filter) error {
	for page, err := range p.root.Pages(ctx, p.f.Collection, f) {
		if err != nil {
			return err
		}
		if err := p.importPage(ctx, page.ObjectsPage); err != nil {
			return err
		}
		p.res.Pages++
		p.res.Objects += len(page.Objects) + len(page.Rejected)
		// The cursor: after the last page ("more" false), the page's
		// X-TAXII-Date-Added-Last (everything up to it is imported); before,
		// just below it (objects sharing that date_added may follow on the
		// next page). The saved next continues exactly where this page
		// ended.
		last := page.DateAddedLast
		if !page.More {
			if !last.IsZero() && last.After(p.st.AddedAfter) {
				p.st.AddedAfter = last
			}
			p.st.ResumeNext, p.st.ResumeAfter = "", time.Time{}
		} else {
			if safe := last.Add(-time.Microsecond); !last.IsZero() && safe.After(p.st.AddedAfter) {
				p.st.AddedAfter = safe
			}
			// A page after which paging stopped (a loop) has no following
			// query: resume from the cursor.
			p.st.ResumeNext, p.st.ResumeAfter = "", time.Time{}
			if page.Following != nil && page.Following.Next != "" {
				p.st.ResumeNext, p.st.ResumeAfter = page.Following.Next, page.Following.AddedAfter
			}
		}
		if err := p.checkpoint(); err != nil {
			return err
		}
		if p.progress != nil {
			p.progress(p.res.Progress)
		}
		if testHookPage != nil {
			testHookPage(p.f.ID, p.res.Pages)
		}
	}
	return nil
}

// checkpoint saves the cursor and the resume point, extending the lease.
func (p *puller) checkpoint() error {
	p.lease.Until = p.s.cfg.Now().Add(p.s.cfg.LeaseTTL)
	st := p.st
	st.LastCount, st.LastRejected = p.res.New, p.res.Rejected
	if err := p.s.st.SaveIntelFeedState(p.sys, p.f.ID, p.lease, st, false); err != nil {
		return fmt.Errorf("save the feed's progress: %w", err)
	}
	return nil
}

// finish records the pull's outcome, schedules the next one and releases
// the lease.
func (p *puller) finish(res *Result) error {
	now := p.s.cfg.Now().UTC()
	st := p.st
	st.LastCount, st.LastRejected = res.New, res.Rejected
	switch {
	case res.Err == nil:
		st.LastSuccess, st.LastError, st.Failures = now, "", 0
		st.NextPull = now.Add(p.f.Interval)
		if res.More {
			st.NextPull = now.Add(time.Minute)
		}
	case bulwark.ErrorCode(res.Err) == bulwark.ECANCELED:
		// Interrupted (the server is stopping): not the partner's fault.
		st.LastError = bulwark.ErrorMessage(res.Err)
		st.NextPull = now.Add(time.Minute)
	default:
		st.Failures++
		st.LastError = describe(res.Err)
		st.NextPull = now.Add(p.s.backoff(st.Failures, p.f.Interval, res.Err))
	}
	p.st = st
	if err := p.s.st.SaveIntelFeedState(p.sys, p.f.ID, p.lease, st, true); err != nil {
		return fmt.Errorf("record the pull: %w", err)
	}
	if res.Err != nil {
		p.s.log.Warn("feed pull failed", "feed", p.f.ID, "org", p.f.Org, "failures", st.Failures, "next", st.NextPull, "err", bulwark.ErrorMessage(res.Err))
	} else {
		p.s.log.Info("feed pulled", "feed", p.f.ID, "org", p.f.Org, "pages", res.Pages, "new", res.New, "rejected", res.Rejected, "more", res.More)
	}
	return nil
}

// describe is the message a failed pull leaves for the feed's readers:
// the safe message of a Bulwark error with its first located problem; any
// other error is "internal error" (and logged).
func describe(err error) string {
	var e *bulwark.Error
	if !errors.As(err, &e) {
		return "internal error"
	}
	msg := e.Message
	if len(e.Details) > 0 {
		msg += ": " + e.Details[0].String()
	}
	return bulwark.Truncate(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return ' '
		}
		return r
	}, msg), 1000)
}

// backoff is the wait before the next attempt after failures failed pulls
// in a row: RetryBase doubling, capped at the interval and RetryMax, with
// full jitter in [d/2, d]; a server's longer Retry-After wins.
func (s *Service) backoff(failures int, interval time.Duration, err error) time.Duration {
	d := s.cfg.RetryBase << min(failures-1, 20)
	limit := min(interval, s.cfg.RetryMax)
	if d <= 0 || d > limit {
		d = limit
	}
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	if ra, ok := taxiiclient.RetryAfter(err); ok && ra > d {
		d = ra
	}
	return d
}

// importPage imports one page's objects through the sharing service,
// marking by marking (see floor), and counts the outcome.
func (p *puller) importPage(ctx context.Context, page *taxiiclient.ObjectsPage) error {
	p.res.Rejected += len(page.Rejected)
	if len(page.Objects) == 0 {
		return nil
	}
	for _, o := range page.Objects {
		if o.Type() == "marking-definition" {
			p.defs = append(p.defs, o)
		}
	}
	p.learnDefinitions(ctx, page.Objects)
	defs := stix.NewDefinitions(p.defs...)
	// Consecutive objects with the same floor go in one call, so that
	// versions of one object keep their order.
	var run []*stix.Object
	runFloor := bulwark.TLP("-")
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		err := p.add(ctx, run, runFloor, defs)
		run = run[:0]
		return err
	}
	for _, o := range page.Objects {
		fl := p.floor(o, defs)
		if fl != runFloor {
			if err := flush(); err != nil {
				return err
			}
			runFloor = fl
		}
		run = append(run, o)
	}
	return flush()
}

// floor is the least marking an object is imported with: the feed's
// MinMarking, and TLP:AMBER+STRICT for TLP:AMBER. A partner's AMBER may be
// shared within the receiving organization only, so it reaches the
// subscription's own organization (AMBER+STRICT to it), not the other
// readers of the target collection.
func (p *puller) floor(o *stix.Object, defs *stix.Definitions) bulwark.TLP {
	fl := p.f.MinMarking
	if tlpOf(defs.MarkingOf(o)) == bulwark.TLPAmber {
		fl = maxTLP(fl, bulwark.TLPAmberStrict)
	}
	return fl
}

// add imports objects with floor fl. A version the sharing service refuses
// for being marked below the version already held (a newer version
// without markings, granular markings removed) is imported again at the
// held marking: the city keeps the partner's latest content at the
// marking it already had — never lower.
func (p *puller) add(ctx context.Context, objs []*stix.Object, fl bulwark.TLP, defs *stix.Definitions) error {
	ictx := importCtx(context.WithoutCancel(ctx), p.f.Org, p.f.CreatedBy, p.f.Source())
	var lowered []*stix.Object
	isLowered := map[*stix.Object]bool{}
	refused := func(o *stix.Object, err error) {
		if errors.Is(err, sharing.ErrMarkingLowered) && !isLowered[o] {
			isLowered[o] = true
			lowered = append(lowered, o)
		}
	}
	st, err := p.s.sh.AddObjects(ictx, p.f.Target, objs, sharing.AddOptions{Source: p.f.Source(), Marking: fl, Defs: defs, Refused: refused})
	if err != nil {
		return fmt.Errorf("import into %s: %w", p.f.Target, err)
	}
	retried := map[string]bool{}
	for _, o := range lowered {
		retried[o.ID()+"@"+o.Version()] = true
	}
	p.count(st, func(d bulwark.IntelStatusDetail) bool { return retried[d.ID+"@"+d.Version] })
	if len(lowered) == 0 {
		return nil
	}
	held, err := p.held(ictx, lowered)
	if err != nil {
		return err
	}
	for _, o := range lowered {
		h, ok := held[o.ID()]
		if !ok {
			p.res.Rejected++
			continue
		}
		st, err := p.s.sh.AddObjects(ictx, p.f.Target, []*stix.Object{o}, sharing.AddOptions{Source: p.f.Source(), Marking: maxTLP(fl, h), Defs: defs})
		if err != nil {
			return fmt.Errorf("import into %s: %w", p.f.Target, err)
		}
		p.count(st, nil)
	}
	return nil
}

// count adds a status's outcome to the result; retry marks failures that
// will be tried again (not counted).
func (p *puller) count(st *bulwark.IntelStatus, retry func(bulwark.IntelStatusDetail) bool) {
	for _, d := range st.Successes {
		if d.Message == "" {
			p.res.New++
			p.st.Imported++
		} else {
			p.res.Duplicates++
		}
	}
	for _, d := range st.Failures {
		if retry != nil && retry(d) {
			continue
		}
		p.res.Rejected++
		if p.res.Rejected <= 5 {
			p.s.log.Info("feed: object refused", "feed", p.f.ID, "object", d.ID, "version", d.Version, "why", d.Message)
		}
	}
}

// held returns the marking of the latest version the subscription's
// organization holds of each object in the target collection.
func (p *puller) held(ctx context.Context, objs []*stix.Object) (map[string]bulwark.TLP, error) {
	ids := make([]string, 0, len(objs))
	for _, o := range objs {
		ids = append(ids, o.ID())
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := map[string]bulwark.TLP{}
	for len(ids) > 0 {
		n := min(len(ids), sharing.MaxPageSize)
		next := ""
		for {
			page, err := p.s.sh.Manifest(ctx, p.f.Target, sharing.Query{IDs: ids[:n], Versions: sharing.VersionFilter{Last: true}, Limit: sharing.MaxPageSize}, next)
			if err != nil {
				return nil, fmt.Errorf("read held markings: %w", err)
			}
			for _, it := range page.Items {
				if it.Publisher == p.f.Org {
					out[it.STIXID] = maxTLP(out[it.STIXID], it.Marking)
				}
			}
			if !page.More || page.Next == "" {
				break
			}
			next = page.Next
		}
		ids = ids[n:]
	}
	return out, nil
}

// learnDefinitions fetches, from the partner's collection, the
// marking-definitions the page's objects reference but the pull has not
// seen, so that statement markings (terms of use, copyright) are not taken
// for unknown ones (which count as TLP:RED). At most
// maxDefinitionFetches per pull; one that cannot be fetched stays unknown
// (RED: fail closed).
func (p *puller) learnDefinitions(ctx context.Context, objs []*stix.Object) {
	known := map[string]bool{}
	for _, d := range p.defs {
		known[d.ID()] = true
	}
	for _, o := range objs {
		refs := o.ObjectMarkingRefs()
		for _, g := range o.GranularMarkings() {
			if g.MarkingRef != "" {
				refs = append(refs, g.MarkingRef)
			}
		}
		for _, ref := range refs {
			if stix.IsTLPID(ref) || known[ref] || p.fetched[ref] || len(p.fetched) >= maxDefinitionFetches {
				continue
			}
			p.fetched[ref] = true
			page, err := p.root.Object(ctx, p.f.Collection, ref, taxiiclient.Filter{})
			if err != nil {
				p.s.log.Info("feed: marking-definition not fetched", "feed", p.f.ID, "id", ref, "err", bulwark.ErrorMessage(err))
				continue
			}
			for _, d := range page.Objects {
				if d.ID() == ref && d.Type() == "marking-definition" {
					p.defs = append(p.defs, d)
					known[ref] = true
				}
			}
		}
	}
}

// testHookPage, when set (tests), is called after each checkpoint.
var testHookPage func(feed string, pages int)

func newToken() string {
	var b [6]byte
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return fmt.Sprintf("%x", b)
}
