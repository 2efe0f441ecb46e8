package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/greyrouter/greyrouter/login"
)

func TestTenantAdminsStayInTheirTenant(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "boss", alicePassword, true)
		f.createUser(t, "acme", "alice", alicePassword, false)
		g := f.createUser(t, "globex", "gina", alicePassword, false)
		boss := bearer(f.login(t, "acme", "boss", alicePassword).AccessToken)
		alice := bearer(f.login(t, "acme", "alice", alicePassword).AccessToken)

		forbidden := []struct{ method, path string }{
			{"GET", "/api/v1/tenants/globex/users"},
			{"POST", "/api/v1/tenants/globex/users"},
			{"GET", "/api/v1/tenants/globex/users/" + g.ID},
			{"PATCH", "/api/v1/tenants/globex/users/" + g.ID},
			{"POST", "/api/v1/tenants/globex/users/" + g.ID + "/password"},
			{"POST", "/api/v1/tenants/globex/users/" + g.ID + "/logout-everywhere"},
			{"GET", "/api/v1/tenants/globex/clients"},
			{"POST", "/api/v1/tenants/globex/clients"},
			{"GET", "/api/v1/tenants/globex/audit"},
			{"GET", "/api/v1/admins"},
			{"GET", "/api/v1/platform-clients"},
			{"GET", "/api/v1/signing-keys"},
			{"POST", "/api/v1/signing-keys/rotate"},
			{"GET", "/api/v1/audit"},
		}
		body := map[string]any{"username": "intruder", "password": alicePassword, "name": "x", "status": "disabled"}
		for _, c := range forbidden {
			r := f.do(t, c.method, c.path, body, boss)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("acme admin %s %s: status %d, want 403; %s", c.method, c.path, r.StatusCode, r.body)
			}
		}
		// Through its own tenant's path, a globex user does not exist.
		f.do(t, "GET", "/api/v1/tenants/acme/users/"+g.ID, nil, boss).want(t, http.StatusNotFound)
		f.do(t, "PATCH", "/api/v1/tenants/acme/users/"+g.ID, map[string]string{"status": "disabled"}, boss).want(t, http.StatusNotFound)
		f.do(t, "POST", "/api/v1/tenants/acme/users/"+g.ID+"/password", map[string]string{"password": newPassword}, boss).
			want(t, http.StatusNotFound)
		f.login(t, "globex", "gina", alicePassword) // untouched

		// A plain user is no administrator, not even of its own tenant.
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/v1/tenants/acme/users"},
			{"POST", "/api/v1/tenants/acme/users"},
			{"GET", "/api/v1/tenants/acme/clients"},
			{"POST", "/api/v1/introspect"},
			{"GET", "/api/v1/admins"},
		} {
			r := f.do(t, c.method, c.path, body, alice)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("plain user %s %s: status %d, want 403; %s", c.method, c.path, r.StatusCode, r.body)
			}
		}

		// Within its tenant the admin manages users.
		var created login.User
		f.do(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "carol", "password": alicePassword}, boss).
			want(t, http.StatusCreated).decode(t, &created)
		if created.Tenant != "acme" || created.Platform {
			t.Fatalf("created %+v, want an acme user", created)
		}
	})
}

func TestUserAdministration(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		for _, name := range []string{"dave", "bob", "erin", "carol", "alice"} {
			f.createUser(t, "acme", name, alicePassword, false)
		}
		f.createUser(t, "globex", "zed", alicePassword, false)

		var names []string
		after := ""
		for range 4 {
			var page struct {
				Users     []login.User `json:"items"`
				NextAfter string       `json:"next"`
			}
			f.do(t, "GET", "/api/v1/tenants/acme/users?limit=2&after="+url.QueryEscape(after), nil, admin).
				want(t, http.StatusOK).decode(t, &page)
			for _, u := range page.Users {
				names = append(names, u.Username)
			}
			if after = page.NextAfter; after == "" {
				break
			}
		}
		if got := len(names); got != 5 || names[0] != "alice" || names[4] != "erin" {
			t.Fatalf("paged users = %v, want alice..erin of acme only", names)
		}

		f.do(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "alice", "password": alicePassword}, admin).
			want(t, http.StatusConflict)
		f.do(t, "POST", "/api/v1/tenants/initech/users", map[string]any{"username": "x", "password": alicePassword}, admin).
			want(t, http.StatusNotFound)
		r := f.do(t, "POST", "/api/v1/tenants/acme/users", map[string]any{"username": "frank", "password": "password"}, admin).
			want(t, http.StatusUnprocessableEntity)
		if e := r.errorBody(t); e.Details["password"] == "" {
			t.Fatalf("weak password error %+v does not name the password", e)
		}

		// Platform administrators are managed on their own routes.
		var root login.User
		f.do(t, "POST", "/api/v1/admins", map[string]any{"username": "root", "password": alicePassword}, admin).
			want(t, http.StatusCreated).decode(t, &root)
		if !root.Platform || root.Tenant != "" {
			t.Fatalf("created admin %+v, want a platform administrator", root)
		}
		f.do(t, "GET", "/api/v1/tenants/acme/users/"+root.ID, nil, admin).want(t, http.StatusNotFound)
		rootToken := bearer(f.login(t, "", "root", alicePassword).AccessToken)
		f.do(t, "GET", "/api/v1/tenants/globex/users", nil, rootToken).want(t, http.StatusOK)
		var self login.User
		f.do(t, "PATCH", "/api/v1/admins/"+root.ID, map[string]string{"display_name": "Root"}, rootToken).
			want(t, http.StatusOK).decode(t, &self)
		if self.DisplayName != "Root" {
			t.Fatalf("PATCH display_name returned %+v", self)
		}
		f.do(t, "PATCH", "/api/v1/admins/"+root.ID, map[string]string{"status": "disabled"}, rootToken).
			want(t, http.StatusForbidden)

		// The audit trail records who did what.
		if err := f.audit.Flush(t.Context()); err != nil {
			t.Fatalf("flush audit: %v", err)
		}
		var trail struct {
			Events []login.AuditEvent `json:"items"`
		}
		f.do(t, "GET", "/api/v1/tenants/acme/audit?kind=user_created&limit=10", nil, admin).
			want(t, http.StatusOK).decode(t, &trail)
		if len(trail.Events) != 5 {
			t.Fatalf("acme user_created events = %d, want 5", len(trail.Events))
		}
		for _, e := range trail.Events {
			if e.Tenant != "acme" || e.Actor != "bootstrap-token" {
				t.Errorf("event %+v, want tenant acme by the bootstrap token", e)
			}
		}
	})
}

