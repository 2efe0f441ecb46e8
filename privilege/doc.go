// Package privilege is the authorization domain: RBAC with a role
// hierarchy and ABAC policies, combined per tenant into explained
// decisions (see the privilege issue).
//
// What is here (pure logic; storage, caching and HTTP live in the
// subpackages):
//   - model.go: requests, votes, combining algorithms;
//   - rbac*.go, match*.go: roles with inheritance (a DAG; cycles rejected
//     at compile time), permissions with wildcard patterns and explicit
//     denies, assignments with expiry, platform roles; compiled into
//     per-role tries so a check walks one path, not the policy set; "what
//     can this subject do", "who can do this", the roles a subject holds;
//   - abac*.go, condition*.go: JSON policy documents with targets, rules
//     and conditions over subject.*, resource.*, action and env.*
//     (comparisons, lists, CIDRs, time-of-day and weekday windows,
//     attribute-to-attribute), validated at publish against an attribute
//     schema (unknown paths and operators, type errors, unreachable rules,
//     same-priority permit/deny conflicts), compiled once, indexed by
//     action and first resource segment; a deny rule whose condition
//     fails to evaluate counts as matching; subject.roles comes from RBAC;
//   - combine.go, engine.go: deny-overrides (default), permit-overrides
//     and first-applicable; CompileSnapshot builds a tenant's Engine, whose
//     decisions name the deciding role path or policy rule, the policy
//     versions, the earliest assignment expiry they rest on, and whether a
//     condition made them depend on attributes (never cached then);
//   - store.go: the Store contract (per-tenant versions and revisions);
//     audit.go: the decision audit records; simulate.go: drafts evaluated
//     against requests or the audit (shadow evaluation); rollback.go:
//     one-step rollback of a revision.
//
// Subpackages: sqlstore (gorm, SQLite and PostgreSQL), storetest (the
// store contract suite), service (three cache tiers, invalidation,
// revision tokens, fail closed/open, audit), httpapi (the API), workload
// (deterministic benchmark workloads).
//
// Pure evaluation logic here must not import gin, gorm, go-redis or nacos.
package privilege
