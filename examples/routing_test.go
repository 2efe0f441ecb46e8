package examples_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/examples/internal/demo"
)

// bindingChange pins acme to orders v1, then v2, then splits it 50/50:
// the test's Transport follows each change, and each request reaches the
// billing version of the lane it entered orders in.
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

// permission: orders runs with -require orders:read, which alice holds
// through a role and bob does not.
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

// laneTwoHops: acme is pinned to orders v2 and billing v1, yet a request
// that entered orders v2 is served by billing v2.
func (d *demoEnv) laneTwoHops(t *testing.T) {
	d.put(t, "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v2"})
	// Billing's own binding for acme says v1; only the lane takes a
	// request that entered orders v2 to billing v2.
	r := d.admin.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "billing", "key": "k"}).Must(t, 200)
	if r.Str("version") != "v1" {
		t.Fatalf("billing for acme without a lane: %s, want v1", r.Raw)
	}
	r = d.admin.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "billing", "key": "k", "lane": "v2"}).Must(t, 200)
	if r.Str("version") != "v2" || r.Str("reason") != "lane" {
		t.Fatalf("billing for acme in lane v2: %s, want v2 for reason lane", r.Raw)
	}
	eventually(t, 10*time.Second, "acme on orders v2", d.served("orders v2 -> billing v2 (lane v2)"))
	d.mustServe(t, 20, "orders v2 -> billing v2 (lane v2)")
}

// caller runs the caller program as a human would.
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

// laneModes retires billing v2 and walks acme's billing binding through
// the lane modes: permissive falls back to the binding, strict fails
// naming the lane, ignore never follows it.
func (d *demoEnv) laneModes(t *testing.T) {
	a := d.admin
	a.call(t, "PUT", "/api/v1/services/billing/versions/v2", map[string]any{"state": "retired"}).Must(t, 200)
	// Permissive (the default): billing has no v2 to route to, so the
	// request goes where billing's binding says.
	eventually(t, 10*time.Second, "lane v2 falls back to billing v1", d.served("orders v2 -> billing v1 (lane v2)"))

	// Strict: the call fails, and orders says why.
	a.call(t, "PUT", "/api/v1/tenants/acme/bindings/billing", map[string]any{"mode": "pin", "version": "v1", "lane_mode": "strict"}).Must(t, 200)
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
	a.call(t, "PUT", "/api/v1/services/billing/versions/v2", map[string]any{"state": "active"}).Must(t, 200)
	eventually(t, 10*time.Second, "a strict binding follows lane v2", d.served("orders v2 -> billing v2 (lane v2)"))

	// Ignore: billing's binding decides whatever the lane; the lane still
	// travels.
	a.call(t, "PUT", "/api/v1/tenants/acme/bindings/billing", map[string]any{"mode": "pin", "version": "v1", "lane_mode": "ignore"}).Must(t, 200)
	eventually(t, 10*time.Second, "a binding ignoring lanes keeps billing v1", d.served("orders v2 -> billing v1 (lane v2)"))

	a.call(t, "PUT", "/api/v1/tenants/acme/bindings/billing", map[string]any{"mode": "pin", "version": "v1"}).Must(t, 200)
	eventually(t, 10*time.Second, "permissive again", d.served("orders v2 -> billing v2 (lane v2)"))
}
