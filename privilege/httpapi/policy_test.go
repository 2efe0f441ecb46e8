package httpapi_test

import (
	"strings"
	"testing"
	"time"
)

// TestPoliciesAndSettings publishes a policy against the tenant's
// attribute schema, refuses one that does not compile with the rule
// named, and keeps the settings and policies consistent with each other.
func TestPoliciesAndSettings(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	s := f.do(t, "acme-admin", "GET", acme+"/settings", nil).must(t, 200)
	if s.str("settings", "algorithm") != "deny-overrides" || s.str("settings", "schema", "resource.owner") != "string" {
		t.Fatalf("settings %s", s.raw)
	}
	put := f.do(t, "acme-admin", "PUT", acme+"/settings", map[string]any{
		"schema": map[string]string{"resource.owner": "string", "resource.amount": "number"}, "audit_sample_rate": 0.5,
	}).must(t, 200)
	if put.str("settings", "tenant") != "acme" || put.at("settings", "audit_sample_rate") != 0.5 || put.str("revision") == "" {
		t.Fatalf("put settings %s", put.raw)
	}

	big := map[string]any{
		"priority": 1,
		"target":   map[string]any{"resources": []string{"refunds/*"}, "actions": []string{"approve"}},
		"rules": []any{
			map[string]any{"id": "big", "effect": "deny", "condition": map[string]any{"attr": "resource.amount", "op": "gt", "value": 1000}},
			map[string]any{"id": "small", "effect": "permit", "priority": 1},
		},
	}
	p := f.do(t, "acme-admin", "PUT", acme+"/policies/refund-limits", big).must(t, 200)
	if p.str("policy", "id") != "refund-limits" || p.str("policy", "tenant") != "acme" {
		t.Fatalf("put policy %s", p.raw)
	}
	ask := map[string]any{"subject": "u-bob", "action": "approve", "resource": "refunds/1", "resource_attributes": map[string]any{"amount": 5000}, "revision": p.str("revision")}
	if d := f.do(t, "acme-client", "POST", acme+"/check", ask).must(t, 200); d.at("allowed") != false || d.str("deciding", "rule_id") != "big" {
		t.Fatalf("a big refund: %s", d.raw)
	}
	ask["resource_attributes"] = map[string]any{"amount": 10}
	if d := f.do(t, "acme-client", "POST", acme+"/check", ask).must(t, 200); d.at("allowed") != true {
		t.Fatalf("a small refund: %s", d.raw)
	}
	if l := f.do(t, "acme-admin", "GET", acme+"/policies", nil).must(t, 200); len(l.items()) != 2 || l.str("items", 1, "id") != "refund-limits" {
		t.Fatalf("policies %s", l.raw)
	}
	f.do(t, "acme-admin", "GET", acme+"/policies/refund-limits", nil).must(t, 200)

	t.Run("a policy on an undeclared attribute is refused, naming the rule", func(t *testing.T) {
		before := f.version(t, "acme")
		bad := map[string]any{
			"target": map[string]any{"resources": []string{"*"}, "actions": []string{"read"}},
			"rules":  []any{map[string]any{"id": "vip", "effect": "permit", "condition": map[string]any{"attr": "subject.tier", "op": "eq", "value": "gold"}}},
		}
		r := f.do(t, "acme-admin", "PUT", acme+"/policies/vip", bad).must(t, 422)
		if !strings.Contains(r.raw, "vip") || !strings.Contains(r.raw, "subject.tier") || f.version(t, "acme") != before {
			t.Fatalf("%s", r.raw)
		}
	})
	t.Run("settings that strand a policy are refused", func(t *testing.T) {
		before := f.version(t, "acme")
		r := f.do(t, "acme-admin", "PUT", acme+"/settings", map[string]any{"schema": map[string]string{"resource.owner": "string"}}).must(t, 422)
		if !strings.Contains(r.raw, "resource.amount") || f.version(t, "acme") != before {
			t.Fatalf("%s", r.raw)
		}
	})

	d := f.do(t, "acme-admin", "DELETE", acme+"/policies/refund-limits", nil).must(t, 200)
	if d.at("deleted") != true || d.str("policy", "id") != "refund-limits" {
		t.Fatalf("delete policy %s", d.raw)
	}
	f.do(t, "acme-admin", "GET", acme+"/policies/refund-limits", nil).must(t, 404)
	f.do(t, "acme-admin", "DELETE", acme+"/policies/refund-limits", nil).must(t, 404)
}

