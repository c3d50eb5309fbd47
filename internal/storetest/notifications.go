package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"bulwark"
)

// RunNotifications runs the conformance suite of bulwark.NotificationStore
// (the notification outbox) against stores made by open.
func RunNotifications(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st bulwark.Store)
	}{
		{"EnqueueIdempotent", testNotifyEnqueueIdempotent},
		{"AC01_NotificationTenancy", testNotifyTenancy},
		{"AC06_EnqueueRights", testNotifyEnqueueRights},
		{"ClaimLeaseFinish", testNotifyClaimLease},
		{"CC01_ConcurrentClaims", testNotifyConcurrentClaims},
		{"Acknowledge", testNotifyAck},
		{"Escalate", testNotifyEscalate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func notifyEvent(key string) bulwark.NotificationEvent {
	return bulwark.NotificationEvent{Key: key, Kind: bulwark.NotifyIncidentCreated, IncidentID: "inc-1", OrgID: "water", Severity: 3,
		Purview: bulwark.PurviewCity, Services: []string{"water-supply"}, Title: "SCADA outage", Summary: "internal detail",
		At: time.Now().UTC()}
}

// notifyBatch is one notification per audience kind: water's own desk,
// power (a partner) and an address outside Bulwark.
func notifyBatch(ev bulwark.NotificationEvent, due time.Time) []bulwark.Notification {
	mk := func(rule string, aud bulwark.NotifyAudience, org, addr string) bulwark.Notification {
		return bulwark.Notification{Key: ev.Key + "|" + rule + "|" + addr, EventKey: ev.Key, IncidentID: ev.IncidentID, Org: ev.OrgID, Rule: rule,
			Audience: aud, RecipientOrg: org, Address: addr, Channel: bulwark.ChannelEmail, Subject: "s " + rule, Body: "b " + rule,
			Status: bulwark.NotifyPending, DueBy: due}
	}
	return []bulwark.Notification{
		mk("internal", bulwark.AudienceInternal, "water", "desk@water.example"),
		mk("partner", bulwark.AudiencePartner, "power", "noc@power.example"),
		mk("cert", bulwark.AudienceCERT, "", "cert@state.example"),
	}
}

func enqueue(t *testing.T, st bulwark.Store, ev bulwark.NotificationEvent, ns []bulwark.Notification) []bulwark.Notification {
	t.Helper()
	added, err := st.EnqueueNotifications(sysCtx(), ev, ns)
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return added
}

func listAll(t *testing.T, st bulwark.Store, as bulwark.Principal, f bulwark.NotificationFilter) []bulwark.Notification {
	t.Helper()
	ctx := bulwark.WithPrincipal(t.Context(), as)
	var out []bulwark.Notification
	for {
		p, err := st.ListNotifications(ctx, f)
		if err != nil {
			t.Fatalf("list notifications as %+v: %v", as, err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		f.After = p.Next
	}
}

func testNotifyEnqueueIdempotent(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ev := notifyEvent("inc-1/created")
	added := enqueue(t, st, ev, notifyBatch(ev, time.Time{}))
	if len(added) != 3 {
		t.Fatalf("added %d, want 3", len(added))
	}
	for _, n := range added {
		if !bulwark.ValidID(n.ID) || n.CreatedAt.IsZero() || n.Status != bulwark.NotifyPending {
			t.Errorf("added %+v", n)
		}
	}
	// A replay of the same event adds nothing, whatever it carries.
	if again := enqueue(t, st, ev, notifyBatch(ev, time.Time{})); len(again) != 0 {
		t.Errorf("replay added %d", len(again))
	}
	// A replay with one more recipient adds just that one.
	more := notifyBatch(ev, time.Time{})
	extra := more[0]
	extra.Key, extra.Address = ev.Key+"|internal|ciso@water.example", "ciso@water.example"
	if got := enqueue(t, st, ev, append(more, extra)); len(got) != 1 || got[0].Address != extra.Address {
		t.Errorf("replay with a new recipient added %+v", got)
	}
	all := listAll(t, st, bulwark.SystemPrincipal(), bulwark.NotificationFilter{})
	if len(all) != 4 {
		t.Errorf("stored %d notifications, want 4", len(all))
	}
	got, err := st.FindNotificationEvent(sysCtx(), ev.Key)
	if err != nil || got.Title != ev.Title || got.Summary != ev.Summary || !got.At.Equal(ev.At) {
		t.Errorf("recorded event %+v, %v", got, err)
	}
	// Concurrent replays of one event: each notification exists once.
	ev2 := notifyEvent("inc-1/severity")
	var wg sync.WaitGroup
	total := make([]int, 8)
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := st.EnqueueNotifications(sysCtx(), ev2, notifyBatch(ev2, time.Time{}))
			if err != nil {
				t.Errorf("concurrent enqueue: %v", err)
			}
			total[i] = len(a)
		}()
	}
	wg.Wait()
	sum := 0
	for _, n := range total {
		sum += n
	}
	if sum != 3 {
		t.Errorf("8 concurrent replays added %d notifications, want 3", sum)
	}
	// Oversized content is refused.
	big := notifyBatch(ev, time.Time{})[:1]
	big[0].Key, big[0].Body = "big", string(make([]byte, 300<<10))
	_, err = st.EnqueueNotifications(sysCtx(), ev, big)
	wantCode(t, "oversized notification", err, bulwark.ETOOLARGE)
}

func testNotifyTenancy(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ev := notifyEvent("inc-1/created")
	added := enqueue(t, st, ev, notifyBatch(ev, time.Time{}))
	byRule := map[string]string{}
	for _, n := range added {
		byRule[n.Rule] = n.ID
	}
	for _, tc := range []struct {
		org  string
		want []string
	}{
		{"water", []string{"cert", "internal", "partner"}}, // generated for water
		{"power", []string{"partner"}},                     // addressed to power
		{"ciso", nil},                                      // sees water's city model, not its notifications
	} {
		for _, role := range []bulwark.Role{bulwark.RoleViewer, bulwark.RoleAdmin} {
			p := bulwark.Principal{UserID: 7, Org: tc.org, Role: role, Name: "u@" + tc.org}
			var got []string
			for _, n := range listAll(t, st, p, bulwark.NotificationFilter{}) {
				got = append(got, n.Rule)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s %s sees %v, want %v", tc.org, role, got, tc.want)
			}
			ctx := bulwark.WithPrincipal(t.Context(), p)
			for rule, id := range byRule {
				_, err := st.FindNotification(ctx, id)
				if slices.Contains(tc.want, rule) {
					if err != nil {
						t.Errorf("%s cannot read the %s notification: %v", tc.org, rule, err)
					}
				} else {
					wantCode(t, tc.org+" reading "+rule, err, bulwark.ENOTFOUND)
					_, err = st.NotificationAttempts(ctx, id)
					wantCode(t, tc.org+" reading the log of "+rule, err, bulwark.ENOTFOUND)
				}
			}
		}
	}
	_, err := st.ListNotifications(t.Context(), bulwark.NotificationFilter{})
	wantCode(t, "list without principal", err, bulwark.EUNAUTHORIZED)

	// Filters and paging (newest first).
	for i := range 5 {
		e := notifyEvent(fmt.Sprintf("inc-2/phase/%d", i))
		e.IncidentID, e.Kind, e.Phase = "inc-2", bulwark.NotifyPhaseChanged, fmt.Sprint("p", i)
		enqueue(t, st, e, notifyBatch(e, time.Time{})[:1])
	}
	water := bulwark.Principal{UserID: 8, Org: "water", Role: bulwark.RoleViewer, Name: "v@water"}
	inc2 := listAll(t, st, water, bulwark.NotificationFilter{Incident: "inc-2", Limit: 2})
	if len(inc2) != 5 {
		t.Errorf("incident filter with paging: %d, want 5", len(inc2))
	}
	for i := 1; i < len(inc2); i++ {
		if inc2[i-1].ID <= inc2[i].ID {
			t.Errorf("not newest first: %s then %s", inc2[i-1].ID, inc2[i].ID)
		}
	}
	if got := listAll(t, st, water, bulwark.NotificationFilter{Audience: bulwark.AudiencePartner}); len(got) != 1 {
		t.Errorf("audience filter: %d, want 1", len(got))
	}
	if got := listAll(t, st, water, bulwark.NotificationFilter{Status: bulwark.NotifySent}); len(got) != 0 {
		t.Errorf("status filter: %d, want 0", len(got))
	}
	_, err = st.ListNotifications(bulwark.WithPrincipal(t.Context(), water), bulwark.NotificationFilter{Limit: bulwark.MaxPageSize + 1})
	wantCode(t, "limit too large", err, bulwark.EINVALID)
}

func testNotifyEnqueueRights(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ev := notifyEvent("inc-1/created")
	for _, tc := range []struct {
		what string
		as   bulwark.Principal
		mut  func(*bulwark.NotificationEvent, []bulwark.Notification)
		code string
	}{
		{"another organization's incident", bulwark.Principal{Org: "power", Role: bulwark.RoleAdmin, Name: "x"}, nil, bulwark.EFORBIDDEN},
		{"viewer", bulwark.Principal{Org: "water", Role: bulwark.RoleViewer, Name: "x"}, nil, bulwark.EFORBIDDEN},
		{"notification for another org than the event", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin, Name: "x"},
			func(_ *bulwark.NotificationEvent, ns []bulwark.Notification) { ns[0].Org = "power" }, bulwark.EINVALID},
		{"invalid event", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin, Name: "x"},
			func(e *bulwark.NotificationEvent, _ []bulwark.Notification) { e.Severity = 9 }, bulwark.EINVALID},
		{"unknown audience", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin, Name: "x"},
			func(_ *bulwark.NotificationEvent, ns []bulwark.Notification) { ns[1].Audience = "everyone" }, bulwark.EINVALID},
		{"already sent", bulwark.Principal{Org: "water", Role: bulwark.RoleAdmin, Name: "x"},
			func(_ *bulwark.NotificationEvent, ns []bulwark.Notification) { ns[1].Status = bulwark.NotifySent }, bulwark.EINVALID},
	} {
		e := ev
		ns := notifyBatch(e, time.Time{})
		if tc.mut != nil {
			tc.mut(&e, ns)
		}
		_, err := st.EnqueueNotifications(bulwark.WithPrincipal(t.Context(), tc.as), e, ns)
		wantCode(t, tc.what, err, tc.code)
	}
	_, err := st.EnqueueNotifications(t.Context(), ev, nil)
	wantCode(t, "no principal", err, bulwark.EUNAUTHORIZED)
	if n := len(listAll(t, st, bulwark.SystemPrincipal(), bulwark.NotificationFilter{})); n != 0 {
		t.Errorf("refused enqueues stored %d notifications", n)
	}
	// Water's analyst raises its own; power may not reuse water's event key.
	if _, err := st.EnqueueNotifications(userCtx("water", bulwark.RoleAnalyst), ev, notifyBatch(ev, time.Time{})); err != nil {
		t.Fatal(err)
	}
	other := ev
	other.OrgID = "power"
	ns := notifyBatch(other, time.Time{})
	_, err = st.EnqueueNotifications(userCtx("power", bulwark.RoleAnalyst), other, ns)
	wantCode(t, "event key of another organization", err, bulwark.ECONFLICT)
	// The delivery operations are the System principal's.
	water := userCtx("water", bulwark.RoleAdmin)
	_, err = st.ClaimNotifications(water, time.Now(), time.Minute, 10)
	wantCode(t, "claim as a user", err, bulwark.EFORBIDDEN)
	_, err = st.ListOverdueNotifications(water, time.Now(), 10)
	wantCode(t, "overdue as a user", err, bulwark.EFORBIDDEN)
	_, err = st.FindNotificationEvent(water, ev.Key)
	wantCode(t, "raw event as a user", err, bulwark.EFORBIDDEN)
	_, err = st.FinishDelivery(water, "x", "y", bulwark.DeliveryOutcome{Status: bulwark.NotifySent})
	wantCode(t, "finish as a user", err, bulwark.EFORBIDDEN)
}

