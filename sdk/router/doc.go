// Package router is the router client that calling services embed: for a
// tenant's request to a service it decides which version serves it and at
// which instance, as the greyrouter router would.
//
// Three modes sit behind one Client and one Resolve:
//
//   - NewLocal decides in-process from a routing snapshot that the router
//     publishes (GET /api/v1/routing-snapshot): the whole table, labelled
//     with the configuration revision and an etag, long-polled for changes
//     and fetched again in full every ResyncInterval. A decision takes well
//     under a microsecond and never waits on the network. When the router
//     is unreachable the client keeps deciding from its last good snapshot
//     (optionally kept in SnapshotFile, so that a restart during an outage
//     still decides) and reports how stale it is (Staleness, and a
//     Prometheus gauge).
//   - NewHTTP asks the router's resolve API, one round trip per decision.
//   - NewRedis runs the router's decision script (one EVALSHA) on the
//     Redis the router projects into, for services that share it.
//
// Local decisions use the router's own pure functions (router.ChooseVersion
// for rules, pins and sticky splits, router.WRRSequence, router.HashScore)
// on the same table decide.lua reads, and a differential test checks that
// local and remote decisions agree on thousands of generated cases: the
// same version always (a split without a sticky key draws at random on
// both sides), and the same instance for consistent hashing. What lives
// only in Redis differs: round robin and weighted round robin counters are
// per process locally (the same cycle, walked from another position), so
// exact proportions across all callers need a remote mode; least
// connections, whose counts are in Redis, spreads by weight locally; and
// circuit state and heartbeats are those of the snapshot, not of this
// instant: the router rebuilds it within ~0.1-0.3 s of an instance or
// circuit change, and every second while clients wait on it (for lapsed
// heartbeats and ended cooldowns). Outcomes
// reported by local clients feed the router's circuits like anyone's: an
// ejected instance leaves the snapshot until its cooldown is over, and
// then the first outcome reported for it decides, as a probe's would
// (every local client may call it in that moment, where the router sends
// one probe).
//
// Instance carries what an outcome report needs later (Service, ID and,
// for remote least-connections decisions, Lease).
//
// Like the rest of the SDK it imports the router's domain types and its
// Redis decider only: never gin, gorm or the server's HTTP handlers.
package router
