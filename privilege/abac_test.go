package privilege_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

func abacCompile(t *testing.T, alg privilege.Algorithm, doc string) *privilege.ABAC {
	t.Helper()
	ps, err := privilege.ParsePolicies([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	a, err := privilege.CompilePolicies("acme", abacTestSchema(t), alg, ps)
	if err != nil {
		t.Fatalf("%v %v", err, abacDetails(err))
	}
	return a
}

func TestSchemaDeclaresTypedAttributes(t *testing.T) {
	var s privilege.Schema
	if typ, ok := s.Lookup("env.time"); !ok || typ != privilege.TypeTime {
		t.Fatalf("the zero schema lacks the built-in env.time: %v %v", typ, ok)
	}
	if err := s.Declare("subject.department", privilege.TypeString); err != nil {
		t.Fatal(err)
	}
	if err := s.Declare("subject.department", privilege.TypeString); err != nil {
		t.Fatalf("re-declaring with the same type: %v", err)
	}
	if err := s.Declare("subject.roles", privilege.TypeStringList); err != nil {
		t.Fatalf("declaring a built-in with its own type: %v", err)
	}
	bad := []struct {
		path string
		typ  privilege.AttrType
		want string
	}{
		{"subject.department", privilege.TypeNumber, "already declared as string"},
		{"subject.id", privilege.TypeNumber, "already declared as string"},
		{"user.name", privilege.TypeString, "must be subject.<name>"},
		{"subject.", privilege.TypeString, "must be subject.<name>"},
		{"subject.a..b", privilege.TypeString, "must be subject.<name>"},
		{"env.weather", "float", "unknown type"},
	}
	for _, b := range bad {
		err := s.Declare(b.path, b.typ)
		if !apperr.Is(err, apperr.Unprocessable) || !strings.Contains(abacDetails(err)["schema["+b.path+"]"], b.want) {
			t.Errorf("Declare(%q, %q) = %v %v, want %q", b.path, b.typ, err, abacDetails(err), b.want)
		}
	}
	out, err := json.Marshal(s)
	if err != nil || string(out) != `{"subject.department":"string"}` {
		t.Fatalf("marshal: %s %v", out, err)
	}
	var back privilege.Schema
	if err := json.Unmarshal([]byte(`{"resource.amount":"number","env.x":"colour"}`), &back); !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("unmarshal of a bad type: %v", err)
	}
}

func TestParsePoliciesRejectsMalformedDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"a misspelt field":         `[{"id":"p","target":{"resources":["*"],"actions":["*"]},"rules":[{"id":"r","effect":"permit","condtion":{}}]}]`,
		"trailing data":            `[] []`,
		"not an array":             `{"id":"p"}`,
		"a truncated array":        `[{"id":"p"`,
		"a misspelt condition key": `[{"id":"p","target":{"resources":["*"],"actions":["*"]},"rules":[{"id":"r","effect":"permit","condition":{"atr":"x"}}]}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := privilege.ParsePolicies([]byte(doc)); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("got %v, want an invalid error", err)
			}
		})
	}
	p, err := privilege.ParsePolicy([]byte(`{"id":"p","target":{"resources":["*"],"actions":["*"]},"rules":[{"id":"r","effect":"permit"}]}`))
	if err != nil || p.ID != "p" || len(p.Rules) != 1 {
		t.Fatalf("ParsePolicy: %+v %v", p, err)
	}
}

func TestVotesNameTheRuleAndRankPolicyPriorityFirst(t *testing.T) {
	a := abacCompile(t, privilege.DenyOverrides, `[
		{"id":"p","priority":7,"target":{"resources":["orders/*"],"actions":["read"]},"rules":[
			{"id":"r","effect":"permit","priority":3,"condition":{"attr":"resource.owner","op":"eq","ref":"subject.id"}}]}]`)
	votes := a.Votes(abacTestRequest(), abacTestNow)
	want := privilege.Vote{Effect: privilege.Permit, Priority: 7003, Source: "abac", PolicyID: "p", RuleID: "r"}
	if len(votes) != 1 || votes[0].Effect != want.Effect || votes[0].Priority != want.Priority || votes[0].Source != want.Source ||
		votes[0].PolicyID != want.PolicyID || votes[0].RuleID != want.RuleID || votes[0].Error != "" {
		t.Fatalf("votes %+v, want [%+v]", votes, want)
	}
	if a.Tenant() != "acme" || a.Algorithm() != privilege.DenyOverrides || a.Len() != 1 {
		t.Fatalf("accessors: %q %q %d", a.Tenant(), a.Algorithm(), a.Len())
	}
}

func TestPoliciesApplyOnlyToTheirTargetAndTenant(t *testing.T) {
	a := abacCompile(t, privilege.DenyOverrides, `[
		{"id":"orders","target":{"resources":["orders/*"],"actions":["read","write"]},"rules":[{"id":"r","effect":"permit"}]},
		{"id":"exact","target":{"resources":["orders"],"actions":["list"]},"rules":[{"id":"r","effect":"permit"}]},
		{"id":"deep","target":{"resources":["orders/eu/*"],"actions":["*"]},"rules":[{"id":"r","effect":"permit","priority":1}]},
		{"id":"all","target":{"resources":["*"],"actions":["audit"]},"rules":[{"id":"r","effect":"permit","priority":2}]}]`)
	cases := []struct {
		action, resource, tenant string
		want                     []string
	}{
		{"read", "orders/42", "acme", []string{"orders"}},
		{"read", "orders/eu/42", "acme", []string{"orders", "deep"}},
		{"delete", "orders/eu/42", "acme", []string{"deep"}},
		{"read", "orders", "acme", nil},
		{"list", "orders", "acme", []string{"exact"}},
		{"list", "orders/42", "acme", nil},
		{"audit", "anything/at/all", "acme", []string{"all"}},
		{"audit", "", "acme", nil}, // malformed requests match nothing, as in RBAC
		{"read", "ordersx/1", "acme", nil},
		{"read", "orders/42", "globex", nil},
	}
	for _, c := range cases {
		req := privilege.Request{Tenant: c.tenant, Subject: privilege.Subject{ID: "u"}, Action: c.action, Resource: privilege.Resource{Name: c.resource}}
		var got []string
		for _, v := range a.Votes(req, abacTestNow) {
			got = append(got, v.PolicyID)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s %s in %s: policies %v, want %v", c.action, c.resource, c.tenant, got, c.want)
		}
	}
	var none *privilege.ABAC
	if v := none.Votes(privilege.Request{Tenant: "acme"}, abacTestNow); v != nil {
		t.Fatalf("a nil ABAC voted %v", v)
	}
}

func TestEnvTimeDefaultsToTheCheckTimeButTheRequestWins(t *testing.T) {
	a := abacCompile(t, privilege.DenyOverrides, `[
		{"id":"p","target":{"resources":["*"],"actions":["*"]},"rules":[
			{"id":"r","effect":"permit","condition":{"attr":"env.time","op":"lt","value":"2026-01-01T00:00:00Z"}}]}]`)
	req := abacTestRequest()
	if v := a.Votes(req, abacTestNow); len(v) != 0 {
		t.Fatalf("now (2026-03-04) is not before 2026: %v", v)
	}
	if v := a.Votes(req, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)); len(v) != 1 {
		t.Fatalf("a check in 2025 should match: %v", v)
	}
	req.Env = map[string]any{"time": time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)}
	if v := a.Votes(req, abacTestNow); len(v) != 1 {
		t.Fatalf("the request's env.time should win over now: %v", v)
	}
}

func TestCompiledPoliciesServeConcurrentChecks(t *testing.T) {
	a := abacCompile(t, privilege.FirstApplicable, `[
		{"id":"p","target":{"resources":["orders/*"],"actions":["*"]},"rules":[
			{"id":"hours","effect":"deny","condition":{"not":{"attr":"env.time","op":"time_between","value":["08:00","18:00"],"tz":"Europe/Berlin"}}},
			{"id":"owner","effect":"permit","priority":1,"condition":{"attr":"resource.owner","op":"eq","ref":"subject.id"}}]}]`)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				req := abacTestRequest()
				now := abacTestNow.Add(time.Duration(g*500+i) * time.Minute)
				allowed, _ := privilege.Combine(privilege.FirstApplicable, a.Votes(req, now))
				h := now.In(abacBerlin(t)).Hour()
				if want := h >= 8 && h < 18; allowed != want {
					t.Errorf("at %v: allowed=%v, want %v", now, allowed, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func abacBerlin(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestEngineCombinesABACVotes(t *testing.T) {
	a := abacCompile(t, privilege.DenyOverrides, `[
		{"id":"p","target":{"resources":["orders/*"],"actions":["read"]},"rules":[
			{"id":"owner","effect":"permit","condition":{"attr":"resource.owner","op":"eq","ref":"subject.id"}}]}]`)
	e := &privilege.Engine{Tenant: "acme", Algorithm: privilege.DenyOverrides, ABAC: a}
	d := e.Check(abacTestRequest(), abacTestNow, true)
	if !d.Allowed || d.Deciding == nil || d.Deciding.RuleID != "owner" {
		t.Fatalf("decision %+v", d)
	}
}
