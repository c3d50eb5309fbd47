package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bulwark"
)

// The notification outbox (bulwark.NotificationStore). Unlike the city
// model, notifications are not shared through shares_with: a caller sees
// those generated for its own organization's incidents and those addressed
// to its organization, nothing else.

// notificationBody is the fixed content of a notification, stored as JSON.
type notificationBody struct {
	EventKey      string                 `json:"event_key"`
	Rule          string                 `json:"rule"`
	Audience      bulwark.NotifyAudience `json:"audience"`
	RecipientName string                 `json:"recipient_name,omitempty"`
	Address       string                 `json:"address"`
	Channel       bulwark.NotifyChannel  `json:"channel"`
	Secret        string                 `json:"secret,omitempty"`
	Subject       string                 `json:"subject"`
	Body          string                 `json:"body"`
	Payload       string                 `json:"payload,omitempty"`
	CreatedAt     time.Time              `json:"created_at"`
	EscalatedFrom string                 `json:"escalated_from,omitempty"`
}

// Limits of what one enqueue stores.
const (
	maxNotificationsPerCall = 1000
	maxNotificationText     = 256 << 10 // subject + body + payload of one notification
	maxNotificationError    = 1000
)

// notifyScope is the caller of a notification operation.
type notifyScope struct {
	p bulwark.Principal
}

func (db *DB) notifyScopeOf(ctx context.Context) (notifyScope, error) {
	p, err := principal(ctx)
	if err != nil {
		return notifyScope{}, err
	}
	return notifyScope{p: p}, nil
}

// sees reports whether the caller may read n. A notification for one user
// (RecipientUser) is that user's alone.
func (s notifyScope) sees(org, recipientOrg string, recipientUser int64) bool {
	if s.p.System {
		return true
	}
	if recipientUser != 0 && s.p.UserID != recipientUser {
		return false
	}
	return s.p.Org == org || (recipientOrg != "" && s.p.Org == recipientOrg)
}

func (s notifyScope) actor() string {
	if s.p.Name != "" {
		return s.p.Name
	}
	if s.p.System {
		return "system"
	}
	return "user"
}

func (s notifyScope) auditOrg() string {
	if s.p.System {
		return ""
	}
	return s.p.Org
}

func (s notifyScope) system(what string) error {
	if s.p.System {
		return nil
	}
	return bulwark.Errorf(bulwark.EFORBIDDEN, "%s is for the delivery service only", what)
}

