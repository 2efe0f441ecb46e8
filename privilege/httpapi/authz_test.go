package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Who may call a route.
type audience int

const (
	admins    audience = iota // administrators of the tenant, platform administrators
	members                   // anyone of the tenant (a check about oneself)
	askers                    // admins and machine clients of the tenant (about anyone)
	subject                   // askers, and the subject itself (u-bob, "acme-user")
	operators                 // platform administrators only
)

// route is one call of the API with a request that passes validation.
type route struct {
	method, path string
	body         any
	who          audience
}

func (r route) String() string { return r.method + " " + r.path }

// tenantRoutes are every tenant route of the API, for tenant.
func tenantRoutes(tenant string) []route {
	p := "/api/v1/tenants/" + tenant + "/privilege"
	user := map[string]string{"acme": "u-bob", "globex": "u-gus"}[tenant]
	role := map[string]any{"permissions": []any{map[string]any{"resource": "orders/*", "action": "write"}}}
	policy := map[string]any{"target": map[string]any{"resources": []string{"x/*"}, "actions": []string{"read"}},
		"rules": []any{map[string]any{"id": "r", "effect": "permit"}}}
	return []route{
		{"POST", p + "/check", map[string]any{"action": "read", "resource": "orders/1"}, members},
		{"POST", p + "/check", map[string]any{"subject": "someone", "action": "read", "resource": "orders/1"}, askers},
		{"POST", p + "/check-batch", map[string]any{"checks": []any{map[string]any{"action": "read", "resource": "orders/1"}}}, members},
		{"POST", p + "/check-batch", map[string]any{"checks": []any{map[string]any{"subject": "someone", "action": "read", "resource": "orders/1"}}}, askers},
		{"GET", p + "/subjects/" + user + "/permissions", nil, subject},
		{"GET", p + "/subjects/someone/permissions", nil, askers},
		{"GET", p + "/who-can?resource=orders/1&action=read", nil, askers},
		{"POST", p + "/simulate", map[string]any{"draft": map[string]any{}, "requests": []any{map[string]any{"subject": user, "action": "read", "resource": "orders/1"}}}, admins},
		{"GET", p + "/roles", nil, admins},
		{"GET", p + "/roles/reader", nil, admins},
		{"PUT", p + "/roles/authz-probe", role, admins},
		{"GET", p + "/roles/reader/members", nil, admins},
		{"PUT", p + "/roles/authz-probe/members/probe-subject", nil, admins},
		{"DELETE", p + "/roles/authz-probe/members/probe-subject", nil, admins},
		{"DELETE", p + "/roles/authz-probe", nil, admins},
		{"GET", p + "/assignments", nil, admins},
		{"GET", p + "/policies", nil, admins},
		{"GET", p + "/policies/" + tenant + "-owners", nil, admins},
		{"PUT", p + "/policies/probe", policy, admins},
		{"DELETE", p + "/policies/probe", nil, admins},
		{"GET", p + "/settings", nil, admins},
		{"PUT", p + "/settings", map[string]any{"schema": map[string]string{"resource.owner": "string"}, "audit_sample_rate": 0.25}, admins},
		{"GET", p + "/revisions", nil, admins},
		{"GET", p + "/revisions/1", nil, admins},
		{"POST", p + "/revisions/2/rollback", nil, admins},
		{"GET", p + "/decisions", nil, admins},
	}
}

// platformRoutes are every platform route of the API.
func platformRoutes() []route {
	p := "/api/v1/privilege"
	return []route{
		{"GET", p + "/roles", nil, operators},
		{"GET", p + "/roles/operator", nil, operators},
		{"PUT", p + "/roles/probe", map[string]any{"permissions": []any{map[string]any{"resource": "*", "action": "probe"}}}, operators},
		{"GET", p + "/roles/operator/members", nil, operators},
		{"PUT", p + "/roles/probe/members/probe-subject", nil, operators},
		{"DELETE", p + "/roles/probe/members/probe-subject", nil, operators},
		{"DELETE", p + "/roles/probe", nil, operators},
		{"GET", p + "/revisions", nil, operators},
		{"GET", p + "/revisions/1", nil, operators},
		{"POST", p + "/revisions/2/rollback", nil, operators},
	}
}

// mayCall says who of the fixture's principals may call a route of
// tenant acme (or of the platform).
func mayCall(who string, a audience) bool {
	platform := who == "platform" || who == "bootstrap"
	switch a {
	case admins:
		return platform || who == "acme-admin" || who == "acme-ops"
	case members:
		return platform || strings.HasPrefix(who, "acme-")
	case askers:
		return platform || slices.Contains([]string{"acme-admin", "acme-ops", "acme-client"}, who)
	case subject:
		return mayCall(who, askers) || who == "acme-user"
	case operators:
		return platform
	}
	return false
}

// TestEveryRouteAdmitsExactlyItsAudience calls every route as every
// principal: those it is for get past authorization (no 401 or 403, no
// 5xx), everyone else gets a 403 and changes nothing.
func TestEveryRouteAdmitsExactlyItsAudience(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	routes := append(tenantRoutes("acme"), platformRoutes()...)
	whos := make([]string, 0, len(principals))
	for who := range principals {
		whos = append(whos, who)
	}
	slices.Sort(whos)
	for _, who := range whos {
		t.Run(who, func(t *testing.T) {
			for _, rt := range routes {
				acmeV, platformV := f.version(t, "acme"), f.version(t, "")
				got := f.do(t, who, rt.method, rt.path, rt.body)
				if mayCall(who, rt.who) {
					if got.status == 401 || got.status == 403 || got.status >= 500 {
						t.Errorf("%s: %d, want it admitted: %.300s", rt, got.status, got.raw)
					}
					continue
				}
				if got.status != 403 || got.errCode() != "forbidden" {
					t.Errorf("%s: %d, want 403: %.300s", rt, got.status, got.raw)
				}
				if f.version(t, "acme") != acmeV || f.version(t, "") != platformV {
					t.Errorf("%s: refused, but a version moved", rt)
				}
			}
		})
	}
	t.Run("without a credential every route is a 401", func(t *testing.T) {
		for _, rt := range routes {
			if got := f.do(t, "", rt.method, rt.path, rt.body); got.status != 401 {
				t.Errorf("%s: %d", rt, got.status)
			}
		}
	})
}

