package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/notify"
	"bulwark/internal/notify/notifytest"
	"bulwark/internal/sqlstore"
	"bulwark/internal/testenv"
)

// The test city: water (a city agency) shares its city model with ciso;
// power (a private operator) shares with water; state, fed and isac share
// with no one.
func testCity() *bulwark.City {
	return &bulwark.City{
		Organizations: []bulwark.Organization{
			{ID: "water", Name: "City Water", Purview: bulwark.PurviewCity, SharesWith: []string{"ciso"}, Contacts: []bulwark.Contact{
				{Name: "Olga Tech", Role: "OT security lead", Email: "ot@water.example"},
				{Name: "Pat Plant", Role: "Plant superintendent", Email: "plant@water.example"},
				{Name: "No Mail", Role: "Night shift", Phone: "+1 555 0100"}}},
			{ID: "power", Name: "Power Co", Purview: bulwark.PurviewPrivate, SharesWith: []string{"water"}, Contacts: []bulwark.Contact{
				{Name: "Grid Desk", Role: "Grid control manager", Email: "grid@power.example"}}},
			{ID: "ciso", Name: "City CISO", Purview: bulwark.PurviewCity, Contacts: []bulwark.Contact{
				{Name: "Cy Sec", Role: "Chief information security officer", Email: "ciso@city.example"},
				{Name: "Al Ert", Role: "Alert and warning coordinator", Email: "alerts@city.example"}}},
			{ID: "state", Name: "State Cyber Unit", Purview: bulwark.PurviewState, Contacts: []bulwark.Contact{
				{Name: "Duty", Role: "Cyber duty officer", Email: "cert@state.example"}}},
			{ID: "fed", Name: "Federal Region", Purview: bulwark.PurviewFederal, Contacts: []bulwark.Contact{
				{Name: "Advisor", Role: "Cybersecurity advisor", Email: "csa@fed.example"}}},
			{ID: "isac", Name: "Coastal ISAC", Purview: bulwark.PurviewISAC, Contacts: []bulwark.Contact{
				{Name: "Watch", Role: "Watch desk", Email: "watch@isac.example"}}},
		},
		Services: []bulwark.Service{
			{ID: "water-supply", Name: "Drinking water supply", Owner: "water", Sector: bulwark.SectorWater, Population: 1000},
			{ID: "grid", Name: "Electric grid", Owner: "power", Sector: bulwark.SectorEnergy, Population: 5000},
			{ID: "dispatch", Name: "Emergency dispatch", Owner: "ciso", Sector: bulwark.SectorEmergency, Population: 5000},
		},
	}
}

// visibleOracle is who sees which service in testCity (its own, and those
// of organizations sharing with it).
func visibleOracle(org, svc string) bool {
	owner := map[string]string{"water-supply": "water", "grid": "power", "dispatch": "ciso"}[svc]
	shares := map[string][]string{"water": {"ciso"}, "power": {"water"}}
	return org != "" && (org == owner || slices.Contains(shares[owner], org))
}

var serviceNames = map[string]string{"water-supply": "Drinking water supply", "grid": "Electric grid", "dispatch": "Emergency dispatch"}

func openStore(t testing.TB, pg bool) *sqlstore.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "b.db")
	if pg {
		dsn = testenv.PostgresSchemaDSN(t)
	}
	st, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	tx, err := st.BeginImport(sys)
	if err != nil {
		t.Fatal(err)
	}
	c := testCity()
	if err := tx.PutOrganizations(sys, c.Organizations); err != nil {
		t.Fatal(err)
	}
	if err := tx.PutServices(sys, c.Services); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(sys); err != nil {
		t.Fatal(err)
	}
	return st
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func as(org string, role bulwark.Role) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: 9, Org: org, Role: role, Name: string(role) + "@" + org})
}

func sys() context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
}

func waterEvent(sev int) notify.Event {
	return notify.Event{Kind: notify.IncidentCreated, IncidentID: "inc-7", OrgID: "water", Severity: sev, Purview: bulwark.PurviewCity,
		Services: []string{"water-supply", "grid"}, Title: "Chlorination PLC unreachable", Summary: "CANARY-SUMMARY: the historian shows the intruder's IP",
		PublicAction: "Boil tap water for one minute before drinking.", At: time.Now()}
}

