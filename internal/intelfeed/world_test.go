package intelfeed

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/server"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
	"bulwark/internal/taxii"
	"bulwark/internal/taxiiclient"
)

// The tests run two Bulwark instances: an ISAC's (the partner, whose TAXII
// server is served over TLS on loopback) and a city's (which subscribes).
// Hostile or scripted partners are httptest servers (fakePartner).

var testKey = bytes.Repeat([]byte{7}, 32)

const (
	isacPassword = "isac-reader-pa55word"
)

// isac is the partner Bulwark: community "isac-members", collection
// "indicators" written by the ISAC's analyst and read by the city's
// account there.
type isac struct {
	w       *sharingtest.World
	srv     *httptest.Server
	analyst *sharingtest.User
	reader  *sharingtest.User // the city's account at the ISAC
	col     string
	pem     string
}

func newISAC(t testing.TB) *isac {
	t.Helper()
	w := sharingtest.Open(t, false, sharingtest.Orgs("isac", "city-member"))
	i := &isac{w: w}
	admin := w.AddUser(t, "isac", bulwark.RoleAdmin)
	i.analyst = w.AddUser(t, "isac", bulwark.RoleAnalyst)
	i.reader = w.AddUser(t, "city-member", bulwark.RoleViewer)
	com := &bulwark.Community{ID: "isac-members", Name: "ISAC members", Members: []bulwark.CommunityMember{{Org: "isac", Owner: true}, {Org: "city-member"}}}
	if err := w.Svc.CreateCommunity(admin.Ctx(), com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "isac-members", Title: "Indicators", Alias: "indicators", Access: []bulwark.CollectionAccess{
		{Org: "isac", CanRead: true, CanWrite: true}, {Org: "city-member", CanRead: true}}}
	if err := w.Svc.CreateCollection(admin.Ctx(), col); err != nil {
		t.Fatal(err)
	}
	i.col = col.ID
	h := taxii.New(w.Svc, taxii.Config{Title: "ISAC", Root: "isac"}, nil)
	mux := http.NewServeMux()
	mux.Handle(taxii.Prefix, h)
	i.srv = httptest.NewUnstartedServer(w.Auth.Middleware(mux))
	i.srv.TLS = server.TLSConfig()
	i.srv.StartTLS()
	t.Cleanup(i.srv.Close)
	i.pem = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.srv.Certificate().Raw}))
	return i
}

// post adds objects to the ISAC's collection in one transaction (one
// date_added).
func (i *isac) post(t testing.TB, objs ...*stix.Object) {
	t.Helper()
	st, err := i.w.Svc.AddObjects(i.analyst.Ctx(), i.col, objs, sharing.AddOptions{Source: "taxii"})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Failures) > 0 {
		t.Fatalf("ISAC refused %d objects: %+v", len(st.Failures), st.Failures[0])
	}
}

// city is the subscribing Bulwark: organizations city (its admin owns the
// feed), water and power; community metro with collection intel (city
// writes, water and power read) and a collection of another community.
type city struct {
	w                     *sharingtest.World
	admin, analyst, water *sharingtest.User
	intel, elsewhere      string
	svc                   *Service
	logs                  *bytes.Buffer
}

func newCity(t testing.TB, cfg Config) *city {
	t.Helper()
	return newCityOn(t, false, cfg)
}

