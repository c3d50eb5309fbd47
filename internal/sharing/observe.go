package sharing

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/google/uuid"

	"bulwark"
)

// Observers of additions. After a write to a collection commits (a
// publication, a TAXII POST, a bundle import, a feed pull's page), the
// functions registered with OnAdded are told what was added, as an Added:
// an opaque batch that says nothing by itself. An observer (the
// notification service) learns what a given recipient may know of it only
// through AddedFor, which applies CanSee like every other read. The
// observer never reads the intel store, and this package never imports it.

// Added is what one write (or one Batch) added to one collection.
type Added struct {
	// ID identifies the batch (a random UUID): observers key their own
	// records with it, so that one batch is acted on once.
	ID string
	// Collection is the collection's ID.
	Collection string
	seqs       []int64
	names      map[int64]string
}

// Len returns how many versions were added.
func (a *Added) Len() int { return len(a.seqs) }

// AddedItem is one added version as one recipient may know it.
type AddedItem struct {
	Item
	// Name is the object's "name" property ("" when it has none).
	Name string `json:"name,omitempty"`
}

// AddedHook is an observer of additions. It runs after the commit, in the
// writer's goroutine, with a context that is not cancelled with the
// request; it must not call back into the write that reported it.
type AddedHook func(ctx context.Context, a *Added)

type hooks struct {
	mu  sync.RWMutex
	fns []AddedHook
}

func (s *Service) hooks() *hooks { return &s.added }

// OnAdded registers fn to be told of every addition committed by this
// Service.
func (s *Service) OnAdded(fn AddedHook) {
	h := s.hooks()
	h.mu.Lock()
	h.fns = append(h.fns, fn)
	h.mu.Unlock()
}

type batchKey struct{}

// batch gathers additions until its flush.
type batch struct {
	mu    sync.Mutex
	svc   *Service
	added map[string]*Added // by collection
	order []string
}

// Batch returns a context under which additions are gathered instead of
// reported one write at a time, and a flush that reports them (one Added
// per collection) and ends the batch. A feed pull or a bulk publication
// runs under one, so that a recipient hears of it once.
func (s *Service) Batch(ctx context.Context) (context.Context, func(context.Context)) {
	b := &batch{svc: s, added: map[string]*Added{}}
	return context.WithValue(ctx, batchKey{}, b), func(ctx context.Context) {
		b.mu.Lock()
		list := make([]*Added, 0, len(b.order))
		for _, col := range b.order {
			list = append(list, b.added[col])
		}
		clear(b.added)
		b.order = nil
		b.mu.Unlock()
		for _, a := range list {
			s.fire(ctx, a)
		}
	}
}

// reportAdded tells the observers what a committed write stored: the
// versions of in whose result has a Seq and is not a duplicate.
func (s *Service) reportAdded(ctx context.Context, col string, in []bulwark.IntelObject, res []bulwark.IntelPut) {
	h := s.hooks()
	h.mu.RLock()
	n := len(h.fns)
	h.mu.RUnlock()
	if n == 0 {
		return
	}
	var seqs []int64
	names := map[int64]string{}
	for i, r := range res {
		if r.Err != nil || r.Duplicate || r.Seq == 0 || i >= len(in) {
			continue
		}
		seqs = append(seqs, r.Seq)
		if nm := nameOf(in[i].Body); nm != "" {
			names[r.Seq] = nm
		}
	}
	if len(seqs) == 0 {
		return
	}
	if b, ok := ctx.Value(batchKey{}).(*batch); ok && b.svc == s {
		b.mu.Lock()
		a := b.added[col]
		if a == nil {
			a = &Added{ID: uuid.NewString(), Collection: col, names: map[int64]string{}}
			b.added[col] = a
			b.order = append(b.order, col)
		}
		a.seqs = append(a.seqs, seqs...)
		for k, v := range names {
			a.names[k] = v
		}
		b.mu.Unlock()
		return
	}
	s.fire(ctx, &Added{ID: uuid.NewString(), Collection: col, seqs: seqs, names: names})
}

func (s *Service) fire(ctx context.Context, a *Added) {
	if len(a.seqs) == 0 {
		return
	}
	slices.Sort(a.seqs)
	a.seqs = slices.Compact(a.seqs)
	h := s.hooks()
	h.mu.RLock()
	fns := slices.Clone(h.fns)
	h.mu.RUnlock()
	ctx = context.WithoutCancel(ctx)
	for _, fn := range fns {
		fn(ctx, a)
	}
}

// nameOf reads an object's "name" property.
func nameOf(body []byte) string {
	var v struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.Name
}

// AddedFor returns what principal p may know of a: the collection as p
// sees it and the added versions p may see (still stored, in the order
// they were added). When p may not read the collection, or sees none of
// the versions, it returns nil and no items: the caller learns nothing,
// not even that something was added.
func (s *Service) AddedFor(ctx context.Context, p bulwark.Principal, a *Added) (*CollectionView, []AddedItem, error) {
	if p.System || (p.Org == "" && p.UserID == 0) {
		return nil, nil, nil // a digest is for people, never for the operator's god view
	}
	if err := s.sync(ctx); err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.acc.collections[a.Collection]
	if c == nil {
		return nil, nil, nil
	}
	v, ok := s.viewOf(p, c)
	if !ok || !v.CanRead {
		return nil, nil, nil
	}
	ci := s.idx.cols[c.ID]
	if ci == nil {
		return nil, nil, nil
	}
	vis := s.visibility(p, true)
	var out []AddedItem
	for _, seq := range a.seqs {
		i := ci.findSeq(seq)
		if i >= len(ci.entries) || ci.entries[i].seq != seq || ci.entries[i].flags&flagDeleted != 0 {
			continue
		}
		e := &ci.entries[i]
		sc := ci.streams[e.stream].scope
		if !vis(sc) {
			continue
		}
		scope := &s.idx.scopes[sc]
		out = append(out, AddedItem{Item: Item{STIXID: s.idx.stixID(ci, e.stream), Type: s.idx.types[e.typ], SpecVersion: s.idx.specs[e.spec],
			Version: time.UnixMicro(e.version).UTC(), DateAdded: time.UnixMicro(e.added).UTC(), Marking: scope.Marking, Publisher: scope.PublisherOrg},
			Name: a.names[seq]})
	}
	if len(out) == 0 {
		return nil, nil, nil
	}
	v.Access = nil // who else may read is not the recipient's business
	return &v, out, nil
}

// AddedUsers returns the individuals named by the TLP:RED versions of a
// (not the publishing user, who knows): the only people a TLP:RED
// addition may be told to, each still subject to AddedFor.
func (s *Service) AddedUsers(ctx context.Context, a *Added) ([]int64, error) {
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ci := s.idx.cols[a.Collection]
	if ci == nil {
		return nil, nil
	}
	var out []int64
	for _, seq := range a.seqs {
		i := ci.findSeq(seq)
		if i >= len(ci.entries) || ci.entries[i].seq != seq || ci.entries[i].flags&flagDeleted != 0 {
			continue
		}
		scope := &s.idx.scopes[ci.streams[ci.entries[i].stream].scope]
		if scope.Marking != bulwark.TLPRed {
			continue
		}
		for _, u := range scope.Users {
			if u != scope.PublisherUser {
				out = append(out, u)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
