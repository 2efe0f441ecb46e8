// Package workload generates the deterministic RBAC workloads the
// privilege benchmarks use, here and in the peer module (bench/, which
// compares against Casbin and OPA): the same spec and seed always give the
// same roles, assignments and checks, so every engine is fed identical
// input without copies of the generator.
package workload

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/privilege"
)

// Spec sizes a generated RBAC workload. The same spec and seed
// always give the same workload, so engines compared against each other
// (Casbin, OPA) can be fed identical roles, assignments and checks.
type Spec struct {
	Name   string
	Seed   uint64
	Tenant string
	Roles  int // tenant roles; three platform roles come on top
	Users  int
	Chain  int // > 0: a chain of this many roles, assigned to every user
	Checks int
}

// Specs are the sizes: small/medium/large and a
// 10-level role chain.
var Specs = []Spec{
	{Name: "small", Seed: 1, Tenant: "acme", Roles: 100, Users: 1_000, Checks: 4096},
	{Name: "medium", Seed: 2, Tenant: "acme", Roles: 1_000, Users: 10_000, Checks: 4096},
	{Name: "large", Seed: 3, Tenant: "acme", Roles: 10_000, Users: 100_000, Checks: 4096},
	{Name: "chain10", Seed: 4, Tenant: "acme", Roles: 100, Users: 1_000, Chain: 10, Checks: 4096},
}

// Workload is a generated tenant: roles, assignments, the time checks
// run at and the checks themselves. It marshals to JSON for other engines.
type Workload struct {
	Tenant      string                 `json:"tenant"`
	Now         time.Time              `json:"now"`
	Roles       []privilege.Role       `json:"roles"`
	Assignments []privilege.Assignment `json:"assignments"`
	Checks      []Check                `json:"checks"`
}