// newNotificationID returns an ID that sorts by creation time: the Unix
// microseconds in fixed-width hex, then 32 random bits.
func newNotificationID(now time.Time) string {
	var r [4]byte
	rand.Read(r[:])
	return fmt.Sprintf("ntf-%016x-%s", uint64(now.UnixMicro()), hex.EncodeToString(r[:]))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkNotification validates what the store relies on.
func checkNotification(ev *bulwark.NotificationEvent, n *bulwark.Notification) error {
	switch {
	case n.Key == "" || len(n.Key) > 200:
		return bulwark.Errorf(bulwark.EINVALID, "notification key must be 1 to 200 bytes")
	case n.Org != ev.OrgID:
		return bulwark.Errorf(bulwark.EINVALID, "notification for %q belongs to a different organization than its event", bulwark.Truncate(n.Org, 128))
	case n.IncidentID != ev.IncidentID:
		return bulwark.Errorf(bulwark.EINVALID, "notification names a different incident than its event")
	case n.Audience.Level() < 0:
		return bulwark.Errorf(bulwark.EINVALID, "notification audience %q is unknown", bulwark.Truncate(string(n.Audience), 40))
	case n.Channel != bulwark.ChannelEmail && n.Channel != bulwark.ChannelWebhook:
		return bulwark.Errorf(bulwark.EINVALID, "notification channel %q is unknown", bulwark.Truncate(string(n.Channel), 40))
	case n.Status != bulwark.NotifyPending && n.Status != bulwark.NotifyFailed:
		return bulwark.Errorf(bulwark.EINVALID, "a new notification is pending (or failed, when it cannot be addressed)")
	case n.RecipientUser < 0 || (n.RecipientUser != 0 && n.RecipientOrg == ""):
		return bulwark.Errorf(bulwark.EINVALID, "a notification for one user names the user's organization")
	case n.RecipientOrg != "" && !bulwark.ValidID(n.RecipientOrg):
		return bulwark.Errorf(bulwark.EINVALID, "recipient organization %q is not a valid ID", bulwark.Truncate(n.RecipientOrg, 128))
	case len(n.Subject)+len(n.Body)+len(n.Payload)+len(n.Address) > maxNotificationText:
		return bulwark.Errorf(bulwark.ETOOLARGE, "notification is larger than %d bytes", maxNotificationText)
	case len(n.Rule) > 128 || len(n.Secret) > 128 || len(n.RecipientName) > 500:
		return bulwark.Errorf(bulwark.EINVALID, "notification rule, secret name or recipient name too long")
	}
	return nil
}

// EnqueueNotifications records ev once and adds the notifications of ns
// whose key is new (see bulwark.NotificationStore).
func (db *DB) EnqueueNotifications(ctx context.Context, ev bulwark.NotificationEvent, ns []bulwark.Notification) ([]bulwark.Notification, error) {
	if ev.Key == "" {
		ev.Key = ev.DefaultKey()
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if len(ns) > maxNotificationsPerCall {
		return nil, bulwark.Errorf(bulwark.ETOOLARGE, "at most %d notifications per event", maxNotificationsPerCall)
	}
	for i := range ns {
		if err := checkNotification(&ev, &ns[i]); err != nil {
			return nil, err
		}
	}
	var added []bulwark.Notification
	err := db.inWrite(ctx, func(q querier) error {
		added = added[:0]
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		if !sc.p.System {
			if sc.p.Org != ev.OrgID {
				return bulwark.Errorf(bulwark.EFORBIDDEN, "notifications about %s's incidents are raised by %s", bulwark.Truncate(ev.OrgID, 128), bulwark.Truncate(ev.OrgID, 128))
			}
			if !sc.p.Role.CanWrite() {
				return bulwark.Errorf(bulwark.EFORBIDDEN, "raise notifications: your role (%s) is read-only", sc.p.Role)
			}
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode notification event: %w", err)
		}
		now := db.now()
		res, err := q.ExecContext(ctx, "INSERT INTO notify_events (key, org, incident, body, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
			ev.Key, ev.OrgID, ev.IncidentID, string(body), micros(now))
		if err != nil {
			return db.d.mapErr("record notification event", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// A replay: the event must be the same organization's.
			var org string
			if err := q.QueryRowContext(ctx, "SELECT org FROM notify_events WHERE key = $1", ev.Key).Scan(&org); err != nil {
				return db.d.mapErr("record notification event", err)
			}
			if org != ev.OrgID {
				return bulwark.Errorf(bulwark.ECONFLICT, "event key %q is already used", bulwark.Truncate(ev.Key, 200))
			}
		}
		for _, n := range ns {
			ok, err := db.insertNotification(ctx, q, &n, now)
			if err != nil {
				return err
			}
			if ok {
				added = append(added, n)
			}
		}
		if len(added) == 0 {
			return nil
		}
		entry := bulwark.AuditEntry{Org: ev.OrgID, Actor: sc.actor(), Action: "notify.enqueue",
			Target: "incident:" + ev.IncidentID, Outcome: "ok", Detail: fmt.Sprintf("%s: %d notification(s)", bulwark.Truncate(ev.Key, 200), len(added))}
		if ev.Kind == bulwark.NotifyIntelAdded {
			entry.Target = "intel"
			if added[0].RecipientUser != 0 {
				// A digest for one person: the organization's log does not
				// tell their colleagues it exists.
				entry.Org, entry.Detail = "", fmt.Sprintf("%d notification(s) for one user", len(added))
			}
		}
		return db.appendAudit(ctx, q, entry)
	})
	return added, err
}

// insertNotification adds n unless its key exists; it reports whether it
// did, filling in the ID and creation time.
func (db *DB) insertNotification(ctx context.Context, q querier, n *bulwark.Notification, now time.Time) (bool, error) {
	if n.ID == "" {
		n.ID = newNotificationID(now)
	}
	n.CreatedAt = now.UTC().Truncate(time.Microsecond)
	if n.NextAttempt.IsZero() {
		n.NextAttempt = n.CreatedAt
	}
	n.Attempts, n.AckAt, n.AckBy, n.EscalatedAt, n.SentAt, n.Lease = 0, time.Time{}, "", time.Time{}, time.Time{}, ""
	body, err := json.Marshal(notificationBody{EventKey: n.EventKey, Rule: n.Rule, Audience: n.Audience, RecipientName: n.RecipientName,
		Address: n.Address, Channel: n.Channel, Secret: n.Secret, Subject: n.Subject, Body: n.Body, Payload: n.Payload,
		CreatedAt: n.CreatedAt, EscalatedFrom: n.EscalatedFrom})
	if err != nil {
		return false, fmt.Errorf("encode notification: %w", err)
	}
	res, err := q.ExecContext(ctx, `INSERT INTO notifications (id, key, event_key, incident, org, recipient_org, audience, status, attempts,
		next_attempt, last_error, lease_token, lease_until, sent_at, due_by, ack_at, ack_by, escalated_at, ack_hash, body, recipient_user)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, '', 0, 0, $11, 0, '', 0, $12, $13, $14) ON CONFLICT (key) DO NOTHING`,
		n.ID, n.Key, n.EventKey, n.IncidentID, n.Org, n.RecipientOrg, string(n.Audience), string(n.Status),
		micros(n.NextAttempt), bulwark.Truncate(n.LastError, maxNotificationError), micros(n.DueBy), nullable(n.AckHash), string(body), n.RecipientUser)
	if err != nil {
		if db.d.isUnique(err) {
			return false, bulwark.Errorf(bulwark.ECONFLICT, "notification %s or its ack token already exists", n.ID)
		}
		return false, db.d.mapErr("add notification", err)
	}
	k, _ := res.RowsAffected()
	return k == 1, nil
}

// notificationColumns are read by scanNotification, in order.
const notificationColumns = "id, key, incident, org, recipient_org, status, attempts, next_attempt, last_error, lease_token, sent_at, due_by, ack_at, ack_by, escalated_at, body, recipient_user"

func scanNotification(row interface{ Scan(...any) error }) (bulwark.Notification, error) {
	var n bulwark.Notification
	var status, body string
	var next, sent, due, ack, esc int64
	if err := row.Scan(&n.ID, &n.Key, &n.IncidentID, &n.Org, &n.RecipientOrg, &status, &n.Attempts, &next, &n.LastError, &n.Lease,
		&sent, &due, &ack, &n.AckBy, &esc, &body, &n.RecipientUser); err != nil {
		return n, err
	}
	var b notificationBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return n, fmt.Errorf("decode notification %s: %w", n.ID, err)
	}
	n.Status = bulwark.NotificationStatus(status)
	n.NextAttempt, n.SentAt, n.DueBy, n.AckAt, n.EscalatedAt = fromMicros(next), fromMicros(sent), fromMicros(due), fromMicros(ack), fromMicros(esc)
	n.EventKey, n.Rule, n.Audience, n.RecipientName, n.Address, n.Channel, n.Secret = b.EventKey, b.Rule, b.Audience, b.RecipientName, b.Address, b.Channel, b.Secret
	n.Subject, n.Body, n.Payload, n.CreatedAt, n.EscalatedFrom = b.Subject, b.Body, b.Payload, b.CreatedAt, b.EscalatedFrom
	if n.Status != bulwark.NotifyPending {
		n.NextAttempt = time.Time{}
	}
	return n, nil
}

// FindNotificationEvent returns a recorded event (System principal).
func (db *DB) FindNotificationEvent(ctx context.Context, key string) (*bulwark.NotificationEvent, error) {
	var out *bulwark.NotificationEvent
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		if err := sc.system("reading raw notification events"); err != nil {
			return err
		}
		var body string
		err = q.QueryRowContext(ctx, "SELECT body FROM notify_events WHERE key = $1", key).Scan(&body)
		if err == sql.ErrNoRows {
			return bulwark.Errorf(bulwark.ENOTFOUND, "notification event %q not found", bulwark.Truncate(key, 200))
		}
		if err != nil {
			return db.d.mapErr("read notification event", err)
		}
		var ev bulwark.NotificationEvent
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			return fmt.Errorf("decode notification event: %w", err)
		}
		out = &ev
		return nil
	})
	return out, err
}

