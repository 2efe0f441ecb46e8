package examples_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// drainFor is how long billing-v2 drains when the drain test stops it;
// the other instances drain for shortDrain, so that cleanup is quick.
// Callers deciding locally hear of a drain within about a second (a drain
// makes no configuration revision: the router's snapshot notices it when
// it is rebuilt, every second while clients wait), so drainFor leaves
// them two seconds.
const (
	drainFor   = 3 * time.Second
	shortDrain = "300ms"
)

// movedWithin is how long into billing-v2's drain callers may still reach
// it; from then until it stops, none may.
const movedWithin = drainFor - 500*time.Millisecond

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
	a.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "acme"}).must(t, 201)
	d.aliceID = a.call(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "alice", "password": alicePassword}).must(t, 201).str("id")
	a.call(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "bob", "password": bobPassword}).must(t, 201)
	cl := a.call(t, "POST", "/api/v1/platform-clients", map[string]any{"name": "demo-services"}).must(t, 201)
	for _, svc := range []string{"orders", "billing"} {
		a.call(t, "POST", "/api/v1/services", map[string]any{"name": svc, "strategy": "round_robin"}).must(t, 201)
		for _, v := range []string{"v1", "v2"} {
			a.call(t, "POST", "/api/v1/services/"+svc+"/versions", map[string]any{"name": v}).must(t, 201)
		}
		a.call(t, "PUT", "/api/v1/services/"+svc, map[string]any{"default_version": "v1"}).must(t, 200)
		a.call(t, "PUT", "/api/v1/tenants/acme/bindings/"+svc, map[string]any{"mode": "pin", "version": "v1"}).must(t, 200)
	}
	a.call(t, "PUT", "/api/v1/tenants/acme/privilege/roles/reader", map[string]any{
		"permissions": []map[string]string{{"resource": "orders", "action": "read"}}}).must(t, 200)
	a.call(t, "PUT", "/api/v1/tenants/acme/privilege/roles/reader/members/"+d.aliceID, nil).must(t, 200)
	return cl.str("client", "id"), cl.str("client_secret")
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
	r := d.admin.call(t, "PUT", path, body).must(t, 200)
	rev, err := strconv.ParseInt(r.str("revision"), 10, 64)
	if err != nil {
		t.Fatalf("PUT %s: no revision in %s", path, r.raw)
	}
	eventually(t, 10*time.Second, fmt.Sprint("the test's snapshot at revision ", rev), func() error {
		if got := d.routes.Revision(); got < rev {
			return fmt.Errorf("at revision %d", got)
		}
		return nil
	})
}

func (d *demoEnv) bindingChange(t *testing.T) {
	eventually(t, 15*time.Second, "acme served by v1 of both", d.served("orders v1 -> billing v1"))
	d.mustServe(t, 20, "orders v1 -> billing v1")

	d.put(t, "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v2"})
	eventually(t, 10*time.Second, "acme moved to orders v2", d.served("orders v2 -> billing v2 (lane v2)"))
	d.mustServe(t, 20, "orders v2 -> billing v2 (lane v2)")

	// A 50 % split, sticky by key: both versions serve, each key keeps
	// its version, and each request stays in the lane it entered.
	d.put(t, "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "split", "baseline": "v1", "candidate": "v2", "percent": 50})
	first := map[string]string{}
	count := map[string]int{}
	for pass := range 2 {
		for i := range 100 {
			key := fmt.Sprintf("user-%d", i)
			a, err := d.call(d.alice, key)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if a.Billing.Version != a.Version {
				t.Fatalf("%s entered orders %s but reached billing %s", key, a.Version, a.Billing.Version)
			}
			if pass == 0 {
				first[key] = a.Version
				count[a.Version]++
			} else if a.Version != first[key] {
				t.Fatalf("%s moved from orders %s to %s under the same split", key, first[key], a.Version)
			}
		}
	}
	if count["v1"] < 20 || count["v2"] < 20 {
		t.Fatalf("a 50%% split of 100 keys gave %v", count)
	}
}

