package privilege

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

var abacIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// abacProblems collects validation messages per detail key
// ("policies[orders-hours].rules[r2]"); several messages for one key are
// joined with "; ".
type abacProblems map[string]string

func (p abacProblems) add(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if old, ok := p[key]; ok {
		msg = old + "; " + msg
	}
	p[key] = msg
}

// CompilePolicies validates a tenant's policy set against its attribute
// schema and the combining algorithm ("" means deny-overrides) and compiles
// it. Every problem is reported at once, as an Unprocessable error whose
// details are keyed by policy and rule ("policies[p1]",
// "policies[p1].target", "policies[p1].rules[r2]"; "#i" stands in for a
// missing or malformed id). Besides field checks, it rejects:
//
//   - conditions with unknown attributes or operators, operators that do
//     not apply to the attribute's type, literals or refs of the wrong type,
//     and invalid times, CIDRs and zones;
//   - duplicate policy ids, and duplicate rule ids within a policy;
//   - unreachable rules. Within a policy (one target) rules are evaluated by
//     priority, deny before permit on ties, then as written. Under
//     first-applicable a rule after one without a condition can never
//     decide; under deny-overrides neither can a permit rule beside a deny
//     rule without a condition, nor under permit-overrides a deny rule beside
//     a permit rule without one;
//   - conflicts: a permit and a deny rule (of any policies) with the same
//     vote priority and overlapping targets where either has no condition
//     or both have the same condition. Both rules are reported.
func CompilePolicies(tenant string, schema Schema, alg Algorithm, policies []Policy) (*ABAC, error) {
	problems := abacProblems{}
	if alg == "" {
		alg = DenyOverrides
	}
	if !slices.Contains([]Algorithm{DenyOverrides, PermitOverrides, FirstApplicable}, alg) {
		problems.add("algorithm", "must be %s, %s or %s", DenyOverrides, PermitOverrides, FirstApplicable)
	}
	if len(policies) > MaxPolicies {
		problems.add("policies", "a tenant has at most %d policies", MaxPolicies)
		return nil, apperr.Fields("invalid abac policies", problems)
	}
	a := &ABAC{tenant: tenant, alg: alg, policies: make([]abacPolicy, len(policies))}
	cc := &condCompiler{schema: &schema}
	var infos []abacRuleInfo
	seen := make(map[string]bool, len(policies))
	for i := range policies {
		infos = compilePolicy(problems, cc, tenant, alg, i, &policies[i], &a.policies[i], seen, infos)
	}
	checkConflicts(problems, infos)
	if err := apperr.Fields("invalid abac policies", problems); err != nil {
		return nil, err
	}
	a.index = buildABACIndex(a.policies)
	return a, nil
}

func abacKeyOf(prefix string, i int, id string) string {
	if !abacIDRE.MatchString(id) {
		return prefix + "[#" + strconv.Itoa(i) + "]"
	}
	return prefix + "[" + id + "]"
}

