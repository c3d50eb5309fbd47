-- +goose Up
-- Intel sharing: communities of organizations, their TAXII collections,
-- the STIX objects in them and TAXII status resources.
--
-- intel_state is one row. Every write of intel objects updates it first, so
-- writers are serialized (SQLite: one writer; PostgreSQL: the row lock) and
-- seq and date_added grow in commit order: a reader that has seen seq N has
-- seen everything below it. epoch changes when stored objects are removed,
-- access_epoch when communities or access change.
CREATE TABLE intel_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq     BIGINT NOT NULL,
    last_added   BIGINT NOT NULL,
    epoch        BIGINT NOT NULL,
    access_epoch BIGINT NOT NULL,
    secret       TEXT NOT NULL DEFAULT ''
);
INSERT INTO intel_state (id, last_seq, last_added, epoch, access_epoch) VALUES (1, 0, 0, 0, 0);

CREATE TABLE intel_communities (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE intel_members (
    community TEXT NOT NULL REFERENCES intel_communities (id),
    org       TEXT NOT NULL,
    owner     BOOLEAN NOT NULL,
    PRIMARY KEY (community, org)
);
CREATE INDEX intel_members_org ON intel_members (org);

CREATE TABLE intel_collections (
    id          TEXT PRIMARY KEY,
    community   TEXT NOT NULL REFERENCES intel_communities (id),
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    alias       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX intel_collections_alias ON intel_collections (alias) WHERE alias <> '';

CREATE TABLE intel_access (
    collection TEXT NOT NULL REFERENCES intel_collections (id),
    org        TEXT NOT NULL,
    can_read   BOOLEAN NOT NULL,
    can_write  BOOLEAN NOT NULL,
    PRIMARY KEY (collection, org)
);

-- intel_objects holds one row per version; the body lives in intel_bodies
-- so that scanning the index columns at start-up reads no bodies.
-- publisher is part of the object's identity: two organizations publishing
-- the same STIX id are two objects (only a creator may version its object).
CREATE TABLE intel_objects (
    seq            BIGINT PRIMARY KEY,
    collection     TEXT NOT NULL,
    stix_id        TEXT NOT NULL,
    publisher      TEXT NOT NULL,
    publisher_user BIGINT NOT NULL,
    type           TEXT NOT NULL,
    spec_version   TEXT NOT NULL,
    version        BIGINT NOT NULL,
    date_added     BIGINT NOT NULL,
    revoked        BOOLEAN NOT NULL,
    marking        TEXT NOT NULL,
    audience       TEXT NOT NULL,
    source         TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE UNIQUE INDEX intel_objects_version ON intel_objects (collection, stix_id, publisher, version);

CREATE TABLE intel_bodies (
    seq  BIGINT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE intel_status (
    id         TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    org        TEXT NOT NULL,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX intel_status_created ON intel_status (created_at);

-- +goose Down
DROP TABLE intel_status;
DROP TABLE intel_bodies;
DROP TABLE intel_objects;
DROP TABLE intel_access;
DROP TABLE intel_collections;
DROP TABLE intel_members;
DROP TABLE intel_communities;
DROP TABLE intel_state;
