-- +goose Up
-- The risk register. body is the current risk as JSON; rev counts its
-- revisions, each kept in risk_events as it was after the change.
CREATE TABLE risks (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    status     TEXT NOT NULL,
    score      INTEGER NOT NULL,
    rev        INTEGER NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX risks_owner ON risks (owner, status);

CREATE TABLE risk_events (
    risk_id TEXT NOT NULL,
    rev     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    note    TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (risk_id, rev)
);

-- +goose Down
DROP TABLE risk_events;
DROP TABLE risks;
