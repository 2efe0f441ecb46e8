package examples_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/examples/internal/demo"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/sdk/registry"
	"github.com/greyrouter/greyrouter/sdk/router"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

// Passwords of the demo users the test creates.
const (
	alicePassword = "alice's long passphrase"
	bobPassword   = "bob's long passphrase"
)

// TestDemo runs the demo end to end: the real greyrouter binary on a real
// redis-server and SQLite, the example services as separate processes
// that register themselves, and calls through the SDK's Transport as a
// logged-in user, while bindings, lanes and instances change.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs greyrouter, redis-server and the example programs")
	}
	began := time.Now()
	d := startDemo(t)
	t.Logf("demo started in %s", time.Since(began).Round(10*time.Millisecond))

	t.Run("traffic follows a binding change", d.bindingChange)
	t.Run("orders admits only callers with orders:read", d.permission)
	t.Run("a lane crosses two hops", d.laneTwoHops)
	t.Run("the caller prints which versions served", d.caller)
	t.Run("lane modes decide when billing has no version for the lane", d.laneModes)
	t.Run("a draining instance loses no call", d.drain)
	t.Logf("demo test took %s", time.Since(began).Round(10*time.Millisecond))
}

// demoEnv is the running demo.
type demoEnv struct {
	gr      *testutil.GreyrouterServer
	admin   admin
	ps      *procs
	env     map[string]string // the example services' environment
	aliceID string
	alice   string // alice's access token
	// routes and orders are the test's own SDK client: local decisions
	// from the routing snapshot, and an http.Client whose Transport
	// routes to orders for tenant acme.
	routes *router.Client
	orders *http.Client
	procs  map[string]*proc
}

func startDemo(t *testing.T) *demoEnv {
	rds := testutil.Redis(t)
	// The example programs build while greyrouter builds and starts.
	binDir := t.TempDir()
	built := make(chan struct{})
	var buildErr error
	go func() {
		defer close(built)
		buildErr = buildExamples(binDir)
	}()
	// Runs before binDir is removed, should the test end early.
	t.Cleanup(func() { <-built })
	gr := testutil.Greyrouter(t, testutil.GreyrouterOptions{Env: map[string]string{"REDIS_URL": "redis://" + rds.Addr}})
	<-built
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	d := &demoEnv{gr: gr, admin: admin{base: gr.URL, token: testutil.GreyrouterAdminToken}, procs: map[string]*proc{}}
	clientID, clientSecret := d.configure(t)
	d.env = map[string]string{
		"GREYROUTER_URL": gr.URL, "REDIS_URL": "redis://" + rds.Addr,
		"GREYROUTER_CLIENT_ID": clientID, "GREYROUTER_CLIENT_SECRET": clientSecret, "GREYROUTER_TOKEN": "",
	}
	d.ps = newProcs(t, binDir, d.env)
	for _, s := range []struct{ service, version, id string }{
		{"orders", "v1", "orders-v1"}, {"orders", "v2", "orders-v2"},
		{"billing", "v1", "billing-v1"}, {"billing", "v2", "billing-v2"},
	} {
		args := []string{"-version", s.version, "-id", s.id, "-drain-for", shortDrain}
		if s.service == "orders" {
			args = append(args, "-require", "orders:read")
		}
		if s.id == "billing-v2" {
			args[len(args)-1] = drainFor.String()
		}
		d.procs[s.id] = d.ps.launch(s.id, s.service, args...)
	}
	for _, p := range d.procs {
		d.ps.waitServing(p)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	if d.alice, err = demo.Login(ctx, http.DefaultClient, gr.URL, "acme", "alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	tokens := router.TokenSource(registry.ClientCredentials(gr.URL, clientID, clientSecret, nil))
	if d.routes, err = router.NewLocal(ctx, router.LocalConfig{RouterURL: gr.URL, Tokens: tokens}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.routes.Close)
	rep, err := router.NewReporter(d.routes, router.ReporterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rep.Close(ctx)
	})
	d.orders = &http.Client{Timeout: 10 * time.Second, Transport: &router.Transport{
		Client: d.routes, Reporter: rep,
		Tenant: func(*http.Request) string { return "acme" },
		Options: func(r *http.Request) router.ResolveOptions {
			key, _ := r.Context().Value(stickyKey{}).(string)
			return router.ResolveOptions{Key: key}
		},
	}}
	return d
}

// configure sets up, as the platform administrator, what the demo needs:
// tenant acme with users alice (who may read orders) and bob (who may
// not), a platform machine client for the services, services orders and
// billing with versions v1 (the default) and v2, and acme pinned to v1 of
// both. It returns the machine client's credentials.
func (d *demoEnv) configure(t *testing.T) (clientID, clientSecret string) {
	a := d.admin
	a.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "acme"}).Must(t, 201)
	d.aliceID = a.call(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "alice", "password": alicePassword}).Must(t, 201).Str("id")
	a.call(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "bob", "password": bobPassword}).Must(t, 201)
	cl := a.call(t, "POST", "/api/v1/platform-clients", map[string]any{"name": "demo-services"}).Must(t, 201)
	for _, svc := range []string{"orders", "billing"} {
		a.call(t, "POST", "/api/v1/services", map[string]any{"name": svc, "strategy": "round_robin"}).Must(t, 201)
		for _, v := range []string{"v1", "v2"} {
			a.call(t, "POST", "/api/v1/services/"+svc+"/versions", map[string]any{"name": v}).Must(t, 201)
		}
		a.call(t, "PUT", "/api/v1/services/"+svc, map[string]any{"default_version": "v1"}).Must(t, 200)
		a.call(t, "PUT", "/api/v1/tenants/acme/bindings/"+svc, map[string]any{"mode": "pin", "version": "v1"}).Must(t, 200)
	}
	a.call(t, "PUT", "/api/v1/tenants/acme/privilege/roles/reader", map[string]any{
		"permissions": []map[string]string{{"resource": "orders", "action": "read"}}}).Must(t, 200)
	a.call(t, "PUT", "/api/v1/tenants/acme/privilege/roles/reader/members/"+d.aliceID, nil).Must(t, 200)
	return cl.Str("client", "id"), cl.Str("client_secret")
}

