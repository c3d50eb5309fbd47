package sharing

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/stix"
)

// Item is one version of an object as a caller receives it.
type Item struct {
	STIXID      string      `json:"id"`
	Type        string      `json:"type"`
	SpecVersion string      `json:"spec_version"`
	Version     time.Time   `json:"version"`
	DateAdded   time.Time   `json:"date_added"`
	Marking     bulwark.TLP `json:"marking"`
	Publisher   string      `json:"publisher"`
	// Source is the version's provenance: "publish", "taxii",
	// "import:<name>", "feed:<name>" (IntelObject.Source).
	Source string `json:"source"`
	Body   []byte `json:"-"` // nil for manifests
}

// Page is one page of a query. Next, when set, continues it (only with the
// same collection and filters).
type Page struct {
	Items []Item
	More  bool
	Next  string

	bufs []*[]byte // what the bodies were read into (see Release)
}

// Release gives the buffers holding the page's bodies back for reuse by
// later pages. Call it only when nothing uses the bodies any more (after
// they are written out); the Items' bodies are cleared. A page that is
// never released is left to the garbage collector.
func (p *Page) Release() {
	if p == nil {
		return
	}
	for i := range p.Items {
		p.Items[i].Body = nil
	}
	releaseBufs(p.bufs)
	p.bufs = nil
}

// Endpoint kinds, bound into cursors so that one endpoint's cursor is
// refused by another.
const (
	kindObjects  = 'o'
	kindManifest = 'm'
	kindVersions = 'v'
	kindObject   = 'i'
)

// MaxPageSize caps a page; DefaultPageSize is used without a limit.
const (
	MaxPageSize     = 1000
	DefaultPageSize = 100
)

// readRights resolves a collection for reading: ENOTFOUND when the
// caller's organization may neither read nor write it (nothing is
// revealed), EFORBIDDEN when it may write but not read.
func (s *Service) readRights(p bulwark.Principal, id string) (*bulwark.Collection, bool, error) {
	c := s.acc.collection(id)
	if c == nil {
		return nil, false, errNoCollection(id)
	}
	v, ok := s.viewOf(p, c)
	if !ok {
		return nil, false, errNoCollection(id)
	}
	if !v.CanRead {
		return nil, false, bulwark.Errorf(bulwark.EFORBIDDEN, "you may not read collection %s", c.ID)
	}
	return c, true, nil
}

// visibility returns the per-scope decision for p, memoized per query.
func (s *Service) visibility(p bulwark.Principal, canRead bool) func(int32) bool {
	memo := map[int32]bool{}
	scopes := s.idx.scopes
	return func(i int32) bool {
		v, ok := memo[i]
		if !ok {
			v = CanSee(p, &scopes[i], canRead)
			memo[i] = v
		}
		return v
	}
}

// Objects returns one page of the objects of a collection the caller may
// see, with their bodies (TAXII Get Objects, and the API's listing).
func (s *Service) Objects(ctx context.Context, col string, q Query, next string) (*Page, error) {
	return s.query(ctx, col, q, next, kindObjects, true)
}

// Manifest is Objects without bodies (TAXII Get Object Manifests).
func (s *Service) Manifest(ctx context.Context, col string, q Query, next string) (*Page, error) {
	return s.query(ctx, col, q, next, kindManifest, false)
}

// Object returns the versions of one object selected by q (TAXII Get an
// Object). It is ENOTFOUND when the caller sees no version of the object,
// whatever the filters.
func (s *Service) Object(ctx context.Context, col, id string, q Query, next string) (*Page, error) {
	if err := s.objectExists(ctx, col, id); err != nil {
		return nil, err
	}
	q.IDs = []string{id}
	return s.query(ctx, col, q, next, kindObject, true)
}

// Versions lists the versions of one object (TAXII Get Object Versions);
// the Items have no bodies.
func (s *Service) Versions(ctx context.Context, col, id string, q Query, next string) (*Page, error) {
	if err := s.objectExists(ctx, col, id); err != nil {
		return nil, err
	}
	q.IDs = []string{id}
	q.Versions = VersionFilter{All: true}
	return s.query(ctx, col, q, next, kindVersions, false)
}

