package router

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	routing "github.com/greyrouter/greyrouter/router"
)

// The generated world of the differential test: tenants t00..t11, the
// diffServices with versions v1..v3 (v3 sometimes deprecated), zero to
// four instances per version (some disabled or draining, weights 1-500),
// and bindings (pin, split or default, with rules on headers and
// attributes, sticky on the key, a header or an attribute) for about
// three in five tenant-service pairs.

func seedWorld(t *testing.T, h *harness, rng *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	for i := range diffTenants {
		must[routing.Tenant](t)(h.m.CreateTenant(ctx, "gen", routing.Tenant{Name: fmt.Sprintf("t%02d", i)}))
	}
	for _, s := range diffServices {
		svc := routing.Service{Name: s.name, Strategy: s.strategy, LeaseSeconds: 30, Circuit: routing.DefaultCircuitPolicy()}
		must[routing.Service](t)(h.m.CreateService(ctx, "gen", svc))
		for vi, v := range diffVersions {
			state := routing.VersionActive
			if v == "v3" && rng.IntN(2) == 0 {
				state = routing.VersionDeprecated
			}
			must[routing.Version](t)(h.m.CreateVersion(ctx, "gen", routing.Version{Service: s.name, Name: v, State: state}))
			n := 1 + rng.IntN(4)
			if vi > 0 && rng.IntN(6) == 0 {
				n = 0
			}
			for k := range n {
				registerInstance(t, h, rng, s.name, v, k)
			}
		}
		// A lane only some services have: v4 exists in about half of
		// them, and is retired (no longer a lane) in some of those.
		if rng.IntN(2) == 0 {
			must[routing.Version](t)(h.m.CreateVersion(ctx, "gen", routing.Version{Service: s.name, Name: "v4", State: routing.VersionActive}))
			registerInstance(t, h, rng, s.name, "v4", 0)
			if rng.IntN(3) == 0 {
				must[routing.Version](t)(h.m.UpdateVersion(ctx, "gen", routing.Version{Service: s.name, Name: "v4", State: routing.VersionRetired}))
			}
		}
		if s.name != "audit" {
			svc.DefaultVersion = "v1"
			must[routing.Service](t)(h.m.UpdateService(ctx, "gen", svc))
		}
		for i := range diffTenants {
			if rng.IntN(5) < 3 {
				must[routing.Binding](t)(h.m.PutBinding(ctx, "gen", genBinding(rng, fmt.Sprintf("t%02d", i), s.name)))
			}
		}
	}
}

func registerInstance(t *testing.T, h *harness, rng *rand.Rand, service, version string, k int) {
	t.Helper()
	in := routing.Instance{ID: fmt.Sprintf("%s-%s-%d", service, version, k), Service: service, Version: version,
		Address: fmt.Sprintf("10.%d.%d.%d:8080", len(service), len(version)+k, rng.IntN(250)), Weight: 1 + rng.IntN(500),
		Enabled: rng.IntN(10) > 0, Draining: rng.IntN(10) == 0, Metadata: map[string]string{"zone": fmt.Sprint(rng.IntN(3))}}
	if _, err := h.m.RegisterInstance(context.Background(), in); err != nil {
		t.Fatalf("register %s: %v", in.ID, err)
	}
}

