// Package sqlstore keeps the login service's durable state in a SQL
// database through gorm: users, access-token signing keys, machine
// clients, the login audit trail and revocation events. PostgreSQL in
// production, SQLite as the embedded default. The schema lives in the
// top-level migrations package (00002_users.sql, 00003_login.sql).
//
// It follows router/sqlstore's conventions: rows are unexported gorm models
// converted to and from domain values; timestamps are stored in UTC at
// microsecond precision, and a zero time is stored as NULL and read back as
// zero; driver errors are translated (unique violation -> apperr.Conflict,
// missing row -> apperr.NotFound). Every per-tenant query filters by
// tenant, and a row of another tenant reads like a missing one.
//
// It must not import other adapters (login/redisstore, login/httpapi) nor
// gin, go-redis or nacos.
package sqlstore
