package taxiiclient_test

// IO-03: the client against Bulwark's own TAXII server (internal/taxii over
// the sharing service, behind the real authentication middleware), over
// TLS on loopback, every endpoint exercised (a recorder checks).

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/server"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
	"bulwark/internal/taxii"
	"bulwark/internal/taxiiclient"
)

// own is Bulwark's TAXII server with one community (metro: water owns,
// power reads) and one collection.
type own struct {
	w            *sharingtest.World
	srv          *httptest.Server
	pool         *x509.CertPool
	water, power *sharingtest.User
	col          string

	mu  sync.Mutex
	hit map[string]int // endpoint -> requests
}

// endpointOf names the TAXII endpoint of a request path.
func endpointOf(method, path string) string {
	p := strings.Split(strings.Trim(strings.TrimPrefix(path, taxii.Prefix), "/"), "/")
	switch {
	case path == taxii.Prefix:
		return "GET discovery"
	case len(p) == 1:
		return method + " api-root"
	case len(p) == 3 && p[1] == "status":
		return method + " status"
	case len(p) == 2:
		return method + " collections"
	case len(p) == 3:
		return method + " collection"
	case len(p) == 4:
		return method + " " + p[3]
	case len(p) == 5:
		return method + " object"
	case len(p) == 6:
		return method + " versions"
	}
	return method + " ?"
}

// allEndpoints is every endpoint of TAXII 2.1 that Bulwark serves.
var allEndpoints = []string{"GET discovery", "GET api-root", "GET status", "GET collections", "GET collection", "GET manifest",
	"GET objects", "POST objects", "GET object", "DELETE object", "GET versions"}

func newOwn(t *testing.T) *own {
	t.Helper()
	w := sharingtest.Open(t, false, sharingtest.Orgs("city", "water", "power", "port"))
	o := &own{w: w, hit: map[string]int{}}
	city := w.AddUser(t, "city", bulwark.RoleAdmin)
	o.water = w.AddUser(t, "water", bulwark.RoleAnalyst)
	o.power = w.AddUser(t, "power", bulwark.RoleAnalyst)
	com := &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "water", Owner: true}, {Org: "power"}}}
	if err := w.Svc.CreateCommunity(city.Ctx(), com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Indicators", Alias: "indicators", Access: []bulwark.CollectionAccess{
		{Org: "water", CanRead: true, CanWrite: true}, {Org: "power", CanRead: true}}}
	if err := w.Svc.CreateCollection(sharingtest.SysCtx(), col); err != nil {
		t.Fatal(err)
	}
	o.col = col.ID
	h := taxii.New(w.Svc, taxii.Config{Title: "Bulwark", Root: "bulwark"}, nil)
	mux := http.NewServeMux()
	mux.Handle(taxii.Prefix, h)
	rec := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hit[endpointOf(r.Method, r.URL.Path)]++
		o.mu.Unlock()
		mux.ServeHTTP(rw, r)
	})
	o.srv = httptest.NewUnstartedServer(w.Auth.Middleware(rec))
	o.srv.TLS = server.TLSConfig()
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	o.pool = x509.NewCertPool()
	o.pool.AddCert(o.srv.Certificate())
	return o
}

