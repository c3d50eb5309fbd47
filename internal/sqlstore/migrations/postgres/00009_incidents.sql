-- +goose Up
-- Incidents (docs/incidents.md). body holds the header as JSON; the
-- parties, affected entities, tasks, timeline and review are rows of their
-- own because each party sees only part of them. An incident is visible
-- only to its parties (incident_parties).
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    phase       TEXT NOT NULL,
    level       INTEGER NOT NULL,
    rev         INTEGER NOT NULL,
    detected_at BIGINT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX incidents_phase ON incidents (phase, level);

CREATE TABLE incident_parties (
    incident_id TEXT NOT NULL,
    org         TEXT NOT NULL,
    role        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (incident_id, org)
);
CREATE INDEX incident_parties_org ON incident_parties (org, incident_id);

CREATE TABLE incident_affected (
    incident_id TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    owner       TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (incident_id, entity_id)
);

CREATE TABLE incident_tasks (
    incident_id TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    org         TEXT NOT NULL,
    status      TEXT NOT NULL,
    rev         INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (incident_id, task_id)
);

-- The timeline and the review's revisions are append-only: triggers
-- refuse any change or removal.
CREATE TABLE incident_timeline (
    incident_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    org         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    audience    TEXT NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);

CREATE TABLE incident_reviews (
    incident_id TEXT NOT NULL,
    rev         INTEGER NOT NULL,
    shared      INTEGER NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (incident_id, rev)
);

-- +goose StatementBegin
CREATE FUNCTION incident_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER incident_timeline_append_only BEFORE UPDATE OR DELETE ON incident_timeline
    FOR EACH ROW EXECUTE FUNCTION incident_append_only();
CREATE TRIGGER incident_reviews_append_only BEFORE UPDATE OR DELETE ON incident_reviews
    FOR EACH ROW EXECUTE FUNCTION incident_append_only();

-- Each stage of a service's target clock escalates once, whichever
-- server instance sees it first.
CREATE TABLE incident_escalations (
    incident_id TEXT NOT NULL,
    service     TEXT NOT NULL,
    stage       TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (incident_id, service, stage)
);

-- Playbooks: every version kept; the bundled ones live in the binary.
CREATE TABLE playbooks (
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    threat     TEXT NOT NULL,
    title      TEXT NOT NULL,
    source     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);

-- Each organization's incident contacts with their on-call shifts.
CREATE TABLE incident_directories (
    org        TEXT PRIMARY KEY,
    rev        INTEGER NOT NULL,
    body       TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE incident_directories;
DROP TABLE playbooks;
DROP TABLE incident_escalations;
DROP TABLE incident_reviews;
DROP TABLE incident_timeline;
DROP TABLE incident_tasks;
DROP TABLE incident_affected;
DROP TABLE incident_parties;
DROP TABLE incidents;
DROP FUNCTION incident_append_only();