// objectExists fails with ENOTFOUND unless the caller sees some version of
// id in col.
func (s *Service) objectExists(ctx context.Context, col, id string) error {
	page, err := s.query(ctx, col, Query{IDs: []string{id}, Versions: VersionFilter{All: true}, anySpec: true, Limit: 1}, "", kindObject, false)
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		return bulwark.Errorf(bulwark.ENOTFOUND, "object %q not found", bulwark.Truncate(id, 300))
	}
	return nil
}

// Count returns how many versions matching q the caller may see in col
// (every visible version with VersionFilter{All: true}).
func (s *Service) Count(ctx context.Context, col string, q Query) (int, error) {
	p, err := principal(ctx)
	if err != nil {
		return 0, err
	}
	if err := s.sync(ctx); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, canRead, err := s.readRights(p, col)
	if err != nil {
		return 0, err
	}
	ci := s.idx.cols[c.ID]
	if ci == nil {
		return 0, nil
	}
	q.Limit, q.After = 0, 0
	_, _, n := s.idx.evalQuery(ci, &q, s.visibility(p, canRead))
	return n, nil
}

func (s *Service) query(ctx context.Context, col string, q Query, next string, kind byte, bodies bool) (*Page, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > MaxPageSize {
		q.Limit = min(max(q.Limit, DefaultPageSize), MaxPageSize)
	}
	secret, err := s.cursorKey(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	c, canRead, err := s.readRights(p, col)
	if err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	fh := filterHash(kind, c.ID, &q)
	if next != "" {
		after, err := parseCursor(secret, next, fh)
		if err != nil {
			s.mu.RUnlock()
			return nil, err
		}
		q.After = after
	}
	page := &Page{}
	var restricted int
	if ci := s.idx.cols[c.ID]; ci != nil {
		hits, more, _ := s.idx.evalQuery(ci, &q, s.visibility(p, canRead))
		page.More = more
		for _, h := range hits {
			sc := &s.idx.scopes[h.scope]
			if sc.Marking == bulwark.TLPRed || sc.Marking == bulwark.TLPAmberStrict {
				restricted++
			}
			page.Items = append(page.Items, Item{STIXID: s.idx.stixID(ci, h.stream), Type: s.idx.types[h.typ], SpecVersion: s.idx.specs[h.spec],
				Version: time.UnixMicro(h.version).UTC(), DateAdded: time.UnixMicro(h.added).UTC(), Marking: sc.Marking, Publisher: sc.PublisherOrg,
				Source: s.idx.sourceOf(ci, h.entry)})
		}
		if more && len(hits) > 0 {
			page.Next = makeCursor(secret, fh, hits[len(hits)-1].seq)
		}
		if bodies && len(hits) > 0 {
			seqs := make([]int64, len(hits))
			for i, h := range hits {
				seqs[i] = h.seq
			}
			bodies := s.bodies
			s.mu.RUnlock()
			bs, bufs, err := s.readBodies(ctx, bodies, seqs, page.Items)
			if err != nil {
				releaseBufs(bufs)
				return nil, err
			}
			page.bufs = bufs
			items := page.Items[:0]
			for i, b := range bs {
				if b == nil {
					continue // deleted since the page was computed
				}
				it := page.Items[i]
				it.Body = b
				items = append(items, it)
			}
			page.Items = items
			s.auditRestricted(ctx, p, c.ID, restricted)
			return page, nil
		}
	}
	s.mu.RUnlock()
	s.auditRestricted(ctx, p, c.ID, restricted)
	return page, nil
}

// readBodies returns the bodies of seqs: from the body log where it holds
// them, from the database for the rest.
func (s *Service) readBodies(ctx context.Context, l *bodyLog, seqs []int64, items []Item) (out [][]byte, bufs []*[]byte, err error) {
	out = make([][]byte, len(seqs))
	var missing []int
	if l != nil {
		keys := make([]uint64, len(seqs))
		for i, it := range items {
			keys[i] = bodyKey(it.STIXID, it.Version.UnixMicro(), it.DateAdded.UnixMicro())
		}
		bufs = l.read(seqs, keys, out)
		for i := range out {
			if out[i] == nil {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			return out, bufs, nil
		}
	}
	ask := seqs
	if l != nil {
		ask = make([]int64, len(missing))
		for k, i := range missing {
			ask[k] = seqs[i]
		}
	}
	bs, err := s.st.IntelBodies(sysCtx(ctx), ask)
	if err != nil {
		return nil, bufs, fmt.Errorf("read intel objects: %w", err)
	}
	if l == nil {
		return bs, nil, nil
	}
	for k, i := range missing {
		out[i] = bs[k]
	}
	return out, bufs, nil
}

// auditRestricted records reads of TLP:RED and TLP:AMBER+STRICT content
// (reliability row LG-02): who, which collection, how many; never what.
func (s *Service) auditRestricted(ctx context.Context, p bulwark.Principal, col string, n int) {
	if n == 0 {
		return
	}
	err := s.st.AppendAudit(context.WithoutCancel(ctx), bulwark.AuditEntry{Org: p.Org, Action: "intel.read.restricted",
		Target: "collection:" + col, Outcome: "ok", Detail: fmt.Sprintf("%d TLP:RED or TLP:AMBER+STRICT versions", n)})
	if err != nil {
		s.log.Error("audit", "action", "intel.read.restricted", "err", err)
	}
}

func (s *Service) cursorKey(ctx context.Context) ([]byte, error) {
	s.mu.RLock()
	k := s.secret
	s.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	k, err := s.st.IntelSecret(sysCtx(ctx))
	if err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	s.mu.Lock()
	s.secret = k
	s.mu.Unlock()
	return k, nil
}

// filterHash binds a cursor to its endpoint, collection and filters.
func filterHash(kind byte, col string, q *Query) [8]byte {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(strconv.Itoa(len(p))))
			h.Write([]byte{':'})
			h.Write([]byte(p))
		}
		h.Write([]byte{'|'})
	}
	w(string(kind), col)
	for _, l := range [][]string{q.IDs, q.Types, q.SpecVersions} {
		l = slices.Clone(l)
		slices.Sort(l)
		w(l...)
	}
	v := q.Versions
	at := make([]string, len(v.At))
	for i, t := range v.At {
		at[i] = strconv.FormatInt(t.UnixMicro(), 10)
	}
	slices.Sort(at)
	w(strconv.FormatBool(v.All), strconv.FormatBool(v.First), strconv.FormatBool(v.Last))
	w(at...)
	added := ""
	if !q.AddedAfter.IsZero() {
		added = strconv.FormatInt(q.AddedAfter.UnixMicro(), 10)
	}
	w(added)
	if len(q.Sources) > 0 || len(q.Publishers) > 0 {
		// Only then: cursors issued before these filters existed stay valid.
		for _, l := range [][]string{q.Sources, q.Publishers} {
			l = slices.Clone(l)
			slices.Sort(l)
			w(l...)
		}
	}
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}