// TestTenantIsolation: an administrator of globex gets a 403 on every
// route of acme, acme's revision tokens and records are refused in globex,
// and nothing of acme ever appears in globex's answers.
func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	// acme has audited decisions and history worth leaking.
	f.do(t, "acme-client", "POST", acme+"/check", map[string]any{"subject": "acme-secret-subject", "action": "read", "resource": "acme-secret/1"}).must(t, 200)
	acmeTok := f.do(t, "acme-admin", "PUT", acme+"/roles/acme-secret-role", map[string]any{}).must(t, 200).str("revision")
	if err := f.svc.FlushAudit(t.Context()); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"acme", "u-bob", "u-alice"}

	t.Run("globex principals are refused on every acme route", func(t *testing.T) {
		for _, who := range []string{"globex-admin", "globex-user"} {
			for _, rt := range tenantRoutes("acme") {
				v := f.version(t, "acme")
				got := f.do(t, who, rt.method, rt.path, rt.body)
				if got.status != 403 {
					t.Errorf("%s as %s: %d, want 403: %.300s", rt, who, got.status, got.raw)
				}
				if strings.Contains(got.raw, "secret") || f.version(t, "acme") != v {
					t.Errorf("%s as %s: leaked or changed something: %.300s", rt, who, got.raw)
				}
			}
		}
	})

	t.Run("nothing of acme appears in globex's answers", func(t *testing.T) {
		for _, rt := range tenantRoutes("globex") {
			got := f.do(t, "globex-admin", rt.method, rt.path, rt.body)
			if got.status >= 300 && got.status != 404 && got.status != 409 {
				t.Errorf("%s: %d %.300s", rt, got.status, got.raw)
			}
			for _, s := range secrets {
				if strings.Contains(got.raw, s) {
					t.Errorf("%s: the answer mentions %q: %.300s", rt, s, got.raw)
				}
			}
		}
		// acme's subjects asked about in globex are strangers there.
		g := "/api/v1/tenants/globex/privilege"
		if got := f.do(t, "globex-admin", "GET", g+"/subjects/acme-secret-subject/permissions", nil).must(t, 200); len(got.at("roles").([]any)) != 0 {
			t.Errorf("acme's subject has roles in globex: %s", got.raw)
		}
		if got := f.do(t, "globex-admin", "GET", g+"/who-can?resource=ledger/1&action=write", nil).must(t, 200); strings.Contains(got.raw, "acme") {
			t.Errorf("who-can in globex: %s", got.raw)
		}
	})

	t.Run("acme's revision token is refused in globex", func(t *testing.T) {
		g := "/api/v1/tenants/globex/privilege"
		for _, r := range []reply{
			f.do(t, "globex-admin", "POST", g+"/check", map[string]any{"action": "read", "resource": "x", "revision": acmeTok}),
			f.do(t, "globex-admin", "POST", g+"/check-batch", map[string]any{"checks": []any{map[string]any{"action": "read", "resource": "x"}}, "revision": acmeTok}),
			f.do(t, "globex-admin", "GET", g+"/who-can?resource=x&action=read&revision="+acmeTok, nil),
			f.do(t, "globex-admin", "GET", g+"/subjects/u-gus/permissions", nil, "X-Privilege-Revision", acmeTok),
		} {
			if r.status != 422 || !strings.Contains(r.raw, "another tenant") {
				t.Errorf("%d %s", r.status, r.raw)
			}
		}
	})

	t.Run("records naming acme are refused in globex", func(t *testing.T) {
		g := "/api/v1/tenants/globex/privilege"
		v := f.version(t, "globex")
		for i := 0; f.version(t, "acme") <= v; i++ { // a version only acme has
			f.do(t, "acme-admin", "PUT", acme+"/roles/acme-secret-role", map[string]any{"description": fmt.Sprint(i)}).must(t, 200)
		}
		for _, r := range []reply{
			f.do(t, "globex-admin", "PUT", g+"/roles/x", map[string]any{"tenant": "acme"}),
			f.do(t, "globex-admin", "PUT", g+"/policies/x", map[string]any{"tenant": "acme", "target": map[string]any{"resources": []string{"*"}, "actions": []string{"read"}}, "rules": []any{map[string]any{"id": "r", "effect": "permit"}}}),
			f.do(t, "globex-admin", "PUT", g+"/settings", map[string]any{"tenant": "acme"}),
			f.do(t, "globex-admin", "POST", g+"/simulate", map[string]any{"draft": map[string]any{"assignments": []any{map[string]any{"tenant": "acme", "subject": "s", "role": "reader"}}}}),
			f.do(t, "globex-admin", "GET", fmt.Sprintf("%s/revisions/%d", g, f.version(t, "acme")), nil),
			f.do(t, "globex-admin", "PUT", g+"/roles/acme-clerk/members/u-gus", nil),
		} {
			if r.status != 422 && r.status != 404 {
				t.Errorf("%d %s", r.status, r.raw)
			}
		}
		if f.version(t, "globex") != v {
			t.Error("globex's version moved")
		}
	})
}
