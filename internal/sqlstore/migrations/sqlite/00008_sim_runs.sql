-- +goose Up
-- Resilience simulations run as background jobs. A run belongs to the
-- organization that submitted it; job_id is the job working it now and
-- heartbeat_at the last sign of life of that job; result is the outcome
-- as JSON once done.
CREATE TABLE sim_runs (
    id           TEXT PRIMARY KEY,
    org          TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    scenario     TEXT NOT NULL,
    options      TEXT NOT NULL,
    trials       INTEGER NOT NULL,
    seed         INTEGER NOT NULL,
    crews        INTEGER NOT NULL,
    status       TEXT NOT NULL,
    done         INTEGER NOT NULL,
    total        INTEGER NOT NULL,
    error        TEXT NOT NULL,
    job_id       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    result       TEXT NOT NULL
);
CREATE INDEX sim_runs_org ON sim_runs (org, created_at, id);
CREATE INDEX sim_runs_status ON sim_runs (status);

-- +goose Down
DROP TABLE sim_runs;
