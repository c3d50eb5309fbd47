-- +goose Up
-- Organizations are the tenants. shares_with is kept both as the ordered
-- list the owner declared (JSON) and as rows of shares for the
-- visibility lookup "who shares with me".
CREATE TABLE organizations (
    ref      INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    purview  TEXT NOT NULL,
    contacts TEXT NOT NULL DEFAULT '[]',
    shares   TEXT NOT NULL DEFAULT '[]',
    hash     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE shares (
    grantor TEXT NOT NULL,
    grantee TEXT NOT NULL,
    PRIMARY KEY (grantee, grantor)
) WITHOUT ROWID;

-- Services, systems and assets share one table and one ID namespace. The
-- columns are those that listings filter on and the graph needs; attrs
-- holds the rest as JSON. hash is the content hash that makes re-imports
-- of unchanged entities free. An asset's link to its system (the edge
-- system -> asset) lives in sys_ref/sys_kind/sys_group rather than in
-- dependencies: a million assets then cost a million rows, not two million.
CREATE TABLE entities (
    ref        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    kind       INTEGER NOT NULL,
    owner      TEXT NOT NULL,
    name       TEXT NOT NULL,
    sector     TEXT NOT NULL DEFAULT '',
    population INTEGER NOT NULL DEFAULT 0,
    conf       INTEGER NOT NULL DEFAULT 0,
    integ      INTEGER NOT NULL DEFAULT 0,
    avail      INTEGER NOT NULL DEFAULT 0,
    zone       TEXT NOT NULL DEFAULT '',
    exposed    BOOLEAN NOT NULL DEFAULT FALSE,
    asset_kind TEXT NOT NULL DEFAULT '',
    vendor     TEXT NOT NULL DEFAULT '',
    product    TEXT NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    count      INTEGER NOT NULL DEFAULT 0,
    sys_ref    INTEGER,
    sys_kind   TEXT NOT NULL DEFAULT '',
    sys_group  TEXT NOT NULL DEFAULT '',
    attrs      TEXT NOT NULL DEFAULT '{}',
    hash       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX entities_kind_id ON entities (kind, id);
CREATE INDEX entities_sys_ref ON entities (sys_ref) WHERE sys_ref IS NOT NULL;

-- dependencies: src depends on dst. Rows belong to src's declaration and
-- are replaced whenever src changes.
CREATE TABLE dependencies (
    src  INTEGER NOT NULL,
    dst  INTEGER NOT NULL,
    kind TEXT NOT NULL,
    grp  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (src, dst)
) WITHOUT ROWID;
CREATE INDEX dependencies_dst ON dependencies (dst);

-- entity_groups: redundancy groups of an entity (owner is the entity's ref).
CREATE TABLE entity_groups (
    owner INTEGER NOT NULL,
    id    TEXT NOT NULL,
    need  INTEGER NOT NULL,
    PRIMARY KEY (owner, id)
) WITHOUT ROWID;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    org           TEXT NOT NULL REFERENCES organizations (id),
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_org ON users (org);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL DEFAULT 0,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- audit_log is append-only and hash-chained (see bulwark.AuditEntry).
-- at is Unix microseconds so that the hashed timestamp round-trips exactly.
CREATE TABLE audit_log (
    seq     INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    org     TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail  TEXT NOT NULL,
    prev    TEXT NOT NULL,
    hash    TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org, seq);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE tokens;
DROP TABLE users;
DROP TABLE entity_groups;
DROP TABLE dependencies;
DROP TABLE entities;
DROP TABLE shares;
DROP TABLE organizations;
