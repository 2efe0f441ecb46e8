package privilege_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/sdk/auth"
	"github.com/greyrouter/greyrouter/sdk/privilege"
	"github.com/greyrouter/greyrouter/sdk/registry"
)

// fakeGreyrouter stands in for greyrouter serve in the examples: its
// check API lets alice read orders (RBAC), anyone update an order they
// own and the finance department refund orders (ABAC, conditional
// answers); it denies the rest with an audited decision, and refuses
// any credential but "machine-token".
func fakeGreyrouter() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/tenants/{tenant}/privilege/check", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer machine-token" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"error":{"code":"unauthenticated","message":"access token expired"}}`)
			return
		}
		var in struct {
			Subject            string         `json:"subject"`
			SubjectAttributes  map[string]any `json:"subject_attributes"`
			Action             string         `json:"action"`
			Resource           string         `json:"resource"`
			ResourceAttributes map[string]any `json:"resource_attributes"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		d := privilege.Decision{Tier: "engine", PolicyVersion: 3, PlatformVersion: 1,
			ID: "01JD3Y6Q2B7", Reason: "denied: no role or policy grants " + in.Action + " on " + in.Resource}
		switch {
		case in.Subject == "alice" && in.Action == "read" && strings.HasPrefix(in.Resource, "orders/"):
			d = privilege.Decision{Allowed: true, Tier: "engine", PolicyVersion: 3, PlatformVersion: 1,
				Reason: "allowed by permission orders/*:read of role reader (via [reader])"}
		case in.Action == "update" && in.ResourceAttributes["owner"] == in.Subject:
			d = privilege.Decision{Allowed: true, Tier: "engine", PolicyVersion: 3, PlatformVersion: 1, Conditional: true,
				Reason: "allowed by policy owners, rule owner"}
		case in.Action == "refund" && in.SubjectAttributes["department"] == "finance":
			d = privilege.Decision{Allowed: true, Tier: "engine", PolicyVersion: 3, PlatformVersion: 1, Conditional: true,
				Reason: "allowed by policy refunds, rule finance"}
		}
		_ = json.NewEncoder(w).Encode(d)
	})
	return httptest.NewServer(mux)
}

// newClient is the setup the examples share: a client of fake
// greyrouter, without Redis.
func newClient(gr *httptest.Server) *privilege.Client {
	c, err := privilege.New(context.Background(), privilege.Options{
		BaseURL:     gr.URL,
		TokenSource: func(context.Context) (string, error) { return "machine-token", nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// signedIn stands in for sdk/auth's middleware in the examples: it puts
// the principal named by X-User (of tenant acme) in the request context,
// where the privilege middleware finds it.
func signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := login.Principal{Kind: login.PrincipalUser, Subject: r.Header.Get("X-User"), Tenant: "acme"}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
	})
}

// send serves one request through h as user and prints the answer.
func send(h http.Handler, method, path, user string) {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("X-User", user)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
}

// A check is asked of greyrouter once, then answered in process.
func Example() {
	gr := fakeGreyrouter()
	defer gr.Close()
	c := newClient(gr)
	defer c.Close()

	q := privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: "alice"}, Action: "read",
		Resource: privilege.Resource{Name: "orders/7"}}
	for range 2 {
		d, err := c.Check(context.Background(), q, privilege.CheckOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(d.Allowed, d.Tier, d.PolicyVersion)
	}
	// Output:
	// true engine 3
	// true local 3
}

// A service creates one Client at start: it follows greyrouter's Redis
// so that cached answers last until a policy change (announced within
// milliseconds), and asks greyrouter's check API with its machine
// client's access token.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := privilege.New(ctx, privilege.Options{
		BaseURL: "http://greyrouter:8080",
		// The service's machine client (a client of its tenant may check
		// any subject of it).
		TokenSource: registry.ClientCredentials("http://greyrouter:8080", "gc-orders", "its-secret", nil),
		Redis:       redis.NewClient(&redis.Options{Addr: "redis:6379"}), // greyrouter's
		// Answers stay usable for 5 minutes of greyrouter being
		// unreachable, then checks fail closed.
		MaxStale: 5 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// A check made right after a policy write passes the write's revision
