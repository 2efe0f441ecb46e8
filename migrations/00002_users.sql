-- Users of the login service: tenant users, unique by username within their
-- tenant, and platform administrators (platform true, tenant ''), unique by
-- username among themselves. Usernames are stored normalized (lower-case),
-- so the unique constraint is case-insensitive in effect. The constraint's
-- index leads with tenant, so it also serves every per-tenant lookup and
-- the username-ordered listing; no separate tenant index is needed. NULL
-- timestamps mean "never". No foreign keys, as in 00001.

-- +goose Up
CREATE TABLE users (
    id                  TEXT      NOT NULL PRIMARY KEY,
    tenant              TEXT      NOT NULL DEFAULT '',
    username            TEXT      NOT NULL,
    display_name        TEXT      NOT NULL DEFAULT '',
    email               TEXT      NOT NULL DEFAULT '',
    status              TEXT      NOT NULL,
    platform            BOOLEAN   NOT NULL,
    password_hash       TEXT      NOT NULL DEFAULT '',
    password_changed_at TIMESTAMP NULL,
    generation          BIGINT    NOT NULL DEFAULT 0,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    last_login_at       TIMESTAMP NULL,
    CONSTRAINT users_tenant_username UNIQUE (tenant, username)
);

-- +goose Down
DROP TABLE users;