// ClaimNotifications leases due pending notifications (System principal).
// On PostgreSQL, concurrent claimers skip each other's rows (SKIP LOCKED);
// on SQLite the single writer serializes them.
func (db *DB) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]bulwark.Notification, error) {
	if limit < 1 || limit > maxNotificationsPerCall {
		return nil, bulwark.Errorf(bulwark.EINVALID, "claim 1 to %d notifications", maxNotificationsPerCall)
	}
	if lease <= 0 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "a lease must be positive")
	}
	var out []bulwark.Notification
	err := db.inWrite(ctx, func(q querier) error {
		out = out[:0]
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		if err := sc.system("claiming notifications"); err != nil {
			return err
		}
		var tok [12]byte
		rand.Read(tok[:])
		token := hex.EncodeToString(tok[:])
		lock := ""
		if db.d == postgresDialect {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		nowUS := micros(now)
		rows, err := q.QueryContext(ctx, `UPDATE notifications SET lease_token = $1, lease_until = $2, attempts = attempts + 1
			WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt <= $3 AND lease_until <= $4
				ORDER BY next_attempt, id LIMIT `+strconv.Itoa(limit)+lock+`)
			RETURNING `+notificationColumns,
			token, micros(now.Add(lease)), nowUS, nowUS)
		if err != nil {
			return db.d.mapErr("claim notifications", err)
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return db.d.mapErr("claim notifications", err)
			}
			out = append(out, n)
		}
		return db.d.mapErr("claim notifications", rows.Err())
	})
	return out, err
}

