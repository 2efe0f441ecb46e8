package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/sdk/registry"
	"github.com/greyrouter/greyrouter/sdk/router"
)

// fakeRouter stands in for greyrouter serve in the examples: it serves
// one routing snapshot (tenants acme and globex; service orders, default
// v1, consistent hashing; acme pinned to v2), one fixed decision, and
// accepts outcome reports.
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
	mux.HandleFunc("POST /api/v1/report", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(routing.ReportResult{Circuit: "closed"})
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

// newLocal is the setup the Reporter examples share: a local client of
// fakeRouter.
func newLocal(srv *httptest.Server) *router.Client {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := router.NewLocal(ctx, router.LocalConfig{RouterURL: srv.URL, Tokens: router.StaticToken("machine-client-token")})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// A service resolves once per outgoing call, with the tenant of the
// authenticated principal, the user as sticky key and the lane the
// incoming request travels in (the Name of its lane.FromContext);
// Transport does all of this itself. A lane the service has a version
// for is followed, and a version other than the default starts one. The
// errors say what to answer the caller.
func ExampleClient_Resolve() {
	srv := fakeRouter()
	defer srv.Close()
	c := newLocal(srv)
	defer c.Close()

	resolve := func(tenant, user, inLane string) {
		in, err := c.Resolve(context.Background(), tenant, "orders", router.ResolveOptions{
			Key:        user,
			Attributes: map[string]string{"plan": "pro"},
			Lane:       inLane, // "" for the baseline
		})
		switch {
		case errors.Is(err, router.ErrNotFound):
			fmt.Println(tenant, "has no route to orders: answer 404")
		case errors.Is(err, router.ErrUnavailable):
			fmt.Println("no healthy instance of orders: answer 503 with Retry-After")
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Printf("%s %s: %s (%s) at %s, lane %q\n", tenant, user, in.Version, in.Reason, in.Address, in.Lane)
		}
	}
	resolve("globex", "user-42", "")
	resolve("globex", "user-42", "v2")
	resolve("acme", "user-42", "")
	resolve("initech", "user-42", "")
	// Output:
	// globex user-42: v1 (default) at 10.0.1.1:8080, lane ""
	// globex user-42: v2 (lane) at 10.0.2.2:8080, lane "v2"
	// acme user-42: v2 (pin) at 10.0.2.2:8080, lane "v2"
	// initech has no route to orders: answer 404
}

// Refresh fetches the whole snapshot now, for when a caller must see a
// configuration change at once (a deploy script that just switched a
// binding, a test) rather than within the long poll's answer.
func ExampleClient_Refresh() {
	srv := fakeRouter()
	defer srv.Close()
	c := newLocal(srv)
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Refresh(ctx); err != nil {
		log.Fatal(err) // the last snapshot stays in use
	}
	fmt.Println("deciding at revision", c.Revision())
	// Output: deciding at revision 42
}

// Revision names the configuration the client decides on, worth logging
// next to decisions: in local mode each decision's Revision is the
// snapshot's; remote decisions carry their table's, and Revision is 0.
func ExampleClient_Revision() {
	srv := fakeRouter()
	defer srv.Close()
	local := newLocal(srv)
	defer local.Close()
	remote := router.NewHTTP(srv.URL, router.StaticToken("machine-client-token"), nil)
	defer remote.Close()

	for _, c := range []*router.Client{local, remote} {
		in, err := c.Resolve(context.Background(), "acme", "orders", router.ResolveOptions{Key: "user-42"})
		if err != nil {
			log.Fatal(err)
		}
		switch in.Source {
		case router.SourceLocal:
			fmt.Println("local decision at snapshot revision", c.Revision(), in.Revision)
		case router.SourceHTTP, router.SourceRedis:
			fmt.Println("remote decision at table revision", in.Revision, "client revision", c.Revision())
		}
	}
	// Output:
	// local decision at snapshot revision 42 42
	// remote decision at table revision 42 client revision 0
}

// Close stops following the router; decisions go on from the last
// snapshot, so close the client after the server whose requests it
// routes.
func ExampleClient_Close() {
	srv := fakeRouter()
	c := newLocal(srv)

	c.Close()
	srv.Close() // the router is gone too
	in, err := c.Resolve(context.Background(), "acme", "orders", router.ResolveOptions{Key: "user-42"})
	fmt.Println(in.Version, in.Address, err)
	// Output: v2 10.0.2.2:8080 <nil>
}

// StaticToken suits tests and tokens that a deployment rotates by
// restarting the process. Machine clients use sdk/registry's
// ClientCredentials instead, which fetches and renews tokens and
// converts to a TokenSource.
func ExampleStaticToken() {
	srv := fakeRouter()
	defer srv.Close()

	c := router.NewHTTP(srv.URL, router.StaticToken("machine-client-token"), nil)
	defer c.Close()
	in, err := c.Resolve(context.Background(), "acme", "orders", router.ResolveOptions{Key: "user-42"})
	fmt.Println(in.ID, err)

	// In production:
	tokens := router.TokenSource(registry.ClientCredentials("http://greyrouter:8080", "orders-caller", "its-secret", nil))
	_ = router.NewHTTP("http://greyrouter:8080", tokens, nil)
	// Output: orders-v2-a <nil>
}

// A service creates one Reporter per Client at start and closes it at
// shutdown; with a Registerer, the report counts become Prometheus
// metrics.
func ExampleNewReporter() {
	srv := fakeRouter()
	defer srv.Close()
	c := newLocal(srv)
	defer c.Close()

	metrics := prometheus.NewRegistry() // the service's registry
	rep, err := router.NewReporter(c, router.ReporterConfig{
		Capacity:   50_000,                 // outcomes waiting at most; more are dropped and counted
		Interval:   100 * time.Millisecond, // how long an outcome waits for its batch
		Logger:     slog.Default(),
		Registerer: metrics,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rep.Close(context.Background())

	families, err := metrics.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		fmt.Println(f.GetName(), len(f.GetMetric()), "results")
	}
	// Output: greyrouter_sdk_outcome_reports_total 4 results
}

// Report goes after each call with its outcome: ok is false for a
// transport error or a 5xx answer (for gRPC: Unavailable, Internal and
// the like), never for an answer the instance gave correctly, such as a
// 404. For least-connections services the report also releases the
// decision's lease.
func ExampleReporter_Report() {
	srv := fakeRouter()
	defer srv.Close()
	c := newLocal(srv)
	defer c.Close()
	rep, err := router.NewReporter(c, router.ReporterConfig{})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	in, err := c.Resolve(ctx, "acme", "orders", router.ResolveOptions{Key: "user-42"})
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	status, callErr := http.StatusOK, error(nil) // e.g. hc.Get("http://" + in.Address + "/orders/7")
	rep.Report(in, callErr == nil && status < 500, time.Since(start))

	if err := rep.Close(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", rep.Stats())
	// Output: {Sent:1 Rejected:0 Failed:0 Dropped:0}
}

// Flush waits until what was reported has been sent, for a checkpoint
// such as the end of a batch job's stage; an error means a batch
// reached nobody and stays queued.
func ExampleReporter_Flush() {
	srv := fakeRouter()
	defer srv.Close()
	c := newLocal(srv)
	defer c.Close()
	rep, err := router.NewReporter(c, router.ReporterConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer rep.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, user := range []string{"user-1", "user-2", "user-3"} {
		in, err := c.Resolve(ctx, "globex", "orders", router.ResolveOptions{Key: user})
		if err != nil {
			log.Fatal(err)
		}
		rep.Report(in, true, 12*time.Millisecond)
	}
	if err := rep.Flush(ctx); err != nil {
		log.Print(err) // retried at the next flush
	}
	fmt.Println("sent:", rep.Stats().Sent)
	// Output: sent: 3
}

// Close goes at shutdown, after the HTTP server has finished its
// requests (and their reports), and before the Client: it sends what
// is queued until its context ends. Reports after it are dropped.
func ExampleReporter_Close() {
	srv := fakeRouter()
	defer srv.Close()
	c := newLocal(srv)
	defer c.Close()
	rep, err := router.NewReporter(c, router.ReporterConfig{})
	if err != nil {
		log.Fatal(err)
	}

	in, err := c.Resolve(context.Background(), "acme", "orders", router.ResolveOptions{Key: "user-42"})
	if err != nil {
		log.Fatal(err)
	}
	rep.Report(in, true, 8*time.Millisecond)

	// srv.Shutdown(ctx) here, then:
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rep.Close(ctx); err != nil {
		log.Print(err)
	}
	rep.Report(in, true, 8*time.Millisecond) // too late
	fmt.Printf("%+v\n", rep.Stats())
	// Output: {Sent:1 Rejected:0 Failed:0 Dropped:1}
}

// Stats counts outcomes since the start; a service without Prometheus
// logs what changed now and then. A zero Instance (a call made without
// a decision) cannot be reported and counts as rejected.
func ExampleReporter_Stats() {
	srv := fakeRouter()
	defer srv.Close()
	c := newLocal(srv)
	defer c.Close()
	rep, err := router.NewReporter(c, router.ReporterConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer rep.Close(context.Background())

	var last router.ReporterStats
	logDelta := func() {
		now := rep.Stats()
		fmt.Printf("sent %d, rejected %d, failed %d, dropped %d\n",
			now.Sent-last.Sent, now.Rejected-last.Rejected, now.Failed-last.Failed, now.Dropped-last.Dropped)
		last = now
	}

	in, err := c.Resolve(context.Background(), "acme", "orders", router.ResolveOptions{Key: "user-42"})
	if err != nil {
		log.Fatal(err)
	}
	rep.Report(in, false, 2*time.Second)                  // a timeout
	rep.Report(router.Instance{}, true, time.Millisecond) // no decision behind it
	if err := rep.Flush(context.Background()); err != nil {
		log.Fatal(err)
	}
	logDelta()
	logDelta()
	// Output:
	// sent 1, rejected 1, failed 0, dropped 0
	// sent 0, rejected 0, failed 0, dropped 0
}
