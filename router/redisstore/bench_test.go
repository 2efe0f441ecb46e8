package redisstore

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
)

// The benchmarks live in package redisstore, not redisstore_test, so that
// they can run decide.lua without redisstore's Go side around it: the
// difference between BenchmarkDecide and BenchmarkDecideScript is what
// encoding, decoding and mapping cost in Go; BenchmarkMinimalEvalsha is the
// peer every decision is compared with (BENCHMARKS.md).

// benchConcurrency matches grload's default: 16 concurrent callers.
const benchConcurrency = 16

// benchStore projects the benchmark service (versions v1 and v2 with four
// weighted instances each, weighted round robin, the default circuit
// policy, 50 tenants of which every second one has a 10 % sticky split with
// a header rule) into a private Redis.
func benchStore(b *testing.B) (*Store, redis.UniversalClient, []router.Request) {
	b.Helper()
	srv := testutil.Redis(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 2 * benchConcurrency})
	b.Cleanup(func() { _ = rdb.Close() })
	st := New(rdb)
	snap := router.Snapshot{Revision: 1, Service: router.Service{Name: "orders", DefaultVersion: "v1",
		Strategy: router.WeightedRoundRobin, LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy()}}
	for vi, v := range []string{"v1", "v2"} {
		snap.Versions = append(snap.Versions, router.Version{Service: "orders", Name: v, State: router.VersionActive})
		for i := range 4 {
			snap.Instances = append(snap.Instances, router.Instance{
				ID: fmt.Sprintf("orders-%s-%d", v, i+1), Service: "orders", Version: v,
				Address: fmt.Sprintf("10.0.%d.%d:8080", vi+1, i+1), Weight: 100 * (1 + i%3),
				Metadata: map[string]string{"zone": []string{"eu-1a", "eu-1b"}[i%2]}, Enabled: true,
			})
		}
	}
	for i := range 50 {
		t := fmt.Sprintf("tenant-%03d", i)
		snap.Tenants = append(snap.Tenants, t)
		if i%2 == 0 {
			snap.Bindings = append(snap.Bindings, router.Binding{
				Tenant: t, Service: "orders", Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2",
				Percent: 1000, Sticky: "key", Salt: fmt.Sprintf("salt-%d", i),
				Rules: []router.Rule{{Priority: 1, Version: "v2", When: []router.Condition{
					{Source: "header", Name: "x-canary", Op: "equals", Values: []string{"always"}},
				}}},
			})
		}
	}
	if err := st.Project(context.Background(), snap); err != nil {
		b.Fatalf("project: %v", err)
	}
	// Requests are built up front so that the loop measures only Decide.
	reqs := make([]router.Request, 1024)
	for i := range reqs {
		reqs[i] = router.Request{Tenant: snap.Tenants[i%len(snap.Tenants)], Service: "orders",
			Key: fmt.Sprintf("user-%d", i), Headers: map[string]string{"x-canary": "never"}}
	}
	return st, rdb, reqs
}

// serialAndParallel runs op from one caller, then from benchConcurrency
// callers (SetParallelism multiplies GOMAXPROCS), where ns/op is the
// inverse of throughput.
func serialAndParallel(b *testing.B, op func(i int) error) {
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := op(i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run(fmt.Sprintf("parallel%d", benchConcurrency), func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism((benchConcurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkDecide is one remote decision as the server makes it.
func BenchmarkDecide(b *testing.B) {
	st, _, reqs := benchStore(b)
	ctx := context.Background()
	serialAndParallel(b, func(i int) error {
		_, err := st.Decide(ctx, reqs[i%len(reqs)], router.DecideOptions{})
		return err
	})
}

// BenchmarkDecideScript runs decide.lua through go-redis with arguments
// prepared up front and the reply left undecoded.
func BenchmarkDecideScript(b *testing.B) {
	_, rdb, reqs := benchStore(b)
	ctx := context.Background()
	k := keysFor("orders").all()
	args := make([][]any, len(reqs))
	for i, r := range reqs {
		h := appendRequest(nil, r.Headers, nil)
		args[i] = []any{r.Tenant, r.Key, string(h), "0.5", "lease", "0"}
	}
	serialAndParallel(b, func(i int) error {
		return decideScript.Run(ctx, rdb, k, args[i%len(args)]...).Err()
	})
}

// BenchmarkMinimalEvalsha is the peer: EVALSHA of "return ARGV[1]" with one
// key through the same client.
func BenchmarkMinimalEvalsha(b *testing.B) {
	_, rdb, _ := benchStore(b)
	ctx := context.Background()
	script := redis.NewScript("return ARGV[1]")
	keys := []string{"gr:{orders}:raw"}
	serialAndParallel(b, func(int) error {
		return script.Run(ctx, rdb, keys, "x").Err()
	})
}

// BenchmarkDecodeDecision is the Go-side decoding of one decide.lua reply,
// without Redis: the allocation hot spot of Decide.
func BenchmarkDecodeDecision(b *testing.B) {
	_, rdb, reqs := benchStore(b)
	ctx := context.Background()
	h := appendRequest(nil, reqs[0].Headers, nil)
	raw, err := decideScript.Run(ctx, rdb, keysFor("orders").all(), reqs[0].Tenant, reqs[0].Key, string(h), "0.5", "lease", "0").Text()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseDecision(raw); err != nil {
			b.Fatal(err)
		}
	}
}