func (d *demoEnv) permission(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bob, err := demo.Login(ctx, http.DefaultClient, d.gr.URL, "acme", "bob", bobPassword)
	if err != nil {
		t.Fatal(err)
	}
	var se *demo.StatusError
	if _, err := d.call(bob, "bob"); !errors.As(err, &se) || se.Status != http.StatusForbidden || se.Code != "forbidden" {
		t.Fatalf("bob, without orders:read: %v, want 403 forbidden", err)
	}
	if _, err := d.call("not-a-token", "anyone"); !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("an invalid token: %v, want 401", err)
	}
	if _, err := d.call(d.alice, "alice"); err != nil {
		t.Fatalf("alice, with orders:read: %v", err)
	}
}

func (d *demoEnv) laneTwoHops(t *testing.T) {
	d.put(t, "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v2"})
	// Billing's own binding for acme says v1; only the lane takes a
	// request that entered orders v2 to billing v2.
	r := d.admin.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "billing", "key": "k"}).must(t, 200)
	if r.str("version") != "v1" {
		t.Fatalf("billing for acme without a lane: %s, want v1", r.raw)
	}
	r = d.admin.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "billing", "key": "k", "lane": "v2"}).must(t, 200)
	if r.str("version") != "v2" || r.str("reason") != "lane" {
		t.Fatalf("billing for acme in lane v2: %s, want v2 for reason lane", r.raw)
	}
	eventually(t, 10*time.Second, "acme on orders v2", d.served("orders v2 -> billing v2 (lane v2)"))
	d.mustServe(t, 20, "orders v2 -> billing v2 (lane v2)")
}

func (d *demoEnv) caller(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Without platform credentials the caller decides through the
	// resolve API with alice's own token.
	cmd := exec.CommandContext(ctx, filepath.Join(d.ps.bins, "caller"), "-tenant", "acme", "-user", "alice", "-n", "10")
	cmd.Env = append(os.Environ(), "GREYROUTER_URL="+d.gr.URL, "DEMO_PASSWORD="+alicePassword,
		"GREYROUTER_TOKEN=", "GREYROUTER_CLIENT_ID=", "GREYROUTER_CLIENT_SECRET=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("caller: %v\n%s", err, out)
	}
	if want := "  10  orders v2 -> billing v2 (lane v2)\n"; !strings.Contains(string(out), want) {
		t.Fatalf("caller printed\n%s\nwant a line %q", out, want)
	}
}

func (d *demoEnv) laneModes(t *testing.T) {
	a := d.admin
	a.call(t, "PUT", "/api/v1/services/billing/versions/v2", map[string]any{"state": "retired"}).must(t, 200)
	// Permissive (the default): billing has no v2 to route to, so the
	// request goes where billing's binding says.
	eventually(t, 10*time.Second, "lane v2 falls back to billing v1", d.served("orders v2 -> billing v1 (lane v2)"))

	// Strict: the call fails, and orders says why.
	a.call(t, "PUT", "/api/v1/tenants/acme/bindings/billing", map[string]any{"mode": "pin", "version": "v1", "lane_mode": "strict"}).must(t, 200)
	eventually(t, 10*time.Second, "a strict binding refuses lane v2", func() error {
		_, err := d.call(d.alice, "alice")
		var se *demo.StatusError
		if !errors.As(err, &se) {
			return fmt.Errorf("call: %v, want a 502 naming the lane", err)
		}
		if se.Status != http.StatusBadGateway || se.Code != "not_found" || !strings.Contains(se.Message, `lane "v2"`) {
			t.Fatalf("strict binding without the lane's version: %v, want 502 not_found naming lane \"v2\"", err)
		}
		return nil
	})

	// The lane's version back: strict follows the lane again.
	a.call(t, "PUT", "/api/v1/services/billing/versions/v2", map[string]any{"state": "active"}).must(t, 200)
	eventually(t, 10*time.Second, "a strict binding follows lane v2", d.served("orders v2 -> billing v2 (lane v2)"))

	// Ignore: billing's binding decides whatever the lane; the lane still
	// travels.
	a.call(t, "PUT", "/api/v1/tenants/acme/bindings/billing", map[string]any{"mode": "pin", "version": "v1", "lane_mode": "ignore"}).must(t, 200)
	eventually(t, 10*time.Second, "a binding ignoring lanes keeps billing v1", d.served("orders v2 -> billing v1 (lane v2)"))

	a.call(t, "PUT", "/api/v1/tenants/acme/bindings/billing", map[string]any{"mode": "pin", "version": "v1"}).must(t, 200)
	eventually(t, 10*time.Second, "permissive again", d.served("orders v2 -> billing v2 (lane v2)"))
}

