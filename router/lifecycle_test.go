package router_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
	"github.com/greyrouter/greyrouter/router/sqlstore"
)

// clock is a time source the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// newClockedManager wires a Manager over SQLite and a real Redis whose
// clock the test controls. Redis keeps its own clock for leases.
func newClockedManager(t *testing.T) (*router.Manager, *clock, *redis.Client) {
	t.Helper()
	db := testutil.MigratedDB(t, "")
	rdb := testutil.Redis(t).Client(t)
	rs := redisstore.New(rdb)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	m := router.NewManager(sqlstore.New(db.Gorm, db.Dialect()), rs, rs, slog.New(slog.DiscardHandler), clk.now)
	return m, clk, rdb
}

// seedService creates tenant acme and service orders (version v1, the
// default) with instances of weight 100.
func seedService(t *testing.T, m *router.Manager, svc router.Service, ids ...string) {
	t.Helper()
	ctx := context.Background()
	must[router.Tenant](t)(m.CreateTenant(ctx, "alice", router.Tenant{Name: "acme"}))
	svc.Name, svc.Circuit = "orders", router.DefaultCircuitPolicy()
	if svc.LeaseSeconds == 0 {
		svc.LeaseSeconds = 30
	}
	must[router.Service](t)(m.CreateService(ctx, "alice", svc))
	must[router.Version](t)(m.CreateVersion(ctx, "alice", router.Version{Service: "orders", Name: "v1"}))
	for _, id := range ids {
		register(t, m, id)
	}
	svc.DefaultVersion = "v1"
	must[router.Service](t)(m.UpdateService(ctx, "alice", svc))
}

func register(t *testing.T, m *router.Manager, id string) router.Instance {
	t.Helper()
	in, err := m.RegisterInstance(context.Background(), router.Instance{ID: id, Service: "orders", Version: "v1", Address: id + ":80", Weight: 100, Enabled: true})
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	return in
}

func setDraining(t *testing.T, m *router.Manager, id string, draining bool) router.Instance {
	t.Helper()
	in, err := m.UpdateInstance(context.Background(), "orders", id, router.InstancePatch{Draining: &draining})
	if err != nil {
		t.Fatalf("set %s draining=%v: %v", id, draining, err)
	}
	return in
}

func reconcile(t *testing.T, m *router.Manager) {
	t.Helper()
	if err := m.ReconcileLifecycle(context.Background()); err != nil {
		t.Fatalf("reconcile lifecycle: %v", err)
	}
}