// stickyKey is the context key of a call's sticky key.
type stickyKey struct{}

// call sends GET /orders/42 through the test's Transport with token as
// the caller's bearer and key as the sticky key.
func (d *demoEnv) call(token, key string) (demo.Answer, error) {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), stickyKey{}, key), 10*time.Second)
	defer cancel()
	return demo.Get(ctx, d.orders, "http://orders/orders/42", "Bearer "+token)
}

// served returns a check that a call as alice is served along hops.
func (d *demoEnv) served(hops string) func() error {
	return func() error {
		a, err := d.call(d.alice, "alice")
		if err != nil {
			return err
		}
		if a.Hops() != hops {
			return fmt.Errorf("served by %s, want %s", a.Hops(), hops)
		}
		return nil
	}
}

// mustServe checks n calls as alice: each served along hops, for alice of
// acme on both hops.
func (d *demoEnv) mustServe(t *testing.T, n int, hops string) {
	t.Helper()
	for i := range n {
		a, err := d.call(d.alice, "alice")
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if a.Hops() != hops {
			t.Fatalf("call %d served by %s, want %s", i, a.Hops(), hops)
		}
		for _, hop := range []demo.Answer{a, *a.Billing} {
			if hop.Tenant != "acme" || hop.Subject != d.aliceID {
				t.Fatalf("call %d: %s %s saw %s/%s, want acme/%s (the caller's token passed on)", i, hop.Service, hop.Version, hop.Tenant, hop.Subject, d.aliceID)
			}
		}
	}
}

// put changes the configuration and waits until the test's own client
// decides on the revision it made.
func (d *demoEnv) put(t *testing.T, path string, body map[string]any) {
	t.Helper()
	r := d.admin.call(t, "PUT", path, body).Must(t, 200)
	rev, err := strconv.ParseInt(r.Str("revision"), 10, 64)
	if err != nil {
		t.Fatalf("PUT %s: no revision in %s", path, r.Raw)
	}
	eventually(t, 10*time.Second, fmt.Sprint("the test's snapshot at revision ", rev), func() error {
		if got := d.routes.Revision(); got < rev {
			return fmt.Errorf("at revision %d", got)
		}
		return nil
	})
}
