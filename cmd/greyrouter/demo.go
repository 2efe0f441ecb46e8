package main

import (
	"context"
	"fmt"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

// seedDemo creates a small, realistic data set: three tenants, two services
// with two versions each, two instances per version, and bindings showing a
// pin, a 20 % sticky canary and a header rule. It does nothing if the demo
// data is already there.
func seedDemo(ctx context.Context, m *router.Manager) error {
	const actor = "demo-seed"
	if _, err := m.Store().GetTenant(ctx, "acme"); err == nil {
		return nil
	}
	for _, t := range []router.Tenant{{Name: "acme", DisplayName: "Acme Corp"}, {Name: "globex", DisplayName: "Globex"}, {Name: "initech", DisplayName: "Initech"}} {
		if _, _, err := m.CreateTenant(ctx, actor, t); err != nil && !apperr.Is(err, apperr.Conflict) {
			return err
		}
	}
	services := []struct {
		name     string
		strategy router.Strategy
		versions []string
	}{
		{"orders", router.WeightedRoundRobin, []string{"v1", "v2"}},
		{"billing", router.RoundRobin, []string{"v1", "v2"}},
	}
	for i, s := range services {
		svc := router.Service{Name: s.name, Description: "demo " + s.name + " service", Strategy: s.strategy, LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy()}
		if _, _, err := m.CreateService(ctx, actor, svc); err != nil {
			return err
		}
		for j, v := range s.versions {
			if _, _, err := m.CreateVersion(ctx, actor, router.Version{Service: s.name, Name: v, State: router.VersionActive}); err != nil {
				return err
			}
			for k := range 2 {
				in := router.Instance{
					ID: fmt.Sprintf("%s-%s-%d", s.name, v, k+1), Service: s.name, Version: v,
					Address: fmt.Sprintf("10.0.%d.%d:8080", i+1, j*10+k+1), Weight: 100 * (k + 1),
					Enabled: true, Metadata: map[string]string{"zone": []string{"eu-1a", "eu-1b"}[k]},
				}
				if _, err := m.RegisterInstance(ctx, in); err != nil {
					return err
				}
			}
		}
		svc.DefaultVersion = "v1"
		if _, _, err := m.UpdateService(ctx, actor, svc); err != nil {
			return err
		}
	}
	bindings := []router.Binding{
		{Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v2"},
		{Tenant: "globex", Service: "orders", Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2", Percent: 2000, Sticky: "key",
			Rules: []router.Rule{{Priority: 1, Version: "v2", When: []router.Condition{{Source: "header", Name: "x-canary", Op: "equals", Values: []string{"always"}}}}}},
		{Tenant: "initech", Service: "billing", Mode: router.ModePin, Version: "v2"},
	}
	for _, b := range bindings {
		if _, _, err := m.PutBinding(ctx, actor, b); err != nil {
			return err
		}
	}
	return nil
}
