package sharing

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"bulwark"
)

// Service is the intel-sharing service. One per process: it keeps the
// in-memory index of every collection, brought up to date with the store
// before each request (one small query), so that several processes on one
// database (the server, the CLI, other instances on PostgreSQL) agree.
type Service struct {
	st  bulwark.Store
	log *slog.Logger

	syncMu       sync.Mutex // one refresh at a time
	stateMu      sync.Mutex
	statePending *stateRead // the next state read, not started yet: requests arriving now join it
	stateRunning bool       // a state read is under way
	mu           sync.RWMutex
	idx          *index
	acc          *accessSnap
	state        bulwark.IntelState // what idx and acc reflect
	loaded       bool
	secret       []byte

	userMu  sync.Mutex
	userOrg map[int64]string // organization of a user (users never change organization)

	added hooks // observers of additions (observe.go)

	bodyPath string   // where the local body log lives ("" for none)
	bodies   *bodyLog // opened by Load
	fillMu   sync.Mutex
}

// SetBodyLog makes the service keep a local, append-only copy of stored
// bodies at path (see bodyLog), which Load opens and fills in the
// background. Call it before Load. Without one, bodies are read from the
// database.
func (s *Service) SetBodyLog(path string) { s.bodyPath = path }

// Close closes the body log.
func (s *Service) Close() error {
	s.mu.Lock()
	l := s.bodies
	s.bodies = nil
	s.mu.Unlock()
	if l == nil {
		return nil
	}
	s.fillMu.Lock() // wait for a fill under way
	defer s.fillMu.Unlock()
	return l.close()
}

// New returns a Service over st. The index is built on first use (or by
// Load, which the server calls at start-up).
func New(st bulwark.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log, idx: newIndex(), acc: &accessSnap{}, userOrg: map[int64]string{}}
}

// accessSnap is communities and collections as last read.
type accessSnap struct {
	communities map[string]*bulwark.Community
	collections map[string]*bulwark.Collection
	alias       map[string]string
	order       []string                                       // collection ids, sorted
	members     map[string]map[string]bool                     // community -> member orgs
	rights      map[string]map[string]bulwark.CollectionAccess // collection -> org -> access
}

func (a *accessSnap) collection(idOrAlias string) *bulwark.Collection {
	if c := a.collections[idOrAlias]; c != nil {
		return c
	}
	if id, ok := a.alias[idOrAlias]; ok {
		return a.collections[id]
	}
	return nil
}

// rightsOf is what org may do in col: read and write need membership of
// the collection's community and an access entry.
func (a *accessSnap) rightsOf(col *bulwark.Collection, org string) bulwark.CollectionAccess {
	if col == nil || !a.members[col.Community][org] {
		return bulwark.CollectionAccess{Org: org}
	}
	return a.rights[col.ID][org]
}

func sysCtx(ctx context.Context) context.Context {
	return bulwark.WithPrincipal(context.WithoutCancel(ctx), bulwark.SystemPrincipal())
}

func principal(ctx context.Context) (bulwark.Principal, error) {
	p, ok := bulwark.PrincipalFrom(ctx)
	if !ok || (!p.System && p.Org == "") {
		return bulwark.Principal{}, bulwark.Errorf(bulwark.EUNAUTHORIZED, "authentication required")
	}
	return p, nil
}

// Load reads the whole store into the index, and opens the body log (if
// any), filling it in the background. It is called at start-up; requests
// call sync, which loads on first use.
func (s *Service) Load(ctx context.Context) error {
	if err := s.sync(ctx); err != nil {
		return err
	}
	if s.bodyPath == "" {
		return nil
	}
	key, err := s.cursorKey(ctx)
	if err != nil {
		return err
	}
	s.mu.RLock()
	last := s.state.LastSeq
	s.mu.RUnlock()
	l, err := openBodyLog(s.bodyPath, key, last)
	if err != nil {
		s.log.Warn("intel body log unavailable; bodies are read from the database", "err", err)
		return nil
	}
	s.mu.Lock()
	s.bodies = l
	s.mu.Unlock()
	s.startFill(ctx)
	return nil
}