type Check struct {
	Subject  string `json:"subject"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

var actions = []string{"read", "write", "list", "delete", "approve", "export", "orders.refund", "share"}

// departmentSize groups roles: a role inherits only roles of its own
// department, as in real organisations, which keeps each role's reach
// (and so the compiled size) bounded while still forming deep DAGs.
const departmentSize = 20

// Generate builds a workload: roles in departments of 20, each
// inheriting up to two earlier roles of its department and owning 1-5
// permissions (10% denies, 10% "*" actions) on its department's resource
// types; users holding 1-3 roles (10% with an expiry, half of them already
// past); and checks, 60% built from a permission the user's roles hold
// (mostly hits) and 40% random (mostly misses).
func Generate(spec Spec) Workload {
	rng := rand.New(rand.NewPCG(spec.Seed, 0x5eed))
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	w := Workload{Tenant: spec.Tenant, Now: now}
	types := max(10, spec.Roles/10)
	typeName := func(k int) string { return fmt.Sprintf("svc%d/type%d", k%20, k) }
	action := func() string {
		if rng.IntN(10) == 0 {
			return "*"
		}
		return actions[rng.IntN(len(actions))]
	}
	resource := func(base string) string {
		switch p := rng.IntN(20); {
		case p < 10:
			return base + "/*"
		case p < 14:
			return base
		case p < 17:
			return base + "/*/items"
		default:
			return fmt.Sprintf("%s/id%d", base, rng.IntN(50))
		}
	}
	// Permissions on one department's types (a few types per department).
	perms := func(dept, n int) []privilege.Permission {
		ps := make([]privilege.Permission, 0, n)
		seen := map[privilege.Permission]bool{}
		for len(ps) < n {
			p := privilege.Permission{Resource: resource(typeName((dept*3 + rng.IntN(5)) % types)), Action: action()}
			if rng.IntN(10) == 0 {
				p.Effect = privilege.Deny
			}
			if !seen[privilege.Permission{Resource: p.Resource, Action: p.Action, Effect: effectOf(p.Effect)}] {
				seen[privilege.Permission{Resource: p.Resource, Action: p.Action, Effect: effectOf(p.Effect)}] = true
				ps = append(ps, p)
			}
		}
		return ps
	}

	w.Roles = append(w.Roles,
		privilege.Role{Name: "platform-auditor", Platform: true, Permissions: []privilege.Permission{{Resource: "*", Action: "read"}}},
		privilege.Role{Name: "platform-operator", Platform: true, Inherits: []string{"platform-auditor"},
			Permissions: []privilege.Permission{{Resource: "tenants/*", Action: "*"}, {Resource: "secrets/*", Action: "read", Effect: privilege.Deny}}},
		privilege.Role{Name: "platform-breakglass", Platform: true, Inherits: []string{"platform-operator"},
			Permissions: []privilege.Permission{{Resource: "*", Action: "*"}}},
	)
	roleName := func(i int) string { return fmt.Sprintf("d%d-r%d", i/departmentSize, i%departmentSize) }
	for i := range spec.Roles {
		dept, pos := i/departmentSize, i%departmentSize
		r := privilege.Role{Tenant: spec.Tenant, Name: roleName(i), Permissions: perms(dept, 1+rng.IntN(5))}
		for range rng.IntN(3) {
			if pos == 0 {
				break
			}
			parent := roleName(dept*departmentSize + rng.IntN(pos))
			if !slices.Contains(r.Inherits, parent) {
				r.Inherits = append(r.Inherits, parent)
			}
		}
		w.Roles = append(w.Roles, r)
	}
	for i := range spec.Chain {
		r := privilege.Role{Tenant: spec.Tenant, Name: fmt.Sprintf("chain-%d", i), Permissions: perms(1000+i, 2)}
		if i+1 < spec.Chain {
			r.Inherits = []string{fmt.Sprintf("chain-%d", i+1)}
		}
		w.Roles = append(w.Roles, r)
	}

	held := make([][]string, spec.Users)
	for u := range spec.Users {
		subject := fmt.Sprintf("user-%d", u)
		home := rng.IntN(max(1, spec.Roles/departmentSize))
		assign := func(tenant, role string) {
			a := privilege.Assignment{Tenant: tenant, Subject: subject, Role: role}
			if rng.IntN(10) == 0 {
				a.ExpiresAt = now.Add(time.Duration(rng.IntN(2)*2-1) * time.Hour) // past or future
			}
			w.Assignments = append(w.Assignments, a)
			held[u] = append(held[u], role)
		}
		for range 1 + rng.IntN(3) {
			i := home*departmentSize + rng.IntN(departmentSize)
			if rng.IntN(10) == 0 || i >= spec.Roles {
				i = rng.IntN(spec.Roles)
			}
			assign(spec.Tenant, roleName(i))
		}
		switch rng.IntN(100) {
		case 0:
			assign("", "platform-auditor")
		case 1:
			assign(spec.Tenant, "platform-operator")
		}
		if spec.Chain > 0 {
			assign(spec.Tenant, "chain-0")
		}
	}

	byName := make(map[string]*privilege.Role, len(w.Roles))
	for i := range w.Roles {
		byName[w.Roles[i].Name] = &w.Roles[i]
	}
	for range spec.Checks {
		u := rng.IntN(spec.Users)
		c := Check{Subject: fmt.Sprintf("user-%d", u)}
		if rng.IntN(10) < 6 {
			r := byName[held[u][rng.IntN(len(held[u]))]]
			if spec.Chain > 0 && rng.IntN(2) == 0 {
				r = byName[fmt.Sprintf("chain-%d", spec.Chain-1)] // the deepest path
			}
			for len(r.Inherits) > 0 && rng.IntN(2) == 0 {
				r = byName[r.Inherits[rng.IntN(len(r.Inherits))]]
			}
			p := r.Permissions[rng.IntN(len(r.Permissions))]
			c.Resource, c.Action = instantiate(rng, p.Resource), p.Action
		} else {
			c.Resource = fmt.Sprintf("%s/id%d", typeName(rng.IntN(types)), rng.IntN(50))
			c.Action = action()
		}
		if c.Action == "*" {
			c.Action = actions[rng.IntN(len(actions))]
		}
		w.Checks = append(w.Checks, c)
	}
	return w
}

// instantiate turns a resource pattern into a resource it matches.
func instantiate(rng *rand.Rand, pattern string) string {
	segs := strings.Split(pattern, "/")
	out := make([]string, 0, len(segs)+1)
	for i, s := range segs {
		switch {
		case s != "*":
			out = append(out, s)
		case i == len(segs)-1 && rng.IntN(3) == 0:
			out = append(out, fmt.Sprintf("id%d", rng.IntN(50)), "items")
		default:
			out = append(out, fmt.Sprintf("id%d", rng.IntN(50)))
		}
	}
	return strings.Join(out, "/")
}

// effectOf is a permission's effect with "" read as permit.
func effectOf(e privilege.Effect) privilege.Effect {
	if e == "" {
		return privilege.Permit
	}
	return e
}