// FinishDelivery records one attempt's outcome if lease still holds.
func (db *DB) FinishDelivery(ctx context.Context, id, lease string, out bulwark.DeliveryOutcome) (bool, error) {
	switch out.Status {
	case bulwark.NotifySent, bulwark.NotifyPending, bulwark.NotifyFailed:
	default:
		return false, bulwark.Errorf(bulwark.EINVALID, "a delivery ends sent, pending (retry) or failed, not %q", bulwark.Truncate(string(out.Status), 40))
	}
	if lease == "" {
		return false, bulwark.Errorf(bulwark.EINVALID, "no lease")
	}
	if out.At.IsZero() {
		out.At = db.now()
	}
	done := false
	err := db.inWrite(ctx, func(q querier) error {
		done = false
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		if err := sc.system("recording deliveries"); err != nil {
			return err
		}
		var attempts int
		var status, org string
		err = q.QueryRowContext(ctx, "SELECT attempts, status, org FROM notifications WHERE id = $1 AND lease_token = $2", id, lease).Scan(&attempts, &status, &org)
		if err == sql.ErrNoRows {
			return nil // the lease was taken over (or the notification is gone)
		}
		if err != nil {
			return db.d.mapErr("record delivery", err)
		}
		msg := bulwark.Truncate(out.Error, maxNotificationError)
		a := db.d.newArgs()
		set := []string{"lease_token = ''", "lease_until = 0", "last_error = " + a.add(msg)}
		// An acknowledgement that came in meanwhile keeps its status.
		keep := status == string(bulwark.NotifyAcknowledged)
		switch out.Status {
		case bulwark.NotifySent:
			set = append(set, "sent_at = "+a.add(micros(out.At)))
			if !keep {
				set = append(set, "status = CASE WHEN escalated_at > 0 THEN 'escalated' ELSE 'sent' END")
			}
			if out.AckHash != "" {
				set = append(set, "ack_hash = "+a.add(out.AckHash))
			}
		case bulwark.NotifyPending:
			set = append(set, "next_attempt = "+a.add(micros(out.NextAttempt)))
		case bulwark.NotifyFailed:
			if !keep {
				set = append(set, "status = CASE WHEN escalated_at > 0 THEN 'escalated' ELSE 'failed' END")
			}
		}
		where := " WHERE id = " + a.add(id) + " AND lease_token = " + a.add(lease)
		if _, err := q.ExecContext(ctx, "UPDATE notifications SET "+strings.Join(set, ", ")+where, a.v...); err != nil {
			if db.d.isUnique(err) {
				return bulwark.Errorf(bulwark.ECONFLICT, "ack token of notification %s is already in use", id)
			}
			return db.d.mapErr("record delivery", err)
		}
		outcome := map[bulwark.NotificationStatus]string{bulwark.NotifySent: "sent", bulwark.NotifyPending: "retry", bulwark.NotifyFailed: "failed"}[out.Status]
		if _, err := q.ExecContext(ctx, "INSERT INTO notification_attempts (notification_id, attempt, at, outcome, error) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
			id, attempts, micros(out.At), outcome, msg); err != nil {
			return db.d.mapErr("record delivery", err)
		}
		done = true
		if out.Status == bulwark.NotifyPending {
			return nil
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: org, Actor: sc.actor(), Action: "notify." + outcome,
			Target: "notification:" + id, Outcome: map[bool]string{true: "ok", false: "error"}[out.Status == bulwark.NotifySent],
			Detail: fmt.Sprintf("attempt %d %s", attempts, bulwark.Truncate(msg, 200))})
	})
	return done, err
}

