package main

import (
	"fmt"

	"github.com/greyrouter/greyrouter/router"
)

// benchSnapshot builds the service the redis workload decides on: versions
// v1 and v2 with f.instances weighted instances each, the default circuit
// policy, and f.tenants tenants of which every second one has a 10 % sticky
// split to v2 with a header rule in front of it; the others fall through
// to the default version.
func benchSnapshot(f redisFlags) router.Snapshot {
	svc := router.Service{Name: f.service, DefaultVersion: "v1", Strategy: router.Strategy(f.strategy),
		LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy()}
	snap := router.Snapshot{Revision: 1, Service: svc}
	for vi, v := range []string{"v1", "v2"} {
		snap.Versions = append(snap.Versions, router.Version{Service: f.service, Name: v, State: router.VersionActive})
		for i := range f.instances {
			snap.Instances = append(snap.Instances, router.Instance{
				ID: fmt.Sprintf("%s-%s-%d", f.service, v, i+1), Service: f.service, Version: v,
				Address: fmt.Sprintf("10.0.%d.%d:8080", vi+1, i+1), Weight: 100 * (1 + i%3),
				Metadata: map[string]string{"zone": []string{"eu-1a", "eu-1b"}[i%2]},
				Enabled:  true, Source: router.SourceAPI,
			})
		}
	}
	for i := range f.tenants {
		t := fmt.Sprintf("tenant-%03d", i)
		snap.Tenants = append(snap.Tenants, t)
		if i%2 == 1 {
			continue
		}
		snap.Bindings = append(snap.Bindings, router.Binding{
			Tenant: t, Service: f.service, Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2",
			Percent: 1000, Sticky: "key", Salt: fmt.Sprintf("salt-%d", i),
			Rules: []router.Rule{{Priority: 1, Version: "v2", When: []router.Condition{
				{Source: "header", Name: "x-canary", Op: "equals", Values: []string{"always"}},
			}}},
		})
	}
	return snap
}
