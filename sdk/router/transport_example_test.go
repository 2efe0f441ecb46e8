package router_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/sdk/lane"
	"github.com/greyrouter/greyrouter/sdk/router"
)

// routerFor stands in for greyrouter serve in the Transport and Reporter
// examples: tenant acme's requests to billing go to the one instance at
// addr (version v1), and outcome reports are accepted.
func routerFor(addr string) *httptest.Server {
	snap := routing.Snapshot{
		Service:   routing.Service{Name: "billing", DefaultVersion: "v1", Strategy: routing.RoundRobin},
		Versions:  []routing.Version{{Name: "v1", State: routing.VersionActive}},
		Instances: []routing.Instance{{ID: "billing-1", Version: "v1", Address: addr, Weight: 100, Enabled: true}},
	}
	rs, err := routing.BuildRoutingSnapshot(42, time.Now(), []string{"acme"}, []routing.Snapshot{snap}, nil)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/routing-snapshot", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("etag") == rs.ETag {
			select { // a real router holds the poll until something changes
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_ = json.NewEncoder(w).Encode(rs)
	})
	mux.HandleFunc("POST /api/v1/report", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(routing.ReportResult{Circuit: "closed"})
	})
	return httptest.NewServer(mux)
}

// A service calls billing through an http.Client whose Transport routes
// every request: the router decides the instance, the outcome goes back
// to it, and the request's lane travels on with billing's version added.
func ExampleTransport() {
	// An instance of billing v1, saying in which lane it was reached.
	billing := httptest.NewServer(lane.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := lane.FromContext(r.Context())
		fmt.Fprintf(w, "host %s, tenant %s, lane %s, pins %v", r.Host, l.Tenant, l.Name, l.Pins)
	})))
	defer billing.Close()
	srv := routerFor(billing.Listener.Addr().String()) // greyrouter serve, in a real deployment
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := router.NewLocal(ctx, router.LocalConfig{RouterURL: srv.URL, Tokens: router.StaticToken("machine-client-token")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	rep, err := router.NewReporter(c, router.ReporterConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer rep.Close(context.Background())

	hc := &http.Client{Transport: &router.Transport{Client: c, Reporter: rep,
		// The tenant of the authenticated principal (sdk/auth's, say).
		Tenant: func(*http.Request) string { return "acme" },
	}}
	// The incoming request reached orders v2 in lane v2; lane.Middleware
	// put that in its context.
	in := lane.NewContext(ctx, lane.Lane{Tenant: "acme", Name: "v2", Pins: map[string]string{"orders": "v2"}})
	req, _ := http.NewRequestWithContext(in, http.MethodGet, "http://billing/invoices/42", nil)
	resp, err := hc.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close() // the outcome is reported now
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 host billing, tenant acme, lane v2, pins map[billing:v1 orders:v2]
}

// Callers that do not speak HTTP report outcomes themselves: ok or not,
// and how long the call took. Report returns at once; the Reporter sends
// in the background, and Close sends what is left.
func ExampleReporter() {
	srv := routerFor("10.0.3.1:9000")
	defer srv.Close()
	ctx := context.Background()
	c, err := router.NewLocal(ctx, router.LocalConfig{RouterURL: srv.URL, Tokens: router.StaticToken("machine-client-token")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	rep, err := router.NewReporter(c, router.ReporterConfig{})
	if err != nil {
		log.Fatal(err)
	}

	in, err := c.Resolve(ctx, "acme", "billing", router.ResolveOptions{})
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	callErr := error(nil) // e.g. a gRPC call to in.Address
	rep.Report(in, callErr == nil, time.Since(start))

	if err := rep.Close(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %+v\n", in.Address, rep.Stats())
	// Output: 10.0.3.1:9000 {Sent:1 Rejected:0 Failed:0 Dropped:0}
}