// visibleCond restricts a notifications query to what the caller sees.
func (s notifyScope) cond(a *args) string {
	if s.p.System {
		return ""
	}
	return "(org = " + a.add(s.p.Org) + " OR recipient_org = " + a.add(s.p.Org) + ") AND (recipient_user = 0 OR recipient_user = " + a.add(s.p.UserID) + ")"
}

// ListNotifications lists the caller's notifications, newest first.
func (db *DB) ListNotifications(ctx context.Context, f bulwark.NotificationFilter) (bulwark.Page[bulwark.Notification], error) {
	var page bulwark.Page[bulwark.Notification]
	limit := f.Limit
	if limit == 0 {
		limit = bulwark.DefaultPageSize
	}
	if limit < 1 || limit > bulwark.MaxPageSize {
		return page, bulwark.Errorf(bulwark.EINVALID, "limit must be 1 to %d", bulwark.MaxPageSize)
	}
	err := db.inRead(ctx, func(q querier) error {
		page = bulwark.Page[bulwark.Notification]{}
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		var conds []string
		if c := sc.cond(&a); c != "" {
			conds = append(conds, c)
		}
		if f.Status != "" {
			conds = append(conds, "status = "+a.add(string(f.Status)))
		}
		if f.Incident != "" {
			conds = append(conds, "incident = "+a.add(f.Incident))
		}
		if f.Audience != "" {
			conds = append(conds, "audience = "+a.add(string(f.Audience)))
		}
		if f.After != "" {
			conds = append(conds, "id < "+a.add(f.After))
		}
		where := ""
		if len(conds) > 0 {
			where = " WHERE " + strings.Join(conds, " AND ")
		}
		rows, err := q.QueryContext(ctx, "SELECT "+notificationColumns+" FROM notifications"+where+" ORDER BY id DESC LIMIT "+strconv.Itoa(limit+1), a.v...)
		if err != nil {
			return db.d.mapErr("list notifications", err)
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return db.d.mapErr("list notifications", err)
			}
			n.Lease = ""
			page.Items = append(page.Items, n)
		}
		if err := rows.Err(); err != nil {
			return db.d.mapErr("list notifications", err)
		}
		if len(page.Items) > limit {
			page.Items = page.Items[:limit]
			page.Next = page.Items[limit-1].ID
		}
		return nil
	})
	return page, err
}