// newCityOn is newCity on SQLite or (pg) PostgreSQL.
func newCityOn(t testing.TB, pg bool, cfg Config) *city {
	t.Helper()
	w := sharingtest.Open(t, pg, sharingtest.Orgs("city", "water", "power", "port"))
	c := &city{w: w, logs: &bytes.Buffer{}}
	c.admin = w.AddUser(t, "city", bulwark.RoleAdmin)
	c.analyst = w.AddUser(t, "city", bulwark.RoleAnalyst)
	c.water = w.AddUser(t, "water", bulwark.RoleAnalyst)
	portAdmin := w.AddUser(t, "port", bulwark.RoleAdmin)
	com := &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "city", Owner: true}, {Org: "water"}, {Org: "power"}}}
	if err := w.Svc.CreateCommunity(c.admin.Ctx(), com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Intel", Access: []bulwark.CollectionAccess{
		{Org: "city", CanRead: true, CanWrite: true}, {Org: "water", CanRead: true}, {Org: "power", CanRead: true}}}
	if err := w.Svc.CreateCollection(c.admin.Ctx(), col); err != nil {
		t.Fatal(err)
	}
	c.intel = col.ID
	other := &bulwark.Community{ID: "harbor", Name: "Harbor", Members: []bulwark.CommunityMember{{Org: "port", Owner: true}}}
	if err := w.Svc.CreateCommunity(sharingtest.SysCtx(), other); err != nil {
		t.Fatal(err)
	}
	oc := &bulwark.Collection{Community: "harbor", Title: "Port only"}
	if err := w.Svc.CreateCollection(portAdmin.Ctx(), oc); err != nil {
		t.Fatal(err)
	}
	c.elsewhere = oc.ID
	if cfg.Key == nil {
		cfg.Key = testKey
	}
	cfg.AllowLoopback = true
	if cfg.Client.Timeout == 0 {
		cfg.Client.Timeout = 20 * time.Second
	}
	if cfg.Client.Sleep == nil {
		cfg.Client.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	}
	c.svc = New(w.Store, w.Svc, cfg, slog.New(slog.NewJSONHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return c
}

// subscribe adds a feed of the ISAC's collection, as the city's admin.
func (c *city) subscribe(t testing.TB, i *isac, mod func(*Input)) *bulwark.IntelFeed {
	t.Helper()
	in := Input{Name: "ISAC indicators", ServerURL: i.srv.URL + "/taxii2/", Collection: i.col, Target: c.intel,
		Auth: bulwark.FeedAuthBasic, Username: i.reader.Email, Password: i.reader.Password, CACert: i.pem, Interval: time.Hour}
	if mod != nil {
		mod(&in)
	}
	f, err := c.svc.Add(c.admin.Ctx(), in)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (c *city) pull(t *testing.T, id string) *Result {
	t.Helper()
	res, err := c.svc.Pull(sharingtest.SysCtx(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (c *city) feed(t *testing.T, id string) *bulwark.IntelFeed {
	t.Helper()
	f, err := c.w.Store.FindIntelFeed(sharingtest.SysCtx(), id)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stored returns every version the city holds in intel, by STIX id.
func (c *city) stored(t *testing.T) map[string][]bulwark.IntelObject {
	t.Helper()
	rows, err := c.w.Store.ScanIntelObjects(sharingtest.SysCtx(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]bulwark.IntelObject{}
	for _, r := range rows {
		if r.Collection == c.intel {
			out[r.STIXID] = append(out[r.STIXID], r)
		}
	}
	return out
}

// sees returns the ids u sees in intel (every version).
func (c *city) sees(t *testing.T, u *sharingtest.User) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	next := ""
	for {
		p, err := c.w.Svc.Manifest(u.Ctx(), c.intel, sharing.Query{Versions: sharing.VersionFilter{All: true}, Limit: 1000}, next)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			out[it.STIXID] = true
		}
		if !p.More {
			return out
		}
		next = p.Next
	}
}

// obj builds a STIX indicator with the given version and markings
// (object_marking_refs) and, optionally, granular markings.
func obj(t testing.TB, id string, version time.Time, refs []string, granular []string) *stix.Object {
	t.Helper()
	ts := stix.FormatTimestamp(version)
	m := map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "created": stix.FormatTimestamp(version.Add(-time.Hour * 24 * 365).Truncate(time.Millisecond)),
		"modified": ts, "name": "C2 server", "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": ts}
	if len(refs) > 0 {
		m["object_marking_refs"] = refs
	}
	if len(granular) > 0 {
		var gs []map[string]any
		for _, g := range granular {
			gs = append(gs, map[string]any{"marking_ref": g, "selectors": []string{"name"}})
		}
		m["granular_markings"] = gs
	}
	b, _ := json.Marshal(m)
	o, err := stix.ParseObject(b, stix.Limits{})
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return o
}

func newID(typ string) string { return typ + "--" + uuid.NewString() }

// fakePartner is a scripted TAXII 2.1 server: objects with the date_added
// the test gives them, served in date order, pages of limit with an
// index as next; optional faults per request.
type fakePartner struct {
	srv  *httptest.Server
	pem  string
	mu   sync.Mutex
	objs []fakeObj
	// fault, when set, may answer a request itself (return true).
	fault    func(w http.ResponseWriter, r *http.Request, n int) bool
	requests int
	auths    []string
	noDates  bool // send no X-TAXII-Date-Added headers
}

type fakeObj struct {
	added time.Time
	body  []byte
	id    string
}

func newFakePartner(t *testing.T) *fakePartner {
	t.Helper()
	p := &fakePartner{}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	p.pem = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}))
	return p
}

func (p *fakePartner) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.srv.Certificate())
	return pool
}

