package privilege

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// The property tests compare the compiled, indexed RBAC with rbacNaive: a
// straightforward reading of the rules over the raw roles (recursive walk
// of Inherits, regexp pattern matching) on random tenants.

var rbacPropertyTimes = []time.Time{
	rbacT0.Add(-2 * time.Hour), rbacT0, rbacT0.Add(30 * time.Minute), rbacT0.Add(time.Hour), rbacT0.Add(3 * time.Hour),
}

// rbacRandomTenant generates a valid tenant "t": up to 25 roles (a fifth
// of them platform roles) whose inheritance is a random DAG hidden behind
// shuffled names, random permissions over a small vocabulary so patterns
// overlap, and assignments to eight subjects with random, sometimes
// repeated, expiries.
func rbacRandomTenant(rng *rand.Rand) ([]Role, []Assignment, []string) {
	n := 1 + rng.IntN(25)
	names := make([]string, n)
	for i, j := range rng.Perm(n) {
		names[i] = fmt.Sprintf("r%d", j)
	}
	roles := make([]Role, n)
	for i := range roles {
		r := Role{Tenant: "t", Name: names[i]}
		if rng.IntN(5) == 0 {
			r.Tenant, r.Platform = "", true
		}
		for range rng.IntN(4) {
			if i == 0 {
				break
			}
			p := rng.IntN(i) // only earlier roles: a DAG
			if r.Platform && !roles[p].Platform || slices.Contains(r.Inherits, names[p]) {
				continue
			}
			r.Inherits = append(r.Inherits, names[p])
		}
		seen := map[Permission]bool{}
		for range rng.IntN(5) {
			p := Permission{Resource: rbacRandomPattern(rng), Action: rbacRandomActionPattern(rng)}
			switch rng.IntN(6) {
			case 0, 1:
				p.Effect = Deny
			case 2:
				p.Effect = Permit
			}
			key := Permission{p.Resource, p.Action, rbacEffect(p.Effect)}
			if !seen[key] {
				seen[key] = true
				r.Permissions = append(r.Permissions, p)
			}
		}
		roles[i] = r
	}
	rng.Shuffle(n, func(i, j int) { roles[i], roles[j] = roles[j], roles[i] })

	subjects := []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}
	expiries := []time.Time{{}, {}, rbacT0.Add(-time.Hour), rbacT0, rbacT0.Add(time.Hour), rbacT0.Add(2 * time.Hour)}
	var assignments []Assignment
	for _, s := range subjects {
		for range rng.IntN(5) {
			r := roles[rng.IntN(n)]
			a := Assignment{Tenant: "t", Subject: s, Role: r.Name, ExpiresAt: expiries[rng.IntN(len(expiries))]}
			if r.Platform && rng.IntN(2) == 0 {
				a.Tenant = ""
			}
			assignments = append(assignments, a)
		}
	}
	return roles, assignments, subjects
}

// rbacResourceNear returns, half the time, a resource that one of the
// roles' patterns matches (so checks find votes), else a random one.
func rbacResourceNear(rng *rand.Rand, roles []Role) string {
	r := roles[rng.IntN(len(roles))]
	if len(r.Permissions) == 0 || rng.IntN(2) == 0 {
		return rbacRandomResource(rng)
	}
	return rbacTestInstantiate(rng, r.Permissions[rng.IntN(len(r.Permissions))].Resource)
}

// rbacTestInstantiate returns a resource the pattern matches.
func rbacTestInstantiate(rng *rand.Rand, pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if s == "*" {
			segs[i] = rbacTestSegments[rng.IntN(len(rbacTestSegments))]
			if i == len(segs)-1 && rng.IntN(3) == 0 {
				segs[i] += "/ID-9"
			}
		}
	}
	return strings.Join(segs, "/")
}

func rbacEffectiveStrings(eps []EffectivePermission) []string {
	out := make([]string, 0, len(eps))
	for _, p := range eps {
		out = append(out, fmt.Sprintf("%s %s:%s via %s until %v", p.Effect, p.Resource, p.Action, strings.Join(p.RolePath, ">"), p.Until))
	}
	slices.Sort(out)
	return out
}

func TestRBACPropertyIndexedVotesEqualNaiveWalk(t *testing.T) {
	checks, nonEmpty := 0, 0
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 0xabac))
		roles, assignments, subjects := rbacRandomTenant(rng)
		r := mustCompileRBAC(t, "t", roles, assignments)
		naive := newRBACNaive(roles, assignments)
		for range 40 {
			subject := "ghost"
			if rng.IntN(10) > 0 {
				subject = subjects[rng.IntN(len(subjects))]
			}
			now := rbacPropertyTimes[rng.IntN(len(rbacPropertyTimes))]
			resource, action := rbacResourceNear(rng, roles), rbacRandomAction(rng)
			if eps := naive.effective(subject, now); len(eps) > 0 && rng.IntN(2) == 0 {
				// Aim at something the subject holds, so that votes are
				// found (and denies meet permits).
				e := eps[rng.IntN(len(eps))]
				resource = rbacTestInstantiate(rng, e.Resource)
				if e.Action != "*" {
					action = e.Action
				}
			}
			got := rbacVoteStrings(r.Votes(subject, resource, action, now))
			want := rbacVoteStrings(naive.votes(subject, resource, action, now))
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d: Votes(%s, %q, %q, %v)\n indexed %q\n naive   %q\nroles %+v\nassignments %+v",
					seed, subject, resource, action, now, got, want, roles, assignments)
			}
			checks++
			if len(got) > 0 {
				nonEmpty++
			}
		}
	}
	// The property is only as strong as the checks that find something.
	if checks < 10000 || nonEmpty < checks/5 {
		t.Fatalf("%d checks, %d with votes: the generator is too sparse", checks, nonEmpty)
	}
	t.Logf("%d random checks, %d with votes", checks, nonEmpty)
}

