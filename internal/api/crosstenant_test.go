package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"bulwark"
	"bulwark/internal/auth"
)

// snapshot renders everything stored, as the System principal sees it, so
// that a test can prove that refused requests changed nothing.
func (w *world) snapshot() string {
	w.t.Helper()
	ctx := systemCtx()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	all := bulwark.ListOptions{Limit: bulwark.MaxPageSize}
	orgs, err := w.st.ListOrganizations(ctx, all)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, o := range orgs.Items {
		enc.Encode(toOrganization(&o))
	}
	svcs, _ := w.st.ListServices(ctx, all)
	for _, s := range svcs.Items {
		enc.Encode(toService(&s))
	}
	syss, _ := w.st.ListSystems(ctx, all)
	for _, s := range syss.Items {
		enc.Encode(toSystem(&s))
	}
	assets, _ := w.st.ListAssets(ctx, all)
	for _, a := range assets.Items {
		enc.Encode(toAsset(&a))
	}
	users, _ := w.st.ListUsers(ctx)
	for _, u := range users {
		enc.Encode(toUser(&u))
	}
	toks, _ := w.st.ListTokens(ctx)
	for _, t := range toks {
		enc.Encode(toToken(&t))
	}
	runs, _ := w.st.ListSimRuns(ctx, bulwark.SimRunFilter{Limit: bulwark.MaxPageSize})
	for _, r := range runs {
		enc.Encode(toSimRun(&r, false))
	}
	return b.String()
}

// sameAsMissing checks that the response to a request about a hidden object
// equals the response about a missing one, once each ID is masked.
func sameAsMissing(t *testing.T, hidden response, hiddenID string, missing response, missingID string) {
	t.Helper()
	mask := func(r response, id string) string {
		h := r.header.Clone()
		h.Del("Date")
		h.Del("Content-Length")
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k+": "+strings.Join(h[k], ","))
		}
		sort.Strings(keys)
		return fmt.Sprintf("%d\n%s\n%s", r.status, strings.Join(keys, "\n"), regexp.MustCompile(`\b`+regexp.QuoteMeta(id)+`\b`).ReplaceAllString(string(r.body), "<ID>"))
	}
	if d := cmp.Diff(mask(missing, missingID), mask(hidden, hiddenID)); d != "" {
		t.Errorf("hidden %s is distinguishable from missing %s (-missing +hidden):\n%s", hiddenID, missingID, d)
	}
}

// TestAC01_AC09_CrossTenantReads tries, as every user, to read every object
// of the world by path, query and listing. Visible objects are returned;
// hidden ones never appear and answer exactly like missing ones.
func TestAC01_AC09_CrossTenantReads(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) { crossTenantReads(t, newWorldDSN(t, dsn, auth.Options{})) })
}

func crossTenantReads(t *testing.T, world *world) {
	entities := allEntities()
	var checks atomic.Int64
	t.Cleanup(func() { t.Logf("%d cross-tenant checks", checks.Load()) })
	for _, u := range world.users {
		if world.st.Dialect() == "postgres" && u.user.Role != bulwark.RoleViewer {
			continue // visibility depends on the organization, not the role
		}
		t.Run(u.key, func(t *testing.T) {
			t.Parallel()
			n := crossTenantReadsAs(t, world.with(t), u, entities)
			checks.Add(int64(n))
		})
	}
}