func (db *DB) findNotification(ctx context.Context, q querier, sc notifyScope, id string) (*bulwark.Notification, error) {
	n, err := scanNotification(q.QueryRowContext(ctx, "SELECT "+notificationColumns+" FROM notifications WHERE id = $1", id))
	if err == sql.ErrNoRows || (err == nil && !sc.sees(n.Org, n.RecipientOrg, n.RecipientUser)) {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "notification %q not found", bulwark.Truncate(id, 128))
	}
	if err != nil {
		return nil, db.d.mapErr("read notification", err)
	}
	n.Lease = ""
	return &n, nil
}

// FindNotification returns a notification the caller may see.
func (db *DB) FindNotification(ctx context.Context, id string) (*bulwark.Notification, error) {
	var out *bulwark.Notification
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		out, err = db.findNotification(ctx, q, sc, id)
		return err
	})
	return out, err
}

// NotificationAttempts returns the delivery log of a visible notification.
func (db *DB) NotificationAttempts(ctx context.Context, id string) ([]bulwark.NotificationAttempt, error) {
	out := []bulwark.NotificationAttempt{}
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		if _, err := db.findNotification(ctx, q, sc, id); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT attempt, at, outcome, error FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt", id)
		if err != nil {
			return db.d.mapErr("read delivery log", err)
		}
		defer rows.Close()
		for rows.Next() {
			var at int64
			var x bulwark.NotificationAttempt
			if err := rows.Scan(&x.Attempt, &at, &x.Outcome, &x.Error); err != nil {
				return db.d.mapErr("read delivery log", err)
			}
			x.At = fromMicros(at)
			out = append(out, x)
		}
		return db.d.mapErr("read delivery log", rows.Err())
	})
	return out, err
}

// ack marks n acknowledged by by at at, unless it was already.
func (db *DB) ack(ctx context.Context, q querier, n *bulwark.Notification, by string, at time.Time, auditOrg, actor string) error {
	if !n.AckAt.IsZero() {
		return bulwark.Errorf(bulwark.ECONFLICT, "notification %s was already acknowledged by %s at %s", n.ID, n.AckBy, n.AckAt.Format(time.RFC3339))
	}
	res, err := q.ExecContext(ctx, "UPDATE notifications SET status = 'acknowledged', ack_at = $1, ack_by = $2 WHERE id = $3 AND ack_at = 0",
		micros(at), bulwark.Truncate(by, 200), n.ID)
	if err != nil {
		return db.d.mapErr("acknowledge notification", err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return bulwark.Errorf(bulwark.ECONFLICT, "notification %s was acknowledged at the same time by someone else", n.ID)
	}
	n.Status, n.AckAt, n.AckBy, n.NextAttempt = bulwark.NotifyAcknowledged, at.UTC().Truncate(time.Microsecond), bulwark.Truncate(by, 200), time.Time{}
	return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: auditOrg, Actor: actor, Action: "notify.ack", Target: "notification:" + n.ID,
		Outcome: "ok", Detail: fmt.Sprintf("%s notification of incident %s acknowledged by %s", n.Audience, n.IncidentID, bulwark.Truncate(by, 200))})
}

// AckNotification acknowledges a notification as the caller.
func (db *DB) AckNotification(ctx context.Context, id string, at time.Time) (*bulwark.Notification, error) {
	var out *bulwark.Notification
	err := db.inWrite(ctx, func(q querier) error {
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		n, err := db.findNotification(ctx, q, sc, id)
		if err != nil {
			return err
		}
		if !sc.p.System {
			mayAck := sc.p.Org == n.RecipientOrg || (n.RecipientOrg == "" && sc.p.Org == n.Org)
			if !mayAck {
				return bulwark.Errorf(bulwark.EFORBIDDEN, "only %s, the recipient, may acknowledge notification %s", n.RecipientOrg, n.ID)
			}
			if !sc.p.Role.CanWrite() {
				return bulwark.Errorf(bulwark.EFORBIDDEN, "acknowledge a notification: your role (%s) is read-only", sc.p.Role)
			}
		}
		if err := db.ack(ctx, q, n, sc.actor(), at, sc.auditOrg(), sc.actor()); err != nil {
			return err
		}
		out = n
		return nil
	})
	return out, err
}

