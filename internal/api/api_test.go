package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"bulwark/internal/auth"
)

func TestReadRoutes(t *testing.T) {
	w := newWorld(t, auth.Options{})
	w.run(t, []apiCase{
		{name: "healthz without credentials", method: "GET", path: "/api/v1/healthz", status: 200},
		{name: "openapi without credentials", method: "GET", path: "/api/v1/openapi.json", status: 200},
		{name: "me", as: "water/viewer", method: "GET", path: "/api/v1/me", status: 200, check: func(t *testing.T, r response) {
			want := meDTO{UserID: w.users["water/viewer"].user.ID, Org: "water", Role: "viewer", Name: "token:test"}
			if d := cmp.Diff(want, decodeBody[meDTO](t, r)); d != "" {
				t.Errorf("me (-want +got):\n%s", d)
			}
		}},
		{name: "no credentials", method: "GET", path: "/api/v1/services", status: 401, check: func(t *testing.T, r response) {
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		}},
		{name: "service", as: "water/viewer", method: "GET", path: "/api/v1/services/water-svc-1", status: 200, check: func(t *testing.T, r response) {
			want := serviceDTO{ID: "water-svc-1", Name: "water service 1", Owner: "water", Sector: "water-wastewater", Population: 1000,
				Category:  &categoryDTO{"low", "high", "high"},
				DependsOn: []dependencyDTO{{On: "water-sys-1", Kind: "hard"}}}
			if d := cmp.Diff(want, decodeBody[serviceDTO](t, r)); d != "" {
				t.Errorf("service (-want +got):\n%s", d)
			}
		}},
		{name: "asset", as: "water/viewer", method: "GET", path: "/api/v1/assets/water-dev-1", status: 200, check: func(t *testing.T, r response) {
			want := assetDTO{ID: "water-dev-1", Name: "water device 1", Owner: "water", Kind: "plc", Vendor: "siemens", Count: 1, System: "water-sys-2", Dependency: "hard"}
			if d := cmp.Diff(want, decodeBody[assetDTO](t, r)); d != "" {
				t.Errorf("asset (-want +got):\n%s", d)
			}
		}},
		{name: "city sees shared water service", as: "city/viewer", method: "GET", path: "/api/v1/services/water-svc-2", status: 200},
		{name: "system", as: "port/analyst", method: "GET", path: "/api/v1/systems/port-sys-1", status: 200},
		{name: "organization", as: "port/analyst", method: "GET", path: "/api/v1/organizations/port", status: 200},
		{name: "missing service", as: "water/viewer", method: "GET", path: "/api/v1/services/nope", status: 404},
		{name: "malformed id is missing", as: "water/viewer", method: "GET", path: "/api/v1/services/%00x", status: 404},
		{name: "list assets by system", as: "water/viewer", method: "GET", path: "/api/v1/assets?system=water-sys-2", status: 200, check: func(t *testing.T, r response) {
			if got := ids(decodeBody[pageDTO[assetDTO]](t, r).Items, func(a assetDTO) string { return a.ID }); !slices.Equal(got, []string{"water-dev-1", "water-dev-3"}) {
				t.Errorf("assets of water-sys-2 = %v", got)
			}
		}},
		{name: "list services by owner and q", as: "city/viewer", method: "GET", path: "/api/v1/services?owner=water&q=SERVICE%202", status: 200, check: func(t *testing.T, r response) {
			if got := ids(decodeBody[pageDTO[serviceDTO]](t, r).Items, func(a serviceDTO) string { return a.ID }); !slices.Equal(got, []string{"water-svc-2"}) {
				t.Errorf("services = %v", got)
			}
		}},
		{name: "counts", as: "city/viewer", method: "GET", path: "/api/v1/counts", status: 200, check: func(t *testing.T, r response) {
			want := countsDTO{Organizations: 4, Services: 7, Systems: 7, Assets: 11, AssetUnits: 11, Dependencies: 18}
			if d := cmp.Diff(want, decodeBody[countsDTO](t, r)); d != "" {
				t.Errorf("counts (-want +got):\n%s", d)
			}
		}},
		{name: "limit zero", as: "city/viewer", method: "GET", path: "/api/v1/assets?limit=0", status: 400},
		{name: "limit too big", as: "city/viewer", method: "GET", path: "/api/v1/assets?limit=1001", status: 400},
		{name: "limit not a number", as: "city/viewer", method: "GET", path: "/api/v1/assets?limit=1e3", status: 400},
		{name: "unknown parameter", as: "city/viewer", method: "GET", path: "/api/v1/assets?ownr=water", status: 400},
		{name: "repeated parameter", as: "city/viewer", method: "GET", path: "/api/v1/assets?owner=water&owner=city", status: 400},
		{name: "bad sector", as: "city/viewer", method: "GET", path: "/api/v1/services?sector=space", status: 400},
		{name: "bad cursor", as: "city/viewer", method: "GET", path: "/api/v1/services?after=%27%20OR%201=1", status: 400},
		{name: "unknown route", as: "city/viewer", method: "GET", path: "/api/v1/nothing", status: 404},
		{name: "graph report", as: "city/viewer", method: "GET", path: "/api/v1/graph?limit=5", status: 200},
		{name: "service graph", as: "water/viewer", method: "GET", path: "/api/v1/services/water-svc-1/graph", status: 200, check: func(t *testing.T, r response) {
			if !strings.Contains(string(r.body), `"water-sys-1"`) {
				t.Errorf("service view lacks its system: %s", r.body)
			}
		}},
	})
}