// crossTenantReadsAs runs the read probes as u and returns the number of
// (object, path) checks made.
func crossTenantReadsAs(t *testing.T, w *world, u *worldUser, entities []entityRef) int {
	checks := 0
	{
		org := u.user.Org
		for _, e := range entities {
			paths := []string{"/api/v1/" + e.plural + "/" + e.id}
			if e.kind == "service" {
				paths = append(paths, "/api/v1/services/"+e.id+"/graph")
			}
			for _, p := range paths {
				r := w.do(u.key, "GET", p, "", "")
				checkNoInternals(t, r)
				checks++
				if visible(org, e.owner) {
					if r.status != 200 || !strings.Contains(string(r.body), `"`+e.id+`"`) {
						t.Errorf("%s GET %s = %s, want 200", u.key, p, r)
					}
					continue
				}
				missingID := "zz-missing-" + e.kind
				missing := w.missing(u.key, "GET", strings.Replace(p, e.id, missingID, 1))
				if r.status != http.StatusNotFound {
					t.Errorf("%s GET %s (hidden) = %s, want 404", u.key, p, r)
				}
				sameAsMissing(t, r, e.id, missing, missingID)
			}
		}
		for _, o := range worldOrgs {
			r := w.do(u.key, "GET", "/api/v1/organizations/"+o.id, "", "")
			checks++
			if visible(org, o.id) {
				if r.status != 200 {
					t.Errorf("%s GET organization %s = %s", u.key, o.id, r)
				}
				continue
			}
			sameAsMissing(t, r, o.id, w.missing(u.key, "GET", "/api/v1/organizations/zz-nowhere"), "zz-nowhere")
		}
		// Listings with every filter: only visible owners, and a hidden
		// owner filters like a missing one.
		lists := []string{"/api/v1/organizations", "/api/v1/services", "/api/v1/systems", "/api/v1/assets"}
		var queries []string
		for _, l := range lists {
			queries = append(queries, l, l+"?limit=1000", l+"?q=dev", l+"?q=svc")
			for i, o := range worldOrgs {
				if i%2 == len(l)%2 {
					queries = append(queries, l+"?q="+o.id)
				}
				if l != "/api/v1/organizations" {
					queries = append(queries, l+"?owner="+o.id)
				}
			}
		}
		for i, e := range entities {
			if e.kind == "system" {
				queries = append(queries, "/api/v1/assets?system="+e.id)
			}
			if i%3 == 0 {
				queries = append(queries, "/api/v1/"+e.plural+"?q="+e.id, "/api/v1/"+e.plural+"?after="+e.id)
			}
		}
		for _, q := range queries {
			r := w.do(u.key, "GET", q, "", "")
			checks++
			if r.status != 200 {
				t.Errorf("%s GET %s = %s", u.key, q, r)
				continue
			}
			var page struct {
				Items []struct{ ID, Owner string } `json:"items"`
			}
			json.Unmarshal(r.body, &page)
			for _, it := range page.Items {
				owner := it.Owner
				if strings.HasPrefix(q, "/api/v1/organizations") {
					owner = it.ID
				}
				if !visible(org, owner) {
					t.Errorf("%s GET %s lists %s of %s", u.key, q, it.ID, owner)
				}
			}
			for _, e := range entities {
				checks++
				if !visible(org, e.owner) && strings.Contains(string(r.body), `"`+e.id+`"`) {
					t.Errorf("%s GET %s mentions hidden %s", u.key, q, e.id)
				}
			}
		}
		// Aggregates: counts and the graph analysis.
		c := decodeBody[countsDTO](t, w.do(u.key, "GET", "/api/v1/counts", "", ""))
		want := countsDTO{}
		for _, o := range worldOrgs {
			if visible(org, o.id) {
				want.Organizations++
				want.Services += int64(o.nSvc)
				want.Systems += int64(o.nSys)
				want.Assets += int64(o.nDev)
			}
		}
		want.AssetUnits, want.Dependencies = want.Assets, want.Services+want.Assets
		if d := cmp.Diff(want, c); d != "" {
			t.Errorf("%s counts (-want +got):\n%s", u.key, d)
		}
		for _, p := range []string{"/api/v1/graph?limit=0", "/api/v1/me", "/api/v1/tokens", "/api/v1/export"} {
			r := w.do(u.key, "GET", p, "", "")
			checks++
			if r.status != 200 {
				t.Errorf("%s GET %s = %s", u.key, p, r)
			}
			for _, e := range entities {
				checks++
				if !visible(org, e.owner) && strings.Contains(string(r.body), e.id) {
					t.Errorf("%s GET %s mentions hidden %s", u.key, p, e.id)
				}
			}
			for _, o := range worldOrgs {
				if !visible(org, o.id) && strings.Contains(string(r.body), `"`+o.id+`"`) {
					t.Errorf("%s GET %s mentions hidden organization %s", u.key, p, o.id)
				}
			}
		}
	}
	return checks
}

