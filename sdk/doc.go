// Package sdk is the Go SDK that calling services embed: the router
// client, auth middleware and privilege middleware, lanes and
// registration (see the SDK issue; what is still missing is listed in
// README.md, "The Go SDK"). Everything it does is also reachable through
// the HTTP API described in docs/openapi.yaml.
//
// sdk/registry registers a service's own instance (through the router's
// API or Nacos), keeps it alive, and drains and deregisters it on
// shutdown.
//
// sdk/auth is the authentication middleware for net/http and gin: it
// verifies access tokens in the service's process (greyrouter's JWKS,
// revocations followed on its Redis feed, a verified-token cache), puts
// the principal in the request context, and answers 401 (or 503 while
// the revocation state is stale) with greyrouter's JSON error.
//
// sdk/privilege is the privilege client and middleware: Check answers
// "may this subject do this action on this resource" from an in-process
// cache of the same kind as greyrouter's own (privilege/cache), kept
// current by greyrouter's Redis announcements (or a short TTL without
// Redis), else through the check API; RequirePermission and
// RequirePermissionFunc (net/http and gin) guard routes with the
// principal sdk/auth put in the context, answer 403 with the decision id,
// and fail closed when greyrouter is unreachable and nothing cached
// applies.
//
// sdk/router is the router client: Resolve(ctx, tenant, service, opts)
// decides a version and instance in-process from the routing snapshot the
// router publishes (GET /api/v1/routing-snapshot, long-polled; the last
// good snapshot keeps deciding through outages, optionally from a file
// across restarts, with its staleness reported), or remotely through the
// router's resolve API or one EVALSHA on the router's Redis. Local and
// remote decisions agree (a differential test checks it). Its Reporter
// sends outcomes (ok/error, latency, least-connections leases) in
// batches without blocking the caller, and Transport is an
// http.RoundTripper that resolves, sends to the chosen instance, reports,
// retries idempotent requests once on another instance when the
// connection fails, and carries the lane on.
//
// sdk/lane carries a request's release lane (tenant, lane, router
// revision, the versions chosen so far) across hops in one W3C baggage
// member. The router follows it: a request that entered v2 of one
// service goes to v2 of the next when that service has a usable v2, and
// otherwise fails (a strict binding) or decides as without a lane (a
// permissive one, the default); Transport sends on the lane each
// decision leaves the request in.
//
// examples/ holds a runnable demo (orders v1/v2, billing v1/v2, a
// caller) built from these packages, driven end to end by its tests.
//
// It imports domain types only: never the server's gin handlers or gorm.
package sdk
