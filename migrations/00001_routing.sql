-- Routing configuration: tenants, services, versions, instances, bindings
-- and the revision log. There are no foreign keys: the application checks
-- integrity inside the same transaction that writes, which keeps this file
-- portable between SQLite and PostgreSQL. JSON lives in TEXT columns.

-- +goose Up
CREATE TABLE tenants (
    name         TEXT      NOT NULL PRIMARY KEY,
    display_name TEXT      NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE services (
    name            TEXT      NOT NULL PRIMARY KEY,
    description     TEXT      NOT NULL DEFAULT '',
    default_version TEXT      NOT NULL DEFAULT '',
    strategy        TEXT      NOT NULL,
    lease_seconds   INTEGER   NOT NULL,
    circuit         TEXT      NOT NULL DEFAULT '{}',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE versions (
    service     TEXT      NOT NULL,
    name        TEXT      NOT NULL,
    state       TEXT      NOT NULL,
    description TEXT      NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (service, name)
);

CREATE TABLE instances (
    service           TEXT      NOT NULL,
    id                TEXT      NOT NULL,
    version           TEXT      NOT NULL,
    address           TEXT      NOT NULL,
    weight            INTEGER   NOT NULL,
    metadata          TEXT      NOT NULL DEFAULT '{}',
    enabled           BOOLEAN   NOT NULL,
    draining          BOOLEAN   NOT NULL,
    source            TEXT      NOT NULL,
    heartbeat_seconds INTEGER   NOT NULL DEFAULT 0,
    last_heartbeat    TIMESTAMP NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (service, id)
);

CREATE INDEX instances_service_version ON instances (service, version);

CREATE TABLE bindings (
    tenant     TEXT      NOT NULL,
    service    TEXT      NOT NULL,
    mode       TEXT      NOT NULL,
    version    TEXT      NOT NULL DEFAULT '',
    baseline   TEXT      NOT NULL DEFAULT '',
    candidate  TEXT      NOT NULL DEFAULT '',
    percent_bp INTEGER   NOT NULL DEFAULT 0,
    sticky     TEXT      NOT NULL DEFAULT '',
    salt       TEXT      NOT NULL,
    rules      TEXT      NOT NULL DEFAULT '[]',
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant, service)
);

CREATE INDEX bindings_service ON bindings (service);

CREATE TABLE revisions (
    number      BIGINT    NOT NULL PRIMARY KEY,
    actor       TEXT      NOT NULL,
    at          TIMESTAMP NOT NULL,
    summary     TEXT      NOT NULL,
    changes     TEXT      NOT NULL DEFAULT '[]',
    rollback_of BIGINT    NULL
);

-- +goose Down
DROP TABLE revisions;
DROP TABLE bindings;
DROP TABLE instances;
DROP TABLE versions;
DROP TABLE services;
DROP TABLE tenants;
