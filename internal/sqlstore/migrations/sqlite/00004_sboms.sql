-- +goose Up
-- One CycloneDX SBOM per asset (re-attaching replaces it). components and
-- not_affected are JSON; owner is the asset's organization.
CREATE TABLE asset_sboms (
    asset_id     TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    document     TEXT NOT NULL,
    serial       TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    hash         TEXT NOT NULL,
    attached_at  INTEGER NOT NULL,
    components   TEXT NOT NULL,
    not_affected TEXT NOT NULL
);
CREATE INDEX asset_sboms_owner ON asset_sboms (owner);

-- +goose Down
DROP TABLE asset_sboms;
