package api

import (
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/notify"
)

const notifyTestMatrix = `version: 1
rules:
  - id: own
    audience: internal
    recipients: [{email: desk@water.example, org: water, name: Water desk}]
    channel: email
    template: internal
    deadline: 1h
  - id: state
    audience: cert
    recipients: [{email: cert@state.example, org: state, name: State CERT}]
    channel: email
    template: cert
  - id: outside
    audience: cert
    recipients: [{email: duty@outside.example}]
    channel: email
    template: cert
`

// seedNotifications reports a water incident naming water's and port's
// services: one notification to water's desk, one to the state (which sees
// neither service) and one to an address outside Bulwark.
func seedNotifications(t *testing.T, w *world) map[string]bulwark.Notification {
	t.Helper()
	m, err := notify.ParseMatrix(strings.NewReader(notifyTestMatrix), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w.api.ns.SetMatrix(m)
	res, err := w.api.ns.Notify(systemCtx(), notify.Event{Kind: notify.IncidentCreated, IncidentID: "inc-1", OrgID: "water", Severity: 3,
		Services: []string{"water-svc-1", "port-svc-1"}, Title: "Pump control lost", Summary: "INTERNAL-ONLY detail", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bulwark.Notification{}
	for _, n := range res.Added {
		out[n.Rule] = n
	}
	if len(out) != 3 {
		t.Fatalf("seeded %v", res.Added)
	}
	return out
}

type notificationList struct {
	Items []bulwark.Notification `json:"items"`
	Next  string                 `json:"next"`
}

func TestNotificationRoutes(t *testing.T) {
	w := newWorld(t, auth.Options{})
	ns := seedNotifications(t, w)
	ids := func(r response) []string {
		var out []string
		for _, n := range decodeBody[notificationList](t, r).Items {
			out = append(out, n.Rule)
		}
		return out
	}
	// AC-01: who sees which.
	for _, tc := range []struct {
		as   string
		want string
	}{
		{"water/viewer", "state outside own"}, // generated for water (newest first: insertion order is not time order within a call)
		{"state/viewer", "state"},
		{"port/admin", ""},
		{"city/admin", ""}, // water shares its city model with the city, not its notifications
	} {
		r := w.do(tc.as, "GET", "/api/v1/notifications", "", "")
		if r.status != 200 {
			t.Fatalf("%s: %s", tc.as, r)
		}
		got := ids(r)
		if strings.Join(sorted(got), " ") != strings.Join(sorted(strings.Fields(tc.want)), " ") {
			t.Errorf("%s sees %v, want %s", tc.as, got, tc.want)
		}
		checkNoInternals(t, r)
	}
	// Egress: the state's notification carries neither service (it sees
	// neither) nor the summary; water's carries both.
	r := w.do("state/viewer", "GET", "/api/v1/notifications/"+ns["state"].ID, "", "")
	body := string(r.body)
	if r.status != 200 || strings.Contains(body, "INTERNAL-ONLY") || strings.Contains(body, "water service 1") || strings.Contains(body, "port service 1") || !strings.Contains(body, "attempts_log") {
		t.Errorf("state's notification: %s", r)
	}
	r = w.do("water/viewer", "GET", "/api/v1/notifications/"+ns["own"].ID, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), "INTERNAL-ONLY") || !strings.Contains(string(r.body), "water service 1") {
		t.Errorf("water's own notification: %s", r)
	}
	// AC-09: another organization's notification is answered like a
	// missing one, for reading and for acknowledging.
	for _, m := range []struct{ method, suffix string }{{"GET", ""}, {"POST", "/ack"}} {
		hidden := w.do("port/analyst", m.method, "/api/v1/notifications/"+ns["own"].ID+m.suffix, "", "")
		missingID := "ntf-0000000000000000-00000000"
		missing := w.missing("port/analyst", m.method, "/api/v1/notifications/"+missingID+m.suffix)
		if hidden.status != 404 {
			t.Errorf("%s another org's notification: %s", m.method, hidden)
		}
		sameAsMissing(t, hidden, ns["own"].ID, missing, missingID)
	}
	// AC-06: acknowledging.
	w.run(t, []apiCase{
		{name: "viewer may not", as: "state/viewer", method: "POST", path: "/api/v1/notifications/" + ns["state"].ID + "/ack", status: 403},
		{name: "water may not acknowledge for the state", as: "water/analyst", method: "POST", path: "/api/v1/notifications/" + ns["state"].ID + "/ack", status: 403},
		{name: "a body with fields", as: "state/analyst", method: "POST", path: "/api/v1/notifications/" + ns["state"].ID + "/ack", ctype: "application/json", body: `{"by":"me"}`, status: 400},
		{name: "state acknowledges", as: "state/analyst", method: "POST", path: "/api/v1/notifications/" + ns["state"].ID + "/ack", ctype: "application/json", body: `{}`, status: 200,
			check: func(t *testing.T, r response) {
				n := decodeBody[bulwark.Notification](t, r)
				if n.Status != bulwark.NotifyAcknowledged || n.AckBy == "" || n.AckAt.IsZero() {
					t.Errorf("acknowledged %+v", n)
				}
			}},
		{name: "twice", as: "state/admin", method: "POST", path: "/api/v1/notifications/" + ns["state"].ID + "/ack", status: 409},
		{name: "water for the outside recipient", as: "water/analyst", method: "POST", path: "/api/v1/notifications/" + ns["outside"].ID + "/ack", status: 200},
		{name: "filter by status", as: "water/viewer", method: "GET", path: "/api/v1/notifications?status=acknowledged", status: 200,
			check: func(t *testing.T, r response) {
				if got := ids(r); len(got) != 2 {
					t.Errorf("acknowledged: %v", got)
				}
			}},
		{name: "filter by audience and incident", as: "water/viewer", method: "GET", path: "/api/v1/notifications?audience=internal&incident=inc-1", status: 200,
			check: func(t *testing.T, r response) {
				if got := ids(r); len(got) != 1 || got[0] != "own" {
					t.Errorf("internal: %v", got)
				}
			}},
		{name: "paging", as: "water/viewer", method: "GET", path: "/api/v1/notifications?limit=2", status: 200,
			check: func(t *testing.T, r response) {
				l := decodeBody[notificationList](t, r)
				if len(l.Items) != 2 || l.Next == "" {
					t.Fatalf("page %+v", l)
				}
				next := w.do("water/viewer", "GET", "/api/v1/notifications?limit=2&after="+url.QueryEscape(l.Next), "", "")
				if got := ids(next); len(got) != 1 {
					t.Errorf("second page %v", got)
				}
			}},
		{name: "bad status", as: "water/viewer", method: "GET", path: "/api/v1/notifications?status=lost", status: 400},
		{name: "bad audience", as: "water/viewer", method: "GET", path: "/api/v1/notifications?audience=world", status: 400},
		{name: "bad limit", as: "water/viewer", method: "GET", path: "/api/v1/notifications?limit=0", status: 400},
		{name: "unknown parameter", as: "water/viewer", method: "GET", path: "/api/v1/notifications?org=port", status: 400},
		{name: "matrix: city admin", as: "city/admin", method: "GET", path: "/api/v1/notifications/matrix", status: 200,
			check: func(t *testing.T, r response) {
				var m notify.MatrixDoc
				if err := json.Unmarshal(r.body, &m); err != nil || len(m.Rules) != 3 || m.Rules[0].Deadline != "1h" {
					t.Errorf("matrix %s (%v)", r.body, err)
				}
			}},
		{name: "matrix: private admin", as: "port/admin", method: "GET", path: "/api/v1/notifications/matrix", status: 403},
		{name: "matrix: analyst", as: "city/analyst", method: "GET", path: "/api/v1/notifications/matrix", status: 403},
		{name: "anonymous", method: "GET", path: "/api/v1/notifications", status: 401},
	})
	// Acknowledgements are in the audit log.
	entries, err := w.st.ListAudit(systemCtx(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	acks := 0
	for _, e := range entries {
		if e.Action == "notify.ack" {
			acks++
		}
	}
	if acks != 2 {
		t.Errorf("%d notify.ack audit entries, want 2", acks)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestEH01_NotificationRoutesHostile sends hostile IDs, queries and bodies
// to the notification routes of a world holding notifications: no 5xx, no
// internals, and no notification changes.
func TestEH01_NotificationRoutesHostile(t *testing.T) {
	w := newWorld(t, auth.Options{LoginLimit: 1 << 20})
	ns := seedNotifications(t, w)
	state := func() string {
		p, err := w.st.ListNotifications(systemCtx(), bulwark.NotificationFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		return string(b)
	}
	before := state()
	rng := rand.New(rand.NewPCG(3, 4))
	users := []string{"", "water/viewer", "water/analyst", "state/analyst", "port/admin", "city/admin"}
	queries := append(hostileQueries, "status=%00", "audience=%27", "incident=../x", "after=ntf-%0A", "limit=1001", "status=pending&status=sent")
	n := 0
	for _, rt := range w.api.routes {
		method, pattern, _ := strings.Cut(rt.pattern, " ")
		if !strings.HasPrefix(pattern, "/api/v1/notifications") {
			continue
		}
		for range 150 {
			path := pattern
			if strings.Contains(path, "{id}") {
				path = strings.Replace(path, "{id}", hostileIDs[rng.IntN(len(hostileIDs))], 1)
			}
			if rng.IntN(2) == 0 {
				path += "?" + queries[rng.IntN(len(queries))]
			}
			body := ""
			if method == "POST" {
				body = hostileBodies[1+rng.IntN(len(hostileBodies)-1)]
			}
			r := w.do(users[rng.IntN(len(users))], method, path, "application/json", body)
			n++
			if r.status >= 500 || (r.status >= 400 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/json")) {
				t.Errorf("%s %s = %s", method, path, r)
			}
			checkNoInternals(t, r)
		}
	}
	// Real IDs with hostile bodies: refused, nothing acknowledged.
	for _, b := range hostileBodies[1:] {
		r := w.do("water/analyst", "POST", "/api/v1/notifications/"+ns["own"].ID+"/ack", "application/json", b)
		if r.status < 400 || r.status >= 500 {
			t.Errorf("ack with body %q: %s", bulwark.Abbrev(b, 40), r)
		}
		n++
	}
	if after := state(); after != before {
		t.Errorf("hostile requests changed notifications")
	}
	t.Logf("%d hostile requests", n)
}
