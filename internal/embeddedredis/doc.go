// Package embeddedredis runs an in-process, single-node Redis (miniredis) so
// that greyrouter can be tried without installing Redis: `greyrouter serve`
// uses it only when REDIS_URL is unset. It is for evaluation, never for
// production: data lives in memory, there is no cluster mode, and miniredis
// differs from Redis in places (see ENVIRONMENT.md).
//
// Only cmd/greyrouter should import this package; domain packages and
// adapters talk to Redis through a go-redis client and must not know whether
// the server behind it is embedded.
package embeddedredis
