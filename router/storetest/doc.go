// Package storetest is the contract every router.Store must meet, written
// once and run against each implementation (SQLite and PostgreSQL through
// router/sqlstore today). A store passes when Run passes; behaviour the
// suite does not pin down is not part of the contract.
//
// The suite is lenient where stores may legitimately differ: timestamps are
// compared after conversion to UTC and truncation to the microsecond, empty
// maps and slices equal nil, and JSON documents are compared by value.
//
// It imports only the router domain, internal/apperr and the standard
// library, never a concrete store.
package storetest