// startFill appends to the body log, in the background, the bodies of
// every version stored after its end. At most one fill runs at a time.
func (s *Service) startFill(ctx context.Context) {
	if !s.fillMu.TryLock() {
		return
	}
	go func() {
		defer s.fillMu.Unlock()
		if err := s.fill(context.WithoutCancel(ctx)); err != nil {
			s.log.Warn("intel body log", "err", err)
		}
	}()
}

func (s *Service) fill(ctx context.Context) error {
	const batch = 5000
	for {
		s.mu.RLock()
		l := s.bodies
		s.mu.RUnlock()
		if l == nil {
			return nil
		}
		rows, err := s.st.ScanIntelObjects(sysCtx(ctx), l.lastSeq(), batch)
		if err != nil || len(rows) == 0 {
			return err
		}
		seqs := make([]int64, len(rows))
		for i := range rows {
			seqs[i] = rows[i].Seq
		}
		bodies, err := s.st.IntelBodies(sysCtx(ctx), seqs)
		if err != nil {
			return err
		}
		recs := make([]logRecord, 0, len(rows))
		for i := range rows {
			if bodies[i] != nil {
				recs = append(recs, logRecord{seq: rows[i].Seq, key: bodyKey(rows[i].STIXID, rows[i].Version.UnixMicro(), rows[i].DateAdded.UnixMicro()), body: bodies[i]})
			}
		}
		if err := l.append(recs); err != nil {
			return err
		}
		if len(rows) < batch {
			return nil
		}
	}
}

// stateRead is one read of the store's IntelState shared by the requests
// that joined it before it started.
type stateRead struct {
	done chan struct{}
	st   bulwark.IntelState
	err  error
}

// intelState returns the store's IntelState as read by a query that began
// after the call, so that whatever was committed before the call is seen.
// Calls that arrive while a read is under way share the next read rather
// than each running their own: under load, one query per round instead of
// one per request, and a wait of at most two queries.
func (s *Service) intelState(ctx context.Context) (bulwark.IntelState, error) {
	s.stateMu.Lock()
	r := s.statePending
	if r == nil {
		r = &stateRead{done: make(chan struct{})}
		s.statePending = r
	}
	lead := !s.stateRunning // then r is the only read wanted
	s.stateRunning = true
	s.stateMu.Unlock()
	if lead {
		s.stateRounds(sysCtx(ctx), r)
	}
	<-r.done
	return r.st, r.err
}

// stateRounds runs the pending state read, and goes on while others are
// wanted. A round takes the pending read before querying, so that a call
// arriving during the query waits for the next round. The caller whose
// read is mine stops after it and leaves the rest to a goroutine.
func (s *Service) stateRounds(ctx context.Context, mine *stateRead) {
	for {
		s.stateMu.Lock()
		r := s.statePending
		s.statePending = nil
		if r == nil {
			s.stateRunning = false
			s.stateMu.Unlock()
			return
		}
		s.stateMu.Unlock()
		r.st, r.err = s.st.IntelState(ctx)
		close(r.done)
		if r == mine {
			s.stateMu.Lock()
			more := s.statePending != nil
			if !more {
				s.stateRunning = false
			}
			s.stateMu.Unlock()
			if more {
				go s.stateRounds(sysCtx(context.Background()), nil)
			}
			return
		}
	}
}