// A cursor is base64url(seq (8) | filter hash (8) | HMAC-SHA256 (16)).
func makeCursor(key []byte, fh [8]byte, seq int64) string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[0:8], uint64(seq))
	copy(b[8:16], fh[:])
	m := hmac.New(sha256.New, key)
	m.Write(b[:16])
	copy(b[16:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var errCursor = bulwark.Errorf(bulwark.EINVALID, "next: not a cursor this server issued for this query (repeat the query's filters unchanged)")

func parseCursor(key []byte, s string, fh [8]byte) (int64, error) {
	if len(s) != 43 {
		return 0, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return 0, errCursor
	}
	m := hmac.New(sha256.New, key)
	m.Write(b[:16])
	if !hmac.Equal(b[16:], m.Sum(nil)[:16]) || !hmac.Equal(b[8:16], fh[:]) {
		return 0, errCursor
	}
	seq := int64(binary.BigEndian.Uint64(b[0:8]))
	if seq < 0 {
		return 0, errCursor
	}
	return seq, nil
}

// writeRights resolves a collection for adding: the caller's organization
// may write it and the caller's role may write at all.
func (s *Service) writeRights(p bulwark.Principal, id string) (*bulwark.Collection, bulwark.CollectionAccess, error) {
	c := s.acc.collection(id)
	if c == nil {
		return nil, bulwark.CollectionAccess{}, errNoCollection(id)
	}
	r := s.acc.rightsOf(c, p.Org)
	if p.System {
		r = bulwark.CollectionAccess{Org: "", CanRead: true, CanWrite: true}
	}
	if !r.CanRead && !r.CanWrite {
		return nil, r, errNoCollection(id)
	}
	if !r.CanWrite {
		return nil, r, bulwark.Errorf(bulwark.EFORBIDDEN, "you may not add to collection %s", c.ID)
	}
	if !p.System && !p.Role.CanWrite() {
		return nil, r, bulwark.Errorf(bulwark.EFORBIDDEN, "your role (%s) is read-only", p.Role)
	}
	return c, r, nil
}

// readersOf lists the organizations that may read c.
func (s *Service) readersOf(c *bulwark.Collection) []string {
	var out []string
	for org, a := range s.acc.rights[c.ID] {
		if a.CanRead && s.acc.members[c.Community][org] {
			out = append(out, org)
		}
	}
	slices.Sort(out)
	return out
}

// AddOptions tune AddObjects.
type AddOptions struct {
	// Source is the provenance recorded with each object: "taxii",
	// "import:<name>", "feed:<name>".
	Source string
	// Marking, when set, is the least marking of every object: an object
	// marked less strictly (or not at all) takes it. Unset, an object keeps
	// its own TLP marking, and one without any gets DefaultTLP.
	Marking bulwark.TLP
	// Defs are the marking-definitions known to be neutral statements
	// (from the bundle); other non-TLP marking references count as RED.
	Defs *stix.Definitions
	// Rejected are objects that failed to decode, reported as failures.
	Rejected []stix.Rejection
	// Refused, when set, is called with each object the service refused
	// and why, so that a caller can act on the kind of refusal (errors.Is
	// with ErrMarkingLowered) rather than on the status's message text.
	Refused func(o *stix.Object, err error)
}

// tlpOf maps internal/stix's marking to the domain's.
func tlpOf(m stix.Marking) (bulwark.TLP, bool) {
	switch m {
	case stix.Clear:
		return bulwark.TLPClear, true
	case stix.Green:
		return bulwark.TLPGreen, true
	case stix.Amber:
		return bulwark.TLPAmber, true
	case stix.AmberStrict:
		return bulwark.TLPAmberStrict, true
	case stix.Red:
		return bulwark.TLPRed, true
	}
	return "", false
}

// derivedScope is the scope of an object added without an explicit
// audience (TAXII POST, bundle import): AMBER reaches the organizations
// that read the collection now, AMBER+STRICT the poster's organization, RED
// the poster alone. marked is false when the object carries no TLP marking
// (a new version of a stored object then keeps the object's scope).
func derivedScope(p bulwark.Principal, o *stix.Object, opt *AddOptions, readers []string) (sc bulwark.IntelScope, marked bool) {
	lvl, marked := tlpOf(opt.Defs.MarkingOf(o))
	switch {
	case !marked && o.Type() == "marking-definition":
		lvl = bulwark.TLPClear // a definition reveals nothing and must reach whoever sees what it marks
	case !marked && opt.Marking == "":
		lvl = bulwark.DefaultTLP
	}
	if opt.Marking.Rank() > lvl.Rank() {
		lvl = opt.Marking
	}
	sc = bulwark.IntelScope{Marking: lvl, PublisherOrg: p.Org, PublisherUser: p.UserID}
	switch lvl {
	case bulwark.TLPAmber:
		sc.Orgs = slices.Clone(readers)
	case bulwark.TLPAmberStrict:
		sc.Orgs = []string{p.Org}
	}
	return sc, marked || opt.Marking != ""
}

// check is the write rule every added version passes, inside the store's
// transaction:
//   - the same STIX id published in the collection by another organization
//     that the poster can see refuses the object (only an object's creator
//     versions it); one the poster cannot see is left alone, and the two
//     stay separate objects;
//   - a marking is never lowered, and re-scoping never reaches anyone the
//     earlier versions did not (reliability row AC-02);
//   - without an explicit audience, a version with the same marking keeps
//     the object's audience, and a version without any TLP marking
//     (unmarked reports which) keeps the object's scope.
func (s *Service) check(p bulwark.Principal, canRead, explicit bool, orgOf func(int64) string, unmarked func(*bulwark.IntelObject) bool) bulwark.IntelCheck {
	return func(o *bulwark.IntelObject, own *bulwark.IntelScope, others []bulwark.IntelScope) (bulwark.IntelScope, error) {
		next := o.IntelScope
		if own != nil && unmarked != nil && unmarked(o) {
			return *own, nil
		}
		if own == nil {
			for i := range others {
				if CanSee(p, &others[i], canRead) {
					return next, bulwark.Errorf(bulwark.ECONFLICT, "%s is published in this collection by another organization; only its creator may add versions", o.STIXID)
				}
			}
			return next, nil
		}
		if next.Marking.Rank() < own.Marking.Rank() {
			return next, loweredError(bulwark.Errorf(bulwark.ECONFLICT, "%s is marked %s: a version may not lower it to %s", o.STIXID, own.Marking.Label(), next.Marking.Label()))
		}
		if next.Marking == own.Marking && !explicit {
			return *own, nil
		}
		if next.Marking == own.Marking && next.Equal(*own) {
			return next, nil
		}
		if !narrower(*own, next, orgOf) {
			return next, bulwark.Errorf(bulwark.ECONFLICT, "%s: the new marking would reach someone its earlier versions did not; publish a new object instead", o.STIXID)
		}
		return next, nil
	}
}

// AddObjects adds decoded STIX objects to a collection (TAXII Add Objects,
// bundle imports) and returns a complete TAXII status resource: each object
// succeeded (stored, or an identical version already was) or failed with a
// reason. The status is stored for the caller's user.
func (s *Service) AddObjects(ctx context.Context, col string, objs []*stix.Object, opt AddOptions) (*bulwark.IntelStatus, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	c, r, err := s.writeRights(p, col)
	var readers []string
	if err == nil {
		readers = s.readersOf(c)
	}
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	status := &bulwark.IntelStatus{ID: uuid.NewString(), Collection: c.ID, Status: "complete", Requested: time.Now().UTC(),
		Total: len(objs) + len(opt.Rejected)}
	for _, rj := range opt.Rejected {
		msg := "invalid object"
		if len(rj.Problems) > 0 {
			msg = rj.Problems[0].String()
		}
		id := rj.ID
		if id == "" {
			id = rj.Pointer // an object without a readable id is named by its place
		}
		status.Failures = append(status.Failures, bulwark.IntelStatusDetail{ID: id, Version: "", Message: bulwark.Truncate(msg, 500)})
	}
	if opt.Source == "" {
		opt.Source = "taxii"
	}
	in := make([]bulwark.IntelObject, 0, len(objs))
	var kept []*stix.Object
	var plainIdx []int // objects without a TLP marking
	for i, o := range objs {
		sc, marked := derivedScope(p, o, &opt, readers)
		if !marked {
			plainIdx = append(plainIdx, i)
		}
		in = append(in, bulwark.IntelObject{STIXID: o.ID(), Type: o.Type(), SpecVersion: specOf(o), Version: o.VersionTime(),
			Revoked: o.Revoked(), IntelScope: sc, Source: bulwark.Truncate(opt.Source, 200), Body: o.JSON()})
		kept = append(kept, o)
	}
	orgOf := func(u int64) string {
		if u == p.UserID {
			return p.Org
		}
		return ""
	}
	// The store hands check pointers into in.
	plain := map[*bulwark.IntelObject]bool{}
	for _, i := range plainIdx {
		plain[&in[i]] = true
	}
	unmarked := func(o *bulwark.IntelObject) bool { return plain[o] }
	res, err := s.st.PutIntelObjects(ctx, c.ID, in, s.check(p, r.CanRead || p.System, false, orgOf, unmarked))
	if err != nil {
		return nil, fmt.Errorf("add objects: %w", err)
	}
	for i, x := range res {
		d := bulwark.IntelStatusDetail{ID: kept[i].ID(), Version: versionText(kept[i])}
		if x.Err != nil {
			d.Message = bulwark.ErrorMessage(x.Err)
			status.Failures = append(status.Failures, d)
			if opt.Refused != nil {
				opt.Refused(kept[i], x.Err)
			}
			continue
		}
		if x.Duplicate {
			d.Message = "already in the collection"
		}
		status.Successes = append(status.Successes, d)
	}
	if err := s.st.PutIntelStatus(ctx, status); err != nil {
		return nil, fmt.Errorf("store status: %w", err)
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.reportAdded(ctx, c.ID, in, res)
	return status, nil
}

func specOf(o *stix.Object) string {
	if v := o.SpecVersion(); v != "" {
		return v
	}
	return "2.1"
}

// versionText is the TAXII version of an object: modified, else created.
func versionText(o *stix.Object) string {
	if v := o.Version(); v != "" {
		return v
	}
	return ""
}

// Status returns a status resource of the caller's own.
func (s *Service) Status(ctx context.Context, id string) (*bulwark.IntelStatus, error) {
	if _, err := principal(ctx); err != nil {
		return nil, err
	}
	if !bulwark.ValidUUID(id) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "status %q not found", bulwark.Truncate(id, 64))
	}
	return s.st.FindIntelStatus(ctx, id)
}

// ImportOptions tune Import.
type ImportOptions struct {
	Name    string      // provenance: recorded as "import:<name>"
	Marking bulwark.TLP // least marking of every object (see AddOptions)
	Limits  stix.Limits
}

// Import reads a STIX bundle strictly and adds its objects to a
// collection; objects that fail to decode are reported in the status and
// the rest are added.
func (s *Service) Import(ctx context.Context, col string, r io.Reader, opt ImportOptions) (*bulwark.IntelStatus, error) {
	if opt.Marking != "" && !opt.Marking.Valid() {
		return nil, bulwark.Errorf(bulwark.EINVALID, "marking %q: use clear, green, amber, amber+strict or red", bulwark.Truncate(string(opt.Marking), 40))
	}
	b, err := stix.DecodeBundle(r, opt.Limits)
	if err != nil {
		return nil, err
	}
	return s.AddObjects(ctx, col, b.Objects, AddOptions{Source: "import:" + bulwark.Truncate(opt.Name, 180), Marking: opt.Marking, Defs: b.Definitions(), Rejected: b.Rejected})
}

// PublishRequest is an analyst's deliberate publication of one object.
type PublishRequest struct {
	Collection string
	Object     []byte      // one STIX 2.1 object
	Marking    bulwark.TLP // "": DefaultTLP (AMBER+STRICT to the publisher's organization)
	// Orgs are the recipient organizations of an AMBER object, or the one
	// of an AMBER+STRICT object (default: the publisher's own). Each must be
	// able to read the collection.
	Orgs []string
	// Users are the named recipients of a RED object (the publisher always
	// is one). Each must belong to an organization that reads the
	// collection.
	Users []int64
}

// Publish marks an object with the chosen TLP 2.0 marking (its
// object_marking_refs carry the TLP 2.0 marking-definition id), checks it
// and adds it to the collection for exactly the chosen audience.
func (s *Service) Publish(ctx context.Context, req PublishRequest) (*bulwark.IntelObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	if req.Marking == "" {
		req.Marking = bulwark.DefaultTLP
	}
	if !req.Marking.Valid() {
		return nil, bulwark.Errorf(bulwark.EINVALID, "marking %q: use clear, green, amber, amber+strict or red", bulwark.Truncate(string(req.Marking), 40))
	}
	s.mu.RLock()
	c, r, err := s.writeRights(p, req.Collection)
	readers := map[string]bool{}
	if err == nil {
		for _, o := range s.readersOf(c) {
			readers[o] = true
		}
	}
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	sc := bulwark.IntelScope{Marking: req.Marking, Orgs: slices.Clone(req.Orgs), Users: slices.Clone(req.Users), PublisherOrg: p.Org, PublisherUser: p.UserID}
	if req.Marking == bulwark.TLPAmberStrict && len(sc.Orgs) == 0 {
		sc.Orgs = []string{p.Org}
	}
	sc.Normalize()
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if req.Marking == bulwark.TLPAmber && len(sc.Orgs) == 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "TLP:AMBER: name the recipient organizations")
	}
	for _, o := range sc.Orgs {
		if !readers[o] {
			return nil, bulwark.Errorf(bulwark.EINVALID, "recipient %s cannot read collection %s", bulwark.Truncate(o, 128), c.ID)
		}
	}
	userOrgs := map[int64]string{p.UserID: p.Org}
	for _, u := range sc.Users {
		org := s.orgOfUser(ctx, u)
		if org == "" || !readers[org] {
			return nil, bulwark.Errorf(bulwark.EINVALID, "recipient user %d is unknown or cannot read collection %s", u, c.ID)
		}
		userOrgs[u] = org
	}
	o, err := markObject(req.Object, req.Marking)
	if err != nil {
		return nil, err
	}
	in := []bulwark.IntelObject{{STIXID: o.ID(), Type: o.Type(), SpecVersion: specOf(o), Version: o.VersionTime(), Revoked: o.Revoked(),
		IntelScope: sc, Source: "publish", Body: o.JSON()}}
	orgOf := func(u int64) string { return userOrgs[u] }
	res, err := s.st.PutIntelObjects(ctx, c.ID, in, s.check(p, r.CanRead || p.System, true, orgOf, nil))
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.reportAdded(ctx, c.ID, in, res)
	out := in[0]
	out.Seq, out.DateAdded, out.Collection = res[0].Seq, res[0].DateAdded, c.ID
	if res[0].Duplicate {
		return &out, bulwark.Errorf(bulwark.ECONFLICT, "%s version %s is already in the collection", o.ID(), o.Version())
	}
	return &out, nil
}

