package router

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/httpapi"
)

// The router's GET /api/v1/routing-snapshot, which local clients poll.

func decodeSnapshot(t *testing.T, body []byte) routing.RoutingSnapshot {
	t.Helper()
	var s routing.RoutingSnapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("decode snapshot %q: %v", body, err)
	}
	return s
}

func TestSnapshotEndpoint(t *testing.T) {
	// No periodic rebuild within the test: only revisions and the
	// decider's change count (instances, circuits) wake long polls.
	h := newHarness(t, func(c *httpapi.Config) { c.SnapshotRefresh = time.Hour })
	h.seedOrders(t)
	ctx := context.Background()
	must[routing.Binding](t)(h.m.PutBinding(ctx, "test", routing.Binding{Tenant: "t00", Service: "orders", Mode: routing.ModePin, Version: "v2"}))
	must[routing.Binding](t)(h.m.PutBinding(ctx, "test", routing.Binding{Tenant: "t01", Service: "orders", Mode: routing.ModeSplit,
		Baseline: "v1", Candidate: "v2", Percent: 2500}))

	t.Run("who may read it", func(t *testing.T) {
		for _, c := range []struct {
			name, token string
			status      int
			tenants     string
		}{
			{"no credential", "", http.StatusUnauthorized, ""},
			{"a tenant administrator (a person)", userToken, http.StatusForbidden, ""},
			{"a platform administrator", platformToken, http.StatusOK, "[t00 t01]"},
			{"a platform machine client", platformClientTk, http.StatusOK, "[t00 t01]"},
			{"a tenant's machine client, its own tenant only", clientToken, http.StatusOK, "[t00]"},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, body := h.get(t, "/api/v1/routing-snapshot", c.token)
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
				}
				if c.status != http.StatusOK {
					return
				}
				s := decodeSnapshot(t, body)
				if got := strings.Join(s.Tenants, " "); "["+got+"]" != c.tenants {
					t.Fatalf("tenants %v, want %s", s.Tenants, c.tenants)
				}
				var bound []string
				for _, b := range s.Services[0].Bindings {
					bound = append(bound, b.Tenant)
				}
				if "["+strings.Join(bound, " ")+"]" != c.tenants {
					t.Fatalf("bindings of %v, want %s", bound, c.tenants)
				}
				if resp.Header.Get("ETag") != `"`+s.ETag+`"` || resp.Header.Get("X-Greyrouter-Revision") != strconv.FormatInt(s.Revision, 10) {
					t.Fatalf("headers %v do not match snapshot %s rev %d", resp.Header, s.ETag, s.Revision)
				}
			})
		}
	})

	t.Run("it holds what deciders read", func(t *testing.T) {
		_, body := h.get(t, "/api/v1/routing-snapshot", platformToken)
		s := decodeSnapshot(t, body)
		latest, _ := h.m.Store().LatestRevision(ctx)
		if s.Format != routing.SnapshotFormat || s.Revision != latest || len(s.Services) != 1 {
			t.Fatalf("format %d revision %d (latest %d), %d services", s.Format, s.Revision, latest, len(s.Services))
		}
		o := s.Services[0]
		if o.Name != "orders" || o.DefaultVersion != "v1" || o.Strategy != routing.RoundRobin || len(o.Versions) != 2 ||
			len(o.Versions[1].Instances) != 2 || o.Versions[1].Instances[0].ID != "v2a" || !o.Versions[1].Instances[0].Live {
			t.Fatalf("service %+v", o)
		}
		if o.Bindings[1].Salt == "" || o.Bindings[1].Percent != 2500 {
			t.Fatalf("split binding lost its salt or percentage: %+v", o.Bindings[1])
		}
	})

	t.Run("it comes compressed to clients that accept gzip", func(t *testing.T) {
		resp, body := h.get(t, "/api/v1/routing-snapshot", platformToken)
		if !resp.Uncompressed { // set by net/http when it undid a gzip encoding
			t.Fatalf("not gzipped: %v", resp.Header)
		}
		decodeSnapshot(t, body)
	})

	t.Run("bad queries are refused", func(t *testing.T) {
		for _, q := range []string{"after=-1", "after=x", "wait=61", "wait=-1", "etag=NOT-HEX", "etag=" + strings.Repeat("a", 65)} {
			if resp, body := h.get(t, "/api/v1/routing-snapshot?"+q, platformToken); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400: %s", q, resp.StatusCode, body)
			}
		}
	})

	_, body := h.get(t, "/api/v1/routing-snapshot", platformToken)
	cur := decodeSnapshot(t, body)

	t.Run("a long poll without a change ends in 304 when its wait is over", func(t *testing.T) {
		start := time.Now()
		resp, _ := h.get(t, "/api/v1/routing-snapshot?wait=1&etag="+cur.ETag, platformToken)
		if resp.StatusCode != http.StatusNotModified || time.Since(start) < 900*time.Millisecond {
			t.Fatalf("status %d after %v, want 304 after 1 s", resp.StatusCode, time.Since(start))
		}
		if resp, _ := h.get(t, "/api/v1/routing-snapshot?after="+strconv.FormatInt(cur.Revision, 10), platformToken); resp.StatusCode != http.StatusNotModified {
			t.Fatalf("after the current revision without wait: status %d, want 304", resp.StatusCode)
		}
		if resp, _ := h.get(t, "/api/v1/routing-snapshot?after="+strconv.FormatInt(cur.Revision-1, 10), platformToken); resp.StatusCode != http.StatusOK {
			t.Fatalf("after an older revision: status %d, want 200", resp.StatusCode)
		}
	})

	// poll starts a long poll for a change of what the caller holds.
	poll := func(etag string) <-chan routing.RoutingSnapshot {
		out := make(chan routing.RoutingSnapshot, 1)
		go func() {
			resp, body := h.get(t, "/api/v1/routing-snapshot?wait=30&etag="+etag, platformToken)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("long poll: status %d: %s", resp.StatusCode, body)
				close(out)
				return
			}
			out <- decodeSnapshot(t, body)
		}()
		return out
	}
	await := func(ch <-chan routing.RoutingSnapshot, start time.Time) routing.RoutingSnapshot {
		t.Helper()
		select {
		case s := <-ch:
			t.Logf("the long poll answered %v after the change", time.Since(start))
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("the long poll did not answer a change within 10 s")
		}
		return routing.RoutingSnapshot{}
	}

	t.Run("a configuration change ends a long poll at once", func(t *testing.T) {
		ch := poll(cur.ETag)
		time.Sleep(50 * time.Millisecond) // let the poll start waiting; it is correct either way
		start := time.Now()
		must[routing.Binding](t)(h.m.PutBinding(ctx, "test", routing.Binding{Tenant: "t01", Service: "orders", Mode: routing.ModePin, Version: "v1"}))
		s := await(ch, start)
		if s.Revision <= cur.Revision || s.ETag == cur.ETag {
			t.Fatalf("revision %d etag %s after a change from %d %s", s.Revision, s.ETag, cur.Revision, s.ETag)
		}
		cur = s
	})

	t.Run("an instance change, which makes no revision, ends a long poll too", func(t *testing.T) {
		ch := poll(cur.ETag)
		start := time.Now()
		off := false
		if _, err := h.m.UpdateInstance(ctx, "orders", "v2a", routing.InstancePatch{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		s := await(ch, start)
		if s.Revision != cur.Revision || s.ETag == cur.ETag || len(s.Services[0].Versions[1].Instances) != 1 {
			t.Fatalf("revision %d (was %d), etag changed %v, v2 instances %+v", s.Revision, cur.Revision, s.ETag != cur.ETag, s.Services[0].Versions[1].Instances)
		}
		cur = s
	})

	t.Run("an instance ejected by its circuit ends a long poll too", func(t *testing.T) {
		ch := poll(cur.ETag)
		start := time.Now()
		for range 5 { // the default policy ejects after 5 consecutive failures
			if _, err := h.m.Report(ctx, routing.Outcome{Service: "orders", Instance: "v1a", OK: false}); err != nil {
				t.Fatal(err)
			}
		}
		s := await(ch, start)
		ejected := false
		for _, in := range s.Services[0].Versions[0].Instances {
			ejected = ejected || in.ID == "v1a" && in.Ejected
		}
		if s.Revision != cur.Revision || !ejected {
			t.Fatalf("revision %d (was %d), v1 instances %+v", s.Revision, cur.Revision, s.Services[0].Versions[0].Instances)
		}
	})
}