func ids[T any](items []T, id func(T) string) []string {
	var out []string
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func TestPagination(t *testing.T) {
	w := newWorld(t, auth.Options{})
	var got []string
	next := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("pagination does not end")
		}
		path := "/api/v1/assets?limit=2"
		if next != "" {
			path += "&after=" + next
		}
		r := w.do("city/viewer", "GET", path, "", "")
		if r.status != 200 {
			t.Fatal(r)
		}
		p := decodeBody[pageDTO[assetDTO]](t, r)
		if len(p.Items) > 2 {
			t.Fatalf("page of %d items, limit 2", len(p.Items))
		}
		got = append(got, ids(p.Items, func(a assetDTO) string { return a.ID })...)
		if p.Next == "" {
			break
		}
		next = p.Next
	}
	want := []string{"city-dev-1", "city-dev-2", "city-dev-3", "port-dev-1", "port-dev-2", "port-dev-3", "transit-dev-1", "transit-dev-2", "water-dev-1", "water-dev-2", "water-dev-3"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("paged assets (-want +got):\n%s", d)
	}
}

// TestMETA02_EveryRouteHasPolicy enumerates the route table: every route
// names a policy, writes are never open to readers, and only healthz and the
// OpenAPI document are public.
func TestMETA02_EveryRouteHasPolicy(t *testing.T) {
	a := newAPI(nil, Services{}, nil, nil)
	seen := map[string]bool{}
	for _, rt := range a.routes {
		if seen[rt.pattern] {
			t.Errorf("route %q registered twice", rt.pattern)
		}
		seen[rt.pattern] = true
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok || !strings.HasPrefix(path, "/api/v1/") {
			t.Errorf("route %q is not METHOD /api/v1/...", rt.pattern)
		}
		if _, named := policyNames[rt.policy]; !named {
			t.Errorf("route %q has no policy", rt.pattern)
		}
		if method != "GET" && (rt.policy == public || rt.policy == reader) {
			t.Errorf("state-changing route %q is open to %s", rt.pattern, rt.policy)
		}
		if rt.policy == public && path != "/api/v1/healthz" && path != "/api/v1/openapi.json" {
			t.Errorf("route %q is public", rt.pattern)
		}
	}
	for _, pattern := range []string{"POST /api/v1/users", "GET /api/v1/audit", "GET /api/v1/audit/verify", "GET /api/v1/users", "POST /api/v1/users/{id}/disable"} {
		for _, rt := range a.routes {
			if rt.pattern == pattern && rt.policy != admin {
				t.Errorf("%s has policy %s, want admin", pattern, rt.policy)
			}
		}
	}
}

// TestOpenAPIDocumentsEveryRoute checks that openapi.json and the route
// table describe the same operations, with the same policy.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]string{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				Policy string `json:"x-bulwark-policy"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			documented[strings.ToUpper(method)+" "+path] = op.Policy
		}
	}
	routed := map[string]string{}
	for _, rt := range newAPI(nil, Services{}, nil, nil).routes {
		routed[rt.pattern] = rt.policy.String()
	}
	if d := cmp.Diff(keys(routed), keys(documented)); d != "" {
		t.Errorf("routes (-registered +documented):\n%s", d)
	}
	for k, p := range routed {
		if q, ok := documented[k]; ok && p != q {
			t.Errorf("%s: policy %s, documented %s", k, p, q)
		}
	}
	// Every $ref resolves.
	var all map[string]any
	json.Unmarshal(openapiJSON, &all)
	schemas := all["components"].(map[string]any)["schemas"].(map[string]any)
	for _, m := range regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(string(openapiJSON), -1) {
		if _, ok := schemas[m[1]]; !ok {
			t.Errorf("dangling $ref %s", m[1])
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestMethodNotRouted(t *testing.T) {
	w := newWorld(t, auth.Options{})
	r := w.do("city/admin", "PUT", "/api/v1/services/city-svc-1", "application/json", "{}")
	if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT = %s", r)
	}
	checkNoInternals(t, r)
}
