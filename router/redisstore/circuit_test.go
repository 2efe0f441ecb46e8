package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

func circuitSnapshot(insts ...router.Instance) router.Snapshot {
	s := snapshot(router.RoundRobin, insts...)
	s.Service.Circuit = router.CircuitPolicy{
		ConsecutiveFailures: 3, WindowSeconds: 30, BaseEjectionSeconds: 1, MaxEjectionSeconds: 8,
		MaxEjectionPercent: 50, PanicThresholdPercent: 0, ProbeTimeoutSeconds: 1,
	}
	return s
}

func report(t *testing.T, st *redisstore.Store, id string, ok bool) string {
	t.Helper()
	r, err := st.Report(context.Background(), router.Outcome{Service: "orders", Instance: id, OK: ok})
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	return r.Circuit
}

func TestCircuitBreaking(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		st := redisstore.New(rdb)
		req := router.Request{Tenant: "globex", Service: "orders"}

		t.Run("consecutive failures eject, cooldown probes, success closes", func(t *testing.T) {
			project(t, st, circuitSnapshot(inst("a", "v1", 1), inst("b", "v1", 1)))
			if s := report(t, st, "a", false); s != "closed" {
				t.Fatalf("after 1 failure: %s", s)
			}
			report(t, st, "a", true) // a success resets the streak
			report(t, st, "a", false)
			report(t, st, "a", false)
			if s := report(t, st, "a", false); s != "open" {
				t.Fatalf("after 3 consecutive failures: %s, want open", s)
			}
			if got := count(t, st, req, 6); got["b"] != 6 {
				t.Fatalf("ejected instance still chosen: %v", got)
			}
			// After the 1 s cooldown one decision probes a.
			deadline := time.Now().Add(3 * time.Second)
			var probe router.Decision
			for {
				probe = decide(t, st, req)
				if probe.Instance.ID == "a" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no probe after cooldown")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !probe.Explain.Probe {
				t.Fatalf("probe not explained: %+v", probe.Explain)
			}
			// While the probe is out, a gets nothing else.
			if got := count(t, st, req, 4); got["a"] != 0 {
				t.Fatalf("half-open instance chosen beyond its probe: %v", got)
			}
			if s := report(t, st, "a", true); s != "closed" {
				t.Fatalf("successful probe left circuit %s", s)
			}
			if got := count(t, st, req, 4); got["a"] != 2 {
				t.Fatalf("closed instance not back in rotation: %v", got)
			}
		})

		t.Run("a failed probe ejects again for longer", func(t *testing.T) {
			project(t, st, circuitSnapshot(inst("a", "v1", 1), inst("b", "v1", 1)))
			for range 3 {
				report(t, st, "b", false)
			}
			until1, _ := rdb.HGet(context.Background(), "gr:{orders}:cb", "b|u").Int64()
			deadline := time.Now().Add(3 * time.Second)
			for decide(t, st, req).Instance.ID != "b" {
				if time.Now().After(deadline) {
					t.Fatal("no probe")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if s := report(t, st, "b", false); s != "open" {
				t.Fatalf("failed probe left %s", s)
			}
			until2, _ := rdb.HGet(context.Background(), "gr:{orders}:cb", "b|u").Int64()
			if d1, d2 := until1, until2; d2-d1 < 1500 {
				t.Fatalf("second cooldown not longer: first until %d, second %d", d1, d2)
			}
		})

		t.Run("no more than the max ejection percentage is ejected", func(t *testing.T) {
			// Reset states left by earlier subtests; projecting recounts.
			rdb.Del(context.Background(), "gr:{orders}:cb")
			project(t, st, circuitSnapshot(inst("a", "v1", 1), inst("b", "v1", 1), inst("c", "v1", 1), inst("d", "v1", 1)))
			for _, id := range []string{"a", "b", "c"} {
				for range 3 {
					report(t, st, id, false)
				}
			}
			got := count(t, st, req, 8)
			if len(got) != 2 {
				t.Fatalf("want 2 of 4 instances left in rotation (50%% cap), got %v", got)
			}
		})

		t.Run("below the panic threshold every live instance is used", func(t *testing.T) {
			s := circuitSnapshot(inst("a", "v1", 1), inst("b", "v1", 1))
			s.Service.Circuit.PanicThresholdPercent = 60
			rdb.Del(context.Background(), "gr:{orders}:cb")
			project(t, st, s)
			for range 3 {
				report(t, st, "a", false)
			}
			d := decide(t, st, req)
			if !d.Explain.Panic {
				t.Fatalf("1 of 2 healthy is below 60%%: want panic, got %+v", d.Explain)
			}
			if got := count(t, st, req, 4); got["a"] != 2 {
				t.Fatalf("panic routing should include the ejected instance: %v", got)
			}
		})

		t.Run("switching circuit breaking off puts ejected instances back", func(t *testing.T) {
			s := circuitSnapshot(inst("a", "v1", 1), inst("b", "v1", 1))
			rdb.Del(context.Background(), "gr:{orders}:cb")
			project(t, st, s)
			for range 3 {
				report(t, st, "a", false)
			}
			if got := count(t, st, req, 4); got["a"] != 0 {
				t.Fatalf("ejected instance chosen: %v", got)
			}
			off := circuitSnapshot(inst("a", "v1", 1), inst("b", "v1", 1))
			off.Service.Circuit = router.CircuitPolicy{WindowSeconds: 30, BaseEjectionSeconds: 1, MaxEjectionSeconds: 8, ProbeTimeoutSeconds: 1}
			project(t, st, off)
			if got := count(t, st, req, 4); got["a"] != 2 {
				t.Fatalf("with circuit breaking off, want a in rotation: %v", got)
			}
		})

		t.Run("the error rate over the window ejects", func(t *testing.T) {
			s := circuitSnapshot(inst("a", "v1", 1), inst("b", "v1", 1))
			s.Service.Circuit.ConsecutiveFailures = 0
			s.Service.Circuit.ErrorRatePercent = 50
			s.Service.Circuit.MinRequests = 10
			rdb.Del(context.Background(), "gr:{orders}:cb")
			project(t, st, s)
			// Alternate ok/error: never 2 failures in a row, but 50 % errors.
			state := ""
			for i := range 10 {
				state = report(t, st, "a", i%2 == 0)
			}
			if state != "open" {
				t.Fatalf("50%% errors over 10 requests: circuit %s, want open", state)
			}
		})
	})
}

