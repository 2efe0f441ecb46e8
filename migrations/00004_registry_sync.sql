-- The newest registry snapshot applied per service and source, so that a
-- router replica holding an older view of the registry (a push it has not
-- received yet) cannot undo what another replica applied: a snapshot whose
-- registry reference (Nacos lastRefTime) is older than the stored one is
-- skipped. Rows go with their service (router/sqlstore deletes them).

-- +goose Up
CREATE TABLE registry_sync (
    service    TEXT      NOT NULL,
    source     TEXT      NOT NULL,
    ref        BIGINT    NOT NULL,
    synced_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (service, source)
);

-- +goose Down
DROP TABLE registry_sync;