// token, so it is never answered from before the write.
func ExampleClient_Check() {
	gr := fakeGreyrouter()
	defer gr.Close()
	c := newClient(gr)
	defer c.Close()

	revision := "pv1.3.1.acme" // what the write answered, in X-Privilege-Revision
	d, err := c.Check(context.Background(), privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: "bob"},
		Action: "read", Resource: privilege.Resource{Name: "orders/7"}}, privilege.CheckOptions{AtLeast: revision})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Allowed, d.ID, d.Reason)
	// Output: false 01JD3Y6Q2B7 denied: no role or policy grants read on orders/7
}

// RequirePermission guards a net/http route; sdk/auth's middleware runs
// first and puts the principal in the context.
func ExampleClient_RequirePermission() {
	gr := fakeGreyrouter()
	defer gr.Close()
	c := newClient(gr)
	defer c.Close()

	mux := http.NewServeMux()
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the orders") })
	mux.Handle("GET /orders", c.RequirePermission("orders/all", "read")(orders))
	h := signedIn(mux) // in a service: authenticator.Middleware(mux)

	send(h, "GET", "/orders", "alice")
	send(h, "GET", "/orders", "bob")
	// Output:
	// 200 the orders
	// 403 {"error":{"code":"forbidden","message":"not allowed","details":{"decision_id":"01JD3Y6Q2B7","reason":"denied: no role or policy grants read on orders/all"}}}
}

// RequirePermissionFunc takes the resource and its attributes from the
// request, for ABAC policies such as "owners may update their orders".
func ExampleClient_RequirePermissionFunc() {
	gr := fakeGreyrouter()
	defer gr.Close()
	c := newClient(gr)
	defer c.Close()

	owners := map[string]string{"7": "alice", "8": "bob"} // in a service: a database
	order := privilege.ResourceFunc(func(r *http.Request) (privilege.Resource, map[string]any, error) {
		id := r.PathValue("id")
		owner, ok := owners[id]
		if !ok {
			return privilege.Resource{}, nil, fmt.Errorf("no order %s", id)
		}
		return privilege.Resource{Name: "orders/" + id, Attributes: map[string]any{"owner": owner}}, nil, nil
	})
	update := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "updated") })
	mux := http.NewServeMux()
	mux.Handle("POST /orders/{id}", c.RequirePermissionFunc("update", order)(update))
	h := signedIn(mux)

	send(h, "POST", "/orders/7", "alice")
	send(h, "POST", "/orders/8", "alice")
	send(h, "POST", "/orders/9", "alice")
	// Output:
	// 200 updated
	// 403 {"error":{"code":"forbidden","message":"not allowed","details":{"decision_id":"01JD3Y6Q2B7","reason":"denied: no role or policy grants update on orders/8"}}}
	// 400 {"error":{"code":"invalid","message":"no order 9"}}
}

// The gin middleware works the same way, after sdk/auth's Gin
// middleware; route parameters come from the gin context.
func ExampleClient_GinRequirePermission() {
	gr := fakeGreyrouter()
	defer gr.Close()
	c := newClient(gr)
	defer c.Close()

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// In a service: r.Use(authenticator.Gin())
	r.GET("/orders", c.GinRequirePermission("orders/all", "read"), func(g *gin.Context) { g.String(http.StatusOK, "the orders") })
	r.POST("/orders/:id", c.GinRequirePermissionFunc("update", func(g *gin.Context) (privilege.Resource, map[string]any, error) {
		return privilege.Resource{Name: "orders/" + g.Param("id"), Attributes: map[string]any{"owner": "alice"}}, nil, nil
	}), func(g *gin.Context) { g.String(http.StatusOK, "updated") })
	h := signedIn(r)

	send(h, "GET", "/orders", "alice")
	send(h, "POST", "/orders/7", "alice")
	send(h, "POST", "/orders/7", "bob")
	// Output:
	// 200 the orders
	// 200 updated
	// 403 {"error":{"code":"forbidden","message":"not allowed","details":{"decision_id":"01JD3Y6Q2B7","reason":"denied: no role or policy grants update on orders/7"}}}
}