// markObject parses an analyst's object strictly and sets its TLP marking:
// TLP references in object_marking_refs are replaced by the chosen one (a
// different TLP already there is refused rather than silently changed), and
// a granular TLP marking stricter than the chosen one is refused.
func markObject(data []byte, m bulwark.TLP) (*stix.Object, error) {
	o, err := stix.ParseObject(data, stix.Limits{MaxBytes: 1 << 20})
	if err != nil {
		return nil, err
	}
	chosen, _ := stix.ParseMarking(string(m))
	for _, ref := range o.ObjectMarkingRefs() {
		if lvl, ok := stix.MarkingByID(ref); ok && lvl != chosen {
			return nil, bulwark.Errorf(bulwark.EINVALID, "the object is marked %s; publish it as that or remove the marking", lvl)
		}
	}
	for _, g := range o.GranularMarkings() {
		if lvl, ok := stix.MarkingByID(g.MarkingRef); ok && lvl > chosen {
			return nil, bulwark.Errorf(bulwark.EINVALID, "part of the object is marked %s, stricter than %s", lvl, chosen)
		}
	}
	var props map[string]jsontext.Value
	if err := json.Unmarshal(o.JSON(), &props); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	refs := []string{chosen.ID()}
	for _, ref := range o.ObjectMarkingRefs() {
		if !stix.IsTLPID(ref) {
			refs = append(refs, ref)
		}
	}
	enc, err := json.Marshal(refs)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	props["object_marking_refs"] = enc
	out, err := json.Marshal(props, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	o, err = stix.ParseObject(out, stix.Limits{MaxBytes: 1 << 20})
	if err != nil {
		return nil, err
	}
	if probs := stix.Validate(o); len(probs) > 0 {
		return nil, &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid STIX object " + o.ID() + ": " + probs[0].String(), Details: probs}
	}
	return o, nil
}

// Delete removes versions of an object the caller's organization published
// (TAXII Delete an Object): those q's version and spec filters select
// (default: every version). It is ENOTFOUND when the caller sees no version
// of the object and EFORBIDDEN when it sees only others' versions or may
// not write the collection.
func (s *Service) Delete(ctx context.Context, col, id string, q Query) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if err := s.sync(ctx); err != nil {
		return err
	}
	if q.Versions.isZero() {
		q.Versions = VersionFilter{All: true}
	}
	q.anySpec = q.SpecVersions == nil
	q.IDs = []string{id}
	q.Limit, q.After = 0, 0
	s.mu.RLock()
	c, canRead, err := s.readRights(p, col)
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	r := s.acc.rightsOf(c, p.Org)
	var seqs []int64
	seen, matched := false, 0
	if ci := s.idx.cols[c.ID]; ci != nil {
		vis := s.visibility(p, canRead)
		all, _, _ := s.idx.evalQuery(ci, &Query{IDs: q.IDs, Versions: VersionFilter{All: true}, anySpec: true, Limit: 1}, vis)
		seen = len(all) > 0
		hits, _, _ := s.idx.evalQuery(ci, &q, vis)
		matched = len(hits)
		for _, h := range hits {
			if s.idx.scopes[h.scope].PublisherOrg == p.Org {
				seqs = append(seqs, h.seq)
			}
		}
	}
	s.mu.RUnlock()
	if !seen {
		return bulwark.Errorf(bulwark.ENOTFOUND, "object %q not found", bulwark.Truncate(id, 300))
	}
	if !p.System && (!r.CanWrite || !p.Role.CanWrite()) {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "you may not delete from collection %s", c.ID)
	}
	if matched == 0 {
		// As TAXII answers a match[version] that selects nothing.
		return bulwark.Errorf(bulwark.ENOTFOUND, "no version of %s matches the version filter", bulwark.Truncate(id, 300))
	}
	if len(seqs) == 0 {
		return bulwark.Errorf(bulwark.EFORBIDDEN, "only the organization that published %s may delete it", bulwark.Truncate(id, 300))
	}
	if err := s.st.DeleteIntelVersions(ctx, c.ID, seqs); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return s.afterDelete(ctx, c.ID, seqs)
}

