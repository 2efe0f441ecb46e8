-- The rest of the login service's durable state: the tenant-administrator
-- flag on users, access-token signing keys, machine clients, the login
-- audit trail and revocation events. Sessions and refresh tokens live in
-- Redis; nothing here is needed to serve a request that Redis can answer,
-- but everything here must survive a Redis flush.
--
-- Portability between SQLite and PostgreSQL, as in 00001 and 00002: no
-- foreign keys, TEXT ids, NULL timestamps meaning "never". Key material is
-- BYTEA: PostgreSQL's binary type; SQLite accepts the name and stores the
-- bytes as a BLOB unchanged (its NUMERIC affinity converts text, never
-- blobs). Adding a NOT NULL column needs a default on SQLite, and dropping
-- it needs SQLite 3.35 or later (the bundled modernc build is newer).

-- +goose Up
ALTER TABLE users ADD COLUMN admin BOOLEAN NOT NULL DEFAULT FALSE;

-- Signing keys, few and global (not per tenant). seq numbers them in the
-- order they were added, 1 for the first: the newest key (highest seq) is
-- the one a rotation replaces, whatever the clocks of the replicas that
-- created them said. Its uniqueness also makes two rotations from the
-- same key collide. retires_at is NULL until the key has a successor.
CREATE TABLE signing_keys (
    id             TEXT      NOT NULL PRIMARY KEY,
    seq            BIGINT    NOT NULL,
    algorithm      TEXT      NOT NULL,
    public_key     BYTEA     NOT NULL,
    sealed_private BYTEA     NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    activates_at   TIMESTAMP NOT NULL,
    retires_at     TIMESTAMP NULL,
    CONSTRAINT signing_keys_seq UNIQUE (seq)
);

-- Machine clients; tenant is '' for platform clients. secret_hash is the
-- hex SHA-256 of the secret, never the secret.
CREATE TABLE clients (
    id          TEXT      NOT NULL PRIMARY KEY,
    tenant      TEXT      NOT NULL DEFAULT '',
    name        TEXT      NOT NULL,
    status      TEXT      NOT NULL,
    platform    BOOLEAN   NOT NULL,
    admin       BOOLEAN   NOT NULL DEFAULT FALSE,
    secret_hash TEXT      NOT NULL,
    generation  BIGINT    NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE INDEX clients_tenant ON clients (tenant, name);

-- The audit trail. The id is the event time as 19 zero-padded digits of
-- Unix nanoseconds followed by 16 random hex digits: it sorts by time in
-- any collation, so "newest first" and keyset pagination ("before id")
-- are one index range. Platform events have tenant ''.
CREATE TABLE login_audit (
    id         TEXT      NOT NULL PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    kind       TEXT      NOT NULL,
    reason     TEXT      NOT NULL DEFAULT '',
    tenant     TEXT      NOT NULL DEFAULT '',
    username   TEXT      NOT NULL DEFAULT '',
    user_id    TEXT      NOT NULL DEFAULT '',
    session_id TEXT      NOT NULL DEFAULT '',
    actor      TEXT      NOT NULL DEFAULT '',
    ip         TEXT      NOT NULL DEFAULT '',
    user_agent TEXT      NOT NULL DEFAULT ''
);

CREATE INDEX login_audit_tenant ON login_audit (tenant, id);
CREATE INDEX login_audit_tenant_user ON login_audit (tenant, user_id, id);

-- Revocation events, one row per (kind, subject): a later event for the
-- same subject is merged into it, keeping the higher generation and the
-- later expiry, which rejects everything both events rejected for as
-- long as either mattered. Rows past expires_at are pruned.
CREATE TABLE revocations (
    kind       TEXT      NOT NULL,
    subject    TEXT      NOT NULL,
    generation BIGINT    NOT NULL DEFAULT 0,
    tenant     TEXT      NOT NULL DEFAULT '',
    reason     TEXT      NOT NULL DEFAULT '',
    at         TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, subject)
);

CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- +goose Down
DROP TABLE revocations;
DROP TABLE login_audit;
DROP TABLE clients;
DROP TABLE signing_keys;
ALTER TABLE users DROP COLUMN admin;
