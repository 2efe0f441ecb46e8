package auth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/sdk/auth"
)

// newAuthenticator is the setup of ExampleNew, shared by the other
// examples.
func newAuthenticator(gr *stub) *auth.Authenticator {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := auth.New(ctx, auth.Config{Issuer: "greyrouter", Audience: "orders", BaseURL: gr.URL, Redis: gr.Redis})
	if err != nil {
		log.Fatal(err)
	}
	return a
}

// send serves one request through h and prints the answer.
func send(h http.Handler, path, token string) {
	req := httptest.NewRequest("GET", path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
}

// A service starts one Authenticator, with a deadline: New returns once
// it holds greyrouter's signing keys and has read the revocation feed.
func ExampleNew() {
	gr := newStub() // greyrouter and its Redis
	defer gr.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := auth.New(ctx, auth.Config{
		Issuer:   "greyrouter", // greyrouter's --issuer
		Audience: "orders",     // greyrouter's --audience: this service's name
		BaseURL:  gr.URL,       // keys from BaseURL + /.well-known/jwks.json
		Redis:    gr.Redis,     // e.g. redis.NewClient(&redis.Options{Addr: "redis:6379"})
		// Refuse tokens (503) once revocations could not be read for a
		// minute; AcceptWhenStale would accept them instead.
		MaxStaleness: time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	fmt.Println("revocation state current:", a.Staleness() < time.Minute)
	// Output: revocation state current: true
}

// A net/http service puts the middleware in front of its mux.
func ExampleAuthenticator_Middleware() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s for %s\n", p.Tenant, p.Name)
	})
	h := a.Middleware(mux)

	send(h, "/orders", gr.token("acme", "alice", false))
	send(h, "/orders", "")
	send(h, "/orders", "not-a-token")
	// Output:
	// 200 orders of acme for alice
	// 401 {"error":{"code":"unauthenticated","message":"authentication required: send an access token as Authorization: Bearer"}}
	// 401 {"error":{"code":"unauthenticated","message":"malformed access token"}}
}

// A gin service uses the middleware on the engine or on a group.
func ExampleAuthenticator_Gin() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	r := gin.New()
	api := r.Group("/api", a.Gin())
	api.GET("/orders", func(c *gin.Context) {
		p, _ := auth.FromGin(c)
		c.String(http.StatusOK, "orders of %s for %s", p.Tenant, p.Name)
	})

	send(r, "/api/orders", gr.token("acme", "alice", false))
	send(r, "/api/orders", "")
	// Output:
	// 200 orders of acme for alice
	// 401 {"error":{"code":"unauthenticated","message":"authentication required: send an access token as Authorization: Bearer"}}
}

// Verify serves transports other than HTTP, such as a message consumer.
func ExampleAuthenticator_Verify() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	p, err := a.Verify(context.Background(), gr.token("acme", "alice", false))
	fmt.Println(p.Name, p.Tenant, p.Kind, err)
	_, err = a.Verify(context.Background(), "not-a-token")
	fmt.Println(err)
	// Output:
	// alice acme user <nil>
	// malformed access token
}

// Handlers anywhere behind the middleware find the principal in the
// request's context: tenant, subject, session, name, administrator flags.
func ExampleFromContext() {
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "orders of %s for %s (%s)", p.Tenant, p.Name, p.Kind)
	})

	// In the service, a.Middleware(orders) puts the principal there; in
	// its tests, NewContext does.
	req := httptest.NewRequest("GET", "/orders", nil)
	req = req.WithContext(auth.NewContext(req.Context(), login.Principal{Kind: login.PrincipalUser, Subject: "u-1", Tenant: "acme", Name: "alice"}))
	rec := httptest.NewRecorder()
	orders.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output: orders of acme for alice (user)
}

// FromGin reads the principal in gin handlers; FromContext(c) works too.
func ExampleFromGin() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	r := gin.New()
	r.Use(a.Gin())
	r.GET("/me", func(c *gin.Context) {
		p, _ := auth.FromGin(c)
		c.JSON(http.StatusOK, gin.H{"tenant": p.Tenant, "name": p.Name, "admin": p.Admin})
	})
	send(r, "/me", gr.token("acme", "alice", false))
	// Output: 200 {"admin":false,"name":"alice","tenant":"acme"}
}

// NewContext stands in for the middleware in a service's own tests.
func ExampleNewContext() {
	ctx := auth.NewContext(context.Background(), login.Principal{Kind: login.PrincipalClient, Subject: "c-1", Tenant: "acme"})
	p, ok := auth.FromContext(ctx)
	fmt.Println(p.Kind, p.Tenant, ok)
	// Output: client acme true
}

