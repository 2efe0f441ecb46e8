package registry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func orders(id string) Instance {
	return Instance{Service: "orders", ID: id, Version: "v1", Address: id + ".internal:8080", Metadata: map[string]string{"zone": "a"}}
}

func TestRouterBackend(t *testing.T) {
	t.Run("a registered instance receives decisions at once", func(t *testing.T) {
		tr := newRouter(t)
		reg, err := Register(t.Context(), tr.backend(), orders("o1"), Options{TTL: 10 * time.Second, DrainFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Shutdown(context.Background()) })
		if id, code := tr.resolve(t); id != "o1" {
			t.Fatalf("resolve = %q (%s), want o1", id, code)
		}
		in := tr.instance(t, "o1")
		if in["heartbeat_seconds"] != float64(10) || in["address"] != "o1.internal:8080" || in["source"] != "api" {
			t.Fatalf("stored instance = %v", in)
		}
	})

	t.Run("an empty id is derived from the address", func(t *testing.T) {
		tr := newRouter(t)
		reg, err := Register(t.Context(), tr.backend(), Instance{Service: "orders", Version: "v1", Address: "10.0.0.7:8080"}, Options{DrainFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		if reg.Instance().ID != "10.0.0.7-8080" || tr.instance(t, "10.0.0.7-8080") == nil {
			t.Fatalf("id = %q, or the router does not know it", reg.Instance().ID)
		}
		if err := reg.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("heartbeats keep a one-second TTL instance routable while an unbeaten one expires", func(t *testing.T) {
		tr := newRouter(t)
		// A peer registered with the same TTL and never beaten: proof that
		// the TTL really ends routability.
		tr.must(t, "POST", "/api/v1/services/orders/instances", map[string]any{"id": "silent", "version": "v1", "address": "silent:80", "heartbeat_seconds": 1}, 201)
		reg, err := Register(t.Context(), tr.backend(), orders("o1"), Options{TTL: time.Second, DrainFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Shutdown(context.Background()) })
		end := time.Now().Add(3 * time.Second)
		for time.Now().Before(end) {
			id, code := tr.resolve(t)
			if id != "o1" && id != "silent" {
				t.Fatalf("resolve after %s = %q (%s), want an instance", time.Until(end), id, code)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for range 10 {
			if id, code := tr.resolve(t); id != "o1" {
				t.Fatalf("after 3 s resolve = %q (%s), want only the beaten o1", id, code)
			}
		}
	})

	t.Run("shutdown stops new decisions at once, waits, then deregisters", func(t *testing.T) {
		tr := newRouter(t)
		tr.must(t, "POST", "/api/v1/services/orders/instances", map[string]any{"id": "peer", "version": "v1", "address": "peer:80"}, 201)
		var logs logBuffer
		reg, err := Register(t.Context(), tr.backend(), orders("o1"), Options{TTL: 2 * time.Second, DrainFor: time.Second, Log: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 4 {
			id, _ := tr.resolve(t)
			seen[id] = true
		}
		if !seen["o1"] || !seen["peer"] {
			t.Fatalf("before shutdown decisions went to %v, want both", seen)
		}

		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- reg.Shutdown(context.Background()) }()
		// Logged once the router answered the drain: from then on, no
		// decision may name o1.
		eventually(t, 2*time.Second, "o1 draining", func() bool { return strings.Contains(logs.String(), "instance draining") })
		for range 20 {
			if id, code := tr.resolve(t); id != "peer" {
				t.Fatalf("resolve while o1 drains = %q (%s), want peer", id, code)
			}
		}
		if in := tr.instance(t, "o1"); in == nil || in["draining"] != true {
			t.Fatalf("o1 during its drain period = %v, want it registered and draining", in)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < time.Second {
			t.Fatalf("shutdown took %s, less than DrainFor", took)
		}
		if in := tr.instance(t, "o1"); in != nil {
			t.Fatalf("o1 still registered after shutdown: %v", in)
		}
		if err := reg.Shutdown(t.Context()); err != nil {
			t.Fatalf("second shutdown: %v", err)
		}
	})

	t.Run("a drain started early counts towards the drain period", func(t *testing.T) {
		tr := newRouter(t)
		reg, err := Register(t.Context(), tr.backend(), orders("o1"), Options{DrainFor: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		if id, code := tr.resolve(t); id != "" {
			t.Fatalf("resolve after Drain = %q, want none (%s)", id, code)
		}
		eventually(t, 2*time.Second, "drain period over", func() bool { return time.Since(reg.drainedAt) > 500*time.Millisecond })
		start := time.Now()
		if err := reg.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 400*time.Millisecond {
			t.Fatalf("shutdown waited %s again", took)
		}
	})

	t.Run("shutdown with an ended context still deregisters", func(t *testing.T) {
		tr := newRouter(t)
		reg, err := Register(t.Context(), tr.backend(), orders("o1"), Options{DrainFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if err := reg.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if in := tr.instance(t, "o1"); in != nil {
			t.Fatalf("o1 still registered: %v", in)
		}
	})

	t.Run("an instance the router lost is registered again within a few heartbeats", func(t *testing.T) {
		tr := newRouter(t)
		var logs logBuffer
		reg, err := Register(t.Context(), tr.backend(), orders("o1"), Options{TTL: time.Second, DrainFor: -1, Log: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Shutdown(context.Background()) })
		tr.must(t, "DELETE", "/api/v1/services/orders/instances/o1", nil, 200)
		eventually(t, 3*time.Second, "o1 registered again and routable", func() bool { id, _ := tr.resolve(t); return id == "o1" })
		if !strings.Contains(logs.String(), "registering it again") {
			t.Fatalf("no log of the re-registration:\n%s", logs.String())
		}
	})

	t.Run("failed heartbeats are logged and retried until the router answers again", func(t *testing.T) {
		tr := newRouter(t)
		var logs logBuffer
		reg, err := Register(t.Context(), tr.backend(), orders("o1"), Options{TTL: time.Second, DrainFor: -1, Log: logs.logger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Shutdown(context.Background()) })
		tr.failHeartbeats.Store(true)
		eventually(t, 3*time.Second, "a logged heartbeat failure", func() bool { return strings.Contains(logs.String(), "heartbeat failed") })
		// The TTL runs out while heartbeats fail.
		eventually(t, 3*time.Second, "o1 unroutable", func() bool { id, _ := tr.resolve(t); return id == "" })
		tr.failHeartbeats.Store(false)
		eventually(t, 3*time.Second, "o1 routable again", func() bool { id, _ := tr.resolve(t); return id == "o1" })
		if !strings.Contains(logs.String(), "heartbeat recovered") {
			t.Fatalf("no log of the recovery:\n%s", logs.String())
		}
	})

	t.Run("register fails at once on what retrying cannot fix", func(t *testing.T) {
		tr := newRouter(t)
		for name, c := range map[string]struct {
			b  Backend
			in Instance
		}{
			"unknown version": {tr.backend(), Instance{Service: "orders", ID: "o1", Version: "v9", Address: "o1:80"}},
			"wrong token":     {WithRouter(tr.URL, StaticToken("not-the-token")), orders("o1")},
			"bad address":     {tr.backend(), Instance{Service: "orders", ID: "o1", Version: "v1", Address: "o1"}},
			"bad weight":      {tr.backend(), Instance{Service: "orders", ID: "o1", Version: "v1", Address: "o1:80", Weight: -1}},
		} {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			start := time.Now()
			_, err := Register(ctx, c.b, c.in, Options{})
			cancel()
			if err == nil || time.Since(start) > time.Second {
				t.Errorf("%s: err = %v after %s, want an error at once", name, err, time.Since(start))
			}
		}
	})

	t.Run("register retries an unreachable router until its context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
		defer cancel()
		var logs logBuffer
		_, err := Register(ctx, WithRouter("http://127.0.0.1:1", StaticToken(adminToken)), orders("o1"), Options{Log: logs.logger()})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the deadline", err)
		}
		if n := strings.Count(logs.String(), "registration failed"); n < 2 {
			t.Fatalf("%d retries logged, want at least 2:\n%s", n, logs.String())
		}
	})

	t.Run("a refused token is replaced once and the request sent again", func(t *testing.T) {
		tr := newRouter(t)
		var asked []string
		tokens := func(ctx context.Context) (string, error) {
			asked = append(asked, RefusedToken(ctx))
			if RefusedToken(ctx) == "" {
				return "stale-token", nil
			}
			return adminToken, nil
		}
		reg, err := Register(t.Context(), WithRouter(tr.URL, tokens), orders("o1"), Options{TTL: time.Hour, DrainFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(asked) != 2 || asked[1] != "stale-token" {
			t.Fatalf("token source asked with refused tokens %q, want \"\" then stale-token", asked)
		}
		if err := reg.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