// present reports whether the instance is still registered.
func present(t *testing.T, m *router.Manager, id string) bool {
	t.Helper()
	_, err := m.Store().GetInstance(context.Background(), "orders", id)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func decideOrders(m *router.Manager) (router.Decision, error) {
	return m.Resolve(context.Background(), router.Request{Tenant: "acme", Service: "orders"}, router.DecideOptions{})
}

func TestDrainingLosesNoRequest(t *testing.T) {
	m, clk, _ := newClockedManager(t)
	ctx := context.Background()
	seedService(t, m, router.Service{Strategy: router.LeastConnections}, "a", "b", "c")

	// A caller holds a lease on b across the drain.
	var held router.Decision
	var others []router.Decision
	for held.Lease == "" {
		d, err := decideOrders(m)
		if err != nil {
			t.Fatal(err)
		}
		if d.Instance.ID == "b" {
			held = d
		} else {
			others = append(others, d)
		}
	}
	for _, d := range others {
		if _, err := m.Report(ctx, router.Outcome{Service: "orders", Instance: d.Instance.ID, OK: true, Lease: d.Lease}); err != nil {
			t.Fatal(err)
		}
	}

	// Continuous load: each caller decides, then reports and so releases
	// its lease. A decision for b that started after the drain returned
	// is a lost request in the making.
	var drained, stop atomic.Bool
	var total, afterDrain atomic.Int64
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				wasDrained := drained.Load()
				d, err := decideOrders(m)
				if err != nil {
					fail("resolve: %v", err)
					continue
				}
				total.Add(1)
				if wasDrained {
					afterDrain.Add(1)
					if d.Instance.ID == "b" {
						fail("decision for b after its drain returned")
					}
				}
				if _, err := m.Report(ctx, router.Outcome{Service: "orders", Instance: d.Instance.ID, OK: true, Lease: d.Lease}); err != nil {
					fail("report to %s: %v", d.Instance.ID, err)
				}
			}
		})
	}
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("load before the drain", func() bool { return total.Load() >= 100 })

	in := setDraining(t, m, "b", true)
	drained.Store(true)
	if !in.Draining || !in.DrainingSince.Equal(clk.now()) {
		t.Fatalf("drained instance: draining %v since %v, want since %v", in.Draining, in.DrainingSince, clk.now())
	}
	waitFor("load after the drain", func() bool { return afterDrain.Load() >= 300 })

	t.Run("a held lease keeps the drained instance past its grace period", func(t *testing.T) {
		clk.add(router.DefaultDrainGrace + time.Second)
		reconcile(t, m)
		if !present(t, m, "b") {
			t.Fatal("b removed while a caller still held its lease")
		}
	})
	t.Run("once the lease is released the instance is removed", func(t *testing.T) {
		if _, err := m.Report(ctx, router.Outcome{Service: "orders", Instance: "b", OK: true, Lease: held.Lease}); err != nil {
			t.Fatalf("report on the held lease: %v", err)
		}
		reconcile(t, m)
		if present(t, m, "b") {
			t.Fatal("b still registered with no lease left after its grace period")
		}
	})
	before := afterDrain.Load()
	waitFor("load after the removal", func() bool { return afterDrain.Load() >= before+300 })
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests went wrong, first: %s", len(failures), total.Load(), failures[0])
	}
}

