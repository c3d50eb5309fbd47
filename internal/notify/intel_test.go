package notify_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"bulwark"
	"bulwark/internal/notify"
	"bulwark/internal/notify/notifytest"
	"bulwark/internal/sharing"
	"bulwark/internal/sharing/sharingtest"
	"bulwark/internal/stix"
	"bulwark/internal/testenv"
)

// intelWorld is a sharing community with subscribed organizations, a
// notification service wired to the sharing service as internal/app wires
// them, a real SMTP server and a webhook receiver.
type intelWorld struct {
	w                           *sharingtest.World
	ns                          *notify.Service
	mail                        *notifytest.SMTPServer
	hook, outsiderHook          *notifytest.WebhookServer
	last                        *sharing.Added
	col                         string
	city, water, power, port    *sharingtest.User
	portColleague, hospitalUser *sharingtest.User
}

// The world: city owns community "metro" (water, power, port); hospital is
// an outsider. Every organization, the outsider included, has subscribed
// its desk by e-mail; power and hospital also by webhook.
func newIntelWorld(t *testing.T) *intelWorld { return newIntelWorldOn(t, false) }

// newIntelWorldOn is newIntelWorld on SQLite or (pg) PostgreSQL.
func newIntelWorldOn(t *testing.T, pg bool) *intelWorld {
	t.Helper()
	orgs := sharingtest.Orgs("city", "water", "power", "port", "hospital")
	for i := range orgs {
		orgs[i].Contacts = []bulwark.Contact{{Name: orgs[i].ID + " desk", Role: "Security desk", Email: "desk@" + orgs[i].ID + ".example"}}
	}
	w := sharingtest.Open(t, pg, orgs)
	x := &intelWorld{w: w, city: w.AddUser(t, "city", bulwark.RoleAdmin), water: w.AddUser(t, "water", bulwark.RoleAnalyst),
		power: w.AddUser(t, "power", bulwark.RoleAnalyst), port: w.AddUser(t, "port", bulwark.RoleAnalyst),
		portColleague: w.AddUser(t, "port", bulwark.RoleAdmin), hospitalUser: w.AddUser(t, "hospital", bulwark.RoleAdmin)}
	com := &bulwark.Community{ID: "metro", Name: "Metro utilities", Members: []bulwark.CommunityMember{{Org: "water"}, {Org: "power"}, {Org: "port"}}}
	if err := w.Svc.CreateCommunity(x.city.Ctx(), com); err != nil {
		t.Fatal(err)
	}
	col := &bulwark.Collection{Community: "metro", Title: "Indicators", Access: []bulwark.CollectionAccess{
		{Org: "city", CanRead: true, CanWrite: true}, {Org: "water", CanRead: true, CanWrite: true},
		{Org: "power", CanRead: true}, {Org: "port", CanRead: true}}}
	if err := w.Svc.CreateCollection(x.city.Ctx(), col); err != nil {
		t.Fatal(err)
	}
	x.col = col.ID
	x.mail = notifytest.NewSMTPServer(t, notifytest.SMTPOptions{StartTLS: true})
	x.hook = notifytest.NewWebhookServer(t, hookSecret, nil)
	x.outsiderHook = notifytest.NewWebhookServer(t, hookSecret, nil)
	src := fmt.Sprintf(`version: 1
rules:
  - id: intel-desks
    description: Security desks hear of intel shared with their organization.
    events: [intel_added]
    channel: email
    recipients:
      - {org: water}
      - {org: power}
      - {org: port, role: security}
      - {org: hospital}
  - id: intel-hooks
    events: [intel_added]
    channel: webhook
    recipients:
      - {url: "%s/power", secret: intel, org: power}
      - {url: "%s/hospital", secret: intel, org: hospital}
  - id: own-organization
    audience: internal
    recipients:
      - org: "@incident"
    channel: email
    template: internal
`, x.hook.URL, x.outsiderHook.URL)
	m, err := notify.ParseMatrix(strings.NewReader(src), "intel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	x.ns = notify.New(w.Store, m, notify.Config{PublicURL: "https://bulwark.example.org"}, nil)
	smtpS, err := notify.NewSMTP(notify.SMTPConfig{Host: x.mail.Host, Port: x.mail.Port, From: "bulwark@city.example", TLS: notify.TLSRequireStartTLS,
		TLSConfig: x.mail.ClientTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	x.ns.SetSender(bulwark.ChannelEmail, smtpS)
	x.ns.SetSender(bulwark.ChannelWebhook, notify.NewWebhook(notify.WebhookConfig{Secrets: map[string]notify.Secret{"intel": hookSecret}, Timeout: 5 * time.Second}))
	w.Svc.OnAdded(x.ns.IntelHook(w.Svc))
	w.Svc.OnAdded(func(_ context.Context, a *sharing.Added) { x.last = a })
	return x
}

// deliver sends everything queued and returns the mails and webhook
// deliveries that arrived since the last call.
func (x *intelWorld) deliver(t *testing.T, mails, hooks *int) ([]notifytest.Mail, []notifytest.Delivery) {
	t.Helper()
	if _, err := x.ns.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	m, h := x.mail.Mails(), x.hook.Deliveries()
	newM, newH := m[*mails:], h[*hooks:]
	*mails, *hooks = len(m), len(h)
	return newM, newH
}

func intelObject(id, name string) []byte {
	ts := stix.FormatTimestamp(time.Now().UTC().Truncate(time.Millisecond))
	return []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":%q,`+
		`"pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":%q}`, id, ts, ts, name, ts))
}

// body is a mail's decoded text with "\n" line ends.
func body(m notifytest.Mail) string { return strings.ReplaceAll(m.Body, "\r\n", "\n") }

func recipients(mails []notifytest.Mail) []string {
	var out []string
	for _, m := range mails {
		out = append(out, m.To...)
	}
	slices.Sort(out)
	return out
}

// TestIntelDigestTLPMatrix is the adversarial matrix: for every marking
// and every class of recipient (the publisher's organization, a community
// member, the recipient organization, an outsider that subscribed, the
// named individual of TLP:RED and a colleague of theirs), exactly the
// recipients sharing.CanSee allows get a message, and the others get
// nothing at all: no message, no notification to list, no count, no id.
func TestIntelDigestTLPMatrix(t *testing.T) { testIntelDigestTLPMatrix(t, false) }

func TestPostgresIntelDigestTLPMatrix(t *testing.T) {
	testenv.PostgresDSN(t)
	testIntelDigestTLPMatrix(t, true)
}

func testIntelDigestTLPMatrix(t *testing.T, pg bool) {
	x := newIntelWorldOn(t, pg)
	portUser := x.port.Email
	cases := []struct {
		marking   bulwark.TLP
		orgs      []string
		users     []int64
		wantMail  []string
		wantHooks int // to power's webhook
	}{
		{bulwark.TLPClear, nil, nil, []string{"desk@port.example", "desk@power.example", "desk@water.example"}, 1},
		{bulwark.TLPGreen, nil, nil, []string{"desk@port.example", "desk@power.example", "desk@water.example"}, 1},
		{bulwark.TLPAmber, []string{"power"}, nil, []string{"desk@power.example", "desk@water.example"}, 1},
		{bulwark.TLPAmberStrict, []string{"power"}, nil, []string{"desk@power.example", "desk@water.example"}, 1},
		{bulwark.TLPRed, nil, []int64{x.port.ID}, []string{portUser}, 0},
	}
	var nm, nh int
	var allIDs []string
	for _, tc := range cases {
		t.Run(string(tc.marking), func(t *testing.T) {
			id := "indicator--" + uuid.NewString()
			allIDs = append(allIDs, id)
			name := "C2 server " + string(tc.marking)
			if _, err := x.w.Svc.Publish(x.water.Ctx(), sharing.PublishRequest{Collection: x.col, Object: intelObject(id, name),
				Marking: tc.marking, Orgs: tc.orgs, Users: tc.users}); err != nil {
				t.Fatal(err)
			}
			mails, hooks := x.deliver(t, &nm, &nh)
			if got := recipients(mails); !slices.Equal(got, tc.wantMail) {
				t.Errorf("mail went to %v, want %v", got, tc.wantMail)
			}
			label := tc.marking.Label()
			for _, m := range mails {
				if subj := m.Header.Get("Subject"); !strings.HasPrefix(subj, "["+label+"] 1 new intel object in Indicators") {
					t.Errorf("subject %q does not start with the marking", subj)
				}
				if !strings.HasPrefix(body(m), label+"\n") {
					t.Errorf("body does not start with %s: %q", label, body(m)[:min(len(body(m)), 40)])
				}
				if !strings.Contains(body(m), "- "+label+"  indicator  "+name+"\n") || !strings.Contains(body(m), "https://bulwark.example.org/intel/objects/"+x.col+"/"+id) {
					t.Errorf("the body does not list the object with its marking, type, name and link:\n%s", body(m))
				}
			}
			if len(hooks) != tc.wantHooks {
				t.Errorf("%d webhook deliveries, want %d", len(hooks), tc.wantHooks)
			}
			for _, d := range hooks {
				if d.Event["marking"] != label || d.Event["count"] != float64(1) || d.Event["kind"] != "intel_added" {
					t.Errorf("webhook event %v", d.Event)
				}
				if !strings.Contains(string(d.Body), id) {
					t.Errorf("the webhook does not name the object")
				}
			}
		})
	}
	// The outsider subscribed by e-mail and webhook, and heard nothing:
	// no mail, no delivery to its hook, no notification to list, no event,
	// no audit entry; nothing it can reach names any object.
	for _, m := range x.mail.Mails() {
		if slices.Contains(m.To, "desk@hospital.example") || strings.Contains(string(m.Raw), "hospital") {
			t.Errorf("the outsider got mail: %s", m.Header.Get("Subject"))
		}
	}
	if n := len(x.outsiderHook.Deliveries()); n != 0 {
		t.Errorf("the outsider's webhook was called %d times", n)
	}
	all, err := x.ns.List(bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal()), bulwark.NotificationFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range all.Items {
		if n.RecipientOrg == "hospital" || n.Org == "hospital" || strings.Contains(n.Address, "hospital") {
			t.Errorf("a notification for the outsider was recorded: %+v", n)
		}
	}
	page, err := x.ns.List(x.hospitalUser.Ctx(), bulwark.NotificationFilter{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("the outsider lists %d notifications (%v)", len(page.Items), err)
	}
	audit, err := x.w.Store.ListAudit(x.hospitalUser.Ctx(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range audit {
		for _, id := range allIDs {
			if strings.Contains(e.Detail+e.Target, id) || strings.HasPrefix(e.Action, "notify.") {
				t.Errorf("the outsider's audit log tells of the intel: %+v", e)
			}
		}
	}
	// The TLP:RED digest is the named individual's alone: their colleague
	// neither lists nor reads it.
	var red []bulwark.Notification
	for _, n := range all.Items {
		if n.RecipientUser != 0 {
			red = append(red, n)
		}
	}
	if len(red) != 1 || red[0].RecipientUser != x.port.ID || red[0].Address != portUser {
		t.Fatalf("want one TLP:RED digest for the named individual, got %+v", red)
	}
	mine, err := x.ns.List(x.port.Ctx(), bulwark.NotificationFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := x.ns.List(x.portColleague.Ctx(), bulwark.NotificationFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(mine.Items) != len(theirs.Items)+1 {
		t.Errorf("named individual lists %d notifications, colleague %d: want exactly the RED digest more", len(mine.Items), len(theirs.Items))
	}
	if _, err := x.ns.Find(x.portColleague.Ctx(), red[0].ID); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("the colleague reads the TLP:RED digest: %v", err)
	}
	for _, n := range theirs.Items {
		if strings.Contains(n.Subject+n.Body, "RED") {
			t.Errorf("the colleague's notifications mention TLP:RED: %q", n.Subject)
		}
	}
}

// TestIntelDigestOnePerBatch: an import of several objects, and a batch of
// writes (as a feed pull makes), each send one digest per recipient, which
// lists what that recipient may see and counts only that.
func TestIntelDigestOnePerBatch(t *testing.T) {
	x := newIntelWorld(t)
	var nm, nh int
	var bundle strings.Builder
	bundle.WriteString(`{"type":"bundle","id":"bundle--` + uuid.NewString() + `","objects":[`)
	for i := range 3 {
		if i > 0 {
			bundle.WriteByte(',')
		}
		bundle.Write(intelObject("indicator--"+uuid.NewString(), fmt.Sprintf("imported %d", i)))
	}
	bundle.WriteString(`]}`)
	if _, err := x.w.Svc.Import(x.water.Ctx(), x.col, strings.NewReader(bundle.String()), sharing.ImportOptions{Name: "partner.json", Marking: bulwark.TLPGreen}); err != nil {
		t.Fatal(err)
	}
	mails, hooks := x.deliver(t, &nm, &nh)
	if got := recipients(mails); !slices.Equal(got, []string{"desk@port.example", "desk@power.example", "desk@water.example"}) {
		t.Fatalf("import digests went to %v", got)
	}
	for _, m := range mails {
		if !strings.HasPrefix(m.Header.Get("Subject"), "[TLP:GREEN] 3 new intel objects") || strings.Count(body(m), "\n- TLP:GREEN  indicator  imported ") != 3 {
			t.Errorf("import digest:\n%s\n%s", m.Header.Get("Subject"), body(m))
		}
	}
	if len(hooks) != 1 {
		t.Errorf("%d webhook deliveries for one import, want 1", len(hooks))
	}

	// A batch of two writes, one GREEN and one AMBER for power: power and
	// water see both in one digest marked AMBER; port sees one, marked
	// GREEN, and is not told that anything else was added.
	ctx, flush := x.w.Svc.Batch(x.water.Ctx())
	green, amber := "indicator--"+uuid.NewString(), "indicator--"+uuid.NewString()
	if _, err := x.w.Svc.Publish(ctx, sharing.PublishRequest{Collection: x.col, Object: intelObject(green, "batch green"), Marking: bulwark.TLPGreen}); err != nil {
		t.Fatal(err)
	}
	if _, err := x.w.Svc.Publish(ctx, sharing.PublishRequest{Collection: x.col, Object: intelObject(amber, "batch amber"), Marking: bulwark.TLPAmber, Orgs: []string{"power"}}); err != nil {
		t.Fatal(err)
	}
	if mails, _ := x.deliver(t, &nm, &nh); len(mails) != 0 {
		t.Fatalf("%d mails before the batch ended", len(mails))
	}
	flush(ctx)
	mails, _ = x.deliver(t, &nm, &nh)
	if len(mails) != 3 {
		t.Fatalf("%d digests for a batch, want one for each of 3 desks", len(mails))
	}
	for _, m := range mails {
		subj := m.Header.Get("Subject")
		switch m.To[0] {
		case "desk@power.example", "desk@water.example":
			if !strings.HasPrefix(subj, "[TLP:AMBER] 2 new intel objects") || !strings.Contains(body(m), amber) {
				t.Errorf("%s: %q", m.To[0], subj)
			}
		case "desk@port.example":
			if !strings.HasPrefix(subj, "[TLP:GREEN] 1 new intel object") || strings.Contains(string(m.Raw), amber) || strings.Contains(body(m), "AMBER") ||
				strings.Contains(body(m), "batch amber") || strings.Contains(body(m), "2 new") {
				t.Errorf("port learned of the AMBER object: %q\n%s", subj, body(m))
			}
		}
	}
	// Reporting the same batch again (a retry) queues nothing more.
	res, err := x.ns.IntelAdded(context.Background(), x.w.Svc, x.last)
	if err != nil || len(res.Added) != 0 {
		t.Errorf("replaying a batch: %v, %d added", err, len(res.Added))
	}
}

// TestIntelDigestHostileContent: an object's name and a collection's title
// written to break the message (CRLF header injection, a forged marking
// line, HTML) come out as one line of plain text.
func TestIntelDigestHostileContent(t *testing.T) {
	x := newIntelWorld(t)
	var nm, nh int
	hostile := "Evil\r\nBcc: victim@evil.example\r\nSubject: TLP:CLEAR\r\n\r\nTLP:CLEAR <script>alert(1)</script>\u202e"
	v, err := x.w.Svc.FindCollection(x.city.Ctx(), x.col)
	if err != nil {
		t.Fatal(err)
	}
	c := v.Collection
	c.Title = "Ops\r\nBcc: title@evil.example\r\n<b>feed</b>"
	if err := x.w.Svc.UpdateCollection(x.city.Ctx(), &c); err != nil {
		t.Fatal(err)
	}
	id := "indicator--" + uuid.NewString()
	if _, err := x.w.Svc.Publish(x.water.Ctx(), sharing.PublishRequest{Collection: x.col, Object: intelObject(id, hostile), Marking: bulwark.TLPAmber, Orgs: []string{"power"}}); err != nil {
		t.Fatal(err)
	}
	mails, hooks := x.deliver(t, &nm, &nh)
	if len(mails) != 2 || len(hooks) != 1 {
		t.Fatalf("%d mails, %d webhooks; want 2 and 1", len(mails), len(hooks))
	}
	for _, m := range mails {
		if len(m.To) != 1 || strings.Contains(strings.Join(m.To, ","), "evil") || m.Header.Get("Bcc") != "" {
			t.Errorf("header injection: to %v, bcc %q", m.To, m.Header.Get("Bcc"))
		}
		if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("content type %q", ct)
		}
		if subj := m.Header.Get("Subject"); subj != "[TLP:AMBER] 1 new intel object in Ops Bcc: title@evil.example <b>feed</b>" {
			t.Errorf("subject %q", subj)
		}
		head, _, _ := strings.Cut(string(m.Raw), "\r\n\r\n")
		if lh := strings.ToLower("\n" + head); strings.Contains(lh, "\nbcc:") || strings.Count(lh, "\nsubject:") != 1 {
			t.Errorf("raw header injected:\n%s", head)
		}
		if strings.Contains(strings.Join(m.To, ","), "title@") {
			t.Errorf("the collection's title added a recipient: %v", m.To)
		}
		lines := strings.Split(body(m), "\n")
		if lines[0] != "TLP:AMBER" {
			t.Errorf("first line %q", lines[0])
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "TLP:CLEAR") || strings.HasPrefix(l, "Bcc:") || strings.HasPrefix(l, "Subject:") || strings.ContainsRune(l, '\u202e') {
				t.Errorf("a hostile name made its own line: %q", l)
			}
		}
		if !strings.Contains(body(m), "- TLP:AMBER  indicator  Evil Bcc: victim@evil.example Subject: TLP:CLEAR TLP:CLEAR <script>alert(1)</script>\n") {
			t.Errorf("the name is not on its one line, as plain text:\n%s", body(m))
		}
		// A digest informs: its footer asks for no acknowledgement.
		if b := body(m); !strings.Contains(b, "no acknowledgement is expected") || strings.Contains(b, "Acknowledge") {
			t.Errorf("the digest's footer asks for an acknowledgement:\n%s", b)
		}
	}
	objs, _ := hooks[0].Event["objects"].([]any)
	if len(objs) != 1 || !strings.HasPrefix(objs[0].(map[string]any)["name"].(string), "Evil Bcc:") {
		t.Errorf("webhook objects %v", objs)
	}
}

// TestIntelRulesInTheMatrix: intel_added rules are checked when the matrix
// is read, with the line and field of each mistake.
func TestIntelRulesInTheMatrix(t *testing.T) {
	base := "version: 1\nrules:\n  - id: intel\n    events: [intel_added]\n    channel: email\n"
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"ok", "    recipients:\n      - {org: power}\n", ""},
		{"incident org", "    recipients:\n      - {org: \"@incident\"}\n", "shared intel concerns no incident"},
		{"partners", "    recipients:\n      - {org: \"@partners\"}\n", "shared intel concerns no incident"},
		{"untagged email", "    recipients:\n      - {email: a@b.example}\n", "tag the address with its organization"},
		{"public", "    audience: public\n    recipients:\n      - {org: power}\n", "never told to the public"},
		{"template", "    template: internal\n    recipients:\n      - {org: power}\n", "has no template"},
		{"deadline", "    deadline: 1h\n    recipients:\n      - {org: power}\n", "has no deadline"},
		{"severity", "    min_severity: high\n    recipients:\n      - {org: power}\n", "has no min_severity"},
		{"no recipients", "", "at least one recipient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.ParseMatrix(strings.NewReader(base+tc.extra), "m.yaml")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	mixed := "version: 1\nrules:\n  - id: intel\n    events: [intel_added, incident_created]\n    channel: email\n    recipients:\n      - {org: power}\n"
	if _, err := notify.ParseMatrix(strings.NewReader(mixed), "m.yaml"); err == nil || !strings.Contains(err.Error(), "cannot be combined") {
		t.Errorf("mixed events: %v", err)
	}
	esc := "version: 1\nrules:\n  - id: own\n    audience: internal\n    channel: email\n    template: internal\n    deadline: 1h\n    escalate_to: [intel]\n    recipients:\n      - {org: \"@incident\"}\n" +
		"  - id: intel\n    events: [intel_added]\n    channel: email\n    recipients:\n      - {org: power}\n"
	if _, err := notify.ParseMatrix(strings.NewReader(esc), "m.yaml"); err == nil || !strings.Contains(err.Error(), "cannot escalate to it") {
		t.Errorf("escalation to an intel rule: %v", err)
	}
	// An incident event never triggers an intel rule, and intel_added is
	// not an event anyone reports.
	st := openStore(t, false)
	m, err := notify.ParseMatrix(strings.NewReader(base+"    recipients:\n      - {org: power}\n"), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ns := notify.New(st, m, notify.Config{}, nil)
	res, err := ns.Notify(sys(), waterEvent(5))
	if err != nil || len(res.Added) != 0 {
		t.Errorf("an incident event triggered an intel rule: %v, %d added", err, len(res.Added))
	}
	ev := waterEvent(3)
	ev.Kind, ev.IncidentID = bulwark.NotifyIntelAdded, ""
	if _, err := ns.Notify(sys(), ev); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("reporting intel_added: %v, want EINVALID", err)
	}
}

// The bundled matrix's commented-out intel rule is valid once uncommented.
func TestBundledIntelExample(t *testing.T) {
	src := string(notify.DefaultMatrixYAML())
	i := strings.Index(src, "  # - id: intel-digests")
	if i < 0 {
		t.Fatal("the bundled matrix has no intel example")
	}
	example := strings.ReplaceAll(src[i:], "  # ", "  ")
	m, err := notify.ParseMatrix(strings.NewReader(src[:i]+example), "default_matrix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Rule("intel-digests"); r == nil || !notify.IsIntelRule(r) {
		t.Fatal("the example is not an intel rule")
	}
}

// TestIntelDigestPostedMarkings: objects added without an explicit
// audience (TAXII POST, bundle import) take it from their marking — AMBER
// the collection's readers at that moment, AMBER+STRICT the poster's
// organization, RED the poster alone — and the digests follow exactly that.
func TestIntelDigestPostedMarkings(t *testing.T) {
	x := newIntelWorld(t)
	var nm, nh int
	all := []string{"desk@port.example", "desk@power.example", "desk@water.example"}
	for _, tc := range []struct {
		marking  bulwark.TLP
		ref      string
		wantMail []string
	}{
		{bulwark.TLPClear, stix.TLPClearID, all},
		{bulwark.TLPGreen, stix.TLPGreenID, all},
		{bulwark.TLPAmber, stix.TLPAmberID, all},
		{bulwark.TLPAmberStrict, stix.TLPAmberStrictID, []string{"desk@water.example"}},
		{bulwark.TLPRed, stix.TLPRedID, nil},
	} {
		t.Run(string(tc.marking), func(t *testing.T) {
			raw := strings.Replace(string(intelObject("indicator--"+uuid.NewString(), "posted")), `"name"`, `"object_marking_refs":["`+tc.ref+`"],"name"`, 1)
			o, err := stix.ParseObject([]byte(raw), stix.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := x.w.Svc.AddObjects(x.water.Ctx(), x.col, []*stix.Object{o}, sharing.AddOptions{Source: "taxii"})
			if err != nil || len(st.Successes) != 1 {
				t.Fatalf("post: %v %+v", err, st)
			}
			mails, _ := x.deliver(t, &nm, &nh)
			if got := recipients(mails); !slices.Equal(got, tc.wantMail) {
				t.Errorf("mail went to %v, want %v", got, tc.wantMail)
			}
			for _, m := range mails {
				if !strings.HasPrefix(body(m), tc.marking.Label()+"\n") {
					t.Errorf("body starts %q", body(m)[:20])
				}
			}
		})
	}
	if n := len(x.outsiderHook.Deliveries()); n != 0 {
		t.Errorf("the outsider's webhook was called %d times", n)
	}
}
