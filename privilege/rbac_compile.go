package privilege

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// CompileRBAC validates a tenant's roles and assignments as a whole and
// compiles them for checking. roles holds the tenant's roles and the
// platform roles; assignments holds those made in tenant and the
// platform-wide ones (Tenant ""). tenant "" compiles platform roles alone.
//
// Every problem is reported at once in an Unprocessable error with one
// detail per offending field, keyed by role name ("roles.support.inherits[0]")
// or by position ("roles[3].name", "assignments[7].role"). An inheritance
// cycle is spelled out in the detail and in the message ("a -> b -> a").
//
// Compiling precomputes each role's effective permissions: its own and,
// breadth-first through Inherits in declared order, those of every role it
// reaches, each reached role once by its shortest path (ties go to the
// earlier-declared parent). So a diamond yields one vote per owning role,
// never one per path.
func CompileRBAC(tenant string, roles []Role, assignments []Assignment) (*RBAC, error) {
	c := &rbacCompiler{tenant: tenant, roles: roles, p: map[string]string{}}
	if tenant != "" && !ValidRoleName(tenant) {
		c.p["tenant"] = rbacNameRule
	}
	c.checkRoles()
	cycle := c.checkCycles()
	c.checkAssignments(assignments)
	if len(c.p) > 0 {
		msg := "invalid roles or assignments"
		if cycle != "" {
			msg = "role inheritance has a cycle: " + cycle
		}
		return nil, apperr.Fields(msg, c.p)
	}
	return c.build()
}

type rbacCompiler struct {
	tenant string
	roles  []Role
	p      map[string]string
	byName map[string]int32
	keys   []string  // problem key per role
	adj    [][]int32 // resolved Inherits, in declared order
	grants []rbacAssigned
}

type rbacAssigned struct {
	subject string
	role    int32
	until   time.Time
}

func (c *rbacCompiler) checkRoles() {
	c.byName = make(map[string]int32, len(c.roles))
	c.keys = make([]string, len(c.roles))
	for i, r := range c.roles {
		c.keys[i] = fmt.Sprintf("roles[%d]", i)
		if !ValidRoleName(r.Name) {
			continue
		}
		if j, dup := c.byName[r.Name]; dup {
			c.p[c.keys[i]+".name"] = fmt.Sprintf("role %q is already defined by roles[%d]", r.Name, j)
			continue
		}
		c.byName[r.Name] = int32(i)
		c.keys[i] = "roles." + r.Name
	}
	c.adj = make([][]int32, len(c.roles))
	for i, r := range c.roles {
		key := c.keys[i]
		r.check(c.p, key+".")
		if !r.Platform && r.Tenant != c.tenant && ValidRoleName(r.Tenant) {
			c.p[key+".tenant"] = fmt.Sprintf("role %q belongs to tenant %q, not %q", r.Name, r.Tenant, c.tenant)
		}
		for k, name := range r.Inherits {
			j, ok := c.byName[name]
			field := fmt.Sprintf("%s.inherits[%d]", key, k)
			switch {
			case !ok:
				if ValidRoleName(name) {
					c.p[field] = fmt.Sprintf("role %q inherits unknown role %q", r.Name, name)
				}
			case r.Platform && !c.roles[j].Platform:
				c.p[field] = fmt.Sprintf("platform role %q cannot inherit tenant role %q", r.Name, name)
			default:
				c.adj[i] = append(c.adj[i], j)
			}
		}
	}
}

