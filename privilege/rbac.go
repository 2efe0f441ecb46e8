package privilege

import (
	"slices"
	"time"
)

// Role is a named set of permissions in one tenant. Inherits names roles
// whose permissions (transitively) this role also has; inheritance must
// form a DAG. A Platform role is platform-wide (Tenant ""): it can be
// assigned in every tenant and may inherit only platform roles, while a
// tenant role may inherit both. Role names are unique across a tenant's
// roles and the platform roles, so a tenant cannot shadow an operator role.
type Role struct {
	Tenant      string       `json:"tenant"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Inherits    []string     `json:"inherits,omitempty"`
	Permissions []Permission `json:"permissions,omitempty"`
	Platform    bool         `json:"platform,omitempty"`
}

// Permission allows (or, with Effect Deny, explicitly forbids) an action
// pattern on a resource pattern; see MatchResource for the patterns. An
// empty Effect means Permit.
type Permission struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Effect   Effect `json:"effect,omitempty"`
}

// Assignment gives Subject a role in Tenant until ExpiresAt (the zero time
// means never). Tenant "" assigns a platform role in every tenant.
type Assignment struct {
	Tenant    string    `json:"tenant"`
	Subject   string    `json:"subject"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// EffectivePermission is one permission a subject holds through one of its
// roles: RolePath runs from the assigned role to the role that owns the
// permission, and Until is the assignment's expiry (zero: none).
type EffectivePermission struct {
	Resource string    `json:"resource"`
	Action   string    `json:"action"`
	Effect   Effect    `json:"effect"`
	RolePath []string  `json:"role_path"`
	Until    time.Time `json:"until,omitzero"`
}

// rbacSource is Vote.Source for RBAC votes.
const rbacSource = "rbac"

// RBAC is one tenant's roles and assignments compiled for checking: every
// role's effective permissions sit in a trie, so a check costs a map lookup
// for the subject plus one walk per assigned role along the resource's
// segments, whatever the number of roles, permissions or users. It is
// immutable and safe for concurrent use; slices it returns share its
// RolePath slices, which callers must not modify.
type RBAC struct {
	tenant string
	index  *patIndex
	roles  []rbacRole
	owned  []rbacOwned     // every role's own permissions, role by role
	eff    []rbacEffective // every role's effective permissions, role by role
	// ownedRoot indexes owned (for SubjectsWith); each role's root
	// indexes its effective permissions (for Votes).
	ownedRoot int32

	subjects     map[string]rbacSpan // subject -> its grants
	subjectNames []string            // sorted; holders refer to them by index
	grants       []rbacGrant         // sorted by role name within a subject

	holderLo    []int32 // role r is held by holders[holderLo[r]:holderLo[r+1]]
	holders     []rbacHolder
	inheritorLo []int32 // role r is reached from inheritors[inheritorLo[r]:inheritorLo[r+1]]
	inheritors  []int32 // (r itself included)
	reachLo     []int32 // role r reaches reach[reachLo[r]:reachLo[r+1]] (r itself first)
	reach       []int32
	names       []string // role names by index
}

type rbacRole struct {
	root         int32 // trie of the role's effective permissions
	effLo, effHi int32
}

type rbacOwned struct {
	role             int32
	resource, action string
	effect           Effect
	permission       string // "resource:action"
}

type rbacEffective struct {
	owned int32
	path  []string
}

// rbacSpan locates a subject's grants; it is the subjects map's value so
// that a check reaches them without another lookup.
type rbacSpan struct{ lo, hi int32 }

// rbacGrant is one assignment of a role to a subject; it carries the
// role's trie root so a check does not visit the roles array.
type rbacGrant struct {
	role, root int32
	until      time.Time
}

type rbacHolder struct {
	subject int32
	until   time.Time
}

// rbacExpired reports whether an assignment expiring at until no longer
// holds at now; it expires at the instant itself.
func rbacExpired(until, now time.Time) bool {
	return !until.IsZero() && !now.Before(until)
}

// Tenant returns the tenant the RBAC was compiled for.
func (r *RBAC) Tenant() string { return r.tenant }

// Votes returns one vote for every permission that applies to subject
// doing action on resource at now, through every assignment that has not
// expired: permits and explicit denies alike, each with its role path and
// the assignment's expiry as Until, Source "rbac" and Priority 0. Votes
// are grouped by assigned role (in role-name order); within a role their
// order is fixed but otherwise unspecified. Nothing applies (nil) to
// unknown subjects and malformed requests. A check allocates nothing when
// nothing matches and once (the result) when something does.
func (r *RBAC) Votes(subject, resource, action string, now time.Time) []Vote {
	span, ok := r.subjects[subject]
	if !ok {
		return nil
	}
	var q patQuery
	if !r.index.prepare(resource, action, &q) {
		return nil
	}
	// Collect the matches first (on the stack) so the result is one
	// allocation of the right size.
	var hitBuf, grantBuf [32]int32
	hits, from := hitBuf[:0], grantBuf[:0]
	for k := span.lo; k < span.hi; k++ {
		g := &r.grants[k]
		if rbacExpired(g.until, now) {
			continue
		}
		n := len(hits)
		hits = r.index.match(g.root, &q, hits)
		for range len(hits) - n {
			from = append(from, k)
		}
	}
	if len(hits) == 0 {
		return nil
	}
	votes := make([]Vote, len(hits))
	for i, h := range hits {
		e := &r.eff[h]
		o := &r.owned[e.owned]
		votes[i] = Vote{
			Effect:     o.effect,
			Source:     rbacSource,
			RolePath:   e.path,
			Permission: o.permission,
			Until:      r.grants[from[i]].until,
		}
	}
	return votes
}

// RolesOf returns the roles subject holds at now: those assigned to it
// by an unexpired assignment and every role they inherit, sorted and
// without repeats; nil for unknown subjects. It is subject.roles for ABAC
// conditions.
func (r *RBAC) RolesOf(subject string, now time.Time) []string {
	span, ok := r.subjects[subject]
	if !ok {
		return nil
	}
	var out []string
	for _, g := range r.grants[span.lo:span.hi] {
		if rbacExpired(g.until, now) {
			continue
		}
		for _, v := range r.reach[r.reachLo[g.role]:r.reachLo[g.role+1]] {
			out = append(out, r.names[v])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// EffectivePermissions answers "what can this subject do": every permission
// (permits and denies) it holds at now through an unexpired assignment,
// with the path from the assigned role to the owning role. A permission
// reachable through several roles is listed once per path's owner role and
// assignment, exactly as Votes would report it. The order is by assigned
// role name, then breadth-first through inheritance.
func (r *RBAC) EffectivePermissions(subject string, now time.Time) []EffectivePermission {
	span, ok := r.subjects[subject]
	if !ok {
		return nil
	}
	var out []EffectivePermission
	for _, g := range r.grants[span.lo:span.hi] {
		if rbacExpired(g.until, now) {
			continue
		}
		role := &r.roles[g.role]
		for _, e := range r.eff[role.effLo:role.effHi] {
			o := &r.owned[e.owned]
			out = append(out, EffectivePermission{
				Resource: o.resource,
				Action:   o.action,
				Effect:   o.effect,
				RolePath: e.path,
				Until:    g.until,
			})
		}
	}
	return out
}

// SubjectsWith answers "who can do this": the subjects that, at now, would
// be allowed action on the concrete resource by RBAC alone under
// deny-overrides, i.e. whose Votes for exactly that resource and action
// hold at least one permit and no deny. resource and action are a request,
// not patterns: asking for "orders/1" finds holders of "orders/*" and "*"
// too, while asking for a literal "orders/*" is malformed and finds no
// one. ABAC policies are not consulted. The result is sorted.
func (r *RBAC) SubjectsWith(resource, action string, now time.Time) []string {
	var q patQuery
	if !r.index.prepare(resource, action, &q) {
		return nil
	}
	hits := r.index.match(r.ownedRoot, &q, nil)
	if len(hits) == 0 {
		return nil
	}
	const permit, deny = 1, 2
	roleVotes := make([]uint8, len(r.roles))
	for _, h := range hits {
		o := &r.owned[h]
		bit := uint8(permit)
		if o.effect == Deny {
			bit = deny
		}
		for _, a := range r.inheritors[r.inheritorLo[o.role]:r.inheritorLo[o.role+1]] {
			roleVotes[a] |= bit
		}
	}
	subjectVotes := map[int32]uint8{}
	for role, bits := range roleVotes {
		if bits == 0 {
			continue
		}
		for _, h := range r.holders[r.holderLo[role]:r.holderLo[role+1]] {
			if !rbacExpired(h.until, now) {
				subjectVotes[h.subject] |= bits
			}
		}
	}
	var allowed []int32
	for s, bits := range subjectVotes {
		if bits == permit {
			allowed = append(allowed, s)
		}
	}
	if len(allowed) == 0 {
		return nil
	}
	slices.Sort(allowed) // subject indexes follow name order
	out := make([]string, len(allowed))
	for i, s := range allowed {
		out[i] = r.subjectNames[s]
	}
	return out
}
