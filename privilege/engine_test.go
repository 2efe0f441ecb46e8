package privilege_test

import (
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
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

// TestCompileSnapshotFeedsSubjectRolesFromRBAC checks that a compiled
// snapshot answers ABAC conditions on subject.roles with the roles RBAC
// gives the subject (inherited ones included, expired ones not), ignoring
// a "roles" attribute the caller supplies, and marks such answers
// conditional (never cached) while pure RBAC answers are not.
func TestCompileSnapshotFeedsSubjectRolesFromRBAC(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ps, err := privilege.ParsePolicies([]byte(`[{"id":"auditors","target":{"resources":["ledger/*"],"actions":["read"]},"rules":[
		{"id":"auditor-reads","effect":"permit","condition":{"attr":"subject.roles","op":"contains","value":"auditor"}}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	snap := privilege.Snapshot{Tenant: "acme", Version: 3, PlatformVersion: 2,
		Roles: []privilege.Role{
			{Tenant: "acme", Name: "auditor"},
			{Tenant: "acme", Name: "lead-auditor", Inherits: []string{"auditor"}},
			{Tenant: "acme", Name: "reader", Permissions: []privilege.Permission{{Resource: "orders/*", Action: "read"}}},
		},
		Assignments: []privilege.Assignment{
			{Tenant: "acme", Subject: "carol", Role: "lead-auditor"},
			{Tenant: "acme", Subject: "dave", Role: "auditor", ExpiresAt: now.Add(-time.Minute)},
			{Tenant: "acme", Subject: "erin", Role: "reader"},
		},
		Policies: ps,
	}
	e, err := privilege.CompileSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	if e.Version != 3 || e.PlatformVersion != 2 || e.Algorithm != privilege.DenyOverrides || e.Settings.Tenant != "acme" {
		t.Fatalf("engine %+v", e)
	}
	if got := e.RBAC.RolesOf("carol", now); strings.Join(got, ",") != "auditor,lead-auditor" {
		t.Fatalf("RolesOf(carol) = %v", got)
	}
	if got := e.RBAC.RolesOf("dave", now); len(got) != 0 {
		t.Fatalf("RolesOf(dave) = %v, want none (expired)", got)
	}
	ledger := func(subject string, attrs map[string]any) privilege.Request {
		return privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: subject, Attributes: attrs},
			Action: "read", Resource: privilege.Resource{Name: "ledger/2026"}}
	}
	if d := e.Check(ledger("carol", nil), now, false); !d.Allowed || !d.Conditional || d.PlatformVersion != 2 {
		t.Fatalf("carol (inherited auditor): %+v", d)
	}
	if d := e.Check(ledger("dave", nil), now, false); d.Allowed {
		t.Fatalf("dave (expired auditor): %+v", d)
	}
	if d := e.Check(ledger("mallory", map[string]any{"roles": []string{"auditor"}}), now, false); d.Allowed {
		t.Fatalf("a caller-supplied roles attribute must not grant: %+v", d)
	}
	d := e.Check(privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: "erin"}, Action: "read",
		Resource: privilege.Resource{Name: "orders/1"}}, now, false)
	if !d.Allowed || d.Conditional {
		t.Fatalf("erin (RBAC only): %+v", d)
	}
}

// TestCompileSnapshotReportsRoleAndPolicyProblemsTogether checks that a
// policy set with a broken role and a broken policy names both.
func TestCompileSnapshotReportsRoleAndPolicyProblemsTogether(t *testing.T) {
	ps, err := privilege.ParsePolicies([]byte(`[{"id":"p1","target":{"resources":["a/*"],"actions":["read"]},"rules":[
		{"id":"r1","effect":"permit","condition":{"attr":"subject.nope","op":"eq","value":"x"}}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = privilege.CompileSnapshot(privilege.Snapshot{Tenant: "acme",
		Roles:    []privilege.Role{{Tenant: "acme", Name: "a", Inherits: []string{"missing"}}},
		Policies: ps})
	if err == nil {
		t.Fatal("compiled a broken policy set")
	}
	details := apperr.DetailsOf(err)
	var role, policy bool
	for k := range details {
		role = role || strings.HasPrefix(k, "roles")
		policy = policy || strings.HasPrefix(k, "policies")
	}
	if !role || !policy || !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("err %v details %v", err, details)
	}
}
