package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/testutil"
)

// backend is a configuration the e2e tests run against.
type backend struct {
	name string
	env  func(t *testing.T) (env map[string]string, rdb *testutil.RedisServer)
}

var backends = []backend{
	{"embedded default", func(t *testing.T) (map[string]string, *testutil.RedisServer) {
		return map[string]string{}, nil
	}},
	{"real redis and postgres", func(t *testing.T) (map[string]string, *testutil.RedisServer) {
		r := testutil.Redis(t)
		return map[string]string{"REDIS_URL": "redis://" + r.Addr + "/0", "DATABASE_URL": testutil.Postgres(t)}, r
	}},
}

// TestEndToEnd drives the real binary's run over HTTP: build a routing
// table, pin and split tenants, resolve, report failures until ejection,
// roll back a revision, and (with real Redis) lose Redis's data and keep
// deciding.
func TestEndToEnd(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			env, rs := be.env(t)
			s := start(t, env)
			setupOrders(t, s)

			t.Run("a tenant without binding gets the default version", func(t *testing.T) {
				if v, _ := s.resolve(t, "globex", "orders", "u1"); v != "v1" {
					t.Fatalf("got %s", v)
				}
			})

			pinRev := s.call(t, "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v2"}).Must(t, 200)
			t.Run("a pinned tenant gets its version", func(t *testing.T) {
				for i := range 5 {
					if v, _ := s.resolve(t, "acme", "orders", fmt.Sprint(i)); v != "v2" {
						t.Fatalf("got %s", v)
					}
				}
			})

			s.call(t, "PUT", "/api/v1/tenants/globex/bindings/orders", map[string]any{
				"mode": "split", "baseline": "v1", "candidate": "v2", "percent": 20,
			}).Must(t, 200)
			t.Run("a 20/80 split is sticky and about 20 percent", func(t *testing.T) {
				cand := 0
				first := map[string]string{}
				for i := range 500 {
					key := fmt.Sprintf("user-%d", i)
					v, _ := s.resolve(t, "globex", "orders", key)
					first[key] = v
					if v == "v2" {
						cand++
					}
				}
				if cand < 60 || cand > 140 {
					t.Fatalf("%d of 500 on the candidate at 20%%", cand)
				}
				for key, v := range first {
					if again, _ := s.resolve(t, "globex", "orders", key); again != v {
						t.Fatalf("%s moved from %s to %s", key, v, again)
					}
					break
				}
			})

			t.Run("explain names the bucket and strategy", func(t *testing.T) {
				r := s.call(t, "POST", "/api/v1/resolve?explain=true", map[string]any{"tenant": "globex", "service": "orders", "key": "alice"}).Must(t, 200)
				if r.Str("explain", "strategy") != "round_robin" || r.Str("explain", "bucket") == "" || r.Str("explain", "threshold") != "2000" {
					t.Fatalf("explain: %s", r.Raw)
				}
			})

			t.Run("reported failures eject an instance", func(t *testing.T) {
				for range 3 {
					s.call(t, "POST", "/api/v1/report", map[string]any{"service": "orders", "instance": "o2a", "ok": false}).Must(t, 200)
				}
				r := s.call(t, "POST", "/api/v1/report", map[string]any{"service": "orders", "instance": "o2a", "ok": false}).Must(t, 200)
				if r.Str("circuit") != "open" {
					t.Fatalf("circuit after 4 failures: %s", r.Raw)
				}
				for i := range 6 {
					if _, id := s.resolve(t, "acme", "orders", fmt.Sprint(i)); id != "o2b" {
						t.Fatalf("ejected instance chosen: %s", id)
					}
				}
			})

			t.Run("rollback restores an earlier revision as a new one", func(t *testing.T) {
				n := int(pinRev.Body["revision"].(float64))
				s.call(t, "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v1"}).Must(t, 200)
				if v, _ := s.resolve(t, "acme", "orders", "x"); v != "v1" {
					t.Fatalf("re-pin not applied: %s", v)
				}
				r := s.call(t, "POST", fmt.Sprintf("/api/v1/revisions/%d/rollback", n), nil).Must(t, 200)
				if r.Str("rollback_of") != "" && r.Str("number") == "" {
					t.Fatalf("rollback reply: %s", r.Raw)
				}
				if v, _ := s.resolve(t, "acme", "orders", "x"); v != "v2" {
					t.Fatalf("after rollback acme goes to %s, want v2", v)
				}
				// Rolling back to revision n undid the split set after it too.
				if r := s.call(t, "GET", "/api/v1/tenants/globex/bindings/orders", nil); r.Status != 404 {
					t.Fatalf("split set after revision %d survived the rollback: %s", n, r.Raw)
				}
				list := s.call(t, "GET", "/api/v1/revisions?limit=1", nil).Must(t, 200)
				items := list.Body["items"].([]any)
				if got := items[0].(map[string]any)["summary"]; !strings.HasPrefix(fmt.Sprint(got), "rollback to revision") {
					t.Fatalf("newest revision is %v", got)
				}
			})

			if rs == nil {
				return
			}
			t.Run("decisions survive FLUSHALL and a Redis restart", func(t *testing.T) {
				rs.FlushAll(t)
				if v, _ := s.resolve(t, "acme", "orders", "x"); v != "v2" {
					t.Fatalf("after FLUSHALL: %s", v)
				}
				rs.Restart(t)
				s.waitVersion(t, "acme", "orders", "v2", "after a Redis restart")
				// The reconciler restores the projection marker by itself,
				// and says so in the metrics.
				cl := rs.Client(t)
				deadline := time.Now().Add(10 * time.Second)
				for cl.Exists(context.Background(), "gr:epoch").Val() != 1 {
					if time.Now().After(deadline) {
						t.Fatal("projection not rebuilt by the reconciler")
					}
					time.Sleep(50 * time.Millisecond)
				}
				m := s.call(t, "GET", "/metrics", nil).Raw
				if !strings.Contains(m, "greyrouter_projection_rebuilds_total 1") && !strings.Contains(m, "greyrouter_projection_rebuilds_total 2") {
					t.Fatalf("rebuilds not counted:\n%s", grepLines(m, "greyrouter_projection"))
				}
				if r := s.call(t, "GET", "/readyz", nil).Must(t, 200); r.Str("checks", "projection") != "ok" {
					t.Fatalf("readyz: %s", r.Raw)
				}
			})
		})
	}
}

