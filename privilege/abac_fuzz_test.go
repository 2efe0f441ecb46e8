package privilege

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// fuzzABACSchema declares one attribute of every type under each prefix,
// keyed by the type's initial, so fuzzed conditions and requests meet.
func fuzzABACSchema(t testing.TB) Schema {
	var s Schema
	for _, prefix := range []string{"subject.", "resource.", "env."} {
		for key, typ := range map[string]AttrType{"s": TypeString, "n": TypeNumber, "b": TypeBool, "t": TypeTime, "ip": TypeIP, "l": TypeStringList} {
			if err := s.Declare(prefix+key, typ); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

// fuzzABACValues are attribute values of every shape, right and wrong.
var fuzzABACValues = []any{
	nil, "", "sales", "orders/42", "10.1.2.3", "::ffff:10.0.0.1", "2026-03-04T10:00:00Z", "not a time",
	0.0, 3.0, -1.5, math.Inf(1), math.NaN(), 42, int64(7), json.Number("12"), json.Number("x"),
	true, false, []any{"sales", "ops"}, []any{"a", 1.0}, []string{"vip"}, []any{}, map[string]any{"k": "v"},
	time.Date(2026, 3, 7, 23, 30, 0, 0, time.UTC),
}

func fuzzABACSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "abac", "*.json"))
	more, _ := filepath.Glob(filepath.Join("testdata", "abac", "invalid", "*.json"))
	for _, path := range append(files, more...) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		var doc struct {
			Policies json.RawMessage `json:"policies"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			f.Fatal(err)
		}
		// Point the fixtures' attributes at the fuzz schema's.
		s := string(doc.Policies)
		for _, r := range []struct{ from, to string }{
			{"subject.department", "subject.s"}, {"resource.owner", "resource.s"}, {"resource.amount", "resource.n"},
			{"subject.regions", "subject.l"}, {"resource.region", "env.s"}, {"subject.level", "subject.n"},
			{"subject.clearance", "subject.n"}, {"resource.classification", "resource.n"}, {"subject.suspended", "subject.b"},
			{"resource.department", "resource.s"}, {"env.incident", "env.b"},
		} {
			s = strings.ReplaceAll(s, r.from, r.to)
		}
		f.Add([]byte(s))
	}
	f.Add([]byte(`[{"id":"p","target":{"resources":["*"],"actions":["*"]},"rules":[{"id":"r","effect":"deny","condition":{"attr":"subject.ip","op":"cidr","value":"10.0.0.0/8"}}]}]`))
}

// FuzzCompilePolicies: compiling arbitrary documents never panics and
// either fails with per-key details or yields an ABAC whose checks never
// panic, keep the fail-safe contract and find exactly the policies a full
// scan finds.
func FuzzCompilePolicies(f *testing.F) {
	fuzzABACSeeds(f)
	schema := fuzzABACSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParsePolicies(data)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("parse error %v is not invalid", err)
			}
			return
		}
		h := fnv.New64a()
		h.Write(data)
		rng := rand.New(rand.NewPCG(h.Sum64(), 1))
		for _, alg := range []Algorithm{DenyOverrides, PermitOverrides, FirstApplicable} {
			a, err := CompilePolicies("acme", schema, alg, ps)
			if err != nil {
				if !apperr.Is(err, apperr.Unprocessable) || len(apperr.DetailsOf(err)) == 0 {
					t.Fatalf("compile error %v lacks details", err)
				}
				continue
			}
			for range 16 {
				req := fuzzABACRequest(rng, ps)
				checkABACResult(t, a, req, abacFuzzNow.Add(time.Duration(rng.IntN(7*24*60))*time.Minute))
			}
		}
	})
}

var abacFuzzNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// fuzzABACRequest builds a request aimed at the policies' own targets, so
// that conditions actually run.
func fuzzABACRequest(rng *rand.Rand, ps []Policy) Request {
	names := []string{"", "orders", "orders/42", "x/y/z"}
	actions := []string{"", "read", "write"}
	for _, p := range ps {
		for _, r := range p.Target.Resources {
			names = append(names, strings.ReplaceAll(r, "*", "leaf"), r)
		}
		actions = append(actions, p.Target.Actions...)
	}
	attrs := func() map[string]any {
		m := map[string]any{}
		for _, k := range []string{"s", "n", "b", "t", "ip", "l", "time", "roles"} {
			if rng.IntN(3) > 0 {
				m[k] = fuzzABACValues[rng.IntN(len(fuzzABACValues))]
			}
		}
		return m
	}
	tenant := "acme"
	if rng.IntN(10) == 0 {
		tenant = "globex"
	}
	return Request{
		Tenant:   tenant,
		Subject:  Subject{ID: []string{"", "alice", "bob"}[rng.IntN(3)], Attributes: attrs()},
		Action:   actions[rng.IntN(len(actions))],
		Resource: Resource{Name: names[rng.IntN(len(names))], Attributes: attrs()},
		Env:      attrs(),
	}
}

func checkABACResult(t *testing.T, a *ABAC, req Request, now time.Time) {
	t.Helper()
	res := a.Evaluate(req, now)
	for _, v := range res.Votes {
		if v.Source != "abac" || v.PolicyID == "" || v.RuleID == "" || (v.Effect == Permit && v.Error != "") {
			t.Fatalf("bad vote %+v", v)
		}
	}
	for _, v := range res.Skipped {
		if v.Effect != Permit || v.Error == "" {
			t.Fatalf("bad skipped vote %+v", v)
		}
	}
	for _, alg := range []Algorithm{DenyOverrides, PermitOverrides, FirstApplicable} {
		if allowed, d := Combine(alg, res.Votes); allowed && (d == nil || d.Effect != Permit) {
			t.Fatalf("allowed by %+v", d)
		}
	}
	// The index finds exactly the policies a full scan finds.
	var viaIndex, viaScan []int32
	if req.Tenant == a.tenant {
		a.index.candidates(req.Action, req.Resource.Name, func(i int32) {
			p := &a.policies[i]
			if abacMatchAny(p.actions, req.Action) && abacMatchAny(p.resources, req.Resource.Name) {
				viaIndex = append(viaIndex, i)
			}
		})
		for i := range a.policies {
			p := &a.policies[i]
			if abacMatchAny(p.actions, req.Action) && abacMatchAny(p.resources, req.Resource.Name) {
				viaScan = append(viaScan, int32(i))
			}
		}
	}
	if len(viaIndex) != len(viaScan) {
		t.Fatalf("%s %q: index found policies %v, a scan %v", req.Action, req.Resource.Name, viaIndex, viaScan)
	}
	for i := range viaIndex {
		if viaIndex[i] != viaScan[i] {
			t.Fatalf("%s %q: index found policies %v, a scan %v", req.Action, req.Resource.Name, viaIndex, viaScan)
		}
	}
}

// FuzzConditionEval: compiling an arbitrary condition never panics; a
// compiled one evaluates deterministically against arbitrary attributes,
// "not" negates it (errors stay errors) and "all" of it twice equals it.
func FuzzConditionEval(f *testing.F) {
	for _, c := range []string{
		`{"attr":"subject.s","op":"eq","value":"sales"}`,
		`{"attr":"subject.n","op":"lt","ref":"resource.n"}`,
		`{"attr":"subject.l","op":"contains","ref":"env.s"}`,
		`{"attr":"env.ip","op":"cidr","value":["10.0.0.0/8","::1/128"]}`,
		`{"attr":"env.time","op":"time_between","value":["22:00","06:00"],"tz":"Asia/Tokyo"}`,
		`{"attr":"env.t","op":"weekday_in","value":["sat","sun"]}`,
		`{"attr":"subject.t","op":"ge","value":"2026-01-01T00:00:00Z"}`,
		`{"any":[{"attr":"subject.b","op":"eq","value":true},{"not":{"attr":"resource.s","op":"in","ref":"subject.l"}}]}`,
		`{"all":[{"attr":"subject.ip","op":"in","value":["10.1.2.3"]},{"attr":"resource.s","op":"starts_with","value":"ord"}]}`,
	} {
		f.Add([]byte(c), []byte(`{"s":"sales","n":3,"b":true,"t":"2026-03-04T10:00:00Z","ip":"10.1.2.3","l":["sales"],"time":"2026-03-04T23:00:00+09:00"}`), uint16(600))
		f.Add([]byte(c), []byte(`{"s":1,"n":"x","l":[1],"ip":"nope"}`), uint16(0))
	}
	schema := fuzzABACSchema(f)
	f.Fuzz(func(t *testing.T, condJSON, attrsJSON []byte, minute uint16) {
		var c Condition
		if json.Unmarshal(condJSON, &c) != nil {
			return
		}
		compile := func(c *Condition) evalFunc {
			cc := &condCompiler{schema: &schema}
			fn := cc.compile(c, "condition", 1)
			if (fn == nil) != (len(cc.problems) > 0) {
				t.Fatalf("compiled=%v with problems %v", fn != nil, cc.problems)
			}
			return fn
		}
		fn := compile(&c)
		if fn == nil {
			return
		}
		notFn := compile(&Condition{Not: &c})
		allFn := compile(&Condition{All: []Condition{c, c}})
		var m map[string]any
		_ = json.Unmarshal(attrsJSON, &m)
		id, _ := m["s"].(string)
		env := &evalEnv{
			req: Request{Tenant: "acme", Subject: Subject{ID: id, Attributes: m}, Resource: Resource{Name: id, Attributes: m}, Action: id, Env: m},
			now: abacFuzzNow.Add(time.Duration(minute) * time.Minute),
		}
		ok, err := fn(env)
		ok2, err2 := fn(env)
		if ok != ok2 || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %v %v then %v %v", ok, err, ok2, err2)
		}
		if err != nil && ok {
			t.Fatalf("true with an error %v", err)
		}
		if notFn != nil { // nil when wrapping crosses a size limit
			nok, nerr := notFn(env)
			if (nerr == nil) != (err == nil) || (err == nil && nok == ok) {
				t.Fatalf("not: %v %v for %v %v", nok, nerr, ok, err)
			}
		}
		if allFn != nil {
			aok, aerr := allFn(env)
			if aok != ok || (aerr == nil) != (err == nil) {
				t.Fatalf("all of it twice: %v %v for %v %v", aok, aerr, ok, err)
			}
		}
	})
}

// TestConflictCheckEqualsPairwiseScan: the segment-bucketed conflict check
// reports exactly the rules a scan over every pair of rules reports.
func TestConflictCheckEqualsPairwiseScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	resources := []string{"*", "a", "a/*", "a/b", "a/b/*", "b/*", "c"}
	actions := []string{"*", "read", "write"}
	conds := []*Condition{nil, nil,
		{Attr: "subject.s", Op: OpEq, Value: "x"},
		{Attr: "subject.s", Op: OpEq, Value: "y"},
	}
	pick := func(from []string) []string {
		out := []string{from[rng.IntN(len(from))]}
		if rng.IntN(3) == 0 {
			out = append(out, from[rng.IntN(len(from))])
		}
		return out
	}
	schema := fuzzABACSchema(t)
	rounds := 0 // with some conflict, and some rule without
	for round := range 300 {
		ps := make([]Policy, 2+rng.IntN(12))
		for i := range ps {
			ps[i] = Policy{ID: fmt.Sprintf("p%d", i), Priority: rng.IntN(2),
				Target: Target{Resources: pick(resources), Actions: pick(actions)}}
			for j := range 1 + rng.IntN(3) {
				ps[i].Rules = append(ps[i].Rules, Rule{ID: fmt.Sprintf("r%d", j), Effect: []Effect{Permit, Deny}[rng.IntN(2)],
					Priority: rng.IntN(2), Condition: conds[rng.IntN(len(conds))]})
			}
		}
		want := map[string]bool{}
		type ref struct {
			p *Policy
			r *Rule
		}
		var all []ref
		for i := range ps {
			for j := range ps[i].Rules {
				all = append(all, ref{&ps[i], &ps[i].Rules[j]})
			}
		}
		pats := func(ss []string) []abacPattern {
			var out []abacPattern
			for _, s := range ss {
				p, _ := parseABACPattern(s)
				out = append(out, p)
			}
			return out
		}
		for _, x := range all {
			for _, y := range all {
				if x.r.Effect != Deny || y.r.Effect != Permit ||
					x.p.Priority*1000+x.r.Priority != y.p.Priority*1000+y.r.Priority ||
					(x.r.Condition != nil && y.r.Condition != nil && x.r.Condition != y.r.Condition) ||
					!abacOverlap(pats(x.p.Target.Resources), pats(y.p.Target.Resources)) ||
					!abacOverlap(pats(x.p.Target.Actions), pats(y.p.Target.Actions)) {
					continue
				}
				want["policies["+x.p.ID+"].rules["+x.r.ID+"]"] = true
				want["policies["+y.p.ID+"].rules["+y.r.ID+"]"] = true
			}
		}
		_, err := CompilePolicies("acme", schema, DenyOverrides, ps)
		got := map[string]bool{}
		for k, msg := range apperr.DetailsOf(err) {
			if strings.Contains(msg, "conflicts with") {
				got[k] = true
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("round %d: conflicts %v, pairwise scan %v", round, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		if len(want) > 0 && len(want) < len(all) {
			rounds++
		}
	}
	if rounds < 100 {
		t.Fatalf("only %d of 300 rounds mix conflicting and other rules: the generator is too sparse", rounds)
	}
}