func listAll(t *testing.T, svc *notify.Service, ctx context.Context) []bulwark.Notification {
	t.Helper()
	var out []bulwark.Notification
	f := bulwark.NotificationFilter{Limit: 100}
	for {
		p, err := svc.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		f.After = p.Next
	}
}

// TestNotifyFollowsTheMatrix reports one event through the bundled matrix
// and checks whom it reaches, with what, and that a replay adds nothing.
func TestNotifyFollowsTheMatrix(t *testing.T) {
	st := openStore(t, false)
	svc := notify.New(st, nil, notify.Config{}, nil)
	ev := waterEvent(3)
	res, err := svc.Notify(as("water", bulwark.RoleAnalyst), ev)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range res.Added {
		got[n.Address] = n.Rule
	}
	want := map[string]string{
		"ot@water.example": "own-organization", "plant@water.example": "own-organization", // the incident's organization
		"ciso@city.example":   "city-security-office", // high severity: the city CISO
		"grid@power.example":  "partners",             // owns an affected service
		"cert@state.example":  "state-cert",           // high
		"watch@isac.example":  "isac",                 // medium and up
		"alerts@city.example": "public-notice",        // citizens must act
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notified %v\nwant %v", got, want)
	}
	for _, n := range res.Added {
		switch n.Address {
		case "ot@water.example":
			if !strings.Contains(n.Body, "CANARY-SUMMARY") || !strings.Contains(n.Body, "Electric grid") || n.DueBy.IsZero() {
				t.Errorf("the incident's organization gets everything: %s", n.Body)
			}
		case "grid@power.example":
			// Power sees its own grid, not water's service, never the summary.
			if strings.Contains(n.Body, "CANARY") || strings.Contains(n.Body, "Drinking water") || !strings.Contains(n.Body, "Electric grid") {
				t.Errorf("partner notice leaks or lacks: %s", n.Body)
			}
		case "ciso@city.example":
			if strings.Contains(n.Body, "CANARY") || strings.Contains(n.Body, "Electric grid") || !strings.Contains(n.Body, "Drinking water supply") {
				t.Errorf("the CISO sees water (shared) but not power: %s", n.Body)
			}
		case "alerts@city.example":
			if !strings.Contains(n.Body, "Boil tap water") || strings.Contains(n.Body, "inc-7") || strings.Contains(n.Body, ev.Title) || strings.Contains(n.Body, "CANARY") {
				t.Errorf("public notice: %s", n.Body)
			}
		}
	}
	// Replays add nothing: the same event, or the same change reported
	// without a key.
	for range 2 {
		again, err := svc.Notify(as("water", bulwark.RoleAdmin), ev)
		if err != nil || len(again.Added) != 0 {
			t.Errorf("replay added %d (%v)", len(again.Added), err)
		}
	}
	// The severity rises: a new event, and at severe the federal CERT too.
	up := ev
	up.Kind, up.PreviousSeverity, up.Severity = notify.SeverityChanged, 3, 4
	res2, err := svc.Notify(as("water", bulwark.RoleAnalyst), up)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res2.Added, func(n bulwark.Notification) bool { return n.Address == "csa@fed.example" }) {
		t.Errorf("severe did not reach the federal CERT: %v", res2.Added)
	}
	// Who may report.
	for _, tc := range []struct {
		ctx  context.Context
		code string
	}{
		{as("power", bulwark.RoleAdmin), bulwark.EFORBIDDEN},
		{as("water", bulwark.RoleViewer), bulwark.EFORBIDDEN},
		{context.Background(), bulwark.EUNAUTHORIZED},
	} {
		e := ev
		e.Key = "other"
		if _, err := svc.Notify(tc.ctx, e); bulwark.ErrorCode(err) != tc.code {
			t.Errorf("report as %v: %v, want %s", tc.ctx, err, tc.code)
		}
	}
	bad := ev
	bad.Severity = 7
	if _, err := svc.Notify(sys(), bad); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Errorf("severity 7: %v", err)
	}
}

