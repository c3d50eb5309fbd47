package citymodel

import (
	"context"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"

	"bulwark"
)

// memStore is a tiny in-memory bulwark.CityStore for tests of this package
// alone. It ignores principals (everything is visible) and checks nothing:
// the real store (internal/sqlstore) is exercised by the integration tests.
type memStore struct {
	mu       sync.Mutex
	orgs     map[string]bulwark.Organization
	services map[string]bulwark.Service
	systems  map[string]bulwark.System
	assets   map[string]bulwark.Asset
	commits  int
	failPut  error // returned by PutAssets when set
}

func newMemStore() *memStore {
	return &memStore{orgs: map[string]bulwark.Organization{}, services: map[string]bulwark.Service{},
		systems: map[string]bulwark.System{}, assets: map[string]bulwark.Asset{}}
}

var errNotImpl = errors.New("not implemented by memStore")

type memTx struct {
	s    *memStore
	c    bulwark.City
	done bool
}

func (s *memStore) BeginImport(ctx context.Context) (bulwark.ImportTx, error) {
	return &memTx{s: s}, nil
}

func (t *memTx) PutOrganizations(_ context.Context, v []bulwark.Organization) error {
	t.c.Organizations = append(t.c.Organizations, slices.Clone(v)...)
	return nil
}
func (t *memTx) PutServices(_ context.Context, v []bulwark.Service) error {
	t.c.Services = append(t.c.Services, slices.Clone(v)...)
	return nil
}
func (t *memTx) PutSystems(_ context.Context, v []bulwark.System) error {
	t.c.Systems = append(t.c.Systems, slices.Clone(v)...)
	return nil
}
func (t *memTx) PutAssets(_ context.Context, v []bulwark.Asset) error {
	if t.s.failPut != nil {
		return t.s.failPut
	}
	t.c.Assets = append(t.c.Assets, slices.Clone(v)...)
	return nil
}

func put[T any](m map[string]T, id string, v T, st *bulwark.ImportStats) {
	old, ok := m[id]
	switch {
	case !ok:
		st.Created++
	case reflect.DeepEqual(old, v):
		st.Unchanged++
		return
	default:
		st.Updated++
	}
	m[id] = v
}

func (t *memTx) Commit(context.Context) (bulwark.ImportStats, error) {
	if t.done {
		return bulwark.ImportStats{}, errors.New("transaction done")
	}
	t.done = true
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var st bulwark.ImportStats
	for _, v := range t.c.Organizations {
		put(s.orgs, v.ID, v, &st)
	}
	for _, v := range t.c.Services {
		put(s.services, v.ID, v, &st)
	}
	for _, v := range t.c.Systems {
		put(s.systems, v.ID, v, &st)
	}
	for _, v := range t.c.Assets {
		put(s.assets, v.ID, v, &st)
	}
	s.commits++
	return st, nil
}

func (t *memTx) Rollback() error { t.done = true; return nil }

func (s *memStore) ResolveIDs(_ context.Context, ids []string) (map[string]bulwark.NodeKind, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bulwark.NodeKind{}
	for _, id := range ids {
		if _, ok := s.services[id]; ok {
			out[id] = bulwark.KindService
		}
		if _, ok := s.systems[id]; ok {
			out[id] = bulwark.KindSystem
		}
		if _, ok := s.assets[id]; ok {
			out[id] = bulwark.KindAsset
		}
	}
	return out, nil
}

func listPage[T any](m map[string]T, opt bulwark.ListOptions, keep func(T) bool) bulwark.Page[T] {
	ids := make([]string, 0, len(m))
	for id := range m {
		if id > opt.After && (keep == nil || keep(m[id])) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	limit := opt.Limit
	if limit == 0 {
		limit = bulwark.DefaultPageSize
	}
	var p bulwark.Page[T]
	for i, id := range ids {
		if i == limit {
			p.Next = ids[i-1]
			break
		}
		p.Items = append(p.Items, m[id])
	}
	return p
}

func (s *memStore) ListOrganizations(_ context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.Organization], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return listPage(s.orgs, opt, nil), nil
}
func (s *memStore) ListServices(_ context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.Service], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return listPage(s.services, opt, nil), nil
}
func (s *memStore) ListSystems(_ context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.System], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return listPage(s.systems, opt, nil), nil
}
func (s *memStore) ListAssets(_ context.Context, opt bulwark.ListOptions) (bulwark.Page[bulwark.Asset], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return listPage(s.assets, opt, func(a bulwark.Asset) bool { return opt.System == "" || a.System == opt.System }), nil
}

func find[T any](m map[string]T, id, what string) (*T, error) {
	v, ok := m[id]
	if !ok {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "%s %q not found", what, id)
	}
	return &v, nil
}

func (s *memStore) FindOrganization(_ context.Context, id string) (*bulwark.Organization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return find(s.orgs, id, "organization")
}
func (s *memStore) FindService(_ context.Context, id string) (*bulwark.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return find(s.services, id, "service")
}
func (s *memStore) FindSystem(_ context.Context, id string) (*bulwark.System, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return find(s.systems, id, "system")
}
func (s *memStore) FindAsset(_ context.Context, id string) (*bulwark.Asset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return find(s.assets, id, "asset")
}
func (s *memStore) DeleteEntity(context.Context, bulwark.NodeKind, string) error { return errNotImpl }
func (s *memStore) CountEntities(context.Context) (bulwark.Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bulwark.Counts{Organizations: int64(len(s.orgs)), Services: int64(len(s.services)), Systems: int64(len(s.systems)), Assets: int64(len(s.assets))}, nil
}
func (s *memStore) LoadGraph(context.Context) (*bulwark.GraphData, error) { return nil, errNotImpl }

// total is the number of stored entities.
func (s *memStore) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orgs) + len(s.services) + len(s.systems) + len(s.assets)
}

// src returns an in-memory Source.
func src(name, content string) Source {
	return Source{Name: name, Open: func() (io.ReadCloser, error) { return nopCloser{strings.NewReader(content)}, nil }}
}

type nopCloser struct{ io.Reader }

func (nopCloser) Close() error { return nil }