// RequireTenant narrows a route to one tenant's principals (and platform
// administrators); it goes after the Authenticator's middleware.
func ExampleRequireTenant() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "acme's report") })
	h := a.Middleware(auth.RequireTenant("acme").Middleware(report))

	send(h, "/report", gr.token("acme", "alice", false))
	send(h, "/report", gr.token("globex", "bob", false))
	// Output:
	// 200 acme's report
	// 403 {"error":{"code":"forbidden","message":"not allowed"}}
}

// RequirePlatform keeps a route to platform administrators; with gin, use
// its Gin method.
func ExampleRequirePlatform() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	r := gin.New()
	admin := r.Group("/admin", a.Gin(), auth.RequirePlatform().Gin())
	admin.POST("/reindex", func(c *gin.Context) { c.String(http.StatusAccepted, "reindexing") })

	for _, tok := range []string{gr.token("", "root", true), gr.token("acme", "alice", false)} {
		req := httptest.NewRequest("POST", "/admin/reindex", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 202 reindexing
	// 403 {"error":{"code":"forbidden","message":"not allowed"}}
}

// A Requirement is a function of the principal, so a service writes its
// own: here, administrators of tenant acme (and platform administrators)
// may delete orders. Its middleware goes after the Authenticator's.
func ExampleRequirement_Middleware() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	acmeAdmins := auth.Requirement(func(p login.Principal) bool { return p.CanAdminTenant("acme") })
	remove := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "deleted order", r.PathValue("id")) })
	mux := http.NewServeMux()
	mux.Handle("DELETE /orders/{id}", acmeAdmins.Middleware(remove))
	h := a.Middleware(mux)

	for _, tok := range []string{gr.token("", "root", true), gr.token("acme", "alice", false)} {
		req := httptest.NewRequest("DELETE", "/orders/7", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 deleted order 7
	// 403 {"error":{"code":"forbidden","message":"not allowed"}}
}

// With gin, requirements stack: a group for tenant acme's principals,
// and inside it a route for its administrators only.
func ExampleRequirement_Gin() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	r := gin.New()
	acme := r.Group("/acme", a.Gin(), auth.RequireTenant("acme").Gin())
	acme.GET("/orders", func(c *gin.Context) { c.String(http.StatusOK, "acme's orders") })
	admins := auth.Requirement(func(p login.Principal) bool { return p.CanAdminTenant("acme") })
	acme.DELETE("/orders/:id", admins.Gin(), func(c *gin.Context) { c.String(http.StatusOK, "deleted order %s", c.Param("id")) })

	alice, bob, root := gr.token("acme", "alice", false), gr.token("globex", "bob", false), gr.token("", "root", true)
	for _, call := range []struct{ method, path, token string }{
		{"GET", "/acme/orders", alice},
		{"DELETE", "/acme/orders/7", alice},
		{"DELETE", "/acme/orders/7", root},
		{"GET", "/acme/orders", bob},
	} {
		req := httptest.NewRequest(call.method, call.path, nil)
		req.Header.Set("Authorization", "Bearer "+call.token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(call.method, rec.Code, rec.Body.String())
	}
	// Output:
	// GET 200 acme's orders
	// DELETE 403 {"error":{"code":"forbidden","message":"not allowed"}}
	// DELETE 200 deleted order 7
	// GET 403 {"error":{"code":"forbidden","message":"not allowed"}}
}

// Staleness tells how current the revocation state is. A service may
// fail its readiness probe on it, so that its load balancer sends
// requests to instances that can still tell revoked tokens apart.
func ExampleAuthenticator_Staleness() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	defer a.Close()

	ready := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if age := a.Staleness(); age > 30*time.Second { // below Config.MaxStaleness
			http.Error(w, "revocation state is "+age.Round(time.Second).String()+" old", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output: 200 ready
}

// Close goes last at shutdown, after the HTTP server has finished its
// requests: tokens are still verified after it, against a revocation
// state that only ages. It leaves the Redis client open for its owner.
func ExampleAuthenticator_Close() {
	gr := newStub()
	defer gr.Close()
	a := newAuthenticator(gr)
	tok := gr.token("acme", "alice", false)

	// srv.Shutdown(ctx) here: in-flight requests still pass a.Middleware.
	a.Close()

	p, err := a.Verify(context.Background(), tok)
	fmt.Println(p.Name, err)
	fmt.Println(gr.Redis.Ping(context.Background()).Val()) // Config.Redis is closed by whoever made it
	// Output:
	// alice <nil>
	// PONG
}
