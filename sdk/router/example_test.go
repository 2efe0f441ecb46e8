package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/redis/go-redis/v9"

	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/sdk/router"
)

// fakeRouter stands in for greyrouter serve in the examples: it serves
// one routing snapshot (tenants acme and globex; service orders, default
// v1, consistent hashing; acme pinned to v2) and one fixed decision.
func fakeRouter() *httptest.Server {
	svc := routing.Service{Name: "orders", DefaultVersion: "v1", Strategy: routing.ConsistentHash}
	snap := routing.Snapshot{Service: svc,
		Versions: []routing.Version{{Name: "v1", State: routing.VersionActive}, {Name: "v2", State: routing.VersionActive}},
		Instances: []routing.Instance{
			{ID: "orders-v1-a", Version: "v1", Address: "10.0.1.1:8080", Weight: 100, Enabled: true},
			{ID: "orders-v2-a", Version: "v2", Address: "10.0.2.1:8080", Weight: 100, Enabled: true},
			{ID: "orders-v2-b", Version: "v2", Address: "10.0.2.2:8080", Weight: 100, Enabled: true},
		},
		Bindings: []routing.Binding{{Tenant: "acme", Service: "orders", Mode: routing.ModePin, Version: "v2", Sticky: "key", Salt: "s"}},
	}
	rs, err := routing.BuildRoutingSnapshot(42, time.Now(), []string{"acme", "globex"}, []routing.Snapshot{snap}, nil)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/routing-snapshot", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("etag") == rs.ETag {
			// A real router holds the poll until something changes.
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_ = json.NewEncoder(w).Encode(rs)
	})
	mux.HandleFunc("POST /api/v1/resolve", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(routing.Decision{Version: "v2", Reason: "pin", Revision: 42,
			Instance: routing.InstanceRef{ID: "orders-v2-a", Address: "10.0.2.1:8080"}})
	})
	return httptest.NewServer(mux)
}

// A calling service decides in-process: NewLocal fetches the router's
// routing snapshot and keeps it current; every Resolve is then a local
// computation of well under a microsecond.
func ExampleNewLocal() {
	srv := fakeRouter() // greyrouter serve, in a real deployment
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := router.NewLocal(ctx, router.LocalConfig{
		RouterURL: srv.URL,
		// A platform machine client's token, e.g.
		// router.TokenSource(registry.ClientCredentials(url, id, secret, nil)).
		Tokens: router.StaticToken("machine-client-token"),
		// Keep deciding across a restart while the router is down.
		SnapshotFile: "", // e.g. "/var/lib/orders-caller/routing.json"
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	for _, tenant := range []string{"acme", "globex", "initech"} {
		in, err := c.Resolve(ctx, tenant, "orders", router.ResolveOptions{Key: "user-42"})
		switch {
		case errors.Is(err, router.ErrNotFound):
			fmt.Println(tenant, "not found")
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(tenant, in.Version, in.Reason, in.Address)
		}
	}
	fmt.Println("revision", c.Revision())
	// Output:
	// acme v2 pin 10.0.2.2:8080
	// globex v1 default 10.0.1.1:8080
	// initech not found
	// revision 42
}

// Remotely, through the router's resolve API: one round trip per
// decision, with round robin counters and least-connections leases shared
// by every caller.
func ExampleNewHTTP() {
	srv := fakeRouter()
	defer srv.Close()

	c := router.NewHTTP(srv.URL, router.StaticToken("machine-client-token"), nil)
	in, err := c.Resolve(context.Background(), "acme", "orders", router.ResolveOptions{
		Key:        "user-42",
		Attributes: map[string]string{"plan": "pro"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.Version, in.ID, in.Address, in.Source)
	// Output: v2 orders-v2-a 10.0.2.1:8080 http
}

// Services that share the router's Redis decide with one EVALSHA of the
// router's own decision script. (Not run: it needs the router's Redis.)
func ExampleNewRedis() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
	c := router.NewRedis(rdb, 4) // 4 pipelining connections for concurrent callers
	defer c.Close()

	in, err := c.Resolve(context.Background(), "acme", "orders", router.ResolveOptions{Key: "user-42"})
	if err != nil {
		log.Fatal(err)
	}
	// For least_connections, in.Lease goes back with the outcome report.
	fmt.Println(in.Address, in.Lease)
}

// Rules and sticky keys may name request headers, by lower-case name.
func ExampleHeadersFrom() {
	req, _ := http.NewRequest(http.MethodGet, "http://orders/", nil)
	req.Header.Set("X-Canary", "always")
	opts := router.ResolveOptions{Key: "user-42", Headers: router.HeadersFrom(req.Header)}
	fmt.Println(opts.Headers["x-canary"])
	// Output: always
}

// Staleness says how long the router has not vouched for the snapshot;
// alert on it (or on the greyrouter_sdk_routing_snapshot_staleness_seconds
// gauge, with LocalConfig.Registerer).
func ExampleClient_Staleness() {
	srv := fakeRouter()
	defer srv.Close()
	c, err := router.NewLocal(context.Background(), router.LocalConfig{RouterURL: srv.URL, Tokens: router.StaticToken("t")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println(c.Staleness() < time.Second)
	// Output: true
}