func TestMachineClients(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "boss", alicePassword, true)
		boss := bearer(f.login(t, "acme", "boss", alicePassword).AccessToken)

		var created struct {
			Client       login.Client `json:"client"`
			ClientSecret string       `json:"client_secret"`
		}
		f.do(t, "POST", "/api/v1/tenants/acme/clients", map[string]any{"name": "billing"}, boss).
			want(t, http.StatusCreated).decode(t, &created)
		id, secret := created.Client.ID, created.ClientSecret
		if secret == "" || created.Client.Tenant != "acme" {
			t.Fatalf("created client %+v without a secret", created)
		}
		var listed struct {
			Clients []map[string]any `json:"items"`
		}
		f.do(t, "GET", "/api/v1/tenants/acme/clients", nil, boss).want(t, http.StatusOK).decode(t, &listed)
		if len(listed.Clients) != 1 || listed.Clients[0]["client_secret"] != nil || listed.Clients[0]["secret_hash"] != nil {
			t.Fatalf("client list %+v: want one client without its secret", listed.Clients)
		}

		basic := func(id, secret string) opt {
			return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
		}
		form := header("Content-Type", "application/x-www-form-urlencoded")
		var tok grant
		f.do(t, "POST", "/api/v1/token", "grant_type=client_credentials", form, basic(id, secret)).
			want(t, http.StatusOK).decode(t, &tok)
		if tok.AccessToken == "" || tok.RefreshToken != "" {
			t.Fatalf("client token %+v: want an access token and no refresh token", tok)
		}
		f.do(t, "POST", "/api/v1/token", map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": secret}).
			want(t, http.StatusOK)

		var in login.Introspection
		f.do(t, "POST", "/api/v1/introspect", "token="+tok.AccessToken, form, boss).want(t, http.StatusOK).decode(t, &in)
		if !in.Active || in.ClientID != id || in.Tenant != "acme" {
			t.Fatalf("introspection %+v, want active client %s of acme", in, id)
		}
		// A client may introspect too (it is a resource server).
		f.do(t, "POST", "/api/v1/introspect", map[string]string{"token": tok.AccessToken}, bearer(tok.AccessToken)).
			want(t, http.StatusOK).decode(t, &in)
		if !in.Active {
			t.Fatalf("client's own introspection %+v, want active", in)
		}

		var rotated struct {
			Client       login.Client `json:"client"`
			ClientSecret string       `json:"client_secret"`
		}
		f.do(t, "PATCH", "/api/v1/tenants/acme/clients/"+id, map[string]bool{"rotate_secret": true}, boss).
			want(t, http.StatusOK).decode(t, &rotated)
		if rotated.ClientSecret == "" || rotated.ClientSecret == secret {
			t.Fatalf("rotation returned secret %q, want a new one", rotated.ClientSecret)
		}
		f.me(t, bearer(tok.AccessToken)).want(t, http.StatusUnauthorized)
		f.do(t, "POST", "/api/v1/introspect", map[string]string{"token": tok.AccessToken}, boss).want(t, http.StatusOK).decode(t, &in)
		if in.Active {
			t.Fatalf("token issued before the rotation is still active: %+v", in)
		}
		r := f.do(t, "POST", "/api/v1/token", "grant_type=client_credentials", form, basic(id, secret)).
			want(t, http.StatusUnauthorized)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("a failed Basic client authentication has no WWW-Authenticate challenge")
		}
		f.do(t, "POST", "/api/v1/token", "grant_type=client_credentials", form, basic(id, rotated.ClientSecret)).
			want(t, http.StatusOK)

		f.do(t, "DELETE", "/api/v1/tenants/acme/clients/"+id, nil, boss).want(t, http.StatusNoContent)
		f.do(t, "POST", "/api/v1/token", "grant_type=client_credentials", form, basic(id, rotated.ClientSecret)).
			want(t, http.StatusUnauthorized)
		f.do(t, "GET", "/api/v1/tenants/acme/clients/"+id, nil, boss).want(t, http.StatusNotFound)
	})
}