func (o *own) client(t *testing.T, a taxiiclient.Auth) *taxiiclient.Client {
	t.Helper()
	c, err := taxiiclient.New(o.srv.URL+taxii.Prefix, taxiiclient.Options{Auth: a, RootCAs: o.pool, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func bearer(u *sharingtest.User) taxiiclient.Auth { return taxiiclient.Auth{Token: u.Token} }
func basic(u *sharingtest.User) taxiiclient.Auth {
	return taxiiclient.Auth{Username: u.Email, Password: u.Password}
}

// indicator is a valid STIX 2.1 indicator.
func indicator(t testing.TB, id string, modified time.Time, marking string) *stix.Object {
	t.Helper()
	refs := ""
	if marking != "" {
		refs = fmt.Sprintf(`,"object_marking_refs":[%q]`, marking)
	}
	ts := stix.FormatTimestamp(modified)
	o, err := stix.ParseObject([]byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"C2",`+
		`"pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":%q%s}`, id, ts, ts, ts, refs)), stix.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newID(typ string) string { return typ + "--" + uuid.NewString() }

func ids(objs []*stix.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.ID()+"@"+o.Version())
	}
	return out
}

func TestIO03OwnServer(t *testing.T) {
	o := newOwn(t)
	ctx := context.Background()
	c := o.client(t, bearer(o.water))

	d, err := c.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Bulwark" || d.Default != "/taxii2/bulwark/" || !slices.Equal(d.APIRoots, []string{"/taxii2/bulwark/"}) {
		t.Fatalf("discovery: %+v", d)
	}
	root, err := c.Root(d.Default)
	if err != nil {
		t.Fatal(err)
	}
	info, err := root.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(info.Versions, taxiiclient.MediaType) || info.MaxContentLength <= 0 {
		t.Errorf("API root: %+v", info)
	}
	cols, err := root.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 1 || cols[0].ID != o.col || !cols[0].CanRead || !cols[0].CanWrite || cols[0].Alias != "indicators" {
		t.Fatalf("collections: %+v", cols)
	}
	for _, id := range []string{o.col, "indicators"} {
		col, err := root.Collection(ctx, id)
		if err != nil || col.ID != o.col || col.Title != "Indicators" {
			t.Errorf("collection %s: %+v, %v", id, col, err)
		}
	}

	// Add 5 objects, one of them in two versions, and poll the status.
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var objs []*stix.Object
	for i := range 5 {
		objs = append(objs, indicator(t, newID("indicator"), base.Add(time.Duration(i)*time.Second), stix.Green.ID()))
	}
	twice := objs[0].ID()
	objs = append(objs, indicator(t, twice, base.Add(time.Minute), stix.Green.ID()))
	st, err := root.AddObjects(ctx, o.col, objs)
	if err != nil {
		t.Fatal(err)
	}
	st, err = root.WaitStatus(ctx, st.ID, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "complete" || st.TotalCount != 6 || st.SuccessCount != 6 || st.FailureCount != 0 {
		t.Fatalf("status: %+v", st)
	}

	// Objects: the latest versions (5), paged two at a time through next.
	var got []string
	pages := 0
	for p, err := range root.Pages(ctx, o.col, taxiiclient.Filter{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, ids(p.Objects)...)
		if p.DateAddedFirst.IsZero() || p.DateAddedLast.Before(p.DateAddedFirst) {
			t.Errorf("page %d dates: %v %v", pages, p.DateAddedFirst, p.DateAddedLast)
		}
		if (p.Following == nil) == p.More {
			t.Errorf("page %d: more=%v, following=%v", pages, p.More, p.Following)
		}
	}
	if pages != 3 || len(got) != 5 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 5 {
		t.Errorf("paged %d pages: %v", pages, got)
	}

	// Filters.
	all, err := root.Objects(ctx, o.col, taxiiclient.Filter{Versions: []string{"all"}})
	if err != nil || len(all.Objects) != 6 || all.More {
		t.Fatalf("match[version]=all: %v, %v", all, err)
	}
	one, err := root.Objects(ctx, o.col, taxiiclient.Filter{IDs: []string{twice}, Versions: []string{"first"}})
	if err != nil || len(one.Objects) != 1 || !one.Objects[0].VersionTime().Equal(base) {
		t.Errorf("match[id] + match[version]=first: %v, %v", one, err)
	}
	none, err := root.Objects(ctx, o.col, taxiiclient.Filter{Types: []string{"malware"}})
	if err != nil || len(none.Objects) != 0 {
		t.Errorf("match[type]=malware: %v, %v", none, err)
	}
	spec, err := root.Objects(ctx, o.col, taxiiclient.Filter{Types: []string{"indicator"}, SpecVersions: []string{"2.1"}})
	if err != nil || len(spec.Objects) != 5 {
		t.Errorf("match[type] + match[spec_version]: %v, %v", spec, err)
	}
	// added_after the last date seen: only what was added since (one
	// POST's objects share one date_added).
	seenAll, err := root.Objects(ctx, o.col, taxiiclient.Filter{})
	if err != nil || seenAll.DateAddedLast.IsZero() {
		t.Fatal(seenAll, err)
	}
	later := indicator(t, newID("indicator"), base, stix.Clear.ID())
	if _, err := root.AddObjects(ctx, o.col, []*stix.Object{later}); err != nil {
		t.Fatal(err)
	}
	rest, err := root.Objects(ctx, o.col, taxiiclient.Filter{AddedAfter: seenAll.DateAddedLast})
	if err != nil || len(rest.Objects) != 1 || rest.Objects[0].ID() != later.ID() || !rest.DateAddedFirst.After(seenAll.DateAddedLast) {
		t.Errorf("added_after %v: %v, %v", seenAll.DateAddedLast, rest, err)
	}

	// An object, its versions, the manifest.
	obj, err := root.Object(ctx, o.col, twice, taxiiclient.Filter{Versions: []string{"all"}})
	if err != nil || len(obj.Objects) != 2 {
		t.Fatalf("object: %v, %v", obj, err)
	}
	vs, err := root.Versions(ctx, o.col, twice, taxiiclient.Filter{})
	if err != nil || len(vs.Versions) != 2 || vs.Versions[0] != stix.FormatTimestamp(base) {
		t.Errorf("versions: %+v, %v", vs, err)
	}
	man, err := root.Manifest(ctx, o.col, taxiiclient.Filter{Limit: 3})
	if err != nil || len(man.Objects) != 3 || !man.More || man.Next == "" {
		t.Fatalf("manifest: %+v, %v", man, err)
	}
	man2, err := root.Manifest(ctx, o.col, taxiiclient.Filter{Limit: 3, Next: man.Next})
	if err != nil || len(man2.Objects) != 3 || man2.More {
		t.Errorf("manifest page 2: %+v, %v", man2, err)
	}
	for _, r := range append(man.Objects, man2.Objects...) {
		if _, _, ok := stix.ParseTimestamp(r.DateAdded); !ok || r.MediaType != "application/stix+json;version=2.1" {
			t.Errorf("manifest record %+v", r)
		}
	}

	// Delete, then the object is gone.
	if err := root.DeleteObject(ctx, o.col, twice, taxiiclient.Filter{}); err != nil {
		t.Fatal(err)
	}
	_, err = root.Object(ctx, o.col, twice, taxiiclient.Filter{})
	wantCode(t, "deleted object", err, bulwark.ENOTFOUND)
	_, err = root.Status(ctx, uuid.NewString())
	wantCode(t, "unknown status", err, bulwark.ENOTFOUND)

	// HTTP Basic works as well; a reader may not write.
	pc := o.client(t, basic(o.power))
	proot, _ := pc.Root("/taxii2/bulwark/")
	pcols, err := proot.Collections(ctx)
	if err != nil || len(pcols) != 1 || pcols[0].CanWrite {
		t.Errorf("power's collections: %+v, %v", pcols, err)
	}
	_, err = proot.AddObjects(ctx, o.col, objs[:1])
	wantCode(t, "reader adding", err, bulwark.EFORBIDDEN)
	// Wrong password, no credentials: 401.
	bad := o.client(t, taxiiclient.Auth{Username: o.power.Email, Password: "nope"})
	_, err = bad.Discover(ctx)
	wantStatus(t, "wrong password", err, http.StatusUnauthorized)
	anon := o.client(t, taxiiclient.Auth{})
	_, err = anon.Discover(ctx)
	wantStatus(t, "no credentials", err, http.StatusUnauthorized)

	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ep := range allEndpoints {
		if o.hit[ep] == 0 {
			t.Errorf("endpoint %s not exercised", ep)
		}
	}
	t.Logf("endpoints exercised: %v", o.hit)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := bulwark.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	var e *taxiiclient.Error
	if !asError(err, &e) || e.Status != status {
		t.Errorf("%s: error %v, want HTTP %d", what, err, status)
	}
}

func asError(err error, target **taxiiclient.Error) bool { return errors.As(err, target) }