// TestSimulateDraftsAndReplaysTheAudit shows what a draft would change,
// for requests given and for decisions audited recently, without storing
// anything.
func TestSimulateDraftsAndReplaysTheAudit(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	// Denies are always audited: two for u-carol, replayed below.
	for _, res := range []string{"orders/1", "orders/2"} {
		f.do(t, "acme-client", "POST", acme+"/check", map[string]any{"subject": "u-carol", "action": "read", "resource": res}).must(t, 200)
	}
	if err := f.svc.FlushAudit(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := f.version(t, "acme")
	draft := map[string]any{"assignments": []any{
		map[string]any{"subject": "u-carol", "role": "reader"},
		map[string]any{"subject": "acme-secret-subject", "role": "acme-clerk"},
	}}
	r := f.do(t, "acme-admin", "POST", acme+"/simulate", map[string]any{
		"draft":    draft,
		"requests": []any{map[string]any{"subject": "u-bob", "action": "read", "resource": "orders/9"}},
		"replay":   map[string]any{"since": time.Now().Add(-time.Hour)},
	}).must(t, 200)
	if r.at("checked") != float64(3) || r.at("replayed") != float64(2) || r.at("newly_denied") != float64(1) || r.at("newly_allowed") != float64(2) {
		t.Fatalf("report %s", r.raw)
	}
	if r.str("results", 0, "request", "subject") != "u-bob" || r.at("results", 0, "changed") != true || r.str("results", 1, "request", "resource") != "orders/2" {
		t.Fatalf("results (given requests first, then the audit newest first) %s", r.raw)
	}
	if f.version(t, "acme") != before {
		t.Fatal("a simulation changed the policy set")
	}

	t.Run("a draft that would not compile is refused with its problems", func(t *testing.T) {
		r := f.do(t, "acme-admin", "POST", acme+"/simulate", map[string]any{"draft": map[string]any{
			"assignments": []any{map[string]any{"subject": "x", "role": "no-such-role"}},
		}}).must(t, 422)
		if !strings.Contains(r.raw, "no-such-role") {
			t.Fatalf("%s", r.raw)
		}
	})
	t.Run("a draft cannot reach another tenant", func(t *testing.T) {
		r := f.do(t, "acme-admin", "POST", acme+"/simulate", map[string]any{"draft": map[string]any{
			"roles": []any{map[string]any{"tenant": "globex", "name": "x"}},
		}}).must(t, 422)
		if !strings.Contains(r.raw, "globex") {
			t.Fatalf("%s", r.raw)
		}
	})
}

// TestDecisionAudit lists the tenant's audited decisions with filters and
// paging, naming who asked.
func TestDecisionAudit(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	for i := range 3 {
		f.do(t, "acme-client", "POST", acme+"/check", map[string]any{"subject": "u-carol", "action": "read", "resource": "orders/" + string(rune('1'+i))}).must(t, 200)
	}
	f.do(t, "acme-ops", "POST", acme+"/check", map[string]any{"subject": "u-dave", "action": "write", "resource": "orders/1"}).must(t, 200)
	f.do(t, "globex-admin", "POST", "/api/v1/tenants/globex/privilege/check", map[string]any{"subject": "u-gus", "action": "write", "resource": "orders/1"}).must(t, 200)
	if err := f.svc.FlushAudit(t.Context()); err != nil {
		t.Fatal(err)
	}
	all := f.do(t, "acme-admin", "GET", acme+"/decisions", nil).must(t, 200)
	if len(all.items()) != 4 || all.str("items", 0, "subject") != "u-dave" || all.str("items", 0, "caller") != "client:gc-ops" || all.str("items", 0, "tenant") != "acme" {
		t.Fatalf("decisions %s", all.raw)
	}
	carol := f.do(t, "acme-admin", "GET", acme+"/decisions?subject=u-carol&allowed=false&limit=2", nil).must(t, 200)
	if len(carol.items()) != 2 || carol.str("items", 0, "resource") != "orders/3" || carol.str("next") == "" {
		t.Fatalf("u-carol's first page %s", carol.raw)
	}
	rest := f.do(t, "acme-admin", "GET", acme+"/decisions?subject=u-carol&before="+carol.str("next"), nil).must(t, 200)
	if len(rest.items()) != 1 || rest.str("items", 0, "resource") != "orders/1" {
		t.Fatalf("u-carol's second page %s", rest.raw)
	}
	if r := f.do(t, "acme-admin", "GET", acme+"/decisions?allowed=true", nil).must(t, 200); len(r.items()) != 0 {
		t.Fatalf("allowed decisions are not audited at sample rate 0: %s", r.raw)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if r := f.do(t, "acme-admin", "GET", acme+"/decisions?since="+future, nil).must(t, 200); len(r.items()) != 0 {
		t.Fatalf("since the future: %s", r.raw)
	}
}
