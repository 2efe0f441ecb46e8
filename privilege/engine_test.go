package privilege_test

import (
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/privilege"
)

// TestEngineCombinesRBACAndABAC checks one tenant's roles and policies
// answering together: RBAC permits, an ABAC deny overrides it (or not,
// by algorithm), explanations name the deciding role path or rule, and
// the answer carries the earliest assignment expiry it rests on.
func TestEngineCombinesRBACAndABAC(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	expiry := now.Add(time.Hour)
	rbac, err := privilege.CompileRBAC("acme", []privilege.Role{
		{Tenant: "acme", Name: "reader", Permissions: []privilege.Permission{{Resource: "orders/*", Action: "read"}}},
		{Tenant: "acme", Name: "support", Inherits: []string{"reader"}},
	}, []privilege.Assignment{
		{Tenant: "acme", Subject: "alice", Role: "support", ExpiresAt: expiry},
		{Tenant: "acme", Subject: "bob", Role: "reader"},
	})
	if err != nil {
		t.Fatal(err)
	}
	policies := `[{"id":"frozen","target":{"resources":["orders/*"],"actions":["*"]},"rules":[
		{"id":"frozen-orders","effect":"deny","condition":{"attr":"resource.frozen","op":"eq","value":true}}]}]`
	schema := privilege.Schema{}
	if err := schema.Declare("resource.frozen", privilege.AttrType("bool")); err != nil {
		t.Fatal(err)
	}
	ps, err := privilege.ParsePolicies([]byte(policies))
	if err != nil {
		t.Fatal(err)
	}
	engine := func(alg privilege.Algorithm) *privilege.Engine {
		abac, err := privilege.CompilePolicies("acme", schema, alg, ps)
		if err != nil {
			t.Fatal(err)
		}
		return &privilege.Engine{Tenant: "acme", Version: 7, Algorithm: alg, RBAC: rbac, ABAC: abac}
	}
	req := func(subject string, frozen bool) privilege.Request {
		return privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: subject}, Action: "read",
			Resource: privilege.Resource{Name: "orders/1", Attributes: map[string]any{"frozen": frozen}}}
	}

	t.Run("an inherited permission allows, explained by its role path, valid until the assignment expires", func(t *testing.T) {
		d := engine(privilege.DenyOverrides).Check(req("alice", false), now, true)
		if !d.Allowed || d.Deciding == nil || d.Deciding.Source != "rbac" || strings.Join(d.Deciding.RolePath, ">") != "support>reader" {
			t.Fatalf("decision %+v", d)
		}
		if !d.ValidUntil.Equal(expiry) || d.PolicyVersion != 7 || d.Tier != "engine" || !strings.Contains(d.Reason, "reader") {
			t.Fatalf("decision %+v", d)
		}
	})
	t.Run("an ABAC deny overrides the role under deny-overrides", func(t *testing.T) {
		d := engine(privilege.DenyOverrides).Check(req("bob", true), now, false)
		if d.Allowed || d.Deciding == nil || d.Deciding.RuleID != "frozen-orders" {
			t.Fatalf("decision %+v", d)
		}
	})
	t.Run("and loses to it under permit-overrides", func(t *testing.T) {
		d := engine(privilege.PermitOverrides).Check(req("bob", true), now, false)
		if !d.Allowed || d.Deciding == nil || d.Deciding.Source != "rbac" {
			t.Fatalf("decision %+v", d)
		}
	})
	t.Run("an expired assignment no longer allows", func(t *testing.T) {
		d := engine(privilege.DenyOverrides).Check(req("alice", false), expiry, false)
		if d.Allowed || d.Deciding != nil {
			t.Fatalf("decision %+v", d)
		}
	})
	t.Run("nobody is allowed by default, and another tenant's request is denied", func(t *testing.T) {
		if d := engine(privilege.DenyOverrides).Check(req("mallory", false), now, false); d.Allowed {
			t.Fatalf("decision %+v", d)
		}
		other := req("bob", false)
		other.Tenant = "globex"
		if d := engine(privilege.DenyOverrides).Check(other, now, false); d.Allowed || !strings.Contains(d.Reason, "globex") {
			t.Fatalf("decision %+v", d)
		}
	})
}
