// Package privilege is the authorization domain: RBAC with a role
// hierarchy and ABAC policies, combined per tenant into explained
// decisions (see the privilege issue).
//
// Built so far (pure logic, no storage or HTTP yet):
//   - model.go: requests, votes, combining algorithms;
//   - rbac*.go, match*.go: roles with inheritance (a DAG; cycles rejected
//     at compile time), permissions with wildcard patterns and explicit
//     denies, assignments with expiry; compiled into per-role tries so a
//     check walks one path, not the policy set; "what can this subject
//     do" and "who can do this";
//   - abac*.go, condition*.go: JSON policy documents with targets, rules
//     and conditions over subject.*, resource.*, action and env.*
//     (comparisons, lists, CIDRs, time-of-day and weekday windows,
//     attribute-to-attribute), validated at publish against an attribute
//     schema (unknown paths and operators, type errors, unreachable rules,
//     same-priority permit/deny conflicts), compiled once, indexed by
//     action and first resource segment; a deny rule whose condition
//     fails to evaluate counts as matching;
//   - combine.go, engine.go: deny-overrides (default), permit-overrides
//     and first-applicable; the Engine of one tenant and policy version
//     answers with the deciding role path or policy rule, and the earliest
//     assignment expiry the answer rests on.
//
// Still to build: the stores (gorm, migrations), the three-tier cache with
// policy versions and revision tokens, invalidation events, the decision
// audit, the HTTP API (check, batch, effective permissions, who-can,
// simulator, CRUD with history and rollback), tenant-admin isolation, and
// the benchmarks against Casbin and OPA.
//
// Pure evaluation logic here must not import gin, gorm, go-redis or nacos.
package privilege
