package privilege

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

var rbacT0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// rbacSupportDesk is a small tenant used by the table tests.
func rbacSupportDesk() ([]Role, []Assignment) {
	roles := []Role{
		{Tenant: "acme", Name: "reader", Permissions: []Permission{
			{Resource: "orders/*", Action: "read"},
			{Resource: "catalog", Action: "read"},
		}},
		{Tenant: "acme", Name: "support", Inherits: []string{"reader"}, Permissions: []Permission{
			{Resource: "orders/*/notes", Action: "write"},
			{Resource: "customers/*", Action: "read"},
		}},
		{Tenant: "acme", Name: "support-lead", Inherits: []string{"support"}, Permissions: []Permission{
			{Resource: "orders/*", Action: "orders.refund"},
			{Resource: "orders/*/internal", Action: "*", Effect: Deny},
		}},
		{Name: "auditor", Platform: true, Permissions: []Permission{
			{Resource: "*", Action: "read"},
			{Resource: "secrets/*", Action: "*", Effect: Deny},
		}},
		// A diamond: top reaches base through left and right.
		{Tenant: "acme", Name: "base", Permissions: []Permission{{Resource: "reports", Action: "read"}}},
		{Tenant: "acme", Name: "left", Inherits: []string{"base"}},
		{Tenant: "acme", Name: "right", Inherits: []string{"base"}, Permissions: []Permission{{Resource: "reports", Action: "read"}}},
		{Tenant: "acme", Name: "top", Inherits: []string{"left", "right"}},
	}
	assignments := []Assignment{
		{Tenant: "acme", Subject: "ann", Role: "support-lead"},
		{Tenant: "acme", Subject: "bob", Role: "support", ExpiresAt: rbacT0.Add(time.Hour)},
		{Tenant: "acme", Subject: "bob", Role: "reader"},
		{Tenant: "acme", Subject: "carl", Role: "auditor"},
		{Tenant: "", Subject: "ops@platform", Role: "auditor"},
		{Tenant: "acme", Subject: "dora", Role: "top"},
		{Tenant: "acme", Subject: "eve", Role: "reader", ExpiresAt: rbacT0},
		// Repeats merge into the longest-lived.
		{Tenant: "acme", Subject: "fay", Role: "reader", ExpiresAt: rbacT0.Add(time.Minute)},
		{Tenant: "acme", Subject: "fay", Role: "reader", ExpiresAt: rbacT0.Add(2 * time.Minute)},
	}
	return roles, assignments
}

func mustCompileRBAC(t testing.TB, tenant string, roles []Role, assignments []Assignment) *RBAC {
	t.Helper()
	r, err := CompileRBAC(tenant, roles, assignments)
	if err != nil {
		t.Fatalf("compile: %v %v", err, apperr.DetailsOf(err))
	}
	return r
}