// AckNotificationByToken acknowledges through an ack link.
func (db *DB) AckNotificationByToken(ctx context.Context, hash, by string, at, notBefore time.Time) (*bulwark.Notification, error) {
	if len(hash) != 64 {
		return nil, bulwark.Errorf(bulwark.ENOTFOUND, "this acknowledgement link is not valid")
	}
	var out *bulwark.Notification
	err := db.inWrite(ctx, func(q querier) error {
		n, err := scanNotification(q.QueryRowContext(ctx, "SELECT "+notificationColumns+" FROM notifications WHERE ack_hash = $1", hash))
		if err == sql.ErrNoRows || (err == nil && n.CreatedAt.Before(notBefore)) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "this acknowledgement link is not valid or has expired")
		}
		if err != nil {
			return db.d.mapErr("acknowledge notification", err)
		}
		n.Lease = ""
		who := "link"
		if by != "" {
			who = "link: " + by
		}
		if err := db.ack(ctx, q, &n, who, at, n.Org, who); err != nil {
			return err
		}
		out = &n
		return nil
	})
	return out, err
}

// ListOverdueNotifications lists notifications past their deadline.
func (db *DB) ListOverdueNotifications(ctx context.Context, now time.Time, limit int) ([]bulwark.Notification, error) {
	if limit < 1 || limit > maxNotificationsPerCall {
		return nil, bulwark.Errorf(bulwark.EINVALID, "list 1 to %d notifications", maxNotificationsPerCall)
	}
	var out []bulwark.Notification
	err := db.inRead(ctx, func(q querier) error {
		out = out[:0]
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		if err := sc.system("listing overdue notifications"); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, "SELECT "+notificationColumns+" FROM notifications WHERE ack_at = 0 AND escalated_at = 0 AND due_by > 0 AND due_by < $1 ORDER BY due_by, id LIMIT "+strconv.Itoa(limit), micros(now))
		if err != nil {
			return db.d.mapErr("list overdue notifications", err)
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return db.d.mapErr("list overdue notifications", err)
			}
			n.Lease = ""
			out = append(out, n)
		}
		return db.d.mapErr("list overdue notifications", rows.Err())
	})
	return out, err
}

// EscalateNotification marks id escalated and adds the escalations.
func (db *DB) EscalateNotification(ctx context.Context, id string, at time.Time, escalations []bulwark.Notification) (bool, error) {
	if len(escalations) > maxNotificationsPerCall {
		return false, bulwark.Errorf(bulwark.ETOOLARGE, "at most %d escalations", maxNotificationsPerCall)
	}
	done := false
	err := db.inWrite(ctx, func(q querier) error {
		done = false
		sc, err := db.notifyScopeOf(ctx)
		if err != nil {
			return err
		}
		if err := sc.system("escalating notifications"); err != nil {
			return err
		}
		n, err := db.findNotification(ctx, q, sc, id)
		if err != nil {
			return err
		}
		ev := bulwark.NotificationEvent{IncidentID: n.IncidentID, OrgID: n.Org}
		for i := range escalations {
			escalations[i].EscalatedFrom = id
			if err := checkNotification(&ev, &escalations[i]); err != nil {
				return err
			}
		}
		res, err := q.ExecContext(ctx, `UPDATE notifications SET escalated_at = $1,
			status = CASE WHEN status IN ('sent', 'failed') THEN 'escalated' ELSE status END
			WHERE id = $2 AND ack_at = 0 AND escalated_at = 0`, micros(at), id)
		if err != nil {
			return db.d.mapErr("escalate notification", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return nil
		}
		now := db.now()
		added := 0
		for _, e := range escalations {
			ok, err := db.insertNotification(ctx, q, &e, now)
			if err != nil {
				return err
			}
			if ok {
				added++
			}
		}
		done = true
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: n.Org, Actor: sc.actor(), Action: "notify.escalate", Target: "notification:" + id,
			Outcome: "ok", Detail: fmt.Sprintf("%s notification of incident %s not acknowledged by %s: %d escalation(s)",
				n.Audience, n.IncidentID, n.DueBy.Format(time.RFC3339), added)})
	})
	return done, err
}
