package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/httpapi"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

const benchToken = "bench-token-0123456789abcdef"

// hotPathStore stands in for the SQL store. Resolve only reads the store
// when the routing table is missing, which the benchmark rules out by
// projecting first; any other method would panic on the nil embedded
// interface, so a benchmark that touched the store would fail loudly.
type hotPathStore struct{ router.Store }

func (hotPathStore) GetService(context.Context, string) (router.Service, error) {
	return router.Service{}, apperr.New(apperr.Internal, "the store is not on the resolve hot path")
}

func (hotPathStore) Ping(context.Context) error { return nil }

// benchHandler builds the full HTTP handler (recovery, metrics, bearer
// token, decode, validate, Decide over a real Redis, JSON answer) for the
// demo's orders service with tenants acme, globex and initech.
func benchHandler(b *testing.B) http.Handler {
	b.Helper()
	rs := redisstore.New(testutil.Redis(b).Client(b))
	snap := router.Snapshot{Revision: 1, Service: router.Service{Name: "orders", DefaultVersion: "v1",
		Strategy: router.WeightedRoundRobin, LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy()},
		Tenants: []string{"acme", "globex", "initech"},
		Bindings: []router.Binding{
			{Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v2", Sticky: "key", Salt: "a"},
			{Tenant: "globex", Service: "orders", Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2", Percent: 2000, Sticky: "key", Salt: "g",
				Rules: []router.Rule{{Priority: 1, Version: "v2", When: []router.Condition{{Source: "header", Name: "x-canary", Op: "equals", Values: []string{"always"}}}}}},
		}}
	for vi, v := range []string{"v1", "v2"} {
		snap.Versions = append(snap.Versions, router.Version{Service: "orders", Name: v, State: router.VersionActive})
		for k := range 2 {
			snap.Instances = append(snap.Instances, router.Instance{ID: fmt.Sprintf("orders-%s-%d", v, k+1), Service: "orders", Version: v,
				Address: fmt.Sprintf("10.0.1.%d:8080", vi*10+k+1), Weight: 100 * (k + 1), Enabled: true,
				Metadata: map[string]string{"zone": []string{"eu-1a", "eu-1b"}[k]}})
		}
	}
	if err := rs.Project(context.Background(), snap); err != nil {
		b.Fatalf("project: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	m := router.NewManager(hotPathStore{}, rs, rs, log, nil)
	return httpapi.New(httpapi.Config{Manager: m, Log: log, AdminToken: benchToken, Registry: prometheus.NewRegistry()}).Handler()
}

// helloHandler is the peer: a trivial gin route answering a fixed JSON of
// the same shape, through the same test harness.
func helloHandler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	answer := router.Decision{Version: "v1", Reason: "default", Revision: 1,
		Instance: router.InstanceRef{ID: "orders-v1-1", Address: "10.0.1.1:8080", Metadata: map[string]string{"zone": "eu-1a"}}}
	r.POST("/api/v1/resolve", func(c *gin.Context) { c.JSON(http.StatusOK, answer) })
	return r
}

// resolveBodies are request bodies built up front, cycling tenants and keys.
func resolveBodies() [][]byte {
	tenants := []string{"acme", "globex", "initech"}
	out := make([][]byte, 300)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"tenant":%q,"service":"orders","key":"user-%d","headers":{"X-Canary":"never"}}`, tenants[i%3], i)
	}
	return out
}

// serve sends one POST /api/v1/resolve through h without a network. The
// request and recorder are allocated here, so allocs/op includes a small
// harness share; BenchmarkResolveHTTP/gin-hello shows it.
func serve(h http.Handler, body []byte) error {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/resolve", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+benchToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b, _ := io.ReadAll(rec.Body)
		return fmt.Errorf("status %d: %s", rec.Code, b)
	}
	return nil
}

// BenchmarkResolveHTTP is one decision through the full HTTP handler, next
// to the trivial gin handler through the same harness.
func BenchmarkResolveHTTP(b *testing.B) {
	bodies := resolveBodies()
	for _, tc := range []struct {
		name string
		h    func(b *testing.B) http.Handler
	}{
		{"greyrouter", benchHandler},
		{"gin-hello", func(*testing.B) http.Handler { return helloHandler() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := tc.h(b)
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := serve(h, bodies[i%len(bodies)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			// 16 concurrent callers, as in grload and redisstore's benchmarks.
			b.Run("parallel16", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if err := serve(h, bodies[i%len(bodies)]); err != nil {
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
