package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
)

// TestPrivilegeEndToEnd drives the privilege API of the real binary with
// real credentials: a platform administrator grants a role in a tenant,
// the tenant's administrator reads it, the tenant's machine client checks
// (allowed, then denied once the assignment is gone, with the revision
// token the removal returned), and another tenant's administrator is
// refused.
func TestPrivilegeEndToEnd(t *testing.T) {
	s := start(t, map[string]string{})
	s.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "acme"}).Must(t, 201)
	s.call(t, "POST", "/api/v1/tenants", map[string]any{"name": "globex"}).Must(t, 201)
	s.call(t, "POST", "/api/v1/admins", map[string]any{"username": "root", "password": "platform admin passphrase"}).Must(t, 201)
	s.call(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "alice", "password": "alice's long passphrase", "admin": true}).Must(t, 201)
	s.call(t, "POST", "/api/v1/tenants/globex/users", map[string]any{"username": "gina", "password": "gina's long passphrase", "admin": true}).Must(t, 201)
	login := func(tenant, user, password string) string {
		t.Helper()
		return s.callAs(t, "", "POST", "/api/v1/login", map[string]any{"tenant": tenant, "username": user, "password": password}).Must(t, 200).Str("access_token")
	}
	root := login("", "root", "platform admin passphrase")
	alice := login("acme", "alice", "alice's long passphrase")
	gina := login("globex", "gina", "gina's long passphrase")
	c := s.callAs(t, alice, "POST", "/api/v1/tenants/acme/clients", map[string]any{"name": "checkout"}).Must(t, 201)
	clientID := c.Str("client", "id")
	client := s.callAs(t, "", "POST", "/api/v1/token", map[string]any{
		"grant_type": "client_credentials", "client_id": clientID, "client_secret": c.Str("client_secret"),
	}).Must(t, 200).Str("access_token")

	const p = "/api/v1/tenants/acme/privilege"
	role := s.callAs(t, root, "PUT", p+"/roles/order-reader", map[string]any{
		"permissions": []any{map[string]any{"resource": "orders/*", "action": "read"}},
	}).Must(t, 200)
	grant := s.callAs(t, root, "PUT", p+"/roles/order-reader/members/"+clientID, nil).Must(t, 200)
	if role.Str("role", "tenant") != "acme" || grant.Str("assignment", "subject") != clientID || grant.Str("revision") == "" {
		t.Fatalf("role %s, grant %s", role.Raw, grant.Raw)
	}

	s.callAs(t, alice, "GET", p+"/roles/order-reader", nil).Must(t, 200)
	members := s.callAs(t, alice, "GET", p+"/roles/order-reader/members", nil).Must(t, 200)
	if !strings.Contains(members.Raw, `"subject":"`+clientID+`"`) {
		t.Fatalf("alice reads the members: %s", members.Raw)
	}

	ask := map[string]any{"action": "read", "resource": "orders/17", "revision": grant.Str("revision")}
	if d := s.callAs(t, client, "POST", p+"/check", ask).Must(t, 200); d.Str("allowed") != "true" {
		t.Fatalf("the client about itself after the grant: %s", d.Raw)
	}
	revoke := s.callAs(t, root, "DELETE", p+"/roles/order-reader/members/"+clientID, nil).Must(t, 200)
	delete(ask, "revision")
	d := checkWithRevision(t, s, client, p+"/check", ask, revoke.Str("revision"))
	if d.Status != 200 || d.Str("allowed") != "false" || d.Str("decision_id") == "" {
		t.Fatalf("the client after the revocation, with its token: %d %s", d.Status, d.Raw)
	}

	for _, call := range []struct{ method, path string }{
		{"GET", p + "/roles"}, {"GET", p + "/roles/order-reader/members"}, {"GET", p + "/decisions"},
		{"PUT", p + "/roles/order-reader/members/u-gina"}, {"POST", p + "/check"},
	} {
		if r := s.callAs(t, gina, call.method, call.path, ask); r.Status != 403 || strings.Contains(r.Raw, "order-reader") {
			t.Errorf("globex's administrator: %s %s answered %d %s", call.method, call.path, r.Status, r.Raw)
		}
	}

	// The deny is in acme's decision audit, written asynchronously.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.callAs(t, alice, "GET", p+"/decisions?allowed=false", nil).Must(t, 200)
		if strings.Contains(r.Raw, d.Str("decision_id")) && strings.Contains(r.Raw, `"caller":"client:`+clientID+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deny is not in the audit within 10s: %s", r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if m, _ := io.ReadAll(resp.Body); !strings.Contains(string(m), "greyrouter_privilege_checks_total") {
		t.Error("the privilege metrics are not on /metrics")
	}
}

// checkWithRevision posts a check as token with the revision token in
// the X-Privilege-Revision header.
func checkWithRevision(t *testing.T, s *server, token, path string, body map[string]any, revision string) reply {
	t.Helper()
	j, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", s.base+path, bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Privilege-Revision", revision)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.ReadReply(resp)
}
