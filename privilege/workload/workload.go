// Package workload generates the deterministic RBAC workloads the
// privilege benchmarks use, here and in the peer module (bench/, which
// compares against Casbin and OPA): the same spec and seed always give the
// same roles, assignments and checks, so every engine is fed identical
// input without copies of the generator.
package workload

import (
	"time"

	"github.com/greyrouter/greyrouter/privilege"
)

// Spec sizes a generated RBAC workload. The same spec and seed
// always give the same workload, so engines compared against each other
// (Casbin, OPA) can be fed identical roles, assignments and checks.
//
// With Tenants > 1 the workload holds that many tenants (t0000, t0001,
// ...), each with Roles, Users and Chain of its own; see Generate.
type Spec struct {
	Name    string
	Seed    uint64
	Tenant  string // the tenant of a single-tenant workload
	Tenants int    // > 1: that many tenants; Roles, Users and Chain are per tenant
	Roles   int    // tenant roles; three platform roles come on top
	Users   int
	Chain   int // > 0: a chain of this many roles, assigned to every user
	Checks  int
}

// Specs are the single-tenant sizes: small/medium/large and a
// 10-level role chain.
var Specs = []Spec{
	{Name: "small", Seed: 1, Tenant: "acme", Roles: 100, Users: 1_000, Checks: 4096},
	{Name: "medium", Seed: 2, Tenant: "acme", Roles: 1_000, Users: 10_000, Checks: 4096},
	{Name: "large", Seed: 3, Tenant: "acme", Roles: 10_000, Users: 100_000, Checks: 4096},
	{Name: "chain10", Seed: 4, Tenant: "acme", Roles: 100, Users: 1_000, Chain: 10, Checks: 4096},
}

// TenantSpecs are the multi-tenant sizes: 10, 100 and 1,000
// tenants with 10-level role chains. Each tenant is a small organisation:
// 10 roles plus the 10-role chain (20 roles) and 100 users, the order of
// size of a typical SaaS customer, so 1,000 tenants make 20,003 roles and
// 100,010 subjects in all, about the large single-tenant workload's users
// spread over tenants, and Casbin loads them in seconds. (Larger tenants
// would mostly slow the peers' load and Casbin's linear scan further, not
// change what is compared.) They are kept apart from Specs because a
// workload of several tenants compiles per tenant (PerTenant), not as one.
var TenantSpecs = []Spec{
	{Name: "tenants10", Seed: 5, Tenants: 10, Roles: 10, Users: 100, Chain: 10, Checks: 4096},
	{Name: "tenants100", Seed: 6, Tenants: 100, Roles: 10, Users: 100, Chain: 10, Checks: 4096},
	{Name: "tenants1000", Seed: 7, Tenants: 1_000, Roles: 10, Users: 100, Chain: 10, Checks: 4096},
}

// Workload is a generated policy set: roles, assignments, the time checks
// run at and the checks themselves. It marshals to JSON for other engines.
//
// A single-tenant workload names its tenant in Tenant, and its checks
// leave theirs empty. A multi-tenant one lists its tenants in Tenants;
// every role and assignment carries its tenant (or none: platform roles
// and platform-wide assignments), and every check the tenant it is asked
// in.
type Workload struct {
	Tenant      string                 `json:"tenant"`
	Tenants     []string               `json:"tenants,omitempty"`
	Now         time.Time              `json:"now"`
	Roles       []privilege.Role       `json:"roles"`
	Assignments []privilege.Assignment `json:"assignments"`
	Checks      []Check                `json:"checks"`
}

// Check is one request: may Subject do Action on Resource in Tenant?
type Check struct {
	Tenant   string `json:"tenant,omitempty"` // empty in a single-tenant workload: the workload's
	Subject  string `json:"subject"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

// TenantOf returns the tenant c is asked in.
func (w *Workload) TenantOf(c *Check) string {
	if c.Tenant == "" {
		return w.Tenant
	}
	return c.Tenant
}

// TenantPolicy is what one tenant compiles: the platform's roles and
// platform-wide assignments, then the tenant's own, as a store's
// privilege.Snapshot lists them.
type TenantPolicy struct {
	Tenant      string
	Roles       []privilege.Role
	Assignments []privilege.Assignment
}

// PerTenant splits the workload into what each of its tenants compiles,
// in the order of Tenants (a single-tenant workload gives one).
func (w *Workload) PerTenant() []TenantPolicy {
	names := w.Tenants
	if len(names) == 0 {
		names = []string{w.Tenant}
	}
	var platformRoles []privilege.Role
	var platformAssignments []privilege.Assignment
	roles := map[string][]privilege.Role{}
	assignments := map[string][]privilege.Assignment{}
	for _, r := range w.Roles {
		if r.Platform {
			platformRoles = append(platformRoles, r)
		} else {
			roles[r.Tenant] = append(roles[r.Tenant], r)
		}
	}
	for _, a := range w.Assignments {
		if a.Tenant == "" {
			platformAssignments = append(platformAssignments, a)
		} else {
			assignments[a.Tenant] = append(assignments[a.Tenant], a)
		}
	}
	out := make([]TenantPolicy, len(names))
	for i, t := range names {
		out[i] = TenantPolicy{
			Tenant:      t,
			Roles:       append(append([]privilege.Role(nil), platformRoles...), roles[t]...),
			Assignments: append(append([]privilege.Assignment(nil), platformAssignments...), assignments[t]...),
		}
	}
	return out
}