func TestRBACPropertyEffectivePermissionsAgreeWithBruteForceVotes(t *testing.T) {
	for seed := range uint64(150) {
		rng := rand.New(rand.NewPCG(seed, 0xe77))
		roles, assignments, subjects := rbacRandomTenant(rng)
		r := mustCompileRBAC(t, "t", roles, assignments)
		naive := newRBACNaive(roles, assignments)
		type pair struct{ resource, action string }
		pairs := make([]pair, 60)
		for i := range pairs {
			pairs[i] = pair{rbacResourceNear(rng, roles), rbacRandomAction(rng)}
		}
		for _, now := range rbacPropertyTimes {
			for _, s := range subjects {
				eps := r.EffectivePermissions(s, now)
				if got, want := rbacEffectiveStrings(eps), rbacEffectiveStrings(naive.effective(s, now)); !slices.Equal(got, want) {
					t.Fatalf("seed %d: EffectivePermissions(%s, %v)\n indexed %q\n naive   %q", seed, s, now, got, want)
				}
				// "What can s do", filtered by each pair, is what checking
				// each pair answers.
				for _, p := range pairs {
					var fromEffective []Vote
					for _, e := range eps {
						if naive.matchResource(e.Resource, p.resource) && rbacNaiveMatchAction(e.Action, p.action) {
							fromEffective = append(fromEffective, Vote{Effect: e.Effect, Source: "rbac", RolePath: e.RolePath, Permission: e.Resource + ":" + e.Action, Until: e.Until})
						}
					}
					got, want := rbacVoteStrings(r.Votes(s, p.resource, p.action, now)), rbacVoteStrings(fromEffective)
					if !slices.Equal(got, want) {
						t.Fatalf("seed %d: %s at %v on (%q, %q): Votes %q, effective permissions say %q", seed, s, now, p.resource, p.action, got, want)
					}
				}
			}
			// "Who can do this" is every subject whose votes permit
			// without a deny.
			for _, p := range pairs {
				var want []string
				for _, s := range subjects {
					permit, deny := false, false
					for _, v := range r.Votes(s, p.resource, p.action, now) {
						permit = permit || v.Effect == Permit
						deny = deny || v.Effect == Deny
					}
					if permit && !deny {
						want = append(want, s)
					}
				}
				if got := r.SubjectsWith(p.resource, p.action, now); !slices.Equal(got, want) {
					t.Fatalf("seed %d: SubjectsWith(%q, %q, %v) = %q, brute force %q", seed, p.resource, p.action, now, got, want)
				}
			}
		}
	}
}

// TestRBACPropertyCyclesAreRejectedExactly draws random inheritance graphs,
// cyclic or not, and checks that compilation fails exactly when a role
// reaches itself, naming a cycle whose every step is a real Inherits edge.
func TestRBACPropertyCyclesAreRejectedExactly(t *testing.T) {
	cyclic := 0
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 0xc1c1e))
		n := 1 + rng.IntN(8)
		roles := make([]Role, n)
		edges := map[[2]string]bool{}
		for i := range roles {
			roles[i] = Role{Tenant: "t", Name: fmt.Sprintf("r%d", i)}
			for _, j := range rng.Perm(n)[:rng.IntN(min(n, 3)+1)] {
				if rng.IntN(3) == 0 {
					roles[i].Inherits = append(roles[i].Inherits, fmt.Sprintf("r%d", j))
				}
			}
		}
		for _, r := range roles {
			for _, p := range r.Inherits {
				edges[[2]string{r.Name, p}] = true
			}
		}
		// A role is on a cycle iff it reaches itself.
		var reaches func(from, to string, seen map[string]bool) bool
		reaches = func(from, to string, seen map[string]bool) bool {
			for _, r := range roles {
				if r.Name != from {
					continue
				}
				for _, p := range r.Inherits {
					if p == to {
						return true
					}
					if !seen[p] {
						seen[p] = true
						if reaches(p, to, seen) {
							return true
						}
					}
				}
			}
			return false
		}
		hasCycle := false
		for _, r := range roles {
			hasCycle = hasCycle || reaches(r.Name, r.Name, map[string]bool{})
		}
		_, err := CompileRBAC("t", roles, nil)
		if (err != nil) != hasCycle {
			t.Fatalf("seed %d: cycle %v, but compile returned %v (%v)\nroles %+v", seed, hasCycle, err, apperr.DetailsOf(err), roles)
		}
		if !hasCycle {
			continue
		}
		cyclic++
		cycle, ok := strings.CutPrefix(err.Error(), "role inheritance has a cycle: ")
		steps := strings.Split(cycle, " -> ")
		if !ok || len(steps) < 2 || steps[0] != steps[len(steps)-1] {
			t.Fatalf("seed %d: message %q names no cycle", seed, err)
		}
		for i := 0; i+1 < len(steps); i++ {
			if !edges[[2]string{steps[i], steps[i+1]}] {
				t.Fatalf("seed %d: cycle %q: %s does not inherit %s", seed, cycle, steps[i], steps[i+1])
			}
		}
	}
	if cyclic < 100 || cyclic > 400 {
		t.Fatalf("%d of 500 graphs had cycles; want a mix", cyclic)
	}
}