func testNotifyClaimLease(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ev := notifyEvent("inc-1/created")
	enqueue(t, st, ev, notifyBatch(ev, time.Time{}))
	ctx := sysCtx()
	now := time.Now().Add(time.Second)
	first, err := st.ClaimNotifications(ctx, now, time.Minute, 10)
	if err != nil || len(first) != 3 {
		t.Fatalf("claim: %d, %v", len(first), err)
	}
	for _, n := range first {
		if n.Attempts != 1 || n.Lease == "" || n.Subject == "" || n.Address == "" {
			t.Errorf("claimed %+v", n)
		}
	}
	if again, err := st.ClaimNotifications(ctx, now.Add(30*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
		t.Errorf("claimed %d leased notifications (%v)", len(again), err)
	}
	// The lease expires (the claimer crashed): another claim takes over, and
	// the first claimer's late report changes nothing.
	second, err := st.ClaimNotifications(ctx, now.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(second) != 3 {
		t.Fatalf("reclaim: %d, %v", len(second), err)
	}
	for _, n := range second {
		if n.Attempts != 2 || n.Lease == first[0].Lease {
			t.Errorf("reclaimed %+v", n)
		}
	}
	byID := map[string]bulwark.Notification{}
	for _, n := range second {
		byID[n.ID] = n
	}
	late, err := st.FinishDelivery(ctx, first[0].ID, first[0].Lease, bulwark.DeliveryOutcome{Status: bulwark.NotifySent, At: now})
	if err != nil || late {
		t.Errorf("late finish under a lost lease: %v %v", late, err)
	}
	at := now.Add(2 * time.Minute)
	outcomes := map[string]bulwark.DeliveryOutcome{
		"internal": {Status: bulwark.NotifySent, At: at},
		"partner":  {Status: bulwark.NotifyPending, NextAttempt: at.Add(time.Hour), Error: "451 try later", At: at},
		"cert":     {Status: bulwark.NotifyFailed, Error: "550 no such user", At: at},
	}
	for _, n := range second {
		ok, err := st.FinishDelivery(ctx, n.ID, n.Lease, outcomes[n.Rule])
		if err != nil || !ok {
			t.Errorf("finish %s: %v %v", n.Rule, ok, err)
		}
		// Finishing twice is refused: the lease is released.
		if ok, _ := st.FinishDelivery(ctx, n.ID, n.Lease, outcomes[n.Rule]); ok {
			t.Errorf("finished %s twice", n.Rule)
		}
	}
	want := map[string]bulwark.NotificationStatus{"internal": bulwark.NotifySent, "partner": bulwark.NotifyPending, "cert": bulwark.NotifyFailed}
	for _, n := range listAll(t, st, bulwark.SystemPrincipal(), bulwark.NotificationFilter{}) {
		if n.Status != want[n.Rule] || n.Attempts != 2 {
			t.Errorf("%s: status %s after %d attempts, want %s", n.Rule, n.Status, n.Attempts, want[n.Rule])
		}
		if n.Rule == "internal" && !n.SentAt.Equal(at.UTC().Truncate(time.Microsecond)) {
			t.Errorf("sent at %v, want %v", n.SentAt, at)
		}
		if n.Rule != "internal" && n.LastError != outcomes[n.Rule].Error {
			t.Errorf("%s: last error %q", n.Rule, n.LastError)
		}
		log, err := st.NotificationAttempts(ctx, n.ID)
		if err != nil || len(log) != 1 || log[0].Attempt != 2 {
			t.Errorf("%s: delivery log %+v %v", n.Rule, log, err)
		}
	}
	// The retry is not due before its time, and is due after it.
	if got, _ := st.ClaimNotifications(ctx, at.Add(59*time.Minute), time.Minute, 10); len(got) != 0 {
		t.Errorf("claimed %d before the retry time", len(got))
	}
	got, err := st.ClaimNotifications(ctx, at.Add(61*time.Minute), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Rule != "partner" || got[0].Attempts != 3 {
		t.Fatalf("retry claim: %+v %v", got, err)
	}
	_, err = st.FinishDelivery(ctx, got[0].ID, got[0].Lease, bulwark.DeliveryOutcome{Status: "acknowledged"})
	wantCode(t, "finish with a bad status", err, bulwark.EINVALID)
	_, err = st.ClaimNotifications(ctx, now, time.Minute, 0)
	wantCode(t, "claim 0", err, bulwark.EINVALID)
}

// testNotifyConcurrentClaims: several deliverers claiming at once each get
// distinct notifications, so nothing is sent twice within a lease.
func testNotifyConcurrentClaims(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	const events = 20
	for i := range events {
		ev := notifyEvent(fmt.Sprintf("inc-1/e%d", i))
		enqueue(t, st, ev, notifyBatch(ev, time.Time{}))
	}
	now := time.Now().Add(time.Second)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := st.ClaimNotifications(sysCtx(), now, time.Hour, 4)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, n := range got {
					seen[n.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 3*events {
		t.Errorf("claimed %d distinct notifications, want %d", len(seen), 3*events)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s claimed %d times", id, k)
		}
	}
}

func testNotifyAck(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ev := notifyEvent("inc-1/created")
	batch := notifyBatch(ev, time.Now().Add(time.Hour))
	token := "secret-token-of-the-cert-link"
	sum := sha256.Sum256([]byte(token))
	batch[2].AckHash = hex.EncodeToString(sum[:])
	added := enqueue(t, st, ev, batch)
	id := map[string]string{}
	for _, n := range added {
		id[n.Rule] = n.ID
	}
	now := time.Now()
	for _, tc := range []struct {
		what string
		org  string
		role bulwark.Role
		rule string
		code string
	}{
		{"power viewer", "power", bulwark.RoleViewer, "partner", bulwark.EFORBIDDEN},
		{"water on behalf of power", "water", bulwark.RoleAdmin, "partner", bulwark.EFORBIDDEN},
		{"ciso, who sees none", "ciso", bulwark.RoleAdmin, "internal", bulwark.ENOTFOUND},
		{"power on water's internal", "power", bulwark.RoleAdmin, "internal", bulwark.ENOTFOUND},
		{"power analyst", "power", bulwark.RoleAnalyst, "partner", ""},
		{"power again", "power", bulwark.RoleAdmin, "partner", bulwark.ECONFLICT},
		{"water for its own desk", "water", bulwark.RoleAnalyst, "internal", ""},
	} {
		n, err := st.AckNotification(userCtx(tc.org, tc.role), id[tc.rule], now)
		wantCode(t, tc.what, err, tc.code)
		if tc.code == "" && (n == nil || n.Status != bulwark.NotifyAcknowledged || n.AckBy != string(tc.role)+"@"+tc.org) {
			t.Errorf("%s: acknowledged %+v", tc.what, n)
		}
	}
	// The external recipient acknowledges through its link, once.
	_, err := st.AckNotificationByToken(sysCtx(), batch[2].AckHash, "Duty officer", now, now.Add(-time.Hour))
	if err != nil {
		t.Fatalf("ack by token: %v", err)
	}
	n, err := st.FindNotification(sysCtx(), id["cert"])
	if err != nil || n.Status != bulwark.NotifyAcknowledged || n.AckBy != "link: Duty officer" {
		t.Errorf("acked by link: %+v %v", n, err)
	}
	_, err = st.AckNotificationByToken(sysCtx(), batch[2].AckHash, "", now, now.Add(-time.Hour))
	wantCode(t, "link used twice", err, bulwark.ECONFLICT)
	wrong := sha256.Sum256([]byte("guess"))
	_, err = st.AckNotificationByToken(sysCtx(), hex.EncodeToString(wrong[:]), "", now, now.Add(-time.Hour))
	wantCode(t, "unknown token", err, bulwark.ENOTFOUND)
	_, err = st.AckNotificationByToken(sysCtx(), "short", "", now, now.Add(-time.Hour))
	wantCode(t, "malformed token hash", err, bulwark.ENOTFOUND)

	// An expired link: created before notBefore.
	ev2 := notifyEvent("inc-1/later")
	b2 := notifyBatch(ev2, time.Time{})[2:]
	s2 := sha256.Sum256([]byte("second"))
	b2[0].AckHash = hex.EncodeToString(s2[:])
	enqueue(t, st, ev2, b2)
	_, err = st.AckNotificationByToken(sysCtx(), b2[0].AckHash, "", now, time.Now().Add(time.Hour))
	wantCode(t, "expired link", err, bulwark.ENOTFOUND)
	// The incident's organization may record an outside recipient's
	// acknowledgement (by phone, say).
	if _, err := st.AckNotification(userCtx("water", bulwark.RoleAnalyst), listAll(t, st, bulwark.SystemPrincipal(), bulwark.NotificationFilter{Incident: "inc-1", Status: bulwark.NotifyPending})[0].ID, now); err != nil {
		t.Errorf("water acknowledging for an outside recipient: %v", err)
	}
	// Acknowledgements are audited.
	entries, err := st.ListAudit(sysCtx(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	acks := 0
	for _, e := range entries {
		if e.Action == "notify.ack" {
			acks++
		}
	}
	if acks != 4 {
		t.Errorf("%d notify.ack audit entries, want 4", acks)
	}
	// An acknowledged notification is no longer delivered.
	got, _ := st.ClaimNotifications(sysCtx(), time.Now().Add(time.Second), time.Minute, 10)
	for _, n := range got {
		if n.ID == id["partner"] || n.ID == id["internal"] || n.ID == id["cert"] {
			t.Errorf("acknowledged notification %s claimed for delivery", n.Rule)
		}
	}
}

func testNotifyEscalate(t *testing.T, st bulwark.Store) {
	mustImport(t, st, fixture())
	ctx := sysCtx()
	ev := notifyEvent("inc-1/created")
	now := time.Now()
	batch := notifyBatch(ev, now.Add(time.Hour))
	batch[2].DueBy = time.Time{} // no acknowledgement expected
	added := enqueue(t, st, ev, batch)
	// Deliver the internal one, so that escalation turns it "escalated".
	claimed, _ := st.ClaimNotifications(ctx, now.Add(time.Second), time.Minute, 10)
	for _, n := range claimed {
		st.FinishDelivery(ctx, n.ID, n.Lease, bulwark.DeliveryOutcome{Status: bulwark.NotifySent, At: now})
	}
	if got, err := st.ListOverdueNotifications(ctx, now.Add(59*time.Minute), 10); err != nil || len(got) != 0 {
		t.Errorf("overdue before the deadline: %d %v", len(got), err)
	}
	// Power acknowledges in time; the internal one is overdue.
	for _, n := range added {
		if n.Rule == "partner" {
			if _, err := st.AckNotification(userCtx("power", bulwark.RoleAnalyst), n.ID, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	over, err := st.ListOverdueNotifications(ctx, now.Add(61*time.Minute), 10)
	if err != nil || len(over) != 1 || over[0].Rule != "internal" {
		t.Fatalf("overdue: %+v %v", over, err)
	}
	esc := bulwark.Notification{Key: "esc-1", EventKey: ev.Key, IncidentID: ev.IncidentID, Org: ev.OrgID, Rule: "leadership",
		Audience: bulwark.AudienceInternal, RecipientOrg: "water", Address: "director@water.example", Channel: bulwark.ChannelEmail,
		Subject: "escalated", Body: "b", Status: bulwark.NotifyPending, DueBy: now.Add(2 * time.Hour)}
	ok, err := st.EscalateNotification(ctx, over[0].ID, now.Add(61*time.Minute), []bulwark.Notification{esc})
	if err != nil || !ok {
		t.Fatalf("escalate: %v %v", ok, err)
	}
	ok, err = st.EscalateNotification(ctx, over[0].ID, now.Add(62*time.Minute), []bulwark.Notification{esc})
	if err != nil || ok {
		t.Errorf("escalated twice: %v %v", ok, err)
	}
	orig, _ := st.FindNotification(ctx, over[0].ID)
	if orig.Status != bulwark.NotifyEscalated || orig.EscalatedAt.IsZero() {
		t.Errorf("escalated notification: %+v", orig)
	}
	var escalations []bulwark.Notification
	for _, n := range listAll(t, st, bulwark.SystemPrincipal(), bulwark.NotificationFilter{}) {
		if n.EscalatedFrom != "" {
			escalations = append(escalations, n)
		}
	}
	if len(escalations) != 1 || escalations[0].EscalatedFrom != over[0].ID || escalations[0].Rule != "leadership" {
		t.Errorf("escalations %+v", escalations)
	}
	if got, _ := st.ListOverdueNotifications(ctx, now.Add(90*time.Minute), 10); len(got) != 0 {
		t.Errorf("still overdue after escalation: %+v", got)
	}
	// The escalation is overdue in its turn.
	if got, _ := st.ListOverdueNotifications(ctx, now.Add(3*time.Hour), 10); len(got) != 1 || got[0].Rule != "leadership" {
		t.Errorf("escalation not overdue in its turn: %+v", got)
	}
	// An acknowledged notification is not escalated.
	var partner string
	for _, n := range added {
		if n.Rule == "partner" {
			partner = n.ID
		}
	}
	if ok, _ := st.EscalateNotification(ctx, partner, now.Add(2*time.Hour), nil); ok {
		t.Error("escalated an acknowledged notification")
	}
	_, err = st.EscalateNotification(userCtx("water", bulwark.RoleAdmin), over[0].ID, now, nil)
	wantCode(t, "escalate as a user", err, bulwark.EFORBIDDEN)
}
