package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"bulwark"
	"bulwark/internal/baseline"
	"bulwark/internal/incident"
	"bulwark/internal/sharing"
	"bulwark/internal/web/webtest"
)

// TestShare publishes from the pages that show Bulwark's data: the
// advisories, a findings summary and an incident, through their "Share…"
// forms. The form offers only collections the organization may write,
// preselects no marking but AMBER+STRICT, shows the result counts, says
// why a publication was refused, and runs none of the payloads that the
// city, the collection's title and the incident's title carry.
func TestShare(t *testing.T) {
	inst := startVulns(t, webtest.Options{Meters: 3, Payloads: true})
	ctx0 := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	payloads := webtest.Payloads()
	sh := sharing.New(inst.St, nil)
	defer sh.Close()
	com := &bulwark.Community{ID: "metro", Name: "Metro " + payloads[0], Members: []bulwark.CommunityMember{{Org: webtest.OrgWater, Owner: true}, {Org: webtest.OrgPort}}}
	if err := sh.CreateCommunity(ctx0, com); err != nil {
		t.Fatal(err)
	}
	writable := &bulwark.Collection{Community: "metro", Title: "Advisories " + payloads[1], Access: []bulwark.CollectionAccess{
		{Org: webtest.OrgWater, CanRead: true, CanWrite: true}, {Org: webtest.OrgPort, CanRead: true}}}
	readOnly := &bulwark.Collection{Community: "metro", Title: "Port bulletins", Access: []bulwark.CollectionAccess{
		{Org: webtest.OrgWater, CanRead: true}, {Org: webtest.OrgPort, CanRead: true, CanWrite: true}}}
	for _, c := range []*bulwark.Collection{writable, readOnly} {
		if err := sh.CreateCollection(ctx0, c); err != nil {
			t.Fatal(err)
		}
	}
	alice, err := inst.St.FindUserByEmail(ctx0, "alice@water.example")
	if err != nil {
		t.Fatal(err)
	}
	actx := bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: alice.ID, Org: alice.Org, Role: alice.Role, Name: alice.Email})
	inc, err := incident.New(inst.St, baseline.New(inst.St, nil), nil).Create(actx, &bulwark.Incident{Title: "Ransom note " + payloads[2], Threat: "ransomware",
		Description: "internal: operator password reused", Affected: []bulwark.Affected{{ID: "water-scada", Effect: bulwark.EffectDown}}})
	if err != nil {
		t.Fatal(err)
	}

	ctx := browser(t, 3*time.Minute)
	base := inst.URL
	login(t, ctx, base, "alice@water.example")
	text := func(sel string) string {
		t.Helper()
		return eval[string](t, ctx, `(document.querySelector('`+sel+`') || {}).textContent || ''`)
	}
	setCollection := func() {
		t.Helper()
		eval[bool](t, ctx, `(document.querySelector('#share-form select[name=collection]').value = `+jsString(writable.ID)+`, true)`)
	}
	// submit chooses the writable collection and marking, types orgs and
	// publishes.
	submit := func(marking, orgs string) {
		t.Helper()
		setCollection()
		run(t, ctx, chromedp.Click(chromedp.CSS(`#share-form input[name=marking][value="`+marking+`"]`)))
		eval[bool](t, ctx, `(document.querySelector('#share-form input[name=orgs]').value = `+jsString(orgs)+`, true)`)
		click(t, ctx, `#share-form button[type=submit]`)
	}

	// Advisories: the form, then a publication and its repetition.
	run(t, ctx, chromedp.Navigate(base+"/advisories"), chromedp.WaitVisible(chromedp.ID("share-advisories")))
	click(t, ctx, "#share-advisories")
	run(t, ctx, chromedp.WaitVisible(chromedp.ID("share-form")))
	noScriptRan(t, ctx, "share form")
	if got := eval[[]string](t, ctx, `[...document.querySelectorAll('#share-form select[name=collection] option')].map(o => o.value)`); len(got) != 2 || got[0] != "" || got[1] != writable.ID {
		t.Errorf("collections offered %v, want a prompt and only %s", got, writable.ID)
	}
	if got := eval[[]string](t, ctx, `[...document.querySelectorAll('#share-form input[name=marking]:checked')].map(i => i.value)`); len(got) != 1 || got[0] != "amber+strict" {
		t.Errorf("preselected markings %v, want only amber+strict", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#share-form input[name=csrf_token]').length`); n != 1 {
		t.Errorf("%d CSRF fields", n)
	}
	submit("green", "")
	published := text("#share-published")
	if published == "" || published == "0" || text("#share-unchanged") != "0" || text("#share-refused") != "0" {
		t.Fatalf("advisories: published %q, unchanged %q, refused %q; error %q", published, text("#share-unchanged"), text("#share-refused"), text("#share-error"))
	}
	submit("green", "")
	if text("#share-published") != "0" || text("#share-unchanged") != published {
		t.Errorf("again: published %q, unchanged %q, want 0 and %s", text("#share-published"), text("#share-unchanged"), published)
	}
	// A lower marking is refused object by object, and said so.
	submit("clear", "")
	if !strings.Contains(text("#share-error"), "refused") || eval[int](t, ctx, `document.querySelectorAll('#share-refusals li').length`) == 0 {
		t.Errorf("lowered marking: error %q, refusals %q", text("#share-error"), text("#share-refusals"))
	}
	noScriptRan(t, ctx, "share result")

	// The findings summary, with the conservative default.
	run(t, ctx, chromedp.Navigate(base+"/findings"), chromedp.WaitVisible(chromedp.ID("share-findings")))
	click(t, ctx, "#share-findings")
	setCollection()
	click(t, ctx, `#share-form button[type=submit]`)
	if text("#share-published") != "1" {
		t.Errorf("findings summary: published %q, error %q", text("#share-published"), text("#share-error"))
	}

	// The incident: AMBER needs recipients; a payload typed as one comes
	// back inert in the error.
	run(t, ctx, chromedp.Navigate(base+"/incidents/"+inc.ID), chromedp.WaitVisible(chromedp.ID("share-incident")))
	click(t, ctx, "#share-incident")
	if !strings.Contains(text("#share-what"), "Ransom note") {
		t.Errorf("share page names %q", text("#share-what"))
	}
	submit("amber", payloads[3])
	if text("#share-error") == "" || text("#share-published") != "" {
		t.Errorf("amber to a payload: error %q, published %q", text("#share-error"), text("#share-published"))
	}
	noScriptRan(t, ctx, "refused share")
	submit("amber", webtest.OrgPort)
	if text("#share-published") != "2" {
		t.Errorf("incident: published %q, error %q", text("#share-published"), text("#share-error"))
	}
	noScriptRan(t, ctx, "incident shared")

	// A viewer of the port is told it may not publish, and sees no form.
	ctx2 := browser(t, time.Minute)
	login(t, ctx2, base, "bob@port.example")
	run(t, ctx2, chromedp.Navigate(base+"/share/findings"), chromedp.WaitVisible(chromedp.ID("share-readonly")))
	if n := eval[int](t, ctx2, `document.querySelectorAll('#share-form').length`); n != 0 {
		t.Errorf("the viewer got the form")
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
