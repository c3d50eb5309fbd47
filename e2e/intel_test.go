package e2e

import (
	"context"
	"encoding/json"
	"strconv"
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

// TestIntelManage walks the water department's administrator through
// community management in the browser: a community and a collection
// named with XSS payloads, an owner added, the collection's access edited,
// an object's versions listed and deleted one by one; then the port's
// viewer sees the community as text, without the management forms.
func TestIntelManage(t *testing.T) {
	inst := start(t, func(ctx context.Context, st *sqlstore.DB) error {
		return importCity(ctx, st, func(emit func(*bulwark.City) error) error { return emit(webtest.City(webtest.Options{Meters: 3})) })
	},
		bulwark.User{Org: webtest.OrgWater, Email: "ada@water.example", Name: "Ada", Role: bulwark.RoleAdmin},
		bulwark.User{Org: webtest.OrgPort, Email: "bob@port.example", Name: "Bob", Role: bulwark.RoleViewer},
	)
	ctx := browser(t, 2*time.Minute)
	base := inst.URL
	payloads := webtest.Payloads()
	name, desc, title := payloads[0], payloads[21], payloads[42] // <script>, "><img onerror>, '><svg onload>
	login(t, ctx, base, "ada@water.example")

	// A new community with the port as a member.
	run(t, ctx, chromedp.Navigate(base+"/intel"), chromedp.WaitReady(chromedp.ID("new-community")))
	eval[chromedp.Void](t, ctx, `document.getElementById('new-community').open = true`)
	run(t, ctx,
		chromedp.SetValue(chromedp.ID("community-id"), "ops"),
		chromedp.SetValue(chromedp.ID("community-name"), name),
		chromedp.SetValue(chromedp.ID("community-description"), desc),
		chromedp.SetValue(chromedp.ID("community-members"), webtest.OrgPort),
	)
	click(t, ctx, "#community-submit")
	if loc := location(t, ctx); !strings.Contains(loc, "/intel?saved=community") {
		t.Fatalf("after creating the community the browser is at %s: %s", loc, eval[string](t, ctx, `(document.getElementById('intel-error') || {}).textContent || ''`))
	}
	noScriptRan(t, ctx, "community created")
	if got := eval[string](t, ctx, `document.querySelector('#community-ops strong').textContent`); got != name {
		t.Errorf("community name shown as %q, want the payload as text", got)
	}

	// Make the port an owner through the member table.
	eval[chromedp.Void](t, ctx, `document.getElementById('manage-ops').open = true`)
	click(t, ctx, `#manage-ops form.inline:has(input[value="`+webtest.OrgPort+`"]) button[value="owner"]`)
	noScriptRan(t, ctx, "owner added")
	if got := eval[string](t, ctx, `document.querySelector('#community-ops .muted').textContent`); !strings.Contains(got, webtest.OrgPort+" (owner)") {
		t.Errorf("members after promoting the port: %q", got)
	}

	// A collection in it.
	eval[chromedp.Void](t, ctx, `document.getElementById('new-collection').open = true`)
	run(t, ctx,
		chromedp.SetValue(chromedp.ID("collection-community"), "ops"),
		chromedp.SetValue(chromedp.ID("collection-title"), title),
		chromedp.SetValue(chromedp.ID("collection-alias"), "ops-ioc"),
	)
	click(t, ctx, "#collection-submit")
	loc := location(t, ctx)
	if !strings.Contains(loc, "saved=collection&c=") {
		t.Fatalf("after creating the collection the browser is at %s: %s", loc, eval[string](t, ctx, `(document.getElementById('intel-error') || {}).textContent || ''`))
	}
	col := loc[strings.Index(loc, "c=")+2:]
	noScriptRan(t, ctx, "collection created")
	if got := eval[string](t, ctx, `document.getElementById('collection').textContent`); got != title {
		t.Errorf("collection title shown as %q", got)
	}

	// Edit it: the port reads but no longer writes.
	eval[chromedp.Void](t, ctx, `document.getElementById('edit-collection').open = true`)
	eval[chromedp.Void](t, ctx, `document.querySelector('input[name="write_`+webtest.OrgPort+`"]').checked = false`)
	run(t, ctx, chromedp.SetValue(chromedp.ID("edit-description"), "indicators of compromise"))
	click(t, ctx, "#edit-submit")
	noScriptRan(t, ctx, "collection edited")
	if got := eval[bool](t, ctx, `document.querySelector('input[name="write_`+webtest.OrgPort+`"]').checked`); got {
		t.Error("the port still writes the collection")
	}

	// Three versions of one object; the page lists them and deletes them.
	sh := sharing.New(inst.St, nil)
	ada, err := inst.St.FindUserByEmail(context.Background(), "ada@water.example")
	if err != nil {
		t.Fatal(err)
	}
	actx := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: ada.ID, Org: ada.Org, Role: ada.Role, Name: ada.Email})
	id := "indicator--" + uuid.NewString()
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 3 {
		ts := stix.FormatTimestamp(t0.Add(time.Duration(i) * time.Minute))
		body, _ := json.Marshal(map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "created": stix.FormatTimestamp(t0), "modified": ts,
			"name": payloads[63] + strconv.Itoa(i), "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": stix.FormatTimestamp(t0)})
		if _, err := sh.Publish(actx, sharing.PublishRequest{Collection: col, Object: body, Marking: bulwark.TLPGreen}); err != nil {
			t.Fatalf("publish version %d: %v", i, err)
		}
	}
	objURL := base + "/intel/objects/" + col + "/" + id
	run(t, ctx, chromedp.Navigate(objURL), chromedp.WaitVisible(chromedp.ID("intel-versions")))
	noScriptRan(t, ctx, "object page")
	if n := eval[int](t, ctx, `document.querySelectorAll('#intel-versions tbody tr').length`); n != 3 {
		t.Fatalf("%d versions listed, want 3", n)
	}
	click(t, ctx, `#intel-versions tbody tr:first-child button`)
	if loc := location(t, ctx); !strings.HasSuffix(loc, "?deleted=1") {
		t.Fatalf("after deleting a version the browser is at %s", loc)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#intel-versions tbody tr').length`); n != 2 {
		t.Errorf("%d versions left, want 2", n)
	}
	if got := eval[string](t, ctx, `document.querySelector('#intel-versions time').getAttribute('datetime')`); got != stix.FormatTimestamp(t0.Add(time.Minute)) {
		t.Errorf("oldest version left %s", got)
	}
	click(t, ctx, "#delete-all-submit")
	if loc := location(t, ctx); !strings.Contains(loc, "/intel?saved=deleted") {
		t.Fatalf("after deleting the object the browser is at %s", loc)
	}
	noScriptRan(t, ctx, "object deleted")

	// The port's viewer: the community as text, no management forms.
	click(t, ctx, "#logout")
	login(t, ctx, base, "bob@port.example")
	run(t, ctx, chromedp.Navigate(base+"/intel"), chromedp.WaitVisible(chromedp.ID("intel-communities")))
	noScriptRan(t, ctx, "bob's intel page")
	if got := eval[string](t, ctx, `document.querySelector('#community-ops strong').textContent`); got != name {
		t.Errorf("bob sees the community as %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('details.manage, #community-form, #collection-form, #collection-edit-form').length`); n != 0 {
		t.Errorf("bob is offered %d management forms", n)
	}
}
