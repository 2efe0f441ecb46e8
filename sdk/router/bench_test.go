package router

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	routing "github.com/greyrouter/greyrouter/router"
)

// Local decisions from synthetic snapshots of 10 to 10,000 tenants x 100
// services (BENCHMARKS.md section 12). Service i uses round robin,
// weighted round robin or consistent hashing (i mod 3) over two versions
// of four instances; tenant t has, for service s, by (t+s) mod 4: a split
// 10 % sticky on the key, a pin with a header rule before it, or (twice)
// no binding.

const benchServices = 100

func benchTenant(i int) string  { return fmt.Sprintf("tenant-%05d", i) }
func benchService(i int) string { return fmt.Sprintf("svc-%03d", i) }

// benchSnapshot builds the synthetic snapshot.
func benchSnapshot(tenants int) *routing.RoutingSnapshot {
	s := &routing.RoutingSnapshot{Format: routing.SnapshotFormat, Revision: 1, ETag: "synthetic"}
	for t := range tenants {
		s.Tenants = append(s.Tenants, benchTenant(t))
	}
	strategies := []routing.Strategy{routing.RoundRobin, routing.WeightedRoundRobin, routing.ConsistentHash}
	for si := range benchServices {
		name := benchService(si)
		sr := routing.ServiceRoutes{Name: name, DefaultVersion: "v1", Strategy: strategies[si%3]}
		for _, v := range []string{"v1", "v2"} {
			vr := routing.VersionRoutes{Name: v}
			for k := range 4 {
				vr.Instances = append(vr.Instances, routing.RoutableInstance{ID: fmt.Sprintf("%s-%s-%d", name, v, k),
					Address: fmt.Sprintf("10.%d.%d.%d:8080", si/250, si%250, k), Weight: 100 * (1 + k%3), Live: true,
					Metadata: map[string]string{"zone": fmt.Sprint("eu-1", k%2)}})
			}
			sr.Versions = append(sr.Versions, vr)
		}
		for t := range tenants {
			b := routing.Binding{Tenant: benchTenant(t), Service: name, Sticky: "key", Salt: fmt.Sprintf("%016x", t*benchServices+si)}
			switch (t + si) % 4 {
			case 0:
				b.Mode, b.Baseline, b.Candidate, b.Percent = routing.ModeSplit, "v1", "v2", 1000
			case 1:
				b.Mode, b.Version = routing.ModePin, "v2"
				b.Rules = []routing.Rule{{Priority: 1, Version: "v1", When: []routing.Condition{
					{Source: "header", Name: "x-canary", Op: "equals", Values: []string{"never"}}}}}
			default:
				continue
			}
			sr.Bindings = append(sr.Bindings, b)
		}
		s.Services = append(s.Services, sr)
	}
	return s
}

type benchRequest struct {
	tenant, service string
	opts            ResolveOptions
}

// benchRequests picks n requests over random tenants and services, so that
// the larger tables are read all over, as a busy caller would.
func benchRequests(tenants, n int, kind func(t, s int) bool) []benchRequest {
	rng := rand.New(rand.NewPCG(1, 2))
	headers := map[string]string{"x-canary": "always"}
	out := make([]benchRequest, 0, n)
	for len(out) < n {
		t, s := rng.IntN(tenants), rng.IntN(benchServices)
		if kind != nil && !kind(t, s) {
			continue
		}
		out = append(out, benchRequest{tenant: benchTenant(t), service: benchService(s),
			opts: ResolveOptions{Key: fmt.Sprintf("user-%06d", rng.IntN(1_000_000)), Headers: headers}})
	}
	return out
}

func BenchmarkLocalResolve(b *testing.B) {
	ctx := context.Background()
	kinds := []struct {
		name string
		kind func(t, s int) bool
	}{
		{"mixed", nil},
		{"default", func(t, s int) bool { return (t+s)%4 >= 2 && s%3 != 2 }},
		{"pin_after_rule", func(t, s int) bool { return (t+s)%4 == 1 && s%3 != 2 }},
		{"split_sticky", func(t, s int) bool { return (t+s)%4 == 0 && s%3 != 2 }},
		{"consistent_hash", func(t, s int) bool { return (t+s)%4 >= 2 && s%3 == 2 }},
	}
	for _, tenants := range []int{10, 100, 1000, 10000} {
		// The table is built inside the size's benchmark, so that a -bench
		// filter on one size builds that one only.
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			// Through JSON, as a client gets it: the decoded strings are
			// each in an allocation of their own.
			raw, err := json.Marshal(benchSnapshot(tenants))
			if err != nil {
				b.Fatal(err)
			}
			var snap routing.RoutingSnapshot
			if err := json.Unmarshal(raw, &snap); err != nil {
				b.Fatal(err)
			}
			tbl, err := compile(&snap)
			if err != nil {
				b.Fatal(err)
			}
			c := &Client{local: &local{}}
			c.local.table.Store(tbl)
			for _, k := range kinds {
				reqs := benchRequests(tenants, 4096, k.kind)
				b.Run(k.name, func(b *testing.B) {
					b.ReportAllocs()
					i, cpu := 0, cpuTime()
					for b.Loop() {
						r := &reqs[i&4095]
						if _, err := c.Resolve(ctx, r.tenant, r.service, r.opts); err != nil {
							b.Fatal(err)
						}
						i++
					}
					b.ReportMetric(float64(cpuTime()-cpu)/float64(i), "cpu-ns/op")
				})
			}
			reqs := benchRequests(tenants, 4096, nil)
			b.Run("mixed_parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := rand.IntN(4096)
					for pb.Next() {
						r := &reqs[i&4095]
						if _, err := c.Resolve(ctx, r.tenant, r.service, r.opts); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		})
	}
}

// BenchmarkCompileSnapshot is what a change costs a local client: decode
// the snapshot's JSON and compile it (the old table keeps answering
// meanwhile).
func BenchmarkCompileSnapshot(b *testing.B) {
	for _, tenants := range []int{10, 1000, 10000} {
		raw, err := json.Marshal(benchSnapshot(tenants))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			for b.Loop() {
				var s routing.RoutingSnapshot
				if err := json.Unmarshal(raw, &s); err != nil {
					b.Fatal(err)
				}
				if _, err := compile(&s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw))/1e6, "MB-json")
		})
	}
}

// BenchmarkRemoteResolve is the peer: the same kind of decision through
// the router (real Redis, decide.lua), by EVALSHA and by the resolve API.
func BenchmarkRemoteResolve(b *testing.B) {
	h := newHarness(b)
	h.seedOrders(b)
	ctx := context.Background()
	must[routing.Binding](b)(h.m.PutBinding(ctx, "bench", routing.Binding{Tenant: "t00", Service: "orders", Mode: routing.ModeSplit,
		Baseline: "v1", Candidate: "v2", Percent: 1000}))
	viaRedis := NewRedis(h.rdb, 0)
	defer viaRedis.Close()
	for name, c := range map[string]*Client{"redis": viaRedis, "http": NewHTTP(h.srv.URL, StaticToken(platformClientTk), nil)} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.Resolve(ctx, "t00", "orders", ResolveOptions{Key: fmt.Sprint("user-", i&1023)}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
