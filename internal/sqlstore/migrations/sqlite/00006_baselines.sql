-- +goose Up
-- Control catalogs (CSF 2.0, CPG 2.0 built in; OSCAL imports). body is
-- the whole catalog as JSON: catalogs are read whole and rarely written.
CREATE TABLE catalogs (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    version    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    builtin    INTEGER NOT NULL DEFAULT 0,
    assessable INTEGER NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Assessments of an organization, service or system against a catalog.
CREATE TABLE assessments (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    catalog    TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope      TEXT NOT NULL,
    title      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX assessments_owner ON assessments (owner, catalog);

-- Every revision of every control result; the current result of a
-- control is its highest rev. The primary key makes two concurrent
-- changes from the same base revision collide: one wins, the other is
-- told of the conflict.
CREATE TABLE assessment_results (
    assessment_id TEXT NOT NULL,
    control       TEXT NOT NULL,
    rev           INTEGER NOT NULL,
    status        TEXT NOT NULL,
    current_tier  INTEGER NOT NULL,
    target_tier   INTEGER NOT NULL,
    notes         TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    assessor      TEXT NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (assessment_id, control, rev)
);

-- Baseline profiles published by an organization; body is JSON.
CREATE TABLE profiles (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Readiness index history; org '' is the whole city.
CREATE TABLE index_snapshots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org        TEXT NOT NULL,
    at         INTEGER NOT NULL,
    value      REAL NOT NULL,
    indicators TEXT NOT NULL
);
CREATE INDEX index_snapshots_org ON index_snapshots (org, at);

-- Remediation times are read from finding_events by the status reached.
CREATE INDEX finding_events_to ON finding_events (to_status, at);

-- +goose Down
DROP INDEX finding_events_to;
DROP TABLE index_snapshots;
DROP TABLE profiles;
DROP TABLE assessment_results;
DROP TABLE assessments;
DROP TABLE catalogs;
