// Package cache is the privilege decision cache that both the privilege
// service and the SDK's privilege client (sdk/privilege) run in process,
// so that a decision cached by either is found, keyed and expired the
// same way, and both follow policy changes through the same protocol.
//
//   - L1 holds decisions (otter, W-TinyLFU, bounded) keyed by tenant,
//     subject, action, resource and both policy versions (the tenant's and
//     the platform's). A write makes every older entry of its tenant
//     unreachable at once because lookups use the newest versions known;
//     nothing is deleted. Entries stop being served at a deadline: the TTL,
//     or just before the earliest role-assignment expiry the decision
//     rests on (Decision.ValidUntil), whichever is sooner. Conditional
//     decisions (they depend on attributes or the time) are never cached.
//   - CoarseClock is the cheap clock deadlines are checked against.
//   - Versions knows the newest policy version of every tenant and of the
//     platform. A writer announces a version with Announce: one script
//     raises the tenant's field of the Redis hash <prefix>versions
//     ("-" for the platform) and PUBLISHes "<version> <tenant>" on
//     <prefix>changes. Versions subscribes to the channel (milliseconds)
//     and polls every PollInterval (the hash by default; the service
//     polls its database first), which covers lost messages; Staleness
//     says how long ago a poll last confirmed the versions.
//
// It imports the privilege domain, otter and go-redis; never gin, gorm or
// the service.
package cache
