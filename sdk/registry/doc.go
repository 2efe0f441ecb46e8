// Package registry is what a calling service embeds to register its own
// instance with greyrouter, keep it registered while it runs, and leave
// without losing a request when it stops.
//
// Two backends sit behind one Registration: the router's own API
// (WithRouter), for services without Nacos, which registers the instance
// with a heartbeat TTL and keeps it alive; and Nacos (WithNacos), where the
// Nacos client's connection keeps an ephemeral instance alive and the
// router learns of it through its Nacos sync. Either way the shutdown is
// the same three steps: mark the instance draining (the router stops
// sending new decisions to it at once), wait while callers finish what was
// decided before, then deregister. Call Registration.Shutdown before the
// HTTP server's own Shutdown, so the server still answers the requests
// that arrive while the instance drains.
//
// Like the rest of the SDK it uses the router's domain types only: never
// gin, gorm, the server's HTTP handlers or its stores.
package registry
