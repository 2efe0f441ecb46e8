// Package auth is the authentication middleware a calling service puts in
// front of its handlers, for net/http and gin. It checks greyrouter access
// tokens in the service's own process, with no call to greyrouter on the
// request path: signatures against the published key set (fetched once,
// refreshed in the background and when a rotation brings an unknown key),
// revocations from greyrouter's Redis feed held in memory and kept current
// by its pub/sub notifications, and a cache of verified tokens, so that a
// repeated token costs a map lookup. The verified principal (tenant,
// subject, session, name, administrator flags) is put in the request
// context, where FromContext and FromGin find it.
//
// Redis is required: the revocation feed is the only way greyrouter tells
// other processes that a token was logged out, revoked or disabled, and
// greyrouter serves it nowhere else. Without a current feed, revoked
// tokens would pass until they expire. How long the feed may stay
// unreadable (Redis down) is Config.MaxStaleness; past it requests are
// refused with 503, or accepted when Config.AcceptWhenStale puts
// availability before prompt revocation.
//
// Failures have greyrouter's one JSON error shape,
// {"error":{"code":"unauthenticated","message":"access token expired"}},
// with 401 and a WWW-Authenticate challenge (RFC 6750), or 503 and
// Retry-After when the keys or the revocation state are unavailable.
// Nothing here logs a token or any part of one.
//
// It builds on login/verify and the login domain types, and reads the feed
// through login/redisstore; it must not import the server's HTTP handlers
// (login/httpapi, internal/httpx), its SQL stores or gorm.
package auth
