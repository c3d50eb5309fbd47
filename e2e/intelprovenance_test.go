package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/sharing"
	"bulwark/internal/sqlstore"
	"bulwark/internal/stix"
	"bulwark/internal/web/webtest"
)

// TestIntelProvenance: the port's viewer reads "what came from whom" on a
// collection (a summary per source and publisher, a source per row),
// filters the list by source in the browser and back; a source name that
// is an XSS payload stays text, and the source of an object the viewer may
// not see appears nowhere; the water administrator sees it.
func TestIntelProvenance(t *testing.T) {
	inst := start(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, func(emit func(*bulwark.City) error) error { return emit(webtest.City(webtest.Options{Meters: 3})) })
	},
		bulwark.User{Org: webtest.OrgWater, Email: "ada@water.example", Name: "Ada", Role: bulwark.RoleAdmin},
		bulwark.User{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
	)
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	sh := sharing.New(inst.St, nil)
	if err := sh.CreateCommunity(sys, &bulwark.Community{ID: "metro", Name: "Metro", Members: []bulwark.CommunityMember{{Org: webtest.OrgWater, Owner: true}, {Org: webtest.OrgPort}}}); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Metro intel"}
	if err := sh.CreateCollection(sys, col); err != nil {
		t.Fatal(err)
	}
	ada, err := inst.St.FindUserByEmail(context.Background(), "ada@water.example")
	if err != nil {
		t.Fatal(err)
	}
	actx := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: ada.ID, Org: ada.Org, Role: ada.Role, Name: ada.Email})
	payload := webtest.Payloads()[0]
	for _, o := range []struct{ source, name, marking string }{
		{"feed:partner-isac", "fed one", stix.TLPGreenID},
		{"feed:partner-isac", "fed two", stix.TLPGreenID},
		{"feed:secret-source", "secret one", stix.TLPAmberStrictID}, // water only
		{"import:" + payload, "imported one", stix.TLPClearID},
	} {
		ts := stix.FormatTimestamp(time.Now())
		obj, err := stix.ParseObject([]byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":%q,"modified":%q,"name":%q,`+
			`"pattern":"[ipv4-addr:value = '198.51.100.9']","pattern_type":"stix","valid_from":%q,"object_marking_refs":[%q]}`, uuid.NewString(), ts, ts, o.name, ts, o.marking)), stix.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := sh.AddObjects(actx, col.ID, []*stix.Object{obj}, sharing.AddOptions{Source: o.source}); err != nil || len(st.Failures) > 0 {
			t.Fatalf("add %s: %v %+v", o.name, err, st)
		}
	}

	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	login(t, ctx, base, "bob@port.example")
	run(t, ctx, chromedp.Navigate(base+"/intel?c="+col.ID), chromedp.WaitVisible(chromedp.ID("intel-provenance")))
	noScriptRan(t, ctx, "bob's collection")
	summary := eval[[]string](t, ctx, `[...document.querySelectorAll('#intel-provenance tbody tr')].map(r => [...r.cells].slice(0, 3).map(c => c.textContent).join('|'))`)
	want := []string{"feed:partner-isac|" + webtest.OrgWater + "|2", "import:" + payload + "|" + webtest.OrgWater + "|1"}
	if strings.Join(summary, "\n") != strings.Join(want, "\n") {
		t.Errorf("bob's summary:\n%s\nwant\n%s", strings.Join(summary, "\n"), strings.Join(want, "\n"))
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#intel-provenance meter').length`); n != 2 {
		t.Errorf("%d meters, want 2", n)
	}
	if eval[bool](t, ctx, `document.body.textContent.includes('secret')`) {
		t.Error("bob's page names the hidden source or object")
	}
	sources := func() []string {
		return eval[[]string](t, ctx, `[...document.querySelectorAll('#intel-objects tbody tr')].map(r => r.cells[4].textContent)`)
	}
	if got := sources(); len(got) != 3 {
		t.Errorf("bob's list: sources %q, want 3 rows", got)
	}

	// Filter by source in the form.
	run(t, ctx, chromedp.SetValue(chromedp.ID("filter-source"), "feed:partner-isac"))
	click(t, ctx, "#filter-submit")
	noScriptRan(t, ctx, "filtered")
	if got := sources(); len(got) != 2 || got[0] != "feed:partner-isac" || got[1] != "feed:partner-isac" {
		t.Errorf("filtered by feed:partner-isac: %q", got)
	}
	if loc := location(t, ctx); !strings.Contains(loc, "source=feed%3Apartner-isac") {
		t.Errorf("the filter is not in the address: %s", loc)
	}
	click(t, ctx, "#filter-clear")
	if got := sources(); len(got) != 3 {
		t.Errorf("after clearing the filter: %q", got)
	}

	// Ada's organization sees its AMBER+STRICT feed in the summary.
	click(t, ctx, "#logout")
	login(t, ctx, base, "ada@water.example")
	run(t, ctx, chromedp.Navigate(base+"/intel?c="+col.ID), chromedp.WaitVisible(chromedp.ID("intel-provenance")))
	if got := eval[string](t, ctx, `document.getElementById('intel-provenance').textContent`); !strings.Contains(got, "feed:secret-source") {
		t.Errorf("ada's summary lacks her own feed: %q", got)
	}
	noScriptRan(t, ctx, "ada's collection")
}