// sync brings the index and the access snapshot up to date with the store.
func (s *Service) sync(ctx context.Context) error {
	st, err := s.intelState(ctx)
	if err != nil {
		return fmt.Errorf("intel state: %w", err)
	}
	s.mu.RLock()
	cur, loaded := s.state, s.loaded
	s.mu.RUnlock()
	if loaded && st.LastSeq <= cur.LastSeq && st.Epoch == cur.Epoch && st.AccessEpoch == cur.AccessEpoch {
		return nil
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.RLock()
	cur, loaded = s.state, s.loaded
	s.mu.RUnlock()
	if !loaded || st.AccessEpoch != cur.AccessEpoch {
		acc, err := s.loadAccess(ctx)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.acc, s.state.AccessEpoch = acc, st.AccessEpoch
		s.mu.Unlock()
	}
	if !loaded || st.Epoch != cur.Epoch {
		// Something was removed by another process (or this is the first
		// load): rebuild. Removals are rare; additions are tailed below.
		start := time.Now()
		idx := newIndex()
		if err := s.load(ctx, idx, st.LastSeq); err != nil {
			return err
		}
		if err := s.tail(ctx, idx, nil); err != nil {
			return err
		}
		s.mu.Lock()
		s.idx, s.state.Epoch, s.state.LastSeq, s.loaded = idx, st.Epoch, idx.lastSeq, true
		s.mu.Unlock()
		s.log.Info("intel index built", "versions", idx.lastSeq, "took", time.Since(start).String())
		return nil
	}
	if st.LastSeq > cur.LastSeq {
		if err := s.tail(ctx, s.idx, &s.mu); err != nil {
			return err
		}
		s.mu.RLock()
		has := s.bodies != nil
		s.mu.RUnlock()
		if has {
			s.startFill(ctx)
		}
	}
	return nil
}

// load fills an empty index with every version up to last: batches of
// seqs are read by two goroutines while the rows read so far are added,
// in order. A batch reads its rows from its first seq on; rows deleted
// meanwhile make it reach into the next batch's range, whose rows add()
// then skips (it ignores seqs it has seen).
func (s *Service) load(ctx context.Context, idx *index, last int64) error {
	const batch = 20_000
	n := int((last + batch - 1) / batch)
	if n == 0 {
		return nil
	}
	type result struct {
		rows []bulwark.IntelObject
		err  error
	}
	results := make([]chan result, n)
	for i := range results {
		results[i] = make(chan result, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	slots := make(chan struct{}, 4) // batches read but not yet added
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rows, err := s.st.ScanIntelObjects(sysCtx(ctx), int64(i)*batch, batch)
				results[i] <- result{rows, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for i := range n {
		r := <-results[i]
		<-slots
		if r.err != nil {
			err = fmt.Errorf("read intel objects: %w", r.err)
			break
		}
		for j := range r.rows {
			idx.add(&r.rows[j])
		}
	}
	cancel()
	wg.Wait()
	return err
}

// tail adds to idx every stored version after idx.lastSeq, in batches;
// with mu, each batch is applied under the write lock.
func (s *Service) tail(ctx context.Context, idx *index, mu *sync.RWMutex) error {
	const batch = 20_000
	for {
		rows, err := s.st.ScanIntelObjects(sysCtx(ctx), idx.lastSeq, batch)
		if err != nil {
			return fmt.Errorf("read intel objects: %w", err)
		}
		if mu != nil {
			mu.Lock()
		}
		for i := range rows {
			idx.add(&rows[i])
		}
		if mu != nil {
			s.state.LastSeq = idx.lastSeq
			mu.Unlock()
		}
		if len(rows) < batch {
			return nil
		}
	}
}

func (s *Service) loadAccess(ctx context.Context) (*accessSnap, error) {
	coms, err := s.st.ListCommunities(sysCtx(ctx))
	if err != nil {
		return nil, fmt.Errorf("read communities: %w", err)
	}
	cols, err := s.st.ListCollections(sysCtx(ctx))
	if err != nil {
		return nil, fmt.Errorf("read collections: %w", err)
	}
	a := &accessSnap{communities: map[string]*bulwark.Community{}, collections: map[string]*bulwark.Collection{},
		alias: map[string]string{}, members: map[string]map[string]bool{}, rights: map[string]map[string]bulwark.CollectionAccess{}}
	for i := range coms {
		c := &coms[i]
		a.communities[c.ID] = c
		m := map[string]bool{}
		for _, x := range c.Members {
			m[x.Org] = true
		}
		a.members[c.ID] = m
	}
	for i := range cols {
		c := &cols[i]
		a.collections[c.ID] = c
		a.order = append(a.order, c.ID)
		if c.Alias != "" {
			a.alias[c.Alias] = c.ID
		}
		r := map[string]bulwark.CollectionAccess{}
		for _, x := range c.Access {
			r[x.Org] = x
		}
		a.rights[c.ID] = r
	}
	slices.Sort(a.order)
	return a, nil
}

// orgOfUser returns the organization of a user ("" when there is none).
func (s *Service) orgOfUser(ctx context.Context, id int64) string {
	s.userMu.Lock()
	org, ok := s.userOrg[id]
	s.userMu.Unlock()
	if ok {
		return org
	}
	u, err := s.st.FindUser(sysCtx(ctx), id)
	if err != nil {
		return ""
	}
	s.userMu.Lock()
	if len(s.userOrg) > 100_000 {
		clear(s.userOrg)
	}
	s.userOrg[id] = u.Org
	s.userMu.Unlock()
	return u.Org
}

// mayManageCommunities: administrators of a city or ISAC organization
// create sharing communities (and the System principal).
func (s *Service) mayCreateCommunity(ctx context.Context, p bulwark.Principal) error {
	if p.System {
		return nil
	}
	if p.Role == bulwark.RoleAdmin {
		if o, err := s.st.FindOrganization(ctx, p.Org); err == nil && (o.Purview == bulwark.PurviewCity || o.Purview == bulwark.PurviewISAC) {
			return nil
		}
	}
	return bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators of a city or ISAC organization may create a sharing community")
}

// CreateCommunity creates a sharing community. The caller's organization
// becomes an owner; administrators of owner organizations manage it.
func (s *Service) CreateCommunity(ctx context.Context, c *bulwark.Community) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if err := s.mayCreateCommunity(ctx, p); err != nil {
		return err
	}
	if !p.System {
		c.CreatedBy = p.Org
		i := slices.IndexFunc(c.Members, func(m bulwark.CommunityMember) bool { return m.Org == p.Org })
		if i < 0 {
			c.Members = append(c.Members, bulwark.CommunityMember{Org: p.Org, Owner: true})
		} else {
			c.Members[i].Owner = true
		}
	}
	if err := s.st.CreateCommunity(ctx, c); err != nil {
		return fmt.Errorf("create community: %w", err)
	}
	return s.sync(ctx)
}

// community returns a community the caller's organization belongs to, or
// ENOTFOUND (a non-member learns nothing, not even that it exists).
func (s *Service) community(ctx context.Context, p bulwark.Principal, id string) (*bulwark.Community, error) {
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	c := s.acc.communities[id]
	s.mu.RUnlock()
	if c == nil || (!p.System && !c.IsMember(p.Org)) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "community %q not found", bulwark.Truncate(id, 128))
	}
	cp := *c
	cp.Members = slices.Clone(c.Members)
	return &cp, nil
}

func mayManage(p bulwark.Principal, c *bulwark.Community) error {
	if p.System || (p.Role == bulwark.RoleAdmin && c.IsOwner(p.Org)) {
		return nil
	}
	return bulwark.Errorf(bulwark.EFORBIDDEN, "only administrators of an owner organization may manage community %s", c.ID)
}

// UpdateCommunity replaces a community's name, description and members.
func (s *Service) UpdateCommunity(ctx context.Context, c *bulwark.Community) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	cur, err := s.community(ctx, p, c.ID)
	if err != nil {
		return err
	}
	if err := mayManage(p, cur); err != nil {
		return err
	}
	c.CreatedBy, c.CreatedAt = cur.CreatedBy, cur.CreatedAt
	if err := s.st.UpdateCommunity(ctx, c); err != nil {
		return fmt.Errorf("update community: %w", err)
	}
	return s.sync(ctx)
}