// checkCycles reports every inheritance cycle a depth-first search meets
// and returns the first one, spelled "a -> b -> a".
func (c *rbacCompiler) checkCycles() string {
	const fresh, open, done = 0, 1, 2
	state := make([]uint8, len(c.roles))
	var stack []int32
	first := ""
	var visit func(v int32)
	visit = func(v int32) {
		state[v] = open
		stack = append(stack, v)
		for _, w := range c.adj[v] {
			switch state[w] {
			case fresh:
				visit(w)
			case open:
				at := slices.Index(stack, w)
				names := make([]string, 0, len(stack)-at+1)
				for _, u := range stack[at:] {
					names = append(names, c.roles[u].Name)
				}
				cycle := strings.Join(append(names, c.roles[w].Name), " -> ")
				c.addProblem(c.keys[w]+".inherits", "inheritance cycle "+cycle)
				if first == "" {
					first = cycle
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[v] = done
	}
	for i := range c.roles {
		if state[i] == fresh {
			visit(int32(i))
		}
	}
	return first
}

func (c *rbacCompiler) addProblem(key, msg string) {
	if old, ok := c.p[key]; ok {
		msg = old + "; " + msg
	}
	c.p[key] = msg
}

func (c *rbacCompiler) checkAssignments(assignments []Assignment) {
	c.grants = make([]rbacAssigned, 0, len(assignments))
	for i, a := range assignments {
		key := fmt.Sprintf("assignments[%d]", i)
		a.check(c.p, key+".")
		if a.Tenant != "" && a.Tenant != c.tenant && ValidRoleName(a.Tenant) {
			c.p[key+".tenant"] = fmt.Sprintf("assignment of role %q belongs to tenant %q, not %q", a.Role, a.Tenant, c.tenant)
		}
		j, ok := c.byName[a.Role]
		switch {
		case !ok:
			if ValidRoleName(a.Role) {
				c.p[key+".role"] = fmt.Sprintf("unknown role %q", a.Role)
			}
		case a.Tenant == "" && !c.roles[j].Platform:
			c.p[key+".role"] = fmt.Sprintf("role %q is a tenant role; only platform roles can be assigned platform-wide", a.Role)
		default:
			c.grants = append(c.grants, rbacAssigned{a.Subject, j, a.ExpiresAt})
		}
	}
}

// MaxEffectivePermissions bounds what a tenant's inheritance may expand
// to (effective permissions, and role-to-reached-role links), so that a
// deep, wide DAG cannot make compiling exhaust memory.
const MaxEffectivePermissions = 2_000_000

// build indexes validated roles and assignments.
func (c *rbacCompiler) build() (*RBAC, error) {
	n := len(c.roles)
	b := newPatBuilder()
	r := &RBAC{tenant: c.tenant, roles: make([]rbacRole, n)}

	ownLo := make([]int32, n+1)
	for i, role := range c.roles {
		ownLo[i] = int32(len(r.owned))
		for _, perm := range role.Permissions {
			r.owned = append(r.owned, rbacOwned{
				role:       int32(i),
				resource:   perm.Resource,
				action:     perm.Action,
				effect:     rbacEffect(perm.Effect),
				permission: perm.Resource + ":" + perm.Action,
			})
		}
	}
	ownLo[n] = int32(len(r.owned))
	r.ownedRoot = b.root()
	for k, o := range r.owned {
		b.add(r.ownedRoot, o.resource, o.action, int32(k))
	}

	// Breadth-first from every role: the reached roles, their paths and
	// so the role's effective permissions.
	seen := make([]int32, n) // holds i+1 once reached from role i
	parent := make([]int32, n)
	depth := make([]int32, n)
	pathOf := make([][]string, n)
	reachLo := make([]int32, n+1)
	var reach, queue []int32
	for i := range int32(n) {
		queue = append(queue[:0], i)
		seen[i], depth[i] = i+1, 0
		total := 1
		for q := 0; q < len(queue); q++ {
			v := queue[q]
			for _, w := range c.adj[v] {
				if seen[w] != i+1 {
					seen[w], parent[w], depth[w] = i+1, v, depth[v]+1
					queue = append(queue, w)
					total += int(depth[w]) + 1
				}
			}
		}
		role := &r.roles[i]
		role.root, role.effLo = b.root(), int32(len(r.eff))
		backing := make([]string, 0, total)
		for q, v := range queue {
			start := len(backing)
			if q > 0 {
				backing = append(backing, pathOf[parent[v]]...)
			}
			backing = append(backing, c.roles[v].Name)
			pathOf[v] = backing[start:len(backing):len(backing)]
			for k := ownLo[v]; k < ownLo[v+1]; k++ {
				b.add(role.root, r.owned[k].resource, r.owned[k].action, int32(len(r.eff)))
				r.eff = append(r.eff, rbacEffective{owned: k, path: pathOf[v]})
			}
		}
		role.effHi = int32(len(r.eff))
		reachLo[i] = int32(len(reach))
		reach = append(reach, queue...)
		if len(r.eff) > MaxEffectivePermissions || len(reach) > MaxEffectivePermissions {
			return nil, apperr.Fields("role inheritance expands too far", map[string]string{
				c.keys[i]: fmt.Sprintf("the roles up to this one already hold more than %d effective permissions or inheritance links; flatten the inheritance", MaxEffectivePermissions),
			})
		}
	}
	reachLo[n] = int32(len(reach))
	r.reachLo, r.reach = reachLo, reach
	r.names = make([]string, n)
	for i, role := range c.roles {
		r.names[i] = role.Name
	}
	r.inheritorLo, r.inheritors = rbacInvert(n, reachLo, reach)
	r.index = b.build()
	r.ownedRoot = b.at(r.ownedRoot)
	for i := range r.roles {
		r.roles[i].root = b.at(r.roles[i].root)
	}
	c.buildGrants(r)
	return r, nil
}

// rbacInvert turns "role i reaches roles to[lo[i]:lo[i+1]]" around into
// "role j is reached from roles from[flo[j]:flo[j+1]]".
func rbacInvert(n int, lo, to []int32) (flo, from []int32) {
	flo = make([]int32, n+1)
	for _, j := range to {
		flo[j+1]++
	}
	for j := range n {
		flo[j+1] += flo[j]
	}
	next := slices.Clone(flo[:n])
	from = make([]int32, len(to))
	for i := range n {
		for _, j := range to[lo[i]:lo[i+1]] {
			from[next[j]] = int32(i)
			next[j]++
		}
	}
	return flo, from
}

// buildGrants indexes assignments by subject and by role, merging repeated
// assignments of one role to one subject into the longest-lived.
func (c *rbacCompiler) buildGrants(r *RBAC) {
	gs := c.grants
	slices.SortFunc(gs, func(a, b rbacAssigned) int {
		return cmp.Or(strings.Compare(a.subject, b.subject), strings.Compare(c.roles[a.role].Name, c.roles[b.role].Name))
	})
	r.subjects = map[string]rbacSpan{}
	grantLo := []int32{}
	holderCount := make([]int32, len(c.roles)+1)
	for i, g := range gs {
		if i == 0 || g.subject != gs[i-1].subject {
			r.subjectNames = append(r.subjectNames, g.subject)
			grantLo = append(grantLo, int32(len(r.grants)))
		} else if last := &r.grants[len(r.grants)-1]; last.role == g.role {
			last.until = rbacLater(last.until, g.until)
			continue
		}
		r.grants = append(r.grants, rbacGrant{role: g.role, root: r.roles[g.role].root, until: g.until})
		holderCount[g.role+1]++
	}
	grantLo = append(grantLo, int32(len(r.grants)))
	for s, name := range r.subjectNames {
		r.subjects[name] = rbacSpan{grantLo[s], grantLo[s+1]}
	}

	for j := range len(c.roles) {
		holderCount[j+1] += holderCount[j]
	}
	r.holderLo = holderCount
	next := slices.Clone(holderCount[:len(c.roles)])
	r.holders = make([]rbacHolder, len(r.grants))
	for s := range r.subjectNames {
		for _, g := range r.grants[grantLo[s]:grantLo[s+1]] {
			r.holders[next[g.role]] = rbacHolder{subject: int32(s), until: g.until}
			next[g.role]++
		}
	}
}

// rbacLater returns the later of two expiries, the zero time (never)
// being the latest.
func rbacLater(a, b time.Time) time.Time {
	if a.IsZero() || b.IsZero() {
		return time.Time{}
	}
	if a.After(b) {
		return a
	}
	return b
}
