package sdk_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
)

// world is a greyrouter binary on a real Redis (and its default SQLite),
// configured over its admin API the way an operator would: three tenants
// routing one service differently, people and machine clients with
// access tokens, and a role granting read on orders to a few subjects.
type world struct {
	redis *testutil.RedisServer
	gr    *testutil.GreyrouterServer

	// platformClient is a platform machine client's access token: the
	// router client reads every tenant's routing with it.
	platformClient string
	// checkoutClient is acme's machine client's access token: the
	// privilege client checks acme's subjects with it.
	checkoutClient string
	// tokens are valid access tokens, by the subject they must verify as.
	tokens map[string]string
	// revoked is an access token whose session was logged out.
	revoked string
}

// Tenants, subjects and resources of the world.
var (
	knownTenants = []string{"acme", "globex", "initech"}
	// readers hold role order-reader in acme (read on orders/*); stranger
	// holds nothing.
	readers  = []string{"reader-1", "reader-2", "reader-3", "reader-4"}
	stranger = "stranger"
)

const orderResources = 16

// newWorld starts Redis and the greyrouter binary and configures them.
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{redis: testutil.Redis(t), tokens: map[string]string{}}
	w.gr = testutil.Greyrouter(t, testutil.GreyrouterOptions{Env: map[string]string{
		"REDIS_URL": "redis://" + w.redis.Addr + "/0",
	}})

	// Routing: orders has v1 and v2 with two instances each; acme splits
	// 20% to v2 by sticky key, globex is pinned to v2, initech takes the
	// default v1.
	for _, tn := range knownTenants {
		w.admin(t, "POST", "/api/v1/tenants", map[string]any{"name": tn}).Must(t, 201)
	}
	w.admin(t, "POST", "/api/v1/services", map[string]any{"name": "orders", "strategy": "round_robin"}).Must(t, 201)
	for _, v := range []string{"v1", "v2"} {
		w.admin(t, "POST", "/api/v1/services/orders/versions", map[string]any{"name": v}).Must(t, 201)
		for _, s := range []string{"a", "b"} {
			id := "orders-" + v + s
			w.admin(t, "POST", "/api/v1/services/orders/instances", map[string]any{"id": id, "version": v, "address": id + ".internal:8080"}).Must(t, 201)
		}
	}
	w.admin(t, "PUT", "/api/v1/services/orders", map[string]any{"default_version": "v1"}).Must(t, 200)
	w.admin(t, "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "split", "baseline": "v1", "candidate": "v2", "percent": 20}).Must(t, 200)
	w.admin(t, "PUT", "/api/v1/tenants/globex/bindings/orders", map[string]any{"mode": "pin", "version": "v2"}).Must(t, 200)

	// People: alice administers acme, bob uses it, carol's session is
	// logged out before the load starts.
	for _, u := range []struct {
		name  string
		admin bool
	}{{"alice", true}, {"bob", false}, {"carol", false}} {
		w.admin(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": u.name, "password": u.name + "'s long passphrase", "admin": u.admin}).Must(t, 201)
	}
	login := func(user string) (token, subject string) {
		t.Helper()
		r := w.call(t, "", "POST", "/api/v1/login", map[string]any{"tenant": "acme", "username": user, "password": user + "'s long passphrase"}).Must(t, 200)
		return r.Str("access_token"), w.call(t, r.Str("access_token"), "GET", "/api/v1/me", nil).Must(t, 200).Str("principal", "subject")
	}
	alice, aliceID := login("alice")
	bob, bobID := login("bob")
	w.tokens[aliceID], w.tokens[bobID] = alice, bob
	w.revoked, _ = login("carol")
	w.call(t, w.revoked, "POST", "/api/v1/logout", nil).Must(t, 204)

	// Machine clients: acme's checkout service, and a platform client for
	// the routing snapshot of every tenant.
	checkout := w.call(t, alice, "POST", "/api/v1/tenants/acme/clients", map[string]any{"name": "checkout"}).Must(t, 201)
	w.checkoutClient = w.clientToken(t, checkout)
	w.tokens[checkout.Str("client", "id")] = w.checkoutClient
	platform := w.admin(t, "POST", "/api/v1/platform-clients", map[string]any{"name": "edge"}).Must(t, 201)
	w.platformClient = w.clientToken(t, platform)

	// Privilege: order-reader may read orders/*, granted to readers.
	const p = "/api/v1/tenants/acme/privilege"
	w.call(t, alice, "PUT", p+"/roles/order-reader", map[string]any{
		"permissions": []any{map[string]any{"resource": "orders/*", "action": "read"}},
	}).Must(t, 200)
	for _, s := range readers {
		w.call(t, alice, "PUT", p+"/roles/order-reader/members/"+s, nil).Must(t, 200)
	}
	return w
}

// clientToken gets an access token for a client just created (its
// creation answer carries the secret once).
func (w *world) clientToken(t *testing.T, created reply) string {
	t.Helper()
	return w.call(t, "", "POST", "/api/v1/token", map[string]any{
		"grant_type": "client_credentials", "client_id": created.Str("client", "id"), "client_secret": created.Str("client_secret"),
	}).Must(t, 200).Str("access_token")
}

// reply is a decoded JSON answer of the binary.
type reply = testutil.Reply

// admin calls the binary with its break-glass admin token.
func (w *world) admin(t *testing.T, method, path string, body any) reply {
	t.Helper()
	return w.call(t, testutil.GreyrouterAdminToken, method, path, body)
}

// call sends body as JSON with token (none when empty).
func (w *world) call(t *testing.T, token, method, path string, body any) reply {
	t.Helper()
	return testutil.CallAPIContext(t.Context(), t, apiClient, w.gr.URL, token, method, path, body)
}

// apiClient bounds each call to the binary.
var apiClient = &http.Client{Timeout: 30 * time.Second}

// ready reports whether the binary's /readyz answers 200.
func (w *world) ready() bool {
	resp, err := (&http.Client{Timeout: 500 * time.Millisecond}).Get(w.gr.URL + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
