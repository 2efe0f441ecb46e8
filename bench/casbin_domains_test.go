package bench

import (
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	defaultrolemanager "github.com/casbin/casbin/v2/rbac/default-role-manager"
	"github.com/casbin/casbin/v2/util"

	"github.com/greyrouter/greyrouter/privilege"
)

// casbinDomainModel is casbinModel with domains (Casbin's "RBAC with
// domains"): one domain per tenant, g links within a domain, and the
// platform in domain "*": platform roles' policies match every domain
// through the matcher, their role links and platform-wide assignments
// through the role manager's domain matching function (util.KeyMatch, so
// "*" links are copied into every tenant's role graph).
//
// The domain test comes first: it rules out all but one tenant's policy
// lines (and the platform's) with two string comparisons, the cheapest
// order for the 1,000-tenant workload. Casbin still evaluates the matcher
// once per policy line of every tenant: it has no index by domain.
const casbinDomainModel = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act, eft

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.dom == r.dom || p.dom == "*") && (p.act == "*" || p.act == r.act) && g(r.sub, p.sub, r.dom) && keyMatch2(r.obj, p.obj)
`

// casbinPlatformDomain is the domain of platform roles and platform-wide
// assignments.
const casbinPlatformDomain = "*"

// newCasbinDomains loads a multi-tenant workload into one CachedEnforcer
// with domains, as newCasbin loads a single tenant: expired assignments
// left out, the others without expiry.
func newCasbinDomains(w *workload, limit time.Duration) (*casbinEngine, error) {
	start := time.Now()
	m, err := model.NewModelFromString(casbinDomainModel)
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewCachedEnforcer(m)
	if err != nil {
		return nil, err
	}
	e.EnableLog(false)
	level := 10
	for _, p := range w.PerTenant() { // the platform's roles and one tenant's
		level = max(level, casbinMaxDepth(p.Roles))
	}
	rm := defaultrolemanager.NewRoleManager(level)
	rm.AddDomainMatchingFunc("keyMatch", util.KeyMatch)
	e.SetRoleManager(rm)

	domainOf := func(tenant string) string {
		if tenant == "" {
			return casbinPlatformDomain
		}
		return tenant
	}
	var policies, links [][]string
	for _, r := range w.Roles {
		dom := domainOf(r.Tenant)
		if r.Platform {
			dom = casbinPlatformDomain
		}
		for _, p := range r.Permissions {
			eft := "allow"
			if p.Effect == privilege.Deny {
				eft = "deny"
			}
			policies = append(policies, []string{r.Name, dom, casbinResource(p.Resource), p.Action, eft})
		}
		for _, parent := range r.Inherits {
			links = append(links, []string{r.Name, parent, dom})
		}
	}
	seen := map[[3]string]bool{}
	for _, a := range w.Assignments {
		if !a.ExpiresAt.IsZero() && !w.Now.Before(a.ExpiresAt) {
			continue
		}
		if k := [3]string{a.Subject, a.Role, domainOf(a.Tenant)}; !seen[k] {
			seen[k] = true
			links = append(links, []string{k[0], k[1], k[2]})
		}
	}
	if err := casbinLoad(e, policies, links, start, limit); err != nil {
		return nil, err
	}
	objects := make([]string, len(w.Checks))
	domains := make([]string, len(w.Checks))
	for i := range w.Checks {
		objects[i] = casbinRequestResource(w.Checks[i].Resource)
		domains[i] = w.TenantOf(&w.Checks[i])
	}
	return &casbinEngine{e: e, objects: objects, domains: domains, policies: len(policies), links: len(links), level: level}, nil
}
