-- The privilege service's policy sets, one per tenant: roles, role
-- assignments, ABAC policies and evaluation settings, plus each tenant's
-- policy version and its revision log. Platform roles and platform-wide
-- assignments live under tenant '' with their own version. Every table
-- leads its key with tenant, so every query of one tenant is an index
-- range and no query needs to see another tenant's rows.
--
-- Portability between SQLite and PostgreSQL, as in 00001-00003: no foreign
-- keys (privilege/sqlstore checks integrity in the writing transaction),
-- JSON in TEXT columns, NULL timestamps meaning "never". DOUBLE PRECISION
-- is PostgreSQL's float8 and has REAL affinity on SQLite. The tables are
-- prefixed, since 00001 already has versions and revisions.

-- +goose Up
-- Roles; document is the privilege.Role as JSON (inherits, permissions).
CREATE TABLE privilege_roles (
    tenant   TEXT NOT NULL,
    name     TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
);

-- Assignments; the key serves by-subject lookups ("what can X do"), the
-- index by-role ones ("who holds role R").
CREATE TABLE privilege_assignments (
    tenant     TEXT      NOT NULL,
    subject    TEXT      NOT NULL,
    role       TEXT      NOT NULL,
    expires_at TIMESTAMP NULL,
    PRIMARY KEY (tenant, subject, role)
);

CREATE INDEX privilege_assignments_role ON privilege_assignments (tenant, role, subject);

-- ABAC policies; document is the privilege.Policy as JSON.
CREATE TABLE privilege_policies (
    tenant   TEXT NOT NULL,
    id       TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Settings; a tenant without a row has the defaults (deny-overrides, fail
-- closed, no sampling). schema maps attribute paths to type names.
CREATE TABLE privilege_settings (
    tenant            TEXT             NOT NULL PRIMARY KEY,
    algorithm         TEXT             NOT NULL,
    fail_open         BOOLEAN          NOT NULL DEFAULT FALSE,
    audit_sample_rate DOUBLE PRECISION NOT NULL DEFAULT 0,
    schema            TEXT             NOT NULL DEFAULT '{}'
);

-- Each tenant's policy version, bumped by every write that changes its
-- set; no row means version 0.
CREATE TABLE privilege_versions (
    tenant  TEXT   NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL
);

-- The revision log: one row per version, changes a JSON array of
-- {kind, key, before, after}.
CREATE TABLE privilege_revisions (
    tenant  TEXT      NOT NULL,
    version BIGINT    NOT NULL,
    actor   TEXT      NOT NULL DEFAULT '',
    at      TIMESTAMP NOT NULL,
    summary TEXT      NOT NULL DEFAULT '',
    changes TEXT      NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant, version)
);

-- +goose Down
DROP TABLE privilege_revisions;
DROP TABLE privilege_versions;
DROP TABLE privilege_settings;
DROP TABLE privilege_policies;
DROP INDEX privilege_assignments_role;
DROP TABLE privilege_assignments;
DROP TABLE privilege_roles;
