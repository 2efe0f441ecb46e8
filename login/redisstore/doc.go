// Package redisstore keeps the login service's state in Redis. Its first
// piece is the failure limiter that throttles password guessing per account
// and per client IP: a sliding window of failures kept by one atomic Lua
// script per call, with a lockout that doubles on every repeat up to a cap.
//
// Every key a script touches arrives in KEYS and the keys of one subject
// share a hash tag, so the scripts run unchanged on Redis Cluster. Errors
// are apperr codes: Redis failures are apperr.Unavailable and the caller
// decides whether to fail closed.
//
// It adapts go-redis for the login domain and must not import gin, gorm or
// other adapters.
package redisstore
