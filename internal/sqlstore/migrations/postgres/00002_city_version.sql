-- +goose Up
-- city_version counts committed changes to the city model (imports and
-- deletes bump it in their own transaction), so that readers can tell
-- whether a cached graph is still current.
CREATE TABLE city_version (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO city_version (id, version) VALUES (1, 0);

-- +goose Down
DROP TABLE city_version;