// FindCommunity returns a community of the caller's organization.
func (s *Service) FindCommunity(ctx context.Context, id string) (*bulwark.Community, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	return s.community(ctx, p, id)
}

// ListCommunities returns the communities the caller's organization
// belongs to, with their members (members of a sharing group know each
// other; nobody else learns who they are).
func (s *Service) ListCommunities(ctx context.Context) ([]bulwark.Community, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []bulwark.Community
	for _, c := range s.acc.communities {
		if p.System || c.IsMember(p.Org) {
			cp := *c
			cp.Members = slices.Clone(c.Members)
			out = append(out, cp)
		}
	}
	slices.SortFunc(out, func(a, b bulwark.Community) int { return cmpString(a.ID, b.ID) })
	return out, nil
}

// CollectionView is a collection as one caller sees it: what it may do
// there. Access (who else may) is filled only for those who manage the
// community.
type CollectionView struct {
	bulwark.Collection
	CanRead  bool `json:"can_read"`
	CanWrite bool `json:"can_write"`
}

// CreateCollection adds a collection to a community the caller manages. An
// empty ID gets a random UUID; nil Access lets every member read and the
// owner organizations write.
func (s *Service) CreateCollection(ctx context.Context, c *bulwark.Collection) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	com, err := s.community(ctx, p, c.Community)
	if err != nil {
		return err
	}
	if err := mayManage(p, com); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = uuid.NewString()
	}
	if c.Access == nil {
		for _, m := range com.Members {
			c.Access = append(c.Access, bulwark.CollectionAccess{Org: m.Org, CanRead: true, CanWrite: m.Owner})
		}
	}
	if err := c.Validate(com); err != nil {
		return err
	}
	if err := s.st.CreateCollection(ctx, c); err != nil {
		return fmt.Errorf("create collection: %w", err)
	}
	return s.sync(ctx)
}