// setupOrders creates tenants acme and globex, service orders with v1 and
// v2 and two instances each, over HTTP.
func setupOrders(t *testing.T, s *server) {
	t.Helper()
	for _, tn := range []string{"acme", "globex"} {
		s.call(t, "POST", "/api/v1/tenants", map[string]any{"name": tn}).Must(t, 201)
	}
	s.call(t, "POST", "/api/v1/services", map[string]any{"name": "orders", "strategy": "round_robin",
		"circuit": map[string]any{"consecutive_failures": 3, "window_seconds": 30, "base_ejection_seconds": 30,
			"max_ejection_seconds": 60, "max_ejection_percent": 50, "probe_timeout_seconds": 5}}).Must(t, 201)
	for _, v := range []string{"v1", "v2"} {
		s.call(t, "POST", "/api/v1/services/orders/versions", map[string]any{"name": v}).Must(t, 201)
		for _, suffix := range []string{"a", "b"} {
			id := "o" + v[1:] + suffix
			s.call(t, "POST", "/api/v1/services/orders/instances", map[string]any{"id": id, "version": v, "address": id + ".internal:8080"}).Must(t, 201)
		}
	}
	s.call(t, "PUT", "/api/v1/services/orders", map[string]any{"default_version": "v1"}).Must(t, 200)
}

// TestReplicasShareState runs four router replicas on one Redis and one
// database: weighted round robin is exact across them and sticky keys get
// the same version from each, before and after a restart.
func TestReplicasShareState(t *testing.T) {
	r := testutil.Redis(t)
	dsn := testutil.Postgres(t)
	env := func() map[string]string {
		return map[string]string{"REDIS_URL": "redis://" + r.Addr + "/0", "DATABASE_URL": dsn}
	}
	var replicas []*server
	for range 4 {
		replicas = append(replicas, start(t, env()))
	}
	s := replicas[0]
	s.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "acme"}).Must(t, 201)
	s.call(t, "POST", "/api/v1/services", map[string]any{"name": "pay", "strategy": "weighted_round_robin"}).Must(t, 201)
	for _, v := range []string{"v1", "v2"} {
		s.call(t, "POST", "/api/v1/services/pay/versions", map[string]any{"name": v}).Must(t, 201)
	}
	for id, w := range map[string]int{"a": 5, "b": 3, "c": 2} {
		s.call(t, "POST", "/api/v1/services/pay/instances", map[string]any{"id": id, "version": "v1", "address": id + ":80", "weight": w}).Must(t, 201)
	}
	s.call(t, "POST", "/api/v1/services/pay/instances", map[string]any{"id": "z", "version": "v2", "address": "z:80"}).Must(t, 201)
	s.call(t, "PUT", "/api/v1/services/pay", map[string]any{"default_version": "v1"}).Must(t, 200)

	t.Run("weights 5:3:2 over 1000 decisions from 4 replicas are exact", func(t *testing.T) {
		var mu sync.Mutex
		got := map[string]int{}
		var wg sync.WaitGroup
		for _, rep := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 250 {
					r := rep.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "pay"})
					if r.Status != 200 {
						t.Errorf("resolve: %s", r.Raw)
						return
					}
					mu.Lock()
					got[r.Str("instance", "id")]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if got["a"] != 500 || got["b"] != 300 || got["c"] != 200 {
			t.Fatalf("got %v, want a=500 b=300 c=200", got)
		}
	})

	s.call(t, "PUT", "/api/v1/tenants/acme/bindings/pay", map[string]any{"mode": "split", "baseline": "v1", "candidate": "v2", "percent": 10}).Must(t, 200)
	versions := func(rep *server) map[string]string {
		out := map[string]string{}
		for i := range 300 {
			key := fmt.Sprintf("k%d", i)
			out[key], _ = rep.resolve(t, "acme", "pay", key)
		}
		return out
	}
	at10 := versions(replicas[0])
	t.Run("every replica gives a key the same version", func(t *testing.T) {
		for i, rep := range replicas[1:] {
			if got := versions(rep); fmt.Sprint(got) != fmt.Sprint(at10) {
				t.Fatalf("replica %d disagrees with replica 0", i+1)
			}
		}
	})
	t.Run("after a restart keys keep their version", func(t *testing.T) {
		replicas[1].stop()
		again := start(t, env())
		if got := versions(again); fmt.Sprint(got) != fmt.Sprint(at10) {
			t.Fatal("a restarted replica moved keys")
		}
	})
	t.Run("10 to 20 percent moves only baseline users to the candidate", func(t *testing.T) {
		s.call(t, "PUT", "/api/v1/tenants/acme/bindings/pay", map[string]any{"mode": "split", "baseline": "v1", "candidate": "v2", "percent": 20}).Must(t, 200)
		at20 := versions(replicas[2])
		moved := 0
		for k, v := range at10 {
			if v == "v2" && at20[k] != "v2" {
				t.Fatalf("%s moved back from the candidate", k)
			}
			if v == "v1" && at20[k] == "v2" {
				moved++
			}
		}
		if moved == 0 {
			t.Fatal("raising the percentage moved nobody")
		}
	})
}

