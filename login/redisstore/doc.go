// Package redisstore keeps the login service's state in Redis:
//
//   - the failure limiter that throttles password guessing per account and
//     per client IP (a sliding window of failures kept by one atomic Lua
//     script per call, with a lockout that doubles on every repeat up to a
//     cap) and the Throttle built on it;
//   - Sessions, the login.SessionStore: session hashes and a per-user
//     index, with refresh token rotation and reuse detection, one Lua
//     script per operation on the user's hash slot;
//   - Feed, the login.RevocationFeed: a stream of revocation events
//     trimmed by age, plus a pub/sub notification per publish.
//
// Every key a script touches arrives in KEYS and the keys of one subject
// or user share a hash tag, so the scripts run unchanged on Redis Cluster.
// The one exception is documented in lua/session_create.lua and
// lua/session_list.lua: session keys named by the user's index are built
// from a key prefix that carries the user's hash tag. Errors are apperr
// codes: Redis failures are apperr.Unavailable and the caller decides
// whether to fail closed.
//
// It adapts go-redis for the login domain and must not import gin, gorm or
// other adapters.
package redisstore
