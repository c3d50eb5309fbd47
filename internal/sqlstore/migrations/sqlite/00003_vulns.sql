-- +goose Up
-- vuln_records holds what each source says about each vulnerability, one
-- row per (vulnerability, source key); readers merge the rows of one
-- vulnerability (bulwark.MergeVulnerability). hash is the sha256 of the
-- source's record bytes, so that re-importing an unchanged feed writes
-- nothing; seq is the feed_version at which the row last changed, so that
-- matching can re-evaluate only what changed.
CREATE TABLE vuln_records (
    vuln_id    TEXT NOT NULL,
    source     TEXT NOT NULL,
    document   TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    modified   INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    kev        INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (vuln_id, source)
);
CREATE INDEX vuln_records_seq ON vuln_records (seq);

CREATE TABLE feed_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO feed_version (id, version) VALUES (1, 0);

-- findings: an asset exposed to a vulnerability. owner is the asset's
-- organization (tenancy filters on it).
CREATE TABLE findings (
    asset_id        TEXT NOT NULL,
    vuln_id         TEXT NOT NULL,
    owner           TEXT NOT NULL,
    status          TEXT NOT NULL,
    confidence      TEXT NOT NULL,
    evidence        TEXT NOT NULL,
    decision        TEXT NOT NULL,
    inputs          TEXT NOT NULL,
    kev             INTEGER NOT NULL DEFAULT 0,
    due             INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    accepted_by     TEXT NOT NULL DEFAULT '',
    accepted_reason TEXT NOT NULL DEFAULT '',
    accepted_until  INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (asset_id, vuln_id)
);
CREATE INDEX findings_owner ON findings (owner, status);
CREATE INDEX findings_vuln ON findings (vuln_id);

CREATE TABLE finding_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id    TEXT NOT NULL,
    vuln_id     TEXT NOT NULL,
    owner       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    note        TEXT NOT NULL
);
CREATE INDEX finding_events_key ON finding_events (asset_id, vuln_id);

-- +goose Down
DROP TABLE finding_events;
DROP TABLE findings;
DROP TABLE feed_version;
DROP TABLE vuln_records;
