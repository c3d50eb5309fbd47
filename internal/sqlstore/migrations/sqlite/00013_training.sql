-- +goose Up
-- Awareness, education and training. A campaign belongs to one
-- organization and is visible to it alone. People are never stored by
-- name or address: person is a keyed pseudonym (HMAC-SHA-256 under the
-- organization's key in training_keys, 32 hex digits). Times are Unix
-- microseconds, 0 when the event did not happen.
CREATE TABLE training_keys (
    org        TEXT PRIMARY KEY,
    key        TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE training_campaigns (
    id            TEXT PRIMARY KEY,
    org           TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    audience      TEXT NOT NULL,
    audience_size INTEGER NOT NULL,
    course        TEXT NOT NULL,
    start_day     INTEGER NOT NULL,
    due_day       INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX training_campaigns_org ON training_campaigns (org, start_day);

CREATE TABLE training_completions (
    campaign     TEXT NOT NULL REFERENCES training_campaigns (id) ON DELETE CASCADE,
    person       TEXT NOT NULL,
    completed_at INTEGER NOT NULL,
    score        REAL,
    PRIMARY KEY (campaign, person)
);

CREATE TABLE training_phishing (
    campaign     TEXT NOT NULL REFERENCES training_campaigns (id) ON DELETE CASCADE,
    person       TEXT NOT NULL,
    sent_at      INTEGER NOT NULL,
    opened_at    INTEGER NOT NULL,
    clicked_at   INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL,
    reported_at  INTEGER NOT NULL,
    PRIMARY KEY (campaign, person)
);

CREATE TABLE training_reach (
    campaign TEXT NOT NULL REFERENCES training_campaigns (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    channel  TEXT NOT NULL,
    people   INTEGER NOT NULL,
    from_day INTEGER NOT NULL,
    to_day   INTEGER NOT NULL,
    PRIMARY KEY (campaign, seq)
);

-- +goose Down
DROP TABLE training_reach;
DROP TABLE training_phishing;
DROP TABLE training_completions;
DROP TABLE training_campaigns;
DROP TABLE training_keys;