// UpdateCollection replaces a collection's title, description, alias and
// access.
func (s *Service) UpdateCollection(ctx context.Context, c *bulwark.Collection) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	v, err := s.FindCollection(ctx, c.ID)
	if err != nil {
		return err
	}
	com, err := s.community(ctx, p, v.Community)
	if err != nil {
		return err
	}
	if err := mayManage(p, com); err != nil {
		return err
	}
	c.ID, c.Community = v.ID, v.Community
	if err := c.Validate(com); err != nil {
		return err
	}
	if err := s.st.UpdateCollection(ctx, c); err != nil {
		return fmt.Errorf("update collection: %w", err)
	}
	return s.sync(ctx)
}

func (s *Service) viewOf(p bulwark.Principal, c *bulwark.Collection) (CollectionView, bool) {
	r := s.acc.rightsOf(c, p.Org)
	v := CollectionView{Collection: *c, CanRead: r.CanRead, CanWrite: r.CanWrite && p.Role.CanWrite()}
	if p.System {
		v.CanRead, v.CanWrite = true, true
	}
	if !v.CanRead && !v.CanWrite {
		return v, false
	}
	if com := s.acc.communities[c.Community]; !p.System && (com == nil || !(p.Role == bulwark.RoleAdmin && com.IsOwner(p.Org))) {
		v.Access = nil
	} else {
		v.Access = slices.Clone(c.Access)
	}
	return v, true
}

// ListCollections returns the collections the caller's organization may
// read or write, in a stable order (by ID).
func (s *Service) ListCollections(ctx context.Context) ([]CollectionView, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []CollectionView
	for _, id := range s.acc.order {
		if v, ok := s.viewOf(p, s.acc.collections[id]); ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// FindCollection returns a collection (by ID or alias) the caller may read
// or write; any other is ENOTFOUND.
func (s *Service) FindCollection(ctx context.Context, idOrAlias string) (*CollectionView, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.acc.collection(idOrAlias); c != nil {
		if v, ok := s.viewOf(p, c); ok {
			return &v, nil
		}
	}
	return nil, errNoCollection(idOrAlias)
}

func errNoCollection(id string) error {
	return bulwark.Errorf(bulwark.ENOTFOUND, "collection %q not found", bulwark.Truncate(id, 128))
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