func TestDrainedInstancesAreRemovedOnSchedule(t *testing.T) {
	t.Run("an instance without leases waits out the grace period", func(t *testing.T) {
		m, clk, _ := newClockedManager(t)
		seedService(t, m, router.Service{Strategy: router.RoundRobin}, "a", "b")
		m.SetLifecycle(router.Lifecycle{DrainGrace: 30 * time.Second})
		setDraining(t, m, "b", true)
		clk.add(29 * time.Second)
		reconcile(t, m)
		if !present(t, m, "b") {
			t.Fatal("b removed before its grace period ended")
		}
		clk.add(time.Second)
		reconcile(t, m)
		if present(t, m, "b") {
			t.Fatal("b still registered after its grace period")
		}
		for range 4 {
			if d, err := decideOrders(m); err != nil || d.Instance.ID != "a" {
				t.Fatalf("after removal: %s, %v", d.Instance.ID, err)
			}
		}
	})
	t.Run("an instance that stops draining stays and its drain time is cleared", func(t *testing.T) {
		m, clk, _ := newClockedManager(t)
		seedService(t, m, router.Service{Strategy: router.RoundRobin}, "a", "b")
		setDraining(t, m, "b", true)
		clk.add(time.Second)
		if in := setDraining(t, m, "b", false); !in.DrainingSince.IsZero() {
			t.Fatalf("undrained instance keeps draining_since %v", in.DrainingSince)
		}
		clk.add(time.Hour)
		reconcile(t, m)
		if !present(t, m, "b") {
			t.Fatal("an instance no longer draining was removed")
		}
	})
	t.Run("draining again restarts the grace period, draining twice does not", func(t *testing.T) {
		m, clk, _ := newClockedManager(t)
		seedService(t, m, router.Service{Strategy: router.RoundRobin}, "a", "b")
		first := setDraining(t, m, "b", true)
		clk.add(time.Second)
		if again := setDraining(t, m, "b", true); !again.DrainingSince.Equal(first.DrainingSince) {
			t.Fatalf("draining a draining instance moved draining_since from %v to %v", first.DrainingSince, again.DrainingSince)
		}
		setDraining(t, m, "b", false)
		clk.add(time.Hour)
		second := setDraining(t, m, "b", true)
		if !second.DrainingSince.Equal(clk.now()) {
			t.Fatalf("second drain since %v, want %v", second.DrainingSince, clk.now())
		}
		clk.add(router.DefaultDrainGrace - time.Second)
		reconcile(t, m)
		if !present(t, m, "b") {
			t.Fatal("the first drain's time was used")
		}
	})
	t.Run("re-registering a draining instance as live cancels its removal", func(t *testing.T) {
		m, clk, _ := newClockedManager(t)
		seedService(t, m, router.Service{Strategy: router.RoundRobin}, "a", "b")
		setDraining(t, m, "b", true)
		if in := register(t, m, "b"); in.Draining || !in.DrainingSince.IsZero() {
			t.Fatalf("re-registered instance: draining %v since %v", in.Draining, in.DrainingSince)
		}
		clk.add(time.Hour)
		reconcile(t, m)
		if !present(t, m, "b") {
			t.Fatal("a re-registered instance was removed")
		}
	})
	t.Run("an instance draining past the maximum is removed despite a lease", func(t *testing.T) {
		m, clk, _ := newClockedManager(t)
		seedService(t, m, router.Service{Strategy: router.LeastConnections, LeaseSeconds: 3600}, "b")
		m.SetLifecycle(router.Lifecycle{DrainMax: time.Minute})
		if d, err := decideOrders(m); err != nil || d.Lease == "" {
			t.Fatalf("lease: %+v, %v", d, err)
		}
		setDraining(t, m, "b", true)
		clk.add(time.Minute - time.Second)
		reconcile(t, m)
		if !present(t, m, "b") {
			t.Fatal("removed before the maximum while holding a lease")
		}
		clk.add(time.Second)
		reconcile(t, m)
		if present(t, m, "b") {
			t.Fatal("still registered after draining for the maximum")
		}
	})
	t.Run("a lease that expires unreported lets the instance go", func(t *testing.T) {
		m, clk, _ := newClockedManager(t)
		seedService(t, m, router.Service{Strategy: router.LeastConnections, LeaseSeconds: 2}, "a", "b")
		for {
			d, err := decideOrders(m)
			if err != nil {
				t.Fatal(err)
			}
			if d.Instance.ID == "b" {
				break // never reported
			}
		}
		setDraining(t, m, "b", true)
		clk.add(router.DefaultDrainGrace)
		reconcile(t, m)
		if !present(t, m, "b") {
			t.Fatal("removed while its lease was live")
		}
		deadline := time.Now().Add(10 * time.Second)
		for present(t, m, "b") {
			if time.Now().After(deadline) {
				t.Fatal("b never removed after its lease expired")
			}
			time.Sleep(50 * time.Millisecond)
			reconcile(t, m)
		}
	})
	t.Run("the reconciler loop removes drained instances by itself", func(t *testing.T) {
		m, clk, _ := newClockedManager(t)
		seedService(t, m, router.Service{Strategy: router.RoundRobin}, "a", "b")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); m.RunReconciler(ctx, 10*time.Millisecond, time.Hour) }()
		t.Cleanup(func() { cancel(); <-done })
		setDraining(t, m, "b", true)
		clk.add(router.DefaultDrainGrace)
		deadline := time.Now().Add(10 * time.Second)
		for present(t, m, "b") {
			if time.Now().After(deadline) {
				t.Fatal("the reconciler never removed b")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestWarmupWeightRampsLinearlyInSteps(t *testing.T) {
	const warmup = 100 * time.Second
	tests := []struct {
		name string
		age  time.Duration
		want int
	}{
		{"a new instance starts at weight 1", 0, 1},
		{"the first step keeps weight 1", 9 * time.Second, 1},
		{"each tenth of the warm-up adds a tenth of the weight", 10 * time.Second, 20},
		{"the weight holds within a step", 59 * time.Second, 100},
		{"the last step is nine tenths", 99 * time.Second, 180},
		{"the full weight applies once warm", warmup, 200},
		{"an instance from the future counts as new", -time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := router.WarmupWeight(200, tt.age, warmup); got != tt.want {
				t.Fatalf("weight 200 at %v of %v = %d, want %d", tt.age, warmup, got, tt.want)
			}
		})
	}
	t.Run("without a warm-up the weight is full at once", func(t *testing.T) {
		if got := router.WarmupWeight(200, 0, 0); got != 200 {
			t.Fatalf("got %d", got)
		}
	})
	t.Run("short warm-ups step once a second", func(t *testing.T) {
		if s := router.WarmupStep(3 * time.Second); s != time.Second {
			t.Fatalf("step %v", s)
		}
	})
}

func TestWarmupSecondsAreValidated(t *testing.T) {
	for _, secs := range []int{-1, router.MaxWarmupSeconds + 1} {
		s := router.Service{Name: "orders", Strategy: router.RoundRobin, LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy(), WarmupSeconds: secs}
		err := s.Validate()
		if _, ok := apperr.DetailsOf(err)["warmup_seconds"]; !ok {
			t.Errorf("warmup_seconds %d: %v, want a warmup_seconds problem", secs, err)
		}
	}
}

func TestWarmupRampsANewInstancesShare(t *testing.T) {
	m, clk, rdb := newClockedManager(t)
	ctx := context.Background()
	seedService(t, m, router.Service{Strategy: router.WeightedRoundRobin, WarmupSeconds: 100}, "a", "b")
	clk.add(time.Hour) // a and b are warm
	c := register(t, m, "c")
	warmup := 100 * time.Second

	// share makes exactly one smooth WRR cycle of decisions: any such
	// window holds each instance exactly its (reduced) weight.
	share := func(t *testing.T, cw int) (got, want int, cycle int) {
		t.Helper()
		seq := router.WRRSequence([]int{100, 100, cw}, router.MaxWRRSequence)
		for _, i := range seq {
			if i == 2 {
				want++
			}
		}
		for range seq {
			d, err := decideOrders(m)
			if err != nil {
				t.Fatal(err)
			}
			if d.Instance.ID == "c" {
				got++
			}
		}
		return got, want, len(seq)
	}
	sum := func() string { return rdb.HGet(ctx, "gr:{orders}:cfg", "_sum").Val() }

	last := 0.0
	for k := 0; k <= 10; k++ {
		clk.set(c.CreatedAt.Add(time.Duration(k)*10*time.Second + 5*time.Second))
		reconcile(t, m)
		age := clk.now().Sub(c.CreatedAt)
		cw := router.WarmupWeight(100, age, warmup)
		got, want, n := share(t, cw)
		if got != want {
			t.Fatalf("at %v c got %d of %d decisions, want %d (weight %d)", age, got, n, want, cw)
		}
		frac := float64(got) / float64(n)
		if frac <= last {
			t.Fatalf("at %v c's share %.3f did not grow from %.3f", age, frac, last)
		}
		last = frac
	}
	if last != 1.0/3 {
		t.Fatalf("after the warm-up c's share is %.3f, want a third", last)
	}

	t.Run("re-projecting within a step rewrites nothing", func(t *testing.T) {
		d := register(t, m, "d")
		clk.set(d.CreatedAt.Add(12 * time.Second))
		reconcile(t, m)
		before := sum()
		clk.set(d.CreatedAt.Add(18 * time.Second))
		if err := m.SyncService(ctx, "orders"); err != nil {
			t.Fatal(err)
		}
		if after := sum(); after != before {
			t.Fatalf("the table changed within a warm-up step: %s -> %s", before, after)
		}
		clk.set(d.CreatedAt.Add(21 * time.Second))
		reconcile(t, m)
		if after := sum(); after == before {
			t.Fatal("the next warm-up step did not change the table")
		}
	})
}
