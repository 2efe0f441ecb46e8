package workload

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/privilege"
)

var actions = []string{"read", "write", "list", "delete", "approve", "export", "orders.refund", "share"}

// departmentSize groups roles: a role inherits only roles of its own
// department, as in real organisations, which keeps each role's reach
// (and so the compiled size) bounded while still forming deep DAGs.
const departmentSize = 20

// platformStaff is how many platform operators a multi-tenant workload
// has: subjects holding a platform role platform-wide (in every tenant).
const platformStaff = 10

var platformRoleNames = []string{"platform-auditor", "platform-operator", "platform-breakglass"}

// Generate builds a workload: roles in departments of 20, each
// inheriting up to two earlier roles of its department and owning 1-5
// permissions (10% denies, 10% "*" actions) on its department's resource
// types; users holding 1-3 roles (10% with an expiry, half of them already
// past); and checks, 60% built from a permission the user's roles hold
// (mostly hits) and 40% random (mostly misses).
//
// With Tenants > 1 every tenant gets its own roles, chain and users
// (named user-N@tenant, holding platform roles only within their tenant),
// the three platform roles are shared, and platformStaff operators hold
// one platform role platform-wide each (a breakglass grant, where held,
// with an expiry). Each check picks a tenant; 2% of them are asked by an
// operator, 3% by a user of another tenant with a request built from
// their own tenant's roles (which must be denied: tenants are isolated),
// the rest by the tenant's users.
func Generate(spec Spec) Workload {
	g := &generator{
		spec: spec,
		rng:  rand.New(rand.NewPCG(spec.Seed, 0x5eed)),
		now:  time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
	}
	g.types = max(10, spec.Roles/10)
	g.w = Workload{Tenant: spec.Tenant, Now: g.now}
	g.platformRoles()
	if spec.Tenants <= 1 {
		t := g.tenant(spec.Tenant, func(u int) string { return fmt.Sprintf("user-%d", u) }, "")
		t.index(g.w.Roles)
		for range spec.Checks {
			u := g.rng.IntN(spec.Users)
			g.w.Checks = append(g.w.Checks, g.check(t.subject(u), t.held[u], t.byName, t.deepest))
		}
		return g.w
	}

	tenants := make([]*tenantGen, spec.Tenants)
	for k := range tenants {
		name := fmt.Sprintf("t%04d", k)
		g.w.Tenants = append(g.w.Tenants, name)
		tenants[k] = g.tenant(name, func(u int) string { return fmt.Sprintf("user-%d@%s", u, name) }, name)
	}
	for _, t := range tenants {
		t.index(g.w.Roles)
	}
	staff := g.staff()
	for range spec.Checks {
		k := g.rng.IntN(len(tenants))
		t := tenants[k]
		var c Check
		switch p := g.rng.IntN(100); {
		case p < 2:
			j := g.rng.IntN(len(staff))
			c = g.check(fmt.Sprintf("staff-%d", j), staff[j], t.byName, "")
		case p < 5:
			home := tenants[(k+1+g.rng.IntN(len(tenants)-1))%len(tenants)]
			u := g.rng.IntN(spec.Users)
			c = g.check(home.subject(u), home.held[u], home.byName, home.deepest)
		default:
			u := g.rng.IntN(spec.Users)
			c = g.check(t.subject(u), t.held[u], t.byName, t.deepest)
		}
		c.Tenant = t.name
		g.w.Checks = append(g.w.Checks, c)
	}
	return g.w
}

// generator holds one Generate call's state. Every random choice comes
// from rng in a fixed order, so the same spec gives the same workload.
type generator struct {
	spec  Spec
	rng   *rand.Rand
	now   time.Time
	types int
	w     Workload
}

// tenantGen is one generated tenant: its roles (w.Roles[lo:hi]), the roles
// each user holds and, once indexed, its roles and the platform's by name.
type tenantGen struct {
	name    string
	subject func(u int) string
	lo, hi  int
	held    [][]string
	byName  map[string]*privilege.Role
	deepest string // the chain's last role, or ""
}

func (t *tenantGen) index(roles []privilege.Role) {
	t.byName = make(map[string]*privilege.Role, len(platformRoleNames)+t.hi-t.lo)
	for i := range roles[:len(platformRoleNames)] {
		t.byName[roles[i].Name] = &roles[i]
	}
	for i := t.lo; i < t.hi; i++ {
		t.byName[roles[i].Name] = &roles[i]
	}
}

func typeName(k int) string { return fmt.Sprintf("svc%d/type%d", k%20, k) }

func roleName(i int) string { return fmt.Sprintf("d%d-r%d", i/departmentSize, i%departmentSize) }

func (g *generator) action() string {
	if g.rng.IntN(10) == 0 {
		return "*"
	}
	return actions[g.rng.IntN(len(actions))]
}

func (g *generator) resource(base string) string {
	switch p := g.rng.IntN(20); {
	case p < 10:
		return base + "/*"
	case p < 14:
		return base
	case p < 17:
		return base + "/*/items"
	default:
		return fmt.Sprintf("%s/id%d", base, g.rng.IntN(50))
	}
}

// perms returns n distinct permissions on one department's types (a few
// types per department).
func (g *generator) perms(dept, n int) []privilege.Permission {
	ps := make([]privilege.Permission, 0, n)
	seen := map[privilege.Permission]bool{}
	for len(ps) < n {
		p := privilege.Permission{Resource: g.resource(typeName((dept*3 + g.rng.IntN(5)) % g.types)), Action: g.action()}
		if g.rng.IntN(10) == 0 {
			p.Effect = privilege.Deny
		}
		key := privilege.Permission{Resource: p.Resource, Action: p.Action, Effect: effectOf(p.Effect)}
		if !seen[key] {
			seen[key] = true
			ps = append(ps, p)
		}
	}
	return ps
}