// TestOpenCircuitsFeedSnapshotDeciders covers circuit breaking for
// deciders that route from a snapshot (the SDK's local mode): they avoid
// what OpenCircuits lists, and once a cooldown is over the first outcome
// reported decides, as a probe's would.
func TestOpenCircuitsFeedSnapshotDeciders(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		st := redisstore.New(rdb)
		project(t, st, circuitSnapshot(inst("a", "v1", 1), inst("b", "v1", 1), inst("c", "v1", 1), inst("d", "v1", 1)))
		open := func() map[string]bool {
			t.Helper()
			o, err := st.OpenCircuits(ctx, "orders")
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		if o := open(); len(o) != 0 {
			t.Fatalf("open circuits before any failure: %v", o)
		}
		eject := func(id string) {
			t.Helper()
			for range 3 {
				report(t, st, id, false)
			}
		}
		eject("a")
		if o := open(); !o["a"] || len(o) != 1 {
			t.Fatalf("open circuits = %v, want a", o)
		}
		// After the 1 s cooldown a is no longer avoided: its next call
		// probes it.
		waitFor(t, 3*time.Second, "a's cooldown ends", func() bool { return !open()["a"] })
		if s := report(t, st, "a", false); s != "open" {
			t.Fatalf("a failure after the cooldown: %s, want open again", s)
		}
		if o := open(); !o["a"] {
			t.Fatalf("open circuits = %v after a failed probe, want a", o)
		}
		waitFor(t, 5*time.Second, "a's second, doubled cooldown ends", func() bool { return !open()["a"] })
		if s := report(t, st, "a", true); s != "closed" {
			t.Fatalf("a success after the cooldown: %s, want closed", s)
		}
		// A closed circuit counts toward the ejection cap again: two of
		// four instances (50 %) may be out at once.
		eject("b")
		eject("c")
		if o := open(); !o["b"] || !o["c"] || o["a"] {
			t.Fatalf("open circuits = %v, want b and c", o)
		}
	})
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
