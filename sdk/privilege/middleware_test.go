package privilege_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/sdk/auth"
	"github.com/greyrouter/greyrouter/sdk/privilege"
)

// The tests authenticate with a stub: X-Test-Subject names the subject
// of tenant acme (X-Test-Tenant overrides the tenant), put in the
// context as sdk/auth's middleware does (its own tests cover tokens).

func withPrincipal(r *http.Request) *http.Request {
	s := r.Header.Get("X-Test-Subject")
	if s == "" {
		return r
	}
	tenant := "acme"
	if h, ok := r.Header["X-Test-Tenant"]; ok {
		tenant = h[0]
	}
	return r.WithContext(auth.NewContext(r.Context(), login.Principal{Kind: login.PrincipalUser, Subject: s, Tenant: tenant}))
}

func stubAuthHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(w, withPrincipal(r)) })
}

func stubAuthGin(c *gin.Context) {
	c.Request = withPrincipal(c.Request)
	c.Next()
}

// served is the protected handler: 200 "served".
var served = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("served")) })

// owners says who owns which order, for the attribute-based routes.
var owners = map[string]string{"7": "alice", "8": "bob"}

// routes builds the same four routes on net/http and on gin:
//
//	GET  /orders         read orders/all (RBAC)
//	POST /orders/{id}    update orders/<id> with resource.owner (ABAC)
//	GET  /open           read orders/open, failing open
func routes(c *privilege.Client, opts ...privilege.GuardOption) map[string]http.Handler {
	orderOf := func(id string) (privilege.Resource, map[string]any, error) {
		owner, ok := owners[id]
		if !ok {
			return privilege.Resource{}, nil, errors.New("no such order " + id)
		}
		return privilege.Resource{Name: "orders/" + id, Attributes: map[string]any{"owner": owner}}, nil, nil
	}

	mux := http.NewServeMux()
	mux.Handle("GET /orders", c.RequirePermission("orders/all", "read", opts...)(served))
	mux.Handle("POST /orders/{id}", c.RequirePermissionFunc("update", func(r *http.Request) (privilege.Resource, map[string]any, error) {
		return orderOf(r.PathValue("id"))
	}, opts...)(served))
	mux.Handle("GET /open", c.RequirePermission("orders/open", "read", append(opts, privilege.FailOpen())...)(served))

	e := gin.New()
	e.Use(stubAuthGin)
	ginServed := func(g *gin.Context) { g.String(http.StatusOK, "served") }
	e.GET("/orders", c.GinRequirePermission("orders/all", "read", opts...), ginServed)
	e.POST("/orders/:id", c.GinRequirePermissionFunc("update", func(g *gin.Context) (privilege.Resource, map[string]any, error) {
		return orderOf(g.Param("id"))
	}, opts...), ginServed)
	e.GET("/open", c.GinRequirePermission("orders/open", "read", append(opts, privilege.FailOpen())...), ginServed)
	return map[string]http.Handler{"net/http": stubAuthHTTP(mux), "gin": e}
}

// answer is a recorded response.
type answer struct {
	status int
	body   string
	err    struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Details map[string]string `json:"details"`
	}
}

func call(h http.Handler, method, path, subject string, headers ...string) answer {
	r := httptest.NewRequest(method, path, nil)
	if subject != "" {
		r.Header.Set("X-Test-Subject", subject)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := answer{status: w.Code, body: w.Body.String()}
	var body struct {
		Error *json.RawMessage `json:"error"`
	}
	if json.Unmarshal(w.Body.Bytes(), &body) == nil && body.Error != nil {
		_ = json.Unmarshal(*body.Error, &a.err)
	}
	return a
}

func TestMiddlewareAdmitsTheAllowedAndRefusesTheRestWithTheDecision(t *testing.T) {
	g := newGreyrouter(t)
	g.grant(t, "acme", "alice")
	g.ownerPolicy(t, "acme")
	c := g.client(t, true, privilege.Options{})
	for name, h := range routes(c) {
		t.Run(name, func(t *testing.T) {
			if a := call(h, "GET", "/orders", "alice"); a.status != http.StatusOK || a.body != "served" {
				t.Fatalf("alice: %d %s", a.status, a.body)
			}
			a := call(h, "GET", "/orders", "bob")
			if a.status != http.StatusForbidden || a.err.Code != "forbidden" || a.err.Details["decision_id"] == "" || a.err.Details["reason"] == "" {
				t.Fatalf("bob: %d %s", a.status, a.body)
			}
			if a := call(h, "POST", "/orders/7", "alice"); a.status != http.StatusOK {
				t.Fatalf("alice updates her order: %d %s", a.status, a.body)
			}
			if a := call(h, "POST", "/orders/8", "alice"); a.status != http.StatusForbidden || a.err.Details["decision_id"] == "" {
				t.Fatalf("alice updates bob's order: %d %s", a.status, a.body)
			}
			if a := call(h, "POST", "/orders/9", "alice"); a.status != http.StatusBadRequest || a.err.Code != "invalid" {
				t.Fatalf("an order the resource function cannot find: %d %s", a.status, a.body)
			}
			if a := call(h, "GET", "/orders", ""); a.status != http.StatusUnauthorized || a.err.Code != "unauthenticated" {
				t.Fatalf("no principal: %d %s", a.status, a.body)
			}
			if a := call(h, "GET", "/orders", "root", "X-Test-Tenant", ""); a.status != http.StatusForbidden {
				t.Fatalf("a principal of no tenant: %d %s", a.status, a.body)
			}
			// globex's subjects are asked about in globex, which acme's
			// client may not do: refused, and denied.
			if a := call(h, "GET", "/orders", "alice", "X-Test-Tenant", "globex"); a.status != http.StatusForbidden {
				t.Fatalf("a principal of another tenant: %d %s", a.status, a.body)
			}
		})
	}
}

// syncBuffer is a concurrent-safe log and output buffer.
type syncBuffer = testutil.SyncBuffer

func TestMiddlewareFailsClosedUnlessToldToFailOpenAndLogsIt(t *testing.T) {
	g := newGreyrouter(t)
	g.grant(t, "acme", "alice")
	var logs syncBuffer
	c := g.client(t, false, privilege.Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	hs := routes(c)
	for _, h := range hs { // seen before the outage
		if a := call(h, "GET", "/orders", "alice"); a.status != http.StatusOK {
			t.Fatalf("before the outage: %d %s", a.status, a.body)
		}
	}
	g.Stop()
	for name, h := range hs {
		t.Run(name, func(t *testing.T) {
			if a := call(h, "GET", "/orders", "alice"); a.status != http.StatusOK {
				t.Fatalf("a cached answer during the outage: %d %s", a.status, a.body)
			}
			a := call(h, "GET", "/orders", "carol")
			if a.status != http.StatusForbidden || !strings.Contains(a.err.Details["reason"], "fail closed") {
				t.Fatalf("an unseen check during the outage: %d %s", a.status, a.body)
			}
			if a := call(h, "GET", "/open", "carol"); a.status != http.StatusOK {
				t.Fatalf("a fail-open route during the outage: %d %s", a.status, a.body)
			}
		})
	}
	if n := strings.Count(logs.String(), "fail open"); n != len(hs) {
		t.Fatalf("%d fail-open admissions logged, want %d:\n%s", n, len(hs), logs.String())
	}
	g.Start(t)
	eventually(t, 2*time.Second, "greyrouter answers again", func() bool {
		return call(hs["gin"], "GET", "/open", "carol").status == http.StatusForbidden // carol holds nothing
	})
}
