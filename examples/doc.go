// Package examples holds a runnable demo of greyrouter and its Go SDK: two
// versions of an orders service and of a billing service (./orders,
// ./billing), which verify the caller's token, call each other through the
// SDK's routing Transport, register themselves and drain on SIGTERM, and a
// caller (./caller) that logs in and shows which versions served it.
// README.md says how to run it by hand; e2e_test.go runs it against the real
// greyrouter binary, Redis and SQLite.
//
// The example programs import the public SDK (sdk/...) only, through the
// shared wiring in internal/demo.
package examples
