package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

func TestActiveLeases(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := redisstore.New(rdb)
		req := router.Request{Tenant: "globex", Service: "orders"}
		leases := func(t *testing.T, id string) int {
			t.Helper()
			n, err := st.ActiveLeases(ctx, "orders", id)
			if err != nil {
				t.Fatalf("active leases of %s: %v", id, err)
			}
			return n
		}

		t.Run("each instance counts its own open leases and a report releases one", func(t *testing.T) {
			project(t, st, snapshot(router.LeastConnections, inst("a", "v1", 1), inst("b", "v1", 1)))
			var held []router.Decision
			for range 4 {
				held = append(held, decide(t, st, req))
			}
			if a, b := leases(t, "a"), leases(t, "b"); a != 2 || b != 2 {
				t.Fatalf("4 open leases counted a=%d b=%d, want 2 and 2", a, b)
			}
			d := held[0]
			if _, err := st.Report(ctx, router.Outcome{Service: "orders", Instance: d.Instance.ID, OK: true, Lease: d.Lease}); err != nil {
				t.Fatal(err)
			}
			if n := leases(t, d.Instance.ID); n != 1 {
				t.Fatalf("%s has %d leases after one was released, want 1", d.Instance.ID, n)
			}
			for _, d := range held[1:] {
				if _, err := st.Report(ctx, router.Outcome{Service: "orders", Instance: d.Instance.ID, OK: true, Lease: d.Lease}); err != nil {
					t.Fatal(err)
				}
			}
			if a, b := leases(t, "a"), leases(t, "b"); a != 0 || b != 0 {
				t.Fatalf("after every report a=%d b=%d, want none", a, b)
			}
		})

		t.Run("an expired lease stops counting without any further decision", func(t *testing.T) {
			s := snapshot(router.LeastConnections, inst("a", "v1", 1))
			s.Service.LeaseSeconds = 1
			project(t, st, s)
			decide(t, st, req) // never reported
			if n := leases(t, "a"); n != 1 {
				t.Fatalf("fresh lease counted %d times, want 1", n)
			}
			deadline := time.Now().Add(5 * time.Second)
			for leases(t, "a") != 0 {
				if time.Now().After(deadline) {
					t.Fatal("an expired lease still counts")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n, _ := rdb.ZCard(ctx, "gr:{orders}:leases").Result(); n != 0 {
				t.Fatalf("%d expired leases left in the lease set", n)
			}
		})

		t.Run("an instance without leases or a service never projected counts none", func(t *testing.T) {
			if n := leases(t, "ghost"); n != 0 {
				t.Fatalf("unknown instance has %d leases", n)
			}
			if n, err := st.ActiveLeases(ctx, "nothing-here", "a"); err != nil || n != 0 {
				t.Fatalf("unprojected service: %d, %v", n, err)
			}
		})
	})
}
