// Package sqlstore is the gorm-backed privilege.Store, the source of truth
// of every tenant's policy set, on PostgreSQL or SQLite (the schema is
// migrations/00006_privilege.sql). Writes of one tenant are serialized
// (an advisory transaction lock keyed by the tenant on PostgreSQL, the
// single writer on SQLite), so versions are consecutive; snapshots are
// read in one repeatable-read transaction.
//
// It speaks privilege's domain terms and must not import gin, go-redis or
// another adapter.
package sqlstore