// rbacVoteStrings renders votes as sorted one-liners, e.g.
// "permit orders/*:read via support-lead>support>reader".
func rbacVoteStrings(votes []Vote) []string {
	out := make([]string, 0, len(votes))
	for _, v := range votes {
		s := fmt.Sprintf("%s %s via %s", v.Effect, v.Permission, strings.Join(v.RolePath, ">"))
		if !v.Until.IsZero() {
			s += " until " + v.Until.UTC().Format(time.RFC3339)
		}
		if v.Source != "rbac" || v.Priority != 0 {
			s += fmt.Sprintf(" [source %q priority %d]", v.Source, v.Priority)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestRBACVotes(t *testing.T) {
	roles, assignments := rbacSupportDesk()
	r := mustCompileRBAC(t, "acme", roles, assignments)
	tests := []struct {
		name                      string
		subject, resource, action string
		now                       time.Time
		want                      []string
	}{
		{"a role's own permission applies", "ann", "orders/7", "orders.refund", rbacT0,
			[]string{"permit orders/*:orders.refund via support-lead"}},
		{"an inherited permission carries its whole path", "ann", "orders/7", "read", rbacT0,
			[]string{"permit orders/*:read via support-lead>support>reader"}},
		{"a trailing star covers deeper paths", "ann", "orders/7/notes", "read", rbacT0,
			[]string{"permit orders/*:read via support-lead>support>reader"}},
		{"a middle star matches exactly one segment", "ann", "orders/7/notes", "write", rbacT0,
			[]string{"permit orders/*/notes:write via support-lead>support"}},
		{"a deny is reported next to the permit it contradicts", "ann", "orders/7/internal", "read", rbacT0,
			[]string{"deny orders/*/internal:* via support-lead", "permit orders/*:read via support-lead>support>reader"}},
		{"an exact pattern does not cover children", "ann", "catalog/1", "read", rbacT0, nil},
		{"an exact pattern matches itself", "ann", "catalog", "read", rbacT0,
			[]string{"permit catalog:read via support-lead>support>reader"}},
		{"nothing applies to another action", "ann", "orders/7", "delete", rbacT0, nil},
		{"each assignment votes with its own expiry", "bob", "orders/7", "read", rbacT0, []string{
			"permit orders/*:read via reader",
			"permit orders/*:read via support>reader until 2026-11-22T13:00:00Z",
		}},
		{"an assignment holds until just before it expires", "bob", "customers/1", "read", rbacT0.Add(time.Hour - time.Nanosecond),
			[]string{"permit customers/*:read via support until 2026-11-22T13:00:00Z"}},
		{"an assignment is gone at its expiry", "bob", "customers/1", "read", rbacT0.Add(time.Hour), nil},
		{"an assignment expiring now is already gone", "eve", "orders/1", "read", rbacT0, nil},
		{"repeated assignments merge into the longest-lived", "fay", "orders/1", "read", rbacT0.Add(90 * time.Second),
			[]string{"permit orders/*:read via reader until 2026-11-22T12:02:00Z"}},
		{"a platform role assigned in the tenant applies", "carl", "anything/at/all", "read", rbacT0,
			[]string{"permit *:read via auditor"}},
		{"a platform role assigned platform-wide applies", "ops@platform", "secrets/db", "read", rbacT0,
			[]string{"deny secrets/*:* via auditor", "permit *:read via auditor"}},
		{"a diamond votes once per owning role, by the first shortest path", "dora", "reports", "read", rbacT0,
			[]string{"permit reports:read via top>left>base", "permit reports:read via top>right"}},
		{"an unknown subject gets no votes", "zed", "orders/1", "read", rbacT0, nil},
		{"a malformed resource gets no votes", "carl", "orders//1", "read", rbacT0, nil},
		{"a wildcard resource in a request gets no votes", "carl", "*", "read", rbacT0, nil},
		{"a wildcard action in a request gets no votes", "carl", "orders/1", "*", rbacT0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rbacVoteStrings(r.Votes(tt.subject, tt.resource, tt.action, tt.now))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Votes(%s, %s, %s)\n got  %q\n want %q", tt.subject, tt.resource, tt.action, got, tt.want)
			}
		})
	}
}

func TestRBACEffectivePermissions(t *testing.T) {
	roles, assignments := rbacSupportDesk()
	r := mustCompileRBAC(t, "acme", roles, assignments)
	render := func(eps []EffectivePermission) []string {
		var out []string
		for _, p := range eps {
			s := fmt.Sprintf("%s %s:%s via %s", p.Effect, p.Resource, p.Action, strings.Join(p.RolePath, ">"))
			if !p.Until.IsZero() {
				s += " until " + p.Until.Format(time.RFC3339)
			}
			out = append(out, s)
		}
		return out
	}
	t.Run("a subject holds its role's permissions, then inherited ones breadth-first", func(t *testing.T) {
		got := render(r.EffectivePermissions("ann", rbacT0))
		want := []string{
			"permit orders/*:orders.refund via support-lead",
			"deny orders/*/internal:* via support-lead",
			"permit orders/*/notes:write via support-lead>support",
			"permit customers/*:read via support-lead>support",
			"permit orders/*:read via support-lead>support>reader",
			"permit catalog:read via support-lead>support>reader",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	})
	t.Run("expired assignments contribute nothing", func(t *testing.T) {
		got := render(r.EffectivePermissions("bob", rbacT0.Add(time.Hour)))
		want := []string{"permit orders/*:read via reader", "permit catalog:read via reader"}
		if !slices.Equal(got, want) {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
		if got := r.EffectivePermissions("eve", rbacT0); got != nil {
			t.Fatalf("eve's only assignment expired, yet she holds %v", got)
		}
	})
}

func TestRBACSubjectsWith(t *testing.T) {
	roles, assignments := rbacSupportDesk()
	r := mustCompileRBAC(t, "acme", roles, assignments)
	tests := []struct {
		name, resource, action string
		now                    time.Time
		want                   []string
	}{
		{"holders of matching permissions through any role", "orders/1", "read", rbacT0,
			[]string{"ann", "bob", "carl", "fay", "ops@platform"}},
		{"a deny removes a subject with a permit", "orders/1/internal", "read", rbacT0,
			[]string{"bob", "carl", "fay", "ops@platform"}},
		{"a deny alone does not make a holder", "secrets/x", "write", rbacT0, nil},
		{"expired assignments do not count", "customers/1", "read", rbacT0.Add(time.Hour),
			[]string{"ann", "carl", "ops@platform"}},
		{"the diamond's subject is found once", "reports", "read", rbacT0,
			[]string{"carl", "dora", "ops@platform"}},
		{"a malformed request finds no one", "orders/*", "read", rbacT0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.SubjectsWith(tt.resource, tt.action, tt.now)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("SubjectsWith(%s, %s) = %q, want %q", tt.resource, tt.action, got, tt.want)
			}
		})
	}
}

func TestCompileRBACRejects(t *testing.T) {
	role := func(name string, inherits ...string) Role {
		return Role{Tenant: "acme", Name: name, Inherits: inherits}
	}
	tests := []struct {
		name        string
		tenant      string
		roles       []Role
		assignments []Assignment
		field, msg  string // one expected detail; msg is a substring
	}{
		{"a two-role cycle, spelled out", "acme", []Role{role("a", "b"), role("b", "a")}, nil,
			"roles.a.inherits", "a -> b -> a"},
		{"a role inheriting itself", "acme", []Role{role("a", "a")}, nil,
			"roles.a.inherits", "a -> a"},
		{"a cycle behind a chain", "acme", []Role{role("top", "x"), role("x", "y"), role("y", "z"), role("z", "x")}, nil,
			"roles.x.inherits", "x -> y -> z -> x"},
		{"an unknown inherited role", "acme", []Role{role("a", "ghost")}, nil,
			"roles.a.inherits[0]", `role "a" inherits unknown role "ghost"`},
		{"a role defined twice", "acme", []Role{role("a"), role("a")}, nil,
			"roles[1].name", `role "a" is already defined by roles[0]`},
		{"a platform role shadowed by a tenant role", "acme", []Role{{Name: "a", Platform: true}, role("a")}, nil,
			"roles[1].name", "already defined"},
		{"a bad role name", "acme", []Role{role("Admin")}, nil, "roles[0].name", "a-z"},
		{"a role of another tenant", "acme", []Role{{Tenant: "globex", Name: "a"}}, nil,
			"roles.a.tenant", `belongs to tenant "globex"`},
		{"a tenant role without a tenant", "acme", []Role{{Name: "a"}}, nil, "roles.a.tenant", "must be set"},
		{"a platform role with a tenant", "acme", []Role{{Tenant: "acme", Name: "a", Platform: true}}, nil,
			"roles.a.tenant", "must be empty"},
		{"a platform role inheriting a tenant role", "acme", []Role{{Name: "p", Platform: true, Inherits: []string{"t"}}, role("t")}, nil,
			"roles.p.inherits[0]", `platform role "p" cannot inherit tenant role "t"`},
		{"an invalid resource pattern", "acme", []Role{{Tenant: "acme", Name: "a", Permissions: []Permission{{Resource: "orders/1*", Action: "read"}}}}, nil,
			"roles.a.permissions[0].resource", `segment "1*"`},
		{"an invalid action", "acme", []Role{{Tenant: "acme", Name: "a", Permissions: []Permission{{Resource: "orders", Action: "Read"}}}}, nil,
			"roles.a.permissions[0].action", "a-z"},
		{"an unknown effect", "acme", []Role{{Tenant: "acme", Name: "a", Permissions: []Permission{{Resource: "orders", Action: "read", Effect: "maybe"}}}}, nil,
			"roles.a.permissions[0].effect", "permit"},
		{"a repeated permission (empty effect is permit)", "acme", []Role{{Tenant: "acme", Name: "a", Permissions: []Permission{
			{Resource: "orders", Action: "read"}, {Resource: "orders", Action: "read", Effect: Permit}}}}, nil,
			"roles.a.permissions[1]", "repeats permissions[0]"},
		{"a repeated inherited role", "acme", []Role{role("a", "b", "b"), role("b")}, nil,
			"roles.a.inherits[1]", "repeats inherits[0]"},
		{"an assignment of an unknown role", "acme", []Role{role("a")}, []Assignment{{Tenant: "acme", Subject: "u", Role: "b"}},
			"assignments[0].role", `unknown role "b"`},
		{"a platform-wide assignment of a tenant role", "acme", []Role{role("a")}, []Assignment{{Subject: "u", Role: "a"}},
			"assignments[0].role", `role "a" is a tenant role`},
		{"an assignment in another tenant", "acme", []Role{role("a")}, []Assignment{{Tenant: "globex", Subject: "u", Role: "a"}},
			"assignments[0].tenant", `belongs to tenant "globex"`},
		{"an empty subject", "acme", []Role{role("a")}, []Assignment{{Tenant: "acme", Role: "a"}},
			"assignments[0].subject", "1-256 bytes"},
		{"a subject with a newline", "acme", []Role{role("a")}, []Assignment{{Tenant: "acme", Subject: "u\n", Role: "a"}},
			"assignments[0].subject", "control characters"},
		{"a bad tenant", "Acme", nil, nil, "tenant", "a-z"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is rejected", func(t *testing.T) {
			_, err := CompileRBAC(tt.tenant, tt.roles, tt.assignments)
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("err = %v, want an unprocessable error", err)
			}
			details := apperr.DetailsOf(err)
			if !strings.Contains(details[tt.field], tt.msg) {
				t.Fatalf("detail %q = %q, want it to contain %q (all: %v)", tt.field, details[tt.field], tt.msg, details)
			}
		})
	}
	t.Run("a cycle is named in the error message too", func(t *testing.T) {
		_, err := CompileRBAC("acme", []Role{role("a", "b"), role("b", "c"), role("c", "a")}, nil)
		if err == nil || !strings.Contains(err.Error(), "a -> b -> c -> a") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("every problem is reported at once", func(t *testing.T) {
		_, err := CompileRBAC("acme", []Role{role("a", "ghost"), role("B")}, []Assignment{{Tenant: "acme", Subject: "u", Role: "nope"}})
		if d := apperr.DetailsOf(err); len(d) != 3 {
			t.Fatalf("details = %v, want three", d)
		}
	})
}

func TestCompileRBACAccepts(t *testing.T) {
	t.Run("an empty tenant compiles and answers nothing", func(t *testing.T) {
		r := mustCompileRBAC(t, "acme", nil, nil)
		if v := r.Votes("u", "a", "read", rbacT0); v != nil {
			t.Fatalf("votes %v", v)
		}
	})
	t.Run("platform roles compile alone under the empty tenant", func(t *testing.T) {
		r := mustCompileRBAC(t, "", []Role{{Name: "op", Platform: true, Permissions: []Permission{{Resource: "*", Action: "*"}}}},
			[]Assignment{{Subject: "root", Role: "op"}})
		if got := rbacVoteStrings(r.Votes("root", "x", "y", rbacT0)); !slices.Equal(got, []string{"permit *:* via op"}) {
			t.Fatalf("votes %q", got)
		}
	})
	t.Run("a tenant role may inherit a platform role", func(t *testing.T) {
		r := mustCompileRBAC(t, "acme", []Role{
			{Name: "viewer", Platform: true, Permissions: []Permission{{Resource: "*", Action: "read"}}},
			{Tenant: "acme", Name: "staff", Inherits: []string{"viewer"}},
		}, []Assignment{{Tenant: "acme", Subject: "u", Role: "staff"}})
		if got := rbacVoteStrings(r.Votes("u", "x", "read", rbacT0)); !slices.Equal(got, []string{"permit *:read via staff>viewer"}) {
			t.Fatalf("votes %q", got)
		}
	})
	t.Run("expired assignments are accepted and ignored", func(t *testing.T) {
		_, a := rbacSupportDesk()
		if err := a[6].Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRBACVotesAllocateNothingOnAMiss(t *testing.T) {
	roles, assignments := rbacSupportDesk()
	r := mustCompileRBAC(t, "acme", roles, assignments)
	for _, c := range []struct{ subject, resource, action string }{
		{"ann", "orders/1", "delete"},
		{"ann", "billing/1/items/2", "read"},
		{"zed", "orders/1", "read"},
	} {
		if n := testing.AllocsPerRun(100, func() { r.Votes(c.subject, c.resource, c.action, rbacT0) }); n != 0 {
			t.Errorf("Votes(%v) allocates %v times", c, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { r.Votes("ann", "orders/7/internal", "read", rbacT0) }); n > 2 {
		t.Errorf("a two-vote hit allocates %v times", n)
	}
}

func TestCompileRBACBoundsTheExpansion(t *testing.T) {
	// Every role inherits every earlier one: n²/2 links.
	var roles []Role
	for i := range 2100 {
		r := Role{Tenant: "acme", Name: fmt.Sprintf("r%d", i)}
		for j := max(0, i-MaxRoleInherits); j < i; j++ {
			r.Inherits = append(r.Inherits, fmt.Sprintf("r%d", j))
		}
		roles = append(roles, r)
	}
	_, err := CompileRBAC("acme", roles, nil)
	if !apperr.Is(err, apperr.Unprocessable) || !strings.Contains(err.Error(), "expands too far") {
		t.Fatalf("err = %v", err)
	}
}
