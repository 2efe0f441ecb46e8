package router

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	routing "github.com/greyrouter/greyrouter/router"
)

// gauge reads a gauge from a registry, -1 when it is not there.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func version(t *testing.T, c *Client, tenant string) string {
	t.Helper()
	in, err := c.Resolve(context.Background(), tenant, "orders", ResolveOptions{Key: "user-1"})
	if err != nil {
		t.Fatalf("resolve for %s: %v", tenant, err)
	}
	return in.Version
}

func TestLocalClientFollowsChangesAndSurvivesOutages(t *testing.T) {
	h := newHarness(t)
	h.seedOrders(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	file := filepath.Join(t.TempDir(), "routing.json")
	c := h.local(t, LocalConfig{PollWait: time.Second, SnapshotFile: file, Registerer: reg})

	t.Run("a binding change arrives through the long poll", func(t *testing.T) {
		if v := version(t, c, "t00"); v != "v1" {
			t.Fatalf("before: %s", v)
		}
		must[routing.Binding](t)(h.m.PutBinding(ctx, "test", routing.Binding{Tenant: "t00", Service: "orders", Mode: routing.ModePin, Version: "v2"}))
		eventually(t, 5*time.Second, "t00 pinned to v2", func() bool { return version(t, c, "t00") == "v2" })
		latest, _ := h.m.Store().LatestRevision(ctx)
		if c.Revision() != latest || gauge(t, reg, "greyrouter_sdk_routing_snapshot_revision") != float64(latest) {
			t.Fatalf("revision %d, gauge %v, want %d", c.Revision(), gauge(t, reg, "greyrouter_sdk_routing_snapshot_revision"), latest)
		}
		if s := c.Staleness(); s > time.Second {
			t.Fatalf("staleness %v while the router answers", s)
		}
	})

	t.Run("while the router is down, decisions go on and staleness grows", func(t *testing.T) {
		h.outage(true)
		eventually(t, 5*time.Second, "staleness reported", func() bool {
			return c.Staleness() > 300*time.Millisecond && gauge(t, reg, "greyrouter_sdk_routing_snapshot_staleness_seconds") > 0.3
		})
		for range 100 {
			if v := version(t, c, "t00"); v != "v2" {
				t.Fatalf("during the outage: %s", v)
			}
		}
		// A change made meanwhile waits for the router to come back.
		must[routing.Binding](t)(h.m.PutBinding(ctx, "test", routing.Binding{Tenant: "t01", Service: "orders", Mode: routing.ModePin, Version: "v2"}))
		if v := version(t, c, "t01"); v != "v1" {
			t.Fatalf("a change arrived through a router that is down: %s", v)
		}
	})

	t.Run("a restart during the outage decides from the snapshot file", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		start := time.Now()
		again, err := NewLocal(ctx, LocalConfig{RouterURL: h.srv.URL, Tokens: StaticToken(platformClientTk), SnapshotFile: file})
		if err != nil {
			t.Fatalf("NewLocal with a snapshot file and the router down: %v", err)
		}
		defer again.Close()
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("start took %v", took)
		}
		if v := version(t, again, "t00"); v != "v2" {
			t.Fatalf("restarted client: %s", v)
		}
		if s := again.Staleness(); s < 300*time.Millisecond {
			t.Fatalf("staleness %v: the file's snapshot was not confirmed just now", s)
		}
	})

	t.Run("without a file, a start during the outage fails when ctx ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := NewLocal(ctx, LocalConfig{RouterURL: h.srv.URL, Tokens: StaticToken(platformClientTk), SnapshotFile: filepath.Join(t.TempDir(), "none.json")})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("want ErrUnavailable, got %v", err)
		}
	})

	t.Run("when the router returns, the client catches up", func(t *testing.T) {
		h.outage(false)
		start := time.Now()
		eventually(t, 10*time.Second, "t01 pinned to v2", func() bool { return version(t, c, "t01") == "v2" })
		t.Logf("caught up %v after the router returned", time.Since(start))
		eventually(t, 5*time.Second, "staleness back to zero", func() bool { return c.Staleness() < time.Second })
	})

	t.Run("the file holds the latest snapshot", func(t *testing.T) {
		// The file is written just after the snapshot is installed.
		eventually(t, 5*time.Second, "the file has the client's revision", func() bool {
			l := &local{cfg: LocalConfig{SnapshotFile: file}}
			if err := l.loadFile(); err != nil {
				t.Fatalf("load %s: %v", file, err)
			}
			return l.table.Load().revision == c.Revision()
		})
	})
}

func TestTenantClientSeesItsOwnTenantOnly(t *testing.T) {
	h := newHarness(t)
	h.seedOrders(t)
	c := h.local(t, LocalConfig{Tokens: StaticToken(clientToken)})
	if v := version(t, c, "t00"); v != "v1" {
		t.Fatalf("own tenant: %s", v)
	}
	if _, err := c.Resolve(context.Background(), "t01", "orders", ResolveOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another tenant: want ErrNotFound, got %v", err)
	}
}

func TestLocalClientRefusesPeopleAndStrangers(t *testing.T) {
	h := newHarness(t)
	for _, tok := range []string{userToken, "nonsense"} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := NewLocal(ctx, LocalConfig{RouterURL: h.srv.URL, Tokens: StaticToken(tok)})
		cancel()
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrDenied) {
			t.Fatalf("token %s: want ErrUnavailable wrapping ErrDenied, got %v", tok, err)
		}
	}
}
