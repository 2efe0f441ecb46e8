package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	defaultrolemanager "github.com/casbin/casbin/v2/rbac/default-role-manager"

	"github.com/greyrouter/greyrouter/privilege"
)

// casbinModel is RBAC with role inheritance through g, keyMatch2 for
// resources, "*" actions and explicit denies (deny overrides, default
// deny), i.e. greyrouter's RBAC semantics for one tenant.
//
// The matcher tests the cheap action comparison first, then role
// membership, then keyMatch2 (which compiles a regexp on every call):
// govaluate short-circuits &&, so this is the fastest order of the three
// conjuncts. Casbin's documented examples put g(...) first.
const casbinModel = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.act == "*" || p.act == r.act) && g(r.sub, p.sub) && keyMatch2(r.obj, p.obj)
`

// casbinResource turns a greyrouter resource pattern into a keyMatch2
// pattern with the same meaning for the generated workloads, and a
// request's resource into the key it is matched against. Both get a
// leading "/" (keyMatch2 only knows "/*", and a lone "*" would be an
// invalid regexp). A "*" that is not last becomes a ":pN" parameter
// (exactly one segment, [^/]+), as in greyrouter; a trailing "/*" stays,
// which keyMatch2 reads as "/.*": one or more segments for every
// well-formed request (it would also match an empty tail, "orders/",
// which greyrouter rejects as malformed; the workloads have none).
func casbinResource(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if s == "*" && i < len(segs)-1 {
			segs[i] = fmt.Sprintf(":p%d", i)
		}
	}
	return "/" + strings.Join(segs, "/")
}

func casbinRequestResource(resource string) string { return "/" + resource }

// casbinEngine is one CachedEnforcer holding the workload: Enforce through
// the embedded *Enforcer is the uncached check, Enforce on the
// CachedEnforcer the cached one.
type casbinEngine struct {
	e        *casbin.CachedEnforcer
	objects  []string // checks' resources in keyMatch2 form, by check index
	domains  []string // checks' tenants, by check index; nil without domains
	policies int
	links    int
	level    int
}

// casbinMaxDepth returns how many g links the longest path from a user to
// a role has: one assignment plus the deepest inheritance chain.
func casbinMaxDepth(roles []privilege.Role) int {
	inherits := map[string][]string{}
	for _, r := range roles {
		inherits[r.Name] = r.Inherits
	}
	memo := map[string]int{}
	var depth func(string) int
	depth = func(name string) int {
		if d, ok := memo[name]; ok {
			return d
		}
		d := 0
		for _, p := range inherits[name] {
			d = max(d, 1+depth(p))
		}
		memo[name] = d
		return d
	}
	most := 0
	for _, r := range roles {
		most = max(most, depth(r.Name))
	}
	return 1 + most
}

// newCasbin loads a single-tenant workload into a CachedEnforcer in
// batches and gives up once building has taken longer than limit (a
// multi-tenant one goes to newCasbinDomains). Assignments already
// expired at w.Now are left out and the others loaded without expiry:
// Casbin has no expiring role links, and the checks all run at w.Now.
func newCasbin(w *workload, limit time.Duration) (*casbinEngine, error) {
	if len(w.Tenants) > 0 {
		return newCasbinDomains(w, limit)
	}
	start := time.Now()
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewCachedEnforcer(m)
	if err != nil {
		return nil, err
	}
	e.EnableLog(false)
	// Casbin's default role manager stops after 10 links; the workloads'
	// department DAGs can be deeper, so allow the deepest path they have
	// (more levels cost nothing on shallower paths: the search ends when
	// it runs out of roles).
	level := max(10, casbinMaxDepth(w.Roles))
	e.SetRoleManager(defaultrolemanager.NewRoleManagerImpl(level))

	var policies, links [][]string
	for _, r := range w.Roles {
		for _, p := range r.Permissions {
			eft := "allow"
			if p.Effect == privilege.Deny {
				eft = "deny"
			}
			policies = append(policies, []string{r.Name, casbinResource(p.Resource), p.Action, eft})
		}
		for _, parent := range r.Inherits {
			links = append(links, []string{r.Name, parent})
		}
	}
	seen := map[[2]string]bool{}
	for _, a := range w.Assignments {
		if !a.ExpiresAt.IsZero() && !w.Now.Before(a.ExpiresAt) {
			continue
		}
		if k := [2]string{a.Subject, a.Role}; !seen[k] {
			seen[k] = true
			links = append(links, []string{a.Subject, a.Role})
		}
	}
	if err := casbinLoad(e, policies, links, start, limit); err != nil {
		return nil, err
	}
	objects := make([]string, len(w.Checks))
	for i, c := range w.Checks {
		objects[i] = casbinRequestResource(c.Resource)
	}
	return &casbinEngine{e: e, objects: objects, policies: len(policies), links: len(links), level: level}, nil
}

// casbinLoad adds policies and role links in batches of 1,000 and gives
// up once loading, counted from start, has taken longer than limit.
func casbinLoad(e *casbin.CachedEnforcer, policies, links [][]string, start time.Time, limit time.Duration) error {
	const batch = 1000
	for lo := 0; lo < len(policies); lo += batch {
		if _, err := e.AddPolicies(policies[lo:min(lo+batch, len(policies))]); err != nil {
			return err
		}
		if time.Since(start) > limit {
			return fmt.Errorf("%w: %d of %d policies loaded after %v", errSetupTooSlow, min(lo+batch, len(policies)), len(policies), time.Since(start).Round(time.Second))
		}
	}
	for lo := 0; lo < len(links); lo += batch {
		if _, err := e.AddGroupingPolicies(links[lo:min(lo+batch, len(links))]); err != nil {
			return err
		}
		if time.Since(start) > limit {
			return fmt.Errorf("%w: %d of %d role links loaded after %v", errSetupTooSlow, min(lo+batch, len(links)), len(links), time.Since(start).Round(time.Second))
		}
	}
	return nil
}

// enforce is the uncached check.
func (c *casbinEngine) enforce(i int, ch *check) (bool, error) {
	if c.domains != nil {
		return c.e.Enforcer.Enforce(ch.Subject, c.domains[i], c.objects[i], ch.Action)
	}
	return c.e.Enforcer.Enforce(ch.Subject, c.objects[i], ch.Action)
}

// cached goes through the CachedEnforcer's decision cache.
func (c *casbinEngine) cached(i int, ch *check) (bool, error) {
	if c.domains != nil {
		return c.e.Enforce(ch.Subject, c.domains[i], c.objects[i], ch.Action)
	}
	return c.e.Enforce(ch.Subject, c.objects[i], ch.Action)
}
