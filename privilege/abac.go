package privilege

import (
	"bytes"
	"encoding/json"
	"io"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Policy is an ABAC policy document. Its rules apply to requests whose
// action and resource match the Target; each rule whose condition holds
// votes. Policies are validated and compiled together by CompilePolicies.
type Policy struct {
	ID          string `json:"id"`
	Tenant      string `json:"tenant,omitempty"` // empty or the compiling tenant
	Description string `json:"description,omitempty"`
	// Priority orders policies for first-applicable combining (lower
	// first), 0 to MaxPolicyPriority; see Rule.Priority.
	Priority int    `json:"priority"`
	Target   Target `json:"target"`
	Rules    []Rule `json:"rules"`
}

// Target says which requests a policy applies to: the action matches one
// of Actions and the resource name one of Resources. Patterns are "*"
// (everything), "orders/*" (anything below orders, not orders itself) or
// an exact name.
type Target struct {
	Resources []string `json:"resources"`
	Actions   []string `json:"actions"`
}

// Rule is one effect with an optional condition (nil: always applies).
type Rule struct {
	ID     string `json:"id"`
	Effect Effect `json:"effect"`
	// Priority orders rules, 0 to MaxRulePriority, lower first. A rule's
	// vote has priority Policy.Priority*1000 + Rule.Priority, so policy
	// priority dominates and rule priority orders within a policy.
	Priority  int        `json:"priority"`
	Condition *Condition `json:"condition,omitempty"`
}

// Limits on a tenant's policy set.
const (
	MaxPolicies       = 10000
	MaxPolicyRules    = 100
	MaxPolicyPatterns = 64
	MaxPolicyPriority = 999999
	MaxRulePriority   = 999
)

// ABAC is a tenant's compiled policy set. It is immutable and safe for
// concurrent use; publishing compiles a new one.
type ABAC struct {
	tenant   string
	alg      Algorithm
	policies []abacPolicy
	index    abacIndex
}

type abacPolicy struct {
	id        string
	resources []abacPattern
	actions   []abacPattern
	rules     []abacRule // in evaluation order: priority, then deny first, then as written
}

type abacRule struct {
	id       string
	effect   Effect
	priority int      // the vote's priority
	cond     evalFunc // nil: always
}

// ABACResult is what the policies say about one request.
type ABACResult struct {
	// Votes are the rules that apply, including deny rules whose condition
	// failed to evaluate (Error set: fail safe).
	Votes []Vote
	// Skipped are permit rules whose condition failed to evaluate (Error
	// set). They do not vote; they are kept to explain a denial.
	Skipped []Vote
	// Conditional is set when a rule's condition was evaluated: the
	// result then depends on attributes or the time, not only on the
	// subject, action and resource names, and must not be cached by them.
	Conditional bool
}

// Tenant returns the tenant the policies belong to.
func (a *ABAC) Tenant() string { return a.tenant }

// Algorithm returns the combining algorithm the policies were validated for.
func (a *ABAC) Algorithm() Algorithm { return a.alg }

// Len returns the number of policies.
func (a *ABAC) Len() int { return len(a.policies) }

// Votes returns the votes of every applicable rule for req; see Evaluate.
func (a *ABAC) Votes(req Request, now time.Time) []Vote { return a.Evaluate(req, now).Votes }

// Evaluate reads the policies whose target fits req from the index and
// evaluates their rules. env.time is now unless req.Env carries "time". A
// request of another tenant gets nothing; so does a nil *ABAC.
func (a *ABAC) Evaluate(req Request, now time.Time) ABACResult {
	return a.evaluate(req, now, nil)
}

// evaluate is Evaluate with subject.roles supplied by roles when it is
// not nil (the Engine passes its RBAC's).
func (a *ABAC) evaluate(req Request, now time.Time, roles func() []string) ABACResult {
	var res ABACResult
	if a == nil || req.Tenant != a.tenant {
		return res
	}
	// Malformed requests (an empty resource or segment, a "*" segment or
	// action) match nothing here, exactly as in RBAC: default deny.
	if !patRequestResourceOK(req.Resource.Name) || req.Action == "" || req.Action == "*" {
		return res
	}
	var env *evalEnv // built on the first condition only
	a.index.candidates(req.Action, req.Resource.Name, func(i int32) {
		p := &a.policies[i]
		if !abacMatchAny(p.actions, req.Action) || !abacMatchAny(p.resources, req.Resource.Name) {
			return
		}
		for j := range p.rules {
			r := &p.rules[j]
			v := Vote{Effect: r.effect, Priority: r.priority, Source: "abac", PolicyID: p.id, RuleID: r.id}
			if r.cond != nil {
				if env == nil {
					env = &evalEnv{req: req, now: now, roles: roles}
					res.Conditional = true
				}
				ok, err := r.cond(env)
				switch {
				case err != nil && r.effect == Deny:
					v.Error = err.Error()
				case err != nil:
					v.Error = err.Error()
					res.Skipped = append(res.Skipped, v)
					continue
				case !ok:
					continue
				}
			}
			res.Votes = append(res.Votes, v)
		}
	})
	return res
}

// ParsePolicies decodes a JSON array of policy documents. Unknown fields
// are errors, so a misspelt "condtion" cannot silently drop a condition.
// Malformed JSON is Invalid; the content is checked by CompilePolicies.
func ParsePolicies(data []byte) ([]Policy, error) {
	var ps []Policy
	return ps, decodeStrict(data, &ps)
}

// ParsePolicy decodes one policy document like ParsePolicies.
func ParsePolicy(data []byte) (Policy, error) {
	var p Policy
	return p, decodeStrict(data, &p)
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apperr.Wrap(apperr.Invalid, err, "decode abac policy")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "decode abac policy: trailing data after the document")
	}
	return nil
}
