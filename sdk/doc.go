// Package sdk will be the Go SDK that calling services embed: router
// client, auth middleware and privilege middleware (see the SDK issue).
// Until they exist services call the HTTP API described in
// docs/openapi.yaml.
//
// Implemented so far: sdk/registry, which registers a service's own
// instance (through the router's API or Nacos), keeps it alive, and drains
// and deregisters it on shutdown.
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
// remote decisions agree (a differential test checks it).
//
// It imports domain types only: never the server's gin handlers or gorm.
package sdk
