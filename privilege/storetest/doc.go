// Package storetest is the contract every privilege.Store must meet,
// written once and run against each implementation (SQLite and PostgreSQL
// through privilege/sqlstore today): round trips of roles, assignments,
// policies and settings; versions that go up by exactly one per changing
// write; revisions with before and after; consistent snapshots; tenant
// isolation; and concurrent writers of one tenant getting consecutive
// versions. A store passes when Run passes; behaviour the suite does not
// pin down is not part of the contract.
//
// Records are compared as JSON, after timestamps are converted to UTC and
// truncated to the microsecond, the precision stores are allowed to keep.
//
// It imports only the privilege domain, internal/apperr and the standard
// library, never a concrete store.
package storetest