// TestServeOnRedisCluster runs the binary against a 3-master Redis Cluster:
// the projection marker and every service's keys live in different slots.
func TestServeOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster in -short mode")
	}
	c := testutil.RedisCluster(t)
	s := start(t, map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(c.Addrs, ",")})
	setupOrders(t, s)
	s.call(t, "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v2"}).Must(t, 200)
	if v, _ := s.resolve(t, "acme", "orders", "k"); v != "v2" {
		t.Fatalf("got %s", v)
	}
	s.call(t, "POST", "/api/v1/report", map[string]any{"service": "orders", "instance": "o2a", "ok": true}).Must(t, 200)
	// Flush every master: the router rebuilds from the database.
	cl := c.Client(t)
	if err := cl.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
		return n.FlushAll(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.resolve(t, "acme", "orders", "k"); v != "v2" {
		t.Fatalf("after flushing the cluster: %s", v)
	}
}

// TestServeThroughSentinel runs the binary with a Sentinel-discovered master.
func TestServeThroughSentinel(t *testing.T) {
	sn := testutil.RedisSentinel(t)
	s := start(t, map[string]string{"REDIS_SENTINEL_ADDRS": strings.Join(sn.SentinelAddrs, ","), "REDIS_SENTINEL_MASTER": testutil.SentinelMaster})
	setupOrders(t, s)
	if v, _ := s.resolve(t, "acme", "orders", "k"); v != "v1" {
		t.Fatalf("got %s", v)
	}
	// The routing table really is in the master the Sentinel named.
	if n := sn.Master.Client(t).Exists(context.Background(), "gr:{orders}:cfg").Val(); n != 1 {
		t.Fatal("routing table not found in the sentinel's master")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestChangesDuringARedisOutage checks that configuration writes succeed
// while Redis is down (the database is the source of truth), that readiness
// and metrics say the projection is pending, and that routing follows the
// change once Redis is back, without operator action.
func TestChangesDuringARedisOutage(t *testing.T) {
	rs := testutil.Redis(t)
	s := start(t, map[string]string{"REDIS_URL": "redis://" + rs.Addr + "/0", "DATABASE_URL": testutil.Postgres(t)})
	setupOrders(t, s)
	rs.Stop(t)
	s.call(t, "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v2"}).Must(t, 200)
	if r := s.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "orders"}); r.Status != 503 || r.ErrCode() != "unavailable" {
		t.Fatalf("resolve with Redis down: %d %s", r.Status, r.Raw)
	}
	r := s.call(t, "GET", "/readyz", nil)
	if r.Status != 503 || !strings.Contains(r.Str("checks", "projection"), "1 services") {
		t.Fatalf("readyz during the outage: %d %s", r.Status, r.Raw)
	}
	if m := s.call(t, "GET", "/metrics", nil).Raw; !strings.Contains(m, "greyrouter_projection_pending_services 1") {
		t.Fatalf("pending projection not in metrics:\n%s", grepLines(m, "greyrouter_projection"))
	}
	rs.Start(t)
	s.waitVersion(t, "acme", "orders", "v2", "after the outage")
	waitReady(t, s.base)
	if r := s.call(t, "GET", "/readyz", nil); r.Str("checks", "projection") != "ok" {
		t.Fatalf("projection still pending after recovery: %s", r.Raw)
	}
}
