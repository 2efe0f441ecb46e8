-- The privilege decision audit: one row per audited authorization
-- decision (every deny and fail-open, a sample of the allows), written in
-- batches off the request path and pruned by age.
--
-- Portability between SQLite and PostgreSQL, as in 00001-00006: no
-- foreign keys, TEXT ids, JSON in TEXT columns, NULL meaning "none".

-- +goose Up
-- The id is the decision time as 19 zero-padded digits of Unix
-- nanoseconds followed by 16 random hex digits (as in login_audit): it
-- sorts by time in any collation, so "newest first" and keyset paging
-- ("before id") are one index range. The key leads with tenant, so every
-- query of one tenant stays in its range. deciding is the deciding vote
-- as JSON, NULL for a default deny; the attribute columns are JSON
-- objects, '{}' when the request had none.
CREATE TABLE privilege_decisions (
    tenant              TEXT      NOT NULL,
    id                  TEXT      NOT NULL,
    at                  TIMESTAMP NOT NULL,
    subject             TEXT      NOT NULL DEFAULT '',
    action              TEXT      NOT NULL DEFAULT '',
    resource            TEXT      NOT NULL DEFAULT '',
    allowed             BOOLEAN   NOT NULL,
    fail_open           BOOLEAN   NOT NULL DEFAULT FALSE,
    reason              TEXT      NOT NULL DEFAULT '',
    tier                TEXT      NOT NULL DEFAULT '',
    policy_version      BIGINT    NOT NULL DEFAULT 0,
    deciding            TEXT      NULL,
    caller              TEXT      NOT NULL DEFAULT '',
    subject_attributes  TEXT      NOT NULL DEFAULT '{}',
    resource_attributes TEXT      NOT NULL DEFAULT '{}',
    env                 TEXT      NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant, id)
);

-- "What did this subject do", "who touched this resource", newest first;
-- the primary key serves the tenant's whole trail.
CREATE INDEX privilege_decisions_subject ON privilege_decisions (tenant, subject, id);
CREATE INDEX privilege_decisions_resource ON privilege_decisions (tenant, resource, id);

-- Retention deletes by age across tenants.
CREATE INDEX privilege_decisions_at ON privilege_decisions (at);

-- +goose Down
DROP INDEX privilege_decisions_at;
DROP INDEX privilege_decisions_resource;
DROP INDEX privilege_decisions_subject;
DROP TABLE privilege_decisions;
