-- +goose Up
-- The notification outbox. notify_events records each incident event once
-- (by its key); notifications holds one row per event (or incident) × rule
-- × recipient, unique by key, so replaying an event adds nothing. body is
-- the notification's fixed content as JSON; the columns are what changes
-- (status, attempts, lease, acknowledgement, escalation) and what queries
-- select on. lease_token/lease_until mark a delivery claim. ack_hash is
-- the SHA-256 of the ack-link token (never the token).
CREATE TABLE notify_events (
    key        TEXT PRIMARY KEY,
    org        TEXT NOT NULL,
    incident   TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE notifications (
    id            TEXT PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    event_key     TEXT NOT NULL,
    incident      TEXT NOT NULL,
    org           TEXT NOT NULL,
    recipient_org TEXT NOT NULL,
    audience      TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    next_attempt  INTEGER NOT NULL,
    last_error    TEXT NOT NULL,
    lease_token   TEXT NOT NULL,
    lease_until   INTEGER NOT NULL,
    sent_at       INTEGER NOT NULL,
    due_by        INTEGER NOT NULL,
    ack_at        INTEGER NOT NULL,
    ack_by        TEXT NOT NULL,
    escalated_at  INTEGER NOT NULL,
    ack_hash      TEXT,
    body          TEXT NOT NULL
);
CREATE INDEX notifications_due ON notifications (status, next_attempt);
CREATE INDEX notifications_org ON notifications (org, id);
CREATE INDEX notifications_recipient ON notifications (recipient_org, id);
CREATE INDEX notifications_overdue ON notifications (due_by) WHERE ack_at = 0 AND escalated_at = 0 AND due_by > 0;
CREATE UNIQUE INDEX notifications_ack ON notifications (ack_hash) WHERE ack_hash IS NOT NULL;

-- The delivery log: one row per attempt.
CREATE TABLE notification_attempts (
    notification_id TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    error           TEXT NOT NULL,
    PRIMARY KEY (notification_id, attempt)
);

-- +goose Down
DROP TABLE notification_attempts;
DROP TABLE notifications;
DROP TABLE notify_events;
