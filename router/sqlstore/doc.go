// Package sqlstore keeps the routing configuration in a SQL database through
// gorm: PostgreSQL in production, SQLite as the embedded default. It is the
// router.Store that every other routing component trusts as the source of
// truth; the schema lives in the top-level migrations package.
//
// Conventions shared by every table:
//   - Timestamps are stored in UTC at microsecond precision (PostgreSQL's),
//     so a value read back is Equal to the one written once that is
//     truncated to the microsecond.
//   - JSON columns (circuit, metadata, rules, changes) hold "{}" or "[]"
//     for empty values, and empty maps and slices read back as nil.
//   - Lists never fail with NotFound: a missing parent yields an empty,
//     non-nil slice.
//
// It must not import other adapters (router/redisstore, router/httpapi) nor
// gin, go-redis or nacos.
package sqlstore
