package router

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	routing "github.com/greyrouter/greyrouter/router"
)

// reporterHarness is a router with service billing (round robin over
// billing-a and billing-b, both at unused addresses: only reports reach
// them) and a local client.
func reporterHarness(t *testing.T) (*harness, *Client) {
	t.Helper()
	h := newHarness(t)
	h.seedService(t, "billing", routing.RoundRobin,
		instanceSpec{"billing-a", "v1", "10.0.0.1:80"}, instanceSpec{"billing-b", "v1", "10.0.0.2:80"})
	return h, h.local(t, LocalConfig{})
}

var billingB = Instance{Tenant: "t00", Service: "billing", Version: "v1", ID: "billing-b"}

func TestReporter(t *testing.T) {
	t.Run("outcomes reported while the router is away wait, bounded, and reach it when it is back", func(t *testing.T) {
		h, c := reporterHarness(t)
		rep := newReporter(t, c, ReporterConfig{Capacity: 8, Batch: 4, Interval: 10 * time.Millisecond, Attempts: 1000})
		h.outage(true)
		for range 1000 {
			rep.Report(billingB, false, time.Millisecond) // never waits
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := rep.Flush(ctx); err == nil {
			t.Fatal("flush succeeded with the router away")
		}
		s := rep.Stats()
		if s.Sent != 0 || s.Dropped < 1000-8-4 || s.Dropped > 1000-1 {
			t.Fatalf("during the outage: %+v", s)
		}
		h.outage(false)
		flush(t, rep)
		if s := rep.Stats(); s.Sent == 0 || s.Sent+s.Dropped != 1000 || s.Failed+s.Rejected != 0 {
			t.Fatalf("after: %+v", s)
		}
		if picks := h.routerPicks(t, "billing", 6); picks["billing-b"] != 0 {
			t.Fatalf("the errors did not eject billing-b: router picks %v", picks)
		}
	})

	t.Run("a local client stops choosing an instance its reports ejected", func(t *testing.T) {
		_, c := reporterHarness(t)
		rep := newReporter(t, c, ReporterConfig{})
		for range 10 {
			rep.Report(billingB, false, time.Millisecond)
		}
		flush(t, rep)
		// The ejection bumps the router's change count; the snapshot is
		// rebuilt within ~0.1-0.3 s (at worst at the periodic rebuild).
		eventually(t, 10*time.Second, "the local client leaves billing-b out", func() bool {
			for range 6 {
				in, err := c.Resolve(context.Background(), "t00", "billing", ResolveOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if in.ID == "billing-b" {
					return false
				}
			}
			return true
		})
	})

	t.Run("Close sends what is queued and later reports are dropped", func(t *testing.T) {
		h, c := reporterHarness(t)
		rep, err := NewReporter(c, ReporterConfig{Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			rep.Report(billingB, false, time.Millisecond)
		}
		if err := rep.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		rep.Report(billingB, false, time.Millisecond)
		if s := rep.Stats(); s.Sent != 5 || s.Dropped != 1 {
			t.Fatalf("stats %+v", s)
		}
		if picks := h.routerPicks(t, "billing", 6); picks["billing-b"] != 0 {
			t.Fatalf("router picks %v", picks)
		}
		if err := rep.Close(context.Background()); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})

	t.Run("outcomes the router refuses are counted and not sent again", func(t *testing.T) {
		_, c := reporterHarness(t)
		rep := newReporter(t, c, ReporterConfig{})
		rep.Report(Instance{Service: "billing", ID: "ghost"}, true, 0)
		rep.Report(Instance{Service: "nowhere", ID: "billing-a"}, true, 0)
		rep.Report(Instance{}, true, 0)
		rep.Report(Instance{Service: "billing", ID: "billing-a"}, true, 0)
		flush(t, rep)
		if s := rep.Stats(); s.Rejected != 3 || s.Sent != 1 {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("a tenant's person may not report", func(t *testing.T) {
		h, _ := reporterHarness(t)
		rep := newReporter(t, NewHTTP(h.srv.URL, StaticToken(userToken), nil), ReporterConfig{})
		rep.Report(billingB, false, 0)
		flush(t, rep)
		if s := rep.Stats(); s.Rejected != 1 || s.Sent != 0 {
			t.Fatalf("stats %+v", s)
		}
	})

	t.Run("a local client's outcomes may go straight to the router's Redis", func(t *testing.T) {
		h, c := reporterHarness(t)
		h.outage(true) // the report API is out of the way
		rep := newReporter(t, c, ReporterConfig{Redis: h.rdb})
		for range 5 {
			rep.Report(billingB, false, time.Millisecond)
		}
		flush(t, rep)
		if s := rep.Stats(); s.Sent != 5 {
			t.Fatalf("stats %+v", s)
		}
		if picks := h.routerPicks(t, "billing", 6); picks["billing-b"] != 0 {
			t.Fatalf("router picks %v", picks)
		}
	})

	t.Run("counts are exported by result and withdrawn on Close", func(t *testing.T) {
		_, c := reporterHarness(t)
		reg := prometheus.NewRegistry()
		rep, err := NewReporter(c, ReporterConfig{Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewReporter(c, ReporterConfig{Registerer: reg}); err == nil {
			t.Fatal("a second reporter registered the same metrics")
		}
		rep.Report(Instance{Service: "billing", ID: "billing-a"}, true, 0)
		rep.Report(Instance{}, true, 0)
		flush(t, rep)
		if got := gatherReports(t, reg); !reflect.DeepEqual(got, map[string]float64{"sent": 1, "rejected": 1, "failed": 0, "dropped": 0}) {
			t.Fatalf("exported %v", got)
		}
		_ = rep.Close(context.Background())
		if got := gatherReports(t, reg); len(got) != 0 {
			t.Fatalf("after Close: %v", got)
		}
	})
}

func TestGroupByInstanceKeepsEachInstancesOrder(t *testing.T) {
	o := func(svc, id string, ok bool) routing.Outcome {
		return routing.Outcome{Service: svc, Instance: id, OK: ok}
	}
	got := groupByInstance([]routing.Outcome{o("s", "a", true), o("s", "b", true), o("s", "a", false), o("t", "a", true), o("s", "b", false)})
	want := [][]routing.Outcome{{o("s", "a", true), o("s", "a", false)}, {o("s", "b", true), o("s", "b", false)}, {o("t", "a", true)}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("got %v", got)
		}
		for k := range want[i] {
			if got[i][k] != want[i][k] {
				t.Fatalf("got %v", got)
			}
		}
	}
}

// gatherReports returns greyrouter_sdk_outcome_reports_total by result.
func gatherReports(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "greyrouter_sdk_outcome_reports_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