// TestAC06_CrossTenantWrites tries, as every user, every state-changing
// route against other organizations' objects by path and by body. All are
// refused, hidden objects answer like missing ones, and nothing changes.
func TestAC06_CrossTenantWrites(t *testing.T) {
	forEachStore(t, func(t *testing.T, dsn string) {
		crossTenantWrites(t, newWorldDSN(t, dsn, auth.Options{LoginLimit: 1 << 20}))
	})
}

func crossTenantWrites(t *testing.T, w *world) {
	before := w.snapshot()
	for _, u := range w.users {
		org := u.user.Org
		for _, e := range allEntities() {
			if e.owner == org {
				continue // deleting one's own objects is tested elsewhere
			}
			p := "/api/v1/" + e.plural + "/" + e.id
			r := w.do(u.key, "DELETE", p, "", "")
			checkNoInternals(t, r)
			if r.status < 400 {
				t.Errorf("%s DELETE %s = %s", u.key, p, r)
			}
			if !visible(org, e.owner) {
				sameAsMissing(t, r, e.id, w.missing(u.key, "DELETE", "/api/v1/"+e.plural+"/zz-missing"), "zz-missing")
			} else if r.status != http.StatusForbidden {
				t.Errorf("%s DELETE visible foreign %s = %s, want 403", u.key, p, r)
			}
		}
		// Other users and their tokens, by path.
		for _, v := range w.users {
			if v.user.Org == org && u.user.Role == bulwark.RoleAdmin {
				continue // an admin manages its own organization
			}
			if v == u {
				continue
			}
			for _, c := range []struct {
				method, format string
				id             int64
			}{
				{"POST", "/api/v1/users/%d/disable", v.user.ID},
				{"DELETE", "/api/v1/tokens/%d", v.tokID},
			} {
				p := fmt.Sprintf(c.format, c.id)
				r := w.do(u.key, c.method, p, "", "")
				if r.status < 400 {
					t.Errorf("%s %s %s = %s", u.key, c.method, p, r)
				}
				missing := w.missing(u.key, c.method, fmt.Sprintf(c.format, 99999))
				sameAsMissing(t, r, fmt.Sprint(c.id), missing, "99999")
			}
		}
		// Imports that would write other organizations' data, or reach
		// hidden objects through references.
		hiddenOrg, sharedOrg := "", ""
		for _, o := range worldOrgs {
			if o.id != org && !visible(org, o.id) && hiddenOrg == "" {
				hiddenOrg = o.id
			}
			if o.id != org && visible(org, o.id) && sharedOrg == "" {
				sharedOrg = o.id
			}
		}
		var bodies []string
		for _, other := range []string{hiddenOrg, sharedOrg} {
			if other == "" {
				continue
			}
			bodies = append(bodies,
				// a new service owned by another organization
				fmt.Sprintf("services:\n  - {id: %s-new, name: x, owner: %s}\n", org, other),
				// take over an existing object by re-declaring it as one's own
				fmt.Sprintf("services:\n  - {id: %s-svc-1, name: mine now, owner: %s}\n", other, org),
				fmt.Sprintf("assets:\n  - {id: %s-dev-1, name: mine now, owner: %s}\n", other, org),
				// change another organization's object in place
				fmt.Sprintf("services:\n  - {id: %s-svc-1, name: changed, owner: %s, population: 1}\n", other, other),
				// grant oneself access to another organization
				fmt.Sprintf("organizations:\n  - {id: %s, name: x, purview: city, shares_with: [%s]}\n", other, org),
				// a new organization sharing with nobody, then claimed
				fmt.Sprintf("organizations:\n  - {id: %s-shadow, name: x, purview: city, shares_with: [%s]}\n", other, other),
			)
		}
		if hiddenOrg != "" {
			// Referencing hidden objects from one's own (referencing shared
			// ones is allowed: a city service may depend on a utility's system).
			bodies = append(bodies,
				fmt.Sprintf("services:\n  - {id: %s-svc-9, name: x, owner: %s, depends_on: [{on: %s-sys-1}]}\n", org, org, hiddenOrg),
				fmt.Sprintf("assets:\n  - {id: %s-dev-9, name: x, owner: %s, system: %s-sys-1}\n", org, org, hiddenOrg),
				fmt.Sprintf("systems:\n  - {id: %s-sys-9, name: x, owner: %s, groups: [{id: g, need: 1}], depends_on: [{on: %s-dev-1, group: g}]}\n", org, org, hiddenOrg),
			)
		}
		for _, body := range bodies {
			r := w.do(u.key, "POST", "/api/v1/import", "application/yaml", body)
			checkNoInternals(t, r)
			if r.status < 400 {
				t.Errorf("%s import accepted:\n%s-> %s", u.key, body, r)
			}
			for _, o := range worldOrgs {
				if !visible(org, o.id) && strings.Contains(string(r.body), o.id+"-svc-1\"") && strings.Contains(body, "depends_on") {
					t.Errorf("%s import error reveals hidden object: %s", u.key, r)
				}
			}
		}
		// Users created by an admin land in the admin's organization; the
		// body cannot choose another.
		if u.user.Role == bulwark.RoleAdmin {
			r := w.do(u.key, "POST", "/api/v1/users", "application/json",
				`{"email":"x@evil.example","name":"x","role":"admin","password":"long enough pw","org":"hospital"}`)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s create user with org field = %s, want 400", u.key, r)
			}
		}
		// The audit log of an admin holds only its organization's entries.
		if u.user.Role == bulwark.RoleAdmin {
			p := decodeBody[pageDTO[auditDTO]](t, w.do(u.key, "GET", "/api/v1/audit?limit=1000", "", ""))
			for _, e := range p.Items {
				if e.Org != org {
					t.Errorf("%s reads audit entry %d of %q", u.key, e.Seq, e.Org)
				}
			}
			users := decodeBody[struct{ Items []userDTO }](t, w.do(u.key, "GET", "/api/v1/users", "", ""))
			for _, v := range users.Items {
				if v.Org != org {
					t.Errorf("%s lists user %s of %s", u.key, v.Email, v.Org)
				}
			}
		}
	}
	if d := cmp.Diff(before, w.snapshot()); d != "" {
		t.Errorf("refused requests changed the store (-before +after):\n%s", d)
	}
	for _, u := range w.users {
		if r := w.do(u.key, "GET", "/api/v1/me", "", ""); r.status != 200 {
			t.Errorf("%s token no longer works: %s", u.key, r)
		}
	}
}