// TestAC01_NotificationsByOrganization: users see the notifications of
// their organization's incidents and those addressed to it, nothing else.
func TestAC01_NotificationsByOrganization(t *testing.T) {
	st := openStore(t, false)
	svc := notify.New(st, nil, notify.Config{}, nil)
	if _, err := svc.Notify(as("water", bulwark.RoleAnalyst), waterEvent(3)); err != nil {
		t.Fatal(err)
	}
	all := listAll(t, svc, sys())
	for _, org := range []string{"water", "power", "ciso", "state", "fed", "isac"} {
		var want []string
		for _, n := range all {
			if n.Org == org || n.RecipientOrg == org {
				want = append(want, n.ID)
			}
		}
		var got []string
		for _, n := range listAll(t, svc, as(org, bulwark.RoleViewer)) {
			got = append(got, n.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s sees %d notifications, want %d", org, len(got), len(want))
		}
		for _, n := range all {
			_, err := svc.Find(as(org, bulwark.RoleAdmin), n.ID)
			if slices.Contains(want, n.ID) != (err == nil) {
				t.Errorf("%s reading %s (for %s, to %s): %v", org, n.ID, n.Org, n.RecipientOrg, err)
			}
		}
	}
}

// TestDeliveryNoLossNoDuplicate delivers a burst of notifications through
// real SMTP and webhook receivers that fail in every way, with a crash
// between sending and recording, until nothing is left to do; then each
// receiver's count by idempotency key shows that nothing was lost and that
// only the documented cases arrived twice (at-least-once, same key).
func TestDeliveryNoLossNoDuplicate(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) { testDelivery(t, pg) })
	}
}

