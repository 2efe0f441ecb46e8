package bench

import (
	"fmt"

	"github.com/greyrouter/greyrouter/privilege"
)

// newGreyrouter compiles the workload and returns the uncached decision.
// A multi-tenant workload compiles one RBAC per tenant (the platform's
// roles and assignments plus the tenant's, as the product will from a
// tenant's Snapshot), and each check looks its tenant's up first.
func newGreyrouter(w *workload) (func(i int) (bool, error), error) {
	if len(w.Tenants) == 0 {
		r, err := privilege.CompileRBAC(w.Tenant, w.Roles, w.Assignments)
		if err != nil {
			return nil, err
		}
		return func(i int) (bool, error) {
			c := &w.Checks[i]
			allowed, _ := privilege.Combine(privilege.DenyOverrides, r.Votes(c.Subject, c.Resource, c.Action, w.Now))
			return allowed, nil
		}, nil
	}
	byTenant := make(map[string]*privilege.RBAC, len(w.Tenants))
	for _, p := range w.PerTenant() {
		r, err := privilege.CompileRBAC(p.Tenant, p.Roles, p.Assignments)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", p.Tenant, err)
		}
		byTenant[p.Tenant] = r
	}
	return func(i int) (bool, error) {
		c := &w.Checks[i]
		r := byTenant[c.Tenant]
		if r == nil {
			return false, nil
		}
		allowed, _ := privilege.Combine(privilege.DenyOverrides, r.Votes(c.Subject, c.Resource, c.Action, w.Now))
		return allowed, nil
	}, nil
}