// compilePolicy checks and compiles one policy into out, appending the
// rules that take part in conflict checks to infos.
func compilePolicy(problems abacProblems, cc *condCompiler, tenant string, alg Algorithm, i int, p *Policy, out *abacPolicy, seen map[string]bool, infos []abacRuleInfo) []abacRuleInfo {
	key := abacKeyOf("policies", i, p.ID)
	switch {
	case !abacIDRE.MatchString(p.ID):
		problems.add(key, "id must be 1-128 characters of letters, digits, '.', '_', ':', '-'")
	case seen[p.ID]:
		problems.add(key, "duplicate policy id")
	}
	seen[p.ID] = true
	if p.Tenant != "" && p.Tenant != tenant {
		problems.add(key, "belongs to tenant %q, not %q", p.Tenant, tenant)
	}
	if len(p.Description) > 1024 || !utf8.ValidString(p.Description) {
		problems.add(key, "description must be valid UTF-8 of at most 1024 bytes")
	}
	// Rules of a policy whose target or priority is invalid are left out of
	// the conflict check, which would only add noise.
	targetOK := true
	if p.Priority < 0 || p.Priority > MaxPolicyPriority {
		problems.add(key, "priority must be between 0 and %d", MaxPolicyPriority)
		targetOK = false
	}
	out.id = p.ID
	out.resources, targetOK = compilePatterns(problems, key+".target", "resources", p.Target.Resources, targetOK)
	out.actions, targetOK = compilePatterns(problems, key+".target", "actions", p.Target.Actions, targetOK)
	if len(p.Rules) == 0 || len(p.Rules) > MaxPolicyRules {
		problems.add(key, "must have 1 to %d rules", MaxPolicyRules)
		return infos
	}

	out.rules = make([]abacRule, 0, len(p.Rules))
	rkeys := make([]string, 0, len(p.Rules))
	ruleIDs := make(map[string]bool, len(p.Rules))
	allOK := targetOK
	var segs abacSegments
	if targetOK {
		segs = newABACSegments(out.resources)
	}
	for j := range p.Rules {
		r := &p.Rules[j]
		rkey := key + abacKeyOf(".rules", j, r.ID)
		ok := true
		switch {
		case !abacIDRE.MatchString(r.ID):
			problems.add(rkey, "id must be 1-128 characters of letters, digits, '.', '_', ':', '-'")
			ok = false
		case ruleIDs[r.ID]:
			problems.add(rkey, "duplicate rule id")
			ok = false
		}
		ruleIDs[r.ID] = true
		if r.Effect != Permit && r.Effect != Deny {
			problems.add(rkey, "effect must be permit or deny")
			ok = false
		}
		if r.Priority < 0 || r.Priority > MaxRulePriority {
			problems.add(rkey, "priority must be between 0 and %d", MaxRulePriority)
			ok = false
		}
		var f evalFunc
		canonical := ""
		if r.Condition != nil {
			cc.problems, cc.nodes = cc.problems[:0], 0
			f = cc.compile(r.Condition, "condition", 1)
			for _, msg := range cc.problems {
				problems.add(rkey, "%s", msg)
			}
			ok = ok && f != nil
			canonical = canonicalCondition(r.Condition, rkey)
		}
		prio := p.Priority*1000 + r.Priority
		out.rules = append(out.rules, abacRule{id: r.ID, effect: r.Effect, priority: prio, cond: f})
		rkeys = append(rkeys, rkey)
		if ok && targetOK {
			infos = append(infos, abacRuleInfo{key: rkey, policy: out, segs: segs, effect: r.Effect, priority: prio, condition: canonical})
		}
		allOK = allOK && ok
	}
	if !allOK {
		return infos
	}
	// Evaluation order: priority, deny first on ties, then as written.
	idx := make([]int, len(out.rules))
	for j := range idx {
		idx[j] = j
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		rx, ry := &out.rules[x], &out.rules[y]
		if c := cmp.Compare(rx.priority, ry.priority); c != 0 {
			return c
		}
		return cmp.Compare(effectRank(rx.effect), effectRank(ry.effect))
	})
	sorted := make([]abacRule, len(idx))
	sortedKeys := make([]string, len(idx))
	for j, k := range idx {
		sorted[j], sortedKeys[j] = out.rules[k], rkeys[k]
	}
	out.rules = sorted
	checkUnreachable(problems, alg, out.rules, sortedKeys)
	return infos
}

func effectRank(e Effect) int {
	if e == Deny {
		return 0
	}
	return 1
}

func compilePatterns(problems abacProblems, key, field string, in []string, ok bool) ([]abacPattern, bool) {
	if len(in) == 0 || len(in) > MaxPolicyPatterns {
		problems.add(key, "%s must list 1 to %d patterns", field, MaxPolicyPatterns)
		return nil, false
	}
	out := make([]abacPattern, len(in))
	for i, s := range in {
		p, msg := parseABACPattern(s)
		if msg != "" {
			problems.add(key, "%s[%d] %s %s", field, i, condLiteral(s), msg)
			ok = false
		}
		out[i] = p
	}
	return out, ok
}

// canonicalCondition renders a condition for equality tests between rules.
// A condition that cannot be rendered equals no other.
func canonicalCondition(c *Condition, unique string) string {
	b, err := json.Marshal(c)
	if err != nil {
		return "\x00" + unique
	}
	return string(b)
}

// checkUnreachable reports rules, in evaluation order, that can never
// decide; see CompilePolicies.
func checkUnreachable(problems abacProblems, alg Algorithm, rules []abacRule, keys []string) {
	if alg == FirstApplicable {
		for j, r := range rules {
			if r.cond != nil {
				continue
			}
			for k := j + 1; k < len(rules); k++ {
				problems.add(keys[k], "unreachable under first-applicable: rule %s, which has no condition, is evaluated before it", r.id)
			}
			return
		}
		return
	}
	strong, verb := Deny, "denies" // the effect that overrides
	if alg == PermitOverrides {
		strong, verb = Permit, "permits"
	}
	for _, r := range rules {
		if r.cond != nil || r.effect != strong {
			continue
		}
		for k, other := range rules {
			if other.effect != strong {
				problems.add(keys[k], "unreachable under %s: rule %s %s the same target without a condition", alg, r.id, verb)
			}
		}
		return
	}
}