func testDelivery(t *testing.T, pg bool) {
	st := openStore(t, pg)
	var mu sync.Mutex
	tries := map[string]int{} // attempts per key at the data/post step
	try := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		tries[key]++
		return tries[key]
	}
	mail := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{StartTLS: true, Fault: func(step, addr, key string, n int) notifytest.Action {
		local := addr[:strings.IndexByte(addr, '@')]
		switch {
		case step == "rcpt" && local == "bad":
			return notifytest.Action{Code: 550} // no such mailbox: permanent
		case step == "rcpt" && local == "drop" && n%2 == 1:
			return notifytest.Action{Drop: true}
		case step != "data":
			return notifytest.Action{}
		}
		k := try(key)
		switch {
		case local == "flaky" && k <= 2:
			return notifytest.Action{Code: 451}
		case local == "hang" && k == 1:
			return notifytest.Action{Delay: 1500 * time.Millisecond} // accepted after the sender gave up
		case local == "dup" && k == 1:
			return notifytest.Action{AcceptThenDrop: true}
		}
		return notifytest.Action{}
	}})
	hook := notifytest.NewWebhookServer(t, hookSecret, func(_, path, key string, _ int) notifytest.Action {
		k := try(key)
		switch {
		case path == "/flaky" && k <= 2:
			return notifytest.Action{Code: 503}
		case path == "/slow" && k == 1:
			return notifytest.Action{Delay: 3 * time.Second}
		case path == "/dup" && k == 1:
			return notifytest.Action{AcceptThenDrop: true}
		case path == "/gone":
			return notifytest.Action{Code: 410}
		}
		return notifytest.Action{}
	})
	locals := []string{"ok", "flaky", "drop", "hang", "dup", "bad", "crash"}
	paths := []string{"/ok", "/flaky", "/slow", "/dup", "/gone"}
	var src strings.Builder
	src.WriteString("version: 1\nrules:\n  - id: mail\n    audience: internal\n    channel: email\n    template: internal\n    recipients:\n")
	for _, l := range locals {
		fmt.Fprintf(&src, "      - {email: %s@water.example, org: water}\n", l)
	}
	src.WriteString("  - id: hook\n    audience: isac\n    channel: webhook\n    template: isac\n    recipients:\n")
	for _, p := range paths {
		fmt.Fprintf(&src, "      - {url: \"%s%s\", secret: isac, org: isac}\n", hook.URL, p)
	}
	m, err := notify.ParseMatrix(strings.NewReader(src.String()), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	svc := notify.New(st, m, notify.Config{RetryBase: time.Second, RetryMax: 2 * time.Minute, MaxAttempts: 6, Workers: 4, Batch: 16}, nil)
	svc.SetClock(c.now)
	smtpS, err := notify.NewSMTP(notify.SMTPConfig{Host: mail.Host, Port: mail.Port, From: "bulwark@city.example", TLS: notify.TLSRequireStartTLS, TLSConfig: mail.ClientTLS, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc.SetSender(bulwark.ChannelEmail, smtpS)
	svc.SetSender(bulwark.ChannelWebhook, notify.NewWebhook(notify.WebhookConfig{Secrets: map[string]notify.Secret{"isac": hookSecret}, Timeout: time.Second}))
	crashed := map[string]bool{}
	svc.SetAfterSend(func(n *bulwark.Notification) bool {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(n.Address, "crash@") && !crashed[n.ID] {
			crashed[n.ID] = true
			return false // the process died after the server accepted it
		}
		return true
	})
	const events = 6
	for i := range events {
		ev := waterEvent(2)
		ev.IncidentID = fmt.Sprintf("inc-%d", i)
		if _, err := svc.Notify(as("water", bulwark.RoleAnalyst), ev); err != nil {
			t.Fatal(err)
		}
	}
	total := events * (len(locals) + len(paths))
	if n := len(listAll(t, svc, sys())); n != total {
		t.Fatalf("%d notifications queued, want %d", n, total)
	}
	for round := 0; round < 12; round++ {
		if _, err := svc.DeliverDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, n := range listAll(t, svc, sys()) {
			if n.Status == bulwark.NotifyPending {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		c.add(3 * time.Minute) // past every retry delay and lease
	}
	mail.Drain() // a slow session may still be accepting a message
	hook.Drain()
	accepted := mail.Accepted()
	for k, v := range hook.Accepted() {
		accepted[k] += v
	}
	dupes := map[string]bool{"hang": true, "dup": true, "crash": true, "/dup": true}
	failed := map[string]bool{"bad": true, "/gone": true}
	sent := 0
	for _, n := range listAll(t, svc, sys()) {
		class := n.Address
		if i := strings.IndexByte(class, '@'); i > 0 {
			class = class[:i]
		} else {
			class = class[strings.LastIndexByte(class, '/'):]
		}
		switch {
		case failed[class]:
			if n.Status != bulwark.NotifyFailed || accepted[n.ID] != 0 || n.Attempts != 1 {
				t.Errorf("%s: %s after %d attempts, accepted %d; want failed at once", class, n.Status, n.Attempts, accepted[n.ID])
			}
		case n.Status != bulwark.NotifySent:
			t.Errorf("%s: %s after %d attempts (%s)", class, n.Status, n.Attempts, n.LastError)
		case dupes[class] && accepted[n.ID] != 2:
			t.Errorf("%s: accepted %d times, want 2 (sender could not know the first arrived)", class, accepted[n.ID])
		case !dupes[class] && accepted[n.ID] != 1:
			t.Errorf("%s: accepted %d times, want exactly 1", class, accepted[n.ID])
		}
		if n.Status == bulwark.NotifySent {
			sent++
			d, err := svc.Find(sys(), n.ID)
			if err != nil || len(d.Log) == 0 || d.Log[len(d.Log)-1].Outcome != "sent" {
				t.Errorf("%s: delivery log %+v %v", class, d.Log, err)
			}
		}
	}
	// No key arrived that is not a sent notification, and every sent one
	// arrived.
	if len(accepted) != sent {
		t.Errorf("%d distinct keys accepted, %d notifications sent", len(accepted), sent)
	}
	if sent != total-2*events {
		t.Errorf("%d sent, want %d", sent, total-2*events)
	}
	if hook.BadSignatures() != 0 {
		t.Errorf("%d deliveries with a bad signature", hook.BadSignatures())
	}
}

var linkRE = regexp.MustCompile(`https://bulwark\.example/ack/([A-Za-z0-9_-]{43})`)

// TestEscalationAndAcknowledgement drives deadlines with the injected
// clock: an acknowledged notification does not escalate, an
// unacknowledged one escalates to the rule its rule names, and so on up
// the chain; the last recipient acknowledges through its e-mail's link.
func TestEscalationAndAcknowledgement(t *testing.T) {
	st := openStore(t, false)
	mail := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{})
	c := &clock{t: time.Now()}
	svc := notify.New(st, nil, notify.Config{PublicURL: "https://bulwark.example/", AckKey: "an ack key of at least thirty-two bytes"}, nil)
	svc.SetClock(c.now)
	s, _ := notify.NewSMTP(notify.SMTPConfig{Host: mail.Host, Port: mail.Port, From: "bulwark@city.example", TLS: notify.TLSNone, Timeout: time.Second})
	svc.SetSender(bulwark.ChannelEmail, s)
	ev := waterEvent(1) // low: only the incident's own organization
	ev.PublicAction = ""
	res, err := svc.Notify(as("water", bulwark.RoleAnalyst), ev)
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("notify: %v %v", res.Added, err)
	}
	deliver := func() {
		t.Helper()
		if _, err := svc.DeliverDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	deliver()
	// The plant superintendent acknowledges in the UI after 30 minutes.
	c.add(30 * time.Minute)
	var plant, ot bulwark.Notification
	for _, n := range res.Added {
		if n.Address == "plant@water.example" {
			plant = n
		} else {
			ot = n
		}
	}
	if _, err := svc.Ack(as("water", bulwark.RoleAnalyst), plant.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Ack(as("power", bulwark.RoleAdmin), ot.ID); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("power acknowledging water's: %v", err)
	}
	c.add(29 * time.Minute)
	if n, err := svc.EscalateOverdue(context.Background()); n != 0 || err != nil {
		t.Errorf("escalated %d before the deadline (%v)", n, err)
	}
	c.add(2 * time.Minute) // 61 minutes: the OT lead's is overdue
	if n, err := svc.EscalateOverdue(context.Background()); n != 1 || err != nil {
		t.Fatalf("escalated %d (%v), want 1", n, err)
	}
	if n, _ := svc.EscalateOverdue(context.Background()); n != 0 {
		t.Errorf("escalated again: %d", n)
	}
	all := listAll(t, svc, sys())
	var esc []bulwark.Notification
	for _, n := range all {
		if n.EscalatedFrom == ot.ID {
			esc = append(esc, n)
		}
	}
	if len(esc) != 1 || esc[0].Address != "ciso@city.example" || esc[0].Rule != "city-security-office" {
		t.Fatalf("escalation %+v", esc)
	}
	if d, _ := svc.Find(sys(), ot.ID); d.Status != bulwark.NotifyEscalated {
		t.Errorf("escalated notification's status %s", d.Status)
	}
	if d, _ := svc.Find(sys(), plant.ID); d.Status != bulwark.NotifyAcknowledged || d.AckBy != "analyst@water" {
		t.Errorf("acknowledged notification %+v", d.Notification)
	}
	deliver()
	ciso := mail.Mails()[len(mail.Mails())-1]
	if !strings.Contains(ciso.Header.Get("Subject"), "[ESCALATED]") || !strings.Contains(ciso.Body, "was not acknowledged") || !strings.Contains(ciso.Body, "Olga Tech") || strings.Contains(ciso.Body, "ot@water.example") {
		t.Errorf("escalation mail: %s\n%s", ciso.Header.Get("Subject"), ciso.Body)
	}
	// Nobody at the CISO's office acknowledges within 2 hours: the state CERT.
	c.add(2*time.Hour + time.Minute)
	if n, err := svc.EscalateOverdue(context.Background()); n != 1 || err != nil {
		t.Fatalf("second escalation: %d %v", n, err)
	}
	deliver()
	last := mail.Mails()[len(mail.Mails())-1]
	if last.To[0] != "cert@state.example" {
		t.Fatalf("second escalation went to %v", last.To)
	}
	// The state CERT acknowledges through the link in its e-mail.
	m := linkRE.FindStringSubmatch(last.Body)
	if m == nil {
		t.Fatalf("no ack link in %s", last.Body)
	}
	if _, err := svc.AckByToken(context.Background(), strings.Repeat("A", 43), "x"); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("forged token: %v", err)
	}
	if _, err := svc.AckByToken(context.Background(), "../../etc", "x"); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Errorf("malformed token: %v", err)
	}
	n, err := svc.AckByToken(context.Background(), m[1], "Duty officer\r\nX-Forged: 1")
	if err != nil || n.Status != bulwark.NotifyAcknowledged || n.AckBy != "link: Duty officer X-Forged: 1" || n.RecipientOrg != "state" {
		t.Fatalf("ack by link: %+v %v", n, err)
	}
	if _, err := svc.AckByToken(context.Background(), m[1], ""); bulwark.ErrorCode(err) != bulwark.ECONFLICT {
		t.Errorf("link used twice: %v", err)
	}
	// The state CERT acknowledged: nothing escalates to the federal CERT.
	c.add(5 * time.Hour)
	if n, _ := svc.EscalateOverdue(context.Background()); n != 0 {
		t.Errorf("after the state's acknowledgement: %d escalations, want none", n)
	}
}

// TestUnaddressableRecipientShows: a rule that reaches no one is recorded
// as a failed notification saying why, visible and escalating.
func TestUnaddressableRecipientShows(t *testing.T) {
	st := openStore(t, false)
	m, err := notify.ParseMatrix(strings.NewReader(`version: 1
rules:
  - id: academics
    audience: cert
    recipients: [{purview: academic}, {org: water, role: treasurer}, {org: ghost}]
    channel: email
    template: cert
    deadline: 1h
`), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc := notify.New(st, m, notify.Config{}, nil)
	res, err := svc.Notify(as("water", bulwark.RoleAnalyst), waterEvent(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 3 || len(res.Added) != 3 {
		t.Fatalf("problems %q, added %d", res.Problems, len(res.Added))
	}
	for _, n := range res.Added {
		if n.Status != bulwark.NotifyFailed || n.LastError == "" || !strings.HasPrefix(n.Subject, "Not sent: ") {
			t.Errorf("unaddressable: %+v", n)
		}
	}
	if !strings.Contains(strings.Join(res.Problems, "|"), `whose role contains "treasurer" at organization water`) {
		t.Errorf("problems %q", res.Problems)
	}
	if got := listAll(t, svc, as("water", bulwark.RoleViewer)); len(got) != 3 {
		t.Errorf("water sees %d of its failed notifications", len(got))
	}
}

// TestAC07_EgressSameOnEveryChannel sends random events to recipients of
// every kind through both channels and compares what left with the
// visibility oracle: the summary reaches only the incident's organization,
// services only those who may see them, and e-mail and webhook carry the
// same fields.
func TestAC07_EgressSameOnEveryChannel(t *testing.T) {
	st := openStore(t, false)
	mail := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{})
	hook := notifytest.NewWebhookServer(t, hookSecret, nil)
	orgs := []string{"water", "power", "ciso", "state", ""}
	var src strings.Builder
	src.WriteString("version: 1\nrules:\n")
	for _, ch := range []string{"email", "webhook"} {
		for _, aud := range []string{"internal", "partner", "cert", "public"} {
			fmt.Fprintf(&src, "  - id: %s-%s\n    audience: %s\n    channel: %s\n    template: %s\n    recipients:\n", ch, aud, aud, ch, map[string]string{"internal": "internal", "partner": "partner", "cert": "cert", "public": "public"}[aud])
			for _, o := range orgs {
				tag := ""
				if o != "" {
					tag = ", org: " + o
				}
				if ch == "email" {
					fmt.Fprintf(&src, "      - {email: %s-%s@x.example%s}\n", aud, map[bool]string{true: "outside", false: o}[o == ""], tag)
				} else {
					fmt.Fprintf(&src, "      - {url: \"%s/%s/%s\", secret: s%s}\n", hook.URL, aud, map[bool]string{true: "outside", false: o}[o == ""], tag)
				}
			}
		}
	}
	m, err := notify.ParseMatrix(strings.NewReader(src.String()), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc := notify.New(st, m, notify.Config{}, nil)
	s, _ := notify.NewSMTP(notify.SMTPConfig{Host: mail.Host, Port: mail.Port, From: "bulwark@city.example", TLS: notify.TLSNone, Timeout: 2 * time.Second})
	svc.SetSender(bulwark.ChannelEmail, s)
	svc.SetSender(bulwark.ChannelWebhook, notify.NewWebhook(notify.WebhookConfig{Secrets: map[string]notify.Secret{"s": hookSecret}, Timeout: 2 * time.Second}))
	rng := rand.New(rand.NewPCG(7, 11))
	incidentOrgs := []string{"water", "power", "ciso"}
	events := map[string]notify.Event{}
	for i := range 12 {
		ev := notify.Event{Kind: notify.IncidentCreated, IncidentID: fmt.Sprintf("inc-%d", i), OrgID: incidentOrgs[rng.IntN(3)], Severity: rng.IntN(6),
			Title: fmt.Sprintf("Incident %d", i), Summary: fmt.Sprintf("SECRET-SUMMARY-%d", i), PublicAction: "Stay home", At: time.Now(), Target: fmt.Sprintf("TARGET-%d", i)}
		for _, id := range []string{"water-supply", "grid", "dispatch"} {
			if rng.IntN(2) == 0 {
				ev.Services = append(ev.Services, id)
			}
		}
		if _, err := svc.Notify(sys(), ev); err != nil {
			t.Fatal(err)
		}
		events[ev.IncidentID] = ev
	}
	if _, err := svc.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	byID := map[string]bulwark.Notification{}
	for _, n := range listAll(t, svc, sys()) {
		byID[n.ID] = n
	}
	// What left, per notification, as one text: the e-mail's subject and
	// body, or the webhook's JSON.
	out := map[string]string{}
	for _, ml := range mail.Mails() {
		out[ml.MessageID] = ml.Header.Get("Subject") + "\n" + ml.Body
	}
	views := map[string]map[string]any{}
	for _, d := range hook.Deliveries() {
		out[d.Key] = string(d.Body)
		views[d.Key] = d.Event
	}
	if len(out) != len(byID) {
		t.Fatalf("%d deliveries for %d notifications", len(out), len(byID))
	}
	checks := 0
	for id, text := range out {
		n := byID[id]
		ev := events[n.IncidentID]
		public := n.Audience == bulwark.AudiencePublic
		wantSummary := !public && n.RecipientOrg == ev.OrgID
		// Nothing leaks on any channel; templates may leave out what a
		// recipient is entitled to (the webhook's view is checked exactly
		// below).
		if !wantSummary && strings.Contains(text, ev.Summary) {
			t.Errorf("%s %s to %q: the summary leaked", n.Channel, n.Audience, n.RecipientOrg)
		}
		if !wantSummary && strings.Contains(text, ev.Target) && !slices.ContainsFunc(ev.Services, func(sid string) bool { return visibleOracle(n.RecipientOrg, sid) }) {
			t.Errorf("%s %s to %q: the target leaked", n.Channel, n.Audience, n.RecipientOrg)
		}
		var wantNames []string
		for _, sid := range ev.Services {
			seen := public || visibleOracle(n.RecipientOrg, sid) || n.RecipientOrg == ev.OrgID
			if strings.Contains(text, serviceNames[sid]) != seen {
				t.Errorf("%s %s to %q of %s's incident: service %s shown %v, want %v", n.Channel, n.Audience, n.RecipientOrg, ev.OrgID, sid, !seen, seen)
			}
			if seen {
				wantNames = append(wantNames, serviceNames[sid])
			}
			checks++
		}
		if public && strings.Contains(text, ev.Title) {
			t.Errorf("public notice carries the title")
		}
		if v, ok := views[id]; ok {
			var names []string
			svcs, _ := v["services"].([]any)
			for _, s := range svcs {
				names = append(names, s.(map[string]any)["name"].(string))
			}
			if !slices.Equal(names, wantNames) {
				t.Errorf("webhook services %v, want %v", names, wantNames)
			}
			_, hasSummary := v["summary"]
			if hasSummary != (wantSummary && ev.Summary != "") {
				t.Errorf("webhook view summary %v", hasSummary)
			}
		}
		checks++
	}
	// The e-mail and the webhook of one audience and organization carry
	// the same view: compare the stored payload of each webhook with a
	// view rebuilt for the e-mail's recipient.
	for _, n := range byID {
		if n.Channel != bulwark.ChannelWebhook {
			continue
		}
		var v notify.View
		if err := json.Unmarshal([]byte(n.Payload), &v); err != nil {
			t.Fatal(err)
		}
		ev := events[n.IncidentID]
		var visible []string
		for _, sid := range ev.Services {
			if visibleOracle(n.RecipientOrg, sid) {
				visible = append(visible, sid)
			}
		}
		var refs []notify.ServiceRef
		for _, sid := range ev.Services {
			refs = append(refs, notify.ServiceRef{ID: sid, Name: serviceNames[sid]})
		}
		want := notify.Redact(&ev, n.Audience, n.RecipientOrg, notify.Facts{Services: refs, Visible: visible, OrgName: orgName(ev.OrgID)})
		want.At, v.At = time.Time{}, time.Time{}
		want.DueBy, v.DueBy = time.Time{}, time.Time{}
		wb, _ := json.Marshal(want)
		vb, _ := json.Marshal(v)
		if string(wb) != string(vb) {
			t.Errorf("webhook view differs from the oracle's:\n got %s\nwant %s", vb, wb)
		}
	}
	t.Logf("%d deliveries, %d checks", len(out), checks)
}

func orgName(id string) string {
	for _, o := range testCity().Organizations {
		if o.ID == id {
			return o.Name
		}
	}
	return id
}
