// Package service answers privilege checks for every tenant and applies
// policy writes, with three cache tiers and no stale answers after a
// write that the caller can name.
//
// Tiers, in the order a check tries them (Decision.Tier says which one
// answered):
//
//   - l1: an in-process decision cache (otter, W-TinyLFU, bounded),
//     keyed by tenant, subject, action, resource and both policy versions
//     (the tenant's and the platform's); entries expire after L1TTL or
//     just before the earliest role-assignment expiry the decision rests
//     on, whichever is sooner.
//   - engine: the tenant's policy set compiled in process (privilege.Engine)
//     at the newest version the replica knows; evaluating it costs a
//     microsecond and fills l1.
//   - l2: a decision cache in Redis shared by every replica, keyed like
//     l1; it serves replicas that have not compiled the tenant yet (they
//     compile in the background after an l2 hit).
//   - l3: the policy set loaded from the database (the source of truth)
//     and compiled for this check; the result becomes the tenant's engine.
//
// Decisions that evaluated an ABAC condition (Decision.Conditional) depend
// on attributes or the time and are never cached; explained checks bypass
// the caches.
//
// Freshness: every write bumps the tenant's version in the database in
// the same transaction and then announces it (a Redis hash raised only
// upwards, plus pub/sub). Replicas learn versions from announcements in
// milliseconds and from a poll of every version each PollInterval, which
// covers lost messages. Since cache keys carry versions, learning a
// version is all an invalidation takes. A write returns a Token; a check
// passing it is answered from that version or a later one, whatever the
// replica has heard, and never from anything older.
//
// The L1, the coarse clock and the version following (announcements,
// subscription, polls) live in privilege/cache, shared with the SDK's
// privilege client (sdk/privilege), which follows the same announcements
// from Redis alone; the service polls the database first and repairs the
// Redis versions hash where it lags.
//
// Failure: when the database is unreachable, a compiled set is still used
// while the versions were confirmed within MaxStaleness (tier "stale"
// when a newer version is known but cannot be loaded). When nothing
// applies, the check is denied (tier "fail-closed"), or allowed for
// tenants that opted in to fail open (tier "fail-open"); every such
// decision is audited.
package service
