package router

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	routing "github.com/greyrouter/greyrouter/router"
)

// tableOf compiles a one-service snapshot (service orders, default v1,
// tenant acme) with the given strategy, panic threshold and v1 instances.
func tableOf(t *testing.T, strategy routing.Strategy, panicPercent int, insts ...routing.RoutableInstance) *table {
	t.Helper()
	s := &routing.RoutingSnapshot{Format: routing.SnapshotFormat, Revision: 7, ETag: "e", Tenants: []string{"acme"},
		Services: []routing.ServiceRoutes{{Name: "orders", DefaultVersion: "v1", Strategy: strategy, PanicThresholdPercent: panicPercent,
			Versions: []routing.VersionRoutes{{Name: "v1", Instances: insts}, {Name: "v2", Deprecated: true, Instances: []routing.RoutableInstance{}}}}}}
	tbl, err := compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func ri(id string, weight int, live, ejected bool) routing.RoutableInstance {
	return routing.RoutableInstance{ID: id, Address: id + ":80", Weight: weight, Live: live, Ejected: ejected}
}

// picks counts n decisions by instance id.
func picks(t *testing.T, tbl *table, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		in, err := tbl.decide("acme", "orders", ResolveOptions{Key: fmt.Sprint("k", i)})
		if err != nil {
			t.Fatal(err)
		}
		got[in.ID]++
	}
	return got
}