// outcome is one call of the drain test.
type outcome struct {
	at       time.Time // when the call was sent
	instance string    // the billing instance that served it
	err      error
}

func (d *demoEnv) drain(t *testing.T) {
	d.procs["billing-v2b"] = d.ps.start("billing-v2b", "billing", "-version", "v2", "-id", "billing-v2b", "-drain-for", shortDrain)
	eventually(t, 10*time.Second, "billing-v2b serving", func() error {
		a, err := d.call(d.alice, "alice")
		if err != nil {
			return err
		}
		if a.Billing.Instance != "billing-v2b" {
			return errNotYet
		}
		return nil
	})

	// Two callers call without pause while billing-v2 drains and stops.
	results := make(chan outcome, 1<<16)
	stop := make(chan struct{})
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{at: time.Now()}
				a, err := d.call(d.alice, "alice")
				o.err = err
				if err == nil {
					o.instance = a.Billing.Instance
				}
				results <- o
			}
		}()
	}
	stopCalls := sync.OnceFunc(func() {
		close(stop)
		for range 2 {
			<-done
		}
	})
	defer stopCalls()
	var all []outcome
	collect := func(until func() bool) {
		deadline := time.After(20 * time.Second)
		for !until() {
			select {
			case o := <-results:
				all = append(all, o)
			case <-deadline:
				t.Fatalf("drain test: only %d calls within 20s", len(all))
			}
		}
	}
	collect(func() bool { return len(all) >= 20 })

	v2 := d.procs["billing-v2"]
	sigterm := time.Now()
	v2.terminate()
	if err := v2.wait(drainFor + 20*time.Second); err != nil {
		t.Fatalf("billing-v2 after SIGTERM: %v\n%s", err, v2.out.String())
	}
	exited := time.Now()
	collect(func() bool { return len(all) > 0 && all[len(all)-1].at.After(exited.Add(200*time.Millisecond)) })
	stopCalls()
	for len(results) > 0 {
		all = append(all, <-results)
	}

	if took := exited.Sub(sigterm); took < drainFor {
		t.Errorf("billing-v2 exited %s after SIGTERM, before its %s drain was over", took, drainFor)
	}
	var failed, late, during int
	for _, o := range all {
		if o.at.After(sigterm) && o.at.Before(exited) {
			during++
		}
		switch {
		case o.err != nil:
			failed++
			t.Errorf("call at SIGTERM%+v failed: %v", o.at.Sub(sigterm).Round(time.Millisecond), o.err)
		case o.instance == "billing-v2" && o.at.After(sigterm.Add(movedWithin)):
			// Callers must have moved well before the instance stops.
			late++
		}
	}
	if failed > 0 || late > 0 {
		t.Fatalf("%d of %d calls failed, %d still reached billing-v2 more than %s into its drain", failed, len(all), late, movedWithin)
	}
	if during == 0 {
		t.Fatalf("no call was made while billing-v2 drained")
	}
	if r := d.admin.call(t, "GET", "/api/v1/services/billing/instances/billing-v2", nil); r.status != http.StatusNotFound {
		t.Fatalf("billing-v2 after its shutdown: %d %s, want 404 (deregistered)", r.status, r.raw)
	}
	t.Logf("%d calls, %d while billing-v2 drained (%s from SIGTERM to exit), none failed", len(all), during, exited.Sub(sigterm).Round(time.Millisecond))
}
