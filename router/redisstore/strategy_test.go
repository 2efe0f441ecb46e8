package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

func TestStrategies(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := redisstore.New(rdb)
		req := router.Request{Tenant: "globex", Service: "orders"}

		t.Run("round robin cycles through instances in id order", func(t *testing.T) {
			project(t, st, snapshot(router.RoundRobin, inst("c", "v1", 1), inst("a", "v1", 1), inst("b", "v1", 9)))
			var seq string
			for range 6 {
				seq += decide(t, st, req).Instance.ID
			}
			if seq != "abcabc" {
				t.Fatalf("sequence %q, want abcabc", seq)
			}
		})

		t.Run("smooth weighted round robin is exact and interleaved across replicas", func(t *testing.T) {
			project(t, st, snapshot(router.WeightedRoundRobin, inst("a", "v1", 5), inst("b", "v1", 3), inst("c", "v1", 2)))
			// Four replicas, each with its own client, share the Redis state.
			var mu sync.Mutex
			got := map[string]int{}
			var wg sync.WaitGroup
			for r := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Replicas decide one call at a time or pipelined.
					replica := redisstore.New(rdb)
					if r%2 == 1 {
						replica = redisstore.NewBatched(rdb, 2)
						defer replica.Close()
					}
					for range 250 {
						d, err := replica.Decide(ctx, req, router.DecideOptions{})
						if err != nil {
							t.Errorf("replica %d: %v", r, err)
							return
						}
						mu.Lock()
						got[d.Instance.ID]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if got["a"] != 500 || got["b"] != 300 || got["c"] != 200 {
				t.Fatalf("1000 decisions split %v, want exactly a=500 b=300 c=200", got)
			}
			// Any 10 consecutive decisions are a rotation of the smooth cycle
			// that router.WRRSequence computes in Go.
			var seq []string
			for range 10 {
				seq = append(seq, decide(t, st, req).Instance.ID)
			}
			cycle := router.WRRSequence([]int{5, 3, 2}, router.MaxWRRSequence)
			rotated := false
			for k := range cycle {
				var want []string
				for j := range cycle {
					want = append(want, []string{"a", "b", "c"}[cycle[(k+j)%len(cycle)]])
				}
				rotated = rotated || fmt.Sprint(want) == fmt.Sprint(seq)
			}
			if !rotated {
				t.Fatalf("lua sequence %v is no rotation of the smooth cycle %v", seq, cycle)
			}
		})

		t.Run("random and weighted random use every instance", func(t *testing.T) {
			project(t, st, snapshot(router.Random, inst("a", "v1", 1), inst("b", "v1", 1)))
			if got := count(t, st, req, 200); got["a"] < 50 || got["b"] < 50 {
				t.Fatalf("random split %v", got)
			}
			project(t, st, snapshot(router.WeightedRandom, inst("a", "v1", 9), inst("b", "v1", 1)))
			if got := count(t, st, req, 1000); got["a"] < 800 || got["b"] < 40 {
				t.Fatalf("weighted random split %v, want about 900/100", got)
			}
		})

		t.Run("least connections balances open leases and reports release them", func(t *testing.T) {
			project(t, st, snapshot(router.LeastConnections, inst("a", "v1", 1), inst("b", "v1", 1)))
			d1 := decide(t, st, req)
			d2 := decide(t, st, req)
			if d1.Instance.ID == d2.Instance.ID || d1.Lease == "" || d2.Lease == "" {
				t.Fatalf("two open leases landed on %s and %s", d1.Instance.ID, d2.Instance.ID)
			}
			// Release d1's lease: the next decision goes to d1's instance.
			if _, err := st.Report(ctx, router.Outcome{Service: "orders", Instance: d1.Instance.ID, OK: true, Lease: d1.Lease}); err != nil {
				t.Fatal(err)
			}
			if d3 := decide(t, st, req); d3.Instance.ID != d1.Instance.ID {
				t.Fatalf("after release got %s, want %s", d3.Instance.ID, d1.Instance.ID)
			}
			// Releasing twice does not go below zero.
			if _, err := st.Report(ctx, router.Outcome{Service: "orders", Instance: d1.Instance.ID, OK: true, Lease: d1.Lease}); err != nil {
				t.Fatal(err)
			}
			if n := rdb.HGet(ctx, "gr:{orders}:st", "lc:"+d1.Instance.ID).Val(); n != "1" {
				t.Fatalf("lease count after double release = %s, want 1", n)
			}
		})

		t.Run("least connections leases expire when a caller never reports", func(t *testing.T) {
			s := snapshot(router.LeastConnections, inst("a", "v1", 1))
			s.Service.LeaseSeconds = 1
			project(t, st, s)
			base, _ := rdb.ZCard(ctx, "gr:{orders}:leases").Result()
			baseLC := rdb.HGet(ctx, "gr:{orders}:st", "lc:a").Val()
			if baseLC == "" {
				baseLC = "0"
			}
			for range 3 {
				decide(t, st, req) // never reported
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				// Each decision purges expired leases; its own lease is
				// released at once.
				d := decide(t, st, req)
				if _, err := st.Report(ctx, router.Outcome{Service: "orders", Instance: d.Instance.ID, OK: true, Lease: d.Lease}); err != nil {
					t.Fatal(err)
				}
				n, _ := rdb.ZCard(ctx, "gr:{orders}:leases").Result()
				lc := rdb.HGet(ctx, "gr:{orders}:st", "lc:a").Val()
				if n == base && lc == baseLC {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("leases never expired: %d open (%d before), count %s (%s before)", n, base, lc, baseLC)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})

		t.Run("consistent hash keeps a key on one instance and agrees with Go", func(t *testing.T) {
			insts := []router.Instance{inst("a", "v1", 1), inst("b", "v1", 2), inst("c", "v1", 1)}
			project(t, st, snapshot(router.ConsistentHash, insts...))
			for i := range 50 {
				key := fmt.Sprintf("user-%d", i)
				want, best := "", 0.0
				for _, in := range insts {
					if s := router.HashScore(key, in.ID, in.Weight); want == "" || s > best {
						want, best = in.ID, s
					}
				}
				for range 3 {
					if d := decide(t, st, router.Request{Tenant: "globex", Key: key}); d.Instance.ID != want {
						t.Fatalf("key %s went to %s, want %s", key, d.Instance.ID, want)
					}
				}
			}
		})

		t.Run("disabled and draining instances get no decisions", func(t *testing.T) {
			off, drain := inst("b", "v1", 1), inst("c", "v1", 1)
			off.Enabled = false
			drain.Draining = true
			project(t, st, snapshot(router.RoundRobin, inst("a", "v1", 1), off, drain))
			if got := count(t, st, req, 10); got["a"] != 10 {
				t.Fatalf("got %v", got)
			}
		})

		t.Run("an instance whose heartbeat lapsed gets no decisions", func(t *testing.T) {
			ttl := inst("b", "v1", 1)
			ttl.HeartbeatSeconds = 30
			project(t, st, snapshot(router.RoundRobin, inst("a", "v1", 1), ttl))
			if got := count(t, st, req, 10); got["b"] != 5 {
				t.Fatalf("seeded heartbeat not honoured: %v", got)
			}
			if err := st.Heartbeat(ctx, "orders", "b", time.Millisecond); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for count(t, st, req, 4)["b"] != 0 {
				if time.Now().After(deadline) {
					t.Fatal("lapsed instance still chosen")
				}
			}
			if err := st.Heartbeat(ctx, "orders", "b", time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := count(t, st, req, 10); got["b"] != 5 {
				t.Fatalf("heartbeat did not revive: %v", got)
			}
		})
	})
}
