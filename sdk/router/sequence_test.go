package router

import (
	"context"
	"fmt"
	"testing"

	routing "github.com/greyrouter/greyrouter/router"
)

// TestRoundRobinCyclesMatchTheRouter checks the deterministic strategies
// that keep a counter: started from zero, the local counter walks the same
// sequence as decide.lua's counter in Redis (smooth weighted round robin
// skipping a disabled instance, and plain round robin), so the
// per-process proportions are the router's.
func TestRoundRobinCyclesMatchTheRouter(t *testing.T) {
	for _, strategy := range []routing.Strategy{routing.WeightedRoundRobin, routing.RoundRobin, routing.LeastConnections} {
		t.Run(string(strategy), func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			must[routing.Tenant](t)(h.m.CreateTenant(ctx, "test", routing.Tenant{Name: "t00"}))
			svc := routing.Service{Name: "orders", Strategy: strategy, LeaseSeconds: 30, Circuit: routing.DefaultCircuitPolicy()}
			must[routing.Service](t)(h.m.CreateService(ctx, "test", svc))
			must[routing.Version](t)(h.m.CreateVersion(ctx, "test", routing.Version{Service: "orders", Name: "v1"}))
			for i, w := range []int{5, 3, 2, 4} {
				in := routing.Instance{ID: fmt.Sprintf("i%d", i), Service: "orders", Version: "v1",
					Address: fmt.Sprintf("10.0.0.%d:80", i), Weight: w, Enabled: i != 3}
				if _, err := h.m.RegisterInstance(ctx, in); err != nil {
					t.Fatal(err)
				}
			}
			svc.DefaultVersion = "v1"
			must[routing.Service](t)(h.m.UpdateService(ctx, "test", svc))
			local := h.local(t, LocalConfig{})

			var gotSeq, wantSeq []string
			counts := map[string]int{}
			for range 30 {
				got, err := local.Resolve(ctx, "t00", "orders", ResolveOptions{Key: "k"})
				if err != nil {
					t.Fatal(err)
				}
				gotSeq = append(gotSeq, got.ID)
				counts[got.ID]++
				if strategy == routing.LeastConnections {
					continue // connection counts are Redis state
				}
				d, err := h.m.Resolve(ctx, routing.Request{Tenant: "t00", Service: "orders", Key: "k"}, routing.DecideOptions{})
				if err != nil {
					t.Fatal(err)
				}
				wantSeq = append(wantSeq, d.Instance.ID)
			}
			if strategy == routing.LeastConnections {
				// Locally it spreads by weight, exactly over each cycle.
				if counts["i0"] != 15 || counts["i1"] != 9 || counts["i2"] != 6 || counts["i3"] != 0 {
					t.Fatalf("30 local least-connections decisions over weights 5:3:2: %v", counts)
				}
				return
			}
			if fmt.Sprint(gotSeq) != fmt.Sprint(wantSeq) {
				t.Fatalf("local %v\nremote %v", gotSeq, wantSeq)
			}
			if counts["i3"] != 0 {
				t.Fatalf("disabled instance chosen: %v", counts)
			}
		})
	}
}
