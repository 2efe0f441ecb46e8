package main

import (
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
)

// TestLoginAcrossReplicas drives the login service through two replicas
// sharing real Redis and PostgreSQL: tokens issued by one are honoured by
// the other with the roles they carry, and a revocation on one reaches the
// other without any call between them.
func TestLoginAcrossReplicas(t *testing.T) {
	r := testutil.Redis(t)
	dsn := testutil.Postgres(t)
	env := func() map[string]string {
		return map[string]string{"REDIS_URL": "redis://" + r.Addr + "/0", "DATABASE_URL": dsn}
	}
	a, b := start(t, env()), start(t, env())

	// First start: the break-glass token creates the platform's people.
	a.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "acme"}).Must(t, 201)
	a.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "globex"}).Must(t, 201)
	a.call(t, "POST", "/api/v1/admins", map[string]any{"username": "root", "password": "platform admin passphrase"}).Must(t, 201)
	a.call(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "alice", "password": "alice's long passphrase", "admin": true}).Must(t, 201)
	a.call(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "bob", "password": "bob's long passphrase"}).Must(t, 201)

	login := func(s *server, tenant, user, password string) string {
		t.Helper()
		rep := s.callAs(t, "", "POST", "/api/v1/login", map[string]any{"tenant": tenant, "username": user, "password": password}).Must(t, 200)
		tok := rep.Str("access_token")
		if tok == "" || rep.Str("refresh_token") == "" {
			t.Fatalf("login answer lacks tokens: %s", rep.Raw)
		}
		return tok
	}
	root := login(a, "", "root", "platform admin passphrase")
	alice := login(a, "acme", "alice", "alice's long passphrase")
	bob := login(b, "acme", "bob", "bob's long passphrase")

	// Platform configuration for the checks below, by the platform admin
	// logged in on replica a, used on replica b.
	b.callAs(t, root, "POST", "/api/v1/services", map[string]any{"name": "pay"}).Must(t, 201)
	b.callAs(t, root, "POST", "/api/v1/services/pay/versions", map[string]any{"name": "v1"}).Must(t, 201)
	b.callAs(t, root, "POST", "/api/v1/services/pay/instances", map[string]any{"id": "p1", "version": "v1", "address": "p1:80"}).Must(t, 201)
	b.callAs(t, root, "PUT", "/api/v1/services/pay", map[string]any{"default_version": "v1"}).Must(t, 200)

	t.Run("roles travel in the token to the other replica", func(t *testing.T) {
		pin := map[string]any{"mode": "pin", "version": "v1"}
		b.callAs(t, alice, "PUT", "/api/v1/tenants/acme/bindings/pay", pin).Must(t, 200)
		if got := b.callAs(t, alice, "PUT", "/api/v1/tenants/globex/bindings/pay", pin); got.Status != 403 {
			t.Errorf("tenant admin of acme changed globex: %d %s", got.Status, got.Raw)
		}
		if got := b.callAs(t, alice, "POST", "/api/v1/services", map[string]any{"name": "x"}); got.Status != 403 {
			t.Errorf("tenant admin changed platform configuration: %d %s", got.Status, got.Raw)
		}
		if got := b.callAs(t, bob, "PUT", "/api/v1/tenants/acme/bindings/pay", pin); got.Status != 403 {
			t.Errorf("plain user changed a binding: %d %s", got.Status, got.Raw)
		}
		b.callAs(t, bob, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "pay", "key": "k"}).Must(t, 200)
		if got := b.callAs(t, bob, "POST", "/api/v1/resolve", map[string]any{"tenant": "globex", "service": "pay", "key": "k"}); got.Status != 403 {
			t.Errorf("acme user resolved for globex: %d %s", got.Status, got.Raw)
		}
		if got := b.callAs(t, "not-a-token", "GET", "/api/v1/services", nil); got.Status != 401 {
			t.Errorf("garbage bearer: %d %s", got.Status, got.Raw)
		}
	})

	t.Run("a machine client gets a token for its tenant only", func(t *testing.T) {
		c := a.callAs(t, alice, "POST", "/api/v1/tenants/acme/clients", map[string]any{"name": "checkout"}).Must(t, 201)
		id, secret := c.Str("client", "id"), c.Str("client_secret")
		if id == "" || secret == "" {
			t.Fatalf("client answer: %s", c.Raw)
		}
		g := b.callAs(t, "", "POST", "/api/v1/token", map[string]any{"grant_type": "client_credentials", "client_id": id, "client_secret": secret}).Must(t, 200)
		tok := g.Str("access_token")
		b.callAs(t, tok, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "pay", "key": "k"}).Must(t, 200)
		if got := b.callAs(t, tok, "POST", "/api/v1/resolve", map[string]any{"tenant": "globex", "service": "pay", "key": "k"}); got.Status != 403 {
			t.Errorf("acme client resolved for globex: %d %s", got.Status, got.Raw)
		}
		outcome := map[string]any{"service": "pay", "instance": "p1", "ok": true, "latency_ms": 3}
		b.callAs(t, tok, "POST", "/api/v1/report", outcome).Must(t, 200)
		if got := b.callAs(t, bob, "POST", "/api/v1/report", outcome); got.Status != 403 {
			t.Errorf("a person reported an outcome: %d %s", got.Status, got.Raw)
		}
	})

	t.Run("logout on one replica is rejected on the other", func(t *testing.T) {
		tok := login(a, "acme", "bob", "bob's long passphrase")
		b.callAs(t, tok, "GET", "/api/v1/me", nil).Must(t, 200)
		a.callAs(t, tok, "POST", "/api/v1/logout", nil)
		waitStatus(t, b, tok, "/api/v1/me", 401)
	})

	t.Run("disabling a user ends its tokens everywhere", func(t *testing.T) {
		carol := a.callAs(t, alice, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "carol", "password": "carol's long passphrase"}).Must(t, 201)
		tok := login(b, "acme", "carol", "carol's long passphrase")
		b.callAs(t, tok, "GET", "/api/v1/me", nil).Must(t, 200)
		a.callAs(t, alice, "PATCH", "/api/v1/tenants/acme/users/"+carol.Str("id"), map[string]any{"status": "disabled"}).Must(t, 200)
		waitStatus(t, b, tok, "/api/v1/me", 401)
		if got := b.callAs(t, "", "POST", "/api/v1/login", map[string]any{"tenant": "acme", "username": "carol", "password": "carol's long passphrase"}); got.Status != 401 {
			t.Errorf("a disabled user logged in: %d %s", got.Status, got.Raw)
		}
	})

	t.Run("revocations survive a Redis flush", func(t *testing.T) {
		tok := login(a, "acme", "alice", "alice's long passphrase")
		a.callAs(t, tok, "POST", "/api/v1/logout", nil)
		waitStatus(t, b, tok, "/api/v1/me", 401)
		r.FlushAll(t)
		// A replica started after the flush learns the revocation from
		// the database, republished by the running replicas.
		c := start(t, env())
		waitStatus(t, c, tok, "/api/v1/me", 401)
	})

	t.Run("the bootstrap token can be switched off", func(t *testing.T) {
		off := env()
		off["GREYROUTER_DISABLE_BOOTSTRAP_TOKEN"] = "true"
		s := start(t, off)
		if got := s.call(t, "GET", "/api/v1/services", nil); got.Status != 401 {
			t.Errorf("disabled bootstrap token accepted: %d %s", got.Status, got.Raw)
		}
		s.callAs(t, root, "GET", "/api/v1/services", nil).Must(t, 200)
	})
}

