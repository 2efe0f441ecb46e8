package privilege_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/sdk/auth"
	"github.com/greyrouter/greyrouter/sdk/privilege"
)

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// BenchmarkMiddleware times the privilege middleware on a cache hit (the
// bar, issue 6: at most 300 ns beyond the handler) against the same
// handler without it, on net/http and on gin, and Client.Check on a hit.
// The client follows a real greyrouter's Redis (the answer is trusted on
// the versions) after one remote check. Run with
//
//	go test -run '^$' -bench Middleware -benchtime 2s ./sdk/privilege/
//
// It skips without redis-server.
func BenchmarkMiddleware(b *testing.B) {
	g := newGreyrouter(b)
	g.grant(b, "acme", "alice")
	c := g.client(b, true, privilege.Options{})
	// The principal as sdk/auth's middleware leaves it.
	ctx := auth.NewContext(context.Background(), login.Principal{Kind: login.PrincipalUser, Subject: "alice", Tenant: "acme"})
	r := httptest.NewRequest("GET", "/orders", nil).WithContext(ctx)
	if d, err := c.Check(ctx, req("acme", "alice", "read", "orders/all"), privilege.CheckOptions{}); err != nil || !d.Allowed {
		b.Fatalf("warm-up check %+v %v", d, err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	run := func(b *testing.B, h http.Handler) {
		w := &discard{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != http.StatusNoContent {
				b.Fatalf("status %d", w.code)
			}
		}
	}
	b.Run("net-http/handler", func(b *testing.B) { run(b, handler) })
	b.Run("net-http/middleware", func(b *testing.B) { run(b, c.RequirePermission("orders/all", "read")(handler)) })

	bare, guarded := gin.New(), gin.New()
	ginHandler := func(g *gin.Context) { g.Status(http.StatusNoContent) }
	bare.GET("/orders", ginHandler)
	guarded.GET("/orders", c.GinRequirePermission("orders/all", "read"), ginHandler)
	b.Run("gin/handler", func(b *testing.B) { run(b, bare) })
	b.Run("gin/middleware", func(b *testing.B) { run(b, guarded) })

	b.Run("check", func(b *testing.B) {
		q := req("acme", "alice", "read", "orders/all")
		b.ReportAllocs()
		for b.Loop() {
			if d, _ := c.Check(ctx, q, privilege.CheckOptions{}); d.Tier != privilege.TierLocal {
				b.Fatalf("tier %s", d.Tier)
			}
		}
	})
	b.Run("net-http/middleware/parallel", func(b *testing.B) {
		h := c.RequirePermission("orders/all", "read")(handler)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := &discard{h: http.Header{}}
			for pb.Next() {
				h.ServeHTTP(w, r)
			}
		})
	})
}
