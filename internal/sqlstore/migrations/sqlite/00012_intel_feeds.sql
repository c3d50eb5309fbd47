-- +goose Up
-- Subscriptions to partners' TAXII 2.1 collections (ISAC feeds). A
-- subscription belongs to one organization; its members read it, its
-- administrators manage it. secret is the sealed password or token (never
-- the plain value). added_after is the cursor in the partner's date_added
-- clock; resume_next/resume_after continue a pull stopped between pages.
-- lease_holder/lease_until let one puller at a time work a subscription.
CREATE TABLE intel_feeds (
    id              TEXT PRIMARY KEY,
    org             TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    server_url      TEXT NOT NULL,
    api_root        TEXT NOT NULL,
    collection      TEXT NOT NULL,
    target          TEXT NOT NULL,
    auth            TEXT NOT NULL,
    username        TEXT NOT NULL,
    secret          TEXT NOT NULL,
    ca_cert         TEXT NOT NULL,
    min_marking     TEXT NOT NULL,
    interval_s      BIGINT NOT NULL,
    paused          BOOLEAN NOT NULL,
    added_after     BIGINT NOT NULL,
    resume_next     TEXT NOT NULL,
    resume_after    BIGINT NOT NULL,
    last_attempt    BIGINT NOT NULL,
    last_success    BIGINT NOT NULL,
    last_error      TEXT NOT NULL,
    failures        INTEGER NOT NULL,
    next_pull       BIGINT NOT NULL,
    imported        BIGINT NOT NULL,
    last_count      INTEGER NOT NULL,
    last_rejected   INTEGER NOT NULL,
    lease_holder    TEXT NOT NULL,
    lease_until     BIGINT NOT NULL,
    created_by      BIGINT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX intel_feeds_name ON intel_feeds (org, name);
CREATE INDEX intel_feeds_due ON intel_feeds (next_pull);

-- +goose Down
DROP TABLE intel_feeds;
