// Package redisstore keeps the routing table in Redis and makes decisions
// there with Lua scripts: one EVALSHA per decision, shared by every router
// replica. All keys of a service share the hash tag {service}, every key a
// script touches arrives in KEYS, and no script builds key names, so the
// scripts run unchanged on Redis Cluster.
//
// It implements router.Projector and router.Decider on any
// redis.UniversalClient. It must not import gin, gorm or other adapters.
package redisstore