// afterDelete applies this process's own removal to the index without a
// rebuild when no other removal happened meanwhile.
func (s *Service) afterDelete(ctx context.Context, col string, seqs []int64) error {
	st, err := s.st.IntelState(sysCtx(ctx))
	if err != nil {
		return fmt.Errorf("intel state: %w", err)
	}
	s.syncMu.Lock()
	s.mu.Lock()
	if st.Epoch == s.state.Epoch+1 {
		s.idx.remove(col, seqs)
		s.state.Epoch = st.Epoch
	}
	s.mu.Unlock()
	s.syncMu.Unlock()
	return s.sync(ctx)
}

// ParseVersions reads TAXII's match[version] value.
func ParseVersions(v string) (VersionFilter, error) {
	var f VersionFilter
	seen := map[string]bool{}
	for _, part := range strings.Split(v, ",") {
		if seen[part] {
			return f, bulwark.Errorf(bulwark.EINVALID, "match[version]: %q is repeated", bulwark.Truncate(part, 40))
		}
		seen[part] = true
		switch part {
		case "all":
			f.All = true
		case "first":
			f.First = true
		case "last":
			f.Last = true
		default:
			t, _, ok := stix.ParseTimestamp(part)
			if !ok {
				return f, bulwark.Errorf(bulwark.EINVALID, "match[version]: %q is not all, first, last or a timestamp", bulwark.Truncate(part, 40))
			}
			f.At = append(f.At, t)
		}
	}
	if f.All && len(seen) > 1 {
		return f, bulwark.Errorf(bulwark.EINVALID, "match[version]: all cannot be combined with other values")
	}
	return f, nil
}

// Export writes the objects of a collection that the caller may see as one
// STIX 2.1 bundle (the latest version of each, or every version), with the
// TLP marking-definitions they use: the export path (AC-07) goes through
// the same rule as every other read. It returns the number of objects. The
// bundle is streamed a page at a time (see export).
func (s *Service) Export(ctx context.Context, col string, allVersions bool, w io.Writer) (int, error) {
	return s.export(ctx, col, allVersions, stix.NewBundleID(), MaxPageSize, w)
}