// When greyrouter cannot be reached and nothing cached applies, checks
// fail closed; a route that must stay up may fail open instead, and
// every such admission is logged.
func ExampleFailOpen() {
	gr := fakeGreyrouter()
	c := newClient(gr)
	defer c.Close()
	gr.Close() // greyrouter unreachable

	mux := http.NewServeMux()
	status := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "status page") })
	mux.Handle("GET /orders/status", c.RequirePermission("orders/status", "read", privilege.FailOpen())(status))
	mux.Handle("GET /orders", c.RequirePermission("orders/all", "read")(status))
	h := signedIn(mux)

	send(h, "GET", "/orders/status", "alice")
	send(h, "GET", "/orders", "alice")
	// Output:
	// 200 status page
	// 403 {"error":{"code":"forbidden","message":"not allowed","details":{"reason":"denied (fail closed): the privilege service is unreachable and no cached answer applies"}}}
}

// GinRequirePermissionFunc takes the resource from gin's route
// parameters; one GinResourceFunc serves every route on that kind of
// resource. Its second result holds env.* attributes.
func ExampleClient_GinRequirePermissionFunc() {
	gr := fakeGreyrouter()
	defer gr.Close()
	c := newClient(gr)
	defer c.Close()

	owners := map[string]string{"7": "alice", "8": "bob"} // in a service: a database
	var order privilege.GinResourceFunc = func(g *gin.Context) (privilege.Resource, map[string]any, error) {
		owner, ok := owners[g.Param("id")]
		if !ok {
			return privilege.Resource{}, nil, fmt.Errorf("no order %s", g.Param("id"))
		}
		return privilege.Resource{Name: "orders/" + g.Param("id"), Attributes: map[string]any{"owner": owner}},
			map[string]any{"channel": g.GetHeader("X-Channel")}, nil
	}
	r := gin.New()
	// In a service: r.Use(authenticator.Gin())
	r.PUT("/orders/:id", c.GinRequirePermissionFunc("update", order), func(g *gin.Context) {
		g.String(http.StatusOK, "updated order %s", g.Param("id"))
	})
	h := signedIn(r)

	send(h, "PUT", "/orders/7", "alice")
	send(h, "PUT", "/orders/8", "alice")
	send(h, "PUT", "/orders/9", "alice")
	// Output:
	// 200 updated order 7
	// 403 {"error":{"code":"forbidden","message":"not allowed","details":{"decision_id":"01JD3Y6Q2B7","reason":"denied: no role or policy grants update on orders/8"}}}
	// 400 {"error":{"code":"invalid","message":"no order 9"}}
}

// WithSubjectAttributes gives ABAC policies subject.* attributes that
// the access token does not carry, such as a department from the
// service's directory: here a policy lets the finance department refund
// orders.
func ExampleWithSubjectAttributes() {
	gr := fakeGreyrouter()
	defer gr.Close()
	c := newClient(gr)
	defer c.Close()

	directory := map[string]string{"alice": "finance", "bob": "sales"} // in a service: its user profiles
	department := privilege.WithSubjectAttributes(func(r *http.Request, p login.Principal) map[string]any {
		return map[string]any{"department": directory[p.Subject]}
	})
	refund := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "refunded") })
	mux := http.NewServeMux()
	mux.Handle("POST /refunds", c.RequirePermission("orders/refunds", "refund", department)(refund))
	h := signedIn(mux)

	send(h, "POST", "/refunds", "alice")
	send(h, "POST", "/refunds", "bob")
	// Output:
	// 200 refunded
	// 403 {"error":{"code":"forbidden","message":"not allowed","details":{"decision_id":"01JD3Y6Q2B7","reason":"denied: no role or policy grants refund on orders/refunds"}}}
}

