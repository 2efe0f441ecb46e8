// Package storetest is the contract every store of the login service must
// meet — users, signing keys, machine clients, the audit trail and
// revocation events (the Store interface) — written once and run against
// each implementation (SQLite and PostgreSQL through login/sqlstore
// today). A store passes when Run passes; behaviour the suite does not pin
// down is not part of the contract.
//
// Timestamps are compared after conversion to UTC and truncation to the
// microsecond, the precision stores are allowed to keep.
//
// It imports only the login domain, internal/apperr and the standard
// library, never a concrete store.
package storetest