// add appends objects with one date_added.
func (p *fakePartner) add(at time.Time, objs ...*stix.Object) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range objs {
		p.objs = append(p.objs, fakeObj{added: at.UTC().Truncate(time.Microsecond), body: o.JSON(), id: o.ID()})
	}
}

func (p *fakePartner) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.requests++
	n := p.requests
	p.auths = append(p.auths, r.Header.Get("Authorization"))
	fault := p.fault
	p.mu.Unlock()
	if fault != nil && fault(w, r, n) {
		return
	}
	w.Header().Set("Content-Type", taxiiclient.MediaType)
	path := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	switch {
	case path == "taxii2":
		fmt.Fprint(w, `{"title":"Partner","default":"/api1/","api_roots":["/api1/"]}`)
	case len(parts) == 4 && parts[2] != "" && parts[3] == "objects":
		p.objects(w, r, "")
	case len(parts) == 5 && parts[3] == "objects":
		p.objects(w, r, parts[4])
	default:
		w.WriteHeader(404)
		fmt.Fprint(w, `{"title":"Not Found"}`)
	}
}

func (p *fakePartner) objects(w http.ResponseWriter, r *http.Request, only string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 1000
	}
	var after time.Time
	if v := q.Get("added_after"); v != "" {
		after, _, _ = stix.ParseTimestamp(v)
	}
	start, _ := strconv.Atoi(q.Get("next"))
	var sel []fakeObj
	for _, o := range p.objs {
		if (only == "" || o.id == only) && o.added.After(after) {
			sel = append(sel, o)
		}
	}
	if only != "" && len(sel) == 0 {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"title":"Not Found"}`)
		return
	}
	if start > len(sel) {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"title":"Bad Request","description":"bad next"}`)
		return
	}
	page := sel[start:min(len(sel), start+limit)]
	more := start+len(page) < len(sel)
	if len(page) > 0 && !p.noDates {
		w.Header().Set("X-TAXII-Date-Added-First", bulwark.FormatTAXIITime(page[0].added))
		w.Header().Set("X-TAXII-Date-Added-Last", bulwark.FormatTAXIITime(page[len(page)-1].added))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"more":%v`, more)
	if more {
		fmt.Fprintf(&b, `,"next":"%d"`, start+len(page))
	}
	if len(page) > 0 {
		b.WriteString(`,"objects":[`)
		for i, o := range page {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(o.body)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	w.Write(b.Bytes())
}

// subscribeFake adds a feed of the fake partner's collection "c1".
func (c *city) subscribeFake(t *testing.T, p *fakePartner, mod func(*Input)) *bulwark.IntelFeed {
	t.Helper()
	in := Input{Name: "Partner", ServerURL: p.srv.URL + "/taxii2/", Collection: "c1", Target: c.intel, Auth: bulwark.FeedAuthBearer,
		Token: "partner-token-never-logged", CACert: p.pem, Interval: time.Hour}
	if mod != nil {
		mod(&in)
	}
	f, err := c.svc.Add(c.admin.Ctx(), in)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