// Staleness says how long ago greyrouter's Redis last confirmed the
// policy versions: a gauge to alert on, or a readiness check. Without
// Redis nothing confirms them, and it is the largest duration.
func ExampleClient_Staleness() {
	gr := fakeGreyrouter()
	defer gr.Close()
	mr, err := miniredis.Run() // greyrouter's Redis, in a real deployment
	if err != nil {
		log.Fatal(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	c, err := privilege.New(context.Background(), privilege.Options{
		BaseURL:     gr.URL,
		TokenSource: func(context.Context) (string, error) { return "machine-token", nil },
		Redis:       rdb,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("policy versions confirmed:", c.Staleness() < 3*time.Second) // Options.VersionsTrust

	withoutRedis := newClient(gr)
	defer withoutRedis.Close()
	fmt.Println("without Redis:", withoutRedis.Staleness() > 24*time.Hour)
	// Output:
	// policy versions confirmed: true
	// without Redis: true
}

// Close goes at shutdown, once the HTTP server has finished the requests
// that check privileges; it does not close Options.Redis. (Not run: it
// needs greyrouter and its Redis.)
func ExampleClient_Close() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
	defer rdb.Close() // last: the client only reads it
	c, err := privilege.New(ctx, privilege.Options{
		BaseURL:     "http://greyrouter:8080",
		TokenSource: registry.ClientCredentials("http://greyrouter:8080", "gc-orders", "its-secret", nil),
		Redis:       rdb,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close() // after the server: in-flight requests still check

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the orders") })
	srv := &http.Server{Addr: ":8080", Handler: c.RequirePermission("orders/all", "read")(orders)} // behind sdk/auth's middleware
	go func() {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()

	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Print(err)
	}
}

// Check returns an *Error when a check cannot be asked at all: when
// greyrouter refuses the service's credential (here, an expired token),
// or when the client refuses the request itself (Status 0), here for a
// revision token of another tenant. These are faults to log and fix, not
// denials.
func ExampleError() {
	gr := fakeGreyrouter()
	defer gr.Close()
	expired, err := privilege.New(context.Background(), privilege.Options{
		BaseURL:     gr.URL,
		TokenSource: func(context.Context) (string, error) { return "expired-token", nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer expired.Close()
	c := newClient(gr)
	defer c.Close()

	q := privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: "alice"}, Action: "read",
		Resource: privilege.Resource{Name: "orders/7"}}
	_, err1 := expired.Check(context.Background(), q, privilege.CheckOptions{})
	_, err2 := c.Check(context.Background(), q, privilege.CheckOptions{AtLeast: "pv1.5.1.globex"})
	for _, err := range []error{err1, err2} {
		var perr *privilege.Error
		if errors.As(err, &perr) {
			fmt.Printf("%d %s: %s\n", perr.Status, perr.Code, perr.Message)
		}
	}
	// Output:
	// 401 unauthenticated: access token expired
	// 0 invalid: revision was returned by a write to tenant "globex", the check is in tenant "acme"
}

// A Decision says whether the request may go on, why, and who answered
// (Tier): greyrouter, this process's cache, or nobody (fail closed).
// Denials that greyrouter audited carry the decision's ID, worth quoting
// in the answer to the user.
func ExampleDecision() {
	gr := fakeGreyrouter()
	c := newClient(gr)
	defer c.Close()

	describe := func(d privilege.Decision) string {
		switch {
		case d.Allowed:
			return "allowed (" + d.Tier + "): " + d.Reason
		case d.Tier == privilege.TierFailClosed:
			return "denied: greyrouter unreachable"
		default:
			return "denied (decision " + d.ID + "): " + d.Reason
		}
	}
	check := func(user string) {
		d, err := c.Check(context.Background(), privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: user},
			Action: "read", Resource: privilege.Resource{Name: "orders/7"}}, privilege.CheckOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(user, describe(d))
	}
	check("alice")
	check("alice")
	check("bob")
	gr.Close()
	check("carol")
	// Output:
	// alice allowed (engine): allowed by permission orders/*:read of role reader (via [reader])
	// alice allowed (local): allowed by permission orders/*:read of role reader (via [reader])
	// bob denied (decision 01JD3Y6Q2B7): denied: no role or policy grants read on orders/7
	// carol denied: greyrouter unreachable
}