// missing returns the response to a request for an object that does not
// exist, once per (user, method, path).
func (w *world) missing(as, method, path string) response {
	key := as + " " + method + " " + path
	w.mu.Lock()
	r, ok := w.missingCache[key]
	w.mu.Unlock()
	if !ok {
		r = w.do(as, method, path, "", "")
		w.mu.Lock()
		w.missingCache[key] = r
		w.mu.Unlock()
	}
	return r
}

// TestAC09_NoTimingOracle compares the latency of requests for hidden and
// for missing objects, interleaved: the medians must not differ
// systematically. The bound here is loose so that a busy machine does not
// fail it (the release check is 20 % of the median).
func TestAC09_NoTimingOracle(t *testing.T) {
	w := newWorld(t, auth.Options{})
	timeOf := func(path string) time.Duration {
		start := time.Now()
		if r := w.do("city/viewer", "GET", path, "", ""); r.status != 404 {
			t.Fatalf("GET %s = %s", path, r)
		}
		return time.Since(start)
	}
	var hidden, missing []time.Duration
	for i := range 300 {
		hidden = append(hidden, timeOf(fmt.Sprintf("/api/v1/assets/hospital-dev-%d", 1+i%3)))
		missing = append(missing, timeOf(fmt.Sprintf("/api/v1/assets/hospital-dev-%d", 4+i%3)))
	}
	slices.Sort(hidden)
	slices.Sort(missing)
	mh, mm := hidden[len(hidden)/2], missing[len(missing)/2]
	t.Logf("median latency: hidden %v, missing %v", mh, mm)
	if diff := (mh - mm).Abs(); diff > mm/2+time.Millisecond {
		t.Errorf("hidden objects answer in %v, missing ones in %v", mh, mm)
	}
}
