package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/privilege/httpapi"
)

// TestCheckFollowsWritesWithTheRevisionToken checks, allows, revokes and
// checks again with the token the revocation returned: the answer is
// never older than the write.
func TestCheckFollowsWritesWithTheRevisionToken(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	ask := map[string]any{"subject": "u-carol", "action": "read", "resource": "orders/7"}
	if d := f.do(t, "acme-client", "POST", acme+"/check", ask).must(t, 200); d.at("allowed") != false || d.str("decision_id") == "" {
		t.Fatalf("before the grant (denies are audited): %s", d.raw)
	}
	g := f.do(t, "acme-admin", "PUT", acme+"/roles/reader/members/u-carol", nil).must(t, 200)
	ask["revision"] = g.str("revision")
	d := f.do(t, "acme-client", "POST", acme+"/check", ask).must(t, 200)
	if d.at("allowed") != true || d.at("policy_version") != g.at("version") || !strings.Contains(d.str("reason"), "reader") {
		t.Fatalf("after the grant: %s", d.raw)
	}
	r := f.do(t, "acme-admin", "DELETE", acme+"/roles/reader/members/u-carol", nil).must(t, 200)
	delete(ask, "revision")
	d = f.do(t, "acme-client", "POST", acme+"/check", ask, httpapi.RevisionHeader, r.str("revision")).must(t, 200)
	if d.at("allowed") != false || d.at("policy_version") != r.at("version") {
		t.Fatalf("after the revocation, with its token in the header: %s", d.raw)
	}

	t.Run("explain lists the votes", func(t *testing.T) {
		d := f.do(t, "acme-client", "POST", acme+"/check", map[string]any{"subject": "u-bob", "action": "read", "resource": "orders/1", "explain": true}).must(t, 200)
		if d.at("allowed") != true || d.str("votes", 0, "source") != "rbac" || d.str("deciding", "permission") != "orders/*:read" {
			t.Fatalf("%s", d.raw)
		}
	})
	t.Run("attributes reach the policies", func(t *testing.T) {
		ask := map[string]any{"subject": "u-zed", "action": "read", "resource": "invoices/1", "resource_attributes": map[string]any{"owner": "u-zed"}}
		if d := f.do(t, "acme-client", "POST", acme+"/check", ask).must(t, 200); d.at("allowed") != true || d.str("deciding", "policy_id") != "acme-owners" {
			t.Fatalf("owner: %s", d.raw)
		}
		ask["resource_attributes"] = map[string]any{"owner": "someone else"}
		if d := f.do(t, "acme-client", "POST", acme+"/check", ask).must(t, 200); d.at("allowed") != false {
			t.Fatalf("not the owner: %s", d.raw)
		}
	})
	t.Run("the subject defaults to the caller", func(t *testing.T) {
		d := f.do(t, "acme-user", "POST", acme+"/check", map[string]any{"action": "read", "resource": "orders/1"}).must(t, 200)
		if d.at("allowed") != true {
			t.Fatalf("u-bob about itself: %s", d.raw)
		}
	})
	t.Run("a token of another tenant is refused", func(t *testing.T) {
		tok := f.do(t, "globex-admin", "PUT", "/api/v1/tenants/globex/privilege/roles/reader/members/u-x", nil).must(t, 200).str("revision")
		r := f.do(t, "acme-client", "POST", acme+"/check", map[string]any{"subject": "u-bob", "action": "read", "resource": "orders/1", "revision": tok}).must(t, 422)
		if !strings.Contains(r.raw, "another tenant") {
			t.Fatalf("%s", r.raw)
		}
	})
	t.Run("a token from the future fails closed", func(t *testing.T) {
		r := f.do(t, "acme-client", "POST", acme+"/check", map[string]any{"subject": "u-bob", "action": "read", "resource": "orders/1", "revision": "pv1.999.0.acme"})
		if r.status != 503 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

// TestCheckBatchAnswersInOrder sends several questions at once.
func TestCheckBatchAnswersInOrder(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	var checks []any
	want := []bool{}
	for i := range 10 {
		subject := "u-bob"
		if i%3 == 0 {
			subject = "u-nobody"
		}
		checks = append(checks, map[string]any{"subject": subject, "action": "read", "resource": fmt.Sprintf("orders/%d", i)})
		want = append(want, subject == "u-bob")
	}
	r := f.do(t, "acme-ops", "POST", acme+"/check-batch", map[string]any{"checks": checks}).must(t, 200)
	results, _ := r.at("results").([]any)
	if len(results) != len(want) {
		t.Fatalf("%d results for %d checks: %s", len(results), len(want), r.raw)
	}
	for i, w := range want {
		if got := r.at("results", i, "allowed"); got != w {
			t.Errorf("result %d allowed = %v, want %v", i, got, w)
		}
	}
	t.Run("a plain user's batch about someone else is refused whole", func(t *testing.T) {
		r := f.do(t, "acme-user", "POST", acme+"/check-batch", map[string]any{"checks": []any{
			map[string]any{"action": "read", "resource": "orders/1"},
			map[string]any{"subject": "u-alice", "action": "read", "resource": "orders/1"},
		}})
		if r.status != 403 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

// TestPermissionsAndWhoCan answers from roles alone, and says so.
func TestPermissionsAndWhoCan(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	p := f.do(t, "acme-user", "GET", acme+"/subjects/u-bob/permissions", nil).must(t, 200)
	if fmt.Sprint(p.at("roles")) != "[reader]" || p.str("permissions", 0, "resource") != "orders/*" || !strings.Contains(p.str("note"), "ABAC policies are not consulted") {
		t.Fatalf("permissions %s", p.raw)
	}
	if p := f.do(t, "acme-admin", "GET", acme+"/subjects/op-1/permissions", nil).must(t, 200); fmt.Sprint(p.at("roles")) != "[operator]" {
		t.Fatalf("a platform-wide assignment: %s", p.raw)
	}
	if p := f.do(t, "acme-client", "GET", acme+"/subjects/u-none/permissions", nil).must(t, 200); len(p.at("roles").([]any)) != 0 || len(p.at("permissions").([]any)) != 0 {
		t.Fatalf("a subject without roles: %s", p.raw)
	}

	tok := f.do(t, "acme-admin", "PUT", acme+"/roles/reader/members/u-carol", nil).must(t, 200).str("revision")
	w := f.do(t, "acme-client", "GET", acme+"/who-can?resource=orders/5&action=read&revision="+tok, nil).must(t, 200)
	if fmt.Sprint(w.at("items")) != "[u-bob u-carol]" || !strings.Contains(w.str("note"), "ABAC policies are not consulted") {
		t.Fatalf("who-can %s", w.raw)
	}
	if w := f.do(t, "acme-client", "GET", acme+"/who-can?resource=orders/5&action=read&limit=1&after=u-bob", nil).must(t, 200); fmt.Sprint(w.at("items")) != "[u-carol]" || w.str("next") != "u-carol" {
		t.Fatalf("who-can second page %s", w.raw)
	}
	if w := f.do(t, "acme-client", "GET", acme+"/who-can?resource=orders/5", nil).must(t, 422); !strings.Contains(w.raw, "action") {
		t.Fatalf("who-can without an action %s", w.raw)
	}
}
