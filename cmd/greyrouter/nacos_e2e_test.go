package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router/nacos"
)

// nacosClient is a service's own Nacos client, as the SDK's registration
// helper would hold it.
func nacosClient(t *testing.T, addr string) nacos.Naming {
	t.Helper()
	n, err := nacos.NewNaming(nacos.ClientConfig{Servers: []string{addr}, CacheDir: t.TempDir(), LogDir: t.TempDir(), LogLevel: "error"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// register registers reg, retrying while the client is still connecting
// (the SDK connects in the background and refuses until it has).
func register(t *testing.T, n nacos.Naming, reg nacos.Registration) {
	t.Helper()
	var err error
	waitFor(t, "registration accepted", func() bool { err = nacos.Register(n, reg); return err == nil })
}

// instancesOf returns the service's instances as the router API lists
// them, by id.
func instancesOf(t *testing.T, s *server, service string) map[string]map[string]any {
	t.Helper()
	r := s.call(t, "GET", "/api/v1/services/"+service+"/instances", nil).Must(t, 200)
	out := map[string]map[string]any{}
	items, _ := r.Body["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		id, _ := m["id"].(string)
		out[id] = m
	}
	return out
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// live reports whether the listed instance takes new decisions.
func live(in map[string]any) bool {
	return in != nil && in["enabled"] == true && in["draining"] != true
}

// TestNacosEndToEnd runs two replicas syncing from a real Nacos-compatible
// server (tools/nacos-test-server): instances appear in decisions, follow
// metadata and weight changes, drain when deregistered or when their
// client goes away, and the table survives the server being down.
func TestNacosEndToEnd(t *testing.T) {
	if testutil.RaceEnabled() {
		t.Skip("nacos-sdk-go v2.3.2 has data races of its own (reconnect, concurrent subscribe and push); scripts/test.sh runs this without -race")
	}
	ns := testutil.Nacos(t)
	r := testutil.Redis(t)
	dsn := testutil.Postgres(t)
	env := func() map[string]string {
		return map[string]string{"REDIS_URL": "redis://" + r.Addr + "/0", "DATABASE_URL": dsn, "NACOS_ADDRS": ns.Addr,
			"GREYROUTER_DRAIN_GRACE": "200ms"}
	}
	a, b := start(t, env()), start(t, env())
	a.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "acme"}).Must(t, 201)
	a.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "globex"}).Must(t, 201)
	a.call(t, "POST", "/api/v1/services", map[string]any{"name": "orders"}).Must(t, 201)

	provider := nacosClient(t, ns.Addr)
	v11 := nacos.Registration{Service: "orders", IP: "127.0.0.1", Port: 9101, Ephemeral: true, Metadata: map[string]string{"version": "1.1", "zone": "a"}}
	v12 := nacos.Registration{Service: "orders", IP: "127.0.0.1", Port: 9102, Ephemeral: true, Metadata: map[string]string{"version": "1.2"}}
	for _, reg := range []nacos.Registration{v11, v12} {
		register(t, provider, reg)
	}
	waitFor(t, "both instances synced", func() bool {
		ins := instancesOf(t, b, "orders")
		return live(ins["127.0.0.1-9101"]) && live(ins["127.0.0.1-9102"])
	})
	// The sync created the versions it saw; route acme to 1.1 (default) and
	// globex to 1.2.
	a.call(t, "PUT", "/api/v1/services/orders", map[string]any{"default_version": "1.1"}).Must(t, 200)
	a.call(t, "PUT", "/api/v1/tenants/globex/bindings/orders", map[string]any{"mode": "pin", "version": "1.2"}).Must(t, 200)

	t.Run("registered instances receive decisions on every replica", func(t *testing.T) {
		for _, s := range []*server{a, b} {
			if v, id := s.resolve(t, "acme", "orders", "k"); v != "1.1" || id != "127.0.0.1-9101" {
				t.Errorf("acme resolved to %s/%s", v, id)
			}
			if v, id := s.resolve(t, "globex", "orders", "k"); v != "1.2" || id != "127.0.0.1-9102" {
				t.Errorf("globex resolved to %s/%s", v, id)
			}
		}
		if got := instancesOf(t, a, "orders")["127.0.0.1-9101"]; got["source"] != "registry" {
			t.Errorf("synced instance listed as %v", got)
		}
	})

	t.Run("metadata and weight changes follow, a new version included", func(t *testing.T) {
		changed := v12
		changed.Weight, changed.Metadata = 3, map[string]string{"version": "1.3", "zone": "b"}
		register(t, provider, changed)
		waitFor(t, "version 1.3, weight 300 and zone b", func() bool {
			in := instancesOf(t, b, "orders")["127.0.0.1-9102"]
			md, _ := in["metadata"].(map[string]any)
			return in["version"] == "1.3" && in["weight"] == float64(300) && md["zone"] == "b"
		})
		a.call(t, "PUT", "/api/v1/tenants/globex/bindings/orders", map[string]any{"mode": "pin", "version": "1.3"}).Must(t, 200)
		if v, id := b.resolve(t, "globex", "orders", "k"); v != "1.3" || id != "127.0.0.1-9102" {
			t.Errorf("globex resolved to %s/%s after the version moved to 1.3", v, id)
		}
	})

	t.Run("replicas keep no duplicates and write no revisions while nothing changes", func(t *testing.T) {
		before := a.call(t, "GET", "/api/v1/revisions?limit=1", nil).Must(t, 200).Raw
		time.Sleep(2 * time.Second)
		if after := b.call(t, "GET", "/api/v1/revisions?limit=1", nil).Must(t, 200).Raw; after != before {
			t.Errorf("revisions moved with no registry change:\n%s\n%s", before, after)
		}
		if n := len(instancesOf(t, a, "orders")); n != 2 {
			t.Errorf("%d instances, want 2", n)
		}
	})

	t.Run("nacos down for 10 s under resolve load: no failed decision, table unchanged", func(t *testing.T) {
		table := fmt.Sprint(instancesOf(t, a, "orders"))
		var stop atomic.Bool
		var calls, failures atomic.Int64
		var wg sync.WaitGroup
		for _, s := range []*server{a, b} {
			for range 2 {
				wg.Go(func() {
					for !stop.Load() {
						rep := s.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "orders", "key": "k"})
						calls.Add(1)
						if rep.Status != 200 {
							failures.Add(1)
						}
					}
				})
			}
		}
		ns.Stop(t)
		waitFor(t, "readyz reports nacos stale", func() bool {
			rep := a.call(t, "GET", "/readyz", nil)
			return rep.Status == 200 && rep.Str("checks", "nacos") != "ok" && rep.Str("checks", "nacos") != ""
		})
		time.Sleep(10 * time.Second)
		ns.Start(t)
		waitFor(t, "nacos connected again", func() bool { return a.call(t, "GET", "/readyz", nil).Str("checks", "nacos") == "ok" })
		stop.Store(true)
		wg.Wait()
		if failures.Load() != 0 || calls.Load() == 0 {
			t.Errorf("%d of %d decisions failed during the outage", failures.Load(), calls.Load())
		}
		if after := fmt.Sprint(instancesOf(t, a, "orders")); after != table {
			t.Errorf("table changed during the outage:\n%s\n%s", table, after)
		}
		t.Logf("%d decisions during the outage, none failed", calls.Load())
	})

	t.Run("a deregistered instance drains and goes", func(t *testing.T) {
		// After the outage the provider's client may still be reconnecting.
		var err error
		waitFor(t, "deregistration accepted", func() bool { err = nacos.Deregister(provider, v11); return err == nil })
		waitFor(t, "1.1 instance gone", func() bool {
			_, ok := instancesOf(t, b, "orders")["127.0.0.1-9101"]
			return !ok
		})
		if rep := a.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "orders", "key": "k"}); rep.Status == 200 {
			t.Errorf("acme still resolved after its only instance left: %s", rep.Raw)
		}
	})

	t.Run("greyrouter registers itself and leaves at shutdown", func(t *testing.T) {
		e := env()
		e["NACOS_REGISTER"] = "127.0.0.1:18099"
		c := start(t, e)
		listed := func() bool {
			svc, err := provider.GetService(vo.GetServiceParam{ServiceName: "greyrouter"})
			if err != nil {
				return false
			}
			for _, h := range svc.Hosts {
				if h.Port == 18099 && h.Metadata["version"] != "" {
					return true
				}
			}
			return false
		}
		waitFor(t, "greyrouter listed in nacos", listed)
		c.stop()
		waitFor(t, "greyrouter gone from nacos", func() bool { return !listed() })
	})

	t.Run("an instance whose client goes away without deregistering goes", func(t *testing.T) {
		other := nacosClient(t, ns.Addr)
		v13 := nacos.Registration{Service: "orders", IP: "127.0.0.1", Port: 9103, Ephemeral: true, Metadata: map[string]string{"version": "1.4"}}
		register(t, other, v13)
		waitFor(t, "1.4 instance synced", func() bool { return live(instancesOf(t, a, "orders")["127.0.0.1-9103"]) })
		other.CloseClient()
		waitFor(t, "1.4 instance gone", func() bool {
			_, ok := instancesOf(t, a, "orders")["127.0.0.1-9103"]
			return !ok
		})
	})
}