// mutateWorld changes bindings, instances, version states and strategies.
func mutateWorld(t *testing.T, h *harness, rng *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	pickService := func() string { return diffServices[rng.IntN(len(diffServices))].name }
	for range 20 {
		tenant, service := fmt.Sprintf("t%02d", rng.IntN(diffTenants)), pickService()
		switch rng.IntN(4) {
		case 0, 1:
			must[routing.Binding](t)(h.m.PutBinding(ctx, "gen", genBinding(rng, tenant, service)))
		case 2:
			if _, err := h.m.DeleteBinding(ctx, "gen", tenant, service); err != nil && !apperr.Is(err, apperr.NotFound) {
				t.Fatal(err)
			}
		default:
			// Move the percentage only: the salt stays, buckets stay.
			b, err := h.m.Store().GetBinding(ctx, tenant, service)
			if apperr.Is(err, apperr.NotFound) || err == nil && b.Mode != routing.ModeSplit {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			b.Percent = routing.Percent(rng.IntN(10001))
			must[routing.Binding](t)(h.m.PutBinding(ctx, "gen", b))
		}
	}
	for range 6 {
		service := pickService()
		insts, err := h.m.Store().ListInstances(ctx, service)
		if err != nil {
			t.Fatal(err)
		}
		if len(insts) == 0 {
			continue
		}
		in := insts[rng.IntN(len(insts))]
		enabled, draining, weight := rng.IntN(4) > 0, rng.IntN(5) == 0, 1+rng.IntN(500)
		if _, err := h.m.UpdateInstance(ctx, service, in.ID, routing.InstancePatch{Enabled: &enabled, Draining: &draining, Weight: &weight}); err != nil {
			t.Fatal(err)
		}
	}
	registerInstance(t, h, rng, pickService(), diffVersions[rng.IntN(len(diffVersions))], 10+rng.IntN(1000))
	{
		service := pickService()
		insts, err := h.m.Store().ListInstances(ctx, service)
		if err != nil {
			t.Fatal(err)
		}
		if len(insts) > 2 {
			if err := h.m.DeregisterInstance(ctx, service, insts[rng.IntN(len(insts))].ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	service := pickService()
	v, err := h.m.Store().GetVersion(ctx, service, "v3")
	if err != nil {
		t.Fatal(err)
	}
	v.State = map[routing.VersionState]routing.VersionState{routing.VersionActive: routing.VersionDeprecated, routing.VersionDeprecated: routing.VersionActive}[v.State]
	must[routing.Version](t)(h.m.UpdateVersion(ctx, "gen", v))
	if rng.IntN(3) == 0 {
		svc, err := h.m.Store().GetService(ctx, pickService())
		if err != nil {
			t.Fatal(err)
		}
		svc.Strategy = routing.Strategies[rng.IntN(len(routing.Strategies))]
		must[routing.Service](t)(h.m.UpdateService(ctx, "gen", svc))
	}
}

func genBinding(rng *rand.Rand, tenant, service string) routing.Binding {
	pickV := func() string { return diffVersions[rng.IntN(len(diffVersions))] }
	b := routing.Binding{Tenant: tenant, Service: service}
	switch rng.IntN(3) {
	case 0:
		b.Mode = routing.ModeDefault
	case 1:
		b.Mode, b.Version = routing.ModePin, pickV()
	default:
		b.Mode, b.Baseline = routing.ModeSplit, pickV()
		for b.Candidate = pickV(); b.Candidate == b.Baseline; b.Candidate = pickV() {
		}
		b.Percent = routing.Percent([]int{0, 1, 500, 1000, 2550, 5000, 9999, 10000, rng.IntN(10001)}[rng.IntN(9)])
	}
	b.Sticky = []string{"key", "key", "header:x-user", "attribute:user"}[rng.IntN(4)]
	for range rng.IntN(4) {
		r := routing.Rule{Priority: rng.IntN(5), Version: pickV()}
		for range 1 + rng.IntN(2) {
			c := routing.Condition{Source: []string{"header", "attribute"}[rng.IntN(2)], Name: []string{"x-user", "user", "plan"}[rng.IntN(3)]}
			switch rng.IntN(3) {
			case 0:
				c.Op, c.Values = "equals", []string{genValue(rng)}
			case 1:
				c.Op, c.Values = "in", []string{genValue(rng), genValue(rng), genValue(rng)}
			default:
				c.Op, c.Values = "prefix", []string{genValue(rng)[:1]}
			}
			r.When = append(r.When, c)
		}
		b.Rules = append(b.Rules, r)
	}
	b.LaneMode = []routing.LaneMode{"", routing.LanePermissive, routing.LaneStrict, routing.LaneIgnore}[rng.IntN(4)]
	return b
}

func genValue(rng *rand.Rand) string {
	return []string{"alice", "bob", "carol", "free", "pro"}[rng.IntN(5)]
}

// genCase makes a request: now and then for an unknown tenant or service,
// without a key, with some headers and attributes that rules name.
func genCase(rng *rand.Rand) diffCase {
	c := diffCase{tenant: fmt.Sprintf("t%02d", rng.IntN(diffTenants)), service: diffServices[rng.IntN(len(diffServices))].name}
	if rng.IntN(20) == 0 {
		c.tenant = "nobody"
	}
	if rng.IntN(30) == 0 {
		c.service = "ghost"
	}
	if rng.IntN(7) > 0 {
		c.opts.Key = fmt.Sprintf("user-%d", rng.IntN(1_000_000))
	}
	c.opts.Headers, c.opts.Attributes = map[string]string{}, map[string]string{}
	for _, n := range []string{"x-user", "plan"} {
		if rng.IntN(2) == 0 {
			c.opts.Headers[n] = genValue(rng)
		}
	}
	for _, n := range []string{"user", "plan"} {
		if rng.IntN(2) == 0 {
			c.opts.Attributes[n] = genValue(rng)
		}
	}
	// Lanes every service has (v1-v3), some have (v4) and none has (v9).
	c.opts.Lane = []string{"", "", "", "v1", "v2", "v3", "v4", "v9"}[rng.IntN(8)]
	if rng.IntN(4) == 0 {
		// A retry's decision: avoid one instance (maybe the one the key
		// hashes to, maybe one that does not exist).
		c.opts.Avoid = fmt.Sprintf("%s-%s-%d", c.service, diffVersions[rng.IntN(len(diffVersions))], rng.IntN(4))
	}
	return c
}
