// Package sqlstore keeps login users in a SQL database through gorm:
// PostgreSQL in production, SQLite as the embedded default. The schema
// lives in the top-level migrations package (00002_users.sql).
//
// It follows router/sqlstore's conventions: rows are unexported gorm models
// converted to and from domain values; timestamps are stored in UTC at
// microsecond precision, and a zero time is stored as NULL and read back as
// zero; driver errors are translated (unique violation -> apperr.Conflict,
// missing row -> apperr.NotFound). Every query by name filters by tenant.
//
// It must not import other adapters (login/redisstore, login/httpapi) nor
// gin, go-redis or nacos.
package sqlstore