// waitStatus polls path with token on s until it answers status, failing
// after 5 s.
func waitStatus(t *testing.T, s *server, token, path string, status int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := s.callAs(t, token, "GET", path, nil)
		if got.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: status %d after 5 s, want %d: %s", path, got.Status, status, got.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStaleRevocationStateFailsClosed stops Redis under a replica whose
// revocation state may be at most 1 s old: access tokens are refused with
// 503 (a revocation might be missed), the break-glass token still works
// for what needs only the database, and tokens work again once Redis is
// back.
func TestStaleRevocationStateFailsClosed(t *testing.T) {
	r := testutil.Redis(t)
	s := start(t, map[string]string{
		"REDIS_URL": "redis://" + r.Addr + "/0", "GREYROUTER_REVOCATION_MAX_STALENESS": "1s",
	})
	s.call(t, "POST", "/api/v1/admins", map[string]any{"username": "root", "password": "platform admin passphrase"}).Must(t, 201)
	tok := s.callAs(t, "", "POST", "/api/v1/login", map[string]any{"username": "root", "password": "platform admin passphrase"}).Must(t, 200).Str("access_token")
	s.callAs(t, tok, "GET", "/api/v1/services", nil).Must(t, 200)

	r.Stop(t)
	waitStatus(t, s, tok, "/api/v1/services", 503)
	s.call(t, "GET", "/api/v1/services", nil).Must(t, 200)

	r.Start(t)
	waitStatus(t, s, tok, "/api/v1/services", 200)
}