func TestLocalInstanceStep(t *testing.T) {
	t.Run("instances whose heartbeat lapsed or whose circuit is open are skipped", func(t *testing.T) {
		for _, s := range routing.Strategies {
			tbl := tableOf(t, s, 0, ri("a", 3, true, false), ri("b", 5, false, false), ri("c", 2, true, true), ri("d", 1, true, false))
			got := picks(t, tbl, 40)
			if got["b"] != 0 || got["c"] != 0 || got["a"]+got["d"] != 40 {
				t.Errorf("%s: %v", s, got)
			}
		}
	})
	t.Run("weighted round robin keeps the proportions of the usable instances", func(t *testing.T) {
		tbl := tableOf(t, routing.WeightedRoundRobin, 0, ri("a", 3, true, false), ri("b", 5, false, false), ri("c", 2, true, false))
		// The cycle has 10 steps; b's 5 go to the next usable instance,
		// as decide.lua skips them.
		got := picks(t, tbl, 100)
		if got["a"]+got["c"] != 100 || got["b"] != 0 {
			t.Fatalf("%v", got)
		}
	})
	t.Run("below the panic threshold every live instance is used", func(t *testing.T) {
		tbl := tableOf(t, routing.RoundRobin, 60, ri("a", 1, true, false), ri("b", 1, true, true), ri("c", 1, false, false))
		if got := picks(t, tbl, 4); got["a"] != 2 || got["b"] != 2 {
			t.Fatalf("1 of 2 live healthy is below 60%%: want a and b, got %v", got)
		}
		tbl = tableOf(t, routing.RoundRobin, 50, ri("a", 1, true, false), ri("b", 1, true, true))
		if got := picks(t, tbl, 4); got["a"] != 4 {
			t.Fatalf("1 of 2 healthy is not below 50%%: want a only, got %v", got)
		}
	})
	t.Run("a version with nothing usable is unavailable, saying why", func(t *testing.T) {
		for _, c := range []struct {
			insts []routing.RoutableInstance
			want  string
		}{
			{nil, "no live instance of orders/v1"},
			{[]routing.RoutableInstance{ri("a", 1, false, false)}, "no live instance of orders/v1"},
			{[]routing.RoutableInstance{ri("a", 1, true, true)}, "every instance of orders/v1 is ejected by its circuit breaker"},
		} {
			_, err := tableOf(t, routing.RoundRobin, 0, c.insts...).decide("acme", "orders", ResolveOptions{})
			if !errors.Is(err, ErrUnavailable) || err.Error() != "unavailable: "+c.want {
				t.Errorf("%v: got %v, want %s", c.insts, err, c.want)
			}
		}
	})
	t.Run("unknown tenants and services are not found, a known one is decided", func(t *testing.T) {
		tbl := tableOf(t, routing.RoundRobin, 0, ri("a", 1, true, false))
		if _, err := tbl.decide("nobody", "orders", ResolveOptions{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown tenant: %v", err)
		}
		if _, err := tbl.decide("acme", "ghost", ResolveOptions{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown service: %v", err)
		}
		in, err := tbl.decide("acme", "orders", ResolveOptions{})
		if err != nil || in.Version != "v1" || in.Reason != "default" || in.Revision != 7 || in.Source != SourceLocal || in.Rule != -1 || in.Bucket != -1 {
			t.Errorf("got %+v, %v", in, err)
		}
	})
}

func TestCompileRefusesWhatItCannotDecide(t *testing.T) {
	for name, s := range map[string]routing.RoutingSnapshot{
		"a newer format":    {Format: routing.SnapshotFormat + 1},
		"unknown strategy":  {Format: routing.SnapshotFormat, Services: []routing.ServiceRoutes{{Name: "orders", Strategy: "fastest"}}},
		"a weight below 1":  {Format: routing.SnapshotFormat, Services: []routing.ServiceRoutes{{Name: "orders", Strategy: routing.Random, Versions: []routing.VersionRoutes{{Name: "v1", Instances: []routing.RoutableInstance{ri("a", 0, true, false)}}}}}},
		"no format (a 404)": {},
	} {
		if _, err := compile(&s); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
}

func TestBuildRoutingSnapshotJudgesHeartbeatsAndCircuits(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	svc := routing.Service{Name: "orders", DefaultVersion: "v1", Strategy: routing.RoundRobin, Circuit: routing.DefaultCircuitPolicy()}
	snap := routing.Snapshot{Service: svc,
		Versions: []routing.Version{{Name: "v1", State: routing.VersionActive}, {Name: "v0", State: routing.VersionRetired}},
		Instances: []routing.Instance{
			{ID: "fresh", Version: "v1", Weight: 1, Enabled: true, HeartbeatSeconds: 10, LastHeartbeat: now.Add(-10 * time.Second)},
			{ID: "lapsed", Version: "v1", Weight: 1, Enabled: true, HeartbeatSeconds: 10, LastHeartbeat: now.Add(-11 * time.Second)},
			{ID: "no-ttl", Version: "v1", Weight: 1, Enabled: true},
			{ID: "off", Version: "v1", Weight: 1},
			{ID: "draining", Version: "v1", Weight: 1, Enabled: true, Draining: true},
			{ID: "old", Version: "v0", Weight: 1, Enabled: true},
		}}
	open := map[string]map[string]bool{"orders": {"no-ttl": true}}
	rs, err := routing.BuildRoutingSnapshot(3, now, []string{"b", "a"}, []routing.Snapshot{snap}, open)
	if err != nil {
		t.Fatal(err)
	}
	o := rs.Services[0]
	if len(o.Versions) != 1 || len(o.Versions[0].Instances) != 3 || fmt.Sprint(rs.Tenants) != "[a b]" {
		t.Fatalf("versions %+v tenants %v", o.Versions, rs.Tenants)
	}
	got := map[string]string{}
	for _, in := range o.Versions[0].Instances {
		got[in.ID] = fmt.Sprintf("live=%v ejected=%v", in.Live, in.Ejected)
	}
	want := map[string]string{"fresh": "live=true ejected=false", "lapsed": "live=false ejected=false", "no-ttl": "live=true ejected=true"}
	if fmt.Sprint(got) != fmt.Sprint(want) || o.PanicThresholdPercent != 30 {
		t.Fatalf("got %v panic %d, want %v panic 30", got, o.PanicThresholdPercent, want)
	}

	// Circuit breaking off: circuit state left over is ignored.
	snap.Service.Circuit = routing.CircuitPolicy{}
	rs2, _ := routing.BuildRoutingSnapshot(3, now, []string{"a", "b"}, []routing.Snapshot{snap}, open)
	if rs2.Services[0].Versions[0].Instances[1].Ejected || rs2.Services[0].PanicThresholdPercent != 0 {
		t.Fatalf("circuit off: %+v", rs2.Services[0])
	}
	// The etag follows the content (liveness included), not the time.
	snap.Instances = snap.Instances[2:3] // no-ttl
	fewer, _ := routing.BuildRoutingSnapshot(3, now, []string{"a", "b"}, []routing.Snapshot{snap}, nil)
	later, _ := routing.BuildRoutingSnapshot(3, now.Add(time.Hour), []string{"a", "b"}, []routing.Snapshot{snap}, nil)
	if rs.ETag == rs2.ETag || fewer.ETag == rs2.ETag || later.ETag != fewer.ETag || later.BuiltAt == fewer.BuiltAt {
		t.Fatalf("etags %s %s %s %s", rs.ETag, rs2.ETag, fewer.ETag, later.ETag)
	}
}

func TestResolveWithoutASnapshotIsUnavailable(t *testing.T) {
	c := &Client{local: &local{}}
	if _, err := c.Resolve(context.Background(), "acme", "orders", ResolveOptions{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
}
