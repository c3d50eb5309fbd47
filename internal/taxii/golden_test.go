package taxii_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
	"bulwark/internal/taxii"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The TAXII resources as a client receives them, pinned by a golden file:
// discovery, API root, collections, a collection, manifest, objects,
// versions, status and an error. What changes from run to run (date_added,
// status ids and request times) is replaced by placeholders.
func TestResourcesGolden(t *testing.T) {
	w := sharingtest.Open(t, false, sharingtest.Orgs("city", "water", "port"))
	city, water := w.AddUser(t, "city", bulwark.RoleAdmin), w.AddUser(t, "water", bulwark.RoleAnalyst)
	if err := w.Svc.CreateCommunity(city.Ctx(), &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: "water"}, {Org: "port"}}}); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{ID: "9c9d2a3e-1f4b-4d2e-8a6c-3b5e7f9a1c2d", Community: "metro", Title: "OT indicators", Description: "Indicators seen on OT networks",
		Alias: "ot", Access: []bulwark.CollectionAccess{{Org: "water", CanRead: true, CanWrite: true}, {Org: "port", CanRead: true}}}
	if err := w.Svc.CreateCollection(city.Ctx(), col); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(taxii.Prefix, taxii.New(w.Svc, taxii.Config{Title: "Bulwark", Description: "Test server", Contact: "soc@example.org"}, nil))
	srv := httptest.NewServer(w.Auth.Middleware(mux))
	defer srv.Close()
	e := &env{t: t, w: w, srv: srv, root: "/taxii2/bulwark/"}
	id := "indicator--3c6f6c3e-9a2b-4f5d-8e1a-7b9c0d2e4f60"
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	e.post(t, water, col.ID, indicator(id, t0, stix.TLPGreenID))
	st := e.post(t, water, col.ID, indicator(id, t0.Add(time.Minute), stix.TLPGreenID), []byte(`{"type":"indicator","id":"indicator--bad"}`))
	var out bytes.Buffer
	for _, p := range []string{"/taxii2/", e.root, e.root + "collections/", e.col("ot"), e.col(col.ID) + "manifest/?match[version]=all",
		e.col(col.ID) + "objects/", e.col(col.ID) + "objects/" + id + "/versions/", e.root + "status/" + st["id"].(string) + "/",
		e.col(col.ID) + "objects/indicator--00000000-0000-4000-8000-000000000000/"} {
		r := e.do(t, req{path: p, user: water})
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		pretty, _ := json.MarshalIndent(v, "", "  ")
		out.WriteString("GET " + strings.ReplaceAll(p, st["id"].(string), "<status-id>") + "\n")
		out.WriteString("HTTP " + r.Status + "\nContent-Type: " + r.Header.Get("Content-Type") + "\n")
		if h := r.Header.Get("X-TAXII-Date-Added-First"); h != "" {
			out.WriteString("X-TAXII-Date-Added-First: <timestamp>\nX-TAXII-Date-Added-Last: <timestamp>\n")
		}
		out.Write(pretty)
		out.WriteString("\n\n")
	}
	got := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z`).ReplaceAll(out.Bytes(), []byte("<timestamp>"))
	got = bytes.ReplaceAll(got, []byte(st["id"].(string)), []byte("<status-id>"))
	path := filepath.Join("testdata", "resources.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("TAXII resources differ from %s (run with -update if intended):\n%s", path, got)
	}
}
