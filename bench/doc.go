// Package bench compares greyrouter's privilege checks with peer engines
// (Casbin and OPA) on the same generated workloads, in the same run. It is
// a separate module so that the peers never become dependencies of the
// product; everything lives in its tests (see README.md).
package bench