func (g *generator) platformRoles() {
	g.w.Roles = append(g.w.Roles,
		privilege.Role{Name: platformRoleNames[0], Platform: true, Permissions: []privilege.Permission{{Resource: "*", Action: "read"}}},
		privilege.Role{Name: platformRoleNames[1], Platform: true, Inherits: []string{platformRoleNames[0]},
			Permissions: []privilege.Permission{{Resource: "tenants/*", Action: "*"}, {Resource: "secrets/*", Action: "read", Effect: privilege.Deny}}},
		privilege.Role{Name: platformRoleNames[2], Platform: true, Inherits: []string{platformRoleNames[1]},
			Permissions: []privilege.Permission{{Resource: "*", Action: "*"}}},
	)
}

// tenant generates one tenant's roles, chain and users. auditorScope is
// the tenant of the 1% of users' platform-auditor assignments: "" (platform-
// wide) in a single-tenant workload, the tenant itself in a multi-tenant
// one, where only platform staff hold platform roles platform-wide.
func (g *generator) tenant(name string, subject func(u int) string, auditorScope string) *tenantGen {
	spec, rng := g.spec, g.rng
	t := &tenantGen{name: name, subject: subject, lo: len(g.w.Roles)}
	for i := range spec.Roles {
		dept, pos := i/departmentSize, i%departmentSize
		r := privilege.Role{Tenant: name, Name: roleName(i), Permissions: g.perms(dept, 1+rng.IntN(5))}
		for range rng.IntN(3) {
			if pos == 0 {
				break
			}
			parent := roleName(dept*departmentSize + rng.IntN(pos))
			if !slices.Contains(r.Inherits, parent) {
				r.Inherits = append(r.Inherits, parent)
			}
		}
		g.w.Roles = append(g.w.Roles, r)
	}
	for i := range spec.Chain {
		r := privilege.Role{Tenant: name, Name: fmt.Sprintf("chain-%d", i), Permissions: g.perms(1000+i, 2)}
		if i+1 < spec.Chain {
			r.Inherits = []string{fmt.Sprintf("chain-%d", i+1)}
		}
		g.w.Roles = append(g.w.Roles, r)
	}
	t.hi = len(g.w.Roles)
	if spec.Chain > 0 {
		t.deepest = fmt.Sprintf("chain-%d", spec.Chain-1)
	}

	t.held = make([][]string, spec.Users)
	for u := range spec.Users {
		home := rng.IntN(max(1, spec.Roles/departmentSize))
		assign := func(tenant, role string) {
			a := privilege.Assignment{Tenant: tenant, Subject: subject(u), Role: role}
			if rng.IntN(10) == 0 {
				a.ExpiresAt = g.now.Add(time.Duration(rng.IntN(2)*2-1) * time.Hour) // past or future
			}
			g.w.Assignments = append(g.w.Assignments, a)
			t.held[u] = append(t.held[u], role)
		}
		for range 1 + rng.IntN(3) {
			i := home*departmentSize + rng.IntN(departmentSize)
			if rng.IntN(10) == 0 || i >= spec.Roles {
				i = rng.IntN(spec.Roles)
			}
			assign(name, roleName(i))
		}
		switch rng.IntN(100) {
		case 0:
			assign(auditorScope, platformRoleNames[0])
		case 1:
			assign(name, platformRoleNames[1])
		}
		if spec.Chain > 0 {
			assign(name, "chain-0")
		}
	}
	return t
}

// staff assigns the platform operators their platform-wide role, in turn
// auditor, operator, breakglass; breakglass grants expire, every other one
// already past. It returns the roles each holds.
func (g *generator) staff() [][]string {
	held := make([][]string, platformStaff)
	for j := range platformStaff {
		role := platformRoleNames[j%len(platformRoleNames)]
		a := privilege.Assignment{Subject: fmt.Sprintf("staff-%d", j), Role: role}
		if role == platformRoleNames[2] {
			a.ExpiresAt = g.now.Add(time.Duration(j/3%2*2-1) * time.Hour)
		}
		g.w.Assignments = append(g.w.Assignments, a)
		held[j] = []string{role}
	}
	return held
}

// check builds one check for subject, who holds the roles held (names in
// byName). 60% come from a permission of a held role or of a role it
// inherits (half of them, when deepest is set, from the end of the chain),
// 40% are random.
func (g *generator) check(subject string, held []string, byName map[string]*privilege.Role, deepest string) Check {
	rng := g.rng
	c := Check{Subject: subject}
	if rng.IntN(10) < 6 {
		r := byName[held[rng.IntN(len(held))]]
		if deepest != "" && rng.IntN(2) == 0 {
			r = byName[deepest] // the deepest path
		}
		for len(r.Inherits) > 0 && rng.IntN(2) == 0 {
			r = byName[r.Inherits[rng.IntN(len(r.Inherits))]]
		}
		p := r.Permissions[rng.IntN(len(r.Permissions))]
		c.Resource, c.Action = instantiate(rng, p.Resource), p.Action
	} else {
		c.Resource = fmt.Sprintf("%s/id%d", typeName(rng.IntN(g.types)), rng.IntN(50))
		c.Action = g.action()
	}
	if c.Action == "*" {
		c.Action = actions[rng.IntN(len(actions))]
	}
	return c
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
