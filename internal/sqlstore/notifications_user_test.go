package sqlstore

import (
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/testenv"
)

func TestSQLiteNotificationForOneUser(t *testing.T) {
	testNotificationForOneUser(t, openSQLite(t))
}

func TestPostgresNotificationForOneUser(t *testing.T) {
	testenv.PostgresDSN(t)
	testNotificationForOneUser(t, openPostgres(t))
}

// A notification for one user (a TLP:RED intel digest) is that user's
// alone: colleagues in the same organization neither list, read nor
// acknowledge it, while they see their organization's other digests.
func testNotificationForOneUser(t *testing.T, db *DB) {
	sys := bulwark.WithPrincipal(t.Context(), bulwark.SystemPrincipal())
	now := time.Now().UTC()
	mk := func(ev bulwark.NotificationEvent, user int64, addr string) bulwark.Notification {
		return bulwark.Notification{Key: ev.Key + addr, EventKey: ev.Key, Org: ev.OrgID, Rule: "intel", Audience: bulwark.AudiencePartner,
			RecipientOrg: ev.OrgID, RecipientUser: user, Address: addr, Channel: bulwark.ChannelEmail, Subject: "[TLP:RED] 1 new intel object",
			Body: "TLP:RED\n", Status: bulwark.NotifyPending}
	}
	orgEv := bulwark.NotificationEvent{Key: "intel:b1:org:water", Kind: bulwark.NotifyIntelAdded, OrgID: "water", Title: "[TLP:GREEN] 1 new", At: now}
	userEv := bulwark.NotificationEvent{Key: "intel:b1:user:7", Kind: bulwark.NotifyIntelAdded, OrgID: "water", Title: "[TLP:RED] 1 new", At: now}
	if _, err := db.EnqueueNotifications(sys, orgEv, []bulwark.Notification{mk(orgEv, 0, "desk@water.example")}); err != nil {
		t.Fatal(err)
	}
	added, err := db.EnqueueNotifications(sys, userEv, []bulwark.Notification{mk(userEv, 7, "ana@water.example")})
	if err != nil || len(added) != 1 {
		t.Fatalf("enqueue: %v (%d added)", err, len(added))
	}
	red := added[0].ID
	bad := mk(userEv, 7, "x@water.example")
	bad.RecipientOrg, bad.Org = "", userEv.OrgID
	if _, err := db.EnqueueNotifications(sys, userEv, []bulwark.Notification{bad}); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Fatalf("a one-user notification without organization: %v, want EINVALID", err)
	}
	incidentLess := orgEv
	incidentLess.Kind = bulwark.NotifyIncidentCreated
	if _, err := db.EnqueueNotifications(sys, incidentLess, nil); bulwark.ErrorCode(err) != bulwark.EINVALID {
		t.Fatalf("an incident event without incident: %v, want EINVALID", err)
	}
	named := bulwark.WithPrincipal(t.Context(), bulwark.Principal{Org: "water", UserID: 7, Role: bulwark.RoleAnalyst})
	colleague := bulwark.WithPrincipal(t.Context(), bulwark.Principal{Org: "water", UserID: 8, Role: bulwark.RoleAdmin})
	for _, tc := range []struct {
		name string
		p    bulwark.Principal
		want int
	}{
		{"named user", bulwark.Principal{Org: "water", UserID: 7, Role: bulwark.RoleViewer}, 2},
		{"colleague", bulwark.Principal{Org: "water", UserID: 8, Role: bulwark.RoleAdmin}, 1},
		{"other organization", bulwark.Principal{Org: "power", UserID: 7, Role: bulwark.RoleAdmin}, 0},
	} {
		page, err := db.ListNotifications(bulwark.WithPrincipal(t.Context(), tc.p), bulwark.NotificationFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != tc.want {
			t.Errorf("%s lists %d notifications, want %d", tc.name, len(page.Items), tc.want)
		}
		for _, n := range page.Items {
			if n.ID == red && tc.p.UserID != 7 {
				t.Errorf("%s lists the named user's digest", tc.name)
			}
		}
	}
	if n, err := db.FindNotification(named, red); err != nil || n.RecipientUser != 7 {
		t.Fatalf("named user reads own digest: %v", err)
	}
	if _, err := db.FindNotification(colleague, red); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Fatalf("colleague reads the digest: %v, want ENOTFOUND", err)
	}
	if _, err := db.NotificationAttempts(colleague, red); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Fatalf("colleague reads the delivery log: %v, want ENOTFOUND", err)
	}
	if _, err := db.AckNotification(colleague, red, now); bulwark.ErrorCode(err) != bulwark.ENOTFOUND {
		t.Fatalf("colleague acknowledges the digest: %v, want ENOTFOUND", err)
	}
	if _, err := db.AckNotification(named, red, now); err != nil {
		t.Fatalf("named user acknowledges: %v", err)
	}
	entries, err := db.ListAudit(colleague, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	enq := 0
	for _, e := range entries {
		if e.Action == "notify.enqueue" {
			enq++
			if e.Detail != "intel:b1:org:water: 1 notification(s)" {
				t.Errorf("the organization's audit log tells of another digest: %+v", e)
			}
		}
	}
	if enq != 1 {
		t.Errorf("the organization's audit log has %d enqueue entries, want its own digest's only", enq)
	}
}
