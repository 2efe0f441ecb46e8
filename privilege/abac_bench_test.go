package privilege_test

import (
	"fmt"
	"testing"

	"github.com/greyrouter/greyrouter/privilege"
)

// genABACPolicies builds n policies spread over n/5 top-level resource
// segments and eight actions, each with a conditioned deny and permit,
// plus three tenant-wide policies that apply to every check.
func genABACPolicies(n int) []privilege.Policy {
	actions := []string{"read", "write", "list", "delete", "approve", "export", "orders.refund", "share"}
	segments := max(n/5, 1)
	ps := make([]privilege.Policy, 0, n+3)
	for i := range n {
		ps = append(ps, privilege.Policy{
			ID:       fmt.Sprintf("p%d", i),
			Priority: 10 + i%100,
			Target: privilege.Target{
				Resources: []string{fmt.Sprintf("res%d/*", i%segments)},
				Actions:   []string{actions[i%len(actions)], actions[(i+3)%len(actions)]},
			},
			Rules: []privilege.Rule{
				{ID: "after-hours", Effect: privilege.Deny, Condition: &privilege.Condition{Not: &privilege.Condition{
					Attr: "env.time", Op: privilege.OpTimeBetween, Value: []any{"07:00", "20:00"}, TZ: "Europe/Berlin"}}},
				{ID: "department", Effect: privilege.Permit, Priority: 1, Condition: &privilege.Condition{All: []privilege.Condition{
					{Attr: "subject.department", Op: privilege.OpEq, Value: fmt.Sprintf("dept%d", i%10)},
					{Attr: "resource.amount", Op: privilege.OpLt, Value: float64(1000 * (i%5 + 1))},
					{Attr: "resource.region", Op: privilege.OpIn, Ref: "subject.regions"},
				}}},
				{ID: "owner", Effect: privilege.Permit, Priority: 2, Condition: &privilege.Condition{Attr: "resource.owner", Op: privilege.OpEq, Ref: "subject.id"}},
			},
		})
	}
	all := privilege.Target{Resources: []string{"*"}, Actions: []string{"*"}}
	return append(ps,
		privilege.Policy{ID: "suspended", Target: all, Rules: []privilege.Rule{
			{ID: "r", Effect: privilege.Deny, Condition: &privilege.Condition{Attr: "subject.active", Op: privilege.OpEq, Value: false}}}},
		privilege.Policy{ID: "office", Priority: 1, Target: all, Rules: []privilege.Rule{
			{ID: "r", Effect: privilege.Permit, Condition: &privilege.Condition{Attr: "env.ip", Op: privilege.OpCIDR, Value: []any{"10.0.0.0/8", "192.168.0.0/16"}}}}},
		privilege.Policy{ID: "weekend", Priority: 2, Target: all, Rules: []privilege.Rule{
			{ID: "r", Effect: privilege.Deny, Condition: &privilege.Condition{Attr: "env.time", Op: privilege.OpWeekdayIn, Value: []any{"sat", "sun"}}}}},
	)
}

func abacBenchSchema(b *testing.B) privilege.Schema {
	var s privilege.Schema
	for path, typ := range map[string]privilege.AttrType{
		"subject.department": privilege.TypeString, "subject.regions": privilege.TypeStringList, "subject.active": privilege.TypeBool,
		"resource.amount": privilege.TypeNumber, "resource.region": privilege.TypeString, "resource.owner": privilege.TypeString,
	} {
		if err := s.Declare(path, typ); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkABACCheck measures one uncached ABAC check (Votes + Combine):
// the index keeps it flat in the number of policies.
func BenchmarkABACCheck(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("policies=%d", n), func(b *testing.B) {
			a, err := privilege.CompilePolicies("acme", abacBenchSchema(b), privilege.DenyOverrides, genABACPolicies(n))
			if err != nil {
				b.Fatalf("%v %v", err, abacDetails(err))
			}
			segments := max(n/5, 1)
			reqs := make([]privilege.Request, 64)
			for i := range reqs {
				reqs[i] = privilege.Request{
					Tenant:  "acme",
					Subject: privilege.Subject{ID: "alice", Attributes: map[string]any{"department": fmt.Sprintf("dept%d", i%10), "regions": []any{"eu"}, "active": true}},
					Action:  []string{"read", "write", "approve"}[i%3],
					Resource: privilege.Resource{Name: fmt.Sprintf("res%d/item-%d", i%segments, i),
						Attributes: map[string]any{"amount": 500.0, "region": "eu", "owner": "bob"}},
					Env: map[string]any{"ip": "10.1.2.3"},
				}
			}
			votes := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				v := a.Votes(reqs[i%len(reqs)], abacTestNow)
				privilege.Combine(privilege.DenyOverrides, v)
				votes += len(v)
			}
			b.ReportMetric(float64(votes)/float64(b.N), "votes/op")
		})
	}
}

// BenchmarkCompilePolicies measures publishing, validation included:
// 1,000 generated policies, and the conflict check's hard case of 10,000
// single-rule policies at one priority with disjoint targets.
func BenchmarkCompilePolicies(b *testing.B) {
	disjoint := make([]privilege.Policy, privilege.MaxPolicies)
	for i := range disjoint {
		effect := []privilege.Effect{privilege.Permit, privilege.Deny}[i%2]
		disjoint[i] = privilege.Policy{ID: fmt.Sprintf("p%d", i),
			Target: privilege.Target{Resources: []string{fmt.Sprintf("res%d/*", i)}, Actions: []string{"*"}},
			Rules:  []privilege.Rule{{ID: "r", Effect: effect}}}
	}
	for _, c := range []struct {
		name     string
		policies []privilege.Policy
	}{
		{"generated=1000", genABACPolicies(1000)},
		{"disjoint=10000", disjoint},
	} {
		b.Run(c.name, func(b *testing.B) {
			schema := abacBenchSchema(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := privilege.CompilePolicies("acme", schema, privilege.DenyOverrides, c.policies); err != nil {
					b.Fatalf("%v %v", err, abacDetails(err))
				}
			}
		})
	}
}
