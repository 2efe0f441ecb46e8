package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// client returns a valid, active client of tenant ("" for a platform
// client) with every field set; its id is derived from tenant and name so
// that tests can predict it.
func client(tenant, name string) login.Client {
	id := sha256.Sum256([]byte(tenant + "/" + name))
	secret := sha256.Sum256([]byte("secret of " + tenant + "/" + name))
	return login.Client{
		ID: "gc-" + hex.EncodeToString(id[:16]), Tenant: tenant, Name: name,
		Status: login.UserActive, Platform: tenant == "",
		SecretHash: hex.EncodeToString(secret[:]), Generation: 2,
		CreatedAt: at(1), UpdatedAt: at(2),
	}
}

func createClients(t *testing.T, s Store, cs ...login.Client) {
	t.Helper()
	for _, c := range cs {
		must(t, s.CreateClient(t.Context(), c), "create client "+c.Name+" of tenant "+c.Tenant)
	}
}

// clientIs checks the stored client with want's id.
func clientIs(t *testing.T, s Store, what string, want login.Client) {
	t.Helper()
	got, err := s.GetClient(t.Context(), want.ID)
	must(t, err, what)
	if g, w := normClient(got), normClient(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// clientsAre checks a tenant's client list.
func clientsAre(t *testing.T, s Store, tenant string, want ...login.Client) {
	t.Helper()
	got, err := s.ListClients(t.Context(), tenant)
	must(t, err, "list clients of tenant "+tenant)
	if got == nil {
		t.Fatalf("clients of tenant %q = nil, want a non-nil list", tenant)
	}
	if len(got) != len(want) {
		t.Fatalf("clients of tenant %q: got %d %+v, want %d %+v", tenant, len(got), got, len(want), want)
	}
	for i := range got {
		if g, w := normClient(got[i]), normClient(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("client %d of tenant %q:\n got %+v\nwant %+v", i, tenant, g, w)
		}
	}
}

func normClient(c login.Client) login.Client {
	c.CreatedAt, c.UpdatedAt = normTime(c.CreatedAt), normTime(c.UpdatedAt)
	return c
}

func testClients(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a client reads back as it was created, tenant and platform alike", func(t *testing.T) {
		s := open(t)
		tenant, platform := client("acme", "billing"), client("", "ops")
		tenant.Admin = true
		createClients(t, s, tenant, platform)
		clientIs(t, s, "tenant client", tenant)
		clientIs(t, s, "platform client", platform)
	})
	t.Run("a taken client id conflicts", func(t *testing.T) {
		s := open(t)
		createClients(t, s, client("acme", "billing"))
		again := client("globex", "other")
		again.ID = client("acme", "billing").ID
		wantCode(t, s.CreateClient(t.Context(), again), apperr.Conflict, "create a client with a taken id")
		clientIs(t, s, "the first client", client("acme", "billing"))
	})
	t.Run("a missing client is not found", func(t *testing.T) {
		_, err := open(t).GetClient(t.Context(), client("acme", "nobody").ID)
		wantCode(t, err, apperr.NotFound, "get a missing client")
	})
	t.Run("a tenant lists only its own clients, by name", func(t *testing.T) {
		s := open(t)
		acme := []login.Client{client("acme", "a-billing"), client("acme", "b-orders"), client("acme", "c-reports")}
		createClients(t, s, acme[2], client("globex", "a-billing"), acme[0], client("", "ops"), acme[1])
		clientsAre(t, s, "acme", acme...)
		clientsAre(t, s, "", client("", "ops"))
		clientsAre(t, s, "empty")
	})
	t.Run("an update replaces the mutable fields and keeps the others", func(t *testing.T) {
		s := open(t)
		before := client("acme", "billing")
		createClients(t, s, before, client("acme", "orders"))
		after := before
		after.Name, after.Status, after.Admin = "billing-v2", login.UserDisabled, true
		after.SecretHash = client("acme", "rotated").SecretHash
		after.Generation, after.UpdatedAt = before.Generation+1, at(30)
		forged := after
		forged.Platform, forged.CreatedAt = true, at(40) // immutable: ignored
		must(t, s.UpdateClient(t.Context(), forged), "update client")
		clientIs(t, s, "updated client", after)
		clientIs(t, s, "the client not updated", client("acme", "orders"))
	})
	t.Run("an update or delete naming another tenant is not found and changes nothing", func(t *testing.T) {
		s := open(t)
		c := client("acme", "billing")
		createClients(t, s, c)
		forged := c
		forged.Tenant, forged.Status, forged.Admin = "globex", login.UserDisabled, true
		wantCode(t, s.UpdateClient(t.Context(), forged), apperr.NotFound, "update through another tenant")
		forged.Tenant, forged.Platform = "", true
		wantCode(t, s.UpdateClient(t.Context(), forged), apperr.NotFound, "update as a platform client")
		wantCode(t, s.DeleteClient(t.Context(), "globex", c.ID), apperr.NotFound, "delete through another tenant")
		wantCode(t, s.DeleteClient(t.Context(), "", c.ID), apperr.NotFound, "delete as a platform client")
		clientIs(t, s, "client after cross-tenant writes", c)
	})
	t.Run("a deleted client is gone, and deleting it again is not found", func(t *testing.T) {
		s := open(t)
		c := client("acme", "billing")
		createClients(t, s, c, client("acme", "orders"))
		must(t, s.DeleteClient(t.Context(), "acme", c.ID), "delete client")
		_, err := s.GetClient(t.Context(), c.ID)
		wantCode(t, err, apperr.NotFound, "get a deleted client")
		wantCode(t, s.DeleteClient(t.Context(), "acme", c.ID), apperr.NotFound, "delete a deleted client")
		clientsAre(t, s, "acme", client("acme", "orders"))
	})
	t.Run("an update of a missing client is not found", func(t *testing.T) {
		s := open(t)
		wantCode(t, s.UpdateClient(t.Context(), client("acme", "ghost")), apperr.NotFound, "update a missing client")
	})
}
