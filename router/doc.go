// Package router is the grey router's domain: tenants, services, versions,
// instances, bindings and revisions; the pure decision logic (sticky buckets,
// rule matching, smooth weighted round robin, rendezvous hashing) that every
// decider shares; and the Manager that applies validated changes through a
// Store and projects them for Deciders.
//
// It must not import gin, gorm, go-redis or nacos: adapters live in
// router/sqlstore, router/redisstore and router/httpapi.
package router
